//! `peers`: POST /plain answers a fixed JSON body; POST /graphql runs
//! errata's schema on bare async-graphql, with none of errata's pipeline.
//! `peers --sdl` prints the schema for the Apollo peer.
//! Environment: PORT (default 8000), THREADS (tokio workers, default 1).

use std::sync::Arc;
use std::time::Instant;

use axum::Json;
use axum::extract::State;
use axum::routing::post;
use errata_server::schema::{self, ErrataSchema, ServerFacts};

const PLAIN: &str = r#"{"data":{"catalog":{"name":"errata"}}}"#;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    if std::env::args().any(|a| a == "--sdl") {
        print!("{}", schema::sdl());
        return Ok(());
    }
    let port: u16 = std::env::var("PORT")
        .ok()
        .and_then(|p| p.parse().ok())
        .unwrap_or(8000);
    let threads: usize = std::env::var("THREADS")
        .ok()
        .and_then(|t| t.parse().ok())
        .unwrap_or(1);
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(threads)
        .enable_all()
        .build()?
        .block_on(serve(port))
}

async fn serve(port: u16) -> Result<(), Box<dyn std::error::Error>> {
    let data = std::env::temp_dir().join(format!("errata-bench-peers-{}", std::process::id()));
    let config = errata_server::Config {
        data: data.clone(),
        ..errata_server::Config::default()
    };
    let storage = errata_server::storage::open(&config)
        .await
        .map_err(|e| e.to_string())?;
    let mail = errata_mail::Mail::new(storage.clone(), config.mail.clone(), &data);
    let identity = errata_identity::Identity::open(
        storage.clone(),
        errata_identity::AuthConfig::default(),
        mail.clone(),
    )
    .await
    .map_err(|e| e.to_string())?;
    let schema = Arc::new(schema::build(
        ServerFacts {
            started: Instant::now(),
            pages: errata_pages::Pages::new(storage.clone(), config.pages.clone()),
            storage,
            identity: Arc::new(std::sync::OnceLock::from(identity)),
            mail,
        },
        true,
        true,
    ));
    let app = axum::Router::new()
        .route(
            "/plain",
            post(|| async { ([("content-type", "application/json")], PLAIN) }),
        )
        .route("/graphql", post(graphql))
        .with_state(schema);
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", port)).await?;
    axum::serve(listener, app).await?;
    Ok(())
}

async fn graphql(
    State(schema): State<Arc<ErrataSchema>>,
    Json(request): Json<async_graphql::Request>,
) -> Json<async_graphql::Response> {
    Json(schema.execute(request).await)
}

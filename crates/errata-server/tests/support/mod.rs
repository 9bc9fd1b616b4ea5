//! Starting a real server on 127.0.0.1:0 for a test, and talking to it.
#![allow(
    dead_code,
    reason = "each test file uses a different part of the support module"
)]

use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};

use errata_server::{Config, RateLimit, Running};
use serde_json::Value;

/// A fresh data directory for one test server.
pub fn data_dir() -> PathBuf {
    static NEXT: AtomicUsize = AtomicUsize::new(0);
    let n = NEXT.fetch_add(1, Ordering::SeqCst);
    let dir = std::env::temp_dir().join(format!("errata-test-{}-{n}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    dir
}

/// A configuration for tests: port 0, a fresh data directory, no rate limit.
pub fn config() -> Config {
    Config {
        addr: "127.0.0.1:0".parse().expect("valid address"),
        data: data_dir(),
        rate_limit: RateLimit::Off,
        ..Config::default()
    }
}

/// A started server and a client for it.
pub struct TestServer {
    pub server: Running,
    pub client: reqwest::Client,
}

impl TestServer {
    pub async fn start(config: Config) -> TestServer {
        let server = errata_server::start(config)
            .await
            .expect("the server starts");
        TestServer {
            server,
            client: reqwest::Client::new(),
        }
    }

    pub async fn default() -> TestServer {
        TestServer::start(config()).await
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.server.addr())
    }

    /// POSTs a GraphQL request with the given Accept header.
    pub async fn post(&self, body: Value, accept: &str) -> Reply {
        let response = self
            .client
            .post(self.url("/graphql"))
            .header("content-type", "application/json")
            .header("accept", accept)
            .body(body.to_string())
            .send()
            .await
            .expect("the request is sent");
        Reply::read(response).await
    }

    /// POSTs `{ "query": query }` accepting application/graphql-response+json.
    pub async fn query(&self, query: &str) -> Reply {
        self.post(
            serde_json::json!({ "query": query }),
            "application/graphql-response+json",
        )
        .await
    }
}

/// A response, read whole.
#[derive(Debug)]
pub struct Reply {
    pub status: u16,
    pub headers: reqwest::header::HeaderMap,
    pub body: Value,
}

impl Reply {
    pub async fn read(response: reqwest::Response) -> Reply {
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        let text = response.text().await.expect("a body");
        let body = serde_json::from_str(&text).unwrap_or(Value::String(text));
        Reply {
            status,
            headers,
            body,
        }
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// The first error's extensions.
    pub fn extensions(&self) -> &Value {
        &self.body["errors"][0]["extensions"]
    }

    /// The first error's slug.
    pub fn slug(&self) -> &str {
        self.extensions()["slug"].as_str().unwrap_or("")
    }

    pub fn has_data(&self) -> bool {
        self.body.get("data").is_some()
    }
}

//! The errata service: configuration, the HTTP application and its edge
//! middleware (request ids, logs, rate and concurrency limits, timeouts),
//! the GraphQL schema, storage, and what instances share through Redis.
//!
//! ```no_run
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! let config = errata_server::Config { addr: "127.0.0.1:0".parse()?, ..Default::default() };
//! let server = errata_server::start(config).await?;
//! println!("listening on {}", server.addr());
//! server.shutdown().await?;
//! # Ok(()) }
//! ```
//!
//! Architecture invariant: a request travels one way, edge middleware, then
//! the GraphQL pipeline (`errata-graphql`), then the schema's resolvers,
//! then storage; errors travel back as catalog values and are rendered once,
//! by the pipeline or by `reply::error_response`. Nothing here renders an
//! error by hand.

pub mod admin;
pub mod app;
pub mod config;
pub mod edge;
pub mod forwarded;
pub mod metrics;
pub mod oauth;
pub mod ratelimit;
pub mod reply;
pub mod request;
pub mod routes;
pub mod schema;
pub mod shared;
pub mod state;
pub mod storage;
pub mod telemetry;

pub use app::{Running, StartError, runtime, start};
pub use config::{Config, LogFormat, RateLimit, ServeArgs};
pub use routes::router;

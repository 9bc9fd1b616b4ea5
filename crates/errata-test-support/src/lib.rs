//! What errata's integration tests share, so that each crate's tests are
//! one binary and no test file includes another by path: with the `server`
//! feature, a real server on 127.0.0.1:0 with a fresh data directory and a
//! client for it ([`TestServer`]), the identity fixtures (an administrator,
//! logins, TFA, mailed tokens), a proxy that breaks on purpose ([`faults`])
//! and a real nginx in front of two instances ([`nginx`]); with the `smtp`
//! feature (which `server` includes), a real SMTP server ([`smtp`]); always,
//! graphql-js as an oracle ([`oracle`]), which the pipeline's and the
//! server's tests both ask.
//!
//! It is a dev-dependency and must never be a normal dependency of a
//! product crate: it panics on anything unexpected, as tests want, and
//! it carries a fixed JWT key.

#[cfg(feature = "server")]
pub mod faults;
#[cfg(feature = "server")]
pub mod nginx;
pub mod oracle;
#[cfg(feature = "server")]
mod server;
#[cfg(feature = "smtp")]
pub mod smtp;

#[cfg(feature = "server")]
pub use server::*;

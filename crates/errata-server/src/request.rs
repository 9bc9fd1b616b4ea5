//! What the edge learns about a request and hands on to the handlers, as
//! request extensions.

use std::net::IpAddr;
use std::sync::Arc;

/// Per-request facts set at the edge.
#[derive(Debug, Clone)]
pub struct RequestMeta {
    /// The request id: the client's `x-request-id` when sane, or a new one.
    pub id: Arc<str>,
    /// The locale messages are rendered in; `None` for the source language.
    pub locale: Option<&'static str>,
}

/// The client's address, resolved once at the edge: the peer, or behind
/// trusted proxies the client they name (`forwarded`). Rate limits,
/// lockouts, known networks, registration counts and logs all use it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClientAddr(pub IpAddr);

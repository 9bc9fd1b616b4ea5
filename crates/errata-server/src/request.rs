//! What the edge learns about a request and hands on to the handlers, as
//! request extensions.

use std::sync::Arc;

/// Per-request facts set at the edge.
#[derive(Debug, Clone)]
pub struct RequestMeta {
    /// The request id: the client's `x-request-id` when sane, or a new one.
    pub id: Arc<str>,
    /// The locale messages are rendered in; `None` for the source language.
    pub locale: Option<&'static str>,
}

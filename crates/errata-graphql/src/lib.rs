//! The error pipeline: GraphQL over HTTP, with every error catalogued.
//!
//! [`transport`] negotiates the response media type and decodes GET and
//! POST requests; [`limits`] bounds documents (tokens, depth, aliases,
//! directives, cost); [`pipeline`] parses (with a bounded cache), resolves
//! the operation, executes it with async-graphql and turns every error, from
//! whatever stage, into a catalog error with the same `extensions`;
//! [`response`] is the wire format; [`rules`] names the specification's
//! validation rules.
//!
//! Architecture invariant: this crate knows the catalog and the executor and
//! nothing of wikis, users or storage (persisted queries other instances
//! registered come through [`SharedDocuments`], which the server implements
//! over Redis), and nothing of the HTTP server: it takes header values and
//! bytes, and returns a status and bytes.

pub mod bubble;
pub mod cache;
pub mod coerce;
pub mod limits;
pub mod model;
pub mod pipeline;
pub mod response;
pub mod rules;
pub mod syntax;
pub mod transport;
pub mod validation;
pub mod weighed;

pub use limits::Limits;
pub use pipeline::{Method, Outcome, Pipeline, PipelineOptions, RequestInfo, SharedDocuments};
pub use transport::{GraphqlRequest, Media, decode_get, decode_post, negotiate};

//! Peers for errata's HTTP benchmark (`bench/run.sh`): the same schema served
//! by bare async-graphql, and a plain axum handler returning a fixed body,
//! which is the ceiling of the HTTP stack.
//!
//! Architecture invariant: nothing here is part of the product; it depends
//! on `errata-server` only for its schema, and nothing depends on it.

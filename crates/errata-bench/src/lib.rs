//! errata's benchmark programs. `peers` serves the peers of the HTTP
//! benchmark (`bench/run.sh`): the same schema by bare async-graphql, and a
//! plain axum handler returning a fixed body, which is the ceiling of the
//! HTTP stack. `invalidation` measures how long a change made on one
//! instance takes to reach another on the same database
//! (`bench/instances.sh`).
//!
//! Architecture invariant: nothing here is part of the product; it depends
//! on `errata-server` only for its schema, talks to running instances only
//! over HTTP, and nothing depends on it.

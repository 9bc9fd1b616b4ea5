//! errata-graphql's integration tests, one binary: the pipeline around a
//! real async-graphql schema, and the parser and validation against
//! graphql-js (through `errata-test-support`'s oracle).

mod pipeline;
mod syntax_vs_graphql_js;
mod validation_vs_graphql_js;

//! A document validated against a schema with every kind of type.
#![no_main]

use std::sync::LazyLock;

use errata_graphql::model::SchemaModel;
use libfuzzer_sys::fuzz_target;

static MODEL: LazyLock<SchemaModel> = LazyLock::new(|| {
    SchemaModel::from_sdl(
        "interface Node { id: ID! } type Page implements Node { id: ID! title(upper: Boolean = false): String! children(first: Int!): [Page!]! } \
         union Result = Page enum Role { ADMIN GUEST } input Filter { role: Role, path: [String!], nested: Filter } \
         type Query { node(id: ID!): Node pages(filter: Filter, first: Int = 10): [Page!]! search: [Result!]! } \
         type Mutation { touch(id: ID!): Page }",
    )
    .expect("valid SDL")
});

fuzz_target!(|source: &str| {
    if let Ok(doc) = errata_graphql::syntax::parse(source) {
        let _ = errata_graphql::validation::validate(&MODEL, &doc, Default::default());
    }
});

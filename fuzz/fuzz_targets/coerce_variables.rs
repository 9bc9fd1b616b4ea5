//! Variables (untrusted JSON) coerced against an operation's definitions.
#![no_main]

use std::sync::LazyLock;

use errata_graphql::model::SchemaModel;
use errata_graphql::syntax::ast::Definition;
use libfuzzer_sys::fuzz_target;

static MODEL: LazyLock<SchemaModel> = LazyLock::new(|| {
    SchemaModel::from_sdl("enum Role { ADMIN GUEST } input Filter { role: Role!, path: [String!], nested: Filter, n: Int, f: Float, id: ID } type Query { a(f: Filter): Int }")
        .expect("valid SDL")
});

fuzz_target!(|json: &[u8]| {
    let Ok(serde_json::Value::Object(vars)) = serde_json::from_slice::<serde_json::Value>(json) else { return };
    let doc = errata_graphql::syntax::parse("query($f: Filter, $g: [Filter!]!, $r: Role, $i: Int!) { a(f: $f) }")
        .expect("valid document");
    let Definition::Operation(op) = &doc.definitions[0] else { return };
    let _ = errata_graphql::coerce::coerce_variables(&MODEL, op, &vars, true);
});

//! errata's validation gives graphql-js 16's messages, locations and order,
//! suggestions included, for every rule it implements.

use errata_graphql::model::SchemaModel;
use errata_graphql::syntax::parse;
use errata_graphql::validation::{Options, validate};
use errata_test_support::oracle::{Case, ask};
use serde_json::{Value, json};

const SDL: &str = r#"
directive @cached(ttl: Int!, scope: String) on FIELD
directive @tag(name: String!) repeatable on FIELD | FRAGMENT_SPREAD
interface Node { id: ID! }
interface Named { name: String }
type Page implements Node & Named { id: ID! name: String title: String! path: String! author: User tags(first: Int = 10): [String!]! children(first: Int!, after: String): [Page!]! }
type User implements Node & Named { id: ID! name: String email: String! pages(filter: PageFilter): [Page!]! role: Role! }
type Group implements Node { id: ID! members: [User!]! }
union SearchResult = Page | User
enum Role { ADMIN EDITOR GUEST }
input PageFilter { path: String, authorId: ID, roles: [Role!], nested: PageFilter }
type Query { node(id: ID!): Node page(path: String!): Page pages(filter: PageFilter, first: Int = 20): [Page!]! search(text: String!): [SearchResult!]! me: User hello: String }
type Mutation { createPage(path: String!, title: String!, content: String): Page deletePage(id: ID!): Boolean! }
type Subscription { pageChanged(path: String!): Page }
"#;

const DOCUMENTS: &[&str] = &[
    // valid
    "{ hello }",
    "query Q($p: String!) { page(path: $p) { id title author { name } } }",
    "{ search(text: \"x\") { ... on Page { title } ... on User { email } __typename } }",
    "{ node(id: 1) { id ... on Named { name } } }",
    "query { pages(filter: {path: \"/\", roles: [ADMIN]}) { ...P } } fragment P on Page { id }",
    "{ me { name @skip(if: true) @tag(name: \"a\") @tag(name: \"b\") } }",
    // FieldsOnCorrectTypeRule
    "{ helo }",
    "{ page(path: \"/\") { titel } }",
    "{ node(id: 1) { name } }",
    "{ node(id: 1) { title } }",
    "{ search(text: \"x\") { id } }",
    "{ search(text: \"x\") { name } }",
    "{ me { nme emial } }",
    "mutation { createPag(path: \"a\", title: \"b\") { id } }",
    "{ __typename me { __typename } }",
    // ScalarLeafsRule
    "{ me }",
    "{ hello { x } }",
    "{ pages { tags { x } } }",
    // KnownArgumentNamesRule
    "{ page(pth: \"/\") { id } }",
    "{ pages(frist: 1) { id } }",
    "{ me { name @skip(iff: true, if: false) } }",
    "{ me { name @cached(ttl: 1, scop: \"x\") } }",
    // ProvidedRequiredArgumentsRule
    "{ page { id } }",
    "{ page(path: \"/\") { children { id } } }",
    "{ me { name @skip } }",
    "{ me { name @cached } }",
    // UniqueArgumentNamesRule
    "{ page(path: \"a\", path: \"b\") { id } }",
    // KnownTypeNamesRule
    "query($x: Strng) { hello }",
    "{ me { ... on Usr { name } } }",
    "fragment F on Pge { id } { me { ...F } }",
    "query($x: [PageFiltr!]) { hello }",
    // FragmentsOnCompositeTypesRule
    "{ me { ... on Role { x } } }",
    "fragment F on String { x } { me { ...F } }",
    // VariablesAreInputTypesRule
    "query($u: User) { hello }",
    "query($u: [SearchResult!]!) { hello }",
    // Known/Unique/Unused fragments and cycles
    "{ me { ...Missing } }",
    "{ me { name } } fragment Unused on User { name }",
    "{ me { ...F } } fragment F on User { name } fragment F on User { email }",
    "{ me { ...A } } fragment A on User { ...B } fragment B on User { ...A }",
    "{ me { ...A } } fragment A on User { name ...A }",
    "{ me { ...A } } fragment A on User { ...B } fragment B on User { ...C } fragment C on User { ...A ...B }",
    // PossibleFragmentSpreadsRule
    "{ me { ... on Page { title } } }",
    "{ me { ...P } } fragment P on Page { title }",
    "{ search(text: \"x\") { ... on Group { id } } }",
    "{ node(id: 1) { ... on SearchResult { __typename } } }",
    // Variables
    "query($a: Int, $a: Int) { hello }",
    "query Q { page(path: $p) { id } }",
    "{ page(path: $p) { id } }",
    "query Q($unused: Int) { hello }",
    "query($unused: Int) { hello }",
    "query Q($p: String!) { me { ...F } } fragment F on User { pages(filter: {path: $p, authorId: $missing}) { id } }",
    // Directives
    "{ me { name @unknown } }",
    "query @skip(if: true) { hello }",
    "{ me { name @skip(if: true) @skip(if: false) } }",
    "{ me { ...F @include(if: true) } } fragment F on User @skip(if: true) { name }",
    // Operations
    "query A { hello } query A { me { name } }",
    "{ hello } query B { hello }",
    "{ hello } { me { name } }",
    // UniqueInputFieldNamesRule
    "{ pages(filter: {path: \"a\", path: \"b\"}) { id } }",
    "{ pages(filter: {nested: {path: \"a\", path: \"b\"}}) { id } }",
    // ExecutableDefinitionsRule
    "{ hello } type Extra { a: Int }",
    "schema { query: Query } { hello }",
    // MaxIntrospectionDepthRule
    "{ __schema { types { fields { type { fields { type { fields { name } } } } } } } }",
    "{ __type(name: \"Page\") { name fields { name } } }",
    // ValuesOfCorrectTypeRule
    "{ pages(first: \"10\") { id } }",
    "{ pages(first: 1.5) { id } }",
    "{ pages(first: 3000000000) { id } }",
    "{ pages(first: [1]) { id } }",
    "{ page(path: 1) { id } }",
    "{ node(id: 1.5) { id } }",
    "{ node(id: true) { id } }",
    "{ page(path: null) { id } }",
    "{ pages(filter: {path: 1, roles: [ADMN, \"EDITOR\", GUEST]}) { id } }",
    "{ pages(filter: {pth: \"/\"}) { id } }",
    "{ pages(filter: \"x\") { id } }",
    "{ pages(filter: {nested: {nested: {roles: GUEST, authorId: {a: 1}}}}) { id } }",
    "{ pages(filter: {path: \"a\", path: 1}) { id } }",
    "mutation { createPage(path: \"/\", title: {t: 1}) { id } }",
    "{ me { name @skip(if: \"yes\") } }",
    "query($x: Int = \"one\") { pages(first: $x) { id } }",
    "{ pages(filter: {roles: ADMIN}) { id } }",
    "{ pages(filter: {roles: [null]}) { id } }",
    // VariablesInAllowedPositionRule
    "query($p: String) { page(path: $p) { id } }",
    "query($p: String = \"/\") { page(path: $p) { id } }",
    "query($n: String) { pages(first: $n) { id } }",
    "query($n: Int) { pages(first: $n) { id } }",
    "query($r: Role) { pages(filter: {roles: [$r]}) { id } }",
    "query($r: [Role]) { pages(filter: {roles: $r}) { id } }",
    "query($b: Boolean) { me { name @skip(if: $b) } }",
    "query($f: PageFilter) { me { ...F } } fragment F on User { pages(filter: {nested: $f}) { id } }",
    "query($i: Int) { page(path: \"/\") { children(first: $i) { id } } }",
    // OverlappingFieldsCanBeMergedRule
    "{ me { name name } }",
    "{ me { n: name n: email } }",
    "{ pages(first: 1) { id } pages(first: 2) { id } }",
    "{ pages(first: 1) { id } pages(first: 1) { id } }",
    "{ node(id: 1) { ... on Page { x: title } ... on User { x: email } } }",
    "{ node(id: 1) { ... on Page { x: title } ... on Named { x: name } } }",
    "{ search(text: \"a\") { ... on Page { id: path } ... on User { id } } }",
    "{ me { ...A ...B } } fragment A on User { x: name } fragment B on User { x: email }",
    "{ me { x: name ...B } } fragment B on User { x: email }",
    "{ me { p: pages { id } p: pages { id: name } } }",
    "{ a: page(path: \"/\") { author { n: name } } a: page(path: \"/\") { author { n: email } } }",
    "{ pages(filter: {path: \"a\", roles: [ADMIN]}) { id } pages(filter: {roles: [ADMIN], path: \"a\"}) { id } }",
    "query($a: Int, $b: Int) { pages(first: $a) { id } pages(first: $b) { id } }",
    "{ node(id: 1) { ... on Page { t: tags } ... on User { t: role } } }",
    "{ me { ...A } } fragment A on User { x: name ...A2 } fragment A2 on User { x: email }",
    // SingleFieldSubscriptionsRule
    "subscription { pageChanged(path: \"/\") { id } }",
    "subscription S { a: pageChanged(path: \"/\") { id } b: pageChanged(path: \"/x\") { id } }",
    "subscription { pageChanged(path: \"/\") { id } __typename }",
    "subscription { __typename }",
    "subscription S { ...F } fragment F on Subscription { a: pageChanged(path: \"/\") { id } b: pageChanged(path: \"/\") { id } }",
    "subscription { pageChanged(path: \"/\") { id } b: pageChanged(path: \"/\") @skip(if: true) { id } }",
    // several rules at once, order matters
    "query A($x: Int) { helo page { titel @skip } ...Nope } query A { me }",
];

fn errata_answer(model: &SchemaModel, query: &str) -> Value {
    match parse(query) {
        Err(e) => json!({"syntax": {"message": format!("Syntax Error: {}", e.message)}}),
        Ok(doc) => {
            let errors = validate(model, &doc, Options::default());
            json!({"validation": errors.iter().map(|e| json!({
                "message": e.message,
                "locations": e.locations.iter().map(|p| json!({"line": p.line, "column": p.column})).collect::<Vec<_>>(),
            })).collect::<Vec<_>>()})
        }
    }
}

#[test]
fn validation_errors_match_graphql_js() {
    let model = SchemaModel::from_sdl(SDL).unwrap();
    let cases: Vec<Case> = DOCUMENTS.iter().map(|d| Case::doc(d)).collect();
    let answers = ask(SDL, &cases);
    let invalid = answers
        .iter()
        .filter(|a| a["validation"].as_array().is_some_and(|v| !v.is_empty()))
        .count();
    assert!(invalid > 50, "the oracle finds the errors ({invalid})");
    let mut mismatches = Vec::new();
    for (doc, theirs) in DOCUMENTS.iter().zip(&answers) {
        let ours = errata_answer(&model, doc);
        if &ours != theirs {
            mismatches.push(format!(
                "{doc}\n  graphql-js: {theirs}\n  errata:     {ours}"
            ));
        }
    }
    assert!(
        mismatches.is_empty(),
        "{} of {} differ:\n{}",
        mismatches.len(),
        DOCUMENTS.len(),
        mismatches.join("\n")
    );
}

#[test]
fn without_suggestions_messages_give_no_hints() {
    let model = SchemaModel::from_sdl(SDL).unwrap();
    let doc = parse("{ helo page(pth: \"/\") { id } }").unwrap();
    let errors = validate(
        &model,
        &doc,
        Options {
            suggestions: false,
            ..Options::default()
        },
    );
    assert!(!errors.is_empty());
    assert!(
        errors.iter().all(|e| !e.message.contains("Did you mean")),
        "{errors:?}"
    );
}

const COERCION: &[(&str, &str)] = &[
    (
        "query($n: Int) { pages(first: $n) { id } }",
        r#"{"n": "many"}"#,
    ),
    (
        "query($n: Int) { pages(first: $n) { id } }",
        r#"{"n": 1.5}"#,
    ),
    (
        "query($n: Int) { pages(first: $n) { id } }",
        r#"{"n": 3000000000}"#,
    ),
    (
        "query($n: Int) { pages(first: $n) { id } }",
        r#"{"n": 2.0}"#,
    ),
    ("query($p: String!) { page(path: $p) { id } }", r#"{}"#),
    (
        "query($p: String!) { page(path: $p) { id } }",
        r#"{"p": null}"#,
    ),
    (
        "query($p: String!) { page(path: $p) { id } }",
        r#"{"p": {"a": [1, {"b": {"c": 1}}]}}"#,
    ),
    (
        "query($f: PageFilter) { pages(filter: $f) { id } }",
        r#"{"f": {"pth": "/", "roles": ["ADMN", "EDITOR", 3]}}"#,
    ),
    (
        "query($f: PageFilter) { pages(filter: $f) { id } }",
        r#"{"f": [1]}"#,
    ),
    (
        "query($f: PageFilter) { pages(filter: $f) { id } }",
        r#"{"f": {"nested": {"roles": [null], "authorId": true}}}"#,
    ),
    ("query($id: ID!) { node(id: $id) { id } }", r#"{"id": 1.5}"#),
    ("query($id: ID!) { node(id: $id) { id } }", r#"{"id": 7}"#),
    (
        "query($b: Boolean!) { me { name @skip(if: $b) } }",
        r#"{"b": "true"}"#,
    ),
    (
        "query($r: [Role!]) { pages(filter: {roles: $r}) { id } }",
        r#"{"r": "ADMIN"}"#,
    ),
    (
        "query($r: [Role!]) { pages(filter: {roles: $r}) { id } }",
        r#"{"r": [1,2,3,4,5,6,7,8,9,10,11,12]}"#,
    ),
];

#[test]
fn variable_coercion_errors_match_graphql_js() {
    use errata_graphql::coerce::coerce_variables;
    use errata_graphql::syntax::ast::Definition;
    let model = SchemaModel::from_sdl(SDL).unwrap();
    let cases: Vec<Case> = COERCION
        .iter()
        .map(|(q, v)| Case {
            query: (*q).to_owned(),
            variables: Some(serde_json::from_str(v).unwrap()),
        })
        .collect();
    let answers = ask(SDL, &cases);
    let mut mismatches = Vec::new();
    for ((query, vars), theirs) in COERCION.iter().zip(&answers) {
        let doc = parse(query).unwrap();
        let Definition::Operation(op) = &doc.definitions[0] else {
            panic!("{query}")
        };
        let inputs: serde_json::Map<String, Value> = serde_json::from_str(vars).unwrap();
        let ours: Vec<Value> = coerce_variables(&model, op, &inputs, true)
            .iter()
            .map(|e| json!({"message": e.message, "locations": [{"line": e.pos.line, "column": e.pos.column}]}))
            .collect();
        if theirs["coercion"] != json!(ours) {
            mismatches.push(format!(
                "{query} {vars}\n  graphql-js: {}\n  errata:     {}",
                theirs["coercion"],
                json!(ours)
            ));
        }
    }
    assert!(
        mismatches.is_empty(),
        "{} differ:\n{}",
        mismatches.len(),
        mismatches.join("\n")
    );
}

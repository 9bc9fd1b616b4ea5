//! errata's parser accepts what graphql-js 16 accepts, and rejects the rest
//! with graphql-js's message and location, for every kind of syntax error.

use errata_graphql::syntax::parse;
use errata_test_support::oracle::{Case, ask};
use serde_json::{Value, json};

const DOCUMENTS: &[&str] = &[
    // valid
    "{ a }",
    "query Q($x: Int = 1, $y: [String!]! = [\"a\"]) @d(a: 1) { a(b: $x, c: {d: [1, 2.5e3, true, null, E]}) @skip(if: $y) ...F ... on T { b } ... @include(if: true) { c } }\nfragment F on T { d }",
    "\"\"\"described\"\"\" query Q { a }",
    "mutation { a } subscription S { b }",
    "{ a(s: \"\\u00e9\\u{1F600}\\n\\\"\", b: \"\"\"  block\n    string \\\"\"\" \"\"\") }",
    "# comment\n{ a # trailing\n}",
    "type T { a: Int } { a }",
    "{ alias: a(x: -0) b(y: 0.5) }",
    "{ a(s: \"\\uD83D\\uDE00\") }",
    // lexer errors
    "{ a(x: \"unterminated) }",
    "{ a(x: \"line\nbreak\") }",
    "{ a(x: \"\"\"never closed) }",
    "{ a(x: 'single') }",
    "{ a(x: ?) }",
    "{ a(x: \"\\x\") }",
    "{ a(x: \"\\u12\") }",
    "{ a(x: \"\\u{110000}\") }",
    "{ a(x: \"\\u{}\") }",
    "{ a(x: \"\\uD800\") }",
    "{ a(x: 01) }",
    "{ a(x: 1.) }",
    "{ a(x: 1.e5) }",
    "{ a(x: 1e) }",
    "{ a(x: 1a) }",
    "{ a(x: 1.5.2) }",
    "{ a(x: -) }",
    "{ a(x: -a) }",
    "{ a . b }",
    "{ a .. b }",
    "{ a(x: é) }",
    "{ a(x: \u{1F600}) }",
    "\u{00A0}{ a }",
    "{ a }\r\n\r\n?",
    "{ a(x: \"ok\") }\n  \"unterminated",
    // parser errors
    "",
    "   ",
    "{",
    "{ a",
    "{ a(",
    "{ a(x) }",
    "{ a(x:) }",
    "{ a(x: 1 }",
    "{ a { } }",
    "{ ...on }",
    "{ ... on { a } }",
    "query",
    "query Q(",
    "query Q($x) { a }",
    "query Q($x: ) { a }",
    "query Q($x: Int = $y) { a }",
    "query Q($x: [Int) { a }",
    "query Q(x: Int) { a }",
    "queryy { a }",
    "fragment on on T { a }",
    "fragment F T { a }",
    "fragment F on { a }",
    "fragment F on T",
    "{ a } }",
    "{ a @ }",
    "{ a @d( }",
    "{ a(x: [1, 2) }",
    "{ a(x: {b 1}) }",
    "{ a(x: {b: 1) }",
    "\"desc\" { a }",
    "\"desc\" extend type T { a: Int }",
    "\"desc\" notakeyword",
    "extend",
    "extend type T",
    "extend scalar S",
    "enum E { true }",
    "directive @d on NOWHERE",
    "type T { a: Int",
    "type T implements & A & B { a: Int }",
    "schema { query }",
    "union U = | A | B",
    "input I { a: Int = $x }",
    "& a",
    "{ a }\n\n  }",
    "{ a(x: \"\"\"a\"\"\" b: 1) }",
];

fn errata_answer(query: &str) -> Value {
    match parse(query) {
        Ok(_) => json!({"ok": true}),
        Err(e) => json!({"syntax": {
            "message": format!("Syntax Error: {}", e.message),
            "locations": [{"line": e.pos.line, "column": e.pos.column}],
        }}),
    }
}

#[test]
fn every_syntax_error_matches_graphql_js() {
    let cases: Vec<Case> = DOCUMENTS.iter().map(|d| Case::doc(d)).collect();
    let answers = ask("type Query { a: Int }", &cases);
    let mut mismatches = Vec::new();
    for (doc, js) in DOCUMENTS.iter().zip(&answers) {
        let ours = errata_answer(doc);
        let theirs = match js.get("syntax") {
            Some(syntax) => json!({"syntax": syntax}),
            None => json!({"ok": true}),
        };
        if ours != theirs {
            mismatches.push(format!(
                "{doc:?}\n  graphql-js: {theirs}\n  errata:     {ours}"
            ));
        }
    }
    assert!(
        answers.iter().filter(|a| a.get("syntax").is_some()).count() > 60,
        "the oracle finds the errors"
    );
    assert!(
        mismatches.is_empty(),
        "{} of {} differ:\n{}",
        mismatches.len(),
        DOCUMENTS.len(),
        mismatches.join("\n")
    );
}

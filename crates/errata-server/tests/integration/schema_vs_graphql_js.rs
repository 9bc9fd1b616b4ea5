//! Against the server's own schema (async-graphql's SDL), request errors
//! are graphql-js's: the same SDL goes to graphql-js, the same documents to
//! both, and the messages and locations must agree.

use errata_test_support::TestServer;
use errata_test_support::oracle::{Case, ask};
use serde_json::{Value, json};

const DOCUMENTS: &[&str] = &[
    "{ catalog { nmae } }",
    "{ catalog { errors(frist: 2) { totalCount } } }",
    "{ catalog { error { id } } }",
    "{ catalog { errors { nodes } } }",
    "{ catalog { errors(filter: {domian: \"pages\"}) { totalCount } } }",
    "{ system { info { version { major } } } }",
    "{ sytem { info { version } } }",
    "query($f: ErrorFiltr) { catalog { name } }",
    "{ catalog { ...F } } fragment F on SystemQuery { info { version } }",
    "{ catalog { ...Missing } }",
    "query A { catalog { name } } query A { system { info { uptime } } }",
    "{ catalog { name } ",
    "{ catalog { name(",
    "{ catalog { name @skip } }",
    "{ catalog { errors { nodes { id class message(locale: 1, locale: 2) } } } }",
];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn request_errors_match_graphql_js_on_the_server_schema() {
    let sdl = errata_server::schema::sdl();
    let cases: Vec<Case> = DOCUMENTS.iter().map(|d| Case::doc(d)).collect();
    let answers = tokio::task::spawn_blocking(move || ask(&sdl, &cases))
        .await
        .unwrap();
    let s = TestServer::default().await;
    let mut mismatches = Vec::new();
    for (doc, theirs) in DOCUMENTS.iter().zip(&answers) {
        let r = s.query(doc).await;
        let errors: Vec<Value> = r.body["errors"]
            .as_array()
            .cloned()
            .unwrap_or_default()
            .into_iter()
            .map(|e| json!({"message": e["message"], "locations": e["locations"]}))
            .collect();
        let theirs: Vec<Value> = match (theirs.get("syntax"), theirs.get("validation")) {
            (Some(syntax), _) => vec![syntax.clone()],
            (_, Some(Value::Array(v))) => v.clone(),
            _ => Vec::new(),
        };
        if errors != theirs || r.has_data() {
            mismatches.push(format!(
                "{doc}\n  graphql-js: {theirs:?}\n  errata:     {errors:?}"
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

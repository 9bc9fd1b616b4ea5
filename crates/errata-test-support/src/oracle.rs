//! graphql-js as an oracle: `tests/js/graphql-js.mjs` answers what graphql-js
//! 16 says about each document, and tests compare errata with it.

use std::io::Write;
use std::path::Path;
use std::process::{Command, Stdio};

use serde_json::{Value, json};

/// One document to ask about.
#[derive(Debug, Clone)]
pub struct Case {
    /// The document.
    pub query: String,
    /// Its variables, if any.
    pub variables: Option<Value>,
}

impl Case {
    /// A document without variables.
    pub fn doc(query: &str) -> Case {
        Case {
            query: query.to_owned(),
            variables: None,
        }
    }
}

/// graphql-js's answer for every case, in order.
pub fn ask(schema_sdl: &str, cases: &[Case]) -> Vec<Value> {
    let js = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/js");
    assert!(
        js.join("node_modules/graphql").exists(),
        "tests/js/node_modules is missing: run scripts/test, which installs it"
    );
    let input = json!({
        "schema": schema_sdl,
        "cases": cases.iter().map(|c| match &c.variables {
            Some(v) => json!({"query": c.query, "variables": v}),
            None => json!({"query": c.query}),
        }).collect::<Vec<_>>(),
    });
    let mut child = Command::new("node")
        .arg(js.join("graphql-js.mjs"))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("node runs");
    child
        .stdin
        .take()
        .expect("piped")
        .write_all(input.to_string().as_bytes())
        .expect("node reads its input");
    let output = child.wait_with_output().expect("node finishes");
    assert!(
        output.status.success(),
        "graphql-js.mjs failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    let answers: Vec<Value> = serde_json::from_slice(&output.stdout).expect("JSON answers");
    assert_eq!(answers.len(), cases.len());
    answers
}

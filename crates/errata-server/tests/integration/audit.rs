//! The graphql-http audit suite (npm `graphql-http`, `auditServer`) against
//! the real server: 0 errors and 0 warnings.
//!
//! Needs `tests/js/node_modules`, which `scripts/test` installs.

use std::path::Path;

use errata_test_support::TestServer;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn graphql_http_audit_passes_without_errors_or_warnings() {
    let s = TestServer::default().await;
    let js = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/js");
    assert!(
        js.join("node_modules/graphql-http").exists(),
        "tests/js/node_modules is missing: run scripts/test, which installs it"
    );
    let url = s.url("/graphql");
    let output = tokio::task::spawn_blocking(move || {
        std::process::Command::new("node")
            .arg(js.join("audit.mjs"))
            .arg(url)
            .output()
            .expect("node runs")
    })
    .await
    .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "audit failed:\n{stdout}{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(stdout.contains(" passed, 0 failed"), "{stdout}");
}

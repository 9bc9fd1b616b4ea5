//! `/errors` in a real browser: Debian's Chromium, driven by playwright-core
//! (`tests/js/errors-page.mjs`), against the real server. Searching by code,
//! slug, id and words; `/errors#6003`; nothing loaded from other hosts under
//! the page's Content-Security-Policy; descriptions rendered as Markdown;
//! every entry shown without JavaScript. Screenshots for people to look at
//! are written to `$CARGO_TARGET_TMPDIR/errors-page/`
//! (`~/.cache/errata-target/tmp/errors-page/` by default).
//!
//! Needs `tests/js/node_modules` and Chromium (`/usr/bin/chromium`, or
//! `ERRATA_CHROMIUM`), which `scripts/test` installs.

use std::path::{Path, PathBuf};

use errata_test_support::TestServer;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_error_reference_works_in_a_browser() {
    let js = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/js");
    assert!(
        js.join("node_modules/playwright-core").exists(),
        "tests/js/node_modules is missing: run scripts/test, which installs it"
    );
    let chromium = std::env::var_os("ERRATA_CHROMIUM")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/usr/bin/chromium"));
    assert!(
        chromium.exists(),
        "{} is missing: run scripts/test, which installs Chromium (apt-get install chromium)",
        chromium.display()
    );
    let shots = Path::new(env!("CARGO_TARGET_TMPDIR")).join("errors-page");
    for old in ["errors.png", "errors-search.png", "errors-6003-desktop.png"] {
        let _ = std::fs::remove_file(shots.join(old));
    }

    let s = TestServer::default().await;
    let base = s.url("");
    let script_shots = shots.clone();
    let output = tokio::task::spawn_blocking(move || {
        std::process::Command::new("node")
            .arg(js.join("errors-page.mjs"))
            .arg(base)
            .arg(script_shots)
            .env("ERRATA_CHROMIUM", chromium)
            .output()
            .expect("node runs")
    })
    .await
    .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "the browser test failed:\n{stdout}{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(stdout.contains(" passed, 0 failed"), "{stdout}");
    for shot in ["errors.png", "errors-search.png", "errors-6003-desktop.png"] {
        let size = std::fs::metadata(shots.join(shot)).map_or(0, |m| m.len());
        assert!(size > 10_000, "{shot} was not written ({size} bytes)");
    }
}

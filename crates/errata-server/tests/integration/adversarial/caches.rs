//! Holes in what the caches keep: they were bounded by entries, and each
//! entry could hold a client's megabyte. The whole server's memory under
//! megabyte bodies is measured on the real binary, in
//! `crates/errata/tests/memory.rs`; here, what can be seen over HTTP.

use serde_json::json;
use sha2::Digest;

use errata_test_support::{Reply, TestServer, config};

fn sha256_hex(text: &str) -> String {
    sha2::Sha256::digest(text.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

async fn persisted(s: &TestServer, query: Option<&str>, hash: &str) -> Reply {
    let mut body = json!({
        "extensions": { "persistedQuery": { "version": 1, "sha256Hash": hash } }
    });
    if let Some(query) = query {
        body["query"] = json!(query);
    }
    s.post(body, "application/graphql-response+json").await
}

#[tokio::test]
async fn persisted_query_texts_pile_up_past_any_byte_budget() {
    let s = TestServer::start(errata_server::Config {
        document_cache_bytes: 1_000_000,
        ..config()
    })
    .await;
    // Twelve documents of 100 KB of comment: 1.2 MB of text, in a cache of
    // 1,024 entries and 1 MB.
    let texts: Vec<String> = (0..12)
        .map(|i| format!("# {i} {}\n{{ catalog {{ name }} }}", "x".repeat(100_000)))
        .collect();
    for text in &texts {
        let r = persisted(&s, Some(text), &sha256_hex(text)).await;
        assert_eq!(r.status, 200, "{}", r.body);
        assert_eq!(r.body["data"]["catalog"]["name"], "errata");
    }
    let last = persisted(&s, None, &sha256_hex(&texts[11])).await;
    assert_eq!(last.status, 200, "the latest text is kept: {}", last.body);
    assert_eq!(last.body["data"]["catalog"]["name"], "errata");
    let first = persisted(&s, None, &sha256_hex(&texts[0])).await;
    assert_eq!(
        first.extensions()["code"],
        "PERSISTED_QUERY_NOT_FOUND",
        "the oldest text made room: {}",
        first.body
    );
    let again = persisted(&s, Some(&texts[0]), &sha256_hex(&texts[0])).await;
    assert_eq!(
        again.status, 200,
        "a client sends the text again, as APQ has it"
    );

    let huge = format!("# {}\n{{ catalog {{ name }} }}", "y".repeat(1_040_000));
    let r = persisted(&s, Some(&huge), &sha256_hex(&huge)).await;
    assert_eq!(
        r.status, 200,
        "a text heavier than the cache is run: {}",
        r.body
    );
    let r = persisted(&s, None, &sha256_hex(&huge)).await;
    assert_eq!(
        r.extensions()["code"],
        "PERSISTED_QUERY_NOT_FOUND",
        "and not kept"
    );
    let r = persisted(&s, None, &sha256_hex(&texts[11])).await;
    assert_eq!(r.status, 200, "nor does it push out what was kept");
}

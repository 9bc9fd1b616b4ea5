//! The response cache, over HTTP: what `@cacheControl` lets it keep, what
//! it keys answers by, and that a replay is the answer a run would give,
//! with the request's own id.
//!
//! Metrics are process-wide, so this module is one test that runs its
//! parts in turn, in a process of its own (the other modules' servers
//! share this binary): the hit and miss counts it reads are its own.

use errata_test_support::{Reply, TestServer, config};
use rusty_fork::rusty_fork_test;
use serde_json::json;

const MISSING: &str = r#"{ catalog { name error(key: "nope") { id } } }"#;

/// `errata_response_cache_total{result=...}` and the count of error 11003.
async fn counts(s: &TestServer) -> (u64, u64, u64) {
    let text = s
        .client
        .get(s.url("/metrics"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let find = |prefix: &str| -> u64 {
        text.lines()
            .find(|l| l.starts_with(prefix))
            .and_then(|l| l.rsplit(' ').next())
            .and_then(|v| v.parse().ok())
            .unwrap_or(0)
    };
    (
        find("errata_response_cache_total{result=\"hit\"}"),
        find("errata_response_cache_total{result=\"miss\"}"),
        find("errata_errors_total{code=\"11003\""),
    )
}

async fn with_locale(
    s: &TestServer,
    query: &str,
    variables: serde_json::Value,
    lang: &str,
) -> Reply {
    let response = s
        .client
        .post(s.url("/graphql"))
        .header("content-type", "application/json")
        .header("accept-language", lang)
        .body(json!({"query": query, "variables": variables}).to_string())
        .send()
        .await
        .unwrap();
    Reply::read(response).await
}

fn ids(reply: &Reply) -> (String, String, String) {
    (
        reply.header("x-request-id").unwrap_or("").to_owned(),
        reply.body["extensions"]["requestId"]
            .as_str()
            .unwrap_or("")
            .to_owned(),
        reply.body["errors"][0]["extensions"]["requestId"]
            .as_str()
            .unwrap_or("")
            .to_owned(),
    )
}

rusty_fork_test! {
    #[test]
    fn the_response_cache() {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("a runtime");
        runtime.block_on(async {
            a_replayed_answer_is_the_same_answer_with_the_requests_own_id().await;
            answers_are_kept_per_locale_and_variables_with_the_schemas_age().await;
            a_field_without_a_hint_keeps_the_answer_out_of_every_cache().await;
            turned_off_it_keeps_nothing_and_still_sends_the_header().await;
            a_refused_body_is_replayed_with_its_status_for_the_media_type().await;
        });
    }
}

async fn post(s: &TestServer, body: &str, accept: &str, id: &str) -> Reply {
    let response = s
        .client
        .post(s.url("/graphql"))
        .header("content-type", "application/json")
        .header("accept", accept)
        .header("x-request-id", id)
        .body(body.to_owned())
        .send()
        .await
        .unwrap();
    Reply::read(response).await
}

async fn a_refused_body_is_replayed_with_its_status_for_the_media_type() {
    let s = TestServer::default().await;
    let body = r#"{"query":"{ catalog { nmae } }"}"#;
    let strict = "application/graphql-response+json";
    let first = post(&s, body, strict, "refused-1").await;
    let second = post(&s, body, strict, "refused-2").await;
    let lenient = post(&s, body, "application/json", "refused-3").await;
    for (reply, status, id) in [
        (&first, 400, "refused-1"),
        (&second, 400, "refused-2"),
        (&lenient, 200, "refused-3"),
    ] {
        assert_eq!(reply.status, status, "{id}");
        assert!(!reply.has_data());
        assert_eq!(reply.extensions()["code"], "GRAPHQL_VALIDATION_FAILED");
        assert_eq!(reply.extensions()["requestId"], id);
        assert_eq!(reply.body["extensions"]["requestId"], id);
        assert_eq!(reply.header("x-request-id"), Some(id));
    }
    assert_eq!(first.body["errors"], {
        let mut errors = second.body["errors"].clone();
        errors[0]["extensions"]["requestId"] = json!("refused-1");
        errors
    });
}

async fn a_replayed_answer_is_the_same_answer_with_the_requests_own_id() {
    let s = TestServer::default().await;
    let (hits0, misses0, errors0) = counts(&s).await;
    let first = s.query(MISSING).await;
    let (hits1, misses1, errors1) = counts(&s).await;
    assert_eq!(
        (hits1 - hits0, misses1 - misses0, errors1 - errors0),
        (0, 1, 1)
    );
    let second = s.query(MISSING).await;
    let (hits2, misses2, errors2) = counts(&s).await;
    assert_eq!(
        (hits2 - hits1, misses2 - misses1, errors2 - errors1),
        (1, 0, 1),
        "the second answer came from the cache, and its error is counted as a run's"
    );
    assert_eq!(first.status, 200);
    assert_eq!(first.body["data"], second.body["data"]);
    assert_eq!(
        first.body["errors"][0]["message"],
        second.body["errors"][0]["message"]
    );
    assert_eq!(
        second.body["errors"][0]["path"],
        json!(["catalog", "error"])
    );
    let (a, b) = (ids(&first), ids(&second));
    assert_ne!(a.0, b.0);
    assert_eq!((b.1.as_str(), b.2.as_str()), (b.0.as_str(), b.0.as_str()));
    // An answer with errors is kept by errata, not offered to HTTP caches.
    assert_eq!(second.header("cache-control"), None);

    let named = s
        .client
        .post(s.url("/graphql"))
        .header("content-type", "application/json")
        .header("x-request-id", "client-chosen-1")
        .body(json!({"query": MISSING}).to_string())
        .send()
        .await
        .unwrap();
    let named = Reply::read(named).await;
    assert_eq!(ids(&named).1, "client-chosen-1");
    assert_eq!(ids(&named).2, "client-chosen-1");
}

async fn answers_are_kept_per_locale_and_variables_with_the_schemas_age() {
    let s = TestServer::default().await;
    let query = "query Page($domain: String!) { catalog { errors(filter: { domain: $domain }, first: 2) { nodes { id message } } } }";
    let en = with_locale(&s, query, json!({"domain": "pages"}), "en").await;
    let en_again = with_locale(&s, query, json!({"domain": "pages"}), "en").await;
    let other = with_locale(&s, query, json!({"domain": "auth"}), "en").await;
    assert_eq!(en.header("cache-control"), Some("public, max-age=3600"));
    assert_eq!(en.header("vary"), Some("Accept, Accept-Language"));
    assert_eq!(en_again.header("vary"), Some("Accept, Accept-Language"));
    assert_eq!(en.body, {
        let mut b = en_again.body.clone();
        b["extensions"] = en.body["extensions"].clone();
        b
    });
    // Error messages follow Accept-Language: a kept English answer is not
    // replayed in French.
    let missing_en = with_locale(&s, MISSING, json!({}), "en").await;
    let missing_fr = with_locale(&s, MISSING, json!({}), "fr").await;
    let missing_fr_again = with_locale(&s, MISSING, json!({}), "fr").await;
    let message = |r: &Reply| r.body["errors"][0]["message"].clone();
    assert_ne!(message(&missing_en), message(&missing_fr));
    assert_eq!(message(&missing_fr), message(&missing_fr_again));
    assert_eq!(missing_fr.extensions()["code"], "NOT_FOUND");
    let id = |r: &Reply| r.body["data"]["catalog"]["errors"]["nodes"][0]["id"].clone();
    assert!(id(&en).as_str().unwrap().starts_with("pages."));
    assert!(id(&other).as_str().unwrap().starts_with("auth."));
}

async fn a_field_without_a_hint_keeps_the_answer_out_of_every_cache() {
    let s = TestServer::default().await;
    let query = "{ catalog { name } system { info { uptime } } }";
    let (hits0, misses0, _) = counts(&s).await;
    let a = s.query(query).await;
    let b = s.query(query).await;
    let (hits1, misses1, _) = counts(&s).await;
    assert_eq!(a.status, 200);
    assert_eq!(a.header("cache-control"), None);
    assert_eq!(b.header("cache-control"), None);
    // Neither a hit nor a miss: such answers are not the cache's business.
    assert_eq!((hits1 - hits0, misses1 - misses0), (0, 0));
    let invalid_vars = s
        .gql(
            "query Page($first: Int!) { catalog { errors(first: $first) { totalCount } } }",
            json!({"first": "ten"}),
            None,
        )
        .await;
    assert_eq!(invalid_vars.status, 400);
    assert!(!invalid_vars.has_data());
    assert_eq!(invalid_vars.extensions()["code"], "BAD_USER_INPUT");
}

async fn turned_off_it_keeps_nothing_and_still_sends_the_header() {
    let s = TestServer::start(errata_server::Config {
        response_cache: 0,
        ..config()
    })
    .await;
    let before = counts(&s).await;
    let a = s.query("{ catalog { version } }").await;
    let b = s.query("{ catalog { version } }").await;
    assert_eq!(counts(&s).await, before, "nothing kept, nothing replayed");
    assert_eq!(a.body["data"], b.body["data"]);
    assert_eq!(b.header("cache-control"), Some("public, max-age=3600"));
}

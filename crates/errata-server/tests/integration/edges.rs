//! Limits at the edge: body size, rate limit, concurrency, timeout, document
//! limits, production mode, graceful shutdown, and the other endpoints.

use std::time::Duration;

use errata_server::RateLimit;
use errata_test_support::{Reply, TestServer, config};
use serde_json::json;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// Opens a POST /graphql whose body is announced but not yet sent, so the
/// request holds its concurrency slot until `finish` is called.
async fn hold_request(s: &TestServer) -> TcpStream {
    let mut stream = TcpStream::connect(s.server.addr()).await.unwrap();
    let body = r#"{"query":"{ catalog { name } }"}"#;
    let head = format!(
        "POST /graphql HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\r\n{{",
        body.len()
    );
    stream.write_all(head.as_bytes()).await.unwrap();
    // Let the server admit the request and start reading the body.
    tokio::time::sleep(Duration::from_millis(150)).await;
    stream
}

async fn finish(mut stream: TcpStream) -> String {
    let body = r#"{"query":"{ catalog { name } }"}"#;
    stream.write_all(&body.as_bytes()[1..]).await.unwrap();
    let mut out = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        let n = tokio::time::timeout(Duration::from_secs(5), stream.read(&mut buf))
            .await
            .unwrap()
            .unwrap();
        if n == 0 {
            break;
        }
        out.extend_from_slice(&buf[..n]);
        if String::from_utf8_lossy(&out).contains("\"requestId\"") {
            break;
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[tokio::test]
async fn an_oversized_body_is_413_with_the_limit() {
    let s = TestServer::start(errata_server::Config {
        max_body_bytes: 64,
        ..config()
    })
    .await;
    let body = json!({"query": format!("{{ catalog {{ name }} }} #{}", "x".repeat(200))});
    let r = s.post(body, "application/json").await;
    assert_eq!((r.status, r.slug()), (413, "HttpBodyTooLarge"));
    assert_eq!(r.extensions()["limit"], 64);
}

#[tokio::test]
async fn document_limits_have_their_own_codes() {
    let s = TestServer::default().await;
    let deep = "{ catalog { errors { nodes { id } } } }";
    assert_eq!(s.query(deep).await.status, 200);
    let too_deep = "{ a { b { c { d { e { f { g } } } } } } }";
    let r = s.query(too_deep).await;
    assert_eq!((r.status, r.slug()), (400, "GraphqlDepthLimit"));
    assert_eq!(r.extensions()["limit"], 6);
    assert!(!r.has_data());
    let huge = format!("{{ {} }}", "catalog { name } ".repeat(400));
    let r = s.query(&huge).await;
    assert_eq!((r.status, r.slug()), (400, "GraphqlTokenLimit"));
    let aliases: String = (0..20)
        .map(|i| format!("a{i}: catalog {{ name }} "))
        .collect();
    let r = s.query(&format!("{{ {aliases} }}")).await;
    assert_eq!((r.status, r.slug()), (400, "GraphqlAliasLimit"));
}

#[tokio::test]
async fn huge_and_deeply_nested_documents_are_refused_without_harm() {
    let s = TestServer::default().await;
    let nested = format!("{}{}", "{ a ".repeat(20_000), "}".repeat(20_000));
    let r = s.query(&nested).await;
    assert_eq!((r.status, r.slug()), (400, "GraphqlTokenLimit"));
    // With the token limit out of the way, the parser's own nesting bound answers.
    let s = TestServer::start(errata_server::Config {
        limits: errata_graphql::Limits {
            max_tokens: 1_000_000,
            ..errata_graphql::Limits::default()
        },
        max_body_bytes: 10 << 20,
        ..config()
    })
    .await;
    let r = s.query(&nested).await;
    assert_eq!((r.status, r.slug()), (400, "GraphqlParseFailed"));
    assert!(
        r.body["errors"][0]["message"]
            .as_str()
            .unwrap()
            .contains("nested more than 128 levels")
    );
    let list = format!(
        "{{ catalog {{ error(key: {}\"x\"{}) {{ id }} }} }}",
        "[".repeat(50_000),
        "]".repeat(50_000)
    );
    let r = s.query(&list).await;
    assert_eq!((r.status, r.slug()), (400, "GraphqlParseFailed"));
    assert_eq!(
        s.query("{ catalog { name } }").await.status,
        200,
        "the server is still up"
    );
}

#[tokio::test]
async fn a_rate_limited_request_is_429_with_retry_headers() {
    let s = TestServer::start(errata_server::Config {
        rate_limit: RateLimit::PerSecond(1.0),
        rate_limit_burst: Some(2),
        ..config()
    })
    .await;
    assert_eq!(s.query("{ catalog { name } }").await.status, 200);
    assert_eq!(s.query("{ catalog { name } }").await.status, 200);
    let r = s.query("{ catalog { name } }").await;
    assert_eq!(r.status, 429);
    assert_eq!(r.body["errors"][0]["message"], "Too Many Requests");
    assert_eq!(r.extensions()["code"], "TOO_MANY_REQUESTS");
    let retry: u64 = r.header("retry-after").unwrap().parse().unwrap();
    assert!(retry >= 1);
    assert_eq!(r.extensions()["retryAfter"], retry);
    assert_eq!(r.header("ratelimit-policy"), Some("\"default\";q=2;w=2"));
    assert_eq!(
        r.header("ratelimit"),
        Some(format!("\"default\";r=0;t={retry}").as_str())
    );
    // Other endpoints are not rate limited.
    let health = s.client.get(s.url("/healthz")).send().await.unwrap();
    assert_eq!(health.status(), 200);
}

#[tokio::test]
async fn an_operation_can_have_a_stricter_limit_of_its_own() {
    let mut limits = std::collections::BTreeMap::new();
    limits.insert("catalog.error".to_owned(), RateLimit::parse("1/h").unwrap());
    let s = TestServer::start(errata_server::Config {
        operation_limits: limits,
        ..config()
    })
    .await;
    let lookup = "{ catalog { error(key: \"6003\") { slug } } }";
    assert_eq!(s.query(lookup).await.status, 200);
    let r = s.query("query Again { ...F } fragment F on Query { catalog { error(key: \"1001\") { slug } } }").await;
    assert_eq!(
        (r.status, r.slug()),
        (429, "HttpRateLimited"),
        "fragments do not hide the operation"
    );
    assert_eq!(
        r.header("ratelimit-policy"),
        Some("\"catalog.error\";q=1;w=3600")
    );
    assert_eq!(
        s.query("{ catalog { name } }").await.status,
        200,
        "other operations are not limited"
    );
    let again = s.query(lookup).await;
    assert_eq!(
        (again.status, again.slug()),
        (429, "HttpRateLimited"),
        "a kept answer is not replayed past the operation's limit"
    );
}

#[tokio::test]
async fn beyond_max_concurrent_requests_the_answer_is_503_with_retry_after() {
    let s = TestServer::start(errata_server::Config {
        max_concurrent_requests: 1,
        ..config()
    })
    .await;
    let held = hold_request(&s).await;
    let r = s.query("{ catalog { name } }").await;
    assert_eq!((r.status, r.slug()), (503, "HttpOverloaded"));
    assert_eq!(r.header("retry-after"), Some("1"));
    let answer = finish(held).await;
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    assert_eq!(
        s.query("{ catalog { name } }").await.status,
        200,
        "the slot is free again"
    );
}

#[tokio::test]
async fn a_request_over_the_timeout_is_504() {
    let s = TestServer::start(errata_server::Config {
        request_timeout_ms: 300,
        ..config()
    })
    .await;
    let mut held = hold_request(&s).await;
    let mut out = Vec::new();
    let mut buf = [0u8; 4096];
    let n = tokio::time::timeout(Duration::from_secs(5), held.read(&mut buf))
        .await
        .unwrap()
        .unwrap();
    out.extend_from_slice(&buf[..n]);
    let text = String::from_utf8_lossy(&out);
    assert!(text.starts_with("HTTP/1.1 504"), "{text}");
    assert!(text.contains("\"GATEWAY_TIMEOUT\""), "{text}");
    assert!(text.contains("HttpTimeout"), "{text}");
}

#[tokio::test]
async fn shutdown_finishes_requests_in_flight() {
    let s = TestServer::default().await;
    let held = hold_request(&s).await;
    let TestServer { server, .. } = s;
    let stopping = tokio::spawn(server.shutdown());
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert!(
        !stopping.is_finished(),
        "shutdown waits for the request in flight"
    );
    let answer = finish(held).await;
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    assert!(answer.contains("\"errata\""), "{answer}");
    tokio::time::timeout(Duration::from_secs(5), stopping)
        .await
        .unwrap()
        .unwrap()
        .unwrap();
}

#[tokio::test]
async fn production_mode_gives_no_hints_about_the_schema() {
    let dev = TestServer::default().await;
    let r = dev.query("{ catalog { nam } }").await;
    assert!(
        r.body["errors"][0]["message"]
            .as_str()
            .unwrap()
            .contains("Did you mean"),
        "{}",
        r.body
    );
    let prod = TestServer::start(errata_server::Config {
        production: true,
        ..config()
    })
    .await;
    let r = prod.query("{ catalog { nam } }").await;
    assert!(
        !r.body["errors"][0]["message"]
            .as_str()
            .unwrap()
            .contains("Did you mean"),
        "{}",
        r.body
    );
    let r = prod.query("{ __schema { types { name } } }").await;
    assert!(!r.has_data(), "introspection is off: {}", r.body);
    let page = prod
        .client
        .get(prod.url("/graphql"))
        .header("accept", "text/html")
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), 406, "no GraphiQL in production");
    let page = dev
        .client
        .get(dev.url("/graphql"))
        .header("accept", "text/html")
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), 200);
    assert!(page.text().await.unwrap().contains("graphiql"));
}

#[tokio::test]
async fn the_reference_is_served_from_the_compiled_catalog() {
    let s = TestServer::default().await;
    let html = s.client.get(s.url("/errors")).send().await.unwrap();
    assert!(
        html.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/html")
    );
    let html = html.text().await.unwrap();
    assert!(
        html.contains("<tr id=\"6003\""),
        "anchors like /errors#6003 work"
    );
    let json: serde_json::Value = s
        .client
        .get(s.url("/errors.json"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(json["catalog"], "errata");
    assert_eq!(
        json["errors"].as_array().unwrap().len(),
        errata_errors::CATALOG.errors.len()
    );
}

#[tokio::test]
async fn health_readiness_and_metrics() {
    let s = TestServer::default().await;
    let get = |path: &'static str| s.client.get(s.url(path)).send();
    let health = Reply::read(get("/healthz").await.unwrap()).await;
    assert_eq!(
        (health.status, health.body["status"].as_str()),
        (200, Some("ok"))
    );
    let ready = Reply::read(get("/readyz").await.unwrap()).await;
    assert_eq!(
        (ready.status, ready.body["status"].as_str()),
        (200, Some("ready"))
    );
    s.query("{ catalog { error(key: \"x\") { id } } }").await;
    let metrics = get("/metrics").await.unwrap().text().await.unwrap();
    assert!(
        metrics.contains("errata_errors_total{code=\"11003\",class=\"NotFound\"}"),
        "{metrics}"
    );
    assert!(
        metrics.contains("errata_request_duration_seconds_bucket{operation=\"query\""),
        "{metrics}"
    );
}

//! The GraphQL endpoint over real HTTP: every kind of error is catalogued,
//! has the same extensions, and gets the status GraphQL-over-HTTP asks for.

use errata_test_support::TestServer;
use serde_json::json;

const GQL: &str = "application/graphql-response+json";
const JSON: &str = "application/json";

#[tokio::test]
async fn a_query_returns_data_and_the_request_id_twice() {
    let s = TestServer::default().await;
    let r = s.query("{ catalog { errors(first: 2) { nodes { id code } totalCount } } system { info { version } } }").await;
    assert_eq!(r.status, 200);
    assert_eq!(
        r.body["data"]["catalog"]["errors"]["nodes"][0]["id"],
        "auth.generic_error"
    );
    assert_eq!(
        r.body["data"]["system"]["info"]["version"],
        env!("CARGO_PKG_VERSION")
    );
    assert!(r.body.get("errors").is_none());
    let id = r.header("x-request-id").unwrap();
    assert_eq!(r.body["extensions"]["requestId"], id);
    assert!(r.header("content-type").unwrap().starts_with(GQL));
}

#[tokio::test]
async fn a_sane_incoming_request_id_is_kept_and_others_are_replaced() {
    let s = TestServer::default().await;
    let send = |id: &'static str| {
        s.client
            .post(s.url("/graphql"))
            .header("content-type", JSON)
            .header("x-request-id", id)
            .body(r#"{"query":"{ catalog { name } }"}"#)
            .send()
    };
    let kept = errata_test_support::Reply::read(send("trace-42.a").await.unwrap()).await;
    assert_eq!(kept.header("x-request-id"), Some("trace-42.a"));
    assert_eq!(kept.body["extensions"]["requestId"], "trace-42.a");
    let replaced =
        errata_test_support::Reply::read(send("<script>alert(1)</script>").await.unwrap()).await;
    let id = replaced.header("x-request-id").unwrap();
    assert_ne!(id, "<script>alert(1)</script>");
    assert_eq!(id.len(), 25);
}

#[tokio::test]
async fn parse_errors_have_no_data_and_a_location() {
    let s = TestServer::default().await;
    let r = s.query("{ catalog { name }").await;
    assert_eq!(r.status, 400);
    assert!(
        !r.has_data(),
        "request errors have no data entry: {}",
        r.body
    );
    assert_eq!(r.extensions()["code"], "GRAPHQL_PARSE_FAILED");
    assert_eq!(r.extensions()["errorCode"], 7001);
    assert!(
        r.body["errors"][0]["message"]
            .as_str()
            .unwrap()
            .starts_with("Syntax Error: ")
    );
    assert!(r.body["errors"][0]["locations"][0]["line"].is_number());
    let r = s.post(json!({"query": "{ catalog { name }"}), JSON).await;
    assert_eq!(
        r.status, 200,
        "application/json answers well-formed requests with 200"
    );
    assert!(!r.has_data());
}

#[tokio::test]
async fn validation_errors_have_no_data() {
    let s = TestServer::default().await;
    let r = s.query("{ catalog { nmae } }").await;
    assert_eq!(r.status, 400);
    assert!(!r.has_data());
    assert_eq!(r.extensions()["code"], "GRAPHQL_VALIDATION_FAILED");
    assert_eq!(
        r.body["errors"][0]["locations"][0],
        json!({"line": 1, "column": 13})
    );
    let ext = r.extensions();
    for key in ["code", "errorCode", "slug", "id", "requestId"] {
        assert!(
            ext.get(key).is_some(),
            "extensions.{key} is always there: {ext}"
        );
    }
}

#[tokio::test]
async fn operation_resolution_failures_are_catalogued() {
    let s = TestServer::default().await;
    let doc = "query A { catalog { name } } query B { catalog { version } }";
    let r = s.query(doc).await;
    assert_eq!(r.extensions()["code"], "OPERATION_RESOLUTION_FAILURE");
    assert_eq!(
        r.body["errors"][0]["message"],
        "Must provide operation name if query contains multiple operations."
    );
    let r = s
        .post(json!({"query": doc, "operationName": "C"}), GQL)
        .await;
    assert_eq!(r.status, 400);
    assert_eq!(
        r.body["errors"][0]["message"],
        "Unknown operation named \"C\"."
    );
    let r = s
        .post(json!({"query": doc, "operationName": "B"}), GQL)
        .await;
    assert_eq!(r.body["data"]["catalog"]["version"], "0.1.0");
}

#[tokio::test]
async fn operations_the_schema_cannot_run_are_refused_with_graphql_js_wording() {
    let s = TestServer::default().await;
    let r = s.query("mutation { __typename }").await;
    assert_eq!(r.status, 200);
    assert_eq!(r.body["data"]["__typename"], "Mutation");
    let r = s.query("subscription { __typename }").await;
    assert_eq!((r.status, r.slug()), (400, "GraphqlOperationNotSupported"));
    assert_eq!(r.extensions()["code"], "OPERATION_RESOLUTION_FAILURE");
    assert_eq!(
        r.body["errors"][0]["message"],
        "Schema is not configured to execute subscription operation."
    );
    assert!(!r.has_data());
}

#[tokio::test]
async fn variable_coercion_failures_are_bad_user_input() {
    let s = TestServer::default().await;
    let doc = "query($n: Int!) { catalog { errors(first: $n) { totalCount } } }";
    let r = s
        .post(json!({"query": doc, "variables": {"n": "many"}}), GQL)
        .await;
    assert_eq!(r.status, 400);
    assert!(!r.has_data());
    assert_eq!(r.extensions()["code"], "BAD_USER_INPUT", "{}", r.body);
    assert_eq!(
        r.body["errors"][0]["message"],
        "Variable \"$n\" got invalid value \"many\"; Int cannot represent non-integer value: \"many\""
    );
    assert_eq!(
        r.body["errors"][0]["locations"],
        json!([{"line": 1, "column": 7}])
    );
}

#[tokio::test]
async fn resolver_errors_keep_partial_data_with_a_path() {
    let s = TestServer::default().await;
    let r = s
        .query("{ catalog { name error(key: \"nope\") { id } } }")
        .await;
    assert_eq!(r.status, 200);
    assert_eq!(
        r.body["data"],
        json!({"catalog": {"name": "errata", "error": null}})
    );
    assert_eq!(r.body["errors"][0]["path"], json!(["catalog", "error"]));
    assert_eq!(r.extensions()["code"], "NOT_FOUND");
    assert_eq!(r.extensions()["slug"], "CatalogEntryNotFound");
    assert_eq!(
        r.body["errors"][0]["message"],
        "No catalog entry matches \"nope\"."
    );
}

#[tokio::test]
async fn a_non_null_field_error_bubbles_to_its_nullable_parent() {
    let s = TestServer::default().await;
    // catalog and errors are non-null, so the error nulls the whole data.
    let r = s
        .query("{ catalog { errors(first: 1000) { totalCount } } system { info { version } } }")
        .await;
    assert_eq!(r.status, 200);
    assert_eq!(r.body["data"], serde_json::Value::Null);
    assert_eq!(r.body["errors"][0]["path"], json!(["catalog", "errors"]));
    assert_eq!(r.extensions()["slug"], "ArgumentOutOfRange");
    assert_eq!(
        r.body["errors"][0]["message"],
        "Argument \"first\" must be between 1 and 100."
    );
}

#[tokio::test]
async fn messages_follow_accept_language_and_codes_do_not() {
    let s = TestServer::default().await;
    let send = |lang: &'static str| {
        s.client
            .post(s.url("/graphql"))
            .header("content-type", JSON)
            .header("accept-language", lang)
            .body(r#"{"query":"{ catalog { error(key: \"x\") { id } } }"}"#)
            .send()
    };
    let fr = errata_test_support::Reply::read(send("fr-FR,fr;q=0.9").await.unwrap()).await;
    let en = errata_test_support::Reply::read(send("en-US").await.unwrap()).await;
    assert_eq!(
        fr.body["errors"][0]["message"],
        "Aucune entrée du catalogue ne correspond à « x »."
    );
    assert_eq!(
        en.body["errors"][0]["message"],
        "No catalog entry matches \"x\"."
    );
    assert_eq!(fr.extensions()["code"], en.extensions()["code"]);
    assert_eq!(fr.extensions()["errorCode"], en.extensions()["errorCode"]);
}

#[tokio::test]
async fn get_runs_queries_and_refuses_mutations_with_405() {
    let s = TestServer::default().await;
    let r = errata_test_support::Reply::read(
        s.client
            .get(s.url("/graphql?query=%7Bcatalog%7Bname%7D%7D"))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(r.status, 200);
    assert_eq!(r.body["data"]["catalog"]["name"], "errata");
    let r = errata_test_support::Reply::read(
        s.client
            .get(s.url("/graphql?query=mutation%7B__typename%7D"))
            .header("accept", GQL)
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(r.status, 405);
    assert_eq!(r.header("allow"), Some("POST"));
    assert_eq!(r.slug(), "HttpMutationOverGet");
}

#[tokio::test]
async fn malformed_requests_get_catalogued_errors_and_statuses() {
    let s = TestServer::default().await;
    let raw = |ct: Option<&'static str>, body: &'static [u8]| {
        let mut request = s.client.post(s.url("/graphql")).body(body);
        if let Some(ct) = ct {
            request = request.header("content-type", ct);
        }
        request.send()
    };
    let cases: &[(Option<&str>, &[u8], u16, &str)] = &[
        (Some(JSON), b"{ \"not a JSON", 400, "HttpJsonInvalid"),
        (
            Some(JSON),
            b"{\"query\":\"\xff\xfe\"}",
            400,
            "HttpBodyNotUtf8",
        ),
        (Some(JSON), b"", 400, "HttpQueryMissing"),
        (Some(JSON), b"{\"query\": 1}", 400, "HttpParameterInvalid"),
        (
            Some("text/plain"),
            b"{ catalog { name } }",
            415,
            "HttpUnsupportedMediaType",
        ),
        (
            None,
            b"{\"query\":\"{ catalog { name } }\"}",
            415,
            "HttpUnsupportedMediaType",
        ),
    ];
    for (ct, body, status, slug) in cases {
        let r = errata_test_support::Reply::read(raw(*ct, body).await.unwrap()).await;
        assert_eq!(
            (r.status, r.slug()),
            (*status, *slug),
            "{ct:?} {:?}: {}",
            String::from_utf8_lossy(body),
            r.body
        );
        assert!(r.body["errors"].is_array(), "the body is still JSON");
        assert!(r.header("content-type").unwrap().starts_with(JSON));
    }
    let r = errata_test_support::Reply::read(s.client.put(s.url("/graphql")).send().await.unwrap())
        .await;
    assert_eq!((r.status, r.slug()), (405, "HttpMethodNotAllowed"));
    assert_eq!(r.header("allow"), Some("GET, POST"));
    let r = errata_test_support::Reply::read(
        s.client
            .post(s.url("/graphql"))
            .header("content-type", JSON)
            .header("accept", "text/csv")
            .body(r#"{"query":"{ catalog { name } }"}"#)
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!((r.status, r.slug()), (406, "HttpNotAcceptable"));
}

#[tokio::test]
async fn nothing_internal_leaks_into_errors() {
    let s = TestServer::default().await;
    let nasty = "{ catalog { error(key: \"'; DROP TABLE server_info; --\") { id } } }";
    let r = s.query(nasty).await;
    let text = r.body.to_string();
    for leak in ["sqlx", "sqlite", "/tmp", "panicked", "src/", "errata-data"] {
        assert!(!text.to_lowercase().contains(leak), "{leak} leaked: {text}");
    }
    assert_eq!(r.slug(), "CatalogEntryNotFound");
    let r = s.query("{ system { info { dataCreatedAt } } }").await;
    assert!(
        r.body["data"]["system"]["info"]["dataCreatedAt"].is_string(),
        "the table survived: {}",
        r.body
    );
}

#[tokio::test]
async fn unknown_paths_are_catalogued_404s() {
    let s = TestServer::default().await;
    let r =
        errata_test_support::Reply::read(s.client.get(s.url("/nope")).send().await.unwrap()).await;
    assert_eq!((r.status, r.slug()), (404, "HttpNotFound"));
}

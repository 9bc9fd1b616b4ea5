//! The pipeline around a schema whose resolvers fail in every way: a
//! catalogued error, an uncatalogued one, a panic. Nothing internal reaches
//! the client, and the request id is on every error.

use async_graphql::{EmptySubscription, Object, Result, Schema};
use errata_graphql::{GraphqlRequest, Media, Method, Pipeline, PipelineOptions, RequestInfo};
use serde_json::{Value, json};

struct Query;

#[Object]
impl Query {
    async fn ok(&self) -> &str {
        "fine"
    }
    async fn catalogued(&self) -> Result<Option<i32>> {
        Err(errata_errors::pages::not_found().into())
    }
    async fn uncatalogued(&self) -> Result<Option<i32>> {
        Err(async_graphql::Error::new(
            "SELECT * FROM secrets failed at /srv/db.rs:42",
        ))
    }
    async fn panics(&self, #[graphql(default = true)] really: bool) -> Option<i32> {
        if really {
            panic!("invariant broken: token table at /var/lib/errata is corrupt");
        }
        None
    }
}

struct Mutation;

#[Object]
impl Mutation {
    async fn touch(&self) -> bool {
        true
    }
}

fn pipeline() -> Pipeline<Query, Mutation, EmptySubscription> {
    Pipeline::new(
        Schema::new(Query, Mutation, EmptySubscription),
        PipelineOptions::default(),
    )
}

fn info(method: Method, media: Media) -> RequestInfo<'static> {
    RequestInfo {
        request_id: "req-1",
        locale: None,
        method,
        media,
        permission_key: None,
    }
}

fn document(query: &str) -> GraphqlRequest {
    GraphqlRequest {
        query: query.to_owned(),
        ..GraphqlRequest::default()
    }
}

async fn run(query: &str, media: Media) -> (u16, Value) {
    let outcome = pipeline()
        .execute(document(query), info(Method::Post, media), |r| r)
        .await;
    (
        outcome.status,
        serde_json::from_slice(&outcome.body).unwrap(),
    )
}

#[tokio::test]
async fn a_catalogued_field_error_keeps_partial_data() {
    let (status, body) = run("{ ok catalogued }", Media::GraphqlResponseJson).await;
    assert_eq!(status, 200);
    assert_eq!(body["data"], json!({"ok": "fine", "catalogued": null}));
    assert_eq!(body["errors"][0]["extensions"]["slug"], "PageNotFound");
    assert_eq!(body["errors"][0]["path"], json!(["catalogued"]));
    assert_eq!(body["errors"][0]["extensions"]["requestId"], "req-1");
}

#[tokio::test]
async fn an_uncatalogued_error_is_internal_and_says_nothing_of_its_cause() {
    let (status, body) = run("{ ok uncatalogued }", Media::GraphqlResponseJson).await;
    assert_eq!(status, 200);
    assert_eq!(body["data"]["ok"], "fine");
    let error = &body["errors"][0];
    assert_eq!(error["extensions"]["code"], "INTERNAL_SERVER_ERROR");
    assert_eq!(
        error["message"],
        errata_errors::system::internal().message().as_ref()
    );
    assert!(!body.to_string().contains("SELECT"), "{body}");
    assert!(!body.to_string().contains("/srv"), "{body}");
}

/// Log output, captured.
#[derive(Clone, Default)]
struct Captured(std::sync::Arc<std::sync::Mutex<Vec<u8>>>);

impl std::io::Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[tokio::test]
async fn a_panicking_resolver_is_an_internal_error_with_the_request_id() {
    let captured = Captured::default();
    let writer = captured.clone();
    let subscriber = tracing_subscriber::fmt()
        .json()
        .with_writer(move || writer.clone())
        .finish();
    let (status, body) = {
        let _guard = tracing::subscriber::set_default(subscriber);
        run("{ ok panics }", Media::Json).await
    };
    // The cause is in the log, under the request id, and nowhere else.
    let log = String::from_utf8(captured.0.lock().unwrap().clone()).unwrap();
    let line = log
        .lines()
        .find(|l| l.contains("resolver panicked"))
        .expect("the panic is logged");
    assert!(line.contains("invariant broken"), "{line}");
    assert!(line.contains("\"request_id\":\"req-1\""), "{line}");
    assert_eq!(status, 500);
    let error = &body["errors"][0];
    assert_eq!(error["extensions"]["code"], "INTERNAL_SERVER_ERROR");
    assert_eq!(error["extensions"]["requestId"], "req-1");
    assert_eq!(body["extensions"]["requestId"], "req-1");
    let text = body.to_string();
    assert!(
        !text.contains("invariant") && !text.contains("/var/lib"),
        "{text}"
    );
}

#[tokio::test]
async fn repeated_documents_are_served_from_the_cache_with_the_same_answer() {
    let p = pipeline();
    let info = info(Method::Post, Media::GraphqlResponseJson);
    for query in ["{ ok }", "{ nope }", "{ ok"] {
        let mut answers = Vec::new();
        for _ in 0..2 {
            let outcome = p.execute(document(query), info, |r| r).await;
            answers.push((outcome.status, outcome.body));
        }
        assert_eq!(answers[0], answers[1], "{query}");
    }
}

#[tokio::test]
async fn a_repeated_refusal_carries_each_requests_own_id() {
    let p = pipeline();
    for (i, query) in ["{ nope }", "{ ok", "{ nope }", "{ ok"].iter().enumerate() {
        let id = format!("req-{i}");
        let info = RequestInfo {
            request_id: &id,
            ..info(Method::Post, Media::GraphqlResponseJson)
        };
        let outcome = p.execute(document(query), info, |r| r).await;
        let body: Value = serde_json::from_slice(&outcome.body).unwrap();
        assert_eq!(outcome.status, 400, "{query}");
        assert_eq!(body["extensions"]["requestId"], id.as_str());
        assert_eq!(body["errors"][0]["extensions"]["requestId"], id.as_str());
        assert_eq!(outcome.errors.len(), 1);
    }
}

#[tokio::test]
async fn a_mutation_over_get_is_405_before_anything_runs() {
    let outcome = pipeline()
        .execute(
            document("mutation { touch }"),
            info(Method::Get, Media::Json),
            |r| r,
        )
        .await;
    assert_eq!(outcome.status, 405);
    assert_eq!(outcome.allow, Some("POST"));
}

#[tokio::test]
async fn automatic_persisted_queries_register_once_and_run_by_hash() {
    let p = pipeline();
    let info = info(Method::Post, Media::GraphqlResponseJson);
    // Some other document's hash, and the real one from coreutils, not from errata.
    let wrong = "2c6eba7a4e4436ec0a4c7a59a3e5ee1d0c9ab2b6d3fb9bd1c7c3a59b8c3f1d8e";
    let real = {
        use std::process::Command;
        let out = Command::new("sh")
            .arg("-c")
            .arg("printf '{ ok }' | sha256sum")
            .output()
            .unwrap();
        String::from_utf8(out.stdout)
            .unwrap()
            .split_whitespace()
            .next()
            .unwrap()
            .to_owned()
    };
    let ext = |h: &str| {
        let mut m = serde_json::Map::new();
        m.insert(
            "persistedQuery".into(),
            json!({"version": 1, "sha256Hash": h}),
        );
        m
    };
    let send = |query: &str, extensions| GraphqlRequest {
        query: query.into(),
        extensions,
        ..GraphqlRequest::default()
    };
    let body = |o: errata_graphql::Outcome| -> (u16, Value) {
        (o.status, serde_json::from_slice(&o.body).unwrap())
    };

    let (status, b) = body(p.execute(send("", ext(&real)), info, |r| r).await);
    assert_eq!(
        (status, b["errors"][0]["extensions"]["code"].as_str()),
        (400, Some("PERSISTED_QUERY_NOT_FOUND"))
    );
    let (_, b) = body(p.execute(send("{ ok }", ext(wrong)), info, |r| r).await);
    assert_eq!(
        b["errors"][0]["extensions"]["slug"], "GraphqlPersistedQueryMismatch",
        "a wrong hash is refused"
    );
    let (_, b) = body(p.execute(send("{ ok }", ext(&real)), info, |r| r).await);
    assert_eq!(b["data"]["ok"], "fine");
    let (_, b) = body(
        p.execute(send("", ext(&real.to_uppercase())), info, |r| r)
            .await,
    );
    assert_eq!(
        b["data"]["ok"], "fine",
        "the hash alone now runs the document"
    );
    let mut v2 = serde_json::Map::new();
    v2.insert(
        "persistedQuery".into(),
        json!({"version": 2, "sha256Hash": real}),
    );
    let (_, b) = body(p.execute(send("", v2), info, |r| r).await);
    assert_eq!(
        b["errors"][0]["extensions"]["slug"],
        "GraphqlPersistedQueryUnsupported"
    );
}

#[tokio::test]
async fn a_mutation_on_a_schema_without_mutations_is_refused_with_graphql_js_wording() {
    let pipeline = Pipeline::new(
        Schema::new(Query, async_graphql::EmptyMutation, EmptySubscription),
        PipelineOptions::default(),
    );
    let outcome = pipeline
        .execute(
            document("mutation { __typename }"),
            info(Method::Post, Media::GraphqlResponseJson),
            |r| r,
        )
        .await;
    let body: Value = serde_json::from_slice(&outcome.body).unwrap();
    assert_eq!(outcome.status, 400);
    assert_eq!(
        body["errors"][0]["message"],
        "Schema is not configured to execute mutation operation."
    );
    assert_eq!(
        body["errors"][0]["extensions"]["slug"],
        "GraphqlOperationNotSupported"
    );
    assert!(body.get("data").is_none());
}

/// How long an answer stays true, as the server's directive of the same name.
#[async_graphql::TypeDirective(name = "cacheControl", location = "FieldDefinition")]
fn cache_control(max_age: i32) {}

/// Marks a field whose answer is the caller's own.
#[async_graphql::TypeDirective(name = "mine", location = "FieldDefinition")]
fn mine() {}

/// Marks a field whose answer depends on what the caller may do.
#[async_graphql::TypeDirective(name = "allowed", location = "FieldDefinition")]
fn allowed() {}

/// Counts its runs, so that a test tells a kept answer from a new one.
#[derive(Default)]
struct Hinted {
    runs: std::sync::atomic::AtomicI32,
}

impl Hinted {
    fn run(&self) -> i32 {
        1 + self.runs.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
    }
}

#[Object]
impl Hinted {
    #[graphql(directive = cache_control::apply(60))]
    async fn shared(&self) -> i32 {
        self.run()
    }
    #[graphql(directive = cache_control::apply(60), directive = mine::apply())]
    async fn own(&self) -> i32 {
        self.run()
    }
    #[graphql(directive = cache_control::apply(60), directive = allowed::apply())]
    async fn gated(&self) -> i32 {
        self.run()
    }
}

fn hinted(
    permission_directives: &'static [&'static str],
    personal_directives: &'static [&'static str],
) -> Pipeline<Hinted, async_graphql::EmptyMutation, EmptySubscription> {
    Pipeline::new(
        Schema::new(
            Hinted::default(),
            async_graphql::EmptyMutation,
            EmptySubscription,
        ),
        PipelineOptions {
            permission_directives,
            personal_directives,
            ..PipelineOptions::default()
        },
    )
}

async fn cache_control_of(
    permission_directives: &'static [&'static str],
    personal_directives: &'static [&'static str],
    query: &str,
) -> Option<String> {
    hinted(permission_directives, personal_directives)
        .execute(
            document(query),
            info(Method::Post, Media::GraphqlResponseJson),
            |r| r,
        )
        .await
        .cache_control
}

#[tokio::test]
async fn a_field_with_a_caller_directive_makes_the_answer_private() {
    assert_eq!(
        cache_control_of(&["allowed"], &["mine"], "{ shared }")
            .await
            .as_deref(),
        Some("public, max-age=60")
    );
    assert_eq!(
        cache_control_of(&["allowed"], &["mine"], "{ shared own }")
            .await
            .as_deref(),
        Some("private, max-age=60")
    );
    assert_eq!(
        cache_control_of(&["allowed"], &["mine"], "{ shared gated }")
            .await
            .as_deref(),
        Some("private, max-age=60"),
        "shared HTTP caches cannot tell permission sets apart"
    );
    assert_eq!(
        cache_control_of(&[], &[], "{ shared own gated }")
            .await
            .as_deref(),
        Some("public, max-age=60"),
        "the pipeline knows no directive it was not told about"
    );
}

/// `{ field }`'s answer for a caller with `permission_key`, and whether it
/// came from the response cache.
async fn answer(
    pipeline: &Pipeline<Hinted, async_graphql::EmptyMutation, EmptySubscription>,
    query: &str,
    permission_key: Option<u64>,
) -> (Value, Option<bool>) {
    let info = RequestInfo {
        permission_key,
        ..info(Method::Post, Media::GraphqlResponseJson)
    };
    let outcome = pipeline.execute(document(query), info, |r| r).await;
    let body: Value = serde_json::from_slice(&outcome.body).unwrap();
    (body["data"].clone(), outcome.cached)
}

#[tokio::test]
async fn answers_that_depend_on_permissions_are_kept_per_permission_key() {
    let p = hinted(&["allowed"], &["mine"]);
    let first = answer(&p, "{ gated }", Some(1)).await;
    assert_eq!(first, (json!({"gated": 1}), Some(false)));
    assert_eq!(
        answer(&p, "{ gated }", Some(1)).await,
        (json!({"gated": 1}), Some(true)),
        "the same permission set shares one entry"
    );
    assert_eq!(
        answer(&p, "{ gated }", Some(2)).await,
        (json!({"gated": 2}), Some(false)),
        "another permission set gets its own"
    );
    assert_eq!(
        answer(&p, "{ gated }", None).await,
        (json!({"gated": 3}), None),
        "without a key, nothing is kept or found"
    );
    assert_eq!(
        answer(&p, "{ own }", Some(1)).await.1,
        None,
        "a personal field's answer is never kept"
    );
    assert_eq!(answer(&p, "{ own }", Some(1)).await.0, json!({"own": 5}));
    let public = answer(&p, "{ shared }", Some(1)).await;
    assert_eq!(
        answer(&p, "{ shared }", Some(2)).await,
        (public.0, Some(true)),
        "a public answer is everyone's"
    );
}

#[tokio::test]
async fn a_post_bodys_per_permission_answer_is_replayed_only_to_its_permission_set() {
    let p = hinted(&["allowed"], &["mine"]);
    let body = br#"{"query":"{ gated }"}"#;
    let run = |permission_key| {
        let info = RequestInfo {
            permission_key,
            ..info(Method::Post, Media::GraphqlResponseJson)
        };
        let key = p.body_key(body, info).unwrap();
        let replayed = p.replay(&key, info).map(|o| o.body);
        (key, info, replayed)
    };
    let (key, info_1, replayed) = run(Some(1));
    assert!(replayed.is_none());
    p.execute_post(document("{ gated }"), Some(&key), info_1, |r| r)
        .await;
    assert!(run(Some(1)).2.is_some(), "found before decoding");
    assert!(run(Some(2)).2.is_none(), "not another permission set's");
    assert!(run(None).2.is_none(), "not a caller without a key");
}

/// A shared store in memory, as the server's Redis would be to two instances.
#[derive(Default)]
struct Store {
    documents: std::sync::Mutex<std::collections::HashMap<String, String>>,
    /// Answers this to every lookup instead, as a peer gone wrong would.
    lie: Option<String>,
    lookups: std::sync::atomic::AtomicUsize,
}

impl errata_graphql::SharedDocuments for Store {
    fn get<'a>(&'a self, hash: &'a str) -> futures_util::future::BoxFuture<'a, Option<String>> {
        self.lookups
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let found = match &self.lie {
            Some(lie) => Some(lie.clone()),
            None => self.documents.lock().unwrap().get(hash).cloned(),
        };
        Box::pin(async move { found })
    }

    fn put<'a>(
        &'a self,
        hash: &'a str,
        document: &'a str,
    ) -> futures_util::future::BoxFuture<'a, ()> {
        self.documents
            .lock()
            .unwrap()
            .insert(hash.to_owned(), document.to_owned());
        Box::pin(async {})
    }
}

fn persisted(query: &str, hash: &str) -> GraphqlRequest {
    let mut extensions = serde_json::Map::new();
    extensions.insert(
        "persistedQuery".into(),
        json!({"version": 1, "sha256Hash": hash}),
    );
    GraphqlRequest {
        query: query.into(),
        extensions,
        ..GraphqlRequest::default()
    }
}

fn sha256_hex(text: &str) -> String {
    use sha2::Digest;
    sha2::Sha256::digest(text.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

#[tokio::test]
async fn a_persisted_query_registered_on_one_pipeline_runs_by_hash_on_another() {
    let store: std::sync::Arc<Store> = std::sync::Arc::default();
    let shared = || Some(store.clone() as std::sync::Arc<dyn errata_graphql::SharedDocuments>);
    let a = pipeline().sharing_documents(shared());
    let b = pipeline().sharing_documents(shared());
    let info = info(Method::Post, Media::GraphqlResponseJson);
    let hash = sha256_hex("{ ok }");
    let outcome = a.execute(persisted("{ ok }", &hash), info, |r| r).await;
    assert_eq!(outcome.status, 200);
    let outcome = b.execute(persisted("", &hash), info, |r| r).await;
    let body: Value = serde_json::from_slice(&outcome.body).unwrap();
    assert_eq!(body["data"]["ok"], "fine", "{body}");
    assert_eq!(
        b.operation_fields(&persisted("", &hash)).await,
        vec![("ok".to_owned(), 1)],
        "per-operation limits see the document another instance registered"
    );

    let lookups = store.lookups.load(std::sync::atomic::Ordering::Relaxed);
    let outcome = b
        .execute(persisted("", &"z".repeat(100_000)), info, |r| r)
        .await;
    assert_eq!(outcome.status, 400);
    assert_eq!(
        store.lookups.load(std::sync::atomic::Ordering::Relaxed),
        lookups,
        "what is no SHA-256 is not looked up"
    );

    let alone = pipeline();
    let outcome = alone.execute(persisted("", &hash), info, |r| r).await;
    let body: Value = serde_json::from_slice(&outcome.body).unwrap();
    assert_eq!(
        body["errors"][0]["extensions"]["code"],
        "PERSISTED_QUERY_NOT_FOUND"
    );
}

#[tokio::test]
async fn a_store_cannot_put_another_document_under_a_hash() {
    let liar = std::sync::Arc::new(Store {
        lie: Some("{ catalogued }".to_owned()),
        ..Store::default()
    });
    let p = pipeline().sharing_documents(Some(liar));
    let outcome = p
        .execute(
            persisted("", &sha256_hex("{ ok }")),
            info(Method::Post, Media::GraphqlResponseJson),
            |r| r,
        )
        .await;
    let body: Value = serde_json::from_slice(&outcome.body).unwrap();
    assert_eq!(
        (outcome.status, &body["errors"][0]["extensions"]["code"]),
        (400, &json!("PERSISTED_QUERY_NOT_FOUND")),
        "{body}"
    );
    assert!(body.get("data").is_none());
}

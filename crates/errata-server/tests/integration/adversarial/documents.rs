//! Holes in how documents are measured and charged: fragments that
//! multiply what the limits count once, and a search argument whose cost
//! grew with its length times the catalog's size.

use std::collections::BTreeMap;

use errata_server::{Config, RateLimit};
use serde_json::json;

use errata_test_support::{Reply, TestServer, config};

/// Seven aliases of `authentication`, each spreading eight aliased logins:
/// 56 logins in one request, from 7 aliases written outside a fragment.
fn fifty_six_logins() -> String {
    let logins: String = (1..=8)
        .map(|i| {
            format!("l{i}: login(username: \"a@example.com\", password: \"wrong\") {{ jwt }} ")
        })
        .collect();
    let parents: String = (1..=7)
        .map(|i| format!("a{i}: authentication {{ ...F }} "))
        .collect();
    format!("mutation {{ {parents} }} fragment F on AuthenticationMutation {{ {logins} }}")
}

#[tokio::test]
async fn fragments_multiply_aliases_past_the_limit() {
    let s = TestServer::default().await;
    let plain: String = (0..16)
        .map(|i| format!("a{i}: catalog {{ name }} "))
        .collect();
    let refused = s.query(&format!("{{ {plain} }}")).await;
    assert_eq!((refused.status, refused.slug()), (400, "GraphqlAliasLimit"));

    let r = s.query(&fifty_six_logins()).await;
    assert_eq!(
        (r.status, r.slug()),
        (400, "GraphqlAliasLimit"),
        "{}",
        r.body
    );
    assert!(!r.has_data(), "no login ran");
    for key in ["code", "errorCode", "slug", "limit"] {
        assert_eq!(r.extensions()[key], refused.extensions()[key], "{key}");
    }
    assert_eq!(
        r.body["errors"][0]["message"], "Aliases limit of 15 exceeded, found 63.",
        "seven parents and their fifty-six logins"
    );

    // A fragment spread from several places counts at each of them.
    let twice = "{ a: catalog { ...E } b: catalog { ...E } } \
                 fragment E on CatalogQuery { e1: name e2: name e3: name e4: name e5: name e6: name e7: name }";
    let r = s.query(twice).await;
    assert_eq!((r.status, r.slug()), (400, "GraphqlAliasLimit"));
    let once = "{ a: catalog { ...E } } \
                fragment E on CatalogQuery { e1: name e2: name e3: name e4: name e5: name e6: name e7: name }";
    assert_eq!(s.query(once).await.status, 200);
}

fn limited(path: &str, rate: &str) -> Config {
    let mut limits = BTreeMap::new();
    limits.insert(path.to_owned(), RateLimit::parse(rate).expect("a rate"));
    let mut config = config();
    config.operation_limits = limits;
    config
}

#[tokio::test]
async fn fragments_multiply_an_operation_past_its_limit() {
    // Wiki.js's login limit, with the alias limit out of the way, so that
    // only the operation limit stands between the document and its logins.
    let mut config = limited("authentication.login", "5/60s");
    config.limits.max_aliases = 100;
    let s = TestServer::start(config).await;
    let r = s.query(&fifty_six_logins()).await;
    assert_eq!((r.status, r.slug()), (429, "HttpRateLimited"), "{}", r.body);
    assert_eq!(r.extensions()["code"], "TOO_MANY_REQUESTS");
    assert!(!r.has_data(), "no login ran");
    assert!(
        r.header("ratelimit-policy")
            .is_some_and(|p| p.starts_with("\"authentication.login\";")),
        "{:?}",
        r.header("ratelimit-policy")
    );

    // Five lookups at once are allowed; each occurrence is charged, so six,
    // however they are written, are more than the burst ever allows.
    let s = TestServer::start(limited("catalog.error", "5/s")).await;
    let three = "{ catalog { ...L } } \
                 fragment L on CatalogQuery { x: error(key: \"6003\") { id } y: error(key: \"1001\") { id } z: error(key: \"7002\") { id } }";
    assert_eq!(s.query(three).await.status, 200);
    let six = "{ a: catalog { ...L } b: catalog { ...L } } \
               fragment L on CatalogQuery { x: error(key: \"6003\") { id } y: error(key: \"1001\") { id } z: error(key: \"7002\") { id } }";
    let r = s.query(six).await;
    assert_eq!(
        (r.status, r.slug()),
        (429, "HttpRateLimited"),
        "occurrences under aliased parents multiply: {}",
        r.body
    );
    let nested = "{ catalog { ...Outer } } \
                  fragment Outer on CatalogQuery { ...L ...L } \
                  fragment L on CatalogQuery { x: error(key: \"6003\") { id } y: error(key: \"1001\") { id } z: error(key: \"7002\") { id } }";
    let r = s.query(nested).await;
    assert_eq!(
        (r.status, r.slug()),
        (429, "HttpRateLimited"),
        "nested fragments multiply: {}",
        r.body
    );
    assert_eq!(
        s.query("{ catalog { name } }").await.status,
        200,
        "other operations are not limited"
    );
}

async fn search(s: &TestServer, words: &str) -> Reply {
    s.gql(
        "query Find($q: String!) { catalog { errors(filter: { search: $q }) { totalCount nodes { id } } } }",
        json!({ "q": words }),
        None,
    )
    .await
}

#[tokio::test]
async fn a_long_search_costs_its_length_for_every_catalog_entry() {
    let s = TestServer::default().await;
    let def = errata_errors::system::SEARCH_TOO_LONG;
    let long = "x".repeat(900_000);
    let many = vec!["a"; 17].join(" ");
    for words in [long.as_str(), many.as_str()] {
        let r = search(&s, words).await;
        assert_eq!(
            r.extensions()["code"],
            def.class.graphql_code(),
            "{}",
            r.body
        );
        assert_eq!(r.extensions()["errorCode"], def.code);
        assert_eq!(r.slug(), &*def.slug);
        assert_eq!(
            r.body["errors"][0]["message"],
            "The search must have at most 256 characters and 16 words."
        );
        assert_eq!(r.body["errors"][0]["path"], json!(["catalog", "errors"]));
    }

    let r = search(&s, "  PAGE   does not EXIST ").await;
    assert!(r.body.get("errors").is_none(), "{}", r.body);
    let ids = &r.body["data"]["catalog"]["errors"]["nodes"];
    assert!(
        ids.as_array()
            .is_some_and(|ids| ids.iter().any(|id| id["id"] == "pages.not_found")),
        "{}",
        r.body
    );
    let sixteen = vec!["page"; 16].join(" ");
    let r = search(&s, &sixteen).await;
    assert!(r.body.get("errors").is_none(), "{}", r.body);
    assert!(r.body["data"]["catalog"]["errors"]["totalCount"].as_u64() > Some(0));
}

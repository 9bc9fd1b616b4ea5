//! Groups' page rules over HTTP, in Wiki.js's shape: match types, locales,
//! ids, and `roles` for `permissions`.

use errata_test_support::{ADMIN_EMAIL, ADMIN_PASSWORD, Reply, TestServer, result_of};
use serde_json::{Value, json};

const UPDATE: &str = "mutation($g: Int!, $r: [PageRuleInput!]) { groups { update(id: $g, pageRules: $r) { responseResult { succeeded errorCode slug message } } } }";

const READ: &str = "query($g: Int!) { groups { single(id: $g) { pageRules { id deny match roles permissions path locales } } } }";

/// A server, an administrator's session and a new group's id.
async fn group() -> (TestServer, String, i64) {
    let s = TestServer::identity(&[]).await;
    let admin = s.session(ADMIN_EMAIL, ADMIN_PASSWORD).await;
    let r = s
        .gql(
            "mutation { groups { create(name: \"Editors\") { group { id } } } }",
            json!({}),
            Some(&admin),
        )
        .await;
    let id = r.body["data"]["groups"]["create"]["group"]["id"]
        .as_i64()
        .unwrap_or_else(|| panic!("{}", r.body));
    (s, admin, id)
}

async fn update(s: &TestServer, admin: &str, group: i64, rules: Value) -> Reply {
    s.gql(UPDATE, json!({"g": group, "r": rules}), Some(admin))
        .await
}

fn refused_as_9017(r: &Reply) -> String {
    let result = result_of(r, "groups.update");
    assert_eq!(
        (
            result["succeeded"].as_bool(),
            result["slug"].as_str(),
            result["errorCode"].as_i64()
        ),
        (Some(false), Some("PageRuleInvalid"), Some(9017)),
        "{}",
        r.body
    );
    result["message"].as_str().unwrap_or_default().to_owned()
}

#[tokio::test]
async fn groups_refuse_a_regex_rule_that_does_not_compile_with_9017() {
    let (s, admin, id) = group().await;
    let good = json!({"roles": ["read:pages"], "match": "START", "path": "/"});
    let bad = json!({"roles": ["read:pages"], "match": "REGEX", "path": "^docs/(private"});
    let message = refused_as_9017(&update(&s, &admin, id, json!([good, bad])).await);
    assert!(message.starts_with("Page rule 1 is invalid"), "{message}");
    assert!(message.contains("unclosed group"), "{message}");
    let huge = json!({"roles": ["read:pages"], "match": "REGEX", "path": "\\w{50}"});
    let message = refused_as_9017(&update(&s, &admin, id, json!([huge])).await);
    assert!(message.contains("compiles to more than"), "{message}");
    let r = s.gql(READ, json!({"g": id}), Some(&admin)).await;
    assert_eq!(
        r.body["data"]["groups"]["single"]["pageRules"],
        json!([]),
        "nothing of a refused update is stored"
    );
}

#[tokio::test]
async fn groups_store_wiki_js_page_rules_and_read_them_back() {
    let (s, admin, id) = group().await;
    // As Wiki.js's admin sends them: `roles`, an id, every field.
    let rules = json!([
        {"id": "V1StGXR8_Z5jdHi6B-myT", "deny": false, "match": "START", "roles": ["read:pages", "write:pages"], "path": "/", "locales": []},
        {"id": "b", "deny": true, "match": "REGEX", "roles": ["write:pages"], "path": "^docs/private/.*$", "locales": ["EN", "pt-BR"]},
        {"id": "c", "deny": true, "match": "TAG", "roles": ["read:pages"], "path": "Secret", "locales": []},
        {"id": "d", "deny": false, "match": "EXACT", "roles": ["read:pages"], "path": "/docs/intro", "locales": ["fr"]},
        {"id": "e", "deny": true, "match": "END", "roles": ["write:pages"], "path": "/draft", "locales": []},
    ]);
    let r = update(&s, &admin, id, rules).await;
    assert_eq!(
        result_of(&r, "groups.update")["succeeded"],
        true,
        "{}",
        r.body
    );
    let r = s.gql(READ, json!({"g": id}), Some(&admin)).await;
    assert_eq!(
        r.body["data"]["groups"]["single"]["pageRules"],
        json!([
            {"id": "V1StGXR8_Z5jdHi6B-myT", "deny": false, "match": "START", "roles": ["read:pages", "write:pages"], "permissions": ["read:pages", "write:pages"], "path": "/", "locales": []},
            {"id": "b", "deny": true, "match": "REGEX", "roles": ["write:pages"], "permissions": ["write:pages"], "path": "^docs/private/.*$", "locales": ["en", "pt-br"]},
            {"id": "c", "deny": true, "match": "TAG", "roles": ["read:pages"], "permissions": ["read:pages"], "path": "Secret", "locales": []},
            {"id": "d", "deny": false, "match": "EXACT", "roles": ["read:pages"], "permissions": ["read:pages"], "path": "/docs/intro", "locales": ["fr"]},
            {"id": "e", "deny": true, "match": "END", "roles": ["write:pages"], "permissions": ["write:pages"], "path": "/draft", "locales": []},
        ]),
        "{}",
        r.body
    );
    // errata's own shape still works: `permissions`, the rest defaulted.
    let r = update(
        &s,
        &admin,
        id,
        json!([{"permissions": ["write:pages"], "path": "/docs"}]),
    )
    .await;
    assert_eq!(result_of(&r, "groups.update")["succeeded"], true);
    let r = s.gql(READ, json!({"g": id}), Some(&admin)).await;
    assert_eq!(
        r.body["data"]["groups"]["single"]["pageRules"],
        json!([{"id": "", "deny": false, "match": "START", "roles": ["write:pages"], "permissions": ["write:pages"], "path": "/docs", "locales": []}])
    );
}

#[tokio::test]
async fn groups_keep_reading_rules_stored_before_match_types() {
    let (s, admin, id) = group().await;
    sqlx::query("UPDATE groups SET page_rules = $1 WHERE id = $2")
        .bind(r#"[{"permissions":["write:pages"],"path":"/docs","deny":true}]"#)
        .bind(id)
        .execute(&s.database().await)
        .await
        .unwrap();
    let r = s.gql(READ, json!({"g": id}), Some(&admin)).await;
    assert_eq!(
        r.body["data"]["groups"]["single"]["pageRules"],
        json!([{"id": "", "deny": true, "match": "START", "roles": ["write:pages"], "permissions": ["write:pages"], "path": "/docs", "locales": []}])
    );
}

#[tokio::test]
async fn groups_refuse_a_rule_naming_both_roles_and_permissions_or_neither() {
    let (s, admin, id) = group().await;
    for rule in [
        json!({"roles": ["read:pages"], "permissions": ["read:pages"], "path": "/"}),
        json!({"path": "/"}),
    ] {
        let message = refused_as_9017(&update(&s, &admin, id, json!([rule])).await);
        assert!(
            message.contains("exactly one of `roles` and `permissions`"),
            "{message}"
        );
    }
    let r = update(
        &s,
        &admin,
        id,
        json!([{"roles": ["read:pages"], "path": "/", "locales": ["english"]}]),
    )
    .await;
    assert!(refused_as_9017(&r).contains("locale 0"));
}

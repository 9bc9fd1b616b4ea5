//! Page reads in the response cache, over HTTP: kept per permission set,
//! so that callers in the same groups share an entry and nobody is given
//! an answer their own permissions would not give; cleared by page writes;
//! never offered to shared HTTP caches. Runs on the backend
//! `ERRATA_TEST_BACKEND` names.
//!
//! Metrics are process-wide, so this module is one test that runs its
//! parts in turn, in a process of its own: the hit and miss counts it
//! reads are its own.

use errata_test_support::{ADMIN_EMAIL, ADMIN_PASSWORD, Reply, TestServer};
use rusty_fork::rusty_fork_test;
use serde_json::{Value, json};

const EDITOR: &str = "ed@example.com";
const OTHER_EDITOR: &str = "ed2@example.com";
const READER: &str = "rea@example.com";
const PASSWORD: &str = "a long enough password";

const BY_PATH: &str =
    "query($p: String!) { pages { singleByPath(path: $p, locale: \"en\") { id title render } } }";
const UPDATE: &str = "mutation($id: Int!, $content: String!) { pages { update(id: $id, content: $content) { responseResult { succeeded message } } } }";
const RULES: &str = "mutation($id: Int!, $p: [String!], $r: [PageRuleInput!]) { groups { update(id: $id, permissions: $p, pageRules: $r) { responseResult { succeeded message } } } }";
const EDITOR_PERMISSIONS: &[&str] = &["read:pages", "write:pages", "read:source"];

/// An administrator, two editors in the Editors group (and Users), a
/// reader in Users only, and the guest; a published page and a draft.
struct Wiki {
    s: TestServer,
    admin: String,
    editor: String,
    other_editor: String,
    reader: String,
    group: i64,
    page: i64,
}

async fn gql(s: &TestServer, query: &str, variables: Value, token: Option<&str>) -> Reply {
    let reply = s.gql(query, variables, token).await;
    assert!(reply.status < 500, "{}", reply.body);
    reply
}

async fn wiki() -> Wiki {
    let s = TestServer::identity(&[
        (EDITOR, PASSWORD, false),
        (OTHER_EDITOR, PASSWORD, false),
        (READER, PASSWORD, false),
    ])
    .await;
    let admin = s.session(ADMIN_EMAIL, ADMIN_PASSWORD).await;
    let created = gql(
        &s,
        "mutation { groups { create(name: \"Editors\") { group { id } } } }",
        json!({}),
        Some(&admin),
    )
    .await;
    let group = created.body["data"]["groups"]["create"]["group"]["id"]
        .as_i64()
        .expect("the group is created");
    let rules = gql(
        &s,
        RULES,
        json!({"id": group, "p": EDITOR_PERMISSIONS, "r": []}),
        Some(&admin),
    )
    .await;
    assert_eq!(
        rules.body["data"]["groups"]["update"]["responseResult"]["succeeded"], true,
        "{}",
        rules.body
    );
    let users = gql(
        &s,
        "{ users { list { id email } } }",
        json!({}),
        Some(&admin),
    )
    .await;
    for email in [EDITOR, OTHER_EDITOR] {
        let id = users.body["data"]["users"]["list"]
            .as_array()
            .unwrap()
            .iter()
            .find(|u| u["email"] == email)
            .unwrap()["id"]
            .as_i64()
            .unwrap();
        let assigned = gql(
            &s,
            "mutation($g: Int!, $u: Int!) { groups { assignUser(groupId: $g, userId: $u) { responseResult { succeeded message } } } }",
            json!({"g": group, "u": id}),
            Some(&admin),
        )
        .await;
        assert_eq!(
            assigned.body["data"]["groups"]["assignUser"]["responseResult"]["succeeded"], true,
            "{}",
            assigned.body
        );
    }
    let editor = s.session(EDITOR, PASSWORD).await;
    let other_editor = s.session(OTHER_EDITOR, PASSWORD).await;
    let reader = s.session(READER, PASSWORD).await;
    let mut w = Wiki {
        s,
        admin,
        editor,
        other_editor,
        reader,
        group,
        page: 0,
    };
    w.page = w.create("docs/page", true).await;
    w.create("docs/draft", false).await;
    w
}

impl Wiki {
    async fn create(&self, path: &str, published: bool) -> i64 {
        let created = gql(
            &self.s,
            crate::pages::CREATE,
            json!({"content": format!("# {path}"), "path": path, "locale": "en", "title": path, "tags": [], "pub": published}),
            Some(&self.admin),
        )
        .await;
        let id = created.body["data"]["pages"]["create"]["page"]["id"].as_i64();
        id.unwrap_or_else(|| panic!("the page is created: {}", created.body))
    }

    async fn read(&self, path: &str, token: Option<&str>) -> Reply {
        gql(&self.s, BY_PATH, json!({"p": path}), token).await
    }

    /// `errata_response_cache_total` by result: (hits, misses).
    async fn counts(&self) -> (u64, u64) {
        let text = self
            .s
            .client
            .get(self.s.url("/metrics"))
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
        )
    }

    /// `read`, and whether it was a hit (`Some(true)`), a miss
    /// (`Some(false)`) or neither: an answer the cache may not keep.
    async fn read_counted(&self, path: &str, token: Option<&str>) -> (Reply, Option<bool>) {
        let before = self.counts().await;
        let reply = self.read(path, token).await;
        let after = self.counts().await;
        let seen = match (after.0 - before.0, after.1 - before.1) {
            (1, 0) => Some(true),
            (0, 1) => Some(false),
            (0, 0) => None,
            other => panic!("one request, {other:?} hits and misses"),
        };
        (reply, seen)
    }
}

fn code(reply: &Reply) -> i64 {
    reply.body["errors"][0]["extensions"]["errorCode"]
        .as_i64()
        .unwrap_or(0)
}

rusty_fork_test! {
    #[test]
    fn page_reads_in_the_response_cache() {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("a runtime");
        runtime.block_on(async {
            callers_in_the_same_groups_share_one_entry().await;
            callers_in_other_groups_get_their_own_answer().await;
            a_field_about_the_caller_is_never_kept().await;
            a_write_clears_kept_page_answers().await;
            changing_a_groups_rules_changes_what_its_members_are_answered().await;
        });
    }
}

async fn callers_in_the_same_groups_share_one_entry() {
    let w = wiki().await;
    let (first, seen) = w.read_counted("docs/draft", Some(&w.editor)).await;
    assert_eq!(seen, Some(false));
    assert_eq!(
        first.body["data"]["pages"]["singleByPath"]["title"], "docs/draft",
        "an editor reads drafts: {}",
        first.body
    );
    assert_eq!(
        first.header("cache-control"),
        Some("private, max-age=30"),
        "shared HTTP caches must not keep an answer that depends on permissions"
    );
    let (second, seen) = w.read_counted("docs/draft", Some(&w.other_editor)).await;
    assert_eq!(seen, Some(true), "the other editor's read is a hit");
    assert_eq!(second.body["data"], first.body["data"]);
    assert_eq!(second.header("cache-control"), Some("private, max-age=30"));

    let (guest, seen) = w.read_counted("docs/page", None).await;
    assert_eq!(seen, Some(false));
    assert_eq!(
        guest.body["data"]["pages"]["singleByPath"]["id"], w.page,
        "{}",
        guest.body
    );
    let (again, seen) = w.read_counted("docs/page", None).await;
    assert_eq!(seen, Some(true), "guests share their answers");
    assert_eq!(again.body["data"], guest.body["data"]);
    let (_, seen) = w.read_counted("docs/page", Some(&w.reader)).await;
    assert_eq!(seen, Some(false), "the reader's groups are not the guests'");
}

async fn callers_in_other_groups_get_their_own_answer() {
    let w = wiki().await;
    let allowed = w.read("docs/draft", Some(&w.editor)).await;
    assert_eq!(
        allowed.body["data"]["pages"]["singleByPath"]["title"],
        "docs/draft"
    );
    for (token, who) in [(Some(w.reader.as_str()), "the reader"), (None, "a guest")] {
        for _ in 0..2 {
            let (denied, _) = w.read_counted("docs/draft", token).await;
            assert_eq!(code(&denied), 6013, "{who}: {}", denied.body);
            assert_eq!(denied.body["data"]["pages"]["singleByPath"], Value::Null);
            assert_eq!(
                denied.header("cache-control"),
                None,
                "an answer with errors is not offered to HTTP caches"
            );
        }
    }
    // The refusal was kept too, under the reader's key, as catalog answers
    // with domain errors are: the second read of it was a hit.
    let (denied, seen) = w.read_counted("docs/draft", Some(&w.reader)).await;
    assert_eq!((code(&denied), seen), (6013, Some(true)));
    let (allowed_again, seen) = w.read_counted("docs/draft", Some(&w.other_editor)).await;
    assert_eq!(seen, Some(true));
    assert_eq!(allowed_again.body["data"], allowed.body["data"]);
}

async fn a_field_about_the_caller_is_never_kept() {
    let w = wiki().await;
    // `apiTokens` carries `@authenticated`: it is about the caller.
    let query = "{ pages { singleByPath(path: \"docs/page\", locale: \"en\") { title } } apiTokens { id } }";
    for _ in 0..2 {
        let before = w.counts().await;
        let reply = gql(&w.s, query, json!({}), Some(&w.editor)).await;
        assert_eq!(
            reply.body["data"]["pages"]["singleByPath"]["title"], "docs/page",
            "{}",
            reply.body
        );
        assert_eq!(w.counts().await, before, "neither looked for nor kept");
        assert_eq!(reply.header("cache-control"), None);
    }
}

async fn a_write_clears_kept_page_answers() {
    let w = wiki().await;
    let render = |r: &Reply| {
        r.body["data"]["pages"]["singleByPath"]["render"]
            .as_str()
            .unwrap_or_default()
            .to_owned()
    };
    let (before, _) = w.read_counted("docs/page", Some(&w.editor)).await;
    let (_, seen) = w.read_counted("docs/page", Some(&w.editor)).await;
    assert_eq!(seen, Some(true));
    assert!(render(&before).contains("docs/page"), "{}", before.body);
    let updated = gql(
        &w.s,
        UPDATE,
        json!({"id": w.page, "content": "# Rewritten"}),
        Some(&w.editor),
    )
    .await;
    assert_eq!(
        updated.body["data"]["pages"]["update"]["responseResult"]["succeeded"], true,
        "{}",
        updated.body
    );
    let (after, seen) = w.read_counted("docs/page", Some(&w.editor)).await;
    assert_eq!(seen, Some(false), "the write cleared the kept answer");
    assert!(render(&after).contains("Rewritten"), "{}", after.body);
    let (guest, _) = w.read_counted("docs/page", None).await;
    assert!(render(&guest).contains("Rewritten"), "{}", guest.body);
}

async fn changing_a_groups_rules_changes_what_its_members_are_answered() {
    let w = wiki().await;
    let (allowed, _) = w.read_counted("docs/page", Some(&w.editor)).await;
    assert_eq!(allowed.body["data"]["pages"]["singleByPath"]["id"], w.page);
    let (_, seen) = w.read_counted("docs/page", Some(&w.other_editor)).await;
    assert_eq!(seen, Some(true));
    let rules = gql(
        &w.s,
        RULES,
        json!({"id": w.group, "p": EDITOR_PERMISSIONS,
               "r": [{"permissions": ["read:pages"], "path": "/docs", "deny": true}]}),
        Some(&w.admin),
    )
    .await;
    assert_eq!(
        rules.body["data"]["groups"]["update"]["responseResult"]["succeeded"], true,
        "{}",
        rules.body
    );
    for token in [&w.editor, &w.other_editor] {
        let (denied, _) = w.read_counted("docs/page", Some(token)).await;
        assert_eq!(
            code(&denied),
            6013,
            "the rule applies at once, whatever was kept: {}",
            denied.body
        );
    }
}

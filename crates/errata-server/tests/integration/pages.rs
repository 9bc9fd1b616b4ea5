//! Pages over HTTP: every 6xxx code of the Wiki.js table produced where it
//! belongs, history, the tree, tags, links, publishing and page rules. Runs
//! on the backend `ERRATA_TEST_BACKEND` names, like every server test.

use errata_test_support::{ADMIN_EMAIL, ADMIN_PASSWORD, TestServer, result_of};
use serde_json::{Value, json};

pub(crate) const EDITOR: &str = "ed@example.com";
pub(crate) const READER: &str = "rea@example.com";
pub(crate) const PASSWORD: &str = "a long enough password";

pub const CREATE: &str = "mutation($content: String!, $path: String!, $locale: String!, $title: String!, $tags: [String]!, $pub: Boolean!, $start: Date, $end: Date) { pages { create(content: $content, description: \"d\", editor: \"markdown\", isPublished: $pub, isPrivate: false, locale: $locale, path: $path, tags: $tags, title: $title, publishStartDate: $start, publishEndDate: $end) { responseResult { succeeded errorCode slug message } page { id path locale title render toc tags { tag } } } } }";

pub(crate) struct Wiki {
    pub(crate) s: TestServer,
    pub(crate) admin: String,
    pub(crate) editor: String,
    pub(crate) reader: String,
}

async fn gql(s: &TestServer, query: &str, variables: Value, token: Option<&str>) -> Value {
    let r = s.gql(query, variables, token).await;
    r.body
}

/// A wiki with an administrator, an editor (write, manage and delete pages
/// everywhere but under `/locked`) and a reader (the Users group).
pub(crate) async fn wiki() -> Wiki {
    let s = TestServer::identity(&[(EDITOR, PASSWORD, false), (READER, PASSWORD, false)]).await;
    let admin = s.session(ADMIN_EMAIL, ADMIN_PASSWORD).await;
    let group = gql(
        &s,
        "mutation { groups { create(name: \"Editors\") { group { id } } } }",
        json!({}),
        Some(&admin),
    )
    .await;
    let group_id = group["data"]["groups"]["create"]["group"]["id"]
        .as_i64()
        .expect("group");
    let updated = gql(
        &s,
        "mutation($id: Int!, $p: [String!], $r: [PageRuleInput!]) { groups { update(id: $id, permissions: $p, pageRules: $r) { responseResult { succeeded message } } } }",
        json!({"id": group_id, "p": ["read:pages", "write:pages", "manage:pages", "delete:pages", "read:history", "read:source"],
               "r": [{"permissions": ["write:pages", "manage:pages", "delete:pages"], "path": "/locked", "deny": true}]}),
        Some(&admin),
    )
    .await;
    assert_eq!(
        updated["data"]["groups"]["update"]["responseResult"]["succeeded"], true,
        "{updated}"
    );
    let users = gql(
        &s,
        "{ users { list { id email } } }",
        json!({}),
        Some(&admin),
    )
    .await;
    let editor_id = users["data"]["users"]["list"]
        .as_array()
        .unwrap()
        .iter()
        .find(|u| u["email"] == EDITOR)
        .unwrap()["id"]
        .as_i64()
        .unwrap();
    let assigned = gql(
        &s,
        "mutation($g: Int!, $u: Int!) { groups { assignUser(groupId: $g, userId: $u) { responseResult { succeeded message } } } }",
        json!({"g": group_id, "u": editor_id}),
        Some(&admin),
    )
    .await;
    assert_eq!(
        assigned["data"]["groups"]["assignUser"]["responseResult"]["succeeded"], true,
        "{assigned}"
    );
    let editor = s.session(EDITOR, PASSWORD).await;
    let reader = s.session(READER, PASSWORD).await;
    Wiki {
        s,
        admin,
        editor,
        reader,
    }
}

impl Wiki {
    pub(crate) async fn create(&self, token: &str, path: &str, content: &str) -> Value {
        self.create_with(token, json!({"content": content, "path": path, "locale": "en", "title": format!("Title of {path}"), "tags": ["guide"], "pub": true}))
            .await
    }

    pub(crate) async fn create_with(&self, token: &str, variables: Value) -> Value {
        let body = gql(&self.s, CREATE, variables, Some(token)).await;
        body["data"]["pages"]["create"].clone()
    }

    pub(crate) async fn id_of(&self, path: &str) -> i64 {
        let created = self
            .create(&self.admin, path, "# Hello\n\nSome text.")
            .await;
        assert_eq!(created["responseResult"]["succeeded"], true, "{created}");
        created["page"]["id"].as_i64().unwrap()
    }

    pub(crate) async fn mutate(
        &self,
        token: Option<&str>,
        mutation: &str,
        field: &str,
        variables: Value,
    ) -> Value {
        let r = self.s.gql(mutation, variables, token).await;
        assert_eq!(r.status, 200, "{}", r.body);
        result_of(&r, &format!("pages.{field}")).clone()
    }

    pub(crate) async fn query(&self, token: Option<&str>, query: &str, variables: Value) -> Value {
        gql(&self.s, query, variables, token).await
    }
}

fn refused(result: &Value, code: i64, slug: &str) {
    assert_eq!(result["succeeded"], false, "{result}");
    assert_eq!(result["errorCode"], code, "{result}");
    assert_eq!(result["slug"], slug, "{result}");
}

fn error_code(body: &Value) -> (i64, String) {
    let e = &body["errors"][0]["extensions"];
    (
        e["errorCode"].as_i64().unwrap_or(0),
        e["code"].as_str().unwrap_or("").to_owned(),
    )
}

const UPDATE: &str = "mutation($id: Int!, $content: String, $path: String, $locale: String, $title: String) { pages { update(id: $id, content: $content, path: $path, locale: $locale, title: $title) { responseResult { succeeded errorCode slug message } page { id path title render } } } }";
const MOVE: &str = "mutation($id: Int!, $p: String!, $l: String!) { pages { move(id: $id, destinationPath: $p, destinationLocale: $l) { responseResult { succeeded errorCode slug message } } } }";
const DELETE: &str = "mutation($id: Int!) { pages { delete(id: $id) { responseResult { succeeded errorCode slug message } } } }";
const RESTORE: &str = "mutation($p: Int!, $v: Int!) { pages { restore(pageId: $p, versionId: $v) { responseResult { succeeded errorCode slug message } } } }";
const SINGLE: &str = "query($id: Int!) { pages { single(id: $id) { id title render content } } }";
const BY_PATH: &str = "query($p: String!, $l: String!) { pages { singleByPath(path: $p, locale: $l) { id title render toc } } }";
const HISTORY: &str = "query($id: Int!) { pages { history(id: $id) { total trail { versionId actionType valueBefore valueAfter authorName } } } }";

#[tokio::test]
async fn create_checks_in_wikijs_order_with_the_right_codes() {
    let w = wiki().await;
    refused(
        &w.create(&w.editor, "bad path", "x").await["responseResult"],
        6005,
        "PageIllegalPath",
    );
    refused(
        &w.create(&w.editor, "login/page", "x").await["responseResult"],
        6005,
        "PageIllegalPath",
    );
    refused(
        &w.create(&w.editor, "locked/page", "x").await["responseResult"],
        6008,
        "PageCreateForbidden",
    );
    refused(
        &w.create(&w.reader, "docs/x", "x").await["responseResult"],
        6008,
        "PageCreateForbidden",
    );
    let first = w
        .create(
            &w.editor,
            "/docs/intro/",
            "# Intro\n\nSee [the guide](/en/docs/guide).",
        )
        .await;
    assert_eq!(first["responseResult"]["succeeded"], true, "{first}");
    assert_eq!(first["page"]["path"], "docs/intro");
    assert!(first["page"]["render"].as_str().unwrap().contains("Intro"));
    refused(
        &w.create(&w.editor, "docs/intro", "other").await["responseResult"],
        6002,
        "PageDuplicateCreate",
    );
    refused(
        &w.create(&w.editor, "docs/empty", " \n\t ").await["responseResult"],
        6004,
        "PageEmptyContent",
    );
    // A duplicate with empty content is a duplicate first, as in Wiki.js.
    refused(
        &w.create(&w.editor, "docs/intro", "  ").await["responseResult"],
        6002,
        "PageDuplicateCreate",
    );
    // Out-of-limit arguments are catalogued, and nothing is written.
    let long_title = "t".repeat(300);
    let r = w
        .create_with(&w.editor, json!({"content": "x", "path": "docs/long", "locale": "en", "title": long_title, "tags": [], "pub": true}))
        .await;
    refused(&r["responseResult"], 6101, "PageArgumentInvalid");
    let r = w
        .create_with(&w.editor, json!({"content": "x", "path": "docs/date", "locale": "en", "title": "t", "tags": [], "pub": true, "start": "yesterday"}))
        .await;
    refused(&r["responseResult"], 6101, "PageArgumentInvalid");
    assert!(
        r["responseResult"]["message"]
            .as_str()
            .unwrap()
            .contains("publishStartDate"),
        "{r}"
    );
    let missing = w
        .query(
            Some(&w.admin),
            BY_PATH,
            json!({"p": "docs/long", "l": "en"}),
        )
        .await;
    assert_eq!(error_code(&missing).0, 6003, "{missing}");
}

#[tokio::test]
async fn reading_answers_6003_and_6013_in_errors() {
    let w = wiki().await;
    let id = w.id_of("docs/read").await;
    let r = w
        .query(
            None,
            SINGLE.replace(" content", "").as_str(),
            json!({"id": id}),
        )
        .await;
    assert_eq!(
        r["data"]["pages"]["single"]["title"], "Title of docs/read",
        "{r}"
    );
    let r = w
        .query(None, BY_PATH, json!({"p": "docs/read", "l": "en"}))
        .await;
    assert_eq!(r["data"]["pages"]["singleByPath"]["id"], id, "{r}");
    let r = w
        .query(None, BY_PATH, json!({"p": "docs/none", "l": "en"}))
        .await;
    assert_eq!(error_code(&r), (6003, "NOT_FOUND".to_owned()), "{r}");
    let r = w.query(None, SINGLE, json!({"id": 999_999})).await;
    assert_eq!(error_code(&r).0, 6003, "{r}");
    // The guest may read pages but not their source.
    let r = w.query(None, SINGLE, json!({"id": id})).await;
    assert_eq!(r["data"]["pages"]["single"], Value::Null, "{r}");
    assert!(
        r["errors"][0]["path"]
            .as_array()
            .unwrap()
            .iter()
            .any(|p| p == "content"),
        "{r}"
    );
    // An unpublished page is seen only by those who may write it.
    let hidden = w
        .create_with(&w.admin, json!({"content": "secret", "path": "docs/draft", "locale": "en", "title": "Draft", "tags": [], "pub": false}))
        .await;
    let hidden_id = hidden["page"]["id"].as_i64().unwrap();
    let r = w
        .query(
            Some(&w.reader),
            SINGLE.replace(" content", "").as_str(),
            json!({"id": hidden_id}),
        )
        .await;
    assert_eq!(error_code(&r), (6013, "FORBIDDEN".to_owned()), "{r}");
    let r = w
        .query(Some(&w.editor), SINGLE, json!({"id": hidden_id}))
        .await;
    assert_eq!(r["data"]["pages"]["single"]["content"], "secret", "{r}");
    // A page outside its publishing window is hidden the same way.
    let r = w
        .create_with(&w.admin, json!({"content": "later", "path": "docs/later", "locale": "en", "title": "Later", "tags": [], "pub": true, "start": "2999-01-01T00:00:00Z"}))
        .await;
    let later = r["page"]["id"].as_i64().unwrap();
    let r = w
        .query(
            Some(&w.reader),
            SINGLE.replace(" content", "").as_str(),
            json!({"id": later}),
        )
        .await;
    assert_eq!(error_code(&r).0, 6013, "{r}");
    // A page under a denied rule is refused to the editor's writes.
    let locked = w.id_of("locked/page").await;
    let r = w
        .mutate(
            Some(&w.editor),
            UPDATE,
            "update",
            json!({"id": locked, "content": "mine now"}),
        )
        .await;
    refused(&r, 6009, "PageUpdateForbidden");
}

#[tokio::test]
async fn update_move_delete_restore_and_history() {
    let w = wiki().await;
    let id = w.id_of("docs/a").await;
    let other = w.id_of("docs/b").await;
    refused(
        &w.mutate(
            Some(&w.editor),
            UPDATE,
            "update",
            json!({"id": 999_999, "content": "x"}),
        )
        .await,
        6003,
        "PageNotFound",
    );
    refused(
        &w.mutate(
            Some(&w.editor),
            UPDATE,
            "update",
            json!({"id": id, "content": "   "}),
        )
        .await,
        6004,
        "PageEmptyContent",
    );
    refused(
        &w.mutate(
            Some(&w.reader),
            UPDATE,
            "update",
            json!({"id": id, "content": "x"}),
        )
        .await,
        6009,
        "PageUpdateForbidden",
    );
    refused(
        &w.mutate(
            Some(&w.editor),
            UPDATE,
            "update",
            json!({"id": id, "path": "docs/b"}),
        )
        .await,
        6006,
        "PagePathCollision",
    );
    refused(
        &w.mutate(
            Some(&w.editor),
            UPDATE,
            "update",
            json!({"id": id, "path": "docs/a b"}),
        )
        .await,
        6005,
        "PageIllegalPath",
    );
    refused(
        &w.mutate(
            Some(&w.editor),
            UPDATE,
            "update",
            json!({"id": id, "path": "locked/a"}),
        )
        .await,
        6007,
        "PageMoveForbidden",
    );
    let r = w
        .mutate(
            Some(&w.editor),
            UPDATE,
            "update",
            json!({"id": id, "content": "# Changed", "title": "New title"}),
        )
        .await;
    assert_eq!(r["succeeded"], true, "{r}");
    // Move: not found, illegal, forbidden, collision, then a real move.
    refused(
        &w.mutate(
            Some(&w.editor),
            MOVE,
            "move",
            json!({"id": 999_999, "p": "other/y", "l": "en"}),
        )
        .await,
        6003,
        "PageNotFound",
    );
    refused(
        &w.mutate(
            Some(&w.editor),
            MOVE,
            "move",
            json!({"id": id, "p": "other//y", "l": "en"}),
        )
        .await,
        6005,
        "PageIllegalPath",
    );
    refused(
        &w.mutate(
            Some(&w.reader),
            MOVE,
            "move",
            json!({"id": id, "p": "other/y", "l": "en"}),
        )
        .await,
        6007,
        "PageMoveForbidden",
    );
    refused(
        &w.mutate(
            Some(&w.editor),
            MOVE,
            "move",
            json!({"id": id, "p": "locked/y", "l": "en"}),
        )
        .await,
        6007,
        "PageMoveForbidden",
    );
    refused(
        &w.mutate(
            Some(&w.editor),
            MOVE,
            "move",
            json!({"id": id, "p": "docs/b", "l": "en"}),
        )
        .await,
        6006,
        "PagePathCollision",
    );
    let r = w
        .mutate(
            Some(&w.editor),
            MOVE,
            "move",
            json!({"id": id, "p": "guides/a", "l": "en"}),
        )
        .await;
    assert_eq!(r["succeeded"], true, "{r}");
    let r = w
        .query(
            Some(&w.editor),
            BY_PATH,
            json!({"p": "guides/a", "l": "en"}),
        )
        .await;
    assert_eq!(
        r["data"]["pages"]["singleByPath"]["title"], "New title",
        "{r}"
    );
    // History: an update and a move, newest first.
    let h = w.query(Some(&w.editor), HISTORY, json!({"id": id})).await;
    let trail = h["data"]["pages"]["history"]["trail"]
        .as_array()
        .unwrap()
        .clone();
    assert_eq!(h["data"]["pages"]["history"]["total"], 2, "{h}");
    assert_eq!(trail[0]["actionType"], "moved");
    assert_eq!(trail[0]["valueBefore"], "en/docs/a");
    assert_eq!(trail[0]["valueAfter"], "en/guides/a");
    assert_eq!(trail[1]["actionType"], "updated");
    assert_eq!(trail[1]["authorName"], "Admin");
    let first_version = trail[1]["versionId"].as_i64().unwrap();
    let r = w.query(Some(&w.editor), "query($p: Int!, $v: Int!) { pages { version(pageId: $p, versionId: $v) { title content path action } } }", json!({"p": id, "v": first_version})).await;
    assert_eq!(
        r["data"]["pages"]["version"]["title"], "Title of docs/a",
        "{r}"
    );
    let r = w
        .query(
            Some(&w.editor),
            "query($p: Int!, $v: Int!) { pages { version(pageId: $p, versionId: $v) { title } } }",
            json!({"p": id, "v": 999_999}),
        )
        .await;
    assert_eq!(error_code(&r).0, 6003, "{r}");
    let r = w.query(None, HISTORY, json!({"id": id})).await;
    assert_eq!(error_code(&r).0, 6012, "{r}");
    let r = w
        .query(Some(&w.editor), HISTORY, json!({"id": 999_999}))
        .await;
    assert_eq!(error_code(&r).0, 6003, "{r}");
    // Restore: unknown version, forbidden, then back to the first title.
    refused(
        &w.mutate(
            Some(&w.editor),
            RESTORE,
            "restore",
            json!({"p": id, "v": 999_999}),
        )
        .await,
        6003,
        "PageNotFound",
    );
    refused(
        &w.mutate(
            Some(&w.reader),
            RESTORE,
            "restore",
            json!({"p": id, "v": first_version}),
        )
        .await,
        6011,
        "PageRestoreForbidden",
    );
    let r = w
        .mutate(
            Some(&w.editor),
            RESTORE,
            "restore",
            json!({"p": id, "v": first_version}),
        )
        .await;
    assert_eq!(r["succeeded"], true, "{r}");
    let r = w.query(Some(&w.editor), SINGLE, json!({"id": id})).await;
    assert_eq!(
        r["data"]["pages"]["single"]["title"], "Title of docs/a",
        "{r}"
    );
    let h = w.query(Some(&w.editor), HISTORY, json!({"id": id})).await;
    assert_eq!(h["data"]["pages"]["history"]["total"], 3, "{h}");
    assert_eq!(
        h["data"]["pages"]["history"]["trail"][0]["actionType"],
        "restored"
    );
    // Delete: not found, forbidden, deleted, then restored from history.
    refused(
        &w.mutate(Some(&w.editor), DELETE, "delete", json!({"id": 999_999}))
            .await,
        6003,
        "PageNotFound",
    );
    refused(
        &w.mutate(Some(&w.reader), DELETE, "delete", json!({"id": other}))
            .await,
        6010,
        "PageDeleteForbidden",
    );
    let r = w
        .mutate(Some(&w.editor), DELETE, "delete", json!({"id": other}))
        .await;
    assert_eq!(r["succeeded"], true, "{r}");
    let r = w.query(Some(&w.editor), SINGLE, json!({"id": other})).await;
    assert_eq!(error_code(&r).0, 6003, "{r}");
    let h = w
        .query(Some(&w.editor), HISTORY, json!({"id": other}))
        .await;
    let deleted_version = h["data"]["pages"]["history"]["trail"][0]["versionId"]
        .as_i64()
        .unwrap();
    let r = w
        .mutate(
            Some(&w.editor),
            RESTORE,
            "restore",
            json!({"p": other, "v": deleted_version}),
        )
        .await;
    assert_eq!(r["succeeded"], true, "{r}");
    let r = w
        .query(Some(&w.editor), BY_PATH, json!({"p": "docs/b", "l": "en"}))
        .await;
    assert_eq!(r["data"]["pages"]["singleByPath"]["id"], other, "{r}");
}

#[tokio::test]
async fn a_store_failing_halfway_is_6001_and_writes_nothing() {
    let w = wiki().await;
    let id = w.id_of("docs/fail").await;
    w.s.break_inserts("page_history", "disk full at /var/lib/secret")
        .await;
    let r = w
        .mutate(
            Some(&w.editor),
            UPDATE,
            "update",
            json!({"id": id, "content": "half written", "title": "Half"}),
        )
        .await;
    refused(&r, 6001, "PageGenericError");
    assert!(!r["message"].as_str().unwrap().contains("secret"), "{r}");
    let r = w.query(Some(&w.editor), SINGLE, json!({"id": id})).await;
    assert_eq!(
        r["data"]["pages"]["single"]["title"], "Title of docs/fail",
        "{r}"
    );
    assert_ne!(
        r["data"]["pages"]["single"]["content"], "half written",
        "{r}"
    );
}

#[tokio::test]
async fn render_convert_conflicts_and_the_admin_mutations() {
    let w = wiki().await;
    let id = w.id_of("docs/r").await;
    let render = "mutation($id: Int!) { pages { render(id: $id) { responseResult { succeeded errorCode slug message } } } }";
    refused(
        &w.mutate(Some(&w.admin), render, "render", json!({"id": 999_999}))
            .await,
        6003,
        "PageNotFound",
    );
    assert_eq!(
        w.mutate(Some(&w.admin), render, "render", json!({"id": id}))
            .await["succeeded"],
        true
    );
    let convert = "mutation($id: Int!, $e: String!) { pages { convert(id: $id, editor: $e) { responseResult { succeeded errorCode slug message } } } }";
    refused(
        &w.mutate(
            Some(&w.editor),
            convert,
            "convert",
            json!({"id": 999_999, "e": "ckeditor"}),
        )
        .await,
        6003,
        "PageNotFound",
    );
    refused(
        &w.mutate(
            Some(&w.reader),
            convert,
            "convert",
            json!({"id": id, "e": "ckeditor"}),
        )
        .await,
        6009,
        "PageUpdateForbidden",
    );
    assert_eq!(
        w.mutate(
            Some(&w.editor),
            convert,
            "convert",
            json!({"id": id, "e": "ckeditor"})
        )
        .await["succeeded"],
        true
    );
    let check =
        "query($id: Int!, $d: Date!) { pages { checkConflicts(id: $id, checkoutDate: $d) } }";
    let r = w
        .query(
            Some(&w.editor),
            check,
            json!({"id": id, "d": "2000-01-01T00:00:00Z"}),
        )
        .await;
    assert_eq!(r["data"]["pages"]["checkConflicts"], true, "{r}");
    let r = w
        .query(
            Some(&w.editor),
            check,
            json!({"id": id, "d": "2999-01-01T00:00:00Z"}),
        )
        .await;
    assert_eq!(r["data"]["pages"]["checkConflicts"], false, "{r}");
    let r = w
        .query(
            Some(&w.editor),
            check,
            json!({"id": 999_999, "d": "2999-01-01T00:00:00Z"}),
        )
        .await;
    assert_eq!(error_code(&r).0, 6003, "{r}");
    let latest = "query($id: Int!) { pages { conflictLatest(id: $id) { id title authorName } } }";
    let r = w.query(Some(&w.editor), latest, json!({"id": id})).await;
    assert_eq!(r["data"]["pages"]["conflictLatest"]["id"], id, "{r}");
    let r = w
        .query(Some(&w.editor), latest, json!({"id": 999_999}))
        .await;
    assert_eq!(error_code(&r).0, 6003, "{r}");
    let purge = "mutation($o: String!) { pages { purgeHistory(olderThan: $o) { responseResult { succeeded errorCode slug message } } } }";
    refused(
        &w.mutate(
            Some(&w.admin),
            purge,
            "purgeHistory",
            json!({"o": "a week"}),
        )
        .await,
        6101,
        "PageArgumentInvalid",
    );
    assert_eq!(
        w.mutate(Some(&w.admin), purge, "purgeHistory", json!({"o": "PT0S"}))
            .await["succeeded"],
        true
    );
    let h = w.query(Some(&w.editor), HISTORY, json!({"id": id})).await;
    assert_eq!(h["data"]["pages"]["history"]["total"], 0, "{h}");
    for (mutation, field) in [
        (
            "mutation { pages { rebuildTree { responseResult { succeeded } } } }",
            "rebuildTree",
        ),
        (
            "mutation { pages { flushCache { responseResult { succeeded } } } }",
            "flushCache",
        ),
    ] {
        assert_eq!(
            w.mutate(Some(&w.admin), mutation, field, json!({})).await["succeeded"],
            true
        );
        let r = w.s.gql(mutation, json!({}), Some(&w.editor)).await;
        assert_eq!(
            r.body["errors"][0]["extensions"]["code"], "FORBIDDEN",
            "{}",
            r.body
        );
    }
    let migrate = "mutation { pages { migrateToLocale(sourceLocale: \"en\", targetLocale: \"fr\") { responseResult { succeeded } count } } }";
    let r = w.query(Some(&w.admin), migrate, json!({})).await;
    assert_eq!(r["data"]["pages"]["migrateToLocale"]["count"], 1, "{r}");
    let r = w
        .query(Some(&w.editor), BY_PATH, json!({"p": "docs/r", "l": "fr"}))
        .await;
    assert_eq!(r["data"]["pages"]["singleByPath"]["id"], id, "{r}");
}

#[tokio::test]
async fn tree_tags_list_links_and_search_leave_out_what_the_caller_may_not_read() {
    let w = wiki().await;
    for path in ["docs/a", "docs/b", "docs/deep/c", "top"] {
        w.id_of(path).await;
    }
    let hidden = w
        .create_with(&w.admin, json!({"content": "hidden words", "path": "docs/hidden", "locale": "en", "title": "Hidden", "tags": ["secret-tag"], "pub": false}))
        .await;
    assert_eq!(hidden["responseResult"]["succeeded"], true, "{hidden}");
    let tree = "query($p: String, $parent: Int) { pages { tree(path: $p, parent: $parent, mode: ALL, locale: \"en\", includeAncestors: true) { id path title isFolder pageId parent depth } } }";
    let r = w.query(None, tree, json!({})).await;
    let top: Vec<&str> = r["data"]["pages"]["tree"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["path"].as_str().unwrap())
        .collect();
    assert_eq!(top, ["docs", "top"], "{r}");
    let docs = r["data"]["pages"]["tree"][0]["id"].as_i64().unwrap();
    let r = w.query(None, tree, json!({"parent": docs})).await;
    let below: Vec<&str> = r["data"]["pages"]["tree"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["path"].as_str().unwrap())
        .collect();
    assert_eq!(
        below,
        ["docs/deep", "docs/a", "docs/b"],
        "folders first, the unpublished page left out: {r}"
    );
    let r = w.query(None, "{ pages { tags { tag } } }", json!({})).await;
    let tags: Vec<&str> = r["data"]["pages"]["tags"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["tag"].as_str().unwrap())
        .collect();
    assert_eq!(tags, ["guide"], "the hidden page's tag is left out: {r}");
    let r = w
        .query(Some(&w.admin), "{ pages { tags { tag } } }", json!({}))
        .await;
    assert_eq!(
        r["data"]["pages"]["tags"].as_array().unwrap().len(),
        2,
        "{r}"
    );
    let r = w
        .query(None, "{ pages { searchTags(query: \"gui\") } }", json!({}))
        .await;
    assert_eq!(r["data"]["pages"]["searchTags"], json!(["guide"]), "{r}");
    let r = w
        .query(
            None,
            "{ pages { list(orderBy: PATH, orderByDirection: ASC) { path tags } } }",
            json!({}),
        )
        .await;
    let paths: Vec<&str> = r["data"]["pages"]["list"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["path"].as_str().unwrap())
        .collect();
    assert_eq!(paths, ["docs/a", "docs/b", "docs/deep/c", "top"], "{r}");
    let r = w
        .query(
            None,
            "{ pages { list(tags: [\"guide\"], limit: 2) { path } } }",
            json!({}),
        )
        .await;
    assert_eq!(
        r["data"]["pages"]["list"].as_array().unwrap().len(),
        2,
        "{r}"
    );
    let r = w
        .query(
            None,
            "{ pages { search(query: \"Title\") { totalHits results { path } suggestions } } }",
            json!({}),
        )
        .await;
    assert_eq!(r["data"]["pages"]["search"]["totalHits"], 4, "{r}");
    let r = w
        .query(
            None,
            "{ pages { search(query: \"Hidden\") { totalHits } } }",
            json!({}),
        )
        .await;
    assert_eq!(r["data"]["pages"]["search"]["totalHits"], 0, "{r}");
    let r = w
        .query(
            None,
            "{ pages { search(query: \"  \") { totalHits } } }",
            json!({}),
        )
        .await;
    assert_eq!(error_code(&r).0, 4101, "{r}");
    // NUL would end the trigram index's string: refused, as every control
    // character but whitespace is.
    let r = w
        .query(
            None,
            "query($q: String!) { pages { search(query: $q) { totalHits } } }",
            json!({"q": "ful\u{0}text"}),
        )
        .await;
    assert_eq!(error_code(&r).0, 4101, "{r}");
    let r = w
        .query(
            None,
            "query($q: String!) { pages { search(query: $q) { totalHits } } }",
            json!({"q": "full\ttext"}),
        )
        .await;
    assert!(r["errors"].is_null(), "{r}");
    let r = w
        .query(
            None,
            "{ pages { links(locale: \"en\") { path links } } }",
            json!({}),
        )
        .await;
    assert!(
        r["data"]["pages"]["links"]
            .as_array()
            .unwrap()
            .iter()
            .all(|l| l["path"] != "docs/hidden"),
        "{r}"
    );
}

#[tokio::test]
async fn tag_administration() {
    let w = wiki().await;
    w.id_of("docs/t").await;
    let r = w
        .query(Some(&w.admin), "{ pages { tags { id tag } } }", json!({}))
        .await;
    let tag_id = r["data"]["pages"]["tags"][0]["id"].as_i64().unwrap();
    let update = "mutation($id: Int!, $t: String!) { pages { updateTag(id: $id, tag: $t, title: \"Guides\") { responseResult { succeeded errorCode slug message } } } }";
    refused(
        &w.mutate(
            Some(&w.admin),
            update,
            "updateTag",
            json!({"id": 999_999, "t": "x"}),
        )
        .await,
        6102,
        "PageTagNotFound",
    );
    assert_eq!(
        w.mutate(
            Some(&w.admin),
            update,
            "updateTag",
            json!({"id": tag_id, "t": "Guides "})
        )
        .await["succeeded"],
        true
    );
    let r = w
        .query(None, "{ pages { tags { tag title } } }", json!({}))
        .await;
    assert_eq!(
        r["data"]["pages"]["tags"][0],
        json!({"tag": "guides", "title": "Guides"}),
        "{r}"
    );
    let delete = "mutation($id: Int!) { pages { deleteTag(id: $id) { responseResult { succeeded errorCode slug message } } } }";
    assert_eq!(
        w.mutate(Some(&w.admin), delete, "deleteTag", json!({"id": tag_id}))
            .await["succeeded"],
        true
    );
    refused(
        &w.mutate(Some(&w.admin), delete, "deleteTag", json!({"id": tag_id}))
            .await,
        6102,
        "PageTagNotFound",
    );
}

#[tokio::test]
async fn search_engines_activate_only_where_they_run() {
    let w = wiki().await;
    w.id_of("docs/fulltext").await;
    let update = "mutation($e: [SearchEngineInput]) { search { updateSearchEngines(engines: $e) { responseResult { succeeded errorCode slug message } } } }";
    let r =
        w.s.gql(
            update,
            json!({"e": [{"key": "nope", "isEnabled": true}]}),
            Some(&w.admin),
        )
        .await;
    refused(
        result_of(&r, "search.updateSearchEngines"),
        4102,
        "SearchEngineUnknown",
    );
    let (native, foreign) = match errata_test_support::backend() {
        errata_store::Backend::Sqlite => ("sqlite", "postgres"),
        errata_store::Backend::Postgres => ("postgres", "sqlite"),
    };
    let r =
        w.s.gql(
            update,
            json!({"e": [{"key": foreign, "isEnabled": true}]}),
            Some(&w.admin),
        )
        .await;
    refused(
        result_of(&r, "search.updateSearchEngines"),
        4002,
        "SearchActivationFailed",
    );
    let engines = w
        .query(
            Some(&w.admin),
            "{ search { searchEngines { key isEnabled isAvailable } } }",
            json!({}),
        )
        .await;
    let active: Vec<&str> = engines["data"]["search"]["searchEngines"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["isEnabled"] == true)
        .map(|e| e["key"].as_str().unwrap())
        .collect();
    assert_eq!(
        active,
        ["db"],
        "a failed activation leaves the active engine: {engines}"
    );
    let r =
        w.s.gql(
            update,
            json!({"e": [{"key": native, "isEnabled": true}]}),
            Some(&w.admin),
        )
        .await;
    assert_eq!(
        result_of(&r, "search.updateSearchEngines")["succeeded"],
        true,
        "{}",
        r.body
    );
    let r = w
        .query(
            None,
            "{ pages { search(query: \"Hell\") { totalHits results { path } suggestions } } }",
            json!({}),
        )
        .await;
    assert_eq!(
        r["data"]["pages"]["search"]["results"][0]["path"], "docs/fulltext",
        "prefix match: {r}"
    );
    // Query syntax of either engine is only text.
    for hostile in [
        "\"unbalanced",
        "a AND OR NOT",
        "title:x*",
        "!!&&||",
        "NEAR(a b)",
        "'; DROP TABLE pages; --",
    ] {
        let r = w
            .query(
                None,
                "query($q: String!) { pages { search(query: $q) { totalHits } } }",
                json!({"q": hostile}),
            )
            .await;
        assert!(r["errors"].is_null(), "{hostile}: {r}");
    }
    let r = w
        .query(
            None,
            "{ pages { search(query: \"Helo\") { totalHits suggestions } } }",
            json!({}),
        )
        .await;
    assert!(
        r["data"]["pages"]["search"]["suggestions"]
            .as_array()
            .unwrap()
            .iter()
            .any(|s| s == "hello"),
        "{r}"
    );
    let rebuild = "mutation { search { rebuildIndex { responseResult { succeeded } } } }";
    assert_eq!(
        w.query(Some(&w.admin), rebuild, json!({})).await["data"]["search"]["rebuildIndex"]["responseResult"]
            ["succeeded"],
        true
    );
}

#[tokio::test]
async fn page_rules_see_tags_regexes_and_locales() {
    let w = wiki().await;
    let group = gql(
        &w.s,
        "mutation { groups { create(name: \"Writers\") { group { id } } } }",
        json!({}),
        Some(&w.admin),
    )
    .await;
    let group_id = group["data"]["groups"]["create"]["group"]["id"]
        .as_i64()
        .unwrap();
    let rules = json!([
        {"match": "TAG", "path": "secret", "roles": ["read:pages"], "deny": true},
        {"match": "REGEX", "path": "^drafts/.*$", "roles": ["write:pages"], "deny": true},
        {"match": "START", "path": "/", "roles": ["write:pages"], "deny": true, "locales": ["fr"]}
    ]);
    let r = gql(
        &w.s,
        "mutation($id: Int!, $r: [PageRuleInput!]) { groups { update(id: $id, permissions: [\"read:pages\", \"write:pages\"], pageRules: $r) { responseResult { succeeded message } } } }",
        json!({"id": group_id, "r": rules}),
        Some(&w.admin),
    )
    .await;
    assert_eq!(
        r["data"]["groups"]["update"]["responseResult"]["succeeded"], true,
        "{r}"
    );
    let users = gql(
        &w.s,
        "{ users { list { id email } } }",
        json!({}),
        Some(&w.admin),
    )
    .await;
    let reader_id = users["data"]["users"]["list"]
        .as_array()
        .unwrap()
        .iter()
        .find(|u| u["email"] == READER)
        .unwrap()["id"]
        .as_i64()
        .unwrap();
    gql(&w.s, "mutation($g: Int!, $u: Int!) { groups { assignUser(groupId: $g, userId: $u) { responseResult { succeeded } } } }", json!({"g": group_id, "u": reader_id}), Some(&w.admin)).await;
    let writer = w.s.session(READER, PASSWORD).await;
    let secret = w
        .create_with(&w.admin, json!({"content": "x", "path": "docs/secret", "locale": "en", "title": "Secret", "tags": ["secret"], "pub": true}))
        .await["page"]["id"]
        .as_i64()
        .unwrap();
    let r = w
        .query(
            Some(&writer),
            SINGLE.replace(" content", "").as_str(),
            json!({"id": secret}),
        )
        .await;
    assert_eq!(error_code(&r).0, 6013, "a TAG rule denies it: {r}");
    let r = w
        .query(Some(&writer), "{ pages { list { path } } }", json!({}))
        .await;
    assert!(
        r["data"]["pages"]["list"]
            .as_array()
            .unwrap()
            .iter()
            .all(|p| p["path"] != "docs/secret"),
        "{r}"
    );
    refused(
        &w.create(&writer, "drafts/one", "x").await["responseResult"],
        6008,
        "PageCreateForbidden",
    );
    let ok = w.create(&writer, "docs/mine", "x").await;
    assert_eq!(ok["responseResult"]["succeeded"], true, "{ok}");
    let fr = w
        .create_with(&writer, json!({"content": "x", "path": "docs/mine", "locale": "fr", "title": "t", "tags": [], "pub": true}))
        .await;
    refused(&fr["responseResult"], 6008, "PageCreateForbidden");
}

#[tokio::test]
async fn a_pages_css_and_script_need_write_styles_and_write_scripts() {
    let w = wiki().await;
    let create = "mutation($css: String, $js: String) { pages { create(content: \"x\", description: \"\", editor: \"markdown\", isPublished: true, isPrivate: false, locale: \"en\", path: \"docs/styled\", tags: [], title: \"t\", scriptCss: $css, scriptJs: $js) { responseResult { succeeded errorCode slug } page { id } } } }";
    let r =
        w.s.gql(
            create,
            json!({"js": "alert(document.cookie)"}),
            Some(&w.editor),
        )
        .await;
    refused(result_of(&r, "pages.create"), 6008, "PageCreateForbidden");
    let r =
        w.s.gql(
            create,
            json!({"css": "body { display: none }"}),
            Some(&w.editor),
        )
        .await;
    refused(result_of(&r, "pages.create"), 6008, "PageCreateForbidden");
    // Wiki.js's editor sends empty ones: nothing to refuse.
    let r =
        w.s.gql(create, json!({"css": "", "js": ""}), Some(&w.editor))
            .await;
    assert_eq!(
        result_of(&r, "pages.create")["succeeded"],
        true,
        "{}",
        r.body
    );
    let id = r.body["data"]["pages"]["create"]["page"]["id"]
        .as_i64()
        .unwrap();
    let update = "mutation($id: Int!, $js: String) { pages { update(id: $id, scriptJs: $js) { responseResult { succeeded errorCode slug } } } }";
    let r =
        w.s.gql(update, json!({"id": id, "js": "alert(1)"}), Some(&w.editor))
            .await;
    refused(result_of(&r, "pages.update"), 6009, "PageUpdateForbidden");
    let r =
        w.s.gql(
            update,
            json!({"id": id, "js": "console.log(1)"}),
            Some(&w.admin),
        )
        .await;
    assert_eq!(
        result_of(&r, "pages.update")["succeeded"],
        true,
        "{}",
        r.body
    );
    // The editor may change the page while leaving the script as it is.
    let r = w
        .mutate(
            Some(&w.editor),
            UPDATE,
            "update",
            json!({"id": id, "content": "changed"}),
        )
        .await;
    assert_eq!(r["succeeded"], true, "{r}");
}

#[tokio::test]
async fn a_search_engine_that_fails_is_4001_with_its_cause_in_the_log_only() {
    let w = wiki().await;
    w.id_of("docs/indexed").await;
    let (engine, index) = match errata_test_support::backend() {
        errata_store::Backend::Sqlite => ("sqlite", "pages_fts"),
        errata_store::Backend::Postgres => ("postgres", "pages_vector"),
    };
    let update = "mutation($e: [SearchEngineInput]) { search { updateSearchEngines(engines: $e) { responseResult { succeeded message } } } }";
    let r =
        w.s.gql(
            update,
            json!({"e": [{"key": engine, "isEnabled": true}]}),
            Some(&w.admin),
        )
        .await;
    assert_eq!(
        result_of(&r, "search.updateSearchEngines")["succeeded"],
        true,
        "{}",
        r.body
    );
    let db = w.s.database().await;
    sqlx::query(&format!("DROP TABLE {index}"))
        .execute(&db)
        .await
        .unwrap();
    db.close().await;
    let r = w
        .query(
            None,
            "{ pages { search(query: \"Hello\") { totalHits } } }",
            json!({}),
        )
        .await;
    assert_eq!(
        error_code(&r),
        (4001, "INTERNAL_SERVER_ERROR".to_owned()),
        "{r}"
    );
    assert!(
        !r.to_string().contains(index),
        "the cause stays in the log: {r}"
    );
}

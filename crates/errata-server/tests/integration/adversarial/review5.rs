//! A fifth review, with a fresh eye, of pages and search: what page rules
//! and publishing hide, bad input, and what a cheap request costs. Each
//! test is named after the hole it demonstrates, and fails while the hole
//! is open. They run on the backend `ERRATA_TEST_BACKEND` names.

use std::time::{Duration, Instant};

use errata_store::Backend;
use serde_json::{Value, json};

use crate::pages::{PASSWORD, READER, Wiki, wiki};

/// Gives the reader a group of its own with `permissions` and page
/// `rules`, and answers a new session of theirs.
async fn reader_with(w: &Wiki, permissions: &[&str], rules: Value) -> String {
    let group = w
        .query(
            Some(&w.admin),
            "mutation { groups { create(name: \"Review5\") { group { id } } } }",
            json!({}),
        )
        .await;
    let group_id = group["data"]["groups"]["create"]["group"]["id"]
        .as_i64()
        .expect("a group");
    let r = w
        .query(
            Some(&w.admin),
            "mutation($id: Int!, $p: [String!], $r: [PageRuleInput!]) { groups { update(id: $id, permissions: $p, pageRules: $r) { responseResult { succeeded message } } } }",
            json!({"id": group_id, "p": permissions, "r": rules}),
        )
        .await;
    assert_eq!(
        r["data"]["groups"]["update"]["responseResult"]["succeeded"], true,
        "{r}"
    );
    let users = w
        .query(Some(&w.admin), "{ users { list { id email } } }", json!({}))
        .await;
    let reader_id = users["data"]["users"]["list"]
        .as_array()
        .unwrap()
        .iter()
        .find(|u| u["email"] == READER)
        .unwrap()["id"]
        .as_i64()
        .unwrap();
    let r = w
        .query(
            Some(&w.admin),
            "mutation($g: Int!, $u: Int!) { groups { assignUser(groupId: $g, userId: $u) { responseResult { succeeded message } } } }",
            json!({"g": group_id, "u": reader_id}),
        )
        .await;
    assert_eq!(
        r["data"]["groups"]["assignUser"]["responseResult"]["succeeded"], true,
        "{r}"
    );
    w.s.session(READER, PASSWORD).await
}

/// Activates the backend's own full-text engine.
async fn native_engine(w: &Wiki) {
    let native = match errata_test_support::backend() {
        Backend::Sqlite => "sqlite",
        Backend::Postgres => "postgres",
    };
    let r = w
        .query(
            Some(&w.admin),
            "mutation($e: [SearchEngineInput]) { search { updateSearchEngines(engines: $e) { responseResult { succeeded message } } } }",
            json!({"e": [{"key": native, "isEnabled": true}]}),
        )
        .await;
    assert_eq!(
        r["data"]["search"]["updateSearchEngines"]["responseResult"]["succeeded"], true,
        "{r}"
    );
}

async fn page(w: &Wiki, path: &str, content: &str, tags: &[&str], start: Option<&str>) -> i64 {
    let created = w
        .create_with(
            &w.admin,
            json!({"content": content, "path": path, "locale": "en", "title": format!("Title of {path}"), "tags": tags, "pub": true, "start": start}),
        )
        .await;
    assert_eq!(created["responseResult"]["succeeded"], true, "{created}");
    created["page"]["id"].as_i64().unwrap()
}

async fn suggestions(w: &Wiki, token: Option<&str>, query: &str) -> Vec<String> {
    let r = w
        .query(
            token,
            "query($q: String!) { pages { search(query: $q) { totalHits suggestions } } }",
            json!({"q": query}),
        )
        .await;
    assert!(r["errors"].is_null(), "{r}");
    r["data"]["pages"]["search"]["suggestions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s.as_str().unwrap_or_default().to_owned())
        .collect()
}

/// The full-text engines suggest words of their whole index when a search
/// finds little: the index holds every published page, and (on
/// PostgreSQL) every word it ever held, so a misspelt search spells out
/// the words of pages a page rule hides, of pages not published yet, and
/// of pages deleted since.
#[tokio::test]
async fn search_suggestions_spell_out_words_of_pages_the_caller_may_not_read() {
    let w = wiki().await;
    native_engine(&w).await;
    page(&w, "docs/open", "Nothing to see here.", &[], None).await;
    page(
        &w,
        "docs/vault",
        "The codeword is zanzibarquux.",
        &["vault"],
        None,
    )
    .await;
    page(
        &w,
        "docs/embargo",
        "Next quarter we announce quokkafrobnitz.",
        &[],
        Some("2999-01-01T00:00:00Z"),
    )
    .await;
    let gone = page(&w, "docs/gone", "Retracted: xylophonistry.", &[], None).await;
    let r = w
        .mutate(
            Some(&w.admin),
            "mutation($id: Int!) { pages { delete(id: $id) { responseResult { succeeded message } } } }",
            "delete",
            json!({"id": gone}),
        )
        .await;
    assert_eq!(r["succeeded"], true, "{r}");
    let reader = reader_with(
        &w,
        &["read:pages"],
        json!([{"match": "TAG", "path": "vault", "roles": ["read:pages"], "deny": true}]),
    )
    .await;
    let leaked = suggestions(&w, Some(&reader), "zanzibarqux").await;
    assert!(
        !leaked.iter().any(|s| s.starts_with("zanzibar")),
        "a page rule hides docs/vault, yet the reader is told its word: {leaked:?}"
    );
    let leaked = suggestions(&w, None, "quokkafrobnits").await;
    assert!(
        !leaked.iter().any(|s| s.starts_with("quokka")),
        "docs/embargo is published in 2999, yet a guest is told its word: {leaked:?}"
    );
    let leaked = suggestions(&w, None, "xylophonistri").await;
    assert!(
        !leaked.iter().any(|s| s.starts_with("xylophonist")),
        "docs/gone is deleted, yet a guest is told its word: {leaked:?}"
    );
    // Words of pages the caller may read are still suggested.
    page(&w, "docs/fine", "Our mascot is a wombatling.", &[], None).await;
    let kept = suggestions(&w, Some(&reader), "wombatlinq").await;
    assert!(
        kept.iter().any(|s| s.starts_with("wombat")),
        "a readable page's word (on PostgreSQL, its stem) is suggested: {kept:?}"
    );
}

const TREE: &str =
    "query($p: String) { pages { tree(path: $p, mode: ALL, locale: \"en\") { path pageId } } }";

async fn tree_beside(w: &Wiki, token: Option<&str>, path: &str) -> Value {
    let r = w.query(token, TREE, json!({"p": path})).await;
    assert!(r["errors"].is_null(), "{r}");
    r["data"]["pages"]["tree"].clone()
}

/// `tree(path:)` answers the entries beside a path, found by the path
/// alone: asked beside a page a rule hides, or one not published yet, it
/// answers that page's siblings, and beside a path where nothing is, an
/// empty list. Anyone could tell which hidden paths exist.
#[tokio::test]
async fn the_tree_tells_whether_a_hidden_page_exists_at_a_path() {
    let w = wiki().await;
    page(&w, "docs/public", "Open.", &[], None).await;
    page(&w, "docs/hidden", "Hidden.", &[], None).await;
    page(
        &w,
        "docs/draft",
        "Not yet.",
        &[],
        Some("2999-01-01T00:00:00Z"),
    )
    .await;
    let reader = reader_with(
        &w,
        &["read:pages"],
        json!([{"match": "EXACT", "path": "/docs/hidden", "roles": ["read:pages"], "deny": true}]),
    )
    .await;
    let nowhere = tree_beside(&w, Some(&reader), "docs/nothing-here").await;
    assert_eq!(nowhere, json!([]));
    let beside_hidden = tree_beside(&w, Some(&reader), "docs/hidden").await;
    assert_eq!(
        beside_hidden, nowhere,
        "asked beside a page a rule hides from them, the reader learns it exists"
    );
    let beside_draft = tree_beside(&w, None, "docs/draft").await;
    assert_eq!(
        beside_draft, nowhere,
        "asked beside a page published in 2999, a guest learns it exists"
    );
    // Beside a page they may read, the answer is the level, as in Wiki.js.
    let beside_public = tree_beside(&w, Some(&reader), "docs/public").await;
    let paths: Vec<&str> = beside_public
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|e| e["path"].as_str())
        .collect();
    assert_eq!(paths, ["docs/public"], "{beside_public}");
}

/// `create` asks for `write:pages` where the page will be, its tags
/// included, but `update` and `restore` only where it is: a writer whom a
/// TAG rule allows on `sandbox` pages alone moves a page out of the
/// sandbox by retagging it, and writes a page under a tag they may not
/// write.
#[tokio::test]
async fn a_sandbox_writer_retags_a_page_out_of_the_sandbox() {
    let w = wiki().await;
    let writer = reader_with(
        &w,
        &["read:pages", "write:pages"],
        json!([
            {"match": "START", "path": "/", "roles": ["write:pages"], "deny": true},
            {"match": "TAG", "path": "sandbox", "roles": ["write:pages"], "deny": false}
        ]),
    )
    .await;
    let official = w
        .create_with(&writer, json!({"content": "x", "path": "play/ground", "locale": "en", "title": "t", "tags": ["official"], "pub": true}))
        .await;
    assert_eq!(official["responseResult"]["errorCode"], 6008, "{official}");
    let made = w
        .create_with(&writer, json!({"content": "x", "path": "play/ground", "locale": "en", "title": "t", "tags": ["sandbox"], "pub": true}))
        .await;
    assert_eq!(made["responseResult"]["succeeded"], true, "{made}");
    let id = made["page"]["id"].as_i64().unwrap();
    let r = w
        .mutate(
            Some(&writer),
            "mutation($id: Int!) { pages { update(id: $id, content: \"Official policy.\", tags: [\"official\"]) { responseResult { succeeded errorCode slug message } } } }",
            "update",
            json!({"id": id}),
        )
        .await;
    assert_eq!(
        r["errorCode"], 6009,
        "the writer may not write official pages, yet retags one into them: {r}"
    );
    // Restoring a version tagged as the writer may not write is refused
    // too: the administrator tags the page official, then sandbox again.
    for tags in [json!(["official"]), json!(["sandbox"])] {
        let r = w
            .mutate(
                Some(&w.admin),
                "mutation($id: Int!, $t: [String]) { pages { update(id: $id, tags: $t) { responseResult { succeeded message } } } }",
                "update",
                json!({"id": id, "t": tags}),
            )
            .await;
        assert_eq!(r["succeeded"], true, "{r}");
    }
    let history = w
        .query(
            Some(&w.admin),
            "query($id: Int!) { pages { history(id: $id) { trail { versionId } } } }",
            json!({"id": id}),
        )
        .await;
    let official_version = history["data"]["pages"]["history"]["trail"][0]["versionId"]
        .as_i64()
        .unwrap();
    let r = w
        .mutate(
            Some(&writer),
            "mutation($p: Int!, $v: Int!) { pages { restore(pageId: $p, versionId: $v) { responseResult { succeeded errorCode slug message } } } }",
            "restore",
            json!({"p": id, "v": official_version}),
        )
        .await;
    assert_eq!(
        r["errorCode"], 6011,
        "restoring the official version makes an official page the writer may not write: {r}"
    );
}

/// Paths refuse controls but take invisible and direction-changing
/// characters, and any Unicode normal form: an editor whom a rule keeps out
/// of `/locked` writes `locked\u{200B}/notice` or an NFD spelling of a
/// protected path, which readers see as the protected path itself.
#[tokio::test]
async fn an_editor_kept_out_of_a_folder_writes_into_a_look_alike_of_it() {
    let w = wiki().await;
    for path in [
        "locked\u{200B}/notice",
        "\u{2060}locked/notice",
        "locked/\u{202E}eciton",
        "docs/\u{FEFF}x",
    ] {
        let r = w.create(&w.editor, path, "Look-alike.").await;
        assert_eq!(
            r["responseResult"]["errorCode"], 6005,
            "{path:?} is written: {r}"
        );
    }
    // A rule on the NFC spelling holds against the NFD one: both are one
    // path.
    let writer = reader_with(
        &w,
        &["read:pages", "write:pages"],
        json!([{"match": "START", "path": "/caf\u{e9}", "roles": ["write:pages"], "deny": true}]),
    )
    .await;
    let r = w.create(&writer, "cafe\u{301}/menu", "Look-alike.").await;
    assert_eq!(
        r["responseResult"]["errorCode"], 6008,
        "the NFD spelling of /café gets around the rule on /café: {r}"
    );
    let made = w.create(&w.admin, "cafe\u{301}/menu", "Menu.").await;
    assert_eq!(made["page"]["path"], "caf\u{e9}/menu", "{made}");
}

/// Content is refused when its elements nest deeper than 256, counted
/// from its tags. html5ever also opens elements no tag opens: formatting
/// elements (`<font>`, `<b>`, ...) closed by a block's end stay in its list
/// of active formatting elements and are opened again before the next
/// text. `<div>` with 200 distinct `<font>`s, `</div>`, a letter, again
/// and again, never counts past 201, while the real nesting grows by 200 a
/// round: a megabyte nests some 60,000 deep, and html5ever spends seconds
/// of CPU on it for every write.
#[tokio::test]
async fn formatting_elements_reopened_by_the_parser_get_past_the_depth_limit() {
    let w = wiki().await;
    let mut content = String::new();
    let mut n = 0;
    while content.len() < 900 * 1024 {
        content.push_str("<div>");
        for _ in 0..200 {
            n += 1;
            content.push_str(&format!("<font size={n}>"));
        }
        content.push_str("</div>x");
    }
    let started = Instant::now();
    let r = w
        .mutate(
            Some(&w.editor),
            "mutation($c: String!) { pages { create(content: $c, description: \"\", editor: \"ckeditor\", isPublished: true, isPrivate: false, locale: \"en\", path: \"docs/fonts\", tags: [], title: \"t\") { responseResult { succeeded errorCode slug message } } } }",
            "create",
            json!({"c": content}),
        )
        .await;
    let took = started.elapsed();
    assert!(
        took < Duration::from_secs(2),
        "one create of {} KiB took {took:?}: {r}",
        content.len() / 1024
    );
    assert_eq!(r["errorCode"], 6101, "{r}");
}

/// `version` checks `read:history` where the page is now. Versions keep
/// where the page was when they were recorded: a page written under
/// `/secret`, cleaned up and moved to `/public`, hands its secret versions
/// to anyone who may read `/public`'s history.
#[tokio::test]
async fn versions_written_where_the_reader_may_not_read_follow_their_page_out() {
    let w = wiki().await;
    let id = page(&w, "secret/plan", "We launch at dawn.", &[], None).await;
    let r = w
        .mutate(
            Some(&w.admin),
            "mutation($id: Int!) { pages { update(id: $id, content: \"Nothing here.\") { responseResult { succeeded message } } } }",
            "update",
            json!({"id": id}),
        )
        .await;
    assert_eq!(r["succeeded"], true, "{r}");
    let r = w
        .mutate(
            Some(&w.admin),
            "mutation($id: Int!) { pages { move(id: $id, destinationPath: \"public/plan\", destinationLocale: \"en\") { responseResult { succeeded message } } } }",
            "move",
            json!({"id": id}),
        )
        .await;
    assert_eq!(r["succeeded"], true, "{r}");
    let reader = reader_with(
        &w,
        &["read:pages", "read:history"],
        json!([{"match": "START", "path": "/secret", "roles": ["read:pages", "read:history"], "deny": true}]),
    )
    .await;
    let history = w
        .query(
            Some(&reader),
            "query($id: Int!) { pages { history(id: $id) { trail { versionId actionType } } } }",
            json!({"id": id}),
        )
        .await;
    let trail = history["data"]["pages"]["history"]["trail"]
        .as_array()
        .unwrap_or_else(|| panic!("{history}"))
        .clone();
    for entry in trail {
        let r = w
            .query(
                Some(&reader),
                "query($p: Int!, $v: Int!) { pages { version(pageId: $p, versionId: $v) { path content } } }",
                json!({"p": id, "v": entry["versionId"]}),
            )
            .await;
        let content = r["data"]["pages"]["version"]["content"].as_str();
        assert_ne!(
            content,
            Some("We launch at dawn."),
            "the reader reads a version written under /secret: {r}"
        );
        if r["errors"].is_array() {
            assert_eq!(r["errors"][0]["extensions"]["errorCode"], 6012, "{r}");
        }
    }
}

/// The tree is kept by every write in its transaction, but a delete that
/// empties a folder and a create that adds a page to it, at the same time,
/// each see the folder as the other left it: on PostgreSQL the delete
/// drops the folder the create just put its page under, and the page falls
/// out of the tree.
#[tokio::test]
async fn a_create_racing_a_delete_in_one_folder_falls_out_of_the_tree() {
    let w = wiki().await;
    const DELETE: &str = "mutation($id: Int!) { pages { delete(id: $id) { responseResult { succeeded message } } } }";
    for round in 0..12 {
        let folder = format!("race{round}/inner");
        let old = page(&w, &format!("{folder}/old"), "Old.", &[], None).await;
        let new_path = format!("{folder}/new");
        let (deleted, created) = tokio::join!(
            w.mutate(Some(&w.admin), DELETE, "delete", json!({"id": old})),
            w.create(&w.admin, &new_path, "New."),
        );
        assert_eq!(deleted["succeeded"], true, "{deleted}");
        assert_eq!(created["responseResult"]["succeeded"], true, "{created}");
        let beside = tree_beside(&w, Some(&w.admin), &format!("{folder}/new")).await;
        assert!(
            beside
                .as_array()
                .unwrap()
                .iter()
                .any(|e| e["path"] == format!("{folder}/new")),
            "round {round}: {folder}/new is not in the tree: {beside}"
        );
    }
}

/// Tags are kept by every write, and a tag no page has any more is
/// dropped. On PostgreSQL, a create giving a page a tag and a delete of
/// the last other page with it, at the same time: the delete sees the tag
/// unused (the create's link is not committed) and drops it, and its
/// cascade takes the new page's link along.
#[tokio::test]
async fn a_create_racing_the_delete_of_a_tags_last_page_loses_its_tag() {
    let w = wiki().await;
    const DELETE: &str = "mutation($id: Int!) { pages { delete(id: $id) { responseResult { succeeded message } } } }";
    for round in 0..12 {
        let tag = format!("shared{round}");
        let old = page(&w, &format!("tagged/old{round}"), "Old.", &[&tag], None).await;
        let new_path = format!("tagged/new{round}");
        let (deleted, created) = tokio::join!(
            w.mutate(Some(&w.admin), DELETE, "delete", json!({"id": old})),
            w.create_with(
                &w.admin,
                json!({"content": "New.", "path": new_path, "locale": "en", "title": "t", "tags": [tag], "pub": true})
            ),
        );
        assert_eq!(deleted["succeeded"], true, "{deleted}");
        assert_eq!(created["responseResult"]["succeeded"], true, "{created}");
        let r = w
            .query(
                Some(&w.admin),
                "query($p: String!) { pages { singleByPath(path: $p, locale: \"en\") { tags { tag } } } }",
                json!({"p": new_path}),
            )
            .await;
        assert_eq!(
            r["data"]["pages"]["singleByPath"]["tags"],
            json!([{"tag": tag}]),
            "round {round}: {r}"
        );
    }
}

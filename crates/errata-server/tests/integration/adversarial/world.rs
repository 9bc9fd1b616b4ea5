//! What the adversarial tests share: a world of users, groups, tokens and
//! clients made through the API as an administrator would make them.

use std::net::{IpAddr, Ipv4Addr};

use serde_json::json;

use errata_test_support::{ADMIN_EMAIL, ADMIN_PASSWORD, Reply, TestServer, result_of};

/// The password of every user these helpers create.
pub const PASSWORD: &str = "a long enough password";

const CREATE_TOKEN: &str = "mutation($n: String!, $p: [String!]!) { createApiToken(name: $n, permissions: $p) { responseResult { succeeded slug } token { id } secret } }";

pub async fn admin(s: &TestServer) -> String {
    s.session(ADMIN_EMAIL, ADMIN_PASSWORD).await
}

pub async fn create_user(s: &TestServer, token: &str, email: &str, groups: &[i64]) -> Reply {
    s.gql(
        "mutation($e: String!, $p: String!, $g: [Int!]!) { users { create(email: $e, passwordRaw: $p, groups: $g) { responseResult { succeeded slug } user { id } } } }",
        json!({"e": email, "p": PASSWORD, "g": groups}),
        Some(token),
    )
    .await
}

/// Creates a user in `groups` (Users when empty) as the administrator; the id.
pub async fn user_in(s: &TestServer, email: &str, groups: &[i64]) -> i64 {
    let token = admin(s).await;
    let r = s
        .gql(
            "mutation($e: String!, $p: String!, $g: [Int!]!) { users { create(email: $e, passwordRaw: $p, groups: $g) { responseResult { succeeded slug } user { id } } } }",
            json!({"e": email, "p": PASSWORD, "g": groups}),
            Some(&token),
        )
        .await;
    r.body["data"]["users"]["create"]["user"]["id"]
        .as_i64()
        .unwrap_or_else(|| panic!("the user is created: {}", r.body))
}

/// Creates a group with `permissions` as the administrator; its id.
pub async fn group_with(s: &TestServer, name: &str, permissions: &[&str]) -> i64 {
    let token = admin(s).await;
    let r = s
        .gql(
            "mutation($n: String!) { groups { create(name: $n) { group { id } } } }",
            json!({"n": name}),
            Some(&token),
        )
        .await;
    let id = r.body["data"]["groups"]["create"]["group"]["id"]
        .as_i64()
        .unwrap_or_else(|| panic!("the group is created: {}", r.body));
    let r = s
        .gql(
            "mutation($id: Int!, $p: [String!]) { groups { update(id: $id, permissions: $p) { responseResult { succeeded } } } }",
            json!({"id": id, "p": permissions}),
            Some(&token),
        )
        .await;
    assert_eq!(
        result_of(&r, "groups.update")["succeeded"],
        true,
        "{}",
        r.body
    );
    id
}

/// A session of a new user holding exactly `permissions`, and their id.
pub async fn holder_of(s: &TestServer, email: &str, permissions: &[&str]) -> (String, i64) {
    let group = group_with(s, &format!("holders of {email}"), permissions).await;
    let id = user_in(s, email, &[group]).await;
    (s.session(email, PASSWORD).await, id)
}

pub async fn profile(s: &TestServer, token: &str) -> Reply {
    s.gql(
        "{ users { profile { id email groups { id } } } }",
        json!({}),
        Some(token),
    )
    .await
}

/// Creates an API token with `session`; the reply.
pub async fn create_token(
    s: &TestServer,
    session: &str,
    name: &str,
    permissions: &[&str],
) -> Reply {
    s.gql(
        CREATE_TOKEN,
        json!({"n": name, "p": permissions}),
        Some(session),
    )
    .await
}

/// The bearer token and the id of a new API token.
pub async fn api_token(s: &TestServer, session: &str, permissions: &[&str]) -> (String, String) {
    let r = create_token(s, session, "script", permissions).await;
    let created = &r.body["data"]["createApiToken"];
    (
        created["secret"]
            .as_str()
            .unwrap_or_else(|| panic!("{}", r.body))
            .to_owned(),
        created["token"]["id"].as_str().unwrap().to_owned(),
    )
}

/// Asks the token endpoint for an access token with a client's credentials.
pub async fn client_token(s: &TestServer, id: &str, secret: &str) -> Reply {
    Reply::read(
        s.client
            .post(s.url("/oauth/token"))
            .form(&[
                ("grant_type", "client_credentials"),
                ("client_id", id),
                ("client_secret", secret),
            ])
            .send()
            .await
            .expect("the request is sent"),
    )
    .await
}

pub fn client_from(ip: Ipv4Addr) -> reqwest::Client {
    reqwest::Client::builder()
        .local_address(IpAddr::V4(ip))
        .build()
        .expect("a client")
}

pub fn slugs_of(r: &Reply, path: &str) -> Vec<String> {
    let mut v = &r.body["data"];
    for part in path.split('.') {
        v = &v[part];
    }
    v.as_object()
        .unwrap_or_else(|| panic!("{}", r.body))
        .values()
        .map(|v| {
            v["responseResult"]["slug"]
                .as_str()
                .unwrap_or("")
                .to_owned()
        })
        .collect()
}

/// Every verification token mailed to `email`, in no particular order,
/// once the outbox has delivered what was queued.
pub async fn mailed_tokens(s: &TestServer, email: &str) -> Vec<String> {
    s.outbox_drained().await;
    let mut tokens = Vec::new();
    for entry in std::fs::read_dir(s.data.join("mail")).expect("mail was written") {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "eml") {
            let text = std::fs::read_to_string(&path).unwrap();
            if text.contains(email)
                && let Some(token) = text
                    .lines()
                    .find_map(|l| l.strip_prefix("Verification token: "))
            {
                tokens.push(token.trim().to_owned());
            }
        }
    }
    tokens
}

/// A client at `ip` from which `email` (with `PASSWORD`) has signed in, so
/// that the server knows the network as theirs.
pub async fn signed_in_from(s: &TestServer, ip: Ipv4Addr, email: &str) -> reqwest::Client {
    let client = client_from(ip);
    let r = s
        .gql_with(
            &client,
            errata_test_support::LOGIN,
            json!({"u": email, "p": PASSWORD}),
            None,
        )
        .await;
    assert!(
        r.body["data"]["authentication"]["login"]["jwt"].is_string(),
        "{}",
        r.body
    );
    client
}

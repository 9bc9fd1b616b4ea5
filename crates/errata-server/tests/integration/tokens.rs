//! Bearer authentication (RFC 6750, seeds 002 and 003), permissions
//! (seed 001), API tokens, and the OAuth 2.0 token endpoint (RFC 6749
//! §4.4, §5.2), over real HTTP.

use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use errata_identity::jwt::{Claims, Kind};
use errata_test_support::{ADMIN_EMAIL, ADMIN_PASSWORD, JWT_SECRET, Reply, TestServer, result_of};
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde_json::{Value, json};

const USER: &str = "ann@example.com";
const PASSWORD: &str = "ann's long password";

fn now() -> i64 {
    errata_identity::now()
}

fn claims(sub: &str) -> Claims {
    Claims {
        iss: "errata".into(),
        aud: "errata".into(),
        sub: sub.into(),
        iat: now(),
        nbf: now(),
        exp: now() + 600,
        jti: "forged".into(),
        knd: Kind::Session,
        generation: 0,
        scope: None,
        cid: None,
        ugen: None,
        auth: None,
    }
}

fn sign(claims: &Claims, alg: Algorithm) -> String {
    jsonwebtoken::encode(
        &Header::new(alg),
        claims,
        &EncodingKey::from_secret(JWT_SECRET.as_bytes()),
    )
    .unwrap()
}

async fn profile(s: &TestServer, token: &str) -> Reply {
    s.gql("{ users { profile { email } } }", json!({}), Some(token))
        .await
}

#[tokio::test]
async fn without_a_token_the_caller_is_a_guest_and_user_fields_are_401() {
    let s = TestServer::identity(&[]).await;
    let r = s.gql("{ catalog { name } }", json!({}), None).await;
    assert_eq!(r.status, 200);
    let r = s
        .gql(
            "{ catalog { name } users { list { id } } }",
            json!({}),
            None,
        )
        .await;
    assert_eq!(r.status, 401, "{}", r.body);
    assert_eq!(
        r.header("www-authenticate"),
        Some("Bearer realm=\"errata\"")
    );
    assert_eq!(r.extensions()["code"], "UNAUTHENTICATED");
    assert_eq!(r.slug(), "AuthenticationRequired");
    assert_eq!(
        r.extensions()["requiredPermissions"],
        json!(["manage:users"])
    );
    assert_eq!(
        r.body["data"]["catalog"]["name"], "errata",
        "the rest of the data comes back"
    );
    assert_eq!(r.body["errors"][0]["path"], json!(["users", "list"]));
}

#[tokio::test]
async fn a_token_that_is_not_a_jwt_is_400_and_a_bad_header_too() {
    let s = TestServer::identity(&[]).await;
    let r = profile(&s, "definitely-not-a-jwt").await;
    assert_eq!((r.status, r.slug()), (400, "TokenMalformed"));
    assert_eq!(r.extensions()["code"], "BAD_USER_INPUT");
    assert!(
        r.header("www-authenticate")
            .unwrap()
            .contains("error=\"invalid_request\"")
    );
    assert!(!r.has_data());
    let r = Reply::read(
        s.client
            .post(s.url("/graphql"))
            .header("content-type", "application/json")
            .header("authorization", "Basic YWxhZGRpbjpvcGVuc2VzYW1l")
            .body(r#"{"query":"{ catalog { name } }"}"#)
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!((r.status, r.slug()), (400, "AuthorizationHeaderInvalid"));
}

#[tokio::test]
async fn invalid_expired_early_foreign_and_unsigned_tokens_are_401_with_a_challenge() {
    let s = TestServer::identity(&[]).await;
    let admin = s.session(ADMIN_EMAIL, ADMIN_PASSWORD).await;
    assert_eq!(profile(&s, &admin).await.status, 200);
    let sub = "2";

    // Wrong signature: the last character of the signature changed.
    let mut tampered = admin.clone();
    let last = tampered.pop().unwrap();
    tampered.push(if last == 'A' { 'B' } else { 'A' });
    let r = profile(&s, &tampered).await;
    assert_eq!((r.status, r.slug()), (401, "TokenInvalid"));
    assert_eq!(r.extensions()["code"], "UNAUTHENTICATED");
    let challenge = r.header("www-authenticate").unwrap().to_owned();
    assert!(
        challenge
            .starts_with("Bearer realm=\"errata\", error=\"invalid_token\", error_description=\""),
        "{challenge}"
    );
    assert!(
        r.body["errors"][0]["message"]
            .as_str()
            .unwrap()
            .ends_with("Request a new token and retry.")
    );
    // Refused again, the answer is the kept one, with this request's id.
    let again = profile(&s, &tampered).await;
    assert_eq!((again.status, again.slug()), (401, "TokenInvalid"));
    assert_eq!(again.header("www-authenticate"), Some(challenge.as_str()));
    assert_eq!(
        again.body["errors"][0]["message"],
        r.body["errors"][0]["message"]
    );
    let id = again.header("x-request-id").unwrap();
    assert_eq!(again.extensions()["requestId"], id);
    assert_eq!(again.body["extensions"]["requestId"], id);
    assert_ne!(again.extensions()["requestId"], r.extensions()["requestId"]);

    let mut expired = claims(sub);
    expired.iat = now() - 7200;
    expired.nbf = now() - 7200;
    expired.exp = now() - 3600;
    assert_eq!(
        profile(&s, &sign(&expired, Algorithm::HS256)).await.slug(),
        "TokenExpired"
    );

    let mut early = claims(sub);
    early.nbf = now() + 3600;
    assert_eq!(
        profile(&s, &sign(&early, Algorithm::HS256)).await.slug(),
        "TokenNotYetValid"
    );

    let mut foreign = claims(sub);
    foreign.aud = "another-api".into();
    let r = profile(&s, &sign(&foreign, Algorithm::HS256)).await;
    assert_eq!((r.status, r.slug()), (401, "TokenInvalid"));
    assert!(
        r.body["errors"][0]["message"]
            .as_str()
            .unwrap()
            .contains("another audience")
    );

    // alg: none, unsigned.
    let payload = URL_SAFE_NO_PAD.encode(serde_json::to_vec(&claims(sub)).unwrap());
    let none = format!(
        "{}.{payload}.",
        URL_SAFE_NO_PAD.encode(br#"{"alg":"none","typ":"JWT"}"#)
    );
    let r = profile(&s, &none).await;
    assert_eq!((r.status, r.slug()), (401, "TokenInvalid"), "{}", r.body);

    // Algorithm confusion: an RS256 header over an HMAC of the key.
    let header = URL_SAFE_NO_PAD.encode(br#"{"alg":"RS256","typ":"JWT"}"#);
    let hs = sign(&claims(sub), Algorithm::HS256);
    let signature = hs.rsplit('.').next().unwrap();
    let confused = format!("{header}.{payload}.{signature}");
    let r = profile(&s, &confused).await;
    assert_eq!((r.status, r.slug()), (401, "TokenInvalid"));
    assert!(
        r.body["errors"][0]["message"]
            .as_str()
            .unwrap()
            .contains("\"RS256\" is not accepted")
    );
    // HS512 with the right key is refused too: the algorithm is pinned.
    assert_eq!(
        profile(&s, &sign(&claims(sub), Algorithm::HS512))
            .await
            .slug(),
        "TokenInvalid"
    );

    // A forged token for a user that does not exist.
    assert_eq!(
        profile(&s, &sign(&claims("999"), Algorithm::HS256))
            .await
            .slug(),
        "TokenRevoked"
    );
}

#[tokio::test]
async fn bearer_tokens_are_checked_on_every_endpoint_but_the_probes() {
    let s = TestServer::identity(&[]).await;
    for path in ["/errors", "/errors.json", "/metrics"] {
        let r = Reply::read(
            s.client
                .get(s.url(path))
                .bearer_auth("junk")
                .send()
                .await
                .unwrap(),
        )
        .await;
        assert_eq!(r.status, 400, "{path}");
        let r = Reply::read(s.client.get(s.url(path)).send().await.unwrap()).await;
        assert_eq!(r.status, 200, "{path}");
    }
    let r = s
        .client
        .get(s.url("/healthz"))
        .bearer_auth("junk")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
}

#[tokio::test]
async fn a_missing_permission_is_403_naming_it_and_the_rest_of_the_data_comes_back() {
    let s = TestServer::identity(&[(USER, PASSWORD, false)]).await;
    let ann = s.session(USER, PASSWORD).await;
    let r = s
        .gql(
            "{ catalog { name } users { list { id } } groups { list { id } } }",
            json!({}),
            Some(&ann),
        )
        .await;
    assert_eq!(r.status, 200, "partial success: {}", r.body);
    assert_eq!(r.body["data"]["catalog"]["name"], "errata");
    assert_eq!(r.body["data"]["users"]["list"], Value::Null);
    assert_eq!(r.extensions()["code"], "FORBIDDEN");
    assert_eq!(
        r.body["errors"][0]["message"],
        "You are not authorized to run this query. Required permission 'manage:users' is not present."
    );
    assert_eq!(
        r.extensions()["requiredPermissions"],
        json!(["manage:users"])
    );
    assert_eq!(
        r.body["errors"][1]["extensions"]["requiredPermissions"],
        json!(["manage:groups"])
    );
    assert!(r.body["errors"][0]["locations"].is_array());
    // Only the field is null: its non-null parent stays an object.
    assert_eq!(r.body["data"]["users"], json!({"list": null}));
    // The same goes for mutations.
    let r = s
        .gql(
            "mutation { groups { delete(id: 3) { responseResult { succeeded } } } }",
            json!({}),
            Some(&ann),
        )
        .await;
    assert_eq!(
        r.body["data"],
        json!({"groups": {"delete": null}}),
        "{}",
        r.body
    );
    assert_eq!(r.slug(), "PermissionMissing");
}

#[tokio::test]
async fn the_schema_shows_what_each_field_needs() {
    let sdl = errata_server::schema::sdl();
    assert!(
        sdl.contains("directive @requires(permission: String!) on FIELD_DEFINITION"),
        "{sdl}"
    );
    assert!(
        sdl.contains("list: [User!] @requires(permission: \"manage:users\")"),
        "{sdl}"
    );
    assert!(sdl.contains("profile: User @authenticated"), "{sdl}");
}

#[tokio::test]
async fn groups_grant_permissions_and_check_page_rules() {
    let s = TestServer::identity(&[(USER, PASSWORD, false)]).await;
    let admin = s.session(ADMIN_EMAIL, ADMIN_PASSWORD).await;
    let r = s.gql("mutation { groups { create(name: \"Editors\") { responseResult { succeeded } group { id } } } }", json!({}), Some(&admin)).await;
    let group = r.body["data"]["groups"]["create"]["group"]["id"].clone();
    let r = s.gql(
        "mutation($g: Int!) { groups { update(id: $g, permissions: [\"write:pages\", \"manage:users\"], pageRules: [{permissions: [\"write:pages\"], path: \"/docs\"}]) { responseResult { succeeded } group { permissions pageRules { path deny } } } } }",
        json!({"g": group}),
        Some(&admin),
    ).await;
    assert_eq!(
        r.body["data"]["groups"]["update"]["group"]["permissions"],
        json!(["write:pages", "manage:users"]),
        "{}",
        r.body
    );
    // A bad rule is a domain failure, with the rule's index.
    let r = s.gql(
        "mutation($g: Int!) { groups { update(id: $g, pageRules: [{permissions: [\"manage:users\"], path: \"/\"}]) { responseResult { succeeded errorCode slug message } } } }",
        json!({"g": group}),
        Some(&admin),
    ).await;
    let result = result_of(&r, "groups.update");
    assert_eq!(
        (result["slug"].as_str(), result["errorCode"].as_i64()),
        (Some("PageRuleInvalid"), Some(9017))
    );
    assert!(
        result["message"]
            .as_str()
            .unwrap()
            .starts_with("Page rule 0 is invalid")
    );
    // Unknown permissions suggest the closest.
    let r = s.gql("mutation($g: Int!) { groups { update(id: $g, permissions: [\"manage:user\"]) { responseResult { slug message } } } }", json!({"g": group}), Some(&admin)).await;
    assert_eq!(result_of(&r, "groups.update")["slug"], "PermissionUnknown");
    // Ann joins the group and gets its permissions at once, on her existing session.
    let ann = s.session(USER, PASSWORD).await;
    assert!(
        s.gql("{ users { list { id } } }", json!({}), Some(&ann))
            .await
            .body["data"]["users"]["list"]
            .is_null()
    );
    let ann_id = 3;
    let r = s.gql("mutation($g: Int!, $u: Int!) { groups { assignUser(groupId: $g, userId: $u) { responseResult { succeeded } } } }", json!({"g": group, "u": ann_id}), Some(&admin)).await;
    assert_eq!(
        result_of(&r, "groups.assignUser")["succeeded"],
        true,
        "{}",
        r.body
    );
    assert!(
        s.gql("{ users { list { id } } }", json!({}), Some(&ann))
            .await
            .body["data"]["users"]["list"]
            .is_array()
    );
    // The system groups are protected.
    let r = s
        .gql(
            "mutation { groups { delete(id: 1) { responseResult { slug } } } }",
            json!({}),
            Some(&admin),
        )
        .await;
    assert_eq!(
        result_of(&r, "groups.delete")["slug"],
        "GroupProtected",
        "{}",
        r.body
    );
    let r = s.gql("mutation { groups { update(id: 1, permissions: [\"read:pages\"]) { responseResult { slug } } } }", json!({}), Some(&admin)).await;
    assert_eq!(
        result_of(&r, "groups.update")["slug"],
        "GroupProtected",
        "{}",
        r.body
    );
}

const CREATE_TOKEN: &str = "mutation($n: String!, $p: [String!]!) { createApiToken(name: $n, permissions: $p, expirationDays: 30) { responseResult { succeeded errorCode slug message } token { id name permissions expiration lastUsed revoked } secret } }";

#[tokio::test]
async fn api_tokens_carry_a_subset_of_their_creators_permissions_until_revoked() {
    let s = TestServer::identity(&[(USER, PASSWORD, false)]).await;
    let admin = s.session(ADMIN_EMAIL, ADMIN_PASSWORD).await;
    let r = s
        .gql(
            CREATE_TOKEN,
            json!({"n": "reporting", "p": ["manage:users"]}),
            Some(&admin),
        )
        .await;
    let created = &r.body["data"]["createApiToken"];
    assert_eq!(created["responseResult"]["succeeded"], true, "{}", r.body);
    assert_eq!(created["token"]["permissions"], json!(["manage:users"]));
    assert_eq!(created["token"]["lastUsed"], Value::Null);
    let secret = created["secret"].as_str().unwrap().to_owned();
    let id = created["token"]["id"].as_str().unwrap().to_owned();

    // It can do what it was given, and nothing else its creator can.
    assert!(
        s.gql("{ users { list { id } } }", json!({}), Some(&secret))
            .await
            .body["data"]["users"]["list"]
            .is_array()
    );
    let r = s
        .gql("{ groups { list { id } } }", json!({}), Some(&secret))
        .await;
    assert_eq!(
        r.extensions()["requiredPermissions"],
        json!(["manage:groups"])
    );
    // Tokens do not mint tokens.
    let r = s
        .gql(CREATE_TOKEN, json!({"n": "child", "p": []}), Some(&secret))
        .await;
    assert_eq!(r.slug(), "SessionRequired");

    // The listing never shows the secret, and knows when the token was used.
    let r = s
        .gql(
            "{ apiTokens { id name lastUsed revoked } }",
            json!({}),
            Some(&admin),
        )
        .await;
    assert_eq!(r.body["data"]["apiTokens"][0]["id"], id.as_str());
    assert!(
        r.body["data"]["apiTokens"][0]["lastUsed"].is_string(),
        "{}",
        r.body
    );
    assert!(!r.body.to_string().contains(&secret));

    // A user cannot hand on what they do not have.
    let ann = s.session(USER, PASSWORD).await;
    let r = s
        .gql(
            CREATE_TOKEN,
            json!({"n": "mine", "p": ["manage:users"]}),
            Some(&ann),
        )
        .await;
    assert_eq!(
        (r.slug(), r.extensions()["code"].as_str()),
        ("PermissionNotGrantable", Some("FORBIDDEN"))
    );
    let r = s
        .gql(
            "mutation($id: String!) { revokeApiToken(id: $id) { responseResult { slug } } }",
            json!({"id": id}),
            Some(&ann),
        )
        .await;
    assert_eq!(
        r.body["data"]["revokeApiToken"]["responseResult"]["slug"], "ApiTokenNotFound",
        "not hers"
    );

    let r = s.gql("mutation($id: String!) { revokeApiToken(id: $id) { responseResult { succeeded } token { revoked } } }", json!({"id": id}), Some(&admin)).await;
    assert_eq!(
        r.body["data"]["revokeApiToken"]["token"]["revoked"], true,
        "{}",
        r.body
    );
    let r = s
        .gql("{ users { list { id } } }", json!({}), Some(&secret))
        .await;
    assert_eq!((r.status, r.slug()), (401, "TokenRevoked"));
    assert!(
        r.header("www-authenticate")
            .unwrap()
            .contains("invalid_token")
    );

    // An API token past its expiry is refused as expired.
    let r = s
        .gql(
            CREATE_TOKEN,
            json!({"n": "short", "p": ["manage:users"]}),
            Some(&admin),
        )
        .await;
    let id = r.body["data"]["createApiToken"]["token"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let mut old = claims("2");
    old.knd = Kind::Api;
    old.jti = id;
    old.scope = Some("manage:users".into());
    old.iat = now() - 7200;
    old.nbf = now() - 7200;
    old.exp = now() - 3600;
    assert_eq!(
        profile(&s, &sign(&old, Algorithm::HS256)).await.slug(),
        "TokenExpired"
    );
}

async fn token_request(s: &TestServer, form: &str, basic: Option<(&str, &str)>) -> Reply {
    let mut request = s
        .client
        .post(s.url("/oauth/token"))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(form.to_owned());
    if let Some((id, secret)) = basic {
        request = request.basic_auth(id, Some(secret));
    }
    Reply::read(request.send().await.unwrap()).await
}

fn oauth_error(r: &Reply, status: u16, error: &str) {
    assert_eq!(r.status, status, "{}", r.body);
    assert_eq!(r.body["error"], error, "{}", r.body);
    let description = r.body["error_description"].as_str().unwrap();
    assert!(!description.is_empty());
    // RFC 6749 §5.2: %x20-21 / %x23-5B / %x5D-7E.
    assert!(
        description
            .bytes()
            .all(|b| matches!(b, 0x20..=0x21 | 0x23..=0x5B | 0x5D..=0x7E)),
        "{description}"
    );
    assert_eq!(r.header("cache-control"), Some("no-store"));
    assert!(r.body.get("errors").is_none(), "OAuth format, not GraphQL");
}

/// A server with a client (scope manage:users) owned by Ann, an administrator.
async fn with_client() -> (TestServer, String, String) {
    let config = errata_test_support::identity_config();
    errata_test_support::with_users(&config, &[(USER, PASSWORD, true)]).await;
    let admin = errata_server::admin::Admin::open(&config).await.unwrap();
    let created = admin
        .create_client("robot", &["manage:users".to_owned()], Some(30), Some(USER))
        .await
        .unwrap();
    admin.close().await;
    let id = created["client_id"].as_str().unwrap().to_owned();
    let secret = created["client_secret"].as_str().unwrap().to_owned();
    (TestServer::start(config).await, id, secret)
}

#[tokio::test]
async fn client_credentials_give_a_bearer_token_with_basic_or_body_authentication() {
    let (s, id, secret) = with_client().await;
    let r = token_request(&s, "grant_type=client_credentials", Some((&id, &secret))).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.header("cache-control"), Some("no-store"));
    assert_eq!(r.body["token_type"], "Bearer");
    assert_eq!(r.body["expires_in"], 3600);
    assert_eq!(r.body["scope"], "manage:users");
    let token = r.body["access_token"].as_str().unwrap().to_owned();
    let users = s
        .gql("{ users { list { email } } }", json!({}), Some(&token))
        .await;
    assert!(
        users.body["data"]["users"]["list"].is_array(),
        "{}",
        users.body
    );
    // The client acts as Ann, within its scope: Ann may manage groups, the client may not.
    let r = s
        .gql("{ groups { list { id } } }", json!({}), Some(&token))
        .await;
    assert_eq!(
        r.extensions()["requiredPermissions"],
        json!(["manage:groups"])
    );

    let form = format!(
        "grant_type=client_credentials&client_id={id}&client_secret={secret}&scope=manage%3Ausers"
    );
    assert_eq!(token_request(&s, &form, None).await.status, 200);
    let r = Reply::read(
        s.client
            .post(s.url("/oauth/token"))
            .json(&json!({"grant_type": "client_credentials", "client_id": id, "client_secret": secret}))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(r.status, 200, "JSON is accepted too: {}", r.body);
}

#[tokio::test]
async fn token_endpoint_errors_follow_rfc_6749() {
    let (s, id, secret) = with_client().await;
    // invalid_client: wrong secret and unknown id read the same.
    let r = token_request(&s, "grant_type=client_credentials", Some((&id, "wrong"))).await;
    oauth_error(&r, 401, "invalid_client");
    assert_eq!(r.body["error_description"], "Invalid client credentials");
    assert!(
        r.header("www-authenticate")
            .unwrap()
            .starts_with("Basic realm=\"errata\"")
    );
    let unknown = token_request(
        &s,
        "grant_type=client_credentials",
        Some(("nobody", "wrong")),
    )
    .await;
    assert_eq!(
        unknown.body["error_description"],
        r.body["error_description"]
    );
    let r = token_request(
        &s,
        &format!("grant_type=client_credentials&client_id={id}&client_secret=wrong"),
        None,
    )
    .await;
    oauth_error(&r, 401, "invalid_client");
    assert_eq!(
        r.header("www-authenticate"),
        None,
        "no Basic challenge when Basic was not used"
    );
    // invalid_request: each missing parameter, repeated ones, two methods, bad bodies.
    oauth_error(
        &token_request(&s, "", Some((&id, &secret))).await,
        400,
        "invalid_request",
    );
    oauth_error(
        &token_request(&s, "grant_type=client_credentials", None).await,
        400,
        "invalid_request",
    );
    let r = token_request(
        &s,
        &format!("grant_type=client_credentials&client_id={id}"),
        None,
    )
    .await;
    oauth_error(&r, 400, "invalid_request");
    assert!(
        r.body["error_description"]
            .as_str()
            .unwrap()
            .contains("client_secret")
    );
    let r = token_request(
        &s,
        "grant_type=client_credentials&grant_type=client_credentials",
        Some((&id, &secret)),
    )
    .await;
    oauth_error(&r, 400, "invalid_request");
    let r = token_request(
        &s,
        &format!("grant_type=client_credentials&client_secret={secret}"),
        Some((&id, &secret)),
    )
    .await;
    oauth_error(&r, 400, "invalid_request");
    let r = Reply::read(
        s.client
            .post(s.url("/oauth/token"))
            .header("content-type", "text/plain")
            .body("x")
            .send()
            .await
            .unwrap(),
    )
    .await;
    oauth_error(&r, 400, "invalid_request");
    // unsupported_grant_type, invalid_scope.
    let r = token_request(
        &s,
        "grant_type=password&username=a&password=b",
        Some((&id, &secret)),
    )
    .await;
    oauth_error(&r, 400, "unsupported_grant_type");
    // Whatever the client sends and whatever language it asks for, the
    // description stays in the RFC's characters.
    let r = Reply::read(
        s.client
            .post(s.url("/oauth/token"))
            .header("content-type", "application/x-www-form-urlencoded")
            .header("accept-language", "fr")
            .body("grant_type=%22%C3%A9t%C3%A9%5C%22")
            .send()
            .await
            .unwrap(),
    )
    .await;
    oauth_error(&r, 400, "unsupported_grant_type");
    assert_eq!(
        r.body["error_description"],
        "The grant type ''?t??'' is not supported. Only client_credentials is supported."
    );
    let r = token_request(
        &s,
        "grant_type=client_credentials&scope=manage%3Agroups",
        Some((&id, &secret)),
    )
    .await;
    oauth_error(&r, 400, "invalid_scope");
    let r = token_request(
        &s,
        "grant_type=client_credentials&scope=fly",
        Some((&id, &secret)),
    )
    .await;
    oauth_error(&r, 400, "invalid_scope");
    // Oversized credentials and bodies.
    let long = "s".repeat(10_000);
    let r = token_request(
        &s,
        &format!("grant_type=client_credentials&client_id={id}&client_secret={long}"),
        None,
    )
    .await;
    oauth_error(&r, 400, "invalid_request");
    let r = token_request(
        &s,
        &format!("grant_type=client_credentials&pad={}", "x".repeat(100_000)),
        None,
    )
    .await;
    oauth_error(&r, 413, "invalid_request");
    // Only POST.
    let r = Reply::read(s.client.get(s.url("/oauth/token")).send().await.unwrap()).await;
    oauth_error(&r, 405, "invalid_request");
    assert_eq!(r.header("allow"), Some("POST"));
    // SQL-like strings are only data.
    let r = token_request(
        &s,
        "grant_type=client_credentials&client_id=x'%20OR%201%3D1--&client_secret=x'%20OR%201%3D1--",
        None,
    )
    .await;
    oauth_error(&r, 401, "invalid_client");
}

#[tokio::test]
async fn expiring_rotating_and_disabling_clients() {
    let (s, id, secret) = with_client().await;
    let admin = s.session(ADMIN_EMAIL, ADMIN_PASSWORD).await;
    let token = token_request(&s, "grant_type=client_credentials", Some((&id, &secret)))
        .await
        .body["access_token"]
        .as_str()
        .unwrap()
        .to_owned();

    // Unknown ids in admin queries: seed 002's NOT_FOUND.
    let r = s
        .gql(
            "{ oauthClients { single(clientId: \"nope\") { name } } }",
            json!({}),
            Some(&admin),
        )
        .await;
    assert_eq!(
        (
            r.extensions()["code"].as_str(),
            r.body["errors"][0]["message"].as_str()
        ),
        (Some("NOT_FOUND"), Some("Credential not found"))
    );

    // Expired: invalid_client saying so, and its tokens stop.
    let r = s.gql("mutation($c: String!) { oauthClients { expire(clientId: $c) { client { expired } } } }", json!({"c": id}), Some(&admin)).await;
    assert_eq!(
        r.body["data"]["oauthClients"]["expire"]["client"]["expired"], true,
        "{}",
        r.body
    );
    let r = token_request(&s, "grant_type=client_credentials", Some((&id, &secret))).await;
    oauth_error(&r, 401, "invalid_client");
    assert!(
        r.body["error_description"]
            .as_str()
            .unwrap()
            .contains("expired"),
        "{}",
        r.body
    );
    assert_eq!(profile(&s, &token).await.slug(), "TokenRevoked");

    // Rotation revives it with a new secret; the old secret stops working.
    let r = s.gql("mutation($c: String!) { oauthClients { rotateSecret(clientId: $c) { client { expired } clientSecret } } }", json!({"c": id}), Some(&admin)).await;
    let rotated = &r.body["data"]["oauthClients"]["rotateSecret"];
    assert_eq!(rotated["client"]["expired"], false, "{}", r.body);
    let new_secret = rotated["clientSecret"].as_str().unwrap().to_owned();
    oauth_error(
        &token_request(&s, "grant_type=client_credentials", Some((&id, &secret))).await,
        401,
        "invalid_client",
    );
    let fresh = token_request(
        &s,
        "grant_type=client_credentials",
        Some((&id, &new_secret)),
    )
    .await;
    assert_eq!(fresh.status, 200);
    let fresh = fresh.body["access_token"].as_str().unwrap().to_owned();
    // unauthorized_client: the user it acts as is banned.
    let r = s
        .gql(
            "mutation { users { ban(id: 3) { responseResult { succeeded } } } }",
            json!({}),
            Some(&admin),
        )
        .await;
    assert_eq!(result_of(&r, "users.ban")["succeeded"], true);
    oauth_error(
        &token_request(
            &s,
            "grant_type=client_credentials",
            Some((&id, &new_secret)),
        )
        .await,
        400,
        "unauthorized_client",
    );
    assert_eq!(profile(&s, &fresh).await.status, 401);
}

#[tokio::test]
async fn basic_credentials_that_do_not_decode_are_invalid_client() {
    let (s, _, _) = with_client().await;
    let r = Reply::read(
        s.client
            .post(s.url("/oauth/token"))
            .header("content-type", "application/x-www-form-urlencoded")
            .header(
                "authorization",
                format!("Basic {}", STANDARD.encode("no colon here")),
            )
            .body("grant_type=client_credentials")
            .send()
            .await
            .unwrap(),
    )
    .await;
    oauth_error(&r, 401, "invalid_client");
    assert!(r.header("www-authenticate").is_some());
}

#[tokio::test]
async fn authenticated_callers_are_rate_limited_by_who_they_are_not_their_address() {
    let mut config = errata_test_support::identity_config();
    config.rate_limit = errata_server::RateLimit::PerSecond(0.01);
    config.rate_limit_burst = Some(3);
    errata_test_support::with_users(&config, &[(USER, PASSWORD, false)]).await;
    let s = TestServer::start(config).await;
    // Logging in costs the address one request each.
    let admin = s.session(ADMIN_EMAIL, ADMIN_PASSWORD).await;
    let ann = s.session(USER, PASSWORD).await;
    let r = s.gql("{ catalog { name } }", json!({}), None).await;
    assert_eq!(r.status, 200);
    let r = s.gql("{ catalog { name } }", json!({}), None).await;
    assert_eq!(
        (r.status, r.slug()),
        (429, "HttpRateLimited"),
        "the address's bucket is empty"
    );
    // Each signed-in caller has a bucket of their own, from the same address.
    for token in [&admin, &ann] {
        for _ in 0..3 {
            assert_eq!(
                s.gql("{ catalog { name } }", json!({}), Some(token))
                    .await
                    .status,
                200
            );
        }
        assert_eq!(
            s.gql("{ catalog { name } }", json!({}), Some(token))
                .await
                .status,
            429
        );
    }
}

#[tokio::test]
async fn a_refused_token_leaves_the_connection_usable_for_the_next_request() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let s = TestServer::identity(&[]).await;
    let mut stream = tokio::net::TcpStream::connect(s.server.addr())
        .await
        .unwrap();
    let body = r#"{"query":"{ catalog { name } }"}"#;
    for token in ["junk", "junk"] {
        let head = format!(
            "POST /graphql HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nAuthorization: Bearer {token}\r\nContent-Length: {}\r\n\r\n",
            body.len()
        );
        // The body follows the head in another packet, as it does when a
        // client writes them separately.
        stream.write_all(head.as_bytes()).await.unwrap();
        stream.flush().await.unwrap();
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        stream.write_all(body.as_bytes()).await.unwrap();
        let mut buf = vec![0u8; 4096];
        let n = stream.read(&mut buf).await.unwrap();
        let text = String::from_utf8_lossy(&buf[..n]);
        assert!(text.starts_with("HTTP/1.1 400"), "{text}");
        assert!(
            !text.to_ascii_lowercase().contains("connection: close"),
            "{text}"
        );
    }
}

#[tokio::test]
async fn changes_made_by_the_command_line_reach_a_running_server() {
    let mut config = errata_test_support::identity_config();
    config.auth.directory_refresh_secs = 1;
    errata_test_support::with_users(&config, &[(USER, PASSWORD, true)]).await;
    let admin = errata_server::admin::Admin::open(&config).await.unwrap();
    let created = admin
        .create_client("robot", &["manage:users".to_owned()], None, Some(USER))
        .await
        .unwrap();
    admin.close().await;
    let (id, secret) = (
        created["client_id"].as_str().unwrap().to_owned(),
        created["client_secret"].as_str().unwrap().to_owned(),
    );
    let s = TestServer::start(config.clone()).await;
    let r = token_request(&s, "grant_type=client_credentials", Some((&id, &secret))).await;
    let token = r.body["access_token"].as_str().unwrap().to_owned();
    assert_eq!(profile(&s, &token).await.status, 200);
    // An operator expires the client from the command line while the server runs.
    let admin = errata_server::admin::Admin::open(&config).await.unwrap();
    admin.expire_client(&id).await.unwrap();
    admin.close().await;
    tokio::time::sleep(std::time::Duration::from_millis(2500)).await;
    assert_eq!(profile(&s, &token).await.slug(), "TokenRevoked");
}

//! Every 1xxx code of the Wiki.js table, produced through the public API of
//! a real server, and the attacks the identity issue names: brute force from
//! many addresses and against many accounts, concurrent attempts, timing,
//! oversized credentials, SQL-like strings.

use std::net::{IpAddr, Ipv4Addr};
use std::time::{Duration, Instant};

use errata_test_support::{
    ADMIN_EMAIL, ADMIN_PASSWORD, LOGIN, TestServer, enable_tfa, identity_config, mailed_token,
    result_of, with_users,
};
use serde_json::{Value, json};

const USER: &str = "ann@example.com";
const PASSWORD: &str = "ann's long password";

fn failed(result: &Value, slug: &str, code: i64) {
    assert_eq!(result["succeeded"], false, "{result}");
    assert_eq!(result["slug"], slug, "{result}");
    assert_eq!(result["errorCode"], code, "{result}");
    assert!(result["message"].as_str().is_some_and(|m| !m.is_empty()));
}

async fn register(s: &TestServer, email: &str, password: &str, name: &str) -> Value {
    let r = s
        .gql(
            "mutation($e: String!, $p: String!, $n: String!) { authentication { register(email: $e, password: $p, name: $n) { responseResult { succeeded errorCode slug message } } } }",
            json!({"e": email, "p": password, "n": name}),
            None,
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    result_of(&r, "authentication.register").clone()
}

async fn verify(s: &TestServer, token: &str) -> Value {
    let r = s
        .gql(
            "mutation($t: String!, $p: String!) { authentication { verifyAccount(token: $t, password: $p) { responseResult { succeeded errorCode slug message } } } }",
            json!({"t": token, "p": PASSWORD}),
            None,
        )
        .await;
    result_of(&r, "authentication.verifyAccount").clone()
}

#[tokio::test]
async fn a_correct_login_gives_a_session_that_works() {
    let s = TestServer::identity(&[(USER, PASSWORD, false)]).await;
    let login = s.login(USER, PASSWORD).await;
    assert_eq!(login["responseResult"]["succeeded"], true);
    assert_eq!(login["responseResult"]["errorCode"], 0);
    assert_eq!(login["tfaRequired"], false);
    let jwt = login["jwt"].as_str().unwrap();
    let r = s
        .gql(
            "{ users { profile { email groups { name } } } }",
            json!({}),
            Some(jwt),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["data"]["users"]["profile"]["email"], USER);
    assert_eq!(
        r.body["data"]["users"]["profile"]["groups"][0]["name"],
        "Users"
    );
}

#[tokio::test]
async fn auth_login_failed_is_the_same_for_unknown_users_and_wrong_passwords() {
    let s = TestServer::identity(&[(USER, PASSWORD, false)]).await;
    let unknown = s.login("nobody@example.com", PASSWORD).await;
    let wrong = s.login(USER, "not the password").await;
    failed(&unknown["responseResult"], "AuthLoginFailed", 1002);
    assert_eq!(unknown, wrong, "nothing tells the two apart");
    assert_eq!(unknown["jwt"], Value::Null);
}

#[tokio::test]
async fn auth_provider_invalid_for_an_unknown_strategy() {
    let s = TestServer::identity(&[]).await;
    let r = s
        .gql(
            "mutation { authentication { login(username: \"a@b.io\", password: \"x\", strategy: \"ldap\") { responseResult { succeeded errorCode slug message } } } }",
            json!({}),
            None,
        )
        .await;
    failed(
        result_of(&r, "authentication.login"),
        "AuthProviderInvalid",
        1003,
    );
}

#[tokio::test]
async fn auth_account_already_exists_on_registration_and_creation() {
    let s = TestServer::identity(&[(USER, PASSWORD, false)]).await;
    failed(
        &register(&s, "ANN@example.com", PASSWORD, "Ann").await,
        "AuthAccountAlreadyExists",
        1004,
    );
    let admin = s.session(ADMIN_EMAIL, ADMIN_PASSWORD).await;
    let r = s
        .gql(
            "mutation($e: String!) { users { create(email: $e, passwordRaw: \"another password\") { responseResult { succeeded slug errorCode message } user { id } } } }",
            json!({"e": USER}),
            Some(&admin),
        )
        .await;
    failed(
        result_of(&r, "users.create"),
        "AuthAccountAlreadyExists",
        1004,
    );
    assert_eq!(r.body["data"]["users"]["create"]["user"], Value::Null);
}

fn now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

const LOGIN_TFA: &str = "mutation($t: String!, $c: String!) { authentication { loginTFA(loginToken: $t, securityCode: $c) { responseResult { succeeded errorCode slug message } jwt } } }";

async fn login_tfa(s: &TestServer, token: &str, code: &str) -> Value {
    let r = s.gql(LOGIN_TFA, json!({"t": token, "c": code}), None).await;
    assert_eq!(r.status, 200, "{}", r.body);
    r.body["data"]["authentication"]["loginTFA"].clone()
}

#[tokio::test]
async fn tfa_login_accepts_a_step_either_side_and_refuses_wrong_malformed_and_reused_codes() {
    let s = TestServer::identity(&[(USER, PASSWORD, false)]).await;
    let session = s.session(USER, PASSWORD).await;
    let secret = enable_tfa(&s, &session, PASSWORD).await;

    let login = s.login(USER, PASSWORD).await;
    assert_eq!(login["tfaRequired"], true);
    assert_eq!(login["jwt"], Value::Null);
    let token = login["tfaLoginToken"].as_str().unwrap().to_owned();

    // AuthTFAFailed: a well-formed code that is wrong.
    let right = errata_identity::tfa::code_at(&secret, now()).unwrap();
    let near: Vec<String> = [now() - 30, now(), now() + 30, now() + 60]
        .iter()
        .map(|t| errata_identity::tfa::code_at(&secret, *t).unwrap())
        .collect();
    let wrong = ["000000", "111111", "222222", "333333", "444444"]
        .into_iter()
        .find(|c| !near.iter().any(|n| n == c))
        .unwrap();
    failed(
        &login_tfa(&s, &token, wrong).await["responseResult"],
        "AuthTFAFailed",
        1005,
    );
    // AuthTFAInvalid: a malformed code, or an unknown login token.
    failed(
        &login_tfa(&s, &token, "12ab56").await["responseResult"],
        "AuthTFAInvalid",
        1006,
    );
    failed(
        &login_tfa(&s, "not-a-login-token", &right).await["responseResult"],
        "AuthTFAInvalid",
        1006,
    );

    // The next step's code works too (clock drift, one step ahead).
    let next = errata_identity::tfa::code_at(&secret, now() + 30).unwrap();
    let ok = login_tfa(&s, &token, &next).await;
    assert_eq!(ok["responseResult"]["succeeded"], true, "{ok}");
    assert!(ok["jwt"].as_str().is_some());
    // The login token is single use.
    failed(
        &login_tfa(&s, &token, &next).await["responseResult"],
        "AuthTFAInvalid",
        1006,
    );
    // And a code, or an older one, is never accepted again, even with a new login token.
    let again = s.login(USER, PASSWORD).await["tfaLoginToken"]
        .as_str()
        .unwrap()
        .to_owned();
    failed(
        &login_tfa(&s, &again, &next).await["responseResult"],
        "AuthTFAFailed",
        1005,
    );
    failed(
        &login_tfa(&s, &again, &right).await["responseResult"],
        "AuthTFAFailed",
        1005,
    );
}

#[tokio::test]
async fn brute_instance_is_invalid_when_the_attempt_store_fails() {
    let s = TestServer::identity(&[(USER, PASSWORD, false)]).await;
    // The store breaks as a full disk or a corrupted table would.
    s.break_inserts("login_attempts", "disk I/O error").await;
    let login = s.login(USER, PASSWORD).await;
    failed(&login["responseResult"], "BruteInstanceIsInvalid", 1007);
    assert_eq!(login["jwt"], Value::Null, "no protection, no login");
    assert!(
        !login.to_string().contains("disk I/O"),
        "the cause stays in the logs"
    );
}

#[tokio::test]
async fn brute_too_many_attempts_locks_the_account_and_survives_a_restart() {
    let config = identity_config();
    with_users(&config, &[(USER, PASSWORD, false)]).await;
    let s = TestServer::start(config.clone()).await;
    for _ in 0..3 {
        failed(
            &s.login(USER, "wrong password").await["responseResult"],
            "AuthLoginFailed",
            1002,
        );
    }
    let locked = s.login(USER, PASSWORD).await;
    failed(&locked["responseResult"], "BruteTooManyAttempts", 1008);
    let retry = locked["responseResult"]["retryAfter"].as_i64().unwrap();
    assert!((1..=60).contains(&retry), "{retry}");
    s.server.shutdown().await.unwrap();

    let s = TestServer::start(config).await;
    let still = s.login(USER, PASSWORD).await;
    failed(&still["responseResult"], "BruteTooManyAttempts", 1008);
}

#[tokio::test]
async fn a_success_before_the_limit_clears_the_account_counter() {
    let s = TestServer::identity(&[(USER, PASSWORD, false)]).await;
    for _ in 0..2 {
        s.login(USER, "wrong password").await;
    }
    s.session(USER, PASSWORD).await;
    for _ in 0..2 {
        failed(
            &s.login(USER, "wrong password").await["responseResult"],
            "AuthLoginFailed",
            1002,
        );
    }
    s.session(USER, PASSWORD).await;
}

fn client_from(ip: Ipv4Addr) -> reqwest::Client {
    reqwest::Client::builder()
        .local_address(IpAddr::V4(ip))
        .build()
        .unwrap()
}

#[tokio::test]
async fn brute_force_from_many_addresses_against_one_account_is_locked_by_the_account() {
    let s = TestServer::identity(&[(USER, PASSWORD, false)]).await;
    let mut slugs = Vec::new();
    for i in 0..6u8 {
        let client = client_from(Ipv4Addr::new(127, 0, 0, 10 + i));
        let r = s
            .gql_with(
                &client,
                LOGIN,
                json!({"u": USER, "p": format!("guess {i}")}),
                None,
            )
            .await;
        slugs.push(
            result_of(&r, "authentication.login")["slug"]
                .as_str()
                .unwrap()
                .to_owned(),
        );
    }
    assert_eq!(slugs[..3], ["AuthLoginFailed"; 3]);
    assert_eq!(slugs[3..], ["BruteTooManyAttempts"; 3], "{slugs:?}");
}

#[tokio::test]
async fn brute_force_from_one_address_against_many_accounts_is_locked_by_the_address() {
    let mut config = identity_config();
    config.auth.brute_force.ip_free_attempts = 5;
    with_users(&config, &[(USER, PASSWORD, false)]).await;
    let s = TestServer::start(config).await;
    let attacker = client_from(Ipv4Addr::new(127, 0, 0, 42));
    let mut slugs = Vec::new();
    for i in 0..8 {
        let r = s
            .gql_with(
                &attacker,
                LOGIN,
                json!({"u": format!("user{i}@example.com"), "p": "password1"}),
                None,
            )
            .await;
        slugs.push(
            result_of(&r, "authentication.login")["slug"]
                .as_str()
                .unwrap()
                .to_owned(),
        );
    }
    assert_eq!(slugs[..5], ["AuthLoginFailed"; 5], "{slugs:?}");
    assert_eq!(slugs[5..], ["BruteTooManyAttempts"; 3], "{slugs:?}");
    // The address is locked even for a real account with its real password,
    // while the same account logs in from elsewhere.
    let r = s
        .gql_with(&attacker, LOGIN, json!({"u": USER, "p": PASSWORD}), None)
        .await;
    assert_eq!(
        result_of(&r, "authentication.login")["slug"],
        "BruteTooManyAttempts"
    );
    s.session(USER, PASSWORD).await;
}

#[tokio::test]
async fn concurrent_attempts_do_not_get_past_the_counter() {
    let s = TestServer::identity(&[(USER, PASSWORD, false)]).await;
    let attempts = (0..20).map(|i| {
        let s = &s;
        async move {
            let login = s.login(USER, &format!("wrong password {i}")).await;
            login["responseResult"]["slug"].as_str().unwrap().to_owned()
        }
    });
    let slugs = futures_util::future::join_all(attempts).await;
    let checked = slugs.iter().filter(|s| *s == "AuthLoginFailed").count();
    let locked = slugs
        .iter()
        .filter(|s| *s == "BruteTooManyAttempts")
        .count();
    assert_eq!(
        checked, 3,
        "only the free attempts reach the password check: {slugs:?}"
    );
    assert_eq!(locked, 17);
}

#[tokio::test]
async fn login_takes_as_long_for_unknown_and_known_users() {
    let mut config = identity_config();
    config.auth.brute_force.account_free_attempts = 1000;
    with_users(&config, &[(USER, PASSWORD, false)]).await;
    let s = TestServer::start(config).await;
    // Warm up: the first unknown-user login hashes the equalizer once.
    s.login("warm@example.com", "x").await;
    let mut known = Vec::new();
    let mut unknown = Vec::new();
    for i in 0..8 {
        let started = Instant::now();
        s.login(USER, &format!("wrong {i}")).await;
        known.push(started.elapsed());
        let started = Instant::now();
        s.login(&format!("ghost{i}@example.com"), "wrong").await;
        unknown.push(started.elapsed());
    }
    known.sort();
    unknown.sort();
    let (k, u) = (known[4].as_secs_f64(), unknown[4].as_secs_f64());
    // Without the equalizer, an unknown user answers in well under a
    // tenth of the time of an argon2 verification.
    assert!(
        u > k * 0.5 && u < k * 2.0,
        "median known {k:.4}s, unknown {u:.4}s"
    );
}

#[tokio::test]
async fn user_creation_failed_when_the_store_refuses_the_user() {
    let s = TestServer::identity(&[]).await;
    s.break_inserts("users", "database or disk is full").await;
    let result = register(&s, "new@example.com", PASSWORD, "New").await;
    failed(&result, "UserCreationFailed", 1009);
    assert!(
        !result.to_string().contains("disk"),
        "the cause stays in the logs"
    );
}

#[tokio::test]
async fn auth_registration_disabled() {
    let mut config = identity_config();
    config.auth.registration = false;
    let s = TestServer::start(config).await;
    failed(
        &register(&s, "new@example.com", PASSWORD, "New").await,
        "AuthRegistrationDisabled",
        1010,
    );
}

#[tokio::test]
async fn auth_registration_domain_unauthorized_outside_the_whitelist() {
    let mut config = identity_config();
    config.auth.registration_domains = vec!["example.com".to_owned()];
    let s = TestServer::start(config).await;
    failed(
        &register(&s, "eve@evil.test", PASSWORD, "Eve").await,
        "AuthRegistrationDomainUnauthorized",
        1011,
    );
    assert_eq!(
        register(&s, "bob@EXAMPLE.com", PASSWORD, "Bob").await["succeeded"],
        true
    );
}

#[tokio::test]
async fn input_invalid_for_bad_addresses_short_passwords_and_oversized_credentials() {
    let s = TestServer::identity(&[]).await;
    let bad = register(&s, "not-an-address", PASSWORD, "X").await;
    failed(&bad, "InputInvalid", 1012);
    failed(
        &register(&s, "x@example.com", "short", "X").await,
        "InputInvalid",
        1012,
    );
    failed(
        &register(&s, "x@example.com", PASSWORD, "").await,
        "InputInvalid",
        1012,
    );
    let huge = "p".repeat(100_000);
    failed(
        &register(&s, "x@example.com", &huge, "X").await,
        "InputInvalid",
        1012,
    );
    failed(
        &s.login(&format!("{}@example.com", "a".repeat(10_000)), PASSWORD)
            .await["responseResult"],
        "InputInvalid",
        1012,
    );
    failed(
        &s.login(ADMIN_EMAIL, &huge).await["responseResult"],
        "InputInvalid",
        1012,
    );
    // Oversized input is refused before it is counted or hashed.
    s.session(ADMIN_EMAIL, ADMIN_PASSWORD).await;
}

#[tokio::test]
async fn registration_needs_verification_and_tokens_work_once() {
    let s = TestServer::identity(&[]).await;
    assert_eq!(
        register(&s, "new@example.com", PASSWORD, "New").await["succeeded"],
        true
    );
    // AuthAccountNotVerified.
    failed(
        &s.login("new@example.com", PASSWORD).await["responseResult"],
        "AuthAccountNotVerified",
        1014,
    );
    let token = mailed_token(&s, "new@example.com").await;
    // The token alone is not enough: the password chosen at registration
    // must come with it, and a wrong one leaves the token unused.
    let r = s
        .gql(
            "mutation($t: String!) { authentication { verifyAccount(token: $t, password: \"not the password\") { responseResult { slug } } } }",
            json!({"t": token}),
            None,
        )
        .await;
    assert_eq!(
        result_of(&r, "authentication.verifyAccount")["slug"],
        "AuthLoginFailed"
    );
    assert_eq!(verify(&s, &token).await["succeeded"], true);
    s.session("new@example.com", PASSWORD).await;
    // AuthValidationTokenInvalid: reused, unknown, and expired tokens.
    failed(
        &verify(&s, &token).await,
        "AuthValidationTokenInvalid",
        1015,
    );
    failed(
        &verify(&s, "made-up").await,
        "AuthValidationTokenInvalid",
        1015,
    );
    assert_eq!(
        register(&s, "late@example.com", PASSWORD, "Late").await["succeeded"],
        true
    );
    let late = mailed_token(&s, "late@example.com").await;
    sqlx::query(
        "UPDATE one_time_tokens SET expires_at = 0 WHERE kind = 'verify' AND used_at IS NULL",
    )
    .execute(&s.database().await)
    .await
    .unwrap();
    failed(&verify(&s, &late).await, "AuthValidationTokenInvalid", 1015);
}

#[tokio::test]
async fn auth_account_banned_and_the_banned_users_tokens_stop_working() {
    let s = TestServer::identity(&[(USER, PASSWORD, false)]).await;
    let admin = s.session(ADMIN_EMAIL, ADMIN_PASSWORD).await;
    let session = s.session(USER, PASSWORD).await;
    let id = s
        .gql("{ users { profile { id } } }", json!({}), Some(&session))
        .await
        .body["data"]["users"]["profile"]["id"]
        .clone();
    let r = s
        .gql(
            "mutation($id: Int!) { users { ban(id: $id) { responseResult { succeeded } } } }",
            json!({"id": id}),
            Some(&admin),
        )
        .await;
    assert_eq!(result_of(&r, "users.ban")["succeeded"], true, "{}", r.body);
    failed(
        &s.login(USER, PASSWORD).await["responseResult"],
        "AuthAccountBanned",
        1013,
    );
    let r = s
        .gql("{ users { profile { id } } }", json!({}), Some(&session))
        .await;
    assert_eq!(r.status, 401);
    assert_eq!(r.slug(), "TokenRevoked");
    // Lifting the ban does not bring old sessions back.
    s.gql(
        "mutation($id: Int!) { users { unban(id: $id) { responseResult { succeeded } } } }",
        json!({"id": id}),
        Some(&admin),
    )
    .await;
    assert_eq!(
        s.gql("{ users { profile { id } } }", json!({}), Some(&session))
            .await
            .status,
        401
    );
    s.session(USER, PASSWORD).await;
}

#[tokio::test]
async fn user_not_found_in_queries_and_mutations() {
    let s = TestServer::identity(&[]).await;
    let admin = s.session(ADMIN_EMAIL, ADMIN_PASSWORD).await;
    let r = s
        .gql(
            "{ catalog { name } users { single(id: 999) { id } } }",
            json!({}),
            Some(&admin),
        )
        .await;
    assert_eq!(r.status, 200, "partial data: {}", r.body);
    assert_eq!(r.slug(), "UserNotFound");
    assert_eq!(r.extensions()["code"], "NOT_FOUND");
    assert_eq!(r.body["data"]["users"]["single"], Value::Null);
    assert_eq!(r.body["data"]["catalog"]["name"], "errata");
    let r = s.gql("mutation { users { delete(id: 999) { responseResult { succeeded errorCode slug message } } } }", json!({}), Some(&admin)).await;
    failed(result_of(&r, "users.delete"), "UserNotFound", 1016);
}

#[tokio::test]
async fn deleting_a_user_who_owns_clients_needs_a_replacement() {
    let s = TestServer::identity(&[(USER, PASSWORD, true)]).await;
    let admin = s.session(ADMIN_EMAIL, ADMIN_PASSWORD).await;
    let ann = s.session(USER, PASSWORD).await;
    let r = s.gql("mutation { oauthClients { create(name: \"ann's robot\", scopes: [\"read:pages\"]) { responseResult { succeeded } client { clientId ownerId } } } }", json!({}), Some(&ann)).await;
    let owner = r.body["data"]["oauthClients"]["create"]["client"]["ownerId"].clone();
    assert!(owner.is_i64(), "{}", r.body);
    let r = s.gql("mutation($id: Int!) { users { delete(id: $id) { responseResult { succeeded errorCode slug message } } } }", json!({"id": owner}), Some(&admin)).await;
    failed(
        result_of(&r, "users.delete"),
        "UserDeleteForeignConstraint",
        1017,
    );
    let r = s.gql("mutation($id: Int!) { users { delete(id: $id, replaceId: 2) { responseResult { succeeded } } } }", json!({"id": owner}), Some(&admin)).await;
    assert_eq!(
        result_of(&r, "users.delete")["succeeded"],
        true,
        "{}",
        r.body
    );
    let r = s
        .gql(
            "{ oauthClients { list { ownerId } } }",
            json!({}),
            Some(&admin),
        )
        .await;
    assert_eq!(r.body["data"]["oauthClients"]["list"][0]["ownerId"], 2);
}

#[tokio::test]
async fn user_delete_protected_for_the_guest_account() {
    let s = TestServer::identity(&[]).await;
    let admin = s.session(ADMIN_EMAIL, ADMIN_PASSWORD).await;
    let r = s.gql("mutation { users { delete(id: 1) { responseResult { succeeded errorCode slug message } } } }", json!({}), Some(&admin)).await;
    failed(result_of(&r, "users.delete"), "UserDeleteProtected", 1018);
}

#[tokio::test]
async fn sql_like_strings_are_data_in_every_field() {
    let s = TestServer::identity(&[]).await;
    let evil = "x' OR '1'='1'; DROP TABLE users; --";
    failed(
        &s.login(evil, evil).await["responseResult"],
        "AuthLoginFailed",
        1002,
    );
    failed(
        &s.login(&format!("{evil}@example.com"), evil).await["responseResult"],
        "AuthLoginFailed",
        1002,
    );
    let admin = s.session(ADMIN_EMAIL, ADMIN_PASSWORD).await;
    let r = s.gql(
        "mutation($n: String!) { users { create(email: \"bobby@example.com\", passwordRaw: \"Robert'); DROP TABLE users;--\", name: $n) { responseResult { succeeded } user { name } } } }",
        json!({"n": evil}),
        Some(&admin),
    ).await;
    assert_eq!(
        r.body["data"]["users"]["create"]["user"]["name"], evil,
        "{}",
        r.body
    );
    s.session("bobby@example.com", "Robert'); DROP TABLE users;--")
        .await;
    let r = s.gql("mutation($n: String!) { groups { create(name: $n) { responseResult { succeeded } group { name } } } }", json!({"n": evil}), Some(&admin)).await;
    assert_eq!(r.body["data"]["groups"]["create"]["group"]["name"], evil);
    let r = s.gql("mutation($n: String!) { createApiToken(name: $n, permissions: [\"read:pages\"]) { token { name } } }", json!({"n": evil}), Some(&admin)).await;
    assert_eq!(
        r.body["data"]["createApiToken"]["token"]["name"], evil,
        "{}",
        r.body
    );
    let r = s.gql("mutation($t: String!) { authentication { verifyAccount(token: $t, password: \"any password\") { responseResult { slug } } } }", json!({"t": evil}), None).await;
    assert_eq!(
        result_of(&r, "authentication.verifyAccount")["slug"],
        "AuthValidationTokenInvalid"
    );
    let r = s
        .gql(
            "{ users { list { email groups { name } } } }",
            json!({}),
            Some(&admin),
        )
        .await;
    let list = r.body["data"]["users"]["list"].as_array().unwrap();
    assert_eq!(list.len(), 3, "every table is intact");
    assert_eq!(list[0]["groups"], json!([{"name": "Guests"}]));
    assert_eq!(list[1]["groups"], json!([{"name": "Administrators"}]));
    assert_eq!(list[2]["groups"], json!([{"name": "Users"}]));
}

#[tokio::test]
async fn sessions_are_renewed_and_revoked() {
    let s = TestServer::identity(&[(USER, PASSWORD, false)]).await;
    let session = s.session(USER, PASSWORD).await;
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let r = s
        .gql(
            "mutation { authentication { refreshToken { responseResult { succeeded } jwt } } }",
            json!({}),
            Some(&session),
        )
        .await;
    let renewed = r.body["data"]["authentication"]["refreshToken"]["jwt"]
        .as_str()
        .expect("a new token")
        .to_owned();
    assert_ne!(renewed, session);
    assert_eq!(
        s.gql("{ users { profile { email } } }", json!({}), Some(&renewed))
            .await
            .status,
        200
    );
    let r = s
        .gql(
            "mutation { authentication { revokeSessions { responseResult { succeeded } } } }",
            json!({}),
            Some(&renewed),
        )
        .await;
    assert_eq!(
        result_of(&r, "authentication.revokeSessions")["succeeded"],
        true
    );
    for token in [&session, &renewed] {
        let r = s
            .gql("{ users { profile { email } } }", json!({}), Some(token))
            .await;
        assert_eq!((r.status, r.slug()), (401, "TokenRevoked"));
    }
}

#[tokio::test]
async fn auth_generic_error_when_the_user_store_fails_during_login() {
    let s = TestServer::identity(&[(USER, PASSWORD, false)]).await;
    sqlx::query("ALTER TABLE users RENAME TO users_elsewhere")
        .execute(&s.database().await)
        .await
        .unwrap();
    let login = s.login(USER, PASSWORD).await;
    failed(&login["responseResult"], "AuthGenericError", 1001);
    assert!(
        !login.to_string().contains("users"),
        "no table names leak: {login}"
    );
}

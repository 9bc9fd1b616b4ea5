//! Holes in identity: escalations between users, groups, tokens and
//! clients, tokens that outlive what should end them, and guessing that
//! went uncounted.

use serde_json::{Value, json};

use super::world::*;
use errata_test_support::{
    ADMIN_EMAIL, ADMIN_PASSWORD, Reply, TestServer, identity_config, result_of,
};

const MALLORY: &str = "mallory@example.com";

/// What `token` may do, by the answer to a field needing `manage:system`
/// (Administrators only) and to one needing `manage:users`.
async fn is_administrator(s: &TestServer, token: Option<&str>) -> bool {
    let r = s
        .gql(
            "{ oauthClients { list { clientId } } groups { list { id } } users { list { id } } }",
            json!({}),
            token,
        )
        .await;
    r.body["errors"].is_null()
}

fn refused_as_outranking(r: &Reply) {
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.slug(), "TargetOutranksCaller", "{}", r.body);
    assert_eq!(r.extensions()["code"], "FORBIDDEN", "{}", r.body);
    assert_eq!(r.extensions()["errorCode"], 9022);
}

#[tokio::test]
async fn a_deleted_users_session_becomes_the_next_user_with_the_same_id() {
    let s = TestServer::identity(&[]).await;
    let mallory = user_in(&s, MALLORY, &[]).await;
    let stolen = s.session(MALLORY, PASSWORD).await;
    let token = admin(&s).await;
    let r = s
        .gql(
            "mutation($id: Int!) { users { delete(id: $id) { responseResult { succeeded } } } }",
            json!({"id": mallory}),
            Some(&token),
        )
        .await;
    assert_eq!(
        result_of(&r, "users.delete")["succeeded"],
        true,
        "{}",
        r.body
    );
    assert_eq!(profile(&s, &stolen).await.status, 401);
    let newadmin = user_in(&s, "newadmin@example.com", &[1]).await;
    assert_ne!(newadmin, mallory, "ids are never reused");
    let r = profile(&s, &stolen).await;
    assert_eq!(r.status, 401, "{}", r.body);
    assert_eq!(r.slug(), "TokenRevoked");
    assert!(!is_administrator(&s, Some(&stolen)).await);
}

#[tokio::test]
async fn a_reused_id_does_not_revive_a_token_even_when_the_row_is_forced_back() {
    // Defence in depth: if a row ever came back with an old id (a restore
    // from backup, a manual insert), the token still names the old row.
    let s = TestServer::identity(&[]).await;
    let mallory = user_in(&s, MALLORY, &[]).await;
    let stolen = s.session(MALLORY, PASSWORD).await;
    let token = admin(&s).await;
    s.gql(
        "mutation($id: Int!) { users { delete(id: $id) { responseResult { succeeded } } } }",
        json!({"id": mallory}),
        Some(&token),
    )
    .await;
    let db = s.database().await;
    sqlx::query("INSERT INTO users (id, email, name, password_hash, is_verified, created_at, updated_at) VALUES ($1, 'restored@example.com', 'Restored', 'x', 1, 0, 0)")
        .bind(mallory)
        .execute(&db)
        .await
        .unwrap();
    sqlx::query("INSERT INTO user_groups (user_id, group_id) VALUES ($1, 1)")
        .bind(mallory)
        .execute(&db)
        .await
        .unwrap();
    // The directory is reread every few seconds; any change through the API rereads it now.
    s.gql(
        "mutation { groups { create(name: \"poke\") { responseResult { succeeded } } } }",
        json!({}),
        Some(&token),
    )
    .await;
    let r = profile(&s, &stolen).await;
    assert_eq!(r.status, 401, "{}", r.body);
}

#[tokio::test]
async fn manage_groups_assigns_itself_to_administrators() {
    let s = TestServer::identity(&[]).await;
    let (token, me) = holder_of(&s, MALLORY, &["manage:groups"]).await;
    let r = s
        .gql(
            "mutation($u: Int!) { groups { assignUser(groupId: 1, userId: $u) { responseResult { succeeded } } } }",
            json!({"u": me}),
            Some(&token),
        )
        .await;
    refused_as_outranking(&r);
    assert!(!is_administrator(&s, Some(&token)).await);
}

#[tokio::test]
async fn manage_groups_gives_guests_manage_system() {
    let s = TestServer::identity(&[]).await;
    let (token, _) = holder_of(&s, MALLORY, &["manage:groups", "read:pages"]).await;
    let r = s
        .gql(
            "mutation { groups { update(id: 2, permissions: [\"manage:system\"]) { responseResult { succeeded } } } }",
            json!({}),
            Some(&token),
        )
        .await;
    assert_eq!(r.slug(), "PermissionNotGrantable", "{}", r.body);
    let r = s
        .gql(
            "mutation { groups { update(id: 2, permissions: [\"read:pages\"]) { responseResult { succeeded } } } }",
            json!({}),
            Some(&token),
        )
        .await;
    refused_as_outranking(&r);
    assert!(!is_administrator(&s, None).await);
}

#[tokio::test]
async fn manage_groups_grants_its_own_group_more() {
    let s = TestServer::identity(&[]).await;
    let (token, _) = holder_of(&s, MALLORY, &["manage:groups"]).await;
    let mine = group_with(&s, "mine", &[]).await;
    let r = s
        .gql(
            "mutation($id: Int!) { groups { update(id: $id, permissions: [\"manage:groups\", \"manage:users\"]) { responseResult { succeeded } } } }",
            json!({"id": mine}),
            Some(&token),
        )
        .await;
    assert_eq!(r.slug(), "PermissionNotGrantable", "{}", r.body);
    assert_eq!(
        r.extensions()["requiredPermissions"],
        Value::Null,
        "the message names the permission"
    );
}

#[tokio::test]
async fn manage_users_puts_itself_in_administrators() {
    let s = TestServer::identity(&[]).await;
    let (token, me) = holder_of(&s, MALLORY, &["manage:users"]).await;
    let r = s
        .gql(
            "mutation($id: Int!) { users { update(id: $id, groups: [1]) { responseResult { succeeded } } } }",
            json!({"id": me}),
            Some(&token),
        )
        .await;
    refused_as_outranking(&r);
    let r = create_user(&s, &token, "sock@example.com", &[1]).await;
    refused_as_outranking(&r);
    assert!(!is_administrator(&s, Some(&token)).await);
}

#[tokio::test]
async fn manage_users_takes_over_an_administrator_by_resetting_their_password() {
    let s = TestServer::identity(&[]).await;
    let (token, _) = holder_of(&s, MALLORY, &["manage:users"]).await;
    let r = s
        .gql(
            "mutation { users { update(id: 2, newPassword: \"mallory owns this now\") { responseResult { succeeded } } } }",
            json!({}),
            Some(&token),
        )
        .await;
    refused_as_outranking(&r);
    for mutation in ["ban(id: 2)", "delete(id: 2)", "disableTFA(id: 2)"] {
        let r = s
            .gql(
                &format!(
                    "mutation {{ users {{ {mutation} {{ responseResult {{ succeeded }} }} }} }}"
                ),
                json!({}),
                Some(&token),
            )
            .await;
        refused_as_outranking(&r);
    }
    s.session(ADMIN_EMAIL, ADMIN_PASSWORD).await;
}

#[tokio::test]
async fn manage_api_rotates_an_administrators_client() {
    let s = TestServer::identity(&[]).await;
    let token = admin(&s).await;
    let r = s
        .gql(
            "mutation { oauthClients { create(name: \"ci\", scopes: [\"manage:system\"]) { responseResult { succeeded } client { clientId } } } }",
            json!({}),
            Some(&token),
        )
        .await;
    let client = r.body["data"]["oauthClients"]["create"]["client"]["clientId"]
        .as_str()
        .unwrap_or_else(|| panic!("{}", r.body))
        .to_owned();
    let (mallory, _) = holder_of(&s, MALLORY, &["manage:api"]).await;
    for mutation in ["rotateSecret", "expire"] {
        let r = s
            .gql(
                &format!("mutation($c: String!) {{ oauthClients {{ {mutation}(clientId: $c) {{ responseResult {{ succeeded }} clientSecret }} }} }}"),
                json!({"c": client}),
                Some(&mallory),
            )
            .await;
        refused_as_outranking(&r);
        assert!(r.body["data"]["oauthClients"][mutation].is_null());
    }
}

#[tokio::test]
async fn unban_brings_back_api_tokens_issued_before_the_ban() {
    let s = TestServer::identity(&[]).await;
    let id = user_in(&s, MALLORY, &[]).await;
    let session = s.session(MALLORY, PASSWORD).await;
    let (token, _) = api_token(&s, &session, &["read:pages"]).await;
    assert_eq!(profile(&s, &token).await.status, 200);
    let adm = admin(&s).await;
    for mutation in ["ban", "unban"] {
        let r = s
            .gql(
                &format!("mutation($id: Int!) {{ users {{ {mutation}(id: $id) {{ responseResult {{ succeeded }} }} }} }}"),
                json!({"id": id}),
                Some(&adm),
            )
            .await;
        assert_eq!(r.body["errors"], Value::Null, "{}", r.body);
    }
    let r = profile(&s, &token).await;
    assert_eq!(r.status, 401, "{}", r.body);
    assert_eq!(r.slug(), "TokenRevoked");
    s.session(MALLORY, PASSWORD).await;
}

#[tokio::test]
async fn a_password_reset_by_an_administrator_leaves_api_and_client_tokens_working() {
    let s = TestServer::identity(&[]).await;
    let id = user_in(&s, MALLORY, &[]).await;
    let session = s.session(MALLORY, PASSWORD).await;
    let (token, _) = api_token(&s, &session, &["read:pages"]).await;
    let adm = admin(&s).await;
    let r = s
        .gql(
            "mutation { oauthClients { create(name: \"ci\", scopes: [\"manage:users\"]) { client { clientId } clientSecret } } }",
            json!({}),
            Some(&adm),
        )
        .await;
    let created = &r.body["data"]["oauthClients"]["create"];
    let (cid, secret) = (
        created["client"]["clientId"].as_str().unwrap().to_owned(),
        created["clientSecret"].as_str().unwrap().to_owned(),
    );
    let r = s
        .client
        .post(s.url("/oauth/token"))
        .form(&[
            ("grant_type", "client_credentials"),
            ("client_id", &cid),
            ("client_secret", &secret),
        ])
        .send()
        .await
        .unwrap();
    let access: Value = r.json().await.unwrap();
    let access = access["access_token"].as_str().unwrap().to_owned();
    assert_eq!(profile(&s, &access).await.status, 200);
    let r = s
        .gql(
            "mutation($id: Int!) { users { update(id: $id, newPassword: \"a brand new password\") { responseResult { succeeded } } } }",
            json!({"id": id}),
            Some(&adm),
        )
        .await;
    assert_eq!(
        result_of(&r, "users.update")["succeeded"],
        true,
        "{}",
        r.body
    );
    assert_eq!(profile(&s, &token).await.status, 401);
    let r = s
        .gql(
            "mutation { authentication { revokeSessions { responseResult { succeeded } } } }",
            json!({}),
            Some(&adm),
        )
        .await;
    assert_eq!(r.body["errors"], Value::Null, "{}", r.body);
    let r = profile(&s, &access).await;
    assert_eq!(r.status, 401, "the owner's generation moved: {}", r.body);
}

const GUESS: &str = "fragment F on UserMutation { a: changePassword(current: $g0, new: $n) { responseResult { slug } } b: changePassword(current: $g1, new: $n) { responseResult { slug } } c: changePassword(current: $g2, new: $n) { responseResult { slug } } d: changePassword(current: $g3, new: $n) { responseResult { slug } } e: changePassword(current: $g4, new: $n) { responseResult { slug } } f: changePassword(current: $g5, new: $n) { responseResult { slug } } g: changePassword(current: $g6, new: $n) { responseResult { slug } } h: changePassword(current: $g7, new: $n) { responseResult { slug } } }";

#[tokio::test]
async fn change_password_guesses_are_not_counted_and_aliases_multiply_them() {
    let s = TestServer::identity(&[]).await;
    user_in(&s, MALLORY, &[]).await;
    let stolen = s.session(MALLORY, PASSWORD).await;
    let query = format!(
        "mutation($g0: String!, $g1: String!, $g2: String!, $g3: String!, $g4: String!, $g5: String!, $g6: String!, $g7: String!, $n: String!) {{ users {{ ...F }} }} {GUESS}"
    );
    let mut vars = json!({"n": "the thief's new password"});
    for i in 0..8 {
        vars[format!("g{i}")] = json!(format!("guess number {i}"));
    }
    let r = s.gql(&query, vars, Some(&stolen)).await;
    let slugs: Vec<&str> = r.body["data"]["users"]
        .as_object()
        .unwrap_or_else(|| panic!("{}", r.body))
        .values()
        .map(|v| v["responseResult"]["slug"].as_str().unwrap_or(""))
        .collect();
    let wrong = slugs
        .iter()
        .filter(|s| **s == "PasswordChangeFailed")
        .count();
    let locked = slugs
        .iter()
        .filter(|s| **s == "BruteTooManyAttempts")
        .count();
    assert_eq!(
        wrong, 3,
        "account-free-attempts guesses are checked: {slugs:?}"
    );
    assert_eq!(locked, 5, "the rest are refused unchecked: {slugs:?}");
    let r = s
        .gql(
            "mutation($c: String!) { users { changePassword(current: $c, new: \"the thief's new password\") { responseResult { slug } } } }",
            json!({"c": PASSWORD}),
            Some(&stolen),
        )
        .await;
    assert_eq!(
        result_of(&r, "users.changePassword")["slug"],
        "BruteTooManyAttempts",
        "the right password is not let through during the lockout"
    );
}

#[tokio::test]
async fn an_api_token_creates_an_oauth_client_that_never_expires() {
    let s = TestServer::identity(&[]).await;
    let adm = admin(&s).await;
    let (token, _) = api_token(&s, &adm, &["manage:api", "read:pages"]).await;
    let r = s
        .gql(
            "mutation { oauthClients { create(name: \"forever\", scopes: [\"read:pages\"]) { responseResult { succeeded } client { expiresAt } } } }",
            json!({}),
            Some(&token),
        )
        .await;
    assert_eq!(r.slug(), "SessionRequired", "{}", r.body);
    let r = s
        .gql(
            "mutation { oauthClients { create(name: \"default\", scopes: [\"read:pages\"]) { responseResult { succeeded } client { expiresAt } } } }",
            json!({}),
            Some(&adm),
        )
        .await;
    assert!(
        r.body["data"]["oauthClients"]["create"]["client"]["expiresAt"].is_string(),
        "a client gets the default lifetime: {}",
        r.body
    );
    let r = s
        .gql(
            "mutation { oauthClients { create(name: \"long\", scopes: [\"read:pages\"], expiresInDays: 100000) { responseResult { slug } } } }",
            json!({}),
            Some(&adm),
        )
        .await;
    assert_eq!(
        result_of(&r, "oauthClients.create")["slug"],
        "ExpirationInvalid"
    );
}

#[tokio::test]
async fn api_tokens_multiply_a_users_rate_limit() {
    let mut config = identity_config();
    config.rate_limit = errata_server::RateLimit::parse("4/60s").unwrap();
    config.rate_limit_burst = Some(4);
    errata_test_support::with_users(&config, &[(MALLORY, PASSWORD, false)]).await;
    let s = TestServer::start(config).await;
    let session = s.session(MALLORY, PASSWORD).await;
    let mut tokens = Vec::new();
    for _ in 0..2 {
        tokens.push(api_token(&s, &session, &["read:pages"]).await.0);
    }
    let mut statuses = Vec::new();
    for token in tokens.iter().cycle().take(4) {
        statuses.push(profile(&s, token).await.status);
    }
    assert!(
        statuses.contains(&429),
        "two tokens of one user share the user's budget: {statuses:?}"
    );
}

#[tokio::test]
async fn a_stolen_session_replaces_the_tfa_secret() {
    let s = TestServer::identity(&[]).await;
    user_in(&s, MALLORY, &[]).await;
    let session = s.session(MALLORY, PASSWORD).await;
    let secret = errata_test_support::enable_tfa(&s, &session, PASSWORD).await;
    let setup = "mutation($c: String, $p: String) { authentication { setupTFA(securityCode: $c, password: $p) { responseResult { succeeded slug } secret } } }";
    let r = s.gql(setup, json!({}), Some(&session)).await;
    assert_eq!(
        result_of(&r, "authentication.setupTFA")["slug"],
        "TfaConfirmationRequired",
        "{}",
        r.body
    );
    let r = s
        .gql(setup, json!({"p": "not the password"}), Some(&session))
        .await;
    assert_eq!(
        result_of(&r, "authentication.setupTFA")["slug"],
        "PasswordChangeFailed"
    );
    let r = s
        .gql(
            "mutation { authentication { enableTFA(securityCode: \"123456\") { responseResult { slug } } } }",
            json!({}),
            Some(&session),
        )
        .await;
    assert_eq!(
        result_of(&r, "authentication.enableTFA")["slug"],
        "TfaSetupNotStarted",
        "no secret is pending without the proof"
    );
    let r = s.gql(setup, json!({"p": PASSWORD}), Some(&session)).await;
    assert_eq!(
        result_of(&r, "authentication.setupTFA")["succeeded"],
        true,
        "{}",
        r.body
    );
    let now = errata_identity::now() as u64;
    let code = errata_identity::tfa::code_at(&secret, now).unwrap();
    let r = s.gql(setup, json!({"c": code}), Some(&session)).await;
    assert_eq!(
        result_of(&r, "authentication.setupTFA")["succeeded"],
        true,
        "a code from the current secret proves it too: {}",
        r.body
    );
}

#[tokio::test]
async fn login_tfa_lets_a_user_banned_after_the_first_factor_in() {
    let s = TestServer::identity(&[]).await;
    let id = user_in(&s, MALLORY, &[]).await;
    let session = s.session(MALLORY, PASSWORD).await;
    let secret = errata_test_support::enable_tfa(&s, &session, PASSWORD).await;
    let login = s.login(MALLORY, PASSWORD).await;
    let login_token = login["tfaLoginToken"].as_str().unwrap().to_owned();
    let adm = admin(&s).await;
    s.gql(
        "mutation($id: Int!) { users { ban(id: $id) { responseResult { succeeded } } } }",
        json!({"id": id}),
        Some(&adm),
    )
    .await;
    let code = errata_identity::tfa::code_at(&secret, errata_identity::now() as u64).unwrap();
    let r = s
        .gql(
            "mutation($t: String!, $c: String!) { authentication { loginTFA(loginToken: $t, securityCode: $c) { responseResult { slug } jwt } } }",
            json!({"t": login_token, "c": code}),
            None,
        )
        .await;
    assert_eq!(
        result_of(&r, "authentication.loginTFA")["slug"],
        "AuthAccountBanned",
        "{}",
        r.body
    );
    assert!(r.body["data"]["authentication"]["loginTFA"]["jwt"].is_null());
}

#[tokio::test]
async fn refresh_token_renews_a_session_forever() {
    let mut config = identity_config();
    config.auth.session_max_age_secs = 1;
    errata_test_support::with_users(&config, &[(MALLORY, PASSWORD, false)]).await;
    let s = TestServer::start(config).await;
    let session = s.session(MALLORY, PASSWORD).await;
    tokio::time::sleep(std::time::Duration::from_millis(2100)).await;
    let r = s
        .gql(
            "mutation { authentication { refreshToken { responseResult { slug } jwt } } }",
            json!({}),
            Some(&session),
        )
        .await;
    assert_eq!(
        result_of(&r, "authentication.refreshToken")["slug"],
        "SessionTooOld",
        "{}",
        r.body
    );
}

#[tokio::test]
async fn registration_holds_an_address_for_ever() {
    let s = TestServer::identity(&[]).await;
    let register = "mutation($e: String!, $p: String!) { authentication { register(email: $e, password: $p, name: \"Someone\") { responseResult { succeeded slug } } } }";
    let victim = "victim@example.com";
    let r = s
        .gql(
            register,
            json!({"e": victim, "p": "the squatter's password"}),
            None,
        )
        .await;
    assert_eq!(result_of(&r, "authentication.register")["succeeded"], true);
    let squatter_token = errata_test_support::mailed_token(&s, victim).await;
    let r = s
        .gql(
            register,
            json!({"e": victim, "p": "the victim's password"}),
            None,
        )
        .await;
    assert_eq!(
        result_of(&r, "authentication.register")["succeeded"],
        true,
        "a pending registration does not hold its address: {}",
        r.body
    );
    let r = s
        .gql(
            "mutation($t: String!, $p: String!) { authentication { verifyAccount(token: $t, password: $p) { responseResult { slug } } } }",
            json!({"t": squatter_token, "p": "the squatter's password"}),
            None,
        )
        .await;
    assert_eq!(
        result_of(&r, "authentication.verifyAccount")["slug"],
        "AuthValidationTokenInvalid",
        "the replaced registration's token is dead"
    );
    let owner_token = errata_test_support::mailed_token(&s, victim).await;
    assert_ne!(owner_token, squatter_token);
    let r = s
        .gql(
            "mutation($t: String!, $p: String!) { authentication { verifyAccount(token: $t, password: $p) { responseResult { succeeded } } } }",
            json!({"t": owner_token, "p": "the victim's password"}),
            None,
        )
        .await;
    assert_eq!(
        result_of(&r, "authentication.verifyAccount")["succeeded"],
        true
    );
    s.session(victim, "the victim's password").await;
}

#[tokio::test]
async fn concurrent_password_checks_take_the_server_out_of_memory() {
    let mut config = identity_config();
    config.auth.password_slots = Some(1);
    config.auth.password_queue = Some(0);
    errata_test_support::with_users(&config, &[]).await;
    let s = std::sync::Arc::new(TestServer::start(config).await);
    let attempts: Vec<_> = (0..12)
        .map(|i| {
            let s = std::sync::Arc::clone(&s);
            tokio::spawn(async move {
                s.gql(
                    errata_test_support::LOGIN,
                    json!({"u": format!("nobody{i}@example.com"), "p": "a guess at a password"}),
                    None,
                )
                .await
            })
        })
        .collect();
    let mut busy = 0;
    let mut checked = 0;
    for attempt in attempts {
        let r = attempt.await.unwrap();
        if r.status == 503 {
            assert_eq!(r.slug(), "PasswordCheckBusy", "{}", r.body);
            assert_eq!(r.extensions()["code"], "SERVICE_UNAVAILABLE");
            assert_eq!(r.header("retry-after"), Some("1"));
            busy += 1;
        } else {
            assert_eq!(
                result_of(&r, "authentication.login")["slug"],
                "AuthLoginFailed",
                "{}",
                r.body
            );
            checked += 1;
        }
    }
    assert!(busy > 0, "one slot and no queue cannot take 12 at once");
    assert!(checked > 0, "the slot still serves");
}

#[tokio::test]
async fn a_stolen_manage_users_session_moves_its_own_address() {
    let s = TestServer::identity(&[]).await;
    let (stolen, me) = holder_of(&s, MALLORY, &["manage:users"]).await;
    let r = s
        .gql(
            "mutation($id: Int!) { users { update(id: $id, email: \"thief@example.com\") { responseResult { succeeded } } } }",
            json!({"id": me}),
            Some(&stolen),
        )
        .await;
    assert_eq!(r.slug(), "OwnCredentialsNeedProof", "{}", r.body);
    let r = s
        .gql(
            "mutation($id: Int!) { users { update(id: $id, name: \"Still Mallory\") { responseResult { succeeded } } } }",
            json!({"id": me}),
            Some(&stolen),
        )
        .await;
    assert_eq!(
        result_of(&r, "users.update")["succeeded"],
        true,
        "one's own name is not a credential: {}",
        r.body
    );
}

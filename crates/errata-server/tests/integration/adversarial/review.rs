//! A second look at the identity fixes: credentials that outlive what
//! should end them, a permission checked against the wrong thing, limits
//! that aliases or a missing cap get around, and ways to lock a victim
//! out. Each test is named after the hole and fails while it is open.

use std::net::Ipv4Addr;

use serde_json::{Value, json};

use super::world::*;
use errata_test_support::{ADMIN_PASSWORD, LOGIN, TestServer, identity_config, result_of};

const MALLORY: &str = "mallory@example.com";
const VICTIM: &str = "victim@example.com";

/// `revokeSessions` ends the session that sends it, but a later field of the
/// same request still acts with it: `createApiToken` signs the new token
/// with the user's generation as it is *now* (after the revocation), not
/// with the generation the caller's session was checked against, so the
/// token outlives the revocation. The same check-then-read gap lets a
/// stolen session racing a ban (lifted later), a password reset or a
/// "sign out everywhere" mint a token that survives it.
#[tokio::test]
async fn an_api_token_minted_by_a_revoked_session_outlives_the_revocation() {
    let s = TestServer::identity(&[]).await;
    user_in(&s, MALLORY, &[]).await;
    let stolen = s.session(MALLORY, PASSWORD).await;
    let r = s
        .gql(
            "mutation { authentication { revokeSessions { responseResult { succeeded } } } createApiToken(name: \"after\", permissions: [\"read:pages\"]) { responseResult { succeeded slug } secret } }",
            json!({}),
            Some(&stolen),
        )
        .await;
    assert_eq!(
        result_of(&r, "authentication.revokeSessions")["succeeded"],
        true,
        "{}",
        r.body
    );
    assert_eq!(profile(&s, &stolen).await.status, 401, "the session ended");
    if let Some(token) = r.body["data"]["createApiToken"]["secret"].as_str() {
        let r = profile(&s, token).await;
        assert_eq!(
            r.status, 401,
            "a token made by a session that was already revoked must not work: {}",
            r.body
        );
    }
}

/// API tokens die with their creator's sessions (a password change, a ban,
/// "sign out everywhere"), and a client made with a token is refused for
/// that reason; but an OAuth client made by a *session* is not tied to it
/// at all. A thief holding a session of a `manage:api` user makes a client,
/// the owner changes their password and signs out everywhere, and the
/// client's secret keeps minting access tokens acting as the owner for the
/// client's whole lifetime (up to `max-token-days`).
#[tokio::test]
async fn an_oauth_client_made_by_a_stolen_session_survives_a_password_change() {
    let s = TestServer::identity(&[]).await;
    let (stolen, _) = holder_of(&s, VICTIM, &["manage:api", "read:pages"]).await;
    let r = s
        .gql(
            "mutation { oauthClients { create(name: \"backdoor\", scopes: [\"read:pages\", \"manage:api\"]) { responseResult { succeeded } client { clientId } clientSecret } } }",
            json!({}),
            Some(&stolen),
        )
        .await;
    let created = &r.body["data"]["oauthClients"]["create"];
    let (cid, secret) = (
        created["client"]["clientId"]
            .as_str()
            .unwrap_or_else(|| panic!("{}", r.body))
            .to_owned(),
        created["clientSecret"].as_str().unwrap().to_owned(),
    );
    // The owner notices and changes their password, then signs out everywhere.
    let owner = s.session(VICTIM, PASSWORD).await;
    let r = s
        .gql(
            "mutation { users { changePassword(current: \"a long enough password\", new: \"the owner's new password\") { responseResult { succeeded slug } } } }",
            json!({}),
            Some(&owner),
        )
        .await;
    assert_eq!(
        result_of(&r, "users.changePassword")["succeeded"],
        true,
        "{}",
        r.body
    );
    let owner = s.session(VICTIM, "the owner's new password").await;
    s.gql(
        "mutation { authentication { revokeSessions { responseResult { succeeded } } } }",
        json!({}),
        Some(&owner),
    )
    .await;
    assert_eq!(profile(&s, &stolen).await.status, 401);
    let r = client_token(&s, &cid, &secret).await;
    let access = r.body["access_token"].as_str().map(str::to_owned);
    let still_works = match &access {
        Some(access) => profile(&s, access).await.status == 200,
        None => false,
    };
    assert!(
        !still_works,
        "the thief's client still acts as the owner after a password change and a sign-out everywhere: {}",
        r.body
    );
}

/// Touching something that reaches further than the caller needs
/// `manage:system` (clients are checked), but `revokeApiToken` only asks
/// for `manage:api`: a `manage:api` holder lists every API token and
/// revokes the administrators' ones, breaking their automation at will.
#[tokio::test]
async fn manage_api_revokes_an_administrators_api_token() {
    let s = TestServer::identity(&[]).await;
    let adm = admin(&s).await;
    let (token, id) = api_token(&s, &adm, &["manage:system"]).await;
    assert_eq!(profile(&s, &token).await.status, 200);
    let (mallory, _) = holder_of(&s, MALLORY, &["manage:api"]).await;
    let r = s
        .gql("{ apiTokens { id userId } }", json!({}), Some(&mallory))
        .await;
    assert!(
        r.body["data"]["apiTokens"]
            .as_array()
            .is_some_and(|all| all.iter().any(|t| t["id"] == id.as_str())),
        "{}",
        r.body
    );
    s.gql(
        "mutation($id: String!) { revokeApiToken(id: $id) { responseResult { succeeded slug } } }",
        json!({"id": id}),
        Some(&mallory),
    )
    .await;
    let r = profile(&s, &token).await;
    assert_eq!(
        r.status, 200,
        "a manage:api holder must not be able to revoke an administrator's token: {}",
        r.body
    );
}

/// The account key of the lockout counts every failure against an address,
/// from anywhere: knowing someone's email is enough to keep them out. Three
/// wrong passwords from another machine and the owner, from the address
/// they always sign in from, with the right password, is refused; one
/// failure an hour keeps them out for good.
#[tokio::test]
async fn anyone_locks_an_account_out_by_failing_its_logins_from_elsewhere() {
    let s = TestServer::identity(&[(VICTIM, PASSWORD, false)]).await;
    let home = signed_in_from(&s, Ipv4Addr::new(127, 0, 0, 1), VICTIM).await;
    let attacker = client_from(Ipv4Addr::new(127, 0, 0, 66));
    for i in 0..4 {
        s.gql_with(
            &attacker,
            LOGIN,
            json!({"u": VICTIM, "p": format!("not the password {i}")}),
            None,
        )
        .await;
    }
    let r = s
        .gql_with(&home, LOGIN, json!({"u": VICTIM, "p": PASSWORD}), None)
        .await;
    assert_eq!(
        result_of(&r, "authentication.login")["succeeded"],
        true,
        "the owner, from an address that signed in before, is locked out by a stranger: {}",
        r.body
    );
}

/// `changePassword` is now counted against `user:ID`, the key `loginTFA`
/// uses too. A stolen session (which cannot change the password without
/// the current one) fails it three times and the owner, with their
/// password and a valid code, can no longer finish a TFA login; repeating
/// it (the session can be renewed for two weeks) keeps the owner out, and
/// without a session the owner cannot revoke the thief's.
#[tokio::test]
async fn a_stolen_session_locks_the_owner_out_of_tfa_login() {
    let s = TestServer::identity(&[(VICTIM, PASSWORD, false)]).await;
    let owner = s.session(VICTIM, PASSWORD).await;
    let secret = errata_test_support::enable_tfa(&s, &owner, PASSWORD).await;
    let stolen = owner;
    for i in 0..4 {
        s.gql(
            "mutation($c: String!) { users { changePassword(current: $c, new: \"the thief's password\") { responseResult { slug } } } }",
            json!({"c": format!("guess {i}")}),
            Some(&stolen),
        )
        .await;
    }
    let login = s.login(VICTIM, PASSWORD).await;
    let login_token = login["tfaLoginToken"]
        .as_str()
        .unwrap_or_else(|| panic!("the first factor passes: {login}"))
        .to_owned();
    // A code of the next step, which the anti-replay check has not seen.
    let code = errata_identity::tfa::code_at(&secret, errata_identity::now() as u64 + 30).unwrap();
    let r = s
        .gql(
            "mutation($t: String!, $c: String!) { authentication { loginTFA(loginToken: $t, securityCode: $c) { responseResult { succeeded slug } jwt } } }",
            json!({"t": login_token, "c": code}),
            None,
        )
        .await;
    assert_eq!(
        result_of(&r, "authentication.loginTFA")["succeeded"],
        true,
        "the owner with their password and a good code is locked out by the thief's guesses: {}",
        r.body
    );
}

/// `setupTFA` asks for proof only when TFA is already on. On an account
/// without it, a stolen session sets up and enables TFA with the thief's
/// authenticator: the owner, who still knows their password, can no longer
/// sign in, and only an administrator can turn it off.
#[tokio::test]
async fn a_stolen_session_turns_tfa_on_and_locks_the_owner_out() {
    let s = TestServer::identity(&[(VICTIM, PASSWORD, false)]).await;
    let stolen = s.session(VICTIM, PASSWORD).await;
    let r = s
        .gql(
            "mutation { authentication { setupTFA { responseResult { succeeded slug } secret } } }",
            json!({}),
            Some(&stolen),
        )
        .await;
    assert_ne!(
        result_of(&r, "authentication.setupTFA")["succeeded"],
        true,
        "turning TFA on must need the password too: {}",
        r.body
    );
}

/// `operation-limits` count a request once per configured path, however
/// many times the path occurs: fifteen aliased `login` fields are fifteen
/// password checks for one unit of the `authentication.login` budget
/// (Wiki.js's "5 logins a minute" becomes 75), and fragments under aliased
/// parents multiply them further within the alias limit.
#[tokio::test]
async fn aliases_multiply_the_login_operation_limit() {
    let mut config = identity_config();
    config.operation_limits.insert(
        "authentication.login".to_owned(),
        errata_server::RateLimit::parse("1/60s").unwrap(),
    );
    errata_test_support::with_users(&config, &[]).await;
    let s = TestServer::start(config).await;
    let fields: String = (0..10)
        .map(|i| {
            format!(
                "l{i}: login(username: \"nobody{i}@example.com\", password: \"guess {i}\") {{ responseResult {{ slug }} }} "
            )
        })
        .collect();
    let r = s
        .gql(
            &format!("mutation {{ authentication {{ {fields} }} }}"),
            json!({}),
            None,
        )
        .await;
    let checked = if r.status == 429 {
        0
    } else {
        slugs_of(&r, "authentication")
            .iter()
            .filter(|s| *s == "AuthLoginFailed")
            .count()
    };
    assert!(
        checked <= 1,
        "a limit of one login a minute checked {checked} passwords in one request: {}",
        r.body
    );
}

/// Any signed-in user, with no permission at all, can create API tokens
/// without end. Each is a row kept for ever (revoked and expired ones too)
/// and an entry of the in-memory directory, and each creation rereads the
/// whole directory: the cost of every write grows with the number of
/// tokens, at the rate limit's pace per user (15 a second by default).
#[tokio::test]
async fn a_user_without_permissions_creates_api_tokens_without_end() {
    let s = TestServer::identity(&[]).await;
    let (session, _) = holder_of(&s, MALLORY, &[]).await;
    let mut created = 0;
    for i in 0..101 {
        let r = create_token(&s, &session, &format!("token {i}"), &[]).await;
        if result_of(&r, "createApiToken")["succeeded"] == true {
            created += 1;
        } else {
            break;
        }
    }
    assert!(
        created <= 100,
        "one user without any permission made {created} API tokens"
    );
}

/// A group's page rules have no cap in number or size, and are stored as
/// sent (duplicate permission names included). The directory then holds a
/// copy of the group's whole rule list for every member (`Directory::load`
/// clones each group's `Grant` per user), and rebuilds it on every change:
/// a `manage:groups` holder sets a megabyte of rules on a group with many
/// members (the Users group, if they hold its permissions) and the
/// server's memory is multiplied by the member count.
#[tokio::test]
async fn a_groups_page_rules_have_no_cap() {
    let s = TestServer::identity(&[]).await;
    let (token, _) = holder_of(&s, MALLORY, &["manage:groups", "read:pages"]).await;
    let r = s
        .gql(
            "mutation { groups { create(name: \"mine\") { group { id } } } }",
            json!({}),
            Some(&token),
        )
        .await;
    let id = r.body["data"]["groups"]["create"]["group"]["id"]
        .as_i64()
        .unwrap_or_else(|| panic!("{}", r.body));
    let path = format!("/{}", "p".repeat(200));
    let rules: Vec<Value> = (0..3000)
        .map(
            |i| json!({"permissions": ["read:pages"], "path": format!("{path}/{i}"), "deny": true}),
        )
        .collect();
    let r = s
        .gql(
            "mutation($id: Int!, $r: [PageRuleInput!]) { groups { update(id: $id, pageRules: $r) { responseResult { succeeded slug } } } }",
            json!({"id": id, "r": rules}),
            Some(&token),
        )
        .await;
    assert_ne!(
        result_of(&r, "groups.update")["succeeded"],
        true,
        "3000 page rules of 200+ characters were accepted"
    );
    let names = vec!["read:pages"; 20_000];
    let r = s
        .gql(
            "mutation($id: Int!, $r: [PageRuleInput!]) { groups { update(id: $id, pageRules: $r) { responseResult { succeeded slug } } } }",
            json!({"id": id, "r": [{"permissions": names, "path": "/", "deny": true}]}),
            Some(&token),
        )
        .await;
    assert_ne!(
        result_of(&r, "groups.update")["succeeded"],
        true,
        "a rule naming one permission 20000 times was stored as sent"
    );
}

const REGISTER: &str = "register(email: $e{i}, password: \"a registrant's password\", name: \"Bot\") { responseResult { succeeded slug } }";

/// Registration counts nothing per address. Every request creates an
/// account row, a one-time token row and a mail file, costs an argon2 hash
/// and a reread of the whole directory; aliases make it fifteen per
/// request, past the rate limit. Unverified accounts are only removed when
/// someone registers the same address again, so random addresses stay for
/// ever. An anonymous client fills the database and the disk, and keeps the
/// password gate full so that real logins get `PasswordCheckBusy`.
#[tokio::test]
async fn registrations_from_one_address_are_not_limited() {
    let s = TestServer::identity(&[]).await;
    let mut succeeded = 0;
    for round in 0..2 {
        let vars: String = (0..15).map(|i| format!("$e{i}: String!, ")).collect();
        let fields: String = (0..15)
            .map(|i| format!("r{i}: {}", REGISTER.replace("{i}", &i.to_string())))
            .collect::<Vec<_>>()
            .join(" ");
        let mut variables = json!({});
        for i in 0..15 {
            variables[format!("e{i}")] = json!(format!("bot{round}-{i}@example.com"));
        }
        let r = s
            .gql(
                &format!("mutation({vars}) {{ authentication {{ {fields} }} }}"),
                variables,
                None,
            )
            .await;
        if r.status == 200 {
            succeeded += slugs_of(&r, "authentication")
                .iter()
                .filter(|s| *s == "ok")
                .count();
        }
    }
    let mails = std::fs::read_dir(s.data.join("mail"))
        .map(|d| d.count())
        .unwrap_or(0);
    assert!(
        succeeded < 30,
        "one address registered {succeeded} accounts in two requests ({mails} mails written)"
    );
}

/// An unverified registration now gives its address up after 24 hours, but
/// only to whoever registers it next: the squatter registers it again the
/// moment it expires (one request a day per address) and the owner is
/// still told the address is taken, for ever. Registering an address that
/// is only pending should not be refused.
#[tokio::test]
async fn a_squatter_re_registering_daily_holds_an_address_for_ever() {
    let s = TestServer::identity(&[]).await;
    let register = "mutation($e: String!, $p: String!) { authentication { register(email: $e, password: $p, name: \"Someone\") { responseResult { succeeded slug } } } }";
    let squat = json!({"e": VICTIM, "p": "the squatter's password"});
    let r = s.gql(register, squat.clone(), None).await;
    assert_eq!(result_of(&r, "authentication.register")["succeeded"], true);
    let db = s.database().await;
    sqlx::query("UPDATE users SET created_at = created_at - 2 * 86400 WHERE email = $1")
        .bind(VICTIM)
        .execute(&db)
        .await
        .unwrap();
    let r = s.gql(register, squat, None).await;
    assert_eq!(
        result_of(&r, "authentication.register")["succeeded"],
        true,
        "the squatter takes the expired registration over: {}",
        r.body
    );
    let r = s
        .gql(
            register,
            json!({"e": VICTIM, "p": "the owner's password"}),
            None,
        )
        .await;
    assert_eq!(
        result_of(&r, "authentication.register")["succeeded"],
        true,
        "the address's owner is still refused: {}",
        r.body
    );
}

/// Whether `token` can do what only `manage:system` can: change the
/// Administrators group's name back to itself.
async fn is_administrator(s: &TestServer, token: &str) -> bool {
    let r = s
        .gql(
            "mutation { groups { update(id: 1, name: \"Administrators\") { responseResult { succeeded } } } }",
            json!({}),
            Some(token),
        )
        .await;
    r.body["errors"].is_null() && result_of(&r, "groups.update")["succeeded"] == true
}

/// The reach checks (`check_user_reach`, and `check_client_reach` for a
/// client's owner) read the in-memory directory, which learns of changes
/// made by the command line or another instance only at the next refresh
/// (`auth.directory-refresh-secs`, 5 s by default), and a user it does not
/// know yet is let through (`let Some(user) = ... else { return Ok(()) }`).
/// An operator runs `errata users create --admin` on the live data
/// directory; until the next refresh, a `manage:users` holder (polling
/// `users { list }`, which reads the database) resets the new
/// administrator's password and signs in as them. (The refresh is set
/// longer here only so the window cannot close by chance during the test.)
#[tokio::test]
async fn manage_users_takes_over_an_administrator_the_command_line_just_made() {
    let mut config = identity_config();
    config.auth.directory_refresh_secs = 60;
    errata_test_support::with_users(&config, &[]).await;
    let s = TestServer::start(config.clone()).await;
    let (mallory, _) = holder_of(&s, MALLORY, &["manage:users"]).await;
    let operator = errata_server::admin::Admin::open(&config)
        .await
        .expect("the operator opens the live data directory");
    let made = operator
        .create_user("second.admin@example.com", ADMIN_PASSWORD, None, true)
        .await
        .expect("the operator makes an administrator");
    operator.close().await;
    let id = made["id"].as_i64().unwrap();
    let r = s
        .gql(
            "mutation($id: Int!) { users { update(id: $id, newPassword: \"mallory owns this one\") { responseResult { succeeded slug } } } }",
            json!({"id": id}),
            Some(&mallory),
        )
        .await;
    let login = s
        .login("second.admin@example.com", "mallory owns this one")
        .await;
    let taken_over = match login["jwt"].as_str() {
        Some(jwt) => is_administrator(&s, jwt).await,
        None => false,
    };
    assert!(
        !taken_over,
        "a manage:users holder reset a new administrator's password and signed in as them: {}",
        r.body
    );
}

/// `limits.max-aliases` (15) counts the aliases written in each fragment
/// definition once, however many aliased parents spread it: five aliased
/// `authentication` fields spreading a fragment of ten aliased `login`s are
/// fifteen aliases and fifty logins for one request, one unit of the rate
/// limit (thirty password checks, argon2 at 19 MiB each, here: each
/// address is tried five times and its account locks after three). The same shape multiplies
/// `register` (uncounted) and `changePassword`.
#[tokio::test]
async fn fragments_under_aliased_parents_multiply_past_the_alias_limit() {
    let s = TestServer::identity(&[]).await;
    let parents: String = (0..5)
        .map(|i| format!("a{i}: authentication {{ ...F }} "))
        .collect();
    let logins: String = (0..10)
        .map(|i| {
            format!(
                "l{i}: login(username: \"nobody{i}@example.com\", password: \"guess\") {{ responseResult {{ slug }} }} "
            )
        })
        .collect();
    let r = s
        .gql(
            &format!(
                "mutation {{ {parents} }} fragment F on AuthenticationMutation {{ {logins} }}"
            ),
            json!({}),
            None,
        )
        .await;
    let checked: usize = (0..5)
        .map(|i| {
            r.body["data"][format!("a{i}")]
                .as_object()
                .map_or(0, |logins| {
                    logins
                        .values()
                        .filter(|v| v["responseResult"]["slug"] == "AuthLoginFailed")
                        .count()
                })
        })
        .sum();
    assert!(
        checked <= 15,
        "a document within the alias limit of 15 checked {checked} passwords: {}",
        r.body
    );
}

/// `users { update }` and `users { disableTFA }` let a `manage:users`
/// holder change anyone within reach, themselves included, without the
/// current password or a code. A stolen session of such a user (a help
/// desk account, say) therefore sets a new password and email, turns TFA
/// off, and owns the account for good, which `changePassword` (current
/// password, counted guesses) and `setupTFA` (proof when TFA is on) were
/// made to prevent.
#[tokio::test]
async fn a_stolen_manage_users_session_resets_its_own_password_without_the_current_one() {
    let s = TestServer::identity(&[]).await;
    let (stolen, me) = holder_of(&s, VICTIM, &["manage:users", "read:pages"]).await;
    errata_test_support::enable_tfa(&s, &stolen, PASSWORD).await;
    let r = s
        .gql(
            "mutation($id: Int!) { users { disableTFA(id: $id) { responseResult { succeeded } } update(id: $id, newPassword: \"the thief's password\") { responseResult { succeeded } } } }",
            json!({"id": me}),
            Some(&stolen),
        )
        .await;
    let login = s.login(VICTIM, "the thief's password").await;
    assert!(
        login["jwt"].is_null(),
        "the thief signed in with a password set without the current one, TFA off: {}",
        r.body
    );
}

/// The race behind `an_api_token_minted_by_a_revoked_session_outlives_the_revocation`,
/// across requests: the thief's request first spends time on password
/// checks (ten unknown-address logins, which any guest may send), then
/// creates a token. The owner signs out everywhere meanwhile; the token is
/// signed with the generation read after the revocation and keeps working.
#[tokio::test]
async fn a_token_minted_while_the_owner_signs_out_everywhere_survives_it() {
    let mut config = identity_config();
    config.auth.password_slots = Some(1);
    errata_test_support::with_users(&config, &[(VICTIM, PASSWORD, false)]).await;
    let s = std::sync::Arc::new(TestServer::start(config).await);
    let stolen = s.session(VICTIM, PASSWORD).await;
    let owner = s.session(VICTIM, PASSWORD).await;
    let stall: String = (0..10)
        .map(|i| {
            format!(
                "l{i}: login(username: \"stall{i}@example.com\", password: \"stalling\") {{ responseResult {{ slug }} }} "
            )
        })
        .collect();
    let thief = {
        let s = std::sync::Arc::clone(&s);
        tokio::spawn(async move {
            s.gql(
                &format!(
                    "mutation {{ authentication {{ {stall} }} createApiToken(name: \"in flight\", permissions: [\"read:pages\"]) {{ secret }} }}"
                ),
                json!({}),
                Some(&stolen),
            )
            .await
        })
    };
    tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    let r = s
        .gql(
            "mutation { authentication { revokeSessions { responseResult { succeeded } } } }",
            json!({}),
            Some(&owner),
        )
        .await;
    assert_eq!(
        result_of(&r, "authentication.revokeSessions")["succeeded"],
        true
    );
    let r = thief.await.unwrap();
    if let Some(token) = r.body["data"]["createApiToken"]["secret"].as_str() {
        let r = profile(&s, token).await;
        assert_eq!(
            r.status, 401,
            "a token created during the owner's sign-out everywhere must not outlive it: {}",
            r.body
        );
    }
}

/// The client side of `manage_users_takes_over_an_administrator_the_command_line_just_made`:
/// `check_client_reach` takes an owner the directory does not know yet as
/// reaching nothing. The operator makes an administrator and a client for
/// them (`errata clients create --owner`, which gets the owner's
/// permissions, `manage:system`) on the live data directory; before the
/// next refresh, a `manage:api` holder rotates the client's secret, and
/// with it gets `manage:system` tokens.
#[tokio::test]
async fn manage_api_rotates_a_client_the_command_line_just_made_for_a_new_administrator() {
    let mut config = identity_config();
    config.auth.directory_refresh_secs = 60;
    errata_test_support::with_users(&config, &[]).await;
    let s = TestServer::start(config.clone()).await;
    let (mallory, _) = holder_of(&s, MALLORY, &["manage:api"]).await;
    let operator = errata_server::admin::Admin::open(&config)
        .await
        .expect("the operator opens the live data directory");
    operator
        .create_user("robot.admin@example.com", ADMIN_PASSWORD, None, true)
        .await
        .expect("the operator makes an administrator");
    let client = operator
        .create_client("deploys", &[], None, Some("robot.admin@example.com"))
        .await
        .expect("the operator makes a client for them");
    operator.close().await;
    let cid = client["client_id"].as_str().unwrap().to_owned();
    assert_eq!(client["scopes"], json!(["manage:system"]));
    let r = s
        .gql(
            "mutation($c: String!) { oauthClients { rotateSecret(clientId: $c) { responseResult { succeeded } clientSecret } } }",
            json!({"c": cid}),
            Some(&mallory),
        )
        .await;
    let Some(secret) = r.body["data"]["oauthClients"]["rotateSecret"]["clientSecret"].as_str()
    else {
        return;
    };
    let r = client_token(&s, &cid, secret).await;
    let escalated = match r.body["access_token"].as_str() {
        Some(access) => is_administrator(&s, access).await,
        None => false,
    };
    assert!(
        !escalated,
        "a manage:api holder rotated a new administrator's manage:system client and used it: {}",
        r.body
    );
}

/// The same stale check between two instances sharing one database, which
/// `auth.jwt-secret` is documented for: an administrator on instance B
/// puts a user into Administrators; on instance A, whose directory still
/// shows the user as an ordinary member of Users, a `manage:users` holder
/// resets that user's password before the next refresh, and is an
/// administrator.
#[tokio::test]
async fn manage_users_on_one_instance_resets_a_user_promoted_on_another() {
    let mut config = identity_config();
    config.auth.directory_refresh_secs = 60;
    errata_test_support::with_users(&config, &[]).await;
    let a = TestServer::start(config.clone()).await;
    let b = TestServer::start(config.clone()).await;
    let users_group = [
        "manage:users",
        "read:pages",
        "read:source",
        "read:history",
        "read:assets",
        "read:comments",
        "write:comments",
    ];
    let (mallory, _) = holder_of(&a, MALLORY, &users_group).await;
    let promoted = user_in(&a, "promoted@example.com", &[]).await;
    let adm = admin(&b).await;
    let r = b
        .gql(
            "mutation($u: Int!) { groups { assignUser(groupId: 1, userId: $u) { responseResult { succeeded } } } }",
            json!({"u": promoted}),
            Some(&adm),
        )
        .await;
    assert_eq!(
        result_of(&r, "groups.assignUser")["succeeded"],
        true,
        "{}",
        r.body
    );
    a.gql(
        "mutation($id: Int!) { users { update(id: $id, newPassword: \"mallory owns this one\") { responseResult { succeeded } } } }",
        json!({"id": promoted}),
        Some(&mallory),
    )
    .await;
    let login = a
        .login("promoted@example.com", "mallory owns this one")
        .await;
    let taken_over = match login["jwt"].as_str() {
        Some(jwt) => is_administrator(&a, jwt).await,
        None => false,
    };
    assert!(
        !taken_over,
        "instance A let a manage:users holder take over an administrator promoted on instance B"
    );
}

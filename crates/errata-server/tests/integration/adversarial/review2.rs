//! A third look, at the fixes of the second review: per-network lockouts,
//! pending registrations that never hold an address, and OAuth clients
//! bound to their owner's generation. Each test is named after the hole
//! and fails while it is open.

use std::net::Ipv4Addr;

use serde_json::json;

use super::world::*;
use errata_test_support::{LOGIN, TestServer, identity_config, result_of};

const VICTIM: &str = "victim@example.com";

/// Failures from a network the account signed in from count against
/// `account:EMAIL|NET`, failures from elsewhere against `account:EMAIL`.
/// But `login` does not check the username's shape, and `|` is allowed in
/// an address, so the username `EMAIL|NET` (an address that belongs to no
/// one, so never a known network) counts its failures against the very key
/// the owner's known network uses. A stranger who knows (or guesses) the
/// owner's usual network fails three logins as `victim@example.com|127.0.0.1`
/// from anywhere, and the owner, from their usual network with the right
/// password, is locked out: the fix of
/// `anyone_locks_an_account_out_by_failing_its_logins_from_elsewhere`
/// is undone, and together with plain failures the owner is locked out
/// from every network.
#[tokio::test]
async fn a_stranger_locks_the_owners_known_network_out_with_a_username_naming_it() {
    let s = TestServer::identity(&[(VICTIM, PASSWORD, false)]).await;
    let home = signed_in_from(&s, Ipv4Addr::new(127, 0, 0, 1), VICTIM).await;
    let attacker = client_from(Ipv4Addr::new(127, 0, 0, 66));
    for i in 0..4 {
        s.gql_with(
            &attacker,
            LOGIN,
            json!({"u": format!("{VICTIM}|127.0.0.1"), "p": format!("not the password {i}")}),
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
        "a stranger's failures as \"{VICTIM}|127.0.0.1\" locked the owner out of their known network: {}",
        r.body
    );
}

/// A pending registration no longer holds its address: registering it
/// again deletes the pending row and mails a new token. So anyone who
/// registers the owner's address just after the owner (with a password of
/// their own) kills the owner's verification token, and the only token
/// that works, the newest mail in the owner's mailbox, verifies the
/// attacker's row with the attacker's password. The owner, verifying
/// "their" account, hands the address to the attacker, who logs in with
/// it; the owner's own password does not. Verification proves the mailbox,
/// not who chose the password.
#[tokio::test]
async fn registering_an_address_after_its_owner_hands_the_owners_verification_to_the_attacker() {
    let s = TestServer::identity(&[]).await;
    let register = "mutation($e: String!, $p: String!, $n: String!) { authentication { register(email: $e, password: $p, name: $n) { responseResult { succeeded slug } } } }";
    let verify = "mutation($t: String!, $p: String!) { authentication { verifyAccount(token: $t, password: $p) { responseResult { succeeded slug } } } }";
    let owner = client_from(Ipv4Addr::new(127, 0, 0, 2));
    let r = s
        .gql_with(
            &owner,
            register,
            json!({"e": VICTIM, "p": "the owner's password", "n": "Victim"}),
            None,
        )
        .await;
    assert_eq!(result_of(&r, "authentication.register")["succeeded"], true);
    let owners_token = mailed_tokens(&s, VICTIM)
        .await
        .pop()
        .expect("the owner's mail");
    let attacker = client_from(Ipv4Addr::new(127, 0, 0, 66));
    let r = s
        .gql_with(
            &attacker,
            register,
            json!({"e": VICTIM, "p": "the attacker's password", "n": "Victim"}),
            None,
        )
        .await;
    assert_eq!(
        result_of(&r, "authentication.register")["succeeded"],
        true,
        "{}",
        r.body
    );
    // The owner opens their mailbox: their own token first, then the other.
    let r = s
        .gql_with(
            &owner,
            verify,
            json!({"t": owners_token, "p": "the owner's password"}),
            None,
        )
        .await;
    let owners_own_worked = result_of(&r, "authentication.verifyAccount")["succeeded"] == true;
    if !owners_own_worked {
        let other = mailed_tokens(&s, VICTIM)
            .await
            .into_iter()
            .find(|t| *t != owners_token)
            .expect("the second mail to the owner's address");
        // The owner verifies with the password they chose: the token of the
        // row the attacker registered does not take it.
        let r = s
            .gql_with(
                &owner,
                verify,
                json!({"t": other, "p": "the owner's password"}),
                None,
            )
            .await;
        assert_ne!(
            result_of(&r, "authentication.verifyAccount")["succeeded"],
            true,
            "{}",
            r.body
        );
    }
    let attackers = s.login(VICTIM, "the attacker's password").await;
    assert!(
        !attackers["jwt"].is_string(),
        "the owner's verification gave the attacker the owner's address (the owner's own token worked: {owners_own_worked}): {attackers}"
    );
}

/// `createApiToken` checks the caller's session generation against the
/// database before minting; `oauthClients.create` does not: it binds the
/// client to `(SELECT generation FROM users)`, the owner's generation *now*.
/// On an instance whose directory is behind (another instance sharing the
/// database, which `auth.jwt-secret` is documented for; or any request in
/// flight while the owner changes their password), a stolen session that
/// the owner's new password already ended creates a client bound to the
/// *new* generation: its secret acts as the owner after the password
/// change, until it expires (90 days by default).
#[tokio::test]
async fn a_client_created_by_a_session_the_owner_already_ended_is_bound_to_the_new_password() {
    let mut config = identity_config();
    config.auth.directory_refresh_secs = 60;
    errata_test_support::with_users(&config, &[]).await;
    let a = TestServer::start(config.clone()).await;
    let (stolen, _) = holder_of(&a, VICTIM, &["manage:api", "read:pages"]).await;
    let b = TestServer::start(config.clone()).await;
    // The owner, on instance B, changes their password: every session ends.
    let owner = b.session(VICTIM, PASSWORD).await;
    let r = b
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
    assert_eq!(profile(&b, &stolen).await.status, 401, "B knows it ended");
    // The thief, on instance A, before its next refresh.
    let r = a
        .gql(
            "mutation { oauthClients { create(name: \"backdoor\", scopes: [\"read:pages\"]) { responseResult { succeeded slug } client { clientId } clientSecret } } }",
            json!({}),
            Some(&stolen),
        )
        .await;
    let created = &r.body["data"]["oauthClients"]["create"];
    let (Some(cid), Some(secret)) = (
        created["client"]["clientId"].as_str(),
        created["clientSecret"].as_str(),
    ) else {
        return;
    };
    // Any change made through B reloads its directory, as its next refresh
    // would: B now knows the client.
    let adm = admin(&b).await;
    b.gql(
        "mutation { groups { create(name: \"reload\") { responseResult { succeeded } } } }",
        json!({}),
        Some(&adm),
    )
    .await;
    let r = client_token(&b, cid, secret).await;
    let acts_as_owner = match r.body["access_token"].as_str() {
        Some(access) => profile(&b, access).await.status == 200,
        None => false,
    };
    assert!(
        !acts_as_owner,
        "a client made by a session the new password had ended acts as the owner: {}",
        r.body
    );
}

//! Mail over HTTP, against a real SMTP server (aiosmtpd, started per test):
//! Wiki.js 2.5's `mail { config }`, `updateConfig` and `sendTest`, every
//! 3xxx code, what the server receives (headers, both parts, a DKIM
//! signature that verifies), TLS, authentication, and the outbox that
//! registration's verification mail goes through.

use std::time::{Duration, Instant};

use errata_server::Config;
use errata_test_support::smtp::{SinkOptions, SmtpSink, dkim_key, self_signed_certificate};
use errata_test_support::{
    ADMIN_EMAIL, ADMIN_PASSWORD, Reply, TestServer, identity_config, result_of, with_users,
};
use serde_json::{Value, json};

const CONFIG: &str = "{ mail { config { senderName senderEmail host port name secure verifySSL user pass useDKIM dkimDomainName dkimKeySelector dkimPrivateKey encryption } } }";

const UPDATE: &str = "mutation($senderName: String!, $senderEmail: String!, $host: String!, $port: Int!, $name: String!, $secure: Boolean!, $verifySSL: Boolean!, $user: String!, $pass: String!, $useDKIM: Boolean!, $dkimDomainName: String!, $dkimKeySelector: String!, $dkimPrivateKey: String!, $encryption: MailEncryption) { mail { updateConfig(senderName: $senderName, senderEmail: $senderEmail, host: $host, port: $port, name: $name, secure: $secure, verifySSL: $verifySSL, user: $user, pass: $pass, useDKIM: $useDKIM, dkimDomainName: $dkimDomainName, dkimKeySelector: $dkimKeySelector, dkimPrivateKey: $dkimPrivateKey, encryption: $encryption) { responseResult { succeeded errorCode slug message } } } }";

const SEND_TEST: &str = "mutation($to: String!) { mail { sendTest(recipientEmail: $to) { responseResult { succeeded errorCode slug message } } } }";

const REGISTER: &str = "mutation($e: String!) { authentication { register(email: $e, password: \"a long enough password\", name: \"Newcomer\") { responseResult { succeeded errorCode slug } } } }";

const RESEND: &str = "mutation($e: String!) { authentication { resendVerification(email: $e) { responseResult { succeeded errorCode slug message } } } }";

const VERIFY: &str = "mutation($t: String!) { authentication { verifyAccount(token: $t, password: \"a long enough password\") { responseResult { succeeded slug } } } }";

/// A configuration that sends mail over SMTP (no pickup directory), with
/// SMTP steps bounded by a second and quick retries.
fn mail_config() -> Config {
    let mut config = identity_config();
    config.mail.pickup_dir = None;
    config.mail.timeout_ms = 1000;
    config.mail.retry_base_ms = 200;
    config.mail.retry_max_ms = 400;
    config.mail.poll_ms = 50;
    config
}

/// A server with `config`, its administrator and a user, and a session of
/// the administrator.
async fn server_with(config: Config) -> (TestServer, String) {
    with_users(&config, &[("user@example.com", ADMIN_PASSWORD, false)]).await;
    let s = TestServer::start(config).await;
    let token = s.session(ADMIN_EMAIL, ADMIN_PASSWORD).await;
    (s, token)
}

async fn server() -> (TestServer, String) {
    server_with(mail_config()).await
}

/// Settings sending to 127.0.0.1:`port` without encryption.
fn settings(port: u16) -> Value {
    json!({
        "senderName": "Wiki",
        "senderEmail": "wiki@example.com",
        "host": "127.0.0.1",
        "port": port,
        "name": "errata.test",
        "secure": false,
        "verifySSL": true,
        "user": "",
        "pass": "",
        "useDKIM": false,
        "dkimDomainName": "",
        "dkimKeySelector": "",
        "dkimPrivateKey": "",
        "encryption": "NONE",
    })
}

fn with(mut base: Value, changes: Value) -> Value {
    for (k, v) in changes.as_object().expect("an object") {
        base[k] = v.clone();
    }
    base
}

async fn update(s: &TestServer, token: &str, vars: Value) -> Value {
    let r = s.gql(UPDATE, vars, Some(token)).await;
    assert_eq!(r.status, 200, "{}", r.body);
    result_of(&r, "mail.updateConfig").clone()
}

async fn gql_in(
    s: &TestServer,
    language: &str,
    query: &str,
    variables: Value,
    token: Option<&str>,
) -> Reply {
    let mut request = s
        .client
        .post(s.url("/graphql"))
        .header("content-type", "application/json")
        .header("accept-language", language)
        .body(json!({ "query": query, "variables": variables }).to_string());
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    Reply::read(request.send().await.expect("sent")).await
}

async fn send_test(s: &TestServer, token: &str, to: &str) -> Value {
    let r = s.gql(SEND_TEST, json!({ "to": to }), Some(token)).await;
    assert_eq!(r.status, 200, "{}", r.body);
    result_of(&r, "mail.sendTest").clone()
}

fn assert_code(result: &Value, code: i64, slug: &str) {
    assert_eq!(result["succeeded"], false, "{result}");
    assert_eq!(result["errorCode"], code, "{result}");
    assert_eq!(result["slug"], slug, "{result}");
}

/// A port nothing listens on.
fn closed_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.local_addr().unwrap().port()
}

/// The text part of `received`, and the token on its token line.
fn token_in(received: &errata_test_support::smtp::Received) -> String {
    let text = received
        .parsed()
        .part("text/plain")
        .expect("a text part")
        .to_owned();
    text.lines()
        .find_map(|l| l.strip_prefix("Verification token: "))
        .expect("the token line")
        .trim()
        .to_owned()
}

async fn users_named(s: &TestServer, email: &str) -> i64 {
    let db = s.database().await;
    let n = sqlx::query_scalar("SELECT COUNT(*) FROM users WHERE email = $1")
        .bind(email)
        .fetch_one(&db)
        .await
        .unwrap();
    db.close().await;
    n
}

#[tokio::test]
async fn mail_settings_need_manage_system_and_never_show_their_secrets() {
    let (s, admin) = server().await;
    let r = s.query(CONFIG).await;
    assert_eq!(r.extensions()["code"], "UNAUTHENTICATED", "{}", r.body);
    let user = s.session("user@example.com", ADMIN_PASSWORD).await;
    let r = s.gql(CONFIG, json!({}), Some(&user)).await;
    assert_eq!(r.extensions()["code"], "FORBIDDEN", "{}", r.body);
    let r = s
        .gql(SEND_TEST, json!({"to": "a@example.com"}), Some(&user))
        .await;
    assert_eq!(r.extensions()["code"], "FORBIDDEN", "{}", r.body);

    let r = s.gql(CONFIG, json!({}), Some(&admin)).await;
    let config = &r.body["data"]["mail"]["config"];
    assert_eq!(config["host"], "", "Wiki.js's defaults: {config}");
    assert_eq!(config["port"], 465);
    assert_eq!(config["secure"], true);
    assert_eq!(config["pass"], "");

    let (key, _) = dkim_key(false);
    let secret = with(
        settings(2525),
        json!({"user": "wiki", "pass": "hunter2", "useDKIM": true, "dkimDomainName": "example.com", "dkimKeySelector": "s1", "dkimPrivateKey": key, "encryption": "STARTTLS"}),
    );
    assert_eq!(update(&s, &admin, secret.clone()).await["succeeded"], true);
    let r = s.gql(CONFIG, json!({}), Some(&admin)).await;
    let config = &r.body["data"]["mail"]["config"];
    assert_eq!(config["pass"], "********", "{config}");
    assert_eq!(config["dkimPrivateKey"], "********");
    assert_eq!(config["encryption"], "STARTTLS");
    assert_eq!(config["secure"], false);
    assert!(!r.body.to_string().contains("hunter2"));

    let stored = || async {
        let db = s.database().await;
        let row: (String, String) =
            sqlx::query_as("SELECT pass, dkim_private_key FROM mail_config")
                .fetch_one(&db)
                .await
                .unwrap();
        db.close().await;
        row
    };
    // What the client got back, sent back: the secrets stay.
    let shown = with(
        secret.clone(),
        json!({"pass": "********", "dkimPrivateKey": "********", "host": "smtp.example.com"}),
    );
    assert_eq!(update(&s, &admin, shown).await["succeeded"], true);
    assert_eq!(stored().await, ("hunter2".to_owned(), key.clone()));
    let changed = with(
        secret,
        json!({"pass": "correct horse", "dkimPrivateKey": "********"}),
    );
    assert_eq!(update(&s, &admin, changed).await["succeeded"], true);
    assert_eq!(stored().await, ("correct horse".to_owned(), key));

    // Settings that cannot send are refused and leave the stored ones.
    for bad in [
        json!({"senderEmail": "a..b@example.com"}),
        json!({"port": 70000}),
        json!({"useDKIM": true, "dkimDomainName": "example.com", "dkimKeySelector": "s1", "dkimPrivateKey": "not a key"}),
    ] {
        assert_code(
            &update(&s, &admin, with(settings(2525), bad)).await,
            3002,
            "MailNotConfigured",
        );
    }
    assert_eq!(stored().await.0, "correct horse");
}

#[tokio::test]
async fn send_test_delivers_both_parts_with_their_headers_in_the_callers_language() {
    let (s, admin) = server().await;
    let sink = SmtpSink::start();
    assert_eq!(
        update(&s, &admin, settings(sink.port)).await["succeeded"],
        true
    );
    let r = gql_in(
        &s,
        "fr-CA",
        SEND_TEST,
        json!({"to": "Ann@Example.com"}),
        Some(&admin),
    )
    .await;
    assert_eq!(
        result_of(&r, "mail.sendTest")["succeeded"],
        true,
        "{}",
        r.body
    );
    // sendTest answers once the server accepted the mail.
    let received = sink.received();
    assert_eq!(received.len(), 1);
    let mail = &received[0];
    assert_eq!(mail.mail_from, "wiki@example.com");
    assert_eq!(mail.rcpt_tos, ["Ann@Example.com"]);
    let parsed = mail.parsed();
    assert_eq!(parsed.header("From"), Some("Wiki <wiki@example.com>"));
    assert_eq!(parsed.header("To"), Some("Ann@Example.com"));
    assert_eq!(
        parsed.header("Subject"),
        Some("Un courriel de test de Wiki")
    );
    assert!(parsed.header("Date").is_some());
    let id = parsed.header("Message-ID").expect("a Message-ID");
    assert!(id.starts_with('<') && id.ends_with("@example.com>"), "{id}");
    assert!(
        parsed
            .header("Content-Type")
            .is_some_and(|t| t.starts_with("multipart/alternative")),
        "{:?}",
        parsed.headers
    );
    let text = parsed.part("text/plain").expect("a text part");
    assert!(
        text.contains("Ceci est un courriel de test envoyé par Wiki"),
        "{text}"
    );
    let html = parsed.part("text/html").expect("an HTML part");
    assert!(html.contains("<html lang=\"fr\">"), "{html}");
    assert!(html.contains("Ça marche."), "{html}");
}

#[tokio::test]
async fn mail_is_signed_with_dkim_and_the_signature_verifies() {
    let (s, admin) = server().await;
    let sink = SmtpSink::start();
    for pkcs8 in [false, true] {
        let (key, record) = dkim_key(pkcs8);
        let dkim = with(
            settings(sink.port),
            json!({"useDKIM": true, "dkimDomainName": "example.com", "dkimKeySelector": "errata", "dkimPrivateKey": key}),
        );
        assert_eq!(update(&s, &admin, dkim).await["succeeded"], true);
        assert_eq!(
            send_test(&s, &admin, "ann@example.com").await["succeeded"],
            true
        );
        let mail = sink.received().pop().expect("the mail");
        let signature = mail
            .parsed()
            .header("DKIM-Signature")
            .unwrap_or("")
            .to_owned();
        assert!(signature.contains("d=example.com"), "{signature}");
        assert!(signature.contains("s=errata"), "{signature}");
        assert!(mail.dkim_verifies(&record), "PKCS#8 key: {pkcs8}");
        let (_, other) = dkim_key(false);
        assert!(
            !mail.dkim_verifies(&other),
            "another key's record does not verify it"
        );
    }
}

#[tokio::test]
async fn send_test_answers_every_mail_code() {
    let (s, admin) = server().await;
    // 3002: no SMTP host.
    assert_code(
        &send_test(&s, &admin, "ann@example.com").await,
        3002,
        "MailNotConfigured",
    );

    let sink = SmtpSink::start();
    assert_eq!(
        update(&s, &admin, settings(sink.port)).await["succeeded"],
        true
    );
    // 3004: not an address, or refused by the server with 550.
    for bad in ["not an address", "a..b@example.com", "x"] {
        assert_code(
            &send_test(&s, &admin, bad).await,
            3004,
            "MailInvalidRecipient",
        );
    }
    assert_code(
        &send_test(&s, &admin, "refuse@example.com").await,
        3004,
        "MailInvalidRecipient",
    );
    assert!(sink.received().is_empty());

    // 3003: a broken override in the data directory.
    let templates = s.data.join("mail-templates");
    std::fs::create_dir_all(&templates).unwrap();
    std::fs::write(
        templates.join("test.html"),
        "{% extends \"layout.html\" %}{% block",
    )
    .unwrap();
    assert_code(
        &send_test(&s, &admin, "ann@example.com").await,
        3003,
        "MailTemplateFailed",
    );
    std::fs::write(templates.join("test.html"), "<p>{{ site }} says hello</p>").unwrap();
    assert_eq!(
        send_test(&s, &admin, "ann@example.com").await["succeeded"],
        true
    );
    let html = sink.received()[0]
        .parsed()
        .part("text/html")
        .unwrap()
        .to_owned();
    assert_eq!(
        html.trim(),
        "<p>Wiki says hello</p>",
        "the override is used"
    );

    // 3001: nothing listening, a server that never answers, a refused login.
    assert_eq!(
        update(&s, &admin, settings(closed_port())).await["succeeded"],
        true
    );
    assert_code(
        &send_test(&s, &admin, "ann@example.com").await,
        3001,
        "MailGenericError",
    );
    let silent = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = silent.local_addr().unwrap().port();
    assert_eq!(update(&s, &admin, settings(port)).await["succeeded"], true);
    let start = Instant::now();
    assert_code(
        &send_test(&s, &admin, "ann@example.com").await,
        3001,
        "MailGenericError",
    );
    assert!(
        start.elapsed() < Duration::from_secs(5),
        "bounded by the timeout: {:?}",
        start.elapsed()
    );
    drop(silent);
    let guarded = SmtpSink::start_with(SinkOptions {
        auth: Some(("wiki".to_owned(), "right".to_owned())),
        ..SinkOptions::default()
    });
    let login = |pass: &str| {
        with(
            settings(guarded.port),
            json!({"user": "wiki", "pass": pass}),
        )
    };
    assert_eq!(update(&s, &admin, login("wrong")).await["succeeded"], true);
    assert_code(
        &send_test(&s, &admin, "ann@example.com").await,
        3001,
        "MailGenericError",
    );
    assert_eq!(update(&s, &admin, login("right")).await["succeeded"], true);
    assert_eq!(
        send_test(&s, &admin, "ann@example.com").await["succeeded"],
        true
    );
    assert!(guarded.received()[0].authenticated);
}

#[tokio::test]
async fn starttls_and_tls_with_certificate_checks_that_can_be_turned_off() {
    let (s, admin) = server().await;
    let (cert, key) = self_signed_certificate();
    let starttls = SmtpSink::start_with(SinkOptions {
        tls: Some((cert.clone(), key.clone())),
        require_starttls: true,
        auth: Some(("wiki".to_owned(), "pw".to_owned())),
        ..SinkOptions::default()
    });
    let base = with(
        settings(starttls.port),
        json!({"host": "localhost", "user": "wiki", "pass": "pw"}),
    );
    // A self-signed certificate fails the check...
    let checked = with(base.clone(), json!({"encryption": "STARTTLS"}));
    assert_eq!(update(&s, &admin, checked).await["succeeded"], true);
    assert_code(
        &send_test(&s, &admin, "ann@example.com").await,
        3001,
        "MailGenericError",
    );
    // ...and passes once checks are off; Wiki.js's `secure: false` means
    // STARTTLS when offered.
    let unchecked = with(
        base.clone(),
        json!({"verifySSL": false, "encryption": null}),
    );
    assert_eq!(update(&s, &admin, unchecked).await["succeeded"], true);
    let r = s.gql(CONFIG, json!({}), Some(&admin)).await;
    assert_eq!(
        r.body["data"]["mail"]["config"]["encryption"],
        "OPPORTUNISTIC"
    );
    assert_eq!(
        send_test(&s, &admin, "ann@example.com").await["succeeded"],
        true
    );
    let mail = &starttls.received()[0];
    assert!(mail.encrypted && mail.authenticated);

    // Credentials never go out unencrypted, unless encryption is off.
    let plain = SmtpSink::start_with(SinkOptions {
        auth: Some(("wiki".to_owned(), "pw".to_owned())),
        ..SinkOptions::default()
    });
    let opportunistic = with(
        settings(plain.port),
        json!({"user": "wiki", "pass": "pw", "encryption": "OPPORTUNISTIC"}),
    );
    assert_eq!(update(&s, &admin, opportunistic).await["succeeded"], true);
    assert_code(
        &send_test(&s, &admin, "ann@example.com").await,
        3001,
        "MailGenericError",
    );
    assert!(plain.received().is_empty());

    // TLS from the first byte: Wiki.js's `secure: true`.
    let implicit = SmtpSink::start_with(SinkOptions {
        tls: Some((cert, key)),
        implicit_tls: true,
        ..SinkOptions::default()
    });
    let tls = with(
        settings(implicit.port),
        json!({"host": "localhost", "secure": true, "verifySSL": false, "encryption": null}),
    );
    assert_eq!(update(&s, &admin, tls).await["succeeded"], true);
    assert_eq!(
        send_test(&s, &admin, "ann@example.com").await["succeeded"],
        true
    );
    assert!(implicit.received()[0].encrypted);
}

#[tokio::test]
async fn registration_queues_its_mail_and_a_lost_one_can_be_sent_again() {
    let (s, admin) = server().await;
    // Without mail, registering writes nothing.
    let r = s.gql(REGISTER, json!({"e": "new@example.com"}), None).await;
    assert_code(
        result_of(&r, "authentication.register"),
        3002,
        "MailNotConfigured",
    );
    assert_eq!(users_named(&s, "new@example.com").await, 0);
    // An address lettre refuses is refused before anything is written.
    let r = s
        .gql(REGISTER, json!({"e": "a..b@example.com"}), None)
        .await;
    assert_eq!(
        result_of(&r, "authentication.register")["slug"],
        "InputInvalid"
    );

    // A server that never answers: the request does not wait for it.
    let silent = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = silent.local_addr().unwrap().port();
    assert_eq!(update(&s, &admin, settings(port)).await["succeeded"], true);
    let start = Instant::now();
    let r = gql_in(&s, "fr", REGISTER, json!({"e": "new@example.com"}), None).await;
    assert_eq!(
        result_of(&r, "authentication.register")["succeeded"],
        true,
        "{}",
        r.body
    );
    assert!(
        start.elapsed() < Duration::from_millis(900),
        "registration waited for SMTP: {:?}",
        start.elapsed()
    );
    assert_eq!(users_named(&s, "new@example.com").await, 1);

    // The server comes back: the mail put off goes, in French.
    let sink = SmtpSink::start();
    assert_eq!(
        update(&s, &admin, settings(sink.port)).await["succeeded"],
        true
    );
    drop(silent);
    let received = sink.wait_for(1, Duration::from_secs(15)).await;
    assert_eq!(received.len(), 1, "the queued mail was delivered");
    let parsed = received[0].parsed();
    assert_eq!(parsed.header("Subject"), Some("Vérifiez votre compte"));
    assert_eq!(parsed.header("To"), Some("Newcomer <new@example.com>"));
    let text = parsed.part("text/plain").unwrap();
    let first = text
        .lines()
        .find_map(|l| l.strip_prefix("Jeton de vérification: "))
        .expect("the token line")
        .trim()
        .to_owned();
    assert!(parsed.part("text/html").unwrap().contains(&first));

    // Asked again: a new token, and the first stops working.
    let r = s.gql(RESEND, json!({"e": "NEW@example.com"}), None).await;
    assert_eq!(
        result_of(&r, "authentication.resendVerification")["succeeded"],
        true
    );
    let received = sink.wait_for(2, Duration::from_secs(10)).await;
    assert_eq!(received.len(), 2);
    let second = token_in(&received[1]);
    assert_ne!(first, second);
    let r = s.gql(VERIFY, json!({"t": first}), None).await;
    assert_eq!(
        result_of(&r, "authentication.verifyAccount")["slug"],
        "AuthValidationTokenInvalid"
    );
    let r = s.gql(VERIFY, json!({"t": second}), None).await;
    assert_eq!(
        result_of(&r, "authentication.verifyAccount")["succeeded"],
        true,
        "{}",
        r.body
    );

    // Verified or unknown: the same answer, and no mail.
    for email in ["new@example.com", "nobody@example.com"] {
        let r = s.gql(RESEND, json!({"e": email}), None).await;
        assert_eq!(
            result_of(&r, "authentication.resendVerification")["message"],
            "If an account at this address awaits verification, a new token is on its way."
        );
    }
    s.outbox_drained().await;
    assert_eq!(sink.received().len(), 2);

    // A broken override of the verification mail: 3003, and no account.
    let templates = s.data.join("mail-templates");
    std::fs::create_dir_all(&templates).unwrap();
    std::fs::write(
        templates.join("verification.txt"),
        "{{ token | nonexistent_filter }}",
    )
    .unwrap();
    let r = s
        .gql(REGISTER, json!({"e": "third@example.com"}), None)
        .await;
    assert_code(
        result_of(&r, "authentication.register"),
        3003,
        "MailTemplateFailed",
    );
    assert_eq!(users_named(&s, "third@example.com").await, 0);
}

#[tokio::test]
async fn queued_mail_outlives_a_restart_of_the_server() {
    let config = mail_config();
    let (s, admin) = server_with(config.clone()).await;
    assert_eq!(
        update(&s, &admin, settings(closed_port())).await["succeeded"],
        true
    );
    let r = s.gql(REGISTER, json!({"e": "new@example.com"}), None).await;
    assert_eq!(result_of(&r, "authentication.register")["succeeded"], true);
    let attempts = || async {
        let db = s.database().await;
        let row: (i64, i64, Option<String>) =
            sqlx::query_as("SELECT state, attempts, last_error FROM mail_outbox")
                .fetch_one(&db)
                .await
                .unwrap();
        db.close().await;
        row
    };
    let start = Instant::now();
    while attempts().await.1 < 2 {
        assert!(
            start.elapsed() < Duration::from_secs(10),
            "{:?}",
            attempts().await
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let (state, _, error) = attempts().await;
    assert_eq!(state, 0, "put off, not given up: {error:?}");
    s.server.shutdown().await.unwrap();

    let sink = SmtpSink::start();
    let again = TestServer::start(config).await;
    let admin = again.session(ADMIN_EMAIL, ADMIN_PASSWORD).await;
    assert_eq!(
        update(&again, &admin, settings(sink.port)).await["succeeded"],
        true
    );
    let received = sink.wait_for(1, Duration::from_secs(15)).await;
    assert_eq!(received.len(), 1, "the mail queued before the restart went");
    let token = token_in(&received[0]);
    let r = again.gql(VERIFY, json!({"t": token}), None).await;
    assert_eq!(
        result_of(&r, "authentication.verifyAccount")["succeeded"],
        true
    );
}

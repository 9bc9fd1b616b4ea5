//! PostgreSQL going away, at start and later, through a proxy the tests
//! break on purpose (the machine's PostgreSQL is never stopped): nothing
//! hangs past the timeout, nothing answers an uncatalogued 500, nothing
//! acknowledged is lost, and everything recovers by itself.

use std::time::{Duration, Instant};

use errata_store::testing::Scratch;
use errata_store::{Backend, DatabaseUrl};
use errata_test_support::faults::{Fault, FaultProxy};
use errata_test_support::{
    ADMIN_EMAIL, ADMIN_PASSWORD, LOGIN, Reply, TestServer, identity_config_for, with_users,
};
use serde_json::json;

/// A PostgreSQL scratch database, and a configuration reaching it through a
/// proxy, with a short acquire timeout.
async fn behind_a_proxy() -> (Scratch, FaultProxy, errata_server::Config) {
    let scratch = Scratch::new(Backend::Postgres).await;
    let DatabaseUrl::Postgres(direct) = &scratch.url else {
        unreachable!("a PostgreSQL scratch")
    };
    let mut config = identity_config_for(Backend::Sqlite);
    config.database = direct.clone();
    // The administrator exists before the outage, made over the direct URL.
    with_users(&config, &[]).await;
    let proxy = FaultProxy::start("127.0.0.1:5432".parse().unwrap()).await;
    let name = direct.rsplit('/').next().unwrap();
    config.database = format!("postgres://postgres@{}/{name}", proxy.addr());
    config.database_timeout_ms = 500;
    (scratch, proxy, config)
}

async fn login(s: &TestServer) -> (Reply, Duration) {
    let started = Instant::now();
    let r = s
        .gql(LOGIN, json!({"u": ADMIN_EMAIL, "p": ADMIN_PASSWORD}), None)
        .await;
    (r, started.elapsed())
}

fn unavailable(r: &Reply, took: Duration) {
    assert_eq!(r.status, 503, "{}", r.body);
    assert_eq!(r.header("retry-after"), Some("1"), "{}", r.body);
    assert!(
        r.body.to_string().contains("DatabaseUnavailable"),
        "{}",
        r.body
    );
    assert!(took < Duration::from_secs(3), "answered after {took:?}");
}

async fn until_ready(s: &TestServer) {
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        let r = s.client.get(s.url("/readyz")).send().await.unwrap();
        if r.status() == 200 {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "not ready after the database came back"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test]
async fn a_server_starts_while_postgres_is_down_and_serves_once_it_answers() {
    let (_scratch, proxy, config) = behind_a_proxy().await;
    proxy.set(Fault::Refuse);
    let s = TestServer::start(config).await;
    let ready = s.client.get(s.url("/readyz")).send().await.unwrap();
    assert_eq!(ready.status(), 503);
    let catalog = s.query("{ catalog { name } }").await;
    assert_eq!(
        catalog.status, 200,
        "what needs no database is served: {}",
        catalog.body
    );
    let (r, took) = login(&s).await;
    unavailable(&r, took);
    let bearer = s.gql("{ __typename }", json!({}), Some("a.b.c")).await;
    assert_eq!(
        bearer.status, 503,
        "a token cannot be checked yet: {}",
        bearer.body
    );

    proxy.set(Fault::None);
    until_ready(&s).await;
    let (r, _) = login(&s).await;
    assert_eq!(
        r.body["data"]["authentication"]["login"]["responseResult"]["succeeded"], true,
        "{}",
        r.body
    );
}

#[tokio::test]
async fn postgres_going_away_later_is_a_fast_503_and_comes_back_without_a_restart() {
    let (_scratch, proxy, config) = behind_a_proxy().await;
    let s = TestServer::start(config).await;
    let (r, _) = login(&s).await;
    assert_eq!(r.status, 200, "{}", r.body);
    for fault in [Fault::Refuse, Fault::Reset, Fault::Blackhole] {
        proxy.set(fault);
        let (r, took) = login(&s).await;
        unavailable(&r, took);
        let ready = s.client.get(s.url("/readyz")).send().await.unwrap();
        assert_eq!(ready.status(), 503, "{fault:?}");
        let catalog = s.query("{ catalog { name } }").await;
        assert_eq!(catalog.status, 200, "{fault:?}: {}", catalog.body);
        proxy.set(Fault::None);
        until_ready(&s).await;
        let (r, _) = login(&s).await;
        assert_eq!(
            r.body["data"]["authentication"]["login"]["responseResult"]["succeeded"], true,
            "after {fault:?}: {}",
            r.body
        );
    }
}

#[tokio::test]
async fn writes_during_an_outage_are_either_acknowledged_and_kept_or_refused_with_a_catalogued_error()
 {
    let (scratch, proxy, config) = behind_a_proxy().await;
    let s = TestServer::start(config).await;
    let admin = s.session(ADMIN_EMAIL, ADMIN_PASSWORD).await;
    let create = "mutation($e: String!) { users { create(email: $e, passwordRaw: \"a long enough password\") { responseResult { succeeded errorCode slug } user { id } } } }";
    let mut acknowledged = Vec::new();
    let mut refused = 0;
    for i in 0..60 {
        match i {
            20 => proxy.set(Fault::Reset),
            30 => proxy.set(Fault::Blackhole),
            40 => proxy.set(Fault::None),
            _ => {}
        }
        let email = format!("u{i}@example.com");
        let started = Instant::now();
        let r = s.gql(create, json!({"e": email}), Some(&admin)).await;
        assert!(
            started.elapsed() < Duration::from_secs(5),
            "request {i} waited {:?}",
            started.elapsed()
        );
        let result = &r.body["data"]["users"]["create"]["responseResult"];
        if r.status == 200 && result["succeeded"] == true {
            acknowledged.push(email);
            continue;
        }
        refused += 1;
        assert_ne!(r.status, 500, "request {i}: {}", r.body);
        let text = r.body.to_string();
        assert!(
            text.contains("DatabaseUnavailable") || text.contains("UserCreationFailed"),
            "request {i} failed with no catalogued reason: {text}"
        );
    }
    assert!(refused > 0, "the outage was felt");
    assert!(
        acknowledged.len() >= 40,
        "{} acknowledged",
        acknowledged.len()
    );
    let DatabaseUrl::Postgres(direct) = &scratch.url else {
        unreachable!("a PostgreSQL scratch")
    };
    sqlx::any::install_default_drivers();
    let db = sqlx::AnyPool::connect(direct).await.unwrap();
    for email in &acknowledged {
        let found: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM users WHERE email = $1")
            .bind(email)
            .fetch_one(&db)
            .await
            .unwrap();
        assert_eq!(found, 1, "{email} was acknowledged and lost");
    }
    db.close().await;
}

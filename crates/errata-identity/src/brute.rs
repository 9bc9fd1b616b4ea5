//! Brute-force protection: failed logins counted per account and per IP
//! address in the database, so lockouts survive a restart, with a lockout
//! that doubles with each failure past the free ones.
//!
//! An attempt is counted *before* the password is checked, in one atomic
//! statement per key, and refunded when it succeeds: concurrent attempts
//! cannot slip past the counter, because each one has already been counted
//! when the next reads it.

use std::net::{IpAddr, Ipv6Addr};

use errata_catalog::Error;
use errata_errors::auth;
use errata_store::{Backend, Database};
use serde::Deserialize;
use sqlx::Row;

/// The lockout policy.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields, rename_all = "kebab-case")]
pub struct BruteConfig {
    /// Failed logins an account gets before it is locked.
    pub account_free_attempts: u32,
    /// Failed logins an IP address gets, over every account, before it is locked.
    pub ip_free_attempts: u32,
    /// The first lockout, in seconds; each further failure doubles it.
    pub min_wait_secs: u64,
    /// The longest lockout, and how long failures are remembered.
    pub max_wait_secs: u64,
}

impl Default for BruteConfig {
    fn default() -> BruteConfig {
        BruteConfig {
            account_free_attempts: 5,
            ip_free_attempts: 50,
            min_wait_secs: 60,
            max_wait_secs: 3600,
        }
    }
}

/// One counted key and the attempts it may have.
#[derive(Debug, Clone)]
pub struct Key {
    /// `account:EMAIL`, `ip:ADDRESS` or `user:ID`.
    pub name: String,
    /// Free attempts.
    pub free: u32,
}

/// The network a limit counts an address against. An IPv4 address is one
/// client; an IPv6 host is usually given a whole /64, so its addresses are
/// one client too, or rotating through them would get around every limit.
/// An IPv4-mapped IPv6 address counts as its IPv4 address.
pub fn client_network(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V4(v4) => IpAddr::V4(v4),
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => {
                let bits = u128::from(v6) & !((1u128 << 64) - 1);
                IpAddr::V6(Ipv6Addr::from(bits))
            }
        },
    }
}

/// One statement counts the attempt, decides the lockout and records which
/// attempt it let through: both databases evaluate every SET expression on
/// the row as it was, and lock the row for the statement, so concurrent
/// attempts are counted one after the other. The two texts differ only in
/// the name of the two-argument minimum.
macro_rules! count_attempt {
    ($min:literal) => {
        concat!(
            "INSERT INTO login_attempts (key, failures, locked_until, last_failure, last_attempt) \
             VALUES ($1, 1, CASE WHEN 1 >= $4 THEN $2 + ", $min, "($5, $6) ELSE 0 END, $2, $7) \
             ON CONFLICT (key) DO UPDATE SET \
               failures = CASE WHEN login_attempts.locked_until > $2 THEN login_attempts.failures \
                   WHEN login_attempts.last_failure < $2 - $3 THEN 1 ELSE login_attempts.failures + 1 END, \
               locked_until = CASE WHEN login_attempts.locked_until > $2 THEN login_attempts.locked_until \
                   WHEN (CASE WHEN login_attempts.last_failure < $2 - $3 THEN 1 ELSE login_attempts.failures + 1 END) >= $4 \
                   THEN $2 + ", $min, "($5 * (CAST(1 AS BIGINT) << CAST(", $min, "((CASE WHEN login_attempts.last_failure < $2 - $3 \
                       THEN 1 ELSE login_attempts.failures + 1 END) - $4, 32) AS INTEGER)), $6) \
                   ELSE 0 END, \
               last_attempt = CASE WHEN login_attempts.locked_until > $2 THEN login_attempts.last_attempt ELSE $7 END, \
               last_failure = CASE WHEN login_attempts.locked_until > $2 THEN login_attempts.last_failure ELSE $2 END \
             RETURNING locked_until, last_attempt"
        )
    };
}
const COUNT_ATTEMPT_SQLITE: &str = count_attempt!("MIN");
const COUNT_ATTEMPT_POSTGRES: &str = count_attempt!("LEAST");

/// A failed statement: the database's own error when it is unreachable (a
/// 503 to retry), otherwise `auth.brute_instance_is_invalid`.
fn broken(e: sqlx::Error) -> Error {
    if errata_store::is_unavailable(&e) {
        errata_store::error(e)
    } else {
        auth::brute_instance_is_invalid().with_source(e)
    }
}

/// Counts an attempt against every key. A locked key refuses it with
/// `auth.brute_too_many_attempts` and `retryAfter`, and the keys already
/// counted are refunded. A store failure is `auth.brute_instance_is_invalid`:
/// without its counter, login is refused rather than left unprotected.
pub async fn reserve(
    db: &Database,
    config: &BruteConfig,
    keys: &[Key],
    now: i64,
) -> Result<(), Error> {
    let window = i64::try_from(config.max_wait_secs).unwrap_or(i64::MAX);
    let min_wait = i64::try_from(config.min_wait_secs).unwrap_or(i64::MAX);
    let max_wait = window.max(min_wait);
    for (i, key) in keys.iter().enumerate() {
        let attempt = i64::from_le_bytes(crate::secret::random_bytes::<8>());
        let sql = match db.backend() {
            Backend::Sqlite => COUNT_ATTEMPT_SQLITE,
            Backend::Postgres => COUNT_ATTEMPT_POSTGRES,
        };
        let row = sqlx::query(sql)
            .bind(&key.name)
            .bind(now)
            .bind(window)
            .bind(i64::from(key.free.max(1)))
            .bind(min_wait)
            .bind(max_wait)
            .bind(attempt)
            .fetch_one(db.pool())
            .await
            .map_err(broken)?;
        let locked_until: i64 = row.try_get("locked_until").map_err(broken)?;
        let admitted: i64 = row.try_get("last_attempt").map_err(broken)?;
        if admitted != attempt {
            for earlier in &keys[..i] {
                refund(db, earlier, false).await?;
            }
            let retry_after = (locked_until - now).max(1);
            return Err(auth::brute_too_many_attempts().with_detail("retryAfter", retry_after));
        }
    }
    Ok(())
}

/// Gives back an attempt that succeeded. `forget` clears the key (an
/// account that logged in); otherwise one failure is taken off (an address,
/// which may be shared by many users).
pub async fn refund(db: &Database, key: &Key, forget: bool) -> Result<(), Error> {
    let pool = db.pool();
    if forget {
        sqlx::query("DELETE FROM login_attempts WHERE key = $1")
            .bind(&key.name)
            .execute(pool)
            .await
            .map_err(broken)?;
    } else {
        sqlx::query(
            "UPDATE login_attempts SET failures = CASE WHEN failures > 0 THEN failures - 1 ELSE 0 END, \
             locked_until = CASE WHEN failures - 1 < $1 THEN 0 ELSE locked_until END WHERE key = $2",
        )
        .bind(i64::from(key.free.max(1)))
        .bind(&key.name)
        .execute(pool)
        .await
        .map_err(broken)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    #[test]
    fn ipv6_addresses_count_by_their_64_and_mapped_ones_as_ipv4() {
        use super::client_network;
        let net = |s: &str| client_network(s.parse().unwrap()).to_string();
        assert_eq!(net("203.0.113.7"), "203.0.113.7");
        assert_eq!(net("2001:db8:1:2:aaaa:bbbb:cccc:dddd"), "2001:db8:1:2::");
        assert_eq!(net("2001:db8:1:2::1"), net("2001:db8:1:2:ffff::9"));
        assert_ne!(net("2001:db8:1:2::1"), net("2001:db8:1:3::1"));
        assert_eq!(net("::1"), "::");
        assert_eq!(net("::ffff:192.0.2.1"), "192.0.2.1");
    }

    use super::*;

    use errata_store::testing::{BACKENDS, Scratch};

    /// A migrated scratch database on `backend`, kept alive with it.
    async fn store(backend: Backend) -> (Database, Scratch) {
        let scratch = Scratch::new(backend).await;
        let db = Database::open(
            &scratch.url,
            &errata_store::Options::default(),
            &[&errata_store::STORE, &crate::STORAGE],
        )
        .await
        .unwrap();
        (db, scratch)
    }

    fn retry_after(result: Result<(), Error>) -> Option<i64> {
        result.err().map(|e| {
            assert_eq!(e.id(), "auth.brute_too_many_attempts");
            e.details()[0].1.as_i64().unwrap()
        })
    }

    #[tokio::test]
    async fn lockouts_double_up_to_the_cap_and_are_forgotten() {
        for backend in BACKENDS {
            let (db, _scratch) = store(backend).await;
            lockouts_double(&db).await;
        }
    }

    async fn lockouts_double(pool: &Database) {
        let config = BruteConfig {
            account_free_attempts: 2,
            ip_free_attempts: 2,
            min_wait_secs: 60,
            max_wait_secs: 300,
        };
        let keys = [Key {
            name: "account:a".into(),
            free: 2,
        }];
        let mut now = 1_000;
        assert_eq!(retry_after(reserve(pool, &config, &keys, now).await), None);
        assert_eq!(retry_after(reserve(pool, &config, &keys, now).await), None);
        assert_eq!(
            retry_after(reserve(pool, &config, &keys, now).await),
            Some(60)
        );
        assert_eq!(
            retry_after(reserve(pool, &config, &keys, now + 59).await),
            Some(1)
        );
        // Past the lockout, one more try; failing it doubles the wait.
        now += 60;
        assert_eq!(retry_after(reserve(pool, &config, &keys, now).await), None);
        assert_eq!(
            retry_after(reserve(pool, &config, &keys, now).await),
            Some(120)
        );
        now += 120;
        assert_eq!(retry_after(reserve(pool, &config, &keys, now).await), None);
        assert_eq!(
            retry_after(reserve(pool, &config, &keys, now).await),
            Some(240)
        );
        now += 240;
        assert_eq!(retry_after(reserve(pool, &config, &keys, now).await), None);
        assert_eq!(
            retry_after(reserve(pool, &config, &keys, now).await),
            Some(300),
            "capped"
        );
        // Failures older than the longest lockout are forgotten.
        now += 300 + 301;
        assert_eq!(retry_after(reserve(pool, &config, &keys, now).await), None);
        assert_eq!(retry_after(reserve(pool, &config, &keys, now).await), None);
        // A success forgets an account.
        refund(pool, &keys[0], true).await.unwrap();
        assert_eq!(retry_after(reserve(pool, &config, &keys, now).await), None);
    }

    #[tokio::test]
    async fn a_locked_key_refunds_the_keys_counted_before_it() {
        for backend in BACKENDS {
            let (db, _scratch) = store(backend).await;
            refunds(&db).await;
        }
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn concurrent_attempts_admit_exactly_the_free_ones() {
        for backend in BACKENDS {
            let (db, _scratch) = store(backend).await;
            let config = BruteConfig::default();
            let key = Key {
                name: "account:race".into(),
                free: 5,
            };
            let attempts: Vec<_> = (0..20)
                .map(|_| {
                    let (db, config, key) = (db.clone(), config.clone(), key.clone());
                    tokio::spawn(async move { reserve(&db, &config, &[key], 1_000).await })
                })
                .collect();
            let mut admitted = 0;
            for attempt in attempts {
                if attempt.await.unwrap().is_ok() {
                    admitted += 1;
                }
            }
            assert_eq!(admitted, 5, "{backend:?}");
        }
    }

    async fn refunds(pool: &Database) {
        let config = BruteConfig::default();
        let ip = Key {
            name: "ip:1".into(),
            free: 10,
        };
        let account = Key {
            name: "account:a".into(),
            free: 1,
        };
        reserve(pool, &config, &[ip.clone(), account.clone()], 0)
            .await
            .unwrap();
        assert!(
            reserve(pool, &config, &[ip.clone(), account], 0)
                .await
                .is_err()
        );
        let failures: i64 =
            sqlx::query_scalar("SELECT failures FROM login_attempts WHERE key = 'ip:1'")
                .fetch_one(pool.pool())
                .await
                .unwrap();
        assert_eq!(
            failures, 1,
            "the refused attempt was not held against the address"
        );
    }
}

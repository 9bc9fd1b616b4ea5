//! Brute-force protection: failed logins counted per account and per IP
//! address in the database, so lockouts survive a restart, with a lockout
//! that doubles with each failure past the free ones.
//!
//! An attempt is counted *before* the password is checked, in one atomic
//! statement per key, and refunded when it succeeds: concurrent attempts
//! cannot slip past the counter, because each one has already been counted
//! when the next reads it.

use errata_catalog::Error;
use errata_errors::auth;
use serde::Deserialize;
use sqlx::{Row, SqlitePool};

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

impl BruteConfig {
    /// The lockout after `past` failures beyond the free ones.
    pub fn wait(&self, past: u32) -> i64 {
        let wait = self
            .min_wait_secs
            .saturating_mul(1u64 << past.min(32))
            .min(self.max_wait_secs.max(self.min_wait_secs));
        i64::try_from(wait).unwrap_or(i64::MAX)
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

/// Counts an attempt against every key. A locked key refuses it with
/// `auth.brute_too_many_attempts` and `retryAfter`, and the keys already
/// counted are refunded. A store failure is `auth.brute_instance_is_invalid`:
/// without its counter, login is refused rather than left unprotected.
pub async fn reserve(
    pool: &SqlitePool,
    config: &BruteConfig,
    keys: &[Key],
    now: i64,
) -> Result<(), Error> {
    let broken = |e: sqlx::Error| auth::brute_instance_is_invalid().with_source(e);
    for (i, key) in keys.iter().enumerate() {
        let row = sqlx::query(
            "INSERT INTO login_attempts (key, failures, locked_until, last_failure) VALUES (?1, 1, 0, ?2) \
             ON CONFLICT(key) DO UPDATE SET \
               failures = CASE WHEN locked_until > ?2 THEN failures \
                               WHEN last_failure < ?2 - ?3 THEN 1 \
                               ELSE failures + 1 END, \
               last_failure = CASE WHEN locked_until > ?2 THEN last_failure ELSE ?2 END \
             RETURNING failures, locked_until",
        )
        .bind(&key.name)
        .bind(now)
        .bind(i64::try_from(config.max_wait_secs).unwrap_or(i64::MAX))
        .fetch_one(pool)
        .await
        .map_err(broken)?;
        let failures: i64 = row.try_get("failures").map_err(broken)?;
        let locked_until: i64 = row.try_get("locked_until").map_err(broken)?;
        if locked_until > now {
            for earlier in &keys[..i] {
                refund(pool, earlier, false).await?;
            }
            let retry_after = locked_until - now;
            return Err(auth::brute_too_many_attempts().with_detail("retryAfter", retry_after));
        }
        let free = i64::from(key.free.max(1));
        if failures >= free {
            let past = u32::try_from(failures - free).unwrap_or(u32::MAX);
            sqlx::query("UPDATE login_attempts SET locked_until = ? WHERE key = ?")
                .bind(now + config.wait(past))
                .bind(&key.name)
                .execute(pool)
                .await
                .map_err(broken)?;
        }
    }
    Ok(())
}

/// Gives back an attempt that succeeded. `forget` clears the key (an
/// account that logged in); otherwise one failure is taken off (an address,
/// which may be shared by many users).
pub async fn refund(pool: &SqlitePool, key: &Key, forget: bool) -> Result<(), Error> {
    let broken = |e: sqlx::Error| auth::brute_instance_is_invalid().with_source(e);
    if forget {
        sqlx::query("DELETE FROM login_attempts WHERE key = ?")
            .bind(&key.name)
            .execute(pool)
            .await
            .map_err(broken)?;
    } else {
        sqlx::query(
            "UPDATE login_attempts SET failures = MAX(failures - 1, 0), \
             locked_until = CASE WHEN failures - 1 < ? THEN 0 ELSE locked_until END WHERE key = ?",
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
    use super::*;

    #[test]
    fn lockouts_double_up_to_the_cap() {
        let config = BruteConfig::default();
        assert_eq!(config.wait(0), 60);
        assert_eq!(config.wait(1), 120);
        assert_eq!(config.wait(5), 1920);
        assert_eq!(config.wait(6), 3600);
        assert_eq!(config.wait(100), 3600);
    }
}

//! The outbox: mail is written into the database with whatever caused it,
//! in the same transaction, and a worker in every instance delivers it.
//!
//! A worker claims due mails by setting their lease, in one statement
//! (`FOR UPDATE SKIP LOCKED` on PostgreSQL, so instances claiming together
//! each get other rows; SQLite runs one writer at a time). While a lease
//! runs no one else takes the mail; a mail whose instance died is taken
//! again once its lease is over. Each claim counts an attempt; a failure
//! that may pass puts the mail off by a backoff doubling from
//! `retry-base-ms` to `retry-max-ms`, and after `max-attempts` it fails
//! for good. Sent and failed mails lose their bodies (they hold one-time
//! tokens) and are deleted after `keep-days`.

use sqlx::{AnyConnection, Row};

use errata_catalog::Error;
use errata_store::{Backend, Database};

use crate::message::Queued;
use crate::{Prepared, Settings};

/// A queued mail's state.
const QUEUED: i64 = 0;
const SENT: i64 = 1;
const FAILED: i64 = 2;

/// The longest reason kept for a failure.
const MAX_REASON: usize = 500;

/// Writes `mail` into the outbox, due now.
pub(crate) async fn enqueue(
    conn: &mut AnyConnection,
    mail: &Prepared,
    now: i64,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO mail_outbox (kind, message_id, recipient, recipient_name, subject, body_text, \
         body_html, state, next_attempt_at, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $9)",
    )
    .bind(mail.template.name())
    .bind(crate::random_hex())
    .bind(&mail.recipient)
    .bind(&mail.recipient_name)
    .bind(&mail.rendered.subject)
    .bind(&mail.rendered.text)
    .bind(&mail.rendered.html)
    .bind(QUEUED)
    .bind(now)
    .execute(conn)
    .await?;
    Ok(())
}

/// Claims at most `limit` due mails until `lease_until`, counting an
/// attempt for each.
pub(crate) async fn claim(
    db: &Database,
    limit: usize,
    now: i64,
    lease_until: i64,
) -> Result<Vec<Queued>, Error> {
    let lock = match db.backend() {
        Backend::Postgres => " FOR UPDATE SKIP LOCKED",
        Backend::Sqlite => "",
    };
    let rows = sqlx::query(&format!(
        "UPDATE mail_outbox SET lease_until = $1, attempts = attempts + 1 WHERE id IN \
         (SELECT id FROM mail_outbox WHERE state = $2 AND next_attempt_at <= $3 AND lease_until <= $3 \
         ORDER BY next_attempt_at, id LIMIT $4{lock}) \
         RETURNING id, kind, message_id, recipient, recipient_name, subject, body_text, body_html, \
         attempts, created_at"
    ))
    .bind(lease_until)
    .bind(QUEUED)
    .bind(now)
    .bind(i64::try_from(limit).unwrap_or(i64::MAX))
    .fetch_all(db.pool())
    .await
    .map_err(crate::failed)?;
    let mut mails: Vec<Queued> = rows
        .iter()
        .map(|row| {
            Ok(Queued {
                id: row.try_get("id")?,
                kind: row.try_get("kind")?,
                message_id: row.try_get("message_id")?,
                recipient: row.try_get("recipient")?,
                recipient_name: row.try_get("recipient_name")?,
                subject: row.try_get("subject")?,
                text: row.try_get("body_text")?,
                html: row.try_get("body_html")?,
                attempts: u32::try_from(row.try_get::<i64, _>("attempts")?).unwrap_or(u32::MAX),
                created_at: row.try_get("created_at")?,
            })
        })
        .collect::<Result<_, sqlx::Error>>()
        .map_err(crate::failed)?;
    // RETURNING gives no order; the oldest go first.
    mails.sort_by_key(|m| m.id);
    Ok(mails)
}

/// The mail was accepted.
pub(crate) async fn sent(db: &Database, id: i64, now: i64) -> Result<(), Error> {
    finish(db, id, SENT, None, now).await
}

/// The mail can never be sent.
pub(crate) async fn failed(db: &Database, id: i64, reason: &str, now: i64) -> Result<(), Error> {
    finish(db, id, FAILED, Some(reason), now).await
}

async fn finish(
    db: &Database,
    id: i64,
    state: i64,
    reason: Option<&str>,
    now: i64,
) -> Result<(), Error> {
    sqlx::query(
        "UPDATE mail_outbox SET state = $1, finished_at = $2, body_text = '', body_html = '', \
         lease_until = 0, last_error = $3 WHERE id = $4",
    )
    .bind(state)
    .bind(now)
    .bind(reason.map(shorten))
    .bind(id)
    .execute(db.pool())
    .await
    .map_err(crate::failed)?;
    Ok(())
}

/// The mail may go later: put off by the backoff, or failed for good once
/// it has had its attempts.
pub(crate) async fn later(
    db: &Database,
    settings: &Settings,
    mail: &Queued,
    reason: &str,
    now: i64,
) -> Result<(), Error> {
    if mail.attempts >= settings.max_attempts.max(1) {
        return failed(db, mail.id, reason, now).await;
    }
    sqlx::query(
        "UPDATE mail_outbox SET next_attempt_at = $1, lease_until = 0, last_error = $2 WHERE id = $3",
    )
    .bind(now.saturating_add(backoff(settings, mail.attempts)))
    .bind(shorten(reason))
    .bind(mail.id)
    .execute(db.pool())
    .await
    .map_err(crate::failed)?;
    Ok(())
}

/// Milliseconds before attempt `attempts + 1`: `retry-base-ms`, doubled
/// at each attempt, at most `retry-max-ms`.
pub(crate) fn backoff(settings: &Settings, attempts: u32) -> i64 {
    let doubled = settings
        .retry_base_ms
        .saturating_mul(1u64 << attempts.saturating_sub(1).min(32));
    i64::try_from(doubled.min(settings.retry_max_ms)).unwrap_or(i64::MAX)
}

/// Deletes mails sent or failed before `before`.
pub(crate) async fn purge(db: &Database, before: i64) -> Result<u64, Error> {
    let done = sqlx::query("DELETE FROM mail_outbox WHERE state <> $1 AND finished_at < $2")
        .bind(QUEUED)
        .bind(before)
        .execute(db.pool())
        .await
        .map_err(crate::failed)?;
    Ok(done.rows_affected())
}

fn shorten(reason: &str) -> String {
    match reason.char_indices().nth(MAX_REASON) {
        Some((end, _)) => reason[..end].to_owned(),
        None => reason.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_up_to_its_ceiling() {
        let settings = Settings {
            retry_base_ms: 1000,
            retry_max_ms: 5000,
            ..Settings::default()
        };
        let delays: Vec<i64> = (1..=5).map(|n| backoff(&settings, n)).collect();
        assert_eq!(delays, [1000, 2000, 4000, 5000, 5000]);
        assert_eq!(backoff(&settings, u32::MAX), 5000);
    }

    #[test]
    fn reasons_are_cut_on_a_character() {
        let long = "é".repeat(600);
        assert_eq!(shorten(&long).chars().count(), MAX_REASON);
    }
}

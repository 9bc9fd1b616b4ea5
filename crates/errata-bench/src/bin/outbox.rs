//! The outbox's delivery rate: queues COUNT mails in a fresh database, then
//! times errata's outbox worker delivering them to the SMTP server on
//! 127.0.0.1:PORT (bench/outbox.sh starts one). Prints one JSON line:
//! `{"mails", "seconds", "per_second", "sent", "failed"}`.
//!
//! Usage: outbox COUNT PORT [DATABASE_URL]  (SQLite in a scratch directory
//! by default)

use std::time::{Duration, Instant};

use errata_mail::{Encryption, Mail, Settings, SmtpConfig, Template};
use errata_store::{Database, DatabaseUrl, Options};

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let usage = "usage: outbox COUNT PORT [DATABASE_URL]";
    let count: usize = args.next().ok_or(usage)?.parse()?;
    let port: u16 = args.next().ok_or(usage)?.parse()?;
    let dir = std::env::temp_dir().join(format!("errata-bench-outbox-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let url = match args.next() {
        Some(url) => DatabaseUrl::parse(&url, &dir).map_err(|e| e.to_string())?,
        None => DatabaseUrl::Sqlite(dir.join("errata.db")),
    };
    let db = Database::open(
        &url,
        &Options::default(),
        &[&errata_store::STORE, &errata_mail::STORAGE],
    )
    .await
    .map_err(|e| e.to_string())?;
    let mail = Mail::new(db.clone(), Settings::default(), &dir);
    mail.update_config(SmtpConfig {
        sender_name: "errata bench".to_owned(),
        sender_email: "bench@example.com".to_owned(),
        host: "127.0.0.1".to_owned(),
        port,
        encryption: Encryption::None,
        ..SmtpConfig::default()
    })
    .await
    .map_err(|e| e.to_string())?;
    let prepared = mail
        .prepare(Template::Test, "reader@example.com", "Reader", None, &[])
        .await
        .map_err(|e| e.to_string())?;
    let mut tx = db.pool().begin().await?;
    for _ in 0..count {
        mail.enqueue(&mut tx, &prepared).await?;
    }
    tx.commit().await?;

    let start = Instant::now();
    let worker = {
        let mail = mail.clone();
        tokio::spawn(async move { mail.run().await })
    };
    mail.wake();
    let queued = || async {
        sqlx::query_scalar::<_, i64>("SELECT COUNT(*) FROM mail_outbox WHERE state = 0")
            .fetch_one(db.pool())
            .await
    };
    while queued().await? > 0 {
        if start.elapsed() > Duration::from_secs(600) {
            return Err("the outbox did not empty within 10 minutes".into());
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let seconds = start.elapsed().as_secs_f64();
    mail.stop();
    worker.await?;
    let (sent, failed): (i64, i64) = sqlx::query_as(
        "SELECT COALESCE(SUM(CASE WHEN state = 1 THEN 1 ELSE 0 END), 0), \
         COALESCE(SUM(CASE WHEN state = 2 THEN 1 ELSE 0 END), 0) FROM mail_outbox",
    )
    .fetch_one(db.pool())
    .await?;
    println!(
        "{}",
        serde_json::json!({
            "mails": count,
            "seconds": seconds,
            "per_second": count as f64 / seconds,
            "sent": sent,
            "failed": failed,
        })
    );
    db.close().await;
    let _ = std::fs::remove_dir_all(&dir);
    Ok(())
}

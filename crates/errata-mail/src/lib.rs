//! Outgoing mail: the SMTP settings (Wiki.js 2.5's `mail` API keeps them
//! in the database, for every instance), the templates, and the outbox.
//!
//! A request that causes a mail never waits for SMTP: [`Mail::prepare`]
//! checks that mail is set up (`MailNotConfigured`), that the recipient is
//! an address (`MailInvalidRecipient`) and renders the template
//! (`MailTemplateFailed`), all before anything is written; the caller then
//! writes the mail with [`Mail::enqueue`] in its own transaction, and a
//! worker ([`Mail::run`]) delivers it, retrying with backoff. Only
//! [`Mail::send_test`] talks to the server while the request waits.
//!
//! Every failure is a catalog error (`errata-errors`). Must never depend on
//! another domain, nor on the HTTP or GraphQL layers.

mod config;
mod message;
mod outbox;
mod smtp;
mod template;

use std::io::Write;
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use errata_catalog::Error;
use errata_errors::mail;
use errata_store::{Database, Domain, Migration};
use lettre::Address;
use serde::Deserialize;
use sqlx::AnyConnection;
use tokio::sync::{Notify, watch};

pub use config::{Encryption, MASK, SmtpConfig};
pub use template::{LOCALES, Rendered, Template, Templates, locale_for};

use message::Queued;
use smtp::{Failure, Session};

/// Mail's tables and their migrations, for each backend.
pub const STORAGE: Domain = Domain {
    name: "mail",
    sqlite: &[Migration {
        version: 6,
        description: "mail",
        sql: include_str!("../migrations/sqlite/0006_mail.sql"),
    }],
    postgres: &[Migration {
        version: 6,
        description: "mail",
        sql: include_str!("../migrations/postgres/0006_mail.sql"),
    }],
    tables: &["mail_config", "mail_outbox"],
    generated: &[("mail_outbox", "id")],
};

/// How the outbox delivers (`[mail]` in the server's configuration). The
/// SMTP server itself is set through the API (`mail.updateConfig`).
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields, rename_all = "kebab-case")]
pub struct Settings {
    /// The longest any SMTP step may take (connecting, each command), in
    /// milliseconds.
    pub timeout_ms: u64,
    /// The first wait after a failed send, doubled at each attempt.
    pub retry_base_ms: u64,
    /// The longest wait between attempts.
    pub retry_max_ms: u64,
    /// Attempts before a mail fails for good.
    pub max_attempts: u32,
    /// How often the outbox is looked at for mails put off or queued by
    /// another instance, in milliseconds. Mail queued here goes at once.
    pub poll_ms: u64,
    /// SMTP connections an instance sends over at once.
    pub connections: usize,
    /// Mails sent over one connection before it is closed.
    pub batch: usize,
    /// Days sent and failed mails are kept (without their bodies).
    pub keep_days: u32,
    /// Write mail as `.eml` files into this directory instead of sending
    /// it (development, tests); mail then counts as set up without SMTP.
    pub pickup_dir: Option<PathBuf>,
}

impl Default for Settings {
    fn default() -> Settings {
        Settings {
            timeout_ms: 10_000,
            retry_base_ms: 30_000,
            retry_max_ms: 3_600_000,
            max_attempts: 10,
            poll_ms: 2_000,
            connections: 4,
            batch: 10,
            keep_days: 7,
            pickup_dir: None,
        }
    }
}

impl Settings {
    fn timeout(&self) -> Duration {
        Duration::from_millis(self.timeout_ms.max(1))
    }
}

/// A mail ready to be queued: checked and rendered.
#[derive(Debug, Clone)]
pub struct Prepared {
    template: Template,
    recipient: String,
    recipient_name: String,
    rendered: Rendered,
}

impl Prepared {
    /// What it says.
    pub fn rendered(&self) -> &Rendered {
        &self.rendered
    }
}

/// The mail domain over one database.
#[derive(Debug, Clone)]
pub struct Mail {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    db: Database,
    settings: Settings,
    templates: Templates,
    /// Mail was queued here: the worker goes at once.
    wake: Notify,
    /// Set when the worker must stop.
    stop: watch::Sender<bool>,
}

/// An email address, by lettre's rules (RFC 5321 and 5322, as SMTP
/// servers take them), or `None`. The one test of what an address is:
/// identity checks accounts' addresses with it too.
pub fn parse_address(text: &str) -> Option<Address> {
    text.trim().parse::<Address>().ok()
}

/// The name mail says it comes from in templates: the sender's name, or
/// errata's.
fn site(config: &SmtpConfig) -> &str {
    match config.sender_name.trim() {
        "" => "errata",
        name => name,
    }
}

impl Mail {
    /// Mail over `db` (migrated with [`STORAGE`]), with the templates of
    /// `data/mail-templates` over the built-in ones.
    pub fn new(db: Database, settings: Settings, data: &Path) -> Mail {
        Mail {
            inner: Arc::new(Inner {
                db,
                settings,
                templates: Templates::new(data.join("mail-templates")),
                wake: Notify::new(),
                stop: watch::channel(false).0,
            }),
        }
    }

    /// The settings, secrets included: show them with [`SmtpConfig::masked`].
    pub async fn config(&self) -> Result<SmtpConfig, Error> {
        config::load(&self.inner.db).await
    }

    /// Saves new settings; secrets sent back as `********` keep their
    /// stored value. Refused (`MailNotConfigured`, naming why) when a host
    /// is named with settings that cannot send.
    pub async fn update_config(&self, update: SmtpConfig) -> Result<(), Error> {
        let stored = self.config().await?;
        let config = stored.keeping_secrets(update);
        config.check()?;
        config::save(&self.inner.db, &config).await?;
        // Mail waiting for settings may go now.
        self.wake();
        Ok(())
    }

    /// Whether mail can be sent: an SMTP server is named, or mail goes to
    /// the pickup directory.
    async fn ready(&self) -> Result<SmtpConfig, Error> {
        let config = self.config().await?;
        if config.has_host() || self.inner.settings.pickup_dir.is_some() {
            Ok(config)
        } else {
            Err(mail::not_configured())
        }
    }

    /// Checks and renders a mail to `to` (named `name`) in `locale`, before
    /// anything is written: `MailNotConfigured`, `MailInvalidRecipient`
    /// or `MailTemplateFailed`.
    pub async fn prepare(
        &self,
        template: Template,
        to: &str,
        name: &str,
        locale: Option<&str>,
        values: &[(&str, &str)],
    ) -> Result<Prepared, Error> {
        let config = self.ready().await?;
        let recipient = parse_address(to).ok_or_else(mail::invalid_recipient)?;
        let rendered = self
            .inner
            .templates
            .render(template, locale, site(&config), values)?;
        Ok(Prepared {
            template,
            recipient: recipient.to_string(),
            recipient_name: name.to_owned(),
            rendered,
        })
    }

    /// Queues `mail` in the caller's transaction; call [`Mail::wake`] once
    /// it has committed.
    pub async fn enqueue(
        &self,
        conn: &mut AnyConnection,
        mail: &Prepared,
    ) -> Result<(), sqlx::Error> {
        outbox::enqueue(conn, mail, now_ms()).await
    }

    /// Tells this instance's worker that mail was queued.
    pub fn wake(&self) {
        self.inner.wake.notify_one();
    }

    /// Sends the test mail to `to` now and answers how it went:
    /// `MailInvalidRecipient` for an address that is not one or that the
    /// server refuses for good, `MailNotConfigured` without an SMTP host,
    /// `MailTemplateFailed`, and `MailGenericError` when the server cannot
    /// be reached, refuses, or does not answer within `timeout-ms`.
    pub async fn send_test(&self, to: &str, locale: Option<&str>) -> Result<(), Error> {
        let recipient = parse_address(to).ok_or_else(mail::invalid_recipient)?;
        let config = self.config().await?;
        if !config.has_host() {
            return Err(mail::not_configured());
        }
        let rendered = self
            .inner
            .templates
            .render(Template::Test, locale, site(&config), &[])?;
        let test = Queued {
            id: 0,
            kind: Template::Test.name().to_owned(),
            message_id: random_hex(),
            recipient: recipient.to_string(),
            recipient_name: String::new(),
            subject: rendered.subject,
            text: rendered.text,
            html: rendered.html,
            attempts: 1,
            created_at: now_ms(),
        };
        let as_error = |failure: Failure| {
            let cause = std::io::Error::other(failure.reason().to_owned());
            match failure {
                Failure::Recipient(_) => mail::invalid_recipient().with_source(cause),
                _ => mail::generic_error().with_source(cause),
            }
        };
        let message = message::build(&config, &test).map_err(as_error)?;
        let timeout = self.inner.settings.timeout();
        let mut session = Session::open(&config, timeout).await.map_err(as_error)?;
        let envelope = message.envelope();
        let (Some(from), [to]) = (envelope.from(), envelope.to()) else {
            return Err(mail::generic_error());
        };
        let sent = session.send(from, to, &message.formatted()).await;
        session.close().await;
        sent.map_err(as_error)
    }

    /// Delivers queued mail until [`Mail::stop`]: at once when mail is
    /// queued here, and every `poll-ms` for mail put off or queued
    /// elsewhere. Sent and failed mails are purged hourly.
    pub async fn run(&self) {
        let mut stopping = self.inner.stop.subscribe();
        let mut purged: Option<tokio::time::Instant> = None;
        let poll = Duration::from_millis(self.inner.settings.poll_ms.max(10));
        loop {
            if *stopping.borrow() {
                return;
            }
            let delivered = match self.deliver().await {
                Ok(n) => n,
                Err(e) => {
                    tracing::warn!(error = %e, cause = ?e.cause().map(ToString::to_string), "the outbox could not be read");
                    0
                }
            };
            if purged.is_none_or(|at| at.elapsed() > Duration::from_secs(3600)) {
                let keep = i64::from(self.inner.settings.keep_days) * 86_400_000;
                match outbox::purge(&self.inner.db, now_ms() - keep).await {
                    Ok(_) => purged = Some(tokio::time::Instant::now()),
                    Err(e) => tracing::warn!(error = %e, "old mail could not be purged"),
                }
            }
            if delivered > 0 {
                continue;
            }
            tokio::select! {
                () = self.inner.wake.notified() => {}
                () = tokio::time::sleep(poll) => {}
                _ = stopping.changed() => return,
            }
        }
    }

    /// Stops [`Mail::run`] after the mails it is sending.
    pub fn stop(&self) {
        self.inner.stop.send_replace(true);
    }

    /// Claims the mails due now and sends them over `connections`
    /// connections at once; how many were claimed.
    async fn deliver(&self) -> Result<usize, Error> {
        let settings = &self.inner.settings;
        let config = self.config().await?;
        if !config.has_host() && settings.pickup_dir.is_none() {
            return Ok(0);
        }
        let batch = settings.batch.max(1);
        let now = now_ms();
        // Long enough for a whole batch that times out at every step.
        let lease = i64::try_from(settings.timeout().as_millis())
            .unwrap_or(i64::MAX / 8)
            .saturating_mul(i64::try_from(batch).unwrap_or(1) * 4 + 4);
        let mails = outbox::claim(
            &self.inner.db,
            batch * settings.connections.max(1),
            now,
            now.saturating_add(lease),
        )
        .await?;
        let claimed = mails.len();
        let config = Arc::new(config);
        let mut sending = tokio::task::JoinSet::new();
        let mut mails = mails.into_iter().peekable();
        while mails.peek().is_some() {
            let chunk: Vec<Queued> = mails.by_ref().take(batch).collect();
            let this = self.clone();
            let config = Arc::clone(&config);
            sending.spawn(async move { this.send_batch(&config, chunk).await });
        }
        while sending.join_next().await.is_some() {}
        Ok(claimed)
    }

    /// Sends `mails` over one connection, opened when the first needs it
    /// and again after one breaks. A server that cannot be reached puts
    /// off the rest of the batch without trying each.
    async fn send_batch(&self, config: &SmtpConfig, mails: Vec<Queued>) {
        let mut session: Option<Session> = None;
        let mut unreachable: Option<String> = None;
        for mail in mails {
            let outcome = match &unreachable {
                Some(reason) => Err(Failure::Connection(reason.clone())),
                None => {
                    self.send_one(config, &mail, &mut session, &mut unreachable)
                        .await
                }
            };
            self.settle(&mail, outcome).await;
        }
        if let Some(session) = session {
            session.close().await;
        }
    }

    async fn send_one(
        &self,
        config: &SmtpConfig,
        mail: &Queued,
        session: &mut Option<Session>,
        unreachable: &mut Option<String>,
    ) -> Result<(), Failure> {
        let message = message::build(config, mail)?;
        if let Some(dir) = &self.inner.settings.pickup_dir {
            return pickup(dir, &mail.message_id, &message.formatted())
                .map_err(|e| Failure::Later(format!("{}: {e}", dir.display())));
        }
        let envelope = message.envelope();
        let (Some(from), [to]) = (envelope.from(), envelope.to()) else {
            return Err(Failure::Message(
                "the message has no one envelope".to_owned(),
            ));
        };
        let mut open = match session.take() {
            Some(open) => open,
            None => match Session::open(config, self.inner.settings.timeout()).await {
                Ok(open) => open,
                Err(failure) => {
                    *unreachable = Some(failure.reason().to_owned());
                    return Err(failure);
                }
            },
        };
        let sent = open.send(from, to, &message.formatted()).await;
        if !matches!(sent, Err(Failure::Connection(_))) {
            *session = Some(open);
        }
        sent
    }

    /// Records how sending `mail` went.
    async fn settle(&self, mail: &Queued, outcome: Result<(), Failure>) {
        let db = &self.inner.db;
        let now = now_ms();
        let recorded = match &outcome {
            Ok(()) => outbox::sent(db, mail.id, now).await,
            Err(failure @ (Failure::Recipient(_) | Failure::Message(_))) => {
                tracing::warn!(mail = mail.id, kind = %mail.kind, reason = failure.reason(), "a mail was refused for good");
                outbox::failed(db, mail.id, failure.reason(), now).await
            }
            Err(failure @ (Failure::Later(_) | Failure::Connection(_))) => {
                tracing::warn!(mail = mail.id, kind = %mail.kind, attempts = mail.attempts, reason = failure.reason(), "a mail could not be sent; it will be tried again");
                outbox::later(db, &self.inner.settings, mail, failure.reason(), now).await
            }
        };
        if let Err(e) = recorded {
            // The lease runs out and the mail is taken again: at worst it
            // is sent twice, never lost.
            tracing::warn!(mail = mail.id, error = %e, "how a mail went could not be recorded");
        }
    }
}

/// Writes a message into the pickup directory, readable by errata's user
/// alone: it may hold a one-time token.
fn pickup(dir: &Path, id: &str, message: &[u8]) -> std::io::Result<()> {
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)?;
    let mode = std::fs::metadata(dir)?.permissions().mode();
    if mode & 0o077 != 0 {
        std::fs::set_permissions(dir, std::fs::Permissions::from_mode(mode & 0o700))?;
    }
    let path = dir.join(format!("{id}.eml"));
    let partial = dir.join(format!(".{id}.eml.partial"));
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(&partial)?;
    file.write_all(message)?;
    file.sync_all()?;
    // Whoever reads the directory sees whole messages only.
    std::fs::rename(&partial, &path)
}

/// A store failure in a mail operation: an unreachable or busy database is
/// the system's 503; anything else is `MailGenericError`, its cause logged.
fn failed(e: sqlx::Error) -> Error {
    if errata_store::is_unavailable(&e) {
        errata_errors::system::database_unavailable().with_source(e)
    } else {
        mail::generic_error().with_source(e)
    }
}

/// Milliseconds since the epoch.
fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}

/// 128 random bits in hex.
fn random_hex() -> String {
    let mut bytes = [0u8; 16];
    getrandom::fill(&mut bytes).expect("the system's random source works");
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    //! The outbox on both backends, against a real SMTP server: each mail
    //! sent once by two instances at once, retries that outlive the
    //! process, refusals, and mail waiting for settings.

    use std::time::Duration;

    use errata_store::testing::{BACKENDS, Scratch};
    use errata_store::{DatabaseUrl, Options};
    use errata_test_support::smtp::SmtpSink;

    use super::*;

    fn quick() -> Settings {
        Settings {
            timeout_ms: 2_000,
            retry_base_ms: 100,
            retry_max_ms: 400,
            poll_ms: 50,
            ..Settings::default()
        }
    }

    async fn instance(url: &DatabaseUrl, settings: Settings, data: &Path) -> Mail {
        let db = Database::open(url, &Options::default(), &[&errata_store::STORE, &STORAGE])
            .await
            .expect("the scratch database opens");
        Mail::new(db, settings, data)
    }

    fn smtp(port: u16) -> SmtpConfig {
        SmtpConfig {
            sender_name: "Wiki".to_owned(),
            sender_email: "wiki@example.com".to_owned(),
            host: "127.0.0.1".to_owned(),
            port,
            encryption: Encryption::None,
            ..SmtpConfig::default()
        }
    }

    async fn queue(mail: &Mail, to: &str) {
        let prepared = mail
            .prepare(Template::Test, to, "Someone", None, &[])
            .await
            .expect("the mail is prepared");
        let mut conn = mail.inner.db.pool().acquire().await.unwrap();
        mail.enqueue(&mut conn, &prepared).await.unwrap();
    }

    /// `(state, attempts)` of every mail, oldest first.
    async fn states(mail: &Mail) -> Vec<(i64, i64)> {
        sqlx::query_as("SELECT state, attempts FROM mail_outbox ORDER BY id")
            .fetch_all(mail.inner.db.pool())
            .await
            .unwrap()
    }

    async fn until(mail: &Mail, done: impl Fn(&[(i64, i64)]) -> bool) -> Vec<(i64, i64)> {
        for _ in 0..600 {
            let now = states(mail).await;
            if done(&now) {
                return now;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        panic!("the outbox never got there: {:?}", states(mail).await);
    }

    /// A port nothing listens on.
    fn closed_port() -> u16 {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap().port()
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn two_instances_send_each_mail_once() {
        for backend in BACKENDS {
            let scratch = Scratch::new(backend).await;
            let sink = SmtpSink::start();
            let settings = Settings {
                connections: 3,
                batch: 4,
                ..quick()
            };
            let a = instance(&scratch.url, settings.clone(), &scratch.dir).await;
            let b = instance(&scratch.url, settings, &scratch.dir).await;
            a.update_config(smtp(sink.port)).await.unwrap();
            for n in 0..60 {
                queue(&a, &format!("user{n}@example.com")).await;
            }
            let (run_a, run_b) = (a.clone(), b.clone());
            let workers = [
                tokio::spawn(async move { run_a.run().await }),
                tokio::spawn(async move { run_b.run().await }),
            ];
            a.wake();
            b.wake();
            until(&a, |s| s.iter().all(|(state, _)| *state == 1)).await;
            let received = sink.wait_for(60, Duration::from_secs(10)).await;
            // Anything sent twice would be in the sink by now.
            tokio::time::sleep(Duration::from_millis(300)).await;
            let received_late = sink.received();
            assert_eq!(received_late.len(), 60, "{backend:?}: {}", received.len());
            let mut recipients: Vec<String> = received_late
                .iter()
                .flat_map(|r| r.rcpt_tos.clone())
                .collect();
            recipients.sort();
            recipients.dedup();
            assert_eq!(recipients.len(), 60, "{backend:?}: each recipient once");
            let mut ids: Vec<String> = received_late
                .iter()
                .map(|r| r.parsed().header("Message-ID").unwrap_or("").to_owned())
                .collect();
            ids.sort();
            ids.dedup();
            assert_eq!(ids.len(), 60, "{backend:?}: each message once");
            assert!(
                states(&a).await.iter().all(|(_, attempts)| *attempts == 1),
                "{backend:?}: no mail was claimed twice"
            );
            a.stop();
            b.stop();
            for worker in workers {
                worker.await.unwrap();
            }
            a.inner.db.close().await;
            b.inner.db.close().await;
        }
    }

    #[tokio::test]
    async fn a_failed_send_is_retried_with_backoff_and_after_a_restart() {
        for backend in BACKENDS {
            let scratch = Scratch::new(backend).await;
            let before = instance(&scratch.url, quick(), &scratch.dir).await;
            before.update_config(smtp(closed_port())).await.unwrap();
            queue(&before, "ann@example.com").await;
            let worker = {
                let before = before.clone();
                tokio::spawn(async move { before.run().await })
            };
            // Tried, put off, tried again later: the backoff.
            until(&before, |s| s[0].1 >= 2).await;
            before.stop();
            worker.await.unwrap();
            let (state, attempts) = states(&before).await[0];
            assert_eq!(
                state, 0,
                "{backend:?}: still queued after {attempts} attempts"
            );
            let error: Option<String> = sqlx::query_scalar("SELECT last_error FROM mail_outbox")
                .fetch_one(before.inner.db.pool())
                .await
                .unwrap();
            assert!(
                error.as_deref().unwrap_or("").contains("connecting"),
                "{error:?}"
            );
            before.inner.db.close().await;

            // A new process, the server reachable now.
            let sink = SmtpSink::start();
            let after = instance(&scratch.url, quick(), &scratch.dir).await;
            after.update_config(smtp(sink.port)).await.unwrap();
            let worker = {
                let after = after.clone();
                tokio::spawn(async move { after.run().await })
            };
            let done = until(&after, |s| s[0].0 == 1).await;
            assert!(done[0].1 > attempts, "{backend:?}: {done:?}");
            assert_eq!(sink.wait_for(1, Duration::from_secs(5)).await.len(), 1);
            let bodies: (String, String) =
                sqlx::query_as("SELECT body_text, body_html FROM mail_outbox")
                    .fetch_one(after.inner.db.pool())
                    .await
                    .unwrap();
            assert_eq!(
                bodies,
                (String::new(), String::new()),
                "sent mail keeps no body"
            );
            after.stop();
            worker.await.unwrap();
            after.inner.db.close().await;
        }
    }

    #[tokio::test]
    async fn refused_recipients_fail_for_good_and_deferred_ones_give_up_after_their_attempts() {
        for backend in BACKENDS {
            let scratch = Scratch::new(backend).await;
            let sink = SmtpSink::start();
            let mail = instance(
                &scratch.url,
                Settings {
                    max_attempts: 3,
                    ..quick()
                },
                &scratch.dir,
            )
            .await;
            mail.update_config(smtp(sink.port)).await.unwrap();
            queue(&mail, "refuse-me@example.com").await;
            queue(&mail, "later@example.com").await;
            queue(&mail, "ann@example.com").await;
            let worker = {
                let mail = mail.clone();
                tokio::spawn(async move { mail.run().await })
            };
            let done = until(&mail, |s| s.iter().all(|(state, _)| *state != 0)).await;
            assert_eq!(done, [(2, 1), (2, 3), (1, 1)], "{backend:?}");
            let received = sink.received();
            assert_eq!(received.len(), 1, "the session went on after the refusals");
            assert_eq!(received[0].rcpt_tos, ["ann@example.com"]);
            mail.stop();
            worker.await.unwrap();
            mail.inner.db.close().await;
        }
    }

    #[tokio::test]
    async fn mail_waits_for_settings_and_goes_once_they_are_saved() {
        for backend in BACKENDS {
            let scratch = Scratch::new(backend).await;
            let mail = instance(&scratch.url, quick(), &scratch.dir).await;
            let e = mail
                .prepare(Template::Test, "ann@example.com", "Ann", None, &[])
                .await
                .unwrap_err();
            assert_eq!(e.id(), "mail.not_configured");
            let sink = SmtpSink::start();
            mail.update_config(smtp(sink.port)).await.unwrap();
            queue(&mail, "ann@example.com").await;
            mail.update_config(SmtpConfig {
                host: String::new(),
                ..smtp(sink.port)
            })
            .await
            .unwrap();
            let worker = {
                let mail = mail.clone();
                tokio::spawn(async move { mail.run().await })
            };
            tokio::time::sleep(Duration::from_millis(300)).await;
            assert_eq!(states(&mail).await, [(0, 0)], "{backend:?}: not even tried");
            mail.update_config(smtp(sink.port)).await.unwrap();
            until(&mail, |s| s[0].0 == 1).await;
            mail.stop();
            worker.await.unwrap();
            mail.inner.db.close().await;
        }
    }

    #[tokio::test]
    async fn the_pickup_directory_gets_private_files_and_old_mail_is_purged() {
        for backend in BACKENDS {
            let scratch = Scratch::new(backend).await;
            let dir = scratch.dir.join("pickup");
            let mail = instance(
                &scratch.url,
                Settings {
                    pickup_dir: Some(dir.clone()),
                    ..quick()
                },
                &scratch.dir,
            )
            .await;
            queue(&mail, "ann@example.com").await;
            let worker = {
                let mail = mail.clone();
                tokio::spawn(async move { mail.run().await })
            };
            until(&mail, |s| s == [(1, 1)]).await;
            let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
            assert_eq!(mode(&dir), 0o700);
            let files: Vec<PathBuf> = std::fs::read_dir(&dir)
                .unwrap()
                .map(|e| e.unwrap().path())
                .collect();
            assert_eq!(files.len(), 1, "{files:?}");
            assert_eq!(mode(&files[0]), 0o600);
            let text = std::fs::read_to_string(&files[0]).unwrap();
            assert!(text.contains("To: Someone <ann@example.com>"), "{text}");
            // The hourly purge, `keep-days` later.
            let keep = i64::from(Settings::default().keep_days) * 86_400_000;
            assert_eq!(
                outbox::purge(&mail.inner.db, now_ms() - keep)
                    .await
                    .unwrap(),
                0
            );
            assert_eq!(
                outbox::purge(&mail.inner.db, now_ms() + 1).await.unwrap(),
                1
            );
            assert!(states(&mail).await.is_empty());
            mail.stop();
            worker.await.unwrap();
            mail.inner.db.close().await;
        }
    }
}

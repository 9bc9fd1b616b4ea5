//! One SMTP session with lettre's client, command by command, so that a
//! refusal is known by the step it answered: a recipient refused for good
//! (5xx to `RCPT TO`) is the recipient's fault, anything else the server's
//! or the network's. Every step is bounded by the timeout, so a server
//! that accepts the connection and never answers costs that long at most.

use std::future::Future;
use std::time::Duration;

use lettre::Address;
use lettre::transport::smtp::authentication::{Credentials, Mechanism};
use lettre::transport::smtp::client::{AsyncSmtpConnection, TlsParameters};
use lettre::transport::smtp::commands::{Data, Mail, Rcpt, Rset};
use lettre::transport::smtp::extension::{ClientId, Extension, MailBodyParameter, MailParameter};

use crate::{Encryption, SmtpConfig};

/// Why a mail was not sent.
#[derive(Debug)]
pub(crate) enum Failure {
    /// The server refused the recipient for good (5xx to `RCPT TO`).
    Recipient(String),
    /// The server refused this message for good (5xx to its data).
    Message(String),
    /// The server put this mail off (4xx), or refused the sender: try this
    /// mail again later; the session goes on.
    Later(String),
    /// The connection failed, timed out or was refused, or the server
    /// cannot be used as configured: this mail and the rest wait, and the
    /// session is over.
    Connection(String),
}

impl Failure {
    pub(crate) fn reason(&self) -> &str {
        match self {
            Failure::Recipient(r)
            | Failure::Message(r)
            | Failure::Later(r)
            | Failure::Connection(r) => r,
        }
    }
}

/// An open session, ready for `MAIL FROM`.
pub(crate) struct Session {
    conn: AsyncSmtpConnection,
    timeout: Duration,
}

impl std::fmt::Debug for Session {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Session").finish_non_exhaustive()
    }
}

/// Runs `step` within `timeout`.
async fn bounded<T>(
    timeout: Duration,
    what: &str,
    step: impl Future<Output = Result<T, lettre::transport::smtp::Error>>,
) -> Result<T, Failure> {
    match tokio::time::timeout(timeout, step).await {
        Ok(Ok(value)) => Ok(value),
        Ok(Err(e)) => Err(Failure::Connection(format!("{what}: {e}"))),
        Err(_) => Err(Failure::Connection(format!(
            "{what}: no answer within {} ms",
            timeout.as_millis()
        ))),
    }
}

impl Session {
    /// Connects, protects the connection as configured, and authenticates.
    pub(crate) async fn open(config: &SmtpConfig, timeout: Duration) -> Result<Session, Failure> {
        let host = config.host.trim().to_owned();
        let hello = match config.name.trim() {
            "" => ClientId::default(),
            name => ClientId::Domain(name.to_owned()),
        };
        let tls = || {
            TlsParameters::builder(host.clone())
                .dangerous_accept_invalid_certs(!config.verify_ssl)
                .dangerous_accept_invalid_hostnames(!config.verify_ssl)
                .build_rustls()
                .map_err(|e| Failure::Connection(format!("TLS: {e}")))
        };
        let implicit = match config.encryption {
            Encryption::Tls => Some(tls()?),
            _ => None,
        };
        let mut conn = bounded(
            timeout,
            "connecting",
            AsyncSmtpConnection::connect_tokio1(
                (host.as_str(), config.port),
                Some(timeout),
                &hello,
                implicit,
                None,
            ),
        )
        .await?;
        let starttls = match config.encryption {
            Encryption::StartTls => true,
            Encryption::Opportunistic => conn.can_starttls(),
            Encryption::None | Encryption::Tls => false,
        };
        if starttls {
            bounded(timeout, "STARTTLS", conn.starttls(tls()?, &hello)).await?;
        }
        if !config.user.is_empty() {
            // Credentials go out in clear only when the operator asked for
            // no encryption at all: a server that stops offering STARTTLS
            // (or a network that strips it) gets no password.
            if !conn.is_encrypted() && config.encryption != Encryption::None {
                return Err(Failure::Connection(
                    "the server offers no STARTTLS; credentials are not sent unencrypted"
                        .to_owned(),
                ));
            }
            let credentials = Credentials::new(config.user.clone(), config.pass.clone());
            bounded(
                timeout,
                "authenticating",
                conn.auth(&[Mechanism::Plain, Mechanism::Login], &credentials),
            )
            .await?;
        }
        Ok(Session { conn, timeout })
    }

    /// Sends one message from `from` to `to`. After any failure but
    /// `Connection`, the session can send the next.
    pub(crate) async fn send(
        &mut self,
        from: &Address,
        to: &Address,
        message: &[u8],
    ) -> Result<(), Failure> {
        let info = self.conn.server_info();
        let mut options = Vec::new();
        if !AsRef::<str>::as_ref(from).is_ascii() || !AsRef::<str>::as_ref(to).is_ascii() {
            if !info.supports_feature(Extension::SmtpUtfEight) {
                return Err(Failure::Recipient(
                    "the address is not ASCII and the server does not take SMTPUTF8".to_owned(),
                ));
            }
            options.push(MailParameter::SmtpUtfEight);
        }
        if !message.is_ascii() && info.supports_feature(Extension::EightBitMime) {
            options.push(MailParameter::Body(MailBodyParameter::EightBitMime));
        }
        let timeout = self.timeout;
        let step = |what: &'static str| move |e: lettre::transport::smtp::Error| (what, e);
        let answered = async {
            self.conn
                .command(Mail::new(Some(from.clone()), options))
                .await
                .map_err(step("MAIL FROM"))?;
            self.conn
                .command(Rcpt::new(to.clone(), Vec::new()))
                .await
                .map_err(step("RCPT TO"))?;
            self.conn.command(Data).await.map_err(step("DATA"))?;
            self.conn.message(message).await.map_err(step("message"))?;
            Ok::<(), (&str, lettre::transport::smtp::Error)>(())
        };
        let outcome = match tokio::time::timeout(timeout, answered).await {
            Ok(outcome) => outcome,
            Err(_) => {
                return Err(Failure::Connection(format!(
                    "no answer within {} ms",
                    timeout.as_millis()
                )));
            }
        };
        let Err((what, e)) = outcome else {
            return Ok(());
        };
        let reason = format!("{what}: {e}");
        let failure = if e.is_permanent() && what == "RCPT TO" {
            Failure::Recipient(reason)
        } else if e.is_permanent() && what != "MAIL FROM" {
            Failure::Message(reason)
        } else if e.is_permanent() || e.is_transient() {
            Failure::Later(reason)
        } else {
            return Err(Failure::Connection(reason));
        };
        // The transaction is abandoned; the next starts clean.
        bounded(timeout, "RSET", self.conn.command(Rset)).await?;
        Err(failure)
    }

    /// Ends the session politely; a server that does not answer is left.
    pub(crate) async fn close(mut self) {
        let _ = tokio::time::timeout(self.timeout, self.conn.quit()).await;
    }
}

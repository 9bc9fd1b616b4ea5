//! The SMTP settings: Wiki.js 2.5's `MailConfig`, kept in the database so
//! that every instance sends with the same ones, and errata's `encryption`,
//! which says what Wiki.js's one `secure` flag cannot (plain, STARTTLS when
//! offered, STARTTLS required, TLS from the first byte).

use errata_catalog::Error;
use errata_errors::mail;
use errata_store::Database;
use sqlx::Row;

/// What `config` answers in place of a secret that is set.
pub const MASK: &str = "********";

/// How the connection to the SMTP server is protected.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Encryption {
    /// Never encrypted (a relay on the same host).
    None,
    /// STARTTLS when the server offers it, as nodemailer does for Wiki.js's
    /// `secure: false`. Credentials are never sent unencrypted.
    Opportunistic,
    /// STARTTLS, or no mail.
    StartTls,
    /// TLS from the first byte (SMTPS, usually port 465): Wiki.js's
    /// `secure: true`.
    Tls,
}

impl Encryption {
    /// Its name in the database.
    pub fn key(self) -> &'static str {
        match self {
            Encryption::None => "none",
            Encryption::Opportunistic => "opportunistic",
            Encryption::StartTls => "starttls",
            Encryption::Tls => "tls",
        }
    }

    fn from_key(key: &str) -> Encryption {
        match key {
            "none" => Encryption::None,
            "starttls" => Encryption::StartTls,
            "tls" => Encryption::Tls,
            _ => Encryption::Opportunistic,
        }
    }

    /// What Wiki.js's `secure` flag means, when no encryption is named.
    pub fn from_secure(secure: bool) -> Encryption {
        if secure {
            Encryption::Tls
        } else {
            Encryption::Opportunistic
        }
    }
}

/// The SMTP settings, secrets included: what the outbox sends with.
#[derive(Clone, PartialEq, Eq)]
pub struct SmtpConfig {
    /// The name mail comes from.
    pub sender_name: String,
    /// The address mail comes from.
    pub sender_email: String,
    /// The SMTP server; empty when mail is not set up.
    pub host: String,
    /// Its port.
    pub port: u16,
    /// The name errata gives itself in `EHLO` (Wiki.js's `name`); empty is
    /// this machine's host name.
    pub name: String,
    /// How the connection is protected.
    pub encryption: Encryption,
    /// Whether the server's certificate and name are checked.
    pub verify_ssl: bool,
    /// The user to authenticate as; empty sends no credentials.
    pub user: String,
    /// Their password.
    pub pass: String,
    /// Whether mail is signed with DKIM.
    pub use_dkim: bool,
    /// The signing domain (`d=`).
    pub dkim_domain_name: String,
    /// The selector (`s=`): the key is published at
    /// `SELECTOR._domainkey.DOMAIN`.
    pub dkim_key_selector: String,
    /// The RSA private key, PEM (PKCS#1 or PKCS#8).
    pub dkim_private_key: String,
}

impl std::fmt::Debug for SmtpConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SmtpConfig")
            .field("host", &self.host)
            .field("port", &self.port)
            .field("encryption", &self.encryption)
            .field("verify_ssl", &self.verify_ssl)
            .field("user", &self.user)
            .field("use_dkim", &self.use_dkim)
            .finish_non_exhaustive()
    }
}

impl Default for SmtpConfig {
    /// Wiki.js's defaults: nothing set up, TLS on port 465 once it is.
    fn default() -> SmtpConfig {
        SmtpConfig {
            sender_name: String::new(),
            sender_email: String::new(),
            host: String::new(),
            port: 465,
            name: String::new(),
            encryption: Encryption::Tls,
            verify_ssl: true,
            user: String::new(),
            pass: String::new(),
            use_dkim: false,
            dkim_domain_name: String::new(),
            dkim_key_selector: String::new(),
            dkim_private_key: String::new(),
        }
    }
}

impl SmtpConfig {
    /// Whether an SMTP server is named.
    pub fn has_host(&self) -> bool {
        !self.host.trim().is_empty()
    }

    /// The settings as `mail { config }` shows them: secrets that are set
    /// read `********`.
    pub fn masked(&self) -> SmtpConfig {
        let mask = |s: &str| {
            if s.is_empty() {
                String::new()
            } else {
                MASK.to_owned()
            }
        };
        SmtpConfig {
            pass: mask(&self.pass),
            dkim_private_key: mask(&self.dkim_private_key),
            ..self.clone()
        }
    }

    /// `update` with the secrets it sends back as `********` replaced by
    /// the stored ones.
    pub fn keeping_secrets(&self, update: SmtpConfig) -> SmtpConfig {
        SmtpConfig {
            pass: if update.pass == MASK {
                self.pass.clone()
            } else {
                update.pass
            },
            dkim_private_key: if update.dkim_private_key == MASK {
                self.dkim_private_key.clone()
            } else {
                update.dkim_private_key
            },
            ..update
        }
    }

    /// Checks settings before they are saved: with a host, a sender address
    /// that is one, a port, and, with DKIM, a domain, a selector and a key
    /// that loads. `MailNotConfigured` names what is wrong.
    pub fn check(&self) -> Result<(), Error> {
        let invalid = |reason: &str| {
            mail::not_configured()
                .with_detail("reason", reason.to_owned())
                .with_source(std::io::Error::other(reason.to_owned()))
        };
        if !self.has_host() {
            return Ok(());
        }
        if self.port == 0 {
            return Err(invalid("the port must be between 1 and 65535"));
        }
        if crate::parse_address(&self.sender_email).is_none() {
            return Err(invalid("the sender email is not an email address"));
        }
        if self.sender_name.chars().any(char::is_control) || self.name.chars().any(char::is_control)
        {
            return Err(invalid("names cannot hold control characters"));
        }
        if self.use_dkim {
            if self.dkim_domain_name.trim().is_empty() || self.dkim_key_selector.trim().is_empty() {
                return Err(invalid("DKIM needs a domain name and a key selector"));
            }
            crate::message::signing_key(&self.dkim_private_key)
                .map_err(|_| invalid("the DKIM private key is not an RSA key in PEM"))?;
        }
        Ok(())
    }
}

/// The stored settings, or the defaults when none were saved.
pub(crate) async fn load(db: &Database) -> Result<SmtpConfig, Error> {
    let row = sqlx::query(
        "SELECT sender_name, sender_email, host, port, hello_name, encryption, verify_ssl, \
         user_name, pass, use_dkim, dkim_domain, dkim_selector, dkim_private_key \
         FROM mail_config WHERE id = 1",
    )
    .fetch_optional(db.pool())
    .await
    .map_err(crate::failed)?;
    let Some(row) = row else {
        return Ok(SmtpConfig::default());
    };
    let read = || -> Result<SmtpConfig, sqlx::Error> {
        Ok(SmtpConfig {
            sender_name: row.try_get("sender_name")?,
            sender_email: row.try_get("sender_email")?,
            host: row.try_get("host")?,
            port: u16::try_from(row.try_get::<i64, _>("port")?).unwrap_or(0),
            name: row.try_get("hello_name")?,
            encryption: Encryption::from_key(row.try_get::<String, _>("encryption")?.as_str()),
            verify_ssl: row.try_get::<i64, _>("verify_ssl")? != 0,
            user: row.try_get("user_name")?,
            pass: row.try_get("pass")?,
            use_dkim: row.try_get::<i64, _>("use_dkim")? != 0,
            dkim_domain_name: row.try_get("dkim_domain")?,
            dkim_key_selector: row.try_get("dkim_selector")?,
            dkim_private_key: row.try_get("dkim_private_key")?,
        })
    };
    read().map_err(crate::failed)
}

/// Saves the settings.
pub(crate) async fn save(db: &Database, config: &SmtpConfig) -> Result<(), Error> {
    sqlx::query(
        "INSERT INTO mail_config (id, sender_name, sender_email, host, port, hello_name, encryption, \
         verify_ssl, user_name, pass, use_dkim, dkim_domain, dkim_selector, dkim_private_key, updated_at) \
         VALUES (1, $1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14) \
         ON CONFLICT (id) DO UPDATE SET sender_name = $1, sender_email = $2, host = $3, port = $4, \
         hello_name = $5, encryption = $6, verify_ssl = $7, user_name = $8, pass = $9, use_dkim = $10, \
         dkim_domain = $11, dkim_selector = $12, dkim_private_key = $13, updated_at = $14",
    )
    .bind(&config.sender_name)
    .bind(&config.sender_email)
    .bind(config.host.trim())
    .bind(i64::from(config.port))
    .bind(&config.name)
    .bind(config.encryption.key())
    .bind(i64::from(config.verify_ssl))
    .bind(&config.user)
    .bind(&config.pass)
    .bind(i64::from(config.use_dkim))
    .bind(config.dkim_domain_name.trim())
    .bind(config.dkim_key_selector.trim())
    .bind(&config.dkim_private_key)
    .bind(crate::now_ms())
    .execute(db.pool())
    .await
    .map_err(crate::failed)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_are_masked_and_kept_when_sent_back_masked() {
        let stored = SmtpConfig {
            pass: "hunter2".to_owned(),
            dkim_private_key: "KEY".to_owned(),
            ..SmtpConfig::default()
        };
        let shown = stored.masked();
        assert_eq!(shown.pass, MASK);
        assert_eq!(shown.dkim_private_key, MASK);
        assert_eq!(stored.keeping_secrets(shown.clone()), stored);
        let changed = stored.keeping_secrets(SmtpConfig {
            pass: "new".to_owned(),
            ..shown
        });
        assert_eq!(changed.pass, "new");
        assert_eq!(changed.dkim_private_key, "KEY");
        assert_eq!(SmtpConfig::default().masked().pass, "");
    }

    #[test]
    fn settings_are_checked_only_once_a_host_is_named() {
        assert!(SmtpConfig::default().check().is_ok());
        let config = SmtpConfig {
            host: "smtp.example.com".to_owned(),
            sender_email: "wiki@example.com".to_owned(),
            ..SmtpConfig::default()
        };
        assert!(config.check().is_ok());
        for bad in [
            SmtpConfig {
                sender_email: "a..b@example.com".to_owned(),
                ..config.clone()
            },
            SmtpConfig {
                port: 0,
                ..config.clone()
            },
            SmtpConfig {
                use_dkim: true,
                dkim_domain_name: "example.com".to_owned(),
                dkim_key_selector: "s1".to_owned(),
                dkim_private_key: "not a key".to_owned(),
                ..config.clone()
            },
            SmtpConfig {
                use_dkim: true,
                ..config.clone()
            },
        ] {
            assert_eq!(bad.check().unwrap_err().id(), "mail.not_configured");
        }
    }
}

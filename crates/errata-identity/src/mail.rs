//! Outgoing mail. Until SMTP is configured, messages are written as `.eml`
//! files in the data directory (lettre's file transport), where an operator
//! or a test reads them.

use std::path::PathBuf;

use errata_catalog::Error;
use errata_errors::mail;
use lettre::message::{Mailbox, Message, header::ContentType};
use lettre::{FileTransport, Transport};

/// Sends mail.
#[derive(Debug)]
pub struct Mailer {
    dir: PathBuf,
}

impl Mailer {
    /// A mailer writing into `dir`.
    pub fn new(dir: PathBuf) -> Mailer {
        Mailer { dir }
    }

    /// Sends a plain-text message.
    pub fn send(&self, to_name: &str, to: &str, subject: &str, body: String) -> Result<(), Error> {
        let recipient: Mailbox = format!(
            "{} <{to}>",
            to_name.replace(['<', '>', '"', '\r', '\n'], "")
        )
        .parse()
        .or_else(|_| to.parse())
        .map_err(|e| mail::invalid_recipient().with_source(e))?;
        let from: Mailbox = "errata <no-reply@errata.invalid>"
            .parse()
            .expect("a constant mailbox parses");
        let message = Message::builder()
            .from(from)
            .to(recipient)
            .subject(subject)
            .header(ContentType::TEXT_PLAIN)
            .body(body)
            .map_err(|e| mail::generic_error().with_source(e))?;
        std::fs::create_dir_all(&self.dir).map_err(|e| mail::generic_error().with_source(e))?;
        FileTransport::new(&self.dir)
            .send(&message)
            .map(|_| ())
            .map_err(|e| mail::generic_error().with_source(e))
    }
}

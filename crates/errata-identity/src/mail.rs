//! Outgoing mail. Until SMTP is configured, messages are written as `.eml`
//! files in the data directory (lettre's file transport), where an operator
//! or a test reads them.
//!
//! Messages carry verification tokens, so the mail directory is 0700 and
//! each file 0600, whatever the process's umask and the data directory's
//! mode.

use std::fs::{DirBuilder, Permissions};
use std::os::unix::fs::{DirBuilderExt, PermissionsExt};
use std::path::{Path, PathBuf};

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
        let failed = |e: std::io::Error| mail::generic_error().with_source(e);
        private_directory(&self.dir).map_err(failed)?;
        let id = FileTransport::new(&self.dir)
            .send(&message)
            .map_err(|e| mail::generic_error().with_source(e))?;
        // lettre creates the file with the umask's mode; no one else can
        // open it meanwhile, since no one else can enter the directory.
        std::fs::set_permissions(
            self.dir.join(format!("{id}.eml")),
            Permissions::from_mode(0o600),
        )
        .map_err(failed)
    }
}

/// Creates `dir` 0700, or takes group and other permissions away from a
/// directory an older version left open.
fn private_directory(dir: &Path) -> std::io::Result<()> {
    DirBuilder::new().recursive(true).mode(0o700).create(dir)?;
    let mode = std::fs::metadata(dir)?.permissions().mode();
    if mode & 0o077 != 0 {
        std::fs::set_permissions(dir, Permissions::from_mode(mode & 0o700))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mode(path: &Path) -> u32 {
        std::fs::metadata(path).unwrap().permissions().mode() & 0o7777
    }

    #[test]
    fn mail_is_written_where_only_the_owner_can_read_it() {
        let data = std::env::temp_dir().join(format!("errata-mail-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&data);
        let dir = data.join("mail");
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::set_permissions(&dir, Permissions::from_mode(0o755)).unwrap();
        let mailer = Mailer::new(dir.clone());
        mailer
            .send("Ann", "ann@example.com", "Hello", "token".to_owned())
            .unwrap();
        assert_eq!(mode(&dir), 0o700);
        let files: Vec<_> = std::fs::read_dir(&dir)
            .unwrap()
            .map(|e| e.unwrap().path())
            .collect();
        assert_eq!(files.len(), 1, "{files:?}");
        assert_eq!(files[0].extension().unwrap(), "eml");
        assert_eq!(mode(&files[0]), 0o600);
        std::fs::remove_dir_all(&data).unwrap();
    }
}

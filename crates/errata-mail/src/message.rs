//! A queued mail made into an RFC 5322 message with the current settings:
//! sender, headers, both parts, and a DKIM signature when it is set up.

use std::time::{Duration, SystemTime};

use lettre::Message;
use lettre::message::dkim::{
    DkimCanonicalization, DkimCanonicalizationType, DkimConfig, DkimSigningAlgorithm,
    DkimSigningKey,
};
use lettre::message::header::HeaderName;
use lettre::message::{Mailbox, MultiPart};
use rsa::pkcs1::EncodeRsaPrivateKey;
use rsa::pkcs8::DecodePrivateKey;

use crate::SmtpConfig;
use crate::smtp::Failure;

/// A mail as the outbox keeps it.
#[derive(Debug, Clone)]
pub struct Queued {
    /// Its row.
    pub id: i64,
    /// Its template's name.
    pub kind: String,
    /// The random part of its `Message-ID`, fixed when it was queued, so
    /// that a mail sent again after an unknown outcome carries the same one.
    pub message_id: String,
    /// The recipient's address.
    pub recipient: String,
    /// The recipient's name.
    pub recipient_name: String,
    /// The subject.
    pub subject: String,
    /// The plain-text part.
    pub text: String,
    /// The HTML part.
    pub html: String,
    /// Sends made so far, this one included.
    pub attempts: u32,
    /// When it was queued, in milliseconds since the epoch: its `Date`.
    pub created_at: i64,
}

/// Who mail written to the pickup directory comes from, when no sender is
/// set.
const PICKUP_SENDER: &str = "no-reply@errata.invalid";

/// The DKIM key in `pem`: PKCS#1 (`BEGIN RSA PRIVATE KEY`) or PKCS#8
/// (`BEGIN PRIVATE KEY`), as `openssl genrsa` and `genpkey` write them.
pub(crate) fn signing_key(pem: &str) -> Result<DkimSigningKey, String> {
    let pem = pem.trim();
    let pkcs1 = if pem.contains("BEGIN PRIVATE KEY") {
        rsa::RsaPrivateKey::from_pkcs8_pem(pem)
            .and_then(|key| {
                key.to_pkcs1_pem(rsa::pkcs1::LineEnding::LF)
                    .map_err(rsa::pkcs8::Error::from)
            })
            .map_err(|e| e.to_string())?
            .to_string()
    } else {
        pem.to_owned()
    };
    DkimSigningKey::new(&pkcs1, DkimSigningAlgorithm::Rsa).map_err(|e| e.to_string())
}

/// The message for `mail` with `config`'s sender, signed when DKIM is set
/// up. A recipient that is not an address fails for good; a sender or a
/// key that does not load waits for the settings to be mended.
pub(crate) fn build(config: &SmtpConfig, mail: &Queued) -> Result<Message, Failure> {
    // Only mail written to the pickup directory goes without settings.
    let sender = match config.sender_email.trim() {
        "" => crate::parse_address(PICKUP_SENDER),
        sender => crate::parse_address(sender),
    }
    .ok_or_else(|| Failure::Later("the sender email is not an email address".to_owned()))?;
    let recipient = crate::parse_address(&mail.recipient)
        .ok_or_else(|| Failure::Recipient("the recipient is not an email address".to_owned()))?;
    let name = |n: &str| Some(n.trim()).filter(|n| !n.is_empty()).map(str::to_owned);
    let domain = sender.domain().to_owned();
    let created = SystemTime::UNIX_EPOCH + Duration::from_millis(mail.created_at.max(0) as u64);
    let mut message = Message::builder()
        .from(Mailbox::new(name(&config.sender_name), sender))
        .to(Mailbox::new(name(&mail.recipient_name), recipient))
        .subject(mail.subject.clone())
        .date(created)
        .message_id(Some(format!("<{}@{domain}>", mail.message_id)))
        .multipart(MultiPart::alternative_plain_html(
            mail.text.clone(),
            mail.html.clone(),
        ))
        .map_err(|e| Failure::Message(e.to_string()))?;
    if config.use_dkim {
        let key = signing_key(&config.dkim_private_key).map_err(Failure::Later)?;
        // Content-Type is not among them: a multipart body writes its own
        // when the message is formatted, after signing, so a signature
        // over it would not verify.
        let signed = [
            "From",
            "To",
            "Subject",
            "Date",
            "Message-ID",
            "MIME-Version",
        ]
        .into_iter()
        .map(HeaderName::new_from_ascii_str)
        .collect();
        message.sign(&DkimConfig::new(
            config.dkim_key_selector.trim().to_owned(),
            config.dkim_domain_name.trim().to_owned(),
            key,
            signed,
            // Relaxed both ways survives relays that refold headers or
            // trim trailing space.
            DkimCanonicalization {
                header: DkimCanonicalizationType::Relaxed,
                body: DkimCanonicalizationType::Relaxed,
            },
        ));
    }
    Ok(message)
}

//! `mail { ... }`: Wiki.js 2.5's mail settings and test mail
//! (`mail.graphql`), with errata's `encryption` beside Wiki.js's `secure`.

use async_graphql::{Context, Enum, Object, Result, SimpleObject};
use errata_identity::Permission;
use errata_mail::{Encryption, SmtpConfig};

use super::auth::DefaultResponse;
use super::context::{Needs, request, requires};

/// How the connection to the SMTP server is protected.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Enum)]
#[graphql(name = "MailEncryption")]
pub enum MailEncryption {
    /// Never encrypted.
    None,
    /// STARTTLS when the server offers it (Wiki.js's `secure: false`);
    /// credentials are never sent unencrypted.
    Opportunistic,
    /// STARTTLS, or no mail.
    Starttls,
    /// TLS from the first byte (Wiki.js's `secure: true`).
    Tls,
}

impl From<Encryption> for MailEncryption {
    fn from(e: Encryption) -> MailEncryption {
        match e {
            Encryption::None => MailEncryption::None,
            Encryption::Opportunistic => MailEncryption::Opportunistic,
            Encryption::StartTls => MailEncryption::Starttls,
            Encryption::Tls => MailEncryption::Tls,
        }
    }
}

impl From<MailEncryption> for Encryption {
    fn from(e: MailEncryption) -> Encryption {
        match e {
            MailEncryption::None => Encryption::None,
            MailEncryption::Opportunistic => Encryption::Opportunistic,
            MailEncryption::Starttls => Encryption::StartTls,
            MailEncryption::Tls => Encryption::Tls,
        }
    }
}

/// The mail settings, as Wiki.js shows them: the password and the DKIM
/// private key read `********` when set.
#[derive(Debug, SimpleObject)]
pub struct MailConfig {
    sender_name: Option<String>,
    sender_email: Option<String>,
    host: Option<String>,
    port: Option<i32>,
    /// The name errata gives itself in `EHLO`; empty is the host name.
    name: Option<String>,
    /// Whether TLS is spoken from the first byte.
    secure: Option<bool>,
    #[graphql(name = "verifySSL")]
    verify_ssl: Option<bool>,
    user: Option<String>,
    pass: Option<String>,
    #[graphql(name = "useDKIM")]
    use_dkim: Option<bool>,
    dkim_domain_name: Option<String>,
    dkim_key_selector: Option<String>,
    dkim_private_key: Option<String>,
    /// How the connection is protected (errata's; `secure` says only
    /// whether it is TLS from the first byte).
    encryption: Option<MailEncryption>,
}

impl From<SmtpConfig> for MailConfig {
    fn from(c: SmtpConfig) -> MailConfig {
        MailConfig {
            secure: Some(c.encryption == Encryption::Tls),
            encryption: Some(c.encryption.into()),
            sender_name: Some(c.sender_name),
            sender_email: Some(c.sender_email),
            host: Some(c.host),
            port: Some(i32::from(c.port)),
            name: Some(c.name),
            verify_ssl: Some(c.verify_ssl),
            user: Some(c.user),
            pass: Some(c.pass),
            use_dkim: Some(c.use_dkim),
            dkim_domain_name: Some(c.dkim_domain_name),
            dkim_key_selector: Some(c.dkim_key_selector),
            dkim_private_key: Some(c.dkim_private_key),
        }
    }
}

fn domain<'a>(ctx: &'a Context<'_>) -> Result<&'a errata_mail::Mail> {
    // Mail is usable once the database has been migrated, which identity
    // being set says.
    super::context::identity(ctx)?;
    Ok(&ctx.data::<super::ServerFacts>()?.mail)
}

/// Mail queries.
#[derive(Debug)]
pub struct MailQuery;

#[Object]
impl MailQuery {
    /// The mail settings; secrets read `********`.
    #[graphql(
        guard = "Needs(Permission::ManageSystem)",
        directive = requires::apply("manage:system".into())
    )]
    async fn config(&self, ctx: &Context<'_>) -> Result<Option<MailConfig>> {
        Ok(Some(domain(ctx)?.config().await?.masked().into()))
    }
}

/// Mail mutations.
#[derive(Debug)]
pub struct MailMutation;

#[Object]
impl MailMutation {
    /// Sends a test mail now and answers how it went: 3004 for an address
    /// that is not one or that the server refuses, 3002 without an SMTP
    /// host, 3003 for a broken template, 3001 when the server cannot be
    /// reached, refuses or does not answer in time.
    #[graphql(
        guard = "Needs(Permission::ManageSystem)",
        directive = requires::apply("manage:system".into())
    )]
    async fn send_test(
        &self,
        ctx: &Context<'_>,
        recipient_email: String,
    ) -> Result<Option<DefaultResponse>> {
        let result = domain(ctx)?
            .send_test(&recipient_email, request(ctx).locale)
            .await;
        DefaultResponse::settle(ctx, result, "Test email sent successfully.").map(Some)
    }

    /// Saves the mail settings. `pass` or `dkimPrivateKey` sent as
    /// `********` keep their stored value. `encryption`, when given, says
    /// more than `secure` (which is then ignored); without it, `secure`
    /// means TLS from the first byte and its absence STARTTLS when
    /// offered, as in Wiki.js. Settings that cannot send (a sender that is
    /// not an address, a DKIM key that does not load) are 3002.
    #[graphql(
        guard = "Needs(Permission::ManageSystem)",
        directive = requires::apply("manage:system".into())
    )]
    #[allow(clippy::too_many_arguments)]
    async fn update_config(
        &self,
        ctx: &Context<'_>,
        sender_name: String,
        sender_email: String,
        host: String,
        port: i32,
        name: String,
        secure: bool,
        #[graphql(name = "verifySSL")] verify_ssl: bool,
        user: String,
        pass: String,
        #[graphql(name = "useDKIM")] use_dkim: bool,
        dkim_domain_name: String,
        dkim_key_selector: String,
        dkim_private_key: String,
        encryption: Option<MailEncryption>,
    ) -> Result<Option<DefaultResponse>> {
        let mail = domain(ctx)?;
        let result = match u16::try_from(port) {
            Ok(port) => {
                mail.update_config(SmtpConfig {
                    sender_name,
                    sender_email,
                    host,
                    port,
                    name,
                    encryption: encryption.map_or(Encryption::from_secure(secure), Into::into),
                    verify_ssl,
                    user,
                    pass,
                    use_dkim,
                    dkim_domain_name,
                    dkim_key_selector,
                    dkim_private_key,
                })
                .await
            }
            Err(_) => Err(errata_errors::mail::not_configured()
                .with_detail("reason", "the port must be between 1 and 65535".to_owned())),
        };
        DefaultResponse::settle(ctx, result, "Mail configuration updated successfully.").map(Some)
    }
}

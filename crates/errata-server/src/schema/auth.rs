//! `mutation { authentication { ... } }`: login, TFA, registration,
//! verification and sessions, as Wiki.js 2.x shapes them.

use async_graphql::{Context, Object, Result, SimpleObject};
use errata_identity::login::LoginOutcome;

use super::context::{ResponseStatus, authenticated, caller, identity, request, settle};

/// Authentication mutations.
#[derive(Debug)]
pub struct AuthenticationMutation;

/// The answer to a login.
#[derive(Debug, SimpleObject)]
pub struct LoginResponse {
    /// How it went.
    pub response_result: ResponseStatus,
    /// The session token, when login is complete.
    pub jwt: Option<String>,
    /// Whether a TFA code is needed: call `loginTFA`.
    pub tfa_required: Option<bool>,
    /// The token to pass to `loginTFA`, valid for 5 minutes.
    pub tfa_login_token: Option<String>,
}

/// A mutation's status and nothing else.
#[derive(Debug, SimpleObject)]
pub struct DefaultResponse {
    /// How it went.
    pub response_result: ResponseStatus,
}

impl DefaultResponse {
    /// The answer to a mutation that returns nothing but how it went.
    pub fn settle(
        ctx: &Context<'_>,
        result: Result<(), errata_catalog::Error>,
        success: &str,
    ) -> Result<DefaultResponse> {
        let (status, _) = settle(ctx, result, success)?;
        Ok(DefaultResponse {
            response_result: status,
        })
    }
}

/// The start of TFA setup.
#[derive(Debug, SimpleObject)]
pub struct TfaSetupResponse {
    /// How it went.
    pub response_result: ResponseStatus,
    /// The secret, base32, for authenticator apps.
    pub secret: Option<String>,
    /// The `otpauth://` URI to show as a QR code.
    pub uri: Option<String>,
}

fn login_response(status: ResponseStatus, outcome: Option<LoginOutcome>) -> LoginResponse {
    match outcome {
        Some(LoginOutcome::Session(jwt)) => LoginResponse {
            response_result: status,
            jwt: Some(jwt),
            tfa_required: Some(false),
            tfa_login_token: None,
        },
        Some(LoginOutcome::TfaRequired(token)) => LoginResponse {
            response_result: status,
            jwt: None,
            tfa_required: Some(true),
            tfa_login_token: Some(token),
        },
        None => LoginResponse {
            response_result: status,
            jwt: None,
            tfa_required: None,
            tfa_login_token: None,
        },
    }
}

#[Object]
impl AuthenticationMutation {
    /// Logs in. A wrong password and an unknown user get the same
    /// AuthLoginFailed; too many failures lock the account and the address
    /// (BruteTooManyAttempts, with `retryAfter`).
    async fn login(
        &self,
        ctx: &Context<'_>,
        username: String,
        password: String,
        #[graphql(default = "local")] strategy: String,
    ) -> Result<LoginResponse> {
        let result = identity(ctx)?
            .login(&username, &password, &strategy, request(ctx).ip)
            .await;
        let (status, outcome) = settle(ctx, result, "Login success")?;
        Ok(login_response(status, outcome))
    }

    /// The second step of a TFA login.
    #[graphql(name = "loginTFA")]
    async fn login_tfa(
        &self,
        ctx: &Context<'_>,
        login_token: String,
        security_code: String,
    ) -> Result<LoginResponse> {
        let result = identity(ctx)?
            .login_tfa(&login_token, &security_code, request(ctx).ip)
            .await
            .map(LoginOutcome::Session);
        let (status, outcome) = settle(ctx, result, "TFA success")?;
        Ok(login_response(status, outcome))
    }

    /// Registers an account, when registration is on. The account must be
    /// verified with the token mailed to it (in the request's language)
    /// before it can log in. Mail that cannot be sent (MailNotConfigured,
    /// MailTemplateFailed) leaves no account; the request does not wait
    /// for the mail server.
    async fn register(
        &self,
        ctx: &Context<'_>,
        email: String,
        password: String,
        name: String,
    ) -> Result<DefaultResponse> {
        let request = request(ctx);
        let result = identity(ctx)?
            .register(&email, &password, &name, request.ip, request.locale)
            .await
            .map(|_| ());
        DefaultResponse::settle(
            ctx,
            result,
            "Registration success: check your email to verify your account.",
        )
    }

    /// Mails a new verification token to an account that registered and
    /// has not verified its address (older tokens stop working). The
    /// answer is the same whether or not there is such an account.
    async fn resend_verification(
        &self,
        ctx: &Context<'_>,
        email: String,
    ) -> Result<DefaultResponse> {
        let request = request(ctx);
        let result = identity(ctx)?
            .resend_verification(&email, request.ip, request.locale)
            .await;
        DefaultResponse::settle(
            ctx,
            result,
            "If an account at this address awaits verification, a new token is on its way.",
        )
    }

    /// Verifies an account with the mailed token and the password chosen at
    /// registration (the token proves the mailbox, the password who
    /// registered); a token is good once, for 24 hours.
    async fn verify_account(
        &self,
        ctx: &Context<'_>,
        token: String,
        password: String,
    ) -> Result<DefaultResponse> {
        let result = identity(ctx)?
            .verify_account(&token, &password, request(ctx).ip)
            .await;
        DefaultResponse::settle(ctx, result, "Account verified.")
    }

    /// A new session token for the caller's session, before it expires.
    #[graphql(directive = authenticated::apply())]
    async fn refresh_token(&self, ctx: &Context<'_>) -> Result<LoginResponse> {
        let result = identity(ctx)?
            .refresh(caller(ctx)?)
            .map(LoginOutcome::Session);
        let (status, outcome) = settle(ctx, result, "Token renewed")?;
        Ok(login_response(status, outcome))
    }

    /// Ends every session of the caller, this one included.
    #[graphql(directive = authenticated::apply())]
    async fn revoke_sessions(&self, ctx: &Context<'_>) -> Result<DefaultResponse> {
        let user = caller(ctx)?.session_user()?;
        let result = identity(ctx)?.revoke_sessions(user).await;
        DefaultResponse::settle(ctx, result, "Every session has ended.")
    }

    /// Starts setting up TFA for the caller: a secret to scan, active once
    /// `enableTFA` confirms a code from it.
    ///
    /// It needs proof that the caller owns the account, so that a stolen
    /// session can neither turn TFA on with another authenticator nor
    /// replace it: `password`, or, when TFA is already on, `securityCode`,
    /// a current code from the old secret (TfaConfirmationRequired without).
    #[graphql(name = "setupTFA", directive = authenticated::apply())]
    async fn setup_tfa(
        &self,
        ctx: &Context<'_>,
        security_code: Option<String>,
        password: Option<String>,
    ) -> Result<TfaSetupResponse> {
        let user = caller(ctx)?.session_user()?;
        let result = identity(ctx)?
            .setup_tfa(
                user,
                security_code.as_deref(),
                password.as_deref(),
                request(ctx).ip,
            )
            .await;
        let (status, pair) = settle(
            ctx,
            result,
            "Scan the secret, then confirm a code with enableTFA.",
        )?;
        let (secret, uri) = pair.unzip();
        Ok(TfaSetupResponse {
            response_result: status,
            secret,
            uri,
        })
    }

    /// Turns TFA on with a code from the secret `setupTFA` gave.
    #[graphql(name = "enableTFA", directive = authenticated::apply())]
    async fn enable_tfa(
        &self,
        ctx: &Context<'_>,
        security_code: String,
    ) -> Result<DefaultResponse> {
        let user = caller(ctx)?.session_user()?;
        let result = identity(ctx)?.enable_tfa(user, &security_code).await;
        DefaultResponse::settle(ctx, result, "Two-factor authentication is on.")
    }
}

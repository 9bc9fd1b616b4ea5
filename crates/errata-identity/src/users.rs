//! Users: creation, registration and verification, administration.

use errata_catalog::Error;
use errata_errors::auth;
use sqlx::any::AnyRow;
use sqlx::{AnyPool, Row};

use crate::permissions::Permissions;
use crate::{Identity, Principal, USERS, now, password, secret};

/// How long a registration has to verify its address, in seconds; then the
/// token no longer works and the purge deletes the registration.
pub const VERIFY_TTL: i64 = 24 * 3600;

/// A verification mail to queue with its token.
#[derive(Debug)]
struct Verification {
    token: String,
    mail: errata_mail::Prepared,
}

/// A user, as the API shows them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct User {
    /// Id.
    pub id: i64,
    /// Email address, lower case; also the login name.
    pub email: String,
    /// Display name.
    pub name: String,
    /// Authentication strategy (`local`).
    pub provider: String,
    /// Not banned.
    pub is_active: bool,
    /// Email verified.
    pub is_verified: bool,
    /// A system account (the guest), which cannot be deleted.
    pub is_system: bool,
    /// Two-factor authentication is on.
    pub tfa_enabled: bool,
    /// Created (seconds).
    pub created_at: i64,
    /// Last changed (seconds).
    pub updated_at: i64,
    /// Last login (seconds).
    pub last_login_at: Option<i64>,
    /// Groups, by id, with names.
    pub groups: Vec<(i64, String)>,
}

/// A user to create.
#[derive(Debug, Clone)]
pub struct NewUser {
    /// Email address.
    pub email: String,
    /// Display name; the email's local part when empty.
    pub name: Option<String>,
    /// Password.
    pub password: String,
    /// Groups to join; the Users group when empty.
    pub groups: Vec<i64>,
    /// Whether the address counts as verified (accounts made by an administrator).
    pub verified: bool,
}

/// Changes to a user; `None` leaves a field as it is.
#[derive(Debug, Clone, Default)]
pub struct UserPatch {
    /// New email address.
    pub email: Option<String>,
    /// New name.
    pub name: Option<String>,
    /// New set of groups.
    pub groups: Option<Vec<i64>>,
    /// New password, set by an administrator.
    pub password: Option<String>,
}

/// Longest email address (RFC 5321's path limit).
pub const MAX_EMAIL: usize = 254;
/// Longest name.
pub const MAX_NAME: usize = 255;

fn invalid(field: &'static str, reason: &'static str) -> Error {
    auth::input_invalid()
        .with_detail("field", field)
        .with_detail("reason", reason)
}

/// A checked, lower-cased email address. What an address is, is the
/// mail domain's one rule (lettre's `Address`), so that an account can
/// always be mailed.
pub fn check_email(email: &str) -> Result<String, Error> {
    let email = email.trim();
    if email.len() > MAX_EMAIL {
        return Err(invalid("email", "longer than 254 characters"));
    }
    match errata_mail::parse_address(email) {
        Some(address) => Ok(address.to_string().to_lowercase()),
        None => Err(invalid("email", "not an email address")),
    }
}

/// Characters a name must not have: controls, and the invisible or
/// direction-changing ones that make one name look like another.
pub(crate) fn is_deceptive(c: char) -> bool {
    c.is_control()
        || matches!(c, '\u{200B}'..='\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2060}'..='\u{2069}' | '\u{FEFF}')
}

/// `Ok` unless `by` resets their own credentials through an administrator's
/// mutation without `manage:system`: that path skips the proofs
/// `changePassword` and `setupTFA` ask for.
pub(crate) fn check_not_own(by: &Principal, id: i64) -> Result<(), Error> {
    if by.user_id == id && !by.is_guest() && !by.has(crate::Permission::ManageSystem) {
        Err(errata_errors::security::own_credentials())
    } else {
        Ok(())
    }
}

/// A checked display name.
pub fn check_name(name: &str) -> Result<String, Error> {
    let name = name.trim();
    if name.is_empty() || name.chars().count() > MAX_NAME || name.chars().any(is_deceptive) {
        return Err(invalid("name", "must have 1 to 255 printable characters"));
    }
    Ok(name.to_owned())
}

/// A checked new password.
pub fn check_password(password: &str) -> Result<(), Error> {
    if password::is_acceptable(password) {
        Ok(())
    } else {
        Err(invalid("password", "must have 8 to 256 characters"))
    }
}

const USER_COLUMNS: &str = "id, email, name, provider, is_active, is_verified, is_system, CASE WHEN tfa_secret IS NULL THEN 0 ELSE 1 END AS tfa_enabled, created_at, updated_at, last_login_at";

fn user_from_row(row: &AnyRow) -> Result<User, sqlx::Error> {
    Ok(User {
        id: row.try_get("id")?,
        email: row.try_get("email")?,
        name: row.try_get("name")?,
        provider: row.try_get("provider")?,
        is_active: errata_store::flag(row, "is_active")?,
        is_verified: errata_store::flag(row, "is_verified")?,
        is_system: errata_store::flag(row, "is_system")?,
        tfa_enabled: errata_store::flag(row, "tfa_enabled")?,
        created_at: row.try_get("created_at")?,
        updated_at: row.try_get("updated_at")?,
        last_login_at: row.try_get("last_login_at")?,
        groups: Vec::new(),
    })
}

pub(crate) fn db(e: sqlx::Error) -> Error {
    errata_store::error(e)
}

async fn groups_of(pool: &AnyPool, user: i64) -> Result<Vec<(i64, String)>, sqlx::Error> {
    sqlx::query("SELECT g.id, g.name FROM groups g JOIN user_groups ug ON ug.group_id = g.id WHERE ug.user_id = $1 ORDER BY g.id")
        .bind(user)
        .fetch_all(pool)
        .await?
        .iter()
        .map(|r| Ok((r.try_get("id")?, r.try_get("name")?)))
        .collect()
}

impl Identity {
    /// One user; `auth.user_not_found` when there is none.
    pub async fn user(&self, id: i64) -> Result<User, Error> {
        let row = sqlx::query(&format!("SELECT {USER_COLUMNS} FROM users WHERE id = $1"))
            .bind(id)
            .fetch_optional(self.pool())
            .await
            .map_err(db)?
            .ok_or_else(auth::user_not_found)?;
        let mut user = user_from_row(&row).map_err(db)?;
        user.groups = groups_of(self.pool(), id).await.map_err(db)?;
        Ok(user)
    }

    /// The user with this email address; `auth.user_not_found` when there is none.
    pub async fn user_by_email(&self, email: &str) -> Result<User, Error> {
        let id: i64 = sqlx::query_scalar("SELECT id FROM users WHERE email = $1")
            .bind(email.trim().to_lowercase())
            .fetch_optional(self.pool())
            .await
            .map_err(db)?
            .ok_or_else(auth::user_not_found)?;
        self.user(id).await
    }

    /// Every user, by id.
    pub async fn users(&self) -> Result<Vec<User>, Error> {
        let rows = sqlx::query(&format!("SELECT {USER_COLUMNS} FROM users ORDER BY id"))
            .fetch_all(self.pool())
            .await
            .map_err(db)?;
        let mut groups: std::collections::HashMap<i64, Vec<(i64, String)>> =
            std::collections::HashMap::new();
        for row in sqlx::query(
            "SELECT ug.user_id, g.id, g.name FROM user_groups ug JOIN groups g ON g.id = ug.group_id ORDER BY g.id",
        )
        .fetch_all(self.pool())
        .await
        .map_err(db)?
        {
            groups
                .entry(row.try_get("user_id").map_err(db)?)
                .or_default()
                .push((row.try_get("id").map_err(db)?, row.try_get("name").map_err(db)?));
        }
        rows.iter()
            .map(|row| {
                let mut user = user_from_row(row).map_err(db)?;
                user.groups = groups.remove(&user.id).unwrap_or_default();
                Ok(user)
            })
            .collect()
    }

    /// Creates a user, as `by`, who may put them only in groups reaching
    /// no further than `by` holds. A taken address is
    /// `auth.account_already_exists`; a failure to store it is
    /// `auth.user_creation_failed`.
    pub async fn create_user(&self, by: &Principal, new: NewUser) -> Result<User, Error> {
        let joins: &[i64] = if new.groups.is_empty() {
            &[USERS]
        } else {
            &new.groups
        };
        for group in joins {
            let group = self.group(*group).await?;
            self.check_group_reach(by, &group)?;
        }
        self.insert_new_user(new, None).await
    }

    /// `Ok` when `by` may change the user `id`: a system account needs
    /// `manage:system`, and so does a user whose groups reach further than
    /// `by` holds. The reach is read from the database, not the directory,
    /// which may be seconds behind a change the command line or another
    /// instance made; an unknown user is `auth.user_not_found`.
    pub(crate) async fn check_user_reach(&self, by: &Principal, id: i64) -> Result<(), Error> {
        let (reach, is_system) = self.user_reach(id).await?;
        let target = format!("user {id}");
        if is_system {
            by.check_system(&target)?;
        }
        by.check_outranks(&target, reach)
    }

    /// What changing user `id` is as strong as, read now: every permission
    /// their groups hold or their page rules speak about, and whether the
    /// account is a system one.
    pub(crate) async fn user_reach(&self, id: i64) -> Result<(Permissions, bool), Error> {
        let is_system: i64 = sqlx::query_scalar("SELECT is_system FROM users WHERE id = $1")
            .bind(id)
            .fetch_optional(self.pool())
            .await
            .map_err(db)?
            .ok_or_else(auth::user_not_found)?;
        let rows = sqlx::query(
            "SELECT g.permissions, g.page_rules FROM groups g JOIN user_groups ug ON ug.group_id = g.id WHERE ug.user_id = $1",
        )
        .bind(id)
        .fetch_all(self.pool())
        .await
        .map_err(db)?;
        let mut reach = Permissions::NONE;
        for row in rows {
            let permissions: String = row.try_get("permissions").map_err(db)?;
            let rules: String = row.try_get("page_rules").map_err(db)?;
            reach = reach.union(crate::directory::stored_reach(&permissions, &rules));
        }
        Ok((reach, is_system != 0))
    }

    /// Frees an address held by an account that registered and has not
    /// verified it: a pending registration never holds an address, so
    /// nobody can reserve someone else's by registering it first (and again
    /// each time it expires). The replaced registration's token dies with
    /// its row, and a token verifies only with its own registration's
    /// password, so replacing delays a registration and never takes it.
    async fn release_pending_registration(&self, email: &str) -> Result<(), Error> {
        let released = sqlx::query(
            "DELETE FROM users WHERE email = $1 AND is_verified = 0 AND is_system = 0 \
             AND id NOT IN (SELECT owner_id FROM oauth_clients)",
        )
        .bind(email)
        .execute(self.pool())
        .await
        .map_err(db)?;
        if released.rows_affected() > 0 {
            self.changed().await?;
        }
        Ok(())
    }

    async fn insert_new_user(
        &self,
        new: NewUser,
        verification: Option<Verification>,
    ) -> Result<User, Error> {
        let email = check_email(&new.email)?;
        let name = match &new.name {
            Some(name) => check_name(name)?,
            None => check_name(email.split('@').next().unwrap_or(&email))?,
        };
        check_password(&new.password)?;
        let groups = if new.groups.is_empty() {
            vec![USERS]
        } else {
            new.groups.clone()
        };
        for group in &groups {
            self.group(*group).await?;
        }
        self.release_pending_registration(&email).await?;
        let taken: Option<i64> = sqlx::query_scalar("SELECT id FROM users WHERE email = $1")
            .bind(&email)
            .fetch_optional(self.pool())
            .await
            .map_err(db)?;
        if taken.is_some() {
            return Err(auth::account_already_exists());
        }
        let password = new.password.clone();
        let hash = self.argon2(move || password::hash(&password)).await?;
        let id = self
            .insert_user(
                &email,
                &name,
                &hash,
                &groups,
                new.verified,
                verification.as_ref(),
            )
            .await
            .map_err(|e| match &e {
                sqlx::Error::Database(d) if d.is_unique_violation() => {
                    auth::account_already_exists()
                }
                _ => auth::user_creation_failed().with_source(e),
            })?;
        self.changed().await?;
        self.user(id).await
    }

    async fn insert_user(
        &self,
        email: &str,
        name: &str,
        hash: &str,
        groups: &[i64],
        verified: bool,
        verification: Option<&Verification>,
    ) -> Result<i64, sqlx::Error> {
        let now = now();
        let mut tx = self.pool().begin().await?;
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO users (email, name, provider, password_hash, is_verified, generation, created_at, updated_at) VALUES ($1, $2, 'local', $3, $4, $5, $6, $7) RETURNING id",
        )
        .bind(email)
        .bind(name)
        .bind(hash)
        .bind(i64::from(verified))
        .bind(secret::random_generation())
        .bind(now)
        .bind(now)
        .fetch_one(&mut *tx)
        .await?;
        for group in groups {
            sqlx::query("INSERT INTO user_groups (user_id, group_id) VALUES ($1, $2) ON CONFLICT DO NOTHING")
                .bind(id)
                .bind(group)
                .execute(&mut *tx)
                .await?;
        }
        if let Some(verification) = verification {
            self.queue_verification(&mut tx, id, verification).await?;
        }
        tx.commit().await?;
        if verification.is_some() {
            self.inner.mail.wake();
        }
        Ok(id)
    }

    /// Writes `verification`'s token for `user` and queues its mail, in
    /// the caller's transaction: the account, its token and its mail are
    /// written together or not at all.
    async fn queue_verification(
        &self,
        tx: &mut sqlx::Transaction<'_, sqlx::Any>,
        user: i64,
        verification: &Verification,
    ) -> Result<(), sqlx::Error> {
        sqlx::query(
            "INSERT INTO one_time_tokens (hash, kind, user_id, expires_at) VALUES ($1, 'verify', $2, $3)",
        )
        .bind(self.inner.hasher.hash(&verification.token))
        .bind(user)
        .bind(now() + VERIFY_TTL)
        .execute(&mut **tx)
        .await?;
        self.inner.mail.enqueue(tx, &verification.mail).await
    }

    /// The verification mail for `name` at `email`, with a fresh token:
    /// checked and rendered before anything is written (`MailNotConfigured`,
    /// `MailInvalidRecipient`, `MailTemplateFailed`).
    async fn verification(
        &self,
        email: &str,
        name: &str,
        locale: Option<&str>,
    ) -> Result<Verification, Error> {
        let token = secret::random_token();
        let mail = self
            .inner
            .mail
            .prepare(
                errata_mail::Template::Verification,
                email,
                name,
                locale,
                &[("name", name), ("token", &token)],
            )
            .await?;
        Ok(Verification { token, mail })
    }

    /// Self-registration: refused when disabled or when the address's
    /// domain is not allowed; the new account must verify its address with
    /// the token mailed to it before it can log in.
    ///
    /// Every registration counts against its address (an IPv6 /64), as
    /// failed logins do: past `auth.registrations-per-address`, the address
    /// is held off with `auth.brute_too_many_attempts`, so one client
    /// cannot fill the database, the outbox and the password gate.
    ///
    /// The verification mail (in `locale`) is checked and rendered first,
    /// then written to the outbox with the account and its token in one
    /// transaction: mail that cannot be sent leaves no account behind, and
    /// the request does not wait for SMTP.
    pub async fn register(
        &self,
        email: &str,
        password: &str,
        name: &str,
        ip: Option<std::net::IpAddr>,
        locale: Option<&str>,
    ) -> Result<User, Error> {
        let config = self.config();
        if !config.registration {
            return Err(auth::registration_disabled());
        }
        if let Some(ip) = ip {
            let key = crate::brute::Key {
                name: format!("register:{}", crate::brute::client_network(ip)),
                free: config.registrations_per_address,
            };
            crate::brute::reserve(self.store(), &config.brute_force, &[key], now()).await?;
        }
        let email = check_email(email)?;
        let name = check_name(name)?;
        check_password(password)?;
        let domain = email.rsplit_once('@').map_or("", |(_, d)| d);
        if !config.registration_domains.is_empty()
            && !config
                .registration_domains
                .iter()
                .any(|d| d.trim().eq_ignore_ascii_case(domain))
        {
            return Err(auth::registration_domain_unauthorized());
        }
        let verification = self.verification(&email, &name, locale).await?;
        self.insert_new_user(
            NewUser {
                email,
                name: Some(name),
                password: password.to_owned(),
                groups: Vec::new(),
                verified: false,
            },
            Some(verification),
        )
        .await
    }

    /// Sends the verification mail again, with a new token (the older ones
    /// stop working), to an account that registered and has not verified
    /// its address: a mail that never arrived is not the end of the
    /// account. The answer is the same whether or not such an account
    /// exists. Each request counts against the caller's address as a
    /// registration does, and an account gets at most
    /// `auth.brute-force.account-free-attempts` mails before the lockout
    /// policy's waits apply; past them no mail goes, silently.
    pub async fn resend_verification(
        &self,
        email: &str,
        ip: Option<std::net::IpAddr>,
        locale: Option<&str>,
    ) -> Result<(), Error> {
        let config = self.config();
        if let Some(ip) = ip {
            let key = crate::brute::Key {
                name: format!("register:{}", crate::brute::client_network(ip)),
                free: config.registrations_per_address,
            };
            crate::brute::reserve(self.store(), &config.brute_force, &[key], now()).await?;
        }
        let email = check_email(email)?;
        let pending: Option<(i64, String)> = sqlx::query_as(
            "SELECT id, name FROM users WHERE email = $1 AND is_verified = 0 AND is_system = 0 \
             AND is_active = 1",
        )
        .bind(&email)
        .fetch_optional(self.pool())
        .await
        .map_err(db)?;
        let local = email.split('@').next().unwrap_or_default().to_owned();
        let name = pending.as_ref().map_or(local, |(_, name)| name.clone());
        // Checked and rendered whether or not the account exists, so that
        // the answer does not tell.
        let verification = self.verification(&email, &name, locale).await?;
        let Some((id, _)) = pending else {
            return Ok(());
        };
        let key = crate::brute::Key {
            name: format!("resend:{id}"),
            free: config.brute_force.account_free_attempts,
        };
        match crate::brute::reserve(self.store(), &config.brute_force, &[key], now()).await {
            Ok(_) => {}
            Err(e) if e.is(auth::BRUTE_TOO_MANY_ATTEMPTS) => {
                tracing::info!(
                    user = id,
                    "verification mail not sent again: asked for too often"
                );
                return Ok(());
            }
            Err(e) => return Err(e),
        }
        let resent = async {
            let mut tx = self.pool().begin().await?;
            sqlx::query(
                "UPDATE one_time_tokens SET used_at = $1 WHERE user_id = $2 AND kind = 'verify' \
                 AND used_at IS NULL",
            )
            .bind(now())
            .bind(id)
            .execute(&mut *tx)
            .await?;
            self.queue_verification(&mut tx, id, &verification).await?;
            tx.commit().await
        };
        resent.await.map_err(db)?;
        self.inner.mail.wake();
        Ok(())
    }

    /// A single-use token of `kind` for `user`, stored by its keyed hash.
    pub(crate) async fn one_time_token(
        &self,
        kind: &str,
        user: i64,
        ttl: i64,
    ) -> Result<String, Error> {
        let token = secret::random_token();
        sqlx::query(
            "INSERT INTO one_time_tokens (hash, kind, user_id, expires_at) VALUES ($1, $2, $3, $4)",
        )
        .bind(self.inner.hasher.hash(&token))
        .bind(kind)
        .bind(user)
        .bind(now() + ttl)
        .execute(self.pool())
        .await
        .map_err(db)?;
        Ok(token)
    }

    /// Consumes a single-use token of `kind`: the user it was for, or `None`
    /// when it is unknown, expired or already used. Two concurrent uses
    /// cannot both succeed: the update claims it.
    pub(crate) async fn consume_token(
        &self,
        kind: &str,
        token: &str,
    ) -> Result<Option<i64>, Error> {
        if token.len() != 43 {
            return Ok(None);
        }
        let now = now();
        sqlx::query_scalar(
            "UPDATE one_time_tokens SET used_at = $1 WHERE hash = $2 AND kind = $3 AND used_at IS NULL AND expires_at > $1 RETURNING user_id",
        )
        .bind(now)
        .bind(self.inner.hasher.hash(token))
        .bind(kind)
        .fetch_optional(self.pool())
        .await
        .map_err(db)
    }

    /// Whether a single-use token of `kind` is valid now, without using it.
    pub(crate) async fn peek_token(&self, kind: &str, token: &str) -> Result<Option<i64>, Error> {
        if token.len() != 43 {
            return Ok(None);
        }
        sqlx::query_scalar(
            "SELECT user_id FROM one_time_tokens WHERE hash = $1 AND kind = $2 AND used_at IS NULL AND expires_at > $3",
        )
        .bind(self.inner.hasher.hash(token))
        .bind(kind)
        .bind(now())
        .fetch_optional(self.pool())
        .await
        .map_err(db)
    }

    /// Verifies an account with the token mailed at registration.
    ///
    /// The password chosen at registration must come with it: the token
    /// proves the mailbox, the password proves who registered. Without it,
    /// whoever registered the owner's address just after the owner would be
    /// verified by the owner's click. A wrong password is
    /// `auth.login_failed`, counted as a failed login of the account, and
    /// leaves the token unused.
    pub async fn verify_account(
        &self,
        token: &str,
        password: &str,
        ip: Option<std::net::IpAddr>,
    ) -> Result<(), Error> {
        if password.len() > password::MAX_LEN * 4 {
            return Err(auth::login_failed());
        }
        let user = self
            .peek_token("verify", token)
            .await?
            .ok_or_else(auth::validation_token_invalid)?;
        let keys = self.brute_keys(format!("password:user:{user}"), ip);
        crate::brute::reserve(self.store(), &self.config().brute_force, &keys, now()).await?;
        let stored: Option<String> =
            sqlx::query_scalar("SELECT password_hash FROM users WHERE id = $1")
                .bind(user)
                .fetch_optional(self.pool())
                .await
                .map_err(db)?
                .flatten();
        let given = password.to_owned();
        let matches = self
            .argon2_counted(&keys, move || {
                stored.is_some_and(|h| password::verify(&given, &h))
            })
            .await?;
        if !matches {
            return Err(auth::login_failed());
        }
        self.succeeded(&keys).await?;
        if self.consume_token("verify", token).await? != Some(user) {
            return Err(auth::validation_token_invalid());
        }
        self.set_flag(user, "is_verified", true).await
    }

    /// Marks a user verified, as an administrator.
    pub async fn verify_user(&self, by: &Principal, id: i64) -> Result<(), Error> {
        self.user(id).await?;
        self.check_user_reach(by, id).await?;
        self.set_flag(id, "is_verified", true).await
    }

    /// Bans or unbans a user. A ban ends every session and token of the
    /// user for good: the generation moves, and lifting the ban does not
    /// move it back.
    pub async fn set_active(&self, by: &Principal, id: i64, active: bool) -> Result<(), Error> {
        self.user(id).await?;
        self.check_user_reach(by, id).await?;
        self.set_flag(id, "is_active", active).await?;
        if !active {
            self.revoke_sessions(id).await?;
        }
        Ok(())
    }

    async fn set_flag(&self, id: i64, column: &'static str, value: bool) -> Result<(), Error> {
        sqlx::query(&format!(
            "UPDATE users SET {column} = $1, updated_at = $2 WHERE id = $3"
        ))
        .bind(i64::from(value))
        .bind(now())
        .bind(id)
        .execute(self.pool())
        .await
        .map_err(db)?;
        self.changed().await
    }

    /// Ends every session of a user: tokens issued before stop working.
    pub async fn revoke_sessions(&self, id: i64) -> Result<(), Error> {
        sqlx::query("UPDATE users SET generation = generation + 1, updated_at = $1 WHERE id = $2")
            .bind(now())
            .bind(id)
            .execute(self.pool())
            .await
            .map_err(db)?;
        self.changed().await
    }

    /// Changes a user's fields, as `by`, who must reach as far as the user
    /// and as every group the user is put in. A new password ends every
    /// session and token of the user.
    pub async fn update_user(
        &self,
        by: &Principal,
        id: i64,
        patch: UserPatch,
    ) -> Result<User, Error> {
        let current = self.user(id).await?;
        self.check_user_reach(by, id).await?;
        // The address is where a password reset goes, so moving one's own
        // is as strong as resetting one's own password.
        let moves_address = patch
            .email
            .as_deref()
            .is_some_and(|e| !e.trim().eq_ignore_ascii_case(&current.email));
        if patch.password.is_some() || moves_address {
            check_not_own(by, id)?;
        }
        let email = patch.email.as_deref().map(check_email).transpose()?;
        let name = patch.name.as_deref().map(check_name).transpose()?;
        if let Some(p) = &patch.password {
            check_password(p)?;
        }
        if let Some(groups) = &patch.groups {
            for group in groups {
                let group = self.group(*group).await?;
                self.check_group_reach(by, &group)?;
            }
            // Leaving a group can widen what the user gets from the others
            // (its page rules may have denied something): the groups left
            // must be within reach too.
            for (group, _) in &current.groups {
                if !groups.contains(group) {
                    let group = self.group(*group).await?;
                    self.check_group_reach(by, &group)?;
                }
            }
        }
        if let Some(email) = &email
            && *email != current.email
        {
            let taken: Option<i64> =
                sqlx::query_scalar("SELECT id FROM users WHERE email = $1 AND id != $2")
                    .bind(email)
                    .bind(id)
                    .fetch_optional(self.pool())
                    .await
                    .map_err(db)?;
            if taken.is_some() {
                return Err(auth::account_already_exists());
            }
        }
        let hash = match patch.password {
            Some(p) => Some(self.argon2(move || password::hash(&p)).await?),
            None => None,
        };
        let mut tx = self.pool().begin().await.map_err(db)?;
        sqlx::query(
            "UPDATE users SET email = COALESCE($1, email), name = COALESCE($2, name), \
             password_hash = COALESCE($3, password_hash), \
             generation = generation + CASE WHEN $4 IS NULL THEN 0 ELSE 1 END, updated_at = $5 WHERE id = $6",
        )
        .bind(&email)
        .bind(&name)
        .bind(&hash)
        .bind(&hash)
        .bind(now())
        .bind(id)
        .execute(&mut *tx)
        .await
        .map_err(|e| match &e {
            sqlx::Error::Database(d) if d.is_unique_violation() => auth::account_already_exists(),
            _ => db(e),
        })?;
        if let Some(groups) = &patch.groups {
            sqlx::query("DELETE FROM user_groups WHERE user_id = $1")
                .bind(id)
                .execute(&mut *tx)
                .await
                .map_err(db)?;
            for group in groups {
                sqlx::query("INSERT INTO user_groups (user_id, group_id) VALUES ($1, $2) ON CONFLICT DO NOTHING")
                    .bind(id)
                    .bind(group)
                    .execute(&mut *tx)
                    .await
                    .map_err(db)?;
            }
        }
        tx.commit().await.map_err(db)?;
        self.changed().await?;
        self.user(id).await
    }

    /// Deletes a user. System accounts are protected; a user who still owns
    /// content (OAuth clients) is refused unless `replace` names the user
    /// who takes it over.
    pub async fn delete_user(
        &self,
        by: &Principal,
        id: i64,
        replace: Option<i64>,
    ) -> Result<(), Error> {
        let user = self.user(id).await?;
        if user.is_system {
            return Err(auth::user_delete_protected());
        }
        self.check_user_reach(by, id).await?;
        let owned: i64 =
            sqlx::query_scalar("SELECT COUNT(*) FROM oauth_clients WHERE owner_id = $1")
                .bind(id)
                .fetch_one(self.pool())
                .await
                .map_err(db)?;
        let mut tx = self.pool().begin().await.map_err(db)?;
        if owned > 0 {
            let Some(heir) = replace.filter(|r| *r != id) else {
                return Err(
                    auth::user_delete_foreign_constraint().with_detail("ownedClients", owned)
                );
            };
            let heir = self.user(heir).await?;
            // An unverified or banned heir could not use the clients, and an
            // unverified one would hold its address for as long as it does.
            if !heir.is_verified {
                return Err(auth::account_not_verified());
            }
            if !heir.is_active {
                return Err(auth::account_banned());
            }
            // The clients will act as the heir: the heir's reach bounds them.
            self.check_user_reach(by, heir.id).await?;
            sqlx::query(
                "UPDATE oauth_clients SET owner_id = $1, generation = generation + 1, \
                 owner_generation = (SELECT generation FROM users WHERE id = $1) WHERE owner_id = $2",
            )
                .bind(heir.id)
                .bind(id)
                .execute(&mut *tx)
                .await
                .map_err(db)?;
        }
        sqlx::query("DELETE FROM users WHERE id = $1")
            .bind(id)
            .execute(&mut *tx)
            .await
            .map_err(|e| match &e {
                sqlx::Error::Database(d) if d.is_foreign_key_violation() => {
                    auth::user_delete_foreign_constraint().with_source(e)
                }
                _ => db(e),
            })?;
        tx.commit().await.map_err(db)?;
        self.changed().await
    }

    /// Changes one's own password, checking the current one; ends every
    /// session and token. Wrong current passwords count as failed logins of
    /// the account and the address, so a stolen session cannot guess its
    /// way to the account.
    pub async fn change_password(
        &self,
        id: i64,
        current: &str,
        new: &str,
        ip: Option<std::net::IpAddr>,
    ) -> Result<(), Error> {
        if current.len() > password::MAX_LEN * 4 {
            return Err(invalid("current", "longer than 256 characters"));
        }
        check_password(new)?;
        // Its own key: a stolen session's guesses must not lock the owner
        // out of their TFA login, which counts against `user:ID`.
        let keys = self.brute_keys(format!("password:user:{id}"), ip);
        crate::brute::reserve(self.store(), &self.config().brute_force, &keys, now()).await?;
        let stored: Option<String> =
            sqlx::query_scalar("SELECT password_hash FROM users WHERE id = $1")
                .bind(id)
                .fetch_optional(self.pool())
                .await
                .map_err(db)?
                .flatten();
        let stored = stored.ok_or_else(auth::user_not_found)?;
        let (current, new) = (current.to_owned(), new.to_owned());
        let hash = self
            .argon2_counted(&keys, move || {
                password::verify(&current, &stored).then(|| password::hash(&new))
            })
            .await?
            .ok_or_else(errata_errors::security::password_change_failed)?;
        self.succeeded(&keys).await?;
        sqlx::query("UPDATE users SET password_hash = $1, generation = generation + 1, updated_at = $2 WHERE id = $3")
            .bind(hash)
            .bind(now())
            .bind(id)
            .execute(self.pool())
            .await
            .map_err(db)?;
        self.changed().await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn emails() {
        assert_eq!(check_email(" Ann@Example.COM ").unwrap(), "ann@example.com");
        for bad in [
            "",
            "ann",
            "ann@",
            "@x.io",
            "a..b@x.io",
            ".a@x.io",
            "a b@x.io",
            "ann@x..io",
            "a@-x.io",
            "a<b>@x.io",
            "' OR 1=1 --@x.io",
        ] {
            let e = check_email(bad);
            assert!(e.is_err(), "{bad}");
        }
        assert!(check_email(&format!("{}@x.io", "a".repeat(65))).is_err());
        assert_eq!(check_email("x").unwrap_err().id(), "auth.input_invalid");
    }

    #[test]
    fn names() {
        assert_eq!(check_name("  Ann  ").unwrap(), "Ann");
        assert!(check_name("").is_err());
        assert!(check_name("a\u{0}b").is_err());
        assert!(check_name(&"é".repeat(256)).is_err());
        assert!(
            check_name("Robert'); DROP TABLE users;--").is_ok(),
            "names are data, bound as parameters"
        );
    }

    proptest! {
        #[test]
        fn checking_any_email_never_panics(email in ".{0,300}") {
            if let Ok(e) = check_email(&email) {
                prop_assert!(e.len() <= MAX_EMAIL && e.contains('@'));
            }
        }
    }
}

//! Login, two-factor authentication, sessions, and checking bearer tokens.

use std::net::IpAddr;
use std::sync::Arc;

use errata_catalog::Error;
use errata_errors::{auth, security};
use sqlx::Row;

use crate::brute::{self, Key};
use crate::jwt::{AUDIENCE, Claims, ISSUER, Kind};
use crate::permissions::Permissions;
use crate::users::{MAX_EMAIL, db};
use crate::{GUEST_USER, Identity, Principal, PrincipalKind, now, password, secret, tfa};

/// What a correct password leads to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LoginOutcome {
    /// A session token.
    Session(String),
    /// The account has TFA: call `login_tfa` with this token and a code.
    TfaRequired(String),
}

/// The TFA login token's life, in seconds.
const TFA_LOGIN_TTL: i64 = 300;

impl Identity {
    pub(crate) fn brute_keys(&self, account: String, ip: Option<IpAddr>) -> Vec<Key> {
        let config = &self.config().brute_force;
        let mut keys = Vec::with_capacity(2);
        if let Some(ip) = ip {
            keys.push(Key {
                name: format!("ip:{}", brute::client_network(ip)),
                free: config.ip_free_attempts,
            });
        }
        keys.push(Key {
            name: account,
            free: config.account_free_attempts,
        });
        keys
    }

    pub(crate) async fn succeeded(&self, keys: &[Key]) -> Result<(), Error> {
        for key in keys {
            brute::refund(self.store(), key, !key.name.starts_with("ip:")).await?;
        }
        Ok(())
    }

    /// Argon2 work for an attempt already counted against `keys`: when
    /// the server is too busy to check it, the attempt is given back, since
    /// nothing was guessed.
    pub(crate) async fn argon2_counted<T: Send + 'static>(
        &self,
        keys: &[Key],
        work: impl FnOnce() -> T + Send + 'static,
    ) -> Result<T, Error> {
        let result = self.argon2(work).await;
        if let Err(e) = &result
            && e.is(security::PASSWORD_CHECK_BUSY)
        {
            for key in keys {
                brute::refund(self.store(), key, false).await?;
            }
        }
        result
    }

    /// Logs in with an email and a password. An unknown user and a wrong
    /// password get the same error, after the same work (one argon2
    /// verification).
    pub async fn login(
        &self,
        email: &str,
        password: &str,
        strategy: &str,
        ip: Option<IpAddr>,
    ) -> Result<LoginOutcome, Error> {
        if strategy != "local" {
            return Err(auth::provider_invalid()
                .with_detail("strategy", strategy.chars().take(64).collect::<String>()));
        }
        if email.len() > MAX_EMAIL
            || password.len() > password::MAX_LEN * 4
            || email.is_empty()
            || password.is_empty()
        {
            return Err(auth::input_invalid()
                .with_detail("reason", "the email or password is empty or too long"));
        }
        let email = email.trim().to_lowercase();
        // From a network the account signed in from before, failures count
        // against that pair only: a stranger failing elsewhere cannot lock
        // the owner out of their usual place.
        let account = match ip.map(brute::client_network) {
            // Keyed by the user's id, which no username can spell, so a
            // stranger cannot aim failures at the owner's own key.
            Some(net) => match self.known_network_user(&email, net).await? {
                Some(id) => format!("known:{id}|{net}"),
                None => format!("account:{email}"),
            },
            _ => format!("account:{email}"),
        };
        let keys = self.brute_keys(account, ip);
        brute::reserve(self.store(), &self.config().brute_force, &keys, now()).await?;
        let row = sqlx::query(
            "SELECT id, password_hash, is_active, is_verified, generation, CASE WHEN tfa_secret IS NULL THEN 0 ELSE 1 END AS tfa FROM users WHERE email = $1 AND provider = 'local' AND is_system = 0",
        )
        .bind(&email)
        .fetch_optional(self.pool())
        .await
        .map_err(login_store_error)?;
        let stored = match &row {
            Some(row) => row
                .try_get::<Option<String>, _>("password_hash")
                .map_err(db)?,
            None => None,
        };
        let given = password.to_owned();
        let matches = self
            .argon2_counted(&keys, move || match stored {
                Some(hash) => password::verify(&given, &hash),
                None => {
                    password::verify_nothing(&given);
                    false
                }
            })
            .await?;
        let (Some(row), true) = (row, matches) else {
            return Err(auth::login_failed());
        };
        self.succeeded(&keys).await?;
        let id: i64 = row.try_get("id").map_err(db)?;
        if !errata_store::flag(&row, "is_active").map_err(db)? {
            return Err(auth::account_banned());
        }
        if !errata_store::flag(&row, "is_verified").map_err(db)? {
            return Err(auth::account_not_verified());
        }
        if errata_store::flag(&row, "tfa").map_err(db)? {
            let token = self.one_time_token("tfa", id, TFA_LOGIN_TTL).await?;
            return Ok(LoginOutcome::TfaRequired(token));
        }
        let generation: i64 = row.try_get("generation").map_err(db)?;
        self.note_network(id, ip).await?;
        Ok(LoginOutcome::Session(
            self.start_session(id, generation).await?,
        ))
    }

    /// The account with this address, when it signed in from `net` before.
    async fn known_network_user(&self, email: &str, net: IpAddr) -> Result<Option<i64>, Error> {
        sqlx::query_scalar::<_, i64>(
            "SELECT u.id FROM known_networks k JOIN users u ON u.id = k.user_id WHERE u.email = $1 AND k.network = $2",
        )
        .bind(email)
        .bind(net.to_string())
        .fetch_optional(self.pool())
        .await
        .map_err(login_store_error)
    }

    /// Remembers that `user` signed in from `ip`'s network.
    async fn note_network(&self, user: i64, ip: Option<IpAddr>) -> Result<(), Error> {
        let Some(ip) = ip else {
            return Ok(());
        };
        sqlx::query(
            "INSERT INTO known_networks (user_id, network, last_seen) VALUES ($1, $2, $3) \
             ON CONFLICT (user_id, network) DO UPDATE SET last_seen = $3",
        )
        .bind(user)
        .bind(brute::client_network(ip).to_string())
        .bind(now())
        .execute(self.pool())
        .await
        .map_err(db)?;
        Ok(())
    }

    /// The second step of a TFA login. A login token that is unknown,
    /// expired or used, or a code that is not six digits, is
    /// `auth.tfa_invalid`; a wrong code is `auth.tfa_failed`, counted
    /// against the account as a failed login.
    pub async fn login_tfa(
        &self,
        login_token: &str,
        code: &str,
        ip: Option<IpAddr>,
    ) -> Result<String, Error> {
        if !tfa::is_code(code) {
            return Err(auth::tfa_invalid());
        }
        let user = self
            .peek_token("tfa", login_token)
            .await?
            .ok_or_else(auth::tfa_invalid)?;
        let keys = self.brute_keys(format!("user:{user}"), ip);
        brute::reserve(self.store(), &self.config().brute_force, &keys, now()).await?;
        let row = sqlx::query(
            "SELECT tfa_secret, tfa_last_step, is_active, is_verified, generation FROM users WHERE id = $1",
        )
        .bind(user)
        .fetch_optional(self.pool())
        .await
        .map_err(db)?
        .ok_or_else(auth::tfa_invalid)?;
        let secret: Option<String> = row.try_get("tfa_secret").map_err(db)?;
        let last: i64 = row.try_get("tfa_last_step").map_err(db)?;
        let secret = secret.ok_or_else(auth::tfa_invalid)?;
        self.claim_tfa_step(user, &secret, code, last).await?;
        if self.consume_token("tfa", login_token).await?.is_none() {
            return Err(auth::tfa_invalid());
        }
        self.succeeded(&keys).await?;
        // The account may have been banned, or lost its verification,
        // since the password was checked.
        if !errata_store::flag(&row, "is_active").map_err(db)? {
            return Err(auth::account_banned());
        }
        if !errata_store::flag(&row, "is_verified").map_err(db)? {
            return Err(auth::account_not_verified());
        }
        self.note_network(user, ip).await?;
        let generation: i64 = row.try_get("generation").map_err(db)?;
        self.start_session(user, generation).await
    }

    /// Checks `code` against `secret` and claims its time step, so that no
    /// step is used twice, even by two requests at once
    /// (`auth.tfa_failed` otherwise).
    async fn claim_tfa_step(
        &self,
        user: i64,
        secret: &str,
        code: &str,
        last: i64,
    ) -> Result<(), Error> {
        let step =
            tfa::check(secret, code, now().max(0) as u64, last).ok_or_else(auth::tfa_failed)?;
        let claimed =
            sqlx::query("UPDATE users SET tfa_last_step = $1 WHERE id = $2 AND tfa_last_step < $3")
                .bind(step)
                .bind(user)
                .bind(step)
                .execute(self.pool())
                .await
                .map_err(db)?;
        if claimed.rows_affected() == 1 {
            Ok(())
        } else {
            Err(auth::tfa_failed())
        }
    }

    /// A session for `user` under `generation`, read with the checks that
    /// let them in, so that a ban landing between the check and the token
    /// cannot be outlived.
    async fn start_session(&self, user: i64, generation: i64) -> Result<String, Error> {
        sqlx::query("UPDATE users SET last_login_at = $1 WHERE id = $2")
            .bind(now())
            .bind(user)
            .execute(self.pool())
            .await
            .map_err(db)?;
        Ok(self.session_token(user, generation, now()))
    }

    /// The absolute lifetime of a session, in seconds.
    fn session_max_age(&self) -> i64 {
        i64::try_from(self.config().session_max_age_secs).unwrap_or(i64::MAX)
    }

    /// A session token started by a login at `started`: it expires after
    /// its time to live, and never after the session's absolute lifetime.
    fn session_token(&self, user: i64, generation: i64, started: i64) -> String {
        let now = now();
        let ttl = i64::try_from(self.config().session_ttl_secs).unwrap_or(3600);
        self.inner.signer.sign(&Claims {
            iss: ISSUER.into(),
            aud: AUDIENCE.into(),
            sub: user.to_string(),
            iat: now,
            nbf: now,
            exp: (now + ttl).min(started.saturating_add(self.session_max_age())),
            jti: secret::random_id(),
            knd: Kind::Session,
            generation,
            scope: None,
            cid: None,
            ugen: None,
            auth: Some(started),
        })
    }

    /// A new session for the caller's own session, before it expires, and
    /// within the absolute lifetime from the login that started it
    /// (`security.session_too_old` after).
    pub fn refresh(&self, principal: &Principal) -> Result<String, Error> {
        let user = principal.session_user()?;
        let max = self.session_max_age();
        if now() >= principal.started.saturating_add(max) {
            return Err(security::session_too_old(max / 3600));
        }
        Ok(self.session_token(user, principal.generation, principal.started))
    }

    /// Starts setting up TFA: a new secret, active once `enable_tfa`
    /// confirms a code from it. The caller must prove it is the owner, so
    /// that a stolen session can neither turn TFA on with the thief's
    /// authenticator nor replace the secret: with the password, or, when
    /// TFA is on, a current code from the old secret
    /// (`security.tfa_confirmation_required` without); wrong proofs count
    /// as failed attempts.
    pub async fn setup_tfa(
        &self,
        user: i64,
        code: Option<&str>,
        password: Option<&str>,
        ip: Option<IpAddr>,
    ) -> Result<(String, String), Error> {
        let row =
            sqlx::query("SELECT tfa_secret, tfa_last_step, password_hash FROM users WHERE id = $1")
                .bind(user)
                .fetch_optional(self.pool())
                .await
                .map_err(db)?
                .ok_or_else(auth::user_not_found)?;
        let current: Option<String> = row.try_get("tfa_secret").map_err(db)?;
        // Its own key, as for changePassword: a stolen session's guesses
        // must not lock the owner out of their TFA login (`user:ID`).
        let keys = self.brute_keys(format!("password:user:{user}"), ip);
        match (code, password, current) {
            (Some(code), _, Some(current)) => {
                brute::reserve(self.store(), &self.config().brute_force, &keys, now()).await?;
                if !tfa::is_code(code) {
                    return Err(auth::tfa_failed());
                }
                let last: i64 = row.try_get("tfa_last_step").map_err(db)?;
                self.claim_tfa_step(user, &current, code, last).await?;
            }
            (_, Some(given), _) => {
                if given.len() > password::MAX_LEN * 4 {
                    return Err(security::password_change_failed());
                }
                brute::reserve(self.store(), &self.config().brute_force, &keys, now()).await?;
                let stored: Option<String> = row.try_get("password_hash").map_err(db)?;
                let given = given.to_owned();
                let matches = self
                    .argon2_counted(&keys, move || {
                        stored.is_some_and(|h| password::verify(&given, &h))
                    })
                    .await?;
                if !matches {
                    return Err(security::password_change_failed());
                }
            }
            _ => return Err(security::tfa_confirmation_required()),
        }
        self.succeeded(&keys).await?;
        let secret = tfa::new_secret();
        let email: String =
            sqlx::query_scalar("UPDATE users SET tfa_pending = $1 WHERE id = $2 RETURNING email")
                .bind(&secret)
                .bind(user)
                .fetch_optional(self.pool())
                .await
                .map_err(db)?
                .ok_or_else(auth::user_not_found)?;
        let uri = tfa::uri(&secret, &email);
        Ok((secret, uri))
    }

    /// Confirms the pending TFA secret with a code from it.
    pub async fn enable_tfa(&self, user: i64, code: &str) -> Result<(), Error> {
        if !tfa::is_code(code) {
            return Err(auth::tfa_invalid());
        }
        let pending: Option<String> =
            sqlx::query_scalar("SELECT tfa_pending FROM users WHERE id = $1")
                .bind(user)
                .fetch_optional(self.pool())
                .await
                .map_err(db)?
                .flatten();
        let pending = pending.ok_or_else(security::tfa_not_pending)?;
        let step =
            tfa::check(&pending, code, now().max(0) as u64, 0).ok_or_else(auth::tfa_failed)?;
        sqlx::query("UPDATE users SET tfa_secret = tfa_pending, tfa_pending = NULL, tfa_last_step = $1, updated_at = $2 WHERE id = $3")
            .bind(step)
            .bind(now())
            .bind(user)
            .execute(self.pool())
            .await
            .map_err(db)?;
        Ok(())
    }

    /// Turns TFA off for a user.
    pub async fn disable_tfa(&self, by: &Principal, user: i64) -> Result<(), Error> {
        self.user(user).await?;
        self.check_user_reach(by, user).await?;
        crate::users::check_not_own(by, user)?;
        sqlx::query(
            "UPDATE users SET tfa_secret = NULL, tfa_pending = NULL, updated_at = $1 WHERE id = $2",
        )
        .bind(now())
        .bind(user)
        .execute(self.pool())
        .await
        .map_err(db)?;
        Ok(())
    }

    /// As [`Identity::authenticate`], but a token refused as revoked that
    /// was issued since the directory snapshot began is checked again
    /// against a fresh one: a user or client created by another process
    /// (the command line, another instance) is not in the snapshot until
    /// it reloads, and its first token must not be refused meanwhile. A
    /// token causes at most one reload, shared by requests waiting with it.
    pub async fn authenticate_fresh(
        &self,
        authorization: Option<&str>,
    ) -> Result<Principal, Error> {
        let arrived = crate::now_ms();
        let refused = match self.authenticate(authorization) {
            Err(e) if e.id() == "security.token_revoked" => e,
            answer => return answer,
        };
        let Some(token) = authorization.and_then(|header| bearer_token(header).ok()) else {
            return Err(refused);
        };
        let Ok(claims) = self.verify_token(token) else {
            return Err(refused);
        };
        // A snapshot begun after the second the token was issued in ends
        // has seen everything the token names.
        let issued_by = claims.iat.saturating_mul(1000).saturating_add(999);
        if self.directory().loaded_at_ms > issued_by {
            return Err(refused);
        }
        // A snapshot begun after the first request with the token arrived
        // has seen it too.
        self.recheck_of(token)
            .get_or_try_init(|| self.reload_since(arrived))
            .await?;
        self.authenticate(authorization)
    }

    /// The caller for an `Authorization` header value (or none).
    ///
    /// No header is the guest. A header that is not `Bearer <token>` is
    /// `security.authorization_header_invalid` and a token that is not a
    /// JWT `security.token_malformed` (both 400); a JWT that is not valid
    /// now is 401 (`token_invalid`, `token_expired`, `token_not_yet_valid`,
    /// `token_revoked`).
    pub fn authenticate(&self, authorization: Option<&str>) -> Result<Principal, Error> {
        let directory = self.directory();
        let Some(header) = authorization else {
            return Ok(directory.guest.clone());
        };
        let token = bearer_token(header)?;
        let claims = self.verify_token(token)?;
        let user_id: i64 = claims
            .sub
            .parse()
            .map_err(|_| security::token_invalid("its subject is not a user"))?;
        let user = directory
            .users
            .get(&user_id)
            .ok_or_else(security::token_revoked)?;
        if !user.active || !user.verified {
            return Err(security::token_revoked());
        }
        let scope = |claims: &Claims| -> Result<Permissions, Error> {
            let names: Vec<&str> = claims
                .scope
                .as_deref()
                .unwrap_or("")
                .split_whitespace()
                .collect();
            Permissions::parse(&names)
                .map_err(|_| security::token_invalid("its scope names an unknown permission"))
        };
        let (kind, scope) = match claims.knd {
            Kind::Session => {
                if claims.generation != user.generation {
                    return Err(security::token_revoked());
                }
                (PrincipalKind::Session, None)
            }
            Kind::Api => {
                let token = directory
                    .api_tokens
                    .get(&claims.jti)
                    .ok_or_else(security::token_revoked)?;
                if token.revoked || token.user_id != user_id || claims.generation != user.generation
                {
                    return Err(security::token_revoked());
                }
                if token.expires_at <= now() {
                    return Err(security::token_expired());
                }
                self.note_used(&claims.jti);
                (
                    PrincipalKind::ApiToken(claims.jti.clone()),
                    Some(scope(&claims)?),
                )
            }
            Kind::Client => {
                let id = claims
                    .cid
                    .clone()
                    .ok_or_else(|| security::token_invalid("the claim \"cid\" is missing"))?;
                let client = directory
                    .clients
                    .get(&id)
                    .ok_or_else(security::token_revoked)?;
                if client.generation != claims.generation
                    || client.owner_id != user_id
                    || claims.ugen != Some(user.generation)
                {
                    return Err(security::token_revoked());
                }
                if client.expires_at.is_some_and(|at| at <= now()) {
                    return Err(security::token_revoked());
                }
                (PrincipalKind::Client(id), Some(scope(&claims)?))
            }
        };
        let principal = Principal::with_subject(
            kind,
            Arc::clone(&user.subject),
            user_id,
            user.permissions,
            scope,
            Arc::clone(&user.grants),
            user.generation,
        );
        Ok(principal.started_at(claims.auth.unwrap_or(claims.iat)))
    }

    /// The claims of a token, from the cache of verified tokens while they
    /// have not expired, else by checking its signature and times. The
    /// signing key never changes while the server runs, so a token that
    /// verified once verifies until it expires, and one refused for its
    /// shape, signature or expiry is refused for good; both caches compare
    /// the whole text, not only its hash. Revocation is checked by the
    /// caller, every time.
    fn verify_token(&self, token: &str) -> Result<Arc<Claims>, Error> {
        use std::hash::BuildHasher;
        // The signature alone keys the caches: it is the token's
        // high-entropy part, and a sixth of its length to hash. Entries
        // still compare the whole text.
        let signature = token.rsplit('.').next().unwrap_or(token);
        let key = self.inner.hash_state.hash_one(signature);
        let now = now();
        {
            let mut cache = self
                .inner
                .verified
                .lock()
                .unwrap_or_else(|e| e.into_inner());
            if let Some((text, claims)) = cache.get(&key)
                && **text == *token
                && claims.exp > now
            {
                return Ok(Arc::clone(claims));
            }
        }
        {
            let mut refused = self.inner.refused.lock().unwrap_or_else(|e| e.into_inner());
            if let Some((text, error)) = refused.get(&key)
                && **text == *token
            {
                return Err(error.clone_without_source());
            }
        }
        match self.inner.signer.verify(token) {
            Ok(claims) => {
                let claims = Arc::new(claims);
                self.inner
                    .verified
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .put(key, (Arc::from(token), Arc::clone(&claims)));
                Ok(claims)
            }
            Err(error) => {
                // "Not yet valid" may become valid; every other refusal is final.
                if !error.is(security::TOKEN_NOT_YET_VALID) {
                    self.inner
                        .refused
                        .lock()
                        .unwrap_or_else(|e| e.into_inner())
                        .put(key, (Arc::from(token), error.clone_without_source()));
                }
                Err(error)
            }
        }
    }

    pub(crate) fn signer(&self) -> &crate::jwt::Signer {
        &self.inner.signer
    }

    pub(crate) fn hasher(&self) -> &secret::SecretHasher {
        &self.inner.hasher
    }
}

/// The guest: the guest account's groups (Guests), or nothing if the guest
/// account is banned.
pub(crate) fn guest(
    users: &std::collections::HashMap<i64, crate::directory::UserState>,
) -> Principal {
    let (permissions, grants) = match users.get(&GUEST_USER) {
        Some(u) if u.active => (u.permissions, Arc::clone(&u.grants)),
        _ => (Permissions::NONE, Arc::from([])),
    };
    Principal::new(
        PrincipalKind::Guest,
        GUEST_USER,
        permissions,
        None,
        grants,
        0,
    )
}

/// The token of `Bearer <token>` (the scheme in any case, RFC 7235).
pub fn bearer_token(header: &str) -> Result<&str, Error> {
    let invalid = security::authorization_header_invalid;
    if header.len() > crate::jwt::MAX_TOKEN_LEN + 16 {
        return Err(invalid());
    }
    let (scheme, token) = header.trim().split_once(' ').ok_or_else(invalid)?;
    let token = token.trim();
    if !scheme.eq_ignore_ascii_case("bearer") || token.is_empty() || token.contains(' ') {
        return Err(invalid());
    }
    Ok(token)
}

/// A failed read during login: `DatabaseUnavailable` (503, retry) when the
/// database could not be reached, otherwise `AuthGenericError` as Wiki.js
/// answers a broken user store.
fn login_store_error(e: sqlx::Error) -> Error {
    if errata_store::is_unavailable(&e) {
        errata_store::error(e)
    } else {
        auth::generic_error().with_source(e)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bearer_headers() {
        assert_eq!(bearer_token("Bearer abc").unwrap(), "abc");
        assert_eq!(bearer_token("bearer  abc ").unwrap(), "abc");
        for bad in ["Basic abc", "Bearer", "Bearer ", "abc", "Bearer a b"] {
            assert_eq!(
                bearer_token(bad).unwrap_err().id(),
                "security.authorization_header_invalid",
                "{bad}"
            );
        }
        assert!(bearer_token(&format!("Bearer {}", "a".repeat(5000))).is_err());
    }
}

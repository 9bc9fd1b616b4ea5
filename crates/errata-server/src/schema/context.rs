//! What resolvers know about the request, the guards and directives that
//! declare what a field needs, and `responseResult`, Wiki.js's
//! errors-as-data.

use std::net::IpAddr;

use async_graphql::{Context, Enum, Guard, Result, SimpleObject, TypeDirective};
use errata_catalog::Error;
use errata_identity::{Identity, Permission, Principal};

use super::ServerFacts;

/// The caller, as the edge authenticated it.
#[derive(Debug, Clone)]
pub struct Caller(pub Principal);

/// Facts about the HTTP request.
#[derive(Debug, Clone, Copy)]
pub struct RequestContext {
    /// The locale messages are rendered in.
    pub locale: Option<&'static str>,
    /// The client's address.
    pub ip: Option<IpAddr>,
}

/// The field needs this permission (enforced by a guard).
#[TypeDirective(location = "FieldDefinition")]
pub fn requires(permission: String) {}

/// The field needs a signed-in caller (enforced by the resolver).
#[TypeDirective(location = "FieldDefinition")]
pub fn authenticated() {}

/// `@requires` by name: a field carrying it answers by what the caller may
/// do, so the pipeline keeps an answer that selects it per permission set
/// (`Principal::permission_key`). A field's resolver reading more of the
/// caller than permission checks do must carry `@authenticated` too.
pub const PERMISSION_DIRECTIVES: &[&str] = &["requires"];

/// `@authenticated` by name: a field carrying it answers about the caller,
/// so the pipeline never keeps an answer that selects it.
pub const PERSONAL_DIRECTIVES: &[&str] = &["authenticated"];

/// Who may keep an answer: anyone, or only the caller.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Enum)]
pub enum CacheScope {
    /// Shared caches may keep it, and errata's response cache does.
    Public,
    /// It is the caller's own.
    Private,
}

/// How long an answer with this type or field stays true, as Apollo
/// Server's directive of the same name: errata keeps public answers, and
/// per permission set those of `@requires` fields, in its response cache,
/// and sends `Cache-Control`.
#[TypeDirective(
    name = "cacheControl",
    location = "FieldDefinition",
    location = "Object"
)]
pub fn cache_control(max_age: i32, scope: Option<CacheScope>) {}

/// How long the catalog's answers stay true: it is compiled into the
/// server, so it changes only with a release.
pub const CATALOG_MAX_AGE: i32 = 3600;

/// The caller; a request that came without the edge is a guest with no
/// permission.
pub fn caller<'a>(ctx: &'a Context<'_>) -> Result<&'a Principal> {
    Ok(&ctx.data::<Caller>()?.0)
}

/// The identity domain.
pub fn identity<'a>(ctx: &'a Context<'_>) -> Result<&'a Identity> {
    ctx.data::<ServerFacts>()?
        .identity
        .get()
        .ok_or_else(|| errata_errors::system::database_unavailable().into())
}

/// The request's facts.
pub fn request(ctx: &Context<'_>) -> RequestContext {
    ctx.data_opt::<RequestContext>()
        .copied()
        .unwrap_or(RequestContext {
            locale: None,
            ip: None,
        })
}

/// Guards a field with a permission: a guest gets UNAUTHENTICATED, a known
/// caller FORBIDDEN naming the permission, with `requiredPermissions`.
#[derive(Debug, Clone, Copy)]
pub struct Needs(pub Permission);

impl Guard for Needs {
    async fn check(&self, ctx: &Context<'_>) -> Result<()> {
        caller(ctx)?.require(self.0)?;
        Ok(())
    }
}

/// Wiki.js's `ResponseStatus`: how a mutation went, as data.
#[derive(Debug, Clone, SimpleObject)]
pub struct ResponseStatus {
    /// Whether it worked.
    pub succeeded: bool,
    /// The catalog code, 0 on success.
    pub error_code: i32,
    /// The catalog slug, `ok` on success.
    pub slug: String,
    /// The message, in the request's locale.
    pub message: Option<String>,
    /// Seconds to wait before trying again, for lockouts.
    pub retry_after: Option<i64>,
}

impl ResponseStatus {
    /// Success.
    pub fn ok(message: &str) -> ResponseStatus {
        ResponseStatus {
            succeeded: true,
            error_code: 0,
            slug: "ok".to_owned(),
            message: Some(message.to_owned()),
            retry_after: None,
        }
    }

    /// A failure, from its catalog error.
    pub fn failed(error: &Error, locale: Option<&str>) -> ResponseStatus {
        ResponseStatus {
            succeeded: false,
            error_code: i32::try_from(error.code()).unwrap_or(i32::MAX),
            slug: error.slug().to_owned(),
            message: Some(error.message_in(locale).into_owned()),
            retry_after: error
                .details()
                .iter()
                .find(|(k, _)| *k == "retryAfter")
                .and_then(|(_, v)| v.as_i64()),
        }
    }
}

/// Whether an error belongs in `errors[]` rather than in `responseResult`:
/// the request could not be considered (who is calling, what they may do)
/// or the server failed. Everything else is a domain answer, and data.
pub fn is_request_level(error: &Error) -> bool {
    use errata_errors::security;
    error.def().domain == "system"
        || [
            security::AUTHENTICATION_REQUIRED,
            security::PERMISSION_MISSING,
            security::PERMISSION_NOT_GRANTABLE,
            security::SESSION_REQUIRED,
            security::TARGET_OUTRANKS_CALLER,
            security::OWN_CREDENTIALS,
            security::PASSWORD_CHECK_BUSY,
        ]
        .iter()
        .any(|def| error.is(def))
}

/// Splits a domain result: success and domain failures become a
/// `ResponseStatus`; request-level failures become a GraphQL error.
pub fn settle<T>(
    ctx: &Context<'_>,
    result: Result<T, Error>,
    success: &str,
) -> Result<(ResponseStatus, Option<T>)> {
    match result {
        Ok(value) => Ok((ResponseStatus::ok(success), Some(value))),
        Err(e) if is_request_level(&e) => Err(e.into()),
        Err(e) => {
            if let Some(cause) = e.cause() {
                tracing::warn!(id = e.id(), cause = %cause, "mutation failed");
            }
            Ok((ResponseStatus::failed(&e, request(ctx).locale), None))
        }
    }
}

/// A time as RFC 3339 UTC, from seconds since the epoch.
pub fn timestamp(secs: i64) -> String {
    let days = secs.div_euclid(86_400);
    let rem = secs.rem_euclid(86_400);
    // Howard Hinnant's civil-from-days.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps() {
        assert_eq!(timestamp(0), "1970-01-01T00:00:00Z");
        assert_eq!(timestamp(951_782_400), "2000-02-29T00:00:00Z");
        assert_eq!(timestamp(1_795_305_600), "2026-11-22T00:00:00Z");
        assert_eq!(timestamp(4_102_444_799), "2099-12-31T23:59:59Z");
    }

    #[test]
    fn the_caller_directives_are_the_schemas_own() {
        let sdl = super::super::sdl();
        for name in PERMISSION_DIRECTIVES.iter().chain(PERSONAL_DIRECTIVES) {
            assert!(
                sdl.contains(&format!("directive @{name}("))
                    || sdl.contains(&format!("directive @{name} on")),
                "@{name} is declared in the schema"
            );
        }
    }

    #[test]
    fn request_level_errors_are_the_security_and_system_ones() {
        assert!(is_request_level(
            &errata_errors::security::permission_missing("x")
        ));
        assert!(is_request_level(&errata_errors::system::internal()));
        assert!(!is_request_level(&errata_errors::auth::login_failed()));
        assert!(!is_request_level(
            &errata_errors::security::group_not_found()
        ));
    }
}

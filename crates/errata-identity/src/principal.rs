//! The caller of a request, and the checks fields make against it.

use std::hash::{BuildHasher, Hash, Hasher};
use std::sync::{Arc, LazyLock};

use errata_catalog::Error;
use errata_errors::security;

use crate::page_rules::{Grant, PageTarget};
use crate::permissions::{Permission, Permissions};

/// Who is calling.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PrincipalKind {
    /// No token: the Guests group's permissions.
    Guest,
    /// A user's session from login.
    Session,
    /// An API token, by id.
    ApiToken(String),
    /// An OAuth client, by client id.
    Client(String),
    /// The operator at the command line, who may do anything.
    Operator,
}

/// The caller and what they may do.
#[derive(Debug, Clone)]
pub struct Principal {
    /// Who is calling.
    pub kind: PrincipalKind,
    /// The user acted as; the guest account for guests.
    pub user_id: i64,
    /// What the caller may do, tokens' scopes applied.
    pub permissions: Permissions,
    /// A token's scope, which narrows page rules too.
    scope: Option<Permissions>,
    /// The user's groups' grants, for page rules.
    grants: Arc<[Grant]>,
    /// The key rate limits count against: `user:ID` for every credential
    /// of a user, so that more tokens do not buy more requests.
    pub subject: Arc<str>,
    /// The session's generation, which a renewed session keeps.
    pub generation: i64,
    /// When the login that started the session was (seconds); renewals
    /// keep it, so a session has an absolute lifetime.
    pub started: i64,
}

/// SipHash under a key drawn once per process: permission keys and group
/// fingerprints are compared only within the process, and no caller, not
/// knowing the key, can make their groups hash like someone else's.
static KEYED: LazyLock<std::hash::RandomState> = LazyLock::new(std::hash::RandomState::new);

/// A hasher under the process's key.
pub(crate) fn keyed_hasher() -> std::hash::DefaultHasher {
    KEYED.build_hasher()
}

impl Principal {
    /// A caller.
    pub fn new(
        kind: PrincipalKind,
        user_id: i64,
        user_permissions: Permissions,
        scope: Option<Permissions>,
        grants: Arc<[Grant]>,
        generation: i64,
    ) -> Principal {
        let subject: Arc<str> = match &kind {
            PrincipalKind::Guest => Arc::from("guest"),
            PrincipalKind::Operator => Arc::from("operator"),
            _ => Arc::from(format!("user:{user_id}")),
        };
        Principal::with_subject(
            kind,
            subject,
            user_id,
            user_permissions,
            scope,
            grants,
            generation,
        )
    }

    /// A caller whose rate-limit key is already made (sessions keep their
    /// user's, so that authenticating allocates nothing for it).
    pub fn with_subject(
        kind: PrincipalKind,
        subject: Arc<str>,
        user_id: i64,
        user_permissions: Permissions,
        scope: Option<Permissions>,
        grants: Arc<[Grant]>,
        generation: i64,
    ) -> Principal {
        let permissions = match scope {
            Some(scope) => scope.within(user_permissions),
            None => user_permissions,
        };
        Principal {
            kind,
            user_id,
            permissions,
            scope,
            grants,
            subject,
            generation,
            started: 0,
        }
    }

    /// The operator at the command line: every permission, no user.
    pub fn operator() -> Principal {
        Principal::new(
            PrincipalKind::Operator,
            0,
            Permissions::all(),
            None,
            Arc::from([]),
            0,
        )
    }

    /// The same caller, its session started at `started`.
    pub fn started_at(mut self, started: i64) -> Principal {
        self.started = started;
        self
    }

    /// Equal for two callers exactly when every permission check answers
    /// them alike (but for a collision of a keyed hash no caller can aim
    /// at), so that answers depending only on permissions can be shared
    /// among them: whether they are a guest (a guest is asked to sign in
    /// where others are refused), the operator, or signed in; their
    /// permissions; their token's scope; and their groups' grants, by the
    /// fingerprints made when the directory was read. Who they are
    /// otherwise (user, token, client) is left out. A few dozen bytes
    /// hashed: cheap enough for every request.
    pub fn permission_key(&self) -> u64 {
        let mut hasher = keyed_hasher();
        let class: u8 = match self.kind {
            PrincipalKind::Guest => 0,
            PrincipalKind::Session | PrincipalKind::ApiToken(_) | PrincipalKind::Client(_) => 1,
            PrincipalKind::Operator => 2,
        };
        class.hash(&mut hasher);
        self.permissions.hash(&mut hasher);
        self.scope.hash(&mut hasher);
        self.grants.len().hash(&mut hasher);
        for grant in self.grants.iter() {
            grant.fingerprint().hash(&mut hasher);
        }
        hasher.finish()
    }

    /// Whether there is no token.
    pub fn is_guest(&self) -> bool {
        self.kind == PrincipalKind::Guest
    }

    /// The user, or `security.authentication_required` for a guest (and
    /// `session_required` for the operator, who is nobody).
    pub fn user(&self) -> Result<i64, Error> {
        match self.kind {
            PrincipalKind::Guest => Err(security::authentication_required()),
            PrincipalKind::Operator => Err(security::session_required()),
            _ => Ok(self.user_id),
        }
    }

    /// The user, when the caller is their own session.
    pub fn session_user(&self) -> Result<i64, Error> {
        match self.kind {
            PrincipalKind::Session => Ok(self.user_id),
            PrincipalKind::Guest => Err(security::authentication_required()),
            _ => Err(security::session_required()),
        }
    }

    /// What the caller holds on every page: its permissions, less those a
    /// page rule of one of its groups denies somewhere. Only these can be
    /// handed on, since a group or a rule given to someone else would not
    /// carry the caller's own denials.
    pub fn holds_everywhere(&self) -> Permissions {
        if self.has(Permission::ManageSystem) {
            return Permissions::all();
        }
        let denied = self
            .grants
            .iter()
            .fold(Permissions::NONE, |acc, g| acc.union(g.denied_somewhere()));
        self.permissions
            .iter()
            .filter(|p| !denied.has_exactly(*p))
            .collect()
    }

    /// `Ok` when the caller may give `asked` to someone (a group, a page
    /// rule): `security.permission_not_grantable` names the first
    /// permission the caller does not hold everywhere.
    pub fn check_grant(&self, asked: Permissions) -> Result<(), Error> {
        let held = self.holds_everywhere();
        match asked.iter().find(|p| !held.has_exactly(*p)) {
            Some(p) if !self.has(Permission::ManageSystem) => {
                Err(security::permission_not_grantable(p.name()))
            }
            _ => Ok(()),
        }
    }

    /// `Ok` when the caller may change `target`, which has a say in
    /// `reach`: a user, group or client reaching further than the caller
    /// needs `manage:system` (`security.target_outranks_caller`).
    pub fn check_outranks(&self, target: &str, reach: Permissions) -> Result<(), Error> {
        if self.has(Permission::ManageSystem) {
            return Ok(());
        }
        let held = self.holds_everywhere();
        if reach.iter().all(|p| held.has_exactly(p)) {
            Ok(())
        } else {
            Err(security::target_outranks_caller(target))
        }
    }

    /// `Ok` with `manage:system`; touching a system group or account.
    pub fn check_system(&self, target: &str) -> Result<(), Error> {
        if self.has(Permission::ManageSystem) {
            Ok(())
        } else {
            Err(security::target_outranks_caller(target))
        }
    }

    /// Whether the caller has `p`.
    pub fn has(&self, p: Permission) -> bool {
        self.permissions.grants(p)
    }

    /// `Ok` when the caller has `p`. A guest is asked to sign in (401); a
    /// known caller is refused, naming `p` (403, as seed 001).
    pub fn require(&self, p: Permission) -> Result<(), Error> {
        if self.has(p) {
            Ok(())
        } else {
            Err(self.missing(p))
        }
    }

    /// Whether a check of this caller on a page can depend on the page's
    /// tags: when not, lists and searches skip reading them.
    pub fn reads_tags(&self) -> bool {
        self.kind != PrincipalKind::Operator && crate::page_rules::grants_read_tags(&self.grants)
    }

    /// Whether the caller has `p` on `page`, page rules applied
    /// ([`crate::page_rules::grants_on`]).
    pub fn has_on(&self, p: Permission, page: &PageTarget<'_>) -> bool {
        if self.kind == PrincipalKind::Operator {
            return true;
        }
        self.scope.is_none_or(|s| s.grants(p))
            && crate::page_rules::grants_on(&self.grants, p, page)
    }

    /// `Ok` when the caller has `p` on `page`.
    pub fn require_on(&self, p: Permission, page: &PageTarget<'_>) -> Result<(), Error> {
        if self.has_on(p, page) {
            Ok(())
        } else {
            Err(self.missing(p))
        }
    }

    fn missing(&self, p: Permission) -> Error {
        if self.is_guest() {
            security::authentication_required().with_detail("requiredPermissions", vec![p.name()])
        } else {
            security::permission_missing(p.name())
                .with_detail("requiredPermissions", vec![p.name()])
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::page_rules::PageRule;

    fn grant(perms: &[&str], rules: Vec<PageRule>) -> Grant {
        Grant::new(
            Permissions::parse(perms).unwrap(),
            rules
                .iter()
                .enumerate()
                .map(|(i, r)| r.check(i).unwrap())
                .collect::<Vec<_>>()
                .into(),
        )
    }

    #[test]
    fn guests_are_asked_to_sign_in_and_users_are_refused_by_name() {
        let guest = Principal::new(
            PrincipalKind::Guest,
            crate::GUEST_USER,
            Permissions::parse(&["read:pages"]).unwrap(),
            None,
            Arc::from([]),
            0,
        );
        assert_eq!(
            guest.require(Permission::ManageUsers).unwrap_err().id(),
            "security.authentication_required"
        );
        let user = Principal::new(
            PrincipalKind::Session,
            5,
            Permissions::parse(&["read:pages"]).unwrap(),
            None,
            Arc::from([]),
            0,
        );
        let err = user.require(Permission::WritePages).unwrap_err();
        assert_eq!(err.id(), "security.permission_missing");
        assert_eq!(
            err.message(),
            "You are not authorized to run this query. Required permission 'write:pages' is not present."
        );
        assert!(user.require(Permission::ReadPages).is_ok());
    }

    fn caller(kind: PrincipalKind, user: i64, perms: &[&str], grants: &[Grant]) -> Principal {
        Principal::new(
            kind,
            user,
            Permissions::parse(perms).unwrap(),
            None,
            Arc::from(grants),
            0,
        )
    }

    fn rule(matching: crate::page_rules::RuleMatch, path: &str, locales: &[&str]) -> PageRule {
        PageRule {
            permissions: vec!["read:pages".into()],
            matching,
            path: path.into(),
            locales: locales.iter().map(|l| (*l).to_owned()).collect(),
            deny: true,
            ..PageRule::default()
        }
    }

    #[test]
    fn callers_in_the_same_groups_share_a_permission_key() {
        use crate::page_rules::RuleMatch;
        let perms = &["read:pages", "write:pages"];
        let editors = grant(perms, vec![rule(RuleMatch::Start, "/admin", &[])]);
        let session = PrincipalKind::Session;
        let a = caller(session.clone(), 5, perms, std::slice::from_ref(&editors));
        let b = caller(session.clone(), 6, perms, std::slice::from_ref(&editors));
        assert_eq!(a.permission_key(), b.permission_key(), "another user");
        // The same group read again, as each directory load does.
        let reread = grant(perms, vec![rule(RuleMatch::Start, "/admin", &[])]);
        let c = caller(PrincipalKind::ApiToken("t".into()), 7, perms, &[reread]);
        assert_eq!(a.permission_key(), c.permission_key(), "a token, unscoped");
        let guest = caller(
            PrincipalKind::Guest,
            2,
            perms,
            std::slice::from_ref(&editors),
        );
        assert_ne!(
            a.permission_key(),
            guest.permission_key(),
            "a guest is asked to sign in where a user is refused"
        );
        assert_ne!(a.permission_key(), Principal::operator().permission_key());
    }

    #[test]
    fn other_permissions_rules_or_scopes_give_other_permission_keys() {
        use crate::page_rules::RuleMatch;
        let perms = &["read:pages", "write:pages"];
        let session = || PrincipalKind::Session;
        let with = |perms: &[&str], rules: Vec<PageRule>| {
            caller(session(), 5, perms, &[grant(perms, rules)]).permission_key()
        };
        let base = with(perms, vec![rule(RuleMatch::Start, "/admin", &[])]);
        let others = [
            with(&["read:pages"], vec![rule(RuleMatch::Start, "/admin", &[])]),
            with(perms, vec![]),
            with(perms, vec![rule(RuleMatch::Start, "/admin/x", &[])]),
            with(perms, vec![rule(RuleMatch::Exact, "/admin", &[])]),
            with(perms, vec![rule(RuleMatch::Tag, "/admin", &[])]),
            with(perms, vec![rule(RuleMatch::Start, "/admin", &["fr"])]),
            with(perms, vec![rule(RuleMatch::Regex, "^admin", &[])]),
            with(perms, vec![rule(RuleMatch::Regex, "^admin$", &[])]),
            with(
                perms,
                vec![PageRule {
                    deny: false,
                    ..rule(RuleMatch::Start, "/admin", &[])
                }],
            ),
            with(
                perms,
                vec![PageRule {
                    permissions: vec!["write:pages".into()],
                    ..rule(RuleMatch::Start, "/admin", &[])
                }],
            ),
        ];
        for (i, other) in others.iter().enumerate() {
            assert_ne!(base, *other, "variant {i}");
        }
        let unique: std::collections::HashSet<u64> = others.iter().copied().collect();
        assert_eq!(unique.len(), others.len());
        let grants: Arc<[Grant]> = Arc::from([grant(perms, vec![])]);
        let user = Permissions::parse(perms).unwrap();
        let scoped = |scope: Option<&[&str]>| {
            Principal::new(
                PrincipalKind::ApiToken("t".into()),
                5,
                user,
                scope.map(|s| Permissions::parse(s).unwrap()),
                Arc::clone(&grants),
                0,
            )
            .permission_key()
        };
        assert_ne!(
            scoped(None),
            scoped(Some(perms)),
            "a scope narrows page rules"
        );
        assert_ne!(scoped(Some(perms)), scoped(Some(&["read:pages"])));
    }

    #[test]
    fn token_scopes_narrow_permissions_and_page_rules() {
        let grants: Arc<[Grant]> = Arc::from(vec![grant(
            &["read:pages", "write:pages"],
            vec![PageRule {
                permissions: vec!["write:pages".into()],
                path: "/docs".into(),
                deny: true,
                ..PageRule::default()
            }],
        )]);
        let user_perms = Permissions::parse(&["read:pages", "write:pages"]).unwrap();
        let token = Principal::new(
            PrincipalKind::ApiToken("t".into()),
            5,
            user_perms,
            Some(Permissions::parse(&["read:pages", "manage:users"]).unwrap()),
            Arc::clone(&grants),
            0,
        );
        assert!(token.has(Permission::ReadPages));
        assert!(!token.has(Permission::WritePages));
        assert!(
            !token.has(Permission::ManageUsers),
            "a scope never exceeds its user"
        );
        let page = |path| PageTarget {
            path,
            locale: "en",
            tags: &[],
        };
        assert!(!token.has_on(Permission::WritePages, &page("/home")));
        let session = Principal::new(PrincipalKind::Session, 5, user_perms, None, grants, 0);
        assert!(session.has_on(Permission::WritePages, &page("/home")));
        assert!(!session.has_on(Permission::WritePages, &page("/docs/x")));
        assert_eq!(
            session
                .require_on(Permission::WritePages, &page("/docs/x"))
                .unwrap_err()
                .id(),
            "security.permission_missing"
        );
        assert_eq!(&*session.subject, "user:5");
        let token = Principal::new(
            PrincipalKind::ApiToken("t".into()),
            5,
            user_perms,
            None,
            Arc::from([]),
            0,
        );
        assert_eq!(
            &*token.subject, "user:5",
            "every credential of a user shares one limit"
        );
    }
}

//! Permissions, the sets groups and tokens carry, and page rules.

use errata_catalog::Error;
use errata_errors::security;

macro_rules! permissions {
    ($($variant:ident = $name:literal, $page:literal;)*) => {
        /// One thing a caller may do.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        #[repr(u8)]
        pub enum Permission { $($variant,)* }

        impl Permission {
            /// Every permission, in a stable order.
            pub const ALL: &'static [Permission] = &[$(Permission::$variant,)*];

            /// The name groups, tokens and scopes use: `write:pages`.
            pub fn name(self) -> &'static str {
                match self { $(Permission::$variant => $name,)* }
            }

            /// Whether page rules may narrow it to some paths.
            pub fn is_about_pages(self) -> bool {
                match self { $(Permission::$variant => $page,)* }
            }

            /// The permission with this exact name.
            pub fn parse(name: &str) -> Option<Permission> {
                match name { $($name => Some(Permission::$variant),)* _ => None }
            }
        }
    };
}

permissions! {
    ReadPages = "read:pages", true;
    WritePages = "write:pages", true;
    ManagePages = "manage:pages", true;
    DeletePages = "delete:pages", true;
    ReadSource = "read:source", true;
    ReadHistory = "read:history", true;
    ReadAssets = "read:assets", false;
    WriteAssets = "write:assets", false;
    ManageAssets = "manage:assets", false;
    ReadComments = "read:comments", true;
    WriteComments = "write:comments", true;
    ManageComments = "manage:comments", false;
    WriteUsers = "write:users", false;
    ManageUsers = "manage:users", false;
    WriteGroups = "write:groups", false;
    ManageGroups = "manage:groups", false;
    ManageApi = "manage:api", false;
    ManageNavigation = "manage:navigation", false;
    ManageTheme = "manage:theme", false;
    ManageSystem = "manage:system", false;
}

impl std::fmt::Display for Permission {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// A set of permissions, as bits, so that checking one on every field costs
/// nothing.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub struct Permissions(u32);

impl Permissions {
    /// No permission.
    pub const NONE: Permissions = Permissions(0);

    /// Every permission.
    pub fn all() -> Permissions {
        Permission::ALL.iter().copied().collect()
    }

    /// The raw bits, as tokens carry them.
    pub fn bits(self) -> u32 {
        self.0
    }

    /// The set with these bits; unknown bits are dropped.
    pub fn from_bits(bits: u32) -> Permissions {
        Permissions(bits & Permissions::all().0)
    }

    /// Whether `p` is in the set itself, `manage:system` aside.
    pub fn has_exactly(self, p: Permission) -> bool {
        self.0 & (1 << p as u8) != 0
    }

    /// Whether the set grants `p`: it holds `p`, or `manage:system`, which
    /// grants everything.
    pub fn grants(self, p: Permission) -> bool {
        self.has_exactly(p) || self.has_exactly(Permission::ManageSystem)
    }

    /// Adds `p`.
    pub fn insert(&mut self, p: Permission) {
        self.0 |= 1 << p as u8;
    }

    /// The permissions of both.
    pub fn union(self, other: Permissions) -> Permissions {
        Permissions(self.0 | other.0)
    }

    /// What `self` grants that `within` also grants. `manage:system` in
    /// `within` grants all of `self`.
    pub fn within(self, within: Permissions) -> Permissions {
        if within.has_exactly(Permission::ManageSystem) {
            self
        } else {
            Permissions(self.0 & within.0)
        }
    }

    /// Whether there is none.
    pub fn is_empty(self) -> bool {
        self.0 == 0
    }

    /// The permissions, in a stable order.
    pub fn iter(self) -> impl Iterator<Item = Permission> {
        Permission::ALL
            .iter()
            .copied()
            .filter(move |p| self.has_exactly(*p))
    }

    /// The names, in a stable order.
    pub fn names(self) -> Vec<String> {
        self.iter().map(|p| p.name().to_owned()).collect()
    }

    /// The set as the database keeps it: a JSON array of names.
    pub fn to_stored(self) -> String {
        serde_json::to_string(&self.names()).expect("a list of names serializes")
    }

    /// A set the database kept. It was checked when it was written; a name
    /// that is no longer known, or text that does not read, grants nothing
    /// rather than failing open.
    pub fn from_stored(json: &str) -> Permissions {
        let names: Vec<&str> = serde_json::from_str(json).unwrap_or_default();
        names.iter().filter_map(|n| Permission::parse(n)).collect()
    }

    /// Parses names; an unknown one is `security.permission_unknown`, with
    /// the closest known name as `didYouMean`.
    pub fn parse<S: AsRef<str>>(names: &[S]) -> Result<Permissions, Error> {
        let mut set = Permissions::NONE;
        for name in names {
            set.insert(parse_one(name.as_ref())?);
        }
        Ok(set)
    }
}

impl FromIterator<Permission> for Permissions {
    fn from_iter<I: IntoIterator<Item = Permission>>(iter: I) -> Permissions {
        let mut set = Permissions::NONE;
        for p in iter {
            set.insert(p);
        }
        set
    }
}

/// One permission by name, or the catalogued error with a suggestion.
pub fn parse_one(name: &str) -> Result<Permission, Error> {
    Permission::parse(name).ok_or_else(|| {
        let shown: String = name.chars().take(64).collect();
        let error = security::permission_unknown(shown);
        match closest(name) {
            Some(p) => error.with_detail("didYouMean", p.name()),
            None => error,
        }
    })
}

/// The known permission nearest to `name`, when it is near enough to be a typo.
fn closest(name: &str) -> Option<Permission> {
    if name.len() > 64 {
        return None;
    }
    Permission::ALL
        .iter()
        .map(|p| (distance(name, p.name()), *p))
        .filter(|(d, p)| *d <= (p.name().len() / 3).max(1))
        .min_by_key(|(d, _)| *d)
        .map(|(_, p)| p)
}

fn distance(a: &str, b: &str) -> usize {
    let a: Vec<char> = a.chars().collect();
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.iter().enumerate() {
        let mut diagonal = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let above = row[j + 1];
            row[j + 1] = (above + 1)
                .min(row[j] + 1)
                .min(diagonal + usize::from(ca != cb));
            diagonal = above;
        }
    }
    row[b.len()]
}

/// A group's rule for page permissions under a path prefix.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct PageRule {
    /// Page permissions the rule is about.
    pub permissions: Vec<String>,
    /// The path prefix, `/` for every page.
    pub path: String,
    /// Deny instead of allow.
    #[serde(default)]
    pub deny: bool,
}

impl CheckedRule {
    /// The rule as it is stored: its permissions named once each.
    pub fn to_rule(&self) -> PageRule {
        PageRule {
            permissions: self.permissions.names(),
            path: self.path.clone(),
            deny: self.deny,
        }
    }
}

/// Every permission a group with `permissions` and `rules` has a say in:
/// its own, and every one its rules name, to allow or deny (unknown names
/// aside). A rule can widen or narrow what members get from their other
/// groups, so changing the group, or a member's place in it, is as strong
/// as holding all of them.
pub fn reach(permissions: Permissions, rules: &[PageRule]) -> Permissions {
    rules
        .iter()
        .flat_map(|r| &r.permissions)
        .filter_map(|name| Permission::parse(name))
        .fold(permissions, |mut acc, p| {
            acc.insert(p);
            acc
        })
}

/// A page rule, checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckedRule {
    permissions: Permissions,
    path: String,
    deny: bool,
}

impl PageRule {
    /// Checks the rule; `index` names it in the error.
    pub fn check(&self, index: usize) -> Result<CheckedRule, Error> {
        let invalid = |reason: String| security::page_rule_invalid(index, reason);
        let mut permissions = Permissions::NONE;
        for name in &self.permissions {
            let p = parse_one(name)?;
            if !p.is_about_pages() {
                return Err(invalid(format!("\"{}\" is not about pages", p.name())));
            }
            if permissions.has_exactly(p) {
                return Err(invalid(format!("it names \"{}\" twice", p.name())));
            }
            permissions.insert(p);
        }
        if permissions.is_empty() {
            return Err(invalid("it names no permission".to_owned()));
        }
        if !is_clean_prefix(&self.path) {
            return Err(invalid(
                "the path must start with \"/\" and have no empty, \".\" or \"..\" segment, and at most 255 characters"
                    .to_owned(),
            ));
        }
        Ok(CheckedRule {
            permissions,
            path: self.path.clone(),
            deny: self.deny,
        })
    }
}

fn is_clean_prefix(path: &str) -> bool {
    path.len() <= 255
        && path.starts_with('/')
        && !path.chars().any(|c| c.is_control() || c == '\\')
        && path
            .trim_start_matches('/')
            .split('/')
            .enumerate()
            .all(|(i, segment)| {
                (i == 0 && path == "/")
                    || (!segment.is_empty() && segment != "." && segment != "..")
            })
}

/// What one group grants: its permissions, and its page rules.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Grant {
    /// The group's permissions.
    pub permissions: Permissions,
    /// Its page rules, weighed with those of the caller's other groups;
    /// shared by every member's copy of the grant.
    pub rules: std::sync::Arc<[CheckedRule]>,
}

impl Grant {
    /// The permissions some rule of the group denies somewhere.
    pub fn denied_somewhere(&self) -> Permissions {
        self.rules
            .iter()
            .filter(|r| r.deny)
            .fold(Permissions::NONE, |acc, r| acc.union(r.permissions))
    }
}

/// Whether a caller in groups with these `grants` has `p` on the page at
/// `path`, decided as Wiki.js's `checkAccess` does, across all of the
/// caller's groups at once: `manage:system` passes; otherwise some group
/// must hold `p`, and then the most specific rule about `p` matching the
/// path, from any group, decides: the longer prefix wins, and a deny wins
/// a tie. Unlike Wiki.js, a permission no rule speaks about is allowed
/// everywhere: rules narrow, they are not needed to grant.
pub fn grants_on(grants: &[Grant], p: Permission, path: &str) -> bool {
    let held = grants
        .iter()
        .fold(Permissions::NONE, |acc, g| acc.union(g.permissions));
    if held.has_exactly(Permission::ManageSystem) {
        return true;
    }
    if !held.has_exactly(p) {
        return false;
    }
    let mut best: Option<(usize, bool)> = None;
    for rule in grants.iter().flat_map(|g| g.rules.iter()) {
        if rule.permissions.has_exactly(p) && path_has_prefix(path, &rule.path) {
            let len = rule.path.len();
            best = match best {
                Some((l, deny)) if l > len || (l == len && deny) => Some((l, deny)),
                _ => Some((len, rule.deny)),
            };
        }
    }
    best.is_none_or(|(_, deny)| !deny)
}

/// `/docs` is a prefix of `/docs` and `/docs/a`, not of `/docsx`.
fn path_has_prefix(path: &str, prefix: &str) -> bool {
    prefix == "/"
        || path == prefix
        || path
            .strip_prefix(prefix)
            .is_some_and(|rest| rest.starts_with('/'))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn names_round_trip_and_manage_system_grants_all() {
        for p in Permission::ALL {
            assert_eq!(Permission::parse(p.name()), Some(*p));
        }
        let admin: Permissions = [Permission::ManageSystem].into_iter().collect();
        assert!(admin.grants(Permission::WritePages));
        assert!(!admin.has_exactly(Permission::WritePages));
        let set = Permissions::parse(&["read:pages", "write:pages"]).unwrap();
        assert_eq!(set.names(), ["read:pages", "write:pages"]);
        assert_eq!(Permissions::from_bits(set.bits()), set);
        assert_eq!(Permissions::from_stored(&set.to_stored()), set);
        assert_eq!(Permissions::from_stored("not json"), Permissions::NONE);
    }

    #[test]
    fn unknown_names_suggest_the_closest() {
        let err = Permissions::parse(&["write:page"]).unwrap_err();
        assert_eq!(err.id(), "security.permission_unknown");
        assert!(
            err.details()
                .iter()
                .any(|(k, v)| *k == "didYouMean" && v == "write:pages")
        );
        let err = Permissions::parse(&["fly:to-the-moon"]).unwrap_err();
        assert!(err.details().is_empty());
    }

    #[test]
    fn within_narrows_unless_the_bound_is_admin() {
        let asked = Permissions::parse(&["read:pages", "manage:users"]).unwrap();
        let user = Permissions::parse(&["read:pages"]).unwrap();
        assert_eq!(asked.within(user).names(), ["read:pages"]);
        let admin = Permissions::parse(&["manage:system"]).unwrap();
        assert_eq!(asked.within(admin), asked);
    }

    fn rule(perms: &[&str], path: &str, deny: bool) -> CheckedRule {
        PageRule {
            permissions: perms.iter().map(|s| (*s).to_owned()).collect(),
            path: path.to_owned(),
            deny,
        }
        .check(0)
        .unwrap()
    }

    #[test]
    fn page_rules_pick_the_longest_prefix_and_deny_wins_ties() {
        let grant = [Grant {
            permissions: Permissions::parse(&["read:pages", "write:pages"]).unwrap(),
            rules: vec![
                rule(&["write:pages"], "/", true),
                rule(&["write:pages"], "/docs", false),
                rule(&["write:pages"], "/docs/private", true),
                rule(&["read:pages"], "/secret", true),
                rule(&["read:pages"], "/secret", false),
            ]
            .into(),
        }];
        let on = |p, path| grants_on(&grant, p, path);
        assert!(!on(Permission::WritePages, "/home"));
        assert!(on(Permission::WritePages, "/docs"));
        assert!(on(Permission::WritePages, "/docs/a"));
        assert!(!on(Permission::WritePages, "/docsx"));
        assert!(!on(Permission::WritePages, "/docs/private/x"));
        assert!(on(Permission::ReadPages, "/home"));
        assert!(!on(Permission::ReadPages, "/secret/a"));
        assert!(!on(Permission::ManagePages, "/docs"));
    }

    #[test]
    fn an_allow_in_one_group_does_not_beat_a_deny_in_another() {
        let writers = Grant {
            permissions: Permissions::parse(&["read:pages", "write:pages"]).unwrap(),
            rules: vec![rule(&["write:pages"], "/", false)].into(),
        };
        let restricted = Grant {
            permissions: Permissions::parse(&["read:pages"]).unwrap(),
            rules: vec![rule(&["write:pages"], "/admin", true)].into(),
        };
        let both = [writers.clone(), restricted.clone()];
        assert!(grants_on(&both, Permission::WritePages, "/home"));
        assert!(
            !grants_on(&both, Permission::WritePages, "/admin/x"),
            "the more specific deny of the other group decides"
        );
        let equal = Grant {
            permissions: Permissions::parse(&["read:pages"]).unwrap(),
            rules: vec![rule(&["write:pages"], "/admin", false)].into(),
        };
        let tie = [writers.clone(), restricted.clone(), equal];
        assert!(
            !grants_on(&tie, Permission::WritePages, "/admin"),
            "at equal length, a deny beats an allow from another group"
        );
        let deeper = Grant {
            permissions: Permissions::NONE,
            rules: vec![rule(&["write:pages"], "/admin/open", false)].into(),
        };
        let opened = [writers, restricted, deeper];
        assert!(grants_on(&opened, Permission::WritePages, "/admin/open/a"));
        assert!(!grants_on(&opened, Permission::WritePages, "/admin/closed"));
        let outsider = [Grant {
            permissions: Permissions::NONE,
            rules: vec![rule(&["write:pages"], "/", false)].into(),
        }];
        assert!(
            !grants_on(&outsider, Permission::WritePages, "/a"),
            "a rule never grants a permission no group holds"
        );
    }

    #[test]
    fn page_rules_are_checked() {
        let bad = |perms: &[&str], path: &str| {
            PageRule {
                permissions: perms.iter().map(|s| (*s).to_owned()).collect(),
                path: path.to_owned(),
                deny: false,
            }
            .check(3)
            .unwrap_err()
            .id()
        };
        assert_eq!(bad(&["manage:users"], "/"), "security.page_rule_invalid");
        assert_eq!(bad(&[], "/"), "security.page_rule_invalid");
        assert_eq!(bad(&["read:pages"], "docs"), "security.page_rule_invalid");
        assert_eq!(
            bad(&["read:pages"], "/a/../b"),
            "security.page_rule_invalid"
        );
        assert_eq!(bad(&["read:pages"], "/a//b"), "security.page_rule_invalid");
        assert_eq!(bad(&["nope"], "/"), "security.permission_unknown");
    }

    proptest! {
        #[test]
        fn parsing_any_name_never_panics(name in ".{0,100}") {
            let _ = Permissions::parse(&[name]);
        }

        #[test]
        fn rules_never_grant_more_than_the_group(path in "(/[a-z]{1,3}){0,4}", deny: bool) {
            let grant = [Grant {
                permissions: Permissions::parse(&["read:pages"]).unwrap(),
                rules: vec![rule(&["write:pages"], "/", deny)].into(),
            }];
            prop_assert!(!grants_on(&grant, Permission::WritePages, &path));
        }
    }
}

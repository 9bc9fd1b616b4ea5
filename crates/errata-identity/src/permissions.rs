//! Permissions, the sets groups and tokens carry.

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
    // Wiki.js 2.5's: a page's own CSS and script run in readers' browsers.
    // Last, so that the bits of the others do not move.
    WriteStyles = "write:styles", true;
    WriteScripts = "write:scripts", true;
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

    proptest! {
        #[test]
        fn parsing_any_name_never_panics(name in ".{0,100}") {
            let _ = Permissions::parse(&[name]);
        }
    }
}

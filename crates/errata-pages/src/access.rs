//! Who may do what to a page: identity's page rules, asked about the
//! page's path, locale and tags.

use errata_identity::{PageTarget, Permission, Principal};

/// What page rules look at: where a page is and how it is tagged.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PageRef {
    /// Locale.
    pub locale: String,
    /// Path without leading slash.
    pub path: String,
    /// Tags.
    pub tags: Vec<String>,
}

impl PageRef {
    /// A place where no page is yet (a create's or a move's destination).
    pub fn at(locale: &str, path: &str, tags: &[String]) -> PageRef {
        PageRef {
            locale: locale.to_owned(),
            path: path.to_owned(),
            tags: tags.to_vec(),
        }
    }

    /// Whether `caller` has `p` on this page.
    pub fn allows(&self, caller: &Principal, p: Permission) -> bool {
        let path = format!("/{}", self.path);
        caller.has_on(
            p,
            &PageTarget {
                path: &path,
                locale: &self.locale,
                tags: &self.tags,
            },
        )
    }

    /// Whether `caller` has any of `ps` on this page.
    pub fn allows_any(&self, caller: &Principal, ps: &[Permission]) -> bool {
        ps.iter().any(|p| self.allows(caller, *p))
    }
}

impl crate::Page {
    /// Where the page is, for permission checks.
    pub fn reference(&self) -> PageRef {
        PageRef {
            locale: self.locale.clone(),
            path: self.path.clone(),
            tags: self.tags.iter().map(|t| t.tag.clone()).collect(),
        }
    }

    /// Whether `caller` may read it now: `read:pages` on it, and, unless
    /// published and inside its window, `write:pages` on it as well.
    pub fn readable_by(&self, caller: &Principal, now: i64) -> bool {
        let at = self.reference();
        at.allows(caller, Permission::ReadPages)
            && (self.is_visible_at(now) || at.allows(caller, Permission::WritePages))
    }
}

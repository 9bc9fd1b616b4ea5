//! Page rules: which pages a group's rule speaks about (Wiki.js's match
//! types START, EXACT, END, REGEX and TAG, and its locales), and the
//! decision a page check makes from the rules of all of a caller's groups.

use errata_catalog::Error;
use errata_errors::security;
use regex::{Regex, RegexBuilder};

use crate::permissions::{Permission, Permissions, parse_one};

/// How a rule's `path` picks pages: Wiki.js's `PageRuleMatch`.
#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize,
)]
#[serde(rename_all = "UPPERCASE")]
pub enum RuleMatch {
    /// The page is at the rule's path or under it. Rules stored before
    /// match types existed were all of this kind.
    #[default]
    Start,
    /// The page is at the rule's path.
    Exact,
    /// The page's path ends with the rule's, at a `/`.
    End,
    /// The rule's path is a pattern the page's path matches.
    Regex,
    /// The page carries the rule's path as a tag.
    Tag,
}

impl RuleMatch {
    /// Which of two matching rules of equal length decides, as in Wiki.js:
    /// EXACT > TAG > REGEX > END > START.
    fn rank(self) -> u8 {
        match self {
            RuleMatch::Start => 0,
            RuleMatch::End => 1,
            RuleMatch::Regex => 2,
            RuleMatch::Tag => 3,
            RuleMatch::Exact => 4,
        }
    }
}

/// A group's rule: page permissions it allows or denies on some pages.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct PageRule {
    /// The client's name for the rule: Wiki.js's admin sends one and
    /// expects it back. errata only keeps it.
    #[serde(default)]
    pub id: String,
    /// Page permissions the rule is about.
    pub permissions: Vec<String>,
    /// How `path` picks pages.
    #[serde(rename = "match", default)]
    pub matching: RuleMatch,
    /// A path (`/docs`; `/` for every page) for START, EXACT and END; a
    /// pattern for REGEX; a tag for TAG.
    pub path: String,
    /// Locale codes the rule is limited to; none for every locale.
    #[serde(default)]
    pub locales: Vec<String>,
    /// Deny instead of allow.
    #[serde(default)]
    pub deny: bool,
}

/// Locales one rule may be limited to.
pub const MAX_RULE_LOCALES: usize = 20;

/// What a REGEX rule may take compiled: a group keeps up to
/// `MAX_PAGE_RULES` of them, so a pattern such as `\w{50}` (a megabyte) is
/// refused rather than kept, while `^docs/\w+/[^/]{1,64}$` fits.
const REGEX_SIZE_LIMIT: usize = 128 * 1024;

/// The lazy DFA's cache, which each searching thread grows per pattern up
/// to this bound. Paths are short, so a search it cannot hold falls back to
/// the backtracker at little cost.
const REGEX_CACHE_LIMIT: usize = 32 * 1024;

/// The longest rule path, pattern, tag or id.
const MAX_RULE_TEXT: usize = 255;

/// A page rule, checked, its pattern compiled.
#[derive(Debug, Clone)]
pub struct CheckedRule {
    id: String,
    permissions: Permissions,
    matcher: Matcher,
    path: String,
    /// Lower-cased, so that a check compares without allocating.
    locales: Vec<String>,
    deny: bool,
    /// The path's length as Wiki.js counts it, for specificity.
    length: usize,
}

#[derive(Debug, Clone)]
enum Matcher {
    Start,
    Exact,
    End,
    Regex(Regex),
    Tag,
}

impl Matcher {
    fn kind(&self) -> RuleMatch {
        match self {
            Matcher::Start => RuleMatch::Start,
            Matcher::Exact => RuleMatch::Exact,
            Matcher::End => RuleMatch::End,
            Matcher::Regex(_) => RuleMatch::Regex,
            Matcher::Tag => RuleMatch::Tag,
        }
    }
}

/// The page a check is about.
#[derive(Debug, Clone, Copy)]
pub struct PageTarget<'a> {
    /// Its path, with one leading `/` and no trailing one: `/docs/intro`.
    pub path: &'a str,
    /// Its locale code: `en`.
    pub locale: &'a str,
    /// Its tags.
    pub tags: &'a [String],
}

impl PageRule {
    /// Checks the rule and compiles its pattern; `index` names it in the
    /// error (`security.page_rule_invalid`, with the reason).
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
        if self.id.chars().count() > MAX_RULE_TEXT || self.id.chars().any(char::is_control) {
            return Err(invalid(format!(
                "its id must have at most {MAX_RULE_TEXT} characters and no control character"
            )));
        }
        if self.locales.len() > MAX_RULE_LOCALES {
            return Err(invalid(format!(
                "it names more than {MAX_RULE_LOCALES} locales"
            )));
        }
        if let Some(i) = self.locales.iter().position(|l| !is_locale_code(l)) {
            return Err(invalid(format!(
                "locale {i} is not a locale code such as \"en\" or \"pt-br\""
            )));
        }
        let matcher = match self.matching {
            RuleMatch::Start | RuleMatch::Exact | RuleMatch::End if !is_clean_path(&self.path) => {
                return Err(invalid(format!(
                    "the path must start with \"/\" and have no empty, \".\" or \"..\" segment, and at most {MAX_RULE_TEXT} characters"
                )));
            }
            RuleMatch::Start => Matcher::Start,
            RuleMatch::Exact => Matcher::Exact,
            RuleMatch::End => Matcher::End,
            RuleMatch::Regex => Matcher::Regex(compile(&self.path).map_err(invalid)?),
            RuleMatch::Tag => {
                let length = self.path.chars().count();
                if length == 0 || length > MAX_RULE_TEXT || self.path.chars().any(char::is_control)
                {
                    return Err(invalid(format!(
                        "the tag must have 1 to {MAX_RULE_TEXT} characters and no control character"
                    )));
                }
                Matcher::Tag
            }
        };
        // Wiki.js's START, EXACT and END paths have no leading `/`; counted
        // without it, lengths compare with REGEX and TAG rules as they do
        // there, and `/`, like Wiki.js's empty path, weighs nothing.
        let length = match matcher {
            Matcher::Start | Matcher::Exact | Matcher::End => self.path.chars().count() - 1,
            Matcher::Regex(_) | Matcher::Tag => self.path.chars().count(),
        };
        Ok(CheckedRule {
            id: self.id.clone(),
            permissions,
            matcher,
            path: self.path.clone(),
            locales: self
                .locales
                .iter()
                .map(|l| l.to_ascii_lowercase())
                .collect(),
            deny: self.deny,
            length,
        })
    }
}

impl CheckedRule {
    /// The rule as it is stored: its permissions named once each, its
    /// locales lower-cased.
    pub fn to_rule(&self) -> PageRule {
        PageRule {
            id: self.id.clone(),
            permissions: self.permissions.names(),
            matching: self.matcher.kind(),
            path: self.path.clone(),
            locales: self.locales.clone(),
            deny: self.deny,
        }
    }

    /// Whether the rule speaks about `page`.
    fn matches(&self, page: &PageTarget<'_>) -> bool {
        if !self.locales.is_empty()
            && !self
                .locales
                .iter()
                .any(|l| l.eq_ignore_ascii_case(page.locale))
        {
            return false;
        }
        match &self.matcher {
            Matcher::Start => path_has_prefix(page.path, &self.path),
            Matcher::Exact => page.path == self.path,
            // The rule's path starts with `/`, so a suffix begins a segment.
            Matcher::End => self.path == "/" || page.path.ends_with(&self.path),
            // Wiki.js's page paths have no leading `/`, and its REGEX rules
            // are written for them.
            Matcher::Regex(pattern) => {
                pattern.is_match(page.path.strip_prefix('/').unwrap_or(page.path))
            }
            Matcher::Tag => page.tags.iter().any(|tag| same_tag(tag, &self.path)),
        }
    }

    /// How specific the rule is: the most specific matching rule decides.
    /// `true > false`, so that a deny wins a tie.
    fn specificity(&self) -> (usize, u8, bool) {
        (self.length, self.matcher.kind().rank(), self.deny)
    }
}

/// Compiles a REGEX rule's pattern, or says why not.
fn compile(pattern: &str) -> Result<Regex, String> {
    if pattern.chars().count() > MAX_RULE_TEXT {
        return Err(format!(
            "the pattern has more than {MAX_RULE_TEXT} characters"
        ));
    }
    RegexBuilder::new(pattern)
        .size_limit(REGEX_SIZE_LIMIT)
        .dfa_size_limit(REGEX_CACHE_LIMIT)
        .build()
        .map_err(|e| match e {
            regex::Error::CompiledTooBig(limit) => {
                format!("the pattern compiles to more than {limit} bytes")
            }
            other => {
                // The regex crate draws the pattern with a caret above its
                // message; the message alone fits in a sentence.
                let text = other.to_string();
                let last = text.lines().last().unwrap_or_default();
                format!(
                    "the pattern does not compile: {}",
                    last.trim_start_matches("error: ")
                )
            }
        })
}

fn is_clean_path(path: &str) -> bool {
    path.len() <= MAX_RULE_TEXT
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

/// `en`, `pt-br`, in any case.
fn is_locale_code(code: &str) -> bool {
    let letters = |s: &str| s.len() == 2 && s.bytes().all(|b| b.is_ascii_alphabetic());
    match code.split_once('-') {
        Some((language, region)) => letters(language) && letters(region),
        None => letters(code),
    }
}

fn same_tag(a: &str, b: &str) -> bool {
    a.chars()
        .flat_map(char::to_lowercase)
        .eq(b.chars().flat_map(char::to_lowercase))
}

/// `/docs` is a prefix of `/docs` and `/docs/a`, not of `/docsx`.
fn path_has_prefix(path: &str, prefix: &str) -> bool {
    prefix == "/"
        || path == prefix
        || path
            .strip_prefix(prefix)
            .is_some_and(|rest| rest.starts_with('/'))
}

/// Every permission a group with `permissions` and `rules` has a say in:
/// its own, and every one its rules name, to allow or deny (unknown names
/// aside), whatever pages the rules match. A rule can widen or narrow what
/// members get from their other groups, so changing the group, or a
/// member's place in it, is as strong as holding all of them.
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

/// What one group grants: its permissions, and its page rules.
#[derive(Debug, Clone)]
pub struct Grant {
    /// The group's permissions.
    permissions: Permissions,
    /// Its page rules, weighed with those of the caller's other groups;
    /// shared by every member's copy of the grant.
    rules: std::sync::Arc<[CheckedRule]>,
    /// A keyed hash of everything above a check reads, made once, when the
    /// group is read: callers' permission keys combine their groups'.
    fingerprint: u64,
}

impl Default for Grant {
    /// Nothing granted.
    fn default() -> Grant {
        Grant::new(Permissions::NONE, std::sync::Arc::from([]))
    }
}

impl Grant {
    /// A group's grant: its permissions and its checked rules.
    pub fn new(permissions: Permissions, rules: std::sync::Arc<[CheckedRule]>) -> Grant {
        use std::hash::{Hash, Hasher};
        let mut hasher = crate::principal::keyed_hasher();
        permissions.hash(&mut hasher);
        rules.len().hash(&mut hasher);
        for rule in rules.iter() {
            // Everything a check reads: the id is the client's name only,
            // and the length follows from the path.
            rule.permissions.hash(&mut hasher);
            rule.matcher.kind().hash(&mut hasher);
            rule.path.hash(&mut hasher);
            rule.locales.hash(&mut hasher);
            rule.deny.hash(&mut hasher);
        }
        Grant {
            permissions,
            rules,
            fingerprint: hasher.finish(),
        }
    }

    /// The group's permissions.
    pub fn permissions(&self) -> Permissions {
        self.permissions
    }

    /// Equal for two grants exactly when their permissions and rules are,
    /// but for a collision of a keyed hash no caller can aim at.
    pub fn fingerprint(&self) -> u64 {
        self.fingerprint
    }

    /// Whether some rule of the group matches pages by their tags, so that
    /// a page's tags must be known to decide what the group grants on it.
    pub fn reads_tags(&self) -> bool {
        self.rules
            .iter()
            .any(|r| r.matcher.kind() == RuleMatch::Tag)
    }

    /// The permissions some rule of the group denies on some page.
    pub fn denied_somewhere(&self) -> Permissions {
        self.rules
            .iter()
            .filter(|r| r.deny)
            .fold(Permissions::NONE, |acc, r| acc.union(r.permissions))
    }
}

/// Whether [`grants_on`] can depend on a page's tags for these `grants`:
/// some rule matches by tag, and `manage:system` does not pass first.
pub fn grants_read_tags(grants: &[Grant]) -> bool {
    let held = grants
        .iter()
        .fold(Permissions::NONE, |acc, g| acc.union(g.permissions));
    !held.has_exactly(Permission::ManageSystem) && grants.iter().any(Grant::reads_tags)
}

/// Whether a caller in groups with these `grants` has `p` on `page`,
/// decided as Wiki.js's `checkAccess` does, across all of the caller's
/// groups at once: `manage:system` passes; otherwise some group must hold
/// `p`, and then the most specific rule about `p` matching the page, from
/// any group, decides. A rule limited to locales other than the page's is
/// skipped. The longer rule path wins (START, EXACT and END paths counted
/// without their leading `/`, as Wiki.js stores them); at equal length
/// EXACT > TAG > REGEX > END > START; then a deny wins. A REGEX rule is
/// matched against the page's path without its leading `/`
/// (`docs/intro`), as in Wiki.js, so that its patterns keep working.
/// Unlike Wiki.js, a permission no rule matching the page speaks about is
/// allowed: rules narrow, they are not needed to grant.
pub fn grants_on(grants: &[Grant], p: Permission, page: &PageTarget<'_>) -> bool {
    let held = grants
        .iter()
        .fold(Permissions::NONE, |acc, g| acc.union(g.permissions));
    if held.has_exactly(Permission::ManageSystem) {
        return true;
    }
    if !held.has_exactly(p) {
        return false;
    }
    let mut best: Option<(usize, u8, bool)> = None;
    for rule in grants.iter().flat_map(|g| g.rules.iter()) {
        let specificity = rule.specificity();
        // A rule that could not win is not matched, which spares the
        // pattern searches of most REGEX rules.
        if rule.permissions.has_exactly(p)
            && best.is_none_or(|b| specificity > b)
            && rule.matches(page)
        {
            best = Some(specificity);
        }
    }
    best.is_none_or(|(_, _, deny)| !deny)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn rule(perms: &[&str], matching: RuleMatch, path: &str, deny: bool) -> CheckedRule {
        PageRule {
            permissions: perms.iter().map(|s| (*s).to_owned()).collect(),
            matching,
            path: path.to_owned(),
            deny,
            ..PageRule::default()
        }
        .check(0)
        .unwrap()
    }

    fn start(perms: &[&str], path: &str, deny: bool) -> CheckedRule {
        rule(perms, RuleMatch::Start, path, deny)
    }

    fn writers(rules: Vec<CheckedRule>) -> [Grant; 1] {
        [Grant::new(
            Permissions::parse(&["read:pages", "write:pages"]).unwrap(),
            rules.into(),
        )]
    }

    #[test]
    fn tags_matter_only_with_a_tag_rule_and_without_manage_system() {
        assert!(!grants_read_tags(&writers(vec![start(
            &["write:pages"],
            "/docs",
            true
        )])));
        let tagged = || rule(&["read:pages"], RuleMatch::Tag, "secret", true);
        assert!(grants_read_tags(&writers(vec![tagged()])));
        let admin = Grant::new(
            Permissions::parse(&["manage:system"]).unwrap(),
            std::sync::Arc::from([]),
        );
        let mut both = writers(vec![tagged()]).to_vec();
        both.push(admin);
        assert!(!grants_read_tags(&both));
    }

    fn page(path: &str) -> PageTarget<'_> {
        PageTarget {
            path,
            locale: "en",
            tags: &[],
        }
    }

    fn write_on(grants: &[Grant], target: &PageTarget<'_>) -> bool {
        grants_on(grants, Permission::WritePages, target)
    }

    fn refusal(rule: PageRule) -> String {
        let err = rule.check(3).unwrap_err();
        assert_eq!(err.id(), "security.page_rule_invalid");
        err.message().into_owned()
    }

    fn writing(matching: RuleMatch, path: &str) -> PageRule {
        PageRule {
            permissions: vec!["write:pages".into()],
            matching,
            path: path.into(),
            ..PageRule::default()
        }
    }

    #[test]
    fn rules_stored_before_match_types_read_as_start_for_every_locale() {
        let stored = r#"[{"permissions":["write:pages"],"path":"/docs","deny":true}]"#;
        let rules: Vec<PageRule> = serde_json::from_str(stored).unwrap();
        assert_eq!(rules[0].matching, RuleMatch::Start);
        assert!(rules[0].locales.is_empty());
        assert_eq!(rules[0].id, "");
        let json = serde_json::to_value(rules[0].check(0).unwrap().to_rule()).unwrap();
        assert_eq!(json["match"], "START");
        assert_eq!(json["locales"], serde_json::json!([]));
    }

    #[test]
    fn page_rules_pick_the_longest_prefix_and_deny_wins_ties() {
        let grant = writers(vec![
            start(&["write:pages"], "/", true),
            start(&["write:pages"], "/docs", false),
            start(&["write:pages"], "/docs/private", true),
            start(&["read:pages"], "/secret", true),
            start(&["read:pages"], "/secret", false),
        ]);
        let on = |p, path| grants_on(&grant, p, &page(path));
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
    fn exact_rules_match_only_their_path() {
        let grant = writers(vec![rule(
            &["write:pages"],
            RuleMatch::Exact,
            "/docs",
            true,
        )]);
        assert!(!write_on(&grant, &page("/docs")));
        assert!(write_on(&grant, &page("/docs/a")));
        assert!(write_on(&grant, &page("/doc")));
    }

    #[test]
    fn end_rules_match_whole_last_segments() {
        let grant = writers(vec![rule(&["write:pages"], RuleMatch::End, "/intro", true)]);
        assert!(!write_on(&grant, &page("/docs/intro")));
        assert!(!write_on(&grant, &page("/intro")));
        assert!(write_on(&grant, &page("/docs/xintro")));
        assert!(write_on(&grant, &page("/intro/docs")));
        let root = writers(vec![rule(&["write:pages"], RuleMatch::End, "/", true)]);
        assert!(
            !write_on(&root, &page("/a/b")),
            "`/` ends every path, as Wiki.js's empty path does"
        );
    }

    #[test]
    fn regex_rules_see_the_path_without_its_leading_slash() {
        let grant = writers(vec![rule(
            &["write:pages"],
            RuleMatch::Regex,
            "^docs/[a-z]+$",
            true,
        )]);
        assert!(!write_on(&grant, &page("/docs/intro")));
        assert!(write_on(&grant, &page("/docs/intro/more")));
        assert!(write_on(&grant, &page("/blog/docs/intro")));
        let slashed = writers(vec![rule(
            &["write:pages"],
            RuleMatch::Regex,
            "^/docs",
            true,
        )]);
        assert!(write_on(&slashed, &page("/docs/intro")));
    }

    #[test]
    fn tag_rules_match_a_tag_in_any_case() {
        let grant = writers(vec![rule(&["write:pages"], RuleMatch::Tag, "Draft", true)]);
        let tags = ["published".to_owned(), "DRAFT".to_owned()];
        let tagged = PageTarget {
            tags: &tags,
            ..page("/a")
        };
        assert!(!write_on(&grant, &tagged));
        assert!(write_on(&grant, &page("/Draft")));
        let other = ["drafts".to_owned()];
        assert!(write_on(
            &grant,
            &PageTarget {
                tags: &other,
                ..page("/a")
            }
        ));
    }

    #[test]
    fn rules_limited_to_locales_skip_pages_in_others() {
        let limited = PageRule {
            locales: vec!["FR".into(), "pt-BR".into()],
            deny: true,
            ..writing(RuleMatch::Start, "/")
        };
        let grant = writers(vec![limited.check(0).unwrap()]);
        for locale in ["fr", "Fr", "pt-br", "PT-BR"] {
            assert!(
                !write_on(
                    &grant,
                    &PageTarget {
                        locale,
                        ..page("/a")
                    }
                ),
                "{locale}"
            );
        }
        for locale in ["en", "pt", "br"] {
            assert!(
                write_on(
                    &grant,
                    &PageTarget {
                        locale,
                        ..page("/a")
                    }
                ),
                "{locale}"
            );
        }
        assert_eq!(
            limited.check(0).unwrap().to_rule().locales,
            ["fr", "pt-br"],
            "stored lower-cased"
        );
    }

    #[test]
    fn at_equal_length_exact_beats_tag_beats_regex_beats_end_beats_start() {
        // All five are four characters long and match the page; each
        // stronger type flips the decision.
        let order = [
            rule(&["write:pages"], RuleMatch::Start, "/docs", true),
            rule(&["write:pages"], RuleMatch::End, "/docs", false),
            rule(&["write:pages"], RuleMatch::Regex, "docs", true),
            rule(&["write:pages"], RuleMatch::Tag, "docs", false),
            rule(&["write:pages"], RuleMatch::Exact, "/docs", true),
        ];
        let tags = ["docs".to_owned()];
        let target = PageTarget {
            tags: &tags,
            ..page("/docs")
        };
        for n in 1..=order.len() {
            let mut rules = order[..n].to_vec();
            rules.reverse();
            let expected = !order[n - 1].deny;
            assert_eq!(write_on(&writers(rules), &target), expected, "{n} rules");
        }
    }

    #[test]
    fn a_longer_rule_beats_a_stronger_type() {
        let tags = ["x".to_owned()];
        let target = PageTarget {
            tags: &tags,
            ..page("/docs/intro")
        };
        let grant = writers(vec![
            rule(&["write:pages"], RuleMatch::Tag, "x", true),
            rule(&["write:pages"], RuleMatch::Start, "/docs", false),
        ]);
        assert!(write_on(&grant, &target));
        // `/abcd` counts four characters, as Wiki.js's `abcd`: a tie that
        // REGEX wins.
        let grant = writers(vec![
            rule(&["write:pages"], RuleMatch::Start, "/abcd", false),
            rule(&["write:pages"], RuleMatch::Regex, "abcd", true),
        ]);
        assert!(!write_on(&grant, &page("/abcd")));
    }

    #[test]
    fn at_equal_length_and_type_a_deny_wins() {
        for matching in [RuleMatch::Start, RuleMatch::End, RuleMatch::Exact] {
            let grant = writers(vec![
                rule(&["write:pages"], matching, "/a", false),
                rule(&["write:pages"], matching, "/a", true),
            ]);
            assert!(!write_on(&grant, &page("/a")), "{matching:?}");
        }
        let grant = writers(vec![
            rule(&["write:pages"], RuleMatch::Regex, "^a", true),
            rule(&["write:pages"], RuleMatch::Regex, "a$", false),
        ]);
        assert!(!write_on(&grant, &page("/a")));
    }

    #[test]
    fn an_allow_in_one_group_does_not_beat_a_deny_in_another() {
        let writers = Grant::new(
            Permissions::parse(&["read:pages", "write:pages"]).unwrap(),
            vec![start(&["write:pages"], "/", false)].into(),
        );
        let restricted = Grant::new(
            Permissions::parse(&["read:pages"]).unwrap(),
            vec![start(&["write:pages"], "/admin", true)].into(),
        );
        let both = [writers.clone(), restricted.clone()];
        assert!(write_on(&both, &page("/home")));
        assert!(
            !write_on(&both, &page("/admin/x")),
            "the more specific deny of the other group decides"
        );
        let equal = Grant::new(
            Permissions::parse(&["read:pages"]).unwrap(),
            vec![start(&["write:pages"], "/admin", false)].into(),
        );
        let tie = [writers.clone(), restricted.clone(), equal];
        assert!(
            !write_on(&tie, &page("/admin")),
            "at equal length, a deny beats an allow from another group"
        );
        let deeper = Grant::new(
            Permissions::NONE,
            vec![start(&["write:pages"], "/admin/open", false)].into(),
        );
        let opened = [writers, restricted, deeper];
        assert!(write_on(&opened, &page("/admin/open/a")));
        assert!(!write_on(&opened, &page("/admin/closed")));
        let outsider = [Grant::new(
            Permissions::NONE,
            vec![start(&["write:pages"], "/", false)].into(),
        )];
        assert!(
            !write_on(&outsider, &page("/a")),
            "a rule never grants a permission no group holds"
        );
    }

    #[test]
    fn page_rules_are_checked() {
        let bad = |perms: &[&str], path: &str| {
            PageRule {
                permissions: perms.iter().map(|s| (*s).to_owned()).collect(),
                path: path.to_owned(),
                ..PageRule::default()
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
        for matching in [RuleMatch::Exact, RuleMatch::End] {
            refusal(writing(matching, "docs"));
            refusal(writing(matching, "/docs/"));
        }
    }

    #[test]
    fn a_regex_that_does_not_compile_is_refused_with_the_reason() {
        let message = refusal(writing(RuleMatch::Regex, "^docs/(private"));
        assert!(message.starts_with("Page rule 3 is invalid"), "{message}");
        assert!(message.contains("unclosed group"), "{message}");
        let message = refusal(writing(RuleMatch::Regex, "^(?=docs)"));
        assert!(message.contains("look-around"), "{message}");
    }

    #[test]
    fn a_huge_regex_is_refused() {
        for pattern in [r"\w{50}", "(?:a{255}){255}", r"[\w\d]{100}"] {
            let message = refusal(writing(RuleMatch::Regex, pattern));
            assert!(message.contains("compiles to more than"), "{message}");
        }
        let message = refusal(writing(RuleMatch::Regex, &"a".repeat(256)));
        assert!(message.contains("more than 255 characters"), "{message}");
        writing(RuleMatch::Regex, &"a".repeat(255))
            .check(0)
            .unwrap();
        writing(RuleMatch::Regex, r"^docs/\w+/[^/]{1,64}$")
            .check(0)
            .unwrap();
    }

    #[test]
    fn tags_locales_and_ids_are_bounded() {
        refusal(writing(RuleMatch::Tag, ""));
        refusal(writing(RuleMatch::Tag, "a\u{7}b"));
        refusal(writing(RuleMatch::Tag, &"é".repeat(256)));
        writing(RuleMatch::Tag, &"é".repeat(255)).check(0).unwrap();
        writing(RuleMatch::Tag, "not a path").check(0).unwrap();
        let with_locales = |locales: &[&str]| PageRule {
            locales: locales.iter().map(|s| (*s).to_owned()).collect(),
            ..writing(RuleMatch::Start, "/")
        };
        for locale in ["english", "e", "en-", "en_us", "en-usa", "-en", "12", "én"] {
            refusal(with_locales(&[locale]));
        }
        with_locales(&["en", "EN", "zh-TW"]).check(0).unwrap();
        with_locales(&["en"; MAX_RULE_LOCALES]).check(0).unwrap();
        refusal(with_locales(&["en"; MAX_RULE_LOCALES + 1]));
        let with_id = |id: String| PageRule {
            id,
            ..writing(RuleMatch::Start, "/")
        };
        with_id("V1StGXR8_Z5jdHi6B-myT".into()).check(0).unwrap();
        refusal(with_id("a".repeat(256)));
        refusal(with_id("a\nb".into()));
    }

    /// A drawn rule: group, write (else read), match type, path, locale,
    /// deny.
    type Drawn = (usize, bool, usize, usize, usize, bool);

    fn drawn_rule((_, write, kind, path, locale, deny): Drawn) -> CheckedRule {
        let (matching, paths) = [
            (RuleMatch::Start, ["/", "/a", "/a/b", "/b"]),
            (RuleMatch::Exact, ["/", "/a", "/a/b", "/b"]),
            (RuleMatch::End, ["/", "/a", "/a/b", "/b"]),
            (RuleMatch::Regex, ["^a", "b$", "^a/b$", "a|b"]),
            (RuleMatch::Tag, ["a", "b", "A", "c"]),
        ][kind];
        PageRule {
            permissions: vec![if write { "write:pages" } else { "read:pages" }.to_owned()],
            matching,
            path: paths[path].to_owned(),
            locales: [vec![], vec!["en".to_owned()], vec!["FR".to_owned()]][locale].clone(),
            deny,
            ..PageRule::default()
        }
        .check(0)
        .unwrap()
    }

    fn grants_of(rules: &[Drawn], groups: usize) -> Vec<Grant> {
        (0..groups)
            .map(|g| {
                Grant::new(
                    Permissions::parse(&["read:pages", "write:pages"]).unwrap(),
                    rules
                        .iter()
                        .filter(|r| r.0 % groups == g)
                        .map(|r| drawn_rule(*r))
                        .collect::<Vec<_>>()
                        .into(),
                )
            })
            .collect()
    }

    fn drawn_rules() -> impl Strategy<Value = (Vec<Drawn>, Vec<Drawn>)> {
        proptest::collection::vec(
            (
                0..3usize,
                any::<bool>(),
                0..5usize,
                0..4usize,
                0..3usize,
                any::<bool>(),
            ),
            0..12,
        )
        .prop_flat_map(|rules| (Just(rules.clone()), Just(rules).prop_shuffle()))
    }

    proptest! {
        #[test]
        fn rules_never_grant_more_than_the_group(path in "(/[a-z]{1,3}){0,4}", deny: bool) {
            let grant = [Grant::new(Permissions::parse(&["read:pages"]).unwrap(), vec![start(&["write:pages"], "/", deny)].into())];
            prop_assert!(!write_on(&grant, &page(&path)));
        }

        #[test]
        fn the_decision_never_depends_on_the_order_of_rules_or_groups(
            (rules, shuffled) in drawn_rules(),
            groups in 1..4usize,
            path in prop::sample::select(vec!["/", "/a", "/a/b", "/b", "/c/a", "/b/a/b"]),
            locale in prop::sample::select(vec!["en", "fr", "de"]),
            tags in prop::sample::subsequence(vec!["a".to_owned(), "b".to_owned(), "c".to_owned()], 0..3),
        ) {
            let target = PageTarget { path, locale, tags: &tags };
            let grants = grants_of(&rules, groups);
            let mut reordered = grants_of(&shuffled, groups);
            reordered.reverse();
            for p in [Permission::ReadPages, Permission::WritePages] {
                prop_assert_eq!(
                    grants_on(&grants, p, &target),
                    grants_on(&reordered, p, &target)
                );
            }
        }

        #[test]
        fn checking_any_pattern_never_panics(pattern in ".{0,300}") {
            let _ = writing(RuleMatch::Regex, &pattern).check(0);
        }
    }
}

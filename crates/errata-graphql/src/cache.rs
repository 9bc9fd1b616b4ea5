//! Whole-response caching, from `@cacheControl` hints in the schema.
//!
//! The policy of an operation follows Apollo Server's cache-control rules:
//! a field's own hint wins; a field returning an object takes its type's
//! hint; a field returning a scalar or an enum inherits its parent's; a root
//! field or an object field with no hint makes the whole answer uncacheable.
//! The operation's age is the smallest of its fields', and its [`Scope`] the
//! narrowest: public; per permission set when a field carries a permission
//! directive (`PipelineOptions::permission_directives`, such as the
//! server's `@requires`); private when a field carries a personal one
//! (`PipelineOptions::personal_directives`, such as `@authenticated`) or a
//! `scope: PRIVATE` hint.
//!
//! A public answer is kept, per document, operation, variables and locale,
//! for its age, as a [`Template`] with holes for the request id: the cache
//! never replays one request's id to another. A per-permission answer is
//! kept the same way, its key also holding the caller's permission key
//! ([`for_permissions`]), so that callers who may do the same things share
//! it; a private one is never kept. Answers with errors a server caused
//! (5xx classes, or a logged cause) are never kept.

use std::collections::HashSet;
use std::num::NonZeroUsize;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use async_graphql::parser::types::OperationType;
use errata_catalog::Class;
use sha2::{Digest, Sha256};

pub use crate::model::Scope;
use crate::model::{CacheHint, SchemaModel};
use crate::response::Template;
use crate::syntax::ast::{Document, OperationDefinition, Selection, SelectionSet};
use crate::weighed::WeighedLru;

/// How long, and for whom, an operation's answer may be reused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Policy {
    /// Seconds; 0 means not at all.
    pub max_age: u32,
    /// Whom it may be shared with.
    pub scope: Scope,
}

impl Policy {
    /// Not to be kept.
    pub const NONE: Policy = Policy {
        max_age: 0,
        scope: Scope::Public,
    };

    /// The `Cache-Control` value, when the answer may be reused at all. A
    /// per-permission answer is `private` too: a shared HTTP cache would
    /// give it to callers whose permissions it cannot tell.
    pub fn header(&self) -> Option<String> {
        (self.max_age > 0).then(|| {
            let scope = match self.scope {
                Scope::Public => "public",
                Scope::Permissions | Scope::Private => "private",
            };
            format!("{scope}, max-age={}", self.max_age)
        })
    }

    fn merge(self, hint: CacheHint) -> Policy {
        let scope = if hint.private {
            Scope::Private
        } else {
            Scope::Public
        };
        Policy {
            max_age: self.max_age.min(hint.max_age),
            scope: self.scope.max(scope),
        }
    }
}

/// The policy of `operation`, from the schema's hints.
pub fn policy(model: &SchemaModel, doc: &Document, operation: &OperationDefinition) -> Policy {
    let Some(root) = model.root(operation.kind) else {
        return Policy::NONE;
    };
    let mut walk = Walk {
        model,
        fragments: doc.fragments(),
        seen: HashSet::new(),
        policy: Policy {
            max_age: u32::MAX,
            scope: Scope::Public,
        },
    };
    walk.set(&operation.selection_set, &root.name, None);
    if walk.policy.max_age == u32::MAX {
        return Policy::NONE;
    }
    walk.policy
}

struct Walk<'a> {
    model: &'a SchemaModel,
    fragments: std::collections::HashMap<&'a str, &'a crate::syntax::ast::FragmentDefinition>,
    seen: HashSet<&'a str>,
    policy: Policy,
}

impl<'a> Walk<'a> {
    /// `inherited` is the hint scalar fields of this set take: `None` at the root.
    fn set(&mut self, set: &'a SelectionSet, parent: &str, inherited: Option<CacheHint>) {
        for item in &set.items {
            match item {
                Selection::Field(field) => {
                    let name = field.name.value.as_str();
                    if name == "__typename" {
                        continue;
                    }
                    let Some(def) = self.model.get(parent).and_then(|t| t.field(name)) else {
                        // Introspection, or a field validation refused.
                        self.policy = Policy::NONE;
                        continue;
                    };
                    let returned = self.model.get(def.ty.named());
                    let composite = returned.is_some_and(|t| t.is_composite());
                    let hint = def
                        .cache
                        .or_else(|| {
                            if composite {
                                returned.and_then(|t| t.cache)
                            } else {
                                None
                            }
                        })
                        .or(if composite { None } else { inherited });
                    match hint {
                        Some(hint) => self.policy = self.policy.merge(hint),
                        None => self.policy = Policy::NONE,
                    }
                    self.policy.scope = self.policy.scope.max(def.scope);
                    if let Some(sub) = &field.selection_set {
                        let ty = def.ty.named().to_owned();
                        self.set(sub, &ty, hint);
                    }
                }
                Selection::InlineFragment(fragment) => {
                    let on = fragment
                        .type_condition
                        .as_ref()
                        .map_or(parent, |t| t.value.as_str())
                        .to_owned();
                    self.set(&fragment.selection_set, &on, inherited);
                }
                Selection::FragmentSpread(spread) => {
                    let name = spread.name.value.as_str();
                    if let Some(fragment) = self.fragments.get(name).copied()
                        && self.seen.insert(name)
                    {
                        let on = fragment.type_condition.value.clone();
                        self.set(&fragment.selection_set, &on, inherited);
                    }
                }
            }
        }
    }
}

/// A kept answer.
struct Entry {
    kept: Kept,
    expires: Instant,
}

/// An answer to keep: an executed one, or the refusal of a document.
#[derive(Debug)]
pub struct Kept {
    /// The body, with holes for the request id.
    pub body: Template,
    /// The status it was sent with.
    pub status: u16,
    /// The errors it holds, so that a replay counts them as a run would.
    pub errors: Arc<[(u32, Class)]>,
    /// The kind of operation; `None` for a refused document.
    pub operation: Option<OperationType>,
    /// Seconds it stays true.
    pub max_age: u32,
    /// The `Cache-Control` value a replay is sent with.
    pub cache_control: Option<String>,
}

impl Kept {
    /// The heap bytes it holds.
    fn weight(&self) -> usize {
        self.body.weight()
            + std::mem::size_of_val::<[(u32, Class)]>(&self.errors)
            + self.cache_control.as_ref().map_or(0, String::capacity)
    }
}

/// What a hit gives back.
#[derive(Debug, Clone)]
pub struct Hit {
    /// The body, with this request's id.
    pub body: Vec<u8>,
    /// Its status.
    pub status: u16,
    /// The errors in it, by code and class.
    pub errors: Arc<[(u32, Class)]>,
    /// The kind of operation; `None` for a refused document.
    pub operation: Option<OperationType>,
    /// The `Cache-Control` value.
    pub cache_control: Option<String>,
}

/// What a kept answer is found by: the SHA-256 of everything the answer
/// depends on. The request's bytes are not kept: a body of a megabyte costs
/// 32 bytes of key, and two requests share a key only if SHA-256 collides.
pub type Key = [u8; 32];

/// Answers kept by key, in an LRU bounded by entries and by bytes.
pub struct ResponseCache {
    /// The answers, and the generation they belong to: [`ResponseCache::clear`]
    /// starts a new one, and an answer computed during an older one (which
    /// may have read data the clearing change replaced) is not kept.
    entries: Mutex<(WeighedLru<Key, Entry>, u64)>,
}

impl std::fmt::Debug for ResponseCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ResponseCache").finish_non_exhaustive()
    }
}

/// Feeds `part` to `hasher` after its length, so that no two different
/// lists of parts run together into the same bytes.
fn framed(hasher: &mut Sha256, part: &[u8]) {
    hasher.update((part.len() as u64).to_le_bytes());
    hasher.update(part);
}

/// The key of an answer by what it depends on, besides the schema's data.
pub fn key(query: &str, operation: Option<&str>, variables: &[u8], locale: Option<&str>) -> Key {
    let mut hasher = Sha256::new();
    framed(&mut hasher, query.as_bytes());
    framed(&mut hasher, operation.unwrap_or("\0").as_bytes());
    framed(&mut hasher, variables);
    framed(&mut hasher, locale.unwrap_or("").as_bytes());
    hasher.finalize().into()
}

/// The key of a POST answer by its body's bytes: a repeated body is found
/// before it is decoded or parsed. Any difference in the bytes (spacing, the
/// order of members) is another key, and only costs a miss.
/// The media type is part of it: a refusal's status depends on it.
pub fn post_key(body: &[u8], locale: Option<&str>, media: crate::Media) -> Key {
    let mut hasher = Sha256::new();
    // The tag keeps these keys apart from those of `key`, whose first part,
    // the query's length, is never `u64::MAX`.
    hasher.update(u64::MAX.to_le_bytes());
    framed(&mut hasher, body);
    hasher.update(match media {
        crate::Media::Json => b"j",
        crate::Media::GraphqlResponseJson => b"g",
    });
    hasher.update(locale.unwrap_or("").as_bytes());
    hasher.finalize().into()
}

/// The key of a per-permission answer: `key`, the key of the request as
/// for a public answer, made the caller's permission set's own. A tag sets
/// these apart from the keys they are made from, which are SHA-256 digests
/// of other bytes.
pub fn for_permissions(key: &Key, permission_key: u64) -> Key {
    let mut hasher = Sha256::new();
    hasher.update(b"permissions");
    hasher.update(key);
    hasher.update(permission_key.to_le_bytes());
    hasher.finalize().into()
}

impl ResponseCache {
    /// A cache of `entries` answers weighing at most `bytes`; `None` for no
    /// entries, which turns it off.
    pub fn new(entries: usize, bytes: usize) -> Option<ResponseCache> {
        NonZeroUsize::new(entries).map(|entries| ResponseCache {
            entries: Mutex::new((WeighedLru::new(entries, bytes), 0)),
        })
    }

    /// The answer kept for `key`, with `request_id` in it, if still fresh.
    pub fn get(&self, key: &Key, request_id: &str) -> Option<Hit> {
        let mut entries = self.entries.lock().ok()?;
        let entry = entries.0.get(key)?;
        if entry.expires <= Instant::now() {
            entries.0.pop(key);
            return None;
        }
        let kept = &entry.kept;
        Some(Hit {
            body: kept.body.fill(request_id, 0),
            status: kept.status,
            errors: Arc::clone(&kept.errors),
            operation: kept.operation,
            cache_control: kept.cache_control.clone(),
        })
    }

    /// Keeps an answer for its age, unless it weighs more than the whole cache.
    pub fn put(&self, key: Key, kept: Kept) {
        let generation = self.generation();
        self.put_since(key, kept, generation);
    }

    /// Keeps `kept` if no [`ResponseCache::clear`] came since `generation`
    /// was read, before the answer was computed.
    pub fn put_since(&self, key: Key, kept: Kept, generation: u64) {
        let weight = kept.weight();
        let entry = Entry {
            expires: Instant::now() + Duration::from_secs(u64::from(kept.max_age)),
            kept,
        };
        if let Ok(mut entries) = self.entries.lock()
            && entries.1 == generation
        {
            entries.0.put(key, entry, weight);
        }
    }

    /// The current generation, to pass to [`ResponseCache::put_since`].
    pub fn generation(&self) -> u64 {
        self.entries.lock().map_or(u64::MAX, |e| e.1)
    }

    /// Forgets every answer: data they were computed from has changed.
    pub fn clear(&self) {
        if let Ok(mut entries) = self.entries.lock() {
            entries.0.clear();
            entries.1 = entries.1.wrapping_add(1);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::syntax::ast::Definition;

    const SDL: &str = r#"
        directive @cacheControl(maxAge: Int!, scope: CacheScope) on FIELD_DEFINITION | OBJECT
        directive @requires(permission: String!) on FIELD_DEFINITION
        directive @authenticated on FIELD_DEFINITION
        enum CacheScope { PUBLIC PRIVATE }
        type Query {
          catalog: Catalog!
          clock: Int!
          short: Catalog! @cacheControl(maxAge: 5)
          allowed: Catalog @requires(permission: "read:users")
          mine: Catalog @authenticated
          both: Catalog @requires(permission: "read:users") @authenticated
          node: Node
        }
        type Catalog @cacheControl(maxAge: 3600) {
          name: String!
          entry: Entry
          volatile: Entry @cacheControl(maxAge: 0)
        }
        type Entry @cacheControl(maxAge: 600) { id: String! secret: Secret }
        type Secret @cacheControl(maxAge: 60, scope: PRIVATE) { value: String! }
        interface Node { id: String! }
    "#;

    fn kept(body: Template, max_age: u32, cache_control: Option<String>) -> Kept {
        Kept {
            body,
            status: 200,
            errors: Arc::from([]),
            operation: Some(OperationType::Query),
            max_age,
            cache_control,
        }
    }

    fn policy_of(query: &str) -> Policy {
        policy_with(query, &["requires"], &["authenticated"])
    }

    fn policy_with(query: &str, permission: &[&str], personal: &[&str]) -> Policy {
        let model = SchemaModel::from_sdl_with(SDL, permission, personal).unwrap();
        let doc = crate::syntax::parser::parse(query).unwrap();
        let operation = doc
            .definitions
            .iter()
            .find_map(|d| match d {
                Definition::Operation(op) => Some(op),
                _ => None,
            })
            .unwrap();
        policy(&model, &doc, operation)
    }

    #[test]
    fn types_fields_and_scalars_give_the_smallest_age() {
        assert_eq!(policy_of("{ catalog { name } }").max_age, 3600);
        assert_eq!(policy_of("{ catalog { name entry { id } } }").max_age, 600);
        assert_eq!(policy_of("{ short { name } }").max_age, 5);
        assert_eq!(
            policy_of("{ catalog { ...F } } fragment F on Catalog { entry { id __typename } }")
                .max_age,
            600
        );
        assert_eq!(
            policy_of("{ catalog { ... on Catalog { entry { id } } } }").max_age,
            600
        );
    }

    #[test]
    fn a_field_without_a_hint_makes_the_answer_uncacheable() {
        assert_eq!(policy_of("{ clock }").max_age, 0);
        assert_eq!(policy_of("{ catalog { name } clock }").max_age, 0);
        assert_eq!(policy_of("{ catalog { volatile { id } } }").max_age, 0);
        assert_eq!(policy_of("{ node { id } }").max_age, 0);
        assert_eq!(policy_of("{ __schema { queryType { name } } }").max_age, 0);
        assert_eq!(policy_of("{ __typename }").max_age, 0);
        assert_eq!(Policy::NONE.header(), None);
    }

    #[test]
    fn private_hints_and_personal_fields_make_the_answer_private() {
        let p = policy_of("{ catalog { entry { secret { value } } } }");
        assert_eq!((p.max_age, p.scope), (60, Scope::Private));
        assert_eq!(p.header().as_deref(), Some("private, max-age=60"));
        let p = policy_of("{ mine { name } }");
        assert_eq!((p.max_age, p.scope), (3600, Scope::Private));
        let p = policy_of("{ both { name } }");
        assert_eq!(p.scope, Scope::Private, "personal wins over permission");
        let p = policy_with("{ mine { name } }", &[], &[]);
        assert_eq!(
            (p.max_age, p.scope),
            (3600, Scope::Public),
            "a directive nobody named says nothing about the caller"
        );
        assert_eq!(
            policy_of("{ catalog { name } }").header().as_deref(),
            Some("public, max-age=3600")
        );
    }

    #[test]
    fn permission_fields_make_the_answer_the_permission_sets() {
        let p = policy_of("{ allowed { name } catalog { name } }");
        assert_eq!((p.max_age, p.scope), (3600, Scope::Permissions));
        assert_eq!(
            p.header().as_deref(),
            Some("private, max-age=3600"),
            "shared HTTP caches cannot tell permission sets apart"
        );
        let p = policy_of("{ allowed { name } mine { name } }");
        assert_eq!(p.scope, Scope::Private, "the narrowest scope wins");
        let p = policy_of("{ allowed { entry { secret { value } } } }");
        assert_eq!(p.scope, Scope::Private);
        let base = key("{ a }", None, b"{}", None);
        assert_ne!(for_permissions(&base, 1), for_permissions(&base, 2));
        assert_ne!(for_permissions(&base, 1), base);
        assert_ne!(
            for_permissions(&base, 1),
            for_permissions(&key("{ b }", None, b"{}", None), 1)
        );
    }

    #[test]
    fn the_cache_keeps_answers_by_key_and_fills_in_each_request_id() {
        let cache = ResponseCache::new(2, 1 << 20).unwrap();
        let body = Template::cut(b"{\"id\":\"\\u0002\"}", 1, 0).unwrap();
        let k = key("{ a }", None, b"{}", None);
        let header = Some("public, max-age=60".to_owned());
        cache.put(k, kept(body, 60, header));
        let hit = cache.get(&k, "r-2").unwrap();
        assert_eq!(hit.body, b"{\"id\":\"r-2\"}");
        assert_eq!(hit.cache_control.as_deref(), Some("public, max-age=60"));
        assert!(
            cache
                .get(&key("{ a }", None, b"{}", Some("fr")), "r")
                .is_none()
        );
        assert!(
            cache
                .get(&key("{ a }", Some("A"), b"{}", None), "r")
                .is_none()
        );
        assert!(
            cache
                .get(&key("{ a }", None, b"{\"x\":1}", None), "r")
                .is_none()
        );
        assert_ne!(key("ab", None, b"c", None), key("a", None, b"bc", None));
        let json = crate::Media::Json;
        assert_ne!(
            post_key(b"{}", None, json),
            post_key(b"{}", Some("fr"), json)
        );
        assert_ne!(
            post_key(b"{}", None, json),
            post_key(b"{}", None, crate::Media::GraphqlResponseJson)
        );
        assert_ne!(post_key(b"{}", None, json), key("{}", None, b"", None));
        assert!(ResponseCache::new(0, 1 << 20).is_none());
    }

    fn answer(bytes: usize) -> Kept {
        let text = format!("{{\"data\":\"{}\",\"id\":\"\\u0002\"}}", "x".repeat(bytes));
        kept(Template::cut(text.as_bytes(), 1, 0).unwrap(), 60, None)
    }

    #[test]
    fn clearing_forgets_answers_and_refuses_those_computed_before_it() {
        let cache = ResponseCache::new(100, 1 << 20).unwrap();
        let (a, b) = (
            post_key(b"a", None, crate::Media::Json),
            post_key(b"b", None, crate::Media::Json),
        );
        cache.put(a, answer(10));
        let started = cache.generation();
        cache.clear();
        assert!(cache.get(&a, "r").is_none(), "cleared");
        cache.put_since(b, answer(10), started);
        assert!(
            cache.get(&b, "r").is_none(),
            "computed before the change, from data it replaced"
        );
        cache.put_since(b, answer(10), cache.generation());
        assert!(cache.get(&b, "r").is_some());
    }

    #[test]
    fn answers_are_kept_within_a_byte_budget() {
        let cache = ResponseCache::new(100, 3000).unwrap();
        let heavy = key("{ heavy }", None, b"{}", None);
        cache.put(heavy, answer(3000));
        assert!(
            cache.get(&heavy, "r").is_none(),
            "heavier than the whole cache"
        );
        let (a, b, c) = (
            post_key(b"a", None, crate::Media::Json),
            post_key(b"b", None, crate::Media::Json),
            post_key(b"c", None, crate::Media::Json),
        );
        cache.put(a, answer(1000));
        cache.put(b, answer(1000));
        assert!(
            cache.get(&a, "r").is_some(),
            "a is now the most recently used"
        );
        cache.put(c, answer(1000));
        assert!(cache.get(&b, "r").is_none(), "b made room for c");
        assert!(cache.get(&a, "r").is_some() && cache.get(&c, "r").is_some());
        assert!(cache.entries.lock().unwrap().0.bytes() <= 3000);
    }

    #[test]
    fn a_megabyte_body_costs_a_key_of_32_bytes() {
        let cache = ResponseCache::new(100, 1 << 20).unwrap();
        let body = format!("{{\"query\":\"# {}\\n{{ a }}\"}}", "x".repeat(1 << 20));
        let k = post_key(body.as_bytes(), None, crate::Media::Json);
        cache.put(k, answer(10));
        assert!(cache.get(&k, "r").is_some());
        assert!(cache.entries.lock().unwrap().0.bytes() < 1024);
    }

    #[test]
    fn answers_expire_with_their_age() {
        let cache = ResponseCache::new(2, 1 << 20).unwrap();
        let body = Template::cut(b"{}", 0, 0).unwrap();
        let k = key("{ a }", None, b"{}", None);
        cache.put(k, kept(body, 0, None));
        assert!(cache.get(&k, "r").is_none());
    }
}

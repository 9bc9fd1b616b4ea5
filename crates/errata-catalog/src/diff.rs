//! Compatibility between two versions of a catalog.
//!
//! Every difference is classified by what it does to a client that was
//! written against the old version:
//! - **breaking**: its code can now misread an error (an id removed without
//!   deprecation, a code renumbered or reused, a slug changed or reused, a
//!   class or status changed, a placeholder removed or renamed);
//! - **dangerous**: it still works, but what a person sees or is told to do
//!   changed (message wording, a placeholder added, advice);
//! - **safe**: an error added or deprecated, documentation changed.

use std::collections::HashMap;
use std::fmt::Write as _;

use serde::Serialize;
use serde_json::{Value, json};

use crate::model::{Catalog, ErrorDef};

/// How bad a difference is for existing clients.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// Existing clients can misread errors.
    Breaking,
    /// Existing clients work, but people see something different.
    Dangerous,
    /// Nothing a client relies on changed.
    Safe,
}

impl Severity {
    /// The lowercase name.
    pub const fn name(self) -> &'static str {
        match self {
            Severity::Breaking => "breaking",
            Severity::Dangerous => "dangerous",
            Severity::Safe => "safe",
        }
    }
}

/// One difference.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Finding {
    /// How bad it is.
    pub kind: Severity,
    /// What changed, as a stable kebab-case name (`code-renumbered`).
    pub change: &'static str,
    /// The error concerned (the new one, for a reused code).
    pub id: String,
    /// The old value, when there is one.
    pub old: Value,
    /// The new value, when there is one.
    pub new: Value,
    /// One sentence for people.
    pub message: String,
}

/// Every difference between two catalogs.
#[derive(Debug, Clone, Serialize)]
pub struct Diff {
    /// `name version` of the old catalog.
    pub old: String,
    /// `name version` of the new catalog.
    pub new: String,
    /// The differences, breaking first.
    pub findings: Vec<Finding>,
}

impl Diff {
    /// True when anything is breaking.
    pub fn is_breaking(&self) -> bool {
        self.count(Severity::Breaking) > 0
    }

    /// How many findings are of `kind`.
    pub fn count(&self, kind: Severity) -> usize {
        self.findings.iter().filter(|f| f.kind == kind).count()
    }

    /// The report for people.
    pub fn to_text(&self) -> String {
        let mut out = format!("catalog diff: {} -> {}\n", self.old, self.new);
        for f in &self.findings {
            let _ = writeln!(out, "{:<9}  {:<22} {}", f.kind.name(), f.change, f.message);
        }
        let _ = writeln!(
            out,
            "{} breaking, {} dangerous, {} safe",
            self.count(Severity::Breaking),
            self.count(Severity::Dangerous),
            self.count(Severity::Safe)
        );
        out
    }

    /// The report for programs: `{"old", "new", "breaking", "summary", "findings": [...]}`.
    pub fn to_json(&self) -> String {
        let value = json!({
            "old": self.old,
            "new": self.new,
            "breaking": self.is_breaking(),
            "summary": {
                "breaking": self.count(Severity::Breaking),
                "dangerous": self.count(Severity::Dangerous),
                "safe": self.count(Severity::Safe),
            },
            "findings": self.findings,
        });
        let mut out = serde_json::to_string_pretty(&value).expect("plain data");
        out.push('\n');
        out
    }
}

/// Compares `old` with `new`.
pub fn diff(old: &Catalog, new: &Catalog) -> Diff {
    let mut findings = Vec::new();
    let mut push = |kind, change, id: &str, old: Value, new: Value, message: String| {
        findings.push(Finding {
            kind,
            change,
            id: id.to_owned(),
            old,
            new,
            message,
        });
    };
    let code = |c: &Catalog, code: u32| c.format_code(code);

    if old.scheme != new.scheme {
        push(
            Severity::Breaking,
            "scheme-changed",
            "",
            json!(old.scheme.name()),
            json!(new.scheme.name()),
            format!(
                "the numbering scheme changed from {} to {}",
                old.scheme.name(),
                new.scheme.name()
            ),
        );
    }

    let new_by_id: HashMap<&str, &ErrorDef> = new.errors.iter().map(|e| (&*e.id, e)).collect();
    let old_by_id: HashMap<&str, &ErrorDef> = old.errors.iter().map(|e| (&*e.id, e)).collect();
    let old_by_code: HashMap<u32, &ErrorDef> = old.errors.iter().map(|e| (e.code, e)).collect();
    let old_by_slug: HashMap<&str, &ErrorDef> = old.errors.iter().map(|e| (&*e.slug, e)).collect();

    for o in old.errors.iter() {
        let Some(n) = new_by_id.get(&*o.id) else {
            if o.deprecated.is_some() {
                push(
                    Severity::Safe,
                    "removed-after-deprecation",
                    &o.id,
                    json!(code(old, o.code)),
                    Value::Null,
                    format!("`{}` was removed after its deprecation", o.id),
                );
            } else {
                push(
                    Severity::Breaking,
                    "removed",
                    &o.id,
                    json!(code(old, o.code)),
                    Value::Null,
                    format!(
                        "`{}` ({}) was removed without being deprecated first",
                        o.id,
                        code(old, o.code)
                    ),
                );
            }
            continue;
        };
        if o.code != n.code {
            push(
                Severity::Breaking,
                "code-renumbered",
                &o.id,
                json!(code(old, o.code)),
                json!(code(new, n.code)),
                format!(
                    "`{}` was renumbered from {} to {}",
                    o.id,
                    code(old, o.code),
                    code(new, n.code)
                ),
            );
        }
        if o.slug != n.slug {
            push(
                Severity::Breaking,
                "slug-changed",
                &o.id,
                json!(o.slug),
                json!(n.slug),
                format!(
                    "the slug of `{}` changed from {} to {}",
                    o.id, o.slug, n.slug
                ),
            );
        }
        if o.class != n.class {
            let status = if o.class.status() != n.class.status() {
                format!(
                    ", so its HTTP status changed from {} to {}",
                    o.class.status(),
                    n.class.status()
                )
            } else {
                String::new()
            };
            push(
                Severity::Breaking,
                "class-changed",
                &o.id,
                json!({"class": o.class.name(), "status": o.class.status(), "graphqlCode": o.class.graphql_code()}),
                json!({"class": n.class.name(), "status": n.class.status(), "graphqlCode": n.class.graphql_code()}),
                format!(
                    "the class of `{}` changed from {} to {}{status}",
                    o.id, o.class, n.class
                ),
            );
        }
        let gone: Vec<&str> = o
            .message
            .placeholders
            .iter()
            .filter(|p| !n.message.placeholders.contains(p))
            .map(|p| &**p)
            .collect();
        let added: Vec<&str> = n
            .message
            .placeholders
            .iter()
            .filter(|p| !o.message.placeholders.contains(p))
            .map(|p| &**p)
            .collect();
        if !gone.is_empty() {
            push(
                Severity::Breaking,
                "placeholder-removed",
                &o.id,
                json!(o.message.placeholders),
                json!(n.message.placeholders),
                format!("`{}` lost placeholder {}", o.id, braces(&gone)),
            );
        }
        if !added.is_empty() {
            push(
                Severity::Dangerous,
                "placeholder-added",
                &o.id,
                json!(o.message.placeholders),
                json!(n.message.placeholders),
                format!("`{}` gained placeholder {}", o.id, braces(&added)),
            );
        }
        if o.message.source != n.message.source {
            push(
                Severity::Dangerous,
                "message-changed",
                &o.id,
                json!(o.message.source),
                json!(n.message.source),
                format!("the message of `{}` changed", o.id),
            );
        }
        if o.advice != n.advice {
            push(
                Severity::Dangerous,
                "advice-changed",
                &o.id,
                json!(o.advice.name()),
                json!(n.advice.name()),
                format!(
                    "the advice of `{}` changed from {} to {}",
                    o.id, o.advice, n.advice
                ),
            );
        }
        match (&o.deprecated, &n.deprecated) {
            (None, Some(d)) => push(
                Severity::Safe,
                "deprecated",
                &o.id,
                Value::Null,
                json!(d.since),
                format!("`{}` is deprecated since {}", o.id, d.since),
            ),
            (Some(d), None) => push(
                Severity::Safe,
                "undeprecated",
                &o.id,
                json!(d.since),
                Value::Null,
                format!("`{}` is no longer deprecated", o.id),
            ),
            _ => {}
        }
        if o.description != n.description {
            push(
                Severity::Safe,
                "description-changed",
                &o.id,
                json!(o.description),
                json!(n.description),
                format!("the description of `{}` changed", o.id),
            );
        }
        let tr = |e: &ErrorDef| {
            e.translations
                .iter()
                .map(|t| (t.locale.to_string(), t.message.source.to_string()))
                .collect::<Vec<_>>()
        };
        if tr(o) != tr(n) {
            push(
                Severity::Safe,
                "translations-changed",
                &o.id,
                json!(tr(o)),
                json!(tr(n)),
                format!("the translations of `{}` changed", o.id),
            );
        }
    }

    for n in new.errors.iter() {
        if let Some(o) = old_by_code.get(&n.code).filter(|o| o.id != n.id) {
            push(
                Severity::Breaking,
                "code-reused",
                &n.id,
                json!({"id": o.id, "code": code(old, o.code)}),
                json!({"id": n.id, "code": code(new, n.code)}),
                format!(
                    "code {} meant `{}` and now means `{}`",
                    code(new, n.code),
                    o.id,
                    n.id
                ),
            );
        }
        if let Some(o) = old_by_slug.get(&*n.slug).filter(|o| o.id != n.id) {
            push(
                Severity::Breaking,
                "slug-reused",
                &n.id,
                json!({"id": o.id, "slug": o.slug}),
                json!({"id": n.id, "slug": n.slug}),
                format!("slug {} meant `{}` and now means `{}`", n.slug, o.id, n.id),
            );
        }
        if !old_by_id.contains_key(&*n.id) {
            push(
                Severity::Safe,
                "added",
                &n.id,
                Value::Null,
                json!(code(new, n.code)),
                format!("`{}` ({}) was added", n.id, code(new, n.code)),
            );
        }
    }

    findings.sort_by(|a, b| (a.kind, &a.id, a.change).cmp(&(b.kind, &b.id, b.change)));
    Diff {
        old: format!("{} {}", old.name, old.version),
        new: format!("{} {}", new.name, new.version),
        findings,
    }
}

fn braces(names: &[&str]) -> String {
    names
        .iter()
        .map(|n| format!("{{{n}}}"))
        .collect::<Vec<_>>()
        .join(", ")
}

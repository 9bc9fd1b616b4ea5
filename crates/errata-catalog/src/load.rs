//! Reading a catalog directory into a [`Catalog`], checking it on the way.
//!
//! Loading never stops at the first mistake: every file is read and every
//! check runs, so one `errata catalog check` reports everything at once.
//!
//! Layout of a catalog directory:
//! - `catalog.toml`, the manifest: `name`, `version`, `scheme`;
//! - one `NAME.toml` per domain, where `NAME` is the domain's name;
//! - `locales/TAG.toml` with message overrides for the locale `TAG`.

use std::borrow::Cow;
use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::ops::Range;
use std::path::Path;
use std::sync::Arc;

use serde::Deserialize;
use toml::Spanned;

use crate::class::{Advice, Class, KUZZLE_CLASSES, Scheme, pack};
use crate::model::{Catalog, Deprecation, Domain, ErrorDef, Subdomain, Text, Translation, owned};
use crate::problem::{Problem, ProblemKind, SourceFile};
use crate::template::{Template, is_snake_case};

/// The manifest's file name.
pub const MANIFEST: &str = "catalog.toml";
/// The folder of translation files.
pub const LOCALES: &str = "locales";

/// Everything wrong with a catalog.
#[derive(Debug, Clone)]
pub struct Problems(pub Vec<Problem>);

impl fmt::Display for Problems {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&crate::problem::render_plain(&self.0))
    }
}

impl std::error::Error for Problems {}

/// One catalog file, in memory.
#[derive(Debug, Clone)]
pub struct FileText {
    /// The path to show in diagnostics.
    pub path: String,
    /// The file's contents.
    pub text: String,
}

/// A catalog's files, read but not yet parsed.
#[derive(Debug, Clone, Default)]
pub struct Files {
    /// The manifest, if there is one.
    pub manifest: Option<FileText>,
    /// Domain files, by domain name.
    pub domains: BTreeMap<String, FileText>,
    /// Translation files, by locale tag.
    pub locales: BTreeMap<String, FileText>,
}

impl Files {
    /// Reads the files of a catalog directory.
    pub fn read_dir(dir: &Path) -> Result<Files, Problems> {
        let display = |p: &Path| p.display().to_string();
        let io = |path: &Path, e: std::io::Error| {
            Problems(vec![
                Problem::new(
                    ProblemKind::Io,
                    format!("cannot read `{}`: {e}", display(path)),
                )
                .help("pass the path of a catalog directory, the one that holds catalog.toml"),
            ])
        };
        let mut files = Files::default();
        let manifest = dir.join(MANIFEST);
        files.manifest = match std::fs::read_to_string(&manifest) {
            Ok(text) => Some(FileText {
                path: display(&manifest),
                text,
            }),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound && dir.is_dir() => None,
            Err(e) => return Err(io(&manifest, e)),
        };
        files.domains = read_tomls(dir, &display).map_err(|(p, e)| io(&p, e))?;
        files.domains.remove("catalog");
        let locales = dir.join(LOCALES);
        if locales.is_dir() {
            files.locales = read_tomls(&locales, &display).map_err(|(p, e)| io(&p, e))?;
        }
        Ok(files)
    }

    /// Changes the path every file is shown under.
    pub fn rename(&mut self, mut rename: impl FnMut(&str) -> String) {
        let files = self
            .manifest
            .iter_mut()
            .chain(self.domains.values_mut())
            .chain(self.locales.values_mut());
        for file in files {
            file.path = rename(&file.path);
        }
    }

    /// Every file, for build systems that track them.
    pub fn paths(&self) -> impl Iterator<Item = &str> {
        self.manifest
            .iter()
            .chain(self.domains.values())
            .chain(self.locales.values())
            .map(|f| f.path.as_str())
    }
}

type IoFailure = (std::path::PathBuf, std::io::Error);

fn read_tomls(
    dir: &Path,
    display: &dyn Fn(&Path) -> String,
) -> Result<BTreeMap<String, FileText>, IoFailure> {
    let mut out = BTreeMap::new();
    let entries = std::fs::read_dir(dir).map_err(|e| (dir.to_path_buf(), e))?;
    for entry in entries {
        let path = entry.map_err(|e| (dir.to_path_buf(), e))?.path();
        if path.extension().and_then(|e| e.to_str()) != Some("toml") || !path.is_file() {
            continue;
        }
        let Some(stem) = path.file_stem().and_then(|s| s.to_str()) else {
            continue;
        };
        let text = std::fs::read_to_string(&path).map_err(|e| (path.clone(), e))?;
        out.insert(
            stem.to_owned(),
            FileText {
                path: display(&path),
                text,
            },
        );
    }
    Ok(out)
}

/// Loads and checks the catalog in `dir`.
pub fn load_dir(dir: &Path) -> Result<Catalog, Problems> {
    load(&Files::read_dir(dir)?)
}

/// Checks a catalog directory, returning every problem found.
pub fn check_dir(dir: &Path) -> Vec<Problem> {
    match load_dir(dir) {
        Ok(_) => Vec::new(),
        Err(Problems(problems)) => problems,
    }
}

/// Parses and checks files already in memory.
pub fn load(files: &Files) -> Result<Catalog, Problems> {
    let mut loader = Loader::default();
    let manifest = loader.manifest(files.manifest.as_ref());
    let scheme = manifest.as_ref().map_or(Scheme::Ranges, |m| m.2);
    for (name, file) in &files.domains {
        loader.domain(name, file, scheme);
    }
    loader.cross_checks();
    for (tag, file) in &files.locales {
        loader.locale(tag, file);
    }
    let Loader {
        mut problems,
        mut domains,
        entries,
        ..
    } = loader;
    // Report in reading order, whatever order the checks ran in.
    problems.sort_by_cached_key(|p| {
        p.location
            .as_ref()
            .map(|l| (l.file.path.clone(), l.span.start))
    });
    match manifest {
        Some((name, version, scheme)) if problems.is_empty() => {
            domains.sort_by_key(|d| d.code);
            let mut locales: Vec<Text> = files.locales.keys().cloned().map(Cow::Owned).collect();
            locales.sort();
            let mut errors: Vec<ErrorDef> = entries.into_iter().map(|e| e.def).collect();
            errors.sort_by_key(|e| e.code);
            Ok(Catalog {
                name: Cow::Owned(name),
                version: Cow::Owned(version),
                scheme,
                locales: owned(locales),
                domains: owned(domains),
                errors: owned(errors),
            })
        }
        _ => Err(Problems(problems)),
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawManifest {
    name: Option<Spanned<String>>,
    version: Option<Spanned<String>>,
    scheme: Option<Spanned<String>>,
    #[allow(
        dead_code,
        reason = "documentation for humans; accepted so it is not an unknown field"
    )]
    description: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawDomainFile {
    domain: Option<Spanned<RawGroup>>,
    #[serde(default)]
    errors: BTreeMap<Spanned<String>, Spanned<RawError>>,
    #[serde(default)]
    subdomains: BTreeMap<Spanned<String>, Spanned<RawSubdomain>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawGroup {
    code: Option<Spanned<i64>>,
    title: Option<String>,
    description: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSubdomain {
    code: Option<Spanned<i64>>,
    title: Option<String>,
    description: Option<String>,
    deprecated: Option<Spanned<RawDeprecated>>,
    #[serde(default)]
    errors: BTreeMap<Spanned<String>, Spanned<RawError>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawError {
    code: Option<Spanned<i64>>,
    slug: Option<Spanned<String>>,
    class: Option<Spanned<String>>,
    message: Option<Spanned<String>>,
    description: Option<Spanned<String>>,
    advice: Option<Spanned<String>>,
    since: Option<Spanned<String>>,
    deprecated: Option<Spanned<RawDeprecated>>,
    example: Option<Spanned<String>>,
}

#[derive(Deserialize, Clone)]
#[serde(untagged)]
enum RawDeprecated {
    Flag(bool),
    Since(String),
    Table(RawDeprecation),
}

#[derive(Deserialize, Clone)]
#[serde(deny_unknown_fields)]
struct RawDeprecation {
    since: Option<String>,
    replacement: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawLocale {
    #[serde(default)]
    messages: BTreeMap<Spanned<String>, Spanned<String>>,
}

/// An error with where its parts were written, for cross-checks.
struct Entry {
    def: ErrorDef,
    file: Arc<SourceFile>,
    key: Range<usize>,
    code: Range<usize>,
    slug: Range<usize>,
    replacement: Option<Range<usize>>,
}

#[derive(Default)]
struct Loader {
    problems: Vec<Problem>,
    domains: Vec<Domain>,
    entries: Vec<Entry>,
    domain_codes: HashMap<u32, (String, Arc<SourceFile>, Range<usize>)>,
}

fn parse<T: for<'de> Deserialize<'de>>(file: &Arc<SourceFile>) -> Result<T, Problem> {
    toml::from_str(file.text()).map_err(|e| {
        let span = e.span().unwrap_or(0..0);
        Problem::new(ProblemKind::Syntax, e.message().trim().to_owned())
            .at(file, span, "here")
            .help("fix the TOML; the catalog format is described in the README")
    })
}

impl Loader {
    fn push(&mut self, problem: Problem) {
        self.problems.push(problem);
    }

    fn manifest(&mut self, file: Option<&FileText>) -> Option<(String, String, Scheme)> {
        let Some(file) = file else {
            self.push(
                Problem::new(ProblemKind::Manifest, format!("the catalog has no `{MANIFEST}`")).help(
                    "add catalog.toml with `name`, `version` and `scheme = \"ranges\"` or `\"packed\"`",
                ),
            );
            return None;
        };
        let src = SourceFile::new(&file.path, file.text.clone());
        let raw: RawManifest = match parse(&src) {
            Ok(raw) => raw,
            Err(p) => {
                self.push(p);
                return None;
            }
        };
        let mut required = |field: &str, value: Option<Spanned<String>>| match value {
            Some(v) if !v.get_ref().trim().is_empty() => Some(v),
            _ => {
                self.problems.push(
                    Problem::new(
                        ProblemKind::Manifest,
                        format!("the manifest has no `{field}`"),
                    )
                    .at(&src, 0..0, "in this file")
                    .help(format!("add `{field} = \"...\"` to {MANIFEST}")),
                );
                None
            }
        };
        let name = required("name", raw.name);
        let version = required("version", raw.version);
        let scheme_raw = required("scheme", raw.scheme);
        let scheme = scheme_raw.and_then(|s| match Scheme::from_name(s.get_ref()) {
            Some(scheme) => Some(scheme),
            None => {
                self.push(
                    Problem::new(ProblemKind::Manifest, format!("unknown scheme `{}`", s.get_ref()))
                        .at(&src, s.span(), "not a numbering scheme")
                        .help("use `ranges` (domain N owns N001..N999) or `packed` (domain<<24 | subdomain<<16 | error)"),
                );
                None
            }
        });
        Some((name?.into_inner(), version?.into_inner(), scheme?))
    }

    fn domain(&mut self, name: &str, file: &FileText, scheme: Scheme) {
        let src = SourceFile::new(&file.path, file.text.clone());
        let raw: RawDomainFile = match parse(&src) {
            Ok(raw) => raw,
            Err(p) => return self.push(p),
        };
        if !is_snake_case(name) {
            self.push(
                Problem::new(
                    ProblemKind::BadName,
                    format!("the domain name `{name}` is not snake_case"),
                )
                .at(&src, 0..0, "the domain is named after this file")
                .help(
                    "rename the file to a snake_case name such as `pages.toml`; ids start with it",
                ),
            );
        }
        let Some(group) = raw.domain else {
            return self.push(
                Problem::new(
                    ProblemKind::MissingField,
                    format!("domain `{name}` has no `[domain]` table"),
                )
                .at(&src, 0..0, "in this file")
                .help("start the file with `[domain]` and its `code`, `title` and `description`"),
            );
        };
        let group_span = group.span();
        let group = group.into_inner();
        let max = match scheme {
            Scheme::Ranges => u32::MAX / 1000 - 1,
            Scheme::Packed => 255,
        };
        let min = match scheme {
            Scheme::Ranges => 1,
            Scheme::Packed => 0,
        };
        let code = match group.code {
            None => {
                self.push(
                    Problem::new(
                        ProblemKind::MissingField,
                        format!("domain `{name}` has no `code`"),
                    )
                    .at(&src, group_span.clone(), "this table")
                    .help(match scheme {
                        Scheme::Ranges => "add `code = N`: the domain then owns codes N001..N999",
                        Scheme::Packed => "add `code = N` with N in 0..=255",
                    }),
                );
                None
            }
            Some(code) => self.bounded(&src, &code, min, max, || match scheme {
                Scheme::Ranges => format!("a domain number is at least 1 (domain {name})"),
                Scheme::Packed => "a packed domain number is in 0..=255".to_owned(),
            }),
        };
        if let Some((code, span)) = code.clone() {
            match self.domain_codes.get(&code) {
                Some((other, other_file, other_span)) => {
                    let first = Problem::new(
                        ProblemKind::DuplicateGroupCode,
                        format!("`{other}` uses it first"),
                    )
                    .at(other_file, other_span.clone(), "first used here");
                    self.push(
                        Problem::new(
                            ProblemKind::DuplicateGroupCode,
                            format!("domain number {code} is used twice"),
                        )
                        .at(&src, span, "used again here")
                        .help(format!(
                            "give domain `{name}` a number no other domain uses"
                        ))
                        .related(first),
                    );
                }
                None => {
                    self.domain_codes
                        .insert(code, (name.to_owned(), Arc::clone(&src), span));
                }
            }
        }
        let domain_code = code.map(|(c, _)| c);

        let mut subdomains = Vec::new();
        let mut sub_codes: HashMap<u32, String> = HashMap::new();
        for (sub_key, sub) in raw.subdomains {
            let sub_span = sub.span();
            let sub = sub.into_inner();
            let sub_name = sub_key.get_ref().clone();
            self.check_name(&src, &sub_key, "subdomain");
            let sub_code = match (sub.code, scheme) {
                (Some(code), _) => self
                    .bounded(
                        &src,
                        &code,
                        0,
                        if scheme == Scheme::Packed {
                            255
                        } else {
                            u32::MAX
                        },
                        || "a subdomain number is in 0..=255".to_owned(),
                    )
                    .map(|(c, s)| (c, Some(s))),
                (None, Scheme::Ranges) => Some((0, None)),
                (None, Scheme::Packed) => {
                    self.push(
                        Problem::new(ProblemKind::MissingField, format!("subdomain `{name}.{sub_name}` has no `code`"))
                            .at(&src, sub_span, "this table")
                            .help("add `code = N` with N in 0..=255: it is the second byte of every packed code"),
                    );
                    None
                }
            };
            if let Some((c, Some(span))) = &sub_code
                && let Some(other) = sub_codes.insert(*c, sub_name.clone())
            {
                self.push(
                    Problem::new(
                        ProblemKind::DuplicateGroupCode,
                        format!("subdomain number {c} is used by both `{other}` and `{sub_name}`"),
                    )
                    .at(&src, span.clone(), "used again here")
                    .help("give each subdomain of a domain its own number"),
                );
            }
            let inherited = sub.deprecated.map(|d| (d.span(), d.into_inner()));
            for (key, error) in sub.errors {
                let location = ErrorPlace {
                    domain: name,
                    domain_code,
                    subdomain: Some((&sub_name, sub_code.as_ref().map(|(c, _)| *c))),
                    scheme,
                };
                self.error(&src, &location, key, error, inherited.clone());
            }
            subdomains.push(Subdomain {
                title: Cow::Owned(sub.title.unwrap_or_else(|| sub_name.clone())),
                description: Cow::Owned(sub.description.unwrap_or_default()),
                code: sub_code.map_or(0, |(c, _)| c),
                name: Cow::Owned(sub_name),
            });
        }
        for (key, error) in raw.errors {
            let location = ErrorPlace {
                domain: name,
                domain_code,
                subdomain: None,
                scheme,
            };
            self.error(&src, &location, key, error, None);
        }
        subdomains.sort_by(|a, b| (a.code, &a.name).cmp(&(b.code, &b.name)));
        self.domains.push(Domain {
            name: Cow::Owned(name.to_owned()),
            code: domain_code.unwrap_or(0),
            title: Cow::Owned(group.title.unwrap_or_else(|| name.to_owned())),
            description: Cow::Owned(group.description.unwrap_or_default()),
            subdomains: owned(subdomains),
        });
    }

    fn bounded(
        &mut self,
        src: &Arc<SourceFile>,
        code: &Spanned<i64>,
        min: u32,
        max: u32,
        why: impl FnOnce() -> String,
    ) -> Option<(u32, Range<usize>)> {
        match u32::try_from(*code.get_ref()) {
            Ok(c) if (min..=max).contains(&c) => Some((c, code.span())),
            _ => {
                self.push(
                    Problem::new(
                        ProblemKind::CodeOutOfRange,
                        format!("{} is out of range", code.get_ref()),
                    )
                    .at(src, code.span(), format!("expected {min}..={max}"))
                    .help(why()),
                );
                None
            }
        }
    }

    fn check_name(&mut self, src: &Arc<SourceFile>, key: &Spanned<String>, what: &str) -> bool {
        if is_snake_case(key.get_ref()) {
            return true;
        }
        self.push(
            Problem::new(ProblemKind::BadName, format!("the {what} name `{}` is not snake_case", key.get_ref()))
                .at(src, key.span(), "becomes part of the id")
                .help("ids are made of snake_case names: lowercase letters, digits and `_`, starting with a letter"),
        );
        false
    }

    fn error(
        &mut self,
        src: &Arc<SourceFile>,
        place: &ErrorPlace<'_>,
        key: Spanned<String>,
        raw: Spanned<RawError>,
        inherited: Option<(Range<usize>, RawDeprecated)>,
    ) {
        let key_span = key.span();
        let name = key.get_ref().clone();
        let id = match place.subdomain {
            Some((sub, _)) => format!("{}.{sub}.{name}", place.domain),
            None => format!("{}.{name}", place.domain),
        };
        self.check_name(src, &key, "error");
        let raw = raw.into_inner();
        let missing = |field: &str, help: &str| {
            Problem::new(
                ProblemKind::MissingField,
                format!("`{id}` has no `{field}`"),
            )
            .at(src, key_span.clone(), "this error")
            .help(help.to_owned())
        };

        let code = match raw.code {
            None => {
                self.push(missing(
                    "code",
                    "give the error its number with `code = ...`",
                ));
                None
            }
            Some(code) => self.full_code(src, place, &id, &code),
        };

        let slug = match raw.slug {
            None => {
                self.push(missing(
                    "slug",
                    "add a PascalCase `slug`, such as `PageNotFound`",
                ));
                None
            }
            Some(slug) if !is_pascal_case(slug.get_ref()) => {
                self.push(
                    Problem::new(ProblemKind::BadSlug, format!("slug `{}` is not PascalCase", slug.get_ref()))
                        .at(src, slug.span(), "not PascalCase")
                        .help("slugs start with an uppercase letter and hold only letters and digits, like `PageNotFound`"),
                );
                None
            }
            Some(slug) => Some(slug),
        };

        let class = match raw.class {
            None => {
                self.push(missing(
                    "class",
                    "add a `class`; it fixes the HTTP status and extensions.code",
                ));
                None
            }
            Some(class) => match Class::from_name(class.get_ref()) {
                Some(c) => Some(c),
                None => {
                    self.push(unknown_class(src, &class));
                    None
                }
            },
        };

        let message = match raw.message {
            None => {
                self.push(missing(
                    "message",
                    "add a `message`, such as `Page \"{path}\" does not exist.`",
                ));
                None
            }
            Some(m) if m.get_ref().trim().is_empty() => {
                self.push(
                    Problem::new(
                        ProblemKind::EmptyMessage,
                        format!("`{id}` has an empty message"),
                    )
                    .at(src, m.span(), "empty")
                    .help(
                        "write the message a client sees; it may use placeholders such as `{path}`",
                    ),
                );
                None
            }
            Some(m) => match Template::parse(m.get_ref()) {
                Ok(t) => Some(t),
                Err(e) => {
                    let span = inner_span(src, &m, e.span.clone());
                    self.push(
                        Problem::new(
                            ProblemKind::BadPlaceholder,
                            format!("bad placeholder in `{id}`: {}", e.message),
                        )
                        .at(src, span, e.message)
                        .help(e.help),
                    );
                    None
                }
            },
        };

        let description = match raw.description {
            Some(d) if !d.get_ref().trim().is_empty() => Some(d.into_inner()),
            other => {
                let span = other.map_or(key_span.clone(), |d| d.span());
                self.push(
                    Problem::new(ProblemKind::MissingDescription, format!("`{id}` has no description"))
                        .at(src, span, "describe when this happens")
                        .help("add `description = \"...\"`: when the error happens, for the reference docs"),
                );
                None
            }
        };

        let advice = match raw.advice {
            None => class.map(Class::default_advice),
            Some(a) => match Advice::from_name(a.get_ref()) {
                Some(advice) => Some(advice),
                None => {
                    let names: Vec<&str> = Advice::ALL.iter().map(|a| a.name()).collect();
                    self.push(
                        Problem::new(
                            ProblemKind::UnknownAdvice,
                            format!("unknown advice `{}`", a.get_ref()),
                        )
                        .at(src, a.span(), "not an advice")
                        .help(format!("use one of: {}", names.join(", "))),
                    );
                    None
                }
            },
        };

        let deprecated = raw
            .deprecated
            .map(|d| (d.span(), d.into_inner()))
            .or(inherited);
        let (deprecated, replacement) = match deprecated {
            None | Some((_, RawDeprecated::Flag(false))) => (None, None),
            Some((_, RawDeprecated::Since(v))) if !v.trim().is_empty() => (
                Some(Deprecation {
                    since: Cow::Owned(v),
                    replacement: None,
                }),
                None,
            ),
            Some((
                span,
                RawDeprecated::Table(RawDeprecation {
                    since: Some(v),
                    replacement,
                }),
            )) if !v.trim().is_empty() => (
                Some(Deprecation {
                    since: Cow::Owned(v),
                    replacement: replacement.map(Cow::Owned),
                }),
                Some(span),
            ),
            Some((span, _)) => {
                self.push(
                    Problem::new(ProblemKind::DeprecatedWithoutVersion, format!("`{id}` is deprecated without a version"))
                        .at(src, span, "which version deprecated it?")
                        .help("write `deprecated = \"2.1.0\"` or `deprecated = { since = \"2.1.0\", replacement = \"other.id\" }`"),
                );
                (None, None)
            }
        };

        let (
            Some((code, code_span)),
            Some(slug),
            Some(class),
            Some(message),
            Some(description),
            Some(advice),
        ) = (code, slug, class, message, description, advice)
        else {
            return;
        };
        let slug_span = slug.span();
        self.entries.push(Entry {
            def: ErrorDef {
                id: Cow::Owned(id),
                domain: Cow::Owned(place.domain.to_owned()),
                subdomain: place.subdomain.map(|(s, _)| Cow::Owned(s.to_owned())),
                code,
                slug: Cow::Owned(slug.into_inner()),
                class,
                message,
                description: Cow::Owned(description),
                advice,
                since: raw.since.map(|s| Cow::Owned(s.into_inner())),
                deprecated,
                example: raw.example.map(|e| Cow::Owned(e.into_inner())),
                translations: Cow::Owned(Vec::new()),
            },
            file: Arc::clone(src),
            key: key_span,
            code: code_span,
            slug: slug_span,
            replacement,
        });
    }

    fn full_code(
        &mut self,
        src: &Arc<SourceFile>,
        place: &ErrorPlace<'_>,
        id: &str,
        code: &Spanned<i64>,
    ) -> Option<(u32, Range<usize>)> {
        let span = code.span();
        let value = *code.get_ref();
        match place.scheme {
            Scheme::Ranges => {
                let domain = place.domain_code?;
                let (lo, hi) = (i64::from(domain) * 1000 + 1, i64::from(domain) * 1000 + 999);
                if (lo..=hi).contains(&value) {
                    return u32::try_from(value).ok().map(|c| (c, span));
                }
                self.push(
                    Problem::new(
                        ProblemKind::CodeOutOfRange,
                        format!("code {value} of `{id}` is outside its domain's range"),
                    )
                    .at(src, span, format!("expected {lo}..={hi}"))
                    .help(format!(
                        "domain `{}` is number {domain}, so it owns codes {lo}..={hi}",
                        place.domain
                    )),
                );
                None
            }
            Scheme::Packed => {
                let Some((sub, sub_code)) = place.subdomain else {
                    self.push(
                        Problem::new(
                            ProblemKind::CodeOutOfRange,
                            format!("`{id}` has no subdomain, which packed codes need"),
                        )
                        .at(src, span, "no subdomain byte")
                        .help("move the error under `[subdomains.NAME.errors.…]`"),
                    );
                    return None;
                };
                if !(1..=65535).contains(&value) {
                    self.push(
                        Problem::new(
                            ProblemKind::CodeOutOfRange,
                            format!("error number {value} of `{id}` is outside the packed bounds"),
                        )
                        .at(src, span, "expected 1..=65535")
                        .help(format!(
                            "the low 16 bits of a packed code number the errors of `{}.{sub}`",
                            place.domain
                        )),
                    );
                    return None;
                }
                let value = u32::try_from(value).ok()?;
                Some((pack(place.domain_code?, sub_code?, value), span))
            }
        }
    }

    fn cross_checks(&mut self) {
        // "First defined" means first in reading order, not in key order.
        self.entries
            .sort_by(|a, b| (&a.file.path, a.key.start).cmp(&(&b.file.path, b.key.start)));
        let mut ids: HashMap<&str, usize> = HashMap::new();
        let mut codes: HashMap<u32, usize> = HashMap::new();
        let mut slugs: HashMap<&str, usize> = HashMap::new();
        let mut found = Vec::new();
        for (i, entry) in self.entries.iter().enumerate() {
            if let Some(&first) = ids.get(&*entry.def.id) {
                found.push((ProblemKind::DuplicateId, first, i));
            } else {
                ids.insert(&entry.def.id, i);
            }
            if let Some(&first) = codes.get(&entry.def.code) {
                found.push((ProblemKind::DuplicateCode, first, i));
            } else {
                codes.insert(entry.def.code, i);
            }
            if let Some(&first) = slugs.get(&*entry.def.slug) {
                found.push((ProblemKind::DuplicateSlug, first, i));
            } else {
                slugs.insert(&entry.def.slug, i);
            }
        }
        let mut problems = Vec::new();
        for (kind, first, again) in found {
            let (a, b) = (&self.entries[first], &self.entries[again]);
            let (what, value, span_a, span_b) = match kind {
                ProblemKind::DuplicateId => {
                    ("id", b.def.id.to_string(), a.key.clone(), b.key.clone())
                }
                ProblemKind::DuplicateCode => (
                    "code",
                    a.def.code.to_string(),
                    a.code.clone(),
                    b.code.clone(),
                ),
                _ => (
                    "slug",
                    b.def.slug.to_string(),
                    a.slug.clone(),
                    b.slug.clone(),
                ),
            };
            problems.push(
                Problem::new(
                    kind,
                    format!("`{}` reuses the {what} {value} of `{}`", b.def.id, a.def.id),
                )
                .at(&b.file, span_b, format!("{what} already used"))
                .help(format!(
                    "give `{}` a {what} of its own; a {what} names one error forever",
                    b.def.id
                ))
                .related(
                    Problem::new(kind, format!("`{}` defines it first", a.def.id)).at(
                        &a.file,
                        span_a,
                        "first defined here",
                    ),
                ),
            );
        }
        for entry in &self.entries {
            let Some(dep) = &entry.def.deprecated else {
                continue;
            };
            let Some(replacement) = &dep.replacement else {
                continue;
            };
            if !ids.contains_key(&**replacement) {
                let span = entry.replacement.clone().unwrap_or(entry.key.clone());
                problems.push(
                    Problem::new(
                        ProblemKind::UnknownReplacement,
                        format!(
                            "`{}` is replaced by `{replacement}`, which does not exist",
                            entry.def.id
                        ),
                    )
                    .at(&entry.file, span, "unknown replacement")
                    .help("name the id of an existing error, or drop `replacement`"),
                );
            }
        }
        self.problems.extend(problems);
    }

    fn locale(&mut self, tag: &str, file: &FileText) {
        let src = SourceFile::new(&file.path, file.text.clone());
        if !is_language_tag(tag) {
            self.push(
                Problem::new(
                    ProblemKind::BadName,
                    format!("`{tag}` is not a language tag"),
                )
                .at(&src, 0..0, "the locale is named after this file")
                .help(
                    "name translation files after BCP 47 tags, such as `fr.toml` or `pt-BR.toml`",
                ),
            );
            return;
        }
        let raw: RawLocale = match parse(&src) {
            Ok(raw) => raw,
            Err(p) => return self.push(p),
        };
        for (id, text) in raw.messages {
            let Some(entry) = self.entries.iter_mut().find(|e| e.def.id == *id.get_ref()) else {
                self.problems.push(
                    Problem::new(
                        ProblemKind::UnknownTranslation,
                        format!("no error has the id `{}`", id.get_ref()),
                    )
                    .at(&src, id.span(), "unknown id")
                    .help("translate an existing error, by its id such as `pages.not_found`"),
                );
                continue;
            };
            match Template::parse_translation(text.get_ref(), &entry.def.message) {
                Ok(message) => {
                    let mut translations = entry.def.translations.to_vec();
                    translations.push(Translation {
                        locale: Cow::Owned(tag.to_owned()),
                        message,
                    });
                    translations.sort_by(|a, b| a.locale.cmp(&b.locale));
                    entry.def.translations = owned(translations);
                }
                Err(e) => {
                    let kind = if e.span == (0..text.get_ref().len()) {
                        ProblemKind::TranslationMismatch
                    } else {
                        ProblemKind::BadPlaceholder
                    };
                    let span = inner_span(&src, &text, e.span.clone());
                    self.problems.push(
                        Problem::new(
                            kind,
                            format!("the `{tag}` message of `{}`: {}", id.get_ref(), e.message),
                        )
                        .at(&src, span, "here")
                        .help(e.help),
                    );
                }
            }
        }
    }
}

struct ErrorPlace<'a> {
    domain: &'a str,
    domain_code: Option<u32>,
    subdomain: Option<(&'a str, Option<u32>)>,
    scheme: Scheme,
}

fn unknown_class(src: &Arc<SourceFile>, class: &Spanned<String>) -> Problem {
    let given = class.get_ref();
    let help = if let Some((_, ours)) = KUZZLE_CLASSES.iter().find(|(k, _)| k == given) {
        format!("Kuzzle's `{given}` is `{}` in errata", ours.name())
    } else if let Some(close) = closest(given, Class::ALL.iter().map(|c| c.name())) {
        format!("did you mean `{close}`?")
    } else {
        let names: Vec<&str> = Class::ALL.iter().map(|c| c.name()).collect();
        format!("use one of: {}", names.join(", "))
    };
    Problem::new(
        ProblemKind::UnknownClass,
        format!("unknown class `{given}`"),
    )
    .at(src, class.span(), "not a class")
    .help(help)
}

/// The candidate closest to `given` in edit distance, if it is close enough.
fn closest<'a>(given: &str, candidates: impl Iterator<Item = &'a str>) -> Option<&'a str> {
    let given = given.to_ascii_lowercase();
    candidates
        .map(|c| (edit_distance(&given, &c.to_ascii_lowercase()), c))
        .filter(|(d, c)| *d <= c.len() / 3 + 1)
        .min()
        .map(|(_, c)| c)
}

fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut prev = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let cost = usize::from(ca != *cb);
            let next = (row[j + 1] + 1).min(row[j] + 1).min(prev + cost);
            prev = row[j + 1];
            row[j + 1] = next;
        }
    }
    row[b.len()]
}

/// Maps a span inside a string value to a span in the file, walking the
/// escapes of a basic string; points at the whole string when it cannot.
fn inner_span(src: &SourceFile, value: &Spanned<String>, inner: Range<usize>) -> Range<usize> {
    let outer = value.span();
    let Some(raw) = src.text().get(outer.clone()) else {
        return outer;
    };
    let (quote, literal) = if raw.starts_with("\"\"\"") {
        (3, false)
    } else if raw.starts_with("'''") {
        (3, true)
    } else {
        (1, raw.starts_with('\''))
    };
    let Some(body) = raw.get(quote..raw.len().saturating_sub(quote)) else {
        return outer;
    };
    // (decoded offset, raw offset) at each character boundary.
    let mut map = Vec::with_capacity(body.len() + 1);
    let mut decoded = 0;
    let mut chars = body.char_indices();
    while let Some((at, c)) = chars.next() {
        map.push((decoded, at));
        if c != '\\' || literal {
            decoded += c.len_utf8();
            continue;
        }
        let Some((_, escaped)) = chars.next() else {
            break;
        };
        let digits = match escaped {
            'u' => 4,
            'U' => 8,
            _ => {
                decoded += 1;
                continue;
            }
        };
        let code: String = chars.by_ref().take(digits).map(|(_, h)| h).collect();
        decoded += u32::from_str_radix(&code, 16)
            .ok()
            .and_then(char::from_u32)
            .map_or(1, char::len_utf8);
    }
    map.push((decoded, body.len()));
    if decoded != value.get_ref().len() {
        return outer;
    }
    let find = |offset: usize| map.iter().find(|(d, _)| *d >= offset).map(|(_, r)| *r);
    match (find(inner.start), find(inner.end)) {
        (Some(start), Some(end)) => outer.start + quote + start..outer.start + quote + end,
        _ => outer,
    }
}

/// `PageNotFound`: an uppercase letter, then letters and digits.
pub fn is_pascal_case(slug: &str) -> bool {
    let mut chars = slug.chars();
    matches!(chars.next(), Some('A'..='Z')) && chars.all(|c| c.is_ascii_alphanumeric())
}

fn is_language_tag(tag: &str) -> bool {
    let mut parts = tag.split('-');
    let lang_ok = parts
        .next()
        .is_some_and(|l| (2..=3).contains(&l.len()) && l.chars().all(|c| c.is_ascii_lowercase()));
    lang_ok
        && parts.all(|p| (1..=8).contains(&p.len()) && p.chars().all(|c| c.is_ascii_alphanumeric()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn edit_distance_counts_edits() {
        assert_eq!(edit_distance("kitten", "sitting"), 3);
        assert_eq!(
            closest("notfound", Class::ALL.iter().map(|c| c.name())),
            Some("NotFound")
        );
        assert_eq!(
            closest("Zzzzzzz", Class::ALL.iter().map(|c| c.name())),
            None
        );
    }

    #[test]
    fn slugs_and_tags() {
        assert!(is_pascal_case("PageNotFound"));
        assert!(is_pascal_case("AuthTFAFailed"));
        assert!(!is_pascal_case("pageNotFound"));
        assert!(!is_pascal_case("Page_Not_Found"));
        assert!(is_language_tag("fr"));
        assert!(is_language_tag("pt-BR"));
        assert!(!is_language_tag("French"));
    }
}

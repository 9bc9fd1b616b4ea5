//! The run-time error value: one catalogued error, raised with its arguments.
//!
//! Values are built by the constructors `errata-macros` generates
//! (`errors::pages::not_found(path)`), which guarantee that the arguments
//! match the message's placeholders. Building an error whose message has no
//! placeholders allocates nothing.

use std::borrow::Cow;
use std::fmt;

use serde::Serialize;

use crate::class::Class;
use crate::model::ErrorDef;

/// A value for one placeholder.
#[derive(Debug, Clone, PartialEq)]
pub enum Arg {
    /// Text.
    Str(Cow<'static, str>),
    /// A signed integer.
    Int(i64),
    /// An unsigned integer.
    Uint(u64),
    /// A floating-point number.
    Float(f64),
    /// A boolean.
    Bool(bool),
}

impl Arg {
    /// Text that lives forever, kept without copying.
    pub const fn from_static(text: &'static str) -> Arg {
        Arg::Str(Cow::Borrowed(text))
    }
}

impl fmt::Display for Arg {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Arg::Str(s) => f.write_str(s),
            Arg::Int(n) => write!(f, "{n}"),
            Arg::Uint(n) => write!(f, "{n}"),
            Arg::Float(n) => write!(f, "{n}"),
            Arg::Bool(b) => write!(f, "{b}"),
        }
    }
}

impl From<&str> for Arg {
    fn from(s: &str) -> Arg {
        Arg::Str(Cow::Owned(s.to_owned()))
    }
}
impl From<String> for Arg {
    fn from(s: String) -> Arg {
        Arg::Str(Cow::Owned(s))
    }
}
impl From<&String> for Arg {
    fn from(s: &String) -> Arg {
        Arg::Str(Cow::Owned(s.clone()))
    }
}
impl From<Cow<'static, str>> for Arg {
    fn from(s: Cow<'static, str>) -> Arg {
        Arg::Str(s)
    }
}
impl From<char> for Arg {
    fn from(c: char) -> Arg {
        Arg::Str(Cow::Owned(c.to_string()))
    }
}
impl From<bool> for Arg {
    fn from(b: bool) -> Arg {
        Arg::Bool(b)
    }
}
impl From<f64> for Arg {
    fn from(n: f64) -> Arg {
        Arg::Float(n)
    }
}

macro_rules! int_args {
    ($variant:ident as $wide:ty: $($t:ty),*) => {$(
        impl From<$t> for Arg {
            fn from(n: $t) -> Arg {
                Arg::$variant(<$wide>::from(n))
            }
        }
    )*};
}
int_args!(Int as i64: i8, i16, i32, i64);
int_args!(Uint as u64: u8, u16, u32, u64);

impl From<usize> for Arg {
    fn from(n: usize) -> Arg {
        Arg::Uint(u64::try_from(n).unwrap_or(u64::MAX))
    }
}

type Source = Box<dyn std::error::Error + Send + Sync + 'static>;

/// A catalogued error, raised.
pub struct Error {
    def: &'static ErrorDef,
    args: Vec<Arg>,
    details: Vec<(&'static str, serde_json::Value)>,
    source: Option<Source>,
}

impl Error {
    /// Raises an error whose message has no placeholders. Allocates nothing.
    /// Generated constructors call this; prefer them.
    pub fn new(def: &'static ErrorDef) -> Error {
        debug_assert!(def.message.is_static(), "{} takes arguments", def.id);
        Error {
            def,
            args: Vec::new(),
            details: Vec::new(),
            source: None,
        }
    }

    /// Raises an error with its arguments, in placeholder order.
    /// Generated constructors call this; prefer them.
    pub fn with_args(def: &'static ErrorDef, args: Vec<Arg>) -> Error {
        debug_assert_eq!(def.message.placeholders.len(), args.len(), "{}", def.id);
        Error {
            def,
            args,
            details: Vec::new(),
            source: None,
        }
    }

    /// Attaches the underlying cause. It is logged, never shown to clients.
    pub fn with_source(mut self, source: impl Into<Source>) -> Error {
        self.source = Some(source.into());
        self
    }

    /// Adds a machine-readable detail, rendered in GraphQL `extensions`
    /// (`limit`, `retryAfter`, `requiredPermissions`). A detail never
    /// replaces one of the catalog's own extensions.
    pub fn with_detail(mut self, key: &'static str, value: impl Into<serde_json::Value>) -> Error {
        self.details.push((key, value.into()));
        self
    }

    /// The details, in the order they were added.
    pub fn details(&self) -> &[(&'static str, serde_json::Value)] {
        &self.details
    }

    /// A copy with the same entry, arguments and details, and no source:
    /// what a cache keeps to raise the same error again.
    pub fn clone_without_source(&self) -> Error {
        Error {
            def: self.def,
            args: self.args.clone(),
            details: self.details.clone(),
            source: None,
        }
    }

    /// The catalog entry.
    pub fn def(&self) -> &'static ErrorDef {
        self.def
    }

    /// True when this is the error `def`.
    pub fn is(&self, def: &ErrorDef) -> bool {
        std::ptr::eq(self.def, def) || self.def.id == def.id
    }

    /// The arguments, in placeholder order.
    pub fn args(&self) -> &[Arg] {
        &self.args
    }

    /// Each placeholder name with its value, for structured logs.
    pub fn named_args(&self) -> impl Iterator<Item = (&str, &Arg)> {
        self.def
            .message
            .placeholders
            .iter()
            .map(|p| &**p)
            .zip(&self.args)
    }

    /// The underlying cause, for logs.
    pub fn cause(&self) -> Option<&(dyn std::error::Error + Send + Sync + 'static)> {
        self.source.as_deref()
    }

    /// The dotted id.
    pub fn id(&self) -> &'static str {
        &self.def.id
    }

    /// The numeric code.
    pub fn code(&self) -> u32 {
        self.def.code
    }

    /// The slug.
    pub fn slug(&self) -> &'static str {
        &self.def.slug
    }

    /// The class.
    pub fn class(&self) -> Class {
        self.def.class
    }

    /// The message in the catalog's source language.
    pub fn message(&self) -> Cow<'static, str> {
        self.def.message.render(&self.args)
    }

    /// The message in `locale` when the catalog translates it.
    pub fn message_in(&self, locale: Option<&str>) -> Cow<'static, str> {
        self.def.message_for(locale).render(&self.args)
    }

    /// Appends this error as a GraphQL error object:
    /// `{"message", "extensions": {"code", "errorCode", "slug", "id", ...details}}`.
    pub fn write_graphql_json(&self, locale: Option<&str>, out: &mut Vec<u8>) {
        let wire = GraphqlError {
            message: &self.message_in(locale),
            extensions: Extensions {
                code: self.def.class.graphql_code(),
                error_code: self.def.code,
                slug: &self.def.slug,
                id: &self.def.id,
                details: Details(&self.details),
            },
        };
        serde_json::to_writer(out, &wire).expect("writing JSON into a Vec cannot fail");
    }

    /// This error as a GraphQL error object.
    pub fn to_graphql_json(&self, locale: Option<&str>) -> String {
        let mut out = Vec::with_capacity(160);
        self.write_graphql_json(locale, &mut out);
        String::from_utf8(out).expect("serde_json writes UTF-8")
    }
}

#[derive(Serialize)]
struct GraphqlError<'a> {
    message: &'a str,
    extensions: Extensions<'a>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Extensions<'a> {
    code: &'a str,
    error_code: u32,
    slug: &'a str,
    id: &'a str,
    #[serde(flatten)]
    details: Details<'a>,
}

/// The details as extra map entries; ones that would shadow a catalog
/// extension are left out.
#[derive(Debug)]
pub struct Details<'a>(pub &'a [(&'static str, serde_json::Value)]);

impl Serialize for Details<'_> {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let mut map = serializer.serialize_map(None)?;
        for (key, value) in self.0 {
            if !RESERVED.contains(key) {
                map.serialize_entry(key, value)?;
            }
        }
        map.end()
    }
}

/// Extensions that only the catalog and the pipeline set.
pub const RESERVED: &[&str] = &["code", "errorCode", "slug", "id", "requestId"];

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message())
    }
}

impl fmt::Debug for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut d = f.debug_struct("Error");
        d.field("id", &self.def.id).field("code", &self.def.code);
        if !self.args.is_empty() {
            d.field("args", &self.args);
        }
        if !self.details.is_empty() {
            d.field("details", &self.details);
        }
        if let Some(source) = &self.source {
            d.field("source", source);
        }
        d.finish()
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.source
            .as_deref()
            .map(|s| s as &(dyn std::error::Error + 'static))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::class::{Advice, Class};
    use crate::template::Template;
    use std::sync::LazyLock;

    fn def(message: &str, translations: Vec<crate::model::Translation>) -> ErrorDef {
        ErrorDef {
            id: "pages.not_found".into(),
            domain: "pages".into(),
            subdomain: None,
            code: 6003,
            slug: "PageNotFound".into(),
            class: Class::NotFound,
            message: Template::parse(message).unwrap(),
            description: "d".into(),
            advice: Advice::FixInput,
            since: None,
            deprecated: None,
            example: None,
            translations: translations.into(),
        }
    }

    static PLAIN: LazyLock<ErrorDef> = LazyLock::new(|| def("This page does not exist.", vec![]));
    static WITH_PATH: LazyLock<ErrorDef> = LazyLock::new(|| {
        let source = Template::parse("Page \"{path}\" does not exist.").unwrap();
        let fr = Template::parse_translation("La page « {path} » n'existe pas.", &source).unwrap();
        def(
            "Page \"{path}\" does not exist.",
            vec![crate::model::Translation {
                locale: "fr".into(),
                message: fr,
            }],
        )
    });

    #[test]
    fn graphql_json_has_the_catalog_extensions() {
        let err = Error::new(&PLAIN);
        let json: serde_json::Value = serde_json::from_str(&err.to_graphql_json(None)).unwrap();
        assert_eq!(
            json,
            serde_json::json!({
                "message": "This page does not exist.",
                "extensions": {"code": "NOT_FOUND", "errorCode": 6003, "slug": "PageNotFound", "id": "pages.not_found"}
            })
        );
    }

    #[test]
    fn source_is_kept_for_logs_and_never_rendered() {
        let cause = std::io::Error::other("disk /var/lib/secret on fire");
        let err = Error::with_args(&WITH_PATH, vec!["/home".into()]).with_source(cause);
        assert!(std::error::Error::source(&err).is_some());
        assert!(!err.to_graphql_json(None).contains("secret"));
        assert!(!err.to_string().contains("secret"));
        assert!(format!("{err:?}").contains("secret"));
    }

    #[test]
    fn messages_follow_the_locale_and_the_code_does_not() {
        let err = Error::with_args(&WITH_PATH, vec!["/home".into()]);
        assert_eq!(err.message(), "Page \"/home\" does not exist.");
        assert_eq!(
            err.message_in(Some("fr-CA")),
            "La page « /home » n'existe pas."
        );
        assert_eq!(err.message_in(Some("de")), "Page \"/home\" does not exist.");
        let fr: serde_json::Value = serde_json::from_str(&err.to_graphql_json(Some("fr"))).unwrap();
        assert_eq!(fr["extensions"]["code"], "NOT_FOUND");
    }

    #[test]
    fn details_extend_extensions_without_shadowing_them() {
        let err = Error::new(&PLAIN)
            .with_detail("limit", 6)
            .with_detail("code", "HIJACKED");
        let json: serde_json::Value = serde_json::from_str(&err.to_graphql_json(None)).unwrap();
        assert_eq!(json["extensions"]["limit"], 6);
        assert_eq!(json["extensions"]["code"], "NOT_FOUND");
    }

    #[test]
    fn named_args_pair_placeholders_with_values() {
        let err = Error::with_args(&WITH_PATH, vec![Arg::from_static("/x")]);
        let pairs: Vec<_> = err.named_args().map(|(k, v)| (k, v.to_string())).collect();
        assert_eq!(pairs, [("path", "/x".to_string())]);
    }
}

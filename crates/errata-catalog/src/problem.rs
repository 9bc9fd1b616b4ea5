//! Mistakes found in a catalog, reported miette-style: the file, the line and
//! column, an arrow under the offending text, what is wrong, how to fix it.

use std::fmt;
use std::ops::Range;
use std::sync::Arc;

use miette::{Diagnostic, LabeledSpan, NamedSource, SourceCode};

/// A catalog file, kept whole so that problems can point into it.
#[derive(Debug)]
pub struct SourceFile {
    /// The path as the user gave it, for display.
    pub path: String,
    source: NamedSource<String>,
}

impl SourceFile {
    /// Wraps a file's text.
    pub fn new(path: impl Into<String>, text: String) -> Arc<SourceFile> {
        let path = path.into();
        Arc::new(SourceFile {
            source: NamedSource::new(path.clone(), text),
            path,
        })
    }

    /// The file's text.
    pub fn text(&self) -> &str {
        self.source.inner()
    }

    /// 1-based line and column of a byte offset.
    pub fn line_col(&self, offset: usize) -> (usize, usize) {
        let text = self.text();
        let offset = offset.min(text.len());
        let before = &text[..offset];
        let line = before.matches('\n').count() + 1;
        let line_start = before.rfind('\n').map_or(0, |i| i + 1);
        (line, text[line_start..offset].chars().count() + 1)
    }
}

/// Which mistake a problem is. Each has a stable diagnostic code.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ProblemKind {
    /// A file could not be read.
    Io,
    /// A file is not valid TOML, or has an unknown or mistyped field.
    Syntax,
    /// The manifest is missing or incomplete.
    Manifest,
    /// A required field is missing.
    MissingField,
    /// A domain, subdomain or error name is not snake_case.
    BadName,
    /// Two errors share an id.
    DuplicateId,
    /// Two errors share a code.
    DuplicateCode,
    /// Two errors share a slug.
    DuplicateSlug,
    /// Two domains, or two subdomains of a domain, share a number.
    DuplicateGroupCode,
    /// A code is outside its domain's range or the packed bounds.
    CodeOutOfRange,
    /// A slug is not PascalCase.
    BadSlug,
    /// A class that is not in the fixed set.
    UnknownClass,
    /// An advice that is not in the fixed set.
    UnknownAdvice,
    /// A message is empty.
    EmptyMessage,
    /// A message has bad placeholder syntax.
    BadPlaceholder,
    /// A translation's placeholders differ from its source message's.
    TranslationMismatch,
    /// A translation names an error that does not exist.
    UnknownTranslation,
    /// `deprecated` lacks a version.
    DeprecatedWithoutVersion,
    /// `deprecated` names a replacement that does not exist.
    UnknownReplacement,
    /// A description is missing or empty.
    MissingDescription,
}

impl ProblemKind {
    /// The stable diagnostic code shown to users (`catalog::duplicate_code`).
    pub const fn code(self) -> &'static str {
        match self {
            ProblemKind::Io => "catalog::io",
            ProblemKind::Syntax => "catalog::syntax",
            ProblemKind::Manifest => "catalog::manifest",
            ProblemKind::MissingField => "catalog::missing_field",
            ProblemKind::BadName => "catalog::bad_name",
            ProblemKind::DuplicateId => "catalog::duplicate_id",
            ProblemKind::DuplicateCode => "catalog::duplicate_code",
            ProblemKind::DuplicateSlug => "catalog::duplicate_slug",
            ProblemKind::DuplicateGroupCode => "catalog::duplicate_group_code",
            ProblemKind::CodeOutOfRange => "catalog::code_out_of_range",
            ProblemKind::BadSlug => "catalog::bad_slug",
            ProblemKind::UnknownClass => "catalog::unknown_class",
            ProblemKind::UnknownAdvice => "catalog::unknown_advice",
            ProblemKind::EmptyMessage => "catalog::empty_message",
            ProblemKind::BadPlaceholder => "catalog::bad_placeholder",
            ProblemKind::TranslationMismatch => "catalog::translation_mismatch",
            ProblemKind::UnknownTranslation => "catalog::unknown_translation",
            ProblemKind::DeprecatedWithoutVersion => "catalog::deprecated_without_version",
            ProblemKind::UnknownReplacement => "catalog::unknown_replacement",
            ProblemKind::MissingDescription => "catalog::missing_description",
        }
    }
}

/// Where a problem is, with a label for the arrow.
#[derive(Debug, Clone)]
pub struct Location {
    /// The file.
    pub file: Arc<SourceFile>,
    /// Byte range in the file.
    pub span: Range<usize>,
    /// Text written under the arrow.
    pub label: String,
}

/// One mistake in a catalog.
#[derive(Debug, Clone)]
pub struct Problem {
    /// Which mistake.
    pub kind: ProblemKind,
    /// What is wrong.
    pub message: String,
    /// How to fix it.
    pub help: Option<String>,
    /// Where it is, when it is in a file.
    pub location: Option<Box<Location>>,
    /// Related places, such as where a duplicate was first defined.
    pub related: Vec<Problem>,
}

impl Problem {
    /// A problem with no location yet.
    pub fn new(kind: ProblemKind, message: impl Into<String>) -> Problem {
        Problem {
            kind,
            message: message.into(),
            help: None,
            location: None,
            related: Vec::new(),
        }
    }

    /// Points the problem at a span of a file.
    pub fn at(
        mut self,
        file: &Arc<SourceFile>,
        span: Range<usize>,
        label: impl Into<String>,
    ) -> Problem {
        self.location = Some(Box::new(Location {
            file: Arc::clone(file),
            span,
            label: label.into(),
        }));
        self
    }

    /// Says how to fix it.
    pub fn help(mut self, help: impl Into<String>) -> Problem {
        self.help = Some(help.into());
        self
    }

    /// Adds a related place.
    pub fn related(mut self, related: Problem) -> Problem {
        self.related.push(related);
        self
    }

    /// `path:line:column`, when the problem has a location.
    pub fn position(&self) -> Option<(String, usize, usize)> {
        self.location.as_ref().map(|loc| {
            let (line, col) = loc.file.line_col(loc.span.start);
            (loc.file.path.clone(), line, col)
        })
    }
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for Problem {}

impl Diagnostic for Problem {
    fn code<'a>(&'a self) -> Option<Box<dyn fmt::Display + 'a>> {
        Some(Box::new(self.kind.code()))
    }

    fn help<'a>(&'a self) -> Option<Box<dyn fmt::Display + 'a>> {
        self.help
            .as_ref()
            .map(|h| Box::new(h) as Box<dyn fmt::Display + 'a>)
    }

    fn source_code(&self) -> Option<&dyn SourceCode> {
        self.location
            .as_ref()
            .map(|loc| &loc.file.source as &dyn SourceCode)
    }

    fn labels(&self) -> Option<Box<dyn Iterator<Item = LabeledSpan> + '_>> {
        self.location.as_ref().map(|loc| {
            let label = LabeledSpan::new_with_span(Some(loc.label.clone()), loc.span.clone());
            Box::new(std::iter::once(label)) as Box<dyn Iterator<Item = LabeledSpan>>
        })
    }

    fn related<'a>(&'a self) -> Option<Box<dyn Iterator<Item = &'a dyn Diagnostic> + 'a>> {
        if self.related.is_empty() {
            return None;
        }
        Some(Box::new(self.related.iter().map(|p| p as &dyn Diagnostic)))
    }
}

/// Renders problems as plain text (no colours), the way `errata catalog
/// check` prints them when its output is not a terminal.
pub fn render_plain(problems: &[Problem]) -> String {
    let handler =
        miette::GraphicalReportHandler::new_themed(miette::GraphicalTheme::unicode_nocolor())
            .with_width(100);
    let mut out = String::new();
    for problem in problems {
        // Writing into a String cannot fail.
        let _ = handler.render_report(&mut out, problem);
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn line_and_column_are_one_based() {
        let file = SourceFile::new("x.toml", "ab\ncdé\nf".into());
        assert_eq!(file.line_col(0), (1, 1));
        assert_eq!(file.line_col(3), (2, 1));
        assert_eq!(file.line_col(7), (2, 4));
        assert_eq!(file.line_col(8), (3, 1));
    }

    #[test]
    fn plain_rendering_shows_file_line_column_and_help() {
        let file = SourceFile::new("pages.toml", "[errors.a]\nclass = \"Nope\"\n".into());
        let problem = Problem::new(ProblemKind::UnknownClass, "unknown class `Nope`")
            .at(&file, 19..25, "not a class")
            .help("use one of BadRequest, NotFound");
        let text = render_plain(&[problem]);
        assert!(text.contains("catalog::unknown_class"), "{text}");
        assert!(text.contains("pages.toml:2:9"), "{text}");
        assert!(text.contains("use one of BadRequest"), "{text}");
    }
}

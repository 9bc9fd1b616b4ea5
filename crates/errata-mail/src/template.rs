//! The mails errata sends, as templates: an HTML part and a text part for
//! each, in every locale of `locales/`.
//!
//! Templates are MiniJinja, locale-neutral: their words come from the
//! locale's strings (`t.subject`, `t.intro`, ...), themselves templates over
//! the mail's values. HTML parts escape every value; text parts escape
//! nothing. An operator overrides a template with a file in the data
//! directory, `mail-templates/LOCALE/NAME` (one locale) or
//! `mail-templates/NAME` (every locale), where NAME is `layout.html`,
//! `verification.txt`, ...; a file that does not load or render is
//! `MailTemplateFailed`, and the mail is not queued.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use errata_catalog::Error;
use errata_errors::mail;
use minijinja::{AutoEscape, Environment, UndefinedBehavior, Value};

/// A mail errata sends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Template {
    /// The token that verifies a new account (`name`, `token`).
    Verification,
    /// The token that resets a password (`name`, `token`).
    PasswordReset,
    /// An account made by an administrator (`name`, `email`).
    Welcome,
    /// `mail.sendTest`.
    Test,
}

impl Template {
    /// Every template.
    pub const ALL: [Template; 4] = [
        Template::Verification,
        Template::PasswordReset,
        Template::Welcome,
        Template::Test,
    ];

    /// Its name: its files' stem, its strings' table, the outbox's `kind`.
    pub fn name(self) -> &'static str {
        match self {
            Template::Verification => "verification",
            Template::PasswordReset => "password-reset",
            Template::Welcome => "welcome",
            Template::Test => "test",
        }
    }

    fn builtin(self) -> (&'static str, &'static str) {
        match self {
            Template::Verification => (
                include_str!("../templates/verification.html"),
                include_str!("../templates/verification.txt"),
            ),
            Template::PasswordReset => (
                include_str!("../templates/password-reset.html"),
                include_str!("../templates/password-reset.txt"),
            ),
            Template::Welcome => (
                include_str!("../templates/welcome.html"),
                include_str!("../templates/welcome.txt"),
            ),
            Template::Test => (
                include_str!("../templates/test.html"),
                include_str!("../templates/test.txt"),
            ),
        }
    }
}

const LAYOUT: &str = include_str!("../templates/layout.html");

/// The locales mail is written in, the first the default, with their
/// strings.
pub const LOCALES: &[(&str, &str)] = &[
    ("en", include_str!("../locales/en.toml")),
    ("fr", include_str!("../locales/fr.toml")),
];

/// A mail, rendered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rendered {
    /// The subject line.
    pub subject: String,
    /// The plain-text part.
    pub text: String,
    /// The HTML part.
    pub html: String,
}

/// The locales' strings, parsed once.
fn strings() -> &'static BTreeMap<&'static str, toml::Table> {
    static STRINGS: OnceLock<BTreeMap<&'static str, toml::Table>> = OnceLock::new();
    STRINGS.get_or_init(|| {
        LOCALES
            .iter()
            .map(|(code, text)| {
                let table = text
                    .parse::<toml::Table>()
                    .expect("a locale's mail strings are valid TOML (a test reads each)");
                (*code, table)
            })
            .collect()
    })
}

/// The locale of `wanted` mail is written in: the same code, else the same
/// language (`fr-CA` is `fr`), else the first.
pub fn locale_for(wanted: Option<&str>) -> &'static str {
    let wanted = wanted.unwrap_or("").to_ascii_lowercase();
    let language = wanted.split(['-', '_']).next().unwrap_or("");
    LOCALES
        .iter()
        .map(|(code, _)| *code)
        .find(|code| *code == wanted || *code == language)
        .unwrap_or(LOCALES[0].0)
}

/// The templates: the built-in ones, and the data directory's overrides.
#[derive(Debug, Clone)]
pub struct Templates {
    dir: PathBuf,
}

impl Templates {
    /// Templates overridden by the files in `dir` (`DATA/mail-templates`).
    pub fn new(dir: PathBuf) -> Templates {
        Templates { dir }
    }

    /// Renders `template` in `locale` with `values` (and `site`, the
    /// sender's name). A broken override is `MailTemplateFailed`, its file
    /// and fault in the log.
    pub fn render(
        &self,
        template: Template,
        locale: Option<&str>,
        site: &str,
        values: &[(&str, &str)],
    ) -> Result<Rendered, Error> {
        let locale = locale_for(locale);
        let mut context: BTreeMap<String, Value> = values
            .iter()
            .map(|(k, v)| ((*k).to_owned(), Value::from(*v)))
            .collect();
        context.insert("site".to_owned(), Value::from(site));
        context.insert("locale".to_owned(), Value::from(locale));
        let t = self.strings(template, locale, &context)?;
        let subject = t.get("subject").cloned().unwrap_or_default();
        context.insert("t".to_owned(), Value::from(t));
        let context = Value::from(context);
        let (html, text) = template.builtin();
        let mut env = environment();
        let layout = self.source("layout.html", locale, LAYOUT)?;
        let html_name = format!("{}.html", template.name());
        let text_name = format!("{}.txt", template.name());
        let html = self.source(&html_name, locale, html)?;
        let text = self.source(&text_name, locale, text)?;
        for (name, source) in [
            ("layout.html", &layout),
            (html_name.as_str(), &html),
            (text_name.as_str(), &text),
        ] {
            env.add_template_owned(name.to_owned(), source.text.clone())
                .map_err(|e| broken(source, e))?;
        }
        let render = |name: &str, source: &Source| {
            env.get_template(name)
                .and_then(|t| t.render(&context))
                .map_err(|e| broken(source, e))
        };
        Ok(Rendered {
            // A subject is one line: a template cannot add headers.
            subject: subject.replace(['\r', '\n'], " ").trim().to_owned(),
            html: render(&html_name, &html)?,
            text: render(&text_name, &text)?,
        })
    }

    /// The locale's strings for `template` (over the common ones), each
    /// rendered with the mail's values.
    fn strings(
        &self,
        template: Template,
        locale: &str,
        context: &BTreeMap<String, Value>,
    ) -> Result<BTreeMap<String, String>, Error> {
        let table = &strings()[locale];
        let env = environment();
        let mut out = BTreeMap::new();
        for section in ["common", template.name()] {
            let Some(entries) = table.get(section).and_then(toml::Value::as_table) else {
                continue;
            };
            for (key, value) in entries {
                let text = value.as_str().unwrap_or_default();
                let rendered = env
                    .render_str(text, context)
                    .map_err(|e| mail::template_failed().with_source(e))?;
                out.insert(key.clone(), rendered);
            }
        }
        Ok(out)
    }

    /// A template's text: the locale's override, the override for every
    /// locale, or the built-in one.
    fn source(&self, name: &str, locale: &str, builtin: &str) -> Result<Source, Error> {
        for path in [self.dir.join(locale).join(name), self.dir.join(name)] {
            match std::fs::read_to_string(&path) {
                Ok(text) => {
                    return Ok(Source {
                        text,
                        path: Some(path),
                    });
                }
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => {
                    return Err(mail::template_failed()
                        .with_source(std::io::Error::other(format!("{}: {e}", path.display()))));
                }
            }
        }
        Ok(Source {
            text: builtin.to_owned(),
            path: None,
        })
    }
}

/// A template's text and the file it came from, if any.
struct Source {
    text: String,
    path: Option<PathBuf>,
}

fn broken(source: &Source, e: minijinja::Error) -> Error {
    let place = source.path.as_deref().map_or_else(
        || "built-in template".to_owned(),
        |p| p.display().to_string(),
    );
    mail::template_failed().with_source(std::io::Error::other(format!("{place}: {e:#}")))
}

/// MiniJinja as the templates use it: a value a template names but the
/// mail lacks is an error, and `.html` escapes for HTML, nothing else does.
fn environment() -> Environment<'static> {
    let mut env = Environment::new();
    env.set_undefined_behavior(UndefinedBehavior::Strict);
    env.set_auto_escape_callback(|name| {
        if Path::new(name).extension().is_some_and(|e| e == "html") {
            AutoEscape::Html
        } else {
            AutoEscape::None
        }
    });
    env
}

#[cfg(test)]
mod tests {
    use super::*;

    fn values(template: Template) -> Vec<(&'static str, &'static str)> {
        match template {
            Template::Verification | Template::PasswordReset => {
                vec![("name", "Ann <b>"), ("token", "TOKEN123")]
            }
            Template::Welcome => vec![("name", "Ann <b>"), ("email", "ann@example.com")],
            Template::Test => vec![],
        }
    }

    fn scratch() -> PathBuf {
        let mut bytes = [0u8; 8];
        getrandom::fill(&mut bytes).unwrap();
        std::env::temp_dir().join(format!(
            "errata-mail-templates-{}",
            u64::from_le_bytes(bytes)
        ))
    }

    #[test]
    fn every_template_renders_in_every_locale_with_both_parts() {
        let templates = Templates::new(scratch());
        for (locale, _) in LOCALES {
            for template in Template::ALL {
                let mail = templates
                    .render(template, Some(locale), "Wiki", &values(template))
                    .unwrap_or_else(|e| panic!("{} in {locale}: {:?}", template.name(), e.cause()));
                assert!(!mail.subject.is_empty());
                assert!(mail.html.contains(&format!("<html lang=\"{locale}\">")));
                assert!(mail.html.contains("Wiki"));
                if template != Template::Test {
                    assert!(mail.html.contains("Ann &lt;b&gt;"), "{}", mail.html);
                    assert!(mail.text.contains("Ann <b>"), "{}", mail.text);
                }
            }
        }
    }

    #[test]
    fn every_locale_has_every_string_english_has() {
        let english = &strings()["en"];
        for (locale, _) in LOCALES {
            let table = &strings()[locale];
            for (section, entries) in english {
                for key in entries.as_table().unwrap().keys() {
                    assert!(
                        table
                            .get(section)
                            .and_then(|s| s.get(key))
                            .is_some_and(toml::Value::is_str),
                        "{locale} lacks {section}.{key}"
                    );
                }
            }
        }
    }

    #[test]
    fn locales_are_picked_by_code_then_language() {
        assert_eq!(locale_for(Some("fr")), "fr");
        assert_eq!(locale_for(Some("fr-CA")), "fr");
        assert_eq!(locale_for(Some("de")), "en");
        assert_eq!(locale_for(None), "en");
    }

    #[test]
    fn french_mail_is_french() {
        let mail = Templates::new(scratch())
            .render(
                Template::Verification,
                Some("fr"),
                "Wiki",
                &values(Template::Verification),
            )
            .unwrap();
        assert_eq!(mail.subject, "Vérifiez votre compte");
        assert!(mail.text.contains("Jeton de vérification: TOKEN123"));
    }

    #[test]
    fn overrides_win_per_locale_then_for_all_and_a_broken_one_fails() {
        let dir = scratch();
        std::fs::create_dir_all(dir.join("fr")).unwrap();
        std::fs::write(dir.join("test.txt"), "All: {{ site }}").unwrap();
        std::fs::write(dir.join("fr").join("test.txt"), "Tous : {{ site }}").unwrap();
        let templates = Templates::new(dir.clone());
        let en = templates.render(Template::Test, None, "W", &[]).unwrap();
        assert_eq!(en.text, "All: W");
        let fr = templates
            .render(Template::Test, Some("fr"), "W", &[])
            .unwrap();
        assert_eq!(fr.text, "Tous : W");
        std::fs::write(dir.join("layout.html"), "{% block content %}").unwrap();
        let e = templates
            .render(Template::Test, None, "W", &[])
            .unwrap_err();
        assert_eq!(e.id(), "mail.template_failed");
        assert!(e.cause().unwrap().to_string().contains("layout.html"));
        std::fs::write(dir.join("layout.html"), "{{ nothing.here }}").unwrap();
        let e = templates
            .render(Template::Test, None, "W", &[])
            .unwrap_err();
        assert_eq!(
            e.id(),
            "mail.template_failed",
            "an unknown value is an error"
        );
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn a_subject_stays_one_line() {
        let mail = Templates::new(scratch())
            .render(Template::Test, None, "Wiki\r\nBcc: x@example.com", &[])
            .unwrap();
        assert!(!mail.subject.contains('\n') && !mail.subject.contains('\r'));
    }
}

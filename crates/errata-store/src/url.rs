//! Where the database is: `sqlite:PATH` or `postgres://user@host:port/db`.

use std::fmt;
use std::path::{Path, PathBuf};
use std::str::FromStr;

use errata_catalog::Error;
use errata_errors::cli;

use crate::Backend;

/// A database errata can open.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DatabaseUrl {
    /// A SQLite file.
    Sqlite(PathBuf),
    /// A PostgreSQL database, as its URL.
    Postgres(String),
}

/// The SQLite file's name in the data directory.
pub const SQLITE_FILE: &str = "errata.db";

impl DatabaseUrl {
    /// Reads `text`. `sqlite:` alone (or nothing) is the file in `data`.
    pub fn parse(text: &str, data: &Path) -> Result<DatabaseUrl, Error> {
        let text = text.trim();
        let invalid = |reason: &str| cli::database_url_invalid(redact(text), reason.to_owned());
        if text.is_empty() {
            return Ok(DatabaseUrl::Sqlite(data.join(SQLITE_FILE)));
        }
        if let Some(rest) = text.strip_prefix("sqlite:") {
            let path = rest.strip_prefix("//").unwrap_or(rest);
            if path.contains(['?', '#']) {
                return Err(invalid("a SQLite path cannot hold `?` or `#`"));
            }
            if path.is_empty() {
                return Ok(DatabaseUrl::Sqlite(data.join(SQLITE_FILE)));
            }
            if path == ":memory:" {
                return Err(invalid(
                    "an in-memory database would lose everything at exit; give a file",
                ));
            }
            return Ok(DatabaseUrl::Sqlite(PathBuf::from(path)));
        }
        if text.starts_with("postgres://") || text.starts_with("postgresql://") {
            sqlx::postgres::PgConnectOptions::from_str(text)
                .map_err(|e| invalid(&e.to_string()))?;
            return Ok(DatabaseUrl::Postgres(text.to_owned()));
        }
        Err(invalid(
            "write sqlite:PATH, or postgres://user@host:port/database",
        ))
    }

    /// Which backend it names.
    pub fn backend(&self) -> Backend {
        match self {
            DatabaseUrl::Sqlite(_) => Backend::Sqlite,
            DatabaseUrl::Postgres(_) => Backend::Postgres,
        }
    }

    /// The URL with its password, for handing to another process or
    /// configuration; never log it.
    pub fn to_string_unredacted(&self) -> String {
        self.connect_string()
    }

    /// The URL sqlx connects with.
    pub(crate) fn connect_string(&self) -> String {
        match self {
            DatabaseUrl::Sqlite(path) => format!("sqlite://{}", path.display()),
            DatabaseUrl::Postgres(url) => url.clone(),
        }
    }
}

/// Shows the URL with its password hidden, so it can be logged.
impl fmt::Display for DatabaseUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DatabaseUrl::Sqlite(path) => write!(f, "sqlite:{}", path.display()),
            DatabaseUrl::Postgres(url) => f.write_str(&redact(url)),
        }
    }
}

/// `scheme://user:secret@host` becomes `scheme://user:***@host`; a
/// `password=` parameter is hidden too.
fn redact(url: &str) -> String {
    let mut out = url.to_owned();
    if let Some(scheme_end) = out.find("://") {
        let authority_start = scheme_end + 3;
        let authority_end = out[authority_start..]
            .find(['/', '?'])
            .map_or(out.len(), |i| authority_start + i);
        if let Some(at) = out[authority_start..authority_end].rfind('@') {
            let userinfo = &out[authority_start..authority_start + at];
            if let Some(colon) = userinfo.find(':') {
                out.replace_range(authority_start + colon + 1..authority_start + at, "***");
            }
        }
    }
    if let Some(query) = out.find('?') {
        let (head, params) = out.split_at(query + 1);
        let params: Vec<String> = params
            .split('&')
            .map(|p| match p.split_once('=') {
                Some((k, _)) if k.eq_ignore_ascii_case("password") => format!("{k}=***"),
                _ => p.to_owned(),
            })
            .collect();
        out = format!("{head}{}", params.join("&"));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_default_is_the_file_in_the_data_directory() {
        let data = Path::new("/var/lib/errata");
        for text in ["", "sqlite:", "sqlite://"] {
            assert_eq!(
                DatabaseUrl::parse(text, data).unwrap(),
                DatabaseUrl::Sqlite(data.join("errata.db"))
            );
        }
        assert_eq!(
            DatabaseUrl::parse("sqlite:/tmp/x.db", data).unwrap(),
            DatabaseUrl::Sqlite("/tmp/x.db".into())
        );
    }

    #[test]
    fn postgres_urls_are_checked_and_their_passwords_never_shown() {
        let url =
            DatabaseUrl::parse("postgres://errata:hunter2@db:5432/wiki", Path::new(".")).unwrap();
        assert_eq!(url.backend(), Backend::Postgres);
        assert_eq!(url.to_string(), "postgres://errata:***@db:5432/wiki");
        let url = DatabaseUrl::parse(
            "postgresql://db/wiki?user=u&password=hunter2",
            Path::new("."),
        )
        .unwrap();
        assert!(!url.to_string().contains("hunter2"), "{url}");
    }

    #[test]
    fn anything_else_is_refused_without_echoing_a_password() {
        for text in [
            "mysql://u:hunter2@h/db",
            "sqlite::memory:",
            "sqlite:a?b",
            "postgres://u:hunter2@h:notaport/db",
        ] {
            let e = DatabaseUrl::parse(text, Path::new(".")).unwrap_err();
            assert_eq!(e.id(), "cli.database_url_invalid", "{text}");
            assert!(!e.to_string().contains("hunter2"), "{e}");
        }
    }
}

//! Configuration: defaults, then `--config errata.toml`, then `ERRATA_*`
//! environment variables, then flags. Later sources win.
//!
//! Environment variables name keys in upper case with `_` for `-`, and `__`
//! to enter a table: `ERRATA_RATE_LIMIT=off`, `ERRATA_LIMITS__MAX_DEPTH=8`.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use clap::Args;
use errata_graphql::Limits;
use serde::Deserialize;

use crate::forwarded::TrustedProxies;

/// The server's settings.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields, rename_all = "kebab-case")]
pub struct Config {
    /// Where to listen.
    pub addr: SocketAddr,
    /// The data directory: the SQLite file (by default) and outgoing mail.
    pub data: PathBuf,
    /// `sqlite:PATH`, or `postgres://user@host:port/db` for several
    /// instances on one database; empty is `errata.db` in `data`.
    pub database: String,
    /// The longest a request waits for a database connection, in
    /// milliseconds, before it is answered `DatabaseUnavailable` (503).
    pub database_timeout_ms: u64,
    /// Database connections kept open at most.
    pub database_connections: u32,
    /// Start even when the data directory is open to other local users.
    pub insecure_data_dir: bool,
    /// Production mode: no suggestions, no introspection, no GraphiQL.
    pub production: bool,
    /// Serve GraphiQL on `GET /graphql` to browsers.
    pub graphiql: Option<bool>,
    /// Allow introspection queries.
    pub introspection: Option<bool>,
    /// Add "Did you mean ...?" to validation messages.
    pub suggestions: Option<bool>,
    /// Largest request body, in bytes.
    pub max_body_bytes: usize,
    /// Longest a request may run, in milliseconds.
    pub request_timeout_ms: u64,
    /// Requests run at once; more get 503.
    pub max_concurrent_requests: usize,
    /// `15/s`, `900/m`, or `off`.
    pub rate_limit: RateLimit,
    /// Requests allowed in a burst above the steady rate; defaults to the rate.
    pub rate_limit_burst: Option<u32>,
    /// Stricter limits for some operations, by the field path they select:
    /// `{ "authentication.login" = "5/60s" }`, as Wiki.js limits logins.
    pub operation_limits: std::collections::BTreeMap<String, RateLimit>,
    /// Document limits.
    pub limits: Limits,
    /// Parsed documents kept in the cache.
    pub document_cache: usize,
    /// Bytes the kept documents may take; as many again for the texts of
    /// persisted queries.
    pub document_cache_bytes: usize,
    /// Whole answers kept, for queries the schema marks cacheable and
    /// public (`@cacheControl`); 0 turns the response cache off.
    pub response_cache: usize,
    /// Bytes the kept answers may take.
    pub response_cache_bytes: usize,
    /// `json` (default) or `text` logs.
    pub log_format: LogFormat,
    /// Async worker threads; one per core when unset.
    pub workers: Option<usize>,
    /// Proxies whose `Forwarded` and `X-Forwarded-For` headers name the
    /// client; from any other peer they are ignored.
    pub trusted_proxies: TrustedProxies,
    /// The header those proxies append the client's address to:
    /// `x-forwarded-for` (the default) or `forwarded`. The other is ignored.
    pub trusted_proxy_header: crate::forwarded::ProxyHeader,
    /// Users, sessions, tokens and brute-force protection.
    pub auth: errata_identity::AuthConfig,
    /// The limits of page arguments: title, description, content, tags,
    /// scripts and search queries.
    pub pages: errata_pages::Limits,
    /// How the outbox delivers mail: timeouts, retries, connections, and
    /// a pickup directory instead of SMTP.
    pub mail: errata_mail::Settings,
    /// Redis, which instances share rate limits and persisted queries
    /// through: `redis://127.0.0.1:6379/0`. Without it, each instance
    /// limits on its own.
    pub redis: Option<crate::shared::RedisUrl>,
    /// The longest a call to Redis may take, in milliseconds: the most a
    /// request is slowed when Redis does not answer.
    pub redis_timeout_ms: u64,
    /// What every key errata writes in Redis starts with.
    pub redis_prefix: String,
}

impl Default for Config {
    fn default() -> Config {
        Config {
            addr: SocketAddr::from(([127, 0, 0, 1], 8080)),
            data: PathBuf::from("errata-data"),
            database: String::new(),
            database_timeout_ms: 3000,
            database_connections: 8,
            insecure_data_dir: false,
            production: false,
            graphiql: None,
            introspection: None,
            suggestions: None,
            max_body_bytes: 1 << 20,
            request_timeout_ms: 10_000,
            max_concurrent_requests: 1024,
            rate_limit: RateLimit::PerSecond(15.0),
            rate_limit_burst: None,
            operation_limits: std::collections::BTreeMap::new(),
            limits: Limits::default(),
            document_cache: 1024,
            document_cache_bytes: 16 << 20,
            response_cache: 1024,
            response_cache_bytes: 16 << 20,
            log_format: LogFormat::Json,
            workers: None,
            trusted_proxies: TrustedProxies::default(),
            trusted_proxy_header: crate::forwarded::ProxyHeader::default(),
            auth: errata_identity::AuthConfig::default(),
            pages: errata_pages::Limits::default(),
            mail: errata_mail::Settings::default(),
            redis: None,
            redis_timeout_ms: 50,
            redis_prefix: "errata:".to_owned(),
        }
    }
}

impl Config {
    /// GraphiQL is served unless turned off, or in production.
    pub fn graphiql(&self) -> bool {
        self.graphiql.unwrap_or(!self.production)
    }

    /// Introspection is allowed unless turned off, or in production.
    pub fn introspection(&self) -> bool {
        self.introspection.unwrap_or(!self.production)
    }

    /// Suggestions are given unless turned off, or in production.
    pub fn suggestions(&self) -> bool {
        self.suggestions.unwrap_or(!self.production)
    }

    /// The request timeout.
    pub fn request_timeout(&self) -> Duration {
        Duration::from_millis(self.request_timeout_ms)
    }

    /// Where the database is.
    pub fn database_url(&self) -> Result<errata_store::DatabaseUrl, errata_catalog::Error> {
        errata_store::DatabaseUrl::parse(&self.database, &self.data)
    }

    /// How to connect to it.
    pub fn store_options(&self) -> errata_store::Options {
        errata_store::Options {
            acquire_timeout: Duration::from_millis(self.database_timeout_ms.max(1)),
            max_connections: self.database_connections.max(1),
            insecure_dir: self.insecure_data_dir,
        }
    }

    /// The Redis timeout, at least a millisecond.
    pub fn redis_timeout(&self) -> Duration {
        Duration::from_millis(self.redis_timeout_ms.max(1))
    }
}

/// The log format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    /// One JSON object per line.
    Json,
    /// Human-readable lines.
    Text,
}

/// A steady request rate per client, or none.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum RateLimit {
    /// No rate limiting.
    Off,
    /// Requests per second.
    PerSecond(f64),
}

impl RateLimit {
    /// Parses `15/s`, `900/m`, `5/60s`, `10000/h` or `off`.
    pub fn parse(text: &str) -> Result<RateLimit, String> {
        let text = text.trim();
        if text.eq_ignore_ascii_case("off") {
            return Ok(RateLimit::Off);
        }
        let bad = || format!("`{text}` is not a rate: write `15/s`, `900/m`, `5/60s` or `off`");
        let (count, per) = text.split_once('/').ok_or_else(bad)?;
        let count: f64 = count.trim().parse().map_err(|_| bad())?;
        let per = per.trim();
        let (number, unit) = per.split_at(
            per.find(|c: char| c.is_ascii_alphabetic())
                .ok_or_else(bad)?,
        );
        let number: f64 = if number.is_empty() {
            1.0
        } else {
            number.parse().map_err(|_| bad())?
        };
        let seconds = match unit {
            "s" => 1.0,
            "m" => 60.0,
            "h" => 3600.0,
            _ => return Err(bad()),
        } * number;
        if !(count.is_finite() && count > 0.0 && seconds > 0.0) {
            return Err(bad());
        }
        Ok(RateLimit::PerSecond(count / seconds))
    }
}

impl<'de> Deserialize<'de> for RateLimit {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<RateLimit, D::Error> {
        let text = String::deserialize(d)?;
        RateLimit::parse(&text).map_err(serde::de::Error::custom)
    }
}

/// The flags of `errata serve`.
#[derive(Debug, Clone, Default, Args)]
pub struct ServeArgs {
    /// A TOML configuration file.
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Where to listen [default: 127.0.0.1:8080].
    #[arg(long, value_name = "ADDR")]
    pub addr: Option<SocketAddr>,
    /// The data directory [default: ./errata-data].
    #[arg(long, value_name = "DIR")]
    pub data: Option<PathBuf>,
    /// The database: `sqlite:PATH` or `postgres://user@host:port/db` [default: errata.db in the data directory].
    #[arg(long, value_name = "URL")]
    pub database: Option<String>,
    /// Start even when the data directory can be read or entered by group or others.
    #[arg(long)]
    pub insecure_data_dir: bool,
    /// Production mode: no suggestions, introspection or GraphiQL.
    #[arg(long)]
    pub production: bool,
    /// Per-client rate limit: `15/s` (the default), `900/m`, or `off`.
    #[arg(long, value_name = "RATE")]
    pub rate_limit: Option<String>,
    /// Redis, to share rate limits and persisted queries between instances:
    /// `redis://127.0.0.1:6379/0` [default: none, each instance on its own].
    #[arg(long, value_name = "URL")]
    pub redis: Option<String>,
    /// Answers the response cache keeps [default: 1024]; 0 turns it off.
    #[arg(long, value_name = "N")]
    pub response_cache: Option<usize>,
    /// Bytes the response cache's answers may take [default: 16 MiB].
    #[arg(long, value_name = "BYTES")]
    pub response_cache_bytes: Option<usize>,
    /// The log format [default: json].
    #[arg(long, value_enum)]
    pub log_format: Option<LogFormat>,
    /// Async worker threads [default: one per core].
    #[arg(long, value_name = "N")]
    pub workers: Option<usize>,
    /// Proxies whose forwarding headers name the client: addresses and
    /// CIDR blocks, comma-separated [default: none].
    #[arg(long, value_name = "LIST")]
    pub trusted_proxies: Option<String>,
}

/// Why the configuration could not be read.
#[derive(Debug)]
pub struct ConfigError(pub String);

impl std::fmt::Display for ConfigError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for ConfigError {}

impl ServeArgs {
    /// Builds the configuration from the file, `env` and these flags.
    pub fn resolve(
        &self,
        env: impl IntoIterator<Item = (String, String)>,
    ) -> Result<Config, ConfigError> {
        let mut table = match &self.config {
            Some(path) => read_file(path)?,
            None => toml::Table::new(),
        };
        for (key, value) in env {
            let Some(name) = key.strip_prefix("ERRATA_") else {
                continue;
            };
            let path: Vec<String> = name
                .split("__")
                .map(|p| p.to_ascii_lowercase().replace('_', "-"))
                .collect();
            insert(&mut table, &path, env_value(&value));
        }
        let mut flag = |key: &str, value: toml::Value| insert(&mut table, &[key.to_owned()], value);
        if let Some(addr) = self.addr {
            flag("addr", toml::Value::String(addr.to_string()));
        }
        if let Some(data) = &self.data {
            flag("data", toml::Value::String(data.display().to_string()));
        }
        if let Some(database) = &self.database {
            flag("database", toml::Value::String(database.clone()));
        }
        if self.insecure_data_dir {
            flag("insecure-data-dir", toml::Value::Boolean(true));
        }
        if self.production {
            flag("production", toml::Value::Boolean(true));
        }
        if let Some(rate) = &self.rate_limit {
            flag("rate-limit", toml::Value::String(rate.clone()));
        }
        if let Some(redis) = &self.redis {
            flag("redis", toml::Value::String(redis.clone()));
        }
        if let Some(entries) = self.response_cache {
            flag(
                "response-cache",
                toml::Value::Integer(i64::try_from(entries).unwrap_or(i64::MAX)),
            );
        }
        if let Some(bytes) = self.response_cache_bytes {
            flag(
                "response-cache-bytes",
                toml::Value::Integer(i64::try_from(bytes).unwrap_or(i64::MAX)),
            );
        }
        if let Some(workers) = self.workers {
            flag(
                "workers",
                toml::Value::Integer(i64::try_from(workers).unwrap_or(i64::MAX)),
            );
        }
        if let Some(proxies) = &self.trusted_proxies {
            flag("trusted-proxies", toml::Value::String(proxies.clone()));
        }
        if let Some(format) = self.log_format {
            let name = match format {
                LogFormat::Json => "json",
                LogFormat::Text => "text",
            };
            flag("log-format", toml::Value::String(name.to_owned()));
        }
        let config = toml::Value::Table(table)
            .try_into::<Config>()
            .map_err(|e| ConfigError(format!("invalid configuration: {}", e.message())))?;
        if let Err(e) = config.database_url() {
            return Err(ConfigError(format!("invalid configuration: {e}")));
        }
        if let Some(weakness) = config
            .auth
            .jwt_secret
            .as_deref()
            .and_then(jwt_secret_weakness)
        {
            return Err(ConfigError(format!(
                "invalid configuration: auth.jwt-secret {weakness}; it must have at least \
                 {MIN_JWT_SECRET_BYTES} bytes, at least {MIN_JWT_SECRET_DISTINCT} different \
                 characters, and not repeat a pattern shorter than {MIN_JWT_SECRET_BYTES} \
                 characters; make one with `openssl rand -base64 48`"
            )));
        }
        Ok(config)
    }
}

/// The shortest HS256 key accepted: RFC 7518 §3.2 asks for a key at least
/// as long as the hash, 256 bits.
const MIN_JWT_SECRET_BYTES: usize = 32;
/// Fewest different characters a key may have. A random 32-character hex
/// string (128 bits) has fewer than 8 once in about 30 million draws;
/// `aaaa…` or `abab…` have one or two.
const MIN_JWT_SECRET_DISTINCT: usize = 8;

/// Why a configured JWT key is too weak to sign with, if it is: anyone who
/// guesses it signs sessions for any user, so the checks reject keys a
/// person typed (short, few characters, a pattern repeated) rather than
/// ones a generator made.
fn jwt_secret_weakness(secret: &str) -> Option<String> {
    if secret.len() < MIN_JWT_SECRET_BYTES {
        return Some(format!("has {} bytes", secret.len()));
    }
    let chars: Vec<char> = secret.chars().collect();
    let distinct = chars.iter().collect::<std::collections::HashSet<_>>().len();
    if distinct < MIN_JWT_SECRET_DISTINCT {
        return Some(format!("has only {distinct} different characters"));
    }
    // A key that repeats a pattern is worth only the pattern: everything
    // after its first period follows from it.
    let period = smallest_period(&chars);
    if period < MIN_JWT_SECRET_BYTES && period < chars.len() {
        return Some(format!("repeats a pattern of {period} characters"));
    }
    None
}

/// The smallest `p` such that `text[i] == text[i + p]` wherever both exist
/// (Knuth–Morris–Pratt's failure function): `abcabcab` has period 3.
fn smallest_period(text: &[char]) -> usize {
    let mut border = vec![0usize; text.len()];
    let mut k = 0;
    for i in 1..text.len() {
        while k > 0 && text[i] != text[k] {
            k = border[k - 1];
        }
        if text[i] == text[k] {
            k += 1;
        }
        border[i] = k;
    }
    text.len() - border.last().copied().unwrap_or(0)
}

fn read_file(path: &Path) -> Result<toml::Table, ConfigError> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| ConfigError(format!("cannot read {}: {e}", path.display())))?;
    text.parse::<toml::Table>()
        .map_err(|e| ConfigError(format!("{}: {}", path.display(), e.message())))
}

/// An environment value as TOML when it reads as a number or a boolean,
/// otherwise as a string.
fn env_value(text: &str) -> toml::Value {
    if let Ok(b) = text.parse::<bool>() {
        return toml::Value::Boolean(b);
    }
    if let Ok(i) = text.parse::<i64>() {
        return toml::Value::Integer(i);
    }
    toml::Value::String(text.to_owned())
}

fn insert(table: &mut toml::Table, path: &[String], value: toml::Value) {
    match path {
        [] => {}
        [last] => {
            table.insert(last.clone(), value);
        }
        [first, rest @ ..] => {
            let entry = table
                .entry(first.clone())
                .or_insert_with(|| toml::Value::Table(toml::Table::new()));
            if !entry.is_table() {
                *entry = toml::Value::Table(toml::Table::new());
            }
            if let toml::Value::Table(inner) = entry {
                insert(inner, rest, value);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rates_are_parsed() {
        assert_eq!(RateLimit::parse("15/s"), Ok(RateLimit::PerSecond(15.0)));
        assert_eq!(RateLimit::parse("900/m"), Ok(RateLimit::PerSecond(15.0)));
        assert_eq!(
            RateLimit::parse("5/60s"),
            Ok(RateLimit::PerSecond(5.0 / 60.0))
        );
        assert_eq!(RateLimit::parse("off"), Ok(RateLimit::Off));
        assert!(RateLimit::parse("15").is_err());
        assert!(RateLimit::parse("-1/s").is_err());
        assert!(RateLimit::parse("1/y").is_err());
    }

    #[test]
    fn flags_beat_environment_which_beats_the_file() {
        let dir = std::env::temp_dir().join(format!("errata-config-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join("errata.toml");
        std::fs::write(&file, "addr = \"127.0.0.1:1\"\ndata = \"from-file\"\nmax-body-bytes = 10\n[limits]\nmax-depth = 3\n").unwrap();
        let args = ServeArgs {
            config: Some(file),
            addr: Some("127.0.0.1:3".parse().unwrap()),
            response_cache: Some(0),
            response_cache_bytes: Some(4096),
            ..ServeArgs::default()
        };
        let env = [
            ("ERRATA_ADDR".to_owned(), "127.0.0.1:2".to_owned()),
            ("ERRATA_RESPONSE_CACHE".to_owned(), "9".to_owned()),
            ("ERRATA_DATA".to_owned(), "from-env".to_owned()),
            ("ERRATA_LIMITS__MAX_ALIASES".to_owned(), "4".to_owned()),
            ("ERRATA_DOCUMENT_CACHE_BYTES".to_owned(), "65536".to_owned()),
            ("ERRATA_RESPONSE_CACHE_BYTES".to_owned(), "9".to_owned()),
            ("OTHER".to_owned(), "x".to_owned()),
        ];
        let config = args.resolve(env).unwrap();
        assert_eq!(config.addr.port(), 3);
        assert_eq!(config.response_cache, 0);
        assert_eq!(config.response_cache_bytes, 4096);
        assert_eq!(config.document_cache_bytes, 65536);
        assert_eq!(config.data, PathBuf::from("from-env"));
        assert_eq!(config.max_body_bytes, 10);
        assert_eq!(config.limits.max_depth, 3);
        assert_eq!(config.limits.max_aliases, 4);
        assert_eq!(
            config.limits.max_tokens, 1000,
            "unset limits keep their defaults"
        );
    }

    #[test]
    fn unknown_keys_and_bad_values_are_refused() {
        let args = ServeArgs::default();
        let err = args
            .resolve([("ERRATA_RATE_LIMIT".to_owned(), "fast".to_owned())])
            .unwrap_err();
        assert!(err.0.contains("not a rate"), "{err}");
        let err = args
            .resolve([("ERRATA_NOPE".to_owned(), "1".to_owned())])
            .unwrap_err();
        assert!(err.0.contains("nope"), "{err}");
        let err = args
            .resolve([("ERRATA_AUTH__JWT_SECRET".to_owned(), "short".to_owned())])
            .unwrap_err();
        assert!(err.0.contains("at least 32"), "{err}");
        let config = args
            .resolve([
                ("ERRATA_AUTH__REGISTRATION".to_owned(), "true".to_owned()),
                (
                    "ERRATA_AUTH__BRUTE_FORCE__MIN_WAIT_SECS".to_owned(),
                    "5".to_owned(),
                ),
            ])
            .unwrap();
        assert!(config.auth.registration);
        assert_eq!(config.auth.brute_force.min_wait_secs, 5);
    }

    #[test]
    fn the_outbox_is_configured_under_mail() {
        let config = ServeArgs::default()
            .resolve([
                (
                    "ERRATA_MAIL__PICKUP_DIR".to_owned(),
                    "/tmp/pickup".to_owned(),
                ),
                ("ERRATA_MAIL__RETRY_BASE_MS".to_owned(), "5".to_owned()),
            ])
            .unwrap();
        assert_eq!(config.mail.pickup_dir, Some(PathBuf::from("/tmp/pickup")));
        assert_eq!(config.mail.retry_base_ms, 5);
        assert_eq!(
            config.mail.max_attempts, 10,
            "unset keys keep their defaults"
        );
        let err = ServeArgs::default()
            .resolve([(
                "ERRATA_MAIL__HOST".to_owned(),
                "smtp.example.com".to_owned(),
            )])
            .unwrap_err();
        assert!(
            err.0.contains("host"),
            "the SMTP server is set through the API, not here: {err}"
        );
    }

    fn jwt_secret(secret: &str) -> Result<Config, ConfigError> {
        ServeArgs::default().resolve([("ERRATA_AUTH__JWT_SECRET".to_owned(), secret.to_owned())])
    }

    #[test]
    fn jwt_secrets_of_32_bytes_that_a_person_would_type_are_refused() {
        for (secret, why) in [
            ("a".repeat(31), "has 31 bytes"),
            ("a".repeat(64), "has only 1 different characters"),
            ("ab".repeat(32), "has only 2 different characters"),
            (
                "aaaaaaaabbbbbbbbccccccccdddddddd".to_owned(),
                "has only 4 different characters",
            ),
            ("abcdefgh".repeat(4), "repeats a pattern of 8 characters"),
            ("password".repeat(4), "has only 7 different characters"),
            (
                "s3cr3t-k3y!".repeat(3),
                "repeats a pattern of 11 characters",
            ),
            (
                format!("{}01234", "0123456789".repeat(3)),
                "repeats a pattern of 10 characters",
            ),
            (
                "0123456789abcdef".repeat(4),
                "repeats a pattern of 16 characters",
            ),
        ] {
            let err = jwt_secret(&secret).unwrap_err();
            assert!(err.0.contains(why), "{secret}: {err}");
            assert!(err.0.contains("openssl rand -base64 48"), "{err}");
            assert!(
                !err.0.contains(&secret),
                "the key is not repeated back: {err}"
            );
        }
    }

    #[test]
    fn jwt_secrets_a_generator_made_are_accepted() {
        for secret in [
            // 128 bits as hex, 256 as base64, and the test suite's key.
            "3f9c2a7be01d48c6a5f3e9d2b7c1a084",
            "q8Jv1Xk3bH9sTzW0rN5cYp2LmA7dGfE4uRiO6VnS+Qe=",
            "errata-test-secret-with-more-than-32-bytes",
        ] {
            let config = jwt_secret(secret).unwrap_or_else(|e| panic!("{secret}: {e}"));
            assert_eq!(config.auth.jwt_secret.as_deref(), Some(secret));
        }
        assert_eq!(
            smallest_period(&['a', 'b', 'c', 'a', 'b', 'c', 'a', 'b']),
            3
        );
        assert_eq!(smallest_period(&['a', 'b', 'c']), 3);
        assert_eq!(smallest_period(&[]), 0);
    }

    #[test]
    fn redis_is_off_unless_set_and_its_url_is_checked() {
        let config = ServeArgs::default().resolve([]).unwrap();
        assert!(config.redis.is_none());
        assert_eq!(config.redis_timeout(), Duration::from_millis(50));
        assert_eq!(config.redis_prefix, "errata:");
        let args = ServeArgs {
            redis: Some("redis://127.0.0.1:6380/1".to_owned()),
            ..ServeArgs::default()
        };
        let config = args
            .resolve([
                (
                    "ERRATA_REDIS".to_owned(),
                    "redis://127.0.0.1:6379/0".to_owned(),
                ),
                ("ERRATA_REDIS_TIMEOUT_MS".to_owned(), "20".to_owned()),
                ("ERRATA_REDIS_PREFIX".to_owned(), "wiki:".to_owned()),
            ])
            .unwrap();
        let redis = format!("{:?}", config.redis);
        assert!(redis.contains("6380"), "the flag wins: {redis}");
        assert_eq!(config.redis_timeout_ms, 20);
        assert_eq!(config.redis_prefix, "wiki:");
        let err = ServeArgs::default()
            .resolve([(
                "ERRATA_REDIS".to_owned(),
                "http://user:hunter2@example.com".to_owned(),
            )])
            .unwrap_err();
        assert!(err.0.contains("not a Redis URL"), "{err}");
        assert!(!err.0.contains("hunter2"), "{err}");
    }

    #[test]
    fn trusted_proxies_come_from_the_file_the_environment_or_the_flag() {
        let dir = std::env::temp_dir().join(format!("errata-proxies-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join("errata.toml");
        std::fs::write(
            &file,
            "trusted-proxies = [\"10.0.0.0/8\", \"2001:db8::1\"]\n",
        )
        .unwrap();
        let from_file = ServeArgs {
            config: Some(file.clone()),
            ..ServeArgs::default()
        };
        let ip = |s: &str| s.parse::<std::net::IpAddr>().unwrap();
        let config = from_file.resolve([]).unwrap();
        assert!(config.trusted_proxies.contains(ip("10.1.2.3")));
        assert!(config.trusted_proxies.contains(ip("2001:db8::1")));
        assert!(!config.trusted_proxies.contains(ip("192.0.2.1")));
        let env = [(
            "ERRATA_TRUSTED_PROXIES".to_owned(),
            "192.0.2.0/24, ::1".to_owned(),
        )];
        let config = from_file.resolve(env.clone()).unwrap();
        assert!(config.trusted_proxies.contains(ip("192.0.2.9")));
        assert!(
            !config.trusted_proxies.contains(ip("10.1.2.3")),
            "the environment beats the file"
        );
        let flag = ServeArgs {
            trusted_proxies: Some("127.0.0.1".to_owned()),
            ..from_file
        };
        let config = flag.resolve(env).unwrap();
        assert!(config.trusted_proxies.contains(ip("127.0.0.1")));
        assert!(
            !config.trusted_proxies.contains(ip("192.0.2.9")),
            "the flag beats both"
        );
        assert!(
            ServeArgs::default()
                .resolve([])
                .unwrap()
                .trusted_proxies
                .is_empty()
        );
        for bad in ["10.0.0.0/33", "proxy.example", "0.0.0.0/0"] {
            let err = ServeArgs::default()
                .resolve([("ERRATA_TRUSTED_PROXIES".to_owned(), bad.to_owned())])
                .unwrap_err();
            assert!(
                err.0.contains("trusted-proxies") && err.0.contains(bad),
                "{err}"
            );
        }
        std::fs::write(&file, "trusted-proxies = [\"10.0.0.0/8\", 7]\n").unwrap();
        let err = ServeArgs {
            config: Some(file),
            ..ServeArgs::default()
        }
        .resolve([])
        .unwrap_err();
        assert!(err.0.starts_with("invalid configuration"), "{err}");
    }

    #[test]
    fn production_turns_off_hints() {
        let config = ServeArgs {
            production: true,
            ..ServeArgs::default()
        }
        .resolve([])
        .unwrap();
        assert!(!config.graphiql() && !config.introspection() && !config.suggestions());
        assert!(Config::default().suggestions());
    }
}

//! What instances share through Redis (the `redis` setting): the rate
//! limits (`ratelimit`) and the persisted queries ([`documents`]), over one
//! connection with a timeout on every call.
//!
//! Redis makes instances agree; no request depends on it. Every call is
//! bounded by `redis-timeout-ms`, and a call that fails or times out makes
//! its caller fall back to what the instance knows alone: its own rate
//! limiter, its own persisted queries. The first such failure marks Redis
//! down, and until a probe in the background gets an answer from a new
//! connection, nothing calls Redis: a blackholed Redis slows the requests
//! that were waiting on it when it went silent, and no others. Each outage
//! is logged twice (a warning when it starts, a note when it ends) and
//! counted in `errata_redis_errors_total` and `errata_redis_up`.

pub mod documents;

use std::future::Future;
use std::str::FromStr;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, RwLock, Weak};
use std::time::{Duration, Instant};

use metrics::{Counter, Gauge};
use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use redis::{ErrorKind, RedisError, RedisResult};
use serde::Deserialize;

/// How long Redis is left alone after a failure before the next probe.
/// Short, because limits are per instance until it answers again; long
/// enough that a Redis that is down costs one connection attempt a second.
const PROBE_EVERY: Duration = Duration::from_secs(1);

/// How often a Redis that answers with errors (out of memory, a replica
/// that refuses writes) is logged: such errors do not mark it down, since
/// it answers at once, and a log line per request would flood the log.
const REPLY_ERRORS_LOGGED_EVERY: Duration = Duration::from_secs(60);

/// The `redis` setting: where Redis is, as `redis://[user:password@]host[:port][/db]`
/// or `unix:///path/to/socket`. Its password is never printed.
#[derive(Clone, Debug)]
pub struct RedisUrl(redis::Client);

impl FromStr for RedisUrl {
    type Err = String;

    fn from_str(text: &str) -> Result<RedisUrl, String> {
        // The text is not repeated back: it may hold a password.
        redis::Client::open(text).map(RedisUrl).map_err(|_| {
            "`redis` is not a Redis URL: write redis://[user:password@]host[:port][/db] \
             or unix:///path/to/socket"
                .to_owned()
        })
    }
}

impl<'de> Deserialize<'de> for RedisUrl {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<RedisUrl, D::Error> {
        let text = String::deserialize(d)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

/// The connection to Redis every shared thing goes through.
#[derive(Debug, Clone)]
pub struct Redis {
    inner: Arc<Inner>,
}

struct Inner {
    client: redis::Client,
    /// Replaced by the probe after an outage: a connection that stopped
    /// answering is not trusted again.
    connection: RwLock<ConnectionManager>,
    timeout: Duration,
    prefix: Arc<str>,
    /// Whether calls go to Redis; false from the first failure until a
    /// probe gets an answer.
    up: AtomicBool,
    /// Milliseconds from `epoch` when an answered error was last logged.
    reply_error_logged: AtomicU64,
    epoch: Instant,
    errors: Counter,
    gauge: Gauge,
}

impl std::fmt::Debug for Inner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Redis")
            .field("client", &self.client)
            .field("prefix", &self.prefix)
            .field("up", &self.up)
            .finish_non_exhaustive()
    }
}

/// Why a call got no answer.
enum Failure {
    /// Redis did not answer in time, or the connection failed: Redis is
    /// down until a probe says otherwise.
    Outage(String),
    /// Redis answered with an error: this call falls back, the next tries again.
    Reply(RedisError),
}

impl From<RedisError> for Failure {
    fn from(e: RedisError) -> Failure {
        match e.kind() {
            ErrorKind::Server(_) | ErrorKind::Extension | ErrorKind::UnexpectedReturnType => {
                Failure::Reply(e)
            }
            _ => Failure::Outage(e.to_string()),
        }
    }
}

impl Redis {
    /// Connects to `url`, waiting at most about twice `timeout` for a first
    /// answer. A Redis that does not answer is no reason not to start: it is
    /// marked down and probed until it answers, and the instance limits on
    /// its own until then. Keys are written under `prefix`.
    pub async fn connect(url: &RedisUrl, timeout: Duration, prefix: &str) -> Redis {
        // Handles belong to the recorder installed when they are made.
        let _ = crate::metrics::prometheus();
        let client = url.0.clone();
        let connection = manager(&client, timeout);
        let inner = Arc::new(Inner {
            client,
            connection: RwLock::new(connection.clone()),
            timeout,
            prefix: Arc::from(prefix),
            up: AtomicBool::new(false),
            reply_error_logged: AtomicU64::new(0),
            epoch: Instant::now(),
            errors: metrics::counter!("errata_redis_errors_total"),
            gauge: metrics::gauge!("errata_redis_up"),
        });
        match ping(connection, timeout).await {
            Ok(()) => {
                inner.up.store(true, Ordering::Release);
                inner.gauge.set(1.0);
            }
            Err(why) => {
                inner.errors.increment(1);
                inner.gauge.set(0.0);
                tracing::warn!(
                    error = why,
                    "Redis does not answer: limits are per instance until it does"
                );
                spawn_probe(Arc::downgrade(&inner));
            }
        }
        Redis { inner }
    }

    /// The prefix of every key this instance writes.
    pub fn prefix(&self) -> &str {
        &self.inner.prefix
    }

    /// Runs `call` on the connection within the timeout; `None` when Redis
    /// is down, does not answer in time, or answers with an error, in which
    /// case the caller does without it.
    pub(crate) async fn call<T, F, Fut>(&self, call: F) -> Option<T>
    where
        F: FnOnce(ConnectionManager) -> Fut,
        Fut: Future<Output = RedisResult<T>>,
    {
        let inner = &self.inner;
        if !inner.up.load(Ordering::Acquire) {
            return None;
        }
        let connection = inner.connection.read().ok()?.clone();
        let failure = match tokio::time::timeout(inner.timeout, call(connection)).await {
            Ok(Ok(value)) => return Some(value),
            Ok(Err(e)) => Failure::from(e),
            Err(_) => Failure::Outage(format!("no answer within {} ms", inner.timeout.as_millis())),
        };
        inner.errors.increment(1);
        match failure {
            Failure::Outage(why) => {
                // Of the calls that fail together, one reports the outage
                // and starts the probe.
                if inner.up.swap(false, Ordering::AcqRel) {
                    inner.gauge.set(0.0);
                    tracing::warn!(
                        error = why,
                        "Redis does not answer: limits are per instance until it does"
                    );
                    spawn_probe(Arc::downgrade(&self.inner));
                }
            }
            Failure::Reply(e) => {
                let now = inner.epoch.elapsed().as_millis() as u64;
                let last = inner.reply_error_logged.load(Ordering::Relaxed);
                let due = last == 0
                    || now.saturating_sub(last) >= REPLY_ERRORS_LOGGED_EVERY.as_millis() as u64;
                if due
                    && inner
                        .reply_error_logged
                        .compare_exchange(last, now.max(1), Ordering::Relaxed, Ordering::Relaxed)
                        .is_ok()
                {
                    tracing::warn!(error = %e, "Redis refused a command; this instance did without it");
                }
            }
        }
        None
    }
}

/// A connection manager that gives up on a connection or an answer after
/// `timeout`, and retries nothing itself: the probe does.
fn manager(client: &redis::Client, timeout: Duration) -> ConnectionManager {
    let config = ConnectionManagerConfig::new()
        .set_connection_timeout(Some(timeout))
        .set_response_timeout(Some(timeout))
        .set_number_of_retries(0);
    // Lazy: it fails only for push settings, which are not used.
    ConnectionManager::new_lazy_with_config(client.clone(), config)
        .expect("a connection manager without push settings")
}

/// A PING on `connection`, which connects it first: within `timeout` for
/// the connection and as much again for the answer.
async fn ping(mut connection: ConnectionManager, timeout: Duration) -> Result<(), String> {
    let ping = redis::cmd("PING");
    match tokio::time::timeout(timeout * 2, ping.query_async::<()>(&mut connection)).await {
        Ok(Ok(())) => Ok(()),
        Ok(Err(e)) => Err(e.to_string()),
        Err(_) => Err(format!("no answer within {} ms", timeout.as_millis())),
    }
}

/// Probes Redis every [`PROBE_EVERY`] on a new connection until it answers,
/// then puts that connection in use. Ends with the server.
fn spawn_probe(inner: Weak<Inner>) {
    tokio::spawn(async move {
        let down = Instant::now();
        loop {
            tokio::time::sleep(PROBE_EVERY).await;
            let Some(inner) = inner.upgrade() else {
                return;
            };
            let connection = manager(&inner.client, inner.timeout);
            match ping(connection.clone(), inner.timeout).await {
                Ok(()) => {
                    if let Ok(mut current) = inner.connection.write() {
                        *current = connection;
                    }
                    inner.up.store(true, Ordering::Release);
                    inner.gauge.set(1.0);
                    tracing::info!(
                        down_ms = down.elapsed().as_millis() as u64,
                        "Redis answers again: limits are shared again"
                    );
                    return;
                }
                Err(_) => inner.errors.increment(1),
            }
        }
    });
}

#[cfg(test)]
pub(crate) mod testing {
    use super::*;

    /// The machine's Redis (or `ERRATA_TEST_REDIS`'s), under a prefix of
    /// its own: tests running at once never see each other's keys.
    pub async fn redis() -> Redis {
        let url = std::env::var("ERRATA_TEST_REDIS")
            .unwrap_or_else(|_| "redis://127.0.0.1:6379".to_owned());
        let mut bytes = [0u8; 8];
        getrandom::fill(&mut bytes).expect("random bytes");
        let prefix = format!("errata-test:{:016x}:", u64::from_le_bytes(bytes));
        let url = url.parse().expect("a Redis URL");
        // Generous: a loaded machine must not turn a slow answer into a fallback.
        let redis = Redis::connect(&url, Duration::from_secs(2), &prefix).await;
        assert!(
            redis.inner.up.load(Ordering::Acquire),
            "the tests need Redis at {url:?}"
        );
        redis
    }

    /// A connection of the tests' own, for commands errata does not send.
    pub fn connection(redis: &Redis) -> ConnectionManager {
        redis.inner.connection.read().expect("not poisoned").clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    use crate::telemetry::captured::Captured;

    async fn ping(redis: &Redis) -> Option<String> {
        redis
            .call(|mut c| async move { redis::cmd("PING").query_async(&mut c).await })
            .await
    }

    /// On one thread, so that the probe logs where the test listens.
    #[tokio::test(flavor = "current_thread")]
    async fn an_outage_is_logged_once_each_way_and_redis_is_left_alone_meanwhile() {
        let captured = Captured::default();
        let subscriber = tracing_subscriber::fmt()
            .with_writer(captured.clone())
            .with_ansi(false)
            .finish();
        let _logs = tracing::subscriber::set_default(subscriber);
        let redis = testing::redis().await;
        let reset = || async {
            Err::<(), _>(RedisError::from(std::io::Error::from(
                std::io::ErrorKind::ConnectionReset,
            )))
        };
        assert_eq!(redis.call(|_| reset()).await, None);
        let mut asked = false;
        let answer = redis
            .call(|_| {
                asked = true;
                reset()
            })
            .await;
        assert_eq!(answer, None);
        assert!(!asked, "Redis is not asked while it is down");

        let deadline = Instant::now() + Duration::from_secs(10);
        while !redis.inner.up.load(Ordering::Acquire) {
            assert!(Instant::now() < deadline, "the probe never found Redis");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        assert_eq!(ping(&redis).await.as_deref(), Some("PONG"));

        let refused = redis
            .call(|mut c| async move {
                redis::cmd("NO-SUCH-COMMAND")
                    .query_async::<()>(&mut c)
                    .await
            })
            .await;
        assert_eq!(refused, None);
        assert_eq!(
            ping(&redis).await.as_deref(),
            Some("PONG"),
            "an error Redis answers is no outage"
        );

        let logs = String::from_utf8(captured.0.lock().unwrap().clone()).unwrap();
        assert_eq!(logs.matches("Redis does not answer").count(), 1, "{logs}");
        assert_eq!(logs.matches("Redis answers again").count(), 1, "{logs}");
        assert_eq!(logs.matches("Redis refused a command").count(), 1, "{logs}");
    }

    #[test]
    fn a_redis_url_is_checked_and_not_repeated() {
        assert!("redis://127.0.0.1:6379/0".parse::<RedisUrl>().is_ok());
        assert!("unix:///run/redis.sock".parse::<RedisUrl>().is_ok());
        let err = "http://user:hunter2@example.com"
            .parse::<RedisUrl>()
            .unwrap_err();
        assert!(!err.contains("hunter2"), "{err}");
        let url: RedisUrl = "redis://:hunter2@127.0.0.1:6379/0".parse().unwrap();
        assert!(!format!("{url:?}").contains("hunter2"), "{url:?}");
    }
}

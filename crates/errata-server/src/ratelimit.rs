//! Rate limiting: GCRA per client identity, checked before the body is
//! read, and answered with the IETF `RateLimit` headers.
//!
//! Each limit is counted in this process (governor) unless Redis is set,
//! in which case it is counted in Redis for every instance at once
//! ([`shared`]), and in this process only while Redis does not answer.

use std::net::IpAddr;
use std::num::NonZeroU32;
use std::sync::Arc;
use std::time::Duration;

use axum::http::HeaderValue;
use errata_graphql::response::{NUMBER_MARK, REQUEST_ID_MARK, Template, error_body};
use errata_identity::brute::client_network;
use governor::clock::{Clock, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};

use crate::config::RateLimit;
use crate::shared::Redis;

mod shared;

use shared::{Allowance, SharedLimit, Verdict};

/// Who a request counts against: the token's subject once clients
/// authenticate, otherwise the network it comes from.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Client {
    /// An anonymous client, by its network.
    Network(Network),
    /// An authenticated client, by subject.
    Subject(Arc<str>),
}

impl Client {
    /// The anonymous client at `ip`.
    pub fn address(ip: IpAddr) -> Client {
        Client::Network(Network(client_network(ip)))
    }

    /// Its name in Redis keys: `n:` and the network, or `s:` and the subject.
    fn key(&self) -> String {
        match self {
            Client::Network(network) => format!("n:{}", network.0),
            Client::Subject(subject) => format!("s:{subject}"),
        }
    }
}

/// The network an address counts as: an IPv4 address, or an IPv6 address's
/// /64, which one host usually has whole. The brute-force keys count
/// addresses the same way. Its field is private so that no limiter can be
/// keyed by a whole IPv6 address, which a client could rotate through.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Network(IpAddr);

/// A rate limiter keyed by client identity.
#[derive(Debug, Clone)]
pub struct ClientLimiter {
    /// The count in this process: the only one without Redis, the fallback with it.
    limiter: Arc<DefaultKeyedRateLimiter<Client>>,
    clock: DefaultClock,
    /// The count every instance shares, when Redis is set.
    shared: Option<Arc<SharedLimit>>,
    allowance: Allowance,
    /// The policy's name in the headers: `default`, or an operation's path.
    name: Arc<str>,
    /// `"default";q=15;w=1`, precomputed.
    policy: HeaderValue,
    /// The 429 body in each locale (`None` first: the source language),
    /// rendered once: a refusal must cost less than a request.
    bodies: Arc<[(Option<&'static str>, Template)]>,
    /// Whole seconds for the bucket to fill: what a request asking for more
    /// than it can ever hold is told to wait.
    window: u64,
}

/// A refused request: when to come back.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Refusal {
    /// Whole seconds to wait, at least 1.
    pub retry_after: u64,
}

impl Refusal {
    /// Come back after `wait`, rounded up to whole seconds.
    fn after(wait: Duration) -> Refusal {
        Refusal {
            retry_after: (wait.as_secs_f64().ceil() as u64).max(1),
        }
    }
}

impl ClientLimiter {
    /// A limiter for `rate`, allowing `burst` requests at once; `None` when off.
    pub fn new(rate: RateLimit, burst: Option<u32>) -> Option<ClientLimiter> {
        ClientLimiter::named("default", rate, burst)
    }

    /// A limiter whose policy is called `name` in the headers.
    pub fn named(name: &str, rate: RateLimit, burst: Option<u32>) -> Option<ClientLimiter> {
        let RateLimit::PerSecond(per_second) = rate else {
            return None;
        };
        let period = Duration::from_secs_f64(1.0 / per_second);
        let default_burst = per_second.ceil().clamp(1.0, f64::from(u32::MAX)) as u32;
        let burst = NonZeroU32::new(burst.unwrap_or(default_burst)).unwrap_or(NonZeroU32::MIN);
        let quota = Quota::with_period(period)?.allow_burst(burst);
        // Quota units: `burst` requests per window of burst × period.
        let window = (period.as_secs_f64() * f64::from(burst.get()))
            .ceil()
            .max(1.0) as u64;
        let policy = format!("\"{name}\";q={};w={window}", burst.get());
        let locales = std::iter::once(None).chain(
            errata_errors::CATALOG
                .locales
                .iter()
                .map(|l| Some(&**l as &'static str)),
        );
        let bodies = locales
            .map(|locale| {
                let error =
                    errata_errors::http::rate_limited().with_detail("retryAfter", NUMBER_MARK);
                let body = error_body(&error, locale, REQUEST_ID_MARK);
                let template = Template::cut(&body, 2, 1)
                    .expect("the 429 body holds the request id twice and retryAfter once");
                (locale, template)
            })
            .collect();
        Some(ClientLimiter {
            limiter: Arc::new(RateLimiter::keyed(quota)),
            clock: DefaultClock::default(),
            shared: None,
            allowance: Allowance::new(per_second, burst.get()),
            name: Arc::from(name),
            // Names are operation paths from the configuration; a name that
            // is no header text gets a policy without it.
            policy: HeaderValue::from_str(&policy)
                .unwrap_or_else(|_| HeaderValue::from_static("\"limit\"")),
            bodies,
            window,
        })
    }

    /// This limit, counted in `redis` for every instance that shares it
    /// (same name and key prefix); without Redis, counted here.
    pub fn sharing(mut self, redis: Option<&Redis>) -> ClientLimiter {
        self.shared =
            redis.map(|redis| Arc::new(SharedLimit::new(redis, &self.name, self.allowance)));
        self
    }

    /// Counts one request from `client`.
    pub async fn check(&self, client: &Client) -> Result<(), Refusal> {
        self.check_n(client, 1).await
    }

    /// Counts `n` requests from `client` at once, as one request that
    /// selects a limited field `n` times: all of them pass or none is
    /// counted. More than the burst can ever allow is refused too, with the
    /// time the whole bucket takes to fill.
    pub async fn check_n(&self, client: &Client, n: u64) -> Result<(), Refusal> {
        if n == 0 {
            return Ok(());
        }
        if n > self.allowance.burst {
            return Err(Refusal {
                retry_after: self.window,
            });
        }
        if let Some(shared) = &self.shared {
            // Boxed, so that a server without Redis does not carry the
            // call's state in every request's future.
            match Box::pin(shared.check(client, n)).await {
                Verdict::Allowed => return Ok(()),
                Verdict::Refused(wait) => return Err(Refusal::after(wait)),
                Verdict::Unavailable => {}
            }
        }
        self.check_here(client, n)
    }

    /// Counts `n` requests, at most the burst, in this process.
    fn check_here(&self, client: &Client, n: u64) -> Result<(), Refusal> {
        let counted = match u32::try_from(n).ok().and_then(NonZeroU32::new) {
            Some(n) if n == NonZeroU32::MIN => self.limiter.check_key(client),
            Some(n) => match self.limiter.check_key_n(client, n) {
                Ok(counted) => counted,
                Err(_) => {
                    return Err(Refusal {
                        retry_after: self.window,
                    });
                }
            },
            None => return Ok(()),
        };
        counted.map_err(|not_until| Refusal::after(not_until.wait_time_from(self.clock.now())))
    }

    /// The policy's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The `RateLimit-Policy` header value.
    pub fn policy(&self) -> &HeaderValue {
        &self.policy
    }

    /// The 429 body for `request_id`, in `locale`.
    pub fn body(&self, locale: Option<&str>, request_id: &str, retry_after: u64) -> Vec<u8> {
        let template = self
            .bodies
            .iter()
            .find(|(l, _)| *l == locale)
            .unwrap_or(&self.bodies[0]);
        template.1.fill(request_id, retry_after)
    }

    /// Forgets clients that are back to a full allowance; call it now and then.
    pub fn shrink(&self) {
        self.limiter.retain_recent();
        self.limiter.shrink_to_fit();
        if let Some(shared) = &self.shared {
            shared.shrink();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use futures_util::FutureExt;

    /// A check by a limiter without Redis, which awaits nothing.
    fn check(limiter: &ClientLimiter, client: &Client) -> Result<(), Refusal> {
        limiter
            .check(client)
            .now_or_never()
            .expect("without Redis, nothing is awaited")
    }

    #[test]
    fn a_client_over_its_burst_is_refused_and_others_are_not() {
        let limiter = ClientLimiter::new(RateLimit::PerSecond(2.0), Some(3)).unwrap();
        let a = Client::address("10.0.0.1".parse().unwrap());
        for _ in 0..3 {
            check(&limiter, &a).unwrap();
        }
        let refusal = check(&limiter, &a).unwrap_err();
        assert!(refusal.retry_after >= 1);
        check(&limiter, &Client::Subject("user-1".into())).unwrap();
        assert_eq!(limiter.policy(), "\"default\";q=3;w=2");
        let body: serde_json::Value =
            serde_json::from_slice(&limiter.body(Some("fr"), "r-1", 3)).unwrap();
        assert_eq!(body["errors"][0]["extensions"]["retryAfter"], 3);
        assert_eq!(body["errors"][0]["extensions"]["code"], "TOO_MANY_REQUESTS");
        assert_eq!(body["extensions"]["requestId"], "r-1");
    }

    #[test]
    fn an_ipv6_64_is_one_client_and_ipv4_addresses_are_each_their_own() {
        let limiter = ClientLimiter::new(RateLimit::PerSecond(0.001), Some(2)).unwrap();
        let client = |ip: &str| Client::address(ip.parse().unwrap());
        check(&limiter, &client("2001:db8:1:2::1")).unwrap();
        check(&limiter, &client("2001:db8:1:2:ffff::9")).unwrap();
        assert!(check(&limiter, &client("2001:db8:1:2:abcd::")).is_err());
        check(&limiter, &client("2001:db8:1:3::1")).unwrap();
        check(&limiter, &client("192.0.2.1")).unwrap();
        check(&limiter, &client("::ffff:192.0.2.1")).unwrap();
        assert!(
            check(&limiter, &client("192.0.2.1")).is_err(),
            "an IPv4-mapped address is its IPv4 address"
        );
        check(&limiter, &client("192.0.2.2")).unwrap();
    }

    #[test]
    fn off_means_no_limiter() {
        assert!(ClientLimiter::new(RateLimit::Off, None).is_none());
    }
}

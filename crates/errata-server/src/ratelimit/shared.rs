//! A rate limit every instance shares: GCRA in Redis, one script run per
//! round trip (`gcra.lua`, on Redis's clock), and what an instance
//! remembers so that most requests cost none.
//!
//! - A refused client is refused here until its retry time, without
//!   asking; so is a client whose last request took the last of its
//!   allowance, until the next request would be allowed.
//! - One request per client at a time asks Redis; others from the same
//!   client wait for its answer (at most the Redis timeout), which often
//!   decides for them too: a lease, or a refusal.
//! - A busy client's requests are leased: the script may grant more than
//!   the request needs, and the instance spends the rest itself. Every
//!   request admitted was taken from the one shared allowance first, so
//!   instances together never admit more than it; tokens a lease still
//!   holds when it ends are lost, which admits less, never more. Leases
//!   are small and short so that another instance serving the same client
//!   is not starved: at most an eighth of the burst and [`MAX_LEASE`],
//!   never more than half of what is left, spent within [`LEASE_FOR`], and
//!   only for a client that sent that many requests to this instance in
//!   the [`LEASE_FOR`] before.

use std::sync::{Arc, LazyLock};
use std::time::{Duration, Instant};

use dashmap::DashMap;
use tokio::sync::Notify;

use super::Client;
use crate::shared::Redis;

/// The longest a lease lives, and the window over which a client's demand
/// on this instance sizes its next lease.
const LEASE_FOR: Duration = Duration::from_millis(200);

/// The most requests one round trip leases. What one instance can hold of a
/// client's allowance is bounded by the eighth of the burst and by the
/// client's demand on it; this cap matters only for large allowances, where
/// 32 cost a busy client a round trip (and its other requests a wait) every
/// 32 requests: 0.87x of SQLite's throughput in bench run 10, 1.07x at 256.
const MAX_LEASE: u64 = 256;

static SCRIPT: LazyLock<redis::Script> =
    LazyLock::new(|| redis::Script::new(include_str!("gcra.lua")));

/// One limit's allowance in Redis.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Allowance {
    /// Microseconds per request, at least 1.
    pub interval_us: u64,
    /// Requests allowed at once.
    pub burst: u64,
}

impl Allowance {
    /// The allowance of `per_second` requests a second, `burst` at once.
    pub fn new(per_second: f64, burst: u32) -> Allowance {
        Allowance {
            interval_us: (1e6 / per_second).round().clamp(1.0, u64::MAX as f64) as u64,
            burst: u64::from(burst.max(1)),
        }
    }

    /// The most one lease may take.
    fn lease(&self) -> u64 {
        (self.burst / 8).clamp(1, MAX_LEASE)
    }
}

/// The script's call for `key`: take `need` requests, or up to `want`.
/// Its answer is `(granted, remaining, retry_after_us)`.
pub(super) fn invocation(
    key: &str,
    allowance: Allowance,
    need: u64,
    want: u64,
) -> redis::ScriptInvocation<'static> {
    let mut invocation = SCRIPT.key(key);
    invocation
        .arg(allowance.interval_us)
        .arg(allowance.burst)
        .arg(need)
        .arg(want.max(need));
    invocation
}

/// What the shared limit says of a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Verdict {
    Allowed,
    /// Refused; the client may come back after this long.
    Refused(Duration),
    /// Redis did not say: the instance decides alone.
    Unavailable,
}

/// What this instance remembers of one client.
#[derive(Debug)]
struct Memory {
    /// Requests leased and not spent yet, spendable until `lease_until`.
    leased: u64,
    lease_until: Instant,
    /// Requests of `refused_cost` or more are refused until then.
    refused_until: Instant,
    refused_cost: u64,
    /// Requests seen in the window that started at `window`, and in the one before.
    seen: u64,
    seen_before: u64,
    window: Instant,
    /// Set while a request asks Redis; the others wait until it is told.
    asking: Option<Arc<Notify>>,
}

impl Memory {
    fn new(now: Instant) -> Memory {
        Memory {
            leased: 0,
            lease_until: now,
            refused_until: now,
            refused_cost: 0,
            seen: 0,
            seen_before: 0,
            window: now,
            asking: None,
        }
    }

    /// Counts `n` requests in the demand that sizes leases.
    fn see(&mut self, now: Instant, n: u64) {
        if now >= self.window + LEASE_FOR {
            self.seen_before = if now < self.window + 2 * LEASE_FOR {
                self.seen
            } else {
                0
            };
            self.seen = 0;
            self.window = now;
        }
        self.seen = self.seen.saturating_add(n);
    }

    /// What it says of `n` requests at `now`, if it says anything: spent
    /// from the lease first, then refused if a refusal still holds.
    fn decide(&mut self, now: Instant, n: u64) -> Option<Verdict> {
        if now < self.lease_until && self.leased >= n {
            self.leased -= n;
            return Some(Verdict::Allowed);
        }
        if now < self.refused_until && n >= self.refused_cost {
            return Some(Verdict::Refused(self.refused_until - now));
        }
        None
    }

    /// Whether it still says anything at `now`.
    fn matters(&self, now: Instant) -> bool {
        now < self.lease_until
            || now < self.refused_until
            || now < self.window + 2 * LEASE_FOR
            || self.asking.is_some()
    }
}

/// The request asking Redis for a client: when it is done, or dropped with
/// its request, the client's other requests are told to look again.
struct Asking<'a> {
    memory: &'a DashMap<Client, Memory>,
    client: &'a Client,
    notify: Arc<Notify>,
}

impl Drop for Asking<'_> {
    fn drop(&mut self) {
        if let Some(mut memory) = self.memory.get_mut(self.client)
            && memory
                .asking
                .as_ref()
                .is_some_and(|a| Arc::ptr_eq(a, &self.notify))
        {
            memory.asking = None;
        }
        self.notify.notify_waiters();
    }
}

/// A limit shared through Redis, under `key_prefix` plus the client's key.
#[derive(Debug)]
pub(super) struct SharedLimit {
    redis: Redis,
    key_prefix: String,
    allowance: Allowance,
    memory: DashMap<Client, Memory>,
}

impl SharedLimit {
    /// The limit called `name`, with `allowance`, in `redis`.
    pub fn new(redis: &Redis, name: &str, allowance: Allowance) -> SharedLimit {
        SharedLimit {
            key_prefix: format!("{}rl:{name}:", redis.prefix()),
            redis: redis.clone(),
            allowance,
            memory: DashMap::new(),
        }
    }

    /// Counts `n` requests from `client`, all or none; `n` is at most the burst.
    pub async fn check(&self, client: &Client, n: u64) -> Verdict {
        let mut seen = false;
        let (asking, want) = loop {
            let notified = {
                let now = Instant::now();
                let mut memory = self
                    .memory
                    .entry(client.clone())
                    .or_insert_with(|| Memory::new(now));
                if !seen {
                    memory.see(now, n);
                    seen = true;
                }
                if let Some(verdict) = memory.decide(now, n) {
                    return verdict;
                }
                match &memory.asking {
                    // Made while the entry is locked, so the answer cannot
                    // come between the look and the wait.
                    Some(asking) => Arc::clone(asking).notified_owned(),
                    None => {
                        let notify = Arc::new(Notify::new());
                        memory.asking = Some(Arc::clone(&notify));
                        let demand = memory.seen.max(memory.seen_before);
                        let asking = Asking {
                            memory: &self.memory,
                            client,
                            notify,
                        };
                        break (asking, demand.min(self.allowance.lease()).max(n));
                    }
                }
            };
            notified.await;
        };
        let key = format!("{}{}", self.key_prefix, client.key());
        let invocation = invocation(&key, self.allowance, n, want);
        let answer = self
            .redis
            .call(|mut connection| async move {
                invocation
                    .invoke_async::<(u64, u64, u64)>(&mut connection)
                    .await
            })
            .await;
        let Some((granted, _remaining, retry_after_us)) = answer else {
            return Verdict::Unavailable;
        };
        let now = Instant::now();
        let wait = Duration::from_micros(retry_after_us);
        let verdict = {
            let mut memory = self
                .memory
                .entry(client.clone())
                .or_insert_with(|| Memory::new(now));
            if wait > Duration::ZERO {
                memory.refused_until = now + wait;
                memory.refused_cost = n;
            }
            if granted < n {
                Verdict::Refused(wait)
            } else {
                if now >= memory.lease_until {
                    memory.leased = 0;
                }
                if granted > n {
                    memory.leased += granted - n;
                    memory.lease_until = now + LEASE_FOR;
                }
                Verdict::Allowed
            }
        };
        drop(asking);
        verdict
    }

    /// Forgets clients it has nothing to say about any more.
    pub fn shrink(&self) {
        let now = Instant::now();
        self.memory.retain(|_, memory| memory.matters(now));
        self.memory.shrink_to_fit();
    }
}

#[cfg(test)]
mod tests {
    use redis::AsyncCommands;

    use super::*;
    use crate::shared::testing;

    /// Runs the script once on `key`: `(granted, remaining, retry_after_us)`.
    async fn take(
        redis: &Redis,
        key: &str,
        allowance: Allowance,
        need: u64,
        want: u64,
    ) -> (u64, u64, u64) {
        let key = format!("{}{key}", redis.prefix());
        let mut connection = testing::connection(redis);
        invocation(&key, allowance, need, want)
            .invoke_async(&mut connection)
            .await
            .expect("the script runs")
    }

    const SECOND: u64 = 1_000_000;

    fn per_second(burst: u64) -> Allowance {
        Allowance {
            interval_us: SECOND,
            burst,
        }
    }

    /// Whether `retry_after` is `intervals` seconds, less the little time
    /// that passed since the allowance was taken.
    fn seconds(retry_after: u64, intervals: u64) -> bool {
        (intervals * SECOND - SECOND / 10..=intervals * SECOND).contains(&retry_after)
    }

    #[tokio::test]
    async fn the_burst_passes_at_once_and_the_next_request_waits_one_interval() {
        let redis = testing::redis().await;
        for remaining in [2, 1] {
            assert_eq!(
                take(&redis, "a", per_second(3), 1, 1).await,
                (1, remaining, 0)
            );
        }
        let (granted, remaining, retry_after) = take(&redis, "a", per_second(3), 1, 1).await;
        assert_eq!((granted, remaining), (1, 0));
        assert!(
            seconds(retry_after, 1),
            "the last of the burst says when the next comes: {retry_after} µs"
        );
        let (granted, remaining, retry_after) = take(&redis, "a", per_second(3), 1, 1).await;
        assert_eq!((granted, remaining), (0, 0));
        assert!(seconds(retry_after, 1), "{retry_after} µs");
        let pttl: i64 = testing::connection(&redis)
            .pttl(format!("{}a", redis.prefix()))
            .await
            .unwrap();
        assert!(
            (2000..=3000).contains(&pttl),
            "the key lives until the bucket is full again: {pttl} ms"
        );
        assert_eq!(
            take(&redis, "b", per_second(3), 1, 1).await,
            (1, 2, 0),
            "another key has its own allowance"
        );
    }

    #[tokio::test]
    async fn a_cost_is_taken_whole_or_not_at_all() {
        let redis = testing::redis().await;
        let (granted, remaining, retry_after) = take(&redis, "k", per_second(5), 3, 3).await;
        assert_eq!((granted, remaining), (3, 2));
        assert!(
            seconds(retry_after, 1),
            "one more interval makes three: {retry_after} µs"
        );
        let (granted, remaining, retry_after) = take(&redis, "k", per_second(5), 3, 3).await;
        assert_eq!(
            (granted, remaining),
            (0, 2),
            "two left are not three, and none is taken"
        );
        assert!(seconds(retry_after, 1), "{retry_after} µs");
        assert_eq!(take(&redis, "k", per_second(5), 2, 2).await.0, 2);
        let (_, _, retry_after) = take(&redis, "k", per_second(5), 5, 5).await;
        assert!(
            seconds(retry_after, 5),
            "five wait for five intervals: {retry_after} µs"
        );
    }

    #[tokio::test]
    async fn the_allowance_comes_back_at_the_rate() {
        let redis = testing::redis().await;
        let fast = Allowance {
            interval_us: 50_000,
            burst: 1,
        };
        assert_eq!(take(&redis, "r", fast, 1, 1).await.0, 1);
        let (granted, _, retry_after) = take(&redis, "r", fast, 1, 1).await;
        assert_eq!(granted, 0);
        assert!(retry_after <= 50_000, "{retry_after} µs");
        tokio::time::sleep(Duration::from_micros(retry_after + 20_000)).await;
        assert_eq!(
            take(&redis, "r", fast, 1, 1).await.0,
            1,
            "allowed again once the retry time is past"
        );
    }

    #[tokio::test]
    async fn a_lease_takes_at_most_half_of_what_is_left() {
        let redis = testing::redis().await;
        assert_eq!(take(&redis, "l", per_second(8), 1, 10).await, (4, 4, 0));
        assert_eq!(take(&redis, "l", per_second(8), 1, 10).await, (2, 2, 0));
        assert_eq!(take(&redis, "l", per_second(8), 1, 10).await, (1, 1, 0));
        let (granted, remaining, _) = take(&redis, "l", per_second(8), 1, 10).await;
        assert_eq!(
            (granted, remaining),
            (1, 0),
            "what is needed is granted, even the last"
        );
        assert_eq!(take(&redis, "l", per_second(8), 1, 10).await.0, 0);
    }

    #[tokio::test]
    async fn a_refusal_is_remembered_here_and_costs_no_round_trip() {
        let redis = testing::redis().await;
        let allowance = Allowance {
            interval_us: 3600 * SECOND,
            burst: 2,
        };
        let here = SharedLimit::new(&redis, "default", allowance);
        let there = SharedLimit::new(&redis, "default", allowance);
        let elsewhere = SharedLimit::new(&redis, "default", allowance);
        let client = Client::address("192.0.2.7".parse().unwrap());
        assert_eq!(here.check(&client, 1).await, Verdict::Allowed);
        assert_eq!(there.check(&client, 1).await, Verdict::Allowed);
        let Verdict::Refused(wait) = here.check(&client, 1).await else {
            panic!("one allowance for every instance");
        };
        assert!(wait > Duration::from_secs(3500), "{wait:?}");
        // Were either asked of Redis again, the client would pass now.
        let _: () = testing::connection(&redis)
            .del(format!("{}rl:default:{}", redis.prefix(), client.key()))
            .await
            .unwrap();
        assert!(
            matches!(here.check(&client, 1).await, Verdict::Refused(_)),
            "refused, it remembers"
        );
        assert!(
            matches!(there.check(&client, 1).await, Verdict::Refused(_)),
            "having taken the last request, it knows when the next comes"
        );
        assert_eq!(
            elsewhere.check(&client, 1).await,
            Verdict::Allowed,
            "an instance that knows nothing asks Redis"
        );
    }

    #[tokio::test]
    async fn a_busy_client_is_served_from_leases() {
        let redis = testing::redis().await;
        let allowance = Allowance {
            interval_us: 1000,
            burst: 1000,
        };
        let limit = SharedLimit::new(&redis, "default", allowance);
        let client = Client::Subject("busy".into());
        let key = format!("{}rl:default:{}", redis.prefix(), client.key());
        let mut connection = testing::connection(&redis);
        let mut round_trips = 0;
        let mut last: Option<String> = None;
        for _ in 0..20 {
            assert_eq!(limit.check(&client, 1).await, Verdict::Allowed);
            // The script writes the key when it grants, and only then.
            let now: Option<String> = connection.get(&key).await.unwrap();
            if now != last {
                round_trips += 1;
                last = now;
            }
        }
        assert!(
            round_trips <= 10,
            "twenty requests in {round_trips} round trips"
        );
    }

    /// The invariant: instances sharing a limit never admit more than the
    /// one allowance, however their leases and requests interleave.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn instances_with_leases_never_admit_more_than_the_shared_allowance() {
        let redis = testing::redis().await;
        for round in 0..3u64 {
            // 100 at once, then 50 a second.
            let allowance = Allowance {
                interval_us: 20_000,
                burst: 100,
            };
            let instances = [
                Arc::new(SharedLimit::new(&redis, "default", allowance)),
                Arc::new(SharedLimit::new(&redis, "default", allowance)),
            ];
            let client = Client::Subject(format!("flood-{round}").into());
            let started = Instant::now();
            let mut tasks = Vec::new();
            for task in 0..16u64 {
                let instance = Arc::clone(&instances[(task % 2) as usize]);
                let client = client.clone();
                tasks.push(tokio::spawn(async move {
                    let mut admitted = 0u64;
                    for i in 0..40u64 {
                        let cost = 1 + (task + i + round) % 3;
                        match instance.check(&client, cost).await {
                            Verdict::Allowed => admitted += cost,
                            Verdict::Refused(_) => {}
                            Verdict::Unavailable => panic!("Redis answers"),
                        }
                    }
                    admitted
                }));
            }
            let mut admitted = 0;
            for task in tasks {
                admitted += task.await.unwrap();
            }
            let elapsed = started.elapsed().as_secs_f64();
            let allowed = 100.0 + elapsed * 50.0;
            assert!(
                admitted as f64 <= allowed.floor() + 1.0,
                "round {round}: {admitted} admitted, {allowed} allowed"
            );
            assert!(
                admitted >= 50,
                "round {round}: leases strand at most a little: {admitted} admitted"
            );
        }
    }
}

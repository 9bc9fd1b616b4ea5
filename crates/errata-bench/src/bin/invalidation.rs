//! `invalidation`: how long a change made on one instance takes to reach
//! another on the same PostgreSQL database (README, "Several instances":
//! a write sends a `NOTIFY`, on which every instance rereads its snapshot).
//!
//! Per trial: an API token is created on A and used once on B (which must
//! accept it), then revoked on A; as soon as A has answered, B is asked
//! again and again, back to back on one keep-alive connection, until it
//! refuses the token as revoked. The delay is from A's answer to B's
//! first refusal, so it includes one round trip to B (printed as
//! `poll_ms`, the resolution); `total` is from sending the revocation to A.
//!
//! Environment: A and B (the instances' base URLs), EMAIL and PASSWORD (an
//! administrator on their database), TRIALS (100), TIMEOUT_MS (10000: a
//! trial B has not caught up with by then fails the run), and TRIALS_TSV
//! (a file for one line per trial). Prints percentiles as TSV.

use std::error::Error;
use std::time::{Duration, Instant};

use serde_json::{Value, json};

type Outcome<T> = Result<T, Box<dyn Error>>;

const LOGIN: &str = "mutation($u: String!, $p: String!) { authentication { login(username: $u, password: $p) { responseResult { succeeded slug } jwt } } }";
const CREATE: &str = "mutation($n: String!) { createApiToken(name: $n, permissions: [\"manage:users\"], expirationDays: 1) { responseResult { succeeded slug } token { id } secret } }";
const REVOKE: &str = "mutation($id: String!) { revokeApiToken(id: $id) { responseResult { succeeded slug } token { revoked } } }";
// Not cacheable (it depends on the caller), so every poll is checked.
const PROBE: &str = "{ users { profile { id } } }";

struct Settings {
    a: String,
    b: String,
    email: String,
    password: String,
    trials: usize,
    timeout: Duration,
    trials_tsv: Option<String>,
}

fn setting(name: &str) -> Outcome<String> {
    std::env::var(name).map_err(|_| format!("{name} is not set").into())
}

fn number(name: &str, default: u64) -> Outcome<u64> {
    match std::env::var(name) {
        Ok(v) => v
            .parse()
            .map_err(|_| format!("{name}={v} is not a number").into()),
        Err(_) => Ok(default),
    }
}

fn main() -> Outcome<()> {
    let settings = Settings {
        a: setting("A")?,
        b: setting("B")?,
        email: setting("EMAIL")?,
        password: setting("PASSWORD")?,
        trials: usize::try_from(number("TRIALS", 100)?)?,
        timeout: Duration::from_millis(number("TIMEOUT_MS", 10_000)?),
        trials_tsv: std::env::var("TRIALS_TSV").ok(),
    };
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?
        .block_on(run(&settings))
}

/// One trial's times, in milliseconds.
struct Trial {
    revoke: f64,
    delay: f64,
    total: f64,
    poll: f64,
    polls: u32,
}

async fn run(settings: &Settings) -> Outcome<()> {
    // One client per instance: B's polls keep their connection to B.
    let to_a = reqwest::Client::new();
    let to_b = reqwest::Client::new();
    let login = gql(
        &to_a,
        &settings.a,
        LOGIN,
        json!({"u": settings.email, "p": settings.password}),
        None,
    )
    .await?;
    let session = login["data"]["authentication"]["login"]["jwt"]
        .as_str()
        .ok_or_else(|| format!("login on A failed: {login}"))?
        .to_owned();

    let mut trials = Vec::with_capacity(settings.trials);
    for n in 0..settings.trials {
        trials.push(trial(settings, &to_a, &to_b, &session, n).await?);
        // A pause, so that no trial starts while B still rereads for the last.
        tokio::time::sleep(Duration::from_millis(20)).await;
    }

    if let Some(path) = &settings.trials_tsv {
        let mut lines = String::from("trial\trevoke_ms\tdelay_ms\ttotal_ms\tpoll_ms\tpolls\n");
        for (n, t) in trials.iter().enumerate() {
            lines.push_str(&format!(
                "{n}\t{:.3}\t{:.3}\t{:.3}\t{:.3}\t{}\n",
                t.revoke, t.delay, t.total, t.poll, t.polls
            ));
        }
        std::fs::write(path, lines)?;
    }
    println!("measure\ttrials\tp50_ms\tp99_ms\tmax_ms\tmean_ms");
    for (name, pick) in [
        ("delay", (|t: &Trial| t.delay) as fn(&Trial) -> f64),
        ("total", |t| t.total),
        ("revoke_on_a", |t| t.revoke),
        ("poll_round_trip", |t| t.poll),
    ] {
        let mut values: Vec<f64> = trials.iter().map(pick).collect();
        values.sort_by(f64::total_cmp);
        let mean = values.iter().sum::<f64>() / values.len().max(1) as f64;
        println!(
            "{name}\t{}\t{:.3}\t{:.3}\t{:.3}\t{mean:.3}",
            values.len(),
            percentile(&values, 50.0),
            percentile(&values, 99.0),
            values.last().copied().unwrap_or(f64::NAN),
        );
    }
    Ok(())
}

async fn trial(
    settings: &Settings,
    to_a: &reqwest::Client,
    to_b: &reqwest::Client,
    session: &str,
    n: usize,
) -> Outcome<Trial> {
    let created = gql(
        to_a,
        &settings.a,
        CREATE,
        json!({"n": format!("trial {n}")}),
        Some(session),
    )
    .await?;
    let created = &created["data"]["createApiToken"];
    let (Some(id), Some(secret)) = (created["token"]["id"].as_str(), created["secret"].as_str())
    else {
        return Err(format!("trial {n}: no token created on A: {created}").into());
    };
    let (status, body) = probe(to_b, &settings.b, secret).await?;
    if status != 200 {
        return Err(
            format!("trial {n}: B refused a token A had just made: {status} {body}").into(),
        );
    }

    let sent = Instant::now();
    let revoked = gql(to_a, &settings.a, REVOKE, json!({"id": id}), Some(session)).await?;
    let answered = Instant::now();
    if revoked["data"]["revokeApiToken"]["token"]["revoked"] != true {
        return Err(format!("trial {n}: A did not revoke the token: {revoked}").into());
    }
    let mut polls = 0;
    loop {
        let asked = Instant::now();
        let (status, body) = probe(to_b, &settings.b, secret).await?;
        let refused = Instant::now();
        polls += 1;
        match status {
            200 if refused - answered < settings.timeout => continue,
            200 => {
                return Err(format!(
                    "trial {n}: B still accepts the token {} ms after A revoked it",
                    settings.timeout.as_millis()
                )
                .into());
            }
            401 if body.contains("\"TokenRevoked\"") => {
                return Ok(Trial {
                    revoke: ms(answered - sent),
                    delay: ms(refused - answered),
                    total: ms(refused - sent),
                    poll: ms(refused - asked),
                    polls,
                });
            }
            _ => return Err(format!("trial {n}: B answered {status}: {body}").into()),
        }
    }
}

async fn probe(client: &reqwest::Client, base: &str, token: &str) -> Outcome<(u16, String)> {
    let reply = request(client, base, PROBE, json!({}), Some(token))
        .send()
        .await?;
    let status = reply.status().as_u16();
    Ok((status, reply.text().await?))
}

async fn gql(
    client: &reqwest::Client,
    base: &str,
    query: &str,
    variables: Value,
    token: Option<&str>,
) -> Outcome<Value> {
    let reply = request(client, base, query, variables, token)
        .send()
        .await?;
    let status = reply.status();
    let body: Value = reply.json().await?;
    if !status.is_success() {
        return Err(format!("{base} answered {status}: {body}").into());
    }
    Ok(body)
}

fn request(
    client: &reqwest::Client,
    base: &str,
    query: &str,
    variables: Value,
    token: Option<&str>,
) -> reqwest::RequestBuilder {
    let request = client
        .post(format!("{base}/graphql"))
        .header("content-type", "application/json")
        .body(json!({"query": query, "variables": variables}).to_string());
    match token {
        Some(token) => request.header("authorization", format!("Bearer {token}")),
        None => request,
    }
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

/// The nearest-rank percentile of sorted values.
fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let rank = (p / 100.0 * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

#[cfg(test)]
mod tests {
    use super::percentile;

    #[test]
    fn percentiles_are_nearest_rank() {
        let values: Vec<f64> = (1..=100).map(f64::from).collect();
        assert_eq!(percentile(&values, 50.0), 50.0);
        assert_eq!(percentile(&values, 99.0), 99.0);
        assert_eq!(percentile(&[3.0], 99.0), 3.0);
        assert!(percentile(&[], 50.0).is_nan());
    }
}

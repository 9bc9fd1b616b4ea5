//! Prometheus metrics: the process-wide recorder `/metrics` renders, and the
//! handles the hot paths count with, registered once.
//!
//! Metrics are global in the `metrics` crate, so this module is the one
//! place that names them: `errata_errors_total{code,class}`,
//! `errata_http_responses_total{status}`,
//! `errata_request_duration_seconds{operation}` and
//! `errata_response_cache_total{result}`.

use std::collections::HashMap;
use std::sync::OnceLock;

use axum::http::StatusCode;
use errata_catalog::Class;
use metrics::{Counter, Histogram};
use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle};

/// The process-wide Prometheus recorder; metrics are global in the `metrics` crate.
pub(crate) fn prometheus() -> Option<PrometheusHandle> {
    static HANDLE: OnceLock<Option<PrometheusHandle>> = OnceLock::new();
    HANDLE
        .get_or_init(|| {
            PrometheusBuilder::new()
                .set_buckets(&[
                    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 10.0,
                ])
                .ok()?
                .install_recorder()
                .ok()
        })
        .clone()
}

/// Counts one error by code and class.
pub fn count_error(code: u32, class: Class) {
    counters().error(code, class);
}

/// Counts one response by status.
pub fn count_response(status: StatusCode) {
    counters().response(status);
}

/// Counts an answer the response cache could keep, by whether it did.
pub fn count_cache(hit: bool) {
    let counters = counters();
    if hit {
        counters.cache_hits.increment(1);
    } else {
        counters.cache_misses.increment(1);
    }
}

/// Records how long an operation took, by operation type.
pub fn record_duration(operation: &'static str, seconds: f64) {
    counters().duration(operation, seconds);
}

/// The metric handles the hot paths use, registered once: `counter!` with
/// labels builds and hashes its key on every call.
struct Counters {
    responses: Vec<(u16, Counter)>,
    other_status: Counter,
    errors: HashMap<u32, Counter>,
    durations: Vec<(&'static str, Histogram)>,
    cache_hits: Counter,
    cache_misses: Counter,
}

/// The status codes counted under their own label.
const STATUSES: [u16; 14] = [
    200, 206, 400, 401, 403, 404, 405, 406, 413, 415, 429, 500, 503, 504,
];
const OPERATIONS: [&str; 4] = ["query", "mutation", "subscription", "none"];

fn counters() -> &'static Counters {
    static COUNTERS: OnceLock<Counters> = OnceLock::new();
    COUNTERS.get_or_init(|| {
        // Handles belong to the recorder installed when they are made.
        let _ = prometheus();
        let status_label = |s: u16| -> &'static str { Box::leak(s.to_string().into_boxed_str()) };
        Counters {
            responses: STATUSES
                .iter()
                .map(|&s| {
                    let label = status_label(s);
                    (
                        s,
                        metrics::counter!("errata_http_responses_total", "status" => label),
                    )
                })
                .collect(),
            other_status: metrics::counter!("errata_http_responses_total", "status" => "other"),
            errors: errata_errors::CATALOG
                .errors
                .iter()
                .map(|e| {
                    let code: &'static str = Box::leak(e.code.to_string().into_boxed_str());
                    let counter = metrics::counter!(
                        "errata_errors_total",
                        "code" => code,
                        "class" => e.class.name()
                    );
                    (e.code, counter)
                })
                .collect(),
            durations: OPERATIONS
                .iter()
                .map(|&op| {
                    (
                        op,
                        metrics::histogram!("errata_request_duration_seconds", "operation" => op),
                    )
                })
                .collect(),
            cache_hits: metrics::counter!("errata_response_cache_total", "result" => "hit"),
            cache_misses: metrics::counter!("errata_response_cache_total", "result" => "miss"),
        }
    })
}

impl Counters {
    fn response(&self, status: StatusCode) {
        let code = status.as_u16();
        match self.responses.iter().find(|(s, _)| *s == code) {
            Some((_, counter)) => counter.increment(1),
            None => self.other_status.increment(1),
        }
    }

    fn error(&self, code: u32, class: Class) {
        match self.errors.get(&code) {
            Some(counter) => counter.increment(1),
            None => {
                metrics::counter!("errata_errors_total", "code" => "other", "class" => class.name())
                    .increment(1)
            }
        }
    }

    fn duration(&self, operation: &'static str, seconds: f64) {
        if let Some((_, histogram)) = self.durations.iter().find(|(op, _)| *op == operation) {
            histogram.record(seconds);
        }
    }
}

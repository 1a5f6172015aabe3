//! Prometheus metrics. Every crate records through the `metrics` facade (counters,
//! gauges and histograms with labels, named `otklik_…`); this module installs the
//! process's one recorder, a Prometheus exporter, and renders it at `/metrics`.

use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle};
use std::sync::OnceLock;

/// Latency buckets, in seconds, for every histogram.
const BUCKETS: [f64; 14] = [
    0.0005, 0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 10.0, 30.0,
];

static HANDLE: OnceLock<Option<PrometheusHandle>> = OnceLock::new();

/// The exporter, installed as the global recorder on first use. `None` only if
/// another recorder was installed first (then `/metrics` says so).
pub fn handle() -> Option<&'static PrometheusHandle> {
    HANDLE
        .get_or_init(|| {
            let built = PrometheusBuilder::new()
                .set_buckets(&BUCKETS)
                .and_then(|b| b.install_recorder());
            match built {
                Ok(h) => {
                    describe();
                    Some(h)
                }
                Err(e) => {
                    tracing::error!(error = %e, "the Prometheus recorder could not be installed");
                    None
                }
            }
        })
        .as_ref()
}

fn describe() {
    use metrics::{describe_counter, describe_gauge, describe_histogram};
    describe_counter!(
        "otklik_http_requests_total",
        "HTTP requests answered, by status class."
    );
    describe_gauge!("otklik_http_in_flight", "Requests being handled now.");
    describe_histogram!(
        "otklik_http_request_duration_seconds",
        metrics::Unit::Seconds,
        "Time to answer a request."
    );
    describe_counter!(
        "otklik_tickets_created_total",
        "Tickets created through the API."
    );
    describe_gauge!(
        "otklik_consumer_lag_events",
        "Events written after the last one each event-log consumer handled."
    );
    describe_counter!(
        "otklik_consumer_events_total",
        "Events handled, by consumer."
    );
    describe_counter!(
        "otklik_consumer_failures_total",
        "Failed consumer batches (retried with backoff)."
    );
    describe_counter!("otklik_jobs_total", "Jobs run, by kind and outcome.");
    describe_histogram!(
        "otklik_job_duration_seconds",
        metrics::Unit::Seconds,
        "Time to run one job, by kind."
    );
    describe_histogram!(
        "otklik_sqlite_batch_writes",
        "Writes folded into one SQLite commit."
    );
    describe_histogram!(
        "otklik_sqlite_commit_seconds",
        metrics::Unit::Seconds,
        "Time of one SQLite group commit, fsync included."
    );
    describe_counter!(
        "otklik_imap_messages_total",
        "Messages read by the IMAP pollers, by outcome."
    );
    describe_counter!(
        "otklik_imap_connection_errors_total",
        "IMAP connections that failed or broke."
    );
}

/// The status class a response counts under. Informational answers (a websocket's
/// 101) are their own class, not errors.
pub fn class(status: u16) -> &'static str {
    match status {
        100..=199 => "1xx",
        200..=299 => "2xx",
        300..=399 => "3xx",
        400..=499 => "4xx",
        _ => "5xx",
    }
}

/// Everything recorded so far, in the Prometheus text format.
pub fn render() -> String {
    match handle() {
        Some(h) => {
            h.run_upkeep();
            h.render()
        }
        None => "# metrics unavailable: another recorder is installed\n".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recorded_values_are_rendered_with_their_labels() {
        handle();
        metrics::counter!("otklik_http_requests_total", "class" => class(404)).increment(1);
        metrics::counter!("otklik_http_requests_total", "class" => class(101)).increment(1);
        metrics::histogram!("otklik_http_request_duration_seconds").record(0.003);
        let text = render();
        assert!(
            text.contains("otklik_http_requests_total{class=\"4xx\"}"),
            "{text}"
        );
        assert!(
            text.contains("otklik_http_requests_total{class=\"1xx\"}"),
            "{text}"
        );
        assert!(
            text.contains("otklik_http_request_duration_seconds_bucket{le=\"0.005\"}"),
            "{text}"
        );
        assert!(
            text.contains("# TYPE otklik_http_request_duration_seconds histogram"),
            "{text}"
        );
    }
}

//! Prometheus metrics in the text exposition format. A handful of counters and one
//! latency histogram; atomics, no registry crate needed for this few.

use std::fmt::Write as _;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};

const BUCKETS_MS: [u64; 12] = [1, 2, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 10000];

/// Process-wide request metrics.
#[derive(Default)]
pub struct Metrics {
    pub requests_2xx: AtomicU64,
    pub requests_3xx: AtomicU64,
    pub requests_4xx: AtomicU64,
    pub requests_5xx: AtomicU64,
    pub in_flight: AtomicU64,
    pub tickets_created: AtomicU64,
    buckets: [AtomicU64; BUCKETS_MS.len()],
    sum_us: AtomicU64,
    count: AtomicU64,
}

impl Metrics {
    pub fn observe(&self, status: u16, micros: u64) {
        match status {
            200..=299 => &self.requests_2xx,
            300..=399 => &self.requests_3xx,
            400..=499 => &self.requests_4xx,
            _ => &self.requests_5xx,
        }
        .fetch_add(1, Relaxed);
        for (i, b) in BUCKETS_MS.iter().enumerate() {
            if micros <= b * 1000 {
                self.buckets[i].fetch_add(1, Relaxed);
            }
        }
        self.sum_us.fetch_add(micros, Relaxed);
        self.count.fetch_add(1, Relaxed);
    }

    pub fn render(&self) -> String {
        let mut s = String::new();
        let _ = writeln!(
            s,
            "# HELP otklik_http_requests_total HTTP requests answered, by status class.\n# TYPE otklik_http_requests_total counter"
        );
        for (class, c) in [
            ("2xx", &self.requests_2xx),
            ("3xx", &self.requests_3xx),
            ("4xx", &self.requests_4xx),
            ("5xx", &self.requests_5xx),
        ] {
            let _ = writeln!(
                s,
                "otklik_http_requests_total{{class=\"{class}\"}} {}",
                c.load(Relaxed)
            );
        }
        let _ = writeln!(
            s,
            "# HELP otklik_http_in_flight Requests being handled now.\n# TYPE otklik_http_in_flight gauge\notklik_http_in_flight {}",
            self.in_flight.load(Relaxed)
        );
        let _ = writeln!(
            s,
            "# HELP otklik_tickets_created_total Tickets created through the API.\n# TYPE otklik_tickets_created_total counter\notklik_tickets_created_total {}",
            self.tickets_created.load(Relaxed)
        );
        let _ = writeln!(
            s,
            "# HELP otklik_http_request_duration_seconds Time to answer a request.\n# TYPE otklik_http_request_duration_seconds histogram"
        );
        for (i, b) in BUCKETS_MS.iter().enumerate() {
            let _ = writeln!(
                s,
                "otklik_http_request_duration_seconds_bucket{{le=\"{}\"}} {}",
                *b as f64 / 1000.0,
                self.buckets[i].load(Relaxed)
            );
        }
        let count = self.count.load(Relaxed);
        let _ = writeln!(
            s,
            "otklik_http_request_duration_seconds_bucket{{le=\"+Inf\"}} {count}"
        );
        let _ = writeln!(
            s,
            "otklik_http_request_duration_seconds_sum {}",
            self.sum_us.load(Relaxed) as f64 / 1e6
        );
        let _ = writeln!(s, "otklik_http_request_duration_seconds_count {count}");
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn histogram_buckets_are_cumulative() {
        let m = Metrics::default();
        m.observe(200, 3_000);
        m.observe(404, 40_000);
        let text = m.render();
        assert!(text.contains("otklik_http_requests_total{class=\"2xx\"} 1"));
        assert!(text.contains("otklik_http_requests_total{class=\"4xx\"} 1"));
        assert!(text.contains("le=\"0.005\"} 1"));
        assert!(text.contains("le=\"0.05\"} 2"));
        assert!(text.contains("le=\"+Inf\"} 2"));
    }
}

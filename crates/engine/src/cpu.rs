//! Bounded CPU work. Password hashing, HTML sanitising and MIME parsing cost far
//! more than anything else a request does, and their input comes from anyone
//! (a login form, an inbound email). They run on blocking threads, at most one
//! per core at a time; a caller that cannot get a turn within a short wait is
//! told the server is busy (503 with `Retry-After`) instead of queueing without
//! bound, so the async workers and `/healthz` stay responsive.

use crate::EngineError;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::Semaphore;

/// The deepest HTML nesting sanitised. The HTML parser's cost grows with the
/// depth of open elements, so unbounded nesting makes a small message cost
/// seconds; real mail stays far below this.
pub const MAX_HTML_DEPTH: usize = 256;

/// Messages above this size take a large-message slot.
pub const LARGE_MESSAGE: usize = 1024 * 1024;

#[derive(Clone)]
pub struct CpuGate {
    permits: Arc<Semaphore>,
    wait: Duration,
    /// Large inbound messages in memory at once: each is held in several forms
    /// (raw, parsed, decoded, stored), so their number bounds the memory a
    /// burst of them can take.
    large: Arc<Semaphore>,
}

/// A turn to hold a large message in memory; released when dropped.
pub struct LargeSlot(#[allow(dead_code)] Option<tokio::sync::OwnedSemaphorePermit>);

impl Default for CpuGate {
    fn default() -> Self {
        let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
        CpuGate::new(cores, Duration::from_secs(2))
    }
}

impl CpuGate {
    pub fn new(permits: usize, wait: Duration) -> CpuGate {
        CpuGate {
            permits: Arc::new(Semaphore::new(permits.max(1))),
            wait,
            // Half the cores: a large message costs more memory than CPU.
            large: Arc::new(Semaphore::new((permits / 2).max(1))),
        }
    }

    /// A slot for a message of `bytes` (none needed below [`LARGE_MESSAGE`]);
    /// `Busy` when none frees up within ten seconds.
    pub async fn large_message(&self, bytes: usize) -> Result<LargeSlot, EngineError> {
        if bytes < LARGE_MESSAGE {
            return Ok(LargeSlot(None));
        }
        match tokio::time::timeout(Duration::from_secs(10), self.large.clone().acquire_owned())
            .await
        {
            Ok(Ok(p)) => Ok(LargeSlot(Some(p))),
            Ok(Err(_)) => Err(EngineError::Internal("the message gate closed".into())),
            Err(_) => {
                metrics::counter!("otklik_cpu_busy_total").increment(1);
                Err(EngineError::Busy {
                    retry_after_secs: 10,
                })
            }
        }
    }

    /// Runs `f` on a blocking thread once a turn is free.
    pub async fn run<T, F>(&self, f: F) -> Result<T, EngineError>
    where
        T: Send + 'static,
        F: FnOnce() -> T + Send + 'static,
    {
        let permit =
            match tokio::time::timeout(self.wait, self.permits.clone().acquire_owned()).await {
                Ok(Ok(p)) => p,
                Ok(Err(_)) => return Err(EngineError::Internal("the CPU gate closed".into())),
                Err(_) => {
                    metrics::counter!("otklik_cpu_busy_total").increment(1);
                    return Err(EngineError::Busy {
                        retry_after_secs: 2,
                    });
                }
            };
        tokio::task::spawn_blocking(move || {
            let _turn = permit;
            f()
        })
        .await
        .map_err(|e| EngineError::Internal(format!("a CPU task failed: {e}")))
    }
}

/// Whether `html` nests elements deeper than `max` (a linear scan; tags that
/// close themselves or are closed by their next sibling do not count).
pub fn html_too_deep(html: &str, max: usize) -> bool {
    const NOT_NESTING: &[&str] = &[
        "area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source",
        "track", "wbr", "p", "li", "td", "th", "tr", "option", "dt", "dd", "tbody", "thead",
    ];
    let b = html.as_bytes();
    let (mut depth, mut i) = (0usize, 0usize);
    while i < b.len() {
        if b[i] != b'<' {
            i += 1;
            continue;
        }
        let closing = b.get(i + 1) == Some(&b'/');
        let start = if closing { i + 2 } else { i + 1 };
        let name_len = b[start.min(b.len())..]
            .iter()
            .take_while(|c| c.is_ascii_alphanumeric())
            .count();
        // A tag name starts with a letter: `a <3 b` is text.
        if name_len == 0 || !b[start].is_ascii_alphabetic() {
            i += 1;
            continue;
        }
        let name = &html[start..start + name_len];
        let end = b[start..]
            .iter()
            .position(|c| *c == b'>')
            .map_or(b.len(), |p| start + p);
        let self_closing = end > 0 && b.get(end - 1) == Some(&b'/');
        let nests = !NOT_NESTING.iter().any(|t| t.eq_ignore_ascii_case(name));
        if nests && !self_closing {
            if closing {
                depth = depth.saturating_sub(1);
            } else {
                depth += 1;
                if depth > max {
                    return true;
                }
            }
        }
        i = end.max(i + 1);
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nesting_is_measured_in_one_pass() {
        assert!(!html_too_deep("<div><p>a<p>b<br><img src=x/></div>", 2));
        assert!(html_too_deep(&"<div>".repeat(300), 256));
        assert!(!html_too_deep(&"<div></div>".repeat(10_000), 256));
        assert!(!html_too_deep(&"<p>x".repeat(10_000), 256));
        assert!(!html_too_deep("a < b and <3 >", 0));
        assert!(html_too_deep(&"<b><i>".repeat(200), 256));
    }

    #[tokio::test]
    async fn a_full_gate_answers_busy_instead_of_queueing() {
        let gate = CpuGate::new(1, Duration::from_millis(50));
        let (started, release) = (
            std::sync::Arc::new(std::sync::Barrier::new(2)),
            std::sync::Arc::new(std::sync::Barrier::new(2)),
        );
        let (s, r) = (started.clone(), release.clone());
        let g = gate.clone();
        let busy = tokio::spawn(async move {
            g.run(move || {
                s.wait();
                r.wait();
            })
            .await
        });
        tokio::task::spawn_blocking(move || started.wait())
            .await
            .unwrap();
        assert!(matches!(
            gate.run(|| 1).await,
            Err(EngineError::Busy { .. })
        ));
        tokio::task::spawn_blocking(move || release.wait())
            .await
            .unwrap();
        busy.await.unwrap().unwrap();
        assert_eq!(gate.run(|| 2).await.unwrap(), 2);
    }
}

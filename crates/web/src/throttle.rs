//! A per-client request budget for public endpoints (help-center search): a
//! sliding count of requests per key within a window, bounded in memory (the
//! oldest keys go first when it is full). Per node: a restart forgives.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Most clients remembered at once.
const MAX_KEYS: usize = 20_000;

pub struct Throttle {
    per_window: usize,
    window: Duration,
    keys: Mutex<HashMap<String, Vec<Instant>>>,
}

impl Throttle {
    pub fn new(per_window: usize, window: Duration) -> Throttle {
        Throttle {
            per_window,
            window,
            keys: Mutex::new(HashMap::new()),
        }
    }

    /// Counts a request of `key`; `Err(seconds)` to wait when over the budget.
    pub fn check(&self, key: &str) -> Result<(), u64> {
        let now = Instant::now();
        let Ok(mut keys) = self.keys.lock() else {
            return Err(1);
        };
        if keys.len() >= MAX_KEYS && !keys.contains_key(key) {
            keys.retain(|_, t| {
                t.last()
                    .is_some_and(|l| now.duration_since(*l) < self.window)
            });
            if keys.len() >= MAX_KEYS {
                // Still full of active clients: the least recent go.
                let mut by_age: Vec<(Instant, String)> = keys
                    .iter()
                    .filter_map(|(k, t)| t.last().map(|l| (*l, k.clone())))
                    .collect();
                by_age.sort_unstable();
                for (_, k) in by_age.into_iter().take(MAX_KEYS / 10) {
                    keys.remove(&k);
                }
            }
        }
        let times = keys.entry(key.to_owned()).or_default();
        times.retain(|t| now.duration_since(*t) < self.window);
        if times.len() >= self.per_window {
            let oldest = times.first().copied().unwrap_or(now);
            let wait = self.window.saturating_sub(now.duration_since(oldest));
            return Err(wait.as_secs().max(1));
        }
        times.push(now);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_client_over_its_budget_waits_and_others_do_not() {
        let t = Throttle::new(3, Duration::from_secs(60));
        for _ in 0..3 {
            assert_eq!(t.check("a"), Ok(()));
        }
        assert!(matches!(t.check("a"), Err(s) if (1..=60).contains(&s)));
        assert_eq!(t.check("b"), Ok(()));
    }
}

//! The job worker: claims due jobs from the durable queue and runs them.
//!
//! `run_once` is one pass that tests call directly; `run` loops it until shutdown.
//! Handlers are idempotent (a job may run again after a crash mid-way).

use crate::email::Delivery;
use crate::{Engine, EngineError};
use domain::ids::*;
use domain::ticket::{Channel, DeliveryState, Visibility};
use store::jobs::{self, Job};
use store::tickets;
use tokio::sync::watch;

const LEASE_MS: i64 = 5 * 60 * 1000;
const DELIVER: &str = "deliver_message";
const BATCH: i64 = 32;

/// What one job's handler decided.
#[derive(Debug)]
enum Outcome {
    Done,
    /// Try again later (a passing failure).
    Retry(String),
}

/// Runs queued jobs.
#[derive(Clone)]
pub struct Worker {
    engine: Engine,
}

/// The delay before retry number `attempt`: 2^attempt seconds, at most one hour.
pub fn backoff_ms(attempt: i64) -> i64 {
    let secs = 1i64
        .checked_shl(attempt.clamp(0, 30) as u32)
        .unwrap_or(i64::MAX);
    secs.saturating_mul(1000).min(3_600_000)
}

impl Worker {
    pub fn new(engine: Engine) -> Worker {
        Worker { engine }
    }

    /// Claims and runs one batch of due jobs; returns how many ran.
    pub async fn run_once(&self) -> Result<usize, EngineError> {
        let claimed = jobs::claim(&self.engine.store, BATCH, LEASE_MS).await?;
        let n = claimed.len();
        let mut dead_letters = Vec::new();
        for job in claimed {
            let outcome = match self.execute(&job).await {
                Ok(o) => o,
                Err(e) => Outcome::Retry(e.to_string()),
            };
            let id = job.id;
            let attempts = job.attempts;
            let kind = job.kind.clone();
            let payload = job.payload.clone();
            let r: Result<(), EngineError> = match outcome {
                Outcome::Done => {
                    self.engine
                        .store
                        .write(move |tx| Box::pin(async move { Ok(jobs::complete(tx, id).await?) }))
                        .await
                }
                Outcome::Retry(err) => {
                    let retry_at = self.engine.store.now().plus_millis(backoff_ms(attempts));
                    self.engine
                        .store
                        .write(move |tx| {
                            Box::pin(async move {
                                let dead = jobs::fail(tx, id, &err, retry_at).await?;
                                if dead {
                                    tracing::error!(job = id, error = %err, "job is dead after its last attempt");
                                } else {
                                    tracing::warn!(job = id, error = %err, "job failed; will retry");
                                }
                                Ok::<_, EngineError>(dead.then_some(err))
                            })
                        })
                        .await
                        .map(|dead| {
                            if let Some(err) = dead {
                                dead_letters.push((kind, payload, err));
                            }
                        })
                }
            };
            r?;
        }
        for (kind, payload, err) in dead_letters {
            self.gave_up(&kind, &payload, err).await?;
        }
        Ok(n)
    }

    /// A job ran out of attempts: a reply that could not be delivered is marked
    /// failed on its message, so the agent sees it.
    async fn gave_up(
        &self,
        kind: &str,
        payload: &serde_json::Value,
        err: String,
    ) -> Result<(), EngineError> {
        if kind != DELIVER {
            return Ok(());
        }
        let (ws, mid) = ids(payload)?;
        let m = {
            let mut c = self.engine.store.read().await?;
            tickets::message(&mut c.conn(), ws, mid).await?
        };
        match m {
            Some(m) if m.delivery_state == Some(DeliveryState::Queued) => {
                let reason = format!("gave up after the last attempt: {err}");
                self.engine
                    .set_delivery(ws, &m, DeliveryState::Failed, Some(reason))
                    .await
            }
            _ => Ok(()),
        }
    }

    /// Runs jobs until `shutdown` turns true; idles briefly when the queue is empty.
    pub async fn run(self, mut shutdown: watch::Receiver<bool>) {
        loop {
            if *shutdown.borrow() {
                return;
            }
            let idle = match self.run_once().await {
                Ok(0) => true,
                Ok(_) => false,
                Err(e) => {
                    tracing::error!(error = %e, "job worker pass failed");
                    true
                }
            };
            if idle {
                tokio::select! {
                    _ = tokio::time::sleep(std::time::Duration::from_millis(250)) => {}
                    _ = shutdown.changed() => {}
                }
            }
        }
    }

    async fn execute(&self, job: &Job) -> Result<Outcome, EngineError> {
        match job.kind.as_str() {
            DELIVER => self.deliver(job).await,
            crate::email::ingest::AUTO_ACK_JOB => {
                match self.engine.send_auto_ack(&job.payload).await? {
                    Delivery::Sent => Ok(Outcome::Done),
                    Delivery::Retry(e) => Ok(Outcome::Retry(e)),
                    Delivery::Failed(e) => {
                        tracing::warn!(job = job.id, error = %e, "automatic acknowledgement not sent");
                        Ok(Outcome::Done)
                    }
                }
            }
            other => Ok(Outcome::Retry(format!("no handler for job kind {other:?}"))),
        }
    }

    /// Delivers a public reply through its ticket's channel. The one outbound guard:
    /// internal notes and customers' own messages never leave.
    async fn deliver(&self, job: &Job) -> Result<Outcome, EngineError> {
        let (ws, mid) = ids(&job.payload)?;
        let m = {
            let mut c = self.engine.store.read().await?;
            tickets::message(&mut c.conn(), ws, mid).await?
        };
        let Some(m) = m else { return Ok(Outcome::Done) };
        if m.visibility == Visibility::Internal
            || m.author_kind == domain::ticket::AuthorKind::Customer
        {
            tracing::error!(message = %mid, "refused to deliver an internal note or a customer's own message");
            return Ok(Outcome::Done);
        }
        if matches!(
            m.delivery_state,
            Some(DeliveryState::Sent | DeliveryState::Delivered)
        ) {
            return Ok(Outcome::Done);
        }
        let (state, error) = match m.channel {
            // API and web-form conversations are read back by the integration through
            // the event stream; handing the reply to that stream is the delivery.
            Channel::Api | Channel::WebForm => (DeliveryState::Sent, None),
            Channel::Email => match self.engine.deliver_email(ws, &m, job.attempts).await? {
                Delivery::Sent => (DeliveryState::Sent, None),
                Delivery::Failed(e) => (DeliveryState::Failed, Some(e)),
                Delivery::Retry(e) => {
                    // Still queued; the reason shows on the message meanwhile.
                    self.engine
                        .set_delivery(ws, &m, DeliveryState::Queued, Some(e.clone()))
                        .await?;
                    return Ok(Outcome::Retry(e));
                }
            },
            other => (
                DeliveryState::Failed,
                Some(format!(
                    "no outbound connection is configured for the {other} channel"
                )),
            ),
        };
        self.engine.set_delivery(ws, &m, state, error).await?;
        Ok(Outcome::Done)
    }
}

/// The workspace and message a delivery job names.
fn ids(payload: &serde_json::Value) -> Result<(WorkspaceId, MessageId), EngineError> {
    let get = |k: &str| payload.get(k).and_then(|v| v.as_str());
    let bad = || EngineError::Internal("bad deliver_message payload".into());
    let ws = get("workspace_id")
        .and_then(|s| s.parse().ok())
        .ok_or_else(bad)?;
    let mid = get("message_id")
        .and_then(|s| s.parse().ok())
        .ok_or_else(bad)?;
    Ok((ws, mid))
}

#[cfg(test)]
mod tests {
    use super::backoff_ms;

    #[test]
    fn backoff_doubles_and_caps_at_an_hour() {
        assert_eq!(backoff_ms(0), 1000);
        assert_eq!(backoff_ms(3), 8000);
        assert_eq!(backoff_ms(40), 3_600_000);
        assert_eq!(backoff_ms(-5), 1000);
    }
}

//! Durable consumers of the event log.
//!
//! A [`Consumer`] has a name and handles one event at a time inside a transaction
//! that also moves its stored position past that event, so what it writes to the
//! database happens exactly once per event; anything it does outside the database
//! must be idempotent (it may run again after a crash before the commit).
//!
//! Each consumer runs as its own task ([`ConsumerRunner::run`]): a failing or slow
//! one retries with backoff and never holds back the others. On several nodes over
//! one PostgreSQL database a lease lets one node at a time run a consumer, and the
//! compare-and-set on the position makes a race harmless (the loser rolls back).

use crate::model::EventRecord;
use crate::worker::backoff_ms;
use crate::{Engine, EngineError};
use domain::Timestamp;
use domain::event::EventData;
use futures::future::BoxFuture;
use std::sync::Arc;
use std::time::Duration;
use store::Tx;
use store::consumers::{self, Advance, ConsumerState};
use store::events::{self, Cursor};
use tokio::sync::watch;

/// Where a newly registered consumer starts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Start {
    /// With the first event ever written (derived data that covers all history).
    Beginning,
    /// After the newest event at registration (reactions to what happens next).
    Now,
}

/// One concern that follows the event log.
pub trait Consumer: Send + Sync + 'static {
    /// Stable and unique: the stored position is kept under it.
    fn name(&self) -> &'static str;
    fn start(&self) -> Start;
    /// Handles one event in `tx`, the transaction that also records it as handled.
    /// An error rolls back this batch; the consumer retries later from the same
    /// event.
    fn handle<'t>(
        &'t self,
        tx: &'t mut Tx,
        event: &'t EventRecord,
    ) -> BoxFuture<'t, Result<(), EngineError>>;
    /// Handles a batch in log order; a consumer that can do the work of
    /// several events at once (the same ticket changed twice) overrides it.
    fn handle_batch<'t>(
        &'t self,
        tx: &'t mut Tx,
        events: &'t [EventRecord],
    ) -> BoxFuture<'t, Result<(), EngineError>> {
        Box::pin(async move {
            for e in events {
                self.handle(tx, e).await?;
            }
            Ok(())
        })
    }
}

/// A consumer's state for operators: `otklik consumers` and `/metrics`.
#[derive(Clone, Debug, PartialEq)]
pub struct ConsumerStatus {
    pub name: String,
    /// The stream cursor of the last handled event.
    pub position: String,
    /// Events written after the last handled one.
    pub lag: i64,
    pub handled: i64,
    pub failures: i64,
    pub last_error: Option<String>,
    pub lease_owner: Option<String>,
}

/// The consumers this build runs.
pub fn all() -> Vec<Arc<dyn Consumer>> {
    vec![
        Arc::new(Activity),
        Arc::new(crate::sla::SlaClocks),
        Arc::new(crate::routing::Routing),
        Arc::new(crate::rules::Triggers::default()),
        Arc::new(crate::subscriptions::Subscriptions),
        Arc::new(crate::outreach::Outreacher),
        Arc::new(crate::triage::Triager),
        Arc::new(crate::surveys::Surveyor),
        Arc::new(crate::kpis::Kpis),
        Arc::new(crate::journey::Journey),
        Arc::new(crate::trends::Trends),
    ]
}

/// How long a node keeps a consumer after its last batch.
const LEASE_MS: i64 = 15_000;
/// Events per transaction, when the consumer is healthy.
const BATCH: i64 = 256;
/// How often an idle consumer looks for events written by other nodes.
const POLL: Duration = Duration::from_millis(500);

/// Runs consumers for one node.
#[derive(Clone)]
pub struct ConsumerRunner {
    engine: Engine,
    /// This node's name in leases.
    owner: Arc<str>,
}

/// What one pass did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Pass {
    /// Handled this many events (0: nothing new).
    Handled(usize),
    /// Another node runs the consumer now, or it waits out a failure's backoff.
    Skipped,
    /// The batch failed and will be retried.
    Failed,
}

impl ConsumerRunner {
    pub fn new(engine: Engine) -> ConsumerRunner {
        ConsumerRunner {
            engine,
            owner: uuid::Uuid::now_v7().to_string().into(),
        }
    }

    /// Creates the stored positions of `consumers` that have none.
    pub async fn register(&self, consumers: &[Arc<dyn Consumer>]) -> Result<(), EngineError> {
        let head = {
            let mut c = self.engine.store.read().await?;
            consumers::head(&mut c.conn()).await?
        };
        let names: Vec<(&'static str, Cursor)> = consumers
            .iter()
            .map(|k| {
                let start = match k.start() {
                    Start::Beginning => Cursor::default(),
                    Start::Now => head,
                };
                (k.name(), start)
            })
            .collect();
        self.engine
            .store
            .write(move |tx| {
                Box::pin(async move {
                    for (name, start) in names {
                        consumers::register(tx, name, start).await?;
                    }
                    Ok::<_, EngineError>(())
                })
            })
            .await
    }

    /// Handles the next batch of `consumer`'s events, if this node may run it now.
    pub async fn run_once(&self, consumer: &Arc<dyn Consumer>) -> Result<Pass, EngineError> {
        let name = consumer.name();
        let now = self.engine.store.now();
        let (state, batch) = {
            let mut c = self.engine.store.read().await?;
            let Some(state) = consumers::get(&mut c.conn(), name).await? else {
                return Err(EngineError::Internal(format!(
                    "consumer {name} is not registered"
                )));
            };
            if state.retry_at > now || leased_elsewhere(&state, &self.owner, now) {
                return Ok(Pass::Skipped);
            }
            // After a failure, one event at a time: the failing one is then alone.
            let limit = if state.failures > 0 { 1 } else { BATCH };
            let batch = events::all_after(&mut c.conn(), state.position, limit).await?;
            (state, batch)
        };
        let Some(last) = batch.last() else {
            return Ok(Pass::Handled(0));
        };
        let (from, to, n) = (state.position, Cursor::of(last), batch.len());
        let owner = self.owner.clone();
        let k = consumer.clone();
        let lease_until = now.plus_millis(LEASE_MS);
        let outcome = self
            .engine
            .store
            .write(move |tx| {
                Box::pin(async move {
                    let advanced =
                        consumers::advance(tx, name, &owner, from, to, n as i64, lease_until)
                            .await?;
                    // Lost: nothing was written, so committing is the same as
                    // rolling back.
                    if advanced == Advance::Moved {
                        k.handle_batch(tx, &batch).await?;
                    }
                    Ok::<_, EngineError>(advanced)
                })
            })
            .await;
        match outcome {
            Ok(Advance::Moved) => {
                metrics::counter!("otklik_consumer_events_total", "consumer" => name)
                    .increment(n as u64);
                Ok(Pass::Handled(n))
            }
            Ok(Advance::Lost) => Ok(Pass::Skipped),
            Err(e) => {
                let error = e.to_string();
                tracing::warn!(consumer = name, error = %error, "consumer failed; will retry");
                metrics::counter!("otklik_consumer_failures_total", "consumer" => name)
                    .increment(1);
                let retry_at = now.plus_millis(backoff_ms(state.failures));
                self.engine
                    .store
                    .write(move |tx| {
                        Box::pin(async move {
                            consumers::failed(tx, name, &error, retry_at).await?;
                            Ok::<_, EngineError>(())
                        })
                    })
                    .await?;
                Ok(Pass::Failed)
            }
        }
    }

    /// Runs every consumer in `consumers`, each in a task of its own, until
    /// `shutdown` turns true; then gives up this node's leases.
    pub async fn run(self, consumers: Vec<Arc<dyn Consumer>>, shutdown: watch::Receiver<bool>) {
        if let Err(e) = self.register(&consumers).await {
            tracing::error!(error = %e, "registering the event consumers failed");
        }
        let tasks: Vec<_> = consumers
            .into_iter()
            .map(|k| tokio::spawn(self.clone().follow(k, shutdown.clone())))
            .collect();
        for t in tasks {
            let _ = t.await;
        }
    }

    async fn follow(self, consumer: Arc<dyn Consumer>, mut shutdown: watch::Receiver<bool>) {
        let mut committed = self.engine.subscribe();
        let name = consumer.name();
        loop {
            if *shutdown.borrow() {
                break;
            }
            let busy = match self.run_once(&consumer).await {
                Ok(Pass::Handled(n)) => n > 0,
                Ok(Pass::Skipped | Pass::Failed) => false,
                Err(e) => {
                    tracing::error!(consumer = name, error = %e, "consumer pass failed");
                    false
                }
            };
            if busy {
                continue;
            }
            // Wake on this node's next commit, or poll for other nodes' events.
            tokio::select! {
                _ = committed.recv() => {}
                _ = tokio::time::sleep(POLL) => {}
                _ = shutdown.changed() => {}
            }
        }
        let owner = self.owner.clone();
        let released = self
            .engine
            .store
            .write(move |tx| {
                Box::pin(async move {
                    consumers::release(tx, name, &owner).await?;
                    Ok::<_, EngineError>(())
                })
            })
            .await;
        if let Err(e) = released {
            tracing::warn!(consumer = name, error = %e, "releasing the consumer's lease failed");
        }
    }
}

fn leased_elsewhere(s: &ConsumerState, owner: &str, now: Timestamp) -> bool {
    s.lease_owner.as_deref().is_some_and(|o| o != owner)
        && s.lease_until.is_some_and(|until| until >= now)
}

impl Engine {
    /// Every registered consumer's position, lag and last error. Also published as
    /// gauges for `/metrics`.
    pub async fn consumer_status(&self) -> Result<Vec<ConsumerStatus>, EngineError> {
        let mut c = self.store.read().await?;
        let states = consumers::list(&mut c.conn()).await?;
        let mut out = Vec::with_capacity(states.len());
        for s in states {
            let lag = consumers::behind(&mut c.conn(), s.position).await?;
            metrics::gauge!("otklik_consumer_lag_events", "consumer" => s.name.clone())
                .set(lag as f64);
            out.push(ConsumerStatus {
                position: s.position.encode(),
                lag,
                handled: s.handled,
                failures: s.failures,
                last_error: s.last_error,
                lease_owner: s.lease_owner,
                name: s.name,
            });
        }
        Ok(out)
    }

    /// The workspace's event counts per UTC day (days since 1970-01-01) and kind.
    pub async fn activity(
        &self,
        p: &crate::Principal,
        from_day: i64,
        to_day: i64,
    ) -> Result<Vec<(i64, String, i64)>, EngineError> {
        let mut c = self.store.read().await?;
        Ok(consumers::activity(&mut c.conn(), p.workspace_id, from_day, to_day).await?)
    }
}

/// Counts events per workspace, UTC day and kind: the volume figures that reports
/// and trend alerts read (tickets created, messages added, solved …).
pub struct Activity;

const DAY_MS: i64 = 86_400_000;

impl Consumer for Activity {
    fn name(&self) -> &'static str {
        "activity"
    }
    fn start(&self) -> Start {
        Start::Beginning
    }
    fn handle<'t>(
        &'t self,
        tx: &'t mut Tx,
        e: &'t EventRecord,
    ) -> BoxFuture<'t, Result<(), EngineError>> {
        Box::pin(async move {
            let day = e.created_at.millis().div_euclid(DAY_MS);
            consumers::add_activity(tx, e.workspace_id, day, e.kind(), 1).await?;
            // A solve is the figure reports ask for most; count it apart from the
            // other ticket changes.
            if let EventData::TicketUpdated { changes, .. } = &e.data
                && changes
                    .iter()
                    .any(|c| c.field == "status" && c.to.as_str() == Some("solved"))
            {
                consumers::add_activity(tx, e.workspace_id, day, "ticket.solved", 1).await?;
            }
            Ok(())
        })
    }
}

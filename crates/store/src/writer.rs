//! The SQLite writer: one task owns the only write connection and turns concurrent
//! writes into group commits.
//!
//! Each queued write runs inside its own savepoint of one `BEGIN IMMEDIATE`
//! transaction; a write that fails rolls back to its savepoint without disturbing the
//! others. One `COMMIT` (one fsync with `synchronous=FULL`) then makes the whole
//! batch durable, and only then is any caller answered. Under load the batch grows,
//! so throughput scales with concurrency instead of with fsyncs per second.

use crate::{Clock, CommittedEvent, StoreError, Tx, WriteFuture};
use futures::FutureExt as _;
use futures::future::BoxFuture;
use std::panic::AssertUnwindSafe;
use std::sync::Arc;
use tokio::sync::{mpsc, oneshot};

/// How a finished write reports back once the batch's fate is known.
struct Outcome {
    ok: bool,
    finish: Box<dyn FnOnce(Result<Vec<CommittedEvent>, StoreError>) + Send>,
    events: Vec<CommittedEvent>,
}

type Job = Box<dyn for<'t> FnOnce(&'t mut Tx) -> BoxFuture<'t, Outcome> + Send>;

enum Msg {
    Write(Job),
    Close(oneshot::Sender<()>),
}

/// Sends writes to the writer task.
pub(crate) struct Handle {
    tx: mpsc::UnboundedSender<Msg>,
}

/// A write's result together with the events it committed.
type Delivered<T, E> = (Vec<CommittedEvent>, Result<T, E>);

impl Handle {
    pub(crate) async fn submit<T, E, F>(&self, f: F) -> Result<Delivered<T, E>, StoreError>
    where
        T: Send + 'static,
        E: From<StoreError> + Send + 'static,
        F: for<'t> FnOnce(&'t mut Tx) -> WriteFuture<'t, T, E> + Send + 'static,
    {
        let (reply, wait) = oneshot::channel::<Delivered<T, E>>();
        let job: Job = Box::new(move |tx: &mut Tx| {
            async move {
                let mut result = f(tx).await;
                if result.is_ok()
                    && let Err(e) = tx.flush_events().await
                {
                    result = Err(E::from(e));
                }
                let events = if result.is_ok() {
                    tx.take_events()
                } else {
                    Vec::new()
                };
                Outcome {
                    ok: result.is_ok(),
                    events,
                    finish: Box::new(move |commit| {
                        let delivered = match commit {
                            Ok(events) => (events, result),
                            Err(e) => (Vec::new(), Err(E::from(e))),
                        };
                        // The caller may have gone away (client disconnected): the write
                        // is committed all the same.
                        let _ = reply.send(delivered);
                    }),
                }
            }
            .boxed()
        });
        self.tx
            .send(Msg::Write(job))
            .map_err(|_| StoreError::WriterGone)?;
        wait.await.map_err(|_| StoreError::WriterGone)
    }

    pub(crate) async fn close(&self) {
        let (done, wait) = oneshot::channel();
        if self.tx.send(Msg::Close(done)).is_ok() {
            let _ = wait.await;
        }
    }
}

/// Starts the writer on a thread of its own, so that its many short waits on SQLite
/// are not queued behind HTTP work on the shared runtime.
pub(crate) fn spawn(
    conn: rusqlite::Connection,
    clock: Arc<dyn Clock>,
    max_batch: usize,
) -> Result<Handle, StoreError> {
    let (tx, rx) = mpsc::unbounded_channel();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    std::thread::Builder::new()
        .name("otklik-writer".into())
        .spawn(move || rt.block_on(run(conn, rx, clock, max_batch)))?;
    Ok(Handle { tx })
}

async fn run(
    mut conn: rusqlite::Connection,
    mut rx: mpsc::UnboundedReceiver<Msg>,
    clock: Arc<dyn Clock>,
    max_batch: usize,
) {
    let mut batch: Vec<Job> = Vec::with_capacity(max_batch);
    let mut closing: Option<oneshot::Sender<()>> = None;
    loop {
        match rx.recv().await {
            Some(Msg::Write(j)) => batch.push(j),
            Some(Msg::Close(done)) => closing = Some(done),
            None => break,
        }
        while batch.len() < max_batch && closing.is_none() {
            match rx.try_recv() {
                Ok(Msg::Write(j)) => batch.push(j),
                Ok(Msg::Close(done)) => closing = Some(done),
                Err(_) => break,
            }
        }
        if !batch.is_empty() {
            metrics::histogram!("otklik_sqlite_batch_writes").record(batch.len() as f64);
            let started = std::time::Instant::now();
            let (c, outcomes, commit) =
                run_batch(conn, std::mem::take(&mut batch), clock.as_ref()).await;
            metrics::histogram!("otklik_sqlite_commit_seconds")
                .record(started.elapsed().as_secs_f64());
            conn = c;
            deliver(outcomes, commit);
        }
        if let Some(done) = closing.take() {
            // Writes queued before the close still run: drain them, then stop.
            while let Ok(Msg::Write(j)) = rx.try_recv() {
                batch.push(j);
            }
            if !batch.is_empty() {
                let (c, outcomes, commit) =
                    run_batch(conn, std::mem::take(&mut batch), clock.as_ref()).await;
                conn = c;
                deliver(outcomes, commit);
            }
            rx.close();
            let _ = conn.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(()));
            let _ = done.send(());
            return;
        }
    }
}

fn deliver(outcomes: Vec<Outcome>, commit: Result<(), String>) {
    for o in outcomes {
        let r = match &commit {
            Ok(()) => Ok(o.events),
            Err(msg) => Err(StoreError::Db(sqlx::Error::Protocol(format!(
                "commit failed: {msg}"
            )))),
        };
        (o.finish)(r);
    }
}

async fn run_batch(
    mut conn: rusqlite::Connection,
    jobs: Vec<Job>,
    clock: &dyn Clock,
) -> (rusqlite::Connection, Vec<Outcome>, Result<(), String>) {
    let mut outcomes = Vec::with_capacity(jobs.len());
    if let Err(e) = conn.execute_batch("BEGIN IMMEDIATE") {
        let msg = e.to_string();
        for job in jobs {
            // Never started: report the failure without running the job.
            outcomes.push(Outcome {
                ok: false,
                events: Vec::new(),
                finish: failed_finish(job),
            });
        }
        return (conn, outcomes, Err(msg));
    }
    for job in jobs {
        if let Err(e) = conn.execute_batch("SAVEPOINT w") {
            tracing::error!(error = %e, "savepoint failed");
            outcomes.push(Outcome {
                ok: false,
                events: Vec::new(),
                finish: failed_finish(job),
            });
            continue;
        }
        let mut tx = Tx::sqlite(conn, clock.now());
        let outcome = AssertUnwindSafe(job(&mut tx)).catch_unwind().await;
        let Some(c) = tx.into_sqlite() else {
            // Tx::sqlite always holds a connection; this cannot happen.
            tracing::error!("writer lost its connection");
            std::process::abort();
        };
        conn = c;
        let outcome = match outcome {
            Ok(o) => o,
            Err(_) => {
                tracing::error!("a write panicked; it is rolled back");
                Outcome {
                    ok: false,
                    events: Vec::new(),
                    finish: Box::new(|_| {}),
                }
            }
        };
        let end = if outcome.ok {
            "RELEASE w"
        } else {
            "ROLLBACK TO w; RELEASE w"
        };
        if let Err(e) = conn.execute_batch(end) {
            tracing::error!(error = %e, "savepoint end failed");
        }
        outcomes.push(outcome);
    }
    let commit = match conn.execute_batch("COMMIT") {
        Ok(_) => Ok(()),
        Err(e) => {
            let _ = conn.execute_batch("ROLLBACK");
            Err(e.to_string())
        }
    };
    (conn, outcomes, commit)
}

/// A finish for a job that never ran: it is dropped, which drops its reply sender, so
/// the caller sees `WriterGone`-like failure through the closed channel.
fn failed_finish(job: Job) -> Box<dyn FnOnce(Result<Vec<CommittedEvent>, StoreError>) + Send> {
    drop(job);
    Box::new(|_| {})
}

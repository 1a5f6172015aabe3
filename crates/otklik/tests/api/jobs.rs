//! The durable job queue: claimed once, retried with backoff, dead-lettered.

use crate::helpers::TestApp;
use serde_json::json;
use store::StoreError;

crate::on_both!(
    concurrent_claims_never_take_the_same_job,
    jobs_no_handler_can_run_go_to_the_dead_list_at_once
);

async fn enqueue(app: &TestApp, kind: &'static str, n: usize) {
    app.store
        .write(move |tx| {
            Box::pin(async move {
                for i in 0..n {
                    let now = tx.now();
                    store::jobs::enqueue(tx, None, kind, &json!({ "i": i }), now).await?;
                }
                Ok::<_, StoreError>(())
            })
        })
        .await
        .expect("enqueue");
}

async fn concurrent_claims_never_take_the_same_job(app: TestApp) {
    enqueue(&app, "test.noop", 200).await;
    let claimers: Vec<_> = (0..4)
        .map(|_| {
            let store = app.store.clone();
            tokio::spawn(async move {
                let mut mine = Vec::new();
                loop {
                    let batch = store::jobs::claim(&store, 7, 60_000).await.expect("claim");
                    if batch.is_empty() {
                        return mine;
                    }
                    mine.extend(batch.into_iter().map(|j| j.id));
                }
            })
        })
        .collect();
    let mut all = Vec::new();
    for c in claimers {
        all.extend(c.await.expect("claimer"));
    }
    let n = all.len();
    all.sort_unstable();
    all.dedup();
    assert_eq!((n, all.len()), (200, 200), "each job claimed exactly once");
}

/// Backoff with a real kind is `email::delivery_failures_retry_then_fail_visibly`.
async fn jobs_no_handler_can_run_go_to_the_dead_list_at_once(app: TestApp) {
    enqueue(&app, "test.unknown_kind", 1).await;
    // A known kind whose payload does not fit it cannot run either.
    enqueue(&app, "deliver_message", 1).await;
    let worker = engine::worker::Worker::new(app.engine.clone());
    assert_eq!(worker.run_once().await.expect("pass"), 2);
    // Nothing is left to retry, however much time passes.
    app.clock
        .set(Some(app.store.now().plus_millis(2 * 3_600_000)));
    assert_eq!(worker.run_once().await.expect("pass"), 0);
    app.clock.set(None);
    let mut c = app.store.read().await.expect("read");
    let dead = store::jobs::list(&mut c.conn(), "dead", 10)
        .await
        .expect("list");
    assert_eq!(dead.len(), 2);
    for (job, kind) in dead.iter().zip(["test.unknown_kind", "deliver_message"]) {
        assert_eq!(job.kind, kind);
        assert_eq!(job.attempts, 1, "buried on its first run");
        let reason = job.last_error.as_deref().unwrap_or_default();
        assert!(
            reason.contains("cannot run in this build") && reason.contains(kind),
            "{reason}"
        );
    }
}

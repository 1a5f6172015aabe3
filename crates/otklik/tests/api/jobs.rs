//! The durable job queue: claimed once, retried with backoff, dead-lettered.

use crate::helpers::TestApp;
use serde_json::json;
use store::StoreError;

crate::on_both!(
    concurrent_claims_never_take_the_same_job,
    failing_jobs_back_off_and_end_in_the_dead_letter_list
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

async fn failing_jobs_back_off_and_end_in_the_dead_letter_list(app: TestApp) {
    enqueue(&app, "test.unknown_kind", 1).await;
    let worker = engine::worker::Worker::new(app.engine.clone());
    let start = app.store.now();
    assert_eq!(worker.run_once().await.expect("pass"), 1);
    // Not due again until the backoff has passed.
    assert_eq!(worker.run_once().await.expect("pass"), 0);
    let mut t = start;
    for attempt in 2..=8 {
        t = t.plus_millis(2 * 3_600_000);
        app.clock.set(Some(t));
        assert_eq!(
            worker.run_once().await.expect("pass"),
            1,
            "attempt {attempt}"
        );
    }
    t = t.plus_millis(2 * 3_600_000);
    app.clock.set(Some(t));
    assert_eq!(
        worker.run_once().await.expect("pass"),
        0,
        "a dead job is not run again"
    );
    app.clock.set(None);
    let mut c = app.store.read().await.expect("read");
    let dead = store::jobs::list(&mut c.conn(), "dead", 10)
        .await
        .expect("list");
    assert_eq!(dead.len(), 1);
    assert_eq!(dead[0].attempts, 8);
    assert!(
        dead[0]
            .last_error
            .as_deref()
            .unwrap_or_default()
            .contains("no handler"),
        "{:?}",
        dead[0].last_error
    );
}

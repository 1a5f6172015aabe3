//! Durable consumers of the event log: every event handled once per consumer,
//! across failures, a SIGKILL and two nodes on one PostgreSQL database.

use crate::helpers::{TestApp, until};
use engine::EngineError;
use engine::consumers::{Consumer, ConsumerRunner, Pass, Start};
use engine::model::EventRecord;
use futures::future::BoxFuture;
use serde_json::json;
use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Duration;

crate::on_both!(
    the_activity_consumer_counts_every_event_once,
    a_failing_consumer_retries_with_backoff_and_holds_back_no_other
);

/// Events per kind in the log, and in the `activity` roll-up.
async fn counts(app: &TestApp) -> (BTreeMap<String, i64>, BTreeMap<String, i64>) {
    let mut c = app.store.read().await.unwrap();
    let mut events = BTreeMap::new();
    let mut after = store::events::Cursor::default();
    loop {
        let page = store::events::all_after(&mut c.conn(), after, 500)
            .await
            .unwrap();
        let Some(last) = page.last() else { break };
        after = store::events::Cursor::of(last);
        for e in &page {
            *events.entry(e.kind().to_owned()).or_insert(0) += 1;
        }
    }
    let p = app.engine.cli_principal("alpha").await.unwrap();
    let mut rolled = BTreeMap::new();
    for (_, kind, n) in app.engine.activity(&p, 0, i64::MAX).await.unwrap() {
        *rolled.entry(kind).or_insert(0) += n;
    }
    (events, rolled)
}

async fn caught_up(app: &TestApp, name: &str) {
    until(&format!("consumer {name} caught up"), 30, async || {
        let all = app.engine.consumer_status().await.unwrap();
        all.iter()
            .find(|c| c.name == name && c.lag == 0)
            .map(|_| ())
    })
    .await;
}

async fn the_activity_consumer_counts_every_event_once(app: TestApp) {
    for i in 0..30 {
        let t = app
            .ticket(&format!("Заказ {i}"), &format!("c{}@example.com", i % 7))
            .await;
        if i % 3 == 0 {
            let path = format!("/api/v1/tickets/{}", t["id"].as_str().unwrap());
            app.patch(&path, json!({"status": "solved"}))
                .await
                .expect(200);
        }
    }
    caught_up(&app, "activity").await;
    let (events, mut rolled) = counts(&app).await;
    // The one figure counted apart: solves.
    assert_eq!(rolled.remove("ticket.solved"), Some(10));
    // Only alpha's events are rolled up for alpha; the log has nothing else here.
    assert_eq!(rolled, events, "every event counted exactly once");
    assert_eq!(events["ticket.created"], 30);
    let status = app.engine.consumer_status().await.unwrap();
    let activity = status.iter().find(|c| c.name == "activity").unwrap();
    assert_eq!(activity.handled, events.values().sum::<i64>());
    assert_eq!(activity.failures, 0);
    // Lag and throughput are in /metrics.
    let text = app.metrics().await;
    assert!(
        text.contains("otklik_consumer_lag_events{consumer=\"activity\"} 0"),
        "{text}"
    );
    assert!(
        text.contains("otklik_consumer_events_total{consumer=\"activity\"}"),
        "{text}"
    );
}

/// Fails while `failing` is set; counts what it handled.
struct Flaky {
    failing: AtomicBool,
    handled: AtomicUsize,
}

impl Consumer for Flaky {
    fn name(&self) -> &'static str {
        "test.flaky"
    }
    fn start(&self) -> Start {
        Start::Now
    }
    fn handle<'t>(
        &'t self,
        _tx: &'t mut store::Tx,
        _e: &'t EventRecord,
    ) -> BoxFuture<'t, Result<(), EngineError>> {
        Box::pin(async move {
            if self.failing.load(Ordering::SeqCst) {
                return Err(EngineError::Internal("the search index is offline".into()));
            }
            self.handled.fetch_add(1, Ordering::SeqCst);
            Ok(())
        })
    }
}

async fn a_failing_consumer_retries_with_backoff_and_holds_back_no_other(app: TestApp) {
    let flaky = Arc::new(Flaky {
        failing: AtomicBool::new(true),
        handled: AtomicUsize::new(0),
    });
    let k: Arc<dyn Consumer> = flaky.clone();
    let runner = ConsumerRunner::new(app.engine.clone());
    runner.register(std::slice::from_ref(&k)).await.unwrap();
    // Registered "from now": what happened before is not its business.
    assert_eq!(runner.run_once(&k).await.unwrap(), Pass::Handled(0));
    let before = app.stream(500, 0).await.len();
    for i in 0..5 {
        app.ticket(&format!("Flaky {i}"), "f@example.com").await;
    }
    assert_eq!(runner.run_once(&k).await.unwrap(), Pass::Failed);
    // Backing off: not tried again until the delay has passed.
    assert_eq!(runner.run_once(&k).await.unwrap(), Pass::Skipped);
    let status = app.engine.consumer_status().await.unwrap();
    let f = status.iter().find(|c| c.name == "test.flaky").unwrap();
    assert_eq!(f.failures, 1);
    assert!(f.lag > 0);
    assert_eq!(
        f.last_error.as_deref(),
        Some("internal: the search index is offline")
    );
    // Meanwhile the server's own consumer went on.
    caught_up(&app, "activity").await;
    // Recovered and past the backoff: everything since registration, once.
    flaky.failing.store(false, Ordering::SeqCst);
    app.clock.set(Some(app.store.now().plus_millis(60_000)));
    let mut handled = 0;
    for _ in 0..100 {
        match runner.run_once(&k).await.unwrap() {
            Pass::Handled(0) => break,
            Pass::Handled(n) => handled += n,
            other => panic!("{other:?}"),
        }
    }
    app.clock.set(None);
    // 5 tickets: ticket.created and message.added each, and the customer's events.
    let since = app.stream(500, before + 11).await.len() - before;
    assert!(since >= 11, "{since}");
    assert_eq!(handled, since);
    assert_eq!(flaky.handled.load(Ordering::SeqCst), since);
    let status = app.engine.consumer_status().await.unwrap();
    let f = status.iter().find(|c| c.name == "test.flaky").unwrap();
    assert_eq!((f.failures, f.lag, f.last_error.as_deref()), (0, 0, None));
}

/// The server binary, killed with SIGKILL while its consumer works through a
/// backlog, resumes after the last event it committed: none missed, none twice.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_killed_server_resumes_its_consumers_without_loss_or_doubles() {
    let dir = tempfile::tempdir().unwrap();
    // A backlog of events written while no consumer runs.
    {
        let config = otklik::config::Config {
            data_dir: dir.path().to_path_buf(),
            ..Default::default()
        };
        let engine = otklik::app::open_engine(&config, Arc::new(store::SystemClock))
            .await
            .unwrap();
        engine
            .create_workspace("kill", "owner@kill.test", "kill-password")
            .await
            .unwrap();
        let p = engine.cli_principal("kill").await.unwrap();
        let tasks: Vec<_> = (0..8)
            .map(|w| {
                let (engine, p) = (engine.clone(), p.clone());
                tokio::spawn(async move {
                    for i in 0..250 {
                        let n = w * 1000 + i;
                        engine
                            .create_ticket(&p, crate::helpers::new_ticket(n), None)
                            .await
                            .unwrap();
                    }
                })
            })
            .collect();
        for t in tasks {
            t.await.unwrap();
        }
        engine.close().await;
    }
    let db = dir.path().join("otklik.sqlite3");
    let query = |sql: &str| crate::helpers::sqlite_number(&db, sql);
    let total = query("SELECT COUNT(*) FROM events");
    let head = query("SELECT MAX(id) FROM events");
    assert!(total > 4000, "{total}");
    let serve = || crate::helpers::serve_binary(dir.path());
    let position = "SELECT COALESCE(MAX(position_id), 0) FROM consumers WHERE name = 'activity'";
    let mut child = serve();
    let t0 = std::time::Instant::now();
    while query(position) == 0 {
        assert!(
            t0.elapsed() < Duration::from_secs(60),
            "the consumer never started"
        );
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
    child.kill().unwrap();
    child.wait().unwrap();
    let at_kill = query(position);
    assert!(
        at_kill < head,
        "the backlog was handled completely before the kill ({at_kill}); nothing was tested"
    );
    let mut child = serve();
    let t0 = std::time::Instant::now();
    while query(position) < head {
        assert!(
            t0.elapsed() < Duration::from_secs(120),
            "after the restart the consumer stopped at {}",
            query(position)
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    child.kill().unwrap();
    child.wait().unwrap();
    assert_eq!(
        query("SELECT SUM(n) FROM activity_daily WHERE kind <> 'ticket.solved'"),
        total,
        "an event was missed or counted twice"
    );
    assert_eq!(
        query(
            "SELECT COUNT(*) FROM (SELECT kind, COUNT(*) AS c FROM events GROUP BY kind) e \
             JOIN (SELECT kind, SUM(n) AS s FROM activity_daily GROUP BY kind) a ON a.kind = e.kind WHERE a.s = e.c"
        ),
        query("SELECT COUNT(DISTINCT kind) FROM events"),
        "per kind, the roll-up equals the log"
    );
    assert_eq!(
        query("SELECT handled FROM consumers WHERE name = 'activity'"),
        total
    );
    eprintln!("killed at event {at_kill} of {head}; after the restart all {total} counted once");
}

/// Two server processes on one PostgreSQL database both run the consumers; every
/// event is handled once between them.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_nodes_share_one_consumer_without_doubles() {
    let Some(admin) = crate::helpers::pg_admin_url() else {
        crate::helpers::skipped(
            "consumers::two_nodes_share_one_consumer_without_doubles",
            "no PostgreSQL: set OTKLIK_TEST_PG_URL (cargo xtask ci does)",
        );
        return;
    };
    let name = format!("otklik_test_{}", uuid::Uuid::new_v4().simple());
    let url = store::admin::create_database(&admin, &name).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let config = otklik::config::Config {
        data_dir: dir.path().to_path_buf(),
        database_url: Some(url.clone().into()),
        ..Default::default()
    };
    let engine = otklik::app::open_engine(&config, Arc::new(store::SystemClock))
        .await
        .unwrap();
    let (_, owner) = engine
        .create_workspace("pair", "owner@pair.test", "pair-password")
        .await
        .unwrap();
    let ports: Vec<u16> = (0..2)
        .map(|_| {
            let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
            l.local_addr().unwrap().port()
        })
        .collect();
    let node = |i: usize| {
        let data = dir.path().join(format!("node{i}"));
        std::fs::create_dir_all(&data).unwrap();
        tokio::process::Command::new(env!("CARGO_BIN_EXE_otklik"))
            .args([
                "serve",
                "--listen",
                &format!("127.0.0.1:{}", ports[i - 1]),
                "--data-dir",
            ])
            .arg(&data)
            .env("DATABASE_URL", &url)
            .env("OTKLIK_WORKERS", "0")
            .env("OTKLIK_IMAP_POLLERS", "false")
            .env("OTKLIK_LOG", "warn")
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .unwrap()
    };
    let (mut a, mut b) = (node(1), node(2));
    // Events written while both nodes follow the log.
    let p = engine.cli_principal("pair").await.unwrap();
    let token = engine.create_token(&p, owner.id, "search").await.unwrap().1;
    let tasks: Vec<_> = (0..4)
        .map(|w| {
            let (engine, p) = (engine.clone(), p.clone());
            tokio::spawn(async move {
                for i in 0..100 {
                    engine
                        .create_ticket(&p, crate::helpers::new_ticket(w * 1000 + i), None)
                        .await
                        .unwrap();
                    if i % 10 == 0 {
                        tokio::time::sleep(Duration::from_millis(5)).await;
                    }
                }
            })
        })
        .collect();
    for t in tasks {
        t.await.unwrap();
    }
    let activity = until("both nodes' consumer caught up", 60, async || {
        let all = engine.consumer_status().await.unwrap();
        all.into_iter().find(|c| c.name == "activity" && c.lag == 0)
    })
    .await;
    // Each node keeps its own search index current from the shared log: both
    // find a ticket another process wrote.
    let http = reqwest::Client::new();
    for port in &ports {
        let url = format!(
            "http://127.0.0.1:{port}/api/v1/tickets?q=%D0%B7%D0%B0%D0%BA%D0%B0%D0%B7%D0%B0%203007"
        );
        let found = until("the node's index to find ticket 3007", 60, async || {
            let r = http.get(&url).bearer_auth(&token).send().await.ok()?;
            let v: serde_json::Value = r.json().await.ok()?;
            let items = v["items"].as_array()?.clone();
            (items.len() == 1).then_some(items)
        })
        .await;
        assert_eq!(found[0]["subject"], "Заказ 3007", "node on {port}");
    }
    let _ = a.kill().await;
    let _ = b.kill().await;
    let mut events = 0;
    let mut by_kind = BTreeMap::<String, i64>::new();
    let mut after = engine::model::Cursor::default();
    loop {
        let page = engine.event_stream(&p, after, 1000).await.unwrap();
        let Some(last) = page.last() else { break };
        after = engine::model::Cursor::of(last);
        events += page.len() as i64;
        for e in &page {
            *by_kind.entry(e.kind().to_owned()).or_insert(0) += 1;
        }
    }
    let mut rolled = BTreeMap::new();
    for (_, kind, n) in engine.activity(&p, 0, i64::MAX).await.unwrap() {
        *rolled.entry(kind).or_insert(0) += n;
    }
    assert_eq!(rolled, by_kind, "each event handled once by the pair");
    assert_eq!(activity.handled, events);
    assert_eq!(by_kind["ticket.created"], 400);
    engine.close().await;
    store::admin::drop_database(&admin, &name).await.unwrap();
}

/// Transaction ids are shared by every database of a PostgreSQL cluster: a
/// write transaction left open in another database must not stop this one's
/// consumers (events are read below the oldest transaction of this database).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_long_transaction_in_another_database_holds_back_nothing() {
    let Some(app) = crate::helpers::spawn(crate::helpers::Backend::Postgres).await else {
        return;
    };
    let admin = crate::helpers::pg_admin_url().expect("a PostgreSQL server");
    let name = format!("otklik_test_{}", uuid::Uuid::new_v4().simple());
    let url = store::admin::create_database(&admin, &name).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let config = otklik::config::Config {
        data_dir: dir.path().to_path_buf(),
        database_url: Some(url.into()),
        ..Default::default()
    };
    let other = store::Store::open(&config.store_options(), Arc::new(store::SystemClock))
        .await
        .unwrap();
    let (held_tx, held_rx) = tokio::sync::oneshot::channel::<()>();
    let (release_tx, release_rx) = tokio::sync::oneshot::channel::<()>();
    let holder = tokio::spawn(async move {
        other
            .write(move |tx| {
                Box::pin(async move {
                    // Takes a transaction id, then stays open.
                    let _: String = tx
                        .conn()
                        .fetch_one(&store::query("SELECT pg_current_xact_id()::text"))
                        .await?;
                    let _ = held_tx.send(());
                    let _ = release_rx.await;
                    Ok::<_, store::StoreError>(())
                })
            })
            .await
    });
    held_rx.await.unwrap();
    for i in 0..5 {
        app.ticket(&format!("Заказ {i}"), "c@example.com").await;
    }
    caught_up(&app, "activity").await;
    let _ = release_tx.send(());
    holder.await.unwrap().unwrap();
    store::admin::drop_database(&admin, &name).await.unwrap();
}

/// On PostgreSQL the log's order is (transaction, id), and ids are taken before
/// commit: a transaction that began first may write the larger id. A consumer
/// that handled everything must then show no lag.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lag_follows_the_logs_order_not_the_ids() {
    let Some(app) = crate::helpers::spawn(crate::helpers::Backend::Postgres).await else {
        return;
    };
    let ws = app
        .engine
        .cli_principal("alpha")
        .await
        .unwrap()
        .workspace_id;
    let (started_tx, started_rx) = tokio::sync::oneshot::channel::<()>();
    let (go_tx, go_rx) = tokio::sync::oneshot::channel::<()>();
    let store = app.store.clone();
    // The first transaction takes its id now and writes its event last.
    let first = tokio::spawn(async move {
        store
            .write(move |tx| {
                Box::pin(async move {
                    let _: String = tx
                        .conn()
                        .fetch_one(&store::query("SELECT pg_current_xact_id()::text"))
                        .await?;
                    let _ = started_tx.send(());
                    let _ = go_rx.await;
                    tx.emit(
                        ws,
                        domain::event::Actor::System,
                        domain::event::EventData::WorkspaceCreated {
                            name: "first".into(),
                        },
                    )
                    .await?;
                    Ok::<_, store::StoreError>(())
                })
            })
            .await
    });
    started_rx.await.unwrap();
    app.store
        .write(move |tx| {
            Box::pin(async move {
                tx.emit(
                    ws,
                    domain::event::Actor::System,
                    domain::event::EventData::WorkspaceCreated {
                        name: "second".into(),
                    },
                )
                .await?;
                Ok::<_, store::StoreError>(())
            })
        })
        .await
        .unwrap();
    let _ = go_tx.send(());
    first.await.unwrap().unwrap();
    caught_up(&app, "activity").await;
}

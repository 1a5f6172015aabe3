//! Outbound webhook subscriptions: events POSTed signed, the delivery log
//! with the receiver's answers, retries with backoff, switching off after
//! repeated failure with an alert, and a durable consumer that neither skips
//! nor doubles an event across a restart.

use crate::api_channel::receiver;
use crate::helpers::{TestApp, until};
use serde_json::{Value, json};
use std::sync::atomic::Ordering;

crate::on_both!(subscriptions_deliver_events_signed_and_log_them);

mod only_sqlite {
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn failing_receivers_are_retried_then_switched_off() {
        let app = crate::helpers::spawn(crate::helpers::Backend::Sqlite)
            .await
            .expect("app");
        super::failing_receivers_are_retried_then_switched_off(app).await;
    }
}

async fn deliveries(app: &TestApp, hook: &str) -> Vec<Value> {
    app.get(&format!("/api/v1/webhooks/{hook}/deliveries"))
        .await
        .expect(200)["items"]
        .as_array()
        .unwrap()
        .clone()
}

/// Waits until `n` deliveries exist and none is waiting for a first try.
async fn delivered(app: &TestApp, hook: &str, n: usize) -> Vec<Value> {
    until("the deliveries", 15, async || {
        app.drain_jobs().await;
        let d = deliveries(app, hook).await;
        (d.len() >= n && d.iter().all(|x| x["attempts"].as_i64() > Some(0))).then_some(d)
    })
    .await
}

async fn subscriptions_deliver_events_signed_and_log_them(app: TestApp) {
    let rx = receiver().await;
    let h = app
        .post(
            "/api/v1/webhooks",
            json!({"url": rx.url, "events": ["ticket.created", "message.added"]}),
        )
        .await
        .expect(201);
    let hook = h["id"].as_str().unwrap().to_owned();
    let secret = h["secret"].as_str().unwrap().to_owned();
    assert!(secret.starts_with("whsec_"));
    assert_eq!(
        app.get(&format!("/api/v1/webhooks/{hook}"))
            .await
            .expect(200)["secret"],
        Value::Null
    );
    app.post(
        "/api/v1/webhooks",
        json!({"url": rx.url, "events": ["ticket.exploded"]}),
    )
    .await
    .problem(422);

    let t = app.ticket("Где заказ?", "anna@example.com").await;
    let log = delivered(&app, &hook, 2).await;
    assert_eq!(log.len(), 2, "ticket.created and message.added, each once");
    assert!(
        log.iter()
            .all(|d| d["state"] == "delivered" && d["response_status"] == 200)
    );
    let got = rx.got.lock().unwrap().clone();
    assert_eq!(got.len(), 2);
    let mut types = Vec::new();
    for (ts, sig, raw) in &got {
        let ts: i64 = ts.parse().unwrap();
        assert_eq!(
            *sig,
            engine::webhook::signature(&secret, ts, raw.as_bytes())
        );
        let body: Value = serde_json::from_str(raw).unwrap();
        assert_eq!(body["ticket_id"], t["id"]);
        types.push(body["type"].as_str().unwrap().to_owned());
    }
    types.sort();
    assert_eq!(types, ["message.added", "ticket.created"]);
    // Other kinds are not sent: a status change is ticket.updated.
    app.patch(
        &format!("/api/v1/tickets/{}", t["id"].as_str().unwrap()),
        json!({"status": "open"}),
    )
    .await
    .expect(200);

    // Across a restart: an event written just before it is delivered once.
    let t2 = app.ticket("Второй вопрос", "boris@example.com").await;
    let app = app.restart().await;
    let log = delivered(&app, &hook, 4).await;
    assert_eq!(log.len(), 4, "{log:?}");
    let bodies: Vec<Value> = rx
        .got
        .lock()
        .unwrap()
        .iter()
        .map(|(_, _, raw)| serde_json::from_str(raw).unwrap())
        .collect();
    assert_eq!(
        bodies.iter().filter(|b| b["ticket_id"] == t2["id"]).count(),
        2,
        "the second ticket's two events, once each"
    );
    assert!(bodies.iter().all(|b| b["type"] != "ticket.updated"));
}

async fn failing_receivers_are_retried_then_switched_off(app: TestApp) {
    let rx = receiver().await;
    rx.status.store(500, Ordering::SeqCst);
    let h = app
        .post(
            "/api/v1/webhooks",
            json!({"url": rx.url, "events": ["ticket.created"]}),
        )
        .await
        .expect(201);
    let hook = h["id"].as_str().unwrap().to_owned();
    app.ticket("Первая", "a1@example.com").await;
    let log = delivered(&app, &hook, 1).await;
    assert_eq!(log[0]["state"], "pending");
    assert_eq!(log[0]["attempts"], 1);
    assert!(log[0]["error"].as_str().unwrap().contains("500"), "{log:?}");
    // Then 10 s, 1 min, 5 min, 30 min, 2 h, 6 h later: seven attempts in all.
    let start = app.engine.now();
    let mut at = 0;
    for wait_s in engine::subscriptions::RETRY_AFTER_S {
        at += wait_s * 1000;
        app.clock.set(Some(start.plus_millis(at - 1_000)));
        app.drain_jobs().await;
        let before = deliveries(&app, &hook).await[0]["attempts"]
            .as_i64()
            .unwrap();
        app.clock.set(Some(start.plus_millis(at + 1_000)));
        app.drain_jobs().await;
        let after = deliveries(&app, &hook).await[0]["attempts"]
            .as_i64()
            .unwrap();
        assert_eq!(
            after,
            before + 1,
            "the next attempt {wait_s} s later, not before"
        );
    }
    let log = deliveries(&app, &hook).await;
    assert_eq!(
        (log[0]["state"].as_str(), log[0]["attempts"].as_i64()),
        (Some("failed"), Some(7))
    );
    assert_eq!(rx.got.lock().unwrap().len(), 7);

    // A receiver that refuses (4xx) fails a delivery at once; five in a row
    // switch the subscription off, with the reason, and admins are told.
    rx.status.store(410, Ordering::SeqCst);
    let p = app.engine.cli_principal("alpha").await.unwrap();
    for i in 0..4 {
        app.ticket(&format!("Вопрос {i}"), &format!("q{i}@example.com"))
            .await;
    }
    let log = delivered(&app, &hook, 5).await;
    assert!(
        log[..4]
            .iter()
            .all(|d| d["state"] == "failed" && d["response_status"] == 410),
        "{log:?}"
    );
    let h = app
        .get(&format!("/api/v1/webhooks/{hook}"))
        .await
        .expect(200);
    assert_eq!(h["active"], false);
    assert!(
        h["disabled_reason"]
            .as_str()
            .unwrap()
            .contains("5 deliveries in a row failed"),
        "{h}"
    );
    let disabled = crate::helpers::all_events(&app.engine, &p)
        .await
        .into_iter()
        .filter(|e| e.kind() == "webhook.disabled")
        .count();
    assert_eq!(disabled, 1);
    // Switched off, it gets nothing; on again, it starts over.
    app.ticket("Пока выключен", "off@example.com").await;
    for _ in 0..10 {
        app.drain_jobs().await;
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert_eq!(deliveries(&app, &hook).await.len(), 5);
    rx.status.store(200, Ordering::SeqCst);
    let on = app
        .patch(&format!("/api/v1/webhooks/{hook}"), json!({"active": true}))
        .await
        .expect(200);
    assert_eq!(
        (on["failures"].as_i64(), on["disabled_reason"].clone()),
        (Some(0), Value::Null)
    );
    app.ticket("Снова включён", "on@example.com").await;
    let log = delivered(&app, &hook, 6).await;
    assert_eq!(log[0]["state"], "delivered");
    app.clock.set(None);
}

/// Two server processes on one PostgreSQL database run the `webhooks`
/// consumer (one node holds it at a time) and the delivery jobs: every event
/// reaches the receiver exactly once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_nodes_deliver_each_event_once() {
    let Some(cluster) = crate::helpers::PgCluster::start(
        "subscriptions::two_nodes_deliver_each_event_once",
        std::sync::Arc::new(store::SystemClock),
    )
    .await
    else {
        return;
    };
    let engine = cluster.engine.clone();
    engine
        .create_workspace("pair", "owner@pair.test", "pair-password")
        .await
        .unwrap();
    let p = engine.cli_principal("pair").await.unwrap();
    let rx = receiver().await;
    engine
        .create_webhook(
            &p,
            engine::subscriptions::SubscriptionInput {
                url: Some(rx.url.clone()),
                events: Some(vec!["ticket.created".into()]),
                active: Some(true),
                rotate_secret: false,
            },
        )
        .await
        .unwrap();
    let (mut a, mut b) = (cluster.node(1, 1), cluster.node(2, 1));
    until("the nodes follow the log", 60, async || {
        let all = engine.consumer_status().await.ok()?;
        all.iter().any(|c| c.name == "webhooks").then_some(())
    })
    .await;
    const TICKETS: usize = 100;
    for i in 0..TICKETS {
        engine
            .create_ticket(&p, crate::helpers::new_ticket(i), None)
            .await
            .unwrap();
    }
    let t0 = std::time::Instant::now();
    loop {
        let got = rx.got.lock().unwrap().len();
        if got >= TICKETS {
            break;
        }
        if t0.elapsed() > std::time::Duration::from_secs(90) {
            panic!(
                "{got} of {TICKETS} delivered; {:?}\n{}",
                engine.consumer_status().await,
                crate::helpers::node_logs(cluster.dir.path())
            );
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    // A second delivery would come within a pass or two.
    tokio::time::sleep(std::time::Duration::from_secs(2)).await;
    let _ = a.kill().await;
    let _ = b.kill().await;
    let bodies: Vec<Value> = rx
        .got
        .lock()
        .unwrap()
        .iter()
        .map(|(_, _, raw)| serde_json::from_str(raw).unwrap())
        .collect();
    let logs = crate::helpers::node_logs(cluster.dir.path());
    assert_eq!(bodies.len(), TICKETS, "{logs}");
    let tickets: std::collections::HashSet<&str> = bodies
        .iter()
        .filter_map(|b| b["ticket_id"].as_str())
        .collect();
    assert_eq!(tickets.len(), TICKETS, "each ticket's event once");
    cluster.finish().await;
}

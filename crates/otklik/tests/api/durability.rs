//! What was acknowledged survives a restart; a graceful stop drains requests.

use crate::helpers::TestApp;
use serde_json::json;

crate::on_both!(
    restart_keeps_everything_acknowledged,
    stopping_drains_requests_in_flight
);

async fn restart_keeps_everything_acknowledged(app: TestApp) {
    // Concurrent creations, all acknowledged before the stop.
    let futs: Vec<_> = (0..40)
        .map(|i| {
            let req = app.client.post(app.url("/api/v1/tickets")).bearer_auth(&app.token).json(&json!({
                "subject": format!("Durable {i}"), "customer": {"email": format!("d{}@example.com", i % 5)}, "message": {"body": "сохрани меня"}, "tags": ["durable"]
            }));
            async move { req.send().await.unwrap().status().as_u16() }
        })
        .collect();
    let statuses = futures::future::join_all(futs).await;
    assert!(statuses.iter().all(|s| *s == 201), "{statuses:?}");
    let t = app.get("/api/v1/tickets/7").await.expect(200);
    app.patch(
        "/api/v1/tickets/7",
        json!({"status": "pending", "priority": "high"}),
    )
    .await
    .expect(200);
    // 3 set-up events, 5 customers × 2, 40 tickets × 2, one update.
    let events_before = app.stream(200, 94).await.len();
    assert_eq!(events_before, 94);
    let app = app.restart().await;
    let list = app
        .get("/api/v1/tickets?tag=durable&limit=200")
        .await
        .expect(200);
    assert_eq!(list["items"].as_array().unwrap().len(), 40);
    let numbers: std::collections::BTreeSet<i64> = list["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["number"].as_i64().unwrap())
        .collect();
    assert_eq!(
        numbers,
        (1..=40).collect(),
        "numbers are unique and gapless"
    );
    let again = app.get("/api/v1/tickets/7").await.expect(200);
    assert_eq!(again["id"], t["id"]);
    assert_eq!(again["status"], "pending");
    assert_eq!(again["priority"], "high");
    assert_eq!(
        app.get("/api/v1/customers").await.expect(200)["items"]
            .as_array()
            .unwrap()
            .len(),
        5
    );
    assert_eq!(app.stream(200, events_before).await.len(), events_before);
    // The token (stored hashed) still works, and numbering continues.
    assert_eq!(
        app.ticket("After restart", "new@example.com").await["number"],
        41
    );
}

async fn stopping_drains_requests_in_flight(app: TestApp) {
    // A burst of creations, with the stop issued while they are being handled.
    let reqs: Vec<_> = (0..120)
        .map(|i| {
            let req = app.client.post(app.url("/api/v1/tickets")).bearer_auth(&app.token).json(&json!({
                "subject": format!("In flight {i}"), "customer": {"email": format!("f{i}@example.com")}, "message": {"body": "не потеряйте"}
            }));
            async move {
                match req.send().await {
                    Ok(r) => {
                        let status = r.status().as_u16();
                        let body: serde_json::Value = r.json().await.unwrap_or_default();
                        (Some(status), body["id"].as_str().map(str::to_owned))
                    }
                    // Refused or cut before it was handled: not acknowledged.
                    Err(_) => (None, None),
                }
            }
        })
        .collect();
    let burst = tokio::spawn(futures::future::join_all(reqs));
    // Stop once the first creation has committed, so the stop lands during the burst
    // however slow the machine.
    for _ in 0..2000 {
        let page = app.get("/api/v1/tickets?limit=1").await.expect(200);
        if page["items"].as_array().is_some_and(|a| !a.is_empty()) {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(2)).await;
    }
    let committed_at_stop = app.get("/api/v1/tickets?limit=200").await.expect(200)["items"]
        .as_array()
        .map_or(0, Vec::len);
    let app = app.restart().await;
    let results = burst.await.unwrap();
    eprintln!(
        "{committed_at_stop} of {} committed when the stop was issued",
        results.len()
    );
    let acknowledged: Vec<String> = results
        .iter()
        .filter(|(s, _)| *s == Some(201))
        .filter_map(|(_, id)| id.clone())
        .collect();
    assert!(
        results.iter().all(|(s, _)| s.is_none_or(|s| s == 201)),
        "only 201 or no answer: {results:?}"
    );
    eprintln!(
        "{} of {} requests acknowledged around the stop",
        acknowledged.len(),
        results.len()
    );
    assert!(
        !acknowledged.is_empty(),
        "the stop came before any request was handled"
    );
    for id in &acknowledged {
        app.get(&format!("/api/v1/tickets/{id}")).await.expect(200);
    }
}

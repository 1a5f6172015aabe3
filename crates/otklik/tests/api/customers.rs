//! Customers: identities, merging, timeline.

use crate::helpers::TestApp;
use serde_json::json;

crate::on_both!(
    merging_moves_identities_tickets_and_history,
    identities_are_unique_per_workspace
);

async fn merging_moves_identities_tickets_and_history(app: TestApp) {
    let a = app.ticket("By mail", "anna@example.com").await;
    let b = app.post("/api/v1/tickets", json!({"subject": "By Telegram", "channel": "telegram", "customer": {"name": "Anna T", "telegram": "@anna_tg"}, "message": {"body": "привет"}})).await.expect(201);
    let (ca, cb) = (
        a["customer_id"].as_str().unwrap().to_owned(),
        b["customer_id"].as_str().unwrap().to_owned(),
    );
    assert_ne!(ca, cb);
    app.post(
        &format!("/api/v1/customers/{ca}/merge"),
        json!({"source_id": ca}),
    )
    .await
    .problem(409);
    let merged = app
        .post(
            &format!("/api/v1/customers/{ca}/merge"),
            json!({"source_id": cb}),
        )
        .await
        .expect(200);
    let kinds: Vec<&str> = merged["identities"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["kind"].as_str().unwrap())
        .collect();
    assert!(
        kinds.contains(&"email") && kinds.contains(&"telegram"),
        "{merged}"
    );
    // The source remains only as a pointer; tickets moved; the identity now resolves to the target.
    assert_eq!(
        app.get(&format!("/api/v1/customers/{cb}"))
            .await
            .expect(200)["merged_into"],
        ca.as_str()
    );
    assert_eq!(
        app.get(&format!("/api/v1/tickets/{}", b["id"].as_str().unwrap()))
            .await
            .expect(200)["customer_id"],
        ca.as_str()
    );
    let c = app.post("/api/v1/tickets", json!({"subject": "Again", "customer": {"telegram": "anna_tg"}, "message": {"body": "?"}})).await.expect(201);
    assert_eq!(c["customer_id"], ca.as_str());
    let listed = app.get("/api/v1/customers").await.expect(200);
    assert_eq!(
        listed["items"].as_array().unwrap().len(),
        1,
        "merged-away profiles are not listed"
    );
    app.post(
        &format!("/api/v1/customers/{ca}/merge"),
        json!({"source_id": cb}),
    )
    .await
    .problem(409);
    // The timeline: newest first, across channels, including the merge and the source's creation.
    let tl = app
        .get(&format!("/api/v1/customers/{ca}/timeline"))
        .await
        .expect(200);
    let kinds: Vec<&str> = tl["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["kind"].as_str().unwrap())
        .collect();
    assert_eq!(kinds[0], "message.added");
    assert!(kinds.contains(&"customer.merged"), "{kinds:?}");
    assert_eq!(
        kinds.iter().filter(|k| **k == "customer.created").count(),
        2,
        "{kinds:?}"
    );
    let times: Vec<&str> = tl["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["created_at"].as_str().unwrap())
        .collect();
    assert!(times.windows(2).all(|w| w[0] >= w[1]), "newest first");
    let merge_event = tl["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["kind"] == "customer.merged")
        .unwrap();
    assert_eq!(merge_event["data"]["merged_id"], cb.as_str());
    assert_eq!(merge_event["data"]["tickets"], 1);
}

async fn identities_are_unique_per_workspace(app: TestApp) {
    let c = app.post("/api/v1/customers", json!({"name": "Somchai", "language": "th", "phone": "+66 81 234 5678", "whatsapp": "66812345678"})).await.expect(201);
    assert_eq!(c["identities"].as_array().unwrap().len(), 2);
    app.post(
        "/api/v1/customers",
        json!({"name": "Other", "phone": "+66812345678"}),
    )
    .await
    .problem(409);
    let other = app
        .post(
            "/api/v1/customers",
            json!({"name": "Other", "email": "o@example.com"}),
        )
        .await
        .expect(201);
    app.patch(
        &format!("/api/v1/customers/{}", other["id"].as_str().unwrap()),
        json!({"identities": [{"kind": "phone", "value": "+66812345678"}]}),
    )
    .await
    .problem(409);
    let p = app.patch(&format!("/api/v1/customers/{}", other["id"].as_str().unwrap()), json!({"name": "Другой", "language": null, "identities": [{"kind": "vk", "value": "12345"}]})).await.expect(200);
    assert_eq!(p["name"], "Другой");
    app.post(
        "/api/v1/customers",
        json!({"name": "Bad", "phone": "12345"}),
    )
    .await
    .problem(422);
    app.post(
        "/api/v1/customers",
        json!({"name": "Bad", "identities": [{"kind": "pager", "value": "1"}]}),
    )
    .await
    .problem(422);
    // Another workspace may know the same phone as its own customer.
    let token_b = app.workspace("beta").await;
    app.req(
        "POST",
        "/api/v1/customers",
        &token_b,
        Some(json!({"name": "Somchai B", "phone": "+66812345678"})),
    )
    .await
    .expect(201);
    let found = app.get("/api/v1/customers?q=5678").await.expect(200);
    assert_eq!(found["items"].as_array().unwrap().len(), 1);
}

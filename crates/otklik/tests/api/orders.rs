//! Orders pushed by stores: upserts on the store's id (repeated pushes change
//! nothing, concurrent pushes make one order), shipments and status history,
//! the customer's timeline, signed store webhooks, and bounds.

use crate::helpers::TestApp;
use engine::phone::signature;
use serde_json::{Value, json};

crate::on_both!(
    pushes_upsert_one_order_with_its_history,
    concurrent_pushes_of_a_new_order_make_one_order,
    stores_push_signed_and_nothing_else_is_taken,
    messages_link_their_customers_orders_only,
    after_a_solve_agents_see_what_to_offer
);

mod only_sqlite {
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn agents_see_orders_beside_the_ticket_and_on_the_profile() {
        let app = crate::helpers::spawn(crate::helpers::Backend::Sqlite)
            .await
            .expect("app");
        super::agents_see_orders_beside_the_ticket_and_on_the_profile(app).await;
    }
}

fn order(status: &str) -> Value {
    json!({
        "external_id": "5531", "customer": {"name": "Анна", "email": "anna@example.com"},
        "status": status, "currency": "rub", "total": "4990.00", "placed_at": "2026-11-20T10:00:00Z",
        "items": [{"sku": "SPK-1", "name": "Умная колонка", "quantity": 1, "price": "4990.00"}]
    })
}

async fn pushes_upsert_one_order_with_its_history(app: TestApp) {
    let first = app.post("/api/v1/orders", order("paid")).await.expect(201);
    assert_eq!(
        (
            first["number"].as_str(),
            first["currency"].as_str(),
            first["version"].as_i64()
        ),
        (Some("5531"), Some("RUB"), Some(1))
    );
    let oid = first["id"].as_str().unwrap().to_owned();
    let cid = first["customer_id"].as_str().unwrap().to_owned();
    // The same push again: the same order, nothing changed.
    let again = app.post("/api/v1/orders", order("paid")).await.expect(200);
    assert_eq!(
        (again["id"].as_str(), again["version"].as_i64()),
        (Some(oid.as_str()), Some(1))
    );

    // Shipped, with a parcel; then the parcel is delayed.
    let mut shipped = order("shipped");
    shipped["shipments"] = json!([{"carrier": "CDEK", "tracking_number": "RU123456789",
        "tracking_url": "https://cdek.example/track/RU123456789", "status": "in_transit"}]);
    let s = app.post("/api/v1/orders", shipped).await.expect(200);
    assert_eq!(s["version"], 2);
    assert_eq!(s["history"].as_array().unwrap().len(), 2);
    let mut late = order("shipped");
    late["shipments"] = json!([{"carrier": "CDEK", "tracking_number": "RU123456789",
        "status": "delayed", "note": "Погодные условия", "at": "2026-11-22T08:00:00Z"}]);
    let d = app.post("/api/v1/orders", late).await.expect(200);
    let parcel = &d["shipments"][0];
    assert_eq!(parcel["status"], "delayed");
    assert_eq!(parcel["events"].as_array().unwrap().len(), 2);
    assert_eq!(parcel["events"][1]["note"], "Погодные условия");
    assert_eq!(
        parcel["tracking_url"], "https://cdek.example/track/RU123456789",
        "a push without the address keeps it"
    );

    // The customer's orders and timeline.
    let mine = app
        .get(&format!("/api/v1/customers/{cid}/orders"))
        .await
        .expect(200);
    assert_eq!(mine["items"].as_array().unwrap().len(), 1);
    let by_number = app.get("/api/v1/orders?number=5531").await.expect(200);
    assert_eq!(by_number["items"][0]["id"], oid.as_str());
    let tl = app
        .get(&format!("/api/v1/customers/{cid}/timeline"))
        .await
        .expect(200);
    let kinds: Vec<&str> = tl["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["kind"].as_str().unwrap())
        .filter(|k| k.starts_with("order."))
        .collect();
    assert_eq!(
        kinds,
        [
            "order.shipment_updated",
            "order.shipment_updated",
            "order.status_changed",
            "order.created"
        ]
    );

    // A push for the same customer by phone only still needs its money; bad
    // values are refused with their place named.
    let mut bad = order("paid");
    bad["total"] = json!("4 990,00");
    let p = app.post("/api/v1/orders", bad).await.problem(422);
    assert!(p.to_string().contains("total"), "{p}");
    let mut bad = order("paid");
    bad["external_id"] = json!("5532");
    bad["shipments"] = json!([{"carrier": "X", "tracking_number": "1", "status": "in_transit", "tracking_url": "javascript:alert(1)"}]);
    app.post("/api/v1/orders", bad).await.problem(422);
    let mut orphan = order("paid");
    orphan["external_id"] = json!("5533");
    orphan.as_object_mut().unwrap().remove("customer");
    app.post("/api/v1/orders", orphan).await.problem(422);
    let mut stranger = order("paid");
    stranger["external_id"] = json!("5534");
    stranger.as_object_mut().unwrap().remove("customer");
    stranger["customer_id"] = json!(uuid::Uuid::now_v7());
    app.post("/api/v1/orders", stranger).await.problem(404);

    // Another workspace sees none of it.
    let beta = app.workspace("beta").await;
    app.req("GET", &format!("/api/v1/orders/{oid}"), &beta, None)
        .await
        .problem(404);
    app.req(
        "GET",
        &format!("/api/v1/customers/{cid}/orders"),
        &beta,
        None,
    )
    .await
    .problem(404);
}

/// The same new order from 8 clients at once: one order, one customer.
async fn concurrent_pushes_of_a_new_order_make_one_order(app: TestApp) {
    let mut body = order("paid");
    body["external_id"] = json!("race-1");
    body["customer"] =
        json!({"name": "Гонка", "email": "race@example.com", "phone": "+79005550001"});
    let pushes = (0..8).map(|_| app.post("/api/v1/orders", body.clone()));
    let answers = futures::future::join_all(pushes).await;
    let mut codes: Vec<u16> = answers.iter().map(|r| r.status.as_u16()).collect();
    codes.sort();
    let bodies: Vec<&Value> = answers.iter().map(|r| &r.body).collect();
    assert_eq!(
        codes,
        [200, 200, 200, 200, 200, 200, 200, 201],
        "{bodies:?}"
    );
    let ids: std::collections::BTreeSet<String> = answers
        .iter()
        .map(|r| r.body["id"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(ids.len(), 1);
    let listed = app.get("/api/v1/orders").await.expect(200);
    assert_eq!(listed["items"].as_array().unwrap().len(), 1);
    let customers = app.get("/api/v1/customers?q=race@").await.expect(200);
    assert_eq!(customers["items"].as_array().unwrap().len(), 1);
}

async fn stores_push_signed_and_nothing_else_is_taken(app: TestApp) {
    let s = app
        .post("/api/v1/stores", json!({"name": "Shop"}))
        .await
        .expect(201);
    let (sid, secret) = (
        s["id"].as_str().unwrap().to_owned(),
        s["signing_secret"].as_str().unwrap().to_owned(),
    );
    let listed = app.get("/api/v1/stores").await.expect(200);
    assert!(
        !listed.to_string().contains(&secret),
        "the secret is shown once"
    );
    let raw = serde_json::to_vec(&order("paid")).unwrap();
    let send = async |sig: Option<String>, ts: i64| {
        let mut r = app
            .client
            .post(app.url(&format!("/hooks/store/{sid}")))
            .header("content-type", "application/json");
        if let Some(sig) = sig {
            r = r
                .header("X-Otklik-Timestamp", ts.to_string())
                .header("X-Otklik-Signature", sig);
        }
        crate::helpers::res(r.body(raw.clone()).send().await.expect("push")).await
    };
    let now = app.engine.now().millis() / 1000;
    send(None, now).await.problem(401);
    send(Some(signature("wrong", now, &raw)), now)
        .await
        .problem(403);
    send(Some(signature(&secret, now - 600, &raw)), now - 600)
        .await
        .problem(403);
    assert!(
        app.get("/api/v1/orders").await.expect(200)["items"]
            .as_array()
            .unwrap()
            .is_empty(),
        "nothing stored"
    );
    let made = send(Some(signature(&secret, now, &raw)), now)
        .await
        .expect(201);
    assert_eq!(made["external_id"], "5531");
    send(Some(signature(&secret, now, &raw)), now)
        .await
        .expect(200);
    // Switched off: the hook is gone.
    app.patch(&format!("/api/v1/stores/{sid}"), json!({"active": false}))
        .await
        .expect(200);
    send(Some(signature(&secret, now, &raw)), now)
        .await
        .problem(404);
    // Agents cannot manage stores.
    let (_, agent) = app.user("agent@alpha.test", "agent").await;
    app.req("GET", "/api/v1/stores", &agent, None)
        .await
        .problem(403);
}

/// A message naming an order number links the ticket to that order only when
/// the order is the writer's; agents link and unlink by hand; macros fill
/// `{{order.…}}` from the linked order.
async fn messages_link_their_customers_orders_only(app: TestApp) {
    let mut shipped = order("shipped");
    shipped["shipments"] = json!([{"carrier": "CDEK", "tracking_number": "RU1",
        "tracking_url": "https://cdek.example/track/RU1", "status": "in_transit"}]);
    let anna_order = app.post("/api/v1/orders", shipped).await.expect(201);
    let mut other = order("paid");
    other["external_id"] = json!("7777");
    other["customer"] = json!({"name": "Борис", "email": "boris@example.com"});
    let boris_order = app.post("/api/v1/orders", other).await.expect(201);

    let ticket = |email: &str, body: &str| {
        app.post(
            "/api/v1/tickets",
            json!({"subject": "Заказ", "customer": {"email": email}, "message": {"body": body}}),
        )
    };
    // Anna names her own order: linked.
    let t = ticket("anna@example.com", "Где мой заказ №5531?")
        .await
        .expect(201);
    let linked = app
        .get(&format!("/api/v1/tickets/{}/order", t["number"]))
        .await
        .expect(200);
    assert_eq!(linked["order"]["id"], anna_order["id"]);
    // Anna names Boris's order: nothing.
    let t2 = ticket("anna@example.com", "А что с заказом 7777?")
        .await
        .expect(201);
    let none = app
        .get(&format!("/api/v1/tickets/{}/order", t2["number"]))
        .await
        .expect(200);
    assert_eq!(none["order"], Value::Null);
    // An agent cannot link another customer's order either; they can unlink.
    let put = async |number: &Value, body: Value| {
        app.req(
            "PUT",
            &format!("/api/v1/tickets/{number}/order"),
            &app.token,
            Some(body),
        )
        .await
    };
    put(&t2["number"], json!({"order_id": boris_order["id"]}))
        .await
        .problem(409);
    let events = app
        .get(&format!("/api/v1/tickets/{}/events", t["number"]))
        .await
        .expect(200);
    assert!(
        events["items"]
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["data"]["changes"][0]["field"] == "order"
                && e["data"]["changes"][0]["to"] == "5531"),
        "the link is in the ticket's history: {events}"
    );

    // Macros fill the order's fields.
    let m = app
        .post("/api/v1/macros", json!({"name": "Трек", "shared": true, "body": "Заказ {{order.number}} ({{order.status}}): {{order.tracking_url}}"}))
        .await
        .expect(201);
    let a = app
        .post(
            &format!("/api/v1/tickets/{}/apply-macro", t["number"]),
            json!({"macro_id": m["id"]}),
        )
        .await
        .expect(200);
    assert_eq!(
        a["body"],
        "Заказ 5531 (shipped): https://cdek.example/track/RU1"
    );
    put(&t["number"], json!({"order_id": null}))
        .await
        .expect(200);
    let a = app
        .post(
            &format!("/api/v1/tickets/{}/apply-macro", t["number"]),
            json!({"macro_id": m["id"]}),
        )
        .await
        .expect(200);
    assert_eq!(a["body"], "Заказ  (): ", "no order, empty fields");
}

/// The ticket's sidebar lists the customer's orders with status, items and
/// tracking (the ticket's own marked) and links one by a form; the customer
/// page lists them and tells their events in the timeline.
async fn agents_see_orders_beside_the_ticket_and_on_the_profile(app: TestApp) {
    use crate::ui::Agent;
    let mut shipped = order("shipped");
    shipped["shipments"] = json!([{"carrier": "CDEK", "tracking_number": "RU77",
        "tracking_url": "https://cdek.example/track/RU77", "status": "in_transit"}]);
    let o = app.post("/api/v1/orders", shipped).await.expect(201);
    let t = app
        .post("/api/v1/tickets", json!({"subject": "Вопрос", "customer": {"email": "anna@example.com"}, "message": {"body": "Здравствуйте"}}))
        .await
        .expect(201);
    let number = t["number"].as_i64().unwrap();
    let a = Agent::login(&app, "owner@alpha.test", "alpha-password").await;
    let page = a.page(&format!("/app/t/{number}")).await;
    assert!(page.contains("№5531") && page.contains("Shipped"), "{page}");
    assert!(page.contains("1 × Умная колонка"));
    assert!(page.contains("href=\"https://cdek.example/track/RU77\""));
    assert!(page.contains("This ticket is about this order"));
    let r = a
        .post(
            &format!("/app/t/{number}/order"),
            &[("order", o["id"].as_str().unwrap())],
            true,
        )
        .await;
    assert_eq!(r.status(), 303);
    let linked = app
        .get(&format!("/api/v1/tickets/{number}/order"))
        .await
        .expect(200);
    assert_eq!(linked["order"]["id"], o["id"]);
    let page = a.page(&format!("/app/t/{number}")).await;
    assert!(page.contains("Not about this order") && page.contains("aria-current"));

    let profile = a
        .page(&format!(
            "/app/customers/{}",
            o["customer_id"].as_str().unwrap()
        ))
        .await;
    assert!(profile.contains("RU77"));
    assert!(
        profile.contains("Order №5531, shipment: In transit"),
        "the timeline tells the order's events: {profile}"
    );
}

/// Suggestions from order history, on a crafted history: a filter bought
/// every 30 days and now due is a reorder; what two other customers bought
/// with the same speaker is offered, what one bought is not, what she has is
/// not; nothing before the solve or where the workspace has not enabled it.
async fn after_a_solve_agents_see_what_to_offer(app: TestApp) {
    let day = 24 * 3600 * 1000_i64;
    let now = app.engine.now().millis();
    let ago = |days: i64| domain::Timestamp::from_millis(now - days * day).to_rfc3339();
    let buy = async |id: &str, email: &str, days: i64, items: Value| {
        app.post(
            "/api/v1/orders",
            json!({"external_id": id, "customer": {"email": email}, "currency": "RUB",
            "total": "100.00", "placed_at": ago(days), "status": "delivered", "items": items}),
        )
        .await
        .expect(201);
    };
    let item =
        |sku: &str, name: &str| json!({"sku": sku, "name": name, "quantity": 1, "price": "100.00"});
    for (n, days) in [(1, 95), (2, 65), (3, 35)] {
        buy(
            &format!("F{n}"),
            "anna@example.com",
            days,
            json!([item("FLT-1", "Фильтр для воды")]),
        )
        .await;
    }
    buy(
        "S1",
        "anna@example.com",
        100,
        json!([item("SPK-1", "Умная колонка")]),
    )
    .await;
    buy(
        "B1",
        "b@example.com",
        50,
        json!([item("SPK-1", "Умная колонка"), item("CBL-2", "Кабель")]),
    )
    .await;
    buy(
        "C1",
        "c@example.com",
        40,
        json!([item("SPK-1", "Умная колонка"), item("CBL-2", "Кабель")]),
    )
    .await;
    buy(
        "D1",
        "d@example.com",
        40,
        json!([item("SPK-1", "Умная колонка"), item("KTL-5", "Чайник")]),
    )
    .await;
    let t = app
        .post("/api/v1/tickets", json!({"subject": "Вопрос", "customer": {"email": "anna@example.com"}, "message": {"body": "Спасибо"}}))
        .await
        .expect(201);
    let n = t["number"].as_i64().unwrap();
    let off = app
        .get(&format!("/api/v1/tickets/{n}/upsell"))
        .await
        .expect(200);
    assert_eq!(off, json!({"enabled": false, "items": []}));
    app.req(
        "PUT",
        "/api/v1/outreach/settings",
        &app.token,
        Some(json!({"quiet_hours": null, "daily_limit": 2, "upsell": true})),
    )
    .await
    .expect(200);
    let open = app
        .get(&format!("/api/v1/tickets/{n}/upsell"))
        .await
        .expect(200);
    assert_eq!(
        open,
        json!({"enabled": true, "items": []}),
        "not before the solve"
    );
    app.patch(&format!("/api/v1/tickets/{n}"), json!({"status": "solved"}))
        .await
        .expect(200);
    let u = app
        .get(&format!("/api/v1/tickets/{n}/upsell"))
        .await
        .expect(200);
    let items = u["items"].as_array().unwrap();
    let skus: Vec<&str> = items.iter().map(|i| i["sku"].as_str().unwrap()).collect();
    assert_eq!(skus, ["FLT-1", "CBL-2"], "{u}");
    assert_eq!(
        (
            items[0]["kind"].as_str(),
            items[0]["times"].as_i64(),
            items[0]["every_days"].as_i64(),
            items[0]["last_days"].as_i64()
        ),
        (Some("reorder"), Some(3), Some(30), Some(35))
    );
    assert_eq!(
        (
            items[1]["kind"].as_str(),
            items[1]["with"].as_str(),
            items[1]["customers"].as_i64()
        ),
        (Some("bought_with"), Some("Умная колонка"), Some(2))
    );
    // The ticket's sidebar says it in the agent's words.
    let a = crate::ui::Agent::login(&app, "owner@alpha.test", "alpha-password").await;
    let page = a.page(&format!("/app/t/{n}")).await;
    assert!(page.contains("To offer after the solve"), "{page}");
    assert!(page.contains("Bought 3 times, about every 30 days; the last 35 days ago"));
    assert!(page.contains("2 customers who bought Умная колонка also bought it"));
}

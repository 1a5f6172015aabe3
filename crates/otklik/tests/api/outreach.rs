//! Proactive outreach: rules answering order and shipment events write to the
//! customer on their messenger conversation (the Bot API stand-in receives it)
//! in their language, with the order's tracking; quiet hours delay, opt-out
//! and the daily limit skip, every step recorded; two bad experiences in a
//! row flag a customer at risk, and at-risk rules write to them.

use crate::helpers::{Backend, TestApp, until};
use crate::telegram::{CHAT, TOKEN, app_with_public_url, connect, deliver, update};
use channels::telegram_stand_in::StandIn;
use serde_json::{Value, json};

mod with_public_url {
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn sqlite() {
        let app = super::app_with_public_url(super::Backend::Sqlite)
            .await
            .expect("app");
        super::orders_reach_customers_on_their_channel_within_bounds(app).await;
    }
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn postgres() {
        if let Some(app) = super::app_with_public_url(super::Backend::Postgres).await {
            super::orders_reach_customers_on_their_channel_within_bounds(app).await;
        }
    }
}

crate::on_both!(
    two_bad_experiences_in_a_row_flag_a_customer_at_risk,
    by_email_outreach_opens_a_ticket_the_answer_threads_into
);

mod only_sqlite {
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn admins_keep_outreach_rules_and_agents_record_an_opt_out() {
        let app = crate::helpers::spawn(super::Backend::Sqlite)
            .await
            .expect("app");
        super::admins_keep_outreach_rules_and_agents_record_an_opt_out(app).await;
    }
}

/// The admin screen without script: a rule made and edited by its form,
/// the bounds saved; on the customer page an agent records an opt-out.
async fn admins_keep_outreach_rules_and_agents_record_an_opt_out(app: TestApp) {
    use crate::ui::Agent;
    let a = Agent::login(&app, "owner@alpha.test", "alpha-password").await;
    let page = a.page("/app/admin/outreach").await;
    assert!(page.contains("No outreach rules yet."), "{page}");
    let form = [
        ("name", "Shipped"),
        ("on", "order.status_changed"),
        ("statuses", "shipped, delivered"),
        ("text_en", "Order {{order.number}} is on its way"),
        ("text_ru", "Заказ {{order.number}} в пути"),
        ("text_th", ""),
        ("active", "on"),
    ];
    assert_eq!(
        a.post("/app/admin/outreach/rules", &form, false)
            .await
            .status(),
        403
    );
    assert_eq!(
        a.post("/app/admin/outreach/rules", &form, true)
            .await
            .status(),
        303
    );
    let rules = app.get("/api/v1/outreach/rules").await.expect(200);
    let rule = &rules["items"][0];
    assert_eq!(rule["statuses"], json!(["delivered", "shipped"]));
    assert_eq!(rule["texts"].as_object().unwrap().len(), 2);
    let id = rule["id"].as_str().unwrap();
    let edit = a.page(&format!("/app/admin/outreach?edit={id}")).await;
    assert!(
        edit.contains("value=\"shipped, delivered\"")
            || edit.contains("value=\"delivered, shipped\""),
        "{edit}"
    );
    let off = [
        ("id", id),
        ("name", "Shipped"),
        ("on", "order.status_changed"),
        ("statuses", "shipped"),
        ("text_en", "On its way"),
    ];
    assert_eq!(
        a.post("/app/admin/outreach/rules", &off, true)
            .await
            .status(),
        303
    );
    let rules = app.get("/api/v1/outreach/rules").await.expect(200);
    assert_eq!(
        (
            rules["items"].as_array().unwrap().len(),
            &rules["items"][0]["active"]
        ),
        (1, &json!(false))
    );
    let s = [
        ("quiet", "on"),
        ("quiet_from", "22:30"),
        ("quiet_to", "08:00"),
        ("daily_limit", "3"),
        ("upsell", "on"),
    ];
    assert_eq!(
        a.post("/app/admin/outreach/settings", &s, true)
            .await
            .status(),
        303
    );
    let got = app.get("/api/v1/outreach/settings").await.expect(200);
    assert_eq!(
        got,
        json!({"quiet_hours": {"from": "22:30", "to": "08:00"}, "daily_limit": 3, "upsell": true})
    );

    let t = app.ticket("Вопрос", "olga@example.com").await;
    let cid = t["customer_id"].as_str().unwrap();
    let page = a.page(&format!("/app/customers/{cid}")).await;
    assert!(page.contains("Do not write to them first"));
    let r = a
        .post(
            &format!("/app/customers/{cid}/outreach"),
            &[("on", "1")],
            true,
        )
        .await;
    assert_eq!(r.status(), 303);
    let c = app
        .get(&format!("/api/v1/customers/{cid}"))
        .await
        .expect(200);
    assert_eq!(c["outreach_opt_out"], true);
    let page = a.page(&format!("/app/customers/{cid}")).await;
    assert!(page.contains("Does not want to be written to first"));
}

/// 12:00 UTC on a day; the test workspace's zone is UTC.
fn at(hh_mm: &str) -> domain::Timestamp {
    domain::Timestamp::parse_rfc3339(&format!("2026-12-01T{hh_mm}:00Z")).expect("time")
}

async fn outreach_of(app: &TestApp, customer: &str, n: usize) -> Vec<Value> {
    until("outreach rows", 10, async || {
        let r = app
            .get(&format!("/api/v1/customers/{customer}/outreach"))
            .await
            .expect(200);
        let items = r["items"].as_array().cloned().unwrap_or_default();
        (items.len() >= n).then_some(items)
    })
    .await
}

async fn put(app: &TestApp, path: &str, body: Value) -> crate::helpers::Res {
    app.req("PUT", path, &app.token, Some(body)).await
}

async fn push(app: &TestApp, customer: &str, status: &str) {
    let r = app.post(
        "/api/v1/orders",
        json!({"external_id": "5531", "customer_id": customer, "status": status, "currency": "RUB", "total": "4990.00",
               "shipments": if status == "shipped" { json!([{"carrier": "CDEK", "tracking_number": "RU1",
                   "tracking_url": "https://cdek.example/track/RU1", "status": "in_transit"}]) } else { json!([]) }}),
    )
    .await;
    assert!(r.status.is_success(), "{}", r.body);
}

async fn orders_reach_customers_on_their_channel_within_bounds(app: TestApp) {
    app.clock.set(Some(at("12:00")));
    let bot = StandIn::start(TOKEN).await.expect("stand-in");
    let (channel, secret) = connect(&app, &bot).await;
    deliver(
        &app,
        &channel,
        Some(&secret),
        &update(1, 11, json!({"text": "Здравствуйте"})),
    )
    .await
    .expect(200);
    app.drain_jobs().await;
    let t = app
        .get("/api/v1/tickets?channel=telegram")
        .await
        .expect(200)["items"][0]
        .clone();
    let customer = t["customer_id"].as_str().unwrap().to_owned();
    app.patch(
        &format!("/api/v1/customers/{customer}"),
        json!({"language": "ru"}),
    )
    .await
    .expect(200);

    // Rules: shipped (ru and en texts), delivered; a bad rule is refused.
    let shipped = app
        .post("/api/v1/outreach/rules", json!({"name": "Отправлен", "on": "order.status_changed", "statuses": ["shipped"],
            "texts": {"ru": "{{customer.first_name}}, заказ {{order.number}} в пути: {{order.tracking_url}}",
                      "en": "Order {{order.number}} is on its way"}}))
        .await
        .expect(201);
    app.post(
        "/api/v1/outreach/rules",
        json!({"name": "Доставлен", "on": "order.status_changed", "statuses": ["delivered"],
            "texts": {"ru": "Заказ {{order.number}} доставлен. Как вам?"}}),
    )
    .await
    .expect(201);
    app.post("/api/v1/outreach/rules", json!({"name": "x", "on": "order.shipment_updated", "statuses": ["shipped"], "texts": {"ru": "x"}}))
        .await
        .problem(422);
    let (_, agent) = app.user("agent@alpha.test", "agent").await;
    app.req("GET", "/api/v1/outreach/rules", &agent, None)
        .await
        .problem(403);
    // Quiet 21:00–09:00 (the default), at most 2 a day.
    let s = app.get("/api/v1/outreach/settings").await.expect(200);
    assert_eq!(s["quiet_hours"], json!({"from": "21:00", "to": "09:00"}));

    // Placed: no rule answers. Shipped at noon: written at once on Telegram,
    // in Russian, with the tracking address; on the conversation's ticket.
    push(&app, &customer, "placed").await;
    push(&app, &customer, "shipped").await;
    let rows = outreach_of(&app, &customer, 1).await;
    app.drain_jobs().await;
    let rows2 = outreach_of(&app, &customer, 1).await;
    assert_eq!(rows.len(), 1, "only the shipped rule answered: {rows:?}");
    assert_eq!(rows2[0]["state"], "sent", "{rows2:?}");
    assert_eq!(rows2[0]["rule_id"], shipped["id"]);
    assert_eq!(rows2[0]["ticket_id"], t["id"]);
    let sent = until("sendMessage", 10, async || {
        let c = bot.calls_of("sendMessage");
        (!c.is_empty()).then_some(c)
    })
    .await;
    let text = sent.last().unwrap()["text"].as_str().unwrap().to_owned();
    assert_eq!(
        text,
        "Анна, заказ 5531 в пути: https://cdek.example/track/RU1"
    );
    assert_eq!(sent.last().unwrap()["chat_id"], CHAT);

    // Delivered at 23:00: quiet hours keep it queued until 09:00.
    app.clock.set(Some(at("23:00")));
    push(&app, &customer, "delivered").await;
    let rows = outreach_of(&app, &customer, 2).await;
    app.drain_jobs().await;
    let rows = outreach_of(&app, &customer, rows.len()).await;
    assert_eq!(
        rows[0]["state"], "queued",
        "waits for the morning: {rows:?}"
    );
    let before = bot.calls_of("sendMessage").len();
    app.clock.set(Some(
        domain::Timestamp::parse_rfc3339("2026-12-02T09:01:00Z").unwrap(),
    ));
    app.drain_jobs().await;
    let rows = outreach_of(&app, &customer, 2).await;
    assert_eq!(rows[0]["state"], "sent", "{rows:?}");
    assert_eq!(bot.calls_of("sendMessage").len(), before + 1);

    // The daily limit (1 now): the next one the same day is skipped.
    put(
        &app,
        "/api/v1/outreach/settings",
        json!({"quiet_hours": null, "daily_limit": 1, "upsell": false}),
    )
    .await
    .expect(200);
    push(&app, &customer, "shipped").await;
    let rows = outreach_of(&app, &customer, 3).await;
    app.drain_jobs().await;
    let rows = outreach_of(&app, &customer, rows.len()).await;
    assert_eq!(
        (rows[0]["state"].as_str(), rows[0]["reason"].as_str()),
        (Some("skipped"), Some("daily_limit"))
    );

    // Opted out: skipped, nothing sent.
    put(
        &app,
        "/api/v1/outreach/settings",
        json!({"quiet_hours": null, "daily_limit": 5, "upsell": false}),
    )
    .await
    .expect(200);
    let c = app
        .patch(
            &format!("/api/v1/customers/{customer}"),
            json!({"outreach_opt_out": true}),
        )
        .await
        .expect(200);
    assert_eq!(c["outreach_opt_out"], true);
    let before = bot.calls_of("sendMessage").len();
    push(&app, &customer, "delivered").await;
    let rows = outreach_of(&app, &customer, 4).await;
    app.drain_jobs().await;
    let rows = outreach_of(&app, &customer, rows.len()).await;
    assert_eq!(
        (rows[0]["state"].as_str(), rows[0]["reason"].as_str()),
        (Some("skipped"), Some("opted_out"))
    );
    assert_eq!(bot.calls_of("sendMessage").len(), before);

    // Every step is on the customer's timeline.
    let tl = app
        .get(&format!("/api/v1/customers/{customer}/timeline?limit=200"))
        .await
        .expect(200);
    let kinds: Vec<&str> = tl["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["kind"].as_str().unwrap())
        .collect();
    assert_eq!(
        kinds.iter().filter(|k| **k == "outreach.sent").count(),
        2,
        "{kinds:?}"
    );
    assert_eq!(
        kinds.iter().filter(|k| **k == "outreach.skipped").count(),
        2,
        "{kinds:?}"
    );
    // A replayed event writes nothing twice: the rows stay four.
    assert_eq!(outreach_of(&app, &customer, 4).await.len(), 4);
}

/// Re-opened tickets are bad experiences; two in a row on a customer's newest
/// tickets flag them at risk (once), with a note for the team, and at-risk
/// rules answer; a customer whose newest ticket went well is not flagged.
async fn two_bad_experiences_in_a_row_flag_a_customer_at_risk(app: TestApp) {
    put(
        &app,
        "/api/v1/outreach/settings",
        json!({"quiet_hours": null, "daily_limit": 2, "upsell": false}),
    )
    .await
    .expect(200);
    app.post(
        "/api/v1/outreach/rules",
        json!({"name": "Извинения", "on": "customer.at_risk",
        "texts": {"ru": "{{customer.first_name}}, простите нас. Мы всё исправим."}}),
    )
    .await
    .expect(201);
    let reopened = async |email: &str, subject: &str| -> Value {
        let t = app
            .post("/api/v1/tickets", json!({"subject": subject, "customer": {"name": "Вера", "email": email}, "message": {"body": "Помогите"}}))
            .await
            .expect(201);
        let n = t["number"].as_i64().unwrap();
        app.patch(&format!("/api/v1/tickets/{n}"), json!({"status": "solved"}))
            .await
            .expect(200);
        app.post(
            &format!("/api/v1/tickets/{n}/messages"),
            json!({"body": "Не помогло", "author": "customer"}),
        )
        .await
        .expect(201);
        t
    };
    let first = reopened("vera@example.com", "Первая").await;
    let cid = first["customer_id"].as_str().unwrap().to_owned();
    // One bad experience is not yet a pattern.
    tokio::time::sleep(std::time::Duration::from_millis(700)).await;
    let c = app
        .get(&format!("/api/v1/customers/{cid}"))
        .await
        .expect(200);
    assert_eq!(c["at_risk_since"], Value::Null);
    let second = reopened("vera@example.com", "Вторая").await;
    let c = until("the at-risk flag", 10, async || {
        let c = app
            .get(&format!("/api/v1/customers/{cid}"))
            .await
            .expect(200);
        c["at_risk_since"].is_string().then_some(c)
    })
    .await;
    assert!(
        c["tags"].as_array().unwrap().iter().any(|t| t == "at-risk"),
        "{c}"
    );
    let notes = app
        .get(&format!("/api/v1/tickets/{}/messages", second["number"]))
        .await
        .expect(200);
    assert!(
        notes["items"]
            .as_array()
            .unwrap()
            .iter()
            .any(|m| m["visibility"] == "internal"
                && m["body"].as_str().unwrap_or_default().contains("at risk")),
        "{notes}"
    );
    // The at-risk rule answered (by email: no mailbox sends here, so skipped
    // with why — the row says so).
    let rows = outreach_of(&app, &cid, 1).await;
    app.drain_jobs().await;
    let rows = outreach_of(&app, &cid, rows.len()).await;
    assert_eq!(
        (rows[0]["state"].as_str(), rows[0]["reason"].as_str()),
        (Some("skipped"), Some("no_channel"))
    );

    // A customer whose newest ticket went well: one bad one is not two in a row.
    let ok_first = reopened("oleg@example.com", "Плохо").await;
    let oid = ok_first["customer_id"].as_str().unwrap().to_owned();
    let good = app
        .post("/api/v1/tickets", json!({"subject": "Хорошо", "customer": {"email": "oleg@example.com"}, "message": {"body": "Спасибо"}}))
        .await
        .expect(201);
    app.patch(
        &format!("/api/v1/tickets/{}", good["number"]),
        json!({"status": "solved"}),
    )
    .await
    .expect(200);
    tokio::time::sleep(std::time::Duration::from_millis(700)).await;
    let o = app
        .get(&format!("/api/v1/customers/{oid}"))
        .await
        .expect(200);
    assert_eq!(o["at_risk_since"], Value::Null, "{o}");
}

/// A customer known only by email: the message opens a pending email ticket
/// linked to the order and leaves by SMTP; their answer threads into it.
async fn by_email_outreach_opens_a_ticket_the_answer_threads_into(app: TestApp) {
    let sink = crate::email::Sink::start().await;
    let mb = crate::email::quiet_mailbox(&app, "help@shop.example", &sink).await;
    put(
        &app,
        "/api/v1/outreach/settings",
        json!({"quiet_hours": null, "daily_limit": 2, "upsell": false}),
    )
    .await
    .expect(200);
    app.post("/api/v1/outreach/rules", json!({"name": "Delivered", "on": "order.status_changed", "statuses": ["delivered"],
        "texts": {"en": "Hello {{customer.first_name}}, order {{order.number}} was delivered. How was it?"}}))
        .await
        .expect(201);
    let o = app
        .post("/api/v1/orders", json!({"external_id": "7001", "customer": {"name": "Olga Smith", "email": "olga@example.com"},
            "status": "delivered", "currency": "GBP", "total": "29.00"}))
        .await
        .expect(201);
    let cid = o["customer_id"].as_str().unwrap().to_owned();
    let rows = outreach_of(&app, &cid, 1).await;
    app.drain_jobs().await;
    app.drain_jobs().await;
    let rows = outreach_of(&app, &cid, rows.len()).await;
    assert_eq!(rows[0]["state"], "sent", "{rows:?}");
    let ticket = rows[0]["ticket_id"].as_str().unwrap().to_owned();
    let t = app
        .get(&format!("/api/v1/tickets/{ticket}"))
        .await
        .expect(200);
    assert_eq!(
        (t["channel"].as_str(), t["status"].as_str()),
        (Some("email"), Some("pending"))
    );
    let linked = app
        .get(&format!("/api/v1/tickets/{ticket}/order"))
        .await
        .expect(200);
    assert_eq!(linked["order"]["id"], o["id"]);
    let sent = sink.messages();
    assert_eq!(sent.len(), 1, "one email");
    let (envelope, email, _) = &sent[0];
    assert_eq!(envelope.rcpts, vec!["olga@example.com".to_owned()]);
    assert!(
        email
            .text
            .contains("Hello Olga, order 7001 was delivered. How was it?"),
        "{}",
        email.text
    );
    let sent_id = email.message_id.clone().expect("message id");
    let answer = crate::email::pipe(
        &app,
        &mb,
        &crate::email::mail(
            "Olga <olga@example.com>",
            "help@shop.example",
            "Re: Delivered",
            "olga-answer@example.com",
            &format!("In-Reply-To: <{sent_id}>\r\n"),
            "The box was damaged.",
        ),
    )
    .await;
    assert_eq!(
        answer["ticket_id"].as_str(),
        Some(ticket.as_str()),
        "{answer}"
    );
}

/// Two server processes on one PostgreSQL follow the log and run the jobs:
/// every order's outreach is decided exactly once (here skipped: no channel
/// reaches these customers), never twice by both nodes.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_nodes_decide_each_outreach_once() {
    let Some(cluster) = crate::helpers::PgCluster::start(
        "outreach::two_nodes_decide_each_outreach_once",
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
        .expect("workspace");
    let p = engine.cli_principal("pair").await.expect("principal");
    engine
        .save_outreach_settings(
            &p,
            domain::outreach::OutreachSettings {
                quiet_hours: None,
                daily_limit: 5,
                upsell: false,
            },
        )
        .await
        .expect("settings");
    engine
        .save_outreach_rule(
            &p,
            None,
            domain::outreach::OutreachSpec {
                name: "Placed".into(),
                on: domain::outreach::OutreachOn::OrderStatus,
                statuses: vec!["placed".into()],
                texts: [(
                    "en".to_owned(),
                    "Thanks for order {{order.number}}".to_owned(),
                )]
                .into(),
                active: true,
            },
        )
        .await
        .expect("rule");
    let (mut a, mut b) = (cluster.node(1, 1), cluster.node(2, 1));
    until("the nodes follow the log", 60, async || {
        let all = engine.consumer_status().await.ok()?;
        all.iter().any(|c| c.name == "outreach").then_some(())
    })
    .await;
    const ORDERS: usize = 40;
    for i in 0..ORDERS {
        let email = domain::identity::Identity::parse(
            domain::identity::IdentityKind::Email,
            &format!("buyer{i}@pair.test"),
        )
        .expect("email");
        engine
            .upsert_order(
                &p,
                engine::orders::OrderInput {
                    external_id: format!("P-{i}"),
                    customer: Some(engine::tickets::CustomerRef::Input(
                        engine::customers::CustomerInput {
                            identities: vec![email],
                            ..Default::default()
                        },
                    )),
                    push: domain::order::OrderPush {
                        currency: Some("RUB".into()),
                        total: Some("10.00".into()),
                        ..Default::default()
                    },
                },
            )
            .await
            .expect("order");
    }
    let decided = async || {
        crate::helpers::all_events(&engine, &p)
            .await
            .into_iter()
            .filter_map(|e| match e.data {
                domain::event::EventData::OutreachSkipped {
                    outreach_id,
                    reason,
                    ..
                } => Some((outreach_id, reason)),
                domain::event::EventData::OutreachSent { outreach_id, .. } => {
                    Some((outreach_id, "sent".into()))
                }
                _ => None,
            })
            .collect::<Vec<_>>()
    };
    let t0 = std::time::Instant::now();
    while decided().await.len() < ORDERS {
        assert!(
            t0.elapsed() < std::time::Duration::from_secs(90),
            "{} of {ORDERS} decided\n{}",
            decided().await.len(),
            crate::helpers::node_logs(cluster.dir.path())
        );
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
    // A second decision would come within a pass or two.
    tokio::time::sleep(std::time::Duration::from_secs(2)).await;
    let _ = a.kill().await;
    let _ = b.kill().await;
    let all = decided().await;
    let ids: std::collections::HashSet<_> = all.iter().map(|(id, _)| *id).collect();
    assert_eq!(
        (all.len(), ids.len()),
        (ORDERS, ORDERS),
        "each decided once"
    );
    assert!(all.iter().all(|(_, why)| why == "no_channel"), "{all:?}");
}

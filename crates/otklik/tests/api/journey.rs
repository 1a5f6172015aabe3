//! The customer journey: touchpoints a shop pushes (only while the workspace
//! tracks; a retried push counts once), the ones the system sees in the log
//! (conversations, orders, surveys, re-opens), the stage each is given by the
//! workspace's rules, and the emotion the known signals give it.

use crate::email::{Sink, mail, pipe, quiet_mailbox};
use crate::helpers::{TestApp, until};
use serde_json::{Value, json};

mod stages_and_emotions {
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn sqlite() {
        let app = crate::telegram::app_with_public_url(crate::helpers::Backend::Sqlite)
            .await
            .expect("app");
        super::touchpoints_get_stages_by_rule_and_emotions_from_what_is_known(app).await;
    }
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn postgres() {
        if let Some(app) =
            crate::telegram::app_with_public_url(crate::helpers::Backend::Postgres).await
        {
            super::touchpoints_get_stages_by_rule_and_emotions_from_what_is_known(app).await;
        }
    }
}

fn at(app: &TestApp, utc: &str) {
    app.clock.set(Some(
        domain::Timestamp::parse_rfc3339(&format!("{utc}:00Z")).expect("a time"),
    ));
}

fn anna() -> Value {
    json!({"identities": [{"kind": "email", "value": "anna@example.com"}]})
}

async fn touchpoints(app: &TestApp, customer: &str) -> Vec<Value> {
    app.get(&format!(
        "/api/v1/customers/{customer}/touchpoints?limit=200"
    ))
    .await
    .expect(200)["items"]
        .as_array()
        .unwrap()
        .clone()
}

/// (kind, stage, emotion) of each touchpoint, newest first.
fn summary(items: &[Value]) -> Vec<(String, String, Value)> {
    items
        .iter()
        .map(|t| {
            (
                t["kind"].as_str().unwrap().to_owned(),
                t["stage"].as_str().unwrap().to_owned(),
                t["emotion"].clone(),
            )
        })
        .collect()
}

async fn touchpoints_get_stages_by_rule_and_emotions_from_what_is_known(app: TestApp) {
    let (_, agent_token) = app.user("ivan@alpha.test", "agent").await;
    // Off until an admin turns tracking on; the default rules are seed 003's.
    let s = app.get("/api/v1/journey/settings").await.expect(200);
    assert_eq!(s["tracking"], false);
    assert_eq!(s["rules"][0]["value"], "product");
    assert_eq!(s["rules"][0]["stage"], "consideration");
    let view = |id: &str, page_type: &str, at: &str| {
        json!({"id": id, "kind": "page_view", "customer": anna(), "at": at,
               "name": "Smart Kettle 2", "url": "https://shop.example/p/kettle-2",
               "attributes": {"page_type": page_type}})
    };
    let pushed = app
        .post(
            "/api/v1/touchpoints",
            json!({"touchpoints": [view("pv-1", "blog", "2026-11-02T09:00:00Z")]}),
        )
        .await
        .problem(409);
    assert!(
        pushed["detail"].as_str().unwrap_or("").contains("track"),
        "{pushed}"
    );

    let mut settings = s.clone();
    settings["tracking"] = json!(true);
    settings["rules"]
        .as_array_mut()
        .unwrap()
        .push(json!({"kind": "custom", "attribute": "event", "value": "wishlist", "stage": "consideration"}));
    app.req(
        "PUT",
        "/api/v1/journey/settings",
        &agent_token,
        Some(settings.clone()),
    )
    .await
    .expect(403);
    let mut odd = settings.clone();
    odd["rules"][0]["attribute"] = Value::Null;
    app.req("PUT", "/api/v1/journey/settings", &app.token, Some(odd))
        .await
        .problem(409);
    let mut control = settings.clone();
    control["rules"][0]["value"] = json!("\u{84}");
    app.req("PUT", "/api/v1/journey/settings", &app.token, Some(control))
        .await
        .problem(422);
    app.req(
        "PUT",
        "/api/v1/journey/settings",
        &app.token,
        Some(settings),
    )
    .await
    .expect(200);

    // A shop's pushes: stages by rule, a review's stars as its emotion, a
    // retried push counted once.
    at(&app, "2026-11-02T10:00");
    let first = json!({"touchpoints": [
        view("pv-1", "blog", "2026-11-02T09:00:00Z"),
        view("pv-2", "product", "2026-11-02T09:05:00Z"),
        {"id": "wl-1", "kind": "custom", "customer": anna(), "at": "2026-11-02T09:06:00Z",
         "attributes": {"event": "wishlist"}},
        {"id": "co-1", "kind": "checkout", "customer": anna(), "at": "2026-11-02T09:10:00Z"},
    ]});
    let r = app
        .post("/api/v1/touchpoints", first.clone())
        .await
        .expect(200);
    assert_eq!(
        (r["recorded"].as_i64(), r["repeated"].as_i64()),
        (Some(4), Some(0))
    );
    let again = json!({"touchpoints": [
        view("pv-1", "blog", "2026-11-02T09:00:00Z"),
        {"id": "rv-1", "kind": "review", "customer": anna(), "at": "2026-11-02T09:50:00Z", "rating": 2},
    ]});
    let r = app.post("/api/v1/touchpoints", again).await.expect(200);
    assert_eq!(
        (r["recorded"].as_i64(), r["repeated"].as_i64()),
        (Some(1), Some(1))
    );
    // Refusals: what the schema says is 422, what it cannot is 409.
    let one = |t: Value| json!({"touchpoints": [t]});
    app.post(
        "/api/v1/touchpoints",
        one(json!({"id": "x", "kind": "message", "customer": anna()})),
    )
    .await
    .problem(422);
    app.post(
        "/api/v1/touchpoints",
        one(json!({"id": "x", "kind": "page_view", "customer": anna(), "rating": 4})),
    )
    .await
    .problem(409);
    app.post(
        "/api/v1/touchpoints",
        one(json!({"id": "x", "kind": "page_view", "customer": anna(), "at": "2026-11-02T11:00:00Z"})),
    )
    .await
    .problem(409);
    app.post(
        "/api/v1/touchpoints",
        one(json!({"id": "x", "kind": "cart"})),
    )
    .await
    .problem(409);
    app.post(
        "/api/v1/touchpoints",
        one(json!({"id": "x", "kind": "cart", "customer_id": "01937a2b-1111-7000-8000-000000000007"})),
    )
    .await
    .problem(404);
    for bad in [
        json!({"id": "x", "kind": "cart", "customer": anna(), "name": "a\u{7}b"}),
        json!({"id": "x", "kind": "cart", "customer": anna(), "url": " https://shop.example/"}),
        json!({"id": "x", "kind": "cart", "customer": anna(), "attributes": {"Bad Key": "1"}}),
    ] {
        app.post("/api/v1/touchpoints", one(bad)).await.problem(422);
    }
    // Nothing of a refused push was kept.
    let customer = app
        .get("/api/v1/customers?q=anna%40example.com")
        .await
        .expect(200)["items"][0]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let pushed = touchpoints(&app, &customer).await;
    assert_eq!(
        summary(&pushed),
        [
            ("review".into(), "post_purchase".into(), json!(-50)),
            ("checkout".into(), "decision".into(), Value::Null),
            ("custom".into(), "consideration".into(), Value::Null),
            ("page_view".into(), "consideration".into(), Value::Null),
            ("page_view".into(), "awareness".into(), Value::Null),
        ]
    );
    assert_eq!(pushed[3]["url"], "https://shop.example/p/kettle-2");
    assert_eq!(pushed[3]["attributes"]["page_type"], "product");

    // What the system sees: an order and its shipping, a conversation, a
    // survey answer, a re-open.
    app.post(
        "/api/v1/orders",
        json!({"external_id": "1042", "customer": anna(), "status": "placed",
               "currency": "RUB", "total": "4990.00"}),
    )
    .await
    .expect(201);
    at(&app, "2026-11-03T10:00");
    app.post(
        "/api/v1/orders",
        json!({"external_id": "1042", "status": "shipped", "currency": "RUB", "total": "4990.00"}),
    )
    .await
    .expect(200);
    app.req(
        "PUT",
        "/api/v1/surveys/settings",
        &app.token,
        Some(json!({"csat": {"enabled": true}})),
    )
    .await
    .expect(200);
    let sink = Sink::start().await;
    let mb = quiet_mailbox(&app, "help@shop.example", &sink).await;
    at(&app, "2026-11-05T10:00");
    let t = pipe(
        &app,
        &mb,
        &mail(
            "Anna <anna@example.com>",
            "help@shop.example",
            "Где заказ 1042?",
            "anna-1@example.com",
            "",
            "Это ужасно! Заказ 1042 так и не пришёл, хотя обещали вчера. Я очень недоволен, верните деньги!",
        ),
    )
    .await["ticket_id"]
        .as_str()
        .unwrap()
        .to_owned();
    at(&app, "2026-11-05T10:20");
    app.post(
        &format!("/api/v1/tickets/{t}/messages"),
        json!({"body": "Посылка на сортировке, привезут завтра.", "visibility": "public"}),
    )
    .await
    .expect(201);
    at(&app, "2026-11-05T11:00");
    app.patch(&format!("/api/v1/tickets/{t}"), json!({"status": "solved"}))
        .await
        .expect(200);
    at(&app, "2026-11-05T12:00");
    crate::reports::rate(&app, &sink, "anna@example.com", 1).await;
    at(&app, "2026-11-06T09:00");
    app.patch(&format!("/api/v1/tickets/{t}"), json!({"status": "open"}))
        .await
        .expect(200);

    let items = until("the journey's consumer", 20, async || {
        app.drain_jobs().await;
        let items = touchpoints(&app, &customer).await;
        (items.len() == 11 && items[1]["kind"] == "survey").then_some(items)
    })
    .await;
    let s = summary(&items);
    assert_eq!(
        s[..6],
        [
            ("reopen".into(), "service".into(), json!(journey_reopen())),
            ("survey".into(), "service".into(), json!(-100)),
            // The agent's reply tells nothing; the customer's angry message does.
            ("message".into(), "service".into(), Value::Null),
            ("message".into(), "service".into(), json!(-60)),
            ("order".into(), "post_purchase".into(), Value::Null),
            ("order".into(), "decision".into(), Value::Null),
        ]
    );
    assert_eq!(items[2]["attributes"]["from"], "agent");
    assert_eq!(items[3]["attributes"]["from"], "customer");
    assert_eq!(
        (items[3]["channel"].as_str(), items[3]["ticket_id"].as_str()),
        (Some("email"), Some(t.as_str()))
    );
    assert_eq!(items[4]["attributes"]["status"], "shipped");
    assert_eq!(items[5]["reference"], "1042");
    assert_eq!(items[1]["reference"], "csat");

    // Pages of two, newest first, without gaps or repeats.
    let mut seen = Vec::new();
    let mut cursor: Option<String> = None;
    for _ in 0..10 {
        let url = match &cursor {
            Some(c) => format!("/api/v1/customers/{customer}/touchpoints?limit=2&cursor={c}"),
            None => format!("/api/v1/customers/{customer}/touchpoints?limit=2"),
        };
        let page = app.get(&url).await.expect(200);
        for i in page["items"].as_array().unwrap() {
            seen.push(i["id"].clone());
        }
        match page["next_cursor"].as_str() {
            Some(c) => cursor = Some(c.to_owned()),
            None => break,
        }
    }
    assert_eq!(
        seen,
        items.iter().map(|i| i["id"].clone()).collect::<Vec<_>>()
    );

    // A merge brings the other profile's touchpoints along.
    let other = json!({"identities": [{"kind": "email", "value": "anna.b@example.com"}]});
    app.post(
        "/api/v1/touchpoints",
        json!({"touchpoints": [{"id": "pv-9", "kind": "page_view", "customer": other}]}),
    )
    .await
    .expect(200);
    let b = app
        .get("/api/v1/customers?q=anna.b%40example.com")
        .await
        .expect(200)["items"][0]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    app.post(
        &format!("/api/v1/customers/{customer}/merge"),
        json!({"source_id": b}),
    )
    .await
    .expect(200);
    assert_eq!(touchpoints(&app, &customer).await.len(), 12);
    // The merge rebuilt the summary: the map counts one customer with all 12.
    let m = app.get("/api/v1/reports/journey").await.expect(200);
    assert_eq!(m["customers"], 1);
    let total: i64 = m["stages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["touchpoints"].as_i64().unwrap())
        .sum();
    assert_eq!(total, 12);

    // The customer's page: the emotion line and the touchpoints, in Russian.
    let owner = crate::ui::Agent::login(&app, "owner@alpha.test", "alpha-password")
        .await
        .speaking("ru");
    let html = owner.page(&format!("/app/customers/{customer}")).await;
    assert_eq!(
        html.matches("<svg id=\"journey-line\" class=\"chart\"")
            .count(),
        1
    );
    assert!(
        html.contains("<h2 id=\"journey\">Путь клиента</h2>"),
        "{html}"
    );
    assert!(
        html.contains("<td>Обслуживание</td><td>-100</td>"),
        "CSAT 1: {html}"
    );
    assert!(html.contains("<title>"), "each point names its touchpoint");
    // Another workspace sees none of it.
    let beta = app.workspace("beta").await;
    app.req(
        "GET",
        &format!("/api/v1/customers/{customer}/touchpoints"),
        &beta,
        None,
    )
    .await
    .expect(404);
}

fn journey_reopen() -> i64 {
    domain::journey::REOPEN
}

crate::on_both!(the_journey_map_of_a_fixture_adds_up_as_worked_out_by_hand);

/// Three customers' journeys, pushed by a shop (days from 1 June 2026;
/// the map is read on 1 October, day 122):
///
/// | who | country, category | touchpoints (day: kind name → stage) |
/// |---|---|---|
/// | Anna (tag vip) | DE, kettles | 0 page view Home → awareness; 1 page view Kettle (product) → consideration; 3 cart Kettle, 4 checkout Kettle → decision; 10 review ★★ (−50) → post-purchase |
/// | Boris | DE, kettles | 0 page view Home → awareness; 2 page view Pricing (pricing) → consideration |
/// | Vera | TH, teapots | 5 page view Home → awareness; 6 cart Teapot → decision; 7 review ★★★★★ (+100), 100 review ★ (−100) → post-purchase |
///
/// Worked out:
/// - awareness: 3 customers, 3 touchpoints; time there until the next
///   funnel stage began: Anna 1 day, Boris 2, Vera 1 (to decision) → median 1 day.
/// - consideration: Anna and Boris, 2 of awareness's 3 → 0.667; Anna 2 days
///   (to decision), Boris 0 (one touchpoint, no later stage) → lower median 0.
/// - decision: Anna and Vera, 3 touchpoints; of consideration's 2 only Anna
///   came on → 0.5; Anna 7 days (to the review), Vera 1 → lower median 1 day.
/// - post-purchase: Anna and Vera, both of decision's 2 → 1.0; Anna 0, Vera
///   93 days → lower median 0; emotion (−50 + 100 − 100) / 3 = −16.7.
/// - service: no one: 0 of 3.
/// - pain: Anna's ★★ came after her checkout (a low score for
///   `checkout:Kettle`); Vera's ★ after her ★★★★★ (a low score for `review`);
///   Boris's last touchpoint, 120 days ago, was the pricing page (churned);
///   so was Anna's review, 112 days ago; Vera's, 22 days ago, is not churn.
///   Ranked by total: review 2, checkout:Kettle 1, page_view:Pricing 1.
async fn the_journey_map_of_a_fixture_adds_up_as_worked_out_by_hand(app: TestApp) {
    at(&app, "2026-10-01T09:00");
    let mut s = app.get("/api/v1/journey/settings").await.expect(200);
    s["tracking"] = json!(true);
    app.req("PUT", "/api/v1/journey/settings", &app.token, Some(s))
        .await
        .expect(200);
    let mut ids = Vec::new();
    for (name, email) in [
        ("Anna", "anna@example.com"),
        ("Boris", "boris@example.com"),
        ("Vera", "vera@example.com"),
    ] {
        let c = app
            .post(
                "/api/v1/customers",
                json!({"name": name, "identities": [{"kind": "email", "value": email}]}),
            )
            .await
            .expect(201);
        ids.push(c["id"].as_str().unwrap().to_owned());
    }
    app.patch(
        &format!("/api/v1/customers/{}", ids[0]),
        json!({"tags": ["vip"]}),
    )
    .await
    .expect(200);
    let day = |d: i64| {
        let t = domain::Timestamp::parse_rfc3339("2026-06-01T10:00:00Z").unwrap();
        domain::Timestamp::from_millis(t.millis() + d * 86_400_000).to_rfc3339()
    };
    let mut n = 0;
    let mut push =
        |who: usize, d: i64, kind: &str, name: &str, attrs: Value, rating: Option<i64>| {
            n += 1;
            let mut t = json!({"id": format!("t{n}"), "kind": kind, "customer_id": ids[who],
            "at": day(d), "name": name, "attributes": attrs});
            if let Some(r) = rating {
                t["rating"] = json!(r);
            }
            t
        };
    let home = |country: &str, category: &str| json!({"country": country, "category": category});
    let touchpoints = vec![
        push(0, 0, "page_view", "Home", home("DE", "kettles"), None),
        push(
            0,
            1,
            "page_view",
            "Kettle",
            json!({"page_type": "product"}),
            None,
        ),
        push(0, 3, "cart", "Kettle", json!({}), None),
        push(0, 4, "checkout", "Kettle", json!({}), None),
        push(0, 10, "review", "Kettle", json!({}), Some(2)),
        push(1, 0, "page_view", "Home", home("DE", "kettles"), None),
        push(
            1,
            2,
            "page_view",
            "Pricing",
            json!({"page_type": "pricing"}),
            None,
        ),
        push(2, 5, "page_view", "Home", home("TH", "teapots"), None),
        push(2, 6, "cart", "Teapot", json!({}), None),
        push(2, 7, "review", "Teapot", json!({}), Some(5)),
        push(2, 100, "review", "Teapot", json!({}), Some(1)),
    ];
    // Pushed in two halves, the second first: arrival order does not matter
    // to the sums (pain is credited to what was there when it came).
    let (first, second) = touchpoints.split_at(5);
    for half in [second, first] {
        app.post("/api/v1/touchpoints", json!({"touchpoints": half}))
            .await
            .expect(200);
    }
    let m = app.get("/api/v1/reports/journey").await.expect(200);
    assert_eq!(m["customers"], 3);
    let col = |m: &Value, i: usize, f: &str| m["stages"][i][f].clone();
    let figures = |m: &Value| -> Vec<Value> {
        (0..5)
            .map(|i| {
                json!([
                    col(m, i, "stage"),
                    col(m, i, "customers"),
                    col(m, i, "touchpoints"),
                    col(m, i, "conversion"),
                    col(m, i, "median_seconds"),
                    col(m, i, "emotion")
                ])
            })
            .collect()
    };
    let d = 86_400;
    assert_eq!(
        figures(&m),
        vec![
            json!(["awareness", 3, 3, null, d, null]),
            json!(["consideration", 2, 2, 0.667, 0, null]),
            json!(["decision", 2, 3, 0.5, d, null]),
            json!(["post_purchase", 2, 3, 1.0, 0, -16.7]),
            json!(["service", 0, 0, 0.0, null, null]),
        ]
    );
    assert_eq!(
        col(&m, 0, "top"),
        json!([{"key": "page_view:Home", "customers": 3}])
    );
    assert_eq!(
        col(&m, 2, "top"),
        json!([{"key": "cart:Kettle", "customers": 1}, {"key": "cart:Teapot", "customers": 1},
               {"key": "checkout:Kettle", "customers": 1}])
    );
    assert_eq!(
        col(&m, 3, "top"),
        json!([{"key": "review", "customers": 2}])
    );
    assert_eq!(
        m["pain_points"],
        json!([
            {"key": "review", "complaints": 0, "low_scores": 1, "churned": 1, "total": 2},
            {"key": "checkout:Kettle", "complaints": 0, "low_scores": 1, "churned": 0, "total": 1},
            {"key": "page_view:Pricing", "complaints": 0, "low_scores": 0, "churned": 1, "total": 1},
        ])
    );

    // By country: DE is Anna and Boris.
    let de = app
        .get("/api/v1/reports/journey?segment_by=country&segment=DE")
        .await
        .expect(200);
    assert_eq!(
        de["segments"],
        json!([{"value": "DE", "customers": 2}, {"value": "TH", "customers": 1}])
    );
    assert_eq!(de["customers"], 2);
    assert_eq!(
        figures(&de),
        vec![
            json!(["awareness", 2, 2, null, d, null]),
            json!(["consideration", 2, 2, 1.0, 0, null]),
            json!(["decision", 1, 2, 0.5, 7 * d, null]),
            json!(["post_purchase", 1, 1, 1.0, 0, -50.0]),
            json!(["service", 0, 0, 0.0, null, null]),
        ]
    );
    let by_category = app
        .get("/api/v1/reports/journey?segment_by=category&segment=teapots")
        .await
        .expect(200);
    assert_eq!(by_category["customers"], 1);
    assert_eq!(by_category["stages"][3]["emotion"], 0.0);
    let vip = app
        .get("/api/v1/reports/journey?segment_by=tag&segment=vip")
        .await
        .expect(200);
    assert_eq!(vip["customers"], 1);
    assert_eq!(vip["segments"], json!([{"value": "vip", "customers": 1}]));
    assert_eq!(vip["stages"][3]["emotion"], -50.0);

    // The CSV says the same.
    let csv = app
        .client
        .get(app.url("/api/v1/reports/journey.csv?segment_by=country&segment=DE"))
        .bearer_auth(&app.token)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let lines: Vec<&str> = csv.lines().collect();
    assert_eq!(
        lines[0],
        "row,key,customers,touchpoints,conversion,median_seconds,emotion,top_touchpoints,complaints,low_scores,churned"
    );
    assert_eq!(
        lines[3],
        "stage,decision,1,2,0.5,604800,,cart:Kettle (1); checkout:Kettle (1),,,"
    );
    assert!(
        lines.contains(&"pain_point,page_view:Pricing,,,,,,,0,0,1"),
        "{csv}"
    );

    // The page: the chart, the stages' figures and the pain points, in Thai.
    let owner = crate::ui::Agent::login(&app, "owner@alpha.test", "alpha-password")
        .await
        .speaking("th");
    let html = owner
        .page("/app/reports/journey?by=country&segment=DE")
        .await;
    assert_eq!(
        html.matches("<svg id=\"journey-map\" class=\"chart\"")
            .count(),
        1
    );
    for want in [
        "<h1>แผนที่เส้นทางลูกค้า</h1>",
        "<option value=\"DE\" selected>DE (2)</option>",
        "<th scope=\"row\">การตัดสินใจ</th><td>1</td><td>50%</td>",
        "<th scope=\"row\">ดูหน้าเว็บ · Pricing</th><td>0</td><td>0</td><td>1</td>",
        "journey.csv?segment_by=country&#38;segment=DE",
    ] {
        assert!(html.contains(want), "{want} in {html}");
    }

    // A new rule first: the touchpoints already there take their stages
    // again in the background (reviews now count as service), and the map
    // follows.
    let mut s = app.get("/api/v1/journey/settings").await.expect(200);
    let mut rules = vec![json!({"kind": "review", "stage": "service"})];
    rules.extend(s["rules"].as_array().unwrap().iter().cloned());
    s["rules"] = json!(rules);
    app.req("PUT", "/api/v1/journey/settings", &app.token, Some(s))
        .await
        .expect(200);
    app.drain_jobs().await;
    let m = app.get("/api/v1/reports/journey").await.expect(200);
    assert_eq!(
        figures(&m)[3..],
        [
            json!(["post_purchase", 0, 0, 0.0, null, null]),
            json!(["service", 2, 3, 0.667, 0, -16.7]),
        ]
    );
    assert_eq!(
        figures(&m)[1],
        json!(["consideration", 2, 2, 0.667, 0, null])
    );
    assert_eq!(
        super::journey::touchpoints(&app, &ids[2]).await[0]["stage"],
        "service",
        "Vera's last review"
    );

    // A segment needs what it is of; agents do not read reports.
    app.get("/api/v1/reports/journey?segment=DE")
        .await
        .expect(409);
    app.get("/api/v1/reports/journey?segment_by=planet")
        .await
        .expect(400);
    let (_, agent) = app.user("ivan@alpha.test", "agent").await;
    app.req("GET", "/api/v1/reports/journey", &agent, None)
        .await
        .expect(403);
}

/// Two server processes on one PostgreSQL run the `journey` consumer while
/// a shop pushes touchpoints for the same customers: each touchpoint is
/// kept once, and no customer's summary loses one (the map's totals equal
/// the touchpoints kept).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_nodes_keep_each_touchpoint_and_summary_once() {
    use engine::journey::Pushed;
    use engine::tickets::CustomerRef;
    let Some(cluster) = crate::helpers::PgCluster::start(
        "journey::two_nodes_keep_each_touchpoint_and_summary_once",
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
    let mut s = engine.journey_settings(&p).await.unwrap();
    s.tracking = true;
    engine.save_journey_settings(&p, s).await.unwrap();
    let (mut a, mut b) = (cluster.node(1, 1), cluster.node(2, 1));
    const CUSTOMERS: usize = 40;
    const PAGES: usize = 5;
    let mut customers = Vec::new();
    // While the nodes fold the messages, the shop's page views arrive for
    // the same customers, ten customers a push.
    for n in 0..CUSTOMERS / 10 {
        let mut chunk = Vec::new();
        for i in n * 10..(n + 1) * 10 {
            let t = engine
                .create_ticket(&p, crate::helpers::new_ticket(i), None)
                .await
                .unwrap();
            chunk.push(t.ticket.customer_id);
        }
        customers.extend(chunk.iter().copied());
        let items = chunk
            .iter()
            .enumerate()
            .flat_map(|(i, c)| {
                (0..PAGES).map(move |j| Pushed {
                    id: format!("pv-{n}-{i}-{j}"),
                    customer: Some(CustomerRef::Id(*c)),
                    kind: domain::journey::Kind::PageView,
                    at: None,
                    name: Some("Home".into()),
                    url: None,
                    attributes: Default::default(),
                    rating: None,
                })
            })
            .collect();
        let out = engine.push_touchpoints(&p, items).await.unwrap();
        assert_eq!(out.recorded, 10 * PAGES);
    }
    until("both nodes' journey consumers catch up", 90, async || {
        let all = engine.consumer_status().await.ok()?;
        all.iter()
            .any(|c| c.name == "journey" && c.lag == 0)
            .then_some(())
    })
    .await;
    let mut kept = 0;
    for c in &customers {
        let items = engine
            .customer_touchpoints(&p, *c, None, 200)
            .await
            .unwrap();
        assert_eq!(
            items.len(),
            1 + PAGES,
            "a message and the page views, once each"
        );
        kept += items.len() as i64;
    }
    let m = engine.journey_map(&p, None, None).await.unwrap();
    assert_eq!(m.customers, CUSTOMERS as i64);
    assert_eq!(m.columns.iter().map(|c| c.touchpoints).sum::<i64>(), kept);
    let _ = a.kill().await;
    let _ = b.kill().await;
    let logs = crate::helpers::node_logs(cluster.dir.path());
    assert!(!logs.contains("panicked"), "{logs}");
    cluster.finish().await;
}

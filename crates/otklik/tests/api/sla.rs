//! Business hours and SLA policies through the API; tickets' SLA clocks as
//! the event log and the timer jobs derive them, on one node and on two.

use crate::helpers::{TestApp, until};
use domain::Timestamp;
use serde_json::{Value, json};

crate::on_both!(
    business_hours_are_kept_and_checked,
    sla_policies_are_checked_and_ordered,
    sla_clocks_follow_the_ticket_and_announce_warnings_and_breaches_once,
    a_customers_tags_choose_the_policy
);

async fn a_customers_tags_choose_the_policy(app: TestApp) {
    let vip = app
        .post(
            "/api/v1/sla-policies",
            json!({"name": "VIP", "position": 1, "conditions": {"customer_tags": ["vip"]},
                   "targets": {"first_reply_minutes": 15}}),
        )
        .await
        .expect(201);
    let everyone = app
        .post(
            "/api/v1/sla-policies",
            json!({"name": "Everyone", "position": 2, "targets": {"first_reply_minutes": 240}}),
        )
        .await
        .expect(201);
    let t = app
        .ticket("Колонка не включается", "vera@example.com")
        .await;
    let (id, customer) = (
        t["id"].as_str().unwrap().to_owned(),
        t["customer_id"].as_str().unwrap().to_owned(),
    );
    let policy_is = |want: Value| {
        let (app, id) = (&app, id.clone());
        async move {
            until("the policy", 30, async || {
                let t = app.get(&format!("/api/v1/tickets/{id}")).await.expect(200);
                (t["sla"]["policy_id"] == want).then_some(())
            })
            .await
        }
    };
    policy_is(everyone["id"].clone()).await;
    let c = app
        .patch(
            &format!("/api/v1/customers/{customer}"),
            json!({"tags": ["VIP", "vip", "b2b"]}),
        )
        .await
        .expect(200);
    assert_eq!(c["tags"], json!(["b2b", "vip"]), "normalised, once each");
    policy_is(vip["id"].clone()).await;
    app.patch(
        &format!("/api/v1/customers/{customer}"),
        json!({"tags": ["bad tag"]}),
    )
    .await
    .problem(422);
    app.patch(
        &format!("/api/v1/customers/{customer}"),
        json!({"tags": []}),
    )
    .await
    .expect(200);
    policy_is(everyone["id"].clone()).await;
}

async fn business_hours_are_kept_and_checked(app: TestApp) {
    let week = json!({"mon": [["09:00", "18:00"]], "tue": [["09:00", "18:00"]], "wed": [["09:00", "18:00"]],
        "thu": [["09:00", "18:00"]], "fri": [["09:00", "17:00"]], "sat": [], "sun": [["22:00", "06:00"]]});
    let b = app
        .post(
            "/api/v1/business-hours",
            json!({"name": "Moscow office", "time_zone": "Europe/Moscow",
            "week": week, "holidays": ["2027-01-01", "2027-01-07"]}),
        )
        .await
        .expect(201);
    assert_eq!(b["week"]["sun"], json!([["22:00", "06:00"]]));
    assert_eq!(b["week"]["sat"], json!([]));
    let id = b["id"].as_str().expect("id").to_owned();
    let path = format!("/api/v1/business-hours/{id}");
    let changed = app
        .patch(
            &path,
            json!({"time_zone": "Asia/Bangkok", "holidays": ["2027-04-13"]}),
        )
        .await
        .expect(200);
    assert_eq!(changed["time_zone"], "Asia/Bangkok");
    assert_eq!(changed["holidays"], json!(["2027-04-13"]));
    assert_eq!(changed["week"]["mon"], json!([["09:00", "18:00"]]));
    assert_eq!(
        app.get("/api/v1/business-hours").await.expect(200)["items"]
            .as_array()
            .map(Vec::len),
        Some(1)
    );
    // What cannot be a calendar is refused, and nothing changes.
    for bad in [
        json!({"name": "x", "time_zone": "Mars/Olympus", "week": {}}),
        json!({"name": "x", "time_zone": "UTC", "week": {"mon": [["9:00", "18:00"]]}}),
        json!({"name": "x", "time_zone": "UTC", "week": {"mon": [["09:00"]]}}),
        json!({"name": "x", "time_zone": "UTC", "week": {}, "holidays": ["2027-02-30"]}),
        json!({"name": "x", "time_zone": "UTC", "week": {"someday": []}}),
    ] {
        let r = app.post("/api/v1/business-hours", bad.clone()).await;
        assert_eq!(r.status.as_u16(), 422, "{bad}: {}", r.body);
    }
    assert_eq!(
        app.get(&path).await.expect(200)["time_zone"],
        "Asia/Bangkok"
    );
    // Agents read calendars; only admins change them.
    let (_, agent) = app.user("agent@alpha.test", "agent").await;
    app.req("PATCH", &path, &agent, Some(json!({"name": "mine"})))
        .await
        .problem(403);
    app.req("GET", &path, &agent, None).await.expect(200);
}

async fn sla_policies_are_checked_and_ordered(app: TestApp) {
    let team = app
        .post("/api/v1/teams", json!({"name": "L1"}))
        .await
        .expect(201)["id"]
        .clone();
    let email = app
        .post(
            "/api/v1/sla-policies",
            json!({"name": "Email", "position": 2, "conditions": {"channel": ["email"], "priority": []},
                   "business_hours_id": null,
                   "targets": {"first_reply_minutes": 240, "next_reply_minutes": 480, "resolution_minutes": 2880},
                   "warn_at": 0.75}),
        )
        .await
        .expect(201);
    assert_eq!(email["targets"]["first_reply_minutes"], 240);
    assert_eq!(email["warn_at"], 0.75);
    let vip = app
        .post(
            "/api/v1/sla-policies",
            json!({"name": "VIP", "position": 1, "conditions": {"team": [team], "language": ["RU"], "customer_tags": ["VIP"]},
                   "targets": {"first_reply_minutes": 30}}),
        )
        .await
        .expect(201);
    assert_eq!(vip["conditions"]["language"], json!(["ru"]));
    assert_eq!(vip["conditions"]["customer_tags"], json!(["vip"]));
    assert_eq!(vip["warn_at"], 0.75, "the default warning share");
    assert_eq!(vip["targets"]["resolution_minutes"], Value::Null);
    let names: Vec<Value> = app.get("/api/v1/sla-policies").await.expect(200)["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["name"].clone())
        .collect();
    assert_eq!(
        names,
        [json!("VIP"), json!("Email")],
        "in the order they are tried"
    );
    for bad in [
        json!({"name": "x", "targets": {}}),
        json!({"name": "x", "targets": {"first_reply_minutes": 0}}),
        json!({"name": "x", "targets": {"first_reply_minutes": 600000}}),
        json!({"name": "x", "targets": {"first_reply_minutes": 5}, "warn_at": 1.5}),
        json!({"name": "x", "targets": {"first_reply_minutes": 5}, "conditions": {"channel": ["pigeon"]}}),
        json!({"name": "", "targets": {"first_reply_minutes": 5}}),
    ] {
        let r = app.post("/api/v1/sla-policies", bad.clone()).await;
        assert_eq!(r.status.as_u16(), 422, "{bad}: {}", r.body);
    }
    // What names nothing in this workspace is not found, by name.
    for (field, bad) in [
        (
            "conditions.team",
            json!({"name": "x", "targets": {"first_reply_minutes": 5}, "conditions": {"team": [uuid::Uuid::now_v7()]}}),
        ),
        (
            "business_hours_id",
            json!({"name": "x", "targets": {"first_reply_minutes": 5}, "business_hours_id": uuid::Uuid::now_v7()}),
        ),
    ] {
        let p = app.post("/api/v1/sla-policies", bad).await.problem(404);
        assert!(p["errors"][field].is_string(), "{p}");
    }
    let path = format!("/api/v1/sla-policies/{}", email["id"].as_str().unwrap());
    let changed = app
        .patch(
            &path,
            json!({"warn_at": null, "targets": {"first_reply_minutes": 120}}),
        )
        .await
        .expect(200);
    assert_eq!(changed["warn_at"], Value::Null);
    assert_eq!(
        changed["targets"]["next_reply_minutes"],
        Value::Null,
        "targets are replaced together"
    );
    assert_eq!(
        changed["conditions"]["channel"],
        json!(["email"]),
        "the rest is kept"
    );
    let (_, agent) = app.user("agent@alpha.test", "agent").await;
    app.req("DELETE", &path, &agent, None).await.problem(403);
    app.req("GET", &path, &agent, None).await.expect(200);
    // Another workspace sees none of it.
    let other = app.workspace("beta").await;
    app.req("GET", &path, &other, None).await.problem(404);
    assert_eq!(
        app.req("DELETE", &path, &app.token, None)
            .await
            .status
            .as_u16(),
        204
    );
    app.get(&path).await.problem(404);
}

/// Milliseconds of an RFC 3339 time in a response.
fn ms(v: &Value) -> i64 {
    Timestamp::parse_rfc3339(v.as_str().unwrap_or_else(|| panic!("a time, not {v}")))
        .unwrap()
        .millis()
}

const MIN: i64 = 60_000;

/// The ticket once the SLA consumer has derived what `ready` waits for.
async fn ticket_when(app: &TestApp, id: &str, what: &str, ready: impl Fn(&Value) -> bool) -> Value {
    until(what, 30, async || {
        let t = app.get(&format!("/api/v1/tickets/{id}")).await.expect(200);
        ready(&t).then_some(t)
    })
    .await
}

async fn sla_events(app: &TestApp, id: &str) -> Vec<Value> {
    app.get(&format!("/api/v1/tickets/{id}/events?limit=200"))
        .await
        .expect(200)["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["kind"].as_str().is_some_and(|k| k.starts_with("sla.")))
        .cloned()
        .collect()
}

async fn sla_clocks_follow_the_ticket_and_announce_warnings_and_breaches_once(app: TestApp) {
    // Friday 2026-11-27 17:00 in Moscow.
    let friday = Timestamp::parse_rfc3339("2026-11-27T14:00:00Z").unwrap();
    app.clock.set(Some(friday));
    let office = app
        .post(
            "/api/v1/business-hours",
            json!({"name": "Moscow office", "time_zone": "Europe/Moscow",
                   "week": {"mon": [["09:00", "18:00"]], "tue": [["09:00", "18:00"]], "wed": [["09:00", "18:00"]],
                            "thu": [["09:00", "18:00"]], "fri": [["09:00", "18:00"]]}}),
        )
        .await
        .expect(201);
    let business = app
        .post(
            "/api/v1/sla-policies",
            json!({"name": "High, office hours", "position": 1, "conditions": {"priority": ["high"]},
                   "business_hours_id": office["id"], "targets": {"first_reply_minutes": 120}}),
        )
        .await
        .expect(201);
    let email = app
        .post(
            "/api/v1/sla-policies",
            json!({"name": "Email", "position": 2, "conditions": {"channel": ["email"]},
                   "targets": {"first_reply_minutes": 60, "next_reply_minutes": 120, "resolution_minutes": 480},
                   "warn_at": 0.5}),
        )
        .await
        .expect(201);
    let high = app
        .post(
            "/api/v1/tickets",
            json!({"subject": "Сломалась колонка", "priority": "high",
            "customer": {"email": "ivan@example.com"}, "message": {"body": "Не включается"}}),
        )
        .await
        .expect(201);
    let high_id = high["id"].as_str().unwrap().to_owned();
    let t = ticket_when(&app, &high_id, "the business-hours clock", |t| {
        !t["sla"].is_null()
    })
    .await;
    assert_eq!(t["sla"]["policy_id"], business["id"]);
    // One hour on Friday, one on Monday from 09:00 Moscow (06:00 UTC).
    assert_eq!(
        ms(&t["sla"]["first_reply"]["due_at"]),
        Timestamp::parse_rfc3339("2026-11-30T07:00:00Z")
            .unwrap()
            .millis()
    );
    assert_eq!(t["sla"]["resolution"], Value::Null, "no target, no clock");

    let t0 = Timestamp::parse_rfc3339("2026-11-30T09:00:00Z").unwrap();
    app.clock.set(Some(t0));
    let created = app
        .post(
            "/api/v1/tickets",
            json!({"subject": "Заказ 1042 не пришёл", "channel": "email",
            "customer": {"email": "anna@example.com"}, "message": {"body": "Где заказ?"}}),
        )
        .await
        .expect(201);
    let id = created["id"].as_str().unwrap().to_owned();
    let number = created["number"].as_i64().unwrap();
    let t = ticket_when(&app, &id, "the clocks", |t| !t["sla"].is_null()).await;
    assert_eq!(t["sla"]["policy_id"], email["id"]);
    let first = &t["sla"]["first_reply"];
    assert_eq!(first["state"], "running");
    assert_eq!(ms(&first["due_at"]), t0.millis() + 60 * MIN);
    assert_eq!(ms(&first["warn_at"]), t0.millis() + 30 * MIN);
    assert_eq!(
        ms(&t["sla"]["resolution"]["due_at"]),
        t0.millis() + 480 * MIN
    );
    assert_eq!(t["sla"]["next_reply"], Value::Null);

    // The warning's timer.
    app.clock.set(Some(t0.plus_millis(31 * MIN)));
    app.drain_jobs().await;
    let events = sla_events(&app, &id).await;
    assert_eq!(events.len(), 1, "{events:?}");
    assert_eq!(events[0]["kind"], "sla.warning");
    assert_eq!(events[0]["data"]["metric"], "first_reply");
    let at_risk = app.get("/api/v1/tickets?sla=at_risk").await.expect(200);
    assert_eq!(at_risk["items"].as_array().unwrap().len(), 1);
    assert_eq!(at_risk["items"][0]["id"], id.as_str());

    // The breach's timer, and the views.
    app.clock.set(Some(t0.plus_millis(61 * MIN)));
    app.drain_jobs().await;
    app.drain_jobs().await;
    let events = sla_events(&app, &id).await;
    let kinds: Vec<&str> = events.iter().map(|e| e["kind"].as_str().unwrap()).collect();
    assert_eq!(kinds, ["sla.warning", "sla.breached"]);
    assert_eq!(events[1]["data"]["due_at"], t0.millis() + 60 * MIN);
    let breached = app.get("/api/v1/tickets?sla=breached").await.expect(200);
    let ids: Vec<&str> = breached["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["id"].as_str().unwrap())
        .collect();
    assert!(ids.contains(&id.as_str()), "{ids:?}");
    let t = app.get(&format!("/api/v1/tickets/{id}")).await.expect(200);
    assert_eq!(t["sla"]["first_reply"]["state"], "breached");

    // A late reply stops the clock; it stays breached, and leaves the view.
    app.clock.set(Some(t0.plus_millis(70 * MIN)));
    app.post(
        &format!("/api/v1/tickets/{id}/messages"),
        json!({"body": "Проверяем заказ"}),
    )
    .await
    .expect(201);
    let t = ticket_when(&app, &id, "the first reply stopped", |t| {
        !t["sla"]["first_reply"]["stopped_at"].is_null()
    })
    .await;
    assert_eq!(t["sla"]["first_reply"]["state"], "breached");
    assert_eq!(
        ms(&t["sla"]["first_reply"]["stopped_at"]),
        t0.millis() + 70 * MIN
    );
    let breached = app.get("/api/v1/tickets?sla=breached").await.expect(200);
    assert!(
        !breached["items"]
            .as_array()
            .unwrap()
            .iter()
            .any(|t| t["id"] == id.as_str())
    );

    // Pending pauses the resolution clock.
    app.clock.set(Some(t0.plus_millis(80 * MIN)));
    app.patch(
        &format!("/api/v1/tickets/{id}"),
        json!({"status": "pending"}),
    )
    .await
    .expect(200);
    let t = ticket_when(&app, &id, "the pause", |t| {
        t["sla"]["resolution"]["state"] == "paused"
    })
    .await;
    assert_eq!(t["sla"]["resolution"]["due_at"], Value::Null);
    assert_eq!(t["sla"]["resolution"]["remaining_s"], (480 - 80) * 60);

    // The customer writes back: the ticket re-opens, the resolution clock goes
    // on from where it stopped and a next-reply clock starts.
    app.clock.set(Some(t0.plus_millis(200 * MIN)));
    app.post(
        &format!("/api/v1/tickets/{id}/messages"),
        json!({"body": "Так где заказ?", "author": "customer"}),
    )
    .await
    .expect(201);
    let t = ticket_when(&app, &id, "the next reply clock", |t| {
        !t["sla"]["next_reply"].is_null()
    })
    .await;
    assert_eq!(t["status"], "open");
    assert_eq!(
        ms(&t["sla"]["next_reply"]["due_at"]),
        t0.millis() + 320 * MIN
    );
    assert_eq!(t["sla"]["next_reply"]["cycle"], 1);
    assert_eq!(
        ms(&t["sla"]["resolution"]["due_at"]),
        t0.millis() + 600 * MIN
    );

    // Timers run again with nothing new to say: nothing is announced twice.
    app.drain_jobs().await;
    assert_eq!(sla_events(&app, &id).await.len(), 2);

    // Across a restart the clocks are where they were.
    let app = app.restart().await;
    app.clock.set(Some(t0.plus_millis(201 * MIN)));
    let t = app
        .get(&format!("/api/v1/tickets/{number}"))
        .await
        .expect(200);
    assert_eq!(
        ms(&t["sla"]["next_reply"]["due_at"]),
        t0.millis() + 320 * MIN
    );

    // A higher priority moves the ticket to the other policy, whose clocks are
    // derived from the same history.
    app.patch(
        &format!("/api/v1/tickets/{id}"),
        json!({"priority": "high"}),
    )
    .await
    .expect(200);
    let t = ticket_when(&app, &id, "the policy change", |t| {
        t["sla"]["policy_id"] == business["id"]
    })
    .await;
    assert_eq!(
        t["sla"]["first_reply"]["state"], "met",
        "70 minutes of office time is inside 120"
    );
    assert_eq!(
        t["sla"]["next_reply"],
        Value::Null,
        "that policy has no next-reply target"
    );

    // Without policies, no clocks.
    for p in [&business, &email] {
        let path = format!("/api/v1/sla-policies/{}", p["id"].as_str().unwrap());
        assert_eq!(
            app.req("DELETE", &path, &app.token, None)
                .await
                .status
                .as_u16(),
            204
        );
    }
    app.drain_jobs().await;
    let t = app.get(&format!("/api/v1/tickets/{id}")).await.expect(200);
    assert_eq!(t["sla"], Value::Null);
}

/// Two server processes on one PostgreSQL database derive the clocks and run
/// the timers between them: every ticket's warning and breach is written once,
/// shortly after it falls.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_nodes_run_sla_timers_once_and_on_time() {
    // Tickets are written 50 s in the past: their one-minute targets fall 10 s
    // from now, their warnings (at half) have already fallen.
    let Some(cluster) = crate::helpers::PgCluster::start(
        "sla::two_nodes_run_sla_timers_once_and_on_time",
        std::sync::Arc::new(crate::helpers::Behind(50_000)),
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
    let (mut a, mut b) = (cluster.node(1, 1), cluster.node(2, 1));
    until("the nodes follow the log", 60, async || {
        let all = engine.consumer_status().await.ok()?;
        all.iter().any(|c| c.name == "sla").then_some(())
    })
    .await;
    engine
        .create_sla_policy(
            &p,
            engine::sla::PolicyInput {
                name: Some("Everything".into()),
                targets: Some((Some(1), None, None)),
                warn_at: Some(Some(0.5)),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    const TICKETS: usize = 200;
    let started = std::time::Instant::now();
    for i in 0..TICKETS {
        engine
            .create_ticket(&p, crate::helpers::new_ticket(i), None)
            .await
            .unwrap();
    }
    assert!(
        started.elapsed().as_secs() < 9,
        "the tickets took {:?} to write; their targets would fall before the test looks",
        started.elapsed()
    );
    let read = async || crate::helpers::all_events(&engine, &p).await;
    let breached = |events: &[engine::model::EventRecord]| {
        events
            .iter()
            .filter(|e| matches!(e.data, domain::event::EventData::SlaBreached { .. }))
            .count()
    };
    until("every breach written", 60, async || {
        let events = read().await;
        (breached(&events) >= TICKETS).then_some(())
    })
    .await;
    // Timers that ran twice would write again within a pass or two.
    tokio::time::sleep(std::time::Duration::from_secs(2)).await;
    let _ = a.kill().await;
    let _ = b.kill().await;
    let events = read().await;
    let mut per_ticket = std::collections::HashMap::<_, (usize, usize)>::new();
    let mut lateness = Vec::new();
    for e in &events {
        match &e.data {
            domain::event::EventData::SlaWarning { ticket_id, .. } => {
                per_ticket.entry(*ticket_id).or_default().0 += 1;
            }
            domain::event::EventData::SlaBreached {
                ticket_id, due_at, ..
            } => {
                per_ticket.entry(*ticket_id).or_default().1 += 1;
                lateness.push(e.created_at.millis() - due_at);
            }
            _ => {}
        }
    }
    assert_eq!(per_ticket.len(), TICKETS);
    assert!(
        per_ticket.values().all(|&n| n == (1, 1)),
        "one warning and one breach each: {:?}",
        per_ticket
            .values()
            .filter(|&&n| n != (1, 1))
            .collect::<Vec<_>>()
    );
    lateness.sort_unstable();
    let p99 = lateness[lateness.len() * 99 / 100];
    eprintln!(
        "breaches written {} ms (median) and {p99} ms (p99) after their targets",
        lateness[lateness.len() / 2]
    );
    assert!(lateness[0] >= 0, "no breach before its target");
    assert!(p99 < 5_000, "p99 lateness {p99} ms");
    cluster.finish().await;
}

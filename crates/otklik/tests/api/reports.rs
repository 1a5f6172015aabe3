//! KPI reports: a fixture of tickets whose figures were worked out by hand
//! (re-opens, an escalation, a pause, business hours, bot hand-offs, CSAT,
//! local days) must come out exactly, on both databases, and again after the
//! roll-ups are rebuilt from the event log.

use crate::email::{Sink, mail, pipe, quiet_mailbox};
use crate::helpers::{Backend, TestApp, until};
use serde_json::{Value, json};

mod fixture {
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn sqlite() {
        let app = crate::telegram::app_with_public_url(crate::helpers::Backend::Sqlite)
            .await
            .expect("app");
        super::kpis_match_the_figures_worked_out_by_hand(app, super::Backend::Sqlite).await;
    }
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn postgres() {
        if let Some(app) =
            crate::telegram::app_with_public_url(crate::helpers::Backend::Postgres).await
        {
            super::kpis_match_the_figures_worked_out_by_hand(app, super::Backend::Postgres).await;
        }
    }
}

mod digests {
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn sqlite() {
        let app = crate::telegram::app_with_public_url(crate::helpers::Backend::Sqlite)
            .await
            .expect("app");
        super::weekly_digests_go_out_once_on_monday_in_each_readers_language(app).await;
    }
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn postgres() {
        if let Some(app) =
            crate::telegram::app_with_public_url(crate::helpers::Backend::Postgres).await
        {
            super::weekly_digests_go_out_once_on_monday_in_each_readers_language(app).await;
        }
    }
}

const MSK: &str = "Europe/Moscow";

/// Moves the server's clock to a Moscow wall-clock time.
fn at(app: &TestApp, local: &str) {
    let t = domain::time::local::parse(MSK, local).expect("a local time");
    app.clock.set(Some(t));
}

async fn id_of(v: Value) -> String {
    v["id"].as_str().expect("an id").to_owned()
}

async fn reply(app: &TestApp, t: &str, body: &str) {
    app.post(
        &format!("/api/v1/tickets/{t}/messages"),
        json!({"body": body, "visibility": "public"}),
    )
    .await
    .expect(201);
}

async fn set(app: &TestApp, t: &str, patch: Value) {
    app.patch(&format!("/api/v1/tickets/{t}"), patch)
        .await
        .expect(200);
}

/// Waits until the `kpis` consumer has handled every event.
async fn caught_up(app: &TestApp) {
    until("the kpis consumer catches up", 30, async || {
        let all = app.engine.consumer_status().await.ok()?;
        all.iter()
            .find(|c| c.name == "kpis" && c.lag == 0)
            .map(|_| ())
    })
    .await;
}

/// Answers the CSAT survey mailed to `to` with `score`.
pub(crate) async fn rate(app: &TestApp, sink: &Sink, to: &str, score: i64) {
    let token = until("the survey mail", 10, async || {
        app.drain_jobs().await;
        sink.messages().iter().find_map(|(env, m, _)| {
            if !env.rcpts.iter().any(|r| r == to) {
                return None;
            }
            let i = m.text.find("/s/")?;
            let rest = &m.text[i + 3..];
            let end = rest
                .find(|c: char| c == '?' || c.is_whitespace())
                .unwrap_or(rest.len());
            Some(rest[..end].to_owned())
        })
    })
    .await;
    let r = reqwest::Client::new()
        .post(format!("{}/s/{token}", app.base))
        .form(&[("score", score.to_string()), ("comment", String::new())])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200, "the answer is taken");
}

async fn report(app: &TestApp, query: &str) -> Value {
    app.get(&format!("/api/v1/reports/kpis?{query}"))
        .await
        .expect(200)
}

/// The figures compared: everything a row says but its label.
fn figures(row: &Value) -> Value {
    let mut r = row.clone();
    if let Some(o) = r.as_object_mut() {
        o.remove("label");
    }
    r
}

#[allow(clippy::too_many_arguments)]
fn row(
    key: Value,
    (created, solved, backlog): (i64, i64, i64),
    (frt_median, frt_p90, resolution): (Option<f64>, Option<f64>, Option<f64>),
    (csat, csat_answers): (Option<f64>, i64),
    (fcr, escalation_rate): (Option<f64>, Option<f64>),
    (bot, bots): (Option<f64>, i64),
    (sla, targets): (Option<f64>, i64),
) -> Value {
    json!({
        "key": key, "created": created, "solved": solved, "backlog": backlog,
        "frt_median_s": frt_median, "frt_p90_s": frt_p90, "resolution_median_s": resolution,
        "csat": csat, "nps": null, "fcr": fcr, "escalation_rate": escalation_rate,
        "bot_containment": bot, "sla_compliance": sla,
        "csat_answers": csat_answers, "nps_answers": 0,
        "bot_conversations": bots, "sla_targets": targets,
    })
}

/// The fixture (Moscow time, Monday 2 to Wednesday 4 November 2026; an SLA
/// policy for email counts in business hours, Mon–Fri 09:00–18:00, with a
/// first reply within 60 minutes and a resolution within 8 hours):
///
/// - A (email, L1, Ivan): asked Mon 10:00, answered 10:30 (FRT 30 min, met),
///   solved 12:00 (2 h, met; FCR), rated 5.
/// - B (email): asked Mon 17:30 (L1, Ivan), answered Tue 09:45 — 75 business
///   minutes, the first-reply target breached at 09:30 —, escalated to L2
///   (Olga) at 10:00, answered 11:00, solved 12:00, rated 2 at 13:00; the
///   customer writes again at 14:00 (re-opened), answered and pending at
///   15:00, solved Wed 10:00. Resolution 10.5 business hours; the SLA's
///   resolution clock paused while pending and counted 4.5 h (met; 8.5 h,
///   breached, without the pause). Not FCR; escalated.
/// - C (API): created Wed 01:00 Moscow (Tue 22:00 UTC: a Wednesday ticket),
///   never answered.
/// - D (chat): asks the bot Wed 11:00, answered 11:01, "yes" at 11:05: FRT
///   60 s, solved in 300 s, contained.
/// - E (chat): asks for a person Wed 12:00, handed off to L1, given to Ivan
///   12:10, answered 12:20 (FRT 20 min); not contained; open.
async fn kpis_match_the_figures_worked_out_by_hand(app: TestApp, backend: Backend) {
    at(&app, "2026-11-01T12:00");
    app.req(
        "PATCH",
        "/api/v1/workspace",
        &app.token,
        Some(json!({"time_zone": MSK})),
    )
    .await
    .expect(200);
    let l1 = id_of(
        app.post("/api/v1/teams", json!({"name": "L1", "tier": 1}))
            .await
            .expect(201),
    )
    .await;
    let l2 = id_of(
        app.post("/api/v1/teams", json!({"name": "L2", "tier": 2}))
            .await
            .expect(201),
    )
    .await;
    let (ivan, _) = app.user("ivan@alpha.test", "agent").await;
    let (olga, _) = app.user("olga@alpha.test", "agent").await;
    let (_, agent_token) = app.user("pavel@alpha.test", "agent").await;
    for (u, t) in [(&ivan, &l1), (&olga, &l2)] {
        app.patch(&format!("/api/v1/users/{u}"), json!({"team_ids": [t]}))
            .await
            .expect(200);
    }
    let week = json!({"mon": [["09:00", "18:00"]], "tue": [["09:00", "18:00"]],
        "wed": [["09:00", "18:00"]], "thu": [["09:00", "18:00"]], "fri": [["09:00", "18:00"]]});
    let hours = id_of(
        app.post(
            "/api/v1/business-hours",
            json!({"name": "Будни", "time_zone": MSK, "week": week}),
        )
        .await
        .expect(201),
    )
    .await;
    app.post(
        "/api/v1/sla-policies",
        json!({"name": "Почта", "conditions": {"channel": ["email"]}, "business_hours_id": hours,
               "targets": {"first_reply_minutes": 60, "resolution_minutes": 480}}),
    )
    .await
    .expect(201);
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
    // The bot: one FAQ entry, on in chat, handing off to L1.
    app.req(
        "PUT",
        "/api/v1/assist/settings",
        &app.token,
        Some(json!({"bot_enabled": true, "bot_on_email": false, "threshold": 0.5, "handoff_team_id": l1})),
    )
    .await
    .expect(200);
    app.post(
        "/api/v1/kb/faq",
        json!({"lang": "ru", "question": "Где мой заказ?",
               "phrasings": ["Как отследить заказ", "Когда привезут заказ", "где посылка", "скоро ли доставка"],
               "answer": "Откройте «Мои заказы» и нажмите «Отследить»."}),
    )
    .await
    .expect(201);
    let key = app
        .post(
            "/api/v1/channels/chat",
            json!({"name": "Site chat", "allowed_origins": [crate::chat::SHOP]}),
        )
        .await
        .expect(201)["widget_key"]
        .as_str()
        .unwrap()
        .to_owned();

    // A
    at(&app, "2026-11-02T10:00");
    let a = pipe(
        &app,
        &mb,
        &mail(
            "Anna <anna@example.com>",
            "help@shop.example",
            "Колонка не включается",
            "anna-1@example.com",
            "",
            "Колонка не включается после обновления.",
        ),
    )
    .await["ticket_id"]
        .as_str()
        .unwrap()
        .to_owned();
    set(&app, &a, json!({"team_id": l1, "assignee_id": ivan})).await;
    at(&app, "2026-11-02T10:30");
    reply(&app, &a, "Здравствуйте! Удерживайте кнопку 10 секунд.").await;
    at(&app, "2026-11-02T12:00");
    set(&app, &a, json!({"status": "solved"})).await;
    at(&app, "2026-11-02T13:00");
    rate(&app, &sink, "anna@example.com", 5).await;

    // B
    at(&app, "2026-11-02T17:30");
    let b = pipe(
        &app,
        &mb,
        &mail(
            "Boris <boris@example.com>",
            "help@shop.example",
            "Не пришёл возврат",
            "boris-1@example.com",
            "",
            "Деньги за возврат так и не пришли.",
        ),
    )
    .await["ticket_id"]
        .as_str()
        .unwrap()
        .to_owned();
    set(&app, &b, json!({"team_id": l1, "assignee_id": ivan})).await;
    at(&app, "2026-11-03T09:45");
    reply(&app, &b, "Проверяем платёж.").await;
    at(&app, "2026-11-03T10:00");
    app.post(
        &format!("/api/v1/tickets/{b}/escalate"),
        json!({"reason": "Нужен доступ к платежам", "team_id": l2}),
    )
    .await
    .expect(200);
    set(&app, &b, json!({"assignee_id": olga})).await;
    at(&app, "2026-11-03T11:00");
    reply(&app, &b, "Платёж нашли, деньги вернутся сегодня.").await;
    at(&app, "2026-11-03T12:00");
    set(&app, &b, json!({"status": "solved"})).await;
    at(&app, "2026-11-03T13:00");
    rate(&app, &sink, "boris@example.com", 2).await;
    at(&app, "2026-11-03T14:00");
    let number = app.get(&format!("/api/v1/tickets/{b}")).await.expect(200)["number"].clone();
    let again = pipe(
        &app,
        &mb,
        &mail(
            "Boris <boris@example.com>",
            "help@shop.example",
            &format!("Re: [#{number}] Не пришёл возврат"),
            "boris-2@example.com",
            "",
            "Деньги так и не пришли.",
        ),
    )
    .await;
    assert_eq!(again["ticket_id"].as_str(), Some(b.as_str()));
    assert_eq!(
        app.get(&format!("/api/v1/tickets/{b}")).await.expect(200)["status"],
        "open",
        "re-opened by the customer"
    );
    at(&app, "2026-11-03T15:00");
    reply(&app, &b, "Ждём ответа банка.").await;
    set(&app, &b, json!({"status": "pending"})).await;
    at(&app, "2026-11-04T10:00");
    set(&app, &b, json!({"status": "solved"})).await;

    // C: a Wednesday ticket in Moscow, a Tuesday one in UTC.
    at(&app, "2026-11-04T01:00");
    app.post(
        "/api/v1/tickets",
        json!({"subject": "Счёт для юрлица", "customer": {"name": "ООО Вектор", "email": "vektor@example.com"},
               "message": {"body": "Нужен счёт на оплату."}}),
    )
    .await
    .expect(201);

    // D and E, in the chat.
    let say = async |token: &str, client_id: &str, text: &str| -> String {
        crate::chat::from_site(
            &app,
            "POST",
            &format!("/widget/v1/{key}/messages"),
            crate::chat::SHOP,
            Some(token),
            Some(json!({"client_id": client_id, "text": text})),
        )
        .await
        .expect(201)["ticket_id"]
            .as_str()
            .unwrap()
            .to_owned()
    };
    at(&app, "2026-11-04T11:00");
    let dina = crate::chat::visitor(&app, &key, json!({"name": "Дина", "lang": "ru"})).await;
    let d = say(&dina, "d-1", "Когда привезут мой заказ?").await;
    at(&app, "2026-11-04T11:01");
    app.drain_jobs().await;
    at(&app, "2026-11-04T11:05");
    say(&dina, "d-2", "Да").await;
    app.drain_jobs().await;
    assert_eq!(
        app.get(&format!("/api/v1/tickets/{d}")).await.expect(200)["status"],
        "solved",
        "the bot's answer helped"
    );
    at(&app, "2026-11-04T12:00");
    let egor = crate::chat::visitor(&app, &key, json!({"name": "Егор", "lang": "ru"})).await;
    let e = say(&egor, "e-1", "Позовите оператора, пожалуйста").await;
    app.drain_jobs().await;
    assert_eq!(
        app.get(&format!("/api/v1/tickets/{e}")).await.expect(200)["team_id"],
        l1.as_str(),
        "handed off to L1"
    );
    at(&app, "2026-11-04T12:10");
    set(&app, &e, json!({"assignee_id": ivan})).await;
    at(&app, "2026-11-04T12:20");
    reply(&app, &e, "Здравствуйте, я Иван. Чем помочь?").await;
    at(&app, "2026-11-05T09:00");
    caught_up(&app).await;

    let period = "from=2026-11-02&to=2026-11-05";
    let s = |x: f64| Some(x);
    let total = row(
        Value::Null,
        (5, 3, 2),
        (s(1500.0), s(4500.0), s(7200.0)),
        (s(0.5), 2),
        (s(1.0 / 3.0), s(0.2)),
        (s(0.5), 2),
        (s(0.75), 4),
    );
    let by_day = vec![
        row(
            json!("2026-11-02"),
            (2, 1, 1),
            (s(1800.0), s(1800.0), s(7200.0)),
            (s(1.0), 1),
            // B was created on Monday and escalated on Tuesday.
            (s(1.0), s(0.5)),
            (None, 0),
            (s(1.0), 2),
        ),
        row(
            json!("2026-11-03"),
            (0, 0, 1),
            (s(4500.0), s(4500.0), None),
            (s(0.0), 1),
            (None, None),
            (None, 0),
            (s(0.0), 1),
        ),
        row(
            json!("2026-11-04"),
            (3, 2, 2),
            (s(630.0), s(1200.0), s(19050.0)),
            (None, 0),
            (s(0.0), s(0.0)),
            (s(0.5), 2),
            (s(1.0), 1),
        ),
    ];
    let r = report(&app, &format!("{period}&group_by=day")).await;
    assert_eq!(
        (&r["from"], &r["to"]),
        (&json!("2026-11-02"), &json!("2026-11-05"))
    );
    assert_eq!(figures(&r["total"]), total, "the total");
    let got: Vec<Value> = r["items"].as_array().unwrap().iter().map(figures).collect();
    assert_eq!(got, by_day, "by local day");

    let by_team = |l1: &str, l2: &str| {
        vec![
            row(
                json!(l1),
                (2, 1, 1),
                (s(1500.0), s(1800.0), s(7200.0)),
                (s(1.0), 1),
                (s(1.0), s(0.0)),
                (s(0.0), 1),
                (s(1.0), 2),
            ),
            row(
                Value::Null,
                (2, 1, 1),
                (s(60.0), s(60.0), s(300.0)),
                (None, 0),
                (s(0.0), s(0.0)),
                (s(1.0), 1),
                (None, 0),
            ),
            row(
                json!(l2),
                (1, 1, 0),
                (s(4500.0), s(4500.0), s(37800.0)),
                (s(0.0), 1),
                (s(0.0), s(1.0)),
                (None, 0),
                (s(0.5), 2),
            ),
        ]
    };
    let r = report(&app, &format!("{period}&group_by=team")).await;
    let items = r["items"].as_array().unwrap();
    // Most created first; ties by key (no team sorts first).
    let mut want = by_team(&l1, &l2);
    want.sort_by(|a, b| {
        b["created"]
            .as_i64()
            .cmp(&a["created"].as_i64())
            .then(a["key"].as_str().cmp(&b["key"].as_str()))
    });
    assert_eq!(
        items.iter().map(figures).collect::<Vec<_>>(),
        want,
        "by team"
    );
    let label = |k: &str| {
        items
            .iter()
            .find(|i| i["key"] == k)
            .map(|i| i["label"].clone())
    };
    assert_eq!(label(&l2), Some(json!("L2")));
    assert_eq!(figures(&r["total"]), total);

    let r = report(&app, &format!("{period}&group_by=channel")).await;
    let by_channel: Vec<Value> = r["items"].as_array().unwrap().iter().map(figures).collect();
    let email = row(
        json!("email"),
        (2, 2, 0),
        (s(3150.0), s(4500.0), s(22500.0)),
        (s(0.5), 2),
        (s(0.5), s(0.5)),
        (None, 0),
        (s(0.75), 4),
    );
    let chat = row(
        json!("chat"),
        (2, 1, 1),
        (s(630.0), s(1200.0), s(300.0)),
        (None, 0),
        (s(0.0), s(0.0)),
        (s(0.5), 2),
        (None, 0),
    );
    let api = row(
        json!("api"),
        (1, 0, 1),
        (None, None, None),
        (None, 0),
        (None, s(0.0)),
        (None, 0),
        (None, 0),
    );
    assert_eq!(by_channel, vec![chat, email, api], "by channel");

    // Narrower periods: Monday alone, and the week (Monday to Sunday) it is in.
    let monday = report(&app, "from=2026-11-02&to=2026-11-03").await;
    assert_eq!(figures(&monday["total"]), {
        let mut m = by_day[0].clone();
        m["key"] = Value::Null;
        m
    });
    let week = report(&app, "from=2026-11-02&to=2026-11-09&group_by=week").await;
    let w = week["items"].as_array().unwrap();
    assert_eq!(w.len(), 1, "{week}");
    assert_eq!(w[0]["key"], "2026-11-02");
    assert_eq!(
        (w[0]["created"].clone(), w[0]["backlog"].clone()),
        (json!(5), json!(2))
    );

    // CSV: the same figures, a row per group and the total.
    let csv = app
        .client
        .get(format!(
            "{}/api/v1/reports/kpis.csv?{period}&group_by=day",
            app.base
        ))
        .bearer_auth(&app.token)
        .send()
        .await
        .unwrap();
    assert_eq!(csv.status(), 200);
    assert!(
        csv.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/csv")
    );
    let text = csv.text().await.unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 5, "{text}");
    assert!(lines[0].starts_with("row,key,label,created,solved,backlog,frt_median_s"));
    assert!(
        lines[3].starts_with("group,2026-11-04,,3,2,2,630,1200,19050,,,0,0,0.5,1,"),
        "{text}"
    );
    assert!(
        lines[4].starts_with("total,,,5,3,2,1500,4500,7200,0.5,,0.3333"),
        "{text}"
    );

    // The reports screen, in Russian: the figures, the charts, the heat map
    // and the tables; the live view of queues and agents.
    let owner = crate::ui::Agent::login(&app, "owner@alpha.test", "alpha-password")
        .await
        .speaking("ru");
    let html = owner
        .page("/app/reports?from=2026-11-02&to=2026-11-04")
        .await;
    assert_eq!(
        html.matches("<svg class=\"chart\"").count(),
        3,
        "three charts"
    );
    for want in [
        "<h1>Отчёты</h1>",
        "<dd>5</dd>",
        "<dd>25 мин</dd>",
        "<dd>50%</dd>",
        "<dd>75%</dd>",
        "<th scope=\"row\">2026-11-04</th><td>3</td><td>2</td><td>2</td>",
        "<th scope=\"row\">L2</th><td>1</td><td>1</td><td>0</td>",
        "<th scope=\"row\">Без команды</th>",
        "group_by=day",
    ] {
        assert!(html.contains(want), "{want} in the reports page");
    }
    // Wednesday: C at 01:00, D at 11:00, E at 12:00 (Moscow time).
    let wed = html
        .split("<th scope=\"row\">Ср</th>")
        .nth(1)
        .and_then(|s| s.split("</tr>").next())
        .expect("a Wednesday row");
    let cells: Vec<&str> = wed
        .split("<td")
        .skip(1)
        .map(|c| {
            c.split('>')
                .nth(1)
                .unwrap_or_default()
                .trim_end_matches("</td")
        })
        .collect();
    assert_eq!(cells.len(), 24, "{wed}");
    let busy: Vec<usize> = (0..24).filter(|h| cells[*h] != "0").collect();
    assert_eq!(busy, vec![1, 11, 12], "{wed}");
    let live = owner.page("/app/reports/live").await;
    assert!(
        live.contains("<th scope=\"row\">Без команды</th><td>1</td><td>1</td><td>1.3 дн</td>"),
        "C has waited since Wednesday 01:00: {live}"
    );
    assert!(
        live.contains("<th scope=\"row\">L1</th><td>1</td><td>0</td>"),
        "{live}"
    );
    let agent = crate::ui::Agent::login(&app, "pavel@alpha.test", "user-password").await;
    for path in ["/app/reports", "/app/reports/live"] {
        let res = agent.get(path).await;
        assert_eq!(res.status(), 403, "{path} is for supervisors");
    }

    // Who may read, and what is refused.
    app.req("GET", "/api/v1/reports/kpis", &agent_token, None)
        .await
        .problem(403);
    app.get("/api/v1/reports/kpis?from=2026-11-05&to=2026-11-05")
        .await
        .problem(409);
    app.get("/api/v1/reports/kpis?from=2024-01-01&to=2026-11-05")
        .await
        .problem(409);
    app.get("/api/v1/reports/kpis?from=2026-13-01")
        .await
        .problem(422);
    app.get("/api/v1/reports/kpis?group_by=month")
        .await
        .problem(400);

    // Derived data: a roll-up row the log does not back (as a lost or
    // mistaken write would leave) is gone after a rebuild, and the figures
    // are what they were.
    let before = report(&app, &format!("{period}&group_by=team")).await;
    let ws = app
        .engine
        .cli_principal("alpha")
        .await
        .unwrap()
        .workspace_id;
    let stray = domain::kpi::Derived {
        dims: domain::kpi::Dims {
            channel: "api".into(),
            ..Default::default()
        },
        facts: vec![domain::kpi::Fact {
            measure: domain::kpi::Measure::Created,
            at: domain::time::local::parse(MSK, "2026-11-03T12:00")
                .unwrap()
                .millis(),
            part: String::new(),
            value: None,
            flag: false,
            day: domain::kpi::day_of("2026-11-03").unwrap(),
        }],
        backlog: vec![],
    };
    app.store
        .write(move |tx| {
            Box::pin(async move {
                store::kpis::save(tx, ws, domain::ids::TicketId::new(), None, &stray).await
            })
        })
        .await
        .unwrap();
    assert_eq!(report(&app, period).await["total"]["created"], 6);
    app.engine.rebuild_kpis().await.expect("rebuild");
    caught_up(&app).await;
    assert_eq!(
        report(&app, &format!("{period}&group_by=team")).await,
        before,
        "rebuilt on {backend:?}"
    );
}

crate::on_both!(a_spike_is_raised_once_and_an_ordinary_day_is_not);

/// Waits until the `trends` consumer has handled every event.
async fn trends_caught_up(app: &TestApp) {
    until("the trends consumer catches up", 30, async || {
        let all = app.engine.consumer_status().await.ok()?;
        all.iter()
            .find(|c| c.name == "trends" && c.lag == 0)
            .map(|_| ())
    })
    .await;
}

/// The `trend.detected` events: key, observed, p-value, examples.
async fn trend_events(app: &TestApp) -> Vec<(String, i64, f64, Vec<domain::ids::TicketId>)> {
    let p = app.engine.cli_principal("alpha").await.unwrap();
    crate::helpers::all_events(&app.engine, &p)
        .await
        .into_iter()
        .filter_map(|e| match e.data {
            domain::event::EventData::TrendDetected {
                key,
                observed,
                p_value,
                ticket_ids,
                ..
            } => Some((key, observed, p_value, ticket_ids)),
            _ => None,
        })
        .collect()
}

/// Two weeks of ordinary traffic (a busy topic, 8–14 tickets a day between
/// 09:00 and 18:00, and two quieter ones), then two ordinary days: no
/// alert, though the busy topic has more than five tickets in six hours. Then
/// eight tickets about a speaker that stopped working in two hours: one
/// alert per new word, with the newest tickets as examples, shown on the
/// reports screen.
async fn a_spike_is_raised_once_and_an_ordinary_day_is_not(app: TestApp) {
    let mut seed = 7u64;
    let mut below = |n: u64| {
        seed = seed
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        (seed >> 33) % n
    };
    let subjects = [
        ("Где мой заказ", 8..15),
        ("Оплата картой", 1..3),
        ("Возврат денег", 0..2),
    ];
    let ticket = async |subject: &str, n: usize| {
        app.post(
            "/api/v1/tickets",
            json!({"subject": format!("{subject} {n}"), "customer": {"name": "Клиент", "email": format!("c{n}@example.com")},
                   "message": {"body": "Помогите, пожалуйста."}}),
        )
        .await
        .expect(201)["number"]
            .as_i64()
            .unwrap()
    };
    let mut n = 0;
    // Minutes since day 1 of the busy topic's tickets on the ordinary days
    // after the baseline: the test must have had something to judge.
    let mut busy: Vec<u64> = Vec::new();
    for day in 1..=17u64 {
        let mut today: Vec<(u64, &str)> = Vec::new();
        for (subject, range) in &subjects {
            let count = range.start + below(range.end - range.start);
            for _ in 0..count {
                today.push((9 * 60 + below(9 * 60), subject));
            }
        }
        today.sort();
        if day >= 16 {
            busy.extend(
                today
                    .iter()
                    .filter(|(_, s)| s.starts_with("Где"))
                    .map(|(m, _)| day * 1440 + m),
            );
        }
        for (minute, subject) in today {
            at(
                &app,
                &format!("2026-11-{day:02}T{:02}:{:02}", minute / 60, minute % 60),
            );
            n += 1;
            ticket(subject, n).await;
            trends_caught_up(&app).await;
        }
    }
    let most = busy
        .iter()
        .map(|a| busy.iter().filter(|b| **b >= *a && **b < a + 360).count())
        .max()
        .unwrap_or(0);
    assert!(
        most >= domain::trend::MIN_COUNT as usize,
        "an ordinary day has {most} tickets of the busy topic in six hours"
    );
    let quiet = trend_events(&app).await;
    assert!(
        quiet.is_empty(),
        "an ordinary fortnight and day raise nothing: {quiet:?}"
    );

    // The spike: eight tickets from 10:00, one every fifteen minutes.
    let mut spike = Vec::new();
    for i in 0..8 {
        at(
            &app,
            &format!("2026-11-18T{:02}:{:02}", 10 + i * 15 / 60, i * 15 % 60),
        );
        n += 1;
        spike.push(ticket("Колонка не включается", n).await);
        trends_caught_up(&app).await;
    }
    let raised = trend_events(&app).await;
    let keys: Vec<&str> = raised.iter().map(|e| e.0.as_str()).collect();
    assert_eq!(
        keys,
        ["term:колонка", "term:включается"],
        "once each: {raised:?}"
    );
    let (_, observed, p_value, examples) = &raised[0];
    assert_eq!(*observed, 5, "raised by the fifth ticket");
    assert!(*p_value < domain::trend::ALPHA);
    assert_eq!(examples.len(), 5);
    for id in examples {
        let t = app.get(&format!("/api/v1/tickets/{id}")).await.expect(200);
        assert!(spike.contains(&t["number"].as_i64().unwrap()), "{t}");
    }
    let owner = crate::ui::Agent::login(&app, "owner@alpha.test", "alpha-password")
        .await
        .speaking("ru");
    let html = owner
        .page("/app/reports?from=2026-11-18&to=2026-11-18")
        .await;
    assert!(
        html.contains("Слово «колонка»"),
        "the spike on the reports screen"
    );
    assert!(
        html.contains(&format!("href=\"/app/t/{}\"", spike[4])),
        "with its examples"
    );
    // Hits older than any window a trend is judged over go (the first two
    // days of the fortnight, 17 days back); what is kept is never pruned.
    let pruned = app.engine.prune_trend_hits().await.expect("prune");
    assert!(pruned > 0, "the first days' hits are past keeping");
    assert_eq!(app.engine.prune_trend_hits().await.expect("prune"), 0);
}

/// Weekly digests: an admin turns them on (an agent may not); on Monday at
/// 07:00 Moscow each supervisor and admin who takes them gets the week's
/// figures against the week before, with bar charts, in their language;
/// agents and those who turned them off get none; the job chain goes on to
/// the next week; turning digests off and on again (a second chain) still
/// mails each week once.
async fn weekly_digests_go_out_once_on_monday_in_each_readers_language(app: TestApp) {
    at(&app, "2026-11-16T10:00");
    app.req(
        "PATCH",
        "/api/v1/workspace",
        &app.token,
        Some(json!({"time_zone": MSK})),
    )
    .await
    .expect(200);
    let sink = Sink::start().await;
    quiet_mailbox(&app, "help@shop.example", &sink).await;
    app.req(
        "PATCH",
        "/api/v1/me/preferences",
        &app.token,
        Some(json!({"language": "ru"})),
    )
    .await
    .expect(200);
    let (_, lead) = app.user("lead@alpha.test", "supervisor").await;
    app.req(
        "PATCH",
        "/api/v1/me/preferences",
        &lead,
        Some(json!({"language": "th"})),
    )
    .await
    .expect(200);
    let (_, quiet) = app.user("quiet@alpha.test", "supervisor").await;
    app.req(
        "PATCH",
        "/api/v1/me/preferences",
        &quiet,
        Some(json!({"notify": {"reports": false}})),
    )
    .await
    .expect(200);
    let (_, agent) = app.user("agent@alpha.test", "agent").await;
    let ticket = async |subject: &str| {
        app.post(
            "/api/v1/tickets",
            json!({"subject": subject, "customer": {"name": "Клиент", "email": "c@example.com"},
                   "message": {"body": "Помогите, пожалуйста."}}),
        )
        .await
        .expect(201);
    };
    // The week before: one ticket; the week reported: three.
    ticket("Прошлая неделя").await;
    at(&app, "2026-11-23T09:00");
    ticket("Понедельник").await;
    at(&app, "2026-11-25T09:00");
    ticket("Среда 1").await;
    ticket("Среда 2").await;
    app.req(
        "PUT",
        "/api/v1/reports/digests",
        &agent,
        Some(json!({"weekly": true})),
    )
    .await
    .expect(403);
    app.req(
        "PUT",
        "/api/v1/reports/digests",
        &app.token,
        Some(json!({"weekly": true})),
    )
    .await
    .expect(200);
    assert_eq!(
        app.get("/api/v1/reports/digests").await.expect(200),
        json!({"weekly": true, "monthly": false})
    );
    caught_up(&app).await;
    // Not before Monday 07:00.
    at(&app, "2026-11-30T06:59");
    app.drain_jobs().await;
    assert!(sink.messages().is_empty(), "nothing before Monday 07:00");
    at(&app, "2026-11-30T07:01");
    let got = until("the digests", 10, async || {
        app.drain_jobs().await;
        let got = sink.messages();
        (got.len() >= 2).then_some(got)
    })
    .await;
    app.drain_jobs().await;
    assert_eq!(
        sink.messages().len(),
        2,
        "the owner and the supervisor who takes them"
    );
    let to = |who: &str| {
        got.iter()
            .find(|(env, _, _)| env.rcpts.iter().any(|r| r == who))
            .map(|(_, m, _)| m.clone())
            .unwrap_or_else(|| panic!("a digest to {who}"))
    };
    let owner = to("owner@alpha.test");
    assert_eq!(
        owner.subject, "Отчёт за неделю: alpha · 2026-11-23 – 2026-11-29",
        "{}",
        owner.subject
    );
    assert!(
        owner
            .text
            .contains("Новые заявки: 3 (Прошлый период: 1) +2"),
        "{}",
        owner.text
    );
    let html = owner.html.clone().expect("an HTML part");
    assert_eq!(
        html.matches("background:#2457d6;height:14px").count(),
        2,
        "a bar for each day with tickets (Monday 1, Wednesday 2): {html}"
    );
    assert!(html.contains("width=\"50%\"") && html.contains("width=\"100%\""));
    assert!(html.contains("https://desk.test/app/reports?from=2026-11-23&amp;to=2026-11-30"));
    let thai = to("lead@alpha.test");
    assert!(
        thai.subject.starts_with("รายงานประจำสัปดาห์"),
        "{}",
        thai.subject
    );

    // Off and on again: two chains reach next Monday, one digest each.
    for weekly in [false, true] {
        app.req(
            "PUT",
            "/api/v1/reports/digests",
            &app.token,
            Some(json!({"weekly": weekly})),
        )
        .await
        .expect(200);
    }
    at(&app, "2026-12-07T07:01");
    until("the next week's digests", 10, async || {
        app.drain_jobs().await;
        (sink.messages().len() >= 4).then_some(())
    })
    .await;
    app.drain_jobs().await;
    let all = sink.messages();
    assert_eq!(all.len(), 4, "each reader once a week");
    assert!(
        all.iter()
            .filter(|(_, m, _)| m.subject.contains("2026-11-30 – 2026-12-06"))
            .count()
            == 2
    );
}

/// Two server processes on one PostgreSQL both run the `kpis` consumer (and
/// `trends`, `surveys`): each ticket's facts are written once — the report's
/// counts are exactly what was done, and a rebuild on the nodes gives the same.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_nodes_roll_up_each_ticket_once() {
    use domain::ticket::{Status, Visibility};
    use engine::tickets::{Body, NewMessage, TicketRef};
    let Some(cluster) = crate::helpers::PgCluster::start(
        "reports::two_nodes_roll_up_each_ticket_once",
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
    let (mut a, mut b) = (cluster.node(1, 1), cluster.node(2, 1));
    const TICKETS: usize = 120;
    const SOLVED: usize = 50;
    for i in 0..TICKETS {
        let t = engine
            .create_ticket(&p, crate::helpers::new_ticket(i), None)
            .await
            .unwrap();
        if i < SOLVED {
            engine
                .add_message(
                    &p,
                    TicketRef::Id(t.ticket.id),
                    NewMessage {
                        body: Body {
                            text: "Отправили повторно.".into(),
                            ..Default::default()
                        },
                        visibility: Visibility::Public,
                        as_customer: false,
                        status: Some(Status::Solved),
                        external_id: None,
                        imported: true,
                        template: None,
                    },
                    None,
                )
                .await
                .unwrap();
        }
    }
    let caught_up = async || {
        until("both nodes' consumers catch up", 90, async || {
            let all = engine.consumer_status().await.ok()?;
            ["kpis", "trends", "surveys"]
                .iter()
                .all(|n| all.iter().any(|c| c.name == *n && c.lag == 0))
                .then_some(())
        })
        .await
    };
    caught_up().await;
    let total = engine.kpi_report(&p, None, None, None).await.unwrap().total;
    assert_eq!(
        (total.created, total.solved, total.backlog),
        (TICKETS as i64, SOLVED as i64, (TICKETS - SOLVED) as i64)
    );
    assert_eq!(total.fcr, Some(1.0), "one reply each, never reopened");
    // Dropped and rolled up again while both nodes run: the same figures.
    engine.rebuild_kpis().await.unwrap();
    caught_up().await;
    let again = engine.kpi_report(&p, None, None, None).await.unwrap().total;
    assert_eq!(again, total);
    let _ = a.kill().await;
    let _ = b.kill().await;
    let logs = crate::helpers::node_logs(cluster.dir.path());
    assert!(!logs.contains("panicked"), "{logs}");
    cluster.finish().await;
}

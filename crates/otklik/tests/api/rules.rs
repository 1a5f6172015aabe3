//! Rules: triggers act on events, in order, each action on its own, never on
//! their own changes; automations act on time once per ticket until it
//! changes; a dry run lists what a rule would touch; webhooks are signed.

use crate::helpers::{TestApp, until};
use serde_json::{Value, json};

crate::on_both!(
    rules_are_typed_checked_and_kept_in_order,
    triggers_act_in_order_attributed_and_never_on_their_own_changes,
    automations_fire_once_per_ticket_until_it_changes,
    webhooks_are_signed_and_bounded,
    a_rule_tells_agents_by_email,
    the_default_rules_follow_up_remind_and_close
);

/// Waits until the triggers consumer has handled every event.
async fn triggered(app: &TestApp) {
    until("triggers caught up", 30, async || {
        let all = app.engine.consumer_status().await.ok()?;
        all.iter()
            .any(|c| c.name == "triggers" && c.lag == 0)
            .then_some(())
    })
    .await;
}

async fn events(app: &TestApp, id: &str) -> Vec<Value> {
    app.get(&format!("/api/v1/tickets/{id}/events?limit=200"))
        .await
        .expect(200)["items"]
        .as_array()
        .unwrap()
        .clone()
}

async fn rule(app: &TestApp, body: Value) -> String {
    app.post("/api/v1/rules", body).await.expect(201)["id"]
        .as_str()
        .unwrap()
        .to_owned()
}

async fn rules_are_typed_checked_and_kept_in_order(app: TestApp) {
    let ok = json!({"name": "VIP first", "kind": "trigger", "on": ["ticket.created"], "position": 5,
        "all": [{"field": "customer_tags", "op": "contains", "value": "vip"}],
        "actions": [{"type": "set_priority", "priority": "high"}]});
    let vip = rule(&app, ok.clone()).await;
    let first = rule(
        &app,
        json!({"name": "Returns", "kind": "trigger", "on": ["customer.wrote"], "position": 1,
        "any": [{"field": "message", "op": "matches", "value": "возврат|вернуть"}],
        "actions": [{"type": "add_tags", "tags": ["returns"]}]}),
    )
    .await;
    let list = app.get("/api/v1/rules").await.expect(200);
    let ids: Vec<&str> = list["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, [first.as_str(), vip.as_str()], "tried by position");
    assert_eq!(
        app.get("/api/v1/rules?kind=automation").await.expect(200)["items"],
        json!([])
    );

    // What cannot run is refused by name, and nothing is stored.
    let cases = [
        (json!({"on": []}), "on"),
        (
            json!({"all": [{"field": "status", "op": "contains", "value": "new"}]}),
            "all[0]",
        ),
        (
            json!({"any": [{"field": "message", "op": "matches", "value": "(a|b"}]}),
            "any[0]",
        ),
        (
            json!({"actions": [{"type": "reply", "body": "Привет, {{customer.frist_name}}"}]}),
            "actions[0].body",
        ),
        (
            json!({"actions": [{"type": "launch_rocket"}]}),
            "actions[0]",
        ),
        (json!({"kind": "automation", "on": []}), "all"),
    ];
    for (change, field) in cases {
        let mut body = ok.clone();
        for (k, v) in change.as_object().unwrap() {
            body[k] = v.clone();
        }
        let p = app.post("/api/v1/rules", body.clone()).await.problem(422);
        assert!(p["errors"].get(field).is_some(), "{body}: {p}");
    }
    // A team of another workspace is not found; an agent may not edit rules.
    let other = app.workspace("beta").await;
    let beta_team = app
        .req(
            "POST",
            "/api/v1/teams",
            &other,
            Some(json!({"name": "Beta L1"})),
        )
        .await
        .expect(201)["id"]
        .clone();
    let mut body = ok.clone();
    body["actions"] = json!([{"type": "set_team", "team_id": beta_team}]);
    app.post("/api/v1/rules", body).await.problem(404);
    let (_, agent) = app.user("agent@alpha.test", "agent").await;
    app.req("GET", "/api/v1/rules", &agent, None)
        .await
        .problem(403);
    // Workspaces do not see each other's rules.
    app.req("GET", &format!("/api/v1/rules/{vip}"), &other, None)
        .await
        .problem(404);
    assert_eq!(
        app.get("/api/v1/rules").await.expect(200)["items"]
            .as_array()
            .unwrap()
            .len(),
        2
    );

    // Changing part of the rule checks the whole again.
    let r = app
        .patch(
            &format!("/api/v1/rules/{vip}"),
            json!({"position": 0, "active": false}),
        )
        .await
        .expect(200);
    assert_eq!(
        (r["position"].clone(), r["active"].clone()),
        (json!(0), json!(false))
    );
    app.patch(
        &format!("/api/v1/rules/{vip}"),
        json!({"kind": "automation", "actions": [{"type": "set_tier", "tier": 2}]}),
    )
    .await
    .problem(422);
    app.req("DELETE", &format!("/api/v1/rules/{vip}"), &app.token, None)
        .await
        .expect(204);
    app.get(&format!("/api/v1/rules/{vip}")).await.problem(404);

    // The dry run lists the tickets the rule would touch now.
    app.ticket("Хочу вернуть колонку", "a@alpha.test").await;
    app.ticket("Где мой заказ", "b@alpha.test").await;
    let d = app
        .post(
            "/api/v1/rules/dry-run",
            json!({"kind": "trigger", "on": ["ticket.updated"],
                "all": [{"field": "subject", "op": "contains", "value": "вернуть"}],
                "actions": [{"type": "set_tier", "tier": 2}]}),
        )
        .await
        .expect(200);
    assert_eq!(d["items"].as_array().unwrap().len(), 1, "{d}");
    assert_eq!(d["items"][0]["subject"], "Хочу вернуть колонку");
    assert_eq!(d["scanned"], 2);
    let key = app.get("/api/v1/rules/webhook-key").await.expect(200)["key"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(key.starts_with("whk_") && key.len() == 68, "{key}");
}

async fn triggers_act_in_order_attributed_and_never_on_their_own_changes(app: TestApp) {
    let (ivan, _) = app.user("ivan@alpha.test", "agent").await;
    let returns = rule(&app, json!({"name": "Returns in Russian", "kind": "trigger", "on": ["customer.wrote"], "position": 1,
        "all": [{"field": "language", "op": "is", "value": "ru"}, {"field": "author", "op": "is", "value": "customer"}],
        "any": [{"field": "message", "op": "matches", "value": "возврат|верн.т. деньги"}],
        "actions": [
            {"type": "add_tags", "tags": ["returns"]},
            // Fails on its own: no such field is defined.
            {"type": "set_field", "key": "order_number", "value": "5531"},
            {"type": "set_priority", "priority": "high"},
            {"type": "assign", "user_id": ivan},
            {"type": "reply", "body": "Thank you, {{customer.first_name}}: ticket {{ticket.number}}.",
             "translations": {"ru": "Спасибо, {{customer.first_name}}! Обращение {{ticket.number}} у {{agent.name}}."}},
            {"type": "add_note", "body": "Возврат: проверьте заказ"},
            {"type": "notify", "user_ids": [ivan], "text": "Возврат от {{customer.name}}"}
        ]}))
    .await;
    // Later rules see what earlier ones changed, in the same pass.
    let urgent = rule(&app, json!({"name": "Returns are urgent when high", "kind": "trigger", "on": ["customer.wrote"], "position": 2,
        "all": [{"field": "tags", "op": "contains", "value": "returns"}, {"field": "priority", "op": "is", "value": "high"}],
        "actions": [{"type": "set_priority", "priority": "urgent"}]}))
    .await;
    // Would ping-pong with each other if rules fired on rules' changes.
    let ping = rule(&app, json!({"name": "ping", "kind": "trigger", "on": ["ticket.updated"], "position": 3,
        "all": [{"field": "tags", "op": "contains", "value": "ping"}],
        "actions": [{"type": "remove_tags", "tags": ["ping"]}, {"type": "add_tags", "tags": ["pong"]}]}))
    .await;
    let pong = rule(&app, json!({"name": "pong", "kind": "trigger", "on": ["ticket.updated"], "position": 4,
        "all": [{"field": "tags", "op": "contains", "value": "pong"}],
        "actions": [{"type": "remove_tags", "tags": ["pong"]}, {"type": "add_tags", "tags": ["ping"]}]}))
    .await;

    let t = app
        .post(
            "/api/v1/tickets",
            json!({"subject": "Колонка", "customer": {"name": "Анна Петрова", "email": "anna@alpha.test", "language": "ru-RU"},
                   "message": {"body": "Хочу вернуть деньги за колонку"}}),
        )
        .await
        .expect(201);
    let id = t["id"].as_str().unwrap().to_owned();
    let number = t["number"].as_i64().unwrap();
    triggered(&app).await;
    let t = app.get(&format!("/api/v1/tickets/{id}")).await.expect(200);
    assert_eq!(t["tags"], json!(["returns"]));
    assert_eq!(
        t["priority"], "urgent",
        "the second rule saw the first's change"
    );
    assert_eq!(t["assignee_id"], json!(ivan));
    assert_eq!(
        t["custom_fields"],
        json!({}),
        "the failed action changed nothing"
    );
    let msgs = app
        .get(&format!("/api/v1/tickets/{id}/messages"))
        .await
        .expect(200)["items"]
        .as_array()
        .unwrap()
        .clone();
    let reply = msgs
        .iter()
        .find(|m| m["visibility"] == "public" && m["author"]["kind"] == "system")
        .expect("the rule's reply");
    assert_eq!(
        reply["body"],
        format!("Спасибо, Анна! Обращение {number} у ivan."),
        "in the customer's language, placeholders filled"
    );
    assert!(
        msgs.iter()
            .any(|m| m["visibility"] == "internal" && m["body"] == "Возврат: проверьте заказ")
    );

    // The history says which rule did what, and what failed.
    let ev = events(&app, &id).await;
    let fired: Vec<&Value> = ev.iter().filter(|e| e["kind"] == "rule.fired").collect();
    assert_eq!(fired.len(), 2, "{fired:?}");
    assert_eq!(fired[0]["data"]["rule_id"], json!(returns));
    let failed = fired[0]["data"]["failed"].as_array().unwrap();
    assert_eq!(failed.len(), 1, "{failed:?}");
    assert!(
        failed[0]
            .as_str()
            .unwrap()
            .starts_with("actions[1] set_field:"),
        "{failed:?}"
    );
    assert_eq!(fired[1]["data"]["rule_id"], json!(urgent));
    assert!(
        ev.iter().any(|e| e["kind"] == "ticket.updated"
            && e["actor"] == json!({"kind": "rule", "id": returns}))
    );
    assert!(ev.iter().any(|e| e["kind"] == "agents.notified"
        && e["data"]["user_ids"] == json!([ivan])
        && e["data"]["text"] == "Возврат от Анна Петрова"));
    // The agent's reply is not the customer writing: no second firing.
    app.post(
        &format!("/api/v1/tickets/{id}/messages"),
        json!({"body": "Оформим возврат", "visibility": "public"}),
    )
    .await
    .expect(201);
    // Conditions read the ticket as it is when the triggers run, moments after
    // the event: let the reply's own change (new → open) be handled first, or
    // it too would see the tag below.
    triggered(&app).await;

    // Loop protection: the agent tags `ping`; the `ping` rule swaps it for
    // `pong`, and in the same pass `pong` swaps it back, and then nothing: no
    // rule fires on a rule's change.
    app.patch(
        &format!("/api/v1/tickets/{id}"),
        json!({"tags": ["returns", "ping"]}),
    )
    .await
    .expect(200);
    triggered(&app).await;
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    triggered(&app).await;
    let t = app.get(&format!("/api/v1/tickets/{id}")).await.expect(200);
    assert_eq!(t["tags"], json!(["ping", "returns"]));
    let counts: Vec<(String, i64)> = app.get("/api/v1/rules").await.expect(200)["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["name"].as_str().unwrap().to_owned(),
                r["fired"].as_i64().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        counts,
        [
            ("Returns in Russian".to_owned(), 1),
            ("Returns are urgent when high".to_owned(), 1),
            ("ping".to_owned(), 1),
            ("pong".to_owned(), 1)
        ]
    );
    let _ = (ping, pong);
}

async fn automations_fire_once_per_ticket_until_it_changes(app: TestApp) {
    let t0 = app.engine.now();
    app.clock.set(Some(t0));
    let remind = rule(&app, json!({"name": "Remind after 3 days pending", "kind": "automation",
        "all": [{"field": "status", "op": "is", "value": "pending"}, {"field": "hours_since_updated", "op": "gt", "value": 72}],
        "actions": [{"type": "reply", "body": "Is your question still open? Just reply to this message."}]}))
    .await;
    let flag = rule(&app, json!({"name": "Flag old tickets", "kind": "automation",
        "all": [{"field": "hours_since_created", "op": "gt", "value": 24}],
        "actions": [{"type": "notify", "user_ids": [app.get("/api/v1/users").await.expect(200)["items"][0]["id"]], "text": "Old: {{ticket.subject}}"}]}))
    .await;
    let a = app.ticket("Где заказ", "a@alpha.test").await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let b = app.ticket("Где заказ 2", "b@alpha.test").await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    for id in [&a, &b] {
        app.post(
            &format!("/api/v1/tickets/{id}/messages"),
            json!({"body": "Уточните номер заказа", "visibility": "public", "status": "pending"}),
        )
        .await
        .expect(201);
    }
    app.drain_jobs().await;
    let fired = async |id: &str| {
        app.get(&format!("/api/v1/rules/{id}")).await.expect(200)["fired"]
            .as_i64()
            .unwrap()
    };
    assert_eq!((fired(&remind).await, fired(&flag).await), (0, 0));

    // The customer answers on one; three days and a sweep later, only the
    // other is reminded, and each old ticket flagged once.
    app.clock.set(Some(t0.plus_millis(3_600_000)));
    app.post(
        &format!("/api/v1/tickets/{b}/messages"),
        json!({"body": "Номер 5531", "author": "customer"}),
    )
    .await
    .expect(201);
    app.clock.set(Some(t0.plus_millis(74 * 3_600_000)));
    app.drain_jobs().await;
    assert_eq!((fired(&remind).await, fired(&flag).await), (1, 2));
    let reminded = async |id: &str| {
        events(&app, id)
            .await
            .iter()
            .filter(|e| e["kind"] == "rule.fired" && e["data"]["rule_id"] == json!(remind))
            .count()
    };
    assert_eq!(reminded(&a).await, 1);
    assert_eq!(reminded(&b).await, 0);
    let ev = events(&app, &a).await;
    assert!(ev.iter().any(|e| e["kind"] == "message.added"
        && e["actor"]["kind"] == "automation"
        && e["data"]["author_kind"] == "system"));

    // Later sweeps: the reminder changed ticket a (it is no longer 72 hours
    // idle) and the flag does not fire again on unchanged tickets.
    for h in [75, 76] {
        app.clock.set(Some(t0.plus_millis(h * 3_600_000)));
        app.drain_jobs().await;
    }
    assert_eq!((fired(&remind).await, fired(&flag).await), (1, 2));
    // Its own change does not count: three more idle days, no second
    // reminder. Once the ticket moves on and is pending again, it is.
    app.clock.set(Some(t0.plus_millis(150 * 3_600_000)));
    app.drain_jobs().await;
    assert_eq!(fired(&remind).await, 1);
    app.post(
        &format!("/api/v1/tickets/{a}/messages"),
        json!({"body": "Ещё раз уточните номер", "visibility": "public", "status": "pending"}),
    )
    .await
    .expect(201);
    app.clock.set(Some(t0.plus_millis(223 * 3_600_000)));
    app.drain_jobs().await;
    assert_eq!(fired(&remind).await, 2);
    assert_eq!(reminded(&a).await, 2);
    // An inactive automation does nothing.
    app.patch(&format!("/api/v1/rules/{remind}"), json!({"active": false}))
        .await
        .expect(200);
    app.post(
        &format!("/api/v1/tickets/{b}/messages"),
        json!({"body": "Проверьте, пожалуйста", "visibility": "public", "status": "pending"}),
    )
    .await
    .expect(201);
    app.clock.set(Some(t0.plus_millis(400 * 3_600_000)));
    app.drain_jobs().await;
    assert_eq!(fired(&remind).await, 2);
    app.clock.set(None);
}

async fn webhooks_are_signed_and_bounded(app: TestApp) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    // A receiver that answers the first request 200 and never answers the
    // second (a hung host costs the sender its timeout, not a hang).
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let (tx, mut rx) = tokio::sync::mpsc::channel::<String>(4);
    tokio::spawn(async move {
        let mut n = 0;
        while let Ok((mut s, _)) = listener.accept().await {
            n += 1;
            let mut buf = vec![0u8; 64 * 1024];
            let mut got = Vec::new();
            // Headers and a JSON body small enough for one read loop.
            for _ in 0..50 {
                let k = s.read(&mut buf).await.unwrap_or(0);
                got.extend_from_slice(&buf[..k]);
                let text = String::from_utf8_lossy(&got).to_string();
                if let Some(h) = text.find("\r\n\r\n") {
                    let len: usize = text[..h]
                        .lines()
                        .find_map(|l| {
                            l.to_lowercase()
                                .strip_prefix("content-length: ")
                                .map(|v| v.trim().parse().unwrap())
                        })
                        .unwrap_or(0);
                    if got.len() >= h + 4 + len {
                        break;
                    }
                }
                if k == 0 {
                    break;
                }
            }
            let _ = tx.send(String::from_utf8_lossy(&got).to_string()).await;
            if n == 1 {
                let _ = s
                    .write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\nconnection: close\r\n\r\n")
                    .await;
            } else {
                tokio::time::sleep(std::time::Duration::from_secs(60)).await;
            }
        }
    });
    let url = format!("http://127.0.0.1:{port}/hooks/otklik");
    let hook = rule(
        &app,
        json!({"name": "Tell the shop", "kind": "trigger", "on": ["ticket.created"],
        "actions": [{"type": "webhook", "url": url}]}),
    )
    .await;
    let t = app.ticket("Заказ 5531", "a@alpha.test").await;
    triggered(&app).await;
    app.drain_jobs().await;
    let got = tokio::time::timeout(std::time::Duration::from_secs(10), rx.recv())
        .await
        .expect("the webhook arrived")
        .unwrap();
    let (head, body) = got.split_once("\r\n\r\n").unwrap();
    let header = |name: &str| {
        head.lines()
            .find_map(|l| {
                let (k, v) = l.split_once(": ")?;
                k.eq_ignore_ascii_case(name).then(|| v.trim().to_owned())
            })
            .unwrap_or_default()
    };
    assert!(head.starts_with("POST /hooks/otklik "), "{head}");
    let key = app.get("/api/v1/rules/webhook-key").await.expect(200)["key"]
        .as_str()
        .unwrap()
        .to_owned();
    let ts: i64 = header("x-otklik-timestamp").parse().unwrap();
    assert_eq!(
        header("x-otklik-signature"),
        engine::webhook::signature(&key, ts, body.as_bytes())
    );
    assert_eq!(header("x-otklik-rule"), hook);
    let sent: Value = serde_json::from_str(body).unwrap();
    assert_eq!(sent["ticket"]["id"], t["id"]);
    assert_eq!(sent["ticket"]["subject"], "Заказ 5531");
    assert_eq!(sent["rule"]["name"], "Tell the shop");

    // The second ticket's webhook meets a host that never answers: the job
    // gives up the attempt after the timeout and is retried later.
    app.ticket("Заказ 5532", "b@alpha.test").await;
    triggered(&app).await;
    let started = std::time::Instant::now();
    app.drain_jobs().await;
    let took = started.elapsed();
    assert!(
        took >= engine::webhook::TIMEOUT && took < engine::webhook::TIMEOUT * 3,
        "{took:?}"
    );
    let mut c = app.store.read().await.unwrap();
    let waiting = store::jobs::list(&mut c.conn(), "queued", 100)
        .await
        .unwrap();
    let retry = waiting
        .iter()
        .find(|j| j.kind == "webhook")
        .expect("the webhook waits for its retry");
    assert_eq!(retry.attempts, 1);
    assert!(
        retry
            .last_error
            .as_deref()
            .unwrap_or_default()
            .contains("no answer within 10 s"),
        "{:?}",
        retry.last_error
    );
}

async fn the_default_rules_follow_up_remind_and_close(app: TestApp) {
    let p = app.engine.cli_principal("alpha").await.unwrap();
    app.engine.apply_defaults(&p).await.unwrap();
    let t0 = app.engine.now();
    app.clock.set(Some(t0));
    let t = app
        .post(
            "/api/v1/tickets",
            json!({"subject": "Не работает доставка", "customer": {"name": "Анна Петрова", "email": "anna@alpha.test", "language": "ru"},
                   "message": {"body": "Заказ 5531 не пришёл"}}),
        )
        .await
        .expect(201);
    let id = t["id"].as_str().unwrap().to_owned();
    let number = t["number"].as_i64().unwrap();
    app.post(
        &format!("/api/v1/tickets/{id}/messages"),
        json!({"body": "Отправили заново", "visibility": "public", "status": "solved"}),
    )
    .await
    .expect(201);
    triggered(&app).await;
    let system_replies = async || -> Vec<String> {
        app.get(&format!("/api/v1/tickets/{id}/messages"))
            .await
            .expect(200)["items"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|m| m["author"]["kind"] == "system" && m["visibility"] == "public")
            .map(|m| m["body"].as_str().unwrap().to_owned())
            .collect()
    };
    assert_eq!(
        system_replies().await,
        [format!(
            "Здравствуйте, Анна! Надеемся, ваш вопрос №{number} решён. Если нет — просто ответьте на это сообщение, и мы продолжим."
        )]
    );
    // Four days on, the solved ticket is closed by the automation.
    app.clock.set(Some(t0.plus_millis(95 * 3_600_000)));
    app.drain_jobs().await;
    assert_eq!(
        app.get(&format!("/api/v1/tickets/{id}")).await.expect(200)["status"],
        "solved"
    );
    app.clock.set(Some(t0.plus_millis(97 * 3_600_000)));
    app.drain_jobs().await;
    let t = app.get(&format!("/api/v1/tickets/{id}")).await.expect(200);
    assert_eq!(t["status"], "closed");
    assert!(
        events(&app, &id)
            .await
            .iter()
            .any(|e| e["kind"] == "ticket.updated"
                && e["actor"]["kind"] == "automation"
                && e["data"]["changes"][0]["to"] == "closed")
    );
    app.clock.set(None);
}

async fn a_rule_tells_agents_by_email(app: TestApp) {
    let sink = crate::email::Sink::start().await;
    crate::email::quiet_mailbox(&app, "support@alpha.test", &sink).await;
    let (nina, _) = app.user("nina@alpha.test", "agent").await;
    let (gone, _) = app.user("gone@alpha.test", "agent").await;
    rule(&app, json!({"name": "VIP to Nina", "kind": "trigger", "on": ["ticket.created"],
        "all": [{"field": "subject", "op": "contains", "value": "VIP"}],
        "actions": [{"type": "notify", "user_ids": [nina, gone], "email": true, "text": "Клиент VIP: {{customer.name}}"}]}))
    .await;
    // An agent who left by the time the rule fires is not written to.
    app.patch(&format!("/api/v1/users/{gone}"), json!({"active": false}))
        .await
        .expect(200);
    let t = app.ticket("VIP: заказ 5531", "anna@alpha.test").await;
    triggered(&app).await;
    app.drain_jobs().await;
    let got = sink.messages();
    assert_eq!(got.len(), 1, "one email, to the active agent");
    let (env, mail, raw) = &got[0];
    assert_eq!(env.rcpts, ["nina@alpha.test"]);
    assert_eq!(mail.subject, format!("[#{}] VIP: заказ 5531", t["number"]));
    assert!(mail.text.contains("Клиент VIP: Анна"), "{:?}", mail.text);
    let raw = String::from_utf8_lossy(raw);
    assert!(
        raw.contains("Auto-Submitted: auto-generated")
            || raw.contains("Auto-Submitted: auto-replied"),
        "{raw}"
    );
}

/// Two server processes on one PostgreSQL database run the triggers (one node
/// holds the consumer at a time) and the automation sweep (one job chain):
/// every ticket gets each rule's firing once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_nodes_fire_each_rule_once_per_ticket() {
    use domain::event::EventData;
    // Tickets are written two hours in the past, so the automation's
    // "created more than an hour ago" holds for them on the nodes' clock.
    let Some(cluster) = crate::helpers::PgCluster::start(
        "rules::two_nodes_fire_each_rule_once_per_ticket",
        std::sync::Arc::new(crate::helpers::Behind(2 * 3_600_000)),
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
        all.iter().any(|c| c.name == "triggers").then_some(())
    })
    .await;
    let spec =
        |v: serde_json::Value| -> domain::rules::RuleSpec { serde_json::from_value(v).unwrap() };
    let input = |name: &str, s| engine::rules::RuleInput {
        name: Some(name.into()),
        position: None,
        active: Some(true),
        spec: Some(s),
    };
    let trigger = engine
        .create_rule(
            &p,
            input(
                "triage",
                spec(json!({"kind": "trigger", "on": ["ticket.created"],
                    "actions": [{"type": "add_tags", "tags": ["triaged"]}]})),
            ),
        )
        .await
        .unwrap();
    const TICKETS: usize = 200;
    for i in 0..TICKETS {
        engine
            .create_ticket(&p, crate::helpers::new_ticket(i), None)
            .await
            .unwrap();
    }
    let automation = engine
        .create_rule(
            &p,
            input(
                "old",
                spec(json!({"kind": "automation",
                    "all": [{"field": "hours_since_created", "op": "gt", "value": 1}],
                    "actions": [{"type": "add_tags", "tags": ["old"]}]})),
            ),
        )
        .await
        .unwrap();
    let read = async || crate::helpers::all_events(&engine, &p).await;
    let firings = |events: &[engine::model::EventRecord]| {
        let mut per = std::collections::HashMap::<_, usize>::new();
        for e in events {
            if let EventData::RuleFired {
                ticket_id, rule_id, ..
            } = &e.data
            {
                *per.entry((*rule_id, *ticket_id)).or_default() += 1;
            }
        }
        per
    };
    until("every ticket fired on by both rules", 90, async || {
        (firings(&read().await).len() >= 2 * TICKETS).then_some(())
    })
    .await;
    // A second firing would come within a pass or two.
    tokio::time::sleep(std::time::Duration::from_secs(2)).await;
    let _ = a.kill().await;
    let _ = b.kill().await;
    let per = firings(&read().await);
    assert_eq!(per.len(), 2 * TICKETS);
    assert!(
        per.values().all(|&n| n == 1),
        "a rule fired twice on a ticket"
    );
    for rule in [trigger.id, automation.id] {
        assert_eq!(per.keys().filter(|(r, _)| *r == rule).count(), TICKETS);
    }
    let logs = crate::helpers::node_logs(cluster.dir.path());
    assert!(!logs.contains("panicked"), "{logs}");
    cluster.finish().await;
}

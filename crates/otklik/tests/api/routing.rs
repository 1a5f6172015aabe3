//! Routing: teams give tickets to online agents by their mode, never above
//! capacity and never twice; queues drain as room frees; an agent who goes
//! offline hands their tickets back after the team's grace.

use crate::helpers::{TestApp, until};
use serde_json::{Value, json};
use std::collections::HashMap;

crate::on_both!(
    round_robin_is_fair_and_capacity_holds_under_concurrent_arrivals,
    queues_drain_most_urgent_first_and_offline_agents_hand_tickets_back
);

/// Waits until the routing consumer has handled every event.
pub async fn routed(app: &TestApp) {
    // A chat is the answer bot's first: people's routing waits for its turn.
    app.drain_jobs().await;
    until("routing caught up", 30, async || {
        let all = app.engine.consumer_status().await.ok()?;
        all.iter()
            .any(|c| c.name == "routing" && c.lag == 0)
            .then_some(())
    })
    .await;
}

async fn team(app: &TestApp, name: &str, routing: &str) -> String {
    app.post(
        "/api/v1/teams",
        json!({"name": name, "routing": routing, "reroute_after_s": 0}),
    )
    .await
    .expect(201)["id"]
        .as_str()
        .unwrap()
        .to_owned()
}

/// An online agent in `team` holding at most `email` email tickets.
async fn agent(app: &TestApp, email: &str, team: &str, cap: i64) -> String {
    let u = app
        .post(
            "/api/v1/users",
            json!({"email": email, "role": "agent", "team_ids": [team], "languages": ["ru"],
                   "channel_capacity": {"email": cap}}),
        )
        .await
        .expect(201);
    let id = u["id"].as_str().unwrap().to_owned();
    app.patch(
        &format!("/api/v1/users/{id}"),
        json!({"presence": "online"}),
    )
    .await
    .expect(200);
    id
}

async fn ticket(app: &TestApp, team: &str, n: usize, priority: &str) -> String {
    app.post(
        "/api/v1/tickets",
        json!({"subject": format!("Заказ {n}"), "channel": "email", "priority": priority, "team_id": team,
               "customer": {"email": format!("c{n}@example.com")}, "message": {"body": "Где заказ?"}}),
    )
    .await
    .expect(201)["id"]
        .as_str()
        .unwrap()
        .to_owned()
}

/// Each open ticket's assignee.
async fn holders(app: &TestApp, team: &str) -> HashMap<String, Option<String>> {
    let page = app
        .get(&format!(
            "/api/v1/tickets?team_id={team}&status=new,open&limit=200"
        ))
        .await
        .expect(200);
    page["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| {
            (
                t["id"].as_str().unwrap().to_owned(),
                t["assignee_id"].as_str().map(str::to_owned),
            )
        })
        .collect()
}

fn loads(h: &HashMap<String, Option<String>>) -> HashMap<String, usize> {
    let mut out = HashMap::new();
    for a in h.values().flatten() {
        *out.entry(a.clone()).or_insert(0) += 1;
    }
    out
}

/// How many times routing (the system) assigned each ticket.
async fn assignments(app: &TestApp, id: &str) -> usize {
    app.get(&format!("/api/v1/tickets/{id}/events?limit=200"))
        .await
        .expect(200)["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| {
            e["kind"] == "ticket.updated"
                && e["actor"]["kind"] == "system"
                && e["data"]["changes"].as_array().is_some_and(|c| {
                    c.iter()
                        .any(|c| c["field"] == "assignee_id" && !c["to"].is_null())
                })
        })
        .count()
}

async fn round_robin_is_fair_and_capacity_holds_under_concurrent_arrivals(app: TestApp) {
    let l1 = team(&app, "L1", "round_robin").await;
    let mut agents = Vec::new();
    for i in 0..4 {
        agents.push(agent(&app, &format!("a{i}@alpha.test"), &l1, 5).await);
    }
    // An agent who is away gets nothing.
    let away = agent(&app, "away@alpha.test", &l1, 5).await;
    app.patch(
        &format!("/api/v1/users/{away}"),
        json!({"presence": "away"}),
    )
    .await
    .expect(200);
    // 12 tickets at once: round robin gives each online agent 3.
    let posts: Vec<_> = (0..12).map(|n| ticket(&app, &l1, n, "normal")).collect();
    let ids = futures::future::join_all(posts).await;
    routed(&app).await;
    let h = holders(&app, &l1).await;
    let l = loads(&h);
    assert_eq!(l.len(), 4, "{l:?}");
    assert!(l.values().all(|&n| n == 3), "fair shares: {l:?}");
    assert!(!l.contains_key(&away));
    // 12 more at once: capacity (5 each) holds; the rest waits.
    let posts: Vec<_> = (12..24).map(|n| ticket(&app, &l1, n, "normal")).collect();
    let more = futures::future::join_all(posts).await;
    routed(&app).await;
    let h = holders(&app, &l1).await;
    let l = loads(&h);
    assert!(l.values().all(|&n| n == 5), "full, never above: {l:?}");
    assert_eq!(h.values().filter(|a| a.is_none()).count(), 4, "four wait");
    for id in ids.iter().chain(&more) {
        assert!(
            assignments(&app, id).await <= 1,
            "ticket {id} assigned twice"
        );
    }
}

async fn queues_drain_most_urgent_first_and_offline_agents_hand_tickets_back(app: TestApp) {
    let l1 = team(&app, "L1", "least_loaded").await;
    let anna = agent(&app, "anna@alpha.test", &l1, 2).await;
    let first = ticket(&app, &l1, 1, "normal").await;
    ticket(&app, &l1, 2, "normal").await;
    routed(&app).await;
    assert_eq!(loads(&holders(&app, &l1).await)[&anna], 2);
    // Two wait: the normal one came first, the urgent one second.
    let normal = ticket(&app, &l1, 3, "normal").await;
    let urgent = ticket(&app, &l1, 4, "urgent").await;
    routed(&app).await;
    let t = |id: &str| format!("/api/v1/tickets/{id}");
    assert_eq!(
        app.get(&t(&urgent)).await.expect(200)["assignee_id"],
        Value::Null
    );
    // Room frees: the urgent one goes first.
    app.patch(&t(&first), json!({"status": "solved"}))
        .await
        .expect(200);
    routed(&app).await;
    assert_eq!(
        app.get(&t(&urgent)).await.expect(200)["assignee_id"],
        anna.as_str()
    );
    assert_eq!(
        app.get(&t(&normal)).await.expect(200)["assignee_id"],
        Value::Null
    );
    // A second agent comes online: the queue drains to them.
    let boris = agent(&app, "boris@alpha.test", &l1, 2).await;
    routed(&app).await;
    assert_eq!(
        app.get(&t(&normal)).await.expect(200)["assignee_id"],
        boris.as_str()
    );
    // Anna goes offline: with no grace, her tickets go back to the queue and
    // on to whoever has room (Boris has one place).
    app.patch(
        &format!("/api/v1/users/{anna}"),
        json!({"presence": "offline"}),
    )
    .await
    .expect(200);
    routed(&app).await;
    app.drain_jobs().await;
    routed(&app).await;
    let l = loads(&holders(&app, &l1).await);
    assert_eq!(l.get(&anna), None, "{l:?}");
    assert_eq!(l[&boris], 2);
    // A manual team routes nothing.
    let manual = team(&app, "Returns", "manual").await;
    agent(&app, "vera@alpha.test", &manual, 5).await;
    let m = ticket(&app, &manual, 9, "normal").await;
    routed(&app).await;
    assert_eq!(
        app.get(&t(&m)).await.expect(200)["assignee_id"],
        Value::Null
    );
}

/// Two server processes on one PostgreSQL database route a burst together:
/// every agent is filled to capacity and no further, no ticket is given twice.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_nodes_route_a_burst_without_doubles_or_overload() {
    let Some(cluster) = crate::helpers::PgCluster::start(
        "routing::two_nodes_route_a_burst_without_doubles_or_overload",
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
    let (mut a, mut b) = (cluster.node(1, 0), cluster.node(2, 0));
    until("the nodes follow the log", 60, async || {
        let all = engine.consumer_status().await.ok()?;
        all.iter().any(|c| c.name == "routing").then_some(())
    })
    .await;
    let team = engine
        .create_team_with(
            &p,
            engine::people::TeamInput {
                name: Some("L1".into()),
                routing: Some(domain::routing::RoutingMode::LeastLoaded),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    const AGENTS: usize = 10;
    const CAPACITY: i64 = 20;
    let mut agents = Vec::new();
    for i in 0..AGENTS {
        let u = engine
            .add_user(
                &p,
                engine::people::NewUser {
                    email: format!("a{i}@pair.test"),
                    role: Some(domain::user::Role::Agent),
                    team_ids: vec![team.id],
                    channel_capacity: [("api".to_string(), CAPACITY)].into_iter().collect(),
                    ..Default::default()
                },
            )
            .await
            .unwrap();
        engine
            .update_user(
                &p,
                u.user.id,
                engine::people::UserPatch {
                    presence: Some("online".into()),
                    ..Default::default()
                },
            )
            .await
            .unwrap();
        agents.push(u.user.id);
    }
    // 300 tickets from four writers at once, while both nodes route.
    let tasks: Vec<_> = (0..4)
        .map(|w| {
            let (engine, p, team) = (engine.clone(), p.clone(), team.id);
            tokio::spawn(async move {
                for i in 0..75 {
                    let mut t = crate::helpers::new_ticket(w * 1000 + i);
                    t.team_id = Some(team);
                    engine.create_ticket(&p, t, None).await.unwrap();
                }
            })
        })
        .collect();
    for t in tasks {
        t.await.unwrap();
    }
    // Generous: under a full test run on two cores the two debug-built nodes
    // share the machine with everything else. What is checked is the outcome.
    let t0 = std::time::Instant::now();
    loop {
        let all = engine.consumer_status().await.unwrap();
        if all.iter().any(|c| c.name == "routing" && c.lag == 0) {
            break;
        }
        assert!(
            t0.elapsed() < std::time::Duration::from_secs(180),
            "routing did not catch up: {all:?}\n{}",
            crate::helpers::node_logs(cluster.dir.path())
        );
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    let _ = a.kill().await;
    let _ = b.kill().await;
    let filter = engine::model::Filter {
        team: Some(Some(team.id)),
        ..Default::default()
    };
    let (mut all, total) = engine.ticket_page(&p, &filter, 0, 200).await.unwrap();
    all.extend(engine.ticket_page(&p, &filter, 200, 200).await.unwrap().0);
    assert_eq!((all.len(), total), (300, 300));
    let mut load: HashMap<domain::ids::UserId, i64> = HashMap::new();
    for t in &all {
        if let Some(u) = t.assignee_id {
            *load.entry(u).or_default() += 1;
        }
    }
    assert_eq!(load.len(), AGENTS);
    assert!(
        load.values().all(|&n| n == CAPACITY),
        "each full, none above: {load:?}"
    );
    // Every assignment in the log, per ticket: once at most.
    let mut given: HashMap<domain::ids::TicketId, usize> = HashMap::new();
    let mut after = engine::model::Cursor::default();
    loop {
        let page = engine.event_stream(&p, after, 1000).await.unwrap();
        let Some(last) = page.last() else { break };
        after = engine::model::Cursor::of(last);
        for e in &page {
            if let domain::event::EventData::TicketUpdated { ticket_id, changes } = &e.data
                && changes
                    .iter()
                    .any(|c| c.field == "assignee_id" && !c.to.is_null())
            {
                *given.entry(*ticket_id).or_default() += 1;
            }
        }
    }
    assert_eq!(given.len(), AGENTS * CAPACITY as usize);
    assert!(given.values().all(|&n| n == 1), "a ticket given twice");
    cluster.finish().await;
}

crate::on_both!(
    a_russian_chat_reaches_a_russian_speaking_agent_and_is_escalated_with_its_clock_and_history
);

/// From the issue: a Russian-language chat reaches an online Russian-speaking
/// tier-1 agent with free capacity, is escalated to tier 2, and its SLA clock
/// and history are right.
async fn a_russian_chat_reaches_a_russian_speaking_agent_and_is_escalated_with_its_clock_and_history(
    app: TestApp,
) {
    use crate::chat::{SHOP, from_site, visitor};
    const MIN: i64 = 60_000;
    let t0 = domain::Timestamp::parse_rfc3339("2026-11-30T09:00:00Z").unwrap();
    app.clock.set(Some(t0));
    let l2 = app
        .post(
            "/api/v1/teams",
            json!({"name": "L2", "tier": 2, "routing": "skills"}),
        )
        .await
        .expect(201)["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let l1 = app
        .post(
            "/api/v1/teams",
            json!({"name": "L1", "tier": 1, "routing": "skills", "escalate_to": l2}),
        )
        .await
        .expect(201)["id"]
        .as_str()
        .unwrap()
        .to_owned();
    // (email, team, tier, languages, chat capacity)
    let people = [
        ("john@alpha.test", &l1, 1, vec!["en"], 2),
        ("petr@alpha.test", &l1, 1, vec!["ru"], 0),
        ("ivan@alpha.test", &l1, 1, vec!["ru", "en"], 2),
        ("olga@alpha.test", &l2, 2, vec!["ru"], 2),
    ];
    let mut ids = HashMap::new();
    let mut tokens = HashMap::new();
    for (email, team, tier, langs, cap) in people {
        let (id, token) = app.user(email, "agent").await;
        app.patch(
            &format!("/api/v1/users/{id}"),
            json!({"team_ids": [team], "tier": tier, "languages": langs,
                   "channel_capacity": {"chat": cap}, "presence": "online"}),
        )
        .await
        .expect(200);
        ids.insert(email, id);
        tokens.insert(email, token);
    }
    app.post(
        "/api/v1/sla-policies",
        json!({"name": "Chat", "conditions": {"channel": ["chat"]},
               "targets": {"first_reply_minutes": 5, "next_reply_minutes": 10, "resolution_minutes": 60}}),
    )
    .await
    .expect(201);
    let key = app
        .post(
            "/api/v1/channels/chat",
            json!({"name": "Site chat", "allowed_origins": [SHOP], "team_id": l1}),
        )
        .await
        .expect(201)["widget_key"]
        .as_str()
        .unwrap()
        .to_owned();
    let anna = visitor(&app, &key, json!({"name": "Анна", "lang": "ru"})).await;
    let sent = from_site(
        &app,
        "POST",
        &format!("/widget/v1/{key}/messages"),
        SHOP,
        Some(&anna),
        Some(json!({"client_id": "c-1", "text": "Здравствуйте! Не проходит оплата картой."})),
    )
    .await
    .expect(201);
    let id = sent["ticket_id"].as_str().unwrap().to_owned();
    routed(&app).await;
    let t = until("the ticket's clock", 30, async || {
        let t = app.get(&format!("/api/v1/tickets/{id}")).await.expect(200);
        (!t["sla"].is_null()).then_some(t)
    })
    .await;
    assert_eq!(t["team_id"], l1.as_str());
    assert_eq!(
        t["assignee_id"],
        ids["ivan@alpha.test"].as_str(),
        "the Russian speaker with room, not the English speaker or the full one"
    );
    assert_eq!(t["sla"]["first_reply"]["state"], "running");
    let due = |v: &Value| {
        domain::Timestamp::parse_rfc3339(v.as_str().unwrap())
            .unwrap()
            .millis()
    };
    assert_eq!(
        due(&t["sla"]["first_reply"]["due_at"]),
        t0.millis() + 5 * MIN
    );

    // Ivan answers in time, then escalates.
    let ivan = &tokens["ivan@alpha.test"];
    app.clock.set(Some(t0.plus_millis(2 * MIN)));
    app.req(
        "POST",
        &format!("/api/v1/tickets/{id}/messages"),
        ivan,
        Some(json!({"body": "Проверяю платёж."})),
    )
    .await
    .expect(201);
    app.clock.set(Some(t0.plus_millis(3 * MIN)));
    let escalated = app
        .req(
            "POST",
            &format!("/api/v1/tickets/{id}/escalate"),
            ivan,
            Some(json!({"reason": "Нужен специалист по платежам"})),
        )
        .await
        .expect(200);
    assert_eq!(escalated["tier"], 2);
    assert_eq!(escalated["team_id"], l2.as_str());
    routed(&app).await;
    let t = until("the second tier's agent", 30, async || {
        let t = app.get(&format!("/api/v1/tickets/{id}")).await.expect(200);
        (t["assignee_id"] == ids["olga@alpha.test"].as_str()
            && t["sla"]["first_reply"]["state"] == "met")
            .then_some(t)
    })
    .await;
    assert_eq!(
        due(&t["sla"]["first_reply"]["stopped_at"]),
        t0.millis() + 2 * MIN
    );
    assert_eq!(t["sla"]["resolution"]["state"], "running");
    assert_eq!(
        due(&t["sla"]["resolution"]["due_at"]),
        t0.millis() + 60 * MIN
    );
    // Escalating to where it already is changes nothing.
    app.req(
        "POST",
        &format!("/api/v1/tickets/{id}/escalate"),
        ivan,
        Some(json!({"reason": "ещё раз", "team_id": l2})),
    )
    .await
    .problem(409);

    // The history tells it in order, each change by whom it was made.
    let events = app
        .get(&format!("/api/v1/tickets/{id}/events?limit=200"))
        .await
        .expect(200)["items"]
        .as_array()
        .unwrap()
        .clone();
    let story: Vec<(String, String)> = events
        .iter()
        .filter(|e| e["kind"] != "message.delivery_changed")
        .map(|e| {
            (
                e["kind"].as_str().unwrap().to_owned(),
                e["actor"]["kind"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    let expected = [
        ("ticket.created", "customer"),
        ("message.added", "customer"),
        // Triage reads it before the bot decides (here: nothing to answer
        // from, so it quietly lets routing have the chat).
        ("message.triaged", "system"),
        ("ticket.updated", "system"),
        ("ticket.updated", "user"),
        ("message.added", "user"),
        ("ticket.updated", "user"),
        ("ticket.escalated", "user"),
        ("message.added", "user"),
        ("ticket.updated", "system"),
    ];
    let expected: Vec<(String, String)> = expected
        .iter()
        .map(|(a, b)| (a.to_string(), b.to_string()))
        .collect();
    assert_eq!(story, expected, "{events:#?}");
    let escalation = events
        .iter()
        .find(|e| e["kind"] == "ticket.escalated")
        .unwrap();
    assert_eq!(escalation["data"]["from_tier"], 1);
    assert_eq!(escalation["data"]["to_tier"], 2);
    assert_eq!(escalation["data"]["reason"], "Нужен специалист по платежам");
    let note = app
        .get(&format!("/api/v1/tickets/{id}/messages"))
        .await
        .expect(200)["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["visibility"] == "internal")
        .cloned()
        .unwrap();
    assert!(
        note["body"]
            .as_str()
            .unwrap()
            .contains("Нужен специалист по платежам"),
        "{note}"
    );
    // At the top tier with no escalation team, there is nowhere further.
    app.patch(&format!("/api/v1/tickets/{id}"), json!({"tier": 3}))
        .await
        .expect(200);
    app.req(
        "POST",
        &format!("/api/v1/tickets/{id}/escalate"),
        ivan,
        Some(json!({"reason": "ещё выше"})),
    )
    .await
    .problem(409);
}

crate::on_both!(swarming_invites_experts_and_offers_solutions_on_similar_tickets);

async fn mark(app: &TestApp, ticket: &str, m: &str, on: bool) -> crate::helpers::Res {
    let p = format!("/api/v1/tickets/{ticket}/messages/{m}/solution");
    app.req("PUT", &p, &app.token, Some(json!({"solution": on})))
        .await
}

async fn swarming_invites_experts_and_offers_solutions_on_similar_tickets(app: TestApp) {
    let (expert, expert_token) = app.user("expert@alpha.test", "agent").await;
    let a = app
        .post("/api/v1/tickets", json!({"subject": "Не проходит оплата картой Visa",
            "customer": {"email": "anna@example.com"}, "message": {"body": "Банк отклоняет платёж картой"}}))
        .await
        .expect(201);
    let (aid, anum) = (
        a["id"].as_str().unwrap().to_owned(),
        a["number"].as_i64().unwrap(),
    );
    let customer_msg = a["message"]["id"].as_str().unwrap().to_owned();
    // Invite the expert (twice: the same), who then writes a note.
    let path = format!("/api/v1/tickets/{aid}/collaborators");
    for _ in 0..2 {
        let r = app.post(&path, json!({"user_id": expert})).await;
        assert_eq!(r.status.as_u16(), 204, "{}", r.body);
    }
    assert_eq!(
        app.get(&path).await.expect(200)["user_ids"],
        json!([expert])
    );
    app.post(&path, json!({"user_id": uuid::Uuid::now_v7()}))
        .await
        .problem(404);
    let note = app
        .req("POST", &format!("/api/v1/tickets/{aid}/messages"), &expert_token,
            Some(json!({"body": "Решение: отключить и снова включить 3-D Secure в приложении банка", "visibility": "internal"})))
        .await
        .expect(201);
    let note_id = note["id"].as_str().unwrap().to_owned();
    assert_eq!(mark(&app, &aid, &note_id, true).await.status.as_u16(), 204);
    mark(&app, &aid, &customer_msg, true).await.problem(409);
    let events = app
        .get(&format!("/api/v1/tickets/{aid}/events?limit=200"))
        .await
        .expect(200)["items"]
        .clone();
    let kinds: Vec<&str> = events
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|e| e["kind"].as_str())
        .collect();
    assert_eq!(
        kinds
            .iter()
            .filter(|k| **k == "ticket.collaborator_added")
            .count(),
        1
    );
    assert_eq!(
        kinds
            .iter()
            .filter(|k| **k == "message.solution_marked")
            .count(),
        1
    );
    // A similar ticket is offered the solution.
    let b = app
        .post("/api/v1/tickets", json!({"subject": "Оплата картой не проходит",
            "customer": {"email": "boris@example.com"}, "message": {"body": "Пишет, что банк отклонил платёж"}}))
        .await
        .expect(201);
    let bid = b["id"].as_str().unwrap().to_owned();
    let found = until(
        "the solution offered on the similar ticket",
        30,
        async || {
            let s = app
                .get(&format!("/api/v1/tickets/{bid}/solutions"))
                .await
                .expect(200);
            let items = s["items"].as_array()?.clone();
            (!items.is_empty()).then_some(items)
        },
    )
    .await;
    assert_eq!(found[0]["number"], anum);
    assert!(found[0]["text"].as_str().unwrap().contains("3-D Secure"));
    // A ticket is never offered its own solution.
    let own = app
        .get(&format!("/api/v1/tickets/{aid}/solutions"))
        .await
        .expect(200);
    assert_eq!(own["items"], json!([]));
    // Unmarked, it is offered no more; the expert leaves.
    assert_eq!(mark(&app, &aid, &note_id, false).await.status.as_u16(), 204);
    assert_eq!(
        app.get(&format!("/api/v1/tickets/{bid}/solutions"))
            .await
            .expect(200)["items"],
        json!([])
    );
    let gone = format!("{path}/{expert}");
    assert_eq!(
        app.req("DELETE", &gone, &app.token, None)
            .await
            .status
            .as_u16(),
        204
    );
    app.req("DELETE", &gone, &app.token, None)
        .await
        .problem(404);
    assert_eq!(app.get(&path).await.expect(200)["user_ids"], json!([]));
}

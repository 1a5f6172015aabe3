//! Quality review: scorecards (admins), random samples of each agent's
//! solved conversations into a review queue, reviews on the ticket page and
//! by API (one per reviewer and scorecard, a second replacing the first),
//! per-agent scores beside their KPIs, and who may do what.

use crate::helpers::{TestApp, until};
use serde_json::{Value, json};
use std::collections::BTreeSet;

crate::on_both!(scorecards_samples_and_reviews_make_agents_quality_scores);

async fn ticket(app: &TestApp, subject: &str, assignee: Option<&str>, solve: bool) -> Value {
    let t = app
        .post(
            "/api/v1/tickets",
            json!({"subject": subject, "customer": {"name": "Клиент", "email": "c@example.com"},
                   "message": {"body": "Помогите, пожалуйста."}}),
        )
        .await
        .expect(201);
    let id = t["id"].as_str().unwrap().to_owned();
    if let Some(a) = assignee {
        app.patch(&format!("/api/v1/tickets/{id}"), json!({"assignee_id": a}))
            .await
            .expect(200);
    }
    if solve {
        app.patch(
            &format!("/api/v1/tickets/{id}"),
            json!({"status": "solved"}),
        )
        .await
        .expect(200);
    }
    t
}

async fn queue(app: &TestApp, token: &str) -> Vec<Value> {
    app.req("GET", "/api/v1/quality/samples", token, None)
        .await
        .expect(200)["items"]
        .as_array()
        .unwrap()
        .clone()
}

async fn scorecards_samples_and_reviews_make_agents_quality_scores(app: TestApp) {
    let (ivan, ivan_token) = app.user("ivan@alpha.test", "agent").await;
    let (olga, _) = app.user("olga@alpha.test", "agent").await;
    let (lead, lead_token) = app.user("lead@alpha.test", "supervisor").await;

    // Scorecards: admins keep them; what a schema cannot say is 409.
    let card = json!({"name": "Чат", "criteria": [
        {"key": "greeting", "label": "Поздоровался по имени", "weight": 1, "scale": 2},
        {"key": "solution", "label": "Решил вопрос клиента", "weight": 3, "scale": 5}]});
    app.req(
        "POST",
        "/api/v1/quality/scorecards",
        &lead_token,
        Some(card.clone()),
    )
    .await
    .expect(403);
    let mut twice = card.clone();
    twice["criteria"][1]["key"] = json!("greeting");
    app.post("/api/v1/quality/scorecards", twice)
        .await
        .problem(409);
    let mut heavy = card.clone();
    heavy["criteria"][0]["weight"] = json!(11);
    app.post("/api/v1/quality/scorecards", heavy)
        .await
        .problem(422);
    let sc = app
        .post("/api/v1/quality/scorecards", card.clone())
        .await
        .expect(201);
    let sc_id = sc["id"].as_str().unwrap().to_owned();
    assert_eq!(sc["active"], true);
    assert_eq!(
        app.req("GET", "/api/v1/quality/scorecards", &lead_token, None)
            .await
            .expect(200)["items"][0]["name"],
        "Чат"
    );
    app.req("GET", "/api/v1/quality/scorecards", &ivan_token, None)
        .await
        .expect(403);

    // Ivan solved three, Olga two; Ivan has one still open, and one
    // ticket nobody holds.
    let mut ivans = BTreeSet::new();
    for n in 0..3 {
        let t = ticket(&app, &format!("Иван {n}"), Some(&ivan), true).await;
        ivans.insert(t["id"].as_str().unwrap().to_owned());
    }
    let mut olgas = BTreeSet::new();
    for n in 0..2 {
        let t = ticket(&app, &format!("Ольга {n}"), Some(&olga), true).await;
        olgas.insert(t["id"].as_str().unwrap().to_owned());
    }
    let open = ticket(&app, "Иван открыта", Some(&ivan), false).await;
    let nobodys = ticket(&app, "Ничья", None, true).await;

    // Two of each agent's solved conversations, at random.
    app.req(
        "POST",
        "/api/v1/quality/samples",
        &ivan_token,
        Some(json!({"per_agent": 2})),
    )
    .await
    .expect(403);
    let drawn = app
        .req(
            "POST",
            "/api/v1/quality/samples",
            &lead_token,
            Some(json!({"per_agent": 2})),
        )
        .await
        .expect(201);
    let items = drawn["items"].as_array().unwrap().clone();
    let of = |agent: &str| {
        items
            .iter()
            .filter(|s| s["agent_id"] == agent)
            .map(|s| s["ticket_id"].as_str().unwrap().to_owned())
            .collect::<BTreeSet<_>>()
    };
    assert_eq!(items.len(), 4, "{drawn}");
    assert!(of(&ivan).len() == 2 && of(&ivan).is_subset(&ivans));
    assert_eq!(of(&olga), olgas);
    assert!(!items.iter().any(|s| s["ticket_id"] == open["id"]));
    // A second draw adds only what is left: Ivan's third.
    let again = app
        .req(
            "POST",
            "/api/v1/quality/samples",
            &lead_token,
            Some(json!({"per_agent": 5})),
        )
        .await
        .expect(201);
    let all: BTreeSet<String> = again["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["ticket_id"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(all, ivans.union(&olgas).cloned().collect());
    assert_eq!(again["items"].as_array().unwrap().len(), 5, "no doubles");
    app.req(
        "POST",
        "/api/v1/quality/samples",
        &lead_token,
        Some(json!({"per_agent": 21})),
    )
    .await
    .problem(422);

    // The supervisor reviews one of Ivan's: 1·1 + 3·(3/4) of 4 → 81.25.
    let first = ivans.iter().next().unwrap().clone();
    let path = format!("/api/v1/tickets/{first}/reviews");
    let review = |scores: Value, comment: &str| json!({"scorecard_id": sc_id, "scores": scores, "comment": comment});
    let r = app
        .req(
            "POST",
            &path,
            &lead_token,
            Some(review(
                json!({"greeting": 2, "solution": 4}),
                "Без ссылки на статью",
            )),
        )
        .await
        .expect(200);
    assert_eq!(r["score"], 81.25);
    assert_eq!(r["agent_id"].as_str(), Some(ivan.as_str()));
    assert_eq!(
        queue(&app, &lead_token).await.len(),
        4,
        "reviewed: out of the queue"
    );
    // Unknown criteria, values off the scale, nothing rated: 409.
    for bad in [json!({"speed": 3}), json!({"solution": 6}), json!({})] {
        app.req("POST", &path, &lead_token, Some(review(bad, "")))
            .await
            .problem(409);
    }
    // A second review by the same supervisor replaces the first.
    let r2 = app
        .req(
            "POST",
            &path,
            &lead_token,
            Some(review(json!({"solution": 5}), "Всё отлично")),
        )
        .await
        .expect(200);
    assert_eq!(
        (r2["id"].clone(), r2["score"].clone()),
        (r["id"].clone(), json!(100.0))
    );
    // The owner reviews it too (no: 0 of 1; 3 of 5: 2 of 4 steps, weight 3
    // → 37.5): two reviews, Ivan's mean (100 + 37.5) / 2.
    app.req(
        "POST",
        &path,
        &app.token,
        Some(review(json!({"greeting": 1, "solution": 3}), "")),
    )
    .await
    .expect(200);
    let listed = app.get(&path).await.expect(200);
    assert_eq!(listed["items"].as_array().unwrap().len(), 2, "{listed}");
    let events = app
        .get(&format!("/api/v1/tickets/{first}/events"))
        .await
        .expect(200);
    let saved = events["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["kind"] == "review.saved")
        .count();
    assert_eq!(saved, 3, "every save is on the ticket's history");
    let agents = app.get("/api/v1/quality/agents").await.expect(200);
    assert_eq!(
        agents["items"],
        json!([{"agent_id": ivan, "name": "ivan", "reviews": 2, "score": 68.75}]),
        "{agents}"
    );
    // Ivan sees the reviews of his work; not what others may do.
    let his = app.req("GET", &path, &ivan_token, None).await.expect(200);
    assert_eq!(his["items"].as_array().unwrap().len(), 2);
    app.req("GET", "/api/v1/quality/agents", &ivan_token, None)
        .await
        .expect(403);
    app.req(
        "POST",
        &path,
        &ivan_token,
        Some(review(json!({"solution": 5}), "")),
    )
    .await
    .expect(403);
    // Nobody holds it, or it is the reviewer's own: 409.
    let nobody = format!(
        "/api/v1/tickets/{}/reviews",
        nobodys["id"].as_str().unwrap()
    );
    app.req(
        "POST",
        &nobody,
        &lead_token,
        Some(review(json!({"solution": 5}), "")),
    )
    .await
    .problem(409);
    let own = ticket(&app, "Своя", Some(&lead), true).await;
    app.req(
        "POST",
        &format!("/api/v1/tickets/{}/reviews", own["id"].as_str().unwrap()),
        &lead_token,
        Some(review(json!({"solution": 5}), "")),
    )
    .await
    .problem(409);
    // An inactive scorecard takes no new reviews.
    let mut off = card.clone();
    off["active"] = json!(false);
    app.req(
        "PUT",
        &format!("/api/v1/quality/scorecards/{sc_id}"),
        &app.token,
        Some(off),
    )
    .await
    .expect(200);
    app.req(
        "POST",
        &path,
        &lead_token,
        Some(review(json!({"solution": 5}), "")),
    )
    .await
    .problem(409);
    let mut on = card.clone();
    on["active"] = json!(true);
    app.req(
        "PUT",
        &format!("/api/v1/quality/scorecards/{sc_id}"),
        &app.token,
        Some(on),
    )
    .await
    .expect(200);

    // The screens: the queue and the scores, the review form on the ticket
    // page, the quality column beside the agents' KPIs.
    let lead_ui = crate::ui::Agent::login(&app, "lead@alpha.test", "user-password").await;
    let page = lead_ui.page("/app/quality").await;
    assert!(
        page.contains("id=\"queue\"") && page.contains("Иван"),
        "{page}"
    );
    assert!(page.contains("<td>2</td><td>69</td>"), "{page}");
    let olga_ticket = olgas.iter().next().unwrap().clone();
    let number = app
        .get(&format!("/api/v1/tickets/{olga_ticket}"))
        .await
        .expect(200)["number"]
        .as_i64()
        .unwrap();
    let tp = lead_ui.page(&format!("/app/t/{number}")).await;
    assert!(
        tp.contains("name=\"s_solution\" value=\"5\"") && tp.contains("id=\"review\""),
        "{tp}"
    );
    let res = lead_ui
        .post(
            &format!("/app/t/{number}/review"),
            &[
                ("scorecard", sc_id.as_str()),
                ("s_greeting", "2"),
                ("s_solution", ""),
                ("comment", "Вежливо"),
            ],
            true,
        )
        .await;
    assert_eq!(res.status(), 303);
    let reviewed = app
        .get(&format!("/api/v1/tickets/{olga_ticket}/reviews"))
        .await
        .expect(200);
    assert_eq!(reviewed["items"][0]["scores"], json!({"greeting": 2}));
    assert_eq!(
        reviewed["items"][0]["score"], 100.0,
        "only what was rated counts"
    );
    let reports = until("the quality column", 10, async || {
        let p = lead_ui.page("/app/reports").await;
        p.contains("100 (1)").then_some(p)
    })
    .await;
    assert!(reports.contains("Quality"), "the column is named");
    // The admin edits the scorecard on its page.
    let owner_ui = crate::ui::Agent::login(&app, "owner@alpha.test", "alpha-password").await;
    let edit = owner_ui
        .page(&format!("/app/quality/scorecards/{sc_id}"))
        .await;
    assert!(edit.contains("value=\"Решил вопрос клиента\""), "{edit}");
    let res = owner_ui
        .post(
            "/app/quality/scorecards",
            &[
                ("id", sc_id.as_str()),
                ("name", "Чат 2"),
                ("active", "on"),
                ("key_0", "greeting"),
                ("label_0", "Поздоровался"),
                ("weight_0", "2"),
                ("scale_0", "2"),
                ("key_1", "solution"),
                ("label_1", "Решил вопрос клиента"),
                ("weight_1", "3"),
                ("scale_1", "5"),
                ("key_2", ""),
                ("label_2", "Предложил статью"),
                ("weight_2", "1"),
                ("scale_2", "3"),
            ],
            true,
        )
        .await;
    assert_eq!(res.status(), 303);
    let after = app.get("/api/v1/quality/scorecards").await.expect(200);
    let crit = &after["items"][0]["criteria"];
    assert_eq!(after["items"][0]["name"], "Чат 2");
    assert_eq!(crit.as_array().unwrap().len(), 3, "{after}");
    assert_eq!(crit[2]["key"], "c1", "a new row gets a fresh key");
    assert_eq!(crit[0]["weight"], 2);
}

//! Tenant isolation: a token of workspace B gets 404 for every object of A, on every
//! operation of the OpenAPI document, and B's lists never show A's data.

use crate::helpers::TestApp;
use serde_json::json;
use std::collections::HashMap;

// With a public address, so that A can connect a Telegram bot.
mod workspace_b_never_sees_or_changes_workspace_a {
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn sqlite() {
        let app = crate::telegram::app_with_public_url(crate::helpers::Backend::Sqlite)
            .await
            .expect("sqlite app");
        super::workspace_b_never_sees_or_changes_workspace_a(app).await;
    }
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn postgres() {
        if let Some(app) =
            crate::telegram::app_with_public_url(crate::helpers::Backend::Postgres).await
        {
            super::workspace_b_never_sees_or_changes_workspace_a(app).await;
        }
    }
}

fn not_found(method: &str, path: &str, r: crate::helpers::Res) {
    assert_eq!(
        r.status.as_u16(),
        404,
        "{method} {path} with B's token: {}",
        r.body
    );
    assert!(r.content_type.starts_with("application/problem+json"));
}

async fn workspace_b_never_sees_or_changes_workspace_a(app: TestApp) {
    let t = app.ticket("Secret of A", "a-customer@example.com").await;
    let (tid, num, cid, mid) = (
        t["id"].as_str().unwrap().to_owned(),
        t["number"].as_i64().unwrap(),
        t["customer_id"].as_str().unwrap().to_owned(),
        t["message"]["id"].as_str().unwrap().to_owned(),
    );
    // A pair of A's customers suggested as one person, and one of A's identities.
    app.patch(
        &format!("/api/v1/customers/{cid}"),
        json!({"identities": [{"kind": "phone", "value": "+79001112233"}]}),
    )
    .await
    .expect(200);
    app.post("/api/v1/tickets", json!({"subject": "x", "customer": {"name": "Someone Else", "whatsapp": "79001112233"}, "message": {"body": "x"}}))
        .await
        .expect(201);
    let suggestion = app
        .get(&format!("/api/v1/customers/{cid}/suggestions"))
        .await
        .expect(200)["items"][0]["id"]
        .as_str()
        .expect("a suggestion")
        .to_owned();
    let identity = app
        .get(&format!("/api/v1/customers/{cid}"))
        .await
        .expect(200)["identities"][0]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let order = app
        .post(
            "/api/v1/orders",
            json!({"external_id": "A-1", "customer_id": cid, "currency": "RUB", "total": "10.00"}),
        )
        .await
        .expect(201)["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let outreach_rule = app
        .post(
            "/api/v1/outreach/rules",
            json!({"name": "A's rule", "on": "customer.at_risk", "texts": {"en": "Hello"}}),
        )
        .await
        .expect(201)["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let category = app
        .post(
            "/api/v1/triage/categories",
            json!({"key": "a-delivery", "name": "A's category"}),
        )
        .await
        .expect(201)["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let flow = app
        .post(
            "/api/v1/assist/flows",
            json!({"key": "a-flow", "name": "A's flow", "phrases": ["hello"],
                   "steps": [{"type": "say", "text": {"en": "Hello"}}]}),
        )
        .await
        .expect(201)["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let shop = app
        .post("/api/v1/stores", json!({"name": "A's shop"}))
        .await
        .expect(201)["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let team = app
        .post("/api/v1/teams", json!({"name": "Returns"}))
        .await
        .expect(201)["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let side = app
        .post(
            &format!("/api/v1/tickets/{tid}/side-conversations"),
            json!({"subject": "A's side", "body": "A only", "team_id": team}),
        )
        .await
        .expect(201)["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let field = app
        .post(
            "/api/v1/custom-fields",
            json!({"key": "order_ref", "label": "Order", "field_type": "text"}),
        )
        .await
        .expect(201)["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let org = app
        .post(
            "/api/v1/organizations",
            json!({"name": "Acme", "domains": ["acme.example"]}),
        )
        .await
        .expect(201)["organization"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let reminder = app
        .post(
            &format!("/api/v1/tickets/{}/reminders", t["id"].as_str().unwrap()),
            json!({"at": app.store.now().plus_millis(3_600_000).to_rfc3339()}),
        )
        .await
        .expect(201)["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let (uid, _) = app.user("agent@alpha.test", "agent").await;
    let tokens = app.get("/api/v1/tokens").await.expect(200);
    let token_id = tokens["items"][0]["id"].as_str().unwrap().to_owned();
    let form = reqwest::multipart::Form::new().part(
        "file",
        reqwest::multipart::Part::bytes(b"secret".to_vec()).file_name("a.txt"),
    );
    let att: serde_json::Value = app.upload(form).await.json().await.unwrap();
    let aid = att["id"].as_str().unwrap().to_owned();
    let mailbox = app
        .post(
            "/api/v1/channels/email",
            json!({"name": "Support", "address": "support@alpha.example", "inbound": {"kind": "pipe"}}),
        )
        .await
        .expect(201)["id"]
        .as_str()
        .unwrap()
        .to_owned();
    // Mail held in A's mailbox for want of a sender.
    let held = app
        .raw(
            "POST",
            &format!("/api/v1/channels/email/{mailbox}/inbound"),
            &app.token,
            "message/rfc822",
            b"To: support@alpha.example\r\nSubject: held\r\nMessage-ID: <held@a>\r\n\r\nx\r\n"
                .to_vec(),
        )
        .await
        .expect(202);
    assert_eq!(held["outcome"], "held");
    let held_id = app
        .get(&format!("/api/v1/channels/email/{mailbox}/held"))
        .await
        .expect(200)["items"][0]["id"]
        .as_str()
        .unwrap()
        .to_owned();

    let b = app.workspace("beta").await;
    // B has a customer of its own, to try merging across workspaces both ways.
    let b_cust = app
        .req(
            "POST",
            "/api/v1/customers",
            &b,
            Some(json!({"name": "B", "email": "b@example.com"})),
        )
        .await
        .expect(201)["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let b_ticket = app
        .req(
            "POST",
            "/api/v1/tickets",
            &b,
            Some(json!({"subject": "B", "customer_id": b_cust, "message": {"body": "b"}})),
        )
        .await
        .expect(201);
    // Every operation of the OpenAPI document that names an object in its path,
    // asked with B's token about A's object: a new endpoint is probed without
    // being listed here.
    let article = app
        .post(
            "/api/v1/kb/articles",
            json!({"lang": "ru", "title": "Только для A", "body": "секрет", "status": "published"}),
        )
        .await
        .expect(201)["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let faq = app
        .post(
            "/api/v1/kb/faq",
            json!({"lang": "ru", "question": "Только для A?", "answer": "секрет"}),
        )
        .await
        .expect(201)["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let chat = app
        .post("/api/v1/channels/chat", json!({"name": "Только для A"}))
        .await
        .expect(201)["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let bot = channels::telegram_stand_in::StandIn::start(crate::telegram::TOKEN)
        .await
        .expect("stand-in");
    let (telegram, _) = crate::telegram::connect(&app, &bot).await;
    let cloud = channels::whatsapp_stand_in::StandIn::start(
        crate::whatsapp::NUMBER,
        crate::whatsapp::TOKEN,
    )
    .await
    .expect("stand-in");
    let whatsapp = crate::whatsapp::connect(&app, &cloud).await;
    let vk_api = channels::vk_stand_in::StandIn::start(crate::vk::GROUP, crate::vk::TOKEN)
        .await
        .expect("stand-in");
    let vk = crate::vk::connect(&app, &vk_api).await;
    let (phone, _) = crate::phone::channel(&app, None).await;
    let hook = app
        .post(
            "/api/v1/webhooks",
            json!({"url": "http://127.0.0.1:9/hook", "events": ["ticket.created"]}),
        )
        .await
        .expect(201)["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let api_channel = app
        .post("/api/v1/channels/api", json!({"name": "Только для A"}))
        .await
        .expect(201)["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let hours = app
        .post(
            "/api/v1/business-hours",
            json!({"name": "Только для A", "time_zone": "UTC", "week": {}}),
        )
        .await
        .expect(201)["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let policy = app
        .post(
            "/api/v1/sla-policies",
            json!({"name": "Только для A", "targets": {"first_reply_minutes": 30}}),
        )
        .await
        .expect(201)["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let rule = app
        .post(
            "/api/v1/rules",
            json!({"name": "Только для A", "kind": "trigger", "on": ["ticket.created"],
                   "actions": [{"type": "add_tags", "tags": ["a-only"]}]}),
        )
        .await
        .expect(201)["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let macro_id = app
        .post(
            "/api/v1/macros",
            json!({"name": "Только для A", "body": "A", "shared": true}),
        )
        .await
        .expect(201)["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let card = json!({"name": "Только для A", "criteria": [
        {"key": "solution", "label": "Решил вопрос", "weight": 1, "scale": 5}]});
    let scorecard = app
        .post("/api/v1/quality/scorecards", card.clone())
        .await
        .expect(201)["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let mut s = app.get("/api/v1/journey/settings").await.expect(200);
    s["link_targets"] = json!(["https://a.example/"]);
    app.req("PUT", "/api/v1/journey/settings", &app.token, Some(s))
        .await
        .expect(200);
    let link = app
        .post(
            "/api/v1/links",
            json!({"target": "https://a.example/only-a"}),
        )
        .await
        .expect(201)["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let objects: HashMap<&str, &str> = HashMap::from([
        ("/api/v1/links", link.as_str()),
        ("/api/v1/quality/scorecards", scorecard.as_str()),
        ("/api/v1/macros", macro_id.as_str()),
        ("/api/v1/rules", rule.as_str()),
        ("/api/v1/business-hours", hours.as_str()),
        ("/api/v1/sla-policies", policy.as_str()),
        ("/api/v1/channels/chat", chat.as_str()),
        ("/api/v1/channels/telegram", telegram.as_str()),
        ("/api/v1/channels/whatsapp", whatsapp.as_str()),
        ("/api/v1/channels/vk", vk.as_str()),
        ("/api/v1/channels/phone", phone.as_str()),
        ("/api/v1/channels/api", api_channel.as_str()),
        ("/api/v1/webhooks", hook.as_str()),
        ("/api/v1/kb/articles", article.as_str()),
        ("/api/v1/kb/faq", faq.as_str()),
        ("/api/v1/tickets", tid.as_str()),
        ("/api/v1/customers", cid.as_str()),
        ("/api/v1/orders", order.as_str()),
        ("/api/v1/stores", shop.as_str()),
        ("/api/v1/outreach/rules", outreach_rule.as_str()),
        ("/api/v1/triage/categories", category.as_str()),
        ("/api/v1/assist/flows", flow.as_str()),
        ("/api/v1/users", uid.as_str()),
        ("/api/v1/teams", team.as_str()),
        ("/api/v1/custom-fields", field.as_str()),
        ("/api/v1/organizations", org.as_str()),
        ("/api/v1/reminders", reminder.as_str()),
        ("/api/v1/attachments", aid.as_str()),
        ("/api/v1/tokens", token_id.as_str()),
        ("/api/v1/channels/email", mailbox.as_str()),
    ]);
    // Bodies that pass validation, so the probe reaches the lookup; an operation
    // without one here is sent `{}`.
    let bodies: HashMap<(&str, &str), serde_json::Value> = HashMap::from([
        (("PUT", "/api/v1/quality/scorecards/{id}"), card),
        (
            ("POST", "/api/v1/tickets/{id}/reviews"),
            json!({"scorecard_id": scorecard, "scores": {"solution": 5}}),
        ),
        (("PATCH", "/api/v1/tickets/{id}"), json!({"status": "open"})),
        (
            ("POST", "/api/v1/tickets/{id}/messages"),
            json!({"body": "intrusion"}),
        ),
        (
            ("PATCH", "/api/v1/customers/{id}"),
            json!({"name": "pwned"}),
        ),
        (
            ("POST", "/api/v1/customers/{id}/merge"),
            json!({"source_id": b_cust}),
        ),
        (
            ("PATCH", "/api/v1/customers/{id}/identities/{identity_id}"),
            json!({"shared": true}),
        ),
        (("PATCH", "/api/v1/users/{id}"), json!({"name": "pwned"})),
        (
            ("PATCH", "/api/v1/channels/chat/{id}"),
            json!({"name": "pwned"}),
        ),
        (
            ("PATCH", "/api/v1/channels/telegram/{id}"),
            json!({"name": "pwned"}),
        ),
        (
            ("PATCH", "/api/v1/channels/whatsapp/{id}"),
            json!({"name": "pwned"}),
        ),
        (
            ("PATCH", "/api/v1/channels/vk/{id}"),
            json!({"name": "pwned"}),
        ),
        (
            ("POST", "/api/v1/tickets/{id}/templates"),
            json!({"name": "order_update", "language": "ru", "parameters": []}),
        ),
        (
            ("PATCH", "/api/v1/business-hours/{id}"),
            json!({"name": "pwned"}),
        ),
        (
            ("PATCH", "/api/v1/sla-policies/{id}"),
            json!({"name": "pwned"}),
        ),
        (("PATCH", "/api/v1/rules/{id}"), json!({"name": "pwned"})),
        (("PATCH", "/api/v1/macros/{id}"), json!({"name": "pwned"})),
        (
            ("POST", "/api/v1/tickets/{id}/apply-macro"),
            json!({"macro_id": macro_id}),
        ),
        (
            ("POST", "/api/v1/tickets/{id}/escalate"),
            json!({"reason": "intrusion"}),
        ),
        (
            ("POST", "/api/v1/tickets/{id}/collaborators"),
            json!({"user_id": uid}),
        ),
        (
            ("POST", "/api/v1/tickets/{id}/followers"),
            json!({"user_id": uid}),
        ),
        (
            ("POST", "/api/v1/tickets/{id}/side-conversations"),
            json!({"subject": "intrusion", "body": "x", "team_id": team}),
        ),
        (
            (
                "POST",
                "/api/v1/tickets/{id}/side-conversations/{side_id}/messages",
            ),
            json!({"body": "intrusion"}),
        ),
        (
            ("PATCH", "/api/v1/tickets/{id}/side-conversations/{side_id}"),
            json!({"open": false}),
        ),
        (
            ("PUT", "/api/v1/tickets/{id}/messages/{message_id}/solution"),
            json!({"solution": true}),
        ),
        (("PATCH", "/api/v1/teams/{id}"), json!({"name": "pwned"})),
        (
            ("PATCH", "/api/v1/organizations/{id}"),
            json!({"name": "pwned", "domains": ["pwned.example"]}),
        ),
        (("POST", "/api/v1/tickets/{id}/merge"), json!({"into": "1"})),
        (
            ("POST", "/api/v1/tickets/{id}/split"),
            json!({"message_id": mid}),
        ),
        (
            ("POST", "/api/v1/tickets/{id}/reminders"),
            json!({"at": "2099-01-01T00:00:00Z"}),
        ),
        (
            ("PATCH", "/api/v1/custom-fields/{id}"),
            json!({"label": "pwned", "archived": true}),
        ),
        (
            ("PUT", "/api/v1/triage/categories/{id}"),
            json!({"key": "pwned", "name": "pwned"}),
        ),
        (
            ("PUT", "/api/v1/assist/flows/{id}"),
            json!({"key": "pwned", "name": "pwned", "phrases": ["pwned"],
                   "steps": [{"type": "say", "text": {"en": "pwned"}}]}),
        ),
        (
            ("PUT", "/api/v1/tickets/{id}/messages/{message_id}/triage"),
            json!({"category": "a-delivery"}),
        ),
        (("PATCH", "/api/v1/stores/{id}"), json!({"name": "pwned"})),
        (
            ("PUT", "/api/v1/outreach/rules/{id}"),
            json!({"name": "pwned", "on": "customer.at_risk", "texts": {"en": "pwned"}}),
        ),
        (
            ("POST", "/api/v1/channels/email/{id}/held/{held_id}/ticket"),
            json!({"customer": {"email": "intruder@beta.example"}}),
        ),
        (
            ("PATCH", "/api/v1/channels/email/{id}"),
            json!({"name": "pwned", "address": "pwned@beta.example", "inbound": {"kind": "pipe"}}),
        ),
    ]);
    let doc = app.get("/api/v1/openapi.json").await.expect(200);
    let mut probed = 0;
    for (template, item) in doc["paths"].as_object().expect("paths") {
        let Some((resource, _)) = template.split_once("/{") else {
            continue;
        };
        // Operations anyone may call name a workspace in the path and show only
        // what it publishes (the help center's search; see `kb`); the chat
        // client API answers visitors about their own conversations only (see
        // `chat`); providers' webhooks are opened by the channel's own secret
        // (see `telegram`).
        let public = item.as_object().is_some_and(|ops| {
            ops.values().all(|op| {
                op["security"] == json!([])
                    || op["security"] == json!([{"visitor": []}])
                    || op["security"] == json!([{"telegram": []}])
                    || op["security"] == json!([{"whatsapp": []}])
                    || op["security"] == json!([{"phone": []}])
                    || op["security"] == json!([{"store": []}])
            })
        });
        if public {
            continue;
        }
        let object = objects.get(resource).unwrap_or_else(|| {
            panic!("no object of workspace A for {template}: add one to `objects`")
        });
        let path = template
            .replace("{id}", object)
            .replace("{held_id}", &held_id)
            .replace("{user_id}", &uid)
            .replace("{message_id}", &mid)
            .replace("{side_id}", &side)
            .replace("{suggestion_id}", &suggestion)
            .replace("{identity_id}", &identity)
            .replace("{version}", "1");
        assert!(
            !path.contains('{'),
            "{template}: a parameter with no object of A"
        );
        for (method, op) in item.as_object().expect("path item") {
            let method = method.to_uppercase();
            let content = &op["requestBody"]["content"];
            let r = if content.get("message/rfc822").is_some() {
                let raw = b"From: x@example.com\r\nSubject: intrusion\r\n\r\nx\r\n".to_vec();
                app.raw(&method, &path, &b, "message/rfc822", raw).await
            } else {
                let body = bodies
                    .get(&(method.as_str(), template.as_str()))
                    .cloned()
                    .or_else(|| content.get("application/json").map(|_| json!({})));
                app.req(&method, &path, &b, body).await
            };
            not_found(&method, &path, r);
            probed += 1;
        }
    }
    // 21 when this was written; fewer means the document lost operations.
    assert!(probed >= 21, "only {probed} operations probed");
    // What the template walk cannot say: a number A has and B has not, the merge
    // the other way round, an internal note.
    let extra: Vec<(&str, String, Option<serde_json::Value>)> = vec![
        ("GET", format!("/api/v1/tickets/{}", num + 1), None),
        (
            "POST",
            format!("/api/v1/customers/{b_cust}/merge"),
            Some(json!({"source_id": cid})),
        ),
        (
            "POST",
            format!("/api/v1/tickets/{tid}/messages"),
            Some(json!({"body": "intrusion", "visibility": "internal"})),
        ),
        // A message into A's API channel with B's token.
        (
            "POST",
            "/api/v1/channels/api/messages".to_owned(),
            Some(json!({"channel_id": api_channel, "external_id": "x-1",
                        "sender": {"id": "intruder"}, "text": "intrusion"})),
        ),
    ];
    for (method, path, body) in extra {
        not_found(method, &path, app.req(method, &path, &b, body).await);
    }
    // B's ticket number 1 is its own, not A's number 1.
    assert_eq!(
        app.req("GET", &format!("/api/v1/tickets/{num}"), &b, None)
            .await
            .expect(200)["id"],
        b_ticket["id"]
    );
    // B cannot attach A's upload, assign A's user or team, or file under A's
    // customer: to B they do not exist.
    let bt = b_ticket["id"].as_str().unwrap();
    app.req(
        "POST",
        &format!("/api/v1/tickets/{bt}/messages"),
        &b,
        Some(json!({"body": "x", "attachments": [aid]})),
    )
    .await
    .problem(404);
    app.req(
        "PATCH",
        &format!("/api/v1/tickets/{bt}"),
        &b,
        Some(json!({"assignee_id": uid})),
    )
    .await
    .problem(404);
    app.req(
        "PATCH",
        &format!("/api/v1/tickets/{bt}"),
        &b,
        Some(json!({"team_id": team})),
    )
    .await
    .problem(404);
    app.req(
        "POST",
        "/api/v1/tickets",
        &b,
        Some(json!({"subject": "x", "customer_id": cid, "message": {"body": "x"}})),
    )
    .await
    .problem(404);
    app.req(
        "POST",
        "/api/v1/tokens",
        &b,
        Some(json!({"name": "x", "user_id": uid})),
    )
    .await
    .problem(404);
    // Lists and the event stream show only B's own data.
    let list = |path: &'static str| app.req("GET", path, &b, None);
    assert_eq!(
        list("/api/v1/tickets").await.expect(200)["items"]
            .as_array()
            .unwrap()
            .len(),
        1
    );
    assert_eq!(
        list("/api/v1/customers").await.expect(200)["items"]
            .as_array()
            .unwrap()
            .len(),
        1
    );
    assert_eq!(
        list("/api/v1/teams").await.expect(200)["items"]
            .as_array()
            .unwrap()
            .len(),
        0
    );
    assert_eq!(
        list("/api/v1/users").await.expect(200)["items"]
            .as_array()
            .unwrap()
            .len(),
        1
    );
    assert_eq!(
        list("/api/v1/tokens").await.expect(200)["items"]
            .as_array()
            .unwrap()
            .len(),
        1
    );
    for path in [
        "/api/v1/sla-policies",
        "/api/v1/business-hours",
        "/api/v1/rules",
    ] {
        assert_eq!(
            list(path).await.expect(200)["items"],
            json!([]),
            "{path} with B's token"
        );
    }
    let events = list("/api/v1/events?limit=200").await.expect(200);
    let text = events.to_string();
    assert!(
        !text.contains(&tid) && !text.contains(&cid) && !text.contains(&mid),
        "B's event stream leaks A's ids"
    );
    // A's data is untouched.
    let a = app.get(&format!("/api/v1/tickets/{tid}")).await.expect(200);
    assert_eq!(a["status"], "new");
    assert_eq!(
        app.get(&format!("/api/v1/tickets/{tid}/messages"))
            .await
            .expect(200)["items"]
            .as_array()
            .unwrap()
            .len(),
        1
    );
    assert_eq!(
        app.get(&format!("/api/v1/customers/{cid}"))
            .await
            .expect(200)["name"],
        "Анна"
    );
}

//! The answer bot's decision (`POST /api/v1/assist/answer`): FAQ entries and
//! articles answered in the customer's language, hand-offs when unsure or
//! asked for a person (Russian, English, Thai), the email switch, settings for
//! admins only, and models kept per workspace.

use crate::helpers::{TestApp, until};
use serde_json::{Value, json};

crate::on_both!(the_bot_answers_what_it_knows_and_hands_off_the_rest);

async fn faq(
    app: &TestApp,
    lang: &str,
    question: &str,
    phrasings: &[&str],
    answer: &str,
    group: Option<&str>,
) -> Value {
    app.post(
        "/api/v1/kb/faq",
        json!({"lang": lang, "question": question, "phrasings": phrasings, "answer": answer, "group_id": group}),
    )
    .await
    .expect(201)
}

async fn ask(app: &TestApp, token: &str, text: &str, channel: Option<&str>) -> Value {
    app.req(
        "POST",
        "/api/v1/assist/answer",
        token,
        Some(json!({"text": text, "lang": null, "channel": channel})),
    )
    .await
    .expect(200)
}

async fn the_bot_answers_what_it_knows_and_hands_off_the_rest(app: TestApp) {
    let t = app.token.clone();
    // Nothing to answer from yet.
    let d = ask(&app, &t, "где мой заказ", Some("chat")).await;
    assert_eq!(
        (d["decision"].as_str(), d["reason"].as_str()),
        (Some("handoff"), Some("no_knowledge")),
        "{d}"
    );

    let track = faq(
        &app,
        "ru",
        "Где мой заказ?",
        &[
            "Как отследить заказ",
            "Когда привезут заказ",
            "скоро ли доставка",
        ],
        "Откройте «Мои заказы» и нажмите «Отследить».",
        None,
    )
    .await;
    let group = track["group_id"].as_str().unwrap().to_owned();
    let track_en = faq(
        &app,
        "en",
        "Where is my order?",
        &["How do I track my order", "When will my parcel arrive"],
        "Open “My orders” and press “Track”.",
        Some(&group),
    )
    .await;
    faq(
        &app,
        "ru",
        "Как вернуть товар?",
        &["Хочу оформить возврат", "верните деньги за покупку"],
        "Возврат оформляется в разделе «Мои заказы» в течение 14 дней.",
        None,
    )
    .await;
    faq(
        &app,
        "ru",
        "Как оплатить картой?",
        &["не проходит оплата", "какие способы оплаты"],
        "Мы принимаем карты Visa, Mastercard и МИР.",
        None,
    )
    .await;
    faq(
        &app,
        "th",
        "เปลี่ยนที่อยู่จัดส่งได้ไหม",
        &["ขอเปลี่ยนที่อยู่", "แก้ไขที่อยู่จัดส่ง"],
        "คุณแก้ไขที่อยู่ได้ในหน้า คำสั่งซื้อของฉัน ก่อนจัดส่ง",
        None,
    )
    .await;

    // A known question, asked in other words: answered in the asker's language.
    let d = ask(&app, &t, "когда привезут мой заказ?", Some("chat")).await;
    assert_eq!(d["decision"], "answer", "{d}");
    assert_eq!(d["faq_id"], track["id"], "{d}");
    assert_eq!(d["lang"], "ru");
    assert!(d["confidence"].as_f64().unwrap() >= 0.7, "{d}");
    let d = ask(&app, &t, "how can I track my order", Some("telegram")).await;
    assert_eq!(
        (d["decision"].as_str(), &d["faq_id"]),
        (Some("answer"), &track_en["id"]),
        "{d}"
    );
    let d = ask(&app, &t, "อยากเปลี่ยนที่อยู่จัดส่ง", None).await;
    assert_eq!(
        (d["decision"].as_str(), d["lang"].as_str()),
        (Some("answer"), Some("th")),
        "{d}"
    );

    // Questions nothing covers are never answered.
    for text in [
        "какая завтра погода в Москве",
        "can you recommend a good film",
        "ขอสูตรต้มยำกุ้ง",
        "привет",
    ] {
        let d = ask(&app, &t, text, Some("chat")).await;
        assert_eq!(
            (d["decision"].as_str(), d["reason"].as_str()),
            (Some("handoff"), Some("low_confidence")),
            "{text}: {d}"
        );
        assert!(d["faq_id"].is_null() && d["answer"].is_null(), "{d}");
    }
    // Asking for a person wins over any answer, in three languages.
    for text in [
        "Позовите оператора, где мой заказ?",
        "talk to a human please",
        "ขอคุยกับพนักงานค่ะ",
    ] {
        let d = ask(&app, &t, text, Some("chat")).await;
        assert_eq!(d["reason"], "asked_for_human", "{text}: {d}");
    }
    // On email the bot stays quiet unless the workspace enables it.
    let d = ask(&app, &t, "когда привезут мой заказ?", Some("email")).await;
    assert_eq!(d["reason"], "bot_off", "{d}");
    let (_, agent) = app.user("agent@alpha.test", "agent").await;
    let team = app
        .post("/api/v1/teams", json!({"name": "Поддержка"}))
        .await
        .expect(201);
    let settings = json!({"bot_enabled": true, "bot_on_email": true, "threshold": 0.7, "handoff_team_id": team["id"]});
    app.req(
        "PUT",
        "/api/v1/assist/settings",
        &agent,
        Some(settings.clone()),
    )
    .await
    .problem(403);
    app.req("PUT", "/api/v1/assist/settings", &t, Some(json!({"bot_enabled": true, "bot_on_email": true, "threshold": 1.5, "handoff_team_id": null})))
        .await
        .problem(422);
    app.req(
        "PUT",
        "/api/v1/assist/settings",
        &t,
        Some(
            json!({"bot_enabled": true, "bot_on_email": true, "threshold": 0.7,
        "handoff_team_id": "01936f1e-7b2a-7c41-9a55-0d3c7e2b9a99"}),
        ),
    )
    .await
    .problem(404);
    assert_eq!(
        app.req("PUT", "/api/v1/assist/settings", &t, Some(settings.clone()))
            .await
            .expect(200),
        settings
    );
    assert_eq!(
        app.get("/api/v1/assist/settings").await.expect(200),
        settings
    );
    let d = ask(&app, &agent, "когда привезут мой заказ?", Some("email")).await;
    assert_eq!(d["decision"], "answer", "{d}");
    let d = ask(&app, &agent, "какая завтра погода", Some("email")).await;
    assert_eq!(d["suggested_team_id"], team["id"], "{d}");

    // A new entry is learnt: the model is trained again in the background.
    let hours = faq(
        &app,
        "ru",
        "Какие часы работы поддержки?",
        &["когда вы работаете", "до скольки работает поддержка"],
        "Мы на связи каждый день с 9 до 21.",
        None,
    )
    .await;
    until("the new entry answers", 10, async || {
        let d = ask(&app, &t, "до скольки вы работаете?", Some("chat")).await;
        (d["faq_id"] == hours["id"]).then_some(())
    })
    .await;
    // A published article answers with its link; a draft does not.
    let article = app
        .post("/api/v1/kb/articles", json!({"lang": "ru", "title": "Подарочные сертификаты",
            "body": "Подарочный сертификат действует один год.\n\nСертификатом можно оплатить любой товар в магазине.",
            "status": "published"}))
        .await
        .expect(201);
    let d = until("the article answers", 10, async || {
        let d = ask(
            &app,
            &t,
            "сколько действует подарочный сертификат",
            Some("chat"),
        )
        .await;
        (d["article_id"] == article["id"]).then_some(d)
    })
    .await;
    assert!(
        d["url"]
            .as_str()
            .unwrap()
            .contains("/help/alpha/ru/articles/"),
        "{d}"
    );
    assert!(
        d["answer"]
            .as_str()
            .unwrap()
            .starts_with("Подарочные сертификаты"),
        "{d}"
    );

    // An entry and the article it links give one answer: an article titled
    // as the entry's question does not split the entry's confidence.
    let cancel = app
        .post("/api/v1/kb/articles", json!({"lang": "ru", "title": "Как отменить заказ",
            "body": "Пока заказ не отправлен, откройте его в «Моих заказах» и нажмите «Отменить заказ».\n\nДеньги вернутся на карту за 3–5 дней.",
            "status": "published"}))
        .await
        .expect(201);
    let entry = app
        .post(
            "/api/v1/kb/faq",
            json!({"lang": "ru", "question": "Как отменить заказ?", "phrasings": ["отмена заказа", "передумал, хочу отменить"],
                "answer": "Откройте заказ в «Моих заказах» и нажмите «Отменить заказ».", "article_id": cancel["id"]}),
        )
        .await
        .expect(201);
    let d = until("the entry answers its own question", 10, async || {
        let d = ask(&app, &t, "как отменить заказ", Some("chat")).await;
        (d["faq_id"] == entry["id"]).then_some(d)
    })
    .await;
    assert_eq!(d["decision"], "answer", "{d}");
    assert_eq!(d["article_id"], cancel["id"], "{d}");
    assert!(d["confidence"].as_f64().unwrap() > 0.9, "{d}");

    // The whole threshold is the workspace's: at 1 nothing is sure enough.
    app.req("PUT", "/api/v1/assist/settings", &t, Some(json!({"bot_enabled": true, "bot_on_email": false, "threshold": 1.0, "handoff_team_id": null})))
        .await
        .expect(200);
    let d = ask(&app, &t, "когда привезут мой заказ?", Some("chat")).await;
    assert_eq!(d["reason"], "low_confidence", "{d}");

    // Another workspace's knowledge is not this one's.
    let beta = app.workspace("beta").await;
    let d = ask(&app, &beta, "когда привезут мой заказ?", Some("chat")).await;
    assert_eq!(d["reason"], "no_knowledge", "{d}");

    // Bad input is named.
    app.req(
        "POST",
        "/api/v1/assist/answer",
        &t,
        Some(json!({"text": "  \u{0001} "})),
    )
    .await
    .problem(422);
    app.req(
        "POST",
        "/api/v1/assist/answer",
        &t,
        Some(json!({"text": "a".repeat(4001)})),
    )
    .await
    .problem(422);
    app.req(
        "POST",
        "/api/v1/assist/answer",
        &t,
        Some(json!({"text": "hi", "lang": "not a language"})),
    )
    .await
    .problem(422);
}

crate::on_both!(triage_sorts_flags_and_learns_from_corrections);
crate::on_both!(agents_get_suggested_replies_from_solutions_answers_and_solved_tickets);
crate::on_both!(the_bot_takes_the_first_turn_in_chat_and_hands_off_to_people);
crate::on_both!(a_conversation_with_the_bot_survives_restarts);
crate::on_both!(flows_are_kept_as_data_and_checked_whole);
crate::on_both!(admins_keep_the_bot_categories_and_flows_on_one_screen);
crate::on_both!(the_bot_leads_order_status_and_return_flows_across_a_restart);

/// The ticket's triage once it lists `want` messages (the consumer queues a
/// job per customer message; the test runs jobs itself).
pub(crate) async fn triaged(app: &TestApp, ticket: &str, want: usize) -> Vec<Value> {
    until("triage", 10, async || {
        app.drain_jobs().await;
        let t = app
            .get(&format!("/api/v1/tickets/{ticket}/triage"))
            .await
            .expect(200);
        let items = t["items"].as_array().cloned().unwrap_or_default();
        (items.len() >= want).then_some(items)
    })
    .await
}

async fn customer_ticket(app: &TestApp, body: &str, email: &str) -> String {
    app.post("/api/v1/tickets", json!({"subject": "Вопрос", "customer": {"name": "Клиент", "email": email}, "message": {"body": body}}))
        .await
        .expect(201)["id"]
        .as_str()
        .unwrap()
        .to_owned()
}

async fn triage_sorts_flags_and_learns_from_corrections(app: TestApp) {
    let logistics = app
        .post("/api/v1/teams", json!({"name": "Логистика"}))
        .await
        .expect(201);
    let category = |key: &str, name: &str, description: &str, examples: &[&str], team: Value| json!({"key": key, "name": name, "description": description, "examples": examples, "team_id": team, "priority": null});
    app.post(
        "/api/v1/triage/categories",
        category(
            "delivery",
            "Доставка",
            "Где заказ, сроки доставки, курьер, посылка не пришла",
            &[
                "где мой заказ",
                "когда привезут посылку",
                "курьер не приехал",
                "where is my parcel",
                "my order has not arrived",
                "ยังไม่ได้รับพัสดุ",
                "พัสดุจะมาถึงเมื่อไหร่",
            ],
            logistics["id"].clone(),
        ),
    )
    .await
    .expect(201);
    app.post(
        "/api/v1/triage/categories",
        category(
            "returns",
            "Возврат",
            "Вернуть товар, обмен, возврат денег",
            &[
                "хочу вернуть товар",
                "как оформить возврат",
                "не подошёл размер",
                "I want to return the shoes",
                "how do I get a refund",
                "ขอคืนสินค้า",
            ],
            Value::Null,
        ),
    )
    .await
    .expect(201);
    app.post(
        "/api/v1/triage/categories",
        category(
            "payment",
            "Оплата",
            "Оплата картой, счёт, списание денег",
            &[
                "не проходит оплата",
                "дважды списали деньги",
                "payment failed",
                "charged twice",
                "จ่ายเงินไม่ได้",
            ],
            Value::Null,
        ),
    )
    .await
    .expect(201);
    app.post(
        "/api/v1/triage/categories",
        category("bonus", "Бонусы", "", &[], Value::Null),
    )
    .await
    .expect(201);
    // Keys are unique; bad ones are named.
    app.post(
        "/api/v1/triage/categories",
        category("delivery", "Дубль", "", &[], Value::Null),
    )
    .await
    .problem(409);
    app.post(
        "/api/v1/triage/categories",
        category("two words", "x", "", &[], Value::Null),
    )
    .await
    .problem(422);
    // Rules act on what triage read: Thai delivery questions go to logistics,
    // an urgent and angry customer is put first.
    app.post(
        "/api/v1/rules",
        json!({"name": "Thai delivery", "kind": "trigger", "on": ["message.triaged"],
            "all": [{"field": "triage_category", "op": "in", "value": ["delivery"]},
                    {"field": "triage_confidence", "op": "gt", "value": 30},
                    {"field": "message_language", "op": "is", "value": "th"}],
            "actions": [{"type": "set_team", "team_id": logistics["id"]}, {"type": "add_tags", "tags": ["th-delivery"]}]}),
    )
    .await
    .expect(201);
    app.post(
        "/api/v1/rules",
        json!({"name": "Angry and urgent", "kind": "trigger", "on": ["message.triaged"],
            "all": [{"field": "urgency", "op": "is", "value": "urgent"},
                    {"field": "sentiment", "op": "in", "value": ["negative"]}],
            "actions": [{"type": "set_priority", "priority": "urgent"}, {"type": "add_tags", "tags": ["angry"]}]}),
    )
    .await
    .expect(201);
    app.post(
        "/api/v1/rules",
        json!({"name": "Bad", "kind": "trigger", "on": ["message.triaged"],
            "all": [{"field": "urgency", "op": "is", "value": "very"}],
            "actions": [{"type": "add_tags", "tags": ["x"]}]}),
    )
    .await
    .problem(422);
    let tags_of = async |t: &str, want: &str| {
        until("the rules on triage", 10, async || {
            let x = app.get(&format!("/api/v1/tickets/{t}")).await.expect(200);
            x["tags"]
                .as_array()
                .is_some_and(|a| a.iter().any(|v| v == want))
                .then_some(x)
        })
        .await
    };

    let t = customer_ticket(
        &app,
        "Когда привезут мой заказ? Жду уже неделю",
        "a@example.com",
    )
    .await;
    let first = t.clone();
    let items = triaged(&app, &t, 1).await;
    let x = &items[0];
    assert_eq!(
        (x["lang"].as_str(), x["category"].as_str()),
        (Some("ru"), Some("delivery")),
        "{x}"
    );
    assert_eq!(x["suggested_team_id"], logistics["id"], "{x}");
    assert!(x["category_confidence"].as_f64().unwrap() >= 0.5, "{x}");
    assert_eq!(
        (x["urgent"].as_bool(), x["sentiment"].as_str()),
        (Some(false), Some("neutral")),
        "{x}"
    );

    let t = customer_ticket(
        &app,
        "СРОЧНО верните деньги за возврат, это обман!!!",
        "b@example.com",
    )
    .await;
    let x = &triaged(&app, &t, 1).await[0];
    assert_eq!(
        (
            x["urgent"].as_bool(),
            x["sentiment"].as_str(),
            x["suggested_priority"].as_str()
        ),
        (Some(true), Some("negative"), Some("urgent")),
        "{x}"
    );
    let angry = tags_of(&t, "angry").await;
    assert_eq!(angry["priority"], "urgent", "{angry}");
    let t = customer_ticket(&app, "ยังไม่ได้รับพัสดุเลยค่ะ รอนานมาก", "c@example.com").await;
    let x = &triaged(&app, &t, 1).await[0];
    assert_eq!(
        (x["lang"].as_str(), x["category"].as_str()),
        (Some("th"), Some("delivery")),
        "{x}"
    );
    let th = tags_of(&t, "th-delivery").await;
    assert_eq!(th["team_id"], logistics["id"], "{th}");
    assert!(
        !th["tags"].as_array().unwrap().iter().any(|v| v == "angry"),
        "{th}"
    );
    // The rules have read later messages, so the first one's are settled: a
    // calm Russian delivery question is left as it came.
    let calm = app
        .get(&format!("/api/v1/tickets/{first}"))
        .await
        .expect(200);
    assert_eq!(
        (calm["tags"].clone(), calm["priority"].as_str()),
        (json!([]), Some("normal")),
        "{calm}"
    );
    let t = customer_ticket(
        &app,
        "Hello, I'd like to return the jacket, it doesn't fit",
        "d@example.com",
    )
    .await;
    let x = &triaged(&app, &t, 1).await[0];
    assert_eq!(
        (x["lang"].as_str(), x["category"].as_str()),
        (Some("en"), Some("returns")),
        "{x}"
    );
    // An agent's note is not the customer's: not triaged.
    let note = app
        .post(
            &format!("/api/v1/tickets/{t}/messages"),
            json!({"body": "Проверить склад", "visibility": "internal"}),
        )
        .await
        .expect(201);
    app.drain_jobs().await;
    app.req(
        "PUT",
        &format!(
            "/api/v1/tickets/{t}/messages/{}/triage",
            note["id"].as_str().unwrap()
        ),
        &app.token,
        Some(json!({"category": "returns"})),
    )
    .await
    .problem(409);
    assert_eq!(triaged(&app, &t, 1).await.len(), 1);

    // A message nothing teaches is not sorted into "bonus"; an agent's
    // correction is shown and learnt: the next such message is.
    let t = customer_ticket(
        &app,
        "Как списать баллы программы лояльности?",
        "e@example.com",
    )
    .await;
    let x = triaged(&app, &t, 1).await[0].clone();
    assert_ne!(x["category"], "bonus", "{x}");
    let path = format!(
        "/api/v1/tickets/{t}/messages/{}/triage",
        x["message_id"].as_str().unwrap()
    );
    app.req(
        "PUT",
        &path,
        &app.token,
        Some(json!({"category": "nonexistent"})),
    )
    .await
    .problem(409);
    let (_, light) = app.user("light@alpha.test", "light_agent").await;
    app.req("PUT", &path, &light, Some(json!({"category": "bonus"})))
        .await
        .problem(403);
    let fixed = app
        .req("PUT", &path, &app.token, Some(json!({"category": "bonus"})))
        .await
        .expect(200);
    assert_eq!(
        (
            fixed["category"].as_str(),
            fixed["category_confidence"].as_f64()
        ),
        (Some("bonus"), Some(1.0)),
        "{fixed}"
    );
    assert!(fixed["corrected_by"].is_string(), "{fixed}");
    let t = customer_ticket(
        &app,
        "Сколько баллов лояльности можно списать?",
        "f@example.com",
    )
    .await;
    let x = &triaged(&app, &t, 1).await[0];
    assert_eq!(x["category"], "bonus", "{x}");
    // Agents see it on the ticket, and correct it there.
    let number = app.get(&format!("/api/v1/tickets/{t}")).await.expect(200)["number"]
        .as_i64()
        .unwrap();
    let agent = crate::ui::Agent::login(&app, "owner@alpha.test", "alpha-password").await;
    let page = agent.page(&format!("/app/t/{number}")).await;
    assert!(
        page.contains("class=\"triage\"")
            && page.contains("Бонусы")
            && page.contains("lang=\"ru\""),
        "{page}"
    );
    let m = x["message_id"].as_str().unwrap().to_owned();
    let form = [("message", m.as_str()), ("category", "payment")];
    assert_eq!(
        agent
            .post(&format!("/app/t/{number}/triage"), &form, false)
            .await
            .status(),
        403
    );
    assert_eq!(
        agent
            .post(&format!("/app/t/{number}/triage"), &form, true)
            .await
            .status(),
        303
    );
    let items = triaged(&app, &t, 1).await;
    assert_eq!(
        (
            items[0]["category"].as_str(),
            items[0]["corrected_by"].is_string()
        ),
        (Some("payment"), true),
        "{items:?}"
    );
    // Both are events, for rules and reports.
    let p = app.engine.cli_principal("alpha").await.unwrap();
    let kinds: Vec<&str> = crate::helpers::all_events(&app.engine, &p)
        .await
        .iter()
        .map(|e| e.data.kind())
        .collect();
    assert!(
        kinds.contains(&"message.triaged") && kinds.contains(&"message.triage_corrected"),
        "{kinds:?}"
    );
}

/// Two server processes on one PostgreSQL follow the log and run the triage
/// jobs: every customer's message is read once, never twice, and a rule on
/// what triage read fires once per ticket.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_nodes_triage_each_message_once() {
    use domain::event::EventData;
    let Some(cluster) = crate::helpers::PgCluster::start(
        "assist::two_nodes_triage_each_message_once",
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
    for (key, examples) in [
        (
            "delivery",
            vec!["где мой заказ", "курьер не приехал", "посылка не пришла"],
        ),
        (
            "returns",
            vec![
                "хочу вернуть товар",
                "как оформить возврат",
                "верните деньги",
            ],
        ),
    ] {
        engine
            .save_triage_category(
                &p,
                None,
                domain::assist::CategorySpec {
                    key: key.into(),
                    name: key.into(),
                    description: String::new(),
                    examples: examples.into_iter().map(str::to_owned).collect(),
                    team_id: None,
                    priority: None,
                },
            )
            .await
            .expect("category");
    }
    engine
        .create_rule(
            &p,
            engine::rules::RuleInput {
                name: Some("delivery".into()),
                position: None,
                active: Some(true),
                spec: Some(
                    serde_json::from_value(json!({"kind": "trigger", "on": ["message.triaged"],
                        "all": [{"field": "triage_category", "op": "is", "value": "delivery"}],
                        "actions": [{"type": "add_tags", "tags": ["delivery"]}]}))
                    .expect("spec"),
                ),
            },
        )
        .await
        .expect("rule");
    let (mut a, mut b) = (cluster.node(1, 1), cluster.node(2, 1));
    until("the nodes follow the log", 60, async || {
        let all = engine.consumer_status().await.ok()?;
        all.iter().any(|c| c.name == "triage").then_some(())
    })
    .await;
    const TICKETS: usize = 40;
    for i in 0..TICKETS {
        let text = if i % 2 == 0 {
            format!("Где мой заказ {i}? Курьер так и не приехал")
        } else {
            format!("Хочу вернуть товар из заказа {i}, оформите возврат")
        };
        let t = engine::tickets::NewTicket::from_email(
            &format!("Заказ {i}"),
            &format!("c{i}@pair.test"),
            &text,
        )
        .expect("a ticket");
        engine.create_ticket(&p, t, None).await.expect("ticket");
    }
    let read = async || {
        let events = crate::helpers::all_events(&engine, &p).await;
        let mut triaged = std::collections::HashMap::<_, usize>::new();
        let mut delivery = std::collections::HashSet::new();
        let mut fired = std::collections::HashMap::<_, usize>::new();
        for e in events {
            match e.data {
                EventData::MessageTriaged {
                    message_id,
                    ticket_id,
                    category,
                    ..
                } => {
                    *triaged.entry(message_id).or_default() += 1;
                    if category.as_deref() == Some("delivery") {
                        delivery.insert(ticket_id);
                    }
                }
                EventData::RuleFired { ticket_id, .. } => *fired.entry(ticket_id).or_default() += 1,
                _ => {}
            }
        }
        (triaged, delivery, fired)
    };
    let t0 = std::time::Instant::now();
    loop {
        let (triaged, delivery, fired) = read().await;
        if triaged.len() >= TICKETS && fired.len() >= delivery.len() {
            break;
        }
        assert!(
            t0.elapsed() < std::time::Duration::from_secs(120),
            "{} of {TICKETS} triaged, {} fired\n{}",
            triaged.len(),
            fired.len(),
            crate::helpers::node_logs(cluster.dir.path())
        );
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
    // A second reading would come within a pass or two.
    tokio::time::sleep(std::time::Duration::from_secs(2)).await;
    let _ = a.kill().await;
    let _ = b.kill().await;
    let (triaged, delivery, fired) = read().await;
    assert_eq!(triaged.len(), TICKETS);
    assert!(triaged.values().all(|&n| n == 1), "a message read twice");
    assert!(
        delivery.len() >= TICKETS / 2 - 2,
        "{} of {} delivery questions sorted as such",
        delivery.len(),
        TICKETS / 2
    );
    assert_eq!(
        fired
            .keys()
            .copied()
            .collect::<std::collections::HashSet<_>>(),
        delivery,
        "the rule fires on what triage read as delivery, and only there"
    );
    assert!(fired.values().all(|&n| n == 1), "a rule fired twice");
}

/// Two server processes on one PostgreSQL take the bot's turns: each
/// customer's question is answered once, each "yes" thanked once, whichever
/// node's worker took the job — no chat gets two answers.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_nodes_take_each_bot_turn_once() {
    use domain::event::EventData;
    use std::collections::HashMap;
    let Some(cluster) = crate::helpers::PgCluster::start(
        "assist::two_nodes_take_each_bot_turn_once",
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
    for (question, phrasings, answer) in [
        (
            "Где мой заказ?",
            vec!["Как отследить заказ", "Когда привезут заказ", "где посылка"],
            "Откройте «Мои заказы» и нажмите «Отследить».",
        ),
        (
            "Как вернуть товар?",
            vec!["Хочу оформить возврат", "верните деньги за покупку"],
            "Возврат оформляется в разделе «Мои заказы» в течение 14 дней.",
        ),
    ] {
        engine
            .create_faq(
                &p,
                engine::kb::NewFaq {
                    lang: "ru".into(),
                    question: question.into(),
                    phrasings: phrasings.into_iter().map(str::to_owned).collect(),
                    answer: answer.into(),
                    category: None,
                    article_id: None,
                    group_id: None,
                },
            )
            .await
            .expect("faq");
    }
    let (channel, _) = engine
        .create_chat_channel(
            &p,
            engine::chat::ChatInput {
                name: Some("Site chat".into()),
                settings: None,
                active: Some(true),
                rotate_identity_secret: false,
            },
        )
        .await
        .expect("chat channel");
    let widget = engine.widget(&channel.widget_key).await.expect("widget");
    let (mut a, mut b) = (cluster.node(1, 2), cluster.node(2, 2));
    const CHATS: usize = 16;
    let mut visitors = Vec::new();
    for i in 0..CHATS {
        let (v, _) = engine
            .create_visitor(
                &widget,
                engine::chat::NewVisitor {
                    name: Some(format!("Гость {i}")),
                    email: None,
                    phone: None,
                    lang: Some("ru".into()),
                    identity: None,
                    page_url: None,
                    page_title: None,
                },
            )
            .await
            .expect("visitor");
        let text = if i % 2 == 0 {
            "Когда привезут мой заказ?"
        } else {
            "Хочу вернуть товар, оформите возврат"
        };
        engine
            .visitor_send(
                &widget,
                &v,
                engine::chat::VisitorMessage {
                    client_id: format!("q-{i}"),
                    text: text.into(),
                    attachments: Vec::new(),
                },
            )
            .await
            .expect("question");
        visitors.push(v);
    }
    // (answers, feedback, hand-offs) per ticket
    type Turns = HashMap<domain::ids::TicketId, (usize, usize, usize)>;
    let read = async || {
        let mut per: Turns = HashMap::new();
        for e in crate::helpers::all_events(&engine, &p).await {
            match e.data {
                EventData::BotAnswered { ticket_id, .. } => {
                    per.entry(ticket_id).or_default().0 += 1
                }
                EventData::BotFeedback { ticket_id, .. } => {
                    per.entry(ticket_id).or_default().1 += 1
                }
                EventData::BotHandedOff { ticket_id, .. } => {
                    per.entry(ticket_id).or_default().2 += 1
                }
                _ => {}
            }
        }
        per
    };
    let wait = async |what: &str, done: &dyn Fn(&Turns) -> bool| {
        let t0 = std::time::Instant::now();
        loop {
            let per = read().await;
            if done(&per) {
                return;
            }
            assert!(
                t0.elapsed() < std::time::Duration::from_secs(120),
                "{what}: {per:?}\n{}",
                crate::helpers::node_logs(cluster.dir.path())
            );
            tokio::time::sleep(std::time::Duration::from_millis(200)).await;
        }
    };
    wait("every question answered", &|per| {
        per.len() >= CHATS && per.values().all(|c| c.0 >= 1)
    })
    .await;
    for (i, v) in visitors.iter().enumerate() {
        engine
            .visitor_send(
                &widget,
                v,
                engine::chat::VisitorMessage {
                    client_id: format!("yes-{i}"),
                    text: "да, спасибо".into(),
                    attachments: Vec::new(),
                },
            )
            .await
            .expect("yes");
    }
    wait("every yes heard", &|per| per.values().all(|c| c.1 >= 1)).await;
    // A second turn would come within a pass or two.
    tokio::time::sleep(std::time::Duration::from_secs(2)).await;
    let _ = a.kill().await;
    let _ = b.kill().await;
    let per = read().await;
    assert_eq!(per.len(), CHATS);
    assert!(
        per.values().all(|c| *c == (1, 1, 0)),
        "one answer and one thanks per chat, no hand-off: {per:?}"
    );
    for v in &visitors {
        let said: Vec<String> = engine
            .visitor_messages(v, None, 50)
            .await
            .expect("messages")
            .into_iter()
            .filter(|m| m.author == "bot")
            .map(|m| m.message.body_text)
            .collect();
        assert_eq!(said.len(), 2, "{said:?}");
    }
    cluster.finish().await;
}

async fn agents_get_suggested_replies_from_solutions_answers_and_solved_tickets(app: TestApp) {
    let ticket = async |subject: &str, body: &str, email: &str| -> (String, i64) {
        let t = app
            .post("/api/v1/tickets", json!({"subject": subject, "customer": {"email": email}, "message": {"body": body}}))
            .await
            .expect(201);
        (
            t["id"].as_str().unwrap().to_owned(),
            t["number"].as_i64().unwrap(),
        )
    };
    let say = async |t: &str, body: &str, visibility: &str| -> String {
        app.post(
            &format!("/api/v1/tickets/{t}/messages"),
            json!({"body": body, "visibility": visibility}),
        )
        .await
        .expect(201)["id"]
            .as_str()
            .unwrap()
            .to_owned()
    };
    // A card payment problem, solved by a note marked as the solution.
    let (paid, paid_no) = ticket(
        "Не проходит оплата картой Visa",
        "Банк отклоняет платёж картой",
        "anna@example.com",
    )
    .await;
    let note = say(
        &paid,
        "Попросите клиента включить 3-D Secure в приложении банка",
        "internal",
    )
    .await;
    app.req(
        "PUT",
        &format!("/api/v1/tickets/{paid}/messages/{note}/solution"),
        &app.token,
        Some(json!({"solution": true})),
    )
    .await
    .expect(204);
    // A parcel that never came: answered and solved.
    let (late, late_no) = ticket(
        "Посылка не пришла",
        "Заказ 5531 так и не доставили, курьер не приехал",
        "boris@example.com",
    )
    .await;
    say(
        &late,
        "Курьер задержался, доставим завтра до 18:00",
        "public",
    )
    .await;
    app.patch(
        &format!("/api/v1/tickets/{late}"),
        json!({"status": "solved"}),
    )
    .await
    .expect(200);
    // The same question still open: its reply answered nothing yet.
    let (open, _) = ticket(
        "Посылка не пришла",
        "Курьер не приехал, заказ не доставили",
        "vera@example.com",
    )
    .await;
    say(&open, "Уточняем у службы доставки", "public").await;
    app.post(
        "/api/v1/kb/faq",
        json!({"lang": "ru", "question": "Где мой заказ?", "phrasings": ["курьер не приехал", "заказ не доставили"],
            "answer": "Откройте «Мои заказы» и нажмите «Отследить».", "group_id": null}),
    )
    .await
    .expect(201);

    let (asks, _) = ticket(
        "Посылка не пришла",
        "Курьер так и не приехал, где заказ?",
        "gleb@example.com",
    )
    .await;
    let suggestions = |t: String, want: &'static str| {
        let app = &app;
        async move {
            until(want, 30, async || {
                let s = app
                    .get(&format!("/api/v1/tickets/{t}/suggestions?limit=10"))
                    .await
                    .expect(200);
                let items = s["items"].as_array()?.clone();
                items.iter().any(|i| i["kind"] == want).then_some(items)
            })
            .await
        }
    };
    let items = suggestions(asks.clone(), "reply").await;
    let items = if items.iter().any(|i| i["kind"] == "faq") {
        items
    } else {
        suggestions(asks.clone(), "faq").await
    };
    let reply = items.iter().find(|i| i["kind"] == "reply").unwrap();
    assert_eq!(reply["ticket_number"], late_no, "{items:?}");
    assert_eq!(reply["text"], "Курьер задержался, доставим завтра до 18:00");
    assert!(reply["message_id"].is_string() && reply["faq_id"].is_null());
    let faq = items.iter().find(|i| i["kind"] == "faq").unwrap();
    assert_eq!(faq["title"], "Где мой заказ?");
    assert!(faq["text"].as_str().unwrap().contains("Отследить"), "{faq}");
    assert!(
        faq["faq_id"].is_string() && faq["ticket_id"].is_null(),
        "{faq}"
    );
    for i in &items {
        assert_ne!(i["ticket_id"], json!(asks), "its own ticket: {i}");
        assert_ne!(
            i["ticket_id"],
            json!(open),
            "an unsolved ticket's reply: {i}"
        );
    }

    let (card, _) = ticket(
        "Оплата картой не проходит",
        "Банк отклонил платёж по карте Visa",
        "dina@example.com",
    )
    .await;
    let items = suggestions(card.clone(), "solution").await;
    assert_eq!(
        items[0]["kind"], "solution",
        "solutions come first: {items:?}"
    );
    assert_eq!(items[0]["ticket_number"], paid_no);
    assert!(items[0]["text"].as_str().unwrap().contains("3-D Secure"));

    // Bounds, and who may ask.
    let one = app
        .get(&format!("/api/v1/tickets/{card}/suggestions?limit=1"))
        .await
        .expect(200);
    assert_eq!(one["items"].as_array().unwrap().len(), 1);
    for bad in ["0", "21", "x"] {
        let r = app
            .get(&format!("/api/v1/tickets/{card}/suggestions?limit={bad}"))
            .await;
        assert!(
            matches!(r.status.as_u16(), 400 | 422),
            "limit={bad}: {}",
            r.status
        );
    }
    app.get("/api/v1/tickets/999999/suggestions")
        .await
        .problem(404);
    let (_, light) = app.user("light@alpha.test", "light_agent").await;
    app.req(
        "GET",
        &format!("/api/v1/tickets/{card}/suggestions"),
        &light,
        None,
    )
    .await
    .problem(403);
}

/// The visitor's view of their chat: (author kind, text), oldest first.
pub(crate) async fn chat_log(app: &TestApp, key: &str, token: &str) -> Vec<(String, String)> {
    crate::chat::from_site(
        app,
        "GET",
        &format!("/widget/v1/{key}/messages"),
        crate::chat::SHOP,
        Some(token),
        None,
    )
    .await
    .expect(200)["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| {
            (
                m["author"]["kind"].as_str().unwrap_or_default().to_owned(),
                m["text"].as_str().unwrap_or_default().to_owned(),
            )
        })
        .collect()
}

async fn bot_events(app: &TestApp, ticket: &str) -> Vec<Value> {
    app.get(&format!("/api/v1/tickets/{ticket}/events"))
        .await
        .expect(200)["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["kind"].as_str().is_some_and(|k| k.starts_with("bot.")))
        .cloned()
        .collect()
}

async fn the_bot_takes_the_first_turn_in_chat_and_hands_off_to_people(app: TestApp) {
    use crate::chat::{SHOP, from_site, visitor};
    let support = app
        .post(
            "/api/v1/teams",
            json!({"name": "Поддержка", "routing": "round_robin"}),
        )
        .await
        .expect(201)["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let (agent, _) = app.user("ivan@alpha.test", "agent").await;
    app.patch(
        &format!("/api/v1/users/{agent}"),
        json!({"team_ids": [support], "presence": "online", "channel_capacity": {"chat": 5}}),
    )
    .await
    .expect(200);
    app.req(
        "PUT",
        "/api/v1/assist/settings",
        &app.token,
        Some(
        json!({"bot_enabled": true, "bot_on_email": false, "threshold": 0.5, "handoff_team_id": support})),
    )
    .await
    .expect(200);
    faq(
        &app,
        "ru",
        "Где мой заказ?",
        &[
            "Как отследить заказ",
            "Когда привезут заказ",
            "где посылка",
            "скоро ли доставка",
        ],
        "Откройте «Мои заказы» и нажмите «Отследить».",
        None,
    )
    .await;
    faq(
        &app,
        "ru",
        "Как вернуть товар?",
        &[
            "Хочу оформить возврат",
            "верните деньги за покупку",
            "как сдать товар обратно",
        ],
        "Возврат оформляется в разделе «Мои заказы» в течение 14 дней.",
        None,
    )
    .await;
    let key = app
        .post(
            "/api/v1/channels/chat",
            json!({"name": "Site chat", "allowed_origins": [SHOP]}),
        )
        .await
        .expect(201)["widget_key"]
        .as_str()
        .unwrap()
        .to_owned();
    let say = async |token: &str, client_id: &str, text: &str| -> String {
        from_site(
            &app,
            "POST",
            &format!("/widget/v1/{key}/messages"),
            SHOP,
            Some(token),
            Some(json!({"client_id": client_id, "text": text})),
        )
        .await
        .expect(201)["ticket_id"]
            .as_str()
            .unwrap()
            .to_owned()
    };

    // A question it knows: answered with the FAQ, then "did this help?"; the
    // chat is not given to anyone meanwhile.
    let anna = visitor(&app, &key, json!({"name": "Анна", "lang": "ru"})).await;
    let t = say(&anna, "a-1", "Когда привезут мой заказ?").await;
    app.drain_jobs().await;
    let log = chat_log(&app, &key, &anna).await;
    let (who, text) = log.last().unwrap();
    assert_eq!(who, "bot", "{log:?}");
    assert!(
        text.contains("Отследить") && text.contains("«да» или «нет»"),
        "{text}"
    );
    let ticket = app.get(&format!("/api/v1/tickets/{t}")).await.expect(200);
    assert!(
        ticket["assignee_id"].is_null(),
        "routing waits for the bot: {ticket}"
    );
    // "Yes" (the widget offers it as a button): the bot thanks, the
    // conversation is solved without a person.
    let items = from_site(
        &app,
        "GET",
        &format!("/widget/v1/{key}/messages"),
        SHOP,
        Some(&anna),
        None,
    )
    .await
    .expect(200)["items"]
        .clone();
    let n = items.as_array().unwrap().len();
    assert_eq!(
        items[n - 1]["quick_replies"],
        json!(["Да", "Нет"]),
        "{items}"
    );
    assert_eq!(items[n - 2]["quick_replies"], json!([]), "{items}");
    say(
        &anna,
        "a-2",
        items[n - 1]["quick_replies"][0].as_str().unwrap(),
    )
    .await;
    app.drain_jobs().await;
    let ticket = app.get(&format!("/api/v1/tickets/{t}")).await.expect(200);
    assert_eq!(ticket["status"], "solved", "{ticket}");
    assert!(ticket["assignee_id"].is_null(), "{ticket}");
    let kinds: Vec<Value> = bot_events(&app, &t)
        .await
        .iter()
        .map(|e| json!([e["kind"], e["data"]["helpful"]]))
        .collect();
    assert_eq!(
        kinds,
        vec![json!(["bot.answered", null]), json!(["bot.feedback", true])]
    );
    let answered = &bot_events(&app, &t).await[0];
    assert!(
        answered["data"]["faq_id"].is_string()
            && answered["data"]["confidence"].as_f64().unwrap() >= 0.5
    );

    // "No": handed off to the team, with a note; routing gives it to the agent.
    let boris = visitor(&app, &key, json!({"name": "Борис", "lang": "ru"})).await;
    let t = say(&boris, "b-1", "Хочу оформить возврат").await;
    app.drain_jobs().await;
    assert_eq!(chat_log(&app, &key, &boris).await.last().unwrap().0, "bot");
    say(&boris, "b-2", "Нет, не помогло").await;
    app.drain_jobs().await;
    crate::routing::routed(&app).await;
    let ticket = app.get(&format!("/api/v1/tickets/{t}")).await.expect(200);
    assert_eq!(
        (ticket["team_id"].as_str(), ticket["assignee_id"].as_str()),
        (Some(support.as_str()), Some(agent.as_str())),
        "{ticket}"
    );
    let log = chat_log(&app, &key, &boris).await;
    assert!(log.last().unwrap().1.contains("специалисту"), "{log:?}");
    let events = bot_events(&app, &t).await;
    let last = events.last().unwrap();
    assert_eq!(
        (last["kind"].as_str(), last["data"]["reason"].as_str()),
        (Some("bot.handed_off"), Some("not_helpful")),
        "{events:?}"
    );
    // The bot says no more once people have the chat.
    let before = chat_log(&app, &key, &boris).await.len();
    say(&boris, "b-3", "Когда привезут мой заказ?").await;
    app.drain_jobs().await;
    let log = chat_log(&app, &key, &boris).await;
    assert_eq!(log.len(), before + 1, "{log:?}");
    assert_eq!(log.last().unwrap().0, "visitor");

    // Asking for a person, in three languages: handed off at once, never answered.
    for (i, ask) in [
        "Позовите человека, пожалуйста",
        "I want to talk to a human",
        "ขอคุยกับพนักงานค่ะ",
    ]
    .iter()
    .enumerate()
    {
        let v = visitor(&app, &key, json!({"name": format!("V{i}")})).await;
        let t = say(&v, &format!("h-{i}"), ask).await;
        app.drain_jobs().await;
        let log = chat_log(&app, &key, &v).await;
        assert_eq!(log.len(), 2, "{ask}: {log:?}");
        assert!(!log[1].1.contains("Отследить"), "{ask}: {log:?}");
        let events = bot_events(&app, &t).await;
        assert_eq!(events.len(), 1, "{events:?}");
        assert_eq!(events[0]["data"]["reason"], "asked_for_human", "{ask}");
        // The agents' note carries the bot's reason.
        let notes = app
            .get(&format!("/api/v1/tickets/{t}/messages"))
            .await
            .expect(200)["items"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|m| m["visibility"] == "internal")
            .count();
        assert_eq!(notes, 1, "{ask}");
    }

    // A question it is unsure of is never answered: the threshold goes up.
    app.req(
        "PUT",
        "/api/v1/assist/settings",
        &app.token,
        Some(
        json!({"bot_enabled": true, "bot_on_email": false, "threshold": 0.99, "handoff_team_id": support})),
    )
    .await
    .expect(200);
    let v = visitor(&app, &key, json!({"name": "Глеб", "lang": "ru"})).await;
    let t = say(&v, "g-1", "А посылку можно получить в другом городе?").await;
    app.drain_jobs().await;
    let log = chat_log(&app, &key, &v).await;
    assert!(
        log.iter()
            .all(|(_, text)| !text.contains("Отследить") && !text.contains("14 дней")),
        "{log:?}"
    );
    let events = bot_events(&app, &t).await;
    assert_eq!(events[0]["data"]["reason"], "low_confidence", "{events:?}");
}

async fn a_conversation_with_the_bot_survives_restarts(app: TestApp) {
    use crate::chat::{SHOP, from_site, visitor};
    faq(
        &app,
        "en",
        "Where is my order?",
        &[
            "How do I track my order",
            "When will my parcel arrive",
            "where is my parcel",
        ],
        "Open “My orders” and press “Track”.",
        None,
    )
    .await;
    let key = app
        .post(
            "/api/v1/channels/chat",
            json!({"name": "Site chat", "allowed_origins": [SHOP]}),
        )
        .await
        .expect(201)["widget_key"]
        .as_str()
        .unwrap()
        .to_owned();
    let anna = visitor(&app, &key, json!({"name": "Anna", "lang": "en"})).await;
    let say = |client_id: &'static str, text: &'static str| {
        let (key, anna) = (key.clone(), anna.clone());
        async move |app: &TestApp| {
            from_site(
                app,
                "POST",
                &format!("/widget/v1/{key}/messages"),
                SHOP,
                Some(&anna),
                Some(json!({"client_id": client_id, "text": text})),
            )
            .await
            .expect(201)["ticket_id"]
                .as_str()
                .unwrap()
                .to_owned()
        }
    };
    // The question is stored and the server stops before the bot's turn.
    let t = say("r-1", "When will my parcel arrive?")(&app).await;
    let app = app.restart().await;
    app.drain_jobs().await;
    let log = chat_log(&app, &key, &anna).await;
    assert_eq!(log.len(), 2, "{log:?}");
    assert!(log[1].1.contains("Track"), "{log:?}");
    // It waits for the answer to its question across another restart.
    let app = app.restart().await;
    say("r-2", "yes, thanks")(&app).await;
    app.drain_jobs().await;
    let ticket = app.get(&format!("/api/v1/tickets/{t}")).await.expect(200);
    assert_eq!(ticket["status"], "solved", "{ticket}");
    let kinds: Vec<String> = bot_events(&app, &t)
        .await
        .iter()
        .map(|e| e["kind"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(
        kinds,
        ["bot.answered", "bot.feedback"],
        "each turn taken once"
    );
}

/// The bot speaks in Telegram as in the widget: its answer and its hand-off go
/// out through the Bot API.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_bot_answers_and_hands_off_in_telegram() {
    use crate::telegram::{CHAT, TOKEN, connect, deliver, update};
    let app = crate::telegram::app_with_public_url(crate::helpers::Backend::Sqlite)
        .await
        .expect("app");
    faq(
        &app,
        "ru",
        "Где мой заказ?",
        &[
            "Как отследить заказ",
            "Когда привезут заказ",
            "где посылка",
            "скоро ли доставка",
        ],
        "Откройте «Мои заказы» и нажмите «Отследить».",
        None,
    )
    .await;
    let bot = channels::telegram_stand_in::StandIn::start(TOKEN)
        .await
        .expect("stand-in");
    let (channel, secret) = connect(&app, &bot).await;
    deliver(
        &app,
        &channel,
        Some(&secret),
        &update(1, 10, json!({"text": "Когда привезут мой заказ?"})),
    )
    .await
    .expect(200);
    app.drain_jobs().await;
    let sent = bot.calls_of("sendMessage");
    assert_eq!(sent.len(), 1, "{sent:?}");
    assert_eq!(sent[0]["chat_id"], CHAT);
    let text = sent[0]["text"].as_str().unwrap();
    assert!(
        text.contains("Отследить") && text.contains("«да» или «нет»"),
        "{text}"
    );
    deliver(
        &app,
        &channel,
        Some(&secret),
        &update(2, 11, json!({"text": "Позовите оператора"})),
    )
    .await
    .expect(200);
    app.drain_jobs().await;
    let sent = bot.calls_of("sendMessage");
    assert_eq!(sent.len(), 2, "{sent:?}");
    assert!(
        sent[1]["text"].as_str().unwrap().contains("специалисту"),
        "{sent:?}"
    );
    let list = app
        .get("/api/v1/tickets?channel=telegram")
        .await
        .expect(200);
    let t = list["items"][0]["id"].as_str().unwrap().to_owned();
    let reasons: Vec<Value> = bot_events(&app, &t)
        .await
        .iter()
        .map(|e| json!([e["kind"], e["data"]["reason"]]))
        .collect();
    assert_eq!(
        reasons,
        [
            json!(["bot.answered", null]),
            json!(["bot.handed_off", "asked_for_human"])
        ]
    );
}

fn flow_order_status() -> Value {
    json!({"key": "order-status", "name": "Статус заказа",
    "phrases": ["где мой заказ", "когда привезут заказ", "статус заказа", "where is my order"],
    "steps": [
        {"type": "ask", "var": "number", "expect": "order_number", "skip_if_order": true,
         "prompt": {"ru": "Назовите номер заказа.", "en": "Your order number?"}},
        {"type": "find_order", "var": "number", "not_found": {"ru": "Не нахожу заказ {{answer.number}}."}},
        {"type": "say", "text": {"ru": "Заказ {{order.number}}: {{order.status}}. {{order.carrier}} {{order.tracking_number}}"}}
    ]})
}

async fn flows_are_kept_as_data_and_checked_whole(app: TestApp) {
    let f = app
        .post("/api/v1/assist/flows", flow_order_status())
        .await
        .expect(201);
    assert_eq!(f["steps"].as_array().unwrap().len(), 3, "{f}");
    assert_eq!(f["steps"][0]["expect"], "order_number");
    let id = f["id"].as_str().unwrap().to_owned();
    // The key is taken; steps that do not hang together; a shape that is wrong.
    app.post("/api/v1/assist/flows", flow_order_status())
        .await
        .problem(409);
    let mut incoherent = flow_order_status();
    incoherent["key"] = json!("other");
    incoherent["steps"][2]["text"]["ru"] = json!("{{answer.reason}}");
    let p = app
        .post("/api/v1/assist/flows", incoherent)
        .await
        .problem(409);
    assert!(
        p["detail"].as_str().unwrap().contains("answer.reason"),
        "{p}"
    );
    let mut unknown = flow_order_status();
    unknown["key"] = json!("other");
    unknown["steps"][2]["text"]["ru"] = json!("{{order.price}}");
    app.post("/api/v1/assist/flows", unknown).await.problem(422);
    let mut shapeless = flow_order_status();
    shapeless["key"] = json!("other");
    shapeless["steps"][0]["type"] = json!("dance");
    app.post("/api/v1/assist/flows", shapeless)
        .await
        .problem(422);
    let mut nowhere = flow_order_status();
    nowhere["key"] = json!("other");
    nowhere["steps"] = json!([{"type": "handoff", "team_id": "01936f1e-7b2a-7c41-9a55-0d3c7e2b9f99", "text": {"en": "Bye"}}]);
    app.post("/api/v1/assist/flows", nowhere).await.problem(404);
    // Agents may read; only admins write.
    let (_, agent) = app.user("agent@alpha.test", "agent").await;
    let listed = app
        .req("GET", "/api/v1/assist/flows", &agent, None)
        .await
        .expect(200);
    assert_eq!(listed["items"].as_array().unwrap().len(), 1);
    app.req(
        "DELETE",
        &format!("/api/v1/assist/flows/{id}"),
        &agent,
        None,
    )
    .await
    .problem(403);
    let mut off = flow_order_status();
    off["active"] = json!(false);
    let put = app
        .req(
            "PUT",
            &format!("/api/v1/assist/flows/{id}"),
            &app.token,
            Some(off),
        )
        .await
        .expect(200);
    assert_eq!(put["active"], false);
    app.req(
        "DELETE",
        &format!("/api/v1/assist/flows/{id}"),
        &app.token,
        None,
    )
    .await
    .expect(204);
    app.get(&format!("/api/v1/assist/flows/{id}"))
        .await
        .problem(404);
}

async fn the_bot_leads_order_status_and_return_flows_across_a_restart(app: TestApp) {
    use crate::chat::{SHOP, from_site, visitor};
    let returns = app
        .post("/api/v1/teams", json!({"name": "Возвраты"}))
        .await
        .expect(201)["id"]
        .as_str()
        .unwrap()
        .to_owned();
    app.post("/api/v1/assist/flows", flow_order_status())
        .await
        .expect(201);
    app.post(
        "/api/v1/assist/flows",
        json!({"key": "return", "name": "Возврат",
            "phrases": ["хочу вернуть товар", "оформить возврат", "вернуть заказ", "возврат денег"],
            "steps": [
                {"type": "ask", "var": "number", "expect": "order_number", "prompt": {"ru": "Какой заказ? Назовите номер."}},
                {"type": "find_order", "var": "number", "not_found": {"ru": "Не нахожу заказ {{answer.number}} среди ваших."}},
                {"type": "ask", "var": "item", "prompt": {"ru": "Какой товар возвращаете?"}},
                {"type": "ask", "var": "reason", "expect": "choice", "choices": ["Не подошёл размер", "Брак"],
                 "prompt": {"ru": "Почему?"}},
                {"type": "file_ticket", "team_id": returns, "subject": "Возврат: заказ {{order.number}}, {{answer.item}}",
                 "note": "Товар: {{answer.item}}. Причина: {{answer.reason}}.", "tags": ["return"]},
                {"type": "say", "text": {"ru": "Заявка на возврат №{{ticket.number}} оформлена."}}
            ]}),
    )
    .await
    .expect(201);
    // An FAQ beside the flows: the bot tells them apart.
    faq(
        &app,
        "ru",
        "Как оплатить заказ картой?",
        &[
            "оплата картой",
            "можно ли заплатить картой",
            "принимаете ли карты",
        ],
        "Оплатить можно картой Visa, Mastercard или «Мир».",
        None,
    )
    .await;
    for (id, number, status) in [("A-1", "5531", "shipped"), ("A-2", "5540", "delivered")] {
        app.post(
            "/api/v1/orders",
            json!({"external_id": id, "number": number, "customer": {"name": "Анна", "external": "42"},
                "status": status, "currency": "rub", "total": "4990.00", "placed_at": "2026-11-20T10:00:00Z",
                "items": [{"sku": "SPK-1", "name": "Умная колонка", "quantity": 1, "price": "4990.00"}],
                "shipments": [{"carrier": "CDEK", "tracking_number": format!("RU{number}"), "status": "in_transit"}]}),
        )
        .await
        .expect(201);
    }
    let answer = app
        .post(
            "/api/v1/assist/answer",
            json!({"text": "Где мой заказ?", "lang": "ru", "channel": "chat"}),
        )
        .await
        .expect(200);
    assert_eq!(
        (answer["decision"].as_str(), answer["flow"].as_str()),
        (Some("flow"), Some("order-status")),
        "{answer}"
    );
    let chat = app
        .post(
            "/api/v1/channels/chat",
            json!({"name": "Site chat", "allowed_origins": [SHOP]}),
        )
        .await
        .expect(201);
    let key = chat["widget_key"].as_str().unwrap().to_owned();
    // The site vouches for its user 42: the visitor is that customer, whose
    // orders the store pushed. (A typed address would prove nothing.)
    let secret = chat["identity_secret"].as_str().unwrap().to_owned();
    let mac = engine::chat::identity_hmac(secret.as_bytes(), "42").expect("mac");
    let anna = visitor(
        &app,
        &key,
        json!({"name": "Анна", "lang": "ru", "identity": {"user_id": "42", "hmac": mac}}),
    )
    .await;
    let say = |client_id: &'static str, text: &'static str| {
        let (key, anna) = (key.clone(), anna.clone());
        async move |app: &TestApp| {
            from_site(
                app,
                "POST",
                &format!("/widget/v1/{key}/messages"),
                SHOP,
                Some(&anna),
                Some(json!({"client_id": client_id, "text": text})),
            )
            .await
            .expect(201)["ticket_id"]
                .as_str()
                .unwrap()
                .to_owned()
        }
    };
    let last = async |app: &TestApp| chat_log(app, &key, &anna).await.last().cloned().unwrap();

    // Order status: a customer with orders is not asked for a number.
    let t = say("s-1", "Где мой заказ?")(&app).await;
    app.drain_jobs().await;
    let log = chat_log(&app, &key, &anna).await;
    let said: Vec<&str> = log
        .iter()
        .filter(|(w, _)| w == "bot")
        .map(|(_, x)| x.as_str())
        .collect();
    assert!(
        said.iter()
            .any(|x| x.contains("Заказ 5540: delivered. CDEK RU5540")),
        "{log:?}"
    );
    assert!(log.last().unwrap().1.contains("«да» или «нет»"), "{log:?}");
    say("s-2", "да")(&app).await;
    app.drain_jobs().await;
    let ticket = app.get(&format!("/api/v1/tickets/{t}")).await.expect(200);
    assert_eq!(ticket["status"], "solved", "{ticket}");
    let events = bot_events(&app, &t).await;
    assert_eq!(events[0]["data"]["flow"], "order-status", "{events:?}");

    // A return: the number is asked (someone else's is not found), then the
    // item and the reason; the server restarts mid-flow.
    say("r-1", "Хочу вернуть товар")(&app).await;
    app.drain_jobs().await;
    assert!(last(&app).await.1.contains("Назовите номер"));
    say("r-2", "заказ 9999")(&app).await;
    app.drain_jobs().await;
    let log = chat_log(&app, &key, &anna).await;
    let n = log.len();
    assert!(
        log[n - 2].1.contains("Не нахожу заказ 9999") && log[n - 1].1.contains("Назовите номер"),
        "{log:?}"
    );
    say("r-3", "№5531")(&app).await;
    app.drain_jobs().await;
    assert!(last(&app).await.1.contains("Какой товар"));
    let app = app.restart().await;
    say("r-4", "колонка")(&app).await;
    app.drain_jobs().await;
    let q = last(&app).await.1;
    assert!(q.contains("Почему?") && q.contains("2. Брак"), "{q}");
    say("r-5", "2")(&app).await;
    app.drain_jobs().await;
    let confirm = last(&app).await.1;
    let tickets = app.get("/api/v1/tickets?channel=chat").await.expect(200);
    let filed = tickets["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|x| {
            x["tags"]
                .as_array()
                .is_some_and(|t| t.iter().any(|t| t == "return"))
        })
        .cloned()
        .expect("a ticket filed for returns");
    assert_eq!(filed["team_id"], returns.as_str(), "{filed}");
    assert_eq!(filed["subject"], "Возврат: заказ 5531, колонка", "{filed}");
    assert_eq!(
        confirm,
        format!("Заявка на возврат №{} оформлена.", filed["number"])
    );
    let fid = filed["id"].as_str().unwrap().to_owned();
    let note = app
        .get(&format!("/api/v1/tickets/{fid}/messages"))
        .await
        .expect(200)["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|m| m["visibility"] == "internal")
        .map(|m| m["body"].as_str().unwrap_or_default().to_owned())
        .collect::<Vec<_>>();
    assert!(
        note.iter().any(|n| n == "Товар: колонка. Причина: Брак."),
        "{note:?}"
    );
    let order = app
        .get(&format!("/api/v1/tickets/{fid}/order"))
        .await
        .expect(200);
    assert_eq!(order["order"]["number"], "5531", "{order}");
    let events = bot_events(&app, &fid).await;
    assert_eq!(
        events.last().unwrap()["data"]["reason"],
        "flow_filed",
        "{events:?}"
    );

    // A person can be asked for at any step.
    let boris = visitor(&app, &key, json!({"name": "Борис", "lang": "ru"})).await;
    let t = from_site(
        &app,
        "POST",
        &format!("/widget/v1/{key}/messages"),
        SHOP,
        Some(&boris),
        Some(json!({"client_id": "b-1", "text": "Хочу оформить возврат"})),
    )
    .await
    .expect(201)["ticket_id"]
        .as_str()
        .unwrap()
        .to_owned();
    app.drain_jobs().await;
    from_site(
        &app,
        "POST",
        &format!("/widget/v1/{key}/messages"),
        SHOP,
        Some(&boris),
        Some(json!({"client_id": "b-2", "text": "позовите оператора"})),
    )
    .await
    .expect(201);
    app.drain_jobs().await;
    let events = bot_events(&app, &t).await;
    assert_eq!(
        events.last().unwrap()["data"]["reason"],
        "asked_for_human",
        "{events:?}"
    );
}

/// The admin screen without script: the bot's settings, a triage category,
/// a flow added from its template, edited and removed.
async fn admins_keep_the_bot_categories_and_flows_on_one_screen(app: TestApp) {
    use crate::ui::Agent;
    let a = Agent::login(&app, "owner@alpha.test", "alpha-password").await;
    let page = a.page("/app/admin/bot").await;
    assert!(
        page.contains("No flows yet.") && page.contains("No categories yet."),
        "{page}"
    );
    let status = |r: reqwest::Response| r.status().as_u16();
    let settings = [
        ("bot_enabled", "on"),
        ("threshold", "0,8"),
        ("handoff_team", ""),
    ];
    assert_eq!(
        status(a.post("/app/admin/bot/settings", &settings, false).await),
        403
    );
    assert_eq!(
        status(a.post("/app/admin/bot/settings", &settings, true).await),
        303
    );
    let s = app.get("/api/v1/assist/settings").await.expect(200);
    assert_eq!(
        (
            s["bot_enabled"].as_bool(),
            s["bot_on_email"].as_bool(),
            s["threshold"].as_f64().map(|t| (t * 100.0).round())
        ),
        (Some(true), Some(false), Some(80.0)),
        "{s}"
    );
    let cat = [
        ("key", "delivery"),
        ("name", "Доставка"),
        ("description", "Где заказ"),
        ("examples", "где мой заказ\nкурьер не приехал\n\n"),
        ("team", ""),
        ("priority", "high"),
    ];
    assert_eq!(
        status(a.post("/app/admin/bot/categories", &cat, true).await),
        303
    );
    let cats = app.get("/api/v1/triage/categories").await.expect(200);
    assert_eq!(
        cats["items"][0]["examples"],
        json!(["где мой заказ", "курьер не приехал"])
    );
    assert_eq!(cats["items"][0]["priority"], "high");
    assert_eq!(
        status(
            a.post(
                "/app/admin/bot/flows",
                &[("template", "order-status"), ("team", "")],
                true
            )
            .await
        ),
        303
    );
    let flows = app.get("/api/v1/assist/flows").await.expect(200);
    let id = flows["items"][0]["id"].as_str().unwrap().to_owned();
    assert_eq!(flows["items"][0]["key"], "order-status");
    let edit = a.page(&format!("/app/admin/bot?flow={id}")).await;
    assert!(
        edit.contains("find_order") && edit.contains("где мой заказ"),
        "{edit}"
    );
    // Steps that are not JSON are refused, nothing changes.
    let broken = [
        ("id", id.as_str()),
        ("key", "order-status"),
        ("name", "Статус"),
        ("phrases", "где заказ"),
        ("steps", "[{"),
    ];
    assert_eq!(
        status(a.post("/app/admin/bot/flows", &broken, true).await),
        422
    );
    let steps = serde_json::to_string(&flows["items"][0]["steps"]).unwrap();
    let renamed = [
        ("id", id.as_str()),
        ("key", "order-status"),
        ("name", "Статус"),
        ("phrases", "где заказ\nстатус заказа"),
        ("steps", steps.as_str()),
    ];
    assert_eq!(
        status(a.post("/app/admin/bot/flows", &renamed, true).await),
        303
    );
    let f = app
        .get(&format!("/api/v1/assist/flows/{id}"))
        .await
        .expect(200);
    assert_eq!(
        (f["name"].as_str(), f["active"].as_bool()),
        (Some("Статус"), Some(false)),
        "{f}"
    );
    assert_eq!(f["phrases"], json!(["где заказ", "статус заказа"]));
    assert_eq!(
        status(
            a.post(
                "/app/admin/bot/flows",
                &[("id", id.as_str()), ("delete", "1")],
                true
            )
            .await
        ),
        303
    );
    app.get(&format!("/api/v1/assist/flows/{id}"))
        .await
        .problem(404);
}

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

/// The ticket's triage once it lists `want` messages (the consumer queues a
/// job per customer message; the test runs jobs itself).
async fn triaged(app: &TestApp, ticket: &str, want: usize) -> Vec<Value> {
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

    let t = customer_ticket(
        &app,
        "Когда привезут мой заказ? Жду уже неделю",
        "a@example.com",
    )
    .await;
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
    let t = customer_ticket(&app, "ยังไม่ได้รับพัสดุเลยค่ะ รอนานมาก", "c@example.com").await;
    let x = &triaged(&app, &t, 1).await[0];
    assert_eq!(
        (x["lang"].as_str(), x["category"].as_str()),
        (Some("th"), Some("delivery")),
        "{x}"
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

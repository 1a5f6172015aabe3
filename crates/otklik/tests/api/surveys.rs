//! Surveys beyond email: CSAT asked inside chat and messenger conversations
//! (score buttons in the widget, an inline keyboard in Telegram, a
//! call-to-action in WhatsApp), NPS on a schedule with its interval, and the
//! opt-out link that stops both.

use crate::helpers::{Backend, TestApp};
use crate::telegram::app_with_public_url;
use serde_json::{Value, json};

mod in_conversations {
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn sqlite() {
        let app = super::app_with_public_url(super::Backend::Sqlite)
            .await
            .expect("app");
        super::chat_and_messengers_are_asked_in_the_conversation(app).await;
    }
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn postgres() {
        if let Some(app) = super::app_with_public_url(super::Backend::Postgres).await {
            super::chat_and_messengers_are_asked_in_the_conversation(app).await;
        }
    }
}

mod nps {
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn sqlite() {
        let app = super::app_with_public_url(super::Backend::Sqlite)
            .await
            .expect("app");
        super::nps_comes_on_schedule_and_opting_out_stops_every_survey(app).await;
    }
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn postgres() {
        if let Some(app) = super::app_with_public_url(super::Backend::Postgres).await {
            super::nps_comes_on_schedule_and_opting_out_stops_every_survey(app).await;
        }
    }
}

async fn enable(app: &TestApp, settings: Value) {
    app.req(
        "PUT",
        "/api/v1/surveys/settings",
        &app.token,
        Some(settings),
    )
    .await
    .expect(200);
}

async fn solve(app: &TestApp, ticket: &str) {
    app.patch(
        &format!("/api/v1/tickets/{ticket}"),
        json!({"status": "solved"}),
    )
    .await
    .expect(200);
}

/// The path of a survey link (`/s/{token}`), without the query.
fn path_of(url: &str) -> String {
    let at = url.find("/s/").expect("a survey link");
    url[at..].split('?').next().unwrap_or_default().to_owned()
}

/// Answers a survey the way the widget's buttons and the page's form do.
async fn answer(app: &TestApp, path: &str, score: &str) -> reqwest::StatusCode {
    app.client
        .post(app.url(path))
        .form(&[("score", score)])
        .send()
        .await
        .expect("answer")
        .status()
}

async fn survey_of(app: &TestApp, ticket: &str) -> Option<Value> {
    let list = app.get("/api/v1/surveys").await.expect(200);
    list["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["ticket_id"].as_str() == Some(ticket))
        .cloned()
}

/// A solved chat gets the bot's question with score buttons in the widget;
/// a tap answers, a second tap replaces it, and the widget shows the score.
/// A solved Telegram conversation gets the question with one URL button per
/// score; a WhatsApp one with a button to the page. Agents see the question
/// in the ticket like any reply.
async fn chat_and_messengers_are_asked_in_the_conversation(app: TestApp) {
    enable(&app, json!({"csat": {"enabled": true}})).await;

    // The widget.
    let (key, _) = crate::chat::channel(&app, json!([])).await;
    let token = crate::chat::visitor(&app, &key, json!({"name": "Анна", "lang": "ru"})).await;
    let sent = crate::chat::from_site(
        &app,
        "POST",
        &format!("/widget/v1/{key}/messages"),
        crate::chat::SHOP,
        Some(&token),
        Some(json!({"client_id": "c-1", "text": "Где мой заказ 5531?"})),
    )
    .await
    .expect(201);
    let chat_ticket = sent["ticket_id"].as_str().unwrap().to_owned();
    app.drain_jobs().await;
    solve(&app, &chat_ticket).await;
    let read = async || {
        crate::chat::from_site(
            &app,
            "GET",
            &format!("/widget/v1/{key}/messages"),
            crate::chat::SHOP,
            Some(&token),
            None,
        )
        .await
        .expect(200)
    };
    let asked = crate::helpers::until("the question in the chat", 10, async || {
        app.drain_jobs().await;
        read()
            .await
            .get("items")?
            .as_array()?
            .iter()
            .find(|m| !m["survey"].is_null())
            .cloned()
    })
    .await;
    assert_eq!(asked["author"]["kind"], "bot");
    assert!(
        asked["text"].as_str().unwrap().contains("Оцените"),
        "in the visitor's language: {asked}"
    );
    let s = &asked["survey"];
    assert_eq!((s["low"].as_i64(), s["high"].as_i64()), (Some(1), Some(5)));
    assert!(s["score"].is_null());
    let url = s["url"].as_str().unwrap();
    assert!(url.starts_with("https://desk.test/s/"), "{url}");
    let path = path_of(url);
    assert_eq!(answer(&app, &path, "2").await, 200);
    assert_eq!(answer(&app, &path, "4").await, 200, "a second tap replaces");
    let shown = read().await;
    let again = shown["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["id"] == asked["id"])
        .expect("the question is still there");
    assert_eq!(again["survey"]["score"], 4, "{again}");
    let survey = survey_of(&app, &chat_ticket).await.expect("answered");
    assert_eq!(survey["score"], 4);
    // Solved again after a reopen: one question per ticket.
    app.patch(
        &format!("/api/v1/tickets/{chat_ticket}"),
        json!({"status": "open"}),
    )
    .await
    .expect(200);
    solve(&app, &chat_ticket).await;
    tokio::time::sleep(std::time::Duration::from_millis(800)).await;
    app.drain_jobs().await;
    let asked_twice = read()
        .await
        .get("items")
        .and_then(Value::as_array)
        .map(|a| a.iter().filter(|m| !m["survey"].is_null()).count());
    assert_eq!(asked_twice, Some(1));

    // Telegram: an inline keyboard of URL buttons under the question.
    let bot = channels::telegram_stand_in::StandIn::start(crate::telegram::TOKEN)
        .await
        .expect("stand-in");
    let (channel, secret) = crate::telegram::connect(&app, &bot).await;
    let update = crate::telegram::update(
        1,
        11,
        json!({"text": "Здравствуйте! Колонка не включается"}),
    );
    crate::telegram::deliver(&app, &channel, Some(&secret), &update)
        .await
        .expect(200);
    app.drain_jobs().await;
    let list = app
        .get("/api/v1/tickets?channel=telegram")
        .await
        .expect(200);
    let tg_ticket = list["items"][0]["id"].as_str().unwrap().to_owned();
    solve(&app, &tg_ticket).await;
    let keyboard = crate::helpers::until("the question in Telegram", 10, async || {
        app.drain_jobs().await;
        bot.calls_of("sendMessage")
            .into_iter()
            .find(|c| !c["reply_markup"].is_null())
    })
    .await;
    assert!(
        keyboard["text"]
            .as_str()
            .unwrap()
            .contains("https://desk.test/s/"),
        "the text keeps the link: {keyboard}"
    );
    let row = keyboard["reply_markup"]["inline_keyboard"][0]
        .as_array()
        .expect("one row of buttons")
        .clone();
    assert_eq!(row.len(), 5);
    assert_eq!(row[4]["text"], "5");
    let five = row[4]["url"].as_str().unwrap();
    assert!(
        five.starts_with("https://desk.test/s/") && five.ends_with("?score=5"),
        "{five}"
    );
    // The button opens the page with the score chosen; the customer sends it.
    let page = app
        .client
        .get(app.url(&five[five.find("/s/").unwrap()..]))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(page.contains("value=\"5\" required checked"), "{page}");
    assert_eq!(answer(&app, &path_of(five), "5").await, 200);
    assert_eq!(survey_of(&app, &tg_ticket).await.unwrap()["score"], 5);

    // WhatsApp: one call-to-action button to the page.
    let cloud = channels::whatsapp_stand_in::StandIn::start(
        crate::whatsapp::NUMBER,
        crate::whatsapp::TOKEN,
    )
    .await
    .expect("stand-in");
    let wa = crate::whatsapp::connect(&app, &cloud).await;
    let note = channels::whatsapp_stand_in::notification(
        crate::whatsapp::NUMBER,
        crate::whatsapp::CUSTOMER,
        "Анна",
        vec![
            json!({"from": crate::whatsapp::CUSTOMER, "id": "wamid.S1", "timestamp": "1795000000",
                    "type": "text", "text": {"body": "Не пришёл чек"}}),
        ],
    );
    crate::whatsapp::notify(&app, &wa, Some(crate::whatsapp::APP_SECRET), &note)
        .await
        .expect(200);
    app.drain_jobs().await;
    let list = app
        .get("/api/v1/tickets?channel=whatsapp")
        .await
        .expect(200);
    let wa_ticket = list["items"][0]["id"].as_str().unwrap().to_owned();
    solve(&app, &wa_ticket).await;
    let cta = crate::helpers::until("the question in WhatsApp", 10, async || {
        app.drain_jobs().await;
        cloud
            .calls_of("messages")
            .into_iter()
            .find(|c| c["type"] == "interactive")
    })
    .await;
    assert_eq!(cta["interactive"]["type"], "cta_url");
    let to = cta["interactive"]["action"]["parameters"]["url"]
        .as_str()
        .unwrap();
    assert!(
        to.starts_with("https://desk.test/s/") && !to.contains('?'),
        "{to}"
    );
    assert!(
        cta["interactive"]["body"]["text"]
            .as_str()
            .unwrap()
            .contains(to),
        "the text keeps the link for clients without buttons"
    );
    // Agents see the question in the ticket, sent like any reply.
    let msgs = app
        .get(&format!("/api/v1/tickets/{wa_ticket}/messages"))
        .await
        .expect(200);
    let q = msgs["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["author"]["kind"] == "bot")
        .cloned()
        .expect("the question in the ticket");
    assert_eq!(q["visibility"], "public", "{q}");
}

/// NPS: asked by email `after_days` after a solve, with 0–10 links; a
/// later solve within `every_days` waits for the interval's end; the answer
/// counts in the KPI report; the opt-out link stops NPS and CSAT alike and
/// takes the customer off the schedule; opting back in is possible.
async fn nps_comes_on_schedule_and_opting_out_stops_every_survey(app: TestApp) {
    use crate::email::{Sink, mail, pipe, quiet_mailbox};
    const DAY: i64 = 86_400_000;
    let t0: i64 = 1_798_000_000_000;
    let set = |ms: i64| app.clock.set(Some(domain::Timestamp::from_millis(ms)));
    set(t0);
    let sink = Sink::start().await;
    let mb = quiet_mailbox(&app, "help@shop.example", &sink).await;
    enable(
        &app,
        json!({"csat": {"enabled": false}, "nps": {"enabled": true, "after_days": 30, "every_days": 90}}),
    )
    .await;
    assert_eq!(
        app.get("/api/v1/surveys/settings").await.expect(200)["nps"]["every_days"],
        90
    );
    app.req(
        "PUT",
        "/api/v1/surveys/settings",
        &app.token,
        Some(json!({"csat": {"enabled": false}, "nps": {"enabled": true, "every_days": 7}})),
    )
    .await
    .problem(422);
    let ask = |n: &str, subject: &str| {
        mail(
            "Olga <olga@example.com>",
            "help@shop.example",
            subject,
            n,
            "",
            "Вопрос по заказу.",
        )
    };
    let first = pipe(&app, &mb, &ask("olga-nps-1@example.com", "Где заказ?")).await;
    let t1 = first["ticket_id"].as_str().unwrap().to_owned();
    let tt = app.get(&format!("/api/v1/tickets/{t1}")).await.expect(200);
    let customer = tt["customer_id"].as_str().unwrap().to_owned();
    app.patch(
        &format!("/api/v1/customers/{customer}"),
        json!({"language": "ru"}),
    )
    .await
    .expect(200);
    solve(&app, &t1).await;
    // Not before the 30 days are out.
    let at = |d: i64| t0 + d * DAY;
    set(at(29));
    tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    app.drain_jobs().await;
    assert!(sink.messages().is_empty(), "nothing before day 30");
    set(at(30) + 60_000);
    let got = crate::helpers::until("the NPS mail", 10, async || {
        app.drain_jobs().await;
        let got = sink.messages();
        (!got.is_empty()).then_some(got)
    })
    .await;
    assert_eq!(got.len(), 1);
    let (env, m, _) = &got[0];
    assert_eq!(env.rcpts, vec!["olga@example.com"]);
    assert!(
        m.subject.starts_with("Порекомендуете ли вы"),
        "{}",
        m.subject
    );
    let links: Vec<&str> = m
        .text
        .lines()
        .filter_map(|l| l.split_once(" — ").map(|(_, u)| u))
        .collect();
    assert_eq!(links.len(), 11, "0 to 10: {}", m.text);
    assert!(links[10].ends_with("?score=10"));
    let stop = m
        .text
        .lines()
        .find_map(|l| l.split_once("https://desk.test").map(|(_, p)| p))
        .filter(|p| p.ends_with("/stop"))
        .or_else(|| {
            m.text
                .split_whitespace()
                .find(|w| w.ends_with("/stop"))
                .and_then(|w| w.find("/s/").map(|i| &w[i..]))
        })
        .expect("an opt-out link")
        .to_owned();
    let path = path_of(links[9]);
    let page = app
        .client
        .get(app.url(&format!("{path}?score=9")))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        page.contains("Насколько вероятно") && page.contains("value=\"10\""),
        "{page}"
    );
    assert_eq!(answer(&app, &path, "9").await, 200);
    assert_eq!(answer(&app, &path, "11").await, 422, "out of the scale");
    let list = app.get("/api/v1/surveys").await.expect(200);
    let nps = list["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["kind"] == "nps")
        .cloned()
        .expect("the NPS answer");
    assert_eq!(nps["score"], 9);
    assert_eq!(
        nps["ticket_id"].as_str(),
        Some(t1.as_str()),
        "filed under the last solved ticket"
    );
    // It counts in the report (one promoter: NPS 100).
    let report = crate::helpers::until("NPS in the report", 10, async || {
        let r = app
            .get("/api/v1/reports/kpis?from=2026-12-01&to=2027-02-28")
            .await
            .expect(200);
        (r["total"]["nps_answers"] == 1).then_some(r)
    })
    .await;
    assert_eq!(report["total"]["nps"], 100.0);

    // Solved again on day 40: the interval (asked on day 30) holds it to day 120.
    set(at(40));
    let second = pipe(&app, &mb, &ask("olga-nps-2@example.com", "Ещё вопрос")).await;
    let t2 = second["ticket_id"].as_str().unwrap().to_owned();
    solve(&app, &t2).await;
    set(at(71));
    tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    app.drain_jobs().await;
    assert_eq!(sink.messages().len(), 1, "not within 90 days of the last");
    set(at(120) + 60_000);
    crate::helpers::until("the second NPS mail", 10, async || {
        app.drain_jobs().await;
        (sink.messages().len() == 2).then_some(())
    })
    .await;

    // The opt-out page works without script; opting out stops CSAT too and
    // clears the schedule.
    let page = app
        .client
        .get(app.url(&stop))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(page.contains("name=\"stop\" value=\"on\""), "{page}");
    let r = app
        .client
        .post(app.url(&stop))
        .form(&[("stop", "on")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert!(r.text().await.unwrap().contains("опросов больше не будет"));
    let timeline = app
        .get(&format!("/api/v1/customers/{customer}/timeline"))
        .await
        .expect(200);
    assert!(
        timeline.to_string().contains("survey.opted_out"),
        "on the customer's timeline: {timeline}"
    );
    enable(
        &app,
        json!({"csat": {"enabled": true}, "nps": {"enabled": true}}),
    )
    .await;
    let third = pipe(&app, &mb, &ask("olga-nps-3@example.com", "Третий вопрос")).await;
    let t3 = third["ticket_id"].as_str().unwrap().to_owned();
    solve(&app, &t3).await;
    set(at(400));
    tokio::time::sleep(std::time::Duration::from_millis(800)).await;
    app.drain_jobs().await;
    assert_eq!(
        sink.messages().len(),
        2,
        "neither CSAT nor NPS after opting out"
    );
    // Back in: the next solve asks again.
    let r = app
        .client
        .post(app.url(&stop))
        .form(&[("stop", "off")])
        .send()
        .await
        .unwrap();
    assert!(r.text().await.unwrap().contains("снова включены"));
    let fourth = pipe(&app, &mb, &ask("olga-nps-4@example.com", "Четвёртый")).await;
    solve(&app, fourth["ticket_id"].as_str().unwrap()).await;
    crate::helpers::until("CSAT again", 10, async || {
        app.drain_jobs().await;
        (sink.messages().len() == 3).then_some(())
    })
    .await;
}

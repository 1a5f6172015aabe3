//! WhatsApp channels against a stand-in Cloud API on loopback: connecting a
//! number, Meta's webhook verification, signed notifications (text, media,
//! locations, contacts; redeliveries; bad signatures), delivery states, the
//! 24-hour window and templates outside it, replies with files, rate limits.

use crate::helpers::{Backend, TestApp};
use crate::telegram::app_with_public_url;
use channels::whatsapp_stand_in::{StandIn, notification, sign, statuses};
use serde_json::{Value, json};

pub(crate) const NUMBER: &str = "106540352242922";
pub(crate) const TOKEN: &str = "EAAGm0PX4ZCpsBAKZBtest";
pub(crate) const APP_SECRET: &str = "3f1c5e9a8b7d6c5e4f3a2b1c0d9e8f7a";
pub(crate) const VERIFY: &str = "otklik-verify-7f3a";
pub(crate) const CUSTOMER: &str = "79001234567";

mod only_sqlite {
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn the_ticket_page_offers_templates_once_the_window_closes() {
        super::the_ticket_page_offers_templates_once_the_window_closes().await;
    }
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn whatsapp_webhooks_refuse_what_meta_did_not_sign() {
        super::whatsapp_webhooks_refuse_what_meta_did_not_sign().await;
    }
}

/// Connects the stand-in's number to `alpha`; returns the channel's id.
pub(crate) async fn connect(app: &TestApp, cloud: &StandIn) -> String {
    let c = app
        .post(
            "/api/v1/channels/whatsapp",
            json!({"name": "WhatsApp", "phone_number_id": NUMBER, "access_token": TOKEN,
                   "app_secret": APP_SECRET, "verify_token": VERIFY, "api_base_url": cloud.base,
                   "business_account_id": "102290129340398"}),
        )
        .await
        .expect(201);
    assert_eq!(c["verified_name"], "Shop Support");
    let id = c["id"].as_str().unwrap().to_owned();
    assert_eq!(
        c["webhook_url"],
        format!("https://desk.test/hooks/whatsapp/{id}").as_str()
    );
    id
}

/// Posts a notification signed with `secret` (none: no header).
pub(crate) async fn notify(
    app: &TestApp,
    channel: &str,
    secret: Option<&str>,
    body: &Value,
) -> crate::helpers::Res {
    let raw = serde_json::to_vec(body).unwrap();
    let mut r = app
        .client
        .post(app.url(&format!("/hooks/whatsapp/{channel}")))
        .header("content-type", "application/json");
    if let Some(s) = secret {
        r = r.header("X-Hub-Signature-256", sign(s, &raw));
    }
    crate::helpers::res(r.body(raw).send().await.expect("webhook")).await
}

fn text(id: &str, body: &str) -> Value {
    json!({"from": CUSTOMER, "id": id, "timestamp": "1795000000", "type": "text", "text": {"body": body}})
}

async fn messages(app: &TestApp, ticket: &str) -> Vec<Value> {
    app.get(&format!("/api/v1/tickets/{ticket}/messages"))
        .await
        .expect(200)["items"]
        .as_array()
        .unwrap()
        .clone()
}

mod with_public_url {
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn sqlite() {
        let app = super::app_with_public_url(super::Backend::Sqlite)
            .await
            .expect("app");
        super::conversation(app).await;
    }
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn postgres() {
        if let Some(app) = super::app_with_public_url(super::Backend::Postgres).await {
            super::conversation(app).await;
        }
    }
}

async fn conversation(app: TestApp) {
    let cloud = StandIn::start(NUMBER, TOKEN).await.expect("stand-in");
    // A token Meta refuses is the remote's answer, with its reason.
    let p = app
        .post(
            "/api/v1/channels/whatsapp",
            json!({"name": "WhatsApp", "phone_number_id": NUMBER, "access_token": "WRONG",
                   "app_secret": APP_SECRET, "verify_token": VERIFY, "api_base_url": cloud.base}),
        )
        .await
        .problem(502);
    assert!(p["detail"].as_str().unwrap().contains("(190)"), "{p}");
    let channel = connect(&app, &cloud).await;
    let listed = app.get("/api/v1/channels/whatsapp").await.expect(200);
    let shown = listed.to_string();
    assert!(
        !shown.contains(TOKEN) && !shown.contains(APP_SECRET) && !shown.contains(VERIFY),
        "secrets are never returned"
    );

    // Meta verifies the webhook with the verify token.
    let verify = |token: &str| {
        app.client
            .get(app.url(&format!(
                "/hooks/whatsapp/{channel}?hub.mode=subscribe&hub.verify_token={token}&hub.challenge=1158201444"
            )))
            .send()
    };
    let ok = verify(VERIFY).await.unwrap();
    assert_eq!(ok.status(), 200);
    assert_eq!(ok.text().await.unwrap(), "1158201444");
    assert_eq!(verify("wrong").await.unwrap().status(), 403);

    // A customer writes; the message is stored before the answer.
    let first = notification(
        NUMBER,
        CUSTOMER,
        "Анна",
        vec![text("wamid.A1", "Здравствуйте! Где мой заказ 5531?")],
    );
    let r = notify(&app, &channel, Some(APP_SECRET), &first)
        .await
        .expect(200);
    assert_eq!(r["messages"], 1);
    let list = app
        .get("/api/v1/tickets?channel=whatsapp")
        .await
        .expect(200);
    let t = list["items"][0].clone();
    let tid = t["id"].as_str().unwrap().to_owned();
    let customer = app
        .get(&format!(
            "/api/v1/customers/{}",
            t["customer_id"].as_str().unwrap()
        ))
        .await
        .expect(200);
    assert_eq!(customer["name"], "Анна");
    assert!(
        customer["identities"]
            .as_array()
            .unwrap()
            .iter()
            .any(|i| i["kind"] == "whatsapp" && i["value"] == "+79001234567"),
        "{customer}"
    );
    // Meta redelivers: the same message, not a second one.
    let again = notify(&app, &channel, Some(APP_SECRET), &first)
        .await
        .expect(200);
    assert_eq!(again["messages"], 0);

    // Media (downloaded through the media endpoint), a location, a contact card.
    cloud.add_media("MEDIA-1", "image/jpeg", b"\xff\xd8\xff jpeg bytes");
    cloud.add_media("MEDIA-2", "application/pdf", b"%PDF-1.4 receipt");
    let media = notification(
        NUMBER,
        CUSTOMER,
        "Анна",
        vec![
            json!({"from": CUSTOMER, "id": "wamid.A2", "timestamp": "1795000010", "type": "image",
                   "image": {"id": "MEDIA-1", "mime_type": "image/jpeg", "caption": "Коробка помята"}}),
            json!({"from": CUSTOMER, "id": "wamid.A3", "timestamp": "1795000020", "type": "document",
                   "document": {"id": "MEDIA-2", "mime_type": "application/pdf", "filename": "чек.pdf"}}),
            json!({"from": CUSTOMER, "id": "wamid.A4", "timestamp": "1795000030", "type": "location",
                   "location": {"latitude": 55.7558, "longitude": 37.6173, "name": "Пункт выдачи", "address": "Тверская, 1"}}),
            json!({"from": CUSTOMER, "id": "wamid.A5", "timestamp": "1795000040", "type": "contacts",
                   "contacts": [{"name": {"formatted_name": "Борис Петров"}, "phones": [{"phone": "+7 900 111-22-33", "type": "CELL"}]}]}),
        ],
    );
    notify(&app, &channel, Some(APP_SECRET), &media)
        .await
        .expect(200);
    app.drain_jobs().await;
    let ms = messages(&app, &tid).await;
    assert_eq!(ms.len(), 5);
    assert_eq!(ms[1]["body"], "Коробка помята");
    assert_eq!(ms[1]["attachments"][0]["content_type"], "image/jpeg");
    assert_eq!(ms[2]["attachments"][0]["filename"], "чек.pdf");
    assert!(
        ms[3]["body"]
            .as_str()
            .unwrap()
            .starts_with("📍 Пункт выдачи, Тверская, 1\nhttps://www.openstreetmap.org/")
    );
    assert_eq!(ms[4]["body"], "👤 Борис Петров: +7 900 111-22-33");
    assert_eq!(cloud.calls_of("media_bytes").len(), 2);

    // Within the window a free-form reply goes out and its states follow.
    let reply = app
        .post(
            &format!("/api/v1/tickets/{tid}/messages"),
            json!({"body": "Заказ 5531 уже в пути", "visibility": "public"}),
        )
        .await
        .expect(201);
    app.drain_jobs().await;
    let sent = cloud.calls_of("messages");
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0]["to"], CUSTOMER);
    assert_eq!(sent[0]["text"]["body"], "Заказ 5531 уже в пути");
    let state =
        |ms: &[Value], id: &Value| ms.iter().find(|m| m["id"] == *id).unwrap()["delivery"].clone();
    assert_eq!(
        state(&messages(&app, &tid).await, &reply["id"])["state"],
        "sent"
    );
    let wamid = sent[0]["_wamid"].as_str().unwrap().to_owned();
    for s in ["delivered", "read", "delivered"] {
        notify(
            &app,
            &channel,
            Some(APP_SECRET),
            &statuses(NUMBER, vec![json!({"id": &wamid, "status": s, "timestamp": "1795000100", "recipient_id": CUSTOMER})]),
        )
        .await
        .expect(200);
    }
    // Never backwards: read stays read.
    assert_eq!(
        state(&messages(&app, &tid).await, &reply["id"])["state"],
        "read"
    );

    // A reply with files: uploaded, then sent as an image and a document.
    let mut ids = Vec::new();
    for (name, mime, bytes) in [
        ("схема.png", "image/png", b"\x89PNG\r\n\x1a\n....".to_vec()),
        ("счёт.pdf", "application/pdf", b"%PDF-1.4 invoice".to_vec()),
    ] {
        let form = reqwest::multipart::Form::new().part(
            "file",
            reqwest::multipart::Part::bytes(bytes)
                .file_name(name)
                .mime_str(mime)
                .unwrap(),
        );
        let att: Value = app.upload(form).await.json().await.unwrap();
        ids.push(att["id"].clone());
    }
    app.post(
        &format!("/api/v1/tickets/{tid}/messages"),
        json!({"body": "Схема и счёт", "visibility": "public", "attachments": ids}),
    )
    .await
    .expect(201);
    app.drain_jobs().await;
    assert_eq!(cloud.calls_of("media").len(), 2);
    let sent = cloud.calls_of("messages");
    assert_eq!(sent.len(), 4);
    assert_eq!(sent[2]["type"], "image");
    assert_eq!(sent[3]["type"], "document");
    assert_eq!(sent[3]["document"]["filename"], "счёт.pdf");

    // A day later the window is closed: the reply fails with the reason, the
    // composer's list offers templates, and a template goes out.
    let templates = app
        .get(&format!("/api/v1/tickets/{tid}/templates"))
        .await
        .expect(200);
    assert_eq!(templates["window_open"], true);
    let now = app.engine.now();
    app.clock.set(Some(now.plus_millis(25 * 3_600_000)));
    let late = app
        .post(
            &format!("/api/v1/tickets/{tid}/messages"),
            json!({"body": "Вы здесь?", "visibility": "public"}),
        )
        .await
        .expect(201);
    app.drain_jobs().await;
    let d = state(&messages(&app, &tid).await, &late["id"]);
    assert_eq!(d["state"], "failed");
    assert!(d["error"].as_str().unwrap().contains("24 hours"), "{d}");
    cloud.add_template(
        "order_update",
        "ru",
        "Здравствуйте, {{1}}! Заказ {{2}} передан в доставку.",
    );
    let templates = app
        .get(&format!("/api/v1/tickets/{tid}/templates"))
        .await
        .expect(200);
    assert_eq!(templates["window_open"], false);
    assert_eq!(templates["items"][0]["parameters"], 2);
    app.post(
        &format!("/api/v1/tickets/{tid}/templates"),
        json!({"name": "order_update", "language": "ru", "parameters": ["Анна"]}),
    )
    .await
    .problem(422);
    app.post(
        &format!("/api/v1/tickets/{tid}/templates"),
        json!({"name": "no_such", "language": "ru", "parameters": []}),
    )
    .await
    .problem(404);
    let tpl = app
        .post(
            &format!("/api/v1/tickets/{tid}/templates"),
            json!({"name": "order_update", "language": "ru", "parameters": ["Анна", "5531"]}),
        )
        .await
        .expect(201);
    assert_eq!(
        tpl["body"],
        "Здравствуйте, Анна! Заказ 5531 передан в доставку."
    );
    app.drain_jobs().await;
    let sent = cloud.calls_of("messages");
    let last = sent.last().unwrap();
    assert_eq!(last["type"], "template");
    assert_eq!(last["template"]["name"], "order_update");
    assert_eq!(last["template"]["language"]["code"], "ru");
    assert_eq!(
        last["template"]["components"][0]["parameters"][1]["text"],
        "5531"
    );
    assert_eq!(
        state(&messages(&app, &tid).await, &tpl["id"])["state"],
        "sent"
    );
    let tpl_wamid = last["_wamid"].as_str().unwrap().to_owned();
    // WhatsApp reports it undeliverable later: failed, with its reason.
    notify(
        &app,
        &channel,
        Some(APP_SECRET),
        &statuses(
            NUMBER,
            vec![
                json!({"id": tpl_wamid, "status": "failed", "timestamp": "1795090000",
            "recipient_id": CUSTOMER, "errors": [{"code": 131026, "title": "Message undeliverable",
            "error_data": {"details": "Receiver is incapable of receiving this message"}}]}),
            ],
        ),
    )
    .await
    .expect(200);
    let d = state(&messages(&app, &tid).await, &tpl["id"]);
    assert_eq!(d["state"], "failed", "{d}");
    assert!(d["error"].as_str().unwrap().contains("incapable"), "{d}");
    app.clock.set(None);
}

async fn whatsapp_webhooks_refuse_what_meta_did_not_sign() {
    let app = app_with_public_url(Backend::Sqlite).await.expect("app");
    let cloud = StandIn::start(NUMBER, TOKEN).await.expect("stand-in");
    let channel = connect(&app, &cloud).await;
    let p = app.engine.cli_principal("alpha").await.unwrap();
    let before = crate::helpers::all_events(&app.engine, &p).await.len();
    let n = notification(NUMBER, CUSTOMER, "Анна", vec![text("wamid.Z1", "hello")]);
    notify(&app, &channel, None, &n).await.problem(401);
    notify(&app, &channel, Some("another-secret"), &n)
        .await
        .problem(403);
    // A signature of other bytes: the body was changed on the way.
    let raw = serde_json::to_vec(&n).unwrap();
    let r = app
        .client
        .post(app.url(&format!("/hooks/whatsapp/{channel}")))
        .header("X-Hub-Signature-256", sign(APP_SECRET, b"{}"))
        .header("content-type", "application/json")
        .body(raw)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);
    // Signed, but not a notification: 400; another number's messages: none.
    let r = app
        .client
        .post(app.url(&format!("/hooks/whatsapp/{channel}")))
        .header("X-Hub-Signature-256", sign(APP_SECRET, b"[1,2"))
        .body("[1,2")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    let other = notification("999", CUSTOMER, "Анна", vec![text("wamid.Z2", "hi")]);
    let r = notify(&app, &channel, Some(APP_SECRET), &other)
        .await
        .expect(200);
    assert_eq!(r["messages"], 0);
    // A Meta rate limit on sending waits a minute before the retry.
    notify(&app, &channel, Some(APP_SECRET), &n)
        .await
        .expect(200);
    let t = app
        .get("/api/v1/tickets?channel=whatsapp")
        .await
        .expect(200)["items"][0]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let added: Vec<_> = crate::helpers::all_events(&app.engine, &p)
        .await
        .into_iter()
        .skip(before)
        .filter(|e| e.kind() == "message.added")
        .collect();
    assert_eq!(added.len(), 1, "only the signed message was stored");
    cloud.fail_next("messages", 400, 130429, "Rate limit hit");
    let reply = app
        .post(
            &format!("/api/v1/tickets/{t}/messages"),
            json!({"body": "Секунду", "visibility": "public"}),
        )
        .await
        .expect(201);
    app.drain_jobs().await;
    let ms = messages(&app, &t).await;
    let d = ms.iter().find(|m| m["id"] == reply["id"]).unwrap()["delivery"].clone();
    assert_eq!(d["state"], "queued");
    assert!(d["error"].as_str().unwrap().contains("130429"), "{d}");
    let now = app.engine.now();
    app.clock.set(Some(now.plus_millis(30_000)));
    app.drain_jobs().await;
    assert_eq!(cloud.calls_of("messages").len(), 1, "not before a minute");
    app.clock.set(Some(now.plus_millis(61_000)));
    app.drain_jobs().await;
    assert_eq!(cloud.calls_of("messages").len(), 2);
    let ms = messages(&app, &t).await;
    let d = ms.iter().find(|m| m["id"] == reply["id"]).unwrap()["delivery"].clone();
    assert_eq!(d["state"], "sent");
}

async fn the_ticket_page_offers_templates_once_the_window_closes() {
    let app = app_with_public_url(Backend::Sqlite).await.expect("app");
    let cloud = StandIn::start(NUMBER, TOKEN).await.expect("stand-in");
    let agent = crate::ui::Agent::login(&app, "owner@alpha.test", "alpha-password").await;
    // The admin screen connects the number and shows where Meta must call.
    let r = agent
        .post(
            "/app/admin/whatsapp",
            &[
                ("name", "Магазин"),
                ("phone_number_id", NUMBER),
                ("business_account_id", "102290129340398"),
                ("access_token", TOKEN),
                ("app_secret", APP_SECRET),
                ("verify_token", VERIFY),
                ("team", ""),
                ("api_base_url", &cloud.base),
            ],
            true,
        )
        .await;
    assert_eq!(r.status(), 303);
    let to = r.headers()["location"].to_str().unwrap().to_owned();
    let page = agent.page(to.split('?').next().unwrap()).await;
    let channel = to
        .trim_start_matches("/app/admin/whatsapp/")
        .split('?')
        .next()
        .unwrap()
        .to_owned();
    assert!(page.contains(&format!("https://desk.test/hooks/whatsapp/{channel}")));
    assert!(page.contains("Shop Support"), "the verified name");
    assert!(!page.contains(TOKEN) && !page.contains(APP_SECRET));

    notify(
        &app,
        &channel,
        Some(APP_SECRET),
        &notification(
            NUMBER,
            CUSTOMER,
            "Анна",
            vec![text("wamid.U1", "Где заказ?")],
        ),
    )
    .await
    .expect(200);
    let number = app
        .get("/api/v1/tickets?channel=whatsapp")
        .await
        .expect(200)["items"][0]["number"]
        .as_i64()
        .unwrap();
    let open = agent.page(&format!("/app/t/{number}")).await;
    assert!(open.contains("id=\"wa-window\"") && !open.contains("id=\"template-form\""));

    cloud.add_template(
        "order_update",
        "ru",
        "Здравствуйте, {{1}}! Заказ {{2}} передан в доставку.",
    );
    let now = app.engine.now();
    app.clock.set(Some(now.plus_millis(25 * 3_600_000)));
    // A day later the session has lapsed: the agent signs in again.
    let agent = crate::ui::Agent::login(&app, "owner@alpha.test", "alpha-password").await;
    let closed = agent.page(&format!("/app/t/{number}")).await;
    assert!(
        closed.contains("id=\"template-form\""),
        "the template form once closed"
    );
    assert!(closed.contains("value=\"order_update|ru\""));
    assert!(
        closed.contains("передан в доставку"),
        "the template's text to read"
    );
    let r = agent
        .post(
            &format!("/app/t/{number}/template"),
            &[
                ("template", "order_update|ru"),
                ("parameters", "Анна\n5531\n"),
            ],
            true,
        )
        .await;
    assert_eq!(r.status(), 303);
    app.drain_jobs().await;
    let sent = cloud.calls_of("messages");
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0]["template"]["name"], "order_update");
    let thread = agent.page(&format!("/app/t/{number}")).await;
    assert!(thread.contains("Здравствуйте, Анна! Заказ 5531 передан в доставку."));
    app.clock.set(None);
}

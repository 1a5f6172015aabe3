//! Telegram channels against a stand-in Bot API on loopback: connecting a
//! bot, updates through the webhook (text, photos, documents, voice,
//! stickers, edits; redelivered updates; bad secrets), and replies (escaped
//! text, long text in parts, files, rate limits, a blocked bot).

use crate::helpers::{Backend, TestApp, spawn_with};
use channels::telegram_stand_in::StandIn;
use serde_json::{Value, json};

pub(crate) const TOKEN: &str = "7012345678:AAH-test_token_0123456789";
pub(crate) const CHAT: i64 = 5_550_123;

mod only_sqlite {
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn without_a_public_url_no_bot_can_be_connected() {
        super::without_a_public_url_no_bot_can_be_connected().await;
    }
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn agents_link_their_telegram_and_rules_notify_them_there() {
        super::agents_link_their_telegram_and_rules_notify_them_there().await;
    }
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn webhooks_refuse_what_telegram_did_not_sign() {
        super::webhooks_refuse_what_telegram_did_not_sign().await;
    }
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn replies_in_parts_wait_out_rate_limits_and_show_final_failures() {
        super::replies_in_parts_wait_out_rate_limits_and_show_final_failures().await;
    }
}

/// A server whose public address is `https://desk.test`.
pub(crate) async fn app_with_public_url(backend: Backend) -> Option<TestApp> {
    spawn_with(backend, |c| {
        c.public_url = Some("https://desk.test/".into())
    })
    .await
}

/// Connects the stand-in's bot to `alpha`; returns the channel's id and the
/// secret Telegram was given.
pub(crate) async fn connect(app: &TestApp, bot: &StandIn) -> (String, String) {
    let c = app
        .post(
            "/api/v1/channels/telegram",
            json!({"name": "Shop bot", "bot_token": TOKEN, "api_base_url": bot.base}),
        )
        .await
        .expect(201);
    let id = c["id"].as_str().unwrap().to_owned();
    let (url, secret) = bot.webhook().expect("setWebhook was called");
    assert_eq!(url, format!("https://desk.test/hooks/telegram/{id}"));
    assert_eq!(c["webhook_url"], url.as_str());
    assert!(secret.len() >= 32, "a secret token was given: {secret:?}");
    (id, secret)
}

/// Posts an update to the channel's webhook with `secret` (none: no header).
pub(crate) async fn deliver(
    app: &TestApp,
    channel: &str,
    secret: Option<&str>,
    update: &Value,
) -> crate::helpers::Res {
    let mut r = app
        .client
        .post(app.url(&format!("/hooks/telegram/{channel}")))
        .json(update);
    if let Some(s) = secret {
        r = r.header("X-Telegram-Bot-Api-Secret-Token", s);
    }
    crate::helpers::res(r.send().await.expect("webhook")).await
}

/// A private message from Анна as Telegram delivers it.
pub(crate) fn update(update_id: i64, message_id: i64, extra: Value) -> Value {
    let mut m = json!({
        "message_id": message_id, "date": 1_795_000_000,
        "chat": {"id": CHAT, "type": "private"},
        "from": {"id": CHAT, "is_bot": false, "first_name": "Анна", "last_name": "Петрова",
                 "username": "anna_p", "language_code": "ru"}
    });
    if let (Some(m), Some(extra)) = (m.as_object_mut(), extra.as_object()) {
        m.extend(extra.clone());
    }
    json!({"update_id": update_id, "message": m})
}

async fn ticket_of_chat(app: &TestApp) -> Value {
    let list = app
        .get("/api/v1/tickets?channel=telegram")
        .await
        .expect(200);
    assert_eq!(list["items"].as_array().unwrap().len(), 1, "{list}");
    list["items"][0].clone()
}

async fn messages(app: &TestApp, ticket: &str) -> Vec<Value> {
    app.get(&format!("/api/v1/tickets/{ticket}/messages"))
        .await
        .expect(200)["items"]
        .as_array()
        .unwrap()
        .clone()
}

async fn without_a_public_url_no_bot_can_be_connected() {
    let app = crate::helpers::spawn(Backend::Sqlite).await.expect("app");
    // Without a public address Telegram has nowhere to deliver: 409.
    app.post(
        "/api/v1/channels/telegram",
        json!({"name": "Shop bot", "bot_token": TOKEN}),
    )
    .await
    .problem(409);
}

mod with_public_url {
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn sqlite() {
        let app = super::app_with_public_url(crate::helpers::Backend::Sqlite)
            .await
            .expect("app");
        super::conversation(app).await;
    }
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn postgres() {
        if let Some(app) = super::app_with_public_url(crate::helpers::Backend::Postgres).await {
            super::conversation(app).await;
        }
    }
}

async fn conversation(app: TestApp) {
    let bot = StandIn::start(TOKEN).await.expect("stand-in");
    let (channel, secret) = connect(&app, &bot).await;
    let listed = app.get("/api/v1/channels/telegram").await.expect(200);
    assert_eq!(listed["items"][0]["bot_username"], "shop_help_bot");
    assert_eq!(listed["items"][0]["bot_id"], 7012345678_i64);
    assert!(
        !listed.to_string().contains("AAH-test_token") && !listed.to_string().contains(&secret),
        "neither token nor secret is ever returned"
    );
    // One bot, one channel; a token Telegram refuses is the remote's answer.
    app.post(
        "/api/v1/channels/telegram",
        json!({"name": "Again", "bot_token": TOKEN, "api_base_url": bot.base}),
    )
    .await
    .problem(409);
    let p = app
        .post(
            "/api/v1/channels/telegram",
            json!({"name": "Other", "bot_token": "42:WRONG", "api_base_url": bot.base}),
        )
        .await
        .problem(502);
    assert!(
        p["detail"].as_str().unwrap().contains("Unauthorized"),
        "{p}"
    );
    app.post(
        "/api/v1/channels/telegram",
        json!({"name": "Other", "bot_token": "not a token"}),
    )
    .await
    .problem(422);

    // A text message: queued at once, a ticket once the worker ran.
    let first = update(1, 11, json!({"text": "Здравствуйте! Где мой заказ 5531?"}));
    let r = deliver(&app, &channel, Some(&secret), &first)
        .await
        .expect(200);
    assert_eq!(r["accepted"], true);
    app.drain_jobs().await;
    let t = ticket_of_chat(&app).await;
    let tid = t["id"].as_str().unwrap().to_owned();
    assert_eq!(t["channel"], "telegram");
    let customer = app
        .get(&format!(
            "/api/v1/customers/{}",
            t["customer_id"].as_str().unwrap()
        ))
        .await
        .expect(200);
    assert_eq!(customer["name"], "Анна Петрова");
    let chat = CHAT.to_string();
    assert!(
        customer["identities"]
            .as_array()
            .unwrap()
            .iter()
            .any(|i| i["kind"] == "telegram" && i["value"] == chat.as_str()),
        "{customer}"
    );

    // Telegram redelivers an update it thinks was lost: still one message.
    deliver(&app, &channel, Some(&secret), &first)
        .await
        .expect(200);
    app.drain_jobs().await;
    assert_eq!(messages(&app, &tid).await.len(), 1);

    // Media: the largest photo, a document, a voice note, a sticker's emoji;
    // the files fetched with getFile and stored.
    bot.add_file("photo-big", b"\xff\xd8\xff\xe0 a jpeg");
    bot.add_file("doc-1", b"%PDF-1.4 receipt");
    bot.add_file("voice-1", b"OggS voice");
    bot.add_file("sticker-1", b"RIFF webp");
    for (i, extra) in [
        json!({"caption": "Вот фото коробки", "photo": [
            {"file_id": "photo-small", "width": 90, "height": 90},
            {"file_id": "photo-big", "width": 1280, "height": 960, "file_size": 13}]}),
        json!({"document": {"file_id": "doc-1", "file_name": "чек.pdf", "mime_type": "application/pdf", "file_size": 16}}),
        json!({"voice": {"file_id": "voice-1", "duration": 3, "mime_type": "audio/ogg", "file_size": 10}}),
        json!({"sticker": {"file_id": "sticker-1", "emoji": "😢", "is_animated": false, "is_video": false,
                           "width": 512, "height": 512, "type": "regular"}}),
    ]
    .into_iter()
    .enumerate()
    {
        let u = update(2 + i as i64, 12 + i as i64, extra);
        deliver(&app, &channel, Some(&secret), &u)
            .await
            .expect(200);
    }
    app.drain_jobs().await;
    let ms = messages(&app, &tid).await;
    assert_eq!(ms.len(), 5, "every message continued the conversation");
    let photo = ms.iter().find(|m| m["body"] == "Вот фото коробки").unwrap();
    assert_eq!(photo["attachments"][0]["size"], 11);
    assert_eq!(photo["attachments"][0]["content_type"], "image/jpeg");
    let doc = ms
        .iter()
        .find(|m| m["attachments"][0]["filename"] == "чек.pdf")
        .unwrap();
    let got = app
        .client
        .get(app.url(&format!(
            "/api/v1/attachments/{}",
            doc["attachments"][0]["id"].as_str().unwrap()
        )))
        .bearer_auth(&app.token)
        .send()
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap();
    assert_eq!(&got[..], b"%PDF-1.4 receipt");
    assert!(
        ms.iter()
            .any(|m| m["attachments"][0]["content_type"] == "audio/ogg")
    );
    assert!(ms.iter().any(|m| m["body"] == "😢"));
    let mut fetched: Vec<String> = bot
        .calls_of("getFile")
        .iter()
        .map(|a| a["file_id"].as_str().unwrap().to_owned())
        .collect();
    fetched.sort();
    assert_eq!(fetched, ["doc-1", "photo-big", "sticker-1", "voice-1"]);
    // The conversation keeps the order the messages came in, whenever
    // their files arrived.
    assert_eq!(ms[1]["body"], "Вот фото коробки");
    assert_eq!(ms[4]["body"], "😢");

    // An edit is recorded as what the customer now says, in the same ticket.
    let edit = json!({"update_id": 9, "edited_message": {
        "message_id": 11, "date": 1_795_000_000, "edit_date": 1_795_000_300,
        "chat": {"id": CHAT, "type": "private"},
        "from": {"id": CHAT, "is_bot": false, "first_name": "Анна"},
        "text": "Здравствуйте! Где мой заказ 5532?"}});
    deliver(&app, &channel, Some(&secret), &edit)
        .await
        .expect(200);
    // Groups and other bots are not customers: answered, nothing queued.
    let group = json!({"update_id": 10, "message": {"message_id": 1, "date": 1,
        "chat": {"id": -100, "type": "group"}, "from": {"id": 1, "is_bot": false, "first_name": "A"},
        "text": "hi"}});
    let r = deliver(&app, &channel, Some(&secret), &group)
        .await
        .expect(200);
    assert_eq!(r["accepted"], false);
    app.drain_jobs().await;
    let ms = messages(&app, &tid).await;
    assert_eq!(ms.len(), 6);
    assert_eq!(ms[5]["body"], "✎ Здравствуйте! Где мой заказ 5532?");

    // The agent's reply: escaped HTML, to the customer's chat.
    let reply = app
        .post(
            &format!("/api/v1/tickets/{tid}/messages"),
            json!({"body": "Заказ <b>5531</b> & 5532 *в пути*", "visibility": "public"}),
        )
        .await
        .expect(201);
    app.drain_jobs().await;
    let sent = bot.calls_of("sendMessage");
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0]["chat_id"], CHAT);
    assert_eq!(sent[0]["parse_mode"], "HTML");
    assert_eq!(
        sent[0]["text"],
        "Заказ &lt;b&gt;5531&lt;/b&gt; &amp; 5532 *в пути*"
    );
    let ms = messages(&app, &tid).await;
    let mine = ms.iter().find(|m| m["id"] == reply["id"]).unwrap();
    assert_eq!(mine["delivery"]["state"], "sent");

    // Files leave as a photo (an image) or a document (anything else).
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
    let photo = bot.calls_of("sendPhoto");
    let doc = bot.calls_of("sendDocument");
    assert_eq!(photo.len(), 1);
    assert_eq!(doc.len(), 1);
    assert_eq!(photo[0]["field"], "photo");
    assert_eq!(photo[0]["filename"], "схема.png");
    assert_eq!(doc[0]["filename"], "счёт.pdf");
    assert_eq!(doc[0]["chat_id"], CHAT);

    // Switching the channel off deletes the webhook; updates then find no channel.
    app.patch(
        &format!("/api/v1/channels/telegram/{channel}"),
        json!({"active": false}),
    )
    .await
    .expect(200);
    assert!(bot.webhook().is_none());
    deliver(
        &app,
        &channel,
        Some(&secret),
        &update(20, 30, json!({"text": "?"})),
    )
    .await
    .problem(404);
    // On again: a new secret; the old one no longer opens the webhook.
    app.patch(
        &format!("/api/v1/channels/telegram/{channel}"),
        json!({"active": true}),
    )
    .await
    .expect(200);
    let (_, secret2) = bot.webhook().expect("set again");
    assert_ne!(secret2, secret);
    deliver(
        &app,
        &channel,
        Some(&secret),
        &update(21, 31, json!({"text": "?"})),
    )
    .await
    .problem(403);
    deliver(
        &app,
        &channel,
        Some(&secret2),
        &update(22, 32, json!({"text": "Спасибо!"})),
    )
    .await
    .expect(200);
    app.drain_jobs().await;
    assert_eq!(messages(&app, &tid).await.len(), 9);
}

async fn webhooks_refuse_what_telegram_did_not_sign() {
    let app = app_with_public_url(Backend::Sqlite).await.expect("app");
    let bot = StandIn::start(TOKEN).await.expect("stand-in");
    let (channel, secret) = connect(&app, &bot).await;
    let p = app.engine.cli_principal("alpha").await.unwrap();
    let before = crate::helpers::all_events(&app.engine, &p).await.len();
    let u = update(1, 1, json!({"text": "hello"}));
    deliver(&app, &channel, None, &u).await.problem(401);
    deliver(&app, &channel, Some("wrong"), &u)
        .await
        .problem(403);
    deliver(&app, &channel, Some(&secret[1..]), &u)
        .await
        .problem(403);
    // Another workspace's secret does not open this one's webhook either,
    // and an unknown channel is 404 whatever the secret.
    deliver(&app, &uuid::Uuid::now_v7().to_string(), Some(&secret), &u)
        .await
        .problem(404);
    deliver(&app, "not-an-id", Some(&secret), &u)
        .await
        .problem(404);
    // Signed but not an update: 400, nothing stored.
    let r = app
        .client
        .post(app.url(&format!("/hooks/telegram/{channel}")))
        .header("X-Telegram-Bot-Api-Secret-Token", &secret)
        .header("content-type", "application/json")
        .body("{not json")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    // Larger than an update can be: 413.
    let big = json!({"update_id": 1, "pad": "x".repeat(2 * 1024 * 1024)});
    assert_eq!(
        deliver(&app, &channel, Some(&secret), &big).await.status,
        413
    );
    app.drain_jobs().await;
    assert_eq!(
        crate::helpers::all_events(&app.engine, &p).await.len(),
        before,
        "nothing was stored"
    );
    let list = app
        .get("/api/v1/tickets?channel=telegram")
        .await
        .expect(200);
    assert!(list["items"].as_array().unwrap().is_empty());
}

async fn replies_in_parts_wait_out_rate_limits_and_show_final_failures() {
    let app = app_with_public_url(Backend::Sqlite).await.expect("app");
    let bot = StandIn::start(TOKEN).await.expect("stand-in");
    let (channel, secret) = connect(&app, &bot).await;
    deliver(
        &app,
        &channel,
        Some(&secret),
        &update(1, 1, json!({"text": "Здравствуйте"})),
    )
    .await
    .expect(200);
    app.drain_jobs().await;
    let tid = ticket_of_chat(&app).await["id"]
        .as_str()
        .unwrap()
        .to_owned();

    // Files Telegram will not give are named to the agents in a note; a
    // file beyond the size limit is not even asked for.
    for (i, (id, size)) in [("gone", 10), ("huge", 10 * 1024 * 1024)]
        .into_iter()
        .enumerate()
    {
        let u = update(
            2 + i as i64,
            2 + i as i64,
            json!({"document": {"file_id": id, "file_name": format!("{id}.pdf"), "file_size": size}}),
        );
        deliver(&app, &channel, Some(&secret), &u).await.expect(200);
    }
    // A passing failure is retried: Telegram is down for the first try.
    bot.fail_next("getFile", 502, "Bad Gateway", None);
    app.drain_jobs().await;
    let now = app.engine.now();
    for s in 1..=4 {
        app.clock.set(Some(now.plus_millis(s * 20_000)));
        app.drain_jobs().await;
    }
    app.clock.set(None);
    let ms = messages(&app, &tid).await;
    let notes: Vec<&str> = ms
        .iter()
        .filter(|m| m["visibility"] == "internal")
        .map(|m| m["body"].as_str().unwrap())
        .collect();
    assert_eq!(notes.len(), 2, "{notes:?}");
    assert!(
        notes
            .iter()
            .any(|n| n.contains("gone.pdf") && n.contains("invalid file_id"))
    );
    assert!(
        notes
            .iter()
            .any(|n| n.contains("huge.pdf") && n.contains("larger than"))
    );
    assert!(
        !bot.calls_of("getFile")
            .iter()
            .any(|a| a["file_id"] == "huge"),
        "the oversized file was never fetched"
    );

    // 9,000 characters: three messages. Telegram limits the second: the
    // reply waits as long as it was told, then sends only what is missing.
    let long: String = (0..900).map(|i| format!("строка {i:03}\n")).collect();
    assert_eq!(long.chars().count(), 9_900);
    // The first call succeeds, the second is rate limited.
    bot.fail_after(
        "sendMessage",
        1,
        429,
        "Too Many Requests: retry after 30",
        Some(30),
    );
    let r = app
        .post(
            &format!("/api/v1/tickets/{tid}/messages"),
            json!({"body": long, "visibility": "public"}),
        )
        .await
        .expect(201);
    let rid = r["id"].as_str().unwrap().to_owned();
    app.drain_jobs().await;
    let state = |ms: &[Value]| {
        ms.iter()
            .find(|m| m["id"] == rid.as_str())
            .map(|m| m["delivery"].clone())
            .unwrap()
    };
    let d = state(&messages(&app, &tid).await);
    assert_eq!(d["state"], "queued", "{d}");
    assert!(
        d["error"].as_str().unwrap().contains("Too Many Requests"),
        "{d}"
    );
    // Not before the 30 seconds Telegram asked for.
    let now = app.engine.now();
    app.clock.set(Some(now.plus_millis(20_000)));
    app.drain_jobs().await;
    assert_eq!(state(&messages(&app, &tid).await)["state"], "queued");
    app.clock.set(Some(now.plus_millis(31_000)));
    app.drain_jobs().await;
    assert_eq!(state(&messages(&app, &tid).await)["state"], "sent");
    let texts: Vec<String> = bot
        .calls_of("sendMessage")
        .iter()
        .filter(|a| a["parse_mode"] == "HTML")
        .map(|a| a["text"].as_str().unwrap_or_default().to_owned())
        .collect();
    // Calls: part 1, part 2 refused, part 2 again, part 3; never part 1 twice.
    assert_eq!(texts.len(), 4);
    assert!(texts.iter().all(|t| t.chars().count() <= 4096));
    assert_eq!(texts[1], texts[2]);
    assert_eq!(
        [&texts[0], &texts[2], &texts[3]]
            .map(String::as_str)
            .concat(),
        long
    );

    // A customer who blocked the bot: the reply fails with Telegram's reason.
    bot.fail_next(
        "sendMessage",
        403,
        "Forbidden: bot was blocked by the user",
        None,
    );
    let r = app
        .post(
            &format!("/api/v1/tickets/{tid}/messages"),
            json!({"body": "Вы здесь?", "visibility": "public"}),
        )
        .await
        .expect(201);
    app.drain_jobs().await;
    let ms = messages(&app, &tid).await;
    let d = ms.iter().find(|m| m["id"] == r["id"]).unwrap()["delivery"].clone();
    assert_eq!(d["state"], "failed");
    assert!(d["error"].as_str().unwrap().contains("blocked"), "{d}");
}

async fn agents_link_their_telegram_and_rules_notify_them_there() {
    let app = app_with_public_url(Backend::Sqlite).await.expect("app");
    let bot = StandIn::start(TOKEN).await.expect("stand-in");
    let owner = app.engine.cli_principal("alpha").await.unwrap();
    assert_eq!(
        app.engine.telegram_link_url(&owner).await.unwrap(),
        None,
        "no bot yet"
    );
    let (channel, secret) = connect(&app, &bot).await;
    let url = app
        .engine
        .telegram_link_url(&owner)
        .await
        .unwrap()
        .expect("a link");
    let code = url
        .strip_prefix("https://t.me/shop_help_bot?start=")
        .expect("a deep link to the bot")
        .to_owned();
    assert!(
        code.len() <= 64
            && code
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-'),
        "Telegram takes at most 64 of A-Za-z0-9_-: {code}"
    );
    const AGENT_CHAT: i64 = 777;
    let start = |id: i64, text: String| {
        json!({"update_id": id, "message": {"message_id": id, "date": 1_795_000_000,
            "chat": {"id": AGENT_CHAT, "type": "private"},
            "from": {"id": AGENT_CHAT, "is_bot": false, "first_name": "Owner"}, "text": text}})
    };
    // A forged or altered code links nobody; a bare /start is no question.
    let mut forged = code.clone().into_bytes();
    forged[5] = if forged[5] == b'A' { b'B' } else { b'A' };
    for (i, text) in [
        format!("/start {}", String::from_utf8(forged).unwrap()),
        "/start".to_owned(),
        "/start not-a-code".to_owned(),
    ]
    .into_iter()
    .enumerate()
    {
        deliver(&app, &channel, Some(&secret), &start(i as i64 + 1, text))
            .await
            .expect(200);
    }
    app.drain_jobs().await;
    assert_eq!(app.engine.telegram_link(&owner).await.unwrap(), None);
    assert!(bot.calls_of("sendMessage").is_empty());
    // The real code links the chat and says so there; no ticket is made.
    deliver(
        &app,
        &channel,
        Some(&secret),
        &start(10, format!("/start {code}")),
    )
    .await
    .expect(200);
    app.drain_jobs().await;
    let link = app
        .engine
        .telegram_link(&owner)
        .await
        .unwrap()
        .expect("linked");
    assert_eq!(link.chat_id, AGENT_CHAT);
    let sent = bot.calls_of("sendMessage");
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0]["chat_id"], AGENT_CHAT);
    assert!(sent[0]["text"].as_str().unwrap().contains("notifications"));
    let none = app
        .get("/api/v1/tickets?channel=telegram")
        .await
        .expect(200);
    assert!(none["items"].as_array().unwrap().is_empty(), "{none}");

    // A rule tells the owner about new tickets, in Telegram too.
    app.post(
        "/api/v1/rules",
        json!({"name": "Tell the owner", "kind": "trigger", "on": ["ticket.created"],
               "actions": [{"type": "notify", "user_ids": [owner.user_id], "telegram": true,
                            "text": "New <{{ticket.subject}}>"}]}),
    )
    .await
    .expect(201);
    let t = app.ticket("Где заказ?", "anna@example.com").await;
    crate::helpers::until("the rule's Telegram message", 10, async || {
        app.drain_jobs().await;
        (bot.calls_of("sendMessage").len() == 2).then_some(())
    })
    .await;
    let told = bot.calls_of("sendMessage")[1].clone();
    assert_eq!(told["chat_id"], AGENT_CHAT);
    let text = told["text"].as_str().unwrap();
    assert!(text.starts_with("New &lt;Где заказ?&gt;"), "{text}");
    assert!(
        text.contains(&format!("https://desk.test/app/t/{}", t["number"])),
        "{text}"
    );

    // Unlinked: the rule tells the app and nothing goes to Telegram.
    app.engine.unlink_telegram(&owner).await.unwrap();
    app.ticket("Ещё вопрос", "boris@example.com").await;
    for _ in 0..20 {
        app.drain_jobs().await;
        tokio::time::sleep(std::time::Duration::from_millis(25)).await;
    }
    assert_eq!(bot.calls_of("sendMessage").len(), 2);
    // A code is good for an hour only.
    let now = app.engine.now();
    app.clock.set(Some(now.plus_millis(2 * 3_600_000)));
    deliver(
        &app,
        &channel,
        Some(&secret),
        &start(11, format!("/start {code}")),
    )
    .await
    .expect(200);
    assert_eq!(app.engine.telegram_link(&owner).await.unwrap(), None);
}

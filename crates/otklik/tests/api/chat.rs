//! Live chat: widget channels, the visitors' client API and their websocket,
//! agents answering live.

use crate::helpers::TestApp;
use futures::{SinkExt, StreamExt};
use serde_json::{Value, json};
use std::time::Duration;
use tokio_tungstenite::tungstenite::Message as WsMessage;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;

crate::on_both!(visitors_chat_and_agents_answer_live);

const SHOP: &str = "http://shop.test";

/// A widget channel of `alpha` on SHOP: its key and identity secret.
async fn channel(app: &TestApp, prechat: Value) -> (String, String) {
    let c = app
        .post(
            "/api/v1/channels/chat",
            json!({"name": "Site chat", "allowed_origins": [SHOP], "prechat": prechat,
                   "greeting": {"ru": "Здравствуйте! Чем помочь?"}}),
        )
        .await
        .expect(201);
    assert!(c["widget_key"].as_str().unwrap().starts_with("wk_"));
    assert_eq!(c["identity_secret_set"], true);
    assert!(c["snippet"].as_str().unwrap().contains("/loader.js"));
    (
        c["widget_key"].as_str().unwrap().to_owned(),
        c["identity_secret"].as_str().unwrap().to_owned(),
    )
}

/// A request from a page on `origin`.
async fn from_site(
    app: &TestApp,
    method: &str,
    path: &str,
    origin: &str,
    token: Option<&str>,
    body: Option<Value>,
) -> crate::helpers::Res {
    let m = reqwest::Method::from_bytes(method.as_bytes()).expect("method");
    let mut b = app
        .client
        .request(m, app.url(path))
        .header("origin", origin);
    if let Some(t) = token {
        b = b.bearer_auth(t);
    }
    if let Some(body) = body {
        b = b.json(&body);
    }
    crate::helpers::res(b.send().await.expect("request")).await
}

async fn visitor(app: &TestApp, key: &str, body: Value) -> String {
    let v = from_site(
        app,
        "POST",
        &format!("/widget/v1/{key}/visitors"),
        SHOP,
        None,
        Some(body),
    )
    .await
    .expect(201);
    v["visitor_token"].as_str().unwrap().to_owned()
}

type Socket =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

async fn socket(app: &TestApp, key: &str, token: &str, origin: &str) -> Result<Socket, String> {
    let url = format!(
        "{}/widget/v1/{key}/ws?token={token}",
        app.base.replace("http://", "ws://")
    );
    let mut r = url.into_client_request().map_err(|e| e.to_string())?;
    r.headers_mut()
        .insert("origin", origin.parse().map_err(|_| "origin".to_owned())?);
    tokio_tungstenite::connect_async(r)
        .await
        .map(|(s, _)| s)
        .map_err(|e| e.to_string())
}

/// The next message of `kind` on the socket, within five seconds.
async fn next_of(ws: &mut Socket, kind: &str) -> Value {
    tokio::time::timeout(Duration::from_secs(5), async {
        loop {
            match ws.next().await {
                Some(Ok(WsMessage::Text(t))) => {
                    let v: Value = serde_json::from_str(t.as_str()).expect("json");
                    if v["type"] == kind {
                        return v;
                    }
                }
                Some(Ok(_)) => {}
                other => panic!("socket ended: {other:?}"),
            }
        }
    })
    .await
    .unwrap_or_else(|_| panic!("no {kind} within 5 s"))
}

async fn visitors_chat_and_agents_answer_live(app: TestApp) {
    let (key, secret) = channel(&app, json!([{"field": "name", "required": true}])).await;
    let cfg = from_site(
        &app,
        "GET",
        &format!("/widget/v1/{key}/config"),
        SHOP,
        None,
        None,
    )
    .await
    .expect(200);
    assert_eq!(cfg["greeting"]["ru"], "Здравствуйте! Чем помочь?");
    assert_eq!(cfg["prechat"], json!([{"field": "name", "required": true}]));
    assert_eq!(cfg["agents_online"], 0);
    // Other sites and unknown keys are refused.
    from_site(
        &app,
        "GET",
        &format!("/widget/v1/{key}/config"),
        "http://evil.test",
        None,
        None,
    )
    .await
    .problem(403);
    from_site(&app, "GET", "/widget/v1/wk_nope/config", SHOP, None, None)
        .await
        .problem(404);
    // The pre-chat form's required name.
    from_site(
        &app,
        "POST",
        &format!("/widget/v1/{key}/visitors"),
        SHOP,
        None,
        Some(json!({"lang": "ru"})),
    )
    .await
    .problem(422);
    let anna = visitor(
        &app,
        &key,
        json!({"name": "Анна", "lang": "ru", "page_url": "http://shop.test/cart"}),
    )
    .await;
    from_site(
        &app,
        "GET",
        &format!("/widget/v1/{key}/visitor"),
        SHOP,
        Some("vt_forged"),
        None,
    )
    .await
    .problem(401);

    // The first message opens a ticket; the same client id again is the same message.
    let path = format!("/widget/v1/{key}/messages");
    let first = from_site(
        &app,
        "POST",
        &path,
        SHOP,
        Some(&anna),
        Some(json!({"client_id": "c-1", "text": "Где мой заказ 5531?"})),
    )
    .await
    .expect(201);
    let again = from_site(
        &app,
        "POST",
        &path,
        SHOP,
        Some(&anna),
        Some(json!({"client_id": "c-1", "text": "Где мой заказ 5531?"})),
    )
    .await
    .expect(200);
    assert_eq!(first["id"], again["id"]);
    let ticket = first["ticket_id"].as_str().unwrap().to_owned();
    let t = app
        .get(&format!("/api/v1/tickets/{ticket}"))
        .await
        .expect(200);
    assert_eq!(t["channel"], "chat");
    assert_eq!(t["subject"], "Где мой заказ 5531?");
    let second = from_site(
        &app,
        "POST",
        &path,
        SHOP,
        Some(&anna),
        Some(json!({"client_id": "c-2", "text": "Жду ответа"})),
    )
    .await
    .expect(201);
    assert_eq!(second["ticket_id"].as_str(), Some(ticket.as_str()));

    // Live: an agent's reply reaches the visitor's socket; a note never does.
    assert!(
        socket(&app, &key, &anna, "http://evil.test").await.is_err(),
        "other sites refused"
    );
    assert!(
        socket(&app, &key, "vt_forged", SHOP).await.is_err(),
        "forged tokens refused"
    );
    let mut ws = socket(&app, &key, &anna, SHOP).await.expect("socket");
    let messages = format!("/api/v1/tickets/{ticket}/messages");
    app.post(
        &messages,
        json!({"body": "Служебно: проверить склад", "visibility": "internal"}),
    )
    .await
    .expect(201);
    let reply = app
        .post(
            &messages,
            json!({"body": "Заказ 5531 передан курьеру", "visibility": "public"}),
        )
        .await
        .expect(201);
    let pushed = next_of(&mut ws, "message").await;
    assert_eq!(pushed["message"]["id"], reply["id"], "{pushed}");
    assert_eq!(pushed["message"]["author"]["kind"], "agent");
    assert_eq!(pushed["message"]["text"], "Заказ 5531 передан курьеру");

    // The history: the visitor's and the agent's messages, no note.
    let history = from_site(&app, "GET", &path, SHOP, Some(&anna), None)
        .await
        .expect(200);
    let texts: Vec<&str> = history["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["text"].as_str().unwrap())
        .collect();
    assert_eq!(
        texts,
        [
            "Где мой заказ 5531?",
            "Жду ответа",
            "Заказ 5531 передан курьеру"
        ]
    );
    let after = from_site(
        &app,
        "GET",
        &format!("{path}?after={}", second["id"].as_str().unwrap()),
        SHOP,
        Some(&anna),
        None,
    )
    .await
    .expect(200);
    assert_eq!(after["items"].as_array().unwrap().len(), 1);

    // Read marks: the visitor reads the reply, the agent sees it read.
    ws.send(WsMessage::Text(
        json!({"type": "read", "up_to": reply["id"]})
            .to_string()
            .into(),
    ))
    .await
    .expect("send");
    let delivery = next_of(&mut ws, "delivery").await;
    assert_eq!(delivery["message_id"], reply["id"]);
    assert_eq!(delivery["state"], "read");

    // Another visitor sees nothing of Anna's conversation.
    let boris = visitor(&app, &key, json!({"name": "Борис"})).await;
    let theirs = from_site(&app, "GET", &path, SHOP, Some(&boris), None)
        .await
        .expect(200);
    assert_eq!(theirs["items"], json!([]));
    let mut ws_boris = socket(&app, &key, &boris, SHOP).await.expect("socket");
    app.post(
        &messages,
        json!({"body": "Ещё вопрос есть?", "visibility": "public"}),
    )
    .await
    .expect(201);
    next_of(&mut ws, "message").await;
    assert!(
        tokio::time::timeout(Duration::from_millis(300), ws_boris.next())
            .await
            .is_err(),
        "Boris heard Anna's conversation"
    );

    // Identity verification: the site's HMAC of its user id.
    let mac = engine::chat::identity_hmac(secret.as_bytes(), "42").expect("mac");
    from_site(
        &app,
        "POST",
        &format!("/widget/v1/{key}/visitors"),
        SHOP,
        None,
        Some(json!({"name": "Вера", "identity": {"user_id": "42", "hmac": "00".repeat(32)}})),
    )
    .await
    .problem(403);
    let vera = visitor(&app, &key, json!({"name": "Вера", "email": "vera@example.com", "identity": {"user_id": "42", "hmac": mac}})).await;
    let me = from_site(
        &app,
        "GET",
        &format!("/widget/v1/{key}/visitor"),
        SHOP,
        Some(&vera),
        None,
    )
    .await
    .expect(200);
    assert_eq!(me["verified"], true);

    // An anonymous visitor who gives a known address becomes that customer.
    let known = app
        .post("/api/v1/customers", json!({"name": "Анна Петрова", "identities": [{"kind": "email", "value": "anna@example.com"}]}))
        .await
        .expect(201);
    from_site(
        &app,
        "PATCH",
        &format!("/widget/v1/{key}/visitor"),
        SHOP,
        Some(&anna),
        Some(json!({"email": "Anna@Example.com"})),
    )
    .await
    .expect(200);
    let t = app
        .get(&format!("/api/v1/tickets/{ticket}"))
        .await
        .expect(200);
    assert_eq!(t["customer_id"], known["id"], "{t}");
}

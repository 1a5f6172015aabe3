//! Live chat: widget channels, the visitors' client API and their websocket,
//! agents answering live.

use crate::helpers::TestApp;
use futures::{SinkExt, StreamExt};
use serde_json::{Value, json};
use std::time::Duration;
use tokio_tungstenite::tungstenite::Message as WsMessage;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;

crate::on_both!(visitors_chat_and_agents_answer_live);

pub(crate) const SHOP: &str = "http://shop.test";

/// A widget channel of `alpha` on SHOP: its key and identity secret.
pub(crate) async fn channel(app: &TestApp, prechat: Value) -> (String, String) {
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
pub(crate) async fn from_site(
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

pub(crate) async fn visitor(app: &TestApp, key: &str, body: Value) -> String {
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

    // The widget now knows how long a first answer takes (the page reads it
    // through a 30 s cache; the figure itself is the engine's).
    let w = app.engine.widget(&key).await.expect("widget");
    let wait = app
        .engine
        .widget_status(&w)
        .await
        .expect("status")
        .expected_wait_s;
    assert!(wait.is_some_and(|w| (0..60).contains(&w)), "{wait:?}");

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

    // A file, sent as a message; only its conversation's visitor reads it back.
    let form = reqwest::multipart::Form::new()
        .text("client_id", "f-1")
        .text("text", "Фото коробки")
        .part(
            "file",
            reqwest::multipart::Part::bytes(b"\x89PNG\r\n\x1a\nbox".to_vec())
                .file_name("коробка.png")
                .mime_str("image/png")
                .expect("mime"),
        );
    let up: Value = app
        .client
        .post(app.url(&format!("/widget/v1/{key}/files")))
        .bearer_auth(&anna)
        .multipart(form)
        .send()
        .await
        .expect("upload")
        .json()
        .await
        .expect("json");
    assert_eq!(up["ticket_id"].as_str(), Some(ticket.as_str()), "{up}");
    let pushed = next_of(&mut ws, "message").await;
    let file = pushed["message"]["attachments"][0]["id"]
        .as_str()
        .expect("file")
        .to_owned();
    assert_eq!(
        pushed["message"]["attachments"][0]["filename"],
        "коробка.png"
    );
    let got = app
        .client
        .get(app.url(&format!("/widget/v1/{key}/files/{file}?token={anna}")))
        .send()
        .await
        .expect("download");
    assert_eq!(got.status(), 200);
    assert!(
        got.headers()["content-disposition"]
            .to_str()
            .unwrap_or_default()
            .starts_with("attachment")
    );
    assert_eq!(
        got.bytes().await.expect("bytes").as_ref(),
        b"\x89PNG\r\n\x1a\nbox"
    );
    let theirs = app
        .client
        .get(app.url(&format!("/widget/v1/{key}/files/{file}?token={boris}")))
        .send()
        .await
        .expect("download");
    assert_eq!(theirs.status(), 404);

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

    // An anonymous visitor who gives a known address is not joined to that
    // customer (anyone can type an address): agents get a suggestion, and
    // merging moves the conversation.
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
    assert_ne!(t["customer_id"], known["id"], "{t}");
    let known_id = known["id"].as_str().unwrap();
    let s = app
        .get(&format!("/api/v1/customers/{known_id}/suggestions"))
        .await
        .expect(200);
    let items = s["items"].as_array().unwrap();
    assert_eq!(items.len(), 1, "{s}");
    assert_eq!(items[0]["customer_id"], t["customer_id"]);
    assert_eq!(items[0]["reason"], "claimed");
    assert_eq!(items[0]["identity"]["value"], "anna@example.com");
    app.post(
        &format!("/api/v1/customers/{known_id}/merge"),
        json!({"source_id": t["customer_id"]}),
    )
    .await
    .expect(200);
    let t = app
        .get(&format!("/api/v1/tickets/{ticket}"))
        .await
        .expect(200);
    assert_eq!(t["customer_id"], known["id"], "{t}");
    let s = app
        .get(&format!("/api/v1/customers/{known_id}/suggestions"))
        .await
        .expect(200);
    assert_eq!(
        s["items"],
        json!([]),
        "a merged pair is no longer suggested"
    );
    // The visitor keeps writing as the merged profile.
    from_site(
        &app,
        "POST",
        &format!("/widget/v1/{key}/messages"),
        SHOP,
        Some(&anna),
        Some(json!({"client_id": "after-merge", "text": "ещё вопрос"})),
    )
    .await
    .expect(201);
    let t = app
        .get(&format!("/api/v1/tickets/{ticket}"))
        .await
        .expect(200);
    assert_eq!(t["customer_id"], known["id"], "{t}");

    // An address nobody has stays on the visitor's profile, unverified; mail
    // from it later proves it for whoever sent that mail, and the two profiles
    // are suggested rather than joined.
    visitor(
        &app,
        &key,
        json!({"name": "Катя", "email": "kate@example.com"}),
    )
    .await;
    let found = app.get("/api/v1/customers?q=kate@").await.expect(200);
    let claimer = found["items"][0].clone();
    assert_eq!(claimer["name"], "Катя");
    assert_eq!(
        (
            &claimer["identities"][0]["value"],
            &claimer["identities"][0]["verified"]
        ),
        (&json!("kate@example.com"), &json!(false))
    );
    let mail = app.ticket("Письмо", "kate@example.com").await;
    assert_ne!(mail["customer_id"], claimer["id"]);
    let prover = app
        .get(&format!(
            "/api/v1/customers/{}",
            mail["customer_id"].as_str().unwrap()
        ))
        .await
        .expect(200);
    assert_eq!(prover["identities"][0]["verified"], true, "{prover}");
    let s = app
        .get(&format!(
            "/api/v1/customers/{}/suggestions",
            claimer["id"].as_str().unwrap()
        ))
        .await
        .expect(200);
    assert_eq!(s["items"][0]["customer_id"], mail["customer_id"], "{s}");
    assert_eq!(s["items"][0]["reason"], "claimed");
}

/// Two server processes on one PostgreSQL database: a visitor on node A and an
/// agent on node B chat live, typing and read marks included.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_visitor_on_one_node_and_an_agent_on_another_chat_live() {
    let Some(admin) = crate::helpers::pg_admin_url() else {
        crate::helpers::skipped(
            "chat::a_visitor_on_one_node_and_an_agent_on_another_chat_live",
            "no PostgreSQL: set OTKLIK_TEST_PG_URL (cargo xtask ci does)",
        );
        return;
    };
    let name = format!("otklik_test_{}", uuid::Uuid::new_v4().simple());
    let url = store::admin::create_database(&admin, &name)
        .await
        .expect("database");
    let dir = tempfile::tempdir().expect("dir");
    // Nodes of one installation share their secret key (sealed secrets, such as
    // a widget's identity secret, are opened by whichever node serves).
    let secret: String = (0..32)
        .map(|i| format!("{:02x}", (i * 37 + 11) % 256))
        .collect();
    let config = otklik::config::Config {
        data_dir: dir.path().to_path_buf(),
        database_url: Some(url.clone().into()),
        secret_key: Some(secret.clone().into()),
        ..Default::default()
    };
    let engine = otklik::app::open_engine(&config, std::sync::Arc::new(store::SystemClock))
        .await
        .expect("engine");
    engine
        .create_workspace("pair", "owner@pair.test", "pair-password")
        .await
        .expect("workspace");
    let ports: Vec<u16> = (0..2)
        .map(|_| {
            let l = std::net::TcpListener::bind("127.0.0.1:0").expect("port");
            l.local_addr().expect("addr").port()
        })
        .collect();
    let node = |i: usize| {
        let data = dir.path().join(format!("node{i}"));
        std::fs::create_dir_all(&data).expect("data dir");
        tokio::process::Command::new(env!("CARGO_BIN_EXE_otklik"))
            .args([
                "serve",
                "--listen",
                &format!("127.0.0.1:{}", ports[i]),
                "--data-dir",
            ])
            .arg(&data)
            .env("DATABASE_URL", &url)
            .env("OTKLIK_SECRET_KEY", &secret)
            .env("OTKLIK_IMAP_POLLERS", "false")
            .env("OTKLIK_LOG", "warn")
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .expect("node")
    };
    let (_a, _b) = (node(0), node(1));
    let (a, b) = (
        format!("http://127.0.0.1:{}", ports[0]),
        format!("http://127.0.0.1:{}", ports[1]),
    );
    let http = reqwest::Client::new();
    // The agent signs in on node B (the session cookie serves the live socket).
    let login = crate::helpers::until("node B to answer", 30, async || {
        http.post(format!("{b}/api/v1/auth/login"))
            .json(&json!({"workspace": "pair", "email": "owner@pair.test", "password": "pair-password"}))
            .send()
            .await
            .ok()
            .filter(|r| r.status() == 200)
    })
    .await;
    let cookie = login
        .headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|c| c.to_str().ok())
        .find(|c| c.starts_with("otklik_session="))
        .and_then(|c| c.split(';').next())
        .expect("session cookie")
        .to_owned();
    let login: Value = login.json().await.expect("login");
    let csrf = login["csrf_token"].as_str().expect("csrf").to_owned();
    let on_b = |method: reqwest::Method, path: &str| {
        http.request(method, format!("{b}{path}"))
            .header("cookie", &cookie)
            .header("x-csrf-token", &csrf)
    };
    let c: Value = on_b(reqwest::Method::POST, "/api/v1/channels/chat")
        .json(&json!({"name": "Site chat"}))
        .send()
        .await
        .expect("channel")
        .json()
        .await
        .expect("json");
    let key = c["widget_key"].as_str().expect("key").to_owned();
    crate::helpers::until("node A to answer", 30, async || {
        http.get(format!("{a}/healthz"))
            .send()
            .await
            .ok()
            .filter(|r| r.status() == 200)
    })
    .await;

    // The visitor is on node A.
    let v: Value = http
        .post(format!("{a}/widget/v1/{key}/visitors"))
        .json(&json!({"name": "Анна"}))
        .send()
        .await
        .expect("visitor")
        .json()
        .await
        .expect("json");
    let token = v["visitor_token"]
        .as_str()
        .unwrap_or_else(|| panic!("{v} {c}"))
        .to_owned();
    let first: Value = http
        .post(format!("{a}/widget/v1/{key}/messages"))
        .bearer_auth(&token)
        .json(&json!({"client_id": "m-1", "text": "Здравствуйте!"}))
        .send()
        .await
        .expect("message")
        .json()
        .await
        .expect("json");
    let ticket = first["ticket_id"].as_str().expect("ticket").to_owned();
    let mut visitor = {
        let mut r = format!(
            "{}/widget/v1/{key}/ws?token={token}",
            a.replace("http://", "ws://")
        )
        .into_client_request()
        .expect("request");
        r.headers_mut().insert("origin", a.parse().expect("origin"));
        tokio_tungstenite::connect_async(r)
            .await
            .expect("visitor socket")
            .0
    };
    // The agent watches the ticket on node B.
    let mut agent = {
        let mut r = format!("{}/app/ws", b.replace("http://", "ws://"))
            .into_client_request()
            .expect("request");
        r.headers_mut().insert("origin", b.parse().expect("origin"));
        r.headers_mut()
            .insert("cookie", cookie.parse().expect("cookie"));
        tokio_tungstenite::connect_async(r)
            .await
            .expect("agent socket")
            .0
    };
    agent
        .send(WsMessage::Text(
            json!({"t": "view", "ticket": ticket}).to_string().into(),
        ))
        .await
        .expect("view");
    // The widget on node A counts the agent who has the workspace open on B.
    crate::helpers::until("node A to count the agent on node B", 10, async || {
        let c: Value = http
            .get(format!("{a}/widget/v1/{key}/config"))
            .send()
            .await
            .ok()?
            .json()
            .await
            .ok()?;
        (c["agents_online"] == 1).then_some(())
    })
    .await;
    let next_agent = async |ws: &mut Socket, want: &dyn Fn(&Value) -> bool, what: &str| -> Value {
        tokio::time::timeout(Duration::from_secs(10), async {
            loop {
                if let Some(Ok(WsMessage::Text(t))) = ws.next().await {
                    let v: Value = serde_json::from_str(t.as_str()).expect("json");
                    if want(&v) {
                        return v;
                    }
                }
            }
        })
        .await
        .unwrap_or_else(|_| panic!("no {what} within 10 s"))
    };

    // The visitor types on A; the agent on B is told.
    visitor
        .send(WsMessage::Text(
            json!({"type": "typing"}).to_string().into(),
        ))
        .await
        .expect("typing");
    let seen = next_agent(
        &mut agent,
        &|v| {
            v["t"] == "presence"
                && v["people"]
                    .as_array()
                    .is_some_and(|p| p.iter().any(|x| x["name"] == "Анна" && x["typing"] == true))
        },
        "the visitor typing on node B",
    )
    .await;
    assert_eq!(seen["ticket"], json!(ticket));
    // The visitor writes on A; node B's agent sees the change live.
    http.post(format!("{a}/widget/v1/{key}/messages"))
        .bearer_auth(&token)
        .json(&json!({"client_id": "m-2", "text": "Где заказ?"}))
        .send()
        .await
        .expect("message");
    next_agent(
        &mut agent,
        &|v| v["t"] == "change" && v["kind"] == "message.added" && v["ticket"] == json!(ticket),
        "the new message on node B",
    )
    .await;
    // The agent types on B; the visitor on A is told.
    agent
        .send(WsMessage::Text(
            json!({"t": "typing", "ticket": ticket}).to_string().into(),
        ))
        .await
        .expect("typing");
    // (Earlier presence changes said "not typing".)
    let mut typing = next_of(&mut visitor, "typing").await;
    for _ in 0..10 {
        if typing["typing"] == true {
            break;
        }
        typing = next_of(&mut visitor, "typing").await;
    }
    assert_eq!(typing["typing"], true, "{typing}");
    // The agent answers on B; the reply reaches the visitor on A.
    let started = std::time::Instant::now();
    let reply: Value = on_b(
        reqwest::Method::POST,
        &format!("/api/v1/tickets/{ticket}/messages"),
    )
    .json(&json!({"body": "Заказ в пути", "visibility": "public"}))
    .send()
    .await
    .expect("reply")
    .json()
    .await
    .expect("json");
    let got = next_of(&mut visitor, "message").await;
    let got = if got["message"]["id"] == reply["id"] {
        got
    } else {
        next_of(&mut visitor, "message").await
    };
    assert_eq!(got["message"]["id"], reply["id"], "{got}");
    assert_eq!(got["message"]["text"], "Заказ в пути");
    eprintln!(
        "a reply on node B reached the visitor on node A in {:?}",
        started.elapsed()
    );
    // The visitor reads it on A; the agent's node records it read.
    visitor
        .send(WsMessage::Text(
            json!({"type": "read", "up_to": reply["id"]})
                .to_string()
                .into(),
        ))
        .await
        .expect("read");
    next_agent(
        &mut agent,
        &|v| v["t"] == "change" && v["kind"] == "message.delivery_changed",
        "the read mark on node B",
    )
    .await;
    drop(engine);
    let _ = store::admin::drop_database(&admin, &name).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_offline_visitor_gets_the_reply_by_email_and_answers_into_the_chat() {
    let app = crate::helpers::spawn_with(crate::helpers::Backend::Sqlite, |c| {
        c.limits.chat_email_after_secs = 0;
    })
    .await
    .expect("app");
    let sink = crate::email::Sink::start().await;
    let mb = crate::email::quiet_mailbox(&app, "help@shop.example", &sink).await;
    let (key, _) = channel(&app, json!([])).await;
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
    assert_eq!(
        (cfg["agents_online"].clone(), cfg["offline_email"].clone()),
        (json!(0), json!(true))
    );
    // Nobody is online: the visitor writes and leaves an address.
    let anna = visitor(&app, &key, json!({"name": "Анна"})).await;
    let path = format!("/widget/v1/{key}/messages");
    let first = from_site(
        &app,
        "POST",
        &path,
        SHOP,
        Some(&anna),
        Some(json!({"client_id": "o-1", "text": "Как вернуть товар?"})),
    )
    .await
    .expect(201);
    let ticket = first["ticket_id"].as_str().expect("ticket").to_owned();
    from_site(
        &app,
        "PATCH",
        &format!("/widget/v1/{key}/visitor"),
        SHOP,
        Some(&anna),
        Some(json!({"email": "anna.offline@example.com"})),
    )
    .await
    .expect(200);

    // The agent answers later; the visitor does not read it: it goes by email.
    let reply = app
        .post(
            &format!("/api/v1/tickets/{ticket}/messages"),
            json!({"body": "Оформите возврат в личном кабинете", "visibility": "public"}),
        )
        .await
        .expect(201);
    app.drain_jobs().await;
    app.drain_jobs().await;
    let sent = sink.messages();
    assert_eq!(sent.len(), 1, "one email");
    let (envelope, email, _) = &sent[0];
    assert_eq!(envelope.rcpts, vec!["anna.offline@example.com".to_owned()]);
    assert!(
        email.text.contains("Оформите возврат в личном кабинете"),
        "{}",
        email.text
    );
    let sent_id = email.message_id.clone().expect("message id");
    // A reply the visitor reads in the chat is not emailed.
    let read = app
        .post(
            &format!("/api/v1/tickets/{ticket}/messages"),
            json!({"body": "Ещё вопросы?", "visibility": "public"}),
        )
        .await
        .expect(201);
    from_site(
        &app,
        "POST",
        &format!("/widget/v1/{key}/read"),
        SHOP,
        Some(&anna),
        Some(json!({"up_to": read["id"]})),
    )
    .await
    .expect(204);
    app.drain_jobs().await;
    app.drain_jobs().await;
    assert_eq!(sink.messages().len(), 1, "a read reply is not emailed");
    let _ = reply;

    // The visitor answers the email: it joins the same ticket, and the chat.
    let answer = crate::email::pipe(
        &app,
        &mb,
        &crate::email::mail(
            "Anna <anna.offline@example.com>",
            "help@shop.example",
            "Re: Как вернуть товар?",
            "answer-1@example.com",
            &format!("In-Reply-To: <{sent_id}>\r\n"),
            "Спасибо, оформила",
        ),
    )
    .await;
    assert_eq!(
        answer["ticket_id"].as_str(),
        Some(ticket.as_str()),
        "{answer}"
    );
    let history = from_site(&app, "GET", &path, SHOP, Some(&anna), None)
        .await
        .expect(200);
    assert!(
        history["items"]
            .as_array()
            .expect("items")
            .iter()
            .any(|m| m["text"] == "Спасибо, оформила"),
        "{history}"
    );
    // Answering mail sent to the address the visitor typed proves it is theirs.
    let t = app
        .get(&format!("/api/v1/tickets/{ticket}"))
        .await
        .expect(200);
    let c = app
        .get(&format!(
            "/api/v1/customers/{}",
            t["customer_id"].as_str().unwrap()
        ))
        .await
        .expect(200);
    let email = c["identities"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["kind"] == "email")
        .cloned();
    assert_eq!(
        email.map(|i| (i["value"].clone(), i["verified"].clone())),
        Some((json!("anna.offline@example.com"), json!(true))),
        "{c}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn admins_set_up_a_widget_and_copy_its_snippet() {
    use crate::ui::Agent;
    let app = crate::helpers::spawn(crate::helpers::Backend::Sqlite)
        .await
        .expect("app");
    app.user("agent@alpha.test", "agent").await;
    let agent = Agent::login(&app, "agent@alpha.test", "user-password").await;
    assert_eq!(
        agent
            .post("/app/admin/chat", &[("name", "x")], true)
            .await
            .status(),
        403
    );
    let owner = Agent::login(&app, "owner@alpha.test", "alpha-password").await;
    // Creating shows the identity secret once, and the snippet.
    let r = owner
        .post(
            "/app/admin/chat",
            &[
                ("name", "Чат магазина"),
                ("origins", "https://shop.example\nhttps://m.shop.example"),
            ],
            true,
        )
        .await;
    assert_eq!(r.status(), 200);
    let page = r.text().await.expect("page");
    assert!(
        page.contains("id=\"identity-secret\"") && page.contains("/loader.js"),
        "{page}"
    );
    let c = app.get("/api/v1/channels/chat").await.expect(200)["items"][0].clone();
    assert_eq!(
        c["allowed_origins"],
        json!(["https://shop.example", "https://m.shop.example"])
    );
    let id = c["id"].as_str().expect("id").to_owned();
    // The widget's greeting and pre-chat form are set on its page.
    let r = owner
        .post(
            &format!("/app/admin/chat/{id}"),
            &[
                ("name", "Чат магазина"),
                ("active", "on"),
                ("color", "#0b7a75"),
                ("origins", "https://shop.example"),
                ("greeting_ru", "Здравствуйте!"),
                ("greeting_th", "สวัสดีค่ะ"),
                ("ask_email", "on"),
                ("require_email", "on"),
                ("ask_name", "on"),
                ("offline_email", "on"),
            ],
            true,
        )
        .await;
    assert_eq!(r.status(), 303);
    let c = app
        .get(&format!("/api/v1/channels/chat/{id}"))
        .await
        .expect(200);
    assert_eq!(
        c["greeting"],
        json!({"ru": "Здравствуйте!", "th": "สวัสดีค่ะ"})
    );
    assert_eq!(
        c["prechat"],
        json!([{"field": "name", "required": false}, {"field": "email", "required": true}])
    );
    assert_eq!(c["color"], "#0b7a75");
    let page = owner.page(&format!("/app/admin/chat/{id}")).await;
    assert!(
        page.contains("data-copy=\"snippet\"") && !page.contains("identity-secret"),
        "the secret is not shown again"
    );
    // A new secret, shown once; the old one no longer verifies.
    let r = owner
        .post(&format!("/app/admin/chat/{id}/rotate"), &[], true)
        .await;
    assert_eq!(r.status(), 200);
    assert!(r.text().await.expect("page").contains("identity-secret"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_help_center_offers_the_chat() {
    let app = crate::helpers::spawn(crate::helpers::Backend::Sqlite)
        .await
        .expect("app");
    let plain = app
        .client
        .get(app.url("/help/alpha/ru"))
        .send()
        .await
        .expect("page")
        .text()
        .await
        .expect("text");
    assert!(!plain.contains("loader.js"), "no chat, no widget");
    let (key, _) = channel(&app, json!([])).await;
    let page = app
        .client
        .get(app.url("/help/alpha/ru"))
        .send()
        .await
        .expect("page")
        .text()
        .await
        .expect("text");
    assert!(
        page.contains(&format!("/widget/v1/{key}/loader.js"))
            && page.contains("id=\"contact-chat\""),
        "{page}"
    );
    // The widget's frame may be shown by its allowed site and by the help center.
    let frame = app
        .client
        .get(app.url(&format!("/widget/v1/{key}/frame?lang=ru")))
        .send()
        .await
        .expect("frame");
    let csp = frame.headers()["content-security-policy"]
        .to_str()
        .expect("csp")
        .to_owned();
    assert!(
        csp.contains("frame-ancestors 'self' http://shop.test"),
        "{csp}"
    );
    assert!(
        csp.contains("script-src 'self'") && !csp.contains("unsafe"),
        "{csp}"
    );
}

/// The live feed's listener holds a connection of the store's pool; closing the
/// store (as every command does before it exits) must not wait for it forever.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_listening_store_still_closes() {
    let Some(admin) = crate::helpers::pg_admin_url() else {
        crate::helpers::skipped(
            "chat::a_listening_store_still_closes",
            "no PostgreSQL: set OTKLIK_TEST_PG_URL (cargo xtask ci does)",
        );
        return;
    };
    let name = format!("otklik_test_{}", uuid::Uuid::new_v4().simple());
    let url = store::admin::create_database(&admin, &name)
        .await
        .expect("database");
    let dir = tempfile::tempdir().expect("dir");
    let config = otklik::config::Config {
        data_dir: dir.path().to_path_buf(),
        database_url: Some(url.into()),
        ..Default::default()
    };
    let engine = otklik::app::open_engine(&config, std::sync::Arc::new(store::SystemClock))
        .await
        .expect("engine");
    // Long enough for the listener to hold its connection.
    tokio::time::sleep(Duration::from_millis(500)).await;
    tokio::time::timeout(Duration::from_secs(10), engine.close())
        .await
        .expect("the store closed within 10 s");
    drop(engine);
    let _ = store::admin::drop_database(&admin, &name).await;
}

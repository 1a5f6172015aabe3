//! Custom API channels: inbound messages from any source (idempotent on
//! their id, the customer found by the sender's id, email or phone, files),
//! and replies POSTed to the channel's webhook, signed; a refusal fails the
//! reply with the status, a server error retries.

use crate::helpers::TestApp;
use serde_json::{Value, json};
use std::sync::atomic::{AtomicU16, Ordering};
use std::sync::{Arc, Mutex};

crate::on_both!(a_custom_source_talks_through_the_api_channel);

/// A receiver on loopback: keeps every POST (timestamp, signature, the body
/// as sent) and answers with `status`.
pub(crate) struct Receiver {
    pub url: String,
    pub got: Arc<Mutex<Vec<(String, String, String)>>>,
    pub status: Arc<AtomicU16>,
}

pub(crate) async fn receiver() -> Receiver {
    use axum::extract::State;
    type S = (Arc<Mutex<Vec<(String, String, String)>>>, Arc<AtomicU16>);
    async fn hook(
        State((got, status)): State<S>,
        headers: axum::http::HeaderMap,
        body: axum::body::Bytes,
    ) -> axum::http::StatusCode {
        let h = |n: &str| {
            headers
                .get(n)
                .and_then(|v| v.to_str().ok())
                .unwrap_or_default()
                .to_owned()
        };
        got.lock().unwrap().push((
            h("x-otklik-timestamp"),
            h("x-otklik-signature"),
            String::from_utf8_lossy(&body).into_owned(),
        ));
        axum::http::StatusCode::from_u16(status.load(Ordering::SeqCst)).unwrap()
    }
    let got = Arc::new(Mutex::new(Vec::new()));
    let status = Arc::new(AtomicU16::new(200));
    let app = axum::Router::new()
        .route("/hook", axum::routing::post(hook))
        .with_state((got.clone(), status.clone()));
    let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/hook", l.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(l, app).await });
    Receiver { url, got, status }
}

async fn a_custom_source_talks_through_the_api_channel(app: TestApp) {
    let rx = receiver().await;
    let c = app
        .post(
            "/api/v1/channels/api",
            json!({"name": "Умная колонка", "webhook_url": rx.url}),
        )
        .await
        .expect(201);
    let channel = c["id"].as_str().unwrap().to_owned();
    let secret = c["signing_secret"].as_str().unwrap().to_owned();
    assert_eq!(
        app.get(&format!("/api/v1/channels/api/{channel}"))
            .await
            .expect(200)["signing_secret"],
        Value::Null
    );

    // A voice assistant relays a question with a file.
    let form = reqwest::multipart::Form::new().part(
        "file",
        reqwest::multipart::Part::bytes(b"%PDF-1.4 receipt".to_vec())
            .file_name("чек.pdf")
            .mime_str("application/pdf")
            .unwrap(),
    );
    let att: Value = app.upload(form).await.json().await.unwrap();
    let msg = json!({"channel_id": channel, "external_id": "utt-1",
        "sender": {"id": "user-42", "name": "Анна", "phone": "+7 900 123-45-67"},
        "subject": "Вопрос из колонки", "text": "Алиса, где мой заказ 5531?", "attachments": [att["id"]]});
    let first = app
        .post("/api/v1/channels/api/messages", msg.clone())
        .await
        .expect(201);
    let again = app
        .post("/api/v1/channels/api/messages", msg)
        .await
        .expect(200);
    assert_eq!(again["duplicate"], true);
    assert_eq!(again["message_id"], first["message_id"]);
    let tid = first["ticket_id"].as_str().unwrap().to_owned();
    let t = app.get(&format!("/api/v1/tickets/{tid}")).await.expect(200);
    assert_eq!(
        (t["channel"].as_str(), t["subject"].as_str()),
        (Some("api"), Some("Вопрос из колонки"))
    );
    let ms = app
        .get(&format!("/api/v1/tickets/{tid}/messages"))
        .await
        .expect(200)["items"]
        .clone();
    assert_eq!(ms[0]["attachments"][0]["filename"], "чек.pdf");
    // The same person, known now by their phone, continues the conversation.
    let next = app
        .post(
            "/api/v1/channels/api/messages",
            json!({"channel_id": channel, "external_id": "utt-2",
                   "sender": {"phone": "+79001234567"}, "text": "И ещё вопрос"}),
        )
        .await
        .expect(201);
    assert_eq!(next["ticket_id"], tid.as_str());
    // Nobody named: refused.
    app.post(
        "/api/v1/channels/api/messages",
        json!({"channel_id": channel, "external_id": "utt-3", "sender": {"name": "?"}, "text": "x"}),
    )
    .await
    .problem(422);

    // The agent's reply reaches the webhook, signed.
    app.post(
        &format!("/api/v1/tickets/{tid}/messages"),
        json!({"body": "Заказ 5531 привезут завтра", "visibility": "public"}),
    )
    .await
    .expect(201);
    app.drain_jobs().await;
    let got = rx.got.lock().unwrap().clone();
    assert_eq!(got.len(), 1);
    let (ts, sig, raw) = &got[0];
    let body: Value = serde_json::from_str(raw).unwrap();
    assert_eq!(body["message"]["text"], "Заказ 5531 привезут завтра");
    // Addressed as the source last named the person.
    assert_eq!(body["recipient"]["sender"], "+79001234567");
    assert_eq!(body["ticket"]["id"], tid.as_str());
    // A receiver checks it by recomputing it over the bytes it got.
    let ts: i64 = ts.parse().unwrap();
    assert_eq!(
        *sig,
        engine::webhook::signature(&secret, ts, raw.as_bytes())
    );
    assert_ne!(
        *sig,
        engine::webhook::signature("another", ts, raw.as_bytes())
    );

    // A refusal fails the reply with the status; a server error retries.
    rx.status.store(410, Ordering::SeqCst);
    let r = app
        .post(
            &format!("/api/v1/tickets/{tid}/messages"),
            json!({"body": "Вы здесь?", "visibility": "public"}),
        )
        .await
        .expect(201);
    app.drain_jobs().await;
    let ms = app
        .get(&format!("/api/v1/tickets/{tid}/messages"))
        .await
        .expect(200)["items"]
        .clone();
    let d = ms
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["id"] == r["id"])
        .unwrap()["delivery"]
        .clone();
    assert_eq!(d["state"], "failed");
    assert!(d["error"].as_str().unwrap().contains("410"), "{d}");
    // Sent again once the receiver takes it: queued, then sent; only a failed
    // reply can be, and only on its own ticket.
    let failed_id = r["id"].as_str().unwrap().to_owned();
    let resend = format!("/api/v1/tickets/{tid}/messages/{failed_id}/resend");
    let other = app.ticket("Другая", "other@example.com").await;
    app.post(
        &format!(
            "/api/v1/tickets/{}/messages/{failed_id}/resend",
            other["id"].as_str().unwrap()
        ),
        json!({}),
    )
    .await
    .problem(404);
    let (_, light) = app.user("light@alpha.test", "light_agent").await;
    app.req("POST", &resend, &light, None).await.problem(403);
    // The ticket page says why, beside a "Send again" button.
    let number = app.get(&format!("/api/v1/tickets/{tid}")).await.expect(200)["number"]
        .as_i64()
        .unwrap();
    let agent = crate::ui::Agent::login(&app, "owner@alpha.test", "alpha-password").await;
    let page = agent.page(&format!("/app/t/{number}")).await;
    assert!(
        page.contains(&format!(r#"action="/app/t/{number}/resend""#))
            && page.contains("Send again")
            && page.contains("410"),
        "{page}"
    );
    // The reason is kept with its code: the API says it in English, pages in
    // theirs.
    assert!(
        d["error"]
            .as_str()
            .unwrap()
            .starts_with("the channel's webhook refused it (410"),
        "{d}"
    );
    for (lang, said) in [
        ("ru", "вебхук канала отказал (410"),
        ("th", "เว็บฮุคของช่องทางปฏิเสธ (410"),
    ] {
        let page = agent.page_in(lang, &format!("/app/t/{number}")).await;
        assert!(page.contains(said), "{lang}: {page}");
    }
    rx.status.store(200, Ordering::SeqCst);
    let before = rx.got.lock().unwrap().len();
    let again = app.post(&resend, json!({})).await.expect(200);
    assert_eq!(again["delivery"]["state"], "queued", "{again}");
    app.post(&resend, json!({})).await.problem(409);
    app.drain_jobs().await;
    let m = app
        .get(&format!("/api/v1/tickets/{tid}/messages"))
        .await
        .expect(200)["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["id"] == r["id"])
        .cloned()
        .unwrap();
    assert_eq!(m["delivery"]["state"], "sent", "{m}");
    assert_eq!(
        rx.got.lock().unwrap().len(),
        before + 1,
        "delivered once more"
    );
    let page = agent.page(&format!("/app/t/{number}")).await;
    assert!(!page.contains("Send again"), "{page}");
    let res = agent
        .post(
            &format!("/app/t/{number}/resend"),
            &[("message", failed_id.as_str())],
            true,
        )
        .await;
    assert_eq!(
        res.status().as_u16(),
        409,
        "a sent reply is not sent again from the page either"
    );
    app.post(&resend, json!({})).await.problem(409);
    rx.status.store(503, Ordering::SeqCst);
    let r = app
        .post(
            &format!("/api/v1/tickets/{tid}/messages"),
            json!({"body": "Повторим", "visibility": "public"}),
        )
        .await
        .expect(201);
    app.drain_jobs().await;
    let ms = app
        .get(&format!("/api/v1/tickets/{tid}/messages"))
        .await
        .expect(200)["items"]
        .clone();
    let d = ms
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["id"] == r["id"])
        .unwrap()["delivery"]
        .clone();
    assert_eq!(d["state"], "queued", "{d}");
}

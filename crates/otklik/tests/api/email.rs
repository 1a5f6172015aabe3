//! The email channel end to end: mailboxes, mail piped in and received over SMTP,
//! threading, replies sent over SMTP to a local receiver, acknowledgements, loop
//! protection and bounces.

use crate::helpers::TestApp;
use crate::on_both;
use channels::email::smtpd::{self, Envelope, Reject, SmtpConfig, SmtpHandler};
use futures::future::BoxFuture;
use serde_json::{Value, json};
use std::sync::{Arc, Mutex};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};

/// What the local SMTP server was sent: envelope and raw bytes.
type Received = Arc<Mutex<Vec<(Envelope, Vec<u8>)>>>;

/// How the local SMTP server answers deliveries.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    Accept,
    Temporary,
    Permanent,
}

/// An SMTP server on loopback that keeps what it is sent: the far end of the
/// mailboxes' outbound settings (the real relay runs under `cargo xtask ci`).
pub struct Sink {
    pub port: u16,
    pub got: Received,
    pub mode: Arc<Mutex<Mode>>,
    _stop: tokio::sync::watch::Sender<bool>,
}

struct Recorder {
    got: Received,
    mode: Arc<Mutex<Mode>>,
}

impl SmtpHandler for Recorder {
    fn accept_rcpt<'a>(&'a self, _rcpt: &'a str) -> BoxFuture<'a, Result<(), Reject>> {
        Box::pin(async { Ok(()) })
    }
    fn deliver<'a>(
        &'a self,
        env: &'a Envelope,
        data: Vec<u8>,
    ) -> BoxFuture<'a, Result<(), Reject>> {
        Box::pin(async move {
            let mode = *self.mode.lock().unwrap();
            match mode {
                Mode::Accept => {
                    self.got.lock().unwrap().push((env.clone(), data));
                    Ok(())
                }
                Mode::Temporary => Err(Reject {
                    permanent: false,
                    reason: "mailbox busy".into(),
                }),
                Mode::Permanent => Err(Reject {
                    permanent: true,
                    reason: "no such user".into(),
                }),
            }
        })
    }
}

impl Sink {
    pub async fn start() -> Sink {
        let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = l.local_addr().unwrap().port();
        let got = Arc::new(Mutex::new(Vec::new()));
        let mode = Arc::new(Mutex::new(Mode::Accept));
        let (tx, rx) = tokio::sync::watch::channel(false);
        let h = Recorder {
            got: got.clone(),
            mode: mode.clone(),
        };
        tokio::spawn(smtpd::serve(l, SmtpConfig::default(), Arc::new(h), rx));
        Sink {
            port,
            got,
            mode,
            _stop: tx,
        }
    }
    pub fn set(&self, m: Mode) {
        *self.mode.lock().unwrap() = m;
    }
    pub fn messages(&self) -> Vec<(Envelope, engine::email::InboundEmail, Vec<u8>)> {
        self.got
            .lock()
            .unwrap()
            .iter()
            .map(|(e, raw)| (e.clone(), channels::email::parse(raw).unwrap(), raw.clone()))
            .collect()
    }
}

/// A mailbox fed by the pipe endpoint whose replies go to `sink`.
pub async fn mailbox(app: &TestApp, address: &str, sink: &Sink) -> String {
    let m = app
        .post(
            "/api/v1/channels/email",
            json!({"name": "Support", "address": address,
                   "inbound": {"kind": "pipe"},
                   "outbound": {"host": "127.0.0.1", "port": sink.port, "tls": "none", "from_name": "Shop support"}}),
        )
        .await
        .expect(201);
    m["id"].as_str().unwrap().to_owned()
}

/// A mailbox as [`mailbox`] makes it, without automatic acknowledgements.
pub async fn quiet_mailbox(app: &TestApp, address: &str, sink: &Sink) -> String {
    let mb = mailbox(app, address, sink).await;
    app.patch(
        &format!("/api/v1/channels/email/{mb}"),
        json!({"settings": {"auto_ack": {"enabled": false}}}),
    )
    .await
    .expect(200);
    mb
}

pub async fn pipe(app: &TestApp, mailbox: &str, raw: &[u8]) -> Value {
    app.raw(
        "POST",
        &format!("/api/v1/channels/email/{mailbox}/inbound"),
        &app.token,
        "message/rfc822",
        raw.to_vec(),
    )
    .await
    .expect(202)
}

pub fn mail(from: &str, to: &str, subject: &str, id: &str, extra: &str, body: &str) -> Vec<u8> {
    format!(
        "From: {from}\r\nTo: {to}\r\nSubject: {subject}\r\nMessage-ID: <{id}>\r\nDate: Mon, 23 Nov 2026 10:00:00 +0300\r\n{extra}MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n{body}\r\n"
    )
    .into_bytes()
}

fn messages_dbg(sink: &Sink) -> Vec<String> {
    sink.messages()
        .iter()
        .map(|(_, m, _)| m.subject.clone())
        .collect()
}

async fn messages(app: &TestApp, ticket: &str) -> Vec<Value> {
    app.get(&format!("/api/v1/tickets/{ticket}/messages?limit=200"))
        .await
        .expect(200)["items"]
        .as_array()
        .unwrap()
        .clone()
}

async fn ticket_count(app: &TestApp) -> usize {
    app.get("/api/v1/tickets?limit=200").await.expect(200)["items"]
        .as_array()
        .unwrap()
        .len()
}

async fn mailboxes_are_admin_only_isolated_and_keep_passwords_sealed(app: TestApp) {
    let body = json!({"name": "Support", "address": "Support@Shop.Example",
        "inbound": {"kind": "imap", "host": "imap.shop.example", "port": 993, "tls": "implicit",
                    "username": "support", "password": "imap-secret-1", "folder": "INBOX"},
        "outbound": {"host": "smtp.shop.example", "port": 587, "tls": "starttls",
                     "username": "support", "password": "smtp-secret-2", "from_name": "Shop"}});
    let m = app
        .post("/api/v1/channels/email", body.clone())
        .await
        .expect(201);
    let id = m["id"].as_str().unwrap().to_owned();
    assert_eq!(m["address"], "support@shop.example");
    assert_eq!(m["inbound_password_set"], true);
    assert_eq!(m["outbound_password_set"], true);
    assert!(!m.to_string().contains("secret"), "{m}");
    // The database holds the passwords only sealed.
    {
        let mut c = app.store.read().await.unwrap();
        let row: Vec<u8> = c
            .conn()
            .fetch_one(
                &store::query("SELECT secrets FROM channel_accounts WHERE address = $1")
                    .bind("support@shop.example"),
            )
            .await
            .map(|v: Option<Vec<u8>>| v.unwrap_or_default())
            .unwrap();
        assert!(row.len() > 28);
        assert!(
            !row.windows(6).any(|w| w == b"secret"),
            "passwords stored in clear"
        );
        let cfg = app.mailbox_config(&id).await;
        assert_eq!(
            cfg.inbound_password.as_ref().map(|p| p.expose()),
            Some("imap-secret-1")
        );
        assert_eq!(
            cfg.outbound_password.as_ref().map(|p| p.expose()),
            Some("smtp-secret-2")
        );
    }
    // A merge patch keeps the passwords it does not name; an empty one clears.
    let p = app
        .patch(
            &format!("/api/v1/channels/email/{id}"),
            json!({"name": "Support RU", "outbound": {"password": ""}}),
        )
        .await
        .expect(200);
    assert_eq!(
        (
            p["name"].as_str(),
            p["inbound_password_set"].as_bool(),
            p["outbound_password_set"].as_bool()
        ),
        (Some("Support RU"), Some(true), Some(false))
    );
    assert_eq!(
        app.get("/api/v1/channels/email").await.expect(200)["items"]
            .as_array()
            .unwrap()
            .len(),
        1
    );
    // Bad input, duplicates, roles and other workspaces.
    app.post(
        "/api/v1/channels/email",
        json!({"name": "x", "address": "not-an-address", "inbound": {"kind": "pipe"}}),
    )
    .await
    .problem(422);
    app.post("/api/v1/channels/email", json!({"name": "x", "address": "a@shop.example", "inbound": {"kind": "imap", "host": "h.example"}})).await.problem(422);
    app.post(
        "/api/v1/channels/email",
        json!({"name": "x", "address": "a@shop.example", "inbound": {"kind": "carrier-pigeon"}}),
    )
    .await
    .problem(422);
    app.post(
        "/api/v1/channels/email",
        json!({"name": "x", "address": "a+b@shop.example", "inbound": {"kind": "pipe"}}),
    )
    .await
    .problem(422);
    app.post(
        "/api/v1/channels/email",
        json!({"name": "dup", "address": "support@shop.example", "inbound": {"kind": "pipe"}}),
    )
    .await
    .problem(409);
    let other = app.workspace("beta").await;
    app.req(
        "POST",
        "/api/v1/channels/email",
        &other,
        Some(
            json!({"name": "dup", "address": "support@shop.example", "inbound": {"kind": "pipe"}}),
        ),
    )
    .await
    .problem(409);
    app.req("GET", &format!("/api/v1/channels/email/{id}"), &other, None)
        .await
        .problem(404);
    app.raw(
        "POST",
        &format!("/api/v1/channels/email/{id}/inbound"),
        &other,
        "message/rfc822",
        mail(
            "a@b.example",
            "support@shop.example",
            "x",
            "iso@x",
            "",
            "hi",
        ),
    )
    .await
    .problem(404);
    assert_eq!(
        app.req("GET", "/api/v1/channels/email", &other, None)
            .await
            .expect(200)["items"]
            .as_array()
            .unwrap()
            .len(),
        0
    );
    let (_, agent) = app.user("agent@alpha.test", "agent").await;
    app.req("GET", "/api/v1/channels/email", &agent, None)
        .await
        .problem(403);
    app.raw(
        "POST",
        &format!("/api/v1/channels/email/{id}/inbound"),
        &agent,
        "message/rfc822",
        b"From: a@b.example\r\n\r\nx".to_vec(),
    )
    .await
    .problem(403);
}

async fn piped_mail_becomes_a_ticket_exactly_once(app: TestApp) {
    let sink = Sink::start().await;
    let mb = mailbox(&app, "help@shop.example", &sink).await;
    // KOI8-R from the corpus: subject and body decoded, customer created by address.
    let raw = std::fs::read(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../testdata/email_mime_corpus/synthetic_ru_th/ru01_koi8r_8bit.eml"
    ))
    .unwrap();
    let r = pipe(&app, &mb, &raw).await;
    assert_eq!(
        (r["duplicate"].as_bool(), r["outcome"].as_str()),
        (Some(false), Some("ticket"))
    );
    let tid = r["ticket_id"].as_str().unwrap().to_owned();
    let t = app.get(&format!("/api/v1/tickets/{tid}")).await.expect(200);
    assert_eq!(t["subject"], "Проблема со входом в личный кабинет");
    assert_eq!(t["channel"], "email");
    let msgs = messages(&app, &tid).await;
    assert!(
        msgs[0]["body"]
            .as_str()
            .unwrap()
            .contains("Не могу войти в личный кабинет"),
        "{}",
        msgs[0]
    );
    let customers = app.get("/api/v1/customers?q=example.ru").await.expect(200);
    assert_eq!(
        customers["items"].as_array().unwrap().len(),
        1,
        "{customers}"
    );
    // The same message again, and concurrently: nothing new.
    let again = pipe(&app, &mb, &raw).await;
    assert_eq!(
        (again["duplicate"].as_bool(), again["ticket_id"].as_str()),
        (Some(true), Some(tid.as_str()))
    );
    let attach = std::fs::read(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../testdata/email_mime_corpus/synthetic_ru_th/th04_utf8_mixed_attachment_rfc2231.eml"
    ))
    .unwrap();
    let results = futures::future::join_all((0..6).map(|_| pipe(&app, &mb, &attach))).await;
    let firsts: Vec<_> = results.iter().filter(|r| r["duplicate"] == false).collect();
    assert_eq!(firsts.len(), 1, "{results:?}");
    assert!(
        results
            .iter()
            .all(|r| r["ticket_id"] == firsts[0]["ticket_id"])
    );
    assert_eq!(ticket_count(&app).await, 2);
    // The attachment is stored with its Thai RFC 2231 name and its bytes.
    let t2 = firsts[0]["ticket_id"].as_str().unwrap();
    let m = &messages(&app, t2).await[0];
    let a = &m["attachments"][0];
    assert_eq!(a["filename"], "ใบเสร็จ_67890.pdf", "{m}");
    let file = app
        .client
        .get(app.url(&format!(
            "/api/v1/attachments/{}",
            a["id"].as_str().unwrap()
        )))
        .bearer_auth(&app.token)
        .send()
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap();
    assert!(
        file.starts_with(b"%PDF"),
        "{:?}",
        &file[..file.len().min(8)]
    );
    // Without a Message-ID the bytes are the identity.
    let anon = b"From: Somchai <somchai@example.co.th>\r\nTo: help@shop.example\r\nSubject: no id\r\n\r\nhello\r\n";
    assert_eq!(pipe(&app, &mb, anon).await["duplicate"], false);
    assert_eq!(pipe(&app, &mb, anon).await["duplicate"], true);
    // Not mail, or not labelled as mail: clear errors, nothing stored.
    app.raw(
        "POST",
        &format!("/api/v1/channels/email/{mb}/inbound"),
        &app.token,
        "message/rfc822",
        Vec::new(),
    )
    .await
    .problem(422);
    app.raw(
        "POST",
        &format!("/api/v1/channels/email/{mb}/inbound"),
        &app.token,
        "text/plain",
        anon.to_vec(),
    )
    .await
    .problem(415);
    assert_eq!(ticket_count(&app).await, 3);
    // HTML mail is sanitised: no script survives, the text is kept.
    let html = b"From: x@example.org\r\nTo: help@shop.example\r\nSubject: html\r\nMessage-ID: <h1@example.org>\r\nContent-Type: text/html; charset=utf-8\r\n\r\n<p onclick=\"alert(1)\">Hi <script>alert(2)</script><img src=x onerror=alert(3)></p>\r\n";
    let r = pipe(&app, &mb, html).await;
    let m = &messages(&app, r["ticket_id"].as_str().unwrap()).await[0];
    let h = m["html"].as_str().unwrap_or_default();
    assert!(
        !h.contains("script") && !h.contains("onerror") && !h.contains("onclick"),
        "{h}"
    );
    assert!(m["body"].as_str().unwrap().contains("Hi"), "{m}");
    // A reply with the quoted original: kept whole, with the fold point given.
    let raw = std::fs::read(concat!(env!("CARGO_MANIFEST_DIR"), "/../../testdata/email_mime_corpus/synthetic_ru_th/ru07_utf8_qp_reply_multi_encoded_words.eml")).unwrap();
    let r = pipe(&app, &mb, &raw).await;
    let m = messages(&app, r["ticket_id"].as_str().unwrap())
        .await
        .into_iter()
        .find(|x| x["id"] == r["message_id"])
        .unwrap();
    let body = m["body"].as_str().unwrap();
    let at = m["folded_from"].as_u64().expect("a fold point") as usize;
    assert!(
        body[..at].contains("Пароль сброшен") && !body[..at].contains('>'),
        "{body:?} at {at}"
    );
    assert!(
        body[at..].starts_with("03.03.2025 10:15, Иван Петров пишет:"),
        "{:?}",
        &body[at..]
    );
}

async fn replies_thread_by_headers_token_and_subject(app: TestApp) {
    let sink = Sink::start().await;
    let mb = mailbox(&app, "help@shop.example", &sink).await;
    let first = pipe(
        &app,
        &mb,
        &mail(
            "Ivan <ivan@example.ru>",
            "help@shop.example",
            "Заказ 1042",
            "q1@example.ru",
            "",
            "Где заказ?",
        ),
    )
    .await;
    let tid = first["ticket_id"].as_str().unwrap().to_owned();
    let number = app.get(&format!("/api/v1/tickets/{tid}")).await.expect(200)["number"]
        .as_i64()
        .unwrap();
    // In-Reply-To a message of the ticket.
    let r = pipe(
        &app,
        &mb,
        &mail(
            "ivan@example.ru",
            "help@shop.example",
            "Re: Заказ 1042",
            "q2@example.ru",
            "In-Reply-To: <q1@example.ru>\r\nReferences: <q1@example.ru>\r\n",
            "Ещё вопрос",
        ),
    )
    .await;
    assert_eq!(
        (r["ticket_id"].as_str(), r["outcome"].as_str()),
        (Some(tid.as_str()), Some("reply"))
    );
    // The number in the subject: for the ticket's customer, not for a stranger.
    let r = pipe(
        &app,
        &mb,
        &mail(
            "ivan@example.ru",
            "help@shop.example",
            &format!("Fwd [#{number}]"),
            "q3@example.ru",
            "",
            "тема",
        ),
    )
    .await;
    assert_eq!(r["ticket_id"].as_str(), Some(tid.as_str()));
    let r = pipe(
        &app,
        &mb,
        &mail(
            "mallory@evil.example",
            "help@shop.example",
            &format!("Re: [#{number}]"),
            "m1@evil.example",
            "",
            "let me in",
        ),
    )
    .await;
    assert_ne!(r["ticket_id"].as_str(), Some(tid.as_str()));
    assert_eq!(r["outcome"], "ticket");
    // An agent's reply goes out; the customer's answer to it threads by its id.
    app.post(
        &format!("/api/v1/tickets/{tid}/messages"),
        json!({"body": "Заказ в пути."}),
    )
    .await
    .expect(201);
    app.drain_jobs().await;
    // The reply, whichever order the jobs of one pass sent their mail in.
    let out: Vec<_> = sink
        .messages()
        .into_iter()
        .filter(|(_, m, raw)| {
            !m.subject.contains("получен")
                && String::from_utf8_lossy(raw).contains(&format!("help+{number}-"))
        })
        .collect();
    let (_, reply, _) = out
        .last()
        .unwrap_or_else(|| panic!("nothing sent: {:?}", messages_dbg(&sink)))
        .clone();
    let our_id = reply.message_id.clone().unwrap();
    let token_addr = reply
        .reply_to
        .clone()
        .unwrap_or_else(|| panic!("{}", String::from_utf8_lossy(&out.last().unwrap().2)))
        .address;
    assert!(
        token_addr.starts_with(&format!("help+{number}-")),
        "{token_addr}"
    );
    let r = pipe(
        &app,
        &mb,
        &mail(
            "ivan@example.ru",
            "help@shop.example",
            "Re: Заказ",
            "q4@example.ru",
            &format!("In-Reply-To: <{our_id}>\r\n"),
            "Спасибо",
        ),
    )
    .await;
    assert_eq!(r["ticket_id"].as_str(), Some(tid.as_str()));
    // The reply token alone (a client that drops headers and the subject).
    let r = pipe(
        &app,
        &mb,
        &mail(
            "ivan@example.ru",
            &token_addr,
            "Без темы",
            "q5@example.ru",
            "",
            "И ещё",
        ),
    )
    .await;
    assert_eq!(r["ticket_id"].as_str(), Some(tid.as_str()));
    // A forged token does not reach the ticket.
    let forged = format!("help+{number}-aaaaaaaaaa@shop.example");
    let r = pipe(
        &app,
        &mb,
        &mail(
            "ivan@example.ru",
            &forged,
            "Без темы 2",
            "q6@example.ru",
            "",
            "?",
        ),
    )
    .await;
    assert_ne!(r["ticket_id"].as_str(), Some(tid.as_str()));
    // A closed ticket gets a follow-up.
    app.patch(
        &format!("/api/v1/tickets/{tid}"),
        json!({"status": "solved"}),
    )
    .await
    .expect(200);
    app.patch(
        &format!("/api/v1/tickets/{tid}"),
        json!({"status": "closed"}),
    )
    .await
    .expect(200);
    let r = pipe(
        &app,
        &mb,
        &mail(
            "ivan@example.ru",
            "help@shop.example",
            "Re: Заказ",
            "q7@example.ru",
            "In-Reply-To: <q1@example.ru>\r\n",
            "Снова не работает",
        ),
    )
    .await;
    let follow = app
        .get(&format!(
            "/api/v1/tickets/{}",
            r["ticket_id"].as_str().unwrap()
        ))
        .await
        .expect(200);
    assert_eq!(
        follow["follow_up_of"].as_str(),
        Some(tid.as_str()),
        "{follow}"
    );
    assert_eq!(
        messages(&app, &tid)
            .await
            .iter()
            .filter(|m| m["author"]["kind"] == "customer")
            .count(),
        5
    );
}

async fn agent_replies_leave_by_smtp_threaded_and_bounces_mark_them_failed(app: TestApp) {
    let sink = Sink::start().await;
    let mb = quiet_mailbox(&app, "help@shop.example", &sink).await;
    let first = pipe(
        &app,
        &mb,
        &mail(
            "Anna <anna@example.com>",
            "help@shop.example",
            "Refund",
            "a1@example.com",
            "References: <a0@example.com>\r\n",
            "Please refund",
        ),
    )
    .await;
    let tid = first["ticket_id"].as_str().unwrap().to_owned();
    let number = app.get(&format!("/api/v1/tickets/{tid}")).await.expect(200)["number"]
        .as_i64()
        .unwrap();
    let up = app
        .client
        .post(app.url("/api/v1/attachments"))
        .bearer_auth(&app.token)
        .multipart(
            reqwest::multipart::Form::new().part(
                "file",
                reqwest::multipart::Part::bytes(b"%PDF-1.4 refund".to_vec())
                    .file_name("возврат.pdf")
                    .mime_str("application/pdf")
                    .unwrap(),
            ),
        )
        .send()
        .await
        .unwrap()
        .json::<Value>()
        .await
        .unwrap();
    let note = app
        .post(
            &format!("/api/v1/tickets/{tid}/messages"),
            json!({"body": "internal only", "visibility": "internal"}),
        )
        .await
        .expect(201);
    let reply = app
        .post(
            &format!("/api/v1/tickets/{tid}/messages"),
            json!({"body": "Возврат оформлен — คืนเงินแล้ว", "attachments": [up["id"]]}),
        )
        .await
        .expect(201);
    assert_eq!(reply["delivery"]["state"], "queued");
    app.drain_jobs().await;
    let got = sink.messages();
    assert_eq!(got.len(), 1, "the note must not leave");
    let (env, m, raw) = &got[0];
    assert_eq!(env.rcpts, vec!["anna@example.com"]);
    assert_eq!(
        m.message_id.as_deref(),
        Some(format!("otk.{}@shop.example", reply["id"].as_str().unwrap()).as_str())
    );
    assert_eq!(m.in_reply_to, vec!["a1@example.com"]);
    assert_eq!(m.references, vec!["a1@example.com"]);
    assert_eq!(m.subject, format!("Re: Refund [#{number}]"));
    assert!(m.text.contains("Возврат оформлен — คืนเงินแล้ว"), "{}", m.text);
    assert_eq!(m.attachments[0].filename, "возврат.pdf");
    assert_eq!(&m.attachments[0].bytes[..], b"%PDF-1.4 refund");
    assert!(!String::from_utf8_lossy(raw).contains("internal only"));
    let msgs = messages(&app, &tid).await;
    let sent = msgs.iter().find(|x| x["id"] == reply["id"]).unwrap();
    assert_eq!(sent["delivery"]["state"], "sent");
    assert!(
        msgs.iter()
            .any(|x| x["id"] == note["id"] && x["delivery"].is_null())
    );
    // The recipient's server bounces it later: the reply shows as failed, no ticket.
    let before = ticket_count(&app).await;
    let dsn = format!(
        "From: MAILER-DAEMON@mx.example.com\r\nTo: help@shop.example\r\nSubject: Undelivered Mail Returned to Sender\r\nMessage-ID: <dsn1@mx.example.com>\r\nAuto-Submitted: auto-replied\r\nMIME-Version: 1.0\r\nContent-Type: multipart/report; report-type=delivery-status; boundary=\"b\"\r\n\r\n--b\r\nContent-Type: text/plain\r\n\r\nYour message could not be delivered.\r\n--b\r\nContent-Type: message/delivery-status\r\n\r\nReporting-MTA: dns; mx.example.com\r\n\r\nFinal-Recipient: rfc822; anna@example.com\r\nAction: failed\r\nStatus: 5.1.1\r\nDiagnostic-Code: smtp; 550 5.1.1 user unknown\r\n\r\n--b\r\nContent-Type: text/rfc822-headers\r\n\r\nMessage-ID: <{}>\r\nSubject: Re: Refund\r\n--b--\r\n",
        m.message_id.as_deref().unwrap()
    );
    let r = pipe(&app, &mb, dsn.as_bytes()).await;
    assert_eq!(
        (r["outcome"].as_str(), r["ticket_id"].as_str()),
        (Some("bounce"), Some(tid.as_str()))
    );
    assert_eq!(ticket_count(&app).await, before);
    let failed = messages(&app, &tid)
        .await
        .into_iter()
        .find(|x| x["id"] == reply["id"])
        .unwrap();
    assert_eq!(failed["delivery"]["state"], "failed");
    assert!(
        failed["delivery"]["error"]
            .as_str()
            .unwrap()
            .contains("5.1.1"),
        "{failed}"
    );
    // The history records the delivery changes.
    let events = app
        .get(&format!("/api/v1/tickets/{tid}/events"))
        .await
        .expect(200);
    let states: Vec<_> = events["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["kind"] == "message.delivery_changed")
        .map(|e| e["data"]["state"].clone())
        .collect();
    assert!(
        states.contains(&json!("sent")) && states.contains(&json!("failed")),
        "{states:?}"
    );
}

/// An agent writes first: the ticket's first message is theirs, it leaves by
/// the mailbox to the customer (and the copies), and the customer's answer
/// threads back onto the same ticket. What cannot go out is refused up front.
async fn an_agent_starts_a_conversation_by_email(app: TestApp) {
    let sink = Sink::start().await;
    let mb = quiet_mailbox(&app, "help@shop.example", &sink).await;
    let created = app
        .post(
            "/api/v1/tickets",
            json!({"subject": "Ваш заказ 7731 задерживается", "channel": "email", "author": "agent",
                   "customer": {"name": "Ольга", "email": "olga@example.com"},
                   "message": {"body": "Ольга, заказ задержится на два дня — извините."},
                   "cc": ["Boss@Example.com"], "status": "pending", "priority": "high"}),
        )
        .await
        .expect(201);
    let tid = created["id"].as_str().unwrap().to_owned();
    let number = created["number"].as_i64().unwrap();
    assert_eq!(created["status"], "pending", "{created}");
    assert_eq!(created["cc"], json!(["boss@example.com"]), "{created}");
    let first = messages(&app, &tid).await;
    assert_eq!(first.len(), 1);
    assert_eq!(first[0]["author"]["kind"], "agent", "{}", first[0]);
    assert_eq!(first[0]["delivery"]["state"], "queued");
    app.drain_jobs().await;
    let got = sink.messages();
    assert_eq!(got.len(), 1, "{:?}", messages_dbg(&sink));
    let (env, m, _) = &got[0];
    let mut rcpts = env.rcpts.clone();
    rcpts.sort();
    assert_eq!(rcpts, vec!["boss@example.com", "olga@example.com"]);
    assert_eq!(
        m.subject,
        format!("Ваш заказ 7731 задерживается [#{number}]")
    );
    assert!(m.in_reply_to.is_empty(), "a first mail answers nothing");
    assert_eq!(messages(&app, &tid).await[0]["delivery"]["state"], "sent");
    // The customer answers that mail: it lands on the same ticket, which opens.
    let sent_id = m.message_id.clone().unwrap();
    let back = pipe(
        &app,
        &mb,
        &mail(
            "Olga <olga@example.com>",
            "help@shop.example",
            &format!("Re: {}", m.subject),
            "olga-1@example.com",
            &format!("In-Reply-To: <{sent_id}>\r\n"),
            "Хорошо, подожду.",
        ),
    )
    .await;
    assert_eq!(back["ticket_id"].as_str(), Some(tid.as_str()), "{back}");
    let t = app.get(&format!("/api/v1/tickets/{tid}")).await.expect(200);
    assert_eq!(t["status"], "open", "{t}");
    // Refusals, before anything is stored.
    let before = ticket_count(&app).await;
    let refused = |channel: &str, customer: Value, extra: Value| {
        let mut b = json!({"subject": "Hello", "channel": channel, "author": "agent",
                           "customer": customer, "message": {"body": "Hi"}});
        for (k, v) in extra.as_object().unwrap() {
            b[k] = v.clone();
        }
        b
    };
    for body in [
        refused("telegram", json!({"email": "olga@example.com"}), json!({})),
        refused("email", json!({"phone": "+79001112233"}), json!({})),
        refused(
            "email",
            json!({"email": "olga@example.com"}),
            json!({"account_id": "01936f1e-7b2a-7c41-9a55-0d3c7e2b9a22"}),
        ),
    ] {
        let p = app.post("/api/v1/tickets", body.clone()).await.problem(409);
        assert!(
            p["detail"].as_str().is_some_and(|d| !d.is_empty()),
            "{body} → {p}"
        );
    }
    // A customer's request names a mailbox that is not one.
    app.post(
        "/api/v1/tickets",
        json!({"subject": "Hello", "channel": "email", "customer": {"email": "olga@example.com"},
               "message": {"body": "Hi"}, "account_id": "01936f1e-7b2a-7c41-9a55-0d3c7e2b9a22"}),
    )
    .await
    .problem(409);
    assert_eq!(
        ticket_count(&app).await,
        before,
        "a refused ticket is not stored"
    );
    assert_eq!(sink.messages().len(), 1);
}

async fn acknowledgements_are_localised_and_loop_protected(app: TestApp) {
    let sink = Sink::start().await;
    let mb = mailbox(&app, "help@shop.example", &sink).await;
    pipe(
        &app,
        &mb,
        &mail(
            "Иван <ivan@example.ru>",
            "help@shop.example",
            "Не приходит заказ",
            "r1@example.ru",
            "",
            "Здравствуйте, заказ не пришёл",
        ),
    )
    .await;
    let th = std::fs::read(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../testdata/email_mime_corpus/synthetic_ru_th/th01_tis620_8bit.eml"
    ))
    .unwrap();
    pipe(&app, &mb, &th).await;
    pipe(
        &app,
        &mb,
        &mail(
            "jo@example.com",
            "help@shop.example",
            "Where is my order",
            "e1@example.com",
            "",
            "Hello",
        ),
    )
    .await;
    // Automatic and bulk mail, and system senders, get no acknowledgement.
    pipe(
        &app,
        &mb,
        &mail(
            "jo@example.com",
            "help@shop.example",
            "Out of office",
            "e2@example.com",
            "Auto-Submitted: auto-replied\r\n",
            "I am away",
        ),
    )
    .await;
    pipe(
        &app,
        &mb,
        &mail(
            "news@example.com",
            "help@shop.example",
            "Newsletter",
            "e3@example.com",
            "Precedence: bulk\r\nList-Id: <news.example.com>\r\n",
            "Sale",
        ),
    )
    .await;
    pipe(
        &app,
        &mb,
        &mail(
            "noreply@example.com",
            "help@shop.example",
            "Receipt",
            "e4@example.com",
            "",
            "Receipt",
        ),
    )
    .await;
    // Mail from our own address is a loop: kept, not ticketed.
    let own = pipe(
        &app,
        &mb,
        &mail(
            "help@shop.example",
            "help@shop.example",
            "Loop",
            "e5@shop.example",
            "",
            "echo",
        ),
    )
    .await;
    assert_eq!(own["outcome"], "own_address");
    app.drain_jobs().await;
    let acks = sink.messages();
    let subjects: Vec<_> = acks
        .iter()
        .map(|(_, m, _)| (m.to[0].address.clone(), m.subject.clone()))
        .collect();
    assert_eq!(acks.len(), 3, "{subjects:?}");
    let by = |addr: &str| {
        acks.iter()
            .find(|(_, m, _)| m.to[0].address == addr)
            .map(|(_, m, raw)| (m.clone(), String::from_utf8_lossy(raw).into_owned()))
            .unwrap()
    };
    let (ru, ru_raw) = by("ivan@example.ru");
    assert!(ru.subject.contains("Ваш запрос получен"), "{}", ru.subject);
    assert!(
        ru.text.contains("в течение одного рабочего дня") && ru.text.contains("Иван"),
        "{}",
        ru.text
    );
    assert!(ru_raw.contains("Auto-Submitted: auto-replied"), "{ru_raw}");
    assert_eq!(ru.in_reply_to, vec!["r1@example.ru"]);
    let (thm, _) = by("somchai@example.co.th");
    assert!(thm.text.contains("ภายในหนึ่งวันทำการ"), "{}", thm.text);
    let (en, _) = by("jo@example.com");
    assert!(en.text.contains("within one business day"), "{}", en.text);
    // A configured response time and template are used.
    app.patch(
        &format!("/api/v1/channels/email/{mb}"),
        json!({"settings": {"auto_ack": {"response_time": {"en": "within 4 hours"}}}}),
    )
    .await
    .expect(200);
    pipe(
        &app,
        &mb,
        &mail(
            "kim@example.com",
            "help@shop.example",
            "Hi",
            "k1@example.com",
            "",
            "Hello",
        ),
    )
    .await;
    app.drain_jobs().await;
    let last = sink.messages().pop().unwrap().1;
    assert!(last.text.contains("within 4 hours"), "{}", last.text);
    // Per-sender limit: a sender opening many tickets in an hour gets 3 acknowledgements.
    for i in 0..5 {
        pipe(
            &app,
            &mb,
            &mail(
                "storm@example.com",
                "help@shop.example",
                &format!("Storm {i}"),
                &format!("s{i}@example.com"),
                "",
                "again",
            ),
        )
        .await;
    }
    app.drain_jobs().await;
    let storm = sink
        .messages()
        .iter()
        .filter(|(_, m, _)| m.to[0].address == "storm@example.com")
        .count();
    assert_eq!(storm, 3);
    // From names the customer; Reply-To is where answers go.
    pipe(
        &app,
        &mb,
        &mail(
            "Boss <boss@example.org>",
            "help@shop.example",
            "Invoice",
            "b1@example.org",
            "Reply-To: accounts@example.org\r\n",
            "Please send the invoice",
        ),
    )
    .await;
    app.drain_jobs().await;
    assert!(
        sink.messages()
            .iter()
            .any(|(_, m, _)| m.to[0].address == "accounts@example.org")
    );
    let c = app
        .get("/api/v1/customers?q=boss@example.org")
        .await
        .expect(200);
    assert_eq!(c["items"].as_array().unwrap().len(), 1, "{c}");
    // Replies to the acknowledgement thread onto its ticket.
    let (_, ack, _) = sink
        .messages()
        .into_iter()
        .find(|(_, m, _)| m.to[0].address == "jo@example.com")
        .unwrap();
    let r = pipe(
        &app,
        &mb,
        &mail(
            "jo@example.com",
            "help@shop.example",
            &format!("Re: {}", ack.subject),
            "e9@example.com",
            &format!("In-Reply-To: <{}>\r\n", ack.message_id.unwrap()),
            "More",
        ),
    )
    .await;
    assert_eq!(r["outcome"], "reply");
}

pub async fn smtp_session(port: u16, lines: &[&str]) -> Vec<String> {
    let s = tokio::net::TcpStream::connect(("127.0.0.1", port))
        .await
        .unwrap();
    let (r, mut w) = s.into_split();
    let mut r = BufReader::new(r);
    let mut replies = Vec::new();
    let read_reply = async |r: &mut BufReader<tokio::net::tcp::OwnedReadHalf>| {
        let mut full = String::new();
        loop {
            let mut line = String::new();
            if r.read_line(&mut line).await.unwrap() == 0 {
                break;
            }
            full.push_str(&line);
            if line.len() < 4 || line.as_bytes()[3] != b'-' {
                break;
            }
        }
        full
    };
    replies.push(read_reply(&mut r).await);
    let mut in_data = false;
    for l in lines {
        w.write_all(l.as_bytes()).await.unwrap();
        w.write_all(b"\r\n").await.unwrap();
        // Message lines get no reply until the final dot.
        if in_data && *l != "." {
            continue;
        }
        let reply = read_reply(&mut r).await;
        in_data = reply.starts_with("354");
        replies.push(reply);
    }
    replies
}

async fn smtp_receiver_acknowledges_only_after_commit(app: TestApp) {
    let sink = Sink::start().await;
    let m = app
        .post(
            "/api/v1/channels/email",
            json!({"name": "MX", "address": "mx@shop.example", "inbound": {"kind": "smtp"},
            "outbound": {"host": "127.0.0.1", "port": sink.port, "tls": "none"}}),
        )
        .await
        .expect(201);
    assert!(m["id"].is_string());
    let body = "From: Olga <olga@example.ru>\r\nTo: mx@shop.example\r\nSubject: =?utf-8?B?0J/RgNC40LLQtdGC?=\r\nMessage-ID: <smtp1@example.ru>\r\n\r\nline one\r\n..a line starting with a dot\r\n";
    let r = smtp_session(
        app.smtp_port,
        &[
            "EHLO client.example",
            "MAIL FROM:<olga@example.ru>",
            "RCPT TO:<nobody@shop.example>",
            "RCPT TO:<mx@shop.example>",
            "DATA",
            body,
            ".",
            "QUIT",
        ],
    )
    .await;
    assert!(r[0].starts_with("220"), "{r:?}");
    assert!(r[1].contains("SIZE"), "{r:?}");
    assert!(r[3].starts_with("550"), "unknown recipient: {r:?}");
    assert!(r[4].starts_with("250"), "{r:?}");
    assert!(r[5].starts_with("354"), "{r:?}");
    assert!(r[6].starts_with("250"), "{r:?}");
    let list = app.get("/api/v1/tickets?limit=10").await.expect(200);
    let t = &list["items"][0];
    assert_eq!(t["subject"], "Привет");
    let msgs = messages(&app, t["id"].as_str().unwrap()).await;
    assert!(
        msgs[0]["body"]
            .as_str()
            .unwrap()
            .contains("\n.a line starting with a dot"),
        "{}",
        msgs[0]
    );
    // The same message again over SMTP: 250, and still one ticket.
    let r = smtp_session(
        app.smtp_port,
        &[
            "HELO c",
            "MAIL FROM:<olga@example.ru>",
            "RCPT TO:<mx@shop.example>",
            "DATA",
            body,
            ".",
            "QUIT",
        ],
    )
    .await;
    assert!(r[5].starts_with("250"), "{r:?}");
    assert_eq!(ticket_count(&app).await, 1);
    // Declared too big, sent too big, out of order, garbage.
    let big = "x".repeat(1024);
    let limit = app.config.limits.max_email_bytes;
    let r = smtp_session(
        app.smtp_port,
        &[
            "EHLO c",
            &format!("MAIL FROM:<o@example.ru> SIZE={}", limit + 1),
            "QUIT",
        ],
    )
    .await;
    assert!(r[2].starts_with("552"), "{r:?}");
    let r = smtp_session(
        app.smtp_port,
        &["DATA", "RCPT TO:<mx@shop.example>", "FOO bar", "QUIT"],
    )
    .await;
    assert!(
        r[1].starts_with("503") && r[2].starts_with("503") && r[3].starts_with("500"),
        "{r:?}"
    );
    assert_eq!(big.len(), 1024);
    // Not a mail at all: refused for good, nothing stored.
    let r = smtp_session(
        app.smtp_port,
        &[
            "EHLO c",
            "MAIL FROM:<o@example.ru>",
            "RCPT TO:<mx@shop.example>",
            "DATA",
            "   ",
            ".",
            "QUIT",
        ],
    )
    .await;
    assert!(r[5].starts_with("554"), "{r:?}");
    assert_eq!(ticket_count(&app).await, 1);
}

async fn delivery_failures_retry_then_fail_visibly(app: TestApp) {
    let sink = Sink::start().await;
    let mb = quiet_mailbox(&app, "help@shop.example", &sink).await;
    let r = pipe(
        &app,
        &mb,
        &mail(
            "anna@example.com",
            "help@shop.example",
            "Q",
            "d1@example.com",
            "",
            "?",
        ),
    )
    .await;
    let tid = r["ticket_id"].as_str().unwrap().to_owned();
    // A temporary refusal: still queued, the reason visible, retried later.
    sink.set(Mode::Temporary);
    let reply = app
        .post(
            &format!("/api/v1/tickets/{tid}/messages"),
            json!({"body": "Answer"}),
        )
        .await
        .expect(201);
    app.drain_jobs().await;
    let m = messages(&app, &tid)
        .await
        .into_iter()
        .find(|x| x["id"] == reply["id"])
        .unwrap();
    assert_eq!(m["delivery"]["state"], "queued");
    assert!(
        m["delivery"]["error"]
            .as_str()
            .unwrap()
            .contains("mailbox busy"),
        "{m}"
    );
    // The relay recovers: the retry (due after its backoff) delivers it.
    sink.set(Mode::Accept);
    app.clock
        .set(Some(app.store.now().plus_millis(10 * 60 * 1000)));
    app.drain_jobs().await;
    let m = messages(&app, &tid)
        .await
        .into_iter()
        .find(|x| x["id"] == reply["id"])
        .unwrap();
    assert_eq!(m["delivery"]["state"], "sent", "{m}");
    assert_eq!(sink.messages().len(), 1);
    // A permanent refusal fails at once, with the server's reason.
    sink.set(Mode::Permanent);
    let reply = app
        .post(
            &format!("/api/v1/tickets/{tid}/messages"),
            json!({"body": "Second"}),
        )
        .await
        .expect(201);
    app.drain_jobs().await;
    let m = messages(&app, &tid)
        .await
        .into_iter()
        .find(|x| x["id"] == reply["id"])
        .unwrap();
    assert_eq!(m["delivery"]["state"], "failed");
    assert!(
        m["delivery"]["error"]
            .as_str()
            .unwrap()
            .contains("no such user"),
        "{m}"
    );
    app.clock.set(None);
}

on_both!(
    mailboxes_are_admin_only_isolated_and_keep_passwords_sealed,
    piped_mail_becomes_a_ticket_exactly_once,
    replies_thread_by_headers_token_and_subject,
    agent_replies_leave_by_smtp_threaded_and_bounces_mark_them_failed,
    acknowledgements_are_localised_and_loop_protected,
    smtp_receiver_acknowledges_only_after_commit,
    delivery_failures_retry_then_fail_visibly,
    a_stranger_who_threads_in_never_receives_the_reply,
    an_agent_starts_a_conversation_by_email,
    a_side_conversation_writes_outside_and_keeps_the_answer_apart,
    no_accepted_mail_goes_invisible,
    hostile_html_costs_little,
);

/// The attack: a stranger sends mail with `In-Reply-To: <the customer's
/// Message-ID>`. It joins the ticket, shown as a third party; the agent's reply
/// still goes to the customer alone until an agent copies the stranger in.
async fn a_stranger_who_threads_in_never_receives_the_reply(app: TestApp) {
    let sink = Sink::start().await;
    let mb = quiet_mailbox(&app, "help@shop.example", &sink).await;
    let first = pipe(
        &app,
        &mb,
        &mail(
            "Anna <anna@example.com>",
            "help@shop.example",
            "Возврат",
            "a1@example.com",
            "",
            "Верните деньги за заказ 1042",
        ),
    )
    .await;
    let tid = first["ticket_id"].as_str().unwrap().to_owned();
    let joined = pipe(
        &app,
        &mb,
        &mail(
            "Mallory <mallory@evil.example>",
            "help@shop.example",
            "Re: Возврат",
            "m1@evil.example",
            "In-Reply-To: <a1@example.com>\r\nReferences: <a1@example.com>\r\n",
            "Send the refund details to me instead",
        ),
    )
    .await;
    assert_eq!(joined["ticket_id"].as_str(), Some(tid.as_str()));
    let t = app.get(&format!("/api/v1/tickets/{tid}")).await.expect(200);
    let thread = messages(&app, &tid).await;
    assert_eq!(thread.len(), 2);
    assert_eq!(thread[0]["author"]["customer_id"], t["customer_id"]);
    assert_ne!(thread[1]["author"]["customer_id"], t["customer_id"]);

    // The page shows who wrote, and offers to copy them in.
    let number = t["number"].as_i64().unwrap();
    let agent = crate::ui::Agent::login(&app, "owner@alpha.test", "alpha-password").await;
    let page = agent.page(&format!("/app/t/{number}")).await;
    assert!(
        page.contains("mallory@evil.example"),
        "the stranger is named"
    );
    assert!(
        page.contains("third-party"),
        "and marked as not the customer"
    );
    assert!(page.contains(r#"name="add" value="mallory@evil.example""#));

    let reply = |body: &'static str| {
        let (app, tid) = (&app, tid.clone());
        async move {
            app.post(
                &format!("/api/v1/tickets/{tid}/messages"),
                json!({ "body": body }),
            )
            .await
            .expect(201);
            app.drain_jobs().await;
        }
    };
    reply("Оформили возврат").await;
    let got = sink.messages();
    assert_eq!(got.len(), 1);
    let (env, m, _) = &got[0];
    assert_eq!(env.rcpts, vec!["anna@example.com"], "only the customer");
    assert_eq!(m.to.len(), 1);
    assert_eq!(m.to[0].address, "anna@example.com");
    assert!(m.cc.is_empty());
    assert_eq!(m.in_reply_to, vec!["a1@example.com"]);

    // An agent confirms the other sender as a copy (the page's one action): now
    // both get the reply.
    let res = agent
        .post(
            &format!("/app/t/{number}/cc"),
            &[("add", "Mallory@Evil.Example")],
            true,
        )
        .await;
    assert_eq!(res.status(), 303);
    let t = app.get(&format!("/api/v1/tickets/{tid}")).await.expect(200);
    assert_eq!(t["cc"], json!(["mallory@evil.example"]));
    let page = agent.page(&format!("/app/t/{number}")).await;
    assert!(!page.contains(r#"name="add" value="mallory@evil.example""#));
    assert!(page.contains(r#"name="remove" value="mallory@evil.example""#));
    app.patch(
        &format!("/api/v1/tickets/{tid}"),
        json!({"cc": ["not an address"]}),
    )
    .await
    .problem(422);
    reply("Копия для коллеги").await;
    let got = sink.messages();
    assert_eq!(got.len(), 2);
    let (env, m, _) = &got[1];
    let mut rcpts = env.rcpts.clone();
    rcpts.sort();
    assert_eq!(rcpts, vec!["anna@example.com", "mallory@evil.example"]);
    assert_eq!(m.to[0].address, "anna@example.com");
    assert_eq!(m.cc.len(), 1);
    assert_eq!(m.cc[0].address, "mallory@evil.example");
}

fn python_mail(name: &str) -> Vec<u8> {
    let path = format!(
        "{}/../../testdata/python_email/{name}",
        env!("CARGO_MANIFEST_DIR")
    );
    std::fs::read(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// Mail with a malformed or missing sender: read from wherever the sender is
/// written, else held for an admin, never swallowed.
async fn no_accepted_mail_goes_invisible(app: TestApp) {
    let sink = Sink::start().await;
    let mb = mailbox(&app, "help@shop.example", &sink).await;
    // Python's legacy API: the address inside the encoded-word.
    let r = pipe(&app, &mb, &python_mail("legacy_from.eml")).await;
    assert_eq!(r["outcome"], "ticket", "{r}");
    let t = app
        .get(&format!(
            "/api/v1/tickets/{}",
            r["ticket_id"].as_str().unwrap()
        ))
        .await
        .expect(200);
    let c = app
        .get(&format!(
            "/api/v1/customers/{}",
            t["customer_id"].as_str().unwrap()
        ))
        .await
        .expect(200);
    assert_eq!(c["name"], "Анна Петрова");
    assert!(c.to_string().contains("anna@example.com"), "{c}");
    assert_eq!(t["subject"], "Заказ 1042");
    // A display name longer than a name may be is shortened, not a refusal.
    let long = format!("From: {} <long@example.com>\r\n", "Я".repeat(300));
    let r = pipe(
        &app,
        &mb,
        format!("{long}To: help@shop.example\r\nSubject: long\r\nMessage-ID: <long1@example.com>\r\n\r\nhi\r\n").as_bytes(),
    )
    .await;
    assert_eq!(r["outcome"], "ticket", "{r}");
    // No From at all, but the delivering server wrote Return-Path.
    let r = pipe(
        &app,
        &mb,
        b"Return-Path: <ivan@example.ru>\r\nTo: help@shop.example\r\nSubject: no from\r\nMessage-ID: <rp1@example.ru>\r\n\r\nhello\r\n",
    )
    .await;
    assert_eq!(r["outcome"], "ticket", "{r}");

    // Nothing names a sender: held, listed, and ticketed once an admin names one.
    let raw = python_mail("no_sender.eml");
    let r = pipe(&app, &mb, &raw).await;
    assert_eq!(
        (r["outcome"].as_str(), &r["ticket_id"]),
        (Some("held"), &Value::Null)
    );
    let again = pipe(&app, &mb, &raw).await;
    assert_eq!(again["duplicate"], true);
    let held = app
        .get(&format!("/api/v1/channels/email/{mb}/held"))
        .await
        .expect(200);
    let items = held["items"].as_array().unwrap().clone();
    assert_eq!(items.len(), 1, "{held}");
    assert_eq!(items[0]["message_id"], "<nosender1@example.com>");
    assert_eq!(items[0]["subject"], "Без отправителя");
    assert_eq!(items[0]["reason"], "no_sender");
    let hid = items[0]["id"].as_str().unwrap().to_owned();
    // The mailbox's admin page shows it with its actions.
    let admin = crate::ui::Agent::login(&app, "owner@alpha.test", "alpha-password").await;
    let page = admin.page(&format!("/app/admin/mailboxes/{mb}")).await;
    assert!(page.contains("Без отправителя") && page.contains(&format!("/held/{hid}/ticket")));
    let path = format!("/api/v1/channels/email/{mb}/held/{hid}/ticket");
    app.post(&path, json!({"customer": {"email": "not an address"}}))
        .await
        .problem(422);
    let t = app
        .post(
            &path,
            json!({"customer": {"email": "Olga@Example.com", "name": "Ольга"}}),
        )
        .await
        .expect(201);
    assert_eq!(t["subject"], "Без отправителя");
    let c = app
        .get(&format!(
            "/api/v1/customers/{}",
            t["customer_id"].as_str().unwrap()
        ))
        .await
        .expect(200);
    assert!(c.to_string().contains("olga@example.com"), "{c}");
    let held = app
        .get(&format!("/api/v1/channels/email/{mb}/held"))
        .await
        .expect(200);
    assert_eq!(held["items"], json!([]));
    app.post(&path, json!({"customer": {"email": "olga@example.com"}}))
        .await
        .problem(404);

    // Held, then a corrected copy with the same Message-ID arrives: ticketed
    // normally, and the held copy is settled.
    let bare = |from: &str| {
        format!("{from}To: help@shop.example\r\nSubject: resend\r\nMessage-ID: <resend1@example.com>\r\n\r\nbody\r\n")
            .into_bytes()
    };
    assert_eq!(pipe(&app, &mb, &bare("")).await["outcome"], "held");
    let r = pipe(&app, &mb, &bare("From: petr@example.com\r\n")).await;
    assert_eq!(
        (r["outcome"].as_str(), r["duplicate"].as_bool()),
        (Some("ticket"), Some(false))
    );
    let held = app
        .get(&format!("/api/v1/channels/email/{mb}/held"))
        .await
        .expect(200);
    assert_eq!(held["items"], json!([]));

    // Discarding.
    let other = bare("")
        .iter()
        .map(|b| if *b == b'1' { b'2' } else { *b })
        .collect::<Vec<u8>>();
    assert_eq!(pipe(&app, &mb, &other).await["outcome"], "held");
    let held = app
        .get(&format!("/api/v1/channels/email/{mb}/held"))
        .await
        .expect(200);
    let hid = held["items"][0]["id"].as_str().unwrap().to_owned();
    let del = format!("/api/v1/channels/email/{mb}/held/{hid}");
    app.req("DELETE", &del, &app.token, None).await.expect(204);
    app.req("DELETE", &del, &app.token, None).await.problem(404);
}

/// 50,000 nested elements once took the sanitiser 6.7 s on the async runtime
/// (5,000 here, within the test server's message limit);
/// now nesting is measured first and such HTML is kept only in the original.
async fn hostile_html_costs_little(app: TestApp) {
    let sink = Sink::start().await;
    let mb = mailbox(&app, "help@shop.example", &sink).await;
    let html = format!("{}deep{}", "<div>".repeat(5_000), "</div>".repeat(5_000));
    let raw = format!(
        "From: mallory@evil.example\r\nTo: help@shop.example\r\nSubject: deep\r\nMessage-ID: <deep@evil.example>\r\nMIME-Version: 1.0\r\nContent-Type: text/html; charset=utf-8\r\n\r\n{html}\r\n"
    );
    let started = std::time::Instant::now();
    let health = async {
        let mut worst = std::time::Duration::ZERO;
        for _ in 0..20 {
            let t = std::time::Instant::now();
            let r = app.client.get(app.url("/healthz")).send().await.unwrap();
            assert_eq!(r.status(), 200);
            worst = worst.max(t.elapsed());
            tokio::time::sleep(std::time::Duration::from_millis(10)).await;
        }
        worst
    };
    let (r, worst) = tokio::join!(pipe(&app, &mb, raw.as_bytes()), health);
    assert_eq!(r["outcome"], "ticket");
    assert!(
        started.elapsed() < std::time::Duration::from_secs(5),
        "{:?}",
        started.elapsed()
    );
    assert!(
        worst < std::time::Duration::from_secs(1),
        "/healthz waited {worst:?}"
    );
    let thread = messages(&app, r["ticket_id"].as_str().unwrap()).await;
    assert_eq!(thread[0]["html"], Value::Null);
    assert!(
        thread[0]["body"]
            .as_str()
            .unwrap()
            .contains("nested too deeply"),
        "{}",
        thread[0]["body"]
    );
    // Through the API the same HTML is refused outright.
    let t = app.ticket("x", "anna@example.com").await;
    let p = app
        .post(
            &format!("/api/v1/tickets/{}/messages", t["id"].as_str().unwrap()),
            json!({"body": "x", "html": "<b>".repeat(1000)}),
        )
        .await
        .problem(422);
    assert!(p.to_string().contains("nest"), "{p}");
}

/// A mailbox pointing at a host that accepts connections and never speaks: the
/// poller gives up within its timeout and says so on the mailbox, the other
/// mailboxes go on, and the server still stops promptly.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_silent_imap_host_stalls_nothing() {
    let mut app = crate::helpers::spawn_with(crate::helpers::Backend::Sqlite, |c| {
        c.mail.imap_timeout_secs = 1;
    })
    .await
    .expect("app");
    // Accepts, holds every connection open, answers nothing.
    let silent = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = silent.local_addr().unwrap().port();
    let held = Arc::new(Mutex::new(Vec::new()));
    let keep = held.clone();
    tokio::spawn(async move {
        while let Ok((s, _)) = silent.accept().await {
            keep.lock().unwrap().push(s);
        }
    });
    let imap = |address: &str| {
        json!({"name": "Silent", "address": address,
               "inbound": {"kind": "imap", "host": "127.0.0.1", "port": port, "tls": "none",
                           "username": "u", "password": "p"}})
    };
    let first = app
        .post("/api/v1/channels/email", imap("one@shop.example"))
        .await
        .expect(201)["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let c = crate::helpers::until("the first poller reports its failure", 20, async || {
        let m = app
            .get(&format!("/api/v1/channels/email/{first}"))
            .await
            .expect(200);
        (m["connection"]["connected"] == false).then(|| m["connection"].clone())
    })
    .await;
    assert!(
        c["last_error"]
            .as_str()
            .unwrap_or_default()
            .contains("greeting"),
        "{c}"
    );
    // A mailbox added after it still starts: the supervisor waits on nobody.
    let second = app
        .post("/api/v1/channels/email", imap("two@shop.example"))
        .await
        .expect(201)["id"]
        .as_str()
        .unwrap()
        .to_owned();
    crate::helpers::until("the second poller runs too", 20, async || {
        let m = app
            .get(&format!("/api/v1/channels/email/{second}"))
            .await
            .expect(200);
        m["connection"]["last_error"].is_string().then_some(())
    })
    .await;
    // The admin page says it too.
    let admin = crate::ui::Agent::login(&app, "owner@alpha.test", "alpha-password").await;
    let page = admin.page(&format!("/app/admin/mailboxes/{first}")).await;
    assert!(
        page.contains(r#"id="connection""#) && page.contains("greeting"),
        "{page}"
    );
    let t0 = std::time::Instant::now();
    app.stop().await;
    assert!(
        t0.elapsed() < std::time::Duration::from_secs(12),
        "{:?}",
        t0.elapsed()
    );
}

/// A side conversation with an outside address: the mail leaves by the
/// ticket's mailbox, the answer lands in the side conversation (once) and not
/// in the customer's thread; closing, reopening by a new message, threading of
/// the second mail; the refusals.
async fn a_side_conversation_writes_outside_and_keeps_the_answer_apart(app: TestApp) {
    let sink = Sink::start().await;
    let mb = quiet_mailbox(&app, "help@shop.example", &sink).await;
    let first = pipe(
        &app,
        &mb,
        &mail(
            "Olga <olga@example.com>",
            "help@shop.example",
            "Хочу вернуть заказ 1042",
            "olga-side-1@example.com",
            "",
            "Посылку отправила обратно, когда вернут деньги?",
        ),
    )
    .await;
    let tid = first["ticket_id"].as_str().unwrap().to_owned();
    let tickets_before = ticket_count(&app).await;
    let sides = format!("/api/v1/tickets/{tid}/side-conversations");
    let started = app
        .post(
            &sides,
            json!({"subject": "Возврат по заказу 1042", "to": "Warehouse@Partner.example",
                   "body": "Посылка по заказу 1042 пришла к вам на склад?"}),
        )
        .await
        .expect(201);
    let sid = started["id"].as_str().unwrap().to_owned();
    assert_eq!(started["to"], "warehouse@partner.example", "{started}");
    assert_eq!(started["account_id"].as_str(), Some(mb.as_str()));
    assert_eq!(started["messages"][0]["delivery"], "queued");
    app.drain_jobs().await;
    let got = sink.messages();
    assert_eq!(got.len(), 1, "{:?}", messages_dbg(&sink));
    let (env, m, _) = &got[0];
    assert_eq!(env.rcpts, vec!["warehouse@partner.example"]);
    assert_eq!(m.subject, "Возврат по заказу 1042");
    let sent_id = m.message_id.clone().unwrap();
    assert!(sent_id.starts_with("otk.side-"), "{sent_id}");
    let list = app.get(&sides).await.expect(200);
    assert_eq!(
        list["items"][0]["messages"][0]["delivery"], "sent",
        "{list}"
    );
    // The warehouse answers: the side conversation gets it, the customer's
    // thread and the ticket's status do not.
    let answer = mail(
        "Склад <warehouse@partner.example>",
        "help@shop.example",
        "Re: Возврат по заказу 1042",
        "wh-1@partner.example",
        &format!("In-Reply-To: <{sent_id}>\r\nReferences: <{sent_id}>\r\n"),
        "Да, пришла вчера, деньги вернём сегодня.",
    );
    let r = pipe(&app, &mb, &answer).await;
    assert_eq!(r["outcome"], "side", "{r}");
    assert_eq!(r["ticket_id"].as_str(), Some(tid.as_str()));
    assert_eq!(r["duplicate"], false);
    let again = pipe(&app, &mb, &answer).await;
    assert_eq!(again["duplicate"], true, "{again}");
    let list = app.get(&sides).await.expect(200);
    let msgs = list["items"][0]["messages"].as_array().unwrap();
    assert_eq!(msgs.len(), 2, "{list}");
    assert_eq!(msgs[1]["outside"], true);
    assert_eq!(msgs[1]["from"], "warehouse@partner.example");
    assert!(msgs[1]["body"].as_str().unwrap().contains("деньги вернём"));
    assert_eq!(
        messages(&app, &tid).await.len(),
        1,
        "the customer's thread is untouched"
    );
    assert_eq!(ticket_count(&app).await, tickets_before, "no new ticket");
    // Closed, then a new message opens it again and threads on the first mail.
    let closed = app
        .patch(&format!("{sides}/{sid}"), json!({"open": false}))
        .await
        .expect(200);
    assert_eq!(closed["open"], false);
    let reopened = app
        .post(
            &format!("{sides}/{sid}/messages"),
            json!({"body": "Спасибо! Пришлите номер возврата."}),
        )
        .await
        .expect(201);
    assert_eq!(reopened["open"], true, "{reopened}");
    app.drain_jobs().await;
    let got = sink.messages();
    assert_eq!(got.len(), 2, "{:?}", messages_dbg(&sink));
    let (_, second, _) = &got[1];
    assert_eq!(second.subject, "Re: Возврат по заказу 1042");
    assert_eq!(second.in_reply_to, vec![sent_id.clone()]);
    let kinds: Vec<String> = app
        .get(&format!("/api/v1/tickets/{tid}/events"))
        .await
        .expect(200)["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["kind"].as_str().unwrap_or_default().to_owned())
        .collect();
    for k in ["side.started", "side.message_added", "side.state_changed"] {
        assert!(kinds.iter().any(|x| x == k), "{k} in {kinds:?}");
    }
    // Refusals: both parties, neither, an unknown team, a bad address, an
    // unknown side conversation; a light agent.
    for body in [
        json!({"subject": "x", "body": "x", "to": "a@partner.example", "team_id": "01936f1e-7b2a-7c41-9a55-0d3c7e2b9a22"}),
        json!({"subject": "x", "body": "x"}),
        json!({"subject": "x", "body": "x", "to": "not an address"}),
        json!({"subject": "  ", "body": "x", "to": "a@partner.example"}),
    ] {
        app.post(&sides, body.clone()).await.problem(422);
    }
    app.post(
        &sides,
        json!({"subject": "x", "body": "x", "team_id": "01936f1e-7b2a-7c41-9a55-0d3c7e2b9a22"}),
    )
    .await
    .problem(404);
    app.post(
        &format!("{sides}/01936f1e-7b2a-7c41-9a55-0d3c7e2b9a22/messages"),
        json!({"body": "x"}),
    )
    .await
    .problem(404);
    let (_, light) = app.user("light@alpha.test", "light_agent").await;
    app.req(
        "POST",
        &sides,
        &light,
        Some(json!({"subject": "x", "body": "x", "to": "a@partner.example"})),
    )
    .await
    .expect(403);
    assert_eq!(
        app.get(&sides).await.expect(200)["items"]
            .as_array()
            .unwrap()
            .len(),
        1
    );
}

mod csat {
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn sqlite() {
        let app = crate::telegram::app_with_public_url(crate::helpers::Backend::Sqlite)
            .await
            .expect("app");
        super::a_solved_ticket_asks_for_a_rating_and_keeps_the_answer(app).await;
    }
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn postgres() {
        if let Some(app) =
            crate::telegram::app_with_public_url(crate::helpers::Backend::Postgres).await
        {
            super::a_solved_ticket_asks_for_a_rating_and_keeps_the_answer(app).await;
        }
    }
    /// Without the server's public address a mailed link could not work: 409.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn not_without_a_public_url() {
        let app = crate::helpers::spawn(crate::helpers::Backend::Sqlite)
            .await
            .expect("app");
        let p = app
            .req(
                "PUT",
                "/api/v1/surveys/settings",
                &app.token,
                Some(serde_json::json!({"csat": {"enabled": true}})),
            )
            .await
            .problem(409);
        assert!(
            p["detail"]
                .as_str()
                .unwrap_or_default()
                .contains("public_url"),
            "{p}"
        );
    }
}

/// CSAT: off until an admin turns it on; then solving an email ticket mails
/// the customer a survey in their language with signed one-click links; the
/// page takes the score and a comment without login; a second answer
/// replaces the first; a forged or altered link is refused; solving again
/// does not ask twice.
async fn a_solved_ticket_asks_for_a_rating_and_keeps_the_answer(app: TestApp) {
    let sink = Sink::start().await;
    let mb = quiet_mailbox(&app, "help@shop.example", &sink).await;
    let ask = |n: &str| {
        mail(
            "Olga <olga@example.com>",
            "help@shop.example",
            "Где мой заказ?",
            n,
            "",
            "Заказ 1042 не пришёл.",
        )
    };
    // Off: solving asks nothing.
    let first = pipe(&app, &mb, &ask("olga-csat-0@example.com")).await;
    let t0 = first["ticket_id"].as_str().unwrap().to_owned();
    app.patch(
        &format!("/api/v1/tickets/{t0}"),
        json!({"status": "solved"}),
    )
    .await
    .expect(200);
    let settings = app.get("/api/v1/surveys/settings").await.expect(200);
    assert_eq!(settings["csat"]["enabled"], false);
    let (_, agent) = app.user("agent@alpha.test", "agent").await;
    app.req(
        "PUT",
        "/api/v1/surveys/settings",
        &agent,
        Some(json!({"csat": {"enabled": true}})),
    )
    .await
    .expect(403);
    app.req(
        "PUT",
        "/api/v1/surveys/settings",
        &app.token,
        Some(json!({"csat": {"enabled": true}})),
    )
    .await
    .expect(200);
    let first = pipe(&app, &mb, &ask("olga-csat-1@example.com")).await;
    let tid = first["ticket_id"].as_str().unwrap().to_owned();
    let t = app.get(&format!("/api/v1/tickets/{tid}")).await.expect(200);
    app.patch(
        &format!("/api/v1/customers/{}", t["customer_id"].as_str().unwrap()),
        json!({"language": "ru"}),
    )
    .await
    .expect(200);
    app.patch(
        &format!("/api/v1/tickets/{tid}"),
        json!({"status": "solved"}),
    )
    .await
    .expect(200);
    let got = crate::helpers::until("the survey mail", 10, async || {
        app.drain_jobs().await;
        let got = sink.messages();
        (!got.is_empty()).then_some(got)
    })
    .await;
    assert_eq!(
        got.len(),
        1,
        "only the ticket solved with CSAT on: {:?}",
        messages_dbg(&sink)
    );
    let (env, m, _) = &got[0];
    assert_eq!(env.rcpts, vec!["olga@example.com"]);
    assert!(
        m.subject.starts_with("Оцените, пожалуйста, наш ответ"),
        "{}",
        m.subject
    );
    let link = m
        .text
        .lines()
        .find_map(|l| l.strip_prefix("2 — "))
        .expect("a link for each score")
        .to_owned();
    assert!(link.starts_with("https://desk.test/s/"), "{link}");
    let path = &link[link.find("/s/").expect("a survey link")..];
    let (page_path, _) = path.split_once('?').unwrap();
    let token = page_path.trim_start_matches("/s/").to_owned();
    // The page, in Russian, with the score chosen in the mail marked.
    let http = reqwest::Client::new();
    let page = http
        .get(format!("{}{path}", app.base))
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), 200);
    let html = page.text().await.unwrap();
    assert!(
        html.contains("lang=\"ru\"") && html.contains("Насколько вы довольны"),
        "{html}"
    );
    assert!(html.contains("value=\"2\" required checked"), "{html}");
    assert!(html.contains("Где мой заказ?"), "the ticket it is about");
    let post = |score: &str, comment: &str| {
        http.post(format!("{}{page_path}", app.base))
            .form(&[("score", score), ("comment", comment)])
            .send()
    };
    let r = post("2", "Долго ждала ответа").await.unwrap();
    assert_eq!(r.status(), 200);
    assert!(r.text().await.unwrap().contains("Спасибо!"));
    let r = post("9", "").await.unwrap();
    assert_eq!(r.status(), 422, "out of the scale");
    assert!(r.text().await.unwrap().contains("role=\"alert\""));
    // A forged signature and another survey's id are refused alike.
    // The last character changed to another one of the link alphabet.
    let last = if token.ends_with('a') { 'b' } else { 'a' };
    let forged = format!("{}{last}", &token[..token.len() - 1]);
    assert_eq!(
        http.post(format!("{}/s/{forged}", app.base))
            .form(&[("score", "5")])
            .send()
            .await
            .unwrap()
            .status(),
        404
    );
    let list = app.get("/api/v1/surveys").await.expect(200);
    assert_eq!(list["items"].as_array().unwrap().len(), 1, "{list}");
    assert_eq!(list["items"][0]["score"], 2);
    assert_eq!(list["items"][0]["comment"], "Долго ждала ответа");
    assert_eq!(list["items"][0]["ticket_id"].as_str(), Some(tid.as_str()));
    // A second answer replaces the first.
    assert_eq!(
        post("5", "Всё решили, спасибо").await.unwrap().status(),
        200
    );
    let list = app.get("/api/v1/surveys").await.expect(200);
    assert_eq!(list["items"].as_array().unwrap().len(), 1);
    assert_eq!(list["items"][0]["score"], 5);
    let events = app
        .get(&format!("/api/v1/tickets/{tid}/events"))
        .await
        .expect(200);
    let answered: Vec<&Value> = events["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["kind"] == "survey.answered")
        .collect();
    assert_eq!(answered.len(), 2, "{events}");
    assert!(
        events["items"]
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["kind"] == "survey.sent"),
        "{events}"
    );
    // The ticket page shows the rating; the admin screen turns it off.
    let a = crate::ui::Agent::login(&app, "owner@alpha.test", "alpha-password").await;
    let number = t["number"].as_i64().unwrap();
    let page = a.page(&format!("/app/t/{number}")).await;
    assert!(
        page.contains("5 of 5") && page.contains("Всё решили, спасибо"),
        "{page}"
    );
    let settings_page = a.page("/app/admin/settings").await;
    assert!(
        settings_page.contains("name=\"csat\" checked"),
        "{settings_page}"
    );
    let res = a
        .post(
            "/app/admin/settings",
            &[
                ("display_name", "Alpha"),
                ("default_language", "en"),
                ("time_zone", "Europe/Moscow"),
            ],
            true,
        )
        .await;
    assert_eq!(res.status(), 303);
    assert_eq!(
        app.get("/api/v1/surveys/settings").await.expect(200)["csat"]["enabled"],
        false
    );
    // Reopened and solved again: not asked twice.
    app.patch(&format!("/api/v1/tickets/{tid}"), json!({"status": "open"}))
        .await
        .expect(200);
    app.patch(
        &format!("/api/v1/tickets/{tid}"),
        json!({"status": "solved"}),
    )
    .await
    .expect(200);
    tokio::time::sleep(std::time::Duration::from_millis(1500)).await;
    app.drain_jobs().await;
    assert_eq!(sink.messages().len(), 1, "{:?}", messages_dbg(&sink));
    // A low score with "reopen": the ticket opens with a note, the owner
    // (who supervises a ticket of no team) is alerted live; changing it to
    // another low score does nothing more.
    app.req(
        "PUT",
        "/api/v1/surveys/settings",
        &app.token,
        Some(json!({"csat": {"enabled": true, "on_low": "reopen"}})),
    )
    .await
    .expect(200);
    use tokio_tungstenite::tungstenite::client::IntoClientRequest;
    let mut r = (app.base.replace("http://", "ws://") + "/app/ws")
        .into_client_request()
        .unwrap();
    r.headers_mut().insert("cookie", a.cookie.parse().unwrap());
    r.headers_mut().insert("origin", app.base.parse().unwrap());
    let (mut ws, _) = tokio_tungstenite::connect_async(r).await.expect("socket");
    let before = rated_notes(&app, &tid).await;
    assert_eq!(before, 1, "the first low answer left its note");
    assert_eq!(post("1", "Так и не помогли").await.unwrap().status(), 200);
    let alert = tokio::time::timeout(std::time::Duration::from_secs(10), async {
        use futures::StreamExt;
        loop {
            if let Some(Ok(tokio_tungstenite::tungstenite::Message::Text(m))) = ws.next().await {
                let v: Value = serde_json::from_str(m.as_str()).unwrap();
                if v["t"] == "low_rating" {
                    return v;
                }
            }
        }
    })
    .await
    .expect("the low rating is told");
    assert_eq!(alert["ticket"].as_str(), Some(tid.as_str()));
    crate::helpers::until("the ticket reopened", 10, async || {
        let t = app.get(&format!("/api/v1/tickets/{tid}")).await.expect(200);
        (t["status"] == "open").then_some(())
    })
    .await;
    assert_eq!(
        rated_notes(&app, &tid).await,
        before + 1,
        "one note with the score"
    );
    assert_eq!(post("2", "").await.unwrap().status(), 200);
    tokio::time::sleep(std::time::Duration::from_millis(1500)).await;
    assert_eq!(
        rated_notes(&app, &tid).await,
        before + 1,
        "a low answer changed to another low one is acted on once"
    );
}

/// The internal notes a low rating left on a ticket.
async fn rated_notes(app: &TestApp, tid: &str) -> usize {
    messages(app, tid)
        .await
        .into_iter()
        .filter(|m| {
            m["body"]
                .as_str()
                .is_some_and(|b| b.contains("rated the help"))
        })
        .count()
}

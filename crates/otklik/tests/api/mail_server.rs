//! The email channel against a real mail system: Postfix for SMTP and Dovecot for
//! IMAP on loopback, started by `cargo xtask ci` (which sets OTKLIK_TEST_MAIL).

use crate::email::{mail, smtp_session};
use crate::helpers::TestApp;
use crate::on_both;
use channels::email::imap::Session;
use engine::email::MailboxConfig;
use engine::email::mailbox::{Inbound, InboundKind, Settings, Tls};
use futures::TryStreamExt;
use serde_json::{Value, json};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

/// The SMTP and IMAP ports of the test mail server, or `None` (with a note) when
/// none is configured; under `cargo xtask ci` a missing server fails the run.
fn mail_env() -> Option<(u16, u16)> {
    mail_ports().map(|(smtp, imap, _)| (smtp, imap))
}

/// SMTP, IMAP and IMAPS ports.
fn mail_ports() -> Option<(u16, u16, u16)> {
    let Some(v) = std::env::var("OTKLIK_TEST_MAIL")
        .ok()
        .filter(|v| !v.is_empty())
    else {
        if std::env::var("OTKLIK_TEST_REQUIRE_MAIL").is_ok_and(|v| v == "1") {
            panic!(
                "OTKLIK_TEST_REQUIRE_MAIL=1 but OTKLIK_TEST_MAIL is not set: the mail-server suite cannot run"
            );
        }
        crate::helpers::skipped(
            std::thread::current()
                .name()
                .unwrap_or("a mail-server test"),
            "no mail server: set OTKLIK_TEST_MAIL (cargo xtask ci does)",
        );
        return None;
    };
    let port = |key: &str| {
        v.split(';')
            .find_map(|kv| kv.strip_prefix(&format!("{key}=")))
            .and_then(|a| a.rsplit(':').next())
            .and_then(|p| p.parse().ok())
    };
    Some((port("smtp")?, port("imap")?, port("imaps")?))
}

/// A support user and a customer user of the test mail server, one pair per test.
fn users() -> (String, String) {
    static NEXT: AtomicUsize = AtomicUsize::new(1);
    let n = NEXT.fetch_add(1, Ordering::SeqCst);
    assert!(n <= 16, "the test mail server has 16 user pairs");
    (format!("s{n:02}"), format!("c{n:02}"))
}

/// An IMAP login as any user of the test server.
async fn imap_login(port: u16, user: &str) -> Session {
    let cfg = MailboxConfig {
        id: Default::default(),
        workspace_id: Default::default(),
        name: "probe".into(),
        address: user.into(),
        inbound: Inbound {
            kind: InboundKind::Imap,
            host: Some("127.0.0.1".into()),
            port: Some(port),
            tls: Some(Tls::None),
            username: Some(user.into()),
            folder: None,
            password: None,
        },
        outbound: None,
        settings: Settings::default(),
        active: true,
        inbound_password: Some(format!("pw-{}", user.split('@').next().unwrap()).into()),
        outbound_password: None,
        imap_state: json!({}),
    };
    channels::email::imap::connect(&cfg, &Default::default())
        .await
        .unwrap()
}

/// Every message in a user's INBOX, parsed, with whether it is flagged \\Seen.
async fn inbox(port: u16, user: &str) -> Vec<(engine::email::InboundEmail, bool)> {
    let mut s = imap_login(port, user).await;
    s.select("INBOX").await.unwrap();
    let all: Vec<_> = s
        .fetch("1:*", "(FLAGS BODY.PEEK[])")
        .await
        .map(|st| st.try_collect::<Vec<_>>())
        .unwrap()
        .await
        .unwrap_or_default();
    let out = all
        .iter()
        .filter_map(|f| {
            let seen = f.flags().any(|fl| format!("{fl:?}") == "Seen");
            Some((channels::email::parse(f.body()?).ok()?, seen))
        })
        .collect();
    let _ = s.logout().await;
    out
}

async fn until<T>(what: &str, secs: u64, mut f: impl AsyncFnMut() -> Option<T>) -> T {
    let t0 = Instant::now();
    loop {
        if let Some(v) = f().await {
            return v;
        }
        assert!(
            t0.elapsed() < Duration::from_secs(secs),
            "timed out waiting for {what}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

async fn send(smtp: u16, from: &str, to: &str, raw: &[u8]) {
    let body = String::from_utf8_lossy(raw).into_owned();
    let r = smtp_session(
        smtp,
        &[
            "EHLO test.example",
            &format!("MAIL FROM:<{from}>"),
            &format!("RCPT TO:<{to}>"),
            "DATA",
            body.trim_end(),
            ".",
            "QUIT",
        ],
    )
    .await;
    assert!(r[5].starts_with("250"), "the mail server refused: {r:?}");
}

async fn tickets(app: &TestApp) -> Vec<Value> {
    app.get("/api/v1/tickets?limit=200").await.expect(200)["items"]
        .as_array()
        .unwrap()
        .clone()
}

async fn round_trip_through_postfix_and_dovecot(app: TestApp) {
    let Some((smtp, imap)) = mail_env() else {
        return;
    };
    let (s, c) = users();
    let (support, customer) = (format!("{s}@shop.test"), format!("{c}@customer.test"));
    app.post(
        "/api/v1/channels/email",
        json!({"name": "Support", "address": support,
               "inbound": {"kind": "imap", "host": "127.0.0.1", "port": imap, "tls": "none", "username": support, "password": format!("pw-{s}")},
               "outbound": {"host": "127.0.0.1", "port": smtp, "tls": "none", "from_name": "Shop support"}}),
    )
    .await
    .expect(201);
    // 1. The customer writes; the IMAP poller turns it into a ticket.
    let first_id = format!("rt-{c}-{}@customer.test", uuid::Uuid::new_v4().simple());
    send(
        smtp,
        &customer,
        &support,
        &mail(
            &format!("Пётр <{customer}>"),
            &support,
            "Не пришёл заказ 1042",
            &first_id,
            "",
            "Здравствуйте! Где мой заказ?",
        ),
    )
    .await;
    let t = until("the ticket", 30, async || {
        tickets(&app).await.into_iter().next()
    })
    .await;
    let tid = t["id"].as_str().unwrap().to_owned();
    assert_eq!(t["subject"], "Не пришёл заказ 1042");
    // The mailbox message is flagged only after it was stored.
    until("the \\Seen flag", 10, async || {
        inbox(imap, &support)
            .await
            .iter()
            .all(|(_, seen)| *seen)
            .then_some(())
    })
    .await;
    // 2. The agent replies; it arrives in the customer's mailbox, threaded.
    let reply = app
        .post(
            &format!("/api/v1/tickets/{tid}/messages"),
            json!({"body": "Заказ передан курьеру."}),
        )
        .await
        .expect(201);
    app.drain_jobs().await;
    let got = until("the reply in the customer's mailbox", 30, async || {
        let all = inbox(imap, &customer).await;
        all.into_iter()
            .map(|(m, _)| m)
            .find(|m| m.text.contains("курьеру"))
    })
    .await;
    let our_id = format!("otk.{}@shop.test", reply["id"].as_str().unwrap());
    assert_eq!(got.message_id.as_deref(), Some(our_id.as_str()));
    assert_eq!(got.in_reply_to, vec![first_id.clone()]);
    assert!(got.references.contains(&first_id), "{:?}", got.references);
    assert!(
        got.subject.starts_with("Re: Не пришёл заказ 1042 [#"),
        "{}",
        got.subject
    );
    let reply_to = got.reply_to.clone().unwrap().address;
    assert!(reply_to.starts_with(&format!("{s}+")), "{reply_to}");
    // The acknowledgement came too, in Russian.
    let ack = inbox(imap, &customer)
        .await
        .into_iter()
        .map(|(m, _)| m)
        .find(|m| m.subject.contains("Ваш запрос получен"));
    assert!(
        ack.is_some(),
        "no acknowledgement in the customer's mailbox"
    );
    let sent = app
        .get(&format!("/api/v1/tickets/{tid}/messages"))
        .await
        .expect(200);
    assert!(
        sent["items"]
            .as_array()
            .unwrap()
            .iter()
            .any(|m| m["id"] == reply["id"] && m["delivery"]["state"] == "sent"),
        "{sent}"
    );
    // 3. The customer answers the reply (to its Reply-To): same ticket.
    let answer = mail(
        &customer,
        &reply_to,
        &format!("Re: {}", got.subject),
        &format!("rt2-{c}@customer.test"),
        &format!("In-Reply-To: <{our_id}>\r\nReferences: <{first_id}> <{our_id}>\r\n"),
        "Спасибо, получил!",
    );
    send(smtp, &customer, &reply_to, &answer).await;
    let msgs = until("the answer on the ticket", 30, async || {
        let m = app
            .get(&format!("/api/v1/tickets/{tid}/messages"))
            .await
            .expect(200)["items"]
            .as_array()
            .unwrap()
            .clone();
        (m.len() >= 3).then_some(m)
    })
    .await;
    assert!(
        msgs.iter()
            .any(|m| m["body"].as_str().unwrap_or_default().contains("получил")),
        "{msgs:?}"
    );
    assert_eq!(
        tickets(&app).await.len(),
        1,
        "the answer must not open a new ticket"
    );
}

async fn tls_and_smtp_auth_against_the_real_servers(app: TestApp) {
    let Some((smtp, imap, imaps)) = mail_ports() else {
        return;
    };
    let (s, c) = users();
    let (support, customer) = (format!("{s}@shop.test"), format!("{c}@customer.test"));
    // IMAPS (TLS from the first byte) in; STARTTLS with AUTH out.
    app.post(
        "/api/v1/channels/email",
        json!({"name": "Support", "address": support,
               "inbound": {"kind": "imap", "host": "127.0.0.1", "port": imaps, "tls": "implicit", "username": support, "password": format!("pw-{s}")},
               "outbound": {"host": "127.0.0.1", "port": smtp, "tls": "starttls", "username": support, "password": format!("pw-{s}")},
               "settings": {"auto_ack": {"enabled": false}}}),
    )
    .await
    .expect(201);
    send(
        smtp,
        &customer,
        &support,
        &mail(
            &customer,
            &support,
            "TLS",
            &format!("tls-{c}@customer.test"),
            "",
            "over TLS",
        ),
    )
    .await;
    let t = until("the ticket over IMAPS", 30, async || {
        tickets(&app).await.into_iter().next()
    })
    .await;
    let tid = t["id"].as_str().unwrap().to_owned();
    let reply = app
        .post(
            &format!("/api/v1/tickets/{tid}/messages"),
            json!({"body": "answered over STARTTLS"}),
        )
        .await
        .expect(201);
    app.drain_jobs().await;
    let m = app
        .get(&format!("/api/v1/tickets/{tid}/messages"))
        .await
        .expect(200)["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["id"] == reply["id"])
        .cloned()
        .unwrap();
    assert_eq!(m["delivery"]["state"], "sent", "{m}");
    until("the reply over STARTTLS", 30, async || {
        inbox(imap, &customer)
            .await
            .into_iter()
            .find(|(m, _)| m.text.contains("STARTTLS"))
            .map(|_| ())
    })
    .await;
    // STARTTLS on the plain IMAP port logs in too; a wrong password is refused.
    let mut cfg = app
        .mailbox_config(
            app.get("/api/v1/channels/email").await.expect(200)["items"][0]["id"]
                .as_str()
                .unwrap(),
        )
        .await;
    cfg.inbound.port = Some(imap);
    cfg.inbound.tls = Some(Tls::Starttls);
    let opts = channels::email::imap::ImapOptions {
        accept_invalid_certs: true,
        ..Default::default()
    };
    let mut session = channels::email::imap::connect(&cfg, &opts).await.unwrap();
    session.select("INBOX").await.unwrap();
    let _ = session.logout().await;
    cfg.inbound_password = Some("wrong".into());
    assert!(channels::email::imap::connect(&cfg, &opts).await.is_err());
    // Without accepting the self-signed certificate, TLS is refused.
    cfg.inbound.port = Some(imaps);
    cfg.inbound.tls = Some(Tls::Implicit);
    let strict = channels::email::imap::ImapOptions::default();
    let err = channels::email::imap::connect(&cfg, &strict)
        .await
        .err()
        .map(|e| e.to_string())
        .unwrap_or_default();
    assert!(err.contains("TLS"), "{err}");
}

on_both!(
    round_trip_through_postfix_and_dovecot,
    tls_and_smtp_auth_against_the_real_servers
);

/// The server binary, killed with SIGKILL in the middle of reading a 1,000-message
/// mailbox and started again, ends with every message exactly once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_killed_server_resumes_a_mailbox_without_loss_or_doubles() {
    let Some((_, imap)) = mail_env() else { return };
    let (s, _) = users();
    let support = format!("{s}@shop.test");
    const N: usize = 1000;
    {
        let mut session = imap_login(imap, &support).await;
        for i in 0..N {
            let raw = mail(
                &format!("customer{i}@example.net"),
                &support,
                &format!("Order {i}"),
                &format!("kill-{i}@example.net"),
                "",
                &format!("Message number {i}"),
            );
            session.append("INBOX", None, None, &raw).await.unwrap();
        }
        let _ = session.logout().await;
    }
    // Prepare the data directory: a workspace and the IMAP mailbox.
    let dir = tempfile::tempdir().unwrap();
    {
        let config = otklik::config::Config {
            data_dir: dir.path().to_path_buf(),
            ..Default::default()
        };
        let engine = otklik::app::open_engine(&config, std::sync::Arc::new(store::SystemClock))
            .await
            .unwrap();
        engine
            .create_workspace("kill", "owner@kill.test", "kill-password")
            .await
            .unwrap();
        let p = engine.cli_principal("kill").await.unwrap();
        let input = serde_json::from_value(json!({"name": "Support", "address": support,
            "inbound": {"kind": "imap", "host": "127.0.0.1", "port": imap, "tls": "none", "username": support, "password": format!("pw-{s}")},
            "settings": {"auto_ack": {"enabled": false}}})).unwrap();
        engine.create_mailbox(&p, input).await.unwrap();
        engine.close().await;
    }
    let db = dir.path().join("otklik.sqlite3");
    let count = |sql: &str| crate::helpers::sqlite_number(&db, sql);
    let serve = || crate::helpers::serve_binary(dir.path());
    let records = "SELECT COUNT(*) FROM channel_messages WHERE direction = 'in'";
    let mut child = serve();
    let t0 = Instant::now();
    while count(records) < 300 {
        assert!(
            t0.elapsed() < Duration::from_secs(60),
            "the server did not start reading the mailbox"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    child.kill().unwrap();
    child.wait().unwrap();
    let at_kill = count(records);
    assert!(
        at_kill < N as i64,
        "the mailbox was read completely before the kill ({at_kill}); nothing was tested"
    );
    let mut child = serve();
    let t0 = Instant::now();
    while count(records) < N as i64 {
        assert!(
            t0.elapsed() < Duration::from_secs(120),
            "after the restart only {} of {N} messages arrived",
            count(records)
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    // Let the last flags land, then stop.
    until("every message flagged", 30, async || {
        let mut s = imap_login(imap, &support).await;
        s.select("INBOX").await.unwrap();
        let unseen = s.uid_search("UNSEEN").await.unwrap();
        let _ = s.logout().await;
        unseen.is_empty().then_some(())
    })
    .await;
    child.kill().unwrap();
    child.wait().unwrap();
    assert_eq!(count(records), N as i64);
    assert_eq!(
        count("SELECT COUNT(DISTINCT external_id) FROM channel_messages WHERE direction = 'in'"),
        N as i64
    );
    assert_eq!(
        count("SELECT COUNT(*) FROM messages"),
        N as i64,
        "a message was stored twice"
    );
    assert_eq!(count("SELECT COUNT(*) FROM tickets"), N as i64);
    eprintln!("killed after {at_kill} of {N} messages; after the restart all {N} are stored once");
}

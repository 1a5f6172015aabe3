//! Secrets cannot leak by accident: configuration and mailbox credentials print
//! as `[redacted]`, and no document the server writes or serves carries them.

use crate::helpers::TestApp;
use serde_json::json;

crate::on_both!(no_document_carries_a_mailbox_password);

const IMAP_PW: &str = "imap-pw-5f1c9e";
const SMTP_PW: &str = "smtp-pw-77ab02";

fn leaks(text: &str) -> bool {
    text.contains(IMAP_PW) || text.contains(SMTP_PW)
}

#[test]
fn configuration_prints_no_secret() {
    let c = otklik::config::Config {
        secret_key: Some("key-9d2e41".into()),
        database_url: Some("postgres://otklik:db-pw-3c0f@db.internal/otklik".into()),
        ..Default::default()
    };
    let shown = format!("{c:?} {c:#?}");
    assert!(!shown.contains("key-9d2e41"), "{shown}");
    assert!(!shown.contains("db-pw-3c0f"), "{shown}");
    assert!(shown.contains("[redacted]"));
}

async fn no_document_carries_a_mailbox_password(app: TestApp) {
    let created = app
        .post(
            "/api/v1/channels/email",
            json!({"name": "Support", "address": "help@shop.example",
                   "inbound": {"kind": "imap", "host": "127.0.0.1", "port": 1, "tls": "none",
                               "username": "help", "password": IMAP_PW},
                   "outbound": {"host": "127.0.0.1", "port": 1, "tls": "none",
                                "username": "help", "password": SMTP_PW}}),
        )
        .await
        .expect(201);
    let id = created["id"].as_str().unwrap().to_owned();
    // A change of password is an event too.
    app.patch(
        &format!("/api/v1/channels/email/{id}"),
        json!({"outbound": {"host": "127.0.0.1", "port": 2, "tls": "none",
                            "username": "help", "password": format!("{SMTP_PW}-2")}}),
    )
    .await
    .expect(200);
    let mut served = vec![created.to_string()];
    served.push(
        app.get(&format!("/api/v1/channels/email/{id}"))
            .await
            .expect(200)
            .to_string(),
    );
    served.push(
        app.get("/api/v1/channels/email")
            .await
            .expect(200)
            .to_string(),
    );
    for e in app.stream(200, 2).await {
        served.push(e.to_string());
    }
    for doc in &served {
        assert!(!leaks(doc), "{doc}");
    }
    // What the engine hands to transports prints nothing either.
    let cfg = app.mailbox_config(&id).await;
    assert_eq!(
        cfg.inbound_password.as_ref().map(|p| p.expose()),
        Some(IMAP_PW)
    );
    let shown = format!("{cfg:?}");
    assert!(!leaks(&shown), "{shown}");
    // The row keeps them sealed only.
    let mut c = app.store.read().await.unwrap();
    let row: (String, Vec<u8>) = c
        .conn()
        .fetch_one(
            &store::query(
                "SELECT inbound || coalesce(outbound, '') || settings || state, secrets FROM channel_accounts WHERE address = $1",
            )
            .bind("help@shop.example"),
        )
        .await
        .unwrap();
    assert!(!leaks(&row.0), "{}", row.0);
    assert!(!leaks(&String::from_utf8_lossy(&row.1)));
}

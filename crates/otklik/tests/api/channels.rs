//! The channel seams: one ingest path for every kind of account (deduplicated
//! per account and external id, threaded, the account remembered on tickets and
//! messages), and one outbound contract (the guard, the adapter per channel,
//! delivery states that only move forward).

use crate::helpers::TestApp;
use domain::Timestamp;
use domain::ids::*;
use domain::ticket::{Channel, DeliveryState};
use engine::ingest::{
    AccountRef, Content, CustomerMessage, DeliveryReport, Inbound, Outcome, Sender, Thread,
};
use serde_json::{Value, json};

crate::on_both!(
    a_messenger_account_uses_the_one_ingest_path,
    delivery_states_only_move_forward,
    replies_outside_a_messaging_window_fail_visibly
);

/// A channel account of `kind`, as a channel's admin API will create it.
async fn account(app: &TestApp, kind: Channel, address: &str) -> AccountRef {
    let ws = app
        .engine
        .cli_principal("alpha")
        .await
        .expect("alpha")
        .workspace_id;
    let a = store::channels::Account {
        id: AccountId::new(),
        workspace_id: ws,
        kind,
        name: address.into(),
        address: address.into(),
        inbound_kind: "webhook".into(),
        inbound: json!({}),
        outbound: None,
        secrets: None,
        settings: json!({}),
        state: json!({}),
        active: true,
        created_at: Timestamp::from_millis(0),
        updated_at: Timestamp::from_millis(0),
    };
    let r = AccountRef {
        id: a.id,
        workspace_id: ws,
        kind,
    };
    app.store
        .write(move |tx| Box::pin(async move { store::channels::insert(tx, &a).await }))
        .await
        .expect("account");
    r
}

/// A customer's message in a messaging conversation.
fn chat(account: AccountRef, external_id: &str, from: &str, text: &str) -> Inbound {
    Inbound {
        account,
        external_id: external_id.into(),
        global_id: false,
        sent_at: Some(Timestamp::from_millis(1_700_000_000_000)),
        original: Some(format!("{{\"text\":{text:?}}}").into_bytes().into()),
        content: Content::Message(Box::new(CustomerMessage {
            sender: Sender {
                handle: from.into(),
                name: Some("Анна".into()),
                customer: None,
            },
            thread: Thread {
                conversation: true,
                ..Thread::default()
            },
            text: text.into(),
            ..CustomerMessage::default()
        })),
    }
}

async fn thread_of(app: &TestApp, ticket: TicketId) -> Vec<Value> {
    let t = app.get(&format!("/api/v1/tickets/{ticket}/messages")).await;
    t.expect(200)["items"]
        .as_array()
        .cloned()
        .unwrap_or_default()
}

/// Posts a public reply, runs the delivery job, and returns the reply as shown.
async fn reply_and_deliver(app: &TestApp, ticket: TicketId, text: &str) -> Value {
    app.post(
        &format!("/api/v1/tickets/{ticket}/messages"),
        json!({"body": text, "visibility": "public"}),
    )
    .await
    .expect(201);
    app.drain_jobs().await;
    thread_of(app, ticket).await.pop().expect("reply")
}

async fn a_messenger_account_uses_the_one_ingest_path(app: TestApp) {
    let bot = account(&app, Channel::Telegram, "shop_bot").await;
    let other = account(&app, Channel::Telegram, "shop_bot_two").await;

    let first = app
        .engine
        .ingest(chat(bot, "100:1", "5551234", "Где мой заказ?"))
        .await
        .expect("ingest");
    assert_eq!(first.outcome, Outcome::Ticket);
    assert!(!first.duplicate);
    let ticket = first.ticket_id.expect("a ticket");
    let t = app
        .get(&format!("/api/v1/tickets/{ticket}"))
        .await
        .expect(200);
    assert_eq!(t["channel"], "telegram");
    assert_eq!(t["account_id"], bot.id.to_string());
    assert_eq!(t["subject"], "(no subject)");

    // The same message again through the same account: nothing new.
    let again = app
        .engine
        .ingest(chat(bot, "100:1", "5551234", "Где мой заказ?"))
        .await
        .expect("redelivery");
    assert!(again.duplicate);
    assert_eq!(
        (again.ticket_id, again.message_id),
        (first.ticket_id, first.message_id)
    );

    // The conversation goes on in the same ticket.
    let next = app
        .engine
        .ingest(chat(bot, "100:2", "5551234", "Номер 1042"))
        .await
        .expect("second");
    assert_eq!(
        (next.outcome.clone(), next.ticket_id),
        (Outcome::Reply, Some(ticket))
    );

    // Messenger ids are per chat: the same id on another account is another
    // message, and another account is another conversation.
    let elsewhere = app
        .engine
        .ingest(chat(other, "100:1", "5551234", "Привет"))
        .await
        .expect("other account");
    assert!(!elsewhere.duplicate);
    assert_eq!(elsewhere.outcome, Outcome::Ticket);
    assert_ne!(elsewhere.ticket_id, Some(ticket));

    // Both tickets belong to one customer, known by the Telegram identity.
    let t2 = app
        .get(&format!(
            "/api/v1/tickets/{}",
            elsewhere.ticket_id.expect("ticket")
        ))
        .await
        .expect(200);
    assert_eq!(t2["customer_id"], t["customer_id"]);

    let msgs = thread_of(&app, ticket).await;
    assert_eq!(msgs.len(), 2);
    for m in &msgs {
        assert_eq!(m["account_id"], bot.id.to_string());
        assert_eq!(m["author"]["kind"], "customer");
    }
    assert_eq!(msgs[0]["external_id"], "100:1");

    // A sender the channel cannot name is kept, recorded, and not ticketed.
    let bad = app
        .engine
        .ingest(chat(bot, "100:3", "", "?"))
        .await
        .expect("kept");
    assert_eq!(bad.outcome, Outcome::Ignored("bad_sender".into()));
    assert_eq!(bad.ticket_id, None);
    // A message without the channel's id is refused before anything is stored.
    let err = app.engine.ingest(chat(bot, "", "5551234", "x")).await;
    assert!(
        matches!(err, Err(engine::EngineError::Invalid(_))),
        "{err:?}"
    );

    // A reply leaves by the ticket's account: this account has no bot token,
    // so the reply fails visibly instead of waiting.
    let reply = reply_and_deliver(&app, ticket, "Заказ в пути").await;
    assert_eq!(reply["account_id"], bot.id.to_string());
    assert_eq!(reply["delivery"]["state"], "failed");
    assert!(
        reply["delivery"]["error"]
            .as_str()
            .unwrap_or_default()
            .contains("the Telegram channel cannot be used"),
        "{reply}"
    );
}

/// Delivery state changes recorded for one message, from the event stream,
/// once `want` of them are readable (the stream shows an event only when every
/// transaction before it has finished) or after five seconds.
async fn delivery_events(app: &TestApp, message: &str, want: usize) -> Vec<String> {
    let mut found = Vec::new();
    for _ in 0..50 {
        found = app
            .stream(500, 1)
            .await
            .into_iter()
            .filter(|e| {
                e["kind"] == "message.delivery_changed" && e["data"]["message_id"] == message
            })
            .map(|e| e["data"]["state"].as_str().unwrap_or_default().to_owned())
            .collect();
        if found.len() >= want {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    found
}

async fn delivery_states_only_move_forward(app: TestApp) {
    let t = app.ticket("Доставка", "anna@example.com").await;
    let ticket = t["id"].as_str().expect("id").to_owned();
    let posted = app
        .post(
            &format!("/api/v1/tickets/{ticket}/messages"),
            json!({"body": "Отправили", "visibility": "public"}),
        )
        .await
        .expect(201);
    let mid: MessageId = posted["id"].as_str().expect("id").parse().expect("uuid");
    assert_eq!(posted["delivery"]["state"], "queued");
    app.drain_jobs().await;
    let ws = app
        .engine
        .cli_principal("alpha")
        .await
        .expect("alpha")
        .workspace_id;
    let report = |state| DeliveryReport {
        ours: vec![mid],
        state: Some(state),
        ..DeliveryReport::default()
    };
    let state = async || {
        let msgs = thread_of(&app, ticket.parse().expect("uuid")).await;
        msgs.iter()
            .find(|m| m["id"] == mid.to_string())
            .map(|m| m["delivery"]["state"].clone())
            .unwrap_or_default()
    };
    assert_eq!(state().await, "sent");
    for (reported, shown) in [
        (DeliveryState::Delivered, "delivered"),
        // Late or repeated reports of an earlier step change nothing.
        (DeliveryState::Sent, "delivered"),
        (DeliveryState::Delivered, "delivered"),
        (DeliveryState::Read, "read"),
        // Nothing fails after it was delivered.
        (DeliveryState::Failed, "read"),
    ] {
        let found = app
            .engine
            .report_delivery(ws, report(reported))
            .await
            .expect("report");
        assert_eq!(found.map(|t| t.to_string()), Some(ticket.clone()));
        assert_eq!(state().await, shown, "after {reported}");
    }
    assert_eq!(
        delivery_events(&app, &mid.to_string(), 3).await,
        ["sent", "delivered", "read"],
        "one event per step, none for refused reports"
    );
    // A report about a message that is not ours finds nothing.
    let stranger = app
        .engine
        .report_delivery(
            ws,
            DeliveryReport {
                external: vec!["nobody@example.com".into()],
                state: Some(DeliveryState::Read),
                ..DeliveryReport::default()
            },
        )
        .await
        .expect("report");
    assert_eq!(stranger, None);
}

async fn replies_outside_a_messaging_window_fail_visibly(app: TestApp) {
    let wa = account(&app, Channel::Whatsapp, "+66800000001").await;
    let got = app
        .engine
        .ingest(chat(wa, "wamid.1", "+66812345678", "สวัสดีครับ"))
        .await
        .expect("ingest");
    let ticket = got.ticket_id.expect("ticket");
    // The customer last wrote 25 hours ago.
    let mid = got.message_id.expect("message");
    app.store
        .write(move |tx| {
            Box::pin(async move {
                let q = store::query(
                    "UPDATE messages SET created_at = created_at - 90000000 WHERE id = $1",
                )
                .bind(mid);
                tx.conn().execute(&q).await.map(|_| ())
            })
        })
        .await
        .expect("age the message");
    let note = app
        .post(
            &format!("/api/v1/tickets/{ticket}/messages"),
            json!({"body": "Заметка", "visibility": "internal"}),
        )
        .await
        .expect(201);
    assert_eq!(note["delivery"], Value::Null, "notes are never queued");
    let reply = reply_and_deliver(&app, ticket, "Ответ").await;
    assert_eq!(reply["delivery"]["state"], "failed");
    let why = reply["delivery"]["error"].as_str().unwrap_or_default();
    assert!(why.contains("messaging window is closed"), "{why}");
    assert!(why.contains("24 hours"), "{why}");
}

//! Tickets: creation, numbering, the status machine, replies, filters, events,
//! idempotency, attachments and delivery jobs.

use crate::helpers::TestApp;
use serde_json::json;

crate::on_both!(
    creating_tickets_finds_customers_by_any_identity_and_numbers_them,
    the_status_machine_is_enforced_and_customer_replies_reopen,
    lists_filter_and_paginate_without_gaps,
    every_change_is_in_the_event_log_in_commit_order,
    idempotency_key_and_external_id_never_create_twice,
    replies_are_delivered_by_jobs_and_notes_never_are,
    attachments_upload_attach_and_download,
    uploads_no_message_took_are_collected,
    custom_fields_are_typed_and_required_ones_block_solving,
    custom_fields_are_edited_reordered_and_archived,
    a_snoozed_ticket_waits_and_opens_again_at_its_moment,
    a_note_tells_the_colleagues_it_mentions,
    a_duplicate_is_merged_into_its_ticket,
    a_later_question_is_split_into_its_own_ticket,
    a_reminder_tells_its_person_at_its_moment,
);

async fn creating_tickets_finds_customers_by_any_identity_and_numbers_them(app: TestApp) {
    let a = app.ticket("Где мой заказ?", "Anna@Example.com").await;
    assert_eq!(a["number"], 1);
    assert_eq!(a["status"], "new");
    assert_eq!(a["message"]["author"]["kind"], "customer");
    // The same person by phone and (case-insensitively) e-mail: one customer, phone added.
    let b = app
        .post("/api/v1/tickets", json!({"subject": "Ещё вопрос", "customer": {"email": "anna@example.com", "phone": "+7 900 123-45-67"}, "message": {"body": "?"}}))
        .await
        .expect(201);
    assert_eq!(b["number"], 2);
    assert_eq!(a["customer_id"], b["customer_id"]);
    let c = app.post("/api/v1/tickets", json!({"subject": "Phone only", "customer": {"phone": "+79001234567"}, "message": {"body": "call me"}})).await.expect(201);
    assert_eq!(
        c["customer_id"], a["customer_id"],
        "the phone added above finds the same customer"
    );
    let cust = app
        .get(&format!(
            "/api/v1/customers/{}",
            a["customer_id"].as_str().unwrap()
        ))
        .await
        .expect(200);
    let kinds: Vec<&str> = cust["identities"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["kind"].as_str().unwrap())
        .collect();
    assert_eq!(kinds.len(), 2, "{cust}");
    // By number and by id; bad customer input is a field error.
    assert_eq!(
        app.get("/api/v1/tickets/2").await.expect(200)["id"],
        b["id"]
    );
    assert_eq!(
        app.get(&format!("/api/v1/tickets/{}", b["id"].as_str().unwrap()))
            .await
            .expect(200)["number"],
        2
    );
    let e = app.post("/api/v1/tickets", json!({"subject": "x", "customer": {"email": "not-an-email"}, "message": {"body": "x"}})).await.problem(422);
    assert!(e["errors"]["customer.email"].is_string(), "{e}");
    app.post(
        "/api/v1/tickets",
        json!({"subject": "x", "message": {"body": "x"}}),
    )
    .await
    .problem(422);
    app.post(
        "/api/v1/tickets",
        json!({"subject": "   ", "customer": {"email": "a@b.co"}, "message": {"body": "x"}}),
    )
    .await
    .problem(422);
}

async fn the_status_machine_is_enforced_and_customer_replies_reopen(app: TestApp) {
    let t = app.ticket("Status", "s@example.com").await;
    let path = format!("/api/v1/tickets/{}", t["number"]);
    assert_eq!(
        app.patch(&path, json!({"status": "open"}))
            .await
            .expect(200)["status"],
        "open"
    );
    let e = app
        .patch(&path, json!({"status": "new"}))
        .await
        .problem(409);
    assert!(e["detail"].as_str().unwrap().contains("open to new"), "{e}");
    app.patch(&path, json!({"status": "closed"}))
        .await
        .problem(409);
    app.patch(&path, json!({"status": "solved"}))
        .await
        .expect(200);
    // The customer writes again: the solved ticket re-opens.
    let r = app
        .post(
            &format!("{path}/messages"),
            json!({"body": "Не помогло", "author": "customer"}),
        )
        .await
        .expect(201);
    assert_eq!(r["ticket"]["status"], "open");
    app.patch(&path, json!({"status": "solved"}))
        .await
        .expect(200);
    let closed = app
        .patch(&path, json!({"status": "closed"}))
        .await
        .expect(200);
    assert!(closed["closed_at"].is_string());
    // Closed is final for agents …
    app.patch(&path, json!({"status": "open"}))
        .await
        .problem(409);
    app.post(
        &format!("{path}/messages"),
        json!({"body": "reply", "visibility": "public"}),
    )
    .await
    .problem(409);
    // … and a customer's message starts a follow-up ticket.
    let f = app
        .post(
            &format!("{path}/messages"),
            json!({"body": "Опять не пришло", "author": "customer"}),
        )
        .await
        .expect(201);
    assert_ne!(f["ticket"]["id"], t["id"]);
    assert_eq!(f["ticket"]["follow_up_of"], t["id"]);
    assert_eq!(f["ticket"]["status"], "open");
    assert_eq!(app.get(&path).await.expect(200)["status"], "closed");
    // An agent's first public reply opens a new ticket; "submit as pending" in one call.
    let n = app.ticket("Reply", "r@example.com").await;
    let p = format!("/api/v1/tickets/{}/messages", n["id"].as_str().unwrap());
    assert_eq!(
        app.post(&p, json!({"body": "Здравствуйте!"}))
            .await
            .expect(201)["ticket"]["status"],
        "open"
    );
    assert_eq!(
        app.post(&p, json!({"body": "Ждём ответа", "status": "pending"}))
            .await
            .expect(201)["ticket"]["status"],
        "pending"
    );
}

async fn lists_filter_and_paginate_without_gaps(app: TestApp) {
    let mut ids = Vec::new();
    for i in 0..7 {
        let t = app
            .ticket(&format!("Ticket {i}"), &format!("c{}@example.com", i % 3))
            .await;
        ids.push(t["id"].as_str().unwrap().to_owned());
    }
    app.patch(
        &format!("/api/v1/tickets/{}", ids[1]),
        json!({"tags": ["Delivery", "late"], "priority": "high"}),
    )
    .await
    .expect(200);
    app.patch(
        &format!("/api/v1/tickets/{}", ids[2]),
        json!({"status": "pending"}),
    )
    .await
    .expect(200);
    let (me_id, _) = (
        app.get("/api/v1/me").await.expect(200)["user"]["id"]
            .as_str()
            .unwrap()
            .to_owned(),
        (),
    );
    app.patch(
        &format!("/api/v1/tickets/{}", ids[3]),
        json!({"assignee_id": me_id}),
    )
    .await
    .expect(200);
    // Pages of 3, newest first, cover every ticket exactly once.
    let mut seen = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let q = match &cursor {
            Some(c) => format!("/api/v1/tickets?limit=3&cursor={c}"),
            None => "/api/v1/tickets?limit=3".into(),
        };
        let page = app.get(&q).await.expect(200);
        for t in page["items"].as_array().unwrap() {
            seen.push(t["id"].as_str().unwrap().to_owned());
        }
        match page["next_cursor"].as_str() {
            Some(c) => cursor = Some(c.to_owned()),
            None => break,
        }
    }
    let mut want = ids.clone();
    want.reverse();
    assert_eq!(seen, want);
    let count = |v: serde_json::Value| v["items"].as_array().map(|a| a.len()).unwrap_or(0);
    assert_eq!(
        count(app.get("/api/v1/tickets?tag=delivery").await.expect(200)),
        1
    );
    assert_eq!(
        count(app.get("/api/v1/tickets?status=pending").await.expect(200)),
        1
    );
    assert_eq!(
        count(
            app.get("/api/v1/tickets?status=new,pending")
                .await
                .expect(200)
        ),
        7
    );
    assert_eq!(
        count(app.get("/api/v1/tickets?priority=high").await.expect(200)),
        1
    );
    assert_eq!(
        count(
            app.get(&format!("/api/v1/tickets?assignee_id={me_id}"))
                .await
                .expect(200)
        ),
        1
    );
    assert_eq!(
        count(
            app.get("/api/v1/tickets?assignee_id=none")
                .await
                .expect(200)
        ),
        6
    );
    assert_eq!(
        count(app.search("/api/v1/tickets?q=TICKET%204", 2).await),
        2,
        "\"Ticket 4\" by its subject, and ticket number 4"
    );
    assert_eq!(
        count(
            app.search(
                "/api/v1/tickets?q=%D0%BD%D0%B5%20%D0%BF%D1%80%D0%B8%D1%88%D1%91%D0%BB",
                7
            )
            .await
        ),
        7,
        "text in messages, Cyrillic"
    );
    let cust = app
        .get(&format!("/api/v1/tickets/{}", ids[0]))
        .await
        .expect(200)["customer_id"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(
        count(
            app.get(&format!("/api/v1/tickets?customer_id={cust}"))
                .await
                .expect(200)
        ),
        3
    );
    app.get("/api/v1/tickets?status=later").await.problem(422);
    app.get("/api/v1/tickets?limit=abc").await.problem(400);
    app.get("/api/v1/tickets?cursor=garbage").await.problem(400);
    // A page size outside 1–200 is refused, not silently capped.
    app.get("/api/v1/tickets?limit=500").await.problem(422);
    assert_eq!(
        count(app.get("/api/v1/tickets?limit=200").await.expect(200)),
        7
    );
}

async fn every_change_is_in_the_event_log_in_commit_order(app: TestApp) {
    let t = app.ticket("Events", "e@example.com").await;
    let path = format!("/api/v1/tickets/{}", t["id"].as_str().unwrap());
    app.patch(&path, json!({"priority": "urgent", "tags": ["vip"]}))
        .await
        .expect(200);
    app.post(
        &format!("{path}/messages"),
        json!({"body": "note", "visibility": "internal"}),
    )
    .await
    .expect(201);
    let hist = app.get(&format!("{path}/events")).await.expect(200);
    let kinds: Vec<&str> = hist["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["kind"].as_str().unwrap())
        .collect();
    assert_eq!(
        kinds,
        [
            "ticket.created",
            "message.added",
            "ticket.updated",
            "message.added"
        ]
    );
    let upd = &hist["items"][2]["data"]["changes"];
    assert_eq!(upd[0]["field"], "priority");
    assert_eq!(upd[0]["from"], "normal");
    assert_eq!(upd[0]["to"], "urgent");
    // The workspace stream, read in pages of 2 from the start, has each event once
    // and in increasing order; the last cursor yields nothing new.
    for i in 0..5 {
        app.ticket(&format!("More {i}"), "e@example.com").await;
    }
    let id_of = |e: &serde_json::Value| e["id"].as_str().unwrap().to_owned();
    let paged: Vec<String> = app.stream(2, 19).await.iter().map(id_of).collect();
    let whole: Vec<String> = app.get("/api/v1/events?limit=200").await.expect(200)["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(id_of)
        .collect();
    assert_eq!(paged, whole, "pages of 2 read what one page does, in order");
    let mut unique = paged.clone();
    unique.sort_unstable();
    unique.dedup();
    assert_eq!(unique.len(), paged.len(), "no repeats");
    // Ids are opaque: they do not count the server's events.
    assert!(
        paged
            .iter()
            .all(|id| id.len() == 32 && id.bytes().all(|b| b.is_ascii_hexdigit())),
        "{paged:?}"
    );
    // workspace, owner, token (3); customer and identity (2); 6 tickets × created and
    // first message (12); the update and the note (2).
    assert_eq!(paged.len(), 19);
    app.get("/api/v1/events?after=x.y").await.problem(400);
}

async fn idempotency_key_and_external_id_never_create_twice(app: TestApp) {
    let body = json!({"subject": "Idem", "customer": {"email": "i@example.com"}, "message": {"body": "once"}});
    let send = |key: &'static str, b: serde_json::Value| {
        let req = app
            .client
            .post(app.url("/api/v1/tickets"))
            .bearer_auth(&app.token)
            .header("idempotency-key", key)
            .json(&b);
        async move { req.send().await.unwrap() }
    };
    let r1 = send("k-1", body.clone()).await;
    assert_eq!(r1.status(), 201);
    let r1: serde_json::Value = r1.json().await.unwrap();
    let r2 = send("k-1", body.clone()).await;
    assert_eq!(r2.status(), 201);
    let r2: serde_json::Value = r2.json().await.unwrap();
    assert_eq!(r1["id"], r2["id"]);
    let other = send("k-1", json!({"subject": "Other", "customer": {"email": "i@example.com"}, "message": {"body": "x"}})).await;
    assert_eq!(other.status(), 409);
    // Concurrent repeats of one key still make one ticket.
    let futs: Vec<_> = (0..8).map(|_| send("k-2", body.clone())).collect();
    let mut ids = std::collections::HashSet::new();
    for r in futures::future::join_all(futs).await {
        assert_eq!(r.status(), 201);
        ids.insert(
            r.json::<serde_json::Value>().await.unwrap()["id"]
                .as_str()
                .unwrap()
                .to_owned(),
        );
    }
    assert_eq!(ids.len(), 1);
    // A redelivered inbound message (same external id) is recognised.
    let ext = json!({"subject": "Ext", "channel": "web_form", "customer": {"email": "x@example.com"}, "message": {"body": "hi", "external_id": "form-77"}});
    let a = app.post("/api/v1/tickets", ext.clone()).await.expect(201);
    let b = app.post("/api/v1/tickets", ext).await.expect(200);
    assert_eq!(b["duplicate"], true);
    assert_eq!(a["id"], b["id"]);
    let list = app.get("/api/v1/tickets").await.expect(200);
    assert_eq!(list["items"].as_array().unwrap().len(), 3);
}

async fn replies_are_delivered_by_jobs_and_notes_never_are(app: TestApp) {
    let api = app.ticket("API channel", "d@example.com").await;
    let email = app.post("/api/v1/tickets", json!({"subject": "Mail", "channel": "email", "customer": {"email": "d@example.com"}, "message": {"body": "hi"}})).await.expect(201);
    let p1 = format!("/api/v1/tickets/{}/messages", api["id"].as_str().unwrap());
    let p2 = format!("/api/v1/tickets/{}/messages", email["id"].as_str().unwrap());
    let r1 = app.post(&p1, json!({"body": "Answer"})).await.expect(201);
    assert_eq!(r1["delivery"]["state"], "queued");
    let note = app
        .post(&p1, json!({"body": "internal", "visibility": "internal"}))
        .await
        .expect(201);
    assert!(note["delivery"].is_null());
    app.post(&p2, json!({"body": "Answer by mail"}))
        .await
        .expect(201);
    app.drain_jobs().await;
    let thread = app.get(&p1).await.expect(200);
    let msgs = thread["items"].as_array().unwrap();
    assert_eq!(msgs[1]["delivery"]["state"], "sent");
    assert!(msgs[2]["delivery"].is_null(), "a note has no delivery");
    let mail = app.get(&p2).await.expect(200);
    assert_eq!(mail["items"][1]["delivery"]["state"], "failed");
    assert!(
        mail["items"][1]["delivery"]["error"]
            .as_str()
            .unwrap()
            .contains("email"),
        "a failed delivery says why"
    );
    let hist = app
        .get(&format!(
            "/api/v1/tickets/{}/events",
            email["id"].as_str().unwrap()
        ))
        .await
        .expect(200);
    assert!(
        hist["items"]
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["kind"] == "message.delivery_changed")
    );
}

async fn attachments_upload_attach_and_download(app: TestApp) {
    let bytes: Vec<u8> = (0..5000u32).map(|i| (i * 7 % 251) as u8).collect();
    let form = reqwest::multipart::Form::new().part(
        "file",
        reqwest::multipart::Part::bytes(bytes.clone())
            .file_name("../чек заказа.pdf")
            .mime_str("application/pdf")
            .unwrap(),
    );
    let r = app.upload(form).await;
    assert_eq!(r.status(), 201);
    let att: serde_json::Value = r.json().await.unwrap();
    assert_eq!(att["filename"], "чек заказа.pdf");
    assert_eq!(att["size"], 5000);
    let t = app
        .post("/api/v1/tickets", json!({"subject": "Receipt", "customer": {"email": "a@example.com"}, "message": {"body": "see attached", "attachments": [att["id"]]}}))
        .await
        .expect(201);
    assert_eq!(t["message"]["attachments"][0]["id"], att["id"]);
    // An attachment is used once.
    app.post("/api/v1/tickets", json!({"subject": "Again", "customer": {"email": "a@example.com"}, "message": {"body": "x", "attachments": [att["id"]]}})).await.problem(404);
    let d = app
        .client
        .get(app.url(&format!(
            "/api/v1/attachments/{}",
            att["id"].as_str().unwrap()
        )))
        .bearer_auth(&app.token)
        .send()
        .await
        .unwrap();
    assert_eq!(d.status(), 200);
    assert!(
        d.headers()["content-disposition"]
            .to_str()
            .unwrap()
            .starts_with("attachment;")
    );
    assert_eq!(d.bytes().await.unwrap().to_vec(), bytes);
    // Over the configured limit (64 KiB in tests).
    let big = reqwest::multipart::Form::new().part(
        "file",
        reqwest::multipart::Part::bytes(vec![0u8; 200 * 1024]).file_name("big.bin"),
    );
    let r = app.upload(big).await;
    assert_eq!(r.status(), 413);
}

async fn upload(app: &TestApp, bytes: &[u8], name: &str) -> serde_json::Value {
    let form = reqwest::multipart::Form::new().part(
        "file",
        reqwest::multipart::Part::bytes(bytes.to_vec()).file_name(name.to_owned()),
    );
    let r = app.upload(form).await;
    assert_eq!(r.status(), 201);
    r.json().await.unwrap()
}

async fn download_status(app: &TestApp, att: &serde_json::Value) -> u16 {
    let path = format!("/api/v1/attachments/{}", att["id"].as_str().unwrap());
    app.client
        .get(app.url(&path))
        .bearer_auth(&app.token)
        .send()
        .await
        .unwrap()
        .status()
        .as_u16()
}

async fn uploads_no_message_took_are_collected(app: TestApp) {
    use std::time::Duration;
    let day = Duration::from_secs(24 * 3600);
    let lonely = upload(&app, b"only uploaded, never sent", "lonely.txt").await;
    let sent = upload(&app, b"the same bytes twice", "sent.txt").await;
    let twin = upload(&app, b"the same bytes twice", "twin.txt").await;
    assert_eq!(sent["sha256"], twin["sha256"], "stored once");
    app.post("/api/v1/tickets", json!({"subject": "With a file", "customer": {"email": "f@example.com"}, "message": {"body": "see attached", "attachments": [sent["id"]]}}))
        .await
        .expect(201);
    // A day has not passed: nothing goes.
    let none = app
        .engine
        .collect_unattached(day, Duration::ZERO)
        .await
        .unwrap();
    assert_eq!((none.attachments, none.blobs), (0, 0));
    assert_eq!(download_status(&app, &lonely).await, 200);
    // Past their time (no grace for the bytes): both unsent uploads go, and the
    // lonely one's bytes with them; the twin's bytes stay for the sent message.
    let swept = app
        .engine
        .collect_unattached(Duration::ZERO, Duration::ZERO)
        .await
        .unwrap();
    assert_eq!((swept.attachments, swept.blobs), (2, 1));
    assert_eq!(download_status(&app, &lonely).await, 404);
    assert_eq!(download_status(&app, &twin).await, 404);
    assert_eq!(download_status(&app, &sent).await, 200);
    app.post("/api/v1/tickets", json!({"subject": "Late", "customer": {"email": "f@example.com"}, "message": {"body": "x", "attachments": [lonely["id"]]}}))
        .await
        .problem(404);
    // The same bytes uploaded again are stored afresh.
    let again = upload(&app, b"only uploaded, never sent", "lonely.txt").await;
    assert_eq!(again["sha256"], lonely["sha256"]);
    assert_eq!(download_status(&app, &again).await, 200);
    // Within the grace, bytes stored again are kept even with no row using them.
    let kept = app
        .engine
        .collect_unattached(Duration::ZERO, Duration::from_secs(3600))
        .await
        .unwrap();
    assert_eq!((kept.attachments, kept.blobs), (1, 0));
    // An upload is one part named file, and nothing else.
    let form = reqwest::multipart::Form::new()
        .part(
            "file",
            reqwest::multipart::Part::bytes(b"x".to_vec()).file_name("a.txt"),
        )
        .text("extra", "y");
    let r = app.upload(form).await;
    assert_eq!(r.status(), 422);
}

async fn custom_fields_are_typed_and_required_ones_block_solving(app: TestApp) {
    app.post(
        "/api/v1/custom-fields",
        json!({"key": "order_number", "label": "Order", "field_type": "number", "required": true}),
    )
    .await
    .expect(201);
    app.post("/api/v1/custom-fields", json!({"key": "reason", "label": "Reason", "field_type": "dropdown", "options": ["late", "broken"]})).await.expect(201);
    app.post(
        "/api/v1/custom-fields",
        json!({"key": "reason", "label": "Dup", "field_type": "text"}),
    )
    .await
    .problem(409);
    app.post(
        "/api/v1/custom-fields",
        json!({"key": "x", "label": "X", "field_type": "colour"}),
    )
    .await
    .problem(422);
    let t = app.ticket("Fields", "f@example.com").await;
    let path = format!("/api/v1/tickets/{}", t["id"].as_str().unwrap());
    let e = app
        .patch(
            &path,
            json!({"custom_fields": {"reason": "lost", "order_number": "12"}}),
        )
        .await
        .problem(422);
    assert!(
        e["errors"]["custom_fields.reason"].is_string()
            && e["errors"]["custom_fields.order_number"].is_string(),
        "{e}"
    );
    app.patch(&path, json!({"custom_fields": {"nope": 1}}))
        .await
        .problem(404);
    let e = app
        .patch(&path, json!({"status": "solved"}))
        .await
        .problem(422);
    assert!(e["errors"]["custom_fields.order_number"].is_string(), "{e}");
    // Nor by a reply that sets Solved: the reply is refused with it, whole.
    let before = app.get(&format!("{path}/messages")).await.expect(200)["items"]
        .as_array()
        .unwrap()
        .len();
    let e = app
        .post(
            &format!("{path}/messages"),
            json!({"body": "Всё отправили, закрываю.", "status": "solved"}),
        )
        .await
        .problem(422);
    assert!(e["errors"]["custom_fields.order_number"].is_string(), "{e}");
    assert_ne!(app.get(&path).await.expect(200)["status"], "solved");
    let after = app.get(&format!("{path}/messages")).await.expect(200)["items"]
        .as_array()
        .unwrap()
        .len();
    assert_eq!(before, after, "the refused reply is not kept");
    let ok = app
        .patch(
            &path,
            json!({"custom_fields": {"reason": "late", "order_number": 1042}}),
        )
        .await
        .expect(200);
    assert_eq!(ok["custom_fields"]["order_number"], 1042);
    app.patch(&path, json!({"status": "solved"}))
        .await
        .expect(200);
    let cleared = app
        .patch(&path, json!({"custom_fields": {"reason": null}}))
        .await
        .expect(200);
    assert!(cleared["custom_fields"].get("reason").is_none());
}

/// Admins edit a field's label, options and requirement, reorder fields, and
/// archive one: it keeps the values tickets have, takes no new ones and no
/// longer blocks a solve; restored, it blocks again.
async fn custom_fields_are_edited_reordered_and_archived(app: TestApp) {
    let made = |key: &str, body: serde_json::Value| {
        let mut b = body;
        b["key"] = json!(key);
        app.post("/api/v1/custom-fields", b)
    };
    let order = made(
        "order_number",
        json!({"label": "Order", "field_type": "number", "required": true}),
    )
    .await
    .expect(201);
    let reason = made(
        "reason",
        json!({"label": "Reason", "field_type": "dropdown", "options": ["late", "broken"]}),
    )
    .await
    .expect(201);
    // New fields come last.
    assert_eq!(
        (order["position"].as_i64(), reason["position"].as_i64()),
        (Some(0), Some(1))
    );
    let fpath =
        |f: &serde_json::Value| format!("/api/v1/custom-fields/{}", f["id"].as_str().unwrap());

    // Label and options change; the key and the type stay.
    let r = app
        .patch(
            &fpath(&reason),
            json!({"label": "Return reason", "options": ["late", "broken", "wrong size"]}),
        )
        .await
        .expect(200);
    assert_eq!(
        (r["label"].as_str(), r["options"].as_array().map(Vec::len)),
        (Some("Return reason"), Some(3))
    );
    app.patch(&fpath(&reason), json!({"key": "why"}))
        .await
        .problem(422);
    // Options belong to dropdowns: a number field refuses them by its state.
    app.patch(&fpath(&order), json!({"options": ["a"]}))
        .await
        .problem(409);
    app.patch(&fpath(&order), json!({"label": ""}))
        .await
        .problem(422);
    app.patch(
        "/api/v1/custom-fields/01900000-0000-7000-8000-000000000000",
        json!({"required": false}),
    )
    .await
    .problem(404);
    let (_, agent) = app.user("fields-agent@alpha.test", "agent").await;
    app.req(
        "PATCH",
        &fpath(&order),
        &agent,
        Some(json!({"required": false})),
    )
    .await
    .problem(403);

    // Reordered: the list follows the positions.
    app.patch(&fpath(&reason), json!({"position": 0}))
        .await
        .expect(200);
    app.patch(&fpath(&order), json!({"position": 1}))
        .await
        .expect(200);
    let keys: Vec<String> = app.get("/api/v1/custom-fields").await.expect(200)["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["key"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(keys, ["reason", "order_number"]);

    // A ticket with a value in the field, and one without.
    let t = app.ticket("Archive", "arch@example.com").await;
    let path = format!("/api/v1/tickets/{}", t["id"].as_str().unwrap());
    app.patch(&path, json!({"custom_fields": {"reason": "wrong size"}}))
        .await
        .expect(200);
    app.patch(&path, json!({"status": "solved"}))
        .await
        .problem(422);

    // Archived: the required field no longer blocks, the kept value stays,
    // a new value is refused by the field's state, clearing is allowed.
    let a = app
        .patch(&fpath(&order), json!({"archived": true}))
        .await
        .expect(200);
    assert_eq!(a["archived"], true);
    app.patch(&fpath(&reason), json!({"archived": true}))
        .await
        .expect(200);
    let e = app
        .patch(&path, json!({"custom_fields": {"reason": "late"}}))
        .await
        .problem(409);
    assert!(e["detail"].as_str().unwrap().contains("archived"), "{e}");
    assert_eq!(
        app.get(&path).await.expect(200)["custom_fields"]["reason"],
        "wrong size"
    );
    app.patch(&path, json!({"status": "solved"}))
        .await
        .expect(200);
    app.patch(&path, json!({"custom_fields": {"reason": null}}))
        .await
        .expect(200);

    // Restored, it is required again on the next ticket.
    app.patch(&fpath(&order), json!({"archived": false}))
        .await
        .expect(200);
    let t2 = app.ticket("Restored", "rest@example.com").await;
    app.patch(
        &format!("/api/v1/tickets/{}", t2["id"].as_str().unwrap()),
        json!({"status": "solved"}),
    )
    .await
    .problem(422);

    // Every change is an event with what changed.
    let events = app.get("/api/v1/events?limit=200").await.expect(200);
    let changed: Vec<String> = events["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["kind"] == "custom_field.updated")
        .flat_map(|e| e["data"]["changes"].as_array().cloned().unwrap_or_default())
        .map(|c| c["field"].as_str().unwrap_or_default().to_owned())
        .collect();
    for f in ["label", "options", "position", "archived"] {
        assert!(changed.iter().any(|c| c == f), "{f} in {changed:?}");
    }
}

/// A snoozed ticket waits as pending and opens again at its moment (the
/// clock under the test's control), as the system; a customer's reply ends a
/// snooze sooner; moments past, too far ahead, or a solved ticket are refused.
async fn a_snoozed_ticket_waits_and_opens_again_at_its_moment(app: TestApp) {
    let t = app
        .ticket("Перезвоните в понедельник", "snooze@example.com")
        .await;
    let path = format!("/api/v1/tickets/{}", t["id"].as_str().unwrap());
    let now = app.store.now();
    let hour = 3_600_000;
    let at = now.plus_millis(2 * hour);
    let s = app
        .patch(&path, json!({"snoozed_until": at.to_rfc3339()}))
        .await
        .expect(200);
    assert_eq!(
        (s["status"].as_str(), s["snoozed_until"].as_str()),
        (Some("pending"), Some(at.to_rfc3339().as_str()))
    );
    // Refused by the clock or the state, with nothing changed.
    app.patch(
        &path,
        json!({"snoozed_until": now.plus_millis(-hour).to_rfc3339()}),
    )
    .await
    .problem(409);
    app.patch(
        &path,
        json!({"snoozed_until": now.plus_millis(400 * 24 * hour).to_rfc3339()}),
    )
    .await
    .problem(409);
    app.patch(&path, json!({"snoozed_until": "tomorrow"}))
        .await
        .problem(422);
    // Not yet: the job waits for its moment.
    app.drain_jobs().await;
    assert_eq!(app.get(&path).await.expect(200)["status"], "pending");
    app.clock.set(Some(at.plus_millis(1_000)));
    app.drain_jobs().await;
    let woke = app.get(&path).await.expect(200);
    app.clock.set(None);
    assert_eq!(
        (woke["status"].as_str(), woke["snoozed_until"].is_null()),
        (Some("open"), true),
        "{woke}"
    );
    let history = app.get(&format!("{path}/events")).await.expect(200);
    let wake = history["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| {
            e["kind"] == "ticket.updated"
                && e["data"]["changes"].as_array().is_some_and(|c| {
                    c.iter()
                        .any(|c| c["field"] == "snoozed_until" && c["to"].is_null())
                })
        })
        .expect("the wake in the history")
        .clone();
    assert_eq!(wake["actor"]["kind"], "system", "{wake}");

    // Snoozed again, then the customer writes: open at once, snooze over,
    // and the old moment's job does nothing later.
    let at2 = app.store.now().plus_millis(hour);
    app.patch(&path, json!({"snoozed_until": at2.to_rfc3339()}))
        .await
        .expect(200);
    app.post(
        &format!("{path}/messages"),
        json!({"body": "Можно раньше?", "author": "customer"}),
    )
    .await
    .expect(201);
    let replied = app.get(&path).await.expect(200);
    assert_eq!(
        (
            replied["status"].as_str(),
            replied["snoozed_until"].is_null()
        ),
        (Some("open"), true)
    );
    app.patch(&path, json!({"status": "pending"}))
        .await
        .expect(200);
    app.clock.set(Some(at2.plus_millis(1_000)));
    app.drain_jobs().await;
    app.clock.set(None);
    assert_eq!(
        app.get(&path).await.expect(200)["status"],
        "pending",
        "a stale wake does nothing"
    );

    // Ended by hand; a solved ticket is not snoozed.
    let at3 = app.store.now().plus_millis(hour);
    app.patch(&path, json!({"snoozed_until": at3.to_rfc3339()}))
        .await
        .expect(200);
    let ended = app
        .patch(&path, json!({"snoozed_until": null}))
        .await
        .expect(200);
    assert!(ended["snoozed_until"].is_null());
    app.patch(&path, json!({"status": "solved"}))
        .await
        .expect(200);
    app.patch(&path, json!({"snoozed_until": at3.to_rfc3339()}))
        .await
        .problem(409);
}

/// A note's `@handles` (the local part of a colleague's address, or all of
/// it) tell those colleagues, once each; the author, people who left and a
/// public reply's words are not mentions.
async fn a_note_tells_the_colleagues_it_mentions(app: TestApp) {
    let (boris, boris_token) = app.user("boris@alpha.test", "agent").await;
    let (vera, _) = app.user("vera.k@alpha.test", "agent").await;
    let (gone, _) = app.user("gone@alpha.test", "agent").await;
    app.patch(&format!("/api/v1/users/{gone}"), json!({"active": false}))
        .await
        .expect(200);
    let t = app.ticket("Упоминания", "mention@example.com").await;
    let tid = t["id"].as_str().unwrap().to_owned();
    let r = app
        .req(
            "POST",
            &format!("/api/v1/tickets/{tid}/messages"),
            &boris_token,
            Some(json!({"body": "@BORIS @vera.k @gone @owner@alpha.test @nobody — посмотрите", "visibility": "internal"})),
        )
        .await;
    assert_eq!(r.status.as_u16(), 201, "{}", r.body);
    let events = mentions_on(&app, &tid).await;
    assert_eq!(events.len(), 1, "{events:?}");
    let mut told: Vec<String> = events[0]["data"]["user_ids"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u.as_str().unwrap().to_owned())
        .collect();
    told.sort();
    let owner = app.get("/api/v1/me").await.expect(200)["user"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let mut want = vec![vera.clone(), owner];
    want.sort();
    assert_eq!(told, want, "not the author ({boris}), not who left");
    assert_eq!(events[0]["data"]["message_id"], r.body["id"]);
    // A public reply naming someone tells nobody.
    app.post(
        &format!("/api/v1/tickets/{tid}/messages"),
        json!({"body": "@vera.k ответит вам завтра", "visibility": "public"}),
    )
    .await
    .expect(201);
    assert_eq!(mentions_on(&app, &tid).await.len(), 1);
}

async fn mentions_on(app: &TestApp, tid: &str) -> Vec<serde_json::Value> {
    app.get(&format!("/api/v1/tickets/{tid}/events?limit=200"))
        .await
        .expect(200)["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["kind"] == "message.mentioned")
        .cloned()
        .collect()
}

/// A second question on an old thread becomes a ticket of its own: the
/// customer's message moves with its thread and the ticket's team, priority
/// and tags; the first message, an agent's, or another ticket's is refused.
async fn a_later_question_is_split_into_its_own_ticket(app: TestApp) {
    let t = app
        .ticket("Доставка заказа 7731", "split@example.com")
        .await;
    let tid = t["id"].as_str().unwrap().to_owned();
    let msgs = |id: String| {
        let app = &app;
        async move {
            app.get(&format!("/api/v1/tickets/{id}/messages"))
                .await
                .expect(200)["items"]
                .as_array()
                .unwrap()
                .clone()
        }
    };
    let first = msgs(tid.clone()).await[0]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let reply = app
        .post(
            &format!("/api/v1/tickets/{tid}/messages"),
            json!({"body": "Заказ у курьера.", "visibility": "public"}),
        )
        .await
        .expect(201)["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let q = app
        .post(
            &format!("/api/v1/tickets/{tid}/messages"),
            json!({"body": "И ещё: как вернуть чайник?", "author": "customer"}),
        )
        .await
        .expect(201)["id"]
        .as_str()
        .unwrap()
        .to_owned();
    app.patch(
        &format!("/api/v1/tickets/{tid}"),
        json!({"tags": ["delivery"], "priority": "high"}),
    )
    .await
    .expect(200);
    let n = app
        .post(
            &format!("/api/v1/tickets/{tid}/split"),
            json!({"message_id": q}),
        )
        .await
        .expect(201);
    let nid = n["id"].as_str().unwrap().to_owned();
    assert_ne!(n["number"], t["number"]);
    assert_eq!(n["customer_id"], t["customer_id"]);
    assert_eq!(
        (
            n["status"].as_str(),
            n["priority"].as_str(),
            n["tags"].clone()
        ),
        (Some("new"), Some("high"), json!(["delivery"])),
        "{n}"
    );
    let moved = msgs(nid.clone()).await;
    assert_eq!(moved.len(), 1);
    assert_eq!(moved[0]["id"].as_str(), Some(q.as_str()));
    let left: Vec<_> = msgs(tid.clone())
        .await
        .iter()
        .map(|m| m["id"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(left, vec![first.clone(), reply.clone()]);
    let events = app
        .get(&format!("/api/v1/tickets/{tid}/events"))
        .await
        .expect(200);
    assert!(
        events["items"]
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["kind"] == "ticket.split" && e["data"]["into_number"] == n["number"]),
        "{events}"
    );
    // Refused: the first message, an agent's, one that is not the ticket's.
    for m in [&first, &reply] {
        app.post(
            &format!("/api/v1/tickets/{tid}/split"),
            json!({"message_id": m}),
        )
        .await
        .problem(409);
    }
    app.post(
        &format!("/api/v1/tickets/{tid}/split"),
        json!({"message_id": q}),
    )
    .await
    .problem(404);
    assert_eq!(msgs(tid).await.len(), 2, "nothing moved by a refusal");
}

/// A duplicate is merged into the ticket it repeats: its messages, tags and
/// experts move there, it is closed pointing at it, and the customer's next
/// message on it lands on the target. Merging into itself or with a closed
/// ticket is refused by their state.
async fn a_duplicate_is_merged_into_its_ticket(app: TestApp) {
    let t = app.ticket("Заказ 58211 не пришёл", "dup@example.com").await;
    let d = app.ticket("Где мой заказ 58211?", "dup@example.com").await;
    let (tid, did) = (
        t["id"].as_str().unwrap().to_owned(),
        d["id"].as_str().unwrap().to_owned(),
    );
    let count = |v: &serde_json::Value| v["items"].as_array().map_or(0, Vec::len);
    app.patch(
        &format!("/api/v1/tickets/{did}"),
        json!({"tags": ["delivery"]}),
    )
    .await
    .expect(200);
    app.post(
        &format!("/api/v1/tickets/{did}/messages"),
        json!({"body": "Проверяю склад", "visibility": "internal"}),
    )
    .await
    .expect(201);
    let before_t = count(
        &app.get(&format!("/api/v1/tickets/{tid}/messages"))
            .await
            .expect(200),
    );
    let before_d = count(
        &app.get(&format!("/api/v1/tickets/{did}/messages"))
            .await
            .expect(200),
    );
    assert_eq!((before_t, before_d), (1, 2));

    // Refused by their state: itself; a light agent may not merge.
    app.post(
        &format!("/api/v1/tickets/{did}/merge"),
        json!({"into": did}),
    )
    .await
    .problem(409);
    app.post(
        &format!("/api/v1/tickets/{did}/merge"),
        json!({"into": "999999"}),
    )
    .await
    .problem(404);
    let (_, light) = app.user("merge-light@alpha.test", "light_agent").await;
    app.req(
        "POST",
        &format!("/api/v1/tickets/{did}/merge"),
        &light,
        Some(json!({"into": tid})),
    )
    .await
    .problem(403);

    // By number, as agents say it.
    let merged = app
        .post(
            &format!("/api/v1/tickets/{did}/merge"),
            json!({"into": t["number"].to_string()}),
        )
        .await
        .expect(200);
    assert_eq!(merged["id"], t["id"]);
    assert!(
        merged["tags"]
            .as_array()
            .unwrap()
            .contains(&json!("delivery")),
        "{merged}"
    );
    assert_eq!(
        count(
            &app.get(&format!("/api/v1/tickets/{tid}/messages"))
                .await
                .expect(200)
        ),
        3
    );
    assert_eq!(
        count(
            &app.get(&format!("/api/v1/tickets/{did}/messages"))
                .await
                .expect(200)
        ),
        0
    );
    let gone = app.get(&format!("/api/v1/tickets/{did}")).await.expect(200);
    assert_eq!(
        (gone["status"].as_str(), gone["merged_into"].as_str()),
        (Some("closed"), Some(tid.as_str()))
    );
    let history = app
        .get(&format!("/api/v1/tickets/{tid}/events"))
        .await
        .expect(200);
    let event = history["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["kind"] == "ticket.merged")
        .expect("the merge in the target's history")
        .clone();
    assert_eq!(
        (
            event["data"]["source_id"].as_str(),
            event["data"]["messages"].as_i64()
        ),
        (Some(did.as_str()), Some(2))
    );

    // Once closed, neither side of a merge.
    app.post(
        &format!("/api/v1/tickets/{tid}/merge"),
        json!({"into": did}),
    )
    .await
    .problem(409);
    let third = app.ticket("Третья", "third@example.com").await;
    app.post(
        &format!("/api/v1/tickets/{}/merge", third["id"].as_str().unwrap()),
        json!({"into": did}),
    )
    .await
    .problem(409);

    // The customer writes on the merged one: it lands on the target, no
    // follow-up is opened.
    let posted = app
        .post(
            &format!("/api/v1/tickets/{did}/messages"),
            json!({"body": "Есть новости?", "author": "customer"}),
        )
        .await
        .expect(201);
    assert_eq!(posted["ticket_id"], t["id"], "{posted}");
    assert_eq!(
        count(
            &app.get(&format!("/api/v1/tickets/{tid}/messages"))
                .await
                .expect(200)
        ),
        4
    );
}

/// A reminder about a ticket tells the person who set it at its moment (the
/// clock under the test's control), once; it can be cancelled; another
/// person's reminders are not theirs to see or cancel.
async fn a_reminder_tells_its_person_at_its_moment(app: TestApp) {
    let t = app
        .ticket("Перезвонить клиенту", "remind@example.com")
        .await;
    let tid = t["id"].as_str().unwrap().to_owned();
    let now = app.store.now();
    let hour = 3_600_000;
    let at = now.plus_millis(hour);
    let r = app
        .post(
            &format!("/api/v1/tickets/{tid}/reminders"),
            json!({"at": at.to_rfc3339(), "note": "Спросить про возврат"}),
        )
        .await
        .expect(201);
    assert_eq!(
        (r["ticket_id"].as_str(), r["note"].as_str()),
        (Some(tid.as_str()), Some("Спросить про возврат"))
    );
    let later = app
        .post(
            &format!("/api/v1/tickets/{}/reminders", t["number"]),
            json!({"at": now.plus_millis(5 * hour).to_rfc3339()}),
        )
        .await
        .expect(201);
    // Refused by the clock; a malformed time is bad input.
    app.post(
        &format!("/api/v1/tickets/{tid}/reminders"),
        json!({"at": now.plus_millis(-hour).to_rfc3339()}),
    )
    .await
    .problem(409);
    app.post(
        &format!("/api/v1/tickets/{tid}/reminders"),
        json!({"at": "soon"}),
    )
    .await
    .problem(422);
    let mine = app.get("/api/v1/reminders").await.expect(200);
    assert_eq!(mine["items"].as_array().map(Vec::len), Some(2));
    assert_eq!(mine["items"][0]["id"], r["id"], "soonest first");
    // Another agent sees none of them and cannot cancel them.
    let (_, other) = app.user("remind-other@alpha.test", "agent").await;
    let theirs = app.req("GET", "/api/v1/reminders", &other, None).await;
    assert_eq!(theirs.body["items"].as_array().map(Vec::len), Some(0));
    app.req(
        "DELETE",
        &format!("/api/v1/reminders/{}", later["id"].as_str().unwrap()),
        &other,
        None,
    )
    .await
    .problem(404);
    // Cancelled: gone from the list, and never told.
    let res = app
        .req(
            "DELETE",
            &format!("/api/v1/reminders/{}", later["id"].as_str().unwrap()),
            &app.token,
            None,
        )
        .await;
    assert_eq!(res.status.as_u16(), 204);
    // Its moment comes: told once, as the system, with the note.
    app.clock.set(Some(now.plus_millis(6 * hour)));
    app.drain_jobs().await;
    app.drain_jobs().await;
    app.clock.set(None);
    let events = app
        .get(&format!("/api/v1/tickets/{tid}/events"))
        .await
        .expect(200);
    let due: Vec<&serde_json::Value> = events["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["kind"] == "ticket.reminder_due")
        .collect();
    assert_eq!(due.len(), 1, "{due:?}");
    assert_eq!(
        (
            due[0]["data"]["note"].as_str(),
            due[0]["data"]["reminder_id"].as_str()
        ),
        (Some("Спросить про возврат"), r["id"].as_str())
    );
    assert_eq!(
        app.get("/api/v1/reminders").await.expect(200)["items"]
            .as_array()
            .map(Vec::len),
        Some(0)
    );
}

/// Two server processes on one PostgreSQL: every snoozed ticket wakes once and
/// every reminder is told once, at their moments.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_nodes_wake_snoozes_and_tell_reminders_once() {
    use domain::event::EventData;
    let Some(cluster) = crate::helpers::PgCluster::start(
        "tickets::two_nodes_wake_snoozes_and_tell_reminders_once",
        std::sync::Arc::new(crate::helpers::Behind(0)),
    )
    .await
    else {
        return;
    };
    let engine = cluster.engine.clone();
    engine
        .create_workspace("pair", "owner@pair.test", "pair-password")
        .await
        .expect("workspace");
    let p = engine.cli_principal("pair").await.expect("principal");
    let (mut a, mut b) = (cluster.node(1, 1), cluster.node(2, 1));
    const TICKETS: usize = 60;
    let at = engine.now().plus_millis(8_000);
    let mut ids = Vec::new();
    for i in 0..TICKETS {
        let t = engine
            .create_ticket(&p, crate::helpers::new_ticket(i), None)
            .await
            .expect("ticket")
            .ticket;
        let r = engine::tickets::TicketRef::Id(t.id);
        engine
            .update_ticket(
                &p,
                r,
                engine::tickets::TicketPatch {
                    snoozed_until: Some(Some(at)),
                    ..Default::default()
                },
            )
            .await
            .expect("snooze");
        engine
            .add_reminder(&p, r, at, "перезвонить")
            .await
            .expect("reminder");
        ids.push(t.id);
    }
    assert!(engine.now() < at, "the moments fell before the test looked");
    let read = async || crate::helpers::all_events(&engine, &p).await;
    let count = |events: &[engine::model::EventRecord]| {
        let mut woke = std::collections::HashMap::<_, usize>::new();
        let mut told = std::collections::HashMap::<_, usize>::new();
        for e in events {
            match &e.data {
                EventData::TicketUpdated { ticket_id, changes }
                    if e.actor == domain::event::Actor::System
                        && changes
                            .iter()
                            .any(|c| c.field == "snoozed_until" && c.to.is_null()) =>
                {
                    *woke.entry(*ticket_id).or_default() += 1;
                }
                EventData::ReminderDue { ticket_id, .. } => {
                    *told.entry(*ticket_id).or_default() += 1;
                }
                _ => {}
            }
        }
        (woke, told)
    };
    crate::helpers::until("every snooze woken and reminder told", 60, async || {
        let (woke, told) = count(&read().await);
        (woke.len() >= TICKETS && told.len() >= TICKETS).then_some(())
    })
    .await;
    // A job run twice would write again within a pass or two.
    tokio::time::sleep(std::time::Duration::from_secs(2)).await;
    let _ = a.kill().await;
    let _ = b.kill().await;
    let events = read().await;
    let (woke, told) = count(&events);
    assert!(
        ids.iter().all(|t| woke.get(t) == Some(&1)),
        "each ticket woke once: {woke:?}"
    );
    assert!(
        ids.iter().all(|t| told.get(t) == Some(&1)),
        "each reminder told once: {told:?}"
    );
    assert!(
        events
            .iter()
            .filter(|e| matches!(e.data, EventData::ReminderDue { .. }))
            .all(|e| e.created_at >= at),
        "no reminder before its moment"
    );
    cluster.finish().await;
}

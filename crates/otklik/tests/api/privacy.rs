//! A customer's personal data on request: the export holds everything kept
//! about them; the erasure leaves none of it in any table, in the event log,
//! in the search index or in the data directory's files, keeps what is
//! counted, touches no one else, and is recorded.

use crate::chat::{SHOP, channel, from_site, visitor};
use crate::email::{Sink, mailbox, pipe};
use crate::helpers::{Backend, TestApp, spawn_with};
use serde_json::{Value, json};

mod erasure_leaves_no_personal_data_anywhere {
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn sqlite() {
        let app = super::app(super::Backend::Sqlite).await.expect("app");
        super::erasure_leaves_no_personal_data_anywhere(app).await;
    }
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn postgres() {
        if let Some(app) = super::app(super::Backend::Postgres).await {
            super::erasure_leaves_no_personal_data_anywhere(app).await;
        }
    }
}

/// Surveys need the server's public address.
async fn app(backend: Backend) -> Option<TestApp> {
    spawn_with(backend, |c| {
        c.public_url = Some("https://desk.test/".into())
    })
    .await
}

/// What only the erased customer is or wrote, as it would be searched for
/// (lower case): every one must be found before the erasure and nowhere after.
const MARKERS: &[&str] = &[
    "quillberry",      // their name, the subject, the reply, a reminder
    "zqmail",          // their email address
    "815550199",       // their phone number
    "xylophonic",      // what they wrote (mail, chat)
    "kumquat",         // an attachment's file name
    "qb-77311",        // an order's number
    "trk99317",        // its parcel's tracking number
    "velvetotter",     // a page address and attribute the shop pushed
    "grumblewidget",   // a survey comment
    "prefersmornings", // an agent's note on the profile
    "brambleshaw",     // the profile merged into theirs (name, address)
    "pumpernickel",    // the name they gave the chat widget
];
/// What only the stored files hold: the attachment's content.
const IN_FILES: &str = "marmaladeinvoice";
/// Someone else, who must be left as they are.
const OTHER: &str = "ulrichcontrol";

fn mail_with_attachment() -> Vec<u8> {
    "From: Zoltanova Quillberry <zqmail@quill.example>\r\n\
     To: help@shop.example\r\n\
     Subject: Parcel for Quillberry\r\n\
     Message-ID: <erase-1@quill.example>\r\n\
     Date: Mon, 30 Nov 2026 10:00:00 +0300\r\n\
     MIME-Version: 1.0\r\n\
     Content-Type: multipart/mixed; boundary=\"b1\"\r\n\r\n\
     --b1\r\n\
     Content-Type: text/plain; charset=utf-8\r\n\r\n\
     My xylophonic parcel never came. Call me on +66 81 555 0199.\r\n\
     --b1\r\n\
     Content-Type: text/plain; name=\"kumquat-receipt.txt\"\r\n\
     Content-Disposition: attachment; filename=\"kumquat-receipt.txt\"\r\n\r\n\
     marmaladeinvoice 4990 RUB\r\n\
     --b1--\r\n"
        .as_bytes()
        .to_vec()
}

/// Every row of every table as lower-case text, table by table.
async fn every_row(app: &TestApp) -> Vec<(String, String)> {
    let mut c = app.store.read().await.expect("read");
    let sqlite = app.config.database_url.is_none();
    let tables: Vec<String> = c
        .conn()
        .fetch_all(&store::query(if sqlite {
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name"
        } else {
            "SELECT table_name::text FROM information_schema.tables \
             WHERE table_schema = current_schema() AND table_type = 'BASE TABLE' ORDER BY 1"
        }))
        .await
        .expect("tables");
    assert!(tables.len() > 60, "{tables:?}");
    let mut out = Vec::new();
    for t in tables {
        let sql = if sqlite {
            let cols: Vec<String> = c
                .conn()
                .fetch_all(&store::query(format!(
                    "SELECT name FROM pragma_table_info('{t}')"
                )))
                .await
                .expect("columns");
            let each: Vec<String> = cols
                .iter()
                .map(|col| {
                    format!(
                        "COALESCE(CASE typeof(\"{col}\") WHEN 'blob' THEN hex(\"{col}\") \
                         ELSE CAST(\"{col}\" AS TEXT) END, '')"
                    )
                })
                .collect();
            format!("SELECT {} FROM \"{t}\"", each.join(" || '|' || "))
        } else {
            format!("SELECT CAST(r AS TEXT) FROM \"{t}\" r")
        };
        let rows: Vec<String> = c
            .conn()
            .fetch_all(&store::query(sql))
            .await
            .unwrap_or_else(|e| panic!("{t}: {e}"));
        out.extend(rows.into_iter().map(|r| (t.clone(), r.to_lowercase())));
    }
    out
}

/// Where each marker is found among the rows: (marker, table, row).
fn found<'a>(
    rows: &'a [(String, String)],
    markers: &[&'a str],
) -> Vec<(&'a str, &'a str, &'a str)> {
    let mut hits = Vec::new();
    for m in markers {
        for (t, r) in rows {
            if r.contains(m) {
                hits.push((*m, t.as_str(), r.as_str()));
            }
        }
    }
    hits
}

/// Files under `dir` that hold one of the markers, as bytes (any case).
fn files_holding(dir: &std::path::Path, markers: &[&str]) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&d) else {
            continue;
        };
        for e in entries.flatten() {
            let p = e.path();
            if p.is_dir() {
                stack.push(p);
                continue;
            }
            let Ok(bytes) = std::fs::read(&p) else {
                continue;
            };
            let lower = bytes.to_ascii_lowercase();
            for m in markers {
                if lower.windows(m.len()).any(|w| w == m.as_bytes()) {
                    out.push((p.display().to_string(), (*m).to_owned()));
                }
            }
        }
    }
    out
}

async fn erasure_leaves_no_personal_data_anywhere(app: TestApp) {
    // Mail with an attachment: a ticket, its raw bytes and the file stored,
    // an acknowledgement queued to their address.
    let sink = Sink::start().await;
    let mb = mailbox(&app, "help@shop.example", &sink).await;
    pipe(&app, &mb, &mail_with_attachment()).await;
    let found_customer = app.get("/api/v1/customers?q=zqmail").await.expect(200);
    let cid = found_customer["items"][0]["id"]
        .as_str()
        .expect("the sender's profile")
        .to_owned();
    let list = app
        .get(&format!("/api/v1/tickets?customer_id={cid}"))
        .await
        .expect(200);
    let tid = list["items"][0]["id"].as_str().unwrap().to_owned();
    app.post(
        &format!("/api/v1/tickets/{tid}/messages"),
        json!({"body": "Dear Zoltanova Quillberry, your xylophonic parcel is on its way.", "visibility": "public"}),
    )
    .await
    .expect(201);
    app.post(
        &format!("/api/v1/tickets/{tid}/reminders"),
        json!({"at": "2027-06-01T09:00:00Z", "note": "call Quillberry back"}),
    )
    .await
    .expect(201);
    app.patch(
        &format!("/api/v1/customers/{cid}"),
        json!({"notes": "prefersmornings", "identities": [{"kind": "phone", "value": "+66 81 555 0199"}]}),
    )
    .await
    .expect(200);

    // A second profile of theirs (made with an idempotency key: the
    // remembered response names them), merged into the first.
    let alias = app
        .client
        .post(app.url("/api/v1/customers"))
        .bearer_auth(&app.token)
        .header("idempotency-key", "erase-alias-1")
        .json(&json!({"name": "Otto Brambleshaw", "identities": [{"kind": "email", "value": "brambleshaw@quill.example"}]}))
        .send()
        .await
        .unwrap();
    assert_eq!(alias.status().as_u16(), 201);
    let alias: Value = alias.json().await.unwrap();
    app.post(
        &format!("/api/v1/customers/{cid}/merge"),
        json!({"source_id": alias["id"]}),
    )
    .await
    .expect(200);

    // A chat as a visitor who gave only a name, merged in as well.
    let (key, _) = channel(&app, json!([])).await;
    let token = visitor(
        &app,
        &key,
        json!({"name": "Chatty Pumpernickel", "lang": "en"}),
    )
    .await;
    from_site(
        &app,
        "POST",
        &format!("/widget/v1/{key}/messages"),
        SHOP,
        Some(&token),
        Some(json!({"client_id": "c1", "text": "is my xylophonic parcel lost?"})),
    )
    .await
    .expect(201);
    let chats = app.get("/api/v1/tickets?channel=chat").await.expect(200);
    let chat_customer = chats["items"][0]["customer_id"].clone();
    app.post(
        &format!("/api/v1/customers/{cid}/merge"),
        json!({"source_id": chat_customer}),
    )
    .await
    .expect(200);

    // Their order with a parcel; the shop's page views; a link made for them
    // and clicked.
    app.post(
        "/api/v1/orders",
        json!({"external_id": "qb-ext-1", "customer": {"name": "Zoltanova Quillberry", "email": "zqmail@quill.example"},
            "number": "QB-77311", "status": "shipped", "currency": "rub", "total": "4990.00",
            "placed_at": "2026-11-20T10:00:00Z",
            "items": [{"sku": "SPK-1", "name": "Smart speaker", "quantity": 1, "price": "4990.00"}],
            "shipments": [{"carrier": "CDEK", "tracking_number": "TRK99317", "status": "in_transit"}]}),
    )
    .await
    .expect(201);
    let mut s = app.get("/api/v1/journey/settings").await.expect(200);
    s["tracking"] = json!(true);
    s["link_targets"] = json!(["https://shop.example/"]);
    app.req("PUT", "/api/v1/journey/settings", &app.token, Some(s))
        .await
        .expect(200);
    app.post(
        "/api/v1/touchpoints",
        json!({"touchpoints": [{"id": "pv-velvet-1", "kind": "page_view", "customer_id": cid,
            "at": "2026-11-21T10:00:00Z", "name": "Account",
            "url": "https://shop.example/account?nick=velvetotter",
            "attributes": {"nick": "velvetotter"}}]}),
    )
    .await
    .expect(200);
    let link = app
        .post(
            "/api/v1/links",
            json!({"target": "https://shop.example/coupon", "name": "coupon for Quillberry", "customer_id": cid}),
        )
        .await
        .expect(201);
    let code = link["code"].as_str().unwrap().to_owned();
    let browser = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .user_agent("Mozilla/5.0 (X11; Linux x86_64)")
        .build()
        .unwrap();
    let r = browser
        .get(app.url(&format!("/l/{code}")))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 302);
    app.engine.flush_link_clicks().await.expect("flush");

    // A satisfaction survey after the solve, answered with a comment.
    app.req(
        "PUT",
        "/api/v1/surveys/settings",
        &app.token,
        Some(json!({"csat": {"enabled": true}})),
    )
    .await
    .expect(200);
    app.patch(
        &format!("/api/v1/tickets/{tid}"),
        json!({"status": "solved"}),
    )
    .await
    .expect(200);
    app.drain_jobs().await;
    let p = app.engine.cli_principal("alpha").await.unwrap();
    let survey = app
        .engine
        .ticket_survey(&p, tid.parse().unwrap())
        .await
        .unwrap()
        .expect("a CSAT survey");
    let link_to = app.engine.survey_link(&survey);
    let token = link_to.rsplit("/s/").next().unwrap();
    app.engine
        .answer_survey(token, 2, "grumblewidget: slow")
        .await
        .expect("answer");

    // Someone else, with a ticket of their own.
    app.ticket("Ulrich's question", "ulrichcontrol@other.example")
        .await;
    app.drain_jobs().await;

    // Before: every marker is somewhere, and the search finds them.
    let before = every_row(&app).await;
    let missing: Vec<&&str> = MARKERS
        .iter()
        .filter(|m| !before.iter().any(|(_, r)| r.contains(**m)))
        .collect();
    assert!(missing.is_empty(), "not stored to begin with: {missing:?}");
    let hits = app.search("/api/v1/tickets?q=xylophonic", 2).await;
    assert_eq!(hits["items"].as_array().unwrap().len(), 2, "{hits}");
    assert!(
        !files_holding(&app.config.data_dir, &[IN_FILES, "zqmail"]).is_empty(),
        "the raw mail and the attachment are stored as files"
    );

    // The export holds it all, for admins only.
    let (_, agent) = app.user("agent@alpha.test", "agent").await;
    app.req(
        "GET",
        &format!("/api/v1/customers/{cid}/export"),
        &agent,
        None,
    )
    .await
    .problem(403);
    app.req(
        "POST",
        &format!("/api/v1/customers/{cid}/erase"),
        &agent,
        None,
    )
    .await
    .problem(403);
    let export = app
        .get(&format!("/api/v1/customers/{cid}/export"))
        .await
        .expect(200);
    assert_eq!(export["format"], "otklik.customer-export/1");
    assert_eq!(export["customer"]["id"], json!(cid));
    // Through a merged-away id: the same person.
    let via_alias = app
        .get(&format!(
            "/api/v1/customers/{}/export",
            alias["id"].as_str().unwrap()
        ))
        .await
        .expect(200);
    assert_eq!(via_alias["customer"]["id"], json!(cid));
    let text = export.to_string().to_lowercase();
    for m in [
        "quillberry",
        "zqmail",
        "815550199",
        "xylophonic",
        "kumquat",
        "qb-77311",
        "trk99317",
        "velvetotter",
        "grumblewidget",
        "prefersmornings",
        "brambleshaw",
        "pumpernickel",
    ] {
        assert!(text.contains(m), "the export lacks {m}");
    }
    assert!(!text.contains(OTHER), "the export holds only them");
    assert_eq!(
        export["tickets"].as_array().unwrap().len(),
        2,
        "mail and chat"
    );
    assert!(
        export["tickets"][1]["messages"].as_array().unwrap().len() >= 2
            || export["tickets"][0]["messages"].as_array().unwrap().len() >= 2
    );
    assert_eq!(export["orders"][0]["number"], "QB-77311");
    assert_eq!(export["surveys"][0]["score"], 2);
    assert_eq!(export["chat_visitors"][0]["name"], "Chatty Pumpernickel");

    // The erasure, through the merged-away id.
    let e = app
        .post(
            &format!("/api/v1/customers/{}/erase", alias["id"].as_str().unwrap()),
            json!(null),
        )
        .await
        .expect(200);
    assert_eq!(e["customer_id"], json!(cid));
    assert_eq!(e["profiles"], 3);
    assert_eq!(e["tickets"], 2);
    assert!(e["messages"].as_u64().unwrap() >= 3, "{e}");
    assert_eq!(e["attachments"], 1);
    assert_eq!(e["orders"], 1);
    assert_eq!(e["chat_visitors"], 1);
    assert!(e["identities"].as_u64().unwrap() >= 3, "{e}");
    assert!(
        e["files_removed"].as_u64().unwrap() >= 2,
        "raw mail and attachment: {e}"
    );
    assert!(
        e["jobs_removed"].as_u64().unwrap() >= 1,
        "the acknowledgement: {e}"
    );
    app.post(&format!("/api/v1/customers/{cid}/erase"), json!(null))
        .await
        .problem(409);

    // After: no marker in any table …
    let after = every_row(&app).await;
    let left = found(&after, MARKERS);
    assert!(left.is_empty(), "left after the erasure: {left:#?}");
    // … someone else untouched …
    assert!(
        !found(&after, &[OTHER]).is_empty(),
        "the other customer stays"
    );
    // … nor in the files (stored bytes; on SQLite the database and its log).
    let mut in_files = MARKERS.to_vec();
    in_files.push(IN_FILES);
    // (A reader on an older snapshot can hold the log's cut back for a moment.)
    let mut files = Vec::new();
    for _ in 0..50 {
        files = files_holding(&app.config.data_dir, &in_files);
        if files.is_empty() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
    assert!(files.is_empty(), "files still hold: {files:?}");
    // … nor in the search index, its files' terms included.
    crate::helpers::until("the index to drop the erased text", 10, async || {
        let gone = ["xylophonic", "quillberry", "zqmail", "kumquat"]
            .iter()
            .all(|w| !app.search.holds_term(w).unwrap());
        gone.then_some(())
    })
    .await;
    let hits = app.search("/api/v1/tickets?q=xylophonic", 0).await;
    assert_eq!(hits["items"], json!([]));
    assert_eq!(
        app.get("/api/v1/customers?q=quillberry").await.expect(200)["items"],
        json!([])
    );

    // What is counted stays: the tickets and their states, the order's
    // money, the touchpoints' stages, the click, the score.
    let t = app.get(&format!("/api/v1/tickets/{tid}")).await.expect(200);
    assert_eq!(
        (t["status"].as_str(), t["subject"].as_str()),
        (Some("solved"), Some(""))
    );
    let c = app
        .get(&format!("/api/v1/customers/{cid}"))
        .await
        .expect(200);
    assert!(c["erased_at"].is_string(), "{c}");
    assert_eq!(c["identities"], json!([]));
    let orders = app
        .get(&format!("/api/v1/customers/{cid}/orders"))
        .await
        .expect(200);
    assert_eq!(orders["items"][0]["total"], "4990.00");
    assert_eq!(orders["items"][0]["status"], "shipped");
    let tps = app
        .get(&format!("/api/v1/customers/{cid}/touchpoints?limit=200"))
        .await
        .expect(200);
    let kinds: Vec<&str> = tps["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["kind"].as_str().unwrap())
        .collect();
    assert!(
        kinds.contains(&"page_view") && kinds.contains(&"link_click"),
        "{kinds:?}"
    );
    let l = app
        .get(&format!("/api/v1/links/{}", link["id"].as_str().unwrap()))
        .await
        .expect(200);
    assert_eq!(l["link"]["clicks"], 1);
    let s = app.get("/api/v1/surveys").await.expect(200);
    assert!(
        s["items"]
            .as_array()
            .unwrap()
            .iter()
            .any(|s| s["score"] == 2 && s["comment"].is_null()),
        "{s}"
    );

    // Recorded, with counts only.
    let timeline = app
        .get(&format!("/api/v1/customers/{cid}/timeline"))
        .await
        .expect(200);
    let erased = timeline["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["kind"] == "customer.erased")
        .unwrap_or_else(|| panic!("no customer.erased in {timeline}"));
    assert_eq!(erased["data"]["profiles"], 3);

    // The emptied profile takes nothing new; new mail from the same address
    // makes a new profile.
    app.post(
        "/api/v1/touchpoints",
        json!({"touchpoints": [{"id": "pv-after", "kind": "page_view", "customer_id": cid,
            "at": "2026-11-22T10:00:00Z", "name": "Home"}]}),
    )
    .await
    .problem(404);
    app.patch(
        &format!("/api/v1/customers/{cid}"),
        json!({"notes": "again"}),
    )
    .await
    .problem(409);
    pipe(
        &app,
        &mb,
        &crate::email::mail(
            "zqmail@quill.example",
            "help@shop.example",
            "Hello again",
            "erase-2@quill.example",
            "",
            "A new question",
        ),
    )
    .await;
    let again = app.get("/api/v1/customers?q=zqmail").await.expect(200);
    assert_ne!(again["items"][0]["id"], json!(cid));
}

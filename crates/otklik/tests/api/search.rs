//! Ticket search: one engine for Russian, Thai and English word forms, typos,
//! customers and ticket numbers; scoped to the workspace; current within a
//! moment of a write and after a restart.

use crate::helpers::TestApp;
use serde_json::json;

crate::on_both!(tickets_are_found_by_any_form_of_their_words);

/// The query string for `q`, percent-encoded.
fn q(text: &str) -> String {
    let enc: String = text
        .bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect();
    format!("/api/v1/tickets?q={enc}")
}

async fn tickets_are_found_by_any_form_of_their_words(app: TestApp) {
    let ru = app
        .post("/api/v1/tickets", json!({"subject": "Доставка", "customer": {"name": "Ирина Смирнова", "email": "irina@example.ru"},
            "message": {"body": "Мой заказ №5531 так и не пришёл, курьер не звонил"}}))
        .await
        .expect(201);
    let th = app
        .post(
            "/api/v1/tickets",
            json!({"subject": "สอบถาม", "customer": {"email": "somchai@example.co.th"},
            "message": {"body": "ฉันยังไม่ได้รับสินค้า สั่งซื้อไปเมื่อวันจันทร์"}}),
        )
        .await
        .expect(201);
    let en = app
        .post(
            "/api/v1/tickets",
            json!({"subject": "Refund", "customer": {"email": "joe@example.com"},
            "message": {"body": "The refund to my card for my broken headphones never arrived"}}),
        )
        .await
        .expect(201);
    let id = |t: &serde_json::Value| t["id"].as_str().unwrap().to_owned();
    let expect = [
        // Russian word forms the text does not contain as written.
        ("заказы", id(&ru)),
        ("пришел", id(&ru)),
        ("курьера", id(&ru)),
        ("заказа 5531", id(&ru)),
        // The customer, by name and by address.
        ("Смирновой", id(&ru)),
        ("irina@example.ru", id(&ru)),
        // Thai words inside an unspaced sentence.
        ("สินค้า", id(&th)),
        ("ได้รับสินค้า", id(&th)),
        ("วันจันทร์", id(&th)),
        // English forms and a typo.
        ("refunds", id(&en)),
        ("headphone", id(&en)),
        ("arrive", id(&en)),
        ("hedphones", id(&en)),
        // A short query forgives a typo in a four-letter word.
        ("crad", id(&en)),
    ];
    for (text, want) in &expect {
        let found = app.search(&q(text), 1).await;
        let ids: Vec<&str> = found["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|t| t["id"].as_str().unwrap())
            .collect();
        assert_eq!(ids, [want.as_str()], "{text:?} found {ids:?}");
    }
    // Every word must match: a second word from another ticket finds nothing.
    assert_eq!(
        app.search(&q("заказ headphones"), 0).await["items"],
        json!([])
    );
    // Numbers match exactly: a neighbouring order number is another order.
    assert_eq!(app.search(&q("5532"), 0).await["items"], json!([]));
    // The number finds its ticket.
    let number = ru["number"].as_i64().unwrap().to_string();
    let found = app.search(&q(&number), 1).await;
    assert_eq!(found["items"][0]["id"], ru["id"]);
    // Another workspace sees none of it.
    let other = app.workspace("beta").await;
    let theirs = app.req("GET", &q("заказы"), &other, None).await.expect(200);
    assert_eq!(theirs["items"], json!([]));
    // A new message is searchable a moment later, and after a restart the index
    // still knows everything.
    app.post(
        &format!("/api/v1/tickets/{}/messages", id(&en)),
        json!({"body": "Tracking number TRK-77 shows it was returned", "visibility": "internal"}),
    )
    .await
    .expect(201);
    assert_eq!(
        app.search(&q("trk-77"), 1).await["items"][0]["id"],
        en["id"]
    );
    let app = app.restart().await;
    for (text, want) in &expect[..3] {
        assert_eq!(
            app.search(&q(text), 1).await["items"][0]["id"],
            want.as_str()
        );
    }
}

/// The index's position in the event log, as its last commit recorded it.
fn index_position(data: &std::path::Path) -> i64 {
    let Ok(dirs) = std::fs::read_dir(data.join("search")) else {
        return 0;
    };
    for d in dirs.flatten() {
        let Ok(meta) = std::fs::read_to_string(d.path().join("meta.json")) else {
            continue;
        };
        let v: serde_json::Value = serde_json::from_str(&meta).unwrap_or_default();
        if let Some((_, id)) = v["payload"].as_str().and_then(|p| p.split_once('.')) {
            return id.parse().unwrap_or(0);
        }
    }
    0
}

/// The server binary, killed with SIGKILL while its search follower works
/// through a backlog, resumes from the index's last commit; `otklik reindex`
/// then rebuilds the same index from the log.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_index_survives_a_kill_and_is_rebuilt_by_reindex() {
    use std::sync::Arc;
    use std::time::Duration;
    const TICKETS: usize = 3000;
    let dir = tempfile::tempdir().unwrap();
    let config = otklik::config::Config {
        data_dir: dir.path().to_path_buf(),
        ..Default::default()
    };
    let ws = {
        let engine = otklik::app::open_engine(&config, Arc::new(store::SystemClock))
            .await
            .unwrap();
        let (ws, _) = engine
            .create_workspace("kill", "owner@kill.test", "kill-password")
            .await
            .unwrap();
        let p = engine.cli_principal("kill").await.unwrap();
        let tasks: Vec<_> = (0..8)
            .map(|w| {
                let (engine, p) = (engine.clone(), p.clone());
                tokio::spawn(async move {
                    for i in (w..TICKETS).step_by(8) {
                        engine
                            .create_ticket(&p, crate::helpers::new_ticket(i), None)
                            .await
                            .unwrap();
                    }
                })
            })
            .collect();
        for t in tasks {
            t.await.unwrap();
        }
        engine.close().await;
        ws.id
    };
    let db = dir.path().join("otklik.sqlite3");
    let head = crate::helpers::sqlite_number(&db, "SELECT MAX(id) FROM events");
    let mut child = crate::helpers::serve_binary(dir.path());
    let t0 = std::time::Instant::now();
    while index_position(dir.path()) == 0 {
        assert!(
            t0.elapsed() < Duration::from_secs(60),
            "the index never committed"
        );
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
    child.kill().unwrap();
    child.wait().unwrap();
    let at_kill = index_position(dir.path());
    assert!(
        at_kill < head,
        "the backlog was indexed before the kill ({at_kill}); nothing was tested"
    );
    let mut child = crate::helpers::serve_binary(dir.path());
    let t0 = std::time::Instant::now();
    while index_position(dir.path()) < head {
        assert!(
            t0.elapsed() < Duration::from_secs(120),
            "after the restart the index stopped at {}",
            index_position(dir.path())
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    child.kill().unwrap();
    child.wait().unwrap();
    let check = |what: &str| {
        let index = search::SearchIndex::open(&dir.path().join("search")).unwrap();
        // One document per ticket: none lost, none doubled.
        assert_eq!(index.len(), TICKETS as u64, "{what}");
        for n in [0, 1, TICKETS / 2, TICKETS - 1] {
            let found = index.tickets(ws, &format!("заказы {n}"), 10).unwrap();
            assert!(!found.is_empty(), "{what}: ticket {n} not found");
        }
    };
    check("after the kill and restart");
    eprintln!("killed at event {at_kill} of {head}; the restart indexed the rest");

    let out = std::process::Command::new(env!("CARGO_BIN_EXE_otklik"))
        .args(["reindex", "--data-dir"])
        .arg(dir.path())
        .output()
        .expect("run otklik reindex");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains(&format!("indexed {TICKETS} tickets")),
        "{stdout}"
    );
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("reindexing"),
        "a progress bar"
    );
    assert_eq!(index_position(dir.path()), head);
    check("after otklik reindex");
}

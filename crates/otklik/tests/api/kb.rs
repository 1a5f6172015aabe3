//! The knowledge base: articles with versions and translations, FAQ entries, and
//! search over them in Russian, Thai and English.

use crate::helpers::TestApp;
use serde_json::{Value, json};

crate::on_both!(articles_and_faq_are_versioned_translated_and_found);

fn enc(text: &str) -> String {
    text.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

/// `GET /api/v1/kb/search` once its best hit is `first` (`None`: once it finds
/// nothing), or the last answer after five seconds: the index follows the log.
async fn search(app: &TestApp, q: &str, lang: &str, first: Option<&Value>) -> Value {
    let path = format!("/api/v1/kb/search?q={}&lang={lang}", enc(q));
    let mut last = Value::Null;
    for _ in 0..100 {
        last = app.get(&path).await.expect(200);
        let top = last["items"]
            .as_array()
            .and_then(|i| i.first())
            .map(|h| &h["id"]);
        if top == first {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    last
}

async fn articles_and_faq_are_versioned_translated_and_found(app: TestApp) {
    // A draft, written first: once later articles are found, it was indexed too.
    let draft = app
        .post("/api/v1/kb/articles", json!({"lang": "ru", "title": "Черновик о возврате", "body": "возврат возврат возврат"}))
        .await
        .expect(201);
    assert_eq!(draft["published_version"], Value::Null);
    let ru = app
        .post("/api/v1/kb/articles", json!({"lang": "ru", "title": "Обмен и возврат",
            "body": "Вернуть товар можно в течение 14 дней после получения заказа.", "category": "returns", "status": "published"}))
        .await
        .expect(201);
    assert_eq!(ru["version"], 1);
    assert_eq!(ru["published_version"], 1);
    assert_eq!(ru["slug"], "обмен-и-возврат");
    let group = ru["group_id"].as_str().unwrap();
    let en = app
        .post("/api/v1/kb/articles", json!({"lang": "en", "title": "Returns and exchanges",
            "body": "You can return an item within 14 days of receiving your order.", "category": "returns", "status": "published", "group_id": group}))
        .await
        .expect(201);
    assert_eq!(en["group_id"], ru["group_id"]);
    // One translation per language, into a group that exists.
    app.post(
        "/api/v1/kb/articles",
        json!({"lang": "ru", "title": "Дубль", "group_id": group}),
    )
    .await
    .problem(409);
    app.post(
        "/api/v1/kb/articles",
        json!({"lang": "th", "title": "x", "group_id": "01936f1e-7b2a-7c41-9a55-0d3c7e2b9a99"}),
    )
    .await
    .problem(404);
    let th_faq = app
        .post("/api/v1/kb/faq", json!({"lang": "th", "question": "ฉันจะคืนสินค้าได้อย่างไร",
            "phrasings": ["ขอคืนเงิน"], "answer": "คุณสามารถคืนสินค้าได้ภายใน 14 วัน", "category": "returns"}))
        .await
        .expect(201);
    // Russian word forms, Thai without spaces, English forms; the reader's language first.
    let hits = search(&app, "как вернуть товары", "ru", Some(&ru["id"])).await;
    assert_eq!(hits["items"][0]["id"], ru["id"], "{hits}");
    let snippet = hits["items"][0]["snippet"].as_str().unwrap();
    assert!(snippet.contains("<mark>"), "{snippet}");
    assert!(
        hits["items"][0]["url"]
            .as_str()
            .unwrap()
            .starts_with("/help/alpha/ru/articles/"),
        "{hits}"
    );
    let hits = search(&app, "คืนสินค้า", "th", Some(&th_faq["id"])).await;
    assert_eq!(hits["items"][0]["id"], th_faq["id"], "{hits}");
    assert_eq!(hits["items"][0]["kind"], "faq");
    let hits = search(&app, "returning orders", "en", Some(&en["id"])).await;
    assert_eq!(hits["items"][0]["id"], en["id"], "{hits}");
    // A draft is not found until it is published.
    let all = search(&app, "черновик", "ru", None).await;
    assert_eq!(all["items"], json!([]));
    let draft_path = format!("/api/v1/kb/articles/{}", draft["id"].as_str().unwrap());
    app.patch(&draft_path, json!({"status": "published"}))
        .await
        .expect(200);
    let hits = search(&app, "черновик", "ru", Some(&draft["id"])).await;
    assert_eq!(hits["items"][0]["id"], draft["id"], "{hits}");
    // Versions: every text change is one; restoring brings old text back as a new one.
    let path = format!("/api/v1/kb/articles/{}", ru["id"].as_str().unwrap());
    let v2 = app
        .patch(
            &path,
            json!({"body": "Вернуть товар можно в течение 30 дней."}),
        )
        .await
        .expect(200);
    assert_eq!(
        (v2["version"].as_i64(), v2["published_version"].as_i64()),
        (Some(2), Some(2))
    );
    let versions = app.get(&format!("{path}/versions")).await.expect(200);
    assert_eq!(versions["items"].as_array().map(Vec::len), Some(2));
    let v3 = app
        .post(&format!("{path}/versions/1/restore"), json!({}))
        .await
        .expect(200);
    assert_eq!(v3["version"], 3);
    assert_eq!(v3["body"], ru["body"]);
    app.post(&format!("{path}/versions/9/restore"), json!({}))
        .await
        .problem(404);
    // Agents read and search; they do not edit.
    let (_, agent) = app.user("kb-agent@alpha.test", "agent").await;
    app.req(
        "POST",
        "/api/v1/kb/articles",
        &agent,
        Some(json!({"lang": "ru", "title": "x"})),
    )
    .await
    .problem(403);
    let found = app
        .req(
            "GET",
            &format!("/api/v1/kb/search?q={}", enc("возврат")),
            &agent,
            None,
        )
        .await
        .expect(200);
    assert!(!found["items"].as_array().unwrap().is_empty());
    // Another workspace finds none of it.
    let other = app.workspace("beta").await;
    let theirs = app
        .req(
            "GET",
            &format!("/api/v1/kb/search?q={}", enc("возврат")),
            &other,
            None,
        )
        .await
        .expect(200);
    assert_eq!(theirs["items"], json!([]));
}

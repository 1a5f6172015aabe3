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
            "message": {"body": "The refund for my broken headphones never arrived"}}),
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

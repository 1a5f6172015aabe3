//! Macros: shared and personal, checked when saved, applied to a ticket as the
//! agent (changes and a text in the customer's language), counted.

use crate::helpers::TestApp;
use serde_json::{Value, json};

crate::on_both!(macros_are_shared_or_personal_and_applied_in_the_customers_language);

async fn macros_are_shared_or_personal_and_applied_in_the_customers_language(app: TestApp) {
    app.post(
        "/api/v1/custom-fields",
        json!({"key": "order_number", "label": "Order", "field_type": "text"}),
    )
    .await
    .expect(201);
    let shared = app
        .post(
            "/api/v1/macros",
            json!({"name": "Где заказ?", "shared": true,
                "body": "Hello {{customer.first_name}}, order {{ticket.number}} is with the courier. — {{agent.first_name}}",
                "translations": {"ru": "Здравствуйте, {{customer.first_name}}! Обращение {{ticket.number}}: заказ у курьера. — {{agent.first_name}}",
                                 "th": "สวัสดีคุณ{{customer.first_name}} คำสั่งซื้ออยู่กับพนักงานส่ง"},
                "actions": [{"type": "add_tags", "tags": ["delivery", "Courier"]},
                            {"type": "set_status", "status": "pending"},
                            {"type": "set_field", "key": "order_number", "value": "5531"}]}),
        )
        .await
        .expect(201);
    let shared_id = shared["id"].as_str().unwrap().to_owned();
    assert_eq!(shared["shared"], true);
    assert_eq!(shared["owner_id"], Value::Null);

    // What cannot work is refused by name.
    for (body, field) in [
        (json!({"name": "x", "body": "Hi {{customer.nmae}}"}), "body"),
        (json!({"name": "x"}), "body"),
        (
            json!({"name": "x", "body": "Hi", "actions": [{"type": "webhook", "url": "https://shop.example"}]}),
            "actions[0]",
        ),
        (
            json!({"name": "x", "body": "Hi", "translations": {"RU": "Привет"}}),
            "translations",
        ),
        (json!({"name": " ", "body": "Hi"}), "name"),
    ] {
        let p = app.post("/api/v1/macros", body.clone()).await.problem(422);
        assert!(p["errors"].get(field).is_some(), "{body}: {p}");
    }

    // An agent keeps personal macros; shared ones are for supervisors and up.
    let (ivan, ivan_token) = app.user("ivan@alpha.test", "agent").await;
    let (_, olga_token) = app.user("olga@alpha.test", "agent").await;
    let (_, sup_token) = app.user("sveta@alpha.test", "supervisor").await;
    app.patch(
        &format!("/api/v1/users/{ivan}"),
        json!({"name": "Иван Петров"}),
    )
    .await
    .expect(200);
    let mine = app
        .req(
            "POST",
            "/api/v1/macros",
            &ivan_token,
            Some(json!({"name": "Моя заметка про возврат", "body": "Проверить возврат в 1С", "visibility": "internal"})),
        )
        .await
        .expect(201);
    let mine_id = mine["id"].as_str().unwrap().to_owned();
    assert_eq!(mine["owner_id"], json!(ivan));
    app.req(
        "POST",
        "/api/v1/macros",
        &ivan_token,
        Some(json!({"name": "Общий", "body": "Hi", "shared": true})),
    )
    .await
    .problem(403);
    app.req(
        "PATCH",
        &format!("/api/v1/macros/{shared_id}"),
        &ivan_token,
        Some(json!({"name": "Захват"})),
    )
    .await
    .problem(403);
    app.req(
        "POST",
        "/api/v1/macros",
        &sup_token,
        Some(json!({"name": "Общий от старшей", "actions": [{"type": "set_priority", "priority": "high"}], "shared": true})),
    )
    .await
    .expect(201);
    let names = |v: &Value| -> Vec<String> {
        v["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|m| m["name"].as_str().unwrap().to_owned())
            .collect()
    };
    let for_ivan = app
        .req("GET", "/api/v1/macros", &ivan_token, None)
        .await
        .expect(200);
    assert_eq!(names(&for_ivan).len(), 3, "shared ones and his own");
    let for_olga = app
        .req("GET", "/api/v1/macros", &olga_token, None)
        .await
        .expect(200);
    assert!(!names(&for_olga).contains(&"Моя заметка про возврат".to_owned()));
    app.req(
        "GET",
        &format!("/api/v1/macros/{mine_id}"),
        &olga_token,
        None,
    )
    .await
    .problem(404);
    // Quick search by any words of the name or text.
    let found = app
        .req("GET", "/api/v1/macros?q=ВОЗВРАТ%201С", &ivan_token, None)
        .await
        .expect(200);
    assert_eq!(names(&found), ["Моя заметка про возврат"]);

    // Applied by Ivan to a Russian customer's ticket: the changes are his, the
    // text is Russian with the names filled in, the use is counted.
    let t = app
        .post(
            "/api/v1/tickets",
            json!({"subject": "Где посылка", "customer": {"name": "Анна Петрова", "email": "anna@alpha.test", "language": "ru"},
                   "message": {"body": "Заказ 5531 не пришёл"}}),
        )
        .await
        .expect(201);
    let (id, number) = (
        t["id"].as_str().unwrap().to_owned(),
        t["number"].as_i64().unwrap(),
    );
    let a = app
        .req(
            "POST",
            &format!("/api/v1/tickets/{number}/apply-macro"),
            &ivan_token,
            Some(json!({"macro_id": shared_id})),
        )
        .await
        .expect(200);
    assert_eq!(
        a["body"],
        format!("Здравствуйте, Анна! Обращение {number}: заказ у курьера. — Иван")
    );
    assert_eq!(a["visibility"], "public");
    assert_eq!(a["ticket"]["status"], "pending");
    assert_eq!(a["ticket"]["tags"], json!(["courier", "delivery"]));
    assert_eq!(
        a["ticket"]["custom_fields"],
        json!({"order_number": "5531"})
    );
    let events = app
        .get(&format!("/api/v1/tickets/{id}/events?limit=200"))
        .await
        .expect(200);
    let by_ivan = events["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["kind"] == "ticket.updated" && e["actor"]["kind"] == "integration")
        .count();
    assert_eq!(by_ivan, 1, "one change, by the agent's token: {events}");
    let m = app
        .get(&format!("/api/v1/macros/{shared_id}"))
        .await
        .expect(200);
    assert_eq!(m["usage_count"], 1);
    assert!(m["last_used_at"].is_string());
    // Most used first.
    assert_eq!(
        names(
            &app.req("GET", "/api/v1/macros", &ivan_token, None)
                .await
                .expect(200)
        )[0],
        "Где заказ?"
    );
    // Light agents may apply a note macro without changes, nothing else.
    let (_, light) = app.user("lena@alpha.test", "light_agent").await;
    let note = app
        .post(
            "/api/v1/macros",
            json!({"name": "Заметка", "body": "Смотрите заказ {{ticket.number}}", "visibility": "internal", "shared": true}),
        )
        .await
        .expect(201);
    let a = app
        .req(
            "POST",
            &format!("/api/v1/tickets/{id}/apply-macro"),
            &light,
            Some(json!({"macro_id": note["id"]})),
        )
        .await
        .expect(200);
    assert_eq!(a["body"], format!("Смотрите заказ {number}"));
    app.req(
        "POST",
        &format!("/api/v1/tickets/{id}/apply-macro"),
        &light,
        Some(json!({"macro_id": shared_id})),
    )
    .await
    .problem(403);
    // A patch gives the text and changes whole; deleting is the owner's.
    let p = app
        .req(
            "PATCH",
            &format!("/api/v1/macros/{mine_id}"),
            &ivan_token,
            Some(json!({"body": "Проверить возврат"})),
        )
        .await
        .expect(200);
    assert_eq!(
        (p["body"].clone(), p["visibility"].clone()),
        (json!("Проверить возврат"), json!("public"))
    );
    app.req(
        "DELETE",
        &format!("/api/v1/macros/{mine_id}"),
        &olga_token,
        None,
    )
    .await
    .problem(404);
    app.req(
        "DELETE",
        &format!("/api/v1/macros/{mine_id}"),
        &ivan_token,
        None,
    )
    .await
    .expect(204);
}

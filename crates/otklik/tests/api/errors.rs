//! Bad input gets a 4xx problem+json answer, never a 500 and never a lost write.

use crate::helpers::TestApp;
use serde_json::json;

crate::on_both!(
    hostile_input_gets_problem_json_never_500,
    html_is_sanitised_and_limits_hold,
    text_is_stored_clean
);

async fn hostile_input_gets_problem_json_never_500(app: TestApp) {
    let t = app.ticket("Target", "t@example.com").await;
    let tid = t["id"].as_str().unwrap();
    let cid = t["customer_id"].as_str().unwrap();
    let posts = [
        "/api/v1/tickets".to_string(),
        format!("/api/v1/tickets/{tid}/messages"),
        "/api/v1/customers".into(),
        format!("/api/v1/customers/{cid}/merge"),
        "/api/v1/users".into(),
        "/api/v1/teams".into(),
        "/api/v1/tokens".into(),
        "/api/v1/custom-fields".into(),
        "/api/v1/auth/login".into(),
    ];
    let patches = [
        format!("/api/v1/tickets/{tid}"),
        format!("/api/v1/customers/{cid}"),
        "/api/v1/workspace".into(),
    ];
    let cases: Vec<(&str, Vec<u8>, &str, u16)> = vec![
        ("malformed JSON", b"{\"subject\": ".to_vec(), "application/json", 400),
        ("invalid UTF-8", b"{\"subject\": \"\xff\xfe\"}".to_vec(), "application/json", 400),
        ("trailing garbage", b"{} {}".to_vec(), "application/json", 400),
        ("wrong type", b"{\"subject\": 5, \"name\": 5, \"status\": 5, \"email\": 5, \"source_id\": 5, \"key\": 5, \"workspace\": 5, \"body\": 5, \"display_name\": 5}".to_vec(), "application/json", 422),
        ("array instead of object", b"[1, 2]".to_vec(), "application/json", 422),
        ("not JSON content type", b"subject=x".to_vec(), "application/x-www-form-urlencoded", 415),
    ];
    for path in posts
        .iter()
        .map(|p| ("POST", p))
        .chain(patches.iter().map(|p| ("PATCH", p)))
    {
        for (what, body, ct, want) in &cases {
            let r = app.raw(path.0, path.1, &app.token, ct, body.clone()).await;
            assert_eq!(
                r.status.as_u16(),
                *want,
                "{what} to {} {}: {}",
                path.0,
                path.1,
                r.body
            );
            r.problem(*want);
        }
        // Oversize (the test server allows 256 KiB). The server answers before
        // reading the body and drops the connection, so this request asks for a
        // connection of its own: a pooled one could be reused after the drop.
        let big = format!("{{\"subject\": \"{}\"}}", "я".repeat(200 * 1024));
        let m = reqwest::Method::from_bytes(path.0.as_bytes()).unwrap();
        let r = app
            .client
            .request(m, app.url(path.1))
            .bearer_auth(&app.token)
            .header("content-type", "application/json")
            .header("connection", "close")
            .body(big.into_bytes())
            .send()
            .await
            .expect("oversize request");
        crate::helpers::res(r).await.problem(413);
    }
    // Unknown enum values and unknown fields.
    app.patch(
        &format!("/api/v1/tickets/{tid}"),
        json!({"status": "archived"}),
    )
    .await
    .problem(422);
    app.patch(
        &format!("/api/v1/tickets/{tid}"),
        json!({"priority": "asap"}),
    )
    .await
    .problem(422);
    app.patch(&format!("/api/v1/tickets/{tid}"), json!({"colour": "red"}))
        .await
        .problem(422);
    app.post("/api/v1/tickets", json!({"subject": "x", "channel": "pigeon", "customer": {"email": "a@b.co"}, "message": {"body": "x"}})).await.problem(422);
    app.post(
        "/api/v1/users",
        json!({"email": "x@alpha.test", "role": "god"}),
    )
    .await
    .problem(422);
    app.patch(&format!("/api/v1/tickets/{tid}"), json!({"tier": 9}))
        .await
        .problem(422);
    app.patch(
        &format!("/api/v1/tickets/{tid}"),
        json!({"assignee_id": "not-a-uuid"}),
    )
    .await
    .problem(422);
    // Unknown paths, methods and ids.
    app.get("/api/v1/nothing-here").await.problem(404);
    app.req("DELETE", "/api/v1/tickets", &app.token, None)
        .await
        .problem(405);
    app.get("/api/v1/tickets/not-a-ticket").await.problem(404);
    app.get("/api/v1/customers/123").await.problem(404);
    app.get("/api/v1/tickets/99999999999999999999")
        .await
        .problem(404);
    // Nothing above changed the target.
    let after = app.get(&format!("/api/v1/tickets/{tid}")).await.expect(200);
    assert_eq!(after["status"], "new");
    assert_eq!(after["subject"], "Target");
    let metrics = app.metrics().await;
    // The counters are process-wide and no test provokes a server error: a 5xx
    // series appears only once one is counted.
    assert!(
        !metrics.contains("otklik_http_requests_total{class=\"5xx\"}"),
        "{metrics}"
    );
    assert!(
        metrics.contains("otklik_http_requests_total{class=\"4xx\"}"),
        "{metrics}"
    );
}

async fn html_is_sanitised_and_limits_hold(app: TestApp) {
    let t = app
        .post(
            "/api/v1/tickets",
            json!({"subject": "HTML", "customer": {"email": "h@example.com"}, "message": {"html": "<p onclick=\"x()\">Hi <b>there</b><script>alert(1)</script><img src=x onerror=alert(2)><a href=\"javascript:alert(3)\">link</a></p>"}}),
        )
        .await
        .expect(201);
    let html = t["message"]["html"].as_str().unwrap();
    for bad in ["<script", "onerror", "onclick", "javascript:"] {
        assert!(!html.contains(bad), "{bad} survived: {html}");
    }
    assert!(html.contains("<b>there</b>"), "{html}");
    assert_eq!(
        t["message"]["body"], "Hi therelink",
        "text derived from HTML"
    );
    // Message size limit (64 KiB in tests) and empty messages.
    let path = format!("/api/v1/tickets/{}/messages", t["id"].as_str().unwrap());
    app.post(&path, json!({"body": "x".repeat(65 * 1024)}))
        .await
        .problem(413);
    app.post(&path, json!({"body": "   "})).await.problem(422);
    app.post(&path, json!({"body": "\u{97} ", "html": " \u{2003}"}))
        .await
        .problem(422);
    // Text that cleaning empties gives way to the HTML's text; HTML with no
    // visible text is still a message.
    let m = app
        .post(&path, json!({"body": "\u{97} ", "html": "<i>Hi</i>"}))
        .await
        .expect(201);
    assert_eq!(m["body"], "Hi", "{m}");
    let m = app.post(&path, json!({"html": "<br>"})).await.expect(201);
    assert_eq!(m["body"], "", "{m}");
    app.post("/api/v1/tickets", json!({"subject": "x".repeat(501), "customer": {"email": "h@example.com"}, "message": {"body": "x"}})).await.problem(422);
    app.post("/api/v1/tickets", json!({"subject": "x", "tags": ["a b"], "customer": {"email": "h@example.com"}, "message": {"body": "x"}})).await.problem(422);
}

/// Control characters, bidirectional overrides, blank names, overlong file
/// names and near-miss media types.
async fn text_is_stored_clean(app: TestApp) {
    let ticket = |subject: &str, tags: serde_json::Value| {
        app.post(
            "/api/v1/tickets",
            json!({"subject": subject, "customer": {"email": "c@example.com"},
                   "message": {"body": "Где\u{0}мой заказ\u{7}?"}, "tags": tags}),
        )
    };
    ticket("\u{1}\u{2}\t", json!([])).await.problem(422);
    ticket("ok", json!(["a\u{1}b"])).await.problem(422);
    let t = ticket("Заказ\u{0}1042", json!([])).await.expect(201);
    assert_eq!(t["subject"], "Заказ 1042");
    assert_eq!(t["message"]["body"], "Гдемой заказ?");
    let c = t["customer_id"].as_str().unwrap();
    // A customer without a given name is called by the address they wrote from.
    assert_eq!(
        app.get(&format!("/api/v1/customers/{c}")).await.expect(200)["name"],
        "c@example.com"
    );
    app.patch(&format!("/api/v1/customers/{c}"), json!({"name": "   "}))
        .await
        .problem(422);
    // A NUL in a search no longer cuts it short.
    let found = app.search("/api/v1/tickets?q=1042%00", 1).await;
    assert_eq!(found["items"].as_array().map(Vec::len), Some(1), "{found}");
    // File names: no direction overrides, long ones keep their extension.
    let upload = |name: String| {
        let form = reqwest::multipart::Form::new().part(
            "file",
            reqwest::multipart::Part::bytes(b"%PDF".to_vec()).file_name(name),
        );
        app.client
            .post(app.url("/api/v1/attachments"))
            .bearer_auth(&app.token)
            .multipart(form)
            .send()
    };
    let a: serde_json::Value = upload("invoice\u{202E}fdp.exe".into())
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(a["filename"], "invoicefdp.exe");
    let a: serde_json::Value = upload(format!("{}.pdf", "а".repeat(1000)))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let name = a["filename"].as_str().unwrap();
    assert!(
        name.ends_with(".pdf") && name.chars().count() == 255,
        "{name}"
    );
    // A key twice in one object is refused, at any depth.
    let tid = t["id"].as_str().unwrap();
    for body in [
        r#"{"custom_fields": {"size": 1, "size": 2}}"#,
        r#"{"subject": "a", "subject": "b"}"#,
    ] {
        let r = app
            .client
            .patch(app.url(&format!("/api/v1/tickets/{tid}")))
            .bearer_auth(&app.token)
            .header("content-type", "application/json")
            .body(body)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 422, "{body}");
    }
    // Page sizes outside 1–200 are refused, not clamped.
    for bad in ["0", "-5", "201", "1000000"] {
        app.get(&format!("/api/v1/tickets?limit={bad}"))
            .await
            .problem(422);
        app.get(&format!("/api/v1/customers?limit={bad}"))
            .await
            .problem(422);
    }
    app.get("/api/v1/tickets?limit=200").await.expect(200);
    // `application/jsonfoo` is not JSON.
    let r = app
        .client
        .post(app.url("/api/v1/tickets"))
        .bearer_auth(&app.token)
        .header("content-type", "application/jsonfoo")
        .body(r#"{"subject":"x"}"#)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 415);
}

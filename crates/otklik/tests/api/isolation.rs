//! Tenant isolation: a token of workspace B gets 404 for every object of A, on every
//! endpoint, and B's lists never show A's data.

use crate::helpers::TestApp;
use serde_json::json;

crate::on_both!(workspace_b_never_sees_or_changes_workspace_a);

async fn workspace_b_never_sees_or_changes_workspace_a(app: TestApp) {
    let t = app.ticket("Secret of A", "a-customer@example.com").await;
    let (tid, num, cid, mid) = (
        t["id"].as_str().unwrap().to_owned(),
        t["number"].as_i64().unwrap(),
        t["customer_id"].as_str().unwrap().to_owned(),
        t["message"]["id"].as_str().unwrap().to_owned(),
    );
    let team = app
        .post("/api/v1/teams", json!({"name": "Returns"}))
        .await
        .expect(201)["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let (uid, _) = app.user("agent@alpha.test", "agent").await;
    let tokens = app.get("/api/v1/tokens").await.expect(200);
    let token_id = tokens["items"][0]["id"].as_str().unwrap().to_owned();
    let form = reqwest::multipart::Form::new().part(
        "file",
        reqwest::multipart::Part::bytes(b"secret".to_vec()).file_name("a.txt"),
    );
    let att: serde_json::Value = app
        .client
        .post(app.url("/api/v1/attachments"))
        .bearer_auth(&app.token)
        .multipart(form)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let aid = att["id"].as_str().unwrap().to_owned();
    let field_count = app.get("/api/v1/custom-fields").await.expect(200)["items"]
        .as_array()
        .unwrap()
        .len();
    let _ = field_count;

    let b = app.workspace("beta").await;
    // B has a customer of its own, to try merging across workspaces both ways.
    let b_cust = app
        .req(
            "POST",
            "/api/v1/customers",
            &b,
            Some(json!({"name": "B", "email": "b@example.com"})),
        )
        .await
        .expect(201)["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let b_ticket = app
        .req(
            "POST",
            "/api/v1/tickets",
            &b,
            Some(json!({"subject": "B", "customer_id": b_cust, "message": {"body": "b"}})),
        )
        .await
        .expect(201);
    let calls: Vec<(&str, String, Option<serde_json::Value>)> = vec![
        ("GET", format!("/api/v1/tickets/{tid}"), None),
        (
            "GET",
            format!("/api/v1/tickets/{num}").replace(&format!("/{num}"), &format!("/{}", num + 1)),
            None,
        ),
        (
            "PATCH",
            format!("/api/v1/tickets/{tid}"),
            Some(json!({"status": "open"})),
        ),
        ("GET", format!("/api/v1/tickets/{tid}/messages"), None),
        (
            "POST",
            format!("/api/v1/tickets/{tid}/messages"),
            Some(json!({"body": "intrusion"})),
        ),
        (
            "POST",
            format!("/api/v1/tickets/{tid}/messages"),
            Some(json!({"body": "intrusion", "visibility": "internal"})),
        ),
        ("GET", format!("/api/v1/tickets/{tid}/events"), None),
        ("GET", format!("/api/v1/customers/{cid}"), None),
        (
            "PATCH",
            format!("/api/v1/customers/{cid}"),
            Some(json!({"name": "pwned"})),
        ),
        ("GET", format!("/api/v1/customers/{cid}/timeline"), None),
        (
            "POST",
            format!("/api/v1/customers/{cid}/merge"),
            Some(json!({"source_id": b_cust})),
        ),
        (
            "POST",
            format!("/api/v1/customers/{b_cust}/merge"),
            Some(json!({"source_id": cid})),
        ),
        ("GET", format!("/api/v1/users/{uid}"), None),
        (
            "PATCH",
            format!("/api/v1/users/{uid}"),
            Some(json!({"name": "pwned"})),
        ),
        ("GET", format!("/api/v1/teams/{team}"), None),
        (
            "PATCH",
            format!("/api/v1/teams/{team}"),
            Some(json!({"name": "pwned"})),
        ),
        ("GET", format!("/api/v1/attachments/{aid}"), None),
        ("DELETE", format!("/api/v1/tokens/{token_id}"), None),
    ];
    for (method, path, body) in calls {
        let r = app.req(method, &path, &b, body).await;
        assert_eq!(
            r.status.as_u16(),
            404,
            "{method} {path} with B's token: {}",
            r.body
        );
        assert!(r.content_type.starts_with("application/problem+json"));
    }
    // B's ticket number 1 is its own, not A's number 1.
    assert_eq!(
        app.req("GET", &format!("/api/v1/tickets/{num}"), &b, None)
            .await
            .expect(200)["id"],
        b_ticket["id"]
    );
    // B cannot attach A's upload, assign A's user or team, or file under A's customer.
    let bt = b_ticket["id"].as_str().unwrap();
    app.req(
        "POST",
        &format!("/api/v1/tickets/{bt}/messages"),
        &b,
        Some(json!({"body": "x", "attachments": [aid]})),
    )
    .await
    .problem(422);
    app.req(
        "PATCH",
        &format!("/api/v1/tickets/{bt}"),
        &b,
        Some(json!({"assignee_id": uid})),
    )
    .await
    .problem(422);
    app.req(
        "PATCH",
        &format!("/api/v1/tickets/{bt}"),
        &b,
        Some(json!({"team_id": team})),
    )
    .await
    .problem(422);
    app.req(
        "POST",
        "/api/v1/tickets",
        &b,
        Some(json!({"subject": "x", "customer_id": cid, "message": {"body": "x"}})),
    )
    .await
    .problem(422);
    app.req(
        "POST",
        "/api/v1/tokens",
        &b,
        Some(json!({"name": "x", "user_id": uid})),
    )
    .await
    .problem(404);
    // Lists and the event stream show only B's own data.
    let list = |path: &'static str| app.req("GET", path, &b, None);
    assert_eq!(
        list("/api/v1/tickets").await.expect(200)["items"]
            .as_array()
            .unwrap()
            .len(),
        1
    );
    assert_eq!(
        list("/api/v1/customers").await.expect(200)["items"]
            .as_array()
            .unwrap()
            .len(),
        1
    );
    assert_eq!(
        list("/api/v1/teams").await.expect(200)["items"]
            .as_array()
            .unwrap()
            .len(),
        0
    );
    assert_eq!(
        list("/api/v1/users").await.expect(200)["items"]
            .as_array()
            .unwrap()
            .len(),
        1
    );
    assert_eq!(
        list("/api/v1/tokens").await.expect(200)["items"]
            .as_array()
            .unwrap()
            .len(),
        1
    );
    let events = list("/api/v1/events?limit=200").await.expect(200);
    let text = events.to_string();
    assert!(
        !text.contains(&tid) && !text.contains(&cid) && !text.contains(&mid),
        "B's event stream leaks A's ids"
    );
    // A's data is untouched.
    let a = app.get(&format!("/api/v1/tickets/{tid}")).await.expect(200);
    assert_eq!(a["status"], "new");
    assert_eq!(
        app.get(&format!("/api/v1/tickets/{tid}/messages"))
            .await
            .expect(200)["items"]
            .as_array()
            .unwrap()
            .len(),
        1
    );
    assert_eq!(
        app.get(&format!("/api/v1/customers/{cid}"))
            .await
            .expect(200)["name"],
        "Анна"
    );
}

//! Sessions, CSRF, tokens, roles and login throttling.

use crate::helpers::TestApp;
use serde_json::json;

crate::on_both!(
    sessions_need_csrf_for_changes,
    roles_limit_what_users_do,
    tokens_are_revocable_and_logins_throttled,
    openapi_health_and_metrics
);

async fn login(
    app: &TestApp,
    email: &str,
    password: &str,
) -> (reqwest::StatusCode, Option<String>, serde_json::Value) {
    let r = app
        .client
        .post(app.url("/api/v1/auth/login"))
        .json(&json!({"workspace": "alpha", "email": email, "password": password}))
        .send()
        .await
        .unwrap();
    let status = r.status();
    let cookie = r
        .headers()
        .get("set-cookie")
        .map(|v| v.to_str().unwrap().to_owned());
    (status, cookie, r.json().await.unwrap_or_default())
}

async fn sessions_need_csrf_for_changes(app: TestApp) {
    let (status, cookie, body) = login(&app, "OWNER@alpha.test", "alpha-password").await;
    assert_eq!(status, 200, "{body}");
    let cookie = cookie.unwrap();
    assert!(
        cookie.contains("HttpOnly") && cookie.contains("SameSite=Lax"),
        "{cookie}"
    );
    let pair = cookie.split(';').next().unwrap().to_owned();
    let csrf = body["csrf_token"].as_str().unwrap().to_owned();
    let me = app
        .client
        .get(app.url("/api/v1/me"))
        .header("cookie", &pair)
        .send()
        .await
        .unwrap();
    assert_eq!(me.status(), 200);
    assert_eq!(
        me.json::<serde_json::Value>().await.unwrap()["csrf_token"],
        csrf.as_str()
    );
    let body = json!({"name": "Escalations"});
    let no = app
        .client
        .post(app.url("/api/v1/teams"))
        .header("cookie", &pair)
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(no.status(), 403);
    let wrong = app
        .client
        .post(app.url("/api/v1/teams"))
        .header("cookie", &pair)
        .header("x-csrf-token", "nope")
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(wrong.status(), 403);
    let ok = app
        .client
        .post(app.url("/api/v1/teams"))
        .header("cookie", &pair)
        .header("x-csrf-token", &csrf)
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(ok.status(), 201);
    // Password change keeps this session, ends others, and the old password stops working.
    let (_, other, _) = login(&app, "owner@alpha.test", "alpha-password").await;
    let other = other.unwrap().split(';').next().unwrap().to_owned();
    let ch = app
        .client
        .post(app.url("/api/v1/auth/password"))
        .header("cookie", &pair)
        .header("x-csrf-token", &csrf)
        .json(&json!({"current_password": "alpha-password", "new_password": "new-password-1"}))
        .send()
        .await
        .unwrap();
    assert_eq!(ch.status(), 204);
    assert_eq!(
        app.client
            .get(app.url("/api/v1/me"))
            .header("cookie", &other)
            .send()
            .await
            .unwrap()
            .status(),
        401
    );
    assert_eq!(
        login(&app, "owner@alpha.test", "alpha-password").await.0,
        401
    );
    assert_eq!(
        login(&app, "owner@alpha.test", "new-password-1").await.0,
        200
    );
    let out = app
        .client
        .post(app.url("/api/v1/auth/logout"))
        .header("cookie", &pair)
        .header("x-csrf-token", &csrf)
        .send()
        .await
        .unwrap();
    assert_eq!(out.status(), 204);
    assert_eq!(
        app.client
            .get(app.url("/api/v1/me"))
            .header("cookie", &pair)
            .send()
            .await
            .unwrap()
            .status(),
        401
    );
}

async fn roles_limit_what_users_do(app: TestApp) {
    let t = app.ticket("Roles", "r@example.com").await;
    let path = format!("/api/v1/tickets/{}", t["id"].as_str().unwrap());
    let (_, light) = app.user("light@alpha.test", "light_agent").await;
    let (_, agent) = app.user("agent@alpha.test", "agent").await;
    let (admin_id, admin) = app.user("admin@alpha.test", "admin").await;
    // A light agent reads and writes internal notes only.
    app.req("GET", &path, &light, None).await.expect(200);
    app.req(
        "POST",
        &format!("{path}/messages"),
        &light,
        Some(json!({"body": "note", "visibility": "internal"})),
    )
    .await
    .expect(201);
    app.req(
        "POST",
        &format!("{path}/messages"),
        &light,
        Some(json!({"body": "public"})),
    )
    .await
    .problem(403);
    app.req("PATCH", &path, &light, Some(json!({"status": "open"})))
        .await
        .problem(403);
    app.req(
        "POST",
        "/api/v1/tickets",
        &light,
        Some(json!({"subject": "x", "customer": {"email": "a@b.co"}, "message": {"body": "x"}})),
    )
    .await
    .problem(403);
    // Agents work tickets but do not administer.
    app.req("PATCH", &path, &agent, Some(json!({"status": "open"})))
        .await
        .expect(200);
    app.req("POST", "/api/v1/teams", &agent, Some(json!({"name": "T"})))
        .await
        .problem(403);
    app.req(
        "POST",
        "/api/v1/users",
        &agent,
        Some(json!({"email": "x@alpha.test"})),
    )
    .await
    .problem(403);
    // Admins cannot make owners or change the owner.
    app.req(
        "POST",
        "/api/v1/users",
        &admin,
        Some(json!({"email": "o2@alpha.test", "role": "owner"})),
    )
    .await
    .problem(403);
    let owner_id = app.get("/api/v1/me").await.expect(200)["user"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    app.req(
        "PATCH",
        &format!("/api/v1/users/{owner_id}"),
        &admin,
        Some(json!({"name": "x"})),
    )
    .await
    .problem(403);
    app.req(
        "PATCH",
        &format!("/api/v1/users/{admin_id}"),
        &admin,
        Some(json!({"active": false})),
    )
    .await
    .problem(422);
    // Duplicate users conflict.
    app.post("/api/v1/users", json!({"email": "AGENT@alpha.test"}))
        .await
        .problem(409);
}

async fn tokens_are_revocable_and_logins_throttled(app: TestApp) {
    let created = app
        .post("/api/v1/tokens", json!({"name": "integration"}))
        .await
        .expect(201);
    let secret = created["secret"].as_str().unwrap().to_owned();
    app.req("GET", "/api/v1/me", &secret, None)
        .await
        .expect(200);
    // Use is recorded (in the background, so poll briefly).
    let tid = created["id"].as_str().unwrap().to_owned();
    let mut used = false;
    for _ in 0..100 {
        let list = app.get("/api/v1/tokens").await.expect(200);
        let items = list["items"].as_array().unwrap().clone();
        if items
            .iter()
            .any(|t| t["id"] == tid.as_str() && t["last_used_at"].is_string())
        {
            used = true;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    assert!(used, "last_used_at was never recorded");
    app.req(
        "DELETE",
        &format!("/api/v1/tokens/{}", created["id"].as_str().unwrap()),
        &app.token,
        None,
    )
    .await
    .expect(204);
    app.req("GET", "/api/v1/me", &secret, None)
        .await
        .problem(401);
    app.req("GET", "/api/v1/me", "otk_made_up", None)
        .await
        .problem(401);
    let r = app
        .client
        .get(app.url("/api/v1/me"))
        .header("authorization", "Basic abc")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    // Ten wrong passwords, then even the right one is refused for a while.
    for _ in 0..10 {
        assert_eq!(login(&app, "owner@alpha.test", "wrong").await.0, 401);
    }
    let r = app.client.post(app.url("/api/v1/auth/login")).json(&json!({"workspace": "alpha", "email": "owner@alpha.test", "password": "alpha-password"})).send().await.unwrap();
    assert_eq!(r.status(), 429);
    assert!(r.headers().get("retry-after").is_some());
    assert_eq!(
        login(&app, "nobody@alpha.test", "x").await.0,
        401,
        "unknown users look like wrong passwords"
    );
}

async fn openapi_health_and_metrics(app: TestApp) {
    let doc: serde_json::Value = app
        .client
        .get(app.url("/api/v1/openapi.json"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    for p in [
        "/api/v1/tickets",
        "/api/v1/tickets/{id}",
        "/api/v1/tickets/{id}/messages",
        "/api/v1/customers/{id}/merge",
        "/api/v1/events",
        "/api/v1/me",
        "/api/v1/attachments",
    ] {
        assert!(
            doc["paths"].get(p).is_some(),
            "{p} missing from the OpenAPI document"
        );
    }
    assert!(
        doc["components"]["schemas"]["TicketOut"]["properties"]["status"]["enum"]
            .as_array()
            .is_some_and(|e| e.len() == 6)
    );
    assert_eq!(
        app.client
            .get(app.url("/healthz"))
            .send()
            .await
            .unwrap()
            .status(),
        200
    );
    assert_eq!(
        app.client
            .get(app.url("/readyz"))
            .send()
            .await
            .unwrap()
            .status(),
        200
    );
    let r = app.client.get(app.url("/healthz")).send().await.unwrap();
    assert!(r.headers().get("x-request-id").is_some());
    let m = app.metrics().await;
    assert!(m.contains("# TYPE otklik_http_request_duration_seconds histogram"));
}

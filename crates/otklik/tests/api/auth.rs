//! Sessions, CSRF, tokens, roles and login throttling.

use crate::helpers::TestApp;
use serde_json::json;

crate::on_both!(
    sessions_need_csrf_for_changes,
    roles_limit_what_users_do,
    tokens_are_revocable_and_logins_throttled,
    openapi_health_and_metrics,
    owners_stay_and_deactivation_is_final
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
    .problem(409);
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

async fn login_as(
    app: &TestApp,
    workspace: &str,
    email: &str,
    password: &str,
    client: Option<&str>,
) -> reqwest::Response {
    let mut r = app
        .client
        .post(app.url("/api/v1/auth/login"))
        .json(&json!({"workspace": workspace, "email": email, "password": password}));
    if let Some(ip) = client {
        r = r.header("x-forwarded-for", format!("{ip}, 127.0.0.1"));
    }
    r.send().await.unwrap()
}

/// The attacks the throttle once let through: spacing and case in the workspace
/// name, many attempts at once, a shared proxy address, the password-change form.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_login_throttle_holds() {
    let app = crate::helpers::spawn_with(crate::helpers::Backend::Sqlite, |c| {
        c.trusted_proxies = vec!["127.0.0.1".into()];
    })
    .await
    .expect("app");
    let (anna, _) = app.user("anna@alpha.test", "agent").await;
    // Anna has signed in from the office before.
    let office = "203.0.113.7";
    assert_eq!(
        login_as(
            &app,
            "alpha",
            "anna@alpha.test",
            "user-password",
            Some(office)
        )
        .await
        .status(),
        200
    );

    // 25 wrong passwords at once, the workspace spelled three ways: only 10 are
    // checked, the others refused before any hashing.
    let spellings = ["alpha", "alpha  ", " ALPHA"];
    let tries = (0..25).map(|i| {
        let app = &app;
        async move {
            let ip = format!("198.51.100.{i}");
            login_as(
                app,
                spellings[i % 3],
                "owner@alpha.test",
                "wrong",
                Some(&ip),
            )
            .await
            .status()
            .as_u16()
        }
    });
    let mut codes = futures::future::join_all(tries).await;
    codes.sort_unstable();
    assert_eq!(codes.iter().filter(|c| **c == 401).count(), 10, "{codes:?}");
    assert_eq!(codes.iter().filter(|c| **c == 429).count(), 15, "{codes:?}");
    let r = login_as(&app, "alpha", "owner@alpha.test", "alpha-password", None).await;
    assert_eq!(r.status(), 429, "the right password waits too");
    assert!(r.headers().contains_key("retry-after"));

    // Someone in the office guesses 30 other accounts: the office address is
    // stopped for new accounts, but Anna, known from there, still signs in.
    let guesses = (0..30).map(|i| {
        let app = &app;
        async move {
            login_as(
                app,
                "alpha",
                &format!("x{i}@alpha.test"),
                "guess",
                Some(office),
            )
            .await
            .status()
            .as_u16()
        }
    });
    let codes = futures::future::join_all(guesses).await;
    assert!(codes.iter().all(|c| *c == 401), "{codes:?}");
    let r = login_as(&app, "alpha", "someone@alpha.test", "guess", Some(office)).await;
    assert_eq!(r.status(), 429);
    assert_eq!(
        login_as(
            &app,
            "alpha",
            "anna@alpha.test",
            "user-password",
            Some(office)
        )
        .await
        .status(),
        200
    );

    // Changing a password: five wrong current passwords, then a pause.
    let anna_token = app
        .post("/api/v1/tokens", json!({"name": "anna", "user_id": anna}))
        .await
        .expect(201)["secret"]
        .as_str()
        .unwrap()
        .to_owned();
    let change = |current: &'static str| {
        let (app, token) = (&app, anna_token.clone());
        async move {
            app.req(
                "POST",
                "/api/v1/auth/password",
                &token,
                Some(json!({"current_password": current, "new_password": "new-password-1"})),
            )
            .await
        }
    };
    for _ in 0..5 {
        let e = change("wrong").await.problem(403);
        assert!(e["errors"]["current_password"].is_string(), "{e}");
    }
    let r = change("user-password").await;
    assert_eq!(r.status.as_u16(), 429);
    // One policy everywhere: a new user's password has 8 characters or more.
    app.post(
        "/api/v1/users",
        json!({"email": "short@alpha.test", "role": "agent", "password": "1234567"}),
    )
    .await
    .problem(422);
}

/// A workspace always keeps an owner, and deactivation ends sessions for good.
async fn owners_stay_and_deactivation_is_final(app: TestApp) {
    let me = app.get("/api/v1/me").await.expect(200);
    let owner = me["user"]["id"].as_str().unwrap().to_owned();
    for change in [json!({"role": "admin"}), json!({"role": "light_agent"})] {
        let p = app
            .patch(&format!("/api/v1/users/{owner}"), change)
            .await
            .problem(409);
        assert!(
            p["detail"]
                .as_str()
                .unwrap_or_default()
                .contains("last active owner"),
            "{p}"
        );
    }
    // Hand over: another owner first, then stepping down works.
    let (second, second_token) = app.user("second@alpha.test", "owner").await;
    app.patch(&format!("/api/v1/users/{owner}"), json!({"role": "admin"}))
        .await
        .expect(200);
    // Now the second owner is the last one.
    app.req(
        "PATCH",
        &format!("/api/v1/users/{second}"),
        &second_token,
        Some(json!({"role": "agent"})),
    )
    .await
    .problem(409);

    let (status, cookie, _) = login(&app, "second@alpha.test", "user-password").await;
    assert_eq!(status, 200);
    let session = cookie.unwrap().split(';').next().unwrap().to_owned();
    let me_with = |cookie: String| {
        let app = &app;
        async move {
            app.client
                .get(app.url("/api/v1/me"))
                .header("cookie", cookie)
                .send()
                .await
                .unwrap()
                .status()
                .as_u16()
        }
    };
    assert_eq!(me_with(session.clone()).await, 200);
    // The first (now admin) cannot deactivate the last owner either…
    app.patch(&format!("/api/v1/users/{second}"), json!({"active": false}))
        .await
        .problem(403);
    // …but once ownership is back with the first, the second can go, for good.
    app.req(
        "PATCH",
        &format!("/api/v1/users/{owner}"),
        &second_token,
        Some(json!({"role": "owner"})),
    )
    .await
    .expect(200);
    app.patch(&format!("/api/v1/users/{second}"), json!({"active": false}))
        .await
        .expect(200);
    app.patch(&format!("/api/v1/users/{second}"), json!({"active": true}))
        .await
        .expect(200);
    assert_eq!(me_with(session).await, 401, "old sessions stay ended");
}

/// A client that never finishes its request headers loses the connection;
/// everyone else is served meanwhile.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_half_sent_request_cannot_hold_a_connection() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let app = crate::helpers::spawn_with(crate::helpers::Backend::Sqlite, |c| {
        c.limits.header_timeout_secs = 1;
    })
    .await
    .expect("app");
    let addr = app.base.trim_start_matches("http://").to_owned();
    let mut slow = tokio::net::TcpStream::connect(&addr).await.unwrap();
    slow.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n")
        .await
        .unwrap();
    let started = std::time::Instant::now();
    app.get("/api/v1/me").await.expect(200);
    let mut buf = Vec::new();
    let read = tokio::time::timeout(
        std::time::Duration::from_secs(10),
        slow.read_to_end(&mut buf),
    )
    .await;
    assert!(read.is_ok(), "the connection was still open after 10 s");
    let waited = started.elapsed();
    assert!(
        waited >= std::time::Duration::from_millis(900),
        "closed too early: {waited:?}"
    );
    assert!(
        !String::from_utf8_lossy(&buf).contains("200 OK"),
        "a request without its end was answered"
    );
}

/// `/metrics` can ask for a token and answer only some addresses.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_can_be_restricted() {
    let app = crate::helpers::spawn_with(crate::helpers::Backend::Sqlite, |c| {
        c.metrics_token = Some("metrics-token-1".into());
        c.metrics_allow = vec!["127.0.0.0/8".into()];
    })
    .await
    .expect("app");
    let get = |token: Option<&'static str>| {
        let mut r = app.client.get(app.url("/metrics"));
        if let Some(t) = token {
            r = r.bearer_auth(t);
        }
        r.send()
    };
    assert_eq!(get(None).await.unwrap().status(), 401);
    assert_eq!(get(Some("wrong")).await.unwrap().status(), 401);
    let ok = get(Some("metrics-token-1")).await.unwrap();
    assert_eq!(ok.status(), 200);
    assert!(
        ok.text()
            .await
            .unwrap()
            .contains("otklik_http_requests_total")
    );

    let elsewhere = crate::helpers::spawn_with(crate::helpers::Backend::Sqlite, |c| {
        c.metrics_allow = vec!["10.0.0.0/8".into()];
    })
    .await
    .expect("app");
    let r = elsewhere
        .client
        .get(elsewhere.url("/metrics"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);
}

/// The OpenAPI document describes what the server does: query parameters as
/// query, path parameters only where the path has them, every error as a
/// problem+json body, and every operation with a success response.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_openapi_document_is_consistent() {
    let app = crate::helpers::spawn(crate::helpers::Backend::Sqlite)
        .await
        .expect("app");
    let doc = app.get("/api/v1/openapi.json").await.expect(200);
    let mut problems = Vec::new();
    let mut ops = 0;
    for (path, item) in doc["paths"].as_object().expect("paths") {
        for (method, op) in item.as_object().expect("item") {
            ops += 1;
            for p in op["parameters"].as_array().into_iter().flatten() {
                let name = p["name"].as_str().unwrap_or_default();
                let in_path = path.contains(&format!("{{{name}}}"));
                if (p["in"] == "path") != in_path {
                    problems.push(format!(
                        "{method} {path}: parameter {name} is in {}",
                        p["in"]
                    ));
                }
            }
            let responses = op["responses"].as_object().expect("responses");
            if !responses.keys().any(|c| c.starts_with('2')) {
                problems.push(format!("{method} {path}: no success response"));
            }
            for (code, r) in responses {
                if !(code.starts_with('4') || code.starts_with('5')) {
                    continue;
                }
                for ct in r["content"]
                    .as_object()
                    .into_iter()
                    .flatten()
                    .map(|(k, _)| k)
                {
                    if ct != "application/problem+json" {
                        problems.push(format!("{method} {path} {code}: {ct}"));
                    }
                }
            }
        }
    }
    assert!(ops >= 40, "only {ops} operations");
    assert!(problems.is_empty(), "{problems:#?}");
}

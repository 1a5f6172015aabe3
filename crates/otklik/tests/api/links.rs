//! Tracked links: made only for registered targets, followed by a redirect,
//! a client's repeats counted once, clicks counted per customer (the one the
//! link was made for, or an identified chat visitor) only while the
//! workspace tracks, and those clicks — with identified visitors' help-center
//! reading and searches — on the customer's journey.

use crate::chat::{SHOP, channel};
use crate::helpers::TestApp;
use serde_json::{Value, json};

crate::on_both!(links_lead_only_to_registered_targets_and_count_each_click_once);

/// Two server processes on one PostgreSQL: one browser following a link on
/// both (twice each, at once) is one click, wherever its clicks were held and
/// written; another browser is another.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_nodes_count_a_browser_once() {
    let Some(cluster) = crate::helpers::PgCluster::start(
        "links::two_nodes_count_a_browser_once",
        std::sync::Arc::new(store::SystemClock),
    )
    .await
    else {
        return;
    };
    let engine = cluster.engine.clone();
    engine
        .create_workspace("pair", "owner@pair.test", "pair-password")
        .await
        .unwrap();
    let p = engine.cli_principal("pair").await.unwrap();
    let mut s = engine.journey_settings(&p).await.unwrap();
    s.link_targets = vec!["https://shop.example/".into()];
    engine.save_journey_settings(&p, s).await.unwrap();
    let link = engine
        .create_link(
            &p,
            engine::tracking::NewLink {
                target: "https://shop.example/sale".into(),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    let (mut a, base_a) = cluster.serving_node(1, 0).await;
    let (mut b, base_b) = cluster.serving_node(2, 0).await;
    let phone = browser("Mozilla/5.0 (Linux; Android 14) Mobile");
    let follows = [&base_a, &base_a, &base_b, &base_b].map(|base| {
        let (phone, url) = (phone.clone(), format!("{base}/l/{}", link.code));
        async move {
            phone
                .get(url)
                .send()
                .await
                .expect("follow")
                .status()
                .as_u16()
        }
    });
    assert_eq!(futures::future::join_all(follows).await, [302; 4]);
    let desktop = browser("Mozilla/5.0 (Windows NT 10.0) Desktop");
    let r = desktop
        .get(format!("{base_b}/l/{}", link.code))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 302);
    // Each node writes what it holds within a couple of seconds.
    crate::helpers::until("the nodes write their clicks", 30, async || {
        let (l, _) = engine.link(&p, link.id).await.ok()?;
        (l.clicks >= 2).then_some(())
    })
    .await;
    // Two more flushes on each node add nothing.
    tokio::time::sleep(std::time::Duration::from_secs(5)).await;
    let (l, by) = engine.link(&p, link.id).await.unwrap();
    assert_eq!(l.clicks, 2, "one per browser, across the nodes");
    assert_eq!(by, vec![(None, 2)], "no one is tracked: counted for no one");
    let _ = a.kill().await;
    let _ = b.kill().await;
    let logs = crate::helpers::node_logs(cluster.dir.path());
    assert!(!logs.contains("panicked"), "{logs}");
    cluster.finish().await;
}

/// A browser: `agent` tells one client from another; no redirects followed.
fn browser(agent: &str) -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .user_agent(agent)
        .build()
        .expect("client")
}

/// Follows `/l/{code}`: the status and where it leads.
async fn follow(
    app: &TestApp,
    b: &reqwest::Client,
    code: &str,
    cookie: Option<&str>,
) -> (u16, String) {
    let mut r = b.get(app.url(&format!("/l/{code}")));
    if let Some(c) = cookie {
        r = r.header("cookie", c);
    }
    let res = r.send().await.expect("follow");
    let to = res
        .headers()
        .get("location")
        .and_then(|h| h.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    (res.status().as_u16(), to)
}

async fn clicks(app: &TestApp, id: &str) -> (i64, Vec<(Value, i64)>) {
    app.engine.flush_link_clicks().await.expect("flush");
    let d = app.get(&format!("/api/v1/links/{id}")).await.expect(200);
    let by = d["customers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| (c["customer_id"].clone(), c["clicks"].as_i64().unwrap()))
        .collect();
    (d["link"]["clicks"].as_i64().unwrap(), by)
}

async fn kinds(app: &TestApp, customer: &str) -> Vec<(String, String, String)> {
    app.get(&format!(
        "/api/v1/customers/{customer}/touchpoints?limit=200"
    ))
    .await
    .expect(200)["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| {
            (
                t["kind"].as_str().unwrap().to_owned(),
                t["stage"].as_str().unwrap().to_owned(),
                t["reference"].as_str().unwrap_or_default().to_owned(),
            )
        })
        .collect()
}

async fn settings(app: &TestApp, tracking: bool) {
    let mut s = app.get("/api/v1/journey/settings").await.expect(200);
    s["tracking"] = json!(tracking);
    s["link_targets"] = json!(["https://shop.example/", "https://promo.example/spring"]);
    app.req("PUT", "/api/v1/journey/settings", &app.token, Some(s))
        .await
        .expect(200);
}

async fn links_lead_only_to_registered_targets_and_count_each_click_once(app: TestApp) {
    // No targets yet: no link can be made.
    let sale = json!({"target": "https://shop.example/sale?utm=mail", "campaign": "spring"});
    app.post("/api/v1/links", sale.clone()).await.expect(409);
    settings(&app, false).await;
    for (target, status) in [
        ("https://evil.example/", 409),
        ("https://shop.example.evil.example/", 409),
        ("https://promo.example/springfield", 409),
        ("https://shop.example@evil.example/", 422),
        ("javascript:alert(1)", 422),
        (" https://shop.example/", 422),
    ] {
        let r = app.post("/api/v1/links", json!({"target": target})).await;
        assert_eq!(r.status, status, "{target}: {}", r.body);
    }
    let customer = app
        .post(
            "/api/v1/customers",
            json!({"name": "Анна", "identities": [{"kind": "email", "value": "anna@example.com"}]}),
        )
        .await
        .expect(201);
    let anna = customer["id"].as_str().unwrap().to_owned();
    let mut for_anna = sale.clone();
    for_anna["customer_id"] = json!(anna);
    let l = app
        .post("/api/v1/links", for_anna.clone())
        .await
        .expect(201);
    let (id, code) = (l["id"].as_str().unwrap(), l["code"].as_str().unwrap());
    assert_eq!(code.len(), 8);
    assert!(l["url"].as_str().unwrap().ends_with(&format!("/l/{code}")));
    assert_eq!(l["customer_id"], json!(anna));

    // A retried request (the same browser, within minutes) is one click; a
    // preview bot and a HEAD are led on but not counted; another device counts.
    let phone = browser("Mozilla/5.0 (Linux; Android 14) Mobile");
    for _ in 0..3 {
        assert_eq!(
            follow(&app, &phone, code, None).await,
            (302, "https://shop.example/sale?utm=mail".into())
        );
    }
    assert_eq!(
        follow(&app, &browser("Slackbot-LinkExpanding 1.0"), code, None)
            .await
            .0,
        302
    );
    let head = phone
        .head(app.url(&format!("/l/{code}")))
        .send()
        .await
        .unwrap();
    assert_eq!(head.status().as_u16(), 302);
    follow(
        &app,
        &browser("Mozilla/5.0 (Windows NT 10.0) Desktop"),
        code,
        None,
    )
    .await;
    // Tracking off: counted for the link, for no one.
    assert_eq!(clicks(&app, id).await, (2, vec![(Value::Null, 2)]));
    // The buffer was written once: a second flush adds nothing.
    assert_eq!(clicks(&app, id).await.0, 2);
    assert!(kinds(&app, &anna).await.iter().all(|k| k.0 != "link_click"));

    // Tracking on: Anna's own link counts for her and is on her journey.
    settings(&app, true).await;
    let l2 = app.post("/api/v1/links", for_anna).await.expect(201);
    let (id2, code2) = (l2["id"].as_str().unwrap(), l2["code"].as_str().unwrap());
    for _ in 0..2 {
        follow(&app, &phone, code2, None).await;
    }
    assert_eq!(clicks(&app, id2).await, (1, vec![(json!(anna), 1)]));
    // A campaign link leads to the campaign's awareness stage (seed 003's rule).
    assert_eq!(
        kinds(&app, &anna).await,
        vec![("link_click".into(), "awareness".into(), code2.to_owned())]
    );

    // A link for everyone, followed by a chat visitor who gave an address:
    // counted as that visitor's customer, whose cookie the browser carries.
    let (key, _) = channel(&app, json!([])).await;
    let created = app
        .client
        .post(app.url(&format!("/widget/v1/{key}/visitors")))
        .header("origin", SHOP)
        .json(&json!({"name": "Борис", "email": "boris@example.com"}))
        .send()
        .await
        .unwrap();
    assert_eq!(created.status().as_u16(), 201);
    let cookie = created
        .headers()
        .get("set-cookie")
        .and_then(|h| h.to_str().ok())
        .expect("a visitor cookie")
        .to_owned();
    assert!(
        cookie.contains("HttpOnly") && cookie.contains("SameSite=Lax"),
        "{cookie}"
    );
    let pair = cookie.split(';').next().unwrap().to_owned();
    assert!(
        pair.starts_with(&format!("otklik_visitor_{key}=vt_")),
        "{pair}"
    );
    let anonymous = browser("Mozilla/5.0 (X11; Linux) Anonymous");
    let open = app
        .post(
            "/api/v1/links",
            json!({"target": "https://promo.example/spring/shoes", "name": "Shoes"}),
        )
        .await
        .expect(201);
    let (id3, code3) = (open["id"].as_str().unwrap(), open["code"].as_str().unwrap());
    let visitor = browser("Mozilla/5.0 (Macintosh) Visitor");
    follow(&app, &visitor, code3, Some(&pair)).await;
    follow(&app, &visitor, code3, Some(&pair)).await;
    follow(&app, &anonymous, code3, None).await;
    let (total, by) = clicks(&app, id3).await;
    assert_eq!(total, 2);
    let boris = by
        .iter()
        .find(|(c, _)| !c.is_null())
        .map(|(c, n)| (c.as_str().unwrap().to_owned(), *n))
        .expect("Boris's click");
    assert_eq!(boris.1, 1);
    assert!(by.contains(&(Value::Null, 1)), "{by:?}");
    let journey = kinds(&app, &boris.0).await;
    assert_eq!(
        journey,
        vec![(
            "link_click".into(),
            "consideration".into(),
            code3.to_owned()
        )]
    );

    // His help-center reading and searches join his journey (once a day each);
    // an anonymous reader's do not.
    let a = app
        .post(
            "/api/v1/kb/articles",
            json!({"lang": "ru", "title": "Как вернуть обувь",
            "body": "Обувь можно вернуть в течение 30 дней.", "status": "published"}),
        )
        .await
        .expect(201);
    let page = app.url(&format!(
        "/help/alpha/ru/articles/{}-{}",
        a["id"].as_str().unwrap(),
        a["slug"].as_str().unwrap()
    ));
    for _ in 0..2 {
        let r = visitor
            .get(&page)
            .header("cookie", &pair)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status().as_u16(), 200);
    }
    anonymous.get(&page).send().await.unwrap();
    let search = app.url("/help/alpha/ru/search?q=%D0%B2%D0%B5%D1%80%D0%BD%D1%83%D1%82%D1%8C");
    visitor
        .get(&search)
        .header("cookie", &pair)
        .send()
        .await
        .unwrap();
    let mut seen = Vec::new();
    for _ in 0..100 {
        seen = kinds(&app, &boris.0).await;
        if seen.len() == 3 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    let mut got: Vec<String> = seen.iter().map(|k| k.0.clone()).collect();
    got.sort();
    assert_eq!(got, ["article_view", "link_click", "search"], "{seen:?}");
    assert!(seen.contains(&(
        "article_view".into(),
        "consideration".into(),
        a["id"].as_str().unwrap().to_owned()
    )));

    // A QR code of the short address, for print.
    let qr = app
        .client
        .get(app.url(&format!("/api/v1/links/{id3}/qr.svg")))
        .bearer_auth(&app.token)
        .send()
        .await
        .unwrap();
    assert_eq!(qr.headers()["content-type"], "image/svg+xml");
    assert!(qr.text().await.unwrap().contains("<svg"));

    // Listed newest first, by campaign; disabled, a link is gone; a code no
    // one made is not found; another workspace sees none of it.
    let all = app.get("/api/v1/links?campaign=spring").await.expect(200);
    let listed: Vec<&str> = all["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["id"].as_str().unwrap())
        .collect();
    assert_eq!(listed, [id2, id]);
    app.req("DELETE", &format!("/api/v1/links/{id}"), &app.token, None)
        .await
        .expect(204);
    assert_eq!(follow(&app, &phone, code, None).await, (410, String::new()));
    assert_eq!(follow(&app, &phone, "ZZZZZZZZ", None).await.0, 404);
    assert_eq!(follow(&app, &phone, "../../etc", None).await.0, 404);
    let other = app.workspace("beta").await;
    app.req("GET", &format!("/api/v1/links/{id2}"), &other, None)
        .await
        .expect(404);
    app.req("DELETE", &format!("/api/v1/links/{id2}"), &other, None)
        .await
        .expect(404);
    assert_eq!(
        app.req("GET", "/api/v1/links", &other, None)
            .await
            .expect(200)["items"],
        json!([])
    );
}

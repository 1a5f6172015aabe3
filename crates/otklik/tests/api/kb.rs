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

crate::on_both!(the_help_center_shows_published_public_articles_to_anyone);

/// A path with its non-ASCII bytes percent-encoded, as a Location header has it.
fn enc_path(p: &str) -> String {
    p.bytes()
        .map(|b| {
            if b.is_ascii() {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

/// A help-center page as an anonymous reader gets it: status and text.
async fn page(app: &TestApp, path: &str) -> (u16, String) {
    let r = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("client")
        .get(format!("{}{path}", app.base))
        .header("accept-language", "ru")
        .send()
        .await
        .expect("request");
    let status = r.status().as_u16();
    let location = r
        .headers()
        .get("location")
        .and_then(|l| l.to_str().ok())
        .map(str::to_owned);
    let text = r.text().await.expect("body");
    (status, location.unwrap_or(text))
}

async fn the_help_center_shows_published_public_articles_to_anyone(app: TestApp) {
    let ru = app
        .post("/api/v1/kb/articles", json!({"lang": "ru", "title": "Сроки доставки",
            "body": "## По городам\n\nКурьер привезёт **за 2 дня**.\n\n<script>alert(1)</script>\n\nhttps://www.youtube.com/watch?v=dQw4w9WgXcQ",
            "category": "delivery", "status": "published"}))
        .await
        .expect(201);
    let th = app
        .post("/api/v1/kb/articles", json!({"lang": "th", "title": "ระยะเวลาจัดส่ง",
            "body": "พัสดุถึงภายในสองวัน", "category": "delivery", "status": "published", "group_id": ru["group_id"]}))
        .await
        .expect(201);
    let internal = app
        .post("/api/v1/kb/articles", json!({"lang": "ru", "title": "Служебная инструкция курьерам",
            "body": "Только для агентов", "category": "delivery", "status": "published", "visibility": "internal"}))
        .await
        .expect(201);
    let draft = app
        .post("/api/v1/kb/articles", json!({"lang": "ru", "title": "Черновик про доставку", "body": "ещё не готово", "category": "delivery"}))
        .await
        .expect(201);
    let id = ru["id"].as_str().unwrap();
    let path = format!(
        "/help/alpha/ru/articles/{id}-{}",
        ru["slug"].as_str().unwrap()
    );

    // The bare address picks the reader's language.
    assert_eq!(
        page(&app, "/help/alpha").await,
        (303, "/help/alpha/ru".into())
    );
    let (status, home) = page(&app, "/help/alpha/ru").await;
    assert_eq!(status, 200);
    assert!(home.contains("Сроки доставки"), "{home}");
    assert!(
        !home.contains("Служебная") && !home.contains("Черновик"),
        "{home}"
    );

    let (status, html) = page(&app, &path).await;
    assert_eq!(status, 200, "{html}");
    assert!(
        html.contains("<h2>По городам</h2>") && html.contains("<strong>за 2 дня</strong>"),
        "{html}"
    );
    assert!(!html.contains("<script>alert"), "{html}");
    assert!(
        html.contains("youtube-nocookie.com/embed/dQw4w9WgXcQ"),
        "{html}"
    );
    assert!(
        html.contains("og:title") && html.contains("rel=\"canonical\""),
        "{html}"
    );
    // The language switcher leads to the translation.
    assert!(
        html.contains(&format!(
            "/help/alpha/th/articles/{}-",
            th["id"].as_str().unwrap()
        )),
        "{html}"
    );
    // An old or wrong slug goes to the current address.
    let (status, to) = page(&app, &format!("/help/alpha/ru/articles/{id}-old-name")).await;
    assert_eq!((status, to.as_str()), (308, enc_path(&path).as_str()));
    // Internal articles, drafts, other workspaces and nonsense are not there.
    for hidden in [&internal, &draft] {
        let p = format!(
            "/help/alpha/ru/articles/{}-x",
            hidden["id"].as_str().unwrap()
        );
        assert_eq!(page(&app, &p).await.0, 404, "{p}");
    }
    app.workspace("beta").await;
    assert_eq!(page(&app, &path.replace("/alpha/", "/beta/")).await.0, 404);
    assert_eq!(page(&app, "/help/nobody/ru").await.0, 404);
    assert_eq!(page(&app, "/help/alpha/de").await.0, 404);
    assert_eq!(page(&app, "/help/alpha/ru/articles/zzz").await.0, 404);

    // Search without script, in Thai without spaces, public articles only.
    let mut found = String::new();
    for _ in 0..100 {
        found = page(
            &app,
            &format!("/help/alpha/th/search?q={}", enc("พัสดุถึงกี่วัน")),
        )
        .await
        .1;
        if found.contains(th["id"].as_str().unwrap()) {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert!(found.contains(th["id"].as_str().unwrap()), "{found}");
    let (_, found) = page(
        &app,
        &format!("/help/alpha/ru/search?q={}", enc("служебная инструкция")),
    )
    .await;
    assert!(!found.contains(internal["id"].as_str().unwrap()), "{found}");

    let (status, sitemap) = page(&app, "/help/alpha/sitemap.xml").await;
    assert_eq!(status, 200);
    assert!(
        sitemap.contains(id) && sitemap.contains(th["id"].as_str().unwrap()),
        "{sitemap}"
    );
    assert!(
        !sitemap.contains(internal["id"].as_str().unwrap()),
        "{sitemap}"
    );
    // Non-ASCII slugs are percent-encoded.
    assert!(
        sitemap.contains("%D0%A1") || sitemap.contains("%D1%81"),
        "{sitemap}"
    );
}

crate::on_both!(readers_views_votes_and_searches_are_counted_for_editors);

/// A reader's browser: counted, unlike crawlers.
fn reader() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .user_agent("Mozilla/5.0 (Linux; Android 14) Mobile")
        .build()
        .expect("client")
}

async fn readers_views_votes_and_searches_are_counted_for_editors(app: TestApp) {
    let a = app
        .post("/api/v1/kb/articles", json!({"lang": "ru", "title": "Как вернуть деньги",
            "body": "Деньги вернутся на карту за 10 дней.", "category": "returns", "status": "published"}))
        .await
        .expect(201);
    let id = a["id"].as_str().unwrap();
    let path = format!(
        "/help/alpha/ru/articles/{id}-{}",
        a["slug"].as_str().unwrap()
    );
    let url = format!("{}{path}", app.base);
    let b = reader();
    for _ in 0..2 {
        assert_eq!(b.get(&url).send().await.unwrap().status(), 200);
    }
    // A crawler is not a reader.
    reqwest::Client::new()
        .get(&url)
        .header("user-agent", "Googlebot/2.1")
        .send()
        .await
        .unwrap();
    // Once the index has the article (the agents' search is not counted), a
    // reader searches twice: once finding it, once finding nothing.
    search(&app, "вернуть деньги", "ru", Some(&a["id"])).await;
    let search = |q: &str| format!("{}/help/alpha/ru/search?q={}", app.base, enc(q));
    let text = b
        .get(search("вернуть деньги"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(text.contains(id), "{text}");
    b.get(search("  Телепортация   посылки "))
        .send()
        .await
        .unwrap();

    // "Was this helpful?" from the page itself; a form from elsewhere is refused.
    let vote = |origin: Option<&str>, helpful: &str, comment: &str| {
        let mut r = b
            .post(format!("{url}/feedback"))
            .header("content-type", "application/x-www-form-urlencoded")
            .body(format!("helpful={helpful}&comment={}", enc(comment)));
        if let Some(o) = origin {
            r = r.header("origin", o);
        }
        r.send()
    };
    let host = app.base.clone();
    let r = vote(
        Some(&host),
        "no",
        "Не написано, что делать, если карта закрыта",
    )
    .await
    .unwrap();
    assert_eq!(r.status(), 303);
    let to = r.headers()["location"].to_str().unwrap().to_owned();
    assert!(to.ends_with("?voted=1#feedback"), "{to}");
    let thanks = b
        .get(format!("{}{to}", app.base))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(thanks.contains("Спасибо за отзыв"), "{thanks}");
    assert_eq!(vote(None, "yes", "").await.unwrap().status(), 403);
    assert_eq!(
        vote(Some("https://evil.example"), "yes", "")
            .await
            .unwrap()
            .status(),
        403
    );
    assert_eq!(vote(Some(&host), "maybe", "").await.unwrap().status(), 400);
    // One vote per reader and article: the second changes nothing.
    assert_eq!(vote(Some(&host), "yes", "").await.unwrap().status(), 303);

    app.engine.flush_kb_activity().await.expect("flush");
    let r = app
        .get("/api/v1/kb/analytics?days=7&lang=ru")
        .await
        .expect(200);
    let art = &r["articles"][0];
    assert_eq!(art["id"], a["id"], "{r}");
    assert_eq!(
        (
            art["views"].as_i64(),
            art["helpful"].as_i64(),
            art["unhelpful"].as_i64()
        ),
        (Some(2), Some(0), Some(1)),
        "{r}"
    );
    let queries: Vec<&str> = r["searches"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["query"].as_str().unwrap())
        .collect();
    assert!(
        queries.contains(&"вернуть деньги") && queries.contains(&"телепортация посылки"),
        "{r}"
    );
    assert_eq!(r["no_results"][0]["query"], "телепортация посылки", "{r}");
    assert_eq!(r["no_results"].as_array().unwrap().len(), 1, "{r}");
    assert_eq!(
        r["comments"][0]["comment"],
        "Не написано, что делать, если карта закрыта"
    );
    app.get("/api/v1/kb/analytics?days=0").await.problem(422);
    app.get("/api/v1/kb/analytics?lang=").await.problem(422);

    // The home page puts what readers read most first.
    let home = b
        .get(format!("{}/help/alpha/ru", app.base))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let popular = home.find("id=\"popular\"").expect("popular articles");
    assert!(home[popular..].contains(id), "{home}");
}

crate::on_both!(the_public_search_needs_no_sign_in_and_is_limited);

async fn the_public_search_needs_no_sign_in_and_is_limited(app: TestApp) {
    let public = app
        .post(
            "/api/v1/kb/articles",
            json!({"lang": "th", "title": "ติดตามพัสดุ",
            "body": "ดูเลขพัสดุได้ในหน้าคำสั่งซื้อของฉัน", "status": "published"}),
        )
        .await
        .expect(201);
    app.post(
        "/api/v1/kb/articles",
        json!({"lang": "th", "title": "ติดตามพัสดุ (ภายใน)",
        "body": "ขั้นตอนภายในสำหรับพนักงาน ติดตามพัสดุ", "status": "published", "visibility": "internal"}),
    )
    .await
    .expect(201);
    // Wait until the index has both (the agents' search sees internal ones).
    let mut n = 0;
    for _ in 0..100 {
        n = app
            .get(&format!("/api/v1/kb/search?q={}", enc("ติดตามพัสดุ")))
            .await
            .expect(200)["items"]
            .as_array()
            .map_or(0, Vec::len);
        if n == 2 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert_eq!(n, 2);
    let anon = reqwest::Client::new();
    let url = |ws: &str| {
        format!(
            "{}/api/v1/help/{ws}/search?q={}&lang=th",
            app.base,
            enc("พัสดุอยู่ไหน")
        )
    };
    let r = anon.get(url("alpha")).send().await.unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["access-control-allow-origin"], "*");
    let body: Value = r.json().await.unwrap();
    let items = body["items"].as_array().unwrap();
    assert_eq!(items.len(), 1, "{body}");
    assert_eq!(items[0]["id"], public["id"]);
    assert!(
        items[0]["url"]
            .as_str()
            .unwrap()
            .starts_with("/help/alpha/th/articles/")
    );
    assert_eq!(anon.get(url("nobody")).send().await.unwrap().status(), 404);
    // The budget per address: sixty a minute, then 429 with a wait.
    let mut limited = None;
    for i in 0..70 {
        let r = anon.get(url("alpha")).send().await.unwrap();
        if r.status() == 429 {
            limited = Some((i, r.headers().get("retry-after").is_some()));
            break;
        }
    }
    let (at, retry_after) = limited.expect("limited");
    assert!(at >= 50 && retry_after, "limited after {at}");
}

crate::on_both!(faq_entries_are_edited_and_found_by_their_new_words);

async fn faq_entries_are_edited_and_found_by_their_new_words(app: TestApp) {
    let f = app
        .post("/api/v1/kb/faq", json!({"lang": "en", "question": "Can I pay on delivery?", "answer": "Yes, by card or cash."}))
        .await
        .expect(201);
    let path = format!("/api/v1/kb/faq/{}", f["id"].as_str().unwrap());
    let changed = app
        .patch(&path, json!({"phrasings": ["cash on delivery courier"], "answer": "Yes: pay the courier by card or in cash.", "category": "payment"}))
        .await
        .expect(200);
    assert_eq!(changed["question"], "Can I pay on delivery?");
    assert_eq!(changed["phrasings"], json!(["cash on delivery courier"]));
    assert_eq!(
        app.get(&path).await.expect(200)["answer"],
        "Yes: pay the courier by card or in cash."
    );
    // The index follows the change: the new phrasing finds it.
    let hits = search(&app, "courier", "en", Some(&f["id"])).await;
    assert_eq!(hits["items"][0]["id"], f["id"], "{hits}");
    app.patch(&path, json!({"answer": "   "}))
        .await
        .problem(422);
    app.patch(
        &path,
        json!({"article_id": "01936f1e-7b2a-7c41-9a55-0d3c7e2b9a99"}),
    )
    .await
    .problem(404);
    app.patch(
        "/api/v1/kb/faq/01936f1e-7b2a-7c41-9a55-0d3c7e2b9a99",
        json!({"answer": "x"}),
    )
    .await
    .problem(404);
}

crate::on_both!(two_nodes_add_up_their_help_center_counts);

/// Each node counts views and searches in memory and adds them to the same
/// rows; two engines over one database stand for two nodes.
async fn two_nodes_add_up_their_help_center_counts(app: TestApp) {
    let a = app
        .post("/api/v1/kb/articles", json!({"lang": "en", "title": "Returns", "body": "Return within 14 days.", "status": "published"}))
        .await
        .expect(201);
    let id: domain::ids::ArticleId = a["id"].as_str().unwrap().parse().unwrap();
    let other = otklik::app::open_engine(&app.config, std::sync::Arc::new(store::SystemClock))
        .await
        .expect("a second node's engine");
    let ws = app
        .engine
        .cli_principal("alpha")
        .await
        .unwrap()
        .workspace_id;
    let nodes = [app.engine.clone(), other.clone()];
    let writers: Vec<_> = nodes
        .iter()
        .map(|e| {
            let e = e.clone();
            tokio::spawn(async move {
                for _ in 0..50 {
                    e.record_view(ws, id);
                    e.record_search(ws, "en", "Return policy", 1);
                    e.record_search(ws, "en", "teleport", 0);
                }
                e.flush_kb_activity().await.expect("flush")
            })
        })
        .collect();
    for w in writers {
        assert_eq!(
            w.await.unwrap(),
            3,
            "one row each for the view and the two searches"
        );
    }
    let r = app
        .get("/api/v1/kb/analytics?days=1&lang=en")
        .await
        .expect(200);
    assert_eq!(r["articles"][0]["views"], 100, "{r}");
    let searches: Vec<(String, i64, i64)> = r["searches"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            (
                s["query"].as_str().unwrap().to_owned(),
                s["searches"].as_i64().unwrap(),
                s["empty"].as_i64().unwrap(),
            )
        })
        .collect();
    assert!(
        searches.contains(&("return policy".into(), 100, 0)),
        "{searches:?}"
    );
    assert!(
        searches.contains(&("teleport".into(), 100, 100)),
        "{searches:?}"
    );
    other.close().await;
}

crate::on_both!(a_help_center_is_published_in_the_languages_it_is_configured_for);

/// `GET path` as a reader whose browser prefers `accept`: status and text (or
/// the redirect's target).
async fn page_in(app: &TestApp, path: &str, accept: &str) -> (u16, String) {
    let r = reader()
        .get(format!("{}{path}", app.base))
        .header("accept-language", accept)
        .send()
        .await
        .expect("request");
    let status = r.status().as_u16();
    let location = r
        .headers()
        .get("location")
        .and_then(|l| l.to_str().ok())
        .map(str::to_owned);
    (status, location.unwrap_or(r.text().await.expect("body")))
}

async fn a_help_center_is_published_in_the_languages_it_is_configured_for(app: TestApp) {
    let defaults = app.get("/api/v1/kb/settings").await.expect(200);
    assert_eq!(defaults["languages"], json!(["ru", "en", "th"]));
    assert_eq!(page_in(&app, "/help/alpha/de", "de").await.0, 404);

    // German and Brazilian Portuguese added; codes are normalised.
    let saved = app
        .req(
            "PUT",
            "/api/v1/kb/settings",
            &app.token,
            Some(json!({"color": "#0B7A75", "logo_id": null, "languages": ["ru", "en", "th", "DE", "pt_BR", "de"]})),
        )
        .await
        .expect(200);
    assert_eq!(saved["languages"], json!(["ru", "en", "th", "de", "pt-br"]));
    assert_eq!(saved["color"], "#0b7a75");
    let de = app
        .post("/api/v1/kb/articles", json!({"lang": "de", "title": "Rücksendung und Umtausch",
            "body": "Sie können Waren innerhalb von 14 Tagen zurückgeben.", "category": "returns", "status": "published"}))
        .await
        .expect(201);
    let ru = app
        .post("/api/v1/kb/articles", json!({"lang": "ru", "title": "Обмен и возврат",
            "body": "Вернуть товар можно в течение 14 дней.", "category": "returns", "status": "published", "group_id": de["group_id"]}))
        .await
        .expect(201);

    // A browser preferring Austrian German lands on the German pages.
    assert_eq!(
        page_in(&app, "/help/alpha", "de-AT, en;q=0.5").await,
        (303, "/help/alpha/de".into())
    );
    assert_eq!(
        page_in(&app, "/help/alpha", "pt-BR").await,
        (303, "/help/alpha/pt-br".into())
    );
    let (status, home) = page_in(&app, "/help/alpha/de", "de").await;
    assert_eq!(status, 200, "{home}");
    assert!(home.contains("Rücksendung und Umtausch"), "{home}");
    assert!(home.contains("<html lang=\"de\""), "{home}");
    // The interface has no German catalog: the frame is in English, the
    // switcher names every configured language in itself.
    assert!(
        home.contains("Deutsch") && home.contains("Português (Brasil)") && home.contains("Русский"),
        "{home}"
    );
    assert!(home.contains("hreflang=\"pt-br\""), "{home}");

    // The article links its Russian translation, and the Russian one links back.
    let de_path = format!(
        "/help/alpha/de/articles/{}-{}",
        de["id"].as_str().unwrap(),
        de["slug"].as_str().unwrap()
    );
    let ru_id = ru["id"].as_str().unwrap();
    let (status, article) = page_in(&app, &de_path, "de").await;
    assert_eq!(status, 200, "{article}");
    assert!(
        article.contains(&format!("/help/alpha/ru/articles/{ru_id}-")),
        "{article}"
    );
    let ru_path = format!(
        "/help/alpha/ru/articles/{ru_id}-{}",
        ru["slug"].as_str().unwrap()
    );
    let (_, ru_page) = page_in(&app, &ru_path, "ru").await;
    assert!(ru_page.contains(&de_path), "{ru_page}");

    // Search in German finds it, stemmed or not.
    let mut found = String::new();
    for _ in 0..100 {
        found = page_in(
            &app,
            &format!("/help/alpha/de/search?q={}", enc("Rücksendung")),
            "de",
        )
        .await
        .1;
        if found.contains(de["id"].as_str().unwrap()) {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert!(found.contains(de["id"].as_str().unwrap()), "{found}");

    let (_, sitemap) = page_in(&app, "/help/alpha/sitemap.xml", "de").await;
    assert!(
        sitemap.contains("/help/alpha/de</loc>") && sitemap.contains("/help/alpha/pt-br</loc>"),
        "{sitemap}"
    );
    assert!(sitemap.contains(de["id"].as_str().unwrap()), "{sitemap}");

    // A language taken out of the help center is no longer published; its
    // articles stay in the knowledge base.
    app.req(
        "PUT",
        "/api/v1/kb/settings",
        &app.token,
        Some(json!({"color": null, "logo_id": null, "languages": ["ru", "en"]})),
    )
    .await
    .expect(200);
    assert_eq!(page_in(&app, &de_path, "de").await.0, 404);
    assert_eq!(page_in(&app, "/help/alpha/th", "th").await.0, 404);
    // Neither language the reader wants: the workspace's own (English).
    assert_eq!(
        page_in(&app, "/help/alpha", "th, de;q=0.9").await,
        (303, "/help/alpha/en".into())
    );
    let (status, ru_page) = page_in(&app, &ru_path, "ru").await;
    assert_eq!(status, 200, "{ru_page}");
    assert!(!ru_page.contains("/help/alpha/de/"), "{ru_page}");
    app.get(&format!(
        "/api/v1/kb/articles/{}",
        de["id"].as_str().unwrap()
    ))
    .await
    .expect(200);
    let (status, sitemap) = page_in(&app, "/help/alpha/sitemap.xml", "ru").await;
    assert_eq!(status, 200);
    assert!(!sitemap.contains("/help/alpha/de"), "{sitemap}");

    // Nonsense is refused, and only editors change the settings.
    for bad in [
        json!({"color": null, "logo_id": null, "languages": []}),
        json!({"color": null, "logo_id": null, "languages": ["немецкий"]}),
        json!({"color": "red", "logo_id": null, "languages": ["ru"]}),
    ] {
        app.req("PUT", "/api/v1/kb/settings", &app.token, Some(bad))
            .await
            .expect(422);
    }
    let (_, agent) = app.user("agent@alpha.test", "agent").await;
    app.req(
        "PUT",
        "/api/v1/kb/settings",
        &agent,
        Some(json!({"color": null, "logo_id": null, "languages": ["ru"]})),
    )
    .await
    .expect(403);
    assert_eq!(
        app.get("/api/v1/kb/settings").await.expect(200)["languages"],
        json!(["ru", "en"])
    );
}

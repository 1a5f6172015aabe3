//! `otklik bench journey`: the customer journey at a large shop's scale.
//!
//! 1. Makes N customers (default 100,000) straight in the store, then pushes
//!    M touchpoints (default 5,000,000: fifty a customer over half a year —
//!    page views with a category and a country, product and pricing pages,
//!    carts, checkouts, reviews) through `POST /api/v1/touchpoints` of the
//!    running server, 500 a request, a few requests at once, as a shop's
//!    feed does. Reports the rate over the whole run (the tables grow as it
//!    goes), with progress.
//! 2. Asks for the journey map `--requests` times: of everyone, of one
//!    country, of one category (p50 / p99), and checks it counts every
//!    customer and touchpoint.
//! 3. Follows a tracked link 10,000 times from different browsers: the
//!    redirect's p50 / p99 as the client sees it (the server's own time is
//!    less), and checks the clicks were counted.
//!
//! Runs on a fresh SQLite database, or on PostgreSQL with `--database-url`.

use crate::app::Application;
use crate::bench::stats;
use crate::bench_rules::Lcg;
use anyhow::{anyhow, bail};
use domain::Timestamp;
use domain::ids::*;
use serde_json::{Value, json};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

const BATCH: usize = 500;
/// Push requests in flight.
const IN_FLIGHT: usize = 4;
const DAY_MS: i64 = 86_400_000;
const COUNTRIES: [&str; 6] = ["RU", "TH", "KZ", "DE", "US", "AE"];
const CATEGORIES: [&str; 8] = [
    "kettles", "teapots", "speakers", "lamps", "phones", "toys", "books", "bags",
];
const CLICKS: usize = 10_000;

fn err(e: engine::EngineError) -> anyhow::Error {
    anyhow!("{e}")
}

/// Customer `i`'s journey: `n` touchpoints in time order from `start`.
fn journey(rng: &mut Lcg, i: usize, customer: CustomerId, n: usize, start: i64) -> Vec<Value> {
    let mut at = start;
    let mut out = Vec::with_capacity(n);
    let category = CATEGORIES[i % CATEGORIES.len()];
    let country = COUNTRIES[(i / 3) % COUNTRIES.len()];
    for j in 0..n {
        at += 60_000 + rng.below(3 * DAY_MS as u64) as i64;
        let roll = rng.below(100);
        let (kind, name, attrs, rating) = if j == 0 {
            (
                "page_view",
                "Home",
                json!({"category": category, "country": country}),
                None,
            )
        } else if roll < 45 {
            (
                "page_view",
                "Product",
                json!({"page_type": "product"}),
                None,
            )
        } else if roll < 55 {
            (
                "page_view",
                "Pricing",
                json!({"page_type": "pricing"}),
                None,
            )
        } else if roll < 70 {
            ("page_view", "Blog", json!({}), None)
        } else if roll < 80 {
            ("cart", "Product", json!({}), None)
        } else if roll < 87 {
            ("checkout", "Product", json!({}), None)
        } else if roll < 93 {
            (
                "review",
                "Product",
                json!({}),
                Some(1 + rng.below(5) as i64),
            )
        } else {
            ("custom", "Wishlist", json!({}), None)
        };
        let mut t = json!({"id": format!("c{i}-{j}"), "kind": kind, "customer_id": customer.0,
            "at": Timestamp::from_millis(at).to_rfc3339(), "name": name, "attributes": attrs});
        if let Some(r) = rating {
            t["rating"] = json!(r);
        }
        out.push(t);
    }
    out
}

pub async fn journey_bench(
    customers: usize,
    touchpoints: usize,
    requests: usize,
    database_url: Option<String>,
) -> anyhow::Result<()> {
    if customers == 0 || touchpoints < customers || requests == 0 {
        bail!("--customers ≥ 1, --touchpoints ≥ --customers and --requests ≥ 1");
    }
    let (_dir, db_name, config) =
        crate::bench_reports::bench_config(database_url.as_deref()).await?;
    println!(
        "journey on {}: {customers} customers, {touchpoints} touchpoints",
        if database_url.is_some() {
            "PostgreSQL"
        } else {
            "SQLite"
        }
    );
    let app = Application::build(config).await?;
    let engine = app.engine().clone();
    let store = app.store().clone();
    let base = format!("http://127.0.0.1:{}", app.port());
    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(app.run_until(async move {
        let _ = stop_rx.await;
    }));
    let result = run(&engine, &store, &base, customers, touchpoints, requests).await;
    let _ = stop_tx.send(());
    let _ = server.await;
    if let Some(admin) = &database_url
        && let Err(e) = store::admin::drop_database(admin, &db_name).await
    {
        eprintln!("warning: could not drop {db_name}: {e}");
    }
    result
}

async fn run(
    engine: &engine::Engine,
    store: &store::Store,
    base: &str,
    customers: usize,
    touchpoints: usize,
    requests: usize,
) -> anyhow::Result<()> {
    let (_, owner) = engine
        .create_workspace("journeybench", "owner@journey.example", "bench-password")
        .await
        .map_err(err)?;
    let p = engine.cli_principal("journeybench").await.map_err(err)?;
    let ws = p.workspace_id;
    let token = engine
        .create_token(&p, owner.id, "bench")
        .await
        .map_err(err)?
        .1;
    let mut s = engine.journey_settings(&p).await.map_err(err)?;
    s.tracking = true;
    s.link_targets = vec!["https://shop.example/".into()];
    engine.save_journey_settings(&p, s).await.map_err(err)?;

    // 1. Customers, then their touchpoints through the API.
    let now = store.now().millis();
    let start = now - 200 * DAY_MS;
    let ids =
        crate::bench_reports::seed_customers(store, ws, customers, "Покупатель", start).await?;
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(120))
        .build()?;
    let per = touchpoints / customers;
    let extra = touchpoints % customers;
    let (tx, rx) = tokio::sync::mpsc::channel::<Vec<Value>>(IN_FLIGHT * 2);
    let rx = Arc::new(tokio::sync::Mutex::new(rx));
    let sent = Arc::new(AtomicUsize::new(0));
    let failed = Arc::new(AtomicUsize::new(0));
    let pushing = Instant::now();
    let mut pushers = Vec::new();
    for _ in 0..IN_FLIGHT {
        let (rx, http, sent, failed, token) = (
            rx.clone(),
            http.clone(),
            sent.clone(),
            failed.clone(),
            token.clone(),
        );
        let url = format!("{base}/api/v1/touchpoints");
        pushers.push(tokio::spawn(async move {
            let mut us = Vec::new();
            loop {
                let Some(batch) = rx.lock().await.recv().await else {
                    return us;
                };
                let n = batch.len();
                let t = Instant::now();
                let r = http
                    .post(&url)
                    .bearer_auth(&token)
                    .json(&json!({"touchpoints": batch}))
                    .send()
                    .await;
                us.push(t.elapsed().as_micros() as u64);
                match r {
                    Ok(r) if r.status().is_success() => {
                        sent.fetch_add(n, Ordering::Relaxed);
                    }
                    Ok(r) => {
                        let status = r.status();
                        let body = r.text().await.unwrap_or_default();
                        if failed.fetch_add(n, Ordering::Relaxed) == 0 {
                            eprintln!("push refused: {status} {body}");
                        }
                    }
                    Err(e) => {
                        if failed.fetch_add(n, Ordering::Relaxed) == 0 {
                            eprintln!("push failed: {e}");
                        }
                    }
                }
            }
        }));
    }
    let mut rng = Lcg(2026);
    let mut batch = Vec::with_capacity(BATCH);
    let mut shown = 0;
    for (i, c) in ids.iter().enumerate() {
        let n = per + usize::from(i < extra);
        let first = start + rng.below(20 * DAY_MS as u64) as i64;
        for t in journey(&mut rng, i, *c, n, first) {
            batch.push(t);
            if batch.len() == BATCH {
                tx.send(std::mem::replace(&mut batch, Vec::with_capacity(BATCH)))
                    .await
                    .map_err(|_| anyhow!("the pushers stopped"))?;
            }
        }
        let done = sent.load(Ordering::Relaxed);
        if done * 10 / touchpoints > shown {
            shown = done * 10 / touchpoints;
            println!(
                "  {:>3} %  {done} touchpoints, {:.0}/s",
                shown * 10,
                done as f64 / pushing.elapsed().as_secs_f64()
            );
        }
    }
    if !batch.is_empty() {
        tx.send(batch)
            .await
            .map_err(|_| anyhow!("the pushers stopped"))?;
    }
    drop(tx);
    let mut us = Vec::new();
    for p in pushers {
        us.extend(p.await?);
    }
    let secs = pushing.elapsed().as_secs_f64();
    let pushed = sent.load(Ordering::Relaxed);
    let s = stats(us);
    println!(
        "pushes: {pushed} touchpoints in {secs:.1} s = {:.0} touchpoints/s ({BATCH} a request, {IN_FLIGHT} in flight); a request p50 {:.1} ms p99 {:.1} ms",
        pushed as f64 / secs,
        s.p50 as f64 / 1000.0,
        s.p99 as f64 / 1000.0
    );
    let lost = failed.load(Ordering::Relaxed);
    if lost > 0 || pushed != touchpoints {
        bail!("{lost} touchpoints refused; {pushed} of {touchpoints} recorded");
    }

    // 2. The map.
    println!("journey map, {requests} requests each:");
    for (name, query) in [
        ("everyone", String::new()),
        ("one country", "?segment_by=country&segment=TH".to_owned()),
        (
            "one category",
            "?segment_by=category&segment=lamps".to_owned(),
        ),
    ] {
        let mut us = Vec::with_capacity(requests);
        let mut last = Value::Null;
        for _ in 0..requests {
            let t = Instant::now();
            let r = http
                .get(format!("{base}/api/v1/reports/journey{query}"))
                .bearer_auth(&token)
                .send()
                .await?;
            if !r.status().is_success() {
                bail!("the map answered {}", r.status());
            }
            last = r.json().await?;
            us.push(t.elapsed().as_micros() as u64);
        }
        let s = stats(us);
        println!(
            "  {name:<12} p50 {:>7.1} ms  p99 {:>7.1} ms  max {:>7.1} ms  ({} customers)",
            s.p50 as f64 / 1000.0,
            s.p99 as f64 / 1000.0,
            s.max as f64 / 1000.0,
            last["customers"]
        );
        if query.is_empty() {
            let total: i64 = last["stages"]
                .as_array()
                .map(|v| v.iter().filter_map(|s| s["touchpoints"].as_i64()).sum())
                .unwrap_or(0);
            if last["customers"].as_u64() != Some(customers as u64) || total != touchpoints as i64 {
                bail!(
                    "the map counts {} customers and {total} touchpoints",
                    last["customers"]
                );
            }
            println!("  checked: the map counts every customer and touchpoint");
        }
    }

    // 3. A tracked link, followed from many browsers.
    let link = engine
        .create_link(
            &p,
            engine::tracking::NewLink {
                target: "https://shop.example/spring".into(),
                campaign: Some("spring".into()),
                ..Default::default()
            },
        )
        .await
        .map_err(err)?;
    let follow = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(Duration::from_secs(10))
        .build()?;
    let url = format!("{base}/l/{}", link.code);
    let mut us = Vec::with_capacity(CLICKS);
    for i in 0..CLICKS {
        let t = Instant::now();
        let r = follow
            .get(&url)
            .header("user-agent", format!("Mozilla/5.0 bench-{i}"))
            .send()
            .await?;
        us.push(t.elapsed().as_micros() as u64);
        if r.status() != reqwest::StatusCode::FOUND {
            bail!("the link answered {}", r.status());
        }
    }
    let s = stats(us);
    engine.flush_link_clicks().await.map_err(err)?;
    let (l, _) = engine.link(&p, link.id).await.map_err(err)?;
    println!(
        "redirect /l/{{code}}: {CLICKS} follows, p50 {:.2} ms p99 {:.2} ms max {:.2} ms (client side, loopback); {} clicks counted",
        s.p50 as f64 / 1000.0,
        s.p99 as f64 / 1000.0,
        s.max as f64 / 1000.0,
        l.clicks
    );
    if l.clicks != CLICKS as i64 {
        bail!("{} clicks counted of {CLICKS}", l.clicks);
    }
    Ok(())
}

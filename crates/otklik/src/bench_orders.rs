//! `otklik bench orders`: order pushes poured into a fresh server process
//! (embedded database) through `POST /api/v1/orders` at a fixed rate, as a
//! busy store sends them — new orders and their later steps (paid, shipped
//! with a parcel, delivered) — while an agent keeps opening customer pages.
//! Measured: the rate the server took pushes at and their answer time, and
//! the customer page's time under that load against the pages' budget (p99);
//! then every order is checked to be stored once, at its last step.

use crate::bench::{cli, stats};
use anyhow::{Context, bail};
use serde_json::{Value, json};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

const WORKSPACE: &str = "orderbench";
const OWNER: &str = "owner@orderbench.example";
const PASSWORD: &str = "orderbench-password";
/// Requests in flight at most: beyond it the driver waits (and the achieved
/// rate shows it).
const IN_FLIGHT: usize = 256;
/// The customer page's budget at the 99th percentile (the pages' budget).
const PAGE_BUDGET_MS: f64 = 50.0;
/// The steps each order goes through, one push each.
const STEPS: usize = 4;

/// Push `n` of the run: order `n / STEPS`, at step `n % STEPS`; customers
/// have several orders each.
fn push(n: usize, customers: usize) -> Value {
    let order = n / STEPS;
    let customer = order % customers;
    let status = ["placed", "paid", "shipped", "delivered"][n % STEPS];
    let mut body = json!({
        "external_id": format!("B-{order}"),
        "customer": {"name": format!("Покупатель {customer}"), "email": format!("buyer{customer}@bench.example")},
        "status": status, "currency": "RUB", "total": "4990.00",
        "items": [{"sku": "SPK-1", "name": "Умная колонка", "quantity": 1, "price": "4990.00"}],
    });
    if n % STEPS >= 2 {
        body["shipments"] = json!([{"carrier": "CDEK", "tracking_number": format!("RU{order:09}"),
            "tracking_url": format!("https://cdek.example/track/RU{order:09}"),
            "status": if n % STEPS == 2 { "in_transit" } else { "delivered" }}]);
    }
    body
}

/// The position of push `n` in the run: each order's steps follow each
/// other 512 pushes apart (a quarter second at 2,000/s — longer than an
/// answer takes, so a step never overtakes the one before), as a store's day
/// interleaves them.
fn schedule(total: usize) -> Vec<usize> {
    let orders = total / STEPS;
    let window = 512.min(orders.max(1));
    let mut out = Vec::with_capacity(orders * STEPS);
    for block in (0..orders).step_by(window) {
        let end = (block + window).min(orders);
        for step in 0..STEPS {
            for o in block..end {
                out.push(o * STEPS + step);
            }
        }
    }
    out
}

pub async fn orders(rate: usize, secs: u64, customers: usize) -> anyhow::Result<()> {
    let exe = std::env::current_exe().context("finding this program")?;
    let dir = tempfile::tempdir().context("creating a temporary data directory")?;
    cli(
        &exe,
        dir.path(),
        &[
            "workspace",
            "create",
            WORKSPACE,
            "--owner",
            OWNER,
            "--password",
            PASSWORD,
        ],
    )?;
    let token = cli(
        &exe,
        dir.path(),
        &["token", "create", "--workspace", WORKSPACE, "--user", OWNER],
    )?;
    let http = reqwest::Client::builder()
        .pool_max_idle_per_host(IN_FLIGHT)
        .timeout(Duration::from_secs(30))
        .build()?;
    let (server, base) = crate::bench::serve(&exe, dir.path(), &[], &http).await?;
    // An agent's browser session for the customer pages.
    let browser = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(Duration::from_secs(30))
        .build()?;
    let login = browser
        .post(format!("{base}/login"))
        .form(&[
            ("workspace", WORKSPACE),
            ("email", OWNER),
            ("password", PASSWORD),
            ("next", "/app"),
        ])
        .send()
        .await?;
    let cookie = login
        .headers()
        .get("set-cookie")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .context("no session cookie")?
        .to_owned();

    let total = (rate * secs as usize) / STEPS * STEPS;
    let order_count = total / STEPS;
    println!(
        "orders: {total} pushes at {rate}/s ({order_count} orders × {STEPS} steps, {customers} customers), {IN_FLIGHT} in flight at most; customer pages opened alongside"
    );
    let gate = Arc::new(tokio::sync::Semaphore::new(IN_FLIGHT));
    let errors = Arc::new(AtomicUsize::new(0));
    let latencies = Arc::new(std::sync::Mutex::new(Vec::with_capacity(total)));
    let seen: Arc<std::sync::Mutex<Vec<String>>> = Arc::default();
    // The agent: opens a known customer's page, one after another.
    let done = Arc::new(AtomicBool::new(false));
    let reader = {
        let (browser, base, cookie, seen, done) = (
            browser.clone(),
            base.clone(),
            cookie.clone(),
            seen.clone(),
            done.clone(),
        );
        tokio::spawn(async move {
            let mut times = Vec::new();
            let mut failures = 0usize;
            let mut i = 0usize;
            while !done.load(Ordering::Relaxed) {
                let id = {
                    let s = seen.lock().unwrap_or_else(|e| e.into_inner());
                    (!s.is_empty()).then(|| s[(i * 7919) % s.len()].clone())
                };
                i += 1;
                let Some(id) = id else {
                    tokio::time::sleep(Duration::from_millis(20)).await;
                    continue;
                };
                let t0 = Instant::now();
                let ok = browser
                    .get(format!("{base}/app/customers/{id}"))
                    .header("cookie", &cookie)
                    .send()
                    .await
                    .is_ok_and(|r| r.status().is_success());
                if ok {
                    times.push(t0.elapsed().as_micros() as u64);
                } else {
                    failures += 1;
                }
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
            (times, failures)
        })
    };
    let started = Instant::now();
    let mut tasks = tokio::task::JoinSet::new();
    let progress_every = (total / 10).max(1);
    for (k, n) in schedule(total).into_iter().enumerate() {
        let due = started + Duration::from_secs_f64(k as f64 / rate as f64);
        tokio::time::sleep_until(due.into()).await;
        let permit = gate.clone().acquire_owned().await?;
        let (http, base, token) = (http.clone(), base.clone(), token.clone());
        let (errors, latencies, seen) = (errors.clone(), latencies.clone(), seen.clone());
        let body = push(n, customers);
        tasks.spawn(async move {
            let t0 = Instant::now();
            let r = http
                .post(format!("{base}/api/v1/orders"))
                .bearer_auth(&token)
                .json(&body)
                .send()
                .await;
            let us = t0.elapsed().as_micros() as u64;
            match r {
                Ok(r) if r.status().is_success() => {
                    latencies.lock().unwrap_or_else(|e| e.into_inner()).push(us);
                    if r.status() == reqwest::StatusCode::CREATED
                        && let Ok(v) = r.json::<Value>().await
                        && let Some(c) = v["customer_id"].as_str()
                    {
                        seen.lock()
                            .unwrap_or_else(|e| e.into_inner())
                            .push(c.to_owned());
                    }
                }
                _ => {
                    errors.fetch_add(1, Ordering::Relaxed);
                }
            }
            drop(permit);
        });
        if (k + 1) % progress_every == 0 {
            eprintln!("  {} of {total} pushes sent", k + 1);
        }
        while tasks.try_join_next().is_some() {}
    }
    while tasks.join_next().await.is_some() {}
    let elapsed = started.elapsed();
    done.store(true, Ordering::Relaxed);
    let (pages, page_failures) = reader.await.context("the page reader")?;
    let s = stats(latencies.lock().unwrap_or_else(|e| e.into_inner()).clone());
    let errors = errors.load(Ordering::Relaxed);
    println!(
        "  {total} pushes in {:.2} s: {:.0} upserts/s taken (asked {rate}/s); answer median {:.1} ms, p99 {:.1} ms, max {:.1} ms; {errors} not answered 2xx",
        elapsed.as_secs_f64(),
        total as f64 / elapsed.as_secs_f64(),
        s.p50 as f64 / 1000.0,
        s.p99 as f64 / 1000.0,
        s.max as f64 / 1000.0,
    );
    let p = stats(pages.clone());
    let page_p99 = p.p99 as f64 / 1000.0;
    println!(
        "  customer page under load: {} opened, median {:.1} ms, p99 {page_p99:.1} ms (budget {PAGE_BUDGET_MS} ms), {page_failures} failed",
        pages.len(),
        p.p50 as f64 / 1000.0,
    );
    drop(server);
    let config = crate::config::Config {
        data_dir: dir.path().to_path_buf(),
        ..crate::config::Config::default()
    };
    let engine = crate::app::open_engine(&config, Arc::new(store::SystemClock)).await?;
    let p = engine.cli_principal(WORKSPACE).await?;
    let mut stored = 0usize;
    let mut at_last_step = 0usize;
    let mut cursor = None;
    loop {
        let page = engine.orders(&p, None, None, cursor, Some(200)).await?;
        stored += page.len();
        at_last_step += page
            .iter()
            .filter(|o| {
                o.order.status == domain::order::OrderStatus::Delivered
                    && o.order.history.len() == STEPS
                    && o.order.shipments.len() == 1
            })
            .count();
        match page.last() {
            Some(o) if page.len() == 200 => cursor = Some(o.id),
            _ => break,
        }
    }
    engine.close().await;
    println!(
        "  stored: {stored} orders, {at_last_step} at their last step with their whole history (expected {order_count})"
    );
    if errors > 0 || stored != order_count || at_last_step != order_count {
        bail!("pushes were lost, doubled or not answered: see the counts above");
    }
    if page_failures > 0 || page_p99 > PAGE_BUDGET_MS {
        bail!("the customer page missed its budget under load");
    }
    println!("  none lost, none doubled; the customer page within its budget");
    Ok(())
}

//! `otklik bench telegram`: Telegram updates poured into a fresh server
//! process (embedded database) through its webhook at a fixed rate, as
//! Telegram delivers them: many chats at once, some updates redelivered (as
//! Telegram does when an answer is late), some with a photo to fetch. The
//! Bot API is the stand-in on loopback. Measured: the rate the server took
//! them at and the webhook's answer time (median, p99); then the server is
//! stopped and the database is read to check that every update is exactly
//! one message and every photo was fetched.

use crate::bench::{cli, stats};
use anyhow::{Context, bail};
use channels::telegram_stand_in::StandIn;
use serde_json::{Value, json};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

const WORKSPACE: &str = "tgbench";
const OWNER: &str = "owner@tgbench.example";
const TOKEN: &str = "7000000001:AAbenchmark_token_0123456789";
/// Requests in flight at most: beyond it the driver waits (and the achieved
/// rate shows it).
const IN_FLIGHT: usize = 256;

/// The update for message `n` of the run: chat `n % chats`, every 20th with
/// a photo.
fn update(n: usize, chats: usize) -> Value {
    let chat = 1_000_000 + (n % chats) as i64;
    let mut m = json!({
        "message_id": n as i64 + 1, "date": 1_795_000_000,
        "chat": {"id": chat, "type": "private"},
        "from": {"id": chat, "is_bot": false, "first_name": "Клиент", "last_name": format!("№{}", n % chats), "language_code": "ru"},
    });
    if n % 20 == 7 {
        m["caption"] = json!("Фото повреждённой коробки");
        m["photo"] =
            json!([{"file_id": "bench-photo", "width": 1280, "height": 960, "file_size": 4096}]);
    } else {
        m["text"] = json!(format!(
            "Здравствуйте! Где мой заказ {}? Сообщение {n}.",
            10_000 + n
        ));
    }
    json!({"update_id": n as i64 + 1, "message": m})
}

pub async fn telegram(rate: usize, secs: u64, chats: usize) -> anyhow::Result<()> {
    let exe = std::env::current_exe().context("finding this program")?;
    let dir = tempfile::tempdir().context("creating a temporary data directory")?;
    let bot = StandIn::start(TOKEN)
        .await
        .context("starting the Bot API stand-in")?;
    bot.add_file("bench-photo", &[0xff; 4096]);
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
            "tgbench-password",
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
    let (server, base) = crate::bench::serve(
        &exe,
        dir.path(),
        &[("OTKLIK_PUBLIC_URL", "https://desk.bench.invalid")],
        &http,
    )
    .await?;
    let created: Value = http
        .post(format!("{base}/api/v1/channels/telegram"))
        .bearer_auth(&token)
        .json(&json!({"name": "Bench bot", "bot_token": TOKEN, "api_base_url": bot.base}))
        .send()
        .await?
        .error_for_status()?
        .json()
        .await?;
    let channel = created["id"]
        .as_str()
        .context("the channel's id")?
        .to_owned();
    let (_, secret) = bot.webhook().context("setWebhook was not called")?;
    let hook = format!("{base}/hooks/telegram/{channel}");

    let total = rate * secs as usize;
    println!(
        "telegram: {total} updates at {rate}/s over {chats} chats ({} with a photo, every 25th sent twice), {IN_FLIGHT} in flight at most",
        (0..total).filter(|n| n % 20 == 7).count()
    );
    let gate = Arc::new(tokio::sync::Semaphore::new(IN_FLIGHT));
    let errors = Arc::new(AtomicUsize::new(0));
    let latencies = Arc::new(std::sync::Mutex::new(Vec::with_capacity(
        total + total / 25,
    )));
    let started = Instant::now();
    let mut tasks = tokio::task::JoinSet::new();
    let mut sent = 0usize;
    let progress_every = (total / 10).max(1);
    for n in 0..total {
        // Open loop: update n is due at n / rate seconds.
        let due = started + Duration::from_secs_f64(n as f64 / rate as f64);
        tokio::time::sleep_until(due.into()).await;
        let copies = if n % 25 == 3 { 2 } else { 1 };
        for _ in 0..copies {
            let permit = gate.clone().acquire_owned().await?;
            let (http, hook, secret) = (http.clone(), hook.clone(), secret.clone());
            let (errors, latencies) = (errors.clone(), latencies.clone());
            let body = update(n, chats);
            tasks.spawn(async move {
                let t0 = Instant::now();
                let ok = http
                    .post(&hook)
                    .header("X-Telegram-Bot-Api-Secret-Token", &secret)
                    .json(&body)
                    .send()
                    .await
                    .is_ok_and(|r| r.status().is_success());
                let us = t0.elapsed().as_micros() as u64;
                if ok {
                    latencies.lock().unwrap_or_else(|e| e.into_inner()).push(us);
                } else {
                    errors.fetch_add(1, Ordering::Relaxed);
                }
                drop(permit);
            });
            sent += 1;
        }
        if (n + 1) % progress_every == 0 {
            eprintln!("  {} of {total} updates sent", n + 1);
        }
        while tasks.try_join_next().is_some() {}
    }
    while tasks.join_next().await.is_some() {}
    let elapsed = started.elapsed();
    let answered = latencies.lock().unwrap_or_else(|e| e.into_inner()).clone();
    let s = stats(answered.clone());
    let errors = errors.load(Ordering::Relaxed);
    println!(
        "  {sent} webhook calls in {:.2} s: {:.0} updates/s taken (asked {rate}/s); answer median {:.1} ms, p99 {:.1} ms, max {:.1} ms; {errors} not answered 2xx",
        elapsed.as_secs_f64(),
        total as f64 / elapsed.as_secs_f64(),
        s.p50 as f64 / 1000.0,
        s.p99 as f64 / 1000.0,
        s.max as f64 / 1000.0,
    );
    // The photos are fetched by the worker after the answer: wait for them.
    let photos = (0..total).filter(|n| n % 20 == 7).count();
    let wait = Instant::now();
    while bot.calls_of("getFile").len() < photos && wait.elapsed() < Duration::from_secs(60) {
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    // Let the last attachments commit, then stop the server and count.
    tokio::time::sleep(Duration::from_secs(1)).await;
    drop(server);
    let config = crate::config::Config {
        data_dir: dir.path().to_path_buf(),
        ..crate::config::Config::default()
    };
    let engine = crate::app::open_engine(&config, Arc::new(store::SystemClock)).await?;
    let t = engine.totals().await?;
    println!(
        "  stored: {} records, {} customer messages, {} photos, in {} tickets (expected {total}, {total}, {photos}, {chats})",
        t.inbound_telegram, t.telegram_messages, t.telegram_files, t.tickets
    );
    let exact = t.inbound_telegram == total as i64
        && t.telegram_messages == total as i64
        && t.telegram_files == photos as i64
        && t.tickets == chats.min(total) as i64;
    if errors > 0 || !exact {
        bail!("updates were lost or doubled (or not answered): see the counts above");
    }
    println!("  none lost, none doubled");
    Ok(())
}

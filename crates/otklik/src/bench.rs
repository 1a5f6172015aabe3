//! `otklik bench ingest`: starts a fresh server, creates tickets through its HTTP API
//! from concurrent clients (half for customers who already exist, half for new
//! ones), reports throughput and latency, and checks that exactly the requested
//! number of tickets exists afterwards.

use crate::app::Application;
use crate::config::Config;
use anyhow::{Context, bail};
use serde_json::json;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

const EXISTING_CUSTOMERS: usize = 500;

/// Latency figures of one run, in microseconds.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Stats {
    pub p50: u64,
    pub p99: u64,
    pub max: u64,
}

/// Percentiles by the nearest-rank method.
pub fn stats(mut us: Vec<u64>) -> Stats {
    us.sort_unstable();
    let rank = |p: f64| -> u64 {
        if us.is_empty() {
            return 0;
        }
        let i = ((p * us.len() as f64).ceil() as usize).clamp(1, us.len()) - 1;
        us[i]
    };
    Stats {
        p50: rank(0.50),
        p99: rank(0.99),
        max: us.last().copied().unwrap_or(0),
    }
}

pub async fn ingest(
    tickets: usize,
    concurrency: usize,
    database_url: Option<String>,
) -> anyhow::Result<()> {
    if tickets == 0 || concurrency == 0 {
        bail!("--tickets and --concurrency must be at least 1");
    }
    let dir = tempfile::tempdir().context("creating a temporary data directory")?;
    let db_name = format!("otklik_bench_{}", uuid::Uuid::new_v4().simple());
    let mut config = Config {
        listen: "127.0.0.1:0".parse()?,
        data_dir: dir.path().to_path_buf(),
        ..Config::default()
    };
    if let Some(admin) = &database_url {
        config.database_url = Some(
            store::admin::create_database(admin, &db_name)
                .await
                .context("creating the benchmark database")?
                .into(),
        );
        config.max_connections = 32;
    }
    let backend = if database_url.is_some() {
        "PostgreSQL"
    } else {
        "SQLite (WAL, synchronous=FULL)"
    };
    let result = run(config, tickets, concurrency, backend).await;
    if let Some(admin) = &database_url
        && let Err(e) = store::admin::drop_database(admin, &db_name).await
    {
        eprintln!("warning: could not drop {db_name}: {e}");
    }
    result
}

async fn run(
    config: Config,
    tickets: usize,
    concurrency: usize,
    backend: &str,
) -> anyhow::Result<()> {
    let app = Application::build(config).await?;
    let port = app.port();
    let engine = app.engine().clone();
    let (_, owner) = engine
        .create_workspace("bench", "bench@example.com", "bench-password")
        .await
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    let p = engine
        .cli_principal("bench")
        .await
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    let (_, token) = engine
        .create_token(&p, owner.id, "bench")
        .await
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(app.run_until(async move {
        let _ = stop_rx.await;
    }));
    let base = format!("http://127.0.0.1:{port}/api/v1");
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(concurrency)
        .timeout(Duration::from_secs(30))
        .build()?;
    let auth = format!("Bearer {token}");

    eprintln!(
        "bench ingest: {backend}; {tickets} tickets, concurrency {concurrency}; creating {EXISTING_CUSTOMERS} existing customers first"
    );
    for i in 0..EXISTING_CUSTOMERS {
        let r = client.post(format!("{base}/customers")).header("authorization", &auth).json(&json!({"name": format!("Existing {i}"), "email": format!("existing{i}@example.com")})).send().await?;
        if !r.status().is_success() {
            bail!(
                "creating customer {i}: {} {}",
                r.status(),
                r.text().await.unwrap_or_default()
            );
        }
    }

    let next = Arc::new(AtomicUsize::new(0));
    let failures = Arc::new(AtomicUsize::new(0));
    let started = Instant::now();
    let mut tasks = Vec::new();
    for _ in 0..concurrency {
        let (client, next, failures, base, auth) = (
            client.clone(),
            next.clone(),
            failures.clone(),
            base.clone(),
            auth.clone(),
        );
        tasks.push(tokio::spawn(async move {
            let mut lat = Vec::with_capacity(tickets / concurrency + 1);
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                if i >= tickets {
                    return lat;
                }
                let customer = if i % 2 == 0 {
                    json!({"email": format!("existing{}@example.com", (i / 2) % EXISTING_CUSTOMERS)})
                } else {
                    json!({"name": format!("Новый клиент {i}"), "email": format!("new{i}@example.com"), "phone": format!("+7900{:07}", i)})
                };
                let body = json!({
                    "subject": format!("Где мой заказ {}?", 100_000 + i),
                    "channel": "api",
                    "priority": "normal",
                    "customer": customer,
                    "message": {"body": "Здравствуйте! Заказ не пришёл, трек-номер не обновляется уже три дня. / Order has not arrived. / พัสดุยังไม่มาถึงค่ะ"},
                    "tags": ["delivery"],
                });
                let t0 = Instant::now();
                let ok = match client.post(format!("{base}/tickets")).header("authorization", &auth).json(&body).send().await {
                    Ok(r) => r.status() == reqwest::StatusCode::CREATED,
                    Err(_) => false,
                };
                lat.push(t0.elapsed().as_micros() as u64);
                if !ok {
                    failures.fetch_add(1, Ordering::Relaxed);
                }
            }
        }));
    }
    let mut all = Vec::with_capacity(tickets);
    for t in tasks {
        all.extend(t.await?);
    }
    let elapsed = started.elapsed();
    let s = stats(all);
    let failed = failures.load(Ordering::Relaxed);
    let stored = { engine.totals().await?.tickets };
    let _ = stop_tx.send(());
    server.await??;
    println!("backend:     {backend}");
    println!(
        "tickets:     {tickets} in {:.2} s, concurrency {concurrency}",
        elapsed.as_secs_f64()
    );
    println!(
        "throughput:  {:.0} tickets/s",
        tickets as f64 / elapsed.as_secs_f64()
    );
    println!(
        "latency:     p50 {:.2} ms   p99 {:.2} ms   max {:.2} ms",
        s.p50 as f64 / 1000.0,
        s.p99 as f64 / 1000.0,
        s.max as f64 / 1000.0
    );
    println!("verified:    {stored} tickets stored, {failed} requests failed");
    if failed > 0 || stored != tickets as i64 {
        bail!(
            "expected exactly {tickets} tickets and no failures, found {stored} stored and {failed} failed"
        );
    }
    Ok(())
}

/// A server process a benchmark started; stopped when dropped.
pub struct Server(std::process::Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Runs `otklik ARGS --data-dir DIR` (this program) and returns what it printed.
pub fn cli(exe: &std::path::Path, dir: &std::path::Path, args: &[&str]) -> anyhow::Result<String> {
    let out = std::process::Command::new(exe)
        .args(args)
        .arg("--data-dir")
        .arg(dir)
        .env("OTKLIK_LOG", "error")
        .output()
        .with_context(|| format!("running otklik {}", args.join(" ")))?;
    if !out.status.success() {
        bail!(
            "otklik {} failed: {}",
            args.join(" "),
            String::from_utf8_lossy(&out.stderr)
        );
    }
    Ok(String::from_utf8_lossy(&out.stdout).trim().to_owned())
}

/// Starts `otklik serve` on a free loopback port over `dir` (with `env`
/// added) and waits until it answers; the server and its base address.
pub async fn serve(
    exe: &std::path::Path,
    dir: &std::path::Path,
    env: &[(&str, &str)],
    http: &reqwest::Client,
) -> anyhow::Result<(Server, String)> {
    let port = std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port();
    let base = format!("http://127.0.0.1:{port}");
    let server = Server(
        std::process::Command::new(exe)
            .args([
                "serve",
                "--listen",
                &format!("127.0.0.1:{port}"),
                "--data-dir",
            ])
            .arg(dir)
            .env("OTKLIK_LOG", "error")
            .envs(env.iter().copied())
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .context("starting the server")?,
    );
    for _ in 0..300 {
        if http
            .get(format!("{base}/healthz"))
            .send()
            .await
            .is_ok_and(|r| r.status().is_success())
        {
            return Ok((server, base));
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    bail!("the server did not come up")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nearest_rank_percentiles() {
        let s = stats((1..=100).collect());
        assert_eq!((s.p50, s.p99, s.max), (50, 99, 100));
        assert_eq!(stats(vec![]).max, 0);
        assert_eq!(stats(vec![7]).p99, 7);
    }
}

//! `otklik bench burst`: what a flood of expensive requests does to a fresh
//! server running as its own process. Three bursts, one after the other: logins
//! (valid, wrong password, unknown workspace), large emails, and emails of deeply
//! nested HTML. For each: how every request was answered, the latency of
//! `/healthz` meanwhile, and the server's peak resident memory.

use crate::bench::stats;
use anyhow::{Context, bail};
use serde_json::json;
use std::collections::BTreeMap;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// Resident memory of a process, in KiB (Linux).
pub(crate) fn rss_kib(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status
        .lines()
        .find(|l| l.starts_with("VmRSS:"))?
        .split_whitespace()
        .nth(1)?
        .parse()
        .ok()
}

struct Server {
    child: Child,
    base: String,
    _dir: tempfile::TempDir,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn run(exe: &std::path::Path, dir: &std::path::Path, args: &[&str]) -> anyhow::Result<String> {
    let out = Command::new(exe)
        .args(args)
        .arg("--data-dir")
        .arg(dir)
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

async fn start() -> anyhow::Result<(Server, String)> {
    let exe = std::env::current_exe().context("finding this program")?;
    let dir = tempfile::tempdir().context("creating a temporary data directory")?;
    let d = dir.path();
    run(
        &exe,
        d,
        &[
            "workspace",
            "create",
            "burst",
            "--owner",
            "owner@burst.example",
            "--password",
            "burst-password",
        ],
    )?;
    let token = run(
        &exe,
        d,
        &[
            "token",
            "create",
            "--workspace",
            "burst",
            "--user",
            "owner@burst.example",
        ],
    )?;
    let port = std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port();
    let child = Command::new(&exe)
        .args(["serve", "--listen", &format!("127.0.0.1:{port}")])
        .arg("--data-dir")
        .arg(d)
        .env("OTKLIK_LOG_FORMAT", "json")
        .env("RUST_LOG", "error")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .context("starting the server")?;
    let server = Server {
        child,
        base: format!("http://127.0.0.1:{port}"),
        _dir: dir,
    };
    let http = reqwest::Client::new();
    for _ in 0..200 {
        if http
            .get(format!("{}/healthz", server.base))
            .send()
            .await
            .is_ok_and(|r| r.status().is_success())
        {
            return Ok((server, token));
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    bail!("the server did not come up")
}

/// What one burst came to.
struct Burst {
    name: &'static str,
    answers: BTreeMap<String, usize>,
    secs: f64,
    health: crate::bench::Stats,
    health_failures: usize,
    peak_rss_kib: u64,
}

/// Runs `requests` while probing `/healthz` every 10 ms and sampling memory.
async fn burst<F>(name: &'static str, server: &Server, requests: Vec<F>) -> Burst
where
    F: std::future::Future<Output = String> + Send + 'static,
{
    let done = Arc::new(AtomicBool::new(false));
    let peak = Arc::new(AtomicU64::new(0));
    let pid = server.child.id();
    let sampler = {
        let (done, peak) = (done.clone(), peak.clone());
        tokio::spawn(async move {
            while !done.load(Ordering::Relaxed) {
                if let Some(r) = rss_kib(pid) {
                    peak.fetch_max(r, Ordering::Relaxed);
                }
                tokio::time::sleep(Duration::from_millis(25)).await;
            }
        })
    };
    // The prober has a thread and runtime of its own and a connection opened
    // before the burst, as a monitor keeps one: it measures the server, not the
    // queue of this program's own burst tasks or of the burst's new connections.
    let prober = {
        let done = done.clone();
        let url = format!("{}/healthz", server.base);
        let (ready_tx, ready_rx) = tokio::sync::oneshot::channel();
        let handle = std::thread::spawn(move || {
            let Ok(rt) = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
            else {
                return (Vec::new(), 1);
            };
            rt.block_on(async move {
                let http = reqwest::Client::builder()
                    .timeout(Duration::from_secs(30))
                    .build()
                    .unwrap_or_default();
                let _ = http.get(&url).send().await;
                let _ = ready_tx.send(());
                let (mut times, mut failures) = (Vec::new(), 0);
                while !done.load(Ordering::Relaxed) {
                    let t = Instant::now();
                    match http.get(&url).send().await {
                        Ok(r) if r.status().is_success() => {
                            times.push(t.elapsed().as_micros() as u64)
                        }
                        _ => failures += 1,
                    }
                    tokio::time::sleep(Duration::from_millis(10)).await;
                }
                (times, failures)
            })
        });
        let _ = ready_rx.await;
        handle
    };
    let started = Instant::now();
    let tasks: Vec<_> = requests.into_iter().map(tokio::spawn).collect();
    let mut answers = BTreeMap::new();
    for t in tasks {
        let a = t
            .await
            .unwrap_or_else(|e| format!("client task failed: {e}"));
        *answers.entry(a).or_insert(0) += 1;
    }
    let secs = started.elapsed().as_secs_f64();
    done.store(true, Ordering::Relaxed);
    let _ = sampler.await;
    let (times, health_failures) = tokio::task::spawn_blocking(move || prober.join())
        .await
        .ok()
        .and_then(Result::ok)
        .unwrap_or_default();
    Burst {
        name,
        answers,
        secs,
        health: stats(times),
        health_failures,
        peak_rss_kib: peak.load(Ordering::Relaxed),
    }
}

fn email(i: usize, body: &str, html: bool) -> Vec<u8> {
    let ct = if html { "text/html" } else { "text/plain" };
    format!(
        "From: sender{i}@burst.example\r\nTo: help@burst.example\r\nSubject: burst {i}\r\nMessage-ID: <burst-{i}-{}@burst.example>\r\nMIME-Version: 1.0\r\nContent-Type: {ct}; charset=utf-8\r\n\r\n{body}\r\n",
        uuid::Uuid::new_v4().simple()
    )
    .into_bytes()
}

pub async fn burst_all(logins: usize, big_emails: usize, html_emails: usize) -> anyhow::Result<()> {
    let (server, token) = start().await?;
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(120))
        .build()?;
    let mailbox = http
        .post(format!("{}/api/v1/channels/email", server.base))
        .bearer_auth(&token)
        .json(
            &json!({"name": "Help", "address": "help@burst.example", "inbound": {"kind": "pipe"},
                      "settings": {"auto_ack": {"enabled": false}}}),
        )
        .send()
        .await?
        .json::<serde_json::Value>()
        .await?["id"]
        .as_str()
        .context("creating the mailbox")?
        .to_owned();
    tokio::time::sleep(Duration::from_millis(500)).await;
    let idle = rss_kib(server.child.id()).unwrap_or(0);
    let answer = |r: Result<reqwest::Response, reqwest::Error>| match r {
        Ok(r) => r.status().as_u16().to_string(),
        Err(e) if e.is_timeout() => "timeout".to_owned(),
        Err(_) => "connection error".to_owned(),
    };
    let mut results = Vec::new();

    let login_url = format!("{}/api/v1/auth/login", server.base);
    let requests = (0..logins)
        .map(|i| {
            let (http, url) = (http.clone(), login_url.clone());
            let body = match i % 3 {
                0 => json!({"workspace": "burst", "email": "owner@burst.example", "password": "burst-password"}),
                1 => json!({"workspace": "burst", "email": "owner@burst.example", "password": "wrong"}),
                _ => json!({"workspace": format!("nowhere{i}"), "email": "x@y.example", "password": "guess"}),
            };
            async move { answer(http.post(&url).json(&body).send().await) }
        })
        .collect();
    results.push(burst("logins", &server, requests).await);

    let pipe = format!("{}/api/v1/channels/email/{mailbox}/inbound", server.base);
    let post = |raw: Vec<u8>| {
        let (http, url, token) = (http.clone(), pipe.clone(), token.clone());
        async move {
            answer(
                http.post(&url)
                    .bearer_auth(&token)
                    .header("content-type", "message/rfc822")
                    .body(raw)
                    .send()
                    .await,
            )
        }
    };
    // 20 MB of text: lines of 76 characters, as mail carries them.
    let line = format!("{}\r\n", "Где мой заказ? ".repeat(5));
    let big = line.repeat(20 * 1024 * 1024 / line.len());
    let requests = (0..big_emails)
        .map(|i| post(email(i, &big, false)))
        .collect();
    results.push(burst("20 MB emails", &server, requests).await);

    let nested = format!("{}deep{}", "<div>".repeat(26_000), "</div>".repeat(26_000));
    let requests = (0..html_emails)
        .map(|i| post(email(10_000 + i, &nested, true)))
        .collect();
    results.push(burst("260 KB nested-HTML emails", &server, requests).await);

    println!(
        "burst against a fresh server (SQLite), idle RSS {} MB:",
        idle / 1024
    );
    println!(
        "  {:<28} {:>7} {:>10} {:>10} {:>10} {:>9} {:>9}  answers",
        "burst", "seconds", "health p50", "health p99", "health max", "failed", "peak RSS"
    );
    for b in &results {
        let answers: Vec<String> = b.answers.iter().map(|(k, n)| format!("{k}×{n}")).collect();
        println!(
            "  {:<28} {:>7.2} {:>7.1} ms {:>7.1} ms {:>7.1} ms {:>9} {:>6} MB  {}",
            b.name,
            b.secs,
            b.health.p50 as f64 / 1000.0,
            b.health.p99 as f64 / 1000.0,
            b.health.max as f64 / 1000.0,
            b.health_failures,
            b.peak_rss_kib / 1024,
            answers.join(", ")
        );
    }
    let after = rss_kib(server.child.id()).unwrap_or(0);
    println!("  RSS after the bursts: {} MB", after / 1024);
    let unanswered: usize = results
        .iter()
        .flat_map(|b| b.answers.iter())
        .filter(|(k, _)| k.parse::<u16>().is_err())
        .map(|(_, n)| n)
        .sum();
    if unanswered > 0 {
        bail!("{unanswered} request(s) got no HTTP answer");
    }
    Ok(())
}

//! `otklik bench chat`: thousands of chat visitors on fresh server processes.
//!
//! Every visitor has its own websocket and writes every few seconds (through
//! the client API, as the widget does); for each message an agent answers
//! through the API. Measured: the round trip of an agent's reply to the
//! visitor's socket (from sending the reply to the visitor receiving it), how
//! long a visitor's message takes to show on an agent's live socket, messages
//! per second, and each server's resident memory. With `--database-url` two
//! server processes share a fresh PostgreSQL database and the visitors are
//! split between them: replies then cross nodes.

use crate::bench::stats;
use anyhow::{Context, bail};
use futures::StreamExt;
use serde_json::{Value, json};
use std::collections::HashMap;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio_tungstenite::tungstenite::Message as WsMessage;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;

const WORKSPACE: &str = "chatbench";
const OWNER: &str = "owner@chatbench.example";
const PASSWORD: &str = "chatbench-password";

struct Node {
    child: Child,
    base: String,
}

impl Drop for Node {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn cli(
    exe: &std::path::Path,
    dir: &std::path::Path,
    env: &[(&str, String)],
    args: &[&str],
) -> anyhow::Result<String> {
    let out = Command::new(exe)
        .args(args)
        .arg("--data-dir")
        .arg(dir)
        .envs(env.iter().map(|(k, v)| (*k, v.as_str())))
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

/// Shared state of one run.
#[derive(Default)]
struct Run {
    /// Reply text → when the agent sent it.
    replies: Mutex<HashMap<String, Instant>>,
    /// Ticket → when its visitor last wrote (for the agent-side latency).
    written: Mutex<HashMap<String, Instant>>,
    reply_us: Mutex<Vec<u64>>,
    to_agent_us: Mutex<Vec<u64>>,
    visitor_sent: AtomicUsize,
    agent_sent: AtomicUsize,
    errors: AtomicUsize,
    measuring: std::sync::atomic::AtomicBool,
}

type Socket =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

async fn ws(url: &str, headers: &[(&'static str, String)]) -> anyhow::Result<Socket> {
    let mut r = url.into_client_request()?;
    for (k, v) in headers {
        r.headers_mut().insert(*k, v.parse()?);
    }
    let (s, _) = tokio_tungstenite::connect_async(r).await?;
    Ok(s)
}

pub async fn chat(
    visitors: usize,
    secs: u64,
    interval: u64,
    database_url: Option<String>,
) -> anyhow::Result<()> {
    let exe = std::env::current_exe().context("finding this program")?;
    let dir = tempfile::tempdir().context("creating a temporary data directory")?;
    let db_name = format!("otklik_chatbench_{}", uuid::Uuid::now_v7().simple());
    let mut env: Vec<(&str, String)> = vec![
        ("OTKLIK_LOG", "error".into()),
        ("OTKLIK_TRUSTED_PROXIES", "127.0.0.1".into()),
        (
            "OTKLIK_SECRET_KEY",
            (0..32)
                .map(|i| format!("{:02x}", (i * 29 + 7) % 256))
                .collect(),
        ),
        ("OTKLIK_IMAP_POLLERS", "false".into()),
    ];
    if let Some(admin) = &database_url {
        let url = store::admin::create_database(admin, &db_name).await?;
        env.push(("DATABASE_URL", url));
        env.push(("OTKLIK_MAX_CONNECTIONS", "16".into()));
    }
    let nodes_n = if database_url.is_some() { 2 } else { 1 };
    let result = async {
        cli(
            &exe,
            dir.path(),
            &env,
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
            &env,
            &["token", "create", "--workspace", WORKSPACE, "--user", OWNER],
        )?;
        let mut nodes = Vec::new();
        for i in 0..nodes_n {
            let port = std::net::TcpListener::bind("127.0.0.1:0")?
                .local_addr()?
                .port();
            // On SQLite the one node serves the directory the workspace was made
            // in; on PostgreSQL each node has its own (its search index).
            let data = if database_url.is_some() {
                let d = dir.path().join(format!("node{i}"));
                std::fs::create_dir_all(&d)?;
                d
            } else {
                dir.path().to_path_buf()
            };
            let child = Command::new(&exe)
                .args([
                    "serve",
                    "--listen",
                    &format!("127.0.0.1:{port}"),
                    "--data-dir",
                ])
                .arg(&data)
                .envs(env.iter().map(|(k, v)| (*k, v.as_str())))
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .context("starting a server")?;
            nodes.push(Node {
                child,
                base: format!("http://127.0.0.1:{port}"),
            });
        }
        let http = reqwest::Client::builder()
            .pool_max_idle_per_host(256)
            .build()?;
        for n in &nodes {
            let mut up = false;
            for _ in 0..300 {
                if http
                    .get(format!("{}/healthz", n.base))
                    .send()
                    .await
                    .is_ok_and(|r| r.status().is_success())
                {
                    up = true;
                    break;
                }
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
            if !up {
                bail!("a server did not come up");
            }
        }
        drive(&nodes, &token, visitors, secs, interval, &http).await
    }
    .await;
    if let Some(admin) = &database_url
        && let Err(e) = store::admin::drop_database(admin, &db_name).await
    {
        eprintln!("could not drop the benchmark database {db_name}: {e}");
    }
    result
}

async fn drive(
    nodes: &[Node],
    token: &str,
    visitors: usize,
    secs: u64,
    interval: u64,
    http: &reqwest::Client,
) -> anyhow::Result<()> {
    let base0 = nodes[0].base.clone();
    let c: Value = http
        .post(format!("{base0}/api/v1/channels/chat"))
        .bearer_auth(token)
        .json(&json!({"name": "Bench chat"}))
        .send()
        .await?
        .json()
        .await?;
    let key = c["widget_key"]
        .as_str()
        .context("no widget key")?
        .to_owned();
    let run = Arc::new(Run::default());

    // Agents: one live socket per node, as the agent workspace holds.
    let mut agent_tasks = Vec::new();
    for n in nodes {
        let login = http
            .post(format!("{}/api/v1/auth/login", n.base))
            .json(&json!({"workspace": WORKSPACE, "email": OWNER, "password": PASSWORD}))
            .send()
            .await?;
        let cookie = login
            .headers()
            .get_all("set-cookie")
            .iter()
            .filter_map(|c| c.to_str().ok())
            .find(|c| c.starts_with("otklik_session="))
            .and_then(|c| c.split(';').next())
            .context("no session cookie")?
            .to_owned();
        let mut s = ws(
            &format!("{}/app/ws", n.base.replace("http://", "ws://")),
            &[("origin", n.base.clone()), ("cookie", cookie)],
        )
        .await?;
        let run = run.clone();
        agent_tasks.push(tokio::spawn(async move {
            while let Some(Ok(m)) = s.next().await {
                let WsMessage::Text(t) = m else { continue };
                let Ok(v) = serde_json::from_str::<Value>(t.as_str()) else {
                    continue;
                };
                if v["t"] == "change"
                    && v["kind"] == "message.added"
                    && let Some(ticket) = v["ticket"].as_str()
                {
                    let at = run.written.lock().ok().and_then(|mut w| w.remove(ticket));
                    if let Some(at) = at
                        && run.measuring.load(Ordering::Relaxed)
                        && let Ok(mut l) = run.to_agent_us.lock()
                    {
                        l.push(at.elapsed().as_micros() as u64);
                    }
                }
            }
        }));
    }

    // Visitors: created through the client API (each from its own address, as
    // behind a load balancer), each with a socket on its node.
    eprint!("connecting {visitors} visitors…");
    let started = Instant::now();
    let sem = Arc::new(tokio::sync::Semaphore::new(64));
    let mut joins = Vec::new();
    for i in 0..visitors {
        let (sem, http, key) = (sem.clone(), http.clone(), key.clone());
        let base = nodes[i % nodes.len()].base.clone();
        joins.push(tokio::spawn(async move {
            let _p = sem.acquire().await.ok()?;
            let ip = format!("10.{}.{}.{}", (i >> 16) & 255, (i >> 8) & 255, i & 255);
            let v: Value = http
                .post(format!("{base}/widget/v1/{key}/visitors"))
                .header("x-forwarded-for", ip)
                .json(&json!({"name": format!("Visitor {i}")}))
                .send()
                .await
                .ok()?
                .json()
                .await
                .ok()?;
            let token = v["visitor_token"].as_str()?.to_owned();
            let s = ws(
                &format!(
                    "{}/widget/v1/{key}/ws?token={token}",
                    base.replace("http://", "ws://")
                ),
                &[],
            )
            .await
            .ok()?;
            Some((base, token, s))
        }));
    }
    let mut conns = Vec::new();
    for j in joins {
        if let Ok(Some(c)) = j.await {
            conns.push(c);
        }
    }
    eprintln!(
        " {} connected in {:.1} s",
        conns.len(),
        started.elapsed().as_secs_f64()
    );
    if conns.len() < visitors {
        eprintln!("  {} visitors could not connect", visitors - conns.len());
    }

    // The run: each visitor writes every `interval` seconds (spread evenly);
    // each message gets an agent's reply.
    let seq = Arc::new(AtomicU64::new(0));
    let deadline = Instant::now() + Duration::from_secs(secs + 3);
    let measure_from = Instant::now() + Duration::from_secs(3);
    let mut tasks = Vec::new();
    let n = conns.len().max(1);
    for (i, (base, vtoken, mut sock)) in conns.into_iter().enumerate() {
        let (run, http, key, seq, token) = (
            run.clone(),
            http.clone(),
            key.clone(),
            seq.clone(),
            token.to_owned(),
        );
        let offset = Duration::from_millis(interval * 1000 * i as u64 / n as u64);
        tasks.push(tokio::spawn(async move {
            let mut next = Instant::now() + offset;
            loop {
                let wait = next.saturating_duration_since(Instant::now());
                tokio::select! {
                    m = sock.next() => match m {
                        Some(Ok(WsMessage::Text(t))) => {
                            if let Ok(v) = serde_json::from_str::<Value>(t.as_str())
                                && v["type"] == "message"
                                && v["message"]["author"]["kind"] == "agent"
                                && let Some(text) = v["message"]["text"].as_str()
                            {
                                let at = run.replies.lock().ok().and_then(|mut r| r.remove(text));
                                if let Some(at) = at
                                    && run.measuring.load(Ordering::Relaxed)
                                    && let Ok(mut l) = run.reply_us.lock()
                                {
                                    l.push(at.elapsed().as_micros() as u64);
                                }
                            }
                        }
                        Some(Ok(_)) => {}
                        _ => { run.errors.fetch_add(1, Ordering::Relaxed); return; }
                    },
                    _ = tokio::time::sleep(wait) => {
                        if Instant::now() > deadline { return; }
                        next += Duration::from_secs(interval);
                        let k = seq.fetch_add(1, Ordering::Relaxed);
                        let sent_at = Instant::now();
                        let r = http
                            .post(format!("{base}/widget/v1/{key}/messages"))
                            .bearer_auth(&vtoken)
                            .json(&json!({"client_id": format!("c{k}"), "text": format!("Где мой заказ {k}?")}))
                            .send()
                            .await;
                        let Some(v) = (match r {
                            Ok(r) if r.status().is_success() => r.json::<Value>().await.ok(),
                            _ => None,
                        }) else {
                            run.errors.fetch_add(1, Ordering::Relaxed);
                            continue;
                        };
                        run.visitor_sent.fetch_add(1, Ordering::Relaxed);
                        let t = v["ticket_id"].as_str().unwrap_or_default().to_owned();
                        if let Ok(mut w) = run.written.lock() {
                            w.insert(t.clone(), sent_at);
                        }
                        // The agent answers.
                        {
                            let text = format!("Ответ {k}");
                            if let Ok(mut r) = run.replies.lock() {
                                r.insert(text.clone(), Instant::now());
                            }
                            let ok = http
                                .post(format!("{base}/api/v1/tickets/{t}/messages"))
                                .bearer_auth(&token)
                                .json(&json!({"body": text, "visibility": "public"}))
                                .send()
                                .await
                                .is_ok_and(|r| r.status().is_success());
                            if ok {
                                run.agent_sent.fetch_add(1, Ordering::Relaxed);
                            } else {
                                run.errors.fetch_add(1, Ordering::Relaxed);
                            }
                        }
                    }
                }
            }
        }));
    }
    // Memory, sampled each second; measuring starts after a warm-up.
    let pids: Vec<u32> = nodes.iter().map(|n| n.child.id()).collect();
    let mut peak = vec![0u64; pids.len()];
    let mut counted_from = (0usize, 0usize);
    let mut t0 = Instant::now();
    while Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(500)).await;
        if !run.measuring.load(Ordering::Relaxed) && Instant::now() >= measure_from {
            run.measuring.store(true, Ordering::Relaxed);
            counted_from = (
                run.visitor_sent.load(Ordering::Relaxed),
                run.agent_sent.load(Ordering::Relaxed),
            );
            t0 = Instant::now();
        }
        for (i, pid) in pids.iter().enumerate() {
            peak[i] = peak[i].max(crate::bench_burst::rss_kib(*pid).unwrap_or(0));
        }
    }
    let window = t0.elapsed().as_secs_f64();
    let sent = (
        run.visitor_sent.load(Ordering::Relaxed) - counted_from.0,
        run.agent_sent.load(Ordering::Relaxed) - counted_from.1,
    );
    tokio::time::sleep(Duration::from_millis(500)).await;
    for t in &tasks {
        t.abort();
    }
    for t in &agent_tasks {
        t.abort();
    }
    let reply = stats(run.reply_us.lock().map(|v| v.clone()).unwrap_or_default());
    let reply_n = run.reply_us.lock().map(|v| v.len()).unwrap_or(0);
    let to_agent = stats(
        run.to_agent_us
            .lock()
            .map(|v| v.clone())
            .unwrap_or_default(),
    );
    let ms = |us: u64| us as f64 / 1000.0;
    println!(
        "Chat: {} visitor sockets on {} node(s){}, each writing every {interval} s, an agent answering each message",
        n,
        nodes.len(),
        if nodes.len() > 1 {
            " (PostgreSQL)"
        } else {
            " (SQLite)"
        }
    );
    println!(
        "  measured {window:.1} s: {} visitor messages + {} agent replies = {:.0} messages/s",
        sent.0,
        sent.1,
        (sent.0 + sent.1) as f64 / window
    );
    println!(
        "  agent reply → visitor's socket: {reply_n} replies   p50 {:.2} ms   p99 {:.2} ms   max {:.2} ms",
        ms(reply.p50),
        ms(reply.p99),
        ms(reply.max)
    );
    println!(
        "  visitor message → agent's socket: p50 {:.2} ms   p99 {:.2} ms   max {:.2} ms",
        ms(to_agent.p50),
        ms(to_agent.p99),
        ms(to_agent.max)
    );
    for (i, p) in peak.iter().enumerate() {
        println!("  server {} peak RSS {:.0} MB", i + 1, *p as f64 / 1024.0);
    }
    println!("  errors: {}", run.errors.load(Ordering::Relaxed));
    let worst_rss = peak.iter().copied().max().unwrap_or(0) as f64 / 1024.0;
    if reply.p99 < 100_000 && worst_rss < 300.0 {
        println!("Targets met (p99 < 100 ms, RSS < 300 MB).");
    } else {
        println!("Targets missed (p99 < 100 ms, RSS < 300 MB).");
    }
    Ok(())
}

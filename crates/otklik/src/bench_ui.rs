//! `otklik bench ui`: server time of the agent workspace's pages on a fresh embedded
//! database holding 10,000 open tickets, and one ticket with a 200-message thread.
//! Requests go through the real router in process, so the figures are the server's
//! own time (routing, session check, queries, rendering), without a network.

use crate::app::open_engine;
use crate::bench::stats;
use crate::config::Config;
use anyhow::{Context, anyhow};
use axum::body::Body;
use axum::http::Request;
use domain::ticket::{Channel, Visibility};
use engine::tickets::{
    Body as MsgBody, CustomerRef, NewMessage, NewTicket, TicketPatch, TicketRef,
};
use std::io::Write;
use std::sync::Arc;
use std::time::Instant;
use tower::ServiceExt;

/// The budget of a page's server time at the 99th percentile.
const BUDGET_MS: f64 = 50.0;
/// The budget of script and style a page loads.
/// Script and style the agent workspace ships (its pages load app.css and
/// app.js, nothing else).
const ASSET_BUDGET: usize = 60 * 1024;

pub async fn ui(tickets: usize, messages: usize, requests: usize) -> anyhow::Result<()> {
    let dir = tempfile::tempdir().context("creating a temporary data directory")?;
    let config = Config {
        data_dir: dir.path().join("data"),
        ..Config::default()
    };
    let engine = open_engine(&config, Arc::new(store::SystemClock)).await?;
    let e = |e: engine::EngineError| anyhow!("{e:?}");
    let (_, owner) = engine
        .create_workspace("bench", "owner@bench.example", "bench-password")
        .await
        .map_err(e)?;
    let p = engine.cli_principal("bench").await.map_err(e)?;

    // Seed: open tickets from a few hundred customers, some assigned to the owner.
    let started = Instant::now();
    let next = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let mut tasks = Vec::new();
    for _ in 0..8 {
        let (engine, p, next) = (engine.clone(), p.clone(), next.clone());
        tasks.push(tokio::spawn(async move {
            loop {
                let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                if i >= tickets {
                    return Ok::<(), anyhow::Error>(());
                }
                engine
                    .create_ticket(
                        &p,
                        NewTicket {
                            subject: format!("Заказ {} не пришёл — order {i} missing", 10_000 + i),
                            channel: if i % 3 == 0 {
                                Channel::Email
                            } else {
                                Channel::Chat
                            },
                            priority: None,
                            customer: CustomerRef::Input(engine::customers::CustomerInput {
                                name: Some(format!("Покупатель {}", i % 700)),
                                language: None,
                                identities: vec![
                                    domain::identity::Identity::parse(
                                        domain::identity::IdentityKind::Email,
                                        &format!("customer{}@example.com", i % 700),
                                    )
                                    .map_err(|e| anyhow!("{e}"))?,
                                ],
                                ..Default::default()
                            }),
                            body: MsgBody {
                                text: "Здравствуйте! Заказ оплачен, но до сих пор не доставлен."
                                    .into(),
                                ..Default::default()
                            },
                            external_id: None,
                            tags: vec!["delivery".into()],
                            category: None,
                            assignee_id: (i % 10 == 0).then_some(p.user_id),
                            team_id: None,
                            tier: None,
                            custom_fields: Default::default(),
                            from_agent: false,
                            status: None,
                            cc: Vec::new(),
                            account_id: None,
                        },
                        None,
                    )
                    .await
                    .map_err(|e| anyhow!("{e}"))?;
                if i % 500 == 0 {
                    print!("\rseeding tickets: {i}/{tickets}");
                    let _ = std::io::stdout().flush();
                }
            }
        }));
    }
    for t in tasks {
        t.await??;
    }
    println!(
        "\rseeding tickets: {tickets}/{tickets} in {:.1}s",
        started.elapsed().as_secs_f64()
    );

    // One long thread: replies, notes and customer messages, some in HTML.
    let (long, _) = engine
        .ticket_page(&p, &Default::default(), 0, 1)
        .await
        .map_err(e)?;
    let long = long.first().context("a ticket")?.clone();
    for i in 1..messages {
        let html = (i % 4 == 0).then(|| {
            format!("<p>Ответ <b>{i}</b>: проверили заказ, <a href=\"https://shop.example/o/{i}\">ссылка</a>.</p><blockquote>цитата</blockquote>")
        });
        engine
            .add_message(
                &p,
                TicketRef::Id(long.id),
                NewMessage {
                    body: MsgBody {
                        text: format!("Сообщение {i}: уточните, пожалуйста, адрес доставки.\n\n> предыдущее письмо\n> ещё строка"),
                        html,
                        attachments: Vec::new(),
                    },
                    visibility: if i % 5 == 0 { Visibility::Internal } else { Visibility::Public },
                    as_customer: i % 2 == 1 && i % 5 != 0,
                    status: None,
                    external_id: None,
                    imported: true,
                    template: None,
                },
                None,
            )
            .await
            .map_err(e)?;
    }
    engine
        .update_ticket(
            &p,
            TicketRef::Id(long.id),
            TicketPatch {
                tags: Some(vec!["vip".into()]),
                ..Default::default()
            },
        )
        .await
        .map_err(e)?;
    println!("thread of #{}: {messages} messages", long.number);

    let session = engine
        .login(
            "bench",
            "owner@bench.example",
            "bench-password",
            false,
            "127.0.0.1",
        )
        .await
        .map_err(e)?;
    let cookie = format!("otklik_session={}", session.secret);
    let router = web::router(engine.clone(), web::WebConfig::default());
    let _ = owner;

    println!(
        "\n{:<38} {:>9} {:>9} {:>9} {:>9}",
        "page (server time, ms)", "p50", "p99", "max", "KB"
    );
    let mut worst_p99 = 0.0f64;
    let pages = [
        (
            "inbox, All open (first page of 50)",
            "/app?view=all".to_owned(),
        ),
        ("inbox, My open", "/app?view=mine".to_owned()),
        (
            "inbox, All open sorted by priority",
            "/app?view=all&sort=priority".to_owned(),
        ),
        ("ticket with its thread", format!("/app/t/{}", long.number)),
    ];
    for (label, path) in &pages {
        let mut us = Vec::with_capacity(requests);
        let mut size = 0;
        for i in 0..requests + 20 {
            let req = Request::get(path.as_str())
                .header("cookie", &cookie)
                .body(Body::empty())?;
            let t = Instant::now();
            let res = router.clone().oneshot(req).await?;
            let status = res.status();
            let bytes = axum::body::to_bytes(res.into_body(), 64 * 1024 * 1024).await?;
            let took = t.elapsed();
            if !status.is_success() {
                anyhow::bail!("{path}: {status}");
            }
            size = bytes.len();
            // The first requests warm caches and are not counted.
            if i >= 20 {
                us.push(took.as_micros() as u64);
            }
        }
        let s = stats(us);
        worst_p99 = worst_p99.max(s.p99 as f64 / 1000.0);
        println!(
            "{label:<38} {:>9.2} {:>9.2} {:>9.2} {:>9.1}",
            s.p50 as f64 / 1000.0,
            s.p99 as f64 / 1000.0,
            s.max as f64 / 1000.0,
            size as f64 / 1024.0
        );
    }
    use web::ui::assets::{CHAT_WIDGET, HELP_CENTER, WORKSPACE, code_bytes};
    let assets = code_bytes(WORKSPACE);
    println!(
        "\nscript + style the workspace ships: {:.1} KB (budget {} KB); fonts are separate",
        assets as f64 / 1024.0,
        ASSET_BUDGET / 1024
    );
    println!(
        "elsewhere: help center {:.1} KB, chat widget {:.1} KB",
        code_bytes(HELP_CENTER) as f64 / 1024.0,
        code_bytes(CHAT_WIDGET) as f64 / 1024.0
    );
    let ok = worst_p99 < BUDGET_MS && assets < ASSET_BUDGET;
    println!(
        "{} worst p99 {worst_p99:.2} ms against a budget of {BUDGET_MS} ms ({tickets} open tickets, {requests} requests per page)",
        if ok { "PASS" } else { "OVER BUDGET:" }
    );
    engine.close().await;
    if ok {
        Ok(())
    } else {
        anyhow::bail!("over budget")
    }
}

//! `otklik bench rules`: the cost of the decisions made on every event, and
//! the service the routing and SLA machinery gives under load.
//!
//! 1. Decisions: one routing decision among 200 agents, timed alone (in
//!    process, no I/O), per mode.
//! 2. A burst: N tickets arrive at once for a team of 200 agents whose
//!    capacities add up to N; every ticket must end up with an agent, none
//!    above capacity, none given twice. Reports the time from a ticket's
//!    creation to its assignment and the overall rate.
//! 3. Triggers: 200 stored triggers run by the consumer on a burst of
//!    tickets; the time from creation to the first firing.
//! 4. SLA timers: M open tickets whose first-reply targets fall over the
//!    minutes after they were written; reports how late each breach was
//!    written after its target.
//!
//! Runs a real server in process (consumers and job workers included) on a
//! fresh SQLite database, or on PostgreSQL with `--database-url`.

use crate::app::Application;
use crate::bench::stats;
use crate::config::Config;
use anyhow::{Context, anyhow, bail};
use domain::event::EventData;
use domain::ids::*;
use domain::routing::{Candidate, Need, RoutingMode};
use engine::Engine;
use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

/// Agents in the team of the decision test and of the burst.
const AGENTS: usize = 200;
/// Concurrent writers creating tickets.
const WRITERS: usize = 32;

fn err(e: engine::EngineError) -> anyhow::Error {
    anyhow!("{e}")
}

/// Progress on the terminal's current line.
fn show(what: &str, done: usize, total: usize) {
    eprint!("\r  {what}: {done}/{total}   ");
}

/// A ticket from a customer of the API channel (one of 1,000).
fn new_ticket(n: usize) -> anyhow::Result<engine::tickets::NewTicket> {
    engine::tickets::NewTicket::from_email(
        &format!("Заказ {n}"),
        &format!("c{}@bench.example", n % 1000),
        "Где мой заказ?",
    )
    .map_err(err)
}

/// A ticket asking about one of the [`WORDS`] (the `i`th in turn), so each
/// fires the few triggers that look for its word, as in a real workspace.
fn asking(n: usize) -> anyhow::Result<engine::tickets::NewTicket> {
    let word = WORDS[n % WORDS.len()];
    engine::tickets::NewTicket::from_email(
        &format!("Вопрос {n}"),
        &format!("c{}@bench.example", n % 1000),
        &format!("Здравствуйте, вопрос про {word}, подскажите"),
    )
    .map_err(err)
}

/// A small, seedable generator: the same agents and tickets every run.
pub(crate) struct Lcg(pub(crate) u64);

impl Lcg {
    pub(crate) fn next(&mut self) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        self.0 >> 33
    }
    pub(crate) fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }
}

const LANGS: [&str; 4] = ["ru", "en", "th", "de"];
const SKILLS: [&str; 6] = ["billing", "delivery", "returns", "speakers", "tv", "app"];

fn decisions() {
    let mut rng = Lcg(7);
    let team: Vec<Candidate> = (0..AGENTS)
        .map(|i| Candidate {
            user: UserId(uuid::Uuid::from_u128(i as u128 + 1)),
            online: rng.below(10) < 8,
            tier: 1 + rng.below(3) as i64,
            languages: vec![LANGS[rng.below(4) as usize].into(), "en".into()],
            skills: (0..2)
                .map(|_| SKILLS[rng.below(6) as usize].into())
                .collect(),
            capacity: 2 + rng.below(10) as i64,
            load: rng.below(8) as i64,
            routed_at: rng.below(1_000_000) as i64,
        })
        .collect();
    let rules = sample_rules(&mut rng);
    let mut per_event = Vec::with_capacity(10_000);
    let mut fired = 0usize;
    for i in 0..10_000 {
        let facts = sample_facts(&mut rng, i);
        let skills = [SKILLS[rng.below(6) as usize].to_string()];
        let need = Need {
            tier: 1,
            language: facts.language.as_deref(),
            skills: &skills,
        };
        let t = Instant::now();
        let hits = rules
            .iter()
            .filter(|r| r.matches(std::hint::black_box(&facts)))
            .count();
        let who = domain::routing::choose(RoutingMode::Skills, &need, std::hint::black_box(&team));
        per_event.push(t.elapsed().as_nanos() as u64);
        fired += hits + usize::from(who.is_some());
    }
    let s = stats(per_event);
    println!(
        "decisions: {} rules evaluated and one routing decision (skills, {AGENTS} agents) per event, in process",
        rules.len()
    );
    println!(
        "  p50 {:.1} µs, p99 {:.1} µs, max {:.1} µs over 10000 events ({fired} rules fired or agents found)",
        s.p50 as f64 / 1000.0,
        s.p99 as f64 / 1000.0,
        s.max as f64 / 1000.0
    );
    println!("decisions: one routing decision among {AGENTS} agents (in process)");
    println!(
        "  {:<14} {:>9} {:>9} {:>9}",
        "mode", "p50 µs", "p99 µs", "max µs"
    );
    for mode in [
        RoutingMode::RoundRobin,
        RoutingMode::LeastLoaded,
        RoutingMode::Skills,
    ] {
        let mut ns = Vec::with_capacity(10_000);
        let mut chosen = 0usize;
        for _ in 0..10_000 {
            let skills = [SKILLS[rng.below(6) as usize].to_string()];
            let need = Need {
                tier: 1 + rng.below(2) as i64,
                language: Some(LANGS[rng.below(4) as usize]),
                skills: &skills,
            };
            let t = Instant::now();
            let who = domain::routing::choose(mode, &need, std::hint::black_box(&team));
            ns.push(t.elapsed().as_nanos() as u64);
            chosen += usize::from(who.is_some());
        }
        let s = stats(ns);
        println!(
            "  {:<14} {:>9.2} {:>9.2} {:>9.2}   ({chosen} of 10000 found an agent)",
            mode.as_str(),
            s.p50 as f64 / 1000.0,
            s.p99 as f64 / 1000.0,
            s.max as f64 / 1000.0
        );
    }
}

const WORDS: [&str; 12] = [
    "заказ",
    "доставка",
    "возврат",
    "оплата",
    "колонка",
    "refund",
    "delivery",
    "invoice",
    "สั่งซื้อ",
    "คืนเงิน",
    "срочно",
    "гарантия",
];

/// 200 rules of the kinds a workspace keeps: status and channel filters, words
/// in the message, a pattern or two, languages, tags and tiers.
fn sample_rules(rng: &mut Lcg) -> Vec<domain::rules::CompiledRule> {
    sample_specs(rng)
        .into_iter()
        .map(|spec| match spec.validated() {
            Ok(r) => r,
            Err(e) => unreachable!("a sample rule is valid: {e}"),
        })
        .collect()
}

fn sample_specs(rng: &mut Lcg) -> Vec<domain::rules::RuleSpec> {
    use serde_json::json;
    (0..200)
        .map(|i| {
            let word = WORDS[rng.below(WORDS.len() as u64) as usize];
            let mut all = vec![json!({"field": "status", "op": "in", "value": ["new", "open"]})];
            match i % 5 {
                0 => all.push(json!({"field": "message", "op": "contains", "value": word})),
                1 => all.push(json!({"field": "subject", "op": "matches", "value": format!("{word}|^re: |заказ #?1...$")})),
                2 => all.push(json!({"field": "language", "op": "is", "value": LANGS[rng.below(4) as usize]})),
                3 => all.push(json!({"field": "tags", "op": "contains", "value": SKILLS[rng.below(6) as usize]})),
                _ => all.push(json!({"field": "tier", "op": "gt", "value": 1})),
            }
            let spec = json!({
                "kind": "trigger", "on": ["ticket.created", "customer.wrote"], "all": all,
                "any": [{"field": "channel", "op": "in", "value": ["email", "chat", "telegram", "api"]},
                        {"field": "priority", "op": "is", "value": "urgent"}],
                "actions": [{"type": "add_tags", "tags": ["auto"]}]
            });
            match serde_json::from_value::<domain::rules::RuleSpec>(spec) {
                Ok(s) => s,
                Err(e) => unreachable!("a sample rule reads: {e}"),
            }
        })
        .collect()
}

fn sample_facts(rng: &mut Lcg, i: usize) -> domain::rules::Facts {
    let text: Vec<&str> = (0..40)
        .map(|_| WORDS[rng.below(WORDS.len() as u64) as usize])
        .collect();
    domain::rules::Facts {
        status: if i.is_multiple_of(3) { "open" } else { "new" }.into(),
        priority: "normal".into(),
        channel: ["email", "chat", "telegram", "api"][i % 4].into(),
        tier: 1 + (i % 3) as i64,
        tags: vec![SKILLS[i % 6].into()],
        subject: format!("{} {}", text[0], 1000 + i),
        message: Some(text.join(" ")),
        author: Some("customer".into()),
        language: Some(LANGS[i % 4].into()),
        ..Default::default()
    }
}

/// Creates `n` tickets (the `i`th made by `make(i)`) from `WRITERS`
/// concurrent writers.
async fn create(
    engine: &Engine,
    p: &engine::Principal,
    n: usize,
    team: Option<TeamId>,
    label: &str,
    make: fn(usize) -> anyhow::Result<engine::tickets::NewTicket>,
) -> anyhow::Result<Duration> {
    let next = Arc::new(AtomicUsize::new(0));
    let started = Instant::now();
    let tasks: Vec<_> = (0..WRITERS)
        .map(|_| {
            let (engine, p, next) = (engine.clone(), p.clone(), next.clone());
            tokio::spawn(async move {
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    if i >= n {
                        return Ok::<_, anyhow::Error>(());
                    }
                    let mut t = make(i)?;
                    t.team_id = team;
                    engine.create_ticket(&p, t, None).await.map_err(err)?;
                }
            })
        })
        .collect();
    loop {
        show(label, next.load(Ordering::Relaxed).min(n), n);
        if tasks.iter().all(|t| t.is_finished()) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    eprintln!();
    for t in tasks {
        t.await.context("a writer task")??;
    }
    Ok(started.elapsed())
}

async fn caught_up(engine: &Engine, consumer: &str, limit: Duration) -> anyhow::Result<()> {
    let until = Instant::now() + limit;
    while Instant::now() < until {
        let all = engine.consumer_status().await.map_err(err)?;
        if all.iter().any(|c| c.name == consumer && c.lag == 0) {
            return Ok(());
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    bail!("the {consumer} consumer did not catch up within {limit:?}")
}

/// Every event of the workspace, oldest first.
async fn all_events(
    engine: &Engine,
    p: &engine::Principal,
) -> anyhow::Result<Vec<engine::model::EventRecord>> {
    let mut out = Vec::new();
    let mut after = engine::model::Cursor::default();
    loop {
        let page = engine.event_stream(p, after, 1000).await.map_err(err)?;
        let Some(last) = page.last() else { break };
        after = engine::model::Cursor::of(last);
        out.extend(page);
    }
    Ok(out)
}

async fn burst(engine: &Engine, tickets: usize) -> anyhow::Result<()> {
    let (_, _) = engine
        .create_workspace("route", "owner@route.example", "route-password")
        .await
        .map_err(err)?;
    let p = engine.cli_principal("route").await.map_err(err)?;
    let team = engine
        .create_team_with(
            &p,
            engine::people::TeamInput {
                name: Some("L1".into()),
                routing: Some(RoutingMode::LeastLoaded),
                ..Default::default()
            },
        )
        .await
        .map_err(err)?;
    let capacity = tickets.div_ceil(AGENTS) as i64;
    let mut agents = Vec::with_capacity(AGENTS);
    for i in 0..AGENTS {
        let u = engine
            .add_user(
                &p,
                engine::people::NewUser {
                    email: format!("agent{i}@route.example"),
                    role: Some(domain::user::Role::Agent),
                    team_ids: vec![team.id],
                    channel_capacity: [("api".to_string(), capacity)].into_iter().collect(),
                    ..Default::default()
                },
            )
            .await
            .map_err(err)?;
        engine
            .update_user(
                &p,
                u.user.id,
                engine::people::UserPatch {
                    presence: Some("online".into()),
                    ..Default::default()
                },
            )
            .await
            .map_err(err)?;
        agents.push(u.user.id);
    }
    caught_up(engine, "routing", Duration::from_secs(60)).await?;
    let started = Instant::now();
    let wrote = create(
        engine,
        &p,
        tickets,
        Some(team.id),
        "burst tickets",
        new_ticket,
    )
    .await?;
    caught_up(engine, "routing", Duration::from_secs(600)).await?;
    let routed = started.elapsed();
    let events = all_events(engine, &p).await?;
    let mut created_at: HashMap<TicketId, i64> = HashMap::new();
    let mut given: HashMap<TicketId, (usize, i64, Option<UserId>)> = HashMap::new();
    for e in &events {
        match &e.data {
            EventData::TicketCreated { ticket_id, .. } => {
                created_at.insert(*ticket_id, e.created_at.millis());
            }
            EventData::TicketUpdated { ticket_id, changes } => {
                for c in changes.iter().filter(|c| c.field == "assignee_id") {
                    if let Some(u) = c.to.as_str().and_then(|s| s.parse::<UserId>().ok()) {
                        let g = given.entry(*ticket_id).or_insert((0, 0, None));
                        g.0 += 1;
                        g.1 = e.created_at.millis();
                        g.2 = Some(u);
                    }
                }
            }
            _ => {}
        }
    }
    let twice = given.values().filter(|g| g.0 > 1).count();
    let mut load: HashMap<UserId, i64> = HashMap::new();
    for g in given.values() {
        if let Some(u) = g.2 {
            *load.entry(u).or_default() += 1;
        }
    }
    let over = load.values().filter(|&&n| n > capacity).count();
    let delays: Vec<u64> = given
        .iter()
        .filter_map(|(t, g)| Some(((g.1 - created_at.get(t)?).max(0) as u64) * 1000))
        .collect();
    let d = stats(delays);
    println!("burst: {tickets} tickets for {AGENTS} agents (least loaded, {capacity} each)");
    println!(
        "  written in {:.1} s; all routed {:.1} s after the first ({:.0} tickets/s)",
        wrote.as_secs_f64(),
        routed.as_secs_f64(),
        tickets as f64 / routed.as_secs_f64()
    );
    println!(
        "  creation → assignment: p50 {} ms, p99 {} ms, max {} ms",
        d.p50 / 1000,
        d.p99 / 1000,
        d.max / 1000
    );
    println!(
        "  assigned {} of {tickets}; agents above capacity: {over}; tickets given twice: {twice}; busiest agent {}",
        given.len(),
        load.values().max().copied().unwrap_or(0)
    );
    if given.len() != tickets || over > 0 || twice > 0 {
        bail!("routing broke a promise in the burst");
    }
    Ok(())
}

/// 200 triggers stored in a workspace and run by the `triggers` consumer on
/// every ticket of a burst: the time from a ticket's creation to its first
/// rule firing, and the consumer's rate.
async fn triggers(engine: &Engine, tickets: usize) -> anyhow::Result<()> {
    engine
        .create_workspace("rules", "owner@rules.example", "rules-password")
        .await
        .map_err(err)?;
    let p = engine.cli_principal("rules").await.map_err(err)?;
    let mut rng = Lcg(11);
    for (i, spec) in sample_specs(&mut rng).into_iter().enumerate() {
        engine
            .create_rule(
                &p,
                engine::rules::RuleInput {
                    name: Some(format!("rule {i}")),
                    position: Some(i as i64),
                    active: Some(true),
                    spec: Some(spec),
                },
            )
            .await
            .map_err(err)?;
    }
    caught_up(engine, "triggers", Duration::from_secs(60)).await?;
    let started = Instant::now();
    let wrote = create(
        engine,
        &p,
        tickets,
        None,
        "tickets for 200 triggers",
        asking,
    )
    .await?;
    caught_up(engine, "triggers", Duration::from_secs(900)).await?;
    let all_done = started.elapsed();
    let mut created_at: HashMap<TicketId, i64> = HashMap::new();
    let mut first_fired: HashMap<TicketId, i64> = HashMap::new();
    let mut fired = 0usize;
    let mut failed = 0usize;
    let mut events = 0usize;
    for e in all_events(engine, &p).await? {
        events += 1;
        match &e.data {
            EventData::TicketCreated { ticket_id, .. } => {
                created_at.insert(*ticket_id, e.created_at.millis());
            }
            EventData::RuleFired {
                ticket_id,
                failed: f,
                ..
            } => {
                fired += 1;
                failed += f.len();
                first_fired
                    .entry(*ticket_id)
                    .or_insert(e.created_at.millis());
            }
            _ => {}
        }
    }
    let delays: Vec<u64> = first_fired
        .iter()
        .filter_map(|(t, at)| Some(((at - created_at.get(t)?).max(0) as u64) * 1000))
        .collect();
    let d = stats(delays);
    println!("triggers: {tickets} tickets, 200 stored triggers tried on each event");
    println!(
        "  written in {:.1} s; every event handled {:.1} s after the first ({events} events, {:.0} events/s)",
        wrote.as_secs_f64(),
        all_done.as_secs_f64(),
        events as f64 / all_done.as_secs_f64()
    );
    println!(
        "  creation → first rule fired: p50 {} ms, p99 {} ms, max {} ms; {fired} firings on {} tickets, {failed} actions failed",
        d.p50 / 1000,
        d.p99 / 1000,
        d.max / 1000,
        first_fired.len()
    );
    if failed > 0 {
        bail!("{failed} rule actions failed");
    }
    Ok(())
}

async fn timers(
    clock: &crate::app::SettableClock,
    engine: &Engine,
    n: usize,
) -> anyhow::Result<()> {
    engine
        .create_workspace("sla", "owner@sla.example", "sla-password")
        .await
        .map_err(err)?;
    let p = engine.cli_principal("sla").await.map_err(err)?;
    engine
        .create_sla_policy(
            &p,
            engine::sla::PolicyInput {
                name: Some("Everything".into()),
                targets: Some((Some(1), None, None)),
                warn_at: Some(None),
                ..Default::default()
            },
        )
        .await
        .map_err(err)?;
    // Targets fall a minute after creation on the server's clock; running it
    // ahead by the time the setup may take puts every target after the setup,
    // spread as the creation was.
    let setup_ms = 30_000 + n as i64 * 2;
    clock.set_offset(setup_ms - 60_000);
    let setup = Instant::now();
    let wrote = create(engine, &p, n, None, "tickets with SLA timers", new_ticket).await?;
    caught_up(engine, "sla", Duration::from_secs(900)).await?;
    let setup_took = setup.elapsed();
    if setup_took.as_millis() as i64 > setup_ms {
        eprintln!(
            "warning: the setup took {:.0} s, longer than the {} s allowed; the first timers were already due",
            setup_took.as_secs_f64(),
            setup_ms / 1000
        );
    }

    let limit = Instant::now() + Duration::from_millis(setup_ms as u64) + Duration::from_secs(600);
    loop {
        let written: i64 = engine
            .activity(&p, 0, i64::MAX)
            .await
            .map_err(err)?
            .iter()
            .filter(|(_, kind, _)| kind == "sla.breached")
            .map(|(_, _, c)| c)
            .sum();
        show("breaches written", written as usize, n);
        if written as usize >= n {
            break;
        }
        if Instant::now() > limit {
            bail!("only {written} of {n} breaches were written");
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    eprintln!();
    let mut late = Vec::with_capacity(n);
    let mut per_ticket: HashMap<TicketId, usize> = HashMap::new();
    for e in all_events(engine, &p).await? {
        if let EventData::SlaBreached {
            ticket_id, due_at, ..
        } = &e.data
        {
            late.push(((e.created_at.millis() - due_at).max(0) as u64) * 1000);
            *per_ticket.entry(*ticket_id).or_default() += 1;
        }
    }
    let twice = per_ticket.values().filter(|&&c| c > 1).count();
    let s = stats(late);
    println!("SLA timers: {n} open tickets, first-reply targets a minute after each was written");
    println!(
        "  written in {:.1} s; clocks derived {:.1} s after the first",
        wrote.as_secs_f64(),
        setup_took.as_secs_f64()
    );
    println!(
        "  breach written after its target: p50 {} ms, p99 {} ms, max {} ms; breaches written twice: {twice}",
        s.p50 / 1000,
        s.p99 / 1000,
        s.max / 1000
    );
    clock.set_offset(0);
    if per_ticket.len() != n || twice > 0 {
        bail!("{} tickets breached, {twice} twice", per_ticket.len());
    }
    Ok(())
}

pub async fn rules(
    tickets: usize,
    timer_tickets: usize,
    database_url: Option<String>,
) -> anyhow::Result<()> {
    decisions();
    if tickets == 0 && timer_tickets == 0 {
        return Ok(());
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
    println!(
        "on {} with {} job workers",
        if database_url.is_some() {
            "PostgreSQL"
        } else {
            "SQLite"
        },
        config.workers
    );
    let app = Application::build(config).await?;
    let engine = app.engine().clone();
    let clock = app.clock.clone();
    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(app.run_until(async move {
        let _ = stop_rx.await;
    }));
    let result = async {
        if tickets > 0 {
            burst(&engine, tickets).await?;
            triggers(&engine, (tickets / 5).max(1)).await?;
        }
        if timer_tickets > 0 {
            timers(&clock, &engine, timer_tickets).await?;
        }
        Ok::<_, anyhow::Error>(())
    }
    .await;
    clock.set_offset(0);
    let _ = stop_tx.send(());
    let _ = server.await;
    if let Some(admin) = &database_url
        && let Err(e) = store::admin::drop_database(admin, &db_name).await
    {
        eprintln!("warning: could not drop {db_name}: {e}");
    }
    result
}

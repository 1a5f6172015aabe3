//! `otklik bench reports`: the KPI roll-ups at a large workspace's scale.
//!
//! 1. Seeds a year of history straight into the store: N tickets (default
//!    1,000,000) with their customers and about ten events each (created,
//!    the customer's messages, team and agent set, replies, internal notes,
//!    solves, re-opens, CSAT answers), written with their historical times.
//!    Tickets overlap in time as in a real inbox: the events of 2,000
//!    neighbouring tickets are interleaved in time order, so a batch of the
//!    consumer seldom sees one ticket twice. One SLA policy in business hours
//!    covers email.
//! 2. Runs the `kpis` consumer alone over the whole log and reports events per
//!    second.
//! 3. Asks for the KPI report of the last full month grouped by team (and by
//!    channel, day, and ungrouped) `--requests` times each; p50 / p99.
//!
//! Runs on a fresh SQLite database, or on PostgreSQL with `--database-url`.

use crate::app::Application;
use crate::bench::stats;
use crate::bench_rules::Lcg;
use crate::config::Config;
use anyhow::{Context, anyhow, bail};
use domain::Timestamp;
use domain::event::{Actor, Change, EventData};
use domain::ids::*;
use domain::kpi::GroupBy;
use domain::ticket::{AuthorKind, Channel, Priority, Status, Visibility};
use engine::consumers::{Consumer, ConsumerRunner, Pass};
use serde_json::{Value, json};
use std::sync::Arc;
use std::time::Instant;

const TEAMS: usize = 20;
const AGENTS_PER_TEAM: usize = 5;
/// Tickets whose events are interleaved and written in one transaction.
const CHUNK: usize = 2_000;
const DAY_MS: i64 = 86_400_000;

fn err(e: engine::EngineError) -> anyhow::Error {
    anyhow!("{e}")
}

/// Roughly log-uniform between `lo` and `hi` milliseconds.
fn span(rng: &mut Lcg, lo: i64, hi: i64) -> i64 {
    let f = rng.below(10_000) as f64 / 10_000.0;
    let (a, b) = ((lo as f64).ln(), (hi as f64).ln());
    (a + f * (b - a)).exp() as i64
}

fn change(field: &'static str, from: Value, to: Value) -> Change {
    Change {
        field: field.into(),
        from,
        to,
    }
}

/// One synthetic ticket: its row and its events with their times.
fn ticket(
    rng: &mut Lcg,
    ws: WorkspaceId,
    n: usize,
    t0: i64,
    now: i64,
    teams: &[(TeamId, Vec<UserId>)],
    customer: CustomerId,
) -> (store::tickets::Ticket, Vec<(i64, EventData)>) {
    let id = TicketId::new();
    let channel = match rng.below(10) {
        0..=4 => Channel::Email,
        5..=7 => Channel::Chat,
        8 => Channel::Telegram,
        _ => Channel::Api,
    };
    let (team, agents) = &teams[rng.below(teams.len() as u64) as usize];
    let (team, agent) = (*team, agents[rng.below(agents.len() as u64) as usize]);
    let msg = |rng: &mut Lcg, author: AuthorKind, visibility: Visibility| {
        let _ = rng.next();
        EventData::MessageAdded {
            ticket_id: id,
            message_id: MessageId::new(),
            visibility,
            author_kind: author,
            channel,
            attachments: 0,
        }
    };
    let mut ev: Vec<(i64, EventData)> = vec![
        (
            t0,
            EventData::TicketCreated {
                ticket_id: id,
                number: n as i64 + 1,
                subject: format!("Заказ {n}"),
                status: Status::New,
                priority: Priority::Normal,
                channel,
                customer_id: customer,
                follow_up_of: None,
            },
        ),
        (t0, msg(rng, AuthorKind::Customer, Visibility::Public)),
        (
            t0 + 5_000,
            EventData::TicketUpdated {
                ticket_id: id,
                changes: vec![change("team_id", Value::Null, json!(team))],
            },
        ),
    ];
    let assigned = t0 + span(rng, 10_000, 3_600_000);
    ev.push((
        assigned,
        EventData::TicketUpdated {
            ticket_id: id,
            changes: vec![
                change("assignee_id", Value::Null, json!(agent)),
                change("status", json!("new"), json!("open")),
            ],
        },
    ));
    // Notes between colleagues: events that move no figure.
    let noted = assigned + span(rng, 1_000, 600_000);
    ev.push((noted, msg(rng, AuthorKind::Agent, Visibility::Internal)));
    if rng.below(10) < 6 {
        ev.push((
            noted + 1_000,
            msg(rng, AuthorKind::Agent, Visibility::Internal),
        ));
    }
    let mut t = assigned + span(rng, 60_000, 8 * 3_600_000);
    ev.push((t, msg(rng, AuthorKind::Agent, Visibility::Public)));
    t += span(rng, 60_000, 3_600_000);
    ev.push((t, msg(rng, AuthorKind::Agent, Visibility::Internal)));
    if rng.below(2) == 0 {
        t += span(rng, 60_000, 6 * 3_600_000);
        ev.push((t, msg(rng, AuthorKind::Customer, Visibility::Public)));
        t += span(rng, 60_000, 4 * 3_600_000);
        ev.push((t, msg(rng, AuthorKind::Agent, Visibility::Public)));
    }
    let mut status = Status::Open;
    let mut solved_at = None;
    let solve = |t: i64, from: &str| {
        (
            t,
            EventData::TicketUpdated {
                ticket_id: id,
                changes: vec![change("status", json!(from), json!("solved"))],
            },
        )
    };
    t += span(rng, 60_000, 2 * DAY_MS);
    if t < now && rng.below(10) < 9 {
        ev.push(solve(t, "open"));
        status = Status::Solved;
        solved_at = Some(t);
        if rng.below(100) < 8 {
            t += span(rng, 3_600_000, 3 * DAY_MS);
            ev.push((t, msg(rng, AuthorKind::Customer, Visibility::Public)));
            ev.push((
                t,
                EventData::TicketUpdated {
                    ticket_id: id,
                    changes: vec![change("status", json!("solved"), json!("open"))],
                },
            ));
            t += span(rng, 60_000, DAY_MS);
            ev.push((t, msg(rng, AuthorKind::Agent, Visibility::Public)));
            ev.push(solve(t, "open"));
            solved_at = Some(t);
        }
        if rng.below(10) < 3 {
            let score = 1 + rng.below(5) as i64;
            ev.push((
                t + 2 * 3_600_000,
                EventData::SurveyAnswered {
                    survey_id: SurveyId::new(),
                    ticket_id: Some(id),
                    customer_id: customer,
                    survey_kind: "csat".into(),
                    score,
                    comment: String::new(),
                    replaced: false,
                    previous: None,
                },
            ));
        }
    }
    ev.retain(|(at, _)| *at < now);
    let row = store::tickets::Ticket {
        id,
        workspace_id: ws,
        number: n as i64 + 1,
        subject: format!("Заказ {n}"),
        status,
        priority: Priority::Normal,
        channel,
        customer_id: customer,
        assignee_id: Some(agent),
        team_id: Some(team),
        tier: 1,
        category: None,
        tags: vec![],
        custom_fields: Default::default(),
        follow_up_of: None,
        account_id: None,
        cc: vec![],
        created_at: Timestamp::from_millis(t0),
        updated_at: Timestamp::from_millis(t0),
        solved_at: solved_at.map(Timestamp::from_millis),
        closed_at: None,
        snoozed_until: None,
        merged_into: None,
    };
    (row, ev)
}

pub async fn reports(
    tickets: usize,
    requests: usize,
    database_url: Option<String>,
) -> anyhow::Result<()> {
    if tickets == 0 || requests == 0 {
        bail!("--tickets and --requests must be at least 1");
    }
    let (_dir, db_name, config) = bench_config(database_url.as_deref()).await?;
    let app = Application::build(config).await?;
    let engine = app.engine().clone();
    let store = app.store().clone();
    let result = run(&engine, &store, tickets, requests).await;
    engine.close().await;
    drop(app);
    if let Some(admin) = &database_url {
        store::admin::drop_database(admin, &db_name).await.ok();
    }
    result
}

/// A fresh data directory, the benchmark database's name, and a
/// configuration on them without job workers: on SQLite in the directory,
/// or on a new PostgreSQL database made through `database_url`.
pub async fn bench_config(
    database_url: Option<&str>,
) -> anyhow::Result<(tempfile::TempDir, String, Config)> {
    let dir = tempfile::tempdir().context("creating a temporary data directory")?;
    let db_name = format!("otklik_bench_{}", uuid::Uuid::new_v4().simple());
    let mut config = Config {
        listen: "127.0.0.1:0".parse()?,
        data_dir: dir.path().to_path_buf(),
        ..Config::default()
    };
    config.workers = 0;
    if let Some(admin) = database_url {
        config.database_url = Some(
            store::admin::create_database(admin, &db_name)
                .await
                .context("creating the benchmark database")?
                .into(),
        );
    }
    Ok((dir, db_name, config))
}

/// `n` customers named `{name} {i}` straight in the store, 5,000 a
/// transaction, made at `start` (milliseconds).
pub async fn seed_customers(
    store: &store::Store,
    ws: WorkspaceId,
    n: usize,
    name: &str,
    start: i64,
) -> anyhow::Result<Vec<CustomerId>> {
    let mut ids: Vec<CustomerId> = Vec::with_capacity(n);
    for chunk in (0..n).collect::<Vec<_>>().chunks(5_000) {
        let rows: Vec<store::customers::Customer> = chunk
            .iter()
            .map(|i| store::customers::Customer {
                id: CustomerId::new(),
                workspace_id: ws,
                name: format!("{name} {i}"),
                language: Some(["ru", "en", "th"][i % 3].into()),
                notes: String::new(),
                merged_into: None,
                created_at: Timestamp::from_millis(start),
                updated_at: Timestamp::from_millis(start),
                identities: vec![],
                tags: vec![],
                outreach_opt_out: false,
                at_risk_since: None,
                organization_id: None,
                custom_fields: Default::default(),
                erased_at: None,
            })
            .collect();
        ids.extend(rows.iter().map(|c| c.id));
        store
            .write(move |tx| {
                Box::pin(async move {
                    for c in &rows {
                        store::customers::insert(tx, c).await?;
                    }
                    Ok::<_, store::StoreError>(())
                })
            })
            .await?;
    }
    Ok(ids)
}

async fn run(
    engine: &engine::Engine,
    store: &store::Store,
    tickets: usize,
    requests: usize,
) -> anyhow::Result<()> {
    engine
        .create_workspace("bench", "owner@bench.example", "bench-password")
        .await
        .map_err(err)?;
    let p = engine.cli_principal("bench").await.map_err(err)?;
    let ws = p.workspace_id;
    let mut teams = Vec::new();
    for i in 0..TEAMS {
        let team = engine
            .create_team(&p, &format!("Линия {}", i + 1), Some(1))
            .await
            .map_err(err)?
            .id;
        let mut agents = Vec::new();
        for j in 0..AGENTS_PER_TEAM {
            let u = engine
                .add_user(
                    &p,
                    engine::people::NewUser {
                        email: format!("agent{i}-{j}@bench.example"),
                        name: Some(format!("Агент {i}-{j}")),
                        role: Some(domain::user::Role::Agent),
                        password: None,
                        tier: None,
                        languages: vec![],
                        skills: vec![],
                        team_ids: vec![team],
                        capacity: None,
                        channel_capacity: Default::default(),
                    },
                )
                .await
                .map_err(err)?;
            agents.push(u.user.id);
        }
        teams.push((team, agents));
    }
    let mut week: [Vec<(String, String)>; 7] = Default::default();
    for d in week.iter_mut().take(5) {
        d.push(("09:00".into(), "18:00".into()));
    }
    let hours = engine
        .create_business_hours(
            &p,
            engine::sla::HoursInput {
                name: Some("Будни".into()),
                time_zone: Some("UTC".into()),
                week: Some(week),
                holidays: Some(vec![]),
            },
        )
        .await
        .map_err(err)?;
    engine
        .create_sla_policy(
            &p,
            engine::sla::PolicyInput {
                name: Some("Почта".into()),
                position: Some(1),
                conditions: Some(domain::sla::Conditions {
                    channel: vec![Channel::Email],
                    ..Default::default()
                }),
                business_hours_id: Some(Some(hours.id)),
                targets: Some((Some(60), None, Some(8 * 60))),
                warn_at: None,
            },
        )
        .await
        .map_err(err)?;

    // 1. A year of history.
    let now = store.now().millis();
    let start = now - 365 * DAY_MS;
    let customers = (tickets / 5).max(1);
    let mut rng = Lcg(2026);
    let seeding = Instant::now();
    let mut events = 0usize;
    let ids = seed_customers(store, ws, customers, "Клиент", start).await?;
    let mut n = 0;
    while n < tickets {
        let size = CHUNK.min(tickets - n);
        let mut rows = Vec::with_capacity(size);
        let mut evs: Vec<(i64, EventData)> = Vec::with_capacity(size * 11);
        for i in n..n + size {
            let t0 =
                start + (i as i64) * (365 * DAY_MS) / tickets as i64 + rng.below(30_000) as i64;
            let customer = ids[rng.below(ids.len() as u64) as usize];
            let (row, ev) = ticket(&mut rng, ws, i, t0, now, &teams, customer);
            rows.push(row);
            evs.extend(ev);
        }
        evs.sort_by_key(|(at, _)| *at);
        events += evs.len();
        store
            .write(move |tx| {
                Box::pin(async move {
                    for r in &rows {
                        store::tickets::insert(tx, r).await?;
                    }
                    for (at, e) in evs {
                        tx.emit_at(ws, Actor::System, e, Timestamp::from_millis(at))
                            .await?;
                    }
                    Ok::<_, store::StoreError>(())
                })
            })
            .await?;
        n += size;
        eprint!(
            "\r  seeding: {n}/{tickets} tickets, {events} events, {:.0} s   ",
            seeding.elapsed().as_secs_f64()
        );
    }
    eprintln!();
    println!(
        "seeded {tickets} tickets, {customers} customers, {events} events in {:.1} s",
        seeding.elapsed().as_secs_f64()
    );

    // 2. The roll-up consumer over the whole log.
    let runner = ConsumerRunner::new(engine.clone());
    let kpis: Arc<dyn Consumer> = Arc::new(engine::kpis::Kpis);
    runner
        .register(std::slice::from_ref(&kpis))
        .await
        .map_err(err)?;
    let folding = Instant::now();
    let mut handled = 0usize;
    loop {
        match runner.run_once(&kpis).await.map_err(err)? {
            Pass::Handled(0) => break,
            Pass::Handled(k) => handled += k,
            Pass::Failed => bail!("the kpis consumer failed: see the log"),
            Pass::Skipped => tokio::time::sleep(std::time::Duration::from_millis(50)).await,
        }
        if handled % 51_200 < 256 {
            eprint!(
                "\r  rolling up: {handled}/{events} events, {:.0} events/s   ",
                handled as f64 / folding.elapsed().as_secs_f64()
            );
        }
    }
    eprintln!();
    let secs = folding.elapsed().as_secs_f64();
    println!(
        "kpis consumer: {handled} events in {secs:.1} s = {:.0} events/s (target ≥ 5,000)",
        handled as f64 / secs
    );

    // 3. Reports of the last full month.
    let month_to = domain::kpi::date_of((now / DAY_MS) - ((now / DAY_MS) % 30));
    let to_day = domain::kpi::day_of(&month_to).unwrap_or(0);
    let from = domain::kpi::date_of(to_day - 30);
    println!("report period {from} to {month_to} (30 days), {requests} requests each:");
    let mut check = None;
    for (name, g) in [
        ("by team", Some(GroupBy::Team)),
        ("by channel", Some(GroupBy::Channel)),
        ("by day", Some(GroupBy::Day)),
        ("total only", None),
    ] {
        let mut us = Vec::with_capacity(requests);
        for _ in 0..requests {
            let t = Instant::now();
            let r = engine
                .kpi_report(&p, Some(&from), Some(&month_to), g)
                .await
                .map_err(err)?;
            us.push(t.elapsed().as_micros() as u64);
            check.get_or_insert(r);
        }
        let s = stats(us);
        println!(
            "  {name:<11} p50 {:>7.1} ms  p99 {:>7.1} ms  max {:>7.1} ms",
            s.p50 as f64 / 1000.0,
            s.p99 as f64 / 1000.0,
            s.max as f64 / 1000.0
        );
    }
    if let Some(r) = check {
        let t = &r.total;
        println!(
            "  the month: {} created, {} solved, backlog {}, FRT median {:.0} s, CSAT {:.2}, SLA {:.2}, {} teams",
            t.created,
            t.solved,
            t.backlog,
            t.frt_median_s.unwrap_or(0.0),
            t.csat.unwrap_or(0.0),
            t.sla_compliance.unwrap_or(0.0),
            r.items.len()
        );
        // A row without a team can appear too: a ticket made in the last
        // seconds of the month and given its team after midnight.
        if t.created == 0 || r.items.iter().filter(|i| i.key.is_some()).count() != TEAMS {
            bail!("the report does not cover the seeded month");
        }
        check_quantiles(store, ws, &r, (to_day - 30, to_day)).await?;
    }
    Ok(())
}

/// Works out the report's quantiles by team from every fact of the period
/// and fails unless each one is what the report says: the histogram path
/// checked at full scale.
async fn check_quantiles(
    store: &store::Store,
    ws: WorkspaceId,
    report: &engine::kpis::KpiReport,
    (from, to): (i64, i64),
) -> anyhow::Result<()> {
    let mut c = store.read().await?;
    let w = store::workspaces::by_id(&mut c.conn(), ws)
        .await?
        .context("the workspace")?;
    let zone = domain::kpi::Zone::named(&w.time_zone).context("the workspace's zone")?;
    let span = (
        zone.start(from).context("period start")?,
        zone.start(to).context("period end")?,
    );
    let mut checked = 0;
    for measure in [
        domain::kpi::Measure::Responded,
        domain::kpi::Measure::Solved,
    ] {
        let rows = store::kpis::all_values(
            &mut c.conn(),
            ws,
            measure,
            span,
            &store::kpis::Group::Dim(domain::kpi::Dim::Team),
        )
        .await?;
        let mut by: std::collections::BTreeMap<Option<String>, Vec<i64>> = Default::default();
        for (k, v) in rows {
            by.entry(k.clone()).or_default().push(v);
            by.entry(Some("total".into())).or_default().push(v);
        }
        for (k, mut values) in by {
            values.sort_unstable();
            let row = match k.as_deref() {
                Some("total") => &report.total,
                _ => report
                    .items
                    .iter()
                    .find(|r| r.key == k)
                    .with_context(|| format!("no row for {k:?}"))?,
            };
            let s = |ms: Option<f64>| ms.map(|v| v / 1000.0);
            let (median, p90) = (
                s(domain::kpi::median(&values)),
                s(domain::kpi::p90(&values)),
            );
            let (got_median, got_p90) = match measure {
                domain::kpi::Measure::Responded => (row.frt_median_s, row.frt_p90_s),
                _ => (row.resolution_median_s, p90),
            };
            if (got_median, got_p90) != (median, p90) {
                bail!(
                    "{measure} of {k:?}: the report has {got_median:?} / {got_p90:?}, \
                     the {} facts {median:?} / {p90:?}",
                    values.len()
                );
            }
            checked += 1;
        }
    }
    println!(
        "  checked: {checked} medians and percentiles by team equal those of every fact of the month"
    );
    Ok(())
}

//! KPIs: the `kpis` consumer keeps each ticket's contribution
//! (`domain::kpi::derive`) in the roll-ups, and [`Engine::kpi_report`] reads
//! them for a period, grouped as asked.
//!
//! The consumer starts at the beginning of the log, so the roll-ups cover all
//! history; `rebuild` drops them and has the consumer start over. On several
//! nodes the consumer's lease and position make one node fold an event, and a
//! fold reads the ticket's whole history, so folding again writes nothing.

use crate::consumers::{Consumer, Start};
use crate::model::EventRecord;
use crate::{Engine, EngineError, Principal};
use domain::Code;
use domain::calendar::Calendar;
use domain::ids::{CalendarId, TeamId, TicketId, UserId, WorkspaceId};
use domain::kpi::{self, Dim, GroupBy, Input, Measure, Zone};
use domain::message::Message;
use futures::future::BoxFuture;
use serde::Serialize;
use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::Arc;
use store::Tx;
use store::kpis::{Group, Tally};

/// The most events of one ticket a fold reads.
const MAX_HISTORY: i64 = 20_000;
/// The longest period a report covers.
pub const MAX_DAYS: i64 = 731;
/// A report's period when none is given: the last 30 days, today included.
const DEFAULT_DAYS: i64 = 30;

/// Keeps the KPI roll-ups derived from the event log.
pub struct Kpis;

impl Consumer for Kpis {
    fn name(&self) -> &'static str {
        "kpis"
    }
    fn start(&self) -> Start {
        Start::Beginning
    }
    fn handle<'t>(
        &'t self,
        tx: &'t mut Tx,
        e: &'t EventRecord,
    ) -> BoxFuture<'t, Result<(), EngineError>> {
        self.handle_batch(tx, std::slice::from_ref(e))
    }
    fn handle_batch<'t>(
        &'t self,
        tx: &'t mut Tx,
        events: &'t [EventRecord],
    ) -> BoxFuture<'t, Result<(), EngineError>> {
        Box::pin(async move {
            // A fold reads the ticket's whole history as it is now, so one
            // fold per ticket covers all of its events in the batch.
            let mut seen = HashSet::new();
            let mut ctx = Ctx::default();
            for e in events {
                let Some(ticket) = e.data.ticket_id() else {
                    continue;
                };
                if Input::matters(&e.data) && seen.insert((e.workspace_id, ticket)) {
                    refold(tx, &mut ctx, e.workspace_id, ticket).await?;
                }
            }
            Ok(())
        })
    }
}

/// What a batch reads once per workspace.
#[derive(Default)]
struct Ctx {
    zones: HashMap<WorkspaceId, Zone>,
    policies: HashMap<WorkspaceId, Vec<store::sla::Policy>>,
    calendars: HashMap<CalendarId, Option<Arc<Calendar>>>,
}

impl Ctx {
    async fn zone(&mut self, tx: &mut Tx, ws: WorkspaceId) -> Result<Zone, EngineError> {
        if let Some(z) = self.zones.get(&ws) {
            return Ok(z.clone());
        }
        let z = zone_of(&mut tx.conn(), ws).await?;
        self.zones.insert(ws, z.clone());
        Ok(z)
    }
}

pub(crate) async fn zone_of(c: &mut store::Conn<'_>, ws: WorkspaceId) -> Result<Zone, EngineError> {
    let w = store::workspaces::by_id(c, ws)
        .await?
        .ok_or(EngineError::NotFound)?;
    // A zone this build does not know counts in UTC rather than stopping the
    // roll-ups.
    Zone::named(&w.time_zone)
        .or_else(|| Zone::named("UTC"))
        .ok_or_else(|| EngineError::Internal("no UTC zone".into()))
}

fn text<T: ToString>(id: Option<T>) -> Option<String> {
    id.map(|i| i.to_string())
}

/// Folds one ticket's history and writes what changed.
async fn refold(
    tx: &mut Tx,
    ctx: &mut Ctx,
    ws: WorkspaceId,
    id: TicketId,
) -> Result<(), EngineError> {
    let Some(t) = store::tickets::get(&mut tx.conn(), ws, id).await? else {
        return Ok(());
    };
    let zone = ctx.zone(tx, ws).await?;
    let (language, tags) = store::customers::segment(&mut tx.conn(), ws, t.customer_id).await?;
    if let std::collections::hash_map::Entry::Vacant(e) = ctx.policies.entry(ws) {
        e.insert(store::sla::policies(&mut tx.conn(), ws).await?);
    }
    let policy = ctx
        .policies
        .get(&ws)
        .and_then(|ps| crate::sla::covering_of(&t, ps, language.as_deref(), &tags))
        .cloned();
    let calendar = match policy.as_ref().and_then(|p| p.business_hours_id) {
        Some(cid) => match ctx.calendars.get(&cid) {
            Some(c) => c.clone(),
            None => {
                let c = match store::sla::hours(&mut tx.conn(), ws, cid).await? {
                    Some(b) => Some(Arc::new(crate::sla::calendar_of(&b)?)),
                    None => None,
                };
                ctx.calendars.insert(cid, c.clone());
                c
            }
        },
        None => None,
    };
    let events =
        store::events::of_ticket_kinds(&mut tx.conn(), ws, id, kpi::KINDS, MAX_HISTORY).await?;
    let mut history = Vec::with_capacity(events.len());
    let mut sla_history = Vec::new();
    for e in &events {
        let at = e.created_at.millis();
        history.extend(Input::of(&e.data).into_iter().map(|i| (at, i)));
        if let Some(f) = domain::sla::Fact::of(&e.data) {
            sla_history.push((at, f));
        }
    }
    let rules = policy.as_ref().map(|p| domain::sla::Rules {
        targets: p.targets,
        warn_per_mille: p.warn_per_mille,
        calendar: calendar.as_deref(),
    });
    let derived = kpi::derive(
        &kpi::Ticket {
            created_at: t.created_at.millis(),
            channel: t.channel,
            team: text(t.team_id),
            agent: text(t.assignee_id),
            category: t.category.clone(),
            language,
            merged: t.merged_into.is_some(),
        },
        &history,
        &sla_history,
        kpi::Policy { rules },
        &|ms| zone.day(ms),
    );
    let old = store::kpis::derived(&mut tx.conn(), ws, id).await?;
    if old.as_ref() != Some(&derived) {
        store::kpis::save(tx, ws, id, old.as_ref(), &derived).await?;
    }
    Ok(())
}

/// One row of a KPI report: PRODUCT.md's figures for a group. Durations in
/// seconds, rates 0–1, NPS −100–100; `None` where nothing was measured.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct KpiRow {
    /// The group: a channel, team id, agent id, category, language, the
    /// day's date or the week's Monday; `None` for tickets without one (and
    /// for the total).
    pub key: Option<String>,
    /// A person's or team's name.
    pub label: Option<String>,
    pub created: i64,
    pub solved: i64,
    pub backlog: i64,
    pub frt_median_s: Option<f64>,
    pub frt_p90_s: Option<f64>,
    pub resolution_median_s: Option<f64>,
    pub csat: Option<f64>,
    pub nps: Option<f64>,
    pub fcr: Option<f64>,
    pub escalation_rate: Option<f64>,
    pub bot_containment: Option<f64>,
    pub sla_compliance: Option<f64>,
    /// What the rates count: answers, conversations, targets.
    pub csat_answers: i64,
    pub nps_answers: i64,
    pub bot_conversations: i64,
    pub sla_targets: i64,
}

/// Counts behind a row, summed across groups for the total.
#[derive(Clone, Copy, Debug, Default)]
struct Counts {
    created: i64,
    responded: i64,
    escalated: i64,
    solved: i64,
    fcr: i64,
    sla: i64,
    sla_met: i64,
    bot: i64,
    contained: i64,
    csat: i64,
    csat_good: i64,
    nps: i64,
    promoters: i64,
    detractors: i64,
}

impl Counts {
    fn add(&mut self, o: &Counts) {
        self.created += o.created;
        self.responded += o.responded;
        self.escalated += o.escalated;
        self.solved += o.solved;
        self.fcr += o.fcr;
        self.sla += o.sla;
        self.sla_met += o.sla_met;
        self.bot += o.bot;
        self.contained += o.contained;
        self.csat += o.csat;
        self.csat_good += o.csat_good;
        self.nps += o.nps;
        self.promoters += o.promoters;
        self.detractors += o.detractors;
    }

    fn row(&self, key: Option<String>, backlog: i64, q: &Quantiles) -> KpiRow {
        KpiRow {
            key,
            label: None,
            created: self.created,
            solved: self.solved,
            backlog,
            frt_median_s: q.frt_median.map(seconds),
            frt_p90_s: q.frt_p90.map(seconds),
            resolution_median_s: q.resolution_median.map(seconds),
            csat: kpi::share(self.csat_good, self.csat),
            nps: kpi::nps(self.promoters, self.detractors, self.nps),
            fcr: kpi::share(self.fcr, self.solved),
            escalation_rate: kpi::share(self.escalated, self.created),
            bot_containment: kpi::share(self.contained, self.bot),
            sla_compliance: kpi::share(self.sla_met, self.sla),
            csat_answers: self.csat,
            nps_answers: self.nps,
            bot_conversations: self.bot,
            sla_targets: self.sla,
        }
    }
}

/// Where a group's median (two ranks) and 90th percentile fall: each a
/// bucket and the rank within it.
type Located = [Option<(i64, i64)>; 3];

/// Which figures a read of bucket values serves.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Feeds {
    Groups,
    Total,
    Both,
}

/// The median and 90th percentile (`[median, p90]`) per group and in all.
struct Quantiled {
    groups: Vec<(Option<String>, [Option<f64>; 2])>,
    total: [Option<f64>; 2],
}

fn seconds(ms: f64) -> f64 {
    ms / 1000.0
}

#[derive(Clone, Copy, Debug, Default)]
struct Quantiles {
    frt_median: Option<f64>,
    frt_p90: Option<f64>,
    resolution_median: Option<f64>,
}

/// A KPI report: the period (local dates, `to` not included) and a row per group.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct KpiReport {
    pub from: String,
    pub to: String,
    pub group_by: Option<&'static str>,
    pub items: Vec<KpiRow>,
    pub total: KpiRow,
}

/// The period asked for as local day numbers, `to` excluded.
pub fn period(from: Option<&str>, to: Option<&str>, today: i64) -> Result<(i64, i64), EngineError> {
    let bad = |field: &'static str, s: &str| {
        EngineError::invalid(
            field,
            Message::new(Code::Date).with("value", format!("{s:?}")),
        )
    };
    let to_day = match to {
        Some(s) => kpi::day_of(s).ok_or_else(|| bad("to", s))?,
        None => today + 1,
    };
    let from_day = match from {
        Some(s) => kpi::day_of(s).ok_or_else(|| bad("from", s))?,
        None => to_day - DEFAULT_DAYS,
    };
    if from_day >= to_day || to_day - from_day > MAX_DAYS {
        return Err(EngineError::Rule(
            Message::new(Code::ReportPeriod).with("max_days", MAX_DAYS),
        ));
    }
    Ok((from_day, to_day))
}

impl Engine {
    /// The workspace's KPIs over local dates `from` to `to` (excluded),
    /// grouped by `group_by` (`None`: the total alone). Supervisors, admins
    /// and owners.
    pub async fn kpi_report(
        &self,
        p: &Principal,
        from: Option<&str>,
        to: Option<&str>,
        group_by: Option<GroupBy>,
    ) -> Result<KpiReport, EngineError> {
        let ws = p.workspace_id;
        let mut c = self.store.read().await?;
        let Window {
            zone,
            days: (from_day, to_day),
            span,
        } = self.window(&mut c, p, from, to).await?;
        let group = match group_by {
            None => Group::All,
            Some(GroupBy::Channel) => Group::Dim(Dim::Channel),
            Some(GroupBy::Team) => Group::Dim(Dim::Team),
            Some(GroupBy::Agent) => Group::Dim(Dim::Agent),
            Some(GroupBy::Category) => Group::Dim(Dim::Category),
            Some(GroupBy::Language) => Group::Dim(Dim::Language),
            Some(g @ (GroupBy::Day | GroupBy::Week)) => Group::Time {
                stretches: zone.stretches(span.0, span.1),
                weeks: g == GroupBy::Week,
            },
        };

        let mut counts: BTreeMap<Option<String>, Counts> = BTreeMap::new();
        let days = (from_day, to_day);
        for m in Measure::ALL {
            for Tally {
                key,
                n,
                flagged,
                high,
                low,
            } in store::kpis::tally(&mut c.conn(), ws, *m, days, &group).await?
            {
                let e = counts.entry(key).or_default();
                match m {
                    Measure::Created => (e.created, e.escalated) = (n, flagged),
                    Measure::Responded => e.responded = n,
                    Measure::Solved => (e.solved, e.fcr) = (n, flagged),
                    Measure::Sla => (e.sla, e.sla_met) = (n, flagged),
                    Measure::Bot => (e.bot, e.contained) = (n, flagged),
                    Measure::Csat => (e.csat, e.csat_good) = (n, high),
                    Measure::Nps => (e.nps, e.promoters, e.detractors) = (n, high, low),
                }
            }
        }
        drop(c);
        let mut total = Counts::default();
        for cnt in counts.values() {
            total.add(cnt);
        }
        // First response and resolution times side by side, each on a
        // connection of its own.
        let window = (&zone, days, span);
        let (frt, res) = tokio::try_join!(
            self.quantiles(ws, Measure::Responded, window, &group),
            self.quantiles(ws, Measure::Solved, window, &group),
        )?;
        let mut q: BTreeMap<Option<String>, Quantiles> = BTreeMap::new();
        for (k, [median, p90]) in frt.groups {
            let e = q.entry(k).or_default();
            (e.frt_median, e.frt_p90) = (median, p90);
        }
        for (k, [median, _]) in res.groups {
            q.entry(k).or_default().resolution_median = median;
        }
        let total_q = Quantiles {
            frt_median: frt.total[0],
            frt_p90: frt.total[1],
            resolution_median: res.total[0],
        };
        let mut c = self.store.read().await?;

        // The backlog at the end of the period (per day or week: at the end of each).
        let total_backlog: i64 = store::kpis::backlog(&mut c.conn(), ws, Dim::All, to_day)
            .await?
            .iter()
            .map(|(_, n)| n)
            .sum();
        let mut backlog: BTreeMap<Option<String>, i64> = BTreeMap::new();
        let mut keys: Vec<Option<String>> = Vec::new();
        match (&group, group_by) {
            (Group::Dim(d), _) => {
                for (k, n) in store::kpis::backlog(&mut c.conn(), ws, *d, to_day).await? {
                    let k = (!k.is_empty()).then_some(k);
                    if n != 0 {
                        backlog.insert(k, n);
                    }
                }
            }
            (Group::Time { weeks, .. }, _) => {
                let days = store::kpis::backlog_days(&mut c.conn(), ws, to_day).await?;
                let bucket = |day: i64| if *weeks { kpi::week_of(day) } else { day };
                let (first, last) = (bucket(from_day), bucket(to_day - 1));
                let mut running = 0;
                let mut i = 0;
                for b in first..=last {
                    // The bucket's last day inside the period.
                    let end = if *weeks {
                        (kpi::monday_of(b) + 6).min(to_day - 1)
                    } else {
                        b
                    };
                    while i < days.len() && days[i].0 <= end {
                        running += days[i].1;
                        i += 1;
                    }
                    let key = Some(b.to_string());
                    backlog.insert(key.clone(), running);
                    keys.push(key);
                }
            }
            (Group::All, _) => {}
        }

        let mut rows: BTreeMap<Option<String>, KpiRow> = BTreeMap::new();
        let all_keys: HashSet<Option<String>> = counts
            .keys()
            .chain(backlog.keys())
            .chain(q.keys())
            .cloned()
            .collect();
        for k in all_keys {
            let cnt = counts.get(&k).copied().unwrap_or_default();
            let row = cnt.row(
                k.clone(),
                backlog.get(&k).copied().unwrap_or(0),
                &q.get(&k).copied().unwrap_or_default(),
            );
            rows.insert(k, row);
        }
        let mut items: Vec<KpiRow> = match &group {
            Group::All => Vec::new(),
            Group::Time { weeks, .. } => keys
                .iter()
                .map(|k| {
                    let mut r = rows.remove(k).unwrap_or_else(|| {
                        Counts::default().row(k.clone(), 0, &Quantiles::default())
                    });
                    let n: i64 = k.as_deref().and_then(|s| s.parse().ok()).unwrap_or(0);
                    let day = if *weeks { kpi::monday_of(n) } else { n };
                    r.key = Some(kpi::date_of(day));
                    r
                })
                .collect(),
            Group::Dim(_) => rows.into_values().collect(),
        };
        if let Group::Dim(d) = &group {
            label(&mut c.conn(), ws, *d, &mut items).await?;
            items.sort_by(|a, b| b.created.cmp(&a.created).then(a.key.cmp(&b.key)));
        }
        let total = total.row(None, total_backlog, &total_q);
        Ok(KpiReport {
            from: kpi::date_of(from_day),
            to: kpi::date_of(to_day),
            group_by: group_by.map(|g| g.as_str()),
            items,
            total,
        })
    }
}

/// Names the teams and agents a report's rows are keyed by.
async fn label(
    c: &mut store::Conn<'_>,
    ws: WorkspaceId,
    dim: Dim,
    items: &mut [KpiRow],
) -> Result<(), EngineError> {
    for r in items.iter_mut() {
        let Some(k) = r.key.as_deref() else { continue };
        let Ok(u) = k.parse::<uuid::Uuid>() else {
            continue;
        };
        r.label = match dim {
            Dim::Team => store::people::team_by_id(c, ws, TeamId::from(u))
                .await?
                .map(|t| t.name),
            Dim::Agent => store::people::user_by_id(c, ws, UserId::from(u))
                .await?
                .map(|u| u.name),
            _ => None,
        };
    }
    Ok(())
}

/// A report's period: the workspace's zone, the local days (`to` excluded)
/// and the instants they span.
pub(crate) struct Window {
    pub(crate) zone: Zone,
    pub(crate) days: (i64, i64),
    pub(crate) span: (i64, i64),
}

impl Engine {
    /// Who may read reports, and the period asked for.
    pub(crate) async fn window(
        &self,
        c: &mut store::ReadConn,
        p: &Principal,
        from: Option<&str>,
        to: Option<&str>,
    ) -> Result<Window, EngineError> {
        if !p.role.can_supervise() {
            return Err(EngineError::Forbidden(Code::ReportReaders.into()));
        }
        let zone = zone_of(&mut c.conn(), p.workspace_id).await?;
        let today = zone.day(self.store.now().millis());
        let days = period(from, to, today)?;
        let span = (
            zone.start(days.0).ok_or(EngineError::NotFound)?,
            zone.start(days.1).ok_or(EngineError::NotFound)?,
        );
        Ok(Window { zone, days, span })
    }

    /// The median and 90th percentile of the measure's values in each group
    /// and in all: the daily histograms say which bucket each rank falls in
    /// and its rank there, and only the facts of those buckets are read.
    async fn quantiles(
        &self,
        ws: WorkspaceId,
        measure: Measure,
        (zone, days, span): (&Zone, (i64, i64), (i64, i64)),
        group: &Group,
    ) -> Result<Quantiled, EngineError> {
        let mut c = self.store.read().await?;
        let hists = store::kpis::histograms(&mut c.conn(), ws, measure, days, group).await?;
        let mut all = kpi::Histogram::default();
        for (_, h) in &hists {
            all.add(h);
        }
        // Each group's median (two ranks) and 90th percentile: (bucket, rank in it).
        let locate = |h: &kpi::Histogram| kpi::ranks(h.total()).map(|r| h.locate(r));
        let wanted: Vec<(Option<String>, Located)> =
            hists.iter().map(|(k, h)| (k.clone(), locate(h))).collect();
        let total_at = locate(&all);
        // A bucket of one value (a zero in business hours is common) needs
        // no read: its value is known.
        let buckets = |at: &[Option<(i64, i64)>]| -> Vec<i64> {
            let mut b: Vec<i64> = at
                .iter()
                .flatten()
                .map(|(b, _)| *b)
                .filter(|b| kpi::exact(*b).is_none())
                .collect();
            b.sort_unstable();
            b.dedup();
            b
        };
        // The reads: by day or week each group over its own days (the rest
        // of the period's facts in its buckets are other groups'), and the
        // total over the period; by anything else one read serves all.
        let mut reads: Vec<((i64, i64), Vec<i64>, Feeds)> = Vec::new();
        if let Group::Time { weeks, .. } = group {
            for (k, at) in &wanted {
                let Some(n) = k.as_deref().and_then(|s| s.parse::<i64>().ok()) else {
                    continue;
                };
                let (d0, d1) = if *weeks {
                    let monday = kpi::monday_of(n);
                    (monday.max(days.0), (monday + 7).min(days.1))
                } else {
                    (n, n + 1)
                };
                let own = (
                    zone.start(d0).ok_or(EngineError::NotFound)?,
                    zone.start(d1).ok_or(EngineError::NotFound)?,
                );
                reads.push((own, buckets(at), Feeds::Groups));
            }
            reads.push((span, buckets(&total_at), Feeds::Total));
        } else {
            let every: Vec<Option<(i64, i64)>> = wanted
                .iter()
                .flat_map(|(_, at)| at.iter().copied())
                .chain(total_at)
                .collect();
            reads.push((span, buckets(&every), Feeds::Both));
        }
        let mut in_group: HashMap<(Option<String>, i64), Vec<i64>> = HashMap::new();
        let mut in_all: HashMap<i64, Vec<i64>> = HashMap::new();
        for (within, bs, feeds) in reads {
            for v in
                store::kpis::bucket_values(&mut c.conn(), ws, measure, within, group, &bs).await?
            {
                if feeds != Feeds::Total {
                    in_group
                        .entry((v.key.clone(), v.bucket))
                        .or_default()
                        .push(v.value);
                }
                if feeds != Feeds::Groups {
                    in_all.entry(v.bucket).or_default().push(v.value);
                }
            }
        }
        for v in in_group.values_mut().chain(in_all.values_mut()) {
            v.sort_unstable();
        }
        // The histograms and the facts are written in one transaction, so a
        // rank always finds its value; were one missing, the figure is left
        // out rather than made up.
        let pick = |values: Option<&Vec<i64>>, within: i64| {
            values
                .and_then(|v| v.get(usize::try_from(within - 1).ok()?))
                .map(|v| *v as f64)
        };
        let figures = |at: Located, value_at: &dyn Fn(i64, i64) -> Option<f64>| {
            let value = |i: usize| {
                at[i].and_then(|(b, within)| match kpi::exact(b) {
                    Some(v) => Some(v as f64),
                    None => value_at(b, within),
                })
            };
            let median = match (value(0), value(1)) {
                (Some(a), Some(b)) => Some((a + b) / 2.0),
                _ => None,
            };
            [median, value(2)]
        };
        let groups = wanted
            .into_iter()
            .map(|(k, at)| {
                let f = figures(at, &|b, within| pick(in_group.get(&(k.clone(), b)), within));
                (k, f)
            })
            .collect();
        let total = figures(total_at, &|b, within| pick(in_all.get(&b), within));
        Ok(Quantiled { groups, total })
    }

    /// Drops every KPI roll-up and has the consumer read the log again from
    /// the beginning (after a change of time zone or of SLA policies that
    /// should apply to the past).
    pub async fn rebuild_kpis(&self) -> Result<(), EngineError> {
        self.store
            .write(|tx| {
                Box::pin(async move {
                    store::kpis::forget_all(tx).await?;
                    store::consumers::rewind(tx, "kpis").await?;
                    Ok::<_, EngineError>(())
                })
            })
            .await
    }
}

/// A team's queue now.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct QueueNow {
    pub team_id: Option<TeamId>,
    pub team: Option<String>,
    pub open: i64,
    pub unassigned: i64,
    /// How long the oldest unanswered (new) ticket has waited.
    pub longest_wait_s: Option<i64>,
    pub at_risk: i64,
    pub breached: i64,
}

/// An agent now: presence and how many new and open tickets they hold.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct AgentNow {
    pub id: UserId,
    pub name: String,
    pub presence: String,
    pub load: i64,
    pub capacity: i64,
}

/// The supervisor's live view.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Board {
    pub queues: Vec<QueueNow>,
    pub agents: Vec<AgentNow>,
}

/// Most agents the live view lists.
const BOARD_AGENTS: i64 = 500;

impl Engine {
    /// Queues, waits, SLA at risk and agents' load, as they are now.
    /// Supervisors and up.
    pub async fn supervisor_board(&self, p: &Principal) -> Result<Board, EngineError> {
        if !p.role.can_supervise() {
            return Err(EngineError::Forbidden(Code::ReportReaders.into()));
        }
        let ws = p.workspace_id;
        let now = self.store.now().millis();
        let mut c = self.store.read().await?;
        let teams: HashMap<uuid::Uuid, String> =
            store::people::list_teams(&mut c.conn(), ws, None, 1_000)
                .await?
                .into_iter()
                .map(|t| (t.id.0, t.name))
                .collect();
        let mut queues: Vec<QueueNow> = store::kpis::queues(&mut c.conn(), ws, now)
            .await?
            .into_iter()
            .map(|q| QueueNow {
                team_id: q.team.map(TeamId::from),
                team: q.team.and_then(|t| teams.get(&t).cloned()),
                open: q.open,
                unassigned: q.unassigned,
                longest_wait_s: q.oldest_new.map(|t| (now - t).max(0) / 1000),
                at_risk: q.at_risk,
                breached: q.breached,
            })
            .collect();
        queues.sort_by_key(|q| std::cmp::Reverse((q.breached, q.at_risk, q.open)));
        let loads: HashMap<uuid::Uuid, i64> = store::kpis::loads(&mut c.conn(), ws)
            .await?
            .into_iter()
            .collect();
        let mut agents: Vec<AgentNow> =
            store::people::list_users(&mut c.conn(), ws, None, BOARD_AGENTS)
                .await?
                .into_iter()
                .filter(|u| u.active && u.role.can_work_tickets())
                .map(|u| AgentNow {
                    load: loads.get(&u.id.0).copied().unwrap_or(0),
                    id: u.id,
                    name: u.name,
                    presence: u.presence,
                    capacity: u.capacity,
                })
                .collect();
        let rank = |p: &str| match p {
            "online" => 0,
            "busy" => 1,
            "away" => 2,
            _ => 3,
        };
        agents.sort_by(|a, b| {
            (rank(&a.presence), std::cmp::Reverse(a.load), &a.name).cmp(&(
                rank(&b.presence),
                std::cmp::Reverse(b.load),
                &b.name,
            ))
        });
        Ok(Board { queues, agents })
    }

    /// Tickets created in the period per local weekday (Monday first) and
    /// hour. Supervisors and up.
    pub async fn volume_by_hour(
        &self,
        p: &Principal,
        from: Option<&str>,
        to: Option<&str>,
    ) -> Result<[[i64; 24]; 7], EngineError> {
        let ws = p.workspace_id;
        let mut c = self.store.read().await?;
        let Window { zone, span, .. } = self.window(&mut c, p, from, to).await?;
        let stretches = zone.stretches(span.0, span.1);
        let mut grid = [[0i64; 24]; 7];
        for (h, n) in store::kpis::hour_of_week(&mut c.conn(), ws, span, &stretches).await? {
            if (0..168).contains(&h) {
                grid[(h / 24) as usize][(h % 24) as usize] += n;
            }
        }
        Ok(grid)
    }
}

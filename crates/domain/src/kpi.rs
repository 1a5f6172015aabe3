//! Key performance indicators, with PRODUCT.md's definitions and nothing else.
//!
//! A ticket's contribution to every figure is a pure function of its history
//! ([`derive`]), like its SLA clocks: the engine folds the history again when
//! the ticket changes and writes the difference into the roll-ups, which are
//! derived data (dropped and rebuilt from the event log at will).
//!
//! What a ticket contributes, and to which moment (a report's period takes the
//! facts whose moment falls in it):
//! - **created** at its creation; `escalated` when it ever moved to a higher tier;
//! - **responded** at the first response to the customer's first message — the
//!   first public reply by a person, or a bot answer the customer then said
//!   helped —, valued at the time between them (first response time);
//! - **solved** at its last solve, if it is solved or closed now and was not
//!   merged away, valued at the time from creation (resolution time); `fcr`
//!   when it was solved with exactly one public reply by a person and never
//!   re-opened;
//! - **sla**, one per settled SLA target (`sla::outcomes`), at its settling;
//! - **bot** at the end of a bot conversation: `contained` when it ended with
//!   the ticket solved and no person having replied or taken it over, not
//!   when the bot handed off or a person replied first;
//! - **csat** / **nps** at the customer's latest answer of each kind, valued
//!   at the score;
//! - the **backlog**: +1 on the local day a ticket becomes unsolved (created,
//!   re-opened) and −1 on the day it is solved, under its team, agent and
//!   category of the time; the backlog at the end of a period sums the days
//!   before.
//!
//! Times are in business hours when the ticket's SLA policy has a calendar,
//! otherwise calendar time. Facts carry the ticket's present channel, team,
//! agent (assignee), category and customer language.

use crate::calendar::Calendar;
use crate::event::{Change, EventData};
use crate::sla::{self, Outcome};
use crate::survey::SurveyKind;
use crate::ticket::{AuthorKind, Channel, Status, Visibility};
use crate::wire_enum;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

wire_enum!(
    /// What a report is broken down by.
    GroupBy {
        Channel = "channel",
        Team = "team",
        Agent = "agent",
        Category = "category",
        Language = "language",
        Day = "day",
        Week = "week",
    }
);

wire_enum!(
    /// What a stored fact measures.
    Measure {
        Created = "created",
        Responded = "responded",
        Solved = "solved",
        Sla = "sla",
        Bot = "bot",
        Csat = "csat",
        Nps = "nps",
    }
);

wire_enum!(
    /// A breakdown the backlog is kept under (`all`: the whole workspace).
    Dim {
        All = "all",
        Channel = "channel",
        Team = "team",
        Agent = "agent",
        Category = "category",
        Language = "language",
    }
);

/// What a ticket is filed under.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Dims {
    pub channel: String,
    pub team: Option<String>,
    pub agent: Option<String>,
    pub category: Option<String>,
    pub language: Option<String>,
}

impl Dims {
    /// The backlog's key under `dim` (`""`: none).
    fn key(&self, dim: Dim) -> String {
        let v = match dim {
            Dim::All => return String::new(),
            Dim::Channel => Some(&self.channel),
            Dim::Team => self.team.as_ref(),
            Dim::Agent => self.agent.as_ref(),
            Dim::Category => self.category.as_ref(),
            Dim::Language => self.language.as_ref(),
        };
        v.cloned().unwrap_or_default()
    }
}

/// One thing in a ticket's history that moves its figures.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Input {
    Created(Status),
    Status(Status),
    Team {
        from: Option<String>,
        to: Option<String>,
    },
    Agent {
        from: Option<String>,
        to: Option<String>,
    },
    Category {
        from: Option<String>,
        to: Option<String>,
    },
    /// Moved to a higher tier.
    Escalated,
    CustomerWrote,
    /// A public reply by a person.
    AgentReplied,
    BotAnswered,
    BotFeedback {
        helpful: bool,
    },
    BotHandedOff,
    Survey {
        kind: SurveyKind,
        score: i64,
    },
    /// Nothing changed but time (an SLA breach): settles running targets.
    Tick,
}

/// The event kinds whose data [`Input::of`] reads: what a fold asks the log for.
pub const KINDS: &[&str] = &[
    "ticket.created",
    "ticket.updated",
    "message.added",
    "ticket.escalated",
    "bot.answered",
    "bot.feedback",
    "bot.handed_off",
    "survey.answered",
    "sla.breached",
];

fn text(v: &serde_json::Value) -> Option<String> {
    match v {
        serde_json::Value::String(s) if !s.is_empty() => Some(s.clone()),
        _ => None,
    }
}

fn moved(c: &Change) -> (Option<String>, Option<String>) {
    (text(&c.from), text(&c.to))
}

impl Input {
    /// What an event tells the figures (nothing for most events).
    pub fn of(e: &EventData) -> Vec<Input> {
        match e {
            EventData::TicketCreated { status, .. } => vec![Input::Created(*status)],
            EventData::TicketUpdated { changes, .. } => changes
                .iter()
                .filter_map(|c| match c.field.as_ref() {
                    "status" => {
                        c.to.as_str()
                            .and_then(|s| Status::parse(s).ok())
                            .map(Input::Status)
                    }
                    "team_id" => {
                        let (from, to) = moved(c);
                        Some(Input::Team { from, to })
                    }
                    "assignee_id" => {
                        let (from, to) = moved(c);
                        Some(Input::Agent { from, to })
                    }
                    "category" => {
                        let (from, to) = moved(c);
                        Some(Input::Category { from, to })
                    }
                    "tier" => match (c.from.as_i64(), c.to.as_i64()) {
                        (Some(a), Some(b)) if b > a => Some(Input::Escalated),
                        _ => None,
                    },
                    _ => None,
                })
                .collect(),
            EventData::TicketEscalated {
                from_tier, to_tier, ..
            } if to_tier > from_tier => vec![Input::Escalated],
            EventData::MessageAdded {
                visibility: Visibility::Public,
                author_kind,
                ..
            } => match author_kind {
                AuthorKind::Customer => vec![Input::CustomerWrote],
                AuthorKind::Agent => vec![Input::AgentReplied],
                AuthorKind::Bot | AuthorKind::System => vec![],
            },
            EventData::BotAnswered { .. } => vec![Input::BotAnswered],
            EventData::BotFeedback { helpful, .. } => {
                vec![Input::BotFeedback { helpful: *helpful }]
            }
            EventData::BotHandedOff { .. } => vec![Input::BotHandedOff],
            EventData::SurveyAnswered {
                survey_kind, score, ..
            } => SurveyKind::parse(survey_kind)
                .map(|kind| Input::Survey {
                    kind,
                    score: *score,
                })
                .into_iter()
                .collect(),
            EventData::SlaBreached { .. } => vec![Input::Tick],
            _ => vec![],
        }
    }

    /// Whether an event can change a ticket's figures (the roll-up folds the
    /// ticket again only then).
    pub fn matters(e: &EventData) -> bool {
        match e {
            // Priority and channel choose the SLA policy, and with it the
            // calendar and the targets.
            EventData::TicketUpdated { changes, .. } => changes.iter().any(|c| {
                matches!(
                    c.field.as_ref(),
                    "status"
                        | "team_id"
                        | "assignee_id"
                        | "category"
                        | "tier"
                        | "priority"
                        | "channel"
                )
            }),
            other => !Input::of(other).is_empty(),
        }
    }
}

/// One fact a ticket contributes.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Fact {
    pub measure: Measure,
    pub at: i64,
    /// Which of several facts of one measure (an SLA target: `first_reply/0`).
    pub part: String,
    /// Milliseconds, or a survey's score.
    pub value: Option<i64>,
    /// escalated, fcr, met, contained.
    pub flag: bool,
    /// The workspace's local day of `at`.
    #[serde(default)]
    pub day: i64,
}

impl Fact {
    /// What the fact adds to its day's counts: itself, flagged, a high score
    /// (CSAT 4–5, NPS 9–10), a low one (NPS 0–6).
    pub fn counts(&self) -> [i64; 4] {
        let v = self.value.unwrap_or(0);
        let (high, low) = match self.measure {
            Measure::Csat => (v >= 4, false),
            Measure::Nps => (v >= 9, v <= 6),
            _ => (false, false),
        };
        [1, i64::from(self.flag), i64::from(high), i64::from(low)]
    }
}

impl Dims {
    /// The keys of this ticket under every breakdown (`""`: none).
    pub fn keys(&self) -> impl Iterator<Item = (Dim, String)> + '_ {
        Dim::ALL.iter().map(|d| (*d, self.key(*d)))
    }
}

/// A ticket's whole contribution.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Derived {
    pub dims: Dims,
    pub facts: Vec<Fact>,
    /// Net backlog change per (breakdown, key, local day); zeros left out.
    pub backlog: Vec<(Dim, String, i64, i64)>,
}

/// The ticket as it is now.
#[derive(Clone, Debug)]
pub struct Ticket {
    pub created_at: i64,
    pub channel: Channel,
    pub team: Option<String>,
    pub agent: Option<String>,
    pub category: Option<String>,
    pub language: Option<String>,
    /// Merged into another ticket: its solve is not a solve.
    pub merged: bool,
}

/// How times are counted and which targets apply: the ticket's SLA policy.
#[derive(Clone, Copy, Debug, Default)]
pub struct Policy<'a> {
    pub rules: Option<sla::Rules<'a>>,
}

impl Policy<'_> {
    fn calendar(&self) -> Option<&Calendar> {
        self.rules.and_then(|r| r.calendar)
    }
    /// Counted time from `a` to `b`.
    fn between(&self, a: i64, b: i64) -> i64 {
        match self.calendar() {
            Some(c) => c.between(a, b),
            None => (b - a).max(0),
        }
    }
}

fn done(s: Status) -> bool {
    matches!(s, Status::Solved | Status::Closed)
}

/// Folds a ticket's history (`(when, input)`, in the order the events were
/// written) into its facts. `sla_history` is the same history as the SLA
/// clocks read it; `local_day` names the workspace's day of an instant.
pub fn derive(
    t: &Ticket,
    history: &[(i64, Input)],
    sla_history: &[(i64, sla::Fact)],
    policy: Policy<'_>,
    local_day: &dyn Fn(i64) -> i64,
) -> Derived {
    // The breakdowns at creation: a later change's `from`, else what is now.
    let first = |pick: fn(&Input) -> Option<&Option<String>>, now: &Option<String>| {
        history
            .iter()
            .find_map(|(_, i)| pick(i).cloned())
            .unwrap_or_else(|| now.clone())
    };
    let mut dims = Dims {
        channel: t.channel.as_str().to_owned(),
        team: first(
            |i| match i {
                Input::Team { from, .. } => Some(from),
                _ => None,
            },
            &t.team,
        ),
        agent: first(
            |i| match i {
                Input::Agent { from, .. } => Some(from),
                _ => None,
            },
            &t.agent,
        ),
        category: first(
            |i| match i {
                Input::Category { from, .. } => Some(from),
                _ => None,
            },
            &t.category,
        ),
        language: t.language.clone(),
    };
    // Keyed by the breakdown's place in `Dim::ALL`.
    let mut backlog: BTreeMap<(usize, String, i64), i64> = BTreeMap::new();
    let mut shift = |d: &Dims, at: i64, by: i64| {
        let day = local_day(at);
        for (i, dim) in Dim::ALL.iter().enumerate() {
            *backlog.entry((i, d.key(*dim), day)).or_default() += by;
        }
    };

    let mut created = false;
    let mut is_done = false;
    let mut reopens = 0u32;
    let mut replies = 0u32;
    let mut escalated = false;
    let mut customer_first: Option<i64> = None;
    let mut response: Option<i64> = None;
    let mut bot_answer: Option<i64> = None;
    let mut bot = false;
    let mut bot_end: Option<(i64, bool)> = None;
    let mut last_solve: Option<i64> = None;
    let mut surveys: BTreeMap<&'static str, (i64, i64)> = BTreeMap::new();
    let mut last = i64::MIN;
    for (at, input) in history {
        let t_at = (*at).max(last);
        last = t_at;
        match input {
            Input::Created(s) => {
                if created {
                    continue;
                }
                created = true;
                is_done = done(*s);
                if is_done {
                    last_solve = Some(t_at);
                } else {
                    shift(&dims, t_at, 1);
                }
            }
            Input::Status(s) => {
                let now_done = done(*s);
                if now_done && !is_done {
                    last_solve = Some(t_at);
                    shift(&dims, t_at, -1);
                    if bot && bot_end.is_none() {
                        bot_end = Some((t_at, true));
                    }
                } else if !now_done && is_done {
                    reopens += 1;
                    last_solve = None;
                    shift(&dims, t_at, 1);
                }
                is_done = now_done;
            }
            Input::Team { to, .. } | Input::Agent { to, .. } | Input::Category { to, .. } => {
                let mut next = dims.clone();
                match input {
                    Input::Team { .. } => next.team = to.clone(),
                    Input::Agent { .. } => next.agent = to.clone(),
                    _ => next.category = to.clone(),
                }
                if !is_done && created {
                    shift(&dims, t_at, -1);
                    shift(&next, t_at, 1);
                }
                dims = next;
                // A person taking the conversation over ends the bot's part.
                if matches!(input, Input::Agent { to: Some(_), .. }) && bot && bot_end.is_none() {
                    bot_end = Some((t_at, false));
                }
            }
            Input::Escalated => escalated = true,
            Input::CustomerWrote => {
                customer_first.get_or_insert(t_at);
            }
            Input::AgentReplied => {
                replies += 1;
                if customer_first.is_some() && response.is_none() {
                    response = Some(t_at);
                }
                if bot && bot_end.is_none() {
                    bot_end = Some((t_at, false));
                }
            }
            Input::BotAnswered => {
                bot = true;
                if customer_first.is_some() && response.is_none() {
                    bot_answer = Some(t_at);
                }
            }
            Input::BotFeedback { helpful } => {
                if *helpful && response.is_none() {
                    response = bot_answer;
                }
            }
            Input::BotHandedOff => {
                bot = true;
                if bot_end.is_none() {
                    bot_end = Some((t_at, false));
                }
            }
            Input::Survey { kind, score } => {
                surveys.insert(kind.as_str(), (t_at, *score));
            }
            Input::Tick => {}
        }
    }

    let mut facts = Vec::new();
    let fact = |measure, at, value, flag| Fact {
        measure,
        at,
        part: String::new(),
        value,
        flag,
        day: local_day(at),
    };
    facts.push(fact(Measure::Created, t.created_at, None, escalated));
    if let (Some(c), Some(r)) = (customer_first, response) {
        facts.push(fact(
            Measure::Responded,
            r,
            Some(policy.between(c, r)),
            false,
        ));
    }
    if let Some(s) = last_solve.filter(|_| is_done && !t.merged) {
        let fcr = replies == 1 && reopens == 0;
        facts.push(fact(
            Measure::Solved,
            s,
            Some(policy.between(t.created_at, s)),
            fcr,
        ));
    }
    if let Some(rules) = policy.rules {
        let now = sla_history
            .iter()
            .map(|(at, _)| *at)
            .chain(std::iter::once(last))
            .max()
            .unwrap_or(last);
        for Outcome {
            metric,
            cycle,
            at,
            met,
        } in sla::outcomes(sla_history, &rules, now)
        {
            facts.push(Fact {
                measure: Measure::Sla,
                at,
                part: format!("{}/{cycle}", metric.as_str()),
                value: None,
                flag: met,
                day: local_day(at),
            });
        }
    }
    if let Some((at, contained)) = bot_end {
        facts.push(fact(Measure::Bot, at, None, contained));
    }
    for (kind, (at, score)) in surveys {
        let measure = if kind == SurveyKind::Nps.as_str() {
            Measure::Nps
        } else {
            Measure::Csat
        };
        facts.push(fact(measure, at, Some(score), false));
    }
    facts.sort_by(|a, b| {
        (a.measure.as_str(), a.at, &a.part).cmp(&(b.measure.as_str(), b.at, &b.part))
    });
    Derived {
        dims,
        facts,
        backlog: backlog
            .into_iter()
            .filter(|(_, n)| *n != 0)
            .map(|((d, k, day), n)| (Dim::ALL[d], k, day, n))
            .collect(),
    }
}

const DAY_MS: i64 = 86_400_000;

/// A workspace's days: the local day number (days since 1970-01-01) of an
/// instant is its local time divided by a day, so the database can bucket
/// the same way (`store::kpis::Group::Time`).
#[derive(Clone, Debug)]
pub struct Zone(jiff::tz::TimeZone);

impl Zone {
    /// `None` for an unknown zone name.
    pub fn named(tz: &str) -> Option<Zone> {
        jiff::tz::TimeZone::get(tz).ok().map(Zone)
    }

    fn offset_ms(&self, ms: i64) -> i64 {
        match jiff::Timestamp::from_millisecond(ms) {
            Ok(t) => i64::from(self.0.to_offset(t).seconds()) * 1000,
            Err(_) => 0,
        }
    }

    /// The local day `ms` falls on.
    pub fn day(&self, ms: i64) -> i64 {
        (ms + self.offset_ms(ms)).div_euclid(DAY_MS)
    }

    /// When local day `day` begins (a midnight the clocks skip: the first
    /// instant of the day).
    pub fn start(&self, day: i64) -> Option<i64> {
        let d = epoch()
            .checked_add(jiff::Span::new().try_days(day).ok()?)
            .ok()?;
        let z = d.to_zoned(self.0.clone()).ok()?;
        Some(z.timestamp().as_millisecond())
    }

    /// The zone's offsets over `from..to`: `(until, offset_ms)` in time order,
    /// the last open-ended.
    pub fn stretches(&self, from: i64, to: i64) -> Vec<(i64, i64)> {
        let mut out = Vec::new();
        let mut off = self.offset_ms(from);
        if let Ok(start) = jiff::Timestamp::from_millisecond(from) {
            for tr in self.0.following(start) {
                let at = tr.timestamp().as_millisecond();
                if at >= to || out.len() >= 1_000 {
                    break;
                }
                out.push((at, off));
                off = i64::from(tr.offset().seconds()) * 1000;
            }
        }
        out.push((i64::MAX, off));
        out
    }
}

fn epoch() -> jiff::civil::Date {
    jiff::civil::date(1970, 1, 1)
}

/// A day number as `YYYY-MM-DD`.
pub fn date_of(day: i64) -> String {
    jiff::Span::new()
        .try_days(day)
        .ok()
        .and_then(|s| epoch().checked_add(s).ok())
        .map(|d| d.to_string())
        .unwrap_or_default()
}

/// `YYYY-MM-DD` as a day number.
pub fn day_of(date: &str) -> Option<i64> {
    let d: jiff::civil::Date = date.trim().parse().ok()?;
    let span = epoch().until(d).ok()?;
    Some(i64::from(span.get_days()))
}

/// The Monday-started week a day is in, and back: its Monday.
pub fn week_of(day: i64) -> i64 {
    (day + 3).div_euclid(7)
}
pub fn monday_of(week: i64) -> i64 {
    week * 7 - 3
}

/// The median of sorted values (the mean of the middle two for an even count).
pub fn median(sorted: &[i64]) -> Option<f64> {
    let n = sorted.len();
    if n == 0 {
        return None;
    }
    Some(if n % 2 == 1 {
        sorted[n / 2] as f64
    } else {
        (sorted[n / 2 - 1] as f64 + sorted[n / 2] as f64) / 2.0
    })
}

/// The 90th percentile of sorted values by nearest rank: the ⌈0.9·n⌉-th.
pub fn p90(sorted: &[i64]) -> Option<f64> {
    let n = sorted.len();
    (n > 0).then(|| sorted[(9 * n).div_ceil(10) - 1] as f64)
}

/// The ranks (1-based) a median and the 90th percentile of `n` sorted values
/// read: what a database is asked for instead of every value.
pub fn ranks(n: i64) -> [i64; 3] {
    [(n + 1) / 2, n / 2 + 1, (9 * n + 9) / 10]
}

impl Measure {
    /// Whether reports read quantiles of the measure's values (first
    /// response and resolution times): those values are kept in histograms.
    pub fn quantiled(self) -> bool {
        matches!(self, Measure::Responded | Measure::Solved)
    }
}

/// Values per doubling a [`bucket`] is split into past the first 16.
const SUB_BUCKETS: u64 = 16;

/// A value's histogram bucket: a value of its own below 16, then 16 buckets
/// per doubling, so a bucket spans at most 1/16 of its values (≤ 6.25 %; a
/// month's first response times by team fall in a few hundred of them).
/// Monotone: a larger value never falls in an earlier bucket. Negative
/// values count as 0.
pub fn bucket(value: i64) -> i64 {
    let v = value.max(0) as u64;
    if v < SUB_BUCKETS {
        return v as i64;
    }
    // ⌊log₂ v⌋ ≥ 4; the four bits after the leading one pick the sub-bucket.
    let e = u64::from(63 - v.leading_zeros());
    let sub = (v >> (e - 4)) & (SUB_BUCKETS - 1);
    (SUB_BUCKETS * (e - 3) + sub) as i64
}

/// The one value a bucket holds, for the buckets below 16 (each a value of
/// its own): no fact need be read to know it.
pub fn exact(bucket: i64) -> Option<i64> {
    (0..SUB_BUCKETS as i64).contains(&bucket).then_some(bucket)
}

/// How many values fell in each [`bucket`]: a day's values of one measure
/// under one key, or a report's group summed over its days. A quantile then
/// needs only the values of the one bucket its rank falls in.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Histogram(BTreeMap<i64, i64>);

impl Histogram {
    /// Adds `n` (negative: takes away) to a bucket; empty buckets are dropped.
    pub fn put(&mut self, bucket: i64, n: i64) {
        let e = self.0.entry(bucket).or_default();
        *e += n;
        if *e == 0 {
            self.0.remove(&bucket);
        }
    }

    pub fn add(&mut self, other: &Histogram) {
        for (b, n) in &other.0 {
            self.put(*b, *n);
        }
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The values counted.
    pub fn total(&self) -> i64 {
        self.0.values().sum()
    }

    /// The bucket holding the value of `rank` (1-based, by value) and that
    /// value's rank among the bucket's own values; `None` past the last.
    pub fn locate(&self, rank: i64) -> Option<(i64, i64)> {
        let mut below = 0;
        for (b, n) in &self.0 {
            if rank <= below + n {
                return (rank > below).then_some((*b, rank - below));
            }
            below += n;
        }
        None
    }

    /// As stored: `bucket:count` pairs in bucket order, comma-separated.
    pub fn encode(&self) -> String {
        let mut s = String::with_capacity(self.0.len() * 8);
        for (i, (b, n)) in self.0.iter().enumerate() {
            if i > 0 {
                s.push(',');
            }
            s.push_str(&format!("{b}:{n}"));
        }
        s
    }

    /// Reads [`Histogram::encode`]'s text; `None` if it is not that.
    pub fn decode(s: &str) -> Option<Histogram> {
        let mut h = Histogram::default();
        for pair in s.split(',').filter(|p| !p.is_empty()) {
            let (b, n) = pair.split_once(':')?;
            h.put(b.parse().ok()?, n.parse().ok()?);
        }
        Some(h)
    }
}

/// NPS from answers' counts: % promoters (9–10) − % detractors (0–6).
pub fn nps(promoters: i64, detractors: i64, answers: i64) -> Option<f64> {
    (answers > 0).then(|| 100.0 * (promoters - detractors) as f64 / answers as f64)
}

/// A share, `None` without a denominator.
pub fn share(part: i64, whole: i64) -> Option<f64> {
    (whole > 0).then(|| part as f64 / whole as f64)
}

#[cfg(test)]
mod tests {
    use super::*;

    const MIN: i64 = 60_000;
    const HOUR: i64 = 60 * MIN;
    const DAY: i64 = 24 * HOUR;

    fn ticket() -> Ticket {
        Ticket {
            created_at: 0,
            channel: Channel::Email,
            team: Some("t2".into()),
            agent: Some("a".into()),
            category: None,
            language: Some("ru".into()),
            merged: false,
        }
    }

    fn day(ms: i64) -> i64 {
        ms.div_euclid(DAY)
    }

    fn of(d: &Derived, m: Measure) -> Vec<&Fact> {
        d.facts.iter().filter(|f| f.measure == m).collect()
    }

    #[test]
    fn a_plain_ticket_is_created_answered_and_solved_first_time() {
        let h = [
            (0, Input::Created(Status::New)),
            (0, Input::CustomerWrote),
            (30 * MIN, Input::AgentReplied),
            (DAY + HOUR, Input::Status(Status::Solved)),
        ];
        let d = derive(&ticket(), &h, &[], Policy::default(), &day);
        assert_eq!(of(&d, Measure::Responded)[0].value, Some(30 * MIN));
        let s = of(&d, Measure::Solved)[0];
        assert_eq!(
            (s.at, s.value, s.flag),
            (DAY + HOUR, Some(DAY + HOUR), true)
        );
        assert!(!of(&d, Measure::Created)[0].flag);
        // +1 on day 0, −1 on day 1, under each breakdown.
        assert!(d.backlog.contains(&(Dim::All, String::new(), 0, 1)));
        assert!(d.backlog.contains(&(Dim::Team, "t2".into(), 1, -1)));
        assert_eq!(d.backlog.len(), 12);
    }

    #[test]
    fn a_reopened_ticket_is_not_first_contact_and_counts_its_last_solve() {
        let h = [
            (0, Input::Created(Status::New)),
            (0, Input::CustomerWrote),
            (MIN, Input::AgentReplied),
            (HOUR, Input::Status(Status::Solved)),
            (2 * DAY, Input::CustomerWrote),
            (2 * DAY, Input::Status(Status::Open)),
        ];
        let d = derive(&ticket(), &h, &[], Policy::default(), &day);
        assert!(of(&d, Measure::Solved).is_empty(), "unsolved again");
        assert!(d.backlog.contains(&(Dim::All, String::new(), 2, 1)));
        let mut h2 = h.to_vec();
        h2.push((3 * DAY, Input::Status(Status::Solved)));
        let d = derive(&ticket(), &h2, &[], Policy::default(), &day);
        let s = of(&d, Measure::Solved)[0];
        assert_eq!((s.at, s.flag), (3 * DAY, false));
    }

    #[test]
    fn a_moved_ticket_leaves_one_backlog_for_another() {
        let h = [
            (0, Input::Created(Status::New)),
            (
                DAY,
                Input::Team {
                    from: Some("t1".into()),
                    to: Some("t2".into()),
                },
            ),
            (DAY, Input::Escalated),
        ];
        let d = derive(&ticket(), &h, &[], Policy::default(), &day);
        assert!(d.backlog.contains(&(Dim::Team, "t1".into(), 0, 1)));
        assert!(d.backlog.contains(&(Dim::Team, "t1".into(), 1, -1)));
        assert!(d.backlog.contains(&(Dim::Team, "t2".into(), 1, 1)));
        // Unchanged breakdowns cancel out on the day of the move.
        assert!(!d.backlog.iter().any(|b| b.0 == Dim::All && b.2 == 1));
        assert!(of(&d, Measure::Created)[0].flag, "escalated");
        assert_eq!(d.dims.team.as_deref(), Some("t2"));
    }

    #[test]
    fn the_bot_counts_when_accepted_and_contains_only_without_people() {
        let accepted = [
            (0, Input::Created(Status::New)),
            (0, Input::CustomerWrote),
            (MIN, Input::BotAnswered),
            (5 * MIN, Input::BotFeedback { helpful: true }),
            (5 * MIN, Input::Status(Status::Solved)),
        ];
        let d = derive(&ticket(), &accepted, &[], Policy::default(), &day);
        assert_eq!(of(&d, Measure::Responded)[0].value, Some(MIN));
        let b = of(&d, Measure::Bot)[0];
        assert_eq!((b.at, b.flag), (5 * MIN, true));
        assert!(
            !of(&d, Measure::Solved)[0].flag,
            "no person replied: not FCR"
        );

        let handed = [
            (0, Input::Created(Status::New)),
            (0, Input::CustomerWrote),
            (MIN, Input::BotAnswered),
            (2 * MIN, Input::BotFeedback { helpful: false }),
            (2 * MIN, Input::BotHandedOff),
            (HOUR, Input::AgentReplied),
        ];
        let d = derive(&ticket(), &handed, &[], Policy::default(), &day);
        assert_eq!(of(&d, Measure::Responded)[0].value, Some(HOUR));
        let b = of(&d, Measure::Bot)[0];
        assert_eq!((b.at, b.flag), (2 * MIN, false));
    }

    #[test]
    fn business_hours_and_targets_come_from_the_policy() {
        let mut week: [Vec<(String, String)>; 7] = Default::default();
        for d in week.iter_mut().take(5) {
            d.push(("09:00".into(), "18:00".into()));
        }
        let cal = Calendar::new("UTC", &week, &[]).expect("calendar");
        let rules = sla::Rules {
            targets: sla::Targets {
                first_reply_ms: Some(HOUR),
                next_reply_ms: None,
                resolution_ms: None,
            },
            warn_per_mille: None,
            calendar: Some(&cal),
        };
        // 1970-01-01 was a Thursday: 17:30 to Friday 09:29 is 59 open minutes.
        let (asked, answered) = (17 * HOUR + 30 * MIN, DAY + 9 * HOUR + 29 * MIN);
        let h = [
            (asked, Input::Created(Status::New)),
            (asked, Input::CustomerWrote),
            (answered, Input::AgentReplied),
        ];
        let sh = [
            (asked, sla::Fact::Created(Status::New)),
            (asked, sla::Fact::CustomerWrote),
            (answered, sla::Fact::AgentReplied),
        ];
        let t = Ticket {
            created_at: asked,
            ..ticket()
        };
        let d = derive(&t, &h, &sh, Policy { rules: Some(rules) }, &day);
        assert_eq!(of(&d, Measure::Responded)[0].value, Some(59 * MIN));
        let s = of(&d, Measure::Sla);
        assert_eq!((s[0].part.as_str(), s[0].flag), ("first_reply/0", true));
    }

    #[test]
    fn quantiles_read_the_ranks_they_name() {
        let v = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10];
        assert_eq!(median(&v), Some(5.5));
        assert_eq!(p90(&v), Some(9.0));
        assert_eq!(median(&v[..3]), Some(2.0));
        assert_eq!(p90(&v[..1]), Some(1.0));
        assert_eq!(median(&[]), None);
        for n in 1..40_i64 {
            let all: Vec<i64> = (1..=n).collect();
            let [lo, hi, p] = ranks(n);
            let m = (all[lo as usize - 1] as f64 + all[hi as usize - 1] as f64) / 2.0;
            assert_eq!(Some(m), median(&all), "n = {n}");
            assert_eq!(Some(all[p as usize - 1] as f64), p90(&all), "n = {n}");
        }
        assert_eq!(nps(5, 2, 10), Some(30.0));
        assert_eq!(share(0, 0), None);
    }

    #[test]
    fn days_and_weeks_are_local() {
        let msk = Zone::named("Europe/Moscow").expect("zone");
        let day = day_of("2026-11-30").expect("date");
        assert_eq!(date_of(day), "2026-11-30");
        // Midnight in Moscow is 21:00 UTC the day before.
        let start = msk.start(day).expect("start");
        assert_eq!(start % DAY, 21 * HOUR);
        assert_eq!((msk.day(start), msk.day(start - 1)), (day, day - 1));
        // 2026-11-30 is a Monday: the start of its week.
        assert_eq!(monday_of(week_of(day)), day);
        assert_eq!(week_of(day + 6), week_of(day));
        assert_eq!(week_of(day - 1), week_of(day) - 1);
        // Berlin changes offset twice in 2026.
        let ber = Zone::named("Europe/Berlin").expect("zone");
        let (a, b) = (
            ber.start(day_of("2026-01-01").unwrap()).unwrap(),
            ber.start(day_of("2027-01-01").unwrap()).unwrap(),
        );
        let s = ber.stretches(a, b);
        assert_eq!(
            s.iter().map(|x| x.1).collect::<Vec<_>>(),
            [HOUR, 2 * HOUR, HOUR]
        );
        for (until, off) in &s[..2] {
            assert_eq!(ber.day(*until - 1), (*until - 1 + off).div_euclid(DAY));
        }
        assert_eq!(share(0, 0), None);
    }

    #[test]
    fn buckets_are_ordered_narrow_and_cover_every_value() {
        let probes: Vec<i64> = (0..5_000)
            .chain((12..62).flat_map(|e| {
                let p = 1i64 << e;
                [p - 1, p, p + 1, p + p / 3]
            }))
            .chain([i64::MAX])
            .collect();
        let mut sorted = probes.clone();
        sorted.sort_unstable();
        for w in sorted.windows(2) {
            let (a, b) = (bucket(w[0]), bucket(w[1]));
            assert!(a <= b, "{} → {a} but {} → {b}", w[0], w[1]);
            // Consecutive values never skip a bucket.
            if w[1] == w[0] + 1 {
                assert!(b - a <= 1, "{} skips from {a} to {b}", w[1]);
            }
        }
        assert_eq!(
            (bucket(-5), bucket(0), bucket(15), bucket(16)),
            (0, 0, 15, 16)
        );
        for v in 0..40 {
            assert_eq!(exact(bucket(v)), (v < 16).then_some(v));
        }
        // The widest bucket past the exact ones holds values within 1/16 of its lowest.
        let mut lowest = std::collections::BTreeMap::new();
        for v in (16..200_000).chain((1 << 40)..(1 << 40) + 100_000) {
            let lo = *lowest.entry(bucket(v)).or_insert(v);
            assert!(
                (v - lo) * 16 < lo + 1,
                "{v} shares bucket {} with {lo}",
                bucket(v)
            );
        }
    }

    proptest::proptest! {
        #[test]
        fn a_histogram_locates_each_rank_as_sorting_would(
            values in proptest::collection::vec(0i64..100_000_000, 1..300),
        ) {
            let mut h = Histogram::default();
            for v in &values {
                h.put(bucket(*v), 1);
            }
            let h = Histogram::decode(&h.encode()).expect("its own text");
            proptest::prop_assert_eq!(h.total(), values.len() as i64);
            let mut sorted = values.clone();
            sorted.sort_unstable();
            for rank in 1..=sorted.len() as i64 {
                let (b, within) = h.locate(rank).expect("in range");
                let mut same: Vec<i64> = values.iter().copied().filter(|v| bucket(*v) == b).collect();
                same.sort_unstable();
                proptest::prop_assert_eq!(same[within as usize - 1], sorted[rank as usize - 1]);
            }
            proptest::prop_assert_eq!(h.locate(sorted.len() as i64 + 1), None);
            proptest::prop_assert_eq!(h.locate(0), None);
        }
    }

    #[test]
    fn a_histogram_drops_what_is_taken_back_and_refuses_bad_text() {
        let mut h = Histogram::decode("3:2,40:1").expect("text");
        h.put(40, -1);
        h.put(3, -2);
        assert!(h.is_empty());
        assert_eq!(h.encode(), "");
        assert_eq!(Histogram::decode("3:x"), None);
        assert_eq!(Histogram::decode("3"), None);
    }
}

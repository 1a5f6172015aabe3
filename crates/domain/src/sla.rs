//! Service-level agreements: which policy a ticket falls under, and its clocks.
//!
//! A ticket's SLA is a pure function of its history (the ticket's events, read
//! as [`Fact`]s), the policy and its calendar, and the moment asked about. Nothing
//! is kept in memory between events: the engine folds the history again when a
//! ticket changes, and a timer job folds it again at the moment a warning or a
//! breach is due, so the state survives restarts and agrees on every node.
//!
//! The clocks:
//! - **first reply** runs from the customer's first message until the first
//!   public reply by an agent (a ticket an agent opened has none);
//! - **next reply** runs from a customer message that follows an agent's reply
//!   until the next public reply, once per exchange (`cycle` counts them);
//! - **resolution** runs from the ticket's creation until it is solved; a
//!   re-opened ticket carries on from the time already used.
//!
//! Every running clock pauses while the ticket is pending or on hold, and solving
//! a ticket stops the reply clocks too. A clock whose used time reaches its
//! target is breached at that instant, and stays breached once it stops; one
//! stopped before is met. A warning falls when the used time reaches the policy's
//! share of the target.

use crate::Code;
use crate::DomainError;
use crate::Message;
use crate::calendar::Calendar;
use crate::event::EventData;
use crate::ids::TeamId;
use crate::message;
use crate::ticket::{AuthorKind, Channel, Priority, Status, Visibility};
use crate::wire_enum;
use serde::{Deserialize, Serialize};

wire_enum!(
    /// What an SLA target measures.
    Metric { FirstReply = "first_reply", NextReply = "next_reply", Resolution = "resolution" }
);

wire_enum!(
    /// Where a clock stands.
    ClockState { Running = "running", Paused = "paused", Met = "met", Breached = "breached" }
);

/// The longest target: a year.
pub const MAX_TARGET_MINUTES: i64 = 525_600;
/// Most values one condition lists.
pub const MAX_CONDITION_VALUES: usize = 50;

/// Which tickets a policy covers. Each list narrows (empty: any value); a ticket
/// matches when it matches every non-empty list.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Conditions {
    #[serde(default)]
    pub channel: Vec<Channel>,
    #[serde(default)]
    pub priority: Vec<Priority>,
    #[serde(default)]
    pub team: Vec<TeamId>,
    /// The customer has at least one of these tags.
    #[serde(default)]
    pub customer_tags: Vec<String>,
    /// The customer's language (`ru` also covers `ru-ru`).
    #[serde(default)]
    pub language: Vec<String>,
}

/// What policy conditions look at, for one ticket.
#[derive(Clone, Copy, Debug)]
pub struct Subject<'a> {
    pub channel: Channel,
    pub priority: Priority,
    pub team: Option<TeamId>,
    pub customer_tags: &'a [String],
    pub language: Option<&'a str>,
}

impl Conditions {
    /// Normalised: tags and languages in their stored forms, duplicates out,
    /// each list within bounds.
    pub fn normalized(mut self) -> Result<Conditions, DomainError> {
        fn dedup<T: PartialEq + Clone>(v: &mut Vec<T>) {
            let mut seen: Vec<T> = Vec::with_capacity(v.len());
            v.retain(|x| {
                if seen.contains(x) {
                    false
                } else {
                    seen.push(x.clone());
                    true
                }
            });
        }
        // Bounded as given, before duplicates are dropped: the API's schema
        // states the bound on the list sent.
        for (name, n) in [
            ("channel", self.channel.len()),
            ("priority", self.priority.len()),
            ("team", self.team.len()),
            ("customer_tags", self.customer_tags.len()),
            ("language", self.language.len()),
        ] {
            if n > MAX_CONDITION_VALUES {
                return Err(DomainError::invalid(
                    format!("conditions.{name}"),
                    Message::new(Code::AtMostValues).with("max", MAX_CONDITION_VALUES),
                ));
            }
        }
        self.customer_tags = self
            .customer_tags
            .iter()
            .map(|t| crate::ticket::normalize_tag(t))
            .collect::<Result<_, _>>()
            .map_err(|e| DomainError::invalid("conditions.customer_tags", e.message()))?;
        self.language = self
            .language
            .iter()
            .map(|l| crate::identity::normalize_language(l))
            .collect::<Result<_, _>>()
            .map_err(|e| DomainError::invalid("conditions.language", e.message()))?;
        dedup(&mut self.channel);
        dedup(&mut self.priority);
        dedup(&mut self.team);
        dedup(&mut self.customer_tags);
        dedup(&mut self.language);
        Ok(self)
    }

    pub fn matches(&self, s: &Subject<'_>) -> bool {
        let any = |list_empty: bool, hit: bool| list_empty || hit;
        any(self.channel.is_empty(), self.channel.contains(&s.channel))
            && any(
                self.priority.is_empty(),
                self.priority.contains(&s.priority),
            )
            && any(
                self.team.is_empty(),
                s.team.is_some_and(|t| self.team.contains(&t)),
            )
            && any(
                self.customer_tags.is_empty(),
                self.customer_tags
                    .iter()
                    .any(|t| s.customer_tags.contains(t)),
            )
            && any(
                self.language.is_empty(),
                s.language.is_some_and(|l| {
                    self.language.iter().any(|c| {
                        l == c
                            || l.strip_prefix(c.as_str())
                                .is_some_and(|r| r.starts_with('-'))
                    })
                }),
            )
    }
}

/// Targets in milliseconds of counted time (business or calendar); `None`: not
/// measured.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Targets {
    pub first_reply_ms: Option<i64>,
    pub next_reply_ms: Option<i64>,
    pub resolution_ms: Option<i64>,
}

impl Targets {
    /// From whole minutes, each 1 to a year; at least one target.
    pub fn from_minutes(
        first_reply: Option<i64>,
        next_reply: Option<i64>,
        resolution: Option<i64>,
    ) -> Result<Targets, DomainError> {
        let ms = |field: &str, m: Option<i64>| -> Result<Option<i64>, DomainError> {
            match m {
                None => Ok(None),
                Some(m) if (1..=MAX_TARGET_MINUTES).contains(&m) => Ok(Some(m * 60_000)),
                Some(_) => Err(DomainError::invalid(
                    format!("targets.{field}"),
                    Message::new(Code::SlaMinutes)
                        .with("max", message::group(MAX_TARGET_MINUTES as usize)),
                )),
            }
        };
        let t = Targets {
            first_reply_ms: ms("first_reply_minutes", first_reply)?,
            next_reply_ms: ms("next_reply_minutes", next_reply)?,
            resolution_ms: ms("resolution_minutes", resolution)?,
        };
        if t == Targets::default() {
            return Err(DomainError::invalid("targets", Code::SlaNoTarget));
        }
        Ok(t)
    }

    pub fn get(&self, m: Metric) -> Option<i64> {
        match m {
            Metric::FirstReply => self.first_reply_ms,
            Metric::NextReply => self.next_reply_ms,
            Metric::Resolution => self.resolution_ms,
        }
    }
}

/// The share of a target after which a warning falls, 0.001 to 0.999, kept per
/// mille.
pub fn warn_per_mille(share: f64) -> Result<i64, DomainError> {
    let per_mille = (share * 1000.0).round();
    if share.is_finite() && (1.0..=999.0).contains(&per_mille) {
        Ok(per_mille as i64)
    } else {
        Err(DomainError::invalid("warn_at", Code::SlaWarnShare))
    }
}

/// One thing in a ticket's history that moves its clocks.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Fact {
    Created(Status),
    Status(Status),
    CustomerWrote,
    AgentReplied,
}

impl Fact {
    /// What an event tells the clocks (nothing for most events).
    pub fn of(e: &EventData) -> Option<Fact> {
        match e {
            EventData::TicketCreated { status, .. } => Some(Fact::Created(*status)),
            EventData::TicketUpdated { changes, .. } => changes
                .iter()
                .rev()
                .find(|c| c.field == "status")
                .and_then(|c| c.to.as_str())
                .and_then(|s| Status::parse(s).ok())
                .map(Fact::Status),
            EventData::MessageAdded {
                visibility: Visibility::Public,
                author_kind,
                ..
            } => match author_kind {
                AuthorKind::Customer => Some(Fact::CustomerWrote),
                AuthorKind::Agent => Some(Fact::AgentReplied),
                // A bot's answer or a system notice is not a person replying.
                AuthorKind::Bot | AuthorKind::System => None,
            },
            _ => None,
        }
    }
}

/// One clock as of the moment asked about.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Clock {
    pub state: ClockState,
    /// Which exchange (next reply: 1, 2, …; the other clocks: 0).
    pub cycle: u32,
    pub started_at: i64,
    /// When the target falls (met: when it would have): `None` while paused.
    pub due_at: Option<i64>,
    /// When the warning falls (or fell); `None` while paused or without one.
    pub warn_at: Option<i64>,
    /// Counted time left while running or paused (0 once breached).
    pub remaining_ms: Option<i64>,
    pub stopped_at: Option<i64>,
    pub breached_at: Option<i64>,
}

impl Clock {
    /// Still counting or waiting to resume (not met, not stopped).
    pub fn is_open(&self) -> bool {
        self.stopped_at.is_none()
    }
}

/// A ticket's clocks.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Clocks {
    pub first_reply: Option<Clock>,
    pub next_reply: Option<Clock>,
    pub resolution: Option<Clock>,
}

impl Clocks {
    pub fn iter(&self) -> impl Iterator<Item = (Metric, &Clock)> {
        [
            (Metric::FirstReply, self.first_reply.as_ref()),
            (Metric::NextReply, self.next_reply.as_ref()),
            (Metric::Resolution, self.resolution.as_ref()),
        ]
        .into_iter()
        .filter_map(|(m, c)| c.map(|c| (m, c)))
    }

    /// The earliest due instant of a clock that is still counting (breached
    /// ones included): the inbox's "time left" and the "breached" view.
    pub fn next_due(&self) -> Option<i64> {
        self.iter()
            .filter(|(_, c)| c.is_open())
            .filter_map(|(_, c)| c.due_at)
            .min()
    }

    /// The earliest warning instant of a clock still counting.
    pub fn next_warning(&self) -> Option<i64> {
        self.iter()
            .filter(|(_, c)| c.is_open())
            .filter_map(|(_, c)| c.warn_at)
            .min()
    }
}

/// How a policy counts: its targets, warning share and calendar (`None`:
/// calendar time, around the clock).
#[derive(Clone, Copy, Debug)]
pub struct Rules<'a> {
    pub targets: Targets,
    /// Per mille of a target; `None`: no warnings.
    pub warn_per_mille: Option<i64>,
    pub calendar: Option<&'a Calendar>,
}

impl Rules<'_> {
    fn between(&self, a: i64, b: i64) -> i64 {
        match self.calendar {
            Some(c) => c.between(a, b),
            None => (b - a).max(0),
        }
    }
    fn add(&self, from: i64, ms: i64) -> Option<i64> {
        match self.calendar {
            Some(c) => c.add(from, ms),
            None => from.checked_add(ms.max(0)),
        }
    }
}

/// A clock while folding: counted time is `used` plus the time since
/// `running_since`.
#[derive(Clone, Debug)]
struct Acc {
    target: i64,
    warn: Option<i64>,
    cycle: u32,
    started_at: i64,
    used: i64,
    running_since: Option<i64>,
    stopped_at: Option<i64>,
    due_at_stop: Option<i64>,
    warned_at: Option<i64>,
    breached_at: Option<i64>,
}

impl Acc {
    fn start(target: i64, warn: Option<i64>, cycle: u32, at: i64, paused: bool) -> Acc {
        Acc {
            target,
            warn,
            cycle,
            started_at: at,
            used: 0,
            running_since: (!paused).then_some(at),
            stopped_at: None,
            due_at_stop: None,
            warned_at: None,
            breached_at: None,
        }
    }

    /// Counts time up to `t`, noting a warning or breach that fell on the way.
    fn advance(&mut self, r: &Rules<'_>, t: i64) {
        let Some(since) = self.running_since else {
            return;
        };
        if t <= since {
            return;
        }
        if self.warned_at.is_none()
            && let Some(w) = self.warn
            && let Some(at) = r.add(since, w - self.used)
            && at <= t
        {
            self.warned_at = Some(at);
        }
        if self.breached_at.is_none()
            && let Some(at) = r.add(since, self.target - self.used)
            && at <= t
        {
            self.breached_at = Some(at);
        }
        self.used += r.between(since, t);
        self.running_since = Some(t);
    }

    fn due(&self, r: &Rules<'_>) -> Option<i64> {
        let since = self.running_since?;
        r.add(since, (self.target - self.used).max(0))
    }

    fn pause(&mut self, r: &Rules<'_>, t: i64) {
        self.advance(r, t);
        self.running_since = None;
    }

    fn resume(&mut self, t: i64) {
        if self.stopped_at.is_none() && self.running_since.is_none() {
            self.running_since = Some(t);
        }
    }

    fn stop(&mut self, r: &Rules<'_>, t: i64) {
        if self.stopped_at.is_some() {
            return;
        }
        self.advance(r, t);
        self.due_at_stop = self.due(r);
        self.running_since = None;
        self.stopped_at = Some(t);
    }

    fn reopen(&mut self, t: i64, paused: bool) {
        if self.stopped_at.take().is_some() {
            self.due_at_stop = None;
            self.running_since = (!paused).then_some(t);
        }
    }

    fn clock(&self, r: &Rules<'_>) -> Clock {
        let left = (self.target - self.used).max(0);
        let breached = self.breached_at.is_some();
        let (state, due_at, warn_at, remaining_ms) = if self.stopped_at.is_some() {
            let state = if breached {
                ClockState::Breached
            } else {
                ClockState::Met
            };
            (state, self.due_at_stop.or(self.breached_at), None, None)
        } else if self.running_since.is_some() {
            let state = if breached {
                ClockState::Breached
            } else {
                ClockState::Running
            };
            let due = self.breached_at.or_else(|| self.due(r));
            let warn = self.warned_at.or_else(|| {
                let w = self.warn?;
                r.add(self.running_since?, w - self.used)
            });
            (state, due, warn, Some(left))
        } else {
            let state = if breached {
                ClockState::Breached
            } else {
                ClockState::Paused
            };
            (state, None, None, Some(left))
        };
        Clock {
            state,
            cycle: self.cycle,
            started_at: self.started_at,
            due_at,
            warn_at,
            remaining_ms,
            stopped_at: self.stopped_at,
            breached_at: self.breached_at,
        }
    }
}

/// A ticket's clocks at `now`, from its history (`(when, fact)`, in the order
/// the events were written).
pub fn evaluate(history: &[(i64, Fact)], rules: &Rules<'_>, now: i64) -> Clocks {
    fold(history, rules, now).0
}

/// One target whose outcome is known by `now`: stopped (met, or breached on
/// the way) or breached while still running. A re-opened ticket's resolution
/// target is settled again when it stops again.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Outcome {
    pub metric: Metric,
    pub cycle: u32,
    /// When it was settled: the stop, or the breach of a running clock.
    pub at: i64,
    pub met: bool,
}

/// Every target of the history settled by `now`, in the order they settled:
/// what SLA compliance counts (`domain::kpi`).
pub fn outcomes(history: &[(i64, Fact)], rules: &Rules<'_>, now: i64) -> Vec<Outcome> {
    let (clocks, mut done) = fold(history, rules, now);
    for (metric, c) in clocks.iter() {
        let settled = match (c.stopped_at, c.breached_at) {
            (Some(at), breached) => Some((at, breached.is_none())),
            (None, Some(at)) => Some((at, false)),
            (None, None) => None,
        };
        if let Some((at, met)) = settled {
            done.push(Outcome {
                metric,
                cycle: c.cycle,
                at,
                met,
            });
        }
    }
    done.sort_by_key(|o| (o.at, o.metric.as_str(), o.cycle));
    done
}

/// The clocks at `now`, and the outcomes of the next-reply exchanges that a
/// later exchange replaced.
fn fold(history: &[(i64, Fact)], rules: &Rules<'_>, now: i64) -> (Clocks, Vec<Outcome>) {
    let mut replaced: Vec<Outcome> = Vec::new();
    let warn_of = |target: i64| rules.warn_per_mille.map(|p| (target * p / 1000).max(1));
    let mut first: Option<Acc> = None;
    let mut next: Option<Acc> = None;
    let mut resolution: Option<Acc> = None;
    let mut paused = false;
    let mut done = false;
    // The customer's first message is waiting for a first reply (it is not an
    // exchange of its own).
    let mut awaiting_first = false;
    let mut anyone_replied = false;
    let mut cycles = 0u32;
    let mut last = i64::MIN;
    for &(at, fact) in history {
        // History written on another node with a slower clock never runs time
        // backwards.
        let t = at.max(last);
        last = t;
        for a in [&mut first, &mut next, &mut resolution]
            .into_iter()
            .flatten()
        {
            a.advance(rules, t);
        }
        match fact {
            Fact::Created(s) | Fact::Status(s) => {
                if let Fact::Created(_) = fact
                    && resolution.is_none()
                    && let Some(target) = rules.targets.resolution_ms
                {
                    resolution = Some(Acc::start(target, warn_of(target), 0, t, false));
                }
                let now_done = matches!(s, Status::Solved | Status::Closed);
                let now_paused = matches!(s, Status::Pending | Status::OnHold);
                if now_done {
                    for a in [&mut first, &mut next, &mut resolution]
                        .into_iter()
                        .flatten()
                    {
                        a.stop(rules, t);
                    }
                    awaiting_first = false;
                } else {
                    if done && let Some(r) = &mut resolution {
                        r.reopen(t, now_paused);
                    }
                    for a in [&mut first, &mut next, &mut resolution]
                        .into_iter()
                        .flatten()
                    {
                        if now_paused {
                            a.pause(rules, t);
                        } else {
                            a.resume(t);
                        }
                    }
                }
                done = now_done;
                paused = now_paused;
            }
            Fact::CustomerWrote => {
                let reply_running =
                    |a: &Option<Acc>| a.as_ref().is_some_and(|a| a.stopped_at.is_none());
                if !anyone_replied && first.is_none() && !awaiting_first {
                    awaiting_first = true;
                    if let Some(target) = rules.targets.first_reply_ms {
                        first = Some(Acc::start(target, warn_of(target), 0, t, paused));
                    }
                } else if !awaiting_first && !reply_running(&first) && !reply_running(&next) {
                    cycles += 1;
                    if let Some(target) = rules.targets.next_reply_ms {
                        if let Some(old) = &next
                            && let Some(at) = old.stopped_at
                        {
                            replaced.push(Outcome {
                                metric: Metric::NextReply,
                                cycle: old.cycle,
                                at,
                                met: old.breached_at.is_none(),
                            });
                        }
                        next = Some(Acc::start(target, warn_of(target), cycles, t, paused));
                    }
                }
            }
            Fact::AgentReplied => {
                anyone_replied = true;
                awaiting_first = false;
                for a in [&mut first, &mut next].into_iter().flatten() {
                    a.stop(rules, t);
                }
            }
        }
    }
    let now = now.max(last);
    for a in [&mut first, &mut next, &mut resolution]
        .into_iter()
        .flatten()
    {
        a.advance(rules, now);
    }
    let clocks = Clocks {
        first_reply: first.map(|a| a.clock(rules)),
        next_reply: next.map(|a| a.clock(rules)),
        resolution: resolution.map(|a| a.clock(rules)),
    };
    (clocks, replaced)
}

#[cfg(test)]
mod tests {
    use super::*;

    const MIN: i64 = 60_000;
    const HOUR: i64 = 60 * MIN;

    fn rules(first: i64, next: i64, resolution: i64) -> Rules<'static> {
        Rules {
            targets: Targets {
                first_reply_ms: Some(first),
                next_reply_ms: Some(next),
                resolution_ms: Some(resolution),
            },
            warn_per_mille: Some(750),
            calendar: None,
        }
    }

    #[test]
    fn condition_lists_are_bounded_as_sent_then_deduplicated() {
        let many = Conditions {
            channel: vec![Channel::Vk; MAX_CONDITION_VALUES + 1],
            ..Conditions::default()
        };
        assert!(many.normalized().is_err(), "51 values, even all alike");
        let dup = Conditions {
            channel: vec![Channel::Vk; MAX_CONDITION_VALUES],
            ..Conditions::default()
        };
        assert_eq!(dup.normalized().map(|c| c.channel), Ok(vec![Channel::Vk]));
    }

    #[test]
    fn a_first_reply_in_time_is_met_and_the_resolution_keeps_running() {
        let r = rules(10 * MIN, 30 * MIN, 8 * HOUR);
        let h = [
            (0, Fact::Created(Status::New)),
            (0, Fact::CustomerWrote),
            (4 * MIN, Fact::AgentReplied),
        ];
        let c = evaluate(&h, &r, 5 * MIN);
        let f = c.first_reply.clone().unwrap();
        assert_eq!(f.state, ClockState::Met);
        assert_eq!(f.due_at, Some(10 * MIN));
        assert_eq!(f.stopped_at, Some(4 * MIN));
        assert!(
            c.next_reply.is_none(),
            "no customer message after the reply"
        );
        let res = c.resolution.clone().unwrap();
        assert_eq!(res.state, ClockState::Running);
        assert_eq!(res.due_at, Some(8 * HOUR));
        assert_eq!(res.warn_at, Some(6 * HOUR));
        assert_eq!(res.remaining_ms, Some(8 * HOUR - 5 * MIN));
        assert_eq!(c.next_due(), Some(8 * HOUR));
    }

    #[test]
    fn a_late_reply_is_breached_at_the_target_and_stays_breached() {
        let r = rules(10 * MIN, 30 * MIN, 8 * HOUR);
        let h = [(0, Fact::Created(Status::New)), (0, Fact::CustomerWrote)];
        let at = |now| evaluate(&h, &r, now).first_reply.unwrap();
        assert_eq!(at(7 * MIN).state, ClockState::Running);
        assert_eq!(at(7 * MIN).warn_at, Some(7 * MIN + 30_000));
        let late = at(11 * MIN);
        assert_eq!(late.state, ClockState::Breached);
        assert_eq!(late.breached_at, Some(10 * MIN));
        assert_eq!(late.remaining_ms, Some(0));
        let mut h2 = h.to_vec();
        h2.push((12 * MIN, Fact::AgentReplied));
        let f = evaluate(&h2, &r, HOUR).first_reply.unwrap();
        assert_eq!(f.state, ClockState::Breached);
        assert_eq!(f.stopped_at, Some(12 * MIN));
    }

    #[test]
    fn pending_and_on_hold_pause_every_clock() {
        let r = rules(10 * MIN, 30 * MIN, 60 * MIN);
        let h = [
            (0, Fact::Created(Status::New)),
            (0, Fact::CustomerWrote),
            (2 * MIN, Fact::Status(Status::OnHold)),
            (50 * MIN, Fact::Status(Status::Open)),
        ];
        let c = evaluate(&h, &r, 51 * MIN);
        let f = c.first_reply.unwrap();
        assert_eq!(f.state, ClockState::Running);
        // 2 minutes before the hold, 1 after: 7 left.
        assert_eq!(f.remaining_ms, Some(7 * MIN));
        assert_eq!(f.due_at, Some(58 * MIN));
        let res = c.resolution.unwrap();
        assert_eq!(res.due_at, Some(60 * MIN + 48 * MIN));
        let during = evaluate(&h[..3], &r, 30 * MIN);
        let f = during.first_reply.clone().unwrap();
        assert_eq!(f.state, ClockState::Paused);
        assert_eq!(f.due_at, None);
        assert_eq!(f.remaining_ms, Some(8 * MIN));
        assert_eq!(during.next_due(), None, "nothing is due while paused");
    }

    #[test]
    fn each_exchange_has_its_own_next_reply_clock() {
        let r = rules(10 * MIN, 30 * MIN, 10 * HOUR);
        let h = [
            (0, Fact::Created(Status::New)),
            (0, Fact::CustomerWrote),
            (MIN, Fact::AgentReplied),
            (2 * MIN, Fact::Status(Status::Pending)),
            (HOUR, Fact::CustomerWrote),
            (HOUR, Fact::Status(Status::Open)),
            // A second message before the reply does not restart the clock.
            (HOUR + 20 * MIN, Fact::CustomerWrote),
        ];
        let c = evaluate(&h, &r, HOUR + 25 * MIN);
        let n = c.next_reply.clone().unwrap();
        assert_eq!((n.cycle, n.state), (1, ClockState::Running));
        assert_eq!(n.due_at, Some(HOUR + 30 * MIN));
        let mut h2 = h.to_vec();
        h2.push((HOUR + 40 * MIN, Fact::AgentReplied));
        h2.push((3 * HOUR, Fact::CustomerWrote));
        let c = evaluate(&h2, &r, 3 * HOUR + MIN);
        let n = c.next_reply.unwrap();
        assert_eq!((n.cycle, n.state), (2, ClockState::Running));
        assert_eq!(n.started_at, 3 * HOUR);
        // The resolution clock did not count the hour spent pending.
        let res = c.resolution.unwrap();
        assert_eq!(
            res.remaining_ms,
            Some(10 * HOUR - (2 * MIN + 2 * HOUR + MIN))
        );
    }

    #[test]
    fn every_settled_target_is_an_outcome_once() {
        let r = rules(10 * MIN, 30 * MIN, 10 * HOUR);
        let o = |metric, cycle, at, met| Outcome {
            metric,
            cycle,
            at,
            met,
        };
        let mut h = vec![
            (0, Fact::Created(Status::New)),
            (0, Fact::CustomerWrote),
            (MIN, Fact::AgentReplied),
            (HOUR, Fact::CustomerWrote),
            (HOUR + 40 * MIN, Fact::AgentReplied),
            (3 * HOUR, Fact::CustomerWrote),
        ];
        // The second exchange is still running and in time: not settled yet.
        assert_eq!(
            outcomes(&h, &r, 3 * HOUR + MIN),
            vec![
                o(Metric::FirstReply, 0, MIN, true),
                o(Metric::NextReply, 1, HOUR + 40 * MIN, false),
            ]
        );
        // Breached while running: settled at the breach, not at the reply.
        let late = outcomes(&h, &r, 4 * HOUR);
        assert_eq!(late.len(), 3);
        assert_eq!(late[2], o(Metric::NextReply, 2, 3 * HOUR + 30 * MIN, false));
        h.push((4 * HOUR, Fact::AgentReplied));
        h.push((5 * HOUR, Fact::Status(Status::Solved)));
        let done = outcomes(&h, &r, 6 * HOUR);
        assert_eq!(done.len(), 4, "{done:?}");
        assert_eq!(done[2], o(Metric::NextReply, 2, 4 * HOUR, false));
        assert_eq!(done[3], o(Metric::Resolution, 0, 5 * HOUR, true));
        // Re-opened: the resolution target is open again until the next solve.
        h.push((7 * HOUR, Fact::Status(Status::Open)));
        assert_eq!(outcomes(&h, &r, 8 * HOUR).len(), 3);
        // Five hours before and six after: past the ten-hour target.
        h.push((13 * HOUR, Fact::Status(Status::Solved)));
        let again = outcomes(&h, &r, 14 * HOUR);
        assert_eq!(again[3], o(Metric::Resolution, 0, 13 * HOUR, false));
    }

    #[test]
    fn a_ticket_an_agent_opened_has_no_first_reply_clock() {
        let r = rules(10 * MIN, 30 * MIN, 10 * HOUR);
        let h = [
            (0, Fact::Created(Status::Open)),
            (0, Fact::AgentReplied),
            (HOUR, Fact::CustomerWrote),
        ];
        let c = evaluate(&h, &r, HOUR + MIN);
        assert!(c.first_reply.is_none());
        assert_eq!(c.next_reply.unwrap().due_at, Some(HOUR + 30 * MIN));
    }

    #[test]
    fn solving_stops_the_clocks_and_reopening_resumes_the_resolution() {
        let r = rules(10 * MIN, 30 * MIN, 60 * MIN);
        let h = [
            (0, Fact::Created(Status::New)),
            (0, Fact::CustomerWrote),
            (20 * MIN, Fact::Status(Status::Solved)),
        ];
        let c = evaluate(&h, &r, 2 * HOUR);
        assert_eq!(c.first_reply.as_ref().unwrap().state, ClockState::Breached);
        let res = c.resolution.clone().unwrap();
        assert_eq!(res.state, ClockState::Met);
        assert_eq!(res.due_at, Some(60 * MIN));
        assert_eq!(c.next_due(), None);
        let mut h2 = h.to_vec();
        h2.push((2 * HOUR, Fact::CustomerWrote));
        h2.push((2 * HOUR, Fact::Status(Status::Open)));
        let c = evaluate(&h2, &r, 2 * HOUR + MIN);
        let res = c.resolution.unwrap();
        assert_eq!(res.state, ClockState::Running);
        assert_eq!(res.due_at, Some(2 * HOUR + 40 * MIN));
        // The customer wrote again after the solve: an exchange of its own.
        assert_eq!(c.next_reply.unwrap().cycle, 1);
    }

    #[test]
    fn business_hours_count_only_open_time() {
        let week: [Vec<(String, String)>; 7] = std::array::from_fn(|d| {
            if d < 5 {
                vec![("09:00".into(), "18:00".into())]
            } else {
                vec![]
            }
        });
        let cal = Calendar::new("Europe/Moscow", &week, &[]).unwrap();
        let r = Rules {
            targets: Targets {
                first_reply_ms: Some(4 * HOUR),
                next_reply_ms: None,
                resolution_ms: None,
            },
            warn_per_mille: None,
            calendar: Some(&cal),
        };
        // Friday 2026-11-27 16:00 Moscow (13:00 UTC): two hours on Friday, two
        // on Monday.
        let friday_16 = 1_795_784_400_000;
        let h = [
            (friday_16, Fact::Created(Status::New)),
            (friday_16, Fact::CustomerWrote),
        ];
        let c = evaluate(&h, &r, friday_16 + HOUR);
        let monday_11 = friday_16 + 3 * 24 * HOUR - 5 * HOUR;
        assert_eq!(c.first_reply.unwrap().due_at, Some(monday_11));
        assert!(c.resolution.is_none(), "no target, no clock");
    }

    #[test]
    fn conditions_match_every_listed_property() {
        let team = TeamId::new();
        let c = Conditions {
            channel: vec![Channel::Chat],
            language: vec!["ru".into()],
            team: vec![team],
            ..Conditions::default()
        }
        .normalized()
        .unwrap();
        let tags = vec!["vip".to_string()];
        let s = Subject {
            channel: Channel::Chat,
            priority: Priority::Normal,
            team: Some(team),
            customer_tags: &tags,
            language: Some("ru-ru"),
        };
        assert!(c.matches(&s));
        assert!(!c.matches(&Subject {
            language: Some("rue"),
            ..s
        }));
        assert!(!c.matches(&Subject {
            language: None,
            ..s
        }));
        assert!(!c.matches(&Subject {
            channel: Channel::Email,
            ..s
        }));
        assert!(!c.matches(&Subject { team: None, ..s }));
        let vip = Conditions {
            customer_tags: vec![" VIP ".into()],
            ..Conditions::default()
        }
        .normalized()
        .unwrap();
        assert!(vip.matches(&s));
        assert!(!vip.matches(&Subject {
            customer_tags: &[],
            ..s
        }));
        assert!(
            Conditions::default().matches(&s),
            "no conditions: every ticket"
        );
    }

    #[test]
    fn targets_and_shares_are_checked() {
        assert!(Targets::from_minutes(None, None, None).is_err());
        assert!(Targets::from_minutes(Some(0), None, None).is_err());
        assert!(Targets::from_minutes(Some(MAX_TARGET_MINUTES + 1), None, None).is_err());
        assert_eq!(
            Targets::from_minutes(Some(5), None, Some(60)).unwrap(),
            Targets {
                first_reply_ms: Some(5 * MIN),
                next_reply_ms: None,
                resolution_ms: Some(HOUR)
            }
        );
        assert_eq!(warn_per_mille(0.75).unwrap(), 750);
        assert_eq!(warn_per_mille(0.999).unwrap(), 999);
        for bad in [0.0, 0.0004, 0.9996, 1.0, -0.5, f64::NAN] {
            assert!(warn_per_mille(bad).is_err());
        }
    }

    /// The clocks by a walk minute by minute: each minute the ticket is in a
    /// counting state and the calendar is open adds one minute to a running
    /// clock; the minute that completes the target breaches it.
    fn walk(
        history: &[(i64, Fact)],
        r: &Rules<'_>,
        now: i64,
    ) -> Vec<(Metric, ClockState, Option<i64>, Option<i64>)> {
        #[derive(Clone)]
        struct W {
            target: i64,
            used: i64,
            stopped: Option<i64>,
            breached: Option<i64>,
            counting: bool,
        }
        let mut clocks: Vec<(Metric, W)> = Vec::new();
        let (mut paused, mut awaiting_first, mut replied, mut first_seen) =
            (false, false, false, false);
        let start = history.first().map(|h| h.0).unwrap_or(now);
        let mut t = start;
        let mut i = 0;
        // Facts up to and including `now` count, even when no minute has
        // passed since them.
        loop {
            while i < history.len() && history[i].0 <= t {
                let fact = history[i].1;
                i += 1;
                let open_clock = |c: &[(Metric, W)], m: Metric| {
                    c.iter().any(|(k, w)| *k == m && w.stopped.is_none())
                };
                match fact {
                    Fact::Created(s) | Fact::Status(s) => {
                        if matches!(fact, Fact::Created(_))
                            && let Some(target) = r.targets.resolution_ms
                        {
                            clocks.push((
                                Metric::Resolution,
                                W {
                                    target,
                                    used: 0,
                                    stopped: None,
                                    breached: None,
                                    counting: true,
                                },
                            ));
                        }
                        let done = matches!(s, Status::Solved | Status::Closed);
                        paused = matches!(s, Status::Pending | Status::OnHold);
                        for (m, w) in &mut clocks {
                            if done {
                                w.stopped.get_or_insert(t);
                            } else if *m == Metric::Resolution {
                                w.stopped = None;
                            }
                        }
                        if done {
                            awaiting_first = false;
                        }
                    }
                    Fact::CustomerWrote => {
                        if !replied && !first_seen {
                            first_seen = true;
                            awaiting_first = true;
                            if let Some(target) = r.targets.first_reply_ms {
                                clocks.push((
                                    Metric::FirstReply,
                                    W {
                                        target,
                                        used: 0,
                                        stopped: None,
                                        breached: None,
                                        counting: true,
                                    },
                                ));
                            }
                        } else if !awaiting_first
                            && !open_clock(&clocks, Metric::FirstReply)
                            && !open_clock(&clocks, Metric::NextReply)
                        {
                            clocks.retain(|(m, _)| *m != Metric::NextReply);
                            if let Some(target) = r.targets.next_reply_ms {
                                clocks.push((
                                    Metric::NextReply,
                                    W {
                                        target,
                                        used: 0,
                                        stopped: None,
                                        breached: None,
                                        counting: true,
                                    },
                                ));
                            }
                        }
                    }
                    Fact::AgentReplied => {
                        replied = true;
                        awaiting_first = false;
                        for (m, w) in &mut clocks {
                            if *m != Metric::Resolution {
                                w.stopped.get_or_insert(t);
                            }
                        }
                    }
                }
            }
            if t >= now {
                break;
            }
            let open = r.calendar.is_none_or(|c| c.is_open(t));
            for (_, w) in &mut clocks {
                w.counting = w.stopped.is_none() && !paused;
                if w.counting && open {
                    w.used += MIN;
                    if w.used == w.target {
                        w.breached = Some(t + MIN);
                    }
                }
            }
            t += MIN;
        }
        let mut out: Vec<_> = clocks
            .into_iter()
            .map(|(m, w)| {
                let state = match (w.breached, w.stopped, paused && w.stopped.is_none()) {
                    (Some(_), _, _) => ClockState::Breached,
                    (None, Some(_), _) => ClockState::Met,
                    (None, None, true) => ClockState::Paused,
                    (None, None, false) => ClockState::Running,
                };
                (m, state, w.breached, w.stopped)
            })
            .collect();
        out.sort_by_key(|x| x.0.as_str());
        out
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig { cases: 64, .. proptest::prelude::ProptestConfig::default() })]

        /// The fold agrees with the minute walk on states, breach instants and
        /// stops, for random histories in calendar and business time.
        #[test]
        fn clocks_match_a_walk_minute_by_minute(
            steps in proptest::collection::vec((0i64..240, 0u8..6), 0..12),
            targets in (1i64..180, 1i64..180, 1i64..600),
            business in proptest::bool::ANY,
            span in 0i64..1200,
        ) {
            let week: [Vec<(String, String)>; 7] = std::array::from_fn(|d| match d {
                5 => vec![],
                6 => vec![("22:00".into(), "02:00".into())],
                _ => vec![("09:00".into(), "12:30".into()), ("13:30".into(), "18:00".into())],
            });
            let cal = Calendar::new("America/New_York", &week, &[]).expect("calendar");
            let r = Rules {
                targets: Targets {
                    first_reply_ms: Some(targets.0 * MIN),
                    next_reply_ms: Some(targets.1 * MIN),
                    resolution_ms: Some(targets.2 * MIN),
                },
                warn_per_mille: Some(500),
                calendar: business.then_some(&cal),
            };
            // Friday 2026-10-30 10:00 New York, two days before the DST change.
            let t0 = 1_793_368_800_000;
            let mut history = vec![(t0, Fact::Created(Status::New)), (t0, Fact::CustomerWrote)];
            let mut at = t0;
            for (gap, kind) in steps {
                at += gap * MIN;
                let fact = match kind {
                    0 => Fact::CustomerWrote,
                    1 => Fact::AgentReplied,
                    2 => Fact::Status(Status::Pending),
                    3 => Fact::Status(Status::Open),
                    4 => Fact::Status(Status::Solved),
                    _ => Fact::Status(Status::OnHold),
                };
                history.push((at, fact));
            }
            let now = at + span * MIN;
            let c = evaluate(&history, &r, now);
            let mut got: Vec<_> = c.iter().map(|(m, k)| (m, k.state, k.breached_at, k.stopped_at)).collect();
            got.sort_by_key(|x| x.0.as_str());
            proptest::prop_assert_eq!(got, walk(&history, &r, now));
        }
    }
}

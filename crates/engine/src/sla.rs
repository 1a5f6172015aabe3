//! Business hours, SLA policies and tickets' SLA clocks.
//!
//! Calendars and policies are what admins define. A ticket's clocks are derived
//! (see `domain::sla`): the [`SlaClocks`] consumer folds a ticket's history again
//! whenever an event moves its clocks, and a timer job ([`Job::SlaTimer`]) does
//! the same at the instant the next warning or breach falls. Both write the
//! `ticket_sla` row and the `sla.warning` / `sla.breached` events in one
//! transaction, once each (the row lists what was already written), so the
//! clocks survive restarts and several nodes never announce a breach twice.

use crate::consumers::{Consumer, Start};
use crate::jobs::Job;
use crate::model::EventRecord;
use crate::{Engine, EngineError, Principal};
use domain::Code;
use domain::Message;
use domain::Timestamp;
use domain::calendar::Calendar;
use domain::event::{Actor, EventData};
use domain::ids::*;
use domain::message;
use domain::sla::{Clocks, Conditions, Fact, Metric, Rules, Subject, Targets};
use futures::future::BoxFuture;
use store::Tx;
pub use store::sla::{BusinessHours, Policy, TicketSla};

/// Most calendars a workspace keeps.
pub const MAX_CALENDARS: usize = 200;

/// The weekdays as the API names them, Monday first.
pub const DAYS: [&str; 7] = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"];

/// A calendar as given (`None` keeps a field when changing one).
#[derive(Clone, Debug, Default)]
pub struct HoursInput {
    pub name: Option<String>,
    pub time_zone: Option<String>,
    pub week: Option<[Vec<(String, String)>; 7]>,
    pub holidays: Option<Vec<String>>,
}

/// A stored calendar ready for arithmetic.
pub fn calendar_of(b: &BusinessHours) -> Result<Calendar, EngineError> {
    Ok(Calendar::new(&b.time_zone, &b.week, &b.holidays)?)
}

fn name_of(n: &str) -> Result<String, EngineError> {
    let n = domain::text::clean_line(n);
    if n.is_empty() || n.chars().count() > 100 {
        return Err(EngineError::invalid("name", message::chars(1, 100)));
    }
    Ok(n)
}

impl Engine {
    pub async fn business_hours_list(
        &self,
        p: &Principal,
    ) -> Result<Vec<BusinessHours>, EngineError> {
        let mut c = self.store.read().await?;
        Ok(store::sla::all_hours(&mut c.conn(), p.workspace_id).await?)
    }

    pub async fn business_hours(
        &self,
        p: &Principal,
        id: CalendarId,
    ) -> Result<BusinessHours, EngineError> {
        let mut c = self.store.read().await?;
        store::sla::hours(&mut c.conn(), p.workspace_id, id)
            .await?
            .ok_or(EngineError::NotFound)
    }

    /// Creates a calendar (owners and admins); it is checked by building it.
    pub async fn create_business_hours(
        &self,
        p: &Principal,
        input: HoursInput,
    ) -> Result<BusinessHours, EngineError> {
        p.require_admin()?;
        let name = name_of(input.name.as_deref().unwrap_or_default())?;
        let time_zone = input
            .time_zone
            .map(|t| t.trim().to_owned())
            .ok_or_else(|| EngineError::invalid("time_zone", Code::Required))?;
        let week = input.week.unwrap_or_default();
        let holidays = input.holidays.unwrap_or_default();
        let now = self.now();
        let b = BusinessHours {
            id: CalendarId::new(),
            workspace_id: p.workspace_id,
            name,
            time_zone,
            week,
            holidays,
            created_at: now,
            updated_at: now,
        };
        calendar_of(&b)?;
        let ws = p.workspace_id;
        let actor = p.actor();
        let row = b.clone();
        self.store
            .write(move |tx| {
                Box::pin(async move {
                    if store::sla::all_hours(&mut tx.conn(), ws).await?.len() >= MAX_CALENDARS {
                        // A full workspace, not a bad request: the same body
                        // is fine once a calendar goes.
                        return Err(EngineError::Conflict(
                            Message::new(Code::CalendarsLimit).with("max_calendars", MAX_CALENDARS),
                        ));
                    }
                    store::sla::insert_hours(tx, &row).await?;
                    tx.emit(
                        row.workspace_id,
                        actor,
                        EventData::BusinessHoursSaved {
                            calendar_id: row.id,
                            name: row.name.clone(),
                        },
                    )
                    .await?;
                    Ok::<_, EngineError>(())
                })
            })
            .await?;
        Ok(b)
    }

    /// Changes a calendar (owners and admins).
    pub async fn update_business_hours(
        &self,
        p: &Principal,
        id: CalendarId,
        input: HoursInput,
    ) -> Result<BusinessHours, EngineError> {
        p.require_admin()?;
        let mut b = self.business_hours(p, id).await?;
        if let Some(n) = input.name {
            b.name = name_of(&n)?;
        }
        if let Some(t) = input.time_zone {
            b.time_zone = t.trim().to_owned();
        }
        if let Some(w) = input.week {
            b.week = w;
        }
        if let Some(h) = input.holidays {
            b.holidays = h;
        }
        calendar_of(&b)?;
        b.updated_at = self.now();
        let row = b.clone();
        let actor = p.actor();
        self.store
            .write(move |tx| {
                Box::pin(async move {
                    store::sla::update_hours(tx, &row).await?;
                    tx.emit(
                        row.workspace_id,
                        actor,
                        EventData::BusinessHoursSaved {
                            calendar_id: row.id,
                            name: row.name.clone(),
                        },
                    )
                    .await?;
                    // Tickets counted in this calendar count anew.
                    if store::sla::hours_in_use(&mut tx.conn(), row.workspace_id, row.id).await? {
                        Job::SlaReapply {
                            workspace_id: row.workspace_id,
                            after: None,
                        }
                        .enqueue(tx, tx.now())
                        .await?;
                    }
                    Ok::<_, EngineError>(())
                })
            })
            .await?;
        Ok(b)
    }
}

/// Most SLA policies a workspace keeps.
pub const MAX_POLICIES: usize = 100;
/// Most events of one ticket folded into its clocks (a longer history is
/// counted up to here).
const MAX_HISTORY: i64 = 20_000;
/// Tickets a policy change re-derives per job run.
const REAPPLY_BATCH: i64 = 200;

/// A policy as given (`None` keeps a field when changing one).
#[derive(Clone, Debug, Default)]
pub struct PolicyInput {
    pub name: Option<String>,
    pub position: Option<i64>,
    pub conditions: Option<Conditions>,
    pub business_hours_id: Option<Option<CalendarId>>,
    /// Minutes: first reply, next reply, resolution (all three given together).
    pub targets: Option<(Option<i64>, Option<i64>, Option<i64>)>,
    /// The warning share (0–1, exclusive); `Some(None)`: no warnings.
    pub warn_at: Option<Option<f64>>,
}

impl Engine {
    pub async fn sla_policies(&self, p: &Principal) -> Result<Vec<Policy>, EngineError> {
        let mut c = self.store.read().await?;
        Ok(store::sla::policies(&mut c.conn(), p.workspace_id).await?)
    }

    pub async fn sla_policy(&self, p: &Principal, id: SlaPolicyId) -> Result<Policy, EngineError> {
        let mut c = self.store.read().await?;
        store::sla::policy(&mut c.conn(), p.workspace_id, id)
            .await?
            .ok_or(EngineError::NotFound)
    }

    /// Checks what a policy names (teams, the calendar) in the workspace.
    async fn check_policy(&self, p: &Principal, policy: &Policy) -> Result<(), EngineError> {
        let mut c = self.store.read().await?;
        for t in &policy.conditions.team {
            if store::people::team_by_id(&mut c.conn(), p.workspace_id, *t)
                .await?
                .is_none()
            {
                return Err(EngineError::Unknown(
                    "conditions.team".into(),
                    Message::new(Code::NoTeam).with("t", t),
                ));
            }
        }
        if let Some(b) = policy.business_hours_id
            && store::sla::hours(&mut c.conn(), p.workspace_id, b)
                .await?
                .is_none()
        {
            return Err(EngineError::Unknown(
                "business_hours_id".into(),
                message::no_such("calendar"),
            ));
        }
        Ok(())
    }

    /// Creates a policy (owners and admins); open tickets are matched again.
    pub async fn create_sla_policy(
        &self,
        p: &Principal,
        input: PolicyInput,
    ) -> Result<Policy, EngineError> {
        p.require_admin()?;
        let now = self.now();
        let (f, n, r) = input
            .targets
            .ok_or_else(|| EngineError::invalid("targets", Code::Required))?;
        let policy = Policy {
            id: SlaPolicyId::new(),
            workspace_id: p.workspace_id,
            name: name_of(input.name.as_deref().unwrap_or_default())?,
            position: position_of(input.position.unwrap_or(0))?,
            conditions: input.conditions.unwrap_or_default().normalized()?,
            business_hours_id: input.business_hours_id.flatten(),
            targets: Targets::from_minutes(f, n, r)?,
            warn_per_mille: warn_of(input.warn_at.unwrap_or(Some(0.75)))?,
            created_at: now,
            updated_at: now,
        };
        self.check_policy(p, &policy).await?;
        let row = policy.clone();
        let actor = p.actor();
        self.store
            .write(move |tx| {
                Box::pin(async move {
                    let ws = row.workspace_id;
                    if store::sla::policies(&mut tx.conn(), ws).await?.len() >= MAX_POLICIES {
                        return Err(EngineError::Conflict(
                            Message::new(Code::PoliciesLimit).with("max_policies", MAX_POLICIES),
                        ));
                    }
                    store::sla::insert_policy(tx, &row).await?;
                    policies_changed(
                        tx,
                        ws,
                        actor,
                        EventData::SlaPolicySaved {
                            policy_id: row.id,
                            name: row.name.clone(),
                        },
                    )
                    .await
                })
            })
            .await?;
        Ok(policy)
    }

    /// Changes a policy (owners and admins); open tickets are matched again.
    pub async fn update_sla_policy(
        &self,
        p: &Principal,
        id: SlaPolicyId,
        input: PolicyInput,
    ) -> Result<Policy, EngineError> {
        p.require_admin()?;
        let mut policy = self.sla_policy(p, id).await?;
        if let Some(n) = input.name {
            policy.name = name_of(&n)?;
        }
        if let Some(pos) = input.position {
            policy.position = position_of(pos)?;
        }
        if let Some(c) = input.conditions {
            policy.conditions = c.normalized()?;
        }
        if let Some(b) = input.business_hours_id {
            policy.business_hours_id = b;
        }
        if let Some((f, n, r)) = input.targets {
            policy.targets = Targets::from_minutes(f, n, r)?;
        }
        if let Some(w) = input.warn_at {
            policy.warn_per_mille = warn_of(w)?;
        }
        policy.updated_at = self.now();
        self.check_policy(p, &policy).await?;
        let row = policy.clone();
        let actor = p.actor();
        self.store
            .write(move |tx| {
                Box::pin(async move {
                    store::sla::update_policy(tx, &row).await?;
                    policies_changed(
                        tx,
                        row.workspace_id,
                        actor,
                        EventData::SlaPolicySaved {
                            policy_id: row.id,
                            name: row.name.clone(),
                        },
                    )
                    .await
                })
            })
            .await?;
        Ok(policy)
    }

    /// Deletes a policy (owners and admins); its tickets are matched again.
    pub async fn delete_sla_policy(
        &self,
        p: &Principal,
        id: SlaPolicyId,
    ) -> Result<(), EngineError> {
        p.require_admin()?;
        let ws = p.workspace_id;
        let actor = p.actor();
        self.store
            .write(move |tx| {
                Box::pin(async move {
                    if !store::sla::delete_policy(tx, ws, id).await? {
                        return Err(EngineError::NotFound);
                    }
                    policies_changed(tx, ws, actor, EventData::SlaPolicyDeleted { policy_id: id })
                        .await
                })
            })
            .await
    }

    /// The SLA clocks of tickets, as last derived.
    pub async fn ticket_slas(
        &self,
        p: &Principal,
        tickets: &[TicketId],
    ) -> Result<Vec<TicketSla>, EngineError> {
        let mut c = self.store.read().await?;
        Ok(store::sla::ticket_slas(&mut c.conn(), p.workspace_id, tickets).await?)
    }

    /// Runs a timer: derives the ticket's clocks at this moment, unless a later
    /// change already set another timer.
    pub(crate) async fn sla_timer(
        &self,
        ws: WorkspaceId,
        ticket: TicketId,
        at: i64,
    ) -> Result<(), EngineError> {
        self.store
            .write(move |tx| {
                Box::pin(async move {
                    let row = store::sla::ticket_sla(&mut tx.conn(), ws, ticket).await?;
                    if row.and_then(|r| r.timer_at).map(Timestamp::millis) != Some(at) {
                        return Ok(());
                    }
                    refresh(tx, ws, ticket).await
                })
            })
            .await
    }

    /// Derives the clocks of a batch of the workspace's open tickets after a
    /// policy or calendar changed; the next batch is queued.
    pub(crate) async fn sla_reapply(
        &self,
        ws: WorkspaceId,
        after: Option<TicketId>,
    ) -> Result<(), EngineError> {
        self.store
            .write(move |tx| {
                Box::pin(async move {
                    let ids = store::sla::open_ticket_ids(&mut tx.conn(), ws, after, REAPPLY_BATCH)
                        .await?;
                    for t in &ids {
                        refresh(tx, ws, *t).await?;
                    }
                    if ids.len() as i64 == REAPPLY_BATCH {
                        Job::SlaReapply {
                            workspace_id: ws,
                            after: ids.last().copied(),
                        }
                        .enqueue(tx, tx.now())
                        .await?;
                    }
                    Ok(())
                })
            })
            .await
    }
}

fn position_of(p: i64) -> Result<i64, EngineError> {
    if (0..=10_000).contains(&p) {
        Ok(p)
    } else {
        Err(EngineError::invalid("position", message::range(0, 10000)))
    }
}

fn warn_of(w: Option<f64>) -> Result<Option<i64>, EngineError> {
    Ok(w.map(domain::sla::warn_per_mille).transpose()?)
}

/// Records a policy change and queues the re-matching of open tickets.
async fn policies_changed(
    tx: &mut Tx,
    ws: WorkspaceId,
    actor: Actor,
    event: EventData,
) -> Result<(), EngineError> {
    tx.emit(ws, actor, event).await?;
    Job::SlaReapply {
        workspace_id: ws,
        after: None,
    }
    .enqueue(tx, tx.now())
    .await?;
    Ok(())
}

/// Whether an event can change which policy applies or how the clocks stand.
fn moves_clocks(e: &EventData) -> bool {
    match e {
        EventData::TicketUpdated { changes, .. } => changes.iter().any(|c| {
            matches!(
                c.field.as_ref(),
                "status" | "priority" | "team_id" | "channel"
            )
        }),
        other => Fact::of(other).is_some(),
    }
}

/// The key under which a warning or breach is remembered as written.
fn notice_key(m: Metric, cycle: u32, what: &str) -> String {
    format!("{}/{cycle}/{what}", m.as_str())
}

/// Derives a ticket's clocks now from its history, writes the row, announces
/// warnings and breaches not yet announced, and sets the timer for the next.
pub(crate) async fn refresh(
    tx: &mut Tx,
    ws: WorkspaceId,
    ticket_id: TicketId,
) -> Result<(), EngineError> {
    let policies = store::sla::policies(&mut tx.conn(), ws).await?;
    if !policies.is_empty() {
        store::sla::lock_ticket(tx, ws, ticket_id).await?;
    }
    let existing = store::sla::ticket_sla(&mut tx.conn(), ws, ticket_id).await?;
    if policies.is_empty() {
        if existing.is_some() {
            store::sla::clear_ticket_sla(tx, ws, ticket_id).await?;
        }
        return Ok(());
    }
    let Some(ticket) = store::tickets::get(&mut tx.conn(), ws, ticket_id).await? else {
        return Ok(());
    };
    let Some(policy) = covering(&mut tx.conn(), &ticket, &policies).await? else {
        if existing.is_some() {
            store::sla::clear_ticket_sla(tx, ws, ticket_id).await?;
        }
        return Ok(());
    };
    let calendar = match policy.business_hours_id {
        Some(id) => match store::sla::hours(&mut tx.conn(), ws, id).await? {
            Some(b) => Some(calendar_of(&b)?),
            None => None,
        },
        None => None,
    };
    let rules = Rules {
        targets: policy.targets,
        warn_per_mille: policy.warn_per_mille,
        calendar: calendar.as_ref(),
    };
    let events = store::events::of_ticket_kinds(
        &mut tx.conn(),
        ws,
        ticket_id,
        &["ticket.created", "ticket.updated", "message.added"],
        MAX_HISTORY,
    )
    .await?;
    let history: Vec<(i64, Fact)> = events
        .iter()
        .filter_map(|e| Fact::of(&e.data).map(|f| (e.created_at.millis(), f)))
        .collect();
    let now = tx.now();
    let clocks = domain::sla::evaluate(&history, &rules, now.millis());
    let mut notified = existing
        .as_ref()
        .filter(|r| r.policy_id == policy.id)
        .map(|r| r.notified.clone())
        .unwrap_or_default();
    let mut timer: Option<i64> = None;
    for (metric, clock) in clocks.iter() {
        let (warned, breached) = (
            notice_key(metric, clock.cycle, "warning"),
            notice_key(metric, clock.cycle, "breached"),
        );
        if let Some(at) = clock.breached_at
            && !notified.contains(&breached)
        {
            tx.emit(
                ws,
                Actor::System,
                EventData::SlaBreached {
                    ticket_id,
                    policy_id: policy.id,
                    metric,
                    cycle: clock.cycle,
                    due_at: at,
                },
            )
            .await?;
            metrics::counter!("otklik_sla_breaches_total", "metric" => metric.as_str())
                .increment(1);
            notified.push(breached.clone());
            // A breach says more than the warning that should have come first.
            if !notified.contains(&warned) {
                notified.push(warned.clone());
            }
        }
        if !clock.is_open() {
            continue;
        }
        if let Some(w) = clock.warn_at
            && !notified.contains(&warned)
        {
            if w <= now.millis() {
                tx.emit(
                    ws,
                    Actor::System,
                    EventData::SlaWarning {
                        ticket_id,
                        policy_id: policy.id,
                        metric,
                        cycle: clock.cycle,
                        due_at: clock.due_at.unwrap_or(w),
                    },
                )
                .await?;
                notified.push(warned);
            } else {
                timer = Some(timer.map_or(w, |t| t.min(w)));
            }
        }
        if let Some(d) = clock.due_at
            && !notified.contains(&breached)
        {
            timer = Some(timer.map_or(d, |t| t.min(d)));
        }
    }
    // Keys of exchanges long gone are of no use; keep the list short.
    notified.retain(|k| {
        clocks
            .iter()
            .any(|(m, c)| k.starts_with(&format!("{}/{}/", m.as_str(), c.cycle)))
    });
    let timer_at = match (timer, existing.as_ref().and_then(|r| r.timer_at)) {
        (Some(t), Some(old)) if old.millis() == t => Some(old),
        (Some(t), _) => {
            Job::SlaTimer {
                workspace_id: ws,
                ticket_id,
                at: t,
            }
            .enqueue(tx, Timestamp::from_millis(t))
            .await?;
            Some(Timestamp::from_millis(t))
        }
        (None, _) => None,
    };
    let row = TicketSla {
        ticket_id,
        workspace_id: ws,
        policy_id: policy.id,
        due_at: clocks.next_due().map(Timestamp::from_millis),
        warn_at: clocks.next_warning().map(Timestamp::from_millis),
        clocks,
        notified,
        timer_at,
        updated_at: now,
    };
    store::sla::save_ticket_sla(tx, &row).await?;
    Ok(())
}

/// The first of `policies` (in their order) whose conditions the ticket and
/// its customer meet.
async fn covering<'p>(
    c: &mut store::Conn<'_>,
    ticket: &store::tickets::Ticket,
    policies: &'p [Policy],
) -> Result<Option<&'p Policy>, EngineError> {
    let (language, customer_tags) =
        store::customers::segment(c, ticket.workspace_id, ticket.customer_id).await?;
    Ok(covering_of(
        ticket,
        policies,
        language.as_deref(),
        &customer_tags,
    ))
}

/// [`covering`] with the customer's language and tags already read.
pub(crate) fn covering_of<'p>(
    ticket: &store::tickets::Ticket,
    policies: &'p [Policy],
    language: Option<&str>,
    customer_tags: &[String],
) -> Option<&'p Policy> {
    let subject = Subject {
        channel: ticket.channel,
        priority: ticket.priority,
        team: ticket.team_id,
        customer_tags,
        language,
    };
    policies.iter().find(|p| p.conditions.matches(&subject))
}

/// The first-reply target of the policy that covers `ticket` (milliseconds),
/// and whether it counts in business hours: what an acknowledgement promises.
pub(crate) async fn first_reply_target(
    c: &mut store::Conn<'_>,
    ticket: &store::tickets::Ticket,
) -> Result<Option<(i64, bool)>, EngineError> {
    let ws = ticket.workspace_id;
    let policies = store::sla::policies(c, ws).await?;
    if policies.is_empty() {
        return Ok(None);
    }
    Ok(covering(c, ticket, &policies).await?.and_then(|p| {
        p.targets
            .first_reply_ms
            .map(|ms| (ms, p.business_hours_id.is_some()))
    }))
}

/// Keeps tickets' SLA clocks derived from their events.
pub struct SlaClocks;

impl Consumer for SlaClocks {
    fn name(&self) -> &'static str {
        "sla"
    }
    /// Tickets from before are matched when a policy is first created (the
    /// re-matching job), not by reading all history at once.
    fn start(&self) -> Start {
        Start::Now
    }
    fn handle<'t>(
        &'t self,
        tx: &'t mut Tx,
        e: &'t EventRecord,
    ) -> BoxFuture<'t, Result<(), EngineError>> {
        Box::pin(async move {
            // A customer's language or tags can change which policy covers
            // their tickets.
            if let EventData::CustomerUpdated {
                customer_id,
                changes,
            } = &e.data
                && changes
                    .iter()
                    .any(|c| c.field == "tags" || c.field == "language")
            {
                let ws = e.workspace_id;
                let open =
                    store::sla::open_tickets_of_customer(&mut tx.conn(), ws, *customer_id, 200)
                        .await?;
                for t in open {
                    refresh(tx, ws, t).await?;
                }
                return Ok(());
            }
            match e.data.ticket_id() {
                Some(t) if moves_clocks(&e.data) => refresh(tx, e.workspace_id, t).await,
                _ => Ok(()),
            }
        })
    }
}

/// Whether a ticket's clocks are as the event log says they should be now:
/// the derived view for the API, with running clocks past their target shown as
/// breached even before the timer has run.
pub fn as_of(clocks: &Clocks, now: Timestamp) -> Clocks {
    let mut out = clocks.clone();
    for c in [
        &mut out.first_reply,
        &mut out.next_reply,
        &mut out.resolution,
    ]
    .into_iter()
    .flatten()
    {
        if c.state == domain::sla::ClockState::Running
            && let Some(d) = c.due_at
            && d <= now.millis()
        {
            c.state = domain::sla::ClockState::Breached;
            c.breached_at = Some(d);
            c.remaining_ms = Some(0);
        }
    }
    out
}

//! Rules: triggers, which act when something happens to a ticket, and
//! automations, which act on time ("pending for 3 days").
//!
//! A rule is typed data (`domain::rules`), checked when saved. The [`Triggers`]
//! consumer follows the event log: for an event a trigger listens to, the
//! workspace's active triggers are tried in order, each seeing the ticket as
//! the ones before left it; the actions of one that matches run one by one,
//! each in a savepoint of its own, so one that fails (an agent who left, a
//! status the ticket cannot move to) is recorded on `rule.fired` and the others
//! still run. Everything a rule changes is written as the rule
//! (`Actor::Rule`), and events written by rules fire no triggers: a rule never
//! fires on its own change, nor do two rules ping-pong.
//!
//! Automations run as a durable job chain, one per workspace
//! ([`Job::Automations`]): every [`SWEEP_EVERY_MS`] the unclosed tickets are
//! walked in batches; an automation fires on a ticket once, and again only
//! after the ticket changed (`rule_runs`).

use crate::consumers::{Consumer, Start};
use crate::jobs::Job;
use crate::model::EventRecord;
use crate::tickets::{CheckedPatch, TicketPatch, insert_message, patch_ticket};
use crate::{Engine, EngineError, Principal};
use domain::Code;
use domain::Timestamp;
use domain::event::{Actor, EventData};
use domain::ids::*;
use domain::message;
use domain::rules::{Action, CompiledRule, Facts, On, RuleKind, RuleSpec, TriageFacts};
use domain::ticket::{AuthorKind, Status, Visibility};
use futures::future::BoxFuture;
use serde_json::{Map, Value, json};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use store::rules;
pub use store::rules::Rule;
use store::tickets::{self, Message, Ticket};
use store::{Conn, Tx, customers, people};

/// Most rules (of both kinds) a workspace keeps.
pub const MAX_RULES: i64 = 500;
/// How often a workspace's automations are tried.
pub const SWEEP_EVERY_MS: i64 = 10 * 60_000;
/// Tickets one sweep job looks at; the chain goes on with the next batch.
const SWEEP_BATCH: i64 = 500;
/// Tickets a dry run looks at (the most recently changed) and shows.
const DRY_RUN_SCAN: i64 = 2_000;
const DRY_RUN_SHOW: usize = 100;
/// The longest name.
const MAX_NAME: usize = 200;

/// A rule as given (`None` keeps a field when changing one).
#[derive(Clone, Debug, Default)]
pub struct RuleInput {
    pub name: Option<String>,
    pub position: Option<i64>,
    pub active: Option<bool>,
    pub spec: Option<RuleSpec>,
}

/// What a dry run found: the tickets the rule would act on now.
#[derive(Clone, Debug)]
pub struct DryRun {
    pub tickets: Vec<Ticket>,
    /// Tickets looked at (the most recently changed unclosed ones).
    pub scanned: usize,
    /// More matched than are listed.
    pub truncated: bool,
}

fn name_of(raw: &str) -> Result<String, EngineError> {
    let n = domain::text::clean_line(raw);
    if n.is_empty() || n.chars().count() > MAX_NAME {
        return Err(EngineError::invalid("name", message::chars(1, MAX_NAME)));
    }
    Ok(n)
}

fn position_of(p: i64) -> Result<i64, EngineError> {
    if !(0..=1_000_000).contains(&p) {
        return Err(EngineError::invalid("position", message::range(0, 1000000)));
    }
    Ok(p)
}

fn compiled(spec: RuleSpec) -> Result<CompiledRule, EngineError> {
    Ok(spec.validated()?)
}

impl Engine {
    /// The workspace's rules in the order they are tried.
    pub async fn rules(
        &self,
        p: &Principal,
        kind: Option<RuleKind>,
    ) -> Result<Vec<Rule>, EngineError> {
        p.require_admin()?;
        let mut c = self.store.read().await?;
        Ok(rules::list(&mut c.conn(), p.workspace_id, kind, false).await?)
    }

    pub async fn rule(&self, p: &Principal, id: RuleId) -> Result<Rule, EngineError> {
        p.require_admin()?;
        let mut c = self.store.read().await?;
        rules::get(&mut c.conn(), p.workspace_id, id)
            .await?
            .ok_or(EngineError::NotFound)
    }

    /// Checks that what a rule names (teams, agents, calendars) is in the
    /// workspace.
    async fn check_rule(&self, p: &Principal, spec: &CompiledRule) -> Result<(), EngineError> {
        let mut c = self.store.read().await?;
        let mut conn = c.conn();
        let ws = p.workspace_id;
        for (i, a) in spec.spec.actions.iter().enumerate() {
            let at = format!("spec.actions[{i}]");
            let (teams, users): (Vec<TeamId>, Vec<UserId>) = match a {
                Action::SetTeam { team_id } => (team_id.iter().copied().collect(), vec![]),
                Action::Escalate { team_id, .. } => (team_id.iter().copied().collect(), vec![]),
                Action::Assign { user_id } => (vec![], user_id.iter().copied().collect()),
                Action::Notify {
                    user_ids, team_id, ..
                } => (team_id.iter().copied().collect(), user_ids.clone()),
                _ => (vec![], vec![]),
            };
            for t in teams {
                if people::team_by_id(&mut conn, ws, t).await?.is_none() {
                    return Err(EngineError::Unknown(
                        at,
                        domain::Message::new(Code::NoTeam).with("t", t),
                    ));
                }
            }
            for u in users {
                if !people::user_by_id(&mut conn, ws, u)
                    .await?
                    .is_some_and(|u| u.active)
                {
                    return Err(EngineError::Unknown(
                        at,
                        domain::Message::new(Code::NoAgent).with("u", u),
                    ));
                }
            }
        }
        for cal in spec.calendars() {
            if store::sla::hours(&mut conn, ws, cal).await?.is_none() {
                return Err(EngineError::Unknown(
                    "spec".into(),
                    domain::Message::new(Code::NoCalendar).with("cal", cal),
                ));
            }
        }
        Ok(())
    }

    /// Creates a rule (owners and admins).
    pub async fn create_rule(&self, p: &Principal, input: RuleInput) -> Result<Rule, EngineError> {
        p.require_admin()?;
        let spec = input
            .spec
            .ok_or_else(|| EngineError::invalid("spec", Code::Required))?;
        let spec = compiled(spec)?;
        self.check_rule(p, &spec).await?;
        let now = self.now();
        let rule = Rule {
            id: RuleId::new(),
            workspace_id: p.workspace_id,
            name: name_of(input.name.as_deref().unwrap_or_default())?,
            position: position_of(input.position.unwrap_or(0))?,
            active: input.active.unwrap_or(true),
            spec: spec.spec,
            fired: 0,
            last_fired_at: None,
            created_at: now,
            updated_at: now,
        };
        let row = rule.clone();
        let actor = p.actor();
        self.store
            .write(move |tx| {
                Box::pin(async move {
                    let ws = row.workspace_id;
                    if rules::count(&mut tx.conn(), ws).await? >= MAX_RULES {
                        return Err(EngineError::Conflict(
                            domain::Message::new(Code::RulesLimit).with("max_rules", MAX_RULES),
                        ));
                    }
                    rules::insert(tx, &row).await?;
                    rules_changed(tx, &row, actor).await
                })
            })
            .await?;
        Ok(rule)
    }

    /// Changes a rule (owners and admins).
    pub async fn update_rule(
        &self,
        p: &Principal,
        id: RuleId,
        input: RuleInput,
    ) -> Result<Rule, EngineError> {
        p.require_admin()?;
        let mut rule = self.rule(p, id).await?;
        if let Some(n) = input.name {
            rule.name = name_of(&n)?;
        }
        if let Some(pos) = input.position {
            rule.position = position_of(pos)?;
        }
        if let Some(a) = input.active {
            rule.active = a;
        }
        if let Some(spec) = input.spec {
            let spec = compiled(spec)?;
            self.check_rule(p, &spec).await?;
            rule.spec = spec.spec;
        }
        rule.updated_at = self.now();
        let row = rule.clone();
        let actor = p.actor();
        self.store
            .write(move |tx| {
                Box::pin(async move {
                    rules::update(tx, &row).await?;
                    rules_changed(tx, &row, actor).await
                })
            })
            .await?;
        Ok(rule)
    }

    /// Deletes a rule (owners and admins).
    pub async fn delete_rule(&self, p: &Principal, id: RuleId) -> Result<(), EngineError> {
        p.require_admin()?;
        let (ws, actor) = (p.workspace_id, p.actor());
        self.store
            .write(move |tx| {
                Box::pin(async move {
                    if !rules::delete(tx, ws, id).await? {
                        return Err(EngineError::NotFound);
                    }
                    rules::bump_version(tx, ws).await?;
                    tx.emit(ws, actor, EventData::RuleDeleted { rule_id: id })
                        .await?;
                    Ok(())
                })
            })
            .await
    }

    /// The tickets a rule would act on now, without acting: for an automation,
    /// those it would fire on in its next sweep; for a trigger, those whose
    /// present state (and latest customer message) meets its conditions.
    pub async fn dry_run(&self, p: &Principal, spec: RuleSpec) -> Result<DryRun, EngineError> {
        p.require_admin()?;
        let rule = compiled(spec)?;
        let now = self.now();
        let mut c = self.store.read().await?;
        let mut conn = c.conn();
        let recent = tickets::list(
            &mut conn,
            p.workspace_id,
            &tickets::Filter {
                statuses: vec![
                    Status::New,
                    Status::Open,
                    Status::Pending,
                    Status::OnHold,
                    Status::Solved,
                ],
                sort: tickets::Sort::Updated,
                ..tickets::Filter::default()
            },
            None,
            DRY_RUN_SCAN,
        )
        .await?;
        let scanned = recent.len();
        let mut out = Vec::new();
        let mut truncated = false;
        for t in recent {
            let f = facts_of(&mut conn, &t, now, Fired::Latest, &rule.calendars()).await?;
            if rule.matches(&f) {
                if out.len() == DRY_RUN_SHOW {
                    truncated = true;
                    break;
                }
                out.push(t);
            }
        }
        Ok(DryRun {
            tickets: out,
            scanned,
            truncated,
        })
    }

    /// One step of a workspace's automation sweep: the unclosed tickets after
    /// `after`, a batch; queues the next step, or the next sweep.
    pub(crate) async fn sweep_automations(
        &self,
        ws: WorkspaceId,
        after: Option<TicketId>,
    ) -> Result<(), EngineError> {
        self.store
            .write(move |tx| {
                Box::pin(async move {
                    let now = tx.now();
                    let autos = loaded(tx, ws, RuleKind::Automation).await?;
                    if autos.is_empty() {
                        rules::end_sweep(tx, ws).await?;
                        return Ok(());
                    }
                    let batch =
                        rules::sweep_tickets(&mut tx.conn(), ws, after, SWEEP_BATCH).await?;
                    let calendars = calendars_of(autos.iter().map(|(_, c)| c));
                    for id in &batch {
                        store::sla::lock_ticket(tx, ws, *id).await?;
                        let Some(mut t) = tickets::get(&mut tx.conn(), ws, *id).await? else {
                            continue;
                        };
                        let mut facts = None;
                        for (rule, compiled) in autos.iter() {
                            if t.status == Status::Closed {
                                break;
                            }
                            // Once per ticket, until the ticket changes again.
                            if rules::last_run(&mut tx.conn(), rule.id, t.id)
                                .await?
                                .is_some_and(|at| at >= t.updated_at)
                            {
                                continue;
                            }
                            if facts.is_none() {
                                facts = Some(
                                    facts_of(&mut tx.conn(), &t, now, Fired::Latest, &calendars)
                                        .await?,
                                );
                            }
                            if !facts.as_ref().is_some_and(|f| compiled.matches(f)) {
                                continue;
                            }
                            let actor = Actor::Automation(AutomationId(rule.id.0));
                            fire(tx, rule, &t, actor).await?;
                            let Some(after) = tickets::get(&mut tx.conn(), ws, t.id).await? else {
                                break;
                            };
                            rules::save_run(tx, ws, rule.id, t.id, after.updated_at).await?;
                            // The next automation sees the ticket as this one left it.
                            t = after;
                            facts = None;
                        }
                    }
                    let next = if batch.len() as i64 == SWEEP_BATCH {
                        (
                            Job::Automations {
                                workspace_id: ws,
                                after: batch.last().copied(),
                            },
                            now,
                        )
                    } else {
                        let at = now.plus_millis(SWEEP_EVERY_MS);
                        rules::set_sweep_due(tx, ws, at).await?;
                        (
                            Job::Automations {
                                workspace_id: ws,
                                after: None,
                            },
                            at,
                        )
                    };
                    next.0.enqueue(tx, next.1).await?;
                    Ok(())
                })
            })
            .await
    }
}

/// Records a change to a rule: its event, the version that makes nodes reload
/// their compiled rules, and an automation sweep if none runs.
async fn rules_changed(tx: &mut Tx, r: &Rule, actor: Actor) -> Result<(), EngineError> {
    let ws = r.workspace_id;
    rules::bump_version(tx, ws).await?;
    tx.emit(
        ws,
        actor,
        EventData::RuleSaved {
            rule_id: r.id,
            name: r.name.clone(),
        },
    )
    .await?;
    if r.active && r.spec.kind == RuleKind::Automation {
        ensure_sweep(tx, ws).await?;
    }
    Ok(())
}

/// Starts the workspace's automation sweep chain unless one runs (or restarts
/// one whose job was lost: due long ago and never moved on).
pub(crate) async fn ensure_sweep(tx: &mut Tx, ws: WorkspaceId) -> Result<(), EngineError> {
    let now = tx.now();
    let start = if rules::claim_sweep(tx, ws, now).await? {
        true
    } else {
        let due = rules::sweep_due(&mut tx.conn(), ws).await?;
        if due.is_some_and(|d| d.millis() + 3 * SWEEP_EVERY_MS < now.millis()) {
            rules::set_sweep_due(tx, ws, now).await?;
            true
        } else {
            false
        }
    };
    if start {
        Job::Automations {
            workspace_id: ws,
            after: None,
        }
        .enqueue(tx, now)
        .await?;
    }
    Ok(())
}

/// Which message a rule's message conditions look at.
enum Fired<'a> {
    /// The one that fired the trigger.
    Message(&'a Message),
    /// The customer's latest (automations, dry runs, ticket events).
    Latest,
}

/// The calendars any of `rules` asks about, each once.
fn calendars_of<'a>(rules: impl IntoIterator<Item = &'a CompiledRule>) -> Vec<CalendarId> {
    let mut all: Vec<CalendarId> = rules.into_iter().flat_map(|r| r.calendars()).collect();
    all.sort();
    all.dedup();
    all
}

/// What is known of `t` now: read once for all the rules of a pass (and again
/// only after one of them changed the ticket). `calendars`: the ones the rules
/// ask about.
async fn facts_of(
    c: &mut Conn<'_>,
    t: &Ticket,
    now: Timestamp,
    fired: Fired<'_>,
    calendars: &[CalendarId],
) -> Result<Facts, EngineError> {
    let ws = t.workspace_id;
    let (language, customer_tags) = customers::segment(c, ws, t.customer_id).await?;
    let message = match fired {
        Fired::Message(m) => Some(m.clone()),
        Fired::Latest => tickets::last_from_customer(c, ws, t.id, t.customer_id).await?,
    };
    let triage = match message.as_ref() {
        Some(m) if m.author_kind == AuthorKind::Customer => {
            store::triage::of_message(c, ws, m.id).await?
        }
        _ => None,
    };
    let hours = |since: Timestamp| (now.millis() - since.millis()).max(0) / 3_600_000;
    let last_customer = tickets::last_customer_message_at(c, ws, t.id).await?;
    let mut open_calendars = Vec::new();
    for &cal in calendars {
        if let Some(b) = store::sla::hours(c, ws, cal).await?
            && let Ok(calendar) = crate::sla::calendar_of(&b)
            && calendar.is_open(now.millis())
        {
            open_calendars.push(cal.to_string());
        }
    }
    Ok(Facts {
        status: t.status.as_str().into(),
        priority: t.priority.as_str().into(),
        channel: t.channel.as_str().into(),
        team: t.team_id.map(|x| x.to_string()),
        assignee: t.assignee_id.map(|x| x.to_string()),
        tier: t.tier,
        tags: t.tags.clone(),
        customer_tags,
        status_changed_to: None,
        category: t.category.as_ref().map(|x| x.to_lowercase()),
        subject: t.subject.to_lowercase(),
        message: message.as_ref().map(|m| m.body_text.to_lowercase()),
        author: message.as_ref().map(|m| m.author_kind.as_str().to_owned()),
        language: language.map(|l| l.to_lowercase()),
        hours_since_created: hours(t.created_at),
        hours_since_updated: hours(t.updated_at),
        hours_since_customer: last_customer.map(hours),
        open_calendars,
        triage: triage.map(|t| TriageFacts {
            confidence: if t.category.is_some() {
                (t.category_confidence * 100.0).round() as i64
            } else {
                0
            },
            category: t.category,
            urgency: if t.urgent { "urgent" } else { "normal" }.to_owned(),
            sentiment: t.sentiment,
            language: t.lang.map(|l| l.to_lowercase()),
        }),
    })
}

/// Runs `rule`'s actions on `t` as `actor`, each on its own, and records the
/// firing.
async fn fire(tx: &mut Tx, rule: &Rule, t: &Ticket, actor: Actor) -> Result<(), EngineError> {
    let ws = t.workspace_id;
    let mut failed = Vec::new();
    for (i, a) in rule.spec.actions.iter().enumerate() {
        let mark = tx.savepoint().await?;
        match act(tx, rule, t.id, a, actor).await {
            Ok(()) => tx.release(mark).await?,
            Err(e) => {
                tx.roll_back_to(mark).await?;
                let kind = serde_json::to_value(a)
                    .ok()
                    .and_then(|v| v.get("type").and_then(Value::as_str).map(str::to_owned))
                    .unwrap_or_default();
                failed.push(format!("actions[{i}] {kind}: {}", describe(&e)));
            }
        }
    }
    metrics::counter!("otklik_rules_fired_total", "kind" => rule.spec.kind.as_str()).increment(1);
    rules::fired(tx, ws, rule.id).await?;
    tx.emit(
        ws,
        actor,
        EventData::RuleFired {
            ticket_id: t.id,
            rule_id: rule.id,
            name: rule.name.clone(),
            failed,
        },
    )
    .await?;
    Ok(())
}

/// An error as a line for the ticket history.
fn describe(e: &EngineError) -> String {
    match e {
        EngineError::Invalid(fields) => fields
            .iter()
            .map(|(f, m)| format!("{f}: {m}"))
            .collect::<Vec<_>>()
            .join("; "),
        e => e.to_string(),
    }
}

/// One action, on the ticket as it is now.
async fn act(
    tx: &mut Tx,
    rule: &Rule,
    id: TicketId,
    a: &Action,
    actor: Actor,
) -> Result<(), EngineError> {
    let ws = rule.workspace_id;
    let t = tickets::get(&mut tx.conn(), ws, id)
        .await?
        .ok_or(EngineError::NotFound)?;
    if let Some(p) = patch_of(&t, std::slice::from_ref(a))? {
        patch_ticket(tx, ws, id, actor, p).await?;
        return Ok(());
    }
    match a {
        Action::Reply { body, translations } => {
            if t.status == Status::Closed {
                return Err(EngineError::Rule(Code::TicketClosed.into()));
            }
            let language = customers::language(&mut tx.conn(), ws, t.customer_id).await?;
            let text = Action::reply_text(body, translations, language.as_deref());
            let text = render(&mut tx.conn(), &t, t.assignee_id, text).await?;
            post(tx, &t, Visibility::Public, text, actor).await
        }
        Action::AddNote { body } => {
            let text = render(&mut tx.conn(), &t, t.assignee_id, body).await?;
            post(tx, &t, Visibility::Internal, text, actor).await
        }
        Action::Notify {
            user_ids,
            team_id,
            text,
            email,
            telegram,
        } => {
            let mut to = user_ids.clone();
            if let Some(team) = team_id {
                to.extend(people::team_members(&mut tx.conn(), ws, *team).await?);
            }
            to.sort();
            to.dedup();
            let mut active = Vec::with_capacity(to.len());
            for u in to {
                if people::user_by_id(&mut tx.conn(), ws, u)
                    .await?
                    .is_some_and(|u| u.active)
                {
                    active.push(u);
                }
            }
            if active.is_empty() {
                return Err(EngineError::Rule(Code::NoAgentToTell.into()));
            }
            let text = render(&mut tx.conn(), &t, t.assignee_id, text).await?;
            if *email {
                for u in &active {
                    Job::NotifyEmail {
                        workspace_id: ws,
                        user_id: *u,
                        ticket_id: t.id,
                        text: text.clone(),
                    }
                    .enqueue(tx, tx.now())
                    .await?;
                }
            }
            if *telegram {
                for u in &active {
                    if people::telegram_link(&mut tx.conn(), ws, *u)
                        .await?
                        .is_some()
                    {
                        Job::NotifyTelegram {
                            workspace_id: ws,
                            user_id: *u,
                            ticket_id: Some(t.id),
                            text: text.clone(),
                        }
                        .enqueue(tx, tx.now())
                        .await?;
                    }
                }
            }
            tx.emit(
                ws,
                actor,
                EventData::AgentsNotified {
                    ticket_id: t.id,
                    user_ids: active,
                    text,
                },
            )
            .await?;
            Ok(())
        }
        Action::Webhook { url } => {
            Job::Webhook {
                workspace_id: ws,
                rule_id: rule.id,
                ticket_id: t.id,
                url: url.clone(),
            }
            .enqueue(tx, tx.now())
            .await?;
            Ok(())
        }
        Action::Escalate { reason, team_id } => {
            let reason = domain::text::clean_body(reason.trim());
            crate::escalation::escalate_ticket(tx, ws, t.id, actor, None, reason, *team_id)
                .await
                .map(|_| ())
        }
        _ => Ok(()),
    }
}

/// The ticket changes `actions` make, together (a macro applies them as one
/// change); `None` when none of them changes the ticket's fields.
pub(crate) fn patch_of(
    t: &Ticket,
    actions: &[Action],
) -> Result<Option<CheckedPatch>, EngineError> {
    let mut p = TicketPatch::default();
    let mut tags = t.tags.clone();
    let mut tags_touched = false;
    let mut fields = Map::new();
    let mut any = false;
    for a in actions {
        match a {
            Action::SetStatus { status } => p.status = Some(*status),
            Action::SetPriority { priority } => p.priority = Some(*priority),
            Action::SetTeam { team_id } => p.team_id = Some(*team_id),
            Action::SetTier { tier } => p.tier = Some(*tier),
            Action::SetCategory { category } => p.category = Some(category.clone()),
            Action::AddTags { tags: add } => {
                tags.extend(add.iter().cloned());
                tags_touched = true;
            }
            Action::RemoveTags { tags: gone } => {
                let gone: Vec<String> = gone.iter().map(|x| x.trim().to_lowercase()).collect();
                tags.retain(|x| !gone.contains(x));
                tags_touched = true;
            }
            Action::SetField { key, value } => {
                fields.insert(key.clone(), value.clone());
            }
            Action::Assign { user_id } => p.assignee_id = Some(*user_id),
            _ => continue,
        }
        any = true;
    }
    if tags_touched {
        p.tags = Some(tags);
    }
    if !fields.is_empty() {
        p.custom_fields = Some(fields);
    }
    if any {
        Ok(Some(p.checked()?))
    } else {
        Ok(None)
    }
}

/// Fills a text's placeholders for the ticket; `agent` is who `{{agent.name}}`
/// names (the assignee for rules, the one applying a macro).
pub(crate) async fn render(
    c: &mut Conn<'_>,
    t: &Ticket,
    agent: Option<UserId>,
    text: &str,
) -> Result<String, EngineError> {
    let order = store::orders::of_ticket(c, t.workspace_id, t.id).await?;
    render_with(c, t, agent, text, order).await
}

/// [`render`] with `order` for `{{order.…}}` (outreach about one order).
pub(crate) async fn render_with(
    c: &mut Conn<'_>,
    t: &Ticket,
    agent: Option<UserId>,
    text: &str,
    order: Option<store::orders::OrderRecord>,
) -> Result<String, EngineError> {
    let ws = t.workspace_id;
    let customer = customers::get(c, ws, t.customer_id).await?;
    let agent = match agent {
        Some(a) => people::user_by_id(c, ws, a).await?,
        None => None,
    };
    let workspace = store::workspaces::by_id(c, ws).await?;
    let email = customer.as_ref().and_then(|c| {
        c.identities
            .iter()
            .find(|i| i.kind == domain::identity::IdentityKind::Email)
            .map(|i| i.value.clone())
    });
    let value = |name: &str| -> Option<String> {
        match name {
            "customer.name" => customer.as_ref().map(|c| c.name.clone()),
            "customer.first_name" => customer
                .as_ref()
                .map(|c| domain::template::first_name(&c.name)),
            "customer.email" => email.clone(),
            "ticket.number" => Some(t.number.to_string()),
            "ticket.subject" => Some(t.subject.clone()),
            "ticket.status" => Some(t.status.as_str().to_owned()),
            "agent.name" => agent.as_ref().map(|a| a.name.clone()),
            "agent.first_name" => agent
                .as_ref()
                .map(|a| domain::template::first_name(&a.name)),
            "workspace.name" => workspace.as_ref().map(|w| w.name.clone()),
            "order.number" => order.as_ref().map(|o| o.order.number.clone()),
            "order.status" => order.as_ref().map(|o| o.order.status.as_str().to_owned()),
            "order.tracking_url" => order
                .as_ref()
                .and_then(|o| o.order.tracking_url().map(str::to_owned)),
            _ => None,
        }
    };
    Ok(domain::template::render(text, value)?)
}

/// A message by the system on the ticket: a public one is delivered through the
/// ticket's channel.
pub(crate) async fn post(
    tx: &mut Tx,
    t: &Ticket,
    visibility: Visibility,
    text: String,
    actor: Actor,
) -> Result<(), EngineError> {
    post_as(tx, t, visibility, text, actor, AuthorKind::System)
        .await
        .map(|_| ())
}

/// [`post`] by another kind of author (the bot); the message's id.
pub(crate) async fn post_as(
    tx: &mut Tx,
    t: &Ticket,
    visibility: Visibility,
    text: String,
    actor: Actor,
    author_kind: AuthorKind,
) -> Result<MessageId, EngineError> {
    let now = tx.now();
    let public = visibility == Visibility::Public;
    let m = Message {
        id: MessageId::new(),
        workspace_id: t.workspace_id,
        ticket_id: t.id,
        visibility,
        author_kind,
        author_user_id: None,
        author_customer_id: None,
        channel: t.channel,
        body_text: text,
        body_html: None,
        external_id: None,
        delivery_state: public.then_some(domain::ticket::DeliveryState::Queued),
        delivery_error: None,
        account_id: if public { t.account_id } else { None },
        created_at: now,
        attachments: Vec::new(),
    };
    let m = insert_message(tx, m, &[], actor).await?;
    if public {
        Job::DeliverMessage {
            workspace_id: t.workspace_id,
            message_id: m.id,
        }
        .enqueue(tx, now)
        .await?;
    }
    Ok(m.id)
}

/// A workspace's active rules of one kind, compiled, in order.
type Loaded = Arc<Vec<(Rule, CompiledRule)>>;

async fn loaded(tx: &mut Tx, ws: WorkspaceId, kind: RuleKind) -> Result<Loaded, EngineError> {
    let rows = rules::list(&mut tx.conn(), ws, Some(kind), true).await?;
    let mut out = Vec::with_capacity(rows.len());
    for r in rows {
        // Saved rules were checked; one that no longer compiles (a newer
        // build's rule read by an older one) is skipped, not fatal.
        match r.spec.clone().validated() {
            Ok(c) => out.push((r, c)),
            Err(e) => tracing::warn!(rule = %r.id, error = %e, "a stored rule does not compile"),
        }
    }
    Ok(Arc::new(out))
}

/// Runs the workspace's triggers on the events they listen to.
#[derive(Default)]
pub struct Triggers {
    /// Compiled triggers per workspace, with the rules version they are of.
    cache: Mutex<HashMap<WorkspaceId, (i64, Loaded)>>,
}

impl Triggers {
    async fn triggers(&self, tx: &mut Tx, ws: WorkspaceId) -> Result<Loaded, EngineError> {
        let version = rules::version(&mut tx.conn(), ws).await?;
        if let Ok(cache) = self.cache.lock()
            && let Some((v, l)) = cache.get(&ws)
            && *v == version
        {
            return Ok(l.clone());
        }
        let l = loaded(tx, ws, RuleKind::Trigger).await?;
        if let Ok(mut cache) = self.cache.lock() {
            cache.insert(ws, (version, l.clone()));
        }
        Ok(l)
    }
}

/// The trigger event an event is, with the message it brought and the status
/// it moved the ticket to.
fn trigger_of(e: &EventData) -> Option<(On, Option<MessageId>, Option<String>)> {
    match e {
        EventData::TicketCreated { .. } => Some((On::TicketCreated, None, None)),
        EventData::TicketUpdated { changes, .. } => {
            let to = changes
                .iter()
                .find(|c| c.field == "status")
                .and_then(|c| c.to.as_str().map(str::to_owned));
            Some((On::TicketUpdated, None, to))
        }
        EventData::MessageAdded {
            message_id,
            author_kind: AuthorKind::Customer,
            ..
        } => Some((On::CustomerWrote, Some(*message_id), None)),
        EventData::MessageAdded {
            message_id,
            author_kind: AuthorKind::Agent,
            visibility: Visibility::Public,
            ..
        } => Some((On::AgentReplied, Some(*message_id), None)),
        EventData::SlaWarning { .. } => Some((On::SlaWarning, None, None)),
        EventData::SlaBreached { .. } => Some((On::SlaBreached, None, None)),
        EventData::MessageTriaged { message_id, .. } => {
            Some((On::MessageTriaged, Some(*message_id), None))
        }
        _ => None,
    }
}

impl Consumer for Triggers {
    fn name(&self) -> &'static str {
        "triggers"
    }
    fn start(&self) -> Start {
        Start::Now
    }
    fn handle<'t>(
        &'t self,
        tx: &'t mut Tx,
        e: &'t EventRecord,
    ) -> BoxFuture<'t, Result<(), EngineError>> {
        Box::pin(async move {
            // Loop protection: what rules write fires no rules.
            if matches!(e.actor, Actor::Rule(_) | Actor::Automation(_)) {
                return Ok(());
            }
            let (Some((on, message, status_to)), Some(ticket_id)) =
                (trigger_of(&e.data), e.data.ticket_id())
            else {
                return Ok(());
            };
            let ws = e.workspace_id;
            let triggers = self.triggers(tx, ws).await?;
            if !triggers.iter().any(|(_, c)| c.listens(on)) {
                return Ok(());
            }
            let message = match message {
                Some(m) => tickets::message(&mut tx.conn(), ws, m).await?,
                None => None,
            };
            store::sla::lock_ticket(tx, ws, ticket_id).await?;
            let now = tx.now();
            let listening: Vec<&(Rule, CompiledRule)> =
                triggers.iter().filter(|(_, c)| c.listens(on)).collect();
            let calendars = calendars_of(listening.iter().map(|(_, c)| c));
            let mut current: Option<(Ticket, Facts)> = None;
            for (rule, compiled) in listening {
                // Read once, and again only after a rule changed the ticket:
                // each rule sees the ticket as the ones before left it.
                if current.is_none() {
                    let Some(t) = tickets::get(&mut tx.conn(), ws, ticket_id).await? else {
                        return Ok(());
                    };
                    let fired = match &message {
                        Some(m) => Fired::Message(m),
                        None => Fired::Latest,
                    };
                    let mut f = facts_of(&mut tx.conn(), &t, now, fired, &calendars).await?;
                    f.status_changed_to = status_to.clone();
                    current = Some((t, f));
                }
                let Some((t, f)) = &current else {
                    return Ok(());
                };
                if t.status == Status::Closed {
                    return Ok(());
                }
                if compiled.matches(f) {
                    fire(tx, rule, t, Actor::Rule(rule.id)).await?;
                    current = None;
                }
            }
            Ok(())
        })
    }
}

/// What a webhook receives: the ticket and the rule that sent it.
pub(crate) fn webhook_body(rule: &Rule, t: &Ticket, at: Timestamp) -> Value {
    json!({
        "rule": {"id": rule.id, "name": rule.name},
        "ticket": {
            "id": t.id, "number": t.number, "subject": t.subject,
            "status": t.status, "priority": t.priority, "channel": t.channel,
            "customer_id": t.customer_id, "assignee_id": t.assignee_id, "team_id": t.team_id,
            "tier": t.tier, "category": t.category, "tags": t.tags,
            "custom_fields": t.custom_fields,
            "created_at": t.created_at.to_rfc3339(), "updated_at": t.updated_at.to_rfc3339(),
        },
        "sent_at": at.to_rfc3339(),
    })
}

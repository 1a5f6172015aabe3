//! Proactive outreach: the `outreach` consumer of the event log answers order,
//! shipment and at-risk events with the workspace's outreach rules — one
//! `outreach` row per rule and event (so a replayed event never writes twice)
//! and a queued job that writes the message.
//!
//! The job keeps the customer's wishes and the workspace's bounds: a customer
//! who opted out is skipped; during quiet hours (the workspace's time zone) the
//! message waits for them to end; beyond the daily limit per customer it is
//! skipped. It writes on the customer's preferred channel: the messenger
//! conversation they used last (Telegram, VK; WhatsApp while its 24-hour window
//! is open), else email from the workspace's sending mailbox as a new ticket,
//! left pending. Either way the message is on a ticket, so the customer's
//! answer threads into it, and `outreach.sent` or `outreach.skipped` is on
//! their timeline.
//!
//! The same consumer flags customers at risk: a ticket re-opened after it was
//! solved, or an SLA target missed, is a bad experience; when the customer's
//! two newest tickets both were, they are flagged (`customer.at_risk`, the
//! customer tag `at-risk`, an internal note on the ticket for the team) and
//! at-risk rules write to them.

use crate::consumers::{Consumer, Start};
use crate::jobs::Job;
use crate::model::EventRecord;
use crate::worker::Outcome;
use crate::{Engine, EngineError, Principal};
use domain::Code;
use domain::Message;
use domain::Timestamp;
use domain::event::{Actor, EventData};
use domain::ids::*;
use domain::outreach::{OutreachOn, OutreachSettings, OutreachSpec, local_minutes};
use domain::ticket::{Channel, Status, Visibility};
use futures::future::BoxFuture;
use store::Tx;
use store::outreach::{self as db, Outreach, OutreachRule};

/// The customer tag an at-risk flag adds.
pub const AT_RISK_TAG: &str = "at-risk";
/// How recent a messenger conversation must be to write into it.
const CONVERSATION_DAYS: i64 = 30;
const DAY_MS: i64 = 24 * 3600 * 1000;

pub struct Outreacher;

impl Consumer for Outreacher {
    fn name(&self) -> &'static str {
        "outreach"
    }

    fn start(&self) -> Start {
        Start::Now
    }

    fn handle<'t>(
        &'t self,
        tx: &'t mut Tx,
        event: &'t EventRecord,
    ) -> BoxFuture<'t, Result<(), EngineError>> {
        Box::pin(async move {
            let ws = event.workspace_id;
            match &event.data {
                EventData::OrderCreated {
                    order_id,
                    customer_id,
                    status,
                    ..
                } => {
                    answer(
                        tx,
                        event,
                        OutreachOn::OrderStatus,
                        Some(status.as_str()),
                        *customer_id,
                        Some(*order_id),
                    )
                    .await
                }
                EventData::OrderStatusChanged {
                    order_id,
                    customer_id,
                    to,
                    ..
                } => {
                    answer(
                        tx,
                        event,
                        OutreachOn::OrderStatus,
                        Some(to.as_str()),
                        *customer_id,
                        Some(*order_id),
                    )
                    .await
                }
                EventData::ShipmentUpdated {
                    order_id,
                    customer_id,
                    to,
                    ..
                } => {
                    answer(
                        tx,
                        event,
                        OutreachOn::Shipment,
                        Some(to.as_str()),
                        *customer_id,
                        Some(*order_id),
                    )
                    .await
                }
                EventData::CustomerAtRisk { customer_id, .. } => {
                    answer(tx, event, OutreachOn::AtRisk, None, *customer_id, None).await
                }
                EventData::SlaBreached { ticket_id, .. } => {
                    bad_experience(tx, ws, *ticket_id, "sla_breached").await
                }
                EventData::TicketUpdated { ticket_id, changes } => {
                    let reopened = changes.iter().any(|c| {
                        c.field == "status"
                            && matches!(c.from.as_str(), Some("solved" | "closed"))
                            && !matches!(c.to.as_str(), Some("solved" | "closed"))
                    });
                    if reopened {
                        bad_experience(tx, ws, *ticket_id, "reopened").await
                    } else {
                        Ok(())
                    }
                }
                _ => Ok(()),
            }
        })
    }
}

/// Queues a message for every active rule that answers this event.
async fn answer(
    tx: &mut Tx,
    event: &EventRecord,
    on: OutreachOn,
    status: Option<&str>,
    customer: CustomerId,
    order: Option<OrderId>,
) -> Result<(), EngineError> {
    let ws = event.workspace_id;
    let rules = db::rules(&mut tx.conn(), ws).await?;
    for r in rules.iter().filter(|r| r.spec.covers(on, status)) {
        let now = tx.now();
        let o = Outreach {
            id: OutreachId::new(),
            workspace_id: ws,
            rule_id: r.id,
            event_id: event.id,
            customer_id: customer,
            order_id: order,
            state: "queued".into(),
            reason: None,
            ticket_id: None,
            created_at: now,
            updated_at: now,
        };
        if db::insert(tx, &o).await? {
            Job::Outreach {
                workspace_id: ws,
                outreach_id: o.id,
            }
            .enqueue(tx, now)
            .await?;
        }
    }
    Ok(())
}

/// Records a bad experience; flags the customer when their two newest
/// tickets both were.
async fn bad_experience(
    tx: &mut Tx,
    ws: WorkspaceId,
    ticket: TicketId,
    reason: &str,
) -> Result<(), EngineError> {
    let Some(t) = store::tickets::get(&mut tx.conn(), ws, ticket).await? else {
        return Ok(());
    };
    if !db::mark_bad(tx, ws, t.id, t.customer_id, reason).await? {
        return Ok(());
    }
    let filter = store::tickets::Filter {
        customer: Some(t.customer_id),
        ..Default::default()
    };
    let newest = store::tickets::list(&mut tx.conn(), ws, &filter, None, 2).await?;
    if newest.len() < 2 {
        return Ok(());
    }
    let ids: Vec<TicketId> = newest.iter().map(|n| n.id).collect();
    let marks = db::bad_reasons(&mut tx.conn(), ws, &ids).await?;
    if !ids.iter().all(|id| marks.iter().any(|(t, _)| t == id)) {
        return Ok(());
    }
    let Some(mut c) = store::customers::get(&mut tx.conn(), ws, t.customer_id).await? else {
        return Ok(());
    };
    if c.at_risk_since.is_some() {
        return Ok(());
    }
    let now = tx.now();
    let mut reasons: Vec<String> = marks.into_iter().map(|(_, r)| r).collect();
    reasons.dedup();
    let mut changes = Vec::new();
    let mut tags = c.tags.clone();
    if !tags.iter().any(|x| x == AT_RISK_TAG) {
        tags.push(AT_RISK_TAG.to_owned());
        tags.sort();
    }
    domain::event::record(&mut changes, "tags", &mut c.tags, tags);
    c.at_risk_since = Some(now);
    c.updated_at = now;
    store::customers::update(tx, &c).await?;
    if !changes.is_empty() {
        tx.emit(
            ws,
            Actor::System,
            EventData::CustomerUpdated {
                customer_id: c.id,
                changes,
            },
        )
        .await?;
    }
    tx.emit(
        ws,
        Actor::System,
        EventData::CustomerAtRisk {
            customer_id: c.id,
            ticket_id: t.id,
            reasons: reasons.clone(),
        },
    )
    .await?;
    let note = format!(
        "{} is at risk: their two newest tickets went badly ({}). Reach out before they leave.",
        c.name,
        reasons.join(", ")
    );
    crate::rules::post(tx, &t, Visibility::Internal, note, Actor::System).await
}

/// Where an outreach message goes.
enum Route {
    /// Into the customer's messenger conversation.
    Conversation(Box<store::tickets::Ticket>),
    /// A new email ticket.
    Email,
}

impl Engine {
    /// Writes one queued outreach message (the `outreach` job).
    pub(crate) async fn send_outreach(
        &self,
        ws: WorkspaceId,
        id: OutreachId,
    ) -> Result<Outcome, EngineError> {
        let now = self.store.now();
        let (o, rule, customer, settings, workspace) = {
            let mut c = self.store.read().await?;
            let Some(o) = db::get(&mut c.conn(), ws, id).await? else {
                return Ok(Outcome::Done);
            };
            if o.state != "queued" {
                return Ok(Outcome::Done);
            }
            let rule = db::rules(&mut c.conn(), ws)
                .await?
                .into_iter()
                .find(|r| r.id == o.rule_id);
            // A merged profile's messages go to the one it joined.
            let mut customer = store::customers::get(&mut c.conn(), ws, o.customer_id).await?;
            if let Some(into) = customer.as_ref().and_then(|c| c.merged_into) {
                customer = store::customers::get(&mut c.conn(), ws, into).await?;
            }
            let settings = db::settings(&mut c.conn(), ws).await?;
            let workspace = store::workspaces::by_id(&mut c.conn(), ws).await?;
            (o, rule, customer, settings, workspace)
        };
        let (Some(rule), Some(customer), Some(workspace)) = (rule, customer, workspace) else {
            return self.skip(o, "gone").await;
        };
        if !rule.spec.active {
            return self.skip(o, "rule_off").await;
        }
        if customer.outreach_opt_out {
            return self.skip(o, "opted_out").await;
        }
        if let Some(q) = settings.quiet_hours {
            let wait = q.wait(local_minutes(&workspace.time_zone, now));
            if wait > 0 {
                let later = now.plus_millis(i64::from(wait) * 60_000);
                self.store
                    .write(move |tx| {
                        Box::pin(async move {
                            Job::Outreach {
                                workspace_id: ws,
                                outreach_id: id,
                            }
                            .enqueue(tx, later)
                            .await?;
                            Ok::<_, EngineError>(())
                        })
                    })
                    .await?;
                return Ok(Outcome::Done);
            }
        }
        {
            let mut c = self.store.read().await?;
            let sent =
                db::sent_since(&mut c.conn(), ws, customer.id, now.plus_millis(-DAY_MS)).await?;
            if sent >= i64::from(settings.daily_limit) {
                drop(c);
                return self.skip(o, "daily_limit").await;
            }
        }
        let Some(route) = self.route(ws, &customer, now).await? else {
            return self.skip(o, "no_channel").await;
        };
        let text = rule
            .spec
            .text_for(customer.language.as_deref(), &workspace.default_language)
            .unwrap_or_default()
            .to_owned();
        let subject = rule.spec.name.clone();
        let customer_id = customer.id;
        let order_id = o.order_id;
        self.store
            .write(move |tx| {
                Box::pin(async move {
                    let now = tx.now();
                    // Sent once: a retried job finds the row no longer queued.
                    let Some(mut o) = db::get(&mut tx.conn(), ws, o.id).await? else {
                        return Ok(());
                    };
                    if o.state != "queued" {
                        return Ok(());
                    }
                    let ticket = match route {
                        Route::Conversation(t) => *t,
                        Route::Email => {
                            let number = store::workspaces::next_ticket_number(tx, ws).await?;
                            let mut t = crate::tickets::new_ticket(
                                ws,
                                number,
                                subject,
                                Channel::Email,
                                customer_id,
                                None,
                                now,
                            );
                            t.status = Status::Pending;
                            store::tickets::insert(tx, &t).await?;
                            crate::tickets::emit_created(tx, &t, Actor::System).await?;
                            if let Some(order) = order_id {
                                store::orders::link_ticket(tx, ws, t.id, Some(order)).await?;
                            }
                            t
                        }
                    };
                    let order = match order_id {
                        Some(id) => store::orders::get(&mut tx.conn(), ws, id).await?,
                        None => None,
                    };
                    let body =
                        crate::rules::render_with(&mut tx.conn(), &ticket, None, &text, order)
                            .await?;
                    let body = domain::text::clean_body(body.trim());
                    crate::rules::post(tx, &ticket, Visibility::Public, body, Actor::System)
                        .await?;
                    o.state = "sent".into();
                    o.ticket_id = Some(ticket.id);
                    o.updated_at = now;
                    db::update(tx, &o).await?;
                    tx.emit(
                        ws,
                        Actor::System,
                        EventData::OutreachSent {
                            customer_id,
                            rule_id: o.rule_id,
                            outreach_id: o.id,
                            ticket_id: ticket.id,
                            channel: ticket.channel,
                        },
                    )
                    .await?;
                    Ok::<_, EngineError>(())
                })
            })
            .await?;
        Ok(Outcome::Done)
    }

    async fn skip(&self, o: Outreach, reason: &'static str) -> Result<Outcome, EngineError> {
        self.store
            .write(move |tx| {
                Box::pin(async move {
                    let mut o = o;
                    o.state = "skipped".into();
                    o.reason = Some(reason.to_owned());
                    o.updated_at = tx.now();
                    db::update(tx, &o).await?;
                    tx.emit(
                        o.workspace_id,
                        Actor::System,
                        EventData::OutreachSkipped {
                            customer_id: o.customer_id,
                            rule_id: o.rule_id,
                            outreach_id: o.id,
                            reason: reason.to_owned(),
                        },
                    )
                    .await?;
                    Ok::<_, EngineError>(())
                })
            })
            .await?;
        Ok(Outcome::Done)
    }

    /// The customer's preferred channel: their newest messenger conversation
    /// of the last 30 days that can take a free message now, else email when
    /// they have an address and the workspace a sending mailbox.
    async fn route(
        &self,
        ws: WorkspaceId,
        customer: &store::customers::Customer,
        now: Timestamp,
    ) -> Result<Option<Route>, EngineError> {
        let mut c = self.store.read().await?;
        let filter = store::tickets::Filter {
            customer: Some(customer.id),
            channels: vec![Channel::Telegram, Channel::Vk, Channel::Whatsapp],
            ..Default::default()
        };
        let recent = store::tickets::list(&mut c.conn(), ws, &filter, None, 5).await?;
        for t in recent {
            if now.millis() - t.updated_at.millis() > CONVERSATION_DAYS * DAY_MS {
                continue;
            }
            if t.channel == Channel::Whatsapp {
                let wrote =
                    store::tickets::last_customer_message_at(&mut c.conn(), ws, t.id).await?;
                if wrote.is_none_or(|w| now.millis() - w.millis() >= DAY_MS) {
                    continue;
                }
            }
            return Ok(Some(Route::Conversation(Box::new(t))));
        }
        let has_email = customer
            .identities
            .iter()
            .any(|i| i.kind == domain::identity::IdentityKind::Email);
        let sends = store::channels::list(&mut c.conn(), ws, Channel::Email)
            .await?
            .iter()
            .any(|m| m.active);
        Ok((has_email && sends).then_some(Route::Email))
    }

    // ---- rules and settings, for admins ----

    pub async fn outreach_rules(&self, p: &Principal) -> Result<Vec<OutreachRule>, EngineError> {
        p.require_admin()?;
        let mut c = self.store.read().await?;
        Ok(db::rules(&mut c.conn(), p.workspace_id).await?)
    }

    pub async fn outreach_rule(
        &self,
        p: &Principal,
        id: OutreachRuleId,
    ) -> Result<OutreachRule, EngineError> {
        self.outreach_rules(p)
            .await?
            .into_iter()
            .find(|r| r.id == id)
            .ok_or(EngineError::NotFound)
    }

    /// Creates a rule (`id` none) or replaces one.
    pub async fn save_outreach_rule(
        &self,
        p: &Principal,
        id: Option<OutreachRuleId>,
        spec: OutreachSpec,
    ) -> Result<OutreachRule, EngineError> {
        let existing = match id {
            Some(id) => Some(self.outreach_rule(p, id).await?),
            None => {
                if self.outreach_rules(p).await?.len() >= domain::outreach::MAX_RULES {
                    return Err(EngineError::Rule(
                        Message::new(Code::OutreachLimit).with("max", domain::outreach::MAX_RULES),
                    ));
                }
                None
            }
        };
        let spec = spec.validated()?;
        let now = self.store.now();
        let r = OutreachRule {
            id: existing.as_ref().map_or_else(OutreachRuleId::new, |e| e.id),
            workspace_id: p.workspace_id,
            spec,
            created_at: existing.as_ref().map_or(now, |e| e.created_at),
            updated_at: now,
        };
        let (r2, new) = (r.clone(), existing.is_none());
        self.store
            .write(move |tx| {
                Box::pin(async move {
                    if new {
                        db::insert_rule(tx, &r2).await?;
                    } else {
                        db::update_rule(tx, &r2).await?;
                    }
                    Ok::<_, EngineError>(())
                })
            })
            .await?;
        Ok(r)
    }

    pub async fn outreach_settings(&self, p: &Principal) -> Result<OutreachSettings, EngineError> {
        let mut c = self.store.read().await?;
        Ok(db::settings(&mut c.conn(), p.workspace_id).await?)
    }

    pub async fn save_outreach_settings(
        &self,
        p: &Principal,
        s: OutreachSettings,
    ) -> Result<OutreachSettings, EngineError> {
        p.require_admin()?;
        let s = s.validated()?;
        let ws = p.workspace_id;
        self.store
            .write(move |tx| {
                Box::pin(async move {
                    db::put_settings(tx, ws, &s).await?;
                    Ok::<_, EngineError>(())
                })
            })
            .await?;
        Ok(s)
    }

    /// What outreach did for a customer, newest first.
    pub async fn customer_outreach(
        &self,
        p: &Principal,
        customer: CustomerId,
    ) -> Result<Vec<Outreach>, EngineError> {
        self.customer(p, customer).await?;
        let mut c = self.store.read().await?;
        Ok(db::of_customer(&mut c.conn(), p.workspace_id, customer, 100).await?)
    }

    /// Records a customer's wish not to be written to first (or its end).
    pub async fn set_outreach_opt_out(
        &self,
        p: &Principal,
        customer: CustomerId,
        opt_out: bool,
    ) -> Result<store::customers::Customer, EngineError> {
        p.require_ticket_work()?;
        let mut c = self.customer(p, customer).await?;
        if c.outreach_opt_out != opt_out {
            let mut changes = Vec::new();
            domain::event::record(
                &mut changes,
                "outreach_opt_out",
                &mut c.outreach_opt_out,
                opt_out,
            );
            c.updated_at = self.store.now();
            let (c2, actor) = (c.clone(), p.actor());
            self.store
                .write(move |tx| {
                    Box::pin(async move {
                        store::customers::update(tx, &c2).await?;
                        tx.emit(
                            c2.workspace_id,
                            actor,
                            EventData::CustomerUpdated {
                                customer_id: c2.id,
                                changes,
                            },
                        )
                        .await?;
                        Ok::<_, EngineError>(())
                    })
                })
                .await?;
        }
        self.customer(p, customer).await
    }
}

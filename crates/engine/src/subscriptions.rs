//! Outbound webhook subscriptions: a workspace's integrations ask for event
//! kinds at an address, and every such event is POSTed there, signed with the
//! subscription's secret (`X-Otklik-Timestamp`, `X-Otklik-Signature: v1=`).
//!
//! The `webhooks` consumer of the event log records one delivery per event
//! and subscription (unique on the pair, so nothing is sent twice for one
//! event and nothing is skipped across restarts: the consumer's position
//! moves in the same transaction) and queues its job. A delivery is tried
//! at once and then after 10 s, 1 min, 5 min, 30 min, 2 h and 6 h; each
//! attempt's answer (status and the start of the body) is in the delivery
//! log. After [`DISABLE_AFTER`] deliveries in a row failed for good, the
//! subscription is switched off with the reason and the workspace's admins
//! are told (`webhook.disabled`).

use crate::consumers::{Consumer, Start};
use crate::jobs::Job;
use crate::model::EventRecord;
use crate::webhook::{Posted, post_signed};
use crate::worker::Outcome;
use crate::{Engine, EngineError, Principal};
use domain::Code;
use domain::Message;
use domain::Timestamp;
use domain::event::{Actor, EventData};
use domain::ids::*;
use futures::future::BoxFuture;
use serde_json::json;
use store::Tx;
use store::webhooks::{self, Delivery, Webhook};

/// Subscriptions a workspace may have.
pub const MAX_WEBHOOKS: i64 = 50;
/// Deliveries in a row that failed for good before a subscription is switched off.
pub const DISABLE_AFTER: i64 = 5;
/// The waits before the second, third … attempt, in seconds.
pub const RETRY_AFTER_S: [i64; 6] = [10, 60, 300, 1_800, 7_200, 21_600];

/// A subscription as admins see it (never its secret).
#[derive(Clone, Debug)]
pub struct Subscription {
    pub id: WebhookId,
    pub url: String,
    pub events: Vec<String>,
    pub active: bool,
    pub failures: i64,
    pub disabled_reason: Option<String>,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

/// A new subscription, or the changes to one (`None` keeps).
#[derive(Clone, Debug, Default)]
pub struct SubscriptionInput {
    pub url: Option<String>,
    pub events: Option<Vec<String>>,
    /// Switching it on again clears the failures and the reason.
    pub active: Option<bool>,
    pub rotate_secret: bool,
}

fn view(w: Webhook) -> Subscription {
    Subscription {
        id: w.id,
        url: w.url,
        events: w.events,
        active: w.active,
        failures: w.failures,
        disabled_reason: w.disabled_reason,
        created_at: w.created_at,
        updated_at: w.updated_at,
    }
}

fn events_checked(events: Vec<String>) -> Result<Vec<String>, EngineError> {
    if events.is_empty() || events.len() > 50 {
        return Err(EngineError::invalid("events", Code::WebhookEvents));
    }
    let mut out = Vec::new();
    for e in events {
        if e != "*" && !EventData::KINDS.contains(&e.as_str()) {
            return Err(EngineError::invalid(
                "events",
                Message::new(Code::EventKind).with("kind", format!("{e:?}")),
            ));
        }
        if !out.contains(&e) {
            out.push(e);
        }
    }
    out.sort();
    Ok(out)
}

impl Engine {
    /// Creates a subscription; returns it with its signing secret, shown once.
    pub async fn create_webhook(
        &self,
        p: &Principal,
        input: SubscriptionInput,
    ) -> Result<(Subscription, String), EngineError> {
        p.require_admin()?;
        let url = crate::webhook::checked_url("url", input.url.as_deref().unwrap_or_default())?;
        let events = events_checked(input.events.unwrap_or_default())?;
        let secret = crate::auth::new_secret("whsec_");
        let sealed = self.secret.seal(secret.as_bytes());
        let (ws, actor) = (p.workspace_id, p.actor());
        let active = input.active.unwrap_or(true);
        let w = self
            .store
            .write(move |tx| {
                Box::pin(async move {
                    if webhooks::count(&mut tx.conn(), ws).await? >= MAX_WEBHOOKS {
                        return Err(EngineError::Rule(
                            Message::new(Code::WebhooksLimit).with("max_webhooks", MAX_WEBHOOKS),
                        ));
                    }
                    let now = tx.now();
                    let w = Webhook {
                        id: WebhookId::new(),
                        workspace_id: ws,
                        url,
                        events,
                        secret: sealed,
                        active,
                        failures: 0,
                        disabled_reason: None,
                        created_at: now,
                        updated_at: now,
                    };
                    webhooks::insert(tx, &w).await?;
                    tx.emit(ws, actor, EventData::WebhookSaved { webhook_id: w.id })
                        .await?;
                    Ok(w)
                })
            })
            .await?;
        Ok((view(w), secret))
    }

    pub async fn webhooks(&self, p: &Principal) -> Result<Vec<Subscription>, EngineError> {
        p.require_admin()?;
        let mut c = self.store.read().await?;
        Ok(webhooks::list(&mut c.conn(), p.workspace_id, false)
            .await?
            .into_iter()
            .map(view)
            .collect())
    }

    pub async fn webhook(&self, p: &Principal, id: WebhookId) -> Result<Subscription, EngineError> {
        p.require_admin()?;
        let mut c = self.store.read().await?;
        webhooks::get(&mut c.conn(), p.workspace_id, id)
            .await?
            .map(view)
            .ok_or(EngineError::NotFound)
    }

    /// Changes a subscription; with `rotate_secret`, also returns the new secret.
    pub async fn update_webhook(
        &self,
        p: &Principal,
        id: WebhookId,
        input: SubscriptionInput,
    ) -> Result<(Subscription, Option<String>), EngineError> {
        p.require_admin()?;
        let url = input
            .url
            .as_deref()
            .map(|u| crate::webhook::checked_url("url", u))
            .transpose()?;
        let events = input.events.map(events_checked).transpose()?;
        let secret = input
            .rotate_secret
            .then(|| crate::auth::new_secret("whsec_"));
        let sealed = secret.as_ref().map(|s| self.secret.seal(s.as_bytes()));
        let (ws, actor) = (p.workspace_id, p.actor());
        let w = self
            .store
            .write(move |tx| {
                Box::pin(async move {
                    let mut w = webhooks::get(&mut tx.conn(), ws, id)
                        .await?
                        .ok_or(EngineError::NotFound)?;
                    if let Some(u) = url {
                        w.url = u;
                    }
                    if let Some(e) = events {
                        w.events = e;
                    }
                    if let Some(s) = sealed {
                        w.secret = s;
                    }
                    if let Some(a) = input.active {
                        if a && !w.active {
                            w.failures = 0;
                            w.disabled_reason = None;
                        }
                        w.active = a;
                    }
                    w.updated_at = tx.now();
                    webhooks::update(tx, &w).await?;
                    tx.emit(ws, actor, EventData::WebhookSaved { webhook_id: w.id })
                        .await?;
                    Ok::<_, EngineError>(w)
                })
            })
            .await?;
        Ok((view(w), secret))
    }

    pub async fn delete_webhook(&self, p: &Principal, id: WebhookId) -> Result<(), EngineError> {
        p.require_admin()?;
        let (ws, actor) = (p.workspace_id, p.actor());
        self.store
            .write(move |tx| {
                Box::pin(async move {
                    if !webhooks::delete(tx, ws, id).await? {
                        return Err(EngineError::NotFound);
                    }
                    tx.emit(ws, actor, EventData::WebhookDeleted { webhook_id: id })
                        .await?;
                    Ok(())
                })
            })
            .await
    }

    /// A subscription's delivery log, newest first.
    pub async fn webhook_deliveries(
        &self,
        p: &Principal,
        id: WebhookId,
        before: Option<DeliveryId>,
        limit: i64,
    ) -> Result<Vec<Delivery>, EngineError> {
        self.webhook(p, id).await?;
        let mut c = self.store.read().await?;
        Ok(webhooks::deliveries(
            &mut c.conn(),
            p.workspace_id,
            id,
            before,
            limit.clamp(1, 100),
        )
        .await?)
    }

    /// One attempt at a delivery: the event POSTed, the answer logged, the
    /// next attempt queued or the delivery given up.
    pub(crate) async fn deliver_webhook(
        &self,
        ws: WorkspaceId,
        id: DeliveryId,
    ) -> Result<Outcome, EngineError> {
        let (d, w, event) = {
            let mut c = self.store.read().await?;
            let Some(d) = webhooks::delivery(&mut c.conn(), ws, id).await? else {
                return Ok(Outcome::Done);
            };
            let w = webhooks::get(&mut c.conn(), ws, d.webhook_id).await?;
            let event = store::events::by_id(&mut c.conn(), ws, d.event_id).await?;
            (d, w, event)
        };
        let (Some(w), Some(event)) = (w, event) else {
            return Ok(Outcome::Done);
        };
        if d.state != "pending" {
            return Ok(Outcome::Done);
        }
        if !w.active {
            return self
                .settle(
                    d,
                    None,
                    None,
                    Some("the webhook is switched off".into()),
                    true,
                )
                .await;
        }
        // A key that does not open it: this node's secret_key is not the
        // installation's. Retrying here cannot help; the log says why.
        let Some(secret) = self
            .secret
            .open(&w.secret)
            .ok()
            .and_then(|s| String::from_utf8(s).ok())
        else {
            let why = "the signing secret cannot be opened: is secret_key the same on every node?";
            return self.settle(d, None, None, Some(why.into()), true).await;
        };
        let (kind, data) = event.data.to_stored()?;
        let body = json!({
            "id": d.id.to_string(),
            "type": kind,
            "workspace_id": ws.to_string(),
            "created_at": event.created_at.to_rfc3339(),
            "ticket_id": event.ticket_id.map(|t| t.to_string()),
            "customer_id": event.customer_id.map(|c| c.to_string()),
            "data": data,
        })
        .to_string();
        let ts = self.now().millis() / 1000;
        let posted = post_signed(
            &w.url,
            &secret,
            ts,
            body,
            &[
                ("x-otklik-delivery", d.id.to_string()),
                ("x-otklik-event", kind.to_owned()),
            ],
            true,
        )
        .await?;
        match posted {
            Posted::Done(status, answer) => {
                self.settle(d, Some(status), Some(answer), None, false)
                    .await
            }
            Posted::Refused(status, answer) => {
                let why = format!("the receiver refused it ({status})");
                self.settle(d, Some(status), Some(answer), Some(why), true)
                    .await
            }
            Posted::Retry(status, why) => self.settle(d, status, None, Some(why), false).await,
        }
    }

    /// Records an attempt. Delivered (`error` none): the subscription's
    /// failures start over. Failed: again later while attempts remain, unless
    /// `final_`; for good, counting toward switching the subscription off.
    async fn settle(
        &self,
        mut d: Delivery,
        status: Option<u16>,
        answer: Option<String>,
        error: Option<String>,
        final_: bool,
    ) -> Result<Outcome, EngineError> {
        let ws = d.workspace_id;
        d.attempts += 1;
        d.response_status = status.map(i64::from);
        d.response_body = answer.filter(|a| !a.is_empty());
        let delivered = error.is_none();
        let retry_in = (!delivered && !final_)
            .then(|| RETRY_AFTER_S.get((d.attempts - 1) as usize).copied())
            .flatten();
        d.state = match (delivered, retry_in) {
            (true, _) => "delivered",
            (false, Some(_)) => "pending",
            (false, None) => "failed",
        }
        .into();
        d.error = error;
        self.store
            .write(move |tx| {
                Box::pin(async move {
                    d.updated_at = tx.now();
                    webhooks::update_delivery(tx, &d).await?;
                    if let Some(s) = retry_in {
                        let at = tx.now().plus_millis(s * 1000);
                        Job::WebhookDelivery {
                            workspace_id: ws,
                            delivery_id: d.id,
                        }
                        .enqueue(tx, at)
                        .await?;
                        return Ok::<_, EngineError>(());
                    }
                    let Some(mut w) = webhooks::get(&mut tx.conn(), ws, d.webhook_id).await? else {
                        return Ok(());
                    };
                    if delivered {
                        if w.failures != 0 {
                            w.failures = 0;
                            webhooks::update(tx, &w).await?;
                        }
                        return Ok(());
                    }
                    w.failures += 1;
                    if w.active && w.failures >= DISABLE_AFTER {
                        let reason = format!(
                            "{} deliveries in a row failed; the last: {}",
                            w.failures,
                            d.error.clone().unwrap_or_default()
                        );
                        w.active = false;
                        w.disabled_reason = Some(reason.clone());
                        tx.emit(
                            ws,
                            Actor::System,
                            EventData::WebhookDisabled {
                                webhook_id: w.id,
                                reason,
                            },
                        )
                        .await?;
                    }
                    w.updated_at = tx.now();
                    webhooks::update(tx, &w).await?;
                    Ok(())
                })
            })
            .await?;
        Ok(Outcome::Done)
    }
}

/// The consumer that turns events into deliveries.
pub(crate) struct Subscriptions;

impl Consumer for Subscriptions {
    fn name(&self) -> &'static str {
        "webhooks"
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
            let kind = event.data.kind();
            // A subscription's own changes are not sent to it.
            if kind.starts_with("webhook.") && kind != "webhook.disabled" {
                return Ok(());
            }
            let ws = event.workspace_id;
            let subs = webhooks::list(&mut tx.conn(), ws, true).await?;
            for w in subs
                .into_iter()
                .filter(|w| w.events.iter().any(|e| e == "*" || e == kind))
            {
                let now = tx.now();
                let d = Delivery {
                    id: DeliveryId::new(),
                    workspace_id: ws,
                    webhook_id: w.id,
                    event_id: event.id,
                    kind: kind.to_owned(),
                    state: "pending".into(),
                    attempts: 0,
                    response_status: None,
                    response_body: None,
                    error: None,
                    created_at: now,
                    updated_at: now,
                };
                if webhooks::insert_delivery(tx, &d).await? {
                    Job::WebhookDelivery {
                        workspace_id: ws,
                        delivery_id: d.id,
                    }
                    .enqueue(tx, now)
                    .await?;
                }
            }
            Ok(())
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn subscriptions_name_known_kinds_or_all() {
        assert_eq!(
            events_checked(vec![
                "ticket.created".into(),
                "*".into(),
                "ticket.created".into()
            ])
            .unwrap(),
            ["*", "ticket.created"]
        );
        assert!(events_checked(vec![]).is_err());
        assert!(events_checked(vec!["ticket.exploded".into()]).is_err());
        let url = |v| crate::webhook::checked_url("url", v);
        assert!(url("https://hooks.shop.example/otklik").is_ok());
        for bad in ["ftp://x", "https://user:pw@x", "not a url", ""] {
            assert!(url(bad).is_err(), "{bad}");
        }
    }
}

//! Trends: the `trends` consumer files each new ticket under its topic keys
//! — its subject's terms, and the tags and category it is given — and,
//! for a hit no older than a window, tests the key's last six hours against
//! the same hours of the fourteen days before (`domain::trend::judge`). A spike, at most once
//! a day per key, is stored with the newest tickets as examples and written
//! as `trend.detected`; supervisors hear it live and see it on the reports
//! screen.
//!
//! The consumer starts at the beginning of the log, so baselines cover the
//! history; only hits near the present are tested, so catching up never
//! raises old alerts; and nothing is tested before the workspace has two
//! weeks of tickets behind the window.

use crate::consumers::{Consumer, Start};
use crate::model::EventRecord;
use crate::{Engine, EngineError, Principal};
use domain::Code;
use domain::event::{Actor, EventData};
use domain::ids::{TicketId, TrendId, WorkspaceId};
use domain::trend::{self, BASELINE_DAYS, QUIET_MS, WINDOW_MS};
use futures::future::BoxFuture;
use serde_json::Value;
use store::Tx;

/// Example tickets kept with an alert.
const EXAMPLES: i64 = 5;

pub struct Trends;

/// The keys an event makes a ticket about.
fn keys(e: &EventData) -> Vec<String> {
    match e {
        EventData::TicketCreated { subject, .. } => trend::terms(subject)
            .into_iter()
            .map(|t| format!("term:{t}"))
            .collect(),
        EventData::TicketUpdated { changes, .. } => {
            let mut out = Vec::new();
            for c in changes {
                match c.field.as_ref() {
                    "tags" => {
                        let list = |v: &Value| -> Vec<String> {
                            v.as_array()
                                .map(|a| {
                                    a.iter()
                                        .filter_map(|x| x.as_str().map(str::to_owned))
                                        .collect()
                                })
                                .unwrap_or_default()
                        };
                        let before = list(&c.from);
                        out.extend(
                            list(&c.to)
                                .into_iter()
                                .filter(|t| !before.contains(t))
                                .map(|t| format!("tag:{t}")),
                        );
                    }
                    "category" => {
                        if let Some(cat) = c.to.as_str().filter(|s| !s.is_empty()) {
                            out.push(format!("category:{cat}"));
                        }
                    }
                    _ => {}
                }
            }
            out
        }
        _ => Vec::new(),
    }
}

impl Consumer for Trends {
    fn name(&self) -> &'static str {
        "trends"
    }
    fn start(&self) -> Start {
        Start::Beginning
    }
    fn handle<'t>(
        &'t self,
        tx: &'t mut Tx,
        e: &'t EventRecord,
    ) -> BoxFuture<'t, Result<(), EngineError>> {
        Box::pin(async move {
            let Some(ticket) = e.data.ticket_id() else {
                return Ok(());
            };
            let at = e.created_at.millis();
            let recent = at >= tx.now().millis() - WINDOW_MS;
            for key in keys(&e.data) {
                let new = store::trends::hit(tx, e.workspace_id, &key, at, ticket).await?;
                if new && recent {
                    detect(tx, e.workspace_id, &key, at).await?;
                }
            }
            Ok(())
        })
    }
}

/// Tests `key` over the window ending at `at`; raises a spike.
async fn detect(tx: &mut Tx, ws: WorkspaceId, key: &str, at: i64) -> Result<(), EngineError> {
    let window = (at - WINDOW_MS + 1, at + 1);
    let observed = store::trends::count(&mut tx.conn(), ws, key, window.0, window.1).await?;
    if observed < trend::MIN_COUNT {
        return Ok(());
    }
    // A workspace's first two weeks set the baselines: before a full one
    // exists, every common word would look new.
    let first = store::tickets::first_created(&mut tx.conn(), ws).await?;
    if first.is_none_or(|t| t.millis() > window.0 - BASELINE_DAYS * 86_400_000) {
        return Ok(());
    }
    let mut baseline = 0;
    for d in 1..=BASELINE_DAYS {
        let back = d * 86_400_000;
        baseline +=
            store::trends::count(&mut tx.conn(), ws, key, window.0 - back, window.1 - back).await?;
    }
    let v = trend::judge(observed, baseline);
    if !v.spike || store::trends::alerted_since(&mut tx.conn(), ws, key, at - QUIET_MS).await? {
        return Ok(());
    }
    let ticket_ids: Vec<TicketId> =
        store::trends::examples(&mut tx.conn(), ws, key, window, EXAMPLES).await?;
    let alert = store::trends::Alert {
        id: TrendId::new(),
        workspace_id: ws,
        key: key.to_owned(),
        observed,
        expected: v.expected,
        p_value: v.p_value,
        window_from: domain::Timestamp::from_millis(window.0),
        window_to: domain::Timestamp::from_millis(at),
        ticket_ids: ticket_ids.clone(),
        created_at: tx.now(),
    };
    store::trends::insert_alert(tx, &alert).await?;
    metrics::counter!("otklik_trend_alerts_total").increment(1);
    tx.emit(
        ws,
        Actor::System,
        EventData::TrendDetected {
            trend_id: alert.id,
            key: alert.key,
            observed,
            expected: v.expected,
            p_value: v.p_value,
            ticket_ids,
        },
    )
    .await?;
    Ok(())
}

/// A spike as the reports screen shows it.
#[derive(Clone, Debug, PartialEq)]
pub struct TrendAlert {
    pub alert: store::trends::Alert,
    /// The example tickets' numbers and subjects.
    pub examples: Vec<(i64, String)>,
}

/// Most alerts listed.
const LISTED: i64 = 50;

impl Engine {
    /// Spikes raised in the last `days` days, newest first, with their
    /// examples. Supervisors and up.
    pub async fn trend_alerts(
        &self,
        p: &Principal,
        days: i64,
    ) -> Result<Vec<TrendAlert>, EngineError> {
        if !p.role.can_supervise() {
            return Err(EngineError::Forbidden(Code::ReportReaders.into()));
        }
        let since = self.store.now().millis() - days.clamp(1, 366) * 86_400_000;
        let mut c = self.store.read().await?;
        let alerts = store::trends::alerts(&mut c.conn(), p.workspace_id, since, LISTED).await?;
        let mut out = Vec::with_capacity(alerts.len());
        for a in alerts {
            let mut examples = Vec::new();
            for id in &a.ticket_ids {
                if let Some(t) = store::tickets::get(&mut c.conn(), p.workspace_id, *id).await? {
                    examples.push((t.number, t.subject));
                }
            }
            out.push(TrendAlert { alert: a, examples });
        }
        Ok(out)
    }
}

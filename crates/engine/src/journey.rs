//! The customer journey: every contact a customer has is a touchpoint with a
//! stage and, where something tells it, an emotion (`domain::journey`).
//!
//! Two ways in. The `journey` consumer reads the event log from the
//! beginning and turns conversations, calls, the bot, orders and shipments,
//! surveys, outreach, re-opens and missed targets into touchpoints
//! (`domain::journey::effects`); a later event (the message triaged, the
//! bot's answer rated, a survey answered again) sets the emotion of the
//! touchpoint it concerns. A shop pushes what only it sees (page views,
//! cart, checkout, reviews) with `push_touchpoints`, written straight into
//! the table rather than the log — a busy shop's page views would swamp the
//! log and every timeline — and only while the workspace tracks (off until
//! an admin turns it on).
//!
//! Invariants: a touchpoint's `source` is unique in its workspace, so a
//! consumer reading an event twice, or a shop retrying a push, adds nothing;
//! a touchpoint's stage is decided by the rules in force when it is written.

use crate::consumers::{Consumer, Start};
use crate::customers::resolve;
use crate::jobs::Job;
use crate::model::EventRecord;
use crate::tickets::CustomerRef;
use crate::{Engine, EngineError, Principal};
use domain::Code;
use domain::Timestamp;
use domain::ids::{CustomerId, TouchpointId, WorkspaceId};
use domain::journey::{self, Effect, Kind, Settings, Touch};
use domain::journey_map::{self, Point, SegmentBy, Summary};
use domain::message::{self, Message};
use futures::future::BoxFuture;
use std::collections::{BTreeMap, HashMap};
use store::Tx;
use store::journey as db;
pub use store::journey::TouchpointRow;
use store::settings::{self, Table};

/// Most touchpoints one push carries.
pub const MAX_PUSH: usize = 500;
/// Longest id a shop gives a touchpoint, and longest name.
pub const MAX_ID_CHARS: usize = 100;
pub const MAX_NAME_CHARS: usize = 200;
/// How far ahead of the server's clock a pushed moment may be (clocks
/// differ), and how far back it may go.
const MAX_AHEAD_MS: i64 = 5 * 60_000;
const MAX_BACK_MS: i64 = 2 * 366 * 86_400_000;
/// Tries of a push whose new customer another request made at the same time.
const ATTEMPTS: usize = 3;

/// A touchpoint a shop pushes.
#[derive(Clone, Debug)]
pub struct Pushed {
    /// The shop's id of it: a push of the same id again is the same touchpoint.
    pub id: String,
    /// `None`: the shop named no one (refused).
    pub customer: Option<CustomerRef>,
    pub kind: Kind,
    /// When it happened (default: now).
    pub at: Option<Timestamp>,
    pub name: Option<String>,
    pub url: Option<String>,
    pub attributes: BTreeMap<String, String>,
    /// A review's stars, 1–5: the touchpoint's emotion.
    pub rating: Option<i64>,
}

/// What a push did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct PushOutcome {
    /// Touchpoints written.
    pub recorded: usize,
    /// Touchpoints whose id was already there (a retried push).
    pub repeated: usize,
}

/// Checks one pushed touchpoint whole; `i` is its place in the push, for
/// the field names of a refusal.
fn checked(i: usize, mut p: Pushed, now: i64) -> Result<Pushed, EngineError> {
    let field = |name: &str| format!("touchpoints[{i}].{name}");
    p.id = domain::text::clean_line(&p.id);
    if p.id.is_empty() || p.id.chars().count() > MAX_ID_CHARS {
        return Err(EngineError::invalid(
            field("id"),
            message::chars(1, MAX_ID_CHARS),
        ));
    }
    if !p.kind.pushed() {
        return Err(EngineError::invalid(
            field("kind"),
            Message::new(Code::OneOf)
                .with("value", p.kind.as_str())
                .with(
                    "values",
                    Kind::PUSHED
                        .iter()
                        .map(|k| k.as_str())
                        .collect::<Vec<_>>()
                        .join(", "),
                ),
        ));
    }
    // What no schema can say is a conflict with the request, not its shape.
    if let Some(at) = p.at
        && (at.millis() > now + MAX_AHEAD_MS || at.millis() < now - MAX_BACK_MS)
    {
        return Err(EngineError::Rule(
            Message::new(Code::JourneyMoment).with("field", field("at")),
        ));
    }
    let no_controls = |name: &str, v: &str| {
        if v.chars().any(char::is_control) {
            Err(EngineError::invalid(field(name), Code::NoControls))
        } else {
            Ok(())
        }
    };
    if let Some(n) = &p.name {
        no_controls("name", n)?;
    }
    p.name = p
        .name
        .map(|n| domain::text::clean_line(&n))
        .filter(|n| !n.is_empty());
    if p.name
        .as_ref()
        .is_some_and(|n| n.chars().count() > MAX_NAME_CHARS)
    {
        return Err(EngineError::invalid(
            field("name"),
            Message::new(Code::MaxChars).with("max", MAX_NAME_CHARS),
        ));
    }
    if let Some(u) = &p.url
        && u.trim() != u
    {
        return Err(EngineError::invalid(field("url"), Code::Url));
    }
    p.url = p
        .url
        .map(|u| domain::order::parse_url(&field("url"), &u))
        .transpose()?;
    if p.attributes.len() > journey::MAX_ATTRIBUTES {
        return Err(EngineError::invalid(
            field("attributes"),
            Message::new(Code::AtMost).with("max", journey::MAX_ATTRIBUTES),
        ));
    }
    let mut attributes = BTreeMap::new();
    for (k, v) in p.attributes {
        if domain::fields::validate_key(&k).is_err() {
            return Err(EngineError::invalid(
                field("attributes"),
                Code::FieldKeyShape,
            ));
        }
        no_controls("attributes", &v)?;
        let v = domain::text::clean_line(&v);
        if v.chars().count() > journey::MAX_ATTRIBUTE_CHARS {
            return Err(EngineError::invalid(
                field("attributes"),
                Message::new(Code::MaxChars).with("max", journey::MAX_ATTRIBUTE_CHARS),
            ));
        }
        attributes.insert(k, v);
    }
    p.attributes = attributes;
    if let Some(r) = p.rating {
        if !(1..=5).contains(&r) {
            return Err(EngineError::invalid(
                field("rating"),
                Message::new(Code::Range).with("min", 1).with("max", 5),
            ));
        }
        if p.kind != Kind::Review {
            return Err(EngineError::Rule(Code::JourneyRating.into()));
        }
    }
    match &p.customer {
        None => return Err(EngineError::Rule(Code::JourneyCustomerNeeded.into())),
        Some(CustomerRef::Input(c)) => {
            crate::customers::checked_details(c)?;
        }
        Some(CustomerRef::Id(_)) => {}
    }
    Ok(p)
}

impl Engine {
    pub async fn journey_settings(&self, p: &Principal) -> Result<Settings, EngineError> {
        let mut c = self.store.read().await?;
        Ok(settings::read(&mut c.conn(), Table::Journey, p.workspace_id).await?)
    }

    /// Turns tracking on or off and replaces the stage rules and link
    /// targets (admins). New rules apply to touchpoints written from now on
    /// at once, and to those already there by a background re-staging.
    pub async fn save_journey_settings(
        &self,
        p: &Principal,
        s: Settings,
    ) -> Result<Settings, EngineError> {
        p.require_admin()?;
        // Rules past the schema's bounds are its shape (422); an empty name
        // or a value without its attribute, which it cannot say, a conflict.
        if s.rules.len() > journey::MAX_RULES {
            journey::check_rules(&s.rules)?;
        }
        for r in &s.rules {
            for v in [&r.channel, &r.attribute, &r.value].into_iter().flatten() {
                if v.chars().count() > journey::MAX_ATTRIBUTE_CHARS {
                    journey::check_rules(&s.rules)?;
                }
                if v.chars().any(char::is_control) {
                    return Err(EngineError::invalid("rules", Code::NoControls));
                }
            }
        }
        journey::check_rules(&s.rules).map_err(|e| EngineError::Rule(e.message()))?;
        let mut s = s;
        s.link_targets = domain::links::check_targets(&s.link_targets)?;
        let ws = p.workspace_id;
        let saved = s.clone();
        self.store
            .write(move |tx| {
                Box::pin(async move {
                    let before: Settings =
                        settings::read(&mut tx.conn(), Table::Journey, ws).await?;
                    settings::write(tx, Table::Journey, ws, &s).await?;
                    // New rules: the touchpoints already there take their
                    // stages again, in the background.
                    if before.rules != s.rules {
                        Job::Restage {
                            workspace_id: ws,
                            after: None,
                        }
                        .enqueue(tx, tx.now())
                        .await?;
                    }
                    Ok::<_, EngineError>(())
                })
            })
            .await?;
        Ok(saved)
    }

    /// Writes what a shop pushed, in one transaction: each touchpoint's
    /// customer found by id or identity (or made), its stage by the rules.
    /// Refused whole while the workspace does not track.
    pub async fn push_touchpoints(
        &self,
        p: &Principal,
        items: Vec<Pushed>,
    ) -> Result<PushOutcome, EngineError> {
        p.require_ticket_work()?;
        if items.is_empty() || items.len() > MAX_PUSH {
            return Err(EngineError::invalid(
                "touchpoints",
                Message::new(Code::Range)
                    .with("min", 1)
                    .with("max", MAX_PUSH),
            ));
        }
        let now = self.store.now().millis();
        let items = items
            .into_iter()
            .enumerate()
            .map(|(i, t)| checked(i, t, now))
            .collect::<Result<Vec<_>, _>>()?;
        let ws = p.workspace_id;
        let actor = p.actor();
        let mut last = None;
        for _ in 0..ATTEMPTS {
            let items = items.clone();
            let r = self
                .store
                .write(move |tx| {
                    Box::pin(async move {
                        let s: Settings =
                            settings::read(&mut tx.conn(), Table::Journey, ws).await?;
                        if !s.tracking {
                            return Err(EngineError::Rule(Code::JourneyTrackingOff.into()));
                        }
                        let now = tx.now();
                        let mut out = PushOutcome::default();
                        let mut known: HashMap<String, CustomerId> = HashMap::new();
                        for t in items {
                            let customer = match &t.customer {
                                None => {
                                    return Err(EngineError::Rule(
                                        Code::JourneyCustomerNeeded.into(),
                                    ));
                                }
                                Some(CustomerRef::Id(id)) => {
                                    crate::customers::live_id(tx, ws, *id).await?
                                }
                                Some(CustomerRef::Input(c)) => {
                                    let key = format!("{:?}", c.identities);
                                    match known.get(&key) {
                                        Some(id) => *id,
                                        None => {
                                            let id = resolve(tx, ws, actor, c).await?.0;
                                            known.insert(key, id);
                                            id
                                        }
                                    }
                                }
                            };
                            let stage = s.stage_of(&Touch {
                                kind: t.kind,
                                channel: None,
                                attributes: &t.attributes,
                            });
                            let row = TouchpointRow {
                                id: TouchpointId::new(),
                                workspace_id: ws,
                                customer_id: customer,
                                at: t.at.unwrap_or(now),
                                kind: t.kind,
                                stage,
                                emotion: t.rating.map(journey::from_csat),
                                channel: None,
                                ticket_id: None,
                                reference: None,
                                name: t.name,
                                url: t.url,
                                attributes: t.attributes,
                                source: format!("push:{}", t.id),
                                created_at: now,
                            };
                            if insert_touchpoint(tx, row).await? {
                                out.recorded += 1;
                            } else {
                                out.repeated += 1;
                            }
                        }
                        Ok(out)
                    })
                })
                .await;
            match r {
                Err(e @ EngineError::Duplicate(_)) => last = Some(e),
                other => return other,
            }
        }
        Err(last.unwrap_or_else(|| EngineError::Internal("push retries".into())))
    }

    /// A customer's touchpoints, newest first (`before`: the last of the
    /// previous page).
    pub async fn customer_touchpoints(
        &self,
        p: &Principal,
        customer: CustomerId,
        before: Option<TouchpointId>,
        limit: i64,
    ) -> Result<Vec<TouchpointRow>, EngineError> {
        self.customer(p, customer).await?;
        let mut c = self.store.read().await?;
        let before = match before {
            Some(id) => Some(
                db::get(&mut c.conn(), p.workspace_id, id)
                    .await?
                    .map(|t| (t.at, t.id))
                    .ok_or(EngineError::NotFound)?,
            ),
            None => None,
        };
        Ok(db::of_customer(&mut c.conn(), p.workspace_id, customer, before, limit).await?)
    }
}

/// The map's view of a touchpoint.
fn point_of(t: &TouchpointRow) -> Point {
    Point {
        at: t.at.millis(),
        kind: t.kind,
        stage: t.stage,
        emotion: t.emotion,
        channel: t.channel.map(|c| c.as_str().to_owned()),
        name: t.name.clone(),
        category: t.attributes.get("category").cloned(),
        country: t.attributes.get("country").cloned(),
        status: t.attributes.get("status").cloned(),
    }
}

async fn read_summary(
    tx: &mut Tx,
    ws: WorkspaceId,
    customer: CustomerId,
) -> Result<Summary, EngineError> {
    Ok(match db::summary_for_update(tx, ws, customer).await? {
        // A summary that no longer reads (an older shape) starts again from
        // the touchpoints.
        Some(s) => match serde_json::from_str(&s) {
            Ok(s) => s,
            Err(_) => return summary_from_touchpoints(tx, ws, customer).await,
        },
        None => Summary::default(),
    })
}

async fn write_summary(
    tx: &mut Tx,
    ws: WorkspaceId,
    customer: CustomerId,
    s: &Summary,
) -> Result<(), EngineError> {
    let json = serde_json::to_string(s).map_err(|e| EngineError::Internal(e.to_string()))?;
    let segments = db::Segments {
        first_channel: s.segment(SegmentBy::FirstChannel).map(str::to_owned),
        category: s.segment(SegmentBy::Category).map(str::to_owned),
        country: s.segment(SegmentBy::Country).map(str::to_owned),
    };
    let now = tx.now();
    Ok(db::save_summary(tx, ws, customer, &json, &segments, now).await?)
}

/// The key of the customer's touchpoint before `t` that was no pain, when
/// `emotion` makes `t` pain.
async fn pain_before(
    tx: &mut Tx,
    t: &TouchpointRow,
    emotion: Option<i64>,
) -> Result<Option<String>, EngineError> {
    if emotion.is_none_or(|e| e > journey_map::PAIN_AT) {
        return Ok(None);
    }
    Ok(db::calm_before(
        &mut tx.conn(),
        t.workspace_id,
        t.customer_id,
        t.at,
        &t.source,
        journey_map::PAIN_AT,
    )
    .await?
    .map(|b| journey_map::key(&point_of(&b))))
}

/// Adds a touchpoint unless its source is there already, and folds it into
/// its customer's summary; whether it was added. Every touchpoint is
/// written through here.
pub(crate) async fn insert_touchpoint(tx: &mut Tx, t: TouchpointRow) -> Result<bool, EngineError> {
    if !db::insert(tx, &t).await? {
        return Ok(false);
    }
    let (ws, customer) = (t.workspace_id, t.customer_id);
    let mut s = read_summary(tx, ws, customer).await?;
    let before = pain_before(tx, &t, t.emotion).await?;
    s.add(&point_of(&t), before.as_deref());
    write_summary(tx, ws, customer, &s).await?;
    Ok(true)
}

/// Sets the emotion of the touchpoint `source` names, and its summary's.
async fn feel_touchpoint(
    tx: &mut Tx,
    ws: WorkspaceId,
    source: &str,
    emotion: i64,
) -> Result<(), EngineError> {
    let Some(t) = db::by_source(&mut tx.conn(), ws, source).await? else {
        return Ok(());
    };
    if t.emotion == Some(emotion) {
        return Ok(());
    }
    db::feel(tx, ws, source, emotion).await?;
    let mut s = read_summary(tx, ws, t.customer_id).await?;
    let before = pain_before(tx, &t, Some(emotion)).await?;
    let mut p = point_of(&t);
    p.emotion = Some(emotion);
    s.feel(&p, t.emotion, before.as_deref());
    write_summary(tx, ws, t.customer_id, &s).await
}

/// Touchpoints of one customer a rebuild reads at most (the earliest).
const MAX_REBUILD_TOUCHPOINTS: i64 = 20_000;

async fn summary_from_touchpoints(
    tx: &mut Tx,
    ws: WorkspaceId,
    customer: CustomerId,
) -> Result<Summary, EngineError> {
    let points: Vec<Point> = db::in_order(&mut tx.conn(), ws, customer, MAX_REBUILD_TOUCHPOINTS)
        .await?
        .iter()
        .map(point_of)
        .collect();
    Ok(Summary::of(&points))
}

/// Builds a customer's summary again from their touchpoints (after a merge
/// brought another profile's, or the stages changed).
pub(crate) async fn rebuild_summary(
    tx: &mut Tx,
    ws: WorkspaceId,
    customer: CustomerId,
) -> Result<(), EngineError> {
    let s = summary_from_touchpoints(tx, ws, customer).await?;
    if s.stages.is_empty() {
        return Ok(db::delete_summary(tx, ws, customer).await?);
    }
    write_summary(tx, ws, customer, &s).await
}

/// Keeps the touchpoints the system sees from the event log.
pub struct Journey;

impl Consumer for Journey {
    fn name(&self) -> &'static str {
        "journey"
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
            let mut rules: HashMap<WorkspaceId, Settings> = HashMap::new();
            for e in events {
                let ws = e.workspace_id;
                for effect in journey::effects(e.id, &e.data) {
                    match effect {
                        Effect::Feel { source, emotion } => {
                            feel_touchpoint(tx, ws, &source, emotion).await?;
                        }
                        Effect::Touch(t) => {
                            // Whose: the event says, or the ticket's customer.
                            let customer = match (t.customer, t.ticket) {
                                (Some(c), _) => Some(c),
                                (None, Some(ticket)) => {
                                    store::tickets::get(&mut tx.conn(), ws, ticket)
                                        .await?
                                        .map(|t| t.customer_id)
                                }
                                (None, None) => e.customer_id,
                            };
                            let Some(customer) = customer else {
                                continue;
                            };
                            // A profile merged since the event: the one it became.
                            let Some(customer) =
                                store::customers::get(&mut tx.conn(), ws, customer)
                                    .await?
                                    .map(|c| c.merged_into.unwrap_or(c.id))
                            else {
                                continue;
                            };
                            if let std::collections::hash_map::Entry::Vacant(slot) = rules.entry(ws)
                            {
                                slot.insert(
                                    settings::read(&mut tx.conn(), Table::Journey, ws).await?,
                                );
                            }
                            let stage = rules.get(&ws).map_or(t.kind.default_stage(), |s| {
                                s.stage_of(&Touch {
                                    kind: t.kind,
                                    channel: t.channel.map(|c| c.as_str()),
                                    attributes: &t.attributes,
                                })
                            });
                            let row = TouchpointRow {
                                id: TouchpointId::new(),
                                workspace_id: ws,
                                customer_id: customer,
                                at: e.created_at,
                                kind: t.kind,
                                stage,
                                emotion: t.emotion,
                                channel: t.channel,
                                ticket_id: t.ticket,
                                reference: t.reference,
                                name: None,
                                url: None,
                                attributes: t.attributes,
                                source: t.source,
                                created_at: tx.now(),
                            };
                            insert_touchpoint(tx, row).await?;
                        }
                    }
                }
            }
            Ok(())
        })
    }
}

/// Touchpoints one step of a re-staging reads.
const RESTAGE_BATCH: i64 = 1000;

impl Engine {
    /// One step of re-staging a workspace's touchpoints after its rules
    /// changed: a batch after `after` takes its stage by the rules now, the
    /// customers whose touchpoints moved get their summaries built again,
    /// and the next step is queued.
    pub async fn restage(
        &self,
        ws: WorkspaceId,
        after: Option<TouchpointId>,
    ) -> Result<(), EngineError> {
        self.store
            .write(move |tx| {
                Box::pin(async move {
                    let s: Settings = settings::read(&mut tx.conn(), Table::Journey, ws).await?;
                    let batch = db::page_by_id(&mut tx.conn(), ws, after, RESTAGE_BATCH).await?;
                    let mut moved = std::collections::BTreeSet::new();
                    for t in &batch {
                        let stage = s.stage_of(&Touch {
                            kind: t.kind,
                            channel: t.channel.map(|c| c.as_str()),
                            attributes: &t.attributes,
                        });
                        if stage != t.stage {
                            db::set_stage(tx, ws, t.id, stage).await?;
                            moved.insert(t.customer_id);
                        }
                    }
                    for c in moved {
                        rebuild_summary(tx, ws, c).await?;
                    }
                    if batch.len() as i64 == RESTAGE_BATCH {
                        Job::Restage {
                            workspace_id: ws,
                            after: batch.last().map(|t| t.id),
                        }
                        .enqueue(tx, tx.now())
                        .await?;
                    }
                    Ok::<(), EngineError>(())
                })
            })
            .await
    }

    /// Builds every customer's journey summary from their touchpoints when
    /// there are touchpoints but no summaries (the upgrade that brought
    /// them); returns how many were built. In pages, each its own write.
    pub async fn build_missing_journey_summaries(&self) -> Result<usize, EngineError> {
        {
            let mut c = self.store.read().await?;
            if !db::summaries_missing(&mut c.conn()).await? {
                return Ok(0);
            }
        }
        let mut after = None;
        let mut built = 0;
        loop {
            let page = {
                let mut c = self.store.read().await?;
                db::all_customers_with_touchpoints(&mut c.conn(), after, 200).await?
            };
            let Some(last) = page.last().copied() else {
                return Ok(built);
            };
            built += page.len();
            self.store
                .write(move |tx| {
                    Box::pin(async move {
                        for (ws, customer) in page {
                            rebuild_summary(tx, ws, customer).await?;
                        }
                        Ok::<(), EngineError>(())
                    })
                })
                .await?;
            after = Some(last);
        }
    }
}

/// The journey map of one segment (or of every customer), with the
/// segments there are to choose from.
#[derive(Clone, Debug)]
pub struct JourneyMap {
    pub segment_by: Option<SegmentBy>,
    pub segment: Option<String>,
    /// The segments' values with their customers, most first (at most
    /// [`MAX_SEGMENTS`]).
    pub segments: Vec<(String, i64)>,
    pub customers: i64,
    pub columns: Vec<journey_map::StageColumn>,
    pub pains: Vec<journey_map::PainPoint>,
}

/// Segments a map lists to choose from.
pub const MAX_SEGMENTS: usize = 50;

impl Engine {
    /// The journey map: every customer's summary of the segment added up.
    /// Supervisors, admins and owners.
    pub async fn journey_map(
        &self,
        p: &Principal,
        segment_by: Option<SegmentBy>,
        segment: Option<&str>,
    ) -> Result<JourneyMap, EngineError> {
        if !p.role.can_supervise() {
            return Err(EngineError::Forbidden(Code::ReportReaders.into()));
        }
        if segment.is_some() && segment_by.is_none() {
            return Err(EngineError::Rule(Code::JourneySegmentWithoutKind.into()));
        }
        let now = self.now().millis();
        let ws = p.workspace_id;
        let (by, value) = (segment_by, segment.map(str::to_owned));
        let rows = self
            .store
            .bulk_read(move |c| {
                Box::pin(async move {
                    let filter = match (by, value.as_deref()) {
                        (_, None) | (None, _) => db::Segment::All,
                        (Some(SegmentBy::FirstChannel), Some(v)) => db::Segment::FirstChannel(v),
                        (Some(SegmentBy::Category), Some(v)) => db::Segment::Category(v),
                        (Some(SegmentBy::Country), Some(v)) => db::Segment::Country(v),
                        (Some(SegmentBy::Tag), Some(v)) => db::Segment::Tag(v),
                    };
                    db::summaries(c, ws, filter).await
                })
            })
            .await?;
        let segments = {
            let mut c = self.store.read().await?;
            let column = match segment_by {
                None => None,
                Some(SegmentBy::FirstChannel) => Some(db::SegmentColumn::FirstChannel),
                Some(SegmentBy::Category) => Some(db::SegmentColumn::Category),
                Some(SegmentBy::Country) => Some(db::SegmentColumn::Country),
                Some(SegmentBy::Tag) => None,
            };
            match (segment_by, column) {
                (Some(SegmentBy::Tag), _) => {
                    let mut counts: HashMap<String, i64> = HashMap::new();
                    for tags in db::summary_tags(&mut c.conn(), ws).await? {
                        let tags: Vec<String> = serde_json::from_str(&tags).unwrap_or_default();
                        for t in tags {
                            *counts.entry(t).or_default() += 1;
                        }
                    }
                    let mut v: Vec<(String, i64)> = counts.into_iter().collect();
                    v.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
                    v.truncate(MAX_SEGMENTS);
                    v
                }
                (_, Some(col)) => db::segments(&mut c.conn(), ws, col, MAX_SEGMENTS as i64).await?,
                _ => Vec::new(),
            }
        };
        let tag = match (segment_by, segment) {
            (Some(SegmentBy::Tag), Some(t)) => Some(t.to_owned()),
            _ => None,
        };

        // Parsing a hundred thousand summaries is CPU work: off the runtime,
        // on two threads.
        let (customers, columns, pains) = tokio::task::spawn_blocking(move || {
            let add = |part: &[(String, String)]| {
                let mut map = journey_map::Map::default();
                for (json, tags) in part {
                    if let Some(t) = &tag
                        && !serde_json::from_str::<Vec<String>>(tags)
                            .unwrap_or_default()
                            .contains(t)
                    {
                        continue;
                    }
                    // Keys borrowed from the row's text: no string per key.
                    if let Ok(s) = serde_json::from_str::<Summary<journey_map::Key<'_>>>(json) {
                        map.add(&s, now);
                    }
                }
                map
            };
            let (a, b) = rows.split_at(rows.len() / 2);
            let mut map = std::thread::scope(|scope| {
                let other = scope.spawn(|| add(b));
                let mut map = add(a);
                match other.join() {
                    Ok(m) => map.merge(m),
                    Err(_) => return Err(()),
                }
                Ok(map)
            })
            .map_err(|_| EngineError::Internal("journey map: a thread failed".into()))?;
            let customers = map.customers;
            let (columns, pains) = std::mem::take(&mut map).finish();
            Ok::<_, EngineError>((customers, columns, pains))
        })
        .await
        .map_err(|e| EngineError::Internal(format!("journey map: {e}")))??;
        let wanted = segment.map(str::to_owned);
        Ok(JourneyMap {
            segment_by,
            segment: wanted,
            segments,
            customers,
            columns,
            pains,
        })
    }
}

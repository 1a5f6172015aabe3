//! The customer page: the profile with its contacts (how far each is
//! trusted, which are shared), the profiles that may be the same person,
//! merging another profile in, the tickets, and the timeline of every message,
//! call, ticket and channel in order.

use super::i18n::Tr;
use super::{Chrome, Ctx, Form, OrPage, UiError, done, html};
use crate::AppState;
use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::{get, post};
use axum::{Router, http::Uri};
use domain::event::{Actor, EventData};
use domain::fields::FieldTarget;
use domain::identity::{Identity, IdentityKind};
use domain::ids::*;
use domain::ticket::{AuthorKind, Visibility};
use engine::customers::{CustomerPatch, Story};
use engine::model::{Customer, EventRecord, Filter};
use serde::Deserialize;

/// Timeline entries per page.
const PAGE: i64 = 50;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/app/customers/{id}", get(page))
        .route("/app/customers/{id}/merge", post(merge))
        .route(
            "/app/customers/{id}/suggestions/{suggestion}/dismiss",
            post(dismiss),
        )
        .route(
            "/app/customers/{id}/identities/{identity}/shared",
            post(shared),
        )
        .route("/app/customers/{id}/outreach", post(opt_out))
        .route("/app/customers/{id}/edit", post(edit))
        .route("/app/customers/{id}/erase", post(erase))
}

pub struct IdentityView {
    pub id: String,
    pub kind: String,
    pub value: String,
    pub verified: bool,
    pub shared: bool,
    /// Numbers can be shared by several people; addresses and handles not.
    pub can_share: bool,
}

pub struct SuggestionView {
    pub id: String,
    pub other: String,
    pub name: String,
    pub reason: String,
    pub identity: String,
}

/// A profile offered for merging: name, contacts, and how it is told apart.
pub struct Candidate {
    pub id: String,
    pub name: String,
    pub contacts: String,
}

/// The question asked before a merge.
pub struct Confirm {
    pub who: Candidate,
    pub question: String,
    pub explain: String,
}

pub struct StoryRow {
    pub time: String,
    pub iso: String,
    /// A class for the entry's marker: `in`, `out`, `note`, `ticket`, `order`,
    /// `profile`.
    pub mark: &'static str,
    pub what: String,
    pub detail: Option<String>,
    pub ticket: Option<(i64, String)>,
    /// Another profile the entry names, with its name.
    pub other: Option<(String, String)>,
    /// Who did it (an agent, a rule, the bot…); empty for the customer.
    pub who: String,
}

/// Touchpoints the emotion line spans, and how many of them are listed.
const JOURNEY_POINTS: i64 = 50;
const JOURNEY_LISTED: usize = 20;

#[derive(Template)]
#[template(path = "customer.html")]
pub struct CustomerPage {
    pub chrome: Chrome,
    pub id: String,
    pub name: String,
    /// When their personal data was erased.
    pub erased: Option<String>,
    pub language: String,
    pub tags: Vec<String>,
    pub notes: String,
    /// The organisation they belong to: id and name.
    pub org: Option<(String, String)>,
    /// The edit form: the language code, tags as typed, the organisation's
    /// name, and the names the picker offers.
    pub language_code: String,
    pub tags_text: String,
    pub org_name: String,
    pub org_names: Vec<String>,
    pub fields: Vec<super::field_form::FieldView>,
    /// Customer fields with a value: label and value, for reading.
    pub field_values: Vec<(String, String)>,
    pub merged_into: Option<String>,
    /// Asked not to be written to first.
    pub opted_out: bool,
    /// Since when they are at risk (two bad experiences in a row).
    pub at_risk: Option<String>,
    pub identities: Vec<IdentityView>,
    pub suggestions: Vec<SuggestionView>,
    pub merge_q: String,
    /// `Some` once a search ran (empty: nothing matched).
    pub candidates: Option<Vec<Candidate>>,
    /// The profile to merge in, asked for confirmation.
    pub confirm: Option<Confirm>,
    /// Number, subject, status label, status, opened (as text, and ISO for
    /// the script to show in the workspace's zone like every other time).
    pub tickets: Vec<(i64, String, String, &'static str, String, String)>,
    pub orders: Vec<super::orders_view::OrderView>,
    /// The journey: the emotion line (SVG) over the latest touchpoints, and
    /// those touchpoints, newest first: time (text, ISO), what, stage, emotion.
    pub journey_svg: Option<String>,
    pub journey: Vec<(String, String, String, String, String)>,
    pub timeline: Vec<StoryRow>,
    /// The `before` of the next, older page.
    pub older: Option<i64>,
}

#[derive(Deserialize, Default)]
pub struct PageQuery {
    /// Search for a profile to merge in.
    merge_q: Option<String>,
    /// A profile to merge in, to confirm.
    merge: Option<String>,
    /// Timeline entries before this event id.
    before: Option<String>,
}

fn customer_id(raw: &str, tr: Tr) -> Result<CustomerId, UiError> {
    raw.parse()
        .map_err(|_| UiError::Status(StatusCode::NOT_FOUND, tr, "error.not_found"))
}

/// An identity kind in the reader's language (channels' names, where one is).
pub(crate) fn kind_label(tr: Tr, kind: &str) -> String {
    for key in [format!("identity.{kind}"), format!("channel.{kind}")] {
        if tr.has(&key) {
            return tr.t(&key).to_owned();
        }
    }
    kind.to_owned()
}

fn contacts(tr: Tr, c: &Customer) -> String {
    c.identities
        .iter()
        .map(|i| format!("{} {}", kind_label(tr, i.kind.as_str()), i.value))
        .collect::<Vec<_>>()
        .join(", ")
}

fn candidate(tr: Tr, c: &Customer) -> Candidate {
    Candidate {
        id: c.id.to_string(),
        name: c.name.clone(),
        contacts: contacts(tr, c),
    }
}

/// `GET /app/customers/{id}`.
pub async fn page(
    State(app): State<AppState>,
    Path(id): Path<String>,
    uri: Uri,
    ctx: Ctx,
) -> Result<Response, UiError> {
    let tr = ctx.tr;
    // A malformed query is ignored rather than refused: every field is optional.
    let q: PageQuery = Query::try_from_uri(&uri).map(|q| q.0).unwrap_or_default();
    let id = customer_id(&id, tr)?;
    let c = app.engine.customer(&ctx.p, id).await.or_page(tr)?;
    let tickets = app
        .engine
        .tickets(
            &ctx.p,
            &Filter {
                customer: Some(c.id),
                ..Default::default()
            },
            None,
            Some(100),
        )
        .await
        .or_page(tr)?;
    let orders = app
        .engine
        .orders(&ctx.p, Some(c.id), None, None, Some(20))
        .await
        .or_page(tr)?;
    let touchpoints = app
        .engine
        .customer_touchpoints(&ctx.p, c.id, None, JOURNEY_POINTS)
        .await
        .or_page(tr)?;
    let what = |t: &engine::journey::TouchpointRow| {
        let kind = tr.label("touchpoint", t.kind.as_str());
        match (&t.name, t.channel) {
            (Some(n), _) => format!("{kind} · {n}"),
            (None, Some(ch)) => format!("{kind} · {}", tr.label("channel", ch.as_str())),
            (None, None) => kind,
        }
    };
    let line: Vec<(String, Option<i64>)> = touchpoints
        .iter()
        .rev()
        .map(|t| (format!("{} · {}", tr.date(t.at), what(t)), t.emotion))
        .collect();
    let journey_svg = line.iter().any(|(_, e)| e.is_some()).then(|| {
        super::charts::emotion_line("journey-line", tr.t("customer.journey_chart"), &line)
    });
    let journey = touchpoints
        .iter()
        .take(JOURNEY_LISTED)
        .map(|t| {
            (
                tr.date(t.at),
                t.at.to_rfc3339(),
                what(t),
                tr.label("stage", t.stage.as_str()),
                t.emotion
                    .map(|e| format!("{e:+}"))
                    .unwrap_or_else(|| "—".into()),
            )
        })
        .collect();
    let before = q.before.as_deref().and_then(|b| b.parse::<i64>().ok());
    let story = app
        .engine
        .customer_story(&ctx.p, c.id, before, Some(PAGE))
        .await
        .or_page(tr)?;
    let suggestions = app
        .engine
        .merge_suggestions(&ctx.p, c.id)
        .await
        .or_page(tr)?;
    let merge_q = q
        .merge_q
        .as_deref()
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|s| s.chars().take(200).collect::<String>());
    let candidates = match &merge_q {
        Some(s) => Some(
            app.engine
                .customers(&ctx.p, None, Some(s), Some(20))
                .await
                .or_page(tr)?
                .iter()
                .filter(|o| o.id != c.id)
                .map(|o| candidate(tr, o))
                .collect(),
        ),
        None => None,
    };
    let confirm = match q
        .merge
        .as_deref()
        .and_then(|m| m.parse::<CustomerId>().ok())
    {
        Some(other) if other != c.id => match app.engine.customer(&ctx.p, other).await {
            Ok(o) if o.merged_into.is_none() => Some(Confirm {
                question: tr.t("customer.merge_confirm").replace("{name}", &o.name),
                explain: tr.t("customer.merge_explain").replace("{name}", &o.name),
                who: candidate(tr, &o),
            }),
            _ => None,
        },
        _ => None,
    };
    let org = match c.organization_id {
        Some(o) => app.engine.organization(&ctx.p, o).await.ok(),
        None => None,
    };
    let org_names: Vec<String> = app
        .engine
        .organizations(&ctx.p, None, None, Some(200))
        .await
        .or_page(tr)?
        .into_iter()
        .map(|(o, _)| o.name)
        .collect();
    let defs = app.engine.fields(&ctx.p).await.or_page(tr)?;
    let field_values = defs
        .iter()
        .filter(|d| d.applies_to == FieldTarget::Customer)
        .filter_map(|d| {
            let v = match c.custom_fields.get(&d.key)? {
                serde_json::Value::String(s) => s.clone(),
                serde_json::Value::Bool(true) => "✓".into(),
                serde_json::Value::Bool(false) => return None,
                other => other.to_string(),
            };
            Some((d.label.clone(), v))
        })
        .collect();
    let fields = super::field_form::views(defs, FieldTarget::Customer, &c.custom_fields);
    let dir = super::views::Directory::load(&app, &ctx).await?;
    let older = (story.events.len() as i64 == PAGE)
        .then(|| story.events.last().map(|e| e.id))
        .flatten();
    let name = if c.erased_at.is_some() {
        tr.t("customer.erased_name").to_owned()
    } else {
        c.name.clone()
    };
    let page = CustomerPage {
        chrome: ctx.chrome(name.clone()),
        id: c.id.to_string(),
        name,
        erased: c.erased_at.map(|t| tr.date(t)),
        language: c
            .language
            .as_deref()
            .map(super::ticket::language_label)
            .unwrap_or_default(),
        tags: c.tags.clone(),
        notes: c.notes.clone(),
        language_code: c.language.clone().unwrap_or_default(),
        tags_text: c.tags.join(", "),
        org_name: org.as_ref().map(|o| o.name.clone()).unwrap_or_default(),
        org: org.map(|o| (o.id.to_string(), o.name)),
        org_names,
        fields,
        field_values,
        merged_into: c.merged_into.map(|m| m.to_string()),
        opted_out: c.outreach_opt_out,
        at_risk: c.at_risk_since.map(|t| tr.date(t)),
        identities: c
            .identities
            .iter()
            .map(|i| IdentityView {
                id: i.id.to_string(),
                kind: kind_label(tr, i.kind.as_str()),
                value: i.value.clone(),
                verified: i.verified,
                shared: i.shared,
                can_share: i.kind.twin().is_some(),
            })
            .collect(),
        suggestions: suggestions
            .into_iter()
            .map(|s| SuggestionView {
                id: s.id.to_string(),
                other: s.other_id.to_string(),
                name: s.other_name,
                reason: tr.label("match", s.reason.as_str()),
                identity: format!("{} {}", kind_label(tr, s.kind.as_str()), s.value),
            })
            .collect(),
        merge_q: merge_q.unwrap_or_default(),
        candidates,
        confirm,
        tickets: tickets
            .iter()
            .map(|t| {
                (
                    t.number,
                    t.subject.clone(),
                    tr.label("status", t.status.as_str()),
                    t.status.as_str(),
                    tr.date(t.created_at),
                    t.created_at.to_rfc3339(),
                )
            })
            .collect(),
        orders: orders
            .iter()
            .map(|o| super::orders_view::view(tr, o, None))
            .collect(),
        journey_svg,
        journey,
        timeline: story
            .events
            .iter()
            .map(|e| StoryRow {
                who: who(tr, &dir, &e.actor),
                ..tell(tr, &story, e)
            })
            .collect(),
        older,
    };
    html(&page)
}

/// Who did it, as people read it; nothing for the customer themselves.
fn who(tr: Tr, dir: &super::views::Directory, a: &Actor) -> String {
    match a {
        Actor::User(u) => dir.user(Some(*u)),
        Actor::Customer(_) => String::new(),
        Actor::Integration(_) => "API".into(),
        Actor::Rule(_) => tr.label("rulekind", "trigger"),
        Actor::Automation(_) => tr.label("rulekind", "automation"),
        Actor::Bot => tr.t("author.bot").to_owned(),
        Actor::System => tr.t("author.system").to_owned(),
    }
}

/// One timeline entry in words.
fn tell(tr: Tr, story: &Story, e: &EventRecord) -> StoryRow {
    let name_of = |id: &CustomerId| {
        story
            .names
            .get(id)
            .cloned()
            .unwrap_or_else(|| id.to_string())
    };
    let other = |id: &CustomerId| Some((id.to_string(), name_of(id)));
    let mut row = StoryRow {
        time: tr.date(e.created_at),
        iso: e.created_at.to_rfc3339(),
        mark: "profile",
        what: tr.label("event", &e.kind().replace('.', "_")),
        detail: None,
        ticket: e.ticket_id.and_then(|t| story.tickets.get(&t).cloned()),
        other: None,
        who: String::new(),
    };
    match &e.data {
        EventData::MessageAdded {
            message_id,
            channel,
            author_kind,
            visibility,
            ..
        } => {
            let (mark, who) = match (author_kind, visibility) {
                (_, Visibility::Internal) => ("note", "customer.note"),
                (AuthorKind::Customer, _) => ("in", "customer.customer_wrote"),
                (AuthorKind::Agent, _) => ("out", "customer.agent_replied"),
                (AuthorKind::Bot, _) => ("out", "customer.bot_answered"),
                (AuthorKind::System, _) => ("out", "customer.system_message"),
            };
            row.mark = mark;
            row.what = format!("{} · {}", tr.label("channel", channel.as_str()), tr.t(who));
            row.detail = story.snippets.get(message_id).cloned();
        }
        EventData::TicketCreated { channel, .. } => {
            row.mark = "ticket";
            row.what = tr
                .t("customer.ticket_opened")
                .replace("{channel}", &tr.label("channel", channel.as_str()));
        }
        EventData::CustomersMerged { merged_id, .. } => {
            row.what = tr
                .t("customer.merged_with")
                .replace("{name}", &name_of(merged_id));
            row.other = other(merged_id);
        }
        EventData::MergeSuggested {
            other_id,
            reason,
            kind,
            value,
            ..
        } => {
            row.what = tr
                .t("customer.suggested_with")
                .replace("{name}", &name_of(other_id));
            row.detail = Some(format!(
                "{} ({} {value})",
                tr.label("match", reason.as_str()),
                kind_label(tr, kind.as_str())
            ));
            row.other = other(other_id);
        }
        EventData::SuggestionDismissed { other_id, .. } => {
            row.what = tr
                .t("customer.dismissed_with")
                .replace("{name}", &name_of(other_id));
            row.other = other(other_id);
        }
        EventData::OrderCreated { number, status, .. } => {
            row.mark = "order";
            row.what = tr.t("customer.order_placed").replace("{number}", number);
            row.detail = Some(tr.label("order_status", status.as_str()));
        }
        EventData::OrderStatusChanged { number, to, .. } => {
            row.mark = "order";
            row.what = tr
                .t("customer.order_status")
                .replace("{number}", number)
                .replace("{status}", &tr.label("order_status", to.as_str()));
        }
        EventData::ShipmentUpdated {
            number,
            tracking_number,
            to,
            ..
        } => {
            row.mark = "order";
            row.what = tr
                .t("customer.order_shipment")
                .replace("{number}", number)
                .replace("{status}", &tr.label("shipment", to.as_str()));
            row.detail = Some(tracking_number.clone());
        }
        EventData::OutreachSent { channel, .. } => {
            row.mark = "out";
            row.what = tr
                .t("customer.outreach_sent")
                .replace("{channel}", &tr.label("channel", channel.as_str()));
        }
        EventData::OutreachSkipped { reason, .. } => {
            row.what = tr.t("customer.outreach_skipped").to_owned();
            row.detail = Some(tr.label("outreach_skip", reason));
        }
        EventData::CustomerAtRisk { reasons, .. } => {
            row.what = tr.t("customer.at_risk").to_owned();
            row.detail = Some(
                reasons
                    .iter()
                    .map(|r| tr.label("bad_experience", r))
                    .collect::<Vec<_>>()
                    .join(", "),
            );
        }
        EventData::CustomerUpdated { changes, .. } => {
            row.detail = Some(
                changes
                    .iter()
                    .map(|c| {
                        let key = format!("customer_field.{}", c.field);
                        if tr.has(&key) {
                            tr.t(&key).to_owned()
                        } else {
                            c.field.to_string()
                        }
                    })
                    .collect::<Vec<_>>()
                    .join(", "),
            );
        }
        EventData::IdentityAdded { kind, value, .. } => {
            row.detail = Some(format!("{} {value}", kind_label(tr, kind.as_str())));
        }
        EventData::IdentityUpdated {
            kind,
            value,
            shared,
            ..
        } => {
            row.what = tr
                .t(if *shared {
                    "customer.identity_shared"
                } else {
                    "customer.identity_not_shared"
                })
                .to_owned();
            row.detail = Some(format!("{} {value}", kind_label(tr, kind.as_str())));
        }
        _ => {
            if e.ticket_id.is_some() {
                row.mark = "ticket";
            }
        }
    }
    row
}

/// `POST /app/customers/{id}/merge` (`source`): merges another profile into
/// this one, after the page asked for confirmation.
pub async fn merge(
    State(app): State<AppState>,
    Path(id): Path<String>,
    f: Form,
) -> Result<Response, UiError> {
    let tr = f.ctx.tr;
    let target = customer_id(&id, tr)?;
    let source = f
        .text("source")
        .and_then(|s| s.parse::<CustomerId>().ok())
        .ok_or(UiError::Status(
            StatusCode::UNPROCESSABLE_ENTITY,
            tr,
            "error.invalid",
        ))?;
    app.engine
        .merge_customers(&f.ctx.p, target, source)
        .await
        .or_page(tr)?;
    Ok(done(&format!("/app/customers/{target}"), "flash.merged"))
}

/// `POST /app/customers/{id}/suggestions/{suggestion}/dismiss`.
pub async fn dismiss(
    State(app): State<AppState>,
    Path((id, suggestion)): Path<(String, String)>,
    f: Form,
) -> Result<Response, UiError> {
    let tr = f.ctx.tr;
    let cid = customer_id(&id, tr)?;
    let sid: SuggestionId = suggestion
        .parse()
        .map_err(|_| UiError::Status(StatusCode::NOT_FOUND, tr, "error.not_found"))?;
    app.engine
        .dismiss_suggestion(&f.ctx.p, cid, sid)
        .await
        .or_page(tr)?;
    Ok(done(&format!("/app/customers/{cid}"), "flash.saved"))
}

/// `POST /app/customers/{id}/identities/{identity}/shared` (`on`: 1 or 0).
pub async fn shared(
    State(app): State<AppState>,
    Path((id, identity)): Path<(String, String)>,
    f: Form,
) -> Result<Response, UiError> {
    let tr = f.ctx.tr;
    let cid = customer_id(&id, tr)?;
    let iid: IdentityId = identity
        .parse()
        .map_err(|_| UiError::Status(StatusCode::NOT_FOUND, tr, "error.not_found"))?;
    app.engine
        .set_identity_shared(&f.ctx.p, cid, iid, f.get("on") == Some("1"))
        .await
        .or_page(tr)?;
    Ok(done(&format!("/app/customers/{cid}"), "flash.saved"))
}

/// `POST /app/customers/{id}/outreach` (`on`: 1 opts them out, 0 back in).
pub async fn opt_out(
    State(app): State<AppState>,
    Path(id): Path<String>,
    f: Form,
) -> Result<Response, UiError> {
    let tr = f.ctx.tr;
    let cid = customer_id(&id, tr)?;
    app.engine
        .set_outreach_opt_out(&f.ctx.p, cid, f.get("on") == Some("1"))
        .await
        .or_page(tr)?;
    Ok(done(&format!("/app/customers/{cid}"), "flash.saved"))
}

/// `POST /app/customers/{id}/erase` (`confirm`: 1): erases the customer's
/// personal data (admins).
pub async fn erase(
    State(app): State<AppState>,
    Path(id): Path<String>,
    f: Form,
) -> Result<Response, UiError> {
    let tr = f.ctx.tr;
    let cid = customer_id(&id, tr)?;
    if f.get("confirm") != Some("1") {
        return Err(UiError::Status(
            StatusCode::UNPROCESSABLE_ENTITY,
            tr,
            "customer.erase_unconfirmed",
        ));
    }
    let done_with = app.engine.erase_customer(&f.ctx.p, cid).await.or_page(tr)?;
    Ok(done(
        &format!("/app/customers/{}", done_with.customer_id),
        "flash.erased",
    ))
}

/// `POST /app/customers/{id}/edit`: name, language, tags, notes, the
/// organisation (by name; empty for none), customer fields and a contact to add.
pub async fn edit(
    State(app): State<AppState>,
    Path(id): Path<String>,
    f: Form,
) -> Result<Response, UiError> {
    let tr = f.ctx.tr;
    let p = &f.ctx.p;
    let id = customer_id(&id, tr)?;
    let refuse = |m: String| UiError::Message(StatusCode::UNPROCESSABLE_ENTITY, tr, m);
    let organization_id = match f.get("organization").map(str::trim) {
        None => None,
        Some("") => Some(None),
        Some(name) => {
            let key = engine::model::organization_name_key(name);
            let found = app
                .engine
                .organizations(p, Some(name), None, Some(200))
                .await
                .or_page(tr)?
                .into_iter()
                .find(|(o, _)| engine::model::organization_name_key(&o.name) == key);
            match found {
                Some((o, _)) => Some(Some(o.id)),
                None => {
                    return Err(refuse(tr.t("org.not_found").replace("{name}", name)));
                }
            }
        }
    };
    let defs = app.engine.fields(p).await.or_page(tr)?;
    let fields = super::field_form::values(&f, defs, FieldTarget::Customer)
        .map_err(|l| refuse(format!("{l}: {}", tr.t("error.invalid"))))?;
    let mut add = Vec::new();
    for (name, kind) in [
        ("add_email", IdentityKind::Email),
        ("add_phone", IdentityKind::Phone),
    ] {
        if let Some(v) = f.text(name) {
            add.push(Identity::parse(kind, v).map_err(|e| UiError::engine(e.into(), tr))?);
        }
    }
    let patch = CustomerPatch {
        name: f.get("name").map(str::to_owned),
        language: f
            .get("language")
            .map(|l| Some(l.trim().to_owned()).filter(|l| !l.is_empty())),
        notes: f.get("notes").map(str::to_owned),
        add_identities: add,
        tags: f.get("tags").map(|t| {
            t.split(',')
                .map(str::trim)
                .filter(|t| !t.is_empty())
                .map(str::to_owned)
                .collect()
        }),
        organization_id,
        custom_fields: (!fields.is_empty()).then_some(fields),
    };
    app.engine.update_customer(p, id, patch).await.or_page(tr)?;
    Ok(done(&format!("/app/customers/{id}"), "flash.saved"))
}

//! A customer's personal data on request, for admins: exported as one JSON
//! document (streamed: a customer with years of tickets never sits in memory
//! whole) and erased.

use crate::AppState;
use crate::dto::{CustomerOut, MessageOut, TicketOut};
use crate::error::{ApiError, Problem};
use crate::extract::{Auth, Json, PathParam, id};
use crate::journey_api::TouchpointOut;
use crate::orders_api::OrderOut;
use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use domain::ids::*;
use engine::Principal;
use serde::Serialize;
use tokio::sync::mpsc;
use utoipa::ToSchema;
use uuid::Uuid;

type ApiResult<T> = Result<T, ApiError>;

/// What an export's `format` says: the shape below, version 1.
pub const FORMAT: &str = "otklik.customer-export/1";
/// Tickets, messages, orders and touchpoints read per step of an export.
const PAGE: i64 = 200;

/// Everything kept about one customer. Streamed in this order; a failure
/// half-way ends the stream early, so a document that does not parse is an
/// export that did not finish.
#[derive(Serialize, ToSchema)]
pub struct CustomerExport {
    /// `otklik.customer-export/1`.
    pub format: String,
    pub exported_at: String,
    /// The profile with its identities (a merged-away id exports the profile
    /// it became, which holds everything the two had).
    pub customer: CustomerOut,
    /// Their tickets, newest first, each with every message, oldest first.
    pub tickets: Vec<ExportedTicket>,
    /// Newest first.
    pub orders: Vec<OrderOut>,
    /// Their journey, newest first.
    pub touchpoints: Vec<TouchpointOut>,
    /// Surveys sent to them and their answers, newest first (≤ 10,000).
    pub surveys: Vec<ExportedSurvey>,
    /// What they told the chat widget about themselves, newest first
    /// (≤ 10,000).
    pub chat_visitors: Vec<ExportedVisitor>,
}

#[derive(Serialize, ToSchema)]
pub struct ExportedTicket {
    pub ticket: TicketOut,
    pub messages: Vec<MessageOut>,
}

#[derive(Serialize, ToSchema)]
pub struct ExportedSurvey {
    pub id: Uuid,
    /// `csat` or `nps`.
    pub kind: String,
    pub ticket_id: Option<Uuid>,
    pub language: String,
    pub sent_at: Option<String>,
    pub score: Option<i64>,
    pub comment: Option<String>,
    pub answered_at: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct ExportedVisitor {
    pub id: Uuid,
    pub name: Option<String>,
    pub email: Option<String>,
    pub phone: Option<String>,
    pub language: Option<String>,
    /// The site's own id for them, when the site vouched for it.
    pub external_user_id: Option<String>,
    pub page_url: Option<String>,
    pub page_title: Option<String>,
    pub last_seen_at: String,
    pub created_at: String,
}

/// What an erasure did.
#[derive(Serialize, ToSchema)]
pub struct ErasureOut {
    /// The profile erased (a merged-away id erases the profile it became).
    pub customer_id: Uuid,
    pub erased_at: String,
    /// Profiles erased: the customer and those merged into them.
    pub profiles: u64,
    /// Addresses and numbers removed.
    pub identities: u64,
    /// Tickets whose subject, fields and copies went (states and times stay).
    pub tickets: u64,
    /// Messages whose text went.
    pub messages: u64,
    pub attachments: u64,
    /// Orders whose number, shop reference and shipments went (status,
    /// money and items stay).
    pub orders: u64,
    /// Touchpoints whose address, reference and attributes went (kind,
    /// stage, emotion and time stay).
    pub touchpoints: u64,
    /// Events whose personal parts were blanked.
    pub events: u64,
    pub chat_visitors: u64,
    /// Stored files removed: raw mail, attachments.
    pub files_removed: u64,
    /// Queued or finished jobs that named the customer, removed.
    pub jobs_removed: u64,
    /// Held mail that mentioned their addresses, removed.
    pub held_removed: u64,
}

impl From<engine::privacy::Erasure> for ErasureOut {
    fn from(e: engine::privacy::Erasure) -> Self {
        ErasureOut {
            customer_id: e.customer_id.0,
            erased_at: e.erased_at.to_rfc3339(),
            profiles: e.profiles,
            identities: e.erased.identities,
            tickets: e.erased.tickets,
            messages: e.erased.messages,
            attachments: e.erased.attachments,
            orders: e.erased.orders,
            touchpoints: e.erased.touchpoints,
            events: e.erased.events,
            chat_visitors: e.erased.visitors,
            files_removed: e.blobs_removed,
            jobs_removed: e.jobs_removed,
            held_removed: e.held_removed,
        }
    }
}

#[utoipa::path(get, path = "/api/v1/customers/{id}/export", tag = "customers",
    params(("id" = Uuid, Path)),
    responses((status = 200, body = CustomerExport, description = "Everything kept about the customer, as one JSON document (streamed)"),
        (status = 403, body = Problem, description = "Admins only"),
        (status = 404, body = Problem, description = "No such customer")))]
pub async fn export(
    State(app): State<AppState>,
    Auth(p): Auth,
    PathParam(cid): PathParam,
) -> ApiResult<Response> {
    // Refusals come before the first byte, with their status.
    let customer = app.engine.export_customer(&p, id(&cid)?).await?;
    let (tx, rx) = mpsc::channel::<Result<Bytes, std::io::Error>>(4);
    tokio::spawn(async move {
        let out = Out(tx);
        if let Err(e) = write_export(&app, &p, customer, &out).await {
            tracing::warn!(error = %e, "customer export stopped half-way");
            let _ = out.0.send(Err(std::io::Error::other(e.to_string()))).await;
        }
    });
    let body = Body::from_stream(futures::stream::unfold(rx, |mut rx| async move {
        rx.recv().await.map(|chunk| (chunk, rx))
    }));
    Ok((
        [
            (header::CONTENT_TYPE, "application/json".to_owned()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"customer-{cid}.json\""),
            ),
        ],
        body,
    )
        .into_response())
}

/// The stream's end: sends stop mattering once the client went away.
struct Out(mpsc::Sender<Result<Bytes, std::io::Error>>);

#[derive(Debug, thiserror::Error)]
enum ExportError {
    #[error("{0}")]
    Api(String),
    #[error("the client went away")]
    Gone,
}

impl From<ApiError> for ExportError {
    fn from(e: ApiError) -> Self {
        ExportError::Api(format!("{e:?}"))
    }
}

impl From<engine::EngineError> for ExportError {
    fn from(e: engine::EngineError) -> Self {
        ExportError::Api(e.to_string())
    }
}

impl Out {
    async fn raw(&self, s: impl Into<Bytes>) -> Result<(), ExportError> {
        self.0
            .send(Ok(s.into()))
            .await
            .map_err(|_| ExportError::Gone)
    }

    /// `v` as JSON, after a comma unless it is the first of its list.
    async fn item<T: Serialize>(&self, first: &mut bool, v: &T) -> Result<(), ExportError> {
        let mut s = if *first { String::new() } else { ",".into() };
        *first = false;
        s.push_str(&serde_json::to_string(v).map_err(|e| ExportError::Api(e.to_string()))?);
        self.raw(s).await
    }
}

async fn write_export(
    app: &AppState,
    p: &Principal,
    customer: engine::model::Customer,
    out: &Out,
) -> Result<(), ExportError> {
    let cid = customer.id;
    let head = serde_json::json!({
        "format": FORMAT,
        "exported_at": app.engine.now().to_rfc3339(),
        "customer": CustomerOut::from(customer),
    })
    .to_string();
    // The head object without its closing brace; the lists follow.
    out.raw(format!("{},\"tickets\":[", &head[..head.len() - 1]))
        .await?;

    let filter = engine::model::Filter {
        customer: Some(cid),
        ..Default::default()
    };
    let (mut before, mut first) = (None, true);
    loop {
        let page = app.engine.tickets(p, &filter, before, Some(PAGE)).await?;
        before = page.last().map(|t| t.id);
        let full = page.len() as i64 == PAGE;
        for t in crate::api::with_sla(app, p, page).await? {
            let mut messages = Vec::new();
            let mut after = None;
            loop {
                let ms = app
                    .engine
                    .messages(
                        p,
                        engine::tickets::TicketRef::Id(TicketId(t.id)),
                        after,
                        Some(PAGE),
                    )
                    .await?;
                after = ms.last().map(|m| m.id);
                let more = ms.len() as i64 == PAGE;
                messages.extend(ms.into_iter().map(MessageOut::from));
                if !more {
                    break;
                }
            }
            out.item(
                &mut first,
                &ExportedTicket {
                    ticket: t,
                    messages,
                },
            )
            .await?;
        }
        if !full {
            break;
        }
    }

    out.raw("],\"orders\":[").await?;
    let (mut before, mut first) = (None, true);
    loop {
        let page = app
            .engine
            .orders(p, Some(cid), None, before, Some(PAGE))
            .await?;
        before = page.last().map(|o| o.id);
        let full = page.len() as i64 == PAGE;
        for o in page {
            out.item(&mut first, &OrderOut::from(o)).await?;
        }
        if !full {
            break;
        }
    }

    out.raw("],\"touchpoints\":[").await?;
    let (mut before, mut first) = (None, true);
    loop {
        let page = app
            .engine
            .customer_touchpoints(p, cid, before, PAGE)
            .await?;
        before = page.last().map(|t| t.id);
        let full = page.len() as i64 == PAGE;
        for t in page {
            out.item(&mut first, &TouchpointOut::from(t)).await?;
        }
        if !full {
            break;
        }
    }

    let (surveys, visitors) = app.engine.customer_privacy_extras(p, cid).await?;
    out.raw("],\"surveys\":[").await?;
    let mut first = true;
    for s in surveys {
        let s = ExportedSurvey {
            id: s.id.0,
            kind: s.kind.as_str().into(),
            ticket_id: s.ticket_id.map(|t| t.0),
            language: s.language,
            sent_at: s.sent_at.map(|t| t.to_rfc3339()),
            score: s.score,
            comment: s.comment,
            answered_at: s.answered_at.map(|t| t.to_rfc3339()),
        };
        out.item(&mut first, &s).await?;
    }
    out.raw("],\"chat_visitors\":[").await?;
    let mut first = true;
    for v in visitors {
        let v = ExportedVisitor {
            id: v.id.0,
            name: v.name,
            email: v.email,
            phone: v.phone,
            language: v.lang,
            external_user_id: v.external_user_id,
            page_url: v.page_url,
            page_title: v.page_title,
            last_seen_at: v.last_seen_at.to_rfc3339(),
            created_at: v.created_at.to_rfc3339(),
        };
        out.item(&mut first, &v).await?;
    }
    out.raw("]}").await
}

#[utoipa::path(post, path = "/api/v1/customers/{id}/erase", tag = "customers",
    params(("id" = Uuid, Path)),
    responses((status = 200, body = ErasureOut, description = "Their personal data is gone; what is counted stays on the emptied profile, recorded as `customer.erased`"),
        (status = 403, body = Problem, description = "Admins only"),
        (status = 404, body = Problem, description = "No such customer"),
        (status = 409, body = Problem, description = "Already erased (`customers.erased`)")))]
pub async fn erase(
    State(app): State<AppState>,
    Auth(p): Auth,
    PathParam(cid): PathParam,
) -> ApiResult<Json<ErasureOut>> {
    Ok(Json(app.engine.erase_customer(&p, id(&cid)?).await?.into()))
}

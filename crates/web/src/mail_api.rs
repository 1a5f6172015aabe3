//! The email channel's API: mailboxes (admins only) and the MTA pipe that posts
//! raw messages.

use crate::AppState;
use crate::error::{ApiError, Problem};
use crate::extract::{Auth, Json, PathPair, PathParam, id, parse_json};
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use channels::email::inbound::{IngestError, ingest_raw};
use domain::{Code, Message};
use engine::EngineError;
use engine::email::{MailboxInput, MailboxView, Outcome};
use serde_json::{Value, json};

type ApiResult<T> = Result<T, ApiError>;

fn view(v: MailboxView) -> Value {
    json!(v)
}

#[utoipa::path(get, path = "/api/v1/channels/email", tag = "channels",
    responses((status = 200, description = "The workspace's mailboxes (passwords never shown)"), (status = 403, body = Problem)))]
pub async fn list(State(app): State<AppState>, Auth(p): Auth) -> ApiResult<Response> {
    let all = app.engine.mailboxes(&p).await?;
    Ok(
        axum::Json(json!({ "items": all.into_iter().map(view).collect::<Vec<_>>() }))
            .into_response(),
    )
}

#[utoipa::path(post, path = "/api/v1/channels/email", tag = "channels",
    request_body(content = Object, description = "name, address, inbound {kind: imap|smtp|pipe, host, port, tls: implicit|starttls|none, username, password, folder}, outbound {host, port, tls, username, password, from_name} or null, settings {auto_ack {enabled, response_time {en, ru, th}, templates {en, ru, th}}, reply_address_token}, active"),
    responses((status = 201, description = "The mailbox"), (status = 409, body = Problem), (status = 422, body = Problem)))]
pub async fn create(
    State(app): State<AppState>,
    Auth(p): Auth,
    Json(input): Json<MailboxInput>,
) -> ApiResult<Response> {
    let m = app.engine.create_mailbox(&p, input).await?;
    Ok((StatusCode::CREATED, axum::Json(view(m))).into_response())
}

#[utoipa::path(get, path = "/api/v1/channels/email/{id}", tag = "channels", params(("id" = Uuid, Path)),
    responses((status = 200, description = "The mailbox"), (status = 404, body = Problem)))]
pub async fn get(
    State(app): State<AppState>,
    Auth(p): Auth,
    PathParam(mid): PathParam,
) -> ApiResult<Response> {
    Ok(axum::Json(view(app.engine.mailbox(&p, id(&mid)?).await?)).into_response())
}

/// RFC 7396 merge patch: objects merge key by key, `null` removes, anything else
/// replaces.
fn merge_patch(target: &mut Value, patch: &Value) {
    match (target, patch) {
        (Value::Object(t), Value::Object(p)) => {
            for (k, v) in p {
                if v.is_null() {
                    t.remove(k);
                } else {
                    merge_patch(t.entry(k.clone()).or_insert(Value::Null), v);
                }
            }
        }
        (t, p) => *t = p.clone(),
    }
}

#[utoipa::path(patch, path = "/api/v1/channels/email/{id}", tag = "channels", params(("id" = Uuid, Path)),
    request_body(content = Object, description = "A JSON merge patch of the mailbox; a password left out is kept, an empty one clears it"),
    responses((status = 200, description = "The mailbox"), (status = 404, body = Problem), (status = 422, body = Problem)))]
pub async fn patch(
    State(app): State<AppState>,
    Auth(p): Auth,
    PathParam(mid): PathParam,
    Json(body): Json<Value>,
) -> ApiResult<Response> {
    let mid = id(&mid)?;
    let current = app.engine.mailbox(&p, mid).await?;
    let mut doc = json!({
        "name": current.name,
        "address": current.address,
        "inbound": current.inbound,
        "outbound": current.outbound,
        "settings": current.settings,
        "active": current.active,
    });
    let Some(fields) = body.as_object() else {
        return Err(ApiError::bad_request("send a JSON object"));
    };
    // A null removes a field in a merge patch, so an unknown one would pass
    // unnoticed: name it instead.
    if let Some(k) = fields.keys().find(|k| doc.get(k.as_str()).is_none()) {
        return Err(ApiError::field(k, "not a field of a mailbox"));
    }
    merge_patch(&mut doc, &body);
    let input: MailboxInput = parse_json(doc.to_string().as_bytes())?;
    Ok(axum::Json(view(app.engine.update_mailbox(&p, mid, input).await?)).into_response())
}

/// The body, read into one buffer of the declared size: collecting the chunks
/// and joining them would hold a large message twice.
async fn read_message(body: axum::body::Body, declared: usize, max: usize) -> ApiResult<Bytes> {
    use futures::StreamExt;
    let too_large = || {
        ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "too-large",
            format!("an email may have at most {max} bytes"),
        )
    };
    if declared != usize::MAX && declared > max {
        return Err(too_large());
    }
    let mut buf = bytes::BytesMut::with_capacity(if declared == usize::MAX {
        64 * 1024
    } else {
        declared
    });
    let mut chunks = body.into_data_stream();
    while let Some(chunk) = chunks.next().await {
        let chunk = chunk.map_err(|e| ApiError::bad_request(format!("reading the body: {e}")))?;
        if buf.len() + chunk.len() > max {
            return Err(too_large());
        }
        buf.extend_from_slice(&chunk);
    }
    Ok(buf.freeze())
}

#[utoipa::path(post, path = "/api/v1/channels/email/{id}/inbound", tag = "channels", params(("id" = Uuid, Path)),
    request_body(content = String, content_type = "message/rfc822", description = "The raw message, as an MTA pipe transport delivers it"),
    responses((status = 202, description = "{ticket_id, message_id, duplicate, outcome}; stored before this answer"),
        (status = 413, body = Problem), (status = 415, body = Problem), (status = 422, body = Problem)))]
pub async fn inbound(
    State(app): State<AppState>,
    Auth(p): Auth,
    PathParam(mid): PathParam,
    headers: HeaderMap,
    body: axum::body::Body,
) -> ApiResult<Response> {
    p.require_admin()?;
    // A large message takes its slot before its body is read, so a burst of them
    // waits (or is told to come back) instead of filling memory.
    let declared = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<usize>().ok())
        .unwrap_or(usize::MAX);
    let _slot = app.engine.cpu.large_message(declared).await?;
    let body = read_message(body, declared, app.engine.limits.max_email_bytes).await?;
    let ct = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    if !crate::extract::media_type_is(ct, "message/rfc822") {
        return Err(ApiError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "content-type",
            "send the raw message with Content-Type: message/rfc822",
        ));
    }
    let mb = app.engine.mailbox_config(p.workspace_id, id(&mid)?).await?;
    let r = ingest_raw(&app.engine, &mb, body, Default::default())
        .await
        .map_err(|e| match e {
            IngestError::Unreadable(e) => ApiError::field("body", e.to_string()),
            IngestError::Engine(e) => e.into(),
        })?;
    let outcome = r.outcome.name();
    Ok((
        StatusCode::ACCEPTED,
        axum::Json(json!({
            "ticket_id": r.ticket_id,
            "message_id": r.message_id,
            "duplicate": r.duplicate,
            "outcome": outcome,
        })),
    )
        .into_response())
}

/// One message held for want of a sender.
#[derive(serde::Serialize, utoipa::ToSchema)]
pub struct HeldOut {
    pub id: uuid::Uuid,
    /// The Message-ID in angle brackets, or `sha256:…` of the bytes when it had none.
    pub message_id: String,
    pub subject: String,
    pub received_at: String,
    /// Why it is held: `no_sender`.
    pub reason: String,
}

/// The page of held messages.
#[derive(serde::Serialize, utoipa::ToSchema)]
pub struct HeldList {
    pub items: Vec<HeldOut>,
}

/// The customer a held message is from.
#[derive(serde::Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct HeldCustomer {
    #[schema(max_length = 254)]
    pub email: String,
    #[schema(max_length = 200)]
    pub name: Option<String>,
}

#[derive(serde::Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct HeldTicketIn {
    pub customer: HeldCustomer,
}

fn held_out(h: engine::model::Held) -> HeldOut {
    let message_id = if h.external_id.starts_with("sha256:") {
        h.external_id
    } else {
        format!("<{}>", h.external_id)
    };
    HeldOut {
        id: h.id.0,
        message_id,
        subject: h.subject,
        received_at: h.created_at.to_rfc3339(),
        reason: h.reason,
    }
}

#[utoipa::path(get, path = "/api/v1/channels/email/{id}/held", tag = "channels", params(("id" = Uuid, Path, description = "The mailbox")),
    responses((status = 200, body = HeldList, description = "Mail accepted without a sender to answer, oldest first (at most 500)"),
        (status = 403, body = Problem), (status = 404, body = Problem)))]
pub async fn held_list(
    State(app): State<AppState>,
    Auth(p): Auth,
    PathParam(mid): PathParam,
) -> ApiResult<Json<HeldList>> {
    let items = app.engine.held_messages(&p, id(&mid)?).await?;
    Ok(Json(HeldList {
        items: items.into_iter().map(held_out).collect(),
    }))
}

#[utoipa::path(post, path = "/api/v1/channels/email/{id}/held/{held_id}/ticket", tag = "channels",
    params(("id" = Uuid, Path, description = "The mailbox"), ("held_id" = Uuid, Path, description = "The held message")),
    request_body = HeldTicketIn,
    responses((status = 201, body = crate::dto::TicketOut, description = "The ticket the message opened (or joined, when it answers one)"),
        (status = 403, body = Problem), (status = 404, body = Problem), (status = 422, body = Problem)))]
pub async fn held_ticket(
    State(app): State<AppState>,
    Auth(p): Auth,
    PathPair(mid, hid): PathPair,
    Json(b): Json<HeldTicketIn>,
) -> ApiResult<Response> {
    let (mailbox, held) = (id(&mid)?, id(&hid)?);
    let c = &b.customer;
    let r = channels::email::inbound::ticket_held(
        &app.engine,
        &p,
        mailbox,
        held,
        &c.email,
        c.name.as_deref(),
    )
    .await
    .map_err(|e| match e {
        IngestError::Unreadable(e) => ApiError::field("held_id", e.to_string()),
        IngestError::Engine(e) => e.into(),
    })?;
    let Some(ticket) = r.ticket_id else {
        // The mailbox's rules refuse this sender (its own address, a mail system).
        let why = match &r.outcome {
            Outcome::Ignored(why) if why.as_str() == "own_address" => {
                Message::new(Code::HeldOwnAddress)
            }
            Outcome::Ignored(why) => Message::new(Code::HeldNotTicketed).with("why", why),
            other => Message::new(Code::HeldNotTicketable).with("outcome", format!("{other:?}")),
        };
        return Err(EngineError::Rule(why).into());
    };
    let t = app
        .engine
        .ticket(&p, engine::tickets::TicketRef::Id(ticket))
        .await?;
    Ok((
        StatusCode::CREATED,
        axum::Json(crate::dto::TicketOut::from(t)),
    )
        .into_response())
}

#[utoipa::path(delete, path = "/api/v1/channels/email/{id}/held/{held_id}", tag = "channels",
    params(("id" = Uuid, Path, description = "The mailbox"), ("held_id" = Uuid, Path, description = "The held message")),
    responses((status = 204, description = "Discarded"), (status = 403, body = Problem), (status = 404, body = Problem)))]
pub async fn held_discard(
    State(app): State<AppState>,
    Auth(p): Auth,
    PathPair(mid, hid): PathPair,
) -> ApiResult<StatusCode> {
    app.engine.discard_held(&p, id(&mid)?, id(&hid)?).await?;
    Ok(StatusCode::NO_CONTENT)
}

//! `/api/v1/tickets/{id}/side-conversations`: a ticket's threads with another
//! team or an outside email address (`engine::side`).

use crate::AppState;
use crate::api::ticket_ref;
use crate::error::{ApiError, Problem};
use crate::extract::{Auth, Json, PathPair, PathParam};
use axum::extract::State;
use axum::http::StatusCode;
use domain::ids::*;
use engine::side::{NewSide, SideThread, SideWith};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

type ApiResult<T> = Result<T, ApiError>;

/// A side conversation to start: with a team (`team_id`) or an outside email
/// address (`to`) — exactly one of them.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SideIn {
    /// 1–255 characters.
    pub subject: String,
    /// The first message, 1–20,000 characters.
    pub body: String,
    pub team_id: Option<Uuid>,
    pub to: Option<String>,
    /// The mailbox an email one leaves by: the ticket's own, else the
    /// workspace's first that sends, when not given.
    pub account_id: Option<Uuid>,
}

/// An agent's message in a side conversation.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SideMessageIn {
    /// 1–20,000 characters.
    pub body: String,
}

/// Closes a side conversation (`false`) or opens it again.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SidePatch {
    pub open: bool,
}

#[derive(Serialize, ToSchema)]
pub struct SideMessageOut {
    pub id: Uuid,
    /// The agent who wrote it; null for an answer from outside.
    pub author_id: Option<Uuid>,
    /// Who answered from outside.
    pub from: Option<String>,
    pub outside: bool,
    pub body: String,
    /// For an agent's message to an outside address: `queued`, `sent` or `failed`.
    pub delivery: Option<String>,
    pub delivery_error: Option<String>,
    pub created_at: String,
}

#[derive(Serialize, ToSchema)]
pub struct SideOut {
    pub id: Uuid,
    pub ticket_id: Uuid,
    pub subject: String,
    pub team_id: Option<Uuid>,
    pub to: Option<String>,
    pub account_id: Option<Uuid>,
    pub open: bool,
    pub created_by: Option<Uuid>,
    pub created_at: String,
    pub updated_at: String,
    /// Oldest first; at most 500.
    pub messages: Vec<SideMessageOut>,
}

/// A ticket's side conversations, oldest first (at most 20).
#[derive(Serialize, ToSchema)]
pub struct SideList {
    pub items: Vec<SideOut>,
}

impl From<SideThread> for SideOut {
    fn from(t: SideThread) -> SideOut {
        let s = t.side;
        SideOut {
            id: s.id.0,
            ticket_id: s.ticket_id.0,
            subject: s.subject,
            team_id: s.team_id.map(|t| t.0),
            to: s.address,
            account_id: s.account_id.map(|a| a.0),
            open: s.open,
            created_by: s.created_by.map(|u| u.0),
            created_at: s.created_at.to_rfc3339(),
            updated_at: s.updated_at.to_rfc3339(),
            messages: t
                .messages
                .into_iter()
                .map(|m| SideMessageOut {
                    id: m.id.0,
                    author_id: m.author_id.map(|u| u.0),
                    outside: m.author_id.is_none(),
                    from: m.from_address,
                    body: m.body,
                    delivery: m.delivery,
                    delivery_error: m
                        .delivery_error
                        .map(|e| domain::Message::from_stored(&e).to_string()),
                    created_at: m.created_at.to_rfc3339(),
                })
                .collect(),
        }
    }
}

/// Exactly one party: a team or an address.
pub fn party(team_id: Option<Uuid>, to: Option<String>) -> Result<SideWith, ApiError> {
    match (team_id, to) {
        (Some(t), None) => Ok(SideWith::Team(TeamId(t))),
        (None, Some(a)) => Ok(SideWith::Email(a)),
        _ => Err(ApiError::field(
            "team_id",
            "give either team_id (a team) or to (an email address), not both",
        )),
    }
}

fn side_id(s: &str) -> Result<SideId, ApiError> {
    s.parse().map_err(|_| ApiError::not_found())
}

#[utoipa::path(get, path = "/api/v1/tickets/{id}/side-conversations", tag = "tickets",
    params(("id" = String, Path, description = "Id or number")),
    responses((status = 200, body = SideList), (status = 404, body = Problem)))]
pub async fn list_sides(
    State(app): State<AppState>,
    Auth(p): Auth,
    PathParam(t): PathParam,
) -> ApiResult<Json<SideList>> {
    let items = app.engine.sides(&p, ticket_ref(&t)?).await?;
    Ok(Json(SideList {
        items: items.into_iter().map(Into::into).collect(),
    }))
}

#[utoipa::path(post, path = "/api/v1/tickets/{id}/side-conversations", tag = "tickets",
    params(("id" = String, Path, description = "Id or number")), request_body = SideIn,
    responses((status = 201, body = SideOut, description = "Started; a team's members are told live, an email leaves by the mailbox"),
        (status = 403, body = Problem, description = "Light agents cannot start one"),
        (status = 404, body = Problem, description = "No such ticket or team"),
        (status = 409, body = Problem, description = "No mailbox that sends (or account_id names none), or the ticket has 20 side conversations"),
        (status = 422, body = Problem)))]
pub async fn start_side(
    State(app): State<AppState>,
    Auth(p): Auth,
    PathParam(t): PathParam,
    Json(b): Json<SideIn>,
) -> ApiResult<(StatusCode, Json<SideOut>)> {
    let with = party(b.team_id, b.to)?;
    let side = app
        .engine
        .start_side(
            &p,
            ticket_ref(&t)?,
            NewSide {
                subject: b.subject,
                body: b.body,
                with,
                account_id: b.account_id.map(AccountId),
            },
        )
        .await?;
    Ok((StatusCode::CREATED, Json(side.into())))
}

#[utoipa::path(post, path = "/api/v1/tickets/{id}/side-conversations/{side_id}/messages", tag = "tickets",
    params(("id" = String, Path, description = "Id or number"), ("side_id" = Uuid, Path)), request_body = SideMessageIn,
    responses((status = 201, body = SideOut, description = "Added (a closed side conversation opens again)"),
        (status = 403, body = Problem), (status = 404, body = Problem),
        (status = 409, body = Problem, description = "The side conversation has 500 messages"),
        (status = 422, body = Problem)))]
pub async fn side_message(
    State(app): State<AppState>,
    Auth(p): Auth,
    PathPair(t, s): PathPair,
    Json(b): Json<SideMessageIn>,
) -> ApiResult<(StatusCode, Json<SideOut>)> {
    let side = app
        .engine
        .side_reply(&p, ticket_ref(&t)?, side_id(&s)?, &b.body)
        .await?;
    Ok((StatusCode::CREATED, Json(side.into())))
}

#[utoipa::path(patch, path = "/api/v1/tickets/{id}/side-conversations/{side_id}", tag = "tickets",
    params(("id" = String, Path, description = "Id or number"), ("side_id" = Uuid, Path)), request_body = SidePatch,
    responses((status = 200, body = SideOut), (status = 403, body = Problem), (status = 404, body = Problem), (status = 422, body = Problem)))]
pub async fn patch_side(
    State(app): State<AppState>,
    Auth(p): Auth,
    PathPair(t, s): PathPair,
    Json(b): Json<SidePatch>,
) -> ApiResult<Json<SideOut>> {
    let side = app
        .engine
        .set_side_open(&p, ticket_ref(&t)?, side_id(&s)?, b.open)
        .await?;
    Ok(Json(side.into()))
}

//! The JSON API under `/api/v1`. Handlers translate between wire types and engine
//! calls and hold no business rules.

use crate::AppState;
use crate::dto::*;
use crate::error::{ApiError, Problem};
use crate::extract::{Auth, Json, PathPair, PathParam, Query, SESSION_COOKIE, id};
use axum::extract::{ConnectInfo, FromRequest, Multipart, Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use domain::identity::{Identity, IdentityKind};
use domain::ids::*;
use domain::ticket::{Channel, Priority, Status, Visibility};
use engine::customers::{CustomerInput, CustomerPatch};
use engine::model::Cursor;
use engine::model::Unique;
use engine::swarm::Circle;
use engine::tickets::{Body, CustomerRef, Idem, NewMessage, NewTicket, TicketPatch, TicketRef};
use engine::{EngineError, page_limit};
use serde::Deserialize;
use sha2::{Digest, Sha256};
use std::net::SocketAddr;
use utoipa::IntoParams;
use uuid::Uuid;

type ApiResult<T> = Result<T, ApiError>;

pub(crate) fn created<T: serde::Serialize>(v: T) -> Response {
    (StatusCode::CREATED, axum::Json(v)).into_response()
}

pub(crate) fn ticket_ref(s: &str) -> ApiResult<TicketRef> {
    TicketRef::parse(s).ok_or_else(ApiError::not_found)
}

pub(crate) fn next_cursor<T>(
    items: &[T],
    limit: i64,
    key: impl Fn(&T) -> String,
) -> Option<String> {
    if items.len() as i64 >= limit {
        items.last().map(key)
    } else {
        None
    }
}

pub(crate) fn cursor_id<T: std::str::FromStr>(c: Option<&str>) -> ApiResult<Option<T>> {
    c.map(|c| {
        c.parse::<T>()
            .map_err(|_| ApiError::new(StatusCode::BAD_REQUEST, "cursor", "invalid cursor"))
    })
    .transpose()
}

fn bad_cursor() -> ApiError {
    ApiError::new(
        StatusCode::BAD_REQUEST,
        "cursor",
        "invalid cursor: pass one this workspace's answers gave",
    )
}

/// An event id from a history page's cursor.
fn event_position(codec: &engine::cursor::CursorCodec, c: Option<&str>) -> ApiResult<Option<i64>> {
    c.map(|c| codec.decode(c).map(|p| p.id).ok_or_else(bad_cursor))
        .transpose()
}

/// A JSON body together with the SHA-256 of the request, for `Idempotency-Key`.
pub struct Hashed<T> {
    value: T,
    idem: Option<Idem>,
}

impl<T: serde::de::DeserializeOwned, S: Send + Sync> FromRequest<S> for Hashed<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let key = match req.headers().get("idempotency-key") {
            None => None,
            Some(v) => {
                let k = v
                    .to_str()
                    .map_err(|_| ApiError::bad_request("Idempotency-Key must be visible ASCII"))?
                    .trim_matches([' ', '\t'])
                    .to_owned();
                // Visible ASCII and spaces only: a tab inside is not a key a
                // client meant.
                if k.bytes().any(|b| !(b' '..=b'~').contains(&b)) {
                    return Err(ApiError::bad_request(
                        "Idempotency-Key must be visible ASCII",
                    ));
                }
                if k.is_empty() || k.len() > 255 {
                    return Err(ApiError::bad_request(
                        "Idempotency-Key must have 1 to 255 characters",
                    ));
                }
                Some(k)
            }
        };
        let path = req.uri().path().to_owned();
        let is_json = req
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| crate::extract::media_type_is(v, "application/json"));
        if !is_json {
            return Err(ApiError::new(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "content-type",
                "send Content-Type: application/json",
            ));
        }
        let bytes = axum::body::Bytes::from_request(req, state)
            .await
            .map_err(|e| ApiError::new(e.status(), "body", e.body_text()))?;
        let value = crate::extract::parse_json::<T>(&bytes)?;
        let idem = key.map(|key| {
            let mut h = Sha256::new();
            h.update(path.as_bytes());
            h.update([0]);
            h.update(&bytes);
            Idem {
                key,
                request_hash: h.finalize().to_vec(),
            }
        });
        Ok(Hashed { value, idem })
    }
}

/// A page size as the API takes it: 1–200 (default 50); anything else is 422,
/// not silently clamped.
pub(crate) fn api_limit(requested: Option<i64>) -> Result<i64, ApiError> {
    match requested {
        Some(n) if !(1..=200).contains(&n) => Err(ApiError::field("limit", "must be 1 to 200")),
        other => Ok(page_limit(other)),
    }
}

// ---------------------------------------------------------------- auth, me

#[utoipa::path(post, path = "/api/v1/auth/login", tag = "auth", request_body = LoginIn,
    responses((status = 200, body = LoginOut, description = "Session cookie set"), (status = 401, body = Problem), (status = 429, body = Problem)))]
pub async fn login(
    State(app): State<AppState>,
    ConnectInfo(addr): ConnectInfo<SocketAddr>,
    headers: axum::http::HeaderMap,
    Json(b): Json<LoginIn>,
) -> ApiResult<Response> {
    let addr = crate::client_addr(addr.ip(), &headers, &app.config.trusted_proxies);
    let s = app
        .engine
        .login(
            &b.workspace,
            &b.email,
            &b.password,
            b.remember,
            &addr.to_string(),
        )
        .await
        .map_err(|e| match e {
            EngineError::Unauthorized => {
                ApiError::unauthorized("wrong workspace, e-mail or password")
            }
            e => e.into(),
        })?;
    let max_age = (s.expires_at.millis() - app.engine.now().millis()) / 1000;
    let cookie = crate::extract::session_cookie(
        &s.secret,
        b.remember.then_some(max_age),
        app.config.secure_cookies,
    );
    let mut res = axum::Json(LoginOut {
        csrf_token: s.csrf_token,
        expires_at: s.expires_at.to_rfc3339(),
        user_id: s.principal.user_id.0,
        workspace_id: s.principal.workspace_id.0,
    })
    .into_response();
    res.headers_mut().insert(
        header::SET_COOKIE,
        HeaderValue::from_str(&cookie).map_err(|_| ApiError::bad_request("bad cookie"))?,
    );
    Ok(res)
}

#[utoipa::path(post, path = "/api/v1/auth/logout", tag = "auth", responses((status = 204)))]
pub async fn logout(
    State(app): State<AppState>,
    Auth(_p): Auth,
    headers: HeaderMap,
) -> ApiResult<Response> {
    let parts = {
        let mut r = axum::http::Request::new(());
        *r.headers_mut() = headers;
        r.into_parts().0
    };
    if let Some(secret) = crate::extract::cookie(&parts, SESSION_COOKIE) {
        app.engine.logout(secret).await?;
    }
    let mut res = StatusCode::NO_CONTENT.into_response();
    res.headers_mut().insert(
        header::SET_COOKIE,
        HeaderValue::from_static("otklik_session=; Path=/; HttpOnly; SameSite=Lax; Max-Age=0"),
    );
    Ok(res)
}

#[utoipa::path(post, path = "/api/v1/auth/password", tag = "auth", request_body = PasswordIn,
    responses((status = 204), (status = 401, body = Problem), (status = 422, body = Problem, description = "Wrong current password, or the new one is shorter than 8 characters"),
        (status = 429, body = Problem, description = "Too many wrong current passwords; see Retry-After")))]
pub async fn change_password(
    State(app): State<AppState>,
    Auth(p): Auth,
    Json(b): Json<PasswordIn>,
) -> ApiResult<StatusCode> {
    app.engine
        .change_password(&p, &b.current_password, &b.new_password)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(get, path = "/api/v1/me/preferences", tag = "people",
    responses((status = 200, body = PreferencesOut), (status = 401, body = Problem)))]
pub async fn my_preferences(
    State(app): State<AppState>,
    Auth(p): Auth,
) -> ApiResult<Json<PreferencesOut>> {
    Ok(Json(app.engine.me(&p).await?.preferences.into()))
}

#[utoipa::path(patch, path = "/api/v1/me/preferences", tag = "people", request_body = PreferencesIn,
    responses((status = 200, body = PreferencesOut),
        (status = 409, body = Problem, description = "A well-formed time zone name the zone database does not know"),
        (status = 422, body = Problem)))]
pub async fn patch_my_preferences(
    State(app): State<AppState>,
    Auth(p): Auth,
    Json(b): Json<PreferencesIn>,
) -> ApiResult<Json<PreferencesOut>> {
    let n = b.notify.unwrap_or_default();
    let patch = engine::people::PreferencesPatch {
        language: b.language.map(|l| l.map(|l| l.as_str().to_owned())),
        time_zone: b.time_zone,
        signature: b.signature,
        notify_replied: n.replied,
        notify_assigned: n.assigned,
        notify_mentioned: n.mentioned,
        notify_reminders: n.reminders,
        notify_desktop: n.desktop,
        notify_reports: n.reports,
    };
    Ok(Json(
        app.engine
            .set_preferences(&p, patch)
            .await?
            .preferences
            .into(),
    ))
}

#[utoipa::path(get, path = "/api/v1/me", tag = "people", responses((status = 200, body = MeOut), (status = 401, body = Problem)))]
pub async fn me(State(app): State<AppState>, Auth(p): Auth) -> ApiResult<Json<MeOut>> {
    let user = app.engine.user(&p, p.user_id).await?;
    let ws = app.engine.workspace(&p).await?;
    let csrf_token = match &p.via {
        engine::Via::Session { csrf, .. } => Some(csrf.clone()),
        _ => None,
    };
    Ok(Json(MeOut {
        user: user.into(),
        workspace: ws.into(),
        csrf_token,
    }))
}

#[utoipa::path(get, path = "/api/v1/workspace", tag = "people", responses((status = 200, body = WorkspaceOut)))]
pub async fn get_workspace(
    State(app): State<AppState>,
    Auth(p): Auth,
) -> ApiResult<Json<WorkspaceOut>> {
    Ok(Json(app.engine.workspace(&p).await?.into()))
}

#[utoipa::path(patch, path = "/api/v1/workspace", tag = "people", request_body = PatchWorkspaceIn, responses((status = 200, body = WorkspaceOut)))]
pub async fn patch_workspace(
    State(app): State<AppState>,
    Auth(p): Auth,
    Json(b): Json<PatchWorkspaceIn>,
) -> ApiResult<Json<WorkspaceOut>> {
    let patch = engine::workspaces::SettingsPatch {
        display_name: b.display_name,
        default_language: b.default_language,
        time_zone: b.time_zone,
    };
    Ok(Json(app.engine.update_workspace(&p, patch).await?.into()))
}

// ---------------------------------------------------------------- users, teams

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct PageQuery {
    /// Items per page: 1–200, default 50.
    #[param(minimum = 1, maximum = 200)]
    pub limit: Option<i64>,
    /// From the previous page's `next_cursor`.
    #[param(value_type = Option<uuid::Uuid>)]
    pub cursor: Option<String>,
}

#[utoipa::path(get, path = "/api/v1/users", tag = "people", params(PageQuery), responses((status = 200, body = Page<UserOut>)))]
pub async fn list_users(
    State(app): State<AppState>,
    Auth(p): Auth,
    Query(q): Query<PageQuery>,
) -> ApiResult<Json<Page<UserOut>>> {
    let limit = api_limit(q.limit)?;
    let users = app
        .engine
        .users(&p, cursor_id::<UserId>(q.cursor.as_deref())?, Some(limit))
        .await?;
    let next = next_cursor(&users, limit, |u| u.user.id.to_string());
    Ok(Json(Page {
        items: users.into_iter().map(Into::into).collect(),
        next_cursor: next,
    }))
}

#[utoipa::path(post, path = "/api/v1/users", tag = "people", request_body = CreateUserIn, responses((status = 201, body = UserOut), (status = 409, body = Problem), (status = 422, body = Problem)))]
pub async fn create_user(
    State(app): State<AppState>,
    Auth(p): Auth,
    Json(b): Json<CreateUserIn>,
) -> ApiResult<Response> {
    let n = engine::people::NewUser {
        email: b.email,
        name: b.name,
        role: b.role,
        password: b.password,
        tier: b.tier,
        languages: b.languages,
        skills: b.skills,
        team_ids: b.team_ids.into_iter().map(TeamId).collect(),
        capacity: b.capacity,
        channel_capacity: b.channel_capacity,
    };
    Ok(created(UserOut::from(app.engine.add_user(&p, n).await?)))
}

#[utoipa::path(get, path = "/api/v1/users/{id}", tag = "people", params(("id" = Uuid, Path)), responses((status = 200, body = UserOut), (status = 404, body = Problem)))]
pub async fn get_user(
    State(app): State<AppState>,
    Auth(p): Auth,
    PathParam(uid): PathParam,
) -> ApiResult<Json<UserOut>> {
    Ok(Json(app.engine.user(&p, id(&uid)?).await?.into()))
}

#[utoipa::path(patch, path = "/api/v1/users/{id}", tag = "people", params(("id" = Uuid, Path)), request_body = PatchUserIn,
    responses((status = 200, body = UserOut), (status = 403, body = Problem), (status = 404, body = Problem),
        (status = 409, body = Problem, description = "The workspace's last active owner cannot give up the role or be deactivated"),
        (status = 422, body = Problem)))]
pub async fn patch_user(
    State(app): State<AppState>,
    Auth(p): Auth,
    PathParam(uid): PathParam,
    Json(b): Json<PatchUserIn>,
) -> ApiResult<Json<UserOut>> {
    let patch = engine::people::UserPatch {
        name: b.name,
        role: b.role,
        tier: b.tier,
        languages: b.languages,
        skills: b.skills,
        team_ids: b.team_ids.map(|t| t.into_iter().map(TeamId).collect()),
        capacity: b.capacity,
        channel_capacity: b.channel_capacity,
        presence: b.presence,
        active: b.active,
    };
    Ok(Json(
        app.engine.update_user(&p, id(&uid)?, patch).await?.into(),
    ))
}

#[utoipa::path(get, path = "/api/v1/teams", tag = "people", params(PageQuery), responses((status = 200, body = Page<TeamOut>)))]
pub async fn list_teams(
    State(app): State<AppState>,
    Auth(p): Auth,
    Query(q): Query<PageQuery>,
) -> ApiResult<Json<Page<TeamOut>>> {
    let limit = api_limit(q.limit)?;
    let teams = app
        .engine
        .teams(&p, cursor_id::<TeamId>(q.cursor.as_deref())?, Some(limit))
        .await?;
    let next = next_cursor(&teams, limit, |t| t.id.to_string());
    Ok(Json(Page {
        items: teams.into_iter().map(Into::into).collect(),
        next_cursor: next,
    }))
}

#[utoipa::path(post, path = "/api/v1/teams", tag = "people", request_body = CreateTeamIn, responses((status = 201, body = TeamOut), (status = 409, body = Problem)))]
pub async fn create_team(
    State(app): State<AppState>,
    Auth(p): Auth,
    Json(b): Json<CreateTeamIn>,
) -> ApiResult<Response> {
    let input = engine::people::TeamInput {
        name: Some(b.name),
        tier: b.tier,
        routing: b.routing.as_deref().map(routing_mode).transpose()?,
        reroute_after_s: Some(b.reroute_after_s),
        escalate_to: Some(b.escalate_to.map(TeamId)),
    };
    Ok(created(TeamOut::from(
        app.engine.create_team_with(&p, input).await?,
    )))
}

#[utoipa::path(get, path = "/api/v1/teams/{id}", tag = "people", params(("id" = Uuid, Path)), responses((status = 200, body = TeamOut), (status = 404, body = Problem)))]
pub async fn get_team(
    State(app): State<AppState>,
    Auth(p): Auth,
    PathParam(tid): PathParam,
) -> ApiResult<Json<TeamOut>> {
    let (t, members) = app.engine.team(&p, id(&tid)?).await?;
    let mut out = TeamOut::from(t);
    out.member_ids = Some(members.into_iter().map(|m| m.0).collect());
    Ok(Json(out))
}

#[utoipa::path(patch, path = "/api/v1/teams/{id}", tag = "people", params(("id" = Uuid, Path)), request_body = PatchTeamIn, responses((status = 200, body = TeamOut)))]
pub async fn patch_team(
    State(app): State<AppState>,
    Auth(p): Auth,
    PathParam(tid): PathParam,
    Json(b): Json<PatchTeamIn>,
) -> ApiResult<Json<TeamOut>> {
    let input = engine::people::TeamInput {
        name: b.name,
        tier: b.tier,
        routing: b.routing.as_deref().map(routing_mode).transpose()?,
        reroute_after_s: b.reroute_after_s,
        escalate_to: b.escalate_to.map(|t| t.map(TeamId)),
    };
    Ok(Json(
        app.engine
            .update_team_with(&p, id(&tid)?, input)
            .await?
            .into(),
    ))
}

#[utoipa::path(post, path = "/api/v1/tickets/{id}/escalate", tag = "tickets", params(("id" = String, Path, description = "Id or number")), request_body = EscalateIn,
    responses((status = 200, body = TicketOut, description = "Escalated: tier, team and assignee changed; the reason is an internal note"),
        (status = 403, body = Problem, description = "Light agents cannot escalate"),
        (status = 404, body = Problem, description = "No such ticket, or no such team"),
        (status = 409, body = Problem, description = "Solved or closed, at the highest tier with no team named, or already there"),
        (status = 422, body = Problem)))]
pub async fn escalate_ticket(
    State(app): State<AppState>,
    Auth(p): Auth,
    PathParam(t): PathParam,
    Json(b): Json<EscalateIn>,
) -> ApiResult<Json<TicketOut>> {
    let t = app
        .engine
        .escalate(&p, ticket_ref(&t)?, &b.reason, b.team_id.map(TeamId))
        .await?;
    one_with_sla(&app, &p, t).await
}

/// A ticket's experts or followers, for the two lists.
async fn circle_ids(
    app: &AppState,
    p: &engine::Principal,
    t: &str,
    c: Circle,
) -> ApiResult<Vec<Uuid>> {
    let ids = app.engine.circle(p, ticket_ref(t)?, c).await?;
    Ok(ids.into_iter().map(|u| u.0).collect())
}

async fn join_circle(
    app: &AppState,
    p: &engine::Principal,
    t: &str,
    c: Circle,
    user: Uuid,
) -> ApiResult<StatusCode> {
    app.engine
        .join_circle(p, ticket_ref(t)?, c, UserId(user))
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

async fn leave_circle(
    app: &AppState,
    p: &engine::Principal,
    t: &str,
    c: Circle,
    user: &str,
) -> ApiResult<StatusCode> {
    let user: UserId = user.parse().map_err(|_| ApiError::not_found())?;
    app.engine.leave_circle(p, ticket_ref(t)?, c, user).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(get, path = "/api/v1/tickets/{id}/collaborators", tag = "tickets", params(("id" = String, Path, description = "Id or number")),
    responses((status = 200, body = CollaboratorList), (status = 404, body = Problem)))]
pub async fn list_collaborators(
    State(app): State<AppState>,
    Auth(p): Auth,
    PathParam(t): PathParam,
) -> ApiResult<Json<CollaboratorList>> {
    Ok(Json(CollaboratorList {
        user_ids: circle_ids(&app, &p, &t, Circle::Experts).await?,
    }))
}

#[utoipa::path(post, path = "/api/v1/tickets/{id}/collaborators", tag = "tickets", params(("id" = String, Path, description = "Id or number")), request_body = CollaboratorIn,
    responses((status = 204, description = "Invited (or already was); they are told live"),
        (status = 403, body = Problem, description = "Light agents cannot invite"),
        (status = 404, body = Problem, description = "No such ticket or user"),
        (status = 409, body = Problem, description = "The user is deactivated, or the ticket has 20 experts"),
        (status = 422, body = Problem)))]
pub async fn add_collaborator(
    State(app): State<AppState>,
    Auth(p): Auth,
    PathParam(t): PathParam,
    Json(b): Json<CollaboratorIn>,
) -> ApiResult<StatusCode> {
    join_circle(&app, &p, &t, Circle::Experts, b.user_id).await
}

#[utoipa::path(delete, path = "/api/v1/tickets/{id}/collaborators/{user_id}", tag = "tickets",
    params(("id" = String, Path, description = "Id or number"), ("user_id" = Uuid, Path)),
    responses((status = 204, description = "No longer on the ticket"), (status = 403, body = Problem), (status = 404, body = Problem)))]
pub async fn remove_collaborator(
    State(app): State<AppState>,
    Auth(p): Auth,
    axum::extract::Path((t, user)): axum::extract::Path<(String, String)>,
) -> ApiResult<StatusCode> {
    leave_circle(&app, &p, &t, Circle::Experts, &user).await
}

#[utoipa::path(get, path = "/api/v1/tickets/{id}/followers", tag = "tickets", params(("id" = String, Path, description = "Id or number")),
    responses((status = 200, body = FollowerList), (status = 404, body = Problem)))]
pub async fn list_followers(
    State(app): State<AppState>,
    Auth(p): Auth,
    PathParam(t): PathParam,
) -> ApiResult<Json<FollowerList>> {
    Ok(Json(FollowerList {
        user_ids: circle_ids(&app, &p, &t, Circle::Followers).await?,
    }))
}

#[utoipa::path(post, path = "/api/v1/tickets/{id}/followers", tag = "tickets", params(("id" = String, Path, description = "Id or number")), request_body = FollowerIn,
    responses((status = 204, description = "Following (or already was): told live when the customer writes or the status changes"),
        (status = 403, body = Problem, description = "Light agents may follow only themselves"),
        (status = 404, body = Problem, description = "No such ticket or user"),
        (status = 409, body = Problem, description = "The user is deactivated, or the ticket has 50 followers"),
        (status = 422, body = Problem)))]
pub async fn add_follower(
    State(app): State<AppState>,
    Auth(p): Auth,
    PathParam(t): PathParam,
    Json(b): Json<FollowerIn>,
) -> ApiResult<StatusCode> {
    join_circle(&app, &p, &t, Circle::Followers, b.user_id).await
}

#[utoipa::path(delete, path = "/api/v1/tickets/{id}/followers/{user_id}", tag = "tickets",
    params(("id" = String, Path, description = "Id or number"), ("user_id" = Uuid, Path)),
    responses((status = 204, description = "No longer following"), (status = 403, body = Problem, description = "Light agents may unfollow only themselves"), (status = 404, body = Problem)))]
pub async fn remove_follower(
    State(app): State<AppState>,
    Auth(p): Auth,
    axum::extract::Path((t, user)): axum::extract::Path<(String, String)>,
) -> ApiResult<StatusCode> {
    leave_circle(&app, &p, &t, Circle::Followers, &user).await
}

#[utoipa::path(put, path = "/api/v1/tickets/{id}/messages/{message_id}/solution", tag = "tickets",
    params(("id" = String, Path, description = "Id or number"), ("message_id" = Uuid, Path)), request_body = SolutionIn,
    responses((status = 204, description = "Marked or unmarked"),
        (status = 404, body = Problem, description = "No such ticket, or no such message on it"),
        (status = 409, body = Problem, description = "Only an agent's note or reply can be a solution"),
        (status = 422, body = Problem)))]
pub async fn set_solution(
    State(app): State<AppState>,
    Auth(p): Auth,
    axum::extract::Path((t, m)): axum::extract::Path<(String, String)>,
    Json(b): Json<SolutionIn>,
) -> ApiResult<StatusCode> {
    let m: MessageId = m.parse().map_err(|_| ApiError::not_found())?;
    app.engine
        .mark_solution(&p, ticket_ref(&t)?, m, b.solution)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(get, path = "/api/v1/tickets/{id}/solutions", tag = "tickets", params(("id" = String, Path, description = "Id or number")),
    responses((status = 200, body = SolutionList, description = "Solutions marked on the most similar other tickets, at most 5"), (status = 404, body = Problem)))]
pub async fn similar_solutions(
    State(app): State<AppState>,
    Auth(p): Auth,
    PathParam(t): PathParam,
) -> ApiResult<Json<SolutionList>> {
    let ticket = app.engine.ticket(&p, ticket_ref(&t)?).await?;
    let text = app.engine.ticket_gist(&p, &ticket).await?;
    let items = app
        .engine
        .similar_solutions(&p, ticket.id, &text, 5)
        .await?
        .into_iter()
        .map(|s| SolutionOut {
            ticket_id: s.ticket_id.0,
            number: s.number,
            subject: s.subject,
            message_id: s.message_id.0,
            text: s.text,
        })
        .collect();
    Ok(Json(SolutionList { items }))
}

fn routing_mode(s: &str) -> ApiResult<domain::routing::RoutingMode> {
    domain::routing::RoutingMode::parse(s).map_err(|e| ApiError::field("routing", e.to_string()))
}

#[utoipa::path(get, path = "/api/v1/tokens", tag = "people", responses((status = 200, body = Page<TokenOut>)))]
pub async fn list_tokens(
    State(app): State<AppState>,
    Auth(p): Auth,
) -> ApiResult<Json<Page<TokenOut>>> {
    Ok(Json(Page {
        items: app
            .engine
            .tokens(&p)
            .await?
            .into_iter()
            .map(Into::into)
            .collect(),
        next_cursor: None,
    }))
}

#[utoipa::path(post, path = "/api/v1/tokens", tag = "people", request_body = CreateTokenIn, responses((status = 201, body = CreatedTokenOut)))]
pub async fn create_token(
    State(app): State<AppState>,
    Auth(p): Auth,
    Json(b): Json<CreateTokenIn>,
) -> ApiResult<Response> {
    let user = b.user_id.map(UserId).unwrap_or(p.user_id);
    let (t, secret) = app.engine.create_token(&p, user, &b.name).await?;
    Ok(created(CreatedTokenOut {
        token: t.into(),
        secret,
    }))
}

#[utoipa::path(delete, path = "/api/v1/tokens/{id}", tag = "people", params(("id" = Uuid, Path)), responses((status = 204), (status = 404, body = Problem)))]
pub async fn revoke_token(
    State(app): State<AppState>,
    Auth(p): Auth,
    PathParam(tid): PathParam,
) -> ApiResult<StatusCode> {
    app.engine.revoke_token(&p, id(&tid)?).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(get, path = "/api/v1/custom-fields", tag = "tickets", responses((status = 200, body = Page<FieldOut>)))]
pub async fn list_fields(
    State(app): State<AppState>,
    Auth(p): Auth,
) -> ApiResult<Json<Page<FieldOut>>> {
    Ok(Json(Page {
        items: app
            .engine
            .fields(&p)
            .await?
            .into_iter()
            .map(Into::into)
            .collect(),
        next_cursor: None,
    }))
}

#[utoipa::path(post, path = "/api/v1/custom-fields", tag = "tickets", request_body = CreateFieldIn, responses((status = 201, body = FieldOut), (status = 409, body = Problem)))]
pub async fn create_field(
    State(app): State<AppState>,
    Auth(p): Auth,
    Json(b): Json<CreateFieldIn>,
) -> ApiResult<Response> {
    Ok(created(FieldOut::from(
        app.engine
            .create_field(
                &p,
                engine::people::NewField {
                    key: b.key,
                    label: b.label,
                    field_type: b.field_type,
                    options: b.options,
                    required: b.required,
                    applies_to: b.applies_to,
                },
            )
            .await?,
    )))
}

#[utoipa::path(patch, path = "/api/v1/custom-fields/{id}", tag = "tickets", params(("id" = Uuid, Path)), request_body = PatchFieldIn, responses((status = 200, body = FieldOut), (status = 404, body = Problem), (status = 409, body = Problem)))]
pub async fn patch_field(
    State(app): State<AppState>,
    Auth(p): Auth,
    PathParam(fid): PathParam,
    Json(b): Json<PatchFieldIn>,
) -> ApiResult<Json<FieldOut>> {
    let patch = engine::people::FieldPatch {
        label: b.label,
        options: b.options,
        required: b.required,
        position: b.position,
        archived: b.archived,
    };
    Ok(Json(
        app.engine
            .update_field(&p, FieldId(id(&fid)?), patch)
            .await?
            .into(),
    ))
}

// ---------------------------------------------------------------- customers

fn identities(c: &CustomerIn) -> ApiResult<Vec<Identity>> {
    let mut out = Vec::new();
    let mut errors = Vec::new();
    let named = [
        (IdentityKind::Email, &c.email),
        (IdentityKind::Phone, &c.phone),
        (IdentityKind::Telegram, &c.telegram),
        (IdentityKind::Whatsapp, &c.whatsapp),
        (IdentityKind::Vk, &c.vk),
        (IdentityKind::Facebook, &c.facebook),
        (IdentityKind::Instagram, &c.instagram),
        (IdentityKind::Viber, &c.viber),
        (IdentityKind::External, &c.external),
    ];
    let listed = c.identities.iter().map(|i| (i.kind, Some(i.value.clone())));
    for (kind, v) in named.into_iter().map(|(k, v)| (k, v.clone())).chain(listed) {
        if let Some(v) = v {
            match Identity::parse(kind, &v) {
                Ok(i) if !out.contains(&i) => out.push(i),
                Ok(_) => {}
                Err(domain::DomainError::Invalid { message, .. }) => {
                    errors.push((format!("customer.{kind}"), message.to_string()))
                }
                Err(e) => errors.push((format!("customer.{kind}"), e.to_string())),
            }
        }
    }
    if c.identities.len() > 20 {
        errors.push(("customer.identities".into(), "at most 20".into()));
    }
    if errors.is_empty() {
        Ok(out)
    } else {
        Err(ApiError::validation(errors))
    }
}

pub(crate) fn customer_input(c: &CustomerIn) -> ApiResult<CustomerInput> {
    Ok(CustomerInput {
        name: c.name.clone(),
        language: c.language.clone(),
        identities: identities(c)?,
        ..CustomerInput::default()
    })
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct CustomerQuery {
    /// Items per page: 1–200, default 50.
    #[param(minimum = 1, maximum = 200)]
    pub limit: Option<i64>,
    /// From the previous page's `next_cursor`.
    #[param(value_type = Option<uuid::Uuid>)]
    pub cursor: Option<String>,
    /// Part of a name or identity.
    pub q: Option<String>,
}

#[utoipa::path(get, path = "/api/v1/customers", tag = "customers", params(CustomerQuery), responses((status = 200, body = Page<CustomerOut>)))]
pub async fn list_customers(
    State(app): State<AppState>,
    Auth(p): Auth,
    Query(q): Query<CustomerQuery>,
) -> ApiResult<Json<Page<CustomerOut>>> {
    let limit = api_limit(q.limit)?;
    if q.q.as_ref().is_some_and(|s| s.chars().count() > 200) {
        return Err(ApiError::field("q", "at most 200 characters"));
    }
    let items = app
        .engine
        .customers(
            &p,
            cursor_id::<CustomerId>(q.cursor.as_deref())?,
            q.q.as_deref(),
            Some(limit),
        )
        .await?;
    let next = next_cursor(&items, limit, |c| c.id.to_string());
    Ok(Json(Page {
        items: items.into_iter().map(Into::into).collect(),
        next_cursor: next,
    }))
}

#[utoipa::path(post, path = "/api/v1/customers", tag = "customers", request_body = CustomerIn, responses((status = 201, body = CustomerOut), (status = 409, body = Problem)))]
pub async fn create_customer(
    State(app): State<AppState>,
    Auth(p): Auth,
    Json(b): Json<CustomerIn>,
) -> ApiResult<Response> {
    Ok(created(CustomerOut::from(
        app.engine.create_customer(&p, customer_input(&b)?).await?,
    )))
}

#[utoipa::path(get, path = "/api/v1/customers/{id}", tag = "customers", params(("id" = Uuid, Path)), responses((status = 200, body = CustomerOut), (status = 404, body = Problem)))]
pub async fn get_customer(
    State(app): State<AppState>,
    Auth(p): Auth,
    PathParam(cid): PathParam,
) -> ApiResult<Json<CustomerOut>> {
    Ok(Json(app.engine.customer(&p, id(&cid)?).await?.into()))
}

#[utoipa::path(patch, path = "/api/v1/customers/{id}", tag = "customers", params(("id" = Uuid, Path)), request_body = PatchCustomerIn, responses((status = 200, body = CustomerOut),
    (status = 404, body = Problem, description = "No such customer, organisation or customer field"),
    (status = 409, body = Problem, description = "Merged away, or an identity belongs to another customer"),
    (status = 422, body = Problem)))]
pub async fn patch_customer(
    State(app): State<AppState>,
    Auth(p): Auth,
    PathParam(cid): PathParam,
    Json(b): Json<PatchCustomerIn>,
) -> ApiResult<Json<CustomerOut>> {
    let add = identities(&CustomerIn {
        identities: b.identities.clone(),
        ..Default::default()
    })?;
    let patch = CustomerPatch {
        name: b.name,
        language: b.language,
        notes: b.notes,
        add_identities: add,
        tags: b.tags,
        organization_id: b.organization_id.map(|o| o.map(OrganizationId)),
        custom_fields: b.custom_fields,
    };
    let cid = id(&cid)?;
    let mut c = app.engine.update_customer(&p, cid, patch).await?;
    if let Some(o) = b.outreach_opt_out {
        c = app.engine.set_outreach_opt_out(&p, cid, o).await?;
    }
    Ok(Json(c.into()))
}

#[utoipa::path(post, path = "/api/v1/customers/{id}/merge", tag = "customers", params(("id" = Uuid, Path)), request_body = MergeIn, responses((status = 200, body = CustomerOut), (status = 404, body = Problem)))]
pub async fn merge_customer(
    State(app): State<AppState>,
    Auth(p): Auth,
    PathParam(cid): PathParam,
    Json(b): Json<MergeIn>,
) -> ApiResult<Json<CustomerOut>> {
    Ok(Json(
        app.engine
            .merge_customers(&p, id(&cid)?, CustomerId(b.source_id))
            .await?
            .into(),
    ))
}

#[utoipa::path(get, path = "/api/v1/customers/{id}/suggestions", tag = "customers", params(("id" = Uuid, Path)),
    responses((status = 200, body = SuggestionList, description = "Open suggestions, newest first, at most 50"),
        (status = 404, body = Problem)))]
pub async fn customer_suggestions(
    State(app): State<AppState>,
    Auth(p): Auth,
    PathParam(cid): PathParam,
) -> ApiResult<Json<SuggestionList>> {
    let items = app.engine.merge_suggestions(&p, id(&cid)?).await?;
    Ok(Json(SuggestionList {
        items: items.into_iter().map(Into::into).collect(),
    }))
}

#[utoipa::path(post, path = "/api/v1/customers/{id}/suggestions/{suggestion_id}/dismiss", tag = "customers",
    params(("id" = Uuid, Path), ("suggestion_id" = Uuid, Path)),
    responses((status = 204, description = "Dismissed: the pair is not suggested again"),
        (status = 403, body = Problem, description = "Light agents cannot change customers"),
        (status = 404, body = Problem, description = "No such customer or open suggestion")))]
pub async fn dismiss_suggestion(
    State(app): State<AppState>,
    Auth(p): Auth,
    PathPair(cid, sid): PathPair,
) -> ApiResult<StatusCode> {
    app.engine
        .dismiss_suggestion(&p, id(&cid)?, id(&sid)?)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(patch, path = "/api/v1/customers/{id}/identities/{identity_id}", tag = "customers",
    params(("id" = Uuid, Path), ("identity_id" = Uuid, Path)), request_body = IdentityPatchIn,
    responses((status = 200, body = CustomerOut),
        (status = 403, body = Problem, description = "Light agents cannot change customers"),
        (status = 404, body = Problem, description = "No such customer or identity of theirs"),
        (status = 409, body = Problem, description = "The customer was merged into another")))]
pub async fn patch_identity(
    State(app): State<AppState>,
    Auth(p): Auth,
    PathPair(cid, iid): PathPair,
    Json(b): Json<IdentityPatchIn>,
) -> ApiResult<Json<CustomerOut>> {
    Ok(Json(
        app.engine
            .set_identity_shared(&p, id(&cid)?, id(&iid)?, b.shared)
            .await?
            .into(),
    ))
}

#[utoipa::path(get, path = "/api/v1/customers/{id}/timeline", tag = "customers", params(("id" = Uuid, Path), HistoryQuery), responses((status = 200, body = Page<EventOut>)))]
pub async fn customer_timeline(
    State(app): State<AppState>,
    Auth(p): Auth,
    PathParam(cid): PathParam,
    Query(q): Query<HistoryQuery>,
) -> ApiResult<Json<Page<EventOut>>> {
    let limit = api_limit(q.limit)?;
    let codec = app.engine.cursors(&p);
    let before = event_position(&codec, q.cursor.as_deref())?;
    let items = app
        .engine
        .customer_timeline(&p, id(&cid)?, before, Some(limit))
        .await?;
    let next = next_cursor(&items, limit, |e| codec.encode(Cursor { tx: 0, id: e.id }));
    Ok(Json(Page {
        items: items
            .into_iter()
            .map(|e| EventOut::new(e, &codec))
            .collect(),
        next_cursor: next,
    }))
}

// ---------------------------------------------------------------- tickets

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct TicketQuery {
    /// Items per page: 1–200, default 50.
    #[param(minimum = 1, maximum = 200)]
    pub limit: Option<i64>,
    /// From the previous page's `next_cursor`.
    #[param(value_type = Option<uuid::Uuid>)]
    pub cursor: Option<String>,
    /// Comma-separated statuses.
    pub status: Option<String>,
    /// Comma-separated priorities.
    pub priority: Option<String>,
    /// Comma-separated channels.
    pub channel: Option<String>,
    /// A user id, or `none` for unassigned.
    pub assignee_id: Option<String>,
    /// A team id, or `none`.
    pub team_id: Option<String>,
    pub customer_id: Option<Uuid>,
    /// Only tickets this user follows.
    pub follower_id: Option<Uuid>,
    pub tag: Option<String>,
    /// Text in the subject or a message.
    pub q: Option<String>,
    /// Only unsolved tickets whose SLA is at risk (a warning fell, the target
    /// has not) or breached (a target passed before it was met); nearest
    /// target first.
    #[param(inline)]
    pub sla: Option<SlaQuery>,
}

#[derive(Deserialize, utoipa::ToSchema, Clone, Copy)]
#[serde(rename_all = "snake_case")]
pub enum SlaQuery {
    AtRisk,
    Breached,
}

fn csv<T>(
    field: &str,
    v: Option<&str>,
    parse: fn(&str) -> Result<T, domain::DomainError>,
) -> ApiResult<Vec<T>> {
    v.map(|s| {
        s.split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(|s| {
                parse(s).map_err(|e| {
                    ApiError::field(
                        field,
                        e.to_string()
                            .split(": ")
                            .last()
                            .unwrap_or_default()
                            .to_owned(),
                    )
                })
            })
            .collect()
    })
    .unwrap_or(Ok(Vec::new()))
}

fn maybe_none<T: std::str::FromStr>(field: &str, v: Option<&str>) -> ApiResult<Option<Option<T>>> {
    match v {
        None | Some("") => Ok(None),
        Some("none") => Ok(Some(None)),
        Some(s) => s
            .parse::<T>()
            .map(|x| Some(Some(x)))
            .map_err(|_| ApiError::field(field, "an id or none")),
    }
}

#[utoipa::path(get, path = "/api/v1/tickets", tag = "tickets", params(TicketQuery), responses((status = 200, body = Page<TicketOut>), (status = 422, body = Problem)))]
pub async fn list_tickets(
    State(app): State<AppState>,
    Auth(p): Auth,
    Query(q): Query<TicketQuery>,
) -> ApiResult<Json<Page<TicketOut>>> {
    let limit = api_limit(q.limit)?;
    let filter = engine::model::Filter {
        statuses: csv("status", q.status.as_deref(), Status::parse)?,
        priorities: csv("priority", q.priority.as_deref(), Priority::parse)?,
        channels: csv("channel", q.channel.as_deref(), Channel::parse)?,
        assignee: maybe_none::<UserId>("assignee_id", q.assignee_id.as_deref())?,
        team: maybe_none::<TeamId>("team_id", q.team_id.as_deref())?,
        customer: q.customer_id.map(CustomerId),
        follower: q.follower_id.map(UserId),
        tag: q.tag.map(|t| t.trim().to_lowercase()),
        text: q.q.filter(|s| !s.trim().is_empty()),
        sla: q.sla.map(|v| {
            let view = match v {
                SlaQuery::AtRisk => engine::model::SlaView::AtRisk,
                SlaQuery::Breached => engine::model::SlaView::Breached,
            };
            (view, app.engine.now())
        }),
        ..Default::default()
    };
    let items = app
        .engine
        .tickets(
            &p,
            &filter,
            cursor_id::<TicketId>(q.cursor.as_deref())?,
            Some(limit),
        )
        .await?;
    let next = next_cursor(&items, limit, |t| t.id.to_string());
    Ok(Json(Page {
        items: with_sla(&app, &p, items).await?,
        next_cursor: next,
    }))
}

/// Tickets as the API shows them, each with its SLA clocks.
pub(crate) async fn with_sla(
    app: &AppState,
    p: &engine::Principal,
    tickets: Vec<engine::model::Ticket>,
) -> ApiResult<Vec<TicketOut>> {
    let ids: Vec<TicketId> = tickets.iter().map(|t| t.id).collect();
    let slas = app.engine.ticket_slas(p, &ids).await?;
    let now = app.engine.now();
    Ok(tickets
        .into_iter()
        .map(|t| {
            let sla = slas
                .iter()
                .find(|s| s.ticket_id == t.id)
                .map(|s| crate::sla_api::ticket_sla_out(s, now));
            TicketOut {
                sla,
                ..TicketOut::from(t)
            }
        })
        .collect())
}

async fn one_with_sla(
    app: &AppState,
    p: &engine::Principal,
    t: engine::model::Ticket,
) -> ApiResult<Json<TicketOut>> {
    let mut v = with_sla(app, p, vec![t]).await?;
    v.pop()
        .map(Json)
        .ok_or_else(|| ApiError::from(engine::EngineError::NotFound))
}

#[utoipa::path(post, path = "/api/v1/tickets", tag = "tickets", request_body = CreateTicketIn,
    params(("Idempotency-Key" = Option<String>, Header, description = "A repeat returns the first result")),
    responses((status = 201, body = CreatedTicketOut), (status = 200, body = CreatedTicketOut, description = "Duplicate or idempotent replay"),
        (status = 409, body = Problem, description = "The first message cannot go out (channel, no email address, no mailbox that sends), a status a new ticket cannot take, or a required field missing for solved"),
        (status = 422, body = Problem)))]
pub async fn create_ticket(
    State(app): State<AppState>,
    Auth(p): Auth,
    body: Hashed<CreateTicketIn>,
) -> ApiResult<Response> {
    let Hashed { value: b, idem } = body;
    if let Some(idem) = &idem
        && let Some(saved) = app.engine.idempotent_replay(&p, idem).await?
    {
        return replay_ticket(&app, &p, &saved).await;
    }
    let customer = match (&b.customer_id, &b.customer) {
        (Some(id), None) => CustomerRef::Id(CustomerId(*id)),
        (None, Some(c)) => CustomerRef::Input(customer_input(c)?),
        (Some(_), Some(_)) => {
            return Err(ApiError::field(
                "customer",
                "give either customer_id or customer, not both",
            ));
        }
        (None, None) => {
            return Err(ApiError::field(
                "customer",
                "required: customer_id, or customer with an email, phone or other identity",
            ));
        }
    };
    let n = NewTicket {
        subject: b.subject,
        channel: b.channel.unwrap_or(Channel::Api),
        priority: b.priority,
        customer,
        body: Body {
            text: b.message.body,
            html: b.message.html,
            attachments: b
                .message
                .attachments
                .into_iter()
                .map(AttachmentId)
                .collect(),
        },
        external_id: b.message.external_id,
        tags: b.tags,
        category: b.category,
        assignee_id: b.assignee_id.map(UserId),
        team_id: b.team_id.map(TeamId),
        tier: b.tier,
        custom_fields: b.custom_fields,
        from_agent: b.author == crate::dto::FirstAuthor::Agent,
        status: b.status,
        cc: b.cc,
        account_id: b.account_id.map(AccountId),
    };
    match app.engine.create_ticket(&p, n, idem.clone()).await {
        Ok(c) => {
            let status = if c.duplicate {
                StatusCode::OK
            } else {
                StatusCode::CREATED
            };
            ::metrics::counter!("otklik_tickets_created_total").increment(u64::from(!c.duplicate));
            Ok((
                status,
                axum::Json(CreatedTicketOut {
                    ticket: c.ticket.into(),
                    message: c.message.into(),
                    duplicate: c.duplicate,
                }),
            )
                .into_response())
        }
        // A concurrent request with the same key won: answer with its result.
        Err(EngineError::Duplicate(Unique::IdempotencyKey)) => match idem {
            Some(idem) => match app.engine.idempotent_replay(&p, &idem).await? {
                Some(saved) => replay_ticket(&app, &p, &saved).await,
                None => Err(ApiError::new(
                    StatusCode::CONFLICT,
                    "conflict",
                    "retry the request",
                )),
            },
            None => Err(EngineError::Duplicate(Unique::IdempotencyKey).into()),
        },
        Err(e) => Err(e.into()),
    }
}

async fn replay_ticket(app: &AppState, p: &engine::Principal, saved: &str) -> ApiResult<Response> {
    let tid: TicketId = saved.parse().map_err(|_| ApiError::not_found())?;
    let t = app.engine.ticket(p, TicketRef::Id(tid)).await?;
    let first = app
        .engine
        .messages(p, TicketRef::Id(tid), None, Some(1))
        .await?
        .into_iter()
        .next()
        .ok_or_else(ApiError::not_found)?;
    Ok((
        StatusCode::CREATED,
        axum::Json(CreatedTicketOut {
            ticket: t.into(),
            message: first.into(),
            duplicate: false,
        }),
    )
        .into_response())
}

#[utoipa::path(get, path = "/api/v1/tickets/{id}", tag = "tickets", params(("id" = String, Path, description = "Id or number")), responses((status = 200, body = TicketOut), (status = 404, body = Problem)))]
pub async fn get_ticket(
    State(app): State<AppState>,
    Auth(p): Auth,
    PathParam(t): PathParam,
) -> ApiResult<Json<TicketOut>> {
    let t = app.engine.ticket(&p, ticket_ref(&t)?).await?;
    one_with_sla(&app, &p, t).await
}

#[utoipa::path(patch, path = "/api/v1/tickets/{id}", tag = "tickets", params(("id" = String, Path, description = "Id or number")), request_body = PatchTicketIn,
    responses((status = 200, body = TicketOut), (status = 422, body = Problem)))]
pub async fn patch_ticket(
    State(app): State<AppState>,
    Auth(p): Auth,
    PathParam(t): PathParam,
    Json(b): Json<PatchTicketIn>,
) -> ApiResult<Json<TicketOut>> {
    let patch = TicketPatch {
        subject: b.subject,
        status: b.status,
        priority: b.priority,
        assignee_id: b.assignee_id.map(|a| a.map(UserId)),
        team_id: b.team_id.map(|a| a.map(TeamId)),
        tier: b.tier,
        category: b.category,
        tags: b.tags,
        custom_fields: b.custom_fields,
        cc: b.cc,
        snoozed_until: b
            .snoozed_until
            .map(|s| {
                s.map(|s| {
                    domain::Timestamp::parse_rfc3339(s.trim()).ok_or_else(|| {
                        ApiError::field(
                            "snoozed_until",
                            "an RFC 3339 time, e.g. 2026-11-20T10:00:00Z",
                        )
                    })
                })
                .transpose()
            })
            .transpose()?,
    };
    let t = app.engine.update_ticket(&p, ticket_ref(&t)?, patch).await?;
    one_with_sla(&app, &p, t).await
}

/// Merges the ticket into another (`into`: its id or number): the messages,
/// experts, followers, tags and copies move there, and this ticket is closed pointing
/// at it; the customer's next message on its thread lands there too.
#[utoipa::path(post, path = "/api/v1/tickets/{id}/merge", tag = "tickets", params(("id" = String, Path, description = "Id or number")), request_body = MergeTicketIn,
    responses((status = 200, description = "The target, after the merge", body = TicketOut), (status = 404, body = Problem), (status = 409, description = "The same ticket, or one of them closed", body = Problem)))]
pub async fn merge_ticket(
    State(app): State<AppState>,
    Auth(p): Auth,
    PathParam(t): PathParam,
    Json(b): Json<MergeTicketIn>,
) -> ApiResult<Json<TicketOut>> {
    let target = app
        .engine
        .merge_ticket(&p, ticket_ref(&t)?, ticket_ref(b.into.trim())?)
        .await?;
    one_with_sla(&app, &p, target).await
}

/// Moves a customer's later message into a new ticket of the same customer
/// (channel, team, priority, tags and copies as the ticket's).
#[utoipa::path(post, path = "/api/v1/tickets/{id}/split", tag = "tickets", params(("id" = String, Path, description = "Id or number")), request_body = SplitTicketIn,
    responses((status = 201, description = "The new ticket", body = TicketOut),
        (status = 404, description = "No such ticket, or the message is not one of its", body = Problem),
        (status = 409, description = "The ticket is closed or merged, the message is not the customer's, or it is the first", body = Problem)))]
pub async fn split_ticket(
    State(app): State<AppState>,
    Auth(p): Auth,
    PathParam(t): PathParam,
    Json(b): Json<SplitTicketIn>,
) -> ApiResult<Response> {
    let n = app
        .engine
        .split_ticket(&p, ticket_ref(&t)?, MessageId(b.message_id))
        .await?;
    let Json(out) = one_with_sla(&app, &p, n).await?;
    Ok(created(out))
}

/// Reminds the caller about the ticket at `at`: their pages alert them then
/// (with the note), and a `ticket.reminder_due` event is written.
#[utoipa::path(post, path = "/api/v1/tickets/{id}/reminders", tag = "tickets", params(("id" = String, Path, description = "Id or number")), request_body = ReminderIn,
    responses((status = 201, body = ReminderOut), (status = 404, body = Problem), (status = 409, description = "A moment past or more than a year ahead, or too many waiting", body = Problem)))]
pub async fn add_reminder(
    State(app): State<AppState>,
    Auth(p): Auth,
    PathParam(t): PathParam,
    Json(b): Json<ReminderIn>,
) -> ApiResult<Response> {
    let at = domain::Timestamp::parse_rfc3339(b.at.trim())
        .ok_or_else(|| ApiError::field("at", "an RFC 3339 time, e.g. 2026-11-20T10:00:00Z"))?;
    let r = app
        .engine
        .add_reminder(&p, ticket_ref(&t)?, at, &b.note)
        .await?;
    Ok(created(ReminderOut::from(r)))
}

/// The caller's reminders still to come, soonest first (at most 100).
#[utoipa::path(get, path = "/api/v1/reminders", tag = "tickets", responses((status = 200, body = Page<ReminderOut>)))]
pub async fn list_reminders(
    State(app): State<AppState>,
    Auth(p): Auth,
) -> ApiResult<Json<Page<ReminderOut>>> {
    Ok(Json(Page {
        items: app
            .engine
            .reminders(&p)
            .await?
            .into_iter()
            .map(Into::into)
            .collect(),
        next_cursor: None,
    }))
}

/// Cancels one of the caller's reminders (another person's is not found).
#[utoipa::path(delete, path = "/api/v1/reminders/{id}", tag = "tickets", params(("id" = Uuid, Path)), responses((status = 204), (status = 404, body = Problem)))]
pub async fn cancel_reminder(
    State(app): State<AppState>,
    Auth(p): Auth,
    PathParam(rid): PathParam,
) -> ApiResult<StatusCode> {
    app.engine
        .cancel_reminder(&p, ReminderId(id(&rid)?))
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct HistoryQuery {
    /// Items per page: 1–200, default 50.
    #[param(minimum = 1, maximum = 200)]
    pub limit: Option<i64>,
    /// From the previous page's `next_cursor` (an event id).
    #[param(pattern = r"^[0-9a-f]{32}$")]
    pub cursor: Option<String>,
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct AfterQuery {
    /// Items per page: 1–200, default 50.
    #[param(minimum = 1, maximum = 200)]
    pub limit: Option<i64>,
    /// From the previous page's `next_cursor`.
    #[param(value_type = Option<uuid::Uuid>)]
    pub cursor: Option<String>,
}

#[utoipa::path(get, path = "/api/v1/tickets/{id}/messages", tag = "tickets", params(("id" = String, Path), AfterQuery), responses((status = 200, body = Page<MessageOut>)))]
pub async fn list_messages(
    State(app): State<AppState>,
    Auth(p): Auth,
    PathParam(t): PathParam,
    Query(q): Query<AfterQuery>,
) -> ApiResult<Json<Page<MessageOut>>> {
    let limit = api_limit(q.limit)?;
    let items = app
        .engine
        .messages(
            &p,
            ticket_ref(&t)?,
            cursor_id::<MessageId>(q.cursor.as_deref())?,
            Some(limit),
        )
        .await?;
    let next = next_cursor(&items, limit, |m| m.id.to_string());
    Ok(Json(Page {
        items: items.into_iter().map(Into::into).collect(),
        next_cursor: next,
    }))
}

#[utoipa::path(post, path = "/api/v1/tickets/{id}/messages/{message_id}/resend", tag = "tickets",
    params(("id" = String, Path, description = "Id or number"), ("message_id" = Uuid, Path)),
    responses((status = 200, body = MessageOut, description = "Queued again: its delivery state is `queued`"),
        (status = 403, body = Problem, description = "Light agents cannot"),
        (status = 404, body = Problem, description = "No such ticket, or no such message on it"),
        (status = 409, body = Problem, description = "Its delivery has not failed (queued, sent, delivered, or not a reply that leaves)")))]
pub async fn resend_message(
    State(app): State<AppState>,
    Auth(p): Auth,
    axum::extract::Path((t, m)): axum::extract::Path<(String, String)>,
) -> ApiResult<Json<MessageOut>> {
    let m: MessageId = m.parse().map_err(|_| ApiError::not_found())?;
    let m = app.engine.resend_message(&p, ticket_ref(&t)?, m).await?;
    Ok(Json(m.into()))
}

#[utoipa::path(post, path = "/api/v1/tickets/{id}/messages", tag = "tickets", params(("id" = String, Path), ("Idempotency-Key" = Option<String>, Header)), request_body = CreateMessageIn,
    responses((status = 201, body = PostedMessageOut),
        (status = 200, body = PostedMessageOut, description = "The same `external_id` again: the message stored before (`duplicate: true`); nothing changed"),
        (status = 403, body = Problem), (status = 422, body = Problem)))]
pub async fn create_message(
    State(app): State<AppState>,
    Auth(p): Auth,
    PathParam(t): PathParam,
    body: Hashed<CreateMessageIn>,
) -> ApiResult<Response> {
    let Hashed { value: b, idem } = body;
    let r = ticket_ref(&t)?;
    if let Some(idem) = &idem
        && let Some(saved) = app.engine.idempotent_replay(&p, idem).await?
    {
        let m = app
            .engine
            .message(&p, saved.parse().map_err(|_| ApiError::not_found())?)
            .await?;
        let ticket = app.engine.ticket(&p, TicketRef::Id(m.ticket_id)).await?;
        return Ok(created(PostedMessageOut {
            message: m.into(),
            ticket: ticket.into(),
            duplicate: false,
        }));
    }
    let n = NewMessage {
        body: Body {
            text: b.body,
            html: b.html,
            attachments: b.attachments.into_iter().map(AttachmentId).collect(),
        },
        visibility: b.visibility.unwrap_or(Visibility::Public),
        as_customer: b.author == AuthorIn::Customer,
        status: b.status,
        external_id: b.external_id,
        imported: false,
        template: None,
    };
    let posted = app.engine.add_message(&p, r, n, idem).await?;
    let status = if posted.duplicate {
        StatusCode::OK
    } else {
        StatusCode::CREATED
    };
    Ok((
        status,
        axum::Json(PostedMessageOut {
            message: posted.message.into(),
            ticket: posted.ticket.into(),
            duplicate: posted.duplicate,
        }),
    )
        .into_response())
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct EventsQuery {
    /// Items per page: 1–200, default 50.
    #[param(minimum = 1, maximum = 200)]
    pub limit: Option<i64>,
    /// A `cursor` from an earlier event or page; omit to start at the beginning.
    #[param(pattern = r"^([0-9a-f]{32})?$")]
    pub after: Option<String>,
}

#[utoipa::path(get, path = "/api/v1/tickets/{id}/events", tag = "events", params(("id" = String, Path), HistoryQuery), responses((status = 200, body = Page<EventOut>)))]
pub async fn ticket_events(
    State(app): State<AppState>,
    Auth(p): Auth,
    PathParam(t): PathParam,
    Query(q): Query<HistoryQuery>,
) -> ApiResult<Json<Page<EventOut>>> {
    let limit = api_limit(q.limit)?;
    let codec = app.engine.cursors(&p);
    let after = event_position(&codec, q.cursor.as_deref())?.unwrap_or(0);
    let items = app
        .engine
        .ticket_events(&p, ticket_ref(&t)?, after, Some(limit))
        .await?;
    let next = next_cursor(&items, limit, |e| codec.encode(Cursor { tx: 0, id: e.id }));
    Ok(Json(Page {
        items: items
            .into_iter()
            .map(|e| EventOut::new(e, &codec))
            .collect(),
        next_cursor: next,
    }))
}

#[utoipa::path(get, path = "/api/v1/events", tag = "events", params(EventsQuery),
    responses((status = 200, body = Page<EventOut>, description = "In commit order. `next_cursor` is where to continue; it is never null, so a client can keep polling"),
        (status = 400, body = Problem, description = "Invalid cursor"),
        (status = 401, body = Problem),
        (status = 403, body = Problem, description = "Owners and admins only (sessions and API tokens)")))]
pub async fn events(
    State(app): State<AppState>,
    Auth(p): Auth,
    Query(q): Query<EventsQuery>,
) -> ApiResult<Json<Page<EventOut>>> {
    let limit = api_limit(q.limit)?;
    let codec = app.engine.cursors(&p);
    let after = match q.after.as_deref() {
        None | Some("") => Cursor::default(),
        Some(s) => codec.decode(s).ok_or_else(bad_cursor)?,
    };
    let items = app.engine.event_stream(&p, after, limit).await?;
    let next = codec.encode(items.last().map(Cursor::of).unwrap_or(after));
    Ok(Json(Page {
        items: items
            .into_iter()
            .map(|e| EventOut::new(e, &codec))
            .collect(),
        next_cursor: Some(next),
    }))
}

// ---------------------------------------------------------------- attachments

#[utoipa::path(post, path = "/api/v1/attachments", tag = "tickets", request_body(content_type = "multipart/form-data", description = "One part named `file`"),
    responses((status = 201, body = AttachmentOut), (status = 413, body = Problem)))]
pub async fn upload(
    State(app): State<AppState>,
    Auth(p): Auth,
    mut mp: Multipart,
) -> ApiResult<Response> {
    let too_large = |e: axum::extract::multipart::MultipartError| {
        if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
            ApiError::new(StatusCode::PAYLOAD_TOO_LARGE, "too-large", e.body_text())
        } else {
            ApiError::bad_request(e.body_text())
        }
    };
    let mut file = None;
    while let Some(field) = mp.next_field().await.map_err(too_large)? {
        if field.name() != Some("file") || file.is_some() {
            return Err(ApiError::field(
                "body",
                "send one part, named file, and nothing else",
            ));
        }
        let filename = field.file_name().unwrap_or("attachment").to_owned();
        let ct = field
            .content_type()
            .unwrap_or("application/octet-stream")
            .to_owned();
        let bytes = field.bytes().await.map_err(too_large)?;
        file = Some((filename, ct, bytes));
    }
    let Some((filename, ct, bytes)) = file else {
        return Err(ApiError::field(
            "file",
            "send the file in a multipart part named file",
        ));
    };
    let a = app
        .engine
        .upload_attachment(&p, &filename, &ct, bytes.to_vec())
        .await?;
    Ok(created(AttachmentOut::from(a)))
}

#[utoipa::path(get, path = "/api/v1/attachments/{id}", tag = "tickets", params(("id" = Uuid, Path)), responses((status = 200, description = "The file"), (status = 404, body = Problem)))]
pub async fn download(
    State(app): State<AppState>,
    Auth(p): Auth,
    PathParam(aid): PathParam,
) -> ApiResult<Response> {
    let (a, bytes) = app.engine.attachment(&p, id(&aid)?).await?;
    Ok(file_response(&a, bytes))
}

/// A stored file as a download: never rendered in our origin, type not sniffed.
pub(crate) fn file_response(a: &engine::model::Attachment, bytes: Vec<u8>) -> Response {
    let ascii: String = a
        .filename
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || ".-_ ".contains(c) {
                c
            } else {
                '_'
            }
        })
        .collect();
    let encoded: String = a
        .filename
        .bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b".-_".contains(&b) {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect();
    let mut res = bytes.into_response();
    let h = res.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_str(&a.content_type)
            .unwrap_or(HeaderValue::from_static("application/octet-stream")),
    );
    // Always a download: an uploaded HTML file must never render in our origin.
    if let Ok(v) = HeaderValue::from_str(&format!(
        "attachment; filename=\"{ascii}\"; filename*=UTF-8''{encoded}"
    )) {
        h.insert(header::CONTENT_DISPOSITION, v);
    }
    h.insert(
        "x-content-type-options",
        HeaderValue::from_static("nosniff"),
    );
    res
}

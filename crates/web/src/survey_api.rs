//! Surveys: the public page a customer answers on (`/s/{token}`, no login,
//! no script, signed link), the workspace's settings and the answers
//! (`/api/v1/surveys…`).

use crate::AppState;
use crate::api::cursor_id;
use crate::error::{ApiError, Problem};
use crate::extract::{Auth, Json, Query};
use crate::ui::assets;
use crate::ui::i18n::{Lang, Tr};
use askama::Template;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Response};
use domain::ids::*;
use domain::survey::{CsatSettings, LowAction, NpsSettings, SurveySettings};
use engine::EngineError;
use engine::surveys::Survey;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

type ApiResult<T> = Result<T, ApiError>;

#[derive(Template)]
#[template(path = "survey.html")]
struct SurveyPage {
    tr: Tr,
    lang: &'static str,
    css: String,
    action: String,
    subject: String,
    /// (score, chosen, its word)
    scores: Vec<(i64, bool, String)>,
    comment: String,
    error: Option<String>,
    answered: bool,
    thanks: bool,
    /// NPS rather than CSAT: its own title and question.
    nps: bool,
    /// The opt-out page (`/s/{token}/stop`) rather than the question, and
    /// whether the customer is opted out now.
    stop_page: bool,
    opted_out: bool,
    /// The opt-out page after the customer's choice.
    stop_done: bool,
}

#[derive(Deserialize)]
pub struct ScoreQuery {
    score: Option<String>,
}

#[derive(Deserialize)]
pub struct AnswerForm {
    score: Option<String>,
    #[serde(default)]
    comment: String,
}

fn page(s: &Survey, token: &str, chosen: Option<i64>, comment: &str) -> SurveyPage {
    let tr = Tr::new(Lang::from_tag(&s.language).unwrap_or(Lang::ALL[0]));
    let (lo, hi) = s.kind.scale();
    SurveyPage {
        tr,
        lang: tr.lang.code(),
        css: assets::url("help.css").to_owned(),
        action: format!("/s/{token}"),
        subject: String::new(),
        scores: (lo..=hi)
            .map(|n| {
                let word = match (n, hi) {
                    (1, 5) => tr.t("survey.poor").to_owned(),
                    (5, 5) => tr.t("survey.great").to_owned(),
                    (0, 10) => tr.t("survey.unlikely").to_owned(),
                    (10, 10) => tr.t("survey.likely").to_owned(),
                    _ => String::new(),
                };
                (n, chosen == Some(n), word)
            })
            .collect(),
        comment: comment.to_owned(),
        error: None,
        answered: s.answered_at.is_some(),
        thanks: false,
        nps: s.kind == domain::survey::SurveyKind::Nps,
        stop_page: false,
        opted_out: false,
        stop_done: false,
    }
}

fn render(p: &SurveyPage, status: StatusCode) -> Response {
    match p.render() {
        Ok(html) => (status, Html(html)).into_response(),
        Err(e) => {
            tracing::error!(error = %e, "the survey page did not render");
            StatusCode::INTERNAL_SERVER_ERROR.into_response()
        }
    }
}

fn gone() -> Response {
    (
        StatusCode::NOT_FOUND,
        Html("<!doctype html><title>404</title><p>This link is not valid. · Ссылка недействительна. · ลิงก์นี้ใช้ไม่ได้</p>"),
    )
        .into_response()
}

/// `GET /s/{token}`: the question, with the score chosen in the email marked.
pub async fn show(
    State(app): State<AppState>,
    Path(token): Path<String>,
    axum::extract::Query(q): axum::extract::Query<ScoreQuery>,
) -> Response {
    let s = match app.engine.survey_by_token(&token).await {
        Ok(s) => s,
        Err(EngineError::NotFound) => return gone(),
        Err(e) => {
            tracing::error!(error = %e, "reading a survey failed");
            return StatusCode::SERVICE_UNAVAILABLE.into_response();
        }
    };
    let chosen = q.score.and_then(|v| v.parse().ok()).or(s.score);
    let comment = s.comment.clone().unwrap_or_default();
    let mut p = page(&s, &token, chosen, &comment);
    p.subject = subject_of(&app, &s).await;
    render(&p, StatusCode::OK)
}

/// `GET /s/{token}/stop`: asks whether to stop surveys (or start them again).
pub async fn stop_page(State(app): State<AppState>, Path(token): Path<String>) -> Response {
    let s = match app.engine.survey_by_token(&token).await {
        Ok(s) => s,
        Err(EngineError::NotFound) => return gone(),
        Err(e) => {
            tracing::error!(error = %e, "reading a survey failed");
            return StatusCode::SERVICE_UNAVAILABLE.into_response();
        }
    };
    let mut p = page(&s, &token, None, "");
    p.stop_page = true;
    p.opted_out = match app.engine.survey_opted_out(&s).await {
        Ok(o) => o,
        Err(e) => {
            tracing::error!(error = %e, "reading a survey opt-out failed");
            return StatusCode::SERVICE_UNAVAILABLE.into_response();
        }
    };
    render(&p, StatusCode::OK)
}

#[derive(Deserialize)]
pub struct StopForm {
    /// `on` to stop surveys, `off` to get them again.
    stop: Option<String>,
}

/// `POST /s/{token}/stop`: records the choice; the page says what holds now.
pub async fn stop(
    State(app): State<AppState>,
    Path(token): Path<String>,
    axum::Form(f): axum::Form<StopForm>,
) -> Response {
    let out = f.stop.as_deref() != Some("off");
    match app.engine.survey_opt_out(&token, out).await {
        Ok(s) => {
            let mut p = page(&s, &token, None, "");
            p.stop_page = true;
            p.opted_out = out;
            p.stop_done = true;
            render(&p, StatusCode::OK)
        }
        Err(EngineError::NotFound) => gone(),
        Err(e) => {
            tracing::error!(error = %e, "recording a survey opt-out failed");
            StatusCode::SERVICE_UNAVAILABLE.into_response()
        }
    }
}

async fn subject_of(app: &AppState, s: &Survey) -> String {
    // An NPS question is about the whole service, not the ticket it is filed under.
    if s.kind == domain::survey::SurveyKind::Nps {
        return String::new();
    }
    app.engine
        .survey_ticket(s)
        .await
        .ok()
        .flatten()
        .map(|(number, subject)| format!("#{number} {subject}"))
        .unwrap_or_default()
}

/// `POST /s/{token}`: records the answer; a thank-you page.
pub async fn answer(
    State(app): State<AppState>,
    Path(token): Path<String>,
    axum::Form(f): axum::Form<AnswerForm>,
) -> Response {
    let score = f
        .score
        .as_deref()
        .and_then(|v| v.trim().parse::<i64>().ok());
    let result = match score {
        Some(n) => app.engine.answer_survey(&token, n, &f.comment).await,
        None => match app.engine.survey_by_token(&token).await {
            Ok(s) => {
                let (lo, hi) = s.kind.scale();
                Err(EngineError::invalid(
                    "score",
                    domain::message::range(lo, hi),
                ))
            }
            Err(e) => Err(e),
        },
    };
    match result {
        Ok(s) => {
            let mut p = page(&s, &token, s.score, "");
            p.thanks = true;
            render(&p, StatusCode::OK)
        }
        Err(EngineError::NotFound) => gone(),
        Err(EngineError::Invalid(errs)) => match app.engine.survey_by_token(&token).await {
            Ok(s) => {
                let mut p = page(&s, &token, score, &f.comment);
                p.error = Some(
                    errs.first()
                        .map(|(_, m)| p.tr.message(m))
                        .unwrap_or_default(),
                );
                render(&p, StatusCode::UNPROCESSABLE_ENTITY)
            }
            Err(_) => gone(),
        },
        Err(e) => {
            tracing::error!(error = %e, "recording a survey answer failed");
            StatusCode::SERVICE_UNAVAILABLE.into_response()
        }
    }
}

/// What a workspace asks its customers.
#[derive(Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SurveySettingsIo {
    pub csat: CsatIo,
    /// Absent: off (as before NPS was offered).
    #[serde(default)]
    pub nps: NpsIo,
}

/// NPS: a customer with an email address is asked how likely they are to
/// recommend the workspace (0–10, with a comment) `after_days` after a ticket
/// of theirs is solved — the first solve since they were last asked — and
/// never twice within `every_days`. Customers who opted out (the link under
/// every survey email) are not asked.
#[derive(Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NpsIo {
    pub enabled: bool,
    /// Days from a solve to the question; absent: 30.
    #[serde(default = "default_after", deserialize_with = "domain::number::whole")]
    #[schema(minimum = 1, maximum = 365, default = 30)]
    pub after_days: i64,
    /// Fewest days between two questions to one customer; absent: 90.
    #[serde(default = "default_every", deserialize_with = "domain::number::whole")]
    #[schema(minimum = 30, maximum = 730, default = 90)]
    pub every_days: i64,
}

fn default_after() -> i64 {
    NpsSettings::default().after_days
}
fn default_every() -> i64 {
    NpsSettings::default().every_days
}

impl Default for NpsIo {
    fn default() -> Self {
        let d = NpsSettings::default();
        NpsIo {
            enabled: d.enabled,
            after_days: d.after_days,
            every_days: d.every_days,
        }
    }
}

/// CSAT: after a ticket is solved, its customer is asked (email tickets by
/// email) to rate the help from 1 to 5, with a comment.
#[derive(Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CsatIo {
    pub enabled: bool,
    /// What a score of 1 or 2 does besides alerting the assignee and the
    /// team's supervisors: `none`, `reopen` (a closed ticket gets a follow-up
    /// instead) or `follow_up` (a new ticket pointing at it); both leave an
    /// internal note with the score and comment. Absent: `none`.
    #[serde(default)]
    pub on_low: LowActionIo,
}

#[derive(Serialize, Deserialize, ToSchema, Clone, Copy, Default)]
#[serde(rename_all = "snake_case")]
pub enum LowActionIo {
    #[default]
    None,
    Reopen,
    FollowUp,
}

impl From<LowAction> for LowActionIo {
    fn from(a: LowAction) -> Self {
        match a {
            LowAction::None => LowActionIo::None,
            LowAction::Reopen => LowActionIo::Reopen,
            LowAction::FollowUp => LowActionIo::FollowUp,
        }
    }
}

impl From<LowActionIo> for LowAction {
    fn from(a: LowActionIo) -> Self {
        match a {
            LowActionIo::None => LowAction::None,
            LowActionIo::Reopen => LowAction::Reopen,
            LowActionIo::FollowUp => LowAction::FollowUp,
        }
    }
}

impl From<SurveySettings> for SurveySettingsIo {
    fn from(s: SurveySettings) -> Self {
        SurveySettingsIo {
            csat: CsatIo {
                enabled: s.csat.enabled,
                on_low: s.csat.on_low.into(),
            },
            nps: NpsIo {
                enabled: s.nps.enabled,
                after_days: s.nps.after_days,
                every_days: s.nps.every_days,
            },
        }
    }
}

#[utoipa::path(get, path = "/api/v1/surveys/settings", tag = "surveys",
    responses((status = 200, body = SurveySettingsIo)))]
pub async fn get_settings(
    State(app): State<AppState>,
    Auth(p): Auth,
) -> ApiResult<Json<SurveySettingsIo>> {
    Ok(Json(app.engine.survey_settings(&p).await?.into()))
}

#[utoipa::path(put, path = "/api/v1/surveys/settings", tag = "surveys", request_body = SurveySettingsIo,
    responses((status = 200, body = SurveySettingsIo), (status = 403, body = Problem, description = "Owners and admins only"),
        (status = 409, body = Problem, description = "CSAT or NPS turned on while the server has no public address (`public_url`) for the links"),
        (status = 422, body = Problem)))]
pub async fn put_settings(
    State(app): State<AppState>,
    Auth(p): Auth,
    Json(b): Json<SurveySettingsIo>,
) -> ApiResult<Json<SurveySettingsIo>> {
    let s = SurveySettings {
        csat: CsatSettings {
            enabled: b.csat.enabled,
            on_low: b.csat.on_low.into(),
        },
        nps: NpsSettings {
            enabled: b.nps.enabled,
            after_days: b.nps.after_days,
            every_days: b.nps.every_days,
        },
    };
    Ok(Json(app.engine.save_survey_settings(&p, s).await?.into()))
}

/// One answered survey.
#[derive(Serialize, ToSchema)]
pub struct SurveyOut {
    pub id: Uuid,
    /// `csat` (1–5) or `nps` (0–10).
    pub kind: String,
    pub ticket_id: Option<Uuid>,
    pub customer_id: Uuid,
    pub language: String,
    pub score: Option<i64>,
    pub comment: Option<String>,
    pub sent_at: Option<String>,
    pub answered_at: Option<String>,
}

/// Answered surveys, newest first.
#[derive(Serialize, ToSchema)]
pub struct SurveyList {
    pub items: Vec<SurveyOut>,
    pub next_cursor: Option<String>,
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct SurveyQuery {
    /// Items per page: 1–200, default 50.
    #[param(minimum = 1, maximum = 200)]
    pub limit: Option<i64>,
    /// From the previous page's `next_cursor`.
    #[param(value_type = Option<uuid::Uuid>)]
    pub cursor: Option<String>,
}

impl From<Survey> for SurveyOut {
    fn from(s: Survey) -> Self {
        SurveyOut {
            id: s.id.0,
            kind: s.kind.as_str().into(),
            ticket_id: s.ticket_id.map(|t| t.0),
            customer_id: s.customer_id.0,
            language: s.language,
            score: s.score,
            comment: s.comment,
            sent_at: s.sent_at.map(|t| t.to_rfc3339()),
            answered_at: s.answered_at.map(|t| t.to_rfc3339()),
        }
    }
}

#[utoipa::path(get, path = "/api/v1/surveys", tag = "surveys", params(SurveyQuery),
    responses((status = 200, body = SurveyList), (status = 422, body = Problem)))]
pub async fn list(
    State(app): State<AppState>,
    Auth(p): Auth,
    Query(q): Query<SurveyQuery>,
) -> ApiResult<Json<SurveyList>> {
    let limit = crate::api::api_limit(q.limit)?;
    let items = app
        .engine
        .answered_surveys(&p, cursor_id::<SurveyId>(q.cursor.as_deref())?, limit)
        .await?;
    let next = (items.len() as i64 == limit)
        .then(|| items.last().map(|s| s.id.to_string()))
        .flatten();
    Ok(Json(SurveyList {
        items: items.into_iter().map(Into::into).collect(),
        next_cursor: next,
    }))
}

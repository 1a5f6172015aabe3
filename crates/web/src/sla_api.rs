//! Business hours (`/api/v1/business-hours`), the calendars SLA targets count
//! in, and SLA policies (`/api/v1/sla-policies`).

use crate::AppState;
use crate::dto::double_option;
use crate::error::{ApiError, Problem};
use crate::extract::{Auth, Json, PathParam, id};
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use domain::ids::{CalendarId, TeamId};
use domain::sla::{Clock, Clocks, Conditions};
use domain::ticket::{Channel, Priority};
use engine::sla::{BusinessHours, HoursInput, Policy, PolicyInput, TicketSla};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

type ApiResult<T> = Result<T, ApiError>;

/// Opening intervals per weekday, each `["09:00", "18:00"]` (`HH:MM`, `24:00`
/// for midnight at the end); an end at or before the start runs overnight. A day
/// left out or empty is closed.
#[derive(Serialize, Deserialize, ToSchema, Default)]
#[serde(deny_unknown_fields)]
pub struct WeekIo {
    pub mon: Option<Vec<Vec<String>>>,
    pub tue: Option<Vec<Vec<String>>>,
    pub wed: Option<Vec<Vec<String>>>,
    pub thu: Option<Vec<Vec<String>>>,
    pub fri: Option<Vec<Vec<String>>>,
    pub sat: Option<Vec<Vec<String>>>,
    pub sun: Option<Vec<Vec<String>>>,
}

impl WeekIo {
    fn days(self) -> ApiResult<[Vec<(String, String)>; 7]> {
        let all = [
            self.mon, self.tue, self.wed, self.thu, self.fri, self.sat, self.sun,
        ];
        let mut out: [Vec<(String, String)>; 7] = Default::default();
        for (i, d) in all.into_iter().enumerate() {
            for pair in d.unwrap_or_default() {
                let [a, b]: [String; 2] = pair
                    .try_into()
                    .map_err(|_| ApiError::field("week", "each interval is [start, end]"))?;
                out[i].push((a, b));
            }
        }
        Ok(out)
    }

    fn of(week: &[Vec<(String, String)>; 7]) -> WeekIo {
        let day = |i: usize| {
            Some(
                week[i]
                    .iter()
                    .map(|(a, b)| vec![a.clone(), b.clone()])
                    .collect(),
            )
        };
        WeekIo {
            mon: day(0),
            tue: day(1),
            wed: day(2),
            thu: day(3),
            fri: day(4),
            sat: day(5),
            sun: day(6),
        }
    }
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct BusinessHoursIn {
    pub name: String,
    /// An IANA time zone, as spelled in the list the schema gives.
    pub time_zone: String,
    pub week: WeekIo,
    /// Closed days, `YYYY-MM-DD` (at most 1,000); a shift that starts on one does not run.
    pub holidays: Option<Vec<String>>,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PatchBusinessHoursIn {
    pub name: Option<String>,
    pub time_zone: Option<String>,
    /// Replaces the whole week.
    pub week: Option<WeekIo>,
    /// Replaces every holiday.
    pub holidays: Option<Vec<String>>,
}

#[derive(Serialize, ToSchema)]
pub struct BusinessHoursOut {
    pub id: Uuid,
    pub name: String,
    pub time_zone: String,
    pub week: WeekIo,
    pub holidays: Vec<String>,
    pub created_at: String,
    pub updated_at: String,
}

#[derive(Serialize, ToSchema)]
pub struct BusinessHoursList {
    pub items: Vec<BusinessHoursOut>,
}

fn out(b: BusinessHours) -> BusinessHoursOut {
    BusinessHoursOut {
        id: b.id.0,
        week: WeekIo::of(&b.week),
        name: b.name,
        time_zone: b.time_zone,
        holidays: b.holidays,
        created_at: b.created_at.to_rfc3339(),
        updated_at: b.updated_at.to_rfc3339(),
    }
}

#[utoipa::path(get, path = "/api/v1/business-hours", tag = "sla",
    responses((status = 200, body = BusinessHoursList)))]
pub async fn list(
    State(app): State<AppState>,
    Auth(p): Auth,
) -> ApiResult<Json<BusinessHoursList>> {
    let items = app
        .engine
        .business_hours_list(&p)
        .await?
        .into_iter()
        .map(out)
        .collect();
    Ok(Json(BusinessHoursList { items }))
}

#[utoipa::path(post, path = "/api/v1/business-hours", tag = "sla", request_body = BusinessHoursIn,
    responses((status = 201, body = BusinessHoursOut),
        (status = 403, body = Problem, description = "Owners and admins only"),
        (status = 409, body = Problem, description = "The workspace already has 200 calendars"),
        (status = 422, body = Problem, description = "An unknown time zone, a time that is not HH:MM, a date that is not YYYY-MM-DD, more than 10 intervals a day")))]
pub async fn create(
    State(app): State<AppState>,
    Auth(p): Auth,
    Json(b): Json<BusinessHoursIn>,
) -> ApiResult<Response> {
    let input = HoursInput {
        name: Some(b.name),
        time_zone: Some(b.time_zone),
        week: Some(b.week.days()?),
        holidays: b.holidays,
    };
    let created = app.engine.create_business_hours(&p, input).await?;
    Ok((StatusCode::CREATED, Json(out(created))).into_response())
}

#[utoipa::path(get, path = "/api/v1/business-hours/{id}", tag = "sla", params(("id" = Uuid, Path)),
    responses((status = 200, body = BusinessHoursOut), (status = 404, body = Problem)))]
pub async fn get(
    State(app): State<AppState>,
    Auth(p): Auth,
    PathParam(bid): PathParam,
) -> ApiResult<Json<BusinessHoursOut>> {
    Ok(Json(out(app.engine.business_hours(&p, id(&bid)?).await?)))
}

#[utoipa::path(patch, path = "/api/v1/business-hours/{id}", tag = "sla", params(("id" = Uuid, Path)), request_body = PatchBusinessHoursIn,
    responses((status = 200, body = BusinessHoursOut), (status = 403, body = Problem), (status = 404, body = Problem), (status = 422, body = Problem)))]
pub async fn patch(
    State(app): State<AppState>,
    Auth(p): Auth,
    PathParam(bid): PathParam,
    Json(b): Json<PatchBusinessHoursIn>,
) -> ApiResult<Json<BusinessHoursOut>> {
    let input = HoursInput {
        name: b.name,
        time_zone: b.time_zone,
        week: b.week.map(WeekIo::days).transpose()?,
        holidays: b.holidays,
    };
    Ok(Json(out(app
        .engine
        .update_business_hours(&p, id(&bid)?, input)
        .await?)))
}

/// Which tickets a policy covers: each list narrows, an empty list allows any
/// value.
#[derive(Serialize, Deserialize, ToSchema, Default)]
#[serde(deny_unknown_fields)]
pub struct ConditionsIo {
    #[serde(default)]
    pub channel: Vec<String>,
    #[serde(default)]
    pub priority: Vec<String>,
    /// Team ids.
    #[serde(default)]
    pub team: Vec<Uuid>,
    /// The customer has at least one of these tags.
    #[serde(default)]
    pub customer_tags: Vec<String>,
    /// The customer's language (`ru` also covers `ru-RU`).
    #[serde(default)]
    pub language: Vec<String>,
}

impl ConditionsIo {
    fn parse(self) -> ApiResult<Conditions> {
        let channel = self
            .channel
            .iter()
            .map(|c| Channel::parse(c))
            .collect::<Result<_, _>>()
            .map_err(|e| ApiError::field("conditions.channel", e.to_string()))?;
        let priority = self
            .priority
            .iter()
            .map(|c| Priority::parse(c))
            .collect::<Result<_, _>>()
            .map_err(|e| ApiError::field("conditions.priority", e.to_string()))?;
        Ok(Conditions {
            channel,
            priority,
            team: self.team.into_iter().map(TeamId).collect(),
            customer_tags: self.customer_tags,
            language: self.language,
        })
    }

    fn of(c: &Conditions) -> ConditionsIo {
        ConditionsIo {
            channel: c.channel.iter().map(|x| x.as_str().to_owned()).collect(),
            priority: c.priority.iter().map(|x| x.as_str().to_owned()).collect(),
            team: c.team.iter().map(|t| t.0).collect(),
            customer_tags: c.customer_tags.clone(),
            language: c.language.clone(),
        }
    }
}

/// Targets in whole minutes (1 to 525,600), counted in the policy's business
/// hours or, without a calendar, around the clock; `null`: not measured. At
/// least one is set.
#[derive(Serialize, Deserialize, ToSchema, Default)]
#[serde(deny_unknown_fields)]
pub struct TargetsIo {
    #[serde(default, deserialize_with = "domain::number::whole_opt")]
    pub first_reply_minutes: Option<i64>,
    #[serde(default, deserialize_with = "domain::number::whole_opt")]
    pub next_reply_minutes: Option<i64>,
    #[serde(default, deserialize_with = "domain::number::whole_opt")]
    pub resolution_minutes: Option<i64>,
}

impl TargetsIo {
    fn parts(&self) -> (Option<i64>, Option<i64>, Option<i64>) {
        (
            self.first_reply_minutes,
            self.next_reply_minutes,
            self.resolution_minutes,
        )
    }
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SlaPolicyIn {
    pub name: String,
    /// Policies are tried in ascending position (0 to 10,000); the first that
    /// matches applies.
    #[serde(default, deserialize_with = "domain::number::whole_opt")]
    pub position: Option<i64>,
    pub conditions: Option<ConditionsIo>,
    /// Count in these business hours; `null`: calendar time.
    pub business_hours_id: Option<Uuid>,
    pub targets: TargetsIo,
    /// The share of a target after which a warning falls (0.001 to 0.999,
    /// kept per mille); 0.75 when left out, `null` for no warnings.
    #[serde(default, deserialize_with = "double_option")]
    pub warn_at: Option<Option<f64>>,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PatchSlaPolicyIn {
    pub name: Option<String>,
    #[serde(default, deserialize_with = "domain::number::whole_opt")]
    pub position: Option<i64>,
    /// Replaces every condition.
    pub conditions: Option<ConditionsIo>,
    #[serde(default, deserialize_with = "double_option")]
    pub business_hours_id: Option<Option<Uuid>>,
    /// Replaces all three targets.
    pub targets: Option<TargetsIo>,
    #[serde(default, deserialize_with = "double_option")]
    pub warn_at: Option<Option<f64>>,
}

#[derive(Serialize, ToSchema)]
pub struct SlaPolicyOut {
    pub id: Uuid,
    pub name: String,
    pub position: i64,
    pub conditions: ConditionsIo,
    pub business_hours_id: Option<Uuid>,
    pub targets: TargetsIo,
    pub warn_at: Option<f64>,
    pub created_at: String,
    pub updated_at: String,
}

#[derive(Serialize, ToSchema)]
pub struct SlaPolicyList {
    pub items: Vec<SlaPolicyOut>,
}

fn minutes(ms: Option<i64>) -> Option<i64> {
    ms.map(|m| m / 60_000)
}

fn policy_out(p: Policy) -> SlaPolicyOut {
    SlaPolicyOut {
        id: p.id.0,
        conditions: ConditionsIo::of(&p.conditions),
        business_hours_id: p.business_hours_id.map(|b| b.0),
        targets: TargetsIo {
            first_reply_minutes: minutes(p.targets.first_reply_ms),
            next_reply_minutes: minutes(p.targets.next_reply_ms),
            resolution_minutes: minutes(p.targets.resolution_ms),
        },
        warn_at: p.warn_per_mille.map(|w| w as f64 / 1000.0),
        name: p.name,
        position: p.position,
        created_at: p.created_at.to_rfc3339(),
        updated_at: p.updated_at.to_rfc3339(),
    }
}

#[utoipa::path(get, path = "/api/v1/sla-policies", tag = "sla",
    responses((status = 200, body = SlaPolicyList, description = "In the order they are tried")))]
pub async fn list_policies(
    State(app): State<AppState>,
    Auth(p): Auth,
) -> ApiResult<Json<SlaPolicyList>> {
    let items = app
        .engine
        .sla_policies(&p)
        .await?
        .into_iter()
        .map(policy_out)
        .collect();
    Ok(Json(SlaPolicyList { items }))
}

#[utoipa::path(post, path = "/api/v1/sla-policies", tag = "sla", request_body = SlaPolicyIn,
    responses((status = 201, body = SlaPolicyOut),
        (status = 403, body = Problem, description = "Owners and admins only"),
        (status = 404, body = Problem, description = "A team or calendar named is not in this workspace"),
        (status = 409, body = Problem, description = "The workspace already has 100 policies"),
        (status = 422, body = Problem, description = "No target, a target out of range, a bad condition value")))]
pub async fn create_policy(
    State(app): State<AppState>,
    Auth(p): Auth,
    Json(b): Json<SlaPolicyIn>,
) -> ApiResult<Response> {
    let input = PolicyInput {
        name: Some(b.name),
        position: b.position,
        conditions: b.conditions.map(ConditionsIo::parse).transpose()?,
        business_hours_id: Some(b.business_hours_id.map(CalendarId)),
        targets: Some(b.targets.parts()),
        warn_at: b.warn_at,
    };
    let created = app.engine.create_sla_policy(&p, input).await?;
    Ok((StatusCode::CREATED, Json(policy_out(created))).into_response())
}

#[utoipa::path(get, path = "/api/v1/sla-policies/{id}", tag = "sla", params(("id" = Uuid, Path)),
    responses((status = 200, body = SlaPolicyOut), (status = 404, body = Problem)))]
pub async fn get_policy(
    State(app): State<AppState>,
    Auth(p): Auth,
    PathParam(pid): PathParam,
) -> ApiResult<Json<SlaPolicyOut>> {
    Ok(Json(policy_out(
        app.engine.sla_policy(&p, id(&pid)?).await?,
    )))
}

#[utoipa::path(patch, path = "/api/v1/sla-policies/{id}", tag = "sla", params(("id" = Uuid, Path)), request_body = PatchSlaPolicyIn,
    responses((status = 200, body = SlaPolicyOut), (status = 403, body = Problem),
        (status = 404, body = Problem, description = "No such policy, or a team or calendar named is not in this workspace"), (status = 422, body = Problem)))]
pub async fn patch_policy(
    State(app): State<AppState>,
    Auth(p): Auth,
    PathParam(pid): PathParam,
    Json(b): Json<PatchSlaPolicyIn>,
) -> ApiResult<Json<SlaPolicyOut>> {
    let input = PolicyInput {
        name: b.name,
        position: b.position,
        conditions: b.conditions.map(ConditionsIo::parse).transpose()?,
        business_hours_id: b.business_hours_id.map(|o| o.map(CalendarId)),
        targets: b.targets.map(|t| t.parts()),
        warn_at: b.warn_at,
    };
    Ok(Json(policy_out(
        app.engine.update_sla_policy(&p, id(&pid)?, input).await?,
    )))
}

#[utoipa::path(delete, path = "/api/v1/sla-policies/{id}", tag = "sla", params(("id" = Uuid, Path)),
    responses((status = 204, description = "Deleted; its tickets are matched again"), (status = 403, body = Problem), (status = 404, body = Problem)))]
pub async fn delete_policy(
    State(app): State<AppState>,
    Auth(p): Auth,
    PathParam(pid): PathParam,
) -> ApiResult<StatusCode> {
    app.engine.delete_sla_policy(&p, id(&pid)?).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// One SLA clock of a ticket.
#[derive(Serialize, ToSchema)]
pub struct SlaClockOut {
    /// `running`, `paused`, `met` or `breached`.
    pub state: String,
    /// When the target falls (for a met clock: when it would have); `null`
    /// while paused.
    pub due_at: Option<String>,
    /// When the warning falls; `null` while paused or without warnings.
    pub warn_at: Option<String>,
    pub started_at: String,
    pub stopped_at: Option<String>,
    pub breached_at: Option<String>,
    /// Counted seconds left, while paused.
    pub remaining_s: Option<i64>,
    /// Which exchange a next-reply clock measures (1, 2, …); 0 for the others.
    pub cycle: u32,
}

/// A ticket's SLA: the policy that applies and its clocks; a clock is `null`
/// when the policy has no such target or it has not started.
#[derive(Serialize, ToSchema)]
pub struct TicketSlaOut {
    pub policy_id: Uuid,
    pub first_reply: Option<SlaClockOut>,
    pub next_reply: Option<SlaClockOut>,
    pub resolution: Option<SlaClockOut>,
}

fn rfc(ms: i64) -> String {
    domain::Timestamp::from_millis(ms).to_rfc3339()
}

fn clock_out(c: &Clock) -> SlaClockOut {
    let paused = c.state == domain::sla::ClockState::Paused;
    SlaClockOut {
        state: c.state.as_str().to_owned(),
        due_at: c.due_at.map(rfc),
        warn_at: c.warn_at.map(rfc),
        started_at: rfc(c.started_at),
        stopped_at: c.stopped_at.map(rfc),
        breached_at: c.breached_at.map(rfc),
        remaining_s: c.remaining_ms.filter(|_| paused).map(|m| m / 1000),
        cycle: c.cycle,
    }
}

/// A ticket's SLA as the API shows it at `now`.
pub fn ticket_sla_out(s: &TicketSla, now: domain::Timestamp) -> TicketSlaOut {
    let c: Clocks = engine::sla::as_of(&s.clocks, now);
    TicketSlaOut {
        policy_id: s.policy_id.0,
        first_reply: c.first_reply.as_ref().map(clock_out),
        next_reply: c.next_reply.as_ref().map(clock_out),
        resolution: c.resolution.as_ref().map(clock_out),
    }
}

//! Business hours (`/api/v1/business-hours`): the calendars SLA targets count in.

use crate::AppState;
use crate::error::{ApiError, Problem};
use crate::extract::{Auth, Json, PathParam, id};
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use engine::sla::{BusinessHours, HoursInput};
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

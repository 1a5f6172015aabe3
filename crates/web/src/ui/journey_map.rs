//! `/app/reports/journey`: the journey map of a segment — a column per
//! stage with its customers and average emotion (server-drawn SVG), the
//! stages' figures and most common touchpoints as a table, and the pain
//! points. Supervisors, admins and owners.

use super::charts::journey;
use super::reports::{duration, percent};
use super::{Chrome, Ctx, OrPage, UiError, html};
use crate::AppState;
use crate::journey_api::{MapQuery, SegmentByIo, map_out};
use askama::Template;
use axum::extract::{Query, State};
use axum::response::Response;
use serde::Deserialize;

#[derive(Deserialize)]
pub struct PageQuery {
    #[serde(default)]
    by: Option<String>,
    #[serde(default)]
    segment: Option<String>,
}

/// A stage as the table shows it.
pub struct StageRow {
    pub name: String,
    pub customers: i64,
    pub conversion: String,
    pub median: String,
    pub emotion: String,
    pub top: Vec<(String, i64)>,
}

/// A pain point as the table shows it.
pub struct PainRow {
    pub name: String,
    pub complaints: i64,
    pub low_scores: i64,
    pub churned: i64,
}

#[derive(Template)]
#[template(path = "reports_journey.html")]
pub struct JourneyPage {
    pub chrome: Chrome,
    /// (value, label, chosen)
    pub kinds: Vec<(String, String, bool)>,
    /// (value, label with customers, chosen)
    pub segments: Vec<(String, String, bool)>,
    pub by: String,
    pub customers: i64,
    pub svg: String,
    pub stages: Vec<StageRow>,
    pub pains: Vec<PainRow>,
    pub csv: String,
}

fn segment_by(s: &str) -> Option<SegmentByIo> {
    match s {
        "first_channel" => Some(SegmentByIo::FirstChannel),
        "category" => Some(SegmentByIo::Category),
        "country" => Some(SegmentByIo::Country),
        "tag" => Some(SegmentByIo::Tag),
        _ => None,
    }
}

/// A touchpoint's key as people read it: `message:telegram` → `Message · Telegram`.
fn touch_label(tr: &super::i18n::Tr, key: &str) -> String {
    let (kind, detail) = key.split_once(':').unwrap_or((key, ""));
    let kind = tr.label("touchpoint", kind);
    if detail.is_empty() {
        kind
    } else if key.starts_with("message:") || key.starts_with("call:") || key.starts_with("bot:") {
        format!("{kind} · {}", tr.label("channel", detail))
    } else {
        format!("{kind} · {detail}")
    }
}

pub async fn page(
    State(app): State<AppState>,
    ctx: Ctx,
    Query(q): Query<PageQuery>,
) -> Result<Response, UiError> {
    let tr = ctx.tr;
    let by = q.by.as_deref().and_then(segment_by);
    let segment = q
        .segment
        .filter(|s| !s.is_empty() && by.is_some())
        .map(|s| s.chars().take(200).collect::<String>());
    let mq = MapQuery {
        segment_by: by,
        segment: segment.clone(),
    };
    let m = app
        .engine
        .journey_map(&ctx.p, by.map(Into::into), segment.as_deref())
        .await
        .or_page(tr)?;
    let m = map_out(&mq, m);
    let by_name = q.by.clone().filter(|_| by.is_some()).unwrap_or_default();
    let stage_names: Vec<String> = m
        .stages
        .iter()
        .map(|s| tr.label("stage", &s.stage))
        .collect();
    let svg = journey(
        "journey-map",
        tr.t("journey.chart"),
        &stage_names,
        &m.stages.iter().map(|s| s.customers).collect::<Vec<_>>(),
        &m.stages.iter().map(|s| s.emotion).collect::<Vec<_>>(),
        tr.t("journey.emotion"),
    );
    let mut csv = "/api/v1/reports/journey.csv".to_owned();
    if by.is_some() {
        let mut qs = form_urlencoded::Serializer::new(String::new());
        qs.append_pair("segment_by", &by_name);
        if let Some(s) = &segment {
            qs.append_pair("segment", s);
        }
        csv = format!("{csv}?{}", qs.finish());
    }
    html(&JourneyPage {
        chrome: ctx.chrome(tr.t("journey.title")),
        kinds: ["first_channel", "category", "country", "tag"]
            .iter()
            .map(|k| {
                (
                    (*k).to_owned(),
                    tr.t(&format!("journey.by_{k}")).to_owned(),
                    by_name == *k,
                )
            })
            .collect(),
        segments: m
            .segments
            .iter()
            .map(|s| {
                let label = if by_name == "first_channel" {
                    tr.label("channel", &s.value)
                } else {
                    s.value.clone()
                };
                (
                    s.value.clone(),
                    format!("{label} ({})", s.customers),
                    segment.as_deref() == Some(s.value.as_str()),
                )
            })
            .collect(),
        by: by_name,
        customers: m.customers,
        svg,
        stages: m
            .stages
            .iter()
            .zip(stage_names)
            .map(|(s, name)| StageRow {
                name,
                customers: s.customers,
                conversion: percent(s.conversion),
                median: duration(&tr, s.median_seconds.map(|v| v as f64)),
                emotion: s
                    .emotion
                    .map(|e| format!("{e:+.0}"))
                    .unwrap_or_else(|| "—".into()),
                top: s
                    .top
                    .iter()
                    .map(|t| (touch_label(&tr, &t.key), t.customers))
                    .collect(),
            })
            .collect(),
        pains: m
            .pain_points
            .iter()
            .map(|p| PainRow {
                name: touch_label(&tr, &p.key),
                complaints: p.complaints,
                low_scores: p.low_scores,
                churned: p.churned,
            })
            .collect(),
        csv,
    })
}

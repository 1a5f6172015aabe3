//! Admin screens for rules: the list in the order they are tried, and a form
//! that builds a rule from rows of conditions and actions — plain form fields,
//! so it works without scripts, from the keyboard and on a phone. Teams,
//! agents and calendars are named as people know them (a team's name, an
//! agent's email) and turned into ids here. A dry run shows, on the same
//! page, the tickets the rule would act on now.

use super::admin::admin_only;
use super::views::Opt;
use super::{Chrome, Ctx, Form, OrPage, UiError, describe, done, html};
use crate::AppState;
use askama::Template;
use axum::Router;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::{get, post};
use domain::ids::*;
use domain::rules::{Action, Condition, Field, On, Op, RuleKind, RuleSpec};
use engine::EngineError;
use engine::rules::RuleInput;
use serde_json::{Value, json};

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/app/admin/rules", get(list).post(create))
        .route("/app/admin/rules/new", get(new))
        .route("/app/admin/rules/dry-run", post(dry_run))
        .route("/app/admin/rules/{id}", get(edit).post(save))
        .route("/app/admin/rules/{id}/delete", post(delete))
}

/// The action types, in the order the form offers them.
const ACTIONS: [&str; 14] = [
    "set_status",
    "set_priority",
    "set_team",
    "set_tier",
    "set_category",
    "add_tags",
    "remove_tags",
    "set_field",
    "assign",
    "reply",
    "add_note",
    "notify",
    "webhook",
    "escalate",
];
/// Blank rows offered below the rule's own.
const SPARE_ROWS: usize = 3;

pub struct RuleRow {
    pub id: String,
    pub name: String,
    pub kind: String,
    pub active: bool,
    pub position: i64,
    pub fired: i64,
    pub last_fired: String,
}

#[derive(Template)]
#[template(path = "admin_rules.html")]
pub struct RulesPage {
    pub chrome: Chrome,
    pub section: &'static str,
    pub rules: Vec<RuleRow>,
    pub webhook_key: String,
}

pub struct CondRow {
    pub fields: Vec<Opt>,
    pub ops: Vec<Opt>,
    pub value: String,
}

pub struct ActRow {
    pub types: Vec<Opt>,
    /// A notify that also emails.
    pub email: bool,
    /// A notify that also writes to agents' Telegram.
    pub telegram: bool,
    pub value: String,
    pub text: String,
    pub ru: String,
    pub th: String,
}

pub struct Found {
    pub number: i64,
    pub subject: String,
    pub status: String,
}

#[derive(Template)]
#[template(path = "admin_rule_edit.html")]
pub struct RulePage {
    pub chrome: Chrome,
    pub section: &'static str,
    /// Empty for a new rule.
    pub id: String,
    pub name: String,
    pub kinds: Vec<Opt>,
    pub position: i64,
    pub active: bool,
    pub on: Vec<Opt>,
    /// `all` and `any`, each with its rows.
    pub conds: Vec<(&'static str, Vec<CondRow>)>,
    pub actions: Vec<ActRow>,
    /// Teams, agents' emails, calendars, statuses and priorities, offered as
    /// values.
    pub suggestions: Vec<String>,
    pub error: Option<String>,
    pub dry_run: Option<(Vec<Found>, usize, bool)>,
}

fn opts(all: &[&str], selected: &str, label: impl Fn(&str) -> String) -> Vec<Opt> {
    std::iter::once(Opt {
        value: String::new(),
        label: "—".into(),
        selected: selected.is_empty(),
    })
    .chain(all.iter().map(|v| Opt {
        value: (*v).into(),
        label: label(v),
        selected: *v == selected,
    }))
    .collect()
}

/// Names for ids and back: teams by name, agents by email, calendars by name
/// (the rule and macro forms name them as people know them).
pub(super) struct Names {
    pub(super) teams: Vec<(TeamId, String)>,
    pub(super) agents: Vec<(UserId, String)>,
    pub(super) calendars: Vec<(CalendarId, String)>,
}

impl Names {
    pub(super) async fn load(app: &AppState, ctx: &Ctx) -> Result<Names, UiError> {
        let teams = app
            .engine
            .teams(&ctx.p, None, Some(200))
            .await
            .or_page(ctx.tr)?;
        let users = app
            .engine
            .users(&ctx.p, None, Some(200))
            .await
            .or_page(ctx.tr)?;
        let calendars = app
            .engine
            .business_hours_list(&ctx.p)
            .await
            .or_page(ctx.tr)?;
        Ok(Names {
            teams: teams.into_iter().map(|t| (t.id, t.name)).collect(),
            agents: users
                .into_iter()
                .map(|u| (u.user.id, u.user.email))
                .collect(),
            calendars: calendars.into_iter().map(|c| (c.id, c.name)).collect(),
        })
    }

    fn name_of(&self, id: &str) -> String {
        let find =
            |list: &[(String, String)]| list.iter().find(|(i, _)| i == id).map(|(_, n)| n.clone());
        find(&self.pairs(&self.teams))
            .or_else(|| find(&self.pairs(&self.agents)))
            .or_else(|| find(&self.pairs(&self.calendars)))
            .unwrap_or_else(|| id.to_owned())
    }

    fn pairs<T: ToString>(&self, l: &[(T, String)]) -> Vec<(String, String)> {
        l.iter().map(|(i, n)| (i.to_string(), n.clone())).collect()
    }

    /// The id a name (or an id) stands for, of the list given.
    fn id_in<T: ToString>(list: &[(T, String)], v: &str) -> Option<String> {
        let v = v.trim();
        list.iter()
            .find(|(i, n)| n.to_lowercase() == v.to_lowercase() || i.to_string() == v)
            .map(|(i, _)| i.to_string())
    }

    fn team(&self, v: &str) -> Result<Option<String>, String> {
        if v.trim().is_empty() {
            return Ok(None);
        }
        Names::id_in(&self.teams, v)
            .map(Some)
            .ok_or_else(|| format!("no team {v:?}"))
    }

    fn agent(&self, v: &str) -> Result<Option<String>, String> {
        if v.trim().is_empty() {
            return Ok(None);
        }
        Names::id_in(&self.agents, v)
            .map(Some)
            .ok_or_else(|| format!("no agent {v:?}"))
    }

    fn suggestions(&self) -> Vec<String> {
        let mut s: Vec<String> = self
            .teams
            .iter()
            .map(|(_, n)| n.clone())
            .chain(self.agents.iter().map(|(_, e)| e.clone()))
            .chain(self.calendars.iter().map(|(_, n)| n.clone()))
            .collect();
        s.extend(
            domain::ticket::Status::ALL
                .iter()
                .map(|x| x.as_str().to_owned()),
        );
        s.extend(
            domain::ticket::Priority::ALL
                .iter()
                .map(|x| x.as_str().to_owned()),
        );
        s
    }
}

fn list_of(v: &str) -> Vec<String> {
    v.split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
        .collect()
}

/// A condition row as typed data; `Ok(None)` for a blank row.
fn condition(
    names: &Names,
    field: &str,
    op: &str,
    value: &str,
) -> Result<Option<Condition>, String> {
    if field.is_empty() && op.is_empty() {
        return Ok(None);
    }
    let f = Field::parse(field).map_err(|_| format!("pick a field for {op:?}"))?;
    let o = Op::parse(op).map_err(|_| format!("pick a comparison for {field}"))?;
    let one = |v: &str| -> Result<Value, String> {
        Ok(match f {
            Field::Team => json!(names.team(v)?.unwrap_or_else(|| v.to_owned())),
            Field::Assignee => json!(names.agent(v)?.unwrap_or_else(|| v.to_owned())),
            Field::OpenHours => json!(
                Names::id_in(&names.calendars, v).ok_or_else(|| format!("no calendar {v:?}"))?
            ),
            Field::Tier
            | Field::HoursSinceCreated
            | Field::HoursSinceUpdated
            | Field::HoursSinceCustomer
            | Field::TriageConfidence => json!(
                v.trim()
                    .parse::<i64>()
                    .map_err(|_| format!("{field}: a whole number"))?
            ),
            _ => json!(v),
        })
    };
    let value = match o {
        Op::IsSet | Op::NotSet => Value::Null,
        Op::In | Op::NotIn => Value::Array(
            list_of(value)
                .iter()
                .map(|v| one(v))
                .collect::<Result<_, _>>()?,
        ),
        _ => one(value)?,
    };
    Ok(Some(Condition {
        field: f,
        op: o,
        value,
    }))
}

/// An action row as typed data; `Ok(None)` for a blank row.
fn action(
    names: &Names,
    kind: &str,
    value: &str,
    text: &str,
    (ru, th): (&str, &str),
    (email, telegram): (bool, bool),
) -> Result<Option<Action>, String> {
    let v = value.trim();
    let j = match kind {
        "" => return Ok(None),
        "set_status" => json!({"status": v}),
        "set_priority" => json!({"priority": v}),
        "set_team" => json!({"team_id": names.team(v)?}),
        "set_tier" => {
            json!({"tier": v.parse::<i64>().map_err(|_| "set_tier: a tier from 1 to 3".to_owned())?})
        }
        "set_category" => json!({"category": (!v.is_empty()).then_some(v)}),
        "add_tags" | "remove_tags" => json!({"tags": list_of(v)}),
        "set_field" => {
            let (k, val) = v.split_once('=').ok_or("set_field: key=value")?;
            json!({"key": k.trim(), "value": val.trim()})
        }
        "assign" => json!({"user_id": names.agent(v)?}),
        "reply" => {
            let mut tr = serde_json::Map::new();
            for (lang, t) in [("ru", ru), ("th", th)] {
                if !t.trim().is_empty() {
                    tr.insert(lang.into(), json!(t));
                }
            }
            json!({"body": text, "translations": tr})
        }
        "add_note" => json!({"body": text}),
        "notify" => {
            let mut users = Vec::new();
            let mut team = None;
            for x in list_of(v) {
                match names.agent(&x) {
                    Ok(Some(u)) => users.push(u),
                    _ => team = Some(names.team(&x)?.ok_or("notify: name agents or a team")?),
                }
            }
            json!({"user_ids": users, "team_id": team, "text": text, "email": email, "telegram": telegram})
        }
        "webhook" => json!({"url": v}),
        "escalate" => json!({"reason": text, "team_id": names.team(v)?}),
        other => return Err(format!("no action {other:?}")),
    };
    let mut j = j;
    j["type"] = json!(kind);
    serde_json::from_value(j)
        .map(Some)
        .map_err(|e| format!("{kind}: {e}"))
}

/// The rows a saved condition shows as.
fn cond_row(tr: &super::i18n::Tr, names: &Names, c: Option<&Condition>) -> CondRow {
    let field = c.map(|c| c.field.as_str()).unwrap_or_default();
    let op = c.map(|c| c.op.as_str()).unwrap_or_default();
    let show = |v: &Value| match v {
        Value::String(s) => names.name_of(s),
        other => other.to_string(),
    };
    let value = match c.map(|c| &c.value) {
        Some(Value::Array(a)) => a.iter().map(show).collect::<Vec<_>>().join(", "),
        Some(Value::Null) | None => String::new(),
        Some(v) => show(v),
    };
    CondRow {
        fields: opts(
            &Field::ALL.iter().map(|f| f.as_str()).collect::<Vec<_>>(),
            field,
            |f| tr.label("rulefield", f),
        ),
        ops: opts(
            &Op::ALL.iter().map(|o| o.as_str()).collect::<Vec<_>>(),
            op,
            |o| tr.label("ruleop", o),
        ),
        value,
    }
}

fn act_row(tr: &super::i18n::Tr, names: &Names, a: Option<&Action>) -> ActRow {
    let j = a
        .and_then(|a| serde_json::to_value(a).ok())
        .unwrap_or(Value::Null);
    let kind = j["type"].as_str().unwrap_or_default();
    let s = |k: &str| j[k].as_str().map(|x| names.name_of(x)).unwrap_or_default();
    let tags = || {
        j["tags"]
            .as_array()
            .map(|t| {
                t.iter()
                    .filter_map(Value::as_str)
                    .collect::<Vec<_>>()
                    .join(", ")
            })
            .unwrap_or_default()
    };
    let (value, text) = match kind {
        "set_status" => (s("status"), String::new()),
        "set_priority" => (s("priority"), String::new()),
        "set_team" => (s("team_id"), String::new()),
        "set_tier" => (j["tier"].to_string(), String::new()),
        "set_category" => (s("category"), String::new()),
        "add_tags" | "remove_tags" => (tags(), String::new()),
        "set_field" => (
            format!(
                "{}={}",
                s("key"),
                j["value"]
                    .as_str()
                    .map_or_else(|| j["value"].to_string(), str::to_owned)
            ),
            String::new(),
        ),
        "assign" => (s("user_id"), String::new()),
        "reply" | "add_note" => (
            String::new(),
            j["body"].as_str().unwrap_or_default().to_owned(),
        ),
        "notify" => {
            let mut who: Vec<String> = j["user_ids"]
                .as_array()
                .map(|u| {
                    u.iter()
                        .filter_map(Value::as_str)
                        .map(|x| names.name_of(x))
                        .collect()
                })
                .unwrap_or_default();
            if let Some(t) = j["team_id"].as_str() {
                who.push(names.name_of(t));
            }
            (
                who.join(", "),
                j["text"].as_str().unwrap_or_default().to_owned(),
            )
        }
        "webhook" => (s("url"), String::new()),
        "escalate" => (
            s("team_id"),
            j["reason"].as_str().unwrap_or_default().to_owned(),
        ),
        _ => (String::new(), String::new()),
    };
    ActRow {
        email: j["email"].as_bool().unwrap_or(false),
        telegram: j["telegram"].as_bool().unwrap_or(false),
        types: opts(&ACTIONS, kind, |k| tr.label("ruleaction", k)),
        value,
        text,
        ru: j["translations"]["ru"]
            .as_str()
            .unwrap_or_default()
            .to_owned(),
        th: j["translations"]["th"]
            .as_str()
            .unwrap_or_default()
            .to_owned(),
    }
}

fn not_found(ctx: &Ctx) -> UiError {
    UiError::Status(StatusCode::NOT_FOUND, ctx.tr, "error.not_found")
}

fn nth<'a>(v: &[&'a str], i: usize) -> &'a str {
    v.get(i).copied().unwrap_or_default()
}

fn with_spares<T>(mut rows: Vec<T>, blank: impl Fn() -> T) -> Vec<T> {
    rows.extend((0..SPARE_ROWS).map(|_| blank()));
    rows
}

/// The form page for a rule as given (saved, or just submitted).
#[allow(clippy::too_many_arguments)]
fn page(
    ctx: &Ctx,
    names: &Names,
    id: String,
    name: String,
    position: i64,
    active: bool,
    spec: &RuleSpec,
    error: Option<String>,
) -> RulePage {
    let tr = &ctx.tr;
    RulePage {
        chrome: ctx.chrome(ctx.tr.t("admin.rules")),
        section: "rules",
        id,
        name,
        kinds: RuleKind::ALL
            .iter()
            .map(|k| Opt {
                value: k.as_str().into(),
                label: tr.label("rulekind", k.as_str()),
                selected: *k == spec.kind,
            })
            .collect(),
        position,
        active,
        on: On::ALL
            .iter()
            .map(|o| Opt {
                value: o.as_str().into(),
                label: tr.label("ruleon", &o.as_str().replace('.', "_")),
                selected: spec.on.contains(o),
            })
            .collect(),
        conds: [("all", &spec.all), ("any", &spec.any)]
            .into_iter()
            .map(|(list, cs)| {
                (
                    list,
                    with_spares(
                        cs.iter().map(|c| cond_row(tr, names, Some(c))).collect(),
                        || cond_row(tr, names, None),
                    ),
                )
            })
            .collect(),
        actions: with_spares(
            spec.actions
                .iter()
                .map(|a| act_row(tr, names, Some(a)))
                .collect(),
            || act_row(tr, names, None),
        ),
        suggestions: names.suggestions(),
        error,
        dry_run: None,
    }
}

/// What the form describes; an error names the row that is wrong.
fn spec_of(f: &Form, names: &Names) -> Result<RuleSpec, String> {
    let kind = RuleKind::parse(f.get("kind").unwrap_or_default())
        .map_err(|_| "pick trigger or automation".to_owned())?;
    let conds = |list: &str| -> Result<Vec<Condition>, String> {
        let fields: Vec<&str> = f
            .all(match list {
                "all" => "all_field",
                _ => "any_field",
            })
            .collect();
        let ops: Vec<&str> = f
            .all(if list == "all" { "all_op" } else { "any_op" })
            .collect();
        let values: Vec<&str> = f
            .all(if list == "all" {
                "all_value"
            } else {
                "any_value"
            })
            .collect();
        let mut out = Vec::new();
        for (i, field) in fields.iter().enumerate() {
            let op = ops.get(i).copied().unwrap_or_default();
            let value = values.get(i).copied().unwrap_or_default();
            if let Some(c) =
                condition(names, field, op, value).map_err(|e| format!("{list}[{i}]: {e}"))?
            {
                out.push(c);
            }
        }
        Ok(out)
    };
    let types: Vec<&str> = f.all("act_type").collect();
    let values: Vec<&str> = f.all("act_value").collect();
    let texts: Vec<&str> = f.all("act_text").collect();
    let ru: Vec<&str> = f.all("act_ru").collect();
    let th: Vec<&str> = f.all("act_th").collect();
    // Checkboxes arrive only when ticked: each carries its row's index.
    let emails: Vec<usize> = f.all("act_email").filter_map(|v| v.parse().ok()).collect();
    let telegrams: Vec<usize> = f
        .all("act_telegram")
        .filter_map(|v| v.parse().ok())
        .collect();
    let mut actions = Vec::new();
    for (i, kind) in types.iter().enumerate() {
        if let Some(a) = action(
            names,
            kind,
            nth(&values, i),
            nth(&texts, i),
            (nth(&ru, i), nth(&th, i)),
            (emails.contains(&i), telegrams.contains(&i)),
        )
        .map_err(|e| format!("actions[{i}]: {e}"))?
        {
            actions.push(a);
        }
    }
    Ok(RuleSpec {
        kind,
        on: f
            .all("on")
            .filter_map(|o| On::parse(o).ok())
            .filter(|_| kind == RuleKind::Trigger)
            .collect(),
        all: conds("all")?,
        any: conds("any")?,
        actions,
    })
}

async fn list(State(app): State<AppState>, ctx: Ctx) -> Result<Response, UiError> {
    admin_only(&ctx)?;
    let rules = app.engine.rules(&ctx.p, None).await.or_page(ctx.tr)?;
    let rows = rules
        .into_iter()
        .map(|r| RuleRow {
            id: r.id.to_string(),
            kind: ctx.tr.label("rulekind", r.spec.kind.as_str()),
            name: r.name,
            active: r.active,
            position: r.position,
            fired: r.fired,
            last_fired: r.last_fired_at.map(|t| t.to_rfc3339()).unwrap_or_default(),
        })
        .collect();
    html(&RulesPage {
        chrome: ctx.chrome(ctx.tr.t("admin.rules")),
        section: "rules",
        rules: rows,
        webhook_key: app.engine.webhook_key(ctx.p.workspace_id),
    })
}

async fn new(State(app): State<AppState>, ctx: Ctx) -> Result<Response, UiError> {
    admin_only(&ctx)?;
    let names = Names::load(&app, &ctx).await?;
    let spec = RuleSpec {
        kind: RuleKind::Trigger,
        on: vec![On::TicketCreated],
        all: vec![],
        any: vec![],
        actions: vec![],
    };
    html(&page(
        &ctx,
        &names,
        String::new(),
        String::new(),
        0,
        true,
        &spec,
        None,
    ))
}

async fn edit(
    State(app): State<AppState>,
    Path(id): Path<String>,
    ctx: Ctx,
) -> Result<Response, UiError> {
    admin_only(&ctx)?;
    let rid: RuleId = id.parse().map_err(|_| not_found(&ctx))?;
    let r = app.engine.rule(&ctx.p, rid).await.or_page(ctx.tr)?;
    let names = Names::load(&app, &ctx).await?;
    html(&page(
        &ctx, &names, id, r.name, r.position, r.active, &r.spec, None,
    ))
}

/// The form again, as submitted, with what is wrong.
fn again(
    f: &Form,
    names: &Names,
    id: String,
    spec: Option<RuleSpec>,
    error: String,
) -> Result<Response, UiError> {
    let spec = spec.unwrap_or(RuleSpec {
        kind: RuleKind::Trigger,
        on: vec![],
        all: vec![],
        any: vec![],
        actions: vec![],
    });
    let position = f.text("position").and_then(|p| p.parse().ok()).unwrap_or(0);
    html(&page(
        &f.ctx,
        names,
        id,
        f.get("name").unwrap_or_default().to_owned(),
        position,
        f.checked("active"),
        &spec,
        Some(error),
    ))
}

async fn store_rule(app: &AppState, f: &Form, id: Option<RuleId>) -> Result<Response, UiError> {
    let ctx = &f.ctx;
    admin_only(ctx)?;
    let names = Names::load(app, ctx).await?;
    let shown = id.map(|i| i.to_string()).unwrap_or_default();
    let spec = match spec_of(f, &names) {
        Ok(s) => s,
        Err(e) => return again(f, &names, shown, None, e),
    };
    let position = match f.text("position").map(str::parse::<i64>).transpose() {
        Ok(p) => p,
        Err(_) => {
            return again(
                f,
                &names,
                shown,
                Some(spec),
                "position: a whole number".into(),
            );
        }
    };
    let input = RuleInput {
        name: Some(f.get("name").unwrap_or_default().to_owned()),
        position,
        active: Some(f.checked("active")),
        spec: Some(spec.clone()),
    };
    let saved = match id {
        Some(id) => app.engine.update_rule(&ctx.p, id, input).await,
        None => app.engine.create_rule(&ctx.p, input).await,
    };
    match saved {
        Ok(r) => Ok(done(&format!("/app/admin/rules/{}", r.id), "flash.saved")),
        Err(
            e @ (EngineError::Invalid(_) | EngineError::Unknown(..) | EngineError::Conflict(_)),
        ) => {
            let msg = describe(&e, &ctx.tr).unwrap_or_else(|| e.to_string());
            again(f, &names, shown, Some(spec), msg)
        }
        Err(e) => Err(UiError::engine(e, ctx.tr)),
    }
}

async fn create(State(app): State<AppState>, f: Form) -> Result<Response, UiError> {
    store_rule(&app, &f, None).await
}

async fn save(
    State(app): State<AppState>,
    Path(id): Path<String>,
    f: Form,
) -> Result<Response, UiError> {
    let rid: RuleId = id.parse().map_err(|_| not_found(&f.ctx))?;
    store_rule(&app, &f, Some(rid)).await
}

async fn dry_run(State(app): State<AppState>, f: Form) -> Result<Response, UiError> {
    let ctx = &f.ctx;
    admin_only(ctx)?;
    let names = Names::load(&app, ctx).await?;
    let shown = f.get("id").unwrap_or_default().to_owned();
    let spec = match spec_of(&f, &names) {
        Ok(s) => s,
        Err(e) => return again(&f, &names, shown, None, e),
    };
    match app.engine.dry_run(&ctx.p, spec.clone()).await {
        Ok(found) => {
            let position = f.text("position").and_then(|p| p.parse().ok()).unwrap_or(0);
            let mut p = page(
                ctx,
                &names,
                shown,
                f.get("name").unwrap_or_default().to_owned(),
                position,
                f.checked("active"),
                &spec,
                None,
            );
            p.dry_run = Some((
                found
                    .tickets
                    .into_iter()
                    .map(|t| Found {
                        number: t.number,
                        subject: t.subject,
                        status: ctx.tr.label("status", t.status.as_str()),
                    })
                    .collect(),
                found.scanned,
                found.truncated,
            ));
            html(&p)
        }
        Err(e @ (EngineError::Invalid(_) | EngineError::Unknown(..))) => {
            let msg = describe(&e, &ctx.tr).unwrap_or_else(|| e.to_string());
            again(&f, &names, shown, Some(spec), msg)
        }
        Err(e) => Err(UiError::engine(e, ctx.tr)),
    }
}

async fn delete(
    State(app): State<AppState>,
    Path(id): Path<String>,
    f: Form,
) -> Result<Response, UiError> {
    let ctx = &f.ctx;
    let rid: RuleId = id.parse().map_err(|_| not_found(ctx))?;
    app.engine.delete_rule(&ctx.p, rid).await.or_page(ctx.tr)?;
    Ok(done("/app/admin/rules", "flash.deleted"))
}

//! Admin screens: users, teams, custom fields, workspace settings, API tokens and
//! email mailboxes. The engine checks the role on every call; the pages only hide
//! what a person may not use.

use super::views::Opt;
use super::{Chrome, Ctx, Form, OrPage, UiError, done, html};
use crate::AppState;
use askama::Template;
use axum::Router;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::{get, post};
use domain::fields::{FieldTarget, FieldType};
use domain::ids::*;
use domain::routing::RoutingMode;
use domain::user::Role;
use engine::email::mailbox::{Inbound, InboundKind, MailboxInput, MailboxView, Outbound, Tls};
use engine::people::{NewUser, TeamInput, UserPatch};
use engine::workspaces::SettingsPatch;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route(
            "/app/admin",
            get(|| async { axum::response::Redirect::to("/app/admin/users") }),
        )
        .route("/app/admin/users", get(users).post(invite))
        .route("/app/admin/users/{id}", post(edit_user))
        .route("/app/admin/teams", get(teams).post(create_team))
        .route("/app/admin/teams/{id}", post(edit_team))
        .route("/app/admin/fields", get(fields).post(create_field))
        .route("/app/admin/fields/{id}", post(edit_field))
        .route("/app/admin/fields/{id}/move", post(move_field))
        .route("/app/admin/settings", get(settings).post(save_settings))
        .route("/app/admin/tokens", get(tokens).post(create_token))
        .route("/app/admin/tokens/{id}/revoke", post(revoke_token))
        .route("/app/admin/mailboxes", get(mailboxes).post(create_mailbox))
        .route("/app/admin/mailboxes/{id}", get(mailbox).post(save_mailbox))
        .route(
            "/app/admin/mailboxes/{id}/held/{held}/ticket",
            post(ticket_held),
        )
        .route(
            "/app/admin/mailboxes/{id}/held/{held}/discard",
            post(discard_held),
        )
}

pub(crate) fn admin_only(ctx: &Ctx) -> Result<(), UiError> {
    if ctx.p.role.can_administer() {
        Ok(())
    } else {
        Err(UiError::Status(
            StatusCode::FORBIDDEN,
            ctx.tr,
            "error.forbidden",
        ))
    }
}

fn invalid(ctx: &Ctx, what: &str) -> UiError {
    UiError::Message(
        StatusCode::UNPROCESSABLE_ENTITY,
        ctx.tr,
        format!("{what}: {}", ctx.tr.t("error.invalid")),
    )
}

/// An optional whole-number field.
fn number(f: &Form, name: &str) -> Result<Option<i64>, UiError> {
    f.text(name)
        .map(|t| t.parse().map_err(|_| invalid(&f.ctx, name)))
        .transpose()
}

fn list(s: Option<&str>) -> Vec<String> {
    s.unwrap_or_default()
        .split(',')
        .map(|x| x.trim().to_owned())
        .filter(|x| !x.is_empty())
        .collect()
}

// ---- users ----

pub struct UserRow {
    pub id: String,
    pub name: String,
    pub email: String,
    pub roles: Vec<Opt>,
    pub tier: i64,
    pub languages: String,
    pub skills: String,
    /// Chats and emails at once.
    pub chat_capacity: i64,
    pub email_capacity: i64,
    pub presence: Vec<Opt>,
    pub teams: Vec<Opt>,
    pub active: bool,
}

#[derive(Template)]
#[template(path = "admin_users.html")]
pub struct UsersPage {
    pub chrome: Chrome,
    pub section: &'static str,
    pub users: Vec<UserRow>,
    pub roles: Vec<Opt>,
    pub teams: Vec<Opt>,
    /// An initial password to pass on once, after an invitation.
    pub created: Option<(String, String)>,
}

/// The presences a person can be shown in.
pub(crate) const PRESENCE: [&str; 4] = ["online", "away", "busy", "offline"];

/// Capacities per channel from the form's chat and email fields (other
/// channels keep what they had).
fn capacities(
    f: &Form,
    mut base: std::collections::BTreeMap<String, i64>,
) -> Result<std::collections::BTreeMap<String, i64>, UiError> {
    for ch in ["chat", "email"] {
        if let Some(n) = number(f, &format!("cap_{ch}"))? {
            base.insert(ch.to_owned(), n);
        }
    }
    Ok(base)
}

fn role_opts(ctx: &Ctx, selected: Role) -> Vec<Opt> {
    Role::ALL
        .iter()
        .filter(|r| ctx.p.role.can_grant(**r) || **r == selected)
        .map(|r| Opt {
            value: r.as_str().into(),
            label: ctx.tr.label("role", r.as_str()),
            selected: *r == selected,
        })
        .collect()
}

async fn users_page(
    app: &AppState,
    ctx: &Ctx,
    created: Option<(String, String)>,
) -> Result<UsersPage, UiError> {
    admin_only(ctx)?;
    let all = app
        .engine
        .users(&ctx.p, None, Some(200))
        .await
        .or_page(ctx.tr)?;
    let teams = app
        .engine
        .teams(&ctx.p, None, Some(200))
        .await
        .or_page(ctx.tr)?;
    let team_opts = |member: &[TeamId]| -> Vec<Opt> {
        teams
            .iter()
            .map(|t| Opt {
                value: t.id.to_string(),
                label: t.name.clone(),
                selected: member.contains(&t.id),
            })
            .collect()
    };
    Ok(UsersPage {
        chrome: ctx.chrome(ctx.tr.t("admin.users")),
        section: "users",
        users: all
            .iter()
            .map(|u| UserRow {
                id: u.user.id.to_string(),
                name: u.user.name.clone(),
                email: u.user.email.clone(),
                roles: role_opts(ctx, u.user.role),
                tier: u.user.tier,
                languages: u.user.languages.join(", "),
                skills: u.user.skills.join(", "),
                chat_capacity: u.user.capacity_for("chat"),
                email_capacity: u.user.capacity_for("email"),
                presence: PRESENCE
                    .iter()
                    .map(|p| Opt {
                        value: (*p).into(),
                        label: ctx.tr.label("presence", p),
                        selected: u.user.presence == *p,
                    })
                    .collect(),
                teams: team_opts(&u.team_ids),
                active: u.user.active,
            })
            .collect(),
        roles: role_opts(ctx, Role::Agent),
        teams: team_opts(&[]),
        created,
    })
}

async fn users(State(app): State<AppState>, ctx: Ctx) -> Result<Response, UiError> {
    html(&users_page(&app, &ctx, None).await?)
}

/// Invites a person: the account is created with the password given, or a random
/// one shown once to pass on.
async fn invite(State(app): State<AppState>, f: Form) -> Result<Response, UiError> {
    let ctx = &f.ctx;
    admin_only(ctx)?;
    let role = Role::parse(f.get("role").unwrap_or("agent")).map_err(|_| invalid(ctx, "role"))?;
    // Passwords are taken as typed, spaces and all.
    let typed = f.get("password").filter(|p| !p.is_empty());
    let password = match typed {
        Some(p) => p.to_owned(),
        None => engine::auth::new_secret(""),
    };
    let team_ids = f.all("teams").filter_map(|t| t.parse().ok()).collect();
    let tier = number(&f, "tier")?;
    let u = app
        .engine
        .add_user(
            &ctx.p,
            NewUser {
                email: f.get("email").unwrap_or_default().to_owned(),
                name: f.text("name").map(str::to_owned),
                role: Some(role),
                password: Some(password.clone()),
                tier,
                languages: list(f.get("languages")),
                skills: list(f.get("skills")),
                channel_capacity: capacities(&f, Default::default())?,
                team_ids,
                ..Default::default()
            },
        )
        .await
        .or_page(ctx.tr)?;
    let shown = typed.is_none().then_some(password);
    let page = users_page(&app, ctx, shown.map(|p| (u.user.email.clone(), p))).await?;
    html(&page)
}

async fn edit_user(
    State(app): State<AppState>,
    Path(id): Path<String>,
    f: Form,
) -> Result<Response, UiError> {
    let ctx = &f.ctx;
    admin_only(ctx)?;
    let id: UserId = id.parse().map_err(|_| invalid(ctx, "id"))?;
    let current = app.engine.user(&ctx.p, id).await.or_page(ctx.tr)?;
    let patch = UserPatch {
        skills: f.get("skills").map(|l| list(Some(l))),
        channel_capacity: Some(capacities(&f, current.user.channel_capacity.clone())?),
        presence: f
            .text("presence")
            .filter(|p| *p != current.user.presence)
            .map(str::to_owned),
        name: f.text("name").map(str::to_owned),
        role: match f.text("role") {
            Some(r) => Some(Role::parse(r).map_err(|_| invalid(ctx, "role"))?),
            None => None,
        },
        tier: number(&f, "tier")?,
        languages: f.get("languages").map(|l| list(Some(l))),
        team_ids: f
            .get("teams_present")
            .map(|_| f.all("teams").filter_map(|t| t.parse().ok()).collect()),
        active: f.get("active_present").map(|_| f.checked("active")),
        ..Default::default()
    };
    app.engine
        .update_user(&ctx.p, id, patch)
        .await
        .or_page(ctx.tr)?;
    Ok(done("/app/admin/users", "flash.saved"))
}

// ---- teams ----

#[derive(Template)]
#[template(path = "admin_teams.html")]
pub struct TeamsPage {
    pub chrome: Chrome,
    pub section: &'static str,
    pub teams: Vec<TeamRow>,
    /// Routing modes for a new team.
    pub modes: Vec<Opt>,
}

/// One team and its routing settings.
pub struct TeamRow {
    pub id: String,
    pub name: String,
    pub tier: i64,
    pub modes: Vec<Opt>,
    /// Minutes before an offline agent's tickets go back to the queue; empty: never.
    pub reroute_min: String,
    pub escalate_to: Vec<Opt>,
}

fn mode_opts(ctx: &Ctx, selected: RoutingMode) -> Vec<Opt> {
    RoutingMode::ALL
        .iter()
        .map(|m| Opt {
            value: m.as_str().into(),
            label: ctx.tr.label("routing", m.as_str()),
            selected: *m == selected,
        })
        .collect()
}

/// The routing settings a team form describes.
fn team_input(f: &Form) -> Result<TeamInput, UiError> {
    let ctx = &f.ctx;
    Ok(TeamInput {
        name: f.text("name").map(str::to_owned),
        tier: number(f, "tier")?,
        routing: match f.text("routing") {
            Some(m) => Some(RoutingMode::parse(m).map_err(|_| invalid(ctx, "routing"))?),
            None => None,
        },
        reroute_after_s: f
            .get("reroute_present")
            .map(|_| number(f, "reroute_min"))
            .transpose()?
            .map(|m| m.map(|m| m.saturating_mul(60))),
        escalate_to: f
            .get("escalate_present")
            .map(|_| f.text("escalate_to").and_then(|t| t.parse().ok())),
    })
}

async fn teams(State(app): State<AppState>, ctx: Ctx) -> Result<Response, UiError> {
    admin_only(&ctx)?;
    let teams = app
        .engine
        .teams(&ctx.p, None, Some(200))
        .await
        .or_page(ctx.tr)?;
    let escalate_opts = |me: TeamId, to: Option<TeamId>| -> Vec<Opt> {
        teams
            .iter()
            .filter(|t| t.id != me)
            .map(|t| Opt {
                value: t.id.to_string(),
                label: t.name.clone(),
                selected: Some(t.id) == to,
            })
            .collect()
    };
    let rows = teams
        .iter()
        .map(|t| TeamRow {
            id: t.id.to_string(),
            name: t.name.clone(),
            tier: t.tier,
            modes: mode_opts(&ctx, t.routing),
            reroute_min: t
                .reroute_after_s
                .map(|s| (s / 60).to_string())
                .unwrap_or_default(),
            escalate_to: escalate_opts(t.id, t.escalate_to),
        })
        .collect();
    html(&TeamsPage {
        chrome: ctx.chrome(ctx.tr.t("admin.teams")),
        section: "teams",
        teams: rows,
        modes: mode_opts(&ctx, RoutingMode::Manual),
    })
}

async fn create_team(State(app): State<AppState>, f: Form) -> Result<Response, UiError> {
    let ctx = &f.ctx;
    let mut input = team_input(&f)?;
    input.name = Some(f.get("name").unwrap_or_default().to_owned());
    app.engine
        .create_team_with(&ctx.p, input)
        .await
        .or_page(ctx.tr)?;
    Ok(done("/app/admin/teams", "flash.saved"))
}

async fn edit_team(
    State(app): State<AppState>,
    Path(id): Path<String>,
    f: Form,
) -> Result<Response, UiError> {
    let ctx = &f.ctx;
    let id: TeamId = id.parse().map_err(|_| invalid(ctx, "id"))?;
    app.engine
        .update_team_with(&ctx.p, id, team_input(&f)?)
        .await
        .or_page(ctx.tr)?;
    Ok(done("/app/admin/teams", "flash.saved"))
}

// ---- custom fields ----

#[derive(Template)]
#[template(path = "admin_fields.html")]
pub struct FieldsPage {
    pub chrome: Chrome,
    pub section: &'static str,
    pub fields: Vec<FieldRow>,
    pub types: Vec<Opt>,
    pub targets: Vec<Opt>,
}

/// One field on the admin screen, with what its edit form shows.
pub struct FieldRow {
    pub id: String,
    pub key: String,
    pub label: String,
    pub type_label: String,
    pub dropdown: bool,
    pub options: String,
    pub required: bool,
    pub archived: bool,
    pub first: bool,
    pub last: bool,
    /// "Tickets", "Customers" or "Organisations".
    pub target: String,
    pub for_tickets: bool,
}

async fn fields(State(app): State<AppState>, ctx: Ctx) -> Result<Response, UiError> {
    admin_only(&ctx)?;
    let tr = ctx.tr;
    let defs = app.engine.fields(&ctx.p).await.or_page(tr)?;
    html(&FieldsPage {
        chrome: ctx.chrome(tr.t("admin.fields")),
        section: "fields",
        fields: {
            let n = defs.len();
            defs.into_iter()
                .enumerate()
                .map(|(i, d)| FieldRow {
                    id: d.id.to_string(),
                    key: d.key,
                    label: d.label,
                    type_label: tr.label("fieldtype", d.field_type.as_str()),
                    dropdown: d.field_type == FieldType::Dropdown,
                    options: d.options.join(", "),
                    required: d.required,
                    archived: d.archived,
                    first: i == 0,
                    last: i + 1 == n,
                    target: tr.label("fieldtarget", d.applies_to.as_str()),
                    for_tickets: d.applies_to == FieldTarget::Ticket,
                })
                .collect()
        },
        types: super::views::opts(FieldType::ALL, FieldType::as_str, &tr, "fieldtype", "text"),
        targets: super::views::opts(
            FieldTarget::ALL,
            FieldTarget::as_str,
            &tr,
            "fieldtarget",
            "ticket",
        ),
    })
}

async fn create_field(State(app): State<AppState>, f: Form) -> Result<Response, UiError> {
    let ctx = &f.ctx;
    let ty =
        FieldType::parse(f.get("type").unwrap_or_default()).map_err(|_| invalid(ctx, "type"))?;
    let target = FieldTarget::parse(f.get("applies_to").unwrap_or("ticket"))
        .map_err(|_| invalid(ctx, "applies_to"))?;
    app.engine
        .create_field(
            &ctx.p,
            engine::people::NewField {
                key: f.get("key").unwrap_or_default().trim().to_owned(),
                label: f.get("label").unwrap_or_default().trim().to_owned(),
                field_type: ty,
                options: list(f.get("options")),
                required: f.checked("required") && target == FieldTarget::Ticket,
                applies_to: target,
            },
        )
        .await
        .or_page(ctx.tr)?;
    Ok(done("/app/admin/fields", "flash.saved"))
}

/// Saves a field's label, options, requirement, or archives and restores it
/// (the button pressed says which).
async fn edit_field(
    State(app): State<AppState>,
    Path(id): Path<String>,
    f: Form,
) -> Result<Response, UiError> {
    let ctx = &f.ctx;
    let id = FieldId(uuid::Uuid::parse_str(&id).map_err(|_| invalid(ctx, "id"))?);
    let patch = match f.get("archive") {
        Some(a) => engine::people::FieldPatch {
            archived: Some(a == "1"),
            ..Default::default()
        },
        None => engine::people::FieldPatch {
            label: f.get("label").map(|l| l.trim().to_owned()),
            options: f.get("options").map(|o| list(Some(o))),
            required: Some(f.checked("required")),
            ..Default::default()
        },
    };
    app.engine
        .update_field(&ctx.p, id, patch)
        .await
        .or_page(ctx.tr)?;
    Ok(done("/app/admin/fields", "flash.saved"))
}

/// Moves a field one place up or down: the fields are renumbered in the
/// new order, so positions stay distinct.
async fn move_field(
    State(app): State<AppState>,
    Path(id): Path<String>,
    f: Form,
) -> Result<Response, UiError> {
    let ctx = &f.ctx;
    let id = FieldId(uuid::Uuid::parse_str(&id).map_err(|_| invalid(ctx, "id"))?);
    let mut defs = app.engine.fields(&ctx.p).await.or_page(ctx.tr)?;
    let Some(at) = defs.iter().position(|d| d.id == id) else {
        return Err(UiError::engine(engine::EngineError::NotFound, ctx.tr));
    };
    let to = match f.get("dir") {
        Some("up") => at.checked_sub(1),
        _ => Some(at + 1).filter(|t| *t < defs.len()),
    };
    if let Some(to) = to {
        defs.swap(at, to);
    }
    for (i, d) in defs.iter().enumerate() {
        let position = i64::try_from(i).unwrap_or(i64::MAX);
        if d.position != position {
            app.engine
                .update_field(
                    &ctx.p,
                    d.id,
                    engine::people::FieldPatch {
                        position: Some(position),
                        ..Default::default()
                    },
                )
                .await
                .or_page(ctx.tr)?;
        }
    }
    Ok(done("/app/admin/fields", "flash.saved"))
}

// ---- workspace settings ----

#[derive(Template)]
#[template(path = "admin_settings.html")]
pub struct SettingsPage {
    pub chrome: Chrome,
    pub section: &'static str,
    pub languages: Vec<Opt>,
    /// Customers are asked to rate the help after a solve.
    csat: bool,
    /// What a low rating does: (value, label, chosen).
    on_low: Vec<(&'static str, String, bool)>,
    nps: domain::survey::NpsSettings,
    digests: domain::digest::DigestSettings,
}

async fn settings(State(app): State<AppState>, ctx: Ctx) -> Result<Response, UiError> {
    admin_only(&ctx)?;
    let surveys = app.engine.survey_settings(&ctx.p).await.or_page(ctx.tr)?;
    let digests = app.engine.digest_settings(&ctx.p).await.or_page(ctx.tr)?;
    let languages = super::i18n::Lang::ALL
        .iter()
        .map(|l| Opt {
            value: l.code().into(),
            label: l.native_name().into(),
            selected: ctx.ws.default_language == l.code(),
        })
        .collect();
    html(&SettingsPage {
        chrome: ctx.chrome(ctx.tr.t("admin.settings")),
        section: "settings",
        languages,
        csat: surveys.csat.enabled,
        on_low: domain::survey::LowAction::ALL
            .iter()
            .map(|a| {
                (
                    a.as_str(),
                    ctx.tr.label("low_action", a.as_str()),
                    *a == surveys.csat.on_low,
                )
            })
            .collect(),
        nps: surveys.nps,
        digests,
    })
}

async fn save_settings(State(app): State<AppState>, f: Form) -> Result<Response, UiError> {
    let ctx = &f.ctx;
    app.engine
        .update_workspace(
            &ctx.p,
            SettingsPatch {
                display_name: f.get("display_name").map(|s| s.trim().to_owned()),
                default_language: f.text("default_language").map(str::to_owned),
                time_zone: f.text("time_zone").map(str::to_owned),
            },
        )
        .await
        .or_page(ctx.tr)?;
    let mut surveys = app.engine.survey_settings(&ctx.p).await.or_page(ctx.tr)?;
    surveys.csat.enabled = f.text("csat") == Some("on");
    if let Some(a) = f
        .text("on_low")
        .and_then(|v| domain::survey::LowAction::parse(v).ok())
    {
        surveys.csat.on_low = a;
    }
    surveys.nps.enabled = f.text("nps") == Some("on");
    for (field, slot) in [
        ("nps_after", &mut surveys.nps.after_days),
        ("nps_every", &mut surveys.nps.every_days),
    ] {
        if let Some(n) = f.text(field).and_then(|v| v.trim().parse().ok()) {
            *slot = n;
        }
    }
    app.engine
        .save_survey_settings(&ctx.p, surveys)
        .await
        .or_page(ctx.tr)?;
    let digests = domain::digest::DigestSettings {
        weekly: f.text("digest_weekly") == Some("on"),
        monthly: f.text("digest_monthly") == Some("on"),
    };
    app.engine
        .save_digest_settings(&ctx.p, digests)
        .await
        .or_page(ctx.tr)?;
    Ok(done("/app/admin/settings", "flash.saved"))
}

// ---- API tokens ----

pub struct TokenRow {
    pub id: String,
    pub name: String,
    pub owner: String,
    pub created: String,
    pub last_used: String,
    pub revoked: bool,
}

#[derive(Template)]
#[template(path = "admin_tokens.html")]
pub struct TokensPage {
    pub chrome: Chrome,
    pub section: &'static str,
    pub tokens: Vec<TokenRow>,
    /// A new token's secret, shown once.
    pub secret: Option<String>,
}

async fn tokens_page(
    app: &AppState,
    ctx: &Ctx,
    secret: Option<String>,
) -> Result<TokensPage, UiError> {
    admin_only(ctx)?;
    let tr = ctx.tr;
    let list = app.engine.tokens(&ctx.p).await.or_page(tr)?;
    let dir = super::views::Directory::load(app, ctx).await?;
    Ok(TokensPage {
        chrome: ctx.chrome(tr.t("admin.tokens")),
        section: "tokens",
        tokens: list
            .into_iter()
            .map(|t| TokenRow {
                id: t.id.to_string(),
                name: t.name,
                owner: dir.user(Some(t.user_id)),
                created: tr.date(t.created_at),
                last_used: t.last_used_at.map(|d| tr.date(d)).unwrap_or_default(),
                revoked: t.revoked_at.is_some(),
            })
            .collect(),
        secret,
    })
}

async fn tokens(State(app): State<AppState>, ctx: Ctx) -> Result<Response, UiError> {
    html(&tokens_page(&app, &ctx, None).await?)
}

async fn create_token(State(app): State<AppState>, f: Form) -> Result<Response, UiError> {
    let ctx = &f.ctx;
    // The page that shows the secret once is for admins: nobody else makes one here.
    admin_only(ctx)?;
    let (_, secret) = app
        .engine
        .create_token(&ctx.p, ctx.p.user_id, f.get("name").unwrap_or_default())
        .await
        .or_page(ctx.tr)?;
    html(&tokens_page(&app, ctx, Some(secret)).await?)
}

async fn revoke_token(
    State(app): State<AppState>,
    Path(id): Path<String>,
    f: Form,
) -> Result<Response, UiError> {
    let ctx = &f.ctx;
    let id: TokenId = id.parse().map_err(|_| invalid(ctx, "id"))?;
    app.engine.revoke_token(&ctx.p, id).await.or_page(ctx.tr)?;
    Ok(done("/app/admin/tokens", "flash.saved"))
}

// ---- mailboxes ----

/// A mailbox as its form shows it.
pub struct MailboxForm {
    pub id: String,
    pub name: String,
    pub address: String,
    pub kinds: Vec<Opt>,
    pub host: String,
    pub port: String,
    pub tls: Vec<Opt>,
    pub username: String,
    pub folder: String,
    pub password_set: bool,
    pub out_host: String,
    pub out_port: String,
    pub out_tls: Vec<Opt>,
    pub out_username: String,
    pub out_from_name: String,
    pub out_password_set: bool,
    pub auto_ack: bool,
    pub active: bool,
}

fn tls_opts(ctx: &Ctx, selected: Option<Tls>) -> Vec<Opt> {
    [
        (Tls::Implicit, "implicit"),
        (Tls::Starttls, "starttls"),
        (Tls::None, "none"),
    ]
    .into_iter()
    .map(|(t, v)| Opt {
        value: v.into(),
        label: ctx.tr.label("tls", v),
        selected: selected == Some(t),
    })
    .collect()
}

fn mailbox_form(ctx: &Ctx, m: Option<&MailboxView>) -> MailboxForm {
    let inbound = m.map(|m| &m.inbound);
    let out = m.and_then(|m| m.outbound.as_ref());
    let kind = inbound.map(|i| i.kind).unwrap_or(InboundKind::Imap);
    MailboxForm {
        id: m.map(|m| m.id.to_string()).unwrap_or_default(),
        name: m.map(|m| m.name.clone()).unwrap_or_default(),
        address: m.map(|m| m.address.clone()).unwrap_or_default(),
        kinds: [InboundKind::Imap, InboundKind::Smtp, InboundKind::Pipe]
            .into_iter()
            .map(|k| Opt {
                value: k.as_str().into(),
                label: ctx.tr.label("inbound", k.as_str()),
                selected: k == kind,
            })
            .collect(),
        host: inbound.and_then(|i| i.host.clone()).unwrap_or_default(),
        port: inbound
            .and_then(|i| i.port)
            .map(|p| p.to_string())
            .unwrap_or_default(),
        tls: tls_opts(
            ctx,
            Some(inbound.and_then(|i| i.tls).unwrap_or(Tls::Implicit)),
        ),
        username: inbound.and_then(|i| i.username.clone()).unwrap_or_default(),
        folder: inbound.and_then(|i| i.folder.clone()).unwrap_or_default(),
        password_set: m.is_some_and(|m| m.inbound_password_set),
        out_host: out.map(|o| o.host.clone()).unwrap_or_default(),
        out_port: out.map(|o| o.port.to_string()).unwrap_or_default(),
        out_tls: tls_opts(ctx, Some(out.map(|o| o.tls).unwrap_or(Tls::Starttls))),
        out_username: out.and_then(|o| o.username.clone()).unwrap_or_default(),
        out_from_name: out.and_then(|o| o.from_name.clone()).unwrap_or_default(),
        out_password_set: m.is_some_and(|m| m.outbound_password_set),
        auto_ack: m.is_none_or(|m| m.settings.auto_ack.enabled),
        active: m.is_none_or(|m| m.active),
    }
}

#[derive(Template)]
#[template(path = "admin_mailboxes.html")]
pub struct MailboxesPage {
    pub chrome: Chrome,
    pub section: &'static str,
    pub mailboxes: Vec<(String, String, String, String, bool)>,
    pub form: MailboxForm,
}

#[derive(Template)]
#[template(path = "admin_mailbox.html")]
pub struct MailboxPage {
    pub chrome: Chrome,
    pub section: &'static str,
    pub form: MailboxForm,
    /// Mail held without a sender: id, Message-ID, subject, received (text, ISO).
    pub held: Vec<(String, String, String, String, String)>,
    /// IMAP only: connected, the last error and when, the last success.
    pub connection: Option<(bool, String, String, String)>,
}

async fn mailboxes(State(app): State<AppState>, ctx: Ctx) -> Result<Response, UiError> {
    admin_only(&ctx)?;
    let tr = ctx.tr;
    let list = app.engine.mailboxes(&ctx.p).await.or_page(tr)?;
    html(&MailboxesPage {
        chrome: ctx.chrome(tr.t("admin.mailboxes")),
        section: "mailboxes",
        mailboxes: list
            .iter()
            .map(|m| {
                (
                    m.id.to_string(),
                    m.name.clone(),
                    m.address.clone(),
                    tr.label("inbound", m.inbound.kind.as_str()),
                    m.active,
                )
            })
            .collect(),
        form: mailbox_form(&ctx, None),
    })
}

async fn mailbox(
    State(app): State<AppState>,
    Path(id): Path<String>,
    ctx: Ctx,
) -> Result<Response, UiError> {
    admin_only(&ctx)?;
    let id: MailboxId = id
        .parse()
        .map_err(|_| UiError::Status(StatusCode::NOT_FOUND, ctx.tr, "error.not_found"))?;
    let m = app.engine.mailbox(&ctx.p, id).await.or_page(ctx.tr)?;
    let held = app
        .engine
        .held_messages(&ctx.p, id)
        .await
        .or_page(ctx.tr)?
        .into_iter()
        .map(|h| {
            (
                h.id.to_string(),
                h.external_id,
                h.subject,
                ctx.tr.date(h.created_at),
                h.created_at.to_rfc3339(),
            )
        })
        .collect();
    let when = |t: &Option<String>| {
        t.as_deref()
            .and_then(domain::Timestamp::parse_rfc3339)
            .map(|t| ctx.tr.date(t))
            .unwrap_or_default()
    };
    let connection = m.connection.as_ref().map(|c| {
        (
            c.connected,
            c.last_error.clone().unwrap_or_default(),
            when(&c.last_error_at),
            when(&c.last_success_at),
        )
    });
    html(&MailboxPage {
        chrome: ctx.chrome(m.name.clone()),
        section: "mailboxes",
        form: mailbox_form(&ctx, Some(&m)),
        held,
        connection,
    })
}

fn held_ids(ctx: &Ctx, id: &str, held: &str) -> Result<(MailboxId, HeldId), UiError> {
    let nf = || UiError::Status(StatusCode::NOT_FOUND, ctx.tr, "error.not_found");
    Ok((
        id.parse().map_err(|_| nf())?,
        held.parse().map_err(|_| nf())?,
    ))
}

/// `POST …/held/{held}/ticket`: the admin names the customer; the message opens
/// (or joins) a ticket, which is shown next.
async fn ticket_held(
    State(app): State<AppState>,
    Path((id, held)): Path<(String, String)>,
    f: Form,
) -> Result<Response, UiError> {
    let ctx = &f.ctx;
    admin_only(ctx)?;
    let (mailbox, held) = held_ids(ctx, &id, &held)?;
    let email = f.text("email").unwrap_or_default();
    let r = channels::email::inbound::ticket_held(
        &app.engine,
        &ctx.p,
        mailbox,
        held,
        email,
        f.text("name"),
    )
    .await
    .map_err(|e| match e {
        channels::email::inbound::IngestError::Engine(e) => UiError::engine(e, ctx.tr),
        other => UiError::Message(StatusCode::UNPROCESSABLE_ENTITY, ctx.tr, other.to_string()),
    })?;
    let Some(ticket) = r.ticket_id else {
        return Err(UiError::Status(
            StatusCode::UNPROCESSABLE_ENTITY,
            ctx.tr,
            "admin.held_not_ticketed",
        ));
    };
    let t = app
        .engine
        .ticket(&ctx.p, engine::tickets::TicketRef::Id(ticket))
        .await
        .or_page(ctx.tr)?;
    Ok(done(&format!("/app/t/{}", t.number), "flash.saved"))
}

/// `POST …/held/{held}/discard`.
async fn discard_held(
    State(app): State<AppState>,
    Path((id, held)): Path<(String, String)>,
    f: Form,
) -> Result<Response, UiError> {
    let ctx = &f.ctx;
    admin_only(ctx)?;
    let (mailbox, held) = held_ids(ctx, &id, &held)?;
    app.engine
        .discard_held(&ctx.p, mailbox, held)
        .await
        .or_page(ctx.tr)?;
    Ok(done(
        &format!("/app/admin/mailboxes/{mailbox}"),
        "flash.saved",
    ))
}

/// The mailbox described by a submitted form. A password field left empty keeps
/// the stored password (it is never shown); "clear" fields remove it.
fn mailbox_input(f: &Form) -> Result<MailboxInput, UiError> {
    let ctx = &f.ctx;
    let tls = |name: &str| -> Result<Tls, UiError> {
        match f.get(name).unwrap_or_default() {
            "implicit" => Ok(Tls::Implicit),
            "starttls" => Ok(Tls::Starttls),
            "none" => Ok(Tls::None),
            _ => Err(invalid(ctx, name)),
        }
    };
    let port = |name: &str| -> Result<Option<u16>, UiError> {
        match f.text(name) {
            None => Ok(None),
            Some(p) => p.parse().map(Some).map_err(|_| invalid(ctx, name)),
        }
    };
    let password = |name: &str, clear: &str| {
        if f.checked(clear) {
            Some(String::new())
        } else {
            f.get(name).filter(|p| !p.is_empty()).map(str::to_owned)
        }
    };
    let kind = match f.get("kind").unwrap_or_default() {
        "imap" => InboundKind::Imap,
        "smtp" => InboundKind::Smtp,
        "pipe" => InboundKind::Pipe,
        _ => return Err(invalid(ctx, "kind")),
    };
    let imap = kind == InboundKind::Imap;
    let inbound = Inbound {
        kind,
        host: f.text("host").filter(|_| imap).map(str::to_owned),
        port: if imap { port("port")? } else { None },
        tls: if imap { Some(tls("tls")?) } else { None },
        username: f.text("username").filter(|_| imap).map(str::to_owned),
        folder: f.text("folder").filter(|_| imap).map(str::to_owned),
        password: if imap {
            password("password", "clear_password").map(domain::secret::Secret::from)
        } else {
            None
        },
    };
    let outbound = match f.text("out_host") {
        None => None,
        Some(host) => Some(Outbound {
            host: host.to_owned(),
            port: port("out_port")?.unwrap_or(587),
            tls: tls("out_tls")?,
            username: f.text("out_username").map(str::to_owned),
            from_name: f.text("out_from_name").map(str::to_owned),
            password: password("out_password", "clear_out_password")
                .map(domain::secret::Secret::from),
        }),
    };
    let mut settings = engine::email::mailbox::Settings::default();
    settings.auto_ack.enabled = f.checked("auto_ack");
    Ok(MailboxInput {
        name: f.get("name").unwrap_or_default().trim().to_owned(),
        address: f.get("address").unwrap_or_default().trim().to_owned(),
        inbound,
        outbound,
        settings: Some(settings),
        active: Some(f.checked("active")),
    })
}

async fn create_mailbox(State(app): State<AppState>, f: Form) -> Result<Response, UiError> {
    admin_only(&f.ctx)?;
    let input = mailbox_input(&f)?;
    let m = app
        .engine
        .create_mailbox(&f.ctx.p, input)
        .await
        .or_page(f.ctx.tr)?;
    Ok(done(
        &format!("/app/admin/mailboxes/{}", m.id),
        "flash.saved",
    ))
}

async fn save_mailbox(
    State(app): State<AppState>,
    Path(id): Path<String>,
    f: Form,
) -> Result<Response, UiError> {
    admin_only(&f.ctx)?;
    let id: MailboxId = id.parse().map_err(|_| invalid(&f.ctx, "id"))?;
    let mut input = mailbox_input(&f)?;
    // Keep what the form does not show (templates, response times).
    let current = app.engine.mailbox(&f.ctx.p, id).await.or_page(f.ctx.tr)?;
    let mut settings = current.settings.clone();
    settings.auto_ack.enabled = f.checked("auto_ack");
    input.settings = Some(settings);
    app.engine
        .update_mailbox(&f.ctx.p, id, input)
        .await
        .or_page(f.ctx.tr)?;
    Ok(done(&format!("/app/admin/mailboxes/{id}"), "flash.saved"))
}

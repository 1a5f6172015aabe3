//! The inbox: standard views with counts, filters, search, sort, paging and bulk
//! actions. The page re-renders itself (one handler) when the live socket reports
//! a change.

use super::i18n::Tr;
use super::{Chrome, Ctx, Form, OrPage, UiError, done, html, safe_next};
use crate::AppState;
use askama::Template;
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use domain::ids::*;
use domain::ticket::{Channel, Priority, Status};
use engine::model::{Filter, OPEN_STATUSES, SlaView, Sort, Ticket};
use engine::tickets::{TicketPatch, TicketRef};
use std::collections::HashMap;

/// Rows per inbox page.
pub const PAGE_SIZE: i64 = 50;

/// People and teams of the workspace, for names and pickers.
pub struct Directory {
    pub users: Vec<(UserId, String)>,
    pub teams: Vec<(TeamId, String)>,
    /// Active people by the `@handle` a note mentions them with (the local
    /// part of their address): (id, handle, name).
    pub handles: Vec<(UserId, String, String)>,
}

impl Directory {
    pub async fn load(app: &AppState, ctx: &Ctx) -> Result<Directory, UiError> {
        let all = app
            .engine
            .users(&ctx.p, None, Some(200))
            .await
            .or_page(ctx.tr)?;
        let handles = all
            .iter()
            .filter(|u| u.user.active)
            .map(|u| {
                let email = u.user.email.as_str().to_lowercase();
                let local = email.split('@').next().unwrap_or_default().to_owned();
                (u.user.id, local, u.user.name.clone())
            })
            .collect();
        // People who left keep their names on the tickets they worked.
        let users = all.into_iter().map(|u| (u.user.id, u.user.name)).collect();
        let teams = app
            .engine
            .teams(&ctx.p, None, Some(200))
            .await
            .or_page(ctx.tr)?
            .into_iter()
            .map(|t| (t.id, t.name))
            .collect();
        Ok(Directory {
            users,
            teams,
            handles,
        })
    }
    pub fn user(&self, id: Option<UserId>) -> String {
        id.and_then(|id| self.users.iter().find(|(u, _)| *u == id))
            .map(|(_, n)| n.clone())
            .unwrap_or_default()
    }
    /// A person picker: a "nobody" choice with `none_value`, then everyone active.
    pub fn user_opts(&self, none_value: &str, none_label: &str, selected: &str) -> Vec<Opt> {
        picker(&self.users, none_value, none_label, selected)
    }
    /// A team picker, likewise.
    pub fn team_opts(&self, none_value: &str, none_label: &str, selected: &str) -> Vec<Opt> {
        picker(&self.teams, none_value, none_label, selected)
    }
    pub fn team(&self, id: Option<TeamId>) -> String {
        id.and_then(|id| self.teams.iter().find(|(t, _)| *t == id))
            .map(|(_, n)| n.clone())
            .unwrap_or_default()
    }
}

fn picker<I: std::fmt::Display>(
    items: &[(I, String)],
    none_value: &str,
    none_label: &str,
    selected: &str,
) -> Vec<Opt> {
    let none = Opt {
        value: none_value.to_owned(),
        label: none_label.to_owned(),
        selected: selected == none_value,
    };
    let mut out: Vec<Opt> = std::iter::once(none)
        .chain(items.iter().map(|(id, name)| {
            let value = id.to_string();
            Opt {
                selected: value == selected,
                value,
                label: name.clone(),
            }
        }))
        .collect();
    // The current value is always a choice, or a form would change it unasked.
    if !out.iter().any(|o| o.selected) {
        out.push(Opt {
            value: selected.to_owned(),
            label: selected.to_owned(),
            selected: true,
        });
    }
    out
}

/// A value and its label, for a `<select>`.
pub struct Opt {
    pub value: String,
    pub label: String,
    pub selected: bool,
}

pub fn opts<T: Copy>(
    items: &[T],
    as_str: fn(T) -> &'static str,
    tr: &Tr,
    prefix: &str,
    selected: &str,
) -> Vec<Opt> {
    items
        .iter()
        .map(|i| {
            let v = as_str(*i);
            Opt {
                value: v.to_owned(),
                label: tr.label(prefix, v),
                selected: v == selected,
            }
        })
        .collect()
}

pub struct ViewLink {
    pub label: String,
    pub href: String,
    pub count: String,
    pub active: bool,
    pub key: String,
}

pub struct Row {
    pub id: String,
    pub number: i64,
    pub subject: String,
    pub status: &'static str,
    pub status_label: String,
    pub priority: &'static str,
    pub priority_label: String,
    pub channel_label: String,
    pub customer: String,
    pub assignee: String,
    pub updated: String,
    pub updated_iso: String,
    /// The SLA's time left (or overdue) and its class: `sla-ok`, `sla-risk`,
    /// `sla-late`, `sla-paused`.
    pub sla: Option<(String, &'static str)>,
    /// The customer wrote last, at this moment (ISO): waiting for an answer.
    pub waiting_since: Option<String>,
    /// Snoozed until: (RFC 3339, as shown).
    pub snoozed: Option<(String, String)>,
}

#[derive(Template)]
#[template(path = "inbox.html")]
pub struct InboxPage {
    pub chrome: Chrome,
    pub views: Vec<ViewLink>,
    pub view: String,
    pub rows: Vec<Row>,
    pub statuses: Vec<Opt>,
    pub priorities: Vec<Opt>,
    pub channels: Vec<Opt>,
    pub assignees: Vec<Opt>,
    pub teams: Vec<Opt>,
    pub sorts: Vec<Opt>,
    pub bulk_statuses: Vec<Opt>,
    pub bulk_users: Vec<Opt>,
    pub tag: String,
    pub q: String,
    pub total: String,
    pub range: String,
    pub prev_href: Option<String>,
    pub next_href: Option<String>,
    pub here: String,
}

/// The inbox's query: the view and the filters, all optional.
#[derive(Default)]
struct InboxQuery {
    view: String,
    status: String,
    priority: String,
    channel: String,
    assignee: String,
    team: String,
    tag: String,
    q: String,
    sort: String,
    page: i64,
}

impl InboxQuery {
    fn parse(raw: Option<&str>) -> InboxQuery {
        let mut q = InboxQuery::default();
        for (k, v) in form_urlencoded::parse(raw.unwrap_or_default().as_bytes()).take(50) {
            let v: String = v.chars().take(200).collect();
            match &*k {
                "view" => q.view = v,
                "status" => q.status = v,
                "priority" => q.priority = v,
                "channel" => q.channel = v,
                "assignee" => q.assignee = v,
                "team" => q.team = v,
                "tag" => q.tag = v.trim().to_lowercase(),
                "q" => q.q = v.trim().to_owned(),
                "sort" => q.sort = v,
                "page" => q.page = v.parse().unwrap_or(0),
                _ => {}
            }
        }
        if q.view.is_empty() {
            q.view = "mine".into();
        }
        q.page = q.page.clamp(0, 2000);
        q
    }

    fn href(&self, page: i64) -> String {
        let mut s = form_urlencoded::Serializer::new(String::new());
        for (k, v) in [
            ("view", &self.view),
            ("status", &self.status),
            ("priority", &self.priority),
            ("channel", &self.channel),
            ("assignee", &self.assignee),
            ("team", &self.team),
            ("tag", &self.tag),
            ("q", &self.q),
            ("sort", &self.sort),
        ] {
            if !v.is_empty() {
                s.append_pair(k, v);
            }
        }
        if page > 0 {
            s.append_pair("page", &page.to_string());
        }
        format!("/app?{}", s.finish())
    }

    /// The view's filter, narrowed by the filters the person set.
    fn filter(
        &self,
        me: UserId,
        solved_since: domain::Timestamp,
        now: domain::Timestamp,
    ) -> Filter {
        let mut f = Filter::default();
        match self.view.as_str() {
            "at_risk" | "breached" => {
                f.statuses = OPEN_STATUSES.to_vec();
                f.sla = SlaView::parse(&self.view).map(|v| (v, now));
                f.sort = Sort::Sla;
            }
            "unassigned" => {
                f.statuses = OPEN_STATUSES.to_vec();
                f.assignee = Some(None);
            }
            "all" => f.statuses = OPEN_STATUSES.to_vec(),
            "following" => {
                f.statuses = [OPEN_STATUSES.as_slice(), &[Status::Pending]].concat();
                f.follower = Some(me);
            }
            "pending" => f.statuses = vec![Status::Pending],
            "solved" => {
                f.statuses = vec![Status::Solved];
                f.solved_since = Some(solved_since);
            }
            v => match v
                .strip_prefix("team:")
                .and_then(|t| t.parse::<TeamId>().ok())
            {
                Some(team) => {
                    f.statuses = OPEN_STATUSES.to_vec();
                    f.team = Some(Some(team));
                }
                None => {
                    f.statuses = OPEN_STATUSES.to_vec();
                    f.assignee = Some(Some(me));
                }
            },
        }
        if let Ok(s) = Status::parse(&self.status) {
            f.statuses = vec![s];
        }
        if let Ok(p) = Priority::parse(&self.priority) {
            f.priorities = vec![p];
        }
        if let Ok(c) = Channel::parse(&self.channel) {
            f.channels = vec![c];
        }
        match self.assignee.as_str() {
            "none" => f.assignee = Some(None),
            a => {
                if let Ok(u) = a.parse::<UserId>() {
                    f.assignee = Some(Some(u));
                }
            }
        }
        match self.team.as_str() {
            "none" => f.team = Some(None),
            t => {
                if let Ok(t) = t.parse::<TeamId>() {
                    f.team = Some(Some(t));
                }
            }
        }
        if !self.tag.is_empty() {
            f.tag = Some(self.tag.clone());
        }
        if !self.q.is_empty() {
            f.text = Some(self.q.clone());
        }
        if let Some(sort) = Sort::parse(&self.sort) {
            f.sort = sort;
        }
        f
    }
}

/// `GET /app`: the inbox.
pub async fn inbox(State(app): State<AppState>, ctx: Ctx) -> Result<Response, UiError> {
    let tr = ctx.tr;
    let q = InboxQuery::parse(ctx.query.as_deref());
    let since = app.engine.recently_solved_since();
    let now = app.engine.now();
    let filter = q.filter(ctx.p.user_id, since, now);
    let (tickets, total) = app
        .engine
        .ticket_page(&ctx.p, &filter, q.page * PAGE_SIZE, PAGE_SIZE)
        .await
        .or_page(tr)?;
    // A page past the end (an old link, a list that shrank) is the last one.
    if tickets.is_empty() && q.page > 0 {
        let last = (total - 1).max(0) / PAGE_SIZE;
        return Ok(axum::response::Redirect::to(&q.href(last)).into_response());
    }
    let counts = app.engine.view_counts(&ctx.p).await.or_page(tr)?;
    let dir = Directory::load(&app, &ctx).await?;
    let customer_ids: Vec<CustomerId> = tickets.iter().map(|t| t.customer_id).collect();
    let names = app
        .engine
        .customer_names(&ctx.p, &customer_ids)
        .await
        .or_page(tr)?;

    let mut views = vec![
        ("mine", "view.mine", counts.mine),
        ("following", "view.following", counts.following),
        ("unassigned", "view.unassigned", counts.unassigned),
        ("all", "view.all_open", counts.all_open),
        ("at_risk", "view.at_risk", counts.sla_at_risk),
        ("breached", "view.breached", counts.sla_breached),
        ("pending", "view.pending", counts.pending),
        ("solved", "view.solved", counts.recently_solved),
    ]
    .into_iter()
    .map(|(key, label, n)| ViewLink {
        label: tr.t(label).to_owned(),
        href: format!("/app?view={key}"),
        count: tr.num(n),
        active: q.view == key,
        key: key.to_owned(),
    })
    .collect::<Vec<_>>();
    let team_counts: HashMap<TeamId, i64> = counts.teams.iter().copied().collect();
    for (id, name) in &dir.teams {
        let key = format!("team:{id}");
        views.insert(
            views.len() - 2,
            ViewLink {
                label: name.clone(),
                href: format!("/app?view={key}"),
                count: tr.num(team_counts.get(id).copied().unwrap_or(0)),
                active: q.view == key,
                key,
            },
        );
    }
    let ids: Vec<TicketId> = tickets.iter().map(|t| t.id).collect();
    let slas = app.engine.ticket_slas(&ctx.p, &ids).await.or_page(tr)?;
    let waiting = app.engine.waiting_since(&ctx.p, &ids).await.or_page(tr)?;
    let rows = tickets
        .iter()
        .map(|t| {
            let mut r = row(t, &tr, &dir, &names);
            r.sla = slas
                .iter()
                .find(|s| s.ticket_id == t.id)
                .and_then(|s| sla_badge(&tr, s, now));
            r.waiting_since = waiting.get(&t.id).map(|at| at.to_rfc3339());
            r
        })
        .collect();

    let assignees = dir.user_opts("none", tr.t("inbox.unassigned"), &q.assignee);
    let teams = dir.team_opts("none", tr.t("inbox.no_team"), &q.team);
    let first = q.page * PAGE_SIZE;
    let shown = first + tickets.len() as i64;
    let range = if total == 0 {
        String::new()
    } else {
        tr.tf(
            "inbox.range",
            &[
                ("from", &tr.num(first + 1)),
                ("to", &tr.num(shown)),
                ("total", &tr.num(total)),
            ],
        )
    };
    let title = views
        .iter()
        .find(|v| v.active)
        .map(|v| v.label.clone())
        .unwrap_or_else(|| tr.t("inbox.title").to_owned());
    let page = InboxPage {
        chrome: ctx.chrome(title),
        views,
        view: q.view.clone(),
        rows,
        statuses: opts(Status::ALL, Status::as_str, &tr, "status", &q.status),
        priorities: opts(
            Priority::ALL,
            Priority::as_str,
            &tr,
            "priority",
            &q.priority,
        ),
        channels: opts(Channel::ALL, Channel::as_str, &tr, "channel", &q.channel),
        assignees,
        teams,
        sorts: opts(&Sort::ALL, Sort::as_str, &tr, "sort", &q.sort),
        bulk_statuses: opts(
            &[
                Status::Open,
                Status::Pending,
                Status::OnHold,
                Status::Solved,
            ],
            Status::as_str,
            &tr,
            "status",
            "",
        ),
        bulk_users: dir
            .users
            .iter()
            .map(|(id, n)| Opt {
                value: id.to_string(),
                label: n.clone(),
                selected: false,
            })
            .collect(),
        tag: q.tag.clone(),
        q: q.q.clone(),
        total: tr.num(total),
        range,
        prev_href: (q.page > 0).then(|| q.href(q.page - 1)),
        next_href: (shown < total).then(|| q.href(q.page + 1)),
        here: q.href(q.page),
    };
    html(&page)
}

fn row(t: &Ticket, tr: &Tr, dir: &Directory, names: &HashMap<CustomerId, String>) -> Row {
    Row {
        id: t.id.to_string(),
        number: t.number,
        subject: t.subject.clone(),
        status: t.status.as_str(),
        status_label: tr.label("status", t.status.as_str()),
        priority: t.priority.as_str(),
        priority_label: tr.label("priority", t.priority.as_str()),
        channel_label: tr.label("channel", t.channel.as_str()),
        customer: names.get(&t.customer_id).cloned().unwrap_or_default(),
        assignee: dir.user(t.assignee_id),
        updated: tr.date(t.updated_at),
        updated_iso: t.updated_at.to_rfc3339(),
        sla: None,
        waiting_since: None,
        snoozed: t.snoozed_until.map(|s| (s.to_rfc3339(), tr.date(s))),
    }
}

/// The inbox's SLA mark: time to the nearest target, or how far past it.
pub(crate) fn sla_badge(
    tr: &Tr,
    s: &engine::sla::TicketSla,
    now: domain::Timestamp,
) -> Option<(String, &'static str)> {
    let now = now.millis();
    match s.due_at.map(|d| d.millis()) {
        Some(due) if due <= now => Some((
            tr.tf("sla.overdue", &[("d", &tr.span(now - due))]),
            "sla-late",
        )),
        Some(due) => {
            let class = if s.warn_at.is_some_and(|w| w.millis() <= now) {
                "sla-risk"
            } else {
                "sla-ok"
            };
            Some((tr.tf("sla.left", &[("d", &tr.span(due - now))]), class))
        }
        None => s
            .clocks
            .iter()
            .any(|(_, c)| c.state == domain::sla::ClockState::Paused)
            .then(|| (tr.t("sla.paused").to_owned(), "sla-paused")),
    }
}

/// `POST /app/bulk`: one change applied to the selected tickets. Each ticket is
/// changed on its own; tickets the change does not apply to (a closed one, say) are
/// counted and left as they were.
pub async fn bulk(State(app): State<AppState>, f: Form) -> Result<Response, UiError> {
    let tr = f.ctx.tr;
    let ids: Vec<TicketId> = f
        .all("ids")
        .take(500)
        .filter_map(|s| s.parse().ok())
        .collect();
    let back = safe_next(f.get("next")).to_owned();
    if ids.is_empty() {
        return Ok(done(&back, "flash.bulk_none"));
    }
    let op = f.get("op").unwrap_or_default();
    let tag = f.text("tag_value").map(str::to_lowercase);
    // A picker left on its prompt is no choice: nothing is changed (an
    // "Unassigned" default once un-assigned every ticket ticked).
    let unchosen = match op {
        "assign" => f.text("assignee_value").is_none(),
        "status" => f.text("status_value").is_none(),
        "tag" => tag.is_none(),
        _ => false,
    };
    if unchosen {
        return Ok(done(&back, "flash.bulk_choose"));
    }
    let patch = match op {
        "assign_me" => TicketPatch {
            assignee_id: Some(Some(f.ctx.p.user_id)),
            ..Default::default()
        },
        "assign" => {
            let user = match f.get("assignee_value").unwrap_or_default() {
                "none" => None,
                s => Some(s.parse::<UserId>().map_err(|_| {
                    UiError::Status(
                        axum::http::StatusCode::UNPROCESSABLE_ENTITY,
                        tr,
                        "error.invalid",
                    )
                })?),
            };
            TicketPatch {
                assignee_id: Some(user),
                ..Default::default()
            }
        }
        "status" => TicketPatch {
            status: Some(
                Status::parse(f.get("status_value").unwrap_or_default()).map_err(|_| {
                    UiError::Status(
                        axum::http::StatusCode::UNPROCESSABLE_ENTITY,
                        tr,
                        "error.invalid",
                    )
                })?,
            ),
            ..Default::default()
        },
        "tag" if tag.is_some() => TicketPatch::default(),
        _ => {
            return Err(UiError::Status(
                axum::http::StatusCode::UNPROCESSABLE_ENTITY,
                tr,
                "error.invalid",
            ));
        }
    };
    let (mut failed, mut changed) = (0, 0);
    let mut undo = Vec::new();
    for id in ids {
        let mut patch = patch.clone();
        let (before, was) = match app.engine.ticket(&f.ctx.p, TicketRef::Id(id)).await {
            Ok(t) => (t.updated_at, t),
            Err(_) => {
                failed += 1;
                continue;
            }
        };
        if let Some(tag) = &tag
            && op == "tag"
        {
            match app.engine.ticket(&f.ctx.p, TicketRef::Id(id)).await {
                Ok(t) => {
                    let mut tags = t.tags.clone();
                    if !tags.contains(tag) {
                        tags.push(tag.clone());
                    }
                    patch.tags = Some(tags);
                }
                Err(_) => {
                    failed += 1;
                    continue;
                }
            }
        }
        match app
            .engine
            .update_ticket(&f.ctx.p, TicketRef::Id(id), patch)
            .await
        {
            Ok(t) if t.updated_at != before => {
                changed += 1;
                // What puts it back, and when it was changed: an undo leaves
                // alone a ticket someone changed since.
                let back = match op {
                    "assign" | "assign_me" => {
                        was.assignee_id.map_or("none".to_owned(), |u| u.to_string())
                    }
                    "status" => was.status.as_str().to_owned(),
                    _ => tag.clone().unwrap_or_default(),
                };
                undo.push(format!("{id}={back}@{}", t.updated_at.millis()));
            }
            Ok(_) => {}
            Err(e) if matches!(e, engine::EngineError::Forbidden(_)) => {
                return Err(UiError::engine(e, tr));
            }
            Err(_) => failed += 1,
        }
    }
    let flash = match (changed, failed) {
        (0, 0) => "flash.bulk_unchanged",
        (_, 0) => "flash.bulk_done",
        (0, _) => "flash.bulk_failed",
        _ => "flash.bulk_partial",
    };
    // The undo travels with the confirmation (one page of tickets at most).
    let kind = if op == "assign_me" { "assign" } else { op };
    if undo.is_empty() || undo.len() > MAX_UNDO {
        return Ok(done(&back, flash));
    }
    let payload = format!("{kind};{}", undo.join(";"));
    let sep = if back.contains('?') { '&' } else { '?' };
    let to = format!(
        "{back}{sep}{}",
        form_urlencoded::Serializer::new(String::new())
            .append_pair("ok", flash)
            .append_pair("undo", &payload)
            .finish()
    );
    Ok(axum::response::Redirect::to(&to).into_response())
}

/// Most tickets one undo puts back (a page of the inbox is 50).
const MAX_UNDO: usize = 200;

/// `POST /app/bulk/undo` (`undo`: what a bulk change's confirmation carried):
/// puts each ticket back as it was, unless someone changed it since.
pub async fn bulk_undo(State(app): State<AppState>, f: Form) -> Result<Response, UiError> {
    let tr = f.ctx.tr;
    let back = safe_next(f.get("next")).to_owned();
    let bad = || {
        UiError::Status(
            axum::http::StatusCode::UNPROCESSABLE_ENTITY,
            tr,
            "error.invalid",
        )
    };
    let raw = f.get("undo").unwrap_or_default();
    let mut parts = raw.split(';');
    let kind = parts.next().unwrap_or_default();
    if !matches!(kind, "assign" | "status" | "tag") {
        return Err(bad());
    }
    let (mut restored, mut skipped) = (0, 0);
    for entry in parts.take(MAX_UNDO) {
        let (id, rest) = entry.split_once('=').ok_or_else(bad)?;
        let (value, at) = rest.rsplit_once('@').ok_or_else(bad)?;
        let id: TicketId = id.parse().map_err(|_| bad())?;
        let at: i64 = at.parse().map_err(|_| bad())?;
        let Ok(t) = app.engine.ticket(&f.ctx.p, TicketRef::Id(id)).await else {
            skipped += 1;
            continue;
        };
        if t.updated_at.millis() != at {
            skipped += 1;
            continue;
        }
        let patch = match kind {
            "assign" => TicketPatch {
                assignee_id: Some(match value {
                    "none" => None,
                    u => Some(u.parse::<UserId>().map_err(|_| bad())?),
                }),
                ..Default::default()
            },
            "status" => TicketPatch {
                status: Some(Status::parse(value).map_err(|_| bad())?),
                ..Default::default()
            },
            _ => TicketPatch {
                tags: Some(t.tags.iter().filter(|g| *g != value).cloned().collect()),
                ..Default::default()
            },
        };
        match app
            .engine
            .update_ticket(&f.ctx.p, TicketRef::Id(id), patch)
            .await
        {
            Ok(_) => restored += 1,
            Err(e) if matches!(e, engine::EngineError::Forbidden(_)) => {
                return Err(UiError::engine(e, tr));
            }
            Err(_) => skipped += 1,
        }
    }
    Ok(done(
        &back,
        match (restored, skipped) {
            (_, 0) => "flash.bulk_undone",
            (0, _) => "flash.bulk_undo_none",
            _ => "flash.bulk_undo_partial",
        },
    ))
}

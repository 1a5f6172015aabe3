//! The ticket page (thread, customer sidebar, properties, composer).

use super::i18n::Tr;
use super::views::{Directory, Opt, opts};
use super::{Chrome, Ctx, Form, OrPage, UiError, csrf_ok, done, html};
use crate::AppState;
use askama::Template;
use axum::extract::{Multipart, Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use domain::fields::FieldTarget;
use domain::ids::*;
use domain::ticket::{AuthorKind, Priority, Status, Visibility};
use engine::model::{Filter, Message, Ticket};
use engine::swarm::Circle;
use engine::tickets::{Body, NewMessage, TicketPatch, TicketRef};

/// Most messages a ticket page shows.
const MAX_THREAD: usize = 2000;

pub struct MsgView {
    pub id: String,
    pub internal: bool,
    pub author: String,
    pub author_kind: &'static str,
    pub channel_label: String,
    pub time: String,
    pub iso: String,
    pub delivery: Option<(&'static str, String)>,
    pub delivery_error: Option<String>,
    /// Sanitised at ingest; shown as it is.
    pub html: Option<String>,
    pub text: String,
    pub quoted: Option<String>,
    /// (download path, file name, size, whether it is an image to show).
    pub attachments: Vec<(String, String, String, bool)>,
    /// A customer's later message, which may be split into a new ticket.
    pub splittable: bool,
    /// Written by someone other than the ticket's customer (who wrote in on the
    /// thread): replies do not go to them unless an agent adds them as a copy.
    pub third_party: bool,
    /// Their address when they can be added as a copy (not one already).
    pub cc_offer: Option<String>,
    /// Marked as the ticket's solution.
    pub solution: bool,
    /// What triage read in it (customers' messages).
    pub triage: Option<TriageView>,
    /// The language its text is in when that is not the page's, so a screen
    /// reader speaks Thai in a Russian page as Thai.
    pub lang: Option<&'static str>,
    /// What happened to the ticket after the message before this one.
    pub before: Vec<ActivityView>,
}

/// A change to the ticket shown in its thread: who, what, when.
pub struct ActivityView {
    pub who: String,
    pub text: String,
    pub time: String,
    pub iso: String,
}

/// The language a text's letters say it is in (Thai, Russian, English), when
/// most of them are of one script and it is not `page`'s.
pub fn script_lang(text: &str, page: &str) -> Option<&'static str> {
    let (mut thai, mut cyrillic, mut latin) = (0usize, 0usize, 0usize);
    for c in text.chars().take(2_000) {
        match c {
            '\u{0e00}'..='\u{0e7f}' => thai += 1,
            '\u{0400}'..='\u{04ff}' => cyrillic += 1,
            'a'..='z' | 'A'..='Z' => latin += 1,
            _ => {}
        }
    }
    let all = thai + cyrillic + latin;
    let (lang, n) = [("th", thai), ("ru", cyrillic), ("en", latin)]
        .into_iter()
        .max_by_key(|(_, n)| *n)?;
    (all > 0 && n * 10 >= all * 7 && lang != page).then_some(lang)
}

/// Triage of one message as agents see it.
pub struct TriageView {
    /// The language's own name, and its code for `lang`.
    pub lang: String,
    pub lang_code: String,
    /// The category's name and key, with the chance in per cent.
    pub category: Option<(String, String)>,
    pub category_pct: u32,
    pub corrected: bool,
    pub urgent: bool,
    /// `negative`, `neutral` or `positive`, and its label.
    pub sentiment: String,
    pub sentiment_label: String,
    pub priority_label: String,
}

pub use super::field_form::FieldView;

#[derive(Template)]
#[template(path = "ticket.html")]
pub struct TicketPage {
    pub chrome: Chrome,
    pub id: String,
    pub number: i64,
    pub subject: String,
    pub status: &'static str,
    pub status_label: String,
    /// Snoozed until: (RFC 3339, as shown).
    pub snoozed: Option<(String, String)>,
    /// The snooze form's time: the current snooze or tomorrow 9:00, in
    /// the workspace's zone (named beside the field).
    pub snooze_at: String,
    pub zone: String,
    /// Merged into that ticket (its number).
    pub merged_into: Option<i64>,
    /// My reminders about this ticket still to come: (id, RFC 3339, shown, note).
    pub reminders: Vec<(String, String, String, String)>,
    /// Colleagues a note can mention: (`@handle`, name).
    pub mentionable: Vec<(String, String)>,
    pub priority_label: String,
    pub channel_label: String,
    /// The person's signature, shown where it will be added (email tickets).
    pub signature: String,
    pub created: String,
    pub created_iso: String,
    pub messages: Vec<MsgView>,
    pub customer_id: String,
    pub customer_name: String,
    pub customer_language: String,
    pub identities: Vec<(String, String)>,
    pub other_tickets: Vec<(i64, String, String, &'static str)>,
    /// How many other profiles may be this customer.
    pub maybe_same: usize,
    /// The customer's newest orders (the ticket's own marked).
    pub orders: Vec<super::orders_view::OrderView>,
    /// What to offer after the solve: name and why.
    pub upsell: Vec<(String, String)>,
    pub statuses: Vec<Opt>,
    pub priorities: Vec<Opt>,
    pub assignees: Vec<Opt>,
    pub teams: Vec<Opt>,
    pub tiers: Vec<Opt>,
    pub category: String,
    pub tags: String,
    /// Addresses copied on replies.
    pub cc: Vec<String>,
    pub fields: Vec<FieldView>,
    /// Macros the agent may use: (id, name, a preview of the text).
    pub canned: Vec<(String, String, String)>,
    pub error: Option<String>,
    /// The reply being written, kept when it could not be sent.
    pub draft: String,
    /// Knowledge-base answers that may fit this ticket.
    pub suggestions: Vec<SuggestionView>,
    /// A chat's visitor: where they are and what they told.
    pub visitor: Option<VisitorView>,
    /// The SLA's clocks: what each measures, its state and its target.
    pub sla: Vec<SlaClockView>,
    /// Experts invited onto the ticket: (user id, name).
    pub experts: Vec<(String, String)>,
    /// Followers as (user id, name).
    pub followers: Vec<(String, String)>,
    pub following: bool,
    pub my_id: String,
    /// Side conversations with another team or an outside address.
    pub sides: Vec<SideView>,
    /// The customer's rating of the help: (what it says, their comment, low).
    pub csat: Option<(String, String, bool)>,
    /// Quality reviews of the conversation, and (supervisors) the forms.
    pub review: Option<ReviewPanel>,
    /// Past answers from similar tickets: marked solutions, then the replies
    /// that solved others.
    pub solutions: Vec<PastAnswerView>,
    /// The ticket's history, newest first: what, by whom, details.
    pub history: Vec<HistoryRow>,
    /// Changes after the last message shown.
    pub after_thread: Vec<ActivityView>,
    /// A WhatsApp conversation's window, and its templates once it closed.
    pub whatsapp: Option<WhatsappView>,
    /// The workspace's triage categories: (key, name).
    pub triage_categories: Vec<(String, String)>,
}

/// A WhatsApp conversation's 24-hour window as the composer shows it.
pub struct WhatsappView {
    pub open: bool,
    pub closes: String,
    pub closes_iso: String,
    /// (value `name|language`, label, body with `{{1}}` …)
    pub templates: Vec<(String, String, String)>,
    /// Why the templates could not be listed.
    pub error: Option<String>,
}

/// A side conversation as the ticket page shows it.
pub struct SideView {
    pub id: String,
    pub subject: String,
    /// The team's name or the address.
    pub with: String,
    pub open: bool,
    pub messages: Vec<SideMessageView>,
}

pub struct SideMessageView {
    /// The agent's name, or the address that answered.
    pub who: String,
    pub outside: bool,
    pub time: String,
    pub iso: String,
    pub body: String,
    /// The delivery's label and state (`failed` is marked), for email.
    pub delivery: Option<(String, String)>,
    pub error: String,
}

fn side_view(s: engine::side::SideThread, tr: Tr, dir: &Directory) -> SideView {
    let with = match (s.side.team_id, &s.side.address) {
        (Some(t), _) => dir.team(Some(t)),
        (None, Some(a)) => a.clone(),
        (None, None) => String::new(),
    };
    SideView {
        id: s.side.id.to_string(),
        subject: s.side.subject,
        with,
        open: s.side.open,
        messages: s
            .messages
            .into_iter()
            .map(|m| SideMessageView {
                who: match m.author_id {
                    Some(u) => dir.user(Some(u)),
                    None => m.from_address.unwrap_or_default(),
                },
                outside: m.author_id.is_none(),
                time: tr.date(m.created_at),
                iso: m.created_at.to_rfc3339(),
                body: m.body,
                delivery: m.delivery.map(|d| (tr.label("delivery", &d), d)),
                error: m
                    .delivery_error
                    .map(|e| tr.message(&domain::Message::from_stored(&e)))
                    .unwrap_or_default(),
            })
            .collect(),
    }
}

/// One line of a ticket's history.
/// The events shown in the thread as activity lines.
fn is_activity(e: &domain::event::EventData) -> bool {
    use domain::event::EventData;
    matches!(
        e,
        EventData::TicketUpdated { .. }
            | EventData::TicketEscalated { .. }
            | EventData::CollaboratorAdded { .. }
            | EventData::CollaboratorRemoved { .. }
            | EventData::FollowerAdded { .. }
            | EventData::FollowerRemoved { .. }
            | EventData::SideStarted { .. }
            | EventData::SideStateChanged { .. }
            | EventData::TicketMerged { .. }
            | EventData::TicketSplit { .. }
    )
}

/// One changed field in words: "Status: Open → Pending", names for ids,
/// labels for enumerations.
fn change_text(tr: &Tr, dir: &Directory, c: &domain::event::Change) -> String {
    use serde_json::Value;
    let uuid = |v: &Value| v.as_str().and_then(|s| uuid::Uuid::parse_str(s).ok());
    let value = |v: &Value| -> String {
        let s = match (c.field.as_ref(), v) {
            (_, Value::Null) => return "—".into(),
            ("status", Value::String(s)) => tr.label("status", s),
            ("priority", Value::String(s)) => tr.label("priority", s),
            ("assignee_id", v) => dir.user(uuid(v).map(UserId)),
            ("team_id", v) => dir.team(uuid(v).map(TeamId)),
            ("snoozed_until", Value::String(s)) => {
                domain::Timestamp::parse_rfc3339(s).map_or_else(|| s.clone(), |t| tr.date(t))
            }
            (_, Value::Array(a)) if a.is_empty() => return "—".into(),
            (_, Value::Array(a)) => a
                .iter()
                .map(|x| x.as_str().map_or_else(|| x.to_string(), str::to_owned))
                .collect::<Vec<_>>()
                .join(", "),
            (_, Value::Object(o)) => o.keys().cloned().collect::<Vec<_>>().join(", "),
            (_, Value::String(s)) => s.clone(),
            (_, other) => other.to_string(),
        };
        s.chars().take(60).collect()
    };
    let key = format!("change.{}", c.field);
    let field = if tr.has(&key) {
        tr.t(&key).to_owned()
    } else {
        c.field.to_string()
    };
    if c.field == "merged_into" {
        // The page's banner links the ticket it went to.
        return field;
    }
    if c.field == "custom_fields" {
        // Which fields changed, not every value of every field.
        let keys = |v: &Value| v.as_object().cloned().unwrap_or_default();
        let (from, to) = (keys(&c.from), keys(&c.to));
        let mut changed: Vec<&String> = from
            .keys()
            .chain(to.keys())
            .filter(|k| from.get(*k) != to.get(*k))
            .collect();
        changed.sort_unstable();
        changed.dedup();
        let names: Vec<&str> = changed.into_iter().map(String::as_str).collect();
        return format!("{field}: {}", names.join(", "));
    }
    format!("{field}: {} → {}", value(&c.from), value(&c.to))
}

/// An activity line's words.
fn activity_text(tr: &Tr, dir: &Directory, e: &domain::event::EventData) -> String {
    use domain::event::EventData;
    match e {
        EventData::TicketUpdated { changes, .. } => changes
            .iter()
            .map(|c| change_text(tr, dir, c))
            .collect::<Vec<_>>()
            .join("; "),
        EventData::TicketEscalated {
            to_tier,
            to_team,
            reason,
            ..
        } => {
            let mut s = tr.tf(
                "change.escalated",
                &[
                    ("tier", &to_tier.to_string()),
                    ("team", &dir.team(*to_team)),
                ],
            );
            if !reason.is_empty() {
                s.push_str(" — ");
                s.extend(reason.chars().take(120));
            }
            s
        }
        EventData::CollaboratorAdded { user_id, .. } => tr.tf(
            "change.expert_added",
            &[("name", &dir.user(Some(*user_id)))],
        ),
        EventData::TicketMerged {
            source_number,
            messages,
            ..
        } => tr.tf(
            "change.merged_in",
            &[
                ("number", &source_number.to_string()),
                ("n", &tr.num(i64::try_from(*messages).unwrap_or(i64::MAX))),
            ],
        ),
        EventData::TicketSplit { into_number, .. } => {
            tr.tf("change.split_out", &[("number", &into_number.to_string())])
        }
        EventData::CollaboratorRemoved { user_id, .. } => tr.tf(
            "change.expert_removed",
            &[("name", &dir.user(Some(*user_id)))],
        ),
        EventData::FollowerAdded { user_id, .. } => tr.tf(
            "change.follower_added",
            &[("name", &dir.user(Some(*user_id)))],
        ),
        EventData::FollowerRemoved { user_id, .. } => tr.tf(
            "change.follower_removed",
            &[("name", &dir.user(Some(*user_id)))],
        ),
        EventData::SideStarted {
            subject,
            team_id,
            address,
            ..
        } => {
            let with = match (team_id, address) {
                (Some(t), _) => dir.team(Some(*t)),
                (None, Some(a)) => a.clone(),
                (None, None) => String::new(),
            };
            tr.tf(
                "change.side_started",
                &[("subject", subject.as_str()), ("with", &with)],
            )
        }
        EventData::SideStateChanged { open, .. } => tr
            .t(if *open {
                "change.side_reopened"
            } else {
                "change.side_closed"
            })
            .to_owned(),
        _ => String::new(),
    }
}

pub struct HistoryRow {
    pub time: String,
    pub iso: String,
    pub what: String,
    pub who: String,
    pub detail: String,
}

/// Most history lines the ticket page shows (the API pages through all).
const HISTORY: i64 = 100;

/// Who did it, as people read it: an agent's name, the customer, a rule by
/// its name (from its `rule.fired` line), the system.
fn who(
    tr: &super::i18n::Tr,
    dir: &super::views::Directory,
    customer: &str,
    rules: &std::collections::HashMap<RuleId, String>,
    a: &domain::event::Actor,
) -> String {
    use domain::event::Actor;
    match a {
        Actor::User(u) => dir.user(Some(*u)),
        Actor::Customer(_) => customer.to_owned(),
        Actor::Integration(_) => "API".into(),
        Actor::Rule(r) => format!(
            "{} · {}",
            tr.label("rulekind", "trigger"),
            rules.get(r).cloned().unwrap_or_default()
        ),
        Actor::Automation(a) => format!(
            "{} · {}",
            tr.label("rulekind", "automation"),
            rules.get(&RuleId(a.0)).cloned().unwrap_or_default()
        ),
        Actor::Bot => tr.t("author.bot").to_owned(),
        Actor::System => tr.t("author.system").to_owned(),
    }
}

/// A history line's details: the fields a change touched, a rule's failures.
fn detail(tr: &Tr, dir: &Directory, e: &domain::event::EventData) -> String {
    use domain::event::EventData;
    match e {
        EventData::TicketUpdated { .. } => activity_text(tr, dir, e),
        EventData::RuleFired { name, failed, .. } => {
            if failed.is_empty() {
                name.clone()
            } else {
                format!("{name} — {}", failed.join("; "))
            }
        }
        EventData::TicketEscalated { reason, .. } => reason.chars().take(120).collect(),
        EventData::AgentsNotified { text, .. } => text.chars().take(120).collect(),
        _ => String::new(),
    }
}

/// One SLA clock in the sidebar.
pub struct SlaClockView {
    pub label: String,
    pub state_label: String,
    /// `sla-ok`, `sla-risk`, `sla-late`, `sla-paused` or `sla-met`.
    pub class: &'static str,
    /// Time left, overdue, or the target's moment.
    pub detail: String,
    pub due_iso: String,
}

fn sla_views(tr: &Tr, clocks: &domain::sla::Clocks, now: domain::Timestamp) -> Vec<SlaClockView> {
    use domain::sla::ClockState;
    let now = now.millis();
    clocks
        .iter()
        .map(|(m, c)| {
            let due = c.due_at.map(domain::Timestamp::from_millis);
            let (class, detail) = match (c.state, c.due_at) {
                (ClockState::Running, Some(d)) => (
                    if c.warn_at.is_some_and(|w| w <= now) {
                        "sla-risk"
                    } else {
                        "sla-ok"
                    },
                    tr.tf("sla.left", &[("d", &tr.span(d - now))]),
                ),
                (ClockState::Breached, Some(d)) if c.is_open() => (
                    "sla-late",
                    tr.tf("sla.overdue", &[("d", &tr.span(now - d))]),
                ),
                (ClockState::Paused, _) => (
                    "sla-paused",
                    tr.tf("sla.left", &[("d", &tr.span(c.remaining_ms.unwrap_or(0)))]),
                ),
                (ClockState::Breached, _) => (
                    "sla-late",
                    due.map(|d| tr.tf("sla.due", &[("t", &tr.date(d))]))
                        .unwrap_or_default(),
                ),
                _ => (
                    "sla-met",
                    due.map(|d| tr.tf("sla.due", &[("t", &tr.date(d))]))
                        .unwrap_or_default(),
                ),
            };
            SlaClockView {
                label: tr.t(&format!("sla.{}", m.as_str())).to_owned(),
                state_label: tr.t(&format!("sla.state_{}", c.state.as_str())).to_owned(),
                class,
                detail,
                due_iso: due.map(|d| d.to_rfc3339()).unwrap_or_default(),
            }
        })
        .collect()
}

/// The chat visitor behind a ticket, for the sidebar.
pub struct VisitorView {
    pub page_url: String,
    pub page_title: String,
    pub lang: String,
    pub verified: bool,
    pub last_seen: String,
    pub last_seen_iso: String,
}

/// A past answer from a similar ticket, offered beside the composer.
pub struct PastAnswerView {
    /// `Solution` or `Reply`, in the reader's language.
    pub kind: String,
    pub number: i64,
    pub subject: String,
    pub preview: String,
    /// What the insert button puts into the reply.
    pub text: String,
}

/// An article or FAQ answer offered beside the composer.
pub struct SuggestionView {
    pub faq: bool,
    pub title: String,
    pub snippet: String,
    pub text: String,
    /// The absolute help-center address of a public article.
    pub link: Option<String>,
}

pub(crate) fn number_of(raw: &str, tr: Tr) -> Result<TicketRef, UiError> {
    raw.parse::<i64>()
        .ok()
        .filter(|n| *n > 0)
        .map(TicketRef::Number)
        .ok_or(UiError::Status(
            StatusCode::NOT_FOUND,
            tr,
            "error.not_found",
        ))
}

async fn thread(app: &AppState, ctx: &Ctx, t: &Ticket) -> Result<Vec<Message>, UiError> {
    let mut all: Vec<Message> = Vec::new();
    loop {
        let page = app
            .engine
            .messages(
                &ctx.p,
                TicketRef::Id(t.id),
                all.last().map(|m| m.id),
                Some(200),
            )
            .await
            .or_page(ctx.tr)?;
        let n = page.len();
        all.extend(page);
        if n < 200 || all.len() >= MAX_THREAD {
            return Ok(all);
        }
    }
}

/// Builds the page for a ticket; `error` re-shows the composer's problem.
pub async fn render(
    app: &AppState,
    ctx: &Ctx,
    r: TicketRef,
    error: Option<String>,
) -> Result<TicketPage, UiError> {
    let tr = ctx.tr;
    let t = app.engine.ticket(&ctx.p, r).await.or_page(tr)?;
    let messages = thread(app, ctx, &t).await?;
    let dir = Directory::load(app, ctx).await?;
    let customer = app
        .engine
        .customer(&ctx.p, t.customer_id)
        .await
        .or_page(tr)?;
    let maybe_same = app
        .engine
        .merge_suggestions(&ctx.p, t.customer_id)
        .await
        .or_page(tr)?
        .len();
    let linked = app
        .engine
        .ticket_order(&ctx.p, TicketRef::Id(t.id))
        .await
        .or_page(tr)?;
    let mut orders = app
        .engine
        .orders(
            &ctx.p,
            Some(t.customer_id),
            None,
            None,
            Some(super::orders_view::SHOWN),
        )
        .await
        .or_page(tr)?;
    // The ticket's own order is shown even when it is not among the newest.
    if let Some(l) = &linked
        && !orders.iter().any(|o| o.id == l.id)
    {
        orders.insert(0, l.clone());
    }
    let orders = orders
        .iter()
        .map(|o| super::orders_view::view(tr, o, linked.as_ref().map(|l| l.id)))
        .collect();
    let upsell = app
        .engine
        .upsell(&ctx.p, TicketRef::Id(t.id))
        .await
        .or_page(tr)?
        .1
        .into_iter()
        .map(|u| super::orders_view::upsell(tr, u))
        .collect();
    let others = app
        .engine
        .tickets(
            &ctx.p,
            &Filter {
                customer: Some(t.customer_id),
                ..Default::default()
            },
            None,
            Some(11),
        )
        .await
        .or_page(tr)?;
    // Archived fields take no values: the panel leaves them out.
    let defs = app.engine.fields(&ctx.p).await.or_page(tr)?;
    let suggestions = if ctx.p.role.can_work_tickets() {
        let first = messages
            .iter()
            .find(|m| m.author_kind == AuthorKind::Customer)
            .map(|m| m.body_text.chars().take(600).collect::<String>())
            .unwrap_or_default();
        let lang = customer
            .language
            .clone()
            .unwrap_or_else(|| ctx.ws.default_language.clone());
        app.engine
            .kb_suggest(&ctx.p, &format!("{} {first}", t.subject), Some(lang), 3)
            .await
            .or_page(tr)?
            .into_iter()
            .map(|s| SuggestionView {
                faq: s.kind == "faq",
                title: s.title,
                snippet: s.snippet,
                text: s.text,
                link: s.path.map(|p| format!("{}{p}", ctx.origin)),
            })
            .collect()
    } else {
        Vec::new()
    };

    // Others who wrote in on the thread, by name and address.
    let mut strangers: std::collections::HashMap<CustomerId, (String, Option<String>)> =
        std::collections::HashMap::new();
    for id in messages.iter().filter_map(|m| m.author_customer_id) {
        if id == t.customer_id || strangers.contains_key(&id) {
            continue;
        }
        let who = app.engine.customer(&ctx.p, id).await.or_page(tr)?;
        let email = who
            .identities
            .iter()
            .find(|i| i.kind == domain::identity::IdentityKind::Email)
            .map(|i| i.value.clone());
        let name = match &email {
            Some(e) if *e != who.name => format!("{} <{e}>", who.name),
            _ => who.name.clone(),
        };
        strangers.insert(id, (name, email));
    }
    let message_times: Vec<domain::Timestamp> = messages.iter().map(|m| m.created_at).collect();
    let open = t.status != domain::ticket::Status::Closed && t.merged_into.is_none();
    let mut messages: Vec<MsgView> = messages
        .into_iter()
        .enumerate()
        .map(|(i, m)| {
            let stranger = m.author_customer_id.and_then(|c| strangers.get(&c));
            let split = open && i > 0 && m.author_kind == AuthorKind::Customer;
            let mut v = msg_view(m, &tr, &dir, &customer.name);
            v.splittable = split;
            if let Some((name, email)) = stranger {
                v.author = name.clone();
                v.third_party = true;
                v.cc_offer = email.clone().filter(|e| !t.cc.contains(e));
            }
            v
        })
        .collect();
    let statuses = Status::ALL
        .iter()
        .copied()
        .filter(|s| t.status.can_become(*s))
        .collect::<Vec<_>>();
    let id_text = |id: Option<String>| id.unwrap_or_default();
    let assignees = dir.user_opts(
        "",
        tr.t("inbox.unassigned"),
        &id_text(t.assignee_id.map(|u| u.to_string())),
    );
    let teams = dir.team_opts(
        "",
        tr.t("inbox.no_team"),
        &id_text(t.team_id.map(|u| u.to_string())),
    );
    let fields = super::field_form::views(defs, FieldTarget::Ticket, &t.custom_fields);
    let visitor = if t.channel == domain::ticket::Channel::Chat {
        app.engine
            .ticket_visitor(&ctx.p, t.id)
            .await
            .or_page(tr)?
            .map(|v| VisitorView {
                // Only web addresses become links.
                page_url: v
                    .page_url
                    .filter(|u| u.starts_with("https://") || u.starts_with("http://"))
                    .unwrap_or_default(),
                page_title: v.page_title.unwrap_or_default(),
                lang: v.lang.as_deref().map(language_label).unwrap_or_default(),
                verified: v.external_user_id.is_some(),
                last_seen: tr.date(v.last_seen_at),
                last_seen_iso: v.last_seen_at.to_rfc3339(),
            })
    } else {
        None
    };
    let whatsapp = if t.channel == domain::ticket::Channel::Whatsapp {
        let closes = app.engine.whatsapp_window(&ctx.p, t.id).await.or_page(tr)?;
        let open = closes.is_some_and(|c| c > app.engine.now());
        // Templates are read from Meta only when they are the one way to write.
        let (templates, error) = if open {
            (Vec::new(), None)
        } else {
            match app
                .engine
                .ticket_templates(&ctx.p, TicketRef::Id(t.id))
                .await
            {
                Ok(ts) => (
                    ts.into_iter()
                        .map(|x| {
                            (
                                format!("{}|{}", x.name, x.language),
                                format!("{} ({})", x.name, x.language),
                                x.body,
                            )
                        })
                        .collect(),
                    None,
                ),
                Err(e) => (Vec::new(), Some(e.to_string())),
            }
        };
        Some(WhatsappView {
            open,
            closes: closes.map(|c| tr.date(c)).unwrap_or_default(),
            closes_iso: closes.map(|c| c.to_rfc3339()).unwrap_or_default(),
            templates,
            error,
        })
    } else {
        None
    };
    let categories = app.engine.triage_categories(&ctx.p).await.or_page(tr)?;
    let triage_categories: Vec<(String, String)> = categories
        .into_iter()
        .map(|c| (c.spec.key, c.spec.name))
        .collect();
    let read = app
        .engine
        .ticket_triage(&ctx.p, TicketRef::Id(t.id))
        .await
        .or_page(tr)?;
    for tg in read {
        let Some(m) = messages
            .iter_mut()
            .find(|m| m.id == tg.message_id.to_string())
        else {
            continue;
        };
        let code = tg.lang.clone().unwrap_or_default();
        m.triage = Some(TriageView {
            lang: domain::kb::native_name(&code)
                .map(str::to_owned)
                .unwrap_or_else(|| code.clone()),
            lang_code: code,
            category: tg.category.as_ref().map(|key| {
                let name = triage_categories
                    .iter()
                    .find(|c| c.0 == *key)
                    .map_or_else(|| key.clone(), |c| c.1.clone());
                (name, key.clone())
            }),
            category_pct: (tg.category_confidence * 100.0).round().clamp(0.0, 100.0) as u32,
            corrected: tg.corrected_by.is_some(),
            urgent: tg.urgent,
            sentiment_label: tr.label("triage", &format!("sentiment_{}", tg.sentiment)),
            sentiment: tg.sentiment,
            priority_label: tr.label("priority", tg.priority.as_str()),
        });
    }
    let marked = app.engine.solutions_of(&ctx.p, t.id).await.or_page(tr)?;
    for m in &mut messages {
        m.solution = marked.iter().any(|id| id.to_string() == m.id);
    }
    let circle = |ids: Vec<UserId>| -> Vec<(String, String)> {
        ids.into_iter()
            .map(|u| (u.to_string(), dir.user(Some(u))))
            .collect()
    };
    let experts = circle(
        app.engine
            .circle(&ctx.p, TicketRef::Id(t.id), Circle::Experts)
            .await
            .or_page(tr)?,
    );
    let followers = circle(
        app.engine
            .circle(&ctx.p, TicketRef::Id(t.id), Circle::Followers)
            .await
            .or_page(tr)?,
    );
    let my_id = ctx.p.user_id.to_string();
    let csat = app
        .engine
        .ticket_survey(&ctx.p, t.id)
        .await
        .or_page(tr)?
        .and_then(|s| match s.score {
            Some(n) => Some((
                tr.tf("ticket.csat_score", &[("score", &n.to_string())]),
                s.comment.unwrap_or_default(),
                s.kind.is_low(n),
            )),
            None => s
                .sent_at
                .map(|_| (tr.t("ticket.csat_sent").to_owned(), String::new(), false)),
        });
    let review = review_panel(app, ctx, &t, &dir).await?;
    let sides = app
        .engine
        .sides(&ctx.p, TicketRef::Id(t.id))
        .await
        .or_page(tr)?
        .into_iter()
        .map(|s| side_view(s, tr, &dir))
        .collect();
    let following = followers.iter().any(|f| f.0 == my_id);
    let solutions = if ctx.p.role.can_work_tickets() {
        app.engine
            .past_answers(&ctx.p, &t, 4)
            .await
            .or_page(tr)?
            .into_iter()
            .map(|s| PastAnswerView {
                kind: tr.label("suggestion", s.kind.as_str()),
                number: s.ticket.map_or(0, |x| x.1),
                subject: s.title,
                preview: s.text.chars().take(600).collect(),
                text: s.text,
            })
            .collect()
    } else {
        Vec::new()
    };
    let events = app
        .engine
        .ticket_history(&ctx.p, t.id, HISTORY)
        .await
        .or_page(tr)?;
    let rule_names: std::collections::HashMap<RuleId, String> = events
        .iter()
        .filter_map(|e| match &e.data {
            domain::event::EventData::RuleFired { rule_id, name, .. } => {
                Some((*rule_id, name.clone()))
            }
            _ => None,
        })
        .collect();
    let history = events
        .iter()
        .filter(|e| e.data.kind() != "message.delivery_changed")
        .take(HISTORY as usize)
        .map(|e| HistoryRow {
            time: tr.date(e.created_at),
            iso: e.created_at.to_rfc3339(),
            what: tr.label("event", &e.data.kind().replace('.', "_")),
            who: who(&tr, &dir, &customer.name, &rule_names, &e.actor),
            detail: detail(&tr, &dir, &e.data),
        })
        .collect();
    // Changes go into the thread too, each before the first message after it.
    let mut activity: Vec<(domain::Timestamp, ActivityView)> = events
        .iter()
        .filter(|e| is_activity(&e.data))
        .map(|e| {
            (
                e.created_at,
                ActivityView {
                    who: who(&tr, &dir, &customer.name, &rule_names, &e.actor),
                    text: activity_text(&tr, &dir, &e.data),
                    time: tr.date(e.created_at),
                    iso: e.created_at.to_rfc3339(),
                },
            )
        })
        .filter(|(_, a)| !a.text.is_empty())
        .collect();
    activity.sort_by_key(|(at, _)| *at);
    let mut trailing = Vec::new();
    let mut next = 0;
    for (at, a) in activity {
        while next < message_times.len() && message_times[next] <= at {
            next += 1;
        }
        match messages.get_mut(next) {
            Some(m) => m.before.push(a),
            None => trailing.push(a),
        }
    }
    let canned = app
        .engine
        .macros(&ctx.p, None)
        .await
        .or_page(tr)?
        .into_iter()
        .map(|m| {
            let preview: String = m.spec.body.chars().take(80).collect();
            (m.id.to_string(), m.name, preview)
        })
        .collect();
    let now = app.engine.now();
    let sla = app
        .engine
        .ticket_slas(&ctx.p, &[t.id])
        .await
        .or_page(tr)?
        .first()
        .map(|s| sla_views(&tr, &engine::sla::as_of(&s.clocks, now), now))
        .unwrap_or_default();
    Ok(TicketPage {
        triage_categories,
        history,
        after_thread: trailing,
        visitor,
        whatsapp,
        sla,
        experts,
        followers,
        following,
        my_id,
        sides,
        csat,
        review,
        solutions,
        chrome: ctx.chrome(format!("#{} {}", t.number, t.subject)),
        id: t.id.to_string(),
        number: t.number,
        subject: t.subject.clone(),
        status: t.status.as_str(),
        status_label: tr.label("status", t.status.as_str()),
        snoozed: t.snoozed_until.map(|s| (s.to_rfc3339(), tr.date(s))),
        snooze_at: {
            let tz = ctx.zone();
            t.snoozed_until
                .or_else(|| domain::time::local::at_hour(tz, now, 1, 9))
                .and_then(|s| domain::time::local::format(tz, s))
                .unwrap_or_default()
        },
        zone: ctx.zone().to_owned(),
        reminders: app
            .engine
            .reminders(&ctx.p)
            .await
            .or_page(tr)?
            .into_iter()
            .filter(|r| r.ticket_id == t.id)
            .map(|r| {
                (
                    r.id.to_string(),
                    r.due_at.to_rfc3339(),
                    tr.date(r.due_at),
                    r.note,
                )
            })
            .collect(),
        merged_into: match t.merged_into {
            Some(id) => app
                .engine
                .ticket(&ctx.p, TicketRef::Id(id))
                .await
                .ok()
                .map(|m| m.number),
            None => None,
        },
        mentionable: dir
            .handles
            .iter()
            .filter(|(id, _, _)| *id != ctx.p.user_id)
            .map(|(_, h, n)| (format!("@{h}"), n.clone()))
            .collect(),
        priority_label: tr.label("priority", t.priority.as_str()),
        channel_label: tr.label("channel", t.channel.as_str()),
        signature: if t.channel == domain::ticket::Channel::Email {
            ctx.me.preferences.signature.clone()
        } else {
            String::new()
        },
        created: tr.date(t.created_at),
        created_iso: t.created_at.to_rfc3339(),
        messages,
        customer_id: customer.id.to_string(),
        customer_name: customer.name.clone(),
        customer_language: customer
            .language
            .as_deref()
            .map(language_label)
            .unwrap_or_default(),
        identities: customer
            .identities
            .iter()
            .map(|i| {
                (
                    super::customer::kind_label(tr, i.kind.as_str()),
                    i.value.clone(),
                )
            })
            .collect(),
        maybe_same,
        orders,
        upsell,
        other_tickets: others
            .iter()
            .filter(|o| o.id != t.id)
            .take(10)
            .map(|o| {
                (
                    o.number,
                    o.subject.clone(),
                    tr.label("status", o.status.as_str()),
                    o.status.as_str(),
                )
            })
            .collect(),
        statuses: opts(&statuses, Status::as_str, &tr, "status", t.status.as_str()),
        priorities: opts(
            Priority::ALL,
            Priority::as_str,
            &tr,
            "priority",
            t.priority.as_str(),
        ),
        assignees,
        teams,
        tiers: (1..=3.max(t.tier))
            .map(|n| Opt {
                value: n.to_string(),
                label: tr.tf("ticket.tier_n", &[("n", &n.to_string())]),
                selected: t.tier == n,
            })
            .collect(),
        category: t.category.clone().unwrap_or_default(),
        tags: t.tags.join(", "),
        cc: t.cc.clone(),
        fields,
        canned,
        error,
        draft: String::new(),
        suggestions,
    })
}

fn msg_view(m: Message, tr: &Tr, dir: &Directory, customer: &str) -> MsgView {
    let author = match m.author_kind {
        AuthorKind::Customer => customer.to_owned(),
        AuthorKind::Agent => dir.user(m.author_user_id),
        AuthorKind::Bot => tr.t("author.bot").to_owned(),
        AuthorKind::System => tr.t("author.system").to_owned(),
    };
    let (text, quoted) = match domain::text::fold_point(&m.body_text) {
        Some(at) if m.body_html.is_none() && m.body_text.is_char_boundary(at) => (
            m.body_text[..at].trim_end().to_owned(),
            Some(m.body_text[at..].to_owned()),
        ),
        _ => (m.body_text.clone(), None),
    };
    MsgView {
        before: Vec::new(),
        triage: None,
        solution: false,
        splittable: false,
        id: m.id.to_string(),
        internal: m.visibility == Visibility::Internal,
        author,
        author_kind: m.author_kind.as_str(),
        channel_label: tr.label("channel", m.channel.as_str()),
        time: tr.date(m.created_at),
        iso: m.created_at.to_rfc3339(),
        delivery: m
            .delivery_state
            .map(|d| (d.as_str(), tr.label("delivery", d.as_str()))),
        delivery_error: m
            .delivery_error
            .as_deref()
            .map(|e| tr.message(&domain::Message::from_stored(e))),
        html: m.body_html.clone(),
        text,
        quoted,
        attachments: m
            .attachments
            .iter()
            .map(|a| {
                (
                    format!("/api/v1/attachments/{}", a.id),
                    a.filename.clone(),
                    size(tr, a.size),
                    IMAGE_TYPES.contains(&a.content_type.as_str()),
                )
            })
            .collect(),
        third_party: false,
        cc_offer: None,
        lang: script_lang(&m.body_text, tr.code()),
    }
}

/// A file's size in the reader's units (Б/КБ/МБ in Russian).
fn size(tr: &Tr, bytes: i64) -> String {
    match bytes {
        b if b < 1024 => format!("{b} {}", tr.t("unit.b")),
        b if b < 1024 * 1024 => format!("{:.0} {}", b as f64 / 1024.0, tr.t("unit.kb")),
        b => format!(
            "{} {}",
            format!("{:.1}", b as f64 / 1048576.0).replace('.', tr.t("unit.decimal")),
            tr.t("unit.mb")
        ),
    }
}

/// A language code as people read it: the language's own name.
pub(crate) fn language_label(code: &str) -> String {
    domain::kb::native_name(code)
        .map(str::to_owned)
        .unwrap_or_else(|| code.to_owned())
}

/// `GET /app/t/{number}`.
pub async fn page(
    State(app): State<AppState>,
    Path(number): Path<String>,
    ctx: Ctx,
) -> Result<Response, UiError> {
    let r = number_of(&number, ctx.tr)?;
    html(&render(&app, &ctx, r, None).await?)
}

/// `POST /app/t/{number}/macro`: applies a macro (named by id or name) and
/// gives its text — as JSON to the page's script, else the ticket page again
/// with the text in the composer.
pub async fn apply_macro(
    State(app): State<AppState>,
    Path(number): Path<String>,
    headers: HeaderMap,
    f: Form,
) -> Result<Response, UiError> {
    let ctx = &f.ctx;
    let tr = ctx.tr;
    let r = number_of(&number, tr)?;
    let wanted = f.text("macro").unwrap_or_default().to_lowercase();
    let all = app.engine.macros(&ctx.p, None).await.or_page(tr)?;
    let Some(m) = all
        .iter()
        .find(|m| m.id.to_string() == wanted || m.name.to_lowercase() == wanted)
    else {
        return Err(UiError::Status(
            StatusCode::NOT_FOUND,
            tr,
            "error.not_found",
        ));
    };
    let json = headers
        .get(axum::http::header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.contains("application/json"));
    match app.engine.apply_macro(&ctx.p, r, m.id).await {
        Ok(a) if json => Ok(axum::Json(serde_json::json!({
            "body": a.body,
            "visibility": a.visibility.as_str(),
        }))
        .into_response()),
        Ok(a) => {
            let mut page = render(&app, ctx, r, None).await?;
            page.draft = a.body;
            html(&page)
        }
        Err(e) => Err(UiError::engine(e, tr)),
    }
}

/// `POST /app/t/{number}/props`: the properties panel.
pub async fn update(
    State(app): State<AppState>,
    Path(number): Path<String>,
    f: Form,
) -> Result<Response, UiError> {
    let tr = f.ctx.tr;
    let r = number_of(&number, tr)?;
    let bad = |field: &str| {
        UiError::Message(
            StatusCode::UNPROCESSABLE_ENTITY,
            tr,
            format!("{field}: {}", tr.t("error.invalid")),
        )
    };
    // Present and empty means "none"; absent means "leave alone".
    let id_or_none = |name: &str| -> Option<Option<String>> {
        f.get(name)
            .map(|v| Some(v.trim().to_owned()).filter(|s| !s.is_empty()))
    };
    let mut patch = TicketPatch::default();
    if let Some(s) = f.text("status") {
        patch.status = Some(Status::parse(s).map_err(|_| bad("status"))?);
    }
    if let Some(p) = f.text("priority") {
        patch.priority = Some(Priority::parse(p).map_err(|_| bad("priority"))?);
    }
    if let Some(a) = id_or_none("assignee") {
        patch.assignee_id = Some(match a {
            Some(s) => Some(s.parse::<UserId>().map_err(|_| bad("assignee"))?),
            None => None,
        });
    }
    if f.get("assign_me").is_some() {
        patch.assignee_id = Some(Some(f.ctx.p.user_id));
    }
    if let Some(t) = id_or_none("team") {
        patch.team_id = Some(match t {
            Some(s) => Some(s.parse::<TeamId>().map_err(|_| bad("team"))?),
            None => None,
        });
    }
    if let Some(t) = f.text("tier") {
        patch.tier = Some(t.parse().map_err(|_| bad("tier"))?);
    }
    if let Some(c) = f.get("category") {
        patch.category = Some(Some(c.trim().to_owned()).filter(|s| !s.is_empty()));
    }
    if let Some(tags) = f.get("tags") {
        patch.tags = Some(
            tags.split(',')
                .map(|t| t.trim().to_lowercase())
                .filter(|t| !t.is_empty())
                .collect(),
        );
    }
    // Only the fields the form sends change; a checkbox sends an empty hidden value
    // before itself, so unticking it is sent too.
    let defs = if f.has_prefix("cf.") {
        app.engine.fields(&f.ctx.p).await.or_page(tr)?
    } else {
        Vec::new()
    };
    let m = super::field_form::values(&f, defs, FieldTarget::Ticket).map_err(|l| bad(&l))?;
    if !m.is_empty() {
        patch.custom_fields = Some(m);
    }
    app.engine
        .update_ticket(&f.ctx.p, r, patch)
        .await
        .or_page(tr)?;
    Ok(done(&format!("/app/t/{number}"), "flash.saved"))
}

/// `POST /app/t/{number}/cc`: adds (`add`) or removes (`remove`) an address
/// copied on the ticket's replies.
pub async fn cc(
    State(app): State<AppState>,
    Path(number): Path<String>,
    f: Form,
) -> Result<Response, UiError> {
    let tr = f.ctx.tr;
    let r = number_of(&number, tr)?;
    let t = app.engine.ticket(&f.ctx.p, r).await.or_page(tr)?;
    let mut cc = t.cc.clone();
    if let Some(a) = f.text("add") {
        cc.push(a.to_owned());
    }
    if let Some(a) = f.text("remove") {
        cc.retain(|c| c != a);
    }
    let patch = TicketPatch {
        cc: Some(cc),
        ..TicketPatch::default()
    };
    app.engine
        .update_ticket(&f.ctx.p, r, patch)
        .await
        .or_page(tr)?;
    Ok(done(&format!("/app/t/{number}"), "flash.saved"))
}

/// `POST /app/t/{number}/experts`: invites an expert (`add`) or lets one go
/// (`remove`).
pub async fn experts(
    State(app): State<AppState>,
    Path(number): Path<String>,
    f: Form,
) -> Result<Response, UiError> {
    circle(app, number, f, Circle::Experts).await
}

/// `POST /app/t/{number}/followers`: adds a follower (`add`, oneself or a
/// colleague) or takes one off (`remove`).
pub async fn followers(
    State(app): State<AppState>,
    Path(number): Path<String>,
    f: Form,
) -> Result<Response, UiError> {
    circle(app, number, f, Circle::Followers).await
}

async fn circle(
    app: AppState,
    number: String,
    f: Form,
    circle: Circle,
) -> Result<Response, UiError> {
    let tr = f.ctx.tr;
    let r = number_of(&number, tr)?;
    let user = |k: &str| f.text(k).and_then(|u| u.parse::<UserId>().ok());
    if let Some(u) = user("add") {
        app.engine
            .join_circle(&f.ctx.p, r, circle, u)
            .await
            .or_page(tr)?;
    } else if let Some(u) = user("remove") {
        app.engine
            .leave_circle(&f.ctx.p, r, circle, u)
            .await
            .or_page(tr)?;
    }
    Ok(done(&format!("/app/t/{number}"), "flash.saved"))
}

/// Images a page shows as thumbnails (and the browser can draw safely).
const IMAGE_TYPES: [&str; 4] = ["image/png", "image/jpeg", "image/gif", "image/webp"];

/// `POST /app/preview`: the composer's text as the reply will look, rendered
/// and sanitised as it will be stored; images not sent yet are left for the
/// page to fill in from the chosen files.
pub async fn preview(f: Form) -> Result<Response, UiError> {
    let text = f.text("body").unwrap_or_default();
    if text.len() > 262_144 {
        return Err(UiError::Status(
            StatusCode::PAYLOAD_TOO_LARGE,
            f.ctx.tr,
            "error.too_large",
        ));
    }
    let html = engine::markdown::reply_html(text, &[], true).unwrap_or_else(|| {
        let escaped = askama::filters::escape(text, askama::filters::Html)
            .map(|e| e.to_string())
            .unwrap_or_default();
        format!("<p>{}</p>", escaped.replace('\n', "<br>"))
    });
    Ok(axum::response::Html(html).into_response())
}

/// `POST /app/t/{number}/side`: starts a side conversation with a team
/// (`team`) or an outside address (`to`).
pub async fn start_side(
    State(app): State<AppState>,
    Path(number): Path<String>,
    f: Form,
) -> Result<Response, UiError> {
    let tr = f.ctx.tr;
    let r = number_of(&number, tr)?;
    let text = |k: &str| f.text(k).map(str::trim).unwrap_or_default().to_owned();
    let (to, team) = (text("to"), text("team"));
    let with = match (to.is_empty(), team.parse::<TeamId>()) {
        (false, Err(_)) => engine::side::SideWith::Email(to),
        (true, Ok(t)) => engine::side::SideWith::Team(t),
        _ => {
            return Err(UiError::Status(
                StatusCode::UNPROCESSABLE_ENTITY,
                tr,
                "side.pick_party",
            ));
        }
    };
    app.engine
        .start_side(
            &f.ctx.p,
            r,
            engine::side::NewSide {
                subject: text("subject"),
                body: f.text("body").unwrap_or_default().to_owned(),
                with,
                account_id: None,
            },
        )
        .await
        .or_page(tr)?;
    Ok(done(&format!("/app/t/{number}#sides"), "flash.saved"))
}

/// `POST /app/t/{number}/side/{id}`: a message (`op=reply`), or closes or
/// reopens the side conversation.
pub async fn side_action(
    State(app): State<AppState>,
    Path((number, side)): Path<(String, String)>,
    f: Form,
) -> Result<Response, UiError> {
    let tr = f.ctx.tr;
    let r = number_of(&number, tr)?;
    let side: SideId = side
        .parse()
        .map_err(|_| UiError::Status(StatusCode::NOT_FOUND, tr, "error.not_found"))?;
    match f.text("op").unwrap_or("reply") {
        "close" => app.engine.set_side_open(&f.ctx.p, r, side, false).await,
        "reopen" => app.engine.set_side_open(&f.ctx.p, r, side, true).await,
        _ => {
            app.engine
                .side_reply(&f.ctx.p, r, side, f.text("body").unwrap_or_default())
                .await
        }
    }
    .or_page(tr)?;
    Ok(done(&format!("/app/t/{number}#side-{side}"), "flash.saved"))
}

/// The message a form names (`message`); not found when it names none.
fn form_message(f: &Form, tr: Tr) -> Result<MessageId, UiError> {
    f.text("message")
        .and_then(|m| m.parse::<MessageId>().ok())
        .ok_or(UiError::Status(
            StatusCode::NOT_FOUND,
            tr,
            "error.not_found",
        ))
}

/// `POST /app/t/{number}/solution`: marks (or unmarks) a note as the solution.
pub async fn solution(
    State(app): State<AppState>,
    Path(number): Path<String>,
    f: Form,
) -> Result<Response, UiError> {
    let tr = f.ctx.tr;
    let r = number_of(&number, tr)?;
    let m = form_message(&f, tr)?;
    app.engine
        .mark_solution(&f.ctx.p, r, m, f.get("on") == Some("1"))
        .await
        .or_page(tr)?;
    Ok(done(&format!("/app/t/{number}#m-{m}"), "flash.saved"))
}

/// `POST /app/t/{number}/resend`: a reply whose delivery failed, sent again.
pub async fn resend(
    State(app): State<AppState>,
    Path(number): Path<String>,
    f: Form,
) -> Result<Response, UiError> {
    let tr = f.ctx.tr;
    let r = number_of(&number, tr)?;
    let m = form_message(&f, tr)?;
    app.engine
        .resend_message(&f.ctx.p, r, m)
        .await
        .or_page(tr)?;
    Ok(done(&format!("/app/t/{number}#m-{m}"), "flash.resent"))
}

/// `POST /app/t/{number}/snooze`: snoozes the ticket until a preset (an hour,
/// tomorrow 9:00, next Monday 9:00, in the workspace's zone) or the time
/// given, or ends its snooze.
pub async fn snooze(
    State(app): State<AppState>,
    Path(number): Path<String>,
    f: Form,
) -> Result<Response, UiError> {
    let tr = f.ctx.tr;
    let r = number_of(&number, tr)?;
    let until = match f.get("preset") {
        Some("end") => None,
        _ => Some(picked_time(&f, app.engine.now()).ok_or(UiError::Status(
            StatusCode::UNPROCESSABLE_ENTITY,
            tr,
            "snooze.bad_time",
        ))?),
    };
    let patch = TicketPatch {
        snoozed_until: Some(until),
        ..TicketPatch::default()
    };
    app.engine
        .update_ticket(&f.ctx.p, r, patch)
        .await
        .or_page(tr)?;
    let flash = if until.is_some() {
        "flash.snoozed"
    } else {
        "flash.saved"
    };
    Ok(done(&format!("/app/t/{number}"), flash))
}

/// When a snooze or reminder form's preset (an hour, tomorrow 9:00, next
/// Monday 9:00 in the person's zone) or picked time (`at`) falls.
fn picked_time(f: &Form, now: domain::Timestamp) -> Option<domain::Timestamp> {
    let tz = f.ctx.zone();
    match f.get("preset").unwrap_or("custom") {
        "1h" => Some(now.plus_millis(3_600_000)),
        "tomorrow" => domain::time::local::at_hour(tz, now, 1, 9),
        "monday" => domain::time::local::next_monday(tz, now, 9),
        _ => f
            .get("at")
            .and_then(|at| domain::time::local::parse(tz, at)),
    }
}

/// `POST /app/t/{number}/remind`: reminds me about this ticket at a preset or
/// picked time, with a note.
pub async fn remind(
    State(app): State<AppState>,
    Path(number): Path<String>,
    f: Form,
) -> Result<Response, UiError> {
    let tr = f.ctx.tr;
    let r = number_of(&number, tr)?;
    let at = picked_time(&f, app.engine.now()).ok_or(UiError::Status(
        StatusCode::UNPROCESSABLE_ENTITY,
        tr,
        "snooze.bad_time",
    ))?;
    app.engine
        .add_reminder(&f.ctx.p, r, at, f.get("note").unwrap_or_default())
        .await
        .or_page(tr)?;
    Ok(done(&format!("/app/t/{number}"), "flash.reminder_set"))
}

/// `POST /app/reminders/{id}/cancel`: cancels one of my reminders.
pub async fn cancel_reminder(
    State(app): State<AppState>,
    Path(id): Path<String>,
    f: Form,
) -> Result<Response, UiError> {
    let tr = f.ctx.tr;
    let id = id
        .parse::<ReminderId>()
        .map_err(|_| UiError::Status(StatusCode::NOT_FOUND, tr, "error.not_found"))?;
    app.engine.cancel_reminder(&f.ctx.p, id).await.or_page(tr)?;
    let back = f
        .get("back")
        .filter(|b| b.starts_with("/app/t/"))
        .unwrap_or("/app");
    Ok(done(back, "flash.saved"))
}

/// `POST /app/t/{number}/merge`: merges this ticket into the one numbered
/// `into`, then shows that one.
/// `POST /app/t/{number}/split` (`message`): moves a customer's message into
/// a new ticket and opens it.
pub async fn split(
    State(app): State<AppState>,
    Path(number): Path<String>,
    f: Form,
) -> Result<Response, UiError> {
    let tr = f.ctx.tr;
    let r = number_of(&number, tr)?;
    let message: MessageId =
        f.get("message")
            .and_then(|m| m.parse().ok())
            .ok_or(UiError::Status(
                StatusCode::NOT_FOUND,
                tr,
                "error.not_found",
            ))?;
    let n = app
        .engine
        .split_ticket(&f.ctx.p, r, message)
        .await
        .or_page(tr)?;
    Ok(done(&format!("/app/t/{}", n.number), "flash.ticket_split"))
}

pub async fn merge(
    State(app): State<AppState>,
    Path(number): Path<String>,
    f: Form,
) -> Result<Response, UiError> {
    let tr = f.ctx.tr;
    let r = number_of(&number, tr)?;
    let into = f
        .get("into")
        .unwrap_or_default()
        .trim()
        .trim_start_matches('#');
    let Some(into) = TicketRef::parse(into) else {
        return Err(UiError::Status(
            StatusCode::NOT_FOUND,
            tr,
            "error.not_found",
        ));
    };
    let target = app
        .engine
        .merge_ticket(&f.ctx.p, r, into)
        .await
        .or_page(tr)?;
    Ok(done(
        &format!("/app/t/{}", target.number),
        "flash.ticket_merged",
    ))
}

/// `POST /app/t/{number}/triage`: an agent says what a customer's message is
/// about (triage learns from it).
pub async fn correct_triage(
    State(app): State<AppState>,
    Path(number): Path<String>,
    f: Form,
) -> Result<Response, UiError> {
    let tr = f.ctx.tr;
    let r = number_of(&number, tr)?;
    let m = form_message(&f, tr)?;
    let category = f.text("category").unwrap_or_default();
    app.engine
        .correct_triage(&f.ctx.p, r, m, category)
        .await
        .or_page(tr)?;
    Ok(done(&format!("/app/t/{number}#m-{m}"), "flash.saved"))
}

/// `POST /app/t/{number}/escalate`: up a tier or to a chosen team, with the
/// reason as a note.
pub async fn escalate(
    State(app): State<AppState>,
    Path(number): Path<String>,
    f: Form,
) -> Result<Response, UiError> {
    let tr = f.ctx.tr;
    let r = number_of(&number, tr)?;
    let team = f.text("team").and_then(|t| t.parse::<TeamId>().ok());
    app.engine
        .escalate(&f.ctx.p, r, f.get("reason").unwrap_or_default(), team)
        .await
        .or_page(tr)?;
    Ok(done(&format!("/app/t/{number}"), "flash.escalated"))
}

/// `POST /app/t/{number}/reply`: a public reply or an internal note, with files.
/// Multipart, so the CSRF token is checked here.
pub async fn reply(
    State(app): State<AppState>,
    Path(number): Path<String>,
    headers: HeaderMap,
    ctx: Ctx,
    mut mp: Multipart,
) -> Result<Response, UiError> {
    let tr = ctx.tr;
    let r = number_of(&number, tr)?;
    let mut csrf = None;
    let mut body = String::new();
    let mut visibility = Visibility::Internal;
    let mut status = None;
    let mut attachments = Vec::new();
    // The files as the person named them: `![…](attachment:name)` finds them.
    let mut named = Vec::new();
    let too_many = || {
        UiError::Message(
            StatusCode::PAYLOAD_TOO_LARGE,
            tr,
            format!(
                "{} ({})",
                tr.t("error.too_large"),
                app.engine.limits.max_attachments_per_message
            ),
        )
    };
    loop {
        let field = match mp.next_field().await {
            Ok(Some(f)) => f,
            Ok(None) => break,
            Err(e) => {
                return Err(UiError::Message(e.status(), tr, e.body_text()));
            }
        };
        let name = field.name().unwrap_or_default().to_owned();
        // Nothing is stored before the token is seen: the form sends it first.
        if name != "_csrf" && !csrf_ok(&ctx, &headers, csrf.as_deref()) {
            return Err(UiError::Status(StatusCode::FORBIDDEN, tr, "error.csrf"));
        }
        match name.as_str() {
            "_csrf" => csrf = field.text().await.ok(),
            "body" => body = field.text().await.unwrap_or_default(),
            "visibility" => {
                let public = field.text().await.unwrap_or_default() == "public";
                visibility = if public {
                    Visibility::Public
                } else {
                    Visibility::Internal
                };
            }
            "status" => {
                let s = field.text().await.unwrap_or_default();
                if !s.is_empty() {
                    status = Some(Status::parse(&s).map_err(|_| {
                        UiError::Status(StatusCode::UNPROCESSABLE_ENTITY, tr, "error.invalid")
                    })?);
                }
            }
            "files" => {
                let filename = field.file_name().unwrap_or_default().to_owned();
                let content_type = field
                    .content_type()
                    .unwrap_or("application/octet-stream")
                    .to_owned();
                let bytes = field
                    .bytes()
                    .await
                    .map_err(|e| UiError::Message(e.status(), tr, e.body_text()))?;
                if filename.is_empty() && bytes.is_empty() {
                    continue;
                }
                if attachments.len() >= app.engine.limits.max_attachments_per_message {
                    return Err(too_many());
                }
                let a = app
                    .engine
                    .upload_attachment(&ctx.p, &filename, &content_type, bytes.to_vec())
                    .await
                    .or_page(tr)?;
                attachments.push(a.id);
                named.push((filename, a.id));
            }
            _ => {}
        }
    }
    if !csrf_ok(&ctx, &headers, csrf.as_deref()) {
        return Err(UiError::Status(StatusCode::FORBIDDEN, tr, "error.csrf"));
    }
    let draft = body.clone();
    // The person's signature goes under their replies by email (not chats or
    // messengers, where a signature reads as noise).
    let signature = &ctx.me.preferences.signature;
    let body = if visibility == Visibility::Public && !signature.is_empty() {
        let t = app.engine.ticket(&ctx.p, r).await.or_page(tr)?;
        if t.channel == domain::ticket::Channel::Email {
            signed(body, signature)
        } else {
            body
        }
    } else {
        body
    };
    let html = engine::markdown::reply_html(&body, &named, false);
    let msg = NewMessage {
        body: Body {
            text: body,
            html,
            attachments,
        },
        visibility,
        as_customer: false,
        status,
        external_id: None,
        imported: false,
        template: None,
    };
    match app.engine.add_message(&ctx.p, r, msg, None).await {
        Ok(_) => Ok(done(
            &format!("/app/t/{number}"),
            if visibility == Visibility::Public {
                "flash.reply_sent"
            } else {
                "flash.note_added"
            },
        )),
        Err(e) => {
            let Some(detail) = super::describe(&e, &tr) else {
                return Err(UiError::engine(e, tr));
            };
            let mut page = render(&app, &ctx, r, Some(detail)).await?;
            page.draft = draft;
            let status = StatusCode::from_u16(crate::error::ApiError::from(e).0.status)
                .unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
            Ok((
                status,
                axum::response::Html(askama::Template::render(&page)?),
            )
                .into_response())
        }
    }
}

/// A reply with the sender's signature under the usual `-- ` line.
pub(crate) fn signed(body: String, signature: &str) -> String {
    if signature.is_empty() {
        body
    } else {
        format!("{}\n\n-- \n{signature}", body.trim_end())
    }
}

/// Sends an approved WhatsApp template (`template` = `name|language`, one
/// parameter per line).
pub async fn send_template(
    State(app): State<AppState>,
    Path(number): Path<i64>,
    f: Form,
) -> Result<Response, UiError> {
    let ctx = &f.ctx;
    let (name, language) = f
        .get("template")
        .and_then(|t| t.split_once('|'))
        .unwrap_or_default();
    let parameters = f
        .get("parameters")
        .unwrap_or_default()
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .map(str::to_owned)
        .collect();
    app.engine
        .send_whatsapp_template(
            &ctx.p,
            TicketRef::Number(number),
            engine::whatsapp::TemplateChoice {
                name: name.to_owned(),
                language: language.to_owned(),
                parameters,
            },
        )
        .await
        .or_page(ctx.tr)?;
    Ok(super::done(&format!("/app/t/{number}"), "flash.reply_sent"))
}

/// A review made: the score, the scorecard, who reviewed, the comment.
pub struct ReviewDone {
    pub score: String,
    pub card: String,
    pub by: String,
    pub comment: String,
}

/// A criterion's choices in the form: (value, label, chosen).
pub struct CriterionChoice {
    pub key: String,
    pub label: String,
    pub values: Vec<(i64, String, bool)>,
    pub none_chosen: bool,
}

/// A scorecard's form, with the reviewer's earlier scores filled in.
pub struct ReviewForm {
    pub id: String,
    pub name: String,
    pub criteria: Vec<CriterionChoice>,
    pub comment: String,
}

pub struct ReviewPanel {
    pub done: Vec<ReviewDone>,
    pub forms: Vec<ReviewForm>,
}

/// The reviews panel: shown to supervisors (with a form per active
/// scorecard, when the ticket has an assignee who is not them) and to the
/// agent whose work was reviewed.
async fn review_panel(
    app: &AppState,
    ctx: &Ctx,
    t: &Ticket,
    dir: &Directory,
) -> Result<Option<ReviewPanel>, UiError> {
    let tr = ctx.tr;
    let reviews = app
        .engine
        .ticket_reviews(&ctx.p, TicketRef::Id(t.id))
        .await
        .or_page(tr)?;
    let supervises = ctx.p.role.can_supervise();
    if reviews.is_empty() && !supervises {
        return Ok(None);
    }
    let cards = if supervises {
        app.engine.scorecards(&ctx.p).await.or_page(tr)?
    } else {
        Vec::new()
    };
    let card_name = |id: ScorecardId| {
        cards
            .iter()
            .find(|c| c.id == id)
            .map(|c| c.spec.name.clone())
            .unwrap_or_default()
    };
    let done = reviews
        .iter()
        .map(|r| ReviewDone {
            score: format!("{:.0}", r.score),
            card: card_name(r.scorecard_id),
            by: dir.user(Some(r.reviewer_id)),
            comment: r.comment.clone(),
        })
        .collect();
    let can_review = supervises && t.assignee_id.is_some_and(|a| a != ctx.p.user_id);
    let forms = cards
        .iter()
        .filter(|c| can_review && c.active)
        .map(|c| {
            let mine = reviews
                .iter()
                .find(|r| r.scorecard_id == c.id && r.reviewer_id == ctx.p.user_id);
            ReviewForm {
                id: c.id.to_string(),
                name: c.spec.name.clone(),
                criteria: c
                    .spec
                    .criteria
                    .iter()
                    .map(|k| {
                        let chosen = mine.and_then(|r| r.scores.get(&k.key).copied());
                        CriterionChoice {
                            key: k.key.clone(),
                            label: k.label.clone(),
                            values: (1..=k.scale)
                                .map(|v| {
                                    let label = match (k.scale, v) {
                                        (2, 1) => tr.t("quality.no").to_owned(),
                                        (2, _) => tr.t("quality.yes").to_owned(),
                                        _ => v.to_string(),
                                    };
                                    (v, label, chosen == Some(v))
                                })
                                .collect(),
                            none_chosen: chosen.is_none(),
                        }
                    })
                    .collect(),
                comment: mine.map(|r| r.comment.clone()).unwrap_or_default(),
            }
        })
        .collect();
    Ok(Some(ReviewPanel { done, forms }))
}

/// Saves a review from the ticket page: `s_{key}` per criterion (empty:
/// not applicable).
pub async fn review(
    State(app): State<AppState>,
    Path(number): Path<String>,
    f: Form,
) -> Result<Response, UiError> {
    let tr = f.ctx.tr;
    let r = number_of(&number, tr)?;
    let Some(card) = f
        .text("scorecard")
        .and_then(|v| v.parse::<ScorecardId>().ok())
    else {
        return Err(UiError::Status(
            StatusCode::NOT_FOUND,
            tr,
            "error.not_found",
        ));
    };
    let card = app.engine.scorecard(&f.ctx.p, card).await.or_page(tr)?;
    let scores = card
        .spec
        .criteria
        .iter()
        .filter_map(|k| {
            f.text(&format!("s_{}", k.key))
                .and_then(|v| v.trim().parse::<i64>().ok())
                .map(|v| (k.key.clone(), v))
        })
        .collect();
    app.engine
        .review_ticket(
            &f.ctx.p,
            r,
            card.id,
            scores,
            f.get("comment").unwrap_or_default(),
        )
        .await
        .or_page(tr)?;
    Ok(done(&format!("/app/t/{number}#review"), "flash.saved"))
}

#[cfg(test)]
mod tests {
    use super::script_lang;

    #[test]
    fn other_scripts_are_marked_with_their_language() {
        assert_eq!(
            script_lang("สวัสดีครับ ยังไม่ได้รับพัสดุ order 1042", "ru"),
            Some("th")
        );
        assert_eq!(script_lang("Где мой заказ?", "ru"), None);
        assert_eq!(script_lang("Где мой заказ?", "en"), Some("ru"));
        assert_eq!(
            script_lang("Order 1042 где он", "th"),
            None,
            "no script has 70 %"
        );
        assert_eq!(script_lang("12345 !!!", "en"), None);
    }
}

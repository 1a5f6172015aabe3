//! Live updates over one websocket per page: committed changes of the workspace,
//! "assigned to you" alerts, and who else is viewing or typing on a ticket.
//!
//! Invariants: a socket only ever hears about its own workspace; presence lives in
//! memory (it means "now", so losing it on restart is right) and is shared with
//! the other nodes as signals (a node's viewers it has not heard about for 30 s
//! are forgotten: that node is gone); a client that falls
//! behind the event broadcast is told to reload rather than shown a partial state.

use super::Ctx;
use crate::AppState;
use axum::extract::State;
use axum::extract::ws::{Message, WebSocket, WebSocketUpgrade};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use domain::event::{Actor, EventData};
use domain::ids::*;
use engine::tickets::TicketRef;
use serde_json::json;
use std::collections::HashMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};
use tokio::sync::broadcast;

/// How long "typing" lasts after the last keystroke report.
const TYPING_FOR: Duration = Duration::from_secs(5);

/// How long another node's viewer counts without being heard of again.
const REMOTE_FOR: Duration = Duration::from_secs(30);
/// How often a socket tells the other nodes it is still on its ticket.
pub(crate) const REANNOUNCE: Duration = Duration::from_secs(10);

#[derive(Clone)]
struct Viewer {
    user: UserId,
    name: String,
    typing_until: Option<Instant>,
    /// When another node last told of this viewer; `None` for this node's.
    heard: Option<Instant>,
}

impl Viewer {
    fn current(&self, now: Instant) -> bool {
        self.heard
            .is_none_or(|h| now.duration_since(h) < REMOTE_FOR)
    }
}

/// An agent with the workspace open: who, and when another node last told of
/// them (`None`: on this node).
type Present = (UserId, Option<Instant>);

/// Who is on which ticket, across the sockets of this process and (through
/// signals) of the other nodes.
pub struct Hub {
    next_conn: AtomicU64,
    /// This hub's name in signals; a viewer is keyed `hub:conn`.
    id: String,
    rooms: Mutex<HashMap<(WorkspaceId, TicketId), HashMap<String, Viewer>>>,
    /// Which ticket's viewers just changed.
    changed: broadcast::Sender<(WorkspaceId, TicketId)>,
    /// Agents with the workspace open, by `hub:conn`: the user and, for another
    /// node's, when it was last heard of.
    online: Mutex<HashMap<WorkspaceId, HashMap<String, Present>>>,
    /// Tells the other nodes (none in unit tests).
    engine: Option<engine::Engine>,
}

impl Default for Hub {
    fn default() -> Self {
        Hub {
            next_conn: AtomicU64::new(0),
            id: uuid::Uuid::now_v7().simple().to_string(),
            rooms: Mutex::default(),
            changed: broadcast::channel(1024).0,
            online: Mutex::default(),
            engine: None,
        }
    }
}

impl Hub {
    /// A hub that shares its viewers with the other nodes.
    pub fn shared(engine: engine::Engine) -> Hub {
        Hub {
            engine: Some(engine),
            ..Hub::default()
        }
    }

    fn set(&self, ws: WorkspaceId, conn: u64, ticket: Option<TicketId>, v: Option<Viewer>) {
        if let Some(e) = &self.engine {
            e.signal(json!({
                "t": "presence", "hub": self.id, "conn": conn, "ws": ws.to_string(),
                "ticket": ticket.map(|t| t.to_string()),
                "user": v.as_ref().map(|v| v.user.to_string()),
                "name": v.as_ref().map(|v| v.name.clone()),
                "typing": v.as_ref().is_some_and(|v| v.typing_until.is_some()),
            }));
        }
        self.apply(ws, format!("{}:{conn}", self.id), ticket, v);
    }

    /// Puts viewer `key` on `ticket` (or on none), telling this node's sockets.
    fn apply(&self, ws: WorkspaceId, key: String, ticket: Option<TicketId>, v: Option<Viewer>) {
        let now = Instant::now();
        let mut touched = Vec::new();
        if let Ok(mut rooms) = self.rooms.lock() {
            rooms.retain(|room, viewers| {
                let gone = room.0 == ws && viewers.remove(&key).is_some() && Some(room.1) != ticket;
                if gone {
                    touched.push(room.1);
                }
                viewers.retain(|_, v| v.current(now));
                !viewers.is_empty()
            });
            if let (Some(t), Some(v)) = (ticket, v) {
                rooms.entry((ws, t)).or_default().insert(key, v);
                touched.push(t);
            }
        }
        for t in touched {
            let _ = self.changed.send((ws, t));
        }
    }

    /// A presence signal from another node.
    pub(crate) fn apply_signal(&self, data: &serde_json::Value) {
        let text = |k: &str| data.get(k).and_then(serde_json::Value::as_str);
        let (Some(hub), Some(conn), Some(ws)) = (
            text("hub"),
            data.get("conn").and_then(serde_json::Value::as_u64),
            text("ws").and_then(|w| w.parse::<WorkspaceId>().ok()),
        ) else {
            return;
        };
        if hub == self.id {
            return;
        }
        let ticket = text("ticket").and_then(|t| t.parse::<TicketId>().ok());
        let now = Instant::now();
        let viewer = match (
            text("user").and_then(|u| u.parse::<UserId>().ok()),
            text("name"),
        ) {
            (Some(user), Some(name)) => Some(Viewer {
                user,
                name: name.chars().take(200).collect(),
                typing_until: data
                    .get("typing")
                    .and_then(serde_json::Value::as_bool)
                    .unwrap_or(false)
                    .then(|| now + TYPING_FOR),
                heard: Some(now),
            }),
            _ => None,
        };
        self.apply(
            ws,
            format!("{hub}:{conn}"),
            ticket.filter(|_| viewer.is_some()),
            viewer,
        );
    }

    /// An agent's page connected (`Some(user)`) or went (`None`), here and, by
    /// signal, on the other nodes.
    pub(crate) fn agent_online(&self, ws: WorkspaceId, conn: u64, user: Option<UserId>) {
        if let Some(e) = &self.engine {
            e.signal(json!({
                "t": "online", "hub": self.id, "conn": conn, "ws": ws.to_string(),
                "user": user.map(|u| u.to_string()),
            }));
        }
        self.apply_online(ws, format!("{}:{conn}", self.id), user.map(|u| (u, None)));
    }

    fn apply_online(&self, ws: WorkspaceId, key: String, who: Option<(UserId, Option<Instant>)>) {
        if let Ok(mut all) = self.online.lock() {
            let list = all.entry(ws).or_default();
            match who {
                Some(w) => {
                    list.insert(key, w);
                }
                None => {
                    list.remove(&key);
                }
            }
            if list.is_empty() {
                all.remove(&ws);
            }
        }
    }

    /// An "online" signal from another node.
    pub(crate) fn apply_online_signal(&self, data: &serde_json::Value) {
        let text = |k: &str| data.get(k).and_then(serde_json::Value::as_str);
        let (Some(hub), Some(conn), Some(ws)) = (
            text("hub"),
            data.get("conn").and_then(serde_json::Value::as_u64),
            text("ws").and_then(|w| w.parse::<WorkspaceId>().ok()),
        ) else {
            return;
        };
        if hub == self.id {
            return;
        }
        let user = text("user").and_then(|u| u.parse::<UserId>().ok());
        self.apply_online(
            ws,
            format!("{hub}:{conn}"),
            user.map(|u| (u, Some(Instant::now()))),
        );
    }

    /// How many agents have the workspace open on any node.
    pub(crate) fn agents_online(&self, ws: WorkspaceId) -> usize {
        let now = Instant::now();
        self.online.lock().map_or(0, |all| {
            let mut users: Vec<UserId> = all
                .get(&ws)
                .map(|l| {
                    l.values()
                        .filter(|(_, heard)| {
                            heard.is_none_or(|h| now.duration_since(h) < REMOTE_FOR)
                        })
                        .map(|(u, _)| *u)
                        .collect()
                })
                .unwrap_or_default();
            users.sort();
            users.dedup();
            users.len()
        })
    }

    /// Tells the other nodes again that `conn` is still on its ticket.
    pub(crate) fn reannounce(&self, ws: WorkspaceId, conn: u64) {
        let key = format!("{}:{conn}", self.id);
        let found = self.rooms.lock().ok().and_then(|rooms| {
            rooms
                .iter()
                .find_map(|(room, viewers)| viewers.get(&key).map(|v| (room.1, v.clone())))
        });
        if let (Some(e), Some((t, v))) = (&self.engine, found) {
            let typing = v.typing_until.is_some_and(|u| u > Instant::now());
            e.signal(json!({
                "t": "presence", "hub": self.id, "conn": conn, "ws": ws.to_string(),
                "ticket": t.to_string(), "user": v.user.to_string(), "name": v.name, "typing": typing,
            }));
        }
    }

    /// A connection number for a socket that reports presence.
    pub(crate) fn new_conn(&self) -> u64 {
        self.next_conn.fetch_add(1, Ordering::Relaxed)
    }

    /// Which ticket's viewers just changed: (workspace, ticket).
    pub(crate) fn subscribe_changes(&self) -> broadcast::Receiver<(WorkspaceId, TicketId)> {
        self.changed.subscribe()
    }

    /// A chat visitor on their conversation (typing or not), shown to the
    /// agents on it like a viewer; `None` takes them off.
    pub(crate) fn set_visitor(
        &self,
        ws: WorkspaceId,
        conn: u64,
        visitor: VisitorId,
        ticket: Option<TicketId>,
        name: &str,
        typing: bool,
    ) {
        let viewer = ticket.map(|_| Viewer {
            user: UserId(visitor.0),
            name: name.to_owned(),
            typing_until: typing.then(|| Instant::now() + TYPING_FOR),
            heard: None,
        });
        self.set(ws, conn, ticket, viewer);
    }

    /// Takes a connection off whatever ticket it was on.
    pub(crate) fn leave(&self, ws: WorkspaceId, conn: u64) {
        self.set(ws, conn, None, None);
    }

    /// Everyone on a ticket but `me`: (name, typing).
    pub(crate) fn others(&self, ws: WorkspaceId, t: TicketId, me: UserId) -> Vec<(String, bool)> {
        let now = Instant::now();
        let mut out: Vec<(String, bool)> = Vec::new();
        if let Ok(rooms) = self.rooms.lock()
            && let Some(viewers) = rooms.get(&(ws, t))
        {
            for v in viewers.values().filter(|v| v.user != me && v.current(now)) {
                let typing = v.typing_until.is_some_and(|u| u > now);
                match out.iter_mut().find(|(n, _)| *n == v.name) {
                    Some(e) => e.1 |= typing,
                    None => out.push((v.name.clone(), typing)),
                }
            }
        }
        out.sort();
        out
    }
}

/// `GET /app/ws`: upgrades a signed-in page's connection. Only pages of this origin
/// may open it (browsers send cookies with cross-site websocket requests).
pub async fn socket(
    State(app): State<AppState>,
    uri: axum::http::Uri,
    headers: HeaderMap,
    ctx: Ctx,
    ws: WebSocketUpgrade,
) -> Response {
    if !super::same_origin(&headers, &uri, false) {
        return (StatusCode::FORBIDDEN, "cross-origin websocket refused").into_response();
    }
    // Kept to check, now and then, that the session still stands.
    let secret = crate::extract::cookie_in(&headers, crate::extract::SESSION_COOKIE)
        .unwrap_or_default()
        .to_owned();
    ws.read_buffer_size(4096)
        .write_buffer_size(0)
        .max_message_size(4096)
        .on_upgrade(move |socket| run(app, ctx, secret, socket))
}

/// Ticks (of 2 s) between telling the other nodes again where this page is.
const REANNOUNCE_TICKS: u32 = (REANNOUNCE.as_secs() / 2) as u32;
/// Ticks (of 2 s) between checks that the session still stands.
const SESSION_CHECK_TICKS: u32 = 5;
/// Most messages a page may send in one tick; more closes the socket.
const MAX_MESSAGES_PER_TICK: u32 = 20;

async fn run(app: AppState, ctx: Ctx, secret: String, mut socket: WebSocket) {
    let hub = app.live.clone();
    let conn = hub.next_conn.fetch_add(1, Ordering::Relaxed);
    hub.agent_online(ctx.p.workspace_id, conn, Some(ctx.p.user_id));
    let ws = ctx.p.workspace_id;
    let me = ctx.p.user_id;
    let mut events = app.engine.subscribe();
    let mut signals = app.engine.subscribe_signals();
    let mut presence = hub.changed.subscribe();
    // After subscribing: a change made while this write waits still reaches
    // the page.
    seen(&app, &ctx, None).await;
    let mut watching: Option<TicketId> = None;
    let mut tick = tokio::time::interval(Duration::from_secs(2));
    let mut last_sent: Vec<(String, bool)> = Vec::new();
    let (mut ticks, mut received) = (0u32, 0u32);
    loop {
        let out = tokio::select! {
            ev = events.recv() => match ev {
                Ok(e) if e.workspace_id == ws => event_message(&app, &ctx, &e).await,
                Ok(_) => None,
                Err(broadcast::error::RecvError::Lagged(_)) => Some(json!({"t": "reload"})),
                Err(broadcast::error::RecvError::Closed) => break,
            },
            // Another node's events may have been missed: show the page afresh.
            s = signals.recv() => match s {
                Ok(s) if s.data["t"] == "gap" => Some(json!({"t": "reload"})),
                Ok(s) if s.data["ws"] == ws.to_string().as_str() => call_message(&s.data, me),
                Ok(_) | Err(broadcast::error::RecvError::Lagged(_)) => None,
                Err(broadcast::error::RecvError::Closed) => break,
            },
            p = presence.recv() => match p {
                Ok((w, t)) if w == ws && Some(t) == watching => {
                    let now = hub.others(ws, t, me);
                    (now != last_sent).then(|| { last_sent = now.clone(); presence_message(t, &now) })
                }
                Ok(_) => None,
                Err(broadcast::error::RecvError::Lagged(_)) => None,
                Err(broadcast::error::RecvError::Closed) => break,
            },
            _ = tick.tick() => {
                ticks += 1;
                received = 0;
                if ticks.is_multiple_of(REANNOUNCE_TICKS) {
                    hub.agent_online(ws, conn, Some(me));
                    seen(&app, &ctx, None).await;
                    if watching.is_some() {
                        hub.reannounce(ws, conn);
                    }
                }
                // A session ended by logout, a password change or deactivation
                // ends its sockets too.
                if ticks.is_multiple_of(SESSION_CHECK_TICKS)
                    && app.engine.authenticate_session(&secret).await.is_err()
                {
                    break;
                }
                match watching {
                // Typing expires without a message; the tick notices.
                Some(t) => {
                    let now = hub.others(ws, t, me);
                    (now != last_sent).then(|| { last_sent = now.clone(); presence_message(t, &now) })
                }
                None => None,
            }},
            msg = socket.recv() => match msg {
                Some(Ok(Message::Text(_))) if received >= MAX_MESSAGES_PER_TICK => break,
                Some(Ok(Message::Text(text))) => {
                    received += 1;
                    if let Some(idle) = idle_message(text.as_str()) {
                        seen(&app, &ctx, Some(idle)).await;
                        None
                    } else if let Some((t, typing)) = client_message(text.as_str()) {
                        watching = t;
                        last_sent.clear();
                        let viewer = t.map(|_| Viewer {
                            user: me,
                            name: ctx.me.name.clone(),
                            typing_until: typing.then(|| Instant::now() + TYPING_FOR),
                            heard: None,
                        });
                        hub.set(ws, conn, t, viewer);
                        if let Some(t) = t {
                            let now = hub.others(ws, t, me);
                            last_sent = now.clone();
                            Some(presence_message(t, &now))
                        } else {
                            None
                        }
                    } else {
                        None
                    }
                }
                Some(Ok(Message::Close(_))) | None | Some(Err(_)) => break,
                Some(Ok(_)) => None,
            },
        };
        if let Some(v) = out
            && socket
                .send(Message::Text(v.to_string().into()))
                .await
                .is_err()
        {
            break;
        }
    }
    hub.set(ws, conn, None, None);
    hub.agent_online(ws, conn, None);
}

/// A ringing call for this agent (a screen-pop), or the end of one.
fn call_message(data: &serde_json::Value, me: UserId) -> Option<serde_json::Value> {
    match data["t"].as_str()? {
        "call" => {
            let mine = data["users"]
                .as_array()?
                .iter()
                .any(|u| u.as_str() == Some(me.to_string().as_str()));
            mine.then(|| {
                json!({"t": "call", "call": data["call"], "from": data["from"], "line": data["line"],
                       "customer": data["customer"], "tickets": data["tickets"]})
            })
        }
        "call_answered" => Some(json!({"t": "call_end", "call": data["call"]})),
        _ => None,
    }
}

async fn follows(app: &AppState, ctx: &Ctx, ticket: TicketId) -> bool {
    app.engine
        .follows(ctx.p.workspace_id, ticket, ctx.p.user_id)
        .await
        .unwrap_or(false)
}

/// Keeps the agent's presence: the page is open (and, with `idle`, has seen
/// no input for a while, or input again).
async fn seen(app: &AppState, ctx: &Ctx, idle: Option<bool>) {
    if let Err(e) = app.engine.agent_seen(&ctx.p, idle).await {
        tracing::warn!(error = %e, "recording an agent's presence failed");
    }
}

/// `{"t":"idle"}` → `Some(true)`, `{"t":"active"}` → `Some(false)`.
fn idle_message(text: &str) -> Option<bool> {
    let v: serde_json::Value = serde_json::from_str(text).ok()?;
    match v.get("t")?.as_str()? {
        "idle" => Some(true),
        "active" => Some(false),
        _ => None,
    }
}

/// `{"t":"view","ticket":ID}`, `{"t":"typing","ticket":ID}` or `{"t":"leave"}`.
fn client_message(text: &str) -> Option<(Option<TicketId>, bool)> {
    let v: serde_json::Value = serde_json::from_str(text).ok()?;
    let ticket = || v.get("ticket")?.as_str()?.parse::<TicketId>().ok();
    match v.get("t")?.as_str()? {
        "view" => Some((Some(ticket()?), false)),
        "typing" => Some((Some(ticket()?), true)),
        "leave" => Some((None, false)),
        _ => None,
    }
}

fn presence_message(t: TicketId, others: &[(String, bool)]) -> serde_json::Value {
    json!({
        "t": "presence",
        "ticket": t.to_string(),
        "people": others.iter().map(|(n, typing)| json!({"name": n, "typing": typing})).collect::<Vec<_>>(),
    })
}

async fn event_message(
    app: &AppState,
    ctx: &Ctx,
    e: &engine::model::CommittedEvent,
) -> Option<serde_json::Value> {
    // Admins hear at once that a webhook was switched off.
    if let EventData::WebhookDisabled { reason, .. } = &e.data {
        return ctx
            .p
            .role
            .can_administer()
            .then(|| json!({"t": "alert", "text": reason}));
    }
    // Supervisors hear of a spike in one topic.
    if let EventData::TrendDetected { key, observed, .. } = &e.data {
        return ctx.p.role.can_supervise().then(|| {
            json!({"t": "trend", "text": format!("{} ({observed})", super::reports::topic(&ctx.tr, key))})
        });
    }
    let ticket = e.ticket_id()?;
    let me = ctx.p.user_id.to_string();
    let assigned_to_me = match &e.data {
        EventData::TicketUpdated { changes, .. } => changes
            .iter()
            .any(|c| c.field == "assignee_id" && c.to.as_str() == Some(me.as_str())),
        _ => false,
    }
        // Taking a ticket oneself is no news.
        && e.actor != Actor::User(ctx.p.user_id);
    let invited_me = matches!(&e.data, EventData::CollaboratorAdded { user_id, .. } if *user_id == ctx.p.user_id)
        && e.actor != Actor::User(ctx.p.user_id);
    // This person's reminder about the ticket came due.
    let wants = ctx.me.preferences.notify;
    if let EventData::ReminderDue { user_id, note, .. } = &e.data
        && *user_id == ctx.p.user_id
        && wants.reminders
        && let Ok(t) = app.engine.ticket(&ctx.p, TicketRef::Id(ticket)).await
    {
        let subject = if note.is_empty() {
            t.subject
        } else {
            format!("{} — {note}", t.subject)
        };
        return Some(json!({
            "t": "reminder",
            "ticket": ticket.to_string(),
            "number": t.number,
            "subject": subject,
        }));
    }
    // A colleague's note mentioned this agent.
    if let EventData::Mentioned { user_ids, .. } = &e.data
        && user_ids.contains(&ctx.p.user_id)
        && wants.mentioned
        && let Ok(t) = app.engine.ticket(&ctx.p, TicketRef::Id(ticket)).await
    {
        return Some(json!({
            "t": "mentioned",
            "ticket": ticket.to_string(),
            "number": t.number,
            "subject": t.subject,
        }));
    }
    // A snooze that ran out (the system woke the ticket), on a ticket of this agent.
    let woke = e.actor == Actor::System
        && matches!(&e.data, EventData::TicketUpdated { changes, .. }
            if changes.iter().any(|c| c.field == "snoozed_until" && c.to.is_null()));
    if woke
        && wants.reminders
        && let Ok(t) = app.engine.ticket(&ctx.p, TicketRef::Id(ticket)).await
        && t.assignee_id == Some(ctx.p.user_id)
    {
        return Some(json!({
            "t": "woke",
            "ticket": ticket.to_string(),
            "number": t.number,
            "subject": t.subject,
        }));
    }
    // A rule's `notify` naming this agent.
    if let EventData::AgentsNotified { user_ids, text, .. } = &e.data
        && user_ids.contains(&ctx.p.user_id)
        && wants.reminders
        && let Ok(t) = app.engine.ticket(&ctx.p, TicketRef::Id(ticket)).await
    {
        return Some(json!({
            "t": "notified",
            "ticket": ticket.to_string(),
            "number": t.number,
            "subject": t.subject,
            "text": text,
        }));
    }
    // The customer wrote on a ticket assigned to this agent or followed by them.
    if let EventData::MessageAdded {
        author_kind: domain::ticket::AuthorKind::Customer,
        ..
    } = &e.data
        && wants.replied
        && let Ok(t) = app.engine.ticket(&ctx.p, TicketRef::Id(ticket)).await
        && (t.assignee_id == Some(ctx.p.user_id) || follows(app, ctx, ticket).await)
    {
        return Some(json!({
            "t": "replied",
            "ticket": ticket.to_string(),
            "number": t.number,
            "subject": t.subject,
        }));
    }
    // A customer rated the help low on a ticket this agent answers for.
    if let EventData::SurveyAnswered {
        score,
        survey_kind,
        previous,
        ..
    } = &e.data
    {
        let low = |s: i64| domain::survey::SurveyKind::Csat.is_low(s);
        if survey_kind == "csat"
            && low(*score)
            && !previous.is_some_and(low)
            && app
                .engine
                .hears_low_rating(&ctx.p, ticket)
                .await
                .unwrap_or(false)
            && let Ok(t) = app.engine.ticket(&ctx.p, TicketRef::Id(ticket)).await
        {
            return Some(json!({
                "t": "low_rating",
                "ticket": ticket.to_string(),
                "number": t.number,
                "subject": t.subject,
            }));
        }
    }
    // News in a side conversation this agent is part of.
    let side = match &e.data {
        EventData::SideStarted {
            side_id,
            team_id: Some(_),
            ..
        } => Some((*side_id, false)),
        EventData::SideMessageAdded {
            side_id, outside, ..
        } => Some((*side_id, *outside)),
        _ => None,
    };
    if let Some((side, outside)) = side
        && e.actor != Actor::User(ctx.p.user_id)
        && wants.replied
        && app
            .engine
            .side_concerns(ctx.p.workspace_id, side, ctx.p.user_id, outside)
            .await
            .unwrap_or(false)
        && let Ok(t) = app.engine.ticket(&ctx.p, TicketRef::Id(ticket)).await
    {
        return Some(json!({
            "t": "side",
            "ticket": ticket.to_string(),
            "number": t.number,
            "subject": t.subject,
        }));
    }
    // Someone else changed the status of a ticket this agent follows.
    let status_changed = e.actor != Actor::User(ctx.p.user_id)
        && matches!(&e.data, EventData::TicketUpdated { changes, .. }
            if changes.iter().any(|c| c.field == "status"));
    if status_changed
        && wants.replied
        && follows(app, ctx, ticket).await
        && let Ok(t) = app.engine.ticket(&ctx.p, TicketRef::Id(ticket)).await
    {
        return Some(json!({
            "t": "followed",
            "ticket": ticket.to_string(),
            "number": t.number,
            "subject": t.subject,
        }));
    }
    if (assigned_to_me || invited_me)
        && wants.assigned
        && let Ok(t) = app.engine.ticket(&ctx.p, TicketRef::Id(ticket)).await
    {
        return Some(json!({
            "t": if invited_me { "invited" } else { "assigned" },
            "ticket": ticket.to_string(),
            "number": t.number,
            "subject": t.subject,
        }));
    }
    Some(json!({"t": "change", "kind": e.kind(), "ticket": ticket.to_string()}))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn presence_counts_other_people_and_expires_typing() {
        let hub = Hub::default();
        let ws = WorkspaceId::new();
        let t = TicketId::new();
        let (anna, boris) = (UserId::new(), UserId::new());
        let v = |user, name: &str, typing: bool| Viewer {
            user,
            name: name.into(),
            typing_until: typing.then(|| Instant::now() + TYPING_FOR),
            heard: None,
        };
        hub.set(ws, 1, Some(t), Some(v(anna, "Anna", false)));
        hub.set(ws, 2, Some(t), Some(v(boris, "Boris", true)));
        assert_eq!(hub.others(ws, t, anna), vec![("Boris".to_owned(), true)]);
        assert_eq!(hub.others(ws, t, boris), vec![("Anna".to_owned(), false)]);
        assert!(hub.others(WorkspaceId::new(), t, anna).is_empty());
        hub.set(ws, 2, None, None);
        assert!(hub.others(ws, t, anna).is_empty());
        assert_eq!(
            client_message(&format!(r#"{{"t":"typing","ticket":"{t}"}}"#)),
            Some((Some(t), true))
        );
        assert_eq!(client_message(r#"{"t":"view","ticket":"nope"}"#), None);
    }

    #[test]
    fn agents_online_counts_people_on_every_node() {
        let hub = Hub::default();
        let (ws, other) = (WorkspaceId::new(), WorkspaceId::new());
        let (anna, boris) = (UserId::new(), UserId::new());
        hub.agent_online(ws, 1, Some(anna));
        hub.agent_online(ws, 2, Some(anna));
        assert_eq!(hub.agents_online(ws), 1, "one person, two tabs");
        hub.apply_online_signal(&json!({"t": "online", "hub": "node-b", "conn": 7, "ws": ws.to_string(), "user": boris.to_string()}));
        assert_eq!(hub.agents_online(ws), 2);
        assert_eq!(hub.agents_online(other), 0);
        hub.agent_online(ws, 1, None);
        hub.agent_online(ws, 2, None);
        hub.apply_online_signal(
            &json!({"t": "online", "hub": "node-b", "conn": 7, "ws": ws.to_string(), "user": null}),
        );
        assert_eq!(hub.agents_online(ws), 0);
    }
}

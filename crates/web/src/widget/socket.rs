//! A visitor's websocket, `GET /widget/v1/{key}/ws?token=vt_…`.
//!
//! Server → client: `{"type":"message","message":{…}}` (a public message of
//! the visitor's conversations, theirs included, for their other tabs),
//! `{"type":"delivery","message_id","state"}`, `{"type":"typing","typing",
//! "name"}`, `{"type":"read","by":"agent"}`, `{"type":"resync"}` (read the
//! history after the last message held), `{"type":"pong"}`.
//! Client → server: `{"type":"typing"}`, `{"type":"read","up_to":ID}`,
//! `{"type":"ping"}`. More than 20 client messages in 2 s closes the socket.

use super::hub::Push;
use super::{message_out, widget_for};
use crate::AppState;
use crate::error::ApiError;
use axum::extract::ws::{Message, WebSocket, WebSocketUpgrade};
use axum::extract::{Path, Query, State};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use domain::event::EventData;
use domain::ids::*;
use engine::chat::Visitor;
use engine::chat::Widget;
use serde_json::{Value, json};
use std::sync::Arc;
use std::time::Duration;

#[derive(serde::Deserialize)]
pub struct TokenQuery {
    #[serde(default)]
    token: String,
}

/// Client messages allowed per tick (2 s).
const MAX_PER_TICK: u32 = 20;
/// Ticks between pings that keep proxies from closing an idle socket.
const PING_TICKS: u32 = 10;

pub async fn upgrade(
    State(app): State<AppState>,
    Path(key): Path<String>,
    Query(q): Query<TokenQuery>,
    headers: HeaderMap,
    ws: WebSocketUpgrade,
) -> Response {
    let w = match widget_for(&app, &key, &headers).await {
        Ok(w) => w,
        Err(e) => return e.into_response(),
    };
    let v = match app.engine.visitor_by_token(&w, &q.token).await {
        Ok(v) => v,
        Err(e) => return ApiError::from(e).into_response(),
    };
    ws.read_buffer_size(4096)
        .write_buffer_size(0)
        .max_message_size(8192)
        .on_upgrade(move |socket| run(app, w, v, socket))
}

async fn run(app: AppState, _w: Arc<Widget>, v: Visitor, mut socket: WebSocket) {
    let tickets = app
        .engine
        .visitor_conversations(&v)
        .await
        .unwrap_or_default();
    let hub = app.chat.hub.clone();
    let Some((conn, mut rx)) = hub.register(v.id, &tickets) else {
        let _ = socket
            .send(Message::Close(Some(axum::extract::ws::CloseFrame {
                code: 1008,
                reason: "too many sockets for this visitor".into(),
            })))
            .await;
        return;
    };
    let presence = app.live.new_conn();
    let ws = v.workspace_id;
    let name = v.name.clone().unwrap_or_else(|| "Visitor".into());
    let mut current: Option<TicketId> = tickets.first().copied();
    let mut typed_at: Option<std::time::Instant> = None;
    let mut tick = tokio::time::interval(Duration::from_secs(2));
    let (mut ticks, mut received) = (0u32, 0u32);
    loop {
        let out: Option<Value> = tokio::select! {
            p = rx.recv() => match p {
                // Dropped by the hub for falling behind: the client catches up
                // from the history and reconnects.
                None => {
                    let _ = socket.send(Message::Text(json!({"type": "resync"}).to_string().into())).await;
                    break;
                }
                Some(p) => pushed(&app, &v, &mut current, p).await,
            },
            msg = socket.recv() => match msg {
                Some(Ok(Message::Text(_))) if received >= MAX_PER_TICK => break,
                Some(Ok(Message::Text(text))) => {
                    received += 1;
                    client_message(&app, &v, current, presence, &name, &mut typed_at, text.as_str()).await
                }
                Some(Ok(Message::Close(_))) | None | Some(Err(_)) => break,
                Some(Ok(_)) => None,
            },
            _ = tick.tick() => {
                ticks += 1;
                received = 0;
                if ticks.is_multiple_of(PING_TICKS)
                    && socket.send(Message::Ping(Vec::new().into())).await.is_err()
                {
                    break;
                }
                None
            }
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
    hub.unregister(v.id, conn);
    app.live.leave(ws, presence);
}

async fn pushed(
    app: &AppState,
    v: &Visitor,
    current: &mut Option<TicketId>,
    p: Push,
) -> Option<Value> {
    match p {
        Push::Event(e) => match &e.data {
            EventData::MessageAdded {
                message_id,
                ticket_id,
                ..
            } => {
                let m = app.engine.visitor_message(v, *message_id).await.ok()??;
                *current = Some(*ticket_id);
                Some(json!({"type": "message", "message": message_out(m)}))
            }
            EventData::DeliveryChanged {
                message_id, state, ..
            } => Some(json!({
                "type": "delivery",
                "message_id": message_id.to_string(),
                "state": state.as_str(),
            })),
            _ => None,
        },
        Push::Typing {
            ticket,
            typing,
            name,
        } => Some(
            json!({"type": "typing", "ticket_id": ticket.to_string(), "typing": typing, "name": name}),
        ),
        Push::AgentRead { ticket } => Some(json!({
            "type": "read",
            "by": "agent",
            "ticket_id": ticket.to_string(),
            "at": app.engine.now().to_rfc3339(),
        })),
        Push::Resync => Some(json!({"type": "resync"})),
    }
}

/// "Typing" reports closer together than this are not passed on (each one
/// reaches every node).
const TYPING_EVERY: Duration = Duration::from_millis(1500);

async fn client_message(
    app: &AppState,
    v: &Visitor,
    current: Option<TicketId>,
    presence: u64,
    name: &str,
    typed_at: &mut Option<std::time::Instant>,
    text: &str,
) -> Option<Value> {
    let msg: Value = serde_json::from_str(text).ok()?;
    match msg.get("type")?.as_str()? {
        "typing" => {
            // Before the first message there is no conversation to type in.
            let due = typed_at.is_none_or(|at| at.elapsed() >= TYPING_EVERY);
            if let Some(t) = current
                && due
            {
                *typed_at = Some(std::time::Instant::now());
                let typing = msg.get("typing").and_then(Value::as_bool).unwrap_or(true);
                app.live
                    .set_visitor(v.workspace_id, presence, v.id, Some(t), name, typing);
            }
            None
        }
        "read" => {
            let up_to = msg.get("up_to")?.as_str()?.parse::<MessageId>().ok()?;
            if let Err(e) = app.engine.visitor_read(v, up_to).await {
                tracing::warn!(visitor = %v.id, error = %e, "a visitor's read mark was not saved");
            }
            None
        }
        "ping" => Some(json!({"type": "pong"})),
        _ => None,
    }
}

//! Live routing to visitors' sockets. One task reads the committed events (and
//! agents' presence changes) once and hands each to the sockets of the visitor
//! it concerns, found by ticket: work per event does not grow with the number
//! of connected visitors.
//!
//! A socket's queue is bounded; a socket that cannot keep up is dropped and its
//! client, told to resynchronise, reads what it missed from the history (the
//! messages are stored, so nothing is lost). Which visitor a ticket belongs to
//! is remembered from the sockets' own conversations, from the messages they
//! send, and, for a chat ticket first seen in an event, looked up once.

use crate::AppState;
use domain::event::EventData;
use domain::ids::*;
use domain::ticket::{Channel, Visibility};
use engine::model::CommittedEvent;
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use tokio::sync::{broadcast, mpsc};

/// What one visitor socket is told.
#[derive(Clone, Debug)]
pub enum Push {
    Event(Arc<CommittedEvent>),
    /// Whether an agent is typing in one of the visitor's conversations.
    Typing {
        ticket: TicketId,
        typing: bool,
        name: Option<String>,
    },
    /// An agent has the conversation open: the visitor's messages are read.
    AgentRead {
        ticket: TicketId,
    },
    /// Events were missed: read the history after the last message held.
    Resync,
}

/// Pushes one socket may have waiting.
const QUEUE: usize = 256;
/// Sockets one visitor may hold at once (tabs, devices of a verified visitor).
pub const MAX_SOCKETS_PER_VISITOR: usize = 10;
/// Tickets remembered for routing before the memory is cleared.
const MAX_TICKETS: usize = 200_000;

type Sockets = HashMap<VisitorId, Vec<(u64, mpsc::Sender<Push>)>>;

#[derive(Default)]
pub struct ChatHub {
    next: AtomicU64,
    sockets: Mutex<Sockets>,
    tickets: Mutex<HashMap<TicketId, VisitorId>>,
}

impl ChatHub {
    /// A socket of `visitor`, whose conversations are `tickets`; `None` when
    /// the visitor already holds [`MAX_SOCKETS_PER_VISITOR`].
    pub fn register(
        &self,
        visitor: VisitorId,
        tickets: &[TicketId],
    ) -> Option<(u64, mpsc::Receiver<Push>)> {
        let conn = self.next.fetch_add(1, Ordering::Relaxed);
        let (tx, rx) = mpsc::channel(QUEUE);
        {
            let mut s = self.sockets.lock().ok()?;
            let list = s.entry(visitor).or_default();
            if list.len() >= MAX_SOCKETS_PER_VISITOR {
                return None;
            }
            list.push((conn, tx));
        }
        for t in tickets {
            self.track(*t, visitor);
        }
        Some((conn, rx))
    }

    pub fn unregister(&self, visitor: VisitorId, conn: u64) {
        if let Ok(mut s) = self.sockets.lock()
            && let Some(list) = s.get_mut(&visitor)
        {
            list.retain(|(c, _)| *c != conn);
            if list.is_empty() {
                s.remove(&visitor);
            }
        }
    }

    /// Remembers whose conversation a ticket is.
    pub fn track(&self, ticket: TicketId, visitor: VisitorId) {
        if let Ok(mut t) = self.tickets.lock() {
            if t.len() >= MAX_TICKETS {
                t.clear();
            }
            t.insert(ticket, visitor);
        }
    }

    fn visitor_of(&self, ticket: TicketId) -> Option<VisitorId> {
        self.tickets.lock().ok()?.get(&ticket).copied()
    }

    /// Connected visitor sockets.
    pub fn connected(&self) -> usize {
        self.sockets
            .lock()
            .map(|s| s.values().map(Vec::len).sum())
            .unwrap_or(0)
    }

    fn is_connected(&self, visitor: VisitorId) -> bool {
        self.sockets.lock().is_ok_and(|s| s.contains_key(&visitor))
    }

    /// Queues `p` for every socket of `visitor`; a socket whose queue is full
    /// loses its sender, which closes it (its client then resynchronises).
    fn push(&self, visitor: VisitorId, p: Push) {
        if let Ok(mut s) = self.sockets.lock()
            && let Some(list) = s.get_mut(&visitor)
        {
            list.retain(|(_, tx)| tx.try_send(p.clone()).is_ok());
            if list.is_empty() {
                s.remove(&visitor);
            }
        }
    }

    fn push_all(&self, p: &Push) {
        if let Ok(mut s) = self.sockets.lock() {
            for list in s.values_mut() {
                list.retain(|(_, tx)| tx.try_send(p.clone()).is_ok());
            }
            s.retain(|_, l| !l.is_empty());
        }
    }
}

/// The routing task: runs until the event broadcast closes.
pub async fn run(app: AppState) {
    let hub = app.chat.hub.clone();
    let mut events = app.engine.subscribe();
    let mut presence = app.live.subscribe_changes();
    let mut signals = app.engine.subscribe_signals();
    loop {
        tokio::select! {
            s = signals.recv() => match s {
                Ok(s) => {
                    if s.data["t"] == "presence" && !s.local {
                        app.live.apply_signal(&s.data);
                    } else if s.data["t"] == "online" && !s.local {
                        app.live.apply_online_signal(&s.data);
                    } else if s.data["t"] == "gap" {
                        hub.push_all(&Push::Resync);
                    }
                }
                Err(broadcast::error::RecvError::Lagged(_)) => hub.push_all(&Push::Resync),
                Err(broadcast::error::RecvError::Closed) => break,
            },
            e = events.recv() => match e {
                Ok(e) => route(&app, &hub, e),
                Err(broadcast::error::RecvError::Lagged(_)) => hub.push_all(&Push::Resync),
                Err(broadcast::error::RecvError::Closed) => break,
            },
            p = presence.recv() => match p {
                Ok((ws, t)) => agents_on(&app, &hub, ws, t),
                Err(broadcast::error::RecvError::Lagged(_)) => {}
                Err(broadcast::error::RecvError::Closed) => break,
            },
        }
    }
}

fn route(app: &AppState, hub: &Arc<ChatHub>, e: Arc<CommittedEvent>) {
    let (ticket, lookup) = match &e.data {
        EventData::MessageAdded {
            ticket_id,
            visibility: Visibility::Public,
            channel,
            ..
        } => (*ticket_id, *channel == Channel::Chat),
        EventData::DeliveryChanged { ticket_id, .. } => (*ticket_id, false),
        _ => return,
    };
    if let Some(v) = hub.visitor_of(ticket) {
        hub.push(v, Push::Event(e));
        return;
    }
    if !lookup || hub.connected() == 0 {
        return;
    }
    // A chat ticket this node has not seen (opened through another node): found
    // once, off the routing loop.
    let (app, hub) = (app.clone(), hub.clone());
    tokio::spawn(async move {
        if let Ok(Some(v)) = app.engine.chat_ticket_visitor(e.workspace_id, ticket).await {
            hub.track(ticket, v);
            if hub.is_connected(v) {
                hub.push(v, Push::Event(e));
            }
        }
    });
}

/// Agents' presence on a ticket changed: tell its visitor whether someone is
/// typing, and that their messages are being read.
fn agents_on(app: &AppState, hub: &ChatHub, ws: WorkspaceId, ticket: TicketId) {
    let Some(v) = hub.visitor_of(ticket) else {
        return;
    };
    if !hub.is_connected(v) {
        return;
    }
    let people = app.live.others(ws, ticket, UserId(v.0));
    let typist = people.iter().find(|(_, typing)| *typing);
    hub.push(
        v,
        Push::Typing {
            ticket,
            typing: typist.is_some(),
            name: typist.map(|(n, _)| n.clone()),
        },
    );
    if !people.is_empty() {
        hub.push(v, Push::AgentRead { ticket });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_visitor_holds_a_bounded_number_of_sockets() {
        let hub = ChatHub::default();
        let (v, t) = (VisitorId::new(), TicketId::new());
        let mut held: Vec<_> = (0..MAX_SOCKETS_PER_VISITOR)
            .map(|_| hub.register(v, &[t]).expect("socket"))
            .collect();
        assert!(hub.register(v, &[]).is_none(), "one more is refused");
        assert!(
            hub.register(VisitorId::new(), &[]).is_some(),
            "others are not affected"
        );
        hub.unregister(v, held[0].0);
        assert!(
            hub.register(v, &[]).is_some(),
            "a closed socket frees its place"
        );
        // A push reaches every socket of the visitor.
        hub.push(v, Push::Resync);
        assert!(matches!(held[1].1.try_recv(), Ok(Push::Resync)));
        assert_eq!(hub.visitor_of(t), Some(v));
    }
}

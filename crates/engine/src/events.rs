//! The event log as the engine offers it: the workspace's integration stream (with
//! its role check), live subscriptions, and the process-level operations callers
//! above the engine need (time, readiness, shutdown).

use crate::model::{CommittedEvent, Cursor, EventRecord};
use crate::{Engine, EngineError, Principal};
use domain::Code;
use domain::Timestamp;
use std::sync::Arc;
use store::events;
use tokio::sync::broadcast;

impl Engine {
    /// How the caller's workspace spells event positions (ids and cursors).
    pub fn cursors(&self, p: &Principal) -> crate::cursor::CursorCodec {
        crate::cursor::CursorCodec::new(&self.secret, p.workspace_id)
    }

    /// The workspace's events after `after`, in commit order. The stream shows every
    /// change to users, tokens and mailboxes, so it is for owners and admins, and
    /// for integrations through an API token made for one of them; an agent's or
    /// light agent's token is refused like their session.
    pub async fn event_stream(
        &self,
        p: &Principal,
        after: Cursor,
        limit: i64,
    ) -> Result<Vec<EventRecord>, EngineError> {
        if !p.role.can_administer() {
            return Err(EngineError::Forbidden(Code::EventStreamForAdmins.into()));
        }
        let mut c = self.store.read().await?;
        Ok(events::after(&mut c.conn(), p.workspace_id, after, limit.clamp(1, 1000)).await?)
    }

    /// Committed events of every workspace, as they commit on this node. A receiver
    /// that lags loses old events and must re-read what it shows.
    pub fn subscribe(&self) -> broadcast::Receiver<Arc<CommittedEvent>> {
        self.store.subscribe()
    }

    /// Signals (presence, typing) of this node and, on PostgreSQL, the others.
    pub fn subscribe_signals(&self) -> broadcast::Receiver<Arc<store::live::Signal>> {
        self.store.subscribe_signals()
    }

    /// Tells every node's live listeners something that is not stored.
    pub fn signal(&self, data: serde_json::Value) {
        self.store.signal(data);
    }

    pub fn now(&self) -> Timestamp {
        self.store.now()
    }

    /// Whether the database answers (readiness).
    pub async fn ping(&self) -> Result<(), EngineError> {
        Ok(self.store.ping().await?)
    }

    /// Stops accepting writes and waits for queued ones to commit.
    pub async fn close(&self) {
        self.store.close().await
    }

    /// The names of all workspaces, at most `limit` (the login page fills in the
    /// only one; the command line says when there is none).
    pub async fn workspace_names(&self, limit: usize) -> Result<Vec<String>, EngineError> {
        let mut c = self.store.read().await?;
        Ok(store::workspaces::list(&mut c.conn())
            .await?
            .into_iter()
            .take(limit)
            .map(|w| w.name)
            .collect())
    }
}

/// Row counts over every workspace, for benchmarks that verify what they stored.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Totals {
    pub tickets: i64,
    pub inbound_emails: i64,
    /// Telegram messages recorded (the ingest record), customers' Telegram
    /// messages in tickets, and the files on them.
    pub inbound_telegram: i64,
    pub telegram_messages: i64,
    pub telegram_files: i64,
}

impl Engine {
    pub async fn totals(&self) -> Result<Totals, EngineError> {
        let mut c = self.store.read().await?;
        let tickets = store::tickets::count_all(&mut c.conn()).await?;
        let inbound_emails =
            store::channels::count_inbound_all(&mut c.conn(), domain::ticket::Channel::Email)
                .await?;
        let inbound_telegram =
            store::channels::count_inbound_all(&mut c.conn(), domain::ticket::Channel::Telegram)
                .await?;
        let (telegram_messages, telegram_files) = store::tickets::count_customer_messages_all(
            &mut c.conn(),
            domain::ticket::Channel::Telegram,
        )
        .await?;
        Ok(Totals {
            tickets,
            inbound_emails,
            inbound_telegram,
            telegram_messages,
            telegram_files,
        })
    }
}

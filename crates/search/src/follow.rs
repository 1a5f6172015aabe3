//! Keeps an index current from the event log. Every node runs its own follower
//! over its own index: it reads the shared log after the position its index
//! last committed, re-indexes the tickets the events touched, and commits the
//! documents and the new position together. After a crash it resumes from that
//! position; a rebuild empties the index and replays the log from the start.

use crate::{SearchError, SearchIndex};
use domain::event::EventData;
use domain::ids::*;
use engine::Engine;
use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::watch;

/// Events read per commit.
const BATCH: i64 = 1000;
/// How often an idle follower looks for events written by other nodes.
const POLL: Duration = Duration::from_millis(500);
/// How long a woken follower lets a burst of commits gather before it indexes
/// them: one commit of the index per burst instead of one per write keeps
/// memory and segment churn down, well inside the one-second freshness promise.
const GATHER: Duration = Duration::from_millis(250);

pub struct Follower {
    engine: Engine,
    index: Arc<SearchIndex>,
}

impl Follower {
    pub fn new(engine: Engine, index: Arc<SearchIndex>) -> Follower {
        Follower { engine, index }
    }

    /// Applies one batch of events; returns how many there were.
    pub async fn step(&self) -> Result<usize, SearchError> {
        let events = self
            .engine
            .feed_events(self.index.position(), BATCH)
            .await?;
        let Some(last) = events.last().map(engine::model::Cursor::of) else {
            return Ok(0);
        };
        let mut dirty: BTreeSet<(WorkspaceId, TicketId)> = BTreeSet::new();
        let mut articles: BTreeSet<(WorkspaceId, ArticleId)> = BTreeSet::new();
        let mut faqs: BTreeSet<(WorkspaceId, FaqId)> = BTreeSet::new();
        // An erasure must leave no copy of the erased text in the index's
        // files, where a deleted document lingers until its segment merges.
        let mut purge = false;
        for e in &events {
            let ws = e.workspace_id;
            match &e.data {
                EventData::TicketCreated { ticket_id, .. }
                | EventData::TicketUpdated { ticket_id, .. }
                | EventData::MessageAdded { ticket_id, .. } => {
                    dirty.insert((ws, *ticket_id));
                }
                // The messages moved: both tickets read differently now.
                EventData::TicketMerged {
                    ticket_id,
                    source_id,
                    ..
                } => {
                    dirty.insert((ws, *ticket_id));
                    dirty.insert((ws, *source_id));
                }
                EventData::TicketSplit {
                    ticket_id, into_id, ..
                } => {
                    dirty.insert((ws, *ticket_id));
                    dirty.insert((ws, *into_id));
                }
                EventData::CustomerUpdated { customer_id, .. }
                | EventData::IdentityAdded { customer_id, .. }
                | EventData::CustomersMerged { customer_id, .. } => {
                    for t in self.engine.feed_customer_tickets(ws, *customer_id).await? {
                        dirty.insert((ws, t));
                    }
                }
                EventData::CustomerErased { customer_id, .. } => {
                    for t in self.engine.feed_customer_tickets(ws, *customer_id).await? {
                        dirty.insert((ws, t));
                    }
                    purge = true;
                }
                EventData::ArticleSaved { article_id, .. } => {
                    articles.insert((ws, *article_id));
                }
                EventData::FaqSaved { faq_id, .. } => {
                    faqs.insert((ws, *faq_id));
                }
                _ => {}
            }
        }
        for (ws, a) in articles {
            let doc = self.engine.feed_article(ws, a).await?;
            self.index.put_kb("article", a.0, doc.as_ref())?;
        }
        for (ws, f) in faqs {
            let doc = self.engine.feed_faq(ws, f).await?;
            self.index.put_kb("faq", f.0, doc.as_ref())?;
        }
        for (ws, t) in dirty {
            let doc = self.engine.feed_ticket(ws, t).await?;
            self.index.put_ticket(t, doc.as_ref())?;
        }
        let index = self.index.clone();
        tokio::task::spawn_blocking(move || {
            index.commit(last)?;
            if purge {
                index.purge_deleted()?;
            }
            Ok::<_, SearchError>(())
        })
        .await
        .map_err(|e| SearchError::Io(std::io::Error::other(e)))??;
        Ok(events.len())
    }

    /// Applies every event written so far; returns how many.
    pub async fn catch_up(&self, progress: &dyn Fn(usize)) -> Result<usize, SearchError> {
        let mut total = 0;
        loop {
            let n = self.step().await?;
            if n == 0 {
                return Ok(total);
            }
            total += n;
            progress(total);
        }
    }

    /// Follows the log until `stop` turns true: at once after a commit on this
    /// node, else every half second.
    pub async fn run(self, mut stop: watch::Receiver<bool>) {
        let mut committed = self.engine.subscribe();
        loop {
            if *stop.borrow() {
                return;
            }
            match self.step().await {
                Ok(n) if n as i64 >= BATCH => continue,
                Ok(_) => {}
                Err(e) => {
                    tracing::warn!(error = %e, "search index: following the event log failed; retrying")
                }
            }
            tokio::select! {
                _ = committed.recv() => {
                    tokio::select! {
                        _ = tokio::time::sleep(GATHER) => {}
                        _ = stop.changed() => {}
                    }
                    // What was announced meanwhile is read by the next step.
                    while !matches!(
                        committed.try_recv(),
                        Err(tokio::sync::broadcast::error::TryRecvError::Empty
                            | tokio::sync::broadcast::error::TryRecvError::Closed)
                    ) {}
                }
                _ = tokio::time::sleep(POLL) => {}
                _ = stop.changed() => {}
            }
        }
    }
}

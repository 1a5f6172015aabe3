//! The live feed between nodes that share one PostgreSQL database.
//!
//! Every transaction that emitted events notifies `otklik_events` with their ids
//! (`pg_notify` inside the transaction, so the note is delivered on commit and
//! only then). Each node listens, reads the events another node wrote by id and
//! publishes them on its own broadcast, so a socket on node B hears what node A
//! committed. Signals (presence, typing: meant for now, never stored) travel as
//! notes on `otklik_signals`. A node skips its own notes: it published those
//! when it committed them.
//!
//! A listener that loses its connection misses what was sent meanwhile; it says
//! so with a `{"t":"gap"}` signal, and live clients re-read what they show. On
//! SQLite (one node) the broadcast alone is the feed.

use crate::events::EventRecord;
use crate::{CommittedEvent, StoreError, query};
use sqlx::PgPool;
use sqlx::postgres::PgListener;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{broadcast, watch};

pub const EVENTS: &str = "otklik_events";
pub const SIGNALS: &str = "otklik_signals";
/// Event ids per note: PostgreSQL takes payloads of under 8,000 bytes.
const IDS_PER_NOTE: usize = 350;
/// Largest signal sent between nodes, in bytes.
pub const MAX_SIGNAL: usize = 7_000;

/// Something a node tells live listeners that is not stored.
#[derive(Clone, Debug)]
pub struct Signal {
    pub data: serde_json::Value,
    /// Raised on this node (not received from another).
    pub local: bool,
}

/// The notes announcing `ids`: `node:id,id,…`, each under the size limit.
pub(crate) fn event_notes(node: &str, ids: &[i64]) -> Vec<String> {
    ids.chunks(IDS_PER_NOTE)
        .map(|c| {
            let list: Vec<String> = c.iter().map(i64::to_string).collect();
            format!("{node}:{}", list.join(","))
        })
        .collect()
}

/// Events by id, oldest first (PostgreSQL).
async fn events_by_id(pool: &PgPool, ids: &str) -> Result<Vec<EventRecord>, StoreError> {
    let mut c = pool.acquire().await?;
    let mut conn = crate::Conn::Pg(&mut c);
    conn.fetch_all(
        &query(
            "SELECT id, workspace_id, kind, ticket_id, customer_id, actor_kind, actor_id, data, created_at, \
             tx_id::text::bigint FROM events \
             WHERE id IN (SELECT unnest(string_to_array($1, ','))::bigint) ORDER BY id",
        )
        .bind(ids.to_owned()),
    )
    .await
}

/// Listens for other nodes' notes until the store is dropped (`stop` closes).
pub(crate) async fn listen(
    pool: PgPool,
    node: String,
    events: broadcast::Sender<Arc<CommittedEvent>>,
    signals: broadcast::Sender<Arc<Signal>>,
    mut stop: watch::Receiver<()>,
) {
    let mut listener = loop {
        let attempt = async {
            let mut l = PgListener::connect_with(&pool).await?;
            l.listen_all([EVENTS, SIGNALS]).await?;
            Ok::<_, sqlx::Error>(l)
        };
        tokio::select! {
            r = attempt => match r {
                Ok(l) => break l,
                // The store is closing: its connections must all come back.
                Err(sqlx::Error::PoolClosed) => return,
                Err(e) => tracing::warn!(error = %e, "live feed: cannot listen; retrying in 1 s"),
            },
            _ = stop.changed() => return,
        }
        tokio::select! {
            _ = tokio::time::sleep(Duration::from_secs(1)) => {}
            _ = stop.changed() => return,
        }
    };
    loop {
        let next = tokio::select! {
            n = listener.try_recv() => n,
            _ = stop.changed() => return,
        };
        match next {
            Ok(Some(n)) => {
                let Some((from, body)) = n.payload().split_once(':') else {
                    continue;
                };
                if from == node {
                    continue;
                }
                if n.channel() == EVENTS {
                    match events_by_id(&pool, body).await {
                        Ok(rows) => {
                            for r in rows {
                                let _ = events.send(Arc::new(CommittedEvent {
                                    id: r.id,
                                    workspace_id: r.workspace_id,
                                    actor: r.actor,
                                    created_at: r.created_at,
                                    data: r.data,
                                }));
                            }
                        }
                        Err(e) => {
                            tracing::warn!(error = %e, "live feed: another node's events could not be read");
                            let _ = signals.send(gap());
                        }
                    }
                } else if let Ok(data) = serde_json::from_str(body) {
                    let _ = signals.send(Arc::new(Signal { data, local: false }));
                }
            }
            Ok(None) => {
                tracing::warn!("live feed: the listening connection was lost and is back");
                let _ = signals.send(gap());
            }
            // The store is closing (`Store::close` waits for every connection,
            // this one included): stop listening.
            Err(sqlx::Error::PoolClosed) => return,
            Err(e) => {
                tracing::warn!(error = %e, "live feed: listening failed; retrying in 1 s");
                let _ = signals.send(gap());
                tokio::select! {
                    _ = tokio::time::sleep(Duration::from_secs(1)) => {}
                    _ = stop.changed() => return,
                }
            }
        }
    }
}

fn gap() -> Arc<Signal> {
    Arc::new(Signal {
        data: serde_json::json!({"t": "gap"}),
        local: true,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn notes_stay_under_the_payload_limit() {
        let ids: Vec<i64> = (i64::MAX - 1000..i64::MAX).collect();
        let notes = event_notes("0123456789abcdef0123456789abcdef", &ids);
        assert_eq!(notes.len(), 3);
        assert!(notes.iter().all(|n| n.len() < 8000), "{}", notes[0].len());
        let back: usize = notes
            .iter()
            .map(|n| n.split_once(':').map_or(0, |(_, l)| l.split(',').count()))
            .sum();
        assert_eq!(back, 1000);
    }
}

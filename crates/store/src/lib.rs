//! The database: migrations, repositories, the event log, the job queue and the
//! blob store, on SQLite (embedded, default) or PostgreSQL.
//!
//! Invariants:
//! - Every write runs inside [`Store::write`], so the events it emits commit or vanish
//!   with it. On SQLite all writes go through one writer task that groups concurrent
//!   requests into one transaction (a savepoint each) and one fsync: a caller is
//!   answered only after that commit is durable.
//! - Every repository function that touches tenant data takes the `WorkspaceId` and
//!   puts it in its `WHERE` clause.
//! - No SQL outside this crate.

#![forbid(unsafe_code)]

pub mod admin;
pub mod assist;
pub mod blob;
pub mod bot;
pub mod channels;
pub mod chat;
pub mod constraint;
pub mod consumers;
pub mod customers;
pub mod digests;
pub mod events;
pub mod flows;
pub mod idempotency;
pub mod jobs;
pub mod journey;
pub mod kb;
pub mod kpis;
pub mod links;
pub mod live;
pub mod macros;
pub mod mail;
pub mod orders;
pub mod organizations;
pub mod outreach;
pub mod people;
pub mod privacy;
pub mod quality;
pub mod reminders;
pub mod rules;
pub mod settings;
pub mod sides;
pub mod sla;
pub mod sql;
pub mod surveys;
pub mod swarm;
pub mod tickets;
pub mod trends;
pub mod triage;
mod tx;
pub mod webhooks;
pub mod workspaces;
mod writer;

pub use sql::{Conn, Dialect, FromRow, Query, Row, query};
pub use tx::{Savepoint, Tx};

use domain::Timestamp;
use futures::future::BoxFuture;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::{PgPool, SqlitePool};
use std::path::Path;
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::broadcast;

/// Errors of the storage layer.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("not found")]
    NotFound,
    /// A unique key refused the write.
    #[error("{}", .0.describe())]
    Conflict(constraint::Unique),
    /// A foreign key refused the write: what it points at does not exist (SQLite
    /// does not say which key, so neither database's name is kept).
    #[error("a referenced row does not exist")]
    MissingReference,
    #[error("database: {0}")]
    Db(#[source] sqlx::Error),
    #[error("database: {0}")]
    Lite(#[source] rusqlite::Error),
    #[error("migrations: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    /// A stored value does not parse: the database was changed behind Otklik's back.
    #[error("stored data is corrupt: {0}")]
    Corrupt(String),
    #[error("the database writer has stopped")]
    WriterGone,
    #[error("blob store: {0}")]
    Blob(#[from] std::io::Error),
    #[error("invalid database configuration: {0}")]
    Config(String),
}

impl From<sqlx::Error> for StoreError {
    fn from(e: sqlx::Error) -> Self {
        match &e {
            sqlx::Error::RowNotFound => StoreError::NotFound,
            sqlx::Error::Database(d) if d.is_unique_violation() => {
                StoreError::Conflict(match d.constraint() {
                    Some(name) => constraint::Unique::from_pg(name),
                    // SQLite through sqlx (migrations, readers): the message names columns.
                    None => constraint::Unique::from_sqlite(d.message()),
                })
            }
            sqlx::Error::Database(d) if d.is_foreign_key_violation() => {
                StoreError::MissingReference
            }
            _ => StoreError::Db(e),
        }
    }
}

impl From<rusqlite::Error> for StoreError {
    fn from(e: rusqlite::Error) -> Self {
        match &e {
            rusqlite::Error::SqliteFailure(f, msg)
                if f.extended_code == rusqlite::ffi::SQLITE_CONSTRAINT_UNIQUE
                    || f.extended_code == rusqlite::ffi::SQLITE_CONSTRAINT_PRIMARYKEY =>
            {
                StoreError::Conflict(constraint::Unique::from_sqlite(
                    msg.as_deref().unwrap_or_default(),
                ))
            }
            rusqlite::Error::SqliteFailure(f, _)
                if f.extended_code == rusqlite::ffi::SQLITE_CONSTRAINT_FOREIGNKEY =>
            {
                StoreError::MissingReference
            }
            _ => StoreError::Lite(e),
        }
    }
}

/// The source of "now": a parameter so that time-based rules are testable.
pub trait Clock: Send + Sync + 'static {
    fn now(&self) -> Timestamp;
}

/// The wall clock.
pub struct SystemClock;

impl Clock for SystemClock {
    #[allow(clippy::disallowed_methods)] // the one edge where real time enters
    fn now(&self) -> Timestamp {
        let ms = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_millis() as i64)
            .unwrap_or_default();
        Timestamp::from_millis(ms)
    }
}

/// An event as committed: what in-process listeners (live updates) receive.
#[derive(Clone, Debug)]
pub struct CommittedEvent {
    pub id: i64,
    pub workspace_id: domain::ids::WorkspaceId,
    pub actor: domain::event::Actor,
    pub created_at: Timestamp,
    pub data: domain::event::EventData,
}

impl CommittedEvent {
    pub fn kind(&self) -> &'static str {
        self.data.kind()
    }
    pub fn ticket_id(&self) -> Option<domain::ids::TicketId> {
        self.data.ticket_id()
    }
}

/// How to open the store.
#[derive(Clone, Debug)]
pub struct StoreOptions {
    /// `postgres://…` for PostgreSQL; otherwise SQLite in `data_dir`.
    pub database_url: Option<domain::secret::Secret>,
    /// Where the SQLite file and the blobs live.
    pub data_dir: std::path::PathBuf,
    /// Read connections (SQLite) or all connections (PostgreSQL).
    pub max_connections: u32,
    /// How many concurrent writes the SQLite writer folds into one commit.
    pub max_batch: usize,
}

enum Backend {
    Sqlite {
        read: SqlitePool,
        writer: writer::Handle,
        /// Asks the checkpointer to cut the write-ahead log back now.
        cut: tokio::sync::mpsc::Sender<tokio::sync::oneshot::Sender<bool>>,
        /// The database file, for large reads on a connection of their own.
        file: std::path::PathBuf,
    },
    Pg(PgPool),
}

struct Inner {
    backend: Backend,
    clock: Arc<dyn Clock>,
    events: broadcast::Sender<Arc<CommittedEvent>>,
    signals: broadcast::Sender<Arc<live::Signal>>,
    /// This process's name in notes to other nodes.
    node: String,
    blobs: blob::BlobStore,
    /// Dropped with the store: its live-feed listener stops.
    _stop: tokio::sync::watch::Sender<()>,
}

/// The handle every service holds; cheap to clone.
#[derive(Clone)]
pub struct Store {
    inner: Arc<Inner>,
}

/// A pooled read connection.
pub enum ReadConn {
    Sqlite(sqlx::pool::PoolConnection<sqlx::Sqlite>),
    Pg(sqlx::pool::PoolConnection<sqlx::Postgres>),
}

impl ReadConn {
    pub fn conn(&mut self) -> Conn<'_> {
        match self {
            ReadConn::Sqlite(c) => Conn::Sqlite(c),
            ReadConn::Pg(c) => Conn::Pg(c),
        }
    }
}

/// What a write closure returns: a boxed future borrowing the transaction.
pub type WriteFuture<'t, T, E> = BoxFuture<'t, Result<T, E>>;

impl Store {
    /// Opens (and creates) the database and runs pending migrations.
    pub async fn open(opts: &StoreOptions, clock: Arc<dyn Clock>) -> Result<Store, StoreError> {
        let blobs = blob::BlobStore::open(opts.data_dir.join("blobs"))?;
        let backend = match opts
            .database_url
            .as_ref()
            .map(domain::secret::Secret::expose)
        {
            Some(url) if url.starts_with("postgres://") || url.starts_with("postgresql://") => {
                let o = PgConnectOptions::from_str(url)
                    .map_err(|e| StoreError::Config(e.to_string()))?;
                let pool = PgPoolOptions::new()
                    .max_connections(opts.max_connections.max(2))
                    .acquire_timeout(Duration::from_secs(10))
                    .connect_with(o)
                    .await?;
                sqlx::migrate!("./migrations/postgres").run(&pool).await?;
                Backend::Pg(pool)
            }
            Some(other) if !other.is_empty() => {
                return Err(StoreError::Config(format!(
                    "DATABASE_URL must start with postgres:// (got {:?}); leave it unset for the embedded SQLite database",
                    other.split(':').next().unwrap_or_default()
                )));
            }
            _ => {
                std::fs::create_dir_all(&opts.data_dir)?;
                let file = opts.data_dir.join("otklik.sqlite3");
                let base = sqlite_options(&file);
                let mut write_conn = {
                    use sqlx::ConnectOptions as _;
                    base.clone().create_if_missing(true).connect().await?
                };
                sqlx::migrate!("./migrations/sqlite")
                    .run(&mut write_conn)
                    .await?;
                {
                    use sqlx::Connection as _;
                    write_conn.close().await?;
                }
                let writer_conn = open_writer(&file)?;
                let read = SqlitePoolOptions::new()
                    .max_connections(opts.max_connections.max(1))
                    // A local file: no need to ping a connection before each use.
                    .test_before_acquire(false)
                    .connect_with(base.clone().read_only(true))
                    .await?;
                let checkpointer = {
                    use sqlx::ConnectOptions as _;
                    base.connect().await?
                };
                let writer = writer::spawn(writer_conn, clock.clone(), opts.max_batch.max(1))?;
                let (cut, cuts) = tokio::sync::mpsc::channel(16);
                tokio::spawn(checkpoint_loop(checkpointer, cuts));
                Backend::Sqlite {
                    read,
                    writer,
                    cut,
                    file,
                }
            }
        };
        let (events, _) = broadcast::channel(4096);
        let (signals, _) = broadcast::channel(4096);
        let (stop, stop_rx) = tokio::sync::watch::channel(());
        let node = uuid::Uuid::now_v7().simple().to_string();
        if let Backend::Pg(pool) = &backend {
            tokio::spawn(live::listen(
                pool.clone(),
                node.clone(),
                events.clone(),
                signals.clone(),
                stop_rx,
            ));
        }
        Ok(Store {
            inner: Arc::new(Inner {
                backend,
                clock,
                events,
                signals,
                node,
                blobs,
                _stop: stop,
            }),
        })
    }

    pub fn dialect(&self) -> Dialect {
        match self.inner.backend {
            Backend::Sqlite { .. } => Dialect::Sqlite,
            Backend::Pg(_) => Dialect::Postgres,
        }
    }

    pub fn now(&self) -> Timestamp {
        self.inner.clock.now()
    }

    pub fn blobs(&self) -> &blob::BlobStore {
        &self.inner.blobs
    }

    /// Committed events, for in-process listeners. Lagging receivers lose old events
    /// and must catch up from the event log.
    pub fn subscribe(&self) -> broadcast::Receiver<Arc<CommittedEvent>> {
        self.inner.events.subscribe()
    }

    /// Signals (presence, typing) raised on this node or, on PostgreSQL,
    /// received from the others.
    pub fn subscribe_signals(&self) -> broadcast::Receiver<Arc<live::Signal>> {
        self.inner.signals.subscribe()
    }

    /// Tells live listeners on every node something that is not stored. Best
    /// effort: a signal too large ([`live::MAX_SIGNAL`]) or a note that fails
    /// reaches this node only.
    pub fn signal(&self, data: serde_json::Value) {
        let text = data.to_string();
        let _ = self
            .inner
            .signals
            .send(Arc::new(live::Signal { data, local: true }));
        if let Backend::Pg(pool) = &self.inner.backend {
            if text.len() > live::MAX_SIGNAL {
                tracing::warn!(
                    bytes = text.len(),
                    "a signal too large for other nodes was kept local"
                );
                return;
            }
            let (pool, note) = (pool.clone(), format!("{}:{text}", self.inner.node));
            tokio::spawn(async move {
                let r = sqlx::query("SELECT pg_notify($1, $2)")
                    .bind(live::SIGNALS)
                    .bind(note)
                    .execute(&pool)
                    .await;
                if let Err(e) = r {
                    tracing::warn!(error = %e, "a signal did not reach the other nodes");
                }
            });
        }
    }

    /// A connection for reading.
    pub async fn read(&self) -> Result<ReadConn, StoreError> {
        Ok(match &self.inner.backend {
            Backend::Sqlite { read, .. } => ReadConn::Sqlite(read.acquire().await?),
            Backend::Pg(pool) => ReadConn::Pg(pool.acquire().await?),
        })
    }

    /// Runs `f` in a transaction and commits it durably. An `Err` from `f` rolls back
    /// everything `f` wrote (and the events it emitted) and is returned as is.
    pub async fn write<T, E, F>(&self, f: F) -> Result<T, E>
    where
        T: Send + 'static,
        E: From<StoreError> + Send + 'static,
        F: for<'t> FnOnce(&'t mut Tx) -> WriteFuture<'t, T, E> + Send + 'static,
    {
        match &self.inner.backend {
            Backend::Sqlite { writer, .. } => {
                let (events, result) = writer.submit(f).await?;
                self.publish(events);
                result
            }
            Backend::Pg(pool) => {
                let t = pool.begin().await.map_err(StoreError::from)?;
                let mut tx = Tx::pg(t, self.now(), self.inner.node.clone());
                match f(&mut tx).await {
                    Ok(v) => {
                        let events = tx.commit_pg().await?;
                        self.publish(events);
                        Ok(v)
                    }
                    Err(e) => {
                        tx.rollback_pg().await;
                        Err(e)
                    }
                }
            }
        }
    }

    fn publish(&self, events: Vec<CommittedEvent>) {
        for e in events {
            // No receivers is normal (nobody is listening live).
            let _ = self.inner.events.send(Arc::new(e));
        }
    }

    /// Lets go of old copies of blanked or deleted rows that the database
    /// keeps beside its tables. SQLite: the write-ahead log, which holds
    /// earlier versions of changed pages until it starts over, is copied
    /// and cut to nothing (freed space in the file itself is zeroed as it
    /// is freed, see `open_writer`); whether it was. PostgreSQL keeps dead
    /// row versions until vacuum reuses their space; nothing is done here.
    pub async fn forget_old_versions(&self) -> Result<bool, StoreError> {
        match &self.inner.backend {
            Backend::Sqlite { cut, .. } => {
                let (reply, done) = tokio::sync::oneshot::channel();
                if cut.send(reply).await.is_err() {
                    return Ok(false);
                }
                Ok(done.await.unwrap_or(false))
            }
            Backend::Pg(_) => Ok(false),
        }
    }

    /// Runs `f`, a large read (a report over a whole table), on a blocking
    /// thread with a connection of its own. On SQLite that is a read-only
    /// rusqlite connection: the pool's driver hands rows over one by one
    /// through a channel, several times slower for a hundred thousand rows.
    /// On PostgreSQL, a pooled connection as usual.
    pub async fn bulk_read<T, F>(&self, f: F) -> Result<T, StoreError>
    where
        T: Send + 'static,
        F: for<'c> FnOnce(&'c mut Conn<'_>) -> BoxFuture<'c, Result<T, StoreError>>
            + Send
            + 'static,
    {
        match &self.inner.backend {
            Backend::Sqlite { file, .. } => {
                let file = file.clone();
                tokio::task::spawn_blocking(move || {
                    let mut c = rusqlite::Connection::open_with_flags(
                        &file,
                        rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY
                            | rusqlite::OpenFlags::SQLITE_OPEN_NO_MUTEX,
                    )?;
                    c.busy_timeout(Duration::from_secs(10))?;
                    // Pages read through the OS's cache in place, not copied.
                    c.execute_batch("PRAGMA mmap_size = 268435456; PRAGMA cache_size = -32000;")?;
                    let mut conn = Conn::Lite(&mut c);
                    futures::executor::block_on(f(&mut conn))
                })
                .await
                .map_err(|e| StoreError::Config(format!("a bulk read failed: {e}")))?
            }
            Backend::Pg(_) => {
                let mut c = self.read().await?;
                let mut conn = c.conn();
                f(&mut conn).await
            }
        }
    }

    /// Checks that the database answers (readiness).
    pub async fn ping(&self) -> Result<(), StoreError> {
        let mut c = self.read().await?;
        c.conn()
            .fetch_one::<i64>(&query("SELECT CAST(1 AS BIGINT)"))
            .await
            .map(|_| ())
    }

    /// Stops accepting writes and waits for the SQLite writer to finish what it has.
    pub async fn close(&self) {
        match &self.inner.backend {
            Backend::Sqlite { read, writer, .. } => {
                writer.close().await;
                read.close().await;
            }
            Backend::Pg(pool) => pool.close().await,
        }
    }
}

/// The writer's own connection to the file, with the same durability settings as
/// the pool's. It never checkpoints (that fsync would stall every waiting commit);
/// `checkpoint_loop` does, on another connection.
fn open_writer(file: &Path) -> Result<rusqlite::Connection, StoreError> {
    let c = rusqlite::Connection::open(file)?;
    c.busy_timeout(Duration::from_secs(10))?;
    c.set_prepared_statement_cache_capacity(256);
    c.execute_batch("PRAGMA synchronous = FULL; PRAGMA foreign_keys = ON; PRAGMA cache_size = -32000; PRAGMA temp_store = memory;")?;
    // What a write frees (a blanked value, a deleted row) is overwritten with
    // zeros, so an erased customer's data does not linger in free space.
    c.execute_batch("PRAGMA secure_delete = ON;")?;
    let mode: String = c.query_row("PRAGMA journal_mode = WAL", [], |r| r.get(0))?;
    if !mode.eq_ignore_ascii_case("wal") {
        return Err(StoreError::Config(format!(
            "could not put the database in WAL mode (got {mode})"
        )));
    }
    c.query_row("PRAGMA wal_autocheckpoint = 0", [], |_| Ok(()))?;
    // 2 = FULL: every commit is fsync'd before the writer answers anyone.
    let sync: i64 = c.query_row("PRAGMA synchronous", [], |r| r.get(0))?;
    if sync != 2 {
        return Err(StoreError::Config(format!(
            "SQLite refused synchronous=FULL (got {sync})"
        )));
    }
    Ok(c)
}

/// Tries of a requested cut before it is left to the next checkpoints.
const CUT_TRIES: usize = 20;

/// WAL pages past which the file is cut back (about 256 MB of 4 KiB pages).
const WAL_TRUNCATE_FRAMES: i64 = 65_536;

/// Copies the WAL into the database file once it has grown, without blocking the
/// writer (a PASSIVE checkpoint never waits for writers or readers). Under
/// writes that never pause (a consumer catching up on millions of events) the
/// WAL would never start over — SQLite rewinds it only when a writer finds it
/// wholly copied and no reader on it — and grows without bound; past
/// [`WAL_TRUNCATE_FRAMES`] a TRUNCATE checkpoint waits for a gap between the
/// writer's batches (mostly copied already, it is quick) and cuts the file.
///
/// On request (`cuts`), a TRUNCATE checkpoint at once: after an erasure the
/// log must not keep the pages as they were before it.
async fn checkpoint_loop(
    mut conn: sqlx::SqliteConnection,
    mut cuts: tokio::sync::mpsc::Receiver<tokio::sync::oneshot::Sender<bool>>,
) {
    use sqlx::Executor as _;
    use sqlx::Row as _;
    let mut tick = tokio::time::interval(Duration::from_millis(500));
    loop {
        tokio::select! {
            _ = tick.tick() => {}
            Some(reply) = cuts.recv() => {
                // A reader on an older snapshot makes it give up: a few short
                // tries (the connection's usual 10 s wait, which holds writers
                // back meanwhile, would stall every write for it).
                let _ = conn.execute("PRAGMA busy_timeout = 250").await;
                let mut cut = false;
                for _ in 0..CUT_TRIES {
                    match conn.fetch_one("PRAGMA wal_checkpoint(TRUNCATE)").await {
                        Ok(r) if r.try_get::<i64, _>(0).unwrap_or(1) == 0 => {
                            cut = true;
                            break;
                        }
                        Ok(_) => tokio::time::sleep(Duration::from_millis(100)).await,
                        Err(e) => {
                            tracing::warn!(error = %e, "WAL truncation failed");
                            break;
                        }
                    }
                }
                let _ = conn.execute("PRAGMA busy_timeout = 10000").await;
                let _ = reply.send(cut);
                continue;
            }
        }
        match conn.fetch_one("PRAGMA wal_checkpoint(PASSIVE)").await {
            Ok(row) => {
                let busy: i64 = row.try_get(0).unwrap_or(0);
                let frames: i64 = row.try_get(1).unwrap_or(0);
                if busy != 0 {
                    tracing::debug!("checkpoint skipped: busy");
                }
                if frames > WAL_TRUNCATE_FRAMES {
                    match conn.fetch_one("PRAGMA wal_checkpoint(TRUNCATE)").await {
                        Ok(r) if r.try_get::<i64, _>(0).unwrap_or(1) == 0 => {
                            tracing::debug!(frames, "WAL cut back");
                        }
                        Ok(_) => tracing::debug!(frames, "WAL truncation waited in vain"),
                        Err(e) => tracing::warn!(error = %e, "WAL truncation failed"),
                    }
                }
            }
            Err(sqlx::Error::PoolClosed) | Err(sqlx::Error::WorkerCrashed) => return,
            Err(e) => tracing::warn!(error = %e, "WAL checkpoint failed"),
        }
    }
}

fn sqlite_options(file: &Path) -> SqliteConnectOptions {
    SqliteConnectOptions::new()
        .filename(file)
        .journal_mode(SqliteJournalMode::Wal)
        // FULL: a commit is fsync'd before the writer answers anyone.
        .synchronous(SqliteSynchronous::Full)
        .foreign_keys(true)
        .busy_timeout(Duration::from_secs(10))
        .pragma("cache_size", "-32000")
        .pragma("temp_store", "memory")
}

#[cfg(test)]
mod migration_tests;
#[cfg(test)]
mod smoke_tests;

//! Building and running the server: the HTTP listener and the job worker side by
//! side, stopped together. Tests start the real thing on port 0.

use crate::config::Config;
use anyhow::Context;
use engine::Engine;
use engine::secret::SecretKey;
use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};
use store::{Clock, Store, SystemClock};
use tokio::net::TcpListener;

/// The wall clock, which seeding historical demo data may set back in time
/// and benchmarks may run ahead.
#[derive(Default)]
pub struct SettableClock {
    /// Milliseconds to report instead of the wall clock; 0 = use the wall clock.
    fixed: AtomicI64,
    /// Milliseconds added to the wall clock when it is used.
    offset: AtomicI64,
}

impl SettableClock {
    pub fn set(&self, t: Option<domain::Timestamp>) {
        self.fixed
            .store(t.map(|t| t.millis()).unwrap_or(0), Ordering::SeqCst);
    }

    /// Runs the wall clock `ms` ahead (behind, when negative).
    pub fn set_offset(&self, ms: i64) {
        self.offset.store(ms, Ordering::SeqCst);
    }
}

impl Clock for SettableClock {
    fn now(&self) -> domain::Timestamp {
        match self.fixed.load(Ordering::SeqCst) {
            0 => SystemClock
                .now()
                .plus_millis(self.offset.load(Ordering::SeqCst)),
            ms => domain::Timestamp::from_millis(ms),
        }
    }
}

/// A built, bound, not yet running server.
pub struct Application {
    listener: TcpListener,
    smtp_listener: Option<TcpListener>,
    engine: Engine,
    store: Store,
    config: Config,
    pub clock: Arc<SettableClock>,
    /// This node's search index, kept current by a follower of the event log.
    search: Arc<search::SearchIndex>,
}

/// Where this node keeps its search index.
pub fn search_dir(config: &Config) -> std::path::PathBuf {
    config.data_dir.join("search")
}

/// Opens this node's search index (one process at a time: the index is locked
/// while open).
pub fn open_search(config: &Config) -> anyhow::Result<Arc<search::SearchIndex>> {
    let dir = search_dir(config);
    search::SearchIndex::open(&dir)
        .map(Arc::new)
        .with_context(|| {
            format!(
                "opening the search index in {} (is another otklik using this data directory?)",
                dir.display()
            )
        })
}

/// Opens the store (running migrations) and builds the engine.
pub async fn open_engine(config: &Config, clock: Arc<dyn Clock>) -> anyhow::Result<Engine> {
    Ok(open(config, clock).await?.1)
}

/// The store and the engine over it. Only the binary holds both: tests and
/// benchmarks look beneath the services through [`Application::store`].
async fn open(config: &Config, clock: Arc<dyn Clock>) -> anyhow::Result<(Store, Engine)> {
    let store = Store::open(&config.store_options(), clock)
        .await
        .with_context(|| match &config.database_url {
            Some(_) => "opening the PostgreSQL database".to_string(),
            None => format!("opening the database in {}", config.data_dir.display()),
        })?;
    let limits = engine::Limits {
        max_message_bytes: config.limits.max_message_bytes,
        max_attachment_bytes: config.limits.max_attachment_bytes,
        max_email_bytes: config.limits.max_email_bytes,
        auto_replies_per_hour: config.limits.auto_replies_per_hour,
        chat_email_after_ms: i64::try_from(config.limits.chat_email_after_secs)
            .unwrap_or(i64::MAX / 1000)
            .saturating_mul(1000),
        ..engine::Limits::default()
    };
    let sender = channels::email::send::SmtpSender {
        accept_invalid_certs: config.mail.accept_invalid_certs,
    };
    let telegram = channels::telegram::TelegramClient::new()
        .map_err(|e| anyhow::anyhow!("the Telegram client: {e}"))?;
    let engine = Engine::new(store.clone(), limits)
        .with_secret(secret_key(config)?)
        .with_mail(Arc::new(sender))
        .with_telegram(Arc::new(telegram))
        .with_whatsapp(Arc::new(
            channels::whatsapp::WhatsappClient::new()
                .map_err(|e| anyhow::anyhow!("the WhatsApp client: {e}"))?,
        ))
        .with_vk(Arc::new(
            channels::vk::VkClient::new().map_err(|e| anyhow::anyhow!("the VK client: {e}"))?,
        ))
        .with_public_url(config.public_url.clone());
    Ok((store, engine))
}

/// The configured key, else the data directory's key file (created on first use,
/// readable by the owner only).
fn secret_key(config: &Config) -> anyhow::Result<SecretKey> {
    if let Some(k) = &config.secret_key {
        return SecretKey::parse(k.expose()).context("secret_key is not 32 bytes in hex or base64");
    }
    let path = config.data_dir.join("secret.key");
    match std::fs::read_to_string(&path) {
        Ok(text) => SecretKey::parse(&text)
            .with_context(|| format!("{} does not hold a 32-byte hex key", path.display())),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            std::fs::create_dir_all(&config.data_dir)
                .with_context(|| format!("creating {}", config.data_dir.display()))?;
            let bytes = SecretKey::random_bytes();
            let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
            write_private(&path, &hex)?;
            if config.database_url.is_some() {
                tracing::warn!(path = %path.display(), "created a secret key file; nodes sharing this PostgreSQL database must use the same key (secret_key)");
            }
            Ok(SecretKey::from_bytes(&bytes))
        }
        Err(e) => Err(e).with_context(|| format!("reading {}", path.display())),
    }
}

fn write_private(path: &std::path::Path, text: &str) -> anyhow::Result<()> {
    use std::io::Write;
    let mut o = std::fs::OpenOptions::new();
    o.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        o.mode(0o600);
    }
    let mut f = o
        .open(path)
        .with_context(|| format!("creating {}", path.display()))?;
    f.write_all(text.as_bytes())
        .and_then(|_| f.sync_all())
        .with_context(|| format!("writing {}", path.display()))
}

impl Application {
    pub async fn build(config: Config) -> anyhow::Result<Application> {
        let clock = Arc::new(SettableClock::default());
        let (store, mut engine) = open(&config, clock.clone()).await?;
        let search = open_search(&config)?;
        engine.search = Some(search.clone());
        engine.assistant = Some(Arc::new(assist::bot::Bot::default()));
        let listener = TcpListener::bind(config.listen)
            .await
            .with_context(|| format!("listening on {}", config.listen))?;
        let smtp_listener = match config.mail.smtp_listen {
            Some(a) => Some(
                TcpListener::bind(a)
                    .await
                    .with_context(|| format!("listening for SMTP on {a}"))?,
            ),
            None => None,
        };
        Ok(Application {
            listener,
            smtp_listener,
            engine,
            store,
            config,
            clock,
            search,
        })
    }

    pub fn port(&self) -> u16 {
        self.listener.local_addr().map(|a| a.port()).unwrap_or(0)
    }

    /// The SMTP receiver's port, when it is on.
    pub fn smtp_port(&self) -> Option<u16> {
        self.smtp_listener
            .as_ref()
            .and_then(|l| l.local_addr().ok())
            .map(|a| a.port())
    }

    pub fn engine(&self) -> &Engine {
        &self.engine
    }

    /// The store beneath the engine, for tests and benchmarks that check what was
    /// written; the server itself reaches data only through the engine.
    pub fn store(&self) -> &Store {
        &self.store
    }

    /// The search index, for tests that check what it holds.
    pub fn search(&self) -> Arc<search::SearchIndex> {
        self.search.clone()
    }

    /// Serves until `shutdown` completes, then drains in-flight requests, stops the
    /// worker and closes the store (the SQLite writer finishes its queue first).
    pub async fn run_until(
        self,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> anyhow::Result<()> {
        let web = web::WebConfig {
            max_body_bytes: self.config.limits.max_body_bytes,
            secure_cookies: self.config.secure_cookies,
            trusted_proxies: self.config.proxies()?,
            metrics_token: self.config.metrics_token.clone(),
            metrics_allow: self.config.metrics_ranges()?,
        };
        let router = web::router(self.engine.clone(), web);
        let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
        let workers: Vec<_> = (0..self.config.workers)
            .map(|_| {
                tokio::spawn(engine::worker::Worker::new(self.engine.clone()).run(stop_rx.clone()))
            })
            .collect();
        let follower = tokio::spawn(
            search::Follower::new(self.engine.clone(), self.search.clone()).run(stop_rx.clone()),
        );
        let kb_activity = tokio::spawn(
            self.engine
                .clone()
                .run_kb_activity(std::time::Duration::from_secs(5), stop_rx.clone()),
        );
        // Clicks are written often: a customer's click shows on their
        // journey within seconds.
        let link_clicks = tokio::spawn(
            self.engine
                .clone()
                .run_link_clicks(std::time::Duration::from_secs(2), stop_rx.clone()),
        );
        // Once, after the upgrade that brought journey summaries: built in
        // the background, the map filling in as it goes.
        let engine = self.engine.clone();
        tokio::spawn(async move {
            match engine.build_missing_journey_summaries().await {
                Ok(0) => {}
                Ok(n) => tracing::info!(
                    customers = n,
                    "journey summaries built from the touchpoints"
                ),
                Err(e) => {
                    tracing::warn!(error = %e, "building journey summaries stopped; customers not yet built are missing from the journey map")
                }
            }
        });
        let consumers = self.config.consumers.then(|| {
            let runner = engine::consumers::ConsumerRunner::new(self.engine.clone());
            tokio::spawn(runner.run(engine::consumers::all(), stop_rx.clone()))
        });
        let smtp = self.smtp_listener.map(|l| {
            let cfg = channels::email::smtpd::SmtpConfig {
                hostname: self.config.mail.smtp_hostname.clone(),
                max_message_bytes: self.config.limits.max_email_bytes,
                ..Default::default()
            };
            let router = channels::email::inbound::MailboxRouter {
                engine: self.engine.clone(),
            };
            tokio::spawn(channels::email::smtpd::serve(
                l,
                cfg,
                Arc::new(router),
                stop_rx.clone(),
            ))
        });
        let imap = self.config.mail.imap_pollers.then(|| {
            let opts = channels::email::imap::ImapOptions {
                poll: std::time::Duration::from_secs(self.config.mail.imap_poll_seconds),
                accept_invalid_certs: self.config.mail.accept_invalid_certs,
                timeout: std::time::Duration::from_secs(self.config.mail.imap_timeout_secs),
                ..Default::default()
            };
            tokio::spawn(channels::email::imap::supervise(
                self.engine.clone(),
                opts,
                stop_rx.clone(),
            ))
        });
        let grace = std::time::Duration::from_secs(self.config.limits.shutdown_secs);
        let limits = crate::serve::HttpLimits {
            header_timeout: std::time::Duration::from_secs(self.config.limits.header_timeout_secs),
            drain: grace,
        };
        crate::serve::serve(self.listener, router, limits, shutdown).await;
        let _ = stop_tx.send(true);
        // Background tasks get the same grace, together; a remote host that
        // never answers cannot hold the process past it.
        let deadline = tokio::time::Instant::now() + grace;
        let mut tasks: Vec<(&str, tokio::task::JoinHandle<()>)> =
            workers.into_iter().map(|w| ("job worker", w)).collect();
        tasks.push(("search index", follower));
        tasks.push(("help-center counts", kb_activity));
        tasks.push(("link clicks", link_clicks));
        tasks.extend(consumers.map(|c| ("consumers", c)));
        tasks.extend(smtp.map(|s| ("SMTP receiver", s)));
        tasks.extend(imap.map(|i| ("IMAP supervisor", i)));
        for (name, task) in tasks {
            let abort = task.abort_handle();
            if tokio::time::timeout_at(deadline, task).await.is_err() {
                tracing::warn!(
                    task = name,
                    "still running at the end of the shutdown grace; stopped"
                );
                abort.abort();
            }
        }
        self.engine.close().await;
        Ok(())
    }
}

/// Resolves on Ctrl-C or SIGTERM.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {}
        _ = term => {}
    }
    tracing::info!("shutting down: draining requests");
}

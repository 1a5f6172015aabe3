//! Building and running the server: the HTTP listener and the job worker side by
//! side, stopped together. Tests start the real thing on port 0.

use crate::config::Config;
use anyhow::Context;
use engine::Engine;
use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};
use store::{Clock, Store, SystemClock};
use tokio::net::TcpListener;

/// The wall clock, which seeding historical demo data may set back in time.
#[derive(Default)]
pub struct SettableClock {
    /// Milliseconds to report instead of the wall clock; 0 = use the wall clock.
    fixed: AtomicI64,
}

impl SettableClock {
    pub fn set(&self, t: Option<domain::Timestamp>) {
        self.fixed
            .store(t.map(|t| t.millis()).unwrap_or(0), Ordering::SeqCst);
    }
}

impl Clock for SettableClock {
    fn now(&self) -> domain::Timestamp {
        match self.fixed.load(Ordering::SeqCst) {
            0 => SystemClock.now(),
            ms => domain::Timestamp::from_millis(ms),
        }
    }
}

/// A built, bound, not yet running server.
pub struct Application {
    listener: TcpListener,
    engine: Engine,
    config: Config,
    pub clock: Arc<SettableClock>,
}

/// Opens the store (running migrations) and builds the engine.
pub async fn open_engine(config: &Config, clock: Arc<dyn Clock>) -> anyhow::Result<Engine> {
    let store = Store::open(&config.store_options(), clock)
        .await
        .with_context(|| match &config.database_url {
            Some(_) => "opening the PostgreSQL database".to_string(),
            None => format!("opening the database in {}", config.data_dir.display()),
        })?;
    let limits = engine::Limits {
        max_message_bytes: config.limits.max_message_bytes,
        max_attachment_bytes: config.limits.max_attachment_bytes,
        ..engine::Limits::default()
    };
    Ok(Engine::new(store, limits))
}

impl Application {
    pub async fn build(config: Config) -> anyhow::Result<Application> {
        let clock = Arc::new(SettableClock::default());
        let engine = open_engine(&config, clock.clone()).await?;
        let listener = TcpListener::bind(config.listen)
            .await
            .with_context(|| format!("listening on {}", config.listen))?;
        Ok(Application {
            listener,
            engine,
            config,
            clock,
        })
    }

    pub fn port(&self) -> u16 {
        self.listener.local_addr().map(|a| a.port()).unwrap_or(0)
    }

    pub fn engine(&self) -> &Engine {
        &self.engine
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
        };
        let router = web::router(self.engine.clone(), web);
        let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
        let workers: Vec<_> = (0..self.config.workers)
            .map(|_| {
                tokio::spawn(engine::worker::Worker::new(self.engine.clone()).run(stop_rx.clone()))
            })
            .collect();
        let served = axum::serve(
            self.listener,
            router.into_make_service_with_connect_info::<std::net::SocketAddr>(),
        )
        .with_graceful_shutdown(shutdown)
        .await;
        let _ = stop_tx.send(true);
        for w in workers {
            let _ = w.await;
        }
        self.engine.store.close().await;
        served.context("serving HTTP")
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

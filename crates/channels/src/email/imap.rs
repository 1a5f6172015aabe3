//! Reading a mailbox over IMAP: new messages (by UID, above the last one
//! committed) are fetched without marking them read, ingested, and only then
//! flagged `\Seen` and, when configured, moved; the position is saved after the
//! commit. A crash between commit and flag fetches the message again, and the
//! Message-ID record makes that a duplicate. IDLE waits for new mail where the
//! server offers it, polling otherwise.

use super::inbound::ingest_raw;
use domain::event::EventData;
use engine::Engine;
use engine::email::MailboxConfig;
use engine::email::mailbox::Tls;
use futures::TryStreamExt;
use serde_json::json;
use std::fmt::Debug;
use std::sync::Arc;
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpStream;
use tokio::sync::watch;

/// A byte stream IMAP can run over: plain TCP or TLS.
pub trait Io: AsyncRead + AsyncWrite + Unpin + Send + Debug {}
impl<T: AsyncRead + AsyncWrite + Unpin + Send + Debug> Io for T {}

/// A logged-in IMAP session over plain TCP or TLS.
pub type Session = async_imap::Session<Box<dyn Io>>;

/// Poller settings.
#[derive(Clone, Debug)]
pub struct ImapOptions {
    /// How often to check when the server has no IDLE.
    pub poll: Duration,
    /// How long one IDLE may last before it is renewed (RFC 2177: under 29 min).
    pub idle: Duration,
    pub accept_invalid_certs: bool,
    /// Messages fetched per round trip.
    pub batch: usize,
    /// Longest wait for the greeting, the TLS handshake or one command's answer
    /// (a fetch gets five times as long).
    pub timeout: Duration,
}

impl Default for ImapOptions {
    fn default() -> Self {
        ImapOptions {
            poll: Duration::from_secs(60),
            idle: Duration::from_secs(25 * 60),
            accept_invalid_certs: false,
            batch: 50,
            timeout: Duration::from_secs(60),
        }
    }
}

/// Why a pass over the mailbox stopped.
#[derive(Debug, thiserror::Error)]
pub enum ImapError {
    #[error("connecting to {0}: {1}")]
    Connect(String, std::io::Error),
    #[error("TLS with {0}: {1}")]
    Tls(String, String),
    #[error("IMAP: {0}")]
    Protocol(#[from] async_imap::error::Error),
    #[error("no answer within {1:?} while {0}")]
    Timeout(&'static str, Duration),
    #[error("the mailbox's IMAP settings are incomplete: {0}")]
    Config(&'static str),
    #[error(transparent)]
    Engine(#[from] engine::EngineError),
}

fn tls_config(accept_invalid: bool) -> Result<Arc<tokio_rustls::rustls::ClientConfig>, String> {
    use tokio_rustls::rustls;
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let builder = rustls::ClientConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .map_err(|e| e.to_string())?;
    let config = if accept_invalid {
        builder
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(AnyCert(provider)))
            .with_no_client_auth()
    } else {
        let roots = rustls::RootCertStore {
            roots: webpki_roots::TLS_SERVER_ROOTS.to_vec(),
        };
        builder.with_root_certificates(roots).with_no_client_auth()
    };
    Ok(Arc::new(config))
}

/// Accepts any certificate: only for private servers with self-signed ones, and
/// only when the operator turned `mail.accept_invalid_certs` on.
#[derive(Debug)]
struct AnyCert(Arc<tokio_rustls::rustls::crypto::CryptoProvider>);

impl tokio_rustls::rustls::client::danger::ServerCertVerifier for AnyCert {
    fn verify_server_cert(
        &self,
        _: &tokio_rustls::rustls::pki_types::CertificateDer<'_>,
        _: &[tokio_rustls::rustls::pki_types::CertificateDer<'_>],
        _: &tokio_rustls::rustls::pki_types::ServerName<'_>,
        _: &[u8],
        _: tokio_rustls::rustls::pki_types::UnixTime,
    ) -> Result<tokio_rustls::rustls::client::danger::ServerCertVerified, tokio_rustls::rustls::Error>
    {
        Ok(tokio_rustls::rustls::client::danger::ServerCertVerified::assertion())
    }
    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &tokio_rustls::rustls::pki_types::CertificateDer<'_>,
        dss: &tokio_rustls::rustls::DigitallySignedStruct,
    ) -> Result<
        tokio_rustls::rustls::client::danger::HandshakeSignatureValid,
        tokio_rustls::rustls::Error,
    > {
        tokio_rustls::rustls::crypto::verify_tls12_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }
    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &tokio_rustls::rustls::pki_types::CertificateDer<'_>,
        dss: &tokio_rustls::rustls::DigitallySignedStruct,
    ) -> Result<
        tokio_rustls::rustls::client::danger::HandshakeSignatureValid,
        tokio_rustls::rustls::Error,
    > {
        tokio_rustls::rustls::crypto::verify_tls13_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }
    fn supported_verify_schemes(&self) -> Vec<tokio_rustls::rustls::SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}

/// `fut` within `limit`, else a timeout naming `step`.
async fn within<T>(
    limit: Duration,
    step: &'static str,
    fut: impl Future<Output = Result<T, ImapError>>,
) -> Result<T, ImapError> {
    tokio::time::timeout(limit, fut)
        .await
        .map_err(|_| ImapError::Timeout(step, limit))?
}

async fn tls_wrap(
    tcp: TcpStream,
    host: &str,
    accept_invalid: bool,
    limit: Duration,
) -> Result<Box<dyn Io>, ImapError> {
    let name = tokio_rustls::rustls::pki_types::ServerName::try_from(host.to_owned())
        .map_err(|e| ImapError::Tls(host.into(), e.to_string()))?;
    let config = tls_config(accept_invalid).map_err(|e| ImapError::Tls(host.into(), e))?;
    let s = tokio::time::timeout(
        limit,
        tokio_rustls::TlsConnector::from(config).connect(name, tcp),
    )
    .await
    .map_err(|_| ImapError::Timeout("negotiating TLS", limit))?
    .map_err(|e| ImapError::Tls(host.into(), e.to_string()))?;
    Ok(Box::new(s))
}

/// Connects, secures and logs in.
pub async fn connect(mb: &MailboxConfig, opts: &ImapOptions) -> Result<Session, ImapError> {
    let i = &mb.inbound;
    let host = i.host.clone().ok_or(ImapError::Config("host"))?;
    let tls = i.tls.unwrap_or(Tls::Implicit);
    let port = i.port.unwrap_or(match tls {
        Tls::Implicit => 993,
        _ => 143,
    });
    let user = i.username.clone().ok_or(ImapError::Config("username"))?;
    let pass = mb
        .inbound_password
        .clone()
        .ok_or(ImapError::Config("password"))?;
    let addr = format!("{host}:{port}");
    let limit = opts.timeout;
    let tcp = tokio::time::timeout(limit, TcpStream::connect(&addr))
        .await
        .map_err(|_| ImapError::Timeout("connecting", limit))?
        .map_err(|e| ImapError::Connect(addr.clone(), e))?;
    let stream: Box<dyn Io> = match tls {
        Tls::Implicit => tls_wrap(tcp, &host, opts.accept_invalid_certs, limit).await?,
        Tls::None => Box::new(tcp),
        Tls::Starttls => {
            let mut c = async_imap::Client::new(tcp);
            within(limit, "waiting for the greeting", async {
                c.read_response()
                    .await
                    .map_err(|e| ImapError::Connect(addr.clone(), e))
            })
            .await?;
            within(limit, "starting TLS", async {
                Ok(c.run_command_and_check_ok("STARTTLS", None).await?)
            })
            .await?;
            tls_wrap(c.into_inner(), &host, opts.accept_invalid_certs, limit).await?
        }
    };
    let mut client = async_imap::Client::new(stream);
    if tls != Tls::Starttls {
        within(limit, "waiting for the greeting", async {
            client
                .read_response()
                .await
                .map_err(|e| ImapError::Connect(addr.clone(), e))
        })
        .await?;
    }
    within(limit, "logging in", async {
        client
            .login(user, pass.expose())
            .await
            .map_err(|(e, _)| ImapError::Protocol(e))
    })
    .await
}

/// Where the poller stands: UIDVALIDITY and the last UID committed.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Position {
    pub uid_validity: u32,
    pub last_uid: u32,
}

impl Position {
    pub fn from_json(v: &serde_json::Value) -> Position {
        let n = |k: &str| v.get(k).and_then(|x| x.as_u64()).unwrap_or(0) as u32;
        Position {
            uid_validity: n("uid_validity"),
            last_uid: n("last_uid"),
        }
    }
}

/// One pass: ingests every message above the saved position. Returns how many
/// were new (not duplicates).
pub async fn sync_once(
    engine: &Engine,
    mb: &MailboxConfig,
    session: &mut Session,
    opts: &ImapOptions,
    stop: &watch::Receiver<bool>,
) -> Result<usize, ImapError> {
    let folder = mb.inbound.folder.clone().unwrap_or_else(|| "INBOX".into());
    let limit = opts.timeout;
    let selected = within(limit, "selecting the folder", async {
        Ok(session.select(&folder).await?)
    })
    .await?;
    let state = engine
        .mailbox_config(mb.workspace_id, mb.id)
        .await?
        .imap_state;
    let mut pos = Position::from_json(&state);
    let validity = selected.uid_validity.unwrap_or(0);
    if validity != pos.uid_validity {
        // A new UIDVALIDITY renumbers the folder: read it from the start; the
        // Message-ID record keeps anything seen before from repeating.
        pos = Position {
            uid_validity: validity,
            last_uid: 0,
        };
    }
    let found = within(limit, "searching", async {
        Ok(session
            .uid_search(format!("UID {}:*", pos.last_uid.saturating_add(1)))
            .await?)
    })
    .await?;
    let mut uids: Vec<u32> = found.into_iter().filter(|u| *u > pos.last_uid).collect();
    uids.sort_unstable();
    let mut new = 0;
    for chunk in uids.chunks(opts.batch.max(1)) {
        let set = chunk
            .iter()
            .map(u32::to_string)
            .collect::<Vec<_>>()
            .join(",");
        let fetched: Vec<(u32, bytes::Bytes)> = within(limit * 5, "fetching messages", async {
            let stream = session.uid_fetch(&set, "(UID BODY.PEEK[])").await?;
            let all: Vec<_> = stream.try_collect().await?;
            Ok(all
                .iter()
                .filter_map(|f| Some((f.uid?, bytes::Bytes::copy_from_slice(f.body()?))))
                .collect())
        })
        .await?;
        let mut by_uid = fetched;
        by_uid.sort_by_key(|(u, _)| *u);
        for (uid, raw) in by_uid {
            if *stop.borrow() {
                return Ok(new);
            }
            match ingest_raw(engine, mb, raw, Default::default()).await {
                Ok(r) => {
                    let outcome = if r.duplicate { "duplicate" } else { "stored" };
                    metrics::counter!("otklik_imap_messages_total", "outcome" => outcome)
                        .increment(1);
                    if !r.duplicate {
                        new += 1;
                    }
                }
                Err(e) if e.is_permanent() => {
                    metrics::counter!("otklik_imap_messages_total", "outcome" => "skipped")
                        .increment(1);
                    // Unreadable or over the limits: leave it in the folder, unflagged,
                    // for a person to look at, and go on with the rest.
                    tracing::warn!(mailbox = %mb.id, uid, error = %e, "IMAP message skipped");
                }
                Err(e) => return Err(e.into_imap()),
            }
            // Only now, after the commit, does the server learn it was taken.
            within(limit, "flagging a message", async {
                let flagged: Vec<_> = session
                    .uid_store(uid.to_string(), "+FLAGS.SILENT (\\Seen)")
                    .await?
                    .try_collect()
                    .await?;
                drop(flagged);
                Ok(())
            })
            .await?;
            pos.last_uid = pos.last_uid.max(uid);
            engine
                .save_imap_state(
                    mb.workspace_id,
                    mb.id,
                    json!({"uid_validity": pos.uid_validity, "last_uid": pos.last_uid}),
                )
                .await?;
        }
    }
    if pos.uid_validity != Position::from_json(&state).uid_validity {
        engine
            .save_imap_state(
                mb.workspace_id,
                mb.id,
                json!({"uid_validity": pos.uid_validity, "last_uid": pos.last_uid}),
            )
            .await?;
    }
    Ok(new)
}

trait IntoImap {
    fn into_imap(self) -> ImapError;
}

impl IntoImap for super::inbound::IngestError {
    fn into_imap(self) -> ImapError {
        match self {
            super::inbound::IngestError::Engine(e) => ImapError::Engine(e),
            other => ImapError::Engine(engine::EngineError::Internal(other.to_string())),
        }
    }
}

/// Waits for new mail: IDLE when offered, else the poll interval. Returns the
/// session, or `None` when shutting down.
async fn wait(
    mut session: Session,
    opts: &ImapOptions,
    shutdown: &mut watch::Receiver<bool>,
) -> Result<Option<Session>, ImapError> {
    let caps = within(opts.timeout, "asking for capabilities", async {
        Ok(session.capabilities().await?)
    })
    .await?;
    if !caps.has_str("IDLE") {
        tokio::select! {
            _ = tokio::time::sleep(opts.poll) => return Ok(Some(session)),
            _ = shutdown.changed() => return Ok(None),
        }
    }
    let mut idle = session.idle();
    within(opts.timeout, "starting IDLE", async {
        Ok(idle.init().await?)
    })
    .await?;
    let stop = {
        let (fut, stop) = idle.wait_with_timeout(opts.idle);
        tokio::select! {
            r = fut => { r?; None }
            _ = shutdown.changed() => Some(stop),
        }
    };
    drop(stop);
    let session = within(opts.timeout, "ending IDLE", async {
        Ok(idle.done().await?)
    })
    .await?;
    Ok((!*shutdown.borrow()).then_some(session))
}

/// Serves one mailbox until shutdown: sync, wait, repeat; reconnects with
/// backoff after errors.
pub async fn run(
    engine: Engine,
    mb: MailboxConfig,
    opts: ImapOptions,
    mut shutdown: watch::Receiver<bool>,
) {
    let mut backoff = Duration::from_secs(2);
    while !*shutdown.borrow() {
        let r: Result<(), ImapError> = async {
            let mut stop = shutdown.clone();
            let mut session = tokio::select! {
                s = connect(&mb, &opts) => s?,
                _ = stop.changed() => return Ok(()),
            };
            backoff = Duration::from_secs(2);
            loop {
                let n = sync_once(&engine, &mb, &mut session, &opts, &shutdown).await?;
                if n > 0 {
                    tracing::info!(mailbox = %mb.address, new = n, "IMAP messages ingested");
                }
                if let Err(e) = engine.report_connection(mb.workspace_id, mb.id, Ok(())).await {
                    tracing::warn!(mailbox = %mb.address, error = %e, "recording the IMAP state failed");
                }
                match wait(session, &opts, &mut shutdown).await? {
                    Some(s) => session = s,
                    None => return Ok(()),
                }
            }
        }
        .await;
        if let Err(e) = r {
            metrics::counter!("otklik_imap_connection_errors_total").increment(1);
            tracing::warn!(mailbox = %mb.address, error = %e, retry_in = ?backoff, "IMAP connection failed");
            // Admins see it on the mailbox, not only in the server log.
            let _ = engine
                .report_connection(mb.workspace_id, mb.id, Err(e.to_string()))
                .await;
            tokio::select! {
                _ = tokio::time::sleep(backoff) => {}
                _ = shutdown.changed() => return,
            }
            backoff = (backoff * 2).min(Duration::from_secs(300));
        }
    }
}

/// Keeps one poller per active IMAP mailbox, picking up mailboxes added, changed
/// or removed while the server runs.
pub async fn supervise(engine: Engine, opts: ImapOptions, mut shutdown: watch::Receiver<bool>) {
    let mut running: Vec<(
        MailboxConfig,
        watch::Sender<bool>,
        tokio::task::JoinHandle<()>,
    )> = Vec::new();
    // Mailbox changes on this node take effect at once; other nodes' within 15 s.
    let mut events = engine.subscribe();
    loop {
        match engine.active_mailboxes().await {
            Ok(all) => {
                let wanted: Vec<MailboxConfig> = all
                    .into_iter()
                    .filter(|m| m.inbound.kind == engine::email::mailbox::InboundKind::Imap)
                    .collect();
                // Stop pollers whose mailbox went away or changed.
                let mut keep = Vec::new();
                for (cfg, stop, handle) in running.drain(..) {
                    let same = wanted.iter().any(|w| same_settings(w, &cfg));
                    if same {
                        keep.push((cfg, stop, handle));
                    } else {
                        // Never wait here for a poller stuck on a silent host.
                        tokio::spawn(stop_poller(stop, handle));
                    }
                }
                running = keep;
                for w in wanted {
                    if !running.iter().any(|(c, _, _)| c.id == w.id) {
                        let (tx, rx) = watch::channel(false);
                        let h = tokio::spawn(run(engine.clone(), w.clone(), opts.clone(), rx));
                        running.push((w, tx, h));
                    }
                }
            }
            Err(e) => tracing::warn!(error = %e, "listing mailboxes for IMAP failed"),
        }
        let rescan = tokio::time::sleep(Duration::from_secs(15));
        tokio::pin!(rescan);
        loop {
            tokio::select! {
                _ = &mut rescan => break,
                e = events.recv() => match e {
                    Ok(e) if matches!(
                        e.data,
                        EventData::MailboxCreated { .. } | EventData::MailboxUpdated { .. }
                    ) => break,
                    Ok(_) => {}
                    Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => break,
                    Err(tokio::sync::broadcast::error::RecvError::Closed) => {
                        let _ = shutdown.changed().await;
                        break;
                    }
                },
                _ = shutdown.changed() => break,
            }
        }
        if *shutdown.borrow() {
            break;
        }
    }
    let stopping: Vec<_> = running
        .into_iter()
        .map(|(_, stop, handle)| stop_poller(stop, handle))
        .collect();
    futures::future::join_all(stopping).await;
}

/// How long a poller gets to finish the message in hand before it is dropped
/// (ingest commits atomically; an unflagged message is fetched again and
/// recognised as a duplicate).
const STOP_GRACE: Duration = Duration::from_secs(3);

async fn stop_poller(stop: watch::Sender<bool>, handle: tokio::task::JoinHandle<()>) {
    let _ = stop.send(true);
    let abort = handle.abort_handle();
    if tokio::time::timeout(STOP_GRACE, handle).await.is_err() {
        tracing::warn!("an IMAP poller did not stop in time; dropped");
        abort.abort();
    }
}

fn same_settings(a: &MailboxConfig, b: &MailboxConfig) -> bool {
    a.id == b.id
        && a.inbound == b.inbound
        && a.inbound_password == b.inbound_password
        && a.address == b.address
}

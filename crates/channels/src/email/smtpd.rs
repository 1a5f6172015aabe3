//! The built-in SMTP receiver, for MX or relay setups: recipients map to
//! mailboxes, messages have a size limit, and `250` is answered only after the
//! message is committed (a failure answers `451`, so the sending MTA retries).
//!
//! It speaks plain SMTP (RFC 5321) with PIPELINING, SIZE and 8BITMIME, and no
//! AUTH: it receives mail for its own addresses only and relays nothing.
//! Request parsing is smtp-proto's.

use futures::future::BoxFuture;
use smtp_proto::request::receiver::{DataReceiver, RequestReceiver};
use smtp_proto::{Error as ProtoError, Request};
use std::sync::Arc;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{Semaphore, watch};

/// The sender and recipients given in the SMTP envelope.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Envelope {
    pub from: String,
    pub rcpts: Vec<String>,
}

/// A refusal, sent back as an SMTP reply.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Reject {
    /// 5xx when permanent, 4xx (try later) otherwise.
    pub permanent: bool,
    pub reason: String,
}

/// Decides on recipients and takes delivered messages.
pub trait SmtpHandler: Send + Sync + 'static {
    /// Whether mail for `rcpt` is accepted here.
    fn accept_rcpt<'a>(&'a self, rcpt: &'a str) -> BoxFuture<'a, Result<(), Reject>>;
    /// Stores one message; `Ok` only once it is durable.
    fn deliver<'a>(&'a self, env: &'a Envelope, data: Vec<u8>)
    -> BoxFuture<'a, Result<(), Reject>>;
}

/// Receiver limits.
#[derive(Clone, Debug)]
pub struct SmtpConfig {
    /// The name in the greeting.
    pub hostname: String,
    pub max_message_bytes: usize,
    pub max_recipients: usize,
    pub max_connections: usize,
    /// How long a client may stay silent.
    pub idle_timeout: Duration,
}

impl Default for SmtpConfig {
    fn default() -> Self {
        SmtpConfig {
            hostname: "otklik".into(),
            max_message_bytes: 40 * 1024 * 1024,
            max_recipients: 100,
            max_connections: 200,
            idle_timeout: Duration::from_secs(300),
        }
    }
}

/// Accepts connections until `shutdown` turns true; sessions in progress finish
/// their current command.
pub async fn serve(
    listener: TcpListener,
    cfg: SmtpConfig,
    handler: Arc<dyn SmtpHandler>,
    mut shutdown: watch::Receiver<bool>,
) {
    let slots = Arc::new(Semaphore::new(cfg.max_connections));
    let cfg = Arc::new(cfg);
    loop {
        let accepted = tokio::select! {
            a = listener.accept() => a,
            _ = shutdown.changed() => return,
        };
        let (stream, peer) = match accepted {
            Ok(x) => x,
            Err(e) => {
                tracing::warn!(error = %e, "SMTP accept failed");
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            }
        };
        let Ok(permit) = slots.clone().try_acquire_owned() else {
            let mut s = stream;
            let _ = s
                .write_all(b"421 4.3.2 Too many connections, try again later\r\n")
                .await;
            continue;
        };
        let (cfg, handler, shutdown) = (cfg.clone(), handler.clone(), shutdown.clone());
        tokio::spawn(async move {
            if let Err(e) = session(stream, &cfg, handler.as_ref(), shutdown).await {
                tracing::debug!(%peer, error = %e, "SMTP session ended with an error");
            }
            drop(permit);
        });
    }
}

struct Conn {
    stream: TcpStream,
    buf: Vec<u8>,
    pos: usize,
}

impl Conn {
    async fn reply(&mut self, text: &str) -> std::io::Result<()> {
        self.stream.write_all(text.as_bytes()).await
    }

    /// Reads more bytes; `false` at end of stream.
    async fn fill(&mut self, idle: Duration) -> std::io::Result<bool> {
        if self.pos > 0 {
            self.buf.drain(..self.pos);
            self.pos = 0;
        }
        let mut chunk = [0u8; 16 * 1024];
        let n = tokio::time::timeout(idle, self.stream.read(&mut chunk))
            .await
            .map_err(|_| std::io::Error::new(std::io::ErrorKind::TimedOut, "idle timeout"))??;
        self.buf.extend_from_slice(&chunk[..n]);
        Ok(n > 0)
    }
}

fn clean_address(a: &str) -> String {
    a.trim().trim_matches(['<', '>']).to_lowercase()
}

async fn session(
    stream: TcpStream,
    cfg: &SmtpConfig,
    handler: &dyn SmtpHandler,
    shutdown: watch::Receiver<bool>,
) -> std::io::Result<()> {
    let mut c = Conn {
        stream,
        buf: Vec::new(),
        pos: 0,
    };
    c.reply(&format!("220 {} ESMTP ready\r\n", cfg.hostname))
        .await?;
    let mut receiver = RequestReceiver::default();
    let mut env: Option<Envelope> = None;
    let mut greeted = false;
    loop {
        if *shutdown.borrow() {
            c.reply("421 4.3.2 Shutting down\r\n").await?;
            return Ok(());
        }
        // Parse as many commands as the buffer holds (PIPELINING).
        let parsed = {
            let mut it = c.buf[c.pos..].iter();
            let before = it.len();
            let r = receiver.ingest(&mut it).map(|req| match req {
                Request::Ehlo { host } => Request::Ehlo {
                    host: host.into_owned(),
                },
                Request::Helo { host } => Request::Helo {
                    host: host.into_owned(),
                },
                Request::Lhlo { host } => Request::Lhlo {
                    host: host.into_owned(),
                },
                Request::Mail { from } => Request::Mail {
                    from: from.into_owned(),
                },
                Request::Rcpt { to } => Request::Rcpt {
                    to: to.into_owned(),
                },
                Request::Data => Request::Data,
                Request::Rset => Request::Rset,
                Request::Quit => Request::Quit,
                Request::Noop { .. } => Request::Noop {
                    value: String::new(),
                },
                Request::StartTls => Request::StartTls,
                Request::Bdat {
                    chunk_size,
                    is_last,
                } => Request::Bdat {
                    chunk_size,
                    is_last,
                },
                other => Request::Help {
                    value: other.name().to_owned(),
                },
            });
            let consumed = before - it.len();
            c.pos += consumed;
            r
        };
        let req = match parsed {
            Ok(r) => r,
            Err(ProtoError::NeedsMoreData { .. }) => {
                if !c.fill(cfg.idle_timeout).await? {
                    return Ok(());
                }
                continue;
            }
            Err(ProtoError::ResponseTooLong) => {
                c.reply("500 5.5.2 Line too long\r\n").await?;
                continue;
            }
            Err(ProtoError::UnknownCommand) => {
                c.reply("500 5.5.1 Unknown command\r\n").await?;
                continue;
            }
            Err(ProtoError::InvalidSenderAddress) => {
                c.reply("501 5.1.7 Bad sender address\r\n").await?;
                continue;
            }
            Err(ProtoError::InvalidRecipientAddress) => {
                c.reply("501 5.1.3 Bad recipient address\r\n").await?;
                continue;
            }
            Err(_) => {
                c.reply("501 5.5.4 Syntax error\r\n").await?;
                continue;
            }
        };
        match req {
            Request::Ehlo { host: _ } | Request::Lhlo { host: _ } => {
                greeted = true;
                env = None;
                c.reply(&format!(
                    "250-{}\r\n250-PIPELINING\r\n250-SIZE {}\r\n250-8BITMIME\r\n250 ENHANCEDSTATUSCODES\r\n",
                    cfg.hostname, cfg.max_message_bytes
                ))
                .await?;
            }
            Request::Helo { host: _ } => {
                greeted = true;
                env = None;
                c.reply(&format!("250 {}\r\n", cfg.hostname)).await?;
            }
            Request::Mail { from } => {
                if !greeted {
                    c.reply("503 5.5.1 Say EHLO first\r\n").await?;
                } else if env.is_some() {
                    c.reply("503 5.5.1 Sender already given\r\n").await?;
                } else if from.size > cfg.max_message_bytes {
                    c.reply("552 5.3.4 Message too big\r\n").await?;
                } else {
                    env = Some(Envelope {
                        from: clean_address(&from.address),
                        rcpts: Vec::new(),
                    });
                    c.reply("250 2.1.0 OK\r\n").await?;
                }
            }
            Request::Rcpt { to } => {
                let Some(e) = env.as_mut() else {
                    c.reply("503 5.5.1 Need MAIL first\r\n").await?;
                    continue;
                };
                if e.rcpts.len() >= cfg.max_recipients {
                    c.reply("452 4.5.3 Too many recipients\r\n").await?;
                    continue;
                }
                let rcpt = clean_address(&to.address);
                match handler.accept_rcpt(&rcpt).await {
                    Ok(()) => {
                        if !e.rcpts.contains(&rcpt) {
                            e.rcpts.push(rcpt);
                        }
                        c.reply("250 2.1.5 OK\r\n").await?;
                    }
                    Err(r) if r.permanent => {
                        c.reply(&format!("550 5.1.1 {}\r\n", one_line(&r.reason)))
                            .await?
                    }
                    Err(r) => {
                        c.reply(&format!("451 4.3.0 {}\r\n", one_line(&r.reason)))
                            .await?
                    }
                }
            }
            Request::Data => {
                let Some(e) = env.take().filter(|e| !e.rcpts.is_empty()) else {
                    c.reply("503 5.5.1 Need RCPT first\r\n").await?;
                    continue;
                };
                c.reply("354 End data with <CR><LF>.<CR><LF>\r\n").await?;
                let mut data = Vec::new();
                let mut dr = DataReceiver::new();
                let mut too_big = false;
                loop {
                    let done = {
                        let mut it = c.buf[c.pos..].iter();
                        let before = it.len();
                        let mut sink = Vec::new();
                        let done = dr.ingest(&mut it, if too_big { &mut sink } else { &mut data });
                        c.pos += before - it.len();
                        done
                    };
                    if data.len() > cfg.max_message_bytes {
                        too_big = true;
                        data = Vec::new();
                    }
                    if done {
                        break;
                    }
                    if !c.fill(cfg.idle_timeout).await? {
                        return Ok(());
                    }
                }
                if too_big {
                    c.reply("552 5.3.4 Message too big\r\n").await?;
                    continue;
                }
                match handler.deliver(&e, data).await {
                    Ok(()) => c.reply("250 2.0.0 OK: queued\r\n").await?,
                    Err(r) if r.permanent => {
                        c.reply(&format!("554 5.6.0 {}\r\n", one_line(&r.reason)))
                            .await?
                    }
                    Err(r) => {
                        c.reply(&format!("451 4.3.0 {}\r\n", one_line(&r.reason)))
                            .await?
                    }
                }
            }
            Request::Bdat { .. } => c.reply("502 5.5.1 BDAT is not supported\r\n").await?,
            Request::StartTls => {
                c.reply("502 5.5.1 STARTTLS is not offered here\r\n")
                    .await?
            }
            Request::Rset => {
                env = None;
                c.reply("250 2.0.0 OK\r\n").await?;
            }
            Request::Noop { .. } => c.reply("250 2.0.0 OK\r\n").await?,
            Request::Quit => {
                c.reply("221 2.0.0 Bye\r\n").await?;
                return Ok(());
            }
            _ => c.reply("502 5.5.1 Command not implemented\r\n").await?,
        }
    }
}

fn one_line(s: &str) -> String {
    s.chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .take(400)
        .collect()
}

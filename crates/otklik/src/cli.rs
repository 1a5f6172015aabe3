//! The command line.

use crate::app::{Application, SettableClock, open_engine, shutdown_signal};
use crate::config::{Config, ENV_VARS};
use anyhow::{Context, anyhow};
use clap::{Args, Parser, Subcommand};
use domain::user::Role;
use std::io::Write;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

#[derive(Parser, Debug)]
#[command(
    name = "otklik",
    version,
    about = "Omnichannel customer support: one inbox for email, chat, messengers and phone."
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

/// Where the data lives; shared by every command that opens the database.
#[derive(Args, Debug, Clone)]
pub struct DbArgs {
    /// TOML configuration file [env: OTKLIK_CONFIG]
    #[arg(long, global = true)]
    pub config: Option<PathBuf>,
    /// Directory of the embedded database and attachments (default ./otklik-data) [env: OTKLIK_DATA_DIR]
    #[arg(long, global = true)]
    pub data_dir: Option<PathBuf>,
    /// PostgreSQL URL; when unset, the embedded SQLite database is used [env: DATABASE_URL]
    #[arg(long, global = true)]
    pub database_url: Option<String>,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Run the server (HTTP API and background jobs).
    #[command(after_help = env_help())]
    Serve {
        /// Address to listen on (default 127.0.0.1:8080) [env: OTKLIK_LISTEN]
        #[arg(long)]
        listen: Option<SocketAddr>,
        /// Create the `demo` workspace with sample data when it does not exist.
        #[arg(long)]
        demo: bool,
        #[command(flatten)]
        db: DbArgs,
    },
    /// Apply database migrations and exit.
    Migrate {
        #[command(flatten)]
        db: DbArgs,
    },
    /// The event-log consumers: position, lag, events handled and last error.
    Consumers {
        #[command(flatten)]
        db: DbArgs,
    },
    /// Drop the KPI roll-ups and have the running servers derive them again from
    /// the event log (after changing a workspace's time zone, or SLA policies
    /// that should apply to the past). Reports read low until they catch up;
    /// `otklik consumers` shows the `kpis` lag.
    RebuildReports {
        #[command(flatten)]
        db: DbArgs,
    },
    /// Rebuild this node's search index from the event log (with the server of
    /// this data directory stopped).
    Reindex {
        #[command(flatten)]
        db: DbArgs,
    },
    /// Manage workspaces.
    Workspace {
        #[command(subcommand)]
        command: WorkspaceCommand,
    },
    /// Manage users.
    User {
        #[command(subcommand)]
        command: UserCommand,
    },
    /// Manage API tokens.
    Token {
        #[command(subcommand)]
        command: TokenCommand,
    },
    /// Email: feed raw messages to a mailbox (an MTA pipe transport).
    Mail {
        #[command(subcommand)]
        command: MailCommand,
    },
    /// Import data from files.
    Import {
        #[command(subcommand)]
        command: ImportCommand,
    },
    /// Measure throughput and latency.
    Bench {
        #[command(subcommand)]
        command: BenchCommand,
    },
}

#[derive(Subcommand, Debug)]
pub enum WorkspaceCommand {
    /// Create a workspace and its owner.
    Create {
        /// Short name: a-z, 0-9 and -.
        name: String,
        #[arg(long)]
        owner: String,
        #[arg(long)]
        password: String,
        /// Without the defaults (teams L1–L3 with escalation, SLA policies
        /// for chats and email).
        #[arg(long)]
        bare: bool,
        #[command(flatten)]
        db: DbArgs,
    },
}

#[derive(Subcommand, Debug)]
pub enum UserCommand {
    /// Add a user to a workspace.
    Add {
        #[arg(long)]
        workspace: String,
        #[arg(long)]
        email: String,
        /// owner, admin, supervisor, agent or light_agent
        #[arg(long, default_value = "agent")]
        role: String,
        #[arg(long)]
        name: Option<String>,
        #[arg(long)]
        password: Option<String>,
        #[command(flatten)]
        db: DbArgs,
    },
}

#[derive(Subcommand, Debug)]
pub enum TokenCommand {
    /// Create an API token for a user; prints only the token.
    Create {
        #[arg(long)]
        workspace: String,
        #[arg(long)]
        user: String,
        #[arg(long, default_value = "cli")]
        name: String,
        #[command(flatten)]
        db: DbArgs,
    },
}

#[derive(Subcommand, Debug)]
pub enum MailCommand {
    /// Ingest one raw message from standard input (or every message of an mbox
    /// file with --mbox). Exit status for MTA pipe transports: 0 stored, 65 not an
    /// email (bounce it), 75 temporary failure (retry later).
    Ingest {
        #[arg(long)]
        workspace: String,
        /// The mailbox's id.
        #[arg(long)]
        mailbox: String,
        /// Read an mbox file instead of one message from standard input.
        #[arg(long)]
        mbox: Option<PathBuf>,
        #[command(flatten)]
        db: DbArgs,
    },
}

#[derive(Subcommand, Debug)]
pub enum ImportCommand {
    /// Orders from a store's CSV export (one row per line item; columns by
    /// header: external_id, number, email, phone, name, status, currency,
    /// total, placed_at, sku, item_name, quantity, price, carrier,
    /// tracking_number, tracking_url, shipment_status). Importing again
    /// updates what changed.
    Orders {
        file: PathBuf,
        #[arg(long)]
        workspace: String,
        #[command(flatten)]
        db: DbArgs,
    },
}

/// A failure with a specific exit status (sysexits.h codes for mail transports).
#[derive(Debug)]
pub struct Exit {
    pub code: u8,
    pub message: String,
}

impl std::fmt::Display for Exit {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for Exit {}

/// sysexits.h: the input data was incorrect.
pub const EX_DATAERR: u8 = 65;
/// sysexits.h: a temporary failure; the sender should retry.
pub const EX_TEMPFAIL: u8 = 75;

#[derive(Subcommand, Debug)]
pub enum BenchCommand {
    /// The customer journey at scale: customers' touchpoints pushed through
    /// the API (rate), the journey map (p50/p99) and a tracked link's
    /// redirect (p50/p99).
    Journey {
        #[arg(long, default_value_t = 100_000)]
        customers: usize,
        #[arg(long, default_value_t = 5_000_000)]
        touchpoints: usize,
        #[arg(long, default_value_t = 50)]
        requests: usize,
        /// Benchmark PostgreSQL: a fresh database is created through this URL and dropped after.
        #[arg(long)]
        database_url: Option<String>,
    },
    /// KPI roll-ups at scale: a year of synthetic history (tickets and about ten
    /// events each) folded by the `kpis` consumer, then a month's report
    /// grouped by team, channel, day and ungrouped.
    Reports {
        #[arg(long, default_value_t = 1_000_000)]
        tickets: usize,
        #[arg(long, default_value_t = 200)]
        requests: usize,
        /// Benchmark PostgreSQL: a fresh database is created through this URL and dropped after.
        #[arg(long)]
        database_url: Option<String>,
    },
    /// Create tickets through the HTTP API of a fresh server and report throughput and latency.
    Ingest {
        #[arg(long, default_value_t = 10_000)]
        tickets: usize,
        #[arg(long, default_value_t = 32)]
        concurrency: usize,
        /// Benchmark PostgreSQL: a fresh database is created through this URL and dropped after.
        #[arg(long)]
        database_url: Option<String>,
    },
    /// Server time of the agent workspace's pages: the inbox over many open tickets
    /// and a ticket with a long thread, on a fresh embedded database.
    Ui {
        #[arg(long, default_value_t = 10_000)]
        tickets: usize,
        #[arg(long, default_value_t = 200)]
        messages: usize,
        /// Requests measured per page (after 20 for warming up).
        #[arg(long, default_value_t = 300)]
        requests: usize,
    },
    /// The decisions made on every event (one routing decision among 200
    /// agents), a burst of tickets routed to 200 agents (none above capacity,
    /// none given twice) and the lateness of SLA timers on many open tickets.
    Rules {
        /// Tickets in the routing burst (0 skips it).
        #[arg(long, default_value_t = 10_000)]
        tickets: usize,
        /// Open tickets whose SLA timers fall (0 skips it).
        #[arg(long, default_value_t = 100_000)]
        timers: usize,
        /// Run on PostgreSQL: a fresh database is created through this URL and dropped after.
        #[arg(long)]
        database_url: Option<String>,
    },
    /// Floods a fresh server process with expensive requests (logins, large
    /// emails, deeply nested HTML) and reports how each was answered, /healthz
    /// latency meanwhile and peak memory.
    Burst {
        #[arg(long, default_value_t = 500)]
        logins: usize,
        #[arg(long, default_value_t = 20)]
        big_emails: usize,
        #[arg(long, default_value_t = 20)]
        html_emails: usize,
    },
    /// Thousands of chat visitors with their own websockets writing every few
    /// seconds while an agent answers each message: reply round trip, messages/s
    /// and server memory. With --database-url, two server processes on PostgreSQL.
    Chat {
        #[arg(long, default_value_t = 5_000)]
        visitors: usize,
        /// Seconds measured (after a 3 s warm-up).
        #[arg(long, default_value_t = 30)]
        secs: u64,
        /// Seconds between one visitor's messages.
        #[arg(long, default_value_t = 5)]
        interval: u64,
        /// Two nodes on PostgreSQL: a fresh database is created through this URL and dropped after.
        #[arg(long)]
        database_url: Option<String>,
    },
    /// Telegram updates into one server's webhook at a fixed rate (some
    /// redelivered, some with photos) from a stand-in Bot API: the rate taken,
    /// the answer's median and p99, and a count that none was lost or doubled.
    Telegram {
        /// Updates per second asked.
        #[arg(long, default_value_t = 1_000)]
        rate: usize,
        #[arg(long, default_value_t = 20)]
        secs: u64,
        /// Different customers writing.
        #[arg(long, default_value_t = 2_000)]
        chats: usize,
    },
    /// Order upserts through the API at a fixed rate into a fresh server, with
    /// customer pages opened alongside; checks none is lost or doubled.
    Orders {
        /// Pushes per second asked.
        #[arg(long, default_value_t = 2_000)]
        rate: usize,
        #[arg(long, default_value_t = 15)]
        secs: u64,
        /// Different customers ordering.
        #[arg(long, default_value_t = 2_000)]
        customers: usize,
    },
    /// The answer bot's and triage's classifier on public datasets (CLINC150,
    /// BANKING77, Bitext, TrueVoice, Wisesight): accuracy, out-of-scope recall,
    /// the hand-off signal, prediction time and memory.
    Assist {
        /// The folder holding clinc150/, banking77/, … (default: ../shared/datasets).
        #[arg(long)]
        datasets: Option<PathBuf>,
        /// Also measure with an OpenAI-compatible embeddings endpoint (its
        /// base URL, e.g. http://127.0.0.1:8000/v1): words and embeddings in
        /// one model.
        #[arg(long)]
        embeddings: Option<String>,
        /// The model the endpoint is asked for.
        #[arg(long, default_value = "multilingual-e5-small")]
        embeddings_model: String,
        /// A file that keeps the embeddings between runs: read first, and
        /// written back with what the endpoint added (the texts are the
        /// datasets', the model's name is checked).
        #[arg(long)]
        embeddings_cache: Option<PathBuf>,
    },
    /// Search quality (recall@1/@3 and MRR per language on the demo knowledge base's
    /// query collection and on XQuAD) and speed (knowledge base and ticket search).
    Search {
        /// Directory holding xquad.{en,ru,th}.json (default: ../shared/datasets/xquad_en_ru_th).
        #[arg(long)]
        xquad: Option<PathBuf>,
        /// Articles in the speed test's knowledge base (0 skips it).
        #[arg(long, default_value_t = 10_000)]
        articles: usize,
        /// Messages in the speed test's tickets, ten per ticket (0 skips it).
        #[arg(long, default_value_t = 1_000_000)]
        messages: usize,
        /// List the queries whose article was not among the first three.
        #[arg(long)]
        verbose: bool,
    },
    /// Ingest a generated spool of varied emails into a fresh embedded database and
    /// report messages/s; verifies that none is lost or doubled.
    Email {
        #[arg(long, default_value_t = 10_000)]
        messages: usize,
        #[arg(long, default_value_t = 32)]
        concurrency: usize,
        /// Keep the spool in this directory (default: a temporary one).
        #[arg(long)]
        spool: Option<PathBuf>,
    },
}

fn env_help() -> String {
    let mut s = String::from(
        "Settings: defaults < configuration file < environment < flags.\n\n  \
         ENVIRONMENT                         FILE KEY                     MEANING [DEFAULT]\n",
    );
    for (env, key, meaning) in ENV_VARS {
        s.push_str(&format!("  {env:<35} {key:<28} {meaning}\n"));
    }
    s
}

fn env(k: &str) -> Option<String> {
    std::env::var(k).ok()
}

fn load(db: &DbArgs) -> anyhow::Result<Config> {
    let file = db
        .config
        .clone()
        .or_else(|| env("OTKLIK_CONFIG").map(PathBuf::from));
    let mut c = Config::load(file.as_deref(), &env)?;
    if let Some(d) = &db.data_dir {
        c.data_dir = d.clone();
    }
    if let Some(u) = &db.database_url {
        c.database_url = Some(u.clone().into());
    }
    c.validate()?;
    Ok(c)
}

fn init_logs(format: &str) {
    let filter = tracing_subscriber::EnvFilter::try_from_env("OTKLIK_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info,sqlx=warn,tower_http=warn"));
    let b = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    let _ = if format == "json" {
        b.json().try_init()
    } else {
        b.try_init()
    };
}

fn engine_err(e: engine::EngineError) -> anyhow::Error {
    match e {
        engine::EngineError::Invalid(errs) => anyhow!(
            "{}",
            errs.iter()
                .map(|(f, m)| format!("{f}: {m}"))
                .collect::<Vec<_>>()
                .join("; ")
        ),
        e => anyhow!("{e}"),
    }
}

pub async fn run(cli: Cli) -> anyhow::Result<()> {
    match cli.command {
        Command::Serve { listen, demo, db } => {
            let mut config = load(&db)?;
            if let Some(l) = listen.or_else(|| env("OTKLIK_LISTEN").and_then(|v| v.parse().ok())) {
                config.listen = l;
            }
            init_logs(&config.log_format);
            serve(config, demo).await
        }
        Command::Import {
            command:
                ImportCommand::Orders {
                    file,
                    workspace,
                    db,
                },
        } => {
            let f = std::fs::File::open(&file)
                .with_context(|| format!("opening {}", file.display()))?;
            let size = f.metadata().map(|m| m.len()).unwrap_or(0);
            let engine = open_engine(&load(&db)?, Arc::new(store::SystemClock)).await?;
            let r = async {
                let p = engine.cli_principal(&workspace).await.map_err(engine_err)?;
                let show = |done: u64, total: u64| {
                    eprint!(
                        "\r{}",
                        progress_bar(
                            "importing",
                            usize::try_from(done).unwrap_or(usize::MAX),
                            i64::try_from(total).unwrap_or(i64::MAX),
                            "bytes"
                        )
                    )
                };
                crate::import::orders(&engine, &p, std::io::BufReader::new(f), size, &show).await
            }
            .await;
            engine.close().await;
            eprintln!();
            let r = r?;
            eprintln!("{}", crate::import::summary(&r));
            if r.failed.is_empty() {
                Ok(())
            } else {
                Err(Exit {
                    code: EX_DATAERR,
                    message: format!("{} order(s) could not be imported", r.failed.len()),
                }
                .into())
            }
        }
        Command::Reindex { db } => {
            let config = load(&db)?;
            let index = crate::app::open_search(&config)?;
            let engine = open_engine(&config, Arc::new(store::SystemClock)).await?;
            let total = engine
                .feed_backlog(engine::model::Cursor::default())
                .await
                .map_err(engine_err)?;
            let started = std::time::Instant::now();
            let r = async {
                index.clear()?;
                let follower = search::Follower::new(engine.clone(), index.clone());
                follower
                    .catch_up(&|done| {
                        eprint!("\r{}", progress_bar("reindexing", done, total, "events"))
                    })
                    .await
            }
            .await;
            engine.close().await;
            let done = r.context("reindexing")?;
            eprintln!();
            println!(
                "indexed {} tickets from {done} events in {:.1} s",
                index.len(),
                started.elapsed().as_secs_f64()
            );
            Ok(())
        }
        Command::RebuildReports { db } => {
            let engine = open_engine(&load(&db)?, Arc::new(store::SystemClock)).await?;
            let r = engine.rebuild_kpis().await.map_err(engine_err);
            engine.close().await;
            r?;
            eprintln!(
                "KPI roll-ups dropped; the `kpis` consumer derives them again from the first event"
            );
            Ok(())
        }
        Command::Consumers { db } => {
            let engine = open_engine(&load(&db)?, Arc::new(store::SystemClock)).await?;
            let r = engine.consumer_status().await.map_err(engine_err);
            engine.close().await;
            let all = r?;
            if all.is_empty() {
                println!("no consumer has run yet (they start with `otklik serve`)");
            }
            println!(
                "{:<16} {:>14} {:>8} {:>10} {:>8}  last error",
                "consumer", "position", "lag", "handled", "failures"
            );
            for c in all {
                println!(
                    "{:<16} {:>14} {:>8} {:>10} {:>8}  {}",
                    c.name,
                    c.position,
                    c.lag,
                    c.handled,
                    c.failures,
                    c.last_error.as_deref().unwrap_or("-")
                );
            }
            Ok(())
        }
        Command::Migrate { db } => {
            let config = load(&db)?;
            let engine = open_engine(&config, Arc::new(store::SystemClock)).await?;
            engine.close().await;
            eprintln!("migrations applied");
            Ok(())
        }
        Command::Workspace {
            command:
                WorkspaceCommand::Create {
                    name,
                    owner,
                    password,
                    bare,
                    db,
                },
        } => {
            let engine = open_engine(&load(&db)?, Arc::new(store::SystemClock)).await?;
            let r = async {
                let (ws, _) = engine
                    .create_workspace(&name, &owner, &password)
                    .await
                    .map_err(engine_err)?;
                if !bare {
                    let p = engine.cli_principal(&ws.name).await.map_err(engine_err)?;
                    engine
                        .apply_defaults(&p)
                        .await
                        .map_err(engine_err)
                        .context("giving the workspace its defaults")?;
                }
                Ok::<_, anyhow::Error>(ws)
            }
            .await;
            engine.close().await;
            let ws = r?;
            eprintln!(
                "created workspace {} with owner {}{}",
                ws.name,
                owner.trim().to_lowercase(),
                if bare {
                    ""
                } else {
                    " (teams L1–L3, SLA policies for chats and email)"
                }
            );
            Ok(())
        }
        Command::User {
            command:
                UserCommand::Add {
                    workspace,
                    email,
                    role,
                    name,
                    password,
                    db,
                },
        } => {
            let role = Role::parse(&role).map_err(|e| {
                anyhow!(
                    "--role: {}",
                    e.to_string().split(": ").last().unwrap_or_default()
                )
            })?;
            let engine = open_engine(&load(&db)?, Arc::new(store::SystemClock)).await?;
            let r = async {
                let p = engine.cli_principal(&workspace).await?;
                engine
                    .add_user(
                        &p,
                        engine::people::NewUser {
                            email,
                            name,
                            role: Some(role),
                            password,
                            ..Default::default()
                        },
                    )
                    .await
            }
            .await
            .map_err(engine_err);
            engine.close().await;
            let u = r?;
            eprintln!("added {} ({}) to {workspace}", u.user.email, u.user.role);
            Ok(())
        }
        Command::Token {
            command:
                TokenCommand::Create {
                    workspace,
                    user,
                    name,
                    db,
                },
        } => {
            let engine = open_engine(&load(&db)?, Arc::new(store::SystemClock)).await?;
            let r = async {
                let p = engine.cli_principal(&workspace).await?;
                let u = engine
                    .user_by_email(p.workspace_id, &user)
                    .await
                    .map_err(|e| match e {
                        engine::EngineError::NotFound => engine::EngineError::invalid(
                            "user",
                            domain::Message::new(domain::Code::NoUserInWorkspace)
                                .with("user", format!("{user:?}"))
                                .with("workspace", &workspace),
                        ),
                        e => e,
                    })?;
                engine.create_token(&p, u.id, &name).await
            }
            .await
            .map_err(engine_err);
            engine.close().await;
            let (_, secret) = r?;
            println!("{secret}");
            Ok(())
        }
        Command::Mail {
            command:
                MailCommand::Ingest {
                    workspace,
                    mailbox,
                    mbox,
                    db,
                },
        } => mail_ingest(&workspace, &mailbox, mbox, &db).await,
        Command::Bench {
            command:
                BenchCommand::Ingest {
                    tickets,
                    concurrency,
                    database_url,
                },
        } => {
            init_logs("pretty");
            crate::bench::ingest(tickets, concurrency, database_url).await
        }
        Command::Bench {
            command:
                BenchCommand::Journey {
                    customers,
                    touchpoints,
                    requests,
                    database_url,
                },
        } => {
            init_logs("pretty");
            crate::bench_journey::journey_bench(customers, touchpoints, requests, database_url)
                .await
        }
        Command::Bench {
            command:
                BenchCommand::Reports {
                    tickets,
                    requests,
                    database_url,
                },
        } => {
            init_logs("pretty");
            crate::bench_reports::reports(tickets, requests, database_url).await
        }
        Command::Bench {
            command:
                BenchCommand::Ui {
                    tickets,
                    messages,
                    requests,
                },
        } => {
            init_logs("pretty");
            crate::bench_ui::ui(tickets.max(1), messages.max(1), requests.max(1)).await
        }
        Command::Bench {
            command:
                BenchCommand::Rules {
                    tickets,
                    timers,
                    database_url,
                },
        } => {
            init_logs("pretty");
            crate::bench_rules::rules(tickets, timers, database_url).await
        }
        Command::Bench {
            command:
                BenchCommand::Burst {
                    logins,
                    big_emails,
                    html_emails,
                },
        } => {
            init_logs("pretty");
            crate::bench_burst::burst_all(logins, big_emails, html_emails).await
        }
        Command::Bench {
            command:
                BenchCommand::Chat {
                    visitors,
                    secs,
                    interval,
                    database_url,
                },
        } => {
            init_logs("pretty");
            crate::bench_chat::chat(visitors.max(1), secs.max(1), interval.max(1), database_url)
                .await
        }
        Command::Bench {
            command: BenchCommand::Telegram { rate, secs, chats },
        } => {
            init_logs("pretty");
            crate::bench_telegram::telegram(rate.max(1), secs.max(1), chats.max(1)).await
        }
        Command::Bench {
            command:
                BenchCommand::Orders {
                    rate,
                    secs,
                    customers,
                },
        } => {
            init_logs("pretty");
            crate::bench_orders::orders(rate.max(1), secs.max(1), customers.max(1)).await
        }
        Command::Bench {
            command:
                BenchCommand::Assist {
                    datasets,
                    embeddings,
                    embeddings_model,
                    embeddings_cache,
                },
        } => {
            init_logs("pretty");
            let endpoint = embeddings.map(|base| crate::bench_assist::Endpoint {
                base,
                model: embeddings_model,
                cache: embeddings_cache,
            });
            crate::bench_assist::assist(datasets, endpoint).await
        }
        Command::Bench {
            command:
                BenchCommand::Search {
                    xquad,
                    articles,
                    messages,
                    verbose,
                },
        } => {
            init_logs("pretty");
            crate::bench_search::search(xquad, articles, messages, verbose).await
        }
        Command::Bench {
            command:
                BenchCommand::Email {
                    messages,
                    concurrency,
                    spool,
                },
        } => {
            init_logs("pretty");
            crate::bench_email::email(messages, concurrency, spool).await
        }
    }
}

async fn mail_ingest(
    workspace: &str,
    mailbox: &str,
    mbox: Option<PathBuf>,
    db: &DbArgs,
) -> anyhow::Result<()> {
    use channels::email::inbound::ingest_raw;
    let temp = |e: anyhow::Error| Exit {
        code: EX_TEMPFAIL,
        message: format!("{e:#}"),
    };
    let raw = match &mbox {
        Some(p) => std::fs::read(p).with_context(|| format!("reading {}", p.display()))?,
        None => {
            let mut buf = Vec::new();
            std::io::Read::read_to_end(&mut std::io::stdin(), &mut buf)
                .context("reading the message from standard input")
                .map_err(temp)?;
            buf
        }
    };
    let config = load(db)?;
    let engine = open_engine(&config, Arc::new(store::SystemClock))
        .await
        .map_err(temp)?;
    let r = async {
        let p = engine.cli_principal(workspace).await.map_err(engine_err)?;
        let id: domain::ids::MailboxId = mailbox
            .parse()
            .map_err(|_| anyhow!("--mailbox: not a mailbox id"))?;
        let mb = engine
            .mailbox_config(p.workspace_id, id)
            .await
            .map_err(|e| match e {
                engine::EngineError::NotFound => anyhow!("no mailbox {mailbox} in {workspace}"),
                e => engine_err(e),
            })?;
        let pieces = if mbox.is_some() {
            channels::email::split_mbox(&raw)
        } else {
            vec![&raw[..]]
        };
        let (mut stored, mut dupes) = (0usize, 0usize);
        for (i, piece) in pieces.iter().enumerate() {
            let piece = bytes::Bytes::copy_from_slice(piece);
            match ingest_raw(&engine, &mb, piece, Default::default()).await {
                Ok(r) if r.duplicate => dupes += 1,
                Ok(_) => stored += 1,
                Err(e) => {
                    let code = if e.is_permanent() {
                        EX_DATAERR
                    } else {
                        EX_TEMPFAIL
                    };
                    return Err(anyhow::Error::new(Exit {
                        code,
                        message: format!("message {}: {e}", i + 1),
                    }));
                }
            }
            if pieces.len() > 1 && ((i + 1) % 100 == 0 || i + 1 == pieces.len()) {
                eprint!("\ringested {}/{}", i + 1, pieces.len());
                if i + 1 == pieces.len() {
                    eprintln!();
                }
            }
        }
        Ok::<_, anyhow::Error>((stored, dupes))
    }
    .await;
    engine.close().await;
    let (stored, dupes) = r?;
    eprintln!("stored {stored} message(s), {dupes} already known");
    Ok(())
}

/// One line of progress: `what [#####     ] 48%  4800/10000 events`.
fn progress_bar(what: &str, done: usize, total: i64, unit: &str) -> String {
    let total = usize::try_from(total).unwrap_or(0).max(done).max(1);
    let width = 30;
    let filled = done * width / total;
    format!(
        "{what} [{}{}] {:>3}%  {done}/{total} {unit}",
        "#".repeat(filled),
        " ".repeat(width - filled),
        done * 100 / total
    )
}

async fn serve(config: Config, demo: bool) -> anyhow::Result<()> {
    let listen = config.listen;
    let backend = if config.database_url.is_some() {
        "PostgreSQL".to_string()
    } else {
        format!("SQLite in {}", config.data_dir.display())
    };
    let app = Application::build(config).await?;
    let base = format!("http://{}:{}", listen.ip(), app.port());
    let engine = app.engine().clone();
    let mut out = std::io::stdout().lock();
    if demo {
        let clock: &SettableClock = &app.clock;
        let progress = |done: usize, total: usize| {
            if done.is_multiple_of(20) || done == total {
                eprint!("\rseeding demo data: {done}/{total} tickets");
                if done == total {
                    eprintln!();
                }
            }
        };
        match crate::demo::seed(&engine, clock, &progress)
            .await
            .context("seeding the demo workspace")?
        {
            Some(s) => {
                writeln!(
                    out,
                    "Demo workspace `{}` created with {} tickets and {} help-center articles.",
                    crate::demo::WORKSPACE,
                    s.tickets,
                    s.articles
                )?;
                for (email, name, role) in &s.agents {
                    writeln!(
                        out,
                        "  {:<11} {email:<24} password: {}   ({name})",
                        role.as_str(),
                        crate::demo::PASSWORD
                    )?;
                }
                if let Some(t) = s.token {
                    writeln!(out, "  API token of {}: {t}", crate::demo::OWNER)?;
                }
                writeln!(
                    out,
                    "  chat:     the help center {base}/help/{} shows the chat; on any site: <script src=\"{base}/widget/v1/{}/loader.js\" async></script>",
                    crate::demo::WORKSPACE,
                    s.widget_key
                )?;
            }
            None => writeln!(
                out,
                "Demo workspace `{}` already exists (owner {} / password {}).",
                crate::demo::WORKSPACE,
                crate::demo::OWNER,
                crate::demo::PASSWORD
            )?,
        }
    } else {
        if engine.workspace_names(1).await?.is_empty() {
            writeln!(
                out,
                "No workspace yet. Create the first one with:\n  otklik workspace create NAME --owner you@example.com --password '…'\nor start with sample data: otklik serve --demo"
            )?;
        }
    }
    writeln!(out, "Otklik is listening on {base} ({backend})")?;
    if demo {
        writeln!(
            out,
            "  open:     {base}/login  (workspace {}, {} / {})",
            crate::demo::WORKSPACE,
            crate::demo::OWNER,
            crate::demo::PASSWORD
        )?;
        writeln!(
            out,
            "  API:      POST {base}/api/v1/auth/login  {{\"workspace\": \"{}\", \"email\": \"{}\", \"password\": \"{}\"}}",
            crate::demo::WORKSPACE,
            crate::demo::OWNER,
            crate::demo::PASSWORD
        )?;
    } else {
        writeln!(out, "  open:     {base}/login")?;
        writeln!(
            out,
            "  API:      POST {base}/api/v1/auth/login  {{\"workspace\": …, \"email\": …, \"password\": …}}"
        )?;
    }
    writeln!(out, "  API docs: {base}/api/v1/openapi.json")?;
    writeln!(out, "  health:   {base}/healthz   metrics: {base}/metrics")?;
    drop(out);
    app.run_until(shutdown_signal()).await
}

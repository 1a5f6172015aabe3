//! Starting the real server for a test, and typed request helpers.

use otklik::app::Application;
use otklik::config::Config;
use reqwest::StatusCode;
use serde_json::{Value, json};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// A running server with a fresh database and a workspace `alpha` whose owner's
/// token is `token`.
pub struct TestApp {
    pub base: String,
    /// The built-in SMTP receiver's port.
    pub smtp_port: u16,
    pub client: reqwest::Client,
    pub token: String,
    pub engine: engine::Engine,
    /// Beneath the engine: for checks of what was stored.
    pub store: store::Store,
    /// The search index the server follows the log into.
    pub search: std::sync::Arc<search::SearchIndex>,
    pub config: Config,
    pub clock: std::sync::Arc<otklik::app::SettableClock>,
    _dir: std::sync::Arc<tempfile::TempDir>,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    handle: Option<tokio::task::JoinHandle<anyhow::Result<()>>>,
}

/// The admin URL of the PostgreSQL server for tests, if one is configured. Under
/// `cargo xtask ci` it must be: a missing server fails the run loudly.
pub fn pg_admin_url() -> Option<String> {
    match std::env::var("OTKLIK_TEST_PG_URL")
        .ok()
        .filter(|s| !s.is_empty())
    {
        Some(u) => Some(u),
        None if std::env::var("OTKLIK_TEST_REQUIRE_PG").is_ok_and(|v| v == "1") => {
            panic!(
                "OTKLIK_TEST_REQUIRE_PG=1 but OTKLIK_TEST_PG_URL is not set: the PostgreSQL suite cannot run"
            )
        }
        None => None,
    }
}

/// Starts a server, or `None` for PostgreSQL when no server is configured (plain
/// `cargo test`); the message says so in the test's output.
pub async fn spawn(backend: Backend) -> Option<TestApp> {
    spawn_with(backend, |_| {}).await
}

/// A server whose configuration `tweak` adjusts first.
pub async fn spawn_with(backend: Backend, tweak: impl FnOnce(&mut Config)) -> Option<TestApp> {
    let dir = std::sync::Arc::new(tempfile::tempdir().expect("tempdir"));
    let mut config = Config {
        listen: "127.0.0.1:0".parse().expect("addr"),
        data_dir: dir.path().to_path_buf(),
        ..Config::default()
    };
    // Tests run jobs themselves (`drain_jobs`), deterministically.
    config.workers = 0;
    config.limits.max_attachment_bytes = 64 * 1024;
    config.limits.max_body_bytes = 256 * 1024;
    config.limits.max_message_bytes = 64 * 1024;
    config.mail.smtp_listen = Some("127.0.0.1:0".parse().expect("addr"));
    // The test mail server's certificate is self-signed.
    config.mail.accept_invalid_certs = true;
    if backend == Backend::Postgres {
        let Some(admin) = pg_admin_url() else {
            skipped(
                std::thread::current().name().unwrap_or("a test"),
                "no PostgreSQL: set OTKLIK_TEST_PG_URL (cargo xtask ci does)",
            );
            return None;
        };
        let name = format!("otklik_test_{}", uuid::Uuid::new_v4().simple());
        config.database_url = Some(
            store::admin::create_database(&admin, &name)
                .await
                .expect("create test database")
                .into(),
        );
        config.max_connections = 8;
    }
    tweak(&mut config);
    let mut app = start(config, dir).await;
    let (_, owner) = app
        .engine
        .create_workspace("alpha", "owner@alpha.test", "alpha-password")
        .await
        .expect("workspace");
    let p = app.engine.cli_principal("alpha").await.expect("principal");
    app.token = app
        .engine
        .create_token(&p, owner.id, "test")
        .await
        .expect("token")
        .1;
    Some(app)
}

async fn start(config: Config, dir: std::sync::Arc<tempfile::TempDir>) -> TestApp {
    let app = Application::build(config.clone()).await.expect("build app");
    let port = app.port();
    let smtp_port = app.smtp_port().unwrap_or(0);
    let engine = app.engine().clone();
    let store = app.store().clone();
    let search = app.search();
    let clock = app.clock.clone();
    let (stop, rx) = tokio::sync::oneshot::channel::<()>();
    let handle = tokio::spawn(app.run_until(async move {
        let _ = rx.await;
    }));
    TestApp {
        base: format!("http://127.0.0.1:{port}"),
        smtp_port,
        client: reqwest::Client::new(),
        token: String::new(),
        engine,
        store,
        search,
        config,
        clock,
        _dir: dir,
        stop: Some(stop),
        handle: Some(handle),
    }
}

/// A response: status, body as JSON (Null when empty or not JSON) and content type.
pub struct Res {
    pub status: StatusCode,
    pub body: Value,
    pub content_type: String,
}

impl Res {
    #[track_caller]
    pub fn expect(self, want: u16) -> Value {
        assert_eq!(
            self.status.as_u16(),
            want,
            "unexpected status; body: {}",
            self.body
        );
        self.body
    }
    /// Asserts an RFC 9457 problem with this status and a request id.
    #[track_caller]
    pub fn problem(self, want: u16) -> Value {
        assert_eq!(
            self.status.as_u16(),
            want,
            "unexpected status; body: {}",
            self.body
        );
        assert!(
            self.content_type.starts_with("application/problem+json"),
            "content type {} for {}",
            self.content_type,
            self.body
        );
        assert_eq!(
            self.body["status"].as_u64(),
            Some(u64::from(want)),
            "{}",
            self.body
        );
        assert!(
            self.body["request_id"]
                .as_str()
                .is_some_and(|s| !s.is_empty()),
            "no request id: {}",
            self.body
        );
        self.body
    }
}

/// Reads a response into a `Res`.
pub async fn res(r: reqwest::Response) -> Res {
    let status = r.status();
    let headers = r.headers().clone();
    let content_type = headers
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    let text = r.text().await.unwrap_or_default();
    Res {
        status,
        body: serde_json::from_str(&text).unwrap_or(Value::Null),
        content_type,
    }
}

impl TestApp {
    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.base, path)
    }

    pub async fn req(&self, method: &str, path: &str, token: &str, body: Option<Value>) -> Res {
        let m = reqwest::Method::from_bytes(method.as_bytes()).expect("method");
        let mut b = self.client.request(m, self.url(path)).bearer_auth(token);
        if let Some(body) = body {
            b = b.json(&body);
        }
        res(b.send().await.expect("request")).await
    }
    pub async fn raw(
        &self,
        method: &str,
        path: &str,
        token: &str,
        content_type: &str,
        body: Vec<u8>,
    ) -> Res {
        let m = reqwest::Method::from_bytes(method.as_bytes()).expect("method");
        res(self
            .client
            .request(m, self.url(path))
            .bearer_auth(token)
            .header("content-type", content_type)
            .body(body)
            .send()
            .await
            .expect("request"))
        .await
    }
    pub async fn get(&self, path: &str) -> Res {
        self.req("GET", path, &self.token, None).await
    }
    pub async fn post(&self, path: &str, body: Value) -> Res {
        self.req("POST", path, &self.token, Some(body)).await
    }
    pub async fn patch(&self, path: &str, body: Value) -> Res {
        self.req("PATCH", path, &self.token, Some(body)).await
    }

    /// Creates a ticket for a customer known by `email`; returns the response body.
    pub async fn ticket(&self, subject: &str, email: &str) -> Value {
        self.post("/api/v1/tickets", json!({"subject": subject, "customer": {"name": "Анна", "email": email}, "message": {"body": "Заказ 1042 не пришёл"}})).await.expect(201)
    }

    /// A second workspace with its owner's token.
    pub async fn workspace(&self, name: &str) -> String {
        let (_, owner) = self
            .engine
            .create_workspace(name, &format!("owner@{name}.test"), "password-b")
            .await
            .expect("workspace");
        let p = self.engine.cli_principal(name).await.expect("principal");
        self.engine
            .create_token(&p, owner.id, "test")
            .await
            .expect("token")
            .1
    }

    /// The `/metrics` text.
    pub async fn metrics(&self) -> String {
        self.client
            .get(self.url("/metrics"))
            .send()
            .await
            .expect("metrics")
            .text()
            .await
            .expect("metrics text")
    }

    /// A user of `alpha` with `role` and a token.
    pub async fn user(&self, email: &str, role: &str) -> (String, String) {
        let u = self
            .post(
                "/api/v1/users",
                json!({"email": email, "role": role, "password": "user-password"}),
            )
            .await
            .expect(201);
        let id = u["id"].as_str().expect("id").to_owned();
        let t = self
            .post("/api/v1/tokens", json!({"name": "t", "user_id": id}))
            .await
            .expect(201);
        (id, t["secret"].as_str().expect("secret").to_owned())
    }

    /// Reads the whole event stream in pages of `page`, the way a consumer does, until
    /// it holds at least `want` events (PostgreSQL shows an event only once every
    /// older transaction has finished, so the tail can lag for a moment).
    /// `GET path` (a ticket search) once it lists `want` tickets, or the last
    /// answer after five seconds: the search index follows the event log, so a
    /// write becomes searchable a moment after it commits.
    pub async fn search(&self, path: &str, want: usize) -> Value {
        let mut last = Value::Null;
        for _ in 0..100 {
            last = self.get(path).await.expect(200);
            if last["items"].as_array().map_or(0, Vec::len) == want {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
        last
    }

    /// `POST /api/v1/attachments` with `form`, as the workspace's token.
    pub async fn upload(&self, form: reqwest::multipart::Form) -> reqwest::Response {
        self.client
            .post(self.url("/api/v1/attachments"))
            .bearer_auth(&self.token)
            .multipart(form)
            .send()
            .await
            .expect("upload")
    }

    pub async fn stream(&self, page: usize, want: usize) -> Vec<Value> {
        let mut after = String::new();
        let mut all = Vec::new();
        for _ in 0..200 {
            let body = self
                .get(&format!(
                    "/api/v1/events?limit={}&after={after}",
                    page.min(200)
                ))
                .await
                .expect(200);
            let items = body["items"].as_array().cloned().unwrap_or_default();
            after = body["next_cursor"].as_str().expect("cursor").to_owned();
            if items.is_empty() {
                if all.len() >= want {
                    return all;
                }
                tokio::time::sleep(std::time::Duration::from_millis(25)).await;
            }
            all.extend(items);
        }
        all
    }

    /// A mailbox of `alpha` as the engine holds it, passwords opened.
    pub async fn mailbox_config(&self, id: &str) -> engine::email::MailboxConfig {
        let ws = self
            .engine
            .cli_principal("alpha")
            .await
            .expect("principal")
            .workspace_id;
        self.engine
            .mailbox_config(ws, id.parse().expect("mailbox id"))
            .await
            .expect("mailbox")
    }

    /// Runs queued jobs until none is due.
    pub async fn drain_jobs(&self) {
        let w = engine::worker::Worker::new(self.engine.clone());
        for _ in 0..100 {
            if w.run_once().await.expect("worker pass") == 0 {
                return;
            }
        }
        panic!("jobs kept coming");
    }

    /// Stops the server (draining requests) and starts it again on the same data.
    pub async fn restart(mut self) -> TestApp {
        let token = self.token.clone();
        self.stop().await;
        // The SMTP receiver comes back on the port it had.
        let mut config = self.config.clone();
        if self.smtp_port != 0 {
            config.mail.smtp_listen = Some(
                format!("127.0.0.1:{}", self.smtp_port)
                    .parse()
                    .expect("addr"),
            );
        }
        let mut again = start(config, self._dir.clone()).await;
        again.token = token;
        again
    }

    pub async fn stop(&mut self) {
        if let Some(s) = self.stop.take() {
            let _ = s.send(());
        }
        if let Some(h) = self.handle.take() {
            h.await
                .expect("server task")
                .expect("server stopped cleanly");
        }
    }
}

/// Waits for `f` to give a value, checking every 50 ms for at most `secs` seconds.
pub async fn until<T>(what: &str, secs: u64, mut f: impl AsyncFnMut() -> Option<T>) -> T {
    let t0 = std::time::Instant::now();
    loop {
        if let Some(v) = f().await {
            return v;
        }
        assert!(
            t0.elapsed() < std::time::Duration::from_secs(secs),
            "timed out waiting for {what}"
        );
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
}

/// A ticket from customer `n % 50`, for tests that need many events quickly.
pub fn new_ticket(n: usize) -> engine::tickets::NewTicket {
    engine::tickets::NewTicket::from_email(
        &format!("Заказ {n}"),
        &format!("c{}@example.com", n % 50),
        "Где мой заказ?",
    )
    .expect("a ticket")
}

/// Says that a test did not run, past the test harness's output capture (which
/// holds only `print!`/`eprint!`), so a skip shows in plain `cargo test` output
/// instead of passing silently.
pub fn skipped(test: &str, why: &str) {
    use std::io::Write as _;
    let _ = writeln!(std::io::stderr(), "SKIPPED {test}: {why}");
}

/// The server binary on a random port over the data directory `dir`, quiet.
pub fn serve_binary(dir: &std::path::Path) -> std::process::Child {
    std::process::Command::new(env!("CARGO_BIN_EXE_otklik"))
        .args(["serve", "--listen", "127.0.0.1:0", "--data-dir"])
        .arg(dir)
        .env("OTKLIK_LOG", "warn")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("start the server binary")
}

/// One number read from a SQLite database file another process is writing
/// (0 for NULL).
pub fn sqlite_number(db: &std::path::Path, sql: &str) -> i64 {
    let c = rusqlite::Connection::open_with_flags(db, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY)
        .expect("open the database");
    c.busy_timeout(std::time::Duration::from_secs(5))
        .expect("busy timeout");
    c.query_row(sql, [], |r| r.get::<_, Option<i64>>(0))
        .expect("query")
        .unwrap_or(0)
}

/// A server process on the PostgreSQL database `url`, with `workers` job
/// workers, the installation's `secret_key` (nodes of one database share it)
/// and its data directory under `dir`; killed when dropped.
pub fn pg_node(
    dir: &std::path::Path,
    i: usize,
    url: &str,
    workers: usize,
    secret_key: &str,
) -> tokio::process::Child {
    pg_node_at(dir, i, url, workers, secret_key, "127.0.0.1:0")
}

/// [`pg_node`] listening on `listen`, for tests that call the node itself.
pub fn pg_node_at(
    dir: &std::path::Path,
    i: usize,
    url: &str,
    workers: usize,
    secret_key: &str,
    listen: &str,
) -> tokio::process::Child {
    let data = dir.join(format!("node{i}"));
    std::fs::create_dir_all(&data).expect("node data directory");
    tokio::process::Command::new(env!("CARGO_BIN_EXE_otklik"))
        .args(["serve", "--listen", listen, "--data-dir"])
        .arg(&data)
        .env("DATABASE_URL", url)
        .env("OTKLIK_SECRET_KEY", secret_key)
        .env("OTKLIK_WORKERS", workers.to_string())
        .env("OTKLIK_IMAP_POLLERS", "false")
        .env("OTKLIK_LOG", "warn")
        .stdout(std::process::Stdio::null())
        .stderr(
            std::fs::File::create(dir.join(format!("node{i}.log")))
                .map(std::process::Stdio::from)
                .unwrap_or_else(|_| std::process::Stdio::null()),
        )
        .kill_on_drop(true)
        .spawn()
        .expect("start a node")
}

/// What the nodes under `dir` logged, for a failing test's message.
pub fn node_logs(dir: &std::path::Path) -> String {
    (1..=2)
        .map(|i| {
            let log = std::fs::read_to_string(dir.join(format!("node{i}.log"))).unwrap_or_default();
            let tail: Vec<&str> = log.lines().rev().take(30).collect();
            format!(
                "--- node{i} ---\n{}",
                tail.into_iter().rev().collect::<Vec<_>>().join("\n")
            )
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// A fresh PostgreSQL database for tests of several server processes, with an
/// engine of this process on it (its clock `clock`) and a data directory for
/// the nodes; `None` (and a note) without a PostgreSQL server.
pub struct PgCluster {
    pub admin: String,
    pub name: String,
    pub url: String,
    pub dir: tempfile::TempDir,
    pub engine: engine::Engine,
    /// What seals credentials, the same on every node.
    pub secret_key: String,
}

impl PgCluster {
    pub async fn start(test: &str, clock: std::sync::Arc<dyn store::Clock>) -> Option<PgCluster> {
        let Some(admin) = pg_admin_url() else {
            skipped(
                test,
                "no PostgreSQL: set OTKLIK_TEST_PG_URL (cargo xtask ci does)",
            );
            return None;
        };
        let name = format!("otklik_test_{}", uuid::Uuid::new_v4().simple());
        let url = store::admin::create_database(&admin, &name)
            .await
            .expect("create test database");
        let dir = tempfile::tempdir().expect("tempdir");
        let secret_key: String = uuid::Uuid::new_v4().simple().to_string().repeat(2);
        let config = Config {
            data_dir: dir.path().to_path_buf(),
            database_url: Some(url.clone().into()),
            secret_key: Some(secret_key.clone().into()),
            ..Default::default()
        };
        let engine = otklik::app::open_engine(&config, clock)
            .await
            .expect("an engine on the database");
        Some(PgCluster {
            admin,
            name,
            url,
            dir,
            engine,
            secret_key,
        })
    }

    /// Server process `i` on the database, with `workers` job workers.
    pub fn node(&self, i: usize, workers: usize) -> tokio::process::Child {
        pg_node(self.dir.path(), i, &self.url, workers, &self.secret_key)
    }

    /// Server process `i` answering HTTP on a free port of its own, once it
    /// is ready: the process and its base address.
    pub async fn serving_node(&self, i: usize, workers: usize) -> (tokio::process::Child, String) {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("a free port")
            .port();
        let child = pg_node_at(
            self.dir.path(),
            i,
            &self.url,
            workers,
            &self.secret_key,
            &format!("127.0.0.1:{port}"),
        );
        let base = format!("http://127.0.0.1:{port}");
        let http = reqwest::Client::new();
        until("a node answers", 60, async || {
            let r = http.get(format!("{base}/healthz")).send().await.ok()?;
            r.status().is_success().then_some(())
        })
        .await;
        (child, base)
    }

    pub async fn finish(self) {
        self.engine.close().await;
        // `WITH (FORCE)` waits only five seconds for the sessions it ends;
        // killed nodes' backends on a loaded machine may take longer to go.
        let mut last = None;
        for _ in 0..10 {
            match store::admin::drop_database(&self.admin, &self.name).await {
                Ok(()) => return,
                Err(e) => last = Some(e),
            }
            tokio::time::sleep(std::time::Duration::from_millis(500)).await;
        }
        panic!("drop test database {}: {last:?}", self.name);
    }
}

/// The wall clock, `behind` milliseconds ago: what an engine on it writes is
/// that old for server processes on the real clock.
pub struct Behind(pub i64);

impl store::Clock for Behind {
    fn now(&self) -> domain::Timestamp {
        store::SystemClock.now().plus_millis(-self.0)
    }
}

/// Every event of the principal's workspace, oldest first.
pub async fn all_events(
    engine: &engine::Engine,
    p: &engine::Principal,
) -> Vec<engine::model::EventRecord> {
    let mut out = Vec::new();
    let mut after = engine::model::Cursor::default();
    loop {
        let page = engine.event_stream(p, after, 1000).await.expect("events");
        let Some(last) = page.last() else { break };
        after = engine::model::Cursor::of(last);
        out.extend(page);
    }
    out
}

//! Developer and CI automation for the Otklik workspace (the "xtask" pattern).
//!
//! `cargo xtask ci` runs every check CI runs (formatting, clippy, the test suite
//! against a throwaway PostgreSQL cluster and mail server, and the API contract
//! run with schemathesis); `cargo xtask pg` starts such a cluster for local use.
//! Run `cargo xtask help` for usage.

#![forbid(unsafe_code)]

mod contract;
mod mail;

use std::env;
use std::fs;
use std::io::ErrorKind;
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode, Stdio};
use std::time::{Duration, Instant};

const USAGE: &str = "\
usage: cargo xtask <command>

  ci                run every check (fmt, clippy, tests against PostgreSQL, the API
                    contract with schemathesis); used by CI
  contract          only the API contract run: schemathesis against a fresh server
  pg [-- CMD...]    start a throwaway PostgreSQL cluster and run CMD with
                    OTKLIK_TEST_PG_URL set; without CMD, only self-check it
  mail [-- CMD...]  start a throwaway Postfix + Dovecot on loopback and run CMD
                    with OTKLIK_TEST_MAIL set; without CMD, print it and wait
                    for Enter
  help              show this message";

/// A failure: a one-line reason and the process exit code to report.
struct Error {
    msg: String,
    code: u8,
}

type Result<T, E = Error> = std::result::Result<T, E>;

fn fail<T>(msg: impl Into<String>) -> Result<T> {
    Err(Error {
        msg: msg.into(),
        code: 1,
    })
}

fn main() -> ExitCode {
    let args: Vec<String> = env::args().skip(1).collect();
    let result = match args.first().map(String::as_str) {
        Some("ci") => ci(),
        Some("contract") => contract::check(),
        Some("pg") => pg(&args[1..]),
        Some("mail") => mail_cmd(&args[1..]),
        None | Some("help" | "-h" | "--help") => {
            println!("{USAGE}");
            Ok(())
        }
        Some(other) => fail(format!("unknown command `{other}`; see `cargo xtask help`")),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("xtask: error: {}", e.msg);
            ExitCode::from(e.code)
        }
    }
}

/// The `cargo` that is running us, in the repository root.
fn cargo() -> Command {
    let mut cmd = Command::new(env::var_os("CARGO").unwrap_or_else(|| "cargo".into()));
    cmd.current_dir(Path::new(env!("CARGO_MANIFEST_DIR")).join(".."));
    cmd
}

/// Runs `cmd`; a non-zero exit becomes an [`Error`] carrying the child's exit code.
/// `apt-get update`, then a non-interactive install of `packages` without
/// recommended extras.
fn apt_install(packages: &[&str]) -> Result<()> {
    run(Command::new("apt-get").arg("update"), "apt-get update")?;
    let mut install = Command::new("apt-get");
    install
        .args(["install", "-y", "--no-install-recommends"])
        .args(packages)
        .env("DEBIAN_FRONTEND", "noninteractive");
    run(
        &mut install,
        &format!("apt-get install {}", packages.join(" ")),
    )
}

fn run(cmd: &mut Command, what: &str) -> Result<()> {
    match cmd.status() {
        Ok(status) if status.success() => Ok(()),
        Ok(status) => Err(Error {
            msg: format!("{what} failed ({status})"),
            code: status
                .code()
                .and_then(|c| u8::try_from(c).ok())
                .unwrap_or(1),
        }),
        Err(e) => fail(format!("cannot run {what}: {e}")),
    }
}

/// Runs `cmd` with its stdout discarded and reports whether it succeeded.
fn succeeds(cmd: &mut Command) -> bool {
    cmd.stdout(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

type Log = Vec<(&'static str, Duration)>;

/// Runs one named step with a header and its timing, recording it in `log`.
fn step<T>(log: &mut Log, name: &'static str, f: impl FnOnce() -> Result<T>) -> Result<T> {
    println!("\n==> [{}] {name}", log.len() + 1);
    let start = Instant::now();
    let result = f();
    let took = start.elapsed();
    let verdict = if result.is_ok() { "ok" } else { "FAILED" };
    println!("<== {name}: {verdict} in {:.1}s", took.as_secs_f64());
    log.push((name, took));
    result.map_err(|Error { msg, code }| Error {
        msg: format!("{name}: {msg}"),
        code,
    })
}

fn ci() -> Result<()> {
    let total = Instant::now();
    let mut log = Log::new();
    step(&mut log, "cargo fmt --check", || {
        run(cargo().args(["fmt", "--all", "--", "--check"]), "cargo fmt")
    })?;
    step(&mut log, "cargo clippy", || {
        let args = "clippy --workspace --all-targets -- -D warnings".split(' ');
        run(cargo().args(args), "cargo clippy")
    })?;
    let cluster = step(&mut log, "start PostgreSQL", Cluster::start)?;
    let mail = step(&mut log, "start mail server", mail::MailServer::start)?;
    let chromium = step(&mut log, "find Chromium", ensure_chromium)?;
    let axe = step(&mut log, "find axe-core", ensure_axe)?;
    let artifacts = workspace_root().join("target/browser-artifacts");
    let _ = fs::remove_dir_all(&artifacts);
    let tests = step(&mut log, "cargo test", || {
        let mut cmd = cargo();
        cmd.args(["test", "--workspace"])
            .env("OTKLIK_TEST_CHROMIUM", &chromium)
            .env("OTKLIK_TEST_AXE", &axe)
            .env("OTKLIK_TEST_REQUIRE_BROWSER", "1")
            .env("OTKLIK_TEST_ARTIFACTS", &artifacts)
            .env("OTKLIK_TEST_PG_URL", cluster.url())
            .env("OTKLIK_TEST_REQUIRE_PG", "1")
            .env("OTKLIK_TEST_MAIL", mail.env_value())
            .env("OTKLIK_TEST_REQUIRE_MAIL", "1");
        run(&mut cmd, "cargo test")
    });
    drop(mail);
    drop(cluster);
    if tests.is_err() && artifacts.is_dir() {
        println!(
            "screenshots of failed browser tests: {}",
            artifacts.display()
        );
    }
    tests?;
    step(&mut log, "API contract (schemathesis)", contract::check)?;
    println!("\n==> summary");
    for (name, took) in &log {
        println!("    {name:<28} {:>7.1}s", took.as_secs_f64());
    }
    println!("all checks passed in {:.1}s", total.elapsed().as_secs_f64());
    Ok(())
}

fn pg(args: &[String]) -> Result<()> {
    let command = args.strip_prefix(&["--".to_owned()]).unwrap_or(args);
    let cluster = Cluster::start()?;
    println!("OTKLIK_TEST_PG_URL={}", cluster.url());
    let Some((program, rest)) = command.split_first() else {
        cluster.self_check()?;
        println!("PostgreSQL self-check passed");
        return Ok(());
    };
    let mut cmd = Command::new(program);
    cmd.args(rest).env("OTKLIK_TEST_PG_URL", cluster.url());
    run(&mut cmd, program)
}

fn mail_cmd(args: &[String]) -> Result<()> {
    let command = args.strip_prefix(&["--".to_owned()]).unwrap_or(args);
    let server = mail::MailServer::start()?;
    println!("OTKLIK_TEST_MAIL={}", server.env_value());
    let Some((program, rest)) = command.split_first() else {
        println!("press Enter to stop");
        let mut line = String::new();
        let _ = std::io::stdin().read_line(&mut line);
        return Ok(());
    };
    let mut cmd = Command::new(program);
    cmd.args(rest).env("OTKLIK_TEST_MAIL", server.env_value());
    run(&mut cmd, program)
}

fn is_root() -> bool {
    let out = Command::new("id").arg("-u").output();
    out.is_ok_and(|o| o.status.success() && o.stdout.trim_ascii() == b"0")
}

/// Finds the directory holding `initdb` and `pg_ctl`: the highest version
/// under /usr/lib/postgresql/*/bin, else the first such directory on PATH.
fn find_pg_bin() -> Option<PathBuf> {
    let has_tools = |dir: &Path| dir.join("initdb").is_file() && dir.join("pg_ctl").is_file();
    // `/usr/lib/postgresql/15/bin` -> [15]; `9.6` -> [9, 6].
    let version = |bin: &Path| -> Vec<u32> {
        let name = bin.parent().and_then(Path::file_name).unwrap_or_default();
        let name = name.to_string_lossy();
        name.split('.').map(|n| n.parse().unwrap_or(0)).collect()
    };
    let installed = fs::read_dir("/usr/lib/postgresql")
        .into_iter()
        .flatten()
        .flatten();
    let bins = installed.map(|entry| entry.path().join("bin"));
    let best = bins
        .filter(|bin| has_tools(bin))
        .max_by_key(|bin| version(bin));
    best.or_else(|| env::split_paths(&env::var_os("PATH")?).find(|dir| has_tools(dir)))
}

/// The headless browser for the UI tests: Debian's Chromium, installed with apt
/// when absent (as root). The UI's fonts are embedded, so no font packages are needed.
fn ensure_chromium() -> Result<PathBuf> {
    let find = || {
        ["/usr/bin/chromium", "/usr/bin/chromium-browser"]
            .into_iter()
            .map(PathBuf::from)
            .find(|p| p.exists())
    };
    if let Some(p) = find() {
        return Ok(p);
    }
    if !is_root() {
        return fail(
            "Chromium not found: install the `chromium` package, or run as root so that xtask installs it",
        );
    }
    println!("Chromium not found; installing it with apt-get");
    apt_install(&["chromium"])?;
    find().map_or_else(|| fail("chromium still not found after install"), Ok)
}

/// The axe-core release the accessibility test was last checked with.
const AXE: &str = "axe-core@4.14.1";

/// axe-core's script for the accessibility test, from the npm registry into
/// `target/axe` (npm installed with apt when absent, as root).
fn ensure_axe() -> Result<PathBuf> {
    let dir = workspace_root().join("target/axe");
    let script = dir.join("node_modules/axe-core/axe.min.js");
    if script.exists() {
        return Ok(script);
    }
    if !succeeds(Command::new("npm").arg("--version")) {
        if !is_root() {
            return fail(
                "npm not found: install the `npm` package, or run as root so that xtask installs it",
            );
        }
        println!("npm not found; installing it with apt-get");
        apt_install(&["npm"])?;
    }
    if let Err(e) = fs::create_dir_all(&dir) {
        return fail(format!("{}: {e}", dir.display()));
    }
    run(
        Command::new("npm")
            .args(["install", "--no-audit", "--no-fund", "--prefix"])
            .arg(&dir)
            .arg(AXE),
        "npm install axe-core",
    )?;
    if script.exists() {
        Ok(script)
    } else {
        fail("axe-core installed but its axe.min.js is missing")
    }
}

/// Returns the PostgreSQL bin directory, installing the package if it is
/// missing and we are root.
fn ensure_pg_bin(root: bool) -> Result<PathBuf> {
    if let Some(bin) = find_pg_bin() {
        return Ok(bin);
    }
    if !root {
        return fail(
            "PostgreSQL (initdb/pg_ctl) not found: install the `postgresql` package, \
             or run as root so that xtask installs it",
        );
    }
    println!("PostgreSQL not found; installing it with apt-get");
    apt_install(&["postgresql"])?;
    find_pg_bin().map_or_else(|| fail("initdb/pg_ctl still not found after install"), Ok)
}

/// A throwaway PostgreSQL cluster, stopped and deleted on drop.
struct Cluster {
    bin: PathBuf,
    dir: PathBuf,
    port: u16,
    /// Running as root: PostgreSQL tools must run as the `postgres` user.
    as_postgres: bool,
}

impl Cluster {
    fn start() -> Result<Self> {
        let as_postgres = is_root();
        let bin = ensure_pg_bin(as_postgres)?;
        // Under the temp dir, so the `postgres` user can reach it even when
        // the repository lives somewhere private such as /root.
        let dir = env::temp_dir().join(format!("otklik-xtask-pg-{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        if let Err(e) = fs::create_dir_all(&dir) {
            return fail(format!("cannot create {}: {e}", dir.display()));
        }
        let mut cluster = Self {
            bin,
            dir,
            port: 0,
            as_postgres,
        };
        if as_postgres {
            if !succeeds(Command::new("id").arg("postgres").stderr(Stdio::null())) {
                let mut useradd = Command::new("useradd");
                run(useradd.args(["--system", "postgres"]), "useradd")?;
            }
            let mut chown = Command::new("chown");
            chown.args(["-R", "postgres:postgres"]).arg(&cluster.dir);
            run(&mut chown, "chown")?;
        }
        cluster.initdb()?;
        // The port may be taken between probing and binding: retry a few times.
        for attempt in 1..=3 {
            cluster.port = free_port()?;
            let (port, dir) = (cluster.port, cluster.dir.display());
            let opts = format!(
                "-p {port} -k {dir} -c listen_addresses=127.0.0.1 -c fsync=on -c max_connections=200"
            );
            let mut cmd = cluster.pg_cmd("pg_ctl");
            cmd.args(["start", "-w", "-t", "30", "-D"])
                .arg(cluster.data());
            cmd.arg("-l")
                .arg(cluster.dir.join("log"))
                .args(["-o", &opts]);
            if succeeds(&mut cmd) {
                println!("PostgreSQL running on port {port} (cluster in {dir})");
                return Ok(cluster);
            }
            eprintln!("pg_ctl start failed (attempt {attempt}/3)");
        }
        let log = fs::read_to_string(cluster.dir.join("log")).unwrap_or_default();
        eprintln!("--- server log ---\n{log}");
        fail("could not start PostgreSQL (server log above)")
    }

    fn initdb(&self) -> Result<()> {
        let mut stderr = Vec::new();
        for locale in ["--locale=C.UTF-8", "--locale=C"] {
            let _ = fs::remove_dir_all(self.data());
            let mut cmd = self.pg_cmd("initdb");
            cmd.args(["-U", "postgres", "--auth=trust", "-E", "UTF8", locale, "-D"]);
            match cmd.arg(self.data()).output() {
                Ok(out) if out.status.success() => return Ok(()),
                Ok(out) => stderr = out.stderr,
                Err(e) => return fail(format!("cannot run initdb: {e}")),
            }
        }
        eprintln!("{}", String::from_utf8_lossy(&stderr));
        fail("initdb failed (output above)")
    }

    fn data(&self) -> PathBuf {
        self.dir.join("data")
    }

    fn url(&self) -> String {
        format!("postgres://postgres@127.0.0.1:{}/postgres", self.port)
    }

    /// A command for a PostgreSQL tool, run as `postgres` when we are root.
    fn pg_cmd(&self, tool: &str) -> Command {
        let program = self.bin.join(tool);
        let mut cmd = if self.as_postgres {
            let mut runuser = Command::new("runuser");
            runuser.args(["-u", "postgres", "--"]).arg(program);
            runuser
        } else {
            Command::new(program)
        };
        cmd.current_dir(&self.dir).stdin(Stdio::null());
        cmd
    }

    /// Checks that the server answers: `SELECT 1` through psql, or a TCP connect.
    fn self_check(&self) -> Result<()> {
        let bundled = self.bin.join("psql");
        let psql = if bundled.is_file() {
            bundled
        } else {
            "psql".into()
        };
        let args = ["-X", "-tA", "-c", "SELECT 1", &self.url()];
        match Command::new(psql).args(args).stdin(Stdio::null()).output() {
            Ok(out) if out.status.success() && out.stdout.trim_ascii() == b"1" => return Ok(()),
            Ok(out) => {
                let err = String::from_utf8_lossy(&out.stderr);
                return fail(format!("psql SELECT 1 failed: {}", err.trim()));
            }
            Err(e) if e.kind() != ErrorKind::NotFound => {
                return fail(format!("cannot run psql: {e}"));
            }
            Err(_) => {} // no psql at all: fall back to a plain TCP connect
        }
        let addr = ([127, 0, 0, 1], self.port).into();
        match TcpStream::connect_timeout(&addr, Duration::from_secs(5)) {
            Ok(_) => Ok(()),
            Err(e) => fail(format!(
                "cannot connect to PostgreSQL on port {}: {e}",
                self.port
            )),
        }
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        // Also covers a server that came up after `pg_ctl start -w` gave up.
        if self.data().join("postmaster.pid").exists() {
            let mut cmd = self.pg_cmd("pg_ctl");
            cmd.args(["stop", "-w", "-m", "fast", "-D"])
                .arg(self.data());
            if !succeeds(&mut cmd) {
                eprintln!(
                    "xtask: warning: pg_ctl stop failed in {}",
                    self.dir.display()
                );
            }
        }
        if let Err(e) = fs::remove_dir_all(&self.dir) {
            eprintln!("xtask: warning: cannot remove {}: {e}", self.dir.display());
        }
    }
}

/// Asks the OS for a free TCP port on 127.0.0.1.
fn free_port() -> Result<u16> {
    match TcpListener::bind("127.0.0.1:0").and_then(|listener| listener.local_addr()) {
        Ok(addr) => Ok(addr.port()),
        Err(e) => fail(format!("cannot find a free port: {e}")),
    }
}

/// The repository's root (xtask lives one level below it).
fn workspace_root() -> PathBuf {
    let manifest = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    manifest.parent().map(PathBuf::from).unwrap_or(manifest)
}

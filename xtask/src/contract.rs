//! The API contract run: schemathesis against a fresh server, every phase and
//! check, with a fixed seed so that a run can be repeated. Schemathesis lives in
//! a virtual environment under `target/`, installed with pip when absent.

use crate::{Error, Result, apt_install, fail, free_port, is_root, run, workspace_root};
use std::fs;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// The schemathesis release the contract was last checked with.
const SCHEMATHESIS: &str = "schemathesis==4.32.5";
/// Cases per operation and phase: the run stays within a minute on two cores.
const MAX_EXAMPLES: &str = "20";
const SEED: &str = "1";

/// Returns the venv's `schemathesis`, creating the venv when needed.
fn ensure_schemathesis() -> Result<PathBuf> {
    let venv = workspace_root().join("target/schemathesis-venv");
    let exe = venv.join("bin/schemathesis");
    let version_ok = Command::new(&exe)
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success() && String::from_utf8_lossy(&o.stdout).contains("4.32.5"));
    if version_ok {
        return Ok(exe);
    }
    let make_venv = |venv: &Path| {
        Command::new("python3")
            .args(["-m", "venv", "--clear"])
            .arg(venv)
            .stdout(Stdio::null())
            .status()
            .is_ok_and(|s| s.success())
    };
    if !make_venv(&venv) {
        if !is_root() {
            return fail(
                "cannot create a Python virtual environment: install python3 and python3-venv, \
                 or run as root so that xtask installs them",
            );
        }
        println!("python3-venv not found; installing it with apt-get");
        apt_install(&["python3", "python3-venv"])?;
        if !make_venv(&venv) {
            return fail("python3 -m venv still fails after installing python3-venv");
        }
    }
    run(
        Command::new(venv.join("bin/pip")).args([
            "install",
            "--quiet",
            "--disable-pip-version-check",
            SCHEMATHESIS,
        ]),
        "pip install schemathesis",
    )?;
    Ok(exe)
}

/// A server on a fresh data directory, stopped on drop.
struct Server {
    child: Child,
    dir: PathBuf,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = fs::remove_dir_all(&self.dir);
    }
}

fn otklik(bin: &Path, dir: &Path, args: &[&str]) -> Result<String> {
    let out = Command::new(bin)
        .args(args)
        .arg("--data-dir")
        .arg(dir)
        .stderr(Stdio::inherit())
        .output()
        .map_err(|e| Error {
            msg: format!("cannot run otklik {}: {e}", args.join(" ")),
            code: 1,
        })?;
    if !out.status.success() {
        return fail(format!("otklik {} failed ({})", args.join(" "), out.status));
    }
    Ok(String::from_utf8_lossy(&out.stdout).trim().to_owned())
}

/// Whether `GET /healthz` answers 200.
fn healthy(port: u16) -> bool {
    let Ok(mut s) = TcpStream::connect(("127.0.0.1", port)) else {
        return false;
    };
    let _ = s.set_read_timeout(Some(Duration::from_secs(2)));
    let req = "GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n";
    let mut answer = [0u8; 12];
    s.write_all(req.as_bytes()).is_ok()
        && s.read_exact(&mut answer).is_ok()
        && answer.ends_with(b" 200")
}

/// Runs the contract checks; returns an error when schemathesis finds anything.
pub fn check() -> Result<()> {
    let schemathesis = ensure_schemathesis()?;
    run(
        crate::cargo().args(["build", "--quiet", "-p", "otklik", "--bin", "otklik"]),
        "cargo build -p otklik",
    )?;
    let root = workspace_root();
    let bin = root.join("target/debug/otklik");
    let dir = root.join("target/schemathesis-run");
    let _ = fs::remove_dir_all(&dir);
    // The workspace and owner of the document's login example, so that the
    // examples phase also signs in and changes a password for real.
    otklik(
        &bin,
        &dir,
        &[
            "workspace",
            "create",
            "shop",
            "--owner",
            "anna@shop.example",
            "--password",
            "a-long-passphrase",
        ],
    )?;
    let token = otklik(
        &bin,
        &dir,
        &[
            "token",
            "create",
            "--workspace",
            "shop",
            "--user",
            "anna@shop.example",
        ],
    )?;
    let port = free_port()?;
    let listen = format!("127.0.0.1:{port}");
    let log = fs::File::create(root.join("target/schemathesis-server.log")).map_err(|e| Error {
        msg: format!("cannot create the server log: {e}"),
        code: 1,
    })?;
    let child = Command::new(&bin)
        .args(["serve", "--listen", &listen, "--data-dir"])
        .arg(&dir)
        .stdout(log.try_clone().map_err(|e| Error {
            msg: format!("cannot share the server log: {e}"),
            code: 1,
        })?)
        .stderr(log)
        .spawn()
        .map_err(|e| Error {
            msg: format!("cannot start otklik serve: {e}"),
            code: 1,
        })?;
    let server = Server { child, dir };
    let start = Instant::now();
    while !healthy(port) {
        if start.elapsed() > Duration::from_secs(30) {
            return fail("the server did not answer /healthz within 30 s");
        }
        crate::mail::pause(100);
    }
    let base = format!("http://{listen}");
    let result = run(
        Command::new(&schemathesis)
            .arg("--config-file")
            .arg(root.join("xtask/schemathesis/schemathesis.toml"))
            .arg("run")
            .arg(format!("{base}/api/v1/openapi.json"))
            .args(["--url", &base])
            .args(["-H", &format!("Authorization: Bearer {token}")])
            .args(["--phases", "examples,coverage,fuzzing,stateful"])
            .args(["--checks", "all"])
            .args(["--max-examples", MAX_EXAMPLES, "--seed", SEED])
            .args(["--request-timeout", "10"])
            .env("PYTHONPATH", root.join("xtask/schemathesis"))
            .env("SCHEMATHESIS_HOOKS", "otklik_hooks")
            .env("NO_COLOR", "1")
            // Its cache goes where it runs.
            .current_dir(root.join("target")),
        "schemathesis",
    );
    drop(server);
    if result.is_err() {
        println!(
            "the server's log: {}",
            root.join("target/schemathesis-server.log").display()
        );
    }
    result
}

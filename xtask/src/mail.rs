//! A throwaway mail system on loopback for the test suite: Postfix (SMTP) hands
//! mail for `shop.test` and `customer.test` over LMTP to Dovecot (IMAP with IDLE).
//! Configuration, queue, sockets and mail all live in one temporary directory;
//! nothing under /etc is read or written, and nothing is relayed off the machine.
//!
//! Users: `s01`…`s16@shop.test` (support mailboxes) and `c01`…`c16@customer.test`
//! (customers), password `pw-` + the local part. Tests take one pair each.

use crate::{Result, apt_install, fail, free_port, run, succeeds};
use std::fs;
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const MAIN_CF: &str = include_str!("../mail/main.cf");
const MASTER_CF: &str = include_str!("../mail/master.cf");
const DOVECOT_CONF: &str = include_str!("../mail/dovecot.conf");
const USERS: usize = 16;

pub struct MailServer {
    dir: PathBuf,
    pub smtp: u16,
    pub imap: u16,
    pub imaps: u16,
}

fn installed() -> bool {
    Path::new("/usr/sbin/postfix").is_file()
        && Path::new("/usr/sbin/dovecot").is_file()
        && Path::new("/usr/lib/dovecot/lmtp").is_file()
        && Path::new("/usr/lib/dovecot/imap").is_file()
}

/// Installs Postfix and Dovecot from Debian's packages when they are missing.
fn ensure_installed() -> Result<()> {
    if installed() {
        return Ok(());
    }
    if !crate::is_root() {
        return fail(
            "Postfix and Dovecot are needed for the mail suite: install postfix, dovecot-imapd \
             and dovecot-lmtpd, or run as root so that xtask installs them",
        );
    }
    println!("Postfix/Dovecot not found; installing them with apt-get");
    // Postfix asks how to configure itself unless told beforehand.
    let mut preseed = Command::new("sh");
    preseed.args([
        "-c",
        "echo 'postfix postfix/main_mailer_type select No configuration' | debconf-set-selections",
    ]);
    run(&mut preseed, "debconf-set-selections")?;
    apt_install(&["postfix", "dovecot-imapd", "dovecot-lmtpd"])?;
    if installed() {
        Ok(())
    } else {
        fail("postfix/dovecot still not found after install")
    }
}

/// xtask is a plain synchronous program with no async runtime to block.
#[allow(clippy::disallowed_methods)]
pub(crate) fn pause(ms: u64) {
    std::thread::sleep(Duration::from_millis(ms));
}

fn port_open(port: u16) -> bool {
    TcpStream::connect_timeout(&([127, 0, 0, 1], port).into(), Duration::from_millis(200)).is_ok()
}

fn write(path: &Path, text: &str) -> Result<()> {
    fs::write(path, text).or_else(|e| fail(format!("writing {}: {e}", path.display())))
}

impl MailServer {
    pub fn start() -> Result<MailServer> {
        if !crate::is_root() {
            return fail("the mail suite starts Postfix and Dovecot, which needs root");
        }
        ensure_installed()?;
        let dir = std::env::temp_dir().join(format!("otk-mail-{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        let (smtp, imap, imaps) = (free_port()?, free_port()?, free_port()?);
        let server = MailServer {
            dir,
            smtp,
            imap,
            imaps,
        };
        let d = &server.dir;
        for sub in [
            "tls",
            "postfix",
            "postfix-queue",
            "dovecot/run",
            "dovecot/state",
            "mail",
            "log",
        ] {
            fs::create_dir_all(d.join(sub))
                .or_else(|e| fail(format!("creating {}: {e}", d.display())))?;
        }
        let render = |t: &str| {
            t.replace("{DIR}", &d.display().to_string())
                .replace("{SMTP_PORT}", &smtp.to_string())
                .replace("{IMAPS_PORT}", &imaps.to_string())
                .replace("{IMAP_PORT}", &imap.to_string())
        };
        let mut users = String::new();
        let mut vmailbox = String::new();
        for n in 1..=USERS {
            for (local, domain) in [
                (format!("s{n:02}"), "shop.test"),
                (format!("c{n:02}"), "customer.test"),
            ] {
                users.push_str(&format!("{local}@{domain}:{{PLAIN}}pw-{local}::::::\n"));
                vmailbox.push_str(&format!("{local}@{domain} ok\n"));
            }
        }
        let mut cert = Command::new("openssl");
        cert.args([
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-days",
            "2",
            "-subj",
            "/CN=127.0.0.1",
        ])
        .args([
            "-addext",
            "subjectAltName=IP:127.0.0.1,DNS:localhost",
            "-keyout",
        ])
        .arg(d.join("tls/key.pem"))
        .arg("-out")
        .arg(d.join("tls/cert.pem"))
        .stdout(Stdio::null())
        .stderr(Stdio::null());
        run(&mut cert, "openssl req (a self-signed test certificate)")?;
        write(&d.join("postfix/main.cf"), &render(MAIN_CF))?;
        write(&d.join("postfix/master.cf"), &render(MASTER_CF))?;
        write(&d.join("postfix/vmailbox"), &vmailbox)?;
        write(&d.join("dovecot/dovecot.conf"), &render(DOVECOT_CONF))?;
        write(&d.join("dovecot/users"), &users)?;
        // Postfix must be able to traverse the directory; Dovecot stores mail as `mail`.
        run(Command::new("chmod").arg("0755").arg(d), "chmod")?;
        run(
            Command::new("chown").arg("mail:mail").arg(d.join("mail")),
            "chown",
        )?;
        run(
            Command::new("chown")
                .arg("root:dovecot")
                .arg(d.join("dovecot/users")),
            "chown",
        )?;
        run(
            Command::new("chmod")
                .arg("0640")
                .arg(d.join("dovecot/users")),
            "chmod",
        )?;
        // Postfix re-reads files younger than 2 s until they settle: backdate them.
        for f in [
            "postfix/main.cf",
            "postfix/master.cf",
            "postfix/vmailbox",
            "dovecot/dovecot.conf",
            "dovecot/users",
        ] {
            if let Ok(file) = fs::File::options().write(true).open(d.join(f))
                && let Ok(written) = file.metadata().and_then(|m| m.modified())
            {
                let _ = file.set_modified(written - Duration::from_secs(60));
            }
        }
        let log = |name: &str| {
            fs::File::create(d.join("log").join(name))
                .map(Stdio::from)
                .unwrap_or_else(|_| Stdio::null())
        };
        // The Dovecot master keeps its stdio open: give it files, not our pipes.
        let mut dovecot = Command::new("/usr/sbin/dovecot");
        dovecot
            .arg("-c")
            .arg(d.join("dovecot/dovecot.conf"))
            .current_dir("/")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(log("dovecot-start.err"));
        let mut postfix = Command::new("/usr/sbin/postfix");
        postfix
            .arg("-c")
            .arg(d.join("postfix"))
            .arg("start")
            .current_dir("/")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(log("postfix-start.err"));
        if !succeeds(&mut dovecot) || !succeeds(&mut postfix) {
            server.show_logs();
            return fail("could not start Postfix/Dovecot (logs above)");
        }
        let t0 = Instant::now();
        while !(port_open(smtp)
            && port_open(imap)
            && port_open(imaps)
            && d.join("dovecot/run/lmtp").exists())
        {
            if t0.elapsed() > Duration::from_secs(20) {
                server.show_logs();
                return fail("Postfix/Dovecot did not open their ports within 20 s (logs above)");
            }
            pause(50);
        }
        println!(
            "mail server: SMTP 127.0.0.1:{smtp}, IMAP 127.0.0.1:{imap} (in {})",
            d.display()
        );
        Ok(server)
    }

    /// `smtp=HOST:PORT;imap=HOST:PORT;imaps=HOST:PORT`, as the test suite reads it.
    pub fn env_value(&self) -> String {
        format!(
            "smtp=127.0.0.1:{};imap=127.0.0.1:{};imaps=127.0.0.1:{}",
            self.smtp, self.imap, self.imaps
        )
    }

    fn show_logs(&self) {
        for f in [
            "postfix.log",
            "dovecot.log",
            "dovecot-start.err",
            "postfix-start.err",
        ] {
            let text = fs::read_to_string(self.dir.join("log").join(f)).unwrap_or_default();
            let tail: Vec<&str> = text.lines().rev().take(30).collect();
            eprintln!("--- {f} ---");
            for l in tail.into_iter().rev() {
                eprintln!("{l}");
            }
        }
    }

    /// The pids of this instance's processes: their working directory is inside
    /// ours, or Dovecot named them after the instance.
    fn pids(&self) -> Vec<u32> {
        let mut out = Vec::new();
        let name = format!("otk-dovecot-{}", self.imap);
        for entry in fs::read_dir("/proc").into_iter().flatten().flatten() {
            let Some(pid) = entry
                .file_name()
                .to_str()
                .and_then(|s| s.parse::<u32>().ok())
            else {
                continue;
            };
            let exe = fs::read_link(entry.path().join("exe")).unwrap_or_default();
            let exe = exe.to_string_lossy();
            if !(exe.contains("postfix") || exe.contains("dovecot")) {
                continue;
            }
            let cwd = fs::read_link(entry.path().join("cwd")).unwrap_or_default();
            let cmdline = fs::read(entry.path().join("cmdline")).unwrap_or_default();
            if cwd.starts_with(&self.dir) || String::from_utf8_lossy(&cmdline).contains(&name) {
                out.push(pid);
            }
        }
        out
    }
}

impl Drop for MailServer {
    fn drop(&mut self) {
        let _ = Command::new("/usr/sbin/postfix")
            .arg("-c")
            .arg(self.dir.join("postfix"))
            .arg("abort")
            .stderr(Stdio::null())
            .status();
        if let Ok(pid) = fs::read_to_string(self.dir.join("dovecot/run/master.pid")) {
            let _ = Command::new("kill")
                .args(["-TERM", "--", &format!("-{}", pid.trim())])
                .stderr(Stdio::null())
                .status();
        }
        let t0 = Instant::now();
        while !self.pids().is_empty() && t0.elapsed() < Duration::from_secs(10) {
            pause(100);
        }
        let left = self.pids();
        if !left.is_empty() {
            eprintln!("xtask: warning: killing leftover mail processes {left:?}");
            let mut kill = Command::new("kill");
            kill.arg("-KILL").args(left.iter().map(u32::to_string));
            let _ = kill.status();
        }
        if let Err(e) = fs::remove_dir_all(&self.dir) {
            eprintln!("xtask: warning: cannot remove {}: {e}", self.dir.display());
        }
    }
}

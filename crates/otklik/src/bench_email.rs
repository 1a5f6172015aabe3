//! `otklik bench email`: writes a spool of varied messages (Russian, Thai and
//! English text in UTF-8 and the legacy charsets, quoted-printable and base64,
//! HTML alternatives, attachments, replies that thread), ingests the spool into
//! a fresh embedded database with concurrent workers — parse and store, as the
//! IMAP poller and the SMTP receiver do — then checks that every message was
//! stored exactly once and that a second pass stores nothing.

use crate::app::open_engine;
use crate::config::Config;
use anyhow::{Context, bail};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Instant;

const RU: &str = "Здравствуйте! Не могу войти в личный кабинет после смены пароля. Номер заказа 12345. Помогите, пожалуйста.";
const TH: &str = "สวัสดีค่ะ สินค้าที่ได้รับชำรุด ต้องการขอคืนเงินค่ะ หมายเลขคำสั่งซื้อ 67890 แนบรูปถ่ายมาด้วยค่ะ";
const EN: &str = "Hello, my parcel has not arrived yet. The tracking page says it left the warehouse a week ago. Order 4242.";

fn b64(bytes: &[u8]) -> String {
    use base64::Engine as _;
    let s = base64::engine::general_purpose::STANDARD.encode(bytes);
    s.as_bytes()
        .chunks(76)
        .map(|c| String::from_utf8_lossy(c).into_owned())
        .collect::<Vec<_>>()
        .join("\r\n")
}

fn qp(bytes: &[u8]) -> String {
    let mut out = String::new();
    let mut line = 0;
    for &b in bytes {
        let piece = if (33..=126).contains(&b) && b != b'=' || b == b' ' {
            (b as char).to_string()
        } else if b == b'\n' {
            line = 0;
            out.push_str("\r\n");
            continue;
        } else {
            format!("={b:02X}")
        };
        if line + piece.len() > 73 {
            out.push_str("=\r\n");
            line = 0;
        }
        line += piece.len();
        out.push_str(&piece);
    }
    out
}

/// One generated message: (raw bytes, its Message-ID).
fn message(i: usize) -> (Vec<u8>, String) {
    let id = format!("bench-{i}@example.net");
    let (text, charset, enc): (&str, &str, &'static encoding_rs::Encoding) = match i % 6 {
        0 => (RU, "koi8-r", encoding_rs::KOI8_R),
        1 => (RU, "windows-1251", encoding_rs::WINDOWS_1251),
        2 => (TH, "tis-620", encoding_rs::WINDOWS_874),
        3 => (RU, "iso-8859-5", encoding_rs::ISO_8859_5),
        4 => (TH, "utf-8", encoding_rs::UTF_8),
        _ => (EN, "utf-8", encoding_rs::UTF_8),
    };
    let body = format!("{text}\n\n{text}\n\n-- \nbench {i}\n");
    let bytes = enc.encode(&body).0.into_owned();
    let subject_bytes = enc
        .encode(&text[..text.char_indices().nth(30).map_or(text.len(), |(n, _)| n)])
        .0
        .into_owned();
    let subject = format!(
        "=?{charset}?B?{}?=",
        b64(&subject_bytes).replace("\r\n", "")
    );
    let sender = i % 2000;
    let mut h = format!(
        "From: Customer {sender} <customer{sender}@example.net>\r\nTo: Support <support@bench.example>\r\nSubject: {subject}\r\nMessage-ID: <{id}>\r\nDate: Mon, 23 Nov 2026 10:00:00 +0300\r\nMIME-Version: 1.0\r\n"
    );
    // Every third message answers an earlier one from the same sender.
    if i % 3 == 2 && i >= 2000 {
        h.push_str(&format!(
            "In-Reply-To: <bench-{}@example.net>\r\nReferences: <bench-{}@example.net>\r\n",
            i - 2000,
            i - 2000
        ));
    }
    let text_part = if i.is_multiple_of(2) {
        format!(
            "Content-Type: text/plain; charset={charset}\r\nContent-Transfer-Encoding: base64\r\n\r\n{}\r\n",
            b64(&bytes)
        )
    } else {
        format!(
            "Content-Type: text/plain; charset={charset}\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n{}\r\n",
            qp(&bytes)
        )
    };
    let raw = match i % 5 {
        // An HTML alternative.
        0 | 1 => {
            let html = enc
                .encode(&format!(
                    "<html><body><p>{}</p><blockquote>{text}</blockquote></body></html>",
                    body.replace('\n', "<br>")
                ))
                .0
                .into_owned();
            format!(
                "{h}Content-Type: multipart/alternative; boundary=\"alt{i}\"\r\n\r\n--alt{i}\r\n{text_part}--alt{i}\r\nContent-Type: text/html; charset={charset}\r\nContent-Transfer-Encoding: base64\r\n\r\n{}\r\n--alt{i}--\r\n",
                b64(&html)
            )
        }
        // An attachment (a small image or document, about 12 KB).
        2 => {
            let file: Vec<u8> = (0..12_000u32)
                .map(|n| (n.wrapping_mul(2_654_435_761).wrapping_add(i as u32) >> 11) as u8)
                .collect();
            format!(
                "{h}Content-Type: multipart/mixed; boundary=\"mix{i}\"\r\n\r\n--mix{i}\r\n{text_part}--mix{i}\r\nContent-Type: application/pdf\r\nContent-Disposition: attachment; filename*=utf-8''%D1%87%D0%B5%D0%BA_{i}.pdf\r\nContent-Transfer-Encoding: base64\r\n\r\n{}\r\n--mix{i}--\r\n",
                b64(&file)
            )
        }
        _ => format!("{h}{text_part}"),
    };
    (raw.into_bytes(), id)
}

/// Writes the spool: one `.eml` file per message.
fn write_spool(dir: &Path, n: usize) -> anyhow::Result<Vec<PathBuf>> {
    std::fs::create_dir_all(dir)?;
    let mut files = Vec::with_capacity(n);
    for i in 0..n {
        let p = dir.join(format!("{i:06}.eml"));
        std::fs::write(&p, message(i).0).with_context(|| format!("writing {}", p.display()))?;
        files.push(p);
        if (i + 1) % 1000 == 0 || i + 1 == n {
            eprint!("\rwriting the spool: {}/{n}", i + 1);
        }
    }
    eprintln!();
    Ok(files)
}

pub async fn email(
    messages: usize,
    concurrency: usize,
    spool: Option<PathBuf>,
) -> anyhow::Result<()> {
    if messages == 0 || concurrency == 0 {
        bail!("--messages and --concurrency must be at least 1");
    }
    let dir = tempfile::tempdir().context("creating a temporary data directory")?;
    let spool = spool.unwrap_or_else(|| dir.path().join("spool"));
    let files = write_spool(&spool, messages)?;
    let bytes: u64 = files
        .iter()
        .filter_map(|f| std::fs::metadata(f).ok())
        .map(|m| m.len())
        .sum();
    let config = Config {
        data_dir: dir.path().join("data"),
        ..Config::default()
    };
    let engine = open_engine(&config, Arc::new(store::SystemClock)).await?;
    let r = async {
        engine.create_workspace("bench", "owner@bench.example", "bench-password").await.map_err(|e| anyhow::anyhow!("{e}"))?;
        let p = engine.cli_principal("bench").await.map_err(|e| anyhow::anyhow!("{e}"))?;
        let input: engine::email::MailboxInput = serde_json::from_value(serde_json::json!({
            "name": "Support", "address": "support@bench.example", "inbound": {"kind": "pipe"},
            "settings": {"auto_ack": {"enabled": false}}
        }))?;
        let view = engine.create_mailbox(&p, input).await.map_err(|e| anyhow::anyhow!("{e}"))?;
        let mb = engine.mailbox_config(p.workspace_id, view.id).await.map_err(|e| anyhow::anyhow!("{e}"))?;
        let pass = |label: &'static str| {
            let (engine, mb, files) = (engine.clone(), mb.clone(), files.clone());
            async move {
                let next = Arc::new(AtomicUsize::new(0));
                let stats = Arc::new((AtomicUsize::new(0), AtomicUsize::new(0), AtomicUsize::new(0)));
                let started = Instant::now();
                let mut tasks = Vec::new();
                for _ in 0..concurrency {
                    let (engine, mb, files, next, stats) = (engine.clone(), mb.clone(), files.clone(), next.clone(), stats.clone());
                    tasks.push(tokio::spawn(async move {
                        loop {
                            let i = next.fetch_add(1, Ordering::Relaxed);
                            let Some(f) = files.get(i) else { return };
                            let raw = match tokio::fs::read(f).await {
                                Ok(r) => r,
                                Err(_) => {
                                    stats.2.fetch_add(1, Ordering::Relaxed);
                                    continue;
                                }
                            };
                            match channels::email::inbound::ingest_raw(&engine, &mb, raw.into(), Default::default()).await {
                                Ok(r) if r.duplicate => stats.1.fetch_add(1, Ordering::Relaxed),
                                Ok(_) => stats.0.fetch_add(1, Ordering::Relaxed),
                                Err(e) => {
                                    eprintln!("\nmessage {}: {e}", f.display());
                                    stats.2.fetch_add(1, Ordering::Relaxed)
                                }
                            };
                        }
                    }));
                }
                let total = files.len();
                loop {
                    let done = stats.0.load(Ordering::Relaxed) + stats.1.load(Ordering::Relaxed) + stats.2.load(Ordering::Relaxed);
                    eprint!("\r{label}: {done}/{total}");
                    if done >= total || tasks.iter().all(|t| t.is_finished()) {
                        break;
                    }
                    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
                }
                for t in tasks {
                    let _ = t.await;
                }
                eprintln!();
                let secs = started.elapsed().as_secs_f64();
                (stats.0.load(Ordering::Relaxed), stats.1.load(Ordering::Relaxed), stats.2.load(Ordering::Relaxed), secs)
            }
        };
        let (stored, dupes, failed, secs) = pass("ingesting").await;
        let rate = messages as f64 / secs;
        println!("email ingest, SQLite (WAL, synchronous=FULL), {concurrency} workers:");
        println!("  {messages} messages, {:.1} MB, in {secs:.2} s: {rate:.0} messages/s ({:.1} MB/s)", bytes as f64 / 1e6, bytes as f64 / 1e6 / secs);
        println!("  stored {stored}, duplicates {dupes}, failed {failed}");
        // Verification: one record per message, and the replay stores nothing.
        let totals = engine.totals().await?;
        let (records, tickets) = (totals.inbound_emails, totals.tickets);
        let (again, again_dupes, again_failed, again_secs) = pass("ingesting again").await;
        println!("  {records} messages recorded on {tickets} tickets; a second pass stored {again} and recognised {again_dupes} duplicates in {again_secs:.2} s");
        if stored != messages || failed != 0 || records != messages as i64 || again != 0 || again_failed != 0 || again_dupes != messages {
            bail!("verification failed: every message must be stored exactly once");
        }
        println!("  verified: none lost, none doubled");
        Ok::<_, anyhow::Error>(())
    }
    .await;
    engine.close().await;
    r
}

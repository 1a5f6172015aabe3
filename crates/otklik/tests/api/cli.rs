//! The command line, run as a separate process on its own data directory.

use std::process::Command;

fn otklik(dir: &std::path::Path, args: &[&str]) -> (bool, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_otklik"))
        .args(args)
        .env("OTKLIK_DATA_DIR", dir)
        .env_remove("DATABASE_URL")
        .env_remove("OTKLIK_DATABASE_URL")
        .output()
        .expect("run otklik");
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn administration_commands_work_and_errors_are_one_line() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    assert!(otklik(d, &["migrate"]).0);
    let (ok, _, err) = otklik(
        d,
        &[
            "workspace",
            "create",
            "shop",
            "--owner",
            "Boss@Shop.example",
            "--password",
            "pw-123456",
        ],
    );
    assert!(ok, "{err}");
    let (ok, _, err) = otklik(
        d,
        &[
            "user",
            "add",
            "--workspace",
            "shop",
            "--email",
            "agent@shop.example",
            "--role",
            "agent",
        ],
    );
    assert!(ok, "{err}");
    let (ok, out, err) = otklik(
        d,
        &[
            "token",
            "create",
            "--workspace",
            "shop",
            "--user",
            "boss@shop.example",
            "--name",
            "ci",
        ],
    );
    assert!(ok, "{err}");
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines.len(), 1, "only the token on stdout: {out:?}");
    assert!(
        lines[0].starts_with("otk_") && lines[0].len() == 47,
        "{out:?}"
    );
    // Errors: one line on stderr, non-zero exit, nothing on stdout.
    for (args, needle) in [
        (
            vec![
                "workspace",
                "create",
                "shop",
                "--owner",
                "x@shop.example",
                "--password",
                "password-1",
            ],
            "already exists",
        ),
        (
            vec![
                "workspace",
                "create",
                "other",
                "--owner",
                "x@other.example",
                "--password",
                "short",
            ],
            "at least 8 characters",
        ),
        (
            vec![
                "user",
                "add",
                "--workspace",
                "nope",
                "--email",
                "a@b.example",
            ],
            "no workspace named",
        ),
        (
            vec![
                "user",
                "add",
                "--workspace",
                "shop",
                "--email",
                "a@b.example",
                "--role",
                "king",
            ],
            "--role",
        ),
        (
            vec![
                "user",
                "add",
                "--workspace",
                "shop",
                "--email",
                "agent@shop.example",
            ],
            "already exists",
        ),
        (
            vec![
                "token",
                "create",
                "--workspace",
                "shop",
                "--user",
                "ghost@shop.example",
            ],
            "no user",
        ),
        (
            vec![
                "workspace",
                "create",
                "Bad Name",
                "--owner",
                "x@y.example",
                "--password",
                "p",
            ],
            "name",
        ),
    ] {
        let (ok, out, err) = otklik(d, &args);
        assert!(!ok, "{args:?} should fail");
        assert!(out.is_empty(), "{args:?}: {out}");
        assert_eq!(err.trim().lines().count(), 1, "{args:?}: {err}");
        assert!(
            err.starts_with("error: ") && err.contains(needle),
            "{args:?}: {err}"
        );
    }
    // A bad configuration fails fast with the reason.
    let cfg = d.join("bad.toml");
    std::fs::write(&cfg, "listne = \"x\"\n").unwrap();
    let (ok, _, err) = otklik(d, &["migrate", "--config", cfg.to_str().unwrap()]);
    assert!(!ok && err.contains("unknown field"), "{err}");
}

/// `otklik mail ingest`, as an MTA pipe transport runs it: the message on standard
/// input, and exit codes the MTA understands (0 stored, 65 bounce, 75 retry).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mail_ingest_takes_a_message_on_stdin_with_mta_exit_codes() {
    use std::io::Write;
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let mailbox = {
        let config = otklik::config::Config {
            data_dir: d.to_path_buf(),
            ..Default::default()
        };
        let engine = otklik::app::open_engine(&config, std::sync::Arc::new(store::SystemClock))
            .await
            .unwrap();
        engine
            .create_workspace("shop", "boss@shop.example", "pw-123456")
            .await
            .unwrap();
        let p = engine.cli_principal("shop").await.unwrap();
        let input = serde_json::from_value(serde_json::json!({"name": "Support", "address": "help@shop.example", "inbound": {"kind": "pipe"}})).unwrap();
        let m = engine.create_mailbox(&p, input).await.unwrap();
        engine.close().await;
        m.id.to_string()
    };
    let pipe = |input: &[u8], extra: &[&str]| {
        let mut args = vec![
            "mail",
            "ingest",
            "--workspace",
            "shop",
            "--mailbox",
            mailbox.as_str(),
        ];
        args.extend_from_slice(extra);
        let mut child = Command::new(env!("CARGO_BIN_EXE_otklik"))
            .args(&args)
            .env("OTKLIK_DATA_DIR", d)
            .env_remove("DATABASE_URL")
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        child.stdin.take().unwrap().write_all(input).unwrap();
        let out = child.wait_with_output().unwrap();
        (
            out.status.code(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    };
    let msg = b"From: Anna <anna@example.com>\r\nTo: help@shop.example\r\nSubject: Pipe\r\nMessage-ID: <pipe-1@example.com>\r\n\r\nHello\r\n";
    let (code, err) = pipe(msg, &[]);
    assert_eq!(code, Some(0), "{err}");
    assert!(err.contains("stored 1"), "{err}");
    let (code, err) = pipe(msg, &[]);
    assert_eq!(code, Some(0), "{err}");
    assert!(err.contains("1 already known"), "{err}");
    let (code, err) = pipe(b"", &[]);
    assert_eq!(code, Some(65), "an empty message bounces: {err}");
    assert_eq!(err.trim().lines().count(), 1, "{err}");
    // An mbox file: every message, once.
    let mbox = d.join("in.mbox");
    let mut f = std::fs::File::create(&mbox).unwrap();
    for i in 0..3 {
        write!(f, "From anna@example.com Mon Nov 23 10:00:00 2026\nFrom: anna@example.com\nSubject: box {i}\nMessage-ID: <box-{i}@example.com>\n\nbody {i}\n\n").unwrap();
    }
    drop(f);
    let (code, err) = pipe(b"", &["--mbox", mbox.to_str().unwrap()]);
    assert_eq!(code, Some(0), "{err}");
    assert!(err.contains("stored 3"), "{err}");
    let out = Command::new(env!("CARGO_BIN_EXE_otklik"))
        .args([
            "mail",
            "ingest",
            "--workspace",
            "shop",
            "--mailbox",
            "not-an-id",
        ])
        .env("OTKLIK_DATA_DIR", d)
        .env_remove("DATABASE_URL")
        .stdin(std::process::Stdio::null())
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(err.contains("--mailbox"), "{err}");
}

/// `serve --demo`, the README's first command: the demo workspace is seeded and
/// its printed credentials sign in.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_demo_seeds_and_its_credentials_work() {
    let dir = tempfile::tempdir().unwrap();
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_otklik"))
        .args([
            "serve",
            "--demo",
            "--listen",
            &format!("127.0.0.1:{port}"),
            "--data-dir",
        ])
        .arg(dir.path())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("start the server binary");
    let base = format!("http://127.0.0.1:{port}");
    let http = reqwest::Client::new();
    crate::helpers::until("the demo server answers", 120, async || {
        let r = http.get(format!("{base}/healthz")).send().await.ok()?;
        r.status().is_success().then_some(())
    })
    .await;
    let login = http
        .post(format!("{base}/api/v1/auth/login"))
        .json(
            &serde_json::json!({"workspace": otklik::demo::WORKSPACE, "email": otklik::demo::OWNER,
                                  "password": otklik::demo::PASSWORD}),
        )
        .send()
        .await
        .unwrap();
    let status = login.status();
    let cookie = login
        .headers()
        .get("set-cookie")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .unwrap_or_default()
        .to_owned();
    let get = async |path: &str| -> serde_json::Value {
        let r = http
            .get(format!("{base}{path}"))
            .header("cookie", &cookie)
            .send()
            .await
            .expect("get");
        r.json().await.unwrap_or_default()
    };
    // One customer across the phone and WhatsApp; a doubtful pair suggested.
    let maria = get("/api/v1/customers?q=79161112233").await;
    let pair = get("/api/v1/customers?q=79267778899").await;
    let first = pair["items"][0]["id"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    let suggested = get(&format!("/api/v1/customers/{first}/suggestions")).await;
    // Orders behind the conversations, linked where a message names one.
    let orders = get("/api/v1/orders?limit=5").await;
    let outreach = get("/api/v1/outreach/rules").await;
    let tickets = get("/api/v1/tickets?limit=30").await;
    // Triage read the conversations and sorted most as their agents did.
    let categories = get("/api/v1/triage/categories").await;
    let flows = get("/api/v1/assist/flows").await;
    // A day's work: a snoozed ticket with a mention and a duplicate merged in.
    let daniel = get("/api/v1/customers?q=daniel.walker@example.com").await;
    let daniel = daniel["items"][0]["id"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    let workday = get(&format!("/api/v1/tickets?customer_id={daniel}&limit=10")).await;
    // A company whose domain gathers its people.
    let orgs = get("/api/v1/organizations?q=romashka.example").await;
    let org_id = orgs["items"][0]["id"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    let members = get(&format!("/api/v1/organizations/{org_id}/customers")).await;
    // Quality review: agents reviewed, a queue waiting; report emails on.
    let quality = get("/api/v1/quality/agents").await;
    let queue = get("/api/v1/quality/samples").await;
    let digests = get("/api/v1/reports/digests").await;
    let mut read = 0;
    let mut sorted = 0;
    let mut agree = 0;
    for t in tickets["items"].as_array().into_iter().flatten() {
        let id = t["id"].as_str().unwrap_or_default();
        let triage = get(&format!("/api/v1/tickets/{id}/triage")).await;
        if let Some(first) = triage["items"].as_array().and_then(|i| i.first()) {
            read += 1;
            // Agreement is counted where agents sorted the ticket.
            if !t["category"].is_null() {
                sorted += 1;
                agree += usize::from(first["category"] == t["category"]);
            }
        }
    }
    let mut linked = 0;
    for t in tickets["items"].as_array().cloned().unwrap_or_default() {
        let o = get(&format!("/api/v1/tickets/{}/order", t["number"])).await;
        if o["order"].is_object() {
            linked += 1;
        }
    }
    let mut workday_events = Vec::new();
    for t in workday["items"].as_array().into_iter().flatten() {
        let id = t["id"].as_str().unwrap_or_default();
        let events = get(&format!("/api/v1/tickets/{id}/events")).await;
        workday_events.extend(
            events["items"]
                .as_array()
                .into_iter()
                .flatten()
                .map(|e| e["kind"].as_str().unwrap_or_default().to_owned()),
        );
    }
    let me = get("/api/v1/me/preferences").await;
    // The journey: the shop's touchpoints beside the system's, a campaign link.
    let journey = get("/api/v1/reports/journey").await;
    let links = get("/api/v1/links?campaign=spring").await;
    let _ = child.kill();
    let _ = child.wait();
    assert!(me["notify"]["replied"].as_bool().unwrap_or(false), "{me}");
    assert!(
        journey["customers"].as_i64().unwrap_or(0) >= 40,
        "{journey}"
    );
    let stages_with_customers = journey["stages"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|s| s["customers"].as_i64().unwrap_or(0) > 0)
        .count();
    assert_eq!(
        stages_with_customers, 5,
        "every stage has customers: {journey}"
    );
    assert_eq!(links["items"].as_array().map(Vec::len), Some(1), "{links}");
    assert_eq!(orgs["items"][0]["customers"], 2, "{orgs}");
    assert_eq!(
        orgs["items"][0]["custom_fields"]["contract"], "Д-2026/114",
        "{orgs}"
    );
    assert_eq!(members["items"].as_array().map(Vec::len), Some(2));
    assert!(
        quality["items"].as_array().is_some_and(|a| a.len() >= 3)
            && queue["items"].as_array().is_some_and(|q| !q.is_empty()),
        "{quality} {queue}"
    );
    assert_eq!(
        digests,
        serde_json::json!({"weekly": true, "monthly": true})
    );
    let items = workday["items"].as_array().cloned().unwrap_or_default();
    assert!(
        items
            .iter()
            .any(|t| t["snoozed_until"].is_string() && t["status"] == "pending"),
        "a snoozed ticket: {workday}"
    );
    assert!(
        items
            .iter()
            .any(|t| t["merged_into"].is_string() && t["status"] == "closed"),
        "a merged duplicate: {workday}"
    );
    for kind in ["ticket.merged", "message.mentioned"] {
        assert!(
            workday_events.iter().any(|k| k == kind),
            "{kind} in {workday_events:?}"
        );
    }
    assert_eq!(
        status, 200,
        "the demo owner signs in with the printed password"
    );
    assert_eq!(maria["items"].as_array().map(Vec::len), Some(1), "{maria}");
    assert_eq!(maria["items"][0]["name"], "Мария Соколова");
    assert_eq!(
        maria["items"][0]["identities"].as_array().map(Vec::len),
        Some(2)
    );
    assert_eq!(pair["items"].as_array().map(Vec::len), Some(2), "{pair}");
    assert_eq!(
        suggested["items"][0]["reason"], "names_differ",
        "{suggested}"
    );
    assert_eq!(
        orders["items"].as_array().map(Vec::len),
        Some(5),
        "{orders}"
    );
    assert!(linked > 0, "some demo tickets are about their order");
    assert_eq!(
        outreach["items"].as_array().map(Vec::len),
        Some(4),
        "{outreach}"
    );
    assert_eq!(
        categories["items"].as_array().map(Vec::len),
        Some(6),
        "{categories}"
    );
    assert!(read >= 20, "triage read {read} of the newest 30 tickets");
    assert!(
        sorted >= 10 && agree * 2 >= sorted,
        "triage agreed with the agents on {agree} of {sorted}"
    );
    assert_eq!(flows["items"].as_array().map(Vec::len), Some(3), "{flows}");
}

/// A workspace made on the command line starts with the defaults (teams L1–L3
/// escalating one to the next, SLA policies for chats and email); `--bare`
/// leaves them out.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_new_workspace_starts_with_good_defaults() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    for args in [
        vec![
            "workspace",
            "create",
            "shop",
            "--owner",
            "boss@shop.example",
            "--password",
            "pw-123456",
        ],
        vec![
            "workspace",
            "create",
            "bare",
            "--owner",
            "boss@bare.example",
            "--password",
            "pw-123456",
            "--bare",
        ],
    ] {
        let (ok, _, err) = otklik(d, &args);
        assert!(ok, "{err}");
    }
    let config = otklik::config::Config {
        data_dir: d.to_path_buf(),
        ..Default::default()
    };
    let engine = otklik::app::open_engine(&config, std::sync::Arc::new(store::SystemClock))
        .await
        .unwrap();
    let p = engine.cli_principal("shop").await.unwrap();
    let teams = engine.teams(&p, None, Some(50)).await.unwrap();
    let by_name = |n: &str| teams.iter().find(|t| t.name == n).unwrap().clone();
    let (l1, l2, l3) = (by_name("L1"), by_name("L2"), by_name("L3"));
    assert_eq!((l1.tier, l2.tier, l3.tier), (1, 2, 3));
    assert_eq!(
        (l1.escalate_to, l2.escalate_to, l3.escalate_to),
        (Some(l2.id), Some(l3.id), None)
    );
    assert_eq!(l1.routing, domain::routing::RoutingMode::LeastLoaded);
    let policies = engine.sla_policies(&p).await.unwrap();
    let chat = &policies[0];
    assert!(
        chat.conditions
            .channel
            .contains(&domain::ticket::Channel::Chat)
    );
    assert_eq!(chat.targets.first_reply_ms, Some(5 * 60_000));
    let email = &policies[1];
    assert_eq!(
        email.conditions.channel,
        vec![domain::ticket::Channel::Email]
    );
    assert_eq!(email.targets.first_reply_ms, Some(24 * 3_600_000));
    let rules: Vec<(String, &str)> = engine
        .rules(&p, None)
        .await
        .unwrap()
        .into_iter()
        .map(|r| (r.name, r.spec.kind.as_str()))
        .collect();
    assert_eq!(
        rules,
        [
            ("Follow up when solved".to_owned(), "trigger"),
            ("Remind after 3 days pending".to_owned(), "automation"),
            ("Close 4 days after solved".to_owned(), "automation"),
        ]
    );
    let bare = engine.cli_principal("bare").await.unwrap();
    assert!(
        engine
            .teams(&bare, None, Some(50))
            .await
            .unwrap()
            .is_empty()
    );
    assert!(engine.sla_policies(&bare).await.unwrap().is_empty());
    engine.close().await;
}

/// `otklik import orders`: rows of one order grouped, a bad row failing its
/// order only (named by line), progress shown, and a second import of the
/// same file changing nothing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn orders_import_from_csv_and_again_changes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let (ok, _, err) = otklik(
        d,
        &[
            "workspace",
            "create",
            "shop",
            "--owner",
            "boss@shop.example",
            "--password",
            "pw-123456",
        ],
    );
    assert!(ok, "{err}");
    let csv = "external_id,number,email,name,status,currency,total,placed_at,sku,item_name,quantity,price,carrier,tracking_number,tracking_url,shipment_status\n\
        5531,5531,anna@example.com,Анна,shipped,RUB,5990.00,2026-11-20T10:00:00Z,SPK-1,Умная колонка,1,4990.00,CDEK,RU1,https://cdek.example/RU1,in_transit\n\
        5531,,,,,,,,CBL-2,\"Кабель, 2 м\",2,500.00,,,,\n\
        5532,5532,boris@example.com,Борис,paid,RUB,990.00,2026-11-21T10:00:00Z,CBL-2,Кабель,1,990.00,,,,\n\
        5533,5533,vera@example.com,Вера,lost,RUB,10.00,,,,,,,,,\n";
    let file = d.join("orders.csv");
    std::fs::write(&file, csv).unwrap();
    let path = file.to_str().unwrap();
    let (ok, _, err) = otklik(d, &["import", "orders", path, "--workspace", "shop"]);
    assert!(!ok, "a failed order is a failed import");
    assert!(
        err.contains("2 new, 0 updated, 0 unchanged, 1 failed"),
        "{err}"
    );
    assert!(
        err.contains("line 5 (order \"5533\")") && err.contains("lost"),
        "{err}"
    );
    assert!(
        err.contains("importing [") && err.contains("100%"),
        "progress: {err}"
    );
    let (_, _, err) = otklik(d, &["import", "orders", path, "--workspace", "shop"]);
    assert!(
        err.contains("0 new, 0 updated, 2 unchanged, 1 failed"),
        "{err}"
    );

    let config = otklik::config::Config {
        data_dir: d.to_path_buf(),
        ..Default::default()
    };
    let engine = otklik::app::open_engine(&config, std::sync::Arc::new(store::SystemClock))
        .await
        .unwrap();
    let p = engine.cli_principal("shop").await.unwrap();
    let orders = engine
        .orders(&p, None, Some("5531"), None, None)
        .await
        .unwrap();
    let o = &orders[0].order;
    assert_eq!(o.items.len(), 2);
    assert_eq!(o.items[1].name, "Кабель, 2 м");
    assert_eq!(
        o.shipments[0].tracking_url.as_deref(),
        Some("https://cdek.example/RU1")
    );
    engine.close().await;
}

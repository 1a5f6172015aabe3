//! The layering rules, checked on the source tree: `web` and `channels` reach data
//! only through the engine, the engine keeps its store private, and no SQL lives
//! outside the `store` crate. Plus the role check on the workspace event stream,
//! the one service the layering change moved behind the engine.

use crate::helpers::TestApp;
use std::path::{Path, PathBuf};

crate::on_both!(the_event_stream_is_for_admins_and_integrations);

fn crates_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn dependencies(krate: &str) -> Vec<String> {
    let text = std::fs::read_to_string(crates_dir().join(krate).join("Cargo.toml")).unwrap();
    let manifest: toml::Table = toml::from_str(&text).unwrap();
    ["dependencies", "dev-dependencies", "build-dependencies"]
        .iter()
        .filter_map(|section| manifest.get(*section).and_then(|d| d.as_table()))
        .flat_map(|t| t.keys().cloned())
        .collect()
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

#[test]
fn web_and_channels_use_the_engine_only() {
    for krate in ["web", "channels"] {
        let deps = dependencies(krate);
        for forbidden in ["store", "sqlx", "rusqlite"] {
            assert!(
                !deps.iter().any(|d| d == forbidden),
                "crates/{krate} depends on {forbidden}: it must reach data through the engine"
            );
        }
    }
    let engine = std::fs::read_to_string(crates_dir().join("engine/src/lib.rs")).unwrap();
    assert!(
        engine.contains("pub(crate) store: Store,") && !engine.contains("pub store:"),
        "the engine's store must stay private"
    );
}

#[test]
fn no_sql_outside_the_store_crate() {
    let markers = [
        "SELECT ",
        "INSERT INTO",
        "DELETE FROM",
        "CREATE TABLE",
        "sqlx::",
        "rusqlite::",
    ];
    let mut files = Vec::new();
    for entry in std::fs::read_dir(crates_dir()).unwrap() {
        let krate = entry.unwrap().path();
        if krate.file_name().is_some_and(|n| n == "store") {
            continue;
        }
        // Product code only: tests may look beneath the services to check them.
        if krate.join("src").is_dir() {
            rust_files(&krate.join("src"), &mut files);
        }
    }
    assert!(files.len() > 20, "the source tree was not found");
    let mut found = Vec::new();
    for f in files {
        let text = std::fs::read_to_string(&f).unwrap();
        for (i, line) in text.lines().enumerate() {
            let update = line.contains("\"UPDATE ") && line.contains(" SET ");
            if update || markers.iter().any(|m| line.contains(m)) {
                found.push(format!("{}:{}: {}", f.display(), i + 1, line.trim()));
            }
        }
    }
    assert!(
        found.is_empty(),
        "SQL outside crates/store:\n{}",
        found.join("\n")
    );
}

async fn the_event_stream_is_for_admins_and_integrations(app: TestApp) {
    app.ticket("Stream", "s@example.com").await;
    // The owner's API token reads it.
    let page = app.get("/api/v1/events").await.expect(200);
    assert!(!page["items"].as_array().unwrap().is_empty());
    // Agents and light agents do not, with a session or with a token made for them.
    for role in ["agent", "light_agent"] {
        let (_, token) = app.user(&format!("{role}@alpha.test"), role).await;
        let r = app.req("GET", "/api/v1/events", &token, None).await;
        assert_eq!(r.status, 403, "{role}'s token read the event stream");
        let login = app
            .client
            .post(app.url("/api/v1/auth/login"))
            .json(&serde_json::json!({"workspace": "alpha", "email": format!("{role}@alpha.test"), "password": "user-password"}))
            .send()
            .await
            .unwrap();
        assert_eq!(login.status(), 200, "{role} logs in");
        let cookie = login
            .headers()
            .get("set-cookie")
            .and_then(|v| v.to_str().ok())
            .and_then(|c| c.split(';').next())
            .unwrap()
            .to_owned();
        let r = app
            .client
            .get(app.url("/api/v1/events"))
            .header("cookie", cookie)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 403, "{role} read the event stream");
        let body: serde_json::Value = r.json().await.unwrap();
        assert_eq!(body["status"], 403);
    }
}

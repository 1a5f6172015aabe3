//! A small Chrome DevTools Protocol client for the browser tests: starts Debian's
//! headless Chromium, opens pages in separate browser contexts (separate cookie
//! jars, so two agents can be signed in at once), evaluates script, types keys,
//! resizes the viewport and takes screenshots.

use futures::{SinkExt, StreamExt};
use serde_json::{Value, json};
use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::sync::{mpsc, oneshot};
use tokio_tungstenite::tungstenite::Message;

type Pending = Arc<Mutex<HashMap<u64, oneshot::Sender<Value>>>>;

/// The browser, or `None` when none is configured (plain `cargo test`); under
/// `cargo xtask ci` a missing browser fails the run.
pub fn chromium_path() -> Option<PathBuf> {
    let configured = std::env::var("OTKLIK_TEST_CHROMIUM")
        .ok()
        .filter(|s| !s.is_empty());
    let path = configured
        .map(PathBuf::from)
        .or_else(|| Some(PathBuf::from("/usr/bin/chromium")).filter(|p| p.exists()));
    if path.is_none() {
        if std::env::var("OTKLIK_TEST_REQUIRE_BROWSER").is_ok_and(|v| v == "1") {
            panic!(
                "OTKLIK_TEST_REQUIRE_BROWSER=1 but no Chromium was found: the browser suite cannot run"
            );
        }
        crate::helpers::skipped(
            std::thread::current().name().unwrap_or("a browser test"),
            "no Chromium: install chromium or set OTKLIK_TEST_CHROMIUM (cargo xtask ci does)",
        );
    }
    path
}

/// A running headless Chromium.
pub struct Browser {
    child: tokio::process::Child,
    out: mpsc::UnboundedSender<String>,
    pending: Pending,
    /// Dialogs (alert, confirm, prompt) each page opened: script ran that should not.
    pub dialogs: Arc<Mutex<Vec<String>>>,
    next: Arc<AtomicU64>,
    _profile: tempfile::TempDir,
    pub pages: Mutex<Vec<Page>>,
}

/// One tab, in its own browser context.
#[derive(Clone)]
pub struct Page {
    session: String,
    out: mpsc::UnboundedSender<String>,
    pending: Pending,
    next: Arc<AtomicU64>,
    pub name: String,
    /// The page's browser context (its own cookies and permissions).
    pub context: String,
}

impl Browser {
    pub async fn launch(path: &std::path::Path) -> Browser {
        let profile = tempfile::tempdir().expect("profile dir");
        let mut child = tokio::process::Command::new(path)
            .args([
                "--headless=new",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-quic",
                "--no-first-run",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--disable-extensions",
                "--disable-dev-shm-usage",
                "--remote-debugging-port=0",
            ])
            .arg(format!("--user-data-dir={}", profile.path().display()))
            .arg("about:blank")
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .expect("start chromium");
        let stderr = child.stderr.take().expect("stderr");
        let mut lines = BufReader::new(stderr).lines();
        let url = tokio::time::timeout(Duration::from_secs(30), async {
            while let Ok(Some(line)) = lines.next_line().await {
                if let Some(u) = line.strip_prefix("DevTools listening on ") {
                    return u.trim().to_owned();
                }
            }
            panic!("chromium exited before it listened");
        })
        .await
        .expect("chromium did not start within 30 s");
        // Keep draining stderr so Chromium never blocks on a full pipe.
        tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
        let (ws, _) = tokio_tungstenite::connect_async(url.as_str())
            .await
            .expect("connect to devtools");
        let (mut sink, mut stream) = ws.split();
        let (out, mut rx) = mpsc::unbounded_channel::<String>();
        tokio::spawn(async move {
            while let Some(m) = rx.recv().await {
                if sink.send(Message::Text(m.into())).await.is_err() {
                    return;
                }
            }
        });
        let pending: Pending = Arc::default();
        let dialogs: Arc<Mutex<Vec<String>>> = Arc::default();
        let next = Arc::new(AtomicU64::new(1));
        {
            let pending = pending.clone();
            let dialogs = dialogs.clone();
            let out = out.clone();
            let next = next.clone();
            tokio::spawn(async move {
                while let Some(Ok(msg)) = stream.next().await {
                    let Message::Text(text) = msg else { continue };
                    let Ok(v) = serde_json::from_str::<Value>(text.as_str()) else {
                        continue;
                    };
                    if let Some(id) = v["id"].as_u64() {
                        if let Some(tx) = pending.lock().expect("lock").remove(&id) {
                            let _ = tx.send(v);
                        }
                    } else if v["method"] == "Page.javascriptDialogOpening" {
                        dialogs.lock().expect("lock").push(
                            v["params"]["message"]
                                .as_str()
                                .unwrap_or_default()
                                .to_owned(),
                        );
                        // Dismiss it, or the page stays blocked.
                        let id = next.fetch_add(1, Ordering::SeqCst);
                        let _ = out.send(
                            json!({"id": id, "method": "Page.handleJavaScriptDialog", "params": {"accept": true},
                                   "sessionId": v["sessionId"]})
                            .to_string(),
                        );
                    }
                }
            });
        }
        Browser {
            child,
            out,
            pending,
            dialogs,
            next,
            _profile: profile,
            pages: Mutex::new(Vec::new()),
        }
    }

    async fn call(&self, method: &str, params: Value) -> Value {
        call(&self.out, &self.pending, &self.next, None, method, params).await
    }

    /// A new tab in a fresh browser context (its own cookies).
    pub async fn page(&self, name: &str) -> Page {
        let ctx = self.call("Target.createBrowserContext", json!({})).await;
        let ctx = ctx["browserContextId"]
            .as_str()
            .expect("context")
            .to_owned();
        let t = self
            .call(
                "Target.createTarget",
                json!({"url": "about:blank", "browserContextId": ctx}),
            )
            .await;
        let target = t["targetId"].as_str().expect("target").to_owned();
        let s = self
            .call(
                "Target.attachToTarget",
                json!({"targetId": target, "flatten": true}),
            )
            .await;
        let page = Page {
            session: s["sessionId"].as_str().expect("session").to_owned(),
            out: self.out.clone(),
            pending: self.pending.clone(),
            next: self.next.clone(),
            name: name.to_owned(),
            context: ctx.clone(),
        };
        page.call("Page.enable", json!({})).await;
        page.call("Runtime.enable", json!({})).await;
        self.pages.lock().expect("lock").push(page.clone());
        page
    }

    /// Grants a permission (say "notifications") to `origin` in a page's context,
    /// as a person clicking "Allow" would.
    pub async fn grant(&self, page: &Page, origin: &str, permission: &str) {
        self.call(
            "Browser.grantPermissions",
            json!({"origin": origin, "permissions": [permission], "browserContextId": page.context}),
        )
        .await;
    }

    /// Screenshots of every open page into `dir`, named after the test and page.
    pub async fn screenshots(&self, dir: &std::path::Path, test: &str) {
        let pages = self.pages.lock().expect("lock").clone();
        let _ = std::fs::create_dir_all(dir);
        for p in pages {
            let file = dir.join(format!("{test}-{}.png", p.name));
            p.screenshot(&file).await;
            eprintln!("screenshot kept: {}", file.display());
        }
    }

    pub async fn close(mut self) {
        let _ = self.child.kill().await;
    }
}

async fn call(
    out: &mpsc::UnboundedSender<String>,
    pending: &Pending,
    next: &AtomicU64,
    session: Option<&str>,
    method: &str,
    params: Value,
) -> Value {
    match try_call(out, pending, next, session, method, params).await {
        Ok(v) => v,
        Err(e) => panic!("{method}: {e}"),
    }
}

/// A DevTools call; `Err` with the browser's error object.
async fn try_call(
    out: &mpsc::UnboundedSender<String>,
    pending: &Pending,
    next: &AtomicU64,
    session: Option<&str>,
    method: &str,
    params: Value,
) -> Result<Value, Value> {
    let id = next.fetch_add(1, Ordering::SeqCst);
    let (tx, rx) = oneshot::channel();
    pending.lock().expect("lock").insert(id, tx);
    let mut msg = json!({"id": id, "method": method, "params": params});
    if let Some(s) = session {
        msg["sessionId"] = json!(s);
    }
    out.send(msg.to_string()).expect("devtools connection open");
    let v = tokio::time::timeout(Duration::from_secs(30), rx)
        .await
        .unwrap_or_else(|_| panic!("{method}: no answer in 30 s"))
        .expect("answer");
    match v.get("error") {
        Some(e) => Err(e.clone()),
        None => Ok(v["result"].clone()),
    }
}

impl Page {
    pub async fn call(&self, method: &str, params: Value) -> Value {
        call(
            &self.out,
            &self.pending,
            &self.next,
            Some(&self.session),
            method,
            params,
        )
        .await
    }

    /// Evaluates an expression (promises awaited) and returns its JSON value.
    pub async fn eval(&self, js: &str) -> Value {
        let r = self
            .call(
                "Runtime.evaluate",
                json!({"expression": js, "returnByValue": true, "awaitPromise": true}),
            )
            .await;
        if let Some(ex) = r.get("exceptionDetails") {
            panic!("[{}] script failed: {js}\n{ex}", self.name);
        }
        r["result"]["value"].clone()
    }

    /// Navigates and waits for the page to finish loading.
    pub async fn goto(&self, url: &str) {
        self.call("Page.navigate", json!({"url": url})).await;
        tokio::time::sleep(Duration::from_millis(50)).await;
        self.wait_for(
            "document.readyState === 'complete' && location.href !== 'about:blank'",
            "page load",
        )
        .await;
    }

    /// Polls a condition until it holds (20 s at most: CI machines are busy).
    pub async fn wait_for(&self, condition: &str, what: &str) {
        let start = Instant::now();
        loop {
            let r = try_call(
                &self.out,
                &self.pending,
                &self.next,
                Some(&self.session),
                "Runtime.evaluate",
                // The address changes before the new page is parsed: a
                // condition holds only on a page that has been read, so
                // what the test does next finds its elements.
                json!({"expression": format!("document.readyState !== 'loading' && !!({condition})"), "returnByValue": true}),
            )
            .await;
            match r {
                Ok(r) if r["result"]["value"] == json!(true) => return,
                Ok(_) => {}
                // The page navigated while the condition was read: ask the
                // next one.
                Err(e)
                    if e.to_string().contains("navigated or closed")
                        || e.to_string().contains("context was destroyed") => {}
                Err(e) => panic!("[{}] Runtime.evaluate: {e}", self.name),
            }
            if start.elapsed() > Duration::from_secs(20) {
                panic!("[{}] waited 20 s for {what}: {condition}", self.name);
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Presses a key as a person would (keydown, char, keyup).
    pub async fn key(&self, key: &str) {
        let text = if key.chars().count() == 1 { key } else { "" };
        let code = match key {
            "Enter" => 13,
            "Escape" => 27,
            "ArrowDown" => 40,
            "ArrowUp" => 38,
            k if k.len() == 1 => k.to_ascii_uppercase().as_bytes()[0] as i64,
            _ => 0,
        };
        self.call(
            "Input.dispatchKeyEvent",
            json!({"type": "keyDown", "key": key, "text": text, "windowsVirtualKeyCode": code}),
        )
        .await;
        self.call(
            "Input.dispatchKeyEvent",
            json!({"type": "keyUp", "key": key, "windowsVirtualKeyCode": code}),
        )
        .await;
    }

    /// A key pressed with Ctrl held (`Input.dispatchKeyEvent` modifiers: 2).
    pub async fn ctrl_key(&self, key: &str) {
        let code = key
            .to_ascii_uppercase()
            .as_bytes()
            .first()
            .copied()
            .unwrap_or(0) as i64;
        for kind in ["rawKeyDown", "keyUp"] {
            self.call(
                "Input.dispatchKeyEvent",
                json!({"type": kind, "key": key, "modifiers": 2, "windowsVirtualKeyCode": code}),
            )
            .await;
        }
    }

    /// Types text into the focused element.
    pub async fn type_text(&self, text: &str) {
        self.call("Input.insertText", json!({"text": text})).await;
    }

    pub async fn viewport(&self, width: u32, height: u32, mobile: bool) {
        self.call(
            "Emulation.setDeviceMetricsOverride",
            json!({"width": width, "height": height, "deviceScaleFactor": 1, "mobile": mobile}),
        )
        .await;
    }

    /// The execution context of the child frame whose address contains `part`
    /// (an isolated world: the frame's DOM, not its script's globals), waiting
    /// up to 20 s for the frame to appear.
    pub async fn frame_context(&self, part: &str) -> i64 {
        let start = Instant::now();
        loop {
            let tree = self.call("Page.getFrameTree", json!({})).await;
            let children = tree["frameTree"]["childFrames"]
                .as_array()
                .cloned()
                .unwrap_or_default();
            let found = children
                .iter()
                .find(|c| c["frame"]["url"].as_str().is_some_and(|u| u.contains(part)));
            if let Some(f) = found {
                let id = f["frame"]["id"].as_str().expect("frame id").to_owned();
                let w = self
                    .call(
                        "Page.createIsolatedWorld",
                        json!({"frameId": id, "worldName": "test", "grantUniveralAccess": false}),
                    )
                    .await;
                return w["executionContextId"].as_i64().expect("context id");
            }
            if start.elapsed() > Duration::from_secs(20) {
                panic!("[{}] no frame at {part} within 20 s", self.name);
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Evaluates an expression in a frame's context (see [`Page::frame_context`]).
    pub async fn frame_eval(&self, ctx: i64, js: &str) -> Value {
        let r = self
            .call(
                "Runtime.evaluate",
                json!({"expression": js, "contextId": ctx, "returnByValue": true, "awaitPromise": true}),
            )
            .await;
        if let Some(ex) = r.get("exceptionDetails") {
            panic!("[{}] frame script failed: {js}\n{ex}", self.name);
        }
        r["result"]["value"].clone()
    }

    /// Polls a condition in a frame's context until it holds (20 s at most).
    pub async fn frame_wait_for(&self, ctx: i64, condition: &str, what: &str) {
        let start = Instant::now();
        loop {
            if self.frame_eval(ctx, &format!("!!({condition})")).await == json!(true) {
                return;
            }
            if start.elapsed() > Duration::from_secs(20) {
                panic!(
                    "[{}] waited 20 s in the frame for {what}: {condition}",
                    self.name
                );
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Cuts the page's network (and its frames') or brings it back.
    pub async fn offline(&self, offline: bool) {
        self.call("Network.enable", json!({})).await;
        self.call(
            "Network.emulateNetworkConditions",
            json!({"offline": offline, "latency": 0, "downloadThroughput": -1, "uploadThroughput": -1}),
        )
        .await;
    }

    pub async fn screenshot(&self, file: &std::path::Path) {
        use base64::Engine as _;
        let r = self
            .call("Page.captureScreenshot", json!({"format": "png"}))
            .await;
        if let Some(data) = r["data"].as_str()
            && let Ok(bytes) = base64::engine::general_purpose::STANDARD.decode(data)
        {
            let _ = std::fs::write(file, bytes);
        }
    }
}

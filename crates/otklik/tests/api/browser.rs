//! The agent workspace in a real browser: Debian's headless Chromium driven over
//! the DevTools protocol (`cargo xtask ci` installs it). A failing test keeps a
//! screenshot of every page in `target/browser-artifacts/`.

use crate::cdp::{Browser, Page, chromium_path};
use crate::helpers::{Backend, TestApp};
use futures::FutureExt;
use serde_json::{Value, json};
use std::panic::AssertUnwindSafe;
use std::sync::Arc;

fn artifacts() -> std::path::PathBuf {
    std::env::var("OTKLIK_TEST_ARTIFACTS")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|_| {
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target/browser-artifacts")
        })
}

/// Runs a browser scenario; on failure, screenshots every page before failing.
async fn with_browser<F, Fut>(test: &str, scenario: F)
where
    F: FnOnce(Arc<Browser>, TestApp) -> Fut,
    Fut: std::future::Future<Output = ()>,
{
    with_browser_on(test, |_| {}, scenario).await;
}

/// [`with_browser`] on a server whose configuration `tweak` adjusts.
async fn with_browser_on<F, Fut>(
    test: &str,
    tweak: impl FnOnce(&mut otklik::config::Config),
    scenario: F,
) where
    F: FnOnce(Arc<Browser>, TestApp) -> Fut,
    Fut: std::future::Future<Output = ()>,
{
    let Some(path) = chromium_path() else { return };
    let app = crate::helpers::spawn_with(Backend::Sqlite, tweak)
        .await
        .expect("app");
    let browser = Arc::new(Browser::launch(&path).await);
    let outcome = AssertUnwindSafe(scenario(browser.clone(), app))
        .catch_unwind()
        .await;
    if let Err(panic) = outcome {
        browser.screenshots(&artifacts(), test).await;
        std::panic::resume_unwind(panic);
    }
    // OTKLIK_TEST_SCREENSHOTS=1 keeps the last view of every page of a passing run
    // too, for looking at the screens.
    if std::env::var("OTKLIK_TEST_SCREENSHOTS").is_ok_and(|v| v == "1") {
        browser.screenshots(&artifacts(), test).await;
    }
    if let Ok(b) = Arc::try_unwrap(browser) {
        b.close().await;
    }
}

/// Creates an agent with a display name; returns the user's id.
async fn agent(app: &TestApp, email: &str, name: &str, role: &str) -> String {
    let u = app
        .post(
            "/api/v1/users",
            json!({"email": email, "name": name, "role": role, "password": "user-password"}),
        )
        .await
        .expect(201);
    u["id"].as_str().expect("id").to_owned()
}

/// Signs in through the login form.
async fn login(page: &Page, app: &TestApp, email: &str, password: &str) {
    page.goto(&app.url("/login")).await;
    page.eval(&format!(
        "(() => {{ const f = document.getElementById('login');
            f.workspace.value = 'alpha'; f.email.value = {email:?}; f.password.value = {password:?};
            f.submit(); }})()"
    ))
    .await;
    page.wait_for(
        "location.pathname === '/app' && document.readyState === 'complete'",
        "the inbox after login",
    )
    .await;
}

fn text_of(selector: &str) -> String {
    format!("(document.querySelector({selector:?}) || {{textContent: ''}}).textContent")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_agents_work_one_ticket_live() {
    with_browser("two_agents_work_one_ticket_live", |b, app| async move {
        let anna_id = agent(&app, "anna@alpha.test", "Anna Agent", "agent").await;
        let boris_id = agent(&app, "boris@alpha.test", "Boris Agent", "agent").await;
        let t = app.ticket("Заказ не пришёл", "shopper@example.com").await;
        let number = t["number"].as_i64().expect("number");
        let path = format!("/app/t/{number}");

        let anna = b.page("anna").await;
        let boris = b.page("boris").await;
        login(&anna, &app, "anna@alpha.test", "user-password").await;
        login(&boris, &app, "boris@alpha.test", "user-password").await;

        // Boris is on the ticket; the marker proves his page never reloads.
        boris.goto(&app.url(&path)).await;
        boris.eval("window.__marker = 'kept'").await;
        boris.wait_for("document.body.dataset.live === '1'", "Boris's live socket").await;

        // Anna finds it in "All open" and opens it from the keyboard.
        anna.goto(&app.url("/app?view=all")).await;
        anna.wait_for(&format!("document.querySelector('.row[data-number=\"{number}\"]')"), "the ticket row").await;
        anna.key("j").await;
        anna.wait_for("document.querySelector('.row.selected')", "j selects a row").await;
        anna.key("o").await;
        anna.wait_for(&format!("location.pathname === '{path}'"), "o opens the ticket").await;
        anna.wait_for("document.body.dataset.live === '1'", "Anna's live socket").await;

        // Boris is told Anna is here, then that she is typing.
        boris.wait_for(&format!("{}.includes('Anna Agent')", text_of("#presence")), "presence of Anna").await;
        anna.key("n").await;
        anna.wait_for("document.activeElement.id === 'body' && document.getElementById('mode-note').checked && document.getElementById('composer').classList.contains('note-mode')", "n starts a note").await;
        anna.key("Escape").await;
        anna.key("r").await;
        anna.wait_for("document.activeElement.id === 'body' && document.getElementById('mode-public').checked", "r starts a public reply").await;
        anna.type_text("Здравствуйте! Отправили заказ повторно.").await;
        boris.wait_for(&format!("{}.includes('typing')", text_of("#presence")), "Anna typing").await;

        anna.eval("document.getElementById('composer').requestSubmit()").await;
        anna.wait_for("location.search.includes('flash.reply_sent')", "the reply is sent").await;
        assert_eq!(
            anna.eval("[...document.querySelectorAll('#thread .msg')].pop().textContent.includes('Отправили заказ повторно')").await,
            json!(true)
        );
        // Boris sees the reply without reloading.
        boris.wait_for("[...document.querySelectorAll('#thread .msg')].some(m => m.textContent.includes('Отправили заказ повторно'))", "the reply live").await;
        assert_eq!(boris.eval("window.__marker").await, json!("kept"));

        // Anna takes it (a) and solves it (s); Boris's status chip follows.
        // A colleague's change made while Anna has the panel open is not written
        // back: her save sends only what she changed.
        anna.eval("document.querySelector('#props select[name=priority]').focus()").await;
        // Marked so the live refresh shows: it replaces the thread element.
        anna.eval("document.querySelector('#thread').dataset.before = 'patch'").await;
        let tid = t["id"].as_str().unwrap().to_owned();
        app.patch(&format!("/api/v1/tickets/{tid}"), json!({"tags": ["from-api"]})).await.expect(200);
        anna.wait_for("!document.querySelector('#thread').dataset.before", "the live refresh after the API change").await;
        assert_eq!(anna.eval("document.querySelector('#props input[name=tags]').value").await, json!(""), "the panel is stale, as intended for this check");
        anna.eval("(() => { const s = document.querySelector('#props select[name=priority]'); s.value = 'high'; s.dispatchEvent(new Event('change', {bubbles: true})); })()").await;
        anna.wait_for("document.querySelector('#props input[name=tags]').value === 'from-api'", "the saved panel shows the colleague's tag").await;
        let got = app.get(&format!("/api/v1/tickets/{tid}")).await.expect(200);
        assert_eq!((got["priority"].clone(), got["tags"].clone()), (json!("high"), json!(["from-api"])));
        anna.eval("document.activeElement.blur()").await;

        // The keys come at once: saves must not overtake each other. `s`
        // solves on its second press.
        anna.key("a").await;
        anna.key("s").await;
        anna.key("s").await;
        boris.wait_for(&format!("{}.trim() === 'Solved'", text_of("#status-chip")), "the status change live").await;
        assert_eq!(boris.eval("window.__marker").await, json!("kept"));
        anna.wait_for("!document.querySelector('#toast').hidden && document.querySelector('#prop-assignee').selectedOptions[0].textContent === 'Anna Agent' && document.querySelector('#prop-status').value === 'solved'", "both saved").await;
        let got = app.get(&format!("/api/v1/tickets/{}", t["id"].as_str().unwrap())).await.expect(200);
        assert_eq!(got["status"], "solved");
        assert_eq!(got["assignee_id"], json!(anna_id));

        // Boris's inbox takes a new ticket in live, and an assignment alerts him,
        // with a desktop notification once he has allowed them.
        b.grant(&boris, &app.base, "notifications").await;
        boris.goto(&app.url("/app?view=all")).await;
        assert_eq!(boris.eval("Notification.permission").await, json!("granted"));
        // Record what the page shows, then let the real notification through.
        boris
            .eval("window.__shown = []; const Real = window.Notification; window.Notification = function (title, o) { window.__shown.push(title + ': ' + o.body); return new Real(title, o); }; window.Notification.permission = Real.permission;")
            .await;
        boris.eval("window.__marker = 'inbox'").await;
        boris.wait_for("document.body.dataset.live === '1'", "socket on the inbox").await;
        let fresh = app.ticket("Новая заявка из чата", "second@example.com").await;
        boris.wait_for(&format!("{}.includes('Новая заявка из чата')", text_of("#rows")), "the new ticket live").await;
        app.patch(
            &format!("/api/v1/tickets/{}", fresh["id"].as_str().unwrap()),
            json!({"assignee_id": boris_id}),
        )
        .await
        .expect(200);
        boris.wait_for(&format!("{}.includes('Assigned to you')", text_of("#toast")), "the assignment alert").await;
        boris.wait_for("window.__shown.some(s => s.includes('Assigned to you: #2 Новая заявка из чата'))", "the desktop notification").await;
        assert_eq!(boris.eval("window.__marker").await, json!("inbox"));
        // The customer writes on it: Boris is told, and the tab's title counts
        // what he has not looked at until he comes back to the page.
        boris.eval("document.title = document.title.replace(/^\\(\\d+\\) /, '')").await;
        let title = boris.eval("document.title").await;
        app.post(
            &format!("/api/v1/tickets/{}/messages", fresh["id"].as_str().unwrap()),
            json!({"body": "Есть новости по заказу?", "author": "customer"}),
        )
        .await
        .expect(201);
        boris.wait_for("window.__shown.some(s => s.includes('Customer replied: #2 Новая заявка из чата'))", "the reply notification").await;
        boris.wait_for("/^\\(\\d+\\) /.test(document.title)", "the title counts unseen alerts").await;
        boris.wait_for("[...document.querySelectorAll('#rows .row')].some(r => r.textContent.includes('Новая заявка из чата') && r.querySelector('.chip.replied time') && /ago|now|second|minute/.test(r.querySelector('.chip.replied time').textContent))", "the row says the customer replied, and how long ago").await;
        // A colleague's note on it is no alert.
        let shown = boris.eval("window.__shown.length").await;
        app.post(
            &format!("/api/v1/tickets/{}/messages", fresh["id"].as_str().unwrap()),
            json!({"body": "Проверю склад", "visibility": "internal"}),
        )
        .await
        .expect(201);
        tokio::time::sleep(std::time::Duration::from_millis(500)).await;
        assert_eq!(boris.eval("window.__shown.length").await, shown);
        boris.eval("document.dispatchEvent(new MouseEvent('mousedown'))").await;
        boris.wait_for(&format!("document.title === {title}"), "the count cleared when he is back").await;

        // "/" goes to search and "?" lists the shortcuts.
        boris.key("/").await;
        boris.wait_for("document.activeElement.id === 'search'", "/ focuses search").await;
        boris.key("Escape").await;
        boris.key("?").await;
        boris.wait_for("document.getElementById('keys').open", "? shows the shortcuts").await;
    })
    .await;
}

/// A solve the server refuses (a required field is empty) leaves the
/// properties panel as the ticket is, says why, and the next change saves.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refused_solve_leaves_the_panel_as_the_ticket_is() {
    with_browser("a_refused_solve_leaves_the_panel_as_the_ticket_is", |b, app| async move {
        app.post(
            "/api/v1/custom-fields",
            json!({"key": "order_number", "label": "Order", "field_type": "number", "required": true}),
        )
        .await
        .expect(201);
        let t = app.ticket("Заказ не пришёл", "shopper@example.com").await;
        let number = t["number"].as_i64().expect("number");
        let page = b.page("owner").await;
        login(&page, &app, "owner@alpha.test", "alpha-password").await;
        page.goto(&app.url(&format!("/app/t/{number}"))).await;
        let status = page.eval("document.querySelector('#props select[name=status]').value").await;
        page.eval("(() => { const s = document.querySelector('#props select[name=status]'); s.value = 'solved'; s.dispatchEvent(new Event('change', {bubbles: true})); })()").await;
        page.wait_for("!document.getElementById('toast').hidden && document.getElementById('toast').textContent.length > 0", "the refusal is said").await;
        page.wait_for(&format!("document.querySelector('#props select[name=status]').value === {status}"), "the panel shows the ticket's status again").await;
        let id = t["id"].as_str().unwrap();
        assert_ne!(app.get(&format!("/api/v1/tickets/{id}")).await.expect(200)["status"], "solved");
        page.eval("(() => { const s = document.querySelector('#props select[name=priority]'); s.value = 'high'; s.dispatchEvent(new Event('change', {bubbles: true})); })()").await;
        crate::helpers::until("the next change saves", 10, async || {
            let t = app.get(&format!("/api/v1/tickets/{id}")).await.expect(200);
            (t["priority"] == "high").then_some(())
        })
        .await;
    })
    .await;
}

/// Inbox shortcuts act on the highlighted row, not on the ticked ones, and
/// `s` solves only when pressed twice.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn inbox_shortcuts_act_on_the_highlighted_row_and_solve_on_a_second_press() {
    with_browser(
        "inbox_shortcuts_act_on_the_highlighted_row_and_solve_on_a_second_press",
        |b, app| async move {
            let first = app.ticket("Первая", "one@example.com").await;
            let second = app.ticket("Вторая", "two@example.com").await;
            let page = b.page("owner").await;
            login(&page, &app, "owner@alpha.test", "alpha-password").await;
            page.goto(&app.url("/app?view=all")).await;
            let row = |t: &Value| {
                format!(
                    "document.querySelector('.row[data-id=\"{}\"]')",
                    t["id"].as_str().unwrap()
                )
            };
            page.wait_for(&format!("{} && {}", row(&first), row(&second)), "both rows")
                .await;
            // The first is ticked; the second is highlighted.
            page.eval(&format!(
                "{}.querySelector('input[name=ids]').checked = true",
                row(&first)
            ))
            .await;
            let at = page
                .eval(&format!(
                    "[...document.querySelectorAll('#rows .row')].indexOf({})",
                    row(&second)
                ))
                .await
                .as_i64()
                .unwrap();
            for _ in 0..=at {
                page.key("j").await;
            }
            page.wait_for(
                &format!("{}.classList.contains('selected')", row(&second)),
                "the second row highlighted",
            )
            .await;
            page.key("s").await;
            page.wait_for(
                &format!("{}.includes('Press s again')", text_of("#toast")),
                "s asks to be pressed again",
            )
            .await;
            tokio::time::sleep(std::time::Duration::from_millis(300)).await;
            let status = async |t: &Value| {
                app.get(&format!("/api/v1/tickets/{}", t["id"].as_str().unwrap()))
                    .await
                    .expect(200)["status"]
                    .clone()
            };
            assert_ne!(status(&second).await, "solved", "one press solves nothing");
            page.key("s").await;
            page.wait_for(
                "location.search.includes('flash.bulk_done')",
                "the second press solves",
            )
            .await;
            assert_eq!(status(&second).await, "solved");
            assert_ne!(
                status(&first).await,
                "solved",
                "the ticked row is left alone"
            );
        },
    )
    .await;
}

/// axe-core's script (`cargo xtask ci` installs it from npm and names it in
/// `OTKLIK_TEST_AXE`); `None`, noted, without it under plain `cargo test`.
fn axe_script() -> Option<String> {
    let path = std::env::var("OTKLIK_TEST_AXE")
        .ok()
        .filter(|s| !s.is_empty())
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| {
            std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("../../target/axe/node_modules/axe-core/axe.min.js")
        });
    match std::fs::read_to_string(&path) {
        Ok(s) => Some(s),
        Err(_) if std::env::var("OTKLIK_TEST_REQUIRE_BROWSER").is_ok_and(|v| v == "1") => {
            panic!(
                "no axe-core at {}: the accessibility check cannot run",
                path.display()
            )
        }
        Err(_) => {
            crate::helpers::skipped(
                "browser::axe_finds_nothing_serious_on_the_main_pages",
                "no axe-core: cargo xtask ci installs it (npm install axe-core)",
            );
            None
        }
    }
}

/// axe-core on the login, inbox, ticket, customer and admin pages, in
/// Russian and Thai: no serious or critical violation of WCAG 2.1 A/AA.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn axe_finds_nothing_serious_on_the_main_pages() {
    let Some(axe) = axe_script() else { return };
    with_browser("axe_finds_nothing_serious_on_the_main_pages", |b, app| async move {
        let t = app.ticket("Заказ не пришёл", "shopper@example.com").await;
        app.post(&format!("/api/v1/tickets/{}/messages", t["id"].as_str().unwrap()),
            json!({"body": "Отправили повторно.", "visibility": "public"})).await.expect(201);
        let page = b.page("a11y").await;
        let check = async |what: &str| -> Vec<String> {
            page.eval(&axe).await;
            let found = page.eval("axe.run(document, {runOnly: {type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa']}})
                .then(r => r.violations.filter(v => v.impact === 'serious' || v.impact === 'critical')
                .map(v => v.id + ' (' + v.impact + '): ' + v.nodes.slice(0, 3).map(n => n.target.join(' ') + ' — ' + (n.failureSummary || '').split('\\n').slice(1, 2).join('')).join(' | ')))").await;
            found.as_array().cloned().unwrap_or_default().into_iter()
                .map(|v| format!("{what}: {}", v.as_str().unwrap_or_default())).collect()
        };
        // The checker sees what it must: an image without a text is critical.
        page.goto(&app.url("/login")).await;
        page.eval("document.querySelector('main, body').insertAdjacentHTML('beforeend', '<img src=\"/static/none.png\">')").await;
        let planted = check("planted").await;
        assert!(planted.iter().any(|v| v.contains("image-alt")), "{planted:?}");
        let mut all = Vec::new();
        page.goto(&app.url("/login")).await;
        all.extend(check("login").await);
        login(&page, &app, "owner@alpha.test", "alpha-password").await;
        for lang in ["ru", "th"] {
            page.goto(&app.url(&format!("/lang?set={lang}&next=/app"))).await;
            for path in [
                "/app?view=all".to_owned(),
                format!("/app/t/{}", t["number"]),
                format!("/app/customers/{}", t["customer_id"].as_str().unwrap()),
                "/app/admin/users".to_owned(),
                "/app/admin/bot".to_owned(),
                "/app/reports".to_owned(),
                "/app/reports/live".to_owned(),
                "/app/reports/journey?by=country".to_owned(),
                "/app/quality".to_owned(),
                "/app/quality/scorecards/new".to_owned(),
            ] {
                page.goto(&app.url(&path)).await;
                all.extend(check(&format!("{lang} {path}")).await);
            }
        }
        assert!(all.is_empty(), "{} serious or critical:\n{}", all.len(), all.join("\n"));
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn languages_fonts_and_a_phone_sized_screen() {
    with_browser("languages_fonts_and_a_phone_sized_screen", |b, app| async move {
        let t = app.ticket("Не могу оплатить заказ картой, страница оплаты выдаёт ошибку", "shopper@example.com").await;
        let number = t["number"].as_i64().expect("number");
        let p = b.page("owner").await;
        login(&p, &app, "owner@alpha.test", "alpha-password").await;

        for (lang, inbox, mine) in [("ru", "Входящие", "Мои открытые"), ("th", "กล่องงาน", "งานเปิดของฉัน"), ("en", "Inbox", "My open")] {
            p.eval(&format!("document.querySelector('.menu-body a[data-lang=\"{lang}\"]').click()")).await;
            p.wait_for(&format!("document.documentElement.lang === '{lang}' && document.readyState === 'complete'"), "the language switch").await;
            assert_eq!(p.eval(&format!("{}.trim()", text_of(".views a[data-view=mine] span"))).await, json!(mine));
            assert_eq!(p.eval(&format!("{}.trim()", text_of(".menu-body a[href='/app']"))).await, json!(inbox));
            if lang == "th" {
                // Thai text is set in the embedded Noto Sans Thai, and dates count
                // years in the Buddhist era.
                let loaded = p.eval("document.fonts.ready.then(() => [...document.fonts].filter(f => f.family.includes('Noto Sans Thai') && f.status === 'loaded').length)").await;
                assert!(loaded.as_i64().unwrap_or(0) >= 1, "Thai font not loaded: {loaded}");
                p.goto(&app.url(&format!("/app/t/{number}"))).await;
                let date = p.eval(&text_of("#thread time")).await;
                assert!(date.as_str().unwrap_or_default().contains("25"), "a Buddhist-era year: {date}");
                p.goto(&app.url("/app")).await;
            }
            if lang == "ru" {
                let loaded = p.eval("document.fonts.ready.then(() => [...document.fonts].filter(f => f.family === 'Noto Sans' && f.status === 'loaded').length)").await;
                assert!(loaded.as_i64().unwrap_or(0) >= 1, "Noto Sans not loaded: {loaded}");
            }
        }

        // The customer's tickets show their times as everything else does, in
        // the workspace's zone, and the tooltip names the zone.
        p.goto(&app.url(&format!("/app/customers/{}", t["customer_id"].as_str().unwrap()))).await;
        let zone = p.eval("(document.querySelector('.others time') || {title: ''}).title").await;
        assert!(zone.as_str().is_some_and(|z| z.contains("GMT") || z.contains("UTC")), "{zone}");
        let thread = p.eval("(document.querySelector('.timeline time') || {textContent: 'none'}).textContent.slice(0, 6)").await;
        let listed = p.eval("(document.querySelector('.others time') || {textContent: ''}).textContent.slice(0, 6)").await;
        assert_eq!(thread, listed, "one format for both lists");

        // Eight open tabs fit the header without a scrollbar; the inbox's
        // columns line up under their headings.
        for i in 0..8 {
            let other = app.ticket(&format!("Вкладка {i}: длинная тема заявки, чтобы не поместиться"), &format!("tab{i}@example.com")).await;
            p.goto(&app.url(&format!("/app/t/{}", other["number"]))).await;
        }
        p.goto(&app.url("/app?view=all")).await;
        p.wait_for("document.querySelectorAll('#tabs .tab').length >= 8", "eight tabs").await;
        let tabs = p.eval("(() => { const t = document.getElementById('tabs'); return [t.scrollWidth <= t.clientWidth + 1, t.scrollHeight <= t.clientHeight + 1]; })()").await;
        assert_eq!(tabs, json!([true, true]), "the tabs overflow their bar");
        let columns = p.eval("(() => { const xs = sel => [...document.querySelectorAll(sel)].map(e => Math.round(e.getBoundingClientRect().left)); return [...new Set([...xs('#rows .cols span:nth-child(4)'), ...xs('#rows .row .chips')])].length; })()").await;
        assert_eq!(columns, json!(1), "the status column starts at one place in every row and its heading");

        // A phone: the inbox, the ticket and the reply box fit in 375 px.
        p.viewport(375, 740, true).await;
        let fits = "document.documentElement.scrollWidth <= window.innerWidth && document.body.scrollWidth <= window.innerWidth";
        p.goto(&app.url("/app?view=all")).await;
        assert_eq!(p.eval(fits).await, json!(true), "inbox scrolls sideways: {}", p.eval("document.documentElement.scrollWidth").await);
        p.eval("document.querySelector('.filters-box').open = true").await;
        assert_eq!(p.eval(fits).await, json!(true), "open filters scroll sideways");
        p.goto(&app.url(&format!("/app/t/{number}"))).await;
        assert_eq!(p.eval(fits).await, json!(true), "ticket scrolls sideways: {}", p.eval("document.documentElement.scrollWidth").await);
        p.key("r").await;
        p.type_text("Проверьте, пожалуйста, ещё раз — ссылка: https://shop.example/orders/1042/payment?attempt=2&source=support-reply-from-phone").await;
        assert_eq!(p.eval(fits).await, json!(true), "reply box scrolls sideways");
        let send_visible = p.eval("(() => { const r = document.getElementById('send').getBoundingClientRect(); return r.width > 0 && r.right <= window.innerWidth; })()").await;
        assert_eq!(send_visible, json!(true));
        // The rule form, row by row, fits too, and every control has a label.
        p.goto(&app.url("/app/admin/rules/new")).await;
        assert_eq!(p.eval(fits).await, json!(true), "rule form scrolls sideways: {}", p.eval("document.documentElement.scrollWidth").await);
        let unlabelled = p.eval("[...document.querySelectorAll('form.rule-form select, form.rule-form input:not([type=hidden]), form.rule-form textarea')].filter(e => !e.closest('label') && !e.labels?.length).length").await;
        assert_eq!(unlabelled, json!(0));
        // The reports, the live view and quality review fit a phone too (wide
        // tables scroll inside their own box).
        for path in ["/app/reports", "/app/reports/live", "/app/reports/journey?by=country", "/app/quality", "/app/quality/scorecards/new"] {
            p.goto(&app.url(path)).await;
            assert_eq!(p.eval(fits).await, json!(true), "{path} scrolls sideways: {}", p.eval("document.documentElement.scrollWidth").await);
        }
    })
    .await;
}

/// An agent presses `m` in a ticket, types a macro's name and Enter: the text
/// lands in the composer in the customer's language and the ticket takes the
/// macro's changes, without leaving the page.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_macro_is_applied_from_the_composer_by_keyboard() {
    with_browser("a_macro_is_applied_from_the_composer_by_keyboard", |b, app| async move {
        agent(&app, "ivan@alpha.test", "Иван Петров", "agent").await;
        app.post("/api/v1/macros", json!({"name": "Где заказ", "shared": true,
            "body": "Hello {{customer.first_name}}, the order is on its way.",
            "translations": {"ru": "Здравствуйте, {{customer.first_name}}! Заказ уже в пути. — {{agent.first_name}}"},
            "actions": [{"type": "add_tags", "tags": ["delivery"]}]})).await.expect(201);
        let t = app.post("/api/v1/tickets", json!({"subject": "Где посылка",
            "customer": {"name": "Анна Петрова", "email": "anna@alpha.test", "language": "ru"},
            "message": {"body": "Заказ 5531 не пришёл"}})).await.expect(201);
        let number = t["number"].as_i64().unwrap();
        let p = b.page("ivan").await;
        login(&p, &app, "ivan@alpha.test", "user-password").await;
        p.goto(&app.url(&format!("/app/t/{number}"))).await;
        p.key("m").await;
        assert_eq!(p.eval("document.activeElement.id").await, json!("macro-q"));
        p.type_text("Где заказ").await;
        p.key("Enter").await;
        p.wait_for("document.getElementById('body').value.includes('Заказ уже в пути')", "the macro's text in the composer").await;
        assert_eq!(
            p.eval("document.getElementById('body').value").await,
            json!("Здравствуйте, Анна! Заказ уже в пути. — Иван")
        );
        assert_eq!(p.eval("location.pathname").await, json!(format!("/app/t/{number}")), "no page change");
        let tags = app.get(&format!("/api/v1/tickets/{number}")).await.expect(200)["tags"].clone();
        assert_eq!(tags, json!(["delivery"]));
        assert_eq!(app.get("/api/v1/macros").await.expect(200)["items"][0]["usage_count"], 1);
    })
    .await;
}

/// Classic XSS vectors in email-like HTML. Each would set `window.__xss` or open
/// a dialog if it ran.
const XSS: &[&str] = &[
    "<script>window.__xss=1</script>",
    "<img src=x onerror=\"window.__xss=2\">",
    "<svg onload=\"window.__xss=3\"></svg>",
    "<svg><script>window.__xss=4</script></svg>",
    "<a href=\"javascript:window.__xss=5\" id=\"jslink\">click</a>",
    "<iframe src=\"javascript:parent.__xss=6\"></iframe>",
    "<iframe srcdoc=\"<script>parent.__xss=7</script>\"></iframe>",
    "<body onload=\"window.__xss=8\">",
    "<div style=\"background:url(javascript:window.__xss=9)\">styled</div>",
    "<math><mtext><table><mglyph><style><img src=x onerror=\"window.__xss=10\">",
    "<form action=\"javascript:window.__xss=11\"><button id=\"xbtn\">go</button></form>",
    "<object data=\"javascript:window.__xss=12\"></object>",
    "<embed src=\"javascript:window.__xss=13\">",
    "<input autofocus onfocus=\"window.__xss=14\">",
    "<details open ontoggle=\"window.__xss=15\">",
    "<video><source onerror=\"window.__xss=16\"></video>",
    "<meta http-equiv=\"refresh\" content=\"0;url=javascript:window.__xss=17\">",
    "<base href=\"javascript:window.__xss=18//\">",
    "<noscript><p title=\"</noscript><img src=x onerror=window.__xss=19>\">",
    "<a href=\"&#106;&#97;&#118;&#97;&#115;&#99;&#114;&#105;&#112;&#116;:window.__xss=20\" id=\"enclink\">x</a>",
    "<img src=\"x\" alt=\"\" onerror=alert(21)>",
    "<scr<script>ipt>window.__xss=22</scr</script>ipt>",
    "<link rel=\"import\" href=\"data:text/html,<script>parent.__xss=23</script>\">",
    "<a href=\"data:text/html,<script>alert(24)</script>\" id=\"datalink\">d</a>",
    "<marquee onstart=\"window.__xss=25\">m</marquee>",
];

/// The composer's formatting by keyboard and toolbar, an image chosen and put
/// in the text with its thumbnail, and the preview as the reply will look.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_composer_formats_text_and_previews_it() {
    with_browser("the_composer_formats_text_and_previews_it", |b, app| async move {
        let t = app.ticket("Где номер заказа?", "format@example.com").await;
        let number = t["number"].as_i64().unwrap();
        let p = b.page("owner").await;
        login(&p, &app, "owner@alpha.test", "alpha-password").await;
        p.goto(&app.url(&format!("/app/t/{number}"))).await;
        assert_eq!(p.eval("document.getElementById('fmt').hidden").await, json!(false), "the toolbar shows with script");
        p.eval("document.getElementById('body').focus()").await;
        p.type_text("Номер заказа").await;
        p.eval("document.getElementById('body').select()").await;
        p.ctrl_key("b").await;
        assert_eq!(p.eval("document.getElementById('body').value").await, json!("**Номер заказа**"));
        p.eval("(() => { const b = document.getElementById('body'); b.value += '\\nМои заказы'; b.selectionStart = b.value.length - 10; b.selectionEnd = b.value.length; })()").await;
        p.ctrl_key("k").await;
        assert_eq!(p.eval("document.getElementById('body').value").await, json!("**Номер заказа**\n[Мои заказы](https://)"));
        // The address is selected, ready to be typed over.
        p.type_text("https://shop.example/orders").await;
        p.eval("document.querySelector('button[data-fmt=ul]').click()").await;
        assert_eq!(p.eval("document.getElementById('body').value.split('\\n')[1]").await, json!("- [Мои заказы](https://shop.example/orders)"));
        // An image: chosen, shown as a thumbnail, put in the text.
        p.eval("(() => { const dt = new DataTransfer(); dt.items.add(new File([new Uint8Array([137,80,78,71,13,10,26,10])], 'where.png', {type: 'image/png'})); const f = document.getElementById('files'); f.files = dt.files; f.dispatchEvent(new Event('change', {bubbles: true})); })()").await;
        p.wait_for("document.querySelector('#thumbs img') && !document.getElementById('thumbs').hidden", "the thumbnail").await;
        p.eval("document.getElementById('body').selectionStart = document.getElementById('body').selectionEnd = document.getElementById('body').value.length").await;
        p.eval("document.querySelector('#thumbs button').click()").await;
        let value = p.eval("document.getElementById('body').value").await;
        assert!(value.as_str().unwrap_or_default().ends_with("![where.png](attachment:where.png)"), "{value}");
        p.eval("document.getElementById('fmt-preview').click()").await;
        p.wait_for("!document.getElementById('preview').hidden", "the preview").await;
        assert_eq!(p.eval("document.querySelector('#preview strong').textContent").await, json!("Номер заказа"));
        assert_eq!(p.eval("document.querySelector('#preview li a').getAttribute('href')").await, json!("https://shop.example/orders"));
        assert_eq!(p.eval("document.querySelector('#preview img').src.startsWith('blob:')").await, json!(true));
        assert_eq!(p.eval("document.getElementById('body').hidden").await, json!(true));
        p.eval("document.getElementById('fmt-preview').click()").await;
        assert_eq!(p.eval("document.getElementById('body').hidden").await, json!(false), "back to writing");
    })
    .await;
}

/// A Thai HTML mail with a table, read on a phone: the table keeps its
/// columns (the message scrolls sideways inside itself, the page does not),
/// and no word of a cell is broken across two lines — Thai has no spaces, so
/// a cell that may break anywhere splits words mid-way. Words are those
/// `Intl.Segmenter` finds; a word split across lines has two boxes.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_thai_html_table_keeps_its_words_on_a_phone() {
    with_browser("a_thai_html_table_keeps_its_words_on_a_phone", |b, app| async move {
        let mailbox = app
            .post(
                "/api/v1/channels/email",
                json!({"name": "Support", "address": "support@alpha.test", "inbound": {"kind": "pipe"}}),
            )
            .await
            .expect(201);
        // Six columns of long words: narrower than the words, a cell that may
        // break anywhere splits them; one that may not makes the table scroll.
        let rows = [
            ["ผลิตภัณฑ์อิเล็กทรอนิกส์", "กรุงเทพมหานคร", "ประชาสัมพันธ์", "มหาวิทยาลัย", "สถาปัตยกรรม", "อุตสาหกรรม"],
            ["คอมพิวเตอร์", "โทรศัพท์มือถือ", "เครื่องปรับอากาศ", "ตู้เย็นประหยัดไฟ", "อินเทอร์เน็ต", "แบตเตอรี่สำรอง"],
        ];
        let table: String = rows
            .iter()
            .map(|r| format!("<tr>{}</tr>", r.iter().map(|c| format!("<td>{c}</td>")).collect::<String>()))
            .collect();
        let raw = format!(
            "From: Somchai <somchai@example.co.th>\r\nTo: support@alpha.test\r\nSubject: Order status\r\n\
             Message-ID: <thai-table-1@example.co.th>\r\nDate: Mon, 23 Nov 2026 10:00:00 +0700\r\nMIME-Version: 1.0\r\n\
             Content-Type: text/html; charset=utf-8\r\n\r\n<html><body><p>สถานะคำสั่งซื้อของฉัน</p>\
             <table border=\"1\" cellpadding=\"6\">{table}</table></body></html>\r\n",
        );
        app.raw(
            "POST",
            &format!("/api/v1/channels/email/{}/inbound", mailbox["id"].as_str().unwrap()),
            &app.token,
            "message/rfc822",
            raw.into_bytes(),
        )
        .await
        .expect(202);
        let list = app.get("/api/v1/tickets").await.expect(200);
        let number = list["items"][0]["number"].as_i64().expect("a ticket from the email");
        let p = b.page("owner").await;
        login(&p, &app, "owner@alpha.test", "alpha-password").await;
        p.viewport(390, 844, true).await;
        p.goto(&app.url(&format!("/app/t/{number}"))).await;
        p.wait_for("document.querySelector('#thread .body.html table') && document.fonts.status === 'loaded'", "the table").await;
        assert_eq!(
            p.eval("document.documentElement.scrollWidth <= window.innerWidth").await,
            json!(true),
            "the page scrolls sideways"
        );
        // Each row's cells stand side by side.
        let side_by_side = p
            .eval("[...document.querySelectorAll('#thread .body.html tr')].every(r => { const ts = [...r.children].map(c => Math.round(c.getBoundingClientRect().top)); return new Set(ts).size === 1 && ts.length === 6; })")
            .await;
        assert_eq!(side_by_side, json!(true), "the table lost its columns");
        let broken = p
            .eval(
                "(() => { const seg = new Intl.Segmenter('th', {granularity: 'word'}); const bad = [];
                  document.querySelectorAll('#thread .body.html td').forEach(td => {
                    const node = [...td.childNodes].find(n => n.nodeType === 3); if (!node) return;
                    for (const s of seg.segment(node.data)) { if (!s.isWordLike) continue;
                      const r = document.createRange(); r.setStart(node, s.index); r.setEnd(node, s.index + s.segment.length);
                      const lines = new Set([...r.getClientRects()].map(x => Math.round(x.top)));
                      if (lines.size > 1) bad.push(s.segment); } });
                  return bad; })()",
            )
            .await;
        assert_eq!(broken, json!([]), "words broken across lines");
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn customer_html_never_runs_script() {
    with_browser("customer_html_never_runs_script", |b, app| async move {
        let mailbox = app
            .post(
                "/api/v1/channels/email",
                json!({"name": "Support", "address": "support@alpha.test", "inbound": {"kind": "pipe"}}),
            )
            .await
            .expect(201);
        let html = XSS.join("\r\n<br>\r\n");
        let raw = format!(
            "From: Mallory <mallory@example.com>\r\nTo: support@alpha.test\r\nSubject: <script>window.__xss=99</script> Invoice\r\n\
             Message-ID: <xss-1@example.com>\r\nDate: Mon, 23 Nov 2026 10:00:00 +0300\r\nMIME-Version: 1.0\r\n\
             Content-Type: multipart/alternative; boundary=\"b1\"\r\n\r\n--b1\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n\
             Invoice attached.\r\n--b1\r\nContent-Type: text/html; charset=utf-8\r\n\r\n<html><body><p>Invoice</p><blockquote>Earlier letter quoted</blockquote>{html}</body></html>\r\n--b1--\r\n"
        );
        app.raw(
            "POST",
            &format!("/api/v1/channels/email/{}/inbound", mailbox["id"].as_str().unwrap()),
            &app.token,
            "message/rfc822",
            raw.into_bytes(),
        )
        .await
        .expect(202);
        let list = app.get("/api/v1/tickets").await.expect(200);
        let number = list["items"][0]["number"].as_i64().expect("a ticket from the email");

        let p = b.page("owner").await;
        login(&p, &app, "owner@alpha.test", "alpha-password").await;
        p.goto(&app.url(&format!("/app/t/{number}"))).await;
        p.wait_for("document.querySelector('#thread .body.html')", "the HTML message").await;
        // Give delayed handlers (onerror, onload, autofocus) their chance, and click
        // the links and buttons a person might click.
        p.eval("['jslink','enclink','xbtn','datalink'].forEach(id => { const e = document.getElementById(id); if (e) e.click(); })").await;
        // Every image has loaded or failed: its onload/onerror had its chance.
        p.wait_for("document.readyState === 'complete' && [...document.querySelectorAll('img')].every(i => i.complete)", "images settled, still on the page").await;

        assert_eq!(p.eval("typeof window.__xss").await, json!("undefined"), "a vector ran");
        assert!(b.dialogs.lock().unwrap().is_empty(), "a dialog opened: {:?}", b.dialogs.lock().unwrap());
        // Nothing dangerous even reached the DOM.
        let leftovers = p
            .eval(
                "(() => { const root = document.querySelector('#thread'); const bad = [];
                  root.querySelectorAll('script,iframe,object,embed,base,meta,link,form,style,svg,math').forEach(e => bad.push(e.tagName));
                  root.querySelectorAll('*').forEach(e => { for (const a of e.attributes) {
                    if (/^on/i.test(a.name) || /^\\s*(javascript|data):/i.test(a.value) || a.name === 'srcdoc') bad.push(e.tagName + '@' + a.name); } });
                  return bad; })()",
            )
            .await;
        assert_eq!(leftovers, json!([]), "unsafe markup reached the page");
        // Quoted history is folded away.
        assert_eq!(
            p.eval("(() => { const d = document.querySelector('#thread details.quoted'); return !!d && !d.open && d.textContent.includes('Earlier letter quoted'); })()").await,
            json!(true)
        );
        // The subject is shown as text.
        let title = p.eval(&text_of(".ticket-head h1")).await;
        assert!(title.as_str().unwrap_or_default().contains("<script>"), "{title}");
        assert_eq!(p.eval("typeof window.__xss").await, json!("undefined"));
        // The watch for dialogs works: one opened on purpose is seen.
        p.eval("setTimeout(() => alert('probe'), 0)").await;
        for _ in 0..50 {
            if !b.dialogs.lock().unwrap().is_empty() {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        }
        assert_eq!(*b.dialogs.lock().unwrap(), vec!["probe".to_owned()]);
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn visitors_find_answers_in_thai_and_russian_and_agents_find_tickets() {
    with_browser("visitors_find_answers_in_thai_and_russian_and_agents_find_tickets", |b, app| async move {
        let th = app
            .post("/api/v1/kb/articles", json!({"lang": "th", "title": "วิธีติดตามพัสดุ", "category": "delivery", "status": "published",
                "body": "## หาเลขพัสดุ\n\nเปิดหน้า **คำสั่งซื้อของฉัน** แล้วดูเลขพัสดุ พัสดุส่วนใหญ่ถึงภายใน 3 วันทำการ"}))
            .await
            .expect(201);
        app.post("/api/v1/kb/articles", json!({"lang": "th", "title": "การชำระเงินด้วยพร้อมเพย์", "category": "payment", "status": "published",
            "body": "สแกนคิวอาร์โค้ดพร้อมเพย์เพื่อชำระเงิน"}))
            .await
            .expect(201);
        let ru = app
            .post("/api/v1/kb/articles", json!({"lang": "ru", "title": "Возврат денег за заказ", "category": "returns", "status": "published",
                "body": "Деньги вернутся на карту в течение 10 рабочих дней после того, как склад примет возврат."}))
            .await
            .expect(201);
        app.post("/api/v1/kb/articles", json!({"lang": "ru", "title": "Способы оплаты", "category": "payment", "status": "published",
            "body": "Оплатить заказ можно картой или через СБП."}))
            .await
            .expect(201);
        let t = app.ticket("Проблема с доставкой", "shopper@example.com").await;
        let number = t["number"].as_i64().expect("number");
        // The index follows the log: wait until both articles are searchable.
        for q in ["พัสดุ", "возврат"] {
            let mut found = false;
            for _ in 0..100 {
                let r = app.get(&format!("/api/v1/kb/search?q={}", urlencode(q))).await.expect(200);
                if r["items"].as_array().is_some_and(|i| !i.is_empty()) {
                    found = true;
                    break;
                }
                tokio::time::sleep(std::time::Duration::from_millis(50)).await;
            }
            assert!(found, "{q} indexed");
        }

        // A Thai visitor on a phone types without spaces and picks a suggestion.
        let visitor = b.page("visitor").await;
        visitor.viewport(390, 800, true).await;
        visitor.goto(&app.url("/help/alpha/th")).await;
        assert_eq!(visitor.eval("document.documentElement.scrollWidth <= 390").await, json!(true), "no sideways scroll");
        visitor.eval("document.getElementById('hq').focus()").await;
        visitor.type_text("พัสดุอยู่ไหน").await;
        visitor.wait_for("!document.getElementById('hq-list').hidden", "suggestions as you type").await;
        visitor.key("ArrowDown").await;
        visitor.key("Enter").await;
        let th_id = th["id"].as_str().unwrap();
        visitor.wait_for(&format!("location.pathname.includes('{th_id}')"), "the Thai article").await;
        visitor.wait_for("document.querySelector('h1').textContent.includes('วิธีติดตามพัสดุ')", "its title").await;
        // "Was this helpful?" — yes.
        // The address changes before the page is parsed: wait for the buttons.
        visitor.wait_for("document.readyState !== 'loading' && document.querySelector('.fb-buttons button[value=yes]') !== null", "the feedback buttons").await;
        visitor.eval("document.querySelector('.fb-buttons button[value=yes]').click()").await;
        visitor.wait_for("location.search.includes('voted=1')", "the vote is taken").await;
        visitor.wait_for(&format!("{}.includes('ขอบคุณ')", text_of("#feedback")), "thanks in Thai").await;

        // A Russian visitor searches with another word form, without suggestions.
        let reader = b.page("reader").await;
        reader.goto(&app.url("/help/alpha/ru")).await;
        reader.eval("const f = document.querySelector('form.help-search'); f.q.value = 'вернуть деньги'; f.submit()").await;
        reader.wait_for("location.pathname.endsWith('/search')", "the results page").await;
        let ru_id = ru["id"].as_str().unwrap();
        reader.eval(&format!("document.querySelector('.results a[href*=\"{ru_id}\"]').click()")).await;
        reader.wait_for(&format!("location.pathname.includes('{ru_id}')"), "the Russian article").await;
        reader.wait_for("document.readyState !== 'loading' && document.querySelector('.fb-buttons button[value=yes]') !== null", "the feedback buttons").await;
        reader.eval("document.querySelector('.fb-buttons button[value=yes]').click()").await;
        reader.wait_for(&format!("{}.includes('Спасибо')", text_of("#feedback")), "thanks in Russian").await;
        app.engine.flush_kb_activity().await.expect("flush");
        let r = app.get("/api/v1/kb/analytics?days=1").await.expect(200);
        let helpful: i64 = r["articles"].as_array().unwrap().iter().map(|a| a["helpful"].as_i64().unwrap()).sum();
        assert_eq!(helpful, 2, "{r}");

        // An agent finds the ticket by another form of a word in it.
        agent(&app, "anna@alpha.test", "Anna Agent", "agent").await;
        let anna = b.page("anna").await;
        login(&anna, &app, "anna@alpha.test", "user-password").await;
        anna.eval("const s = document.getElementById('search'); s.value = 'доставки'; s.form.submit()").await;
        anna.wait_for("location.search.includes('q=')", "the search").await;
        anna.wait_for(&format!("document.querySelector('.row[data-number=\"{number}\"]')"), "the ticket found").await;
    })
    .await;
}

fn urlencode(s: &str) -> String {
    s.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

/// A shop's site on its own origin, under a strict Content-Security-Policy
/// (no inline script or style, no eval) that allows Otklik's loader and frame.
/// `/spy.js` records every policy violation the page sees.
async fn shop_site(app_origin: String, key: String) -> (String, tokio::task::JoinHandle<()>) {
    use axum::http::header;
    use axum::response::IntoResponse;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let origin = format!("http://{}", listener.local_addr().expect("addr"));
    let csp = format!(
        "default-src 'self'; script-src 'self' {app_origin}; frame-src {app_origin}; style-src 'self'; connect-src 'self'; object-src 'none'; base-uri 'none'"
    );
    let page = format!(
        "<!doctype html><html lang=\"ru\"><head><meta charset=\"utf-8\"><title>Магазин</title>\
         <script src=\"/spy.js\"></script></head><body><h1>Магазин</h1><p>Товары</p>\
         <script src=\"{app_origin}/widget/v1/{key}/loader.js\" async></script></body></html>"
    );
    let spy = "window.__violations = []; document.addEventListener('securitypolicyviolation', function (e) { window.__violations.push(e.violatedDirective + ' ' + e.blockedURI); });";
    let router = axum::Router::new()
        .route(
            "/",
            axum::routing::get(move || {
                let (page, csp) = (page.clone(), csp.clone());
                async move {
                    (
                        [
                            (header::CONTENT_TYPE, "text/html; charset=utf-8".to_owned()),
                            (header::CONTENT_SECURITY_POLICY, csp),
                        ],
                        page,
                    )
                        .into_response()
                }
            }),
        )
        .route(
            "/spy.js",
            axum::routing::get(move || async move {
                ([(header::CONTENT_TYPE, "text/javascript")], spy).into_response()
            }),
        );
    let handle = tokio::spawn(async move {
        let _ = axum::serve(listener, router).await;
    });
    (origin, handle)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_visitor_chats_from_a_strict_site_and_an_agent_answers_live() {
    // A public address for survey links; the widget answers on its own origin.
    let public = |c: &mut otklik::config::Config| c.public_url = Some("https://desk.test/".into());
    with_browser_on("a_visitor_chats_from_a_strict_site_and_an_agent_answers_live", public, |b, app| async move {
        let placeholder = app
            .post("/api/v1/channels/chat", json!({"name": "Чат магазина", "prechat": [{"field": "name", "required": true}],
                "greeting": {"ru": "Здравствуйте! Чем помочь?"}}))
            .await
            .expect(201);
        let key = placeholder["widget_key"].as_str().expect("key").to_owned();
        let (shop, site) = shop_site(app.base.clone(), key.clone()).await;
        let id = placeholder["id"].as_str().expect("id").to_owned();
        app.patch(&format!("/api/v1/channels/chat/{id}"), json!({"allowed_origins": [shop]})).await.expect(200);

        // The visitor opens the launcher, fills the pre-chat form and writes.
        let visitor = b.page("visitor").await;
        visitor.goto(&format!("{shop}/")).await;
        let f = visitor.frame_context("/frame").await;
        visitor.frame_wait_for(f, "document.querySelector('.launcher') && document.querySelector('h1').textContent === 'Чат магазина'", "the launcher").await;
        visitor.frame_eval(f, "document.querySelector('.launcher').click()").await;
        visitor.frame_wait_for(f, "!document.querySelector('.panel').hidden && !document.querySelector('form.prechat').hidden", "the pre-chat form").await;
        assert_eq!(visitor.frame_eval(f, "document.querySelector('.log').textContent.includes('Чем помочь')").await, json!(true));
        visitor.frame_eval(f, "document.querySelector('form.prechat input[name=name]').value = 'Анна'; document.querySelector('form.prechat').requestSubmit()").await;
        visitor.frame_wait_for(f, "document.querySelector('form.prechat').hidden && document.activeElement && document.activeElement.id === 'text'", "the composer").await;
        visitor.type_text("Здравствуйте, где мой заказ 5531?").await;
        visitor.key("Enter").await;
        visitor.frame_wait_for(f, "document.querySelector('li.mine[data-id]')", "the message sent").await;
        tokio::time::sleep(std::time::Duration::from_millis(300)).await;
        assert_eq!(visitor.frame_eval(f, "document.querySelectorAll('li.mine').length").await, json!(1), "shown once");

        // The agent sees it arrive in the inbox live and answers.
        let agent = b.page("agent").await;
        login(&agent, &app, "owner@alpha.test", "alpha-password").await;
        agent.goto(&app.url("/app?view=all")).await;
        agent.wait_for("document.body.dataset.live === '1'", "the inbox socket").await;
        agent.wait_for(&format!("{}.includes('где мой заказ 5531')", text_of("#rows")), "the chat in the inbox").await;
        agent.eval("document.querySelector('#rows .row a').click()").await;
        agent.wait_for("location.pathname.startsWith('/app/t/') && document.body.dataset.live === '1'", "the ticket").await;
        // The agent sees where the visitor is.
        assert_eq!(agent.eval("document.querySelector('#visitor a').textContent").await, json!("Магазин"));
        assert_eq!(agent.eval("document.querySelector('#visitor a').href").await, json!(format!("{shop}/")));
        agent.key("r").await;
        agent.type_text("Заказ 5531 передан курьеру").await;
        // The visitor is told the agent is typing.
        visitor.frame_wait_for(f, "document.querySelector('.typing').textContent.length > 0", "the agent typing").await;
        agent.eval("document.getElementById('composer').requestSubmit()").await;
        visitor.frame_wait_for(f, "[...document.querySelectorAll('li.agent .text')].some(p => p.textContent === 'Заказ 5531 передан курьеру')", "the reply live").await;
        // The visitor has read it: the agent's reply is marked read.
        let tickets = app.get("/api/v1/tickets?channel=chat").await.expect(200);
        let ticket = tickets["items"][0]["id"].as_str().expect("ticket").to_owned();
        let mut state = serde_json::Value::Null;
        for _ in 0..100 {
            let ms = app.get(&format!("/api/v1/tickets/{ticket}/messages")).await.expect(200);
            state = ms["items"]
                .as_array()
                .and_then(|i| i.iter().find(|m| m["body"] == "Заказ 5531 передан курьеру"))
                .map(|m| m["delivery"]["state"].clone())
                .unwrap_or_default();
            if state == "read" { break; }
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        }
        assert_eq!(state, "read");

        // A reload keeps the conversation (the token is in the site's storage).
        visitor.goto(&format!("{shop}/")).await;
        let f = visitor.frame_context("/frame").await;
        visitor.frame_wait_for(f, "document.querySelectorAll('.log li.mine').length === 1 && document.querySelectorAll('.log li.agent').length === 1", "the history after a reload").await;

        // The network drops while the visitor writes; back online, the message
        // leaves once.
        visitor.frame_eval(f, "document.querySelector('.launcher').click()").await;
        visitor.offline(true).await;
        visitor.frame_eval(f, "document.getElementById('text').focus()").await;
        visitor.type_text("Курьер так и не позвонил").await;
        visitor.key("Enter").await;
        visitor.frame_wait_for(f, "document.querySelector('li.mine:last-child .meta').textContent.length > 0 && !document.querySelector('li.mine:last-child').dataset.id", "the message waiting").await;
        tokio::time::sleep(std::time::Duration::from_millis(1500)).await;
        visitor.offline(false).await;
        visitor.frame_eval(f, "window.dispatchEvent(new Event('online'))").await;
        visitor.frame_wait_for(f, "document.querySelector('li.mine:last-child').dataset.id", "the message sent after the drop").await;
        agent.wait_for("[...document.querySelectorAll('#thread .msg')].some(m => m.textContent.includes('Курьер так и не позвонил'))", "the message live for the agent").await;
        let ms = app.get(&format!("/api/v1/tickets/{ticket}/messages")).await.expect(200);
        let copies = ms["items"].as_array().expect("items").iter().filter(|m| m["body"] == "Курьер так и не позвонил").count();
        assert_eq!(copies, 1, "{ms}");

        // Solved with CSAT on: score buttons under the bot's question; a tap
        // answers in place.
        app.req("PUT", "/api/v1/surveys/settings", &app.token, Some(json!({"csat": {"enabled": true}}))).await.expect(200);
        app.patch(&format!("/api/v1/tickets/{ticket}"), json!({"status": "solved"})).await.expect(200);
        for _ in 0..50 {
            app.drain_jobs().await;
            if visitor.frame_eval(f, "document.querySelectorAll('.rate .scores button').length").await == json!(5) { break; }
            tokio::time::sleep(std::time::Duration::from_millis(200)).await;
        }
        visitor.frame_wait_for(f, "document.querySelectorAll('.rate .scores button').length === 5", "the score buttons").await;
        visitor.frame_eval(f, "document.querySelectorAll('.rate .scores button')[3].click()").await;
        visitor.frame_wait_for(f, "document.querySelector('.rate [role=status]').textContent === 'Спасибо за оценку!'", "the thanks").await;
        assert_eq!(visitor.frame_eval(f, "document.querySelectorAll('.rate [aria-pressed=true]').length").await, json!(1));
        let answered = app.get("/api/v1/surveys").await.expect(200);
        assert_eq!(answered["items"][0]["score"], 4, "{answered}");

        // Nothing the widget did broke the site's policy.
        assert_eq!(visitor.eval("window.__violations").await, json!([]));
        site.abort();
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_offline_visitor_leaves_an_email_and_the_answer_comes_back_into_the_chat() {
    with_browser_on(
        "an_offline_visitor_leaves_an_email_and_the_answer_comes_back_into_the_chat",
        |c| c.limits.chat_email_after_secs = 0,
        |b, app| async move {
            let sink = crate::email::Sink::start().await;
            let mb = crate::email::quiet_mailbox(&app, "help@shop.example", &sink).await;
            let c = app
                .post("/api/v1/channels/chat", json!({"name": "Чат магазина"}))
                .await
                .expect(201);
            let key = c["widget_key"].as_str().expect("key").to_owned();
            let (shop, site) = shop_site(app.base.clone(), key.clone()).await;

            // Nobody is online: the widget says so and asks for an address.
            let visitor = b.page("visitor").await;
            visitor.goto(&format!("{shop}/")).await;
            let f = visitor.frame_context("/frame").await;
            visitor.frame_wait_for(f, "document.querySelector('.launcher')", "the launcher").await;
            visitor.frame_eval(f, "document.querySelector('.launcher').click()").await;
            visitor.frame_wait_for(f, "document.querySelector('.status').textContent === 'Сейчас мы не в сети'", "the offline status").await;
            visitor.frame_eval(f, "document.getElementById('text').focus()").await;
            visitor.type_text("Как вернуть товар?").await;
            visitor.key("Enter").await;
            visitor.frame_wait_for(f, "document.querySelector('li.mine[data-id]') && !document.querySelector('form.offline').hidden", "the address asked for").await;
            visitor.frame_eval(f, "document.querySelector('form.offline input[name=email]').value = 'anna.away@example.com'; document.querySelector('form.offline').requestSubmit()").await;
            visitor.frame_wait_for(f, "document.querySelector('form.offline').hidden && document.querySelector('.notice').textContent.includes('anna.away@example.com')", "the address saved").await;
            // The visitor leaves; the agent answers later.
            // (Gone for sure: a page still open would read the reply.)
            visitor.call("Page.navigate", json!({"url": "about:blank"})).await;
            visitor.wait_for("location.href === 'about:blank' && document.readyState === 'complete'", "the visitor gone").await;
            let tickets = app.get("/api/v1/tickets?channel=chat").await.expect(200);
            let ticket = tickets["items"][0]["id"].as_str().expect("ticket").to_owned();
            app.post(&format!("/api/v1/tickets/{ticket}/messages"), json!({"body": "Оформите возврат в личном кабинете", "visibility": "public"}))
                .await
                .expect(201);
            app.drain_jobs().await;
            app.drain_jobs().await;
            let sent = sink.messages();
            assert_eq!(sent.len(), 1, "the reply went by email");
            assert_eq!(sent[0].0.rcpts, vec!["anna.away@example.com".to_owned()]);
            let id = sent[0].1.message_id.clone().expect("message id");
            // Her email answer joins the ticket, and the chat shows it when she is back.
            let answer = crate::email::pipe(
                &app,
                &mb,
                &crate::email::mail("Anna <anna.away@example.com>", "help@shop.example", "Re: Как вернуть товар?", "back-1@example.com", &format!("In-Reply-To: <{id}>\r\n"), "Спасибо, оформила"),
            )
            .await;
            assert_eq!(answer["ticket_id"].as_str(), Some(ticket.as_str()));
            visitor.goto(&format!("{shop}/")).await;
            let f = visitor.frame_context("/frame").await;
            visitor.frame_wait_for(f, "[...document.querySelectorAll('.log .text')].some(p => p.textContent === 'Оформите возврат в личном кабинете') && [...document.querySelectorAll('.log li.mine .text')].some(p => p.textContent === 'Спасибо, оформила')", "the email exchange in the chat").await;
            site.abort();
        },
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_telegram_message_is_answered_from_the_inbox() {
    with_browser_on(
        "a_telegram_message_is_answered_from_the_inbox",
        |c| c.public_url = Some("https://desk.test".into()),
        |b, app| async move {
            use crate::telegram::{CHAT, TOKEN, deliver, update};
            let bot = channels::telegram_stand_in::StandIn::start(TOKEN).await.expect("stand-in");
            let p = b.page("owner").await;
            login(&p, &app, "owner@alpha.test", "alpha-password").await;
            // The admin connects the bot from the admin screen.
            p.goto(&app.url("/app/admin/telegram")).await;
            p.eval(&format!(
                "(() => {{ const f = document.getElementById('telegram-form');
                    f.name.value = 'Shop bot'; f.token.value = {TOKEN:?}; f.api_base_url.value = {:?};
                    f.requestSubmit(); }})()",
                bot.base
            ))
            .await;
            p.wait_for("document.getElementById('webhook-url')", "the bot's page with its webhook").await;
            let (url, secret) = bot.webhook().expect("setWebhook");
            assert_eq!(
                p.eval("document.getElementById('webhook-url').textContent").await,
                json!(url)
            );
            let channel = url.rsplit('/').next().unwrap().to_owned();

            // A customer writes to the bot; the inbox shows it live.
            p.goto(&app.url("/app?view=all")).await;
            p.wait_for("document.body.dataset.live === '1'", "the inbox's live socket").await;
            deliver(&app, &channel, Some(&secret), &update(1, 1, json!({"text": "Здравствуйте! Где мой заказ 5531?"})))
                .await
                .expect(200);
            p.wait_for(&format!("{}.includes('Анна Петрова')", text_of("#rows")), "the Telegram conversation live").await;
            p.eval("document.querySelector('#rows .row a').click()").await;
            p.wait_for("location.pathname.startsWith('/app/t/') && document.readyState === 'complete'", "the ticket").await;
            assert_eq!(
                p.eval("[...document.querySelectorAll('#thread .msg')].some(m => m.textContent.includes('Где мой заказ 5531'))").await,
                json!(true)
            );
            // The agent answers from the composer; the bot sends it to the chat.
            p.key("r").await;
            p.type_text("Заказ <5531> уже в пути & приедет завтра").await;
            p.eval("document.getElementById('composer').requestSubmit()").await;
            p.wait_for("location.search.includes('flash.reply_sent')", "the reply is sent").await;
            app.drain_jobs().await;
            let sent = bot.calls_of("sendMessage");
            assert_eq!(sent.len(), 1, "{sent:?}");
            assert_eq!(sent[0]["chat_id"], CHAT);
            assert_eq!(sent[0]["text"], "Заказ &lt;5531&gt; уже в пути &amp; приедет завтра");
            p.wait_for("[...document.querySelectorAll('#thread .msg')].pop().textContent.toLowerCase().includes('sent')", "the reply marked sent live").await;

            // The agent links their own Telegram from the menu's page.
            p.goto(&app.url("/app/telegram")).await;
            let href = p.eval("document.getElementById('telegram-connect').href").await;
            let code = href.as_str().unwrap().rsplit("start=").next().unwrap().to_owned();
            let start = json!({"update_id": 50, "message": {"message_id": 50, "date": 1_795_000_000,
                "chat": {"id": 777, "type": "private"},
                "from": {"id": 777, "is_bot": false, "first_name": "Owner"}, "text": format!("/start {code}")}});
            deliver(&app, &channel, Some(&secret), &start).await.expect(200);
            p.goto(&app.url("/app/telegram")).await;
            p.wait_for("document.getElementById('telegram-linked')", "the linked Telegram").await;
        },
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_ringing_call_pops_up_with_the_callers_tickets() {
    with_browser("a_ringing_call_pops_up_with_the_callers_tickets", |b, app| async move {
        agent(&app, "olga@alpha.test", "Ольга", "agent").await;
        // A customer known by their phone, with an open ticket.
        let t = app.post("/api/v1/tickets", json!({"subject": "Где посылка",
            "customer": {"name": "Анна Петрова", "phone": "+79001234567"},
            "message": {"body": "Заказ 5531 не пришёл"}})).await.expect(201);
        let (channel, secret) = crate::phone::channel(&app, None).await;
        let p = b.page("olga").await;
        login(&p, &app, "olga@alpha.test", "user-password").await;
        p.wait_for("document.body.dataset.live === '1'", "the inbox's live socket").await;
        assert_eq!(p.eval("document.getElementById('call-pop').hidden").await, json!(true));
        crate::phone::call(&app, &channel, Some(&secret), 0,
            &json!({"call_id": "c-77", "event": "ringing", "from": "+7 900 123-45-67", "to": crate::phone::LINE}))
            .await
            .expect(200);
        p.wait_for("!document.getElementById('call-pop').hidden", "the screen-pop").await;
        assert_eq!(
            p.eval(&text_of("#call-who")).await,
            json!("Анна Петрова · +79001234567")
        );
        assert_eq!(
            p.eval("document.querySelector('#call-tickets a').getAttribute('href')").await,
            json!(format!("/app/t/{}", t["number"]))
        );
        assert_eq!(p.eval("document.activeElement.id").await, json!("call-close"), "focus on the pop");
        // Answered somewhere: the pop goes away.
        crate::phone::call(&app, &channel, Some(&secret), 0,
            &json!({"call_id": "c-77", "event": "answered", "from": "+79001234567", "to": crate::phone::LINE}))
            .await
            .expect(200);
        p.wait_for("document.getElementById('call-pop').hidden", "the pop closed once answered").await;
    })
    .await;
}

/// A shift end to end, as two agents in Russian and Thai would work it: Anna
/// is told in the background that the customer replied, opens the ticket,
/// mentions Boris in a note (he is told), snoozes it, it comes back at the
/// set time (the server's clock under the test's control), a duplicate is
/// merged into it, and it is solved once its required field is filled. The
/// screens at 1440 px and 390 px, in ru and th, are kept in
/// `target/browser-artifacts/shift-*.png`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_shift_walks_through_reply_mention_snooze_merge_and_solve() {
    with_browser("a_shift_walks_through_reply_mention_snooze_merge_and_solve", |b, app| async move {
        let anna_id = agent(&app, "anna@alpha.test", "Анна Смирнова", "agent").await;
        agent(&app, "boris@alpha.test", "บอริส", "agent").await;
        app.post(
            "/api/v1/custom-fields",
            json!({"key": "order_number", "label": "Номер заказа", "field_type": "number", "required": true}),
        )
        .await
        .expect(201);
        let t = app.ticket("Заказ 58211 не пришёл", "shift@example.com").await;
        let (tid, number) = (t["id"].as_str().unwrap().to_owned(), t["number"].as_i64().unwrap());
        app.patch(&format!("/api/v1/tickets/{tid}"), json!({"assignee_id": anna_id})).await.expect(200);
        let dup = app.ticket("Заказ 58211 не пришёл — повтор", "shift@example.com").await;
        let dup_number = dup["number"].as_i64().unwrap();

        let anna = b.page("anna").await;
        let boris = b.page("boris").await;
        login(&anna, &app, "anna@alpha.test", "user-password").await;
        login(&boris, &app, "boris@alpha.test", "user-password").await;
        anna.goto(&app.url("/lang?set=ru&next=/app")).await;
        boris.goto(&app.url("/lang?set=th&next=/app")).await;
        let hook = "window.__shown = []; const Real = window.Notification; window.Notification = function (title, o) { window.__shown.push(title + ': ' + o.body); return new Real(title, o); }; window.Notification.permission = Real.permission;";
        for p in [&anna, &boris] {
            b.grant(p, &app.base, "notifications").await;
            p.goto(&app.url("/app?view=all")).await;
            p.eval(hook).await;
            p.wait_for("document.body.dataset.live === '1'", "the live socket").await;
        }

        // 1. The customer replies while Anna is in the inbox.
        app.post(
            &format!("/api/v1/tickets/{tid}/messages"),
            json!({"body": "Посылки всё ещё нет, что делать?", "author": "customer"}),
        )
        .await
        .expect(201);
        anna.wait_for(&format!("window.__shown.some(s => s.startsWith('Клиент ответил: #{number}'))"), "the reply alert").await;

        // 2. She opens it and mentions Boris in a note; he is told.
        anna.goto(&app.url(&format!("/app/t/{number}"))).await;
        anna.wait_for("document.body.dataset.live === '1'", "Anna's socket on the ticket").await;
        anna.eval("(() => { const m = document.getElementById('mention'); m.value = '@boris'; m.dispatchEvent(new Event('change', {bubbles: true})); })()").await;
        anna.wait_for("document.getElementById('mode-note').checked && document.getElementById('body').value.startsWith('@boris ')", "the mention in a note").await;
        anna.type_text("проверь, пожалуйста, склад").await;
        anna.eval("document.getElementById('composer').requestSubmit()").await;
        anna.wait_for("location.search.includes('flash.note_added')", "the note is added").await;
        boris.wait_for(&format!("window.__shown.some(s => s.startsWith('มีคนกล่าวถึงคุณ: #{number}'))"), "Boris is told").await;

        // 3. She snoozes it for an hour; the clock moves on; it comes back.
        anna.eval("(() => { const f = document.getElementById('snooze'); f.preset.value = '1h'; f.requestSubmit(); })()").await;
        anna.wait_for("location.search.includes('flash.snoozed')", "snoozed").await;
        let snoozed = app.get(&format!("/api/v1/tickets/{tid}")).await.expect(200);
        assert_eq!(snoozed["status"], "pending");
        let until = domain::Timestamp::parse_rfc3339(snoozed["snoozed_until"].as_str().unwrap()).unwrap();
        anna.goto(&app.url("/app?view=pending")).await;
        anna.eval(hook).await;
        anna.wait_for("document.body.dataset.live === '1'", "the socket on the pending view").await;
        anna.wait_for(&format!("{}.includes('Отложена до')", text_of("#rows")), "the snoozed chip in the inbox").await;
        shots(&anna, "shift-ru-inbox").await;
        app.clock.set(Some(until.plus_millis(1_000)));
        app.drain_jobs().await;
        app.clock.set(None);
        anna.wait_for(&format!("window.__shown.some(s => s.startsWith('Отложенная заявка вернулась: #{number}'))"), "the snooze ended").await;
        assert_eq!(app.get(&format!("/api/v1/tickets/{tid}")).await.expect(200)["status"], "open");

        // 4. The duplicate is merged into it, by number.
        anna.goto(&app.url(&format!("/app/t/{dup_number}"))).await;
        anna.eval(&format!("(() => {{ const f = document.getElementById('merge'); f.into.value = '#{number}'; f.requestSubmit(); }})()")).await;
        anna.wait_for(&format!("location.pathname === '/app/t/{number}' && location.search.includes('flash.ticket_merged')"), "on the target after the merge").await;
        anna.wait_for(&format!("[...document.querySelectorAll('#thread .activity')].some(a => a.textContent.includes('#{dup_number}'))"), "the merge in the thread").await;

        // 5. Solving asks for the required field first; filled, it solves.
        anna.eval("(() => { const s = document.querySelector('#props select[name=status]'); s.value = 'solved'; s.dispatchEvent(new Event('change', {bubbles: true})); })()").await;
        anna.wait_for(&format!("{}.includes('заполните перед тем, как решить заявку')", text_of("#toast")), "the refusal in Russian").await;
        anna.wait_for("document.querySelector('#props select[name=status]').value === 'open'", "the panel shows the ticket as it is").await;
        anna.eval("(() => { const i = document.querySelector('#props [name=\"cf.order_number\"]'); i.value = '58211'; document.getElementById('props').requestSubmit(); })()").await;
        crate::helpers::until("the field saved", 10, async || {
            let got = app.get(&format!("/api/v1/tickets/{tid}")).await.expect(200);
            (got["custom_fields"]["order_number"].as_f64() == Some(58211.0)).then_some(())
        })
        .await;
        anna.eval("(() => { const s = document.querySelector('#props select[name=status]'); s.value = 'solved'; s.dispatchEvent(new Event('change', {bubbles: true})); })()").await;
        crate::helpers::until("the ticket solved", 10, async || {
            let got = app.get(&format!("/api/v1/tickets/{tid}")).await.expect(200);
            (got["status"] == "solved" && got["custom_fields"]["order_number"].as_f64() == Some(58211.0)).then_some(())
        })
        .await;

        // The screens: the ticket at 1440 and 390 px, in ru (Anna) and th (Boris).
        boris.goto(&app.url(&format!("/app/t/{number}"))).await;
        for (p, lang) in [(&anna, "ru"), (&boris, "th")] {
            p.goto(&app.url(&format!("/app/t/{number}"))).await;
            for (w, h, mobile) in [(1440, 900, false), (390, 844, true)] {
                p.viewport(w, h, mobile).await;
                p.wait_for("document.readyState === 'complete'", "laid out").await;
                assert_eq!(p.eval("document.documentElement.scrollWidth <= window.innerWidth").await, json!(true), "{lang} at {w} px scrolls sideways");
                shots(p, &format!("shift-{lang}-ticket-{w}")).await;
            }
        }
    })
    .await;
}

/// Keeps a screenshot of `page` as `target/browser-artifacts/<name>.png`.
async fn shots(page: &Page, name: &str) {
    let dir = artifacts();
    std::fs::create_dir_all(&dir).expect("artifacts directory");
    let file = dir.join(format!("{name}.png"));
    page.screenshot(&file).await;
    assert!(
        std::fs::metadata(&file).is_ok_and(|m| m.len() > 1_000),
        "{name}: no screenshot"
    );
}

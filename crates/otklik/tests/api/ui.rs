//! The agent workspace over HTTP, on both databases: sign-in, sessions and CSRF on
//! forms, the inbox and its bulk actions, the ticket page's forms, roles, languages,
//! the admin screens (mailboxes among them) and the live socket.

use crate::helpers::TestApp;
use crate::on_both;
use futures::StreamExt;
use reqwest::header::{HeaderMap, HeaderValue};
use serde_json::{Value, json};

/// A browser-like client: no redirects followed, one session cookie.
pub(crate) struct Agent {
    http: reqwest::Client,
    base: String,
    pub(crate) cookie: String,
    csrf: String,
}

fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("client")
}

fn set_cookie(res: &reqwest::Response) -> Option<String> {
    res.headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|v| v.starts_with("otklik_session="))
        .map(str::to_owned)
}

fn attr<'a>(html: &'a str, marker: &str) -> &'a str {
    let at = html
        .find(marker)
        .unwrap_or_else(|| panic!("{marker} not in page"));
    let rest = &html[at + marker.len()..];
    &rest[..rest.find('"').expect("closing quote")]
}

async fn login_form(
    app: &TestApp,
    email: &str,
    password: &str,
    remember: bool,
) -> reqwest::Response {
    let mut form = vec![
        ("workspace", "alpha"),
        ("email", email),
        ("password", password),
        ("next", "/app"),
    ];
    if remember {
        form.push(("remember", "on"));
    }
    client()
        .post(app.url("/login"))
        .form(&form)
        .send()
        .await
        .expect("login")
}

impl Agent {
    pub(crate) async fn login(app: &TestApp, email: &str, password: &str) -> Agent {
        let res = login_form(app, email, password, false).await;
        assert_eq!(res.status(), 303, "login of {email}");
        assert_eq!(res.headers()["location"], "/app");
        let cookie = set_cookie(&res).expect("session cookie");
        let cookie = cookie.split(';').next().expect("pair").to_owned();
        let mut a = Agent {
            http: client(),
            base: app.base.clone(),
            cookie,
            csrf: String::new(),
        };
        let page = a.page("/app").await;
        a.csrf = attr(&page, "data-csrf=\"").to_owned();
        assert!(a.csrf.len() > 20);
        a
    }

    fn headers(&self) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(
            "cookie",
            HeaderValue::from_str(&self.cookie).expect("cookie"),
        );
        h
    }

    pub(crate) async fn get(&self, path: &str) -> reqwest::Response {
        self.http
            .get(format!("{}{path}", self.base))
            .headers(self.headers())
            .send()
            .await
            .expect("get")
    }

    pub(crate) async fn page(&self, path: &str) -> String {
        let res = self.get(path).await;
        assert_eq!(res.status(), 200, "GET {path}");
        res.text().await.expect("body")
    }

    /// A page with the interface in `lang` (the switcher's cookie).
    pub(crate) async fn page_in(&self, lang: &str, path: &str) -> String {
        let res = self
            .http
            .get(format!("{}{path}", self.base))
            .header("cookie", format!("{}; otklik_lang={lang}", self.cookie))
            .send()
            .await
            .expect("get");
        assert_eq!(res.status(), 200, "GET {path}");
        res.text().await.expect("body")
    }

    /// The same session with the interface in `lang` (the switcher's cookie).
    pub(crate) fn speaking(mut self, lang: &str) -> Agent {
        let session = self
            .cookie
            .split("; otklik_lang=")
            .next()
            .unwrap_or_default();
        self.cookie = format!("{session}; otklik_lang={lang}");
        self
    }

    /// Posts a multipart form (the composer) as it is given.
    async fn multipart(&self, path: &str, form: reqwest::multipart::Form) -> reqwest::Response {
        self.http
            .post(format!("{}{path}", self.base))
            .headers(self.headers())
            .multipart(form)
            .send()
            .await
            .expect("post")
    }

    /// Posts a form with the CSRF field (or without, to test the check).
    pub(crate) async fn post(
        &self,
        path: &str,
        fields: &[(&str, &str)],
        with_csrf: bool,
    ) -> reqwest::Response {
        let mut form: Vec<(&str, &str)> = fields.to_vec();
        if with_csrf {
            form.insert(0, ("_csrf", self.csrf.as_str()));
        }
        self.http
            .post(format!("{}{path}", self.base))
            .headers(self.headers())
            .form(&form)
            .send()
            .await
            .expect("post")
    }
}

fn location(res: &reqwest::Response) -> String {
    res.headers()
        .get("location")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned()
}

on_both!(
    sessions_forms_and_the_ticket_page,
    light_agents_write_notes_only,
    inbox_views_filters_and_bulk_actions,
    admin_screens_manage_people_tokens_and_mailboxes,
    routing_presence_escalation_and_sla_screens,
    rule_screens_build_a_rule_from_rows_and_dry_run_it,
    macro_screens_keep_macros_and_apply_one_without_script,
    refusals_read_in_the_persons_language,
    the_thread_says_who_changed_what_and_when,
    the_field_screen_edits_orders_and_archives_fields,
    the_ticket_page_snoozes_and_ends_a_snooze,
    the_ticket_page_merges_a_duplicate,
    the_new_ticket_page_writes_to_a_customer_and_logs_a_call,
    the_customer_page_edits_and_erases_the_profile_and_organisations_gather_customers,
    preferences_choose_language_zone_signature_and_alerts,
    a_bulk_change_is_undone_except_where_someone_changed_since,
    the_ticket_page_splits_a_later_question_off,
    followers_are_kept_informed_and_listed,
    the_ticket_page_keeps_side_conversations,
    a_formatted_reply_with_an_inline_image_reaches_the_customer,
);

/// The ticket page offers to split a customer's later message (not the
/// first, not an agent's) and opens the new ticket; the old one says so.
async fn the_ticket_page_splits_a_later_question_off(app: TestApp) {
    let t = app.ticket("Счёт за ноябрь", "two@example.com").await;
    let (tid, number) = (t["id"].as_str().unwrap(), t["number"].as_i64().unwrap());
    let q = app
        .post(
            &format!("/api/v1/tickets/{tid}/messages"),
            json!({"body": "А ещё сломалась крышка", "author": "customer"}),
        )
        .await
        .expect(201)["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let a = Agent::login(&app, "owner@alpha.test", "alpha-password")
        .await
        .speaking("ru");
    let page = a.page(&format!("/app/t/{number}")).await;
    assert_eq!(
        page.matches("class=\"resend split\"").count(),
        1,
        "only the later customer message"
    );
    let res = a
        .post(&format!("/app/t/{number}/split"), &[("message", &q)], true)
        .await;
    assert_eq!(res.status(), 303);
    let to = location(&res);
    assert!(
        to.ends_with("?ok=flash.ticket_split") && !to.starts_with(&format!("/app/t/{number}?")),
        "{to}"
    );
    let new_page = a.page(&to).await;
    assert!(new_page.contains("А ещё сломалась крышка"));
    let old = a.page(&format!("/app/t/{number}")).await;
    assert!(!old.contains("А ещё сломалась крышка"));
    assert!(
        old.contains("вынес(ла) сообщение в новую заявку #"),
        "the thread says so"
    );
}

/// A bulk change is undone from its confirmation: each ticket goes back as
/// it was, except one someone changed since; a tampered undo is refused.
async fn a_bulk_change_is_undone_except_where_someone_changed_since(app: TestApp) {
    let (helper, _) = app.user("helper@alpha.test", "agent").await;
    let mut ids = Vec::new();
    for (i, who) in ["u1@example.com", "u2@example.com", "u3@example.com"]
        .iter()
        .enumerate()
    {
        let t = app.ticket(&format!("Заявка {i}"), who).await;
        ids.push(t["id"].as_str().unwrap().to_owned());
    }
    app.patch(
        &format!("/api/v1/tickets/{}", ids[0]),
        json!({"assignee_id": helper}),
    )
    .await
    .expect(200);
    let me = app.get("/api/v1/me").await.expect(200)["user"]["id"].clone();
    let a = Agent::login(&app, "owner@alpha.test", "alpha-password")
        .await
        .speaking("ru");
    let mut form: Vec<(&str, &str)> = ids.iter().map(|i| ("ids", i.as_str())).collect();
    form.extend([("op", "assign_me"), ("next", "/app?view=all")]);
    let res = a.post("/app/bulk", &form, true).await;
    assert_eq!(res.status(), 303);
    let to = location(&res);
    assert!(
        to.contains("ok=flash.bulk_done") && to.contains("undo="),
        "{to}"
    );
    let page = a.page(&to).await;
    assert!(page.contains("id=\"bulk-undo\"") && page.contains(">Отменить</button>"));
    let undo = attr(&page, "name=\"undo\" value=\"").replace("&#61;", "=");
    for id in &ids {
        let t = app.get(&format!("/api/v1/tickets/{id}")).await.expect(200);
        assert_eq!(t["assignee_id"], me);
    }
    // Someone changes the third ticket meanwhile.
    app.clock.set(Some(app.store.now().plus_millis(5_000)));
    app.patch(
        &format!("/api/v1/tickets/{}", ids[2]),
        json!({"priority": "high"}),
    )
    .await
    .expect(200);
    app.clock.set(None);
    let res = a
        .post(
            "/app/bulk/undo",
            &[("undo", &undo), ("next", "/app?view=all")],
            true,
        )
        .await;
    assert_eq!(res.status(), 303);
    assert!(
        location(&res).contains("ok=flash.bulk_undo_partial"),
        "{}",
        location(&res)
    );
    let assignee = async |id: &str| {
        app.get(&format!("/api/v1/tickets/{id}")).await.expect(200)["assignee_id"].clone()
    };
    assert_eq!(assignee(&ids[0]).await, json!(helper), "back to the helper");
    assert!(assignee(&ids[1]).await.is_null(), "back to nobody");
    assert_eq!(assignee(&ids[2]).await, me, "changed since: left alone");
    // A status change undone; a made-up undo refused.
    app.patch(
        &format!("/api/v1/tickets/{}", ids[1]),
        json!({"status": "open"}),
    )
    .await
    .expect(200);
    let res = a
        .post(
            "/app/bulk",
            &[
                ("ids", &ids[1]),
                ("op", "status"),
                ("status_value", "pending"),
            ],
            true,
        )
        .await;
    let to = location(&res);
    let page = a.page(&to).await;
    let undo = attr(&page, "name=\"undo\" value=\"").replace("&#61;", "=");
    assert!(undo.starts_with("status;"), "{undo}");
    let res = a.post("/app/bulk/undo", &[("undo", &undo)], true).await;
    assert!(location(&res).contains("ok=flash.bulk_undone"));
    let t = app
        .get(&format!("/api/v1/tickets/{}", ids[1]))
        .await
        .expect(200);
    assert_eq!(t["status"], "open");
    let res = a
        .post("/app/bulk/undo", &[("undo", "drop;x=y@1")], true)
        .await;
    assert_eq!(res.status(), 422);
}

/// A person's own preferences: the API and the page keep them; pages speak
/// their language and show times in their zone; their signature goes under
/// email replies (not chats); a refused zone or an unknown language is said.
async fn preferences_choose_language_zone_signature_and_alerts(app: TestApp) {
    let p = app.get("/api/v1/me/preferences").await.expect(200);
    assert!(p["language"].is_null() && p["time_zone"].is_null(), "{p}");
    assert_eq!(p["notify"]["desktop"], true);
    let p = app
        .patch(
            "/api/v1/me/preferences",
            json!({"language": "th", "time_zone": "Asia/Bangkok", "signature": "สมศรี\nฝ่ายบริการลูกค้า  ",
                   "notify": {"desktop": false}}),
        )
        .await
        .expect(200);
    assert_eq!(p["signature"], "สมศรี\nฝ่ายบริการลูกค้า");
    assert_eq!(
        (
            p["notify"]["desktop"].as_bool(),
            p["notify"]["mentioned"].as_bool()
        ),
        (Some(false), Some(true))
    );
    app.patch(
        "/api/v1/me/preferences",
        json!({"time_zone": "Mars/Olympus_Mons"}),
    )
    .await
    .problem(409);
    app.patch("/api/v1/me/preferences", json!({"language": "de"}))
        .await
        .problem(422);
    app.patch(
        "/api/v1/me/preferences",
        json!({"signature": "x".repeat(2001)}),
    )
    .await
    .problem(422);
    // Pages: Thai (no browser choice), Bangkok time, no desktop alerts.
    let a = Agent::login(&app, "owner@alpha.test", "alpha-password").await;
    let inbox = a.page("/app").await;
    assert!(inbox.contains("data-lang=\"th\""), "the preferred language");
    assert!(inbox.contains("data-tz=\"Asia/Bangkok\""));
    assert!(inbox.contains("data-desktop=\"0\""));
    // The signature under an email reply; none under a chat's.
    let email = app
        .post(
            "/api/v1/tickets",
            json!({"subject": "ใบเสร็จ", "channel": "email", "customer": {"email": "lek@example.co.th"},
                   "message": {"body": "ขอใบเสร็จค่ะ"}}),
        )
        .await
        .expect(201);
    let number = email["number"].as_i64().unwrap();
    let page = a.page(&format!("/app/t/{number}")).await;
    assert!(page.contains("id=\"signature-hint\""));
    let form = reqwest::multipart::Form::new()
        .text("_csrf", a.csrf.clone())
        .text("body", "ส่งใบเสร็จให้แล้วค่ะ")
        .text("visibility", "public");
    let res = a.multipart(&format!("/app/t/{number}/reply"), form).await;
    assert_eq!(res.status(), 303);
    let thread = app
        .get(&format!(
            "/api/v1/tickets/{}/messages",
            email["id"].as_str().unwrap()
        ))
        .await
        .expect(200);
    let sent = thread["items"].as_array().unwrap().last().unwrap()["body"].clone();
    assert_eq!(
        sent, "ส่งใบเสร็จให้แล้วค่ะ\n\n-- \nสมศรี\nฝ่ายบริการลูกค้า",
        "{thread}"
    );
    // The page saves the whole form: Russian, the workspace's zone, alerts off.
    let res = a
        .post(
            "/app/preferences",
            &[
                ("language", "ru"),
                ("time_zone", ""),
                ("signature", ""),
                ("replied", "on"),
            ],
            true,
        )
        .await;
    assert_eq!(res.status(), 303);
    assert!(
        res.headers()["set-cookie"]
            .to_str()
            .unwrap()
            .starts_with("otklik_lang=ru;"),
        "the choice shows at once"
    );
    let p = app.get("/api/v1/me/preferences").await.expect(200);
    assert_eq!(p["language"], "ru");
    assert!(p["time_zone"].is_null());
    assert_eq!(p["signature"], "");
    assert_eq!(
        p["notify"],
        json!({"replied": true, "assigned": false, "mentioned": false, "reminders": false, "desktop": false, "reports": false}),
        "an unticked box is off, the report emails too"
    );
    let zone = app.get("/api/v1/workspace").await.expect(200)["time_zone"]
        .as_str()
        .unwrap()
        .to_owned();
    let page = a.speaking("ru").page("/app/preferences").await;
    assert!(page.contains("Мои настройки"));
    assert!(
        page.contains(&format!("placeholder=\"{zone}\"")),
        "the workspace's zone stands in"
    );
}

/// The customer page edits the profile (name, language, tags, notes, a new
/// contact, customer fields, the organisation) and its timeline says who did
/// it; an organisation's page gathers the customers its domain brings in.
async fn the_customer_page_edits_and_erases_the_profile_and_organisations_gather_customers(
    app: TestApp,
) {
    app.post(
        "/api/v1/custom-fields",
        json!({"key": "birthday", "label": "День рождения", "field_type": "date", "applies_to": "customer"}),
    )
    .await
    .expect(201);
    let t = app.ticket("Счёт", "anna@acme.example").await;
    let cid = t["customer_id"].as_str().unwrap().to_owned();
    let me = app.get("/api/v1/me").await.expect(200);
    let my_name = me["user"]["name"].as_str().unwrap().to_owned();
    let a = Agent::login(&app, "owner@alpha.test", "alpha-password")
        .await
        .speaking("ru");
    let res = a
        .post(
            "/app/organizations",
            &[("name", "Acme"), ("domains", "acme.example")],
            true,
        )
        .await;
    assert_eq!(res.status(), 303);
    let org_page = location(&res);
    assert!(org_page.starts_with("/app/organizations/"), "{org_page}");
    let page = a.page(&org_page).await;
    assert!(page.contains("Почтовые домены") && page.contains("acme.example"));
    assert!(
        page.contains(&format!("href=\"/app/customers/{cid}\"")),
        "the domain brought Anna in"
    );
    let list = a.page("/app/organizations?q=acme").await;
    assert!(list.contains(">Acme</a>"));
    let customer = a.page(&format!("/app/customers/{cid}")).await;
    assert!(
        customer.contains("id=\"customer-org\""),
        "her organisation is shown"
    );
    assert!(customer.contains("name=\"cf.birthday\""));
    // An organisation that does not exist is refused, in Russian.
    let res = a
        .post(
            &format!("/app/customers/{cid}/edit"),
            &[("organization", "Nope")],
            true,
        )
        .await;
    assert_eq!(res.status(), 422);
    assert!(res.text().await.unwrap().contains("Организации «Nope» нет"));
    let res = a
        .post(
            &format!("/app/customers/{cid}/edit"),
            &[
                ("name", "Анна Петрова"),
                ("language", "ru"),
                ("tags", "vip, опт"),
                ("notes", "Звонить после 12:00"),
                ("organization", ""),
                ("cf.birthday", "1990-05-01"),
                ("add_phone", "+7 900 111-22-33"),
            ],
            true,
        )
        .await;
    assert_eq!(res.status(), 303);
    let c = app
        .get(&format!("/api/v1/customers/{cid}"))
        .await
        .expect(200);
    assert_eq!(c["name"], "Анна Петрова");
    assert_eq!(c["language"], "ru");
    assert_eq!(c["tags"], json!(["vip", "опт"]));
    assert_eq!(c["notes"], "Звонить после 12:00");
    assert!(c["organization_id"].is_null(), "{c}");
    assert_eq!(c["custom_fields"]["birthday"], "1990-05-01");
    assert!(
        c["identities"]
            .as_array()
            .unwrap()
            .iter()
            .any(|i| i["kind"] == "phone")
    );
    let page = a.page(&format!("/app/customers/{cid}")).await;
    assert!(page.contains("1990-05-01") && page.contains("Звонить после 12:00"));
    assert!(
        page.contains(&format!("<small class=\"who\">— {my_name}</small>")),
        "the timeline names who changed the profile"
    );
    assert!(page.contains("организация"), "and what changed");
    assert!(
        !a.page(&org_page)
            .await
            .contains(&format!("href=\"/app/customers/{cid}\""))
    );

    // An admin exports or erases the profile; the erasure wants the box ticked.
    assert!(page.contains(&format!("href=\"/api/v1/customers/{cid}/export\"")));
    let res = a
        .post(&format!("/app/customers/{cid}/erase"), &[], true)
        .await;
    assert_eq!(res.status(), 422);
    assert!(res.text().await.unwrap().contains("Отметьте флажок"));
    let res = a
        .post(
            &format!("/app/customers/{cid}/erase"),
            &[("confirm", "1")],
            true,
        )
        .await;
    assert_eq!(res.status(), 303);
    let page = a.page(&format!("/app/customers/{cid}")).await;
    assert!(
        page.contains("Персональные данные удалены") && page.contains("Удалённый клиент"),
        "the profile says it was erased"
    );
    assert!(!page.contains("Анна Петрова") && !page.contains("Звонить после 12:00"));
    assert!(!page.contains("/erase\""), "nothing left to erase");
}

/// "New ticket": an agent logs a customer's call (the customer's words, by
/// phone, submitted as pending) and writes an email to a known customer
/// (their first message leaves by the mailbox); what cannot be done is said
/// on the form, in the person's language, with what they typed kept.
async fn the_new_ticket_page_writes_to_a_customer_and_logs_a_call(app: TestApp) {
    let a = Agent::login(&app, "owner@alpha.test", "alpha-password").await;
    let ru = Agent::login(&app, "owner@alpha.test", "alpha-password")
        .await
        .speaking("ru");
    let form = a.page("/app/new").await;
    assert!(form.contains("name=\"kind\" value=\"log\""));
    assert!(a.page("/app").await.contains("href=\"/app/new\""));
    // No mailbox sends yet: an email is refused on the form, the text kept.
    let res = ru
        .post(
            "/app/new",
            &[
                ("kind", "email"),
                ("email", "ira@example.com"),
                ("subject", "Доставка"),
                ("body", "Ирина, ваш заказ задерживается."),
                ("priority", "normal"),
            ],
            true,
        )
        .await;
    assert_eq!(res.status(), 200);
    let page = res.text().await.unwrap();
    assert!(
        page.contains("ни один почтовый ящик"),
        "the reason, in Russian"
    );
    assert!(
        page.contains("Ирина, ваш заказ задерживается."),
        "the text is kept"
    );
    // No way to reach the customer at all.
    let page = ru
        .post(
            "/app/new",
            &[("kind", "log"), ("subject", "Звонок"), ("body", "…")],
            true,
        )
        .await
        .text()
        .await
        .unwrap();
    assert!(page.contains("Укажите e-mail или телефон клиента."));
    // A call logged in the customer's words, a new customer by phone.
    let res = a
        .post(
            "/app/new",
            &[
                ("kind", "log"),
                ("channel", "phone"),
                ("phone", "+7 900 555-12-34"),
                ("name", "Ирина"),
                ("subject", "Звонок: сломалась крышка"),
                ("body", "Клиентка звонила: у чайника сломалась крышка."),
                ("priority", "high"),
                ("status", "pending"),
                ("tags", "warranty, kettle"),
            ],
            true,
        )
        .await;
    assert_eq!(res.status(), 303);
    let to = location(&res);
    assert!(to.ends_with("?ok=flash.ticket_created"), "{to}");
    let number: i64 = to["/app/t/".len()..to.find('?').unwrap()].parse().unwrap();
    let t = app
        .get(&format!("/api/v1/tickets/{number}"))
        .await
        .expect(200);
    assert_eq!(
        (
            t["channel"].as_str(),
            t["status"].as_str(),
            t["priority"].as_str()
        ),
        (Some("phone"), Some("pending"), Some("high")),
        "{t}"
    );
    assert_eq!(t["tags"], json!(["kettle", "warranty"]));
    let thread = app
        .get(&format!(
            "/api/v1/tickets/{}/messages",
            t["id"].as_str().unwrap()
        ))
        .await
        .expect(200);
    assert_eq!(thread["items"][0]["author"]["kind"], "customer");
    assert!(a.page(&to).await.contains("у чайника сломалась крышка"));
    // An email to that customer, from their page, once a mailbox sends.
    let sink = crate::email::Sink::start().await;
    crate::email::quiet_mailbox(&app, "help@alpha.example", &sink).await;
    let customer = t["customer_id"].as_str().unwrap();
    app.patch(
        &format!("/api/v1/customers/{customer}"),
        json!({"identities": [{"kind": "email", "value": "ira@example.com"}]}),
    )
    .await
    .expect(200);
    let form = a.page(&format!("/app/new?customer={customer}")).await;
    assert!(form.contains(&format!("name=\"customer_id\" value=\"{customer}\"")));
    assert!(form.contains("Ирина"));
    assert!(
        form.contains("Support &#60;help@alpha.example&#62;"),
        "the mailbox to send from"
    );
    let res = a
        .post(
            "/app/new",
            &[
                ("kind", "email"),
                ("customer_id", customer),
                ("subject", "Крышка для чайника"),
                ("body", "Ирина, новую крышку отправили курьером."),
                ("priority", "normal"),
            ],
            true,
        )
        .await;
    assert_eq!(
        res.status(),
        303,
        "{}",
        res.text().await.unwrap_or_default()
    );
    app.drain_jobs().await;
    let sent = sink.messages();
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0].0.rcpts, vec!["ira@example.com"]);
    assert!(sent[0].1.text.contains("новую крышку отправили"));
}

/// The ticket page merges a duplicate into a ticket by its number: the
/// target shows it in its thread, the duplicate says where it went.
async fn the_ticket_page_merges_a_duplicate(app: TestApp) {
    let t = app.ticket("Не пришёл заказ", "twice@example.com").await;
    let d = app
        .ticket("Не пришёл заказ (ещё раз)", "twice@example.com")
        .await;
    let (tn, dn) = (t["number"].as_i64().unwrap(), d["number"].as_i64().unwrap());
    let a = Agent::login(&app, "owner@alpha.test", "alpha-password").await;
    let res = a
        .post(
            &format!("/app/t/{dn}/merge"),
            &[("into", &format!("#{tn}"))],
            true,
        )
        .await;
    assert_eq!(res.status(), 303);
    assert!(
        location(&res).starts_with(&format!("/app/t/{tn}")),
        "{}",
        location(&res)
    );
    let target = a.page_in("ru", &format!("/app/t/{tn}")).await;
    assert!(
        target.contains(&format!("присоединил(а) заявку #{dn}")),
        "the thread says so"
    );
    assert!(target.contains("Не пришёл заказ (ещё раз)") || target.contains("twice@example.com"));
    let source = a.page_in("th", &format!("/app/t/{dn}")).await;
    assert!(
        source.contains("id=\"merged-into\"") && source.contains(&format!("href=\"/app/t/{tn}\"")),
        "where it went"
    );
    assert!(
        !source.contains("id=\"merge\""),
        "a closed ticket offers no merge"
    );
    // Into itself: refused with the reason, in the page's language.
    let res = a
        .speaking("ru")
        .post(
            &format!("/app/t/{tn}/merge"),
            &[("into", &tn.to_string())],
            true,
        )
        .await;
    assert_eq!(res.status(), 409);
    assert!(
        res.text()
            .await
            .unwrap()
            .contains("объединить с самой собой")
    );
}

/// The ticket page snoozes a ticket until a preset in the workspace's zone or
/// a picked time, shows until when (there and in the inbox), and ends it.
async fn the_ticket_page_snoozes_and_ends_a_snooze(app: TestApp) {
    let tz = app.get("/api/v1/workspace").await.expect(200)["time_zone"]
        .as_str()
        .expect("zone")
        .to_owned();
    let t = app.ticket("Отложить до завтра", "later@example.com").await;
    let (id, number) = (
        t["id"].as_str().unwrap().to_owned(),
        t["number"].as_i64().unwrap(),
    );
    let path = format!("/api/v1/tickets/{id}");
    let a = Agent::login(&app, "owner@alpha.test", "alpha-password").await;
    let page = a.page_in("ru", &format!("/app/t/{number}")).await;
    assert!(
        page.contains(
            "action=\"/app/t/{number}/snooze\""
                .replace("{number}", &number.to_string())
                .as_str()
        ) && page.contains("Завтра, 9:00"),
        "the snooze form"
    );
    let res = a
        .post(
            &format!("/app/t/{number}/snooze"),
            &[("preset", "tomorrow")],
            true,
        )
        .await;
    assert_eq!(res.status(), 303);
    let got = app.get(&path).await.expect(200);
    let until =
        domain::Timestamp::parse_rfc3339(got["snoozed_until"].as_str().expect("snoozed")).unwrap();
    let local = domain::time::local::format(&tz, until).unwrap();
    assert!(local.ends_with("T09:00"), "{local} in {tz}");
    assert_eq!(got["status"], "pending");
    let page = a.page_in("ru", &format!("/app/t/{number}")).await;
    assert!(page.contains("Отложена до"), "the chip says until when");
    let inbox = a.page_in("th", "/app?view=pending").await;
    assert!(inbox.contains("เลื่อนไว้จนถึง"), "the inbox row too");
    // A picked time, read in the workspace's zone.
    let res = a
        .post(
            &format!("/app/t/{number}/snooze"),
            &[("preset", "custom"), ("at", "2099-01-05T14:30")],
            true,
        )
        .await;
    // Beyond a year: refused, and the page says why in the person's words.
    assert_eq!(res.status(), 409);
    let picked =
        domain::time::local::format(&tz, app.store.now().plus_millis(3 * 24 * 3_600_000)).unwrap();
    let res = a
        .post(
            &format!("/app/t/{number}/snooze"),
            &[("preset", "custom"), ("at", &picked)],
            true,
        )
        .await;
    assert_eq!(res.status(), 303);
    let got = app.get(&path).await.expect(200);
    let until = domain::Timestamp::parse_rfc3339(got["snoozed_until"].as_str().unwrap()).unwrap();
    assert_eq!(
        domain::time::local::format(&tz, until).as_deref(),
        Some(picked.as_str())
    );
    let res = a
        .post(
            &format!("/app/t/{number}/snooze"),
            &[("preset", "custom"), ("at", "soon")],
            true,
        )
        .await;
    assert_eq!(res.status(), 422);
    // A reminder from the same page, then cancelled from its list.
    let res = a
        .post(
            &format!("/app/t/{number}/remind"),
            &[("preset", "monday"), ("note", "проверить оплату")],
            true,
        )
        .await;
    assert_eq!(res.status(), 303);
    let mine = app.get("/api/v1/reminders").await.expect(200);
    let rid = mine["items"][0]["id"]
        .as_str()
        .expect("a reminder")
        .to_owned();
    let due =
        domain::Timestamp::parse_rfc3339(mine["items"][0]["due_at"].as_str().unwrap()).unwrap();
    assert!(
        domain::time::local::format(&tz, due)
            .unwrap()
            .ends_with("T09:00")
    );
    let page = a.page(&format!("/app/t/{number}")).await;
    assert!(page.contains(&format!("formaction=\"/app/reminders/{rid}/cancel\"")));
    let res = a
        .post(
            &format!("/app/reminders/{rid}/cancel"),
            &[("back", &format!("/app/t/{number}"))],
            true,
        )
        .await;
    assert_eq!(res.status(), 303);
    assert_eq!(
        location(&res).split('?').next(),
        Some(format!("/app/t/{number}").as_str())
    );
    assert_eq!(
        app.get("/api/v1/reminders").await.expect(200)["items"]
            .as_array()
            .map(Vec::len),
        Some(0)
    );
    // Ended.
    let res = a
        .post(
            &format!("/app/t/{number}/snooze"),
            &[("preset", "end")],
            true,
        )
        .await;
    assert_eq!(res.status(), 303);
    assert!(app.get(&path).await.expect(200)["snoozed_until"].is_null());
}

/// The admin screen edits a field, moves it, archives and restores it; the
/// ticket page leaves archived fields out.
async fn the_field_screen_edits_orders_and_archives_fields(app: TestApp) {
    let a = Agent::login(&app, "owner@alpha.test", "alpha-password").await;
    for (key, ty, opts) in [
        ("order_number", "number", ""),
        ("reason", "dropdown", "late, broken"),
    ] {
        let res = a
            .post(
                "/app/admin/fields",
                &[
                    ("key", key),
                    ("label", key),
                    ("type", ty),
                    ("options", opts),
                    ("required", "on"),
                ],
                true,
            )
            .await;
        assert_eq!(res.status(), 303, "{key}");
    }
    let fields = app.get("/api/v1/custom-fields").await.expect(200)["items"].clone();
    let id_of = |key: &str| {
        fields
            .as_array()
            .unwrap()
            .iter()
            .find(|f| f["key"] == key)
            .and_then(|f| f["id"].as_str())
            .unwrap()
            .to_owned()
    };
    let (order, reason) = (id_of("order_number"), id_of("reason"));
    // Edited: label, options, no longer required.
    let res = a
        .post(
            &format!("/app/admin/fields/{reason}"),
            &[
                ("label", "Причина возврата"),
                ("options", "late, broken, wrong size"),
            ],
            true,
        )
        .await;
    assert_eq!(res.status(), 303);
    let page = a.page_in("ru", "/app/admin/fields").await;
    assert!(
        page.contains("value=\"Причина возврата\"")
            && page.contains("value=\"late, broken, wrong size\""),
        "{page}"
    );
    let got = |key: &str| {
        let key = key.to_owned();
        let app = &app;
        async move {
            app.get("/api/v1/custom-fields").await.expect(200)["items"]
                .as_array()
                .unwrap()
                .iter()
                .find(|f| f["key"] == key.as_str())
                .cloned()
                .unwrap()
        }
    };
    assert_eq!(got("reason").await["required"], false);
    // Moved up: it comes first, on the screen and in the API.
    let res = a
        .post(
            &format!("/app/admin/fields/{reason}/move"),
            &[("dir", "up")],
            true,
        )
        .await;
    assert_eq!(res.status(), 303);
    let page = a.page("/app/admin/fields").await;
    assert!(page.find("id=\"field-reason\"") < page.find("id=\"field-order_number\""));
    assert!(
        got("reason").await["position"].as_i64() < got("order_number").await["position"].as_i64()
    );
    // Archived: the ticket page leaves it out and a solve is no longer blocked.
    let t = app.ticket("Поле в архиве", "arch-ui@example.com").await;
    let number = t["number"].as_i64().unwrap();
    assert!(
        a.page(&format!("/app/t/{number}"))
            .await
            .contains("name=\"cf.order_number\"")
    );
    let res = a
        .post(
            &format!("/app/admin/fields/{order}"),
            &[("archive", "1")],
            true,
        )
        .await;
    assert_eq!(res.status(), 303);
    assert_eq!(got("order_number").await["archived"], true);
    let page = a.page_in("th", "/app/admin/fields").await;
    assert!(page.contains("กู้คืน"), "a restore button");
    assert!(
        !a.page(&format!("/app/t/{number}"))
            .await
            .contains("name=\"cf.order_number\"")
    );
    app.patch(
        &format!("/api/v1/tickets/{}", t["id"].as_str().unwrap()),
        json!({"status": "solved"}),
    )
    .await
    .expect(200);
    let res = a
        .post(
            &format!("/app/admin/fields/{order}"),
            &[("archive", "0")],
            true,
        )
        .await;
    assert_eq!(res.status(), 303);
    assert_eq!(got("order_number").await["archived"], false);
}

/// Status, assignee, team and priority changes are lines in the thread, in
/// order among the messages, with who made them, in the page's language.
async fn the_thread_says_who_changed_what_and_when(app: TestApp) {
    let (anna, _) = app.user("anna@alpha.test", "agent").await;
    app.patch(
        &format!("/api/v1/users/{anna}"),
        json!({"name": "Анна Петрова"}),
    )
    .await
    .expect(200);
    let team = app
        .post("/api/v1/teams", json!({"name": "Доставка"}))
        .await
        .expect(201)["id"]
        .as_str()
        .expect("id")
        .to_owned();
    let t = app.ticket("Где заказ?", "shopper@example.com").await;
    let id = t["id"].as_str().expect("id").to_owned();
    let number = t["number"].as_i64().expect("number");
    app.patch(
        &format!("/api/v1/tickets/{id}"),
        json!({"assignee_id": anna, "team_id": team, "priority": "high"}),
    )
    .await
    .expect(200);
    app.post(
        &format!("/api/v1/tickets/{id}/messages"),
        json!({"body": "Проверяем склад", "visibility": "public"}),
    )
    .await
    .expect(201);
    app.patch(
        &format!("/api/v1/tickets/{id}"),
        json!({"status": "pending"}),
    )
    .await
    .expect(200);
    let a = Agent::login(&app, "owner@alpha.test", "alpha-password").await;
    let page = a.page_in("ru", &format!("/app/t/{number}")).await;
    let thread = &page[page.find("id=\"thread\"").expect("thread")..];
    let thread = &thread[..thread.find("</ol>").expect("end of thread")];
    let lines: Vec<&str> = thread
        .split("<li class=\"activity\">")
        .skip(1)
        .map(|l| &l[..l.find("</li>").expect("line end")])
        .collect();
    // The reply itself opened the new ticket: that is a change too.
    assert_eq!(lines.len(), 3, "{thread}");
    for want in [
        "Исполнитель: — → Анна Петрова",
        "Команда: — → Доставка",
        "Приоритет: Обычный → Высокий",
    ] {
        assert!(lines[0].contains(want), "{want} in {}", lines[0]);
    }
    assert!(lines[0].contains("<time datetime="), "{}", lines[0]);
    assert!(lines[1].contains("Статус: Новая → Открыта"), "{}", lines[1]);
    assert!(
        lines[2].contains("Статус: Открыта → В ожидании"),
        "{}",
        lines[2]
    );
    // The reply sits between the first change and the ones it caused.
    let reply = thread.find("Проверяем склад").expect("reply");
    let first = thread.find(lines[0]).expect("first");
    let second = thread.find(lines[1]).expect("second");
    assert!(first < reply && reply < second, "{thread}");
    // Each line says who: the API client, the agent who replied.
    assert!(
        lines[0].contains("<span class=\"who\">API</span>"),
        "{}",
        lines[0]
    );
    assert!(
        lines[1].contains("<span class=\"who\">owner</span>"),
        "{}",
        lines[1]
    );
}

/// The engine's refusals reach a page in the person's language: a solve a
/// required field blocks, a status change the state machine refuses, a
/// duplicate key.
async fn refusals_read_in_the_persons_language(app: TestApp) {
    app.post(
        "/api/v1/custom-fields",
        json!({"key": "order_number", "label": "Order", "field_type": "number", "required": true}),
    )
    .await
    .expect(201);
    let t = app.ticket("Заказ не пришёл", "shopper@example.com").await;
    let number = t["number"].as_i64().expect("number");
    let id = t["id"].as_str().expect("id").to_owned();
    let solve = |csrf: String, lang: &str| {
        reqwest::multipart::Form::new()
            .text("_csrf", csrf)
            .text("visibility", "public")
            .text("body", format!("Ответ ({lang})"))
            .text("status", "solved")
    };
    let expected = [
        ("ru", "order_number: заполните перед тем, как решить заявку"),
        ("th", "order_number: ต้องกรอกก่อนแก้ไขตั๋วเสร็จ"),
        ("en", "order_number: required before the ticket is solved"),
    ];
    for (lang, text) in expected {
        let a = Agent::login(&app, "owner@alpha.test", "alpha-password")
            .await
            .speaking(lang);
        let form = solve(a.csrf.clone(), lang);
        let res = a.multipart(&format!("/app/t/{number}/reply"), form).await;
        let status = res.status();
        let page = res.text().await.expect("page");
        assert!(
            page.contains(text),
            "{lang} ({status}): {}",
            page.split("composer-error")
                .nth(1)
                .unwrap_or("no error shown")
                .chars()
                .take(300)
                .collect::<String>()
        );
    }
    let got = app.get(&format!("/api/v1/tickets/{id}")).await.expect(200);
    assert_ne!(got["status"], "solved");
    // The API keeps English words, and says which field.
    let e = app
        .patch(
            &format!("/api/v1/tickets/{id}"),
            json!({"status": "solved"}),
        )
        .await
        .expect(422);
    assert_eq!(
        e["errors"]["custom_fields.order_number"],
        "required before the ticket is solved"
    );

    // A transition the state machine refuses names both statuses, translated.
    app.patch(
        &format!("/api/v1/tickets/{id}"),
        json!({"custom_fields": {"order_number": 7}, "status": "solved"}),
    )
    .await
    .expect(200);
    let a = Agent::login(&app, "owner@alpha.test", "alpha-password")
        .await
        .speaking("ru");
    let res = a
        .post(
            &format!("/app/t/{number}/props"),
            &[("status", "new")],
            true,
        )
        .await;
    assert_eq!(res.status(), 409);
    let page = res.text().await.expect("page");
    assert!(
        page.contains("заявку нельзя перевести из статуса «Решена» в «Новая»"),
        "{page}"
    );

    // A duplicate key, in Thai.
    let a = a.speaking("th");
    let res = a
        .post("/app/admin/teams", &[("name", "Support")], true)
        .await;
    let first = res.status();
    let res = a
        .post("/app/admin/teams", &[("name", "Support")], true)
        .await;
    let page = res.text().await.expect("page");
    assert!(page.contains("มีทีมชื่อนี้อยู่แล้ว"), "{first}: {page}");
}

async fn macro_screens_keep_macros_and_apply_one_without_script(app: TestApp) {
    let a = Agent::login(&app, "owner@alpha.test", "alpha-password").await;
    app.post("/api/v1/teams", json!({"name": "Доставка"}))
        .await
        .expect(201);
    let form = [
        ("name", "Курьер опаздывает"),
        ("shared", "on"),
        ("visibility", "public"),
        (
            "body",
            "Sorry, {{customer.first_name}}: the courier is late.",
        ),
        (
            "ru",
            "Извините, {{customer.first_name}}: курьер задерживается.",
        ),
        ("th", ""),
        ("status", "pending"),
        ("priority", ""),
        ("tier", ""),
        ("team", "Доставка"),
        ("assign", ""),
        ("category", ""),
        ("add_tags", "late, courier"),
        ("remove_tags", ""),
        ("fields", ""),
    ];
    let res = a.post("/app/macros", &form, true).await;
    assert_eq!(res.status(), 303);
    let m = &app.get("/api/v1/macros").await.expect(200)["items"][0];
    let team = app.get("/api/v1/teams").await.expect(200)["items"][0]["id"].clone();
    assert_eq!(m["shared"], true);
    assert_eq!(
        m["actions"],
        json!([{"type": "set_status", "status": "pending"}, {"type": "set_team", "team_id": team},
               {"type": "add_tags", "tags": ["late", "courier"]}])
    );
    // A wrong placeholder comes back on the page, in words.
    let mut bad = form.to_vec();
    bad[3] = ("body", "Hi {{customer.nmae}}");
    let res = a.post("/app/macros", &bad, true).await;
    assert_eq!(res.status(), 200);
    let page = res.text().await.unwrap();
    assert!(
        page.contains("role=\"alert\"") && page.contains("customer.nmae"),
        "{page}"
    );
    let page = a.page("/app/macros").await;
    assert!(page.contains("value=\"Доставка\""), "the team by name");

    // Without script, the composer's picker posts the form and the page comes
    // back with the text in the reply box and the changes made.
    let t = app
        .post(
            "/api/v1/tickets",
            json!({"subject": "Где курьер", "customer": {"name": "Анна Петрова", "email": "anna@alpha.test", "language": "ru"},
                   "message": {"body": "Курьера нет"}}),
        )
        .await
        .expect(201);
    let n = t["number"].as_i64().unwrap();
    let page = a.page(&format!("/app/t/{n}")).await;
    assert!(
        page.contains("<option value=\"Курьер опаздывает\""),
        "the composer offers it"
    );
    let res = a
        .post(
            &format!("/app/t/{n}/macro"),
            &[("macro", "курьер опаздывает")],
            true,
        )
        .await;
    assert_eq!(res.status(), 200);
    let page = res.text().await.unwrap();
    assert!(
        page.contains(">Извините, Анна: курьер задерживается.</textarea>"),
        "{page}"
    );
    let t = app.get(&format!("/api/v1/tickets/{n}")).await.expect(200);
    assert_eq!(t["status"], "pending");
    assert_eq!(t["tags"], json!(["courier", "late"]));
    // Without the form's token, nothing happens.
    let res = a
        .post(
            &format!("/app/t/{n}/macro"),
            &[("macro", "Курьер опаздывает")],
            false,
        )
        .await;
    assert_eq!(res.status(), 403);
}

async fn rule_screens_build_a_rule_from_rows_and_dry_run_it(app: TestApp) {
    let a = Agent::login(&app, "owner@alpha.test", "alpha-password").await;
    app.post("/api/v1/teams", json!({"name": "Возвраты"}))
        .await
        .expect(201);
    app.ticket("Хочу вернуть колонку", "anna@alpha.test").await;
    app.ticket("Где мой заказ", "boris@alpha.test").await;
    let rows = |extra: &[(&'static str, &'static str)]| {
        let mut f = vec![
            ("name", "Возвраты — команде"),
            ("kind", "trigger"),
            ("position", "3"),
            ("active", "on"),
            ("on", "customer.wrote"),
            ("on", "ticket.created"),
            ("all_field", "subject"),
            ("all_op", "matches"),
            ("all_value", "вернуть|возврат"),
            ("all_field", ""),
            ("all_op", ""),
            ("all_value", ""),
            ("any_field", "priority"),
            ("any_op", "in"),
            ("any_value", "normal, high"),
            ("act_type", "set_team"),
            ("act_value", "Возвраты"),
            ("act_text", ""),
            ("act_ru", ""),
            ("act_th", ""),
            ("act_type", "reply"),
            ("act_value", ""),
            (
                "act_text",
                "We have your return request, {{customer.first_name}}.",
            ),
            (
                "act_ru",
                "Заявку на возврат получили, {{customer.first_name}}.",
            ),
            ("act_th", ""),
            ("act_type", "add_tags"),
            ("act_value", "returns, vip-check"),
            ("act_text", ""),
            ("act_ru", ""),
            ("act_th", ""),
        ];
        f.extend_from_slice(extra);
        f
    };
    // The dry run lists what the rule would touch, without saving it.
    let res = a.post("/app/admin/rules/dry-run", &rows(&[]), true).await;
    assert_eq!(res.status(), 200);
    let page = res.text().await.unwrap();
    assert!(
        page.contains("Хочу вернуть колонку") && !page.contains("Где мой заказ"),
        "{page}"
    );
    assert_eq!(
        app.get("/api/v1/rules").await.expect(200)["items"],
        json!([])
    );

    // A mistake comes back on the same form, rows kept, saying what is wrong.
    let mut bad = rows(&[]);
    bad[8] = ("all_value", "(вернуть");
    let res = a.post("/app/admin/rules", &bad, true).await;
    assert_eq!(res.status(), 200);
    let page = res.text().await.unwrap();
    assert!(
        page.contains("role=\"alert\"") && page.contains("all[0]"),
        "{page}"
    );
    assert!(page.contains("value=\"(вернуть\""), "the row is kept");

    let res = a.post("/app/admin/rules", &rows(&[]), true).await;
    assert_eq!(res.status(), 303);
    let r = &app.get("/api/v1/rules").await.expect(200)["items"][0];
    let team = app.get("/api/v1/teams").await.expect(200)["items"][0]["id"].clone();
    assert_eq!(r["name"], "Возвраты — команде");
    assert_eq!(r["on"], json!(["ticket.created", "customer.wrote"]));
    assert_eq!(r["position"], 3);
    assert_eq!(
        r["all"],
        json!([{"field": "subject", "op": "matches", "value": "вернуть|возврат"}])
    );
    assert_eq!(
        r["any"],
        json!([{"field": "priority", "op": "in", "value": ["normal", "high"]}])
    );
    assert_eq!(
        r["actions"][0],
        json!({"type": "set_team", "team_id": team})
    );
    assert_eq!(
        r["actions"][1]["translations"],
        json!({"ru": "Заявку на возврат получили, {{customer.first_name}}."})
    );
    assert_eq!(r["actions"][2]["tags"], json!(["returns", "vip-check"]));
    // The saved rule reads back into the same rows: teams by name.
    let id = r["id"].as_str().unwrap();
    let page = a.page(&format!("/app/admin/rules/{id}")).await;
    assert!(page.contains("value=\"Возвраты\""), "the team by its name");
    assert!(page.contains("value=\"normal, high\""));
    let list = a.page("/app/admin/rules").await;
    assert!(list.contains("Возвраты — команде") && list.contains("whk_"));
    // A ticket it fires on says so in its history, naming the rule.
    let n = app.ticket("Прошу возврат денег", "vera@alpha.test").await["number"]
        .as_i64()
        .unwrap();
    let page = crate::helpers::until("the rule's line in the history", 30, async || {
        let page = a.page(&format!("/app/t/{n}")).await;
        page.contains("Trigger · Возвраты — команде")
            .then_some(page)
    })
    .await;
    assert!(
        page.contains("Team: — → Возвраты"),
        "the change the rule made, in words"
    );
    let res = a
        .post(&format!("/app/admin/rules/{id}/delete"), &[], true)
        .await;
    assert_eq!(res.status(), 303);
    assert_eq!(
        app.get("/api/v1/rules").await.expect(200)["items"],
        json!([])
    );
}

async fn routing_presence_escalation_and_sla_screens(app: TestApp) {
    let a = Agent::login(&app, "owner@alpha.test", "alpha-password").await;
    for (name, tier, mode) in [("L2", "2", "skills"), ("L1", "1", "round_robin")] {
        let res = a
            .post(
                "/app/admin/teams",
                &[("name", name), ("tier", tier), ("routing", mode)],
                true,
            )
            .await;
        assert_eq!(res.status(), 303);
    }
    let teams = app.get("/api/v1/teams").await.expect(200)["items"].clone();
    let id_of = |n: &str| -> String {
        teams
            .as_array()
            .unwrap()
            .iter()
            .find(|t| t["name"] == n)
            .unwrap()["id"]
            .as_str()
            .unwrap()
            .to_owned()
    };
    let (l1, l2) = (id_of("L1"), id_of("L2"));
    let page = a.page("/app/admin/teams").await;
    assert!(
        page.contains("value=\"round_robin\" selected"),
        "the mode is shown"
    );
    let res = a
        .post(
            &format!("/app/admin/teams/{l1}"),
            &[
                ("name", "L1"),
                ("tier", "1"),
                ("routing", "least_loaded"),
                ("reroute_present", "1"),
                ("reroute_min", "5"),
                ("escalate_present", "1"),
                ("escalate_to", &l2),
            ],
            true,
        )
        .await;
    assert_eq!(res.status(), 303);
    let t = app.get(&format!("/api/v1/teams/{l1}")).await.expect(200);
    assert_eq!(
        (
            t["routing"].as_str(),
            t["reroute_after_s"].as_i64(),
            t["escalate_to"].as_str()
        ),
        (Some("least_loaded"), Some(300), Some(l2.as_str()))
    );
    // An agent with skills and a capacity per channel.
    let res = a
        .post(
            "/app/admin/users",
            &[
                ("email", "nina@alpha.test"),
                ("role", "agent"),
                ("password", "nina-password"),
                ("skills", "billing, returns"),
                ("cap_chat", "3"),
                ("cap_email", "7"),
                ("teams", &l1),
            ],
            true,
        )
        .await;
    assert_eq!(res.status(), 200);
    let users = app.get("/api/v1/users").await.expect(200)["items"].clone();
    let nina = users
        .as_array()
        .unwrap()
        .iter()
        .find(|u| u["email"] == "nina@alpha.test")
        .unwrap()
        .clone();
    assert_eq!(nina["channel_capacity"], json!({"chat": 3, "email": 7}));
    assert_eq!(nina["skills"], json!(["billing", "returns"]));
    // She sets her own presence from the menu; nonsense is refused.
    let n = Agent::login(&app, "nina@alpha.test", "nina-password").await;
    let res = n
        .post(
            "/app/presence",
            &[("presence", "away"), ("next", "%2Fapp")],
            true,
        )
        .await;
    assert_eq!(res.status(), 303);
    assert_eq!(location(&res), "/app?ok=flash.saved", "back where she was");
    let nid = nina["id"].as_str().unwrap();
    assert_eq!(
        app.get(&format!("/api/v1/users/{nid}")).await.expect(200)["presence"],
        "away"
    );
    assert_eq!(
        n.post("/app/presence", &[("presence", "asleep")], true)
            .await
            .status(),
        422
    );
    assert!(n.page("/app").await.contains("dot p-away"));

    // A ticket under an SLA policy shows its clocks; the inbox has the SLA views.
    app.post(
        "/api/v1/sla-policies",
        json!({"name": "All", "targets": {"first_reply_minutes": 30, "resolution_minutes": 600}}),
    )
    .await
    .expect(201);
    let t = app
        .post(
            "/api/v1/tickets",
            json!({"subject": "Оплата не прошла", "team_id": l1,
            "customer": {"email": "olga@example.com"}, "message": {"body": "Деньги списаны"}}),
        )
        .await
        .expect(201);
    let (tid, number) = (
        t["id"].as_str().unwrap().to_owned(),
        t["number"].as_i64().unwrap(),
    );
    crate::helpers::until("the ticket's clocks", 30, async || {
        let t = app.get(&format!("/api/v1/tickets/{tid}")).await.expect(200);
        (!t["sla"].is_null()).then_some(())
    })
    .await;
    let page = a.page(&format!("/app/t/{number}")).await;
    assert!(page.contains("id=\"sla\""), "the SLA panel");
    assert!(page.contains("sla-ok"), "time left, in good time");
    let inbox = a.page("/app?view=all").await;
    assert!(inbox.contains("view=at_risk") && inbox.contains("view=breached"));
    assert!(
        inbox.contains("chip sla sla-ok"),
        "the inbox shows time left"
    );
    // Escalation from the ticket page: the reason becomes a note, the ticket
    // goes to L1's escalation team.
    let res = a
        .post(
            &format!("/app/t/{number}/escalate"),
            &[("reason", "Нужен специалист по оплате"), ("team", "")],
            true,
        )
        .await;
    assert_eq!(res.status(), 303);
    let t = app.get(&format!("/api/v1/tickets/{tid}")).await.expect(200);
    assert_eq!(
        (t["tier"].as_i64(), t["team_id"].as_str()),
        (Some(2), Some(l2.as_str()))
    );
    assert!(
        a.page(&format!("/app/t/{number}"))
            .await
            .contains("Нужен специалист по оплате")
    );
}

async fn sessions_forms_and_the_ticket_page(app: TestApp) {
    // Signed out: every page leads to the login, and back.
    let res = client().get(app.url("/app/t/1?x=1")).send().await.unwrap();
    assert_eq!(res.status(), 303);
    assert_eq!(location(&res), "/login?next=%2Fapp%2Ft%2F1%3Fx%3D1");
    // A login form posted from another site is refused.
    let res = client()
        .post(app.url("/login"))
        .header("origin", "https://evil.example")
        .form(&[
            ("workspace", "alpha"),
            ("email", "owner@alpha.test"),
            ("password", "alpha-password"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 403);
    assert!(set_cookie(&res).is_none());
    let res = login_form(&app, "owner@alpha.test", "wrong", false).await;
    assert_eq!(res.status(), 401);
    assert!(
        res.text()
            .await
            .unwrap()
            .contains("Wrong workspace, email or password.")
    );
    // "Remember me" makes a lasting cookie; without it the cookie ends with the browser.
    let kept =
        set_cookie(&login_form(&app, "owner@alpha.test", "alpha-password", true).await).unwrap();
    assert!(
        kept.contains("Max-Age=") && kept.contains("HttpOnly"),
        "{kept}"
    );
    let session =
        set_cookie(&login_form(&app, "owner@alpha.test", "alpha-password", false).await).unwrap();
    assert!(!session.contains("Max-Age="), "{session}");

    let a = Agent::login(&app, "owner@alpha.test", "alpha-password").await;
    let res = a.get("/app").await;
    let csp = res.headers()["content-security-policy"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(
        csp.contains("script-src 'self'") && !csp.contains("unsafe-inline"),
        "{csp}"
    );
    assert_eq!(res.headers()["x-frame-options"], "DENY");

    // Only real confirmations show: no text can be planted through the address.
    let page = a.page("/app?ok=flash.saved").await;
    assert!(page.contains("class=\"flash\"") && page.contains("Saved."));
    let page = a
        .page("/app?ok=flash.Your%20account%20is%20suspended")
        .await;
    assert!(!page.contains("class=\"flash\"") && !page.contains("suspended"));

    let t = app.ticket("Не пришёл заказ", "shopper@example.com").await;
    let (id, number) = (
        t["id"].as_str().unwrap().to_owned(),
        t["number"].as_i64().unwrap(),
    );
    let page = a.page(&format!("/app/t/{number}")).await;
    assert!(page.contains("Не пришёл заказ") && page.contains("Заказ 1042 не пришёл"));
    assert!(page.contains("shopper@example.com"), "customer sidebar");

    // Properties: refused without the CSRF token, saved with it.
    let path = format!("/app/t/{number}/props");
    let res = a.post(&path, &[("priority", "urgent")], false).await;
    assert_eq!(res.status(), 403);
    assert_eq!(
        app.get(&format!("/api/v1/tickets/{id}")).await.expect(200)["priority"],
        "normal"
    );
    let res = a
        .post(
            &path,
            &[
                ("priority", "urgent"),
                ("status", "open"),
                ("tags", "Delivery, vip"),
                ("category", "shipping"),
            ],
            true,
        )
        .await;
    assert_eq!(res.status(), 303);
    let got = app.get(&format!("/api/v1/tickets/{id}")).await.expect(200);
    assert_eq!(
        (got["priority"].as_str(), got["status"].as_str()),
        (Some("urgent"), Some("open"))
    );
    assert_eq!(got["tags"], json!(["delivery", "vip"]));
    // Custom fields change only when sent; a checkbox's hidden empty value unticks it.
    app.post(
        "/api/v1/custom-fields",
        json!({"key": "vip", "label": "VIP", "field_type": "checkbox"}),
    )
    .await
    .expect(201);
    app.post(
        "/api/v1/custom-fields",
        json!({"key": "order_id", "label": "Order", "field_type": "text"}),
    )
    .await
    .expect(201);
    let page = a.page(&format!("/app/t/{number}")).await;
    assert!(page.contains("name=\"cf.vip\"") && page.contains("name=\"cf.order_id\""));
    let fields = |t: &Value| {
        (
            t["custom_fields"]["vip"].clone(),
            t["custom_fields"]["order_id"].clone(),
        )
    };
    a.post(
        &path,
        &[
            ("cf.vip", ""),
            ("cf.vip", "on"),
            ("cf.order_id", " A-1042 "),
        ],
        true,
    )
    .await;
    let got = app.get(&format!("/api/v1/tickets/{id}")).await.expect(200);
    assert_eq!(fields(&got), (json!(true), json!("A-1042")));
    a.post(&path, &[("priority", "high")], true).await;
    let got = app.get(&format!("/api/v1/tickets/{id}")).await.expect(200);
    assert_eq!(
        fields(&got),
        (json!(true), json!("A-1042")),
        "fields not sent stay"
    );
    a.post(&path, &[("cf.vip", "")], true).await;
    let got = app.get(&format!("/api/v1/tickets/{id}")).await.expect(200);
    assert_eq!(fields(&got), (json!(false), json!("A-1042")));
    // A rule's refusal comes back as a readable page, and nothing changes.
    let res = a.post(&path, &[("status", "new")], true).await;
    assert_eq!(res.status(), 409);
    assert!(res.text().await.unwrap().contains("id=\"error-message\""));

    // A public reply with an attachment, through the multipart composer.
    let form = reqwest::multipart::Form::new()
        .text("_csrf", a.csrf.clone())
        .text("visibility", "public")
        .text("body", "Отправили повторно, трек-номер в письме.")
        .text("status", "pending")
        .part(
            "files",
            reqwest::multipart::Part::bytes(b"track: RU123".to_vec())
                .file_name("track.txt")
                .mime_str("text/plain")
                .unwrap(),
        );
    let res = a.multipart(&format!("/app/t/{number}/reply"), form).await;
    assert_eq!(res.status(), 303);
    let msgs = app
        .get(&format!("/api/v1/tickets/{id}/messages"))
        .await
        .expect(200);
    let last = msgs["items"].as_array().unwrap().last().unwrap().clone();
    assert_eq!(
        (
            last["visibility"].as_str(),
            last["attachments"][0]["filename"].as_str()
        ),
        (Some("public"), Some("track.txt"))
    );
    assert_eq!(
        app.get(&format!("/api/v1/tickets/{id}")).await.expect(200)["status"],
        "pending"
    );
    // Without the token the composer stores nothing.
    let form = reqwest::multipart::Form::new()
        .text("visibility", "internal")
        .text("body", "forged");
    let res = a.multipart(&format!("/app/t/{number}/reply"), form).await;
    assert_eq!(res.status(), 403);
    let after = app
        .get(&format!("/api/v1/tickets/{id}/messages"))
        .await
        .expect(200);
    assert_eq!(
        after["items"].as_array().unwrap().len(),
        msgs["items"].as_array().unwrap().len()
    );
    // A reply that cannot be sent comes back with the text still in the composer.
    let long = "Очень длинный ответ. ".repeat(4000);
    let form = reqwest::multipart::Form::new()
        .text("_csrf", a.csrf.clone())
        .text("visibility", "public")
        .text("body", long.clone());
    let res = a.multipart(&format!("/app/t/{number}/reply"), form).await;
    assert_eq!(res.status(), 413);
    let html = res.text().await.unwrap();
    assert!(html.contains("id=\"composer-error\"") && html.contains(&long[..200]));
    // The thread shows the note apart from replies, with channel and delivery state.
    let page = a.page(&format!("/app/t/{number}")).await;
    assert!(
        page.contains("Отправили повторно")
            && page.contains("track.txt")
            && page.contains("Queued")
    );

    // Password change: wrong current, mismatch, then done; the new one signs in.
    let res = a
        .post(
            "/app/password",
            &[
                ("current", "nope"),
                ("new", "new-password-1"),
                ("confirm", "new-password-1"),
            ],
            true,
        )
        .await;
    assert_eq!(res.status(), 422);
    assert!(
        res.text()
            .await
            .unwrap()
            .contains("The current password is not right.")
    );
    let res = a
        .post(
            "/app/password",
            &[
                ("current", "alpha-password"),
                ("new", "new-password-1"),
                ("confirm", "other"),
            ],
            true,
        )
        .await;
    assert_eq!(res.status(), 422);
    let res = a
        .post(
            "/app/password",
            &[
                ("current", "alpha-password"),
                ("new", "new-password-1"),
                ("confirm", "new-password-1"),
            ],
            true,
        )
        .await;
    assert_eq!(res.status(), 303);
    assert_eq!(
        login_form(&app, "owner@alpha.test", "new-password-1", false)
            .await
            .status(),
        303
    );

    // Logging out ends the session on the server, not only in the browser.
    let res = a.post("/logout", &[], true).await;
    assert_eq!(
        (res.status().as_u16(), location(&res)),
        (303, "/login".to_owned())
    );
    assert_eq!(a.get("/app").await.status(), 303);
}

async fn light_agents_write_notes_only(app: TestApp) {
    app.user("light@alpha.test", "light_agent").await;
    let t = app.ticket("Вопрос", "q@example.com").await;
    let (id, number) = (
        t["id"].as_str().unwrap().to_owned(),
        t["number"].as_i64().unwrap(),
    );
    let a = Agent::login(&app, "light@alpha.test", "user-password").await;
    let page = a.page(&format!("/app/t/{number}")).await;
    assert!(
        !page.contains("id=\"mode-public\""),
        "no public reply option"
    );
    assert!(page.contains("Your role writes internal notes only."));
    let path = format!("/app/t/{number}/reply");
    let form = |visibility: &'static str| {
        reqwest::multipart::Form::new()
            .text("_csrf", a.csrf.clone())
            .text("visibility", visibility)
            .text("body", format!("{visibility} text"))
    };
    assert_eq!(a.multipart(&path, form("public")).await.status(), 403);
    assert_eq!(a.multipart(&path, form("internal")).await.status(), 303);
    let msgs = app
        .get(&format!("/api/v1/tickets/{id}/messages"))
        .await
        .expect(200);
    let kinds: Vec<&str> = msgs["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["visibility"].as_str().unwrap())
        .collect();
    assert_eq!(kinds, ["public", "internal"]);
    assert_eq!(
        a.post(
            &format!("/app/t/{number}/props"),
            &[("priority", "high")],
            true
        )
        .await
        .status(),
        403
    );
    assert_eq!(a.get("/app/admin/users").await.status(), 403);
}

async fn inbox_views_filters_and_bulk_actions(app: TestApp) {
    let (me, _) = app.user("anna@alpha.test", "agent").await;
    let mut ids = Vec::new();
    for (i, subject) in ["Оплата не проходит", "Где мой заказ", "Возврат товара"]
        .iter()
        .enumerate()
    {
        let t = app.ticket(subject, &format!("c{i}@example.com")).await;
        ids.push(t["id"].as_str().unwrap().to_owned());
    }
    app.patch(
        &format!("/api/v1/tickets/{}", ids[0]),
        json!({"assignee_id": me, "priority": "high"}),
    )
    .await
    .expect(200);
    let a = Agent::login(&app, "anna@alpha.test", "user-password").await;
    let count = |html: &str, view: &str| -> String {
        let at = html.find(&format!("data-view=\"{view}\"")).unwrap();
        attr(&html[at..], "class=\"count\">")
            .split('<')
            .next()
            .unwrap()
            .to_owned()
    };
    let _ = &count;
    let page = a.page("/app").await;
    let views = |html: &str, view: &str| {
        let at = html.find(&format!("data-view=\"{view}\"")).unwrap();
        let rest = &html[at..];
        let c = rest.find("class=\"count\">").unwrap() + "class=\"count\">".len();
        rest[c..rest[c..].find('<').unwrap() + c].to_owned()
    };
    assert_eq!(
        (
            views(&page, "mine"),
            views(&page, "unassigned"),
            views(&page, "all")
        ),
        ("1".into(), "2".into(), "3".into())
    );
    assert!(
        page.contains("Оплата не проходит") && !page.contains("Где мой заказ"),
        "My open shows mine only"
    );
    let page = a.page("/app?view=all&priority=high").await;
    assert!(page.contains("Оплата не проходит") && !page.contains("Возврат товара"));
    // The search index follows the event log: give it a moment.
    let mut page = String::new();
    for _ in 0..100 {
        page = a
            .page("/app?view=all&q=%D1%82%D0%BE%D0%B2%D0%B0%D1%80")
            .await;
        if page.contains("Возврат товара") {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert!(
        page.contains("Возврат товара") && !page.contains("Где мой заказ"),
        "search finds the subject"
    );
    let page = a.page("/app?view=all&q=1042").await;
    assert!(
        page.contains("Возврат товара") && page.contains("Где мой заказ"),
        "search reads messages"
    );
    let page = a.page("/app?view=all&sort=oldest").await;
    assert!(page.find("Оплата не проходит").unwrap() < page.find("Возврат товара").unwrap());

    // Bulk: needs the token; assigns, changes status and tags each selected ticket.
    let sel = [
        ("ids", ids[1].as_str()),
        ("ids", ids[2].as_str()),
        ("next", "/app?view=all"),
    ];
    let mut f = sel.to_vec();
    f.push(("op", "assign_me"));
    assert_eq!(a.post("/app/bulk", &f, false).await.status(), 403);
    let res = a.post("/app/bulk", &f, true).await;
    assert_eq!(res.status().as_u16(), 303);
    assert!(
        location(&res).starts_with("/app?view=all&ok=flash.bulk_done&undo=assign%3B"),
        "{}",
        location(&res)
    );
    let mut f = sel.to_vec();
    f.extend([("op", "status"), ("status_value", "pending")]);
    a.post("/app/bulk", &f, true).await;
    let mut f = sel.to_vec();
    f.extend([("op", "tag"), ("tag_value", "Refund")]);
    a.post("/app/bulk", &f, true).await;
    for id in &ids[1..] {
        let t = app.get(&format!("/api/v1/tickets/{id}")).await.expect(200);
        assert_eq!(
            (t["assignee_id"].as_str(), t["status"].as_str()),
            (Some(me.as_str()), Some("pending"))
        );
        assert_eq!(t["tags"], json!(["refund"]));
    }
    let page = a.page("/app?view=pending").await;
    assert!(page.contains("Где мой заказ") && page.contains("Возврат товара"));
    assert_eq!(views(&page, "pending"), "2");

    // A message in another script than the page's says its language.
    let thai = app
        .post("/api/v1/tickets", json!({"subject": "พัสดุ", "customer": {"name": "Somchai", "email": "somchai@example.com"},
            "message": {"body": "สวัสดีครับ ยังไม่ได้รับพัสดุเลยครับ"}}))
        .await
        .expect(201);
    let page = a.page(&format!("/app/t/{}", thai["number"])).await;
    assert!(
        page.contains(r#"<div class="body text" lang="th">"#),
        "{page}"
    );

    // Kinds, languages and sizes in the reader's language.
    let c = app
        .post(
            "/api/v1/customers",
            json!({"name": "Ирина", "language": "ru", "external": "site-user-77"}),
        )
        .await
        .expect(201);
    let page = a
        .page_in(
            "ru",
            &format!("/app/customers/{}", c["id"].as_str().unwrap()),
        )
        .await;
    assert!(
        page.contains("Аккаунт на сайте") && page.contains(r#"<span class="chip">Русский</span>"#),
        "{page}"
    );
    let form = reqwest::multipart::Form::new().part(
        "file",
        reqwest::multipart::Part::bytes(vec![b'x'; 3 * 1024 + 100])
            .file_name("scan.txt")
            .mime_str("text/plain")
            .unwrap(),
    );
    let up = app.upload(form).await;
    let up: Value = up.json().await.unwrap();
    let t = app
        .post(
            "/api/v1/tickets",
            json!({"subject": "Файл", "customer": {"name": "Ирина", "email": "irina@example.com"},
            "message": {"body": "Скан во вложении", "attachments": [up["id"]]}}),
        )
        .await
        .expect(201);
    let page = a.page_in("ru", &format!("/app/t/{}", t["number"])).await;
    assert!(page.contains("3 КБ"), "{page}");

    // "Customer replied": the customer wrote last; a public answer clears it,
    // a note does not.
    let w = app.ticket("Ждёт ответа", "waiting@example.com").await;
    let wid = w["id"].as_str().unwrap().to_owned();
    let row = async || {
        let page = a.page("/app?view=all").await;
        let at = page.find("Ждёт ответа").expect("the row");
        let end = page[at..].find("</li>").map_or(page.len(), |e| at + e);
        page[at..end].contains("Customer replied")
    };
    assert!(row().await, "a new customer ticket waits");
    app.post(
        &format!("/api/v1/tickets/{wid}/messages"),
        json!({"body": "Смотрим", "visibility": "internal"}),
    )
    .await
    .expect(201);
    assert!(row().await, "a note is no answer");
    app.post(
        &format!("/api/v1/tickets/{wid}/messages"),
        json!({"body": "Отправили", "visibility": "public"}),
    )
    .await
    .expect(201);
    assert!(!row().await, "answered");
    app.post(
        &format!("/api/v1/tickets/{wid}/messages"),
        json!({"body": "Спасибо, а когда?", "author": "customer"}),
    )
    .await
    .expect(201);
    assert!(row().await, "the customer wrote again");

    // A page past the end sends to the last one (it said "251–250 of 3").
    let res = a.get("/app?view=all&page=5").await;
    assert_eq!(
        (res.status().as_u16(), location(&res)),
        (303, "/app?view=all".to_owned())
    );

    // A picker left on its prompt changes nothing (it once un-assigned them);
    // a change that changes nothing says so; "Unassigned" is a choice.
    let inbox = a.page("/app?view=all").await;
    assert!(
        inbox.contains(r#"<option value="" selected>"#),
        "the pickers start on a prompt"
    );
    let said = async |extra: &[(&'static str, &'static str)]| {
        let mut f = sel.to_vec();
        f.extend_from_slice(extra);
        location(&a.post("/app/bulk", &f, true).await)
    };
    assert_eq!(
        said(&[("op", "assign"), ("assignee_value", "")]).await,
        "/app?view=all&ok=flash.bulk_choose"
    );
    assert_eq!(
        said(&[("op", "status"), ("status_value", "")]).await,
        "/app?view=all&ok=flash.bulk_choose"
    );
    for id in &ids[1..] {
        let t = app.get(&format!("/api/v1/tickets/{id}")).await.expect(200);
        assert_eq!(
            t["assignee_id"].as_str(),
            Some(me.as_str()),
            "still assigned"
        );
    }
    assert_eq!(
        said(&[("op", "status"), ("status_value", "pending")]).await,
        "/app?view=all&ok=flash.bulk_unchanged"
    );
    assert!(
        said(&[("op", "assign"), ("assignee_value", "none")])
            .await
            .starts_with("/app?view=all&ok=flash.bulk_done&undo="),
    );
    for id in &ids[1..] {
        let t = app.get(&format!("/api/v1/tickets/{id}")).await.expect(200);
        assert!(t["assignee_id"].is_null(), "{t}");
    }
}

async fn admin_screens_manage_people_tokens_and_mailboxes(app: TestApp) {
    app.user("agent@alpha.test", "agent").await;
    let agent = Agent::login(&app, "agent@alpha.test", "user-password").await;
    for path in [
        "/app/admin/users",
        "/app/admin/teams",
        "/app/admin/fields",
        "/app/admin/settings",
        "/app/admin/tokens",
        "/app/admin/mailboxes",
    ] {
        assert_eq!(agent.get(path).await.status(), 403, "{path}");
    }
    assert_eq!(
        agent
            .post("/app/admin/tokens", &[("name", "mine")], true)
            .await
            .status(),
        403
    );
    let tokens = app.get("/api/v1/tokens").await.expect(200);
    assert!(
        tokens["items"]
            .as_array()
            .unwrap()
            .iter()
            .all(|t| t["name"] != "mine"),
        "a token was made from a refused request"
    );
    let a = Agent::login(&app, "owner@alpha.test", "alpha-password").await;

    // A password is taken as typed, spaces included.
    let res = a
        .post(
            "/app/admin/users",
            &[
                ("email", "spaced@alpha.test"),
                ("role", "agent"),
                ("password", " spaced pass "),
            ],
            true,
        )
        .await;
    assert_eq!(res.status(), 200);
    assert_eq!(
        login_form(&app, "spaced@alpha.test", " spaced pass ", false)
            .await
            .status(),
        303
    );

    // Teams, then an invitation into one with a generated password shown once.
    assert_eq!(
        a.post(
            "/app/admin/teams",
            &[("name", "Оплата"), ("tier", "2")],
            true
        )
        .await
        .status(),
        303
    );
    let teams = app.get("/api/v1/teams").await.expect(200);
    let team = teams["items"][0]["id"].as_str().unwrap().to_owned();
    let res = a
        .post(
            "/app/admin/users",
            &[
                ("email", "new@alpha.test"),
                ("name", "Новый Агент"),
                ("role", "agent"),
                ("tier", "2"),
                ("languages", "ru, th"),
                ("teams", team.as_str()),
            ],
            true,
        )
        .await;
    assert_eq!(res.status(), 200);
    let html = res.text().await.unwrap();
    let shown = attr(&html, "new@alpha.test</b> — <code>")
        .split('<')
        .next()
        .unwrap()
        .to_owned();
    assert!(shown.len() >= 16, "{shown}");
    assert_eq!(
        login_form(&app, "new@alpha.test", &shown, false)
            .await
            .status(),
        303
    );
    let users = app.get("/api/v1/users").await.expect(200);
    let new = users["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|u| u["email"] == "new@alpha.test")
        .unwrap()
        .clone();
    assert_eq!(
        (
            new["tier"].as_i64(),
            new["languages"].clone(),
            new["team_ids"].clone()
        ),
        (Some(2), json!(["ru", "th"]), json!([team]))
    );
    // Role change through the user's row.
    let uid = new["id"].as_str().unwrap();
    let res = a
        .post(
            &format!("/app/admin/users/{uid}"),
            &[
                ("name", "Новый Агент"),
                ("role", "supervisor"),
                ("tier", "3"),
                ("languages", "ru"),
                ("teams_present", "1"),
                ("active_present", "1"),
                ("active", "on"),
            ],
            true,
        )
        .await;
    assert_eq!(res.status(), 303);
    let u = app.get(&format!("/api/v1/users/{uid}")).await.expect(200);
    assert_eq!(
        (
            u["role"].as_str(),
            u["tier"].as_i64(),
            u["team_ids"].clone()
        ),
        (Some("supervisor"), Some(3), json!([]))
    );

    // Custom fields and workspace settings.
    assert_eq!(
        a.post(
            "/app/admin/fields",
            &[
                ("key", "order_id"),
                ("label", "Номер заказа"),
                ("type", "text")
            ],
            true
        )
        .await
        .status(),
        303
    );
    assert_eq!(
        app.get("/api/v1/custom-fields").await.expect(200)["items"][0]["key"],
        "order_id"
    );
    let res = a
        .post(
            "/app/admin/fields",
            &[("key", "Bad Key"), ("label", "x"), ("type", "text")],
            true,
        )
        .await;
    assert_eq!(res.status(), 422);
    assert_eq!(
        a.post(
            "/app/admin/settings",
            &[
                ("display_name", "Магазин"),
                ("default_language", "ru"),
                ("time_zone", "Europe/Moscow")
            ],
            true
        )
        .await
        .status(),
        303
    );
    let ws = app.get("/api/v1/workspace").await.expect(200);
    assert_eq!(
        (ws["display_name"].as_str(), ws["time_zone"].as_str()),
        (Some("Магазин"), Some("Europe/Moscow"))
    );

    // A token is shown once, works, and stops working when revoked.
    let res = a.post("/app/admin/tokens", &[("name", "CRM")], true).await;
    let html = res.text().await.unwrap();
    let secret = attr(&html, "id=\"token-secret\">")
        .split('<')
        .next()
        .unwrap()
        .to_owned();
    assert_eq!(
        app.req("GET", "/api/v1/me", &secret, None).await.status,
        200
    );
    let tokens = app.get("/api/v1/tokens").await.expect(200);
    let crm = tokens["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["name"] == "CRM")
        .unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(
        a.post(&format!("/app/admin/tokens/{crm}/revoke"), &[], true)
            .await
            .status(),
        303
    );
    assert_eq!(
        app.req("GET", "/api/v1/me", &secret, None).await.status,
        401
    );

    // Mailboxes: created from the form; the password is sealed and never shown.
    let mbox = [
        ("name", "Поддержка"),
        ("address", "help@alpha.test"),
        ("kind", "imap"),
        ("host", "imap.alpha.test"),
        ("port", "993"),
        ("tls", "implicit"),
        ("username", "help"),
        ("password", "imap-secret-77"),
        ("folder", "INBOX"),
        ("out_host", "smtp.alpha.test"),
        ("out_port", "587"),
        ("out_tls", "starttls"),
        ("out_username", "help"),
        ("out_password", "smtp-secret-88"),
        ("out_from_name", "Магазин"),
        ("auto_ack", "on"),
        ("active", "on"),
    ];
    let res = a.post("/app/admin/mailboxes", &mbox, true).await;
    assert_eq!(res.status(), 303);
    let to = location(&res);
    let mid = to
        .trim_start_matches("/app/admin/mailboxes/")
        .split('?')
        .next()
        .unwrap()
        .to_owned();
    let page = a.page(&format!("/app/admin/mailboxes/{mid}")).await;
    assert!(
        page.contains("imap.alpha.test")
            && !page.contains("imap-secret-77")
            && !page.contains("smtp-secret-88")
    );
    let list = a.page("/app/admin/mailboxes").await;
    assert!(list.contains("help@alpha.test"));
    let m = app
        .get(&format!("/api/v1/channels/email/{mid}"))
        .await
        .expect(200);
    assert_eq!(
        (
            m["inbound_password_set"].clone(),
            m["outbound_password_set"].clone()
        ),
        (json!(true), json!(true))
    );
    // Saving without retyping keeps the passwords; "remove" clears one.
    let mut edit: Vec<(&str, &str)> = mbox
        .iter()
        .filter(|(k, _)| !k.ends_with("password"))
        .copied()
        .collect();
    edit.retain(|(k, _)| *k != "active");
    edit.push(("clear_out_password", "on"));
    assert_eq!(
        a.post(&format!("/app/admin/mailboxes/{mid}"), &edit, true)
            .await
            .status(),
        303
    );
    let cfg = app.mailbox_config(&mid).await;
    assert_eq!(
        (
            cfg.inbound_password.as_ref().map(|p| p.expose()),
            cfg.outbound_password.as_ref().map(|p| p.expose()),
            cfg.active
        ),
        (Some("imap-secret-77"), None, false)
    );
    // A taken address is a readable refusal, in the page's language.
    let res = a.post("/app/admin/mailboxes", &mbox, true).await;
    assert_eq!(res.status(), 409);
    let page = res.text().await.unwrap();
    let lang = attr(&page, "<html lang=\"").to_owned();
    let said = match lang.as_str() {
        "ru" => "уже принадлежит ящику на этом сервере",
        "th" => "เป็นของกล่องจดหมายอื่นบนเซิร์ฟเวอร์นี้แล้ว",
        _ => "already belongs to a mailbox on this server",
    };
    assert!(page.contains(said), "{lang}: {page}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn language_follows_choice_then_browser_then_workspace() {
    let app = crate::helpers::spawn(crate::helpers::Backend::Sqlite)
        .await
        .unwrap();
    let get = |lang: Option<&'static str>, cookie: Option<&'static str>| {
        let mut r = client().get(app.url("/login"));
        if let Some(l) = lang {
            r = r.header("accept-language", l);
        }
        if let Some(c) = cookie {
            r = r.header("cookie", c);
        }
        async move { r.send().await.unwrap().text().await.unwrap() }
    };
    assert!(get(None, None).await.contains(">Log in<"));
    assert!(
        get(Some("ru-RU,ru;q=0.9,en;q=0.5"), None)
            .await
            .contains("Запомнить меня")
    );
    assert!(get(Some("th-TH"), None).await.contains("จดจำฉัน"));
    assert!(
        get(Some("ru"), Some("otklik_lang=th"))
            .await
            .contains("จดจำฉัน"),
        "a chosen language wins"
    );
    let res = client()
        .get(app.url("/lang?set=ru&next=//evil.example"))
        .send()
        .await
        .unwrap();
    assert_eq!(location(&res), "/app", "no open redirect");
    for sneaky in ["/%09/evil.example", "/%0A/evil.example", "/%5Cevil.example"] {
        let res = client()
            .get(app.url(&format!("/lang?set=ru&next={sneaky}")))
            .send()
            .await
            .unwrap();
        assert_eq!(location(&res), "/app", "{sneaky}");
    }
    assert!(
        res.headers()["set-cookie"]
            .to_str()
            .unwrap()
            .starts_with("otklik_lang=ru")
    );
    // Signed in with no choice and a foreign browser: the workspace's language.
    let a = Agent::login(&app, "owner@alpha.test", "alpha-password").await;
    a.post(
        "/app/admin/settings",
        &[("default_language", "th"), ("time_zone", "Asia/Bangkok")],
        true,
    )
    .await;
    let page = a.page("/app").await;
    assert!(page.contains("lang=\"th\"") && page.contains("กล่องงาน"));
    assert!(page.contains("data-tz=\"Asia/Bangkok\""));
}

/// Alerts a person turned off do not come (the page still refreshes on the
/// change); the ones left on do.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn live_alerts_follow_the_persons_choice() {
    use tokio_tungstenite::tungstenite::client::IntoClientRequest;
    let app = crate::helpers::spawn(crate::helpers::Backend::Sqlite)
        .await
        .unwrap();
    app.patch(
        "/api/v1/me/preferences",
        json!({"notify": {"mentioned": false}}),
    )
    .await
    .expect(200);
    let a = Agent::login(&app, "owner@alpha.test", "alpha-password").await;
    let mut r = (app.base.replace("http://", "ws://") + "/app/ws")
        .into_client_request()
        .unwrap();
    r.headers_mut().insert("cookie", a.cookie.parse().unwrap());
    r.headers_mut().insert("origin", app.base.parse().unwrap());
    let (mut ws, _) = tokio_tungstenite::connect_async(r).await.expect("socket");
    let me = app.get("/api/v1/me").await.expect(200)["user"]["id"].clone();
    let (_, helper) = app.user("helper@alpha.test", "agent").await;
    let t = app.ticket("Упоминание", "mention@example.com").await;
    let tid = t["id"].as_str().unwrap();
    app.req(
        "POST",
        &format!("/api/v1/tickets/{tid}/messages"),
        &helper,
        Some(json!({"body": "@owner посмотри, пожалуйста", "visibility": "internal"})),
    )
    .await
    .expect(201);
    app.req(
        "PATCH",
        &format!("/api/v1/tickets/{tid}"),
        &helper,
        Some(json!({"assignee_id": me})),
    )
    .await
    .expect(200);
    let mut seen = Vec::new();
    let assigned = tokio::time::timeout(std::time::Duration::from_secs(10), async {
        loop {
            if let Some(Ok(tokio_tungstenite::tungstenite::Message::Text(m))) = ws.next().await {
                let v: Value = serde_json::from_str(m.as_str()).unwrap();
                seen.push(v["t"].as_str().unwrap_or_default().to_owned());
                if v["t"] == "assigned" {
                    return v;
                }
            }
        }
    })
    .await
    .expect("the assignment is told");
    assert_eq!(assigned["ticket"], t["id"]);
    assert!(
        !seen.iter().any(|t| t == "mentioned"),
        "a muted alert came: {seen:?}"
    );
    assert!(
        seen.iter().any(|t| t == "change"),
        "the page still refreshes: {seen:?}"
    );
}

/// A follower who is not the assignee hears when someone else changes the
/// status and when the customer writes; their own change is no news.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn followers_hear_replies_and_status_changes() {
    use tokio_tungstenite::tungstenite::client::IntoClientRequest;
    let app = crate::helpers::spawn(crate::helpers::Backend::Sqlite)
        .await
        .unwrap();
    let a = Agent::login(&app, "owner@alpha.test", "alpha-password").await;
    let me = app.get("/api/v1/me").await.expect(200)["user"]["id"].clone();
    let (helper_id, helper) = app.user("helper@alpha.test", "agent").await;
    let t = app.ticket("Слежу за заявкой", "watch@example.com").await;
    let tid = t["id"].as_str().unwrap();
    app.patch(
        &format!("/api/v1/tickets/{tid}"),
        json!({"assignee_id": helper_id}),
    )
    .await
    .expect(200);
    app.post(
        &format!("/api/v1/tickets/{tid}/followers"),
        json!({"user_id": me}),
    )
    .await
    .expect(204);
    let mut r = (app.base.replace("http://", "ws://") + "/app/ws")
        .into_client_request()
        .unwrap();
    r.headers_mut().insert("cookie", a.cookie.parse().unwrap());
    r.headers_mut().insert("origin", app.base.parse().unwrap());
    let (mut ws, _) = tokio_tungstenite::connect_async(r).await.expect("socket");
    let mut next_alert = async || {
        tokio::time::timeout(std::time::Duration::from_secs(10), async {
            loop {
                if let Some(Ok(tokio_tungstenite::tungstenite::Message::Text(m))) = ws.next().await
                {
                    let v: Value = serde_json::from_str(m.as_str()).unwrap();
                    if v["t"] != "change" && v["t"] != "presence" {
                        return v;
                    }
                }
            }
        })
        .await
        .expect("an alert comes")
    };
    app.req(
        "PATCH",
        &format!("/api/v1/tickets/{tid}"),
        &helper,
        Some(json!({"status": "pending"})),
    )
    .await
    .expect(200);
    let got = next_alert().await;
    assert_eq!(got["t"], "followed");
    assert_eq!(got["ticket"], t["id"]);
    app.req(
        "POST",
        &format!("/api/v1/tickets/{tid}/messages"),
        &helper,
        Some(json!({"body": "Есть новости?", "author": "customer"})),
    )
    .await
    .expect(201);
    // The reply also reopens the ticket, which a follower hears too.
    let mut kinds = Vec::new();
    while !kinds.contains(&"replied".to_owned()) && kinds.len() < 3 {
        kinds.push(
            next_alert().await["t"]
                .as_str()
                .unwrap_or_default()
                .to_owned(),
        );
    }
    assert!(kinds.contains(&"replied".to_owned()), "{kinds:?}");
    assert!(
        kinds.iter().all(|k| k == "replied" || k == "followed"),
        "{kinds:?}"
    );
    // Unfollowed, the next change is only a refresh.
    app.req(
        "DELETE",
        &format!("/api/v1/tickets/{tid}/followers/{}", me.as_str().unwrap()),
        &helper,
        None,
    )
    .await
    .expect(204);
    app.req(
        "PATCH",
        &format!("/api/v1/tickets/{tid}"),
        &helper,
        Some(json!({"status": "solved"})),
    )
    .await
    .expect(200);
    let quiet = tokio::time::timeout(std::time::Duration::from_millis(1500), next_alert()).await;
    assert!(quiet.is_err(), "no alert after unfollowing: {quiet:?}");
    // A colleague opens a side conversation with this agent's team.
    let team = app
        .post("/api/v1/teams", json!({"name": "Склад"}))
        .await
        .expect(201)["id"]
        .clone();
    app.patch(
        &format!("/api/v1/users/{}", me.as_str().unwrap()),
        json!({"team_ids": [team]}),
    )
    .await
    .expect(200);
    app.req(
        "POST",
        &format!("/api/v1/tickets/{tid}/side-conversations"),
        &helper,
        Some(json!({"subject": "Возврат", "body": "Посылка дошла?", "team_id": team})),
    )
    .await
    .expect(201);
    let got = next_alert().await;
    assert_eq!(got["t"], "side", "{got}");
    assert_eq!(got["ticket"], t["id"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn live_socket_reports_changes_and_refuses_other_origins() {
    use tokio_tungstenite::tungstenite::client::IntoClientRequest;
    let app = crate::helpers::spawn(crate::helpers::Backend::Sqlite)
        .await
        .unwrap();
    let a = Agent::login(&app, "owner@alpha.test", "alpha-password").await;
    let ws_url = app.base.replace("http://", "ws://") + "/app/ws";
    let request = |origin: &str| {
        let mut r = ws_url.as_str().into_client_request().unwrap();
        r.headers_mut().insert("cookie", a.cookie.parse().unwrap());
        r.headers_mut().insert("origin", origin.parse().unwrap());
        r
    };
    assert!(
        tokio_tungstenite::connect_async(request("http://evil.example"))
            .await
            .is_err(),
        "cross-origin refused"
    );
    let (mut ws, _) = tokio_tungstenite::connect_async(request(&app.base))
        .await
        .expect("same origin");
    let t = app.ticket("Живое обновление", "live@example.com").await;
    let got: Value = tokio::time::timeout(std::time::Duration::from_secs(5), async {
        loop {
            if let Some(Ok(tokio_tungstenite::tungstenite::Message::Text(m))) = ws.next().await {
                let v: Value = serde_json::from_str(m.as_str()).unwrap();
                if v["t"] == "change" && v["kind"] == "ticket.created" {
                    return v;
                }
            }
        }
    })
    .await
    .expect("a change within 5 s");
    assert_eq!(got["ticket"], t["id"]);
    // Another workspace's changes never reach this socket.
    let other = app.workspace("beta").await;
    let beta = app
        .req("POST", "/api/v1/tickets", &other, Some(json!({"subject": "Чужая", "customer": {"email": "x@beta.test"}, "message": {"body": "b"}})))
        .await
        .expect(201);
    let beta_id = beta["id"].as_str().unwrap().to_owned();
    let mut seen = Vec::new();
    while let Ok(Some(Ok(m))) =
        tokio::time::timeout(std::time::Duration::from_millis(500), ws.next()).await
    {
        seen.push(m.to_string());
    }
    assert!(
        seen.iter().all(|m| !m.contains(&beta_id)),
        "a beta event reached alpha: {seen:?}"
    );

    // Invited onto a ticket by a colleague: told at once.
    let me = app.get("/api/v1/me").await.expect(200)["user"]["id"].clone();
    let (_, helper) = app.user("helper@alpha.test", "agent").await;
    let tid = t["id"].as_str().unwrap();
    let r = app
        .req(
            "POST",
            &format!("/api/v1/tickets/{tid}/collaborators"),
            &helper,
            Some(json!({"user_id": me})),
        )
        .await;
    assert_eq!(r.status.as_u16(), 204, "{}", r.body);
    let invited: Value = tokio::time::timeout(std::time::Duration::from_secs(5), async {
        loop {
            if let Some(Ok(tokio_tungstenite::tungstenite::Message::Text(m))) = ws.next().await {
                let v: Value = serde_json::from_str(m.as_str()).unwrap();
                if v["t"] == "invited" {
                    return v;
                }
            }
        }
    })
    .await
    .expect("the invitation within 5 s");
    assert_eq!(
        (invited["ticket"].clone(), invited["number"].clone()),
        (t["id"].clone(), t["number"].clone())
    );
    // A rule that tells this agent about urgent tickets: told at once, in the
    // rule's words.
    app.post(
        "/api/v1/rules",
        json!({"name": "Urgent", "kind": "trigger", "on": ["ticket.updated"],
               "all": [{"field": "priority", "op": "is", "value": "urgent"}],
               "actions": [{"type": "notify", "user_ids": [me], "text": "Срочно: {{ticket.subject}}"}]}),
    )
    .await
    .expect(201);
    app.patch(
        &format!("/api/v1/tickets/{tid}"),
        json!({"priority": "urgent"}),
    )
    .await
    .expect(200);
    let told: Value = tokio::time::timeout(std::time::Duration::from_secs(10), async {
        loop {
            if let Some(Ok(tokio_tungstenite::tungstenite::Message::Text(m))) = ws.next().await {
                let v: Value = serde_json::from_str(m.as_str()).unwrap();
                if v["t"] == "notified" {
                    return v;
                }
            }
        }
    })
    .await
    .expect("the rule's notice within 10 s");
    assert_eq!(told["text"], "Срочно: Живое обновление");
    assert_eq!(told["ticket"], t["id"]);

    // A colleague's note mentions this agent: told at once.
    let r = app
        .req(
            "POST",
            &format!("/api/v1/tickets/{tid}/messages"),
            &helper,
            Some(json!({"body": "@owner глянь, пожалуйста", "visibility": "internal"})),
        )
        .await;
    assert_eq!(r.status.as_u16(), 201, "{}", r.body);
    let mentioned = next_alert(&mut ws, "mentioned").await;
    assert_eq!(mentioned["ticket"], t["id"]);
    // A snooze on this agent's ticket runs out: told when it opens again.
    app.patch(
        &format!("/api/v1/tickets/{tid}"),
        json!({"assignee_id": me}),
    )
    .await
    .expect(200);
    let at = app.store.now().plus_millis(60_000);
    app.patch(
        &format!("/api/v1/tickets/{tid}"),
        json!({"snoozed_until": at.to_rfc3339()}),
    )
    .await
    .expect(200);
    app.clock.set(Some(at.plus_millis(1_000)));
    app.drain_jobs().await;
    app.clock.set(None);
    let woke = next_alert(&mut ws, "woke").await;
    assert_eq!(woke["number"], t["number"]);
    // A reminder set on the ticket page comes due: told, with its note.
    let res = a
        .post(
            &format!("/app/t/{}/remind", t["number"]),
            &[("preset", "1h"), ("note", "позвонить в службу доставки")],
            true,
        )
        .await;
    assert_eq!(res.status(), 303);
    let page = a.page_in("ru", &format!("/app/t/{}", t["number"])).await;
    assert!(
        page.contains("позвонить в службу доставки") && page.contains("Отменить"),
        "the reminder is listed"
    );
    app.clock.set(Some(app.store.now().plus_millis(3_700_000)));
    app.drain_jobs().await;
    app.clock.set(None);
    let told = next_alert(&mut ws, "reminder").await;
    assert!(
        told["subject"]
            .as_str()
            .unwrap_or_default()
            .ends_with("— позвонить в службу доставки"),
        "{told}"
    );

    // A page that floods the socket is cut off.
    use futures::SinkExt;
    let (mut flood, _) = tokio_tungstenite::connect_async(request(&app.base))
        .await
        .expect("connect");
    for _ in 0..100 {
        let leave = tokio_tungstenite::tungstenite::Message::Text(r#"{"t":"leave"}"#.into());
        if flood.send(leave).await.is_err() {
            break;
        }
    }
    assert!(
        closes_within(&mut flood, 5).await,
        "a flooding socket stays open"
    );

    // Logging out ends the session's sockets too (checked every 10 s).
    a.post("/logout", &[], true).await;
    assert!(
        closes_within(&mut ws, 15).await,
        "the socket outlived its session"
    );

    assert!(
        seen.iter().all(|m| m.contains(t["id"].as_str().unwrap())),
        "{seen:?}"
    );
}

/// The next message of type `kind` on a live socket, within 10 s.
async fn next_alert<S>(ws: &mut S, kind: &str) -> Value
where
    S: futures::Stream<
            Item = Result<
                tokio_tungstenite::tungstenite::Message,
                tokio_tungstenite::tungstenite::Error,
            >,
        > + Unpin,
{
    tokio::time::timeout(std::time::Duration::from_secs(10), async {
        loop {
            if let Some(Ok(tokio_tungstenite::tungstenite::Message::Text(m))) = ws.next().await {
                let v: Value = serde_json::from_str(m.as_str()).unwrap();
                if v["t"] == kind {
                    return v;
                }
            }
        }
    })
    .await
    .unwrap_or_else(|_| panic!("{kind} within 10 s"))
}

/// Whether the server closes a socket within `secs` seconds (messages before the
/// close are skipped).
async fn closes_within<S>(ws: &mut S, secs: u64) -> bool
where
    S: futures::Stream<
            Item = Result<
                tokio_tungstenite::tungstenite::Message,
                tokio_tungstenite::tungstenite::Error,
            >,
        > + Unpin,
{
    tokio::time::timeout(std::time::Duration::from_secs(secs), async {
        loop {
            match ws.next().await {
                None
                | Some(Err(_))
                | Some(Ok(tokio_tungstenite::tungstenite::Message::Close(_))) => return,
                Some(Ok(_)) => {}
            }
        }
    })
    .await
    .is_ok()
}

on_both!(knowledge_base_screens_edit_translate_compare_and_restore);

async fn knowledge_base_screens_edit_translate_compare_and_restore(app: TestApp) {
    app.user("agent@alpha.test", "agent").await;
    let agent = Agent::login(&app, "agent@alpha.test", "user-password").await;
    for path in [
        "/app/admin/kb",
        "/app/admin/kb/new",
        "/app/admin/kb/stats",
        "/app/admin/kb/sections",
    ] {
        assert_eq!(agent.get(path).await.status(), 403, "{path}");
    }
    app.user("lead@alpha.test", "supervisor").await;
    let lead = Agent::login(&app, "lead@alpha.test", "user-password").await;

    // A section named in two languages, filed under a category.
    let r = lead
        .post(
            "/app/admin/kb/sections",
            &[
                ("key", "orders"),
                ("name_en", "Orders"),
                ("name_ru", "Заказы"),
            ],
            true,
        )
        .await;
    assert_eq!(r.status(), 303);
    let r = lead
        .post(
            "/app/admin/kb/sections",
            &[
                ("key", "delivery"),
                ("name_ru", "Доставка"),
                ("parent", "orders"),
            ],
            true,
        )
        .await;
    assert_eq!(r.status(), 303);
    // Nothing is filed under itself.
    let r = lead
        .post(
            "/app/admin/kb/sections",
            &[("key", "orders"), ("parent", "delivery")],
            true,
        )
        .await;
    assert_eq!(r.status(), 422);

    // A draft, then published; the preview renders as readers will see it.
    let r = lead
        .post(
            "/app/admin/kb/new",
            &[
                ("lang", "ru"),
                ("title", "Сроки доставки"),
                ("category", "delivery"),
                ("body", "Курьер привезёт за **2 дня**."),
                ("draft", "1"),
            ],
            true,
        )
        .await;
    assert_eq!(r.status(), 303);
    let to = location(&r);
    let edit = to.split('?').next().unwrap().to_owned();
    assert!(edit.starts_with("/app/admin/kb/"), "{to}");
    let page = lead.page(&edit).await;
    assert!(page.contains("<strong>2 дня</strong>"), "preview");
    let r = lead
        .post(
            &edit,
            &[
                ("title", "Сроки доставки"),
                ("category", "delivery"),
                ("body", "Курьер привезёт за **3 дня**.\nЗвоните нам."),
                ("publish", "1"),
            ],
            true,
        )
        .await;
    assert_eq!(r.status(), 303);
    let preview = lead
        .post(
            "/app/admin/kb/preview",
            &[
                ("title", "t"),
                ("body", "# Заголовок\n<script>alert(1)</script>"),
            ],
            true,
        )
        .await
        .text()
        .await
        .unwrap();
    assert!(
        preview.contains("<h1>Заголовок</h1>") && !preview.contains("<script"),
        "{preview}"
    );
    assert_eq!(
        lead.post("/app/admin/kb/preview", &[("body", "x")], false)
            .await
            .status(),
        403
    );

    // History: v1 → v2 as a line diff, then v1 restored as v3.
    let diff = lead.page(&format!("{edit}/diff?from=1&to=2")).await;
    assert!(
        diff.contains("- Курьер привезёт за **2 дня**.") && diff.contains("+ Звоните нам."),
        "{diff}"
    );
    assert_eq!(
        lead.get(&format!("{edit}/diff?from=1&to=9")).await.status(),
        404
    );
    let r = lead
        .post(&format!("{edit}/restore"), &[("version", "1")], true)
        .await;
    assert_eq!(r.status(), 303);
    let id = edit.rsplit('/').next().unwrap();
    let a = app
        .get(&format!("/api/v1/kb/articles/{id}"))
        .await
        .expect(200);
    assert_eq!(
        (a["version"].as_i64(), a["body"].as_str()),
        (Some(3), Some("Курьер привезёт за **2 дня**."))
    );

    // A translation joins the article's group.
    let page = lead.page(&edit).await;
    let group = a["group_id"].as_str().unwrap();
    assert!(
        page.contains(&format!("/app/admin/kb/new?group={group}&amp;lang=en")),
        "translation link"
    );
    let r = lead
        .post(
            "/app/admin/kb/new",
            &[
                ("lang", "en"),
                ("group_id", group),
                ("title", "Delivery times"),
                ("body", "Two days."),
                ("publish", "1"),
            ],
            true,
        )
        .await;
    assert_eq!(r.status(), 303);
    let list = lead.page("/app/admin/kb?lang=en").await;
    assert!(
        list.contains("Delivery times") && !list.contains("Сроки доставки"),
        "{list}"
    );
    // A reader's visit shows in the analytics' chart of most read articles.
    let public = format!(
        "{}/help/alpha/ru/articles/{id}-{}",
        app.base,
        a["slug"].as_str().unwrap()
    );
    let res = reqwest::Client::builder()
        .user_agent("Mozilla/5.0")
        .build()
        .unwrap()
        .get(&public)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    app.engine.flush_kb_activity().await.expect("flush");
    let stats = lead.page("/app/admin/kb/stats?days=7").await;
    let chart = stats.find("<ol class=\"bars\">").expect("a chart");
    assert!(
        stats[chart..].contains("Сроки доставки [ru]") && stats[chart..].contains("<meter"),
        "{stats}"
    );

    // The help center's languages are configured on the look screen; the
    // editor then offers the new one.
    let form = reqwest::multipart::Form::new()
        .text("_csrf", lead.csrf.clone())
        .text("color", "#0b7a75")
        .text("languages", "ru, en th uk");
    let r = lead.multipart("/app/admin/kb/look", form).await;
    assert_eq!(r.status(), 303);
    assert!(
        lead.page("/app/admin/kb/look")
            .await
            .contains("value=\"ru en th uk\"")
    );
    let editor = lead.page("/app/admin/kb/new").await;
    assert!(
        editor.contains("<option value=\"uk\"") && editor.contains("Українська"),
        "{editor}"
    );
    let form = reqwest::multipart::Form::new()
        .text("_csrf", lead.csrf.clone())
        .text("languages", "");
    let r = lead.multipart("/app/admin/kb/look", form).await;
    assert_eq!(r.status(), 422);
    assert_eq!(
        app.get("/api/v1/kb/settings").await.expect(200)["languages"],
        serde_json::json!(["ru", "en", "th", "uk"])
    );
}

/// Following a ticket from its page, the inbox view of followed tickets, the
/// API's list, the rights (a light agent follows only themselves), and a merge
/// carrying followers over; the alerts themselves are in
/// `followers_hear_replies_and_status_changes`.
async fn followers_are_kept_informed_and_listed(app: TestApp) {
    let (light_id, light) = app.user("light@alpha.test", "light_agent").await;
    let (helper_id, helper) = app.user("helper@alpha.test", "agent").await;
    let t = app.ticket("Подписка на заявку", "follow@example.com").await;
    let (id, number) = (
        t["id"].as_str().unwrap().to_owned(),
        t["number"].as_i64().unwrap(),
    );
    let me = app.get("/api/v1/me").await.expect(200)["user"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let a = Agent::login(&app, "owner@alpha.test", "alpha-password")
        .await
        .speaking("ru");
    let page = a.page(&format!("/app/t/{number}")).await;
    assert!(page.contains("На заявку никто не подписан."), "{page}");
    let res = a
        .post(&format!("/app/t/{number}/followers"), &[("add", &me)], true)
        .await;
    assert_eq!(res.status(), 303);
    let page = a.page(&format!("/app/t/{number}")).await;
    assert!(
        page.contains("id=\"unfollow\""),
        "the page offers to unfollow"
    );
    assert!(page.contains("подписал(а)"), "the thread records it");
    let inbox = a.page("/app?view=following").await;
    assert!(
        inbox.contains("Подписка на заявку"),
        "the followed view lists it"
    );
    let listed = app
        .get(&format!("/api/v1/tickets?follower_id={me}"))
        .await
        .expect(200);
    assert_eq!(listed["items"].as_array().unwrap().len(), 1);
    assert_eq!(
        app.get(&format!("/api/v1/tickets?follower_id={helper_id}"))
            .await
            .expect(200)["items"]
            .as_array()
            .unwrap()
            .len(),
        0
    );
    let followers = format!("/api/v1/tickets/{id}/followers");
    // A light agent follows themselves but adds nobody else.
    app.req(
        "POST",
        &followers,
        &light,
        Some(json!({"user_id": helper_id})),
    )
    .await
    .expect(403);
    app.req(
        "POST",
        &followers,
        &light,
        Some(json!({"user_id": light_id})),
    )
    .await
    .expect(204);
    app.req(
        "POST",
        &followers,
        &helper,
        Some(json!({"user_id": helper_id})),
    )
    .await
    .expect(204);
    app.req(
        "POST",
        &followers,
        &helper,
        Some(json!({"user_id": helper_id})),
    )
    .await
    .expect(204);
    let list = app.get(&followers).await.expect(200);
    assert_eq!(list["user_ids"], json!([me, light_id, helper_id]));
    app.req("DELETE", &format!("{followers}/{light_id}"), &light, None)
        .await
        .expect(204);
    app.req("DELETE", &format!("{followers}/{light_id}"), &light, None)
        .await
        .expect(404);
    app.post(
        &followers,
        json!({"user_id": "01936f1e-7b2a-7c41-9a55-0d3c7e2b9d01"}),
    )
    .await
    .expect(404);
    // Merged into another ticket, its followers follow that one.
    let other = app.ticket("Дубликат подписки", "follow@example.com").await;
    let oid = other["id"].as_str().unwrap();
    app.post(&format!("/api/v1/tickets/{id}/merge"), json!({"into": oid}))
        .await
        .expect(200);
    let moved = app
        .get(&format!("/api/v1/tickets/{oid}/followers"))
        .await
        .expect(200);
    assert_eq!(moved["user_ids"], json!([me, helper_id]));
    // Unfollowing from the page.
    let onumber = other["number"].as_i64().unwrap();
    let res = a
        .post(
            &format!("/app/t/{onumber}/followers"),
            &[("remove", &me)],
            true,
        )
        .await;
    assert_eq!(res.status(), 303);
    let left = app
        .get(&format!("/api/v1/tickets/{oid}/followers"))
        .await
        .expect(200);
    assert_eq!(left["user_ids"], json!([helper_id]));
}

/// A side conversation with a team from the ticket page, in Russian: started,
/// answered, closed; both parties at once and an email with no mailbox that
/// sends are refused in the person's language.
async fn the_ticket_page_keeps_side_conversations(app: TestApp) {
    let team = app
        .post("/api/v1/teams", json!({"name": "Склад"}))
        .await
        .expect(201)["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let t = app.ticket("Где мой возврат?", "side@example.com").await;
    let number = t["number"].as_i64().unwrap();
    let a = Agent::login(&app, "owner@alpha.test", "alpha-password")
        .await
        .speaking("ru");
    let page = a.page(&format!("/app/t/{number}")).await;
    assert!(page.contains("Побочных переписок нет."), "{page}");
    let res = a
        .post(
            &format!("/app/t/{number}/side"),
            &[
                ("subject", "Проверить возврат 1042"),
                ("team", &team),
                ("to", ""),
                ("body", "Коллеги, посылка 1042 дошла до склада?"),
            ],
            true,
        )
        .await;
    assert_eq!(res.status(), 303);
    let list = app
        .get(&format!(
            "/api/v1/tickets/{}/side-conversations",
            t["id"].as_str().unwrap()
        ))
        .await
        .expect(200);
    let sid = list["items"][0]["id"].as_str().unwrap().to_owned();
    assert_eq!(list["items"][0]["team_id"].as_str(), Some(team.as_str()));
    let page = a.page(&format!("/app/t/{number}")).await;
    assert!(page.contains("Проверить возврат 1042 · Склад"), "{page}");
    assert!(page.contains("посылка 1042 дошла"));
    assert!(
        page.contains("начал(а) побочную переписку"),
        "the history says so"
    );
    let res = a
        .post(
            &format!("/app/t/{number}/side/{sid}"),
            &[("op", "reply"), ("body", "Дошла, оформляем.")],
            true,
        )
        .await;
    assert_eq!(res.status(), 303);
    let res = a
        .post(
            &format!("/app/t/{number}/side/{sid}"),
            &[("op", "close")],
            true,
        )
        .await;
    assert_eq!(res.status(), 303);
    let page = a.page(&format!("/app/t/{number}")).await;
    assert!(page.contains("Дошла, оформляем."));
    assert!(
        page.contains("<span class=\"chip\">Закрыта</span>"),
        "{page}"
    );
    assert!(page.contains("value=\"reopen\""));
    // Both a team and an address; an address with no mailbox that sends.
    let res = a
        .post(
            &format!("/app/t/{number}/side"),
            &[
                ("subject", "x"),
                ("team", &team),
                ("to", "wh@partner.example"),
                ("body", "x"),
            ],
            true,
        )
        .await;
    assert_eq!(res.status(), 422);
    assert!(
        res.text()
            .await
            .unwrap()
            .contains("Выберите команду или адрес email")
    );
    let res = a
        .post(
            &format!("/app/t/{number}/side"),
            &[
                ("subject", "x"),
                ("team", ""),
                ("to", "wh@partner.example"),
                ("body", "x"),
            ],
            true,
        )
        .await;
    assert_eq!(res.status(), 409);
    let text = res.text().await.unwrap();
    assert!(
        text.contains("ни один почтовый ящик этого пространства не отправляет письма"),
        "{text}"
    );
}

/// The composer's formatting: bold, a list, a link and an image put in the
/// text reach the customer as HTML with the image as an inline part (its
/// `cid:` named in the HTML), the plain part keeps the text as typed, the
/// thread shows it rendered with a thumbnail, and the preview renders what
/// will be sent — without running anything typed as HTML.
async fn a_formatted_reply_with_an_inline_image_reaches_the_customer(app: TestApp) {
    let sink = crate::email::Sink::start().await;
    let mb = crate::email::quiet_mailbox(&app, "help@shop.example", &sink).await;
    let first = crate::email::pipe(
        &app,
        &mb,
        &crate::email::mail(
            "Olga <olga@example.com>",
            "help@shop.example",
            "Где найти номер заказа?",
            "olga-fmt-1@example.com",
            "",
            "Не могу найти номер заказа.",
        ),
    )
    .await;
    let tid = first["ticket_id"].as_str().unwrap().to_owned();
    let number = app.get(&format!("/api/v1/tickets/{tid}")).await.expect(200)["number"]
        .as_i64()
        .unwrap();
    let a = Agent::login(&app, "owner@alpha.test", "alpha-password").await;
    // A 1×1 PNG.
    let png: Vec<u8> = vec![
        0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0, 0x0d, 0x49, 0x48, 0x44, 0x52, 0,
        0, 0, 1, 0, 0, 0, 1, 8, 6, 0, 0, 0, 0x1f, 0x15, 0xc4, 0x89, 0, 0, 0, 0x0d, 0x49, 0x44,
        0x41, 0x54, 0x78, 0x9c, 0x63, 0x60, 0, 0, 0, 0, 5, 0, 1, 0x0d, 0x0a, 0x2d, 0xb4, 0, 0, 0,
        0, 0x49, 0x45, 0x4e, 0x44, 0xae, 0x42, 0x60, 0x82,
    ];
    let text = "**Номер заказа** есть в письме о покупке:\n\n- откройте [Мои заказы](https://shop.example/orders)\n- нажмите на заказ\n\n![где номер](attachment:where.png)\n\n<b onclick=x>тег</b>";
    let preview = a.post("/app/preview", &[("body", text)], true).await;
    assert_eq!(preview.status(), 200);
    let shown = preview.text().await.unwrap();
    assert!(shown.contains("<strong>Номер заказа</strong>"), "{shown}");
    assert!(shown.contains("data-file=\"where.png\""), "{shown}");
    assert!(
        !shown.contains("<b ") && shown.contains("&lt;b onclick=x&gt;"),
        "typed HTML is shown as text: {shown}"
    );
    assert_eq!(
        a.post("/app/preview", &[("body", text)], false)
            .await
            .status(),
        403
    );
    let form = reqwest::multipart::Form::new()
        .text("_csrf", a.csrf.clone())
        .text("visibility", "public")
        .text("body", text)
        .part(
            "files",
            reqwest::multipart::Part::bytes(png.clone())
                .file_name("where.png")
                .mime_str("image/png")
                .unwrap(),
        );
    let res = a.multipart(&format!("/app/t/{number}/reply"), form).await;
    assert_eq!(res.status(), 303);
    app.drain_jobs().await;
    let got = sink.messages();
    assert_eq!(got.len(), 1);
    let (_, m, _) = &got[0];
    let html = m.html.clone().expect("an HTML part");
    assert!(html.contains("<strong>Номер заказа</strong>"), "{html}");
    assert!(html.contains("<li>нажмите на заказ</li>"), "{html}");
    assert!(
        html.contains("href=\"https://shop.example/orders\""),
        "{html}"
    );
    assert!(!html.contains("<b "), "{html}");
    let inline = m
        .attachments
        .iter()
        .find(|x| x.content_id.is_some())
        .expect("the image as an inline part");
    let cid = inline.content_id.clone().unwrap();
    assert!(
        html.contains(&format!("src=\"cid:{cid}\"")),
        "{html} / {cid}"
    );
    assert_eq!(inline.bytes.as_ref(), png.as_slice());
    assert!(
        m.text.contains("**Номер заказа**"),
        "the plain part is the text as typed: {}",
        m.text
    );
    // The thread shows it rendered, with the image.
    let page = a.page(&format!("/app/t/{number}")).await;
    assert!(page.contains("<strong>Номер заказа</strong>"), "{page}");
    assert!(page.contains("class=\"thumb\""), "a thumbnail of the image");
    // A plain reply stays plain: no HTML part.
    let form = reqwest::multipart::Form::new()
        .text("_csrf", a.csrf.clone())
        .text("visibility", "public")
        .text("body", "Спасибо, что написали!");
    assert_eq!(
        a.multipart(&format!("/app/t/{number}/reply"), form)
            .await
            .status(),
        303
    );
    app.drain_jobs().await;
    let got = sink.messages();
    assert_eq!(got.len(), 2);
    assert_eq!(got[1].1.html, None);
}

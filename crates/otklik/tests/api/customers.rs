//! Customers: identities, merging, timeline.

use crate::helpers::{Backend, TestApp};
use serde_json::{Value, json};

crate::on_both!(
    merging_moves_identities_tickets_and_history,
    identities_are_unique_per_workspace,
    doubtful_matches_are_suggested_not_merged,
    organisations_link_customers_by_domain_and_carry_fields
);

/// Organisations: a domain brings in the customers at it (those there
/// already, and new ones), never takes one from another organisation; names
/// and domains are unique; customers and organisations carry their own
/// fields, which tickets do not take.
async fn organisations_link_customers_by_domain_and_carry_fields(app: TestApp) {
    for (key, target) in [("contract", "organization"), ("birthday", "customer")] {
        app.post(
            "/api/v1/custom-fields",
            json!({"key": key, "label": key, "field_type": "text", "applies_to": target}),
        )
        .await
        .expect(201);
    }
    let f = app
        .post(
            "/api/v1/custom-fields",
            json!({"key": "vat", "label": "VAT", "field_type": "text", "applies_to": "organization", "required": true}),
        )
        .await
        .problem(409);
    assert!(
        f["detail"].as_str().unwrap().contains("ticket fields"),
        "{f}"
    );
    let anna = app.ticket("Счёт", "anna@acme.example").await["customer_id"]
        .as_str()
        .unwrap()
        .to_owned();
    let other = app.ticket("Hi", "olga@other.example").await["customer_id"]
        .as_str()
        .unwrap()
        .to_owned();
    let saved = app
        .post(
            "/api/v1/organizations",
            json!({"name": "Acme", "domains": ["ACME.example", "acme.example"], "notes": "Опт",
                   "custom_fields": {"contract": "gold"}}),
        )
        .await
        .expect(201);
    let org = saved["organization"]["id"].as_str().unwrap().to_owned();
    assert_eq!(saved["linked_customers"], 1, "{saved}");
    assert_eq!(saved["organization"]["domains"], json!(["acme.example"]));
    assert_eq!(saved["organization"]["custom_fields"]["contract"], "gold");
    let c = app
        .get(&format!("/api/v1/customers/{anna}"))
        .await
        .expect(200);
    assert_eq!(c["organization_id"].as_str(), Some(org.as_str()), "{c}");
    // A new customer at the domain joins; one elsewhere does not.
    let bob = app.ticket("Доступ", "bob@acme.example").await["customer_id"]
        .as_str()
        .unwrap()
        .to_owned();
    let c = app
        .get(&format!("/api/v1/customers/{bob}"))
        .await
        .expect(200);
    assert_eq!(c["organization_id"].as_str(), Some(org.as_str()), "{c}");
    let c = app
        .get(&format!("/api/v1/customers/{other}"))
        .await
        .expect(200);
    assert!(c["organization_id"].is_null());
    // Names and domains are the organisation's alone.
    for body in [
        json!({"name": "ACME"}),
        json!({"name": "Acme Two", "domains": ["acme.example"]}),
    ] {
        app.post("/api/v1/organizations", body).await.problem(409);
    }
    let p = app
        .post(
            "/api/v1/organizations",
            json!({"name": "Bad", "domains": ["not a domain"]}),
        )
        .await
        .problem(422);
    assert!(p["errors"]["domains"].is_string(), "{p}");
    // A second organisation claims the other customer's domain: they join it.
    let second = app
        .post(
            "/api/v1/organizations",
            json!({"name": "Other Ltd", "domains": ["other.example"]}),
        )
        .await
        .expect(201);
    let second_id = second["organization"]["id"].as_str().unwrap().to_owned();
    assert_eq!(second["linked_customers"], 1);
    // An agent moves Anna out; a later domain change does not pull her back.
    let c = app
        .patch(
            &format!("/api/v1/customers/{anna}"),
            json!({"organization_id": null, "custom_fields": {"birthday": "1990-05-01"}}),
        )
        .await
        .expect(200);
    assert!(c["organization_id"].is_null());
    assert_eq!(c["custom_fields"]["birthday"], "1990-05-01");
    app.patch(
        &format!("/api/v1/organizations/{org}"),
        json!({"domains": ["acme.example", "acme.ru"]}),
    )
    .await
    .expect(200);
    let c = app
        .get(&format!("/api/v1/customers/{anna}"))
        .await
        .expect(200);
    assert!(
        c["organization_id"].is_null(),
        "no domain overrides an agent"
    );
    // Fields stay with what they describe.
    app.patch(
        &format!("/api/v1/customers/{anna}"),
        json!({"custom_fields": {"contract": "x"}}),
    )
    .await
    .problem(404);
    app.patch(
        &format!("/api/v1/customers/{anna}"),
        json!({"organization_id": "01936f1e-7b2a-7c41-9a55-0d3c7e2b9a22"}),
    )
    .await
    .problem(404);
    let t = app.ticket("Поле", "anna@acme.example").await;
    app.patch(
        &format!("/api/v1/tickets/{}", t["id"].as_str().unwrap()),
        json!({"custom_fields": {"birthday": "x"}}),
    )
    .await
    .problem(404);
    // Lists: by name, searched by domain, with how many customers each has.
    let all = app.get("/api/v1/organizations").await.expect(200);
    let names: Vec<_> = all["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| {
            (
                o["name"].as_str().unwrap().to_owned(),
                o["customers"].as_i64().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        names,
        vec![("Acme".to_owned(), 1), ("Other Ltd".to_owned(), 1)]
    );
    let found = app.get("/api/v1/organizations?q=acme.ru").await.expect(200);
    assert_eq!(found["items"].as_array().unwrap().len(), 1);
    let members = app
        .get(&format!("/api/v1/organizations/{org}/customers"))
        .await
        .expect(200);
    assert_eq!(members["items"][0]["id"].as_str(), Some(bob.as_str()));
    // Deleting is for admins; the customers stay, in none.
    let (_, agent) = app.user("agent@alpha.test", "agent").await;
    app.req(
        "DELETE",
        &format!("/api/v1/organizations/{second_id}"),
        &agent,
        None,
    )
    .await
    .problem(403);
    let r = app
        .req(
            "DELETE",
            &format!("/api/v1/organizations/{second_id}"),
            &app.token,
            None,
        )
        .await;
    assert_eq!(r.status, 204);
    let c = app
        .get(&format!("/api/v1/customers/{other}"))
        .await
        .expect(200);
    assert!(c["organization_id"].is_null());
    // Who did what, in the customer's history.
    let events = app
        .get(&format!("/api/v1/customers/{bob}/timeline"))
        .await
        .expect(200);
    assert!(
        events["items"]
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["kind"] == "customer.updated"
                && e["data"]["changes"][0]["field"] == "organization_id"),
        "{events}"
    );
}

mod only_sqlite {
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn agents_merge_profiles_on_the_customer_page() {
        let app = crate::helpers::spawn(super::Backend::Sqlite)
            .await
            .expect("app");
        super::agents_merge_profiles_on_the_customer_page(app).await;
    }
}

mod across_channels {
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn sqlite() {
        let app = crate::telegram::app_with_public_url(super::Backend::Sqlite)
            .await
            .expect("app");
        super::a_caller_who_then_writes_on_whatsapp_is_one_customer(app).await;
    }
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn postgres() {
        if let Some(app) = crate::telegram::app_with_public_url(super::Backend::Postgres).await {
            super::a_caller_who_then_writes_on_whatsapp_is_one_customer(app).await;
        }
    }
}

/// A customer calls, then writes on WhatsApp from the same number, then
/// emails: the call and the chat are one profile by the number; the email
/// (a different identity) is a second profile until an agent merges it, and
/// the timeline then shows every message, call and ticket in order.
async fn a_caller_who_then_writes_on_whatsapp_is_one_customer(app: TestApp) {
    use crate::whatsapp::{APP_SECRET, CUSTOMER, NUMBER, TOKEN};
    let (phone, secret) = crate::phone::channel(&app, None).await;
    crate::phone::call(&app, &phone, Some(&secret), 0, &json!({"call_id": "c-9", "event": "missed", "from": "+7 900 123-45-67", "to": crate::phone::LINE}))
        .await
        .expect(200);
    let by_phone = customer_of(&app, "phone").await;
    assert_eq!(by_phone["name"], "+79001234567", "a call gives no name");

    let cloud = channels::whatsapp_stand_in::StandIn::start(NUMBER, TOKEN)
        .await
        .expect("stand-in");
    let wa = crate::whatsapp::connect(&app, &cloud).await;
    let msg = channels::whatsapp_stand_in::notification(
        NUMBER,
        CUSTOMER,
        "Анна",
        vec![
            json!({"from": CUSTOMER, "id": "wamid.X1", "timestamp": "1795000000", "type": "text", "text": {"body": "Я вам звонила"}}),
        ],
    );
    crate::whatsapp::notify(&app, &wa, Some(APP_SECRET), &msg)
        .await
        .expect(200);
    let by_wa = customer_of(&app, "whatsapp").await;
    assert_eq!(by_wa["id"], by_phone["id"], "one number, one customer");
    assert_eq!(
        by_wa["name"], "Анна",
        "the caller takes the first real name"
    );
    let kinds = identity_kinds(&by_wa);
    assert_eq!(kinds, ["phone:+79001234567", "whatsapp:+79001234567"]);
    let cid = by_wa["id"].as_str().unwrap().to_owned();

    // The same person by email is another identity: a profile of its own.
    let mail = app.ticket("Счёт", "anna@example.com").await;
    let other = mail["customer_id"].as_str().unwrap().to_owned();
    assert_ne!(other, cid);
    app.post(
        &format!("/api/v1/customers/{cid}/merge"),
        json!({"source_id": other}),
    )
    .await
    .expect(200);
    let tl = app
        .get(&format!("/api/v1/customers/{cid}/timeline?limit=200"))
        .await
        .expect(200);
    let channels: Vec<&str> = tl["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["kind"] == "message.added")
        .map(|e| e["data"]["channel"].as_str().unwrap())
        .collect();
    assert_eq!(channels, ["api", "whatsapp", "phone"], "newest first");
    let tickets = app
        .get(&format!("/api/v1/tickets?customer_id={cid}"))
        .await
        .expect(200);
    assert_eq!(tickets["items"].as_array().unwrap().len(), 3);
}

async fn customer_of(app: &TestApp, channel: &str) -> Value {
    let t = app
        .get(&format!("/api/v1/tickets?channel={channel}"))
        .await
        .expect(200)["items"][0]
        .clone();
    app.get(&format!(
        "/api/v1/customers/{}",
        t["customer_id"].as_str().unwrap()
    ))
    .await
    .expect(200)
}

fn identity_kinds(c: &Value) -> Vec<String> {
    let mut v: Vec<String> = c["identities"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| {
            format!(
                "{}:{}",
                i["kind"].as_str().unwrap(),
                i["value"].as_str().unwrap()
            )
        })
        .collect();
    v.sort();
    v
}

async fn suggestions(app: &TestApp, customer: &str) -> Vec<Value> {
    app.get(&format!("/api/v1/customers/{customer}/suggestions"))
        .await
        .expect(200)["items"]
        .as_array()
        .unwrap()
        .clone()
}

async fn new_ticket(app: &TestApp, customer: Value) -> String {
    app.post(
        "/api/v1/tickets",
        json!({"subject": "?", "customer": customer, "message": {"body": "?"}}),
    )
    .await
    .expect(201)["customer_id"]
        .as_str()
        .unwrap()
        .to_owned()
}

/// The rules that keep two people apart: names that disagree, a number marked
/// shared, identities of two profiles in one message; a dismissed pair is not
/// suggested again, a merged one is closed, and other workspaces see nothing.
async fn doubtful_matches_are_suggested_not_merged(app: TestApp) {
    // Names that agree link a WhatsApp number to the phone's profile…
    let anna = new_ticket(
        &app,
        json!({"name": "Anna Petrova", "phone": "+66812345678"}),
    )
    .await;
    let again = new_ticket(&app, json!({"name": "anna", "whatsapp": "66812345678"})).await;
    assert_eq!(again, anna);
    // …names that disagree do not: a new profile, suggested on both sides.
    let boris = new_ticket(
        &app,
        json!({"name": "Anna Petrova", "phone": "+66899999999"}),
    )
    .await;
    let other = new_ticket(&app, json!({"name": "Boris", "whatsapp": "+66899999999"})).await;
    assert_ne!(other, boris);
    let s = suggestions(&app, &boris).await;
    assert_eq!(s.len(), 1, "{s:?}");
    assert_eq!(
        (s[0]["customer_id"].as_str(), s[0]["reason"].as_str()),
        (Some(other.as_str()), Some("names_differ"))
    );
    assert_eq!(
        suggestions(&app, &other).await[0]["customer_id"],
        boris.as_str()
    );
    // Seeing the pair again does not suggest it twice.
    new_ticket(&app, json!({"name": "Boris", "whatsapp": "+66899999999"})).await;
    assert_eq!(suggestions(&app, &boris).await.len(), 1);

    // A number marked shared (an office line) links nobody by itself.
    let office = app
        .post(
            "/api/v1/customers",
            json!({"name": "ООО Ромашка", "phone": "+74950000001"}),
        )
        .await
        .expect(201);
    let oid = office["id"].as_str().unwrap();
    let iid = office["identities"][0]["id"].as_str().unwrap();
    assert_eq!(office["identities"][0]["verified"], true);
    let marked = app
        .patch(
            &format!("/api/v1/customers/{oid}/identities/{iid}"),
            json!({"shared": true}),
        )
        .await
        .expect(200);
    assert_eq!(marked["identities"][0]["shared"], true);
    let clerk = new_ticket(
        &app,
        json!({"name": "ООО Ромашка", "whatsapp": "+74950000001"}),
    )
    .await;
    assert_ne!(clerk, oid);
    let s = suggestions(&app, oid).await;
    assert_eq!(s[0]["reason"], "shared_identity");
    // Dismissed: gone, and not suggested again.
    let sid = s[0]["id"].as_str().unwrap();
    app.post(
        &format!("/api/v1/customers/{oid}/suggestions/{sid}/dismiss"),
        json!({}),
    )
    .await
    .expect(204);
    assert!(suggestions(&app, oid).await.is_empty());
    app.post(
        &format!("/api/v1/customers/{oid}/suggestions/{sid}/dismiss"),
        json!({}),
    )
    .await
    .problem(404);
    new_ticket(
        &app,
        json!({"name": "ООО Ромашка", "whatsapp": "+74950000001"}),
    )
    .await;
    assert!(suggestions(&app, oid).await.is_empty());
    // The shared number still names its holder when nothing else is given.
    assert_eq!(
        new_ticket(&app, json!({"phone": "+74950000001"})).await,
        oid
    );

    // One message naming two profiles' identities: the first one's, suggested.
    let mail = new_ticket(&app, json!({"email": "vera@example.com"})).await;
    let both = new_ticket(
        &app,
        json!({"email": "vera@example.com", "phone": "+66812345678"}),
    )
    .await;
    assert_eq!(both, mail);
    let s = suggestions(&app, &mail).await;
    assert_eq!(
        (s[0]["customer_id"].as_str(), s[0]["reason"].as_str()),
        (Some(anna.as_str()), Some("two_profiles"))
    );
    // Merging closes the pair.
    app.post(
        &format!("/api/v1/customers/{anna}/merge"),
        json!({"source_id": mail}),
    )
    .await
    .expect(200);
    assert!(suggestions(&app, &anna).await.is_empty());

    // The suggestion is on the new profile's timeline; another workspace sees nothing.
    let tl = app
        .get(&format!("/api/v1/customers/{other}/timeline"))
        .await
        .expect(200);
    assert!(
        tl["items"]
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["kind"] == "customer.merge_suggested"),
        "{tl}"
    );
    let beta = app.workspace("beta").await;
    app.req(
        "GET",
        &format!("/api/v1/customers/{boris}/suggestions"),
        &beta,
        None,
    )
    .await
    .problem(404);
    app.req(
        "PATCH",
        &format!("/api/v1/customers/{oid}/identities/{iid}"),
        &beta,
        Some(json!({"shared": false})),
    )
    .await
    .problem(404);
}

async fn merging_moves_identities_tickets_and_history(app: TestApp) {
    let a = app.ticket("By mail", "anna@example.com").await;
    let b = app.post("/api/v1/tickets", json!({"subject": "By Telegram", "channel": "telegram", "customer": {"name": "Anna T", "telegram": "@anna_tg"}, "message": {"body": "привет"}})).await.expect(201);
    let (ca, cb) = (
        a["customer_id"].as_str().unwrap().to_owned(),
        b["customer_id"].as_str().unwrap().to_owned(),
    );
    assert_ne!(ca, cb);
    app.post(
        &format!("/api/v1/customers/{ca}/merge"),
        json!({"source_id": ca}),
    )
    .await
    .problem(409);
    let merged = app
        .post(
            &format!("/api/v1/customers/{ca}/merge"),
            json!({"source_id": cb}),
        )
        .await
        .expect(200);
    let kinds: Vec<&str> = merged["identities"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["kind"].as_str().unwrap())
        .collect();
    assert!(
        kinds.contains(&"email") && kinds.contains(&"telegram"),
        "{merged}"
    );
    // The source remains only as a pointer; tickets moved; the identity now resolves to the target.
    assert_eq!(
        app.get(&format!("/api/v1/customers/{cb}"))
            .await
            .expect(200)["merged_into"],
        ca.as_str()
    );
    assert_eq!(
        app.get(&format!("/api/v1/tickets/{}", b["id"].as_str().unwrap()))
            .await
            .expect(200)["customer_id"],
        ca.as_str()
    );
    let c = app.post("/api/v1/tickets", json!({"subject": "Again", "customer": {"telegram": "anna_tg"}, "message": {"body": "?"}})).await.expect(201);
    assert_eq!(c["customer_id"], ca.as_str());
    let listed = app.get("/api/v1/customers").await.expect(200);
    assert_eq!(
        listed["items"].as_array().unwrap().len(),
        1,
        "merged-away profiles are not listed"
    );
    app.post(
        &format!("/api/v1/customers/{ca}/merge"),
        json!({"source_id": cb}),
    )
    .await
    .problem(409);
    // The timeline: newest first, across channels, including the merge and the source's creation.
    let tl = app
        .get(&format!("/api/v1/customers/{ca}/timeline"))
        .await
        .expect(200);
    let kinds: Vec<&str> = tl["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["kind"].as_str().unwrap())
        .collect();
    assert_eq!(kinds[0], "message.added");
    assert!(kinds.contains(&"customer.merged"), "{kinds:?}");
    assert_eq!(
        kinds.iter().filter(|k| **k == "customer.created").count(),
        2,
        "{kinds:?}"
    );
    let times: Vec<&str> = tl["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["created_at"].as_str().unwrap())
        .collect();
    assert!(times.windows(2).all(|w| w[0] >= w[1]), "newest first");
    let merge_event = tl["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["kind"] == "customer.merged")
        .unwrap();
    assert_eq!(merge_event["data"]["merged_id"], cb.as_str());
    assert_eq!(merge_event["data"]["tickets"], 1);
}

async fn identities_are_unique_per_workspace(app: TestApp) {
    let c = app.post("/api/v1/customers", json!({"name": "Somchai", "language": "th", "phone": "+66 81 234 5678", "whatsapp": "66812345678"})).await.expect(201);
    assert_eq!(c["identities"].as_array().unwrap().len(), 2);
    app.post(
        "/api/v1/customers",
        json!({"name": "Other", "phone": "+66812345678"}),
    )
    .await
    .problem(409);
    let other = app
        .post(
            "/api/v1/customers",
            json!({"name": "Other", "email": "o@example.com"}),
        )
        .await
        .expect(201);
    app.patch(
        &format!("/api/v1/customers/{}", other["id"].as_str().unwrap()),
        json!({"identities": [{"kind": "phone", "value": "+66812345678"}]}),
    )
    .await
    .problem(409);
    let p = app.patch(&format!("/api/v1/customers/{}", other["id"].as_str().unwrap()), json!({"name": "Другой", "language": null, "identities": [{"kind": "vk", "value": "12345"}]})).await.expect(200);
    assert_eq!(p["name"], "Другой");
    app.post(
        "/api/v1/customers",
        json!({"name": "Bad", "phone": "12345"}),
    )
    .await
    .problem(422);
    app.post(
        "/api/v1/customers",
        json!({"name": "Bad", "identities": [{"kind": "pager", "value": "1"}]}),
    )
    .await
    .problem(422);
    // Another workspace may know the same phone as its own customer.
    let token_b = app.workspace("beta").await;
    app.req(
        "POST",
        "/api/v1/customers",
        &token_b,
        Some(json!({"name": "Somchai B", "phone": "+66812345678"})),
    )
    .await
    .expect(201);
    let found = app.get("/api/v1/customers?q=5678").await.expect(200);
    assert_eq!(found["items"].as_array().unwrap().len(), 1);
}

/// The customer page without script: suggestions with their reason, a merge
/// asked for confirmation and done by a form, marking a number shared, finding
/// a profile to merge, and the timeline telling messages and merges in words.
async fn agents_merge_profiles_on_the_customer_page(app: TestApp) {
    use crate::ui::Agent;
    let anna = new_ticket(
        &app,
        json!({"name": "Anna Petrova", "phone": "+66812345678"}),
    )
    .await;
    let boris = app
        .post("/api/v1/tickets", json!({"subject": "Где посылка", "customer": {"name": "Boris", "whatsapp": "66812345678"}, "message": {"body": "Посылка так и не пришла"}}))
        .await
        .expect(201)["customer_id"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_ne!(anna, boris);
    let a = Agent::login(&app, "owner@alpha.test", "alpha-password").await;
    let page = a.page(&format!("/app/customers/{anna}")).await;
    assert!(page.contains("Possibly the same person"), "{page}");
    assert!(page.contains(&format!("/app/customers/{boris}")));
    assert!(page.contains("same number under another name"));
    assert!(page.contains(&format!("?merge={boris}")));

    // Review: the question names the other profile and what moves.
    let ask = a
        .page(&format!("/app/customers/{anna}?merge={boris}"))
        .await;
    assert!(ask.contains("Merge Boris into this profile?"), "{ask}");
    assert!(ask.contains("cannot be undone"));
    let path = format!("/app/customers/{anna}/merge");
    assert_eq!(
        a.post(&path, &[("source", &boris)], false).await.status(),
        403
    );
    let done = a.post(&path, &[("source", &boris)], true).await;
    assert_eq!(done.status(), 303);
    assert_eq!(
        done.headers()["location"],
        format!("/app/customers/{anna}?ok=flash.merged").as_str()
    );
    let merged = app
        .get(&format!("/api/v1/customers/{anna}"))
        .await
        .expect(200);
    assert_eq!(
        identity_kinds(&merged),
        ["phone:+66812345678", "whatsapp:+66812345678"]
    );
    let page = a
        .page(&format!("/app/customers/{anna}?ok=flash.merged"))
        .await;
    assert!(page.contains("Profiles merged."));
    assert!(page.contains("Merged with"), "{page}");
    assert!(page.contains("API · Customer wrote"));
    assert!(
        page.contains("Посылка так и не пришла"),
        "the message itself is told"
    );
    assert!(page.contains("Где посылка"), "with its ticket");
    // The merged-away profile points to the one it joined.
    let gone = a.page(&format!("/app/customers/{boris}")).await;
    assert!(gone.contains("This profile was merged into another."));

    // Marking the number shared, from the page.
    let phone_id = merged["identities"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["kind"] == "phone")
        .unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let r = a
        .post(
            &format!("/app/customers/{anna}/identities/{phone_id}/shared"),
            &[("on", "1")],
            true,
        )
        .await;
    assert_eq!(r.status(), 303);
    let c = app
        .get(&format!("/api/v1/customers/{anna}"))
        .await
        .expect(200);
    assert!(
        c["identities"]
            .as_array()
            .unwrap()
            .iter()
            .any(|i| i["kind"] == "phone" && i["shared"] == true)
    );

    // Finding a profile to merge by part of its address.
    app.ticket("Счёт", "vera.k@example.com").await;
    let found = a
        .page(&format!("/app/customers/{anna}?merge_q=vera.k"))
        .await;
    assert!(found.contains("vera.k@example.com"), "{found}");
    let none = a
        .page(&format!("/app/customers/{anna}?merge_q=nobody-like-this"))
        .await;
    assert!(none.contains("No other profile matches."));
    // Nonsense in the query is ignored, not an error page.
    a.page(&format!("/app/customers/{anna}?merge=not-an-id&before=x"))
        .await;
}

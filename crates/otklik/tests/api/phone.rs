//! Phone channels: lines mapped to teams, signed call events from a PBX,
//! screen-pops of ringing calls on the line team's live pages, calls made
//! tickets (answered with the agent, missed with a call-back tag) and shown
//! on the customer's timeline; unsigned, wrongly signed and stale reports
//! store nothing.

use crate::helpers::{Backend, TestApp};
use engine::phone::signature;
use serde_json::{Value, json};

pub(crate) const LINE: &str = "+74951234567";
const CALLER: &str = "+79001234567";

crate::on_both!(calls_become_tickets_and_ring_on_the_lines_team);

mod only_sqlite {
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn call_events_refuse_what_the_pbx_did_not_sign() {
        super::call_events_refuse_what_the_pbx_did_not_sign().await;
    }
}

/// A phone channel with the delivery line in `team`; its id and secret.
pub(crate) async fn channel(app: &TestApp, team: Option<&str>) -> (String, String) {
    let c = app
        .post(
            "/api/v1/channels/phone",
            json!({"name": "Телефония", "lines": [
                {"number": "+7 495 123-45-67", "name": "Доставка", "team_id": team},
                {"number": "+74951234568", "name": "Возвраты", "team_id": null}]}),
        )
        .await
        .expect(201);
    assert_eq!(c["lines"][0]["number"], LINE);
    let secret = c["signing_secret"].as_str().expect("shown once").to_owned();
    (c["id"].as_str().unwrap().to_owned(), secret)
}

/// Posts a call event signed as the PBX signs it (`secret` none: unsigned;
/// `skew_s`: how far the timestamp is from now).
pub(crate) async fn call(
    app: &TestApp,
    channel: &str,
    secret: Option<&str>,
    skew_s: i64,
    body: &Value,
) -> crate::helpers::Res {
    let raw = serde_json::to_vec(body).unwrap();
    let ts = app.engine.now().millis() / 1000 + skew_s;
    let mut r = app
        .client
        .post(app.url(&format!("/hooks/phone/{channel}")))
        .header("content-type", "application/json");
    if let Some(s) = secret {
        r = r
            .header("X-Otklik-Timestamp", ts.to_string())
            .header("X-Otklik-Signature", signature(s, ts, &raw));
    }
    crate::helpers::res(r.body(raw).send().await.expect("call event")).await
}

async fn calls_become_tickets_and_ring_on_the_lines_team(app: TestApp) {
    let team = app
        .post("/api/v1/teams", json!({"name": "Доставка"}))
        .await
        .expect(201)["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let (olga, _) = app.user("olga@alpha.test", "agent").await;
    app.patch(
        &format!("/api/v1/users/{olga}"),
        json!({"team_ids": [team]}),
    )
    .await
    .expect(200);
    let (id, secret) = channel(&app, Some(&team)).await;
    let shown = app
        .get(&format!("/api/v1/channels/phone/{id}"))
        .await
        .expect(200);
    assert_eq!(
        shown["signing_secret"],
        Value::Null,
        "the secret is shown once"
    );

    // Ringing: shown to the line's team, nothing stored.
    let r = call(
        &app,
        &id,
        Some(&secret),
        0,
        &json!({"call_id": "c-1", "event": "ringing", "from": CALLER, "to": LINE}),
    )
    .await
    .expect(200);
    assert_eq!(
        (r["outcome"].as_str(), r["agents"].as_u64()),
        (Some("popped"), Some(1))
    );
    assert!(
        app.get("/api/v1/tickets?channel=phone").await.expect(200)["items"]
            .as_array()
            .unwrap()
            .is_empty()
    );

    // Answered and ended: a ticket in the line's team, given to who answered.
    call(&app, &id, Some(&secret), 0, &json!({"call_id": "c-1", "event": "answered", "from": CALLER, "to": LINE, "agent": "olga@alpha.test"}))
        .await
        .expect(200);
    let ended = json!({"call_id": "c-1", "event": "ended", "from": CALLER, "to": LINE,
        "agent": "OLGA@alpha.test", "duration_s": 204, "recording_url": "https://pbx.shop.example/rec/c-1.mp3"});
    let r = call(&app, &id, Some(&secret), 0, &ended).await.expect(200);
    assert_eq!(r["outcome"], "recorded");
    let tid = r["ticket_id"].as_str().unwrap().to_owned();
    let t = app.get(&format!("/api/v1/tickets/{tid}")).await.expect(200);
    assert_eq!(t["channel"], "phone");
    assert_eq!(t["team_id"], team.as_str());
    assert_eq!(t["assignee_id"], olga.as_str());
    let ms = app
        .get(&format!("/api/v1/tickets/{tid}/messages"))
        .await
        .expect(200)["items"]
        .clone();
    let body = ms[0]["body"].as_str().unwrap();
    assert!(
        body.contains("3 min 24 s") && body.contains("https://pbx.shop.example/rec/c-1.mp3"),
        "{body}"
    );
    // The PBX reports it again: the same call.
    let again = call(&app, &id, Some(&secret), 0, &ended).await.expect(200);
    assert_eq!(
        (again["ticket_id"].as_str(), again["duplicate"].as_bool()),
        (Some(tid.as_str()), Some(true))
    );

    // A missed call from someone new on the returns line (no team): a
    // call-back task.
    let r = call(
        &app,
        &id,
        Some(&secret),
        0,
        &json!({"call_id": "c-2", "event": "missed", "from": "+79009998877", "to": "+74951234568"}),
    )
    .await
    .expect(200);
    let missed = app
        .get(&format!(
            "/api/v1/tickets/{}",
            r["ticket_id"].as_str().unwrap()
        ))
        .await
        .expect(200);
    assert_ne!(missed["id"], tid.as_str());
    assert_eq!(missed["tags"], json!(["callback", "missed-call"]));
    assert_eq!(missed["team_id"], Value::Null);
    assert_eq!(missed["subject"], "Missed call from +79009998877");

    // The caller's timeline shows the call; a ringing call now pops with
    // their open ticket.
    let tl = app
        .get(&format!(
            "/api/v1/customers/{}/timeline",
            t["customer_id"].as_str().unwrap()
        ))
        .await
        .expect(200);
    assert!(
        tl["items"]
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["kind"] == "message.added" && e["data"]["channel"] == "phone"),
        "{tl}"
    );
    let mut signals = app.engine.subscribe_signals();
    call(
        &app,
        &id,
        Some(&secret),
        0,
        &json!({"call_id": "c-3", "event": "ringing", "from": CALLER, "to": LINE}),
    )
    .await
    .expect(200);
    let pop = loop {
        let s = tokio::time::timeout(std::time::Duration::from_secs(5), signals.recv())
            .await
            .expect("a screen-pop signal")
            .expect("signal");
        if s.data["t"] == "call" {
            break s.data.clone();
        }
    };
    assert_eq!(pop["users"], json!([olga]));
    assert_eq!(pop["line"], "Доставка");
    assert_eq!(pop["customer"]["id"], t["customer_id"]);
    assert_eq!(pop["tickets"][0]["number"], t["number"]);
}

async fn call_events_refuse_what_the_pbx_did_not_sign() {
    let app = crate::helpers::spawn(Backend::Sqlite).await.expect("app");
    let (id, secret) = channel(&app, None).await;
    let p = app.engine.cli_principal("alpha").await.unwrap();
    let before = crate::helpers::all_events(&app.engine, &p).await.len();
    let missed = json!({"call_id": "c-9", "event": "missed", "from": CALLER, "to": LINE});
    call(&app, &id, None, 0, &missed).await.problem(401);
    call(&app, &id, Some("another-secret"), 0, &missed)
        .await
        .problem(403);
    // A report replayed ten minutes later is refused, signature and all.
    call(&app, &id, Some(&secret), -600, &missed)
        .await
        .problem(403);
    // Signed, but not a call event.
    let p422 = call(
        &app,
        &id,
        Some(&secret),
        0,
        &json!({"call_id": "c-9", "event": "ringing", "from": "nobody", "to": LINE}),
    )
    .await
    .problem(422);
    assert!(p422["detail"].as_str().unwrap().contains("from"), "{p422}");
    call(
        &app,
        &id,
        Some(&secret),
        0,
        &json!({"call_id": "c-9", "event": "exploded", "from": CALLER, "to": LINE}),
    )
    .await
    .problem(422);
    assert_eq!(
        crate::helpers::all_events(&app.engine, &p).await.len(),
        before,
        "nothing stored"
    );
    // A new secret: the old one stops at once.
    let rotated = app
        .patch(
            &format!("/api/v1/channels/phone/{id}"),
            json!({"rotate_secret": true}),
        )
        .await
        .expect(200);
    let new = rotated["signing_secret"].as_str().unwrap();
    call(&app, &id, Some(&secret), 0, &missed)
        .await
        .problem(403);
    call(&app, &id, Some(new), 0, &missed).await.expect(200);
}

/// A call reported to one node pops up on the pages another node serves:
/// the screen-pop travels between the stores over PostgreSQL.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_ringing_call_reaches_the_other_node() {
    let Some(cluster) = crate::helpers::PgCluster::start(
        "phone::a_ringing_call_reaches_the_other_node",
        std::sync::Arc::new(store::SystemClock),
    )
    .await
    else {
        return;
    };
    let a = cluster.engine.clone();
    let (_, owner) = a
        .create_workspace("pair", "owner@pair.test", "pair-password")
        .await
        .unwrap();
    let p = a.cli_principal("pair").await.unwrap();
    // A second node: its own store and listener on the same database.
    let config = otklik::config::Config {
        data_dir: cluster.dir.path().join("node-b"),
        database_url: Some(cluster.url.clone().into()),
        secret_key: Some(cluster.secret_key.clone().into()),
        ..Default::default()
    };
    std::fs::create_dir_all(&config.data_dir).unwrap();
    let b = otklik::app::open_engine(&config, std::sync::Arc::new(store::SystemClock))
        .await
        .unwrap();
    let (channel, _) = a
        .create_phone_channel(
            &p,
            engine::phone::PhoneInput {
                name: Some("Телефония".into()),
                lines: Some(vec![engine::phone::Line {
                    number: LINE.into(),
                    name: "Доставка".into(),
                    team_id: None,
                }]),
                active: Some(true),
                rotate_secret: false,
            },
        )
        .await
        .unwrap();
    let mut on_b = b.subscribe_signals();
    let account = engine::ingest::AccountRef {
        id: channel.id,
        workspace_id: p.workspace_id,
        kind: domain::ticket::Channel::Phone,
    };
    let ringing: engine::phone::CallEvent = serde_json::from_value(json!({
        "call_id": "x-1", "event": "ringing", "from": CALLER, "to": LINE}))
    .unwrap();
    a.phone_event(&account, ringing).await.unwrap();
    let pop = loop {
        let s = tokio::time::timeout(std::time::Duration::from_secs(10), on_b.recv())
            .await
            .expect("the pop on the other node")
            .expect("signal");
        if s.data["t"] == "call" {
            break s;
        }
    };
    assert!(!pop.local, "it came from the other node");
    assert_eq!(pop.data["users"], json!([owner.id.to_string()]));
    b.close().await;
    cluster.finish().await;
}

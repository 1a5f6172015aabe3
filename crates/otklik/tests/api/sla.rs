//! Business hours: calendars through the API, checked by building them.

use crate::helpers::TestApp;
use serde_json::json;

crate::on_both!(business_hours_are_kept_and_checked);

async fn business_hours_are_kept_and_checked(app: TestApp) {
    let week = json!({"mon": [["09:00", "18:00"]], "tue": [["09:00", "18:00"]], "wed": [["09:00", "18:00"]],
        "thu": [["09:00", "18:00"]], "fri": [["09:00", "17:00"]], "sat": [], "sun": [["22:00", "06:00"]]});
    let b = app
        .post(
            "/api/v1/business-hours",
            json!({"name": "Moscow office", "time_zone": "Europe/Moscow",
            "week": week, "holidays": ["2027-01-01", "2027-01-07"]}),
        )
        .await
        .expect(201);
    assert_eq!(b["week"]["sun"], json!([["22:00", "06:00"]]));
    assert_eq!(b["week"]["sat"], json!([]));
    let id = b["id"].as_str().expect("id").to_owned();
    let path = format!("/api/v1/business-hours/{id}");
    let changed = app
        .patch(
            &path,
            json!({"time_zone": "Asia/Bangkok", "holidays": ["2027-04-13"]}),
        )
        .await
        .expect(200);
    assert_eq!(changed["time_zone"], "Asia/Bangkok");
    assert_eq!(changed["holidays"], json!(["2027-04-13"]));
    assert_eq!(changed["week"]["mon"], json!([["09:00", "18:00"]]));
    assert_eq!(
        app.get("/api/v1/business-hours").await.expect(200)["items"]
            .as_array()
            .map(Vec::len),
        Some(1)
    );
    // What cannot be a calendar is refused, and nothing changes.
    for bad in [
        json!({"name": "x", "time_zone": "Mars/Olympus", "week": {}}),
        json!({"name": "x", "time_zone": "UTC", "week": {"mon": [["9:00", "18:00"]]}}),
        json!({"name": "x", "time_zone": "UTC", "week": {"mon": [["09:00"]]}}),
        json!({"name": "x", "time_zone": "UTC", "week": {}, "holidays": ["2027-02-30"]}),
        json!({"name": "x", "time_zone": "UTC", "week": {"someday": []}}),
    ] {
        let r = app.post("/api/v1/business-hours", bad.clone()).await;
        assert_eq!(r.status.as_u16(), 422, "{bad}: {}", r.body);
    }
    assert_eq!(
        app.get(&path).await.expect(200)["time_zone"],
        "Asia/Bangkok"
    );
    // Agents read calendars; only admins change them.
    let (_, agent) = app.user("agent@alpha.test", "agent").await;
    app.req("PATCH", &path, &agent, Some(json!({"name": "mine"})))
        .await
        .problem(403);
    app.req("GET", &path, &agent, None).await.expect(200);
}

//! `GET/PUT /api/settings/schedule`: the default, a round trip, the checks (problem+json naming
//! the field), and the engine status's `schedule` following the saved schedule.

use jiff::Timestamp;
use reqwest::Method;
use serde_json::json;

use super::{closed, engine_status, open, put_schedule};
use crate::support::TestServer;
use crate::support::api::{problem, send};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn settings_round_trip_checks_and_status() {
    let server = TestServer::start().await;
    let token = server.login().await;
    let default = server.get_json("/api/settings/schedule", &token).await;
    assert_eq!(
        default,
        json!({"enabled": false, "windows": [], "outside_window": "finish"})
    );
    let status = engine_status(&server, &token).await;
    assert_eq!(
        status["schedule"],
        json!({"enabled": false, "in_window": true, "next_change": null})
    );

    // Outside: the next change is the window's start, two hours from now (to the minute).
    let body = closed("suspend");
    assert_eq!(put_schedule(&server, &token, body.clone()).await, body);
    assert_eq!(
        server.get_json("/api/settings/schedule", &token).await,
        body
    );
    let status = engine_status(&server, &token).await;
    assert_eq!(status["schedule"]["enabled"], true, "{status}");
    assert_eq!(status["schedule"]["in_window"], false, "{status}");
    let next: Timestamp = status["schedule"]["next_change"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();
    let ahead = Timestamp::now().duration_until(next).as_secs();
    assert!((118 * 60..=120 * 60).contains(&ahead), "{ahead} s ahead");

    // Inside: the next change is the window's end.
    let opened = put_schedule(&server, &token, open("suspend")).await;
    let status = engine_status(&server, &token).await;
    assert_eq!(status["schedule"]["in_window"], true, "{status}");
    assert!(status["schedule"]["next_change"].is_string(), "{status}");

    let bad = |start: &str, end: &str, days: serde_json::Value| {
        json!({"enabled": true, "outside_window": "finish",
               "windows": [{"days": days, "start": start, "end": end}]})
    };
    for (body, field) in [
        (bad("25:00", "07:00", json!(["mon"])), "windows[0].start"),
        (bad("01:00", "1:00", json!(["mon"])), "windows[0].end"),
        (bad("01:00", "24:01", json!(["mon"])), "windows[0].end"),
        (bad("01:00", "07:00", json!([])), "windows[0].days"),
        (
            bad("01:00", "07:00", json!(["mon", "funday"])),
            "windows[0].days[1]",
        ),
    ] {
        let r = send(
            &server,
            &token,
            Method::PUT,
            "/api/settings/schedule",
            body.clone(),
        )
        .await;
        let p = problem(r, 400, "VALIDATION_FAILED").await;
        assert_eq!(p["field"], field, "{body}: {p:#}");
        assert!(p["detail"].as_str().unwrap().contains(field), "{p:#}");
    }
    for body in [
        json!({"enabled": true, "windows": [], "outside_window": "later"}),
        json!({"enabled": true, "windows": [], "outside_window": "finish", "zone": "UTC"}),
        json!({"enabled": true, "windows": []}),
    ] {
        let r = send(
            &server,
            &token,
            Method::PUT,
            "/api/settings/schedule",
            body.clone(),
        )
        .await;
        assert_eq!(r.status(), 400, "{body}");
    }
    // Refused schedules changed nothing.
    assert_eq!(
        server.get_json("/api/settings/schedule", &token).await,
        opened
    );
    server.stop().await;
}

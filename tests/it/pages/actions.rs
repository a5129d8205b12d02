//! The pages' form posts, as a browser without JavaScript makes them: every destructive action
//! (remove jobs, clear completed, encode a finished job again, remove a folder, revoke a token,
//! delete a profile, restore an original) first answers with a page that asks, carrying the
//! same fields, and changes nothing; confirmed, it acts and the next page says what happened
//! in one line, with an undo where one is possible. Also: setup refuses a guessable password
//! and signs the new admin in, and times follow the owner's time zone.

use std::ffi::OsStr;

use reqwest::StatusCode;
use scraper::Html;
use serde_json::{Value, json};

use crate::support::SHORT_JOB;
use crate::support::api::post;
use crate::support::clips::{copy_into, h264_clip};
use crate::support::jobs::enqueue;
use crate::support::pages::{get_page, has, post_form, same_origin, select, text};
use crate::support::{ADMIN, PASSWORD, TestServer};

/// POST a form as the signed-in browser; returns status, Location, the flash cookie, body.
async fn submit(
    server: &TestServer,
    token: &str,
    path: &str,
    fields: &[(&str, &str)],
) -> (StatusCode, String, Option<String>, String) {
    let body = form_urlencoded::Serializer::new(String::new())
        .extend_pairs(fields)
        .finish();
    let r = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
        .post(server.url(path))
        .header("content-type", "application/x-www-form-urlencoded")
        .header("origin", same_origin(server))
        .header("cookie", format!("alchemist_session={token}"))
        .body(body)
        .send()
        .await
        .unwrap();
    let status = r.status();
    let location = r
        .headers()
        .get("location")
        .map(|v| v.to_str().unwrap().to_string())
        .unwrap_or_default();
    let flash = r
        .headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find_map(|c| c.strip_prefix("alchemist_flash="))
        .and_then(|c| c.split(';').next())
        .map(str::to_string);
    (status, location, flash, r.text().await.unwrap())
}

/// The page after a post, with its flash cookie: the one-line message and its undo key.
async fn message(
    server: &TestServer,
    token: &str,
    location: &str,
    flash: &str,
) -> (String, Option<String>) {
    let r = reqwest::Client::new()
        .get(server.url(location))
        .header(
            "cookie",
            format!("alchemist_session={token}; alchemist_flash={flash}"),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200, "{location}");
    let doc = Html::parse_document(&r.text().await.unwrap());
    let text = select(&doc, "#flash p")
        .first()
        .map(|p| p.text().collect::<String>())
        .unwrap_or_else(|| panic!("{location}: no message"));
    let undo = select(&doc, "#flash input[name=key]")
        .first()
        .and_then(|i| i.value().attr("value"))
        .map(str::to_string);
    (text, undo)
}

/// Asked, not done: a confirmation page whose form carries `fields` and `confirm=yes`.
fn assert_asks(status: StatusCode, body: &str, action: &str, fields: &[(&str, &str)]) {
    assert_eq!(status, StatusCode::OK, "{action}: {body}");
    let doc = Html::parse_document(body);
    let form = format!(r#"form#confirm-form[action="{action}"]"#);
    assert!(
        has(
            &doc,
            &format!(r#"{form} input[name="confirm"][value="yes"]"#)
        ),
        "{action}: {}",
        text(&doc)
    );
    for (k, v) in fields {
        assert!(
            has(&doc, &format!(r#"{form} input[name="{k}"][value="{v}"]"#)),
            "{action}: field {k}={v}"
        );
    }
    assert!(has(&doc, "header.top"), "inside the layout");
}

#[tokio::test]
async fn destructive_forms_ask_first_then_act_and_say_what_they_did() {
    let server = TestServer::start_with(|c| c.transcode.preset = Some("ultrafast".into())).await;
    let token = server.login().await;
    let lib = server.tmp.path().join("lib");
    std::fs::create_dir_all(&lib).unwrap();
    let clip = copy_into(&lib, h264_clip(), OsStr::new("clip.mp4"));
    let folder = server.add_folder(&token, &lib).await;
    let id = enqueue(&server, &token, &clip).await;
    server
        .wait_job(&token, id, SHORT_JOB, |j| j["status"] == "completed")
        .await;
    let (status, body) = post(
        &server,
        &token,
        "/api/profiles",
        json!({"name": "spare", "base": "balanced"}),
    )
    .await;
    assert_eq!(status, 201, "{body}");
    let (status, body) = post(
        &server,
        &token,
        "/api/settings/api-tokens",
        json!({"name": "ci", "access_level": "read_only"}),
    )
    .await;
    assert!(status < 300, "{body}");
    let tokens = server.get_json("/api/settings/api-tokens", &token).await;
    let token_id = tokens[0]["id"].as_u64().unwrap().to_string();
    let id_s = id.to_string();
    let jobs = |archived: bool| {
        let (server, token) = (&server, token.clone());
        async move {
            server
                .get_json(&format!("/api/jobs?archived={archived}"), &token)
                .await
                .as_array()
                .unwrap()
                .len()
        }
    };

    // Each asks first and changes nothing.
    let remove_jobs = [
        ("action", "delete"),
        ("id", id_s.as_str()),
        ("back", "/jobs"),
    ];
    let asks: Vec<(String, Vec<(&str, &str)>)> = vec![
        ("/jobs/batch".into(), remove_jobs.to_vec()),
        ("/jobs/clear-completed".into(), vec![("back", "/jobs")]),
        (format!("/jobs/{id}/restart"), vec![]),
        (format!("/library/folders/{folder}/remove"), vec![]),
        (format!("/tokens/{token_id}/revoke"), vec![]),
        ("/library/profiles/spare/delete".into(), vec![]),
    ];
    for (action, fields) in &asks {
        let (status, _, flash, body) = submit(&server, &token, action, fields).await;
        assert_asks(status, &body, action, fields);
        assert!(flash.is_none(), "{action}: nothing done, nothing to say");
    }
    assert_eq!(jobs(false).await, 1);
    let d = server
        .get_json(&format!("/api/jobs/{id}/details"), &token)
        .await;
    assert_eq!(d["job"]["status"], "completed");
    assert_eq!(
        server
            .get_json("/api/library/folders", &token)
            .await
            .as_array()
            .unwrap()
            .len(),
        1
    );
    assert_eq!(
        server
            .get_json("/api/profiles", &token)
            .await
            .as_array()
            .unwrap()
            .len(),
        5
    );
    let tokens = server.get_json("/api/settings/api-tokens", &token).await;
    assert!(tokens[0]["revoked_at"].is_null());

    // Confirmed: done, said, and undone.
    let mut confirmed = remove_jobs.to_vec();
    confirmed.push(("confirm", "yes"));
    let (status, location, flash, _) = submit(&server, &token, "/jobs/batch", &confirmed).await;
    assert_eq!(
        (status, location.as_str()),
        (StatusCode::SEE_OTHER, "/jobs")
    );
    let (said, undo) = message(&server, &token, &location, &flash.unwrap()).await;
    assert_eq!(said, "1 job removed from the list.");
    assert_eq!((jobs(false).await, jobs(true).await), (0, 1));
    let key = undo.expect("an undo");
    let (status, location, flash, _) = submit(&server, &token, "/undo", &[("key", &key)]).await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    let (said, _) = message(&server, &token, &location, &flash.unwrap()).await;
    assert_eq!(said, "Undone: 1 job back in the list.");
    assert_eq!((jobs(false).await, jobs(true).await), (1, 0));
    // An undo works once.
    let (_, location, flash, _) = submit(&server, &token, "/undo", &[("key", &key)]).await;
    let (said, _) = message(&server, &token, &location, &flash.unwrap()).await;
    assert!(said.contains("can no longer be undone"), "{said}");

    let cases: [(&str, &str); 4] = [
        ("/jobs/clear-completed", "1 completed job archived."),
        ("/library/profiles/spare/delete", "Profile spare deleted."),
        (&format!("/tokens/{token_id}/revoke"), "Token “ci” revoked."),
        (
            &format!("/library/folders/{folder}/remove"),
            "from the library.",
        ),
    ];
    for (action, want) in cases {
        let (status, location, flash, _) =
            submit(&server, &token, action, &[("confirm", "yes")]).await;
        assert_eq!(status, StatusCode::SEE_OTHER, "{action}");
        let (said, _) = message(&server, &token, &location, &flash.unwrap()).await;
        assert!(said.contains(want), "{action}: {said}");
    }
    assert_eq!(jobs(true).await, 1);
    assert!(
        server
            .get_json("/api/library/folders", &token)
            .await
            .as_array()
            .unwrap()
            .is_empty()
    );
    let tokens = server.get_json("/api/settings/api-tokens", &token).await;
    assert!(!tokens[0]["revoked_at"].is_null());
    // The message shows once.
    let (_, doc) = get_page(&server, "/jobs", &token).await;
    assert!(!has(&doc, "#flash"));
    server.stop().await;
}

#[tokio::test]
async fn setup_refuses_a_guessable_password_and_signs_the_admin_in() {
    let tmp = tempfile::tempdir().unwrap();
    let data_dir = tmp.path().join("data");
    let server = TestServer::start_in(tmp, data_dir, |_| {}).await;
    let origin = same_origin(&server);
    for weak in ["password", "12345678", "admin2024", "aaaaaaaa"] {
        let fields = [
            ("username", ADMIN),
            ("password", weak),
            ("password_repeat", weak),
        ];
        let (status, _, body) = post_form(&server, "/setup", None, &fields, &origin).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{weak}");
        assert!(has(&Html::parse_document(&body), ".error"), "{weak}");
    }
    let r = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
        .post(server.url("/setup"))
        .header("content-type", "application/x-www-form-urlencoded")
        .header("origin", &origin)
        .body(format!(
            "username={ADMIN}&password={0}&password_repeat={0}",
            PASSWORD.replace(' ', "+")
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    assert_eq!(r.headers()["location"], "/");
    let cookie = r.headers()["set-cookie"].to_str().unwrap();
    let token = cookie
        .strip_prefix("alchemist_session=")
        .and_then(|c| c.split(';').next())
        .unwrap();
    let (status, doc) = get_page(&server, "/", token).await;
    assert_eq!(status, StatusCode::OK);
    // A fresh box says what to do first.
    assert!(has(&doc, "#get-started a[href=\"/library\"]"));
    server.stop().await;
}

#[tokio::test]
async fn times_are_shown_in_the_owners_time_zone() {
    let server = TestServer::start().await;
    let token = server.login().await;
    let tokens_page = async || {
        let (_, doc) = get_page(&server, "/tokens", &token).await;
        select(&doc, r#"#tokens td[data-label="Last used"]"#)[0]
            .text()
            .collect::<String>()
    };
    let (status, _) = post(
        &server,
        &token,
        "/api/settings/api-tokens",
        json!({"name": "t", "access_level": "read_only"}),
    )
    .await;
    assert!(status < 300);
    let listed: Value = server.get_json("/api/settings/api-tokens", &token).await;
    let created = listed[0]["created_at"].as_str().unwrap().to_string();
    let utc_day = created[..10].to_string();
    assert!(tokens_page().await.contains("never"));
    let (_, doc) = get_page(&server, "/system", &token).await;
    assert!(has(
        &doc,
        r#"form#timezone-form select[name="timezone"] option[value="Pacific/Kiritimati"]"#
    ));
    // Kiritimati is UTC+14: the day is the next one for most of the UTC day.
    let (status, location, _) = post_form(
        &server,
        "/system/timezone",
        Some(&token),
        &[("timezone", "Pacific/Kiritimati")],
        &same_origin(&server),
    )
    .await;
    assert_eq!(
        (status, location.as_str()),
        (StatusCode::SEE_OTHER, "/system")
    );
    let (_, doc) = get_page(&server, "/system", &token).await;
    assert_eq!(
        select(&doc, "#zone")[0].text().collect::<String>(),
        "Pacific/Kiritimati"
    );
    let (_, doc) = get_page(&server, "/tokens", &token).await;
    let shown = select(&doc, r#"#tokens td[data-label="Created"]"#)[0]
        .text()
        .collect::<String>();
    let hour: u32 = created[11..13].parse().unwrap();
    if hour < 10 {
        assert_eq!(shown, utc_day, "before 10:00 UTC it is the same day there");
    } else {
        assert_ne!(shown, utc_day, "after 10:00 UTC it is the next day there");
    }
    let (status, _, _) = post_form(
        &server,
        "/system/timezone",
        Some(&token),
        &[("timezone", "Mars/Olympus_Mons")],
        &same_origin(&server),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    server.stop().await;
}

//! The HTML admin pages, content side: every page renders for a signed-in admin with the
//! expected content and forms (parsed with `scraper`), a hostile file name appears as text
//! everywhere, and every form post works and answers with a redirect.

use reqwest::{Method, StatusCode};
use scraper::{Html, Selector};
use serde_json::Value;

use crate::support::clips::{copy_into, h264_clip};
use crate::support::pages::{
    HOSTILE, PAGES, assert_no_injected_script, get_page, has, post_form, same_origin, select, text,
};
use crate::support::{SHORT_JOB, TestServer, wait_until};

/// A library with the hostile name; returns the token and the job's id once it is done.
async fn hostile_library(server: &TestServer) -> (String, u64) {
    let token = server.login().await;
    let lib = server.tmp.path().join("lib<i>x</i>");
    let dir = lib.join("<script>alert(1)<");
    std::fs::create_dir_all(&dir).unwrap();
    copy_into(&dir, h264_clip(), "script>.mkv".as_ref());
    server.add_folder(&token, &lib).await;
    let r = server
        .post_json("/api/library/scan", &token, Value::Null)
        .await;
    assert_eq!(r.status(), 202);
    let job = wait_until(SHORT_JOB, "the job to end", async || {
        let jobs = server.get_json("/api/jobs", &token).await;
        let first = jobs.as_array().and_then(|a| a.first()).cloned();
        first
            .filter(|j| {
                matches!(
                    j["status"].as_str(),
                    Some("completed" | "skipped" | "failed")
                )
            })
            .ok_or(jobs)
    })
    .await;
    assert!(job["input_path"].as_str().unwrap().ends_with(HOSTILE));
    (token, job["id"].as_u64().unwrap())
}

#[tokio::test]
async fn every_page_renders_escaped_with_its_forms() {
    let server = TestServer::start().await;
    let (token, id) = hostile_library(&server).await;
    let detail = format!("/jobs/{id}");
    let filtered = format!(
        "/jobs?search={}&sort_by=size&sort_desc=true",
        "%3Cscript%3E"
    );
    for path in PAGES
        .iter()
        .copied()
        .chain([detail.as_str(), filtered.as_str()])
    {
        let (status, doc) = get_page(&server, path, &token).await;
        assert_eq!(status, StatusCode::OK, "{path}");
        assert_no_injected_script(&doc, path);
        // The CSP (`default-src 'self'`) blocks inline styles and handlers: use none.
        assert!(
            !has(&doc, "[style], [onclick], [onsubmit], style"),
            "{path}: inline style or handler"
        );
        assert!(
            has(&doc, r#"form[action="/logout"]"#),
            "{path}: logout form"
        );
        assert!(
            has(&doc, r#"nav[aria-label="Main"] a[aria-current="page"]"#),
            "{path}"
        );
    }
    // The hostile name appears as text on the pages that list files.
    for path in ["/", "/jobs", detail.as_str(), filtered.as_str()] {
        let (_, doc) = get_page(&server, path, &token).await;
        if path == "/" {
            continue; // nothing runs now; the running list is checked in the browser test
        }
        // The file's name and its folder, each as text (the list shows them apart).
        let shown = text(&doc);
        assert!(
            shown.contains("script>.mkv") && shown.contains("<script>alert(1)<"),
            "{path}: name shown as text"
        );
        assert!(!has(&doc, "i"), "{path}: folder name is escaped");
    }
    let (_, doc) = get_page(&server, "/library", &token).await;
    assert!(text(&doc).contains("lib<i>x</i>"));
    assert!(!has(&doc, "i"));
    // Dashboard: engine forms, queue summary, savings and the charts.
    let (_, doc) = get_page(&server, "/", &token).await;
    for css in [
        r#"form[action="/engine/pause"][method="post"]"#,
        r#"form[action="/engine/drain"][method="post"]"#,
        r#"form[action="/engine/mode"] input[name="mode"][type="radio"]"#,
        "#queue dl",
        "#saved .stat",
        "svg.chart rect.bar",
        "label[for=concurrent_jobs_override]",
    ] {
        assert!(has(&doc, css), "dashboard: {css}");
    }
    assert_eq!(
        select(&doc, "svg.chart")[0]
            .select(&Selector::parse("rect").unwrap())
            .count(),
        30
    );
    // Jobs: filter form, batch form with a checkbox per job, the two bulk forms.
    let (_, doc) = get_page(&server, "/jobs?status=completed,skipped,failed", &token).await;
    for css in [
        r#"form#filter-form select[name="status"]"#,
        r#"form#filter-form input[name="search"]"#,
        r#"form#filter-form select[name="sort_by"]"#,
        r#"form#batch-form button[name="action"][value="restart"]"#,
        r#"form#batch-form button[name="action"][value="cancel"]"#,
        r#"form#batch-form button[name="action"][value="delete"]"#,
        r#"form#batch-form button[formaction="/jobs/restart-failed"]"#,
        r#"form#batch-form button[formaction="/jobs/clear-completed"]"#,
    ] {
        assert!(has(&doc, css), "jobs: {css}");
    }
    assert!(has(
        &doc,
        &format!(r#"input[type="checkbox"][name="id"][value="{id}"]"#)
    ));
    let (status, doc) = get_page(&server, "/jobs?status=bogus", &token).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(text(&doc).contains("400"));
    // Job page: the decision in words and the actions its state allows.
    let (_, doc) = get_page(&server, &detail, &token).await;
    assert!(
        select(&doc, "#input-path")[0]
            .text()
            .collect::<String>()
            .ends_with(HOSTILE)
    );
    assert!(text(&doc).contains("Reason code"));
    // A finished job can run again; cancel and priority only fit a waiting or running one.
    assert!(has(&doc, &format!(r#"form[action="/jobs/{id}/restart"]"#)));
    assert!(!has(
        &doc,
        &format!(r#"form[action="/jobs/{id}/priority"]"#)
    ));
    assert!(!has(&doc, &format!(r#"form[action="/jobs/{id}/cancel"]"#)));
    let (status, _) = get_page(&server, "/jobs/999999", &token).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    // Library, hardware, tokens, system.
    let (_, doc) = get_page(&server, "/library", &token).await;
    assert!(has(&doc, r#"form#add-folder input[name="path"]"#));
    assert!(has(&doc, r#"form[action="/library/scan"]"#));
    assert!(has(&doc, "#profiles-h"));
    // Profiles: default and the presets listed, the create form, a profile select per folder.
    assert_eq!(select(&doc, "#profiles tbody tr").len(), 4);
    assert!(has(&doc, r#"form#create-profile select[name="base"]"#));
    assert_eq!(
        select(&doc, r#"form[action$="/profile"] select[name="profile"]"#).len(),
        1
    );
    assert_eq!(select(&doc, r#"form[action$="/remove"]"#).len(), 1);
    let (_, doc) = get_page(&server, "/hardware", &token).await;
    assert!(text(&doc).contains("Probe log"));
    let (_, doc) = get_page(&server, "/system", &token).await;
    assert_eq!(
        select(&doc, "#version")[0].text().collect::<String>(),
        env!("CARGO_PKG_VERSION")
    );
    let (_, doc) = get_page(&server, "/tokens", &token).await;
    assert!(has(
        &doc,
        r#"form#create-token select[name="access_level"]"#
    ));
    server.stop().await;
}

#[tokio::test]
async fn form_actions_redirect_and_change_state() {
    let server = TestServer::start().await;
    let (token, id) = hostile_library(&server).await;
    let origin = same_origin(&server);
    let post = |path: String, fields: Vec<(&'static str, String)>| {
        let server = &server;
        let token = token.clone();
        let origin = origin.clone();
        async move {
            let f: Vec<(&str, &str)> = fields.iter().map(|(k, v)| (*k, v.as_str())).collect();
            post_form(server, &path, Some(&token), &f, &origin).await
        }
    };
    // Priority, restart (via the batch form) and the back link.
    let (status, location, _) = post(
        format!("/jobs/{id}/priority"),
        vec![("priority", "7".into())],
    )
    .await;
    assert_eq!(
        (status, location),
        (StatusCode::SEE_OTHER, format!("/jobs/{id}"))
    );
    let (status, _, _) = post(
        format!("/jobs/{id}/priority"),
        vec![("priority", "x".into())],
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let (status, location, _) = post(
        "/jobs/batch".into(),
        vec![
            ("action", "delete".into()),
            ("id", id.to_string()),
            ("back", "/jobs?page=1".into()),
            ("confirm", "yes".into()),
        ],
    )
    .await;
    assert_eq!(
        (status, location.as_str()),
        (StatusCode::SEE_OTHER, "/jobs?page=1")
    );
    let jobs = server.get_json("/api/jobs?archived=true", &token).await;
    assert_eq!(jobs[0]["id"].as_u64(), Some(id));
    assert_eq!(jobs[0]["priority"].as_i64(), Some(7));
    // Nothing selected: said in a message, nothing done.
    let (status, _, _) = post("/jobs/batch".into(), vec![("action", "restart".into())]).await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    for path in ["/jobs/restart-failed", "/jobs/clear-completed"] {
        let (status, location, _) = post(path.into(), vec![("confirm", "yes".into())]).await;
        assert_eq!(
            (status, location.as_str()),
            (StatusCode::SEE_OTHER, "/jobs")
        );
    }
    // Library: a bad path is shown back with the reason (escaped), a good one is added.
    let (status, _, body) = post(
        "/library/folders".into(),
        vec![("path", "/no/such/<dir>".into())],
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let doc = Html::parse_document(&body);
    assert!(has(&doc, "#folder-error"));
    assert_no_injected_script(&doc, "library error");
    assert_eq!(
        select(&doc, r#"input[name="path"]"#)[0]
            .value()
            .attr("value"),
        Some("/no/such/<dir>")
    );
    let extra = server.tmp.path().join("extra");
    std::fs::create_dir_all(&extra).unwrap();
    let (status, location, _) = post(
        "/library/folders".into(),
        vec![
            ("path", extra.to_str().unwrap().into()),
            ("recursive", "1".into()),
        ],
    )
    .await;
    assert_eq!(
        (status, location.as_str()),
        (StatusCode::SEE_OTHER, "/library")
    );
    let folders = server.get_json("/api/library/folders", &token).await;
    let added = folders
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["path"] == extra.to_str().unwrap())
        .unwrap();
    let (status, _, _) = post(
        format!("/library/folders/{}/remove", added["id"]),
        vec![("confirm", "yes".into())],
    )
    .await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    let (status, location, _) =
        post("/library/scan".into(), vec![("back", "/library".into())]).await;
    assert_eq!(
        (status, location.as_str()),
        (StatusCode::SEE_OTHER, "/library")
    );
    // Tokens: the plaintext is shown once, revoking works.
    let (status, _, body) = post(
        "/tokens".into(),
        vec![
            ("name", "<b>ci</b>".into()),
            ("access_level", "read_only".into()),
        ],
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let doc = Html::parse_document(&body);
    let plaintext = select(&doc, "#plaintext-token")[0]
        .text()
        .collect::<String>();
    assert!(plaintext.starts_with("alc_"), "{plaintext}");
    assert!(!has(&doc, "b"), "token name is escaped");
    let r = server
        .bearer(Method::GET, "/api/engine/status", &plaintext)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    // A read-only token may look at pages but not manage tokens: an HTML 403.
    let r = server
        .bearer(Method::GET, "/tokens", &plaintext)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);
    assert!(
        r.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/html")
    );
    let r = server
        .bearer(Method::GET, "/jobs", &plaintext)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let (_, doc) = get_page(&server, "/tokens", &token).await;
    assert!(!text(&doc).contains(&plaintext), "shown only once");
    let tokens = server.get_json("/api/settings/api-tokens", &token).await;
    let tid = tokens[0]["id"].as_u64().unwrap();
    let (status, location, _) = post(
        format!("/tokens/{tid}/revoke"),
        vec![("confirm", "yes".into())],
    )
    .await;
    assert_eq!(
        (status, location.as_str()),
        (StatusCode::SEE_OTHER, "/tokens")
    );
    let r = server
        .bearer(Method::GET, "/api/engine/status", &plaintext)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    server.stop().await;
}

//! The HTML admin pages, session side: signed-out visitors go to the login page, login and
//! logout forms, cross-origin form posts are refused, first-run setup is offered only while no
//! admin exists.

use reqwest::StatusCode;
use scraper::Html;

use crate::support::pages::{PAGES, get_page, has, no_redirects, post_form, same_origin, select};
use crate::support::{ADMIN, PASSWORD, TestServer};

#[tokio::test]
async fn signed_out_visitors_go_to_login() {
    let server = TestServer::start().await;
    for path in PAGES.iter().chain(&["/jobs/1"]) {
        let (status, location, _) = {
            let r = no_redirects().get(server.url(path)).send().await.unwrap();
            let loc = r.headers()["location"].to_str().unwrap().to_string();
            (r.status(), loc, ())
        };
        assert_eq!(status, StatusCode::SEE_OTHER, "{path}");
        assert!(location.starts_with("/login?next="), "{path}: {location}");
    }
    // A form post without a session also goes to the login page and changes nothing.
    let (status, location, _) =
        post_form(&server, "/engine/pause", None, &[], &same_origin(&server)).await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    assert!(location.starts_with("/login"));
    // The login page is a form; a wrong password shows it again with the reason.
    let (status, doc) = get_page(&server, "/login?next=/jobs", "").await;
    assert_eq!(status, StatusCode::OK);
    assert!(has(
        &doc,
        r#"form[action="/login"][method="post"] input[name="password"][type="password"]"#
    ));
    assert!(has(&doc, r#"input[name="next"][value="/jobs"]"#));
    let (status, _, body) = post_form(
        &server,
        "/login",
        None,
        &[
            ("username", ADMIN),
            ("password", "wrong password"),
            ("next", "/jobs"),
        ],
        &same_origin(&server),
    )
    .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert!(body.contains("Invalid username or password"));
    // Unknown pages are an HTML 404, unknown API routes stay problem+json.
    let r = no_redirects()
        .get(server.url("/nope"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 404);
    assert!(
        r.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/html")
    );
    let r = no_redirects()
        .get(server.url("/api/nope"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.headers()["content-type"], "application/problem+json");
    server.stop().await;
}

#[tokio::test]
async fn login_logout_and_cross_origin_forms() {
    let server = TestServer::start().await;
    let origin = same_origin(&server);
    // A login form from another site is refused.
    let (status, _, body) = post_form(
        &server,
        "/login",
        None,
        &[("username", ADMIN), ("password", PASSWORD)],
        "http://evil.example",
    )
    .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert!(
        Html::parse_document(&body)
            .root_element()
            .html()
            .contains("403")
    );
    // The real one sets the cookie and goes to `next`, but never off-site.
    let r = no_redirects()
        .post(server.url("/login"))
        .header("content-type", "application/x-www-form-urlencoded")
        .header("origin", &origin)
        .body(format!(
            "username={ADMIN}&password={}&next=//evil.example/",
            PASSWORD.replace(' ', "+")
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    assert_eq!(r.headers()["location"], "/");
    let cookie = r.headers()["set-cookie"].to_str().unwrap().to_string();
    assert!(cookie.contains("HttpOnly") && cookie.contains("SameSite=Strict"));
    let token = cookie
        .strip_prefix("alchemist_session=")
        .and_then(|c| c.split(';').next())
        .unwrap()
        .to_string();
    // A cross-origin engine form is refused with an HTML 403 and changes nothing.
    let (status, _, body) = post_form(
        &server,
        "/engine/pause",
        Some(&token),
        &[],
        "http://evil.example",
    )
    .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert!(body.contains("Cross-site requests"));
    let engine = server.get_json("/api/engine/status", &token).await;
    assert_eq!(engine["status"], "running");
    // Same origin: pause, then resume, each answered with a redirect to the dashboard.
    let (status, location, _) =
        post_form(&server, "/engine/pause", Some(&token), &[], &origin).await;
    assert_eq!((status, location.as_str()), (StatusCode::SEE_OTHER, "/"));
    let (_, doc) = get_page(&server, "/", &token).await;
    assert_eq!(
        select(&doc, "#engine-status")[0].text().collect::<String>(),
        "Paused"
    );
    assert!(has(&doc, r#"form[action="/engine/resume"] button"#));
    post_form(&server, "/engine/resume", Some(&token), &[], &origin).await;
    let engine = server.get_json("/api/engine/status", &token).await;
    assert_eq!(engine["status"], "running");
    // Mode form, with validation.
    let (status, _, _) = post_form(
        &server,
        "/engine/mode",
        Some(&token),
        &[
            ("mode", "background"),
            ("concurrent_jobs_override", "0"),
            ("threads_override", "2"),
        ],
        &origin,
    )
    .await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    let engine = server.get_json("/api/engine/status", &token).await;
    assert_eq!(
        (engine["mode"].as_str(), engine["threads"].as_u64()),
        (Some("background"), Some(2))
    );
    let (status, _, _) = post_form(
        &server,
        "/engine/mode",
        Some(&token),
        &[("mode", "warp")],
        &origin,
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    // Logout ends the session server-side.
    let (status, location, _) = post_form(&server, "/logout", Some(&token), &[], &origin).await;
    assert_eq!(
        (status, location.as_str()),
        (StatusCode::SEE_OTHER, "/login")
    );
    let (status, _) = get_page(&server, "/", &token).await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    server.stop().await;
}

#[tokio::test]
async fn setup_only_until_an_admin_exists() {
    let tmp = tempfile::tempdir().unwrap();
    let data_dir = tmp.path().join("data");
    let server = TestServer::start_in(tmp, data_dir, |_| {}).await;
    let origin = same_origin(&server);
    // Without an admin every page leads to setup, and so does the login page.
    let r = no_redirects().get(server.url("/")).send().await.unwrap();
    assert_eq!(r.headers()["location"], "/setup");
    let r = no_redirects()
        .get(server.url("/login"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.headers()["location"], "/setup");
    let (status, doc) = get_page(&server, "/setup", "").await;
    assert_eq!(status, StatusCode::OK);
    assert!(has(
        &doc,
        r#"form[action="/setup"] input[name="password_repeat"]"#
    ));
    // Validation: the passwords must match, cross-origin is refused.
    let (status, _, body) = post_form(
        &server,
        "/setup",
        None,
        &[
            ("username", ADMIN),
            ("password", PASSWORD),
            ("password_repeat", "other one!"),
        ],
        &origin,
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(body.contains("differ"));
    let fields = [
        ("username", ADMIN),
        ("password", PASSWORD),
        ("password_repeat", PASSWORD),
    ];
    let (status, _, _) = post_form(&server, "/setup", None, &fields, "http://evil.example").await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    // Setup signs the new admin in and opens the dashboard.
    let (status, location, _) = post_form(&server, "/setup", None, &fields, &origin).await;
    assert_eq!((status, location.as_str()), (StatusCode::SEE_OTHER, "/"));
    // Done: setup is gone (a second admin cannot be created), login works.
    let r = no_redirects()
        .get(server.url("/setup"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.headers()["location"], "/login");
    let (status, location, _) = post_form(
        &server,
        "/setup",
        None,
        &[
            ("username", "mallory"),
            ("password", PASSWORD),
            ("password_repeat", PASSWORD),
        ],
        &origin,
    )
    .await;
    assert_eq!(
        (status, location.as_str()),
        (StatusCode::SEE_OTHER, "/login")
    );
    let token = server.login().await;
    let (status, _) = get_page(&server, "/", &token).await;
    assert_eq!(status, StatusCode::OK);
    server.stop().await;
}

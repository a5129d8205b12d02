//! The HTML pages as a browser without JavaScript sees them: GET a page with the session
//! cookie (parsed with `scraper`), POST a form from an origin, CSS queries, and the check that
//! no script from data got into a page.

use std::time::Duration;

use reqwest::{Method, StatusCode};
use scraper::{Html, Selector};

use super::server::TestServer;

/// Every signed-in page.
pub const PAGES: &[&str] = &["/", "/jobs", "/library", "/hardware", "/tokens", "/system"];

/// The hostile file name of the escaping test (a path: a file name cannot hold `/`).
pub const HOSTILE: &str = "<script>alert(1)</script>.mkv";

/// A client that shows redirects instead of following them.
pub fn no_redirects() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(Duration::from_secs(60))
        .build()
        .unwrap()
}

/// GET a page with the session cookie; returns status and parsed document.
pub async fn get_page(server: &TestServer, path: &str, token: &str) -> (StatusCode, Html) {
    let r = no_redirects()
        .get(server.url(path))
        .header("cookie", format!("alchemist_session={token}"))
        .send()
        .await
        .unwrap();
    let status = r.status();
    let ct = r
        .headers()
        .get("content-type")
        .map(|v| v.to_str().unwrap().to_string())
        .unwrap_or_default();
    let body = r.text().await.unwrap();
    if status == StatusCode::OK {
        assert!(ct.starts_with("text/html"), "{path}: content type {ct}");
    }
    (status, Html::parse_document(&body))
}

/// POST a form as a same-origin browser would; returns status and Location.
pub async fn post_form(
    server: &TestServer,
    path: &str,
    token: Option<&str>,
    fields: &[(&str, &str)],
    origin: &str,
) -> (StatusCode, String, String) {
    let body = form_urlencoded::Serializer::new(String::new())
        .extend_pairs(fields)
        .finish();
    let mut req = no_redirects()
        .request(Method::POST, server.url(path))
        .header("content-type", "application/x-www-form-urlencoded")
        .header("origin", origin)
        .body(body);
    if let Some(t) = token {
        req = req.header("cookie", format!("alchemist_session={t}"));
    }
    let r = req.send().await.unwrap();
    let status = r.status();
    let location = r
        .headers()
        .get("location")
        .map(|v| v.to_str().unwrap().to_string())
        .unwrap_or_default();
    (status, location, r.text().await.unwrap())
}

/// The `Origin` of a same-origin form post.
pub fn same_origin(server: &TestServer) -> String {
    server.base.clone()
}

/// The elements `css` selects.
pub fn select<'a>(doc: &'a Html, css: &str) -> Vec<scraper::ElementRef<'a>> {
    doc.select(&Selector::parse(css).unwrap()).collect()
}

/// Whether `css` selects anything.
pub fn has(doc: &Html, css: &str) -> bool {
    !select(doc, css).is_empty()
}

/// The whole text of a document.
pub fn text(doc: &Html) -> String {
    doc.root_element().text().collect::<Vec<_>>().join("")
}

/// Only our own script, never one from data.
pub fn assert_no_injected_script(doc: &Html, page: &str) {
    for s in select(doc, "script") {
        assert_eq!(
            s.value().attr("src"),
            Some("/static/app.js"),
            "{page}: unexpected script element {}",
            s.html()
        );
    }
}

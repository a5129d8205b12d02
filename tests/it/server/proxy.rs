//! Behind a reverse proxy: with `[proxy] base_path = "/alchemist"` a page, its stylesheet, the
//! login redirect and cookie, and the API (also as `/api/v1`) answer under the prefix and
//! nowhere else; with `trusted_proxies`, `X-Forwarded-For` and `X-Forwarded-Proto` count only
//! from a trusted peer. Loopback gives us two peers: 127.0.0.2 is the trusted proxy,
//! 127.0.0.1 an ordinary client.

use std::net::IpAddr;
use std::time::Duration;

use alchemist::config::{ProxyFile, proxy_settings};
use reqwest::{Client, Response, StatusCode};
use serde_json::json;

use crate::support::TestServer;

const BASE: &str = "/alchemist";
const PROXY_PEER: &str = "127.0.0.2";

async fn start() -> TestServer {
    TestServer::start_with(|c| {
        c.proxy = proxy_settings(&ProxyFile {
            base_path: Some(BASE.into()),
            trusted_proxies: vec![PROXY_PEER.into()],
        })
        .unwrap();
    })
    .await
}

/// A client connecting from `from`, not following redirects (the tests look at them).
fn client(from: &str) -> Client {
    Client::builder()
        .local_address(from.parse::<IpAddr>().unwrap())
        .redirect(reqwest::redirect::Policy::none())
        .timeout(Duration::from_secs(60))
        .build()
        .unwrap()
}

/// `http://127.0.0.1:PORT`, without the base path.
fn origin(server: &TestServer) -> String {
    server
        .base
        .strip_suffix(BASE)
        .expect("base path")
        .to_string()
}

/// Every link, asset and form target of a page that is not a fragment (`#content`), as the
/// browser reads it (entities decoded).
fn local_links(html: &str) -> Vec<String> {
    let doc = scraper::Html::parse_document(html);
    let any = scraper::Selector::parse("[href], [src], [action], [formaction]").unwrap();
    doc.select(&any)
        .flat_map(|e| {
            ["href", "src", "action", "formaction"]
                .into_iter()
                .filter_map(move |a| e.value().attr(a))
        })
        .filter(|v| !v.starts_with('#'))
        .map(str::to_string)
        .collect()
}

fn location(r: &Response) -> String {
    r.headers()["location"].to_str().unwrap().to_string()
}

fn set_cookies(r: &Response) -> Vec<String> {
    r.headers()
        .get_all("set-cookie")
        .iter()
        .map(|v| v.to_str().unwrap().to_string())
        .collect()
}

async fn login(
    from: &Client,
    server: &TestServer,
    user: &str,
    headers: &[(&str, &str)],
) -> Response {
    let mut req = from
        .post(server.url("/api/auth/login"))
        .json(&json!({"username": user, "password": "not the password"}));
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    req.send().await.unwrap()
}

#[tokio::test]
async fn pages_assets_redirects_and_api_answer_under_the_base_path() {
    let server = start().await;
    let http = client("127.0.0.1");
    let root = origin(&server);

    // Outside the prefix: `/` leads into it, anything else is not there.
    let r = http.get(format!("{root}/")).send().await.unwrap();
    assert!(r.status().is_redirection(), "{}", r.status());
    assert_eq!(location(&r), format!("{BASE}/"));
    for path in ["/jobs", "/static/app.css", "/api/health", "/login"] {
        let r = http.get(format!("{root}{path}")).send().await.unwrap();
        assert_eq!(r.status(), 404, "{path} outside the base path");
    }

    // The stylesheet.
    let r = http
        .get(server.url("/static/app.css"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert!(
        r.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/css")
    );

    // A page without a session goes to the login page, under the prefix, with a `next` that
    // the login redirect prefixes again.
    let r = http.get(server.url("/jobs")).send().await.unwrap();
    assert!(r.status().is_redirection(), "{}", r.status());
    assert_eq!(location(&r), format!("{BASE}/login?next=%2Fjobs"));
    let r = http.get(server.url("/login")).send().await.unwrap();
    assert_eq!(r.status(), 200);
    let html = r.text().await.unwrap();
    assert!(
        html.contains(r#"href="/alchemist/static/app.css""#),
        "{html}"
    );
    assert!(html.contains(r#"action="/alchemist/login""#), "{html}");

    // The login form: redirect to `next` under the prefix, cookies scoped to the prefix.
    let r = http
        .post(server.url("/login"))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(
            form_urlencoded::Serializer::new(String::new())
                .append_pair("username", crate::support::ADMIN)
                .append_pair("password", crate::support::PASSWORD)
                .append_pair("next", "/jobs")
                .finish(),
        )
        .send()
        .await
        .unwrap();
    assert!(r.status().is_redirection(), "{}", r.status());
    assert_eq!(location(&r), format!("{BASE}/jobs"));
    let cookies = set_cookies(&r);
    let session = cookies
        .iter()
        .find(|c| c.starts_with("alchemist_session="))
        .expect("session cookie");
    assert!(session.contains("; Path=/alchemist;"), "{session}");
    assert!(
        cookies.iter().all(|c| c.contains("; Path=/alchemist;")),
        "{cookies:?}"
    );
    let token = session
        .strip_prefix("alchemist_session=")
        .and_then(|s| s.split(';').next())
        .unwrap();

    // A signed-in page: its links, assets and the live-update script's base all carry the
    // prefix.
    let r = http
        .get(server.url("/jobs"))
        .header("cookie", format!("alchemist_session={token}"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let html = r.text().await.unwrap();
    let links = local_links(&html);
    for link in &links {
        assert!(
            link.starts_with("/alchemist/"),
            "{link} lacks the prefix: {links:?}"
        );
    }
    for needed in [
        "/alchemist/static/app.css",
        "/alchemist/static/app.js",
        "/alchemist/jobs",
        "/alchemist/",
        "/alchemist/logout",
    ] {
        assert!(
            links.iter().any(|l| l == needed),
            "no {needed} in {links:?}"
        );
    }
    assert!(
        html.contains(r#"data-base="/alchemist""#),
        "the script's base"
    );

    // The API and its /api/v1 alias, with the session as a Bearer token.
    for path in ["/api/health", "/api/v1/health"] {
        let r = http.get(server.url(path)).send().await.unwrap();
        assert_eq!(r.status(), 200, "{path}");
    }
    for path in ["/api/jobs", "/api/v1/jobs"] {
        let r = http
            .get(server.url(path))
            .bearer_auth(token)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200, "{path}");
    }
    let r = http.get(server.url("/api/nope")).send().await.unwrap();
    assert_eq!(r.status(), 404);
    assert_eq!(r.headers()["content-type"], "application/problem+json");

    // The OpenAPI document says where its paths are.
    let doc: serde_json::Value = http
        .get(server.url("/api/openapi.json"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(doc["servers"][0]["url"], BASE, "{}", doc["servers"]);
    server.stop().await;
}

#[tokio::test]
async fn forwarded_for_feeds_the_login_throttle_only_from_a_trusted_proxy() {
    let server = start().await;
    let limit = 10;

    // Through the trusted proxy: the forwarded address is throttled, not the proxy.
    let proxy = client(PROXY_PEER);
    let guesser = [("x-forwarded-for", "198.51.100.1, 203.0.113.7")];
    for i in 0..limit {
        let r = login(&proxy, &server, &format!("p{i}"), &guesser).await;
        assert_eq!(r.status(), StatusCode::UNAUTHORIZED, "attempt {i}");
    }
    let r = login(&proxy, &server, "p-last", &guesser).await;
    assert_eq!(r.status(), StatusCode::TOO_MANY_REQUESTS);
    // The client-written part left of the proxy's entry is not who is throttled.
    let r = login(
        &proxy,
        &server,
        "p-other",
        &[("x-forwarded-for", "198.51.100.1")],
    )
    .await;
    assert_eq!(
        r.status(),
        StatusCode::UNAUTHORIZED,
        "another client via the proxy"
    );
    let r = login(&proxy, &server, "p-proxy", &[]).await;
    assert_eq!(
        r.status(),
        StatusCode::UNAUTHORIZED,
        "the proxy's own address"
    );

    // From an untrusted peer the header is ignored: a new forwarded address per attempt does
    // not escape the limit on the peer's own address.
    let direct = client("127.0.0.1");
    for i in 0..limit {
        let forwarded = format!("192.0.2.{}", i + 1);
        let r = login(
            &direct,
            &server,
            &format!("d{i}"),
            &[("x-forwarded-for", &forwarded)],
        )
        .await;
        assert_eq!(r.status(), StatusCode::UNAUTHORIZED, "attempt {i}");
    }
    let r = login(
        &direct,
        &server,
        "d-last",
        &[("x-forwarded-for", "192.0.2.200")],
    )
    .await;
    assert_eq!(r.status(), StatusCode::TOO_MANY_REQUESTS);
    server.stop().await;
}

#[tokio::test]
async fn forwarded_https_from_a_trusted_proxy_makes_the_cookie_secure() {
    let server = start().await;
    let good = json!({"username": crate::support::ADMIN, "password": crate::support::PASSWORD});
    let session = |r: &Response| {
        set_cookies(r)
            .into_iter()
            .find(|c| c.starts_with("alchemist_session="))
            .expect("session cookie")
    };
    for (from, proto, secure) in [
        (PROXY_PEER, "https", true),
        (PROXY_PEER, "http", false),
        ("127.0.0.1", "https", false),
    ] {
        let r = client(from)
            .post(server.url("/api/auth/login"))
            .header("x-forwarded-proto", proto)
            .json(&good)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200, "login from {from} ({proto})");
        let cookie = session(&r);
        assert_eq!(
            cookie.ends_with("; Secure"),
            secure,
            "from {from} with X-Forwarded-Proto: {proto}: {cookie}"
        );
    }
    server.stop().await;
}

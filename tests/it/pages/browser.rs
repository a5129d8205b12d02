//! End to end in headless Chromium (Debian `chromium` + `chromium-driver`, driven through
//! chromedriver with `fantoccini`): first-run setup (which signs the admin in), add a library
//! folder of generated clips, pause, scan, resume, watch a job's progress bar move and the job
//! complete without a reload, create and revoke an API token, log out. The helpers here
//! (chromedriver, a Chromium session, waiting on the page) serve `browser_pages` too, which
//! looks at every page and takes the screenshots.

use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use fantoccini::{Client, ClientBuilder, Locator};
use serde_json::{Value, json};

use crate::support::{ADMIN, PASSWORD, PROMPT, TestServer, wait_until};

/// chromedriver, started by this test on a free loopback port in a process group of its own,
/// so that on drop the group (chromedriver and the Chromium it started) is killed even when
/// the test failed before it could close the browser.
pub struct Driver {
    child: Child,
    pub url: String,
}

impl Drop for Driver {
    fn drop(&mut self) {
        // SAFETY: kill(2) with the negated pid of the group leader this test spawned.
        unsafe { libc::kill(-(self.child.id() as i32), libc::SIGKILL) };
        let _ = self.child.wait();
    }
}

pub async fn start_driver() -> Driver {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let child = Command::new("chromedriver")
        .process_group(0)
        .arg(format!("--port={port}"))
        .arg("--allowed-ips=127.0.0.1")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("chromedriver (Debian package chromium-driver; `bash .ci/dev test` installs it)");
    let driver = Driver {
        child,
        url: format!("http://127.0.0.1:{port}"),
    };
    let http = reqwest::Client::new();
    let status = format!("{}/status", driver.url);
    wait_until(PROMPT, "chromedriver to answer", async || {
        let r = http.get(&status).send().await;
        r.is_ok_and(|r| r.status() == 200)
    })
    .await;
    driver
}

pub async fn browser(driver: &Driver, profile: &Path) -> Client {
    let mut caps = serde_json::Map::new();
    caps.insert(
        "goog:chromeOptions".into(),
        json!({
            "binary": "/usr/bin/chromium",
            "args": [
                "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                "--disable-background-networking", "--disable-component-update", "--disable-sync",
                "--disable-dev-shm-usage", "--window-size=1280,900",
                format!("--user-data-dir={}", profile.display()),
            ]
        }),
    );
    ClientBuilder::new(hyper_util::client::legacy::connect::HttpConnector::new())
        .capabilities(caps)
        .connect(&driver.url)
        .await
        .expect("start a Chromium session")
}

pub async fn fill(c: &Client, css: &str, value: &str) {
    let el = c.find(Locator::Css(css)).await.unwrap();
    el.clear().await.unwrap();
    el.send_keys(value).await.unwrap();
}

pub async fn click(c: &Client, css: &str) {
    c.find(Locator::Css(css))
        .await
        .unwrap_or_else(|e| panic!("{css}: {e}"))
        .click()
        .await
        .unwrap();
}

pub async fn path(c: &Client) -> String {
    c.current_url().await.unwrap().path().to_string()
}

/// Click a submit button and wait until the page its form post leads to has loaded (a click
/// may return before that navigation finishes, and the next page may have the same path).
pub async fn submit(c: &Client, css: &str) {
    js(c, "window.__oldPage = true; return null").await;
    click(c, css).await;
    let script = "return !window.__oldPage && document.readyState === 'complete'";
    until(c, &format!("the page after {css}"), 15, script, |v| {
        v == &json!(true)
    })
    .await;
}

/// Sign in as the test admin on the login page and wait for the dashboard.
pub async fn log_in(c: &Client, base: &str) {
    c.goto(&format!("{base}/login")).await.unwrap();
    fill(c, "#username", ADMIN).await;
    fill(c, "#password", PASSWORD).await;
    submit(c, "#login-form button[type=submit]").await;
    wait_path(c, "/").await;
}

/// Wait until the page at `want` has loaded (a click on a submit button may return before the
/// navigation it starts has finished).
pub async fn wait_path(c: &Client, want: &str) {
    let script = "return document.readyState === 'complete' ? location.pathname : ''";
    until(c, &format!("page {want}"), 15, script, |v| v == want).await;
}

pub async fn js(c: &Client, script: &str) -> Value {
    c.execute(script, vec![]).await.unwrap()
}

/// Poll `script` until `pred` holds on its value.
pub async fn until(
    c: &Client,
    what: &str,
    secs: u64,
    script: &str,
    pred: impl Fn(&Value) -> bool,
) -> Value {
    wait_until(Duration::from_secs(secs), what, async || {
        let v = js(c, script).await;
        if pred(&v) { Ok(v) } else { Err(v) }
    })
    .await
}

pub fn shots_dir() -> PathBuf {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("target/screenshots");
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

#[tokio::test]
async fn admin_journey_in_chromium() {
    let started = Instant::now();
    let tmp = tempfile::tempdir().unwrap();
    let data_dir = tmp.path().join("data");
    let server = TestServer::start_in(tmp, data_dir, |_| {}).await;
    let lib = server.tmp.path().join("movies");
    std::fs::create_dir_all(&lib).unwrap();
    // 8 s of 640x360: a few seconds of encoding, long enough to see the bar move.
    let clip = crate::support::clips::generate(
        "browser-h264.mp4",
        "-f lavfi -i testsrc2=size=640x360:rate=25:duration=8 \
         -f lavfi -i sine=frequency=440:sample_rate=48000:duration=8 \
         -c:v libx264 -preset ultrafast -pix_fmt yuv420p -c:a aac -shortest -f mp4",
    );
    crate::support::clips::copy_into(&lib, &clip, "holiday <2024>.mp4".as_ref());
    let profile = tempfile::tempdir().unwrap();
    let driver = start_driver().await;
    let c = browser(&driver, profile.path()).await;
    let base = server.base.clone();

    // First-run setup, then login.
    c.goto(&base).await.unwrap();
    assert_eq!(path(&c).await, "/setup");
    fill(&c, "#username", ADMIN).await;
    fill(&c, "#password", PASSWORD).await;
    fill(&c, "#password_repeat", PASSWORD).await;
    // Setup signs the new admin in.
    submit(&c, "#setup-form button[type=submit]").await;
    wait_path(&c, "/").await;

    // Pause, so the job waits until the dashboard watches.
    submit(&c, "#pause").await;
    until(
        &c,
        "the engine to show paused",
        10,
        "const s = document.querySelector('#engine-status'); return s ? s.textContent : ''",
        |v| v == "Paused",
    )
    .await;
    let mut phase = Instant::now();
    let mut lap = |name: &str| {
        eprintln!("  {name}: {:.1} s", phase.elapsed().as_secs_f64());
        phase = Instant::now();
    };
    lap("setup, login, pause");

    // Library: add the folder, scan.
    c.goto(&format!("{base}/library")).await.unwrap();
    fill(&c, "#path", lib.to_str().unwrap()).await;
    submit(&c, "#add-folder button[type=submit]").await;
    wait_path(&c, "/library").await;
    let table = c
        .find(Locator::Css("#folders"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(table.contains(lib.to_str().unwrap()), "{table}");
    submit(&c, "#scan-now").await;
    let jobs = "return document.querySelectorAll('[data-status-job]').length";
    c.goto(&format!("{base}/jobs")).await.unwrap();
    wait_until(
        Duration::from_secs(30),
        "the scan to find the job",
        async || {
            if js(&c, jobs).await.as_u64() == Some(0) {
                c.refresh().await.unwrap();
                return false;
            }
            true
        },
    )
    .await;

    // Dashboard: resume, then watch without reloading.
    c.goto(&base).await.unwrap();
    lap("folder added, scan found the job");
    submit(&c, "#resume").await;
    // The form post answers with a redirect to the dashboard: wait for that page, then mark it.
    until(
        &c,
        "the dashboard after resume",
        10,
        "return !!document.querySelector('#pause') && document.readyState === 'complete'",
        |v| v == &json!(true),
    )
    .await;
    js(&c, "window.__noReload = 'yes'; return null").await;
    let first = until(&c, "a running job with progress", 60, 
        "const p = document.querySelector('#running [data-progress-job]'); return p ? p.value : null",
        |v| v.as_f64().is_some_and(|p| p > 0.0 && p < 100.0)).await;
    let first = first.as_f64().unwrap();
    // What an encode in progress looks like, for a person to look at (`browser_pages` checks
    // the pages' layout and accessibility).
    for width in super::eyes::WIDTHS {
        super::eyes::screenshot(&c, &format!("dashboard-encoding-{width}"), width).await;
    }
    until(&c, "the progress bar moves", 60,
        "const p = document.querySelector('#running [data-progress-job]'); return p ? p.value : 100",
        |v| v.as_f64().is_some_and(|p| p > first)).await;
    until(&c, "the job to complete", 120,
        "const c = [...document.querySelectorAll('#queue dt')].find(d => d.textContent === 'completed'); return c ? c.nextElementSibling.textContent.trim() : ''",
        |v| v.as_str() == Some("1")).await;
    assert_eq!(
        js(&c, "return window.__noReload || null").await,
        json!("yes"),
        "the page reloaded"
    );
    // The header badge follows the engine live: pause and resume through the API (same-origin
    // fetch with the session cookie) and watch the badge change without a reload.
    let badge = "const b = document.querySelector('#engine-badge'); return b ? b.textContent : ''";
    for (action, want) in [("pause", "Paused"), ("resume", "Idle")] {
        js(&c, &format!("fetch('/api/engine/{action}', {{method: 'POST', credentials: 'same-origin'}}); return null")).await;
        until(&c, &format!("the badge to show `{want}`"), 10, badge, |v| {
            v == want
        })
        .await;
    }
    assert_eq!(
        js(&c, "return window.__noReload || null").await,
        json!("yes"),
        "the page reloaded while the badge changed"
    );
    let running = c
        .find(Locator::Css("#running"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(running.contains("Nothing is running"), "{running}");

    lap("progress moved, job completed");

    // API token: created, shown once, revoked.
    c.goto(&format!("{base}/tokens")).await.unwrap();
    fill(&c, "#token-name", "backup script").await;
    submit(&c, "#create-token button[type=submit]").await;
    let plaintext = c
        .find(Locator::Css("#plaintext-token"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(plaintext.starts_with("alc_"), "{plaintext}");
    // Revoking asks first, in a dialog.
    click(&c, "#tokens button.danger").await;
    submit(&c, "dialog[open] #confirm-yes").await;
    until(&c, "the token shows as revoked", 10,
        "const t = document.querySelector('#tokens'); return !!t && t.textContent.includes('revoked')",
        |v| v == &json!(true)).await;
    assert!(!c.source().await.unwrap().contains(&plaintext));

    // Log out.
    submit(&c, "form[action='/logout'] button").await;
    until(
        &c,
        "the login page after logout",
        10,
        "return location.pathname",
        |v| v == "/login",
    )
    .await;
    c.goto(&base).await.unwrap();
    assert_eq!(path(&c).await, "/login");

    c.close().await.unwrap();
    drop(driver);
    server.stop().await;
    eprintln!(
        "browser journey took {:.1} s",
        started.elapsed().as_secs_f64()
    );
}

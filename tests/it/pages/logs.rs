//! The server log page in Chromium, on the real binary (the in-process server keeps no log):
//! once the page is open, a line the server logs appears at the bottom without a reload (a
//! warning drawn as one), a line its stream sends again is shown once, and the page passes
//! the layout and accessibility checks at both widths in light and dark (screenshots
//! `logs-*.png`).

use serde_json::json;

use super::browser::{browser, js, log_in, start_driver, until};
use super::eyes::{allow_slow_scripts, look_at};
use crate::support::served::Served;

/// Whether a line holding `text` is in the page's log list; `class` narrows to warnings etc.
fn line_shown(text: &str, class: &str) -> String {
    format!(
        "return [...document.querySelectorAll('#log-lines li{class}')]\
         .some(li => li.textContent.includes('{text}'))"
    )
}

#[tokio::test]
async fn the_logs_page_shows_new_lines_without_a_reload() {
    let served = Served::start("").await;
    // Something to see at first: a few lines logged before the page opens.
    for i in 0..3 {
        served.log_info(&format!("before-page-{i}")).await;
    }
    let profile = tempfile::tempdir().unwrap();
    let driver = start_driver().await;
    let c = browser(&driver, profile.path()).await;
    allow_slow_scripts(&c).await;
    let base = served.base.clone();
    log_in(&c, &base).await;

    // Logged just before the page reads the log: shown by the page and sent again by its
    // stream, which starts a second earlier; the script shows it once.
    served.log_info("just-before-page").await;
    c.goto(&format!("{base}/system/logs")).await.unwrap();
    until(
        &c,
        "the lines logged before",
        15,
        &line_shown("before-page-2", ""),
        |v| v == &json!(true),
    )
    .await;
    // The stream is open once the status line says so; mark the page to catch a reload.
    until(
        &c,
        "the live tail to connect",
        15,
        "return document.getElementById('tail-state').textContent",
        |v| v.as_str().unwrap_or("").starts_with("Live:"),
    )
    .await;
    js(&c, "window.__noReload = 'yes'; return null").await;

    served.log_info("after-page-open").await;
    until(
        &c,
        "the new line on the page",
        15,
        &line_shown("after-page-open", ""),
        |v| v == &json!(true),
    )
    .await;
    // The stream sends its replay before anything new: by now the page has had the repeat.
    let count = "return [...document.querySelectorAll('#log-lines li')]\
                 .filter(li => li.textContent.includes('just-before-page')).length";
    assert_eq!(js(&c, count).await, json!(1), "the line shown once");
    served.log_warning().await;
    until(
        &c,
        "the warning, drawn as one",
        15,
        &line_shown("without a file path", ".warning"),
        |v| v == &json!(true),
    )
    .await;
    assert_eq!(
        js(&c, "return window.__noReload || null").await,
        json!("yes"),
        "the page reloaded"
    );
    // Newest last: the warning is the list's last line.
    let last = js(
        &c,
        "const l = document.querySelectorAll('#log-lines li'); return l[l.length - 1].textContent",
    )
    .await;
    assert!(
        last.as_str().unwrap().contains("without a file path"),
        "{last}"
    );

    let problems = look_at(&c, &base, Some("/system/logs"), "logs").await;
    assert!(problems.is_empty(), "{}", problems.join("\n"));
    c.close().await.unwrap();
    drop(driver);
}

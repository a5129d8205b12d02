//! The admin pages in headless Chromium with a real library behind them: a file kept beside
//! its encode, one in a nested folder whose profile replaces originals (so the most specific
//! folder's profile must apply), one already small enough (skipped), a broken and an empty
//! file (failed). Every page is looked at (`browser_eyes`) at both widths in light and dark,
//! and the owner's journey runs: the replaced file's page shows its original in the trash,
//! the Trash page restores it (original back in place, encode gone), clear completed asks
//! first and then offers an undo that works.

use std::ffi::OsStr;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use fantoccini::{Client, Locator};
use serde_json::{Value, json};

use super::browser::{Driver, browser, click, js, log_in, start_driver, submit, until};
use super::eyes::{allow_slow_scripts, look_at};
use crate::support::TestServer;
use crate::support::clips::{copy_into, h264_clip, hevc_clip};
use crate::support::files::sha256;

/// The library: where each kind of job's file lies.
struct Library {
    token: String,
    kept: u64,
    replaced: u64,
    replaced_path: PathBuf,
    replaced_sha: String,
    failed: u64,
}

/// Build the library through the API, scan it and wait until every job has finished.
async fn library(server: &TestServer) -> Library {
    let token = server.login().await;
    let media = server.tmp.path().join("media");
    let films = media.join("Films/Portuguese classics");
    let kids = media.join("kids");
    for dir in [&films, &kids] {
        std::fs::create_dir_all(dir).unwrap();
    }
    let kept = copy_into(
        &films,
        h264_clip(),
        OsStr::new("Holiday in Lisbon (2019) - the director's extended cut.mp4"),
    );
    let replaced = copy_into(&kids, h264_clip(), OsStr::new("Cartoon night.mp4"));
    copy_into(&media, hevc_clip(), OsStr::new("Already small.mkv"));
    std::fs::write(media.join("broken download.mkv"), vec![0x5a; 64 * 1024]).unwrap();
    std::fs::write(media.join("empty.mkv"), b"").unwrap();
    let r = server
        .post_json(
            "/api/profiles",
            &token,
            json!({"name": "kids", "base": "balanced", "original": "replace", "min_file_size": 0, "crf": 30}),
        )
        .await;
    assert_eq!(r.status(), 201);
    server.add_folder(&token, &media).await;
    let r = server
        .post_json(
            "/api/library/folders",
            &token,
            json!({"path": kids.to_str().unwrap(), "profile": "kids"}),
        )
        .await;
    assert_eq!(r.status(), 201, "a folder inside another is allowed");
    let r = server
        .post_json("/api/library/scan", &token, Value::Null)
        .await;
    assert_eq!(r.status(), 202);
    let deadline = Instant::now() + Duration::from_secs(300);
    let jobs = loop {
        let jobs = server.get_json("/api/jobs?limit=200", &token).await;
        let all = jobs.as_array().unwrap().clone();
        let done = all.iter().all(|j| {
            matches!(
                j["status"].as_str(),
                Some("completed" | "skipped" | "failed")
            )
        });
        if all.len() == 5 && done {
            break all;
        }
        assert!(Instant::now() < deadline, "jobs did not finish: {jobs:#}");
        tokio::time::sleep(Duration::from_millis(250)).await;
    };
    let id = |name: &str| {
        jobs.iter()
            .find(|j| j["input_path"].as_str().unwrap().ends_with(name))
            .unwrap_or_else(|| panic!("no job for {name}: {jobs:#?}"))["id"]
            .as_u64()
            .unwrap()
    };
    let status = |id: u64| {
        jobs.iter().find(|j| j["id"] == id).unwrap()["status"]
            .as_str()
            .unwrap()
            .to_string()
    };
    let lib = Library {
        token,
        kept: id("extended cut.mp4"),
        replaced: id("Cartoon night.mp4"),
        replaced_sha: sha256(h264_clip()),
        replaced_path: replaced,
        failed: id("broken download.mkv"),
    };
    assert_eq!(status(lib.kept), "completed");
    assert_eq!(status(lib.replaced), "completed");
    assert_eq!(status(id("Already small.mkv")), "skipped");
    assert_eq!(status(lib.failed), "failed");
    assert_eq!(status(id("empty.mkv")), "failed");
    // The nested folder's own profile applied, not its parent's (`default`, keep).
    let d = server
        .get_json(&format!("/api/jobs/{}/details", lib.replaced), &lib.token)
        .await;
    assert_eq!(d["profile"], "kids", "{d:#}");
    let d = server
        .get_json(&format!("/api/jobs/{}/details", lib.kept), &lib.token)
        .await;
    assert_eq!(d["profile"], "default", "{d:#}");
    assert!(kept.exists(), "a kept original stays");
    lib
}

async fn start(server: &TestServer) -> (Driver, tempfile::TempDir, Client) {
    let profile = tempfile::tempdir().unwrap();
    let driver = start_driver().await;
    let c = browser(&driver, profile.path()).await;
    allow_slow_scripts(&c).await;
    log_in(&c, &server.base).await;
    (driver, profile, c)
}

async fn text_of(c: &Client, css: &str) -> String {
    c.find(Locator::Css(css))
        .await
        .unwrap_or_else(|e| panic!("{css}: {e}"))
        .text()
        .await
        .unwrap()
}

/// Click a button that asks first, and confirm in the dialog.
async fn confirm_click(c: &Client, css: &str) {
    click(c, css).await;
    until(
        c,
        "the confirmation dialog",
        10,
        "const d = document.querySelector('dialog[open]'); return d ? d.textContent : ''",
        |v| !v.as_str().unwrap_or("").is_empty(),
    )
    .await;
    submit(c, "dialog[open] #confirm-yes").await;
}

#[tokio::test]
async fn every_page_passes_layout_and_accessibility_checks_in_both_widths_and_schemes() {
    let server = TestServer::start_with(|c| c.transcode.preset = Some("ultrafast".into())).await;
    let lib = library(&server).await;
    let r = server
        .post_json(
            "/api/settings/api-tokens",
            &lib.token,
            json!({"name": "backup script", "access_level": "read_only"}),
        )
        .await;
    assert!(r.status().is_success());
    // A notification target whose deliveries fail (nothing listens there): its log shows.
    let r = server
        .post_json(
            "/api/settings/notifications",
            &lib.token,
            json!({"name": "phone", "kind": "ntfy", "url": "http://127.0.0.1:9/alchemist",
                   "events": ["job_failed", "daily_summary"], "token": "tk_secret",
                   "quiet_hours": {"start": "22:00", "end": "07:00"}}),
        )
        .await;
    assert_eq!(r.status(), 201);
    let id = r.json::<Value>().await.unwrap()["id"].as_u64().unwrap();
    let r = server
        .post_json(
            &format!("/api/settings/notifications/{id}/test"),
            &lib.token,
            json!({}),
        )
        .await;
    assert_eq!(r.status(), 202);
    let (driver, _profile, c) = start(&server).await;
    let base = server.base.clone();
    let mut problems = Vec::new();
    let pages: Vec<(String, &str)> = vec![
        ("/".into(), "dashboard"),
        ("/jobs".into(), "jobs"),
        (format!("/jobs/{}", lib.kept), "job-completed"),
        (format!("/jobs/{}", lib.replaced), "job-replaced"),
        (format!("/jobs/{}", lib.failed), "job-failed"),
        ("/library".into(), "library"),
        ("/trash".into(), "trash"),
        ("/hardware".into(), "hardware"),
        ("/tokens".into(), "tokens"),
        ("/system".into(), "system"),
        ("/notifications".into(), "notifications"),
    ];
    for (path, name) in &pages {
        problems.extend(look_at(&c, &base, Some(path), name).await);
    }
    // A failed attempt says what went wrong in words (the code is its title).
    c.goto(&format!("{base}/jobs/{}", lib.failed))
        .await
        .unwrap();
    let outcome = text_of(&c, "td[data-label='Outcome']").await;
    assert_eq!(outcome, "failed: not readable as media");
    kind_fields_follow_the_kind(&c, &base).await;
    phone_selects_every_job(&c, &base).await;
    // The confirmation page of a post without JavaScript (the form sent as is).
    c.goto(&format!("{base}/jobs")).await.unwrap();
    // Without the script's dialog, as a browser without JavaScript sends it.
    let plain_submit = "const b = document.getElementById('clear-completed'); \
        delete b.dataset.confirm; b.form.requestSubmit(b); return null";
    js(&c, plain_submit).await;
    until(
        &c,
        "the confirmation page",
        15,
        "return document.readyState === 'complete' && !!document.getElementById('confirm-form')",
        |v| v == &json!(true),
    )
    .await;
    problems.extend(look_at(&c, &base, None, "confirm").await);
    // A result message after a post.
    c.goto(&base).await.unwrap();
    submit(&c, "#pause").await;
    assert!(text_of(&c, "#flash").await.contains("Paused"));
    problems.extend(look_at(&c, &base, None, "dashboard-message").await);
    // Signed out: the login page.
    submit(&c, "form[action='/logout'] button").await;
    problems.extend(look_at(&c, &base, Some("/login"), "login").await);
    assert!(problems.is_empty(), "{}", problems.join("\n"));
    c.close().await.unwrap();
    drop(driver);
    server.stop().await;
}

/// The new notification target's form shows the fields of the chosen kind only.
async fn kind_fields_follow_the_kind(c: &Client, base: &str) {
    c.goto(&format!("{base}/notifications")).await.unwrap();
    let shown = "return ['url', 'token', 'chat', 'user', 'host'].filter(f => \
        document.getElementById('new-' + f).offsetParent !== null).join(' ')";
    assert_eq!(js(c, shown).await, json!("url token"), "ntfy");
    for (kind, want) in [
        ("telegram", "url token chat"),
        ("pushover", "url token user"),
        ("discord", "url"),
        ("email", "host"),
    ] {
        let choose = format!(
            "const k = document.getElementById('new-kind'); k.value = '{kind}'; \
             k.dispatchEvent(new Event('change')); return null"
        );
        js(c, &choose).await;
        assert_eq!(js(c, shown).await, json!(want), "{kind}");
    }
    // A hidden field is not sent: the email target turned into a webhook keeps no SMTP host.
    js(
        c,
        "const k = document.getElementById('new-kind'); k.value = 'webhook'; \
         k.dispatchEvent(new Event('change')); return null",
    )
    .await;
    let sent = "return [...new FormData(document.getElementById('new-name').form).keys()]";
    let keys = js(c, sent).await.to_string();
    assert!(
        !keys.contains("smtp_host") && !keys.contains("chat_id"),
        "{keys}"
    );
    assert!(keys.contains("\"url\""), "{keys}");
}

/// On a phone the table's header is hidden; the select-all box above the list selects every
/// job on the page.
async fn phone_selects_every_job(c: &Client, base: &str) {
    super::eyes::viewport(c, 390, 800).await;
    c.goto(&format!("{base}/jobs")).await.unwrap();
    click(c, "#select-all-sm").await;
    let checked = "const ids = [...document.querySelectorAll('input[name=id]')]; \
        return [ids.length, ids.filter(i => i.checked).length]";
    let counts = js(c, checked).await;
    assert!(counts[0].as_u64().unwrap() > 1, "{counts}");
    assert_eq!(counts[0], counts[1], "every job selected");
}

fn names_in(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

#[tokio::test]
async fn restore_from_the_trash_page_and_clear_completed_with_undo() {
    let server = TestServer::start_with(|c| c.transcode.preset = Some("ultrafast".into())).await;
    let lib = library(&server).await;
    let kids = lib.replaced_path.parent().unwrap().to_path_buf();
    // Replaced: the encode has the original's name, the original waits in the trash.
    assert_ne!(sha256(&lib.replaced_path), lib.replaced_sha);
    let (driver, _profile, c) = start(&server).await;
    let base = server.base.clone();

    // The job's page says where the original is and until when.
    c.goto(&format!("{base}/jobs/{}", lib.replaced))
        .await
        .unwrap();
    let line = text_of(&c, "#trash-line").await;
    assert!(
        line.contains("The original is in the trash, restorable until"),
        "{line}"
    );
    assert!(text_of(&c, "#profile").await.starts_with("kids"));

    // Restore from the Trash page: asked first, then done, said in one line.
    c.goto(&format!("{base}/trash")).await.unwrap();
    let item = format!("[data-trash-job=\"{}\"] button", lib.replaced);
    confirm_click(&c, &item).await;
    let flash = text_of(&c, "#flash").await;
    assert!(flash.contains("Restored “Cartoon night.mp4”"), "{flash}");
    assert_eq!(
        sha256(&lib.replaced_path),
        lib.replaced_sha,
        "the original is back"
    );
    assert_eq!(
        names_in(&kids),
        vec!["Cartoon night.mp4"],
        "the encode is gone"
    );
    c.goto(&format!("{base}/jobs/{}", lib.replaced))
        .await
        .unwrap();
    let line = text_of(&c, "#trash-line").await;
    assert!(line.contains("the encoded copy was removed"), "{line}");
    let split = server.get_json("/api/stats/aggregated", &lib.token).await;
    assert!(
        split["realized_savings_bytes"] == 0 && split["potential_savings_bytes"].as_i64() > Some(0),
        "a restore frees nothing; the kept file could: {split:#}"
    );

    // Clear completed asks first, then says how many and offers an undo.
    c.goto(&format!("{base}/jobs")).await.unwrap();
    confirm_click(&c, "#clear-completed").await;
    let flash = text_of(&c, "#flash").await;
    assert!(flash.contains("2 completed jobs archived"), "{flash}");
    let listed = "return document.querySelectorAll('input[name=id]').length";
    assert_eq!(js(&c, listed).await, json!(3));
    submit(&c, "#undo").await;
    assert!(
        text_of(&c, "#flash")
            .await
            .contains("2 jobs back in the list")
    );
    c.goto(&format!("{base}/jobs")).await.unwrap();
    assert_eq!(js(&c, listed).await, json!(5));

    c.close().await.unwrap();
    drop(driver);
    server.stop().await;
}

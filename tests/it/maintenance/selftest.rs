//! The self-test on a real server: ffmpeg, a CPU test encode, the store and write access pass
//! for a real library folder; a library folder that is gone, and one whose path is now a
//! file, fail write access (the tests run as root, for whom permission bits stop nothing, so
//! only a path that cannot hold a new file proves the check). Nothing is left in the library.

use reqwest::StatusCode;
use serde_json::Value;

use crate::support::TestServer;
use crate::support::api::problem;
use crate::support::files::folder;
use crate::support::pages::{get_page, has, post_form, same_origin, select, text};

fn status_of<'a>(report: &'a Value, id: &str) -> &'a str {
    report["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["id"] == id)
        .unwrap_or_else(|| panic!("no check `{id}` in {report:#}"))["status"]
        .as_str()
        .unwrap()
}

fn names(dir: &std::path::Path) -> Vec<String> {
    let mut n: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    n.sort();
    n
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn selftest_reports_pass_and_fails_an_unwritable_folder() {
    let server = TestServer::start().await;
    let token = server.login().await;
    let r = server
        .bearer(reqwest::Method::GET, "/api/system/selftest", &token)
        .send()
        .await
        .unwrap();
    problem(r, 404, "SELFTEST_NONE").await;

    let good = folder(&server, "films");
    std::fs::write(good.join("keep.mkv"), b"an original").unwrap();
    let gone = folder(&server, "gone");
    let filed = folder(&server, "filed");
    for f in [&good, &gone, &filed] {
        server.add_folder(&token, f).await;
    }
    std::fs::remove_dir(&gone).unwrap();
    std::fs::remove_dir(&filed).unwrap();
    std::fs::write(&filed, b"a file where the folder was").unwrap();
    let before = names(&good);

    // Two at once: one runs, the other is refused while it does.
    let post = || {
        server
            .bearer(reqwest::Method::POST, "/api/v1/system/selftest", &token)
            .send()
    };
    let (a, b) = tokio::join!(post(), post());
    let (a, b) = (a.unwrap(), b.unwrap());
    let (ok, busy) = if a.status() == 200 { (a, b) } else { (b, a) };
    assert_eq!(ok.status(), 200);
    problem(busy, 409, "SELFTEST_RUNNING").await;
    let report: Value = ok.json().await.unwrap();

    for id in ["ffmpeg", "ffprobe", "encode.cpu", "store", "clock"] {
        assert_eq!(status_of(&report, id), "pass", "{id}: {report:#}");
    }
    assert_eq!(
        status_of(&report, &format!("write:{}", good.display())),
        "pass"
    );
    assert_eq!(
        status_of(&report, &format!("write:{}", gone.display())),
        "fail"
    );
    assert_eq!(
        status_of(&report, &format!("write:{}", filed.display())),
        "fail"
    );
    assert_eq!(report["status"], "fail", "the worst line decides");
    assert!(report["started"].as_str().unwrap() <= report["finished"].as_str().unwrap());
    assert_eq!(
        names(&good),
        before,
        "the self-test left something in the library"
    );
    assert_eq!(
        std::fs::read(good.join("keep.mkv")).unwrap(),
        b"an original"
    );

    // Kept: GET answers the same report, the system page shows it.
    let last = server.get_json("/api/system/selftest", &token).await;
    assert_eq!(last, report);
    let (status, doc) = get_page(&server, "/system", &token).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        select(&doc, "#selftest-checks li").len(),
        report["checks"].as_array().unwrap().len()
    );
    assert!(text(&doc).contains("cannot be written"));

    // The page's button: a plain form post, back to the system page with the result.
    let (status, location, _) = post_form(
        &server,
        "/system/selftest",
        Some(&token),
        &[],
        &same_origin(&server),
    )
    .await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    assert!(location.starts_with("/system"), "{location}");
    let (_, doc) = get_page(&server, "/system", &token).await;
    assert!(has(&doc, "#selftest-form button"));
    server.stop().await;
}

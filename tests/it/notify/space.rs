//! The low-space warning on a real filesystem: a 64 MiB tmpfs library (5 % of it, 3.2 MiB, is
//! the default threshold there: the 10 GiB floor is larger). Filled to about 2 MiB free, the
//! next check (a job ending: a file that is not a video fails at once) sends one `low_space`
//! message naming the folder and its free bytes; more checks while it stays low send nothing
//! more. Grown to 128 MiB it recovers, and filled below the new threshold it warns again.

use std::io::Write;
use std::path::Path;

use serde_json::json;

use super::fakes::FakeHttp;
use super::{BASE, add_target};
use crate::support::api::post;
use crate::support::jobs::enqueue;
use crate::support::tmpfs::Tmpfs;
use crate::support::{PROMPT, SHORT_JOB, TestServer, wait_until};

const MIB: u64 = 1 << 20;

fn warnings(fake: &FakeHttp) -> Vec<serde_json::Value> {
    let hook = fake.to("/hook");
    let all = hook.iter().map(|r| r.json());
    all.filter(|j| j["event"] == "low_space").collect()
}

/// Write `bytes` into a new file in `dir`.
fn filler(dir: &Path, name: &str, bytes: u64) {
    let mut f = std::fs::File::create(dir.join(name)).unwrap();
    let chunk = vec![0u8; MIB as usize];
    for _ in 0..bytes / MIB {
        f.write_all(&chunk).unwrap();
    }
}

/// One worker's status line from the system's worker list.
async fn detail(server: &TestServer, token: &str, name: &str) -> String {
    let workers = server.get_json("/api/system/workers", token).await;
    let me = workers
        .as_array()
        .unwrap()
        .iter()
        .find(|w| w["name"] == name);
    let me = me.unwrap_or_else(|| panic!("no {name}: {workers}"));
    me["detail"].as_str().unwrap().to_string()
}

/// The space watch's count of checks done.
async fn checks(server: &TestServer, token: &str) -> u64 {
    let d = detail(server, token, "space watch").await;
    d.split(' ').next().unwrap().parse().unwrap()
}

/// Queue a file that is not a video and wait for the check its failure starts.
async fn job_ends(server: &TestServer, token: &str, lib: &Path, n: usize) {
    let before = checks(server, token).await;
    let file = lib.join(format!("broken{n}.mkv"));
    std::fs::write(&file, b"not a video").unwrap();
    enqueue(server, token, &file).await;
    wait_until(SHORT_JOB, "a space check after the job ended", async || {
        checks(server, token).await > before
    })
    .await;
}

/// The number before " bytes" in a warning's text.
fn free_in(message: &str) -> u64 {
    let (head, _) = message
        .split_once(" bytes")
        .unwrap_or_else(|| panic!("{message}"));
    head.rsplit(' ').next().unwrap().parse().unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_filling_library_warns_once_until_it_recovers() {
    let fake = FakeHttp::start(200).await;
    let server = TestServer::start().await;
    let token = server.login().await;
    let dir = server.tmp.path().join("small");
    let disk = Tmpfs::mount(&dir, 64 * MIB);
    let lib = std::fs::canonicalize(&dir).unwrap();
    let url = format!("{}/hook", fake.base);
    let id = add_target(
        &server,
        &token,
        json!({"name": "space", "kind": "webhook", "url": url, "events": ["low_space"]}),
    )
    .await;
    server.add_folder(&token, &lib).await;
    job_ends(&server, &token, &lib, 0).await;
    assert!(warnings(&fake).is_empty(), "62 MiB free is not low");

    filler(&lib, "fill1.bin", 62 * MIB);
    job_ends(&server, &token, &lib, 1).await;
    wait_until(PROMPT, "the low-space warning", async || {
        warnings(&fake).len() == 1
    })
    .await;
    let message = warnings(&fake)[0]["message"].as_str().unwrap().to_string();
    assert!(message.contains(lib.to_str().unwrap()), "{message}");
    let free = free_in(&message);
    assert!(free < 64 * MIB / 20 && free > 0, "{message}");

    // Still low: more checks, no more warnings. A test message sent after them shows the
    // notifier has taken everything handed to it before (one input queue, in order).
    job_ends(&server, &token, &lib, 2).await;
    job_ends(&server, &token, &lib, 3).await;
    let watch = detail(&server, &token, "space watch").await;
    assert!(
        watch.ends_with("1 filesystem low now, 1 warning sent"),
        "{watch}"
    );
    let (status, _) = post(&server, &token, &format!("{BASE}/{id}/test"), json!({})).await;
    assert_eq!(status, 202);
    wait_until(PROMPT, "the test message", async || {
        fake.to("/hook").iter().any(|r| r.json()["event"] == "test")
    })
    .await;
    let notifier = detail(&server, &token, "notifier").await;
    assert!(
        notifier.starts_with("2 messages sent, 0 waiting"),
        "{notifier}"
    );
    assert_eq!(warnings(&fake).len(), 1, "{:?}", fake.to("/hook"));

    // Room again (threshold 6.4 MiB, recovered above 9.6 MiB), then below it once more.
    disk.resize(128 * MIB);
    job_ends(&server, &token, &lib, 4).await;
    let watch = detail(&server, &token, "space watch").await;
    assert!(watch.contains("0 filesystems low now"), "{watch}");
    filler(&lib, "fill2.bin", 62 * MIB);
    job_ends(&server, &token, &lib, 5).await;
    // Grouping may hold it up to 30 s after the test message.
    wait_until(SHORT_JOB, "the second low-space warning", async || {
        warnings(&fake).len() == 2
    })
    .await;
    server.stop().await;
}

//! Ways around the box's boundaries (issue 13, findings 3, 4, 6, 7, 8 and 9), one test each:
//! a source swapped for a link to a file outside the library (and a folder swapped for one
//! during the encode), a Host header of an attacker's
//! domain, the login throttles keyed so the owner cannot be locked out, an enqueue answer that
//! told whether a file outside the library exists, file names that are too long or forge log
//! lines, pages of the job list that moved while the engine worked, origins of the other
//! scheme, and library folders in system locations.

use std::ffi::OsStr;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::time::Duration;

use reqwest::Method;
use serde_json::{Value, json};

use crate::support::api::{add_folder_with_profile, post, problem};
use crate::support::clips::{copy_into, h264_clip, long_h264_clip, mpeg4_clip};
use crate::support::files::{dir_names, folder};
use crate::support::jobs::enqueue;
use crate::support::sse::{SseReader, events_until_status};
use crate::support::{LONG_JOB, PASSWORD, SHORT_JOB, TestServer, wait_until};

async fn pause(server: &TestServer, token: &str) {
    let (status, body) = post(server, token, "/api/engine/pause", json!({})).await;
    assert_eq!(status, 200, "{body}");
}

async fn resume(server: &TestServer, token: &str) {
    let (status, body) = post(server, token, "/api/engine/resume", json!({})).await;
    assert_eq!(status, 200, "{body}");
}

async fn job(server: &TestServer, token: &str, id: u64) -> Value {
    server
        .get_json(&format!("/api/jobs/{id}/details"), token)
        .await
}

/// Wait for job `id` to end; returns its details.
async fn ended(server: &TestServer, token: &str, id: u64) -> Value {
    wait_until(SHORT_JOB, format!("job {id} to end"), async || {
        let d = job(server, token, id).await;
        let status = d["job"]["status"].as_str().unwrap_or("").to_string();
        matches!(
            status.as_str(),
            "completed" | "failed" | "skipped" | "cancelled"
        )
        .then_some(d)
        .ok_or(status)
    })
    .await
}

/// Finding 3: enqueue, pause, swap the file for a link to a file in a 0700 folder elsewhere,
/// resume. The job used to complete and write the outside file's content, world-readable,
/// into the library. Now the run opens the source without following links, sees it is not
/// the file queued, and fails `source_changed`; nothing is written.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_source_swapped_for_a_link_outside_is_never_encoded() {
    let server = TestServer::start().await;
    let token = server.login().await;
    let lib = server.tmp.path().join("lib");
    let private = server.tmp.path().join("private");
    std::fs::create_dir_all(&lib).unwrap();
    std::fs::create_dir_all(&private).unwrap();
    let secret = copy_into(&private, mpeg4_clip(), OsStr::new("secret.mp4"));
    std::fs::set_permissions(&private, std::fs::Permissions::from_mode(0o700)).unwrap();
    let swap = copy_into(&lib, h264_clip(), OsStr::new("swap.mp4"));
    server.add_folder(&token, &lib).await;
    pause(&server, &token).await;
    let id = enqueue(&server, &token, &swap).await;
    std::fs::remove_file(&swap).unwrap();
    std::os::unix::fs::symlink(&secret, &swap).unwrap();
    resume(&server, &token).await;
    let d = ended(&server, &token, id).await;
    assert_eq!(d["job"]["status"], "failed", "{d:#}");
    assert_eq!(d["job"]["failure"]["code"], "source_changed", "{d:#}");
    let names: Vec<String> = std::fs::read_dir(&lib)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(
        names,
        vec!["swap.mp4".to_string()],
        "nothing written into the library"
    );
}

/// Wait until job `id` encodes and ffmpeg has reported progress, then pause the engine (which
/// stops ffmpeg where it is).
async fn paused_mid_encode(server: &TestServer, token: &str, sse: &mut SseReader, id: u64) {
    events_until_status(sse, id, "encoding", SHORT_JOB).await;
    sse.until(LONG_JOB, |e| {
        e.event == "progress" && e.data["job_id"] == id
    })
    .await;
    pause(server, token).await;
}

/// A sibling of finding 3: a folder renamed and replaced by a link to somewhere else while its
/// file encodes (by someone who shares the library), beside the source and under an output
/// root; whole, and in segments (whose later segments and join start after the swap). The
/// folder's new path leads to a hard link of the source, so the source's own check passes
/// and only the folder check stops the output. The run writes its temp file and segments
/// through the folder it opened, so nothing is written, renamed or removed through the link;
/// the job fails `output_location_invalid`; its temp file and segments are removed from where
/// the folder really is now; the original is untouched. Before, the clean-up went through the
/// link and left the partial output behind, and the output was renamed through the link.
async fn a_folder_swapped_for_a_link(segmented: bool) {
    let server = TestServer::start_with(|c| {
        if segmented {
            c.transcode.segment_seconds = 5;
            c.transcode.segment_min_seconds = 10;
        }
    })
    .await;
    let token = server.login().await;
    let elsewhere = folder(&server, "elsewhere");
    let out = server.tmp.path().join("encoded");
    let profile = json!({"name": "apart", "base": "default", "bpp_factor": 0,
                         "min_saving_percent": 0, "output_root": out.to_str().unwrap(),
                         "output_suffix": ""});
    let (status, body) = post(&server, &token, "/api/profiles", profile).await;
    assert_eq!(status, 201, "{body}");
    let beside = folder(&server, "beside");
    let apart = folder(&server, "apart");
    server.add_folder(&token, &beside).await;
    let r = add_folder_with_profile(&server, &token, &apart, json!("apart")).await;
    assert_eq!(r.status().as_u16(), 201);
    let mut sse = server.events(&token, None).await;
    // (library folder, the folder swapped)
    for (library, swapped) in [(&beside, beside.join("Drama")), (&apart, out.join("Drama"))] {
        std::fs::create_dir_all(library.join("Drama")).unwrap();
        let input = copy_into(
            &library.join("Drama"),
            long_h264_clip(),
            OsStr::new("film.mp4"),
        );
        let before = std::fs::read(&input).unwrap();
        let id = enqueue(&server, &token, &input).await;
        paused_mid_encode(&server, &token, &mut sse, id).await;
        let moved = swapped.with_file_name("Drama.moved");
        std::fs::rename(&swapped, &moved).unwrap();
        std::os::unix::fs::symlink(&elsewhere, &swapped).unwrap();
        if library == &beside {
            std::fs::hard_link(moved.join("film.mp4"), elsewhere.join("film.mp4")).unwrap();
        }
        resume(&server, &token).await;
        let d = ended(&server, &token, id).await;
        assert_eq!(d["job"]["status"], "failed", "{d:#}");
        assert_eq!(
            d["job"]["failure"]["code"], "output_location_invalid",
            "{swapped:?}: {d:#}"
        );
        let log = d["logs"].to_string();
        assert_eq!(segmented, log.contains("segment 2 of"), "{log}");
        let others = |dir: &Path| -> Vec<String> {
            dir_names(dir)
                .into_iter()
                .filter(|n| n != "film.mp4")
                .collect()
        };
        assert_eq!(
            others(&elsewhere),
            Vec::<String>::new(),
            "nothing written through the link"
        );
        assert_eq!(
            others(&moved),
            Vec::<String>::new(),
            "no partial output left"
        );
        // Put the folder back for the original's check.
        std::fs::remove_file(&swapped).unwrap();
        let _ = std::fs::remove_file(elsewhere.join("film.mp4"));
        std::fs::rename(&moved, &swapped).unwrap();
        assert_eq!(
            std::fs::read(&input).unwrap(),
            before,
            "the original is untouched"
        );
    }
    drop(sse);
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_folder_swapped_for_a_link_during_the_encode_takes_no_write_elsewhere() {
    a_folder_swapped_for_a_link(false).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_folder_swapped_for_a_link_during_a_segmented_encode_takes_no_write_elsewhere() {
    a_folder_swapped_for_a_link(true).await;
}

/// The segment folder of a long encode is made by the server and written only by it: one of
/// its name that another user made first (to plant a link where ffmpeg will write a segment,
/// as root) is refused, and the job fails as its output folder's fault (an encoder's fault
/// would count against the hardware); the file the link leads to is untouched.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_segment_folder_another_user_made_is_refused() {
    let server = TestServer::start_with(|c| {
        c.transcode.segment_seconds = 5;
        c.transcode.segment_min_seconds = 10;
    })
    .await;
    let token = server.login().await;
    let lib = folder(&server, "lib");
    let elsewhere = folder(&server, "elsewhere");
    let victim = elsewhere.join("victim");
    std::fs::write(&victim, b"keep me").unwrap();
    server.add_folder(&token, &lib).await;
    pause(&server, &token).await;
    let input = copy_into(&lib, long_h264_clip(), OsStr::new("film.mp4"));
    let id = enqueue(&server, &token, &input).await;
    let planted = lib.join(format!(".film.alchemist.mp4.alchemist-seg-{id}"));
    std::fs::create_dir(&planted).unwrap();
    std::os::unix::fs::symlink(&victim, planted.join("00000.part")).unwrap();
    std::os::unix::fs::lchown(planted.join("00000.part"), Some(65534), Some(65534)).unwrap();
    std::os::unix::fs::chown(&planted, Some(65534), Some(65534)).unwrap();
    resume(&server, &token).await;
    let d = ended(&server, &token, id).await;
    assert_eq!(d["job"]["status"], "failed", "{d:#}");
    assert_eq!(
        d["job"]["failure"]["code"], "output_location_invalid",
        "{d:#}"
    );
    assert_eq!(std::fs::read(&victim).unwrap(), b"keep me");
    server.stop().await;
}

/// Finding 4: with the Host of an attacker's domain (DNS rebinding), every route but the
/// probes answers 421, first-run setup included; the box's address and `localhost` work.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_foreign_host_name_gets_421_everywhere_but_the_probes() {
    let server = TestServer::start().await;
    let token = server.login().await;
    let evil = "rebind.attacker.example";
    for (method, path) in [
        (Method::GET, "/api/jobs"),
        (Method::GET, "/api/v1/engine/status"),
        (Method::POST, "/api/library/folders"),
        (Method::GET, "/"),
        (Method::GET, "/setup"),
        (Method::POST, "/setup"),
        (Method::POST, "/api/auth/login"),
    ] {
        let r = server
            .bearer(method.clone(), path, &token)
            .header("host", evil)
            .send()
            .await
            .unwrap();
        problem(r, 421, "HOST_NOT_ALLOWED").await;
    }
    for path in ["/api/health", "/api/ready", "/api/v1/health"] {
        let r = server
            .http
            .get(server.url(path))
            .header("host", evil)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200, "{path}");
    }
    let port = server.base.rsplit(':').next().unwrap().to_string();
    for host in [format!("localhost:{port}"), format!("127.0.0.1:{port}")] {
        let r = server
            .bearer(Method::GET, "/api/jobs", &token)
            .header("host", &host)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200, "{host}");
    }
}

async fn login_from(
    server: &TestServer,
    from: [u8; 4],
    user: &str,
    password: &str,
    device: Option<&str>,
) -> reqwest::Response {
    let client = reqwest::Client::builder()
        .local_address(std::net::IpAddr::from(from))
        .build()
        .unwrap();
    let mut req = client
        .post(server.url("/api/auth/login"))
        .json(&json!({"username": user, "password": password}));
    if let Some(d) = device {
        req = req.header("cookie", format!("alchemist_device={d}"));
    }
    req.send().await.unwrap()
}

fn device_cookie(r: &reqwest::Response) -> Option<String> {
    r.headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find_map(|v| v.strip_prefix("alchemist_device="))
        .and_then(|v| v.split(';').next())
        .map(str::to_string)
}

/// Finding 6: ten failures from the owner's own address used to lock the owner out for 15
/// minutes, and the limit was per address only. Now wrong passwords for a name back off that
/// name from every address, while the owner's browser, a known device, always gets in.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn throttles_cannot_lock_the_owner_out() {
    let server = TestServer::start().await;
    let owner = [127, 0, 0, 1];
    let first = login_from(&server, owner, "admin", PASSWORD, None).await;
    assert_eq!(first.status(), 200);
    let device = device_cookie(&first).expect("a device cookie on the first login");
    // Someone guesses the owner's password, from the owner's own address and from others.
    for i in 0..10u8 {
        let from = if i % 2 == 0 { owner } else { [127, 0, 2, i] };
        let r = login_from(&server, from, "admin", "guess", None).await;
        assert!(matches!(r.status().as_u16(), 401 | 429), "{}", r.status());
    }
    // A new browser must wait, whatever its address: the name backs off.
    for from in [owner, [127, 0, 3, 3]] {
        let r = login_from(&server, from, "admin", PASSWORD, None).await;
        problem(r, 429, "AUTH_RATE_LIMITED").await;
    }
    // The owner's own browser gets in at once, from the locked address too, and keeps its
    // device cookie.
    let r = login_from(&server, owner, "admin", PASSWORD, Some(&device)).await;
    assert_eq!(r.status(), 200);
    assert_eq!(device_cookie(&r), None, "a known device keeps its cookie");
    // A stolen device cookie does not buy unlimited guesses: five wrong passwords forget it.
    for _ in 0..5 {
        let r = login_from(&server, [127, 0, 4, 4], "admin", "guess", Some(&device)).await;
        assert_eq!(r.status(), 401);
    }
    // The cookie is no longer a known device: the next good login gets a new one.
    let r = login_from(&server, owner, "admin", PASSWORD, Some(&device)).await;
    assert_eq!(r.status(), 200);
    let renewed = device_cookie(&r).expect("the forgotten device is replaced");
    assert_ne!(renewed, device);
}

/// Finding 7: an enqueue through a linked folder answered 403 when the file outside existed
/// and 400 when it did not. Now where the path leads decides: the same 403 for both.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn enqueue_answers_the_same_for_outside_files_that_exist_and_that_do_not() {
    let server = TestServer::start().await;
    let token = server.login().await;
    let lib = server.tmp.path().join("lib");
    let outside = server.tmp.path().join("outside");
    std::fs::create_dir_all(&lib).unwrap();
    std::fs::create_dir_all(&outside).unwrap();
    std::fs::write(outside.join("secret.mkv"), b"x").unwrap();
    std::os::unix::fs::symlink(&outside, lib.join("linkdir")).unwrap();
    std::os::unix::fs::symlink(outside.join("gone.mkv"), lib.join("dangling.mkv")).unwrap();
    server.add_folder(&token, &lib).await;
    let mut answers = Vec::new();
    for p in ["linkdir/secret.mkv", "linkdir/missing.mkv", "dangling.mkv"] {
        let r = server
            .post_json(
                "/api/jobs/enqueue",
                &token,
                json!({"path": lib.join(p).to_str().unwrap()}),
            )
            .await;
        let body = problem(r, 403, "ENQUEUE_PATH_FORBIDDEN").await;
        answers.push(body["detail"].clone());
    }
    assert!(answers.windows(2).all(|w| w[0] == w[1]), "{answers:?}");
}

/// Finding 8 and 9: a 250-byte file name used to fail as `encoder_failed` (the temp name was
/// too long); a newline in a name forged lines in the job log.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn long_names_encode_and_names_cannot_forge_log_lines() {
    let server = TestServer::start().await;
    let token = server.login().await;
    let lib = server.tmp.path().join("lib");
    std::fs::create_dir_all(&lib).unwrap();
    let long = format!("{}.mp4", "a".repeat(246));
    assert_eq!(long.len(), 250);
    let long = copy_into(&lib, h264_clip(), OsStr::new(&long));
    let forged = copy_into(
        &lib,
        h264_clip(),
        OsStr::from_bytes(b"clip\n2026-12-05 INFO admin logged out.mp4"),
    );
    server.add_folder(&token, &lib).await;
    let long_id = enqueue(&server, &token, &long).await;
    let forged_id = enqueue(&server, &token, &forged).await;
    let d = ended(&server, &token, long_id).await;
    assert_eq!(d["job"]["status"], "completed", "{d:#}");
    let output = d["job"]["output_path"].as_str().unwrap();
    let name = std::path::Path::new(output).file_name().unwrap();
    assert!(
        name.len() <= 255 && std::path::Path::new(output).exists(),
        "{output}"
    );
    let d = ended(&server, &token, forged_id).await;
    let lines: Vec<&str> = d["logs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["message"].as_str().unwrap())
        .collect();
    assert!(
        lines
            .iter()
            .any(|l| l.contains("clip\\n2026-12-05 INFO admin logged out")),
        "{lines:#?}"
    );
    assert!(
        lines.iter().all(|l| !l.contains("clip\n")),
        "no raw newline from the name: {lines:#?}"
    );
}

/// Finding 9: paging by the default order while jobs changed showed some twice and skipped
/// others. A walk with the `X-Next-Cursor` of each page shows none twice.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cursor_walk_never_shows_a_job_twice_while_jobs_change() {
    let library = crate::support::library::paused_library(40).await;
    let (server, token) = (&library.server, library.token.as_str());
    let mut seen: Vec<u64> = Vec::new();
    let mut after = String::new();
    for page in 0..20 {
        let mut path = "/api/jobs?limit=6&sort_by=updated_at&sort_desc=true".to_string();
        if !after.is_empty() {
            path.push_str(&format!("&after={after}"));
        }
        let r = server
            .bearer(Method::GET, &path, token)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200);
        let next = r
            .headers()
            .get("x-next-cursor")
            .map(|v| v.to_str().unwrap().to_string());
        let list: Vec<Value> = r.json().await.unwrap();
        seen.extend(list.iter().map(|j| j["id"].as_u64().unwrap()));
        // Meanwhile jobs change: the oldest unseen ones get a new priority (and move up).
        for id in (1..=40u64).filter(|i| !seen.contains(i)).take(2) {
            set_priority(server, token, id, page as i64).await;
        }
        match next {
            Some(n) => after = n,
            None => break,
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let mut unique = seen.clone();
    unique.sort_unstable();
    unique.dedup();
    assert_eq!(unique.len(), seen.len(), "a job shown twice: {seen:?}");
}

/// Finding 9, on the jobs page: its "Next page" link continues after the page's last job (the
/// list's cursor), so a job that moves to the top while the owner pages (here: a new
/// priority, which changes its `updated_at`) is not shown a second time.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_jobs_page_walks_on_by_its_next_link_without_showing_a_job_twice() {
    // 130 jobs: three pages, the last one partly full; 100 jobs: two full pages, and the
    // second has no Next link (it would lead to an empty page).
    for (jobs, pages, moved) in [(130u64, 3, true), (100, 2, false)] {
        let (seen, walked) = walk_jobs_page(jobs, moved).await;
        assert_eq!(walked, pages, "{jobs} jobs: pages walked");
        let mut unique = seen.clone();
        unique.sort_unstable();
        unique.dedup();
        assert_eq!(unique.len(), seen.len(), "a job shown twice: {seen:?}");
        // Three jobs per page moved above the cursor (not shown again); every other job
        // is shown once.
        let skipped = if moved { 3 * (pages as u64 - 1) } else { 0 };
        assert_eq!(seen.len() as u64, jobs - skipped, "{jobs} jobs: {seen:?}");
    }
}

/// Give job `id` a new priority (which moves it to the top of the `updated_at` order).
async fn set_priority(server: &TestServer, token: &str, id: u64, priority: i64) {
    let path = format!("/api/jobs/{id}/priority");
    let (status, body) = post(server, token, &path, json!({"priority": priority})).await;
    assert_eq!(status, 200, "{body}");
}

/// Walk `/jobs` newest first by its Next links; with `moved`, three jobs not seen yet get a
/// new priority (moving to the top) before each next page. Returns the job ids in the order
/// shown and the number of pages.
async fn walk_jobs_page(jobs: u64, moved: bool) -> (Vec<u64>, usize) {
    use crate::support::pages::get_page;
    let library = crate::support::library::paused_library(jobs as usize).await;
    let (server, token) = (&library.server, library.token.as_str());
    let ids = scraper::Selector::parse(r#"input[name="id"]"#).unwrap();
    let next = scraper::Selector::parse(r#"a[rel="next"]"#).unwrap();
    let (mut seen, mut lifted): (Vec<u64>, Vec<u64>) = (Vec::new(), Vec::new());
    let mut path = "/jobs?sort_by=updated_at&sort_desc=true".to_string();
    for page in 1..=10 {
        let (status, doc) = get_page(server, &path, token).await;
        assert_eq!(status, 200, "{path}");
        seen.extend(
            doc.select(&ids)
                .map(|e| e.value().attr("value").unwrap().parse::<u64>().unwrap()),
        );
        let Some(link) = doc.select(&next).next() else {
            return (seen, page);
        };
        path = link.value().attr("href").unwrap().to_string();
        for want in ["after=", "sort_by=updated_at", "sort_desc=true"] {
            assert!(path.contains(want), "the Next link {path} lacks {want}");
        }
        if moved {
            let fresh: Vec<u64> = (1..=jobs)
                .filter(|i| !seen.contains(i) && !lifted.contains(i))
                .take(3)
                .collect();
            lifted.extend(&fresh);
            for id in fresh {
                set_priority(server, token, id, page as i64).await;
            }
        }
    }
    panic!("more than 10 pages: {seen:?}");
}

/// Finding 9: the same-origin check ignored the scheme, and a full-access caller could make
/// `/`, `/root` or `/proc` a library folder (with a replace profile, files could be moved
/// anywhere root reaches).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn other_schemes_and_system_folders_are_refused() {
    let server = TestServer::start().await;
    let cookie = server.login().await;
    let origin = server.base.replace("http://", "https://");
    let r = server
        .cookie(Method::POST, "/api/engine/pause", &cookie)
        .header("origin", origin)
        .send()
        .await
        .unwrap();
    problem(r, 403, "CROSS_ORIGIN_FORBIDDEN").await;
    for path in ["/", "/proc", "/etc", "/root", "/usr/share"] {
        let r = server
            .post_json("/api/library/folders", &cookie, json!({"path": path}))
            .await;
        problem(r, 400, "FOLDER_OUTSIDE_ROOTS").await;
    }
    let data = server
        .data_dir
        .parent()
        .unwrap()
        .to_str()
        .unwrap()
        .to_string();
    let r = server
        .post_json("/api/library/folders", &cookie, json!({"path": data}))
        .await;
    problem(r, 400, "FOLDER_OUTSIDE_ROOTS").await;
}

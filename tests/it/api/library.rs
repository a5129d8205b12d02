//! Library folders and scans through the API: folders added (recursive or not), refused,
//! listed and removed (their jobs stay), the scan status, and scans that find and queue only
//! video files and skip unchanged ones on a rescan.

use std::path::{Path, PathBuf};

use reqwest::Method;
use serde_json::{Value, json};

use crate::support::api::{ids, job_list, post_ok, problem};
use crate::support::library::Library;
use crate::support::shapes::{T, check};
use crate::support::{PROMPT, TestServer, wait_until};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn library_folders_and_scans() {
    let server = TestServer::start().await;
    let token = server.login().await;
    post_ok(&server, "/api/engine/pause", &token, json!({})).await;
    let root = server.tmp.path();
    let movies = root.join("movies");
    let shows = root.join("shows");
    std::fs::create_dir_all(movies.join("nested")).unwrap();
    std::fs::create_dir_all(&shows).unwrap();
    std::fs::write(movies.join("a.mkv"), b"a").unwrap();
    std::fs::write(movies.join("nested/b.mp4"), b"bb").unwrap();
    std::fs::write(shows.join("c.mkv"), b"ccc").unwrap();
    std::fs::write(shows.join("readme.txt"), b"x").unwrap();

    assert_eq!(
        server.get_json("/api/library/folders", &token).await,
        json!([])
    );
    let add = |path: &Path, recursive: Option<bool>| {
        let mut body = json!({"path": path.to_str().unwrap()});
        if let Some(r) = recursive {
            body["recursive"] = json!(r);
        }
        server.post_json("/api/library/folders", &token, body)
    };
    let r = add(&movies, None).await;
    assert_eq!(r.status(), 201);
    let m: Value = r.json().await.unwrap();
    check(
        &m,
        "folder",
        &[("id", T::Uint), ("path", T::Str), ("recursive", T::Bool)],
    );
    assert_eq!(m["recursive"], true, "recursive by default");
    assert_eq!(
        m["path"],
        std::fs::canonicalize(&movies).unwrap().to_str().unwrap()
    );
    let r = add(&shows, Some(false)).await;
    assert_eq!(r.status(), 201);
    let s: Value = r.json().await.unwrap();
    assert_eq!(s["recursive"], false);
    let listed = server.get_json("/api/library/folders", &token).await;
    assert_eq!(listed.as_array().unwrap().len(), 2);
    for f in listed.as_array().unwrap() {
        check(
            f,
            "folder",
            &[("id", T::Uint), ("path", T::Str), ("recursive", T::Bool)],
        );
    }

    // Refusals.
    problem(add(&movies, None).await, 409, "FOLDER_EXISTS").await;
    let same = PathBuf::from(format!("{}/", movies.display()));
    problem(add(&same, None).await, 409, "FOLDER_EXISTS").await;
    problem(add(&root.join("nope"), None).await, 400, "FOLDER_INVALID").await;
    problem(
        add(&movies.join("a.mkv"), None).await,
        400,
        "FOLDER_INVALID",
    )
    .await;
    problem(
        add(Path::new("relative/dir"), None).await,
        400,
        "FOLDER_INVALID",
    )
    .await;
    let r = server
        .bearer(Method::DELETE, "/api/library/folders/999", &token)
        .send()
        .await
        .unwrap();
    problem(r, 404, "FOLDER_NOT_FOUND").await;

    // Scan status, then a scan: both folders, `shows` not recursed into, no .txt.
    let st = server.get_json("/api/library/scan", &token).await;
    check(
        &st,
        "scan status",
        &[
            ("running", T::Bool),
            ("files_seen", T::Uint),
            ("files_queued", T::Uint),
        ],
    );
    let library = Library {
        server,
        token,
        dir: movies.clone(),
    };
    assert_eq!(library.scan().await, (3, 3, 0));
    let (server, token) = (&library.server, &library.token);
    let st = wait_until(PROMPT, "the scan status to say it ended", async || {
        let st = server.get_json("/api/library/scan", token).await;
        if st["running"] == false {
            Ok(st)
        } else {
            Err(st)
        }
    })
    .await;
    assert_eq!(st["files_seen"], 3);
    assert_eq!(st["files_queued"], 3);
    // Unchanged files are skipped by a rescan.
    assert_eq!(library.scan().await, (3, 0, 3));

    // Removing a folder leaves its jobs.
    let id = s["id"].as_u64().unwrap();
    let r = server
        .bearer(Method::DELETE, &format!("/api/library/folders/{id}"), token)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(r.json::<Value>().await.unwrap(), json!({"ok": true}));
    let listed = server.get_json("/api/library/folders", token).await;
    assert_eq!(
        ids(listed.as_array().unwrap()),
        vec![m["id"].as_u64().unwrap()]
    );
    assert_eq!(job_list(server, token, "").await.1, 3);
    library.server.stop().await;
}

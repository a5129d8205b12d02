//! Nested library folders on a real server with real encodes: `/media` with the default
//! profile (originals kept) and `/media/kids` inside it with a profile of its own that replaces
//! originals. A file in `kids` is encoded with the most specific folder's profile, whichever
//! folder's scan found it, and job details name the profile used. The statistics split the
//! savings: the kept file's saving is potential, the replaced one's realized, and a restore
//! that removes the encode makes it neither. An exact duplicate folder is refused.

use std::ffi::OsStr;

use serde_json::json;

use crate::support::SHORT_JOB;
use crate::support::TestServer;
use crate::support::api::post;
use crate::support::clips::{copy_into, h264_clip};
use crate::support::jobs::enqueue;

#[tokio::test]
async fn the_most_specific_folder_chooses_the_profile_and_savings_split_by_the_original() {
    let server = TestServer::start_with(|c| c.transcode.preset = Some("ultrafast".into())).await;
    let token = server.login().await;
    let media = server.tmp.path().join("media");
    let kids = media.join("kids");
    std::fs::create_dir_all(&kids).unwrap();
    let film = copy_into(&media, h264_clip(), OsStr::new("film.mp4"));
    let cartoon = copy_into(&kids, h264_clip(), OsStr::new("cartoon.mp4"));
    let (status, body) = post(
        &server,
        &token,
        "/api/profiles",
        json!({"name": "kids", "base": "balanced", "original": "replace", "min_file_size": 0}),
    )
    .await;
    assert_eq!(status, 201, "{body}");
    // The outer folder first: it is the first that holds the cartoon, so the job is filed
    // under it; the inner folder's profile must still win.
    server.add_folder(&token, &media).await;
    let (status, body) = post(
        &server,
        &token,
        "/api/library/folders",
        json!({"path": kids.to_str().unwrap(), "profile": "kids"}),
    )
    .await;
    assert_eq!(status, 201, "{body}");
    let (status, body) = post(
        &server,
        &token,
        "/api/library/folders",
        json!({"path": media.to_str().unwrap()}),
    )
    .await;
    assert_eq!(status, 409, "an exact duplicate is refused: {body}");

    let film_id = enqueue(&server, &token, &film).await;
    let cartoon_id = enqueue(&server, &token, &cartoon).await;
    for id in [film_id, cartoon_id] {
        server
            .wait_job(&token, id, SHORT_JOB, |j| j["status"] == "completed")
            .await;
    }
    let details = |id: u64| {
        let (server, token) = (&server, token.clone());
        async move {
            server
                .get_json(&format!("/api/jobs/{id}/details"), &token)
                .await
        }
    };
    let cartoon_job = details(cartoon_id).await;
    assert_eq!(cartoon_job["profile"], "kids", "{cartoon_job:#}");
    assert_eq!(details(film_id).await["profile"], "default");
    // The kids profile replaced the original; the default kept the film's beside its encode.
    assert!(media.join("film.alchemist.mp4").exists());
    assert!(kids.join(".alchemist-trash").exists());

    let saved = |d: &serde_json::Value| {
        let s = &d["encode_stats"];
        s["input_size_bytes"].as_i64().unwrap() - s["output_size_bytes"].as_i64().unwrap()
    };
    let (film_saved, cartoon_saved) = (saved(&details(film_id).await), saved(&cartoon_job));
    for path in ["/api/stats/aggregated", "/api/stats/savings"] {
        let stats = server.get_json(path, &token).await;
        assert_eq!(
            stats["potential_savings_bytes"], film_saved,
            "{path}: {stats:#}"
        );
        assert_eq!(
            stats["realized_savings_bytes"], cartoon_saved,
            "{path}: {stats:#}"
        );
        let cartoon_size = std::fs::metadata(h264_clip()).unwrap().len();
        assert_eq!(stats["in_trash_bytes"], cartoon_size, "{path}: {stats:#}");
    }
    let agg = server.get_json("/api/stats/aggregated", &token).await;
    assert_eq!(agg["total_savings_bytes"], film_saved + cartoon_saved);

    // Encoding the film again counts it once.
    let (status, _) = post(
        &server,
        &token,
        &format!("/api/jobs/{film_id}/restart"),
        json!({}),
    )
    .await;
    assert_eq!(status, 200);
    server
        .wait_job(&token, film_id, SHORT_JOB, |j| {
            j["status"] == "completed" && j["attempt_count"] == 2
        })
        .await;
    let again = server.get_json("/api/stats/aggregated", &token).await;
    let film_saved = saved(&details(film_id).await);
    assert_eq!(again["potential_savings_bytes"], film_saved, "{again:#}");
    assert_eq!(
        again["total_savings_bytes"],
        film_saved + cartoon_saved,
        "{again:#}"
    );

    // Undoing the cartoon's encode frees nothing any more.
    let (status, body) = post(
        &server,
        &token,
        &format!("/api/trash/{cartoon_id}/restore?remove_output=true"),
        json!({}),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["output_removed"], true);
    let after = server.get_json("/api/stats/aggregated", &token).await;
    assert_eq!(after["realized_savings_bytes"], 0, "{after:#}");
    assert_eq!(after["in_trash_bytes"], 0, "{after:#}");
    assert_eq!(after["potential_savings_bytes"], film_saved, "{after:#}");
    assert_eq!(
        crate::support::files::dir_names(&kids),
        vec!["cartoon.mp4"],
        "the original is back and the encode gone"
    );
    server.stop().await;
}

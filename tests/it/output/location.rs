//! Output location per profile, with real encodes and real folders: a suffix of its own
//! beside the original (and a rescan that does not take the output for a source), an
//! `output_root` mirroring the library folder's sub-folders (the original untouched, no temp
//! file left), `delete` with a root (the original leaves only once the output is in place), and
//! the validation of the new fields (problem+json naming the field).

use std::ffi::OsStr;
use std::path::Path;

use alchemist::model::CpuEncoder;
use reqwest::Method;
use serde_json::{Value, json};

use super::video_stream;
use crate::support::api::{add_folder_with_profile, ok, problem, send};
use crate::support::clips::{copy_into, h264_clip};
use crate::support::files::{dir_names, folder, sha256};
use crate::support::jobs::{enqueue, start_scan};
use crate::support::{PROMPT, TestServer};

async fn done(server: &TestServer, token: &str, id: u64) -> Value {
    let d = server.wait_job_end(token, id).await;
    assert_eq!(d["job"]["status"], "completed", "{d:#}");
    d
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn outputs_go_where_the_profile_says_and_are_never_taken_for_sources() {
    let server = TestServer::start_with(|c| {
        c.transcode.encoder = CpuEncoder::Libx265;
        c.transcode.preset = Some("ultrafast".into());
    })
    .await;
    let token = server.login().await;
    let post = |body: Value| send(&server, &token, Method::POST, "/api/profiles", body);
    let films = folder(&server, "films");
    let tagged = folder(&server, "tagged");
    let out = server.tmp.path().join("encoded");
    ok(
        add_folder_with_profile(&server, &token, &films, json!(null)).await,
        201,
    )
    .await;

    // Validation: each refusal names its field.
    let films_link = server.tmp.path().join("films-link");
    std::os::unix::fs::symlink(&films, &films_link).unwrap();
    // A link in a share that leads to a system location.
    let etc_link = server.tmp.path().join("etc-link");
    std::os::unix::fs::symlink("/etc", &etc_link).unwrap();
    let base = json!({"base": "default", "bpp_factor": 0, "min_saving_percent": 0});
    let with = |extra: Value| {
        let mut body = base.clone();
        body.as_object_mut()
            .unwrap()
            .extend(extra.as_object().unwrap().clone());
        body
    };
    for (body, field) in [
        (
            json!({"name": "a", "output_root": s(&films.join("out"))}),
            "output_root",
        ),
        (
            json!({"name": "b", "output_root": s(server.tmp.path())}),
            "output_root",
        ),
        // Inside the library through a link.
        (
            json!({"name": "b2", "output_root": s(&films_link.join("out"))}),
            "output_root",
        ),
        (
            json!({"name": "c", "output_root": "relative/out"}),
            "output_root",
        ),
        (
            json!({"name": "d", "output_suffix": "Big Files"}),
            "output_suffix",
        ),
        (json!({"name": "e", "output_suffix": ""}), "output_suffix"),
        (
            json!({"name": "f", "output_root": s(&out), "original": "replace"}),
            "original",
        ),
        // Where a library folder may not be, outputs may not go either.
        (
            json!({"name": "g", "output_root": "/etc/alchemist"}),
            "output_root",
        ),
        // ... nor through a link, to a folder not made yet.
        (
            json!({"name": "g2", "output_root": s(&etc_link.join("alchemist"))}),
            "output_root",
        ),
    ] {
        let p = problem(post(with(body.clone())).await, 400, "PROFILE_INVALID").await;
        assert_eq!(p["field"], field, "{body}: {p:#}");
    }

    // 1. A suffix of its own beside the original.
    ok(
        post(with(json!({"name": "small", "output_suffix": "small"}))).await,
        201,
    )
    .await;
    ok(
        add_folder_with_profile(&server, &token, &tagged, json!("small")).await,
        201,
    )
    .await;
    let input = copy_into(&tagged, h264_clip(), OsStr::new("clip.mp4"));
    let d = done(&server, &token, enqueue(&server, &token, &input).await).await;
    let output = tagged.join("clip.small.mp4");
    assert_eq!(d["job"]["output_path"], s(&output), "{d:#}");
    assert_eq!(video_stream(&output)["codec_name"], "hevc");
    assert_eq!(dir_names(&tagged), ["clip.mp4", "clip.small.mp4"]);

    // 2. An output root mirroring the library folder's layout; the suffix may be empty there.
    let created = ok(
        post(with(
            json!({"name": "mirror", "output_root": s(&out), "output_suffix": ""}),
        ))
        .await,
        201,
    )
    .await;
    assert_eq!(created["output_root"], s(&out), "{created:#}");
    let mirrored = folder(&server, "mirrored");
    ok(
        add_folder_with_profile(&server, &token, &mirrored, json!("mirror")).await,
        201,
    )
    .await;
    std::fs::create_dir_all(mirrored.join("Drama/2020")).unwrap();
    let input = copy_into(
        &mirrored.join("Drama/2020"),
        h264_clip(),
        OsStr::new("film.mp4"),
    );
    let before = sha256(&input);
    let d = done(&server, &token, enqueue(&server, &token, &input).await).await;
    let output = out.join("Drama/2020/film.mp4");
    assert_eq!(d["job"]["output_path"], s(&output), "{d:#}");
    assert_eq!(video_stream(&output)["codec_name"], "hevc");
    assert_eq!(sha256(&input), before, "the original is untouched");
    assert_eq!(
        dir_names(&out.join("Drama/2020")),
        ["film.mp4"],
        "no temp file left"
    );
    assert_eq!(dir_names(&mirrored.join("Drama/2020")), ["film.mp4"]);

    // A folder below the root turned into a link elsewhere (by someone who shares it): the
    // output, written as root, does not follow it.
    let elsewhere = server.tmp.path().join("elsewhere");
    std::fs::create_dir(&elsewhere).unwrap();
    std::os::unix::fs::symlink(&elsewhere, out.join("Comedy")).unwrap();
    std::fs::create_dir_all(mirrored.join("Comedy")).unwrap();
    let input = copy_into(
        &mirrored.join("Comedy"),
        h264_clip(),
        OsStr::new("joke.mp4"),
    );
    let id = enqueue(&server, &token, &input).await;
    let d = server.wait_job_end(&token, id).await;
    assert_eq!(d["job"]["status"], "failed", "{d:#}");
    assert_eq!(
        d["job"]["failure"]["code"], "output_location_invalid",
        "{d:#}"
    );
    assert!(
        d["job"]["failure"]["detail"]
            .to_string()
            .contains("leads out of the output root"),
        "{d:#}"
    );
    assert_eq!(
        dir_names(&elsewhere),
        Vec::<String>::new(),
        "nothing written there"
    );
    assert!(input.exists(), "the original is untouched");

    // A library folder over the root is refused.
    let r = send(
        &server,
        &token,
        Method::POST,
        "/api/library/folders",
        json!({"path": s(&out)}),
    )
    .await;
    assert_eq!(
        r.status().as_u16(),
        400,
        "a library folder over an output root"
    );

    // 3. `delete` with a root: the original goes once the output is in place.
    ok(
        post(with(
            json!({"name": "move-out", "output_root": s(&out.join("moved")),
                         "original": "delete"}),
        ))
        .await,
        201,
    )
    .await;
    let moving = folder(&server, "moving");
    ok(
        add_folder_with_profile(&server, &token, &moving, json!("move-out")).await,
        201,
    )
    .await;
    let input = copy_into(&moving, h264_clip(), OsStr::new("gone.mp4"));
    let d = done(&server, &token, enqueue(&server, &token, &input).await).await;
    let output = out.join("moved/gone.alchemist.mp4");
    assert_eq!(d["job"]["output_path"], s(&output), "{d:#}");
    assert_eq!(video_stream(&output)["codec_name"], "hevc");
    assert!(!input.exists(), "the original was deleted");
    assert_eq!(
        dir_names(&moving),
        Vec::<String>::new(),
        "trash emptied: {d:#}"
    );

    // A rescan takes none of the outputs for a source: `clip.small.mp4` is ours.
    let mut sse = server.events(&token, None).await;
    start_scan(&server, &token).await;
    let (scan, _) = sse.until(PROMPT, |e| e.event == "scan_completed").await;
    assert_eq!(scan.data["queued"], 0, "{}", scan.data);
    let jobs = server.get_json("/api/jobs?limit=200", &token).await;
    let inputs: Vec<&str> = jobs
        .as_array()
        .unwrap()
        .iter()
        .map(|j| j["input_path"].as_str().unwrap())
        .collect();
    assert!(
        !inputs.iter().any(|p| p.ends_with(".small.mp4")),
        "{inputs:?}"
    );
    server.stop().await;
}

//! Stream rules end to end with real ffmpeg: a generated Matroska clip with five audio tracks
//! (eng 5.1 default, fra commentary, jpn original, deu audio description, und) and three SubRip
//! tracks (eng, fra forced, deu), encoded by the real server with a profile that keeps English,
//! drops commentary and adds a stereo track. ffprobe on the output must show exactly the
//! planned streams with their languages, titles and dispositions. The profile API's validation
//! of the new fields is checked here too.

use std::path::{Path, PathBuf};
use std::process::Command;

use alchemist::model::CpuEncoder;
use reqwest::Method;
use serde_json::{Value, json};

use crate::support::TestServer;
use crate::support::api::{add_folder_with_profile, ok, send};
use crate::support::clips::{ffmpeg, ffprobe};
use crate::support::files::folder;
use crate::support::jobs::enqueue;

/// Write the clip described above into `dir`.
fn multi_track_clip(dir: &Path) -> PathBuf {
    let srt = dir.join("subs.srt");
    std::fs::write(&srt, "1\n00:00:00,000 --> 00:00:01,500\nHello\n\n").unwrap();
    let out = dir.join("film.mkv");
    let mut cmd = Command::new(ffmpeg());
    cmd.args(["-hide_banner", "-nostdin", "-v", "error", "-y"])
        .args([
            "-f",
            "lavfi",
            "-i",
            "testsrc2=size=320x240:rate=25:duration=2",
        ])
        .args(["-f", "lavfi", "-i", "sine=frequency=440:duration=2"])
        .arg("-i")
        .arg(&srt);
    cmd.args(["-map", "0:v"]);
    for _ in 0..5 {
        cmd.args(["-map", "1:a"]);
    }
    for _ in 0..3 {
        cmd.args(["-map", "2"]);
    }
    // Every title is one argument: spaces and apostrophes reach ffmpeg as they are.
    cmd.args([
        "-c:v",
        "libx264",
        "-preset",
        "ultrafast",
        "-c:a",
        "aac",
        "-ac:a:0",
        "6",
    ])
    .args(["-c:s", "srt"]);
    for (stream, language, title, disposition) in [
        ("a:0", "eng", "English 5.1", "default"),
        ("a:1", "fre", "Director's Commentary", "comment"),
        ("a:2", "jpn", "", "original"),
        ("a:3", "ger", "Audio Description", "visual_impaired"),
        ("a:4", "und", "", "0"),
        ("s:0", "eng", "", "0"),
        ("s:1", "fre", "Forced", "forced"),
        ("s:2", "ger", "", "0"),
    ] {
        cmd.arg(format!("-metadata:s:{stream}"))
            .arg(format!("language={language}"));
        if !title.is_empty() {
            cmd.arg(format!("-metadata:s:{stream}"))
                .arg(format!("title={title}"));
        }
        cmd.arg(format!("-disposition:{stream}")).arg(disposition);
    }
    let result = cmd.arg(&out).output().expect("run ffmpeg");
    assert!(
        result.status.success(),
        "{}",
        String::from_utf8_lossy(&result.stderr)
    );
    std::fs::remove_file(srt).unwrap();
    out
}

/// One stream as the assertions compare it: type, codec, language, title, channels and the set
/// dispositions.
fn streams(path: &Path) -> Vec<String> {
    let out = Command::new(ffprobe())
        .args(["-v", "error", "-print_format", "json", "-show_streams"])
        .arg(path)
        .output()
        .unwrap();
    assert!(out.status.success(), "ffprobe {path:?}");
    let json: Value = serde_json::from_slice(&out.stdout).unwrap();
    json["streams"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            let flags: Vec<&str> = s["disposition"]
                .as_object()
                .unwrap()
                .iter()
                .filter(|(_, v)| v.as_i64() == Some(1))
                .map(|(k, _)| k.as_str())
                .collect();
            format!(
                "{} {} {} {:?} ch={} [{}]",
                s["codec_type"].as_str().unwrap(),
                s["codec_name"].as_str().unwrap(),
                s["tags"]["language"].as_str().unwrap_or("-"),
                s["tags"]["title"].as_str().unwrap_or(""),
                s["channels"].as_u64().unwrap_or(0),
                flags.join(",")
            )
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_output_has_exactly_the_planned_streams() {
    let server = TestServer::start_with(|c| {
        c.transcode.encoder = CpuEncoder::Libx265;
        c.transcode.preset = Some("ultrafast".into());
    })
    .await;
    let token = server.login().await;
    let profile = json!({
        "name": "english", "base": "default", "bpp_factor": 0, "min_file_size": 0,
        "audio_languages": ["eng"], "subtitle_languages": ["eng"],
        "drop_commentary": true, "add_stereo": true,
    });
    let created = ok(
        send(&server, &token, Method::POST, "/api/profiles", profile).await,
        201,
    )
    .await;
    assert_eq!(created["audio_languages"], json!(["eng"]), "{created:#}");
    let dir = folder(&server, "films");
    ok(
        add_folder_with_profile(&server, &token, &dir, json!("english")).await,
        201,
    )
    .await;
    let input = multi_track_clip(&dir);
    let id = enqueue(&server, &token, &input).await;
    let d = server.wait_job_end(&token, id).await;
    assert_eq!(d["job"]["status"], "completed", "{d:#}");
    let detail = d["job"]["decision"]["detail"].as_str().unwrap_or_default();
    assert!(
        detail.contains(
            "3 of 5 audio tracks kept: eng, jpn, und; dropped: fra commentary, deu description."
        ),
        "{d:#}"
    );
    assert!(
        detail.contains("2 of 3 subtitle tracks kept: eng, fra; dropped: deu"),
        "{d:#}"
    );

    let output = dir.join("film.alchemist.mkv");
    let got = streams(&output);
    let want = [
        "video hevc - \"\" ch=0 []",
        "audio aac eng \"English 5.1\" ch=6 [default]",
        "audio aac jpn \"\" ch=1 [original]",
        // Matroska stores "und"; ffprobe shows no language tag for it.
        "audio aac - \"\" ch=1 []",
        "audio opus eng \"Stereo\" ch=2 []",
        "subtitle subrip eng \"\" ch=0 []",
        "subtitle subrip fre \"Forced\" ch=0 [forced]",
    ];
    assert_eq!(got, want, "input: {:#?}", streams(&input));

    // MP4 with other languages: the source's default (eng) goes, so the first kept track
    // (jpn, the original language) becomes the default; SubRip becomes timed text.
    let profile = json!({
        "name": "japanese-mp4", "base": "english", "container": "mp4",
        "audio_languages": ["jpn"], "subtitle_languages": ["jpn"], "add_stereo": false,
    });
    ok(
        send(&server, &token, Method::POST, "/api/profiles", profile).await,
        201,
    )
    .await;
    let dir = folder(&server, "anime");
    ok(
        add_folder_with_profile(&server, &token, &dir, json!("japanese-mp4")).await,
        201,
    )
    .await;
    let input = multi_track_clip(&dir);
    let id = enqueue(&server, &token, &input).await;
    let d = server.wait_job_end(&token, id).await;
    assert_eq!(d["job"]["status"], "completed", "{d:#}");
    let got = streams(&dir.join("film.alchemist.mp4"));
    // What MP4 cannot say: ffmpeg's MP4 muxer writes no track titles and no "original" flag,
    // and it enables (reads back as default) the first track of a kind when none is default.
    let want = [
        "video hevc und \"\" ch=0 [default]",
        "audio aac jpn \"\" ch=1 [default]",
        "audio aac und \"\" ch=1 []",
        "subtitle mov_text fre \"\" ch=0 [default,forced]",
    ];
    assert_eq!(got, want, "{d:#}");
    server.stop().await;
}

/// A file already in the profile's codec is remuxed when the rules drop tracks: the H.264
/// video is copied, commentary and the other languages go, every subtitle stays.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dropping_tracks_remuxes_a_file_already_in_the_target_codec() {
    let server = TestServer::start().await;
    let token = server.login().await;
    let profile = json!({
        "name": "tidy", "base": "default", "encoder": "libx264", "container": "mkv",
        "bpp_factor": 0, "min_file_size": 0, "audio_languages": ["eng"], "drop_commentary": true,
    });
    ok(
        send(&server, &token, Method::POST, "/api/profiles", profile).await,
        201,
    )
    .await;
    let dir = folder(&server, "h264");
    ok(
        add_folder_with_profile(&server, &token, &dir, json!("tidy")).await,
        201,
    )
    .await;
    let input = multi_track_clip(&dir);
    let id = enqueue(&server, &token, &input).await;
    let d = server.wait_job_end(&token, id).await;
    assert_eq!(d["job"]["status"], "completed", "{d:#}");
    assert_eq!(d["job"]["decision"]["code"], "streams_remux", "{d:#}");
    let want = [
        "video h264 - \"\" ch=0 []",
        "audio aac eng \"English 5.1\" ch=6 [default]",
        "audio aac jpn \"\" ch=1 [original]",
        "audio aac - \"\" ch=1 []",
        "subtitle subrip eng \"\" ch=0 []",
        "subtitle subrip fre \"Forced\" ch=0 [forced]",
        "subtitle subrip ger \"\" ch=0 []",
    ];
    assert_eq!(streams(&dir.join("film.alchemist.mkv")), want, "{d:#}");
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_profile_api_validates_and_keeps_the_stream_fields() {
    let server = TestServer::start().await;
    let token = server.login().await;
    let post = |body: Value| send(&server, &token, Method::POST, "/api/profiles", body);
    let bad = post(json!({"name": "x", "base": "default", "audio_languages": ["en"]})).await;
    assert_eq!(bad.status().as_u16(), 400);
    assert_eq!(
        bad.headers()["content-type"].to_str().unwrap(),
        "application/problem+json"
    );
    let problem: Value = bad.json().await.unwrap();
    let text = problem["detail"].as_str().unwrap_or_default();
    assert!(
        text.contains("audio_languages") && text.contains("`en`"),
        "{problem:#}"
    );
    assert_eq!(problem["code"], "PROFILE_INVALID");
    assert_eq!(problem["field"], "audio_languages", "{problem:#}");
    let bad = post(json!({"name": "x", "base": "default", "image_subtitles": "burn"})).await;
    assert_eq!(bad.status().as_u16(), 400);

    let made = ok(
        post(
            json!({"name": "tidy", "base": "balanced", "subtitle_languages": ["eng", "fre"],
                    "image_subtitles": "forced_only", "audio_codec": "eac3"}),
        )
        .await,
        201,
    )
    .await;
    assert_eq!(made["image_subtitles"], "forced_only");
    assert_eq!(made["audio_codec"], "eac3");
    assert_eq!(made["drop_commentary"], false, "defaults keep every track");
    // Every built-in profile keeps every track.
    let all = server.get_json("/api/profiles", &token).await;
    for p in all
        .as_array()
        .unwrap()
        .iter()
        .filter(|p| p["builtin"] == true)
    {
        assert_eq!(p["audio_languages"], json!([]), "{p:#}");
        assert_eq!(p["drop_commentary"], false, "{p:#}");
    }
    server.stop().await;
}

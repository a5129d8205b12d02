//! A hardware encoder that misbehaves the ways real ones do, played by a script standing in
//! for ffmpeg (the real ffmpeg does everything else, so detection, the fingerprint and the CPU
//! encodes are real): one that hangs like a GPU whose driver stopped answering (killed after
//! the stall timeout, then encoded on the CPU), and one that exits 0 with an undecodable
//! output (one CPU retry; three such jobs in a row demote the encoder until a new probe), and
//! one whose output is too big to save anything (one CPU retry, no demotion).

use std::path::{Path, PathBuf};
use std::time::Duration;

use serde_json::{Value, json};

use super::{FAKE_NODE, hardware, until_hardware, with_fake_vaapi};
use crate::support::TestServer;
use crate::support::clips::{FFMPEG, copy_into, h264_clip};
use crate::support::pages::{get_page, has, text};
use crate::support::wait::SHORT_JOB;

/// Short, so the test is quick; the default (two minutes) is for real GPUs.
const STALL: Duration = Duration::from_secs(2);
/// How long the fake hang lasts unless killed; more than `SHORT_JOB`.
const HANG: Duration = Duration::from_secs(90);

/// What the fake does when asked for `hevc_vaapi`.
enum Fake {
    /// Write its pid to `hung.pid`, then neither report progress nor write, until killed. The
    /// hang ends by itself after [`HANG`] (longer than the job wait): without a stall watch the
    /// test then fails on the job wait instead of hanging on the encode's blocking thread.
    Hang,
    /// Write 4 KiB of noise where the output goes and exit 0, as a broken driver can.
    Noise,
    /// Write 4 MiB (more than the 2 s source) where the output goes and exit 0: an output
    /// too big to keep, which is no fault of the hardware.
    Big,
}

/// Write the stand-in for ffmpeg into `dir`.
fn fake_ffmpeg(dir: &Path, fake: Fake) -> PathBuf {
    let on_vaapi = match fake {
        Fake::Hang => format!(
            "echo $$ > '{}/hung.pid'; exec sleep {}",
            dir.display(),
            HANG.as_secs()
        ),
        Fake::Noise => "out=${last#file:}; head -c 4096 /dev/urandom > \"$out\"; exit 0".into(),
        Fake::Big => "out=${last#file:}; head -c 4194304 /dev/zero > \"$out\"; exit 0".into(),
    };
    let script = format!(
        "#!/bin/sh\n\
         # Stands in for ffmpeg in the tests: only an hevc_vaapi encode is faked.\n\
         vaapi=\n\
         for a in \"$@\"; do last=$a; [ \"$a\" = hevc_vaapi ] && vaapi=1; done\n\
         if [ -n \"$vaapi\" ]; then {on_vaapi}; fi\n\
         exec {FFMPEG} \"$@\"\n"
    );
    let path = dir.join("ffmpeg");
    std::fs::write(&path, script).unwrap();
    let mut perms = std::fs::metadata(&path).unwrap().permissions();
    std::os::unix::fs::PermissionsExt::set_mode(&mut perms, 0o755);
    std::fs::set_permissions(&path, perms).unwrap();
    path
}

/// Encode a copy of the H.264 clip named `name` in `lib` (a library folder) to the end;
/// returns the job details.
async fn encode(server: &TestServer, token: &str, lib: &Path, name: &str) -> Value {
    let source = copy_into(lib, h264_clip(), name.as_ref());
    let r = server
        .post_json(
            "/api/jobs/enqueue",
            token,
            json!({"path": source.to_str().unwrap()}),
        )
        .await;
    assert!(r.status().is_success(), "enqueue: {}", r.status());
    let id = r.json::<Value>().await.unwrap()["id"].as_u64().unwrap();
    server
        .wait_job(token, id, SHORT_JOB, |j| {
            matches!(j["status"].as_str(), Some("completed" | "failed"))
        })
        .await
}

fn messages(d: &Value) -> Vec<String> {
    d["logs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["message"].as_str().unwrap().to_string())
        .collect()
}

/// How many ffmpeg runs the job log shows with `encoder`.
fn runs(logs: &[String], encoder: &str) -> usize {
    logs.iter()
        .filter(|l| l.starts_with("ffmpeg ") && l.split(' ').any(|w| w == encoder))
        .count()
}

/// Completed on the CPU after exactly one hardware try and one CPU try, the fallback's
/// reason `code` recorded in the stats and in the log between the two runs.
fn assert_one_cpu_retry(d: &Value, code: &str) {
    let logs = messages(d);
    assert_eq!(d["job"]["status"], "completed", "{d:#}");
    assert_eq!(d["encode_stats"]["backend"], "cpu", "{d:#}");
    assert_eq!(d["encode_stats"]["encoder"], "libx265", "{d:#}");
    assert_eq!(
        d["encode_stats"]["hardware_fallback"]["code"], code,
        "{d:#}"
    );
    assert_eq!(runs(&logs, "hevc_vaapi"), 1, "{logs:#?}");
    assert_eq!(runs(&logs, "libx265"), 1, "{logs:#?}");
    let at = |pred: &dyn Fn(&String) -> bool| {
        logs.iter()
            .position(pred)
            .unwrap_or_else(|| panic!("line missing: {logs:#?}"))
    };
    let vaapi = at(&|l| l.starts_with("ffmpeg ") && l.contains("hevc_vaapi"));
    let fallback = at(&|l| {
        l.contains(&format!("hevc_vaapi on {FAKE_NODE} failed ({code}:"))
            && l.contains("encoding again on the CPU")
    });
    let cpu = at(&|l| l.starts_with("ffmpeg ") && l.contains("libx265"));
    assert!(vaapi < fallback && fallback < cpu, "{logs:#?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hung_vaapi_encode_is_killed_after_the_stall_timeout_and_done_on_the_cpu() {
    let (server, token) = with_fake_vaapi(|dir, c| {
        c.ffmpeg = fake_ffmpeg(dir, Fake::Hang);
        c.stall_timeout = Some(STALL);
    })
    .await;
    let lib = server.tmp.path().join("lib");
    std::fs::create_dir_all(&lib).unwrap();
    server.add_folder(&token, &lib).await;
    let d = encode(&server, &token, &lib, "clip.mp4").await;
    assert_one_cpu_retry(&d, "encoder_stalled");
    let fallback = &d["encode_stats"]["hardware_fallback"];
    assert_eq!(
        fallback["measured"]["stalled_seconds"],
        STALL.as_secs(),
        "{d:#}"
    );
    // The hung process was killed (and reaped), not left holding the GPU.
    let pid = std::fs::read_to_string(server.tmp.path().join("hung.pid")).unwrap();
    let proc = PathBuf::from(format!("/proc/{}", pid.trim()));
    assert!(!proc.exists(), "the hung encoder {} still runs", pid.trim());
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn undecodable_vaapi_output_gets_one_cpu_retry_and_repeats_demote_the_encoder() {
    let (server, token) = with_fake_vaapi(|dir, c| c.ffmpeg = fake_ffmpeg(dir, Fake::Noise)).await;
    let lib = server.tmp.path().join("lib");
    std::fs::create_dir_all(&lib).unwrap();
    server.add_folder(&token, &lib).await;

    // Three jobs in a row whose VAAPI output does not verify: each is encoded once more, on
    // the CPU; the third demotes the encoder.
    for n in 0..3 {
        assert_eq!(hardware(&server, &token).await["demoted"], json!([]));
        let d = encode(&server, &token, &lib, &format!("clip{n}.mp4")).await;
        assert_one_cpu_retry(&d, "verify_failed");
    }
    let hw = hardware(&server, &token).await;
    let demoted = hw["demoted"].as_array().unwrap();
    assert_eq!(demoted.len(), 1, "{hw:#}");
    assert_eq!(demoted[0]["device"], FAKE_NODE);
    assert_eq!(demoted[0]["encoder"], "hevc_vaapi");
    assert_eq!(demoted[0]["failures"], 3);
    assert_eq!(demoted[0]["reason"], "verify_failed");
    assert_eq!(hw["selected"]["hevc"], "cpu", "{hw:#}");
    let (status, page) = get_page(&server, "/hardware", &token).await;
    assert_eq!(status, 200);
    assert!(has(&page, "#demoted"), "no demoted section");
    let shown = text(&page);
    assert!(
        shown.contains("hevc_vaapi") && shown.contains("verify_failed"),
        "{shown}"
    );

    // The demotion is kept with the stored detection result: a restart that reuses it
    // (same fingerprint) keeps it.
    let (tmp, data_dir) = server.stop().await;
    let fake = tmp.path().join("ffmpeg");
    let server = TestServer::start_in(tmp, data_dir, |c| c.ffmpeg = fake).await;
    let token = server.login().await;
    let hw = until_hardware(&server, &token, "detection to reuse the record", |hw| {
        !hw["probed_at"].is_null()
    })
    .await;
    assert_eq!(hw["demoted"].as_array().map(Vec::len), Some(1), "{hw:#}");

    // The next job goes straight to the CPU.
    let d = encode(&server, &token, &lib, "clip3.mp4").await;
    let logs = messages(&d);
    assert_eq!(d["job"]["status"], "completed", "{d:#}");
    assert_eq!(runs(&logs, "hevc_vaapi"), 0, "{logs:#?}");
    assert_eq!(d["encode_stats"]["hardware_fallback"], Value::Null, "{d:#}");

    // A new probe clears the demotion.
    let r = server
        .post_json("/api/system/hardware/probe", &token, json!({}))
        .await;
    assert_eq!(r.status(), 202);
    until_hardware(
        &server,
        &token,
        "the new probe to clear the demotion",
        |hw| hw["probing"] == false && hw["demoted"] == json!([]) && !hw["probed_at"].is_null(),
    )
    .await;
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_vaapi_output_too_big_to_keep_is_encoded_again_on_the_cpu_without_demotion() {
    let (server, token) = with_fake_vaapi(|dir, c| c.ffmpeg = fake_ffmpeg(dir, Fake::Big)).await;
    let lib = server.tmp.path().join("lib");
    std::fs::create_dir_all(&lib).unwrap();
    server.add_folder(&token, &lib).await;
    // More jobs than it takes to demote a faulty encoder: a too-large output counts for none.
    for n in 0..3 {
        let d = encode(&server, &token, &lib, &format!("clip{n}.mp4")).await;
        assert_one_cpu_retry(&d, "size_reduction_insufficient");
    }
    let hw = hardware(&server, &token).await;
    assert_eq!(hw["demoted"], json!([]), "{hw:#}");
    assert_eq!(hw["selected"]["hevc"], "vaapi", "{hw:#}");
    server.stop().await;
}

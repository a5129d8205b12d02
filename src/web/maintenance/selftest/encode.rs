//! The self-test's program checks: ffmpeg and ffprobe answer `-version`, and one test encode
//! per verified backend (CPU always, VAAPI per render node and V4L2 M2M per device only when
//! the hardware probe verified them on this box), from a generated one-second `testsrc2` into
//! a temp dir in the data directory (removed at the end, never a library folder), read back
//! with ffprobe.

use std::ffi::OsString;
use std::path::Path;
use std::time::Duration;

use super::checks::{line, os};
use super::{Check, CheckStatus};
use crate::hw::Capabilities;
use crate::model::VideoCodec;
use crate::web::AppState;

/// `-version` answers at once; longer is a broken binary.
pub(super) const VERSION_TIMEOUT: Duration = Duration::from_secs(10);
/// A one-second 320x240 encode takes a second or two on a slow ARM board; this bounds a
/// hung hardware encoder so the whole run stays within the request timeout.
const ENCODE_TIMEOUT: Duration = Duration::from_secs(20);
/// How long the encode checks wait for the hardware detection of a server that just started
/// (it does its own test encodes; seconds on a slow board).
const DETECTION_WAIT: Duration = Duration::from_secs(30);
const DETECTION_POLL: Duration = Duration::from_millis(250);

pub(super) async fn tool(program: &Path, name: &str) -> Check {
    match crate::process::output(program, &os(&["-hide_banner", "-version"]), VERSION_TIMEOUT).await
    {
        Ok(o) if o.status.success() => {
            let text = String::from_utf8_lossy(&o.stdout);
            let first = text.lines().next().unwrap_or_default().trim().to_string();
            let version = first.split_whitespace().nth(2).unwrap_or("?").to_string();
            line(
                name,
                CheckStatus::Pass,
                format!("{name} {version} found at {}.", program.display()),
                Some(first),
            )
        }
        Ok(o) => line(
            name,
            CheckStatus::Fail,
            format!(
                "{name} at {} does not run ({}).",
                program.display(),
                o.status
            ),
            Some(String::from_utf8_lossy(&o.stderr).into_owned()),
        ),
        Err(e) => line(
            name,
            CheckStatus::Fail,
            format!("{name} was not found at {}.", program.display()),
            Some(e.to_string()),
        ),
    }
}

/// One test encode per verified backend: CPU always (its first verified encoder), VAAPI per
/// render node and V4L2 M2M per device only when the hardware probe verified them here.
pub(super) async fn encodes(state: &AppState, data_dir: &Path) -> Vec<Check> {
    // Right after start the hardware detection may still run: wait for it, bounded.
    let deadline = tokio::time::Instant::now() + DETECTION_WAIT;
    let caps = loop {
        match state.engine.capabilities() {
            Some(caps) => break caps,
            None if tokio::time::Instant::now() >= deadline => {
                return vec![line(
                    "encode",
                    CheckStatus::Warn,
                    "Hardware detection has not finished; no test encode was run.",
                    None,
                )];
            }
            None => tokio::time::sleep(DETECTION_POLL).await,
        }
    };
    let tmp = match tempfile::Builder::new()
        .prefix(".selftest-")
        .tempdir_in(data_dir)
    {
        Ok(t) => t,
        Err(e) => {
            return vec![line(
                "encode",
                CheckStatus::Fail,
                "No temp dir for the test encodes in the data directory.",
                Some(e.to_string()),
            )];
        }
    };
    let mut out = Vec::new();
    for (id, args, codec) in plans(&caps) {
        out.push(encode(state, tmp.path(), &id, args, codec).await);
    }
    if !out.iter().any(|c| c.id == "encode.cpu") {
        out.push(line(
            "encode.cpu",
            CheckStatus::Fail,
            "No CPU encoder was verified by the hardware probe.",
            None,
        ));
    }
    out
}

/// (check id, ffmpeg arguments before the output, codec expected in the output) per backend.
fn plans(caps: &Capabilities) -> Vec<(String, Vec<OsString>, VideoCodec)> {
    let input = os(&[
        "-hide_banner",
        "-nostdin",
        "-v",
        "error",
        "-f",
        "lavfi",
        "-i",
        "testsrc2=size=320x240:rate=25:duration=1",
    ]);
    let mut plans = Vec::new();
    if let Some(e) = caps.cpu_encoders.iter().find(|e| e.verified) {
        let mut a = input.clone();
        a.extend(os(&["-pix_fmt", "yuv420p", "-c:v", &e.encoder]));
        plans.push(("encode.cpu".to_string(), a, e.codec));
    }
    for d in &caps.vaapi.devices {
        if let Some(e) = d.encoders.iter().find(|e| e.verified) {
            let mut a = os(&["-hide_banner", "-nostdin", "-v", "error", "-init_hw_device"]);
            a.push(format!("vaapi=va:{}", d.node.path).into());
            a.extend(os(&["-filter_hw_device", "va"]));
            a.extend(input[4..].iter().cloned());
            a.extend(os(&["-vf", "format=nv12,hwupload", "-c:v", &e.encoder]));
            plans.push((format!("encode.vaapi:{}", d.node.path), a, e.codec));
        }
    }
    for codec in [
        VideoCodec::H264,
        VideoCodec::Hevc,
        VideoCodec::Vp9,
        VideoCodec::Av1,
    ] {
        if let Some((d, e)) = crate::hw::v4l2_choice(codec, caps)
            && let Some(name) = &e.ffmpeg_encoder
        {
            let mut a = input.clone();
            a.extend(os(&["-pix_fmt", "yuv420p", "-b:v", "1M", "-c:v", name]));
            plans.push((format!("encode.v4l2m2m:{}", d.path), a, codec));
        }
    }
    plans
}

/// Encode, then ask ffprobe what came out: a file with one video stream of the codec.
async fn encode(
    state: &AppState,
    dir: &Path,
    id: &str,
    mut args: Vec<OsString>,
    codec: VideoCodec,
) -> Check {
    let m = &state.maintenance;
    let out = dir.join(format!("{}.mkv", id.replace(['/', ':', '.'], "_")));
    args.push("-y".into());
    args.push(out.clone().into());
    let command = args
        .iter()
        .map(|a| a.to_string_lossy())
        .collect::<Vec<_>>()
        .join(" ");
    let detail = |extra: &str| Some(format!("ffmpeg {command}\n{extra}").trim_end().to_string());
    match crate::process::output(&m.ffmpeg, &args, ENCODE_TIMEOUT).await {
        Ok(o) if o.status.success() => {}
        Ok(o) => {
            return line(
                id,
                CheckStatus::Fail,
                format!("The {codec} test encode failed ({}).", o.status),
                detail(&String::from_utf8_lossy(&o.stderr)),
            );
        }
        Err(e) => {
            return line(
                id,
                CheckStatus::Fail,
                format!("The {codec} test encode did not run."),
                detail(&e.to_string()),
            );
        }
    }
    let probe = os(&[
        "-v",
        "error",
        "-select_streams",
        "v:0",
        "-show_entries",
        "stream=codec_name",
        "-of",
        "csv=p=0",
    ]);
    let mut probe = probe;
    probe.push(out.clone().into());
    let size = std::fs::metadata(&out).map(|m| m.len()).unwrap_or(0);
    match crate::process::output(&m.ffprobe, &probe, VERSION_TIMEOUT).await {
        Ok(o) if o.status.success() => {
            let found = String::from_utf8_lossy(&o.stdout).trim().to_string();
            if VideoCodec::from_ffprobe(&found) == Some(codec) {
                line(
                    id,
                    CheckStatus::Pass,
                    format!(
                        "A one-second {codec} test encode worked ({}).",
                        crate::model::human_bytes(size as f64)
                    ),
                    detail(""),
                )
            } else {
                line(
                    id,
                    CheckStatus::Fail,
                    format!("The {codec} test encode wrote `{found}` instead."),
                    detail(""),
                )
            }
        }
        Ok(o) => line(
            id,
            CheckStatus::Fail,
            format!("The {codec} test output does not read back."),
            detail(&String::from_utf8_lossy(&o.stderr)),
        ),
        Err(e) => line(
            id,
            CheckStatus::Fail,
            "ffprobe could not read the test output back.",
            detail(&e.to_string()),
        ),
    }
}

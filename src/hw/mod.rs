//! Encoder capabilities of this machine's ffmpeg. `detect` asks ffmpeg for its version and
//! encoder list, then proves each CPU encoder we can use with a one-frame test encode, and
//! records every command with its real output in a probe log the UI shows, so "why is AV1
//! missing?" has an answer. Hardware backends (VAAPI render nodes, V4L2 M2M) will add their
//! own probe steps and encoder lists beside `cpu_encoders`; the log format already carries
//! `backend` and `device` for them. Parsing is pure (`parse`); only `detect` runs processes.

mod parse;

use std::ffi::OsString;
use std::path::Path;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;
use utoipa::ToSchema;

use crate::model::{CpuEncoder, VideoCodec};
use crate::process;

pub use parse::{parse_encoders, parse_version};

/// `-version` and `-encoders` answer instantly; anything slower means a broken binary.
const QUERY_TIMEOUT: Duration = Duration::from_secs(10);
/// A one-frame encode includes encoder start-up (SVT-AV1 allocates a lot); generous for
/// slow ARM boards.
const TEST_ENCODE_TIMEOUT: Duration = Duration::from_secs(30);
/// Probe log outputs longer than this are cut (the encoder list is ~13 KB).
const MAX_LOG_OUTPUT: usize = 32 * 1024;

/// One step of capability detection, as shown in the UI.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct ProbeLogEntry {
    /// RFC 3339 UTC time the step finished.
    pub at: String,
    /// "cpu" for now; "vaapi" and "v4l2m2m" later.
    pub backend: String,
    /// Device node for hardware backends.
    pub device: Option<String>,
    /// "version", "encoders" or "test_encode:<encoder>".
    pub step: String,
    /// The command line that was run.
    pub command: String,
    pub ok: bool,
    /// What the command printed (stdout, then stderr), or why it could not run.
    pub output: String,
}

/// An encoder ffmpeg lists.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct EncoderInfo {
    pub codec: VideoCodec,
    pub encoder: String,
    /// A one-frame test encode succeeded.
    pub verified: bool,
}

/// What this ffmpeg can do.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Capabilities {
    pub ffmpeg_version: Option<String>,
    pub cpu_encoders: Vec<EncoderInfo>,
    pub probe_log: Vec<ProbeLogEntry>,
    pub probed_at: String,
}

impl Capabilities {
    /// Whether ffmpeg lists encoder `e` (see `EncoderInfo::verified` for the test result).
    pub fn has_encoder(&self, e: CpuEncoder) -> bool {
        self.cpu_encoders.iter().any(|i| i.encoder == e.as_str())
    }
}

/// Query the ffmpeg at `ffmpeg`. Never fails: problems end up in `probe_log`.
pub async fn detect(ffmpeg: &Path) -> Capabilities {
    let mut log = Vec::new();
    let version = run_step(
        &mut log,
        ffmpeg,
        "version",
        &["-hide_banner", "-version"],
        QUERY_TIMEOUT,
    )
    .await
    .and_then(|text| parse_version(&text));
    let mut cpu_encoders = Vec::new();
    if let Some(text) = run_step(
        &mut log,
        ffmpeg,
        "encoders",
        &["-hide_banner", "-encoders"],
        QUERY_TIMEOUT,
    )
    .await
    {
        let listed = parse_encoders(&text);
        for encoder in CpuEncoder::ALL {
            if !listed
                .iter()
                .any(|(n, k, _)| *k == 'V' && n == encoder.as_str())
            {
                continue;
            }
            let args = test_encode_args(encoder);
            let step = format!("test_encode:{}", encoder.as_str());
            let verified = run_step(&mut log, ffmpeg, &step, &args, TEST_ENCODE_TIMEOUT)
                .await
                .is_some();
            cpu_encoders.push(EncoderInfo {
                codec: encoder.codec(),
                encoder: encoder.as_str().to_string(),
                verified,
            });
        }
    }
    Capabilities {
        ffmpeg_version: version,
        cpu_encoders,
        probe_log: log,
        probed_at: now_rfc3339(),
    }
}

/// Encode one frame of a generated test picture and throw it away. `-v error` so that a
/// failure says why (the reference server probed at `-v quiet` and logged nothing).
pub fn test_encode_args(encoder: CpuEncoder) -> Vec<&'static str> {
    vec![
        "-hide_banner",
        "-nostdin",
        "-v",
        "error",
        "-f",
        "lavfi",
        "-i",
        "testsrc2=size=320x240:rate=25",
        "-frames:v",
        "1",
        "-c:v",
        encoder.as_str(),
        "-f",
        "null",
        "-",
    ]
}

/// Run one step, log it, and return stdout+stderr text when the command succeeded.
async fn run_step(
    log: &mut Vec<ProbeLogEntry>,
    ffmpeg: &Path,
    step: &str,
    args: &[&str],
    timeout: Duration,
) -> Option<String> {
    let os_args: Vec<OsString> = args.iter().map(OsString::from).collect();
    let command = std::iter::once(ffmpeg.display().to_string())
        .chain(args.iter().map(|a| a.to_string()))
        .collect::<Vec<_>>()
        .join(" ");
    let (ok, output) = match process::output(ffmpeg, &os_args, timeout).await {
        Ok(out) => {
            let mut text = String::from_utf8_lossy(&out.stdout).into_owned();
            text.push_str(&String::from_utf8_lossy(&out.stderr));
            if !out.status.success() {
                let status = out.status.code().map_or_else(
                    || "killed by a signal".to_string(),
                    |c| format!("exit code {c}"),
                );
                text = format!("{}\n({status})", text.trim_end());
            }
            (out.status.success(), text)
        }
        Err(e) => (false, format!("could not run {}: {e}", ffmpeg.display())),
    };
    let result = ok.then(|| output.clone());
    log.push(ProbeLogEntry {
        at: now_rfc3339(),
        backend: "cpu".into(),
        device: None,
        step: step.into(),
        command,
        ok,
        output: truncate(output, MAX_LOG_OUTPUT),
    });
    result
}

fn truncate(mut text: String, max: usize) -> String {
    if text.len() > max {
        let mut cut = max;
        while !text.is_char_boundary(cut) {
            cut -= 1;
        }
        text.truncate(cut);
        text.push_str("\n… (truncated)");
    }
    text
}

fn now_rfc3339() -> String {
    OffsetDateTime::now_utc()
        .format(&Rfc3339)
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn missing_ffmpeg_is_explained() {
        let caps = detect(Path::new("/nonexistent/ffmpeg")).await;
        assert!(caps.cpu_encoders.is_empty());
        assert_eq!(caps.ffmpeg_version, None);
        assert!(!caps.has_encoder(CpuEncoder::Libx265));
        let first = &caps.probe_log[0];
        assert!(!first.ok);
        assert_eq!(first.step, "version");
        assert!(
            first.output.contains("could not run /nonexistent/ffmpeg"),
            "{}",
            first.output
        );
        assert!(first.at.ends_with('Z'), "{}", first.at);
    }

    #[tokio::test]
    async fn detects_debian_ffmpeg() {
        let caps = detect(Path::new("/usr/bin/ffmpeg")).await;
        assert!(caps.ffmpeg_version.is_some());
        let x265 = caps
            .cpu_encoders
            .iter()
            .find(|e| e.encoder == "libx265")
            .unwrap();
        assert!(x265.verified);
        assert_eq!(x265.codec, VideoCodec::Hevc);
        assert!(caps.has_encoder(CpuEncoder::Libx264));
        let step = caps
            .probe_log
            .iter()
            .find(|s| s.step == "test_encode:libx265")
            .unwrap();
        assert!(step.ok && step.command.contains("-c:v libx265"), "{step:?}");
        let encoders = caps
            .probe_log
            .iter()
            .find(|s| s.step == "encoders")
            .unwrap();
        assert!(encoders.output.contains("libx265"));
    }

    #[tokio::test]
    async fn failing_test_encode_is_logged_with_stderr() {
        let mut log = Vec::new();
        let args = [
            "-hide_banner",
            "-v",
            "error",
            "-f",
            "lavfi",
            "-i",
            "testsrc2",
            "-frames:v",
            "1",
            "-c:v",
            "no_such_encoder",
            "-f",
            "null",
            "-",
        ];
        let out = run_step(
            &mut log,
            Path::new("/usr/bin/ffmpeg"),
            "test_encode:x",
            &args,
            TEST_ENCODE_TIMEOUT,
        )
        .await;
        assert!(out.is_none());
        assert!(!log[0].ok);
        assert!(
            log[0].output.contains("Unknown encoder"),
            "{}",
            log[0].output
        );
        assert!(log[0].output.contains("exit code"), "{}", log[0].output);
    }

    #[test]
    fn truncation_respects_char_boundaries() {
        assert_eq!(truncate("héllo".into(), 2), "h\n… (truncated)");
        assert_eq!(truncate("abc".into(), 5), "abc");
    }
}

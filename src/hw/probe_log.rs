//! The probe log: runs one probe command through `crate::process` and appends it, with its
//! real output, to the log (or notes a step that runs nothing). Every ffmpeg that capability detection starts goes through [`run`].

use std::ffi::OsString;
use std::path::Path;
use std::time::Duration;

use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use super::ProbeLogEntry;
use crate::process;

/// Probe log outputs longer than this are cut (the encoder list is ~13 KB).
const MAX_LOG_OUTPUT: usize = 32 * 1024;

/// What a step is, for the log.
pub struct Step<'a> {
    /// "cpu", "vaapi", "cache"…
    pub backend: &'a str,
    pub device: Option<&'a str>,
    pub name: String,
}

/// What a step printed.
pub struct Output {
    /// Exit status 0.
    pub ok: bool,
    /// stdout then stderr (for parsers that read either).
    pub text: String,
    /// stderr alone, or why the command could not run (for classifiers).
    pub stderr: String,
}

/// Run `ffmpeg args…`, log it and return what it printed.
pub async fn run(
    log: &mut Vec<ProbeLogEntry>,
    ffmpeg: &Path,
    step: Step<'_>,
    args: &[OsString],
    timeout: Duration,
) -> Output {
    let out = match process::output(ffmpeg, args, timeout).await {
        Ok(out) => {
            let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
            let mut text = String::from_utf8_lossy(&out.stdout).into_owned();
            text.push_str(&stderr);
            if !out.status.success() {
                let status = out.status.code().map_or_else(
                    || "killed by a signal".to_string(),
                    |c| format!("exit code {c}"),
                );
                text = format!("{}\n({status})", text.trim_end());
            }
            Output {
                ok: out.status.success(),
                text,
                stderr,
            }
        }
        Err(e) => {
            let why = format!("could not run {}: {e}", ffmpeg.display());
            Output {
                ok: false,
                text: why.clone(),
                stderr: why,
            }
        }
    };
    log.push(ProbeLogEntry {
        at: now_rfc3339(),
        backend: step.backend.into(),
        device: step.device.map(str::to_string),
        step: step.name,
        command: command_line(ffmpeg, args),
        ok: out.ok,
        output: truncate(out.text.clone(), MAX_LOG_OUTPUT),
    });
    out
}

/// A log entry for a decision made without running anything (cache reuse, skipped probes).
pub fn note(log: &mut Vec<ProbeLogEntry>, step: Step<'_>, ok: bool, output: String) {
    log.push(ProbeLogEntry {
        at: now_rfc3339(),
        backend: step.backend.into(),
        device: step.device.map(str::to_string),
        step: step.name,
        command: String::new(),
        ok,
        output,
    });
}

/// The command as a person would type it (display only; nothing is ever run through a shell).
pub fn command_line(program: &Path, args: &[OsString]) -> String {
    std::iter::once(program.display().to_string())
        .chain(args.iter().map(|a| a.to_string_lossy().into_owned()))
        .collect::<Vec<_>>()
        .join(" ")
}

pub fn truncate(mut text: String, max: usize) -> String {
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

pub fn now_rfc3339() -> String {
    OffsetDateTime::now_utc()
        .format(&Rfc3339)
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn failing_command_is_logged_with_stderr() {
        let mut log = Vec::new();
        let args: Vec<OsString> = [
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
        ]
        .iter()
        .map(OsString::from)
        .collect();
        let step = Step {
            backend: "vaapi",
            device: Some("/dev/dri/renderD128"),
            name: "test_encode:x".into(),
        };
        let out = run(
            &mut log,
            Path::new("/usr/bin/ffmpeg"),
            step,
            &args,
            Duration::from_secs(30),
        )
        .await;
        assert!(!out.ok);
        assert!(out.stderr.contains("Unknown encoder"), "{}", out.stderr);
        assert!(!log[0].ok);
        assert_eq!(log[0].backend, "vaapi");
        assert_eq!(log[0].device.as_deref(), Some("/dev/dri/renderD128"));
        assert!(log[0].output.contains("exit code"), "{}", log[0].output);
        assert!(
            log[0]
                .command
                .starts_with("/usr/bin/ffmpeg -hide_banner -v error")
        );
    }

    #[test]
    fn truncation_respects_char_boundaries() {
        assert_eq!(truncate("héllo".into(), 2), "h\n… (truncated)");
        assert_eq!(truncate("abc".into(), 5), "abc");
    }
}

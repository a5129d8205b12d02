//! The decode check of verification: ffmpeg decodes the output (all of it, or evenly spaced
//! segments of a long file) to the null muxer with `-v error -xerror`, and any error fails the
//! check. The argument vectors are pure and golden-tested; `decode_check` runs them.

use std::ffi::OsString;
use std::path::Path;
use std::time::Duration;

use crate::process;

use super::VerifyError;
use crate::media::args::file_url;
use crate::media::probe::tail_lines;

/// How much of the output is decoded.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum DecodeCheck {
    Off,
    Full,
    /// `segments` pieces of `seconds` each, spread over the file; short files are decoded whole.
    Sample {
        segments: u32,
        seconds: f64,
    },
}

/// Four 10-second samples: catches truncation and corrupt GOPs anywhere at a cost that does
/// not grow with the film's length (a full HEVC decode of a 2-hour film takes minutes on a NAS).
pub const DEFAULT_CHECK: DecodeCheck = DecodeCheck::Sample {
    segments: 4,
    seconds: 10.0,
};
impl DecodeCheck {
    /// The check a configured mode stands for.
    pub fn from_mode(mode: crate::model::VerifyMode) -> DecodeCheck {
        match mode {
            crate::model::VerifyMode::Sample => DEFAULT_CHECK,
            crate::model::VerifyMode::Full => DecodeCheck::Full,
            crate::model::VerifyMode::Off => DecodeCheck::Off,
        }
    }
}

/// Hard limit for one decode run.
const DECODE_TIMEOUT: Duration = Duration::from_secs(3600);

/// One ffmpeg argument vector per decode run.
pub fn decode_args(file: &Path, check: DecodeCheck, duration: f64) -> Vec<Vec<OsString>> {
    let run = |seek: Option<(f64, f64)>| {
        let mut a: Vec<OsString> = ["-hide_banner", "-nostdin", "-v", "error", "-xerror"]
            .into_iter()
            .map(OsString::from)
            .collect();
        if let Some((start, length)) = seek {
            a.extend(["-ss".into(), format!("{start:.3}").into()]);
            a.extend(["-t".into(), format!("{length:.3}").into()]);
        }
        a.push("-i".into());
        a.push(file_url(file));
        a.extend(["-map", "0:v:0", "-map", "0:a?", "-f", "null", "-"].map(OsString::from));
        a
    };
    match check {
        DecodeCheck::Off => vec![],
        DecodeCheck::Full => vec![run(None)],
        DecodeCheck::Sample { segments, seconds } => {
            let segments = segments.max(1);
            if duration <= f64::from(segments) * seconds * 2.0 {
                return vec![run(None)];
            }
            // Segment i starts at (i + 0.5) / n of the way through, the last one ends near
            // the end: the tail is where truncation shows.
            (0..segments)
                .map(|i| {
                    let start = if i + 1 == segments {
                        duration - seconds
                    } else {
                        duration * f64::from(i) / f64::from(segments)
                    };
                    run(Some((start.max(0.0), seconds)))
                })
                .collect()
        }
    }
}

/// Decode `file` as `check` says; any error fails the check.
pub async fn decode_check(
    ffmpeg: &Path,
    file: &Path,
    check: DecodeCheck,
    duration: f64,
) -> Result<(), VerifyError> {
    for args in decode_args(file, check, duration) {
        let out = process::output(ffmpeg, &args, DECODE_TIMEOUT)
            .await
            .map_err(|e| VerifyError::DecodeNotRun(e.to_string()))?;
        let lines = tail_lines(&out.stderr, 8);
        if !out.status.success() || !lines.is_empty() {
            return Err(VerifyError::DecodeErrors {
                exit_code: out.status.code(),
                lines,
            });
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn strings(v: &[OsString]) -> Vec<&str> {
        v.iter().map(|a| a.to_str().unwrap()).collect()
    }

    #[test]
    fn full_decode_is_one_run() {
        let runs = decode_args(Path::new("/m/o.mkv"), DecodeCheck::Full, 7200.0);
        assert_eq!(runs.len(), 1);
        assert_eq!(
            strings(&runs[0]),
            "-hide_banner -nostdin -v error -xerror -i file:/m/o.mkv -map 0:v:0 -map 0:a? -f null -"
                .split(' ')
                .collect::<Vec<_>>()
        );
        assert!(decode_args(Path::new("/m/o.mkv"), DecodeCheck::Off, 10.0).is_empty());
    }

    #[test]
    fn samples_spread_over_the_file_and_short_files_decode_whole() {
        let runs = decode_args(Path::new("/m/o.mkv"), DEFAULT_CHECK, 4000.0);
        let starts: Vec<&str> = runs.iter().map(|r| r[6].to_str().unwrap()).collect();
        assert_eq!(starts, ["0.000", "1000.000", "2000.000", "3990.000"]);
        assert_eq!(strings(&runs[1])[5..9], ["-ss", "1000.000", "-t", "10.000"]);
        assert_eq!(
            decode_args(Path::new("/m/o.mkv"), DEFAULT_CHECK, 60.0).len(),
            1
        );
    }
}

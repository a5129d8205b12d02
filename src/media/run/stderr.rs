//! Reading ffmpeg's stderr on the run's thread with sidecar's `FfmpegLogParser` (not its
//! `FfmpegIterator`, see the parent module): throttled progress, warning-or-worse lines
//! (capped), and a tail of the last lines for explanations and the job log.

use std::collections::VecDeque;
use std::io::{self, Read};
use std::time::Instant;

use ffmpeg_sidecar::event::{FfmpegEvent, LogLevel};
use ffmpeg_sidecar::log_parser::FfmpegLogParser;

use super::RunEvent;
use crate::media::progress::{self, PROGRESS_INTERVAL, Progress, Throttle};

/// Lines of ffmpeg stderr kept for explanations and the job log.
pub const STDERR_TAIL_LINES: usize = 50;
/// Warning lines forwarded per run; some inputs make ffmpeg warn on every packet ("Past
/// duration … too large") and the event bus must not carry thousands of them.
pub const MAX_LOG_EVENTS: usize = 200;
/// Parser errors in a row after which stderr is treated as unreadable (guards against a
/// reader that fails forever).
const MAX_PARSE_ERRORS_IN_A_ROW: usize = 100;

/// What reading stderr left behind.
#[derive(Debug, Default)]
pub struct Pumped {
    pub tail: VecDeque<String>,
    /// The newest progress, if the throttle held it back; sent once the run succeeds.
    pub unsent_progress: Option<Progress>,
}

/// Read ffmpeg's stderr to the end, emitting throttled progress and warning-or-worse lines.
pub fn pump_stderr<R: Read>(
    stderr: R,
    duration: f64,
    on_event: &mut dyn FnMut(RunEvent),
) -> Pumped {
    let mut parser = FfmpegLogParser::new(stderr);
    let mut throttle = Throttle::new(PROGRESS_INTERVAL);
    let mut out = Pumped::default();
    let mut duration = duration;
    let mut errors_in_a_row = 0;
    let mut logged = 0;
    loop {
        // sidecar's parser panics on some lines (it slices stream descriptions by character
        // count as if they were bytes, so a multi-byte character there is fatal; found by the
        // `progress` fuzz target). The line is consumed before it is parsed: count it as a
        // parse error and go on, rather than lose the encode and leave ffmpeg's pipe unread.
        let next =
            std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| parser.parse_next_event()));
        let event =
            match next.unwrap_or_else(|_| Err(anyhow::anyhow!("ffmpeg log parser panicked"))) {
                Ok(event) => event,
                Err(e) => {
                    errors_in_a_row += 1;
                    // I/O errors repeat forever; parse errors concern one line, which is consumed.
                    if e.downcast_ref::<io::Error>().is_some()
                        || errors_in_a_row > MAX_PARSE_ERRORS_IN_A_ROW
                    {
                        break;
                    }
                    continue;
                }
            };
        errors_in_a_row = 0;
        match event {
            FfmpegEvent::LogEOF => break,
            FfmpegEvent::Progress(p) => {
                let Some(out_time) = progress::parse_ffmpeg_time(&p.time) else {
                    continue;
                };
                let prog =
                    progress::compute(out_time, f64::from(p.fps), f64::from(p.speed), duration);
                if throttle.ready(Instant::now()) {
                    out.unsent_progress = None;
                    on_event(RunEvent::Progress(prog));
                } else {
                    out.unsent_progress = Some(prog);
                }
            }
            FfmpegEvent::Log(level, line) => {
                keep(&mut out.tail, &line);
                if matches!(level, LogLevel::Warning | LogLevel::Error | LogLevel::Fatal) {
                    logged += 1;
                    if logged <= MAX_LOG_EVENTS {
                        on_event(RunEvent::Log(line));
                    } else if logged == MAX_LOG_EVENTS + 1 {
                        on_event(RunEvent::Log(format!(
                            "(more than {MAX_LOG_EVENTS} warnings; the rest are only kept in the stderr tail)"
                        )));
                    }
                }
            }
            FfmpegEvent::ParsedDuration(d) => {
                if duration <= 0.0 && d.input_index == 0 {
                    duration = d.duration;
                }
                keep(&mut out.tail, &d.raw_log_message);
            }
            other => {
                if let Some(line) = raw_line(&other) {
                    keep(&mut out.tail, line);
                }
            }
        }
    }
    out
}

/// Append `line` to the tail, dropping the oldest beyond [`STDERR_TAIL_LINES`].
fn keep(tail: &mut VecDeque<String>, line: &str) {
    if tail.len() == STDERR_TAIL_LINES {
        tail.pop_front();
    }
    tail.push_back(line.to_string());
}

/// The stderr line behind a parsed event.
fn raw_line(event: &FfmpegEvent) -> Option<&str> {
    match event {
        FfmpegEvent::ParsedVersion(x) => Some(&x.raw_log_message),
        FfmpegEvent::ParsedConfiguration(x) => Some(&x.raw_log_message),
        FfmpegEvent::ParsedStreamMapping(x) => Some(x),
        FfmpegEvent::ParsedInput(x) => Some(&x.raw_log_message),
        FfmpegEvent::ParsedOutput(x) => Some(&x.raw_log_message),
        FfmpegEvent::ParsedInputStream(x) | FfmpegEvent::ParsedOutputStream(x) => {
            Some(&x.raw_log_message)
        }
        FfmpegEvent::Error(x) => Some(x),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ENCODE_STDERR: &[u8] = include_bytes!(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/ffmpeg/encode-libx265-stderr.txt"
    ));

    #[test]
    fn recorded_encode_gives_progress_warnings_and_tail() {
        let mut events = Vec::new();
        let pumped = pump_stderr(ENCODE_STDERR, 2.0, &mut |e| events.push(e));
        let first = events.iter().find_map(|e| match e {
            RunEvent::Progress(p) => Some(*p),
            _ => None,
        });
        // The first status line is "time=00:00:00.09 ... speed=5.73x".
        let first = first.expect("progress");
        assert!((first.out_time_seconds - 0.09).abs() < 1e-9, "{first:?}");
        assert!((first.percent - 4.5).abs() < 1e-9, "{first:?}");
        assert!((first.speed - 5.73).abs() < 1e-3, "{first:?}");
        // Later lines arrive within the throttle window, so the newest is held back.
        let last = pumped.unsent_progress.expect("held-back final progress");
        assert!(last.percent > 95.0, "{last:?}");
        assert!(events.contains(&RunEvent::Log(
            "x265 [warning]: Source height < 720p; disabling lookahead-slices".into()
        )));
        assert!(pumped.tail.len() <= STDERR_TAIL_LINES);
        assert!(
            pumped.tail.iter().all(|l| !l.contains("frame=")),
            "no status lines in the tail"
        );
        let last_line = pumped.tail.back().unwrap();
        assert!(last_line.starts_with("encoded 50 frames"), "{last_line}");
    }

    #[test]
    fn duration_comes_from_ffmpeg_when_unknown() {
        let mut events = Vec::new();
        pump_stderr(ENCODE_STDERR, 0.0, &mut |e| events.push(e));
        let Some(RunEvent::Progress(p)) =
            events.iter().find(|e| matches!(e, RunEvent::Progress(_)))
        else {
            panic!("no progress");
        };
        assert!(
            p.percent > 0.0,
            "Duration: 00:00:02.00 from the banner is used"
        );
    }

    #[test]
    fn garbage_and_empty_input_end_cleanly() {
        // A stream line outside an input/output section makes sidecar's parser return an
        // error (this is what wedges its FfmpegIterator); reading must go on after it.
        let text = b"\xff\xfe\r\n[info]   Stream #0:0: Video: h264 (High), yuv420p(progressive), 320x240, 25 fps\n[error] boom\n";
        let mut parser = FfmpegLogParser::new(&text[..]);
        assert!(parser.parse_next_event().is_ok());
        assert!(
            parser.parse_next_event().is_err(),
            "the case this test is about"
        );
        let mut events = Vec::new();
        let pumped = pump_stderr(&text[..], 1.0, &mut |e| events.push(e));
        assert_eq!(pumped.tail.back().map(String::as_str), Some("[error] boom"));
        assert_eq!(events, vec![RunEvent::Log("[error] boom".into())]);
        let pumped = pump_stderr(&b""[..], 1.0, &mut |_| {});
        assert!(pumped.tail.is_empty());
    }

    #[test]
    fn a_line_that_panics_the_log_parser_is_skipped() {
        // Found by tests/fuzz (progress): a stream line with a multi-byte character.
        let text = b"Stream #\x0f#\x0c\xcc\nt\n[info] frame=  10 fps=5.0 q=28.0 size=       1kB time=00:00:01.00 bitrate= 8.2kbits/s speed=0.5x\n";
        let mut events = Vec::new();
        let pumped = pump_stderr(&text[..], 2.0, &mut |e| events.push(e));
        // The reader went past the bad line: the progress record after it was parsed.
        let progress = events
            .iter()
            .find_map(|e| match e {
                RunEvent::Progress(p) => Some(*p),
                _ => None,
            })
            .or(pumped.unsent_progress)
            .expect("the progress line after the bad one");
        assert_eq!(progress.percent, 50.0);
    }

    #[test]
    fn warning_floods_are_capped() {
        let text = "[warning] Past duration 0.999992 too large\n".repeat(MAX_LOG_EVENTS + 50);
        let mut events = Vec::new();
        let pumped = pump_stderr(text.as_bytes(), 1.0, &mut |e| events.push(e));
        assert_eq!(events.len(), MAX_LOG_EVENTS + 1);
        assert!(matches!(&events[MAX_LOG_EVENTS], RunEvent::Log(l) if l.starts_with("(more than")));
        assert_eq!(pumped.tail.len(), STDERR_TAIL_LINES);
    }
}

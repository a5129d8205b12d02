//! The server's own log, kept in `<data>/logs/`: every `tracing` event at or above the
//! `[logs] level` goes, as one JSON object per line (tracing-subscriber's JSON formatter), to
//! `alchemist.log`, rotated by size into `alchemist.log.1` … `.N` (the `rolling-file` crate;
//! the oldest beyond `keep_files` is deleted), and to a bounded broadcast ring that the live
//! tail (`GET /api/system/logs/stream`) reads. The newest [`RECENT_LINES`] are also kept in
//! memory, so a tail that starts just after a page read the files replays what came between.
//! `read` reads the files back from their end.
//!
//! Logging is process-wide (one `tracing` subscriber), so the sink is too: `main` adds
//! [`layer`] to the subscriber at start, before the config is known, and `serve` calls
//! [`install`] once it is; until then, and in processes that never install (the other
//! commands, the in-process test servers), the layer writes nothing and the live tail is quiet.

mod entry;
pub mod read;

use std::collections::VecDeque;
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, OnceLock};

use rolling_file::{BasicRollingFileAppender, RollingConditionBasic};
use tokio::sync::broadcast;
use tracing::level_filters::LevelFilter;
use tracing::{Metadata, Subscriber};
use tracing_subscriber::Layer;
use tracing_subscriber::filter::filter_fn;
use tracing_subscriber::fmt::MakeWriter;
use tracing_subscriber::registry::LookupSpan;

use crate::config::LogSettings;

pub use entry::{Level, LogEntry, nanos};

/// The current file's name; rotated files add `.1`, `.2`, … (higher is older).
pub const FILE_NAME: &str = "alchemist.log";
/// Lines the live tail keeps for its slowest reader. One ring is shared by every client; a
/// client further behind than this is told how many lines it lost (`lagged`), so a stalled
/// browser costs no memory.
pub const LIVE_CAPACITY: usize = 512;
/// Lines kept in memory for a tail that starts late (a page's stream connects a moment after
/// the page read the files): a few seconds of a busy server, some 50 KiB.
pub const RECENT_LINES: usize = 256;

/// The log folder of a data directory.
pub fn dir(data_dir: &Path) -> PathBuf {
    data_dir.join("logs")
}

struct Sink {
    out: Mutex<Out>,
    live: broadcast::Sender<Arc<str>>,
    level: LevelFilter,
}

/// What a line is written to under one lock: the file and the recent lines.
struct Out {
    file: BasicRollingFileAppender,
    recent: VecDeque<Arc<str>>,
}

static SINK: OnceLock<Sink> = OnceLock::new();

/// Why the log files cannot be kept.
#[derive(Debug, thiserror::Error)]
pub enum InstallError {
    #[error("cannot open the log file in {dir}: {source}")]
    Open { dir: PathBuf, source: io::Error },
    #[error("the log files are already kept elsewhere in this process")]
    AlreadyInstalled,
}

/// Start keeping the log in `<data_dir>/logs/` with `settings`. Once per process.
pub fn install(data_dir: &Path, settings: &LogSettings) -> Result<(), InstallError> {
    let dir = dir(data_dir);
    let file = open(&dir, settings).map_err(|source| InstallError::Open {
        dir: dir.clone(),
        source,
    })?;
    let (live, _) = broadcast::channel(LIVE_CAPACITY);
    SINK.set(Sink {
        out: Mutex::new(Out {
            file,
            recent: VecDeque::with_capacity(RECENT_LINES),
        }),
        live,
        level: settings.level,
    })
    .map_err(|_| InstallError::AlreadyInstalled)
}

/// The rotating file in `dir`, created when missing and appended to when present.
fn open(dir: &Path, settings: &LogSettings) -> io::Result<BasicRollingFileAppender> {
    std::fs::create_dir_all(dir)?;
    // No buffer: a line is on disk (in the page cache) when the event returns, so the API
    // reads what was just logged and a crash loses nothing written before it.
    BasicRollingFileAppender::new_with_buffer_capacity(
        dir.join(FILE_NAME),
        RollingConditionBasic::new().max_size(settings.max_file_bytes),
        settings.keep_files,
        0,
    )
}

/// The newest lines kept in memory (up to [`RECENT_LINES`], oldest first) and the lines written
/// after them, as they are written (the raw JSON, without the newline): taken under the
/// writer's lock, so no line falls between the two and none is in both. `None` when this
/// process keeps no log files.
pub fn subscribe() -> Option<Tail> {
    let sink = SINK.get()?;
    let out = sink.out.lock().unwrap_or_else(|p| p.into_inner());
    Some(Tail {
        recent: out.recent.iter().cloned().collect(),
        live: sink.live.subscribe(),
    })
}

/// See [`subscribe`].
pub struct Tail {
    /// The newest lines kept, oldest first.
    pub recent: Vec<Arc<str>>,
    /// The lines written after them.
    pub live: broadcast::Receiver<Arc<str>>,
}

/// The layer `main` adds to the subscriber: JSON lines into the installed sink.
pub fn layer<S>() -> impl Layer<S>
where
    S: Subscriber + for<'a> LookupSpan<'a>,
{
    tracing_subscriber::fmt::layer()
        .json()
        .with_current_span(false)
        .with_span_list(true)
        .with_writer(SinkWriter)
        .with_filter(filter_fn(enabled))
}

/// Whether an event goes to the files. The answer is cached per call site, so `install`
/// rebuilds that cache (see `cli`): until then nothing is enabled.
fn enabled(meta: &Metadata<'_>) -> bool {
    SINK.get().is_some_and(|s| *meta.level() <= s.level) && not_a_dependencys_debug(meta)
}

/// Debug and trace lines are ours alone, in the files and on standard error whatever the
/// level asked for: the libraries below us log at debug what must not be kept, such as the
/// HTTP client's request line, whose URL carries the token of a Telegram, Discord or Gotify
/// target. Their warnings and errors still show.
pub fn not_a_dependencys_debug(meta: &Metadata<'_>) -> bool {
    *meta.level() <= tracing::Level::INFO || meta.target().starts_with("alchemist")
}

/// Call after [`install`], so that call sites seen before it ask [`enabled`] again.
pub fn refresh_filters() {
    tracing::callsite::rebuild_interest_cache();
}

/// Hands the JSON formatter a writer per event.
struct SinkWriter;

impl<'a> MakeWriter<'a> for SinkWriter {
    type Writer = LineWriter;

    fn make_writer(&'a self) -> LineWriter {
        LineWriter
    }
}

/// Writes one formatted event: to the file, then to the recent lines and the live ring, under
/// one lock so the tail sees lines in the file's order.
struct LineWriter;

impl Write for LineWriter {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let Some(sink) = SINK.get() else {
            return Ok(buf.len());
        };
        // A panic while the lock was held cannot leave half a line behind that matters more
        // than losing the log: keep writing.
        let mut out = sink.out.lock().unwrap_or_else(|p| p.into_inner());
        out.file.write_all(buf)?;
        let tailed = sink.live.receiver_count() > 0;
        for line in buf.split(|b| *b == b'\n').filter(|l| !l.is_empty()) {
            let line: Arc<str> = Arc::from(String::from_utf8_lossy(line));
            if out.recent.len() == RECENT_LINES {
                out.recent.pop_front();
            }
            out.recent.push_back(line.clone());
            if tailed {
                let _ = sink.live.send(line);
            }
        }
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        match SINK.get() {
            Some(sink) => sink
                .out
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .file
                .flush(),
            None => Ok(()),
        }
    }
}

/// Parse a line from the live ring.
pub fn parse_line(line: &str) -> Option<LogEntry> {
    entry::parse(line.as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn numbers(path: &Path) -> Vec<u32> {
        let text = std::fs::read_to_string(path).unwrap();
        text.lines()
            .map(|l| {
                let v: serde_json::Value = serde_json::from_str(l).expect("whole lines only");
                v["n"].as_u64().unwrap() as u32
            })
            .collect()
    }

    /// Rotation as the sink does it: at the size, keeping `keep_files` older files, the
    /// newest lines in `alchemist.log`, lines never split; a restart goes on from the size
    /// on disk.
    #[test]
    fn rotates_at_the_size_and_keeps_the_newest() {
        let tmp = tempfile::tempdir().unwrap();
        let settings = LogSettings {
            max_file_bytes: 1000,
            keep_files: 2,
            level: LevelFilter::INFO,
        };
        let write = |from: u32, to: u32| {
            let mut file = open(tmp.path(), &settings).unwrap();
            for n in from..to {
                // 100 bytes: ten lines reach the size.
                let line = format!("{{\"n\":{n:4},\"pad\":\"{}\"}}\n", "x".repeat(80));
                assert_eq!(line.len(), 100);
                file.write_all(line.as_bytes()).unwrap();
            }
        };
        write(0, 100);
        let names = read::files(tmp.path()).unwrap();
        assert_eq!(names.len(), 3, "{names:?}");
        assert_eq!(numbers(&names[0]), (90..100).collect::<Vec<_>>());
        assert_eq!(numbers(&names[1]), (80..90).collect::<Vec<_>>());
        assert_eq!(numbers(&names[2]), (70..80).collect::<Vec<_>>());
        // Reopened with a full current file: the next line starts a new one.
        write(100, 101);
        let names = read::files(tmp.path()).unwrap();
        assert_eq!(names.len(), 3, "{names:?}");
        assert_eq!(numbers(&names[0]), [100]);
        assert_eq!(numbers(&names[1]), (90..100).collect::<Vec<_>>());
    }
}

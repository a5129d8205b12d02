//! A bench's results: markdown lines printed as they are measured and written, when the bench
//! ends, to `target/bench/<name>.md` (`BENCH_OUT` to put them elsewhere). `bash .ci/dev bench`
//! joins those files into `target/bench/results.md`. Each section notes the load average at
//! its start and end, because a figure from a busy machine is not a figure from an idle one.

use std::fmt::Write as _;
use std::path::PathBuf;

pub struct Report {
    name: &'static str,
    text: String,
}

/// `/proc/loadavg`'s 1, 5 and 15 minute averages.
pub fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .ok()
        .map(|s| s.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_else(|| "unknown".into())
}

fn out_dir() -> PathBuf {
    std::env::var_os("BENCH_OUT")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target/bench"))
}

impl Report {
    /// Start the section `## title` for the bench `name`.
    pub fn new(name: &'static str, title: &str) -> Report {
        let mut r = Report {
            name,
            text: String::new(),
        };
        r.line(&format!("## {title}"));
        r.line("");
        r.line(&format!(
            "Load average at start: {} ({} cores).",
            load_average(),
            std::thread::available_parallelism().map_or(1, |n| n.get())
        ));
        r.line("");
        r
    }

    /// Print `line` and keep it for the file.
    pub fn line(&mut self, line: &str) {
        println!("{line}");
        let _ = writeln!(self.text, "{line}");
    }

    /// Note the load at the end and write `target/bench/<name>.md`.
    pub fn finish(mut self) {
        self.line("");
        self.line(&format!("Load average at end: {}.", load_average()));
        self.line("");
        let dir = out_dir();
        let path = dir.join(format!("{}.md", self.name));
        match std::fs::create_dir_all(&dir).and_then(|_| std::fs::write(&path, &self.text)) {
            Ok(()) => println!("written to {}", path.display()),
            Err(e) => eprintln!("could not write {}: {e}", path.display()),
        }
    }
}

/// "met" or "missed" for a figure against an upper bound.
pub fn verdict(value: f64, limit: f64) -> &'static str {
    if value <= limit { "met" } else { "**missed**" }
}

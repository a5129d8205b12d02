//! Reading the log files back, at a bounded cost. A query walks the files from the newest line
//! backwards in fixed-size chunks and stops at the limit, at `since`, or after a read budget,
//! so a request for the last 200 lines reads a few kilobytes however large the folder is. A
//! download copies the files of the last days, oldest first, from handles opened at the
//! start (a rotation during the download renames files, it does not change what is sent).

use std::fs::File;
use std::io::{self, BufRead, BufReader, Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};
use std::time::SystemTime;

use super::FILE_NAME;
use super::entry::{self, Level, LogEntry};

/// Bytes read per step when walking a file backwards.
const CHUNK: usize = 64 * 1024;
/// Longest line kept; a longer one (never written by our formatter) is skipped, so one bad
/// line cannot make a query hold the whole file in memory.
const MAX_LINE: usize = 256 * 1024;
/// Most bytes one query reads. The default rotation keeps 60 MiB; a filter that matches
/// almost nothing reads at most this much and says `truncated`.
pub const READ_BUDGET: u64 = 64 * 1024 * 1024;
/// Threads format their lines before they take the file's lock, so the file is in time order
/// only to within a moment: `since` stops the walk this far before it, not at once.
const ORDER_SLACK_NANOS: i128 = 2_000_000_000;

/// What to read back.
#[derive(Debug, Clone, Copy)]
pub struct Query {
    /// Least severe level returned.
    pub min_level: Level,
    /// Only lines at or after this time (Unix nanoseconds).
    pub since: Option<i128>,
    pub limit: usize,
}

/// The lines found, oldest first.
#[derive(Debug, Default)]
pub struct Found {
    pub entries: Vec<LogEntry>,
    /// Older lines were not looked at: the limit or the read budget was reached first.
    pub truncated: bool,
}

/// The log files in `dir`, newest first: `alchemist.log`, `alchemist.log.1`, ….
pub fn files(dir: &Path) -> io::Result<Vec<PathBuf>> {
    let mut numbered: Vec<(u32, PathBuf)> = Vec::new();
    let entries = match std::fs::read_dir(dir) {
        Ok(e) => e,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(e),
    };
    for e in entries {
        let e = e?;
        let name = e.file_name();
        let Some(name) = name.to_str() else { continue };
        let n = match name.strip_prefix(FILE_NAME) {
            Some("") => 0,
            Some(rest) => match rest.strip_prefix('.').and_then(|n| n.parse::<u32>().ok()) {
                Some(n) => n,
                None => continue,
            },
            None => continue,
        };
        numbered.push((n, e.path()));
    }
    numbered.sort_by_key(|(n, _)| *n);
    Ok(numbered.into_iter().map(|(_, p)| p).collect())
}

/// The newest lines of `dir` that match `q`. Blocking.
pub fn query(dir: &Path, q: &Query) -> io::Result<Found> {
    let mut found = Found::default();
    let mut budget = READ_BUDGET;
    'files: for path in files(dir)? {
        let file = match File::open(&path) {
            Ok(f) => f,
            // Rotated away between the listing and the open: its lines are in the next name.
            Err(e) if e.kind() == io::ErrorKind::NotFound => continue,
            Err(e) => return Err(e),
        };
        let mut lines = Backwards::new(file)?;
        while let Some(line) = lines.next_line(&mut budget)? {
            let Some((at, level)) = entry::head(&line) else {
                continue;
            };
            if let Some(since) = q.since {
                if at < since - ORDER_SLACK_NANOS {
                    break 'files;
                }
                if at < since {
                    continue;
                }
            }
            if level < q.min_level {
                continue;
            }
            if found.entries.len() == q.limit {
                found.truncated = true;
                break 'files;
            }
            if let Some(e) = entry::parse(&line) {
                found.entries.push(e);
            }
        }
        if budget == 0 {
            found.truncated = true;
            break;
        }
    }
    found.entries.reverse();
    Ok(found)
}

/// A file read from its end, one line at a time, within a shared byte budget.
struct Backwards {
    file: File,
    /// Where the bytes not yet read end.
    pos: u64,
    /// Lines cut from the chunks read so far, oldest first (so `pop` gives the newest).
    ready: Vec<Vec<u8>>,
    /// The start of a line whose beginning lies before `pos`.
    partial: Vec<u8>,
    /// `partial` outgrew `MAX_LINE`: drop that line whole.
    oversized: bool,
}

impl Backwards {
    fn new(mut file: File) -> io::Result<Backwards> {
        let pos = file.seek(SeekFrom::End(0))?;
        Ok(Backwards {
            file,
            pos,
            ready: Vec::new(),
            partial: Vec::new(),
            oversized: false,
        })
    }

    fn next_line(&mut self, budget: &mut u64) -> io::Result<Option<Vec<u8>>> {
        loop {
            if let Some(line) = self.ready.pop() {
                return Ok(Some(line));
            }
            if self.pos == 0 || *budget == 0 {
                // The file's first line has no newline before it.
                let first = std::mem::take(&mut self.partial);
                let whole = self.pos == 0 && !self.oversized && !first.is_empty();
                self.pos = 0;
                return Ok(whole.then_some(first));
            }
            let n = (CHUNK as u64).min(self.pos).min(*budget);
            self.pos -= n;
            *budget -= n;
            let mut buf = vec![0u8; n as usize];
            self.file.seek(SeekFrom::Start(self.pos))?;
            self.file.read_exact(&mut buf)?;
            buf.append(&mut self.partial);
            let mut pieces: Vec<&[u8]> = buf.split(|b| *b == b'\n').collect();
            // Everything before the chunk's first newline continues into the previous chunk.
            let head = pieces.remove(0).to_vec();
            if self.oversized {
                if pieces.is_empty() {
                    // Still inside the line that was too long.
                    continue;
                }
                // What follows the last newline is that line's beginning.
                pieces.pop();
                self.oversized = false;
            }
            let complete: Vec<Vec<u8>> = pieces
                .into_iter()
                .filter(|p| !p.is_empty())
                .map(<[u8]>::to_vec)
                .collect();
            self.ready = complete;
            if head.len() > MAX_LINE {
                self.oversized = true;
            } else {
                self.partial = head;
            }
        }
    }
}

/// The files written to since `cutoff`, oldest first, each with its length when opened (the
/// current file grows while it is sent; what came later is not part of this download).
pub fn since_files(dir: &Path, cutoff: SystemTime) -> io::Result<Vec<(File, u64)>> {
    let mut out = Vec::new();
    for path in files(dir)?.into_iter().rev() {
        let file = match File::open(&path) {
            Ok(f) => f,
            Err(e) if e.kind() == io::ErrorKind::NotFound => continue,
            Err(e) => return Err(e),
        };
        let meta = file.metadata()?;
        if meta.modified()? >= cutoff {
            out.push((file, meta.len()));
        }
    }
    Ok(out)
}

/// Copy the lines logged at or after `cutoff` (Unix nanoseconds) from `files` to `out` in
/// pieces of about `CHUNK` bytes; stops when `out` returns false (the client went away).
/// Blocking.
pub fn copy_since(
    files: Vec<(File, u64)>,
    cutoff: i128,
    mut out: impl FnMut(Vec<u8>) -> bool,
) -> io::Result<()> {
    let mut piece = Vec::with_capacity(CHUNK + 1024);
    // Lines are in time order (within a moment): once one is recent enough, the rest are.
    let mut recent = false;
    for (file, len) in files {
        let mut reader = BufReader::new(file.take(len));
        let mut line = Vec::new();
        loop {
            line.clear();
            if reader.read_until(b'\n', &mut line)? == 0 {
                break;
            }
            if !recent {
                match entry::head(line.trim_ascii_end()) {
                    Some((at, _)) if at >= cutoff => recent = true,
                    _ => continue,
                }
            }
            piece.extend_from_slice(&line);
            if !line.ends_with(b"\n") {
                piece.push(b'\n');
            }
            if piece.len() >= CHUNK && !out(std::mem::take(&mut piece)) {
                return Ok(());
            }
        }
    }
    if !piece.is_empty() {
        out(piece);
    }
    Ok(())
}

#[cfg(test)]
#[path = "read_tests.rs"]
mod tests;

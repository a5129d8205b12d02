//! Reading back: newest lines first across files, the filters, the read budget, lines longer
//! than a chunk, and the download's selection.

use std::io::Write;
use std::time::{Duration, SystemTime};

use super::*;

/// A line as the JSON formatter writes it, at `secs` after an arbitrary epoch.
fn line(secs: u32, level: &str, message: &str) -> String {
    let h = secs / 3600;
    let m = (secs / 60) % 60;
    let s = secs % 60;
    format!(
        "{{\"timestamp\":\"2026-12-06T{h:02}:{m:02}:{s:02}.000000Z\",\"level\":\"{level}\",\
         \"fields\":{{\"message\":\"{message}\"}},\"target\":\"alchemist::test\"}}\n"
    )
}

fn at(secs: u32) -> i128 {
    entry::nanos(&format!(
        "2026-12-06T{:02}:{:02}:{:02}Z",
        secs / 3600,
        (secs / 60) % 60,
        secs % 60
    ))
    .unwrap()
}

/// `alchemist.log.2` (oldest) … `alchemist.log` (newest), 100 lines each, 1 s apart; every
/// tenth line a warning, every fiftieth an error.
fn folder() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let mut n: u32 = 0;
    for name in ["alchemist.log.2", "alchemist.log.1", "alchemist.log"] {
        let mut f = std::fs::File::create(dir.path().join(name)).unwrap();
        for _ in 0..100 {
            let level = match n {
                _ if n.is_multiple_of(50) => "ERROR",
                _ if n.is_multiple_of(10) => "WARN",
                _ => "INFO",
            };
            f.write_all(line(n, level, &format!("line {n}")).as_bytes())
                .unwrap();
            n += 1;
        }
    }
    // Not ours: ignored.
    std::fs::write(dir.path().join("alchemist.log.old"), "x\n").unwrap();
    std::fs::write(dir.path().join("other.log"), "x\n").unwrap();
    dir
}

fn messages(found: &Found) -> Vec<String> {
    found.entries.iter().map(|e| e.message.clone()).collect()
}

#[test]
fn files_newest_first() {
    let dir = folder();
    let names: Vec<String> = files(dir.path())
        .unwrap()
        .iter()
        .map(|p| p.file_name().unwrap().to_string_lossy().into_owned())
        .collect();
    assert_eq!(
        names,
        ["alchemist.log", "alchemist.log.1", "alchemist.log.2"]
    );
    assert!(files(&dir.path().join("missing")).unwrap().is_empty());
}

#[test]
fn newest_lines_oldest_first_across_files() {
    let dir = folder();
    let q = Query {
        min_level: Level::Info,
        since: None,
        limit: 3,
    };
    let found = query(dir.path(), &q).unwrap();
    assert_eq!(messages(&found), ["line 297", "line 298", "line 299"]);
    assert!(found.truncated);
    // A limit larger than the current file reaches into the rotated ones.
    let found = query(dir.path(), &Query { limit: 150, ..q }).unwrap();
    assert_eq!(found.entries.len(), 150);
    assert_eq!(found.entries[0].message, "line 150");
    let found = query(dir.path(), &Query { limit: 1000, ..q }).unwrap();
    assert_eq!(found.entries.len(), 300);
    assert!(!found.truncated);
}

#[test]
fn level_and_since_filter() {
    let dir = folder();
    let errors = Query {
        min_level: Level::Error,
        since: None,
        limit: 100,
    };
    let found = query(dir.path(), &errors).unwrap();
    assert_eq!(
        messages(&found),
        [
            "line 0", "line 50", "line 100", "line 150", "line 200", "line 250"
        ]
    );
    let warnings = Query {
        min_level: Level::Warn,
        since: Some(at(200)),
        limit: 100,
    };
    let found = query(dir.path(), &warnings).unwrap();
    assert_eq!(found.entries.len(), 10);
    assert_eq!(found.entries[0].message, "line 200");
    assert_eq!(found.entries[9].message, "line 290");
    assert!(!found.truncated);
    // Debug asks for everything at least as severe as debug: all of it.
    let all = Query {
        min_level: Level::Debug,
        since: Some(at(295)),
        limit: 100,
    };
    assert_eq!(query(dir.path(), &all).unwrap().entries.len(), 5);
}

#[test]
fn long_lines_across_chunks_and_oversized_lines() {
    let dir = tempfile::tempdir().unwrap();
    let long = "y".repeat(CHUNK * 2 + 17);
    let huge = "z".repeat(MAX_LINE + CHUNK * 2);
    let text = [
        line(1, "INFO", "first"),
        line(2, "INFO", &long),
        line(3, "INFO", &huge),
        line(4, "INFO", "last"),
    ]
    .concat();
    std::fs::write(dir.path().join("alchemist.log"), text).unwrap();
    let q = Query {
        min_level: Level::Trace,
        since: None,
        limit: 10,
    };
    let found = query(dir.path(), &q).unwrap();
    // The oversized line is skipped whole; the others come back intact.
    assert_eq!(messages(&found), ["first", long.as_str(), "last"]);
}

#[test]
fn a_query_reads_at_most_its_budget() {
    let dir = folder();
    let file = std::fs::File::open(dir.path().join("alchemist.log")).unwrap();
    let mut lines = Backwards::new(file).unwrap();
    let mut budget = 1000;
    let mut n: u32 = 0;
    while lines.next_line(&mut budget).unwrap().is_some() {
        n += 1;
    }
    assert_eq!(budget, 0);
    // About 1000 bytes of ~110-byte lines, never a torn one.
    assert!((7..=10).contains(&n), "{n}");
}

#[test]
fn download_selects_recent_files_and_lines() {
    let dir = folder();
    // Every file is recent by its time on disk; the lines' own times pick the cut.
    let files = since_files(dir.path(), SystemTime::now() - Duration::from_secs(3600)).unwrap();
    assert_eq!(files.len(), 3);
    let mut out = Vec::new();
    copy_since(files, at(150), |piece| {
        out.extend(piece);
        true
    })
    .unwrap();
    let text = String::from_utf8(out).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 150);
    assert!(lines[0].contains("line 150"), "{}", lines[0]);
    assert!(lines[149].contains("line 299"), "{}", lines[149]);
    // A file last written before the cutoff is left out without being read.
    let later = SystemTime::now() + Duration::from_secs(60);
    assert!(since_files(dir.path(), later).unwrap().is_empty());
}

//! The self-test's checks, each a function answering one or more report lines, in report
//! order ([`all`]); the program and encode checks are in `encode`, reachability in `reach`.
//! Store integrity: redb's `check_integrity` needs the database opened
//! exclusively (`&mut`), which a running server cannot give, so the check copies every row
//! of every table from one read transaction into a fresh file (`Store::snapshot_to`: every
//! page of the live store is read and its rows decoded) and opens the copy read-only as a
//! restore would (`snapshot::inspect_file`: required tables, schema version, row counts).

use std::ffi::OsString;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

use super::encode::{encodes, tool};
use super::{Check, CheckStatus};
use crate::model::count;
use crate::web::AppState;

/// This release was built in this year: a clock before it has not been set (no RTC, no NTP).
const RELEASE_YEAR: i64 = 2026;
/// A clock this many years past the release is not plausible either.
const FUTURE_YEARS: i64 = 20;
/// Free space below this many times the low-space threshold is a warning.
const WARN_FACTOR: u64 = 2;

pub(super) fn line(
    id: impl Into<String>,
    status: CheckStatus,
    message: impl Into<String>,
    detail: Option<String>,
) -> Check {
    Check {
        id: id.into(),
        status,
        message: message.into(),
        detail,
    }
}

pub(super) fn os(args: &[&str]) -> Vec<OsString> {
    args.iter().map(OsString::from).collect()
}

/// Every check, in the order the report lists them.
pub(super) async fn all(state: &AppState) -> Vec<Check> {
    let m = &state.maintenance;
    let data_dir = state
        .store
        .path()
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_default();
    let mut out = vec![
        tool(&m.ffmpeg, "ffmpeg").await,
        tool(&m.ffprobe, "ffprobe").await,
    ];
    out.extend(encodes(state, &data_dir).await);
    out.push(store(state, &data_dir).await);
    out.push(clock());
    let folders = match state.engine.folders.list().await {
        Ok(f) => f.into_iter().map(|f| PathBuf::from(f.path)).collect(),
        Err(e) => {
            out.push(line(
                "folders",
                CheckStatus::Fail,
                "The library folders could not be read.",
                Some(e.to_string()),
            ));
            Vec::new()
        }
    };
    out.extend(space(&folders, m.low_space));
    out.extend(folders.iter().map(|f| write_access(f)));
    out.extend(super::reach::all(state).await);
    out
}

async fn store(state: &AppState, data_dir: &Path) -> Check {
    let dir = data_dir.to_path_buf();
    let checked = state
        .store
        .call(move |s| {
            let tmp = tempfile::Builder::new()
                .prefix(".selftest-")
                .tempdir_in(&dir)
                .map_err(|e| {
                    crate::store::StoreError::Invalid(format!("no temp dir for the copy: {e}"))
                })?;
            let copy = tmp.path().join("copy.redb");
            let live = s.snapshot_to(&copy)?;
            let read = crate::store::snapshot::inspect_file(&copy)?;
            Ok((live, read))
        })
        .await;
    match checked {
        Ok((live, read)) if live.iter().all(|t| read.iter().any(|r| r == t)) => {
            let rows = |name: &str| live.iter().find(|t| t.name == name).map_or(0, |t| t.rows);
            line(
                "store",
                CheckStatus::Pass,
                format!(
                    "The store reads back whole: {}, {}, {}.",
                    count(live.len(), "table", "tables"),
                    count(rows("jobs"), "job", "jobs"),
                    count(rows("settings"), "setting", "settings")
                ),
                Some(
                    live.iter()
                        .map(|t| format!("{} {}", t.name, t.rows))
                        .collect::<Vec<_>>()
                        .join(", "),
                ),
            )
        }
        Ok(_) => line(
            "store",
            CheckStatus::Fail,
            "A copy of the store does not hold the rows read from it.",
            None,
        ),
        Err(e) => line(
            "store",
            CheckStatus::Fail,
            "The store could not be read whole.",
            Some(e.to_string()),
        ),
    }
}

/// `1.5 GiB`, as the pages write sizes.
fn size(bytes: u64) -> String {
    crate::model::human_bytes(bytes as f64)
}

fn clock() -> Check {
    let now = crate::model::now_ms();
    let stamp = crate::model::rfc3339(now);
    let year: i64 = stamp.get(..4).and_then(|y| y.parse().ok()).unwrap_or(0);
    // `2026-12-06 13:24:22 UTC`: to the second, in words a person reads.
    let text = format!(
        "{} UTC",
        stamp.get(..19).unwrap_or(&stamp).replace('T', " ")
    );
    if year < RELEASE_YEAR {
        line(
            "clock",
            CheckStatus::Fail,
            format!(
                "The clock says {text}, before this release was made: it is not set (check NTP)."
            ),
            None,
        )
    } else if year > RELEASE_YEAR + FUTURE_YEARS {
        line(
            "clock",
            CheckStatus::Warn,
            format!("The clock says {text}, far in the future."),
            None,
        )
    } else {
        line(
            "clock",
            CheckStatus::Pass,
            format!("The clock says {text}."),
            None,
        )
    }
}

/// Free space per filesystem holding a library folder (each filesystem once), against the
/// low-space threshold of `[notifications]`: below it fail, below twice it warn.
fn space(folders: &[PathBuf], settings: crate::config::LowSpaceSettings) -> Vec<Check> {
    let mut seen = Vec::new();
    let mut out = Vec::new();
    for folder in folders {
        let Ok(meta) = std::fs::metadata(folder) else {
            continue; // the write check reports a missing folder
        };
        if seen.contains(&meta.dev()) {
            continue;
        }
        seen.push(meta.dev());
        let id = format!("space:{}", folder.display());
        match crate::process::disk_space(folder) {
            Ok(s) => {
                let limit = crate::engine::notify::space::threshold(s.total, settings);
                let (free, total) = (size(s.free), size(s.total));
                let detail = Some(format!("{free} free of {total}; low below {}", size(limit)));
                let status = if s.free < limit {
                    CheckStatus::Fail
                } else if s.free < limit.saturating_mul(WARN_FACTOR) {
                    CheckStatus::Warn
                } else {
                    CheckStatus::Pass
                };
                out.push(line(
                    id,
                    status,
                    format!("{free} free on the filesystem of {}.", folder.display()),
                    detail,
                ));
            }
            Err(e) => out.push(line(
                id,
                CheckStatus::Fail,
                format!("The free space of {} is unknown.", folder.display()),
                Some(e.to_string()),
            )),
        }
    }
    out
}

/// Create and remove a new hidden file in the folder: `create_new` never opens an existing
/// file, so nothing in the library is touched.
fn write_access(folder: &Path) -> Check {
    let id = format!("write:{}", folder.display());
    let probe = || -> std::io::Result<()> {
        let mut bytes = [0u8; 6];
        let _ = getrandom::fill(&mut bytes);
        let path = folder.join(format!(".alchemist-selftest-{}", hex::encode(bytes)));
        let file = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&path)?;
        let synced = file.sync_all();
        drop(file);
        std::fs::remove_file(&path)?;
        synced
    };
    match probe() {
        Ok(()) => line(
            id,
            CheckStatus::Pass,
            format!("{} is writable.", folder.display()),
            None,
        ),
        Err(e) => line(
            id,
            CheckStatus::Fail,
            format!(
                "{} cannot be written: encoded files could not be put there.",
                folder.display()
            ),
            Some(e.to_string()),
        ),
    }
}

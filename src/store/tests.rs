//! Store tests on a real redb file in a temp dir.

use std::path::PathBuf;

use super::*;
use crate::model::{AttemptOutcome, JobEvent, JobId, JobState, LogLevel, now_ms, rfc3339};

fn file(path: &str, size: u64) -> ScannedFile {
    ScannedFile {
        path: PathBuf::from(path),
        size,
        mtime_ns: 1,
        inode: size,
        dev: 1,
        folder_id: Some(1),
    }
}

fn open() -> (tempfile::TempDir, Store) {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
    (dir, store)
}

#[test]
fn scan_upsert_is_idempotent_and_requeues_changed_files() {
    let (_dir, store) = open();
    let out = store
        .upsert_scanned(&[file("/m/a.mkv", 10), file("/m/b.mkv", 20)])
        .unwrap();
    assert!(matches!(
        out[..],
        [ScanOutcome::Queued(_), ScanOutcome::Queued(_)]
    ));
    let again = store.upsert_scanned(&[file("/m/a.mkv", 10)]).unwrap();
    assert_eq!(again, vec![ScanOutcome::Unchanged]);
    // Finish a, then change its size: it is queued again.
    let job = store.claim_next().unwrap().unwrap();
    store
        .transition_job(job.id, JobEvent::Fail, |_| {})
        .unwrap();
    let changed = store
        .upsert_scanned(&[file(&job.input_path.to_string_lossy(), 11)])
        .unwrap();
    assert_eq!(changed, vec![ScanOutcome::Requeued(job.id)]);
    assert_eq!(store.get_job(job.id).unwrap().status, JobState::Queued);
}

#[test]
fn claim_follows_priority_then_age_and_counts_attempts() {
    let (_dir, store) = open();
    store
        .upsert_scanned(&[
            file("/m/1.mkv", 1),
            file("/m/2.mkv", 2),
            file("/m/3.mkv", 3),
        ])
        .unwrap();
    store
        .update_job(JobId(3), |j| {
            j.priority = 5;
            Ok(())
        })
        .unwrap();
    let order: Vec<u64> = (0..3)
        .map(|_| store.claim_next().unwrap().unwrap().id.0)
        .collect();
    assert_eq!(order, vec![3, 1, 2]);
    assert!(store.claim_next().unwrap().is_none());
    let job = store.get_job(JobId(1)).unwrap();
    assert_eq!((job.status, job.attempt_count), (JobState::Analyzing, 1));
    assert_eq!(store.status_counts().active(), 3);
}

#[test]
fn invalid_transitions_change_nothing() {
    let (_dir, store) = open();
    store.upsert_scanned(&[file("/m/a.mkv", 1)]).unwrap();
    assert!(matches!(
        store.transition_job(JobId(1), JobEvent::Complete, |_| {}),
        Err(StoreError::Conflict(_))
    ));
    assert_eq!(store.get_job(JobId(1)).unwrap().status, JobState::Queued);
    assert!(matches!(store.get_job(JobId(9)), Err(StoreError::NotFound)));
}

#[test]
fn batch_restart_is_all_or_nothing_and_archive_refuses_active() {
    let (_dir, store) = open();
    store
        .upsert_scanned(&[file("/m/a.mkv", 1), file("/m/b.mkv", 2)])
        .unwrap();
    let a = store.claim_next().unwrap().unwrap();
    store.transition_job(a.id, JobEvent::Fail, |_| {}).unwrap();
    let b = store.claim_next().unwrap().unwrap(); // active
    let blocked = store
        .transition_all(&[a.id, b.id], JobEvent::Restart, |_| {})
        .unwrap()
        .unwrap_err();
    assert_eq!(blocked, vec![(b.id, Some(JobState::Analyzing))]);
    assert_eq!(store.get_job(a.id).unwrap().status, JobState::Failed);
    assert!(store.archive(&[a.id, b.id]).unwrap().is_err());
    assert_eq!(store.archive(&[a.id]).unwrap().unwrap(), 1);
    assert!(store.get_job(a.id).unwrap().archived);
}

#[test]
fn logs_keep_the_newest_lines() {
    let (_dir, store) = open();
    store.upsert_scanned(&[file("/m/a.mkv", 1)]).unwrap();
    let lines: Vec<(LogLevel, String)> = (0..logs::MAX_LOG_LINES + 20)
        .map(|i| (LogLevel::Info, format!("line {i}")))
        .collect();
    store.append_logs(JobId(1), &lines).unwrap();
    let kept = store.job_logs(JobId(1), 1000).unwrap();
    assert_eq!(kept.len() as u64, logs::MAX_LOG_LINES);
    assert_eq!(kept.first().unwrap().message, "line 20");
    assert_eq!(
        kept.last().unwrap().message,
        format!("line {}", logs::MAX_LOG_LINES + 19)
    );
}

#[test]
fn tokens_and_sessions() {
    let (_dir, store) = open();
    let t = store
        .create_token("ci", AccessLevel::ReadOnly, b"hash-1")
        .unwrap();
    assert_eq!(store.token_by_hash(b"hash-1").unwrap().unwrap().id, t.id);
    store.revoke_token(t.id).unwrap();
    assert!(store.token_by_hash(b"hash-1").unwrap().is_none());
    assert!(store.list_tokens().unwrap()[0].revoked_at.is_some());

    store.create_user("admin", "$argon2id$x").unwrap();
    assert!(store.create_user("admin", "$argon2id$y").is_err());
    store.create_session(b"s1", "admin", 60_000).unwrap();
    assert!(store.touch_session(b"s1", 60_000).unwrap().is_some());
    store.create_session(b"old", "admin", -1).unwrap();
    assert!(
        store.touch_session(b"old", 60_000).unwrap().is_none(),
        "expired"
    );
    store.create_session(b"s2", "admin", 60_000).unwrap();
    assert!(!store.delete_session(b"never-issued").unwrap());
    assert!(store.delete_session(b"s2").unwrap());
    assert!(!store.delete_session(b"s2").unwrap(), "ended once");
    store.set_password("admin", "$argon2id$z").unwrap();
    assert!(
        store.touch_session(b"s1", 60_000).unwrap().is_none(),
        "password change ends sessions"
    );
}

#[test]
fn completion_records_stats_that_archiving_keeps() {
    let (_dir, store) = open();
    store.upsert_scanned(&[file("/m/a.mkv", 1000)]).unwrap();
    let job = store.claim_next().unwrap().unwrap();
    store
        .transition_job(job.id, JobEvent::StartEncode, |_| {})
        .unwrap();
    let result = EncodeResult {
        job_id: job.id,
        input_path: job.input_path.clone(),
        folder: Some(PathBuf::from("/m")),
        codec: "hevc".into(),
        input_size: 1000,
        output_size: 400,
        encode_seconds: 2.5,
        completed_at: now_ms(),
        original: None,
    };
    let attempt = Attempt {
        number: 1,
        started_at: rfc3339(now_ms()),
        finished_at: rfc3339(now_ms()),
        outcome: AttemptOutcome::Completed,
        failure_code: None,
        encoder: Some("libx265".into()),
        input_size_bytes: 1000,
        output_size_bytes: Some(400),
        wall_seconds: 2.5,
    };
    let end = RunEnd::new(JobEvent::Complete, |_| {}).with_result(result);
    store.finish_run(job.id, &attempt, end).unwrap();
    assert_eq!(store.attempts(job.id).unwrap(), vec![attempt]);
    let agg = store.aggregated().unwrap();
    assert_eq!(
        (agg.total_input_bytes, agg.total_savings_bytes),
        (1000, 600)
    );
    assert_eq!(agg.savings_percent, 60.0);
    let daily = store.daily().unwrap();
    assert_eq!(daily.len(), 30);
    assert_eq!(daily.last().unwrap().jobs_completed, 1);
    assert_eq!(store.archive_completed().unwrap(), 1);
    assert_eq!(store.aggregated().unwrap(), agg);
    let savings = store.savings().unwrap();
    assert_eq!(savings.by_codec[0].codec, "hevc");
    assert_eq!(savings.by_folder[0].bytes_saved, 600);
}

#[test]
fn data_survives_reopen() {
    let dir = tempfile::tempdir().unwrap();
    {
        let store = Store::open(dir.path()).unwrap();
        store.upsert_scanned(&[file("/m/a.mkv", 1)]).unwrap();
        let state = EngineState {
            run_state: crate::model::EngineRunState::Paused,
            ..Default::default()
        };
        store.set_engine_state(&state).unwrap();
    }
    let store = Store::open(dir.path()).unwrap();
    assert_eq!(store.job_count(), 1);
    assert_eq!(
        store
            .job_id_by_path(std::path::Path::new("/m/a.mkv"))
            .unwrap(),
        Some(JobId(1))
    );
    assert_eq!(
        store.engine_state().unwrap().run_state,
        crate::model::EngineRunState::Paused
    );
}

#[test]
fn open_waits_for_the_lock_to_be_released() {
    let (dir, first) = open();
    let release = std::thread::spawn(move || {
        std::thread::sleep(std::time::Duration::from_millis(200));
        drop(first);
    });
    // Fails at once without the wait: the first handle holds the file lock.
    let second = Store::open(dir.path());
    release.join().unwrap();
    assert!(second.is_ok(), "{:?}", second.err());
}

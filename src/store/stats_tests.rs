//! The savings split on a real store: kept originals are potential savings, replaced and
//! deleted ones realized, a restore that removed the output counts in neither, and a job
//! encoded twice counts once (its latest encode), in the totals and in the day's figure.

use std::path::PathBuf;

use redb::ReadableTable;

use super::super::records::{Attempt, EncodeResult, TrashEntry, TrashState};
use super::super::{RunEnd, ScannedFile, Store};
use crate::model::{AttemptOutcome, JobEvent, JobId, OriginalPolicy, now_ms, rfc3339};

fn open() -> (tempfile::TempDir, Store) {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
    (dir, store)
}

/// Queue `path`, run it to completion with `input → output` bytes and `original` applied.
fn encode(store: &Store, path: &str, input: u64, output: u64, original: OriginalPolicy) -> JobId {
    store
        .upsert_scanned(&[ScannedFile {
            path: PathBuf::from(path),
            size: input,
            mtime_ns: 1,
            dev: 1,
            inode: input,
            folder_id: Some(1),
        }])
        .unwrap();
    let id = store.job_id_by_path(path.as_ref()).unwrap().unwrap();
    complete(store, id, input, output, original);
    id
}

/// Claim the (only) queued job `id` and complete it.
fn complete(store: &Store, id: JobId, input: u64, output: u64, original: OriginalPolicy) {
    let job = store.claim_next().unwrap().unwrap();
    assert_eq!(job.id, id);
    store
        .transition_job(id, JobEvent::StartEncode, |_| {})
        .unwrap();
    let result = EncodeResult {
        job_id: id,
        input_path: job.input_path.clone(),
        folder: Some(PathBuf::from("/m")),
        codec: "hevc".into(),
        input_size: input,
        output_size: output,
        encode_seconds: 1.0,
        completed_at: now_ms(),
        original: Some(original),
    };
    let attempt = Attempt {
        number: job.attempt_count,
        started_at: rfc3339(now_ms()),
        finished_at: rfc3339(now_ms()),
        outcome: AttemptOutcome::Completed,
        failure_code: None,
        encoder: Some("libx265".into()),
        input_size_bytes: input,
        output_size_bytes: Some(output),
        wall_seconds: 1.0,
    };
    let end = RunEnd::new(JobEvent::Complete, |_| {}).with_result(result);
    store.finish_run(id, &attempt, end).unwrap();
}

fn trash(store: &Store, id: JobId, state: TrashState, output_removed: bool) {
    let p = |s: &str| PathBuf::from(format!("/m/{s}{}", id.0));
    store
        .trash_put(&TrashEntry {
            job_id: id.0,
            original_path: p("orig"),
            trash_path: p(".alchemist-trash/orig"),
            output_path: p("out"),
            final_path: p("orig"),
            original_inode: 1,
            output_inode: 2,
            attempt: 1,
            state,
            created_at: now_ms(),
            updated_at: now_ms(),
            output_removed,
        })
        .unwrap();
}

#[test]
fn kept_originals_are_potential_replaced_and_deleted_ones_realized() {
    let (_dir, store) = open();
    encode(&store, "/m/keep.mkv", 1000, 300, OriginalPolicy::Keep);
    let replaced = encode(&store, "/m/replace.mkv", 2000, 500, OriginalPolicy::Replace);
    trash(&store, replaced, TrashState::Trashed, false);
    let deleted = encode(&store, "/m/delete.mkv", 4000, 1000, OriginalPolicy::Delete);
    trash(&store, deleted, TrashState::Purged, false);
    let agg = store.aggregated().unwrap();
    assert_eq!(agg.split.potential_savings_bytes, 700);
    assert_eq!(agg.split.realized_savings_bytes, 1500 + 3000);
    // Only the replaced original still takes room, in the trash.
    assert_eq!(agg.split.in_trash_bytes, 2000);
    // Of what was freed, the replaced file's saving waits for the trash to be emptied.
    assert_eq!(agg.split.in_trash_savings_bytes, 1500);
    assert_eq!(agg.total_savings_bytes, 700 + 1500 + 3000);
    let savings = store.savings().unwrap();
    assert_eq!(savings.split, agg.split);
    assert_eq!(savings.total_bytes_saved, agg.total_savings_bytes);
}

#[test]
fn a_restored_original_frees_nothing() {
    let (_dir, store) = open();
    let undone = encode(&store, "/m/undone.mkv", 1000, 200, OriginalPolicy::Replace);
    trash(&store, undone, TrashState::Restored, true);
    let beside = encode(&store, "/m/beside.mkv", 1000, 400, OriginalPolicy::Replace);
    trash(&store, beside, TrashState::Restored, false);
    let split = store.aggregated().unwrap().split;
    assert_eq!(split.realized_savings_bytes, 0);
    // Restored with the output left beside it: both copies are on disk again.
    assert_eq!(split.potential_savings_bytes, 600);
    assert_eq!(split.in_trash_bytes, 0);
}

#[test]
fn a_job_encoded_twice_counts_once() {
    let (_dir, store) = open();
    let id = encode(&store, "/m/twice.mkv", 1000, 600, OriginalPolicy::Keep);
    store.transition_job(id, JobEvent::Restart, |_| {}).unwrap();
    complete(&store, id, 1000, 250, OriginalPolicy::Keep);
    let agg = store.aggregated().unwrap();
    assert_eq!((agg.total_input_bytes, agg.total_output_bytes), (1000, 250));
    assert_eq!(agg.split.potential_savings_bytes, 750);
    assert_eq!(store.savings().unwrap().by_codec[0].bytes_saved, 750);
    assert_eq!(store.savings().unwrap().by_codec[0].jobs, 1);
    // The day's figure moved to the latest encode, and encode time counts both runs.
    assert_eq!(store.daily().unwrap().last().unwrap().bytes_saved, 750);
    assert_eq!(agg.total_encode_seconds, 2.0);
    assert_eq!(store.work_totals().unwrap(), (2000, 850, 2.0));
}

#[test]
fn records_from_before_the_policy_was_kept_use_the_trash() {
    let (_dir, store) = open();
    let id = encode(&store, "/m/old.mkv", 1000, 100, OriginalPolicy::Keep);
    // An older record has no policy: its trash entry says the original was replaced.
    let _ = store.write(|txn| {
        let mut t = txn.open_table(super::super::tables::ENCODE_RESULTS)?;
        let mut r: EncodeResult = {
            let v = t.get(id.0)?.unwrap();
            super::super::codec::decode(v.value())?
        };
        r.original = None;
        t.insert(id.0, super::super::codec::encode(&r).as_slice())?;
        Ok(())
    });
    assert_eq!(
        store.aggregated().unwrap().split.potential_savings_bytes,
        900
    );
    trash(&store, id, TrashState::Purged, false);
    assert_eq!(
        store.aggregated().unwrap().split.realized_savings_bytes,
        900
    );
}

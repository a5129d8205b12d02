//! `original = "replace"`: the original moves to `.alchemist-trash/` only after the verified
//! output is in place, the output takes its name, and restore brings it back. Crash recovery of
//! a replacement interrupted at each step is checked on a real store and real files.

use std::ffi::OsStr;
use std::os::unix::fs::MetadataExt;
use std::path::Path;

use alchemist::model::{CpuEncoder, JobId, OriginalPolicy};
use alchemist::originals::{forward, plan_entry, recover};
use alchemist::store::{ScannedFile, Store, TrashState};
use serde_json::json;

use crate::support::api::post;
use crate::support::clips::{copy_into, h264_clip};
use crate::support::files::{dir_names, library, sha256, video_codec};
use crate::support::jobs::enqueue;
use crate::support::sse::events_until_status;
use crate::support::{SHORT_JOB, TestServer};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn replace_trashes_the_original_after_the_output_and_restore_brings_it_back() {
    let server = TestServer::start_with(|c| {
        c.transcode.encoder = CpuEncoder::Libx265;
        c.transcode.preset = Some("ultrafast".into());
        c.transcode.original = OriginalPolicy::Replace;
    })
    .await;
    let token = server.login().await;
    let lib = library(server.tmp.path());
    let input = copy_into(&lib, h264_clip(), OsStr::new("my movie.mp4"));
    let original_sha = sha256(&input);
    server.add_folder(&token, &lib).await;
    let mut sse = server.events(&token, None).await;
    let id = enqueue(&server, &token, &input).await;
    events_until_status(&mut sse, id, "completed", SHORT_JOB).await;

    // The output has the original's name; the original is in the trash, byte-identical.
    assert_eq!(video_codec(&input), "hevc");
    let trashed = lib
        .join(".alchemist-trash")
        .join(id.to_string())
        .join("my movie.mp4");
    assert_eq!(sha256(&trashed), original_sha);
    assert_eq!(dir_names(&lib), vec![".alchemist-trash", "my movie.mp4"]);
    let list = server.get_json("/api/trash", &token).await;
    assert_eq!(list.as_array().unwrap().len(), 1, "{list:#}");
    assert_eq!(list[0]["state"], "trashed");
    assert_eq!(list[0]["job_id"], id);

    // Restore: the original is back, the output beside it under its own name.
    let (status, body) = post(
        &server,
        &token,
        &format!("/api/trash/{id}/restore"),
        json!({}),
    )
    .await;
    assert_eq!(status, 200, "{body:#}");
    assert_eq!(body["state"], "restored");
    assert_eq!(sha256(&input), original_sha);
    let output = lib.join("my movie.alchemist.mp4");
    assert_eq!(video_codec(&output), "hevc");
    assert_eq!(
        dir_names(&lib),
        vec!["my movie.alchemist.mp4", "my movie.mp4"]
    );
    let (status, body) = post(
        &server,
        &token,
        &format!("/api/trash/{id}/restore"),
        json!({}),
    )
    .await;
    assert_eq!(status, 409, "{body:#}");
    let (status, _) = post(&server, &token, "/api/trash/999/restore", json!({})).await;
    assert_eq!(status, 404);

    // A rescan leaves the restored original alone: encoding it again would undo the restore.
    crate::support::jobs::start_scan(&server, &token).await;
    let (done, _) = sse
        .until(crate::support::PROMPT, |e| e.event == "scan_completed")
        .await;
    assert_eq!(done.data["queued"], 0, "{}", done.data);
    server.stop().await;
}

/// A store with job 1 for `film.mkv`, claimed (active, as during a run), and the two files.
fn setup(dir: &Path) -> (Store, std::path::PathBuf, std::path::PathBuf) {
    let store = Store::open(&dir.join("data")).unwrap();
    let original = dir.join("film.mkv");
    let output = dir.join("film.alchemist.mkv");
    std::fs::write(&original, b"original bytes").unwrap();
    std::fs::write(&output, b"verified output").unwrap();
    store
        .upsert_scanned(&[ScannedFile {
            path: original.clone(),
            size: 14,
            mtime_ns: 0,
            inode: 1,
            dev: 1,
            folder_id: None,
        }])
        .unwrap();
    let job = store.claim_next().unwrap().unwrap();
    assert_eq!(job.id, JobId(1));
    (store, original, output)
}

#[test]
fn interrupted_replacements_are_undone_at_every_step() {
    // Each case stops the forward sequence at a different point, as a crash would.
    for step in 0..5 {
        let tmp = tempfile::tempdir().unwrap();
        let (store, original, output) = setup(tmp.path());
        let mut entry = plan_entry(JobId(1), 1, &original, &output).unwrap();
        store.trash_put(&entry).unwrap();
        let trash = entry.trash_path.clone();
        std::fs::create_dir_all(trash.parent().unwrap()).unwrap();
        match step {
            0 => {}                                              // nothing moved yet
            1 => std::fs::hard_link(&original, &trash).unwrap(), // linked, not unlinked
            2 => std::fs::rename(&original, &trash).unwrap(),    // original in the trash
            3 => {
                // ...and the output linked to the original's name, not yet unlinked.
                std::fs::rename(&original, &trash).unwrap();
                std::fs::hard_link(&output, &original).unwrap();
            }
            _ => {
                // The whole sequence ran; the job (still active) never committed `completed`.
                forward(&store, &mut entry).unwrap();
                assert_eq!(std::fs::read(&original).unwrap(), b"verified output");
            }
        }
        let restored = recover(&store, 30).unwrap();
        assert_eq!(restored, vec![original.clone()], "step {step}");
        assert_eq!(
            std::fs::read(&original).unwrap(),
            b"original bytes",
            "step {step}"
        );
        assert_eq!(
            std::fs::read(&output).unwrap(),
            b"verified output",
            "step {step}"
        );
        assert!(!trash.exists(), "step {step}");
        assert_eq!(
            store.trash_get(1).unwrap().unwrap().state,
            TrashState::Restored
        );
        // A second boot changes nothing.
        assert!(recover(&store, 30).unwrap().is_empty());
    }
}

/// A crash mid-replacement whose undo cannot finish (the original's name was taken by a new
/// file while the box was down) does not keep the box from starting: the original stays in
/// the trash, the new file is not touched, the job is failed (not run again over the half
/// done replacement), and a strange trash folder beside an original still in place is no
/// obstacle either.
#[test]
fn an_undo_that_cannot_finish_stops_its_job_and_lets_the_box_start() {
    let tmp = tempfile::tempdir().unwrap();
    let (store, original, output) = setup(tmp.path());
    let mut entry = plan_entry(JobId(1), 1, &original, &output).unwrap();
    store.trash_put(&entry).unwrap();
    forward(&store, &mut entry).unwrap();
    // The output took the original's name; a fresh download takes the output's old name.
    std::fs::write(&output, b"a new download").unwrap();
    let restored = recover(&store, 30).unwrap();
    assert!(restored.is_empty());
    assert_eq!(std::fs::read(&entry.trash_path).unwrap(), b"original bytes");
    assert_eq!(std::fs::read(&original).unwrap(), b"verified output");
    assert_eq!(std::fs::read(&output).unwrap(), b"a new download");
    let job = store.get_job(JobId(1)).unwrap();
    assert_eq!(job.status, alchemist::model::JobState::Failed);
    assert!(
        job.failure
            .as_ref()
            .unwrap()
            .summary
            .contains("could not be put back"),
        "{job:?}"
    );
    assert!(job.retry_at.is_none());
    // The next boot tries again and changes nothing.
    assert!(recover(&store, 30).unwrap().is_empty());
    assert_eq!(std::fs::read(&entry.trash_path).unwrap(), b"original bytes");

    // An interrupted replacement that never moved the original, beside a trash folder
    // replaced by a link: undone, the original in place.
    let tmp = tempfile::tempdir().unwrap();
    let (store, original, output) = setup(tmp.path());
    let entry = plan_entry(JobId(1), 1, &original, &output).unwrap();
    store.trash_put(&entry).unwrap();
    std::os::unix::fs::symlink(
        tmp.path().join("elsewhere"),
        tmp.path().join(".alchemist-trash"),
    )
    .unwrap();
    assert_eq!(recover(&store, 30).unwrap(), vec![original.clone()]);
    assert_eq!(std::fs::read(&original).unwrap(), b"original bytes");
    assert_eq!(
        store.trash_get(1).unwrap().unwrap().state,
        TrashState::Restored
    );
}

#[test]
fn forward_never_overwrites_and_checks_inodes() {
    let tmp = tempfile::tempdir().unwrap();
    let (store, original, output) = setup(tmp.path());
    let mut entry = plan_entry(JobId(1), 1, &original, &output).unwrap();
    // The original was swapped for another file after planning: it is not ours to move.
    let other = tmp.path().join("other");
    std::fs::write(&other, b"someone else's file").unwrap();
    std::fs::rename(&other, &original).unwrap();
    assert_ne!(
        std::fs::metadata(&original).unwrap().ino(),
        entry.original_inode
    );
    store.trash_put(&entry).unwrap();
    assert!(forward(&store, &mut entry).is_err());
    assert_eq!(std::fs::read(&original).unwrap(), b"someone else's file");
    assert_eq!(std::fs::read(&output).unwrap(), b"verified output");
}

#[test]
fn a_completed_replacement_survives_reboots_and_expires_into_purge() {
    let tmp = tempfile::tempdir().unwrap();
    let (store, original, output) = setup(tmp.path());
    let mut entry = plan_entry(JobId(1), 1, &original, &output).unwrap();
    store.trash_put(&entry).unwrap();
    forward(&store, &mut entry).unwrap();
    // Not yet committed: recovery would undo. Commit the job like the engine does.
    store
        .transition_job(JobId(1), alchemist::model::JobEvent::Fail, |_| {})
        .unwrap();
    assert!(recover(&store, 30).unwrap().is_empty());
    assert_eq!(std::fs::read(&original).unwrap(), b"verified output");
    assert!(entry.trash_path.exists());
    // A later run of the same job is interrupted: it is not the run that replaced, so the
    // replacement stays.
    store
        .transition_job(JobId(1), alchemist::model::JobEvent::Restart, |_| {})
        .unwrap();
    assert_eq!(store.claim_next().unwrap().unwrap().attempt_count, 2);
    assert!(recover(&store, 30).unwrap().is_empty());
    assert_eq!(std::fs::read(&original).unwrap(), b"verified output");
    store
        .transition_job(JobId(1), alchemist::model::JobEvent::Fail, |_| {})
        .unwrap();
    // With 0 days kept, the next boot purges the trashed original.
    assert!(recover(&store, 0).unwrap().is_empty());
    assert_eq!(
        store.trash_get(1).unwrap().unwrap().state,
        TrashState::Purged
    );
    assert!(!entry.trash_path.exists());
    assert!(!tmp.path().join(".alchemist-trash").exists());
}

#[test]
fn delete_policy_removes_the_original_only_after_the_output_took_its_place() {
    let tmp = tempfile::tempdir().unwrap();
    let (store, original, output) = setup(tmp.path());
    let mut entry = plan_entry(JobId(1), 1, &original, &output).unwrap();
    store.trash_put(&entry).unwrap();
    forward(&store, &mut entry).unwrap();
    alchemist::originals::purge(&store, &mut entry).unwrap();
    assert_eq!(std::fs::read(&original).unwrap(), b"verified output");
    assert!(!output.exists());
    assert!(!entry.trash_path.exists());
    assert_eq!(
        store.trash_get(1).unwrap().unwrap().state,
        TrashState::Purged
    );
    // Nothing left to restore or recover.
    assert!(recover(&store, 30).unwrap().is_empty());
}

#[test]
fn runtime_purge_skips_replacements_whose_job_is_running() {
    let tmp = tempfile::tempdir().unwrap();
    let (store, original, output) = setup(tmp.path());
    let mut entry = plan_entry(JobId(1), 1, &original, &output).unwrap();
    store.trash_put(&entry).unwrap();
    forward(&store, &mut entry).unwrap();
    use alchemist::originals::purge_expired;
    assert_eq!(
        purge_expired(&store, 0).unwrap(),
        0,
        "job 1 is still active"
    );
    assert!(entry.trash_path.exists());
    store
        .transition_job(JobId(1), alchemist::model::JobEvent::Fail, |_| {})
        .unwrap();
    assert_eq!(purge_expired(&store, 30).unwrap(), 0, "not expired yet");
    assert_eq!(purge_expired(&store, 0).unwrap(), 1);
    assert!(!entry.trash_path.exists());
    assert_eq!(std::fs::read(&original).unwrap(), b"verified output");
}

//! The job index built in the background: changes committed while it builds are in it once
//! it is ready, readers wait for it, a broken record fails it without hanging anyone, and a
//! store closed mid-build lets go of its file.

use std::path::PathBuf;

use super::*;
use crate::model::{JobEvent, JobId, JobState};

fn jobs(n: u64) -> Vec<Job> {
    (0..n)
        .map(|i| Job {
            updated_at: i as i64,
            input_size: i,
            ..Job::queued(JobId(0), PathBuf::from(format!("/m/Show {i}.mkv")), 0)
        })
        .collect()
}

fn all(store: &Store) -> (Vec<u64>, usize) {
    let q = JobQuery {
        limit: 10_000,
        ..Default::default()
    };
    let (listed, total, _) = store.list_jobs(&q).unwrap();
    (listed.iter().map(|j| j.id.0).collect(), total)
}

#[test]
fn changes_made_while_the_index_builds_are_in_it_when_ready() {
    let dir = tempfile::tempdir().unwrap();
    Store::open(dir.path())
        .unwrap()
        .insert_jobs_bulk(jobs(300))
        .unwrap();
    let (store, loader) = Store::open_deferred(dir.path()).unwrap();
    assert_eq!(
        store.index_status(),
        IndexStatus::Loading {
            loaded: 0,
            total: 0
        }
    );
    // Committed after the snapshot the build reads: kept aside, applied on top of it.
    store.insert_jobs_bulk(jobs(2)).unwrap();
    store
        .transition_job(JobId(5), JobEvent::Claim, |_| {})
        .unwrap();
    store
        .update_job(JobId(7), |j| {
            j.archived = true;
            Ok(())
        })
        .unwrap();
    assert!(matches!(store.index_status(), IndexStatus::Loading { .. }));
    loader.start();
    // Waits for the build.
    let (ids, total) = all(&store);
    assert_eq!(store.index_status(), IndexStatus::Ready);
    assert_eq!(total, 301, "302 jobs, one archived");
    assert!(ids.contains(&301) && ids.contains(&302) && !ids.contains(&7));
    // Job 5 moved to the end of the updated_at order when it was claimed.
    assert_eq!(ids.last(), Some(&5));
    let counts = store.status_counts();
    assert_eq!(counts.get(JobState::Analyzing), 1);
    assert_eq!(counts.get(JobState::Queued), 300);
}

#[test]
fn a_dropped_loader_starts_the_build() {
    let dir = tempfile::tempdir().unwrap();
    Store::open(dir.path())
        .unwrap()
        .insert_jobs_bulk(jobs(3))
        .unwrap();
    let (store, loader) = Store::open_deferred(dir.path()).unwrap();
    drop(loader);
    assert_eq!(store.job_count(), 3);
}

#[test]
fn an_unreadable_record_fails_the_index_without_hanging_readers() {
    let dir = tempfile::tempdir().unwrap();
    {
        let store = Store::open(dir.path()).unwrap();
        store.insert_jobs_bulk(jobs(3)).unwrap();
        store
            .write(|txn| {
                txn.open_table(tables::JOBS)?
                    .insert(2, b"\x01{not json".as_slice())?;
                Ok(())
            })
            .unwrap();
    }
    let store = Store::open(dir.path()).unwrap();
    let listed = store.list_jobs(&JobQuery::default());
    assert!(matches!(listed, Err(StoreError::Corrupt(_))), "{listed:?}");
    assert!(matches!(store.index_status(), IndexStatus::Failed(_)));
    assert_eq!(store.status_counts(), StatusCounts::default());
    // The rest of the store works.
    assert_eq!(store.get_job(JobId(1)).unwrap().id, JobId(1));
}

#[test]
fn a_store_closed_while_its_index_builds_can_be_opened_again() {
    let dir = tempfile::tempdir().unwrap();
    Store::open(dir.path())
        .unwrap()
        .insert_jobs_bulk(jobs(20_000))
        .unwrap();
    for _ in 0..3 {
        drop(Store::open(dir.path()).unwrap());
    }
    let store = Store::open(dir.path()).unwrap();
    assert_eq!(all(&store).1, 20_000);
}

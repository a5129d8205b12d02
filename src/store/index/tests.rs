//! Tests of the in-memory job list index: filters, search over the path arena, paging paths,
//! counts, cursors. `model_tests` checks every order against a plain sort.

use super::*;
use crate::model::JobId;
use std::path::PathBuf;

fn job(id: u64, status: JobState, path: &str, updated: i64) -> Job {
    Job {
        status,
        created_at: id as i64,
        updated_at: updated,
        input_size: id * 10,
        ..Job::queued(JobId(id), PathBuf::from(path), 0)
    }
}

#[test]
fn filters_searches_sorts_and_pages() {
    let mut idx = JobIndex::default();
    for i in 1..=30 {
        let st = if i % 3 == 0 {
            JobState::Failed
        } else {
            JobState::Queued
        };
        idx.put(&job(i, st, &format!("/Media/Show {i}.mkv"), 100 - i as i64));
    }
    let q = JobQuery {
        statuses: Some(vec![JobState::Failed]),
        ..Default::default()
    };
    let Page { ids, total, .. } = idx.query(&q);
    assert_eq!(total, 10);
    // updated_at ascending: highest id first.
    assert_eq!(ids.first(), Some(&JobId(30)));

    let q = JobQuery {
        search: Some("SHOW 1".into()),
        sort: SortKey::Size,
        desc: true,
        limit: 3,
        page: 2,
        ..Default::default()
    };
    let Page { ids, total, .. } = idx.query(&q);
    // "show 1", "show 10".."show 19" = 11 matches; sizes desc: 19,18,17 | 16,15,14
    assert_eq!(total, 11);
    assert_eq!(ids, vec![JobId(16), JobId(15), JobId(14)]);

    let q = JobQuery {
        page: 99,
        ..Default::default()
    };
    let page = idx.query(&q);
    assert_eq!((page.ids, page.total, page.next), (vec![], 30, None));
}

#[test]
fn one_pass_and_selection_pages_match_a_full_sort() {
    let mut idx = JobIndex::default();
    // Many equal keys, so the id tie-break decides the order.
    for i in 1..=3000u64 {
        let mut j = job(
            i,
            JobState::ALL[(i % 8) as usize],
            &format!("/m/{}", i % 97),
            0,
        );
        j.priority = (i % 7) as i32;
        j.updated_at = (i * 7919 % 101) as i64;
        idx.put(&j);
    }
    for sort in [SortKey::UpdatedAt, SortKey::InputPath, SortKey::Priority] {
        for desc in [false, true] {
            let everything = idx.query(&JobQuery {
                sort,
                desc,
                limit: 3000,
                ..Default::default()
            });
            assert_eq!(everything.total, 3000);
            let mut expected: Vec<&Entry> = idx.entries.iter().collect();
            expected.sort_by(|a, b| {
                let ord = match sort {
                    SortKey::UpdatedAt => a.updated_at.cmp(&b.updated_at),
                    SortKey::InputPath => idx.path(a).cmp(idx.path(b)),
                    _ => a.priority.cmp(&b.priority),
                }
                .then(a.id.cmp(&b.id));
                if desc { ord.reverse() } else { ord }
            });
            let expected: Vec<JobId> = expected.iter().map(|e| JobId(e.id)).collect();
            assert_eq!(
                everything.ids, expected,
                "selection path, {sort:?} desc={desc}"
            );
            // Pages 1..=60 of 50 cross TOP_K_MAX (2048): both paths must agree.
            for page in [1, 2, 7, 40, 41, 42, 60, 61] {
                let Page { ids, total, .. } = idx.query(&JobQuery {
                    sort,
                    desc,
                    limit: 50,
                    page,
                    ..Default::default()
                });
                assert_eq!(total, 3000);
                let from = ((page - 1) * 50).min(3000);
                let to = (from + 50).min(3000);
                assert_eq!(ids, expected[from..to], "page {page}, {sort:?} desc={desc}");
            }
        }
    }
}

#[test]
fn search_handles_renamed_paths_and_boundaries() {
    let mut idx = JobIndex::default();
    let mut a = job(1, JobState::Queued, "/m/Alpha.mkv", 1);
    idx.put(&a);
    idx.put(&job(2, JobState::Queued, "/m/beta.mkv", 2));
    let search = |idx: &JobIndex, s: &str| {
        let q = JobQuery {
            search: Some(s.into()),
            ..Default::default()
        };
        idx.query(&q).ids
    };
    assert_eq!(search(&idx, "ALPHA"), vec![JobId(1)]);
    assert_eq!(search(&idx, ".mkv"), vec![JobId(1), JobId(2)]);
    // No match across the boundary of two paths.
    assert!(search(&idx, "mkv/m").is_empty());
    a.input_path = "/m/gamma.mkv".into();
    idx.put(&a);
    assert!(search(&idx, "alpha").is_empty(), "the old path is stale");
    assert_eq!(search(&idx, "gamma"), vec![JobId(1)]);
    for i in 0..20_000u64 {
        a.input_path = format!("/m/renamed-{i}-{}.mkv", "x".repeat(60)).into();
        idx.put(&a);
    }
    assert!(idx.garbage < idx.arena.len(), "compaction ran");
    assert_eq!(search(&idx, "renamed-19999-"), vec![JobId(1)]);
    assert_eq!(search(&idx, "beta"), vec![JobId(2)]);
}

#[test]
fn queue_position_follows_priority_then_age() {
    let mut idx = JobIndex::default();
    let mut a = job(1, JobState::Queued, "/a", 0);
    let b = job(2, JobState::Queued, "/b", 0);
    idx.put(&a);
    idx.put(&b);
    assert_eq!(idx.queue_position(JobId(2)), Some(2));
    a.priority = -1;
    idx.put(&a);
    assert_eq!(idx.queue_position(JobId(2)), Some(1));
    assert_eq!(idx.queue_position(JobId(1)), Some(2));
}

#[test]
fn counts_follow_state_and_archive_changes() {
    let states = [
        JobState::Queued,
        JobState::Analyzing,
        JobState::Encoding,
        JobState::Completed,
        JobState::Failed,
        JobState::Skipped,
    ];
    let mut idx = JobIndex::default();
    // A deterministic walk of inserts, state changes and archive toggles over 40 jobs.
    let mut seed = 7u64;
    for step in 0..2_000u64 {
        seed = seed
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        let id = (seed >> 33) % 40;
        let mut j = job(
            id,
            states[((seed >> 20) % states.len() as u64) as usize],
            &format!("/m/{id}.mkv"),
            step as i64,
        );
        j.archived = (seed >> 40).is_multiple_of(5);
        idx.put(&j);
        let mut recount = [0u64; 8];
        for e in idx.entries.iter().filter(|e| !e.archived()) {
            recount[e.status_code()] += 1;
        }
        assert_eq!(idx.counts(), recount, "after step {step}");
    }
    assert_eq!(idx.len(), 40);
}

#[test]
fn a_cursor_walk_sees_every_unchanged_job_once_while_others_change() {
    let mut idx = JobIndex::default();
    let mut jobs: Vec<Job> = (1..=100)
        .map(|i| {
            job(
                i,
                JobState::Queued,
                &format!("/m/{i}.mkv"),
                1_000 + i as i64,
            )
        })
        .collect();
    for j in &jobs {
        idx.put(j);
    }
    let by_id = |idx: &JobIndex, ids: &[JobId]| -> Vec<u64> {
        let _ = idx;
        ids.iter().map(|i| i.0).collect()
    };
    let mut q = JobQuery {
        sort: SortKey::UpdatedAt,
        desc: true,
        limit: 7,
        ..Default::default()
    };
    let mut seen: Vec<u64> = Vec::new();
    let mut clock = 10_000;
    loop {
        let Page { ids, total, next } = idx.query(&q);
        assert_eq!(total, 100);
        if ids.is_empty() {
            break;
        }
        seen.extend(by_id(&idx, &ids));
        let last = jobs.iter().find(|j| j.id == *ids.last().unwrap()).unwrap();
        // The index's cursor is the one a job makes (the API takes it from the index).
        if ids.len() == q.limit {
            assert_eq!(next, Some(Cursor::after(last, q.sort)));
        }
        q.after = Some(Cursor::after(last, q.sort));
        // Meanwhile the engine updates two jobs not seen yet: they move to the top.
        for id in [90 - seen.len() as u64, 50 - (seen.len() as u64) / 2] {
            if let Some(j) = jobs.iter_mut().find(|j| j.id.0 == id) {
                clock += 1;
                j.updated_at = clock;
                idx.put(j);
            }
        }
    }
    let mut unique = seen.clone();
    unique.sort_unstable();
    unique.dedup();
    assert_eq!(unique.len(), seen.len(), "no job twice: {seen:?}");
    // Every job that did not move while the walk ran was seen.
    let moved: Vec<u64> = jobs
        .iter()
        .filter(|j| j.updated_at >= 10_000)
        .map(|j| j.id.0)
        .collect();
    for id in 1..=100u64 {
        assert!(
            seen.contains(&id) || moved.contains(&id),
            "job {id} skipped"
        );
    }
    // Tokens survive the round trip, and a token of another order is refused.
    let c = Cursor::after(&jobs[3], SortKey::InputPath);
    assert_eq!(
        Cursor::parse(&c.token(), SortKey::InputPath),
        Some(c.clone())
    );
    assert_eq!(Cursor::parse(&c.token(), SortKey::Size), None);
    assert_eq!(Cursor::parse("n12", SortKey::Size), None);
}

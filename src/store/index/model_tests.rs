//! A randomized model test of the job index: random batches of inserts and changes (states,
//! archive flags, times with many ties, sizes, priorities, renames, a clock stepping back),
//! each followed by a check of the index's invariants (every maintained order sorted and
//! complete) and of random queries in every order, searched both ways, against a plain
//! filter-and-sort of the same jobs; and cursor walks of every order while jobs change
//! between pages. Deterministic seeds, so a failure repeats.

use super::cursor::CursorValue;
use super::query::SearchPlan;
use super::*;
use crate::model::JobId;
use std::path::PathBuf;

mod cursors;

/// xorshift64*: small, deterministic, good enough to pick operations.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
    fn chance(&mut self, one_in: u64) -> bool {
        self.below(one_in) == 0
    }
}

const NAMES: [&str; 6] = ["Alpha", "beta", "GAMMA", "Délta", "show 1", "Show 12"];

fn random_path(rng: &mut Rng) -> String {
    format!(
        "/m/{}/{} {:03}.mkv",
        NAMES[rng.below(NAMES.len() as u64) as usize],
        NAMES[rng.below(NAMES.len() as u64) as usize],
        rng.below(50)
    )
}

fn random_job(rng: &mut Rng, id: u64) -> Job {
    Job {
        status: JobState::ALL[rng.below(8) as usize],
        archived: rng.chance(4),
        priority: rng.below(5) as i32 - 2,
        // Creation times follow the ids, with ties, as when jobs are made (see
        // `clock_step_back` for the other case).
        created_at: (id / 3) as i64,
        // Few distinct times: the id decides most orders.
        updated_at: rng.below(30) as i64,
        input_size: rng.below(20) * 1000,
        ..Job::queued(JobId(id), PathBuf::from(random_path(rng)), 0)
    }
}

/// The model's answer: filter, sort by the key then id, cut the page.
fn expected(jobs: &[Job], q: &JobQuery) -> (Vec<JobId>, usize, Option<Cursor>) {
    let mask = q.status_mask();
    let needle = q.search.as_deref().map(str::to_lowercase);
    let key = |j: &Job| {
        let mut k = Vec::new();
        cursor::push_path_key(&mut k, &j.input_path.to_string_lossy());
        k
    };
    let mut matching: Vec<&Job> = jobs
        .iter()
        .filter(|j| j.archived == q.archived && mask[j.status.code() as usize])
        .filter(|j| match &needle {
            Some(n) => String::from_utf8(key(j)).unwrap().contains(n.as_str()),
            None => true,
        })
        .collect();
    let total = matching.len();
    let cmp = |a: &&Job, b: &&Job| {
        let ord = match q.sort {
            SortKey::CreatedAt => a.created_at.cmp(&b.created_at),
            SortKey::UpdatedAt => a.updated_at.cmp(&b.updated_at),
            SortKey::InputPath => key(a).cmp(&key(b)),
            SortKey::Size => a.input_size.cmp(&b.input_size),
            SortKey::Priority => a.priority.cmp(&b.priority),
        }
        .then(a.id.cmp(&b.id));
        if q.desc { ord.reverse() } else { ord }
    };
    matching.sort_by(cmp);
    let from = match &q.after {
        // Strictly after the cursor's (value, id): the first job the cursor sorts before.
        Some(c) => matching
            .iter()
            .position(|j| {
                let mine = Cursor::after(j, q.sort);
                let ord = match (&mine.value, &c.value) {
                    (CursorValue::Number(a), CursorValue::Number(b)) => a.cmp(b),
                    (CursorValue::Path(a), CursorValue::Path(b)) => a.cmp(b),
                    _ => unreachable!("one order, one kind of value"),
                }
                .then(mine.id.cmp(&c.id));
                let ord = if q.desc { ord.reverse() } else { ord };
                ord == std::cmp::Ordering::Greater
            })
            .unwrap_or(matching.len()),
        None => ((q.page - 1) * q.limit).min(matching.len()),
    };
    let page: Vec<&Job> = matching[from..].iter().take(q.limit).copied().collect();
    let next = (page.len() == q.limit).then(|| Cursor::after(page[page.len() - 1], q.sort));
    (page.iter().map(|j| j.id).collect(), total, next)
}

fn random_query(rng: &mut Rng) -> JobQuery {
    let sorts = [
        SortKey::CreatedAt,
        SortKey::UpdatedAt,
        SortKey::InputPath,
        SortKey::Size,
        SortKey::Priority,
    ];
    JobQuery {
        statuses: (!rng.chance(3)).then(|| {
            (0..1 + rng.below(3))
                .map(|_| JobState::ALL[rng.below(8) as usize])
                .collect()
        }),
        search: rng.chance(3).then(|| {
            let name = NAMES[rng.below(NAMES.len() as u64) as usize];
            let chars = 1 + rng.below(name.chars().count() as u64 - 1) as usize;
            name.chars().take(chars).collect::<String>().to_uppercase()
        }),
        sort: sorts[rng.below(5) as usize],
        desc: rng.chance(2),
        archived: rng.chance(4),
        limit: 1 + rng.below(12) as usize,
        page: 1 + rng.below(4) as usize,
        after: None,
    }
}

/// Orders, counts and path offsets agree with the entries.
fn check_invariants(idx: &JobIndex, jobs: &[Job]) {
    assert_eq!(idx.len(), jobs.len());
    assert!(idx.entries.windows(2).all(|w| w[0].id < w[1].id));
    idx.check_orders();
    let mut starts = idx.starts.clone();
    starts.sort_unstable();
    assert_eq!(starts, (0..jobs.len() as u32).collect::<Vec<_>>());
    let start = |s: &u32| idx.entries[*s as usize].path_start;
    assert!(idx.starts.windows(2).all(|w| start(&w[0]) < start(&w[1])));
    let mut counts = [[0u64; 8]; 2];
    for (e, j) in idx.entries.iter().zip(jobs) {
        assert_eq!(
            (e.id, e.status(), e.archived(), e.size(), e.priority),
            (j.id.0, j.status, j.archived, j.input_size, j.priority)
        );
        assert_eq!((e.created_at, e.updated_at), (j.created_at, j.updated_at));
        let mut k = Vec::new();
        cursor::push_path_key(&mut k, &j.input_path.to_string_lossy());
        assert_eq!(idx.path(e), k.as_slice(), "path of job {}", j.id);
        counts[usize::from(j.archived)][j.status.code() as usize] += 1;
    }
    assert_eq!(idx.counts, counts);
}

/// `q` and the page after it by cursor answer as the model does, a search's matches put in
/// order each way.
fn check_query(idx: &JobIndex, jobs: &[Job], q: JobQuery, at: &str) {
    let plans: &[Option<SearchPlan>] = match q.search {
        Some(_) => &[
            None,
            Some(SearchPlan::SortHits),
            Some(SearchPlan::WalkOrder),
        ],
        None => &[None],
    };
    for &plan in plans {
        let mut q = q.clone();
        let want = expected(jobs, &q);
        let got = idx.query_planned(&q, plan);
        assert_eq!(
            (got.ids, got.total, got.next.clone()),
            want,
            "{at}, {plan:?}, {q:?}"
        );
        // The next page by cursor is the model's next page too.
        if let Some(next) = got.next {
            q.after = Some(next);
            let want = expected(jobs, &q);
            let got = idx.query_planned(&q, plan);
            assert_eq!(
                (got.ids, got.total, got.next),
                want,
                "{at}, after, {plan:?}, {q:?}"
            );
        }
    }
}

#[test]
fn random_changes_and_queries_match_a_plain_sort() {
    for seed in 1..=12u64 {
        let mut rng = Rng(seed.wrapping_mul(0x9e37_79b9_7f4a_7c15));
        let mut idx = JobIndex::default();
        let mut jobs: Vec<Job> = Vec::new();
        for round in 0..60 {
            // A commit: a few jobs or, now and then, a large batch (the merge path).
            let n = if rng.chance(8) {
                40 + rng.below(80)
            } else {
                1 + rng.below(6)
            };
            let mut batch = Vec::new();
            for _ in 0..n {
                if jobs.is_empty() || rng.chance(3) {
                    let id = jobs.last().map_or(1, |j| j.id.0 + 1 + rng.below(3));
                    jobs.push(random_job(&mut rng, id));
                    batch.push(jobs.len() - 1);
                    continue;
                }
                let i = rng.below(jobs.len() as u64) as usize;
                let fresh = random_job(&mut rng, jobs[i].id.0);
                let j = &mut jobs[i];
                match rng.below(7) {
                    0 => j.status = fresh.status,
                    1 => j.archived = !j.archived,
                    2 => j.input_path = fresh.input_path,
                    3 => (j.priority, j.input_size) = (fresh.priority, fresh.input_size),
                    4 => j.priority = fresh.priority,
                    // Now and then a creation time out of step with the ids (the clock
                    // stepped back), or back in step: the `created_at` order leaves the
                    // slot order.
                    5 if rng.chance(12) => j.created_at = rng.below(40) as i64,
                    5 => j.input_size = fresh.input_size,
                    _ => j.updated_at = fresh.updated_at,
                }
                if rng.chance(2) {
                    j.updated_at = fresh.updated_at;
                }
                batch.push(i);
            }
            idx.put_rows(batch.iter().map(|&i| Row::from(&jobs[i])));
            check_invariants(&idx, &jobs);
            for _ in 0..25 {
                let q = random_query(&mut rng);
                check_query(&idx, &jobs, q, &format!("seed {seed}, round {round}"));
            }
        }
    }
}

#[test]
fn an_out_of_order_id_still_lands_in_place() {
    let mut rng = Rng(5);
    let mut jobs: Vec<Job> = [10, 20, 30].map(|id| random_job(&mut rng, id)).to_vec();
    let mut idx = JobIndex::from_rows(jobs.iter().map(Row::from));
    let late = random_job(&mut rng, 15);
    idx.put(&late);
    jobs.insert(1, late);
    check_invariants(&idx, &jobs);
}

/// The `created_at` order is the slot order while creation times follow the ids, and turns
/// into a vector, still right, when one steps back: by a single change, a new job, or a batch.
#[test]
fn clock_step_back() {
    for how in 0..3 {
        let mut rng = Rng(99 + how);
        let mut jobs: Vec<Job> = (1..=200).map(|id| random_job(&mut rng, id)).collect();
        let mut idx = JobIndex::from_rows(jobs.iter().map(Row::from));
        assert!(idx.order_by_slot(SortKey::CreatedAt));
        assert!(!idx.order_by_slot(SortKey::Size));
        // Still in step: a later job, and a change that keeps its place.
        let mut later = random_job(&mut rng, 201);
        later.created_at = jobs[199].created_at + 5;
        jobs.push(later);
        jobs[100].created_at += 0;
        idx.put_rows([Row::from(&jobs[200]), Row::from(&jobs[100])]);
        assert!(idx.order_by_slot(SortKey::CreatedAt));
        check_invariants(&idx, &jobs);
        match how {
            0 => {
                jobs[150].created_at = 3;
                idx.put(&jobs[150]);
            }
            1 => {
                let mut early = random_job(&mut rng, 202);
                early.created_at = 1;
                jobs.push(early);
                idx.put(&jobs[201]);
            }
            _ => {
                for j in jobs.iter_mut().skip(10).step_by(4) {
                    j.created_at = 70 - j.created_at;
                }
                idx.put_rows(jobs.iter().map(Row::from));
            }
        }
        assert!(!idx.order_by_slot(SortKey::CreatedAt), "case {how}");
        check_invariants(&idx, &jobs);
        for desc in [false, true] {
            let q = JobQuery {
                sort: SortKey::CreatedAt,
                desc,
                limit: 13,
                page: 1 + rng.below(5) as usize,
                ..Default::default()
            };
            check_query(&idx, &jobs, q, &format!("case {how}"));
        }
    }
}

//! Cursor walks of the model test: every order walked page by page, still or while jobs
//! change between pages, against the same plain filter-and-sort.

use super::*;

#[test]
fn a_cursor_walk_of_every_order_lists_each_job_once_in_order() {
    let mut rng = Rng(77);
    let jobs: Vec<Job> = (1..=500).map(|id| random_job(&mut rng, id)).collect();
    let idx = JobIndex::from_rows(jobs.iter().map(Row::from));
    check_invariants(&idx, &jobs);
    for sort in super::super::order::SORTS {
        for desc in [false, true] {
            let all = JobQuery {
                sort,
                desc,
                limit: jobs.len(),
                ..Default::default()
            };
            let (want, total, _) = expected(&jobs, &all);
            let mut q = JobQuery { limit: 9, ..all };
            let mut walked = Vec::new();
            loop {
                let page = idx.query(&q);
                assert_eq!(page.total, total);
                walked.extend(page.ids);
                match page.next {
                    Some(next) => q.after = Some(next),
                    None => break,
                }
            }
            assert_eq!(walked, want, "{sort:?} desc={desc}");
        }
    }
}

/// Cursor walks of every order, both ways, filtered or not, searched or not, while jobs
/// change between pages (single changes and large batches): each page is the model's page
/// after the cursor at that moment, so an order the index failed to keep up would show; a
/// job whose sort key did not change is seen exactly once, none twice.
#[test]
fn cursor_walks_of_every_order_stay_right_while_jobs_change_between_pages() {
    let mut rng = Rng(4242);
    for sort in super::super::order::SORTS {
        for (variant, desc) in [(0, false), (1, true), (2, false), (3, true)] {
            let mut jobs: Vec<Job> = (1..=300).map(|id| random_job(&mut rng, id)).collect();
            let mut idx = JobIndex::from_rows(jobs.iter().map(Row::from));
            let mut q = JobQuery {
                sort,
                desc,
                limit: 1 + rng.below(9) as usize,
                statuses: (variant >= 2)
                    .then(|| vec![JobState::Queued, JobState::Failed, JobState::Completed]),
                search: (variant == 3).then(|| "a".to_string()),
                ..Default::default()
            };
            let first = jobs.len();
            let mut touched = vec![false; first];
            let mut seen: Vec<u64> = Vec::new();
            let at = format!("{sort:?} desc={desc} variant {variant}");
            for page in 0.. {
                assert!(page < 1000, "{at}: the walk does not end");
                check_query(&idx, &jobs, q.clone(), &format!("{at}, page {page}"));
                let got = idx.query(&q);
                seen.extend(got.ids.iter().map(|i| i.0));
                let Some(next) = got.next else { break };
                q.after = Some(next);
                // Meanwhile some jobs change, and new ones come.
                let n = if rng.chance(5) { 40 } else { 1 + rng.below(3) };
                let mut batch = Vec::new();
                for _ in 0..n {
                    if rng.chance(6) {
                        let id = jobs.last().map_or(1, |j| j.id.0 + 1);
                        jobs.push(random_job(&mut rng, id));
                        batch.push(jobs.len() - 1);
                        continue;
                    }
                    let i = rng.below(jobs.len() as u64) as usize;
                    if i < first {
                        touched[i] = true;
                    }
                    let fresh = random_job(&mut rng, jobs[i].id.0);
                    let j = &mut jobs[i];
                    match rng.below(4) {
                        0 => j.updated_at = fresh.updated_at,
                        1 => j.input_path = fresh.input_path,
                        2 => (j.priority, j.input_size) = (fresh.priority, fresh.input_size),
                        _ => j.status = fresh.status,
                    }
                    batch.push(i);
                }
                idx.put_rows(batch.iter().map(|&i| Row::from(&jobs[i])));
                check_invariants(&idx, &jobs);
            }
            // A job nothing changed is seen once if the list holds it, else never (one that
            // changed may move past the cursor and be seen again: that is right).
            let needle = q.search.as_deref().map(str::to_lowercase);
            let mask = q.status_mask();
            for (j, _) in jobs.iter().zip(&touched).filter(|(_, t)| !**t) {
                let listed = !j.archived
                    && mask[j.status.code() as usize]
                    && needle.as_ref().is_none_or(|n| {
                        j.input_path
                            .to_string_lossy()
                            .to_lowercase()
                            .contains(n.as_str())
                    });
                let times = seen.iter().filter(|&&id| id == j.id.0).count();
                assert_eq!(times, usize::from(listed), "{at}: job {}", j.id);
            }
        }
    }
}

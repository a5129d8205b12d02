//! In-memory index of job list fields (status, archived, priority, times, size, lower-cased
//! path). `GET /api/jobs` filters, searches (substring) and sorts with it, then reads only the
//! page's records from redb: a substring search cannot use a B-tree, and 100k summaries take
//! about 100 bytes each plus the path, so a scan of memory beats one over decoded records.

use std::collections::HashMap;

use crate::model::{JobId, JobState};

use super::records::Job;

/// The list fields of one job.
#[derive(Debug, Clone)]
pub struct Summary {
    pub status: JobState,
    pub archived: bool,
    pub priority: i32,
    pub created_at: i64,
    pub updated_at: i64,
    pub size: u64,
    /// Lower-cased, lossily decoded path: the search and `input_path` sort key.
    pub path_key: Box<str>,
}

impl Summary {
    pub fn of(job: &Job) -> Summary {
        Summary {
            status: job.status,
            archived: job.archived,
            priority: job.priority,
            created_at: job.created_at,
            updated_at: job.updated_at,
            size: job.input_size,
            path_key: job.input_path.to_string_lossy().to_lowercase().into(),
        }
    }
}

/// Sort orders of the job list.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SortKey {
    CreatedAt,
    #[default]
    UpdatedAt,
    InputPath,
    Size,
    Priority,
}

impl std::str::FromStr for SortKey {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        Ok(match s {
            "created_at" => SortKey::CreatedAt,
            "updated_at" => SortKey::UpdatedAt,
            "input_path" => SortKey::InputPath,
            "size" => SortKey::Size,
            "priority" => SortKey::Priority,
            other => {
                return Err(format!(
                    "unknown sort_by `{other}` (created_at, updated_at, input_path, size, priority)"
                ));
            }
        })
    }
}

/// A validated job list query.
#[derive(Debug, Clone)]
pub struct JobQuery {
    /// `None` = every status.
    pub statuses: Option<Vec<JobState>>,
    pub search: Option<String>,
    pub sort: SortKey,
    pub desc: bool,
    pub archived: bool,
    pub limit: usize,
    /// 1-based.
    pub page: usize,
}

impl Default for JobQuery {
    fn default() -> Self {
        JobQuery {
            statuses: None,
            search: None,
            sort: SortKey::UpdatedAt,
            desc: false,
            archived: false,
            limit: 50,
            page: 1,
        }
    }
}

#[derive(Default)]
pub struct JobIndex {
    jobs: HashMap<u64, Summary>,
}

impl JobIndex {
    pub fn put(&mut self, job: &Job) {
        self.jobs.insert(job.id.0, Summary::of(job));
    }

    pub fn len(&self) -> usize {
        self.jobs.len()
    }

    /// Counts per state of non-archived jobs.
    pub fn counts(&self) -> [u64; 8] {
        let mut counts = [0u64; 8];
        for s in self.jobs.values().filter(|s| !s.archived) {
            counts[s.status.code() as usize] += 1;
        }
        counts
    }

    /// Ids of one page of the query, and the number of matching jobs.
    pub fn query(&self, q: &JobQuery) -> (Vec<JobId>, usize) {
        let needle = q.search.as_ref().map(|s| s.to_lowercase());
        let mut status_mask = [q.statuses.is_none(); 8];
        if let Some(list) = &q.statuses {
            for s in list {
                status_mask[s.code() as usize] = true;
            }
        }
        let mut hits: Vec<(&u64, &Summary)> = self
            .jobs
            .iter()
            .filter(|(_, s)| {
                s.archived == q.archived
                    && status_mask[s.status.code() as usize]
                    && needle.as_deref().is_none_or(|n| s.path_key.contains(n))
            })
            .collect();
        let total = hits.len();
        let cmp = |a: &(&u64, &Summary), b: &(&u64, &Summary)| {
            let ord = match q.sort {
                SortKey::CreatedAt => a.1.created_at.cmp(&b.1.created_at),
                SortKey::UpdatedAt => a.1.updated_at.cmp(&b.1.updated_at),
                SortKey::InputPath => a.1.path_key.cmp(&b.1.path_key),
                SortKey::Size => a.1.size.cmp(&b.1.size),
                SortKey::Priority => a.1.priority.cmp(&b.1.priority),
            }
            .then(a.0.cmp(b.0));
            if q.desc { ord.reverse() } else { ord }
        };
        let start = q.page.saturating_sub(1).saturating_mul(q.limit);
        if start >= total {
            return (Vec::new(), total);
        }
        let end = (start + q.limit).min(total);
        // Partial selection: O(n) to isolate the page, then sort only the page.
        if end < total {
            hits.select_nth_unstable_by(end, cmp);
            hits.truncate(end);
        }
        if start > 0 {
            hits.select_nth_unstable_by(start, cmp);
            hits.drain(..start);
        }
        hits.sort_unstable_by(cmp);
        (hits.into_iter().map(|(id, _)| JobId(*id)).collect(), total)
    }

    /// 1-based position of a queued job in dispatch order (priority desc, then oldest).
    pub fn queue_position(&self, id: JobId) -> Option<u64> {
        let me = self.jobs.get(&id.0)?;
        if me.status != JobState::Queued || me.archived {
            return None;
        }
        let ahead = self
            .jobs
            .iter()
            .filter(|(other, s)| {
                s.status == JobState::Queued
                    && !s.archived
                    && (s.priority > me.priority
                        || (s.priority == me.priority
                            && (s.created_at, **other) < (me.created_at, id.0)))
            })
            .count();
        Some(ahead as u64 + 1)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::PathBuf;

    fn job(id: u64, status: JobState, path: &str, updated: i64) -> Job {
        Job {
            id: JobId(id),
            input_path: PathBuf::from(path),
            output_path: None,
            temp_path: None,
            status,
            priority: 0,
            progress: 0.0,
            attempt_count: 0,
            created_at: id as i64,
            updated_at: updated,
            archived: false,
            input_size: id * 10,
            input_mtime_ns: 0,
            input_inode: 0,
            output_size: None,
            folder_id: None,
            decision_action: None,
            decision: None,
            failure: None,
            metadata: None,
            encode_stats: None,
            next_log_seq: 0,
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
        let (ids, total) = idx.query(&q);
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
        let (ids, total) = idx.query(&q);
        // "show 1", "show 10".."show 19" = 11 matches; sizes desc: 19,18,17 | 16,15,14
        assert_eq!(total, 11);
        assert_eq!(ids, vec![JobId(16), JobId(15), JobId(14)]);

        let q = JobQuery {
            page: 99,
            ..Default::default()
        };
        assert_eq!(idx.query(&q), (vec![], 30));
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
}

//! Every redb table of the store, in one place. Keys are chosen so the common queries are range
//! scans: the dispatch queue is ordered by (−priority, created, id), the status index by
//! (status, id), the recency index by (updated, id). Values are versioned bytes (see `codec`).

use redb::TableDefinition;

/// Schema markers, id counters, engine state, running totals.
pub const META: TableDefinition<&str, &[u8]> = TableDefinition::new("meta");
/// username → User
pub const USERS: TableDefinition<&str, &[u8]> = TableDefinition::new("users");
/// SHA-256(session token) → Session
pub const SESSIONS: TableDefinition<&[u8], &[u8]> = TableDefinition::new("sessions");
/// token id → ApiToken
pub const API_TOKENS: TableDefinition<u64, &[u8]> = TableDefinition::new("api_tokens");
/// SHA-256(plaintext token) → token id
pub const API_TOKEN_HASHES: TableDefinition<&[u8], u64> = TableDefinition::new("api_token_hashes");
/// job id → Job
pub const JOBS: TableDefinition<u64, &[u8]> = TableDefinition::new("jobs");
/// (status code, job id) → ()
pub const JOBS_BY_STATUS: TableDefinition<(u8, u64), ()> = TableDefinition::new("jobs_by_status");
/// (−priority, created ms, job id) → (); only queued, non-archived jobs: the dispatch order.
pub const JOBS_QUEUE: TableDefinition<(i64, i64, u64), ()> = TableDefinition::new("jobs_queue");
/// (updated ms, job id) → ()
pub const JOBS_BY_UPDATED: TableDefinition<(i64, u64), ()> =
    TableDefinition::new("jobs_by_updated");
/// input path bytes → job id
pub const JOBS_BY_PATH: TableDefinition<&[u8], u64> = TableDefinition::new("jobs_by_path");
/// (job id, sequence) → LogLine
pub const JOB_LOGS: TableDefinition<(u64, u64), &[u8]> = TableDefinition::new("job_logs");
/// (job id, attempt number) → Attempt
pub const ATTEMPTS: TableDefinition<(u64, u32), &[u8]> = TableDefinition::new("encode_attempts");
/// job id → EncodeResult (kept when the job is archived: stats never change on archive)
pub const ENCODE_RESULTS: TableDefinition<u64, &[u8]> = TableDefinition::new("encode_results");
/// days since 1970-01-01 (UTC) → DailyBucket
pub const DAILY_STATS: TableDefinition<u32, &[u8]> = TableDefinition::new("daily_stats");
/// folder id → LibraryFolder
pub const LIBRARY_FOLDERS: TableDefinition<u64, &[u8]> = TableDefinition::new("library_folders");
/// path bytes → ProbeCacheEntry
pub const PROBE_CACHE: TableDefinition<&[u8], &[u8]> = TableDefinition::new("probe_cache");
/// setting name → value
pub const SETTINGS: TableDefinition<&str, &[u8]> = TableDefinition::new("settings");
/// job id → TrashEntry: a replaced original and the state of its replacement (see
/// `engine::replace`). Opened lazily, so stores written before it existed read unchanged.
pub const TRASH: TableDefinition<u64, &[u8]> = TableDefinition::new("trash");
/// profile name → StoredProfile (custom profiles only; built-in ones are not stored).
pub const PROFILES: TableDefinition<&str, &[u8]> = TableDefinition::new("profiles");
/// (retry due ms, job id) → (): failed jobs waiting for an automatic retry (see
/// `engine::retry`). Written by `put_job`; created by the first write, so stores from before
/// it existed read unchanged (readers treat a missing table as empty).
pub const RETRY_SCHEDULE: TableDefinition<(i64, u64), ()> = TableDefinition::new("retry_schedule");
/// SHA-256(device token) → Device: browsers that logged in before (see `auth::devices`).
pub const DEVICES: TableDefinition<&[u8], &[u8]> = TableDefinition::new("devices");
/// job id → SegmentsEntry: the folder of a segmented encode's finished pieces (see
/// `media::segments`), so boot recovery can keep the ones of jobs it resumes and remove the
/// rest. Created by the first write; a missing table reads as empty.
pub const SEGMENTS: TableDefinition<u64, &[u8]> = TableDefinition::new("segments");

//! Per-job logs (a ring of the newest lines) and the history of encode attempts.

use super::codec::{decode, encode};
use super::jobs::load;
use super::records::{Attempt, LogLine};
use super::tables::*;
use super::{Result, Store};
use crate::model::{JobId, LogLevel, now_ms, rfc3339};

/// Most log lines kept per job; older ones are dropped as new ones arrive.
pub const MAX_LOG_LINES: u64 = 500;

impl Store {
    /// Append a log line to a job, keeping the newest `MAX_LOG_LINES`.
    pub fn append_log(&self, id: JobId, level: LogLevel, message: &str) -> Result<()> {
        self.append_logs(id, &[(level, message.to_string())])
    }

    /// Append several log lines in one transaction.
    pub fn append_logs(&self, id: JobId, lines: &[(LogLevel, String)]) -> Result<()> {
        if lines.is_empty() {
            return Ok(());
        }
        self.write(|txn| {
            let old = load(txn, id)?;
            let mut job = old.clone();
            let mut logs = txn.open_table(JOB_LOGS)?;
            let at = rfc3339(now_ms());
            for (level, message) in lines {
                let line = LogLine {
                    at: at.clone(),
                    level: *level,
                    message: message.chars().take(4096).collect(),
                };
                logs.insert((id.0, job.next_log_seq), encode(&line).as_slice())?;
                job.next_log_seq += 1;
                if job.next_log_seq > MAX_LOG_LINES {
                    logs.remove((id.0, job.next_log_seq - MAX_LOG_LINES - 1))?;
                }
            }
            drop(logs);
            // The sequence counter is not an indexed field: store the record directly.
            txn.open_table(JOBS)?
                .insert(id.0, encode(&job).as_slice())?;
            Ok(())
        })
    }

    /// The newest `limit` log lines of a job, oldest first.
    pub fn job_logs(&self, id: JobId, limit: usize) -> Result<Vec<LogLine>> {
        let read = self.read()?;
        let logs = read.open_table(JOB_LOGS)?;
        let mut out: Vec<LogLine> = Vec::new();
        for e in logs.range((id.0, 0)..=(id.0, u64::MAX))?.rev().take(limit) {
            out.push(decode(e?.1.value())?);
        }
        out.reverse();
        Ok(out)
    }

    pub fn attempts(&self, id: JobId) -> Result<Vec<Attempt>> {
        let read = self.read()?;
        let t = read.open_table(ATTEMPTS)?;
        let mut out = Vec::new();
        for e in t.range((id.0, 0)..=(id.0, u32::MAX))? {
            out.push(decode(e?.1.value())?);
        }
        Ok(out)
    }
}

//! The end of a run, recorded whatever way it ended, in one store call: the attempt record,
//! the job's end state and fields, and for a completed encode its result (statistics) or for a
//! failure the day's failure count. A failure gets its automatic retry scheduled in the same
//! write when the retry policy allows one; the `failed` event then wakes the retrier.

use std::path::PathBuf;

use super::{Completed, JobContext, Progress, Stop};
use crate::engine::retrier::policy::{self, Next};
use crate::model::{AttemptOutcome, JobEvent, LogLevel, now_ms, rfc3339};
use crate::store::{Attempt, EncodeResult, Job, RunEnd, StoreError};

/// Record how the run ended and tell subscribers.
pub(super) async fn record(
    ctx: &JobContext,
    end: Result<Completed, Stop>,
    progress: &Progress,
) -> Result<(), StoreError> {
    let job = &ctx.job;
    let id = job.id;
    let (outcome, failure_code, output_size) = match &end {
        Ok(done) => (AttemptOutcome::Completed, None, Some(done.output_size)),
        Err(Stop::Skip(_)) => (AttemptOutcome::Skipped, None, None),
        Err(Stop::Fail(f)) => (AttemptOutcome::Failed, Some(f.code().to_string()), None),
        Err(Stop::Cancelled) => (AttemptOutcome::Cancelled, None, None),
        Err(Stop::Interrupted) => (AttemptOutcome::Interrupted, None, None),
    };
    let attempt = Attempt {
        number: job.attempt_count,
        started_at: rfc3339(progress.started_ms),
        finished_at: rfc3339(now_ms()),
        outcome,
        failure_code,
        encoder: progress.encoder.clone(),
        input_size_bytes: job.input_size,
        output_size_bytes: output_size,
        wall_seconds: progress.started.elapsed().as_secs_f64(),
    };
    let run_end = match end {
        Ok(done) => completed(ctx, done).await,
        Err(Stop::Skip(why)) => {
            ctx.log(LogLevel::Info, format!("skipped: {}", why.summary))
                .await;
            RunEnd::new(JobEvent::Skip, move |j: &mut Job| {
                j.clear_temp();
                j.decision = Some(why);
                j.decision_action = Some("skip".into());
            })
        }
        Err(Stop::Fail(failure)) => {
            let mut why = failure.explain();
            let (retry_at, plan) = match policy::next(&failure, job.auto_retries, ctx.retry_base) {
                Next::Retry { delay, attempt, of } => {
                    let at = now_ms().saturating_add(delay.as_millis() as i64);
                    why = why.with("retry_in_seconds", delay.as_millis() as f64 / 1000.0);
                    let plan = format!("will retry at {} (attempt {attempt} of {of})", rfc3339(at));
                    (Some(at), plan)
                }
                Next::Stop(stop) => (None, stop.sentence()),
            };
            ctx.log(
                LogLevel::Error,
                format!("failed: {} {}", why.summary, why.detail),
            )
            .await;
            ctx.log(LogLevel::Info, plan).await;
            RunEnd::new(JobEvent::Fail, move |j: &mut Job| {
                j.clear_temp();
                j.failure = Some(why);
                j.retry_at = retry_at;
            })
        }
        Err(Stop::Cancelled) => {
            ctx.log(LogLevel::Info, "cancelled; partial output removed")
                .await;
            RunEnd::new(JobEvent::Cancel, |j: &mut Job| j.clear_temp())
        }
        Err(Stop::Interrupted) => RunEnd::new(JobEvent::Interrupted, |j: &mut Job| {
            j.clear_temp();
            j.progress = 0.0;
        }),
    };
    ctx.ledger
        .apply(move |s| s.finish_run(id, &attempt, run_end))
        .await?;
    Ok(())
}

/// The end of a completed run: its result for the statistics, and the job's new fields.
async fn completed(ctx: &JobContext, done: Completed) -> RunEnd {
    let job = &ctx.job;
    let folder = folder_path(ctx, job.folder_id).await;
    let result = EncodeResult {
        job_id: job.id,
        input_path: job.input_path.clone(),
        folder,
        codec: done.codec,
        input_size: done.stats.input_size_bytes,
        output_size: done.output_size,
        encode_seconds: done.stats.encode_time_seconds,
        completed_at: now_ms(),
        original: Some(done.original),
    };
    // The output replaced the original under its name: remember the new file, so a rescan
    // sees it unchanged and does not queue it.
    let replaced = (done.output == job.input_path)
        .then(|| std::fs::metadata(&done.output).ok())
        .flatten()
        .map(|m| crate::engine::failure::FileId::of(&m));
    let Completed {
        output,
        output_size,
        stats,
        ..
    } = done;
    RunEnd::new(JobEvent::Complete, move |j: &mut Job| {
        if let Some(now) = replaced {
            j.input_size = now.size;
            j.input_mtime_ns = now.mtime_ns;
            j.input_inode = now.inode;
        }
        j.output_path = Some(output);
        j.output_size = Some(output_size);
        j.clear_temp();
        j.encode_stats = Some(stats);
    })
    .with_result(result)
}

async fn folder_path(ctx: &JobContext, folder: Option<u64>) -> Option<PathBuf> {
    let folder = folder?;
    let store = ctx.ledger.store();
    store
        .call(move |s| s.folder(folder))
        .await
        .ok()?
        .map(|f| f.path)
}

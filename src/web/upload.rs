//! Time limits for uploads. Every request must be answered within `[security]
//! request_timeout_seconds` (60 s by default), which stops a client that sends its body a
//! byte at a time. An update bundle or a backup to restore is a large body (up to a few GiB)
//! that a slow Wi-Fi link takes minutes to send: for those routes the limit is on a stall
//! instead, no body bytes for that long, within [`MAX_UPLOAD`] in all. Once the body is in,
//! the client can hold nothing up: the handler's own work (checking a backup of a few GiB)
//! runs to its end, so it is never cut halfway through. Those routes need full access, so only an owner can keep one
//! going, and the connection limits still hold.

use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use axum::body::Body;
use axum::extract::Request;
use futures_util::{StreamExt, stream};
use tokio::time::Instant;

/// Longest an upload may take however steadily it goes: 4 GiB at 300 KiB/s.
pub const MAX_UPLOAD: Duration = Duration::from_secs(4 * 3600);

/// When the request's body last moved.
#[derive(Debug)]
pub struct Progress {
    start: Instant,
    /// Milliseconds after `start`.
    last_ms: AtomicU64,
    /// The body was read to its end.
    ended: std::sync::atomic::AtomicBool,
}

impl Progress {
    fn touch(&self) {
        let ms = u64::try_from(self.start.elapsed().as_millis()).unwrap_or(u64::MAX);
        self.last_ms.store(ms, Ordering::Relaxed);
    }

    fn last(&self) -> Instant {
        self.start + Duration::from_millis(self.last_ms.load(Ordering::Relaxed))
    }
}

/// `req` with its body watched: each chunk, and the body's end, is progress.
pub fn watch(req: Request) -> (Request, Arc<Progress>) {
    let progress = Arc::new(Progress {
        start: Instant::now(),
        last_ms: AtomicU64::new(0),
        ended: std::sync::atomic::AtomicBool::new(false),
    });
    let (parts, body) = req.into_parts();
    let (chunk, end) = (progress.clone(), progress.clone());
    let watched = body
        .into_data_stream()
        .inspect(move |_| chunk.touch())
        .chain(
            stream::once(async move { end.ended.store(true, Ordering::Relaxed) })
                .filter_map(|()| async { None }),
        );
    (
        Request::from_parts(parts, Body::from_stream(watched)),
        progress,
    )
}

/// Run `fut` to its end, or `None` once the body has not moved for `stall` (or [`MAX_UPLOAD`]
/// has passed since the request came while the body was still coming).
pub async fn until_stalled<F: Future>(
    fut: F,
    stall: Duration,
    progress: &Progress,
) -> Option<F::Output> {
    let fut = std::pin::pin!(fut);
    let mut fut = fut;
    let cap = progress.start + MAX_UPLOAD;
    loop {
        if progress.ended.load(Ordering::Relaxed) {
            return Some(fut.await);
        }
        let at = (progress.last() + stall).min(cap);
        tokio::select! {
            out = fut.as_mut() => return Some(out),
            () = tokio::time::sleep_until(at) => {
                let now = Instant::now();
                let ended = progress.ended.load(Ordering::Relaxed);
                if !ended && (now >= cap || progress.last() + stall <= now) {
                    return None;
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A body that keeps coming is never cut, however long it takes in all; one that stops
    /// is cut one stall after its last chunk.
    #[tokio::test(start_paused = true)]
    async fn a_steady_upload_runs_on_and_a_stalled_one_is_cut() {
        let chunks = |gaps: Vec<u64>| {
            stream::iter(gaps).then(|ms| async move {
                tokio::time::sleep(Duration::from_millis(ms)).await;
                Ok::<_, std::io::Error>(axum::body::Bytes::from_static(b"x"))
            })
        };
        let stall = Duration::from_secs(2);
        let read_all = |req: Request| async move {
            let mut body = req.into_body().into_data_stream();
            let mut n = 0;
            while let Some(Ok(_)) = body.next().await {
                n += 1;
            }
            n
        };
        // Ten chunks a second apart: 10 s, five times the stall.
        let req = Request::new(Body::from_stream(chunks(vec![1000; 10])));
        let (req, progress) = watch(req);
        assert_eq!(
            until_stalled(read_all(req), stall, &progress).await,
            Some(10)
        );
        // Two chunks, then nothing for 5 s.
        let req = Request::new(Body::from_stream(chunks(vec![500, 500, 5000])));
        let started = Instant::now();
        let (req, progress) = watch(req);
        assert_eq!(until_stalled(read_all(req), stall, &progress).await, None);
        assert_eq!(
            started.elapsed(),
            Duration::from_secs(3),
            "cut 2 s after the last chunk"
        );
        // After the body, the handler's own work runs to its end, however long it takes.
        let req = Request::new(Body::from_stream(chunks(vec![1000; 3])));
        let (req, progress) = watch(req);
        let work = async {
            let n = read_all(req).await;
            tokio::time::sleep(Duration::from_secs(600)).await;
            n
        };
        assert_eq!(until_stalled(work, stall, &progress).await, Some(3));
    }
}

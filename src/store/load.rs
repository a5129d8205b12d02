//! The job index's life. `Store::open` does not wait for it: a thread builds it from a
//! snapshot of the jobs table (reading only the list fields of each record) while the server
//! already answers `/api/health`. Changes committed meanwhile are kept aside, in commit order,
//! and applied on top of the snapshot's index before it is installed; then the index is
//! ready (`/api/ready` says 200). Whatever needs the index before that waits for it, off the
//! async threads: at most the time the build takes.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex, RwLock, RwLockReadGuard};
use std::time::Instant;

use redb::{ReadTransaction, ReadableTable, ReadableTableMetadata};

use super::index::{IndexBuilder, JobIndex, Row};
use super::listing::IndexFields;
use super::records::Job;
use super::tables::JOBS;
use super::{Result, StoreError};

/// Where the index stands.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum IndexStatus {
    /// Being built: `loaded` of `total` jobs read so far.
    Loading {
        loaded: u64,
        total: u64,
    },
    Ready,
    /// The build failed (an unreadable record): lists answer with the error.
    Failed(String),
}

/// Room beyond the stored jobs reserved at load, so a scan's first new jobs do not double the
/// entry vector at once.
const HEADROOM: usize = 1024;
/// Records between two looks at the progress counter and the cancel flag.
const STEP: u64 = 1024;

#[derive(Default)]
struct State {
    index: JobIndex,
    /// Rows committed while the build runs, in commit order; `None` once it is installed.
    pending: Option<Vec<Row<'static>>>,
}

/// The index and its loading state, shared by the store and the build thread.
pub(super) struct IndexCell {
    state: RwLock<State>,
    status: Mutex<IndexStatus>,
    changed: Condvar,
    /// Set with `status` turning `Ready`: the fast path of every reader.
    ready: AtomicBool,
    loaded: AtomicU64,
    total: AtomicU64,
    /// The store is gone: the build stops early.
    pub(super) cancel: AtomicBool,
}

impl IndexCell {
    /// A cell whose index is still to be built.
    pub(super) fn loading() -> IndexCell {
        IndexCell {
            state: RwLock::new(State {
                index: JobIndex::default(),
                pending: Some(Vec::new()),
            }),
            status: Mutex::new(IndexStatus::Loading {
                loaded: 0,
                total: 0,
            }),
            changed: Condvar::new(),
            ready: AtomicBool::new(false),
            loaded: AtomicU64::new(0),
            total: AtomicU64::new(0),
            cancel: AtomicBool::new(false),
        }
    }

    pub(super) fn status(&self) -> IndexStatus {
        match &*self.status.lock().unwrap_or_else(|p| p.into_inner()) {
            IndexStatus::Loading { .. } => IndexStatus::Loading {
                loaded: self.loaded.load(Ordering::Relaxed),
                total: self.total.load(Ordering::Relaxed),
            },
            other => other.clone(),
        }
    }

    /// Take the jobs of one commit (the caller holds the store's writer lock).
    pub(super) fn apply(&self, jobs: &[Job]) {
        let mut state = self.state.write().unwrap_or_else(|p| p.into_inner());
        let state = &mut *state;
        match &mut state.pending {
            Some(pending) => pending.extend(jobs.iter().map(|j| Row::from(j).into_owned())),
            None => state.index.put_rows(jobs.iter().map(Row::from)),
        }
    }

    /// Run `f` on the index, once it is built.
    pub(super) fn with<T>(&self, f: impl FnOnce(&JobIndex) -> T) -> Result<T> {
        self.wait()?;
        let state: RwLockReadGuard<State> = self.state.read().unwrap_or_else(|p| p.into_inner());
        Ok(f(&state.index))
    }

    /// Wait until the build has ended. On a worker of a multi-thread runtime the wait tells
    /// the runtime first, so the worker's other tasks (a health check) move to another thread.
    fn wait(&self) -> Result<()> {
        if self.ready.load(Ordering::Acquire) {
            return Ok(());
        }
        let on_worker = tokio::runtime::Handle::try_current()
            .is_ok_and(|h| h.runtime_flavor() == tokio::runtime::RuntimeFlavor::MultiThread);
        if on_worker {
            tokio::task::block_in_place(|| self.wait_blocking())
        } else {
            self.wait_blocking()
        }
    }

    fn wait_blocking(&self) -> Result<()> {
        let mut status = self.status.lock().unwrap_or_else(|p| p.into_inner());
        loop {
            match &*status {
                IndexStatus::Ready => return Ok(()),
                IndexStatus::Failed(e) => return Err(StoreError::Corrupt(e.clone())),
                IndexStatus::Loading { .. } => {
                    status = self.changed.wait(status).unwrap_or_else(|p| p.into_inner());
                }
            }
        }
    }

    /// Install the built index with the changes committed meanwhile, and wake the waiters.
    fn install(&self, mut index: JobIndex) {
        {
            let mut state = self.state.write().unwrap_or_else(|p| p.into_inner());
            if let Some(pending) = state.pending.take() {
                index.put_rows(pending);
            }
            state.index = index;
        }
        self.finish(IndexStatus::Ready);
    }

    fn fail(&self, error: String) {
        // Changes are not kept for an index that will not come.
        self.state
            .write()
            .unwrap_or_else(|p| p.into_inner())
            .pending = None;
        self.finish(IndexStatus::Failed(error));
    }

    fn finish(&self, status: IndexStatus) {
        let ready = status == IndexStatus::Ready;
        *self.status.lock().unwrap_or_else(|p| p.into_inner()) = status;
        self.ready.store(ready, Ordering::Release);
        self.changed.notify_all();
    }
}

/// The build of one store's index from a snapshot, not started yet: [`IndexLoader::start`]
/// runs it on its own thread (dropping the loader starts it too, so nothing waits forever).
pub struct IndexLoader {
    work: Option<(Arc<IndexCell>, ReadTransaction)>,
}

impl IndexLoader {
    pub(super) fn new(cell: Arc<IndexCell>, snapshot: ReadTransaction) -> IndexLoader {
        IndexLoader {
            work: Some((cell, snapshot)),
        }
    }

    /// Build the index in the background.
    pub fn start(mut self) {
        self.spawn();
    }

    fn spawn(&mut self) {
        let Some((cell, snapshot)) = self.work.take() else {
            return;
        };
        let job = {
            let cell = cell.clone();
            move || build_and_install(&cell, snapshot)
        };
        if let Err(e) = std::thread::Builder::new()
            .name("job-index".into())
            .spawn(job)
        {
            cell.fail(format!("cannot start the job index thread: {e}"));
        }
    }
}

impl Drop for IndexLoader {
    fn drop(&mut self) {
        self.spawn();
    }
}

fn build_and_install(cell: &IndexCell, snapshot: ReadTransaction) {
    let started = Instant::now();
    match build(cell, snapshot) {
        Ok(index) => {
            let (jobs, bytes) = (index.len(), index.heap_bytes());
            cell.install(index);
            tracing::info!(
                jobs,
                index_bytes = bytes,
                ms = started.elapsed().as_millis() as u64,
                "job index loaded"
            );
        }
        Err(_) if cell.cancel.load(Ordering::Relaxed) => {}
        Err(e) => {
            tracing::error!(error = %e, "cannot load the job index: job lists will fail");
            cell.fail(e.to_string());
        }
    }
}

/// The index of every job in `snapshot`, reading only the list fields of each record.
fn build(cell: &IndexCell, snapshot: ReadTransaction) -> Result<JobIndex> {
    let jobs = snapshot.open_table(JOBS)?;
    let total = jobs.len()?;
    cell.total.store(total, Ordering::Relaxed);
    let mut builder = IndexBuilder::new((total as usize).saturating_add(HEADROOM));
    for (read, entry) in (1u64..).zip(jobs.iter()?) {
        if read.is_multiple_of(STEP) {
            cell.loaded.store(read, Ordering::Relaxed);
            if cell.cancel.load(Ordering::Relaxed) {
                return Err(StoreError::Task("the store was closed".into()));
            }
        }
        let (_, value) = entry?;
        builder.push(&IndexFields::decode(value.value())?);
    }
    cell.loaded.store(total, Ordering::Relaxed);
    Ok(builder.finish())
}

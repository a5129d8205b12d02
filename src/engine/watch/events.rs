//! inotify events as the watcher needs them: what was touched (may need queuing once it
//! settles), renamed (jobs follow), or removed (queued jobs retire). `notify` reports a rename
//! as `From`, `To` and, when it paired them, `Both`; an unpaired `From` (moved out of the
//! watched tree) is a removal once a short grace has passed without its `Both`. The callback
//! that runs on notify's thread only fills a bounded inbox: more than that is an overflow,
//! answered by a walk like the kernel's own queue overflow.

use std::path::PathBuf;
use std::sync::Mutex;

use notify::event::{AccessKind, AccessMode, EventKind, ModifyKind, RenameMode};

use super::lock;

/// Events kept between two work steps; a burst beyond this becomes a walk.
const INBOX_MAX: usize = 65_536;

/// What notify reported since the last step.
#[derive(Default)]
pub struct Inbox {
    pub events: Vec<notify::Event>,
    /// Events were lost (kernel queue or inbox overflow): walk the evented folders.
    pub overflow: bool,
    /// Adding a watch for a new directory hit the inotify watch limit.
    pub limit_hit: bool,
    pub errors: Vec<String>,
}

/// The inbox and the wake-up of the worker.
#[derive(Default)]
pub struct Mailbox {
    pub inbox: Mutex<Inbox>,
    pub wake: tokio::sync::Notify,
}

impl Mailbox {
    /// notify's callback.
    pub fn deliver(&self, event: notify::Result<notify::Event>) {
        {
            let mut inbox = lock(&self.inbox);
            match event {
                Ok(e) if e.need_rescan() => inbox.overflow = true,
                Ok(e) if is_noise(&e) => return,
                Ok(e) => {
                    if inbox.events.len() >= INBOX_MAX {
                        inbox.events.clear();
                        inbox.overflow = true;
                    } else if !inbox.overflow {
                        inbox.events.push(e);
                    }
                }
                Err(e) if matches!(e.kind, notify::ErrorKind::MaxFilesWatch) => {
                    inbox.limit_hit = true
                }
                Err(e) => inbox.errors.push(e.to_string()),
            }
        }
        self.wake.notify_one();
    }

    pub fn take(&self) -> Inbox {
        std::mem::take(&mut *lock(&self.inbox))
    }
}

/// Events that cannot matter, dropped before they wake the worker: opens and reads, and
/// writes to our own files (an encode writes its temp file in the library many times a
/// second). Renames and removals always count: a file may be renamed to or from our names.
fn is_noise(e: &notify::Event) -> bool {
    match e.kind {
        EventKind::Access(AccessKind::Close(AccessMode::Write)) => own(e),
        EventKind::Access(_) => true,
        EventKind::Create(_) | EventKind::Modify(ModifyKind::Data(_) | ModifyKind::Metadata(_)) => {
            own(e)
        }
        _ => false,
    }
}

fn own(e: &notify::Event) -> bool {
    !e.paths.is_empty() && e.paths.iter().all(|p| crate::media::paths::is_own_file(p))
}

/// One step's events, sorted by what they ask for.
#[derive(Debug, Default, PartialEq)]
pub struct Sorted {
    pub touched: Vec<PathBuf>,
    pub renamed: Vec<(PathBuf, PathBuf)>,
    pub removed: Vec<PathBuf>,
    /// `From` halves not paired in this batch: removals unless a later `Both` pairs them.
    pub moved_out: Vec<PathBuf>,
}

/// Sort a batch of events. Pure.
pub fn sort(events: Vec<notify::Event>) -> Sorted {
    let mut s = Sorted::default();
    let mut froms = Vec::new();
    for e in events {
        let mut paths = e.paths.into_iter();
        match e.kind {
            EventKind::Modify(ModifyKind::Name(RenameMode::Both)) => {
                if let (Some(from), Some(to)) = (paths.next(), paths.next()) {
                    s.renamed.push((from, to));
                }
            }
            EventKind::Modify(ModifyKind::Name(RenameMode::From)) => froms.extend(paths),
            EventKind::Remove(_) => s.removed.extend(paths),
            EventKind::Create(_)
            | EventKind::Modify(_)
            | EventKind::Access(AccessKind::Close(AccessMode::Write)) => s.touched.extend(paths),
            _ => {}
        }
    }
    s.moved_out = froms
        .into_iter()
        .filter(|f| !s.renamed.iter().any(|(from, _)| from == f))
        .collect();
    s.touched.sort();
    s.touched.dedup();
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use notify::event::{CreateKind, DataChange, RemoveKind};

    fn ev(kind: EventKind, paths: &[&str]) -> notify::Event {
        paths
            .iter()
            .fold(notify::Event::new(kind), |e, p| e.add_path(p.into()))
    }

    #[test]
    fn sorts_renames_removals_and_touches() {
        let name = |m| EventKind::Modify(ModifyKind::Name(m));
        let s = sort(vec![
            ev(EventKind::Create(CreateKind::File), &["/m/a.mkv"]),
            ev(
                EventKind::Modify(ModifyKind::Data(DataChange::Any)),
                &["/m/a.mkv"],
            ),
            ev(name(RenameMode::From), &["/m/b.mkv"]),
            ev(name(RenameMode::To), &["/m/c.mkv"]),
            ev(name(RenameMode::Both), &["/m/b.mkv", "/m/c.mkv"]),
            ev(name(RenameMode::From), &["/m/gone.mkv"]),
            ev(EventKind::Remove(RemoveKind::File), &["/m/d.mkv"]),
        ]);
        assert_eq!(
            s.touched,
            vec![PathBuf::from("/m/a.mkv"), "/m/c.mkv".into()]
        );
        assert_eq!(s.renamed, vec![("/m/b.mkv".into(), "/m/c.mkv".into())]);
        assert_eq!(s.removed, vec![PathBuf::from("/m/d.mkv")]);
        assert_eq!(s.moved_out, vec![PathBuf::from("/m/gone.mkv")]);
    }

    #[test]
    fn an_overflow_or_a_full_inbox_asks_for_a_walk() {
        let mail = Mailbox::default();
        mail.deliver(Ok(
            notify::Event::new(EventKind::Other).set_flag(notify::event::Flag::Rescan)
        ));
        assert!(mail.take().overflow);
        for _ in 0..=INBOX_MAX {
            mail.deliver(Ok(ev(EventKind::Create(CreateKind::File), &["/m/x.mkv"])));
        }
        let inbox = mail.take();
        assert!(inbox.overflow && inbox.events.is_empty());
        mail.deliver(Err(notify::Error::new(notify::ErrorKind::MaxFilesWatch)));
        assert!(mail.take().limit_hit);
        // Writes to our temp file and reads are dropped; a removal of it is not.
        let temp = "/m/.a.alchemist.mkv.alchemist-tmp-7";
        mail.deliver(Ok(ev(
            EventKind::Modify(ModifyKind::Data(DataChange::Any)),
            &[temp],
        )));
        mail.deliver(Ok(ev(
            EventKind::Access(AccessKind::Close(AccessMode::Read)),
            &["/m/a.mkv"],
        )));
        assert!(mail.take().events.is_empty());
        mail.deliver(Ok(ev(EventKind::Remove(RemoveKind::File), &[temp])));
        assert_eq!(mail.take().events.len(), 1);
    }
}

//! Tests of the queue orders: the book as plain data, and claims from a real redb store in
//! each order, across a reopen (the order is persisted) and with jobs changing under it.

use std::path::PathBuf;

use super::*;
use crate::store::ScannedFile;

fn row(id: u64, priority: i32, created_at: i64, size: u64) -> QueuedRow {
    QueuedRow {
        id,
        priority,
        created_at,
        size,
    }
}

fn facts(saving_bytes: u64) -> QueueFacts {
    QueueFacts {
        saving_bytes,
        media_seconds: 10.0,
        height: 1080,
    }
}

/// Take every job off the book's front, as claims would.
fn drain(book: &mut QueueBook) -> Vec<u64> {
    let mut out = Vec::new();
    while let Some(id) = book.first() {
        out.push(id.0);
        let row = *book.rows.as_ref().unwrap().get(&id.0).unwrap();
        let key = book.key(&row);
        book.sorted.remove(&key);
        book.rows.as_mut().unwrap().remove(&id.0);
    }
    out
}

fn sample() -> Vec<QueuedRow> {
    vec![
        row(1, 0, 100, 500),
        row(2, 0, 200, 100),
        row(3, 0, 300, 900),
        row(4, 5, 400, 700),
    ]
}

#[test]
fn each_order_puts_priority_first_then_its_key() {
    let cases = [
        (QueueOrder::OldestFirst, vec![4, 1, 2, 3]),
        (QueueOrder::SmallestFirst, vec![4, 2, 1, 3]),
        // Job 2 is small but predicted to save the most; 1 and 3 are unprobed (size × 0.4).
        (QueueOrder::LargestSavingFirst, vec![4, 2, 3, 1]),
    ];
    for (order, expected) in cases {
        let mut book = QueueBook::new(order);
        book.set_facts(2, facts(10_000));
        book.build(sample());
        assert_eq!(drain(&mut book), expected, "{order:?}");
    }
}

#[test]
fn facts_and_order_changes_move_jobs() {
    let mut book = QueueBook::new(QueueOrder::LargestSavingFirst);
    book.build(sample());
    assert_eq!(book.first(), Some(JobId(4)));
    book.set_facts(4, facts(0));
    // Job 4 still leads on priority, whatever its saving.
    assert_eq!(book.first(), Some(JobId(4)));
    book.set_order(QueueOrder::SmallestFirst);
    let rows: Vec<u64> = book.queued().map(|(r, _)| r.id).collect();
    assert_eq!(rows.len(), 4);
    book.set_facts(1, facts(1));
    assert_eq!(drain(&mut book), vec![4, 2, 1, 3]);
}

fn file(path: &str, size: u64) -> ScannedFile {
    ScannedFile {
        path: PathBuf::from(path),
        size,
        mtime_ns: 1,
        inode: size,
        dev: 1,
        folder_id: None,
    }
}

fn claim_all(store: &Store) -> Vec<u64> {
    let mut sizes = Vec::new();
    while let Some(job) = store.claim_next().unwrap() {
        sizes.push(job.input_size);
    }
    sizes
}

#[test]
fn claims_follow_the_persisted_order() {
    let dir = tempfile::tempdir().unwrap();
    let files = [
        file("/m/a.mkv", 300),
        file("/m/b.mkv", 100),
        file("/m/c.mkv", 200),
    ];
    {
        let store = Store::open(dir.path()).unwrap();
        assert_eq!(store.queue_order(), QueueOrder::OldestFirst);
        store.upsert_scanned(&files).unwrap();
        store.set_queue_order(QueueOrder::SmallestFirst).unwrap();
    }
    let store = Store::open(dir.path()).unwrap();
    assert_eq!(store.queue_order(), QueueOrder::SmallestFirst);
    // A job queued after the book was built, and a priority change, are both seen.
    let small = store
        .job_id_by_path(&PathBuf::from("/m/b.mkv"))
        .unwrap()
        .unwrap();
    let large = store
        .job_id_by_path(&PathBuf::from("/m/a.mkv"))
        .unwrap()
        .unwrap();
    assert_eq!(store.queue_position(small), Some(1));
    assert_eq!(store.queue_position(large), Some(3));
    let first = store.claim_next().unwrap().unwrap();
    assert_eq!(first.input_size, 100);
    store.upsert_scanned(&[file("/m/d.mkv", 50)]).unwrap();
    let big = store.job_id_by_path(&PathBuf::from("/m/a.mkv")).unwrap();
    store
        .update_job(big.unwrap(), |j| {
            j.priority = 1;
            Ok(())
        })
        .unwrap();
    assert_eq!(claim_all(&store), vec![300, 50, 200]);
}

#[test]
fn oldest_and_largest_saving_orders_claim_differently() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
    let files = [
        file("/m/a.mkv", 300),
        file("/m/b.mkv", 100),
        file("/m/c.mkv", 200),
    ];
    store.upsert_scanned(&files).unwrap();
    let id = |p: &str| store.job_id_by_path(&PathBuf::from(p)).unwrap().unwrap();
    store.set_queue_facts(&[(id("/m/b.mkv"), facts(5_000))]);
    store
        .set_queue_order(QueueOrder::LargestSavingFirst)
        .unwrap();
    let counted = store.with_queued(|q| q.count()).unwrap();
    assert_eq!(counted, 3);
    assert_eq!(claim_all(&store), vec![100, 300, 200]);

    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
    store.upsert_scanned(&files).unwrap();
    assert_eq!(claim_all(&store), vec![300, 100, 200]);
}

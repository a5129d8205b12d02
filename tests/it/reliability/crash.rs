//! SIGKILL during store write bursts, 100 cycles. Each cycle starts the real binary on the
//! same data dir (engine paused in the store, so nothing is probed or encoded, and ffmpeg
//! pointing nowhere, so no capability probe runs), fires concurrent enqueues (one write
//! transaction each) and priority changes at it, and kills it with SIGKILL at a random moment
//! of the burst. Then the test opens the store itself: it must open every time, every job whose
//! enqueue was answered 2xx must be there under its id and path, and its priority must be the
//! last acknowledged one (or one sent after it, whose answer the kill swallowed).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use alchemist::model::{EngineRunState, JobId, JobState};
use alchemist::store::{AccessLevel, EngineState, Store};
use serde_json::{Value, json};

use crate::support::binary::{BIN, free_port};
use crate::support::rng::Rng;
use crate::support::wait_until;

const CYCLES: usize = 100;
/// New files enqueued per cycle, by `CLIENTS` concurrent clients.
const FILES_PER_CYCLE: usize = 24;
const CLIENTS: usize = 6;

/// What one client learned from the server before the kill.
#[derive(Default)]
struct Acks {
    /// path → id, for every enqueue answered 2xx.
    enqueued: BTreeMap<PathBuf, u64>,
    /// id → priorities in the order they were sent, and how many of them were acknowledged.
    priorities: BTreeMap<u64, (Vec<i32>, usize)>,
}

fn serve(data: &Path, config: &Path, port: u16, log: &Path) -> Child {
    let log = std::fs::File::create(log).unwrap();
    Command::new(BIN)
        .args(["serve", "--data-dir"])
        .arg(data)
        .arg("--config")
        .arg(config)
        .args(["--listen", &format!("127.0.0.1:{port}")])
        .env_remove("ALCHEMIST_DATA_DIR")
        .env_remove("ALCHEMIST_LIBRARY")
        .env("ALCHEMIST_LOG", "error")
        .stdout(Stdio::null())
        .stderr(log)
        .spawn()
        .unwrap()
}

/// Start the server on a free port and wait until it is ready. A port found free can be taken
/// by another test before the server binds it: then (its error says it cannot listen) it is
/// started again on another, at most three times. Any other early exit fails with its output.
async fn serve_ready(
    data: &Path,
    config: &Path,
    logs: &Path,
    http: &reqwest::Client,
    cycle: usize,
) -> (Child, String) {
    for attempt in 0..3 {
        let port = free_port();
        let base = format!("http://127.0.0.1:{port}");
        let log = logs.join(format!("serve-{cycle}-{attempt}.log"));
        let mut child = serve(data, config, port, &log);
        let ready = format!("{base}/api/ready");
        let exited = wait_until(
            Duration::from_secs(30),
            format!("cycle {cycle}: {ready} to answer"),
            async || {
                if let Some(status) = child.try_wait().unwrap() {
                    return Some(Some(status));
                }
                let r = http.get(&ready).send().await;
                r.is_ok_and(|r| r.status() == 200).then_some(None)
            },
        )
        .await;
        let Some(status) = exited else {
            return (child, base);
        };
        let output = std::fs::read_to_string(&log).unwrap_or_default();
        assert!(
            output.contains("cannot listen"),
            "cycle {cycle}: the server exited with {status} before it was ready:\n{output}"
        );
    }
    panic!("cycle {cycle}: no free port could be bound in three tries");
}

/// One client's share of the burst: enqueue its files, raising each job's priority twice.
async fn client(
    http: reqwest::Client,
    base: String,
    token: String,
    files: Vec<PathBuf>,
    acks: Arc<Mutex<Acks>>,
    seed: i32,
) {
    for (n, path) in files.into_iter().enumerate() {
        let r = http
            .post(format!("{base}/api/jobs/enqueue"))
            .bearer_auth(&token)
            .json(&json!({"path": path.to_str().unwrap()}))
            .send()
            .await;
        let Ok(r) = r else { return };
        let status = r.status().as_u16();
        let Ok(body) = r.json::<Value>().await else {
            return;
        };
        assert_eq!(status, 200, "enqueue {path:?}: {body}");
        let id = body["id"].as_u64().unwrap();
        assert_eq!(body["enqueued"], true, "{body}");
        acks.lock().unwrap().enqueued.insert(path, id);
        for k in 0..2 {
            let priority = seed * 1000 + n as i32 * 10 + k;
            acks.lock()
                .unwrap()
                .priorities
                .entry(id)
                .or_default()
                .0
                .push(priority);
            let r = http
                .post(format!("{base}/api/jobs/{id}/priority"))
                .bearer_auth(&token)
                .json(&json!({"priority": priority}))
                .send()
                .await;
            let Ok(r) = r else { return };
            let status = r.status().as_u16();
            let Ok(body) = r.json::<Value>().await else {
                return;
            };
            assert_eq!(status, 200, "priority: {body}");
            acks.lock().unwrap().priorities.get_mut(&id).unwrap().1 += 1;
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigkill_during_write_bursts_loses_no_acknowledged_job() {
    let started = Instant::now();
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    let lib = tmp.path().join("lib");
    std::fs::create_dir_all(&lib).unwrap();
    let lib = std::fs::canonicalize(&lib).unwrap();
    // The store before the first start: a full-access token, the folder, the engine paused.
    let token = {
        let store = Store::open(&data).unwrap();
        store.add_folder(&lib, true).unwrap();
        store
            .set_engine_state(&EngineState {
                run_state: EngineRunState::Paused,
                ..EngineState::default()
            })
            .unwrap();
        let auth = alchemist::Auth::new(store, 30);
        auth.create_token_blocking("crash test", AccessLevel::FullAccess)
            .unwrap()
            .1
    };
    let config = tmp.path().join("alchemist.toml");
    std::fs::write(
        &config,
        "scan_on_start = false\nffmpeg = \"/nonexistent/ffmpeg\"\n\
         ffprobe = \"/nonexistent/ffprobe\"\n",
    )
    .unwrap();
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(20))
        .build()
        .unwrap();
    let mut rng = Rng::from_clock("crash");
    let acks = Arc::new(Mutex::new(Acks::default()));
    let (mut acked_enqueues, mut acked_priorities, mut killed_mid_burst) = (0usize, 0usize, 0);

    for cycle in 0..CYCLES {
        let files: Vec<PathBuf> = (0..FILES_PER_CYCLE)
            .map(|k| {
                let p = lib.join(format!("c{cycle:03}-{k:02}.mkv"));
                std::fs::write(&p, format!("fake {cycle} {k}")).unwrap();
                p
            })
            .collect();
        // Ready: the store is open and the server answers.
        let (mut child, base) = serve_ready(&data, &config, tmp.path(), &http, cycle).await;
        let tasks: Vec<_> = files
            .chunks(FILES_PER_CYCLE / CLIENTS)
            .enumerate()
            .map(|(c, chunk)| {
                tokio::spawn(client(
                    http.clone(),
                    base.clone(),
                    token.clone(),
                    chunk.to_vec(),
                    acks.clone(),
                    (cycle * CLIENTS + c) as i32,
                ))
            })
            .collect();
        // Kill somewhere in the burst (it lasts some tens of ms); one cycle in eight lets it end.
        let ms = if cycle % 8 == 7 {
            400
        } else {
            1 + rng.below(80)
        };
        tokio::time::sleep(Duration::from_millis(ms)).await;
        if tasks.iter().any(|t| !t.is_finished()) {
            killed_mid_burst += 1;
        }
        child.kill().unwrap(); // SIGKILL
        child.wait().unwrap();
        for t in tasks {
            t.await.expect("client task");
        }

        // Reopen: cleanly, and with everything that was acknowledged.
        let data2 = data.clone();
        let acks2 = acks.clone();
        let (e, p) = tokio::task::spawn_blocking(move || verify(&data2, &acks2.lock().unwrap()))
            .await
            .unwrap();
        acked_enqueues = e;
        acked_priorities = p;
    }
    eprintln!(
        "crash: {CYCLES} SIGKILL cycles ({killed_mid_burst} with requests in flight), \
         {acked_enqueues} acknowledged enqueues and {acked_priorities} acknowledged priority \
         changes verified after every reopen, in {:.1} s",
        started.elapsed().as_secs_f64()
    );
    assert!(
        killed_mid_burst >= CYCLES / 2,
        "most kills must land in a burst"
    );
    assert!(acked_enqueues >= CYCLES, "{acked_enqueues}");
}

/// Open the store and check every acknowledged write; returns the counts checked.
fn verify(data: &Path, acks: &Acks) -> (usize, usize) {
    let store = Store::open(data).expect("the store opens after SIGKILL");
    assert_eq!(
        store.engine_state().unwrap().run_state,
        EngineRunState::Paused,
        "the paused state survives"
    );
    for (path, id) in &acks.enqueued {
        assert_eq!(
            store.job_id_by_path(path).unwrap(),
            Some(JobId(*id)),
            "acknowledged job {id} for {path:?} is in the path index"
        );
        let job = store
            .get_job(JobId(*id))
            .unwrap_or_else(|e| panic!("acknowledged job {id} lost: {e}"));
        assert_eq!(&job.input_path, path);
        assert_eq!(job.status, JobState::Queued, "job {id}");
        if let Some((sent, acked)) = acks.priorities.get(id) {
            // The last acknowledged value, or one sent after it (committed, answer lost).
            let allowed = &sent[acked.saturating_sub(1)..];
            let ok = if *acked == 0 {
                job.priority == 0 || sent.contains(&job.priority)
            } else {
                allowed.contains(&job.priority)
            };
            assert!(
                ok,
                "job {id}: priority {} not in {allowed:?} ({acked} of {sent:?} acknowledged)",
                job.priority
            );
        }
    }
    // The job count agrees with the index (no half-written job behind the index's back).
    let counts = store.status_counts();
    assert!(counts.get(JobState::Queued) as usize >= acks.enqueued.len());
    let acked_priorities = acks.priorities.values().map(|(_, n)| n).sum();
    (acks.enqueued.len(), acked_priorities)
}

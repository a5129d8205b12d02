//! Crash safety: the real server binary, configured with `original = "replace"`, is SIGKILLed
//! at random moments (during scans, encodes, verification, promotion, the replacement's file
//! moves and store commits) at least 30 times in a row on a small library. After every kill
//! each original's bytes exist intact, at its path or in the trash, and anything else at its
//! path is a verified HEVC output; every other file is a complete output or a temp file the
//! store still attributes to an active job (so recovery removes it). A last clean run then
//! finishes everything: every original replaced and byte-identical in the trash, no temp file
//! left, no job left active.

use std::collections::BTreeMap;
use std::ffi::OsStr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use alchemist::model::JobState;
use alchemist::store::{JobQuery, Store};

use crate::support::binary::BIN;
use crate::support::clips::{copy_into, ffmpeg, ffprobe, h264_clip};
use crate::support::files::{sha256, video_codec};
use crate::support::rng::Rng;
use crate::support::wait_until;

const KILLS: usize = 32;
const FILES: [&str; 5] = ["a.mp4", "b c.mp4", "d 'q'.mp4", "e\"f.mp4", "g.mp4"];

fn serve(data: &Path, config: &Path) -> Child {
    Command::new(BIN)
        .args(["serve", "--data-dir"])
        .arg(data)
        .arg("--config")
        .arg(config)
        .env("ALCHEMIST_LOG", "warn")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap()
}

fn jobs(data: &Path) -> Vec<alchemist::store::Job> {
    let store = Store::open(data).unwrap();
    let q = JobQuery {
        limit: 1000,
        ..JobQuery::default()
    };
    store.list_jobs(&q).unwrap().0
}

/// Files under `<lib>/.alchemist-trash/<job>/`.
fn trash_files(lib: &Path) -> Vec<PathBuf> {
    let Ok(jobs) = std::fs::read_dir(lib.join(".alchemist-trash")) else {
        return vec![];
    };
    jobs.flatten()
        .flat_map(|d| std::fs::read_dir(d.path()).into_iter().flatten().flatten())
        .map(|e| e.path())
        .collect()
}

/// The invariants that must hold whenever the server is not running.
fn check_library(lib: &Path, data: &Path, originals: &BTreeMap<PathBuf, String>) -> usize {
    let trash = trash_files(lib);
    for (path, sum) in originals {
        let in_place = path.exists() && &sha256(path) == sum;
        let in_trash = trash
            .iter()
            .any(|t| t.file_name() == path.file_name() && &sha256(t) == sum);
        assert!(in_place || in_trash, "original {path:?} lost");
        if !in_place && path.exists() {
            assert_eq!(
                video_codec(path),
                "hevc",
                "{path:?} replaced by a bad output"
            );
        }
    }
    let jobs = jobs(data);
    let mut temps = 0;
    for entry in std::fs::read_dir(lib).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        if originals.contains_key(&path) || name == ".alchemist-trash" {
            continue;
        }
        if name.contains(".alchemist-tmp-") {
            temps += 1;
            let owner = jobs.iter().find(|j| j.temp_path.as_deref() == Some(&path));
            assert!(
                owner.is_some_and(|j| j.status.is_active()),
                "temp file {name} without an active job: {owner:?}"
            );
        } else {
            assert!(name.ends_with(".alchemist.mp4"), "unexpected file {name}");
            // Only verified outputs are ever renamed into place.
            assert_eq!(video_codec(&path), "hevc", "{name}");
        }
    }
    temps
}

#[tokio::test]
async fn sigkill_at_random_points_never_harms_the_library() {
    let started = Instant::now();
    let tmp = tempfile::tempdir().unwrap();
    let lib = tmp.path().join("lib");
    std::fs::create_dir_all(&lib).unwrap();
    let lib = std::fs::canonicalize(&lib).unwrap();
    let data = tmp.path().join("data");
    let mut originals = BTreeMap::new();
    for name in FILES {
        let p = copy_into(&lib, h264_clip(), OsStr::new(name));
        originals.insert(p.clone(), sha256(&p));
    }
    let config = tmp.path().join("alchemist.toml");
    std::fs::write(
        &config,
        format!(
            "listen = \"127.0.0.1:0\"\nscan_on_start = true\nlibraries = [{:?}]\n\
             ffmpeg = {:?}\nffprobe = {:?}\n\n[transcode]\nencoder = \"libx265\"\n\
             preset = \"ultrafast\"\noriginal = \"replace\"\n",
            lib,
            ffmpeg(),
            ffprobe()
        ),
    )
    .unwrap();

    let seed = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos() as u64
        | 1;
    eprintln!("kill test seed {seed}");
    let mut rng = Rng::new(seed);
    let mut with_temp = 0;
    let mut states_at_kill: BTreeMap<String, usize> = BTreeMap::new();
    for i in 0..KILLS {
        // Once every file is encoded, no kill can land in an encode any more: add a fresh
        // copy, so kills keep landing in every step however fast the engine has become.
        if i > 0 {
            let seen = jobs(&data);
            let settled = seen.len() >= originals.len()
                && seen
                    .iter()
                    .all(|j| !j.status.is_active() && j.status != JobState::Queued);
            if settled {
                let p = copy_into(&lib, h264_clip(), OsStr::new(&format!("extra {i}.mp4")));
                originals.insert(p.clone(), sha256(&p));
            }
        }
        let mut child = serve(&data, &config);
        // Mostly early (startup, scan, encode); every fourth run lives long enough for jobs to
        // verify, promote, replace and commit, so kills land in those steps too.
        let ms = if i % 4 == 3 {
            1500 + rng.next() % 2500
        } else {
            80 + rng.next() % 900
        };
        // The kill point itself: a random moment, by design (not a wait for anything).
        tokio::time::sleep(Duration::from_millis(ms)).await;
        child.kill().unwrap();
        child.wait().unwrap();
        if check_library(&lib, &data, &originals) > 0 {
            with_temp += 1;
        }
        for j in jobs(&data) {
            *states_at_kill.entry(j.status.to_string()).or_default() += 1;
        }
        for e in Store::open(&data).unwrap().trash_list().unwrap() {
            *states_at_kill
                .entry(format!("trash {:?}", e.state))
                .or_default() += 1;
        }
    }
    eprintln!(
        "{KILLS} kills in {:.1} s; {with_temp} left a temp file; job states seen at kill time: \
         {states_at_kill:?}",
        started.elapsed().as_secs_f64()
    );
    assert!(
        with_temp > 0,
        "no kill landed during an encode (seed {seed})"
    );

    // A last run finishes the work; then it is stopped cleanly.
    let mut child = serve(&data, &config);
    wait_until(
        Duration::from_secs(90),
        "the last run to replace every original",
        async || {
            let left: Vec<_> = originals
                .keys()
                .filter(|p| !(p.exists() && video_codec(p) == "hevc"))
                .collect();
            if left.is_empty() {
                Ok(())
            } else {
                Err(format!("not yet HEVC: {left:?}"))
            }
        },
    )
    .await;
    // SIGTERM: a graceful stop.
    Command::new("kill")
        .arg(child.id().to_string())
        .status()
        .unwrap();
    child.wait().unwrap();
    assert_eq!(
        check_library(&lib, &data, &originals),
        0,
        "no temp file left"
    );
    for j in jobs(&data) {
        assert!(!j.status.is_active(), "job {} left {}", j.id, j.status);
    }
    let completed = jobs(&data)
        .iter()
        .filter(|j| j.status == JobState::Completed)
        .count();
    assert_eq!(completed, originals.len());
    eprintln!("kill test total {:.1} s", started.elapsed().as_secs_f64());
}

//! Backup under a burst of writes, restored by `alchemist restore`; refused archives.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{Arc, Mutex};

use serde_json::{Value, json};

use crate::support::TestServer;
use crate::support::api::{job_list, post};
use crate::support::binary::BIN;
use crate::support::clips::{copy_into, h264_clip};
use crate::support::files::{library, sha256};
use crate::support::jobs::enqueue;

/// Writes in the burst: enough that some land during the download on a loaded machine.
const BURST: usize = 40;

fn restore(data_dir: &Path, archive: &Path) -> std::process::Output {
    Command::new(BIN)
        .args(["restore", "--data-dir"])
        .arg(data_dir)
        .arg(archive)
        .output()
        .unwrap()
}

async fn download(server: &TestServer, token: &str) -> (Vec<u8>, String) {
    let r = server
        .http
        .get(server.url("/api/v1/system/backup"))
        .bearer_auth(token)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let disposition = r.headers()["content-disposition"]
        .to_str()
        .unwrap()
        .to_string();
    (r.bytes().await.unwrap().to_vec(), disposition)
}

/// The longest prefix of `sequence` that `present` holds; everything after it must be absent:
/// one writer wrote `sequence` in order, so a consistent snapshot holds a prefix of it.
fn prefix_len(sequence: &[String], present: &[String]) -> usize {
    let n = sequence.iter().take_while(|s| present.contains(s)).count();
    for later in &sequence[n..] {
        assert!(
            !present.contains(later),
            "{later} present after a gap: not one state"
        );
    }
    n
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn backup_during_writes_restores_into_a_fresh_data_dir() {
    let server = TestServer::start_with(|c| {
        let file = c.data_dir.join("alchemist.toml");
        std::fs::create_dir_all(&c.data_dir).unwrap();
        std::fs::write(&file, "scan_on_start = false\nsession_days = 9\n").unwrap();
        c.config_file = Some(file);
    })
    .await;
    let token = server.login().await;
    assert_eq!(
        post(&server, &token, "/api/engine/pause", json!({}))
            .await
            .0,
        200
    );
    let lib = library(server.tmp.path());
    server.add_folder(&token, &lib).await;
    let files: Vec<PathBuf> = (0..BURST)
        .map(|i| copy_into(&lib, h264_clip(), format!("clip{i:02}.mp4").as_ref()))
        .collect();

    // One writer enqueues jobs and creates tokens in order while the backup downloads.
    let written = Arc::new(Mutex::new(Vec::<String>::new()));
    let writer = {
        let (server_base, http, token) = (server.base.clone(), server.http.clone(), token.clone());
        let written = written.clone();
        let files = files.clone();
        tokio::spawn(async move {
            for (i, file) in files.iter().enumerate() {
                let r = http
                    .post(format!("{server_base}/api/jobs/enqueue"))
                    .bearer_auth(&token)
                    .json(&json!({"path": file.to_str().unwrap()}))
                    .send()
                    .await
                    .unwrap();
                assert_eq!(r.status(), 200);
                let r = http
                    .post(format!("{server_base}/api/settings/api-tokens"))
                    .bearer_auth(&token)
                    .json(&json!({"name": format!("token{i:02}"), "access_level": "read_only"}))
                    .send()
                    .await
                    .unwrap();
                assert_eq!(r.status(), 201);
                written.lock().unwrap().push(format!("clip{i:02}"));
            }
        })
    };
    // Some writes first, so the backup has something of the burst in it.
    enqueue(
        &server,
        &token,
        &copy_into(&lib, h264_clip(), "first.mp4".as_ref()),
    )
    .await;
    let before = written.lock().unwrap().len();
    let (archive, disposition) = download(&server, &token).await;
    writer.await.unwrap();
    assert!(
        disposition.starts_with("attachment; filename=\"alchemist-backup-2")
            && disposition.ends_with(".tar\""),
        "{disposition}"
    );
    let path = server.tmp.path().join("backup.tar");
    std::fs::write(&path, &archive).unwrap();
    let leftovers: Vec<_> = std::fs::read_dir(&server.data_dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with(".backup-") || n.starts_with(".tmp"))
        .collect();
    assert!(leftovers.is_empty(), "temp files left: {leftovers:?}");

    let fresh = server.tmp.path().join("restored");
    let out = restore(&fresh, &path);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        std::fs::read_to_string(fresh.join("alchemist.toml")).unwrap(),
        "scan_on_start = false\nsession_days = 9\n"
    );
    let (tmp, _) = server.stop().await;

    let restored = TestServer::start_in(tmp, fresh, |_| {}).await;
    let token = restored.login().await;
    let (jobs, total) = job_list(&restored, &token, "limit=100").await;
    let names: Vec<String> = jobs
        .iter()
        .map(|j| {
            let p = j["input_path"].as_str().unwrap_or_else(|| panic!("{j:#}"));
            Path::new(p)
                .file_stem()
                .unwrap()
                .to_string_lossy()
                .into_owned()
        })
        .collect();
    assert_eq!(total as usize, names.len());
    assert!(names.contains(&"first".to_string()), "{names:?}");
    let sequence = written.lock().unwrap().clone();
    let n = prefix_len(&sequence, &names);
    assert!(
        n >= before,
        "the backup lost writes made before it: {n} < {before}"
    );
    // Tokens were written after each job: the snapshot holds the same prefix, or the job of
    // the next pair without its token.
    let tokens: Value = restored.get_json("/api/settings/api-tokens", &token).await;
    let token_names: Vec<String> = tokens
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["name"].as_str().unwrap().replace("token", "clip"))
        .collect();
    let t = prefix_len(&sequence, &token_names);
    assert!(t == n || t + 1 == n, "jobs {n}, tokens {t}: not one state");
    println!(
        "backup of {} bytes held {n} of {BURST} burst writes",
        archive.len()
    );
    restored.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn foreign_or_damaged_archives_are_refused_and_nothing_is_replaced() {
    let server = TestServer::start().await;
    let token = server.login().await;
    let (good, _) = download(&server, &token).await;
    let (tmp, data_dir) = server.stop().await;
    let store_hash = sha256(&data_dir.join("alchemist.redb"));

    let mut foreign = tar::Builder::new(Vec::new());
    let mut header = tar::Header::new_gnu();
    header.set_size(5);
    header.set_cksum();
    foreign
        .append_data(&mut header, "notes.txt", &b"hello"[..])
        .unwrap();
    let foreign = foreign.into_inner().unwrap();
    // The store entry cut short: the archive reads, the store does not open or match.
    let truncated = good[..good.len() * 2 / 3].to_vec();
    let newer = String::from_utf8_lossy(&good)
        .replace("\"format_version\": 1", "\"format_version\": 9")
        .into_bytes();
    let cases = [
        ("foreign", foreign),
        ("truncated", truncated),
        ("newer", newer),
        ("garbage", vec![7u8; 4096]),
    ];
    for (name, bytes) in cases {
        let path = tmp.path().join(format!("{name}.tar"));
        std::fs::write(&path, bytes).unwrap();
        let out = restore(&data_dir, &path);
        assert!(!out.status.success(), "{name} was accepted");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(stderr.contains("refused"), "{name}: {stderr}");
        assert_eq!(
            sha256(&data_dir.join("alchemist.redb")),
            store_hash,
            "{name}"
        );
        assert!(
            !data_dir.join("backups").exists(),
            "{name}: a backup was taken"
        );
    }
    // The good one restores, and the state it replaced was saved first.
    let path = tmp.path().join("good.tar");
    std::fs::write(&path, &good).unwrap();
    let out = restore(&data_dir, &path);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let saved = std::fs::read_dir(data_dir.join("backups")).unwrap().count();
    assert_eq!(saved, 1);
}

/// `good` again with its config entry replaced by what `config` appends (the manifest then
/// lists a config file).
fn with_config(good: &[u8], config: impl FnOnce(&mut tar::Builder<Vec<u8>>)) -> Vec<u8> {
    use std::io::Read;
    let mut out = tar::Builder::new(Vec::new());
    let mut archive = tar::Archive::new(good);
    for entry in archive.entries().unwrap() {
        let mut entry = entry.unwrap();
        let name = entry.path().unwrap().to_string_lossy().into_owned();
        let mut bytes = Vec::new();
        entry.read_to_end(&mut bytes).unwrap();
        if name == "alchemist.toml" {
            continue;
        }
        if name == "manifest.json" {
            let mut m: Value = serde_json::from_slice(&bytes).unwrap();
            m["config"] = json!(true);
            bytes = serde_json::to_vec_pretty(&m).unwrap();
        }
        let mut h = tar::Header::new_gnu();
        h.set_size(bytes.len() as u64);
        h.set_mode(0o600);
        h.set_cksum();
        out.append_data(&mut h, &name, &bytes[..]).unwrap();
    }
    config(&mut out);
    out.into_inner().unwrap()
}

/// Post `archive` to the restore API: it must be refused (422) saying `why`.
async fn refused(server: &TestServer, token: &str, archive: Vec<u8>, why: &str) {
    let r = server
        .http
        .post(server.url("/api/system/restore"))
        .bearer_auth(token)
        .header("content-type", "application/x-tar")
        .body(archive)
        .send()
        .await
        .unwrap();
    let status = r.status();
    let body: Value = r.json().await.unwrap();
    assert_eq!(status, 422, "{why}: {body:#}");
    let detail = body["detail"].as_str().unwrap_or_default();
    assert!(detail.contains(why), "{why}: {detail}");
}

/// A full-access token is not root on the box: an uploaded backup may not bring a config file
/// that is a link (the server would read whatever it points at), one that changes the programs
/// run as root or the security limits, nor library folders the box's `[security]
/// library_roots` refuse. Each is refused with the reason, and the server keeps running on its
/// own state; the console's `alchemist restore` is the way to move such a backup.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restore_over_the_network_cannot_change_what_binds_the_box() {
    // A box whose library folders may be anywhere (no roots): its backup holds one.
    let open = TestServer::start().await;
    let token = open.login().await;
    let lib = library(open.tmp.path());
    open.add_folder(&token, &lib).await;
    let (good, _) = download(&open, &token).await;
    open.stop().await;

    // This box allows library folders only below its own media folder.
    let roots = tempfile::tempdir().unwrap();
    let allowed = roots.path().to_path_buf();
    let server = TestServer::start_with(|c| c.security.library_roots = Some(vec![allowed])).await;
    let token = server.login().await;
    refused(
        &server,
        &token,
        good.clone(),
        "library folder this box does not allow",
    )
    .await;

    // The config file as a link to a file elsewhere.
    let outside = server.tmp.path().join("outside.toml");
    std::fs::write(&outside, "ffmpeg = \"/bin/sh\"\n").unwrap();
    let linked = with_config(&good, |t| {
        let mut h = tar::Header::new_gnu();
        h.set_entry_type(tar::EntryType::Symlink);
        h.set_size(0);
        h.set_mode(0o777);
        t.append_link(&mut h, "alchemist.toml", &outside).unwrap();
    });
    refused(&server, &token, linked, "not a regular file").await;
    let hard = with_config(&good, |t| {
        let mut h = tar::Header::new_gnu();
        h.set_entry_type(tar::EntryType::Link);
        h.set_size(0);
        t.append_link(&mut h, "alchemist.toml", "manifest.json")
            .unwrap();
    });
    refused(&server, &token, hard, "not a regular file").await;

    // A plain config file that names another ffmpeg.
    let text = b"ffmpeg = \"/bin/sh\"\n";
    let changed = with_config(&good, |t| {
        let mut h = tar::Header::new_gnu();
        h.set_size(text.len() as u64);
        h.set_mode(0o644);
        h.set_cksum();
        t.append_data(&mut h, "alchemist.toml", &text[..]).unwrap();
    });
    refused(&server, &token, changed, "(ffmpeg)").await;

    // Nothing was staged, nothing changed: the server still answers with its own state.
    let data_dir = server.data_dir.clone();
    assert!(!data_dir.join("restore-pending.tar").exists());
    assert!(!data_dir.join("alchemist.toml").exists());
    let health = server
        .http
        .get(server.url("/api/ready"))
        .send()
        .await
        .unwrap();
    assert_eq!(health.status(), 200);
    server.stop().await;
}

//! A backup from an older release restores into this one: `tests/fixtures/backup/v1.tar` was
//! made by `GET /api/system/backup` of the first release with backups (archive format 1; an
//! admin, two queued jobs `one.mp4` and `two.mp4`, a read-only token `v1-token`). Keep it as
//! it is: when the format or the store changes, this test shows old archives still restore.

use std::path::Path;
use std::process::Command;

use crate::support::TestServer;
use crate::support::api::job_list;
use crate::support::binary::BIN;

const FIXTURE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/backup/v1.tar");

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_format_1_backup_restores_and_serves() {
    let manifest = alchemist::backup::validate(
        Path::new(FIXTURE),
        &tempfile::tempdir().unwrap().path().join("staging"),
    )
    .unwrap();
    assert_eq!(manifest.format_version, 1);
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    let out = Command::new(BIN)
        .args(["restore", "--data-dir"])
        .arg(&data)
        .arg(FIXTURE)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let server = TestServer::start_in(tmp, data, |_| {}).await;
    let token = server.login().await;
    let (jobs, total) = job_list(&server, &token, "limit=100").await;
    let mut names: Vec<String> = jobs
        .iter()
        .map(|j| {
            let p = j["input_path"].as_str().unwrap();
            Path::new(p)
                .file_name()
                .unwrap()
                .to_string_lossy()
                .into_owned()
        })
        .collect();
    names.sort();
    assert_eq!(
        (total, names),
        (2, vec!["one.mp4".to_string(), "two.mp4".to_string()])
    );
    let tokens = server.get_json("/api/settings/api-tokens", &token).await;
    assert_eq!(tokens[0]["name"], "v1-token", "{tokens:#}");
    server.stop().await;
}

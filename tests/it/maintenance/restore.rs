//! Restore through the running server, with the real binary: a backup is taken, the state
//! changes (a token made, a library folder added), damaged archives are refused with nothing
//! changed (API and the page's upload form), then the backup is posted: the server answers
//! 202, shuts down, starts itself again in the same process (re-exec), applies the archive
//! and serves the backed-up state, with the replaced state saved in `<data>/backups/`.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use serde_json::{Value, json};

use crate::support::api::problem;
use crate::support::binary::{BIN, free_port, wait_ready};
use crate::support::{ADMIN, PASSWORD, create_admin, wait_until};

/// The `alchemist serve` process this test started, killed by its pid if the test fails.
struct Served {
    child: Child,
    base: String,
    http: reqwest::Client,
    log: PathBuf,
}

impl Drop for Served {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

impl Served {
    fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    async fn login(&self) -> String {
        let r = self
            .http
            .post(format!("{}/api/auth/login", self.base))
            .json(&json!({"username": ADMIN, "password": PASSWORD}))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200, "{}", self.log_text());
        let cookie = r.headers()["set-cookie"].to_str().unwrap();
        cookie
            .strip_prefix("alchemist_session=")
            .and_then(|c| c.split(';').next())
            .unwrap()
            .to_string()
    }

    async fn get(&self, token: &str, path: &str) -> Value {
        let r = self
            .http
            .get(format!("{}{path}", self.base))
            .bearer_auth(token)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200, "GET {path}");
        r.json().await.unwrap()
    }

    fn post(&self, token: &str, path: &str) -> reqwest::RequestBuilder {
        self.http
            .post(format!("{}{path}", self.base))
            .bearer_auth(token)
    }
}

fn token_names(list: &Value) -> Vec<String> {
    let items = list
        .as_array()
        .or_else(|| list["tokens"].as_array())
        .unwrap();
    items
        .iter()
        .map(|t| t["name"].as_str().unwrap().to_string())
        .collect()
}

fn files(dir: &Path) -> Vec<String> {
    let mut n: Vec<String> = std::fs::read_dir(dir)
        .map(|d| {
            d.map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default();
    n.sort();
    n
}

/// A multipart/form-data body with one file field, as a browser sends the upload form.
fn multipart(field: &str, bytes: &[u8]) -> (String, Vec<u8>) {
    let boundary = "----alchemist-test-boundary-7f3a";
    let mut body = format!(
        "--{boundary}\r\nContent-Disposition: form-data; name=\"{field}\"; filename=\"b.tar\"\r\nContent-Type: application/x-tar\r\n\r\n"
    )
    .into_bytes();
    body.extend_from_slice(bytes);
    body.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
    (format!("multipart/form-data; boundary={boundary}"), body)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn restore_through_the_api_restarts_into_the_backed_up_state() {
    let tmp = tempfile::tempdir().unwrap();
    let data_dir = tmp.path().join("data");
    let lib = tmp.path().join("lib");
    std::fs::create_dir_all(&lib).unwrap();
    let dir = data_dir.clone();
    tokio::task::spawn_blocking(move || create_admin(&dir))
        .await
        .unwrap();
    let port = free_port();
    let log = tmp.path().join("serve.log");
    let out = std::fs::File::create(&log).unwrap();
    let child = Command::new(BIN)
        .arg("serve")
        .arg("--data-dir")
        .arg(&data_dir)
        .args(["--listen", &format!("127.0.0.1:{port}")])
        .env_remove("ALCHEMIST_DATA_DIR")
        .env_remove("ALCHEMIST_LISTEN")
        .env_remove("ALCHEMIST_LIBRARY")
        .env_remove("ALCHEMIST_CONFIG")
        .env("ALCHEMIST_LOG", "info")
        .stdin(Stdio::null())
        .stdout(out.try_clone().unwrap())
        .stderr(out)
        .spawn()
        .unwrap();
    let pid = child.id();
    let mut s = Served {
        child,
        base: format!("http://127.0.0.1:{port}"),
        http: reqwest::Client::builder()
            .timeout(Duration::from_secs(60))
            .build()
            .unwrap(),
        log: log.clone(),
    };
    let log_text = || std::fs::read_to_string(&log).unwrap_or_default();
    wait_ready(
        &mut s.child,
        &s.http,
        &s.base,
        Duration::from_secs(60),
        log_text,
    )
    .await;
    let token = s.login().await;
    let made = |name: &'static str| {
        s.post(&token, "/api/settings/api-tokens")
            .json(&json!({"name": name, "access_level": "read_only"}))
            .send()
    };
    assert!(made("before").await.unwrap().status().is_success());

    let r = s
        .http
        .get(format!("{}/api/system/backup", s.base))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let backup = r.bytes().await.unwrap().to_vec();

    // The state moves on after the backup.
    assert!(made("after").await.unwrap().status().is_success());
    let r = s
        .post(&token, "/api/library/folders")
        .json(&json!({"path": lib}))
        .send()
        .await
        .unwrap();
    assert!(r.status().is_success(), "add folder: {}", r.status());
    let changed_tokens = token_names(&s.get(&token, "/api/settings/api-tokens").await);
    assert!(changed_tokens.contains(&"after".to_string()));

    // Damaged archives: cut short, and not a tar at all. Refused; nothing staged or left.
    let data_files = files(&data_dir);
    for bad in [
        backup[..backup.len() / 2].to_vec(),
        b"not a backup at all".repeat(100),
    ] {
        let r = s
            .post(&token, "/api/system/restore")
            .body(bad.clone())
            .send()
            .await
            .unwrap();
        problem(r, 422, "BACKUP_INVALID").await;
        let (ct, body) = multipart("archive", &bad);
        let r = s
            .http
            .post(format!("{}/system/restore", s.base))
            .header("cookie", format!("alchemist_session={token}"))
            .header("origin", &s.base)
            .header("content-type", ct)
            .body(body)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 422);
        assert!(r.text().await.unwrap().contains("Nothing was restored"));
    }
    assert_eq!(
        files(&data_dir),
        data_files,
        "a refused archive left something behind"
    );
    assert_eq!(
        token_names(&s.get(&token, "/api/settings/api-tokens").await),
        changed_tokens
    );
    assert!(
        s.child.try_wait().unwrap().is_none(),
        "a refused archive stopped the server"
    );

    // The real one: accepted, then the server restarts by itself.
    let r = s
        .post(&token, "/api/v1/system/restore")
        .body(backup)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 202, "{}", s.log_text());
    let accepted: Value = r.json().await.unwrap();
    assert_eq!(accepted["restoring"], true);
    let pending = data_dir.join("restore-pending.tar");
    let ready = format!("{}/api/ready", s.base);
    wait_until(
        Duration::from_secs(90),
        "the server to restart with the backup applied",
        async || {
            if let Some(status) = s.child.try_wait().unwrap() {
                panic!(
                    "the server exited ({status}) instead of restarting: {}",
                    s.log_text()
                );
            }
            !pending.exists()
                && s.http
                    .get(&ready)
                    .send()
                    .await
                    .is_ok_and(|r| r.status() == 200)
        },
    )
    .await;
    assert_eq!(s.child.id(), pid, "the same process serves again");
    assert!(
        s.log_text()
            .contains("restored a backup staged before the restart"),
        "{}",
        s.log_text()
    );

    let token = s.login().await;
    let names = token_names(&s.get(&token, "/api/settings/api-tokens").await);
    assert!(names.contains(&"before".to_string()), "{names:?}");
    assert!(!names.contains(&"after".to_string()), "{names:?}");
    let folders = s.get(&token, "/api/library/folders").await;
    let folders = folders
        .as_array()
        .or_else(|| folders["folders"].as_array())
        .unwrap()
        .clone();
    assert!(
        folders.is_empty(),
        "the folder added after the backup is still there: {folders:?}"
    );
    let saved = files(&data_dir.join("backups"));
    assert!(
        saved.iter().any(|n| n.starts_with("pre-restore-")),
        "no safety backup: {saved:?}"
    );
}

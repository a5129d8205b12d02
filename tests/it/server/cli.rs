//! The command line as tooling drives it: `admin create` with the password on stdin, `serve`
//! with flags, environment and a config file, and hot reload of the config file.

use std::io::Write;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

use crate::support::binary::BIN;
use crate::support::{PASSWORD, TestServer};

fn admin_create(data_dir: &std::path::Path, user: &str, stdin: &str) -> std::process::Output {
    let mut child = Command::new(BIN)
        .args(["admin", "create", "--data-dir"])
        .arg(data_dir)
        .args(["--username", user])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(stdin.as_bytes())
        .unwrap();
    child.wait_with_output().unwrap()
}

/// Rewrite the config file as an editor would, with a modification time 10 s after the last
/// one: the server notices a change by its mtime, so the edit is seen whatever the file
/// system's timestamp granularity, without waiting for the clock to move on.
fn edit(file: &Path, text: &str) {
    let before = std::fs::metadata(file).unwrap().modified().unwrap();
    std::fs::write(file, text).unwrap();
    std::fs::File::options()
        .write(true)
        .open(file)
        .unwrap()
        .set_modified(before + Duration::from_secs(10))
        .unwrap();
}

#[test]
fn admin_create_reads_the_password_from_stdin() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    let out = admin_create(&data, "alice", "a long password\n");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(data.join("alchemist.redb").is_file());
    // The stored hash verifies the password without the trailing newline.
    let store = alchemist::store::Store::open(&data).unwrap();
    let user = store.get_user("alice").unwrap().unwrap();
    assert!(alchemist::verify_password(
        &user.password_phc,
        "a long password"
    ));
    drop(store);

    let dup = admin_create(&data, "alice", "another password\n");
    assert!(
        !dup.status.success(),
        "a second admin with the same name is refused"
    );
    let empty = admin_create(&data, "bob", "");
    assert!(!empty.status.success());
    assert!(String::from_utf8_lossy(&empty.stderr).contains("no password"));
    let short = admin_create(&data, "carol", "short\n");
    assert!(
        !short.status.success(),
        "passwords under 8 characters are refused"
    );
}

#[test]
fn serve_refuses_a_bad_config_file_with_a_clear_message() {
    let tmp = tempfile::tempdir().unwrap();
    let config = tmp.path().join("alchemist.toml");
    std::fs::write(&config, "listen = \"127.0.0.1:0\"\nencoder_typo = 1\n").unwrap();
    let out = Command::new(BIN)
        .args(["serve", "--data-dir"])
        .arg(tmp.path().join("data"))
        .arg("--config")
        .arg(&config)
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("encoder_typo"), "names the unknown key: {err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn editing_the_config_file_publishes_config_updated() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    let file = tmp.path().join("alchemist.toml");
    std::fs::write(&file, "[transcode]\nencoder = \"libx265\"\n").unwrap();
    let dir = data.clone();
    tokio::task::spawn_blocking(move || crate::support::create_admin(&dir))
        .await
        .unwrap();
    let f = file.clone();
    let server = TestServer::start_in(tmp, data, move |c| c.config_file = Some(f)).await;
    let token = server.login().await;
    let mut events = server.events(&token, None).await;
    // `[watch]` as the test server runs it (off), so only the transcode keys change.
    edit(
        &file,
        "[transcode]\nencoder = \"libx264\"\ncrf = 30\n[watch]\nenabled = false\n",
    );
    let (ev, _) = events
        .until(Duration::from_secs(15), |e| e.event == "config_updated")
        .await;
    let keys: Vec<&str> = ev.data["keys"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| k.as_str().unwrap())
        .collect();
    assert_eq!(keys, vec!["transcode.encoder", "transcode.crf"]);
    // An invalid edit is reported and the running settings stay.
    edit(
        &file,
        "[transcode]\nencoder = \"magic\"\n[watch]\nenabled = false\n",
    );
    let (ev, _) = events
        .until(Duration::from_secs(15), |e| e.event == "log")
        .await;
    assert!(ev.data["message"].as_str().unwrap().contains("not applied"));
    let _ = PASSWORD;
    server.stop().await;
}

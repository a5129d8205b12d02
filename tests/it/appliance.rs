//! The appliance: static binaries, and the disk images from image/build booted under qemu
//! (TCG) through the harness in `qemu`. One x86_64 sequence covers first boot, a real
//! transcode inside the guest, a reboot and an update that keeps /data, because every x86 boot
//! under emulation costs tens of seconds of the 2 CI cores. Figures (boot-to-HTTP, sizes) are
//! printed and appended to target/image/figures.txt.

use std::io::Write;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::qemu::images::{self, Built};
use crate::qemu::{Arch, Boot, Guest, GuestSpec};

mod board;

const BOOT_TIMEOUT: Duration = Duration::from_secs(300);
const TRANSCODE_TIMEOUT: Duration = Duration::from_secs(600);

fn figure(line: &str) {
    eprintln!("figure: {line}");
    let _ = std::fs::create_dir_all(images::out_dir());
    if let Ok(mut f) = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(images::out_dir().join("figures.txt"))
    {
        let _ = writeln!(f, "{line}");
    }
}

/// ELF checks without a parser crate: class 64, the expected machine, no PT_INTERP.
fn assert_static_elf(path: &Path, machine: u16) {
    let bytes = std::fs::read(path).unwrap_or_else(|e| panic!("{path:?}: {e}"));
    assert_eq!(&bytes[..4], b"\x7fELF", "{path:?} is an ELF file");
    assert_eq!(bytes[4], 2, "64-bit");
    let u16_at = |o: usize| u16::from_le_bytes([bytes[o], bytes[o + 1]]);
    let u32_at = |o: usize| u32::from_le_bytes(bytes[o..o + 4].try_into().unwrap());
    let u64_at = |o: usize| u64::from_le_bytes(bytes[o..o + 8].try_into().unwrap());
    assert_eq!(u16_at(18), machine, "{path:?} e_machine");
    let (phoff, phentsize, phnum) = (u64_at(32) as usize, u16_at(54) as usize, u16_at(56));
    for i in 0..phnum as usize {
        let p_type = u32_at(phoff + i * phentsize);
        assert_ne!(
            p_type, 3,
            "{path:?} has a PT_INTERP: it is dynamically linked"
        );
    }
    let file = Command::new("file")
        .arg("-b")
        .arg(path)
        .output()
        .expect("file(1)");
    let text = String::from_utf8_lossy(&file.stdout);
    assert!(
        text.contains("statically linked") || text.contains("static-pie linked"),
        "file(1) says: {text}"
    );
}

#[test]
fn static_binaries_have_no_interpreter_and_aarch64_runs_under_qemu_user() {
    let x86 = images::image(Arch::X86_64);
    let arm = images::image(Arch::Aarch64);
    assert_static_elf(&x86.part("alchemist"), 62);
    assert_static_elf(&arm.part("alchemist"), 183);
    for b in [&x86, &arm] {
        let size = std::fs::metadata(b.part("alchemist")).unwrap().len();
        figure(&format!("binary {}: {size} bytes", b.parts.display()));
    }
    // The aarch64 binary serves HTTP under user-mode emulation.
    let qemu = crate::qemu::firmware(
        &["/usr/bin/qemu-aarch64-static"],
        "qemu-user-static (bash .ci/dev test installs it)",
    );
    let tmp = tempfile::tempdir().unwrap();
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let mut child = Command::new(qemu)
        .arg(arm.part("alchemist"))
        .args(["serve", "--data-dir"])
        .arg(tmp.path())
        .args(["--listen", &format!("127.0.0.1:{port}")])
        .env("ALCHEMIST_LOG", "warn")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("qemu-aarch64-static");
    let deadline = Instant::now() + Duration::from_secs(60);
    let mut ok = false;
    while Instant::now() < deadline {
        if crate::qemu::http_get_status(port, "/api/health") == Some(200) {
            ok = true;
            break;
        }
        std::thread::sleep(Duration::from_millis(200));
    }
    let _ = child.kill();
    let _ = child.wait();
    assert!(
        ok,
        "the aarch64 binary under qemu-aarch64-static answered /api/health"
    );
}

/// A JSON API client for a guest's forwarded port.
struct Api {
    rt: tokio::runtime::Runtime,
    http: reqwest::Client,
    base: String,
    token: Option<String>,
}

impl Api {
    fn new(port: u16) -> Api {
        Api {
            rt: tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap(),
            http: reqwest::Client::builder()
                .timeout(Duration::from_secs(60))
                .build()
                .unwrap(),
            base: format!("http://127.0.0.1:{port}"),
            token: None,
        }
    }

    fn call(&self, method: reqwest::Method, path: &str, body: Option<Value>) -> (u16, Value) {
        self.rt.block_on(async {
            let mut r = self.http.request(method, format!("{}{path}", self.base));
            if let Some(t) = &self.token {
                r = r.bearer_auth(t);
            }
            if let Some(b) = body {
                r = r.json(&b);
            }
            let resp = r.send().await.expect("request");
            let status = resp.status().as_u16();
            let text = resp.text().await.unwrap_or_default();
            (status, serde_json::from_str(&text).unwrap_or(Value::Null))
        })
    }

    fn get(&self, path: &str) -> Value {
        let (s, v) = self.call(reqwest::Method::GET, path, None);
        assert_eq!(s, 200, "GET {path}: {v}");
        v
    }

    fn login(&mut self, password: &str) {
        let (status, token) = self.rt.block_on(async {
            let r = self
                .http
                .post(format!("{}/api/auth/login", self.base))
                .json(&json!({"username": "admin", "password": password}))
                .send()
                .await
                .expect("login");
            let token = r
                .headers()
                .get_all(reqwest::header::SET_COOKIE)
                .iter()
                .filter_map(|v| v.to_str().ok())
                .find_map(|c| c.strip_prefix("alchemist_session="))
                .map(|c| c.split(';').next().unwrap_or("").to_string());
            (r.status().as_u16(), token)
        });
        assert_eq!(status, 200, "admin login");
        self.token = Some(token.expect("a session cookie"));
    }
}

/// The one-time admin password the console shows on first boot.
fn console_password(console: &str) -> String {
    console
        .lines()
        .rev()
        .find_map(|l| l.split("with password ").nth(1))
        .map(|rest| rest.split_whitespace().next().unwrap_or("").to_string())
        .unwrap_or_else(|| panic!("the console shows no first-boot password:\n{console}"))
}

fn boot_x86(disk: &Path, clip: Option<&Path>, modules: &[&str]) -> Guest {
    let mut spec = GuestSpec::new(Arch::X86_64, Boot::Uefi { disk: disk.into() });
    if let Some(clip) = clip {
        spec.files.push((clip.into(), "clip.mkv".into()));
    }
    if !modules.is_empty() {
        let dir = images::modules_x86_64();
        spec.modules = modules.iter().map(|m| dir.join(m)).collect();
    }
    Guest::boot(spec)
}

/// The first boot also carries the board devices: gpio-sim and i2c-stub (see `board`).
fn boot_x86_board(disk: &Path, clip: &Path) -> Guest {
    let mut spec = GuestSpec::new(Arch::X86_64, Boot::Uefi { disk: disk.into() });
    spec.files.push((clip.into(), "clip.mkv".into()));
    spec.files.push(board::stub_file());
    spec.modules = board::modules();
    Guest::boot(spec)
}

/// Poll the engine status until `done` holds.
fn wait_engine(api: &Api, what: &str, done: impl Fn(&Value) -> bool) -> Value {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let status = api.get("/api/engine/status");
        if done(&status) {
            return status;
        }
        assert!(Instant::now() < deadline, "engine not {what}: {status:#}");
        std::thread::sleep(Duration::from_millis(300));
    }
}

fn copy_image(built: &Built, dir: &Path) -> std::path::PathBuf {
    let to = dir.join("disk.img");
    std::fs::copy(&built.image, &to).expect("copy the image");
    to
}

#[test]
fn x86_64_image_boots_uefi_transcodes_and_keeps_data_across_reboot_and_update() {
    let built = images::image(Arch::X86_64);
    for f in ["alchemist-x86_64.img", "alchemist-x86_64.img.zst"] {
        let size = std::fs::metadata(images::out_dir().join(f)).unwrap().len();
        figure(&format!("{f}: {size} bytes"));
    }
    let tmp = tempfile::tempdir().unwrap();
    let disk = copy_image(&built, tmp.path());

    // First boot: the console shows the address and the admin's one-time password.
    // A bulky MPEG-4 source: the H.264 output is clearly smaller, so the savings checks pass.
    // Board I/O in the guest is opt-in until it passes here (see `board`).
    let with_board = std::env::var_os(board::ENABLE_ENV).is_some();
    let mut guest = if with_board {
        boot_x86_board(&disk, crate::clips::mpeg4_clip())
    } else {
        boot_x86(&disk, Some(crate::clips::mpeg4_clip()), &[])
    };
    let to_http = guest.wait_http("/api/health", BOOT_TIMEOUT);
    figure(&format!(
        "x86_64 UEFI boot to HTTP (first boot): {:.1} s",
        to_http.as_secs_f64()
    ));
    guest.wait_console("ALCHEMIST-CONSOLE-READY", BOOT_TIMEOUT);
    let console = guest.console();
    assert!(console.contains("Open http://10.0.2.15/"), "{console}");
    let password = console_password(&console);
    let mut api = Api::new(guest.port);
    api.login(&password);
    let health = api.get("/api/health");
    assert_eq!(health["status"], "ok");

    // Fast settings (TCG is slow), then a real transcode of a clip on /data.
    guest.run("printf '\\n[transcode]\\nencoder = \"libx264\"\\npreset = \"ultrafast\"\\n' >> /data/alchemist/alchemist.toml");
    guest.run("cp /mnt/test/clip.mkv /data/media/clip.mkv && sync");

    // Board I/O: a status LED on a gpio-sim line and an LM75 on i2c-stub, configured in
    // [board]; board settings are read at start, so the service is restarted.
    let board_started = Instant::now();
    let devices = with_board.then(|| board::create(&mut guest));
    if let Some(devices) = &devices {
        guest.run(&format!(
            "printf '{}' >> /data/alchemist/alchemist.toml",
            devices.toml.replace('\n', "\\n")
        ));
        guest.run(
        "old=$(cat /run/alchemist.pid); kill $old; while kill -0 $old 2>/dev/null; do sleep 0.1; done",
    );
        guest.wait_http("/api/ready", BOOT_TIMEOUT);
        // A fresh client: the pooled connection went with the old process; the session stays.
        api = Api {
            token: api.token.take(),
            ..Api::new(guest.port)
        };
        board::wait_led(&mut guest, devices, 0, Duration::from_secs(10));
    }
    let mut board_time = board_started.elapsed();
    let folders = api.get("/api/library/folders");
    assert!(folders.to_string().contains("/data/media"), "{folders}");
    std::thread::sleep(Duration::from_secs(3)); // the config file is polled every 2 s
    let (s, v) = api.call(reqwest::Method::POST, "/api/library/scan", None);
    assert_eq!(s, 202, "scan: {v}");
    let started = Instant::now();
    // The LED lights while the job encodes. Meanwhile the LM75 reads 78.5 °C: the thermal guard
    // pauses the engine (ffmpeg is suspended) with its note, and resumes it at 60 °C.
    let board_started = Instant::now();
    if let Some(devices) = &devices {
        board::wait_led(&mut guest, devices, 1, TRANSCODE_TIMEOUT);
        board::set_celsius(&mut guest, devices, 78.5);
        let paused = wait_engine(&api, "paused by the thermal guard", |s| {
            s["status"] == "paused"
        });
        assert_eq!(
            paused["paused_reason"], "thermal: 78.5 °C above 75 °C",
            "{paused:#}"
        );
        let resources = api.get("/api/system/resources");
        let lm75 = resources["temperatures"]
            .as_array()
            .and_then(|t| t.iter().find(|t| t["sensor"] == "board-lm75"))
            .unwrap_or_else(|| panic!("no board sensor in {resources:#}"));
        assert_eq!(lm75["celsius"], 78.5);
        board::set_celsius(&mut guest, devices, 60.0);
        let resumed = wait_engine(&api, "resumed", |s| s["status"] == "running");
        assert!(resumed["paused_reason"].is_null(), "{resumed:#}");
    }
    board_time += board_started.elapsed();
    let job = loop {
        let jobs = api.get("/api/jobs");
        let done = jobs
            .as_array()
            .and_then(|a| a.iter().find(|j| j["status"] == "completed"))
            .cloned();
        if let Some(j) = done {
            break j;
        }
        assert!(
            !["\"failed\"", "\"skipped\""]
                .iter()
                .any(|s| jobs.to_string().contains(s)),
            "a job failed or was skipped: {jobs:#}\n{}",
            guest.run("tail -n 40 /var/log/alchemist.log")
        );
        assert!(
            started.elapsed() < TRANSCODE_TIMEOUT,
            "no job completed: {jobs:#}\n{}",
            guest.run("tail -n 40 /var/log/alchemist.log")
        );
        std::thread::sleep(Duration::from_secs(2));
    };
    figure(&format!(
        "x86_64 in-guest transcode of a 2 s 320x240 MPEG-4 clip to H.264: {:.1} s",
        started.elapsed().as_secs_f64()
    ));
    let board_started = Instant::now();
    if let Some(devices) = &devices {
        board::wait_led(&mut guest, devices, 0, Duration::from_secs(30));
    }
    board_time += board_started.elapsed();
    if with_board {
        figure(&format!(
            "x86_64 in-guest board I/O (gpio-sim LED, i2c-stub LM75, service restart): {:.1} s",
            board_time.as_secs_f64()
        ));
    }
    let id = job["id"].as_u64().expect("job id");
    let details = api.get(&format!("/api/jobs/{id}/details"));
    assert_eq!(details["job"]["status"], "completed", "{details:#}");
    drop(api);
    guest.poweroff();

    // Reboot: the job history is still there. This boot also loads vicodec, built out of tree
    // from Debian's kernel source (image/modules), to prove the harness's module path.
    let mut guest = boot_x86(&disk, None, &["v4l2-mem2mem.ko", "vicodec.ko"]);
    let to_http = guest.wait_http("/api/ready", BOOT_TIMEOUT);
    figure(&format!(
        "x86_64 UEFI boot to HTTP (second boot): {:.1} s",
        to_http.as_secs_f64()
    ));
    let mut api = Api::new(guest.port);
    api.login(&password);
    let d = api.get(&format!("/api/jobs/{id}/details"));
    assert_eq!(
        d["job"]["status"], "completed",
        "history after reboot: {d:#}"
    );
    drop(api);
    guest.poweroff();

    // Update: a newer image's boot and root partitions over this disk; /data is kept.
    let next = tmp.path().join("next");
    images::build_arch(Some("9.9.9-next"), &next, "x86_64");
    let out = Command::new("bash")
        .arg(images::repo().join("image/update"))
        .arg(&disk)
        .arg(next.join("alchemist-x86_64.img"))
        .output()
        .unwrap();
    assert!(out.status.success(), "image/update: {out:?}");
    let mut guest = boot_x86(&disk, None, &[]);
    guest.wait_http("/api/ready", BOOT_TIMEOUT);
    assert_eq!(guest.run("cat /etc/alchemist-release").trim(), "9.9.9-next");
    let mut api = Api::new(guest.port);
    api.login(&password);
    let d = api.get(&format!("/api/jobs/{id}/details"));
    assert_eq!(
        d["job"]["status"], "completed",
        "history after the update: {d:#}"
    );
    let toml = guest.run("cat /data/alchemist/alchemist.toml");
    assert!(toml.contains("ultrafast"), "settings kept: {toml}");
    let (s, v) = api.call(reqwest::Method::GET, "/api/library/folders", None);
    assert!(s == 200 && v.to_string().contains("/data/media"), "{v}");
    drop(api);
    guest.poweroff();
}

#[test]
fn aarch64_image_boots_and_answers_health() {
    let built = images::image(Arch::Aarch64);
    for f in ["alchemist-aarch64.img", "alchemist-aarch64.img.zst"] {
        let size = std::fs::metadata(images::out_dir().join(f)).unwrap().len();
        figure(&format!("{f}: {size} bytes"));
    }
    let tmp = tempfile::tempdir().unwrap();
    let disk = copy_image(&built, tmp.path());
    let mut guest = Guest::boot(GuestSpec::new(Arch::Aarch64, Boot::Uefi { disk }));
    let to_http = guest.wait_http("/api/health", BOOT_TIMEOUT);
    figure(&format!(
        "aarch64 UEFI boot to HTTP: {:.1} s",
        to_http.as_secs_f64()
    ));
    assert!(guest.run("uname -m").contains("aarch64"));
    guest.poweroff();
}

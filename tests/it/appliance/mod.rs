//! The appliance: static binaries, and the disk images from image/build booted under qemu
//! (TCG) through the harness in `qemu`. One x86_64 sequence covers first boot (HTTPS with the
//! certificate made at first boot, /data grown to fill a disk larger than the image), a real
//! transcode inside the guest and a reboot (updates: `update`), because every x86 boot
//! under emulation costs tens of seconds of the 2 CI cores. The API is used over HTTPS,
//! trusting only the box's own certificate. Figures (boot-to-HTTP(S), sizes) are printed and
//! appended to target/image/figures.txt.

use std::io::Write;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::support::https::Https;
use crate::support::qemu::images::{self, Built};
use crate::support::qemu::{Arch, Boot, Guest, GuestSpec};

mod board;
mod update;
mod update_api;
mod update_http;

/// vicodec and the Debian media modules it needs, in load order (image/modules copies them).
const VICODEC_MODULES: &[&str] = &[
    "mc.ko",
    "videodev.ko",
    "videobuf2-common.ko",
    "videobuf2-memops.ko",
    "videobuf2-vmalloc.ko",
    "videobuf2-v4l2.ko",
    "v4l2-mem2mem.ko",
    "vicodec.ko",
];
const BOOT_TIMEOUT: Duration = Duration::from_secs(300);
/// The appliance's HTTPS port (plain HTTP on 80 redirects there).
const HTTPS_PORT: u16 = 443;
/// The image's data partition (image/build's ALCHEMIST_DATA_MIB default) and how much the
/// first-boot test enlarges the disk by.
const IMAGE_DATA_MIB: u64 = 192;
const ENLARGE_MIB: u64 = 256;
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
    let qemu = crate::support::qemu::firmware(
        &["/usr/bin/qemu-aarch64-static"],
        "qemu-user-static (bash .ci/dev test installs it)",
    );
    let tmp = tempfile::tempdir().unwrap();
    let port = crate::support::binary::free_port();
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
        if crate::support::qemu::http_get_status(port, "/api/health") == Some(200) {
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

/// A JSON API client over HTTPS to a guest's forwarded 443, trusting only the box's own
/// first-boot certificate, checked against the box's host name.
struct Api {
    rt: tokio::runtime::Runtime,
    https: Https,
    token: Option<String>,
}

impl Api {
    /// Reads the certificate from the guest; the name checked is the one the box announces
    /// over mDNS and its console shows (the certificate must cover it, not only the host's
    /// own `alchemist-XXXXXX.local`, which the update test checks).
    fn new(guest: &mut Guest) -> Api {
        let cert = guest.run("cat /data/etc/tls/cert.pem");
        let addr = ([127, 0, 0, 1], guest.host_port(HTTPS_PORT)).into();
        Api {
            rt: tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap(),
            https: Https::new(addr, cert.as_bytes(), "alchemist.local"),
            token: None,
        }
    }

    fn try_call(
        &self,
        method: &str,
        path: &str,
        body: Option<Value>,
    ) -> Result<(u16, Value), String> {
        let auth = self.token.as_ref().map(|t| format!("Bearer {t}"));
        let headers: Vec<(&str, &str)> =
            auth.iter().map(|a| ("authorization", a.as_str())).collect();
        let r = self
            .rt
            .block_on(self.https.request(method, path, &headers, body.as_ref()))?;
        Ok((r.status, r.json()))
    }

    fn call(&self, method: &str, path: &str, body: Option<Value>) -> (u16, Value) {
        self.try_call(method, path, body)
            .unwrap_or_else(|e| panic!("{method} {path} over HTTPS: {e}"))
    }

    fn get(&self, path: &str) -> Value {
        let (s, v) = self.call("GET", path, None);
        assert_eq!(s, 200, "GET {path}: {v}");
        v
    }

    /// Wait until HTTPS answers `path` with 200; returns the time since the guest started.
    fn wait(&self, guest: &mut Guest, path: &str) -> Duration {
        let deadline = Instant::now() + BOOT_TIMEOUT;
        loop {
            match self.try_call("GET", path, None) {
                Ok((200, _)) => return guest.started.elapsed(),
                other => assert!(
                    Instant::now() < deadline,
                    "https {path}: {other:?}\n{}",
                    guest.console()
                ),
            }
            std::thread::sleep(Duration::from_millis(250));
        }
    }

    fn login(&mut self, password: &str) {
        let body = json!({"username": "admin", "password": password});
        let r = self
            .rt
            .block_on(
                self.https
                    .request("POST", "/api/auth/login", &[], Some(&body)),
            )
            .expect("login over HTTPS");
        assert_eq!(r.status, 200, "admin login: {}", r.text());
        let cookie = r
            .header("set-cookie")
            .expect("a session cookie")
            .to_string();
        assert!(cookie.contains("; Secure"), "Secure over HTTPS: {cookie}");
        let token = cookie
            .strip_prefix("alchemist_session=")
            .and_then(|c| c.split(';').next())
            .map(str::to_string);
        self.token = Some(token.expect("a session token"));
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

/// A copy of the image to boot (sparse: most of its gigabyte is the empty slot B and room).
fn copy_image(built: &Built, dir: &Path) -> std::path::PathBuf {
    let to = dir.join("disk.img");
    let ok = Command::new("cp")
        .arg("--sparse=always")
        .arg(&built.image)
        .arg(&to)
        .status()
        .is_ok_and(|s| s.success());
    assert!(ok, "copy the image");
    to
}

/// Make a disk image larger (sparse), as when the image is flashed onto a bigger disk.
fn enlarge(disk: &Path, mib: u64) {
    let f = std::fs::OpenOptions::new().write(true).open(disk).unwrap();
    let len = f.metadata().unwrap().len();
    f.set_len(len + mib * 1024 * 1024)
        .expect("enlarge the disk");
}

/// Sizes in MiB of the data partition (from the kernel) and of the file system on /data
/// (busybox df, which leaves out ext4's own metadata).
fn data_mib(guest: &mut Guest) -> (u64, u64) {
    let out = guest.run(
        "cat /sys/class/block/$(basename $(findfs LABEL=alchemist-data))/size; df -k /data | tail -n 1",
    );
    let mut lines = out.lines();
    let sectors: u64 = lines
        .next()
        .and_then(|l| l.trim().parse().ok())
        .unwrap_or_else(|| panic!("{out}"));
    let kib: u64 = lines
        .next()
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| panic!("df: {out}"));
    (sectors / 2048, kib / 1024)
}

/// `alchemist probe --json` in a guest with vicodec loaded: the FWHT encoder on /dev/video0 is
/// found, its formats are listed and its native test encode passes; FWHT has no ffmpeg encoder,
/// so nothing is selected for it. `--ffmpeg` points nowhere on purpose: the CPU test encodes
/// would take tens of seconds under TCG, and the V4L2 probe does not use ffmpeg.
fn vicodec_is_found_and_proved_natively(guest: &mut Guest) {
    let started = Instant::now();
    let out = guest.run("alchemist probe --json --ffmpeg /nonexistent/ffmpeg");
    figure(&format!(
        "x86_64 in-guest `alchemist probe --json` with vicodec: {:.1} s",
        started.elapsed().as_secs_f64()
    ));
    let json = &out[out.find('{').unwrap_or(0)..];
    let v: Value = serde_json::from_str(json).unwrap_or_else(|e| panic!("{e}: {out}"));
    let devices = v["v4l2"]["devices"].as_array().expect("v4l2 devices");
    let enc = devices
        .iter()
        .find(|d| d["driver"] == "vicodec" && d["role"] == "encoder")
        .unwrap_or_else(|| panic!("no vicodec encoder: {:#}", v["v4l2"]));
    assert_eq!(enc["path"], "/dev/video0", "{enc:#}");
    assert_eq!(enc["verified"], true, "{enc:#}");
    let fourccs = |q: &str| -> Vec<String> {
        enc[q]
            .as_array()
            .unwrap()
            .iter()
            .map(|f| f["fourcc"].as_str().unwrap().to_string())
            .collect()
    };
    assert!(
        fourccs("output_formats").contains(&"YU12".to_string()),
        "{enc:#}"
    );
    assert_eq!(fourccs("capture_formats"), ["FWHT"], "{enc:#}");
    let fwht = &enc["encoders"][0];
    assert_eq!(fwht["format"], "FWHT");
    assert_eq!(fwht["ffmpeg_encoder"], Value::Null);
    assert!(
        fwht["test_encode"]["frames_out"].as_u64().unwrap() > 0,
        "{fwht:#}"
    );
    assert!(
        fwht["test_encode"]["head"]
            .as_str()
            .unwrap()
            .starts_with("4f4f4f4f"),
        "{fwht:#}"
    );
    let roles: Vec<&str> = devices
        .iter()
        .map(|d| d["role"].as_str().unwrap())
        .collect();
    assert_eq!(roles, ["encoder", "decoder", "decoder"]);
    let reason = v["v4l2"]["unavailable_reason"].as_str().unwrap();
    assert!(reason.contains("verified natively"), "{reason}");
}

#[test]
fn x86_64_image_boots_uefi_transcodes_and_keeps_data_across_reboot() {
    let built = images::image(Arch::X86_64);
    for f in ["alchemist-x86_64.img", "alchemist-x86_64.img.zst"] {
        let size = std::fs::metadata(images::out_dir().join(f)).unwrap().len();
        figure(&format!("{f}: {size} bytes"));
    }
    let tmp = tempfile::tempdir().unwrap();
    let disk = copy_image(&built, tmp.path());
    // Flashed onto a larger disk: the first boot grows /data to the end of it.
    enlarge(&disk, ENLARGE_MIB);

    // First boot: the console shows the HTTPS address and the admin's one-time password.
    // A bulky MPEG-4 source: the H.264 output is clearly smaller, so the savings checks pass.
    let mut guest = boot_x86_board(&disk, crate::support::clips::mpeg4_clip());
    // The health probe also answers on plain HTTP (port 80), so the wait needs no certificate.
    let to_http = guest.wait_http("/api/health", BOOT_TIMEOUT);
    let mut api = Api::new(&mut guest);
    let to_https = api.wait(&mut guest, "/api/health");
    // A box that found its name taken announces `alchemist-2.local`: the first-boot
    // certificate covers that name too (the health probe answers whatever the Host).
    let second = Https::new(
        ([127, 0, 0, 1], guest.host_port(HTTPS_PORT)).into(),
        guest.run("cat /data/etc/tls/cert.pem").as_bytes(),
        "alchemist-2.local",
    );
    let health = api
        .rt
        .block_on(second.request("GET", "/api/health", &[], None))
        .expect("the certificate names alchemist-2.local");
    assert_eq!(health.status, 200);
    figure(&format!(
        "x86_64 UEFI boot to HTTP (first boot): {:.1} s, to HTTPS with the first-boot certificate: {:.1} s",
        to_http.as_secs_f64(),
        to_https.as_secs_f64()
    ));
    guest.wait_console("ALCHEMIST-CONSOLE-READY", BOOT_TIMEOUT);
    let console = guest.console();
    assert!(console.contains("Open https://10.0.2.15/"), "{console}");
    assert!(
        console.contains("self-signed TLS certificate for alchemist-"),
        "{console}"
    );
    let password = console_password(&console);
    // Everything but the probes on port 80 is redirected to HTTPS.
    assert_eq!(
        crate::support::qemu::http_get_status(guest.port, "/login"),
        Some(308)
    );
    api.login(&password);
    let health = api.get("/api/health");
    assert_eq!(health["status"], "ok");
    let cert = guest.run("cat /data/etc/tls/cert.pem");
    assert_eq!(guest.run("stat -c %a /data/etc/tls/key.pem").trim(), "600");
    // The console shows the certificate's fingerprint, for checking it on a first visit.
    let cert_file = tmp.path().join("first-boot-cert.pem");
    std::fs::write(&cert_file, &cert).unwrap();
    let fingerprint = alchemist::tls::fingerprint(&cert_file).unwrap();
    assert!(
        console.contains(&fingerprint),
        "{fingerprint} on the console:\n{console}"
    );
    // /data filled the enlarged disk (the image's data partition is IMAGE_DATA_MIB): the
    // partition reaches the new end of the disk and the file system outgrew the old partition.
    let grown = data_mib(&mut guest);
    figure(&format!(
        "x86_64 first boot: /data grew from a {IMAGE_DATA_MIB} MiB partition to {} MiB ({} MiB file system)",
        grown.0, grown.1
    ));
    assert!(
        grown.0 >= IMAGE_DATA_MIB + ENLARGE_MIB && grown.1 > IMAGE_DATA_MIB + ENLARGE_MIB / 2,
        "/data is {grown:?} MiB (partition, file system) on a disk enlarged by {ENLARGE_MIB} MiB:\n{}",
        guest.run("cat /run/grow-data.log; cat /proc/partitions")
    );

    // Fast settings (TCG is slow), then a real transcode of a clip on /data.
    guest.run("printf '\\n[transcode]\\nencoder = \"libx264\"\\npreset = \"ultrafast\"\\n' >> /data/alchemist/alchemist.toml");

    // Board I/O: a status LED on a gpio-sim line and an LM75 on i2c-stub, configured in
    // [board]; board settings are read at start, so the service is restarted.
    let board_started = Instant::now();
    let devices = board::create(&mut guest);
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
        ..Api::new(&mut guest)
    };
    board::wait_line_held(&mut guest, Duration::from_secs(30));
    board::wait_led(&mut guest, &devices, 0, Duration::from_secs(10));
    let mut board_time = board_started.elapsed();
    // The clip arrives after the restart: a server starting with it in place would scan it at
    // once, and its job could end before the LED is watched.
    guest.run("cp /mnt/test/clip.mkv /data/media/clip.mkv && sync");
    let folders = api.get("/api/library/folders");
    assert!(folders.to_string().contains("/data/media"), "{folders}");
    // The fast settings appended above are in effect: the restarted service read the file.
    let default = api.get("/api/profiles/default");
    assert_eq!(
        (&default["encoder"], &default["preset"]),
        (&json!("libx264"), &json!("ultrafast")),
        "{default:#}"
    );
    let (s, v) = api.call("POST", "/api/library/scan", None);
    assert_eq!(s, 202, "scan: {v}");
    let started = Instant::now();
    // The LED lights while the job encodes. Meanwhile the LM75 reads 78.5 °C: the thermal guard
    // pauses the engine (ffmpeg is suspended) with its note, and resumes it at 60 °C.
    let board_started = Instant::now();
    board::wait_led(&mut guest, &devices, 1, TRANSCODE_TIMEOUT);
    board::set_celsius(&mut guest, &devices, 78.5);
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
    // While the guard holds the engine, the schedule's window closes (a window two hours from
    // now is saved): the guard's pause stands. When it cools down, the schedule takes the pause
    // over instead of letting encodes run outside a window; a schedule turned off releases it.
    let hour: u32 = guest.run("date +%H").trim().parse().unwrap();
    let window = json!({"enabled": true, "outside_window": "suspend", "windows": [{
        "days": ["mon", "tue", "wed", "thu", "fri", "sat", "sun"],
        "start": format!("{:02}:00", (hour + 2) % 24),
        "end": format!("{:02}:00", (hour + 3) % 24),
    }]});
    let (s, v) = api.call("PUT", "/api/settings/schedule", Some(window.clone()));
    assert_eq!(s, 200, "schedule: {v}");
    board::set_celsius(&mut guest, &devices, 60.0);
    let held = wait_engine(&api, "held by the schedule after cooling", |s| {
        s["paused_reason"]
            .as_str()
            .is_some_and(|r| r.starts_with("outside the schedule window"))
    });
    assert_eq!(held["status"], "paused", "{held:#}");
    let mut off = window;
    off["enabled"] = json!(false);
    let (s, v) = api.call("PUT", "/api/settings/schedule", Some(off));
    assert_eq!(s, 200, "schedule: {v}");
    let resumed = wait_engine(&api, "resumed", |s| s["status"] == "running");
    assert!(resumed["paused_reason"].is_null(), "{resumed:#}");
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
    board::wait_led(&mut guest, &devices, 0, Duration::from_secs(30));
    board_time += board_started.elapsed();
    figure(&format!(
        "x86_64 in-guest board I/O (gpio-sim LED, i2c-stub LM75, service restart): {:.1} s",
        board_time.as_secs_f64()
    ));
    let id = job["id"].as_u64().expect("job id");
    let details = api.get(&format!("/api/jobs/{id}/details"));
    assert_eq!(details["job"]["status"], "completed", "{details:#}");
    drop(api);
    guest.poweroff();

    // Reboot: the job history is still there. This boot also loads vicodec, built out of tree
    // from Debian's kernel source (image/modules), for the native V4L2 probe.
    let mut guest = boot_x86(&disk, None, VICODEC_MODULES);
    guest.wait_http("/api/ready", BOOT_TIMEOUT);
    let mut api = Api::new(&mut guest);
    let to_https = api.wait(&mut guest, "/api/ready");
    figure(&format!(
        "x86_64 UEFI boot to HTTPS (second boot): {:.1} s",
        to_https.as_secs_f64()
    ));
    assert_eq!(
        guest.run("cat /data/etc/tls/cert.pem"),
        cert,
        "the certificate is kept"
    );
    assert_eq!(data_mib(&mut guest), grown, "grown once");
    api.login(&password);
    let d = api.get(&format!("/api/jobs/{id}/details"));
    assert_eq!(
        d["job"]["status"], "completed",
        "history after reboot: {d:#}"
    );
    drop(api);
    vicodec_is_found_and_proved_natively(&mut guest);
    guest.poweroff();

    // Updates (A/B, through the API, keeping /data): update.rs.
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
    let api = Api::new(&mut guest);
    let to_https = api.wait(&mut guest, "/api/health");
    figure(&format!(
        "aarch64 UEFI boot to HTTP: {:.1} s, to HTTPS: {:.1} s",
        to_http.as_secs_f64(),
        to_https.as_secs_f64()
    ));
    assert!(guest.run("uname -m").contains("aarch64"));
    // The aarch64 image has a static ffprobe too (probing, so transcoding, needs it).
    let ffprobe = guest.run("ffprobe -hide_banner -version | head -n 1");
    assert!(ffprobe.starts_with("ffprobe version"), "{ffprobe}");
    guest.poweroff();
}

//! A/B updates of the x86_64 image through the API, on one disk, in one qemu that reboots in
//! place like a real box: the image boots slot A; a bundle signed by another key is refused
//! before anything is written; a newer bundle (image/build of another release) is uploaded,
//! installed into slot B while the box serves, and after a reboot the box runs slot B with the
//! new release and /data as it was (jobs, settings, admin); then a bundle whose server cannot
//! start is installed into slot A, and after a reboot the box notices by itself (the boot health
//! check), marks slot A bad and comes back on slot B. Bundles are signed with image/build's
//! throw-away key (target/rauc-test-keys).

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use super::update_http::BoxHttps;
use super::{Api, BOOT_TIMEOUT, HTTPS_PORT, console_password, copy_image, figure};
use crate::support::qemu::images::{self, Built};
use crate::support::qemu::{Arch, Boot, Guest, GuestSpec};

const NEXT: &str = "9.9.9-next";
const BROKEN: &str = "9.9.9-broken";
/// Receiving, checking and writing a bundle of about 80 MB under emulation.
const INSTALL_TIMEOUT: Duration = Duration::from_secs(600);

fn sh(cmd: &mut Command, what: &str) {
    let out = cmd.output().unwrap_or_else(|e| panic!("{what}: {e}"));
    assert!(
        out.status.success(),
        "{what}: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

fn keys() -> PathBuf {
    images::repo().join("target/rauc-test-keys")
}

/// The newer release's root with a server that cannot start (it exits at once), as a bundle
/// signed like the others.
fn broken_bundle(next: &Path, dir: &Path) -> PathBuf {
    let root = dir.join("broken-root");
    sh(
        Command::new("cp")
            .arg("-a")
            .arg(next.join("x86_64/rootfs"))
            .arg(&root),
        "copy the root",
    );
    std::fs::write(
        root.join("usr/bin/alchemist"),
        "#!/bin/sh\necho 'alchemist: broken test build' >&2\nexit 1\n",
    )
    .unwrap();
    std::fs::write(root.join("etc/alchemist-release"), format!("{BROKEN}\n")).unwrap();
    let sqfs = dir.join("broken.sqfs");
    sh(
        Command::new("mksquashfs").arg(&root).arg(&sqfs).args([
            "-comp",
            "zstd",
            "-Xcompression-level",
            "3",
            "-all-root",
            "-noappend",
            "-quiet",
        ]),
        "mksquashfs",
    );
    let out = dir.join("broken.raucb");
    sh(
        Command::new(images::repo().join("buildroot/board/alchemist/common/rauc/make-bundle"))
            .args(["alchemist-offline-x86_64", BROKEN])
            .arg(&sqfs)
            .arg(next.join("x86_64/boot.vfat"))
            .arg(keys().join("cert.pem"))
            .arg(keys().join("key.pem"))
            .arg(&out),
        "make-bundle",
    );
    out
}

/// `bundle` signed again by a key the box does not trust.
fn foreign_bundle(bundle: &Path, dir: &Path) -> PathBuf {
    let (key, cert) = (dir.join("foreign-key.pem"), dir.join("foreign-cert.pem"));
    sh(
        Command::new("openssl")
            .args([
                "req",
                "-x509",
                "-newkey",
                "ec",
                "-pkeyopt",
                "ec_paramgen_curve:prime256v1",
            ])
            .args(["-nodes", "-days", "3650", "-subj", "/CN=Somebody else"])
            .arg("-keyout")
            .arg(&key)
            .arg("-out")
            .arg(&cert),
        "openssl",
    );
    let out = dir.join("foreign.raucb");
    sh(
        Command::new("rauc")
            // The new signature is checked against the foreign certificate itself; the old
            // one need not be.
            .arg(format!("--keyring={}", cert.display()))
            .arg(format!("--cert={}", cert.display()))
            .arg(format!("--key={}", key.display()))
            .args(["resign", "--no-verify"])
            .arg(bundle)
            .arg(&out),
        "rauc resign",
    );
    out
}

/// Clients for a (re)booted box: JSON, and raw uploads / SSE.
fn connect(guest: &mut Guest, password: &str) -> (Api, BoxHttps) {
    let mut api = Api::new(guest);
    api.wait(guest, "/api/ready");
    api.login(password);
    let cert = guest.run("cat /data/etc/tls/cert.pem");
    let host = format!("{}.local", guest.run("hostname").trim());
    let addr = ([127, 0, 0, 1], guest.host_port(HTTPS_PORT)).into();
    let raw = BoxHttps::new(addr, cert.as_bytes(), &host, api.token.as_deref().unwrap());
    (api, raw)
}

/// Poll the update state until `done` holds (the health check marks a slot good some
/// seconds after the service answers).
fn wait_update(api: &Api, what: &str, done: impl Fn(&Value) -> bool) -> Value {
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        let v = api.get("/api/system/update");
        if done(&v) {
            return v;
        }
        assert!(Instant::now() < deadline, "update state not {what}: {v:#}");
        std::thread::sleep(Duration::from_millis(500));
    }
}

fn slot<'a>(status: &'a Value, name: &str) -> &'a Value {
    status["slots"]
        .as_array()
        .and_then(|s| s.iter().find(|s| s["name"] == name))
        .unwrap_or_else(|| panic!("no slot {name}: {status:#}"))
}

/// Upload `bundle`, follow the progress over SSE until it is installed; returns the seconds.
fn install(api: &Api, raw: &BoxHttps, bundle: &Path, version: &str) -> f64 {
    let started = Instant::now();
    let bytes = std::fs::read(bundle).unwrap();
    let (status, body) = api.rt.block_on(raw.post_bytes("/api/system/update", bytes));
    assert_eq!(status, 202, "upload {}: {body:#}", bundle.display());
    assert_eq!(body["version"], version, "{body:#}");
    let events = api.rt.block_on(raw.follow(
        "/api/system/update",
        "install",
        |s| s["phase"] != "installing",
        INSTALL_TIMEOUT,
    ));
    let last = events.last().expect("install events");
    assert_eq!(last["phase"], "installed", "{events:#?}");
    let percentages: Vec<u64> = events
        .iter()
        .filter_map(|e| e["percentage"].as_u64())
        .collect();
    assert!(
        percentages.windows(2).all(|w| w[0] <= w[1]) && percentages.last() == Some(&100),
        "progress goes up to 100: {percentages:?}"
    );
    started.elapsed().as_secs_f64()
}

/// Reboot through the API and wait until the box serves again from the slot GRUB picked.
fn reboot(api: &Api, guest: &mut Guest, expect: &[&str]) -> Duration {
    let from = guest.console_len();
    let (status, body) = api.call("POST", "/api/system/reboot", Some(json!({})));
    assert_eq!(status, 202, "{body}");
    let started = Instant::now();
    for needle in expect {
        guest.wait_console_after(from, needle, BOOT_TIMEOUT);
    }
    guest.wait_http("/api/ready", BOOT_TIMEOUT);
    started.elapsed()
}

fn root_b_digest(guest: &mut Guest) -> String {
    guest.run("head -c 8388608 /dev/disk/by-partlabel/root-b | sha256sum; head -c 1048576 /dev/disk/by-partlabel/boot-b | sha256sum")
}

#[test]
fn x86_64_updates_through_the_api_into_the_other_slot_and_falls_back_from_a_broken_one() {
    let built: Built = images::image(Arch::X86_64);
    let tmp = tempfile::tempdir().unwrap();
    let made = Instant::now();
    let next = tmp.path().join("next");
    images::build_arch(Some(NEXT), &next, "x86_64");
    let good = next.join("alchemist-x86_64.raucb");
    let broken = broken_bundle(&next, tmp.path());
    let foreign = foreign_bundle(&good, tmp.path());
    figure(&format!(
        "x86_64 update bundle: {} bytes (next release and test bundles made in {:.0} s)",
        std::fs::metadata(&good).unwrap().len(),
        made.elapsed().as_secs_f64()
    ));

    let disk = copy_image(&built, tmp.path());
    let mut spec = GuestSpec::new(Arch::X86_64, Boot::Uefi { disk });
    spec.reboot = true;
    spec.files.push((
        crate::support::clips::mpeg4_clip().into(),
        "clip.mkv".into(),
    ));
    let mut guest = Guest::boot(spec);
    guest.wait_console("alchemist: booting slot A", BOOT_TIMEOUT);
    guest.wait_http("/api/ready", BOOT_TIMEOUT);
    guest.wait_console("ALCHEMIST-CONSOLE-READY", BOOT_TIMEOUT);
    let password = console_password(&guest.console());
    let (api, raw) = connect(&mut guest, &password);
    let status = wait_update(&api, "slot A marked good", |s| s["booted_good"] == true);
    assert_eq!(status["available"], true, "{status:#}");
    assert_eq!(status["booted_slot"], "A");
    assert_eq!(status["compatible"], "alchemist-offline-x86_64");
    let factory = built.part("release");
    let factory = std::fs::read_to_string(factory).unwrap();
    assert_eq!(slot(&status, "A")["version"], factory.trim(), "{status:#}");
    assert_eq!(slot(&status, "B")["version"], Value::Null, "{status:#}");

    // What /data holds and an update must keep: a setting, a job, the certificate, the admin.
    guest.run("printf '\\n[transcode]\\nencoder = \"libx264\"\\npreset = \"ultrafast\"\\n' >> /data/alchemist/alchemist.toml");
    guest.run("cp /mnt/test/clip.mkv /data/media/clip.mkv && sync");
    let (s, v) = api.call("POST", "/api/library/scan", None);
    assert_eq!(s, 202, "scan: {v}");
    let job = {
        let deadline = Instant::now() + Duration::from_secs(120);
        loop {
            let jobs = api.get("/api/jobs");
            if let Some(id) = jobs
                .as_array()
                .and_then(|a| a.first())
                .and_then(|j| j["id"].as_u64())
            {
                break id;
            }
            assert!(Instant::now() < deadline, "no job from the scan: {jobs}");
            std::thread::sleep(Duration::from_millis(500));
        }
    };
    let cert = guest.run("cat /data/etc/tls/cert.pem");

    // Signed by a key the box does not trust: refused, and slot B is not touched.
    let before = root_b_digest(&mut guest);
    let (s, problem) = api
        .rt
        .block_on(raw.post_bytes("/api/system/update", std::fs::read(&foreign).unwrap()));
    assert_eq!(s, 422, "{problem:#}");
    assert_eq!(problem["code"], "UPDATE_BUNDLE_REJECTED", "{problem:#}");
    assert_eq!(
        root_b_digest(&mut guest),
        before,
        "nothing was written to slot B"
    );
    let status = api.get("/api/system/update");
    assert_eq!(status["install"]["phase"], "failed", "{status:#}");
    assert_eq!(status["install"]["error_code"], "UPDATE_BUNDLE_REJECTED");
    assert_eq!(slot(&status, "B")["version"], Value::Null, "{status:#}");
    assert_eq!(
        guest.run("ls /tmp | grep -c raucb || true").trim(),
        "0",
        "the upload is gone"
    );

    // The newer release, installed into slot B while slot A serves.
    let took = install(&api, &raw, &good, NEXT);
    let status = api.get("/api/system/update");
    assert_eq!(slot(&status, "B")["version"], NEXT, "{status:#}");
    assert_eq!(slot(&status, "B")["primary"], true, "{status:#}");
    assert_eq!(status["booted_slot"], "A");
    figure(&format!(
        "x86_64 update through the API: upload, check and install {took:.1} s"
    ));
    let to_ready = reboot(&api, &mut guest, &["alchemist: booting slot B"]);
    figure(&format!(
        "x86_64 reboot into the updated slot to HTTP ready: {:.1} s",
        to_ready.as_secs_f64()
    ));
    drop(raw);
    let (api, raw) = connect(&mut guest, &password);
    assert_eq!(guest.run("cat /etc/alchemist-release").trim(), NEXT);
    let status = wait_update(&api, "slot B marked good", |s| s["booted_good"] == true);
    assert_eq!(status["booted_slot"], "B", "{status:#}");
    assert_eq!(slot(&status, "B")["version"], NEXT);
    // /data as it was: the admin logged in above; the job, the setting, the certificate.
    let d = api.get(&format!("/api/jobs/{job}/details"));
    assert_eq!(d["job"]["id"], job, "{d:#}");
    let toml = guest.run("cat /data/alchemist/alchemist.toml");
    assert!(toml.contains("ultrafast"), "settings kept: {toml}");
    assert_eq!(
        guest.run("cat /data/etc/tls/cert.pem"),
        cert,
        "certificate kept"
    );

    // A release whose server cannot start, into slot A: the box tries it once, notices, marks
    // it bad and reboots into slot B by itself.
    install(&api, &raw, &broken, BROKEN);
    let fell_back = reboot(
        &api,
        &mut guest,
        &[
            "alchemist: booting slot A",
            "slot A failed its health check",
            "alchemist: booting slot B",
        ],
    );
    figure(&format!(
        "x86_64 broken update: rebooted, failed its health check and came back on slot B in {:.1} s",
        fell_back.as_secs_f64()
    ));
    drop(raw);
    let (api, _raw) = connect(&mut guest, &password);
    assert_eq!(guest.run("cat /etc/alchemist-release").trim(), NEXT);
    let status = wait_update(&api, "back on slot B, marked good", |s| {
        s["booted_good"] == true
    });
    assert_eq!(status["booted_slot"], "B", "{status:#}");
    assert_eq!(slot(&status, "A")["good"], false, "{status:#}");
    assert_eq!(slot(&status, "A")["version"], BROKEN, "{status:#}");
    let d = api.get(&format!("/api/jobs/{job}/details"));
    assert_eq!(d["job"]["id"], job, "{d:#}");
    drop(api);
    guest.poweroff();
}

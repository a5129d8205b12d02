//! A reusable qemu harness for appliance and hardware tests: boots a disk image through UEFI
//! firmware (OVMF, AAVMF) or a kernel + initramfs, for x86_64 and aarch64, with TCG, forwards guest
//! TCP ports (HTTP and HTTPS) to 127.0.0.1 only, copies files in on a small labelled disk, loads extra kernel
//! modules (vicodec, gpio-sim, i2c-stub built out of tree), runs shell commands in the guest over
//! a virtio console and keeps the serial console log.
//!
//! Guest side (image/test-hook, installed only in the test image): a disk labelled
//! `alchemist-test` is mounted on /mnt/test; `modules/*.ko` listed in `modules/order` are
//! inserted; a root shell listens on /dev/hvc0. Guests are serialised through one lock: TCG
//! emulation is CPU-bound and CI has 2 cores shared with the rest of the suite.

#![allow(dead_code)]

pub mod images;

use std::io::{BufRead, BufReader, Read, Write};
use std::os::unix::net::UnixStream;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, Instant};

use super::binary::free_port;

static ONE_GUEST_AT_A_TIME: Mutex<()> = Mutex::new(());

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Arch {
    X86_64,
    Aarch64,
}

impl Arch {
    pub fn name(self) -> &'static str {
        match self {
            Arch::X86_64 => "x86_64",
            Arch::Aarch64 => "aarch64",
        }
    }
    fn console(self) -> &'static str {
        match self {
            Arch::X86_64 => "ttyS0",
            Arch::Aarch64 => "ttyAMA0",
        }
    }
}

/// What the guest boots.
#[derive(Debug, Clone)]
pub enum Boot {
    /// A whole disk through UEFI firmware (x86_64: OVMF, aarch64: AAVMF).
    Uefi { disk: PathBuf },
    /// Direct kernel boot; `disk` (if any) is attached as the first virtio disk.
    Kernel {
        kernel: PathBuf,
        initrd: PathBuf,
        cmdline: String,
        disk: Option<PathBuf>,
    },
}

/// How to start a guest.
#[derive(Debug, Clone)]
pub struct GuestSpec {
    pub arch: Arch,
    pub boot: Boot,
    pub memory_mib: u32,
    /// The guest port forwarded to a free port on 127.0.0.1 (`Guest::port`).
    pub guest_port: u16,
    /// More guest ports forwarded to free loopback ports (`Guest::host_port`); by default
    /// the appliance's HTTPS port.
    pub extra_ports: Vec<u16>,
    /// Files copied in: (host file, path under /mnt/test).
    pub files: Vec<(PathBuf, String)>,
    /// Extra kernel modules, inserted in this order at boot.
    pub modules: Vec<PathBuf>,
    /// A reboot power-cycles the machine: qemu ends and the harness starts it again on the same
    /// disk and firmware variables (firmware, boot loader, the disk as the guest left it), as
    /// a real box's reset does; by default a reboot ends qemu. Not qemu's own reset: once in
    /// CI the x86_64 guest printed "reboot: Restarting system" and OVMF never came back.
    pub reboot: bool,
}

impl GuestSpec {
    pub fn new(arch: Arch, boot: Boot) -> GuestSpec {
        GuestSpec {
            arch,
            boot,
            memory_mib: 1024,
            guest_port: 80,
            extra_ports: vec![443],
            files: Vec::new(),
            modules: Vec::new(),
            reboot: false,
        }
    }
}

/// A running guest. Dropping it kills qemu (by its pid).
pub struct Guest {
    pub arch: Arch,
    /// Host port on 127.0.0.1 that reaches `guest_port`.
    pub port: u16,
    /// (guest port, host port) of `extra_ports`.
    forwards: Vec<(u16, u16)>,
    pub started: Instant,
    child: Child,
    /// qemu and its arguments, to start it again after a reboot (`GuestSpec::reboot`).
    program: std::ffi::OsString,
    args: Vec<std::ffi::OsString>,
    relaunch: bool,
    /// Console length when qemu was last started: a reboot is looked for after it.
    launched_at: usize,
    dir: tempfile::TempDir,
    log: PathBuf,
    shell: Option<BufReader<UnixStream>>,
    next_marker: u64,
    _lock: MutexGuard<'static, ()>,
}

/// The guest's root shell (virtconsole) in the guest's own directory.
const SHELL_SOCKET: &str = "shell.sock";

fn need(program: &str) -> PathBuf {
    let found = std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|d| d.join(program))
            .find(|p| p.is_file())
    });
    found.unwrap_or_else(|| {
        panic!("{program} is missing: run `bash .ci/dev test` once, it installs the packages")
    })
}

/// First of `candidates` that exists, or a clear failure.
pub fn firmware(candidates: &[&str], package: &str) -> PathBuf {
    candidates
        .iter()
        .map(PathBuf::from)
        .find(|p| p.is_file())
        .unwrap_or_else(|| panic!("UEFI firmware missing ({candidates:?}): install {package}"))
}

/// An ext4 image labelled `alchemist-test` holding `files` and `modules`.
fn test_disk(dir: &Path, spec: &GuestSpec) -> Option<PathBuf> {
    if spec.files.is_empty() && spec.modules.is_empty() {
        return None;
    }
    let root = dir.join("testdisk");
    std::fs::create_dir_all(root.join("modules")).unwrap();
    let mut order = String::new();
    for m in &spec.modules {
        let name = m.file_name().unwrap().to_str().unwrap().to_string();
        std::fs::copy(m, root.join("modules").join(&name)).expect("copy module");
        order.push_str(&name);
        order.push('\n');
    }
    std::fs::write(root.join("modules/order"), order).unwrap();
    let mut bytes = 0;
    for (host, guest) in &spec.files {
        let to = root.join(guest.trim_start_matches('/'));
        std::fs::create_dir_all(to.parent().unwrap()).unwrap();
        bytes += std::fs::copy(host, &to).expect("copy a file into the test disk");
    }
    let img = dir.join("testdisk.ext4");
    let mib = 16 + bytes / (1 << 20) * 2;
    let out = Command::new(need("mkfs.ext4"))
        .args(["-q", "-F", "-L", "alchemist-test", "-d"])
        .arg(&root)
        .arg(&img)
        .arg(format!("{mib}M"))
        .output()
        .expect("mkfs.ext4");
    assert!(out.status.success(), "mkfs.ext4: {out:?}");
    Some(img)
}

impl Guest {
    pub fn boot(spec: GuestSpec) -> Guest {
        let lock = ONE_GUEST_AT_A_TIME
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        let dir = tempfile::tempdir().expect("tempdir");
        let port = free_port();
        let log = dir.path().join("console.log");
        let sock = dir.path().join(SHELL_SOCKET);
        let mut cmd = match spec.arch {
            Arch::X86_64 => {
                let mut c = Command::new(need("qemu-system-x86_64"));
                c.args(["-accel", "tcg", "-cpu", "max", "-M", "q35"]);
                c
            }
            Arch::Aarch64 => {
                let mut c = Command::new(need("qemu-system-aarch64"));
                c.args(["-accel", "tcg", "-M", "virt", "-cpu", "cortex-a72"]);
                c
            }
        };
        cmd.args(["-smp", "2", "-m", &spec.memory_mib.to_string()]);
        cmd.args(["-display", "none", "-monitor", "none"]);
        cmd.arg("-no-reboot");
        // Appended to, so the log of a boot after a power cycle follows the one before.
        cmd.arg("-chardev")
            .arg(format!("file,id=ser0,path={},append=on", log.display()));
        cmd.args(["-serial", "chardev:ser0"]);
        let disk_arg = |p: &Path| format!("file={},if=virtio,format=raw", p.display());
        match &spec.boot {
            Boot::Uefi { disk } => {
                let (code, vars, package) = match spec.arch {
                    Arch::X86_64 => (
                        "/usr/share/OVMF/OVMF_CODE_4M.fd",
                        "/usr/share/OVMF/OVMF_VARS_4M.fd",
                        "ovmf",
                    ),
                    Arch::Aarch64 => (
                        "/usr/share/AAVMF/AAVMF_CODE.fd",
                        "/usr/share/AAVMF/AAVMF_VARS.fd",
                        "qemu-efi-aarch64",
                    ),
                };
                let code = firmware(&[code], package);
                let own_vars = dir.path().join("vars.fd");
                std::fs::copy(firmware(&[vars], package), &own_vars).expect("UEFI vars");
                cmd.arg("-drive").arg(format!(
                    "if=pflash,format=raw,readonly=on,file={}",
                    code.display()
                ));
                cmd.arg("-drive")
                    .arg(format!("if=pflash,format=raw,file={}", own_vars.display()));
                cmd.arg("-drive").arg(disk_arg(disk));
            }
            Boot::Kernel {
                kernel,
                initrd,
                cmdline,
                disk,
            } => {
                cmd.arg("-kernel").arg(kernel).arg("-initrd").arg(initrd);
                cmd.arg("-append")
                    .arg(format!("console={} {cmdline}", spec.arch.console()));
                if let Some(disk) = disk {
                    cmd.arg("-drive").arg(disk_arg(disk));
                }
            }
        }
        if let Some(img) = test_disk(dir.path(), &spec) {
            cmd.arg("-drive").arg(disk_arg(&img));
        }
        let forwards: Vec<(u16, u16)> =
            spec.extra_ports.iter().map(|&g| (g, free_port())).collect();
        let mut netdev = format!(
            "user,id=n0,restrict=off,hostfwd=tcp:127.0.0.1:{port}-:{}",
            spec.guest_port
        );
        for (guest, host) in &forwards {
            netdev.push_str(&format!(",hostfwd=tcp:127.0.0.1:{host}-:{guest}"));
        }
        cmd.arg("-netdev").arg(netdev);
        cmd.args(["-device", "virtio-net-pci,netdev=n0"]);
        cmd.args(["-device", "virtio-serial-pci"]);
        cmd.arg("-chardev").arg(format!(
            "socket,id=sh0,path={},server=on,wait=off",
            sock.display()
        ));
        cmd.args(["-device", "virtconsole,chardev=sh0"]);
        let program = cmd.get_program().to_owned();
        let args: Vec<_> = cmd.get_args().map(|a| a.to_owned()).collect();
        let child = spawn_qemu(&program, &args, dir.path());
        let mut guest = Guest {
            arch: spec.arch,
            port,
            forwards,
            started: Instant::now(),
            child,
            program,
            args,
            relaunch: spec.reboot,
            launched_at: 0,
            dir,
            log,
            shell: None,
            next_marker: 0,
            _lock: lock,
        };
        guest.connect_shell();
        guest
    }

    /// The loopback port that reaches `guest_port` (one of `GuestSpec::extra_ports`).
    pub fn host_port(&self, guest_port: u16) -> u16 {
        self.forwards
            .iter()
            .find(|(g, _)| *g == guest_port)
            .map(|(_, h)| *h)
            .unwrap_or_else(|| panic!("guest port {guest_port} is not forwarded"))
    }

    fn shell_socket(&self) -> PathBuf {
        self.dir.path().join(SHELL_SOCKET)
    }

    /// Wait for qemu's shell socket and connect to it.
    fn connect_shell(&mut self) {
        let sock = self.shell_socket();
        let deadline = Instant::now() + Duration::from_secs(10);
        while !sock.exists() {
            self.assert_running();
            assert!(Instant::now() < deadline, "qemu did not create {sock:?}");
            std::thread::sleep(Duration::from_millis(50));
        }
        self.shell = Some(BufReader::new(
            UnixStream::connect(&sock).expect("connect the guest shell socket"),
        ));
    }

    fn assert_running(&mut self) {
        if let Ok(Some(status)) = self.child.try_wait() {
            let rebooted = self.relaunch
                && status.success()
                && std::fs::read(&self.log).is_ok_and(|log| {
                    let tail = log.get(self.launched_at..).unwrap_or_default();
                    String::from_utf8_lossy(tail).contains("reboot: Restarting system")
                });
            if rebooted {
                // The power cycle: the same machine, disk and firmware variables.
                self.launched_at = self.console_len();
                self.shell = None;
                let _ = std::fs::remove_file(self.shell_socket());
                self.child = spawn_qemu(&self.program, &self.args, self.dir.path());
                self.connect_shell();
                return;
            }
            let stderr =
                std::fs::read_to_string(self.dir.path().join("qemu.stderr")).unwrap_or_default();
            panic!(
                "qemu exited ({status}): {stderr}\n--- console ---\n{}",
                self.console()
            );
        }
    }

    /// Everything the guest printed on its serial console so far.
    pub fn console(&self) -> String {
        String::from_utf8_lossy(&std::fs::read(&self.log).unwrap_or_default()).into_owned()
    }

    /// Length of the console log so far: `wait_console_after` looks only at what follows.
    pub fn console_len(&self) -> usize {
        std::fs::metadata(&self.log)
            .map(|m| m.len() as usize)
            .unwrap_or(0)
    }

    /// Wait until the console shows `needle`; returns the time since launch.
    pub fn wait_console(&mut self, needle: &str, timeout: Duration) -> Duration {
        self.wait_console_after(0, needle, timeout)
    }

    /// Wait until the console shows `needle` after byte `offset` (from `console_len`), e.g.
    /// in the boot that follows a reboot; returns the time since launch.
    pub fn wait_console_after(
        &mut self,
        offset: usize,
        needle: &str,
        timeout: Duration,
    ) -> Duration {
        let deadline = Instant::now() + timeout;
        loop {
            let log = std::fs::read(&self.log).unwrap_or_default();
            let tail = log.get(offset..).unwrap_or_default();
            if String::from_utf8_lossy(tail).contains(needle) {
                return self.started.elapsed();
            }
            self.assert_running();
            assert!(
                Instant::now() < deadline,
                "console did not show {needle:?} within {timeout:?}:\n{}",
                self.console()
            );
            std::thread::sleep(Duration::from_millis(200));
        }
    }

    /// Wait until GET `path` on the forwarded port answers 200; returns the time since launch.
    pub fn wait_http(&mut self, path: &str, timeout: Duration) -> Duration {
        let deadline = Instant::now() + timeout;
        loop {
            if http_get_status(self.port, path) == Some(200) {
                return self.started.elapsed();
            }
            self.assert_running();
            assert!(
                Instant::now() < deadline,
                "http://127.0.0.1:{}{path} did not answer within {timeout:?}:\n{}",
                self.port,
                self.console()
            );
            std::thread::sleep(Duration::from_millis(250));
        }
    }

    /// Run a shell command in the guest (as root); returns its exit code and output.
    pub fn exec(&mut self, command: &str, timeout: Duration) -> (i32, String) {
        self.next_marker += 1;
        let marker = format!("M{}x{}", std::process::id(), self.next_marker);
        let shell = self.shell.as_mut().expect("guest shell");
        shell
            .get_mut()
            .set_read_timeout(Some(timeout))
            .expect("timeout");
        let line = format!("echo B{marker}; ( {command} ) 2>&1; echo E{marker} $?\n");
        shell.get_mut().write_all(line.as_bytes()).expect("write");
        let mut out = String::new();
        let mut inside = false;
        let deadline = Instant::now() + timeout;
        loop {
            let mut buf = Vec::new();
            match shell.read_until(b'\n', &mut buf) {
                Ok(0) => panic!("guest shell closed while running {command:?}"),
                Ok(_) => {}
                Err(e) => panic!("guest command {command:?} gave no answer: {e}"),
            }
            let text = String::from_utf8_lossy(&buf);
            let text = text.trim_end_matches(['\r', '\n']);
            let end = format!("E{marker} ");
            let rc = text
                .find(&end)
                .and_then(|i| text[i + end.len()..].trim().parse::<i32>().ok());
            if text.ends_with(&format!("B{marker}")) {
                inside = true;
            } else if let Some(rc) = rc {
                return (rc, out);
            } else if inside {
                out.push_str(text);
                out.push('\n');
            }
            assert!(
                Instant::now() < deadline,
                "guest command {command:?} timed out"
            );
        }
    }

    /// Run a command that must succeed; returns its output.
    pub fn run(&mut self, command: &str) -> String {
        let (rc, out) = self.exec(command, Duration::from_secs(120));
        assert_eq!(rc, 0, "guest command {command:?} failed: {out}");
        out
    }

    /// Clean shutdown from inside (services stop, /data is unmounted); waits for qemu to exit
    /// and returns the console log.
    pub fn poweroff(mut self) -> String {
        if let Some(shell) = self.shell.as_mut() {
            let _ = shell.get_mut().write_all(b"poweroff\n");
        }
        let deadline = Instant::now() + Duration::from_secs(120);
        loop {
            if let Ok(Some(_)) = self.child.try_wait() {
                return self.console();
            }
            assert!(
                Instant::now() < deadline,
                "guest did not power off:\n{}",
                self.console()
            );
            std::thread::sleep(Duration::from_millis(200));
        }
    }
}

impl Drop for Guest {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// Start qemu; it dies with the test thread that started it.
fn spawn_qemu(program: &std::ffi::OsStr, args: &[std::ffi::OsString], dir: &Path) -> Child {
    let mut cmd = Command::new(program);
    cmd.args(args);
    // SAFETY: prctl(PR_SET_PDEATHSIG) is async-signal-safe and touches no memory: qemu
    // dies with the test thread that started it, even when the test process is killed.
    unsafe {
        cmd.pre_exec(|| {
            libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL);
            Ok(())
        });
    }
    cmd.stdin(Stdio::null());
    cmd.stdout(Stdio::null());
    cmd.stderr(std::fs::File::create(dir.join("qemu.stderr")).unwrap());
    cmd.spawn().expect("start qemu")
}

/// Status code of a plain HTTP/1.1 GET on 127.0.0.1, or None when nothing answers.
pub fn http_get_status(port: u16, path: &str) -> Option<u16> {
    let mut s = std::net::TcpStream::connect(("127.0.0.1", port)).ok()?;
    s.set_read_timeout(Some(Duration::from_secs(5))).ok()?;
    write!(
        s,
        "GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n"
    )
    .ok()?;
    let mut head = [0u8; 12];
    s.read_exact(&mut head).ok()?;
    std::str::from_utf8(&head[9..12]).ok()?.parse().ok()
}

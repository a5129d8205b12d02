//! The real `alchemist` binary as a child process on a loopback port, for the figures that
//! belong to the process rather than to the code: start time, RSS and CPU time read from
//! `/proc/<pid>`. The binary is `ALCHEMIST_BIN` when set (`bash .ci/dev bench` sets it to the
//! `release` build, fat LTO and stripped, as shipped), else the one cargo built beside this
//! bench with the `bench` profile (same optimisation level, no LTO, not stripped).

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// Clock ticks per second of `/proc/<pid>/stat` times: USER_HZ, 100 on every Linux ABI the
/// appliance ships for (x86_64, aarch64).
const TICKS_PER_SECOND: f64 = 100.0;
/// How often the start-up probe retries `/api/health`: the resolution of the start time.
const HEALTH_POLL: Duration = Duration::from_millis(1);
/// Give up on a server that does not answer within this (a bench failure, not a figure).
const START_LIMIT: Duration = Duration::from_secs(60);
/// A graceful stop that takes longer than this is cut short with SIGKILL.
const STOP_LIMIT: Duration = Duration::from_secs(20);

/// The binary under test and a note saying which build it is.
pub fn binary() -> (PathBuf, String) {
    match std::env::var_os("ALCHEMIST_BIN") {
        Some(bin) => {
            let bin = PathBuf::from(bin);
            let note = format!("`{}` (ALCHEMIST_BIN)", bin.display());
            (bin, note)
        }
        None => (
            PathBuf::from(env!("CARGO_BIN_EXE_alchemist")),
            "the `bench`-profile build of `alchemist` (no LTO, not stripped)".into(),
        ),
    }
}

/// A free loopback port: bound, read, released (the child binds it a moment later).
fn free_port() -> u16 {
    let l = TcpListener::bind("127.0.0.1:0").expect("bind");
    l.local_addr().expect("addr").port()
}

pub struct ProcServer {
    child: Child,
    pub pid: u32,
    pub base: String,
    /// From spawn to the first `/api/health` 200.
    pub started_in: Duration,
    /// From spawn to the first `/api/ready` 200 (the job index is built); set by
    /// [`ProcServer::wait_ready`].
    pub ready_in: Duration,
    spawned: Instant,
}

impl ProcServer {
    /// `alchemist serve` on `data` with `extra` arguments; returns once `/api/health` is 200.
    /// The server's log goes to `data/../server-<port>.log` so a full pipe never blocks it.
    pub async fn start(data: &Path, extra: &[&std::ffi::OsStr]) -> ProcServer {
        let mut server = ProcServer::spawn(data, extra, None, "http");
        server.wait_http().await;
        server
    }

    /// [`ProcServer::start`] under an open-file limit of `nofile` (soft and hard).
    pub async fn start_limited(data: &Path, extra: &[&std::ffi::OsStr], nofile: u64) -> ProcServer {
        let mut server = ProcServer::spawn(data, extra, Some(nofile), "http");
        server.wait_http().await;
        server
    }

    /// Spawn without waiting: an HTTPS server (`scheme` "https") is probed by its caller.
    pub fn spawn(
        data: &Path,
        extra: &[&std::ffi::OsStr],
        nofile: Option<u64>,
        scheme: &str,
    ) -> ProcServer {
        let (bin, _) = binary();
        let port = free_port();
        let base = format!("{scheme}://127.0.0.1:{port}");
        let log = data
            .parent()
            .unwrap_or(data)
            .join(format!("server-{port}.log"));
        let log = std::fs::File::create(log).expect("log file");
        let started = Instant::now();
        let mut command = Command::new(bin);
        if let Some(n) = nofile {
            use std::os::unix::process::CommandExt;
            // SAFETY: runs in the forked child before exec and only calls setrlimit(2), which is
            // async-signal-safe and allocates nothing.
            unsafe {
                command.pre_exec(move || {
                    let limit = libc::rlimit {
                        rlim_cur: n,
                        rlim_max: n,
                    };
                    if libc::setrlimit(libc::RLIMIT_NOFILE, &limit) != 0 {
                        return Err(std::io::Error::last_os_error());
                    }
                    Ok(())
                });
            }
        }
        let child = command
            .arg("serve")
            .arg("--data-dir")
            .arg(data)
            .args(["--listen", &format!("127.0.0.1:{port}")])
            .args(extra)
            .env("ALCHEMIST_LOG", "warn")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .expect("spawn alchemist");
        let pid = child.id();
        ProcServer {
            child,
            pid,
            base,
            started_in: Duration::ZERO,
            ready_in: Duration::ZERO,
            spawned: started,
        }
    }

    /// Wait for the first `/api/health` 200 over plain HTTP; records the start time.
    async fn wait_http(&mut self) {
        // A bare client without a pool: each probe is a fresh connection, as the first one is.
        let http = reqwest::Client::builder()
            .pool_max_idle_per_host(0)
            .build()
            .expect("client");
        let url = format!("{}/api/health", self.base);
        self.started_in = loop {
            if let Ok(r) = http.get(&url).send().await
                && r.status() == 200
            {
                break self.spawned.elapsed();
            }
            assert!(
                self.spawned.elapsed() < START_LIMIT,
                "alchemist did not start"
            );
            tokio::time::sleep(HEALTH_POLL).await;
        };
    }

    /// Wait for the first `/api/ready` 200 (after `start`); records the time from spawn.
    pub async fn wait_ready(&mut self) {
        let http = reqwest::Client::builder()
            .pool_max_idle_per_host(0)
            .build()
            .expect("client");
        let url = format!("{}/api/ready", self.base);
        self.ready_in = loop {
            if let Ok(r) = http.get(&url).send().await
                && r.status() == 200
            {
                break self.spawned.elapsed();
            }
            assert!(
                self.spawned.elapsed() < START_LIMIT,
                "alchemist did not get ready"
            );
            tokio::time::sleep(HEALTH_POLL).await;
        };
    }

    /// Log in as `admin` and return the session token.
    pub async fn login(&self, http: &reqwest::Client, password: &str) -> String {
        let r = http
            .post(format!("{}/api/auth/login", self.base))
            .json(&serde_json::json!({"username": "admin", "password": password}))
            .send()
            .await
            .expect("login");
        assert_eq!(r.status(), 200, "login");
        let c = r.headers()["set-cookie"].to_str().unwrap().to_string();
        c["alchemist_session=".len()..c.find(';').unwrap()].to_string()
    }

    /// Resident set size now, KiB.
    pub fn rss_kib(&self) -> u64 {
        status_field(self.pid, "VmRSS:")
    }

    /// Peak resident set size so far, KiB.
    pub fn peak_rss_kib(&self) -> u64 {
        status_field(self.pid, "VmHWM:")
    }

    /// User + system CPU time the server itself has used (not its ffmpeg children).
    pub fn cpu_seconds(&self) -> f64 {
        let stat = std::fs::read_to_string(format!("/proc/{}/stat", self.pid)).unwrap_or_default();
        // Fields after the `(comm)`, which may contain spaces: [11] utime, [12] stime.
        let after = stat.rsplit_once(')').map_or("", |(_, rest)| rest);
        let f: Vec<&str> = after.split_whitespace().collect();
        let ticks = |i: usize| f.get(i).and_then(|v| v.parse::<f64>().ok()).unwrap_or(0.0);
        (ticks(11) + ticks(12)) / TICKS_PER_SECOND
    }

    /// Stop the child as an init system would (SIGTERM, through `kill(1)`), so the store is
    /// closed cleanly and the next start on it does not pay for a repair; SIGKILL if it has
    /// not exited after [`STOP_LIMIT`].
    pub fn stop(mut self) {
        let _ = Command::new("kill")
            .args(["-TERM", &self.pid.to_string()])
            .status();
        let asked = Instant::now();
        while asked.elapsed() < STOP_LIMIT {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(5));
        }
        eprintln!("alchemist {} ignored SIGTERM; killing it", self.pid);
    }
}

impl Drop for ProcServer {
    /// A bench that panics still leaves no server behind.
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

fn status_field(pid: u32, key: &str) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with(key))
                .and_then(|l| l.split_whitespace().nth(1)?.parse().ok())
        })
        .unwrap_or(0)
}

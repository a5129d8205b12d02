//! Floods that took the box down (issue 13, findings 1, 2 and 5), against the real binary as
//! a process so its memory can be read: wrong-password logins from many addresses, idle and
//! slow connections beyond the file descriptor limit, and silent TLS connections. Each attack
//! is loopback only, fixed in size and bounded in time; while it runs, the health check must
//! answer within a second and the owner must still get in.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use serde_json::json;
use tokio::io::AsyncWriteExt;
use tokio::net::TcpSocket;

use crate::support::binary::{BIN, free_port, wait_ready};
use crate::support::https::Https;
use crate::support::{PASSWORD, create_admin};

/// The real server as a child process, with its own data folder and config.
struct Spawned {
    child: Child,
    base: String,
    port: u16,
    _tmp: tempfile::TempDir,
}

impl Spawned {
    /// Start `alchemist serve` with `extra` appended to a minimal config, under the shell's
    /// `ulimit` with these arguments when given (`-n 1024`: soft and hard open-file limits).
    async fn start(extra: &str, ulimit: Option<&str>) -> Spawned {
        let tmp = tempfile::tempdir().unwrap();
        let data = tmp.path().join("data");
        create_admin(&data);
        let port = free_port();
        let config = tmp.path().join("alchemist.toml");
        std::fs::write(
            &config,
            format!(
                "listen = \"127.0.0.1:{port}\"\nscan_on_start = false\n\
                 ffmpeg = \"/nonexistent/ffmpeg\"\nffprobe = \"/nonexistent/ffprobe\"\n{extra}"
            ),
        )
        .unwrap();
        let log = tmp.path().join("server.log");
        let limit = ulimit.map_or(String::new(), |args| format!("ulimit {args} && "));
        let script = format!(
            "{limit}exec {BIN} serve --data-dir {} --config {}",
            data.display(),
            config.display()
        );
        let mut child = Command::new("sh")
            .arg("-c")
            .arg(script)
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&log).unwrap())
            .spawn()
            .unwrap();
        let scheme = if extra.contains("[tls]") {
            "https"
        } else {
            "http"
        };
        let base = format!("{scheme}://127.0.0.1:{port}");
        if scheme == "http" {
            wait_ready(
                &mut child,
                &reqwest::Client::new(),
                &base,
                Duration::from_secs(30),
                || std::fs::read_to_string(&log).unwrap_or_default(),
            )
            .await;
        }
        Spawned {
            child,
            base,
            port,
            _tmp: tmp,
        }
    }

    fn rss_mib(&self) -> f64 {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id()))
            .unwrap_or_default();
        status
            .lines()
            .find_map(|l| l.strip_prefix("VmRSS:"))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
            .map_or(0.0, |kib| kib / 1024.0)
    }
}

impl Drop for Spawned {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The extra loopback addresses the attacks come from (127.0.0.0/8 is all loopback).
fn attacker(n: usize) -> IpAddr {
    IpAddr::V4(Ipv4Addr::new(127, 0, 1, (n % 250) as u8 + 2))
}

/// Health latencies sampled every 50 ms from 127.0.0.1 until `stop`.
fn sample_health(base: String, stop: Arc<AtomicBool>) -> tokio::task::JoinHandle<Vec<Duration>> {
    tokio::spawn(async move {
        let mut samples = Vec::new();
        while !stop.load(Ordering::SeqCst) {
            // A new connection each time, as a monitor would.
            let client = reqwest::Client::builder()
                .timeout(Duration::from_secs(5))
                .build()
                .unwrap();
            let started = Instant::now();
            let ok = client
                .get(format!("{base}/api/health"))
                .send()
                .await
                .is_ok_and(|r| r.status() == 200);
            samples.push(if ok {
                started.elapsed()
            } else {
                Duration::from_secs(5)
            });
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        samples
    })
}

fn p99(samples: &mut [Duration]) -> Duration {
    samples.sort();
    samples[(samples.len() * 99 / 100).min(samples.len() - 1)]
}

fn cookie_value(resp: &reqwest::Response, name: &str) -> Option<String> {
    resp.headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find_map(|v| v.strip_prefix(&format!("{name}=")))
        .and_then(|v| v.split(';').next())
        .map(str::to_string)
}

async fn login(
    client: &reqwest::Client,
    base: &str,
    user: &str,
    password: &str,
    device: Option<&str>,
) -> reqwest::Response {
    let mut req = client
        .post(format!("{base}/api/auth/login"))
        .json(&json!({"username": user, "password": password}));
    if let Some(d) = device {
        req = req.header("cookie", format!("alchemist_device={d}"));
    }
    req.send().await.unwrap()
}

/// Finding 1: 200 wrong-password logins at once from 20 addresses (10 each, under the per-
/// address limit) held 3.85 GB and made health checks take seconds. Now at most a few hashes
/// run at once, the rest wait in a short queue or get 503 at once, memory stays bounded, and
/// the owner's browser (a known device) logs in while the flood runs.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_login_flood_keeps_memory_and_health_bounded_and_the_owner_gets_in() {
    let server = Spawned::start("", None).await;
    let base = server.base.clone();
    let owner = reqwest::Client::new();
    // The owner logged in from this browser before: it has a device cookie.
    let first = login(&owner, &base, "admin", PASSWORD, None).await;
    assert_eq!(first.status(), 200);
    let device = cookie_value(&first, "alchemist_device").expect("a device cookie");
    let baseline = server.rss_mib();

    let stop = Arc::new(AtomicBool::new(false));
    let health = sample_health(base.clone(), stop.clone());
    let mut floods = Vec::new();
    for i in 0..200usize {
        let client = reqwest::Client::builder()
            .local_address(attacker(i / 10))
            .timeout(Duration::from_secs(30))
            .build()
            .unwrap();
        let base = base.clone();
        floods.push(tokio::spawn(async move {
            // A different name each time: the per-name backoff does not apply, every one of
            // them would need a hash.
            let r = login(&client, &base, &format!("user{i}"), "wrong password", None).await;
            r.status().as_u16()
        }));
    }
    // While the flood runs: the owner's known device gets in.
    tokio::time::sleep(Duration::from_millis(300)).await;
    let started = Instant::now();
    let r = login(&owner, &base, "admin", PASSWORD, Some(&device)).await;
    let owner_took = started.elapsed();
    assert_eq!(r.status(), 200, "the owner logs in during the flood");
    let mut peak = server.rss_mib();
    let mut statuses = Vec::new();
    for f in floods {
        statuses.push(f.await.unwrap());
        peak = peak.max(server.rss_mib());
    }
    stop.store(true, Ordering::SeqCst);
    let mut samples = health.await.unwrap();
    let health_p99 = p99(&mut samples);
    let busy = statuses.iter().filter(|s| **s == 503).count();
    let refused = statuses.iter().filter(|s| **s == 401).count();
    println!(
        "login flood: 200 logins from 20 addresses: {refused} checked (401), {busy} turned away \
         (503); RSS {baseline:.1} → peak {peak:.1} MiB; health p99 {health_p99:?} over {} \
         samples; the owner's login took {owner_took:?}",
        samples.len()
    );
    assert!(
        statuses.iter().all(|s| matches!(s, 401 | 503)),
        "{statuses:?}"
    );
    assert!(busy > 0, "beyond the queue, logins are turned away at once");
    assert!(
        peak < baseline + 200.0,
        "memory bounded: {baseline:.1} → {peak:.1} MiB"
    );
    // The 1 s target is measured on the release build by benches/attacks.rs; a debug build
    // beside other tests on 2 busy cores only has to stay far from the old failure (health at
    // 7.7 s while 512 hashing threads ran).
    assert!(
        health_p99 < Duration::from_secs(3),
        "health p99 {health_p99:?}"
    );
}

/// Finding 2: about 1,100 connections that send nothing made the server unreachable at the
/// usual limit of 1,024 descriptors, and slow headers kept connections forever. Now the
/// oldest idle connections are shed to make room, and headers must arrive within the timeout.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn idle_and_slow_connections_cannot_take_the_server_down() {
    // This test holds 1,300 sockets of its own.
    raise_own_fd_limit(4096);
    let server = Spawned::start("[security]\nheader_timeout_seconds = 3\n", Some("-n 1024")).await;
    let addr: SocketAddr = format!("127.0.0.1:{}", server.port).parse().unwrap();
    let stop = Arc::new(AtomicBool::new(false));
    let health = sample_health(server.base.clone(), stop.clone());
    // 1,100 silent connections from 22 addresses, and 200 that send headers a byte at a time.
    let mut idle = Vec::new();
    for i in 0..1_100usize {
        if let Ok(s) = connect_from(attacker(i / 50), addr).await {
            idle.push(s);
        }
    }
    let mut slow = Vec::new();
    for i in 0..200usize {
        if let Ok(mut s) = connect_from(attacker(30 + i / 50), addr).await {
            let _ = s.write_all(b"GET /api/health HTTP/1.1\r\nHo").await;
            slow.push(s);
        }
    }
    let dribble = tokio::spawn(async move {
        for _ in 0..10 {
            for s in slow.iter_mut() {
                let _ = s.write_all(b"s").await;
            }
            tokio::time::sleep(Duration::from_millis(500)).await;
        }
        slow
    });
    tokio::time::sleep(Duration::from_secs(3)).await;
    stop.store(true, Ordering::SeqCst);
    let mut samples = health.await.unwrap();
    let health_p99 = p99(&mut samples);
    let slow = dribble.await.unwrap();
    // Past the header timeout, the server has let go of every silent and slow connection.
    let closed = closed_count(idle.into_iter().chain(slow).collect()).await;
    println!(
        "idle flood: 1,100 silent + 200 slow connections at 1,024 descriptors: health p99 \
         {health_p99:?} over {} samples; {closed} of 1,300 closed by the server",
        samples.len()
    );
    // The 1 s target is measured on the release build by benches/attacks.rs; a debug build
    // beside other tests on 2 busy cores only has to stay far from the old failure (health at
    // 7.7 s while 512 hashing threads ran).
    assert!(
        health_p99 < Duration::from_secs(3),
        "health p99 {health_p99:?}"
    );
    assert_eq!(closed, 1_300, "every silent or slow connection ends");
}

/// Finding 5: 70 silent TCP connections to the HTTPS port, renewed as they are dropped, held
/// the handshake pool and made each HTTPS health check take 7-8 s.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn silent_tls_connections_cannot_starve_handshakes() {
    let tmp = tempfile::tempdir().unwrap();
    let (cert, key) = (tmp.path().join("cert.pem"), tmp.path().join("key.pem"));
    let status = Command::new(BIN)
        .args(["tls", "init", "--hostname", "nas", "--cert"])
        .arg(&cert)
        .arg("--key")
        .arg(&key)
        .status()
        .unwrap();
    assert!(status.success());
    let server = Spawned::start(
        &format!(
            "[tls]\ncert = \"{}\"\nkey = \"{}\"\n",
            cert.display(),
            key.display()
        ),
        None,
    )
    .await;
    let addr: SocketAddr = format!("127.0.0.1:{}", server.port).parse().unwrap();
    let https = Https::new(addr, &std::fs::read(&cert).unwrap(), "localhost");
    crate::support::wait_until(Duration::from_secs(30), "HTTPS to answer", async || {
        https
            .request("GET", "/api/health", &[], None)
            .await
            .and_then(|r| match r.status {
                200 => Ok(()),
                other => Err(format!("status {other}")),
            })
    })
    .await;
    // Attack from the same address as the health checks: 70 silent connections, each one
    // replaced as soon as the server drops it.
    let stop = Arc::new(AtomicBool::new(false));
    let attack = {
        let stop = stop.clone();
        tokio::spawn(async move {
            let mut held = Vec::new();
            while !stop.load(Ordering::SeqCst) {
                held.retain(|s: &tokio::net::TcpStream| s.peer_addr().is_ok());
                while held.len() < 70 {
                    match tokio::net::TcpStream::connect(addr).await {
                        Ok(s) => held.push(s),
                        Err(_) => break,
                    }
                }
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        })
    };
    tokio::time::sleep(Duration::from_millis(500)).await;
    let mut samples = Vec::new();
    let until = Instant::now() + Duration::from_secs(12);
    while Instant::now() < until {
        let started = Instant::now();
        let probe = https.request("GET", "/api/health", &[], None);
        let ok = tokio::time::timeout(Duration::from_secs(10), probe)
            .await
            .is_ok_and(|r| r.is_ok_and(|r| r.status == 200));
        samples.push(if ok {
            started.elapsed()
        } else {
            Duration::from_secs(10)
        });
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    stop.store(true, Ordering::SeqCst);
    attack.await.unwrap();
    let health_p99 = p99(&mut samples);
    println!(
        "TLS starvation: 70 silent connections renewed for 12 s: HTTPS health p99 \
         {health_p99:?} over {} samples",
        samples.len()
    );
    // Starved, health did not answer at all (counted as 10 s); the 1 s target is measured on
    // the release build by benches/attacks.rs.
    assert!(
        health_p99 < Duration::from_secs(3),
        "HTTPS health p99 {health_p99:?}"
    );
}

async fn connect_from(ip: IpAddr, addr: SocketAddr) -> std::io::Result<tokio::net::TcpStream> {
    let socket = TcpSocket::new_v4()?;
    socket.bind(SocketAddr::new(ip, 0))?;
    tokio::time::timeout(Duration::from_secs(2), socket.connect(addr))
        .await
        .map_err(|_| std::io::Error::from(std::io::ErrorKind::TimedOut))?
}

/// How many of `streams` the server closes within 15 s (a read returns end of file or an
/// error).
async fn closed_count(streams: Vec<tokio::net::TcpStream>) -> usize {
    use tokio::io::AsyncReadExt;
    let reads = streams.into_iter().map(|mut s| async move {
        let mut buf = [0u8; 256];
        loop {
            match tokio::time::timeout(Duration::from_secs(15), s.read(&mut buf)).await {
                Ok(Ok(0)) | Ok(Err(_)) => return true,
                // A 408 or 400 answer to the slow headers, then the close.
                Ok(Ok(_)) => continue,
                Err(_) => return false,
            }
        }
    });
    futures_util::future::join_all(reads)
        .await
        .into_iter()
        .filter(|c| *c)
        .count()
}

fn raise_own_fd_limit(want: u64) {
    use rustix::process::{Resource, getrlimit, setrlimit};
    let mut limit = getrlimit(Resource::Nofile);
    let hard = limit.maximum.unwrap_or(u64::MAX);
    limit.current = Some(want.min(hard));
    setrlimit(Resource::Nofile, limit).expect("raise the test's open-file limit");
}

/// The limit (`Max open files` in /proc/PID/limits): soft and hard.
fn open_files_limit(pid: u32) -> (String, String) {
    limit_line(&std::fs::read_to_string(format!("/proc/{pid}/limits")).unwrap())
}

/// Soft and hard `Max open files` of a limits file's text.
fn limit_line(limits: &str) -> (String, String) {
    let line = limits
        .lines()
        .find(|l| l.starts_with("Max open files"))
        .unwrap_or_else(|| panic!("no open-files line in {limits}"));
    let mut fields = line["Max open files".len()..].split_whitespace();
    let soft = fields.next().unwrap().to_string();
    (soft, fields.next().unwrap().to_string())
}

/// Started under a soft open-file limit of 256 (what a shell or an init script may leave),
/// the server raises its own soft limit to the hard one before it listens.
#[tokio::test]
async fn the_server_raises_its_soft_open_file_limit_to_the_hard_one() {
    // The shell lowers the soft limit (else the test would prove nothing), under a hard
    // limit above it.
    let shell = Command::new("sh")
        .args(["-c", "ulimit -S -n 256 && exec cat /proc/self/limits"])
        .output()
        .unwrap();
    let (soft, hard) = limit_line(&String::from_utf8_lossy(&shell.stdout));
    assert_eq!(soft, "256", "the shell did not lower the soft limit");
    assert!(
        hard == "unlimited" || hard.parse::<u64>().is_ok_and(|h| h > 256),
        "the hard open-file limit here ({hard}) must be above 256 for this test"
    );
    let server = Spawned::start("", Some("-S -n 256")).await;
    let (soft, hard) = open_files_limit(server.child.id());
    assert_ne!(soft, "256", "the soft limit was left at 256 (hard: {hard})");
    assert_eq!(soft, hard, "soft {soft} is below hard {hard}");
}

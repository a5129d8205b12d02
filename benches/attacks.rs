//! The three floods of issue 13 against the real binary (`ALCHEMIST_BIN`, see `common::proc`),
//! as figures rather than pass/fail (the regression tests in `tests/it/reliability/floods.rs`
//! assert): peak RSS and `/api/health` latency while the attack runs, and how the attackers
//! were answered. Runs against any build, an older one included, so before and after can be
//! compared on the same machine: nothing here needs a setting the old server lacks.
//!
//! - login flood: 200 wrong-password logins at once from 20 loopback addresses (10 each,
//!   under the per-address limit), each with a new user name;
//! - idle flood: the server started under an open-file limit of 1,024; 1,100 connections that
//!   send nothing (22 addresses) and 200 that send headers a byte every half second, held 12 s;
//! - TLS starvation: an HTTPS server; 70 silent connections from the health checker's own
//!   address, each replaced as soon as it is dropped, for 12 s.
//!
//! Run: `cargo bench --bench attacks` (ALCHEMIST_BIN=path for another build).

mod common;

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use common::proc::{ProcServer, binary};
use common::report::Report;
use common::{ms, percentile};
use tokio::io::AsyncWriteExt;

const PASSWORD: &str = "benchmark password";
/// How long the connection floods are held.
const HOLD: Duration = Duration::from_secs(12);

fn attacker(n: usize) -> IpAddr {
    IpAddr::V4(Ipv4Addr::new(127, 0, 1, (n % 250) as u8 + 2))
}

/// `/api/health` latencies over plain HTTP (a fresh connection each, 5 s counting as a
/// failure) every 50 ms until `stop`.
fn sample_health(base: String, stop: Arc<AtomicBool>) -> tokio::task::JoinHandle<Vec<Duration>> {
    tokio::spawn(async move {
        let mut samples = Vec::new();
        while !stop.load(Ordering::SeqCst) {
            let client = reqwest::Client::builder()
                .timeout(Duration::from_secs(5))
                .pool_max_idle_per_host(0)
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
        samples.sort();
        samples
    })
}

fn summary(samples: &[Duration]) -> String {
    let failed = samples
        .iter()
        .filter(|d| **d >= Duration::from_secs(5))
        .count();
    format!(
        "health p50 {:.1} ms, p99 {:.1} ms over {} probes ({failed} failed or over 5 s)",
        ms(percentile(samples, 0.5)),
        ms(percentile(samples, 0.99)),
        samples.len()
    )
}

async fn login_flood(report: &mut Report, data: &std::path::Path) {
    let server = ProcServer::start(data, &[]).await;
    let baseline = server.rss_kib();
    let stop = Arc::new(AtomicBool::new(false));
    let health = sample_health(server.base.clone(), stop.clone());
    let mut floods = Vec::new();
    for i in 0..200usize {
        let client = reqwest::Client::builder()
            .local_address(attacker(i / 10))
            .timeout(Duration::from_secs(60))
            .build()
            .unwrap();
        let base = server.base.clone();
        floods.push(tokio::spawn(async move {
            let r = client
                .post(format!("{base}/api/auth/login"))
                .json(&serde_json::json!({"username": format!("user{i}"), "password": "wrong"}))
                .send()
                .await;
            r.map(|r| r.status().as_u16()).unwrap_or(0)
        }));
    }
    let started = Instant::now();
    let mut statuses = Vec::new();
    for f in floods {
        statuses.push(f.await.unwrap());
    }
    let took = started.elapsed();
    stop.store(true, Ordering::SeqCst);
    let samples = health.await.unwrap();
    let peak = server.peak_rss_kib();
    let after = server.rss_kib();
    let count = |s: u16| statuses.iter().filter(|x| **x == s).count();
    report.line(&format!(
        "- login flood (200 from 20 addresses): RSS {:.1} MiB before, peak {:.1} MiB, {:.1} MiB \
         after; {}; answers: {} × 401, {} × 503, {} × 429, {} errors; all answered in {:.1} s",
        baseline as f64 / 1024.0,
        peak as f64 / 1024.0,
        after as f64 / 1024.0,
        summary(&samples),
        count(401),
        count(503),
        count(429),
        count(0),
        took.as_secs_f64()
    ));
    server.stop();
}

async fn connect_from(ip: IpAddr, addr: SocketAddr) -> std::io::Result<tokio::net::TcpStream> {
    let socket = tokio::net::TcpSocket::new_v4()?;
    socket.bind(SocketAddr::new(ip, 0))?;
    tokio::time::timeout(Duration::from_secs(2), socket.connect(addr))
        .await
        .map_err(|_| std::io::Error::from(std::io::ErrorKind::TimedOut))?
}

async fn idle_flood(report: &mut Report, data: &std::path::Path) {
    let server = ProcServer::start_limited(data, &[], 1024).await;
    let addr: SocketAddr = server.base.trim_start_matches("http://").parse().unwrap();
    let stop = Arc::new(AtomicBool::new(false));
    let health = sample_health(server.base.clone(), stop.clone());
    let mut held = Vec::new();
    for i in 0..1_100usize {
        if let Ok(s) = connect_from(attacker(i / 50), addr).await {
            held.push(s);
        }
    }
    let mut slow = Vec::new();
    for i in 0..200usize {
        if let Ok(mut s) = connect_from(attacker(30 + i / 50), addr).await {
            let _ = s.write_all(b"GET /api/health HTTP/1.1\r\nHo").await;
            slow.push(s);
        }
    }
    let opened = held.len() + slow.len();
    let until = Instant::now() + HOLD;
    while Instant::now() < until {
        for s in slow.iter_mut() {
            let _ = s.write_all(b"s").await;
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    stop.store(true, Ordering::SeqCst);
    let samples = health.await.unwrap();
    report.line(&format!(
        "- idle flood at 1,024 descriptors ({opened} of 1,300 connections opened, held {} s): \
         {}; peak RSS {:.1} MiB",
        HOLD.as_secs(),
        summary(&samples),
        server.peak_rss_kib() as f64 / 1024.0
    ));
    drop(held);
    drop(slow);
    server.stop();
}

async fn tls_starvation(report: &mut Report, data: &std::path::Path) {
    let dir = data.parent().unwrap();
    let (cert, key) = (dir.join("cert.pem"), dir.join("key.pem"));
    let (bin, _) = binary();
    let status = std::process::Command::new(bin)
        .args(["tls", "init", "--hostname", "localhost", "--cert"])
        .arg(&cert)
        .arg("--key")
        .arg(&key)
        .status()
        .unwrap();
    assert!(status.success());
    let args = [
        std::ffi::OsStr::new("--tls-cert"),
        cert.as_os_str(),
        std::ffi::OsStr::new("--tls-key"),
        key.as_os_str(),
    ];
    let server = ProcServer::spawn(data, &args, None, "https");
    let addr: SocketAddr = server.base.trim_start_matches("https://").parse().unwrap();
    let probe = TlsProbe::new(addr, &std::fs::read(&cert).unwrap());
    let ready = Instant::now();
    while probe.health().await.is_none() {
        assert!(
            ready.elapsed() < Duration::from_secs(60),
            "HTTPS did not start"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let stop = Arc::new(AtomicBool::new(false));
    let attack = {
        let stop = stop.clone();
        tokio::spawn(async move {
            let mut held: Vec<tokio::net::TcpStream> = Vec::new();
            while !stop.load(Ordering::SeqCst) {
                held.retain(|s| s.peer_addr().is_ok());
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
    let until = Instant::now() + HOLD;
    while Instant::now() < until {
        let started = Instant::now();
        let ok = tokio::time::timeout(Duration::from_secs(5), probe.health())
            .await
            .is_ok_and(|r| r.is_some());
        samples.push(if ok {
            started.elapsed()
        } else {
            Duration::from_secs(5)
        });
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    samples.sort();
    stop.store(true, Ordering::SeqCst);
    attack.await.unwrap();
    report.line(&format!(
        "- TLS starvation (70 silent connections renewed for {} s): HTTPS {}",
        HOLD.as_secs(),
        summary(&samples)
    ));
    server.stop();
}

/// `GET /api/health` over a fresh TLS connection that trusts the server's own certificate.
struct TlsProbe {
    addr: SocketAddr,
    connector: tokio_rustls::TlsConnector,
}

impl TlsProbe {
    fn new(addr: SocketAddr, cert_pem: &[u8]) -> TlsProbe {
        use rustls::pki_types::CertificateDer;
        use rustls::pki_types::pem::PemObject;
        let mut roots = rustls::RootCertStore::empty();
        for cert in CertificateDer::pem_slice_iter(cert_pem) {
            roots.add(cert.unwrap()).unwrap();
        }
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let config = rustls::ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_root_certificates(roots)
            .with_no_client_auth();
        TlsProbe {
            addr,
            connector: tokio_rustls::TlsConnector::from(Arc::new(config)),
        }
    }

    /// `Some` when the server answered 200.
    async fn health(&self) -> Option<()> {
        use tokio::io::AsyncReadExt;
        let tcp = tokio::net::TcpStream::connect(self.addr).await.ok()?;
        let name = rustls::pki_types::ServerName::try_from("localhost").ok()?;
        let mut tls = self.connector.connect(name, tcp).await.ok()?;
        tls.write_all(b"GET /api/health HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
            .await
            .ok()?;
        let mut head = [0u8; 12];
        tls.read_exact(&mut head).await.ok()?;
        (&head[9..12] == b"200").then_some(())
    }
}

fn main() {
    // The bench holds 1,300 sockets of its own.
    let mut limit = rustix::process::getrlimit(rustix::process::Resource::Nofile);
    limit.current = limit.maximum.map(|m| m.min(8192));
    let _ = rustix::process::setrlimit(rustix::process::Resource::Nofile, limit);
    let (_, note) = binary();
    let mut report = Report::new("attacks", "Floods of issue 13");
    report.line(&format!("- binary: {note}"));
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(4)
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        for attack in 0..3 {
            let tmp = tempfile::tempdir().unwrap();
            let data = tmp.path().join("data");
            common::make_store(&data, 0, PASSWORD);
            match attack {
                0 => login_flood(&mut report, &data).await,
                1 => idle_flood(&mut report, &data).await,
                _ => tls_starvation(&mut report, &data).await,
            }
        }
    });
    report.finish();
}

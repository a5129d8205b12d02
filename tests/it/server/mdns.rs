//! Discovery over mDNS, for real: the `alchemist` binary runs in a fresh network namespace
//! whose only interface is loopback with multicast on (`unshare --net`, `ip`), and a second
//! `mdns-sd` instance, in this test, joins that namespace (`setns` on one thread; the
//! daemon's thread inherits it) and browses `_http._tcp`. It must resolve the box's name, its
//! port and the `path` TXT record, reach the web interface at the announced port, and see the
//! service withdrawn when the server stops on SIGTERM. Namespaces need root; CI runs as root.
//! Without root the test says SKIP and why, out loud.

use std::io::{Read, Write};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use mdns_sd::{IfKind, ServiceDaemon, ServiceEvent};

use crate::support::binary::BIN;

const PORT: u16 = 3917;
const NAME: &str = "alchemist-test";
/// How long the announcement, the browse and the goodbye may take (mDNS probes and
/// announces within a second or two; the rest is the load of a shared machine).
const MDNS_WAIT: Duration = Duration::from_secs(60);

/// The server, inside its own network namespace with loopback multicast.
fn spawn_in_namespace(dir: &Path) -> Child {
    let config = dir.join("alchemist.toml");
    std::fs::write(
        &config,
        format!(
            "listen = \"0.0.0.0:{PORT}\"\nscan_on_start = false\n\n\
             [proxy]\nbase_path = \"/alchemist\"\n\n\
             [discovery]\nmdns = true\nhostname = \"{NAME}\"\n"
        ),
    )
    .unwrap();
    let setup = "ip link set lo up && ip link set lo multicast on && \
                 ip route add 224.0.0.0/4 dev lo && exec \"$0\" \"$@\"";
    Command::new("unshare")
        .args(["--net", "--", "sh", "-c", setup, BIN, "serve", "--data-dir"])
        .arg(dir.join("data"))
        .arg("--config")
        .arg(&config)
        .env("ALCHEMIST_LOG", "info")
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(dir.join("server.log")).unwrap())
        .spawn()
        .expect("run unshare (util-linux)")
}

/// Wait on the server's log for `needle`; fail at once if it exits.
fn wait_log(child: &mut Child, log: &Path, needle: &str) {
    let deadline = Instant::now() + MDNS_WAIT;
    loop {
        let text = std::fs::read_to_string(log).unwrap_or_default();
        if text.contains(needle) {
            return;
        }
        if let Some(status) = child.try_wait().unwrap() {
            panic!("the server exited with {status} before logging `{needle}`:\n{text}");
        }
        assert!(
            Instant::now() < deadline,
            "no `{needle}` in the server's log within {MDNS_WAIT:?}:\n{text}"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// What the browser saw.
#[derive(Debug)]
struct Seen {
    host: String,
    port: u16,
    path: Option<String>,
    health: String,
    withdrawn: bool,
}

/// On a thread of its own, join the server's network namespace and browse; `stop` is called
/// once the service is resolved, and the goodbye is then waited for.
fn browse_in(pid: u32, stop: impl FnOnce()) -> Seen {
    let ns = std::fs::File::open(format!("/proc/{pid}/ns/net")).expect("server's netns");
    rustix::thread::move_into_link_name_space(
        std::os::fd::AsFd::as_fd(&ns),
        Some(rustix::thread::LinkNameSpaceType::Network),
    )
    .expect("setns into the server's network namespace");
    let daemon = ServiceDaemon::new().expect("mdns-sd daemon");
    daemon.enable_interface(IfKind::LoopbackV4).unwrap();
    let events = daemon.browse("_http._tcp.local.").unwrap();
    let deadline = Instant::now() + MDNS_WAIT;
    let next = || {
        let left = deadline.saturating_duration_since(Instant::now());
        events
            .recv_timeout(left)
            .unwrap_or_else(|e| panic!("no mDNS answer within {MDNS_WAIT:?}: {e}"))
    };
    let resolved = loop {
        if let ServiceEvent::ServiceResolved(s) = next()
            && s.get_fullname().starts_with(NAME)
        {
            break s;
        }
    };
    let port = resolved.get_port();
    let path = resolved.get_property_val_str("path").map(str::to_string);
    // The announced port is the web interface (this thread is in the namespace).
    let health = http_get(
        port,
        &format!("{}/static/app.css", path.as_deref().unwrap_or("")),
    );
    let fullname = resolved.get_fullname().to_string();
    stop();
    let withdrawn = loop {
        match next() {
            ServiceEvent::ServiceRemoved(_, name) if name == fullname => break true,
            _ => continue,
        }
    };
    let _ = daemon.shutdown();
    Seen {
        host: resolved.get_hostname().to_string(),
        port,
        path,
        health,
        withdrawn,
    }
}

fn http_get(port: u16, path: &str) -> String {
    let mut s = std::net::TcpStream::connect(("127.0.0.1", port)).expect("connect");
    s.set_read_timeout(Some(MDNS_WAIT)).unwrap();
    write!(
        s,
        "GET {path} HTTP/1.1\r\nHost: {NAME}.local\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut out = String::new();
    let _ = s.read_to_string(&mut out);
    out
}

#[test]
fn a_second_mdns_instance_resolves_the_box_in_a_network_namespace() {
    if !rustix::process::geteuid().is_root() {
        println!(
            "SKIP server::mdns: a network namespace with loopback multicast needs root \
             (CI runs as root); nothing was tested here"
        );
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let mut server = spawn_in_namespace(tmp.path());
    let log = tmp.path().join("server.log");
    wait_log(&mut server, &log, "announced over mDNS");
    let text = std::fs::read_to_string(&log).unwrap();
    assert!(
        text.contains(&format!("http://{NAME}.local:{PORT}/alchemist/")),
        "the log names the address: {text}"
    );
    let pid = server.id();
    let seen = std::thread::scope(|scope| {
        scope
            .spawn(|| {
                browse_in(pid, || {
                    let pid = rustix::process::Pid::from_raw(pid as i32).unwrap();
                    rustix::process::kill_process(pid, rustix::process::Signal::TERM).unwrap();
                })
            })
            .join()
    });
    let status = server.wait().unwrap();
    let seen = seen.unwrap_or_else(|_| {
        panic!(
            "the browser failed; server log:\n{}",
            std::fs::read_to_string(&log).unwrap_or_default()
        )
    });
    assert_eq!(seen.port, PORT, "{seen:?}");
    assert_eq!(seen.host, format!("{NAME}.local."), "{seen:?}");
    assert_eq!(seen.path.as_deref(), Some("/alchemist"), "{seen:?}");
    assert!(seen.health.starts_with("HTTP/1.1 200"), "{seen:?}");
    assert!(seen.withdrawn, "{seen:?}");
    assert!(
        status.success(),
        "the server stops cleanly on SIGTERM: {status}"
    );
}

//! Discovery over mDNS, for real: the `alchemist` binary runs in a fresh network namespace
//! whose only interface is loopback with multicast on (`unshare --net`, `ip`), and a second
//! `mdns-sd` instance, in this test, joins that namespace (`setns` on one thread; the
//! daemon's thread inherits it) and browses `_http._tcp`. It must resolve the box's name, its
//! port and the `path` TXT record, reach the web interface at the announced port, and see the
//! service withdrawn when the server stops on SIGTERM. Two boxes configured with one name, in
//! two namespaces joined by a veth pair, end up with two names: the second takes `NAME-2`,
//! says so, answers for it and records it for the console. Namespaces need root; CI runs as
//! root. Without root the tests fail and say why (`support::tmpfs::require_root`).

use std::io::{Read, Write};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use mdns_sd::{IfKind, ServiceDaemon, ServiceEvent};

use crate::support::binary::BIN;
use crate::support::tmpfs::require_root;

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
    require_root("runs the server in a network namespace with loopback multicast");
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

/// A process holding a fresh network namespace (`unshare --net sleep`), ended on drop.
struct Namespace(Child);

impl Namespace {
    fn new() -> Namespace {
        let child = Command::new("unshare")
            .args(["--net", "sleep", "600"])
            .spawn()
            .expect("run unshare (util-linux)");
        // The namespace exists once `sleep` runs in it.
        let own = std::fs::read_link("/proc/self/ns/net").unwrap();
        let path = format!("/proc/{}/ns/net", child.id());
        let deadline = Instant::now() + MDNS_WAIT;
        while std::fs::read_link(&path).map_or(true, |ns| ns == own) {
            assert!(Instant::now() < deadline, "unshare made no namespace");
            std::thread::sleep(Duration::from_millis(20));
        }
        Namespace(child)
    }

    fn pid(&self) -> u32 {
        self.0.id()
    }

    /// Run `ip` inside the namespace.
    fn ip(&self, args: &str) {
        let status = Command::new("nsenter")
            .arg(format!("--net=/proc/{}/ns/net", self.pid()))
            .arg("ip")
            .args(args.split(' '))
            .status()
            .expect("run nsenter (util-linux)");
        assert!(status.success(), "ip {args}: {status}");
    }

    /// `alchemist serve` inside the namespace with `config`; its log goes to `dir/server.log`.
    fn serve(&self, dir: &Path, config: &str) -> Killed {
        std::fs::create_dir_all(dir).unwrap();
        let file = dir.join("alchemist.toml");
        std::fs::write(&file, config).unwrap();
        Command::new("nsenter")
            .arg(format!("--net=/proc/{}/ns/net", self.pid()))
            .args([BIN, "serve", "--data-dir"])
            .arg(dir.join("data"))
            .arg("--config")
            .arg(&file)
            .env("ALCHEMIST_LOG", "info")
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(dir.join("server.log")).unwrap())
            .spawn()
            .map(Killed)
            .expect("run nsenter (util-linux)")
    }
}

/// A server killed on drop, should the test fail before it stops it.
struct Killed(Child);

impl std::ops::Deref for Killed {
    type Target = Child;
    fn deref(&self) -> &Child {
        &self.0
    }
}

impl std::ops::DerefMut for Killed {
    fn deref_mut(&mut self) -> &mut Child {
        &mut self.0
    }
}

impl Drop for Killed {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

impl Drop for Namespace {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// SIGTERM `child` and wait for it.
fn stop(child: &mut Child) {
    let pid = rustix::process::Pid::from_raw(child.id() as i32).unwrap();
    let _ = rustix::process::kill_process(pid, rustix::process::Signal::TERM);
    let _ = child.wait();
}

#[test]
fn two_boxes_with_one_name_end_up_with_two_and_each_answers_to_its_own() {
    require_root("joins two network namespaces with a veth pair");
    const TWIN: &str = "alchemist-twin";
    let (one, two) = (Namespace::new(), Namespace::new());
    // A veth pair between them: one LAN, two hosts with their own addresses.
    let tag = std::process::id() % 100_000;
    let (a, b) = (format!("amd{tag}a"), format!("amd{tag}b"));
    let status = Command::new("ip")
        .args(["link", "add", &a, "type", "veth", "peer", "name", &b])
        .status()
        .unwrap();
    assert!(status.success(), "ip link add veth");
    for (ns, link) in [(&one, &a), (&two, &b)] {
        let status = Command::new("ip")
            .args(["link", "set", link, "netns", &ns.pid().to_string()])
            .status()
            .unwrap();
        assert!(status.success(), "ip link set {link} netns");
    }
    for (ns, link, addr) in [(&one, &a, "10.77.0.1/24"), (&two, &b, "10.77.0.2/24")] {
        ns.ip("link set lo up");
        ns.ip(&format!("addr add {addr} dev {link}"));
        ns.ip(&format!("link set {link} up"));
        ns.ip(&format!("route add 224.0.0.0/4 dev {link}"));
    }
    let config = format!(
        "listen = \"0.0.0.0:{PORT}\"\nscan_on_start = false\n\n\
         [discovery]\nmdns = true\nhostname = \"{TWIN}\"\n"
    );
    let tmp = tempfile::tempdir().unwrap();
    let (first_dir, second_dir) = (tmp.path().join("one"), tmp.path().join("two"));
    let mut first = one.serve(&first_dir, &config);
    wait_log(
        &mut first,
        &first_dir.join("server.log"),
        "announced over mDNS",
    );
    let name_file = |dir: &Path| std::fs::read_to_string(dir.join("data/mdns-name")).unwrap();
    assert_eq!(name_file(&first_dir), format!("{TWIN}\n"));
    // The second box probes and hears the first answer for the name, or both probe at once
    // and one yields (RFC 6762 §8.2): either way one of them takes the next name.
    let mut second = two.serve(&second_dir, &config);
    let logs = [first_dir.join("server.log"), second_dir.join("server.log")];
    let deadline = Instant::now() + MDNS_WAIT;
    let renamed = loop {
        let texts = logs
            .each_ref()
            .map(|l| std::fs::read_to_string(l).unwrap_or_default());
        if let Some(i) = texts.iter().position(|t| t.contains("answers to")) {
            break i;
        }
        for child in [&mut first, &mut second] {
            assert!(
                child.try_wait().unwrap().is_none(),
                "a server exited: {texts:?}"
            );
        }
        assert!(
            Instant::now() < deadline,
            "neither box changed its name: {texts:#?}"
        );
        std::thread::sleep(Duration::from_millis(100));
    };
    let (renamed_ns, kept_ns) = if renamed == 0 {
        (&one, &two)
    } else {
        (&two, &one)
    };
    let renamed_dir = if renamed == 0 {
        &first_dir
    } else {
        &second_dir
    };
    let kept_dir = if renamed == 0 {
        &second_dir
    } else {
        &first_dir
    };
    let text = std::fs::read_to_string(&logs[renamed]).unwrap();
    assert!(
        text.contains(&format!(
            "another device on the network answers to {TWIN}.local: this box is announced as \
             {TWIN}-2.local instead; open http://{TWIN}-2.local:{PORT}/"
        )),
        "{text}"
    );
    assert_eq!(name_file(renamed_dir), format!("{TWIN}-2\n"));
    assert_eq!(name_file(kept_dir), format!("{TWIN}\n"));
    // Each answers to the name it announces; the renamed one refused it before this change.
    let ask = |ns: &Namespace, host: &str| -> String {
        let ns = std::fs::File::open(format!("/proc/{}/ns/net", ns.pid())).unwrap();
        let host = host.to_string();
        std::thread::spawn(move || {
            rustix::thread::move_into_link_name_space(
                std::os::fd::AsFd::as_fd(&ns),
                Some(rustix::thread::LinkNameSpaceType::Network),
            )
            .unwrap();
            let mut s = std::net::TcpStream::connect(("127.0.0.1", PORT)).expect("connect");
            s.set_read_timeout(Some(MDNS_WAIT)).unwrap();
            write!(
                s,
                "GET /static/app.css HTTP/1.1\r\nHost: {host}:{PORT}\r\nConnection: close\r\n\r\n"
            )
            .unwrap();
            let mut out = String::new();
            let _ = s.read_to_string(&mut out);
            out.lines().next().unwrap_or_default().to_string()
        })
        .join()
        .unwrap()
    };
    assert_eq!(
        ask(renamed_ns, &format!("{TWIN}-2.local")),
        "HTTP/1.1 200 OK"
    );
    assert_eq!(ask(kept_ns, &format!("{TWIN}.local")), "HTTP/1.1 200 OK");
    assert_eq!(
        ask(kept_ns, &format!("{TWIN}-2.local")),
        "HTTP/1.1 421 Misdirected Request",
        "the other box did not take the name"
    );
    stop(&mut second);
    stop(&mut first);
    assert!(
        !renamed_dir.join("data/mdns-name").exists(),
        "the name file goes with the announcement"
    );
}

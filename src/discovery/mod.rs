//! Being found on the LAN without typing an address: the box announces `NAME.local` (default
//! `alchemist.local`) and its web interface as a DNS-SD service over multicast DNS, through
//! `mdns-sd` (pure Rust, its own responder thread; no avahi on the appliance). The main
//! listener is `_https._tcp` when the server speaks TLS, else `_http._tcp`; TLS's plain-HTTP
//! redirect listener is announced as `_http._tcp` too. Each service carries a `path` TXT
//! record (the base path, RFC 6763 §7.1 convention for HTTP). The addresses are those of the
//! box's interfaces, loopback included, kept current by the daemon as DHCP changes them.
//! Stopping withdraws the records (goodbye packets) before the daemon ends.
//!
//! Two boxes (or a box and another device) may want the same name. `mdns-sd` probes before it
//! announces and, when another host already answers for the name, takes the next free one
//! (`alchemist-2.local`, RFC 6762 §9). The announcer watches the daemon's events for that and
//! hands the new name to its caller, which answers for it, logs the address and tells the
//! console: without that, the box would announce a name it refuses (the Host allowlist) and
//! show one that reaches the other device.

use std::time::Duration;

use mdns_sd::{DaemonEvent, IfKind, RRType, ServiceDaemon, ServiceInfo, UnregisterStatus};

use crate::config::DiscoverySettings;

/// The file in the data directory that holds the host label the box announces now
/// (`alchemist`, or `alchemist-2` after a conflict), for the appliance's console; removed when
/// the server stops announcing.
pub const NAME_FILE: &str = "mdns-name";

/// Record the announced host label in `<data_dir>/mdns-name` (written whole, then renamed).
pub fn write_name(data_dir: &std::path::Path, label: &str) {
    let (tmp, file) = (data_dir.join("mdns-name.tmp"), data_dir.join(NAME_FILE));
    let written =
        std::fs::write(&tmp, format!("{label}\n")).and_then(|()| std::fs::rename(&tmp, &file));
    if let Err(e) = written {
        tracing::warn!(error = %e, file = %file.display(), "cannot record the announced name");
    }
}

/// How long shutdown waits for the daemon to confirm each goodbye.
const GOODBYE_WAIT: Duration = Duration::from_secs(2);

/// One service to announce.
#[derive(Debug, Clone, PartialEq)]
pub struct Announcement {
    /// `_http._tcp` or `_https._tcp`.
    pub kind: &'static str,
    pub port: u16,
}

/// The running announcer; [`Announcer::stop`] withdraws everything.
pub struct Announcer {
    daemon: ServiceDaemon,
    registered: Vec<String>,
}

#[derive(Debug, thiserror::Error)]
#[error("mDNS: {0}")]
pub struct DiscoveryError(#[from] mdns_sd::Error);

/// What the server announces: the main listener (`tls`: HTTPS) and the optional plain-HTTP
/// redirect listener. Pure.
pub fn announcements(main_port: u16, tls: bool, redirect_port: Option<u16>) -> Vec<Announcement> {
    let mut all = vec![Announcement {
        kind: if tls { "_https._tcp" } else { "_http._tcp" },
        port: main_port,
    }];
    if let Some(port) = redirect_port.filter(|_| tls) {
        all.push(Announcement {
            kind: "_http._tcp",
            port,
        });
    }
    all
}

/// The address a person types: `http://alchemist.local:3000/` (no port when it is the
/// scheme's default). Pure.
pub fn url(hostname: &str, a: &Announcement, base_path: &str) -> String {
    let (scheme, default_port) = if a.kind == "_https._tcp" {
        ("https", 443)
    } else {
        ("http", 80)
    };
    let port = if a.port == default_port {
        String::new()
    } else {
        format!(":{}", a.port)
    };
    format!("{scheme}://{hostname}.local{port}{base_path}/")
}

impl Announcer {
    /// Start the responder and register every announcement. `renamed` is called (on the
    /// responder's watcher thread) with the host label the box announces instead of the
    /// configured one, each time that changes after a name conflict.
    pub fn start(
        settings: &DiscoverySettings,
        services: &[Announcement],
        base_path: &str,
        renamed: impl Fn(&str) + Send + 'static,
    ) -> Result<Announcer, DiscoveryError> {
        let daemon = ServiceDaemon::new()?;
        let events = daemon.monitor()?;
        let configured = settings.hostname.clone();
        std::thread::Builder::new()
            .name("mdns-names".into())
            .spawn(move || {
                let mut current = configured;
                // Ends when the daemon shuts down and drops its side.
                while let Ok(event) = events.recv() {
                    if let Some(label) = host_renamed(&event)
                        && label != current
                    {
                        current = label;
                        renamed(&current);
                    }
                }
            })
            .map_err(|e| DiscoveryError(mdns_sd::Error::Msg(e.to_string())))?;
        // Loopback too: local tools resolve the box, and so does the namespace test.
        daemon.enable_interface(IfKind::LoopbackV4)?;
        let host = format!("{}.local.", settings.hostname);
        let path = if base_path.is_empty() { "/" } else { base_path };
        let mut announcer = Announcer {
            daemon,
            registered: Vec::new(),
        };
        for service in services {
            let info = ServiceInfo::new(
                &format!("{}.local.", service.kind),
                &settings.hostname,
                &host,
                "",
                service.port,
                &[("path", path)][..],
            )?
            .enable_addr_auto();
            let fullname = info.get_fullname().to_string();
            announcer.daemon.register(info)?;
            announcer.registered.push(fullname);
        }
        Ok(announcer)
    }

    /// Withdraw the services (goodbye packets, so browsers forget the box at once) and stop
    /// the responder. Blocks for at most a few seconds: call from a blocking thread.
    pub fn stop(self) {
        for name in &self.registered {
            match self.daemon.unregister(name) {
                Ok(rx) => match rx.recv_timeout(GOODBYE_WAIT) {
                    Ok(UnregisterStatus::OK) => {}
                    Ok(other) => tracing::debug!(%name, ?other, "mDNS unregister"),
                    Err(e) => tracing::debug!(%name, error = %e, "mDNS unregister unconfirmed"),
                },
                Err(e) => tracing::debug!(%name, error = %e, "mDNS unregister"),
            }
        }
        match self.daemon.shutdown() {
            Ok(rx) => {
                let _ = rx.recv_timeout(GOODBYE_WAIT);
            }
            Err(e) => tracing::debug!(error = %e, "mDNS shutdown"),
        }
    }
}

/// The host label of a host-name change (`alchemist-2` from `alchemist-2.local.`); other
/// events, and instance-name changes (`alchemist (2)`, shown by browsers but not typed), are
/// `None`.
fn host_renamed(event: &DaemonEvent) -> Option<String> {
    let DaemonEvent::NameChange(change) = event else {
        return None;
    };
    if !matches!(change.rr_type, RRType::A | RRType::AAAA) {
        return None;
    }
    let label = change.new_name.strip_suffix(".local.")?;
    (!label.is_empty() && !label.contains('.')).then(|| label.to_ascii_lowercase())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn what_is_announced_and_the_address_shown() {
        let plain = announcements(3000, false, None);
        assert_eq!(
            plain,
            vec![Announcement {
                kind: "_http._tcp",
                port: 3000
            }]
        );
        assert_eq!(
            url("alchemist", &plain[0], ""),
            "http://alchemist.local:3000/"
        );
        let tls = announcements(443, true, Some(80));
        assert_eq!(tls.len(), 2);
        assert_eq!(
            url("nas", &tls[0], "/alchemist"),
            "https://nas.local/alchemist/"
        );
        assert_eq!(url("nas", &tls[1], ""), "http://nas.local/");
        // No redirect listener without TLS.
        assert_eq!(announcements(80, false, Some(8080)).len(), 1);
    }

    #[test]
    fn only_host_name_changes_rename_the_box() {
        let change = |new_name: &str, rr_type| {
            DaemonEvent::NameChange(mdns_sd::DnsNameChange {
                original: "alchemist.local.".into(),
                new_name: new_name.into(),
                rr_type,
                intf_name: "eth0".into(),
            })
        };
        assert_eq!(
            host_renamed(&change("alchemist-2.local.", RRType::A)).as_deref(),
            Some("alchemist-2")
        );
        assert_eq!(
            host_renamed(&change("Alchemist-3.local.", RRType::AAAA)).as_deref(),
            Some("alchemist-3")
        );
        // The service instance's name (what a browser lists), not a host name.
        let instance = change("alchemist (2)._http._tcp.local.", RRType::SRV);
        assert_eq!(host_renamed(&instance), None);
        assert_eq!(host_renamed(&change("a.b.local.", RRType::A)), None);
        assert_eq!(host_renamed(&DaemonEvent::Respond("eth0".into())), None);
    }
}

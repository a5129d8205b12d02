//! Being found on the LAN without typing an address: the box announces `NAME.local` (default
//! `alchemist.local`) and its web interface as a DNS-SD service over multicast DNS, through
//! `mdns-sd` (pure Rust, its own responder thread; no avahi on the appliance). The main
//! listener is `_https._tcp` when the server speaks TLS, else `_http._tcp`; TLS's plain-HTTP
//! redirect listener is announced as `_http._tcp` too. Each service carries a `path` TXT
//! record (the base path, RFC 6763 §7.1 convention for HTTP). The addresses are those of the
//! box's interfaces, loopback included, kept current by the daemon as DHCP changes them.
//! Stopping withdraws the records (goodbye packets) before the daemon ends.

use std::time::Duration;

use mdns_sd::{IfKind, ServiceDaemon, ServiceInfo, UnregisterStatus};

use crate::config::DiscoverySettings;

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
    /// Start the responder and register every announcement.
    pub fn start(
        settings: &DiscoverySettings,
        services: &[Announcement],
        base_path: &str,
    ) -> Result<Announcer, DiscoveryError> {
        let daemon = ServiceDaemon::new()?;
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
}

//! The first-boot certificate: a self-signed ECDSA P-256 certificate for the box's names,
//! written once. An existing certificate or key is never replaced (a user may have put their
//! own there); both files are written to temporary names, fsynced, then renamed, so a power
//! cut leaves either the old state or complete files. The key is created with mode 0600.

use std::io::Write;
use std::net::IpAddr;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

use rcgen::{CertificateParams, DistinguishedName, DnType, KeyPair};
use time::{Duration, OffsetDateTime};

use super::TlsError;

/// How long the certificate is valid. Browsers ask the user to trust a self-signed
/// certificate once; a short lifetime would only bring that question back.
const VALID_DAYS: i64 = 3650;
/// A box without a battery-backed clock may boot in 1970; validity then starts from this
/// date (2026-01-01) so the certificate is not already expired once the clock is set.
const CLOCK_FLOOR_UNIX: i64 = 1_767_225_600;
/// Used when the system has no host name.
const FALLBACK_HOSTNAME: &str = "alchemist";

/// What to generate and where.
#[derive(Debug, Clone)]
pub struct CertRequest {
    pub cert: PathBuf,
    pub key: PathBuf,
    pub hostname: String,
    /// Extra IP addresses for the subject alternative names.
    pub ips: Vec<IpAddr>,
    /// Extra DNS names, e.g. the `.local` name the box announces over mDNS when it is not the
    /// host name's (the appliance is `alchemist-XXXXXX` but announces `alchemist.local`).
    pub dns_names: Vec<String>,
}

impl CertRequest {
    pub fn new(cert: &Path, key: &Path, hostname: &str) -> CertRequest {
        CertRequest {
            cert: cert.to_path_buf(),
            key: key.to_path_buf(),
            hostname: hostname.to_string(),
            ips: Vec::new(),
            dns_names: Vec::new(),
        }
    }

    /// Subject alternative names: the host name, its mDNS name, localhost and loopback, and
    /// the given addresses. Addresses a DHCP server hands out later cannot be known at first
    /// boot; clients reach the box by name.
    pub fn names(&self) -> Vec<String> {
        let host = self.hostname.trim_end_matches('.').to_ascii_lowercase();
        let mut names = vec![host.clone()];
        if host.parse::<IpAddr>().is_err() && !host.ends_with(".local") && host != "localhost" {
            names.push(format!("{host}.local"));
        }
        names.extend(
            self.dns_names
                .iter()
                .map(|n| n.trim_end_matches('.').to_ascii_lowercase()),
        );
        names.extend(["localhost", "127.0.0.1", "::1"].map(String::from));
        names.extend(self.ips.iter().map(IpAddr::to_string));
        let mut seen = Vec::new();
        names.retain(|n| {
            let new = !seen.contains(n);
            seen.push(n.clone());
            new
        });
        names
    }
}

/// The kernel's host name, or `alchemist`.
pub fn default_hostname() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .ok()
        .map(|h| h.trim().to_string())
        .filter(|h| !h.is_empty() && h != "(none)")
        .unwrap_or_else(|| FALLBACK_HOSTNAME.to_string())
}

/// Generate and write a self-signed certificate and key, unless either file exists.
pub fn init_self_signed(req: &CertRequest) -> Result<(), TlsError> {
    for path in [&req.cert, &req.key] {
        if path.exists() {
            return Err(TlsError::Exists { path: path.clone() });
        }
    }
    let (cert_pem, key_pem) = generate(req)?;
    let key_tmp = write_temp(&req.key, key_pem.as_bytes(), 0o600)?;
    let cert_tmp = write_temp(&req.cert, cert_pem.as_bytes(), 0o644)?;
    // The key first: a certificate on disk always has its key beside it.
    rename(&key_tmp, &req.key)?;
    rename(&cert_tmp, &req.cert)?;
    for path in [&req.key, &req.cert] {
        sync_parent(path)?;
    }
    Ok(())
}

/// PEM certificate and PEM (PKCS#8) key. Pure apart from the key's randomness and the clock.
fn generate(req: &CertRequest) -> Result<(String, String), TlsError> {
    let gen_err = |e: rcgen::Error| TlsError::Generate(e.to_string());
    let mut params = CertificateParams::new(req.names()).map_err(gen_err)?;
    let mut dn = DistinguishedName::new();
    dn.push(DnType::CommonName, req.hostname.clone());
    dn.push(DnType::OrganizationName, "Alchemist (self-signed)");
    params.distinguished_name = dn;
    let now = OffsetDateTime::now_utc();
    let floor = OffsetDateTime::from_unix_timestamp(CLOCK_FLOOR_UNIX)
        .map_err(|e| TlsError::Generate(format!("clock floor: {e}")))?;
    params.not_before = now - Duration::days(1);
    params.not_after = now.max(floor) + Duration::days(VALID_DAYS);
    let key = KeyPair::generate().map_err(gen_err)?;
    let cert = params.self_signed(&key).map_err(gen_err)?;
    Ok((cert.pem(), key.serialize_pem()))
}

fn temp_path(path: &Path) -> PathBuf {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    path.with_file_name(format!(".{name}.tmp-{}", std::process::id()))
}

fn write_temp(path: &Path, bytes: &[u8], mode: u32) -> Result<PathBuf, TlsError> {
    let werr = |p: &Path| {
        let p = p.to_path_buf();
        move |source| TlsError::Write { path: p, source }
    };
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(werr(dir))?;
    }
    let tmp = temp_path(path);
    let _ = std::fs::remove_file(&tmp);
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(mode)
        .open(&tmp)
        .map_err(werr(&tmp))?;
    file.write_all(bytes).map_err(werr(&tmp))?;
    file.sync_all().map_err(werr(&tmp))?;
    Ok(tmp)
}

fn rename(from: &Path, to: &Path) -> Result<(), TlsError> {
    std::fs::rename(from, to).map_err(|source| TlsError::Write {
        path: to.to_path_buf(),
        source,
    })
}

fn sync_parent(path: &Path) -> Result<(), TlsError> {
    let dir = match path.parent().filter(|d| !d.as_os_str().is_empty()) {
        Some(d) => d,
        None => Path::new("."),
    };
    std::fs::File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(|source| TlsError::Write {
            path: dir.to_path_buf(),
            source,
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_cover_host_mdns_and_loopback() {
        let mut req = CertRequest::new(Path::new("c"), Path::new("k"), "NAS-1");
        req.ips = vec!["192.168.1.9".parse().unwrap(), "127.0.0.1".parse().unwrap()];
        assert_eq!(
            req.names(),
            [
                "nas-1",
                "nas-1.local",
                "localhost",
                "127.0.0.1",
                "::1",
                "192.168.1.9"
            ]
        );
        let mut req = CertRequest::new(Path::new("c"), Path::new("k"), "box.local");
        assert_eq!(req.names()[..2], ["box.local", "localhost"]);
        req.dns_names = vec!["Alchemist.local.".into(), "box.local".into()];
        assert_eq!(
            req.names()[..3],
            ["box.local", "alchemist.local", "localhost"]
        );
    }

    #[test]
    fn writes_once_with_a_private_key() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let req = CertRequest::new(
            &dir.path().join("tls/cert.pem"),
            &dir.path().join("tls/key.pem"),
            "nas",
        );
        init_self_signed(&req).unwrap();
        let mode = std::fs::metadata(&req.key).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
        let cert = std::fs::read(&req.cert).unwrap();
        let err = init_self_signed(&req).unwrap_err();
        assert!(matches!(err, TlsError::Exists { .. }), "{err}");
        assert_eq!(std::fs::read(&req.cert).unwrap(), cert, "not overwritten");
        let leftovers: Vec<_> = std::fs::read_dir(dir.path().join("tls"))
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(leftovers.len(), 2, "no temp files left: {leftovers:?}");
    }
}

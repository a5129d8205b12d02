//! HTTPS for the appliance: loading the configured certificate and key into a rustls server
//! configuration (the `ring` provider, chosen explicitly rather than through a process-wide
//! default; `serve` runs the handshakes), and the
//! first-boot self-signed certificate that `alchemist tls init` writes (`cert`). Errors name
//! the file at fault, because the usual cause is a wrong path or a swapped cert and key.

mod cert;

use std::path::{Path, PathBuf};
use std::sync::Arc;

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};

pub use cert::{CertRequest, default_hostname, init_self_signed};

/// Why TLS could not be set up.
#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    #[error("TLS certificate {path}: {message}")]
    Cert { path: PathBuf, message: String },
    #[error("TLS key {path}: {message}")]
    Key { path: PathBuf, message: String },
    #[error("TLS certificate {cert} and key {key} cannot be used together: {message}")]
    Pair {
        cert: PathBuf,
        key: PathBuf,
        message: String,
    },
    #[error("{path} already exists; it is never overwritten (remove it to make a new one)")]
    Exists { path: PathBuf },
    #[error("cannot write {path}: {source}")]
    Write {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("cannot generate a certificate: {0}")]
    Generate(String),
}

/// ALPN: the router speaks HTTP/1.1 only (axum's `http1` feature; no h2 in the tree).
const ALPN: &[&[u8]] = &[b"http/1.1"];

/// The rustls server configuration for a PEM certificate chain and PEM private key (PKCS#8,
/// PKCS#1 or SEC1). Checks that the key belongs to the certificate.
pub fn server_config(cert: &Path, key: &Path) -> Result<Arc<rustls::ServerConfig>, TlsError> {
    let chain = read_chain(cert)?;
    let key_der = PrivateKeyDer::from_pem_file(key).map_err(|e| TlsError::Key {
        path: key.to_path_buf(),
        message: pem_message(e, "no PEM private key"),
    })?;
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| TlsError::Generate(e.to_string()))?
        .with_no_client_auth()
        .with_single_cert(chain, key_der)
        .map_err(|e| TlsError::Pair {
            cert: cert.to_path_buf(),
            key: key.to_path_buf(),
            message: e.to_string(),
        })?;
    config.alpn_protocols = ALPN.iter().map(|p| p.to_vec()).collect();
    Ok(Arc::new(config))
}

/// Every certificate in a PEM file, leaf first; an empty file is an error.
pub fn read_chain(path: &Path) -> Result<Vec<CertificateDer<'static>>, TlsError> {
    let err = |message: String| TlsError::Cert {
        path: path.to_path_buf(),
        message,
    };
    let chain = CertificateDer::pem_file_iter(path)
        .map_err(|e| err(pem_message(e, "")))?
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| err(pem_message(e, "")))?;
    if chain.is_empty() {
        return Err(err(
            "no PEM certificate (-----BEGIN CERTIFICATE-----) in the file".into(),
        ));
    }
    Ok(chain)
}

/// SHA-256 fingerprint of the leaf certificate in a PEM file, as browsers show it
/// (`AB:CD:...`): the console prints it so a first visit can check the self-signed certificate.
pub fn fingerprint(cert: &Path) -> Result<String, TlsError> {
    use sha2::Digest;
    let chain = read_chain(cert)?;
    let digest = sha2::Sha256::digest(chain[0].as_ref());
    let hex = hex::encode_upper(digest);
    let pairs: Vec<&str> = (0..hex.len()).step_by(2).map(|i| &hex[i..i + 2]).collect();
    Ok(pairs.join(":"))
}

fn pem_message(e: rustls::pki_types::pem::Error, none: &str) -> String {
    use rustls::pki_types::pem::Error;
    match e {
        Error::Io(io) => io.to_string(),
        Error::NoItemsFound if !none.is_empty() => none.to_string(),
        other => format!("not valid PEM ({other})"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errors_name_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let (cert, key) = (dir.path().join("c.pem"), dir.path().join("k.pem"));
        let missing = server_config(&cert, &key).unwrap_err().to_string();
        assert!(missing.contains("c.pem"), "{missing}");
        std::fs::write(&cert, "not a certificate").unwrap();
        let empty = server_config(&cert, &key).unwrap_err().to_string();
        assert!(
            empty.contains("c.pem") && empty.contains("no PEM"),
            "{empty}"
        );
        init_self_signed(&CertRequest::new(&cert, &key, "nas")).unwrap_err();
        std::fs::remove_file(&cert).unwrap();
        init_self_signed(&CertRequest::new(&cert, &key, "nas")).unwrap();
        server_config(&cert, &key).unwrap();
        let fp = fingerprint(&cert).unwrap();
        assert_eq!((fp.len(), fp.matches(':').count()), (95, 31), "{fp}");
        // A key that is not the certificate's.
        let other = dir.path().join("other");
        std::fs::create_dir(&other).unwrap();
        let (c2, k2) = (other.join("c.pem"), other.join("k.pem"));
        init_self_signed(&CertRequest::new(&c2, &k2, "nas")).unwrap();
        let pair = server_config(&cert, &k2).unwrap_err().to_string();
        assert!(pair.contains("c.pem") && pair.contains("k.pem"), "{pair}");
        std::fs::write(&k2, "garbage").unwrap();
        let bad_key = server_config(&cert, &k2).unwrap_err().to_string();
        assert!(
            bad_key.starts_with("TLS key") && bad_key.contains("k.pem"),
            "{bad_key}"
        );
    }
}

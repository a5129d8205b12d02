//! HTTPS end to end: `alchemist tls init` writes a certificate once (never over an existing
//! one), the real server serves it on 127.0.0.1:0 with TLS, a client that trusts only that
//! certificate gets answers, the session cookie is `Secure`, the plain-HTTP listener redirects
//! everything but the probes, and a bad certificate stops the start with the file's name.
//! The client is `support::https`, which the appliance tests use too.

use std::net::SocketAddr;
use std::path::Path;
use std::process::Command;
use std::time::Duration;

use alchemist::config::{Config, TlsSettings};
use tokio_util::sync::CancellationToken;

use crate::support::binary::BIN;
use crate::support::https::Https;
use crate::support::{ADMIN, PASSWORD, PROMPT, create_admin, wait_until};

fn tls_init(dir: &Path, hostname: &str) -> std::process::Output {
    Command::new(BIN)
        .args(["tls", "init", "--cert"])
        .arg(dir.join("tls/cert.pem"))
        .arg("--key")
        .arg(dir.join("tls/key.pem"))
        .args(["--hostname", hostname, "--ip", "192.0.2.7"])
        .output()
        .expect("run alchemist tls init")
}

/// The whole answer to a plain HTTP/1.1 GET (the redirect listener), read on a blocking thread.
async fn plain_get(addr: SocketAddr, path: &str) -> String {
    plain_get_as(addr, &addr.to_string(), path).await
}

/// [`plain_get`] with the `Host` header a client chose.
async fn plain_get_as(addr: SocketAddr, host: &str, path: &str) -> String {
    use std::io::{Read, Write};
    let req = format!("GET {path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n");
    tokio::task::spawn_blocking(move || {
        let mut s = std::net::TcpStream::connect(addr).unwrap();
        s.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
        s.write_all(req.as_bytes()).unwrap();
        let mut out = Vec::new();
        let _ = s.read_to_end(&mut out);
        String::from_utf8_lossy(&out).into_owned()
    })
    .await
    .unwrap()
}

#[tokio::test]
async fn tls_init_writes_once_and_the_server_answers_https_with_a_secure_cookie() {
    use std::os::unix::fs::PermissionsExt;
    let tmp = tempfile::tempdir().unwrap();
    let (cert, key) = (
        tmp.path().join("tls/cert.pem"),
        tmp.path().join("tls/key.pem"),
    );

    // The certificate is written once; a second init refuses and leaves both files alone.
    let out = tls_init(tmp.path(), "nas-test");
    assert!(out.status.success(), "{out:?}");
    let mode = std::fs::metadata(&key).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600, "the key is private");
    let (cert_pem, key_pem) = (std::fs::read(&cert).unwrap(), std::fs::read(&key).unwrap());
    let again = tls_init(tmp.path(), "other-name");
    assert!(!again.status.success(), "a second init must refuse");
    let stderr = String::from_utf8_lossy(&again.stderr);
    assert!(
        stderr.contains("already exists") && stderr.contains("cert.pem"),
        "{stderr}"
    );
    assert_eq!(
        std::fs::read(&cert).unwrap(),
        cert_pem,
        "cert not overwritten"
    );
    assert_eq!(std::fs::read(&key).unwrap(), key_pem, "key not overwritten");
    let fp = Command::new(BIN)
        .args(["tls", "fingerprint", "--cert"])
        .arg(&cert)
        .output()
        .unwrap();
    let fp = String::from_utf8_lossy(&fp.stdout);
    assert_eq!(
        fp.trim().split(':').count(),
        32,
        "SHA-256 as AB:CD:..: {fp}"
    );

    // The real server with TLS on 127.0.0.1:0 and the plain-HTTP redirect listener.
    let data_dir = tmp.path().join("data");
    let dir = data_dir.clone();
    tokio::task::spawn_blocking(move || create_admin(&dir))
        .await
        .unwrap();
    let mut config = Config::defaults(&data_dir);
    config.scan_on_start = false;
    // The certificate's name is not this machine's host name: the box answers for it because
    // it is listed (as an owner with a name of their own would list it).
    config.security.allowed_hosts = vec!["nas-test".into(), "nas-test.local".into()];
    config.tls = Some(TlsSettings {
        cert: cert.clone(),
        key: key.clone(),
        http_listen: None,
    });
    let main = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let plain = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let (addr, plain_addr) = (main.local_addr().unwrap(), plain.local_addr().unwrap());
    let shutdown = CancellationToken::new();
    let stop = shutdown.clone();
    let listeners = alchemist::Listeners {
        main,
        http_redirect: Some(plain),
    };
    let task = tokio::spawn(async move { alchemist::run_with(config, listeners, stop).await });

    // Trusting only the generated certificate, by each kind of name it carries.
    let https = Https::new(addr, &cert_pem, "nas-test.local");
    let health = wait_until(PROMPT, "HTTPS /api/health to answer", async || {
        https.request("GET", "/api/health", &[], None).await
    })
    .await;
    assert_eq!(health.status, 200, "{}", health.text());
    assert_eq!(health.json()["status"], "ok");
    for name in ["nas-test", "localhost", "127.0.0.1", "192.0.2.7"] {
        let r = Https::new(addr, &cert_pem, name).get("/api/ready").await;
        assert_eq!(r.status, 200, "via {name}");
    }
    // The name must be in the certificate, and another certificate is not trusted.
    let wrong = Https::new(addr, &cert_pem, "elsewhere.example");
    let e = wrong.request("GET", "/api/health", &[], None).await.err();
    assert!(
        e.is_some_and(|e| e.contains("TLS")),
        "a foreign name is refused"
    );
    let other_dir = tempfile::tempdir().unwrap();
    assert!(tls_init(other_dir.path(), "nas-test").status.success());
    let other_pem = std::fs::read(other_dir.path().join("tls/cert.pem")).unwrap();
    let stranger = Https::new(addr, &other_pem, "nas-test");
    let e = stranger
        .request("GET", "/api/health", &[], None)
        .await
        .err();
    assert!(e.is_some_and(|e| e.contains("TLS")), "only our certificate");

    // Login over HTTPS: the cookie is Secure (and still HttpOnly, SameSite=Strict) and works.
    let body = serde_json::json!({"username": ADMIN, "password": PASSWORD});
    let login = https
        .request("POST", "/api/auth/login", &[], Some(&body))
        .await
        .unwrap();
    assert_eq!(login.status, 200, "{}", login.text());
    let cookie = login
        .header("set-cookie")
        .expect("a session cookie")
        .to_string();
    let attrs: Vec<&str> = cookie.split(';').map(str::trim).collect();
    for wanted in ["Secure", "HttpOnly", "SameSite=Strict"] {
        assert!(attrs.contains(&wanted), "{wanted} in {cookie}");
    }
    let session = attrs[0];
    let jobs = https
        .request("GET", "/api/jobs", &[("cookie", session)], None)
        .await
        .unwrap();
    assert_eq!(jobs.status, 200, "{}", jobs.text());
    let logout = https
        .request("POST", "/api/auth/logout", &[("cookie", session)], None)
        .await
        .unwrap();
    assert!(logout.header("set-cookie").unwrap().contains("Secure"));

    // Plain HTTP: probes answer, everything else is sent to HTTPS with path and query.
    let probe = plain_get(plain_addr, "/api/health").await;
    assert!(probe.starts_with("HTTP/1.1 200"), "{probe}");
    let moved = plain_get(plain_addr, "/api/jobs?limit=5").await;
    assert!(moved.starts_with("HTTP/1.1 308"), "{moved}");
    let location = format!(
        "location: https://127.0.0.1:{}/api/jobs?limit=5",
        addr.port()
    );
    assert!(moved.to_ascii_lowercase().contains(&location), "{moved}");
    let page = plain_get(plain_addr, "/login").await;
    assert!(page.starts_with("HTTP/1.1 308"), "{page}");
    // The redirect names only a host the box answers for: a client's foreign name (DNS
    // rebinding, a forged Host) gets 421 and no Location, so it cannot send a browser there.
    for foreign in ["evil.example", "evil.example:443", "127.0.0.1.evil.example"] {
        let refused = plain_get_as(plain_addr, foreign, "/login").await;
        assert!(refused.starts_with("HTTP/1.1 421"), "{foreign}: {refused}");
        assert!(
            !refused.to_ascii_lowercase().contains("location:"),
            "{foreign}: {refused}"
        );
    }
    let named = plain_get_as(plain_addr, "localhost", "/login").await;
    let to = format!("location: https://localhost:{}/login", addr.port());
    assert!(named.to_ascii_lowercase().contains(&to), "{named}");
    // The HTTPS port does not speak plain HTTP.
    let confused = plain_get(addr, "/api/health").await;
    assert!(!confused.contains("200 OK"), "{confused}");

    shutdown.cancel();
    tokio::time::timeout(Duration::from_secs(30), task)
        .await
        .expect("stops")
        .unwrap()
        .expect("clean stop");
}

#[test]
fn a_bad_certificate_stops_the_start_naming_the_file() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    let serve = |cert: &Path, key: &Path| {
        Command::new(BIN)
            .args(["serve", "--listen", "127.0.0.1:0", "--data-dir"])
            .arg(&data)
            .env("ALCHEMIST_TLS_CERT", cert)
            .env("ALCHEMIST_TLS_KEY", key)
            .env("ALCHEMIST_LOG", "warn")
            .output()
            .expect("run alchemist serve")
    };
    let missing = serve(&tmp.path().join("nope.pem"), &tmp.path().join("key.pem"));
    assert!(!missing.status.success());
    let err = String::from_utf8_lossy(&missing.stderr);
    assert!(
        err.contains("TLS certificate") && err.contains("nope.pem"),
        "{err}"
    );

    let junk = tmp.path().join("junk.pem");
    std::fs::write(&junk, "hello").unwrap();
    assert!(tls_init(tmp.path(), "nas").status.success());
    let bad_key = serve(&tmp.path().join("tls/cert.pem"), &junk);
    assert!(!bad_key.status.success());
    let err = String::from_utf8_lossy(&bad_key.stderr);
    assert!(err.contains("TLS key") && err.contains("junk.pem"), "{err}");

    // Half a TLS configuration is a configuration error, not a silent plain-HTTP start.
    let half = Command::new(BIN)
        .args(["serve", "--listen", "127.0.0.1:0", "--data-dir"])
        .arg(&data)
        .arg("--tls-cert")
        .arg(tmp.path().join("tls/cert.pem"))
        .output()
        .unwrap();
    assert!(!half.status.success());
    let err = String::from_utf8_lossy(&half.stderr);
    assert!(err.contains("`cert` and `key`"), "{err}");
}

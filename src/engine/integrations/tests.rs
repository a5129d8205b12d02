//! Tests of the integrations' settings: keys masked, kept when not given, services told apart.

use super::*;

fn svc(url: &str, key: &str) -> Option<ServiceSettings> {
    Some(ServiceSettings {
        url: url.into(),
        api_key: key.into(),
        verify_tls: true,
    })
}

#[test]
fn masks_and_keeps_a_masked_key() {
    assert_eq!(mask("0123456789abcdef"), "…cdef");
    assert_eq!(mask("short"), "…");
    let old = IntegrationsSettings {
        sonarr: svc("http://h:8989", "0123456789abcdef"),
        ..Default::default()
    };
    let back = check(old.masked(), &old).unwrap();
    assert_eq!(back.sonarr.unwrap().api_key, "0123456789abcdef");
    let new = IntegrationsSettings {
        sonarr: svc("http://h:8989/", "fresh-key-1234"),
        ..Default::default()
    };
    let s = check(new, &old).unwrap().sonarr.unwrap();
    // https is accepted, and a stored entry without verify_tls verifies.
    let tls = IntegrationsSettings {
        jellyfin: svc("https://jf.lan:8920", "fresh-key-1234"),
        ..Default::default()
    };
    assert!(check(tls, &old).is_ok());
    let stored: ServiceSettings =
        serde_json::from_str(r#"{"url": "http://h", "api_key": "k"}"#).unwrap();
    assert!(stored.verify_tls);
    assert_eq!(
        (s.url.as_str(), s.api_key.as_str()),
        ("http://h:8989", "fresh-key-1234")
    );
}

#[test]
fn refuses_bad_values_naming_the_field() {
    let old = IntegrationsSettings::default();
    for (new, field) in [
        (
            IntegrationsSettings {
                plex: svc("nope", "k"),
                ..Default::default()
            },
            "plex.url",
        ),
        (
            IntegrationsSettings {
                plex: svc("ftp://h", "k"),
                ..Default::default()
            },
            "plex.url",
        ),
        (
            IntegrationsSettings {
                emby: svc("http://h", " "),
                ..Default::default()
            },
            "emby.api_key",
        ),
        (
            IntegrationsSettings {
                emby: svc("http://h", "…abcd"),
                ..Default::default()
            },
            "emby.api_key",
        ),
    ] {
        assert_eq!(check(new, &old).unwrap_err().field, field);
    }
}

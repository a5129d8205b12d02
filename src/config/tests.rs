//! Tests of configuration parsing, precedence and validation.

use super::*;

#[test]
fn defaults_apply() {
    let c = Config::from_parts(&Overrides::default(), &FileConfig::default()).unwrap();
    assert_eq!(c.listen.to_string(), DEFAULT_LISTEN);
    assert_eq!(c.data_dir, PathBuf::from(DEFAULT_DATA_DIR));
    assert_eq!(c.transcode.encoder, CpuEncoder::Libx265);
}

#[test]
fn overrides_beat_file() {
    let file = parse(
        "listen = \"0.0.0.0:8080\"\nlibraries = [\"/a\"]\n[transcode]\nencoder = \"libx264\"\ncrf = 20\n",
    )
    .unwrap();
    let o = Overrides {
        listen: Some("127.0.0.1:9000".into()),
        libraries: vec!["/b".into()],
        ..Default::default()
    };
    let c = Config::from_parts(&o, &file).unwrap();
    assert_eq!(c.listen.port(), 9000);
    assert_eq!(c.libraries, vec![PathBuf::from("/a"), PathBuf::from("/b")]);
    assert_eq!(c.transcode.encoder, CpuEncoder::Libx264);
    assert_eq!(c.transcode.crf, Some(20));
}

#[test]
fn bad_values_are_errors() {
    assert!(parse("nonsense = 1").is_err());
    assert!(parse("listen = 5").is_err());
    let file = parse("[transcode]\nencoder = \"h264_magic\"").unwrap();
    assert!(Config::from_parts(&Overrides::default(), &file).is_err());
    let file = parse("listen = \"nowhere\"").unwrap();
    assert!(Config::from_parts(&Overrides::default(), &file).is_err());
    let file = parse("[transcode]\npreset = \"a b\"").unwrap();
    assert!(Config::from_parts(&Overrides::default(), &file).is_err());
    for bad in ["original = \"trash\"", "verify = \"some\""] {
        let file = parse(&format!("[transcode]\n{bad}")).unwrap();
        assert!(
            Config::from_parts(&Overrides::default(), &file).is_err(),
            "{bad}"
        );
    }
    let file =
        parse("[transcode]\noriginal = \"replace\"\ntrash_days = 7\nverify = \"full\"").unwrap();
    let t = Config::from_parts(&Overrides::default(), &file)
        .unwrap()
        .transcode;
    assert_eq!(
        (t.original, t.trash_days, t.verify),
        (OriginalPolicy::Replace, 7, VerifyMode::Full)
    );
}

#[test]
fn retry_base_is_positive_milliseconds() {
    assert_eq!(retry_base(None).unwrap(), None);
    assert_eq!(retry_base(Some(" ")).unwrap(), None);
    assert_eq!(
        retry_base(Some("1500")).unwrap(),
        Some(Duration::from_millis(1500))
    );
    for bad in ["0", "-5", "1s", "abc"] {
        assert!(retry_base(Some(bad)).is_err(), "{bad}");
    }
}

#[test]
fn tls_from_file_and_overrides() {
    let none = Config::from_parts(&Overrides::default(), &FileConfig::default()).unwrap();
    assert_eq!(none.tls, None);
    let file = parse(
        "listen = \"0.0.0.0:443\"\n[tls]\ncert = \"/d/cert.pem\"\nkey = \"/d/key.pem\"\nhttp_listen = \"0.0.0.0:80\"\n",
    )
    .unwrap();
    let tls = Config::from_parts(&Overrides::default(), &file)
        .unwrap()
        .tls
        .unwrap();
    assert_eq!(tls.cert, PathBuf::from("/d/cert.pem"));
    assert_eq!(tls.key, PathBuf::from("/d/key.pem"));
    assert_eq!(tls.http_listen, Some("0.0.0.0:80".parse().unwrap()));
    // Flags and environment (merged by clap into the overrides) win over the file.
    let o = Overrides {
        tls_cert: Some("/o/c.pem".into()),
        http_listen: Some("127.0.0.1:8080".into()),
        ..Default::default()
    };
    let tls = Config::from_parts(&o, &file).unwrap().tls.unwrap();
    assert_eq!(tls.cert, PathBuf::from("/o/c.pem"));
    assert_eq!(tls.key, PathBuf::from("/d/key.pem"));
    assert_eq!(tls.http_listen, Some("127.0.0.1:8080".parse().unwrap()));
    // Overrides alone are enough.
    let o = Overrides {
        tls_cert: Some("c".into()),
        tls_key: Some("k".into()),
        ..Default::default()
    };
    let tls = Config::from_parts(&o, &FileConfig::default()).unwrap().tls;
    assert_eq!(tls.map(|t| t.http_listen), Some(None));
}

#[test]
fn tls_mistakes_are_errors() {
    assert!(parse("[tls]\ncertificate = \"/c\"").is_err(), "unknown key");
    assert!(parse("[tls]\ncert = 1").is_err());
    let invalid = |text: &str| {
        let file = parse(text).unwrap();
        match Config::from_parts(&Overrides::default(), &file) {
            Err(ConfigError::Invalid { key, .. }) => key,
            other => panic!("{text}: {other:?}"),
        }
    };
    assert_eq!(invalid("[tls]\ncert = \"/c\""), "tls");
    assert_eq!(invalid("[tls]\nkey = \"/k\""), "tls");
    assert_eq!(
        invalid("[tls]\nhttp_listen = \"0.0.0.0:80\""),
        "tls.http_listen"
    );
    assert_eq!(
        invalid("[tls]\ncert = \"/c\"\nkey = \"/k\"\nhttp_listen = \"port 80\""),
        "tls.http_listen"
    );
    assert_eq!(
        invalid(
            "listen = \"0.0.0.0:443\"\n[tls]\ncert = \"/c\"\nkey = \"/k\"\nhttp_listen = \"127.0.0.1:443\""
        ),
        "tls.http_listen"
    );
}

#[test]
fn changed_keys_lists_differences() {
    let a = transcode_settings(&TranscodeFile::default()).unwrap();
    let mut b = a.clone();
    b.crf = Some(30);
    assert_eq!(changed_keys(&a, &b), vec!["transcode.crf"]);
    assert!(changed_keys(&a, &a).is_empty());
}

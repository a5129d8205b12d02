use super::*;
use crate::web::maintenance::logs::parse_since;

fn line(level: &str, message: &str) -> Arc<str> {
    format!(
        "{{\"timestamp\":\"2026-12-06T05:00:00.000000Z\",\"level\":\"{level}\",\
         \"fields\":{{\"message\":\"{message}\"}},\"target\":\"alchemist::test\"}}"
    )
    .into()
}

/// A reader further behind than the ring is told how many lines it lost, then gets the
/// oldest lines still kept, in order; lines under its level and unparsable ones are skipped.
#[tokio::test]
async fn a_slow_reader_is_told_what_it_lost_and_goes_on() {
    let (tx, rx) = broadcast::channel(4);
    for i in 0..10 {
        tx.send(line("INFO", &format!("m{i}"))).unwrap();
    }
    drop(tx);
    let got: Vec<Live> = live(rx, Level::Info).collect().await;
    assert_eq!(got.len(), 5, "{got:?}");
    assert_eq!(got[0], Live::Lagged(6));
    for (i, l) in got[1..].iter().enumerate() {
        let Live::Line(json) = l else { panic!("{l:?}") };
        assert!(json.contains(&format!("\"m{}\"", i + 6)), "{json}");
    }

    let (tx, rx) = broadcast::channel(8);
    tx.send(line("DEBUG", "quiet")).unwrap();
    tx.send("not json".into()).unwrap();
    tx.send(line("WARN", "loud")).unwrap();
    drop(tx);
    let got: Vec<Live> = live(rx, Level::Info).collect().await;
    assert_eq!(got.len(), 1, "{got:?}");
    assert!(
        matches!(&got[0], Live::Line(j) if j.contains("loud")),
        "{got:?}"
    );
}

/// A late stream replays the kept lines from `since` on, at its level, in order.
#[test]
fn a_late_stream_replays_the_kept_lines_from_since_at_its_level() {
    let at = |second: u32, level: &str, message: &str| -> Arc<str> {
        format!(
            "{{\"timestamp\":\"2026-12-06T05:00:{second:02}.000000Z\",\"level\":\"{level}\",\
             \"fields\":{{\"message\":\"{message}\"}},\"target\":\"alchemist::test\"}}"
        )
        .into()
    };
    let recent = vec![
        at(1, "INFO", "before"),
        at(2, "INFO", "from"),
        at(3, "DEBUG", "quiet"),
        "not json".into(),
        at(4, "WARN", "after"),
    ];
    let since = parse_since("2026-12-06T05:00:02Z").unwrap();
    let got = replay(recent, Level::Info, since);
    let messages: Vec<&str> = got
        .iter()
        .map(|l| match l {
            Live::Line(j) if j.contains("\"from\"") => "from",
            Live::Line(j) if j.contains("\"after\"") => "after",
            other => panic!("{other:?}"),
        })
        .collect();
    assert_eq!(messages, ["from", "after"]);
}

#[test]
fn since_takes_rfc3339_and_unix_seconds() {
    let t = parse_since("2026-12-06T02:27:50Z").unwrap();
    assert_eq!(t, 1_796_524_070_000_000_000);
    assert_eq!(parse_since("1796524070"), Some(t));
    assert_eq!(parse_since("1796524070.5"), Some(t + 500_000_000));
    assert_eq!(
        parse_since("2026-12-06T03:27:50+01:00"),
        Some(t),
        "offsets are honoured"
    );
    for bad in [
        "",
        "-5",
        "yesterday",
        "1.",
        ".5",
        "1e9",
        "12345678901234",
        "1.1234567890",
    ] {
        assert_eq!(parse_since(bad), None, "{bad}");
    }
}

#[test]
fn params_are_validated() {
    let p = |level: &str, since: &str, limit: &str| LogsParams {
        level: Some(level.into()),
        since: Some(since.into()),
        limit: Some(limit.into()),
    };
    let q = p("", "", "").parse().unwrap();
    assert_eq!((q.min_level, q.since, q.limit), (Level::Info, None, 200));
    let q = p("ERROR", "0", "5000").parse().unwrap();
    assert_eq!(
        (q.min_level, q.since, q.limit),
        (Level::Error, Some(0), 5000)
    );
    for (level, since, limit) in [
        ("loud", "", ""),
        ("", "soon", ""),
        ("", "", "0"),
        ("", "", "5001"),
        ("", "", "-1"),
    ] {
        let e = p(level, since, limit).parse().err().unwrap();
        assert_eq!((e.status.as_u16(), e.code), (400, "INVALID_QUERY"));
    }
}

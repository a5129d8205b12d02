//! Table tests of the pure schedule: plain weeks, midnight crossing, `24:00`, always and never,
//! and Berlin's 2026 DST changes (spring forward on Sunday 29 March, 02:00 → 03:00; fall back
//! on Sunday 25 October, 03:00 → 02:00), plus the checks of the owner's input.

use jiff::Timestamp;
use jiff::tz::TimeZone;

use super::window::{Plan, evaluate};
use super::{OutsideWindow, ScheduleSettings, WindowSpec};

fn window(days: &str, start: &str, end: &str) -> WindowSpec {
    WindowSpec {
        days: days
            .split(',')
            .filter(|d| !d.is_empty())
            .map(str::to_string)
            .collect(),
        start: start.into(),
        end: end.into(),
    }
}

fn settings(windows: Vec<WindowSpec>) -> ScheduleSettings {
    ScheduleSettings {
        enabled: true,
        windows,
        outside_window: OutsideWindow::Suspend,
    }
}

fn at(text: &str) -> Timestamp {
    text.parse().unwrap()
}

/// (what, windows, zone, now, in_window, next_change)
type Row<'a> = (
    &'a str,
    Vec<WindowSpec>,
    &'a TimeZone,
    &'a str,
    bool,
    Option<&'a str>,
);

const ALL: &str = "mon,tue,wed,thu,fri,sat,sun";

#[test]
fn evaluation_table() {
    let berlin = TimeZone::get("Europe/Berlin").unwrap();
    let utc = TimeZone::UTC;
    let table: Vec<Row> = vec![
        // 2026-12-07 is a Monday.
        (
            "inside",
            vec![window("mon", "01:00", "07:00")],
            &utc,
            "2026-12-07T03:00:00Z",
            true,
            Some("2026-12-07T07:00:00Z"),
        ),
        (
            "before",
            vec![window("mon", "01:00", "07:00")],
            &utc,
            "2026-12-07T00:59:00Z",
            false,
            Some("2026-12-07T01:00:00Z"),
        ),
        (
            "start is inside",
            vec![window("mon", "01:00", "07:00")],
            &utc,
            "2026-12-07T01:00:00Z",
            true,
            Some("2026-12-07T07:00:00Z"),
        ),
        (
            "end is outside, next week",
            vec![window("mon", "01:00", "07:00")],
            &utc,
            "2026-12-07T07:00:00Z",
            false,
            Some("2026-12-14T01:00:00Z"),
        ),
        // Friday 22:00 to Saturday 02:00: the window belongs to the day it starts on.
        (
            "across midnight, after it",
            vec![window("fri", "22:00", "02:00")],
            &utc,
            "2026-12-12T01:00:00Z",
            true,
            Some("2026-12-12T02:00:00Z"),
        ),
        (
            "across midnight, before it",
            vec![window("fri", "22:00", "02:00")],
            &utc,
            "2026-12-11T23:00:00Z",
            true,
            Some("2026-12-12T02:00:00Z"),
        ),
        (
            "across midnight, Saturday night is not a start day",
            vec![window("fri", "22:00", "02:00")],
            &utc,
            "2026-12-12T23:00:00Z",
            false,
            Some("2026-12-18T22:00:00Z"),
        ),
        (
            "across the week's end",
            vec![window("sun", "23:00", "01:00")],
            &utc,
            "2026-12-07T00:30:00Z",
            true,
            Some("2026-12-07T01:00:00Z"),
        ),
        (
            "until 24:00, joined with the next day's window",
            vec![
                window("mon", "20:00", "24:00"),
                window("tue", "00:00", "02:00"),
            ],
            &utc,
            "2026-12-07T23:00:00Z",
            true,
            Some("2026-12-08T02:00:00Z"),
        ),
        (
            "overlapping windows are one",
            vec![
                window("mon", "01:00", "05:00"),
                window("mon", "04:00", "06:00"),
            ],
            &utc,
            "2026-12-07T04:30:00Z",
            true,
            Some("2026-12-07T06:00:00Z"),
        ),
        (
            "every day all day never closes",
            vec![window(ALL, "00:00", "24:00")],
            &utc,
            "2026-12-09T12:00:00Z",
            true,
            None,
        ),
        (
            "no window never opens",
            vec![],
            &utc,
            "2026-12-09T12:00:00Z",
            false,
            None,
        ),
        (
            "local time, not UTC",
            vec![window("mon", "01:00", "07:00")],
            &berlin,
            "2026-12-07T00:30:00Z",
            true,
            Some("2026-12-07T06:00:00Z"),
        ),
        // Spring forward: 02:00 CET (01:00Z) jumps to 03:00 CEST.
        (
            "gap: a start in the gap opens at the jump",
            vec![window("sun", "02:30", "06:00")],
            &berlin,
            "2026-03-29T00:59:00Z",
            false,
            Some("2026-03-29T01:00:00Z"),
        ),
        (
            "gap: open after the jump",
            vec![window("sun", "02:30", "06:00")],
            &berlin,
            "2026-03-29T01:10:00Z",
            true,
            Some("2026-03-29T04:00:00Z"),
        ),
        (
            "gap: an end in the gap closes at the jump",
            vec![window("sun", "00:30", "02:30")],
            &berlin,
            "2026-03-29T00:45:00Z",
            true,
            Some("2026-03-29T01:00:00Z"),
        ),
        (
            "gap: a window wholly in the gap does not happen",
            vec![window("sun", "02:10", "02:50")],
            &berlin,
            "2026-03-28T23:00:00Z",
            false,
            Some("2026-04-05T00:10:00Z"),
        ),
        (
            "gap: the hour before the jump is short",
            vec![window("sun", "01:00", "04:00")],
            &berlin,
            "2026-03-29T00:30:00Z",
            true,
            Some("2026-03-29T02:00:00Z"),
        ),
        // Fall back: 03:00 CEST (01:00Z) goes back to 02:00 CET; 02:xx happens twice.
        (
            "fold: an end in the fold is its first reading",
            vec![window("sun", "01:00", "02:30")],
            &berlin,
            "2026-10-25T00:45:00Z",
            false,
            Some("2026-11-01T00:00:00Z"),
        ),
        (
            "fold: a start in the fold is its first reading",
            vec![window("sun", "02:30", "04:00")],
            &berlin,
            "2026-10-25T00:30:00Z",
            true,
            Some("2026-10-25T03:00:00Z"),
        ),
        (
            "fold: still open when the clock reads 02:15 again",
            vec![window("sun", "02:30", "04:00")],
            &berlin,
            "2026-10-25T01:15:00Z",
            true,
            Some("2026-10-25T03:00:00Z"),
        ),
        (
            "fold: the night is an hour longer",
            vec![window("sat", "22:00", "06:00")],
            &berlin,
            "2026-10-24T20:00:00Z",
            true,
            Some("2026-10-25T05:00:00Z"),
        ),
    ];
    for (what, windows, zone, now, in_window, next) in table {
        let plan = Plan::parse(&settings(windows)).unwrap();
        let e = evaluate(&plan, at(now), zone);
        assert_eq!(e.in_window, in_window, "{what}: in_window");
        assert_eq!(e.next_change, next.map(at), "{what}: next_change");
    }
}

#[test]
fn a_disabled_schedule_restricts_nothing() {
    let mut s = settings(vec![window("mon", "01:00", "02:00")]);
    s.enabled = false;
    let e = evaluate(
        &Plan::parse(&s).unwrap(),
        at("2026-12-09T12:00:00Z"),
        &TimeZone::UTC,
    );
    assert!(e.in_window);
    assert_eq!(e.next_change, None);
}

#[test]
fn bad_input_names_the_field() {
    let table = [
        (window("mon", "25:00", "07:00"), "windows[0].start"),
        (window("mon", "1:00", "07:00"), "windows[0].start"),
        (window("mon", "24:00", "07:00"), "windows[0].start"),
        (window("mon", "01:00", "07:60"), "windows[0].end"),
        (window("", "01:00", "02:00"), "windows[0].days"),
        (window("mon,monday", "01:00", "02:00"), "windows[0].days[1]"),
        (window("Mon", "01:00", "02:00"), "windows[0].days[0]"),
    ];
    for (w, field) in table {
        let err = Plan::parse(&settings(vec![window(ALL, "01:00", "02:00"), w.clone()]))
            .expect_err(&format!("{w:?}"));
        // The bad window is the second one.
        let field = format!("windows[1]{}", field.trim_start_matches("windows[0]"));
        assert_eq!(err.field, field, "{w:?}");
    }
    let many = settings(vec![
        window("mon", "01:00", "02:00");
        super::window::MAX_WINDOWS + 1
    ]);
    assert_eq!(Plan::parse(&many).unwrap_err().field, "windows");
    assert!(Plan::parse(&settings(vec![window(ALL, "00:00", "24:00")])).is_ok());
    // Equal start and end: a whole day.
    let day = Plan::parse(&settings(vec![window("mon", "00:00", "00:00")])).unwrap();
    let e = evaluate(&day, at("2026-12-07T23:59:00Z"), &TimeZone::UTC);
    assert_eq!(
        (e.in_window, e.next_change),
        (true, Some(at("2026-12-08T00:00:00Z")))
    );
}

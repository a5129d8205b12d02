//! Tests of the job state machine and state codes.

use super::*;

#[test]
fn happy_path_transitions() {
    let s = JobState::Queued.transition(JobEvent::Claim).unwrap();
    assert_eq!(s, JobState::Analyzing);
    let s = s.transition(JobEvent::StartEncode).unwrap();
    assert_eq!(s, JobState::Encoding);
    assert_eq!(
        s.transition(JobEvent::Complete).unwrap(),
        JobState::Completed
    );
}

#[test]
fn invalid_transitions_are_rejected() {
    assert!(JobState::Completed.transition(JobEvent::Claim).is_err());
    assert!(JobState::Queued.transition(JobEvent::Complete).is_err());
    assert!(JobState::Encoding.transition(JobEvent::Restart).is_err());
    assert!(JobState::Completed.transition(JobEvent::Cancel).is_err());
    assert!(JobState::Queued.transition(JobEvent::Interrupted).is_err());
}

#[test]
fn restart_and_recovery() {
    for s in JobState::ALL {
        assert_eq!(s.transition(JobEvent::Restart).is_ok(), s.is_terminal());
        // Only failures are retried by themselves; a cancel or a skip is the last word.
        assert_eq!(
            s.transition(JobEvent::Retry).ok(),
            (s == JobState::Failed).then_some(JobState::Queued)
        );
        assert_eq!(s.transition(JobEvent::Interrupted).is_ok(), s.is_active());
    }
}

#[test]
fn state_codes_round_trip() {
    for s in JobState::ALL {
        assert_eq!(JobState::from_code(s.code()), Some(s));
        assert_eq!(s.as_str().parse::<JobState>().unwrap(), s);
    }
    assert!("done".parse::<JobState>().is_err());
}

#[test]
fn controls_in_names_are_escaped_and_the_rest_kept() {
    assert_eq!(escape_controls("a film.mkv"), "a film.mkv");
    assert_eq!(escape_controls("café 日本.mkv"), "café 日本.mkv");
    assert_eq!(
        escape_controls("x.mkv\n2026-01-01 INFO forged"),
        "x.mkv\\n2026-01-01 INFO forged"
    );
    assert_eq!(escape_controls("a\u{1b}[31mred\r"), "a\\u{1b}[31mred\\r");
    assert_eq!(escape_controls("vkm.\u{202e}4pm"), "vkm.\\u{202e}4pm");
}

#[test]
fn counts_take_the_noun_in_the_right_number() {
    assert_eq!(super::count(1u64, "job", "jobs"), "1 job");
    assert_eq!(super::count(0usize, "job", "jobs"), "0 jobs");
    assert_eq!(super::count(3u32, "entry", "entries"), "3 entries");
}

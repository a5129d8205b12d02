//! Early savings abort, the pure part: from the encode's progress and the temp file's size so
//! far, project the final output size and say whether it clearly misses the profile's minimum
//! saving. The engine polls the temp file on every progress event and stops ffmpeg on `Abort`,
//! instead of finding out only after the whole encode (the reference server's mistake).

use crate::model::Explanation;

/// Before this fraction of the input is encoded, the rate is not trusted (the first GOPs,
/// headers and muxer buffering distort it) unless the output is already too big outright.
pub const MIN_FRACTION: f64 = 0.2;
/// The projection must exceed the limit by this factor: "clearly" fails, not "might".
pub const MARGIN: f64 = 1.15;

/// What the projection says.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Verdict {
    Continue,
    Abort {
        projected_bytes: u64,
        limit_bytes: u64,
    },
}

/// `fraction` is 0..=1 of the input done; `written` is the temp file's size now.
pub fn project(fraction: f64, written: u64, source_size: u64, min_saving_percent: u8) -> Verdict {
    if source_size == 0 || min_saving_percent == 0 || !fraction.is_finite() {
        return Verdict::Continue;
    }
    let keep = 100u64.saturating_sub(u64::from(min_saving_percent.min(100)));
    let limit_bytes = source_size * keep / 100;
    if written > limit_bytes {
        return Verdict::Abort {
            projected_bytes: (written as f64 / fraction.clamp(0.01, 1.0)) as u64,
            limit_bytes,
        };
    }
    if fraction < MIN_FRACTION {
        return Verdict::Continue;
    }
    let projected = written as f64 / fraction.min(1.0);
    if projected > limit_bytes as f64 * MARGIN {
        Verdict::Abort {
            projected_bytes: projected as u64,
            limit_bytes,
        }
    } else {
        Verdict::Continue
    }
}

/// The `size_reduction_insufficient` explanation for an abandoned encode.
pub fn explain(
    fraction: f64,
    written: u64,
    source_size: u64,
    projected_bytes: u64,
    limit_bytes: u64,
    min_saving_percent: u8,
) -> Explanation {
    let saving = 100.0 - projected_bytes as f64 * 100.0 / source_size.max(1) as f64;
    Explanation::new(
        "size_reduction_insufficient",
        "The encode would not save enough space; it was stopped early.",
        format!(
            "After {:.0} % of the input the output had {written} bytes, projecting to about \
             {projected_bytes} bytes ({saving:.0} % saving) against a {source_size}-byte source; \
             the profile asks for at least {min_saving_percent} % (at most {limit_bytes} bytes). \
             The original is untouched.",
            fraction * 100.0
        ),
    )
    .with("progress_fraction", (fraction * 1000.0).round() / 1000.0)
    .with("written_bytes", written)
    .with("projected_bytes", projected_bytes)
    .with("limit_bytes", limit_bytes)
    .with("source_bytes", source_size)
    .with("projected_saving_percent", saving.round())
    .with("min_saving_percent", min_saving_percent)
}

#[cfg(test)]
mod tests {
    use super::*;

    const MB: u64 = 1_000_000;

    #[test]
    fn early_progress_is_not_trusted() {
        assert_eq!(
            project(0.1, 9 * MB / 10 * 10 / 100, 10 * MB, 10),
            Verdict::Continue
        );
        // ...unless the output is already bigger than allowed.
        assert!(matches!(
            project(0.05, 9 * MB + 1, 10 * MB, 10),
            Verdict::Abort { limit_bytes, .. } if limit_bytes == 9 * MB
        ));
    }

    #[test]
    fn clear_failures_abort_and_borderline_continues() {
        // 50 % done, 6 MB written of a 10 MB source: projects to 12 MB > 9 MB × 1.15.
        assert_eq!(
            project(0.5, 6 * MB, 10 * MB, 10),
            Verdict::Abort {
                projected_bytes: 12 * MB,
                limit_bytes: 9 * MB
            }
        );
        // Projects to 9.4 MB: over the limit, but within the margin: keep going.
        assert_eq!(project(0.5, 4_700_000, 10 * MB, 10), Verdict::Continue);
        // A good encode: 30 % of the source.
        assert_eq!(project(0.4, 1_200_000, 10 * MB, 10), Verdict::Continue);
    }

    #[test]
    fn degenerate_inputs_never_abort() {
        assert_eq!(project(0.5, 5 * MB, 0, 10), Verdict::Continue);
        assert_eq!(project(0.5, 5 * MB, 10 * MB, 0), Verdict::Continue);
        assert_eq!(project(f64::NAN, 5 * MB, 10 * MB, 10), Verdict::Continue);
        assert_eq!(project(0.0, 0, 10 * MB, 10), Verdict::Continue);
    }

    #[test]
    fn explanation_carries_the_projection() {
        let e = explain(0.5, 5 * MB, 10 * MB, 10 * MB, 9 * MB, 10);
        assert_eq!(e.code, "size_reduction_insufficient");
        assert_eq!(e.measured["projected_bytes"], 10 * MB);
        assert_eq!(e.measured["projected_saving_percent"], 0.0);
    }
}

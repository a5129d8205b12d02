//! The CRF search, pure: given a target score and a `measure(crf) -> (score, bytes)` closure
//! (in the engine: encode the samples at that CRF and score them against their references),
//! find the highest CRF (the smallest output) whose score still reaches the target, with at
//! most `max_runs` measurements. Every metric used here grows with quality and falls as the
//! CRF rises.
//!
//! The shape of the search (learned from how ab-av1's `crf-search` works, written anew): the
//! first measurement is at the encoder's usual CRF. While every point is on one side of the
//! target, the next CRF steps away from it, by the slope of the last two points when there are
//! two (extrapolated, bounded to `MAX_STEP`), else by `FIRST_STEP`. Once one point passes and
//! one fails, the next CRF is interpolated linearly between the closest pair. The search stops
//! when a passing point is within the tolerance above the target, when no integer CRF is left
//! between the closest passing and failing points, at the range's ends, or when the runs are
//! used up. The answer is the highest passing CRF measured; when none passed, the lowest CRF
//! measured, flagged as missing the target.

/// One measurement.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Measured {
    pub crf: u8,
    /// The samples' score (the mean over samples) at this CRF.
    pub score: f64,
    /// Bytes of all encoded samples at this CRF.
    pub bytes: u64,
    /// Wall seconds the sample encodes took (passed through for the time forecast).
    pub seconds: f64,
}

/// What the search is asked.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Search {
    pub target: f64,
    /// A passing score at most this far above the target ends the search.
    pub tolerance: f64,
    pub min_crf: u8,
    pub max_crf: u8,
    /// First CRF tried (the encoder's default is a good guess for most targets).
    pub start_crf: u8,
    /// Most measurements (each is a round of sample encodes).
    pub max_runs: usize,
}

/// The answer.
#[derive(Debug, Clone, PartialEq)]
pub struct Found {
    /// The chosen measurement.
    pub best: Measured,
    /// Whether `best` reaches the target (false: even the lowest CRF tried missed it).
    pub met: bool,
    /// Every measurement, in the order taken.
    pub tried: Vec<Measured>,
}

/// CRF step while all points are on one side and there is no slope yet.
const FIRST_STEP: f64 = 6.0;
/// Largest extrapolated step: a flat slope must not jump across the range.
const MAX_STEP: f64 = 12.0;

/// Run the search; an error from `measure` ends it at once.
pub fn search<E>(
    s: &Search,
    mut measure: impl FnMut(u8) -> Result<Measured, E>,
) -> Result<Found, E> {
    let mut tried: Vec<Measured> = Vec::new();
    let mut next = s.start_crf.clamp(s.min_crf, s.max_crf);
    while tried.len() < s.max_runs.max(1) {
        let m = measure(next)?;
        tried.push(Measured { crf: next, ..m });
        match next_crf(s, &tried) {
            Some(crf) => next = crf,
            None => break,
        }
    }
    Ok(answer(s, tried))
}

/// The highest passing point and the lowest failing point above it.
fn bracket(s: &Search, tried: &[Measured]) -> (Option<Measured>, Option<Measured>) {
    let pass = tried
        .iter()
        .filter(|m| m.score >= s.target)
        .max_by_key(|m| m.crf)
        .copied();
    let fail = tried
        .iter()
        .filter(|m| m.score < s.target && pass.is_none_or(|p| m.crf > p.crf))
        .min_by_key(|m| m.crf)
        .copied();
    (pass, fail)
}

/// Where to measure next, `None` when done.
fn next_crf(s: &Search, tried: &[Measured]) -> Option<u8> {
    let seen = |crf: u8| tried.iter().any(|m| m.crf == crf);
    let (pass, fail) = bracket(s, tried);
    let crf = match (pass, fail) {
        (Some(p), _) if p.score - s.target <= s.tolerance => return None,
        (Some(p), Some(f)) => {
            if f.crf <= p.crf + 1 {
                return None;
            }
            let t = (p.score - s.target) / (p.score - f.score);
            let x = f64::from(p.crf) + t * f64::from(f.crf - p.crf);
            (x.round() as u8).clamp(p.crf + 1, f.crf - 1)
        }
        (Some(p), None) => {
            if p.crf >= s.max_crf {
                return None;
            }
            step(s, tried, p, 1.0)
        }
        (None, Some(f)) => {
            if f.crf <= s.min_crf {
                return None;
            }
            step(s, tried, f, -1.0)
        }
        (None, None) => return None,
    };
    (!seen(crf)).then_some(crf)
}

/// A step from `from` in `direction` (+1: higher CRF), sized by the slope through the last two
/// points when they differ, aiming at the target.
fn step(s: &Search, tried: &[Measured], from: Measured, direction: f64) -> u8 {
    let mut size = FIRST_STEP;
    if let [.., a, b] = tried
        && a.crf != b.crf
        && (a.score - b.score).abs() > f64::EPSILON
    {
        let slope = (b.score - a.score) / (f64::from(b.crf) - f64::from(a.crf));
        let wanted = (s.target - from.score) / slope;
        if wanted.is_finite() && wanted * direction > 0.0 {
            size = (wanted.abs() * 1.2).ceil().clamp(1.0, MAX_STEP);
        }
    }
    let x = f64::from(from.crf) + direction * size;
    (x.round().clamp(f64::from(s.min_crf), f64::from(s.max_crf))) as u8
}

fn answer(s: &Search, tried: Vec<Measured>) -> Found {
    let (pass, _) = bracket(s, &tried);
    let (best, met) = match pass {
        Some(p) => (p, true),
        None => {
            let lowest = tried.iter().min_by_key(|m| m.crf).copied();
            (lowest.expect("at least one measurement is taken"), false)
        }
    };
    Found { best, met, tried }
}

#[cfg(test)]
#[path = "search_tests.rs"]
mod tests;

//! The engine's pure parts: its run-state machine and the concurrency each mode allows.

use crate::model::{EngineMode, EngineRunState};

/// Largest accepted override of the concurrent jobs or the threads per job.
pub const MAX_OVERRIDE: u32 = 256;

/// A request that changes whether the engine starts new work.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EngineCommand {
    Pause,
    Resume,
    Drain,
    /// The last active job of a drain finished.
    DrainFinished,
}

/// Next run state. Every command is accepted from every state (pause twice is still paused);
/// `DrainFinished` only matters while draining. Drain from paused drains too: the suspended
/// jobs continue and finish (the contract's "active jobs finish"), then the engine is paused
/// again; with no active job that is at once.
pub fn transition(state: EngineRunState, command: EngineCommand) -> EngineRunState {
    use EngineCommand as C;
    use EngineRunState as S;
    match (state, command) {
        (_, C::Pause) => S::Paused,
        (_, C::Resume) => S::Running,
        (_, C::Drain) => S::Draining,
        (S::Draining, C::DrainFinished) => S::Paused,
        (s, C::DrainFinished) => s,
    }
}

/// How many jobs run at once.
/// - background: 1
/// - balanced: half the cores, clamped to 1..=4
/// - throughput: one per hardware encoder session plus half the cores (at least 1)
///
/// A non-zero override wins.
pub fn concurrent_limit(mode: EngineMode, cores: u32, hw_sessions: u32, overridden: u32) -> u32 {
    if overridden > 0 {
        return overridden;
    }
    let half = (cores / 2).max(1);
    match mode {
        EngineMode::Background => 1,
        EngineMode::Balanced => half.clamp(1, 4),
        EngineMode::Throughput => hw_sessions + half,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use EngineCommand as C;
    use EngineRunState as S;

    #[test]
    fn run_state_machine() {
        assert_eq!(transition(S::Running, C::Pause), S::Paused);
        assert_eq!(transition(S::Paused, C::Resume), S::Running);
        assert_eq!(transition(S::Running, C::Drain), S::Draining);
        assert_eq!(transition(S::Draining, C::DrainFinished), S::Paused);
        assert_eq!(transition(S::Running, C::DrainFinished), S::Running);
        assert_eq!(transition(S::Paused, C::Drain), S::Draining);
        assert_eq!(transition(S::Paused, C::DrainFinished), S::Paused);
        assert_eq!(transition(S::Draining, C::Resume), S::Running);
    }

    #[test]
    fn limits_per_mode() {
        assert_eq!(concurrent_limit(EngineMode::Background, 16, 2, 0), 1);
        assert_eq!(concurrent_limit(EngineMode::Balanced, 2, 0, 0), 1);
        assert_eq!(concurrent_limit(EngineMode::Balanced, 6, 0, 0), 3);
        assert_eq!(concurrent_limit(EngineMode::Balanced, 32, 0, 0), 4);
        assert_eq!(concurrent_limit(EngineMode::Throughput, 8, 2, 0), 6);
        assert_eq!(concurrent_limit(EngineMode::Throughput, 1, 0, 0), 1);
        assert_eq!(concurrent_limit(EngineMode::Background, 8, 0, 3), 3);
    }
}

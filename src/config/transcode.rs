//! The `[transcode]` table: the encode settings that may change while the server runs (the
//! file is watched), validated into [`TranscodeSettings`], and which keys an edit changed.

use serde::{Deserialize, Serialize};

use super::ConfigError;
use crate::model::{CpuEncoder, OriginalPolicy, VerifyMode};

/// `[transcode]` table: hot-reloadable encode settings.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TranscodeFile {
    pub encoder: Option<String>,
    pub crf: Option<u8>,
    pub preset: Option<String>,
    /// `keep` (default), `replace` or `delete`.
    pub original: Option<String>,
    /// Days a replaced original stays in `.alchemist-trash/` (default 30).
    pub trash_days: Option<u32>,
    /// How much of each output is decoded before promotion: `sample` (default), `full`, `off`.
    pub verify: Option<String>,
    /// Length of the pieces a long encode is made in, so it resumes after a crash (default
    /// 300; 0 = never segment).
    pub segment_seconds: Option<u32>,
    /// Sources shorter than this are encoded in one piece (default 900).
    pub segment_min_seconds: Option<u32>,
}

/// Encode settings that may change while running (config file edits).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TranscodeSettings {
    pub encoder: CpuEncoder,
    pub crf: Option<u8>,
    pub preset: Option<String>,
    pub original: OriginalPolicy,
    pub trash_days: u32,
    pub verify: VerifyMode,
    /// Segment length of long encodes in seconds; 0 = one piece always (`media::segments`).
    pub segment_seconds: u32,
    /// The shortest source that is segmented, in seconds.
    pub segment_min_seconds: u32,
}

/// How long replaced originals are kept when the config does not say.
pub const DEFAULT_TRASH_DAYS: u32 = 30;

/// Segment length when the config does not say: a crash costs at most five minutes of encoding,
/// and a two-hour film is 24 ffmpeg starts, each a second or two of overhead.
pub const DEFAULT_SEGMENT_SECONDS: u32 = 300;
/// Sources shorter than this are not segmented when the config does not say: redoing a quarter
/// of an hour after a crash is cheap, and one piece needs no join.
pub const DEFAULT_SEGMENT_MIN_SECONDS: u32 = 900;

/// Validate the `[transcode]` table.
pub fn transcode_settings(t: &TranscodeFile) -> Result<TranscodeSettings, ConfigError> {
    let encoder = match &t.encoder {
        Some(name) => name.parse().map_err(|message| ConfigError::Invalid {
            key: "transcode.encoder",
            message,
        })?,
        None => CpuEncoder::Libx265,
    };
    if let Some(crf) = t.crf
        && crf > 63
    {
        return Err(ConfigError::Invalid {
            key: "transcode.crf",
            message: "must be between 0 and 63".into(),
        });
    }
    if let Some(preset) = &t.preset
        && (preset.is_empty() || !preset.chars().all(|c| c.is_ascii_alphanumeric()))
    {
        return Err(ConfigError::Invalid {
            key: "transcode.preset",
            message: "must be a plain word or number such as `medium` or `8`".into(),
        });
    }
    let original = match &t.original {
        Some(p) => p.parse().map_err(|message| ConfigError::Invalid {
            key: "transcode.original",
            message,
        })?,
        None => OriginalPolicy::Keep,
    };
    let verify = match &t.verify {
        Some(v) => v.parse().map_err(|message| ConfigError::Invalid {
            key: "transcode.verify",
            message,
        })?,
        None => VerifyMode::Sample,
    };
    Ok(TranscodeSettings {
        verify,
        encoder,
        crf: t.crf,
        preset: t.preset.clone(),
        original,
        trash_days: t.trash_days.unwrap_or(DEFAULT_TRASH_DAYS),
        segment_seconds: t.segment_seconds.unwrap_or(DEFAULT_SEGMENT_SECONDS),
        segment_min_seconds: t.segment_min_seconds.unwrap_or(DEFAULT_SEGMENT_MIN_SECONDS),
    })
}

/// Names of the hot-reloadable keys that differ between two settings.
pub fn changed_keys(old: &TranscodeSettings, new: &TranscodeSettings) -> Vec<String> {
    let mut keys = Vec::new();
    if old.encoder != new.encoder {
        keys.push("transcode.encoder".to_string());
    }
    if old.crf != new.crf {
        keys.push("transcode.crf".to_string());
    }
    if old.preset != new.preset {
        keys.push("transcode.preset".to_string());
    }
    if old.original != new.original {
        keys.push("transcode.original".to_string());
    }
    if old.trash_days != new.trash_days {
        keys.push("transcode.trash_days".to_string());
    }
    if old.verify != new.verify {
        keys.push("transcode.verify".to_string());
    }
    if old.segment_seconds != new.segment_seconds {
        keys.push("transcode.segment_seconds".to_string());
    }
    if old.segment_min_seconds != new.segment_min_seconds {
        keys.push("transcode.segment_min_seconds".to_string());
    }
    keys
}

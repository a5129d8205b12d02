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
}

/// How long replaced originals are kept when the config does not say.
pub const DEFAULT_TRASH_DAYS: u32 = 30;

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
    keys
}

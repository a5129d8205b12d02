//! A profile's stream rules: which audio and subtitle tracks an output keeps and how audio is
//! coded. Every field defaults to keeping today's behaviour (all tracks kept, lossless audio
//! re-encoded as before), so profiles stored before the rules existed read unchanged. Plain
//! data and validation; `media::streams::rules` applies them.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// At most this many codes in a language list: more is surely a paste error.
pub const MAX_LANGUAGES: usize = 32;

/// What happens to picture subtitles (PGS, VobSub, DVB), which MP4 cannot hold.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ImageSubtitles {
    /// Keep them; the output is Matroska even when the profile asks for MP4.
    #[default]
    Keep,
    /// Leave them out.
    Drop,
    /// Keep only forced ones (signs, foreign dialogue), choosing Matroska for them.
    ForcedOnly,
}

/// How audio tracks are coded.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum AudioCodecPolicy {
    /// Lossless and very large tracks become Opus (Matroska) or AAC (MP4); the rest is copied.
    #[default]
    Auto,
    /// Copy every track the container can hold; only what it cannot is re-encoded.
    Copy,
    /// Lossless and very large tracks become Opus.
    Opus,
    /// Lossless and very large tracks become AAC.
    Aac,
    /// Lossless and very large tracks become E-AC-3 (up to 5.1).
    Eac3,
}

/// The stream rules of a profile (flattened into its JSON).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(default)]
pub struct StreamRules {
    /// ISO 639-2 codes of the audio languages to keep; empty keeps every track. Tracks in the
    /// title's original language and undetermined ones are always kept.
    pub audio_languages: Vec<String>,
    /// ISO 639-2 codes of the subtitle languages to keep; empty keeps every track. Forced and
    /// undetermined subtitles are always kept.
    pub subtitle_languages: Vec<String>,
    /// Leave out commentary and audio-description tracks (by disposition and by title).
    pub drop_commentary: bool,
    pub image_subtitles: ImageSubtitles,
    /// Add a stereo downmix of the first kept track when it has more than two channels.
    pub add_stereo: bool,
    pub audio_codec: AudioCodecPolicy,
}

/// A stream rule the profile cannot have; names the field.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum InvalidStreamRules {
    #[error(
        "{field}: `{code}` is not an ISO 639-2 language code (three lower-case letters, e.g. `eng`)"
    )]
    Language { field: &'static str, code: String },
    #[error("{field}: at most {MAX_LANGUAGES} languages")]
    TooManyLanguages { field: &'static str },
}

impl InvalidStreamRules {
    /// The profile field at fault.
    pub fn field(&self) -> &'static str {
        match self {
            InvalidStreamRules::Language { field, .. }
            | InvalidStreamRules::TooManyLanguages { field } => field,
        }
    }
}

impl StreamRules {
    pub fn validate(&self) -> Result<(), InvalidStreamRules> {
        for (field, list) in [
            ("audio_languages", &self.audio_languages),
            ("subtitle_languages", &self.subtitle_languages),
        ] {
            if list.len() > MAX_LANGUAGES {
                return Err(InvalidStreamRules::TooManyLanguages { field });
            }
            if let Some(code) = list
                .iter()
                .find(|c| c.len() != 3 || !c.bytes().all(|b| b.is_ascii_lowercase()))
            {
                return Err(InvalidStreamRules::Language {
                    field,
                    code: code.clone(),
                });
            }
        }
        Ok(())
    }
}

/// ISO 639-2 has two codes for twenty languages, bibliographic (Matroska files mostly carry
/// these) and terminological: `fre`/`fra`, `ger`/`deu`, …
const B_T_PAIRS: [(&str, &str); 20] = [
    ("alb", "sqi"),
    ("arm", "hye"),
    ("baq", "eus"),
    ("bur", "mya"),
    ("chi", "zho"),
    ("cze", "ces"),
    ("dut", "nld"),
    ("fre", "fra"),
    ("geo", "kat"),
    ("ger", "deu"),
    ("gre", "ell"),
    ("ice", "isl"),
    ("mac", "mkd"),
    ("mao", "mri"),
    ("may", "msa"),
    ("per", "fas"),
    ("rum", "ron"),
    ("slo", "slk"),
    ("tib", "bod"),
    ("wel", "cym"),
];

/// The terminological form of an ISO 639-2 code, lower-cased (`fre` → `fra`).
pub fn canonical_language(code: &str) -> String {
    let code = code.trim().to_ascii_lowercase();
    B_T_PAIRS
        .iter()
        .find(|(b, _)| *b == code)
        .map_or(code, |(_, t)| (*t).to_string())
}

/// Whether `code` (as a file carries it) is one of `wanted` (as a profile lists them).
pub fn language_listed(wanted: &[String], code: &str) -> bool {
    let code = canonical_language(code);
    wanted.iter().any(|w| canonical_language(w) == code)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn languages_are_validated_and_matched_across_b_and_t_codes() {
        let mut r = StreamRules {
            audio_languages: vec!["eng".into(), "fra".into()],
            ..Default::default()
        };
        assert!(r.validate().is_ok());
        for bad in ["en", "ENG", "english", "e1g", ""] {
            r.subtitle_languages = vec![bad.into()];
            let e = r.validate().unwrap_err();
            assert_eq!(e.field(), "subtitle_languages", "{bad}");
        }
        r.subtitle_languages = vec!["eng".into(); MAX_LANGUAGES + 1];
        assert!(r.validate().is_err());
        assert!(language_listed(&r.audio_languages, "fre"));
        assert!(language_listed(&r.audio_languages, "ENG"));
        assert!(!language_listed(&r.audio_languages, "ger"));
    }

    #[test]
    fn stored_profiles_without_rules_read_as_keep_everything() {
        let r: StreamRules = serde_json::from_str("{}").unwrap();
        assert_eq!(r, StreamRules::default());
        assert!(!r.drop_commentary && r.audio_languages.is_empty());
    }
}

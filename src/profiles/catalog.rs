//! The rules of the profile catalogue: which names exist without being stored (`default`, the
//! configuration's `[transcode]` section, and the built-in presets), which names a custom
//! profile may take, what a valid [`Profile`] is, and how an edit ([`ProfileFields`]) turns a
//! base profile into a new one. Plain data; the engine stores and resolves profiles.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::profile::{ContainerChoice, EncodeSettings, InvalidSettings, OriginalPolicy, Profile};
use super::streams::{AudioCodecPolicy, ImageSubtitles, InvalidStreamRules};
use crate::model::CpuEncoder;

/// The name of the profile the configuration describes; folders without a profile use it.
pub const DEFAULT_PROFILE: &str = "default";
/// Longest custom profile name (it appears in select boxes and job logs).
pub const MAX_NAME_LEN: usize = 64;
/// A larger minimum saving would abandon nearly every encode, which is surely a typo.
pub const MAX_MIN_SAVING_PERCENT: u8 = 90;
/// Beyond ten times the bits-per-pixel threshold every file is skipped.
pub const MAX_BPP_FACTOR: f64 = 10.0;

/// Where a profile comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ProfileSource {
    /// `default`: the configuration's `[transcode]` section (edit the config to change it).
    Config,
    /// A preset shipped with the program.
    Builtin,
    /// Made by the owner; the only kind that can be changed or deleted.
    Custom,
}

impl ProfileSource {
    /// The source of a name that is not stored, `None` for a custom name.
    pub fn of_reserved(name: &str) -> Option<ProfileSource> {
        if name == DEFAULT_PROFILE {
            Some(ProfileSource::Config)
        } else if Profile::PRESETS.contains(&name) {
            Some(ProfileSource::Builtin)
        } else {
            None
        }
    }
}

/// Why a profile or a profile name is refused.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum InvalidProfile {
    #[error(
        "profile name `{0}` is not valid: use 1 to 64 lower-case letters, digits, `_` or `-`, \
         starting with a letter or digit"
    )]
    Name(String),
    #[error(transparent)]
    Settings(#[from] InvalidSettings),
    #[error("min_saving_percent {0} is out of range (0 to 90)")]
    MinSaving(u8),
    #[error("bpp_factor {0} is out of range (a number from 0 to 10)")]
    BppFactor(f64),
    #[error(transparent)]
    Streams(#[from] InvalidStreamRules),
    #[error(transparent)]
    Quality(#[from] super::quality::InvalidTarget),
    #[error(transparent)]
    Output(#[from] super::output::InvalidOutput),
}

impl InvalidProfile {
    /// The profile field at fault, for the problem document's `field` member.
    pub fn field(&self) -> &'static str {
        match self {
            InvalidProfile::Name(_) => "name",
            InvalidProfile::Settings(InvalidSettings::Crf { .. }) => "crf",
            InvalidProfile::Settings(InvalidSettings::Preset { .. }) => "preset",
            InvalidProfile::MinSaving(_) => "min_saving_percent",
            InvalidProfile::BppFactor(_) => "bpp_factor",
            InvalidProfile::Streams(e) => e.field(),
            InvalidProfile::Quality(_) => "quality_target",
            InvalidProfile::Output(e) => e.field(),
        }
    }
}

/// A custom name: `^[a-z0-9][a-z0-9_-]{0,63}$`. Reserved names pass here; callers check them.
pub fn check_name(name: &str) -> Result<(), InvalidProfile> {
    let mut chars = name.chars();
    let first_ok = chars
        .next()
        .is_some_and(|c| c.is_ascii_lowercase() || c.is_ascii_digit());
    let rest_ok =
        chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_' || c == '-');
    if first_ok && rest_ok && name.len() <= MAX_NAME_LEN {
        Ok(())
    } else {
        Err(InvalidProfile::Name(name.to_string()))
    }
}

impl Profile {
    /// Check what ffmpeg would refuse (CRF, preset) and thresholds that make no sense.
    pub fn validate(&self) -> Result<(), InvalidProfile> {
        EncodeSettings {
            encoder: self.encoder,
            crf: self.crf,
            preset: self.preset.clone(),
            threads: self.threads,
        }
        .validate()?;
        if self.min_saving_percent > MAX_MIN_SAVING_PERCENT {
            return Err(InvalidProfile::MinSaving(self.min_saving_percent));
        }
        if !(self.bpp_factor.is_finite() && (0.0..=MAX_BPP_FACTOR).contains(&self.bpp_factor)) {
            return Err(InvalidProfile::BppFactor(self.bpp_factor));
        }
        self.streams.validate()?;
        if let Some(target) = &self.quality_target {
            target.validate()?;
        }
        self.output.validate(self.original)?;
        Ok(())
    }
}

/// Fields of a profile as a request gives them; each one given replaces the base's value.
/// `null` counts as not given.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ProfileFields {
    pub encoder: Option<CpuEncoder>,
    /// Constant rate factor (x264/x265: 0–51, SVT-AV1: 0–63).
    pub crf: Option<u8>,
    /// x264/x265 preset name, or an SVT-AV1 preset number 0–13.
    pub preset: Option<String>,
    /// ffmpeg `-threads`; 0 lets ffmpeg decide.
    pub threads: Option<u32>,
    pub container: Option<ContainerChoice>,
    pub ten_bit: Option<bool>,
    /// 0 to 10; 0 turns the bits-per-pixel rule off.
    pub bpp_factor: Option<f64>,
    /// Bytes; smaller files are skipped.
    pub min_file_size: Option<u64>,
    /// 0 to 90.
    pub min_saving_percent: Option<u8>,
    pub original: Option<OriginalPolicy>,
    /// ISO 639-2 codes (e.g. `["eng", "jpn"]`); empty keeps every audio track.
    pub audio_languages: Option<Vec<String>>,
    /// ISO 639-2 codes; empty keeps every subtitle track (forced ones are always kept).
    pub subtitle_languages: Option<Vec<String>>,
    /// Leave out commentary and audio-description tracks.
    pub drop_commentary: Option<bool>,
    pub image_subtitles: Option<ImageSubtitles>,
    /// Add a stereo downmix of the first kept multichannel audio track.
    pub add_stereo: Option<bool>,
    pub audio_codec: Option<AudioCodecPolicy>,
    /// A score to reach instead of `crf` (the CRF is searched on samples). Unlike the other
    /// fields, an explicit `null` clears it (back to `crf`); leaving it out keeps the base's.
    #[serde(default, deserialize_with = "explicit_null")]
    #[schema(value_type = Option<super::quality::QualityTarget>)]
    pub quality_target: Option<Option<super::quality::QualityTarget>>,
    /// `preserve` keeps HDR; `sdr` tonemaps HDR sources to SDR (BT.709).
    pub hdr: Option<super::output::HdrMode>,
    /// Absolute folder outside every library folder that receives the outputs, mirroring the
    /// library folder's layout. An explicit `null` puts outputs beside the originals again;
    /// leaving it out keeps the base's.
    #[serde(default, deserialize_with = "explicit_null")]
    #[schema(value_type = Option<String>)]
    pub output_root: Option<Option<std::path::PathBuf>>,
    /// Marks outputs: `<stem>.<suffix>.<ext>` (default `alchemist`); empty only with an
    /// `output_root`.
    pub output_suffix: Option<String>,
}

/// `Some(None)` for an explicit `null`, `None` (by `default`) when the field is left out.
fn explicit_null<'de, D, T>(d: D) -> Result<Option<Option<T>>, D::Error>
where
    D: serde::Deserializer<'de>,
    T: Deserialize<'de>,
{
    Option::<T>::deserialize(d).map(Some)
}

impl ProfileFields {
    /// `base` with the given fields replaced. A new encoder without its own CRF or preset drops
    /// the base's: those values mean something else (or nothing) to another encoder.
    pub fn apply(&self, base: Profile) -> Profile {
        let mut p = base;
        if let Some(encoder) = self.encoder
            && encoder != p.encoder
        {
            p.encoder = encoder;
            p.crf = None;
            p.preset = None;
        }
        if let Some(crf) = self.crf {
            p.crf = Some(crf);
        }
        if let Some(preset) = &self.preset {
            p.preset = Some(preset.clone());
        }
        macro_rules! set {
            ($($field:ident),*) => {$(
                if let Some(v) = self.$field { p.$field = v; }
            )*};
        }
        set!(
            threads,
            container,
            ten_bit,
            bpp_factor,
            min_file_size,
            min_saving_percent,
            original
        );
        let r = &mut p.streams;
        if let Some(v) = &self.audio_languages {
            r.audio_languages = v.clone();
        }
        if let Some(v) = &self.subtitle_languages {
            r.subtitle_languages = v.clone();
        }
        macro_rules! set_rule {
            ($($field:ident),*) => {$(
                if let Some(v) = self.$field { r.$field = v; }
            )*};
        }
        set_rule!(drop_commentary, image_subtitles, add_stereo, audio_codec);
        if let Some(target) = self.quality_target {
            p.quality_target = target;
        }
        if let Some(hdr) = self.hdr {
            p.hdr = hdr;
        }
        if let Some(root) = &self.output_root {
            p.output.output_root = root.clone();
        }
        if let Some(suffix) = &self.output_suffix {
            p.output.output_suffix = suffix.clone();
        }
        p
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names() {
        for ok in ["a", "0", "movies_4k", "kids-tv", &"x".repeat(64)] {
            assert!(check_name(ok).is_ok(), "{ok}");
        }
        for bad in ["", "-a", "_a", "A", "a b", "é", "a/b", &"x".repeat(65)] {
            assert!(check_name(bad).is_err(), "{bad}");
        }
        assert_eq!(
            ProfileSource::of_reserved("default"),
            Some(ProfileSource::Config)
        );
        assert_eq!(
            ProfileSource::of_reserved("balanced"),
            Some(ProfileSource::Builtin)
        );
        assert_eq!(ProfileSource::of_reserved("mine"), None);
    }

    #[test]
    fn validation_covers_settings_and_thresholds() {
        let good = Profile::preset("balanced").unwrap();
        assert!(good.validate().is_ok());
        for (bad, what) in [
            (
                Profile {
                    crf: Some(52),
                    ..good.clone()
                },
                "crf",
            ),
            (
                Profile {
                    preset: Some("warp".into()),
                    ..good.clone()
                },
                "preset",
            ),
            (
                Profile {
                    min_saving_percent: 91,
                    ..good.clone()
                },
                "min saving",
            ),
            (
                Profile {
                    bpp_factor: f64::NAN,
                    ..good.clone()
                },
                "nan",
            ),
            (
                Profile {
                    bpp_factor: 10.5,
                    ..good.clone()
                },
                "bpp",
            ),
        ] {
            assert!(bad.validate().is_err(), "{what}");
        }
    }

    #[test]
    fn edits_replace_given_fields_and_reset_encoder_specific_ones() {
        let base = Profile {
            crf: Some(20),
            preset: Some("slow".into()),
            ..Profile::preset("balanced").unwrap()
        };
        let same = ProfileFields::default().apply(base.clone());
        assert_eq!(same, base);
        let edited = ProfileFields {
            min_saving_percent: Some(30),
            original: Some(OriginalPolicy::Replace),
            crf: Some(24),
            ..Default::default()
        }
        .apply(base.clone());
        assert_eq!(
            (edited.min_saving_percent, edited.original, edited.crf),
            (30, OriginalPolicy::Replace, Some(24))
        );
        assert_eq!(edited.preset.as_deref(), Some("slow"));
        let av1 = ProfileFields {
            encoder: Some(CpuEncoder::Libsvtav1),
            ..Default::default()
        }
        .apply(base);
        assert_eq!((av1.crf, av1.preset.as_deref()), (None, None));
        assert!(av1.validate().is_ok());
    }

    #[test]
    fn hdr_and_output_location_are_edited_and_an_explicit_null_root_clears() {
        let base = Profile::preset("balanced").unwrap();
        let moved: ProfileFields = serde_json::from_value(serde_json::json!({
            "hdr": "sdr", "output_root": "/out", "output_suffix": "hevc"
        }))
        .unwrap();
        let p = moved.apply(base.clone());
        assert_eq!(p.hdr, crate::profiles::HdrMode::Sdr);
        assert_eq!(
            p.output.output_root.as_deref(),
            Some(std::path::Path::new("/out"))
        );
        assert_eq!(p.output.output_suffix, "hevc");
        assert!(p.validate().is_ok());
        let kept: ProfileFields = serde_json::from_value(serde_json::json!({})).unwrap();
        assert_eq!(kept.apply(p.clone()).output, p.output);
        let back: ProfileFields =
            serde_json::from_value(serde_json::json!({"output_root": null})).unwrap();
        assert_eq!(back.apply(p).output.output_root, None);
        // A stored profile from before the fields existed reads with the defaults.
        let mut old = serde_json::to_value(&base).unwrap();
        for f in ["hdr", "output_root", "output_suffix"] {
            old.as_object_mut().unwrap().remove(f);
        }
        let read: Profile = serde_json::from_value(old).unwrap();
        assert_eq!(read, base);
        assert_eq!(read.output.output_suffix, "alchemist");
    }
}

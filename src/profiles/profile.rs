//! What the owner asked for: a [`Profile`] (target encoder, quality, container, thresholds and
//! what happens to the original) and the encoder [`Capabilities`] the planner may rely on.
//! `EncodeSettings` is the configuration's `[transcode]` section, which becomes the default
//! profile. Plain data and validation; no I/O.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::streams::StreamRules;
use crate::model::CpuEncoder;

/// Encoder settings from the configuration.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct EncodeSettings {
    pub encoder: CpuEncoder,
    /// Constant rate factor; `None` uses [`default_crf`] for the encoder.
    pub crf: Option<u8>,
    /// Encoder preset; `None` uses [`default_preset`] for the encoder.
    pub preset: Option<String>,
    /// Encoder threads; 0 lets ffmpeg decide.
    pub threads: u32,
}

/// Settings that ffmpeg would reject; found by [`EncodeSettings::validate`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum InvalidSettings {
    #[error("CRF {crf} is out of range for {encoder} (0 to {max})")]
    Crf {
        encoder: &'static str,
        crf: u8,
        max: u8,
    },
    #[error("preset `{preset}` is not valid for {encoder} ({allowed})")]
    Preset {
        encoder: &'static str,
        preset: String,
        allowed: &'static str,
    },
}

/// x264/x265 preset names, fastest first.
const X26X_PRESETS: [&str; 10] = [
    "ultrafast",
    "superfast",
    "veryfast",
    "faster",
    "fast",
    "medium",
    "slow",
    "slower",
    "veryslow",
    "placebo",
];
/// SVT-AV1 presets are numbers; 13 is the fastest ffmpeg 5.1 accepts.
const SVTAV1_MAX_PRESET: u8 = 13;

/// The CRF each encoder uses when none is configured (the encoders' own defaults).
pub fn default_crf(encoder: CpuEncoder) -> u8 {
    match encoder {
        CpuEncoder::Libx265 => 28,
        CpuEncoder::Libsvtav1 => 35,
        CpuEncoder::Libx264 => 23,
    }
}

/// The preset used when none is configured. SVT-AV1 8 is a balanced speed for small NAS CPUs.
pub fn default_preset(encoder: CpuEncoder) -> &'static str {
    match encoder {
        CpuEncoder::Libx265 | CpuEncoder::Libx264 => "medium",
        CpuEncoder::Libsvtav1 => "8",
    }
}

fn max_crf(encoder: CpuEncoder) -> u8 {
    match encoder {
        CpuEncoder::Libx265 | CpuEncoder::Libx264 => 51,
        CpuEncoder::Libsvtav1 => 63,
    }
}

impl EncodeSettings {
    /// Check CRF and preset against what the encoder accepts. Call this when loading config;
    /// [`decide`] trusts its input.
    pub fn validate(&self) -> Result<(), InvalidSettings> {
        let encoder = self.encoder;
        if let Some(crf) = self.crf.filter(|c| *c > max_crf(encoder)) {
            return Err(InvalidSettings::Crf {
                encoder: encoder.as_str(),
                crf,
                max: max_crf(encoder),
            });
        }
        if let Some(preset) = &self.preset {
            let ok = match encoder {
                CpuEncoder::Libx265 | CpuEncoder::Libx264 => {
                    X26X_PRESETS.contains(&preset.as_str())
                }
                CpuEncoder::Libsvtav1 => preset.parse::<u8>().is_ok_and(|p| p <= SVTAV1_MAX_PRESET),
            };
            if !ok {
                return Err(InvalidSettings::Preset {
                    encoder: encoder.as_str(),
                    preset: preset.clone(),
                    allowed: match encoder {
                        CpuEncoder::Libsvtav1 => "a number from 0 to 13",
                        _ => "ultrafast … placebo",
                    },
                });
            }
        }
        Ok(())
    }
}

/// Which container the output should use.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ContainerChoice {
    /// MP4 when the source is MP4 and everything in it fits MP4; otherwise Matroska.
    #[default]
    Auto,
    Mkv,
    /// MP4, unless image subtitles force Matroska (said in the explanation).
    Mp4,
}

pub use crate::model::OriginalPolicy;

/// Default smallest saving worth keeping an encode for, in percent of the source size.
pub const DEFAULT_MIN_SAVING_PERCENT: u8 = 10;

/// Everything the planner needs to know about what the owner wants for one library folder.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Profile {
    pub encoder: CpuEncoder,
    /// `None` uses [`default_crf`].
    pub crf: Option<u8>,
    /// `None` uses [`default_preset`].
    pub preset: Option<String>,
    /// ffmpeg `-threads`; 0 lets ffmpeg decide.
    pub threads: u32,
    pub container: ContainerChoice,
    /// Encode 8-bit sources at 10 bits too (better compression; every HDR or 10-bit source is
    /// encoded at 10 bits regardless).
    pub ten_bit: bool,
    /// Multiplies the bits-per-pixel threshold (see `reasons::bpp_threshold`); 0 turns the
    /// rule off, 2 skips more files.
    pub bpp_factor: f64,
    /// Files smaller than this are skipped; 0 turns the rule off.
    pub min_file_size: u64,
    /// An encode whose projected saving is below this is abandoned.
    pub min_saving_percent: u8,
    pub original: OriginalPolicy,
    /// Which audio and subtitle tracks are kept and how audio is coded; absent in profiles
    /// stored before the rules existed, which keep every track.
    #[serde(flatten, default)]
    pub streams: StreamRules,
    /// Search the CRF that reaches this score on samples before the encode (`None`: `crf`).
    #[serde(default)]
    pub quality_target: Option<super::quality::QualityTarget>,
    /// HDR sources: keep HDR (default) or tonemap to SDR.
    #[serde(default)]
    pub hdr: super::output::HdrMode,
    /// Where outputs go and the suffix that marks them; absent in profiles stored before,
    /// which write `<stem>.alchemist.<ext>` beside the original.
    #[serde(flatten, default)]
    pub output: super::output::OutputLocation,
}

impl Profile {
    /// The profile a configuration's `[transcode]` section describes. The minimum file size
    /// stays off here so that the configuration alone never hides short clips.
    pub fn from_settings(settings: &EncodeSettings) -> Profile {
        Profile {
            encoder: settings.encoder,
            crf: settings.crf,
            preset: settings.preset.clone(),
            threads: settings.threads,
            container: ContainerChoice::Auto,
            ten_bit: false,
            bpp_factor: 1.0,
            min_file_size: 0,
            min_saving_percent: DEFAULT_MIN_SAVING_PERCENT,
            original: OriginalPolicy::Keep,
            streams: StreamRules::default(),
            quality_target: None,
            hdr: super::output::HdrMode::Preserve,
            output: super::output::OutputLocation::default(),
        }
    }

    /// The `default` profile: the configuration's `[transcode]` section with its policy for
    /// originals.
    pub fn from_config(settings: &EncodeSettings, original: OriginalPolicy) -> Profile {
        Profile {
            original,
            ..Profile::from_settings(settings)
        }
    }

    /// Built-in presets by name: `balanced` (HEVC, keep), `space_saver` (AV1 10-bit,
    /// replace), `compatible` (H.264 in MP4, keep).
    pub fn preset(name: &str) -> Option<Profile> {
        let base = |encoder| Profile {
            min_file_size: 50 * 1024 * 1024,
            ..Profile::from_settings(&EncodeSettings {
                encoder,
                crf: None,
                preset: None,
                threads: 0,
            })
        };
        match name {
            "balanced" => Some(base(CpuEncoder::Libx265)),
            "space_saver" => Some(Profile {
                ten_bit: true,
                original: OriginalPolicy::Replace,
                min_saving_percent: 20,
                ..base(CpuEncoder::Libsvtav1)
            }),
            "compatible" => Some(Profile {
                container: ContainerChoice::Mp4,
                ..base(CpuEncoder::Libx264)
            }),
            _ => None,
        }
    }

    pub const PRESETS: [&'static str; 3] = ["balanced", "space_saver", "compatible"];
}

/// What the encoders can do, as far as the planner cares.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Capabilities {
    /// Encoders ffmpeg offers.
    pub encoders: Vec<CpuEncoder>,
    /// Encoders that accept 10-bit input (`yuv420p10le`).
    pub ten_bit: Vec<CpuEncoder>,
    /// The tonemapping filters of the ffmpeg build, best first (`None`: it has none).
    pub tonemap: Option<Tonemapper>,
}

/// Filters that can tonemap HDR to SDR, as detected in `ffmpeg -filters`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Tonemapper {
    /// `zscale` (zimg) to linear light, `tonemap` (Hable), `zscale` to BT.709: runs on any CPU.
    Zscale,
    /// `libplacebo`: needs a Vulkan device (a software one will do, slowly).
    Libplacebo,
}

impl Tonemapper {
    pub fn as_str(self) -> &'static str {
        match self {
            Tonemapper::Zscale => "zscale",
            Tonemapper::Libplacebo => "libplacebo",
        }
    }

    /// The best tonemapper among the names `ffmpeg -filters` lists: zscale and tonemap
    /// together (both are needed), else libplacebo.
    pub fn pick<'a>(filters: impl IntoIterator<Item = &'a str> + Clone) -> Option<Tonemapper> {
        let has = |name: &str| filters.clone().into_iter().any(|f| f == name);
        if has("zscale") && has("tonemap") {
            Some(Tonemapper::Zscale)
        } else if has("libplacebo") {
            Some(Tonemapper::Libplacebo)
        } else {
            None
        }
    }
}

impl Capabilities {
    /// Debian's ffmpeg 5.1: all three CPU encoders, all built with 10-bit support, and zscale
    /// with tonemap.
    pub fn all_cpu() -> Capabilities {
        Capabilities {
            encoders: CpuEncoder::ALL.to_vec(),
            ten_bit: CpuEncoder::ALL.to_vec(),
            tonemap: Some(Tonemapper::Zscale),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use CpuEncoder::{Libsvtav1 as Av1, Libx265 as Hevc};

    #[test]
    fn presets_exist_and_differ() {
        for name in Profile::PRESETS {
            assert!(Profile::preset(name).is_some(), "{name}");
        }
        assert_eq!(
            Profile::preset("space_saver").unwrap().original,
            OriginalPolicy::Replace
        );
        assert!(Profile::preset("nope").is_none());
    }

    #[test]
    fn tonemapper_from_the_filter_list() {
        assert_eq!(
            Tonemapper::pick(["scale", "zscale", "tonemap", "libplacebo"]),
            Some(Tonemapper::Zscale)
        );
        // zscale alone cannot tonemap.
        assert_eq!(
            Tonemapper::pick(["zscale", "libplacebo"]),
            Some(Tonemapper::Libplacebo)
        );
        assert_eq!(Tonemapper::pick(["zscale", "scale"]), None);
        assert_eq!(Tonemapper::pick(Vec::<&str>::new()), None);
    }

    #[test]
    fn settings_validation() {
        let mut s = EncodeSettings {
            encoder: Hevc,
            crf: Some(52),
            preset: None,
            threads: 0,
        };
        assert!(matches!(s.validate(), Err(InvalidSettings::Crf { .. })));
        s.crf = Some(28);
        assert!(s.validate().is_ok());
        s.preset = Some("fastest".into());
        assert!(matches!(s.validate(), Err(InvalidSettings::Preset { .. })));
        s.encoder = Av1;
        s.preset = Some("13".into());
        assert!(s.validate().is_ok());
        s.preset = Some("14".into());
        assert!(s.validate().is_err());
    }
}

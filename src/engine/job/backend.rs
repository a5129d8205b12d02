//! Which hardware encodes a job: pure. Detection (`hw`) proves encoders with test encodes; a
//! job whose target codec (and bit depth) has a verified VAAPI or V4L2 M2M encoder that has not
//! been demoted (`engine::hardware`) is encoded on the first such one (VAAPI first, see
//! `hw::hardware_encoders`), with the arguments built for that backend (`media::args`) from
//! what the probe recorded: the rate control and low-power mode the test encode used and the
//! libva driver (VAAPI); the frame-size range, the raw formats and the row stride the driver
//! pads to (V4L2). A V4L2 encode must write MP4 ([`mp4_plan`] plans it so when nothing is
//! lost). Running it, and the CPU fallback, is the `encode` stage.

use std::ffi::OsString;
use std::path::Path;

use crate::engine::hardware::EncoderKey;
use crate::hw::{self, Capabilities, Demotion, FrameSizes, HwEncoder, V4l2Device, V4l2Encoder};
use crate::media::args::{
    V4l2Geometry, V4l2Options, VaapiOptions, build_v4l2_args, build_vaapi_args,
};
use crate::media::plan::{ContainerChoice, Decision, OutputContainer, Plan, Profile};
use crate::media::{MediaInfo, VideoStream, plan};
use crate::model::Backend;
use crate::profiles;

/// Subtitle formats MP4 would turn into plain timed text, losing their styling.
const STYLED_SUBTITLES: [&str; 2] = ["ass", "ssa"];

/// A hardware encode a job can run, chosen before its temp file exists.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct HwTarget {
    pub backend: Backend,
    /// ffmpeg encoder name, e.g. `hevc_vaapi`.
    pub encoder: String,
    /// Device node, e.g. `/dev/dri/renderD128`.
    pub device: String,
    options: HwOptions,
}

#[derive(Debug, Clone, PartialEq)]
enum HwOptions {
    Vaapi(VaapiOptions),
    V4l2(V4l2Options),
}

impl HwTarget {
    /// What the demotion count is kept for.
    pub fn key(&self) -> EncoderKey {
        EncoderKey {
            backend: self.backend,
            device: self.device.clone(),
            encoder: self.encoder.clone(),
        }
    }

    /// ffmpeg's V4L2 encoders write no extradata, which Matroska needs (`media::args::v4l2`).
    pub fn needs_mp4(&self) -> bool {
        matches!(self.options, HwOptions::V4l2(_))
    }

    /// The ffmpeg arguments for `plan`, reading `input` and writing `temp`.
    pub fn argv(&self, plan: &Plan, input: &Path, temp: &Path) -> Result<Vec<OsString>, String> {
        match &self.options {
            HwOptions::Vaapi(o) => {
                build_vaapi_args(plan, input, temp, o).map_err(|e| e.to_string())
            }
            HwOptions::V4l2(o) => build_v4l2_args(plan, input, temp, o).map_err(|e| e.to_string()),
        }
    }
}

/// The hardware encode for `plan`: the first verified, not demoted hardware encoder for its
/// target codec and bit depth that can express the plan (for V4L2, once planned for MP4);
/// `None` means the CPU.
pub(crate) fn hardware_target(
    plan: &Plan,
    source: Option<&VideoStream>,
    caps: &Capabilities,
    demoted: &[Demotion],
) -> Option<HwTarget> {
    let video = plan.video.as_ref()?;
    if video.tonemap.is_some() {
        // Tonemapping runs on the CPU (the plan's explanation says so); no backend expresses it.
        return None;
    }
    let codec = video.encoder.codec();
    let (input, temp) = (Path::new("/in"), Path::new("/out"));
    hw::hardware_encoders(codec, video.ten_bit, caps, demoted)
        .into_iter()
        .find_map(|candidate| {
            let target = target(candidate, source)?;
            // A plan the backend cannot express (10-bit H.264 on VAAPI, a source too small for
            // the device) goes to the next candidate. V4L2 is judged on the MP4 it will write.
            let mut as_written = plan.clone();
            if target.needs_mp4() {
                as_written.container = OutputContainer::Mp4;
            }
            target.argv(&as_written, input, temp).ok()?;
            Some(target)
        })
}

fn target(candidate: HwEncoder<'_>, source: Option<&VideoStream>) -> Option<HwTarget> {
    let options = match candidate {
        HwEncoder::Vaapi(device, encoder) => HwOptions::Vaapi(VaapiOptions {
            device: device.node.path.clone().into(),
            rate_control: encoder.rate_control?,
            low_power: encoder.low_power,
            max_bitrate: None,
            driver: device.driver.clone(),
        }),
        HwEncoder::V4l2(device, encoder) => {
            let source = source?;
            HwOptions::V4l2(V4l2Options {
                width: source.width,
                height: source.height,
                fps: source.fps?,
                source_bitrate: source.bitrate,
                input_formats: device.raw_formats(),
                device: geometry(device, encoder),
            })
        }
    };
    Some(HwTarget {
        backend: candidate.backend(),
        encoder: candidate.encoder().to_string(),
        device: candidate.device().to_string(),
        options,
    })
}

/// The size constraints of `device` for `encoder`'s coded format: the ENUM_FRAMESIZES steps
/// and maximum, and the padding the native test encode measured with TRY_FMT for the raw
/// format ffmpeg will feed (YU12 first, as `media::args::v4l2::pixel_format` picks, then NV12).
pub(crate) fn geometry(device: &V4l2Device, encoder: &V4l2Encoder) -> V4l2Geometry {
    let mut g = match device.frame_sizes_of(&encoder.format) {
        Some(FrameSizes::Stepwise {
            max_width,
            step_width,
            max_height,
            step_height,
            ..
        }) => V4l2Geometry {
            step_width: *step_width,
            step_height: *step_height,
            max_width: Some(*max_width),
            max_height: Some(*max_height),
            ..V4l2Geometry::PLAIN
        },
        Some(FrameSizes::Discrete { .. }) | None => V4l2Geometry::PLAIN,
    };
    let fed = ["YU12", "NV12"]
        .into_iter()
        .find(|f| device.raw_formats().iter().any(|r| r == f));
    if let Some(test) = &encoder.test_encode
        && let Some(stride) = &test.stride
        && Some(test.raw_format.as_str()) == fed
    {
        g.row_align = stride.row_align();
        g.plane_rows_align = stride.plane_rows_align();
    }
    g
}

/// `plan` (made for Matroska) made again for MP4, for a V4L2 encoder; `Err` says why MP4 would
/// lose something the owner keeps, and then the CPU encodes the Matroska plan. Pure.
pub(crate) fn mp4_plan(
    info: &MediaInfo,
    profile: &Profile,
    plan: &Plan,
    caps: &profiles::Capabilities,
) -> Result<Plan, &'static str> {
    if profile.container == ContainerChoice::Mkv {
        return Err("the profile asks for Matroska");
    }
    if plan.attachments {
        return Err("MP4 cannot hold the attachments (fonts)");
    }
    if info
        .subtitles
        .iter()
        .any(|s| STYLED_SUBTITLES.contains(&s.codec.as_str()))
    {
        return Err("styled ASS/SSA subtitles would lose their styling in MP4");
    }
    let mut mp4 = profile.clone();
    mp4.container = ContainerChoice::Mp4;
    match plan::plan(info, &mp4, caps) {
        Decision::Transcode(p)
            if p.container == OutputContainer::Mp4
                && p.audio.len() == plan.audio.len()
                && p.subtitles.len() == plan.subtitles.len() =>
        {
            Ok(p)
        }
        Decision::Transcode(p) if p.container != OutputContainer::Mp4 => {
            Err("MP4 cannot hold the picture subtitles (PGS/VobSub/DVB)")
        }
        _ => Err("the MP4 plan would not keep every stream"),
    }
}

#[cfg(test)]
#[path = "backend_tests.rs"]
mod tests;

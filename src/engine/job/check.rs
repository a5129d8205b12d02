//! What an encode's temp file must pass before it can stand for the source, after every try
//! (hardware or CPU): its final size against the minimum saving (a fast encode can finish
//! between two progress checks), the source unchanged, and verification (ffprobe, stream
//! counts and a decode pass, `media::verify`).

use std::path::Path;

use super::stages::{Planned, Source};
use super::{JobContext, Stop};
use crate::engine::failure::{self, Failure, FileId};
use crate::media::MediaInfo;
use crate::media::plan::Plan;
use crate::media::savings::{self, Verdict};
use crate::media::verify::{self, decode::DecodeCheck};

/// The output saves enough, and the source is still the file it was made from.
pub(super) fn output(planned: &Planned, source: &Source, temp: &Path) -> Result<(), Stop> {
    let min_saving = planned.profile.min_saving_percent;
    if planned.plan.video.is_some()
        && let Ok(written) = std::fs::metadata(temp).map(|m| m.len())
        && let Verdict::Abort {
            projected_bytes,
            limit_bytes,
        } = savings::project(1.0, written, source.size, min_saving)
    {
        return Err(Stop::Skip(savings::explain(
            1.0,
            written,
            source.size,
            projected_bytes,
            limit_bytes,
            min_saving,
        )));
    }
    let now = std::fs::metadata(&source.path).ok().map(|m| FileId::of(&m));
    match failure::source_check(source.id, now) {
        Some(why) => Err(why.into()),
        None => Ok(()),
    }
}

/// The temp file is what the plan asked for and decodes.
pub(super) async fn verify(
    ctx: &JobContext,
    plan: &Plan,
    info: &MediaInfo,
    temp: &Path,
) -> Result<MediaInfo, Failure> {
    let Some(codec) = plan.target_codec() else {
        return Err(Failure::Internal {
            summary: "The plan names no known output codec.",
            detail: format!("Output codec `{}`.", plan.output_codec),
        });
    };
    let expect = verify::Expect {
        duration: info.duration,
        codec,
        audio_streams: plan.audio.len(),
        subtitle_streams: plan.subtitles.len(),
        decode: DecodeCheck::from_mode(ctx.verify),
    };
    verify::verify_planned(&ctx.tools.ffprobe, &ctx.tools.ffmpeg, temp, &expect)
        .await
        .map_err(Failure::Verify)
}

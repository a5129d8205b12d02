//! The plan's last step: the decided encode (or copy), the kept streams and the container
//! assembled into a [`Plan`] whose explanation says in words and numbers what will happen.

use super::super::reasons::video_bitrate;
use super::super::streams::rules::summary as stream_summary;
use super::super::streams::{OutputContainer, Selection, plan_audio, plan_subtitles};
use super::super::{MediaInfo, VideoStream};
use super::{Plan, Profile, VideoEncode};
use crate::model::Explanation;

/// Assemble the plan and its explanation.
pub(super) fn build(
    info: &MediaInfo,
    video: &VideoStream,
    profile: &Profile,
    encode: Option<VideoEncode>,
    (kept, container, container_note): (&Selection, OutputContainer, Option<String>),
) -> Plan {
    let rules = &profile.streams;
    // Default rules leave dispositions to ffmpeg, exactly as before the rules existed.
    let explicit = *rules != Default::default();
    let (audio, audio_notes) = plan_audio(
        info,
        &kept.audio,
        container,
        rules.audio_codec,
        rules.add_stereo,
        explicit,
    );
    let (subtitles, dropped) = plan_subtitles(info, &kept.subtitles, container, explicit);
    let attachments = container == OutputContainer::Mkv && info.attachments > 0;
    let describe = format!(
        "{} {}×{}{}{}",
        video.codec,
        video.width,
        video.height,
        video
            .fps
            .map_or(String::new(), |f| format!(" at {f:.3} fps")),
        video
            .bitrate
            .map_or(String::new(), |b| format!(", {} kb/s", b / 1000)),
    );
    let mut notes: Vec<String> = Vec::new();
    notes.extend(container_note);
    let mut e = match &encode {
        Some(v) => {
            notes.insert(
                0,
                format!(
                    "The video stream is {describe}. It will be encoded with {} at CRF {} \
                     (preset {}){} and written as {}.",
                    v.encoder.as_str(),
                    v.crf,
                    v.preset,
                    if v.ten_bit { " at 10 bits" } else { "" },
                    container.label()
                ),
            );
            let transfer = video.color_transfer.as_deref().unwrap_or("?");
            match v.tonemap {
                Some(t) => notes.push(format!(
                    "HDR ({transfer}) is tonemapped to SDR (BT.709) with {}, as the profile \
                     asks (hdr: sdr); the output is tagged BT.709. Encoded on the CPU: the \
                     hardware encoders are not given tonemapping filters.",
                    t.as_str()
                )),
                None if video.hdr => notes.push(format!(
                    "HDR ({transfer}) is kept: 10-bit output with the source's colour tags, no \
                     tonemapping."
                )),
                None => {}
            }
            if v.deinterlace {
                notes.push("The source is interlaced; it is deinterlaced with bwdif.".into());
            }
            if video.variable_frame_rate {
                notes.push("The frame rate is variable; timestamps are passed through.".into());
            }
            Explanation::new(
                "transcode_recommended",
                format!(
                    "The video will be re-encoded from {} to {}.",
                    crate::media::reasons::codec_words(&video.codec),
                    crate::media::reasons::codec_words(v.encoder.codec().as_str())
                ),
                String::new(),
            )
            .with("encoder", v.encoder.as_str())
            .with("crf", v.crf)
            .with("preset", v.preset.as_str())
            .with("ten_bit", v.ten_bit)
            .with("deinterlace", v.deinterlace)
        }
        None if container.is(&info.container) => {
            notes.insert(
                0,
                format!(
                    "The video stream is {describe}, already what the profile produces, but \
                     the profile's stream rules change its tracks; the video is copied, not \
                     re-encoded."
                ),
            );
            Explanation::new(
                "streams_remux",
                "The video will be copied with the tracks the stream rules keep.",
                String::new(),
            )
        }
        None => {
            notes.insert(
                0,
                format!(
                    "The video stream is {describe}, already what the profile produces, but \
                     the {} container is changed to {}; streams are copied, not re-encoded.",
                    info.container,
                    container.label()
                ),
            );
            Explanation::new(
                "container_remux",
                format!("The streams will be copied into {}.", container.label()),
                String::new(),
            )
        }
    };
    notes.extend(stream_summary(info, kept));
    notes.extend(audio_notes);
    if !kept.notes.is_empty() {
        e = e.with("stream_rules", kept.notes_json());
    }
    if !subtitles.is_empty() {
        notes.push(format!("{} subtitle stream(s) are kept.", subtitles.len()));
    }
    if !dropped.is_empty() {
        notes.push(format!(
            "{} subtitle stream(s) ({}) cannot be stored in {} and are left out.",
            dropped.len(),
            dropped.join(", "),
            container.label()
        ));
        e = e.with("dropped_subtitles", dropped);
    }
    if info.attachments > 0 && !attachments {
        notes.push(format!(
            "{} attachment(s) cannot be stored in {} and are left out.",
            info.attachments,
            container.label()
        ));
    }
    if video.hdr {
        // A stable code for what became of HDR, beside the decision's own code.
        let tonemapper = encode.as_ref().and_then(|v| v.tonemap);
        e = e.with(
            "hdr",
            if tonemapper.is_some() {
                "hdr_tonemapped_to_sdr"
            } else {
                "hdr_preserved"
            },
        );
        if let Some(t) = tonemapper {
            e = e.with("tonemapper", t.as_str());
        }
    }
    e.detail = notes.join(" ");
    e = e
        .with("source_codec", video.codec.as_str())
        .with("width", video.width)
        .with("height", video.height)
        .with("output_container", container.extension())
        .with("duration", info.duration)
        .with("size", info.size);
    if let Some(f) = video.fps {
        e = e.with("fps", f);
    }
    if let Some((b, estimated)) = video_bitrate(info) {
        e = e
            .with("video_bitrate", b)
            .with("bitrate_estimated", estimated);
    }
    Plan {
        output_codec: encode
            .as_ref()
            .map_or(video.codec.clone(), |v| v.encoder.codec().as_str().into()),
        video: encode,
        container,
        threads: profile.threads,
        audio,
        subtitles,
        attachments,
        explanation: e,
    }
}

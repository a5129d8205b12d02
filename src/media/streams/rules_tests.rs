//! Table tests of the stream rules over recorded ffprobe output (tests/fixtures/ffprobe/): each
//! row is a fixture, a profile's rules and container, and the tracks, actions, container and
//! reason codes the plan must come out with.

use crate::media::normalize::normalize;
use crate::media::plan::{Decision, Plan, plan};
use crate::media::streams::{AudioAction, OutputContainer, SubtitleAction};
use crate::media::{MediaInfo, streams::rules::select};
use crate::profiles::{
    AudioCodecPolicy, Capabilities, ContainerChoice, ImageSubtitles, Profile, StreamRules,
};

fn fixture(name: &str) -> MediaInfo {
    let path = format!(
        "{}/tests/fixtures/ffprobe/{name}.json",
        env!("CARGO_MANIFEST_DIR")
    );
    normalize(&std::fs::read(&path).unwrap(), 100 << 20).unwrap()
}

fn langs(codes: &[&str]) -> Vec<String> {
    codes.iter().map(|c| c.to_string()).collect()
}

/// Rules that keep English and drop commentary, as most owners would set them.
fn english() -> StreamRules {
    StreamRules {
        audio_languages: langs(&["eng"]),
        subtitle_languages: langs(&["eng"]),
        drop_commentary: true,
        ..Default::default()
    }
}

fn planned(info: &MediaInfo, rules: StreamRules, container: ContainerChoice) -> Plan {
    let profile = Profile {
        streams: rules,
        container,
        bpp_factor: 0.0,
        min_file_size: 0,
        ..Profile::preset("balanced").unwrap()
    };
    match plan(info, &profile, &Capabilities::all_cpu()) {
        Decision::Transcode(p) | Decision::Remux(p) => p,
        Decision::Skip(r) => panic!("skipped: {}", r.explanation().code),
    }
}

fn codes(p: &Plan) -> Vec<String> {
    p.explanation
        .measured
        .get("stream_rules")
        .and_then(|v| v.as_array())
        .map(|a| {
            a.iter()
                .map(|n| n["code"].as_str().unwrap().to_string())
                .collect()
        })
        .unwrap_or_default()
}

struct Row {
    what: &'static str,
    fixture: &'static str,
    rules: StreamRules,
    container: ContainerChoice,
    audio: Vec<usize>,
    subtitles: Vec<usize>,
    output: OutputContainer,
    codes: Vec<&'static str>,
}

#[test]
fn rules_table() {
    let rows = [
        Row {
            what: "default rules keep every track (today's behaviour)",
            fixture: "streams_rules",
            rules: StreamRules::default(),
            container: ContainerChoice::Auto,
            audio: vec![0, 1, 2, 3, 4, 5],
            subtitles: vec![0, 1, 2, 3, 4],
            output: OutputContainer::Mkv,
            codes: vec![],
        },
        Row {
            what: "listed language + original + und; commentary by flag and title, description",
            fixture: "streams_rules",
            rules: english(),
            container: ContainerChoice::Auto,
            audio: vec![0, 1, 3],
            // eng, fre forced, eng SDH; ger by language, commentary by flag.
            subtitles: vec![0, 1, 4],
            output: OutputContainer::Mkv,
            codes: vec![
                "audio_commentary_dropped",
                "audio_description_dropped",
                "audio_commentary_dropped",
                "subtitle_language_not_listed",
                "subtitle_commentary_dropped",
            ],
        },
        Row {
            what: "languages without drop_commentary keep eng commentary",
            fixture: "streams_rules",
            rules: StreamRules {
                drop_commentary: false,
                ..english()
            },
            container: ContainerChoice::Auto,
            audio: vec![0, 1, 3, 5],
            subtitles: vec![0, 1, 3, 4],
            output: OutputContainer::Mkv,
            codes: vec![
                "audio_language_not_listed",
                "audio_language_not_listed",
                "subtitle_language_not_listed",
            ],
        },
        Row {
            what: "the last audio track is never dropped",
            fixture: "mp4_dvdsub",
            rules: english(),
            container: ContainerChoice::Auto,
            audio: vec![0],
            subtitles: vec![0],
            output: OutputContainer::Mkv,
            codes: vec!["audio_language_not_listed", "last_audio_kept"],
        },
        Row {
            what: "picture subtitles into MP4, keep: Matroska is chosen",
            fixture: "mp4_dvdsub",
            rules: StreamRules::default(),
            container: ContainerChoice::Mp4,
            audio: vec![0],
            subtitles: vec![0],
            output: OutputContainer::Mkv,
            codes: vec![],
        },
        Row {
            what: "picture subtitles into MP4, drop: MP4 stays",
            fixture: "mp4_dvdsub",
            rules: StreamRules {
                image_subtitles: ImageSubtitles::Drop,
                ..Default::default()
            },
            container: ContainerChoice::Mp4,
            audio: vec![0],
            subtitles: vec![],
            output: OutputContainer::Mp4,
            codes: vec!["image_subtitle_dropped"],
        },
        Row {
            what: "picture subtitles into MP4, forced only, none forced: MP4 stays",
            fixture: "mp4_dvdsub",
            rules: StreamRules {
                image_subtitles: ImageSubtitles::ForcedOnly,
                ..Default::default()
            },
            container: ContainerChoice::Mp4,
            audio: vec![0],
            subtitles: vec![],
            output: OutputContainer::Mp4,
            codes: vec!["image_subtitle_not_forced"],
        },
        Row {
            what: "forced PGS kept with forced_only, so Matroska despite MP4",
            fixture: "streams_pgs",
            rules: StreamRules {
                image_subtitles: ImageSubtitles::ForcedOnly,
                ..english()
            },
            container: ContainerChoice::Mp4,
            audio: vec![0, 1, 3],
            subtitles: vec![1, 4],
            output: OutputContainer::Mkv,
            codes: vec![
                "audio_commentary_dropped",
                "audio_description_dropped",
                "audio_commentary_dropped",
                "image_subtitle_not_forced",
                "subtitle_language_not_listed",
                "subtitle_commentary_dropped",
            ],
        },
        Row {
            what: "undetermined tracks are kept whatever the list",
            fixture: "h264_many_audio",
            rules: StreamRules {
                audio_languages: langs(&["jpn"]),
                ..english()
            },
            container: ContainerChoice::Auto,
            audio: vec![0, 1, 2, 3],
            subtitles: vec![],
            output: OutputContainer::Mkv,
            codes: vec![],
        },
    ];
    for row in rows {
        let info = fixture(row.fixture);
        let sel = select(&info, &row.rules);
        assert_eq!(sel.audio, row.audio, "{}: audio", row.what);
        assert_eq!(sel.subtitles, row.subtitles, "{}: subtitles", row.what);
        let p = planned(&info, row.rules, row.container);
        let kept: Vec<usize> = p.audio.iter().map(|t| t.input_index).collect();
        assert_eq!(kept, row.audio, "{}: planned audio", row.what);
        let subs: Vec<usize> = p.subtitles.iter().map(|t| t.input_index).collect();
        assert_eq!(subs, row.subtitles, "{}: planned subtitles", row.what);
        assert_eq!(p.container, row.output, "{}: container", row.what);
        assert_eq!(codes(&p), row.codes, "{}: codes", row.what);
    }
}

#[test]
fn the_explanation_counts_and_names_tracks() {
    let p = planned(&fixture("streams_rules"), english(), ContainerChoice::Auto);
    let d = &p.explanation.detail;
    assert!(
        d.contains(
            "3 of 6 audio tracks kept: eng, jpn, und; dropped: fra commentary, deu description, \
             eng commentary."
        ),
        "{d}"
    );
    assert!(
        d.contains(
            "3 of 5 subtitle tracks kept: eng, fra, eng; dropped: deu (language not listed), eng commentary."
        ),
        "{d}"
    );
    let last = planned(&fixture("mp4_dvdsub"), english(), ContainerChoice::Auto);
    assert!(
        last.explanation
            .detail
            .contains("The rules would leave no audio, so audio 0 (fra) is kept."),
        "{}",
        last.explanation.detail
    );
    // Rules in use write every kept track's dispositions; the kept track becomes default.
    assert_eq!(
        last.audio[0].disposition.map(|d| d.default),
        Some(true),
        "{:?}",
        last.audio
    );
    let plain = planned(
        &fixture("mp4_dvdsub"),
        StreamRules::default(),
        ContainerChoice::Auto,
    );
    assert_eq!(plain.audio[0].disposition, None, "default rules: as before");
}

#[test]
fn text_subtitles_follow_the_container_and_audio_the_codec_policy() {
    let info = fixture("streams_rules");
    let mp4 = planned(&info, StreamRules::default(), ContainerChoice::Mp4);
    assert_eq!(mp4.container, OutputContainer::Mp4);
    assert!(
        mp4.subtitles
            .iter()
            .all(|s| s.action == SubtitleAction::ToMovText)
    );
    let mkv = planned(&info, StreamRules::default(), ContainerChoice::Mkv);
    assert!(
        mkv.subtitles
            .iter()
            .all(|s| s.action == SubtitleAction::Copy)
    );

    // Audio 0 is FLAC 5.1: lossless.
    let first = |policy, container| {
        let rules = StreamRules {
            audio_codec: policy,
            ..Default::default()
        };
        planned(&info, rules, container).audio[0].action
    };
    use AudioCodecPolicy as A;
    use ContainerChoice as C;
    assert_eq!(first(A::Auto, C::Mkv), AudioAction::Opus(384_000));
    assert_eq!(first(A::Auto, C::Mp4), AudioAction::Aac(576_000));
    assert_eq!(first(A::Copy, C::Mkv), AudioAction::Copy);
    // MP4 cannot hold FLAC (for ffmpeg 5.1 without -strict), so even `copy` re-encodes it.
    assert_eq!(first(A::Copy, C::Mp4), AudioAction::Aac(576_000));
    assert_eq!(first(A::Eac3, C::Mkv), AudioAction::Eac3(576_000));
    assert_eq!(first(A::Opus, C::Mp4), AudioAction::Opus(384_000));
    // The lossy AC-3 track stays a copy whatever the policy.
    let ac3 = planned(
        &info,
        StreamRules {
            audio_codec: A::Eac3,
            ..Default::default()
        },
        C::Mkv,
    );
    assert_eq!(ac3.audio[2].action, AudioAction::Copy);
}

#[test]
fn a_stereo_track_is_added_only_for_surround_without_stereo() {
    let info = fixture("streams_rules");
    let p = planned(
        &info,
        StreamRules {
            add_stereo: true,
            ..english()
        },
        ContainerChoice::Auto,
    );
    let stereo: Vec<_> = p.audio.iter().filter(|t| t.stereo).collect();
    assert_eq!(stereo.len(), 1, "{:?}", p.audio);
    assert_eq!(stereo[0].input_index, 0);
    assert_eq!(stereo[0].action, AudioAction::Opus(128_000));
    assert!(p.audio.last().unwrap().stereo, "the downmix comes last");
    // A mono/stereo source needs none.
    let plain = planned(
        &fixture("h264_many_audio"),
        StreamRules {
            add_stereo: true,
            ..Default::default()
        },
        ContainerChoice::Auto,
    );
    assert!(plain.audio.iter().all(|t| !t.stereo));
}

#[test]
fn tracks_to_drop_make_a_file_in_the_target_codec_a_remux() {
    let info = fixture("hevc");
    let profile = |rules| Profile {
        streams: rules,
        bpp_factor: 0.0,
        min_file_size: 0,
        ..Profile::preset("balanced").unwrap()
    };
    let caps = Capabilities::all_cpu();
    // Nothing to drop: skipped as before.
    let plain = plan(&info, &profile(english()), &caps);
    assert_eq!(plain.explanation().code, "already_target_codec");
    // Its undetermined-language Opus track stays whatever the list; a picture subtitle to drop
    // makes it a remux that copies the video.
    let mut with_subs = info.clone();
    with_subs.subtitles.push(crate::media::SubtitleStream {
        codec: "hdmv_pgs_subtitle".into(),
        ..Default::default()
    });
    let rules = StreamRules {
        image_subtitles: ImageSubtitles::Drop,
        ..Default::default()
    };
    match plan(&with_subs, &profile(rules), &caps) {
        Decision::Remux(p) => {
            assert_eq!(p.explanation.code, "streams_remux");
            assert!(p.video.is_none() && p.subtitles.is_empty());
            assert_eq!(codes(&p), ["image_subtitle_dropped"]);
        }
        other => panic!("{other:?}"),
    }
}

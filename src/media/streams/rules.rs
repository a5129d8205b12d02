//! The profile's stream rules applied to one file, before the container is chosen: which audio
//! and subtitle tracks stay. Audio in a listed language, in the title's original language (a
//! track flagged `original`) or undetermined stays; commentary and audio description go when
//! the profile says so (by disposition or by title); the last audio track never goes. Subtitles
//! in a listed language, forced or undetermined stay; picture subtitles follow the profile's
//! policy. Every dropped or rescued track is a [`StreamNote`] with a stable code. Pure.

use serde::Serialize;

use crate::media::{AudioStream, Disposition, MediaInfo, SubtitleStream};
use crate::profiles::{ImageSubtitles, StreamRules, canonical_language, language_listed};

/// Picture-based subtitles: only Matroska keeps them.
pub const IMAGE_SUBTITLES: [&str; 3] = ["hdmv_pgs_subtitle", "dvd_subtitle", "dvb_subtitle"];
/// Title words that mark commentary ("Director's Commentary") and description tracks.
const COMMENTARY_TITLE: &str = "commentary";
const DESCRIPTION_TITLES: [&str; 2] = ["audio description", "descriptive"];

/// Why a track was left out or kept against the rules; `code()` is stable for API and UI.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum StreamRule {
    /// Audio in a language the profile does not list.
    AudioLanguage,
    /// Audio commentary (disposition `comment` or a title saying so).
    AudioCommentary,
    /// Audio description for the visually impaired.
    AudioDescription,
    /// Every audio track would go; the best one stays.
    LastAudioKept,
    /// Subtitles in a language the profile does not list.
    SubtitleLanguage,
    /// Commentary subtitles.
    SubtitleCommentary,
    /// Picture subtitles the profile drops.
    ImageSubtitleDropped,
    /// Picture subtitles that are not forced, with the `forced_only` policy.
    ImageSubtitleNotForced,
}

impl StreamRule {
    /// Whether the rule is about audio tracks (else subtitles).
    pub fn audio(&self) -> bool {
        matches!(
            self,
            StreamRule::AudioLanguage
                | StreamRule::AudioCommentary
                | StreamRule::AudioDescription
                | StreamRule::LastAudioKept
        )
    }

    pub fn code(&self) -> &'static str {
        match self {
            StreamRule::AudioLanguage => "audio_language_not_listed",
            StreamRule::AudioCommentary => "audio_commentary_dropped",
            StreamRule::AudioDescription => "audio_description_dropped",
            StreamRule::LastAudioKept => "last_audio_kept",
            StreamRule::SubtitleLanguage => "subtitle_language_not_listed",
            StreamRule::SubtitleCommentary => "subtitle_commentary_dropped",
            StreamRule::ImageSubtitleDropped => "image_subtitle_dropped",
            StreamRule::ImageSubtitleNotForced => "image_subtitle_not_forced",
        }
    }
}

/// One rule's effect on one track: `index` counts streams of that kind (`0:a:N`, `0:s:N`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct StreamNote {
    pub rule: StreamRule,
    pub index: usize,
    /// "fra commentary", "ger", "und PGS".
    pub label: String,
}

/// The tracks the rules keep, by input index within their kind, in input order.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Selection {
    pub audio: Vec<usize>,
    pub subtitles: Vec<usize>,
    pub notes: Vec<StreamNote>,
}

impl Selection {
    /// Whether the rules leave out any track (a rescued last audio track is not one).
    pub fn drops_tracks(&self) -> bool {
        self.notes
            .iter()
            .any(|n| n.rule != StreamRule::LastAudioKept)
    }

    /// The notes as the explanation's `stream_rules` value: code, kind, index and track.
    pub fn notes_json(&self) -> serde_json::Value {
        self.notes
            .iter()
            .map(|n| {
                serde_json::json!({
                    "code": n.rule.code(),
                    "kind": if n.rule.audio() { "audio" } else { "subtitle" },
                    "index": n.index,
                    "track": n.label,
                })
            })
            .collect()
    }
}

fn lang(language: Option<&str>) -> String {
    language.map_or("und".into(), canonical_language)
}

fn audio_label(a: &AudioStream, what: Option<&str>) -> String {
    let mut label = lang(a.language.as_deref());
    if let Some(what) = what {
        label.push(' ');
        label.push_str(what);
    }
    label
}

/// Which commentary rule, if any, removes a track with these flags and title. Titles count
/// because many files never set the flags.
fn commentary_rule(d: &Disposition, title: Option<&str>, audio: bool) -> Option<StreamRule> {
    let t = title.map(str::to_lowercase).unwrap_or_default();
    let described = d.visual_impaired || DESCRIPTION_TITLES.iter().any(|w| t.contains(w));
    let commentary = d.comment || t.contains(COMMENTARY_TITLE);
    match (audio, described, commentary) {
        (true, true, _) => Some(StreamRule::AudioDescription),
        (true, false, true) => Some(StreamRule::AudioCommentary),
        (false, _, true) => Some(StreamRule::SubtitleCommentary),
        _ => None,
    }
}

/// Apply `rules` to `info`'s tracks.
pub fn select(info: &MediaInfo, rules: &StreamRules) -> Selection {
    let mut s = Selection::default();
    let original: Vec<String> = info
        .audio
        .iter()
        .filter(|a| a.disposition.original)
        .filter_map(|a| a.language.clone())
        .collect();
    for (i, a) in info.audio.iter().enumerate() {
        let language_ok = rules.audio_languages.is_empty()
            || a.language
                .as_deref()
                .is_none_or(|l| language_listed(&rules.audio_languages, l))
            || a.language
                .as_deref()
                .is_some_and(|l| language_listed(&original, l));
        let commentary = rules
            .drop_commentary
            .then(|| commentary_rule(&a.disposition, a.title.as_deref(), true))
            .flatten();
        match (commentary, language_ok) {
            (Some(rule), _) => s.notes.push(StreamNote {
                rule,
                index: i,
                label: audio_label(
                    a,
                    Some(if rule == StreamRule::AudioDescription {
                        "description"
                    } else {
                        "commentary"
                    }),
                ),
            }),
            (None, false) => s.notes.push(StreamNote {
                rule: StreamRule::AudioLanguage,
                index: i,
                label: audio_label(a, None),
            }),
            (None, true) => s.audio.push(i),
        }
    }
    if s.audio.is_empty()
        && let Some(best) = best_audio(&info.audio)
    {
        s.audio.push(best);
        s.notes.push(StreamNote {
            rule: StreamRule::LastAudioKept,
            index: best,
            label: audio_label(&info.audio[best], None),
        });
    }
    for (i, sub) in info.subtitles.iter().enumerate() {
        if let Some(rule) = subtitle_drop(sub, rules) {
            let kind = if IMAGE_SUBTITLES.contains(&sub.codec.as_str()) {
                " picture"
            } else {
                ""
            };
            s.notes.push(StreamNote {
                rule,
                index: i,
                label: format!(
                    "{}{kind}{}",
                    lang(sub.language.as_deref()),
                    if rule == StreamRule::SubtitleCommentary {
                        " commentary"
                    } else {
                        ""
                    }
                ),
            });
        } else {
            s.subtitles.push(i);
        }
    }
    s
}

/// The track kept when the rules would drop every one: the default-flagged one that is not
/// commentary, else any that is not commentary, else the first.
fn best_audio(audio: &[AudioStream]) -> Option<usize> {
    let plain =
        |a: &AudioStream| commentary_rule(&a.disposition, a.title.as_deref(), true).is_none();
    audio
        .iter()
        .position(|a| a.disposition.default && plain(a))
        .or_else(|| audio.iter().position(plain))
        .or((!audio.is_empty()).then_some(0))
}

fn subtitle_drop(sub: &SubtitleStream, rules: &StreamRules) -> Option<StreamRule> {
    let forced = sub.disposition.forced;
    if IMAGE_SUBTITLES.contains(&sub.codec.as_str()) {
        match rules.image_subtitles {
            ImageSubtitles::Drop => return Some(StreamRule::ImageSubtitleDropped),
            ImageSubtitles::ForcedOnly if !forced => {
                return Some(StreamRule::ImageSubtitleNotForced);
            }
            _ => {}
        }
    }
    if rules.drop_commentary
        && let Some(rule) = commentary_rule(&sub.disposition, sub.title.as_deref(), false)
    {
        return Some(rule);
    }
    let language_ok = forced
        || rules.subtitle_languages.is_empty()
        || sub
            .language
            .as_deref()
            .is_none_or(|l| language_listed(&rules.subtitle_languages, l));
    (!language_ok).then_some(StreamRule::SubtitleLanguage)
}

/// "2 of 5 audio tracks kept: eng, jpn; dropped: fra commentary, ger (not listed)."
pub fn summary(info: &MediaInfo, s: &Selection) -> Vec<String> {
    let mut out = Vec::new();
    let dropped = |audio: bool| -> Vec<String> {
        s.notes
            .iter()
            .filter(|n| n.rule != StreamRule::LastAudioKept && n.rule.audio() == audio)
            .map(|n| match n.rule {
                StreamRule::AudioLanguage | StreamRule::SubtitleLanguage => {
                    format!("{} (language not listed)", n.label)
                }
                StreamRule::ImageSubtitleDropped => format!("{} (policy: drop)", n.label),
                StreamRule::ImageSubtitleNotForced => format!("{} (not forced)", n.label),
                _ => n.label.clone(),
            })
            .collect()
    };
    for (audio, kind, total, kept) in [
        (true, "audio", info.audio.len(), &s.audio),
        (false, "subtitle", info.subtitles.len(), &s.subtitles),
    ] {
        let gone = dropped(audio);
        if gone.is_empty() {
            continue;
        }
        let names: Vec<String> = kept
            .iter()
            .map(|&i| {
                lang(if audio {
                    info.audio[i].language.as_deref()
                } else {
                    info.subtitles[i].language.as_deref()
                })
            })
            .collect();
        out.push(format!(
            "{} of {total} {kind} tracks kept{}{}; dropped: {}.",
            kept.len(),
            if names.is_empty() { "" } else { ": " },
            names.join(", "),
            gone.join(", ")
        ));
    }
    if let Some(n) = s.notes.iter().find(|n| n.rule == StreamRule::LastAudioKept) {
        out.push(format!(
            "The rules would leave no audio, so audio {} ({}) is kept.",
            n.index, n.label
        ));
    }
    out
}

#[cfg(test)]
#[path = "rules_tests.rs"]
mod tests;

//! How values read on the pages: local times in the owner's zone, paths split into a file name
//! and a folder that can be shortened in the middle, error texts without the OS's error
//! numbers, and a decision's measured values in words and units (the raw values stay behind a
//! "technical details" disclosure). Template filters; pure apart from the request's zone.

use std::collections::BTreeMap;

use jiff::Timestamp;
use serde::Serialize;
use serde_json::Value;

use super::context;
use super::render::human_bytes;

/// Characters of a folder kept whole at its end when it is shortened in the middle (its last
/// folder names are what tells two places apart).
const DIR_TAIL_CHARS: usize = 24;

/// `2026-12-05T14:13:00.5Z` as `2026-12-05 15:13` in the owner's zone (Europe/Paris here);
/// other text unchanged. Dates read the same in every language, and sort.
pub fn when(rfc3339: &str) -> String {
    format_local(rfc3339, "%Y-%m-%d %H:%M")
}

/// With seconds, where they matter (a retry due in a minute).
pub fn when_s(rfc3339: &str) -> String {
    format_local(rfc3339, "%Y-%m-%d %H:%M:%S")
}

/// The date only: `2026-12-05`.
pub fn day(rfc3339: &str) -> String {
    format_local(rfc3339, "%Y-%m-%d")
}

/// The time of day only: `15:13:07` (log lines).
pub fn clock(rfc3339: &str) -> String {
    format_local(rfc3339, "%H:%M:%S")
}

fn format_local(rfc3339: &str, format: &str) -> String {
    match rfc3339.parse::<Timestamp>() {
        Ok(t) => t
            .to_zoned_datetime(context::current().tz)
            .strftime(format)
            .to_string(),
        Err(_) => rfc3339.to_string(),
    }
}

/// The owner's zone as shown beside times (`Europe/Paris`, `UTC`).
pub fn zone_name() -> String {
    context::current()
        .tz
        .iana_name()
        .unwrap_or("UTC")
        .to_string()
}

/// A path as the lists show it.
#[derive(Debug, PartialEq, Serialize)]
pub struct PathParts {
    pub name: String,
    pub dir: String,
    /// `dir` split where it may be shortened: the head gives way (an ellipsis), the tail stays.
    pub dir_head: String,
    pub dir_tail: String,
}

pub fn parts(path: &str) -> PathParts {
    let (dir, name) = match path.rfind('/') {
        Some(0) => ("/", &path[1..]),
        Some(i) => (&path[..i], &path[i + 1..]),
        None => ("", path),
    };
    // Keep the last folder names whole when they fit; cut inside a name only when the last
    // one alone is longer than the tail.
    let by_chars = dir
        .char_indices()
        .rev()
        .nth(DIR_TAIL_CHARS - 1)
        .map_or(0, |(i, _)| i);
    let cut = match dir[by_chars..].find('/') {
        Some(i) if by_chars + i > 0 => by_chars + i,
        _ => by_chars,
    };
    PathParts {
        name: name.to_string(),
        dir: dir.to_string(),
        dir_head: dir[..cut].to_string(),
        dir_tail: dir[cut..].to_string(),
    }
}

/// A path as HTML that may wrap after each `/` (and nowhere else unless a name is longer than
/// the line): each part escaped, joined by `/<wbr>`.
pub fn path_html(path: &str) -> String {
    path.split('/')
        .map(|part| {
            part.replace('&', "&amp;")
                .replace('<', "&lt;")
                .replace('>', "&gt;")
                .replace('"', "&quot;")
                .replace('\'', "&#x27;")
        })
        .collect::<Vec<_>>()
        .join("/<wbr>")
}

/// An error text without the OS's error numbers: `No such file or directory (os error 2)`
/// reads `No such file or directory`.
pub fn plain(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(i) = rest.find(" (os error ") {
        out.push_str(&rest[..i]);
        rest = match rest[i..].find(')') {
            Some(end) => &rest[i + end + 1..],
            None => "",
        };
    }
    out.push_str(rest);
    out
}

/// One measured value in words.
#[derive(Debug, PartialEq, Serialize)]
pub struct Fact {
    pub label: &'static str,
    pub value: String,
}

/// The measured values a person cares about, labelled and in units, in a fixed order; the
/// rest (inodes, exit codes, stderr lines, flags) is only in the technical details.
pub fn facts(measured: &BTreeMap<String, Value>) -> Vec<Fact> {
    use Unit::*;
    const SHOWN: &[(&str, &str, Unit)] = &[
        ("size", "File size", Bytes),
        ("source_bytes", "File size", Bytes),
        ("duration", "Length", Seconds),
        ("source_codec", "Video codec", Text),
        ("width", "Width", Pixels),
        ("height", "Height", Pixels),
        ("fps", "Frame rate", Fps),
        ("bit_depth", "Bit depth", Bits),
        ("video_bitrate", "Video bit rate", Bitrate),
        ("bpp", "Bits per pixel", Decimal),
        ("bpp_threshold", "Re-encode above", Decimal),
        ("min_file_size", "Smallest file encoded", Bytes),
        ("projected_saving_percent", "Expected saving", Percent),
        ("min_saving_percent", "Smallest saving kept", Percent),
        ("projected_bytes", "Expected output", Bytes),
        ("limit_bytes", "Largest output kept", Bytes),
        ("written_bytes", "Written before stopping", Bytes),
        ("free_bytes", "Free space", Bytes),
        ("needed_bytes", "Space needed", Bytes),
        ("encoder", "Encoder", Text),
        ("crf", "Quality (CRF)", Text),
        ("preset", "Preset", Text),
        ("container", "Container", Text),
        ("output_container", "Output container", Text),
        ("audio_streams", "Audio tracks", Text),
        ("subtitle_streams", "Subtitle tracks", Text),
        ("dropped_subtitles", "Subtitles left out", Text),
        ("size_before", "Size before", Bytes),
        ("size_after", "Size after", Bytes),
        ("retry_in_seconds", "Next try in", Seconds),
    ];
    let mut out: Vec<Fact> = Vec::new();
    for (key, label, unit) in SHOWN {
        let Some(v) = measured.get(*key) else {
            continue;
        };
        if out.iter().any(|f| f.label == *label) {
            continue;
        }
        if let Some(value) = unit.show(v) {
            out.push(Fact { label, value });
        }
    }
    out
}

#[derive(Clone, Copy)]
enum Unit {
    Bytes,
    Seconds,
    Text,
    Pixels,
    Fps,
    Bits,
    Bitrate,
    Decimal,
    Percent,
}

impl Unit {
    fn show(self, v: &Value) -> Option<String> {
        let number = v.as_f64();
        Some(match self {
            Unit::Bytes => human_bytes(number?),
            Unit::Seconds => super::render::human_duration(number?),
            Unit::Pixels => format!("{} px", number? as u64),
            Unit::Fps => format!("{:.2} fps", number?)
                .replace(".00 fps", " fps")
                .to_string(),
            // A non-breaking hyphen: "8-" and "bit" on two lines read badly.
            Unit::Bits => format!("{}\u{2011}bit", number? as u64),
            Unit::Bitrate => format!("{} kb/s", (number? / 1000.0).round() as u64),
            Unit::Decimal => format!("{:.3}", number?),
            Unit::Percent => format!("{}%", (number? * 10.0).round() / 10.0),
            Unit::Text => match v {
                Value::String(s) => s.clone(),
                Value::Number(n) => n.to_string(),
                Value::Bool(b) => if *b { "yes" } else { "no" }.to_string(),
                Value::Array(a) if a.iter().all(Value::is_string) => a
                    .iter()
                    .filter_map(Value::as_str)
                    .collect::<Vec<_>>()
                    .join(", "),
                _ => return None,
            },
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn paths_split_into_name_and_a_folder_shortened_in_the_middle() {
        let p = parts("/srv/media/movies/collections/kids/Frozen (2013).mkv");
        assert_eq!(p.name, "Frozen (2013).mkv");
        assert_eq!(p.dir, "/srv/media/movies/collections/kids");
        // Cut before a folder name, not inside one.
        assert_eq!(p.dir_head, "/srv/media");
        assert_eq!(p.dir_tail, "/movies/collections/kids");
        let long = parts("/srv/media/a-folder-name-longer-than-the-tail/x.mkv");
        assert_eq!(long.dir_tail.chars().count(), DIR_TAIL_CHARS);
        let short = parts("/m/a.mkv");
        assert_eq!(
            (short.dir_head.as_str(), short.dir_tail.as_str()),
            ("", "/m")
        );
        assert_eq!(parts("/a.mkv").dir, "/");
        // Multi-byte names are cut on character boundaries.
        let p = parts("/médiathèque/été/vidéos/enfants/été.mkv");
        assert!(p.dir_tail.starts_with('/') && p.dir_tail.chars().count() <= DIR_TAIL_CHARS);
        assert_eq!(format!("{}{}", p.dir_head, p.dir_tail), p.dir);
        let p = parts("/médiathèque/éééééééééééééééééééééééééééééé/x.mkv");
        assert_eq!(p.dir_tail.chars().count(), DIR_TAIL_CHARS);
    }

    #[test]
    fn paths_wrap_after_slashes_and_stay_escaped() {
        assert_eq!(path_html("/m/<b>&x"), "/<wbr>m/<wbr>&lt;b&gt;&amp;x");
    }

    #[test]
    fn os_error_numbers_are_dropped() {
        assert_eq!(
            plain("Opening it failed: No such file or directory (os error 2). Nothing was done."),
            "Opening it failed: No such file or directory. Nothing was done."
        );
        assert_eq!(plain("fine"), "fine");
        assert_eq!(plain("cut (os error 5"), "cut");
    }

    #[test]
    fn measured_values_read_in_units_and_internals_stay_hidden() {
        let m: BTreeMap<String, Value> = [
            ("size", json!(9_499_093)),
            ("bitrate_estimated", json!(false)),
            ("video_bitrate", json!(1_534_000)),
            ("inode_before", json!(42)),
            ("stderr_tail", json!(["[hevc @ 0x55d1] error"])),
            ("fps", json!(25.0)),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v))
        .collect();
        let f = facts(&m);
        let shown: Vec<(&str, &str)> = f.iter().map(|f| (f.label, f.value.as_str())).collect();
        assert_eq!(
            shown,
            vec![
                ("File size", "9.1 MiB"),
                ("Frame rate", "25 fps"),
                ("Video bit rate", "1534 kb/s"),
            ]
        );
    }

    #[test]
    fn times_read_in_the_owners_zone() {
        // Outside a request the zone is UTC.
        assert_eq!(when("2026-12-05T14:13:00.510544818Z"), "2026-12-05 14:13");
        assert_eq!(when_s("2026-12-05T14:13:07.5Z"), "2026-12-05 14:13:07");
        assert_eq!(day("2026-12-05T23:59:00Z"), "2026-12-05");
        assert_eq!(when("not a time"), "not a time");
    }
}

//! Pure parsers for what ffmpeg says about itself: the `-encoders` table, the `-hwaccels` list
//! and the `-version` banner. Tested against recorded outputs of two builds (Debian 12's 5.1 and
//! the static 7.0 build shipped in the imageio-ffmpeg wheel) in tests/fixtures/ffmpeg/.

/// Filters `-filters` is searched for: what can tonemap HDR to SDR.
pub const TONEMAP_FILTERS: [&str; 5] = [
    "zscale",
    "tonemap",
    "libplacebo",
    "tonemap_vaapi",
    "tonemap_opencl",
];

/// The names of [`TONEMAP_FILTERS`] that `ffmpeg -hide_banner -filters` lists. Rows are
/// ` TSC name  V->V  description` (three flag characters); the legend above them is skipped
/// because its second word is never a filter name.
pub fn parse_tonemap_filters(text: &str) -> Vec<String> {
    text.lines()
        .filter_map(|l| {
            let mut words = l.split_whitespace();
            let flags = words.next()?;
            let name = words.next()?;
            let io = words.next()?;
            (flags.len() == 3 && io.contains("->") && TONEMAP_FILTERS.contains(&name))
                .then(|| name.to_string())
        })
        .collect()
}

/// Parse `ffmpeg -hide_banner -encoders` output into `(name, kind, description)` rows, where
/// kind is 'V', 'A' or 'S'. The legend above the `------` line is skipped; malformed lines are
/// ignored rather than guessed at.
pub fn parse_encoders(text: &str) -> Vec<(String, char, String)> {
    let lines: Vec<&str> = text.lines().collect();
    let start = lines
        .iter()
        .position(|l| l.trim_start().starts_with("------"))
        .map_or(0, |i| i + 1);
    lines[start..].iter().filter_map(|l| parse_row(l)).collect()
}

fn parse_row(line: &str) -> Option<(String, char, String)> {
    let line = line.trim_start();
    let (flags, rest) = line.split_once(char::is_whitespace)?;
    let kind = flags.chars().next()?;
    let flags_ok = flags.len() == 6
        && matches!(kind, 'V' | 'A' | 'S')
        && flags
            .chars()
            .skip(1)
            .all(|c| c == '.' || c.is_ascii_uppercase());
    if !flags_ok {
        return None;
    }
    let rest = rest.trim_start();
    let (name, description) = rest
        .split_once(char::is_whitespace)
        .map_or((rest, ""), |(n, d)| (n, d.trim()));
    if name.is_empty() || name == "=" {
        return None;
    }
    Some((name.to_string(), kind, description.to_string()))
}

/// The version from `ffmpeg -version` ("ffmpeg version 5.1.9-0+deb12u1 Copyright …" →
/// "5.1.9-0+deb12u1").
pub fn parse_version(text: &str) -> Option<String> {
    text.lines().find_map(|line| {
        let (_, after) = line.split_once("ffmpeg version ")?;
        after
            .split_whitespace()
            .next()
            .filter(|v| !v.is_empty())
            .map(str::to_string)
    })
}

/// Parse `ffmpeg -hide_banner -hwaccels`: the method names under the "Hardware acceleration
/// methods:" heading, one per line.
pub fn parse_hwaccels(text: &str) -> Vec<String> {
    let mut lines = text.lines();
    if !lines.any(|l| l.trim_start().starts_with("Hardware acceleration methods")) {
        return Vec::new();
    }
    lines
        .map(str::trim)
        .filter(|l| !l.is_empty() && l.chars().all(|c| c.is_ascii_alphanumeric() || c == '_'))
        .map(str::to_string)
        .collect()
}

/// The first line of `ffmpeg -version` ("ffmpeg version 5.1.9-0+deb12u1 Copyright …"): the
/// build identity used in the capability fingerprint.
pub fn version_line(text: &str) -> Option<String> {
    text.lines()
        .find(|l| l.contains("ffmpeg version "))
        .map(|l| l.trim().to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    const ENCODERS: &str = include_str!(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/ffmpeg/encoders-5.1.txt"
    ));
    const VERSION: &str = include_str!(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/ffmpeg/version-5.1.txt"
    ));

    #[test]
    fn tonemap_filters_from_debian_ffmpeg_5_1() {
        let listing = include_str!(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/fixtures/ffmpeg/filters-5.1.txt"
        ));
        assert_eq!(
            parse_tonemap_filters(listing),
            [
                "libplacebo",
                "tonemap",
                "tonemap_opencl",
                "tonemap_vaapi",
                "zscale"
            ]
        );
        // The legend ("  T.. = Timeline support") names no filter.
        assert!(parse_tonemap_filters("Filters:\n  T.. = Timeline support\n").is_empty());
    }

    #[test]
    fn encoders_from_debian_ffmpeg_5_1() {
        let rows = parse_encoders(ENCODERS);
        let find = |n: &str| rows.iter().find(|r| r.0 == n).cloned();
        assert_eq!(
            find("libx265"),
            Some((
                "libx265".to_string(),
                'V',
                "libx265 H.265 / HEVC (codec hevc)".to_string()
            ))
        );
        assert_eq!(find("libsvtav1").unwrap().1, 'V');
        assert_eq!(find("libx264").unwrap().1, 'V');
        assert_eq!(find("aac").unwrap().1, 'A');
        assert_eq!(find("mov_text").unwrap().1, 'S');
        assert!(rows.iter().all(|r| r.0 != "=" && !r.0.is_empty()));
        // The legend ("V..... = Video") is not an encoder.
        assert!(find("Video").is_none());
        assert!(rows.len() > 100, "{}", rows.len());
    }

    #[test]
    fn encoders_without_separator_and_garbage() {
        let text = " V....D libx264   libx264 H.264\nnot a row\n A..... aac AAC (Advanced Audio Coding)\n V..... = Video\n";
        let rows = parse_encoders(text);
        assert_eq!(
            rows,
            vec![
                ("libx264".to_string(), 'V', "libx264 H.264".to_string()),
                (
                    "aac".to_string(),
                    'A',
                    "AAC (Advanced Audio Coding)".to_string()
                ),
            ]
        );
        assert!(parse_encoders("").is_empty());
    }

    const ENCODERS_7: &str = include_str!(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/ffmpeg/encoders-7.0-static.txt"
    ));
    const VERSION_7: &str = include_str!(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/ffmpeg/version-7.0-static.txt"
    ));
    const HWACCELS_5: &str = include_str!(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/ffmpeg/hwaccels-5.1.txt"
    ));
    const HWACCELS_7: &str = include_str!(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/ffmpeg/hwaccels-7.0-static.txt"
    ));

    #[test]
    fn encoders_of_the_static_7_0_build_have_no_vaapi() {
        let rows = parse_encoders(ENCODERS_7);
        let video = |n: &str| rows.iter().any(|r| r.0 == n && r.1 == 'V');
        assert!(video("libx265") && video("libx264") && video("libaom-av1"));
        assert!(!video("libsvtav1"), "this build has no SVT-AV1");
        assert!(rows.iter().all(|r| !r.0.ends_with("_vaapi")));
        // Debian's build lists the VAAPI encoders (there is no GPU behind them here).
        let debian = parse_encoders(ENCODERS);
        for e in ["h264_vaapi", "hevc_vaapi", "vp9_vaapi"] {
            assert!(debian.iter().any(|r| r.0 == e && r.1 == 'V'), "{e}");
        }
        assert!(
            debian.iter().all(|r| r.0 != "av1_vaapi"),
            "5.1 predates av1_vaapi"
        );
    }

    #[test]
    fn hwaccels_of_two_builds() {
        assert_eq!(
            parse_hwaccels(HWACCELS_5),
            ["vdpau", "cuda", "vaapi", "qsv", "drm", "opencl", "vulkan"]
        );
        assert_eq!(parse_hwaccels(HWACCELS_7), ["vdpau"]);
        assert!(parse_hwaccels("").is_empty());
        assert!(parse_hwaccels("sh: 1: ffmpeg: not found\n").is_empty());
    }

    #[test]
    fn version_lines_identify_the_build() {
        assert_eq!(parse_version(VERSION_7).as_deref(), Some("7.0.2-static"));
        assert!(
            version_line(VERSION_7)
                .unwrap()
                .starts_with("ffmpeg version 7.0.2-static")
        );
        assert!(
            version_line(VERSION)
                .unwrap()
                .starts_with("ffmpeg version 5.1.9")
        );
        assert_eq!(version_line("garbage"), None);
    }

    #[test]
    fn version_from_banner() {
        assert_eq!(parse_version(VERSION).as_deref(), Some("5.1.9-0+deb12u1"));
        assert_eq!(
            parse_version("ffmpeg version n7.1 Copyright (c) 2000-2024").as_deref(),
            Some("n7.1")
        );
        assert_eq!(parse_version("sh: ffmpeg: not found"), None);
    }
}

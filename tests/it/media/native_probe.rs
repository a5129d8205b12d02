//! The native probe against ffprobe, differentially: a corpus of tiny clips covering every
//! codec, container and colour combination the planner distinguishes (made here with ffmpeg,
//! and with mkvmerge for Matroska as mkvmerge writes it: statistics tags, track flags), plus
//! containers the native path must decline. For every file the native `MediaInfo` and the plan
//! under every built-in profile must equal ffprobe's, or the native path must decline. Damaged
//! copies (truncated, bit-flipped) must be read or declined without a panic. The counts are
//! printed. Self-contained: its own clip directory and recipes.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use alchemist::media::MediaInfo;
use alchemist::media::ProbeSource;
use alchemist::media::native;
use alchemist::media::plan::{Capabilities, Profile, plan};
use alchemist::media::probe::{probe, probe_ffprobe};
use serde_json::Value;

const FFMPEG: &str = "/usr/bin/ffmpeg";
const FFPROBE: &str = "/usr/bin/ffprobe";

/// The ffprobe to compare with: Debian's by default; `NATIVE_PROBE_FFPROBE` names another (the
/// appliance's static build) to check the native path against that one too.
fn reference_ffprobe() -> PathBuf {
    std::env::var_os("NATIVE_PROBE_FFPROBE").map_or_else(|| PathBuf::from(FFPROBE), PathBuf::from)
}
const MKVMERGE: &str = "/usr/bin/mkvmerge";

const V: &str = "-f lavfi -i testsrc2=size=320x240:rate=25:duration=1";
const A: &str = "-f lavfi -i sine=frequency=440:sample_rate=48000:duration=1";
const X265: &str = "-c:v libx265 -preset ultrafast -x265-params log-level=error";
const HDR10: &str = "-color_trc smpte2084 -color_primaries bt2020 -colorspace bt2020nc";
const HLG: &str = "-color_trc arib-std-b67 -color_primaries bt2020 -colorspace bt2020nc";

/// `(file name, ffmpeg arguments between the inputs and the output)`.
fn recipes() -> Vec<(&'static str, String)> {
    let x264 = "-c:v libx264 -preset ultrafast";
    vec![
        ("h264_aac.mp4", format!("{V} {A} {x264} -c:a aac")),
        ("h264_aac_faststart.mp4", format!("{V} {A} {x264} -c:a aac -movflags +faststart")),
        ("h264_aac.mov", format!("{V} {A} {x264} -c:a aac")),
        ("h264_aac.mkv", format!("{V} {A} {x264} -c:a aac")),
        ("h264_noaudio.mkv", format!("{V} {x264}")),
        ("h264_fullrange.mkv", format!("{V} {x264} -pix_fmt yuvj420p")),
        ("h264_422_10.mkv", format!("{V} {x264} -pix_fmt yuv422p10le")),
        ("h264_444.mp4", format!("{V} {x264} -pix_fmt yuv444p")),
        ("h264_hdr10.mkv", format!("{V} {A} {x264} -pix_fmt yuv420p10le {HDR10} -c:a aac")),
        ("h264_hdr10.mp4", format!("{V} {A} {x264} -pix_fmt yuv420p10le {HDR10} -c:a aac")),
        ("h264_hlg.mp4", format!("{V} {A} {x264} -pix_fmt yuv420p10le {HLG} -c:a aac")),
        ("h264_bt709.mp4", format!("{V} {x264} -color_trc bt709 -color_primaries bt709 -colorspace bt709")),
        ("h264_interlaced.mkv", format!("{V} {x264} -flags +ilme+ildct -x264-params tff=1")),
        ("h264_2997.mkv", "-f lavfi -i testsrc2=size=320x240:rate=30000/1001:duration=1 -c:v libx264 -preset ultrafast".into()),
        ("h264_2398.mp4", "-f lavfi -i testsrc2=size=320x240:rate=24000/1001:duration=1 -c:v libx264 -preset ultrafast".into()),
        ("h264_720p_lean.mkv", "-f lavfi -i testsrc2=size=1280x720:rate=25:duration=1 -c:v libx264 -preset ultrafast -crf 51".into()),
        ("hevc_opus.mkv", format!("{V} {A} {X265} -c:a libopus")),
        ("hevc_aac.mp4", format!("{V} {A} {X265} -tag:v hvc1 -c:a aac")),
        ("hevc10_hdr10.mkv", format!("{V} {X265} -pix_fmt yuv420p10le {HDR10}")),
        ("hevc10_hdr10.mp4", format!("{V} {X265} -pix_fmt yuv420p10le {HDR10} -tag:v hvc1")),
        ("hevc10_hlg.mkv", format!("{V} {X265} -pix_fmt yuv420p10le {HLG}")),
        ("hevc10_sdr.mp4", format!("{V} {A} {X265} -pix_fmt yuv420p10le -c:a aac")),
        ("av1_opus.mkv", format!("{V} {A} -c:v libsvtav1 -preset 12 -c:a libopus")),
        ("av1_opus.mp4", format!("{V} {A} -c:v libsvtav1 -preset 12 -c:a libopus")),
        ("av1_10_hdr10.webm", format!("{V} -c:v libsvtav1 -preset 12 -pix_fmt yuv420p10le {HDR10}")),
        ("vp9_opus.webm", format!("{V} {A} -c:v libvpx-vp9 -deadline realtime -cpu-used 8 -c:a libopus")),
        ("vp9_10.webm", format!("{V} -c:v libvpx-vp9 -deadline realtime -cpu-used 8 -pix_fmt yuv420p10le")),
        ("vp9.mp4", format!("{V} -c:v libvpx-vp9 -deadline realtime -cpu-used 8")),
        ("vp8_vorbis.webm", format!("{V} {A} -c:v libvpx -deadline realtime -cpu-used 8 -c:a libvorbis")),
        ("mpeg2.mkv", format!("{V} {A} -c:v mpeg2video -c:a mp2")),
        ("mpeg4.mkv", format!("{V} {A} -c:v mpeg4 -c:a aac")),
        ("many_audio.mkv", format!(
            "{V} {A} -map 0 -map 1 -map 1 -map 1 -map 1 {x264} -c:a:0 aac -c:a:1 libopus \
             -c:a:2 flac -c:a:3 aac -ac:a:3 6 -c:a:4 libopus -metadata:s:a:0 language=ger \
             -metadata:s:a:1 language=jpn -disposition:a:1 default")),
        ("rules_flags.mkv", format!(
            "{V} {A} -i SUB.srt -map 0 -map 1 -map 1 -map 2 {x264} -c:a aac -c:s srt \
             -metadata:s:a:0 title=Commentary -disposition:a:0 comment \
             -disposition:a:1 original+visual_impaired -disposition:s:0 hearing_impaired")),
        ("ac3.mkv", format!("{V} {A} {x264} -c:a ac3")),
        ("eac3.mp4", format!("{V} {A} {x264} -c:a eac3")),
        ("mp3.mp4", format!("{V} {A} {x264} -c:a libmp3lame")),
        ("pcm.mov", format!("{V} {A} {x264} -c:a pcm_s24le")),
        ("alac.mp4", format!("{V} {A} {x264} -c:a alac")),
        ("flac.mp4", format!("{V} {A} {x264} -c:a flac -strict -2")),
        ("aac51.mp4", format!("{V} {A} {x264} -c:a aac -ac 6")),
        ("audio_only.m4a", format!("{A} -c:a aac")),
        ("audio_only.mka", format!("{A} -c:a libopus")),
        ("srt.mkv", format!("{V} {A} -i SUB.srt -map 0 -map 1 -map 2 {x264} -c:a aac -c:s srt -metadata:s:s:0 language=fre -disposition:s:0 forced")),
        ("ass_font.mkv", format!("{V} {A} -i SUB.srt -attach FONT.ttf -metadata:s:t mimetype=font/ttf -map 0 -map 1 -map 2 {x264} -c:a aac -c:s ass")),
        ("cover_attachment.mkv", format!("{V} -attach COVER.png -metadata:s:t mimetype=image/png {x264}")),
        ("movtext.mp4", format!("{V} {A} -i SUB.srt -map 0 -map 1 -map 2 {x264} -c:a aac -c:s mov_text -metadata:s:s:0 language=eng")),
        ("webvtt.webm", format!("{V} -i SUB.srt -map 0 -map 1 -c:v libvpx-vp9 -deadline realtime -cpu-used 8 -c:s webvtt")),
        ("chapters.mkv", format!("{V} -i CHAPTERS.txt -map 0 -map_metadata 1 {x264}")),
        ("chapters.mp4", format!("{V} -i CHAPTERS.txt -map 0 -map_metadata 1 {x264}")),
        ("two_video.mkv", format!("{V} -f lavfi -i testsrc2=size=640x360:rate=25:duration=1 -map 0 -map 1 {x264}")),
        ("h264.ts", format!("{V} {A} {x264} -c:a aac")),
        ("mpeg4.avi", format!("{V} -c:v mpeg4")),
    ]
}

/// mkvmerge remuxes of generated files: `(output, source, extra mkvmerge options)`.
fn mkvmerge_recipes() -> Vec<(&'static str, &'static str, &'static str)> {
    vec![
        ("mkvmerge_h264.mkv", "h264_aac.mp4", ""),
        ("mkvmerge_hevc_hdr.mkv", "hevc10_hdr10.mkv", ""),
        (
            "mkvmerge_many.mkv",
            "many_audio.mkv",
            "--default-track-flag 2:0 --forced-display-flag 3:1",
        ),
        ("mkvmerge_subs.mkv", "srt.mkv", "--language 2:spa"),
        (
            "mkvmerge_flags.mkv",
            "many_audio.mkv",
            "--commentary-flag 1:1 --original-flag 2:1 --visual-impaired-flag 3:1 \
             --track-name 4:Descriptive",
        ),
        ("mkvmerge_av1.mkv", "av1_opus.mp4", ""),
        ("mkvmerge_dovi.mkv", "hevc_dovi.mp4", ""),
    ]
}

fn run(program: &str, args: &[String], dir: &Path) {
    let out = Command::new(program)
        .args(args)
        .current_dir(dir)
        .output()
        .unwrap_or_else(|e| panic!("{program} could not start ({e}); .ci/dev installs it"));
    assert!(
        out.status.success() || (program == MKVMERGE && out.status.code() == Some(1)),
        "{program} {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Generate the corpus into `dir`; the paths made.
fn corpus(dir: &Path) -> Vec<PathBuf> {
    std::fs::write(
        dir.join("SUB.srt"),
        "1\n00:00:00,000 --> 00:00:00,500\nhello\n",
    )
    .unwrap();
    std::fs::write(dir.join("FONT.ttf"), b"not really a font").unwrap();
    std::fs::write(
        dir.join("CHAPTERS.txt"),
        ";FFMETADATA1\n[CHAPTER]\nTIMEBASE=1/1000\nSTART=0\nEND=500\ntitle=One\n\
         [CHAPTER]\nTIMEBASE=1/1000\nSTART=500\nEND=1000\ntitle=Two\n",
    )
    .unwrap();
    run(
        FFMPEG,
        &split("-v error -y -f lavfi -i color=red:size=64x64 -frames:v 1 COVER.png"),
        dir,
    );
    let mut made = Vec::new();
    for (name, args) in recipes() {
        let mut a = split("-hide_banner -v error -nostdin -y");
        a.extend(split(&args));
        a.push(name.to_string());
        run(FFMPEG, &a, dir);
        made.push(dir.join(name));
    }
    // Dolby Vision: ffmpeg cannot encode it, so a profile 8.1 configuration record is added
    // to an HEVC HDR10 MP4's sample entry; mkvmerge carries it into Matroska below.
    inject_dovi(&dir.join("hevc10_hdr10.mp4"), &dir.join("hevc_dovi.mp4"));
    made.push(dir.join("hevc_dovi.mp4"));
    for (name, source, extra) in mkvmerge_recipes() {
        let mut a = split("-q -o");
        a.push(name.to_string());
        a.extend(split(extra));
        a.push(source.to_string());
        run(MKVMERGE, &a, dir);
        made.push(dir.join(name));
    }
    made
}

/// Copy `src` (an MP4 with `moov` after `mdat`, so no chunk offset moves) with a `dvcC` box
/// (Dolby Vision profile 8, level 1, RPU + base layer, compatibility 1) after its `hvcC`,
/// growing every enclosing box.
fn inject_dovi(src: &Path, dst: &Path) {
    let mut data = std::fs::read(src).unwrap();
    let find = |data: &[u8], tag: &[u8], before: usize| {
        data[..before].windows(4).rposition(|w| w == tag).unwrap()
    };
    let hvcc = find(&data, b"hvcC", data.len()) - 4;
    let hvcc_len = u32::from_be_bytes(data[hvcc..hvcc + 4].try_into().unwrap()) as usize;
    let at = hvcc + hvcc_len;
    let moov = find(&data, b"moov", data.len()) - 4;
    assert!(
        moov > find(&data, b"mdat", data.len()),
        "moov must follow mdat"
    );
    let bits: u32 = (8 << 17) | (1 << 11) | (1 << 10) | (1 << 8) | (1 << 4);
    let mut record = vec![0, 0, 0, 32, b'd', b'v', b'c', b'C', 1, 0];
    record.extend_from_slice(&bits.to_be_bytes()[1..]);
    record.resize(32, 0);
    for tag in [
        b"hvc1", b"stsd", b"stbl", b"minf", b"mdia", b"trak", b"moov",
    ] {
        let start = find(&data, tag, at) - 4;
        let len = u32::from_be_bytes(data[start..start + 4].try_into().unwrap());
        assert!(
            start + len as usize >= at,
            "{} does not enclose hvcC",
            String::from_utf8_lossy(tag)
        );
        data[start..start + 4].copy_from_slice(&(len + 32).to_be_bytes());
    }
    data.splice(at..at, record);
    std::fs::write(dst, data).unwrap();
}

fn split(s: &str) -> Vec<String> {
    s.split_whitespace().map(str::to_string).collect()
}

/// Leaf-by-leaf comparison of two JSON values: (fields compared, differences).
fn compare(path: &str, a: &Value, b: &Value, diffs: &mut Vec<String>) -> usize {
    match (a, b) {
        (Value::Object(x), Value::Object(y)) => {
            let keys: std::collections::BTreeSet<&String> = x.keys().chain(y.keys()).collect();
            keys.into_iter()
                .map(|k| {
                    let null = Value::Null;
                    compare(
                        &format!("{path}.{k}"),
                        x.get(k).unwrap_or(&null),
                        y.get(k).unwrap_or(&null),
                        diffs,
                    )
                })
                .sum()
        }
        (Value::Array(x), Value::Array(y)) if x.len() == y.len() => x
            .iter()
            .zip(y)
            .enumerate()
            .map(|(i, (p, q))| compare(&format!("{path}[{i}]"), p, q, diffs))
            .sum(),
        _ => {
            if a != b {
                diffs.push(format!("{path}: native {a} ≠ ffprobe {b}"));
            }
            1
        }
    }
}

fn without_source(info: &MediaInfo) -> Value {
    let mut v = serde_json::to_value(info).unwrap();
    v.as_object_mut().unwrap().remove("source");
    v
}

#[derive(Default)]
struct Counts {
    files: usize,
    compared: usize,
    fields: usize,
    agreements: usize,
    declines: BTreeMap<String, usize>,
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn native_probe_agrees_with_ffprobe_or_declines() {
    let dir = tempfile::tempdir().unwrap();
    let files = corpus(dir.path());
    let mut counts = Counts::default();
    let mut failures = Vec::new();
    let mut dolby_vision = Vec::new();
    let caps = Capabilities::all_cpu();
    for file in &files {
        counts.files += 1;
        let name = file.file_name().unwrap().to_string_lossy().into_owned();
        let native_result = native::probe(file);
        if let Err(d) = &native_result {
            println!("declined {name}: {} ({d})", d.code());
            *counts.declines.entry(d.code().to_string()).or_default() += 1;
        }
        let reference = match probe_ffprobe(&reference_ffprobe(), file).await {
            Ok(r) => r,
            // Another ffprobe may fail where Debian's does not: say so, compare the rest.
            Err(e) if std::env::var_os("NATIVE_PROBE_FFPROBE").is_some() => {
                println!("reference ffprobe failed on {name}: {e}");
                continue;
            }
            Err(e) => panic!("ffprobe failed on {name}: {e}"),
        };
        if reference.video.as_ref().is_some_and(|v| v.dolby_vision) {
            dolby_vision.push(name.clone());
        }
        match native_result {
            Err(_) => {}
            Ok(info) => {
                counts.compared += 1;
                let mut diffs = Vec::new();
                let n = compare(
                    "",
                    &without_source(&info),
                    &without_source(&reference),
                    &mut diffs,
                );
                counts.fields += n;
                counts.agreements += n - diffs.len();
                for name_p in Profile::PRESETS {
                    let profile = Profile::preset(name_p).unwrap();
                    let mut expected = reference.clone();
                    expected.source = info.source;
                    if plan(&info, &profile, &caps) != plan(&expected, &profile, &caps) {
                        diffs.push(format!("plan under profile {name_p} differs"));
                    }
                }
                if !diffs.is_empty() {
                    failures.push(format!("{name}:\n  {}", diffs.join("\n  ")));
                }
            }
        }
    }
    let declined: usize = counts.declines.values().sum();
    println!(
        "native probe differential: {} files, {} read natively, {} fields compared, {} agreements, \
         {declined} declines {:?}",
        counts.files, counts.compared, counts.fields, counts.agreements, counts.declines
    );
    assert!(
        failures.is_empty(),
        "native ≠ ffprobe:\n{}",
        failures.join("\n")
    );
    // The corpus is built so that most files are read natively; a parser that declines
    // everything would pass the comparison above vacuously.
    assert!(
        counts.compared * 3 >= counts.files * 2,
        "only {} of {} files were read natively",
        counts.compared,
        counts.files
    );
    assert_eq!(
        counts.declines.get("other_container"),
        Some(&2),
        "ts and avi"
    );
    damaged_copies_never_panic(&files, dir.path());
}

/// Truncations at many lengths and single-byte corruptions of every corpus file: the native
/// probe returns facts or declines, never panics.
fn damaged_copies_never_panic(files: &[PathBuf], dir: &Path) {
    let damaged = dir.join("damaged.bin");
    let mut runs = 0;
    for file in files {
        let bytes = std::fs::read(file).unwrap();
        let len = bytes.len();
        let cuts = (1..40)
            .map(|i| len * i / 40)
            .chain([0, 1, 4, 11, 100, 1000]);
        for cut in cuts.filter(|c| *c <= len) {
            std::fs::write(&damaged, &bytes[..cut]).unwrap();
            let _ = native::probe(&damaged);
            runs += 1;
        }
        for i in 0..64 {
            let at = (i * 7919 + 13) % len.clamp(1, 8192);
            let mut copy = bytes.clone();
            if let Some(b) = copy.get_mut(at) {
                *b ^= 0x5a;
            }
            std::fs::write(&damaged, &copy).unwrap();
            let _ = native::probe(&damaged);
            runs += 1;
        }
    }
    println!("native probe robustness: {runs} damaged copies read or declined without a panic");
}

/// `probe::probe`, what the engine and `alchemist plan` call: native for Matroska/MP4 it can
/// read, ffprobe behind it for the rest, and the result says which.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn probe_is_native_first_with_ffprobe_behind_it() {
    let dir = tempfile::tempdir().unwrap();
    let mut made = Vec::new();
    for name in ["h264_aac.mkv", "h264.ts", "mpeg2.mkv"] {
        let (_, args) = recipes().into_iter().find(|(n, _)| *n == name).unwrap();
        let mut a = split("-hide_banner -v error -nostdin -y");
        a.extend(split(&args));
        a.push(name.to_string());
        run(FFMPEG, &a, dir.path());
        made.push(dir.path().join(name));
    }
    let ffprobe = Path::new(FFPROBE);
    let native = probe(ffprobe, &made[0]).await.unwrap();
    assert_eq!(native.source, ProbeSource::Native);
    let reference = probe_ffprobe(ffprobe, &made[0]).await.unwrap();
    assert_eq!(reference.source, ProbeSource::Ffprobe);
    assert_eq!(without_source(&native), without_source(&reference));
    // Another container, and a codec the native path does not read: ffprobe answers.
    for other in &made[1..] {
        let info = probe(ffprobe, other).await.unwrap();
        assert_eq!(info.source, ProbeSource::Ffprobe, "{}", other.display());
        assert!(info.video.is_some());
    }
    // Not a media file at all: ffprobe's error, as before.
    let junk = dir.path().join("junk.mkv");
    std::fs::write(&junk, b"not a video").unwrap();
    assert!(probe(ffprobe, &junk).await.is_err());
    // The JSON that the probe cache stores and `alchemist plan --json` prints says it too.
    let json = serde_json::to_value(&native).unwrap();
    assert_eq!(json["source"], "native");
}

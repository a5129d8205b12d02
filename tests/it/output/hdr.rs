//! HDR: a generated HDR10 clip (HEVC Main 10 by libx265, PQ/BT.2020 tags and HDR10 static
//! metadata) encoded by the real server. A profile with `hdr: "sdr"` gives BT.709 8-bit
//! output (tonemapped with the build's zscale + tonemap), even though the source is already
//! HEVC, and its pixels are tonemapped (mean luma well below the PQ codes read as SDR); the
//! default keeps the HDR tags and 10 bits.

use std::path::{Path, PathBuf};
use std::process::Command;

use alchemist::model::CpuEncoder;
use reqwest::Method;
use serde_json::json;

use super::{mean_luma, video_stream};
use crate::support::TestServer;
use crate::support::api::{add_folder_with_profile, ok, send};
use crate::support::clips::ffmpeg;
use crate::support::files::folder;
use crate::support::jobs::enqueue;

/// 1 s of 320x240 HDR10 HEVC in Matroska, at high quality so that any encode saves space.
fn hdr10_clip(dir: &Path) -> PathBuf {
    let out = dir.join("hdr film.mkv");
    let result = Command::new(ffmpeg())
        .args(["-hide_banner", "-nostdin", "-v", "error", "-y"])
        .args([
            "-f",
            "lavfi",
            "-i",
            "testsrc2=size=320x240:rate=25:duration=1",
        ])
        .args([
            "-pix_fmt",
            "yuv420p10le",
            "-c:v",
            "libx265",
            "-preset",
            "ultrafast",
        ])
        .args(["-crf", "5", "-x265-params"])
        .arg(
            "log-level=error:hdr10=1:colorprim=bt2020:transfer=smpte2084:colormatrix=bt2020nc:\
             master-display=G(13250,34500)B(7500,3000)R(34000,16000)WP(15635,16450)\
             L(10000000,1):max-cll=1000,400",
        )
        .args(["-color_primaries", "bt2020", "-color_trc", "smpte2084"])
        .args(["-colorspace", "bt2020nc"])
        .arg(&out)
        .output()
        .expect("run ffmpeg");
    assert!(
        result.status.success(),
        "{}",
        String::from_utf8_lossy(&result.stderr)
    );
    let v = video_stream(&out);
    assert_eq!(
        (&v["pix_fmt"], &v["color_transfer"], &v["color_primaries"]),
        (&json!("yuv420p10le"), &json!("smpte2084"), &json!("bt2020")),
        "the source is HDR10: {v:#}"
    );
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sdr_on_request_is_bt709_8_bit_and_hdr_is_kept_by_default() {
    let server = TestServer::start_with(|c| {
        c.transcode.encoder = CpuEncoder::Libx265;
        c.transcode.preset = Some("ultrafast".into());
    })
    .await;
    let token = server.login().await;
    let post = |body| send(&server, &token, Method::POST, "/api/profiles", body);
    let sdr = ok(
        post(
            json!({"name": "sdr", "base": "default", "hdr": "sdr", "bpp_factor": 0,
                    "min_saving_percent": 0}),
        )
        .await,
        201,
    )
    .await;
    assert_eq!(sdr["hdr"], "sdr", "{sdr:#}");
    // The default keeps HDR; H.264 here so that the HEVC source is encoded at all.
    let keep = ok(
        post(
            json!({"name": "keep-hdr", "base": "default", "encoder": "libx264",
                    "preset": "ultrafast", "bpp_factor": 0, "min_saving_percent": 0}),
        )
        .await,
        201,
    )
    .await;
    assert_eq!(keep["hdr"], "preserve", "the default: {keep:#}");

    let mut outputs = Vec::new();
    for (name, profile) in [("to-sdr", "sdr"), ("kept", "keep-hdr")] {
        let dir = folder(&server, name);
        ok(
            add_folder_with_profile(&server, &token, &dir, json!(profile)).await,
            201,
        )
        .await;
        let input = hdr10_clip(&dir);
        let id = enqueue(&server, &token, &input).await;
        let d = server.wait_job_end(&token, id).await;
        assert_eq!(d["job"]["status"], "completed", "{d:#}");
        outputs.push((d, dir.join("hdr film.alchemist.mkv")));
    }

    let (d, output) = &outputs[0];
    let decision = &d["job"]["decision"];
    let logs = d.to_string();
    assert!(
        logs.contains("tonemapping HDR to SDR with zscale: encoded on the CPU"),
        "the job log says why the CPU: {d:#}"
    );
    assert_eq!(
        decision["measured"]["hdr"], "hdr_tonemapped_to_sdr",
        "{d:#}"
    );
    assert_eq!(decision["measured"]["tonemapper"], "zscale", "{d:#}");
    assert!(
        decision["detail"]
            .as_str()
            .unwrap()
            .contains("tonemapped to SDR (BT.709) with zscale"),
        "{d:#}"
    );
    let v = video_stream(output);
    assert_eq!(v["codec_name"], "hevc");
    assert_eq!(v["pix_fmt"], "yuv420p", "8-bit SDR: {v:#}");
    assert_eq!(v["color_transfer"], "bt709", "{v:#}");
    assert_eq!(v["color_primaries"], "bt709", "{v:#}");
    assert_eq!(v["color_space"], "bt709", "{v:#}");
    // The pixels are tonemapped, not only retagged: PQ code values read as BT.709 keep the
    // source's mean luma (about 123 here), while the tonemapped picture is much darker (78).
    let source = mean_luma(&d["job"]["input_path"].as_str().map(PathBuf::from).unwrap());
    let tonemapped = mean_luma(output);
    assert!(
        tonemapped < source - 20.0,
        "mean luma {tonemapped:.1} against the source's {source:.1}: not tonemapped"
    );

    let (d, output) = &outputs[1];
    assert_eq!(
        d["job"]["decision"]["measured"]["hdr"], "hdr_preserved",
        "{d:#}"
    );
    let v = video_stream(output);
    assert_eq!(v["codec_name"], "h264");
    assert_eq!(v["pix_fmt"], "yuv420p10le", "HDR stays 10-bit: {v:#}");
    assert_eq!(v["color_transfer"], "smpte2084", "{v:#}");
    assert_eq!(v["color_primaries"], "bt2020", "{v:#}");
    assert_eq!(v["color_space"], "bt2020nc", "{v:#}");
    server.stop().await;
}

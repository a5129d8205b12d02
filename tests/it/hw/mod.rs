//! Hardware encoders: detection as seen on this machine, and the fallback to the CPU. There is
//! no GPU here, so the fallback tests make the engine believe in one ([`with_fake_vaapi`]).

mod detection;
mod fake_encoder;
mod fallback;

use std::path::{Path, PathBuf};

use alchemist::config::Config;
use serde_json::{Value, json};

use crate::support::wait::DETECTION;
use crate::support::{TestServer, wait_until};

/// The render node the faked GPU is on (this machine has none).
pub(super) const FAKE_NODE: &str = "/dev/dri/renderD128";

pub(super) async fn hardware(server: &TestServer, token: &str) -> Value {
    server.get_json("/api/system/hardware", token).await
}

pub(super) async fn until_hardware(
    server: &TestServer,
    token: &str,
    what: &str,
    pred: impl Fn(&Value) -> bool,
) -> Value {
    wait_until(DETECTION, what, async || {
        let hw = hardware(server, token).await;
        if pred(&hw) { Ok(hw) } else { Err(hw) }
    })
    .await
}

/// A server that encodes HEVC on a verified `hevc_vaapi` at [`FAKE_NODE`]. The first start
/// stores its real detection (fingerprint and all); the test adds the render node with its
/// verified encoder to that record; the second start, configured by `edit` (which gets the
/// temp dir, e.g. for a fake ffmpeg), reuses the record because the fingerprint (ffmpeg's
/// version line, the render nodes) is unchanged, and selects VAAPI for HEVC.
pub(super) async fn with_fake_vaapi(edit: impl FnOnce(&Path, &mut Config)) -> (TestServer, String) {
    let server = TestServer::start().await;
    let token = server.login().await;
    until_hardware(&server, &token, "detection to finish", |hw| {
        !hw["probed_at"].is_null()
    })
    .await;
    let (tmp, data_dir) = server.stop().await;
    {
        let store = alchemist::store::Store::open(&data_dir).unwrap();
        let mut record = store.capability_record().unwrap().unwrap();
        let vaapi = &mut record["capabilities"]["vaapi"];
        vaapi["listed_encoders"] = json!(["hevc_vaapi"]);
        vaapi["unavailable_reason"] = Value::Null;
        vaapi["devices"] = json!([{
            "node": {"path": FAKE_NODE, "bus": "pci", "vendor": "0x8086",
                     "device": "0x4e61", "kernel_driver": "i915", "compatible": null,
                     "access": "ok"},
            "driver": "iHD", "driver_vendor": null, "failure": null,
            "encoders": [{"codec": "hevc", "encoder": "hevc_vaapi", "verified": true,
                          "low_power": false, "ten_bit": false, "rate_control": "icq",
                          "failure": null}]
        }]);
        store.set_capability_record(&record).unwrap();
    }
    let dir: PathBuf = tmp.path().to_path_buf();
    let server = TestServer::start_in(tmp, data_dir, |c| edit(&dir, c)).await;
    let token = server.login().await;
    until_hardware(&server, &token, "VAAPI to be selected for HEVC", |hw| {
        hw["selected"]["hevc"] == "vaapi"
    })
    .await;
    (server, token)
}

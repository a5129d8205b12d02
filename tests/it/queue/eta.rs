//! `GET /api/stats/queue-eta`: before any encode the default speed is used and the basis says
//! so; after one real encode of a clip, the same clip queued again is estimated from the
//! measured speed (about the first encode's wall time) with a predicted saving of about what
//! the first encode saved. The widget's savings follow the completed encode.

use serde_json::Value;

use super::{engine, mpeg4_seconds, one_slot, size};
use crate::support::clips::copy_into;
use crate::support::files::library;
use crate::support::jobs::{details, enqueue};
use crate::support::sse::events_until_status;
use crate::support::{PROMPT, SHORT_JOB, TestServer, wait_until};

async fn eta(server: &TestServer, token: &str) -> Value {
    server.get_json("/api/stats/queue-eta", token).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn eta_uses_the_default_then_the_measured_speed() {
    let server = TestServer::start().await;
    let token = server.login().await;
    one_slot(&server, &token).await;
    engine(&server, &token, "pause").await;
    let lib = library(server.tmp.path());
    server.add_folder(&token, &lib).await;
    let clip = mpeg4_seconds(3);
    let first = copy_into(&lib, &clip, "first.mkv".as_ref());
    let a = enqueue(&server, &token, &first).await;

    // The analyser probes it ahead of dispatch (while paused); until then it counts as
    // unprobed, its duration guessed from its size.
    wait_until(PROMPT, "the queued clip to be probed", async || {
        let e = eta(&server, &token).await;
        !e["basis_detail"].as_str().unwrap().contains("not probed")
    })
    .await;
    let before = eta(&server, &token).await;
    assert_eq!(before["queued"], 1, "{before}");
    assert_eq!(before["basis"], "default", "{before}");
    let detail = before["basis_detail"].as_str().unwrap();
    assert!(detail.contains("no encode measured"), "{before}");
    let seconds = before["estimated_seconds"].as_u64().unwrap();
    // 3 s of media at the stated default of 0.5× real time.
    assert!((5..=7).contains(&seconds), "{before}");
    let saving = before["estimated_savings_bytes"].as_u64().unwrap();
    assert!(saving > 0 && saving < size(&first), "{before}");

    let mut sse = server.events(&token, None).await;
    engine(&server, &token, "resume").await;
    events_until_status(&mut sse, a, "completed", SHORT_JOB).await;
    engine(&server, &token, "pause").await;
    let done = details(&server, &token, a).await;
    let stats = &done["encode_stats"];
    let wall = stats["encode_time_seconds"].as_f64().unwrap();
    let saved =
        stats["input_size_bytes"].as_u64().unwrap() - stats["output_size_bytes"].as_u64().unwrap();

    let second = copy_into(&lib, &clip, "second.mkv".as_ref());
    enqueue(&server, &token, &second).await;
    // The analyser probes it ahead of dispatch; until then it counts as unprobed.
    wait_until(PROMPT, "the queued clip to be probed", async || {
        let e = eta(&server, &token).await;
        !e["basis_detail"].as_str().unwrap().contains("not probed")
    })
    .await;
    let after = eta(&server, &token).await;
    eprintln!("after one encode of {wall:.2} s saving {saved} B: {after}");
    assert_eq!(after["queued"], 1, "{after}");
    assert_eq!(after["basis"], "measured", "{after}");
    let detail = after["basis_detail"].as_str().unwrap();
    assert!(detail.contains("measured from 1 encode"), "{after}");
    // The same clip at the measured speed takes about as long as the first encode took.
    let seconds = after["estimated_seconds"].as_f64().unwrap();
    assert!(
        (seconds - wall).abs() <= 1.0,
        "{seconds} s estimated, {wall} s measured"
    );
    let predicted = after["estimated_savings_bytes"].as_f64().unwrap();
    let ratio = predicted / saved as f64;
    assert!(
        (0.5..=1.5).contains(&ratio),
        "predicted {predicted}, saved {saved}"
    );

    let widget = server.get_json("/api/widget", &token).await;
    assert_eq!(widget["total_savings_bytes"], saved, "{widget}");
    let split = widget["realized_savings_bytes"].as_i64().unwrap()
        + widget["potential_savings_bytes"].as_i64().unwrap();
    assert_eq!(split, saved as i64, "{widget}");
    drop(sse);
    server.stop().await;
}

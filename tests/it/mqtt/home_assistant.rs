//! The box as Home Assistant sees it: retained discovery config for every entity, naming the
//! state and command topics; `online` on the availability topic; a state message after an
//! engine change made through the API; and the switch and mode select driving the engine.

use reqwest::Method;
use rumqttc::QoS;
use serde_json::Value;

use super::{Broker, Subscriber, connected, settings};
use crate::support::api::ok;
use crate::support::{PROMPT, TestServer, wait_until};

/// The entities every box announces (without a temperature sensor: the test box has none).
const ENTITIES: [(&str, &str); 9] = [
    ("sensor", "engine_state"),
    ("sensor", "queue"),
    ("sensor", "current_job"),
    ("sensor", "progress"),
    ("sensor", "saved_today"),
    ("sensor", "saved_total"),
    ("sensor", "saved_potential"),
    ("switch", "running"),
    ("select", "mode"),
];

/// The engine's run state, as `GET /api/engine/status` says.
async fn engine(server: &TestServer, token: &str, field: &str) -> String {
    let status = server.get_json("/api/engine/status", token).await;
    status[field].as_str().unwrap_or_default().to_string()
}

/// Wait until a state message says `field` is `want`.
async fn state_says(sub: &Subscriber, topic: &str, field: &str, want: &str) -> Value {
    wait_until(
        PROMPT,
        format!("a state message with {field} = {want}"),
        async || {
            let last = sub.on(topic).last().map(|m| m.json());
            match last {
                Some(s) if s[field] == want => Ok(s),
                other => Err(format!("last state: {other:?}")),
            }
        },
    )
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn discovery_state_and_commands_over_a_real_broker() {
    let broker = Broker::anonymous().await;
    let server = TestServer::start().await;
    let token = server.login().await;
    let r = server
        .bearer(Method::PUT, "/api/settings/mqtt", &token)
        .json(&settings(broker.port))
        .send()
        .await
        .unwrap();
    let saved = ok(r, 200).await;
    assert_eq!(saved["password"], Value::Null, "{saved}");
    connected(&server, &token).await;

    // Subscribed after the box announced itself: what arrives now was retained.
    let sub = Subscriber::connect(broker.port, None).await;
    let configs = wait_until(PROMPT, "every discovery config, retained", async || {
        let all = sub.all();
        let found: Vec<_> = ENTITIES
            .iter()
            .filter_map(|(component, object)| {
                all.iter().find(|m| {
                    m.retain
                        && m.topic
                            .starts_with(&format!("homeassistant/{component}/alchemist"))
                        && m.topic.ends_with(&format!("/{object}/config"))
                })
            })
            .cloned()
            .collect();
        if found.len() == ENTITIES.len() {
            Ok(found)
        } else {
            Err(format!(
                "{} of {} configs: {:?}",
                found.len(),
                ENTITIES.len(),
                all
            ))
        }
    })
    .await;
    let config: Vec<Value> = configs.iter().map(|m| m.json()).collect();
    let state_topic = config[0]["state_topic"].as_str().unwrap().to_string();
    let availability = config[0]["availability_topic"]
        .as_str()
        .unwrap()
        .to_string();
    for c in &config {
        assert_eq!(c["state_topic"], state_topic.as_str(), "{c}");
        assert_eq!(c["device"]["name"], "Alchemist", "{c}");
        assert_eq!(
            c["device"]["identifiers"], config[0]["device"]["identifiers"],
            "{c}"
        );
        assert!(c["device"]["sw_version"].is_string(), "{c}");
        assert!(c["unique_id"].is_string(), "{c}");
    }
    let switch = &config[7];
    let select = &config[8];
    let switch_command = switch["command_topic"].as_str().unwrap().to_string();
    let mode_command = select["command_topic"].as_str().unwrap().to_string();
    assert_eq!(
        select["options"],
        serde_json::json!(["background", "balanced", "throughput"])
    );
    wait_until(
        PROMPT,
        "`online` retained on the availability topic",
        async || {
            sub.on(&availability)
                .iter()
                .any(|m| m.retain && m.payload == b"online")
        },
    )
    .await;

    // The retained state, then a state message after a pause through the API.
    state_says(&sub, &state_topic, "state", "running").await;
    let r = server
        .bearer(Method::POST, "/api/engine/pause", &token)
        .send()
        .await
        .unwrap();
    ok(r, 200).await;
    let state = state_says(&sub, &state_topic, "state", "paused").await;
    assert_eq!(state["queued"], 0, "{state}");
    assert_eq!(state["current_job"], "none", "{state}");
    let r = server
        .bearer(Method::POST, "/api/engine/resume", &token)
        .send()
        .await
        .unwrap();
    ok(r, 200).await;
    state_says(&sub, &state_topic, "state", "running").await;

    // The switch: OFF pauses the engine, ON resumes it.
    sub.client
        .publish(&switch_command, QoS::AtLeastOnce, false, "OFF")
        .await
        .unwrap();
    wait_until(PROMPT, "the switch's OFF to pause the engine", async || {
        let s = engine(&server, &token, "status").await;
        if s == "paused" { Ok(()) } else { Err(s) }
    })
    .await;
    let status = server.get_json("/api/engine/status", &token).await;
    assert_eq!(status["paused_reason"], "paused by the user", "{status}");
    sub.client
        .publish(&switch_command, QoS::AtLeastOnce, false, "ON")
        .await
        .unwrap();
    wait_until(PROMPT, "the switch's ON to resume the engine", async || {
        let s = engine(&server, &token, "status").await;
        if s == "running" { Ok(()) } else { Err(s) }
    })
    .await;

    // The select: a mode, and the state follows.
    sub.client
        .publish(&mode_command, QoS::AtLeastOnce, false, "throughput")
        .await
        .unwrap();
    wait_until(PROMPT, "the select to set the mode", async || {
        let m = engine(&server, &token, "mode").await;
        if m == "throughput" { Ok(()) } else { Err(m) }
    })
    .await;
    state_says(&sub, &state_topic, "mode", "throughput").await;

    // The engine stays paused: nothing here is to be encoded while the server stops.
    let r = server
        .bearer(Method::POST, "/api/engine/pause", &token)
        .send()
        .await
        .unwrap();
    ok(r, 200).await;
    server.stop().await;
    // The server is gone: the broker sends its last will.
    wait_until(
        PROMPT,
        "`offline` (the last will) on the availability topic",
        async || {
            sub.on(&availability)
                .last()
                .is_some_and(|m| m.payload == b"offline")
        },
    )
    .await;
    drop(broker);
}

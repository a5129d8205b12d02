//! Home Assistant MQTT discovery, pure: the topics of one box, the retained config message of
//! each entity (`<prefix>/<component>/<node_id>/<object_id>/config`), the one JSON state message
//! every entity reads its value from (through a `value_template`), and the parsing of commands.
//! All entities share one device block, so Home Assistant shows the box as one device, and one
//! availability topic, set `online` on connect and `offline` by the broker's last will.

use serde::Serialize;
use serde_json::{Value, json};

use crate::engine::EngineCommand;
use crate::model::{EngineMode, EngineRunState};

/// The switch's payloads: on = running.
pub const ON: &str = "ON";
pub const OFF: &str = "OFF";
pub const ONLINE: &str = "online";
pub const OFFLINE: &str = "offline";

/// The topics of one box.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Topics {
    pub prefix: String,
    /// Unique per box on a broker: from the host name.
    pub node_id: String,
    pub availability: String,
    pub state: String,
    pub switch_command: String,
    pub mode_command: String,
}

impl Topics {
    pub fn new(prefix: &str, hostname: &str) -> Topics {
        let node_id = node_id(hostname);
        let base = format!("alchemist/{node_id}");
        Topics {
            prefix: prefix.to_string(),
            availability: format!("{base}/availability"),
            state: format!("{base}/state"),
            switch_command: format!("{base}/running/set"),
            mode_command: format!("{base}/mode/set"),
            node_id,
        }
    }

    fn config(&self, component: &str, object_id: &str) -> String {
        format!(
            "{}/{component}/{}/{object_id}/config",
            self.prefix, self.node_id
        )
    }
}

/// Home Assistant allows `[a-zA-Z0-9_-]` in a node id; anything else becomes `_`.
fn node_id(hostname: &str) -> String {
    let id: String = hostname
        .chars()
        .map(|c| match c {
            'a'..='z' | '0'..='9' | '_' | '-' => c,
            'A'..='Z' => c.to_ascii_lowercase(),
            _ => '_',
        })
        .collect();
    if id.is_empty() {
        "alchemist".into()
    } else {
        format!("alchemist_{id}")
    }
}

/// What the state topic carries (JSON, retained).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct State {
    pub state: EngineRunState,
    pub mode: EngineMode,
    pub queued: u64,
    pub active: u64,
    /// The file name of the oldest running job, or `none`.
    pub current_job: String,
    /// 0-100, 0 when no job runs.
    pub progress: f64,
    /// Bytes saved by today's encodes (UTC day).
    pub saved_today_bytes: i64,
    /// Freed on disk (originals replaced or deleted).
    pub saved_realized_bytes: i64,
    /// Could be freed (outputs kept beside their originals).
    pub saved_potential_bytes: i64,
    pub temperature_c: Option<f64>,
}

/// One entity: its component, object id and the fields particular to it.
fn entity(component: &str, object_id: &str, name: &str, extra: Value) -> (String, String, Value) {
    let mut config = json!({ "name": name });
    if let (Some(c), Value::Object(e)) = (config.as_object_mut(), extra) {
        c.extend(e);
    }
    (component.into(), object_id.into(), config)
}

fn sensor(object_id: &str, name: &str, field: &str, extra: Value) -> (String, String, Value) {
    let mut e = entity("sensor", object_id, name, extra);
    e.2["value_template"] = format!("{{{{ value_json.{field} }}}}").into();
    e
}

fn bytes(object_id: &str, name: &str, field: &str) -> (String, String, Value) {
    sensor(
        object_id,
        name,
        field,
        json!({"device_class": "data_size", "unit_of_measurement": "B", "state_class": "total",
               "icon": "mdi:harddisk-plus"}),
    )
}

/// Every retained config message: (topic, JSON). `temperature`: the board reports one.
pub fn configs(topics: &Topics, version: &str, temperature: bool) -> Vec<(String, Value)> {
    let mut entities = vec![
        sensor(
            "engine_state",
            "Engine state",
            "state",
            json!({"icon": "mdi:engine"}),
        ),
        sensor(
            "queue",
            "Queue",
            "queued",
            json!({"unit_of_measurement": "jobs", "state_class": "measurement", "icon": "mdi:tray-full"}),
        ),
        sensor(
            "current_job",
            "Current job",
            "current_job",
            json!({"icon": "mdi:movie-open"}),
        ),
        sensor(
            "progress",
            "Progress",
            "progress",
            json!({"unit_of_measurement": "%", "state_class": "measurement", "suggested_display_precision": 1}),
        ),
        bytes("saved_today", "Saved today", "saved_today_bytes"),
        bytes("saved_total", "Saved total", "saved_realized_bytes"),
        bytes("saved_potential", "Could be saved", "saved_potential_bytes"),
        entity(
            "switch",
            "running",
            "Running",
            json!({
                "command_topic": topics.switch_command,
                "payload_on": ON, "payload_off": OFF,
                "value_template": "{{ 'ON' if value_json.state == 'running' else 'OFF' }}",
                "icon": "mdi:play-pause",
            }),
        ),
        entity(
            "select",
            "mode",
            "Mode",
            json!({
                "command_topic": topics.mode_command,
                "options": ["background", "balanced", "throughput"],
                "value_template": "{{ value_json.mode }}",
                "icon": "mdi:speedometer",
            }),
        ),
    ];
    if temperature {
        entities.push(sensor(
            "temperature",
            "Temperature",
            "temperature_c",
            json!({"device_class": "temperature", "unit_of_measurement": "°C", "state_class": "measurement"}),
        ));
    }
    let device = json!({
        "identifiers": [topics.node_id],
        "name": "Alchemist",
        "manufacturer": "Alchemist",
        "model": "Alchemist NAS transcoder",
        "sw_version": version,
    });
    entities
        .into_iter()
        .map(|(component, object_id, mut config)| {
            config["unique_id"] = format!("{}_{object_id}", topics.node_id).into();
            config["object_id"] = format!("alchemist_{object_id}").into();
            config["state_topic"] = topics.state.clone().into();
            config["availability_topic"] = topics.availability.clone().into();
            config["payload_available"] = ONLINE.into();
            config["payload_not_available"] = OFFLINE.into();
            config["device"] = device.clone();
            (topics.config(&component, &object_id), config)
        })
        .collect()
}

/// The config topic of the temperature sensor (emptied when the board stops reporting one).
pub fn temperature_topic(topics: &Topics) -> String {
    topics.config("sensor", "temperature")
}

/// A command Home Assistant sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Command {
    Run(EngineCommand),
    Mode(EngineMode),
}

/// The command of a message on one of the command topics; `None` for anything else.
pub fn command(topics: &Topics, topic: &str, payload: &[u8]) -> Option<Command> {
    let payload = std::str::from_utf8(payload).ok()?.trim();
    if topic == topics.switch_command {
        match payload {
            ON => Some(Command::Run(EngineCommand::Resume)),
            OFF => Some(Command::Run(EngineCommand::Pause)),
            _ => None,
        }
    } else if topic == topics.mode_command {
        serde_json::from_value(Value::String(payload.to_string()))
            .ok()
            .map(Command::Mode)
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_config_names_the_state_and_device_and_the_controls_their_commands() {
        let t = Topics::new("homeassistant", "NAS.lan");
        assert_eq!(t.node_id, "alchemist_nas_lan");
        let all = configs(&t, "1.2.3", false);
        assert!(all.iter().all(|(_, c)| c["state_topic"] == t.state.as_str()
            && c["device"]["name"] == "Alchemist"
            && c["availability_topic"] == t.availability.as_str()));
        let topic = |c: &str, o: &str| format!("homeassistant/{c}/alchemist_nas_lan/{o}/config");
        let switch = all
            .iter()
            .find(|(k, _)| *k == topic("switch", "running"))
            .unwrap();
        assert_eq!(switch.1["command_topic"], t.switch_command.as_str());
        let select = all
            .iter()
            .find(|(k, _)| *k == topic("select", "mode"))
            .unwrap();
        assert_eq!(select.1["options"][2], "throughput");
        assert!(!all.iter().any(|(k, _)| *k == temperature_topic(&t)));
        assert!(
            configs(&t, "1", true)
                .iter()
                .any(|(k, _)| *k == temperature_topic(&t))
        );
    }

    #[test]
    fn commands_are_parsed_and_anything_else_ignored() {
        let t = Topics::new("ha", "box");
        let on = command(&t, &t.switch_command, b"ON");
        assert_eq!(on, Some(Command::Run(EngineCommand::Resume)));
        let off = command(&t, &t.switch_command, b"OFF");
        assert_eq!(off, Some(Command::Run(EngineCommand::Pause)));
        let mode = command(&t, &t.mode_command, b"throughput");
        assert_eq!(mode, Some(Command::Mode(EngineMode::Throughput)));
        assert_eq!(command(&t, &t.mode_command, b"turbo"), None);
        assert_eq!(command(&t, &t.switch_command, b"on"), None);
        assert_eq!(command(&t, &t.state, b"ON"), None);
    }
}

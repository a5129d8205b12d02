//! Home Assistant over MQTT against a real broker: Debian's `mosquitto`, started by each test on
//! a free loopback port with a config file written to a temp dir (anonymous, or with a password
//! file made by `mosquitto_passwd`), and killed by its PID when the test ends. The test's own
//! client is `rumqttc`, the crate the server uses, subscribed to everything.

mod home_assistant;
mod page;
mod settings;

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};

use rumqttc::{AsyncClient, Event, MqttOptions, Packet, QoS};
use serde_json::{Value, json};

use crate::support::{PROMPT, TestServer, wait_until};

/// A mosquitto process on 127.0.0.1, killed on drop.
pub struct Broker {
    child: Child,
    pub port: u16,
    _dir: tempfile::TempDir,
}

impl Broker {
    /// A broker that lets anyone in.
    pub async fn anonymous() -> Broker {
        Self::start("allow_anonymous true\n", |_| String::new()).await
    }

    /// A broker that only lets `user` with `password` in.
    pub async fn with_password(user: &str, password: &str) -> Broker {
        Self::start("allow_anonymous false\n", |dir| {
            let file = dir.join("passwords");
            let status = Command::new("mosquitto_passwd")
                .args(["-b", "-c"])
                .arg(&file)
                .args([user, password])
                .status()
                .expect(
                    "mosquitto_passwd (Debian package mosquitto; `bash .ci/dev test` installs it)",
                );
            assert!(status.success(), "mosquitto_passwd failed");
            format!("password_file {}\n", file.display())
        })
        .await
    }

    async fn start(access: &str, extra: impl FnOnce(&Path) -> String) -> Broker {
        let dir = tempfile::tempdir().unwrap();
        // A port that was free a moment ago; mosquitto binds it at once below.
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let config = format!(
            "listener {port} 127.0.0.1\n{access}{}persistence false\nlog_dest stderr\n",
            extra(dir.path())
        );
        let file = dir.path().join("mosquitto.conf");
        std::fs::write(&file, config).unwrap();
        let child = Command::new("/usr/sbin/mosquitto")
            .arg("-c")
            .arg(&file)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("mosquitto (Debian package mosquitto; `bash .ci/dev test` installs it)");
        let broker = Broker {
            child,
            port,
            _dir: dir,
        };
        wait_until(PROMPT, "mosquitto to listen", async || {
            tokio::net::TcpStream::connect(("127.0.0.1", port))
                .await
                .is_ok()
        })
        .await;
        broker
    }
}

impl Drop for Broker {
    fn drop(&mut self) {
        // Ours only: by the PID we started.
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// One message as the subscriber saw it.
#[derive(Debug, Clone)]
pub struct Message {
    pub topic: String,
    pub payload: Vec<u8>,
    pub retain: bool,
}

impl Message {
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.payload)
            .unwrap_or_else(|e| panic!("{}: not JSON ({e})", self.topic))
    }
}

/// A client subscribed to `#`, keeping every message it receives.
pub struct Subscriber {
    pub client: AsyncClient,
    seen: Arc<Mutex<Vec<Message>>>,
    task: tokio::task::JoinHandle<()>,
}

impl Subscriber {
    pub async fn connect(port: u16, auth: Option<(&str, &str)>) -> Subscriber {
        let mut options =
            MqttOptions::new(format!("test-{}", std::process::id()), "127.0.0.1", port);
        if let Some((user, password)) = auth {
            options.set_credentials(user, password);
        }
        let (client, mut eventloop) = AsyncClient::new(options, 64);
        client.subscribe("#", QoS::AtLeastOnce).await.unwrap();
        let seen: Arc<Mutex<Vec<Message>>> = Arc::default();
        let keep = seen.clone();
        let task = tokio::spawn(async move {
            loop {
                match eventloop.poll().await {
                    Ok(Event::Incoming(Packet::Publish(p))) => keep.lock().unwrap().push(Message {
                        topic: p.topic.clone(),
                        payload: p.payload.to_vec(),
                        retain: p.retain,
                    }),
                    Ok(_) => {}
                    Err(e) => panic!("test subscriber lost the broker: {e}"),
                }
            }
        });
        Subscriber { client, seen, task }
    }

    /// Every message seen so far on `topic`.
    pub fn on(&self, topic: &str) -> Vec<Message> {
        let seen = self.seen.lock().unwrap();
        seen.iter().filter(|m| m.topic == topic).cloned().collect()
    }

    /// Every message seen so far.
    pub fn all(&self) -> Vec<Message> {
        self.seen.lock().unwrap().clone()
    }
}

impl Drop for Subscriber {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// The settings that point the server at `port` on loopback.
pub fn settings(port: u16) -> Value {
    json!({"enabled": true, "host": "127.0.0.1", "port": port, "tls": false,
           "discovery_prefix": "homeassistant"})
}

/// The MQTT worker's status line on the system API.
pub async fn worker_line(server: &TestServer, token: &str) -> String {
    let workers = server.get_json("/api/system/workers", token).await;
    workers
        .as_array()
        .and_then(|w| w.iter().find(|w| w["name"] == "mqtt"))
        .map(|w| w["detail"].as_str().unwrap_or_default().to_string())
        .unwrap_or_default()
}

/// Wait until the worker says it is connected.
pub async fn connected(server: &TestServer, token: &str) {
    wait_until(PROMPT, "the MQTT worker to connect", async || {
        let line = worker_line(server, token).await;
        if line.starts_with("connected") {
            Ok(())
        } else {
            Err(line)
        }
    })
    .await
}

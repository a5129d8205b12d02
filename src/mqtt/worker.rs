//! The MQTT worker: owns the broker connection. `work` does what is due: (re)read the settings
//! after a save, connect once the backoff has passed, announce the device (retained discovery
//! config, `online`, command subscriptions) after each connection, apply the commands received
//! and publish the state when a change is waiting and the last publish is a second old.
//! `wait` wakes on the connection's notifications (its event loop runs in a task of its own, so
//! no half-read packet is lost when `wait` is cancelled), on the event bus, on the publish
//! timer or on the end of a backoff. A lost or refused connection is retried with the board's
//! exponential backoff (1 s doubling to 60 s); the status line says which and why.

use std::sync::Arc;
use std::time::Duration;

use rumqttc::{AsyncClient, ConnectionError, EventLoop, LastWill, MqttOptions, Packet, QoS};
use tokio::sync::{broadcast, mpsc};
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use super::discovery::{self, Command, OFFLINE, ONLINE, Topics};
use super::settings::{self, MqttSettings};
use crate::board::Board;
use crate::engine::{Engine, Worker};
use crate::events::{Envelope, Event};
use crate::store::Store;

/// At most one state message per this interval; changes in between are coalesced.
const STATE_INTERVAL: Duration = Duration::from_secs(1);
/// The broker drops us (and sends the last will) after 1.5 of this without a packet.
const KEEP_ALIVE: Duration = Duration::from_secs(30);
/// Requests queued towards the event loop; a publish waits when it is full.
const REQUEST_CAPACITY: usize = 64;

type Note = Result<rumqttc::Event, ConnectionError>;

/// One connection: the client, the event loop's notifications, and what was done on it.
struct Session {
    client: AsyncClient,
    notes: mpsc::Receiver<Note>,
    poller: tokio::task::JoinHandle<()>,
    topics: Topics,
    connected: bool,
    /// Whether the temperature sensor was announced, once the device was announced.
    announced: Option<bool>,
}

impl Drop for Session {
    fn drop(&mut self) {
        // The socket closes without DISCONNECT, so the broker sends the last will (`offline`).
        self.poller.abort();
    }
}

pub(crate) struct MqttWorker {
    engine: Engine,
    store: Store,
    board: Board,
    events: broadcast::Receiver<Arc<Envelope>>,
    /// `None`: to be read from the store (at start and after a save).
    settings: Option<MqttSettings>,
    session: Option<Session>,
    failures: u32,
    retry_at: Option<Instant>,
    /// A state change not yet published.
    dirty: bool,
    last_publish: Option<Instant>,
    published: u64,
    commands: Vec<Command>,
    line: String,
}

impl MqttWorker {
    pub fn new(engine: Engine, store: Store, board: Board) -> Self {
        MqttWorker {
            events: engine.events().subscribe(None).rx,
            engine,
            store,
            board,
            settings: None,
            session: None,
            failures: 0,
            retry_at: None,
            dirty: true,
            last_publish: None,
            published: 0,
            commands: Vec::new(),
            line: "starting".into(),
        }
    }

    fn target(&self) -> String {
        self.settings
            .as_ref()
            .map(|s| format!("{}:{}", s.host, s.port))
            .unwrap_or_default()
    }

    /// The connection failed or was lost: drop it and wait before the next attempt.
    fn failed(&mut self, why: &str) {
        self.session = None;
        if self.failures == 0 {
            // Only the first of a run of failures; the error never holds the credentials.
            tracing::warn!(broker = %self.target(), error = why, "MQTT broker unavailable; retrying in the background");
        }
        self.failures = self.failures.saturating_add(1);
        let delay = crate::board::backoff_delay(self.failures);
        self.retry_at = Some(Instant::now() + delay);
        self.line = format!(
            "retrying {} in {} s (attempt {}): {why}",
            self.target(),
            delay.as_secs(),
            self.failures + 1
        );
    }

    fn connect(&mut self, s: &MqttSettings) -> Result<(), String> {
        let topics = Topics::new(&s.discovery_prefix, &crate::tls::default_hostname());
        let mut options = MqttOptions::new(
            format!("{}-{}", topics.node_id, std::process::id()),
            &s.host,
            s.port,
        );
        options.set_keep_alive(KEEP_ALIVE);
        options.set_last_will(LastWill::new(
            &topics.availability,
            OFFLINE,
            QoS::AtLeastOnce,
            true,
        ));
        if let Some(user) = &s.username {
            options.set_credentials(user, s.password.clone().unwrap_or_default());
        }
        if s.tls {
            options.set_transport(rumqttc::Transport::tls_with_config(
                rumqttc::TlsConfiguration::Rustls(tls_config()?),
            ));
        }
        let (client, eventloop) = AsyncClient::new(options, REQUEST_CAPACITY);
        let (tx, notes) = mpsc::channel(REQUEST_CAPACITY);
        self.session = Some(Session {
            client,
            notes,
            poller: tokio::spawn(poll(eventloop, tx)),
            topics,
            connected: false,
            announced: None,
        });
        self.line = format!("connecting to {}", self.target());
        Ok(())
    }

    /// Discovery config, `online`, and the command subscriptions, on a new connection (and
    /// again when the temperature sensor comes or goes).
    async fn announce(&mut self) -> Result<(), rumqttc::ClientError> {
        let temperature = self.board.temperature().is_some();
        let Some(session) = self.session.as_mut() else {
            return Ok(());
        };
        if session.announced == Some(temperature) {
            return Ok(());
        }
        let (c, t) = (&session.client, &session.topics);
        for (topic, config) in discovery::configs(t, env!("CARGO_PKG_VERSION"), temperature) {
            c.publish(topic, QoS::AtLeastOnce, true, config.to_string())
                .await?;
        }
        if session.announced == Some(true) && !temperature {
            // An empty retained config removes the entity from Home Assistant.
            c.publish(
                discovery::temperature_topic(t),
                QoS::AtLeastOnce,
                true,
                Vec::new(),
            )
            .await?;
        }
        c.publish(&t.availability, QoS::AtLeastOnce, true, ONLINE)
            .await?;
        c.subscribe(&t.switch_command, QoS::AtLeastOnce).await?;
        c.subscribe(&t.mode_command, QoS::AtLeastOnce).await?;
        session.announced = Some(temperature);
        self.dirty = true;
        Ok(())
    }

    async fn apply_commands(&mut self) {
        for command in std::mem::take(&mut self.commands) {
            let result = match command {
                Command::Run(c) => self.engine.command(c).await,
                // Like `POST /api/engine/mode` with the mode alone: no overrides.
                Command::Mode(m) => self.engine.set_mode(m, 0, 0).await,
            };
            match result {
                Ok(_) => tracing::info!(?command, "command from Home Assistant applied"),
                Err(e) => {
                    tracing::warn!(?command, error = %e, "command from Home Assistant failed")
                }
            }
        }
    }

    fn publish_due(&self) -> Option<Instant> {
        let connected = self.session.as_ref().is_some_and(|s| s.connected);
        (connected && self.dirty).then(|| match self.last_publish {
            Some(at) => at + STATE_INTERVAL,
            None => Instant::now(),
        })
    }

    async fn publish_state(&mut self) -> Result<(), rumqttc::ClientError> {
        let Some(session) = self.session.as_ref() else {
            return Ok(());
        };
        let state = match super::snapshot(&self.engine, &self.store, &self.board).await {
            Ok(state) => state,
            Err(e) => {
                tracing::warn!(error = %e, "MQTT state not read");
                return Ok(());
            }
        };
        let payload = serde_json::to_string(&state).unwrap_or_default();
        session
            .client
            .publish(&session.topics.state, QoS::AtLeastOnce, true, payload)
            .await?;
        self.dirty = false;
        self.last_publish = Some(Instant::now());
        self.published += 1;
        Ok(())
    }

    /// One notification of the event loop; `true` when `work` has something to do.
    fn note(&mut self, note: Option<Note>) -> bool {
        let Some(session) = self.session.as_mut() else {
            return false;
        };
        match note {
            Some(Ok(rumqttc::Event::Incoming(Packet::ConnAck(_)))) => {
                session.connected = true;
                session.announced = None;
                if self.failures > 0 {
                    tracing::info!(broker = %self.target(), "MQTT broker available again");
                }
                self.failures = 0;
                self.retry_at = None;
                true
            }
            Some(Ok(rumqttc::Event::Incoming(Packet::Publish(p)))) => {
                match discovery::command(&session.topics, &p.topic, &p.payload) {
                    Some(c) => {
                        self.commands.push(c);
                        true
                    }
                    None => false,
                }
            }
            Some(Ok(_)) => false,
            Some(Err(e)) => {
                self.failed(&e.to_string());
                true
            }
            None => {
                self.failed("the connection ended");
                true
            }
        }
    }
}

/// Drive the event loop, passing on what it yields, until its first error.
async fn poll(mut eventloop: EventLoop, tx: mpsc::Sender<Note>) {
    loop {
        let note = eventloop.poll().await;
        let end = note.is_err();
        if tx.send(note).await.is_err() || end {
            return;
        }
    }
}

/// TLS with the server's provider (ring) and the system's certificate authorities.
fn tls_config() -> Result<Arc<rustls::ClientConfig>, String> {
    let mut roots = rustls::RootCertStore::empty();
    let found = rustls_native_certs::load_native_certs();
    let (added, _) = roots.add_parsable_certificates(found.certs);
    if added == 0 {
        return Err("TLS: no trusted certificate authorities found on this system".into());
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| format!("TLS: {e}"))?
        .with_root_certificates(roots)
        .with_no_client_auth();
    Ok(Arc::new(config))
}

impl Worker for MqttWorker {
    fn name(&self) -> &'static str {
        "mqtt"
    }

    async fn work(&mut self, _stop: &CancellationToken) {
        if self.settings.is_none() {
            self.session = None;
            self.failures = 0;
            self.retry_at = None;
            match self.store.call(settings::load).await {
                Ok(s) => self.settings = Some(s),
                Err(e) => return self.line = format!("settings not readable: {e}"),
            }
        }
        let Some(s) = self.settings.clone().filter(|s| s.enabled) else {
            self.session = None;
            self.line = "off".into();
            return;
        };
        if self.session.is_none() {
            if self.retry_at.is_some_and(|at| at > Instant::now()) {
                return;
            }
            if let Err(why) = self.connect(&s) {
                self.failed(&why);
            }
            return;
        }
        if !self.session.as_ref().is_some_and(|s| s.connected) {
            return;
        }
        self.apply_commands().await;
        let mut result = self.announce().await;
        if result.is_ok() && self.publish_due().is_some_and(|at| at <= Instant::now()) {
            result = self.publish_state().await;
        }
        match result {
            Ok(()) => {
                self.line = format!(
                    "connected to {} ({} sent)",
                    self.target(),
                    crate::model::count(self.published, "state message", "state messages")
                )
            }
            Err(e) => self.failed(&e.to_string()),
        }
    }

    async fn wait(&mut self) {
        loop {
            let timer = match (self.publish_due(), self.session.is_none()) {
                (Some(at), _) => Some(at),
                (None, true) => self.retry_at,
                (None, false) => None,
            };
            let sleep = async {
                match timer {
                    Some(at) => tokio::time::sleep_until(at).await,
                    None => std::future::pending().await,
                }
            };
            let notes = async {
                match self.session.as_mut() {
                    Some(s) => s.notes.recv().await,
                    None => std::future::pending().await,
                }
            };
            tokio::select! {
                _ = sleep => return,
                note = notes => if self.note(note) { return },
                event = self.events.recv() => match event {
                    Ok(e) => match &e.event {
                        Event::ConfigUpdated { keys } if keys.iter().any(|k| k == settings::KEY) => {
                            self.settings = None;
                            return;
                        }
                        Event::Engine(_) | Event::Status { .. } | Event::Progress { .. }
                        | Event::ScanCompleted { .. } | Event::Thermal { .. } => self.dirty = true,
                        _ => {}
                    },
                    Err(broadcast::error::RecvError::Lagged(_)) => self.dirty = true,
                    Err(broadcast::error::RecvError::Closed) => std::future::pending::<()>().await,
                },
            }
        }
    }

    fn status(&self) -> String {
        self.line.clone()
    }
}

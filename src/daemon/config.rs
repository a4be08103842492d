//! The daemon's configuration: where things live (flags and environment, fixed for the life of
//! the process) and how it behaves (a TOML file, re-read on SIGHUP).

use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;

use crate::backend::simulated::QrSchedule;
use crate::model::{ConflictPolicy, EventKind};
use crate::registry;
use crate::time::parse_duration;

use super::Error;

/// Which backend runs the sessions.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BackendKind {
    /// whatsapp-rust against WhatsApp's servers: the product.
    Whatsapp,
    /// The simulated phone and server, for tests and demos.
    Simulated,
    /// The real backend against an in-process test WhatsApp peer (test builds only).
    #[cfg(feature = "wa-peer")]
    WhatsappPeer,
}

impl BackendKind {
    pub fn name(self) -> &'static str {
        match self {
            BackendKind::Whatsapp => "whatsapp",
            BackendKind::Simulated => "simulated",
            #[cfg(feature = "wa-peer")]
            BackendKind::WhatsappPeer => "whatsapp-peer",
        }
    }
}

/// Fixed at start.
#[derive(Debug, Clone)]
pub struct Config {
    pub data_dir: PathBuf,
    pub database_url: String,
    pub socket: PathBuf,
    pub backend: BackendKind,
    pub node_id: String,
    pub config_file: Option<PathBuf>,
    /// Where to point WhatsApp clients instead of WhatsApp's servers (test peers only).
    pub wa_endpoint: Option<String>,
    /// A loopback TCP address to serve besides the socket, and its token file.
    pub tcp: Option<(std::net::SocketAddr, PathBuf)>,
    /// Where to serve Prometheus metrics (`/metrics`); off when `None`.
    pub metrics: Option<std::net::SocketAddr>,
    pub settings: Settings,
    /// How to run and reach the test WhatsApp peer (test builds only).
    #[cfg(feature = "wa-peer")]
    pub peer: PeerOptions,
}

/// Test builds only: the test WhatsApp peer's settings.
#[cfg(feature = "wa-peer")]
#[derive(Debug, Clone, Default)]
pub struct PeerOptions {
    /// The control port of a peer in another process (with `--wa-endpoint`).
    pub control: Option<std::net::SocketAddr>,
    /// How the in-process peer hands out QR codes.
    pub qr: crate::wa_peer::QrPlan,
    /// The in-process peer's phones never share app-state keys.
    pub withhold_keys: bool,
    /// The in-process peer starts with a new server key.
    pub new_server_key: bool,
}

/// Re-read on SIGHUP.
#[derive(Debug, Clone, PartialEq)]
pub struct Settings {
    pub conflict_policy: ConflictPolicy,
    pub cleanup_interval: Duration,
    pub heartbeat_interval: Duration,
    pub qr_ttl: Duration,
    pub lock_ttl: Duration,
    pub node_grace: Duration,
    pub event_retention: Duration,
    pub max_reconnect_attempts: u32,
    pub reconnect_backoff: Duration,
    /// Members of this group may use the socket (besides root and the daemon's own user).
    pub socket_group: Option<String>,
    /// The registry, from the config file (`database_url`, or `database_url_file`); read at
    /// start only. The command line wins over it.
    pub database_url: Option<String>,
    /// Where to serve Prometheus metrics (`metrics = "127.0.0.1:9464"`); read at start only.
    /// The command line wins over it.
    pub metrics: Option<std::net::SocketAddr>,
    /// Sessions resumed per second: after a restart, a takeover or a fencing.
    pub resume_rate: u32,
    /// The part of `node_grace` after which a node that could not renew its lease closes
    /// its WhatsApp clients (before any other node may take them over).
    pub fence_fraction: f64,
    pub simulated: QrSchedule,
    /// Where events are delivered (`[[webhook]]` tables); the list is read at start.
    pub webhooks: Vec<WebhookConfig>,
}

impl Default for Settings {
    fn default() -> Self {
        let registry = registry::Settings::default();
        Settings {
            conflict_policy: ConflictPolicy::NewestWins,
            cleanup_interval: Duration::from_secs(5 * 60),
            heartbeat_interval: Duration::from_secs(10),
            qr_ttl: registry.qr_ttl,
            lock_ttl: registry.lock_ttl,
            node_grace: registry.node_grace,
            event_retention: registry.event_retention,
            max_reconnect_attempts: 3,
            reconnect_backoff: Duration::from_secs(2),
            socket_group: None,
            database_url: None,
            metrics: None,
            resume_rate: 20,
            fence_fraction: 0.5,
            simulated: QrSchedule::default(),
            webhooks: Vec::new(),
        }
    }
}

impl Settings {
    /// How long a node may go without renewing its lease before it fences itself.
    pub fn fence_after(&self) -> Duration {
        self.node_grace.mul_f64(self.fence_fraction)
    }

    pub fn registry(&self) -> registry::Settings {
        registry::Settings {
            qr_ttl: self.qr_ttl,
            lock_ttl: self.lock_ttl,
            node_grace: self.node_grace,
            event_retention: self.event_retention,
        }
    }

    /// Reads `path`; a missing key keeps its default.
    pub fn load(path: &Path) -> Result<Settings, Error> {
        let text = std::fs::read_to_string(path)
            .map_err(|error| Error::Config(format!("cannot read {}: {error}", path.display())))?;
        Settings::parse(&text)
            .map_err(|error| Error::Config(format!("{}: {error}", path.display())))
    }

    pub fn parse(text: &str) -> Result<Settings, String> {
        let file: FileSettings = toml::from_str(text).map_err(|error| {
            let rendered = error.to_string();
            let place = rendered
                .lines()
                .next()
                .unwrap_or_default()
                .trim_start_matches("TOML parse error at ");
            format!("{} ({place})", error.message().trim())
        })?;
        let mut settings = Settings::default();
        let duration = |name: &str, value: &Option<String>, into: &mut Duration| {
            if let Some(text) = value {
                *into = parse_duration(text).map_err(|error| format!("{name}: {error}"))?;
            }
            Ok::<(), String>(())
        };
        if let Some(policy) = &file.conflict_policy {
            settings.conflict_policy = policy.parse()?;
        }
        duration(
            "cleanup_interval",
            &file.cleanup_interval,
            &mut settings.cleanup_interval,
        )?;
        duration(
            "heartbeat_interval",
            &file.heartbeat_interval,
            &mut settings.heartbeat_interval,
        )?;
        duration("qr_ttl", &file.qr_ttl, &mut settings.qr_ttl)?;
        duration("lock_ttl", &file.lock_ttl, &mut settings.lock_ttl)?;
        duration("node_grace", &file.node_grace, &mut settings.node_grace)?;
        duration(
            "event_retention",
            &file.event_retention,
            &mut settings.event_retention,
        )?;
        duration(
            "reconnect_backoff",
            &file.reconnect_backoff,
            &mut settings.reconnect_backoff,
        )?;
        if let Some(attempts) = file.max_reconnect_attempts {
            settings.max_reconnect_attempts = attempts;
        }
        if let Some(rate) = file.resume_rate {
            settings.resume_rate = rate.max(1);
        }
        settings.socket_group = file.socket_group;
        settings.database_url = match (file.database_url, file.database_url_file) {
            (Some(_), Some(_)) => {
                return Err("give database_url or database_url_file, not both".into())
            }
            (Some(url), None) => Some(url),
            (None, Some(path)) => Some(read_url_file(&path)?),
            (None, None) => None,
        };
        settings.metrics = match &file.metrics {
            Some(address) => Some(address.parse().map_err(|_| {
                format!("metrics: '{address}' is not an address such as 127.0.0.1:9464")
            })?),
            None => None,
        };
        if let Some(simulated) = &file.simulated {
            duration(
                "simulated.qr_first",
                &simulated.qr_first,
                &mut settings.simulated.first,
            )?;
            duration(
                "simulated.qr_next",
                &simulated.qr_next,
                &mut settings.simulated.next,
            )?;
            duration(
                "simulated.hang",
                &simulated.hang,
                &mut settings.simulated.hang,
            )?;
            if let Some(codes) = simulated.qr_codes {
                settings.simulated.codes = codes.max(1);
            }
        }
        let mut names = std::collections::HashSet::new();
        for webhook in &file.webhook {
            if !names.insert(webhook.name.as_str()) {
                return Err(format!("webhook '{}' is configured twice", webhook.name));
            }
            if !(webhook.url.starts_with("http://") || webhook.url.starts_with("https://")) {
                return Err(format!(
                    "webhook '{}': url must start with http:// or https://",
                    webhook.name
                ));
            }
            if webhook.secret.trim().is_empty() {
                return Err(format!(
                    "webhook '{}': secret must not be empty (receivers check the signature with it)",
                    webhook.name
                ));
            }
            if webhook.max_attempts == 0 {
                return Err(format!(
                    "webhook '{}': max_attempts must be at least 1",
                    webhook.name
                ));
            }
            if webhook.concurrency == 0 {
                return Err(format!(
                    "webhook '{}': concurrency must be at least 1",
                    webhook.name
                ));
            }
        }
        settings.webhooks = file.webhook;
        if let Some(fraction) = file.fence_fraction {
            if !(fraction > 0.0 && fraction < 1.0) {
                return Err(format!(
                    "fence_fraction must be between 0 and 1 (exclusive), not {fraction}"
                ));
            }
            settings.fence_fraction = fraction;
        }
        for (name, value) in [
            ("cleanup_interval", settings.cleanup_interval),
            ("heartbeat_interval", settings.heartbeat_interval),
            ("qr_ttl", settings.qr_ttl),
            ("lock_ttl", settings.lock_ttl),
            ("node_grace", settings.node_grace),
            ("event_retention", settings.event_retention),
            ("reconnect_backoff", settings.reconnect_backoff),
            ("simulated.qr_first", settings.simulated.first),
            ("simulated.qr_next", settings.simulated.next),
        ] {
            if value.is_zero() {
                return Err(format!("{name} must be longer than zero"));
            }
        }
        if settings.lock_ttl < settings.qr_ttl {
            return Err(format!(
                "lock_ttl ({:?}) must be at least qr_ttl ({:?}): a pairing still waiting for its \
                 scan would lose its lock",
                settings.lock_ttl, settings.qr_ttl
            ));
        }
        if settings.node_grace <= settings.heartbeat_interval * 2 {
            return Err(format!(
                "node_grace ({:?}) must be longer than two heartbeat_intervals ({:?}): one late \
                 heartbeat would make a healthy node look lost",
                settings.node_grace, settings.heartbeat_interval
            ));
        }
        if settings.fence_after() <= settings.heartbeat_interval {
            return Err(format!(
                "node_grace × fence_fraction ({:?}) must be longer than heartbeat_interval ({:?}), \
                 or a healthy node would fence itself",
                settings.fence_after(),
                settings.heartbeat_interval
            ));
        }
        Ok(settings)
    }
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileSettings {
    conflict_policy: Option<String>,
    cleanup_interval: Option<String>,
    heartbeat_interval: Option<String>,
    qr_ttl: Option<String>,
    lock_ttl: Option<String>,
    node_grace: Option<String>,
    event_retention: Option<String>,
    max_reconnect_attempts: Option<u32>,
    reconnect_backoff: Option<String>,
    socket_group: Option<String>,
    database_url: Option<String>,
    database_url_file: Option<std::path::PathBuf>,
    metrics: Option<String>,
    resume_rate: Option<u32>,
    fence_fraction: Option<f64>,
    simulated: Option<SimulatedSettings>,
    #[serde(default)]
    webhook: Vec<WebhookConfig>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct SimulatedSettings {
    qr_first: Option<String>,
    qr_next: Option<String>,
    qr_codes: Option<u32>,
    hang: Option<String>,
}

/// The registry URL kept in `path`: its first line. A file others can read is refused, since
/// it holds the database password.
pub fn read_url_file(path: &std::path::Path) -> Result<String, String> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(path)
            .map_err(|error| format!("cannot read {}: {error}", path.display()))?
            .permissions()
            .mode();
        if mode & 0o077 != 0 {
            return Err(format!(
                "{} is readable by others (mode {:o}): `chmod 600` it",
                path.display(),
                mode & 0o777
            ));
        }
    }
    let text = std::fs::read_to_string(path)
        .map_err(|error| format!("cannot read {}: {error}", path.display()))?;
    let url = text.lines().next().unwrap_or_default().trim();
    if url.is_empty() {
        return Err(format!("{} holds no database URL", path.display()));
    }
    Ok(url.to_string())
}

/// One `[[webhook]]` of the config file.
#[derive(Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WebhookConfig {
    /// A stable name: delivery state is kept under it.
    pub name: String,
    pub url: String,
    /// The HMAC key; receivers check `X-Wasess-Signature: t=…,v1=…` with it.
    pub secret: String,
    /// Event kinds to send; all when empty.
    #[serde(default)]
    pub events: Vec<EventKind>,
    #[serde(default = "default_timeout", with = "duration_text")]
    pub timeout: Duration,
    #[serde(default = "default_max_attempts")]
    pub max_attempts: u32,
    /// The first retry waits this long; each next one twice as long (at most `max_backoff`).
    #[serde(default = "default_backoff", with = "duration_text")]
    pub backoff: Duration,
    #[serde(default = "default_max_backoff", with = "duration_text")]
    pub max_backoff: Duration,
    /// How many users' events are in flight at once (each user's in order, one at a time).
    #[serde(default = "default_concurrency")]
    pub concurrency: usize,
}

impl std::fmt::Debug for WebhookConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WebhookConfig")
            .field("name", &self.name)
            .field("url", &self.url)
            .field("secret", &"***")
            .field("events", &self.events)
            .field("max_attempts", &self.max_attempts)
            .field("concurrency", &self.concurrency)
            .finish()
    }
}

fn default_timeout() -> Duration {
    Duration::from_secs(10)
}
fn default_max_attempts() -> u32 {
    10
}
fn default_backoff() -> Duration {
    Duration::from_secs(1)
}
fn default_max_backoff() -> Duration {
    Duration::from_secs(300)
}

fn default_concurrency() -> usize {
    16
}

mod duration_text {
    use std::time::Duration;

    use serde::{Deserialize, Deserializer};

    pub fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Duration, D::Error> {
        let text = String::deserialize(deserializer)?;
        crate::time::parse_duration(&text).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_config_file_overrides_only_what_it_names() {
        let settings = Settings::parse(
            "conflict_policy = \"reject-new\"\nqr_ttl = \"90s\"\n[simulated]\nqr_codes = 2\n",
        )
        .expect("parse");
        assert_eq!(settings.conflict_policy, ConflictPolicy::RejectNew);
        assert_eq!(settings.qr_ttl, Duration::from_secs(90));
        assert_eq!(settings.simulated.codes, 2);
        assert_eq!(settings.lock_ttl, Duration::from_secs(300));
    }

    #[test]
    fn mistakes_are_named() {
        for (text, expected) in [
            ("qr_ttl = \"5 parsecs\"", "qr_ttl"),
            (
                "conflict_policy = \"oldest-wins\"",
                "unknown conflict policy",
            ),
            ("colour = \"blue\"", "unknown field"),
            ("cleanup_interval = \"0s\"", "longer than zero"),
            ("node_grace = \"0s\"", "node_grace must be longer than zero"),
            ("qr_ttl = \"10m\"\nlock_ttl = \"5m\"", "lock_ttl"),
            (
                "heartbeat_interval = \"10s\"\nnode_grace = \"20s\"",
                "two heartbeat_intervals",
            ),
            (
                "[[webhook]]\nname = \"crm\"\nurl = \"https://crm.example/hook\"\nsecret = \"\"",
                "secret must not be empty",
            ),
            (
                "[[webhook]]\nname = \"crm\"\nurl = \"https://crm.example/hook\"\nsecret = \"s\"\n\
                 concurrency = 0",
                "concurrency must be at least 1",
            ),
        ] {
            let error = Settings::parse(text).expect_err(text);
            assert!(error.contains(expected), "{text}: {error}");
        }
    }
}

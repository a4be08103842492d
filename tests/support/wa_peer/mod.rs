//! A test WhatsApp Web server ("peer") that the real whatsapp-rust client can log in to,
//! offline. It owns the server side of the protocol: the Noise handshake (XX, IK and
//! XXfallback) with its own certificate chain, the framing, binary stanzas, QR pairing signed
//! as the phone would sign it, logins, the post-login IQs and the stanzas that end a session
//! (replaced, logged out, banned). Its phones also exchange end-to-end encrypted texts with
//! the companions. Tests act as the phone through [`PeerControl`].
//!
//! Connections reach it in-process ([`memory`]: a whatsapp-rust `TransportFactory`) or over a
//! loopback WebSocket ([`ws`]); [`control_port`] serves the controls as lines of text.
//! The client must be built with whatsapp-rust's `danger-skip-cert-chain-verify` (feature
//! `wa-peer`), since the peer's chain cannot be signed by WhatsApp's root key.

mod accounts;
mod conn;
pub mod control_port;
mod dictionary;
mod handshake;
mod keys;
pub mod memory;
mod messaging;
mod pairing;
mod router;
mod session;
mod signal;
pub mod ws;

use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use tokio::sync::{mpsc, oneshot};

use self::accounts::Accounts;
use self::keys::ServerKeys;
use self::session::Command;

pub use self::conn::{Close, ToClient, Wire};
pub use self::messaging::Sent;

/// How the peer hands out QR codes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct QrPlan {
    /// How many refs (QR codes) one pairing connection gets.
    pub refs: u32,
    /// `None`: all refs in one `pair-device`, rotated by the client's own timers (60 s, then
    /// 20 s each), as WhatsApp does. `Some(every)`: one ref per `pair-device`, a new one every
    /// `every`, and an empty `pair-device` once all are spent, so tests need not wait minutes.
    pub rotate_every: Option<Duration>,
}

impl Default for QrPlan {
    fn default() -> Self {
        QrPlan {
            refs: 6,
            rotate_every: None,
        }
    }
}

#[derive(Debug, Clone, Default)]
pub struct PeerConfig {
    /// Where accounts, companions and the server key survive a restart (none: memory only).
    pub state_file: Option<PathBuf>,
    pub qr: QrPlan,
    /// The phones never share app-state keys with new companions, which then wait (10 s in
    /// whatsapp-rust) before they report themselves connected.
    pub withhold_app_state_keys: bool,
    /// Start with a new server key (a key rotation), keeping accounts and companions.
    pub new_server_key: bool,
}

/// What the peer saw, for tests to assert on.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Counters {
    /// Transport connections opened by clients.
    pub connections: u64,
    pub handshakes_xx: u64,
    pub handshakes_ik: u64,
    pub handshakes_xx_fallback: u64,
    /// Pairings completed (`pair-device-sign` verified).
    pub pairings: u64,
    /// Logins answered with `success`.
    pub logins: u64,
    /// Logins answered with `failure` (unknown, removed, banned device).
    pub logins_refused: u64,
    /// Logins of a device whose older connection was still logged in: as WhatsApp does, the
    /// older one heard `replaced` and was closed. One device was live twice at that moment.
    pub double_logins: u64,
    /// Per device, how long it was last offline between two logins (ms): the time a session
    /// was away while it moved from one client to another.
    pub gaps_ms: BTreeMap<String, u64>,
    /// `remove-companion-device` IQs received (a client logging itself out).
    pub companions_removed: u64,
    /// Key bundles companions published (each new device does once, after its first login).
    pub key_uploads: u64,
    /// Critical app-state syncs answered (a new device syncs its critical state right before
    /// it reports itself connected).
    pub critical_syncs: u64,
    /// `message` stanzas clients sent.
    pub messages_sent: u64,
    /// Texts phones delivered to companions.
    pub messages_delivered: u64,
    /// Texts phones read on a Signal session they already had with the sender (`msg`, not
    /// `pkmsg`): sessions carried over, by a restart or an import.
    pub read_on_existing_sessions: u64,
    /// Texts phones encrypted on a Signal session they already had with the companion.
    pub sent_on_existing_sessions: u64,
}

/// A control acting on one live connection, as WhatsApp or the phone would.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kick {
    /// Another client took over: `stream:error` with `conflict type=replaced`.
    Replaced,
    /// The phone unlinked the device: `stream:error code=401`; later logins fail.
    LoggedOut,
    /// The connection drops without a word.
    Drop,
    /// The connection drops and the device cannot reach the peer again (until the peer
    /// restarts): its reconnects fail.
    Unreachable,
    /// A temporary ban: `failure reason=402` now and at every login for an hour.
    TemporaryBan,
    /// The client version is refused: `failure reason=405`.
    ClientOutdated,
}

impl Kick {
    pub const ALL: [(Kick, &'static str); 6] = [
        (Kick::Replaced, "replaced"),
        (Kick::LoggedOut, "logged-out"),
        (Kick::Drop, "network-drop"),
        (Kick::Unreachable, "network-lost"),
        (Kick::TemporaryBan, "temporary-ban"),
        (Kick::ClientOutdated, "client-outdated"),
    ];

    pub fn name(self) -> &'static str {
        Kick::ALL
            .iter()
            .find(|(kick, _)| *kick == self)
            .map(|(_, name)| *name)
            .unwrap_or("?")
    }

    pub fn parse(text: &str) -> Option<Kick> {
        Kick::ALL
            .iter()
            .find(|(_, name)| *name == text)
            .map(|(kick, _)| *kick)
    }
}

/// The phone's side, as tests use it: in-process on a [`Peer`], or over its control port.
#[async_trait]
pub trait PeerControl: Send + Sync {
    /// Scans `qr` (a client's QR payload) as phone number `phone`; returns the new
    /// companion's JID (`phone:device@s.whatsapp.net`) once the client signed the pairing.
    async fn scan(&self, qr: &str, phone: &str) -> Result<String, String>;
    /// Acts on the live connection logged in as `device` (a companion JID).
    async fn kick(&self, device: &str, kick: Kick) -> Result<(), String>;
    /// Phone `from` writes `text` to the companion `device`; returns the message id.
    async fn deliver(&self, device: &str, from: &str, text: &str) -> Result<String, String>;
    /// The texts companion `device` sent, as their recipients read them.
    async fn sent(&self, device: &str) -> Result<Vec<Sent>, String>;
    async fn counters(&self) -> Result<Counters, String>;
}

/// The peer: cheap to clone, every clone is the same server.
#[derive(Clone)]
pub struct Peer {
    inner: Arc<Inner>,
}

struct Inner {
    config: PeerConfig,
    keys: ServerKeys,
    accounts: Mutex<Accounts>,
    phones: signal::Phones,
    /// What each companion sent, as read by the phones it went to.
    sent: Mutex<HashMap<String, Vec<Sent>>>,
    counters: Mutex<Counters>,
    live: Mutex<Live>,
    /// Companions whose connections are refused ([`Kick::Unreachable`]).
    unreachable: Mutex<HashSet<String>>,
    next_connection: AtomicU64,
}

/// The connections that are up, and how to reach each one's task.
#[derive(Default)]
struct Live {
    connections: HashMap<u64, LiveConnection>,
    /// When each device's last logged-in connection ended, until it logs in again.
    offline_since: HashMap<String, std::time::Instant>,
}

struct LiveConnection {
    commands: mpsc::UnboundedSender<Command>,
    /// QR refs issued on this (pairing) connection.
    refs: Vec<String>,
    /// The companion logged in on this connection.
    device: Option<String>,
}

impl Peer {
    pub fn new(config: PeerConfig) -> Result<Peer, String> {
        let mut accounts = Accounts::load(config.state_file.clone())?;
        if config.new_server_key {
            accounts.new_server_key()?;
        }
        let keys = ServerKeys::from_private(&accounts.server_key())?;
        let phones = signal::Phones::new(accounts.phones_secret(), accounts.phone_sessions()?);
        Ok(Peer {
            inner: Arc::new(Inner {
                config,
                keys,
                accounts: Mutex::new(accounts),
                phones,
                sent: Mutex::new(HashMap::new()),
                counters: Mutex::new(Counters::default()),
                live: Mutex::new(Live::default()),
                unreachable: Mutex::new(HashSet::new()),
                next_connection: AtomicU64::new(1),
            }),
        })
    }

    /// Serves one client connection until either side closes it.
    pub fn serve(&self, wire: Wire) {
        let id = self.inner.next_connection.fetch_add(1, Ordering::SeqCst);
        self.inner.counters().connections += 1;
        tokio::spawn(session::run(self.inner.clone(), id, wire));
    }
}

impl Inner {
    fn counters(&self) -> MutexGuard<'_, Counters> {
        self.counters.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn accounts(&self) -> MutexGuard<'_, Accounts> {
        self.accounts.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn live(&self) -> MutexGuard<'_, Live> {
        self.live.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn sent(&self) -> MutexGuard<'_, HashMap<String, Vec<Sent>>> {
        self.sent.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn unreachable(&self) -> MutexGuard<'_, HashSet<String>> {
        self.unreachable.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Sends `command` to the connection picked by `pick`, and waits for its answer.
    async fn ask<T>(
        &self,
        pick: impl Fn(&LiveConnection) -> bool,
        command: impl FnOnce(oneshot::Sender<Result<T, String>>) -> Command,
        missing: String,
    ) -> Result<T, String> {
        let (reply, answer) = oneshot::channel();
        let sent = {
            let live = self.live();
            // The newest, should an old connection of the same device still be closing.
            live.connections
                .iter()
                .filter(|(_, connection)| pick(connection))
                .max_by_key(|(id, _)| **id)
                .map(|(_, connection)| connection.commands.send(command(reply)).is_ok())
        };
        match sent {
            Some(true) => answer
                .await
                .unwrap_or_else(|_| Err("the connection closed".into())),
            _ => Err(missing),
        }
    }
}

#[async_trait]
impl PeerControl for Peer {
    async fn scan(&self, qr: &str, phone: &str) -> Result<String, String> {
        let qr = pairing::Qr::parse(qr)?;
        check_phone(phone)?;
        let wanted = qr.pairing_ref.clone();
        let phone = phone.to_string();
        self.inner
            .ask(
                |connection| connection.refs.contains(&wanted),
                |reply| Command::Scan { qr, phone, reply },
                "no connection shows this QR code".into(),
            )
            .await
    }

    async fn kick(&self, device: &str, kick: Kick) -> Result<(), String> {
        // Marked before the connection drops, so the client's first retry already fails.
        let unreachable = kick == Kick::Unreachable;
        if unreachable {
            self.inner.unreachable().insert(device.to_string());
        }
        let result = self
            .inner
            .ask(
                |connection| connection.device.as_deref() == Some(device),
                |reply| Command::Kick { kick, reply },
                format!("{device} has no live connection"),
            )
            .await;
        if unreachable && result.is_err() {
            self.inner.unreachable().remove(device);
        }
        result
    }

    async fn deliver(&self, device: &str, from: &str, text: &str) -> Result<String, String> {
        check_phone(from)?;
        let (from, text) = (from.to_string(), text.to_string());
        self.inner
            .ask(
                |connection| connection.device.as_deref() == Some(device),
                |reply| Command::Deliver { from, text, reply },
                format!("{device} has no live connection"),
            )
            .await
    }

    async fn sent(&self, device: &str) -> Result<Vec<Sent>, String> {
        Ok(self.inner.sent().get(device).cloned().unwrap_or_default())
    }

    async fn counters(&self) -> Result<Counters, String> {
        Ok(self.inner.counters().clone())
    }
}

fn check_phone(phone: &str) -> Result<(), String> {
    if phone.is_empty() || !phone.bytes().all(|b| b.is_ascii_digit()) {
        return Err(format!("'{phone}' is not a phone number (digits only)"));
    }
    Ok(())
}

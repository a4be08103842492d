//! Backends: what actually talks to WhatsApp (or pretends to, for tests and demos).
//!
//! Everything above this trait is shared: the daemon's supervisor starts sessions through
//! [`Backend::start`], hears from each through its own bounded [`EventSender`], and acts on
//! them through [`Session`]. A backend never touches the registry; it reports what happened
//! and the supervisor decides what it means.

pub mod simulated;
pub mod whatsapp;

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use tokio::sync::mpsc;

use crate::exit::Exit;
use crate::protocol::{SentMessage, SimEventKind};
use crate::registry::credentials::SessionStore;
use crate::registry::{PhoneNumber, UserKey};
use crate::time::Timestamp;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// WhatsApp could not be reached (network, DNS, TLS) or refused us.
    #[error("WhatsApp unreachable: {0}")]
    Unreachable(String),
    /// The credential store could not be read or written.
    #[error("credential store error: {0}")]
    Store(String),
    /// There are no stored credentials to resume from.
    #[error("no stored credentials")]
    NoCredentials,
    /// The session is not in a state that allows the operation.
    #[error("{0}")]
    NotReady(String),
    /// WhatsApp rejected the operation.
    #[error("WhatsApp refused: {0}")]
    Rejected(String),
    /// Simulator controls on a backend that has none.
    #[error("{0}")]
    Unsupported(String),
}

impl Error {
    pub fn exit(&self) -> Exit {
        match self {
            Error::Unreachable(_) | Error::Rejected(_) | Error::Store(_) => Exit::Backend,
            Error::NoCredentials => Exit::NotFound,
            Error::NotReady(_) => Exit::Refused,
            Error::Unsupported(_) => Exit::Usage,
        }
    }
}

/// How a session starts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StartMode {
    /// A new link by QR code.
    PairQr,
    /// A new link by pair code for this number.
    PairCode(PhoneNumber),
    /// Log in again with the stored credentials.
    Resume,
}

/// Everything a backend needs to start one user's session.
#[derive(Debug, Clone)]
pub struct StartRequest {
    pub user: UserKey,
    /// The user's credentials in the registry, fenced by this session's epoch: a write the
    /// registry refuses means the session is no longer this node's.
    pub credentials: Arc<SessionStore>,
    pub mode: StartMode,
    /// Tags every event of this session, so events of a replaced session are ignored.
    pub generation: u64,
    pub events: EventSender,
}

/// Where one session's events go: a bounded queue that the session's own worker drains into
/// the registry. When the queue is full the registry is not keeping up, and the session waits
/// until there is room: it reads no more from WhatsApp meanwhile (WhatsApp keeps what it has
/// not delivered), so memory stays bounded and nothing is dropped. Such waits are counted in
/// [`EventLoad`] and logged.
#[derive(Debug, Clone)]
pub struct EventSender {
    user: UserKey,
    queue: mpsc::Sender<QueuedEvent>,
    load: Arc<EventLoad>,
}

/// An event in a session's queue, with the time it was queued (the worker reports how long
/// it waited).
pub type QueuedEvent = (std::time::Instant, BackendEvent);

/// What [`EventSender::try_queue`] did with an event.
enum Queued {
    /// Queued (true), or not at all because the session ended (false).
    Settled(bool),
    /// No room: the caller waits for it with the event.
    Full(QueuedEvent),
}

/// Events waiting in sessions' queues, and sessions waiting for room, daemon-wide.
#[derive(Debug, Default)]
pub struct EventLoad {
    pub queued: AtomicU64,
    pub sessions_held_back: AtomicU64,
}

impl EventSender {
    pub fn new(user: UserKey, queue: mpsc::Sender<QueuedEvent>, load: Arc<EventLoad>) -> Self {
        EventSender { user, queue, load }
    }

    /// Queues `event`, waiting for room while the queue is full. False: the session's
    /// worker is gone (the session ended), nothing is left to tell.
    pub async fn send(&self, event: BackendEvent) -> bool {
        match self.try_queue(event) {
            Queued::Settled(sent) => sent,
            Queued::Full(event) => {
                let sent = self.queue.send(event).await.is_ok();
                self.room_found(sent)
            }
        }
    }

    /// [`EventSender::send`] from a synchronous callback running on the runtime (the
    /// WhatsApp client's event handler): the wait blocks that callback's thread in place.
    pub fn send_blocking(&self, event: BackendEvent) -> bool {
        match self.try_queue(event) {
            Queued::Settled(sent) => sent,
            Queued::Full(event) => {
                let queue = self.queue.clone();
                let sent = match tokio::runtime::Handle::try_current() {
                    Ok(runtime)
                        if runtime.runtime_flavor()
                            == tokio::runtime::RuntimeFlavor::MultiThread =>
                    {
                        tokio::task::block_in_place(|| runtime.block_on(queue.send(event)).is_ok())
                    }
                    // A single-threaded runtime cannot wait in place: the send waits in a task
                    // of its own instead (the daemon's runtime is multi-threaded).
                    Ok(runtime) => {
                        runtime.spawn(async move { queue.send(event).await });
                        true
                    }
                    Err(_) => queue.blocking_send(event).is_ok(),
                };
                self.room_found(sent)
            }
        }
    }

    /// Queues `event` if there is room. A full queue gives the event back, with the session
    /// counted as held back until [`Self::room_found`]. An event is counted before it is
    /// queued: the worker may take it (and count it out) at once.
    fn try_queue(&self, event: BackendEvent) -> Queued {
        self.load.queued.fetch_add(1, Ordering::SeqCst);
        match self.queue.try_send((std::time::Instant::now(), event)) {
            Ok(()) => Queued::Settled(true),
            Err(mpsc::error::TrySendError::Closed(_)) => Queued::Settled(self.not_queued()),
            Err(mpsc::error::TrySendError::Full(event)) => {
                self.hold_back();
                Queued::Full(event)
            }
        }
    }

    /// The wait of a held-back session ended; `sent` says whether the event got in.
    fn room_found(&self, sent: bool) -> bool {
        self.load.sessions_held_back.fetch_sub(1, Ordering::SeqCst);
        sent || self.not_queued()
    }

    /// Counts back out an event that was not queued after all; false.
    fn not_queued(&self) -> bool {
        self.load.queued.fetch_sub(1, Ordering::SeqCst);
        false
    }

    fn hold_back(&self) {
        self.load.sessions_held_back.fetch_add(1, Ordering::SeqCst);
        tracing::warn!(
            user = %self.user,
            "the registry is not keeping up: this session waits until its queued events are written"
        );
    }
}

#[derive(Debug, Clone)]
pub struct BackendEvent {
    pub user: UserKey,
    pub generation: u64,
    pub kind: EventKind,
}

/// What a session reports. The names follow WhatsApp's own events.
#[derive(Debug, Clone, PartialEq)]
pub enum EventKind {
    /// A QR code to show; WhatsApp rotates it after `valid_for`.
    Qr { code: String, valid_for: Duration },
    /// A pair code to type on the phone.
    PairCode { code: String, valid_for: Duration },
    /// No more QR codes: the pairing is over.
    QrExhausted,
    /// The phone scanned; the link belongs to `phone`.
    Paired { phone: PhoneNumber },
    /// Pairing failed (bad code, refused by the phone).
    PairFailed { reason: String },
    /// The session is up.
    Connected,
    /// An established connection dropped unexpectedly.
    NetworkLost { reason: String },
    /// Another client took over these credentials (stream replaced / 409).
    Replaced,
    /// The link was removed (from the phone, or by WhatsApp).
    LoggedOut { reason: String },
    /// WhatsApp banned the number for a while.
    TemporaryBan { code: i32, until: Option<Timestamp> },
    /// WhatsApp refuses this client's version.
    ClientOutdated,
    /// WhatsApp could not be reached while (re)connecting.
    ConnectFailed { reason: String },
    /// A message arrived.
    Message(IncomingMessage),
}

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct IncomingMessage {
    pub message_id: String,
    /// The sender's number, when WhatsApp reveals it.
    pub from: Option<String>,
    /// The chat it arrived in (a number's JID, or a group's).
    pub chat: String,
    pub at: Timestamp,
    /// `text`, or the kind of a non-text message (`image`, `audio`, …).
    pub message_type: String,
    pub text: Option<String>,
}

/// One user's running session.
#[async_trait]
pub trait Session: Send + Sync {
    /// One reconnect attempt after [`EventKind::NetworkLost`]: `Ok` once connected again.
    async fn reconnect(&self) -> Result<(), Error>;
    /// Closes the connection and keeps the credentials.
    async fn close(&self);
    /// Closes like [`Session::close`], but drops the connection first, without waiting for
    /// anything: this node is fencing itself, and another node may log the device in as soon
    /// as the lease runs out, whether or not the registry takes this client's last writes.
    async fn abort(&self) {
        self.close().await
    }
    /// Unlinks the device on WhatsApp's side, then closes. The caller deletes the store.
    async fn logout(&self) -> Result<(), Error>;
    /// Sends a text through this session; returns WhatsApp's message id.
    async fn send_text(&self, to: &PhoneNumber, text: &str) -> Result<String, Error>;
}

/// Test controls that act as the phone: the simulated backend has them, the real one only
/// when talking to a test peer.
#[async_trait]
pub trait PhoneControls: Send + Sync {
    async fn scan(&self, user: &UserKey, phone: &PhoneNumber) -> Result<(), Error>;
    async fn event(&self, user: &UserKey, event: SimEventKind) -> Result<(), Error>;
    async fn message(&self, user: &UserKey, from: &PhoneNumber, text: &str) -> Result<(), Error>;
    async fn sent(&self, user: &UserKey) -> Result<Vec<SentMessage>, Error>;
    /// What a test WhatsApp peer behind this backend counted (test builds only).
    #[cfg(feature = "wa-peer")]
    async fn peer(&self) -> Result<serde_json::Value, Error> {
        Err(Error::Unsupported(
            "this backend has no test WhatsApp peer".into(),
        ))
    }
}

#[async_trait]
pub trait Backend: Send + Sync {
    /// `whatsapp` or `simulated`.
    fn name(&self) -> &'static str;
    /// Starts a session; its events arrive on `request.events`.
    async fn start(&self, request: StartRequest) -> Result<Arc<dyn Session>, Error>;
    /// Hangs up the connection of every session this backend started that is still open,
    /// at once: the node is fencing itself (see [`Session::abort`]), sessions that other
    /// work is closing gracefully at that moment included.
    async fn hang_up_all(&self) {}
    /// Phone controls, when this backend has them.
    fn phone(&self) -> Option<Arc<dyn PhoneControls>> {
        None
    }
}

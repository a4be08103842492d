//! The real backend: one whatsapp-rust client per user, on the user's credentials in the
//! registry (the session's fenced [`SessionStore`]), so any node can resume any session and a
//! node that lost a session cannot write to it any more.
//!
//! wasess, not the library, owns reconnecting: the client's own auto-reconnect (which retries
//! forever, silently) is switched off, and each session runs a driver task that calls
//! `run()` once per attempt. The driver re-runs at once only where WhatsApp expects it (the 515
//! restart after pairing, a server's routine stream recycle); after a drop or a failed attempt it
//! reports to the supervisor and waits for its `reconnect()`, so the supervisor's cap and
//! back-off are the only reconnect policy, and a replaced stream ends the driver for good.

#[cfg(feature = "wa-peer")]
pub mod peer;
mod recording;
mod translate;
mod wire;

use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::sync::{Arc, Mutex, Weak};
use std::time::Duration;

use async_trait::async_trait;
use tokio::sync::{watch, Notify};
use tokio::task::JoinHandle;
use tracing::{debug, info, warn};
use whatsapp_rust::http::UreqHttpClient;
use whatsapp_rust::pair_code::PairCodeOptions;
use whatsapp_rust::prelude::{
    Bot, Client, Event, EventHandler, EventInterest, EventKind as WaKind, Jid, Subscription,
    TokioRuntime,
};
use whatsapp_rust::transport::{TokioWebSocketTransportFactory, TransportFactory};

use self::recording::{LastError, RecordingHttp, RecordingTransport};
use self::translate::{translate, Effect};
use self::wire::{Switch, SwitchedTransport};
use super::{Backend, BackendEvent, Error, EventKind, Session, StartMode, StartRequest};
use crate::registry::credentials::SessionStore;
use crate::registry::{PhoneNumber, UserKey};
use crate::time::{Clock, SystemClock};

pub use translate::translate as translate_event;

/// The store file earlier versions kept in each user's credential directory (imported into
/// the registry on the first start).
pub const STORE_FILE: &str = "whatsapp.db";
/// The client version announced to a test peer, where the version fetch cannot run.
const PEER_CLIENT_VERSION: (u32, u32, u32) = (2, 3000, 1_023_000_000);
/// The longest a reconnect attempt may take (version fetch, transport, handshake, login).
const ATTEMPT_TIMEOUT: Duration = Duration::from_secs(75);
/// How long closing waits for the client to flush and let go of its store.
const CLOSE_TIMEOUT: Duration = Duration::from_secs(10);
/// The same for an aborted client, hung up already: its node is fencing itself, most likely
/// because the registry its last writes would go to is out of reach.
const ABORT_TIMEOUT: Duration = Duration::from_secs(2);
/// Routine stream recycles re-run at once; more than this many in a row count as a drop.
const MAX_QUIET_RESTARTS: u32 = 5;

/// The events a session subscribes to; the library does not even build the others.
const INTEREST: &[WaKind] = &[
    WaKind::PairingQrCode,
    WaKind::PairingQrCodesExhausted,
    WaKind::PairSuccess,
    WaKind::PairError,
    WaKind::PairingCode,
    WaKind::PairingCodeError,
    WaKind::Connected,
    WaKind::Disconnected,
    WaKind::StreamReplaced,
    WaKind::LoggedOut,
    WaKind::TemporaryBan,
    WaKind::ClientOutdated,
    WaKind::ConnectFailure,
    WaKind::StreamError,
    WaKind::Messages,
];

pub struct WhatsappBackend {
    /// A test peer to talk to instead of WhatsApp (`--wa-endpoint`, test builds only).
    endpoint: Option<String>,
    /// The test peer's transport and phone controls (test builds only).
    #[cfg(feature = "wa-peer")]
    peer: Option<Arc<peer::PeerHooks>>,
    /// Each session's switch, for [`Backend::hang_up_all`]; a session's goes with it.
    wires: Mutex<Vec<Weak<Switch>>>,
}

impl WhatsappBackend {
    pub fn new(endpoint: Option<String>) -> WhatsappBackend {
        if let Some(endpoint) = &endpoint {
            warn!(%endpoint, "talking to a test WhatsApp endpoint, not WhatsApp's servers");
        }
        WhatsappBackend {
            endpoint,
            #[cfg(feature = "wa-peer")]
            peer: None,
            wires: Mutex::new(Vec::new()),
        }
    }

    /// The real backend against a test peer: its clients reach the peer through the
    /// transport the hooks give each session (or through `--wa-endpoint`), with a fixed
    /// client version, and `sim` commands act as the phone through the peer's controls.
    #[cfg(feature = "wa-peer")]
    pub fn with_peer(mut self, hooks: Arc<peer::PeerHooks>) -> WhatsappBackend {
        if hooks.transport().is_some() {
            warn!("talking to an in-process test WhatsApp peer, not WhatsApp's servers");
        }
        self.peer = Some(hooks);
        self
    }

    /// How this session's client reaches "WhatsApp".
    fn transport(&self) -> Arc<dyn TransportFactory> {
        #[cfg(feature = "wa-peer")]
        if let Some(transport) = self.peer.as_ref().and_then(|hooks| hooks.transport()) {
            return transport;
        }
        let mut transport = TokioWebSocketTransportFactory::new();
        if let Some(endpoint) = &self.endpoint {
            transport = transport.with_url(endpoint.clone());
        }
        Arc::new(transport)
    }

    /// A test peer cannot serve the version fetch: announce a fixed version instead.
    fn talks_to_a_peer(&self) -> bool {
        #[cfg(feature = "wa-peer")]
        if self.peer.is_some() {
            return true;
        }
        self.endpoint.is_some()
    }

    async fn build(
        &self,
        credentials: Arc<SessionStore>,
        mode: &StartMode,
        last_error: &LastError,
        switch: &Arc<Switch>,
    ) -> Result<Bot, Error> {
        let mut builder = Bot::builder()
            .with_backend_arc(credentials)
            .with_transport_factory(RecordingTransport {
                inner: Arc::new(SwitchedTransport {
                    inner: self.transport(),
                    switch: switch.clone(),
                }),
                last_error: last_error.clone(),
            })
            .with_http_client(RecordingHttp {
                inner: UreqHttpClient::new(),
                last_error: last_error.clone(),
            })
            .with_runtime(TokioRuntime)
            .skip_history_sync();
        if self.talks_to_a_peer() {
            builder = builder.with_version(PEER_CLIENT_VERSION);
        }
        if let StartMode::PairCode(phone) = mode {
            builder = builder.with_pair_code(PairCodeOptions {
                phone_number: phone.to_string(),
                ..Default::default()
            });
        }
        builder
            .build()
            .await
            .map_err(|error| Error::Store(format!("cannot start the WhatsApp client: {error}")))
    }
}

#[async_trait]
impl Backend for WhatsappBackend {
    fn name(&self) -> &'static str {
        "whatsapp"
    }

    async fn start(&self, request: StartRequest) -> Result<Arc<dyn Session>, Error> {
        if request.mode == StartMode::Resume {
            use whatsapp_rust::wacore::store::traits::DeviceStore;
            let stored = request
                .credentials
                .exists()
                .await
                .map_err(|error| Error::Store(error.to_string()))?;
            if !stored {
                return Err(Error::NoCredentials);
            }
        }
        let last_error = LastError::default();
        let wire = Arc::new(Switch::default());
        {
            let mut wires = self.wires.lock().unwrap_or_else(|p| p.into_inner());
            wires.retain(|wire| wire.strong_count() > 0);
            wires.push(Arc::downgrade(&wire));
        }
        let bot = self
            .build(
                request.credentials.clone(),
                &request.mode,
                &last_error,
                &wire,
            )
            .await?;
        let client = bot.client();
        // wasess decides when to reconnect (see the module doc).
        client.enable_auto_reconnect.store(false, Ordering::Relaxed);
        let (outcome, _) = watch::channel(Attempt::Running);
        let shared = Arc::new(Shared {
            user: request.user.clone(),
            generation: request.generation,
            events: request.events.clone(),
            up: AtomicBool::new(false),
            dropped: AtomicBool::new(false),
            restart: AtomicBool::new(false),
            terminal: AtomicBool::new(false),
            closing: AtomicBool::new(false),
            wake: Notify::new(),
            outcome,
            last_error,
            #[cfg(feature = "wa-peer")]
            last_qr: Mutex::new(None),
        });
        let subscription = client.subscribe(
            EventInterest::of(INTEREST),
            Arc::new(Handler(shared.clone())),
        );
        #[cfg(feature = "wa-peer")]
        if let Some(hooks) = &self.peer {
            hooks.track(&request.user, &shared, &client);
        }
        let driver = tokio::spawn(drive(bot, client.clone(), shared.clone()));
        info!(user = %request.user, mode = ?request.mode, "WhatsApp client started");
        Ok(Arc::new(WhatsappSession {
            shared,
            parts: Mutex::new(Some(Parts {
                client,
                driver,
                subscription,
            })),
            user: request.user.clone(),
            wire,
            torn_down: watch::Sender::new(false),
        }))
    }

    async fn hang_up_all(&self) {
        let wires: Vec<Arc<Switch>> = self
            .wires
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .iter()
            .filter_map(Weak::upgrade)
            .collect();
        let mut hanging_up = tokio::task::JoinSet::new();
        for wire in wires {
            hanging_up.spawn(async move { wire.cut().await });
        }
        hanging_up.join_all().await;
    }

    #[cfg(feature = "wa-peer")]
    fn phone(&self) -> Option<Arc<dyn super::PhoneControls>> {
        self.peer
            .clone()
            .map(|hooks| hooks as Arc<dyn super::PhoneControls>)
    }
}

/// How the current connection attempt went, for a waiting `reconnect()`.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Attempt {
    Running,
    Up,
    Failed(String),
}

/// State shared by the session handle, its driver and its event handler.
struct Shared {
    user: UserKey,
    generation: u64,
    events: super::EventSender,
    /// `Connected` arrived during the current run.
    up: AtomicBool,
    /// `Disconnected` arrived during the current run.
    dropped: AtomicBool,
    /// Paired: the next run is WhatsApp's restart, not a reconnect.
    restart: AtomicBool,
    /// The session is over for good.
    terminal: AtomicBool,
    /// wasess is closing the session: nothing more to report.
    closing: AtomicBool,
    wake: Notify,
    outcome: watch::Sender<Attempt>,
    last_error: LastError,
    /// The QR code on screen, for a test peer's phone to scan.
    #[cfg(feature = "wa-peer")]
    last_qr: Mutex<Option<String>>,
}

impl Shared {
    fn emit(&self, kind: EventKind) {
        if self.closing.load(Ordering::SeqCst) {
            return;
        }
        // Waits here while the session's queue is full: the client reads no more from
        // WhatsApp until the registry catches up.
        self.events.send_blocking(BackendEvent {
            user: self.user.clone(),
            generation: self.generation,
            kind,
        });
    }
}

/// Runs inline on the client's dispatch path: translate, note, forward. Holds no `Client`
/// (that would be a reference cycle keeping the store open).
struct Handler(Arc<Shared>);

impl EventHandler for Handler {
    fn handle_event(&self, event: Arc<Event>) {
        let (kinds, effect) = translate(&event, SystemClock.now());
        let shared = &self.0;
        #[cfg(feature = "wa-peer")]
        if let Event::PairingQrCode(qr) = &*event {
            *shared.last_qr.lock().unwrap_or_else(|p| p.into_inner()) = Some(qr.code.clone());
        }
        match effect {
            Effect::None => {}
            Effect::Up => {
                shared.up.store(true, Ordering::SeqCst);
                shared.restart.store(false, Ordering::SeqCst);
                shared.outcome.send_replace(Attempt::Up);
            }
            Effect::Restart => shared.restart.store(true, Ordering::SeqCst),
            Effect::Terminal => shared.terminal.store(true, Ordering::SeqCst),
            Effect::Dropped => shared.dropped.store(true, Ordering::SeqCst),
        }
        for kind in kinds {
            shared.emit(kind);
        }
    }
}

/// One run per attempt; see the module doc for when it runs again.
async fn drive(bot: Bot, client: Arc<Client>, shared: Arc<Shared>) {
    let mut first = Some(bot);
    let quiet_restarts = AtomicU32::new(0);
    loop {
        shared.up.store(false, Ordering::SeqCst);
        shared.dropped.store(false, Ordering::SeqCst);
        match first.take() {
            Some(bot) => bot.run().await,
            None => client.run().await,
        }
        if shared.closing.load(Ordering::SeqCst) || shared.terminal.load(Ordering::SeqCst) {
            break;
        }
        let up = shared.up.load(Ordering::SeqCst);
        // Only the run right after pairing is WhatsApp's restart. If that one ends before
        // `Connected`, it failed like any attempt: re-running it at once would loop.
        if shared.restart.swap(false, Ordering::SeqCst) && !up {
            debug!(user = %shared.user, "restarting the stream after pairing");
            continue;
        }
        if up && !shared.dropped.load(Ordering::SeqCst) {
            if quiet_restarts.fetch_add(1, Ordering::SeqCst) < MAX_QUIET_RESTARTS {
                debug!(user = %shared.user, "server recycled the stream; logging in again");
                continue;
            }
            shared.emit(EventKind::NetworkLost {
                reason: "the server keeps closing the connection".into(),
            });
        } else if !up {
            let reason = shared
                .last_error
                .take()
                .unwrap_or_else(|| "cannot connect to WhatsApp".into());
            info!(user = %shared.user, %reason, "connect attempt failed");
            shared.outcome.send_replace(Attempt::Failed(reason.clone()));
            shared.emit(EventKind::ConnectFailed { reason });
        }
        quiet_restarts.store(0, Ordering::SeqCst);
        // Wait for the supervisor's reconnect (or for the close).
        shared.wake.notified().await;
        if shared.closing.load(Ordering::SeqCst) {
            break;
        }
    }
    debug!(user = %shared.user, "driver stopped");
}

struct Parts {
    client: Arc<Client>,
    driver: JoinHandle<()>,
    subscription: Subscription,
}

struct WhatsappSession {
    shared: Arc<Shared>,
    parts: Mutex<Option<Parts>>,
    user: UserKey,
    /// Drops the connection without waiting for the client (see `wire`).
    wire: Arc<Switch>,
    /// Set once a teardown has stopped the client: a close that finds the parts already
    /// taken (a logout under way) waits for it, so "closed" always means the client is gone.
    torn_down: watch::Sender<bool>,
}

impl WhatsappSession {
    fn client(&self) -> Option<Arc<Client>> {
        self.parts
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .as_ref()
            .map(|parts| parts.client.clone())
    }

    /// Stops the driver and lets go of the client, so nothing of it writes to the store once
    /// this returns; the connection is gone by then however the client's own disconnect went.
    /// `Unlink` first removes the device from the account and says whether WhatsApp confirmed
    /// it; `Abort` drops the connection before anything else.
    async fn teardown(&self, ending: Ending) -> Result<(), Error> {
        self.shared.closing.store(true, Ordering::SeqCst);
        if ending == Ending::Abort {
            self.wire.cut().await;
        }
        let unlink = ending == Ending::Unlink;
        let Some(parts) = self.parts.lock().unwrap_or_else(|p| p.into_inner()).take() else {
            // Another teardown has the client: it ends within its own time limits.
            let _ = self.torn_down.subscribe().wait_for(|done| *done).await;
            return if unlink {
                Err(Error::NotReady(
                    "the session is closed: the device was not unlinked".into(),
                ))
            } else {
                Ok(())
            };
        };
        // Marks the teardown done however it ends, a caller's timeout included, so a close
        // waiting for it never waits forever; and the connection is hung up by then.
        let _done = TornDown {
            done: &self.torn_down,
            wire: &self.wire,
        };
        let Parts {
            client,
            driver,
            subscription,
        } = parts;
        // One deadline for every step: the client's disconnect, its driver, its last tasks.
        let deadline = tokio::time::Instant::now()
            + match ending {
                Ending::Abort => ABORT_TIMEOUT,
                Ending::Close | Ending::Unlink => CLOSE_TIMEOUT,
            };
        let stop = async {
            let unlinked = if unlink {
                remove_device(&client).await
            } else {
                Ok(())
            };
            client.disconnect().await;
            unlinked
        };
        let unlinked = match tokio::time::timeout_at(deadline, stop).await {
            Ok(unlinked) => unlinked,
            Err(_) => {
                warn!(user = %self.shared.user, "the WhatsApp client did not close in time");
                Err(Error::Unreachable(
                    "WhatsApp did not answer in time: the device was not unlinked".into(),
                ))
            }
        };
        // The client's disconnect flushes to the store before it closes the socket, and may
        // have given up before it got there.
        self.wire.cut().await;
        self.shared.wake.notify_one();
        if tokio::time::timeout_at(deadline, driver).await.is_err() {
            warn!(user = %self.shared.user, "the session driver did not stop in time");
        }
        drop(subscription);
        let weak = Arc::downgrade(&client);
        drop(client);
        // Tasks of the last connection let go of the client shortly after it closes.
        while weak.strong_count() > 0 && tokio::time::Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        if weak.strong_count() > 0 {
            warn!(user = %self.user, "the WhatsApp client is still referenced");
        }
        unlinked
    }
}

/// How a session ends: see [`WhatsappSession::teardown`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Ending {
    Close,
    Abort,
    Unlink,
}

/// Hangs up the connection and says a teardown is over when dropped (see
/// `WhatsappSession::torn_down`): a teardown its caller gave up on midway leaves no
/// connection open either.
struct TornDown<'a> {
    done: &'a watch::Sender<bool>,
    wire: &'a Switch,
}

impl Drop for TornDown<'_> {
    fn drop(&mut self) {
        self.wire.cut_soon();
        self.done.send_replace(true);
    }
}

/// Removes this companion device from the account (what the phone's "Linked devices" does),
/// and says whether WhatsApp confirmed it.
async fn remove_device(client: &Arc<Client>) -> Result<(), Error> {
    use whatsapp_rust::wacore::iq::devices::RemoveCompanionDeviceSpec;
    let jid = client
        .pn()
        .ok_or_else(|| Error::NotReady("the device has no number: nothing to unlink".into()))?;
    if !client.is_connected() {
        return Err(Error::Unreachable(
            "not connected to WhatsApp: the device was not unlinked".into(),
        ));
    }
    client
        .execute(RemoveCompanionDeviceSpec::new(&jid))
        .await
        .map_err(|error| Error::Unreachable(format!("the device was not unlinked: {error}")))
}

#[async_trait]
impl Session for WhatsappSession {
    async fn reconnect(&self) -> Result<(), Error> {
        if self.client().is_none() {
            return Err(Error::NotReady("the session is closed".into()));
        }
        let mut outcome = self.shared.outcome.subscribe();
        self.shared.outcome.send_replace(Attempt::Running);
        outcome.mark_unchanged();
        self.shared.wake.notify_one();
        let settled = tokio::time::timeout(
            ATTEMPT_TIMEOUT,
            outcome.wait_for(|attempt| *attempt != Attempt::Running),
        )
        .await;
        match settled {
            Ok(Ok(attempt)) => match &*attempt {
                Attempt::Up => Ok(()),
                Attempt::Failed(reason) => Err(Error::Unreachable(reason.clone())),
                Attempt::Running => Err(Error::Unreachable("no answer".into())),
            },
            Ok(Err(_)) => Err(Error::NotReady("the session is closed".into())),
            Err(_) => Err(Error::Unreachable(format!(
                "no connection within {}s",
                ATTEMPT_TIMEOUT.as_secs()
            ))),
        }
    }

    async fn close(&self) {
        let _ = self.teardown(Ending::Close).await;
    }

    async fn abort(&self) {
        let _ = self.teardown(Ending::Abort).await;
    }

    async fn logout(&self) -> Result<(), Error> {
        self.teardown(Ending::Unlink).await
    }

    async fn send_text(&self, to: &PhoneNumber, text: &str) -> Result<String, Error> {
        let client = self
            .client()
            .ok_or_else(|| Error::NotReady("the session is closed".into()))?;
        let sent = client
            .send_text(Jid::pn(to.as_str()), text)
            .await
            .map_err(|error| Error::Rejected(error.to_string()))?;
        Ok(sent.message_id)
    }
}

//! The session supervisor: the one place that turns what backends report into registry
//! changes, and operator commands into backend actions.
//!
//! Invariants it keeps:
//! - at most one session per user on this node, tagged with a generation; events of any other
//!   generation are stale and ignored, so a late event of a closed session changes nothing;
//! - a pairing always ends through [`Supervisor::finish_pairing`], which closes the session,
//!   deletes the half-made credential store, ends the registry pairing (lock released, pending
//!   QR cleared) and tells the waiting client; nothing leaves a lock or a pending QR behind;
//! - a replaced stream is never reconnected, and network drops get at most
//!   `max_reconnect_attempts` attempts, so no reconnect loop is possible;
//! - the registry decides: when it refuses a change (the row moved on, or another node owns
//!   it), the session here is closed rather than trusted.
//!
//! Backend events are handled one at a time in arrival order by [`Supervisor::run_events`];
//! slow work (reconnect back-off) runs in its own task.

use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, RwLock};
use std::time::Duration;

use serde_json::json;
use tokio::sync::{broadcast, mpsc, Notify};
use tracing::{debug, info, warn};

use super::config::Settings;
use super::Error;
use crate::backend::{self, Backend, BackendEvent, EventKind, Session, StartMode, StartRequest};
use crate::credentials::{remove_orphan_stores, CredentialStore};
use crate::model::{
    CleanupReport, Connection, DetachedHolder, EventKind as OutboxKind, ResetReport, Resolution,
    Status,
};
use crate::protocol::QrNotice;
use crate::registry::{
    self, Change, CleanupScope, PairingEnd, PairingOutcome, PhoneNumber, Registry, Scope, UserKey,
};

/// How long a backend may take to start a session before the attempt counts as failed.
const START_TIMEOUT: Duration = Duration::from_secs(30);

/// What a waiting `connect` hears.
#[derive(Debug, Clone)]
pub enum PairingUpdate {
    Qr(QrNotice),
    Finished(PairingResult),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PairingResult {
    Paired {
        phone: String,
        displaced: Vec<String>,
    },
    Refused {
        message: String,
        reason_code: String,
    },
    Expired,
    Cancelled,
    Failed {
        message: String,
    },
}

/// A started pairing, for the `connect` that asked for it.
pub struct PairingHandle {
    pub user: UserKey,
    pub generation: u64,
    pub updates: broadcast::Receiver<PairingUpdate>,
}

struct Entry {
    generation: u64,
    session: Option<Arc<dyn Session>>,
    phase: Phase,
}

enum Phase {
    Pairing {
        owner: String,
        updates: broadcast::Sender<PairingUpdate>,
    },
    Live,
    Reconnecting,
}

pub struct Supervisor {
    registry: Registry,
    backend: Arc<dyn Backend>,
    store: CredentialStore,
    settings: RwLock<Settings>,
    sessions: Mutex<HashMap<UserKey, Entry>>,
    events: mpsc::UnboundedSender<BackendEvent>,
    generations: AtomicU64,
    /// Rung after every registry write made here, so subscribers wake at once.
    outbox: Arc<Notify>,
}

impl Supervisor {
    /// The supervisor, and the receiving end of its backend events for [`Self::run_events`].
    pub fn new(
        registry: Registry,
        backend: Arc<dyn Backend>,
        store: CredentialStore,
        settings: Settings,
    ) -> (Arc<Supervisor>, mpsc::UnboundedReceiver<BackendEvent>) {
        let (events, receiver) = mpsc::unbounded_channel();
        let supervisor = Arc::new(Supervisor {
            registry,
            backend,
            store,
            settings: RwLock::new(settings),
            sessions: Mutex::new(HashMap::new()),
            events,
            // Unique across restarts too: attempt owners embed it.
            generations: AtomicU64::new(u64::from(std::process::id()) << 32),
            outbox: Arc::new(Notify::new()),
        });
        (supervisor, receiver)
    }

    pub fn registry(&self) -> &Registry {
        &self.registry
    }

    pub fn backend(&self) -> &Arc<dyn Backend> {
        &self.backend
    }

    pub fn outbox(&self) -> Arc<Notify> {
        self.outbox.clone()
    }

    pub fn settings(&self) -> Settings {
        self.settings
            .read()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .clone()
    }

    pub fn set_settings(&self, settings: Settings) {
        *self
            .settings
            .write()
            .unwrap_or_else(|poisoned| poisoned.into_inner()) = settings;
    }

    fn sessions(&self) -> MutexGuard<'_, HashMap<UserKey, Entry>> {
        self.sessions
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn changed(&self) {
        self.outbox.notify_waiters();
    }

    /// Users with a session here, and those of them still pairing.
    pub fn local_users(&self) -> (HashSet<String>, HashSet<String>) {
        let sessions = self.sessions();
        let all = sessions.keys().map(|user| user.to_string()).collect();
        let pairing = sessions
            .iter()
            .filter(|(_, entry)| matches!(entry.phase, Phase::Pairing { .. }))
            .map(|(user, _)| user.to_string())
            .collect();
        (all, pairing)
    }

    /// Removes `user`'s entry when it is still `generation`'s.
    fn take(&self, user: &UserKey, generation: u64) -> Option<Entry> {
        let mut sessions = self.sessions();
        match sessions.get(user) {
            Some(entry) if entry.generation == generation => sessions.remove(user),
            _ => None,
        }
    }

    fn take_any(&self, user: &UserKey) -> Option<Entry> {
        self.sessions().remove(user)
    }

    fn next_generation(&self) -> u64 {
        self.generations.fetch_add(1, Ordering::SeqCst)
    }

    fn delete_store(&self, user: &UserKey) {
        if let Err(error) = self.store.delete(user) {
            warn!(%user, %error, "cannot delete credential store");
        }
    }

    // -----------------------------------------------------------------------------------------
    // Pairing

    /// Starts a pairing for `user`: rules, lock and `PENDING_QR` first (refusals change
    /// nothing), then a fresh credential store and a backend session.
    pub async fn connect(
        self: &Arc<Self>,
        user: &UserKey,
        mode: StartMode,
    ) -> Result<PairingHandle, Error> {
        let generation = self.next_generation();
        let owner = format!("{}/{generation:x}", self.registry.node_id());
        let phone = match &mode {
            StartMode::PairCode(phone) => Some(phone.clone()),
            _ => None,
        };
        let pending = self
            .registry
            .start_connect(user, &owner, phone.as_ref())
            .await?;
        self.changed();

        // Whatever this node still runs for the user (a session in CONFLICT, say) goes now.
        if let Some(old) = self.take_any(user) {
            if let Some(session) = old.session {
                session.close().await;
            }
        }
        let (updates, receiver) = broadcast::channel(64);
        self.sessions().insert(
            user.clone(),
            Entry {
                generation,
                session: None,
                phase: Phase::Pairing {
                    owner: owner.clone(),
                    updates,
                },
            },
        );
        let store_dir = match self.store.create_fresh(user) {
            Ok(dir) => dir,
            Err(error) => {
                let message = format!("cannot create the credential store: {error}");
                self.finish_pairing(user, generation, PairingEnd::Failed(message.clone()))
                    .await;
                return Err(Error::Io(message));
            }
        };
        let request = StartRequest {
            user: user.clone(),
            store_dir,
            mode,
            generation,
            events: self.events.clone(),
        };
        let started = tokio::time::timeout(START_TIMEOUT, self.backend.start(request)).await;
        let session = match started {
            Ok(Ok(session)) => session,
            Ok(Err(error)) => {
                self.finish_pairing(user, generation, PairingEnd::Failed(error.to_string()))
                    .await;
                return Err(error.into());
            }
            Err(_) => {
                let error = backend::Error::Unreachable("timed out starting the session".into());
                self.finish_pairing(user, generation, PairingEnd::Failed(error.to_string()))
                    .await;
                return Err(error.into());
            }
        };
        let attached = {
            let mut sessions = self.sessions();
            match sessions.get_mut(user) {
                Some(entry) if entry.generation == generation => {
                    entry.session = Some(session.clone());
                    true
                }
                _ => false,
            }
        };
        if !attached {
            // The pairing ended while the backend was starting (cancelled, expired).
            session.close().await;
        }

        // The pairing's own deadline: the QR TTL, whatever the backend does.
        if let Some(deadline) = pending.qr_expires_at {
            let supervisor = Arc::downgrade(self);
            let wait = self.registry.now().until(deadline);
            let user = user.clone();
            tokio::spawn(async move {
                tokio::time::sleep(wait).await;
                if let Some(supervisor) = supervisor.upgrade() {
                    supervisor
                        .finish_pairing(&user, generation, PairingEnd::Expired)
                        .await;
                }
            });
        }
        info!(%user, generation, "pairing started");
        Ok(PairingHandle {
            user: user.clone(),
            generation,
            updates: receiver,
        })
    }

    /// Ends `generation`'s pairing of `user` (if it is still pairing): session closed,
    /// half-made store deleted, registry pairing ended, waiting client told.
    pub async fn finish_pairing(&self, user: &UserKey, generation: u64, end: PairingEnd) {
        let entry = {
            let mut sessions = self.sessions();
            match sessions.get(user) {
                Some(entry)
                    if entry.generation == generation
                        && matches!(entry.phase, Phase::Pairing { .. }) =>
                {
                    sessions.remove(user)
                }
                _ => None,
            }
        };
        let Some(entry) = entry else { return };
        let Phase::Pairing { owner, updates } = entry.phase else {
            return;
        };
        if let Some(session) = entry.session {
            session.close().await;
        }
        self.delete_store(user);
        if let Err(error) = self.registry.end_pairing(user, &owner, end.clone()).await {
            warn!(%user, %error, "cannot end the pairing in the registry");
        }
        self.changed();
        let result = match end {
            PairingEnd::Expired => PairingResult::Expired,
            PairingEnd::Cancelled => PairingResult::Cancelled,
            PairingEnd::Failed(message) => PairingResult::Failed { message },
        };
        info!(%user, generation, ?result, "pairing ended");
        let _ = updates.send(PairingUpdate::Finished(result));
    }

    /// The client of a (non-detached) `connect` went away: cancel its pairing.
    pub async fn cancel(&self, user: &UserKey, generation: u64) {
        self.finish_pairing(user, generation, PairingEnd::Cancelled)
            .await;
    }

    // -----------------------------------------------------------------------------------------
    // Backend events

    /// Handles backend events in order until every sender is gone.
    pub async fn run_events(self: Arc<Self>, mut events: mpsc::UnboundedReceiver<BackendEvent>) {
        while let Some(event) = events.recv().await {
            self.handle(event).await;
        }
    }

    async fn handle(self: &Arc<Self>, event: BackendEvent) {
        let BackendEvent {
            user,
            generation,
            kind,
        } = event;
        let (session, pairing) = {
            let sessions = self.sessions();
            match sessions.get(&user) {
                Some(entry) if entry.generation == generation => (
                    entry.session.clone(),
                    match &entry.phase {
                        Phase::Pairing { owner, updates } => Some((owner.clone(), updates.clone())),
                        _ => None,
                    },
                ),
                _ => {
                    debug!(%user, generation, ?kind, "stale backend event ignored");
                    return;
                }
            }
        };
        debug!(%user, generation, ?kind, "backend event");
        match (kind, pairing) {
            (EventKind::Qr { code, valid_for }, Some((owner, updates))) => {
                self.show_code(&user, generation, &owner, &updates, &code, valid_for, false)
                    .await
            }
            (EventKind::PairCode { code, valid_for }, Some((owner, updates))) => {
                self.show_code(&user, generation, &owner, &updates, &code, valid_for, true)
                    .await
            }
            (EventKind::QrExhausted, Some(_)) => {
                self.finish_pairing(&user, generation, PairingEnd::Expired)
                    .await
            }
            (EventKind::PairFailed { reason }, Some(_))
            | (EventKind::ConnectFailed { reason }, Some(_))
            | (EventKind::LoggedOut { reason }, Some(_)) => {
                self.finish_pairing(&user, generation, PairingEnd::Failed(reason))
                    .await
            }
            (EventKind::Paired { phone }, Some((owner, updates))) => {
                self.paired(&user, generation, &owner, &updates, &phone, session)
                    .await
            }
            (EventKind::Connected, None) => self.connected(&user, generation, session).await,
            (EventKind::NetworkLost { reason }, None)
            | (EventKind::ConnectFailed { reason }, None) => {
                self.network_lost(&user, generation, reason)
            }
            (EventKind::Replaced, None) => {
                let reason = "stream replaced: another client uses these credentials; \
                              not reconnecting";
                self.end_session(
                    &user,
                    generation,
                    Change::Conflict {
                        reason: reason.into(),
                    },
                    false,
                )
                .await
            }
            (EventKind::LoggedOut { reason }, None) => {
                let change = Change::LoggedOut {
                    reason: format!("logged out by WhatsApp: {reason}"),
                };
                self.end_session(&user, generation, change, true).await
            }
            (EventKind::TemporaryBan { code, until }, None) => {
                let change = Change::Paused {
                    reason: format!("temporarily banned by WhatsApp (code {code})"),
                    until,
                };
                self.end_session(&user, generation, change, false).await
            }
            (EventKind::ClientOutdated, Some(_)) => {
                let reason = "client outdated: WhatsApp refuses this version".to_string();
                self.finish_pairing(&user, generation, PairingEnd::Failed(reason))
                    .await
            }
            (EventKind::ClientOutdated, None) => {
                let change = Change::Paused {
                    reason: "client outdated: WhatsApp refuses this version; update wasess".into(),
                    until: None,
                };
                self.end_session(&user, generation, change, false).await
            }
            (EventKind::TemporaryBan { code, .. }, Some(_)) => {
                let reason = format!("temporarily banned by WhatsApp (code {code})");
                self.finish_pairing(&user, generation, PairingEnd::Failed(reason))
                    .await
            }
            (EventKind::Replaced, Some(_)) => {
                let reason = "stream replaced during pairing".to_string();
                self.finish_pairing(&user, generation, PairingEnd::Failed(reason))
                    .await
            }
            (EventKind::Message(message), _) => {
                let data = serde_json::to_value(&message).unwrap_or_default();
                match self
                    .registry
                    .record_event(OutboxKind::Message, &user, "message received", data)
                    .await
                {
                    Ok(_) => self.changed(),
                    Err(error) => warn!(%user, %error, "cannot record an incoming message"),
                }
            }
            (kind, _) => debug!(%user, ?kind, "event does not apply in this phase"),
        }
    }

    #[allow(clippy::too_many_arguments)]
    async fn show_code(
        &self,
        user: &UserKey,
        generation: u64,
        owner: &str,
        updates: &broadcast::Sender<PairingUpdate>,
        code: &str,
        valid_for: Duration,
        pair_code: bool,
    ) {
        match self
            .registry
            .record_qr(user, owner, code, valid_for, pair_code)
            .await
        {
            Ok(row) => {
                self.changed();
                let now = self.registry.now();
                let pairing_expires_at = row.qr_expires_at.unwrap_or(now);
                let _ = updates.send(PairingUpdate::Qr(QrNotice {
                    user: user.to_string(),
                    code: code.to_string(),
                    pair_code,
                    code_expires_at: now.plus(valid_for).min(pairing_expires_at),
                    pairing_expires_at,
                }));
            }
            Err(registry::Error::LockLost(_)) => {
                // Cleaned up, reset or expired under us: this pairing is over.
                self.finish_pairing(user, generation, PairingEnd::Cancelled)
                    .await
            }
            Err(error) => {
                warn!(%user, %error, "cannot record a QR code");
                self.finish_pairing(user, generation, PairingEnd::Failed(error.to_string()))
                    .await
            }
        }
    }

    async fn paired(
        &self,
        user: &UserKey,
        generation: u64,
        owner: &str,
        updates: &broadcast::Sender<PairingUpdate>,
        phone: &PhoneNumber,
        session: Option<Arc<dyn Session>>,
    ) {
        let policy = self.settings().conflict_policy;
        let outcome = self
            .registry
            .complete_pairing(user, owner, phone, policy)
            .await;
        self.changed();
        let result = match outcome {
            Ok(PairingOutcome::Paired { displaced, .. }) => {
                if let Some(entry) = self.sessions().get_mut(user) {
                    if entry.generation == generation {
                        entry.phase = Phase::Live;
                    }
                }
                for holder in &displaced {
                    self.displace(holder).await;
                }
                info!(%user, %phone, "paired");
                PairingResult::Paired {
                    phone: phone.to_string(),
                    displaced: displaced.into_iter().map(|holder| holder.user).collect(),
                }
            }
            Ok(PairingOutcome::Rejected { holders }) => {
                self.discard_link(user, generation, session).await;
                info!(%user, %phone, ?holders, "pairing rejected: number held by another user");
                PairingResult::Refused {
                    message: format!("number already registered to another account ({phone})"),
                    reason_code: "number_taken".into(),
                }
            }
            Err(registry::Error::LockLost(_)) => {
                self.discard_link(user, generation, session).await;
                PairingResult::Cancelled
            }
            Err(error) => {
                warn!(%user, %error, "cannot complete the pairing");
                let message = error.to_string();
                self.discard_link(user, generation, session).await;
                let _ = self
                    .registry
                    .end_pairing(user, owner, PairingEnd::Failed(message.clone()))
                    .await;
                PairingResult::Failed { message }
            }
        };
        let _ = updates.send(PairingUpdate::Finished(result));
    }

    /// A link that must not stay: unlink it on WhatsApp, delete its store, forget it.
    async fn discard_link(
        &self,
        user: &UserKey,
        generation: u64,
        session: Option<Arc<dyn Session>>,
    ) {
        self.take(user, generation);
        if let Some(session) = session {
            if let Err(error) = session.logout().await {
                warn!(%user, %error, "cannot unlink a discarded device");
            }
        }
        self.delete_store(user);
    }

    /// Another user took `holder`'s number (newest wins): its session here, if any, is logged
    /// out and its store deleted. Other nodes see the change in the registry and do the same.
    pub async fn displace(&self, holder: &DetachedHolder) {
        if holder.node_id.as_deref() != Some(self.registry.node_id()) {
            return;
        }
        let Ok(user) = UserKey::parse(&holder.user) else {
            return;
        };
        if let Some(entry) = self.take_any(&user) {
            if let Some(session) = entry.session {
                if let Err(error) = session.logout().await {
                    warn!(%user, %error, "cannot unlink a displaced device");
                }
            }
        }
        self.delete_store(&user);
        info!(%user, "displaced: logged out and credentials deleted");
    }

    async fn connected(&self, user: &UserKey, generation: u64, session: Option<Arc<dyn Session>>) {
        match self
            .registry
            .apply(user, Change::Connected, Scope::OwnedHere)
            .await
        {
            Ok(Some(_)) => {
                self.changed();
                if let Some(entry) = self.sessions().get_mut(user) {
                    if entry.generation == generation {
                        entry.phase = Phase::Live;
                    }
                }
            }
            Ok(None) => {
                drop(session);
                self.stale(user, generation).await;
            }
            Err(error) => warn!(%user, %error, "cannot record a connection"),
        }
    }

    /// Reconnect with back-off, at most `max_reconnect_attempts` times, then give up.
    fn network_lost(self: &Arc<Self>, user: &UserKey, generation: u64, reason: String) {
        {
            let mut sessions = self.sessions();
            match sessions.get_mut(user) {
                Some(entry) if entry.generation == generation => {
                    if matches!(entry.phase, Phase::Reconnecting) {
                        return;
                    }
                    entry.phase = Phase::Reconnecting;
                }
                _ => return,
            }
        }
        let supervisor = self.clone();
        let user = user.clone();
        tokio::spawn(async move {
            supervisor.reconnect_loop(&user, generation, reason).await;
        });
    }

    async fn reconnect_loop(&self, user: &UserKey, generation: u64, mut reason: String) {
        let settings = self.settings();
        let max = settings.max_reconnect_attempts;
        for attempt in 1..=max {
            let change = Change::Reconnecting {
                attempt,
                max,
                reason: reason.clone(),
            };
            match self.registry.apply(user, change, Scope::OwnedHere).await {
                Ok(Some(_)) => self.changed(),
                Ok(None) => return self.stale(user, generation).await,
                Err(error) => warn!(%user, %error, "cannot record a reconnect attempt"),
            }
            let backoff = settings.reconnect_backoff * 2u32.saturating_pow(attempt - 1);
            tokio::time::sleep(backoff).await;
            let Some(session) = self.session_of(user, generation) else {
                return;
            };
            match session.reconnect().await {
                Ok(()) => return self.connected(user, generation, Some(session)).await,
                Err(error) => {
                    info!(%user, attempt, %error, "reconnect failed");
                    reason = error.to_string();
                }
            }
        }
        let change = Change::Disconnected {
            reason: format!("network lost: gave up after {max} reconnect attempts ({reason})"),
        };
        self.end_session(user, generation, change, false).await;
    }

    fn session_of(&self, user: &UserKey, generation: u64) -> Option<Arc<dyn Session>> {
        self.sessions()
            .get(user)
            .filter(|entry| entry.generation == generation)
            .and_then(|entry| entry.session.clone())
    }

    async fn drop_session(&self, user: &UserKey, generation: u64) {
        if let Some(entry) = self.take(user, generation) {
            if let Some(session) = entry.session {
                session.close().await;
            }
        }
    }

    /// Closes `generation`'s session for good and records why; `forget` deletes the store.
    async fn end_session(&self, user: &UserKey, generation: u64, change: Change, forget: bool) {
        self.drop_session(user, generation).await;
        if forget {
            self.delete_store(user);
        }
        match self.registry.apply(user, change, Scope::OwnedHere).await {
            Ok(_) => self.changed(),
            Err(error) => warn!(%user, %error, "cannot record the end of a session"),
        }
    }

    // -----------------------------------------------------------------------------------------
    // Resuming

    /// Logs in again with stored credentials; the row must be this node's.
    pub async fn resume(self: &Arc<Self>, user: &UserKey) -> Result<(), Error> {
        if self.sessions().contains_key(user) {
            return Err(Error::refused(format!("{user} already has a session here")));
        }
        if !self.store.exists(user) {
            return Err(Error::NotFound(format!("{user} has no stored credentials")));
        }
        let generation = self.next_generation();
        self.sessions().insert(
            user.clone(),
            Entry {
                generation,
                session: None,
                phase: Phase::Live,
            },
        );
        let request = StartRequest {
            user: user.clone(),
            store_dir: self.store.dir(user),
            mode: StartMode::Resume,
            generation,
            events: self.events.clone(),
        };
        match tokio::time::timeout(START_TIMEOUT, self.backend.start(request)).await {
            Ok(Ok(session)) => {
                if let Some(entry) = self.sessions().get_mut(user) {
                    if entry.generation == generation {
                        entry.session = Some(session);
                        return Ok(());
                    }
                }
                session.close().await;
                Ok(())
            }
            Ok(Err(error)) => {
                self.take(user, generation);
                Err(error.into())
            }
            Err(_) => {
                self.take(user, generation);
                Err(backend::Error::Unreachable("timed out resuming the session".into()).into())
            }
        }
    }

    /// After a restart: resume every `CONNECTED` row of this node whose credentials exist, a
    /// few per second (never a storm); rows without credentials become `DISCONNECTED`.
    pub async fn resume_all(self: Arc<Self>) {
        let rows = match self
            .registry
            .connections(
                Some(Status::Connected),
                Some(self.registry.node_id()),
                u32::MAX,
            )
            .await
        {
            Ok(rows) => rows,
            Err(error) => return warn!(%error, "cannot list sessions to resume"),
        };
        if rows.is_empty() {
            return;
        }
        info!(sessions = rows.len(), "resuming sessions");
        let pause = Duration::from_secs(1) / self.settings().resume_rate.max(1);
        for row in rows {
            let Ok(user) = UserKey::parse(&row.user) else {
                continue;
            };
            let change = match self.resume(&user).await {
                Ok(()) => continue,
                Err(Error::NotFound(_)) => Change::Disconnected {
                    reason: "credentials missing after restart".into(),
                },
                Err(error) => Change::Disconnected {
                    reason: format!("resume failed: {error}"),
                },
            };
            warn!(%user, ?change, "cannot resume");
            if let Err(error) = self.registry.apply(&user, change, Scope::OwnedHere).await {
                warn!(%user, %error, "cannot record a failed resume");
            }
            self.changed();
            tokio::time::sleep(pause).await;
        }
    }

    // -----------------------------------------------------------------------------------------
    // Operator commands

    /// Closes `user`'s session (a pairing is cancelled), keeping credentials.
    pub async fn disconnect(&self, user: &UserKey) -> Result<Connection, Error> {
        if let Some((generation, pairing)) = self.phase_of(user) {
            if pairing {
                self.cancel(user, generation).await;
                return Ok(self.registry.connection(user).await?);
            }
            self.drop_session(user, generation).await;
        }
        let change = Change::Disconnected {
            reason: "disconnected by operator".into(),
        };
        let applied = self.registry.apply(user, change, Scope::Any).await?;
        self.changed();
        match applied {
            Some(row) => Ok(row),
            None => {
                let row = self.registry.connection(user).await?;
                Err(Error::refused(format!(
                    "{user} is not connected ({})",
                    row.status
                )))
            }
        }
    }

    /// Unlinks `user`'s device (when a session is live here), deletes its credentials and
    /// releases its number.
    pub async fn logout(&self, user: &UserKey) -> Result<Connection, Error> {
        let mut unlink_error = None;
        if let Some((generation, pairing)) = self.phase_of(user) {
            if pairing {
                self.cancel(user, generation).await;
            } else if let Some(entry) = self.take(user, generation) {
                if let Some(session) = entry.session {
                    unlink_error = session.logout().await.err();
                }
            }
        }
        self.delete_store(user);
        let change = Change::LoggedOut {
            reason: "logged out by operator".into(),
        };
        self.registry.apply(user, change, Scope::Any).await?;
        self.changed();
        if let Some(error) = unlink_error {
            warn!(%user, %error, "device not unlinked on WhatsApp's side");
        }
        Ok(self.registry.connection(user).await?)
    }

    fn phase_of(&self, user: &UserKey) -> Option<(u64, bool)> {
        self.sessions().get(user).map(|entry| {
            (
                entry.generation,
                matches!(entry.phase, Phase::Pairing { .. }),
            )
        })
    }

    /// Stops whatever runs here for `user`, unlinking a live device when `unlink`.
    async fn stop(&self, user: &UserKey, unlink: bool) {
        let Some((generation, pairing)) = self.phase_of(user) else {
            return;
        };
        if pairing {
            return self.cancel(user, generation).await;
        }
        if let Some(entry) = self.take(user, generation) {
            if let Some(session) = entry.session {
                if unlink {
                    if let Err(error) = session.logout().await {
                        warn!(%user, %error, "cannot unlink device");
                    }
                } else {
                    session.close().await;
                }
            }
        }
    }

    pub async fn reset(&self, user: Option<&UserKey>) -> Result<ResetReport, Error> {
        if let Some(user) = user {
            self.stop(user, true).await;
        } else {
            let users: Vec<UserKey> = self.sessions().keys().cloned().collect();
            for user in users {
                self.stop(&user, true).await;
            }
        }
        let report = self.registry.reset(user).await?;
        for reset in &report.users {
            if let Ok(user) = UserKey::parse(&reset.user) {
                self.stop(&user, true).await;
                self.delete_store(&user);
            }
        }
        if user.is_none() {
            if let Ok(users) = self.store.users() {
                for name in users {
                    if let Ok(user) = UserKey::parse(&name) {
                        self.delete_store(&user);
                    }
                }
            }
        }
        self.changed();
        Ok(report)
    }

    pub async fn resolve_conflicts(
        &self,
        dry_run: bool,
        phone: Option<&PhoneNumber>,
    ) -> Result<Resolution, Error> {
        let resolution = self.registry.resolve_conflicts(dry_run, phone).await?;
        if !dry_run {
            for action in &resolution.actions {
                for holder in &action.detached {
                    self.displace(holder).await;
                }
            }
            self.changed();
        }
        Ok(resolution)
    }

    pub async fn remove_user(&self, user: &UserKey) -> Result<Connection, Error> {
        self.stop(user, true).await;
        let before = self.registry.remove_user(user).await?;
        self.delete_store(user);
        self.changed();
        Ok(before)
    }

    /// One cleanup pass: the registry's, then this node's sessions and stores to match.
    pub async fn cleanup(&self, dry_run: bool) -> Result<CleanupReport, Error> {
        let (live, pairing) = self.local_users();
        let scope = CleanupScope {
            live_sessions: Some(live.clone()),
            pairing: pairing.clone(),
        };
        let mut report = self.registry.cleanup(&scope, dry_run).await?;
        if !dry_run {
            for name in &report.users {
                if let Ok(user) = UserKey::parse(name) {
                    if !pairing.contains(name) {
                        self.stop(&user, false).await;
                    }
                }
            }
        }
        report.orphan_stores = remove_orphan_stores(&self.registry, &self.store, &live, dry_run)
            .await
            .map_err(|error| Error::io("cannot clean credential stores", error))?;
        if !dry_run {
            self.changed();
        }
        Ok(report)
    }

    /// Closes a session the registry no longer backs (`row` as it is now): unlinked and
    /// forgotten when its number was released, closed with its credentials kept otherwise.
    async fn abandon(&self, user: &UserKey, generation: u64, row: Option<&Connection>) {
        let released = row.is_none_or(|row| row.phone_number.is_none());
        if let Some(entry) = self.take(user, generation) {
            if let Some(session) = entry.session {
                if released {
                    if let Err(error) = session.logout().await {
                        warn!(%user, %error, "cannot unlink a device released elsewhere");
                    }
                } else {
                    session.close().await;
                }
            }
        }
        if released {
            self.delete_store(user);
        }
    }

    /// The registry refused a change to `user`'s session: it moved on without us.
    async fn stale(&self, user: &UserKey, generation: u64) {
        info!(%user, "the registry no longer backs this session: closing it");
        let row = self.registry.connection(user).await.ok();
        self.abandon(user, generation, row.as_ref()).await;
    }

    /// Applies what other nodes changed to this node's sessions, reading the outbox after
    /// `after`: a session whose row another node moved on (displaced by a newer pairing, reset,
    /// disconnected from elsewhere, taken over after this node was thought lost) is closed
    /// here, and logged out and forgotten when its number was released. Returns the last id
    /// read.
    pub async fn reconcile(&self, after: i64) -> Result<i64, Error> {
        let me = self.registry.node_id().to_string();
        let events = self.registry.events_after(after, None, 500).await?;
        let mut last = after;
        let mut touched = std::collections::BTreeSet::new();
        for event in &events {
            last = event.id;
            if event.kind == OutboxKind::State && event.node_id.as_deref() != Some(me.as_str()) {
                if let Some(user) = &event.user {
                    touched.insert(user.clone());
                }
            }
        }
        for name in touched {
            let Ok(user) = UserKey::parse(&name) else {
                continue;
            };
            let Some((generation, pairing)) = self.phase_of(&user) else {
                continue;
            };
            let row = match self.registry.connection(&user).await {
                Ok(row) => Some(row),
                Err(registry::Error::UnknownUser(_)) => None,
                Err(error) => return Err(error.into()),
            };
            let still_ours = row.as_ref().is_some_and(|row| {
                row.node_id.as_deref() == Some(me.as_str())
                    && matches!(
                        (row.status, pairing),
                        (Status::Connected, false) | (Status::PendingQr, true)
                    )
            });
            if still_ours {
                continue;
            }
            info!(%user, "another node changed this session's row: closing it here");
            if pairing {
                self.cancel(&user, generation).await;
            } else {
                self.abandon(&user, generation, row.as_ref()).await;
            }
        }
        Ok(last)
    }

    /// Sends a text through `user`'s own live session.
    pub async fn send(
        &self,
        user: &UserKey,
        to: &PhoneNumber,
        text: &str,
    ) -> Result<String, Error> {
        let row = self.registry.connection(user).await?;
        if row.status != Status::Connected {
            return Err(Error::Refused {
                message: format!("{user} is not connected ({}): nothing sent", row.status),
                reason_code: Some("not_connected".into()),
            });
        }
        let session = {
            let sessions = self.sessions();
            sessions
                .get(user)
                .filter(|entry| matches!(entry.phase, Phase::Live))
                .and_then(|entry| entry.session.clone())
        };
        let Some(session) = session else {
            return Err(Error::Refused {
                message: format!("{user} has no live session on this node: nothing sent"),
                reason_code: Some("not_connected".into()),
            });
        };
        let message_id = session.send_text(to, text).await?;
        let data = json!({ "to": to, "message_id": message_id, "text": text });
        self.registry
            .record_event(OutboxKind::MessageSent, user, "message sent", data)
            .await?;
        self.changed();
        Ok(message_id)
    }

    /// Graceful stop: sessions closed without logging out (they resume on the next start),
    /// pairings cancelled so no lock or pending QR outlives the daemon.
    pub async fn shutdown(&self) {
        let entries: Vec<(UserKey, u64, bool)> = self
            .sessions()
            .iter()
            .map(|(user, entry)| {
                (
                    user.clone(),
                    entry.generation,
                    matches!(entry.phase, Phase::Pairing { .. }),
                )
            })
            .collect();
        for (user, generation, pairing) in entries {
            if pairing {
                self.cancel(&user, generation).await;
            } else {
                self.drop_session(&user, generation).await;
            }
        }
    }
}

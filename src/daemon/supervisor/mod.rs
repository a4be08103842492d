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
//! Backend events are handled in arrival order per session, each session by its own worker
//! task fed by a bounded queue (`events`), so one slow session never holds up another and a
//! slow registry holds sessions back instead of growing memory; slow work (reconnect
//! back-off) runs in its own task.
//!
//! The methods live by concern: `pairing` (connect to paired or ended), `events` (what a
//! backend reports), `live` (reconnects, resumes, sessions another node moved on), `operator`
//! (the CLI's commands).

mod events;
mod handover;
mod live;
mod operator;
mod pacing;
mod pairing;
mod persist;
mod unlinks;

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
use crate::model::{
    CleanupReport, Connection, DetachedHolder, EventKind as OutboxKind, ResetReport, Resolution,
    Status,
};
use crate::protocol::QrNotice;
use crate::registry::credentials::SessionStore;
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
    /// The registry epoch this session writes under (see `registry::ownership`).
    epoch: i64,
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
    settings: RwLock<Settings>,
    sessions: Mutex<HashMap<UserKey, Entry>>,
    /// Backend events queued daemon-wide (see `events`).
    event_load: Arc<crate::backend::EventLoad>,
    generations: AtomicU64,
    /// Rung after every registry write made here, so subscribers wake at once.
    outbox: Arc<Notify>,
    /// This node's lease and standing among the nodes.
    membership: Arc<super::cluster::Membership>,
    /// Sessions waiting for their paced resume (counted as live by cleanup).
    resuming: Mutex<HashSet<String>>,
    /// Paces every login from stored credentials at `resume_rate`.
    logins: pacing::LoginPacer,
    /// Clients logging released devices out (see `unlinks`).
    unlinking: Arc<unlinks::Unlinking>,
}

impl Supervisor {
    pub fn new(
        registry: Registry,
        backend: Arc<dyn Backend>,
        settings: Settings,
        membership: Arc<super::cluster::Membership>,
    ) -> Arc<Supervisor> {
        Arc::new(Supervisor {
            registry,
            backend,
            settings: RwLock::new(settings),
            sessions: Mutex::new(HashMap::new()),
            event_load: Arc::default(),
            // Unique across restarts too: attempt owners embed it.
            generations: AtomicU64::new(u64::from(std::process::id()) << 32),
            outbox: Arc::new(Notify::new()),
            membership,
            resuming: Mutex::new(HashSet::new()),
            logins: pacing::LoginPacer::new(),
            unlinking: Arc::default(),
        })
    }

    /// Logs `session` out, which unlinks its device on WhatsApp; a device WhatsApp did not
    /// confirm is recorded as [`left_linked`](Self::left_linked).
    pub(super) async fn unlink(
        registry: &Registry,
        user: &UserKey,
        phone: Option<&str>,
        session: &dyn Session,
    ) {
        if let Err(error) = session.logout().await {
            Self::left_linked(registry, user, phone, &error).await;
        }
    }

    /// A device let go of without WhatsApp confirming its unlink: logged, and recorded for
    /// `doctor` (see `registry::LeftLinked`), since the phone may still list it.
    pub(super) async fn left_linked(
        registry: &Registry,
        user: &UserKey,
        phone: Option<&str>,
        error: &(dyn std::fmt::Display + Sync),
    ) {
        let error = error.to_string();
        warn!(%user, %error, "device not unlinked on WhatsApp's side");
        if let Err(record) = registry
            .record_left_linked(user.as_str(), phone, &error)
            .await
        {
            warn!(%user, error = %record, "cannot record a device left linked");
        }
    }

    pub fn registry(&self) -> &Registry {
        &self.registry
    }

    pub fn backend(&self) -> &Arc<dyn Backend> {
        &self.backend
    }

    pub fn membership(&self) -> Arc<super::cluster::Membership> {
        self.membership.clone()
    }

    /// Sessions with a running client here (pairings not counted).
    pub fn sessions_running(&self) -> u64 {
        self.sessions()
            .values()
            .filter(|entry| {
                entry.session.is_some() && !matches!(entry.phase, Phase::Pairing { .. })
            })
            .count() as u64
    }

    /// `live`, `fenced`, `draining` or `stopping`, as this node sees itself.
    pub fn standing(&self) -> &'static str {
        if self.membership.is_fenced() {
            "fenced"
        } else if self.membership.is_draining() {
            "draining"
        } else if self.membership.is_stopping() {
            "stopping"
        } else {
            "live"
        }
    }

    /// Refuses new sessions while this node is fenced or draining.
    fn check_accepting(&self) -> Result<(), Error> {
        if self.membership.is_fenced() {
            return Err(Error::refused(
                "this node cannot renew its lease in the registry (fenced): try another node",
            ));
        }
        if self.membership.is_draining() {
            return Err(Error::refused(
                "this node is draining: connect through another node",
            ));
        }
        if self.membership.is_stopping() {
            return Err(Error::refused("this node is stopping"));
        }
        Ok(())
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

    /// Wakes the subscribers after a registry write made here.
    pub fn changed(&self) {
        self.outbox.notify_waiters();
    }

    /// Users with a session here, and those of them still pairing.
    pub fn local_users(&self) -> (HashSet<String>, HashSet<String>) {
        let sessions = self.sessions();
        let mut all: HashSet<String> = sessions.keys().map(|user| user.to_string()).collect();
        all.extend(
            self.resuming
                .lock()
                .unwrap_or_else(|poisoned| poisoned.into_inner())
                .iter()
                .cloned(),
        );
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

    /// The fenced credential store of `user`'s session at `epoch`, watched: the first write
    /// the registry refuses closes the session here at once (no logout, no `CONFLICT`).
    fn credentials(
        self: &Arc<Self>,
        user: &UserKey,
        generation: u64,
        epoch: i64,
    ) -> Arc<SessionStore> {
        let store = Arc::new(self.registry.session_store(user, epoch));
        let mut fenced = store.fenced();
        let supervisor = Arc::downgrade(self);
        let user = user.clone();
        tokio::spawn(async move {
            // Ends without a call when the store goes (the session closed normally).
            if fenced.wait_for(|fenced| *fenced).await.is_ok() {
                if let Some(supervisor) = supervisor.upgrade() {
                    supervisor.fenced(&user, generation).await;
                }
            }
        });
        store
    }

    /// The registry refused a write of `generation`'s session: the row moved on without it
    /// (another node owns it, or a change released its number). Nothing is written for it.
    pub(super) async fn fenced(&self, user: &UserKey, generation: u64) {
        if self.epoch_of(user, generation).is_none() {
            return;
        }
        warn!(%user, "fenced: the session is no longer this node's");
        // Another node's now: closed. Its number released (newest wins, a resolved conflict):
        // unlinked, or the device would stay linked with nobody left to unlink it.
        self.stale(user, generation).await;
        self.changed();
    }
}

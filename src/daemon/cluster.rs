//! This node's place among the nodes of one registry: its lease, self-fencing, takeover of
//! lost nodes' sessions, and drain.
//!
//! - The lease is renewed every `heartbeat_interval`, by the database's clock. Each renewal is
//!   timed from *before* it was sent, so the local deadline below always falls before the
//!   moment the database lets the lease run out.
//! - The watchdog fences the node when no renewal succeeded for `fence_after` (a fraction of
//!   `node_grace`): every WhatsApp client here closes, without logging out and without a word
//!   to the registry, before any survivor may claim the sessions. When a renewal succeeds
//!   again, the node resumes only the rows it still owns.
//! - After each renewal a live node claims what lost nodes left and what draining nodes handed
//!   over, up to its fair share, and resumes it at `resume_rate`.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio::sync::watch;
use tracing::{error, info, warn};

use super::supervisor::Supervisor;
use crate::registry::{self, NodeHolder, NodeState};

/// This node's standing, shared by the lease loop, the watchdog and the supervisor.
#[derive(Debug)]
pub struct Membership {
    pub me: NodeHolder,
    /// When the last successful renewal was sent.
    renewed_at: Mutex<Instant>,
    fenced: AtomicBool,
    draining: AtomicBool,
    /// A claim of orphaned sessions is under way.
    claiming: AtomicBool,
    /// The daemon is stopping alone: it keeps its rows, and starts nothing new.
    stopping: AtomicBool,
    /// Held while a fencing closes the clients, so the node never unfences midway.
    fencing: tokio::sync::Mutex<()>,
    /// Since when this node has run undisturbed (started, or back from a fencing): its rows
    /// are still being resumed for a while after.
    steady_since: Mutex<Instant>,
}

impl Membership {
    pub fn new(me: NodeHolder) -> Membership {
        Membership {
            me,
            renewed_at: Mutex::new(Instant::now()),
            fenced: AtomicBool::new(false),
            draining: AtomicBool::new(false),
            claiming: AtomicBool::new(false),
            stopping: AtomicBool::new(false),
            steady_since: Mutex::new(Instant::now()),
            fencing: tokio::sync::Mutex::new(()),
        }
    }

    pub fn is_fenced(&self) -> bool {
        self.fenced.load(Ordering::SeqCst)
    }

    pub fn is_draining(&self) -> bool {
        self.draining.load(Ordering::SeqCst)
    }

    /// Whether the node has run undisturbed for `long`.
    pub fn steady_for(&self, long: Duration) -> bool {
        self.steady_since
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .elapsed()
            >= long
    }

    fn unsteady(&self) {
        *self
            .steady_since
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner()) = Instant::now();
    }

    pub fn is_stopping(&self) -> bool {
        self.stopping.load(Ordering::SeqCst)
    }

    pub fn start_stopping(&self) {
        self.stopping.store(true, Ordering::SeqCst);
    }

    pub fn start_draining(&self) -> bool {
        !self.draining.swap(true, Ordering::SeqCst)
    }

    fn since_renewal(&self) -> Duration {
        self.renewed_at
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .elapsed()
    }

    fn renewed(&self, sent: Instant) {
        *self
            .renewed_at
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner()) = sent;
    }
}

/// Renews the lease, then claims orphaned sessions; drains when asked.
pub async fn run_lease(supervisor: Arc<Supervisor>, mut shutdown: watch::Receiver<bool>) {
    let membership = supervisor.membership();
    // Whether the current fencing was already counted in the node's row.
    let mut fencing_counted = false;
    loop {
        let settings = supervisor.settings();
        tokio::select! {
            _ = tokio::time::sleep(settings.heartbeat_interval) => {}
            _ = shutdown.changed() => return,
        }
        let was_fenced = membership.is_fenced();
        let state = if membership.is_draining() {
            NodeState::Draining
        } else if was_fenced {
            NodeState::Fenced
        } else {
            NodeState::Live
        };
        let ends_fencing = was_fenced && !fencing_counted;
        let sent = Instant::now();
        // A renewal that takes longer than this cannot keep the node unfenced anyway.
        let limit = settings.fence_after().max(settings.heartbeat_interval);
        let renewal = tokio::time::timeout(
            limit,
            supervisor
                .registry()
                .renew_lease(&membership.me, state, ends_fencing),
        )
        .await;
        let drain_requested = match renewal {
            Ok(Ok(drain_requested)) => {
                membership.renewed(sent);
                fencing_counted |= ends_fencing;
                if was_fenced {
                    // The fencing finishes closing its clients first.
                    let _fencing = membership.fencing.lock().await;
                    // Pairings cut short by the fencing end first, while nothing new can start.
                    match tokio::time::timeout(limit, supervisor.registry().recover_node()).await {
                        Ok(Ok(_)) => {}
                        Ok(Err(error)) => {
                            warn!(%error, "cannot end the pairings cut short by fencing");
                            continue;
                        }
                        Err(_) => {
                            warn!("ending the pairings cut short by fencing timed out");
                            continue;
                        }
                    }
                    // Only on a lease still fresh: a slow recovery may have outlived it.
                    if membership.since_renewal() > settings.fence_after() {
                        continue;
                    }
                    membership.unsteady();
                    membership.fenced.store(false, Ordering::SeqCst);
                    fencing_counted = false;
                    info!("lease renewed: resuming the sessions this node still owns");
                    tokio::spawn(supervisor.clone().resume_all());
                }
                drain_requested
            }
            Ok(Err(registry::Error::NodeTaken { node, host, pid })) => {
                error!(%node, %host, pid, "another daemon took this node id: stopping every session");
                fence(&supervisor, false).await;
                continue;
            }
            Ok(Err(error)) => {
                warn!(%error, "cannot renew the lease");
                continue;
            }
            Err(_) => {
                warn!(seconds = limit.as_secs_f64(), "lease renewal timed out");
                continue;
            }
        };
        if membership.is_fenced() || membership.is_stopping() {
            continue;
        }
        if membership.is_draining() {
            // Rows that reached this node after its drain began (a claim in flight, a failed
            // hand-over) are released too, beside the lease like a claim.
            if !membership.claiming.swap(true, Ordering::SeqCst) {
                let supervisor = supervisor.clone();
                tokio::spawn(async move {
                    supervisor.hand_over_idle_rows().await;
                    supervisor
                        .membership()
                        .claiming
                        .store(false, Ordering::SeqCst);
                });
            }
            continue;
        }
        if drain_requested {
            info!("drain requested: handing every session to the live nodes");
            let supervisor = supervisor.clone();
            tokio::spawn(async move { supervisor.drain().await });
            continue;
        }
        // Claims run beside the lease: a claim waiting on the registry never delays a renewal.
        if !membership.claiming.swap(true, Ordering::SeqCst) {
            let supervisor = supervisor.clone();
            tokio::spawn(async move {
                claim(&supervisor).await;
                supervisor
                    .membership()
                    .claiming
                    .store(false, Ordering::SeqCst);
            });
        }
    }
}

async fn claim(supervisor: &Arc<Supervisor>) {
    let batch = supervisor.resume_batch();
    match supervisor.registry().claim_orphans(batch).await {
        Ok(claimed) if claimed.is_empty() => {}
        Ok(claimed) => {
            info!(sessions = claimed.len(), "took over sessions");
            crate::metrics::counters()
                .takeovers
                .inc_by(claimed.len() as u64);
            supervisor.outbox().notify_waiters();
            supervisor.resume_rows(claimed);
        }
        Err(error) => warn!(%error, "cannot claim orphaned sessions"),
    }
    supervisor.clone().log_in_adopted().await;
}

/// Hangs up every connection here and closes every client, recording nothing for them. Then,
/// when `tell` and the database still answers, the node's row says it fenced itself
/// (`wasess nodes`).
pub(super) async fn fence(supervisor: &Arc<Supervisor>, tell: bool) {
    let membership = supervisor.membership();
    let fencing = membership.fencing.lock().await;
    if membership.fenced.swap(true, Ordering::SeqCst) {
        return;
    }
    crate::metrics::counters().fencings.inc();
    supervisor.fence_all().await;
    drop(fencing);
    if tell {
        let said = tokio::time::timeout(
            supervisor.settings().heartbeat_interval,
            supervisor.registry().mark_fenced(&membership.me),
        )
        .await;
        if !matches!(said, Ok(Ok(()))) {
            info!("the registry did not hear that this node fenced itself");
        }
    }
}

/// Fences the node when its lease could not be renewed in time.
pub async fn run_watchdog(supervisor: Arc<Supervisor>, mut shutdown: watch::Receiver<bool>) {
    let membership = supervisor.membership();
    loop {
        let fence_after = supervisor.settings().fence_after();
        let tick = (fence_after / 20).clamp(Duration::from_millis(20), Duration::from_millis(500));
        tokio::select! {
            _ = tokio::time::sleep(tick) => {}
            _ = shutdown.changed() => return,
        }
        let silent = membership.since_renewal();
        if silent > fence_after && !membership.is_fenced() {
            warn!(
                silent_ms = silent.as_millis() as u64,
                "no lease renewal within the fencing deadline: closing every WhatsApp client here"
            );
            fence(&supervisor, true).await;
        }
    }
}

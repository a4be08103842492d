//! Periodic work: the cleanup pass (every `cleanup_interval`, 5 minutes by default) and following other nodes'
//! changes. The node's lease lives in `cluster`.
//! Each loop sleeps its interval (re-read every round, so SIGHUP applies) until shutdown.

use std::sync::Arc;

use tokio::sync::watch;
use tracing::{info, warn};

use super::supervisor::Supervisor;

pub async fn run_cleanup(supervisor: Arc<Supervisor>, mut shutdown: watch::Receiver<bool>) {
    loop {
        let interval = supervisor.settings().cleanup_interval;
        tokio::select! {
            _ = tokio::time::sleep(interval) => {}
            _ = shutdown.changed() => return,
        }
        match supervisor.cleanup(false).await {
            Ok(report) if report.users.is_empty() && report.orphan_stores == 0 => {}
            Ok(report) => info!(
                expired_qr = report.expired_qr,
                expired_locks = report.expired_locks,
                stale_sessions = report.stale_sessions,
                dead_node_sessions = report.dead_node_sessions,
                ended_pauses = report.ended_pauses,
                orphan_stores = report.orphan_stores,
                "cleanup"
            ),
            Err(error) => warn!(%error, "cleanup failed"),
        }
    }
}

/// How often other nodes' changes are looked for. Polling the outbox (indexed by id) works on
/// both databases and cannot miss a change across reconnects, unlike LISTEN/NOTIFY.
const RECONCILE_INTERVAL: std::time::Duration = std::time::Duration::from_millis(500);

pub async fn run_reconcile(supervisor: Arc<Supervisor>, mut shutdown: watch::Receiver<bool>) {
    let mut cursor = match supervisor.registry().last_event_id().await {
        Ok(id) => id,
        Err(error) => {
            warn!(%error, "cannot read the outbox: other nodes' changes are not followed");
            return;
        }
    };
    let mut behind = false;
    loop {
        // A full batch means more wait: read on at once, without the pause.
        if !behind {
            tokio::select! {
                _ = tokio::time::sleep(RECONCILE_INTERVAL) => {}
                _ = shutdown.changed() => return,
            }
        }
        match supervisor.reconcile(cursor).await {
            Ok((next, more)) => (cursor, behind) = (next, more),
            Err(error) => {
                behind = false;
                warn!(%error, "cannot follow other nodes' changes");
            }
        }
    }
}

/// Retries the unlinks released devices still owe (see `supervisor::unlinks`), every
/// heartbeat. A fenced or stopping node leaves them to the others.
pub async fn run_owed_unlinks(supervisor: Arc<Supervisor>, mut shutdown: watch::Receiver<bool>) {
    loop {
        let interval = supervisor.settings().heartbeat_interval;
        tokio::select! {
            _ = tokio::time::sleep(interval) => {}
            _ = shutdown.changed() => return,
        }
        let membership = supervisor.membership();
        if membership.is_fenced() || membership.is_stopping() {
            continue;
        }
        // A stop does not wait for an attempt under way: its client is closed with the
        // others set aside (`Supervisor::shutdown`), and the unlink is retried later.
        tokio::select! {
            _ = supervisor.retry_owed_unlinks() => {}
            _ = shutdown.changed() => return,
        }
    }
}

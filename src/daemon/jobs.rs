//! Periodic work: the cleanup pass (DESIGN.md: every 5 minutes) and the node heartbeat.
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

pub async fn run_heartbeat(supervisor: Arc<Supervisor>, mut shutdown: watch::Receiver<bool>) {
    loop {
        let interval = supervisor.settings().heartbeat_interval;
        tokio::select! {
            _ = tokio::time::sleep(interval) => {}
            _ = shutdown.changed() => return,
        }
        if let Err(error) = supervisor.registry().heartbeat().await {
            warn!(%error, "heartbeat failed");
        }
    }
}

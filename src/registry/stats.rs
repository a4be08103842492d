//! Counts for `wasess stats`: by status, duplicated numbers, locks held, and per node.
//! Each count is answered from an index (status, node, the numbers held more than once),
//! never the table.

use super::db::args;
use super::{Error, Registry};
use crate::model::{NodeCount, Stats, Status};

impl Registry {
    pub async fn stats(&self) -> Result<Stats, Error> {
        let now = self.now();
        let mut tx = self.db.read().await?;
        let by_status: Vec<(String, i64)> = tx
            .fetch_all(
                "SELECT status, COUNT(*) FROM whatsapp_connections GROUP BY status",
                args![],
            )
            .await?;
        let (duplicate_numbers,): (i64,) = tx
            .fetch_one("SELECT COUNT(*) FROM shared_numbers", args![])
            .await?;
        let (locks_held,): (i64,) = tx
            .fetch_one(
                "SELECT COUNT(*) FROM connect_locks WHERE expires_at > $1",
                args![now.millis()],
            )
            .await?;
        let by_node: Vec<(String, i64, i64)> = tx
            .fetch_all(
                "SELECT node_id, COUNT(*), COUNT(*) FILTER (WHERE status = 'CONNECTED') \
                 FROM whatsapp_connections WHERE node_id IS NOT NULL \
                 GROUP BY node_id ORDER BY node_id",
                args![],
            )
            .await?;
        tx.commit().await?;

        let mut stats = Stats {
            duplicate_numbers: duplicate_numbers as u64,
            locks_held: locks_held as u64,
            by_node: by_node
                .into_iter()
                .map(|(node_id, connections, connected)| NodeCount {
                    node_id,
                    connections: connections as u64,
                    connected: connected as u64,
                })
                .collect(),
            ..Stats::default()
        };
        for (status, n) in by_status {
            let n = n as u64;
            stats.total += n;
            match super::rows::parse_status(&status)? {
                Status::Connected => stats.connected += n,
                Status::PendingQr => stats.pending_qr += n,
                Status::Disconnected => stats.disconnected += n,
                Status::Conflict => stats.conflict += n,
                Status::Paused => stats.paused += n,
                Status::LoggedOut => stats.logged_out += n,
            }
        }
        Ok(stats)
    }
}

impl Registry {
    /// The id of the newest event ever written (0 before the first); pruning keeps it.
    pub async fn newest_event_id(&self) -> Result<i64, Error> {
        let last: Option<(i64,)> = self
            .db
            .fetch_optional("SELECT last_id FROM outbox_sequence WHERE id = 1", args![])
            .await?;
        Ok(last.map_or(0, |(id,)| id))
    }
}

/// What `doctor` reads from the registry.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Health {
    /// Locks past their expiry that no cleanup has removed yet.
    pub expired_locks: u64,
    /// Pending QR codes still waiting for a scan.
    pub pending_qr: u64,
    /// Pending QR codes past their expiry.
    pub expired_qr: u64,
    /// Users without a connection row (imported or edited by hand).
    pub users_without_row: Vec<String>,
}

impl Registry {
    pub async fn health(&self) -> Result<Health, Error> {
        let now = self.now().millis();
        let mut tx = self.db.read().await?;
        let (expired_locks,): (i64,) = tx
            .fetch_one(
                "SELECT COUNT(*) FROM connect_locks WHERE expires_at <= $1",
                args![now],
            )
            .await?;
        let (pending_qr, expired_qr): (i64, i64) = tx
            .fetch_one(
                "SELECT COUNT(*), COUNT(*) FILTER (WHERE qr_expires_at <= $1) \
                 FROM whatsapp_connections WHERE status = 'PENDING_QR'",
                args![now],
            )
            .await?;
        let orphans: Vec<(String,)> = tx
            .fetch_all(
                "SELECT u.user_key FROM users u WHERE NOT EXISTS \
                 (SELECT 1 FROM whatsapp_connections c WHERE c.user_key = u.user_key) \
                 ORDER BY u.user_key LIMIT 100",
                args![],
            )
            .await?;
        tx.commit().await?;
        Ok(Health {
            expired_locks: expired_locks.max(0) as u64,
            pending_qr: pending_qr.max(0) as u64,
            expired_qr: expired_qr.max(0) as u64,
            users_without_row: orphans.into_iter().map(|(user,)| user).collect(),
        })
    }
}

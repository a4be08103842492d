//! Counts for `wasess stats`: by status, duplicated numbers, locks held, and per node.
//! Each count is answered from an index (status, phone number, node), never the table.

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
            .fetch_one(
                "SELECT COUNT(*) FROM (SELECT phone_number FROM whatsapp_connections \
                 WHERE phone_number IS NOT NULL GROUP BY phone_number HAVING COUNT(*) > 1) d",
                args![],
            )
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

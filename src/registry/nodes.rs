//! Nodes: every running `wasessd` registers and heart-beats here, so the others can tell when
//! it is gone and take over its users (see `cleanup`).

use sqlx::FromRow;

use serde_json::json;

use super::db::args;
use super::events::{self, NewEvent};
use super::rows::{self, connection_columns};
use super::{Error, Registry};
use crate::model::{Connection, EventKind, NodeInfo, Status};
use crate::time::Timestamp;

#[derive(FromRow)]
struct NodeRow {
    node_id: String,
    started_at: i64,
    last_seen: i64,
    version: String,
    connected: i64,
}

impl Registry {
    /// Registers this node (or re-registers it after a restart).
    pub async fn register_node(&self, version: &str) -> Result<(), Error> {
        let now = self.now().millis();
        let mut tx = self.db.write().await?;
        tx.execute(
            "INSERT INTO nodes (node_id, started_at, last_seen, version) VALUES ($1, $2, $2, $3) \
             ON CONFLICT (node_id) DO UPDATE SET started_at = excluded.started_at, \
             last_seen = excluded.last_seen, version = excluded.version",
            args![self.node_id.as_str(), now, version],
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// After a restart: the pairings this node was running died with its previous process.
    /// Their rows go back to `DISCONNECTED` and this node's locks are released. Returns how
    /// many pairings were ended.
    pub async fn recover_node(&self) -> Result<u64, Error> {
        let now = self.now();
        let mut tx = self.db.write().await?;
        let interrupted = rows::into_connections(
            tx.fetch_all(
                concat!(
                    "SELECT ",
                    connection_columns!(),
                    " FROM whatsapp_connections WHERE node_id = $1 AND status = 'PENDING_QR'"
                ),
                args![self.node_id.as_str()],
            )
            .await?,
        )?;
        for before in &interrupted {
            let after = Connection {
                status: Status::Disconnected,
                phone_number: None,
                qr_issued_at: None,
                qr_expires_at: None,
                reason: "pairing interrupted by a daemon restart".into(),
                updated_at: now,
                ..before.clone()
            };
            self.write_change(&mut tx, before, &after).await?;
            let event = NewEvent::new(
                EventKind::Pairing,
                &before.user,
                after.reason.clone(),
                json!({ "result": "failed" }),
            );
            events::append(&mut tx, now, &self.node_id, event).await?;
        }
        tx.execute(
            "DELETE FROM connect_locks WHERE node_id = $1",
            args![self.node_id.as_str()],
        )
        .await?;
        tx.commit().await?;
        Ok(interrupted.len() as u64)
    }

    pub async fn heartbeat(&self) -> Result<(), Error> {
        let mut tx = self.db.write().await?;
        tx.execute(
            "UPDATE nodes SET last_seen = $2 WHERE node_id = $1",
            args![self.node_id.as_str(), self.now().millis()],
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    pub async fn nodes(&self) -> Result<Vec<NodeInfo>, Error> {
        let alive_after = self.now().minus(self.settings().node_grace);
        let mut tx = self.db.read().await?;
        let found: Vec<NodeRow> = tx
            .fetch_all(
                "SELECT n.node_id, n.started_at, n.last_seen, n.version, \
                 (SELECT COUNT(*) FROM whatsapp_connections c \
                  WHERE c.node_id = n.node_id AND c.status = 'CONNECTED') AS connected \
                 FROM nodes n ORDER BY n.node_id",
                args![],
            )
            .await?;
        tx.commit().await?;
        Ok(found
            .into_iter()
            .map(|row| NodeInfo {
                alive: Timestamp(row.last_seen) >= alive_after,
                node_id: row.node_id,
                started_at: Timestamp(row.started_at),
                last_seen: Timestamp(row.last_seen),
                version: row.version,
                connected: row.connected.max(0) as u64,
            })
            .collect())
    }
}

//! Nodes: every running `wasessd` holds a lease here, renewed by its heartbeat and timed by the
//! database's own clock (never a host's), so nodes with skewed clocks still agree on who is
//! alive. A node whose lease ran out is *lost*: the survivors claim its `CONNECTED` sessions
//! (a new epoch each, see `ownership`) and resume them from the shared credentials. A node that
//! drains hands its sessions over by releasing them (owner cleared), and the live nodes claim
//! them the same way.
//!
//! A node that cannot renew stops its own WhatsApp clients after a fraction of the grace period
//! (the daemon's watchdog), before any survivor may claim them, so a device is never driven
//! by two nodes at once.

use sqlx::FromRow;

use super::db::{args, locking, Tx};
use super::rows::{self, connection_columns};
use super::{Error, Registry, UserKey};
use crate::model::{CleanupReport, Connection, NodeInfo, Status};
use crate::time::Timestamp;

/// What a node states about itself in its row.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NodeState {
    Live,
    /// It stopped its WhatsApp clients because it could not renew its lease in time.
    Fenced,
    Draining,
    Stopped,
}

impl NodeState {
    pub fn as_str(self) -> &'static str {
        match self {
            NodeState::Live => "live",
            NodeState::Fenced => "fenced",
            NodeState::Draining => "draining",
            NodeState::Stopped => "stopped",
        }
    }
}

/// The daemon that already holds a node id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NodeHolder {
    pub host: String,
    pub pid: u32,
    /// Random per daemon start: what the lease is matched on (host and pid are for people).
    pub instance: String,
}

#[derive(FromRow)]
struct NodeRow {
    node_id: String,
    started_at: i64,
    last_seen: i64,
    version: String,
    lease_until: i64,
    state: String,
    host: String,
    pid: i64,
    fenced: i64,
    connected: i64,
    pending_qr: i64,
}

/// The database's clock, in milliseconds.
pub(crate) async fn db_now(tx: &mut Tx) -> Result<i64, Error> {
    let sql = if tx.is_postgres() {
        "SELECT CAST(EXTRACT(EPOCH FROM clock_timestamp()) * 1000 AS BIGINT)"
    } else {
        "SELECT CAST((julianday('now') - 2440587.5) * 86400000.0 AS BIGINT)"
    };
    let (now,): (i64,) = tx.fetch_one(sql, args![]).await?;
    Ok(now)
}

/// Rows a live node may claim: `CONNECTED` with no owner (handed over) or owned by a node whose
/// lease ran out (lost), never this node's own.
macro_rules! claimable {
    () => {
        "status = 'CONNECTED' AND (node_id IS NULL OR node_id IN \
         (SELECT node_id FROM nodes WHERE lease_until < $1 AND node_id <> $2) \
         OR node_id NOT IN (SELECT node_id FROM nodes))"
    };
}

impl Registry {
    fn grace_millis(&self) -> i64 {
        i64::try_from(self.settings().node_grace.as_millis()).unwrap_or(i64::MAX)
    }

    /// Registers this node with a fresh lease. Refused when a daemon that `holds` says is alive
    /// still holds the id with a current lease: two daemons must not share a node id.
    pub async fn register_node(
        &self,
        version: &str,
        me: &NodeHolder,
        holds: impl Fn(&NodeHolder) -> bool,
    ) -> Result<(), Error> {
        let mut tx = self.db.write().await?;
        let now = db_now(&mut tx).await?;
        let current: Option<(String, i64, String, i64, String)> = tx
            .fetch_optional_locking(
                locking!(
                    "SELECT state, lease_until, host, pid, instance FROM nodes WHERE node_id = $1"
                ),
                args![self.node_id.as_str()],
            )
            .await?;
        if let Some((state, lease_until, host, pid, instance)) = current {
            let holder = NodeHolder {
                host,
                pid: u32::try_from(pid).unwrap_or(0),
                instance,
            };
            if state != NodeState::Stopped.as_str()
                && lease_until >= now
                && holder != *me
                && holds(&holder)
            {
                return Err(Error::NodeTaken {
                    node: self.node_id.clone(),
                    host: holder.host,
                    pid: holder.pid,
                });
            }
        }
        tx.execute(
            "INSERT INTO nodes (node_id, started_at, last_seen, version, lease_until, state, host, \
             pid, instance) VALUES ($1, $2, $2, $3, $4, 'live', $5, $6, $7) \
             ON CONFLICT (node_id) DO UPDATE SET started_at = excluded.started_at, \
             last_seen = excluded.last_seen, version = excluded.version, \
             lease_until = excluded.lease_until, state = excluded.state, host = excluded.host, \
             pid = excluded.pid, instance = excluded.instance",
            args![
                self.node_id.as_str(),
                now,
                version,
                now + self.grace_millis(),
                me.host.as_str(),
                i64::from(me.pid),
                me.instance.as_str()
            ],
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
            tx.fetch_all_locking(
                locking!(concat!(
                    "SELECT ",
                    connection_columns!(),
                    " FROM whatsapp_connections WHERE node_id = $1 AND status = 'PENDING_QR' \
                     ORDER BY user_key"
                )),
                args![self.node_id.as_str()],
            )
            .await?,
        )?;
        let count = interrupted.len() as u64;
        self.end_pairings(&mut tx, interrupted, now, "failed", |_| {
            "pairing interrupted by a daemon restart".to_string()
        })
        .await?;
        tx.execute(
            "DELETE FROM connect_locks WHERE node_id = $1",
            args![self.node_id.as_str()],
        )
        .await?;
        tx.commit().await?;
        Ok(count)
    }

    /// Renews this node's lease by the database's clock, stating `state`. `fenced_since` counts
    /// a self-fencing that ended with this renewal. A drain asked for by `wasess nodes drain`
    /// is kept, never overwritten: returns whether this node was asked to drain. Fails with
    /// [`Error::NodeTaken`] when another daemon registered this node id meanwhile.
    pub async fn renew_lease(
        &self,
        me: &NodeHolder,
        state: NodeState,
        fenced_since: bool,
    ) -> Result<bool, Error> {
        let mut tx = self.lease_db.write().await?;
        let now = db_now(&mut tx).await?;
        let renewed: Option<(String,)> = tx
            .fetch_optional(
                "UPDATE nodes SET last_seen = $2, lease_until = $3, \
                 state = CASE WHEN state = 'draining' THEN state ELSE $4 END, \
                 fenced = fenced + $5 WHERE node_id = $1 AND instance = $6 \
                 RETURNING state",
                args![
                    self.node_id.as_str(),
                    now,
                    now + self.grace_millis(),
                    state.as_str(),
                    i64::from(fenced_since),
                    me.instance.as_str()
                ],
            )
            .await?;
        let Some((stated,)) = renewed else {
            let holder: Option<(String, i64)> = tx
                .fetch_optional(
                    "SELECT host, pid FROM nodes WHERE node_id = $1",
                    args![self.node_id.as_str()],
                )
                .await?;
            let (host, pid) = holder.unwrap_or_default();
            return Err(Error::NodeTaken {
                node: self.node_id.clone(),
                host,
                pid: u32::try_from(pid).unwrap_or(0),
            });
        };
        tx.commit().await?;
        Ok(stated == NodeState::Draining.as_str())
    }

    /// Says, if the database can still hear it, that this node stopped its clients.
    pub async fn mark_fenced(&self, me: &NodeHolder) -> Result<(), Error> {
        let mut tx = self.lease_db.write().await?;
        tx.execute(
            "UPDATE nodes SET state = CASE WHEN state = 'draining' THEN state ELSE 'fenced' END \
             WHERE node_id = $1 AND instance = $2",
            args![self.node_id.as_str(), me.instance.as_str()],
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Marks this node stopped (a clean exit): nobody waits for its lease to run out.
    pub async fn leave(&self, me: &NodeHolder) -> Result<(), Error> {
        let mut tx = self.lease_db.write().await?;
        tx.execute(
            "UPDATE nodes SET state = 'stopped', lease_until = 0 WHERE node_id = $1 \
             AND instance = $2",
            args![self.node_id.as_str(), me.instance.as_str()],
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Whether another node holds a current lease and is not draining: someone to hand
    /// sessions to.
    pub async fn has_live_peer(&self) -> Result<bool, Error> {
        let mut tx = self.db.read().await?;
        let now = db_now(&mut tx).await?;
        let found: Option<(String,)> = tx
            .fetch_optional(
                "SELECT node_id FROM nodes WHERE node_id <> $1 AND state = 'live' \
                 AND lease_until >= $2 LIMIT 1",
                args![self.node_id.as_str(), now],
            )
            .await?;
        tx.commit().await?;
        Ok(found.is_some())
    }

    /// Takeover: claims up to `batch` sessions that lost nodes left (or draining nodes handed
    /// over), no more than this node's fair share of the live nodes' sessions, each at a new
    /// epoch. Pairings of lost nodes cannot move: they end, and their locks go. Returns the
    /// claimed rows, for the caller to resume.
    pub async fn claim_orphans(&self, batch: u32) -> Result<Vec<Connection>, Error> {
        let now = self.now();
        let mut tx = self.db.write().await?;
        let db_now = db_now(&mut tx).await?;
        let me = self.node_id.as_str();

        // Pairings of lost nodes cannot move: they end, and their locks go (as in cleanup).
        self.release_lost_nodes(&mut tx, now, false, &mut CleanupReport::default())
            .await?;

        let (live, owned, mine): (i64, i64, i64) = tx
            .fetch_one(
                "SELECT (SELECT COUNT(*) FROM nodes WHERE state = 'live' AND lease_until >= $1), \
                 (SELECT COUNT(*) FROM whatsapp_connections WHERE status = 'CONNECTED'), \
                 (SELECT COUNT(*) FROM whatsapp_connections WHERE status = 'CONNECTED' \
                  AND node_id = $2)",
                args![db_now, me],
            )
            .await?;
        // Every live node takes at most its share, so a takeover spreads by load.
        let share = (owned + live.max(1) - 1) / live.max(1);
        let room = (share - mine).max(1).min(i64::from(batch));
        // Nodes claiming at the same time each take other rows: a row another claimer holds
        // is skipped, not waited for (PostgreSQL; SQLite's claimers run one after the other).
        let sql = if tx.is_postgres() {
            concat!(
                "SELECT ",
                connection_columns!(),
                " FROM whatsapp_connections WHERE ",
                claimable!(),
                " ORDER BY updated_at, user_key LIMIT $3 FOR UPDATE SKIP LOCKED"
            )
        } else {
            concat!(
                "SELECT ",
                connection_columns!(),
                " FROM whatsapp_connections WHERE ",
                claimable!(),
                " ORDER BY updated_at, user_key LIMIT $3"
            )
        };
        let orphans = rows::into_connections(tx.fetch_all(sql, args![db_now, me, room]).await?)?;
        let mut claimed = Vec::with_capacity(orphans.len());
        for before in orphans {
            let reason = match &before.node_id {
                Some(node) => format!("taken over from node {node} (lost)"),
                None => "taken over after a hand-over".to_string(),
            };
            let mut after = Connection {
                node_id: Some(me.to_string()),
                reason,
                updated_at: now,
                ..before.clone()
            };
            self.write_change(&mut tx, &before, &mut after).await?;
            claimed.push(after);
        }
        tx.commit().await?;
        Ok(claimed)
    }

    /// Drain: hands a session this node has just closed to the live nodes, by clearing its
    /// owner (a new epoch). `None` when the row was no longer this session's.
    pub async fn hand_over(&self, user: &UserKey, epoch: i64) -> Result<Option<Connection>, Error> {
        let now = self.now();
        let mut tx = self.db.write().await?;
        let before = rows::load_existing(&mut tx, user.as_str()).await?;
        if !Self::fence(&mut tx, user.as_str(), &self.fence_at(epoch)).await? {
            return Ok(None);
        }
        if before.status != Status::Connected {
            return Ok(None);
        }
        let mut after = Connection {
            node_id: None,
            reason: format!("handed over by node {} (drain)", self.node_id),
            updated_at: now,
            ..before.clone()
        };
        self.write_change(&mut tx, &before, &mut after).await?;
        tx.commit().await?;
        Ok(Some(after))
    }

    /// Asks `node` to drain (`wasess nodes drain`): it sees the request at its next heartbeat.
    /// Refused unless `node` is live and another live node can take its sessions.
    pub async fn request_drain(&self, node: &str) -> Result<(), Error> {
        let mut tx = self.db.write().await?;
        let now = db_now(&mut tx).await?;
        // Two drains at once must not both count the other node as the one left: every
        // node row that may count is locked, in key order, before deciding.
        let _: Vec<(String,)> = tx
            .fetch_all_locking(
                locking!("SELECT node_id FROM nodes WHERE state IN ('live', 'draining') ORDER BY node_id"),
                args![],
            )
            .await?;
        let target: Option<(String, i64)> = tx
            .fetch_optional(
                "SELECT state, lease_until FROM nodes WHERE node_id = $1",
                args![node],
            )
            .await?;
        match target {
            None => {
                return Err(Error::WrongState(format!(
                    "no node '{node}' has registered"
                )))
            }
            Some((state, _)) if state == NodeState::Draining.as_str() => return Ok(()),
            Some((state, lease_until))
                if state != NodeState::Live.as_str() || lease_until < now =>
            {
                return Err(Error::WrongState(format!(
                    "node '{node}' is not live: only a live node can drain"
                )))
            }
            Some(_) => {}
        }
        let others: Option<(String,)> = tx
            .fetch_optional(
                "SELECT node_id FROM nodes WHERE node_id <> $1 AND state = 'live' \
                 AND lease_until >= $2 LIMIT 1",
                args![node, now],
            )
            .await?;
        if others.is_none() {
            return Err(Error::WrongState(format!(
                "node '{node}' is the only live node: its sessions would have nowhere to go"
            )));
        }
        tx.execute(
            "UPDATE nodes SET state = 'draining' WHERE node_id = $1 AND state = 'live'",
            args![node],
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    pub async fn nodes(&self) -> Result<Vec<NodeInfo>, Error> {
        let mut tx = self.db.read().await?;
        let now = db_now(&mut tx).await?;
        let found: Vec<NodeRow> = tx
            .fetch_all(
                "SELECT n.node_id, n.started_at, n.last_seen, n.version, n.lease_until, n.state, \
                 n.host, n.pid, n.fenced, \
                 (SELECT COUNT(*) FROM whatsapp_connections c \
                  WHERE c.node_id = n.node_id AND c.status = 'CONNECTED') AS connected, \
                 (SELECT COUNT(*) FROM whatsapp_connections c \
                  WHERE c.node_id = n.node_id AND c.status = 'PENDING_QR') AS pending_qr \
                 FROM nodes n ORDER BY n.node_id",
                args![],
            )
            .await?;
        tx.commit().await?;
        Ok(found
            .into_iter()
            .map(|row| {
                let alive = row.lease_until >= now;
                let state = match (row.state.as_str(), alive) {
                    ("stopped", _) => "stopped".to_string(),
                    // It said it fenced itself and has not renewed since.
                    ("fenced", _) => "fenced".to_string(),
                    (_, false) => "lost".to_string(),
                    (state, true) => state.to_string(),
                };
                NodeInfo {
                    alive,
                    state,
                    fenced: row.fenced.max(0) as u64,
                    host: row.host,
                    pid: u32::try_from(row.pid).unwrap_or(0),
                    node_id: row.node_id,
                    started_at: Timestamp(row.started_at),
                    last_seen: Timestamp(row.last_seen),
                    version: row.version,
                    connected: row.connected.max(0) as u64,
                    pending_qr: row.pending_qr.max(0) as u64,
                }
            })
            .collect())
    }
}

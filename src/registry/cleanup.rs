//! The periodic cleanup (`cleanup_interval`): expired QR codes, expired locks, rows
//! no live session backs, pairings of lost nodes, ended pauses, nodes and webhook cursors long
//! gone, and then old events. Each step reads only the rows it changes, through an index on its
//! condition. Orphan credential sets are the caller's next step
//! ([`Registry::orphan_credentials`]).

use std::collections::HashSet;
use std::time::Duration;

use super::change::Change;
use super::db::{args, locking, Locking, Tx};
use super::rows::{self, connection_columns};
use super::transitions;
use super::{Error, PairingEnd, Registry};
use crate::model::{CleanupReport, Connection};
use crate::time::Timestamp;

/// What a cleanup pass may assume about live sessions.
#[derive(Debug, Clone, Default)]
pub struct CleanupScope {
    /// Users with a live session on this node. `None` when unknown (offline cleanup): then
    /// `CONNECTED` rows are left alone, since a stopped daemon resumes them on start.
    pub live_sessions: Option<HashSet<String>>,
    /// Only rows last changed before this count as stale: a row claimed or resumed while the
    /// list of live sessions was being taken is not judged by it. `None`: no such bound.
    pub changed_before: Option<Timestamp>,
    /// Users pairing on this node right now; their `PENDING_QR` rows are theirs to expire.
    pub pairing: HashSet<String>,
    /// The webhook endpoints this node delivers to. `None` when unknown (offline cleanup):
    /// then no cursor is pruned.
    pub webhook_endpoints: Option<HashSet<String>>,
}

/// How long a node may be gone, and a webhook endpoint undelivered, before its row is pruned.
const GONE_FOR: Duration = Duration::from_secs(7 * 86_400);

/// Events no webhook still needs: read by every endpoint's cursor and not waiting in a queue.
macro_rules! prunable {
    () => {
        "id <= (SELECT COALESCE(MIN(last_id), 9223372036854775807) FROM webhook_cursors) \
         AND id NOT IN (SELECT event_id FROM webhook_queue)"
    };
}

impl Registry {
    pub async fn cleanup(
        &self,
        scope: &CleanupScope,
        dry_run: bool,
    ) -> Result<CleanupReport, Error> {
        let now = self.now();
        let mut tx = self.db.write().await?;
        let mut report = CleanupReport {
            dry_run,
            ..CleanupReport::default()
        };

        // Locks first, so a dry run counts exactly what a real run deletes.
        let lock_cutoff = args![now.millis()];
        report.expired_locks = if dry_run {
            count(
                &mut tx,
                "SELECT COUNT(*) FROM connect_locks WHERE expires_at <= $1",
                lock_cutoff,
            )
            .await?
        } else {
            tx.execute(
                "DELETE FROM connect_locks WHERE expires_at <= $1",
                lock_cutoff,
            )
            .await?
        };

        let expired_qr = select(
            &mut tx,
            locking!(concat!(
                "SELECT ",
                connection_columns!(),
                " FROM whatsapp_connections WHERE status = 'PENDING_QR' AND qr_expires_at <= $1 ORDER BY user_key"
            )),
            args![now.millis()],
        )
        .await?;
        // A pairing running here expires itself, on time and with word to its waiting client.
        let expired: Vec<Connection> = expired_qr
            .into_iter()
            .filter(|row| !scope.pairing.contains(&row.user))
            .collect();
        report.expired_qr = noted(&mut report.users, &expired);
        if !dry_run {
            let end = PairingEnd::Expired;
            self.end_pairings(&mut tx, expired, now, end.result(), |_| end.reason())
                .await?;
        }

        self.release_lost_nodes(&mut tx, now, dry_run, &mut report)
            .await?;

        if let Some(live) = &scope.live_sessions {
            let mine = select(
                &mut tx,
                locking!(concat!(
                    "SELECT ",
                    connection_columns!(),
                    " FROM whatsapp_connections WHERE node_id = $1 AND status = 'CONNECTED' ORDER BY user_key"
                )),
                args![self.node_id.as_str()],
            )
            .await?;
            let settled = |row: &Connection| {
                scope
                    .changed_before
                    .is_none_or(|before| row.updated_at < before)
            };
            let stale: Vec<Connection> = mine
                .into_iter()
                .filter(|row| !live.contains(&row.user) && settled(row))
                .collect();
            report.stale_sessions = noted(&mut report.users, &stale);
            if !dry_run {
                self.disconnect_rows(&mut tx, stale, "stale: no live session", now)
                    .await?;
            }
        }

        let ended = select(
            &mut tx,
            locking!(concat!(
                "SELECT ",
                connection_columns!(),
                " FROM whatsapp_connections WHERE status = 'PAUSED' AND paused_until <= $1 ORDER BY user_key"
            )),
            args![now.millis()],
        )
        .await?;
        report.ended_pauses = noted(&mut report.users, &ended);
        if !dry_run {
            self.disconnect_rows(&mut tx, ended, "pause ended", now)
                .await?;
        }

        self.prune_gone(&mut tx, scope, now, dry_run, &mut report)
            .await?;

        // Last, so the events pruned cursors were holding back go too.
        let event_cutoff = args![now.minus(self.settings().event_retention).millis()];
        if !dry_run {
            // Send keys, and the record of devices left linked, live as long as the events
            // of their time.
            tx.execute(
                "DELETE FROM send_keys WHERE created_at < $1",
                event_cutoff.clone(),
            )
            .await?;
            tx.execute(
                "DELETE FROM devices_left_linked WHERE at < $1",
                event_cutoff.clone(),
            )
            .await?;
        }
        report.pruned_events = if dry_run {
            count(
                &mut tx,
                concat!(
                    "SELECT COUNT(*) FROM events WHERE at < $1 AND ",
                    prunable!()
                ),
                event_cutoff,
            )
            .await?
        } else {
            // The watermark first, so subscribers resuming below it learn they missed events.
            tx.execute(
                concat!(
                    "UPDATE outbox_pruned SET through = COALESCE((SELECT MAX(id) FROM events \
                     WHERE at < $1 AND ",
                    prunable!(),
                    "), through) WHERE id = 1 AND through < COALESCE((SELECT MAX(id) FROM events \
                     WHERE at < $1 AND ",
                    prunable!(),
                    "), 0)"
                ),
                event_cutoff.clone(),
            )
            .await?;
            tx.execute(
                concat!("DELETE FROM events WHERE at < $1 AND ", prunable!()),
                event_cutoff,
            )
            .await?
        };

        report.users.sort();
        report.users.dedup();
        tx.commit().await?;
        Ok(report)
    }

    /// Nodes gone for [`GONE_FOR`] (by the database's clock) that own no row and no lock, and
    /// the cursors (with their queues) of webhook endpoints that nobody delivered to for as
    /// long and that this node does not configure: another node may still deliver to an
    /// endpoint only it configures, and its lease keeps that cursor fresh.
    async fn prune_gone(
        &self,
        tx: &mut Tx,
        scope: &CleanupScope,
        now: Timestamp,
        dry_run: bool,
        report: &mut CleanupReport,
    ) -> Result<(), Error> {
        let gone_for = i64::try_from(GONE_FOR.as_millis()).unwrap_or(i64::MAX);
        let node_cutoff = super::nodes::db_now(tx).await? - gone_for;
        let gone: Vec<(String,)> = tx
            .fetch_all(
                "SELECT node_id FROM nodes n WHERE node_id <> $1 AND last_seen < $2 \
                 AND lease_until < $2 \
                 AND NOT EXISTS (SELECT 1 FROM whatsapp_connections c WHERE c.node_id = n.node_id) \
                 AND NOT EXISTS (SELECT 1 FROM connect_locks l WHERE l.node_id = n.node_id)",
                args![self.node_id.as_str(), node_cutoff],
            )
            .await?;
        report.pruned_nodes = gone.len() as u64;
        if !dry_run {
            for (node,) in &gone {
                tx.execute("DELETE FROM nodes WHERE node_id = $1", args![node.as_str()])
                    .await?;
            }
        }

        let Some(configured) = &scope.webhook_endpoints else {
            return Ok(());
        };
        let stale: Vec<(String,)> = tx
            .fetch_all(
                "SELECT endpoint FROM webhook_cursors WHERE lease_until < $1",
                args![now.minus(GONE_FOR).millis()],
            )
            .await?;
        for (endpoint,) in stale.iter().filter(|(e,)| !configured.contains(e)) {
            report.pruned_webhook_cursors += 1;
            if !dry_run {
                tx.execute(
                    "DELETE FROM webhook_queue WHERE endpoint = $1",
                    args![endpoint.as_str()],
                )
                .await?;
                tx.execute(
                    "DELETE FROM webhook_cursors WHERE endpoint = $1",
                    args![endpoint.as_str()],
                )
                .await?;
            }
        }
        Ok(())
    }

    /// Pairings of lost nodes (lease run out, by the database's clock) end and their locks go;
    /// their `CONNECTED` sessions are not touched here: the live nodes take them over
    /// ([`Registry::claim_orphans`]).
    pub(super) async fn release_lost_nodes(
        &self,
        tx: &mut Tx,
        now: Timestamp,
        dry_run: bool,
        report: &mut CleanupReport,
    ) -> Result<(), Error> {
        let db_now = super::nodes::db_now(tx).await?;
        let orphaned = select(
            tx,
            locking!(concat!(
                "SELECT ",
                connection_columns!(),
                " FROM whatsapp_connections WHERE status = 'PENDING_QR' AND node_id IN \
                 (SELECT node_id FROM nodes WHERE lease_until < $1 AND node_id <> $2) ORDER BY user_key"
            )),
            args![db_now, self.node_id.as_str()],
        )
        .await?;
        report.dead_node_sessions += noted(&mut report.users, &orphaned);
        if !dry_run {
            self.end_pairings(tx, orphaned, now, "failed", |row| {
                format!(
                    "pairing lost with node {}",
                    row.node_id.as_deref().unwrap_or("?")
                )
            })
            .await?;
        }
        if !dry_run {
            tx.execute(
                "DELETE FROM connect_locks WHERE node_id IN \
                 (SELECT node_id FROM nodes WHERE lease_until < $1 AND node_id <> $2)",
                args![db_now, self.node_id.as_str()],
            )
            .await?;
        }
        Ok(())
    }

    async fn disconnect_rows(
        &self,
        tx: &mut Tx,
        rows: Vec<Connection>,
        reason: &str,
        now: Timestamp,
    ) -> Result<(), Error> {
        let mut changes: Vec<Change> = rows
            .into_iter()
            .map(|before| {
                let after = transitions::disconnected(&before, reason, now);
                Change::new(before, after)
            })
            .collect();
        self.write_changes(tx, &mut changes).await
    }
}

/// Names the users of `rows` in the report; returns how many rows there are.
fn noted(users: &mut Vec<String>, rows: &[Connection]) -> u64 {
    users.extend(rows.iter().map(|row| row.user.clone()));
    rows.len() as u64
}

/// Rows to change, locked until commit (see `db::Locking`), in key order like every writer.
async fn select(
    tx: &mut Tx,
    sql: Locking,
    args: Vec<super::db::Arg>,
) -> Result<Vec<Connection>, Error> {
    rows::into_connections(tx.fetch_all_locking(sql, args).await?)
}

async fn count(tx: &mut Tx, sql: &'static str, args: Vec<super::db::Arg>) -> Result<u64, Error> {
    let (n,): (i64,) = tx.fetch_one(sql, args).await?;
    Ok(n.max(0) as u64)
}

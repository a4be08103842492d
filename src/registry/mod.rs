//! The session registry: who may connect, who holds which number, and what happened.
//!
//! It owns the database (SQLite by default, PostgreSQL for several nodes; see [`db`] for how
//! one codebase serves both) and keeps the invariants of docs/architecture.md there, not in memory:
//! one connection row per user (primary key), at most one `CONNECTED` row per number (partial
//! unique index), one connect lock per user taken by a single conditional upsert. Every public
//! operation is one transaction, and every state change it makes appends an event in that same
//! transaction. Time comes from an injected [`Clock`], so expiry is tested without sleeping.

#[cfg(unix)]
mod adopt;
mod batch;
mod bulk;
mod change;
mod cleanup;
mod conflicts;
mod connect;
pub mod credentials;
pub(crate) mod db;
mod error;
mod events;
mod group_commit;
mod import;
mod left_linked;
mod lifecycle;
mod nodes;
mod ownership;
mod phone;
mod rows;
mod send_keys;
mod stats;
mod transitions;
mod user_key;
mod users;
mod webhooks;

use std::sync::{Arc, RwLock};
use std::time::Duration;

#[cfg(unix)]
pub use adopt::Adoption;
pub use cleanup::CleanupScope;
pub use connect::{LockOutcome, PairingEnd, PairingOutcome};
pub use db::redact;
pub use error::Error;
pub use import::{ImportOptions, LegacyConnection};
pub use left_linked::{LeftLinked, OwedUnlink, MAX_ATTEMPTS as MAX_UNLINK_ATTEMPTS};
pub use lifecycle::{Change, Scope};
pub use nodes::{NodeHolder, NodeState};
pub use ownership::Fence;
pub use phone::PhoneNumber;
pub use send_keys::SendKey;
pub use stats::Health;
pub use user_key::UserKey;
pub use webhooks::{Queued, WebhookStatus};

use crate::model::{Connection, Event, Status};
use crate::time::{Clock, SystemClock, Timestamp};
use db::Db;

/// Timings and policies the registry applies; the daemon fills them from its config.
#[derive(Debug, Clone)]
pub struct Settings {
    /// How long a pending QR may wait for a scan (default 5 min).
    pub qr_ttl: Duration,
    /// How long a connect lock lives when its holder vanishes (default 5 min).
    pub lock_ttl: Duration,
    /// How long a node may go without a heartbeat before its sessions count as lost.
    pub node_grace: Duration,
    /// How long events are kept.
    pub event_retention: Duration,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            qr_ttl: Duration::from_secs(5 * 60),
            lock_ttl: Duration::from_secs(5 * 60),
            node_grace: Duration::from_secs(60),
            event_retention: Duration::from_secs(30 * 86_400),
        }
    }
}

/// A handle on the registry database; cheap to clone.
#[derive(Clone)]
pub struct Registry {
    db: Db,
    /// The lease's own connections: a renewal never queues behind registry work for a
    /// pooled connection (see `nodes`).
    lease_db: Db,
    clock: Arc<dyn Clock>,
    node_id: String,
    /// Shared by every clone, so a config reload reaches them all.
    settings: Arc<RwLock<Settings>>,
    /// Pairings starting, and codes to record, waiting for a writer turn (SQLite; see
    /// `batch`).
    starts: Arc<batch::Batches<connect::ConnectStart, Result<Connection, Error>>>,
    codes: Arc<batch::Batches<connect::CodeShown, Result<Connection, Error>>>,
}

impl std::fmt::Debug for Registry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Registry")
            .field(
                "backend",
                &if self.db.is_postgres() {
                    "postgres"
                } else {
                    "sqlite"
                },
            )
            .field("node_id", &self.node_id)
            .finish()
    }
}

impl Registry {
    /// Opens (creating and migrating as needed) the registry at `url`: `sqlite:PATH`, a plain
    /// file path, or `postgres://…`.
    pub async fn open(url: &str, node_id: &str) -> Result<Registry, Error> {
        Self::open_with(url, node_id, Arc::new(SystemClock), Settings::default()).await
    }

    pub async fn open_with(
        url: &str,
        node_id: &str,
        clock: Arc<dyn Clock>,
        settings: Settings,
    ) -> Result<Registry, Error> {
        let db = Db::open(url, node_id).await?;
        Ok(Registry {
            lease_db: db.dedicated(),
            db,
            clock,
            node_id: node_id.to_string(),
            settings: Arc::new(RwLock::new(settings)),
            starts: Arc::default(),
            codes: Arc::default(),
        })
    }

    pub fn node_id(&self) -> &str {
        &self.node_id
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

    pub fn now(&self) -> Timestamp {
        self.clock.now()
    }

    pub fn is_postgres(&self) -> bool {
        self.db.is_postgres()
    }

    pub async fn close(&self) {
        self.db.close().await;
        self.lease_db.close().await;
    }

    /// The user's connection row.
    pub async fn connection(&self, user: &UserKey) -> Result<Connection, Error> {
        let mut tx = self.db.read().await?;
        let row = rows::load_existing(&mut tx, user.as_str()).await?;
        tx.commit().await?;
        Ok(row)
    }

    /// Connection rows, by user key, optionally only those in `status` or owned by `node`.
    /// Each filter has a statement of its own, so that the node and status indexes serve it
    /// (a node's own rows are read at every start and drain, from registries of any size).
    pub async fn connections(
        &self,
        status: Option<Status>,
        node: Option<&str>,
        limit: u32,
    ) -> Result<Vec<Connection>, Error> {
        macro_rules! listing {
            ($filter:literal) => {
                concat!(
                    "SELECT ",
                    rows::connection_columns!(),
                    " FROM whatsapp_connections ",
                    $filter,
                    " ORDER BY user_key LIMIT $1"
                )
            };
        }
        let limit = i64::from(limit);
        let (sql, arguments) = match (status.map(|s| s.as_str()), node) {
            (None, None) => (listing!(""), db::args![limit]),
            (Some(status), None) => (listing!("WHERE status = $2"), db::args![limit, status]),
            (None, Some(node)) => (listing!("WHERE node_id = $2"), db::args![limit, node]),
            (Some(status), Some(node)) => (
                listing!("WHERE node_id = $2 AND status = $3"),
                db::args![limit, node, status],
            ),
        };
        let mut tx = self.db.read().await?;
        let rows = tx.fetch_all(sql, arguments).await?;
        tx.commit().await?;
        rows::into_connections(rows)
    }

    /// Events after `id` (oldest first): what a subscriber resuming from `id` missed.
    pub async fn events_after(
        &self,
        id: i64,
        user: Option<&UserKey>,
        limit: u32,
    ) -> Result<Vec<Event>, Error> {
        let mut tx = self.db.read().await?;
        let found = events::after(&mut tx, id, user.map(UserKey::as_str), limit).await?;
        tx.commit().await?;
        Ok(found)
    }

    /// The audit trail: the newest `limit` events since `since`, oldest first.
    pub async fn log(
        &self,
        user: Option<&UserKey>,
        since: Timestamp,
        limit: u32,
    ) -> Result<Vec<Event>, Error> {
        let mut tx = self.db.read().await?;
        let found = events::recent(&mut tx, user.map(UserKey::as_str), since, limit).await?;
        tx.commit().await?;
        Ok(found)
    }

    /// For a node's reconcile: the users whose rows another node changed after event `after`
    /// (at most `limit` events' worth), the event id to go on from, and whether more such
    /// events wait. Filtered in SQL; only ids and user keys are read, never message bodies.
    pub async fn changed_by_others(
        &self,
        after: i64,
        limit: u32,
    ) -> Result<(Vec<String>, i64, bool), Error> {
        let mut tx = self.db.read().await?;
        // Read first: every event at or below it has committed (ids follow commit order, see
        // `events`), so the cursor may move up to it even when none of them concerns us.
        let upto = events::last_id(&mut tx).await?;
        let found =
            events::state_changes_of_others(&mut tx, after, upto, &self.node_id, limit).await?;
        tx.commit().await?;
        let more = found.len() >= limit as usize;
        let next = match found.last() {
            Some((id, _)) if more => *id,
            _ => upto.max(after),
        };
        let mut users: Vec<String> = found.into_iter().map(|(_, user)| user).collect();
        users.sort();
        users.dedup();
        Ok((users, next, more))
    }

    /// The newest event id the cleanup pruned (retention): a consumer resuming below it
    /// missed events.
    pub async fn events_pruned_through(&self) -> Result<i64, Error> {
        let mut tx = self.db.read().await?;
        let through = events::pruned_through(&mut tx).await?;
        tx.commit().await?;
        Ok(through)
    }

    pub async fn last_event_id(&self) -> Result<i64, Error> {
        let mut tx = self.db.read().await?;
        let id = events::last_id(&mut tx).await?;
        tx.commit().await?;
        Ok(id)
    }

    /// Migrations this build knows and migrations the database has applied, for `doctor`.
    pub async fn migration_versions(&self) -> Result<(Vec<i64>, Vec<i64>), Error> {
        self.db.migration_versions().await
    }

    /// SQLite's own consistency check (`ok` when healthy); PostgreSQL checks itself.
    pub async fn integrity_check(&self) -> Result<String, Error> {
        if self.db.is_postgres() {
            return Ok("ok".into());
        }
        let mut tx = self.db.read().await?;
        let (result,): (String,) = tx.fetch_one("PRAGMA quick_check", db::args![]).await?;
        tx.commit().await?;
        Ok(result)
    }
}

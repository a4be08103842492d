//! Webhook delivery state. Deliveries read the event outbox through a per-endpoint cursor;
//! an event that fails waits in `webhook_queue` with its attempts and next try, and later
//! events of the same user queue behind it, so each user's events arrive in order. A lease per
//! endpoint makes one node deliver at a time when several share the registry.

use std::collections::HashSet;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use sqlx::FromRow;

use super::db::{args, Tx};
use super::events;
use super::{Error, Registry};
use crate::model::Event;
use crate::time::Timestamp;

/// An endpoint's delivery state, for `wasess webhooks status`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WebhookStatus {
    pub endpoint: String,
    pub url: String,
    /// The last event id read from the outbox.
    pub last_id: i64,
    /// Events in the outbox not read yet.
    pub backlog: u64,
    /// Events waiting for a first try or a retry.
    pub pending: u64,
    /// Of those, the ones that failed at least once.
    pub failing: u64,
    /// Events that used up their attempts (`wasess webhooks retry` sends them again).
    pub dead: u64,
    pub last_error: Option<String>,
    /// The node delivering to it.
    pub node_id: Option<String>,
}

/// An event that waits in an endpoint's queue.
#[derive(Debug)]
pub struct Queued<'a> {
    pub event: &'a Event,
    /// Failed tries so far; 0 for an event held behind an earlier one of its user.
    pub attempts: u32,
    pub next_attempt_at: Timestamp,
    pub error: String,
    /// Out of attempts: a dead letter.
    pub dead: bool,
}

async fn enqueue(tx: &mut Tx, endpoint: &str, entry: &Queued<'_>) -> Result<(), Error> {
    tx.execute(
        "INSERT INTO webhook_queue (endpoint, event_id, user_key, attempts, next_attempt_at, \
         last_error, dead) VALUES ($1, $2, $3, $4, $5, $6, $7) \
         ON CONFLICT (endpoint, event_id) DO UPDATE SET attempts = excluded.attempts, \
         next_attempt_at = excluded.next_attempt_at, last_error = excluded.last_error, \
         dead = excluded.dead",
        args![
            endpoint,
            entry.event.id,
            entry.event.user.clone().unwrap_or_default(),
            i64::from(entry.attempts),
            entry.next_attempt_at.millis(),
            entry.error.as_str(),
            i64::from(entry.dead)
        ],
    )
    .await?;
    Ok(())
}

#[derive(FromRow)]
struct Due {
    event_id: i64,
    attempts: i64,
}

impl Registry {
    /// Takes or renews this node's lease on `endpoint` and returns its cursor, or `None`
    /// while another node holds it. A new endpoint starts at the newest event: it gets what
    /// happens from now on, not the history.
    pub async fn webhook_lease(
        &self,
        endpoint: &str,
        lease: Duration,
    ) -> Result<Option<i64>, Error> {
        let now = self.now();
        let mut tx = self.db.write().await?;
        let start = events::last_id(&mut tx).await?;
        tx.execute(
            "INSERT INTO webhook_cursors (endpoint, last_id, owner_node, lease_until) \
             VALUES ($1, $2, NULL, 0) ON CONFLICT (endpoint) DO NOTHING",
            args![endpoint, start],
        )
        .await?;
        let claimed: Option<(i64,)> = tx
            .fetch_optional(
                "UPDATE webhook_cursors SET owner_node = $2, lease_until = $3 \
                 WHERE endpoint = $1 AND (owner_node = $2 OR owner_node IS NULL \
                 OR lease_until < $4) RETURNING last_id",
                args![
                    endpoint,
                    self.node_id.as_str(),
                    now.plus(lease).millis(),
                    now.millis()
                ],
            )
            .await?;
        tx.commit().await?;
        Ok(claimed.map(|(last_id,)| last_id))
    }

    /// Users with events waiting (not dead) for `endpoint`: their new events queue behind.
    pub async fn webhook_blocked_users(&self, endpoint: &str) -> Result<HashSet<String>, Error> {
        let mut tx = self.db.read().await?;
        let users: Vec<(String,)> = tx
            .fetch_all(
                "SELECT DISTINCT user_key FROM webhook_queue WHERE endpoint = $1 AND dead = 0",
                args![endpoint],
            )
            .await?;
        tx.commit().await?;
        Ok(users.into_iter().map(|(user,)| user).collect())
    }

    /// Puts `event` in `endpoint`'s queue (or updates its entry).
    pub async fn webhook_enqueue(&self, endpoint: &str, entry: &Queued<'_>) -> Result<(), Error> {
        let mut tx = self.db.write().await?;
        enqueue(&mut tx, endpoint, entry).await?;
        tx.commit().await
    }

    /// Records a delivered batch in one transaction: the events that must wait (failed, or
    /// behind a failure of the same user) go in the queue, and the cursor moves past the batch.
    pub async fn webhook_settle(
        &self,
        endpoint: &str,
        through: i64,
        waiting: &[Queued<'_>],
    ) -> Result<(), Error> {
        let mut tx = self.db.write().await?;
        for entry in waiting {
            enqueue(&mut tx, endpoint, entry).await?;
        }
        tx.execute(
            "UPDATE webhook_cursors SET last_id = $2 WHERE endpoint = $1 AND last_id < $2",
            args![endpoint, through],
        )
        .await?;
        tx.commit().await
    }

    /// Queued events due now: the oldest waiting event of each user, oldest first.
    pub async fn webhook_due(
        &self,
        endpoint: &str,
        limit: u32,
    ) -> Result<Vec<(Event, u32)>, Error> {
        let mut tx = self.db.read().await?;
        let due: Vec<Due> = tx
            .fetch_all(
                "SELECT q.event_id, q.attempts FROM webhook_queue q \
                 WHERE q.endpoint = $1 AND q.dead = 0 AND q.next_attempt_at <= $2 \
                 AND q.event_id = (SELECT MIN(h.event_id) FROM webhook_queue h \
                   WHERE h.endpoint = q.endpoint AND h.user_key = q.user_key AND h.dead = 0) \
                 ORDER BY q.event_id LIMIT $3",
                args![endpoint, self.now().millis(), i64::from(limit)],
            )
            .await?;
        let mut found = Vec::with_capacity(due.len());
        for entry in due {
            if let Some(event) = events::by_id(&mut tx, entry.event_id).await? {
                found.push((event, u32::try_from(entry.attempts).unwrap_or(u32::MAX)));
            }
        }
        tx.commit().await?;
        Ok(found)
    }

    pub async fn webhook_delivered(&self, endpoint: &str, event_id: i64) -> Result<(), Error> {
        let mut tx = self.db.write().await?;
        tx.execute(
            "DELETE FROM webhook_queue WHERE endpoint = $1 AND event_id = $2",
            args![endpoint, event_id],
        )
        .await?;
        tx.commit().await
    }

    /// Dead letters of `endpoint` (or of every endpoint) go back to the queue; returns how many.
    pub async fn webhook_retry_dead(&self, endpoint: Option<&str>) -> Result<u64, Error> {
        let mut tx = self.db.write().await?;
        let revived = tx
            .execute(
                "UPDATE webhook_queue SET dead = 0, attempts = 0, next_attempt_at = $2 \
                 WHERE dead = 1 AND ($1 IS NULL OR endpoint = $1)",
                args![endpoint, self.now().millis()],
            )
            .await?;
        tx.commit().await?;
        Ok(revived)
    }

    /// The delivery state of `endpoint` (name and URL as configured).
    pub async fn webhook_status(&self, endpoint: &str, url: &str) -> Result<WebhookStatus, Error> {
        let mut tx = self.db.read().await?;
        let cursor: Option<(i64, Option<String>)> = tx
            .fetch_optional(
                "SELECT last_id, owner_node FROM webhook_cursors WHERE endpoint = $1",
                args![endpoint],
            )
            .await?;
        let (last_id, node_id) = cursor.unwrap_or((0, None));
        // Ids are handed out without gaps (see `events`): the distance from the cursor to the
        // newest id is the backlog, read in one row instead of counted over the outbox.
        let (newest,): (i64,) = tx
            .fetch_one("SELECT last_id FROM outbox_sequence WHERE id = 1", args![])
            .await?;
        let backlog = newest - last_id;
        let (pending, failing, dead): (i64, i64, i64) = tx
            .fetch_one(
                "SELECT COUNT(*) FILTER (WHERE dead = 0), \
                 COUNT(*) FILTER (WHERE dead = 0 AND attempts > 0), \
                 COUNT(*) FILTER (WHERE dead = 1) FROM webhook_queue WHERE endpoint = $1",
                args![endpoint],
            )
            .await?;
        let last_error: Option<(String,)> = tx
            .fetch_optional(
                "SELECT last_error FROM webhook_queue WHERE endpoint = $1 AND last_error <> '' \
                 ORDER BY event_id DESC LIMIT 1",
                args![endpoint],
            )
            .await?;
        tx.commit().await?;
        let count = |n: i64| n.max(0) as u64;
        Ok(WebhookStatus {
            endpoint: endpoint.to_string(),
            url: url.to_string(),
            last_id,
            backlog: if cursor_exists(node_id.as_deref(), last_id) {
                count(backlog)
            } else {
                0
            },
            pending: count(pending),
            failing: count(failing),
            dead: count(dead),
            last_error: last_error.map(|(error,)| error),
            node_id,
        })
    }
}

/// An endpoint that never ran has no cursor, hence no backlog yet.
fn cursor_exists(node: Option<&str>, last_id: i64) -> bool {
    node.is_some() || last_id > 0
}

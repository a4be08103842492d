//! The event outbox, which is also the audit trail. Every state change, QR rotation, pairing
//! result and message is appended here inside the transaction that makes the change, so an
//! event exists exactly when its change does.
//!
//! Ids are handed out in commit order: SQLite serialises writers, and on PostgreSQL every write
//! transaction holds the registry's advisory lock (see `db`), so a reader resuming after id N
//! never misses an id below N that commits later.

use serde_json::Value;
use sqlx::FromRow;

use super::db::{args, Tx};
use super::rows::parse_status;
use super::Error;
use crate::model::{Connection, Event, EventKind, Status};
use crate::time::Timestamp;

/// An event about to be written.
#[derive(Debug, Clone)]
pub(crate) struct NewEvent {
    pub kind: EventKind,
    pub user: Option<String>,
    pub from_status: Option<Status>,
    pub to_status: Option<Status>,
    pub reason: String,
    pub data: Value,
}

impl NewEvent {
    pub fn new(kind: EventKind, user: &str, reason: impl Into<String>, data: Value) -> NewEvent {
        NewEvent {
            kind,
            user: Some(user.to_string()),
            from_status: None,
            to_status: None,
            reason: reason.into(),
            data,
        }
    }

    /// The `state` event for a row that went from `before` to `after`.
    pub fn state(before: &Connection, after: &Connection) -> NewEvent {
        NewEvent {
            kind: EventKind::State,
            user: Some(after.user.clone()),
            from_status: Some(before.status),
            to_status: Some(after.status),
            reason: after.reason.clone(),
            data: serde_json::json!({
                "phone_number": after.phone_number,
                "reconnect_attempts": after.reconnect_attempts,
                "paused_until": after.paused_until,
            }),
        }
    }
}

pub(crate) async fn append(
    tx: &mut Tx,
    at: Timestamp,
    node_id: &str,
    event: NewEvent,
) -> Result<i64, Error> {
    let (id,): (i64,) = tx
        .fetch_one(
            "INSERT INTO events (at, kind, user_key, from_status, to_status, reason, node_id, data) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING id",
            args![
                at.millis(),
                event.kind.as_str(),
                event.user,
                event.from_status.map(|s| s.as_str()),
                event.to_status.map(|s| s.as_str()),
                event.reason,
                node_id,
                event.data.to_string(),
            ],
        )
        .await?;
    Ok(id)
}

macro_rules! event_columns {
    () => {
        "id, at, kind, user_key, from_status, to_status, reason, node_id, data"
    };
}

#[derive(Debug, FromRow)]
struct EventRow {
    id: i64,
    at: i64,
    kind: String,
    user_key: Option<String>,
    from_status: Option<String>,
    to_status: Option<String>,
    reason: String,
    node_id: Option<String>,
    data: String,
}

impl TryFrom<EventRow> for Event {
    type Error = Error;

    fn try_from(row: EventRow) -> Result<Event, Error> {
        Ok(Event {
            id: row.id,
            at: Timestamp(row.at),
            kind: row
                .kind
                .parse()
                .map_err(|_| Error::Internal(format!("unknown event kind '{}'", row.kind)))?,
            user: row.user_key,
            from_status: row.from_status.as_deref().map(parse_status).transpose()?,
            to_status: row.to_status.as_deref().map(parse_status).transpose()?,
            reason: row.reason,
            node_id: row.node_id,
            // One unreadable event must not stall every consumer: it is passed on without
            // its data, and said so.
            data: serde_json::from_str(&row.data).unwrap_or_else(|error| {
                tracing::warn!(event = row.id, %error, "event data is not JSON; passed on as null");
                Value::Null
            }),
        })
    }
}

fn into_events(rows: Vec<EventRow>) -> Result<Vec<Event>, Error> {
    rows.into_iter().map(Event::try_from).collect()
}

/// Events with an id above `after`, oldest first.
pub(crate) async fn after(
    tx: &mut Tx,
    after: i64,
    user: Option<&str>,
    limit: u32,
) -> Result<Vec<Event>, Error> {
    let rows: Vec<EventRow> = match user {
        Some(user) => {
            tx.fetch_all(
                concat!(
                    "SELECT ",
                    event_columns!(),
                    " FROM events WHERE user_key = $1 AND id > $2 ORDER BY id LIMIT $3"
                ),
                args![user, after, i64::from(limit)],
            )
            .await?
        }
        None => {
            tx.fetch_all(
                concat!(
                    "SELECT ",
                    event_columns!(),
                    " FROM events WHERE id > $1 ORDER BY id LIMIT $2"
                ),
                args![after, i64::from(limit)],
            )
            .await?
        }
    };
    into_events(rows)
}

/// The newest `limit` events at or after `since`, returned oldest first.
pub(crate) async fn recent(
    tx: &mut Tx,
    user: Option<&str>,
    since: Timestamp,
    limit: u32,
) -> Result<Vec<Event>, Error> {
    let mut rows: Vec<EventRow> = match user {
        Some(user) => {
            tx.fetch_all(
                concat!(
                    "SELECT ",
                    event_columns!(),
                    " FROM events WHERE user_key = $1 AND at >= $2 ORDER BY id DESC LIMIT $3"
                ),
                args![user, since.millis(), i64::from(limit)],
            )
            .await?
        }
        None => {
            tx.fetch_all(
                concat!(
                    "SELECT ",
                    event_columns!(),
                    " FROM events WHERE at >= $1 ORDER BY id DESC LIMIT $2"
                ),
                args![since.millis(), i64::from(limit)],
            )
            .await?
        }
    };
    rows.reverse();
    into_events(rows)
}

pub(crate) async fn by_id(tx: &mut Tx, id: i64) -> Result<Option<Event>, Error> {
    let row: Option<EventRow> = tx
        .fetch_optional(
            concat!("SELECT ", event_columns!(), " FROM events WHERE id = $1"),
            args![id],
        )
        .await?;
    row.map(Event::try_from).transpose()
}

/// `(id, user)` of the state changes after `after` and up to `upto` that a node other than
/// `node` wrote, oldest first, at most `limit`.
pub(crate) async fn state_changes_of_others(
    tx: &mut Tx,
    after: i64,
    upto: i64,
    node: &str,
    limit: u32,
) -> Result<Vec<(i64, String)>, Error> {
    tx.fetch_all(
        "SELECT id, user_key FROM events WHERE id > $1 AND id <= $2 AND kind = $3 \
         AND user_key IS NOT NULL AND (node_id IS NULL OR node_id <> $4) \
         ORDER BY id LIMIT $5",
        args![
            after,
            upto,
            EventKind::State.as_str(),
            node,
            i64::from(limit)
        ],
    )
    .await
}

pub(crate) async fn pruned_through(tx: &mut Tx) -> Result<i64, Error> {
    let found: Option<(i64,)> = tx
        .fetch_optional("SELECT through FROM outbox_pruned WHERE id = 1", args![])
        .await?;
    Ok(found.map_or(0, |(through,)| through))
}

pub(crate) async fn last_id(tx: &mut Tx) -> Result<i64, Error> {
    let (id,): (i64,) = tx
        .fetch_one("SELECT COALESCE(MAX(id), 0) FROM events", args![])
        .await?;
    Ok(id)
}

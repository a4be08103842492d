//! The event outbox, which is also the audit trail. Every state change, QR rotation, pairing
//! result and message is appended here inside the transaction that makes the change, so an
//! event exists exactly when its change does.
//!
//! Consumers (socket subscribers, webhook dispatchers, the nodes' reconcile) read "events
//! after id N" and remember the last id they saw. That never misses an event only if ids
//! become visible in order: no event with an id below N may commit after one with id N was
//! read. Writers run in parallel (see `db`), so ids cannot come from a plain sequence, which
//! hands them out when a transaction *starts* writing: a slow transaction would commit a low
//! id after a fast one committed a higher id, and a consumer between the two would skip it.
//!
//! So ids are handed out at commit, from the one-row `outbox_sequence`, whose row lock each
//! writer holds until its commit is visible (PostgreSQL releases a transaction's row locks
//! only after that): the next writer gets the next ids only once the previous ones can be
//! read, so ids become visible in id order. [`append`] only queues the event in its
//! transaction; [`flush`], the last thing before `COMMIT`, writes the queued events:
//! - On PostgreSQL it inserts them, as one JSON array, into `event_stage`, and a deferred
//!   trigger numbers them during `COMMIT`, on the server: it takes the block of ids, writes
//!   the events and drops the staged row. The sequence's row is held only while the server
//!   commits (with synchronous replication, that includes the standby's answer), never
//!   across a round trip to a node, so writers of all nodes proceed in
//!   parallel up to their commits, and a node that freezes or loses its link between two
//!   statements holds nothing anyone else needs (its open transaction, and its row locks,
//!   end with `idle_in_transaction_session_timeout`, see `db`).
//! - SQLite has one writer at a time anyway: the insert takes the next ids from the table's
//!   AUTOINCREMENT, and a trigger moves `outbox_sequence` along, in the same statement.
//!
//! Events of one transaction get consecutive ids in the order they were appended.

use serde::Serialize;
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

/// An event queued in its transaction until commit.
#[derive(Debug)]
pub(crate) struct PendingEvent {
    at: Timestamp,
    node_id: String,
    event: NewEvent,
}

/// Queues `event` in `tx`: it is written, with its id, when `tx` commits.
pub(crate) fn append(tx: &mut Tx, at: Timestamp, node_id: &str, event: NewEvent) {
    tx.outbox.push(PendingEvent {
        at,
        node_id: node_id.to_string(),
        event,
    });
}

/// Writes `pending`, the events queued in `tx`, numbered in commit order (see the module
/// comment); called by `Tx::commit` as its last statement.
pub(crate) async fn flush(tx: &mut Tx, pending: &[PendingEvent]) -> Result<(), Error> {
    if pending.is_empty() {
        return Ok(());
    }
    let rows: Vec<EventJson> = pending
        .iter()
        .zip(0..)
        .map(|(pending, position)| EventJson {
            position,
            at: pending.at.millis(),
            kind: pending.event.kind.as_str(),
            user_key: pending.event.user.as_deref(),
            from_status: pending.event.from_status.map(|s| s.as_str()),
            to_status: pending.event.to_status.map(|s| s.as_str()),
            reason: &pending.event.reason,
            node_id: &pending.node_id,
            data: pending.event.data.to_string(),
        })
        .collect();
    let json = serde_json::to_string(&rows).map_err(|e| Error::Internal(e.to_string()))?;
    if tx.is_postgres() {
        tx.execute("INSERT INTO event_stage (events) VALUES ($1)", args![json])
            .await?;
        return Ok(());
    }
    tx.execute(INSERT_EVENTS, args![json]).await?;
    Ok(())
}

/// Counts committed events in the process's metrics: every event by kind, a state change
/// into `PENDING_QR` as a pairing started, and a pairing event by its result. Counting what
/// committed, at the one place every event commits, makes the counters agree with the
/// outbox whichever code path made the change.
pub(crate) fn count_committed(events: &[PendingEvent]) {
    let counters = crate::metrics::counters();
    for PendingEvent { event, .. } in events {
        counters.event_written(event.kind.as_str());
        match event.kind {
            EventKind::State
                if event.to_status == Some(Status::PendingQr)
                    && event.from_status != Some(Status::PendingQr) =>
            {
                counters.pairings_started.inc();
            }
            EventKind::Pairing => {
                let result = event.data.get("result").and_then(Value::as_str);
                counters.pairing_finished(result.unwrap_or("other"));
            }
            _ => {}
        }
    }
}

/// An event row as [`INSERT_EVENTS`] (SQLite) or PostgreSQL's `number_staged_events`
/// trigger reads it (see `bulk`). On PostgreSQL its id is the transaction's first id plus its
/// `position`; SQLite numbers the rows in the array's order.
#[derive(Serialize)]
struct EventJson<'a> {
    position: i64,
    at: i64,
    kind: &'static str,
    user_key: Option<&'a str>,
    from_status: Option<&'static str>,
    to_status: Option<&'static str>,
    reason: &'a str,
    node_id: &'a str,
    data: String,
}

/// All of a transaction's events in one statement (SQLite): the events of the JSON array
/// `$1`, numbered by the table's AUTOINCREMENT in the array's order; a trigger moves
/// `outbox_sequence` along (see the migration).
const INSERT_EVENTS: &str = "INSERT INTO events (at, kind, user_key, from_status, to_status, \
     reason, node_id, data) SELECT e.value ->> 'at', e.value ->> 'kind', e.value ->> 'user_key', \
     e.value ->> 'from_status', e.value ->> 'to_status', e.value ->> 'reason', \
     e.value ->> 'node_id', e.value ->> 'data' FROM json_each($1) AS e ORDER BY e.key";

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

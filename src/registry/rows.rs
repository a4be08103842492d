//! Row types as the database returns them, and their conversion into [`crate::model`] types.

use std::collections::HashMap;
use std::sync::LazyLock;

use sqlx::FromRow;

use super::db::{args, locking, Tx};
use super::{bulk, credentials, Error};
use crate::model::{Connection, Status};
use crate::time::Timestamp;

/// The columns of `whatsapp_connections`, in [`ConnectionRow`]'s order.
macro_rules! connection_columns {
    () => {
        "user_key, status, phone_number, qr_issued_at, qr_expires_at, last_connected_at, \
         reconnect_attempts, node_id, epoch, reason, paused_until, updated_at"
    };
}
pub(crate) use connection_columns;

#[derive(Debug, FromRow)]
pub(crate) struct ConnectionRow {
    user_key: String,
    status: String,
    phone_number: Option<String>,
    qr_issued_at: Option<i64>,
    qr_expires_at: Option<i64>,
    last_connected_at: Option<i64>,
    reconnect_attempts: i64,
    node_id: Option<String>,
    epoch: i64,
    reason: String,
    paused_until: Option<i64>,
    updated_at: i64,
}

impl TryFrom<ConnectionRow> for Connection {
    type Error = Error;

    fn try_from(row: ConnectionRow) -> Result<Self, Error> {
        Ok(Connection {
            status: parse_status(&row.status)?,
            user: row.user_key,
            phone_number: row.phone_number,
            qr_issued_at: row.qr_issued_at.map(Timestamp),
            qr_expires_at: row.qr_expires_at.map(Timestamp),
            last_connected_at: row.last_connected_at.map(Timestamp),
            reconnect_attempts: u32::try_from(row.reconnect_attempts).unwrap_or(u32::MAX),
            node_id: row.node_id,
            epoch: row.epoch,
            reason: row.reason,
            paused_until: row.paused_until.map(Timestamp),
            updated_at: Timestamp(row.updated_at),
        })
    }
}

pub(crate) fn parse_status(text: &str) -> Result<Status, Error> {
    text.parse()
        .map_err(|_| Error::Internal(format!("unknown status '{text}' in the registry")))
}

pub(crate) fn into_connections(rows: Vec<ConnectionRow>) -> Result<Vec<Connection>, Error> {
    rows.into_iter().map(Connection::try_from).collect()
}

/// The user's row, or `None` when the user does not exist. In a write transaction the row
/// stays locked until commit: what the caller decides from it holds.
pub(crate) async fn load(tx: &mut Tx, user: &str) -> Result<Option<Connection>, Error> {
    let row: Option<ConnectionRow> = tx
        .fetch_optional_locking(
            locking!(concat!(
                "SELECT ",
                connection_columns!(),
                " FROM whatsapp_connections WHERE user_key = $1"
            )),
            args![user],
        )
        .await?;
    row.map(Connection::try_from).transpose()
}

/// The number the user's row holds, read without locking it (see [`Tx::lock_phone`]).
pub(crate) async fn phone_of(tx: &mut Tx, user: &str) -> Result<Option<String>, Error> {
    let found: Option<(Option<String>,)> = tx
        .fetch_optional(
            "SELECT phone_number FROM whatsapp_connections WHERE user_key = $1",
            args![user],
        )
        .await?;
    Ok(found.and_then(|(phone,)| phone))
}

/// The user's row (locked, as [`load`]) with what starting a new pairing decides on besides.
pub(crate) struct NewPairingRow {
    pub row: Connection,
    /// An unlink of an earlier device of the user's is still owed (see `left_linked`).
    pub owes_unlink: bool,
    /// The user has something in a credential table.
    pub holds_credentials: bool,
}

#[derive(FromRow)]
struct NewPairingRecord {
    #[sqlx(flatten)]
    row: ConnectionRow,
    owes_unlink: bool,
    holds_credentials: bool,
}

/// What [`NewPairingRow`] adds to the row, for the user `user` (an SQL expression).
fn new_pairing_facts(user: &str) -> String {
    format!(
        "EXISTS (SELECT 1 FROM devices_left_linked o WHERE o.user_key = {user} \
         AND o.pending = 1) AS owes_unlink, {} AS holds_credentials",
        credentials::held_by_user(user)
    )
}

/// The rows of the users of the JSON array `$1`, each with its facts, in one statement
/// (SQLite).
static NEW_PAIRING_ROWS: LazyLock<String> = LazyLock::new(|| {
    format!(
        "SELECT {}, {} FROM whatsapp_connections c \
         WHERE c.user_key IN (SELECT value FROM json_each($1))",
        connection_columns!(),
        new_pairing_facts("c.user_key")
    )
});

/// The facts alone, for the user `$1` (PostgreSQL).
static NEW_PAIRING_FACTS: LazyLock<String> =
    LazyLock::new(|| format!("SELECT {}", new_pairing_facts("$1")));

/// [`NewPairingRow`] of each of `users` that exists, as it is once the rows are locked.
/// SQLite reads them all in one statement (its writer waits for nobody). PostgreSQL locks
/// each row, then reads its facts: a row lock may wait for another transaction, and a
/// statement's subqueries see the database as it was before that wait.
pub(crate) async fn load_for_new_pairings(
    tx: &mut Tx,
    users: &[&str],
) -> Result<HashMap<String, NewPairingRow>, Error> {
    let mut found = HashMap::with_capacity(users.len());
    if tx.is_postgres() {
        for user in users {
            let Some(row) = load(tx, user).await? else {
                continue;
            };
            let (owes_unlink, holds_credentials): (bool, bool) = tx
                .fetch_one(NEW_PAIRING_FACTS.as_str(), args![*user])
                .await?;
            let row = NewPairingRow {
                row,
                owes_unlink,
                holds_credentials,
            };
            found.insert(user.to_string(), row);
        }
        return Ok(found);
    }
    let records: Vec<NewPairingRecord> = tx
        .fetch_all(NEW_PAIRING_ROWS.as_str(), args![bulk::keys(users)])
        .await?;
    for record in records {
        let row = NewPairingRow {
            row: Connection::try_from(record.row)?,
            owes_unlink: record.owes_unlink,
            holds_credentials: record.holds_credentials,
        };
        found.insert(row.row.user.clone(), row);
    }
    Ok(found)
}

/// Marks `owner`'s pending pairing of `user` as showing a code issued `now` and returns the
/// row; `None` when the row is not pending or `owner` does not hold its lock. On PostgreSQL
/// the row is locked first, so that the lock's check in the update sees the database as it
/// is once the row is ours (see [`load_for_new_pairing`]).
pub(crate) async fn mark_code_issued(
    tx: &mut Tx,
    user: &str,
    owner: &str,
    now: Timestamp,
) -> Result<Option<Connection>, Error> {
    if tx.is_postgres() && load(tx, user).await?.is_none() {
        return Ok(None);
    }
    let row: Option<ConnectionRow> = tx
        .fetch_optional(
            concat!(
                "UPDATE whatsapp_connections SET qr_issued_at = $3, updated_at = $3 \
                 WHERE user_key = $1 AND status = 'PENDING_QR' AND EXISTS (SELECT 1 \
                 FROM connect_locks l WHERE l.user_key = $1 AND l.owner = $2) RETURNING ",
                connection_columns!()
            ),
            args![user, owner, now.millis()],
        )
        .await?;
    row.map(Connection::try_from).transpose()
}

/// [`mark_code_issued`] for each `(user, owner)` of `pairings`: the rows it marked, by user.
/// SQLite marks them all in one statement; PostgreSQL locks and marks each row in turn.
pub(crate) async fn mark_codes_issued(
    tx: &mut Tx,
    pairings: &[(&str, &str)],
    now: Timestamp,
) -> Result<HashMap<String, Connection>, Error> {
    let mut marked = HashMap::with_capacity(pairings.len());
    if tx.is_postgres() {
        for (user, owner) in pairings {
            if let Some(row) = mark_code_issued(tx, user, owner, now).await? {
                marked.insert(row.user.clone(), row);
            }
        }
        return Ok(marked);
    }
    // `+status` keeps SQLite on the key: the status index would read every pending row.
    let rows: Vec<ConnectionRow> = tx
        .fetch_all(
            concat!(
                "UPDATE whatsapp_connections SET qr_issued_at = $2, updated_at = $2 \
                 WHERE +status = 'PENDING_QR' AND user_key IN (SELECT l.user_key \
                 FROM json_each($1) j JOIN connect_locks l \
                 ON l.user_key = json_extract(j.value, '$.user') \
                 AND l.owner = json_extract(j.value, '$.owner')) RETURNING ",
                connection_columns!()
            ),
            args![bulk::pairings(pairings), now.millis()],
        )
        .await?;
    for row in rows {
        let row = Connection::try_from(row)?;
        marked.insert(row.user.clone(), row);
    }
    Ok(marked)
}

/// Those of `users` that exist.
pub(crate) async fn existing(tx: &mut Tx, users: &[&str]) -> Result<Vec<String>, Error> {
    let found: Vec<(String,)> = tx
        .fetch_all(
            bulk::keys_in!("SELECT user_key FROM whatsapp_connections WHERE user_key")
                .pick(tx.is_postgres()),
            args![bulk::keys(users)],
        )
        .await?;
    Ok(found.into_iter().map(|(user,)| user).collect())
}

pub(crate) async fn load_existing(tx: &mut Tx, user: &str) -> Result<Connection, Error> {
    load(tx, user)
        .await?
        .ok_or_else(|| Error::UnknownUser(user.to_string()))
}

//! Row types as the database returns them, and their conversion into [`crate::model`] types.

use std::sync::LazyLock;

use sqlx::FromRow;

use super::db::{args, locking, Tx};
use super::{credentials, Error};
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

/// What [`NewPairingRow`] adds to the row, for the user `$1`.
fn new_pairing_facts() -> String {
    format!(
        "EXISTS (SELECT 1 FROM devices_left_linked o WHERE o.user_key = $1 AND o.pending = 1) \
         AS owes_unlink, {} AS holds_credentials",
        credentials::held_by_user()
    )
}

/// The row and its facts in one statement (SQLite).
static NEW_PAIRING_ROW: LazyLock<String> = LazyLock::new(|| {
    format!(
        "SELECT {}, {} FROM whatsapp_connections WHERE user_key = $1",
        connection_columns!(),
        new_pairing_facts()
    )
});

/// The facts alone (PostgreSQL).
static NEW_PAIRING_FACTS: LazyLock<String> =
    LazyLock::new(|| format!("SELECT {}", new_pairing_facts()));

/// [`NewPairingRow`] of `user`, as it is once the row is locked; `None` when the user does not
/// exist. SQLite reads it in one statement (its writer waits for nobody). PostgreSQL reads the
/// facts after the row: its row lock may wait for another transaction, and a statement's
/// subqueries see the database as it was before that wait.
pub(crate) async fn load_for_new_pairing(
    tx: &mut Tx,
    user: &str,
) -> Result<Option<NewPairingRow>, Error> {
    if tx.is_postgres() {
        let Some(row) = load(tx, user).await? else {
            return Ok(None);
        };
        let (owes_unlink, holds_credentials): (bool, bool) = tx
            .fetch_one(NEW_PAIRING_FACTS.as_str(), args![user])
            .await?;
        return Ok(Some(NewPairingRow {
            row,
            owes_unlink,
            holds_credentials,
        }));
    }
    let found: Option<NewPairingRecord> = tx
        .fetch_optional(NEW_PAIRING_ROW.as_str(), args![user])
        .await?;
    found
        .map(|found| {
            Ok(NewPairingRow {
                row: Connection::try_from(found.row)?,
                owes_unlink: found.owes_unlink,
                holds_credentials: found.holds_credentials,
            })
        })
        .transpose()
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

pub(crate) async fn load_existing(tx: &mut Tx, user: &str) -> Result<Connection, Error> {
    load(tx, user)
        .await?
        .ok_or_else(|| Error::UnknownUser(user.to_string()))
}

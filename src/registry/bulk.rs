//! Many rows in a few statements. A set of rows travels as one JSON array bound to `$1` and is
//! read back as a table: `json_each` on SQLite, `json_to_recordset` (or
//! `json_array_elements_text` for a list of keys) on PostgreSQL. A cleanup that expires 10,000
//! pairings or a resolution that detaches 10,000 numbers therefore runs a fixed handful of
//! statements, each prepared once, instead of a few per row, and stays one transaction.

use serde::Serialize;

use super::db::{args, Dialect, Tx};
use super::Error;
use crate::model::Connection;
use crate::time::Timestamp;

/// `keys_in!("DELETE FROM t WHERE user_key")`: the statement restricted to the keys of the
/// JSON array of strings bound to `$1` (see [`keys`]).
macro_rules! keys_in {
    ($head:expr) => {
        $crate::registry::db::Dialect {
            sqlite: concat!($head, " IN (SELECT value FROM json_each($1))"),
            postgres: concat!($head, " IN (SELECT json_array_elements_text($1::json))"),
        }
    };
}
pub(crate) use keys_in;

/// The argument of a [`keys_in!`] statement.
pub(crate) fn keys<S: AsRef<str>>(keys: &[S]) -> String {
    let keys: Vec<&str> = keys.iter().map(AsRef::as_ref).collect();
    serde_json::Value::from(keys).to_string()
}

/// Every column of a connection row, as `save_rows` reads it back.
#[derive(Serialize)]
struct RowJson<'a> {
    user_key: &'a str,
    status: &'static str,
    phone_number: Option<&'a str>,
    qr_issued_at: Option<i64>,
    qr_expires_at: Option<i64>,
    last_connected_at: Option<i64>,
    reconnect_attempts: i64,
    node_id: Option<&'a str>,
    reason: &'a str,
    paused_until: Option<i64>,
    updated_at: i64,
    epoch: i64,
}

const SAVE_ROWS: Dialect = Dialect {
    sqlite: "UPDATE whatsapp_connections SET status = r.value ->> 'status', \
             phone_number = r.value ->> 'phone_number', \
             qr_issued_at = r.value ->> 'qr_issued_at', \
             qr_expires_at = r.value ->> 'qr_expires_at', \
             last_connected_at = r.value ->> 'last_connected_at', \
             reconnect_attempts = r.value ->> 'reconnect_attempts', \
             node_id = r.value ->> 'node_id', reason = r.value ->> 'reason', \
             paused_until = r.value ->> 'paused_until', updated_at = r.value ->> 'updated_at', \
             epoch = r.value ->> 'epoch' \
             FROM json_each($1) AS r WHERE whatsapp_connections.user_key = r.value ->> 'user_key'",
    postgres: "UPDATE whatsapp_connections c SET status = r.status, \
               phone_number = r.phone_number, qr_issued_at = r.qr_issued_at, \
               qr_expires_at = r.qr_expires_at, last_connected_at = r.last_connected_at, \
               reconnect_attempts = r.reconnect_attempts, node_id = r.node_id, \
               reason = r.reason, paused_until = r.paused_until, updated_at = r.updated_at, \
               epoch = r.epoch \
               FROM json_to_recordset($1::json) AS r(user_key text, status text, \
               phone_number text, qr_issued_at bigint, qr_expires_at bigint, \
               last_connected_at bigint, reconnect_attempts bigint, node_id text, reason text, \
               paused_until bigint, updated_at bigint, epoch bigint) \
               WHERE c.user_key = r.user_key",
};

/// Writes every column of `rows` back, the epoch included, in one statement.
pub(crate) async fn save_rows<'a>(
    tx: &mut Tx,
    rows: impl IntoIterator<Item = &'a Connection>,
) -> Result<(), Error> {
    let rows: Vec<RowJson> = rows
        .into_iter()
        .map(|row| RowJson {
            user_key: &row.user,
            status: row.status.as_str(),
            phone_number: row.phone_number.as_deref(),
            qr_issued_at: row.qr_issued_at.map(Timestamp::millis),
            qr_expires_at: row.qr_expires_at.map(Timestamp::millis),
            last_connected_at: row.last_connected_at.map(Timestamp::millis),
            reconnect_attempts: i64::from(row.reconnect_attempts),
            node_id: row.node_id.as_deref(),
            reason: &row.reason,
            paused_until: row.paused_until.map(Timestamp::millis),
            updated_at: row.updated_at.millis(),
            epoch: row.epoch,
        })
        .collect();
    if rows.is_empty() {
        return Ok(());
    }
    let json = serde_json::to_string(&rows).map_err(|e| Error::Internal(e.to_string()))?;
    tx.execute_dialect(SAVE_ROWS, args![json]).await?;
    Ok(())
}

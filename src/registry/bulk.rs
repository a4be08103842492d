//! Many rows in a few statements. A set of rows travels as one JSON array bound to `$1` and is
//! read back as a table: `json_each` on SQLite, `json_to_recordset` (or
//! `json_array_elements_text` for a list of keys) on PostgreSQL. A cleanup that expires 10,000
//! pairings or a resolution that detaches 10,000 numbers therefore runs a fixed handful of
//! statements, each prepared once, instead of a few per row, and stays one transaction.
//! Binary values travel as hex ([`hex`]).

use serde::Serialize;

use super::db::{args, Tx};
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

/// `(user, owner)` pairs as a JSON array of `{"user", "owner"}` objects, read back with
/// `json_extract(value, '$.user')` and `'$.owner'` (SQLite).
pub(crate) fn pairings(pairings: &[(&str, &str)]) -> String {
    let pairings: Vec<serde_json::Value> = pairings
        .iter()
        .map(|(user, owner)| serde_json::json!({ "user": user, "owner": owner }))
        .collect();
    serde_json::Value::from(pairings).to_string()
}

/// `bytes` as lowercase hex: how binary values travel in the JSON arrays, read back with
/// SQLite's `unhex` and PostgreSQL's `decode(…, 'hex')`.
#[cfg_attr(not(unix), allow(dead_code))] // Only the credential tables, which are Unix-only.
pub(crate) fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut text = String::with_capacity(bytes.len() * 2);
    for byte in bytes {
        text.push(char::from(DIGITS[usize::from(byte >> 4)]));
        text.push(char::from(DIGITS[usize::from(byte & 0x0f)]));
    }
    text
}

/// Every column of a connection row, as [`save`] reads it back.
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

/// A column [`save`] may write: its name, its PostgreSQL type, and whether a change touched it.
struct Column {
    name: &'static str,
    pg_type: &'static str,
    changed: fn(&Connection, &Connection) -> bool,
}

macro_rules! column {
    ($name:ident, $pg_type:literal) => {
        Column {
            name: stringify!($name),
            pg_type: $pg_type,
            changed: |before, after| before.$name != after.$name,
        }
    };
}

/// Every column but the key. Writing only the ones a batch changed spares the indexes on the
/// others: SQLite rewrites an index whenever one of its columns is assigned, even to itself.
const COLUMNS: [Column; 11] = [
    Column {
        name: "status",
        pg_type: "text",
        changed: |before, after| before.status != after.status,
    },
    column!(phone_number, "text"),
    column!(qr_issued_at, "bigint"),
    column!(qr_expires_at, "bigint"),
    column!(last_connected_at, "bigint"),
    column!(reconnect_attempts, "bigint"),
    column!(node_id, "text"),
    column!(reason, "text"),
    column!(paused_until, "bigint"),
    column!(updated_at, "bigint"),
    column!(epoch, "bigint"),
];

/// Writes every column of `rows` back, the epoch included, in one statement.
pub(crate) async fn save_rows<'a>(
    tx: &mut Tx,
    rows: impl IntoIterator<Item = &'a Connection>,
) -> Result<(), Error> {
    let rows: Vec<&Connection> = rows.into_iter().collect();
    save(tx, &rows, COLUMNS.iter().collect()).await
}

/// Writes each `(before, after)` pair's `after`, in one statement that assigns only the
/// columns some pair changed.
pub(crate) async fn save_changes<'a>(
    tx: &mut Tx,
    changes: impl IntoIterator<Item = (&'a Connection, &'a Connection)>,
) -> Result<(), Error> {
    let changes: Vec<(&Connection, &Connection)> = changes.into_iter().collect();
    let columns = COLUMNS
        .iter()
        .filter(|column| {
            changes
                .iter()
                .any(|(before, after)| (column.changed)(before, after))
        })
        .collect();
    let rows: Vec<&Connection> = changes.iter().map(|(_, after)| *after).collect();
    save(tx, &rows, columns).await
}

async fn save(tx: &mut Tx, rows: &[&Connection], columns: Vec<&Column>) -> Result<(), Error> {
    if rows.is_empty() || columns.is_empty() {
        return Ok(());
    }
    let json: Vec<RowJson> = rows.iter().map(|row| RowJson::from(*row)).collect();
    let json = serde_json::to_string(&json).map_err(|e| Error::Internal(e.to_string()))?;
    // Built only from the fixed names above, never from data.
    let sql = if tx.is_postgres() {
        let set: Vec<String> = columns
            .iter()
            .map(|c| format!("{0} = r.{0}", c.name))
            .collect();
        let types: Vec<String> = columns
            .iter()
            .map(|c| format!("{} {}", c.name, c.pg_type))
            .collect();
        format!(
            "UPDATE whatsapp_connections c SET {} FROM json_to_recordset($1::json) \
             AS r(user_key text, {}) WHERE c.user_key = r.user_key",
            set.join(", "),
            types.join(", ")
        )
    } else {
        let set: Vec<String> = columns
            .iter()
            .map(|c| format!("{0} = r.value ->> '{0}'", c.name))
            .collect();
        format!(
            "UPDATE whatsapp_connections SET {} FROM json_each($1) AS r \
             WHERE whatsapp_connections.user_key = r.value ->> 'user_key'",
            set.join(", ")
        )
    };
    tx.execute_built(sql, args![json]).await?;
    Ok(())
}

impl<'a> From<&'a Connection> for RowJson<'a> {
    fn from(row: &'a Connection) -> RowJson<'a> {
        RowJson {
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
        }
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn hex_is_two_lowercase_digits_a_byte() {
        assert_eq!(super::hex(&[0x00, 0x0f, 0xa5, 0xff]), "000fa5ff");
        assert_eq!(super::hex(&[]), "");
    }
}

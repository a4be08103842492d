//! Importing another system's users and connection rows (`wasess import registry`), in one
//! transaction: all of them or none.
//!
//! An imported row has no live session and, until its credentials are imported too, nothing to
//! log in with, so it becomes `DISCONNECTED`, keeps its number and its last connection time,
//! and says what it was (`imported from …, was CONNECTED`). Numbers that several users held
//! in the old system are imported as they are: `detect-conflicts` shows them afterwards and
//! `resolve-conflicts` settles them with the usual policy.
//!
//! A user that exists here already is never overwritten unless the caller merges. Merging
//! fills in only users that have nothing of their own here (disconnected or logged out,
//! without a number): one with a session, a pairing or a number keeps it, and is reported.

use std::collections::{BTreeMap, HashMap};

use serde::Serialize;
use serde_json::json;

use super::bulk::{self, keys_in};
use super::change::Change;
use super::db::{args, Dialect};
use super::events::{self, NewEvent};
use super::rows::{self, connection_columns, ConnectionRow};
use super::{Error, Registry};
use crate::model::{Connection, EventKind, ImportReport, ImportedDuplicate, Status};
use crate::time::Timestamp;

/// One user to import, with its connection row as the old system had it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Deserialize, Serialize)]
pub struct LegacyConnection {
    pub user: String,
    /// Normalised digits, or none.
    pub phone_number: Option<String>,
    /// The old system's status, as it spelled it.
    pub legacy_status: Option<String>,
    pub last_connected_at: Option<Timestamp>,
    pub created_at: Option<Timestamp>,
}

/// How an import goes.
#[derive(Debug, Clone, Copy, Default)]
pub struct ImportOptions {
    /// Report what would happen and write nothing.
    pub dry_run: bool,
    /// Update users that exist here already (except live or pairing ones).
    pub merge: bool,
}

/// The rows of `user_key`s in the JSON array `$1`, locked on PostgreSQL.
const ROWS_OF_KEYS: Dialect = Dialect {
    sqlite: concat!(
        "SELECT ",
        connection_columns!(),
        " FROM whatsapp_connections WHERE user_key IN (SELECT value FROM json_each($1))"
    ),
    postgres: concat!(
        "SELECT ",
        connection_columns!(),
        " FROM whatsapp_connections WHERE user_key IN \
         (SELECT json_array_elements_text($1::json)) ORDER BY user_key FOR UPDATE"
    ),
};

/// The users among the JSON array `$1` of keys.
const USERS_OF_KEYS: Dialect = keys_in!("SELECT user_key FROM users WHERE user_key");

/// The (number, user) pairs of every row holding one of the numbers in the JSON array `$1`.
const HOLDERS_OF_NUMBERS: Dialect =
    keys_in!("SELECT phone_number, user_key FROM whatsapp_connections WHERE phone_number");

const INSERT_USERS: Dialect = Dialect {
    sqlite: "INSERT INTO users (user_key, created_at) \
             SELECT u.value ->> 'user', u.value ->> 'created_at' FROM json_each($1) AS u",
    postgres: "INSERT INTO users (user_key, created_at) SELECT u.user_key, u.created_at \
               FROM json_to_recordset($1::json) AS u(user_key text, created_at bigint)",
};

const INSERT_ROWS: Dialect = Dialect {
    sqlite: "INSERT INTO whatsapp_connections (user_key, status, reason, updated_at) \
             SELECT u.value ->> 'user', 'DISCONNECTED', '', u.value ->> 'created_at' \
             FROM json_each($1) AS u",
    postgres: "INSERT INTO whatsapp_connections (user_key, status, reason, updated_at) \
               SELECT u.user_key, 'DISCONNECTED', '', u.created_at \
               FROM json_to_recordset($1::json) AS u(user_key text, created_at bigint)",
};

#[derive(Serialize)]
struct NewUser<'a> {
    #[serde(rename = "user")]
    user_sqlite: &'a str,
    user_key: &'a str,
    created_at: i64,
}

impl Registry {
    /// Imports `connections` from `source` (a name for the reasons and the report).
    pub async fn import_connections(
        &self,
        source: &str,
        connections: &[LegacyConnection],
        options: ImportOptions,
    ) -> Result<ImportReport, Error> {
        let now = self.now();
        let mut tx = self.db.write().await?;
        let keys: Vec<&str> = connections.iter().map(|c| c.user.as_str()).collect();
        let existing = rows_of_keys(&mut tx, &keys).await?;
        // Users here without a connection row (added by hand to the table, say): they exist
        // too, and get only their row from the import.
        let rowless: std::collections::HashSet<String> = users_of_keys(&mut tx, &keys)
            .await?
            .into_iter()
            .filter(|user| !existing.contains_key(user))
            .collect();
        if (!existing.is_empty() || !rowless.is_empty()) && !options.merge {
            let mut users: Vec<&String> = existing.keys().chain(rowless.iter()).collect();
            users.sort();
            let shown: Vec<&str> = users.iter().take(5).map(|u| u.as_str()).collect();
            return Err(Error::ImportWouldOverwrite {
                count: users.len(),
                users: shown.join(", "),
            });
        }

        let mut report = ImportReport {
            source: source.to_string(),
            dry_run: options.dry_run,
            ..ImportReport::default()
        };
        let mut fresh = Vec::new();
        let mut fresh_rows = Vec::new();
        let mut changes = Vec::new();
        for imported in connections {
            let before = match existing.get(&imported.user) {
                // A row with a session, a pairing or a link of its own (a number, a paused or
                // conflicting device) is wasess's to manage: the import leaves it alone.
                Some(row)
                    if row.phone_number.is_some()
                        || !matches!(row.status, Status::Disconnected | Status::LoggedOut) =>
                {
                    report.kept_live.push(imported.user.clone());
                    continue;
                }
                Some(row) => {
                    report.users_merged += 1;
                    row.clone()
                }
                None if rowless.contains(&imported.user) => {
                    report.users_merged += 1;
                    let created = imported.created_at.unwrap_or(now);
                    fresh_rows.push((imported.user.as_str(), created));
                    blank_row(&imported.user, created)
                }
                None => {
                    report.users_added += 1;
                    let created = imported.created_at.unwrap_or(now);
                    fresh.push((imported.user.as_str(), created));
                    blank_row(&imported.user, created)
                }
            };
            let was = imported.legacy_status.as_deref().unwrap_or("unknown");
            let after = Connection {
                status: Status::Disconnected,
                phone_number: imported.phone_number.clone(),
                qr_issued_at: None,
                qr_expires_at: None,
                last_connected_at: imported.last_connected_at.or(before.last_connected_at),
                reconnect_attempts: 0,
                node_id: None,
                reason: format!("imported from {source}, was {was}"),
                paused_until: None,
                updated_at: now,
                ..before.clone()
            };
            changes.push(Change::new(before, after));
        }
        report.rows_imported = changes.len() as u64;
        report.duplicates = self.duplicates_after(&mut tx, &changes).await?;
        if options.dry_run {
            return Ok(report);
        }

        self.insert_blank(&mut tx, &fresh_rows, &fresh, now, |_| {
            format!("user imported from {source}")
        })
        .await?;
        self.write_changes(&mut tx, &mut changes).await?;
        tx.commit().await?;
        Ok(report)
    }

    /// Blank rows for `rowless` users, and users with blank rows for `fresh` ones (each a key
    /// and a creation time), each new user with an event that says `how` it came.
    pub(super) async fn insert_blank(
        &self,
        tx: &mut super::db::Tx,
        rowless: &[(&str, Timestamp)],
        fresh: &[(&str, Timestamp)],
        now: Timestamp,
        how: impl Fn(&str) -> String,
    ) -> Result<(), Error> {
        if !rowless.is_empty() {
            tx.execute_dialect(INSERT_ROWS, args![new_users_json(rowless)?])
                .await?;
        }
        if !fresh.is_empty() {
            let json = new_users_json(fresh)?;
            tx.execute_dialect(INSERT_USERS, args![json.clone()])
                .await?;
            tx.execute_dialect(INSERT_ROWS, args![json]).await?;
        }
        for (user, _) in fresh {
            let event = NewEvent::new(
                EventKind::User,
                user,
                how(user),
                json!({ "action": "imported" }),
            );
            events::append(tx, now, &self.node_id, event);
        }
        Ok(())
    }

    /// Numbers that more than one row will hold once `changes` are written: the imported
    /// rows among themselves and with the rows already here.
    async fn duplicates_after(
        &self,
        tx: &mut super::db::Tx,
        changes: &[Change],
    ) -> Result<Vec<ImportedDuplicate>, Error> {
        let mut holders: BTreeMap<String, Vec<String>> = BTreeMap::new();
        for change in changes {
            if let Some(phone) = &change.after.phone_number {
                holders
                    .entry(phone.clone())
                    .or_default()
                    .push(change.after.user.clone());
            }
        }
        let phones: Vec<&String> = holders.keys().collect();
        let here: Vec<(String, String)> = tx
            .fetch_all(
                HOLDERS_OF_NUMBERS.pick(tx.is_postgres()),
                args![bulk::keys(&phones)],
            )
            .await?;
        let imported: std::collections::HashSet<&str> =
            changes.iter().map(|c| c.after.user.as_str()).collect();
        for (phone, user) in here {
            // A row being imported holds what the import gives it, not what it holds now.
            if imported.contains(user.as_str()) {
                continue;
            }
            if let Some(list) = holders.get_mut(&phone) {
                list.push(user);
            }
        }
        Ok(holders
            .into_iter()
            .filter(|(_, users)| users.len() > 1)
            .map(|(phone_number, mut users)| {
                users.sort();
                ImportedDuplicate {
                    phone_number,
                    users,
                }
            })
            .collect())
    }
}

/// Those of `keys` that are users here.
pub(super) async fn users_of_keys(
    tx: &mut super::db::Tx,
    keys: &[&str],
) -> Result<std::collections::HashSet<String>, Error> {
    let users = tx
        .fetch_all::<(String,)>(
            USERS_OF_KEYS.pick(tx.is_postgres()),
            args![bulk::keys(keys)],
        )
        .await?;
    Ok(users.into_iter().map(|(user,)| user).collect())
}

/// The rows of `keys` by user (locked on PostgreSQL).
pub(super) async fn rows_of_keys(
    tx: &mut super::db::Tx,
    keys: &[&str],
) -> Result<HashMap<String, Connection>, Error> {
    let rows = tx
        .fetch_all::<ConnectionRow>(ROWS_OF_KEYS.pick(tx.is_postgres()), args![bulk::keys(keys)])
        .await?;
    Ok(rows::into_connections(rows)?
        .into_iter()
        .map(|row| (row.user.clone(), row))
        .collect())
}

/// `users` (key, creation time) as the JSON array [`INSERT_USERS`] and [`INSERT_ROWS`] read.
fn new_users_json(users: &[(&str, Timestamp)]) -> Result<String, Error> {
    let users: Vec<NewUser> = users
        .iter()
        .map(|(user, created)| NewUser {
            user_sqlite: user,
            user_key: user,
            created_at: created.millis(),
        })
        .collect();
    serde_json::to_string(&users).map_err(|e| Error::Internal(e.to_string()))
}

/// The row `users add` makes, as it is before the import writes its fields.
pub(super) fn blank_row(user: &str, created: Timestamp) -> Connection {
    Connection {
        user: user.to_string(),
        status: Status::Disconnected,
        phone_number: None,
        qr_issued_at: None,
        qr_expires_at: None,
        last_connected_at: None,
        reconnect_attempts: 0,
        node_id: None,
        epoch: 0,
        reason: String::new(),
        paused_until: None,
        updated_at: created,
    }
}

//! WhatsApp credentials in the registry: whatsapp-rust's store tables, one set per user, on the
//! registry's own database, so any node can resume any session and one database is the whole
//! backup.
//!
//! [`SessionStore`] implements the library's store traits for one user and one session: every
//! write checks the session's [`Fence`](super::Fence) in its own transaction, and a refused
//! write trips the store's fenced signal, so the session is closed at once (no logout, no
//! `CONFLICT`). Reads are not fenced: the one reader that may read another session's
//! credentials, a retried unlink whose user paired again meanwhile, checks its claim before it
//! acts (`supervisor::unlinks`).
//!
//! A credential set lives exactly as long as its row needs it: the registry deletes it in the
//! same transaction as the change that makes it useless (see `ownership`), and with the user.
//! A released device that still owes its unlink keeps its set until the unlink settles
//! (`left_linked`).

#[cfg(unix)]
mod import;
#[cfg(unix)]
mod rows;
#[cfg(unix)]
mod store;

#[cfg(unix)]
pub use import::{import_store_file, ImportReport};
#[cfg(unix)]
pub(crate) use rows::insert_rows;
#[cfg(unix)]
pub use rows::CredentialRows;
#[cfg(unix)]
pub use store::SessionStore;

use super::bulk::{self, keys_in};
use super::db::{args, Dialect, Locking, Tx};

/// Credential sets whose connection row cannot use them.
macro_rules! orphan_stores {
    () => {
        "SELECT d.user_key FROM wa_device d JOIN whatsapp_connections c \
         ON c.user_key = d.user_key WHERE (c.status = 'LOGGED_OUT' \
         OR (c.status = 'DISCONNECTED' AND c.phone_number IS NULL)) \
         AND NOT EXISTS (SELECT 1 FROM devices_left_linked o \
         WHERE o.user_key = d.user_key AND o.pending = 1)"
    };
}
use super::{Error, Registry, UserKey};

/// The statements over every credential table, for the users of a JSON array (see `bulk`;
/// static text, never built from strings).
macro_rules! credential_statements {
    ($($table:literal),* $(,)?) => {
        /// Every credential table, the device first.
        const TABLES: [&str; 18] = [$($table),*];

        /// One `DELETE` per credential table, the device first.
        const DELETE_USERS: [Dialect; 18] =
            [$(keys_in!(concat!("DELETE FROM ", $table, " WHERE user_key"))),*];

        /// The users that hold anything in any credential table, in one statement: most
        /// changes that discard a store (a new pairing, say) find none, and then cost one
        /// read instead of a delete per table. A user whose released device still owes its
        /// unlink is left out: the set is what logs the device in to unlink it (see
        /// `left_linked`), and goes when the unlink settles. On SQLite each key probes the
        /// tables' indexes in turn, which reads the array once (an `IN` per table would
        /// read it and sort it once per table).
        const HOLDERS: Dialect = Dialect {
            sqlite: concat!(
                "SELECT DISTINCT k.value FROM json_each($1) AS k WHERE (0",
                $(" OR EXISTS (SELECT 1 FROM ", $table, " WHERE user_key = k.value)",)*
                ") AND k.value NOT IN \
                 (SELECT user_key FROM devices_left_linked WHERE pending = 1)"
            ),
            postgres: concat!(
                "SELECT DISTINCT user_key FROM (SELECT NULL::text AS user_key WHERE false",
                $(" UNION ALL SELECT user_key FROM ", $table,
                  " WHERE user_key IN (SELECT json_array_elements_text($1::json))",)*
                ") AS held WHERE user_key IS NOT NULL AND user_key NOT IN \
                 (SELECT user_key FROM devices_left_linked WHERE pending = 1)"
            ),
        };
    };
}
credential_statements!(
    "wa_device",
    "wa_identities",
    "wa_sessions",
    "wa_prekeys",
    "wa_signed_prekeys",
    "wa_sender_keys",
    "wa_app_state_keys",
    "wa_app_state_versions",
    "wa_app_state_mutation_macs",
    "wa_base_keys",
    "wa_device_registry",
    "wa_group_metadata",
    "wa_lid_pn_mapping",
    "wa_sender_key_devices",
    "wa_tc_tokens",
    "wa_sent_messages",
    "wa_pending_inbound",
    "wa_msg_secrets",
);

/// SQL that is true when the user `user` (an SQL expression) has anything in any credential
/// table: one index probe per table, stopping at the first that has a row.
pub(crate) fn held_by_user(user: &str) -> String {
    let tables: Vec<String> = TABLES
        .iter()
        .map(|table| format!("EXISTS (SELECT 1 FROM {table} WHERE user_key = {user})"))
        .collect();
    format!("({})", tables.join(" OR "))
}

/// Those of `users` that hold anything in any credential table, or a released device that
/// still owes its unlink.
pub(crate) async fn held_by<S: AsRef<str>>(tx: &mut Tx, users: &[S]) -> Result<Vec<String>, Error> {
    let keys = bulk::keys(users);
    let mut held: Vec<(String,)> = tx
        .fetch_all(HOLDERS.pick(tx.is_postgres()), args![keys.as_str()])
        .await?;
    let owing: Vec<(String,)> = tx
        .fetch_all(
            keys_in!("SELECT user_key FROM devices_left_linked WHERE pending = 1 AND user_key")
                .pick(tx.is_postgres()),
            args![keys.as_str()],
        )
        .await?;
    held.extend(owing);
    let mut held: Vec<String> = held.into_iter().map(|(user,)| user).collect();
    held.sort();
    held.dedup();
    Ok(held)
}

/// Deletes the credential sets of `users` inside `tx`, but for those whose device still owes
/// its unlink; returns how many had a device.
pub(crate) async fn delete_all_of<S: AsRef<str>>(tx: &mut Tx, users: &[S]) -> Result<u64, Error> {
    if users.is_empty() {
        return Ok(0);
    }
    let holders = HOLDERS.pick(tx.is_postgres());
    let held: Vec<(String,)> = tx.fetch_all(holders, args![bulk::keys(users)]).await?;
    if held.is_empty() {
        return Ok(0);
    }
    let held: Vec<String> = held.into_iter().map(|(user,)| user).collect();
    let keys = bulk::keys(&held);
    let mut devices = 0;
    for (index, sql) in DELETE_USERS.iter().enumerate() {
        let deleted = tx.execute_dialect(*sql, args![keys.as_str()]).await?;
        if index == 0 {
            devices = deleted;
        }
    }
    Ok(devices)
}

impl Registry {
    /// Whether `user` has a device stored (a paired or pairing link).
    pub async fn has_credentials(&self, user: &UserKey) -> Result<bool, Error> {
        let mut tx = self.db.read().await?;
        let found: Option<(String,)> = tx
            .fetch_optional(
                "SELECT user_key FROM wa_device WHERE user_key = $1",
                args![user.as_str()],
            )
            .await?;
        tx.commit().await?;
        Ok(found.is_some())
    }

    /// Credential sets whose row cannot use them (left by an import, or by a version that
    /// kept them on disk): what `cleanup` removes. Returns their users.
    pub async fn orphan_credentials(&self, dry_run: bool) -> Result<Vec<String>, Error> {
        let mut tx = if dry_run {
            self.db.read().await?
        } else {
            self.db.write().await?
        };
        // A row that starts a new pairing meanwhile keeps its new store: the rows are locked
        // and checked again as they are now (see `db::Locking`).
        let found: Vec<(String,)> = tx
            .fetch_all_locking(
                Locking {
                    plain: concat!(orphan_stores!(), " ORDER BY d.user_key"),
                    locked: concat!(orphan_stores!(), " ORDER BY d.user_key FOR UPDATE OF c"),
                },
                args![],
            )
            .await?;
        let users: Vec<String> = found.into_iter().map(|(user,)| user).collect();
        if !dry_run {
            delete_all_of(&mut tx, &users).await?;
        }
        tx.commit().await?;
        Ok(users)
    }
}

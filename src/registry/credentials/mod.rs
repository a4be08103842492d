//! WhatsApp credentials in the registry: whatsapp-rust's store tables, one set per user, on the
//! registry's own database, so any node can resume any session and one database is the whole
//! backup.
//!
//! [`SessionStore`] implements the library's store traits for one user and one session: every
//! write checks the session's [`Fence`](super::Fence) in its own transaction, and a refused
//! write trips the store's fenced signal, so the session is closed at once (no logout, no
//! `CONFLICT`). Reads are not fenced: a stale reader can do no harm.
//!
//! A credential set lives exactly as long as its row needs it: the registry deletes it in the
//! same transaction as the change that makes it useless (see `ownership`), and with the user.

#[cfg(unix)]
mod import;
#[cfg(unix)]
mod store;

#[cfg(unix)]
pub use import::{import_store_file, ImportReport};
#[cfg(unix)]
pub use store::SessionStore;

use super::db::{args, Locking, Tx};

/// Credential sets whose connection row cannot use them.
macro_rules! orphan_stores {
    () => {
        "SELECT d.user_key FROM wa_device d JOIN whatsapp_connections c \
         ON c.user_key = d.user_key WHERE c.status = 'LOGGED_OUT' \
         OR (c.status = 'DISCONNECTED' AND c.phone_number IS NULL)"
    };
}
use super::{Error, Registry, UserKey};

/// One `DELETE` per credential table, the device first (static text, never built from
/// strings).
const DELETE_USER: [&str; 18] = [
    "DELETE FROM wa_device WHERE user_key = $1",
    "DELETE FROM wa_identities WHERE user_key = $1",
    "DELETE FROM wa_sessions WHERE user_key = $1",
    "DELETE FROM wa_prekeys WHERE user_key = $1",
    "DELETE FROM wa_signed_prekeys WHERE user_key = $1",
    "DELETE FROM wa_sender_keys WHERE user_key = $1",
    "DELETE FROM wa_app_state_keys WHERE user_key = $1",
    "DELETE FROM wa_app_state_versions WHERE user_key = $1",
    "DELETE FROM wa_app_state_mutation_macs WHERE user_key = $1",
    "DELETE FROM wa_base_keys WHERE user_key = $1",
    "DELETE FROM wa_device_registry WHERE user_key = $1",
    "DELETE FROM wa_group_metadata WHERE user_key = $1",
    "DELETE FROM wa_lid_pn_mapping WHERE user_key = $1",
    "DELETE FROM wa_sender_key_devices WHERE user_key = $1",
    "DELETE FROM wa_tc_tokens WHERE user_key = $1",
    "DELETE FROM wa_sent_messages WHERE user_key = $1",
    "DELETE FROM wa_pending_inbound WHERE user_key = $1",
    "DELETE FROM wa_msg_secrets WHERE user_key = $1",
];

/// Deletes `user`'s whole credential set inside `tx`; true when there was a device.
pub(crate) async fn delete_all(tx: &mut Tx, user: &str) -> Result<bool, Error> {
    let mut device = false;
    for (index, sql) in DELETE_USER.iter().enumerate() {
        let deleted = tx.execute(sql, args![user]).await?;
        if index == 0 {
            device = deleted > 0;
        }
    }
    Ok(device)
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
            for user in &users {
                delete_all(&mut tx, user).await?;
            }
        }
        tx.commit().await?;
        Ok(users)
    }
}

//! Devices let go of without WhatsApp confirming the unlink. wasess deletes a device's
//! credentials whatever WhatsApp answers, so the record here is all that is left of it: the
//! phone may still list it under Linked devices, and `wasess doctor` names it so an operator
//! can remove it there.
//!
//! A change that releases a device whose unlink happens after it commits (a number taken by
//! a newer pairing, a resolved conflict) writes the device's record in its own transaction,
//! `pending` ([`owe_unlink`]); the unlink deletes it once WhatsApp confirms
//! ([`Registry::unlink_confirmed`]). Whatever stops the unlink in between (a crash, a kill, a
//! node cut off), the device stays named.

use serde::{Deserialize, Serialize};
use sqlx::FromRow;

use super::db::{args, Dialect, Tx};
use super::{Error, Registry};
use crate::time::Timestamp;

/// A device that may still be linked on its phone.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LeftLinked {
    pub user: String,
    pub phone_number: Option<String>,
    pub at: Timestamp,
    pub error: String,
    /// Its unlink was under way and has not been confirmed (yet).
    #[serde(default)]
    pub pending: bool,
}

#[derive(FromRow)]
struct Row {
    user_key: String,
    phone_number: Option<String>,
    at: i64,
    error: String,
    pending: i64,
}

/// A new pairing of `user` starts (in `tx`): an unlink still owed for an earlier device of
/// theirs is no longer the business of any session, so its record stops being pending and
/// stays as a device to remove. Nothing the new device does can settle it by mistake.
pub(crate) async fn give_up_owed(tx: &mut Tx, user: &str) -> Result<(), Error> {
    tx.execute(
        "UPDATE devices_left_linked SET pending = 0, \
         error = error || '; a new pairing followed before the unlink was confirmed' \
         WHERE user_key = $1 AND pending = 1",
        args![user],
    )
    .await?;
    Ok(())
}

/// How long after a release its unlink may still settle the record the release wrote.
pub const OWED_FOR: std::time::Duration = std::time::Duration::from_secs(10 * 60);

/// A device a change releases: its user and number, and what to say while its unlink is
/// owed.
#[derive(Serialize)]
pub(crate) struct Released<'a> {
    pub user_key: &'a str,
    pub phone_number: &'a str,
    pub error: String,
}

/// Records, in `tx`, that each of `released` owes its unlink, which happens after `tx` commits;
/// users without stored credentials (no device to unlink) are skipped. One statement for all.
/// Call it before the change deletes the credentials.
pub(crate) async fn owe_unlinks(
    tx: &mut Tx,
    released: &[Released<'_>],
    at: Timestamp,
) -> Result<(), Error> {
    if released.is_empty() {
        return Ok(());
    }
    let json = serde_json::to_string(released).map_err(|e| Error::Internal(e.to_string()))?;
    tx.execute_dialect(OWE_UNLINKS, args![json, at.millis()])
        .await?;
    Ok(())
}

const OWE_UNLINKS: Dialect = Dialect {
    sqlite: "INSERT INTO devices_left_linked (user_key, phone_number, at, error, pending) \
             SELECT r.value ->> 'user_key', r.value ->> 'phone_number', $2, \
             r.value ->> 'error', 1 FROM json_each($1) AS r \
             WHERE EXISTS (SELECT 1 FROM wa_device d WHERE d.user_key = r.value ->> 'user_key') \
             ON CONFLICT (user_key, at) DO NOTHING",
    postgres: "INSERT INTO devices_left_linked (user_key, phone_number, at, error, pending) \
               SELECT r.user_key, r.phone_number, $2, r.error, 1 \
               FROM json_to_recordset($1::json) AS r(user_key text, phone_number text, \
               error text) \
               WHERE EXISTS (SELECT 1 FROM wa_device d WHERE d.user_key = r.user_key) \
               ON CONFLICT (user_key, at) DO NOTHING",
};

impl Registry {
    /// Records that `user`'s device (of `phone`, when known) was let go of without an unlink.
    pub async fn record_left_linked(
        &self,
        user: &str,
        phone: Option<&str>,
        error: &str,
    ) -> Result<(), Error> {
        let mut tx = self.db.write().await?;
        tx.execute(
            "INSERT INTO devices_left_linked (user_key, phone_number, at, error) \
             VALUES ($1, $2, $3, $4) ON CONFLICT (user_key, at) DO NOTHING",
            args![user, phone, self.now().millis(), error],
        )
        .await?;
        tx.commit().await
    }

    /// When `user`'s newest owed unlink was recorded, if one was within [`OWED_FOR`]: the
    /// unlink of a released session follows its release within seconds, so an older record
    /// is another device's, left by a daemon that stopped, and stays as it is.
    pub async fn owed_unlink(&self, user: &str) -> Result<Option<Timestamp>, Error> {
        let since = self.now().minus(OWED_FOR);
        let at: Option<(i64,)> = self
            .db
            .fetch_optional(
                "SELECT at FROM devices_left_linked WHERE user_key = $1 AND pending = 1 \
                 AND at >= $2 ORDER BY at DESC LIMIT 1",
                args![user, since.millis()],
            )
            .await?;
        Ok(at.map(|(at,)| Timestamp(at)))
    }

    /// The unlink `user` owed since `at` is settled: done when `error` is `None` (the record
    /// goes), failed otherwise (the record stays, saying why).
    pub async fn settle_unlink(
        &self,
        user: &str,
        at: Timestamp,
        error: Option<&str>,
    ) -> Result<(), Error> {
        let mut tx = self.db.write().await?;
        match error {
            None => {
                tx.execute(
                    "DELETE FROM devices_left_linked WHERE user_key = $1 AND at = $2 \
                     AND pending = 1",
                    args![user, at.millis()],
                )
                .await?
            }
            Some(error) => {
                tx.execute(
                    "UPDATE devices_left_linked SET pending = 0, error = $3 \
                     WHERE user_key = $1 AND at = $2",
                    args![user, at.millis(), error],
                )
                .await?
            }
        };
        tx.commit().await
    }

    /// Every device that may still be linked, oldest first.
    pub async fn left_linked(&self) -> Result<Vec<LeftLinked>, Error> {
        let rows: Vec<Row> = self
            .db
            .fetch_all(
                "SELECT user_key, phone_number, at, error, pending FROM devices_left_linked \
                 ORDER BY at, user_key",
                args![],
            )
            .await?;
        Ok(rows
            .into_iter()
            .map(|row| LeftLinked {
                user: row.user_key,
                phone_number: row.phone_number,
                at: Timestamp(row.at),
                error: row.error,
                pending: row.pending != 0,
            })
            .collect())
    }
}

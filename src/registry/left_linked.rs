//! Devices let go of without WhatsApp confirming the unlink. wasess deletes a device's
//! credentials whatever WhatsApp answers, so the record here is all that is left of it: the
//! phone may still list it under Linked devices, and `wasess doctor` names it so an operator
//! can remove it there.
//!
//! A change that releases a device whose unlink happens after it commits (a number taken by
//! a newer pairing, a resolved conflict, a link reject-new discards) writes the device's
//! record in its own transaction, `pending` ([`owe_unlinks`]), and keeps the device's
//! credentials; the record and the credentials go once WhatsApp confirms the unlink
//! ([`Registry::settle_unlink`]). Until then the unlink is retried, so that whatever stops
//! it (a crash, a kill, WhatsApp out of reach) only delays it:
//! - The record names the node that works on it: the node whose session held the device.
//!   That session logs out first; should it fail, the node logs the device in again from the
//!   kept credentials later and logs it out ([`Registry::claim_unlink`]).
//! - Another node may take the record over only once that node's lease ran out, by the
//!   database's clock, as with sessions: by then the node has fenced itself and closed every
//!   client it had, unlinks under way included, so no two clients of one device ever run.
//! - After [`MAX_ATTEMPTS`] the record stays as a device for the operator to remove on the
//!   phone, and the credentials go. A new pairing of the user gives the record up too.

use serde::{Deserialize, Serialize};
use sqlx::FromRow;

use super::db::{args, Dialect, Tx};
use super::{Error, Registry};
use crate::time::Timestamp;

/// An unlink still owed, as a node retries it.
#[derive(Debug, Clone)]
pub struct OwedUnlink {
    pub user: String,
    pub phone_number: Option<String>,
    pub at: Timestamp,
    /// Tries so far, this one excluded.
    pub attempts: u32,
}

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
    /// The node whose session holds the device, which unlinks it.
    pub node_id: Option<&'a str>,
    pub error: String,
}

/// Attempts from the kept credentials before the device is left to the operator.
pub const MAX_ATTEMPTS: u32 = 5;

/// Records, in `tx`, that each of `released` owes its unlink, which happens after `tx` commits;
/// users without stored credentials (no device to unlink) are skipped. One statement for all.
/// Call it before the change deletes the credentials: they are kept for the unlink. The
/// record is due at once; the node it names leaves it alone while the device still has a
/// session there, which logs it out itself.
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
    sqlite: "INSERT INTO devices_left_linked (user_key, phone_number, at, error, pending, \
             node_id, retry_at) SELECT r.value ->> 'user_key', r.value ->> 'phone_number', \
             $2, r.value ->> 'error', 1, r.value ->> 'node_id', $2 FROM json_each($1) AS r \
             WHERE EXISTS (SELECT 1 FROM wa_device d WHERE d.user_key = r.value ->> 'user_key') \
             ON CONFLICT (user_key, at) DO NOTHING",
    postgres: "INSERT INTO devices_left_linked (user_key, phone_number, at, error, pending, \
               node_id, retry_at) SELECT r.user_key, r.phone_number, $2, r.error, 1, \
               r.node_id, $2 FROM json_to_recordset($1::json) AS r(user_key text, \
               phone_number text, node_id text, error text) \
               WHERE EXISTS (SELECT 1 FROM wa_device d WHERE d.user_key = r.user_key) \
               ON CONFLICT (user_key, at) DO NOTHING",
};

/// An owed unlink this node (its id in parameter `$me`) may take, by the database's clock
/// (in `$now`): it names no node, this node, a node whose lease ran out (which fenced itself,
/// closing every client it had, before that), or a node that is gone.
macro_rules! claimable_by {
    ($me:literal, $now:literal) => {
        concat!(
            "(node_id IS NULL OR node_id = ",
            $me,
            " OR node_id IN (SELECT node_id FROM nodes WHERE lease_until < ",
            $now,
            ") OR node_id NOT IN (SELECT node_id FROM nodes))"
        )
    };
}

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

    /// An attempt at the unlink `user` owed since `at` ended. Done (`error` is `None`): the
    /// record goes, and the credentials kept for it. Failed with `retry_after`: tried again
    /// then, by the same node (or another, should its lease run out). Failed for good: the
    /// record stays, saying why, and the credentials go (the device is the operator's to
    /// remove on the phone).
    pub async fn settle_unlink(
        &self,
        user: &str,
        at: Timestamp,
        error: Option<&str>,
        retry_after: Option<std::time::Duration>,
    ) -> Result<(), Error> {
        let mut tx = self.db.write().await?;
        let settled = match (error, retry_after) {
            (None, _) => {
                tx.execute(
                    "DELETE FROM devices_left_linked WHERE user_key = $1 AND at = $2 \
                     AND pending = 1",
                    args![user, at.millis()],
                )
                .await?
            }
            (Some(error), Some(after)) => {
                tx.execute(
                    "UPDATE devices_left_linked SET error = $3, retry_at = $4 \
                     WHERE user_key = $1 AND at = $2 AND pending = 1",
                    args![user, at.millis(), error, self.now().plus(after).millis()],
                )
                .await?;
                0
            }
            (Some(error), None) => {
                tx.execute(
                    "UPDATE devices_left_linked SET pending = 0, error = $3 \
                     WHERE user_key = $1 AND at = $2 AND pending = 1",
                    args![user, at.millis(), error],
                )
                .await?
            }
        };
        // Kept only for this unlink, unless the user started a new pairing since (which gave
        // the record up and owns the credentials now).
        if settled > 0 && !self.still_owes(&mut tx, user).await? {
            let owner_row_is_released: Option<(i64,)> = tx
                .fetch_optional(
                    "SELECT CAST(1 AS BIGINT) FROM whatsapp_connections WHERE user_key = $1 \
                     AND (status = 'LOGGED_OUT' OR (status = 'DISCONNECTED' \
                     AND phone_number IS NULL))",
                    args![user],
                )
                .await?;
            if owner_row_is_released.is_some() {
                super::credentials::delete_all_of(&mut tx, &[user]).await?;
            }
        }
        tx.commit().await
    }

    async fn still_owes(&self, tx: &mut Tx, user: &str) -> Result<bool, Error> {
        let owed: Option<(i64,)> = tx
            .fetch_optional(
                "SELECT CAST(1 AS BIGINT) FROM devices_left_linked WHERE user_key = $1 \
                 AND pending = 1 LIMIT 1",
                args![user],
            )
            .await?;
        Ok(owed.is_some())
    }

    /// Owed unlinks whose time to retry has come and that this node may take (see
    /// [`Registry::claim_unlink`], which decides), oldest first.
    pub async fn due_unlinks(&self, limit: u32) -> Result<Vec<OwedUnlink>, Error> {
        let mut tx = self.db.read().await?;
        let db_now = super::nodes::db_now(&mut tx).await?;
        let rows: Vec<(String, Option<String>, i64, i64)> = tx
            .fetch_all(
                concat!(
                    "SELECT user_key, phone_number, at, attempts FROM devices_left_linked \
                     WHERE pending = 1 AND retry_at <= $1 AND ",
                    claimable_by!("$2", "$3"),
                    " ORDER BY retry_at LIMIT $4"
                ),
                args![
                    self.now().millis(),
                    self.node_id.as_str(),
                    db_now,
                    i64::from(limit)
                ],
            )
            .await?;
        tx.commit().await?;
        Ok(rows
            .into_iter()
            .map(|(user, phone_number, at, attempts)| OwedUnlink {
                user,
                phone_number,
                at: Timestamp(at),
                attempts: attempts.max(0) as u32,
            })
            .collect())
    }

    /// Takes `unlink` for one attempt, for `lease`, if it is due and this node's: it names
    /// this node or none, or a node whose lease ran out by the database's clock (which has
    /// closed every client it had, having fenced itself first). False when it is not this
    /// node's to take, or another node took it first.
    pub async fn claim_unlink(
        &self,
        unlink: &OwedUnlink,
        lease: std::time::Duration,
    ) -> Result<bool, Error> {
        let now = self.now();
        let mut tx = self.db.write().await?;
        let db_now = super::nodes::db_now(&mut tx).await?;
        let claimed = tx
            .execute(
                concat!(
                    "UPDATE devices_left_linked SET node_id = $3, retry_at = $4, \
                     attempts = attempts + 1 \
                     WHERE user_key = $1 AND at = $2 AND pending = 1 AND retry_at <= $5 AND ",
                    claimable_by!("$3", "$6")
                ),
                args![
                    unlink.user.as_str(),
                    unlink.at.millis(),
                    self.node_id.as_str(),
                    now.plus(lease).millis(),
                    now.millis(),
                    db_now
                ],
            )
            .await?;
        tx.commit().await?;
        Ok(claimed == 1)
    }

    /// Makes `user`'s released row this node's at a new epoch, so a session logging the
    /// device in to unlink it may write its credentials; `None` when the row is not released
    /// (a new pairing began).
    pub async fn claim_for_unlink(&self, user: &str) -> Result<Option<i64>, Error> {
        let mut tx = self.db.write().await?;
        let epoch: Option<(i64,)> = tx
            .fetch_optional(
                "UPDATE whatsapp_connections SET node_id = $2, epoch = epoch + 1 \
                 WHERE user_key = $1 AND (status = 'LOGGED_OUT' OR (status = 'DISCONNECTED' \
                 AND phone_number IS NULL)) RETURNING epoch",
                args![user, self.node_id.as_str()],
            )
            .await?;
        tx.commit().await?;
        Ok(epoch.map(|(epoch,)| epoch))
    }

    /// Whether the claim [`Registry::claim_for_unlink`] made at `epoch` still holds: the row
    /// is still this node's at that epoch (a new pairing of the user moves it on).
    pub async fn unlink_claim_holds(&self, user: &str, epoch: i64) -> Result<bool, Error> {
        let found: Option<(i64,)> = self
            .db
            .fetch_optional(
                "SELECT epoch FROM whatsapp_connections WHERE user_key = $1 AND node_id = $2 \
                 AND epoch = $3",
                args![user, self.node_id.as_str(), epoch],
            )
            .await?;
        Ok(found.is_some())
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

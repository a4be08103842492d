//! Who may drive a session: the owner node and the epoch of a connection row.
//!
//! A *session* is one node's right to act for a user: it starts when a pairing begins or a
//! node takes the row (resume, takeover, claim after a drain) and ends when the row leaves the
//! live states or changes owner. The epoch grows at each of those moments ([`write_change`]
//! applies [`ends_starts_or_moves`] to every change), so a session is named by
//! `(node, epoch)`, and every write it makes checks that pair in the same transaction
//! ([`Registry::fence`]): the state changes and events of [`Scope::Session`], and every
//! credential-store write. A node that froze, lost the database or came back late therefore
//! cannot overwrite what the new owner does; its refused write tells it to close its client.
//!
//! On PostgreSQL the check takes `FOR SHARE` on the row, so a takeover (an `UPDATE` of that
//! row) waits for a write already past its check, and a write that starts after the takeover
//! sees the new epoch; on SQLite every writer holds the database lock. A change of owner
//! itself reads the row `FOR UPDATE` (see `db`), so two nodes taking one row decide one
//! after the other.
//!
//! [`write_change`]: Registry::write_change
//! [`Scope::Session`]: super::Scope::Session

use super::db::{args, Tx};
use super::rows;
use super::{Error, PhoneNumber, Registry, UserKey};
use crate::model::{Connection, Status};

/// The states in which a session runs somewhere.
fn live(status: Status) -> bool {
    matches!(status, Status::Connected | Status::PendingQr)
}

/// Whether `before → after` starts a session, ends one, or moves it to another node: then the
/// epoch grows and the old session's writes are refused from then on.
pub(crate) fn ends_starts_or_moves(before: &Connection, after: &Connection) -> bool {
    before.node_id != after.node_id
        || (live(before.status) && !live(after.status))
        || (after.status == Status::PendingQr && before.status != Status::PendingQr)
}

/// Whether the row no longer needs its credentials after `before → after`: a new pairing
/// starts from a clean store, and a row without a number (reset, pairing ended) or logged out
/// has nothing to resume. Deleting them in the change's own transaction means a credential
/// set exists exactly while its row can use it.
pub(crate) fn discards_credentials(before: &Connection, after: &Connection) -> bool {
    match after.status {
        Status::LoggedOut => true,
        Status::Disconnected => after.phone_number.is_none(),
        Status::PendingQr => before.status != Status::PendingQr,
        Status::Connected | Status::Conflict | Status::Paused => false,
    }
}

/// A session's name: the node that runs it and the epoch it started at.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fence {
    pub node: String,
    pub epoch: i64,
}

impl Registry {
    /// This node's fence for `epoch`.
    pub fn fence_at(&self, epoch: i64) -> Fence {
        Fence {
            node: self.node_id.clone(),
            epoch,
        }
    }

    /// Checks inside `tx` that `user`'s row still carries `fence`, locking it against a
    /// concurrent change of owner until `tx` ends. `false`: the session is no longer this one.
    pub(crate) async fn fence(tx: &mut Tx, user: &str, fence: &Fence) -> Result<bool, Error> {
        let sql = if tx.is_postgres() {
            "SELECT epoch FROM whatsapp_connections WHERE user_key = $1 AND node_id = $2 \
             AND epoch = $3 FOR SHARE"
        } else {
            "SELECT epoch FROM whatsapp_connections WHERE user_key = $1 AND node_id = $2 \
             AND epoch = $3"
        };
        let found: Option<(i64,)> = tx
            .fetch_optional(sql, args![user, fence.node.as_str(), fence.epoch])
            .await?;
        Ok(found.is_some())
    }

    /// Starts a session on this node for a row that is meant to run here (a resume, or a
    /// takeover already claimed): the row becomes this node's at a new epoch. `expected` is the
    /// epoch the caller saw; `None` when another session started meanwhile.
    pub async fn take_ownership(
        &self,
        user: &UserKey,
        expected: i64,
    ) -> Result<Option<Connection>, Error> {
        let mut tx = self.db.write().await?;
        // Rule 4 below decides on the row's number: its key is taken before the row's lock,
        // the order every writer locks in. A number that changed meanwhile means another
        // change won the row.
        let number = rows::phone_of(&mut tx, user.as_str()).await?;
        if let Some(phone) = &number {
            tx.lock_phone(phone).await?;
        }
        let before = rows::load_existing(&mut tx, user.as_str()).await?;
        if before.epoch != expected || before.phone_number != number {
            return Ok(None);
        }
        // A session another live node runs stays there: two clients would log in at once.
        if let Some(owner) = before
            .node_id
            .as_deref()
            .filter(|owner| *owner != self.node_id)
        {
            let now = super::nodes::db_now(&mut tx).await?;
            let alive: Option<(i64,)> = tx
                .fetch_optional(
                    "SELECT lease_until FROM nodes WHERE node_id = $1 AND lease_until >= $2 \
                     AND state <> 'stopped'",
                    args![owner, now],
                )
                .await?;
            if alive.is_some() && before.status == Status::Connected {
                return Err(Error::WrongState(format!(
                    "{user}'s session runs on node {owner}: act on it there"
                )));
            }
        }
        // Rule 4 for a session coming back (after a disconnect or a conflict): its number
        // may have gone to another user since.
        if before.status != Status::Connected {
            if let Some(phone) = before.phone_number.as_deref() {
                let phone = PhoneNumber::parse(phone).map_err(Error::InvalidInput)?;
                if let Some(holder) =
                    super::connect::holder_of(&mut tx, &phone, user.as_str()).await?
                {
                    return Err(Error::WrongState(format!(
                        "{phone} is held by {holder} now: {user} cannot log in with it again \
                         (resolve-conflicts, or reset and connect)"
                    )));
                }
            }
        }
        let after = Connection {
            node_id: Some(self.node_id.clone()),
            epoch: before.epoch + 1,
            ..before
        };
        super::bulk::save_rows(&mut tx, [&after]).await?;
        tx.commit().await?;
        Ok(Some(after))
    }
}

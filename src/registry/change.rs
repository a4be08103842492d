//! How a row changes: every write of a connection row goes through [`Registry::write_changes`],
//! so the session rules of [`ownership`](super::ownership) hold for every change. The epoch
//! moves when a session starts, ends or changes owner, credentials go when the row no longer
//! needs them, the connect lock goes when the pairing ends, and a state event records what an
//! operator reads. Many changes are written in a fixed handful of statements (see `bulk`).

use super::bulk::{self, keys_in};
use super::db::{args, Tx};
use super::events::{self, NewEvent};
use super::ownership::{discards_credentials, ends_starts_or_moves};
use super::{credentials, Error, Registry};
use crate::model::{Connection, Status};

/// One row going from `before` to `after`.
#[derive(Debug, Clone)]
pub(crate) struct Change {
    pub before: Connection,
    pub after: Connection,
    /// The transaction read that the user holds no credentials: nothing to look up or
    /// delete, whatever the change discards.
    pub holds_no_credentials: bool,
}

impl Change {
    pub fn new(before: Connection, after: Connection) -> Change {
        Change {
            before,
            after,
            holds_no_credentials: false,
        }
    }

    /// Whether anything an operator reads changed: then the change gets a state event.
    fn is_visible(&self) -> bool {
        self.before.status != self.after.status
            || self.before.reason != self.after.reason
            || self.before.phone_number != self.after.phone_number
    }
}

impl Registry {
    /// Saves `after` (with its epoch) and everything the change implies; see [`write_changes`].
    ///
    /// [`write_changes`]: Registry::write_changes
    pub(crate) async fn write_change(
        &self,
        tx: &mut Tx,
        before: &Connection,
        after: &mut Connection,
    ) -> Result<(), Error> {
        let mut changes = [Change::new(before.clone(), after.clone())];
        self.write_changes(tx, &mut changes).await?;
        let [change] = changes;
        *after = change.after;
        Ok(())
    }

    /// Saves every `after` and what each change implies, in one statement per kind of work
    /// whatever the number of rows. The state events are appended in the order of `changes`.
    pub(crate) async fn write_changes(
        &self,
        tx: &mut Tx,
        changes: &mut [Change],
    ) -> Result<(), Error> {
        for change in changes.iter_mut() {
            if ends_starts_or_moves(&change.before, &change.after) {
                change.after.epoch = change.before.epoch + 1;
            }
        }
        bulk::save_changes(
            tx,
            changes.iter().map(|change| (&change.before, &change.after)),
        )
        .await?;
        let discarded: Vec<&str> = changes
            .iter()
            .filter(|change| {
                !change.holds_no_credentials && discards_credentials(&change.before, &change.after)
            })
            .map(|change| change.after.user.as_str())
            .collect();
        // A device that owes its unlink keeps them (see `credentials::delete_all_of`).
        credentials::delete_all_of(tx, &discarded).await?;
        // A connect lock lives while its pairing does: however the row leaves PENDING_QR (a
        // disconnect that overtook the scan, say), the lock goes in the same transaction.
        let unlocked: Vec<&str> = changes
            .iter()
            .filter(|change| {
                change.before.status == Status::PendingQr
                    && change.after.status != Status::PendingQr
            })
            .map(|change| change.after.user.as_str())
            .collect();
        if !unlocked.is_empty() {
            tx.execute_dialect(
                keys_in!("DELETE FROM connect_locks WHERE user_key"),
                args![bulk::keys(&unlocked)],
            )
            .await?;
        }
        for change in changes.iter().filter(|change| change.is_visible()) {
            events::append(
                tx,
                change.after.updated_at,
                &self.node_id,
                NewEvent::state(&change.before, &change.after),
            );
        }
        Ok(())
    }
}

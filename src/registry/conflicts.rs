//! Numbers held by more than one row, and their resolution. Legacy data and manual edits can
//! leave duplicates that the pairing path never creates; these find and fix them.
//!
//! Both read the duplicated numbers from `shared_numbers`, which triggers keep in step with
//! the rows, and then only the rows of those numbers: the work follows the number of
//! duplicates, not the size of the registry.

use std::cmp::Ordering;

use super::change::Change;
use super::db::{args, locking, Tx};
use super::left_linked::{owe_unlinks, Released};
use super::rows::{self, connection_columns};
use super::transitions;
use super::{Error, PhoneNumber, Registry};
use crate::model::{
    ConflictGroup, ConflictHolder, Connection, DetachedHolder, Resolution, ResolveAction,
};

/// Newest first: latest connection, then latest change, then user key (so ties always break
/// the same way). The first holder of a group is the one resolution keeps.
fn newest_first(a: &Connection, b: &Connection) -> Ordering {
    b.last_connected_at
        .cmp(&a.last_connected_at)
        .then(b.updated_at.cmp(&a.updated_at))
        .then(a.user.cmp(&b.user))
}

/// A duplicated number and its rows, newest first.
struct Duplicate {
    phone_number: String,
    holders: Vec<Connection>,
}

impl From<Duplicate> for ConflictGroup {
    fn from(duplicate: Duplicate) -> ConflictGroup {
        ConflictGroup {
            phone_number: duplicate.phone_number,
            holders: duplicate
                .holders
                .into_iter()
                .map(|row| ConflictHolder {
                    user: row.user,
                    status: row.status,
                    last_connected_at: row.last_connected_at,
                    node_id: row.node_id,
                    updated_at: row.updated_at,
                })
                .collect(),
        }
    }
}

async fn find(tx: &mut Tx, phone: Option<&PhoneNumber>) -> Result<Vec<Duplicate>, Error> {
    let rows = match phone {
        Some(phone) => {
            tx.fetch_all_locking(
                locking!(concat!(
                    "SELECT ",
                    connection_columns!(),
                    " FROM whatsapp_connections WHERE phone_number = $1 ORDER BY user_key"
                )),
                args![phone.as_str()],
            )
            .await?
        }
        None => {
            tx.fetch_all_locking(
                locking!(concat!(
                    "SELECT ",
                    connection_columns!(),
                    " FROM whatsapp_connections WHERE phone_number IN \
                     (SELECT phone_number FROM shared_numbers) ORDER BY user_key"
                )),
                args![],
            )
            .await?
        }
    };
    let mut rows = rows::into_connections(rows)?;
    rows.sort_by(|a, b| a.phone_number.cmp(&b.phone_number));
    let mut duplicates: Vec<Duplicate> = Vec::new();
    for row in rows {
        let phone_number = row.phone_number.clone().unwrap_or_default();
        match duplicates.last_mut() {
            Some(duplicate) if duplicate.phone_number == phone_number => {
                duplicate.holders.push(row)
            }
            _ => duplicates.push(Duplicate {
                phone_number,
                holders: vec![row],
            }),
        }
    }
    duplicates.retain(|duplicate| duplicate.holders.len() > 1);
    for duplicate in &mut duplicates {
        duplicate.holders.sort_by(newest_first);
    }
    Ok(duplicates)
}

impl Registry {
    /// Phone numbers held by more than one row (any status), each with its holders newest
    /// first.
    pub async fn detect_conflicts(&self) -> Result<Vec<ConflictGroup>, Error> {
        let mut tx = self.db.read().await?;
        let duplicates = find(&mut tx, None).await?;
        tx.commit().await?;
        Ok(duplicates.into_iter().map(ConflictGroup::from).collect())
    }

    /// Keeps the newest holder of each duplicated number (or only of `phone`) and detaches the
    /// number from the others: they become `DISCONNECTED` without a number. Detached holders
    /// that were `CONNECTED` have a live session somewhere that the caller must close. One
    /// transaction, written in bulk (see `change`).
    pub async fn resolve_conflicts(
        &self,
        dry_run: bool,
        phone: Option<&PhoneNumber>,
    ) -> Result<Resolution, Error> {
        let now = self.now();
        let mut tx = self.db.write().await?;
        let duplicates = find(&mut tx, phone).await?;
        let mut resolution = Resolution {
            dry_run,
            resolved: 0,
            disconnected: 0,
            kept: 0,
            actions: Vec::new(),
        };
        let mut changes = Vec::new();
        for duplicate in duplicates {
            let mut holders = duplicate.holders.into_iter();
            let Some(kept) = holders.next() else { continue };
            let reason = format!(
                "conflict resolved: number {} kept by {}",
                duplicate.phone_number, kept.user
            );
            let mut action = ResolveAction {
                phone_number: duplicate.phone_number,
                kept: kept.user,
                detached: Vec::new(),
            };
            for holder in holders {
                action.detached.push(DetachedHolder {
                    user: holder.user.clone(),
                    status: holder.status,
                    node_id: holder.node_id.clone(),
                });
                let after = transitions::cleared(&holder, reason.as_str(), now);
                changes.push(Change::new(holder, after));
            }
            resolution.resolved += 1;
            resolution.kept += 1;
            resolution.disconnected += action.detached.len() as u64;
            resolution.actions.push(action);
        }
        if !dry_run {
            // The detached devices are unlinked after this commits: owed until WhatsApp
            // confirms.
            let released: Vec<Released> = changes
                .iter()
                .filter_map(|change| {
                    Some(Released {
                        user_key: &change.before.user,
                        phone_number: change.before.phone_number.as_deref()?,
                        node_id: change.before.node_id.as_deref(),
                        error: "detached by resolve-conflicts: unlink not confirmed".into(),
                    })
                })
                .collect();
            owe_unlinks(&mut tx, &released, now).await?;
            drop(released);
            self.write_changes(&mut tx, &mut changes).await?;
        }
        tx.commit().await?;
        Ok(resolution)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Status;
    use crate::time::Timestamp;

    fn holder(user: &str, last: Option<i64>, updated: i64) -> Connection {
        Connection {
            user: user.into(),
            status: Status::Disconnected,
            phone_number: Some("573001234567".into()),
            qr_issued_at: None,
            qr_expires_at: None,
            last_connected_at: last.map(Timestamp),
            reconnect_attempts: 0,
            node_id: None,
            reason: String::new(),
            paused_until: None,
            updated_at: Timestamp(updated),
            epoch: 0,
        }
    }

    #[test]
    fn the_latest_connection_wins_and_ties_break_by_key() {
        let mut holders = [
            holder("carol", None, 900),
            holder("bob", Some(500), 100),
            holder("alice", Some(500), 100),
            holder("dave", Some(700), 1),
        ];
        holders.sort_by(newest_first);
        let order: Vec<&str> = holders.iter().map(|h| h.user.as_str()).collect();
        assert_eq!(order, ["dave", "alice", "bob", "carol"]);
    }
}

//! Numbers held by more than one row, and their resolution. Legacy data and manual edits can
//! leave duplicates that the pairing path never creates; these find and fix them.
//!
//! Both walk the `phone_number` index to find duplicated numbers and then read only the rows
//! of those numbers.

use std::cmp::Ordering;

use sqlx::FromRow;

use super::db::{args, locking, Tx};
use super::rows::parse_status;
use super::transitions;
use super::{Error, PhoneNumber, Registry};
use crate::model::{ConflictGroup, ConflictHolder, DetachedHolder, Resolution, ResolveAction};
use crate::time::Timestamp;

#[derive(FromRow)]
struct HolderRow {
    user_key: String,
    phone_number: String,
    status: String,
    last_connected_at: Option<i64>,
    node_id: Option<String>,
    updated_at: i64,
}

/// Newest first: latest connection, then latest change, then user key (so ties always break
/// the same way). The first holder of a group is the one resolution keeps.
fn newest_first(a: &ConflictHolder, b: &ConflictHolder) -> Ordering {
    b.last_connected_at
        .cmp(&a.last_connected_at)
        .then(b.updated_at.cmp(&a.updated_at))
        .then(a.user.cmp(&b.user))
}

async fn find(tx: &mut Tx, phone: Option<&PhoneNumber>) -> Result<Vec<ConflictGroup>, Error> {
    let rows: Vec<HolderRow> = match phone {
        Some(phone) => {
            tx.fetch_all_locking(
                locking!(
                    "SELECT user_key, phone_number, status, last_connected_at, node_id, \
                     updated_at FROM whatsapp_connections WHERE phone_number = $1 \
                     ORDER BY user_key"
                ),
                args![phone.as_str()],
            )
            .await?
        }
        None => {
            tx.fetch_all_locking(
                locking!(
                    "SELECT c.user_key, c.phone_number, c.status, c.last_connected_at, \
                     c.node_id, c.updated_at FROM whatsapp_connections c WHERE c.phone_number IN \
                     (SELECT phone_number FROM whatsapp_connections WHERE phone_number IS NOT NULL \
                     GROUP BY phone_number HAVING COUNT(*) > 1) ORDER BY c.user_key"
                ),
                args![],
            )
            .await?
        }
    };
    let mut groups: Vec<ConflictGroup> = Vec::new();
    let mut sorted = rows;
    sorted.sort_by(|a, b| a.phone_number.cmp(&b.phone_number));
    for row in sorted {
        let holder = ConflictHolder {
            status: parse_status(&row.status)?,
            user: row.user_key,
            last_connected_at: row.last_connected_at.map(Timestamp),
            node_id: row.node_id,
            updated_at: Timestamp(row.updated_at),
        };
        match groups.last_mut() {
            Some(group) if group.phone_number == row.phone_number => group.holders.push(holder),
            _ => groups.push(ConflictGroup {
                phone_number: row.phone_number,
                holders: vec![holder],
            }),
        }
    }
    groups.retain(|group| group.holders.len() > 1);
    for group in &mut groups {
        group.holders.sort_by(newest_first);
    }
    Ok(groups)
}

impl Registry {
    /// Phone numbers held by more than one row (any status), each with its holders newest
    /// first.
    pub async fn detect_conflicts(&self) -> Result<Vec<ConflictGroup>, Error> {
        let mut tx = self.db.read().await?;
        let groups = find(&mut tx, None).await?;
        tx.commit().await?;
        Ok(groups)
    }

    /// Keeps the newest holder of each duplicated number (or only of `phone`) and detaches the
    /// number from the others: they become `DISCONNECTED` without a number. Detached holders
    /// that were `CONNECTED` have a live session somewhere that the caller must close.
    pub async fn resolve_conflicts(
        &self,
        dry_run: bool,
        phone: Option<&PhoneNumber>,
    ) -> Result<Resolution, Error> {
        let now = self.now();
        let mut tx = self.db.write().await?;
        let groups = find(&mut tx, phone).await?;
        let mut resolution = Resolution {
            dry_run,
            resolved: 0,
            disconnected: 0,
            kept: 0,
            actions: Vec::new(),
        };
        for group in groups {
            let mut holders = group.holders.into_iter();
            let Some(kept) = holders.next() else { continue };
            let mut action = ResolveAction {
                phone_number: group.phone_number.clone(),
                kept: kept.user.clone(),
                detached: Vec::new(),
            };
            for holder in holders {
                if !dry_run {
                    let before = super::rows::load_existing(&mut tx, &holder.user).await?;
                    let reason = format!(
                        "conflict resolved: number {} kept by {}",
                        group.phone_number, kept.user
                    );
                    let mut after = transitions::cleared(&before, reason, now);
                    self.write_change(&mut tx, &before, &mut after).await?;
                }
                action.detached.push(DetachedHolder {
                    user: holder.user,
                    status: holder.status,
                    node_id: holder.node_id,
                });
            }
            resolution.resolved += 1;
            resolution.kept += 1;
            resolution.disconnected += action.detached.len() as u64;
            resolution.actions.push(action);
        }
        tx.commit().await?;
        Ok(resolution)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Status;

    fn holder(user: &str, last: Option<i64>, updated: i64) -> ConflictHolder {
        ConflictHolder {
            user: user.into(),
            status: Status::Disconnected,
            last_connected_at: last.map(Timestamp),
            node_id: None,
            updated_at: Timestamp(updated),
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

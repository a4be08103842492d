//! Adopting devices another client linked (`wasess import baileys`): each user's row takes
//! the device's number, and the user its credentials, so the next login needs no QR code.
//! All the adoptions of one import are one transaction: all of them or none.
//!
//! A device is adopted only where it cannot displace anything: the user holds no credentials
//! here, its row has no session or pairing, and any number it has is the device's own.
//!
//! An adopted device may be left for a live node to log in (`adopted_devices`): each node
//! looks at every heartbeat, so the devices come up with the daemon's next start, or at once
//! when one runs. An entry holds the row's epoch: a change since (a new pairing, a reset)
//! makes it moot.

use std::collections::HashSet;

use serde_json::json;

use super::bulk;
use super::change::Change;
use super::credentials::{self, CredentialRows};
use super::db::args;
use super::events::{self, NewEvent};
use super::import::{blank_row, insert_blank, rows_of_keys, USERS_OF_KEYS};
use super::{Error, PhoneNumber, Registry, UserKey};
use crate::model::{Connection, EventKind, Status};

/// One device to adopt.
pub struct Adoption<'a> {
    pub user: &'a UserKey,
    pub phone: &'a PhoneNumber,
    pub credentials: &'a CredentialRows,
    /// Where it came from, for the row's reason and the events.
    pub source: &'a str,
}

impl Registry {
    /// Adopts every device of `adoptions`, or (`dry_run`) checks that it could and writes
    /// nothing. With `log_in`, a live node then logs each device in.
    pub async fn adopt_devices(
        &self,
        adoptions: &[Adoption<'_>],
        dry_run: bool,
        log_in: bool,
    ) -> Result<(), Error> {
        let now = self.now();
        let keys: Vec<&str> = adoptions.iter().map(|a| a.user.as_str()).collect();
        let mut seen = HashSet::new();
        if let Some(twice) = keys.iter().find(|key| !seen.insert(**key)) {
            return Err(Error::InvalidInput(format!(
                "{twice} is given two devices: each user takes one"
            )));
        }
        let mut tx = self.db.write().await?;
        let existing = rows_of_keys(&mut tx, &keys).await?;
        let users: HashSet<String> = tx
            .fetch_all::<(String,)>(
                USERS_OF_KEYS.pick(tx.is_postgres()),
                args![bulk::keys(&keys)],
            )
            .await?
            .into_iter()
            .map(|(user,)| user)
            .collect();
        let mut fresh_users = Vec::new();
        let mut fresh_rows = Vec::new();
        let mut changes = Vec::new();
        for adoption in adoptions {
            let user = adoption.user.as_str();
            let phone = adoption.phone.as_str();
            let before = match existing.get(user) {
                Some(row) if !matches!(row.status, Status::Disconnected | Status::LoggedOut) => {
                    return Err(Error::WrongState(format!(
                        "{user} is {} here: nothing imported (disconnect it first)",
                        row.status
                    )));
                }
                Some(row)
                    if row
                        .phone_number
                        .as_deref()
                        .is_some_and(|held| held != phone) =>
                {
                    return Err(Error::WrongState(format!(
                        "{user} holds number {} here, and the device is linked to {phone}: \
                         nothing imported",
                        row.phone_number.as_deref().unwrap_or_default()
                    )));
                }
                Some(row) => row.clone(),
                None if users.contains(user) => {
                    fresh_rows.push((user, now));
                    blank_row(user, now)
                }
                None => {
                    fresh_users.push((user, now));
                    blank_row(user, now)
                }
            };
            let after = Connection {
                status: Status::Disconnected,
                phone_number: Some(phone.to_string()),
                qr_issued_at: None,
                qr_expires_at: None,
                reconnect_attempts: 0,
                node_id: None,
                reason: format!("device imported from {}", adoption.source),
                paused_until: None,
                updated_at: now,
                ..before.clone()
            };
            changes.push(Change::new(before, after));
        }
        // After the rows' own checks: a row that refuses says why first.
        let holders = credentials::held_by(&mut tx, &keys).await?;
        if let Some(holder) = holders.first() {
            return Err(Error::WrongState(format!(
                "{holder} holds WhatsApp credentials here already: nothing imported \
                 (`wasess reset-sessions --user {holder}` drops them)"
            )));
        }

        if dry_run {
            return Ok(());
        }

        insert_blank(&mut tx, &fresh_rows, &fresh_users).await?;
        for (user, _) in &fresh_users {
            let source = adoptions
                .iter()
                .find(|a| a.user.as_str() == *user)
                .map_or("", |a| a.source);
            let event = NewEvent::new(
                EventKind::User,
                user,
                format!("user imported with its device from {source}"),
                json!({ "action": "imported" }),
            );
            events::append(&mut tx, now, &self.node_id, event);
        }
        self.write_changes(&mut tx, &mut changes).await?;
        // After the rows: the changes must not find a credential set to discard.
        for adoption in adoptions {
            credentials::insert_rows(&mut tx, adoption.user.as_str(), adoption.credentials).await?;
        }
        if log_in {
            for change in &changes {
                tx.execute(
                    "INSERT INTO adopted_devices (user_key, epoch, adopted_at) VALUES ($1, $2, $3)",
                    args![change.after.user.as_str(), change.after.epoch, now.millis()],
                )
                .await?;
            }
        }
        tx.commit().await?;
        Ok(())
    }

    /// Adopted devices waiting to be logged in, oldest first, each with the row's epoch as it
    /// was adopted.
    pub async fn adopted_devices(&self, limit: u32) -> Result<Vec<(UserKey, i64)>, Error> {
        let mut tx = self.db.read().await?;
        let rows: Vec<(String, i64)> = tx
            .fetch_all(
                "SELECT user_key, epoch FROM adopted_devices ORDER BY adopted_at, user_key \
                 LIMIT $1",
                args![i64::from(limit)],
            )
            .await?;
        tx.commit().await?;
        Ok(rows
            .into_iter()
            .filter_map(|(user, epoch)| Some((UserKey::parse(&user).ok()?, epoch)))
            .collect())
    }

    /// Forgets `user`'s adopted device: logged in, or moot.
    pub async fn forget_adopted(&self, user: &UserKey) -> Result<(), Error> {
        let mut tx = self.db.write().await?;
        tx.execute(
            "DELETE FROM adopted_devices WHERE user_key = $1",
            args![user.as_str()],
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }
}

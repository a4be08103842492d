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

use super::bulk::{self, keys_in};
use super::change::Change;
use super::credentials::{self, CredentialRows};
use super::db::{args, Dialect};
use super::import::{blank_row, rows_of_keys, users_of_keys};
use super::{Error, PhoneNumber, Registry, UserKey};
use crate::model::{Connection, Status};

/// One device to adopt.
pub struct Adoption<'a> {
    pub user: &'a UserKey,
    pub phone: &'a PhoneNumber,
    pub credentials: &'a CredentialRows,
    /// Where it came from, for the row's reason and the events.
    pub source: &'a str,
}

/// Leaves each `[user, epoch]` of the JSON array in `$1` for a live node to log in, adopted
/// at `$2`.
const LEAVE_FOR_LOGIN: Dialect = Dialect {
    sqlite: "INSERT INTO adopted_devices (user_key, epoch, adopted_at) \
             SELECT r.value ->> 0, r.value ->> 1, $2 FROM json_each($1) AS r WHERE true \
             ON CONFLICT (user_key) DO UPDATE SET epoch = excluded.epoch, \
             adopted_at = excluded.adopted_at",
    postgres: "INSERT INTO adopted_devices (user_key, epoch, adopted_at) \
               SELECT r.value ->> 0, (r.value ->> 1)::bigint, $2 \
               FROM json_array_elements($1::json) AS r(value) WHERE true \
               ON CONFLICT (user_key) DO UPDATE SET epoch = excluded.epoch, \
               adopted_at = excluded.adopted_at",
};

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
        let mut numbers: Vec<&str> = adoptions.iter().map(|a| a.phone.as_str()).collect();
        numbers.sort_unstable();
        if let Some(pair) = numbers.windows(2).find(|pair| pair[0] == pair[1]) {
            return Err(Error::InvalidInput(format!(
                "two of the devices are linked to +{}: only one can be",
                pair[0]
            )));
        }
        let mut tx = self.db.write().await?;
        // Numbers before rows, the order every writer locks in (PostgreSQL).
        for number in &numbers {
            tx.lock_phone(number).await?;
        }
        let existing = rows_of_keys(&mut tx, &keys).await?;
        // A number live or parked on another user's row is that row's: adopting a device for
        // it would have two sessions claim one number.
        let others: Vec<(String, String, String)> = tx
            .fetch_all(
                keys_in!(
                    "SELECT phone_number, user_key, status FROM whatsapp_connections \
                     WHERE status NOT IN ('DISCONNECTED', 'LOGGED_OUT') AND phone_number"
                )
                .pick(tx.is_postgres()),
                args![bulk::keys(&numbers)],
            )
            .await?;
        if let Some((number, holder, status)) = others
            .iter()
            .find(|(_, holder, _)| !keys.contains(&holder.as_str()))
        {
            return Err(Error::WrongState(format!(
                "+{number} is {status} on {holder} here: nothing imported"
            )));
        }
        let users = users_of_keys(&mut tx, &keys).await?;
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
                // Linked and in use until the old server stopped: the newest holder of its
                // number, which is what `resolve-conflicts` keeps.
                last_connected_at: Some(now),
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

        self.insert_blank(&mut tx, &fresh_rows, &fresh_users, now, |user| {
            let source = adoptions
                .iter()
                .find(|a| a.user.as_str() == user)
                .map_or("", |a| a.source);
            format!("user imported with its device from {source}")
        })
        .await?;
        self.write_changes(&mut tx, &mut changes).await?;
        // After the rows: the changes must not find a credential set to discard.
        let sets: Vec<(&str, &CredentialRows)> = adoptions
            .iter()
            .map(|a| (a.user.as_str(), a.credentials))
            .collect();
        credentials::insert_rows(&mut tx, &sets).await?;
        if log_in {
            let entries: Vec<serde_json::Value> = changes
                .iter()
                .map(|change| serde_json::json!([change.after.user, change.after.epoch]))
                .collect();
            tx.execute_dialect(
                LEAVE_FOR_LOGIN,
                args![serde_json::Value::from(entries).to_string(), now.millis()],
            )
            .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// Takes up to `batch` adopted devices for this node to log in, oldest first: each row
    /// becomes `CONNECTED` here, as a claimed one does, for the supervisor to resume. An entry
    /// whose row moved on since (another epoch, no number or credentials left) is dropped;
    /// one whose number is connected on another row meanwhile is dropped and says so.
    pub async fn claim_adopted(&self, batch: u32) -> Result<Vec<Connection>, Error> {
        let now = self.now();
        let me = self.node_id.clone();
        let mut tx = self.db.write().await?;
        // Entries are read unlocked: the rows are what is locked (numbers first, as every
        // writer does), and a row another node claimed meanwhile has moved to a new epoch.
        let sql =
            "SELECT user_key, epoch FROM adopted_devices ORDER BY adopted_at, user_key LIMIT $1";
        let entries: Vec<(String, i64)> = tx.fetch_all(sql, args![i64::from(batch)]).await?;
        if entries.is_empty() {
            return Ok(Vec::new());
        }
        let keys: Vec<&str> = entries.iter().map(|(user, _)| user.as_str()).collect();
        let mut numbers: Vec<String> = tx
            .fetch_all::<(String,)>(
                keys_in!(
                    "SELECT phone_number FROM whatsapp_connections \
                     WHERE phone_number IS NOT NULL AND user_key"
                )
                .pick(tx.is_postgres()),
                args![bulk::keys(&keys)],
            )
            .await?
            .into_iter()
            .map(|(number,)| number)
            .collect();
        numbers.sort_unstable();
        numbers.dedup();
        for number in &numbers {
            tx.lock_phone(number).await?;
        }
        let rows = rows_of_keys(&mut tx, &keys).await?;
        let holding: HashSet<String> = credentials::held_by(&mut tx, &keys)
            .await?
            .into_iter()
            .collect();
        tx.execute_dialect(
            keys_in!("DELETE FROM adopted_devices WHERE user_key"),
            args![bulk::keys(&keys)],
        )
        .await?;
        let mut claimed = Vec::new();
        for (user, epoch) in &entries {
            let Some(before) = rows.get(user) else {
                continue;
            };
            let Some(number) = before.phone_number.as_deref() else {
                continue;
            };
            if before.epoch != *epoch
                || before.status != Status::Disconnected
                || !holding.contains(user)
            {
                continue;
            }
            let holder: Option<(String,)> = tx
                .fetch_optional(
                    "SELECT user_key FROM whatsapp_connections \
                     WHERE phone_number = $1 AND status = 'CONNECTED' AND user_key <> $2",
                    args![number, user.as_str()],
                )
                .await?;
            let mut after = match holder {
                Some((holder,)) => Connection {
                    reason: format!(
                        "the imported device was not logged in: +{number} is connected on {holder}"
                    ),
                    updated_at: now,
                    ..before.clone()
                },
                None => Connection {
                    status: Status::Connected,
                    node_id: Some(me.clone()),
                    reason: "logging in the imported device".into(),
                    reconnect_attempts: 0,
                    updated_at: now,
                    ..before.clone()
                },
            };
            self.write_change(&mut tx, before, &mut after).await?;
            if after.status == Status::Connected {
                claimed.push(after);
            }
        }
        tx.commit().await?;
        Ok(claimed)
    }
}

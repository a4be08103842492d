//! Tenant users. A user is registered on purpose (`wasess users add`); nothing creates one as a
//! side effect, so a reconnect for a removed user is refused instead of resurrecting it.

use serde_json::json;
use sqlx::FromRow;

use super::db::args;
use super::events::{self, NewEvent};
use super::rows::{self, parse_status};
use super::{Error, Registry, UserKey};
use crate::model::{Connection, EventKind, UserInfo};
use crate::time::Timestamp;

#[derive(FromRow)]
struct UserRow {
    user_key: String,
    created_at: i64,
    status: String,
    phone_number: Option<String>,
}

impl Registry {
    /// Registers `user` with a `DISCONNECTED` connection row.
    pub async fn add_user(&self, user: &UserKey) -> Result<UserInfo, Error> {
        let now = self.now();
        let mut tx = self.db.write().await?;
        let inserted = tx
            .execute(
                "INSERT INTO users (user_key, created_at) VALUES ($1, $2) \
                 ON CONFLICT (user_key) DO NOTHING",
                args![user.as_str(), now.millis()],
            )
            .await?;
        if inserted == 0 {
            return Err(Error::UserExists(user.to_string()));
        }
        tx.execute(
            "INSERT INTO whatsapp_connections (user_key, status, reason, updated_at) \
             VALUES ($1, 'DISCONNECTED', 'user added', $2)",
            args![user.as_str(), now.millis()],
        )
        .await?;
        let event = NewEvent::new(
            EventKind::User,
            user.as_str(),
            "user added",
            json!({ "action": "added" }),
        );
        events::append(&mut tx, now, &self.node_id, event);
        tx.commit().await?;
        Ok(UserInfo {
            user: user.to_string(),
            created_at: now,
            status: crate::model::Status::Disconnected,
            phone_number: None,
        })
    }

    pub async fn users(&self, limit: u32) -> Result<Vec<UserInfo>, Error> {
        let mut tx = self.db.read().await?;
        let found: Vec<UserRow> = tx
            .fetch_all(
                "SELECT u.user_key, u.created_at, c.status, c.phone_number FROM users u \
                 JOIN whatsapp_connections c ON c.user_key = u.user_key \
                 ORDER BY u.user_key LIMIT $1",
                args![i64::from(limit)],
            )
            .await?;
        tx.commit().await?;
        found
            .into_iter()
            .map(|row| {
                Ok(UserInfo {
                    status: parse_status(&row.status)?,
                    user: row.user_key,
                    created_at: Timestamp(row.created_at),
                    phone_number: row.phone_number,
                })
            })
            .collect()
    }

    /// Removes `user`, its connection row and its lock. Returns the row as it was, so the
    /// caller can close its session and delete its credentials.
    pub async fn remove_user(&self, user: &UserKey) -> Result<Connection, Error> {
        let now = self.now();
        let mut tx = self.db.write().await?;
        let before = rows::load_existing(&mut tx, user.as_str()).await?;
        tx.execute(
            "DELETE FROM users WHERE user_key = $1",
            args![user.as_str()],
        )
        .await?;
        let event = NewEvent {
            from_status: Some(before.status),
            ..NewEvent::new(
                EventKind::User,
                user.as_str(),
                "user removed",
                json!({ "action": "removed", "phone_number": before.phone_number }),
            )
        };
        events::append(&mut tx, now, &self.node_id, event);
        tx.commit().await?;
        Ok(before)
    }

    /// Which of `users` still need their credential store on this node: rows this node owns
    /// that are live, pairing, paused, in conflict, or disconnected with their number kept.
    /// Stores of anyone else are orphans.
    pub async fn stores_needed(&self, users: &[String]) -> Result<Vec<String>, Error> {
        let mut tx = self.db.read().await?;
        let mut needed = Vec::new();
        for user in users {
            let found: Option<(i64,)> = tx
                .fetch_optional(
                    "SELECT CAST(1 AS BIGINT) FROM whatsapp_connections WHERE user_key = $1 AND node_id = $2 \
                     AND (status IN ('CONNECTED', 'PENDING_QR', 'CONFLICT', 'PAUSED') \
                     OR (status = 'DISCONNECTED' AND phone_number IS NOT NULL))",
                    args![user.as_str(), self.node_id.as_str()],
                )
                .await?;
            if found.is_some() {
                needed.push(user.clone());
            }
        }
        tx.commit().await?;
        Ok(needed)
    }
}

//! Devices let go of without WhatsApp confirming the unlink. wasess deletes a device's
//! credentials whatever WhatsApp answers, so the record here is all that is left of it: the
//! phone may still list it under Linked devices, and `wasess doctor` names it so an operator
//! can remove it there.

use serde::{Deserialize, Serialize};
use sqlx::FromRow;

use super::db::args;
use super::{Error, Registry};
use crate::time::Timestamp;

/// A device that may still be linked on its phone.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LeftLinked {
    pub user: String,
    pub phone_number: Option<String>,
    pub at: Timestamp,
    pub error: String,
}

#[derive(FromRow)]
struct Row {
    user_key: String,
    phone_number: Option<String>,
    at: i64,
    error: String,
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

    /// Every device that may still be linked, oldest first.
    pub async fn left_linked(&self) -> Result<Vec<LeftLinked>, Error> {
        let rows: Vec<Row> = self
            .db
            .fetch_all(
                "SELECT user_key, phone_number, at, error FROM devices_left_linked \
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
            })
            .collect())
    }
}

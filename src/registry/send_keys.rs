//! Idempotent sends: a client's key is reserved before the message goes out, and completed
//! with the message id in the same transaction as the `message_sent` event. A retry with the
//! same key gets the first message id back instead of a second message. A reservation that was
//! never completed (the daemon died between sending and recording) is *in doubt*: the message
//! may have gone out, so the send is refused rather than repeated.

use super::db::args;
use super::events::{self, NewEvent};
use super::{Error, Registry, UserKey};
use crate::model::EventKind;

/// What became of a key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SendKey {
    /// New: the caller sends, then calls [`Registry::complete_send`] (or
    /// [`Registry::release_send`] when nothing went out).
    Reserved,
    /// Sent already, as this message id.
    Sent(String),
    /// Reserved by an earlier send that never recorded its outcome.
    InDoubt,
}

impl Registry {
    pub async fn reserve_send(&self, user: &UserKey, key: &str) -> Result<SendKey, Error> {
        let mut tx = self.db.write().await?;
        let inserted = tx
            .execute(
                "INSERT INTO send_keys (user_key, key, message_id, created_at) \
                 VALUES ($1, $2, NULL, $3) ON CONFLICT (user_key, key) DO NOTHING",
                args![user.as_str(), key, self.now().millis()],
            )
            .await?;
        let outcome = if inserted > 0 {
            SendKey::Reserved
        } else {
            let (message_id,): (Option<String>,) = tx
                .fetch_one(
                    "SELECT message_id FROM send_keys WHERE user_key = $1 AND key = $2",
                    args![user.as_str(), key],
                )
                .await?;
            message_id.map_or(SendKey::InDoubt, SendKey::Sent)
        };
        tx.commit().await?;
        Ok(outcome)
    }

    /// Nothing went out: the key may be used again.
    pub async fn release_send(&self, user: &UserKey, key: &str) -> Result<(), Error> {
        let mut tx = self.db.write().await?;
        tx.execute(
            "DELETE FROM send_keys WHERE user_key = $1 AND key = $2 AND message_id IS NULL",
            args![user.as_str(), key],
        )
        .await?;
        tx.commit().await
    }

    /// Records a sent message: its `message_sent` event and, with a key, the key's message id,
    /// in one transaction.
    pub async fn complete_send(
        &self,
        user: &UserKey,
        key: Option<&str>,
        message_id: &str,
        data: serde_json::Value,
    ) -> Result<(), Error> {
        let mut tx = self.db.write().await?;
        if let Some(key) = key {
            tx.execute(
                "UPDATE send_keys SET message_id = $3 WHERE user_key = $1 AND key = $2",
                args![user.as_str(), key, message_id],
            )
            .await?;
        }
        events::append(
            &mut tx,
            self.now(),
            &self.node_id,
            NewEvent::new(EventKind::MessageSent, user.as_str(), "message sent", data),
        );
        tx.commit().await
    }
}

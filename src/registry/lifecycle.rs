//! What happens to a live session after pairing: reconnects, drops, replaced streams, logouts,
//! bans, and the operator's own disconnect/logout/reset. Each is a [`Change`] applied to one row
//! in one transaction.

use super::db::{args, locking};
use super::events::{self, NewEvent};
use super::rows::{self, connection_columns};
use super::transitions;
use super::{Error, Registry, UserKey};
use crate::model::{Connection, EventKind, ResetReport, ResetUser, Status};
use crate::time::Timestamp;

/// A change to a live (or once live) connection.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Change {
    /// The session is up (after a resume or a reconnect): attempts reset.
    Connected,
    /// The network dropped; reconnect `attempt` of `max` is under way. Stays `CONNECTED`.
    Reconnecting {
        attempt: u32,
        max: u32,
        reason: String,
    },
    /// Closed, credentials kept (network gave up, operator disconnect, node lost).
    Disconnected { reason: String },
    /// WhatsApp replaced the stream: never reconnect automatically.
    Conflict { reason: String },
    /// The link is gone (logged out, displaced): the number is released.
    LoggedOut { reason: String },
    /// Temporarily banned or client outdated; `until` when WhatsApp said.
    Paused {
        reason: String,
        until: Option<Timestamp>,
    },
}

/// Whose rows a change may touch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    /// Only the row of this session (this node, this epoch): what a session reports must not
    /// touch a row that another session now drives.
    Session(i64),
    /// Any row: operator commands.
    Any,
}

impl Change {
    /// The row after the change, or `None` when the change does not apply to its state.
    fn apply(&self, before: &Connection, node_id: &str, now: Timestamp) -> Option<Connection> {
        let live = matches!(before.status, Status::Connected);
        let mut after = Connection {
            updated_at: now,
            qr_issued_at: None,
            qr_expires_at: None,
            ..before.clone()
        };
        match self {
            Change::Connected => {
                before.phone_number.as_ref()?;
                if matches!(before.status, Status::LoggedOut | Status::PendingQr) {
                    return None;
                }
                // Already up and never dropped (the first `Connected` after a pairing, or a
                // resume): nothing an operator needs to read changes.
                let settled = live && before.reconnect_attempts == 0;
                if !settled {
                    after.reason = if live {
                        "reconnected".into()
                    } else {
                        "connected with stored credentials".into()
                    };
                    after.last_connected_at = Some(now);
                }
                after.status = Status::Connected;
                after.reconnect_attempts = 0;
                after.node_id = Some(node_id.to_string());
                after.paused_until = None;
            }
            Change::Reconnecting {
                attempt,
                max,
                reason,
            } => {
                if !live {
                    return None;
                }
                after.reconnect_attempts = *attempt;
                after.reason = format!("{reason}: reconnecting (attempt {attempt} of {max})");
            }
            Change::Disconnected { reason } => {
                if matches!(before.status, Status::Disconnected | Status::LoggedOut) {
                    return None;
                }
                return Some(super::transitions::disconnected(
                    before,
                    reason.clone(),
                    now,
                ));
            }
            Change::Conflict { reason } => {
                if !live {
                    return None;
                }
                after.status = Status::Conflict;
                after.reconnect_attempts = 0;
                after.reason = reason.clone();
            }
            Change::LoggedOut { reason } => {
                if before.status == Status::LoggedOut && before.phone_number.is_none() {
                    return None;
                }
                after.status = Status::LoggedOut;
                after.phone_number = None;
                after.reconnect_attempts = 0;
                after.paused_until = None;
                after.reason = reason.clone();
            }
            Change::Paused { reason, until } => {
                if !live && before.status != Status::Paused {
                    return None;
                }
                after.status = Status::Paused;
                after.reconnect_attempts = 0;
                after.paused_until = *until;
                after.reason = reason.clone();
            }
        }
        Some(after)
    }
}

impl Registry {
    /// Applies `change` to `user`'s row. `None` when it did not apply (the row is in another
    /// state, or, with [`Scope::Session`], another session drives it): the caller's session is
    /// stale and should be closed.
    pub async fn apply(
        &self,
        user: &UserKey,
        change: Change,
        scope: Scope,
    ) -> Result<Option<Connection>, Error> {
        let now = self.now();
        let mut tx = self.db.write().await?;
        let before = rows::load_existing(&mut tx, user.as_str()).await?;
        if let Scope::Session(epoch) = scope {
            if !Self::fence(&mut tx, user.as_str(), &self.fence_at(epoch)).await? {
                return Ok(None);
            }
        }
        let Some(mut after) = change.apply(&before, &self.node_id, now) else {
            return Ok(None);
        };
        self.write_change(&mut tx, &before, &mut after).await?;
        tx.commit().await?;
        Ok(Some(after))
    }

    /// `reset-sessions`: every targeted row back to a clean `DISCONNECTED` (no number, no QR,
    /// no lock). Returns what each row was, so the caller can close sessions and delete their
    /// credentials.
    pub async fn reset(&self, user: Option<&UserKey>) -> Result<ResetReport, Error> {
        let now = self.now();
        let mut tx = self.db.write().await?;
        let targets = match user {
            Some(user) => vec![rows::load_existing(&mut tx, user.as_str()).await?],
            None => rows::into_connections(
                tx.fetch_all_locking(
                    locking!(concat!(
                        "SELECT ",
                        connection_columns!(),
                        " FROM whatsapp_connections WHERE status <> 'DISCONNECTED' \
                         OR phone_number IS NOT NULL ORDER BY user_key"
                    )),
                    args![],
                )
                .await?,
            )?,
        };
        // Locks first: the row changes below would drop the pending ones on their own.
        let locks_released = match user {
            Some(user) => {
                tx.execute(
                    "DELETE FROM connect_locks WHERE user_key = $1",
                    args![user.as_str()],
                )
                .await?
            }
            None => tx.execute("DELETE FROM connect_locks", args![]).await?,
        };
        let mut users = Vec::new();
        for before in targets {
            let mut after = transitions::cleared(&before, "reset by operator", now);
            self.write_change(&mut tx, &before, &mut after).await?;
            users.push(ResetUser {
                user: before.user,
                previous_status: before.status,
                previous_phone: before.phone_number,
                node_id: before.node_id,
                epoch: after.epoch,
            });
        }
        tx.commit().await?;
        Ok(ResetReport {
            users,
            locks_released,
        })
    }

    /// Records an event a session reports (a message received), if the row is still that
    /// session's (`epoch` on this node). `None`: the session was fenced off, nothing written.
    pub async fn record_session_event(
        &self,
        kind: EventKind,
        user: &UserKey,
        epoch: i64,
        reason: &str,
        data: serde_json::Value,
    ) -> Result<Option<()>, Error> {
        let mut tx = self.db.write().await?;
        if !Self::fence(&mut tx, user.as_str(), &self.fence_at(epoch)).await? {
            return Ok(None);
        }
        events::append(
            &mut tx,
            self.now(),
            &self.node_id,
            NewEvent::new(kind, user.as_str(), reason, data),
        );
        tx.commit().await?;
        Ok(Some(()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(status: Status, phone: Option<&str>) -> Connection {
        Connection {
            user: "alice@example.com".into(),
            status,
            phone_number: phone.map(str::to_string),
            qr_issued_at: None,
            qr_expires_at: None,
            last_connected_at: None,
            reconnect_attempts: 2,
            node_id: Some("n1".into()),
            reason: String::new(),
            paused_until: None,
            updated_at: Timestamp(0),
            epoch: 1,
        }
    }

    #[test]
    fn a_replaced_stream_only_hits_live_rows() {
        let change = Change::Conflict {
            reason: "replaced".into(),
        };
        let after = change
            .apply(
                &row(Status::Connected, Some("573001234567")),
                "n1",
                Timestamp(5),
            )
            .expect("applies");
        assert_eq!(after.status, Status::Conflict);
        assert_eq!(after.phone_number.as_deref(), Some("573001234567"));
        assert!(change
            .apply(&row(Status::Disconnected, None), "n1", Timestamp(5))
            .is_none());
    }

    #[test]
    fn logging_out_releases_the_number() {
        let change = Change::LoggedOut {
            reason: "logged out".into(),
        };
        let after = change
            .apply(
                &row(Status::Connected, Some("573001234567")),
                "n1",
                Timestamp(5),
            )
            .expect("applies");
        assert_eq!(after.status, Status::LoggedOut);
        assert_eq!(after.phone_number, None);
    }

    #[test]
    fn connecting_needs_a_number_and_resets_attempts() {
        assert!(Change::Connected
            .apply(&row(Status::Disconnected, None), "n1", Timestamp(5))
            .is_none());
        let after = Change::Connected
            .apply(
                &row(Status::Connected, Some("573001234567")),
                "n2",
                Timestamp(5),
            )
            .expect("applies");
        assert_eq!(after.reconnect_attempts, 0);
        assert_eq!(after.last_connected_at, Some(Timestamp(5)));
        assert_eq!(after.reason, "reconnected");
        assert_eq!(after.node_id.as_deref(), Some("n2"));
    }
}

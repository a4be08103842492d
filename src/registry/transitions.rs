//! The ways a row goes back to `DISCONNECTED`, each written once and used by every caller, so
//! that every path clears the same fields. What else a change implies (epoch, credentials,
//! the connect lock, the state event) follows from `before → after` in `write_change`.

use crate::model::{Connection, Status};
use crate::time::Timestamp;

/// A pairing ended without a link (expired, cancelled, failed, rejected, or lost with its
/// node): no number, no QR code.
pub(crate) fn pairing_ended(
    before: &Connection,
    reason: impl Into<String>,
    now: Timestamp,
) -> Connection {
    Connection {
        status: Status::Disconnected,
        phone_number: None,
        qr_issued_at: None,
        qr_expires_at: None,
        reason: reason.into(),
        updated_at: now,
        ..before.clone()
    }
}

/// The session stopped but the link stays (operator disconnect, network gave up, stale, a
/// pause that ended): the number and credentials are kept for a later resume. A row that was
/// still pairing had no link: it ends as [`pairing_ended`].
pub(crate) fn disconnected(
    before: &Connection,
    reason: impl Into<String>,
    now: Timestamp,
) -> Connection {
    if before.status == Status::PendingQr {
        return pairing_ended(before, reason, now);
    }
    stopped(before, Status::Disconnected, reason, now)
}

/// The row lets go of everything (a reset, a number detached by conflict resolution): no
/// number, no QR code, no pause, no attempts. A logged-out row stays logged out.
pub(crate) fn cleared(
    before: &Connection,
    reason: impl Into<String>,
    now: Timestamp,
) -> Connection {
    let status = match before.status {
        Status::LoggedOut => Status::LoggedOut,
        _ => Status::Disconnected,
    };
    Connection {
        phone_number: None,
        ..stopped(before, status, reason, now)
    }
}

/// What every stop clears: the QR code, the pause and the reconnect attempts.
fn stopped(
    before: &Connection,
    status: Status,
    reason: impl Into<String>,
    now: Timestamp,
) -> Connection {
    Connection {
        status,
        qr_issued_at: None,
        qr_expires_at: None,
        reconnect_attempts: 0,
        paused_until: None,
        reason: reason.into(),
        updated_at: now,
        ..before.clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(status: Status) -> Connection {
        Connection {
            user: "alice@example.com".into(),
            status,
            phone_number: Some("573001234567".into()),
            qr_issued_at: Some(Timestamp(1)),
            qr_expires_at: Some(Timestamp(2)),
            last_connected_at: Some(Timestamp(3)),
            reconnect_attempts: 2,
            node_id: Some("n1".into()),
            reason: String::new(),
            paused_until: Some(Timestamp(4)),
            updated_at: Timestamp(0),
            epoch: 7,
        }
    }

    #[test]
    fn a_disconnect_keeps_the_link_unless_there_was_none_yet() {
        let now = Timestamp(10);
        let kept = disconnected(&row(Status::Paused), "pause ended", now);
        assert_eq!(kept.status, Status::Disconnected);
        assert_eq!(kept.phone_number.as_deref(), Some("573001234567"));
        assert_eq!((kept.reconnect_attempts, kept.paused_until), (0, None));
        assert_eq!((kept.qr_issued_at, kept.qr_expires_at), (None, None));
        assert_eq!((kept.updated_at, kept.epoch), (now, 7));
        let pairing = disconnected(&row(Status::PendingQr), "cancelled", now);
        assert_eq!(
            pairing,
            pairing_ended(&row(Status::PendingQr), "cancelled", now)
        );
        assert_eq!(pairing.phone_number, None);
    }

    #[test]
    fn clearing_lets_go_of_everything_but_a_logout() {
        let now = Timestamp(10);
        let reset = cleared(&row(Status::Connected), "reset by operator", now);
        assert_eq!(reset.status, Status::Disconnected);
        assert_eq!(reset.phone_number, None);
        assert_eq!((reset.reconnect_attempts, reset.paused_until), (0, None));
        assert_eq!(reset.reason, "reset by operator");
        let logged_out = cleared(&row(Status::LoggedOut), "conflict resolved", now);
        assert_eq!(logged_out.status, Status::LoggedOut);
    }
}

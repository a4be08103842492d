//! What backends report, dispatched by phase: pairing events to `pairing`, session events to
//! `live`; an event of another generation is stale and ignored.
//!
//! Each session reports into a bounded queue of its own, drained in order by its own worker
//! task, so one session's slow work (a close that hangs, a registry write that waits) never
//! delays another user's QR code or pairing. A full queue makes that session wait (see
//! [`EventSender`]): memory stays bounded while the registry is slow, and nothing is dropped.
//! The worker ends when the session's last sender is gone, after the last event.

use crate::backend::EventSender;

use super::*;

/// Events one session may have waiting for the registry before it has to wait itself.
const SESSION_QUEUE: usize = 256;

impl Supervisor {
    /// A new session's event sender, with the worker that writes its events.
    pub(super) fn session_events(self: &Arc<Self>, user: &UserKey) -> EventSender {
        let (queue, mut inbox) = mpsc::channel::<crate::backend::QueuedEvent>(SESSION_QUEUE);
        let supervisor = self.clone();
        tokio::spawn(async move {
            while let Some((queued_at, event)) = inbox.recv().await {
                supervisor.event_load.queued.fetch_sub(1, Ordering::SeqCst);
                crate::metrics::counters().event_dequeued(queued_at.elapsed());
                supervisor.handle(event).await;
            }
        });
        EventSender::new(user.clone(), queue, self.event_load.clone())
    }

    /// Events waiting to be written, and sessions waiting for room in their queue.
    pub fn event_backlog(&self) -> (u64, u64) {
        (
            self.event_load.queued.load(Ordering::SeqCst),
            self.event_load.sessions_held_back.load(Ordering::SeqCst),
        )
    }

    pub(super) async fn handle(self: &Arc<Self>, event: BackendEvent) {
        let BackendEvent {
            user,
            generation,
            kind,
        } = event;
        let (session, pairing) = {
            let sessions = self.sessions();
            match sessions.get(&user) {
                Some(entry) if entry.generation == generation => (
                    entry.session.clone(),
                    match &entry.phase {
                        Phase::Pairing { owner, updates } => Some((owner.clone(), updates.clone())),
                        _ => None,
                    },
                ),
                _ => {
                    debug!(%user, generation, ?kind, "stale backend event ignored");
                    return;
                }
            }
        };
        debug!(%user, generation, ?kind, "backend event");
        match (kind, pairing) {
            (EventKind::Qr { code, valid_for }, Some((owner, updates))) => {
                self.show_code(&user, generation, &owner, &updates, &code, valid_for, false)
                    .await
            }
            (EventKind::PairCode { code, valid_for }, Some((owner, updates))) => {
                self.show_code(&user, generation, &owner, &updates, &code, valid_for, true)
                    .await
            }
            (EventKind::QrExhausted, Some(_)) => {
                self.finish_pairing(&user, generation, PairingEnd::Expired)
                    .await
            }
            (EventKind::PairFailed { reason }, Some(_))
            | (EventKind::ConnectFailed { reason }, Some(_))
            | (EventKind::LoggedOut { reason }, Some(_)) => {
                self.finish_pairing(&user, generation, PairingEnd::Failed(reason))
                    .await
            }
            (EventKind::Paired { phone }, Some((owner, updates))) => {
                self.paired(&user, generation, &owner, &updates, &phone, session)
                    .await
            }
            (EventKind::Connected, None) => self.connected(&user, generation, session).await,
            (EventKind::NetworkLost { reason }, None)
            | (EventKind::ConnectFailed { reason }, None) => {
                self.network_lost(&user, generation, reason)
            }
            (EventKind::Replaced, None) => {
                crate::metrics::counters().streams_replaced.inc();
                let reason = "stream replaced: another client uses these credentials; \
                              not reconnecting";
                self.end_session(
                    &user,
                    generation,
                    Change::Conflict {
                        reason: reason.into(),
                    },
                )
                .await
            }
            (EventKind::LoggedOut { reason }, None) => {
                let change = Change::LoggedOut {
                    reason: format!("logged out by WhatsApp: {reason}"),
                };
                self.end_session(&user, generation, change).await
            }
            (EventKind::TemporaryBan { code, until }, None) => {
                let change = Change::Paused {
                    reason: format!("temporarily banned by WhatsApp (code {code})"),
                    until,
                };
                self.end_session(&user, generation, change).await
            }
            (EventKind::ClientOutdated, Some(_)) => {
                let reason = "client outdated: WhatsApp refuses this version".to_string();
                self.finish_pairing(&user, generation, PairingEnd::Failed(reason))
                    .await
            }
            (EventKind::ClientOutdated, None) => {
                let change = Change::Paused {
                    reason: "client outdated: WhatsApp refuses this version; update wasess".into(),
                    until: None,
                };
                self.end_session(&user, generation, change).await
            }
            (EventKind::TemporaryBan { code, .. }, Some(_)) => {
                let reason = format!("temporarily banned by WhatsApp (code {code})");
                self.finish_pairing(&user, generation, PairingEnd::Failed(reason))
                    .await
            }
            (EventKind::Replaced, Some(_)) => {
                let reason = "stream replaced during pairing".to_string();
                self.finish_pairing(&user, generation, PairingEnd::Failed(reason))
                    .await
            }
            (EventKind::Message(message), _) => {
                let data = serde_json::to_value(&message).unwrap_or_default();
                self.record_message(&user, generation, data).await
            }
            (kind, _) => debug!(%user, ?kind, "event does not apply in this phase"),
        }
    }
}

impl Supervisor {
    /// Records an incoming message; see `persist` for why it is tried until it lands. Ends
    /// without a record only when the session is no longer this node's (fenced) or no longer
    /// runs here.
    async fn record_message(&self, user: &UserKey, generation: u64, data: serde_json::Value) {
        let recorded = self
            .until_written(user, generation, "an incoming message", |epoch| {
                self.registry.record_session_event(
                    OutboxKind::Message,
                    user,
                    epoch,
                    "message received",
                    data.clone(),
                )
            })
            .await;
        match recorded {
            Some(Some(())) => self.changed(),
            Some(None) => self.fenced(user, generation).await,
            None => warn!(%user, "a message arrived for a session that ended: not recorded"),
        }
    }
}

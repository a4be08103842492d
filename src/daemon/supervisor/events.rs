//! What backends report, dispatched by phase: pairing events to `pairing`, session events to
//! `live`; an event of another generation is stale and ignored.

use super::*;

impl Supervisor {
    /// Handles backend events in order until every sender is gone.
    pub async fn run_events(self: Arc<Self>, mut events: mpsc::UnboundedReceiver<BackendEvent>) {
        while let Some(event) = events.recv().await {
            self.handle(event).await;
        }
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
                let Some(epoch) = self.epoch_of(&user, generation) else {
                    return;
                };
                let data = serde_json::to_value(&message).unwrap_or_default();
                match self
                    .registry
                    .record_session_event(
                        OutboxKind::Message,
                        &user,
                        epoch,
                        "message received",
                        data,
                    )
                    .await
                {
                    Ok(Some(_)) => self.changed(),
                    Ok(None) => self.fenced(&user, generation).await,
                    Err(error) => warn!(%user, %error, "cannot record an incoming message"),
                }
            }
            (kind, _) => debug!(%user, ?kind, "event does not apply in this phase"),
        }
    }
}

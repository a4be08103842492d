//! What backends report, dispatched by phase: pairing events to `pairing`, session events to
//! `live`; an event of another generation is stale and ignored.
//!
//! Each user's events are handled in order by that user's own worker task, so one session's
//! slow work (a close that hangs, a registry write that waits) never delays another user's QR
//! code or pairing. A worker lives while it has events to handle; the dispatcher retires idle
//! ones, and only it sends to them, so no event is ever left in a retired worker's queue.

use std::sync::atomic::AtomicUsize;

use super::*;

/// How often idle workers are retired.
const RETIRE_EVERY: Duration = Duration::from_secs(5);

/// One user's worker, as the dispatcher sees it.
struct Worker {
    queue: mpsc::UnboundedSender<BackendEvent>,
    /// Events sent to it and not handled yet.
    pending: Arc<AtomicUsize>,
}

impl Supervisor {
    /// Hands every backend event to its user's worker until every sender is gone.
    pub async fn run_events(self: Arc<Self>, mut events: mpsc::UnboundedReceiver<BackendEvent>) {
        let mut workers: HashMap<UserKey, Worker> = HashMap::new();
        let mut retire = tokio::time::interval(RETIRE_EVERY);
        loop {
            let event = tokio::select! {
                event = events.recv() => match event {
                    Some(event) => event,
                    None => return,
                },
                _ = retire.tick() => {
                    workers.retain(|_, worker| worker.pending.load(Ordering::SeqCst) > 0);
                    continue;
                }
            };
            let worker = workers
                .entry(event.user.clone())
                .or_insert_with(|| self.clone().spawn_worker());
            worker.pending.fetch_add(1, Ordering::SeqCst);
            if let Err(lost) = worker.queue.send(event) {
                // The worker died (a panic): the user gets a new one.
                warn!(user = %lost.0.user, "an event worker ended early; starting another");
                let worker = self.clone().spawn_worker();
                worker.pending.fetch_add(1, Ordering::SeqCst);
                let user = lost.0.user.clone();
                let _ = worker.queue.send(lost.0);
                workers.insert(user, worker);
            }
        }
    }

    fn spawn_worker(self: Arc<Self>) -> Worker {
        let (queue, mut inbox) = mpsc::unbounded_channel::<BackendEvent>();
        let pending = Arc::new(AtomicUsize::new(0));
        let counted = pending.clone();
        tokio::spawn(async move {
            while let Some(event) = inbox.recv().await {
                self.handle(event).await;
                counted.fetch_sub(1, Ordering::SeqCst);
            }
        });
        Worker { queue, pending }
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
            Some(Some(_)) => self.changed(),
            Some(None) => self.fenced(user, generation).await,
            None => warn!(%user, "a message arrived for a session that ended: not recorded"),
        }
    }
}

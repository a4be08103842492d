//! Live sessions: reconnects with a cap, the end of a session, resumes after a restart, and
//! sessions the registry (or another node) moved on without us.

use super::*;

/// How many events of other nodes one reconcile pass reads at most.
const RECONCILE_BATCH: u32 = 2_000;

impl Supervisor {
    /// The epoch `generation`'s session writes under, while it is the user's session here.
    pub(super) fn epoch_of(&self, user: &UserKey, generation: u64) -> Option<i64> {
        self.sessions()
            .get(user)
            .filter(|entry| entry.generation == generation)
            .map(|entry| entry.epoch)
    }

    pub(super) async fn connected(
        &self,
        user: &UserKey,
        generation: u64,
        session: Option<Arc<dyn Session>>,
    ) {
        let written = self
            .until_written(user, generation, "a connection", |epoch| {
                self.registry
                    .apply(user, Change::Connected, Scope::Session(epoch))
            })
            .await;
        match written {
            Some(Some(_)) => {
                self.changed();
                if let Some(entry) = self.sessions().get_mut(user) {
                    if entry.generation == generation {
                        entry.phase = Phase::Live;
                    }
                }
            }
            Some(None) => {
                drop(session);
                self.stale(user, generation).await;
            }
            None => {}
        }
    }

    /// Reconnect with back-off, at most `max_reconnect_attempts` times, then give up.
    pub(super) fn network_lost(self: &Arc<Self>, user: &UserKey, generation: u64, reason: String) {
        {
            let mut sessions = self.sessions();
            match sessions.get_mut(user) {
                Some(entry) if entry.generation == generation => {
                    if matches!(entry.phase, Phase::Reconnecting) {
                        return;
                    }
                    entry.phase = Phase::Reconnecting;
                }
                _ => return,
            }
        }
        let supervisor = self.clone();
        let user = user.clone();
        tokio::spawn(async move {
            supervisor.reconnect_loop(&user, generation, reason).await;
        });
    }

    pub(super) async fn reconnect_loop(&self, user: &UserKey, generation: u64, mut reason: String) {
        let settings = self.settings();
        let max = settings.max_reconnect_attempts;
        let Some(epoch) = self.epoch_of(user, generation) else {
            return;
        };
        for attempt in 1..=max {
            let change = Change::Reconnecting {
                attempt,
                max,
                reason: reason.clone(),
            };
            match self
                .registry
                .apply(user, change, Scope::Session(epoch))
                .await
            {
                Ok(Some(_)) => self.changed(),
                Ok(None) => return self.stale(user, generation).await,
                Err(error) => warn!(%user, %error, "cannot record a reconnect attempt"),
            }
            crate::metrics::counters().reconnect_attempts.inc();
            let backoff = settings.reconnect_backoff * 2u32.saturating_pow(attempt - 1);
            tokio::time::sleep(backoff).await;
            self.logins.wait(settings.resume_rate).await;
            let Some(session) = self.session_of(user, generation) else {
                return;
            };
            match session.reconnect().await {
                Ok(()) => return self.connected(user, generation, Some(session)).await,
                Err(error) => {
                    info!(%user, attempt, %error, "reconnect failed");
                    reason = error.to_string();
                }
            }
        }
        crate::metrics::counters().reconnect_give_ups.inc();
        let change = Change::Disconnected {
            reason: format!("network lost: gave up after {max} reconnect attempts ({reason})"),
        };
        self.end_session(user, generation, change).await;
    }

    pub(super) fn session_of(&self, user: &UserKey, generation: u64) -> Option<Arc<dyn Session>> {
        self.sessions()
            .get(user)
            .filter(|entry| entry.generation == generation)
            .and_then(|entry| entry.session.clone())
    }

    /// Closes `generation`'s session, set aside meanwhile: the client still counts as the
    /// device's until it is closed (see `unlinks`).
    pub(super) async fn drop_session(&self, user: &UserKey, generation: u64) {
        if let Some((ticket, session)) = self.set_aside(user, Some(generation), None) {
            session.close().await;
            self.unlinking.end(ticket);
        }
    }

    /// Closes `generation`'s session for good and records why, if the row is still this
    /// session's: a session another node took over ends here without a word in the registry
    /// (that is fencing, not a `CONFLICT`). The change deletes credentials it makes useless.
    pub(super) async fn end_session(&self, user: &UserKey, generation: u64, change: Change) {
        let Some(epoch) = self.epoch_of(user, generation) else {
            return;
        };
        self.drop_session(user, generation).await;
        match self
            .registry
            .apply(user, change, Scope::Session(epoch))
            .await
        {
            Ok(Some(_)) => self.changed(),
            Ok(None) => info!(%user, "the session had moved on: ended here without a change"),
            Err(error) => warn!(%user, %error, "cannot record the end of a session"),
        }
    }

    /// Logs in again with the stored credentials: the row becomes this node's at a new epoch
    /// first, so a session still running elsewhere is fenced off before this one starts.
    pub async fn resume(self: &Arc<Self>, user: &UserKey) -> Result<(), Error> {
        let row = self.registry.connection(user).await?;
        self.resume_at(user, row.epoch).await
    }

    /// [`Self::resume`] for a row last seen at `epoch`; refused when it moved on since.
    pub(super) async fn resume_at(
        self: &Arc<Self>,
        user: &UserKey,
        epoch: i64,
    ) -> Result<(), Error> {
        self.check_accepting()?;
        if self.sessions().contains_key(user) {
            return Err(Error::refused(format!("{user} already has a session here")));
        }
        if !self.registry.has_credentials(user).await? {
            return Err(Error::NotFound(format!("{user} has no stored credentials")));
        }
        self.logins.wait(self.settings().resume_rate).await;
        self.check_accepting()?;
        let Some(row) = self.registry.take_ownership(user, epoch).await? else {
            return Err(Error::refused(format!(
                "{user}'s session changed meanwhile: not resumed"
            )));
        };
        let generation = self.next_generation();
        {
            let mut sessions = self.sessions();
            if sessions.contains_key(user) {
                return Err(Error::refused(format!("{user} already has a session here")));
            }
            // Checked again under the lock fencing empties the map with: a node that fenced
            // itself while the row was being taken starts nothing (it resumes the row when it
            // is back).
            self.check_accepting()?;
            sessions.insert(
                user.clone(),
                Entry {
                    generation,
                    epoch: row.epoch,
                    session: None,
                    phase: Phase::Live,
                },
            );
        }
        let request = StartRequest {
            user: user.clone(),
            credentials: self.credentials(user, generation, row.epoch),
            mode: StartMode::Resume,
            generation,
            events: self.session_events(user),
        };
        match tokio::time::timeout(START_TIMEOUT, self.backend.start(request)).await {
            Ok(Ok(session)) => {
                if let Some(entry) = self.sessions().get_mut(user) {
                    if entry.generation == generation {
                        entry.session = Some(session);
                        return Ok(());
                    }
                }
                // A fencing emptied the map meanwhile, or another session took the user.
                session.abort().await;
                Ok(())
            }
            Ok(Err(error)) => {
                self.take(user, generation);
                Err(error.into())
            }
            Err(_) => {
                self.take(user, generation);
                Err(backend::Error::Unreachable("timed out resuming the session".into()).into())
            }
        }
    }

    /// Resumes every `CONNECTED` row this node owns (after a restart, or when a fenced node
    /// reaches the registry again), at `resume_rate`; rows without credentials become
    /// `DISCONNECTED`.
    pub async fn resume_all(self: Arc<Self>) {
        let rows = match self.owned_rows_without_session().await {
            Ok(rows) => rows,
            Err(error) => return warn!(%error, "cannot list sessions to resume"),
        };
        if rows.is_empty() {
            return;
        }
        info!(sessions = rows.len(), "resuming sessions");
        let _ = self.resume_rows(rows).await;
    }

    /// Logs in devices adopted from another client's files (`import baileys`): one
    /// heartbeat's worth, claimed in the registry (see `Registry::claim_adopted`) and resumed
    /// as claimed sessions are.
    pub async fn log_in_adopted(self: Arc<Self>) {
        match self.registry.claim_adopted(self.resume_batch()).await {
            Ok(rows) if rows.is_empty() => {}
            Ok(rows) => {
                info!(devices = rows.len(), "logging in imported devices");
                self.outbox().notify_waiters();
                self.resume_rows(rows);
            }
            Err(error) => warn!(%error, "cannot claim the imported devices to log in"),
        }
    }

    /// One heartbeat's worth of logins at `resume_rate`.
    pub fn resume_batch(&self) -> u32 {
        let settings = self.settings();
        (settings.resume_rate as f64 * settings.heartbeat_interval.as_secs_f64())
            .ceil()
            .max(1.0) as u32
    }

    /// Closes a session the registry no longer backs (`row` as it is now): unlinked when its
    /// number was released (the change that released it owes that unlink, see `unlinks`),
    /// closed otherwise: another node may be driving it now.
    pub(super) async fn abandon(&self, user: &UserKey, generation: u64, row: Option<&Connection>) {
        let released = row.is_none_or(|row| row.phone_number.is_none());
        if released {
            if let Some(unlink) = self.set_aside(user, Some(generation), None) {
                Self::unlink_owed(&self.registry, &self.unlinking, unlink, user, None).await;
            }
        } else {
            self.drop_session(user, generation).await;
        }
    }

    /// The registry refused a change to `user`'s session: it moved on without us. A device
    /// whose number was released is unlinked; one that cannot be told (the registry does not
    /// answer) is only closed: a read error must never log a user out.
    pub(super) async fn stale(&self, user: &UserKey, generation: u64) {
        info!(%user, "the registry no longer backs this session: closing it");
        match self.registry.connection(user).await {
            Ok(row) => self.abandon(user, generation, Some(&row)).await,
            Err(registry::Error::UnknownUser(_)) => self.abandon(user, generation, None).await,
            Err(error) => {
                warn!(%user, %error, "cannot read the row: closing the session without a logout");
                self.drop_session(user, generation).await;
            }
        }
    }

    /// Applies what other nodes changed to this node's sessions, reading the outbox after
    /// `after`: a session whose row another node moved on (displaced by a newer pairing, reset,
    /// disconnected from elsewhere, taken over after this node was thought lost) is closed
    /// here, and logged out and forgotten when its number was released. Returns the id to go
    /// on from, and whether more changes wait already.
    pub async fn reconcile(&self, after: i64) -> Result<(i64, bool), Error> {
        let me = self.registry.node_id().to_string();
        let (touched, last, more) = self
            .registry
            .changed_by_others(after, RECONCILE_BATCH)
            .await?;
        for name in touched {
            let Ok(user) = UserKey::parse(&name) else {
                continue;
            };
            let Some((generation, pairing)) = self.phase_of(&user) else {
                continue;
            };
            let row = match self.registry.connection(&user).await {
                Ok(row) => Some(row),
                Err(registry::Error::UnknownUser(_)) => None,
                Err(error) => return Err(error.into()),
            };
            let still_ours = row.as_ref().is_some_and(|row| {
                row.node_id.as_deref() == Some(me.as_str())
                    && matches!(
                        (row.status, pairing),
                        (Status::Connected, false) | (Status::PendingQr, true)
                    )
            });
            if still_ours {
                continue;
            }
            info!(%user, "another node changed this session's row: closing it here");
            if pairing {
                self.cancel(&user, generation).await;
            } else {
                self.abandon(&user, generation, row.as_ref()).await;
            }
        }
        Ok((last, more))
    }
}

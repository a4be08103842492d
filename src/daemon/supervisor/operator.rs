//! The operator's commands on sessions: disconnect, logout, reset, resolve, remove, cleanup,
//! send, and the graceful stop.

use super::*;

/// How long a row must have been left alone, and the node undisturbed, before a missing
/// session counts as stale.
const STALE_AFTER: Duration = Duration::from_secs(60);

impl Supervisor {
    /// Closes `user`'s session (a pairing is cancelled), keeping credentials.
    pub async fn disconnect(&self, user: &UserKey) -> Result<Connection, Error> {
        if let Some((generation, pairing)) = self.phase_of(user) {
            if pairing {
                self.cancel(user, generation).await;
                return Ok(self.registry.connection(user).await?);
            }
            self.drop_session(user, generation).await;
        }
        let change = Change::Disconnected {
            reason: "disconnected by operator".into(),
        };
        let applied = self.registry.apply(user, change, Scope::Any).await?;
        self.changed();
        match applied {
            Some(row) => Ok(row),
            None => {
                let row = self.registry.connection(user).await?;
                Err(Error::refused(format!(
                    "{user} is not connected ({})",
                    row.status
                )))
            }
        }
    }

    /// Unlinks `user`'s device, deletes its credentials and releases its number. With no
    /// session here, a device whose credentials are stored (and that runs nowhere else) is
    /// logged in once to unlink it: forgetting it would leave it on the phone's list.
    pub async fn logout(self: &Arc<Self>, user: &UserKey) -> Result<Connection, Error> {
        let mut unlink_error = None;
        if let Some((generation, pairing)) = self.phase_of(user) {
            if pairing {
                self.cancel(user, generation).await;
            } else if let Some(entry) = self.take(user, generation) {
                if let Some(session) = entry.session {
                    unlink_error = session.logout().await.err().map(|error| error.to_string());
                }
            }
        } else if self.stored_link_runs_nowhere(user).await? {
            unlink_error = self
                .unlink_stored(user)
                .await
                .err()
                .map(|error| error.to_string());
        }
        // The number goes with the logout; a device left linked is named by it.
        let phone = match &unlink_error {
            Some(_) => self.registry.connection(user).await?.phone_number,
            None => None,
        };
        let change = Change::LoggedOut {
            reason: "logged out by operator".into(),
        };
        self.registry.apply(user, change, Scope::Any).await?;
        self.changed();
        if let Some(error) = unlink_error {
            // Logged out here all the same (credentials gone), but the phone may still list
            // the device, and it costs the tenant one of its linked-device slots: say so.
            Self::left_linked(&self.registry, user, phone.as_deref(), &error).await;
            return Err(Error::NotUnlinked(format!(
                "{user} is logged out here, but the device may still be linked ({error}): \
                 remove it on the phone (WhatsApp > Linked devices)"
            )));
        }
        Ok(self.registry.connection(user).await?)
    }

    /// Whether `user` is disconnected with its link kept: stored credentials and no session
    /// anywhere. A session on another node is that node's to unlink once the row is logged
    /// out; a row in CONFLICT has its credentials in use by another client, which a login
    /// would only fight.
    async fn stored_link_runs_nowhere(&self, user: &UserKey) -> Result<bool, Error> {
        let row = self.registry.connection(user).await?;
        Ok(row.status == Status::Disconnected
            && row.phone_number.is_some()
            && self.registry.has_credentials(user).await?)
    }

    /// Logs in with `user`'s stored credentials (a paced resume, owned by this node) and
    /// unlinks the device as soon as the session is up.
    async fn unlink_stored(self: &Arc<Self>, user: &UserKey) -> Result<(), Error> {
        self.resume(user).await?;
        let deadline = tokio::time::Instant::now() + START_TIMEOUT;
        let session = loop {
            let up = match self.sessions().get(user) {
                Some(entry) if matches!(entry.phase, Phase::Live) => entry
                    .session
                    .clone()
                    .map(|session| (entry.generation, session)),
                Some(_) => None,
                None => return Err(Error::refused("the login to unlink the device failed")),
            };
            if let Some((generation, session)) = up {
                let connected = self.registry.connection(user).await?;
                if connected.status == Status::Connected
                    && connected.node_id.as_deref() == Some(self.registry.node_id())
                {
                    self.take(user, generation);
                    break session;
                }
            }
            if tokio::time::Instant::now() >= deadline {
                if let Some((generation, _)) = self.phase_of(user) {
                    if let Some(entry) = self.take(user, generation) {
                        if let Some(session) = entry.session {
                            session.close().await;
                        }
                    }
                }
                return Err(Error::refused(
                    "no login with the stored credentials in time to unlink the device",
                ));
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        };
        Ok(session.logout().await?)
    }

    pub(super) fn phase_of(&self, user: &UserKey) -> Option<(u64, bool)> {
        self.phase_up_to(user, i64::MAX)
    }

    /// [`Self::phase_of`] for a session that started at `epoch` or before.
    fn phase_up_to(&self, user: &UserKey, epoch: i64) -> Option<(u64, bool)> {
        self.sessions()
            .get(user)
            .filter(|entry| entry.epoch <= epoch)
            .map(|entry| {
                (
                    entry.generation,
                    matches!(entry.phase, Phase::Pairing { .. }),
                )
            })
    }

    /// Stops whatever runs here for `user`, unlinking a live device when `unlink`.
    pub(super) async fn stop(&self, user: &UserKey, unlink: bool) {
        self.stop_up_to(user, i64::MAX, unlink).await;
    }

    /// [`Self::stop`] for a session that started at `epoch` or before: one that started
    /// after it (a pairing begun after a reset) is not this stop's to end.
    async fn stop_up_to(&self, user: &UserKey, epoch: i64, unlink: bool) {
        let Some((generation, pairing)) = self.phase_up_to(user, epoch) else {
            return;
        };
        if pairing {
            return self.cancel(user, generation).await;
        }
        if let Some(entry) = self.take(user, generation) {
            if let Some(session) = entry.session {
                if unlink {
                    Self::unlink(&self.registry, user, None, session.as_ref()).await;
                } else {
                    session.close().await;
                }
            }
        }
    }

    pub async fn reset(&self, user: Option<&UserKey>) -> Result<ResetReport, Error> {
        if let Some(user) = user {
            self.stop(user, true).await;
        } else {
            let users: Vec<UserKey> = self.sessions().keys().cloned().collect();
            for user in users {
                self.stop(&user, true).await;
            }
        }
        let report = self.registry.reset(user).await?;
        // Sessions that started before the reset reached their row; a pairing begun since
        // has a newer epoch and stays.
        for reset in &report.users {
            if let Ok(user) = UserKey::parse(&reset.user) {
                self.stop_up_to(&user, reset.epoch, true).await;
            }
        }
        self.changed();
        Ok(report)
    }

    pub async fn resolve_conflicts(
        &self,
        dry_run: bool,
        phone: Option<&PhoneNumber>,
    ) -> Result<Resolution, Error> {
        let resolution = self.registry.resolve_conflicts(dry_run, phone).await?;
        if !dry_run {
            for action in &resolution.actions {
                for holder in &action.detached {
                    self.displace(holder, &action.phone_number);
                }
            }
            self.changed();
        }
        Ok(resolution)
    }

    pub async fn remove_user(&self, user: &UserKey) -> Result<Connection, Error> {
        self.stop(user, true).await;
        let before = self.registry.remove_user(user).await?;
        self.changed();
        Ok(before)
    }

    /// One cleanup pass: the registry's, then this node's sessions and stores to match.
    pub async fn cleanup(&self, dry_run: bool) -> Result<CleanupReport, Error> {
        // Rows changed shortly before the list below are in motion (claimed, resumed): not
        // judged by it.
        let changed_before = self.registry.now().minus(STALE_AFTER);
        let (live, pairing) = self.local_users();
        // A fenced, draining or stopping node's rows are in motion, and so are a node's rows
        // right after it started or came back from a fencing: missing sessions are not stale.
        let settled = !self.membership.is_fenced()
            && !self.membership.is_draining()
            && !self.membership.is_stopping()
            && self.membership.steady_for(STALE_AFTER);
        let scope = CleanupScope {
            live_sessions: settled.then(|| live.clone()),
            changed_before: Some(changed_before),
            pairing: pairing.clone(),
            webhook_endpoints: Some(
                self.settings()
                    .webhooks
                    .iter()
                    .map(|webhook| webhook.name.clone())
                    .collect(),
            ),
        };
        let mut report = self.registry.cleanup(&scope, dry_run).await?;
        if !dry_run {
            for name in &report.users {
                if let Ok(user) = UserKey::parse(name) {
                    if !pairing.contains(name) {
                        self.stop(&user, false).await;
                    }
                }
            }
        }
        report.orphan_stores = self.registry.orphan_credentials(dry_run).await?.len() as u64;
        if !dry_run {
            self.changed();
        }
        Ok(report)
    }

    /// Sends a text through `user`'s own live session.
    /// Sends `text` through `user`'s live session here. With a `key`, a repeated send returns
    /// the first message id (and `true`) instead of sending again; see `registry::send_keys`.
    pub async fn send(
        &self,
        user: &UserKey,
        to: &PhoneNumber,
        text: &str,
        key: Option<&str>,
    ) -> Result<(String, bool), Error> {
        let row = self.registry.connection(user).await?;
        if row.status != Status::Connected {
            return Err(Error::Refused {
                message: format!("{user} is not connected ({}): nothing sent", row.status),
                reason_code: Some("not_connected".into()),
            });
        }
        let session = {
            let sessions = self.sessions();
            sessions
                .get(user)
                .filter(|entry| matches!(entry.phase, Phase::Live))
                .and_then(|entry| entry.session.clone())
        };
        let Some(session) = session else {
            return Err(Error::Refused {
                message: format!("{user} has no live session on this node: nothing sent"),
                reason_code: Some("not_connected".into()),
            });
        };
        if let Some(key) = key {
            match self.registry.reserve_send(user, key).await? {
                registry::SendKey::Reserved => {}
                registry::SendKey::Sent(message_id) => return Ok((message_id, true)),
                registry::SendKey::InDoubt => {
                    return Err(Error::Refused {
                        message: format!(
                            "an earlier send with key '{key}' may have gone out but was never \
                             recorded: not sent again (check with the recipient)"
                        ),
                        reason_code: Some("send_in_doubt".into()),
                    })
                }
            }
        }
        let message_id = match session.send_text(to, text).await {
            Ok(message_id) => message_id,
            Err(error) => {
                // Only a refusal before anything was written frees the key; any other failure
                // may have happened after the message went out, so the key stays in doubt.
                let nothing_sent = matches!(error, backend::Error::NotReady(_));
                if let Some(key) = key.filter(|_| nothing_sent) {
                    if let Err(release) = self.registry.release_send(user, key).await {
                        warn!(%user, %release, "cannot free the idempotency key of a failed send");
                    }
                }
                return Err(error.into());
            }
        };
        let data = json!({ "to": to, "message_id": message_id, "text": text });
        self.registry
            .complete_send(user, key, &message_id, data)
            .await?;
        self.changed();
        Ok((message_id, false))
    }

    /// Graceful stop: sessions closed without logging out (they resume on the next start),
    /// pairings cancelled so no lock or pending QR outlives the daemon.
    pub async fn shutdown(&self) {
        // Nothing new starts here any more: no connect, no resume, no claim.
        self.membership.start_stopping();
        let entries: Vec<(UserKey, u64, bool)> = self
            .sessions()
            .iter()
            .map(|(user, entry)| {
                (
                    user.clone(),
                    entry.generation,
                    matches!(entry.phase, Phase::Pairing { .. }),
                )
            })
            .collect();
        for (user, generation, pairing) in entries {
            if pairing {
                self.cancel(&user, generation).await;
            } else {
                self.drop_session(&user, generation).await;
            }
        }
    }
}

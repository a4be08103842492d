//! Pairing: from `connect` to paired, refused, expired, cancelled or failed. Every end goes
//! through [`Supervisor::finish_pairing`], so no lock or pending QR is left behind.

use super::*;

impl Supervisor {
    /// Starts a pairing for `user`: rules, lock and `PENDING_QR` first (refusals change
    /// nothing), then a fresh credential store and a backend session.
    pub async fn connect(
        self: &Arc<Self>,
        user: &UserKey,
        mode: StartMode,
    ) -> Result<PairingHandle, Error> {
        self.check_accepting()?;
        let generation = self.next_generation();
        let owner = format!("{}/{generation:x}", self.registry.node_id());
        let phone = match &mode {
            StartMode::PairCode(phone) => Some(phone.clone()),
            _ => None,
        };
        let pending = self
            .registry
            .start_connect(user, &owner, phone.as_ref())
            .await?;
        self.changed();

        // Whatever this node still runs for the user (a session in CONFLICT, say) goes now.
        if let Some(old) = self.take_any(user) {
            if let Some(session) = old.session {
                session.close().await;
            }
        }
        let (updates, receiver) = broadcast::channel(64);
        self.sessions().insert(
            user.clone(),
            Entry {
                generation,
                epoch: pending.epoch,
                session: None,
                phase: Phase::Pairing {
                    owner: owner.clone(),
                    updates,
                },
            },
        );
        // A fencing or a drain that began while the registry was starting the pairing.
        if let Err(error) = self.check_accepting() {
            self.finish_pairing(user, generation, PairingEnd::Failed(error.to_string()))
                .await;
            return Err(error);
        }
        // The registry cleared the user's old credentials as the pairing began.
        let request = StartRequest {
            user: user.clone(),
            credentials: self.credentials(user, generation, pending.epoch),
            mode,
            generation,
            events: self.session_events(user),
        };
        let started = tokio::time::timeout(START_TIMEOUT, self.backend.start(request)).await;
        let session = match started {
            Ok(Ok(session)) => session,
            Ok(Err(error)) => {
                self.finish_pairing(user, generation, PairingEnd::Failed(error.to_string()))
                    .await;
                return Err(error.into());
            }
            Err(_) => {
                let error = backend::Error::Unreachable("timed out starting the session".into());
                self.finish_pairing(user, generation, PairingEnd::Failed(error.to_string()))
                    .await;
                return Err(error.into());
            }
        };
        let attached = {
            let mut sessions = self.sessions();
            match sessions.get_mut(user) {
                Some(entry) if entry.generation == generation => {
                    entry.session = Some(session.clone());
                    true
                }
                _ => false,
            }
        };
        if !attached {
            // The pairing ended while the backend was starting (cancelled, expired, fenced).
            session.abort().await;
        }

        // The pairing's own deadline: the QR TTL, whatever the backend does. It goes away as
        // soon as the pairing ends, so finished pairings leave no idle task behind.
        if let Some(deadline) = pending.qr_expires_at {
            let supervisor = Arc::downgrade(self);
            let wait = self.registry.now().until(deadline);
            let user = user.clone();
            let mut updates = receiver.resubscribe();
            tokio::spawn(async move {
                let ended = async {
                    loop {
                        match updates.recv().await {
                            Ok(PairingUpdate::Finished(_))
                            | Err(broadcast::error::RecvError::Closed) => break,
                            Ok(PairingUpdate::Qr(_))
                            | Err(broadcast::error::RecvError::Lagged(_)) => {}
                        }
                    }
                };
                tokio::select! {
                    _ = tokio::time::sleep(wait) => {}
                    _ = ended => return,
                }
                if let Some(supervisor) = supervisor.upgrade() {
                    supervisor
                        .finish_pairing(&user, generation, PairingEnd::Expired)
                        .await;
                }
            });
        }
        info!(%user, generation, "pairing started");
        Ok(PairingHandle {
            user: user.clone(),
            generation,
            updates: receiver,
        })
    }

    /// Ends `generation`'s pairing of `user` (if it is still pairing): session closed,
    /// registry pairing ended (which deletes the half-made credentials), waiting client told.
    pub async fn finish_pairing(&self, user: &UserKey, generation: u64, end: PairingEnd) {
        let entry = {
            let mut sessions = self.sessions();
            if is_pairing(sessions.get(user), generation) {
                sessions.remove(user)
            } else {
                None
            }
        };
        let Some(entry) = entry else { return };
        let Phase::Pairing { owner, updates } = entry.phase else {
            return;
        };
        if let Some(session) = entry.session {
            session.close().await;
        }
        if let Err(error) = self.registry.end_pairing(user, &owner, end.clone()).await {
            warn!(%user, %error, "cannot end the pairing in the registry");
        }
        self.changed();
        let result = match end {
            PairingEnd::Expired => PairingResult::Expired,
            PairingEnd::Cancelled => PairingResult::Cancelled,
            PairingEnd::Failed(message) => PairingResult::Failed { message },
        };
        info!(%user, generation, ?result, "pairing ended");
        let _ = updates.send(PairingUpdate::Finished(result));
    }

    /// The client of a (non-detached) `connect` went away: cancel its pairing.
    pub async fn cancel(&self, user: &UserKey, generation: u64) {
        self.finish_pairing(user, generation, PairingEnd::Cancelled)
            .await;
    }

    #[allow(clippy::too_many_arguments)]
    pub(super) async fn show_code(
        &self,
        user: &UserKey,
        generation: u64,
        owner: &str,
        updates: &broadcast::Sender<PairingUpdate>,
        code: &str,
        valid_for: Duration,
        pair_code: bool,
    ) {
        match self
            .registry
            .record_qr(user, owner, code, valid_for, pair_code)
            .await
        {
            Ok(row) => {
                self.changed();
                let now = self.registry.now();
                let pairing_expires_at = row.qr_expires_at.unwrap_or(now);
                let _ = updates.send(PairingUpdate::Qr(QrNotice {
                    user: user.to_string(),
                    code: code.to_string(),
                    pair_code,
                    code_expires_at: now.plus(valid_for).min(pairing_expires_at),
                    pairing_expires_at,
                }));
            }
            Err(registry::Error::LockLost(_)) => {
                // Cleaned up, reset or expired under us: this pairing is over.
                self.finish_pairing(user, generation, PairingEnd::Cancelled)
                    .await
            }
            Err(error) => {
                warn!(%user, %error, "cannot record a QR code");
                self.finish_pairing(user, generation, PairingEnd::Failed(error.to_string()))
                    .await
            }
        }
    }

    pub(super) async fn paired(
        &self,
        user: &UserKey,
        generation: u64,
        owner: &str,
        updates: &broadcast::Sender<PairingUpdate>,
        phone: &PhoneNumber,
        session: Option<Arc<dyn Session>>,
    ) {
        // The scan races the end of the pairing (expiry, cancel, disconnect): whichever takes
        // the entry out of its pairing phase first wins. A pairing that ended first leaves a
        // link nobody keeps; once this claim is made, `finish_pairing` leaves the entry alone
        // and the registry decides below.
        let claimed = {
            let mut sessions = self.sessions();
            let claimed = is_pairing(sessions.get(user), generation);
            if let Some(entry) = sessions.get_mut(user).filter(|_| claimed) {
                entry.phase = Phase::Live;
            }
            claimed
        };
        if !claimed {
            self.discard_link(user, phone, generation, session).await;
            info!(%user, %phone, "scanned after the pairing ended: the link is discarded");
            let _ = updates.send(PairingUpdate::Finished(PairingResult::Cancelled));
            return;
        }
        let policy = self.settings().conflict_policy;
        let outcome = self
            .registry
            .complete_pairing(user, owner, phone, policy)
            .await;
        self.changed();
        let result = match outcome {
            Ok(PairingOutcome::Paired { displaced, .. }) => {
                for holder in &displaced {
                    self.displace(holder, phone.as_str());
                }
                info!(%user, %phone, "paired");
                PairingResult::Paired {
                    phone: phone.to_string(),
                    displaced: displaced.into_iter().map(|holder| holder.user).collect(),
                }
            }
            Ok(PairingOutcome::Rejected { holders }) => {
                self.discard_link(user, phone, generation, session).await;
                info!(%user, %phone, ?holders, "pairing rejected: number held by another user");
                PairingResult::Refused {
                    message: format!("number already registered to another account ({phone})"),
                    reason_code: "number_taken".into(),
                }
            }
            Err(registry::Error::LockLost(_)) => {
                self.discard_link(user, phone, generation, session).await;
                // The row left its pairing another way (a disconnect that came first): the
                // lock, if still this attempt's, goes with it.
                if let Err(error) = self.registry.release_lock(user, owner).await {
                    warn!(%user, %error, "cannot release the lock of a discarded pairing");
                }
                PairingResult::Cancelled
            }
            Err(error) => {
                warn!(%user, %error, "cannot complete the pairing");
                let message = error.to_string();
                self.discard_link(user, phone, generation, session).await;
                if let Err(ending) = self
                    .registry
                    .end_pairing(user, owner, PairingEnd::Failed(message.clone()))
                    .await
                {
                    // The lock and the pending QR then expire on their own (cleanup).
                    warn!(%user, error = %ending, "cannot end the failed pairing in the registry");
                }
                PairingResult::Failed { message }
            }
        };
        let _ = updates.send(PairingUpdate::Finished(result));
    }

    /// A link that must not stay: unlink it on WhatsApp (the registry change that refused it
    /// owes that unlink and kept its credentials for it, see `unlinks`).
    pub(super) async fn discard_link(
        &self,
        user: &UserKey,
        phone: &PhoneNumber,
        generation: u64,
        session: Option<Arc<dyn Session>>,
    ) {
        match self.set_aside(user, Some(generation), session) {
            Some(unlink) => {
                let phone = Some(phone.as_str());
                Self::unlink_owed(&self.registry, &self.unlinking, unlink, user, phone).await;
            }
            None => drop(self.take(user, generation)),
        }
    }

    /// Another user took `holder`'s number (newest wins): its session here, if any, stops at
    /// once and is logged out in the background, so the new user's answer does not wait for
    /// WhatsApp (the registry change owes that unlink, see `unlinks`). Other nodes see the
    /// change in the registry and do the same.
    pub fn displace(&self, holder: &DetachedHolder, phone: &str) {
        if holder.node_id.as_deref() != Some(self.registry.node_id()) {
            return;
        }
        let Ok(user) = UserKey::parse(&holder.user) else {
            return;
        };
        info!(%user, "displaced: its device is unlinked in the background");
        let Some(unlink) = self.set_aside(&user, None, None) else {
            drop(self.take_any(&user));
            return;
        };
        let (registry, unlinking) = (self.registry.clone(), self.unlinking.clone());
        let phone = phone.to_string();
        tokio::spawn(async move {
            Self::unlink_owed(&registry, &unlinking, unlink, &user, Some(&phone)).await;
        });
    }
}

/// Whether `entry` is `generation`'s pairing, still in its pairing phase: what the end of a
/// pairing and a scan each take it out of, whichever comes first.
fn is_pairing(entry: Option<&Entry>, generation: u64) -> bool {
    entry.is_some_and(|entry| {
        entry.generation == generation && matches!(entry.phase, Phase::Pairing { .. })
    })
}

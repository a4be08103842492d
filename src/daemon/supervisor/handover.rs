//! Sessions moving between nodes: paced resumes (after a restart, a takeover or a fencing),
//! self-fencing, and drain.

use super::*;

/// How many sessions a drain closes and hands over at once.
const DRAIN_CONCURRENCY: usize = 32;
/// How long a client may take to close when a drain or a fencing closes it.
const CLOSE_TIMEOUT: Duration = Duration::from_secs(10);
/// How long a drain waits for a resume in flight to land before it hands sessions over.
const DRAIN_SETTLE: Duration = Duration::from_secs(10);

impl Supervisor {
    /// Resumes `rows` (each last seen at its epoch) one by one, in the background, each at its
    /// login slot (`resume_rate`, see `pacing`). A row
    /// that cannot resume becomes `DISCONNECTED` with the reason, if it is still this node's.
    pub fn resume_rows(self: &Arc<Self>, rows: Vec<Connection>) -> tokio::task::JoinHandle<()> {
        {
            let mut resuming = self.resuming();
            resuming.extend(rows.iter().map(|row| row.user.clone()));
        }
        let supervisor = self.clone();
        tokio::spawn(async move {
            let mut rows = rows.into_iter();
            for row in rows.by_ref() {
                if supervisor.check_accepting().is_err() {
                    break;
                }
                // Paced in `resume_at`, with every other login of this node.
                supervisor.resume_row(&row).await;
                supervisor.resuming().remove(&row.user);
            }
            let mut resuming = supervisor.resuming();
            for row in rows {
                resuming.remove(&row.user);
            }
        })
    }

    async fn resume_row(self: &Arc<Self>, row: &Connection) {
        let Ok(user) = UserKey::parse(&row.user) else {
            return;
        };
        let change = match self.resume_at(&user, row.epoch).await {
            Ok(()) => return,
            Err(Error::NotFound(_)) => Change::Disconnected {
                reason: "no stored credentials to resume with".into(),
            },
            Err(Error::Refused { message, .. }) => {
                return info!(%user, %message, "not resumed");
            }
            Err(error) => Change::Disconnected {
                reason: format!("resume failed: {error}"),
            },
        };
        warn!(%user, ?change, "cannot resume");
        let epoch = match self.registry.connection(&user).await {
            Ok(row) if row.node_id.as_deref() == Some(self.registry.node_id()) => row.epoch,
            _ => return,
        };
        // Another session of this user started here meanwhile (an operator's reconnect): the
        // row is its now.
        if self.sessions().contains_key(&user) {
            return;
        }
        match self
            .registry
            .apply(&user, change, Scope::Session(epoch))
            .await
        {
            Ok(_) => self.changed(),
            Err(error) => warn!(%user, %error, "cannot record a failed resume"),
        }
    }

    fn resuming(&self) -> MutexGuard<'_, HashSet<String>> {
        self.resuming
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Self-fencing: the lease could not be renewed in time, so survivors may soon claim this
    /// node's sessions. Every connection here is hung up first, those of clients other work
    /// is closing included; then every client closes, without logging out (what it still
    /// writes is refused once its session moves on); waiting `connect`s hear why.
    pub async fn fence_all(&self) {
        self.backend.hang_up_all().await;
        let entries: Vec<(UserKey, Entry)> = self.sessions().drain().collect();
        let mut closing = tokio::task::JoinSet::new();
        let mut clients = Vec::new();
        for (user, entry) in entries {
            if let Phase::Pairing { updates, .. } = &entry.phase {
                let _ = updates.send(PairingUpdate::Finished(PairingResult::Failed {
                    message: "this node lost the registry and stopped its sessions; connect again"
                        .into(),
                }));
            }
            if let Some(session) = entry.session {
                clients.push((user, session));
            }
        }
        // Unlinks under way end too: another node retries them once the lease runs out.
        clients.extend(self.unlinking.take_all());
        for (user, session) in clients {
            closing.spawn(async move {
                if tokio::time::timeout(CLOSE_TIMEOUT, session.abort())
                    .await
                    .is_err()
                {
                    warn!(%user, "a client did not close in time while fencing");
                }
                user
            });
        }
        let closed = closing.join_all().await.len();
        warn!(
            sessions = closed,
            "fenced: every WhatsApp client here is closed"
        );
    }

    /// Drain: pairings are cancelled, then each live session is closed and only then handed
    /// over (owner cleared at a new epoch), so the node that claims it never logs in while this
    /// connection is open. Returns how many sessions were handed over.
    pub async fn drain(self: &Arc<Self>) -> usize {
        if !self.membership.start_draining() {
            return 0;
        }
        let me = &self.membership.me;
        if let Err(error) = self
            .registry
            .renew_lease(me, registry::NodeState::Draining, false)
            .await
        {
            warn!(%error, "cannot mark this node draining");
        }
        // Resumes under way stop at their next row; the one in flight lands first.
        let settled = tokio::time::Instant::now() + DRAIN_SETTLE;
        while !self.resuming().is_empty() && tokio::time::Instant::now() < settled {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        let mut handed = 0;
        loop {
            let (sessions, moved) = self.drain_pass().await;
            let rows = self.hand_over_idle_rows().await;
            handed += moved + rows;
            if sessions == 0 && rows == 0 {
                break;
            }
        }
        self.changed();
        info!(
            sessions = handed,
            "drained: sessions handed to the live nodes"
        );
        handed
    }

    /// Cancels the pairings here and hands every live session over; returns how many entries
    /// there were and how many sessions were handed over.
    async fn drain_pass(self: &Arc<Self>) -> (usize, usize) {
        let entries: Vec<(UserKey, u64, bool)> = self
            .sessions()
            .iter()
            .map(|(user, entry)| {
                let pairing = matches!(entry.phase, Phase::Pairing { .. });
                (user.clone(), entry.generation, pairing)
            })
            .collect();
        let count = entries.len();
        let semaphore = Arc::new(tokio::sync::Semaphore::new(DRAIN_CONCURRENCY));
        let mut handing = tokio::task::JoinSet::new();
        for (user, generation, pairing) in entries {
            if pairing {
                self.cancel(&user, generation).await;
                continue;
            }
            let supervisor = self.clone();
            let semaphore = semaphore.clone();
            handing.spawn(async move {
                let _permit = semaphore.acquire_owned().await;
                supervisor.hand_over(&user, generation).await
            });
        }
        let handed = handing
            .join_all()
            .await
            .into_iter()
            .filter(|ok| *ok)
            .count();
        (count, handed)
    }

    /// `CONNECTED` rows this node owns with no session (or paced resume) here.
    pub(super) async fn owned_rows_without_session(
        &self,
    ) -> Result<Vec<Connection>, registry::Error> {
        let rows = self
            .registry
            .connections(
                Some(Status::Connected),
                Some(self.registry.node_id()),
                u32::MAX,
            )
            .await?;
        let local = self.local_users().0;
        Ok(rows
            .into_iter()
            .filter(|row| !local.contains(&row.user))
            .collect())
    }

    /// Rows this node owns without a session here (claimed, not resumed yet): released as
    /// they are, since no connection of theirs is open.
    pub async fn hand_over_idle_rows(&self) -> usize {
        let rows = match self.owned_rows_without_session().await {
            Ok(rows) => rows,
            Err(error) => {
                warn!(%error, "cannot list the sessions left to hand over");
                return 0;
            }
        };
        let mut handed = 0;
        for row in &rows {
            let Ok(user) = UserKey::parse(&row.user) else {
                continue;
            };
            if let Ok(Some(_)) = self.registry.hand_over(&user, row.epoch).await {
                handed += 1;
            }
        }
        handed
    }

    async fn hand_over(&self, user: &UserKey, generation: u64) -> bool {
        let Some(entry) = self.take(user, generation) else {
            return false;
        };
        if let Some(session) = entry.session {
            if tokio::time::timeout(CLOSE_TIMEOUT, session.close())
                .await
                .is_err()
            {
                // Not closed for sure: the row stays this node's, and moves only once this
                // node's lease runs out.
                warn!(%user, "the client did not close in time: not handed over");
                return false;
            }
        }
        match self.registry.hand_over(user, entry.epoch).await {
            Ok(Some(_)) => true,
            Ok(None) => false,
            Err(error) => {
                // Still owned here: a live node claims it once this node's lease runs out.
                warn!(%user, %error, "cannot hand the session over");
                false
            }
        }
    }
}

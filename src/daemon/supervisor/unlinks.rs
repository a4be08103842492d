//! Unlinks that released devices owe (see `registry::LeftLinked`), retried until they settle.
//!
//! The session that held the device logs it out first ([`Supervisor::unlink_owed`]). Should
//! that fail, or never happen (the daemon was killed), the node the record names logs the
//! device in again from the credentials kept for it, on a client of its own outside the
//! supervisor's sessions, and logs it out ([`Supervisor::retry_owed_unlinks`]). Another node
//! takes the record over only once that node's lease ran out.
//!
//! No two clients of one device may ever run. Across nodes the lease sees to it: a node
//! fences itself, closing every client it has, before its lease can run out, and a stopping
//! node closes them before it gives its lease up. Within a node, [`Unlinking`] holds every
//! client set aside from the sessions (being logged out, or closed): a fencing closes them
//! with the sessions, and the retry job takes a device only when it has neither a session nor
//! a client set aside here, checked in one step under the sessions' lock.
//!
//! A retry works from the credentials kept for the device, which a new pairing of the user
//! replaces: the retry's claim moves the user's row to a new epoch, and the retry logs the
//! device out only if the row is still at that epoch once its client is up (a pairing since
//! moved it on, and the client may hold the new device).

use super::*;
use crate::backend::{EventLoad, EventSender};
use crate::registry::{OwedUnlink, MAX_UNLINK_ATTEMPTS};

/// How long one attempt may hold an owed unlink.
const LEASE: Duration = Duration::from_secs(90);
/// How long after a failed logout of the session that held the device its node tries again.
const AFTER_SESSION: Duration = Duration::from_secs(30);

/// A client set aside: its device's user, and the client once there is one.
type UnlinkClient = (UserKey, Option<Arc<dyn Session>>);

/// The clients set aside from the sessions on this node (logging a device out, or closing),
/// by ticket.
#[derive(Default)]
pub(super) struct Unlinking {
    clients: Mutex<HashMap<u64, UnlinkClient>>,
    tickets: AtomicU64,
}

impl Unlinking {
    fn clients(&self) -> MutexGuard<'_, HashMap<u64, UnlinkClient>> {
        self.clients
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn begin(&self, user: &UserKey, client: Option<Arc<dyn Session>>) -> u64 {
        let ticket = self.tickets.fetch_add(1, Ordering::SeqCst);
        self.clients().insert(ticket, (user.clone(), client));
        ticket
    }

    fn has(&self, user: &UserKey) -> bool {
        self.clients().values().any(|(held, _)| held == user)
    }

    /// Gives `ticket` its client; false when a fencing ended the unlink meanwhile.
    fn attach(&self, ticket: u64, client: Arc<dyn Session>) -> bool {
        match self.clients().get_mut(&ticket) {
            Some(entry) => {
                entry.1 = Some(client);
                true
            }
            None => false,
        }
    }

    /// Whether `ticket`'s unlink may go on: a fencing ends every one.
    fn goes_on(&self, ticket: u64) -> bool {
        self.clients().contains_key(&ticket)
    }

    pub(super) fn end(&self, ticket: u64) {
        self.clients().remove(&ticket);
    }

    /// Every client logging a device out, taken away from its unlink (a fencing).
    pub(super) fn take_all(&self) -> Vec<(UserKey, Arc<dyn Session>)> {
        self.clients()
            .drain()
            .filter_map(|(_, (user, client))| Some((user, client?)))
            .collect()
    }
}

impl Supervisor {
    /// Moves `user`'s session (`generation`'s, or any with `None`) out of the live ones and
    /// into the clients set aside, in one step under the sessions' lock, to be logged out or
    /// closed; end its ticket once that is done. `client` is the device's client when the
    /// entry does not hold it (a pairing's new link).
    pub(super) fn set_aside(
        &self,
        user: &UserKey,
        generation: Option<u64>,
        client: Option<Arc<dyn Session>>,
    ) -> Option<(u64, Arc<dyn Session>)> {
        let mut sessions = self.sessions();
        let entry = match (sessions.get(user), generation) {
            (Some(entry), Some(generation)) if entry.generation != generation => None,
            _ => sessions.remove(user),
        };
        let client = client.or(entry.and_then(|entry| entry.session))?;
        let ticket = self.unlinking.begin(user, Some(client.clone()));
        Some((ticket, client))
    }

    /// Unlinks a device whose number a committed change released (newest wins, a resolved
    /// conflict, reject-new): that change recorded the unlink as owed and kept the
    /// credentials (`registry::LeftLinked`), and this logs the device out through the
    /// session that held it. Done, the record goes; failed, the node tries again later from
    /// the kept credentials. Should this never run (the daemon stopped first), the record
    /// stays and is retried all the same.
    pub(super) async fn unlink_owed(
        registry: &Registry,
        unlinking: &Unlinking,
        (ticket, client): (u64, Arc<dyn Session>),
        user: &UserKey,
        phone: Option<&str>,
    ) {
        let owed = registry.owed_unlink(user.as_str()).await;
        let outcome = Self::logout_patiently(unlinking, ticket, client.as_ref()).await;
        // The ticket ends once the record says what comes next: until then the retry job
        // must not take the device up again.
        Self::settle_owed(registry, user, phone, owed, outcome).await;
        unlinking.end(ticket);
    }

    async fn settle_owed(
        registry: &Registry,
        user: &UserKey,
        phone: Option<&str>,
        owed: Result<Option<crate::time::Timestamp>, registry::Error>,
        outcome: Result<(), backend::Error>,
    ) {
        match (owed, outcome) {
            (Ok(Some(at)), outcome) => {
                let error = outcome.as_ref().err().map(|error| error.to_string());
                if let Some(error) = &error {
                    warn!(%user, %error, "device not unlinked yet: trying again later");
                }
                let retry = error.as_ref().map(|_| AFTER_SESSION);
                if let Err(settle) = registry
                    .settle_unlink(user.as_str(), at, error.as_deref(), retry)
                    .await
                {
                    warn!(%user, error = %settle, "cannot settle the unlink owed");
                }
            }
            (_, Ok(())) => {}
            (_, Err(error)) => Self::left_linked(registry, user, phone, &error).await,
        }
    }

    /// Logs `client` out, trying again for up to [`START_TIMEOUT`] while it cannot reach
    /// WhatsApp (a device released right after its own pairing is still reconnecting: the
    /// client logs in again after the scan), unless a fencing ends the unlink.
    async fn logout_patiently(
        unlinking: &Unlinking,
        ticket: u64,
        client: &dyn Session,
    ) -> Result<(), backend::Error> {
        let deadline = tokio::time::Instant::now() + START_TIMEOUT;
        let mut pause = Duration::from_millis(250);
        loop {
            // WhatsApp may never answer; the unlink must still settle.
            let attempt = tokio::time::timeout_at(deadline, client.logout())
                .await
                .unwrap_or_else(|_| {
                    Err(backend::Error::Unreachable(
                        "WhatsApp did not answer the logout in time".into(),
                    ))
                });
            match attempt {
                Err(backend::Error::Unreachable(why))
                    if tokio::time::Instant::now() + pause < deadline
                        && unlinking.goes_on(ticket) =>
                {
                    debug!(%why, "logout not through yet: trying again");
                    tokio::time::sleep(pause).await;
                    pause = (pause * 2).min(Duration::from_secs(4));
                }
                outcome => return outcome,
            }
        }
    }

    /// Takes the owed unlinks that are due and this node's, and tries each once.
    pub async fn retry_owed_unlinks(self: &Arc<Self>) {
        let due = match self.registry.due_unlinks(32).await {
            Ok(due) => due,
            Err(error) => return warn!(%error, "cannot list the unlinks owed"),
        };
        for unlink in due {
            let Ok(user) = UserKey::parse(&unlink.user) else {
                continue;
            };
            let Some(ticket) = self.reserve_for_retry(&user) else {
                continue; // its session here is on it
            };
            match self.registry.claim_unlink(&unlink, LEASE).await {
                Ok(true) => self.retry_unlink(ticket, &user, &unlink).await,
                Ok(false) => {}
                Err(error) => warn!(%error, "cannot claim an owed unlink"),
            }
            self.unlinking.end(ticket);
        }
    }

    /// A ticket for a retry of `user`'s unlink, unless the device has a session or an unlink
    /// under way here: checked and taken in one step under the sessions' lock.
    fn reserve_for_retry(&self, user: &UserKey) -> Option<u64> {
        let sessions = self.sessions();
        // Under the lock fencing empties the map with, as for a resume. A draining node goes
        // on with its own unlinks: nobody else may take them while its lease runs.
        let membership = self.membership();
        if sessions.contains_key(user)
            || self.unlinking.has(user)
            || membership.is_fenced()
            || membership.is_stopping()
        {
            return None;
        }
        let ticket = self.unlinking.begin(user, None);
        drop(sessions);
        Some(ticket)
    }

    async fn retry_unlink(self: &Arc<Self>, ticket: u64, user: &UserKey, unlink: &OwedUnlink) {
        let attempt = unlink.attempts + 1;
        let outcome = self.unlink_from_store(ticket, user).await;
        let error = outcome.err();
        let retry = (attempt < MAX_UNLINK_ATTEMPTS).then(|| backoff(attempt));
        match &error {
            None => info!(%user, attempt, "owed unlink done"),
            Some(why) => warn!(%user, attempt, %why, "owed unlink failed"),
        }
        let error = error.map(|why| format!("{why} (attempt {attempt} of {MAX_UNLINK_ATTEMPTS})"));
        if let Err(settle) = self
            .registry
            .settle_unlink(user.as_str(), unlink.at, error.as_deref(), retry)
            .await
        {
            warn!(%user, error = %settle, "cannot settle an owed unlink");
        }
    }

    /// Logs `user`'s released device in from its kept credentials and logs it out.
    async fn unlink_from_store(
        self: &Arc<Self>,
        ticket: u64,
        user: &UserKey,
    ) -> Result<(), String> {
        self.logins.wait(self.settings().resume_rate).await;
        let Some(epoch) = self
            .registry
            .claim_for_unlink(user.as_str())
            .await
            .map_err(|error| error.to_string())?
        else {
            return Err("the user's row is no longer released".into());
        };
        let (queue, mut events) = mpsc::channel(16);
        let request = StartRequest {
            user: user.clone(),
            credentials: Arc::new(self.registry.session_store(user, epoch)),
            mode: StartMode::Resume,
            generation: self.next_generation(),
            events: EventSender::new(user.clone(), queue, Arc::new(EventLoad::default())),
        };
        let client = match tokio::time::timeout(START_TIMEOUT, self.backend.start(request)).await {
            Ok(Ok(client)) => client,
            Ok(Err(error)) => return Err(format!("cannot log the device in: {error}")),
            Err(_) => return Err("the device's login timed out".into()),
        };
        if !self.unlinking.attach(ticket, client.clone()) {
            client.abort().await;
            return Err("this node fenced itself before the unlink".into());
        }
        let logged_in = tokio::time::timeout(START_TIMEOUT, async {
            while let Some((_, event)) = events.recv().await {
                match event.kind {
                    EventKind::Connected => return Ok(true),
                    // The phone removed the device already: nothing left to unlink.
                    EventKind::LoggedOut { .. } => return Ok(false),
                    EventKind::ConnectFailed { reason } => return Err(reason),
                    _ => {}
                }
            }
            Err("the client ended before it logged in".to_string())
        })
        .await
        .unwrap_or_else(|_| Err("the device's login timed out".into()));
        // Nobody reads the client's events from here on: a full queue must not hold up the
        // logout's answer.
        tokio::spawn(async move { while events.recv().await.is_some() {} });
        let outcome = match logged_in {
            Ok(true) => match self.registry.unlink_claim_holds(user.as_str(), epoch).await {
                Ok(true) => Self::logout_patiently(&self.unlinking, ticket, client.as_ref())
                    .await
                    .map_err(|error| error.to_string()),
                Ok(false) => Err("the user paired again since; this client is left alone".into()),
                Err(error) => Err(error.to_string()),
            },
            Ok(false) => Ok(()),
            Err(why) => Err(format!("cannot log the device in: {why}")),
        };
        client.close().await;
        outcome
    }
}

impl Supervisor {
    /// Closes every client set aside (a stop): the node gives up its lease next, and another
    /// node may then take over the unlinks they were making.
    pub async fn close_set_aside(&self) {
        let mut closing = tokio::task::JoinSet::new();
        for (user, client) in self.unlinking.take_all() {
            closing.spawn(async move {
                if tokio::time::timeout(CLOSE_TIMEOUT, client.close())
                    .await
                    .is_err()
                {
                    warn!(%user, "a client did not close in time while stopping");
                }
            });
        }
        closing.join_all().await;
    }
}

/// How long a client set aside may take to close when the node stops.
const CLOSE_TIMEOUT: Duration = Duration::from_secs(10);

/// 30 s, 1 min, 2 min, 4 min between attempts.
fn backoff(attempt: u32) -> Duration {
    Duration::from_secs(30) * 2u32.saturating_pow(attempt.saturating_sub(1))
}

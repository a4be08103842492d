//! Unlinks that a released device still owes (see `registry::LeftLinked`), retried until they
//! settle. The session that owed one may be gone (its node was killed, or it could not reach
//! WhatsApp while it logged in again after its own scan); the device's credentials were kept
//! for this. Any node takes a due unlink (a claim with a lease, so one node at a time), logs
//! the device in from those credentials on a session of its own, outside the supervisor's
//! sessions and with its events kept to itself, and logs it out.

use super::*;
use crate::backend::{EventLoad, EventSender};
use crate::registry::OwedUnlink;

/// How long one attempt may hold an owed unlink.
const LEASE: Duration = Duration::from_secs(90);
/// Attempts before the device is left for the operator to remove on the phone.
const MAX_ATTEMPTS: u32 = 5;

impl Supervisor {
    /// Takes the owed unlinks that are due and tries each once.
    pub async fn retry_owed_unlinks(self: &Arc<Self>) {
        let due = match self.registry.due_unlinks(8).await {
            Ok(due) => due,
            Err(error) => return warn!(%error, "cannot list the unlinks owed"),
        };
        for unlink in due {
            match self.registry.claim_unlink(&unlink, LEASE).await {
                Ok(true) => self.retry_unlink(&unlink).await,
                Ok(false) => {}
                Err(error) => warn!(%error, "cannot claim an owed unlink"),
            }
        }
    }

    async fn retry_unlink(self: &Arc<Self>, unlink: &OwedUnlink) {
        let attempt = unlink.attempts + 1;
        let outcome = match UserKey::parse(&unlink.user) {
            Ok(user) => self.unlink_from_store(&user).await,
            Err(why) => Err(why),
        };
        let error = outcome.err();
        let retry = (attempt < MAX_ATTEMPTS).then(|| backoff(attempt));
        match &error {
            None => info!(user = %unlink.user, attempt, "owed unlink done"),
            Some(why) => warn!(user = %unlink.user, attempt, %why, "owed unlink failed"),
        }
        let error = error.map(|why| format!("{why} (attempt {attempt} of {MAX_ATTEMPTS})"));
        if let Err(settle) = self
            .registry
            .settle_unlink(&unlink.user, unlink.at, error.as_deref(), retry)
            .await
        {
            warn!(user = %unlink.user, error = %settle, "cannot settle an owed unlink");
        }
    }

    /// Logs `user`'s released device in from its kept credentials and logs it out.
    async fn unlink_from_store(self: &Arc<Self>, user: &UserKey) -> Result<(), String> {
        if self.sessions().contains_key(user) {
            return Err("the user has a session here again".into());
        }
        let Some(epoch) = self
            .registry
            .claim_for_unlink(user.as_str())
            .await
            .map_err(|error| error.to_string())?
        else {
            return Err("the user's row is no longer released".into());
        };
        self.logins.wait(self.settings().resume_rate).await;
        let (queue, mut events) = mpsc::channel(16);
        let request = StartRequest {
            user: user.clone(),
            credentials: Arc::new(self.registry.session_store(user, epoch)),
            mode: StartMode::Resume,
            generation: self.next_generation(),
            events: EventSender::new(user.clone(), queue, Arc::new(EventLoad::default())),
        };
        let session = match tokio::time::timeout(START_TIMEOUT, self.backend.start(request)).await {
            Ok(Ok(session)) => session,
            Ok(Err(error)) => return Err(format!("cannot log the device in: {error}")),
            Err(_) => return Err("the device's login timed out".into()),
        };
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
            Err("the session ended before it logged in".to_string())
        })
        .await
        .unwrap_or_else(|_| Err("the device's login timed out".into()));
        let outcome = match logged_in {
            Ok(true) => Self::logout_patiently(session.as_ref())
                .await
                .map_err(|error| error.to_string()),
            Ok(false) => Ok(()),
            Err(why) => Err(format!("cannot log the device in: {why}")),
        };
        session.close().await;
        outcome
    }
}

/// 30 s, 1 min, 2 min, 4 min between attempts.
fn backoff(attempt: u32) -> Duration {
    Duration::from_secs(30) * 2u32.saturating_pow(attempt.saturating_sub(1))
}

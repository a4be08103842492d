//! Writes a session cannot afford to lose to a registry that is briefly away (a locked SQLite
//! file, a PostgreSQL failover): an incoming message that WhatsApp was already told about, the
//! `Connected` that ends a reconnect. They are tried again, with growing pauses, for as long
//! as the session runs here; the user's later events wait behind them in the user's worker, so
//! their order holds.

use std::future::Future;

use super::*;

/// The first pause before a write is tried again, and the longest.
const RETRY_FIRST: Duration = Duration::from_millis(200);
const RETRY_MAX: Duration = Duration::from_secs(5);

impl Supervisor {
    /// Runs `write` (given the session's epoch) until the registry answers. `None` when the
    /// session no longer runs here, so there is nothing left to write for. A refusal that
    /// would not change on a retry (a constraint, a rule) counts as `Some(None)`: the registry
    /// does not back this session.
    pub(super) async fn until_written<T, F, Fut>(
        &self,
        user: &UserKey,
        generation: u64,
        what: &str,
        mut write: F,
    ) -> Option<Option<T>>
    where
        F: FnMut(i64) -> Fut,
        Fut: Future<Output = Result<Option<T>, registry::Error>>,
    {
        let mut pause = RETRY_FIRST;
        let mut failures = 0u32;
        loop {
            let epoch = self.epoch_of(user, generation)?;
            match write(epoch).await {
                Ok(done) => {
                    if failures > 0 {
                        info!(%user, failures, "{what}: written once the registry came back");
                    }
                    return Some(done);
                }
                Err(error) if !is_transient(&error) => {
                    warn!(%user, %error, "the registry refuses {what}");
                    return Some(None);
                }
                Err(error) => {
                    failures += 1;
                    warn!(%user, %error, failures, "cannot write {what} yet; trying again");
                    tokio::time::sleep(pause).await;
                    pause = (pause * 2).min(RETRY_MAX);
                }
            }
        }
    }
}

/// Whether a failed write may succeed if tried again: the database was out of reach, busy or
/// timed out, as opposed to refusing the write itself.
fn is_transient(error: &registry::Error) -> bool {
    match error {
        registry::Error::Database(sqlx::Error::Database(db)) => !matches!(
            db.kind(),
            sqlx::error::ErrorKind::UniqueViolation
                | sqlx::error::ErrorKind::ForeignKeyViolation
                | sqlx::error::ErrorKind::NotNullViolation
                | sqlx::error::ErrorKind::CheckViolation
        ),
        registry::Error::Database(_) | registry::Error::Open { .. } => true,
        _ => false,
    }
}

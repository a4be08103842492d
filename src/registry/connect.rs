//! The five rules, the connect lock, and the pairing that follows (docs/architecture.md, "Rules and invariants").
//!
//! A connect attempt is identified by an `owner` token. [`Registry::start_connect`] checks the
//! rules, takes the lock and marks the row `PENDING_QR` in one transaction; every later step
//! of that pairing names the owner, so a step from an attempt that lost its lock (expired,
//! cancelled, cleaned up) changes nothing.

use std::collections::{HashMap, HashSet};
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use serde_json::json;

use super::batch::{self, one, Batches, ForUser};
use super::bulk::{self, keys_in};
use super::change::Change;
use super::db::{args, locking, Tx};
use super::events::{self, NewEvent};
use super::left_linked::{give_up_owed, owe_unlinks, Released};
use super::rows::{self, connection_columns, NewPairingRow};
use super::transitions;
use super::{Error, PhoneNumber, Registry, UserKey};
use crate::model::{
    ConflictPolicy, Connection, DetachedHolder, EventKind, ReasonCode, Status, Verdict,
};
use crate::time::{format_duration, Timestamp};

/// What [`Registry::acquire_lock`] found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LockOutcome {
    Acquired {
        expires_at: Timestamp,
    },
    Held {
        owner: String,
        expires_at: Timestamp,
    },
}

/// What [`Registry::complete_pairing`] decided.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PairingOutcome {
    /// The user is `CONNECTED`; `displaced` lost the number (newest-wins) and must be logged
    /// out by whichever node runs their session.
    Paired {
        connection: Connection,
        displaced: Vec<DetachedHolder>,
    },
    /// reject-new: another user holds the number; the new link must be logged out.
    Rejected { holders: Vec<String> },
}

/// How a pairing ended without a scan.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PairingEnd {
    Expired,
    Cancelled,
    Failed(String),
}

impl PairingEnd {
    pub(super) fn result(&self) -> &'static str {
        match self {
            PairingEnd::Expired => "expired",
            PairingEnd::Cancelled => "cancelled",
            PairingEnd::Failed(_) => "failed",
        }
    }

    pub(super) fn reason(&self) -> String {
        match self {
            PairingEnd::Expired => "QR code not scanned in time".into(),
            PairingEnd::Cancelled => "pairing cancelled".into(),
            PairingEnd::Failed(why) => format!("pairing failed: {why}"),
        }
    }
}

/// One connect's start, as [`Registry::start_connect`] takes it.
#[derive(Clone)]
pub(crate) struct ConnectStart {
    user: UserKey,
    owner: String,
    phone: Option<PhoneNumber>,
}

impl ForUser for ConnectStart {
    fn user(&self) -> &str {
        self.user.as_str()
    }
}

/// A code a pairing shows, as [`Registry::record_qr`] takes it.
#[derive(Clone)]
pub(crate) struct CodeShown {
    user: UserKey,
    owner: String,
    code: String,
    valid_for: Duration,
    pair_code: bool,
}

impl ForUser for CodeShown {
    fn user(&self) -> &str {
        self.user.as_str()
    }
}

/// What a request hears when the registry's runtime stopped before its batch ran.
fn closed() -> Error {
    Error::Internal("the registry closed before the request was written".into())
}

pub(crate) const MESSAGE_ALREADY_CONNECTED: &str = "already connected: disconnect first";
pub(crate) const MESSAGE_QR_PENDING: &str =
    "a QR code is already pending: scan it or wait for it to expire";
pub(crate) const MESSAGE_NUMBER_TAKEN: &str = "number already registered to another account";

fn verdict(
    user: &str,
    reason_code: ReasonCode,
    message: String,
    existing: Option<Connection>,
) -> Verdict {
    Verdict {
        user: user.to_string(),
        allowed: reason_code == ReasonCode::Allowed,
        reason_code,
        message,
        existing,
    }
}

/// Rules 1–5 for `user`, whose row (`existing`) the caller read inside `tx`. Without
/// `read_lock`, rule 5 (a connect in progress) is left to the caller, which takes the lock
/// next and hears of a holder from that.
async fn evaluate(
    tx: &mut Tx,
    user: &str,
    existing: Option<Connection>,
    phone: Option<&PhoneNumber>,
    now: Timestamp,
    read_lock: bool,
) -> Result<Verdict, Error> {
    let Some(existing) = existing else {
        let message = Error::UnknownUser(user.to_string()).to_string();
        return Ok(verdict(user, ReasonCode::UnknownUser, message, None));
    };
    if existing.status == Status::Connected {
        let message = MESSAGE_ALREADY_CONNECTED.to_string();
        return Ok(verdict(
            user,
            ReasonCode::AlreadyConnected,
            message,
            Some(existing),
        ));
    }
    if existing.status == Status::PendingQr && existing.qr_expires_at.is_some_and(|at| at > now) {
        let message = MESSAGE_QR_PENDING.to_string();
        return Ok(verdict(
            user,
            ReasonCode::QrPending,
            message,
            Some(existing),
        ));
    }
    if let Some(phone) = phone {
        if let Some(holder) = holder_of(tx, phone, user).await? {
            let message = format!("{MESSAGE_NUMBER_TAKEN} ({phone} is held by {holder})");
            return Ok(verdict(
                user,
                ReasonCode::NumberTaken,
                message,
                Some(existing),
            ));
        }
    }
    if read_lock {
        let lock: Option<(String, i64)> = tx
            .fetch_optional(
                "SELECT owner, expires_at FROM connect_locks WHERE user_key = $1 \
                 AND expires_at > $2",
                args![user, now.millis()],
            )
            .await?;
        if let Some((_, expires_at)) = lock {
            let left = now.until(Timestamp(expires_at));
            let message = format!(
                "another connect attempt is in progress (its lock expires in {})",
                format_duration(left)
            );
            return Ok(verdict(
                user,
                ReasonCode::ConnectInProgress,
                message,
                Some(existing),
            ));
        }
    }
    Ok(verdict(
        user,
        ReasonCode::Allowed,
        "allowed: no rule refuses a connect".into(),
        Some(existing),
    ))
}

/// Another user whose row holds `phone` (a logged-out row holds nothing).
pub(crate) async fn holder_of(
    tx: &mut Tx,
    phone: &PhoneNumber,
    user: &str,
) -> Result<Option<String>, Error> {
    let holder: Option<(String,)> = tx
        .fetch_optional(
            "SELECT user_key FROM whatsapp_connections WHERE phone_number = $1 \
             AND user_key <> $2 AND status <> 'LOGGED_OUT' ORDER BY user_key LIMIT 1",
            args![phone.as_str(), user],
        )
        .await?;
    Ok(holder.map(|(user,)| user))
}

/// The conditional upsert that is the lock: it inserts, or takes over an expired lock, and
/// returns nothing when an unexpired lock exists. One statement, so two writers cannot both
/// see "free" and both win.
async fn take_lock(
    tx: &mut Tx,
    user: &str,
    owner: &str,
    node_id: &str,
    now: Timestamp,
    ttl: Duration,
) -> Result<LockOutcome, Error> {
    let expires_at = now.plus(ttl);
    let taken: Option<(String,)> = tx
        .fetch_optional(
            "INSERT INTO connect_locks (user_key, owner, node_id, acquired_at, expires_at) \
             VALUES ($1, $2, $3, $4, $5) \
             ON CONFLICT (user_key) DO UPDATE SET owner = excluded.owner, \
             node_id = excluded.node_id, acquired_at = excluded.acquired_at, \
             expires_at = excluded.expires_at WHERE connect_locks.expires_at <= $4 \
             RETURNING owner",
            args![user, owner, node_id, now.millis(), expires_at.millis()],
        )
        .await?;
    if taken.is_some() {
        return Ok(LockOutcome::Acquired { expires_at });
    }
    let (holder, held_until): (String, i64) = tx
        .fetch_one(
            "SELECT owner, expires_at FROM connect_locks WHERE user_key = $1",
            args![user],
        )
        .await?;
    Ok(LockOutcome::Held {
        owner: holder,
        expires_at: Timestamp(held_until),
    })
}

/// [`take_lock`] for each `(user, owner)` of `pairings`: the users whose lock another attempt
/// holds, with when it expires. SQLite takes them all in one statement; PostgreSQL one by
/// one.
async fn take_locks(
    tx: &mut Tx,
    pairings: &[(&str, &str)],
    node_id: &str,
    now: Timestamp,
    ttl: Duration,
) -> Result<HashMap<String, Timestamp>, Error> {
    let mut held = HashMap::new();
    if tx.is_postgres() {
        for (user, owner) in pairings {
            if let LockOutcome::Held { expires_at, .. } =
                take_lock(tx, user, owner, node_id, now, ttl).await?
            {
                held.insert(user.to_string(), expires_at);
            }
        }
        return Ok(held);
    }
    if pairings.is_empty() {
        return Ok(held);
    }
    let taken: Vec<(String,)> = tx
        .fetch_all(
            "INSERT INTO connect_locks (user_key, owner, node_id, acquired_at, expires_at) \
             SELECT json_extract(value, '$.user'), json_extract(value, '$.owner'), $2, $3, $4 \
             FROM json_each($1) WHERE true \
             ON CONFLICT (user_key) DO UPDATE SET owner = excluded.owner, \
             node_id = excluded.node_id, acquired_at = excluded.acquired_at, \
             expires_at = excluded.expires_at WHERE connect_locks.expires_at <= $3 \
             RETURNING user_key",
            args![
                bulk::pairings(pairings),
                node_id,
                now.millis(),
                now.plus(ttl).millis()
            ],
        )
        .await?;
    let taken: HashSet<String> = taken.into_iter().map(|(user,)| user).collect();
    let refused: Vec<&str> = pairings
        .iter()
        .map(|(user, _)| *user)
        .filter(|user| !taken.contains(*user))
        .collect();
    if refused.is_empty() {
        return Ok(held);
    }
    let holders: Vec<(String, i64)> = tx
        .fetch_all(
            keys_in!("SELECT user_key, expires_at FROM connect_locks WHERE user_key").sqlite,
            args![bulk::keys(&refused)],
        )
        .await?;
    held.extend(
        holders
            .into_iter()
            .map(|(user, expires_at)| (user, Timestamp(expires_at))),
    );
    Ok(held)
}

/// Whether `owner` holds `user`'s lock and it has not expired at `now`: an attempt whose lock
/// ran out (and may have been taken over) can no longer complete a pairing.
async fn holds_live_lock(
    tx: &mut Tx,
    user: &str,
    owner: &str,
    now: Timestamp,
) -> Result<bool, Error> {
    let found: Option<(i64,)> = tx
        .fetch_optional(
            "SELECT CAST(1 AS BIGINT) FROM connect_locks WHERE user_key = $1 AND owner = $2 \
             AND expires_at > $3",
            args![user, owner, now.millis()],
        )
        .await?;
    Ok(found.is_some())
}

async fn holds_lock(tx: &mut Tx, user: &str, owner: &str) -> Result<bool, Error> {
    let found: Option<(i64,)> = tx
        .fetch_optional(
            "SELECT CAST(1 AS BIGINT) FROM connect_locks WHERE user_key = $1 AND owner = $2",
            args![user, owner],
        )
        .await?;
    Ok(found.is_some())
}

async fn drop_lock(tx: &mut Tx, user: &str, owner: &str) -> Result<bool, Error> {
    let removed = tx
        .execute(
            "DELETE FROM connect_locks WHERE user_key = $1 AND owner = $2",
            args![user, owner],
        )
        .await?;
    Ok(removed > 0)
}

impl Registry {
    /// Rules 1–5 for `user` (and, for pair-code logins, the number known up front), without
    /// acting: what `check` prints.
    pub async fn can_connect(
        &self,
        user: &UserKey,
        phone: Option<&PhoneNumber>,
    ) -> Result<Verdict, Error> {
        let mut tx = self.db.read().await?;
        let existing = rows::load(&mut tx, user.as_str()).await?;
        let found = evaluate(&mut tx, user.as_str(), existing, phone, self.now(), true).await?;
        tx.commit().await?;
        Ok(found)
    }

    /// Takes the connect lock on `user` for `owner`, unless an unexpired lock exists.
    pub async fn acquire_lock(&self, user: &UserKey, owner: &str) -> Result<LockOutcome, Error> {
        let mut tx = self.db.write().await?;
        rows::load_existing(&mut tx, user.as_str()).await?;
        let outcome = take_lock(
            &mut tx,
            user.as_str(),
            owner,
            &self.node_id,
            self.now(),
            self.settings().lock_ttl,
        )
        .await?;
        tx.commit().await?;
        Ok(outcome)
    }

    /// Releases `owner`'s lock on `user`; false when it did not hold it.
    pub async fn release_lock(&self, user: &UserKey, owner: &str) -> Result<bool, Error> {
        let mut tx = self.db.write().await?;
        let released = drop_lock(&mut tx, user.as_str(), owner).await?;
        tx.commit().await?;
        Ok(released)
    }

    /// Marks the user `PENDING_QR`; the caller must hold the lock.
    pub async fn begin_pairing(&self, user: &UserKey, owner: &str) -> Result<Connection, Error> {
        let mut tx = self.db.write().await?;
        let before = rows::load_existing(&mut tx, user.as_str()).await?;
        if !holds_lock(&mut tx, user.as_str(), owner).await? {
            return Err(Error::LockLost(user.to_string()));
        }
        give_up_owed(&mut tx, user.as_str()).await?;
        let mut after = self.pending(&before);
        self.write_change(&mut tx, &before, &mut after).await?;
        tx.commit().await?;
        Ok(after)
    }

    /// Rules, lock and `PENDING_QR` in one transaction: the start of every connect. Refusals
    /// come back as [`Error::Refused`] with the verdict, and change nothing. On SQLite the
    /// starts that arrive together share a transaction (see `batch`); PostgreSQL has no single
    /// writer to queue for, so each start there is a transaction of its own.
    pub async fn start_connect(
        &self,
        user: &UserKey,
        owner: &str,
        phone: Option<&PhoneNumber>,
    ) -> Result<Connection, Error> {
        let request = ConnectStart {
            user: user.clone(),
            owner: owner.to_string(),
            phone: phone.cloned(),
        };
        let write = |registry: Registry, starts: Vec<ConnectStart>| async move {
            registry.start_connects(&starts).await
        };
        let unanswered = |registry: Registry, start: ConnectStart, started: bool| async move {
            if started {
                registry.end_unwanted(&start).await;
            }
        };
        self.write_batched(&self.starts, request, write, unanswered)
            .await
    }

    /// Writes `request` with `write`: on SQLite in the next batch of its kind (see `batch`);
    /// on PostgreSQL, which has no single writer to queue for, in a transaction of its own.
    /// `unanswered` is told of each request of a batch whose caller went away, and whether
    /// its write succeeded.
    async fn write_batched<R, T, W, WF, U, UF>(
        &self,
        batches: &Arc<Batches<R, Result<T, Error>>>,
        request: R,
        write: W,
        unanswered: U,
    ) -> Result<T, Error>
    where
        R: ForUser + Clone + Send + Sync + 'static,
        T: Send + 'static,
        W: Fn(Registry, Vec<R>) -> WF + Send + Sync + 'static,
        WF: Future<Output = Result<Vec<Result<T, Error>>, Error>> + Send,
        U: Fn(Registry, R, bool) -> UF + Send + Sync + 'static,
        UF: Future<Output = ()> + Send,
    {
        if self.db.is_postgres() {
            return one(write(self.clone(), vec![request]).await);
        }
        let (registry, write, unanswered) = (self.clone(), Arc::new(write), Arc::new(unanswered));
        let run = move |batch| {
            let (registry, write, unanswered) =
                (registry.clone(), write.clone(), unanswered.clone());
            async move {
                let left = batch::answer(batch, |requests| write(registry.clone(), requests)).await;
                for (request, outcome) in left {
                    unanswered(registry.clone(), request, outcome.is_ok()).await;
                }
            }
        };
        batches
            .submit(request, run)
            .await
            .unwrap_or_else(|| Err(closed()))
    }

    /// Ends the pairing of a start whose caller went away: no session will follow, so the
    /// pairing ends now instead of leaving its lock and pending QR for the cleanup.
    async fn end_unwanted(&self, start: &ConnectStart) {
        let ConnectStart { user, owner, .. } = start;
        if let Err(error) = self.end_pairing(user, owner, PairingEnd::Cancelled).await {
            tracing::warn!(%user, %error, "cannot end a pairing nobody waits for");
        }
    }

    /// The starts of `requests`, in one transaction: each one's outcome, or the error that
    /// failed the transaction. The rows and the locks of the whole batch are read and taken
    /// together; a refused start writes nothing.
    async fn start_connects(
        &self,
        requests: &[ConnectStart],
    ) -> Result<Vec<Result<Connection, Error>>, Error> {
        let now = self.now();
        let mut tx = self.db.write().await?;
        let users: Vec<&str> = requests
            .iter()
            .map(|request| request.user.as_str())
            .collect();
        let mut loaded = rows::load_for_new_pairings(&mut tx, &users).await?;
        let mut outcomes: Vec<Result<Connection, Error>> = Vec::with_capacity(requests.len());
        // The requests the rules allow, by position, with what their rows say.
        let mut allowed: Vec<(usize, NewPairingRow)> = Vec::new();
        for request in requests {
            let user = request.user.as_str();
            let found = loaded.remove(user);
            let existing = found.as_ref().map(|found| found.row.clone());
            let verdict =
                evaluate(&mut tx, user, existing, request.phone.as_ref(), now, false).await?;
            match found {
                Some(found) if verdict.allowed => allowed.push((outcomes.len(), found)),
                _ => {}
            }
            outcomes.push(Err(Error::Refused(Box::new(verdict))));
        }
        let pairings: Vec<(&str, &str)> = allowed
            .iter()
            .map(|(at, _)| (users[*at], requests[*at].owner.as_str()))
            .collect();
        let ttl = self.settings().lock_ttl;
        let held = take_locks(&mut tx, &pairings, &self.node_id, now, ttl).await?;
        let mut changes = Vec::with_capacity(allowed.len());
        let mut changed_at = Vec::with_capacity(allowed.len());
        for (at, found) in allowed {
            let user = users[at];
            if let Some(expires_at) = held.get(user) {
                let message = format!(
                    "another connect attempt is in progress (its lock expires in {})",
                    format_duration(now.until(*expires_at))
                );
                let refused = verdict(
                    user,
                    ReasonCode::ConnectInProgress,
                    message,
                    Some(found.row),
                );
                outcomes[at] = Err(Error::Refused(Box::new(refused)));
                continue;
            }
            if found.owes_unlink {
                give_up_owed(&mut tx, user).await?;
            }
            let after = self.pending(&found.row);
            changes.push(Change {
                holds_no_credentials: !found.holds_credentials,
                ..Change::new(found.row, after)
            });
            changed_at.push(at);
        }
        self.write_changes(&mut tx, &mut changes).await?;
        tx.commit().await?;
        for (at, change) in changed_at.into_iter().zip(changes) {
            outcomes[at] = Ok(change.after);
        }
        Ok(outcomes)
    }

    fn pending(&self, before: &Connection) -> Connection {
        let now = self.now();
        Connection {
            status: Status::PendingQr,
            phone_number: None,
            qr_issued_at: None,
            qr_expires_at: Some(now.plus(self.settings().qr_ttl)),
            reconnect_attempts: 0,
            node_id: Some(self.node_id.clone()),
            reason: "waiting for the QR code to be scanned".into(),
            paused_until: None,
            updated_at: now,
            ..before.clone()
        }
    }

    /// Records a new QR code (or pair code) of `owner`'s pending pairing and emits its event.
    /// On SQLite the codes shown together are recorded in one transaction (see `batch`).
    pub async fn record_qr(
        &self,
        user: &UserKey,
        owner: &str,
        code: &str,
        valid_for: Duration,
        pair_code: bool,
    ) -> Result<Connection, Error> {
        let shown = CodeShown {
            user: user.clone(),
            owner: owner.to_string(),
            code: code.to_string(),
            valid_for,
            pair_code,
        };
        let write = |registry: Registry, codes: Vec<CodeShown>| async move {
            registry.record_codes(&codes).await
        };
        // A code nobody waits for is recorded all the same: its pairing goes on.
        let unanswered = |_: Registry, _: CodeShown, _: bool| async {};
        self.write_batched(&self.codes, shown, write, unanswered)
            .await
    }

    /// Records each of `codes` in one transaction: each one's row, or why it is not recorded
    /// (the pairing lost its lock, the user is gone); the error that failed the transaction.
    async fn record_codes(
        &self,
        codes: &[CodeShown],
    ) -> Result<Vec<Result<Connection, Error>>, Error> {
        let now = self.now();
        let mut tx = self.db.write().await?;
        let pairings: Vec<(&str, &str)> = codes
            .iter()
            .map(|shown| (shown.user.as_str(), shown.owner.as_str()))
            .collect();
        let mut marked = rows::mark_codes_issued(&mut tx, &pairings, now).await?;
        let unmarked: Vec<&str> = pairings
            .iter()
            .map(|(user, _)| *user)
            .filter(|user| !marked.contains_key(*user))
            .collect();
        let existing = if unmarked.is_empty() {
            Vec::new()
        } else {
            rows::existing(&mut tx, &unmarked).await?
        };
        let mut outcomes = Vec::with_capacity(codes.len());
        for shown in codes {
            let user = shown.user.as_str();
            let Some(row) = marked.remove(user) else {
                outcomes.push(if existing.iter().any(|known| known == user) {
                    Err(Error::LockLost(user.to_string()))
                } else {
                    Err(Error::UnknownUser(user.to_string()))
                });
                continue;
            };
            let pairing_expires_at = row.qr_expires_at.unwrap_or(now);
            let code_expires_at = now.plus(shown.valid_for).min(pairing_expires_at);
            let event = NewEvent::new(
                EventKind::Qr,
                user,
                if shown.pair_code {
                    "new pair code"
                } else {
                    "new QR code"
                },
                json!({
                    "code": shown.code,
                    "pair_code": shown.pair_code,
                    "code_expires_at": code_expires_at,
                    "pairing_expires_at": pairing_expires_at,
                }),
            );
            events::append(&mut tx, now, &self.node_id, event);
            outcomes.push(Ok(row));
        }
        tx.commit().await?;
        Ok(outcomes)
    }

    /// A phone scanned `owner`'s QR and reported `phone`: apply the conflict policy, connect
    /// the user, release the lock, all in one transaction.
    pub async fn complete_pairing(
        &self,
        user: &UserKey,
        owner: &str,
        phone: &PhoneNumber,
        policy: ConflictPolicy,
    ) -> Result<PairingOutcome, Error> {
        let now = self.now();
        let mut tx = self.db.write().await?;
        // The number first, then the rows in key order: the order every writer locks in.
        tx.lock_phone(phone.as_str()).await?;
        let (mine, holders): (Vec<Connection>, Vec<Connection>) = rows::into_connections(
            tx.fetch_all_locking(
                locking!(concat!(
                    "SELECT ",
                    connection_columns!(),
                    " FROM whatsapp_connections WHERE user_key = $2 OR phone_number = $1 \
                     ORDER BY user_key"
                )),
                args![phone.as_str(), user.as_str()],
            )
            .await?,
        )?
        .into_iter()
        .partition(|row| row.user == user.as_str());
        let before = mine
            .into_iter()
            .next()
            .ok_or_else(|| Error::UnknownUser(user.to_string()))?;
        if before.status != Status::PendingQr
            || !holds_live_lock(&mut tx, user.as_str(), owner, now).await?
        {
            return Err(Error::LockLost(user.to_string()));
        }
        let blocking: Vec<String> = holders
            .iter()
            .filter(|holder| holder.status != Status::LoggedOut)
            .map(|holder| holder.user.clone())
            .collect();

        if policy == ConflictPolicy::RejectNew && !blocking.is_empty() {
            // The new link is unlinked after this commits: owed until WhatsApp confirms.
            let released = [Released {
                user_key: user.as_str(),
                phone_number: phone.as_str(),
                node_id: Some(self.node_id.as_str()),
                error: format!("{MESSAGE_NUMBER_TAKEN} (reject-new): unlink not confirmed"),
            }];
            owe_unlinks(&mut tx, &released, now).await?;
            let mut after = transitions::pairing_ended(
                &before,
                format!("{MESSAGE_NUMBER_TAKEN} ({phone})"),
                now,
            );
            self.write_change(&mut tx, &before, &mut after).await?;
            drop_lock(&mut tx, user.as_str(), owner).await?;
            let event = NewEvent::new(
                EventKind::Pairing,
                user.as_str(),
                after.reason.clone(),
                json!({ "result": "rejected", "phone_number": phone, "holders": blocking }),
            );
            events::append(&mut tx, now, &self.node_id, event);
            tx.commit().await?;
            return Ok(PairingOutcome::Rejected { holders: blocking });
        }

        // Their devices are unlinked after this commits: owed until WhatsApp confirms.
        let released: Vec<Released> = holders
            .iter()
            .map(|holder| Released {
                user_key: &holder.user,
                phone_number: phone.as_str(),
                node_id: holder.node_id.as_deref(),
                error: format!("number taken by {user} (newest wins): unlink not confirmed"),
            })
            .collect();
        owe_unlinks(&mut tx, &released, now).await?;
        drop(released);
        let mut displaced = Vec::new();
        for holder in holders {
            let mut after = Connection {
                status: Status::LoggedOut,
                phone_number: None,
                qr_issued_at: None,
                qr_expires_at: None,
                reconnect_attempts: 0,
                paused_until: None,
                reason: format!("number {phone} was paired by {user}: logged out (newest wins)"),
                updated_at: now,
                ..holder.clone()
            };
            self.write_change(&mut tx, &holder, &mut after).await?;
            displaced.push(DetachedHolder {
                user: holder.user,
                status: holder.status,
                node_id: holder.node_id,
            });
        }
        let mut after = Connection {
            status: Status::Connected,
            phone_number: Some(phone.to_string()),
            qr_issued_at: None,
            qr_expires_at: None,
            last_connected_at: Some(now),
            reconnect_attempts: 0,
            node_id: Some(self.node_id.clone()),
            reason: format!("paired with {phone}"),
            paused_until: None,
            updated_at: now,
            ..before.clone()
        };
        self.write_change(&mut tx, &before, &mut after).await?;
        drop_lock(&mut tx, user.as_str(), owner).await?;
        let displaced_users: Vec<&str> = displaced.iter().map(|d| d.user.as_str()).collect();
        let event = NewEvent::new(
            EventKind::Pairing,
            user.as_str(),
            after.reason.clone(),
            json!({ "result": "paired", "phone_number": phone, "displaced": displaced_users }),
        );
        events::append(&mut tx, now, &self.node_id, event);
        tx.commit().await?;
        Ok(PairingOutcome::Paired {
            connection: after,
            displaced,
        })
    }

    /// Ends `owner`'s pairing without a scan: the row goes back to `DISCONNECTED` and the lock
    /// is released. Returns `None` when the pairing was no longer `owner`'s to end.
    pub async fn end_pairing(
        &self,
        user: &UserKey,
        owner: &str,
        end: PairingEnd,
    ) -> Result<Option<Connection>, Error> {
        let now = self.now();
        let mut tx = self.db.write().await?;
        let Some(before) = rows::load(&mut tx, user.as_str()).await? else {
            return Ok(None);
        };
        let owned = holds_lock(&mut tx, user.as_str(), owner).await?;
        let lock_free = !owned
            && tx
                .fetch_optional::<(i64,)>(
                    "SELECT CAST(1 AS BIGINT) FROM connect_locks WHERE user_key = $1",
                    args![user.as_str()],
                )
                .await?
                .is_none();
        let mine = before.node_id.as_deref() == Some(self.node_id.as_str());
        if before.status != Status::PendingQr || !(owned || (lock_free && mine)) {
            if owned {
                drop_lock(&mut tx, user.as_str(), owner).await?;
            }
            tx.commit().await?;
            return Ok(None);
        }
        let ended = self
            .end_pairings(&mut tx, vec![before], now, end.result(), |_| end.reason())
            .await?;
        tx.commit().await?;
        Ok(ended.into_iter().next())
    }

    /// Ends the pairings of `rows` (their locks go with them, see `change`), each with a
    /// state event and a pairing event of `result`. Returns the rows as they are now.
    pub(crate) async fn end_pairings(
        &self,
        tx: &mut Tx,
        rows: Vec<Connection>,
        now: Timestamp,
        result: &str,
        reason: impl Fn(&Connection) -> String,
    ) -> Result<Vec<Connection>, Error> {
        let mut changes: Vec<Change> = rows
            .into_iter()
            .map(|before| {
                let after = transitions::pairing_ended(&before, reason(&before), now);
                Change::new(before, after)
            })
            .collect();
        self.write_changes(tx, &mut changes).await?;
        for change in &changes {
            let event = NewEvent::new(
                EventKind::Pairing,
                &change.after.user,
                change.after.reason.clone(),
                json!({ "result": result }),
            );
            events::append(tx, now, &self.node_id, event);
        }
        Ok(changes.into_iter().map(|change| change.after).collect())
    }
}

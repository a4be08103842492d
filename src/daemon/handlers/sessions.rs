//! `check`, `connect`, `reconnect`, `disconnect`, `logout`, `send`: one user's session.

use std::sync::Arc;

use tokio::sync::{broadcast, watch};

use super::{phone_number, user_key, Outbound};
use crate::backend::{self, StartMode};
use crate::daemon::supervisor::{PairingResult, PairingUpdate, Supervisor};
use crate::daemon::Error;
use crate::model::{Connection, Verdict};
use crate::protocol::{
    notification, CheckParams, ConnectOutcome, ConnectParams, ConnectResult, SendParams,
    SendResult, UserParams,
};

pub async fn check(supervisor: &Supervisor, params: CheckParams) -> Result<Verdict, Error> {
    let user = user_key(&params.user)?;
    let phone = params.phone.as_deref().map(phone_number).transpose()?;
    Ok(supervisor
        .registry()
        .can_connect(&user, phone.as_ref())
        .await?)
}

/// Starts a pairing and streams its codes as `qr` notifications until it ends (or, with
/// `detach`, until the first code). A client that goes away cancels a non-detached pairing.
pub async fn connect(
    supervisor: &Arc<Supervisor>,
    params: ConnectParams,
    out: &Outbound,
    mut closed: watch::Receiver<bool>,
) -> Result<ConnectResult, Error> {
    let user = user_key(&params.user)?;
    let mode = match (params.pair_code, params.phone.as_deref()) {
        (true, Some(phone)) => StartMode::PairCode(phone_number(phone)?),
        (true, None) => {
            return Err(Error::InvalidParams(
                "a pair-code login needs the phone number (--phone)".into(),
            ))
        }
        (false, Some(_)) => {
            return Err(Error::InvalidParams(
                "--phone is only used with --pair-code".into(),
            ))
        }
        (false, None) => StartMode::PairQr,
    };
    let mut pairing = match supervisor.connect(&user, mode).await {
        Ok(pairing) => pairing,
        Err(error) => {
            if let Some(reason) = error.reason_code() {
                crate::metrics::counters().pairing_refused(&reason);
            }
            return Err(error);
        }
    };
    loop {
        tokio::select! {
            update = pairing.updates.recv() => match update {
                Ok(PairingUpdate::Qr(notice)) => {
                    let delivered = out.notify(notification::QR, &notice).await;
                    if params.detach {
                        return Ok(ConnectResult {
                            user: user.to_string(),
                            outcome: ConnectOutcome::Pending,
                            phone_number: None,
                            displaced: Vec::new(),
                            qr: Some(notice),
                        });
                    }
                    if !delivered {
                        supervisor.cancel(&user, pairing.generation).await;
                    }
                }
                Ok(PairingUpdate::Finished(result)) => return finished(&user.to_string(), result),
                Err(broadcast::error::RecvError::Lagged(_)) => continue,
                Err(broadcast::error::RecvError::Closed) => {
                    return Err(Error::Io("the pairing ended without a result".into()))
                }
            },
            changed = closed.changed(), if !params.detach => {
                if changed.is_err() || *closed.borrow() {
                    supervisor.cancel(&user, pairing.generation).await;
                    return Err(Error::Cancelled("connect cancelled: the client went away".into()));
                }
            }
        }
    }
}

fn finished(user: &str, result: PairingResult) -> Result<ConnectResult, Error> {
    match result {
        PairingResult::Paired { phone, displaced } => Ok(ConnectResult {
            user: user.to_string(),
            outcome: ConnectOutcome::Paired,
            phone_number: Some(phone),
            displaced,
            qr: None,
        }),
        PairingResult::Refused {
            message,
            reason_code,
        } => Err(Error::Refused {
            message,
            reason_code: Some(reason_code),
        }),
        PairingResult::Expired => Err(Error::TimedOut(
            "QR code not scanned in time: run connect again for a new one".into(),
        )),
        PairingResult::Cancelled => Err(Error::refused(
            "pairing cancelled (by an operator, a reset or a cleanup)",
        )),
        PairingResult::Failed { message } => Err(backend::Error::Unreachable(message).into()),
    }
}

pub async fn reconnect(
    supervisor: &Arc<Supervisor>,
    params: UserParams,
) -> Result<Connection, Error> {
    let user = user_key(&params.user)?;
    let row = supervisor.registry().connection(&user).await?;
    if row.phone_number.is_none() {
        return Err(Error::refused(format!(
            "{user} has no linked number ({}): use connect to pair",
            row.status
        )));
    }
    supervisor.resume(&user).await?;
    Ok(supervisor.registry().connection(&user).await?)
}

pub async fn disconnect(supervisor: &Supervisor, params: UserParams) -> Result<Connection, Error> {
    supervisor.disconnect(&user_key(&params.user)?).await
}

pub async fn logout(supervisor: &Arc<Supervisor>, params: UserParams) -> Result<Connection, Error> {
    supervisor.logout(&user_key(&params.user)?).await
}

/// The longest idempotency key `send` takes.
const MAX_IDEMPOTENCY_KEY: usize = 128;

pub async fn send(supervisor: &Supervisor, params: SendParams) -> Result<SendResult, Error> {
    let user = user_key(&params.user)?;
    let to = phone_number(&params.to)?;
    if params.text.is_empty() {
        return Err(Error::InvalidParams("the message text is empty".into()));
    }
    if let Some(key) = &params.idempotency_key {
        if key.is_empty() || key.len() > MAX_IDEMPOTENCY_KEY {
            return Err(Error::InvalidParams(format!(
                "the idempotency key must be 1 to {MAX_IDEMPOTENCY_KEY} characters"
            )));
        }
    }
    let (message_id, duplicate) = supervisor
        .send(&user, &to, &params.text, params.idempotency_key.as_deref())
        .await?;
    Ok(SendResult {
        user: user.to_string(),
        to: to.to_string(),
        message_id,
        duplicate,
    })
}

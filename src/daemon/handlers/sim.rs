//! `sim.scan`, `sim.event`, `sim.message`, `sim.sent`: a test acting as the user's phone.
//! Only backends with phone controls accept them: the simulated one, and (test builds) the
//! real one against a test WhatsApp peer, which also answers `sim.peer` with its counters.

use std::sync::Arc;

use super::{phone_number, user_key};
use crate::backend::PhoneControls;
use crate::daemon::supervisor::Supervisor;
use crate::daemon::Error;
use crate::protocol::{
    SimEventParams, SimMessageParams, SimResult, SimScanParams, SimSentResult, UserParams,
};

fn phone(supervisor: &Supervisor) -> Result<Arc<dyn PhoneControls>, Error> {
    supervisor.backend().phone().ok_or_else(|| {
        Error::InvalidParams(format!(
            "sim commands need a daemon started with --backend simulated (this one runs {})",
            supervisor.backend().name()
        ))
    })
}

pub async fn scan(supervisor: &Supervisor, params: SimScanParams) -> Result<SimResult, Error> {
    let controls = phone(supervisor)?;
    let user = user_key(&params.user)?;
    let number = phone_number(&params.phone)?;
    controls.scan(&user, &number).await?;
    Ok(SimResult {
        user: user.to_string(),
        done: format!("scanned as {number}"),
    })
}

pub async fn event(supervisor: &Supervisor, params: SimEventParams) -> Result<SimResult, Error> {
    let controls = phone(supervisor)?;
    let user = user_key(&params.user)?;
    controls.event(&user, params.event).await?;
    Ok(SimResult {
        user: user.to_string(),
        done: params.event.as_str().to_string(),
    })
}

pub async fn message(
    supervisor: &Supervisor,
    params: SimMessageParams,
) -> Result<SimResult, Error> {
    let controls = phone(supervisor)?;
    let user = user_key(&params.user)?;
    let from = phone_number(&params.from)?;
    for n in 1..=params.count {
        let text = if params.count == 1 {
            params.text.clone()
        } else {
            format!("{} #{n}", params.text)
        };
        controls.message(&user, &from, &text).await?;
    }
    Ok(SimResult {
        user: user.to_string(),
        done: match params.count {
            1 => format!("message from {from} delivered"),
            count => format!("{count} messages from {from} delivered"),
        },
    })
}

pub async fn sent(supervisor: &Supervisor, params: UserParams) -> Result<SimSentResult, Error> {
    let controls = phone(supervisor)?;
    let user = user_key(&params.user)?;
    Ok(SimSentResult {
        messages: controls.sent(&user).await?,
        user: user.to_string(),
    })
}

#[cfg(feature = "wa-peer")]
pub async fn peer(supervisor: &Supervisor) -> Result<serde_json::Value, Error> {
    Ok(phone(supervisor)?.peer().await?)
}

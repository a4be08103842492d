//! `subscribe`: the event outbox as notifications on a held connection. It reads the outbox
//! (never an in-memory queue), so a subscriber resuming with `since` sees exactly what it
//! missed, and events written by other nodes arrive too.

use std::time::Duration;

use tokio::sync::watch;

use super::{user_key, Context, Outbound};
use crate::daemon::Error;
use crate::protocol::{notification, SubscribeParams, SubscribeResult};

/// The reason code of a `since` older than what the outbox still holds.
pub const HISTORY_TRUNCATED: &str = "history_truncated";

/// Events read per query.
const BATCH: u32 = 500;
/// How often the outbox is read when nothing here rang (events of other nodes).
const POLL: Duration = Duration::from_millis(500);

pub async fn subscribe(
    context: &Context,
    params: SubscribeParams,
    out: &Outbound,
    mut closed: watch::Receiver<bool>,
) -> Result<SubscribeResult, Error> {
    let registry = context.supervisor.registry();
    let user = params.user.as_deref().map(user_key).transpose()?;
    let mut last_id = match params.since {
        Some(id) => id.max(0),
        None => registry.last_event_id().await?,
    };
    if params.since.is_some() {
        let pruned = registry.events_pruned_through().await?;
        if last_id < pruned {
            return Err(Error::Refused {
                message: format!(
                    "history truncated: events up to {pruned} were pruned (event_retention); \
                     resume with --since {pruned} to accept the gap, or omit --since"
                ),
                reason_code: Some(HISTORY_TRUNCATED.into()),
            });
        }
    }
    let outbox = context.supervisor.outbox();
    let mut shutdown = context.shutdown.clone();
    let mut delivered = 0;
    loop {
        // Registered before reading, so an event written meanwhile still wakes us.
        let rang = outbox.notified();
        tokio::pin!(rang);
        rang.as_mut().enable();
        let events = registry.events_after(last_id, user.as_ref(), BATCH).await?;
        let full = events.len() == BATCH as usize;
        for event in events {
            last_id = event.id;
            if !params.kinds.is_empty() && !params.kinds.contains(&event.kind) {
                continue;
            }
            if !out.notify(notification::EVENT, &event).await {
                return Ok(SubscribeResult { delivered, last_id });
            }
            delivered += 1;
        }
        if full {
            continue;
        }
        tokio::select! {
            _ = &mut rang => {}
            _ = tokio::time::sleep(POLL) => {}
            _ = closed.changed() => break,
            _ = shutdown.changed() => break,
        }
    }
    Ok(SubscribeResult { delivered, last_id })
}

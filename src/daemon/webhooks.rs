//! Webhook delivery from the event outbox: each configured endpoint gets every event of its
//! kinds as an HTTP POST of the event's JSON, signed with HMAC-SHA256 over the time of sending
//! and the body (`t=<unix seconds>,v1=<hex>`, so a captured request cannot be replayed later),
//! with the event id as idempotency key. Failures retry with exponential back-off and jitter, up to
//! `max_attempts`, then become dead letters (`wasess webhooks retry` revives them). A user's
//! later events wait behind a failing one, so each user's events arrive in order; different
//! users' events are sent concurrently (`concurrency`) over the agent's pooled connections.
//!
//! All state is in the registry (cursor, queue, lease), so a restart resumes where delivery
//! stopped. An event is recorded as delivered only after the receiver answered 2xx; a crash
//! between the two sends it again, which the idempotency key lets the receiver ignore.

use std::collections::{BTreeMap, HashSet};
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use futures::StreamExt;

use hmac::{Hmac, Mac};
use sha2::Sha256;
use tokio::sync::watch;
use tracing::{debug, info, warn};

use super::supervisor::Supervisor;
use crate::model::Event;
use crate::registry::{Queued, Registry};
use crate::time::Timestamp;

/// How long a node's claim on an endpoint lasts without renewal.
const LEASE: Duration = Duration::from_secs(30);
/// How often the outbox is read when nothing here rang.
const POLL: Duration = Duration::from_millis(500);
/// Events read per round.
const BATCH: u32 = 200;

pub const SIGNATURE_HEADER: &str = "X-Wasess-Signature";
pub const EVENT_ID_HEADER: &str = "Idempotency-Key";
pub const KIND_HEADER: &str = "X-Wasess-Event";

pub use super::config::WebhookConfig;

impl WebhookConfig {
    fn wants(&self, event: &Event) -> bool {
        self.events.is_empty() || self.events.contains(&event.kind)
    }

    /// The wait before retry number `attempts + 1`, with ±20% jitter so a recovering
    /// receiver is not hit by every queued event at once.
    fn backoff(&self, attempts: u32) -> Duration {
        let exponent = attempts.saturating_sub(1).min(20);
        let base = self
            .backoff
            .saturating_mul(1u32 << exponent)
            .min(self.max_backoff);
        let nanos = SystemTime::now()
            .duration_since(SystemTime::UNIX_EPOCH)
            .map(|d| d.subsec_nanos())
            .unwrap_or(0);
        let jitter = 0.8 + f64::from(nanos % 400) / 1000.0;
        base.mul_f64(jitter)
    }
}

/// The signature header's value for `body` sent at `timestamp` (Unix seconds):
/// `t=<timestamp>,v1=<hex HMAC-SHA256 of "<timestamp>.<body>" under secret>`. Receivers
/// recompute it and refuse a timestamp more than [`SIGNATURE_TOLERANCE`] away from their clock.
pub fn signature(secret: &str, timestamp: u64, body: &[u8]) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes())
        .unwrap_or_else(|_| unreachable!("HMAC takes keys of any length"));
    mac.update(format!("{timestamp}.").as_bytes());
    mac.update(body);
    let digest = mac.finalize().into_bytes();
    let hex: String = digest.iter().map(|b| format!("{b:02x}")).collect();
    format!("t={timestamp},v1={hex}")
}

/// How far a signature's timestamp may be from the receiver's clock (documented for
/// receivers; a retry is signed anew when it is sent).
pub const SIGNATURE_TOLERANCE: Duration = Duration::from_secs(300);

/// Delivers to `endpoint` until shutdown.
pub async fn run(
    supervisor: Arc<Supervisor>,
    endpoint: WebhookConfig,
    mut shutdown: watch::Receiver<bool>,
) {
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .timeout_global(Some(endpoint.timeout))
        .http_status_as_error(false)
        .build()
        .into();
    let outbox = supervisor.outbox();
    info!(endpoint = %endpoint.name, url = %endpoint.url, "webhook delivery started");
    loop {
        let rang = outbox.notified();
        tokio::pin!(rang);
        rang.as_mut().enable();
        let worked = match round(supervisor.registry(), &endpoint, &agent).await {
            Ok(worked) => worked,
            Err(error) => {
                warn!(endpoint = %endpoint.name, %error, "webhook delivery round failed");
                false
            }
        };
        if worked {
            continue;
        }
        tokio::select! {
            _ = &mut rang => {}
            _ = tokio::time::sleep(POLL) => {}
            _ = shutdown.changed() => return,
        }
    }
}

/// One round: due retries, then a batch of new events. Returns whether it did anything.
async fn round(
    registry: &Registry,
    endpoint: &WebhookConfig,
    agent: &ureq::Agent,
) -> Result<bool, crate::registry::Error> {
    let Some(cursor) = registry.webhook_lease(&endpoint.name, LEASE).await? else {
        return Ok(false);
    };
    let mut worked = false;
    for (event, attempts) in registry.webhook_due(&endpoint.name, BATCH).await? {
        worked = true;
        match post(agent, endpoint, &event).await {
            Ok(()) => registry.webhook_delivered(&endpoint.name, event.id).await?,
            Err(error) => {
                let entry = failure(endpoint, &event, attempts + 1, error, registry.now());
                registry.webhook_enqueue(&endpoint.name, &entry).await?;
            }
        }
    }
    let events = registry.events_after(cursor, None, BATCH).await?;
    let Some(through) = events.last().map(|event| event.id) else {
        return Ok(worked);
    };
    let blocked = registry.webhook_blocked_users(&endpoint.name).await?;
    let waiting = deliver_batch(registry, endpoint, agent, &events, &blocked).await;
    registry
        .webhook_settle(&endpoint.name, through, &waiting)
        .await?;
    Ok(true)
}

/// Sends a batch: each user's events in order, one at a time, and up to
/// `endpoint.concurrency` users at once. Returns the events that must wait in the queue: a
/// user's first failure and everything of that user after it (or all of a user already
/// waiting behind an earlier failure). The caller records them and the cursor in one
/// transaction; a crash before that sends the batch again, which the idempotency key covers.
async fn deliver_batch<'a>(
    registry: &Registry,
    endpoint: &WebhookConfig,
    agent: &ureq::Agent,
    events: &'a [Event],
    blocked: &HashSet<String>,
) -> Vec<Queued<'a>> {
    let mut by_user: BTreeMap<&str, Vec<&'a Event>> = BTreeMap::new();
    for event in events.iter().filter(|event| endpoint.wants(event)) {
        let user = event.user.as_deref().unwrap_or_default();
        by_user.entry(user).or_default().push(event);
    }
    let deliveries: Vec<_> = by_user
        .into_iter()
        .map(|(user, events)| {
            deliver_user(registry, endpoint, agent, events, blocked.contains(user))
        })
        .collect();
    futures::stream::iter(deliveries)
        .buffer_unordered(endpoint.concurrency.max(1))
        .collect::<Vec<_>>()
        .await
        .into_iter()
        .flatten()
        .collect()
}

/// Sends one user's `events` in order; returns those that must wait (see [`deliver_batch`]).
async fn deliver_user<'a>(
    registry: &Registry,
    endpoint: &WebhookConfig,
    agent: &ureq::Agent,
    events: Vec<&'a Event>,
    held: bool,
) -> Vec<Queued<'a>> {
    let mut waiting = Vec::new();
    for event in events {
        if held || !waiting.is_empty() {
            // Behind an earlier event of the same user: keep the order.
            waiting.push(Queued {
                event,
                attempts: 0,
                next_attempt_at: registry.now(),
                error: String::new(),
                dead: false,
            });
        } else if let Err(error) = post(agent, endpoint, event).await {
            waiting.push(failure(endpoint, event, 1, error, registry.now()));
        }
    }
    waiting
}

/// The queue entry of `event` after its try number `attempts` failed with `error`: a retry
/// after the back-off, or a dead letter once the attempts are used up.
fn failure<'a>(
    endpoint: &WebhookConfig,
    event: &'a Event,
    attempts: u32,
    error: String,
    now: Timestamp,
) -> Queued<'a> {
    crate::metrics::counters().webhook_failed(&endpoint.name);
    let dead = attempts >= endpoint.max_attempts;
    if dead {
        warn!(endpoint = %endpoint.name, event = event.id, attempts, %error, "webhook event dead-lettered");
    } else {
        debug!(endpoint = %endpoint.name, event = event.id, attempts, %error, "webhook delivery failed; will retry");
    }
    Queued {
        event,
        attempts,
        next_attempt_at: now.plus(endpoint.backoff(attempts)),
        error,
        dead,
    }
}

/// POSTs `event`; `Ok` only for a 2xx answer.
async fn post(agent: &ureq::Agent, endpoint: &WebhookConfig, event: &Event) -> Result<(), String> {
    let body = serde_json::to_vec(event).map_err(|error| error.to_string())?;
    let now = SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .map(|since| since.as_secs())
        .unwrap_or(0);
    let signature = signature(&endpoint.secret, now, &body);
    let (agent, url, id, kind) = (
        agent.clone(),
        endpoint.url.clone(),
        event.id.to_string(),
        event.kind.as_str(),
    );
    let sent = tokio::task::spawn_blocking(move || {
        agent
            .post(&url)
            .header("Content-Type", "application/json")
            .header(SIGNATURE_HEADER, &signature)
            .header(EVENT_ID_HEADER, &id)
            .header(KIND_HEADER, kind)
            .send(&body[..])
            .map(|response| response.status().as_u16())
    })
    .await
    .map_err(|error| format!("delivery task failed: {error}"))?;
    match sent {
        Ok(status) if (200..300).contains(&status) => Ok(()),
        Ok(status) => Err(format!("HTTP {status}")),
        Err(error) => Err(error.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signatures_cover_the_timestamp_and_the_body() {
        // HMAC-SHA256 (RFC 4231's key) of "1700000000.what do ya want for nothing?".
        assert_eq!(
            signature("Jefe", 1_700_000_000, b"what do ya want for nothing?"),
            "t=1700000000,v1=1cdd0650c8be1cb0974b1788d458b1e781206cfef59b85faafc582d2e182c57e"
        );
        let signed = signature("Jefe", 1_700_000_000, b"{}");
        assert!(signed.starts_with("t=1700000000,v1="), "{signed}");
        assert_eq!(signed.len(), "t=1700000000,v1=".len() + 64);
        // Another time or another body, another signature.
        assert_ne!(signed, signature("Jefe", 1_700_000_001, b"{}"));
        assert_ne!(signed, signature("Jefe", 1_700_000_000, b"{ }"));
    }

    #[test]
    fn backoff_doubles_up_to_the_cap_with_jitter() {
        let endpoint: WebhookConfig = toml::from_str(
            "name = \"app\"\nurl = \"http://127.0.0.1:1/\"\nsecret = \"s\"\nbackoff = \"1s\"\nmax_backoff = \"10s\"\n",
        )
        .expect("config");
        for (attempts, base) in [(1, 1.0), (2, 2.0), (3, 4.0), (4, 8.0), (9, 10.0)] {
            let wait = endpoint.backoff(attempts).as_secs_f64();
            assert!(
                wait >= base * 0.8 && wait <= base * 1.2,
                "attempt {attempts}: {wait}s"
            );
        }
        assert!(
            !format!("{endpoint:?}").contains("\"s\""),
            "the secret stays out of logs"
        );
    }
}

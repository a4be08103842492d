//! What this process counts, for `/metrics` and `wasess top` (see `daemon::metrics`).
//!
//! Counters and histograms live for the whole process, in one place ([`counters`]), the way
//! a Prometheus client library keeps its default registry: the registry layer, the
//! supervisor and the webhook workers add to them where things happen, and the exporter
//! reads them. Gauges are not kept here: they are read fresh from the registry at each
//! scrape, so they never go stale.
//!
//! Labels take values from fixed sets only (a status, a pairing result, a reason code, a
//! configured webhook endpoint), never a user or a number, so the number of series stays
//! bounded however many tenants there are.

use std::sync::OnceLock;
use std::time::Duration;

use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::histogram::{exponential_buckets, Histogram};

/// A label set with one label.
pub type Label = [(&'static str, String); 1];

pub fn label(name: &'static str, value: &str) -> Label {
    [(name, value.to_string())]
}

/// The pairing results a `pairing` event may carry; anything else counts as `other`.
const PAIRING_RESULTS: [&str; 5] = ["paired", "rejected", "expired", "cancelled", "failed"];

/// This process's counters and histograms.
pub struct Counters {
    pub pairings_started: Counter,
    /// By `result`: paired, rejected, expired, cancelled, failed (a restart's interrupted
    /// pairings included).
    pub pairings_finished: Family<Label, Counter>,
    /// Connects refused before a pairing started, by the rule's `reason` code.
    pub pairings_refused: Family<Label, Counter>,
    pub reconnect_attempts: Counter,
    /// Sessions that used up their reconnect attempts.
    pub reconnect_give_ups: Counter,
    /// Streams WhatsApp replaced (the session went to `CONFLICT`).
    pub streams_replaced: Counter,
    /// Sessions this node claimed from nodes that stopped heart-beating.
    pub takeovers: Counter,
    /// Times this node closed its clients because it could not renew its lease.
    pub fencings: Counter,
    /// Events this node committed to the outbox, by `kind`.
    pub events_written: Family<Label, Counter>,
    /// Failed webhook deliveries, by configured `endpoint`.
    pub webhook_failures: Family<Label, Counter>,
    /// Committed registry write transactions, from their first statement to their commit.
    pub transaction_seconds: Histogram,
    /// How long a backend event waited in its session's queue before its worker took it.
    pub event_queue_wait_seconds: Histogram,
}

/// The process's counters; created on first use.
pub fn counters() -> &'static Counters {
    static COUNTERS: OnceLock<Counters> = OnceLock::new();
    COUNTERS.get_or_init(|| Counters {
        pairings_started: Counter::default(),
        pairings_finished: Family::default(),
        pairings_refused: Family::default(),
        reconnect_attempts: Counter::default(),
        reconnect_give_ups: Counter::default(),
        streams_replaced: Counter::default(),
        takeovers: Counter::default(),
        fencings: Counter::default(),
        events_written: Family::default(),
        webhook_failures: Family::default(),
        // 0.5 ms to about 16 s.
        transaction_seconds: Histogram::new(exponential_buckets(0.0005, 2.0, 16)),
        event_queue_wait_seconds: Histogram::new(exponential_buckets(0.0005, 2.0, 16)),
    })
}

impl Counters {
    pub fn pairing_finished(&self, result: &str) {
        let result = PAIRING_RESULTS
            .iter()
            .find(|known| **known == result)
            .copied()
            .unwrap_or("other");
        self.pairings_finished
            .get_or_create(&label("result", result))
            .inc();
    }

    pub fn pairing_refused(&self, reason: &str) {
        self.pairings_refused
            .get_or_create(&label("reason", reason))
            .inc();
    }

    pub fn event_written(&self, kind: &str) {
        self.events_written
            .get_or_create(&label("kind", kind))
            .inc();
    }

    pub fn webhook_failed(&self, endpoint: &str) {
        self.webhook_failures
            .get_or_create(&label("endpoint", endpoint))
            .inc();
    }

    pub fn transaction_committed(&self, took: Duration) {
        self.transaction_seconds.observe(took.as_secs_f64());
    }

    pub fn event_dequeued(&self, waited: Duration) {
        self.event_queue_wait_seconds.observe(waited.as_secs_f64());
    }
}

/// A family's counters for the label `name` taking each of `values`, zeros included.
pub fn by_label(
    family: &Family<Label, Counter>,
    name: &'static str,
    values: &[&str],
) -> std::collections::BTreeMap<String, u64> {
    values
        .iter()
        .map(|value| {
            let count = family
                .get(&label(name, value))
                .map(|counter| counter.get())
                .unwrap_or(0);
            (value.to_string(), count)
        })
        .collect()
}

/// Every result [`Counters::pairings_finished`] counts under.
pub fn pairing_results() -> impl Iterator<Item = &'static str> {
    PAIRING_RESULTS.into_iter().chain(["other"])
}

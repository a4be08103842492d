//! The numbers an operator watches: read once into a [`MetricsResult`], which the `metrics`
//! method returns as JSON (`wasess top`) and [`render`] turns into the OpenMetrics text that
//! `/metrics` serves. Both read the same snapshot, so they never disagree.
//!
//! Gauges come from the registry at each read (sessions by status and node, node liveness,
//! webhook lag, the outbox), counters and histograms from the process's own
//! (`crate::metrics`). A scrape costs a handful of indexed reads and no write, so scraping
//! adds nothing to a state change's path.

use prometheus_client::encoding::text::encode;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::info::Info;
use prometheus_client::registry::Registry as Exposition;

use super::handlers::Context;
use super::os;
use crate::metrics::{self, counters};
use crate::model::ReasonCode;
use crate::protocol::{EventQueue, FdUsage, MetricsResult, NodeCounters};

/// Reads every figure once. When the registry does not answer, the node's own figures are
/// still read, and `registry_error` says why the rest is missing: an operator looks at the
/// metrics exactly when the database is in trouble.
pub async fn snapshot(context: &Context) -> MetricsResult {
    let supervisor = &context.supervisor;
    let registry = supervisor.registry();
    let shared = tokio::time::timeout(REGISTRY_TIMEOUT, registry_figures(supervisor)).await;
    let (shared, registry_error) = match shared {
        Ok(Ok(shared)) => (shared, None),
        Ok(Err(error)) => (RegistryFigures::default(), Some(error.to_string())),
        Err(_) => (
            RegistryFigures::default(),
            Some(format!(
                "the registry did not answer within {} s",
                REGISTRY_TIMEOUT.as_secs()
            )),
        ),
    };
    let (queued, sessions_held_back) = supervisor.event_backlog();
    MetricsResult {
        node_id: context.hello.node_id.clone(),
        version: context.hello.version.clone(),
        backend: context.hello.backend.clone(),
        at: registry.now(),
        registry_error,
        sessions: shared.sessions,
        sessions_running: supervisor.sessions_running(),
        nodes: shared.nodes,
        newest_event_id: shared.newest_event_id,
        webhooks: shared.webhooks,
        counters: node_counters(),
        event_queue: EventQueue {
            queued,
            sessions_held_back,
        },
        fds: FdUsage {
            open: os::open_fds(),
            limit: os::fd_limit(),
        },
    }
}

/// How long a scrape waits for the registry (Prometheus' own scrape timeout is 10 s).
const REGISTRY_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(5);

/// What every node reads alike from the registry.
#[derive(Default)]
struct RegistryFigures {
    sessions: crate::model::Stats,
    nodes: Vec<crate::model::NodeInfo>,
    newest_event_id: i64,
    webhooks: Vec<crate::registry::WebhookStatus>,
}

async fn registry_figures(
    supervisor: &crate::daemon::supervisor::Supervisor,
) -> Result<RegistryFigures, crate::registry::Error> {
    let registry = supervisor.registry();
    let mut webhooks = Vec::new();
    for webhook in supervisor.settings().webhooks {
        webhooks.push(registry.webhook_status(&webhook.name, &webhook.url).await?);
    }
    Ok(RegistryFigures {
        sessions: registry.stats().await?,
        nodes: registry.nodes().await?,
        newest_event_id: registry.newest_event_id().await?,
        webhooks,
    })
}

fn node_counters() -> NodeCounters {
    let counters = counters();
    let results: Vec<&str> = metrics::pairing_results().collect();
    let reasons: Vec<&str> = REFUSALS.iter().map(|code| code.as_str()).collect();
    NodeCounters {
        pairings_started: counters.pairings_started.get(),
        pairings_finished: metrics::by_label(&counters.pairings_finished, "result", &results),
        pairings_refused: metrics::by_label(&counters.pairings_refused, "reason", &reasons),
        reconnect_attempts: counters.reconnect_attempts.get(),
        reconnect_give_ups: counters.reconnect_give_ups.get(),
        streams_replaced: counters.streams_replaced.get(),
        takeovers: counters.takeovers.get(),
        fencings: counters.fencings.get(),
        events_written: crate::model::EventKind::ALL
            .iter()
            .map(|kind| {
                counters
                    .events_written
                    .get(&metrics::label("kind", kind.as_str()))
                    .map_or(0, |counter| counter.get())
            })
            .sum(),
    }
}

/// The rules a connect can be refused by.
const REFUSALS: [ReasonCode; 5] = [
    ReasonCode::UnknownUser,
    ReasonCode::AlreadyConnected,
    ReasonCode::QrPending,
    ReasonCode::NumberTaken,
    ReasonCode::ConnectInProgress,
];

/// `snapshot` in the OpenMetrics text format, with the process's counters and histograms.
pub fn render(snapshot: &MetricsResult) -> String {
    let mut out = Exposition::with_prefix("wasess");
    out.register(
        "build",
        "The version of wasessd, and the backend it runs",
        Info::new(vec![
            ("version", snapshot.version.clone()),
            ("backend", snapshot.backend.clone()),
            ("node", snapshot.node_id.clone()),
        ]),
    );
    out.register(
        "registry_up",
        "1 when this node could read the registry for this scrape",
        gauge(u64::from(snapshot.registry_error.is_none())),
    );
    // Without the registry, its figures are left out rather than shown as zeros.
    if snapshot.registry_error.is_none() {
        register_sessions(&mut out, snapshot);
        register_nodes(&mut out, snapshot);
        register_outbox(&mut out, snapshot);
    }
    register_counters(&mut out);
    out.register(
        "sessions_running",
        "Sessions this node runs now (live, pairing or reconnecting)",
        gauge(snapshot.sessions_running),
    );
    let queue = &snapshot.event_queue;
    out.register(
        "event_queue_depth",
        "Backend events waiting to be written to the registry on this node",
        gauge(queue.queued),
    );
    out.register(
        "event_queue_sessions_held_back",
        "Sessions that wait for room in their event queue (the registry is slow)",
        gauge(queue.sessions_held_back),
    );
    if let Some(open) = snapshot.fds.open {
        out.register(
            "process_open_fds",
            "Files this daemon has open",
            gauge(open),
        );
    }
    out.register(
        "process_max_fds",
        "The daemon's limit on open files",
        gauge(snapshot.fds.limit),
    );
    let mut text = String::new();
    // Writing to a String cannot fail.
    let _ = encode(&mut text, &out);
    text
}

fn register_sessions(out: &mut Exposition, snapshot: &MetricsResult) {
    let stats = &snapshot.sessions;
    let by_status = [
        ("CONNECTED", stats.connected),
        ("PENDING_QR", stats.pending_qr),
        ("DISCONNECTED", stats.disconnected),
        ("CONFLICT", stats.conflict),
        ("PAUSED", stats.paused),
        ("LOGGED_OUT", stats.logged_out),
    ];
    out.register(
        "registry_sessions",
        "Connections in the registry by status, all nodes",
        family(
            by_status
                .iter()
                .map(|(status, count)| ([("status", status.to_string())], *count)),
        ),
    );
    out.register(
        "registry_duplicate_numbers",
        "Phone numbers held by more than one connection (conflicts to resolve)",
        gauge(stats.duplicate_numbers),
    );
    out.register(
        "registry_connect_locks",
        "Connect locks held (pairings in progress)",
        gauge(stats.locks_held),
    );
}

fn register_nodes(out: &mut Exposition, snapshot: &MetricsResult) {
    let nodes = &snapshot.nodes;
    out.register(
        "node_up",
        "1 while a node's lease is current, by node",
        family(
            nodes
                .iter()
                .map(|node| ([("node", node.node_id.clone())], u64::from(node.alive))),
        ),
    );
    out.register(
        "node_lost",
        "1 when a node's lease ran out while it was live (dead, or cut off and fenced)",
        family(nodes.iter().map(|node| {
            (
                [("node", node.node_id.clone())],
                u64::from(node.state == "lost"),
            )
        })),
    );
    out.register(
        "node_sessions",
        "Connections a node owns, by node and status",
        family(nodes.iter().flat_map(|node| {
            [
                (
                    [
                        ("node", node.node_id.clone()),
                        ("status", "CONNECTED".into()),
                    ],
                    node.connected,
                ),
                (
                    [
                        ("node", node.node_id.clone()),
                        ("status", "PENDING_QR".into()),
                    ],
                    node.pending_qr,
                ),
            ]
        })),
    );
    out.register(
        "node_fencings",
        "Times a node closed its clients for want of a lease, as the registry recorded",
        family(
            nodes
                .iter()
                .map(|node| ([("node", node.node_id.clone())], node.fenced)),
        ),
    );
}

fn register_outbox(out: &mut Exposition, snapshot: &MetricsResult) {
    out.register(
        "outbox_newest_event_id",
        "The id of the newest event in the outbox",
        gauge(snapshot.newest_event_id.max(0) as u64),
    );
    out.register(
        "webhook_lag_events",
        "Events written but not yet read by a webhook endpoint, by endpoint",
        family(snapshot.webhooks.iter().map(|webhook| {
            let lag = (snapshot.newest_event_id - webhook.last_id).max(0) as u64;
            ([("endpoint", webhook.endpoint.clone())], lag)
        })),
    );
    out.register(
        "webhook_dead_letters",
        "Events that used up their delivery attempts, by endpoint",
        family(
            snapshot
                .webhooks
                .iter()
                .map(|webhook| ([("endpoint", webhook.endpoint.clone())], webhook.dead)),
        ),
    );
}

fn register_counters(out: &mut Exposition) {
    let counters = counters();
    out.register(
        "pairings_started",
        "Pairings started on this node",
        counters.pairings_started.clone(),
    );
    out.register(
        "pairings_finished",
        "Pairings ended on this node, by result",
        counters.pairings_finished.clone(),
    );
    out.register(
        "pairings_refused",
        "Connects refused by a rule before a pairing started, by reason",
        counters.pairings_refused.clone(),
    );
    out.register(
        "reconnect_attempts",
        "Reconnect attempts after a lost network",
        counters.reconnect_attempts.clone(),
    );
    out.register(
        "reconnect_give_ups",
        "Sessions that used up their reconnect attempts",
        counters.reconnect_give_ups.clone(),
    );
    out.register(
        "streams_replaced",
        "Sessions WhatsApp replaced (another client uses the credentials)",
        counters.streams_replaced.clone(),
    );
    out.register(
        "takeovers",
        "Sessions this node took over from nodes that stopped heart-beating",
        counters.takeovers.clone(),
    );
    out.register(
        "fencings",
        "Times this node closed its clients because it could not renew its lease",
        counters.fencings.clone(),
    );
    out.register(
        "events_written",
        "Events this node committed to the outbox, by kind",
        counters.events_written.clone(),
    );
    out.register(
        "webhook_delivery_failures",
        "Failed webhook deliveries, by endpoint",
        counters.webhook_failures.clone(),
    );
    // The unit is in the name, without a `# UNIT` line: some OpenMetrics parsers refuse
    // one on a histogram.
    out.register(
        "registry_transaction_duration_seconds",
        "Committed registry write transactions, from begin to commit",
        counters.transaction_seconds.clone(),
    );
    out.register(
        "event_queue_wait_seconds",
        "How long a backend event waited in its session's queue",
        counters.event_queue_wait_seconds.clone(),
    );
}

fn gauge(value: u64) -> Gauge {
    let gauge = Gauge::default();
    gauge.set(i64::try_from(value).unwrap_or(i64::MAX));
    gauge
}

fn family<const N: usize>(
    rows: impl Iterator<Item = ([(&'static str, String); N], u64)>,
) -> Family<[(&'static str, String); N], Gauge> {
    let family = Family::<[(&'static str, String); N], Gauge>::default();
    for (labels, value) in rows {
        family
            .get_or_create(&labels)
            .set(i64::try_from(value).unwrap_or(i64::MAX));
    }
    family
}

/// What `/metrics` answers.
pub async fn text(context: &Context) -> String {
    render(&snapshot(context).await)
}

#[cfg(test)]
mod tests {
    use openmetrics_parser::openmetrics::parse_openmetrics;

    use super::*;
    use crate::time::Timestamp;

    fn snapshot(registry_error: Option<&str>) -> MetricsResult {
        MetricsResult {
            node_id: "node-a".into(),
            version: "0.1.0".into(),
            backend: "simulated".into(),
            at: Timestamp(0),
            registry_error: registry_error.map(str::to_string),
            sessions: crate::model::Stats {
                connected: 3,
                ..Default::default()
            },
            sessions_running: 3,
            nodes: Vec::new(),
            newest_event_id: 7,
            webhooks: Vec::new(),
            counters: NodeCounters::default(),
            event_queue: EventQueue::default(),
            fds: FdUsage {
                open: Some(10),
                limit: 1024,
            },
        }
    }

    #[test]
    fn without_the_registry_the_node_still_answers_with_its_own_figures() {
        let down =
            parse_openmetrics(&render(&snapshot(Some("connection refused")))).expect("OpenMetrics");
        let value = |exposition: &openmetrics_parser::MetricsExposition<_, _>, name: &str| {
            exposition
                .families
                .get(name)
                .and_then(|family| family.iter_samples().next())
                .map(|sample| match &sample.value {
                    openmetrics_parser::OpenMetricsValue::Gauge(n) => n.as_f64(),
                    _ => f64::NAN,
                })
        };
        assert_eq!(value(&down, "wasess_registry_up"), Some(0.0));
        assert_eq!(value(&down, "wasess_sessions_running"), Some(3.0));
        assert!(!down.families.contains_key("wasess_registry_sessions"));
        assert_eq!(value(&down, "wasess_event_queue_depth"), Some(0.0));
        assert!(down.families.contains_key("wasess_pairings_started"));

        let up = parse_openmetrics(&render(&snapshot(None))).expect("OpenMetrics");
        assert_eq!(value(&up, "wasess_registry_up"), Some(1.0));
        assert_eq!(value(&up, "wasess_outbox_newest_event_id"), Some(7.0));
    }
}

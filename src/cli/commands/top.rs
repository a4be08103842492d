//! `top`: a live view of the cluster, redrawn every interval from the daemon's `metrics`
//! snapshot, the same numbers `/metrics` exports. Rates are the change between two
//! snapshots over the registry-clock time between them. `--json` prints one snapshot.

use std::io::{IsTerminal, Write};
use std::time::Duration;

use crate::cli::args::{Global, TopArgs};
use crate::cli::{connect_daemon, output, Error, Outcome};
use crate::exit::Exit;
use crate::protocol::{method, Empty, MetricsResult};

/// Clears a terminal and puts the cursor top left.
const CLEAR: &str = "\x1b[H\x1b[2J";

pub async fn top(global: &Global, args: TopArgs) -> Result<Outcome, Error> {
    let mut client = connect_daemon(global).await?;
    if global.json {
        let snapshot: MetricsResult = client.call(method::METRICS, Empty {}).await?;
        return Ok(Outcome::deferred(snapshot, |_| String::new()));
    }
    let interactive = std::io::stdout().is_terminal();
    let interval = args.interval.max(Duration::from_millis(100));
    let mut before: Option<MetricsResult> = None;
    let mut frames = 0u64;
    let ctrl_c = tokio::signal::ctrl_c();
    tokio::pin!(ctrl_c);
    loop {
        let now: MetricsResult = client.call(method::METRICS, Empty {}).await?;
        let mut text = frame(&now, before.as_ref());
        text.insert_str(0, if interactive { CLEAR } else { "\n" });
        let mut stdout = std::io::stdout().lock();
        // A closed pipe (`top | head`) ends the view.
        if writeln!(stdout, "{text}")
            .and_then(|()| stdout.flush())
            .is_err()
        {
            return Ok(Outcome::printed(Exit::Ok));
        }
        drop(stdout);
        before = Some(now);
        frames += 1;
        if args.count.is_some_and(|count| frames >= count) {
            return Ok(Outcome::printed(Exit::Ok));
        }
        tokio::select! {
            _ = tokio::time::sleep(interval) => {}
            _ = &mut ctrl_c => return Ok(Outcome::printed(Exit::Ok)),
        }
    }
}

/// One screen: the cluster's sessions, the rates since `before`, the event queue and file
/// descriptors of the answering node, then one row per node and per webhook endpoint.
pub fn frame(now: &MetricsResult, before: Option<&MetricsResult>) -> String {
    let stats = &now.sessions;
    let mut text = format!(
        "wasess top · node {} · {} · wasess {} ({})\n",
        now.node_id,
        now.at.to_display(),
        now.version,
        now.backend
    );
    if let Some(error) = &now.registry_error {
        text.push_str(&format!(
            "REGISTRY UNREACHABLE: {error}\n(the cluster's figures are missing; this node's own \
             still count)\n"
        ));
    } else {
        text.push_str(&format!(
            "sessions: {} connected · {} pending QR · {} disconnected · {} conflict · {} paused · \
         {} logged out · {} duplicated numbers\n",
            stats.connected,
            stats.pending_qr,
            stats.disconnected,
            stats.conflict,
            stats.paused,
            stats.logged_out,
            stats.duplicate_numbers
        ));
    }
    text.push_str(&match before {
        Some(before) => {
            let seconds = (now.at.millis() - before.at.millis()) as f64 / 1000.0;
            let per_second = |count: u64, then: u64| {
                if seconds > 0.0 {
                    format!("{:.1}", count.saturating_sub(then) as f64 / seconds)
                } else {
                    "-".into()
                }
            };
            let (ours, theirs) = (&now.counters, &before.counters);
            // The outbox's newest id is the registry's: no rate across a snapshot without it.
            let registry_read = now.registry_error.is_none() && before.registry_error.is_none();
            let events = if registry_read {
                per_second(
                    now.newest_event_id.max(0) as u64,
                    before.newest_event_id.max(0) as u64,
                )
            } else {
                "-".into()
            };
            format!(
                "per second: {} events (cluster) · {} pairings started · {} reconnects \
                 (node {})\n",
                events,
                per_second(ours.pairings_started, theirs.pairings_started),
                per_second(ours.reconnect_attempts, theirs.reconnect_attempts),
                now.node_id
            )
        }
        None => "per second: measuring…\n".into(),
    });
    let fds = match now.fds.open {
        Some(open) if now.fds.limit > 0 => format!(
            "{open} of {} ({}%)",
            now.fds.limit,
            open * 100 / now.fds.limit
        ),
        Some(open) => open.to_string(),
        None => "-".into(),
    };
    text.push_str(&format!(
        "node {}: {} sessions running · {} events queued · {} sessions held back · fds {fds}\n\n",
        now.node_id,
        now.sessions_running,
        now.event_queue.queued,
        now.event_queue.sessions_held_back
    ));

    let mut nodes = output::table(&["Node", "State", "Alive", "Connected", "Pairing", "Fenced"]);
    for node in &now.nodes {
        nodes.add_row(vec![
            node.node_id.clone(),
            node.state.clone(),
            if node.alive { "yes" } else { "no" }.to_string(),
            node.connected.to_string(),
            node.pending_qr.to_string(),
            node.fenced.to_string(),
        ]);
    }
    text.push_str(&nodes.to_string());
    if !now.webhooks.is_empty() {
        let mut webhooks = output::table(&["Webhook", "Lag", "Pending", "Dead", "Node"]);
        for webhook in &now.webhooks {
            webhooks.add_row(vec![
                webhook.endpoint.clone(),
                (now.newest_event_id - webhook.last_id).max(0).to_string(),
                webhook.pending.to_string(),
                webhook.dead.to_string(),
                webhook.node_id.clone().unwrap_or_else(|| "-".into()),
            ]);
        }
        text.push('\n');
        text.push_str(&webhooks.to_string());
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{NodeInfo, Stats};
    use crate::protocol::{EventQueue, FdUsage, NodeCounters};
    use crate::registry::WebhookStatus;
    use crate::time::Timestamp;

    fn node(id: &str, alive: bool, connected: u64, pending_qr: u64) -> NodeInfo {
        NodeInfo {
            node_id: id.into(),
            started_at: Timestamp(0),
            last_seen: Timestamp(0),
            version: "0.1.0".into(),
            alive,
            state: if alive { "live" } else { "lost" }.into(),
            fenced: u64::from(!alive),
            host: "host".into(),
            pid: 1,
            connected,
            pending_qr,
        }
    }

    fn snapshot(at: i64, events: i64, started: u64, reconnects: u64) -> MetricsResult {
        MetricsResult {
            node_id: "node-a".into(),
            version: "0.1.0".into(),
            backend: "simulated".into(),
            at: Timestamp(at),
            registry_error: None,
            sessions: Stats {
                total: 16,
                connected: 12,
                pending_qr: 3,
                disconnected: 1,
                duplicate_numbers: 1,
                ..Stats::default()
            },
            sessions_running: 9,
            nodes: vec![node("node-a", true, 8, 2), node("node-b", false, 4, 1)],
            newest_event_id: events,
            webhooks: vec![WebhookStatus {
                endpoint: "app".into(),
                url: "http://127.0.0.1:1/hook".into(),
                last_id: 90,
                backlog: 10,
                pending: 2,
                failing: 1,
                dead: 1,
                last_error: None,
                node_id: Some("node-a".into()),
            }],
            counters: NodeCounters {
                pairings_started: started,
                reconnect_attempts: reconnects,
                ..NodeCounters::default()
            },
            event_queue: EventQueue {
                queued: 4,
                sessions_held_back: 0,
            },
            fds: FdUsage {
                open: Some(256),
                limit: 1024,
            },
        }
    }

    #[test]
    fn a_frame_shows_the_cluster_and_the_rates_between_two_snapshots() {
        let before = snapshot(1_764_676_800_000, 80, 10, 1);
        let now = snapshot(1_764_676_802_000, 100, 14, 2);
        let text = frame(&now, Some(&before));
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(
            lines[..4],
            [
                "wasess top · node node-a · 2025-12-02 12:00:02 · wasess 0.1.0 (simulated)",
                "sessions: 12 connected · 3 pending QR · 1 disconnected · 0 conflict · 0 paused · \
                 0 logged out · 1 duplicated numbers",
                "per second: 10.0 events (cluster) · 2.0 pairings started · 0.5 reconnects \
                 (node node-a)",
                "node node-a: 9 sessions running · 4 events queued · 0 sessions held back · \
                 fds 256 of 1024 (25%)",
            ]
        );
        let row = |name: &str| -> Vec<String> {
            let line = lines
                .iter()
                .find(|line| line.starts_with(&format!("│ {name} ")))
                .unwrap_or_else(|| panic!("no row for {name} in:\n{text}"));
            line.split(['│', '┆'])
                .map(|cell| cell.trim().to_string())
                .filter(|cell| !cell.is_empty())
                .collect()
        };
        assert_eq!(row("node-b"), ["node-b", "lost", "no", "4", "1", "1"]);
        assert_eq!(row("node-a"), ["node-a", "live", "yes", "8", "2", "0"]);
        assert_eq!(row("app"), ["app", "10", "2", "1", "node-a"]);
    }

    #[test]
    fn without_the_registry_the_frame_says_so_and_shows_no_cluster_figures() {
        let before = snapshot(1_764_676_800_000, 80, 10, 1);
        let mut now = snapshot(1_764_676_802_000, 0, 14, 2);
        now.registry_error = Some("connection refused".into());
        let text = frame(&now, Some(&before));
        assert!(
            text.contains("REGISTRY UNREACHABLE: connection refused"),
            "{text}"
        );
        assert!(!text.contains("sessions: "), "{text}");
        assert!(
            text.contains("per second: - events (cluster) · 2.0 pairings started"),
            "{text}"
        );
    }

    #[test]
    fn the_first_frame_has_no_rates_yet() {
        let text = frame(&snapshot(0, 5, 0, 0), None);
        assert!(text.contains("per second: measuring…"), "{text}");
    }
}

//! `/metrics` and `wasess top` on real daemons: two nodes on one PostgreSQL registry, a
//! scripted scenario (pairings, a refused connect, a replaced stream, a failing webhook), then
//! a scrape read with an OpenMetrics parser.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};

use openmetrics_parser::openmetrics::parse_openmetrics;
use openmetrics_parser::{MetricsExposition, OpenMetricsType, OpenMetricsValue};

use crate::events::webhook_config;
use crate::support::daemon::TestDaemon;
use crate::support::databases::TestDb;
use crate::support::receiver::Receiver;

type Exposition = MetricsExposition<OpenMetricsType, OpenMetricsValue>;

/// A loopback port nobody listens on right now.
fn free_port() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    listener.local_addr().expect("address").port()
}

/// One HTTP GET: the status line, the headers and the body.
fn get(port: u16, path: &str) -> (String, String, String) {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).expect("connect to /metrics");
    write!(stream, "GET {path} HTTP/1.1\r\nHost: localhost\r\n\r\n").expect("request");
    let mut answer = String::new();
    stream.read_to_string(&mut answer).expect("answer");
    let (head, body) = answer.split_once("\r\n\r\n").expect("an HTTP answer");
    let (status, headers) = head.split_once("\r\n").unwrap_or((head, ""));
    (status.to_string(), headers.to_string(), body.to_string())
}

fn scrape(port: u16) -> Exposition {
    let (status, headers, body) = get(port, "/metrics");
    assert_eq!(status, "HTTP/1.1 200 OK", "{body}");
    assert!(
        headers.contains("Content-Type: application/openmetrics-text; version=1.0.0"),
        "{headers}"
    );
    parse_openmetrics(&body).unwrap_or_else(|error| panic!("not OpenMetrics: {error:?}\n{body}"))
}

/// The value of `family`'s sample whose labels include `labels`; `None` when there is none.
fn value(metrics: &Exposition, family: &str, labels: &[(&str, &str)]) -> Option<f64> {
    let family = metrics.families.get(family)?;
    family.iter_samples().find_map(|sample| {
        let set = sample.get_labelset().ok()?;
        let matches = labels
            .iter()
            .all(|(name, value)| set.get_label_value(name) == Some(*value));
        if !matches {
            return None;
        }
        match &sample.value {
            OpenMetricsValue::Counter(counter) => Some(counter.value.as_f64()),
            OpenMetricsValue::Gauge(gauge) => Some(gauge.as_f64()),
            OpenMetricsValue::Histogram(histogram) => histogram.count.map(|count| count as f64),
            _ => None,
        }
    })
}

fn require(metrics: &Exposition, family: &str, labels: &[(&str, &str)]) -> f64 {
    value(metrics, family, labels).unwrap_or_else(|| panic!("no {family}{labels:?} in the scrape"))
}

#[test]
fn a_scrape_after_a_scripted_scenario_counts_what_happened() {
    let runtime = crate::support::databases::runtime();
    let Some(db) = runtime.block_on(TestDb::postgres()) else {
        return;
    };
    let receiver = Receiver::start();
    receiver.answer(503);
    let config = webhook_config(&receiver, "max_attempts = 2");
    let port = free_port();
    let address = format!("127.0.0.1:{port}");
    let node_a = TestDaemon::start_node_on(
        "node-a",
        &db.url,
        &config,
        "simulated",
        &["--metrics", &address],
    );
    let mut node_b = TestDaemon::start_node("node-b", &db.url, "heartbeat_interval = \"300ms\"");

    node_a.add_users(&["alice@example.com", "bob@example.com"]);
    node_a.pair("alice@example.com", "573001110001");
    node_a
        .cli(&["connect", "--user", "alice@example.com"])
        .fails_with(3);
    node_a
        .cli(&["connect", "--user", "bob@example.com", "--detach"])
        .success();
    node_a
        .cli(&["sim", "event", "--user", "alice@example.com", "replaced"])
        .success();
    node_a.wait_status("alice@example.com", "CONFLICT");
    crate::events::wait_for_a_dead_letter(&node_a);

    let metrics = scrape(port);
    let counter = |family: &str, labels: &[(&str, &str)]| require(&metrics, family, labels);
    assert_eq!(counter("wasess_pairings_started", &[]), 2.0);
    assert_eq!(
        counter("wasess_pairings_finished", &[("result", "paired")]),
        1.0
    );
    assert_eq!(
        counter(
            "wasess_pairings_refused",
            &[("reason", "already_connected")]
        ),
        1.0
    );
    assert_eq!(counter("wasess_streams_replaced", &[]), 1.0);
    assert_eq!(counter("wasess_reconnect_attempts", &[]), 0.0);
    assert_eq!(
        counter("wasess_registry_sessions", &[("status", "CONFLICT")]),
        1.0
    );
    assert_eq!(
        counter("wasess_registry_sessions", &[("status", "PENDING_QR")]),
        1.0
    );
    assert_eq!(
        counter(
            "wasess_node_sessions",
            &[("node", "node-a"), ("status", "PENDING_QR")]
        ),
        1.0
    );
    assert_eq!(counter("wasess_node_up", &[("node", "node-a")]), 1.0);
    assert_eq!(counter("wasess_node_up", &[("node", "node-b")]), 1.0);
    assert!(counter("wasess_webhook_dead_letters", &[("endpoint", "app")]) >= 1.0);
    assert!(counter("wasess_webhook_delivery_failures", &[("endpoint", "app")]) >= 2.0);
    let newest = counter("wasess_outbox_newest_event_id", &[]);
    assert!(newest >= counter("wasess_events_written", &[("kind", "state")]));
    assert!(counter("wasess_registry_transaction_duration_seconds", &[]) >= 5.0);
    let open = counter("wasess_process_open_fds", &[]);
    assert!(open > 0.0 && open < counter("wasess_process_max_fds", &[]));
    let build = metrics.families.get("wasess_build").expect("build info");
    assert!(build.iter_samples().any(|sample| {
        matches!(sample.value, OpenMetricsValue::Info)
            && sample.get_labelset().is_ok_and(|set| {
                set.get_label_value("node") == Some("node-a")
                    && set.get_label_value("backend") == Some("simulated")
            })
    }));
    let no_user_label = metrics.families.values().all(|family| {
        family
            .get_label_names()
            .iter()
            .all(|name| name != "user" && name != "phone")
    });
    assert!(
        no_user_label,
        "per-user labels would make cardinality unbounded"
    );
    every_shipped_query_names_an_exported_metric(&metrics);

    // `top` shows the same numbers, for both nodes.
    let frame = node_a.cli(&["top", "--count", "1"]).success().stdout;
    assert!(
        frame.contains("node-a") && frame.contains("node-b"),
        "{frame}"
    );
    assert!(frame.contains("1 conflict · "), "{frame}");
    let snapshot = node_a.cli(&["--json", "top"]).success().json();
    assert_eq!(snapshot["counters"]["streams_replaced"], 1);
    assert_eq!(
        snapshot["counters"]["pairings_refused"]["already_connected"],
        1
    );

    // A node that stops is no longer up.
    node_b.stop();
    node_a.wait_until("node-b seen down", || {
        value(&scrape(port), "wasess_node_up", &[("node", "node-b")]) == Some(0.0)
    });

    let (status, _, _) = get(port, "/nope");
    assert_eq!(status, "HTTP/1.1 404 Not Found");
    drop(node_a);
    drop(node_b);
    runtime.block_on(db.finish());
}

/// The alerting rules and the Grafana dashboard name only metrics that a daemon exports.
fn every_shipped_query_names_an_exported_metric(metrics: &Exposition) {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let rules = std::fs::read_to_string(root.join("packaging/prometheus/wasess.rules.yml"))
        .expect("rules file");
    let dashboard: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(root.join("packaging/grafana/wasess.json")).expect("dashboard"),
    )
    .expect("the dashboard is JSON");
    let mut queries = vec![rules];
    for panel in dashboard["panels"].as_array().expect("panels") {
        for target in panel["targets"].as_array().expect("targets") {
            queries.push(target["expr"].as_str().expect("expr").to_string());
        }
    }
    let mut named = 0;
    for query in &queries {
        for word in query.split(|c: char| !(c.is_ascii_alphanumeric() || c == '_')) {
            if !word.starts_with("wasess_") {
                continue;
            }
            named += 1;
            let family = ["_total", "_bucket", "_count", "_sum"]
                .iter()
                .find_map(|suffix| word.strip_suffix(suffix))
                .unwrap_or(word);
            assert!(
                metrics.families.contains_key(family),
                "{word} is queried but not exported"
            );
        }
    }
    assert!(
        named > 20,
        "the rules and the dashboard query wasess metrics"
    );
}

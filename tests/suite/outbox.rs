//! The outbox under concurrent writers on several nodes sharing one PostgreSQL registry:
//! socket subscribers and webhook receivers get every committed event exactly once, in id
//! order, with no gap skipped. The same check is shown to catch a commit that lands out of
//! order, so it can fail.

use std::time::{Duration, Instant};

use sqlx::Connection as _;

use crate::events::webhook_config;
use crate::support::daemon::{TestDaemon, WAIT};
use crate::support::databases::TestDb;
use crate::support::receiver::Receiver;
use crate::support::watch::Watch;

const NODES: usize = 3;
const WRITERS_PER_NODE: usize = 4;
const MESSAGES_PER_WRITER: usize = 4;

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime")
}

/// What a consumer must see: exactly the committed ids, each once, in id order, nothing
/// skipped. `delivered` may run ahead of `committed` (events written after it was read).
fn delivered_in_order(committed: &[i64], delivered: &[i64]) -> Result<(), String> {
    for (at, id) in committed.iter().enumerate() {
        match delivered.get(at) {
            Some(got) if got == id => {}
            Some(got) => {
                return Err(format!(
                "event {id} was committed but delivery #{at} is {got} (delivered: {delivered:?})"
            ))
            }
            None => {
                return Err(format!(
                    "event {id} was committed but never delivered (delivered: {delivered:?})"
                ))
            }
        }
    }
    Ok(())
}

/// The ids of the next `count` events `watch` prints.
fn watched_ids(watch: &Watch, count: usize) -> Vec<i64> {
    watch
        .until(|events| events.len() >= count)
        .iter()
        .map(|event| event["id"].as_i64().expect("event id"))
        .collect()
}

/// Waits until the receiver accepted at least `count` events; returns them in arrival order.
fn accepted_ids(receiver: &Receiver, count: usize) -> Vec<i64> {
    let deadline = Instant::now() + WAIT;
    loop {
        let accepted = receiver.accepted();
        if accepted.len() >= count || Instant::now() > deadline {
            return accepted;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// One tenant's traffic through `node`: added, paired, messages in, disconnected.
fn drive_user(node: &TestDaemon, user: &str, phone: &str) {
    node.cli(&["users", "add", user]).success();
    node.pair(user, phone);
    for n in 0..MESSAGES_PER_WRITER {
        let text = format!("message {n}");
        node.cli(&[
            "sim",
            "message",
            "--user",
            user,
            "--from",
            "573009990000",
            "--text",
            &text,
        ])
        .success();
    }
    node.cli(&["disconnect", "--user", user]).success();
}

#[test]
fn concurrent_writers_on_three_nodes_reach_every_consumer_once_in_order() {
    let runtime = runtime();
    let Some(db) = runtime.block_on(TestDb::postgres()) else {
        return;
    };
    let receiver = Receiver::start();
    let config = webhook_config(&receiver, "max_attempts = 1000");
    let nodes: Vec<TestDaemon> = (0..NODES)
        .map(|n| TestDaemon::start_node(&format!("node-{n}"), &db.url, &config))
        .collect();
    // The webhook endpoint starts at the newest event once a node leases it: start from there.
    nodes[0].wait_until("a node delivers to the webhook", || {
        let status = nodes[0]
            .cli(&["--json", "webhooks", "status"])
            .success()
            .json();
        status["endpoints"][0]["node_id"].is_string()
    });
    let since = runtime
        .block_on(db.event_ids(0))
        .last()
        .copied()
        .unwrap_or(0);
    let watch = Watch::start(&nodes[1], &["--since", &since.to_string()]);

    std::thread::scope(|scope| {
        for (n, node) in nodes.iter().enumerate() {
            for w in 0..WRITERS_PER_NODE {
                scope.spawn(move || {
                    let user = format!("writer-{n}-{w}@example.com");
                    let phone = format!("5730012{n}{w:04}");
                    drive_user(node, &user, &phone);
                });
            }
        }
    });

    let committed = runtime.block_on(db.event_ids(since));
    let expected_at_least = NODES * WRITERS_PER_NODE * (MESSAGES_PER_WRITER + 3);
    assert!(
        committed.len() >= expected_at_least,
        "only {} events committed",
        committed.len()
    );
    let watched = watched_ids(&watch, committed.len());
    delivered_in_order(&committed, &watched).expect("the socket subscriber");
    let hooked = accepted_ids(&receiver, committed.len());
    delivered_in_order(&committed, &hooked).expect("the webhook receiver");
    watch.stop();
    drop(nodes);
    runtime.block_on(db.finish());
}

/// The check above fails when an event commits after a later id was read: a writer that
/// reserves id X, inserts its event, and commits only after the daemon committed X+1 (what a
/// plain sequence does to a slow transaction). The subscriber has moved past X by then.
#[test]
fn the_order_check_catches_an_event_committed_out_of_order() {
    let runtime = runtime();
    let Some(db) = runtime.block_on(TestDb::postgres()) else {
        return;
    };
    let node = TestDaemon::start_node("node-0", &db.url, crate::support::daemon::FAST_CONFIG);
    let since = runtime
        .block_on(db.event_ids(0))
        .last()
        .copied()
        .unwrap_or(0);
    let watch = Watch::start(&node, &["--since", &since.to_string()]);

    let mut slow = runtime
        .block_on(sqlx::PgConnection::connect(&db.url))
        .expect("connect");
    let reserved: i64 = runtime
        .block_on(
            sqlx::query_scalar(
                "UPDATE outbox_sequence SET last_id = last_id + 1 WHERE id = 1 RETURNING last_id",
            )
            .fetch_one(&mut slow),
        )
        .expect("reserve an id");
    runtime
        .block_on(
            sqlx::raw_sql(sqlx::AssertSqlSafe(format!(
                "BEGIN; INSERT INTO events (id, at, kind, user_key, reason, data) \
             VALUES ({reserved}, 0, 'user', 'late@example.com', 'committed late', '{{}}')"
            )))
            .execute(&mut slow),
        )
        .expect("insert the slow event");

    node.cli(&["users", "add", "first@example.com"]).success();
    let seen = watched_ids(&watch, 1);
    assert_eq!(seen, [reserved + 1], "the daemon's event is read first");
    runtime
        .block_on(sqlx::raw_sql("COMMIT").execute(&mut slow))
        .expect("commit the slow event");
    node.cli(&["users", "add", "second@example.com"]).success();
    let mut watched = seen;
    watched.extend(watched_ids(&watch, 1));

    let committed = runtime.block_on(db.event_ids(since));
    assert_eq!(committed, [reserved, reserved + 1, reserved + 2]);
    let caught = delivered_in_order(&committed, &watched)
        .expect_err("an event committed out of order is reported");
    assert!(caught.contains(&format!("event {reserved} ")), "{caught}");
    watch.stop();
    drop(node);
    runtime.block_on(db.finish());
}

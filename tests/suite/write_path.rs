//! The registry's write path with several nodes on one PostgreSQL registry and no global
//! lock: under concurrent writers, socket subscribers get every committed event exactly once,
//! in id order, with no gap skipped (and the check is shown to catch a commit that lands out
//! of order, so it can fail), and webhook receivers get every one once, each user's in order;
//! a node frozen in the middle of a transaction holds the other nodes' writes up not at all,
//! and the database ends its transaction within the session limits.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use sqlx::Connection as _;

use crate::events::webhook_config;
use crate::support::daemon::{signal, TestDaemon, FAST_CONFIG, WAIT};
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

/// What a webhook receiver must see: each committed id once, and each user's events in id
/// (that is, commit) order. Different users are delivered concurrently, so the global order
/// is not kept.
fn delivered_once_in_user_order(committed: &[i64], receiver: &Receiver) -> Result<(), String> {
    let accepted: Vec<(i64, String)> = receiver
        .deliveries()
        .into_iter()
        .filter(|d| (200..300).contains(&d.answered))
        .map(|d| {
            (
                d.event_id,
                d.event["user"].as_str().unwrap_or_default().to_string(),
            )
        })
        .collect();
    let mut ids: Vec<i64> = accepted.iter().map(|(id, _)| *id).collect();
    ids.sort_unstable();
    let in_range: Vec<i64> = ids
        .iter()
        .copied()
        .filter(|id| committed.last().is_some_and(|last| id <= last))
        .collect();
    if in_range != committed {
        return Err(format!(
            "committed {committed:?} but the receiver accepted {ids:?}"
        ));
    }
    let mut newest: HashMap<&str, i64> = HashMap::new();
    for (id, user) in &accepted {
        let before = newest.insert(user, *id).unwrap_or(0);
        if *id < before {
            return Err(format!(
                "{user}'s event {id} arrived after its event {before}"
            ));
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
    accepted_ids(&receiver, committed.len());
    delivered_once_in_user_order(&committed, &receiver).expect("the webhook receiver");
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
    let node = TestDaemon::start_node("node-0", &db.url, FAST_CONFIG);
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

/// The backend pid of a transaction of `node` that has staged its events (its last
/// statement before `COMMIT`, when it has done all its work and holds every lock it took);
/// with `idle`, only one that waits for its client, so that nothing but the client can end it.
async fn staged_its_events(
    observer: &mut sqlx::PgConnection,
    node: &str,
    idle: bool,
) -> Option<i32> {
    sqlx::query_scalar(
        "SELECT a.pid FROM pg_stat_activity a JOIN pg_locks l ON l.pid = a.pid \
         WHERE a.application_name = $1 AND l.granted AND l.mode = 'RowExclusiveLock' \
         AND l.relation = 'event_stage'::regclass \
         AND (NOT $2 OR a.state = 'idle in transaction') LIMIT 1",
    )
    .bind(format!("wasessd:{node}"))
    .bind(idle)
    .fetch_optional(observer)
    .await
    .expect("pg_stat_activity")
}

/// Whether the PostgreSQL backend `pid` still runs (its client's session is not over).
async fn backend_alive(observer: &mut sqlx::PgConnection, pid: i32) -> bool {
    sqlx::query_scalar::<_, i32>("SELECT pid FROM pg_stat_activity WHERE pid = $1")
        .bind(pid)
        .fetch_optional(observer)
        .await
        .expect("pg_stat_activity")
        .is_some()
}

/// Ends the test's freeze however the test ends: the writer stops and the node runs again,
/// so a failed assertion reports instead of waiting for a stopped process forever.
struct Thaw<'a> {
    pid: u32,
    stop: &'a AtomicBool,
}

impl Drop for Thaw<'_> {
    fn drop(&mut self) {
        if std::thread::panicking() {
            self.stop.store(true, Ordering::SeqCst);
        }
        signal(self.pid, libc::SIGCONT);
    }
}

#[test]
fn a_node_frozen_mid_transaction_holds_no_other_node_up_and_recovers() {
    let runtime = runtime();
    let Some(db) = runtime.block_on(TestDb::postgres()) else {
        return;
    };
    // A grace long enough that the frozen node keeps its sessions: this is about its
    // transaction, not its lease.
    let config = FAST_CONFIG.replacen("[simulated]", "node_grace = \"120s\"\n[simulated]", 1);
    let frozen = TestDaemon::start_node("node-frozen", &db.url, &config);
    let other = TestDaemon::start_node("node-other", &db.url, &config);
    const FROZEN_USER: &str = "frozen@example.com";
    frozen.add_users(&[FROZEN_USER]);
    frozen.pair(FROZEN_USER, "573001110000");

    // The frozen node writes messages all along; every one it acknowledges must be recorded.
    let stop = AtomicBool::new(false);
    let sent = AtomicU64::new(0);
    let mut observer = runtime
        .block_on(sqlx::PgConnection::connect(&db.url))
        .expect("connect");
    std::thread::scope(|scope| {
        scope.spawn(|| {
            let mut n = 0u64;
            while !stop.load(Ordering::SeqCst) {
                n += 1;
                let text = format!("message {n}");
                frozen
                    .cli(&[
                        "sim",
                        "message",
                        "--user",
                        FROZEN_USER,
                        "--from",
                        "573009990000",
                        "--text",
                        &text,
                    ])
                    .success();
                sent.fetch_add(1, Ordering::SeqCst);
            }
        });

        let thaw = Thaw {
            pid: frozen.pid(),
            stop: &stop,
        };
        // Freeze the node at a moment it is known to be inside a transaction that is about to
        // commit: found in pg_locks, and still there once the process is stopped.
        let deadline = Instant::now() + Duration::from_secs(60);
        let caught = loop {
            assert!(
                Instant::now() < deadline,
                "never caught the node inside a transaction"
            );
            let Some(pid) =
                runtime.block_on(staged_its_events(&mut observer, "node-frozen", false))
            else {
                continue;
            };
            signal(frozen.pid(), libc::SIGSTOP);
            // A statement already sent may still finish; then the transaction must be left
            // waiting for the stopped client.
            std::thread::sleep(Duration::from_millis(50));
            match runtime.block_on(staged_its_events(&mut observer, "node-frozen", true)) {
                Some(still) if still == pid => break pid,
                _ => signal(frozen.pid(), libc::SIGCONT),
            }
        };

        // The other node goes on writing. Its first write, a new user and its event, does not
        // wait for the frozen transaction, which holds nothing it needs: events are numbered
        // during COMMIT, on the server, so a client stopped before its COMMIT holds no part of
        // the outbox. (Checked right after that one write, well within the 5 s the database
        // gives the frozen transaction, however slow the machine.)
        other.add_users(&["other@example.com"]);
        assert!(
            runtime.block_on(backend_alive(&mut observer, caught)),
            "the other node's write waited until the frozen transaction was ended"
        );
        // A pairing and a message go through too.
        other.pair("other@example.com", "573002220000");
        other
            .cli(&[
                "sim",
                "message",
                "--user",
                "other@example.com",
                "--from",
                "573009990000",
                "--text",
                "while the other node is frozen",
            ])
            .success();
        // PostgreSQL ends the frozen transaction, and its connection, by itself
        // (idle_in_transaction_session_timeout): nobody waits on it for longer.
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            if !runtime.block_on(backend_alive(&mut observer, caught)) {
                break;
            }
            assert!(
                Instant::now() < deadline,
                "the database never ended the frozen transaction"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
        drop(thaw);
        // The thawed node writes again: a few more messages go through it.
        let thawed_at = sent.load(Ordering::SeqCst);
        frozen.wait_until("the thawed node records messages again", || {
            sent.load(Ordering::SeqCst) >= thawed_at + 3
        });
        stop.store(true, Ordering::SeqCst);
    });

    // Nothing lost, nothing corrupted: every acknowledged message is in the registry once,
    // the ids have no hole (the ended transaction took its ids back with it), and both
    // sessions still run where they ran.
    let sent = usize::try_from(sent.load(Ordering::SeqCst)).expect("count");
    frozen.wait_until("every acknowledged message is recorded", || {
        frozen
            .events(FROZEN_USER)
            .iter()
            .filter(|event| event["kind"] == "message")
            .count()
            >= sent
    });
    let recorded = frozen
        .events(FROZEN_USER)
        .iter()
        .filter(|event| event["kind"] == "message")
        .count();
    assert_eq!(recorded, sent, "each acknowledged message recorded once");
    let ids = runtime.block_on(db.event_ids(0));
    assert!(
        ids.windows(2).all(|pair| pair[1] == pair[0] + 1),
        "event ids without holes: {ids:?}"
    );
    assert_eq!(frozen.row(FROZEN_USER)["status"], "CONNECTED");
    assert_eq!(frozen.row(FROZEN_USER)["node_id"], "node-frozen");
    assert_eq!(other.row("other@example.com")["status"], "CONNECTED");
    let conflicts = other.cli(&["--json", "detect-conflicts"]).success().json();
    assert_eq!(
        conflicts["conflicts"].as_array().map(Vec::len),
        Some(0),
        "{conflicts}"
    );
    drop(frozen);
    drop(other);
    runtime.block_on(db.finish());
}

//! The tenant application's surface: events on the socket (`watch`, `subscribe`), durable
//! signed webhooks, sending and receiving messages.

use std::collections::HashMap;
use std::time::Duration;

use hmac::{Hmac, Mac};
use serde_json::Value;
use sha2::Sha256;

use crate::support::daemon::{TestDaemon, FAST_CONFIG};
use crate::support::receiver::Receiver;
use crate::support::watch::Watch;

const ALICE: &str = "alice@example.com";
const BOB: &str = "bob@example.com";
const NUMBER: &str = "573001234567";
const SECRET: &str = "s3cret-for-tests";

fn states(events: &[Value]) -> Vec<String> {
    events
        .iter()
        .filter(|e| e["kind"] == "state")
        .map(|e| e["to_status"].as_str().unwrap_or_default().to_string())
        .collect()
}

#[test]
fn a_watcher_sees_every_state_change_in_order() {
    let daemon = TestDaemon::start();
    daemon.add_users(&[ALICE]);
    // Resume from the newest event, so nothing written while the watcher subscribes is missed.
    let since = all_event_ids(&daemon)
        .last()
        .copied()
        .unwrap_or(0)
        .to_string();
    let watch = Watch::start(&daemon, &["--user", ALICE, "--since", &since]);
    daemon.pair(ALICE, NUMBER);
    daemon
        .cli(&["sim", "event", "--user", ALICE, "replaced"])
        .success();
    daemon.wait_status(ALICE, "CONFLICT");
    daemon.cli(&["logout", "--user", ALICE]).success();
    let events =
        watch.until(|events| states(events).last().map(String::as_str) == Some("LOGGED_OUT"));
    assert_eq!(
        states(&events),
        ["PENDING_QR", "CONNECTED", "CONFLICT", "LOGGED_OUT"],
        "{events:#?}"
    );
    assert!(events
        .iter()
        .any(|e| e["kind"] == "qr" && e["data"]["code"].is_string()));
    assert!(events
        .iter()
        .any(|e| e["kind"] == "pairing" && e["data"]["result"] == "paired"));
    let ids: Vec<i64> = events
        .iter()
        .map(|e| e["id"].as_i64().expect("id"))
        .collect();
    assert!(
        ids.windows(2).all(|w| w[0] < w[1]),
        "increasing ids: {ids:?}"
    );
    assert_eq!(watch.stop(), Some(0), "Ctrl-C ends a watch cleanly");
}

#[test]
fn resuming_with_since_delivers_exactly_the_missed_events() {
    let daemon = TestDaemon::start();
    daemon.add_users(&[ALICE, BOB]);
    daemon.pair(ALICE, NUMBER);
    let seen = daemon.cli(&["--json", "log"]).success().json()["events"]
        .as_array()
        .expect("events")
        .last()
        .expect("some")["id"]
        .as_i64()
        .expect("id");
    // The gap: things happen while nobody watches.
    daemon.pair(BOB, "573009998888");
    daemon.cli(&["disconnect", "--user", ALICE]).success();
    let missed: Vec<i64> = daemon.cli(&["--json", "log"]).success().json()["events"]
        .as_array()
        .expect("events")
        .iter()
        .map(|e| e["id"].as_i64().expect("id"))
        .filter(|id| *id > seen)
        .collect();
    assert!(missed.len() >= 4, "{missed:?}");
    let since = seen.to_string();
    let watch = Watch::start(&daemon, &["--since", &since]);
    let events = watch.until(|events| events.len() >= missed.len());
    let got: Vec<i64> = events
        .iter()
        .map(|e| e["id"].as_i64().expect("id"))
        .collect();
    assert_eq!(got, missed);
    watch.stop();
}

#[test]
fn resuming_from_before_the_retention_says_history_was_truncated() {
    let daemon = TestDaemon::start_with(&format!("event_retention = \"1s\"\n{FAST_CONFIG}"));
    daemon.add_users(&[ALICE, BOB]);
    std::thread::sleep(Duration::from_millis(1_100));
    let cleaned = daemon.cli(&["--json", "cleanup"]).success().json();
    assert!(cleaned["pruned_events"].as_u64() >= Some(2), "{cleaned}");

    let refused = daemon
        .cli(&["--json", "watch", "--since", "0"])
        .fails_with_output(3);
    assert!(refused.stderr.contains("history truncated"), "{refused}");
    assert_eq!(refused.json()["error"]["reason_code"], "history_truncated");
    // Accepting the gap (resuming from the watermark) works, as does watching from now on.
    let through = refused
        .stderr
        .split("events up to ")
        .nth(1)
        .and_then(|rest| {
            rest.split_whitespace()
                .next()
                .and_then(|id| id.parse::<i64>().ok())
        });
    let through = through.expect("the watermark named").to_string();
    let watch = Watch::start(&daemon, &["--since", &through]);
    daemon.add_users(&["carol@example.com"]);
    let events = watch.until(|events| !events.is_empty());
    assert_eq!(events[0]["user"], "carol@example.com");
    watch.stop();
}

pub(crate) fn webhook_config(receiver: &Receiver, extra: &str) -> String {
    format!(
        "{FAST_CONFIG}\n[[webhook]]\nname = \"app\"\nurl = \"{}\"\nsecret = \"{SECRET}\"\n\
         backoff = \"50ms\"\nmax_backoff = \"200ms\"\n{extra}\n",
        receiver.url()
    )
}

/// Checks a `t=…,v1=…` signature as a receiver would: the HMAC of "<t>.<body>", and a
/// timestamp within five minutes of now.
fn signature_holds(header: &str, body: &[u8]) -> bool {
    let Some((t, v1)) = header
        .strip_prefix("t=")
        .and_then(|rest| rest.split_once(",v1="))
    else {
        return false;
    };
    let Ok(sent) = t.parse::<u64>() else {
        return false;
    };
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("clock")
        .as_secs();
    let mut mac = Hmac::<Sha256>::new_from_slice(SECRET.as_bytes()).expect("key");
    mac.update(format!("{t}.").as_bytes());
    mac.update(body);
    let hex: String = mac
        .finalize()
        .into_bytes()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    hex == v1 && now.abs_diff(sent) <= 300
}

fn all_event_ids(daemon: &TestDaemon) -> Vec<i64> {
    daemon
        .cli(&["--json", "log", "--limit", "10000"])
        .success()
        .json()["events"]
        .as_array()
        .expect("events")
        .iter()
        .map(|e| e["id"].as_i64().expect("id"))
        .collect()
}

#[test]
fn webhooks_get_every_event_once_signed_across_failures_and_restarts() {
    let receiver = Receiver::start();
    let mut daemon = TestDaemon::start_with(&webhook_config(&receiver, "max_attempts = 1000"));
    // Events written before the endpoint first ran are history, not deliveries.
    let started_after = all_event_ids(&daemon).last().copied().unwrap_or(0);
    daemon.add_users(&[ALICE, BOB]);
    daemon.pair(ALICE, NUMBER);
    receiver.answer(500);
    daemon.pair(BOB, "573009998888");
    daemon
        .cli(&[
            "sim", "message", "--user", BOB, "--from", NUMBER, "--text", "hola",
        ])
        .success();
    daemon.wait_until("failing deliveries", || {
        receiver.deliveries().iter().any(|d| d.answered == 500)
    });
    // The message is an event once the registry has it: only then is it owed to the hook.
    daemon.wait_until("the message recorded", || !daemon.received(BOB).is_empty());
    daemon.restart();
    receiver.answer(0);
    daemon.cli(&["disconnect", "--user", ALICE]).success();
    std::thread::sleep(Duration::from_millis(300));
    receiver.answer(200);
    let expected: Vec<i64> = all_event_ids(&daemon)
        .into_iter()
        .filter(|id| *id > started_after)
        .collect();
    daemon.wait_until("every event accepted", || {
        let accepted: std::collections::HashSet<i64> = receiver.accepted().into_iter().collect();
        expected.iter().all(|id| accepted.contains(id))
    });
    let accepted = receiver.accepted();
    let mut counts: HashMap<i64, usize> = HashMap::new();
    for id in &accepted {
        *counts.entry(*id).or_default() += 1;
    }
    assert!(
        counts.values().all(|n| *n == 1),
        "each event accepted once: {accepted:?}"
    );
    assert!(receiver.deliveries().iter().any(|d| d.answered == 500));
    // In order per user.
    let mut last_per_user: HashMap<String, i64> = HashMap::new();
    for delivery in receiver.deliveries().iter().filter(|d| d.answered == 200) {
        assert!(
            signature_holds(&delivery.signature, &delivery.body),
            "signature of {}: {}",
            delivery.event_id,
            delivery.signature
        );
        assert_eq!(delivery.idempotency_key, delivery.event_id.to_string());
        let user = delivery.event["user"]
            .as_str()
            .unwrap_or_default()
            .to_string();
        let last = last_per_user.entry(user.clone()).or_insert(0);
        assert!(
            delivery.event_id > *last,
            "{user}: {} after {}",
            delivery.event_id,
            last
        );
        *last = delivery.event_id;
    }
    assert!(receiver
        .deliveries()
        .iter()
        .any(|d| d.event["kind"] == "message" && d.event["data"]["text"] == "hola"));
    let status = daemon
        .cli(&["--json", "webhooks", "status"])
        .success()
        .json();
    assert_eq!(status["endpoints"][0]["dead"], 0);
}

/// A receiver stuck on one user holds up only that user: while one of Alice's events waits
/// unanswered, Bob's later events arrive; once it is answered, Alice's all arrive, in order.
#[test]
fn a_receiver_stuck_on_one_user_holds_up_only_that_user() {
    let receiver = Receiver::start();
    // Long enough that the stuck request never times out during the test.
    let daemon = TestDaemon::start_with(&webhook_config(&receiver, "timeout = \"120s\""));
    daemon.add_users(&[ALICE, BOB]);
    receiver.hold(ALICE);
    daemon
        .cli(&["connect", "--user", ALICE, "--detach"])
        .success();
    daemon.wait_until("one of alice's events waits at the receiver", || {
        !receiver.waiting().is_empty()
    });
    let stuck = receiver.waiting()[0];
    daemon
        .cli(&["connect", "--user", BOB, "--detach"])
        .success();
    daemon.wait_until("bob's later events arrive meanwhile", || {
        receiver
            .deliveries()
            .iter()
            .any(|d| d.event["user"] == BOB && d.event_id > stuck)
    });
    assert_eq!(
        receiver.waiting(),
        [stuck],
        "alice's event is still waiting"
    );

    receiver.release();
    let alices: Vec<i64> = daemon
        .events(ALICE)
        .iter()
        .filter_map(|event| event["id"].as_i64())
        .filter(|id| *id >= stuck)
        .collect();
    daemon.wait_until("alice's events arrive", || {
        let accepted = receiver.accepted();
        alices.iter().all(|id| accepted.contains(id))
    });
    let alice_order: Vec<i64> = receiver
        .deliveries()
        .iter()
        .filter(|d| d.event["user"] == ALICE && d.event_id >= stuck)
        .map(|d| d.event_id)
        .collect();
    assert_eq!(alice_order, alices, "alice's events once each, in order");
}

#[test]
fn a_receiver_down_past_the_attempts_ends_in_dead_letters_that_retry_redelivers() {
    let receiver = Receiver::start();
    receiver.answer(503);
    let daemon = TestDaemon::start_with(&webhook_config(&receiver, "max_attempts = 2"));
    daemon.add_users(&[ALICE]);
    wait_for_a_dead_letter(&daemon);
    let status = daemon.cli(&["webhooks", "status"]).success();
    assert!(status.stdout.contains("HTTP 503"), "{status}");
    assert!(receiver.accepted().is_empty());
    receiver.answer(200);
    let retried = daemon
        .cli(&["--json", "webhooks", "retry"])
        .success()
        .json();
    assert!(retried["requeued"].as_u64().unwrap_or(0) >= 1);
    daemon.wait_until("redelivery", || !receiver.accepted().is_empty());
    let status = daemon
        .cli(&["--json", "webhooks", "status"])
        .success()
        .json();
    assert_eq!(status["endpoints"][0]["dead"], 0);
    daemon
        .cli(&["webhooks", "retry", "--endpoint", "nope"])
        .fails_with(4);
}

#[test]
fn a_send_repeated_with_its_idempotency_key_sends_once() {
    let daemon = TestDaemon::start();
    daemon.add_users(&[ALICE]);
    daemon.pair(ALICE, NUMBER);
    let send = |key: &str, text: &str| {
        daemon
            .cli(&[
                "--json",
                "send",
                "--user",
                ALICE,
                "--to",
                "573009998888",
                "--text",
                text,
                "--idempotency-key",
                key,
            ])
            .success()
            .json()
    };
    let first = send("order-17", "su pedido salió");
    assert_eq!(first["duplicate"], false, "{first}");
    // The client lost the answer and tries again: same id, nothing sent.
    let again = send("order-17", "su pedido salió");
    assert_eq!(again["duplicate"], true, "{again}");
    assert_eq!(again["message_id"], first["message_id"]);
    let other = send("order-18", "su pedido llegó");
    assert_ne!(other["message_id"], first["message_id"]);
    let phone = daemon
        .cli(&["--json", "sim", "sent", "--user", ALICE])
        .success()
        .json();
    let texts: Vec<&str> = phone["messages"]
        .as_array()
        .expect("messages")
        .iter()
        .map(|m| m["text"].as_str().unwrap_or_default())
        .collect();
    assert_eq!(texts, ["su pedido salió", "su pedido llegó"]);
    daemon
        .cli(&[
            "send",
            "--user",
            ALICE,
            "--to",
            "573009998888",
            "--text",
            "x",
            "--idempotency-key",
            &"k".repeat(129),
        ])
        .fails_with(2);
}

#[test]
fn send_goes_through_the_users_own_live_connection_only() {
    let daemon = TestDaemon::start();
    daemon.add_users(&[ALICE, BOB]);
    daemon.pair(ALICE, NUMBER);
    let sent = daemon
        .cli(&[
            "--json",
            "send",
            "--user",
            ALICE,
            "--to",
            "+57 300 999 8888",
            "--text",
            "hola",
        ])
        .success()
        .json();
    assert!(sent["message_id"].as_str().is_some_and(|id| !id.is_empty()));
    let phone = daemon
        .cli(&["--json", "sim", "sent", "--user", ALICE])
        .success()
        .json();
    assert_eq!(phone["messages"][0]["to"], "573009998888");
    assert_eq!(phone["messages"][0]["text"], "hola");
    let refused = daemon
        .cli(&["send", "--user", BOB, "--to", NUMBER, "--text", "hola"])
        .fails_with(3);
    assert!(refused.stderr.contains("not connected"), "{refused}");
    daemon
        .cli(&["send", "--user", ALICE, "--to", "12", "--text", "x"])
        .fails_with(2);
    let log = daemon
        .cli(&["--json", "log", "--user", ALICE])
        .success()
        .json();
    assert!(log["events"]
        .as_array()
        .expect("events")
        .iter()
        .any(|e| e["kind"] == "message_sent"));
}

#[test]
fn incoming_messages_reach_watchers_and_the_python_example() {
    let daemon = TestDaemon::start();
    daemon.add_users(&[ALICE]);
    daemon.pair(ALICE, NUMBER);
    let since = all_event_ids(&daemon)
        .last()
        .copied()
        .unwrap_or(0)
        .to_string();
    daemon
        .cli(&[
            "sim",
            "message",
            "--user",
            ALICE,
            "--from",
            "573009998888",
            "--text",
            "¿hola?",
        ])
        .success();
    let watch = Watch::start(&daemon, &["--since", &since, "--kind", "message"]);
    let events = watch.until(|events| !events.is_empty());
    assert_eq!(events[0]["data"]["from"], "573009998888");
    assert_eq!(events[0]["data"]["text"], "¿hola?");
    watch.stop();

    let python = std::process::Command::new("python3")
        .arg(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/examples/watch_events.py"
        ))
        .arg(daemon.socket())
        .args(["--since", &since, "--count", "1"])
        .output();
    let Ok(python) = python else {
        eprintln!("notice: python3 is not installed: the example client was not run");
        return;
    };
    assert!(
        python.status.success(),
        "{}",
        String::from_utf8_lossy(&python.stderr)
    );
    let event: Value = serde_json::from_slice(&python.stdout).expect("one JSON event");
    assert_eq!(event["kind"], "message");
    assert_eq!(event["data"]["text"], "¿hola?");
}

/// Waits until the first webhook endpoint has a dead letter.
pub(crate) fn wait_for_a_dead_letter(daemon: &TestDaemon) {
    daemon.wait_until("a dead letter", || {
        daemon
            .cli(&["--json", "webhooks", "status"])
            .success()
            .json()["endpoints"][0]["dead"]
            .as_u64()
            .unwrap_or(0)
            >= 1
    });
}

/// The TypeScript example: its typed client and the Next.js session-check route type-check
/// with `tsc --strict` and answer against a real daemon.
#[test]
fn the_typescript_session_check_route_answers_from_the_daemon() {
    if !crate::support::tools::available("node", "--version") {
        return;
    }
    let example = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/node");
    let tsc = example.join("node_modules/.bin/tsc");
    if !tsc.exists() {
        assert!(
            std::env::var("WASESS_REQUIRE_TOOLS").is_err(),
            "the example's dev dependencies are missing: run `npm ci` in examples/node"
        );
        eprintln!("notice: examples/node has no node_modules (`npm ci` there): not checked");
        return;
    }
    let build = tempfile::tempdir().expect("temp dir");
    let compiled = std::process::Command::new(&tsc)
        .arg("-p")
        .arg(&example)
        .arg("--outDir")
        .arg(build.path())
        .output()
        .expect("run tsc");
    assert!(
        compiled.status.success(),
        "tsc:\n{}",
        String::from_utf8_lossy(&compiled.stdout)
    );

    let daemon = TestDaemon::start();
    daemon.add_users(&[ALICE, BOB]);
    daemon.pair(BOB, NUMBER);
    let demo = std::process::Command::new("node")
        .arg(build.path().join("src/demo.js"))
        .args([ALICE, BOB, "ghost@example.com"])
        .env("WASESS_SOCKET", daemon.socket())
        .output()
        .expect("run the example");
    let stdout = String::from_utf8_lossy(&demo.stdout);
    assert!(
        demo.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&demo.stderr)
    );
    let lines: Vec<Value> = stdout
        .lines()
        .map(|line| serde_json::from_str(line).expect("a JSON line"))
        .collect();
    assert_eq!(lines[0]["status"], 200);
    assert_eq!(lines[0]["body"]["canConnect"], true);
    assert_eq!(lines[0]["body"]["reason"], "allowed");
    assert_eq!(lines[1]["status"], 200);
    assert_eq!(lines[1]["body"]["canConnect"], false);
    assert_eq!(lines[1]["body"]["reason"], "already_connected");
    assert_eq!(lines[1]["body"]["status"], "CONNECTED");
    assert_eq!(lines[1]["body"]["phoneNumber"], NUMBER);
    assert_eq!(lines[2]["status"], 404);
    // Alice's first event, read through the typed client's `subscribe`: her registration.
    assert_eq!(lines[3]["first"], "user", "{stdout}");
    assert_eq!(lines[3]["reason"], "user added", "{stdout}");
}

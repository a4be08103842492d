//! End to end: a real `wasessd --backend simulated` on a temporary data dir, driven by the real
//! `wasess`, through the flows the old system got wrong.

use std::io::{BufRead, BufReader};
use std::process::Stdio;
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::support::daemon::{signal, TestDaemon, FAST_CONFIG, WAIT};

const ALICE: &str = "alice@example.com";
const BOB: &str = "bob@example.com";
const NUMBER: &str = "573001234567";

#[test]
fn connecting_twice_is_refused_while_the_first_qr_is_pending() {
    let daemon = TestDaemon::start();
    daemon.add_users(&[ALICE]);
    let first = daemon
        .cli(&["--json", "connect", "--user", ALICE, "--detach"])
        .success()
        .json();
    assert_eq!(first["outcome"], "pending");
    assert!(first["qr"]["code"].as_str().expect("qr").starts_with("2@"));
    let second = daemon
        .cli(&["--json", "connect", "--user", ALICE, "--detach"])
        .fails_with(3);
    assert!(
        second.stderr.contains("a QR code is already pending"),
        "{second}"
    );
    assert_eq!(second.json()["error"]["reason_code"], "qr_pending");
    let check = daemon.cli(&["check", "--user", ALICE]).fails_with_output(3);
    assert!(check.stdout.contains("refused (qr_pending)"), "{check}");
}

#[test]
fn one_number_on_two_users_ends_with_the_newest() {
    let daemon = TestDaemon::start();
    daemon.add_users(&[ALICE, BOB]);
    daemon.pair(ALICE, "+57 300 123 4567");
    assert_eq!(daemon.row(ALICE)["phone_number"], NUMBER);
    daemon.pair(BOB, NUMBER);
    let alice = daemon.wait_status(ALICE, "LOGGED_OUT");
    assert!(alice["phone_number"].is_null());
    assert!(alice["reason"].as_str().expect("reason").contains(BOB));
    // Alice's credentials stay until her device's unlink, in the background, is confirmed.
    daemon.wait_until("alice's credentials deleted", || {
        !daemon.has_credentials(ALICE)
    });
    assert!(daemon.has_credentials(BOB));
    let report = daemon.cli(&["--json", "detect-conflicts"]).success().json();
    assert_eq!(report["conflicts"].as_array().expect("list").len(), 0);
}

#[test]
fn reject_new_refuses_the_second_link_of_a_number() {
    let config = format!("conflict_policy = \"reject-new\"\n{FAST_CONFIG}");
    let daemon = TestDaemon::start_with(&config);
    daemon.add_users(&[ALICE, BOB]);
    daemon.pair(ALICE, NUMBER);
    let connect = daemon
        .cli_command(&["connect", "--user", BOB])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("connect");
    daemon.wait_status(BOB, "PENDING_QR");
    wait_for_qr_event(&daemon, BOB);
    daemon
        .cli(&["sim", "scan", "--user", BOB, "--phone", NUMBER])
        .success();
    let output = connect.wait_with_output().expect("connect");
    assert_eq!(output.status.code(), Some(3));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("number already registered to another account"),
        "{stderr}"
    );
    assert_eq!(daemon.row(ALICE)["status"], "CONNECTED");
    assert_eq!(daemon.row(BOB)["status"], "DISCONNECTED");
    assert_eq!(
        daemon.cli(&["--json", "stats"]).success().json()["locks_held"],
        0
    );
}

fn wait_for_qr_event(daemon: &TestDaemon, user: &str) {
    daemon.wait_until("a QR code", || {
        let log = daemon
            .cli(&["--json", "log", "--user", user])
            .success()
            .json();
        log["events"]
            .as_array()
            .is_some_and(|events| events.iter().any(|e| e["kind"] == "qr"))
    });
}

#[test]
fn connecting_again_while_connected_is_refused() {
    let daemon = TestDaemon::start();
    daemon.add_users(&[ALICE]);
    daemon.pair(ALICE, NUMBER);
    let again = daemon.cli(&["connect", "--user", ALICE]).fails_with(3);
    assert!(
        again.stderr.contains("already connected: disconnect first"),
        "{again}"
    );
    daemon.cli(&["disconnect", "--user", ALICE]).success();
    let row = daemon.wait_status(ALICE, "DISCONNECTED");
    assert_eq!(row["phone_number"], NUMBER, "disconnect keeps the number");
    daemon.cli(&["check", "--user", ALICE]).success();
    daemon.cli(&["reconnect", "--user", ALICE]).success();
    daemon.wait_status(ALICE, "CONNECTED");
}

#[test]
fn legacy_conflicts_are_detected_and_resolved() {
    let daemon = TestDaemon::start();
    daemon.add_users(&["ana@old.example", "ben@old.example", "cid@old.example"]);
    // Rows as the old system left them, written behind the daemon's back.
    daemon.sql(
        "UPDATE whatsapp_connections SET status = 'DISCONNECTED', phone_number = '573001111111', \
         last_connected_at = 1000 WHERE user_key = 'ben@old.example'; \
         UPDATE whatsapp_connections SET status = 'CONFLICT', phone_number = '573001111111', \
         last_connected_at = 2000 WHERE user_key = 'cid@old.example'; \
         UPDATE whatsapp_connections SET status = 'DISCONNECTED', phone_number = '573001111111', \
         last_connected_at = 3000 WHERE user_key = 'ana@old.example';",
    );
    let detected = daemon.cli(&["detect-conflicts"]).exits_with(3);
    assert!(
        detected
            .stdout
            .contains("Number 573001111111 is held by 3 users"),
        "{detected}"
    );
    let json = daemon
        .cli(&["--json", "detect-conflicts"])
        .exits_with(3)
        .json();
    let holders: Vec<&str> = json["conflicts"][0]["holders"]
        .as_array()
        .expect("holders")
        .iter()
        .map(|h| h["user"].as_str().expect("user"))
        .collect();
    assert_eq!(
        holders,
        ["ana@old.example", "cid@old.example", "ben@old.example"]
    );

    let preview = daemon
        .cli(&["--json", "resolve-conflicts", "--dry-run"])
        .success()
        .json();
    assert_eq!(
        (
            preview["resolved"].as_u64(),
            preview["disconnected"].as_u64()
        ),
        (Some(1), Some(2))
    );
    daemon.cli(&["detect-conflicts"]).exits_with(3);
    let done = daemon
        .cli(&["--json", "resolve-conflicts"])
        .success()
        .json();
    assert_eq!(
        (
            done["resolved"].as_u64(),
            done["disconnected"].as_u64(),
            done["kept"].as_u64()
        ),
        (Some(1), Some(2), Some(1))
    );
    daemon.cli(&["detect-conflicts"]).success();
    assert_eq!(
        daemon.row("ana@old.example")["phone_number"],
        "573001111111"
    );
}

/// Twenty duplicated numbers and twenty expired pairings: one `resolve-conflicts` and one
/// `cleanup` settle each of them whole (row, credentials, lock, events), however many rows
/// one statement carries.
#[test]
fn many_conflicts_and_expired_pairings_are_each_settled_in_one_pass() {
    let daemon = TestDaemon::start();
    let user = |i: usize| format!("u{i}@bulk.example");
    let mut sql = String::new();
    for i in 0..60 {
        let key = user(i);
        sql += &format!(
            "INSERT INTO users (user_key, created_at) VALUES ('{key}', 0); \
             INSERT INTO wa_device (user_key, data, updated_at) VALUES ('{key}', x'00', 0);"
        );
        sql += &if i < 40 {
            // Pairs share a number; the even user connected last and keeps it.
            let number = 573_005_000_000 + (i / 2) as u64;
            let last = if i % 2 == 0 { 2000 } else { 1000 };
            format!(
                "INSERT INTO whatsapp_connections (user_key, status, phone_number, \
                 last_connected_at, updated_at) VALUES ('{key}', 'DISCONNECTED', '{number}', \
                 {last}, {last});"
            )
        } else {
            format!(
                "INSERT INTO whatsapp_connections (user_key, status, qr_issued_at, \
                 qr_expires_at, node_id, updated_at) VALUES ('{key}', 'PENDING_QR', 1, 2, \
                 'gone-node', 1); INSERT INTO connect_locks (user_key, owner, node_id, \
                 acquired_at, expires_at) VALUES ('{key}', 'attempt', 'gone-node', 1, \
                 9000000000000);"
            )
        };
    }
    daemon.sql(&sql);

    let resolved = daemon
        .cli(&["--json", "resolve-conflicts"])
        .success()
        .json();
    assert_eq!(
        (
            resolved["resolved"].as_u64(),
            resolved["disconnected"].as_u64()
        ),
        (Some(20), Some(20)),
        "{resolved}"
    );
    daemon.cli(&["detect-conflicts"]).success();
    for pair in 0..20 {
        let (kept, detached) = (user(2 * pair), user(2 * pair + 1));
        let number = (573_005_000_000 + pair as u64).to_string();
        assert_eq!(daemon.row(&kept)["phone_number"], number.as_str());
        assert!(daemon.has_credentials(&kept), "{kept} keeps its link");
        let row = daemon.row(&detached);
        assert_eq!(
            (&row["status"], &row["phone_number"]),
            (&"DISCONNECTED".into(), &Value::Null)
        );
        // Its device is still linked and no session runs it: the store is kept for the
        // unlink a node will make from it (see the `linked devices` check).
        assert!(
            daemon.has_credentials(&detached),
            "{detached} keeps its store until its device is unlinked"
        );
        let events = daemon.events(&detached);
        let last = events.last().expect("an event");
        assert_eq!(
            last["reason"],
            format!("conflict resolved: number {number} kept by {kept}")
        );
    }

    let cleaned = daemon.cli(&["--json", "cleanup"]).success().json();
    assert_eq!(cleaned["expired_qr"].as_u64(), Some(20), "{cleaned}");
    for i in 40..60 {
        let key = user(i);
        let row = daemon.row(&key);
        assert_eq!(row["status"], "DISCONNECTED", "{row}");
        assert_eq!(row["reason"], "QR code not scanned in time");
        assert!(!daemon.has_credentials(&key), "{key} lost its store");
        let kinds: Vec<String> = daemon
            .events(&key)
            .iter()
            .map(|e| {
                format!(
                    "{}:{}",
                    e["kind"].as_str().unwrap_or(""),
                    e["data"]["result"].as_str().unwrap_or("")
                )
            })
            .collect();
        assert_eq!(kinds, ["state:", "pairing:expired"], "{key}");
    }
    let stats = daemon.cli(&["--json", "stats"]).success().json();
    assert_eq!(stats["locks_held"].as_u64(), Some(0), "{stats}");
    assert_eq!(stats["pending_qr"].as_u64(), Some(0), "{stats}");
}

/// `wasess list | head -1`: the reader is gone before the output is written. The command
/// still ends with its own exit code, and nothing on stderr but what it had to say.
#[test]
fn output_to_a_closed_pipe_is_not_a_crash() {
    let daemon = TestDaemon::start();
    daemon.add_users(&[ALICE]);
    for args in [&["--json", "list"][..], &["list"][..]] {
        let (reader, writer) = std::io::pipe().expect("pipe");
        drop(reader);
        let output = daemon
            .cli_command(args)
            .stdout(writer)
            .output()
            .expect("run wasess");
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(0), "{args:?}: {stderr}");
        assert!(!stderr.contains("panicked"), "{args:?}: {stderr}");
    }
}

#[test]
fn an_unscanned_qr_times_out_with_exit_6_and_frees_the_user() {
    let config = "qr_ttl = \"2s\"\n[simulated]\nqr_first = \"20s\"\n";
    let daemon = TestDaemon::start_with(config);
    daemon.add_users(&[ALICE]);
    let started = Instant::now();
    let run = daemon.cli(&["connect", "--user", ALICE]).fails_with(6);
    assert!(run.stderr.contains("not scanned in time"), "{run}");
    assert!(started.elapsed() < WAIT);
    daemon.cli(&["check", "--user", ALICE]).success();
    let row = daemon.row(ALICE);
    assert_eq!(row["status"], "DISCONNECTED");
    assert_eq!(row["reason"], "QR code not scanned in time");
    assert!(!daemon.has_credentials(ALICE));
}

#[test]
fn exhausted_qr_codes_end_the_pairing() {
    let config = "[simulated]\nqr_first = \"300ms\"\nqr_next = \"200ms\"\nqr_codes = 3\n";
    let daemon = TestDaemon::start_with(config);
    daemon.add_users(&[ALICE]);
    let run = daemon
        .cli(&["--json", "connect", "--user", ALICE])
        .fails_with(6);
    let shown = run
        .stderr
        .lines()
        .filter(|l| l.starts_with("qr: 2@"))
        .count();
    assert_eq!(shown, 3, "every rotation is shown: {run}");
    assert_eq!(run.json()["error"]["exit_code"], 6);
    daemon.cli(&["check", "--user", ALICE]).success();
}

#[test]
fn ctrl_c_cancels_the_pairing_and_releases_everything() {
    let daemon = TestDaemon::start();
    daemon.add_users(&[ALICE]);
    let mut connect = daemon
        .cli_command(&["connect", "--user", ALICE])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("connect");
    let stdout = connect.stdout.take().expect("stdout");
    let mut lines = BufReader::new(stdout).lines();
    let mut qr_lines = 0;
    loop {
        let line = lines.next().expect("connect output").expect("line");
        if line.contains("Scan with WhatsApp") {
            break;
        }
        if line.contains('█') || line.contains('▀') || line.contains('▄') {
            qr_lines += 1;
        }
    }
    assert!(qr_lines > 10, "a QR code was drawn");
    signal(connect.id(), libc::SIGINT);
    let status = connect.wait().expect("wait");
    assert_eq!(status.code(), Some(130));
    daemon.cli(&["check", "--user", ALICE]).success();
    let row = daemon.row(ALICE);
    assert_eq!(row["status"], "DISCONNECTED");
    assert_eq!(row["reason"], "pairing cancelled");
    assert_eq!(
        daemon.cli(&["--json", "stats"]).success().json()["locks_held"],
        0
    );
}

#[test]
fn fifty_parallel_connects_have_one_winner() {
    let daemon = TestDaemon::start();
    daemon.add_users(&[ALICE]);
    let children: Vec<_> = (0..50)
        .map(|_| {
            daemon
                .cli_command(&["--json", "connect", "--user", ALICE, "--detach"])
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .expect("connect")
        })
        .collect();
    let mut codes = Vec::new();
    for child in children {
        let output = child.wait_with_output().expect("wait");
        let code = output.status.code();
        if code == Some(3) {
            let stderr = String::from_utf8_lossy(&output.stderr);
            assert!(
                stderr.contains("already pending") || stderr.contains("in progress"),
                "{stderr}"
            );
        }
        codes.push(code);
    }
    assert_eq!(
        codes.iter().filter(|c| **c == Some(0)).count(),
        1,
        "{codes:?}"
    );
    assert_eq!(
        codes.iter().filter(|c| **c == Some(3)).count(),
        49,
        "{codes:?}"
    );
    let stats = daemon.cli(&["--json", "stats"]).success().json();
    assert_eq!(
        (stats["pending_qr"].as_u64(), stats["locks_held"].as_u64()),
        (Some(1), Some(1))
    );
}

#[test]
fn a_replaced_stream_is_never_reconnected() {
    let daemon = TestDaemon::start();
    daemon.add_users(&[ALICE]);
    daemon.pair(ALICE, NUMBER);
    daemon
        .cli(&["sim", "event", "--user", ALICE, "replaced"])
        .success();
    let row = daemon.wait_status(ALICE, "CONFLICT");
    assert!(row["reason"]
        .as_str()
        .expect("reason")
        .contains("not reconnecting"));
    // Longer than every back-off the daemon would use: still in CONFLICT, no attempt made.
    std::thread::sleep(Duration::from_secs(1));
    let row = daemon.row(ALICE);
    assert_eq!(row["status"], "CONFLICT");
    assert_eq!(row["reconnect_attempts"], 0);
    let log = daemon
        .cli(&["--json", "log", "--user", ALICE])
        .success()
        .json();
    let reconnects = log["events"]
        .as_array()
        .expect("events")
        .iter()
        .filter(|e| {
            e["reason"]
                .as_str()
                .is_some_and(|r| r.contains("reconnecting (attempt"))
        })
        .count();
    assert_eq!(reconnects, 0);
    // The session is gone: the phone has nothing left to act on.
    daemon
        .cli(&["sim", "event", "--user", ALICE, "network-drop"])
        .fails_with(3);
}

#[test]
fn network_drops_reconnect_at_most_three_times() {
    let daemon = TestDaemon::start();
    daemon.add_users(&[ALICE, BOB]);
    daemon.pair(ALICE, NUMBER);
    daemon
        .cli(&["sim", "event", "--user", ALICE, "network-drop"])
        .success();
    daemon.wait_until("the reconnect", || {
        let row = daemon.row(ALICE);
        row["status"] == "CONNECTED" && row["reason"] == "reconnected"
    });

    daemon.pair(BOB, "573009998888");
    daemon
        .cli(&["sim", "event", "--user", BOB, "network-lost"])
        .success();
    let row = daemon.wait_status(BOB, "DISCONNECTED");
    assert!(
        row["reason"]
            .as_str()
            .expect("reason")
            .starts_with("network lost: gave up after 3 reconnect attempts"),
        "{row}"
    );
    assert_eq!(
        row["phone_number"], "573009998888",
        "credentials and number are kept"
    );
    let log = daemon
        .cli(&["--json", "log", "--user", BOB])
        .success()
        .json();
    let attempts: Vec<&str> = log["events"]
        .as_array()
        .expect("events")
        .iter()
        .filter_map(|e| e["reason"].as_str())
        .filter(|r| r.contains("reconnecting (attempt"))
        .collect();
    assert_eq!(attempts.len(), 3, "{attempts:?}");
}

#[test]
fn logged_out_and_banned_sessions_land_in_their_states() {
    let daemon = TestDaemon::start();
    daemon.add_users(&[ALICE, BOB]);
    daemon.pair(ALICE, NUMBER);
    daemon
        .cli(&["sim", "event", "--user", ALICE, "logged-out"])
        .success();
    let row = daemon.wait_status(ALICE, "LOGGED_OUT");
    assert!(row["phone_number"].is_null());
    assert!(!daemon.has_credentials(ALICE));

    daemon.pair(BOB, "573009998888");
    daemon
        .cli(&["sim", "event", "--user", BOB, "temporary-ban"])
        .success();
    let row = daemon.wait_status(BOB, "PAUSED");
    assert!(row["paused_until"].is_string(), "{row}");
}

#[test]
fn sessions_survive_a_restart() {
    let mut daemon = TestDaemon::start();
    daemon.add_users(&[ALICE, BOB]);
    daemon.pair(ALICE, NUMBER);
    daemon
        .cli(&["--json", "connect", "--user", BOB, "--detach"])
        .success();
    let status = daemon.stop();
    assert!(status.success(), "graceful stop exits 0");
    // Stopping cancelled the pairing: no lock, no pending QR outlives the daemon.
    assert_eq!(
        daemon
            .cli(&["--offline", "--json", "stats"])
            .success()
            .json()["locks_held"],
        0
    );
    daemon.restart();
    daemon.wait_until("alice resumed", || {
        daemon
            .cli(&["sim", "event", "--user", ALICE, "network-drop"])
            .code
            == Some(0)
    });
    assert_eq!(daemon.row(ALICE)["status"], "CONNECTED");
    assert_eq!(daemon.row(BOB)["status"], "DISCONNECTED");
    daemon.cli(&["check", "--user", BOB]).success();
}

#[test]
fn a_crash_during_pairing_leaves_the_user_able_to_connect() {
    let mut daemon = TestDaemon::start();
    daemon.add_users(&[ALICE]);
    daemon
        .cli(&["connect", "--user", ALICE, "--detach"])
        .success();
    daemon.crash();
    daemon.restart();
    let row = daemon.row(ALICE);
    assert_eq!(row["status"], "DISCONNECTED");
    assert_eq!(row["reason"], "pairing interrupted by a daemon restart");
    daemon.cli(&["check", "--user", ALICE]).success();
    daemon.pair(ALICE, NUMBER);
}

#[test]
fn reset_sessions_clears_one_user_or_everyone() {
    let daemon = TestDaemon::start();
    daemon.add_users(&[ALICE, BOB]);
    daemon.pair(ALICE, NUMBER);
    daemon.pair(BOB, "573009998888");
    let one = daemon
        .cli(&["--json", "reset-sessions", "--user", ALICE])
        .success()
        .json();
    assert_eq!(one["users"][0]["previous_status"], "CONNECTED");
    let row = daemon.row(ALICE);
    assert_eq!(
        (row["status"].as_str(), row["phone_number"].is_null()),
        (Some("DISCONNECTED"), true)
    );
    assert!(!daemon.has_credentials(ALICE));
    assert_eq!(daemon.row(BOB)["status"], "CONNECTED");

    let refused = daemon.cli(&["reset-sessions", "--all"]).fails_with(2);
    assert!(refused.stderr.contains("--yes"), "{refused}");
    assert_eq!(daemon.row(BOB)["status"], "CONNECTED");
    daemon.cli(&["reset-sessions", "--all", "--yes"]).success();
    assert_eq!(daemon.row(BOB)["status"], "DISCONNECTED");
    daemon.cli(&["check", "--user", BOB]).success();
    daemon.cli(&["reset-sessions"]).fails_with(2);
}

#[test]
fn cleanup_removes_orphan_stores_and_reports_counts() {
    let daemon = TestDaemon::start();
    daemon.add_users(&[ALICE]);
    daemon.pair(ALICE, NUMBER);
    // Credentials left for a row that cannot use them (bob has no number).
    daemon.add_users(&[BOB]);
    daemon.sql("INSERT INTO wa_device VALUES ('bob@example.com', x'00', 0)");
    let preview = daemon
        .cli(&["--json", "cleanup", "--dry-run"])
        .success()
        .json();
    assert_eq!(preview["orphan_stores"], 1);
    assert!(daemon.has_credentials(BOB));
    let done = daemon.cli(&["--json", "cleanup"]).success().json();
    assert_eq!(done["orphan_stores"], 1);
    assert!(!daemon.has_credentials(BOB));
    assert!(daemon.has_credentials(ALICE));
    assert_eq!(daemon.row(ALICE)["status"], "CONNECTED");
}

#[test]
fn offline_recovery_refuses_while_the_daemon_runs() {
    let mut daemon = TestDaemon::start();
    daemon.add_users(&[ALICE]);
    let refused = daemon.cli(&["--offline", "stats"]).fails_with(3);
    assert!(refused.stderr.contains("already running"), "{refused}");
    daemon
        .cli(&["--offline", "connect", "--user", ALICE])
        .fails_with(2);
    daemon.stop();
    let stats = daemon
        .cli(&["--offline", "--json", "stats"])
        .success()
        .json();
    assert_eq!(stats["total"], 1);
    daemon.cli(&["--offline", "detect-conflicts"]).success();
    daemon.cli(&["--offline", "cleanup"]).success();
    daemon
        .cli(&["--offline", "reset-sessions", "--user", ALICE])
        .success();
}

#[test]
fn a_second_daemon_on_the_same_data_dir_is_refused() {
    let daemon = TestDaemon::start();
    let output = std::process::Command::new(crate::support::daemon::WASESSD)
        .args(["--backend", "simulated", "--data-dir"])
        .arg(daemon.data_dir())
        .arg("--socket")
        .arg(daemon.dir.path().join("other.sock"))
        .output()
        .expect("second wasessd");
    assert_eq!(output.status.code(), Some(3));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("already running"), "{stderr}");
    daemon.cli(&["ping"]).success();
}

#[test]
fn every_exit_code_is_the_documented_one() {
    let daemon = TestDaemon::start();
    daemon.add_users(&[ALICE]);
    daemon.cli(&["ping"]).success();
    daemon
        .cli(&["check", "--user", "nobody@example.com"])
        .fails_with_output(4);
    daemon
        .cli(&["connect", "--user", "nobody@example.com"])
        .fails_with(4);
    daemon.cli(&["check", "--user", "not a key"]).fails_with(2);
    daemon
        .cli(&["check", "--user", ALICE, "--phone", "12"])
        .fails_with(2);
    daemon.cli(&["check"]).fails_with(2);
    daemon.cli(&["frobnicate"]).fails_with(2);
    daemon.cli(&["users", "add", ALICE]).fails_with(3);
    daemon
        .cli(&["connect", "--user", ALICE, "--qr-file", "code.gif"])
        .fails_with(2);
    let output = std::process::Command::new(crate::support::daemon::WASESS)
        .args(["--socket", "/nonexistent/wasessd.sock", "stats"])
        .output()
        .expect("wasess");
    let unreachable = crate::support::daemon::Run::from(output, &["stats"]).fails_with(5);
    assert!(
        unreachable.stderr.contains("is the daemon running?"),
        "{unreachable}"
    );
    // 6 and 130: see the QR and Ctrl-C tests; 7: the real backend's offline test.
}

#[test]
fn hostile_lines_get_errors_and_the_daemon_keeps_serving() {
    let daemon = TestDaemon::start();
    let answers = daemon
        .raw("this is not json\n{\"jsonrpc\":\"2.0\",\"id\":7,\"method\":\"no-such-method\"}\n{\"id\":8}\n")
        .expect("answers");
    // Requests on one connection run concurrently: answers match by id, not by order.
    let mut codes: Vec<i64> = answers
        .iter()
        .map(|a| a["error"]["code"].as_i64().expect("an error"))
        .collect();
    codes.sort();
    assert_eq!(codes, [-32700, -32601, -32600]);
    let unknown = answers
        .iter()
        .find(|a| a["id"] == 7)
        .expect("id 7 answered");
    assert_eq!(unknown["error"]["code"], -32601);
    assert_eq!(unknown["error"]["data"]["exit_code"], 2);
    let huge = format!(
        "{{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"stats\",\"params\":{{\"x\":\"{}\"}}}}",
        "a".repeat(2 << 20)
    );
    let answers = daemon.raw(&huge).expect("answer");
    assert_eq!(answers[0]["error"]["code"], -32600);
    let answers = daemon
        .raw("{\"jsonrpc\":\"2.0\",\"id\":2,\"method\":\"check\",\"params\":{\"usr\":1}}")
        .expect("answer");
    assert_eq!(answers[0]["error"]["code"], -32602);
    daemon.cli(&["ping"]).success();
}

/// Where nothing listens: the real backend's connections fail at once.
const NOWHERE: &str = "ws://127.0.0.1:9/ws/chat";

#[test]
fn sim_commands_are_refused_by_the_real_backend() {
    let daemon = TestDaemon::start_backend("whatsapp", "", &["--wa-endpoint", NOWHERE]);
    let run = daemon
        .cli(&["sim", "scan", "--user", ALICE, "--phone", NUMBER])
        .fails_with(2);
    assert!(run.stderr.contains("--backend simulated"), "{run}");
}

#[test]
fn the_real_backend_fails_fast_offline_and_leaves_nothing_behind() {
    let daemon = TestDaemon::start_backend("whatsapp", "", &["--wa-endpoint", NOWHERE]);
    daemon.add_users(&[ALICE]);
    let started = Instant::now();
    let run = daemon.cli(&["connect", "--user", ALICE]).fails_with(7);
    assert!(run.stderr.contains("WhatsApp unreachable"), "{run}");
    assert!(
        started.elapsed() < Duration::from_secs(90),
        "bounded: {:?}",
        started.elapsed()
    );
    daemon.cli(&["check", "--user", ALICE]).success();
    let row = daemon.row(ALICE);
    assert_eq!(row["status"], "DISCONNECTED");
    assert!(row["reason"]
        .as_str()
        .expect("reason")
        .starts_with("pairing failed"));
    assert!(!daemon.has_credentials(ALICE));
    assert_eq!(
        daemon.cli(&["--json", "stats"]).success().json()["locks_held"],
        0
    );
}

#[test]
fn daemonize_goes_to_the_background_and_tells_systemd_style_readiness() {
    let dir = tempfile::tempdir().expect("temp dir");
    let data = dir.path().join("data");
    let socket = dir.path().join("wasessd.sock");
    let notify = dir.path().join("notify.sock");
    let listener = std::os::unix::net::UnixDatagram::bind(&notify).expect("notify socket");
    listener.set_read_timeout(Some(WAIT)).expect("timeout");
    let daemonize = |extra: &[&str]| {
        std::process::Command::new(crate::support::daemon::WASESSD)
            .args(["--backend", "simulated", "--daemonize", "--data-dir"])
            .arg(&data)
            .arg("--socket")
            .arg(&socket)
            .args(extra)
            .env("NOTIFY_SOCKET", &notify)
            .output()
            .expect("wasessd")
    };
    let first = daemonize(&[]);
    assert_eq!(first.status.code(), Some(0), "{first:?}");
    let mut ready = [0u8; 256];
    let received = listener.recv(&mut ready).expect("READY=1 from the daemon");
    assert!(String::from_utf8_lossy(&ready[..received]).contains("READY=1"));
    let pid: i32 = std::fs::read_to_string(data.join("wasessd.pid"))
        .expect("pid file")
        .trim()
        .parse()
        .expect("a pid");
    let second = daemonize(&[]);
    assert_eq!(second.status.code(), Some(3));
    assert!(String::from_utf8_lossy(&second.stderr).contains(&format!("pid {pid}")));
    signal(pid as u32, libc::SIGTERM);
    let deadline = Instant::now() + WAIT;
    while std::path::Path::new(&format!("/proc/{pid}")).exists() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(20));
    }
    assert!(!socket.exists(), "the socket is removed on stop");
    assert!(
        !data.join("wasessd.pid").exists(),
        "the pid file is removed on stop"
    );
}

#[test]
fn sighup_reloads_the_config_file() {
    let daemon = TestDaemon::start();
    daemon.add_users(&[ALICE, BOB]);
    daemon.pair(ALICE, NUMBER);
    let config = format!("conflict_policy = \"reject-new\"\n{FAST_CONFIG}");
    std::fs::write(daemon.config_file(), config).expect("new config");
    signal(daemon.pid(), libc::SIGHUP);
    daemon.wait_until("the reload", || daemon.log().contains("config reloaded"));
    daemon
        .cli(&["connect", "--user", BOB, "--detach"])
        .success();
    daemon
        .cli(&["sim", "scan", "--user", BOB, "--phone", NUMBER])
        .success();
    let bob = daemon.wait_status(BOB, "DISCONNECTED");
    assert!(bob["reason"]
        .as_str()
        .expect("reason")
        .starts_with("number already registered"));
    assert_eq!(daemon.row(ALICE)["status"], "CONNECTED");
    std::fs::write(daemon.config_file(), "qr_ttl = \"5 parsecs\"").expect("broken config");
    signal(daemon.pid(), libc::SIGHUP);
    daemon.wait_until("the refusal", || {
        daemon.log().contains("config not reloaded")
    });
    daemon.cli(&["ping"]).success();
}

#[test]
fn connect_writes_the_qr_code_to_a_png_or_svg_file() {
    let daemon = TestDaemon::start();
    daemon.add_users(&[ALICE, BOB]);
    let png = daemon.dir.path().join("alice.png");
    let svg = daemon.dir.path().join("bob.svg");
    daemon
        .cli(&[
            "connect",
            "--user",
            ALICE,
            "--detach",
            "--qr-file",
            png.to_str().expect("path"),
        ])
        .success();
    daemon
        .cli(&[
            "connect",
            "--user",
            BOB,
            "--detach",
            "--qr-file",
            svg.to_str().expect("path"),
        ])
        .success();
    let bytes = std::fs::read(&png).expect("PNG written");
    assert_eq!(&bytes[..8], b"\x89PNG\r\n\x1a\n");
    assert!(std::fs::read_to_string(&svg)
        .expect("SVG written")
        .contains("<svg"));
}

#[test]
fn pair_code_logins_show_a_code_and_apply_rule_four_up_front() {
    let daemon = TestDaemon::start();
    daemon.add_users(&[ALICE, BOB]);
    daemon.pair(ALICE, NUMBER);
    let taken = daemon
        .cli(&[
            "connect",
            "--user",
            BOB,
            "--pair-code",
            "--phone",
            "+57 300 123 4567",
        ])
        .fails_with(3);
    assert!(
        taken
            .stderr
            .contains("number already registered to another account"),
        "{taken}"
    );
    let pending = daemon
        .cli(&[
            "--json",
            "connect",
            "--user",
            BOB,
            "--pair-code",
            "--phone",
            "573009998888",
            "--detach",
        ])
        .success()
        .json();
    let code = pending["qr"]["code"].as_str().expect("a pair code");
    assert_eq!(code.len(), 8, "{pending}");
    assert_eq!(pending["qr"]["pair_code"], true);
    // The code was issued for one number: another phone cannot use it.
    daemon
        .cli(&["sim", "scan", "--user", BOB, "--phone", "573001112222"])
        .fails_with(3);
    daemon
        .cli(&["sim", "scan", "--user", BOB, "--phone", "573009998888"])
        .success();
    assert_eq!(
        daemon.wait_status(BOB, "CONNECTED")["phone_number"],
        "573009998888"
    );
    daemon
        .cli(&["connect", "--user", ALICE, "--pair-code"])
        .fails_with(2);
}

/// A test build skips WhatsApp's certificate check, so it refuses to reach WhatsApp's servers.
#[cfg(feature = "wa-peer")]
#[test]
fn a_test_build_refuses_the_real_servers() {
    let dir = tempfile::tempdir().expect("temp dir");
    let (code, stderr) = crate::support::daemon::wasessd_refused(
        &dir.path().join("data"),
        &dir.path().join("wasessd.sock"),
        &["--backend", "whatsapp"],
    );
    assert_eq!(code, Some(2));
    assert!(stderr.contains("--wa-endpoint"), "{stderr}");
}

#[test]
fn reconnect_runs_once_and_never_with_a_number_another_user_holds() {
    let daemon = TestDaemon::start();
    daemon.add_users(&[ALICE, BOB]);
    daemon.pair(ALICE, NUMBER);
    daemon.cli(&["disconnect", "--user", ALICE]).success();
    // Two operators reconnect alice at once: one client starts, the other is refused.
    let children: Vec<_> = (0..2)
        .map(|_| {
            daemon
                .cli_command(&["reconnect", "--user", ALICE])
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .expect("reconnect")
        })
        .collect();
    let mut codes: Vec<Option<i32>> = children
        .into_iter()
        .map(|child| child.wait_with_output().expect("wait").status.code())
        .collect();
    codes.sort();
    assert_eq!(codes, [Some(0), Some(3)]);
    daemon.wait_status(ALICE, "CONNECTED");

    // Bob's row comes to hold alice's number too (a legacy import, say) while alice is away.
    daemon.cli(&["disconnect", "--user", ALICE]).success();
    daemon.sql(&format!(
        "UPDATE whatsapp_connections SET phone_number = '{NUMBER}' WHERE user_key = '{BOB}'"
    ));
    let refused = daemon.cli(&["reconnect", "--user", ALICE]).fails_with(3);
    assert!(
        refused.stderr.contains(&format!("held by {BOB}")),
        "{refused}"
    );
    assert_eq!(daemon.row(ALICE)["status"], "DISCONNECTED");
}

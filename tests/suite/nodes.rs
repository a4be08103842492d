//! Several daemons, one PostgreSQL registry: three real `wasessd` nodes with their own data
//! dirs share one database, and the guarantees hold across them.

use std::process::Stdio;

use crate::support::daemon::TestDaemon;
use crate::support::databases::TestDb;

const NODE_CONFIG: &str = r#"
heartbeat_interval = "300ms"
node_grace = "2s"
reconnect_backoff = "100ms"
cleanup_interval = "1h"
[simulated]
qr_first = "20s"
"#;

struct Cluster {
    nodes: Vec<TestDaemon>,
    db: TestDb,
}

/// Three nodes on a fresh schema, or `None` (with a notice) without PostgreSQL.
fn cluster() -> Option<Cluster> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let db = runtime.block_on(TestDb::postgres())?;
    let config = NODE_CONFIG;
    let nodes = ["node-a", "node-b", "node-c"]
        .into_iter()
        .map(|node| TestDaemon::start_node(node, &db.url, config))
        .collect();
    Some(Cluster { nodes, db })
}

impl Drop for Cluster {
    fn drop(&mut self) {
        self.nodes.clear();
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime");
        let db = std::mem::replace(&mut self.db, runtime.block_on(TestDb::sqlite()));
        runtime.block_on(db.finish());
    }
}

#[test]
fn sixty_connects_across_three_nodes_have_one_winner() {
    let Some(cluster) = cluster() else { return };
    let [a, b, c] = &cluster.nodes[..] else {
        unreachable!()
    };
    a.add_users(&["alice@example.com"]);
    let children: Vec<_> = (0..60)
        .map(|i| {
            [a, b, c][i % 3]
                .cli_command(&["connect", "--user", "alice@example.com", "--detach"])
                .stdout(Stdio::null())
                .stderr(Stdio::piped())
                .spawn()
                .expect("connect")
        })
        .collect();
    let codes: Vec<Option<i32>> = children
        .into_iter()
        .map(|child| child.wait_with_output().expect("wait").status.code())
        .collect();
    assert_eq!(
        codes.iter().filter(|c| **c == Some(0)).count(),
        1,
        "{codes:?}"
    );
    assert_eq!(
        codes.iter().filter(|c| **c == Some(3)).count(),
        59,
        "{codes:?}"
    );
    let nodes = b.cli(&["--json", "nodes"]).success().json();
    assert_eq!(nodes["nodes"].as_array().expect("nodes").len(), 3);
}

#[test]
fn one_number_scanned_on_two_nodes_ends_with_one_connected_row() {
    let Some(cluster) = cluster() else { return };
    let [a, b, _] = &cluster.nodes[..] else {
        unreachable!()
    };
    a.add_users(&["alice@example.com", "bob@example.com"]);
    a.pair("alice@example.com", "573001234567");
    assert_eq!(a.row("alice@example.com")["node_id"], "node-a");
    b.pair("bob@example.com", "573001234567");
    let alice = b.wait_status("alice@example.com", "LOGGED_OUT");
    assert!(alice["phone_number"].is_null());
    // Node A notices the change that displaced alice and logs her session out; her
    // credentials, kept for that unlink, go with it.
    a.wait_until("alice's device unlinked and its store gone", || {
        !a.has_credentials("alice@example.com")
    });
    a.wait_until("node A closing alice's session", || {
        let drop = [
            "sim",
            "event",
            "--user",
            "alice@example.com",
            "network-drop",
        ];
        a.cli_command(&drop)
            .stderr(Stdio::null())
            .status()
            .expect("sim event")
            .code()
            == Some(3)
    });
    let connected = a
        .cli(&["--json", "list", "--status", "connected"])
        .success()
        .json();
    let rows = connected["connections"].as_array().expect("rows");
    assert_eq!(rows.len(), 1, "{connected}");
    assert_eq!(rows[0]["user"], "bob@example.com");
    assert_eq!(rows[0]["node_id"], "node-b");
    a.cli(&["detect-conflicts"]).success();
}

#[test]
fn a_killed_nodes_sessions_are_taken_over_without_a_new_pairing() {
    let Some(mut cluster) = cluster() else { return };
    cluster.nodes[0].add_users(&["carol@example.com"]);
    let before = cluster.nodes[2].pair("carol@example.com", "573005556666");
    cluster.nodes[2].crash();
    let a = &cluster.nodes[0];
    a.wait_until("carol taken over by a survivor", || {
        let row = a.row("carol@example.com");
        row["status"] == "CONNECTED" && row["node_id"] != "node-c"
    });
    let row = a.row("carol@example.com");
    assert_eq!(row["phone_number"], "573005556666");
    assert!(row["epoch"].as_i64() > before["epoch"].as_i64(), "{row}");
    let nodes = a.cli(&["--json", "nodes"]).success().json();
    let lost: Vec<&str> = nodes["nodes"]
        .as_array()
        .expect("nodes")
        .iter()
        .filter(|n| n["state"] == "lost")
        .map(|n| n["node_id"].as_str().unwrap_or_default())
        .collect();
    assert_eq!(lost, ["node-c"]);
    // Resumed from the shared credentials: no pairing was started for carol.
    assert_eq!(
        a.pairings_started("carol@example.com"),
        1,
        "only the first pairing"
    );
}

#[test]
fn a_drained_node_hands_its_sessions_over_and_the_last_live_node_cannot_drain() {
    let Some(cluster) = cluster() else { return };
    let [a, b, c] = &cluster.nodes[..] else {
        unreachable!()
    };
    a.add_users(&["dave@example.com", "erin@example.com"]);
    a.pair("dave@example.com", "573007770001");
    a.pair("erin@example.com", "573007770002");
    let drained = b.cli(&["--json", "nodes", "drain", "node-a", "--timeout", "30s"]);
    assert_eq!(drained.code, Some(0), "{}\n{}", drained.stderr, a.log());
    let drained = drained.json();
    assert_eq!(drained["sessions_before"], 2, "{drained}");
    assert_eq!(drained["finished"], true, "{drained}");
    for user in ["dave@example.com", "erin@example.com"] {
        b.wait_until("the session resumed on another node", || {
            let row = b.row(user);
            row["status"] == "CONNECTED" && row["node_id"] != "node-a" && !row["node_id"].is_null()
        });
        assert_eq!(b.pairings_started(user), 1, "no new pairing for {user}");
    }
    // A draining node takes no new session.
    a.add_users(&["frank@example.com"]);
    a.cli(&["connect", "--user", "frank@example.com", "--detach"])
        .fails_with(3);
    b.cli(&["nodes", "drain", "node-b", "--no-wait"]).success();
    let refused = c.cli(&["nodes", "drain", "node-c"]).fails_with(3);
    assert!(
        refused.stderr.contains("only live node"),
        "{}",
        refused.stderr
    );
    let nodes = c.cli(&["--json", "nodes"]).success().json();
    let states: Vec<&str> = nodes["nodes"]
        .as_array()
        .expect("nodes")
        .iter()
        .map(|n| n["state"].as_str().unwrap_or_default())
        .collect();
    assert_eq!(states, ["draining", "draining", "live"], "{nodes}");
    c.cli(&["nodes", "drain", "node-x"]).fails_with(3);
}

#[test]
fn a_second_daemon_with_a_live_node_id_is_refused_naming_the_first() {
    let Some(cluster) = cluster() else { return };
    let a = &cluster.nodes[0];
    let (code, stderr) = TestDaemon::start_node_refused("node-a", &cluster.db.url, NODE_CONFIG);
    assert_eq!(code, Some(3), "{stderr}");
    assert!(
        stderr.contains(&format!("pid {}", a.pid())) && stderr.contains("(host "),
        "{stderr}"
    );
    // The first one is untouched.
    let nodes = a.cli(&["--json", "nodes"]).success().json();
    let node_a = &nodes["nodes"][0];
    assert_eq!(node_a["state"], "live", "{nodes}");
    assert_eq!(node_a["pid"], a.pid(), "{nodes}");
}

#[test]
fn a_session_live_on_another_node_is_not_reconnected_here() {
    let Some(cluster) = cluster() else { return };
    let [a, b, _] = &cluster.nodes[..] else {
        unreachable!()
    };
    a.add_users(&["gina@example.com"]);
    b.pair("gina@example.com", "573008880001");
    let refused = a
        .cli(&["reconnect", "--user", "gina@example.com"])
        .fails_with(3);
    assert!(refused.stderr.contains("runs on node node-b"), "{refused}");
    let row = a.row("gina@example.com");
    assert_eq!(
        (row["status"].as_str(), row["node_id"].as_str()),
        (Some("CONNECTED"), Some("node-b"))
    );
}

#[test]
fn a_user_removed_on_one_node_is_unlinked_by_the_node_that_runs_it() {
    let Some(cluster) = cluster() else { return };
    let [a, b, _] = &cluster.nodes[..] else {
        unreachable!()
    };
    a.add_users(&["hank@example.com"]);
    b.pair("hank@example.com", "573008880002");
    a.cli(&["users", "remove", "hank@example.com"]).success();
    b.wait_until("node B ending hank's session", || {
        b.cli_command(&["sim", "event", "--user", "hank@example.com", "network-drop"])
            .stderr(Stdio::null())
            .status()
            .expect("sim event")
            .code()
            == Some(3)
    });
    assert!(!b.has_credentials("hank@example.com"));
}

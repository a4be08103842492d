//! Sessions survive the loss of their node, with the real WhatsApp client: several real
//! `wasessd` nodes share one PostgreSQL registry and run the real `whatsapp` backend against
//! one test WhatsApp peer (the `wa-peer` binary), which — as WhatsApp does — replaces the
//! older connection when a device logs in twice and counts every such double login.

use std::collections::BTreeMap;

use serde_json::Value;

use crate::support::daemon::{signal, TestDaemon};
use crate::support::databases::TestDb;
use crate::support::forwarder::Forwarder;
use crate::support::peer::{counters, PeerOptions, PeerProcess};

/// A lease of 6 s renewed every 300 ms: a node that cannot renew fences itself after 3 s,
/// which leaves its clients 3 s to close before anyone may take their sessions, even on a
/// 2-core machine running the whole suite in parallel (2 s was seen to fall short there).
const CONFIG: &str = r#"
heartbeat_interval = "300ms"
node_grace = "6s"
reconnect_backoff = "100ms"
max_reconnect_attempts = 3
cleanup_interval = "1h"
resume_rate = 50
"#;

struct Cluster {
    nodes: Vec<TestDaemon>,
    /// The registry link of each node cut off through a forwarder.
    links: Vec<Option<Forwarder>>,
    /// Outlives the nodes (fields drop in order).
    _peer: PeerProcess,
    db: Option<TestDb>,
}

/// Nodes `names` on a fresh schema; `through_forwarder[i]` puts node i behind a forwarder.
fn cluster(names: &[&str], through_forwarder: &[bool]) -> Option<Cluster> {
    let runtime = runtime();
    let db = runtime.block_on(TestDb::postgres())?;
    let peer = PeerProcess::start(PeerOptions::default());
    let mut nodes = Vec::new();
    let mut links = Vec::new();
    for (at, name) in names.iter().enumerate() {
        let (url, link) = if through_forwarder.get(at).copied().unwrap_or(false) {
            let (before, host, after) = split_host(&db.url);
            let forwarder = Forwarder::start(host);
            (
                format!("{before}{}{after}", forwarder.address),
                Some(forwarder),
            )
        } else {
            (db.url.clone(), None)
        };
        nodes.push(TestDaemon::start_node_on(
            name,
            &url,
            CONFIG,
            "whatsapp",
            &peer.daemon_args(),
        ));
        links.push(link);
    }
    Some(Cluster {
        nodes,
        links,
        _peer: peer,
        db: Some(db),
    })
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime")
}

/// A `postgres://user@host:port/db…` URL as (before, `host:port`, after).
fn split_host(url: &str) -> (&str, &str, &str) {
    let at = url
        .find('@')
        .map(|at| at + 1)
        .expect("user@host in the URL");
    let end = url[at..]
        .find('/')
        .map(|slash| at + slash)
        .expect("/database");
    (&url[..at], &url[at..end], &url[end..])
}

impl Drop for Cluster {
    fn drop(&mut self) {
        for link in self.links.iter().flatten() {
            link.release();
        }
        self.nodes.clear();
        if let Some(db) = self.db.take() {
            runtime().block_on(db.finish());
        }
    }
}

impl Cluster {
    fn node(&self, name: &str) -> &TestDaemon {
        self.nodes
            .iter()
            .find(|node| node.node_id == name)
            .unwrap_or_else(|| panic!("no node {name}"))
    }

    /// Any node still running, to read the registry and the peer through.
    fn viewer(&self, not: &str) -> &TestDaemon {
        self.nodes
            .iter()
            .find(|node| node.node_id != not)
            .expect("a second node")
    }

    fn peer_counter(&self, through: &TestDaemon, name: &str) -> u64 {
        let counters = counters(through);
        counters[name]
            .as_u64()
            .unwrap_or_else(|| panic!("no counter {name}: {counters}"))
    }
}

fn users(count: usize) -> Vec<(String, String)> {
    (0..count)
        .map(|i| {
            (
                format!("tenant{i:02}@example.com"),
                format!("5730012300{i:02}"),
            )
        })
        .collect()
}

/// Pairs every user on `node` and waits until each new device is fully up (it synced its
/// critical app state, the last thing it does before it reports itself connected).
fn pair_all(cluster: &Cluster, node: &TestDaemon, users: &[(String, String)]) {
    for (user, phone) in users {
        node.cli(&["users", "add", user]).success();
        node.pair(user, phone);
    }
    node.wait_until("the new devices up", || {
        cluster.peer_counter(node, "critical_syncs") >= users.len() as u64
    });
}

/// Waits until every user is `CONNECTED` on a node other than `from`, and the peer saw the
/// new owners log in (`logins_before` + one per user); returns each user's owner.
fn wait_moved(
    cluster: &Cluster,
    viewer: &TestDaemon,
    users: &[(String, String)],
    from: &str,
    logins_before: u64,
) -> BTreeMap<String, String> {
    viewer.wait_until("every session on a survivor", || {
        users.iter().all(|(user, _)| {
            let row = viewer.row(user);
            row["status"] == "CONNECTED" && !row["node_id"].is_null() && row["node_id"] != from
        })
    });
    viewer.wait_until("the survivors logged in", || {
        cluster.peer_counter(viewer, "logins") >= logins_before + users.len() as u64
    });
    users
        .iter()
        .map(|(user, _)| {
            let row = viewer.row(user);
            (
                user.clone(),
                row["node_id"].as_str().unwrap_or("").to_string(),
            )
        })
        .collect()
}

/// No row is `CONFLICT`, and no user went through a second pairing.
fn assert_clean(viewer: &TestDaemon, users: &[(String, String)]) {
    let conflicts = viewer
        .cli(&["--json", "list", "--status", "conflict"])
        .success()
        .json();
    assert_eq!(
        conflicts["connections"],
        Value::Array(vec![]),
        "{conflicts}"
    );
    for (user, _) in users {
        assert_eq!(viewer.pairings_started(user), 1, "{user} paired again");
    }
}

fn node_info(viewer: &TestDaemon, name: &str) -> Value {
    let nodes = viewer.cli(&["--json", "nodes"]).success().json();
    nodes["nodes"]
        .as_array()
        .expect("nodes")
        .iter()
        .find(|node| node["node_id"] == name)
        .cloned()
        .unwrap_or_else(|| panic!("no node {name}: {nodes}"))
}

/// Texts both ways through `user`'s new owner: the Signal sessions moved intact.
fn texts_travel(owner: &TestDaemon, user: &str) {
    let to = "573009998888";
    owner.wait_until("a text sent after the takeover", || {
        owner
            .cli_command(&["send", "--user", user, "--to", to, "--text", "still here"])
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .status()
            .expect("send")
            .success()
    });
    owner.wait_until("the phone to read it", || {
        let read = owner
            .cli(&["--json", "sim", "sent", "--user", user])
            .success()
            .json();
        read["messages"]
            .as_array()
            .is_some_and(|m| m.iter().any(|m| m["text"] == "still here"))
    });
    owner
        .cli(&[
            "sim",
            "message",
            "--user",
            user,
            "--from",
            to,
            "--text",
            "¿seguro?",
        ])
        .success();
    owner.wait_until("the reply to arrive", || {
        owner
            .events(user)
            .iter()
            .any(|e| e["kind"] == "message" && e["data"]["text"] == "¿seguro?")
    });
}

#[test]
fn a_killed_nodes_dozen_sessions_resume_on_the_survivors_without_a_pairing() {
    let Some(mut cluster) = cluster(&["node-a", "node-b", "node-c"], &[]) else {
        return;
    };
    let users = users(12);
    pair_all(&cluster, cluster.node("node-a"), &users);
    let viewer = cluster.viewer("node-a");
    let logins = cluster.peer_counter(viewer, "logins");
    let pairings = cluster.peer_counter(viewer, "pairings");

    cluster.nodes[0].crash();
    let viewer = cluster.viewer("node-a");
    let owners = wait_moved(&cluster, viewer, &users, "node-a", logins);

    assert_eq!(cluster.peer_counter(viewer, "pairings"), pairings);
    assert_eq!(cluster.peer_counter(viewer, "double_logins"), 0);
    assert_eq!(node_info(viewer, "node-a")["state"], "lost");
    // Spread by load: both survivors took a share.
    for survivor in ["node-b", "node-c"] {
        assert!(owners.values().any(|owner| owner == survivor), "{owners:?}");
    }
    assert_clean(viewer, &users);
    let (user, _) = &users[0];
    texts_travel(cluster.node(&owners[user]), user);
}

#[test]
fn sigterm_drains_every_session_to_the_other_node_without_a_double_login() {
    let Some(mut cluster) = cluster(&["node-a", "node-b"], &[]) else {
        return;
    };
    let users = users(6);
    pair_all(&cluster, cluster.node("node-a"), &users);
    let viewer = cluster.viewer("node-a");
    let logins = cluster.peer_counter(viewer, "logins");

    let status = cluster.nodes[0].stop();
    assert!(status.success(), "{status:?}");
    let viewer = cluster.viewer("node-a");
    let owners = wait_moved(&cluster, viewer, &users, "node-a", logins);
    assert!(owners.values().all(|owner| owner == "node-b"), "{owners:?}");
    assert_eq!(cluster.peer_counter(viewer, "double_logins"), 0);
    assert_eq!(node_info(viewer, "node-a")["state"], "stopped");
    assert_clean(viewer, &users);
    let gaps = &counters(viewer)["gaps_ms"];
    eprintln!("drain: each session's time offline while it moved (ms): {gaps}");
    assert_eq!(
        gaps.as_object().map(|gaps| gaps.len()),
        Some(users.len()),
        "{gaps}"
    );
}

#[test]
fn a_node_cut_off_from_the_registry_stops_its_sessions_before_they_move() {
    let Some(cluster) = cluster(&["node-a", "node-b"], &[true, false]) else {
        return;
    };
    let users = users(4);
    pair_all(&cluster, cluster.node("node-a"), &users);
    let b = cluster.node("node-b");
    let logins = cluster.peer_counter(b, "logins");

    let link = cluster.links[0].as_ref().expect("node-a's link");
    link.hold();
    // Texts arriving now leave node-a's clients with writes the registry never answers: their
    // own disconnect would wait on them before it closed the connection.
    let a = cluster.node("node-a");
    for (user, _) in &users {
        a.cli(&[
            "sim",
            "message",
            "--user",
            user,
            "--from",
            "573009998888",
            "--text",
            "¿hola?",
        ])
        .success();
    }
    let owners = wait_moved(&cluster, b, &users, "node-a", logins);
    assert!(owners.values().all(|owner| owner == "node-b"), "{owners:?}");
    assert_eq!(cluster.peer_counter(b, "double_logins"), 0);

    link.release();
    a.wait_until("node-a back, having fenced itself", || {
        let node = node_info(b, "node-a");
        node["state"] == "live" && node["fenced"].as_u64() >= Some(1)
    });
    let owners_after = wait_moved(&cluster, b, &users, "node-a", logins);
    assert_eq!(owners, owners_after);
    assert_eq!(cluster.peer_counter(b, "double_logins"), 0);
    assert_clean(b, &users);
    // node-a resumed nothing: it owns nothing any more.
    assert_eq!(node_info(b, "node-a")["connected"], 0);
}

/// SIGTERM while the node is cut off from the registry (a host shut down during a database
/// outage): it cannot hand anything over, so it fences itself at once instead; the survivor
/// takes the sessions once the lease runs out, with never two clients of a device at once,
/// and the node exits without waiting for the registry.
#[test]
fn a_node_stopped_while_cut_off_from_the_registry_exits_and_its_sessions_move() {
    let Some(mut cluster) = cluster(&["node-a", "node-b"], &[true, false]) else {
        return;
    };
    let users = users(3);
    pair_all(&cluster, cluster.node("node-a"), &users);
    let b = cluster.node("node-b");
    let logins = cluster.peer_counter(b, "logins");

    cluster.links[0].as_ref().expect("node-a's link").hold();
    let status = cluster.nodes[0].stop();
    assert!(status.success(), "{status:?}");
    // It did not wait for its watchdog: the stop itself found the registry silent.
    let log = cluster.nodes[0].log();
    assert!(
        log.contains("the registry does not answer: closing every WhatsApp client"),
        "{log}"
    );
    let b = cluster.node("node-b");
    let owners = wait_moved(&cluster, b, &users, "node-a", logins);
    assert!(owners.values().all(|owner| owner == "node-b"), "{owners:?}");
    assert_eq!(cluster.peer_counter(b, "double_logins"), 0);
    assert_clean(b, &users);
}

#[test]
fn a_frozen_node_continued_after_the_grace_closes_its_stale_clients_quietly() {
    let Some(cluster) = cluster(&["node-a", "node-b"], &[]) else {
        return;
    };
    let users = users(4);
    let a = cluster.node("node-a");
    pair_all(&cluster, a, &users);
    let b = cluster.node("node-b");
    let logins = cluster.peer_counter(b, "logins");

    signal(a.pid(), libc::SIGSTOP);
    let owners = wait_moved(&cluster, b, &users, "node-a", logins);
    // The frozen node could not close its connections: the peer replaced them, as WhatsApp
    // would, when the survivor logged in.
    let replaced = cluster.peer_counter(b, "double_logins");
    signal(a.pid(), libc::SIGCONT);

    a.wait_until("node-a back, having fenced itself", || {
        let node = node_info(b, "node-a");
        node["state"] == "live" && node["fenced"].as_u64() >= Some(1)
    });
    // Its stale clients are gone: none of the users has a session there.
    for (user, _) in &users {
        a.wait_until("node-a to have closed its stale client", || {
            a.cli_command(&["sim", "event", "--user", user, "network-drop"])
                .stderr(std::process::Stdio::null())
                .status()
                .expect("sim event")
                .code()
                == Some(3)
        });
    }
    assert_eq!(owners, wait_moved(&cluster, b, &users, "node-a", logins));
    assert_eq!(cluster.peer_counter(b, "double_logins"), replaced);
    assert_clean(b, &users);
    let (user, _) = &users[0];
    texts_travel(cluster.node(&owners[user]), user);
}

/// A number is taken (newest wins) from a device whose node was just killed. The unlink the
/// device owes names that node, so nobody logs the device in while the node's lease runs;
/// then the survivor logs it in from the credentials kept for the unlink and unlinks it, with
/// never two clients of the device at once.
#[test]
fn a_dead_nodes_displaced_device_is_unlinked_by_a_survivor_once_the_lease_ran_out() {
    let Some(mut cluster) = cluster(&["node-a", "node-b"], &[]) else {
        return;
    };
    let users = users(1);
    pair_all(&cluster, cluster.node("node-a"), &users);
    let (displaced, phone) = &users[0];
    cluster.nodes[0].crash();
    let b = cluster.viewer("node-a");
    let removed = cluster.peer_counter(b, "companions_removed");

    let newcomer = "newcomer@example.com";
    b.cli(&["users", "add", newcomer]).success();
    b.pair(newcomer, phone);
    b.wait_status(displaced, "LOGGED_OUT");
    // Read before node-a's state: while its lease still runs, nobody may have touched the
    // device, whose credentials are kept for the unlink.
    let kept = b.has_credentials(displaced);
    let removed_by_then = cluster.peer_counter(b, "companions_removed");
    if node_info(b, "node-a")["state"] == "live" {
        assert!(
            kept,
            "the displaced device's credentials are kept for its unlink"
        );
        assert_eq!(
            removed_by_then, removed,
            "unlinked before node-a's lease ran out"
        );
    }

    b.wait_until("the survivor to unlink the displaced device", || {
        cluster.peer_counter(b, "companions_removed") == removed + 1
    });
    b.wait_until("the kept credentials to go with the unlink", || {
        !b.has_credentials(displaced)
    });
    assert_eq!(
        node_info(b, "node-a")["state"],
        "lost",
        "the unlink waited for node-a's lease to run out"
    );
    assert_eq!(cluster.peer_counter(b, "double_logins"), 0);
    assert_eq!(b.row(newcomer)["status"], "CONNECTED");
    assert_eq!(b.row(displaced)["status"], "LOGGED_OUT");
}

//! How soon newest-wins answers the new user: a user holds a number, a second user scans a QR
//! code with that same number, and the clock runs from the scan to the second user's
//! `connect` answering `paired` (its row `CONNECTED`). The displaced device is unlinked in the
//! background meanwhile, and the bench checks that every such unlink was confirmed.
//!
//! Both backends: simulated, and the real one (whatsapp-rust) against the test WhatsApp peer
//! in its own process.
//!
//! `cargo bench --features wa-peer --bench newest_wins` (`WASESS_BENCH_ROUNDS`, default 50)

mod common;
#[path = "common/peer.rs"]
mod peer;

use std::path::Path;
use std::time::{Duration, Instant};

use serde_json::{json, Value};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt};
use tokio::net::UnixStream;

use common::{call, ms, percentiles, Daemon};

const CONFIG: &str = "heartbeat_interval = \"2s\"\ncleanup_interval = \"1h\"\n";

fn main() {
    let rounds: usize = std::env::var("WASESS_BENCH_ROUNDS")
        .ok()
        .and_then(|value| value.parse().ok())
        .unwrap_or(50);
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    println!("{rounds} rounds: a holder pairs a number, then a newcomer scans the same number");
    println!();
    println!("| backend | scan to `paired`, p50 | p99 | displaced devices unlinked |");
    println!("|---|---|---|---|");

    let dir = common::disk_tempdir();
    let daemon = Daemon::start_backend_in(
        dir.path(),
        &dir.path().join("data"),
        CONFIG,
        "bench",
        "simulated",
        &[],
    );
    let mut latencies = runtime.block_on(rounds_on(&daemon.socket, rounds, false));
    let (p50, p99) = percentiles(&mut latencies);
    let unlinked = runtime.block_on(unlinks_settled(
        &dir.path().join("data/registry.db"),
        rounds,
    ));
    println!(
        "| simulated | {} | {} | {unlinked} of {rounds} |",
        ms(p50),
        ms(p99)
    );
    drop(daemon);

    for (device_up, name) in [
        (true, "whatsapp-rust against the test peer"),
        (
            false,
            "the same, each holder displaced right after its own scan",
        ),
    ] {
        peer_rounds(&runtime, rounds, device_up, name);
    }
}

/// The rounds on the real backend against a peer of their own.
fn peer_rounds(runtime: &tokio::runtime::Runtime, rounds: usize, device_up: bool, name: &str) {
    let peer = peer::Peer::start();
    let dir = common::disk_tempdir();
    let args = peer.daemon_args();
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let daemon = Daemon::start_backend_in(
        dir.path(),
        &dir.path().join("data"),
        CONFIG,
        "bench",
        "whatsapp",
        &args,
    );
    let before = runtime.block_on(call(&daemon.socket, "sim.peer", json!({})))["result"].clone();
    let mut latencies = runtime.block_on(rounds_on(&daemon.socket, rounds, device_up));
    let (p50, p99) = percentiles(&mut latencies);
    let unlinked = runtime.block_on(unlinks_settled(
        &dir.path().join("data/registry.db"),
        rounds,
    ));
    let after = runtime.block_on(call(&daemon.socket, "sim.peer", json!({})))["result"].clone();
    let removed = after["companions_removed"].as_u64().unwrap_or(0)
        - before["companions_removed"].as_u64().unwrap_or(0);
    println!(
        "| {name} | {} | {} | {unlinked} of {rounds} ({removed} removed by the peer) |",
        ms(p50),
        ms(p99)
    );
    drop(daemon);
    drop(peer);
}

/// `rounds` displacements; the scan-to-paired time of each. With `device_up`, each holder's
/// device first finishes its start on the peer (its login after the scan and its critical
/// sync), as a device in use is.
async fn rounds_on(socket: &Path, rounds: usize, device_up: bool) -> Vec<Duration> {
    let mut latencies = Vec::with_capacity(rounds);
    for round in 0..rounds {
        let holder = format!("holder{round}@bench.example");
        let newcomer = format!("newcomer{round}@bench.example");
        let phone = format!("57320{round:07}");
        for user in [&holder, &newcomer] {
            let answer = call(socket, "users.add", json!({ "user": user })).await;
            assert!(answer.get("result").is_some(), "users.add: {answer}");
        }
        pair_detached(socket, &holder, &phone).await;
        if device_up {
            // Holders and newcomers so far each made one critical sync.
            wait_critical_syncs(socket, 2 * round as u64 + 1).await;
        }
        latencies.push(scan_to_paired(socket, &newcomer, &phone).await);
    }
    latencies
}

async fn pair_detached(socket: &Path, user: &str, phone: &str) {
    let answer = call(socket, "connect", json!({ "user": user, "detach": true })).await;
    assert!(answer.get("result").is_some(), "connect: {answer}");
    let answer = call(socket, "sim.scan", json!({ "user": user, "phone": phone })).await;
    assert!(answer.get("result").is_some(), "sim.scan: {answer}");
    let deadline = Instant::now() + Duration::from_secs(90);
    loop {
        let check = call(socket, "check", json!({ "user": user })).await;
        if check["result"]["existing"]["status"] == "CONNECTED" {
            return;
        }
        assert!(Instant::now() < deadline, "{user} never connected: {check}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

async fn wait_critical_syncs(socket: &Path, count: u64) {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let counters = call(socket, "sim.peer", json!({})).await;
        if counters["result"]["critical_syncs"].as_u64().unwrap_or(0) >= count {
            return;
        }
        assert!(Instant::now() < deadline, "devices not up: {counters}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// A waiting `connect` for `user`; at its first QR code the phone scans `phone`: the time
/// from the scan request to the `connect` answer.
async fn scan_to_paired(socket: &Path, user: &str, phone: &str) -> Duration {
    let stream = UnixStream::connect(socket).await.expect("connect");
    let (read, mut write) = stream.into_split();
    let request =
        json!({ "jsonrpc": "2.0", "id": 1, "method": "connect", "params": { "user": user } });
    write
        .write_all(format!("{request}\n").as_bytes())
        .await
        .expect("send");
    let mut lines = tokio::io::BufReader::new(read).lines();
    let mut scanned: Option<Instant> = None;
    loop {
        let line = lines.next_line().await.expect("read").expect("an answer");
        let message: Value = serde_json::from_str(&line).expect("json");
        if message["method"] == "qr" && scanned.is_none() {
            let at = Instant::now();
            let answer = call(socket, "sim.scan", json!({ "user": user, "phone": phone })).await;
            assert!(answer.get("result").is_some(), "sim.scan: {answer}");
            scanned = Some(at);
        } else if message.get("id").is_some() {
            assert_eq!(
                message["result"]["outcome"], "paired",
                "the newcomer's connect: {message}"
            );
            return scanned.expect("scanned before the answer").elapsed();
        }
    }
}

/// Waits (up to 90 s: a session's logout is tried for 30 s, then retried from the kept
/// credentials 30 s later) for the background unlinks; how many of the `rounds` displaced devices
/// WhatsApp confirmed unlinked: their owed-unlink record is gone from `registry`.
async fn unlinks_settled(registry: &Path, rounds: usize) -> usize {
    use sqlx::Connection as _;
    let url = format!("sqlite:{}", registry.display());
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let mut conn = sqlx::SqliteConnection::connect(&url)
            .await
            .expect("registry");
        let owed: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM devices_left_linked WHERE user_key LIKE 'holder%'",
        )
        .fetch_one(&mut conn)
        .await
        .expect("count owed unlinks");
        if owed == 0 || Instant::now() > deadline {
            let errors: Vec<(String, i64)> = sqlx::query_as(
                "SELECT error, COUNT(*) FROM devices_left_linked WHERE user_key LIKE 'holder%' \
                 GROUP BY error",
            )
            .fetch_all(&mut conn)
            .await
            .expect("errors");
            for (error, count) in errors {
                eprintln!("not unlinked ({count}): {error}");
            }
            let _ = conn.close().await;
            return rounds.saturating_sub(owed as usize);
        }
        let _ = conn.close().await;
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

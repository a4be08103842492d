//! A thousand live sessions in one `wasessd`, on the real backend (whatsapp-rust) against the
//! test WhatsApp peer in its own process: each session pairs through a QR code the peer's
//! phone scans, then stays `CONNECTED`.
//!
//! It prints the daemon's resident memory, open files and threads at 100, 500 and 1,000
//! sessions, and the memory per session; then restarts the daemon with `resume_rate = 100`
//! and prints how long it took until every session was `CONNECTED` again, with how many
//! pairings (QR codes) and failed logins the peer saw meanwhile (both must be 0).
//!
//! `cargo bench --features wa-peer --bench sessions`
//! (`WASESS_BENCH_SESSIONS` sets the total, default 1000.)

mod common;
#[path = "common/peer.rs"]
mod peer;

use std::path::Path;
use std::time::{Duration, Instant};

use serde_json::{json, Value};

use common::{call, Daemon};

const CHECKPOINTS: [usize; 3] = [100, 500, 1_000];
const RESUME_RATE: u32 = 100;
/// Pairings in flight at once.
const PARALLEL: usize = 16;

fn main() {
    let total: usize = std::env::var("WASESS_BENCH_SESSIONS")
        .ok()
        .and_then(|value| value.parse().ok())
        .unwrap_or(1_000);
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    let peer = peer::Peer::start();
    let dir = common::disk_tempdir();
    let data = dir.path().join("data");
    let config = format!(
        "heartbeat_interval = \"2s\"\ncleanup_interval = \"1h\"\nresume_rate = {RESUME_RATE}\n\
         qr_ttl = \"5m\"\n"
    );
    let peer_args = peer.daemon_args();
    let args: Vec<&str> = peer_args.iter().map(String::as_str).collect();
    let daemon = Daemon::start_backend_in(dir.path(), &data, &config, "bench", "whatsapp", &args);
    let baseline = Usage::of(daemon.pid());

    println!("{total} sessions, real backend against the test peer (its own process)");
    println!();
    println!("| sessions | resident memory | per session | open files | threads | paired in |");
    println!("|---|---|---|---|---|---|");
    println!(
        "| 0 | {:.1} MiB | – | {} | {} | – |",
        baseline.rss_mib(),
        baseline.fds,
        baseline.threads
    );
    let started = Instant::now();
    let mut paired = 0;
    for checkpoint in CHECKPOINTS.iter().copied().filter(|c| *c <= total) {
        runtime.block_on(pair_range(&daemon.socket, paired, checkpoint));
        paired = checkpoint;
        runtime.block_on(wait_connected(&daemon.socket, paired));
        // Let allocations from the pairings settle before reading.
        std::thread::sleep(Duration::from_secs(2));
        let usage = Usage::of(daemon.pid());
        println!(
            "| {paired} | {:.1} MiB | {:.0} KiB | {} | {} | {:.1} s |",
            usage.rss_mib(),
            (usage.rss_kib - baseline.rss_kib) as f64 / paired as f64,
            usage.fds,
            usage.threads,
            started.elapsed().as_secs_f64()
        );
    }
    let usage = Usage::of(daemon.pid());
    println!();
    println!(
        "Resident memory per session, daemon included: {:.0} KiB ({:.1} MiB / {paired})",
        usage.rss_kib as f64 / paired as f64,
        usage.rss_mib()
    );

    // Restart: every session resumes from its stored credentials, paced at resume_rate.
    let before = runtime.block_on(peer_counters(&daemon.socket));
    drop(daemon);
    let restarted = Instant::now();
    let daemon = Daemon::start_backend_in(dir.path(), &data, &config, "bench", "whatsapp", &args);
    runtime.block_on(wait_resumed(&daemon.socket, paired, &before));
    let resumed_in = restarted.elapsed();
    let after = runtime.block_on(peer_counters(&daemon.socket));
    let delta = |name: &str| after[name].as_u64().unwrap_or(0) - before[name].as_u64().unwrap_or(0);
    println!(
        "Restart at resume_rate = {RESUME_RATE}: all {paired} sessions live again in {:.1} s \
         ({} logins, {} pairings, {} logins refused)",
        resumed_in.as_secs_f64(),
        delta("logins"),
        delta("pairings"),
        delta("logins_refused")
    );
    drop(daemon);
    drop(peer);
}

/// Pairs users `from..to`, `PARALLEL` at a time: connect (detached), then the peer's phone
/// scans the code.
async fn pair_range(socket: &Path, from: usize, to: usize) {
    let mut next = from;
    let mut running = tokio::task::JoinSet::new();
    while next < to || !running.is_empty() {
        while next < to && running.len() < PARALLEL {
            let socket = socket.to_path_buf();
            running.spawn(async move { pair(&socket, next).await });
            next += 1;
        }
        running
            .join_next()
            .await
            .expect("a pairing")
            .expect("pairing task");
    }
}

async fn pair(socket: &Path, i: usize) {
    let user = common::user(i);
    let answer = call(socket, "users.add", json!({ "user": user })).await;
    assert!(answer.get("result").is_some(), "users.add: {answer}");
    let answer = call(socket, "connect", json!({ "user": user, "detach": true })).await;
    assert!(answer.get("result").is_some(), "connect: {answer}");
    let phone = format!("57310{i:07}");
    let answer = call(socket, "sim.scan", json!({ "user": user, "phone": phone })).await;
    assert!(answer.get("result").is_some(), "sim.scan: {answer}");
}

/// Waits until `count` rows are `CONNECTED` in the registry.
async fn wait_connected(socket: &Path, count: usize) {
    let deadline = Instant::now() + Duration::from_secs(600);
    loop {
        let stats = call(socket, "stats", json!({})).await;
        if stats["result"]["connected"].as_u64() == Some(count as u64) {
            return;
        }
        assert!(Instant::now() < deadline, "not all connected: {stats}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// Waits until the daemon runs `count` sessions again and the peer answered `count` more
/// logins than `before`: every session logged in from its stored credentials.
async fn wait_resumed(socket: &Path, count: usize, before: &Value) {
    let deadline = Instant::now() + Duration::from_secs(600);
    let logins_before = before["logins"].as_u64().unwrap_or(0);
    loop {
        let hello = call(socket, "hello", json!({})).await;
        let running = hello["result"]["sessions_running"].as_u64().unwrap_or(0);
        let logins = peer_counters(socket).await["logins"].as_u64().unwrap_or(0);
        if running == count as u64 && logins - logins_before >= count as u64 {
            return;
        }
        assert!(Instant::now() < deadline, "not all resumed: {hello}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

async fn peer_counters(socket: &Path) -> Value {
    let answer = call(socket, "sim.peer", json!({})).await;
    answer["result"].clone()
}

/// Memory, files and threads of a process, from `/proc`.
struct Usage {
    rss_kib: u64,
    fds: usize,
    threads: u64,
}

impl Usage {
    fn of(pid: u32) -> Usage {
        let status = std::fs::read_to_string(format!("/proc/{pid}/status")).expect("status");
        let field = |name: &str| -> u64 {
            status
                .lines()
                .find_map(|line| line.strip_prefix(name))
                .and_then(|rest| rest.split_whitespace().next())
                .and_then(|value| value.parse().ok())
                .unwrap_or(0)
        };
        Usage {
            rss_kib: field("VmRSS:"),
            fds: std::fs::read_dir(format!("/proc/{pid}/fd"))
                .map(|entries| entries.count())
                .unwrap_or(0),
            threads: field("Threads:"),
        }
    }

    fn rss_mib(&self) -> f64 {
        self.rss_kib as f64 / 1024.0
    }
}

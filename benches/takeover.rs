//! Takeover time: node A of three holds N sessions and is killed (`SIGKILL`); how long until
//! the survivors own every session, and until each runs there again, for N = 100 and 1,000.
//! Real `wasessd` processes (simulated backend) on one PostgreSQL registry.
//!
//! `WASESS_BENCH_DATABASE_URL=postgres://… cargo bench --bench takeover`
//! (`WASESS_BENCH_RESUME_RATE` sets the survivors' `resume_rate`, default 200.)

mod common;

use std::time::{Duration, Instant};

use serde_json::{json, Value};

use common::{add_users, call, drop_schema, fresh_schema, user, Daemon};

const SIZES: [usize; 2] = [100, 1000];
/// Pairings in flight at once while the sessions are set up.
const SETUP_CONCURRENCY: usize = 32;

fn main() {
    let Ok(base) = std::env::var("WASESS_BENCH_DATABASE_URL") else {
        eprintln!("takeover: set WASESS_BENCH_DATABASE_URL=postgres://… (nodes share PostgreSQL)");
        std::process::exit(2);
    };
    let resume_rate: u32 = std::env::var("WASESS_BENCH_RESUME_RATE")
        .ok()
        .and_then(|rate| rate.parse().ok())
        .unwrap_or(200);
    let config = format!(
        "heartbeat_interval = \"1s\"\nnode_grace = \"5s\"\nresume_rate = {resume_rate}\n\
         cleanup_interval = \"1h\"\n[simulated]\nqr_first = \"10m\"\n"
    );
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    println!("node_grace 5 s, heartbeat 1 s, resume_rate {resume_rate}/s per node, 2 survivors");
    println!();
    println!("| sessions | lease ran out | all owned by survivors | all running again |");
    println!("|---|---|---|---|");
    for size in SIZES {
        let schema = format!("wasess_bench_takeover_{}_{size}", std::process::id());
        let url = runtime.block_on(fresh_schema(&base, &schema));
        let figures = takeover(&runtime, &config, &url, size);
        println!(
            "| {size} | {:.2} s | {:.2} s | {:.2} s |",
            figures.0.as_secs_f64(),
            figures.1.as_secs_f64(),
            figures.2.as_secs_f64()
        );
        runtime.block_on(drop_schema(&base, &schema));
    }
}

/// (kill → first claim, kill → every row owned by a survivor, kill → every session running).
fn takeover(
    runtime: &tokio::runtime::Runtime,
    config: &str,
    url: &str,
    size: usize,
) -> (Duration, Duration, Duration) {
    let args = ["--database-url", url];
    let mut a = Daemon::start_node(config, "node-a", &args);
    let b = Daemon::start_node(config, "node-b", &args);
    let c = Daemon::start_node(config, "node-c", &args);
    runtime.block_on(async {
        add_users(&a.socket, size).await;
        pair_all(&a, size).await;
    });
    a.kill();
    let killed = Instant::now();
    let (mut first_claim, mut all_owned) = (None, None);
    loop {
        let (owned, running) = runtime.block_on(async {
            let rows = call(&b.socket, "list", json!({ "limit": size + 10 })).await;
            let owned = rows["result"]["connections"]
                .as_array()
                .map(|rows| {
                    rows.iter()
                        .filter(|row| {
                            row["status"] == "CONNECTED"
                                && matches!(row["node_id"].as_str(), Some("node-b" | "node-c"))
                        })
                        .count()
                })
                .unwrap_or(0);
            let running = running(&b).await + running(&c).await;
            (owned, running)
        });
        if owned > 0 && first_claim.is_none() {
            first_claim = Some(killed.elapsed());
        }
        if owned == size && all_owned.is_none() {
            all_owned = Some(killed.elapsed());
        }
        if running == size as u64 {
            let done = killed.elapsed();
            return (first_claim.unwrap_or(done), all_owned.unwrap_or(done), done);
        }
        assert!(
            killed.elapsed() < Duration::from_secs(600),
            "takeover of {size} sessions did not finish: {owned} owned, {running} running"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

async fn running(node: &Daemon) -> u64 {
    let hello: Value = call(&node.socket, "hello", json!({})).await;
    hello["result"]["sessions_running"].as_u64().unwrap_or(0)
}

/// Connects and scans every user on `node`, `SETUP_CONCURRENCY` at a time.
async fn pair_all(node: &Daemon, size: usize) {
    let mut pending = tokio::task::JoinSet::new();
    for i in 0..size {
        if pending.len() >= SETUP_CONCURRENCY {
            pending.join_next().await;
        }
        let socket = node.socket.clone();
        pending.spawn(async move {
            let answer = call(
                &socket,
                "connect",
                json!({ "user": user(i), "detach": true }),
            )
            .await;
            assert!(answer.get("result").is_some(), "{answer}");
            let phone = format!("57300{i:07}");
            let answer = call(
                &socket,
                "sim.scan",
                json!({ "user": user(i), "phone": phone }),
            )
            .await;
            assert!(answer.get("result").is_some(), "{answer}");
        });
    }
    while pending.join_next().await.is_some() {}
    let deadline = Instant::now() + Duration::from_secs(120);
    while running(node).await < size as u64 {
        assert!(Instant::now() < deadline, "the sessions did not come up");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

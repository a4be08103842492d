//! Load: 1,000 users, 200 concurrent clients issuing `check`, `connect --detach` and `stats`
//! for 10 seconds against one daemon, with latencies overall and per request. Any error other than a rule's refusal fails the run, and
//! the invariants are checked afterwards.
//!
//! `cargo bench --bench load`

mod common;

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::json;

use common::{add_users, call, ms, percentiles, user, Daemon};

const USERS: usize = 1000;
const CLIENTS: usize = 200;
const RUN: Duration = Duration::from_secs(10);

fn main() {
    let daemon = Daemon::start("[simulated]\nqr_first = \"10m\"\n");
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    runtime.block_on(async {
        add_users(&daemon.socket, USERS).await;
        let refusals = Arc::new(AtomicU64::new(0));
        let started = Instant::now();
        let mut tasks = Vec::new();
        for client in 0..CLIENTS {
            let socket = daemon.socket.clone();
            let refusals = refusals.clone();
            tasks.push(tokio::spawn(async move {
                let mut latencies = Vec::new();
                let mut n = client;
                while started.elapsed() < RUN {
                    let target = user((n * 7919) % USERS);
                    let (method, params) = match n % 3 {
                        0 => ("check", json!({ "user": target })),
                        1 => ("connect", json!({ "user": target, "detach": true })),
                        _ => ("stats", json!({})),
                    };
                    let sent = Instant::now();
                    let answer = call(&socket, method, params).await;
                    latencies.push((method, sent.elapsed()));
                    if let Some(error) = answer.get("error") {
                        assert_eq!(error["data"]["exit_code"], 3, "{method}: {answer}");
                        refusals.fetch_add(1, Ordering::Relaxed);
                    }
                    n += CLIENTS;
                }
                latencies
            }));
        }
        let mut latencies = Vec::new();
        for task in tasks {
            latencies.extend(task.await.expect("client"));
        }
        let elapsed = started.elapsed();
        let requests = latencies.len();
        let mut all: Vec<Duration> = latencies.iter().map(|(_, latency)| *latency).collect();
        let (p50, p99) = percentiles(&mut all);
        let stats = call(&daemon.socket, "stats", json!({})).await["result"].clone();
        let conflicts = call(&daemon.socket, "detect-conflicts", json!({})).await["result"]["conflicts"]
            .as_array()
            .map_or(0, Vec::len);
        assert_eq!(conflicts, 0);
        assert_eq!(stats["pending_qr"], stats["locks_held"], "one lock per pending pairing");
        assert!(stats["pending_qr"].as_u64().unwrap_or(0) <= USERS as u64);
        println!("| clients | users | requests | throughput | p50 | p99 | rule refusals | other errors |");
        println!("|---|---|---|---|---|---|---|---|");
        println!(
            "| {CLIENTS} | {USERS} | {requests} | {:.0} requests/s | {} | {} | {} | 0 |",
            requests as f64 / elapsed.as_secs_f64(),
            ms(p50),
            ms(p99),
            refusals.load(Ordering::Relaxed)
        );
        println!("\n| request | count | p50 | p99 |");
        println!("|---|---|---|---|");
        for method in ["check", "stats", "connect"] {
            let mut of_method: Vec<Duration> = latencies
                .iter()
                .filter(|(name, _)| *name == method)
                .map(|(_, latency)| *latency)
                .collect();
            let count = of_method.len();
            let (p50, p99) = percentiles(&mut of_method);
            println!("| `{method}` | {count} | {} | {} |", ms(p50), ms(p99));
        }
    });
}

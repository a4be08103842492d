//! Registry write throughput with 1, 2 and 3 nodes on one PostgreSQL: each node has 50
//! concurrent writers, each on a user of its own, cycling through a connect, a scan, three
//! incoming messages and a disconnect. Real `wasessd` processes (simulated backend).
//!
//! It prints, per node count: write transactions per second, counted as the events they
//! committed to the outbox (each transaction of this mix commits one event, the pairing
//! two: its state change and its result), and the p50 / p99 round trip of the requests that
//! wait for their transaction (connect, scan, disconnect).
//!
//! Each node count runs twice: on loopback, and with each node behind a proxy that delays
//! every packet, as when the nodes and the database run on hosts of their own (the bench
//! prints the round trip it measures). On loopback the nodes and PostgreSQL share the
//! machine's cores, so the run measures the CPU; across a network each transaction waits on
//! round trips, and the run shows whether one node's transactions wait for another's.
//!
//! `WASESS_BENCH_DATABASE_URL=postgres://… cargo bench --bench writes`
//! (`WASESS_BENCH_SECONDS` sets each run's length, default 10; `WASESS_BENCH_DELAY_MS` the
//! proxy's delay each way, default 1, which tokio's millisecond timer makes 1 to 2 ms.)

mod common;

use std::path::PathBuf;
use std::time::{Duration, Instant};

use serde_json::json;
use sqlx::Connection as _;

use common::network::{delay_from_env, round_trip, start_nodes, through_proxy};
use common::{call, drop_schema, fresh_schema, ms, percentiles, Daemon};

const NODE_COUNTS: [usize; 3] = [1, 2, 3];
const WRITERS_PER_NODE: usize = 50;
const MESSAGES_PER_CYCLE: usize = 3;

fn main() {
    let Ok(base) = std::env::var("WASESS_BENCH_DATABASE_URL") else {
        eprintln!("writes: set WASESS_BENCH_DATABASE_URL=postgres://… (nodes share PostgreSQL)");
        std::process::exit(2);
    };
    let seconds: u64 = std::env::var("WASESS_BENCH_SECONDS")
        .ok()
        .and_then(|value| value.parse().ok())
        .unwrap_or(10);
    let config = "heartbeat_interval = \"1s\"\nnode_grace = \"10s\"\ncleanup_interval = \"1h\"\n\
                  [simulated]\nqr_first = \"10m\"\n";
    let delay = delay_from_env();
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    println!("{WRITERS_PER_NODE} writers per node, {seconds} s per run");
    for network in [None, Some(delay)] {
        println!();
        match network {
            None => println!("loopback"),
            Some(delay) => {
                let proxied = runtime.block_on(through_proxy(&base, delay));
                let rtt = runtime.block_on(round_trip(&proxied));
                println!(
                    "each node behind a delaying proxy: a round trip takes {}",
                    ms(rtt)
                );
            }
        }
        println!();
        println!("| nodes | write transactions/s (events committed/s) | p50 | p99 |");
        println!("|---|---|---|---|");
        for nodes in NODE_COUNTS {
            let schema = format!("wasess_bench_writes_{}_{nodes}", std::process::id());
            let url = runtime.block_on(fresh_schema(&base, &schema));
            let daemons = start_nodes(&runtime, &url, network, nodes, config);
            let run = runtime.block_on(measure(&daemons, &url, Duration::from_secs(seconds)));
            drop(daemons);
            let mut latencies = run.latencies;
            let (p50, p99) = percentiles(&mut latencies);
            println!(
                "| {nodes} | {:.0} | {} | {} |",
                run.committed as f64 / run.elapsed.as_secs_f64(),
                ms(p50),
                ms(p99)
            );
            runtime.block_on(drop_schema(&base, &schema));
        }
    }
}

struct Run {
    committed: i64,
    elapsed: Duration,
    latencies: Vec<Duration>,
}

async fn measure(daemons: &[Daemon], url: &str, length: Duration) -> Run {
    // Users first, outside the clock.
    for (n, daemon) in daemons.iter().enumerate() {
        for w in 0..WRITERS_PER_NODE {
            let answer = call(&daemon.socket, "users.add", json!({ "user": writer(n, w) })).await;
            assert!(answer.get("result").is_some(), "{answer}");
        }
    }
    let before = events(url).await;
    let started = Instant::now();
    let deadline = started + length;
    let mut writers = tokio::task::JoinSet::new();
    for (n, daemon) in daemons.iter().enumerate() {
        for w in 0..WRITERS_PER_NODE {
            let socket = daemon.socket.clone();
            writers.spawn(cycle_until(socket, n, w, deadline));
        }
    }
    let mut latencies = Vec::new();
    while let Some(done) = writers.join_next().await {
        latencies.extend(done.expect("writer"));
    }
    let elapsed = started.elapsed();
    // Messages are written by each node's session worker just after their request: let
    // the last ones land before counting.
    tokio::time::sleep(Duration::from_millis(500)).await;
    Run {
        committed: events(url).await - before,
        elapsed: elapsed + Duration::from_millis(500),
        latencies,
    }
}

fn writer(node: usize, writer: usize) -> String {
    format!("writer{writer}@node{node}.bench.example")
}

/// One writer: connect, scan, messages, disconnect, over and over until `deadline`.
async fn cycle_until(socket: PathBuf, node: usize, w: usize, deadline: Instant) -> Vec<Duration> {
    let user = writer(node, w);
    let phone = format!("5731{node}{w:06}");
    let mut latencies = Vec::new();
    while Instant::now() < deadline {
        let steps = [
            ("connect", json!({ "user": user, "detach": true })),
            ("sim.scan", json!({ "user": user, "phone": phone })),
        ];
        for (method, params) in steps {
            let at = Instant::now();
            let answer = call(&socket, method, params).await;
            if answer.get("result").is_none() {
                let log = call(&socket, "log", json!({ "user": user, "limit": 30 })).await;
                panic!("{method}: {answer}\n{log:#}");
            }
            latencies.push(at.elapsed());
        }
        for m in 0..MESSAGES_PER_CYCLE {
            let params = json!({ "user": user, "from": "573009990000", "text": format!("m{m}") });
            let answer = call(&socket, "sim.message", params).await;
            assert!(answer.get("result").is_some(), "sim.message: {answer}");
        }
        let at = Instant::now();
        let answer = call(&socket, "disconnect", json!({ "user": user })).await;
        assert!(answer.get("result").is_some(), "disconnect: {answer}");
        latencies.push(at.elapsed());
    }
    latencies
}

async fn events(url: &str) -> i64 {
    let mut conn = sqlx::PgConnection::connect(url).await.expect("PostgreSQL");
    sqlx::query_scalar("SELECT COUNT(*) FROM events")
        .fetch_one(&mut conn)
        .await
        .expect("count events")
}

//! Daemon figures for the README: whole-process latency of `wasess stats --json` and
//! `wasess check` against a running daemon, and request throughput with 100 concurrent
//! clients (`connect --detach` for distinct users, then `check`).
//!
//! With `WASESS_BENCH_DATABASE_URL`, `connect --detach` also runs on PostgreSQL with 1 and 3
//! nodes (100 clients each), on loopback and with each node behind a delaying proxy (see
//! `common::network`).
//!
//! `cargo bench --bench daemon`

mod common;

use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::{json, Value};

use common::network::{delay_from_env, round_trip, start_nodes, through_proxy};
use common::{add_users, call, drop_schema, fresh_schema, ms, percentiles, user, Daemon};

const PROCESS_RUNS: usize = 200;
const CLIENTS: usize = 100;
const USERS: usize = 2000;

fn main() {
    let daemon = Daemon::start("[simulated]\nqr_first = \"10m\"\n");
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    runtime.block_on(add_users(&daemon.socket, USERS));

    println!("| measurement | median | p99 | throughput |");
    println!("|---|---|---|---|");
    let mut stats = process_latency(&daemon.socket, &["--json", "stats"]);
    report("`wasess stats --json` (whole process)", &mut stats, None);
    let check_user = user(1);
    let mut check = process_latency(&daemon.socket, &["check", "--user", &check_user]);
    report("`wasess check` (whole process)", &mut check, None);

    runtime.block_on(async {
        let started = Instant::now();
        let mut latencies = concurrent(
            &daemon.socket,
            "connect",
            |i| json!({ "user": user(i), "detach": true }),
        )
        .await;
        let rate = USERS as f64 / started.elapsed().as_secs_f64();
        report(
            &format!("`connect --detach`, {CLIENTS} concurrent clients"),
            &mut latencies,
            Some(rate),
        );
        let started = Instant::now();
        let mut latencies =
            concurrent(&daemon.socket, "check", |i| json!({ "user": user(i) })).await;
        let rate = USERS as f64 / started.elapsed().as_secs_f64();
        report(
            &format!("`check`, {CLIENTS} concurrent clients"),
            &mut latencies,
            Some(rate),
        );
    });
    drop(daemon);

    if let Ok(base) = std::env::var("WASESS_BENCH_DATABASE_URL") {
        postgres_connects(&runtime, &base);
    }
}

/// `connect --detach` on PostgreSQL: 1 and 3 nodes, `CLIENTS` clients and `USERS` users each.
fn postgres_connects(runtime: &tokio::runtime::Runtime, base: &str) {
    let delay = delay_from_env();
    println!();
    println!("| PostgreSQL, `connect --detach` | nodes | median | p99 | throughput |");
    println!("|---|---|---|---|---|");
    for network in [None, Some(delay)] {
        let label = match network {
            None => "loopback".to_string(),
            Some(delay) => {
                let rtt =
                    runtime.block_on(async { round_trip(&through_proxy(base, delay).await).await });
                format!("{} round trip", ms(rtt))
            }
        };
        for nodes in [1, 3] {
            let schema = format!("wasess_bench_daemon_{}_{nodes}", std::process::id());
            let url = runtime.block_on(fresh_schema(base, &schema));
            let config = "[simulated]\nqr_first = \"10m\"\n";
            let daemons = start_nodes(runtime, &url, network, nodes, config);
            // Each node's users are its own: `user(i)` with i in its own range.
            runtime.block_on(on_every_node(
                &daemons,
                "users.add",
                |i| json!({ "user": user(i) }),
            ));
            let started = Instant::now();
            let mut latencies = runtime.block_on(on_every_node(
                &daemons,
                "connect",
                |i| json!({ "user": user(i), "detach": true }),
            ));
            let rate = (nodes * USERS) as f64 / started.elapsed().as_secs_f64();
            let (p50, p99) = percentiles(&mut latencies);
            println!(
                "| {label} | {nodes} | {} | {} | {rate:.0} requests/s |",
                ms(p50),
                ms(p99)
            );
            drop(daemons);
            runtime.block_on(drop_schema(base, &schema));
        }
    }
}

fn report(what: &str, latencies: &mut [Duration], rate: Option<f64>) {
    let (p50, p99) = percentiles(latencies);
    println!(
        "| {what} | {} | {} | {} |",
        ms(p50),
        ms(p99),
        rate.map(|r| format!("{r:.0} requests/s"))
            .unwrap_or_else(|| "-".into())
    );
}

fn process_latency(socket: &Path, args: &[&str]) -> Vec<Duration> {
    (0..PROCESS_RUNS)
        .map(|_| {
            let started = Instant::now();
            let status = Command::new(env!("CARGO_BIN_EXE_wasess"))
                .arg("--socket")
                .arg(socket)
                .args(args)
                .stdout(Stdio::null())
                .status()
                .expect("run wasess");
            assert!(status.success());
            started.elapsed()
        })
        .collect()
}

/// [`concurrent`] on every node at once, node `n` on users `n * USERS..(n + 1) * USERS`.
async fn on_every_node(
    daemons: &[Daemon],
    method: &'static str,
    params: fn(usize) -> Value,
) -> Vec<Duration> {
    let mut runs = Vec::new();
    for (n, daemon) in daemons.iter().enumerate() {
        let socket = daemon.socket.clone();
        runs.push(tokio::spawn(async move {
            concurrent(&socket, method, move |i| params(n * USERS + i)).await
        }));
    }
    let mut all = Vec::new();
    for run in runs {
        all.extend(run.await.expect("a node's clients"));
    }
    all
}

/// `USERS` requests over `CLIENTS` concurrent connections; returns each request's latency.
async fn concurrent(
    socket: &Path,
    method: &'static str,
    params: impl Fn(usize) -> Value + Send + Sync + 'static,
) -> Vec<Duration> {
    let params = Arc::new(params);
    let mut tasks = Vec::new();
    for client in 0..CLIENTS {
        let socket = socket.to_path_buf();
        let params = params.clone();
        tasks.push(tokio::spawn(async move {
            let mut latencies = Vec::new();
            for i in (client..USERS).step_by(CLIENTS) {
                let started = Instant::now();
                let answer = call(&socket, method, params(i)).await;
                assert!(answer.get("result").is_some(), "{method}: {answer}");
                latencies.push(started.elapsed());
            }
            latencies
        }));
    }
    let mut all = Vec::new();
    for task in tasks {
        all.extend(task.await.expect("client"));
    }
    all
}

//! Daemon figures for the README: whole-process latency of `wasess stats --json` and
//! `wasess check` against a running daemon, and request throughput with 100 concurrent
//! clients (`connect --detach` for distinct users, then `check`).
//!
//! `cargo bench --bench daemon`

mod common;

use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::{json, Value};

use common::{add_users, call, ms, percentiles, user, Daemon};

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

//! Daemon figures for the README: whole-process latency of `wasess stats --json` and
//! `wasess check` against a running daemon, and request throughput with 100 concurrent
//! clients (`connect --detach` for distinct users, then `check`).
//!
//! `cargo bench --bench daemon`

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::{json, Value};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::UnixStream;

const PROCESS_RUNS: usize = 200;
const CLIENTS: usize = 100;
const USERS: usize = 2000;

fn main() {
    let dir = tempfile::tempdir().expect("temp dir");
    let socket = dir.path().join("wasessd.sock");
    let config = dir.path().join("wasessd.toml");
    std::fs::write(&config, "[simulated]\nqr_first = \"10m\"\n").expect("config");
    let mut daemon = Command::new(env!("CARGO_BIN_EXE_wasessd"))
        .args(["--backend", "simulated", "--node-id", "bench", "--data-dir"])
        .arg(dir.path().join("data"))
        .arg("--socket")
        .arg(&socket)
        .arg("--config")
        .arg(&config)
        .env("WASESS_LOG", "warn")
        .stderr(Stdio::null())
        .spawn()
        .expect("start wasessd");
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    runtime.block_on(async {
        wait_ready(&socket).await;
        add_users(&socket).await;
    });

    println!("| measurement | median | p99 | throughput |");
    println!("|---|---|---|---|");
    let stats = process_latency(&socket, &["--json", "stats"]);
    report("`wasess stats --json` (whole process)", &stats, None);
    let check = process_latency(&socket, &["check", "--user", "user1@bench.example"]);
    report("`wasess check` (whole process)", &check, None);

    runtime.block_on(async {
        let started = Instant::now();
        let latencies = concurrent(
            &socket,
            "connect",
            |i| json!({ "user": format!("user{i}@bench.example"), "detach": true }),
        )
        .await;
        let rate = USERS as f64 / started.elapsed().as_secs_f64();
        report(
            &format!("`connect --detach`, {CLIENTS} concurrent clients"),
            &latencies,
            Some(rate),
        );
        let started = Instant::now();
        let latencies = concurrent(
            &socket,
            "check",
            |i| json!({ "user": format!("user{i}@bench.example") }),
        )
        .await;
        let rate = USERS as f64 / started.elapsed().as_secs_f64();
        report(
            &format!("`check`, {CLIENTS} concurrent clients"),
            &latencies,
            Some(rate),
        );
    });

    // SAFETY: kill only signals the daemon this bench started.
    unsafe {
        libc::kill(daemon.id() as i32, libc::SIGTERM);
    }
    let _ = daemon.wait();
}

fn report(what: &str, latencies: &[Duration], rate: Option<f64>) {
    let mut sorted = latencies.to_vec();
    sorted.sort();
    let at = |q: f64| sorted[((sorted.len() as f64 * q) as usize).min(sorted.len() - 1)];
    println!(
        "| {what} | {:.2} ms | {:.2} ms | {} |",
        at(0.5).as_secs_f64() * 1000.0,
        at(0.99).as_secs_f64() * 1000.0,
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

async fn call(socket: &Path, method: &str, params: Value) -> Value {
    let mut stream = UnixStream::connect(socket).await.expect("connect");
    let request = json!({ "jsonrpc": "2.0", "id": 1, "method": method, "params": params });
    stream
        .write_all(format!("{request}\n").as_bytes())
        .await
        .expect("send");
    let mut lines = BufReader::new(stream).lines();
    loop {
        let line = lines.next_line().await.expect("read").expect("answer");
        let message: Value = serde_json::from_str(&line).expect("json");
        if message.get("id").is_some() {
            return message;
        }
    }
}

async fn wait_ready(socket: &PathBuf) {
    let deadline = Instant::now() + Duration::from_secs(30);
    while Instant::now() < deadline {
        if UnixStream::connect(socket).await.is_ok() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!("wasessd did not start");
}

async fn add_users(socket: &Path) {
    for i in 0..USERS {
        let answer = call(
            socket,
            "users.add",
            json!({ "user": format!("user{i}@bench.example") }),
        )
        .await;
        assert!(answer.get("result").is_some(), "{answer}");
    }
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

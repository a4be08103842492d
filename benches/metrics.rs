//! What `/metrics` costs a state change: the same workload against a `wasessd` (simulated,
//! SQLite, 10,000 connection rows) without `--metrics`, and with `--metrics` scraped every
//! 100 ms, in alternating rounds so that drift on the machine hits both alike.
//!
//! The workload: 20 concurrent clients, each on a user of its own, cycling through
//! connect (detached), scan and disconnect, three state changes a cycle. It prints state
//! changes per second and the p50 / p99 round trip of those requests, per configuration,
//! and the ratio of the two.
//!
//! `cargo bench --bench metrics` (`WASESS_BENCH_SECONDS` sets each round's length, default 5;
//! `WASESS_BENCH_ROUNDS` the rounds per configuration, default 3).

mod common;

use std::io::{Read, Write};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::json;

use common::{call, fill_registry, ms, percentiles, Daemon};

const CLIENTS: usize = 20;
const REGISTRY_ROWS: u64 = 10_000;
const SCRAPE_EVERY: Duration = Duration::from_millis(100);
const CONFIG: &str = "heartbeat_interval = \"1s\"\ncleanup_interval = \"1h\"\n\
                      [simulated]\nqr_first = \"10m\"\n";

fn main() {
    let seconds: u64 = env_number("WASESS_BENCH_SECONDS", 5);
    let rounds: u64 = env_number("WASESS_BENCH_ROUNDS", 3);
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    let length = Duration::from_secs(seconds);
    let mut plain = Totals::default();
    let mut scraped = Totals::default();
    let mut scrapes = 0;
    for _ in 0..rounds {
        plain.add(runtime.block_on(round(None, length)));
        let port = free_port();
        let run = runtime.block_on(round(Some(port), length));
        scrapes += run.scrapes;
        scraped.add(run);
    }
    println!(
        "{CLIENTS} clients, {REGISTRY_ROWS} rows, {rounds} rounds of {seconds} s per configuration"
    );
    println!();
    println!("| configuration | state changes/s | p50 | p99 |");
    println!("|---|---|---|---|");
    for (name, totals) in [
        ("no --metrics", &mut plain),
        ("--metrics, scraped every 100 ms", &mut scraped),
    ] {
        let (p50, p99) = percentiles(&mut totals.latencies);
        println!(
            "| {name} | {:.0} | {} | {} |",
            totals.rate(),
            ms(p50),
            ms(p99)
        );
    }
    println!();
    println!(
        "with scraping / without: {:.3} ({scrapes} scrapes, each read whole and checked)",
        scraped.rate() / plain.rate()
    );
}

fn env_number(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|value| value.parse().ok())
        .unwrap_or(default)
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .map(|address| address.port())
        .expect("a free port")
}

#[derive(Default)]
struct Totals {
    changes: u64,
    elapsed: Duration,
    latencies: Vec<Duration>,
}

impl Totals {
    fn add(&mut self, run: Run) {
        self.changes += run.changes;
        self.elapsed += run.elapsed;
        self.latencies.extend(run.latencies);
    }

    fn rate(&self) -> f64 {
        self.changes as f64 / self.elapsed.as_secs_f64()
    }
}

struct Run {
    changes: u64,
    elapsed: Duration,
    latencies: Vec<Duration>,
    scrapes: u64,
}

/// One daemon, one timed run; with `metrics`, a scraper reads it every 100 ms meanwhile.
async fn round(metrics: Option<u16>, length: Duration) -> Run {
    let address = metrics.map(|port| format!("127.0.0.1:{port}"));
    let args: Vec<&str> = match &address {
        Some(address) => vec!["--metrics", address],
        None => vec![],
    };
    let dir = common::disk_tempdir();
    let data = dir.path().join("data");
    // Fill the registry before the daemon starts, so both configurations scan alike.
    {
        let daemon = Daemon::start_in(dir.path(), &data, CONFIG, "bench");
        drop(daemon);
        let url = format!("sqlite:{}", data.join("registry.db").display());
        fill_registry(&url, REGISTRY_ROWS, false, "bench").await;
    }
    let daemon = Daemon::start_backend_in(dir.path(), &data, CONFIG, "bench", "simulated", &args);
    for c in 0..CLIENTS {
        let answer = call(&daemon.socket, "users.add", json!({ "user": client(c) })).await;
        assert!(answer.get("result").is_some(), "{answer}");
    }
    let stop = Arc::new(AtomicBool::new(false));
    let scrapes = Arc::new(AtomicU64::new(0));
    let scraper = metrics.map(|port| {
        let (stop, scrapes) = (stop.clone(), scrapes.clone());
        std::thread::spawn(move || {
            while !stop.load(Ordering::SeqCst) {
                let body = scrape(port);
                assert!(body.ends_with("# EOF\n"), "a whole exposition");
                scrapes.fetch_add(1, Ordering::SeqCst);
                std::thread::sleep(SCRAPE_EVERY);
            }
        })
    });
    let started = Instant::now();
    let deadline = started + length;
    let mut clients = tokio::task::JoinSet::new();
    for c in 0..CLIENTS {
        clients.spawn(cycle_until(daemon.socket.clone(), c, deadline));
    }
    let mut latencies = Vec::new();
    while let Some(done) = clients.join_next().await {
        latencies.extend(done.expect("client"));
    }
    let elapsed = started.elapsed();
    stop.store(true, Ordering::SeqCst);
    if let Some(scraper) = scraper {
        scraper.join().expect("scraper");
    }
    Run {
        changes: latencies.len() as u64,
        elapsed,
        latencies,
        scrapes: scrapes.load(Ordering::SeqCst),
    }
}

fn client(c: usize) -> String {
    format!("client{c}@metrics.bench.example")
}

/// One client: connect, scan, disconnect until `deadline`; each request's round trip.
async fn cycle_until(socket: std::path::PathBuf, c: usize, deadline: Instant) -> Vec<Duration> {
    let user = client(c);
    let phone = format!("5739{c:08}");
    let mut latencies = Vec::new();
    while Instant::now() < deadline {
        for (method, params) in [
            ("connect", json!({ "user": user, "detach": true })),
            ("sim.scan", json!({ "user": user, "phone": phone })),
            ("disconnect", json!({ "user": user })),
        ] {
            let at = Instant::now();
            let answer = call(&socket, method, params).await;
            assert!(answer.get("result").is_some(), "{method}: {answer}");
            latencies.push(at.elapsed());
        }
    }
    latencies
}

fn scrape(port: u16) -> String {
    let mut stream = std::net::TcpStream::connect(("127.0.0.1", port)).expect("metrics port");
    stream
        .write_all(b"GET /metrics HTTP/1.1\r\nHost: localhost\r\n\r\n")
        .expect("request");
    let mut answer = String::new();
    stream.read_to_string(&mut answer).expect("answer");
    let (head, body) = answer.split_once("\r\n\r\n").expect("HTTP answer");
    assert!(head.starts_with("HTTP/1.1 200"), "{head}");
    body.to_string()
}

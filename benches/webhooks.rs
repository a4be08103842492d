//! Webhook figures: the latency a state change (a `users.add`) adds with webhooks on versus
//! off, and delivery throughput to one receiver on loopback, with an instant receiver and with
//! one that takes 50 ms per request, at several `concurrency` settings. The throughput runs
//! start from an outbox already holding the events (written with SQL), so they time delivery
//! alone, and they check that each user's events arrived in order.
//!
//! `cargo bench --bench webhooks`

mod common;

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::{json, Value};

use common::{call, ms, percentiles, user, Daemon};

/// A receiver on loopback: a thread per connection, keep-alive, `delay` per request. It counts
/// deliveries, notes the first and last, and counts events that arrived out of their user's
/// order.
struct Receiver {
    port: u16,
    state: Arc<Mutex<Received>>,
}

#[derive(Default)]
struct Received {
    count: u64,
    first: Option<Instant>,
    last: Option<Instant>,
    newest_by_user: HashMap<String, i64>,
    out_of_order: u64,
}

impl Receiver {
    fn start(delay: Duration) -> Receiver {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
        let port = listener.local_addr().expect("address").port();
        let state = Arc::new(Mutex::new(Received::default()));
        let shared = state.clone();
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                let state = shared.clone();
                std::thread::spawn(move || serve(stream, delay, &state));
            }
        });
        Receiver { port, state }
    }

    fn count(&self) -> u64 {
        self.state.lock().expect("state").count
    }

    /// Waits for `total` deliveries; (delivered, first-to-last time, out of order).
    fn wait_for(&self, total: u64) -> (u64, Duration, u64) {
        let deadline = Instant::now() + Duration::from_secs(600);
        while self.count() < total && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(5));
        }
        let state = self.state.lock().expect("state");
        let span = match (state.first, state.last) {
            (Some(first), Some(last)) => last - first,
            _ => Duration::ZERO,
        };
        (state.count, span, state.out_of_order)
    }
}

fn serve(stream: std::net::TcpStream, delay: Duration, state: &Mutex<Received>) {
    let mut writer = stream.try_clone().expect("clone");
    let mut reader = BufReader::new(stream);
    loop {
        let mut length = 0;
        loop {
            let mut line = String::new();
            if reader.read_line(&mut line).unwrap_or(0) == 0 {
                return;
            }
            if line == "\r\n" {
                break;
            }
            if let Some(value) = line.to_ascii_lowercase().strip_prefix("content-length:") {
                length = value.trim().parse().unwrap_or(0);
            }
        }
        let mut body = vec![0; length];
        if reader.read_exact(&mut body).is_err() {
            return;
        }
        std::thread::sleep(delay);
        let event: Value = serde_json::from_slice(&body).unwrap_or_default();
        {
            let mut state = state.lock().expect("state");
            let now = Instant::now();
            state.count += 1;
            state.first.get_or_insert(now);
            state.last = Some(now);
            let user = event["user"].as_str().unwrap_or_default().to_string();
            let id = event["id"].as_i64().unwrap_or_default();
            let newest = state.newest_by_user.entry(user).or_insert(0);
            let in_order = id >= *newest;
            *newest = id.max(*newest);
            if !in_order {
                state.out_of_order += 1;
            }
        }
        if writer
            .write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n")
            .is_err()
        {
            return;
        }
    }
}

async fn add_latency(daemon: &Daemon, from: usize, count: usize) -> Vec<Duration> {
    let mut latencies = Vec::new();
    for i in from..from + count {
        let started = Instant::now();
        let answer = call(&daemon.socket, "users.add", json!({ "user": user(i) })).await;
        assert!(answer.get("result").is_some(), "{answer}");
        latencies.push(started.elapsed());
    }
    latencies
}

fn main() {
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    let receiver = Receiver::start(Duration::ZERO);
    println!("| measurement | result |");
    println!("|---|---|");
    let off = Daemon::start("");
    let mut without = runtime.block_on(add_latency(&off, 0, 500));
    drop(off);
    let on = Daemon::start(&webhook_config(receiver.port, 16));
    let mut with = runtime.block_on(add_latency(&on, 0, 500));
    drop(on);
    let (off50, off99) = percentiles(&mut without);
    let (on50, on99) = percentiles(&mut with);
    println!(
        "| a state change (`users.add`), webhooks off | p50 {} · p99 {} |",
        ms(off50),
        ms(off99)
    );
    println!(
        "| a state change (`users.add`), webhooks on | p50 {} · p99 {} |",
        ms(on50),
        ms(on99)
    );

    for (delay, events, users, concurrency) in [
        (Duration::ZERO, 20_000, 1_000, 16),
        (Duration::from_millis(50), 200, 100, 1),
        (Duration::from_millis(50), 2_000, 500, 16),
        (Duration::from_millis(50), 4_000, 1_000, 64),
    ] {
        let (delivered, span, out_of_order) =
            runtime.block_on(throughput(delay, events, users, concurrency));
        println!(
            "| {events} events of {users} users, receiver answering in {} ms, concurrency {concurrency} | {delivered} in {:.2} s: {:.0} events/s, {out_of_order} out of order |",
            delay.as_millis(),
            span.as_secs_f64(),
            delivered as f64 / span.as_secs_f64().max(f64::EPSILON)
        );
    }
}

fn webhook_config(port: u16, concurrency: usize) -> String {
    format!(
        "[[webhook]]\nname = \"bench\"\nurl = \"http://127.0.0.1:{port}/\"\nsecret = \"s\"\n\
         concurrency = {concurrency}\n"
    )
}

/// A daemon whose outbox already holds `events` messages of `users` users, round-robin, and
/// whose endpoint has read none of them: the time from the first delivery to the last.
async fn throughput(
    delay: Duration,
    events: u64,
    users: u64,
    concurrency: usize,
) -> (u64, Duration, u64) {
    let receiver = Receiver::start(delay);
    let dir = common::disk_tempdir();
    let data = dir.path().join("data");
    std::fs::create_dir_all(&data).expect("data dir");
    let url = format!("sqlite:{}", data.join("registry.db").display());
    wasess::registry::Registry::open(&url, "bench")
        .await
        .expect("create the registry")
        .close()
        .await;
    let sql = format!(
        "INSERT INTO events (id, at, kind, user_key, reason, node_id, data) \
         WITH RECURSIVE seq(value) AS (SELECT 1 UNION ALL SELECT value + 1 FROM seq \
         WHERE value < {events}) SELECT value, 0, 'message', 'user' || (value % {users}) || '@bench.example', '', \
         'bench', '{{\"message_id\":\"m' || value || '\",\"from\":\"573000000000\",\"text\":\"hola\"}}' \
         FROM seq; \
         UPDATE outbox_sequence SET last_id = {events}; \
         INSERT INTO webhook_cursors (endpoint, last_id, owner_node, lease_until) \
         VALUES ('bench', 0, NULL, 0)"
    );
    common::load_sql(&url, false, &sql).await;
    let daemon = Daemon::start_in(
        dir.path(),
        &data,
        &webhook_config(receiver.port, concurrency),
        "bench",
    );
    let result = receiver.wait_for(events);
    drop(daemon);
    result
}

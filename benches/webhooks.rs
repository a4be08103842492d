//! Webhook figures: events per second through the outbox to one receiver on loopback, and the
//! latency a state change (a `users.add`) adds with webhooks on versus off.
//!
//! `cargo bench --bench webhooks`

mod common;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::json;

use common::{call, ms, percentiles, user, Daemon};

const EVENTS: usize = 2000;

/// A minimal HTTP receiver that answers 200 and counts deliveries.
fn receiver() -> (u16, Arc<AtomicU64>) {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = listener.local_addr().expect("address").port();
    let count = Arc::new(AtomicU64::new(0));
    let seen = count.clone();
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            let mut reader = BufReader::new(stream);
            let mut length = 0;
            loop {
                let mut line = String::new();
                if reader.read_line(&mut line).unwrap_or(0) == 0 || line == "\r\n" {
                    break;
                }
                if let Some(value) = line.to_ascii_lowercase().strip_prefix("content-length:") {
                    length = value.trim().parse().unwrap_or(0);
                }
            }
            let mut body = vec![0; length];
            if reader.read_exact(&mut body).is_ok() {
                seen.fetch_add(1, Ordering::SeqCst);
            }
            let _ = reader
                .into_inner()
                .write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
        }
    });
    (port, count)
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
    let (port, delivered) = receiver();
    println!("| measurement | result |");
    println!("|---|---|");
    let off = Daemon::start("");
    let mut without = runtime.block_on(add_latency(&off, 0, 500));
    drop(off);
    let on = Daemon::start(&format!(
        "[[webhook]]\nname = \"bench\"\nurl = \"http://127.0.0.1:{port}/\"\nsecret = \"s\"\n"
    ));
    let mut with = runtime.block_on(add_latency(&on, 0, 500));
    let (off50, off99) = percentiles(&mut without);
    let (on50, on99) = percentiles(&mut with);
    println!(
        "| state change (`users.add`), webhooks off | p50 {} · p99 {} |",
        ms(off50),
        ms(off99)
    );
    println!(
        "| state change (`users.add`), webhooks on | p50 {} · p99 {} |",
        ms(on50),
        ms(on99)
    );

    // Throughput: write EVENTS events as fast as possible, time until all are delivered.
    let deadline = Instant::now() + Duration::from_secs(300);
    while delivered.load(Ordering::SeqCst) < 500 && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(10));
    }
    let base = delivered.load(Ordering::SeqCst);
    let started = Instant::now();
    runtime.block_on(add_latency(&on, 500, EVENTS));
    while delivered.load(Ordering::SeqCst) < base + EVENTS as u64 && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(5));
    }
    let got = delivered.load(Ordering::SeqCst) - base;
    println!(
        "| events delivered to one receiver on loopback | {got} in {:.2} s: {:.0} events/s |",
        started.elapsed().as_secs_f64(),
        got as f64 / started.elapsed().as_secs_f64()
    );
}

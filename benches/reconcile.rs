//! How fast a node's reconcile reads the outbox: 200,000 events written by another node (one
//! in five a state change, the rest incoming messages with 500-byte bodies), read the way the
//! daemon's reconcile loop does (pages of the state changes of other nodes, ids and users
//! only). It prints events/s; a node must keep up with 10,000 events/s.
//!
//! `cargo bench --bench reconcile` (SQLite). Set `WASESS_BENCH_DATABASE_URL=postgres://…` to
//! also measure PostgreSQL.

mod common;

use std::time::Instant;

use common::{disk_tempdir, drop_schema, fresh_schema, load_sql};
use wasess::registry::Registry;

const EVENTS: i64 = 200_000;
/// The daemon's reconcile page.
const PAGE: u32 = 500;

fn main() {
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    runtime.block_on(run());
}

async fn run() {
    println!("| database | events | read in | events/s |");
    println!("|---|---|---|---|");
    let dir = disk_tempdir();
    let url = format!("sqlite:{}", dir.path().join("reconcile.db").display());
    bench("SQLite", &url, false).await;
    if let Ok(base) = std::env::var("WASESS_BENCH_DATABASE_URL") {
        let schema = format!("wasess_bench_reconcile_{}", std::process::id());
        let url = fresh_schema(&base, &schema).await;
        bench("PostgreSQL", &url, true).await;
        drop_schema(&base, &schema).await;
    }
}

async fn bench(name: &str, url: &str, postgres: bool) {
    let registry = Registry::open(url, "node-a").await.expect("open");
    fill(url, postgres).await;
    let started = Instant::now();
    let (mut cursor, mut users) = (0, 0usize);
    loop {
        let (touched, next, more) = registry
            .changed_by_others(cursor, PAGE)
            .await
            .expect("reconcile page");
        users += touched.len();
        cursor = next;
        if !more {
            break;
        }
    }
    let elapsed = started.elapsed();
    assert_eq!(cursor, EVENTS, "the reconcile read to the end");
    assert!(users > 0, "the state changes were found");
    println!(
        "| {name} | {EVENTS} | {:.0} ms | {:.0} |",
        elapsed.as_secs_f64() * 1000.0,
        EVENTS as f64 / elapsed.as_secs_f64()
    );
    registry.close().await;
}

async fn fill(url: &str, postgres: bool) {
    let series = if postgres {
        format!("SELECT generate_series(1, {EVENTS}) AS n")
    } else {
        format!(
            "WITH RECURSIVE seq(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM seq \
             WHERE n < {EVENTS}) SELECT n FROM seq"
        )
    };
    let body = "x".repeat(500);
    let sql = format!(
        "INSERT INTO events (id, at, kind, user_key, from_status, to_status, reason, node_id, data) \
         SELECT n, n, CASE WHEN n % 5 = 0 THEN 'state' ELSE 'message' END, \
           'user' || (n % 1000) || '@bench.example', NULL, NULL, '', 'node-b', \
           CASE WHEN n % 5 = 0 THEN '{{}}' ELSE '{{\"text\":\"{body}\"}}' END \
         FROM ({series}) s; \
         UPDATE outbox_sequence SET last_id = {EVENTS} WHERE id = 1"
    );
    load_sql(url, postgres, &sql).await;
}

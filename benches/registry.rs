//! Registry figures for the README: `detect_conflicts`, `stats` and `cleanup` on registries of
//! 10k and 1M connections with 1% duplicate numbers, plus the query plans that show each path
//! reads indexes, not the table.
//!
//! `cargo bench --bench registry` (SQLite). Set `WASESS_BENCH_DATABASE_URL=postgres://…` to
//! also measure PostgreSQL. `WASESS_BENCH_SIZES=10000` limits the sizes.

mod common;

use std::sync::Arc;
use std::time::{Duration, Instant};

use sqlx::Connection as _;

use common::{drop_schema, fresh_schema};
use wasess::registry::{CleanupScope, Registry, Settings};
use wasess::time::{Clock, ManualClock, SystemClock, Timestamp};

const RUNS: usize = 5;

fn main() {
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    runtime.block_on(run());
}

async fn run() {
    let sizes: Vec<u64> = std::env::var("WASESS_BENCH_SIZES")
        .ok()
        .map(|text| {
            text.split(',')
                .filter_map(|n| n.trim().parse().ok())
                .collect()
        })
        .unwrap_or_else(|| vec![10_000, 1_000_000]);
    println!("| database | connections | detect_conflicts | stats | cleanup (dry run) | cleanup |");
    println!("|---|---|---|---|---|---|");
    for &size in &sizes {
        let dir = common::disk_tempdir();
        let url = format!("sqlite:{}", dir.path().join("bench.db").display());
        bench("SQLite", &url, size, false).await;
    }
    if let Ok(base) = std::env::var("WASESS_BENCH_DATABASE_URL") {
        for &size in &sizes {
            let schema = format!("wasess_bench_{size}");
            let url = fresh_schema(&base, &schema).await;
            bench("PostgreSQL", &url, size, true).await;
            drop_schema(&base, &schema).await;
        }
    }
    if let Some(size) = sizes.last() {
        let dir = common::disk_tempdir();
        let url = format!("sqlite:{}", dir.path().join("plans.db").display());
        let _ = Registry::open(&url, "bench").await.expect("open");
        common::fill_registry(&url, *size.min(&10_000), false, "bench").await;
        print_plans(&url).await;
    }
}

async fn bench(name: &str, url: &str, size: u64, postgres: bool) {
    let now = SystemClock.now();
    let clock = Arc::new(ManualClock::new(now));
    let registry = Registry::open_with(url, "bench", clock.clone(), Settings::default())
        .await
        .expect("open");
    let filled = Instant::now();
    common::fill_registry(url, size, postgres, "bench").await;
    eprintln!("{name}: {size} rows written in {:.1?}", filled.elapsed());

    let detect = median(RUNS, || async {
        let groups = registry.detect_conflicts().await.expect("detect");
        assert_eq!(
            groups.len() as u64,
            size / 100,
            "1% of numbers are duplicated"
        );
    })
    .await;
    let stats = median(RUNS, || async {
        let stats = registry.stats().await.expect("stats");
        assert_eq!(stats.total, size);
    })
    .await;
    let scope = CleanupScope::default();
    // Past the TTL of the 1% of rows whose QR code expires: the dry run counts them and
    // the real pass expires them, so both measure real work.
    clock.set(now.plus(Duration::from_secs(1)));
    let dry = median(RUNS, || async {
        let report = registry.cleanup(&scope, true).await.expect("cleanup");
        assert_eq!(
            report.expired_qr,
            size / 100,
            "the dry run finds the expired codes"
        );
    })
    .await;
    let started = Instant::now();
    let report = registry.cleanup(&scope, false).await.expect("cleanup");
    let cleanup = started.elapsed();
    println!(
        "| {name} | {size} | {} | {} | {} | {} ({} QR codes expired) |",
        ms(detect),
        ms(stats),
        ms(dry),
        ms(cleanup),
        report.expired_qr
    );
    registry.close().await;
}

async fn median<F, Fut>(runs: usize, mut f: F) -> Duration
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = ()>,
{
    let mut times = Vec::with_capacity(runs);
    for _ in 0..runs {
        let started = Instant::now();
        f().await;
        times.push(started.elapsed());
    }
    times.sort();
    times[runs / 2]
}

fn ms(duration: Duration) -> String {
    format!("{:.1} ms", duration.as_secs_f64() * 1000.0)
}

/// SQLite's plan for each hot statement: every line should name an index.
async fn print_plans(url: &str) {
    let mut conn = sqlx::SqliteConnection::connect(url).await.expect("sqlite");
    let now = Timestamp(0).millis();
    for (what, sql) in [
        (
            "detect_conflicts",
            "SELECT c.user_key FROM whatsapp_connections c WHERE c.phone_number IN \
             (SELECT phone_number FROM shared_numbers)"
                .to_string(),
        ),
        (
            "stats: by status",
            "SELECT status, COUNT(*) FROM whatsapp_connections GROUP BY status".to_string(),
        ),
        (
            "cleanup: expired QR",
            format!(
                "SELECT user_key FROM whatsapp_connections WHERE status = 'PENDING_QR' \
                 AND qr_expires_at <= {now}"
            ),
        ),
        (
            "cleanup: ended pauses",
            format!(
                "SELECT user_key FROM whatsapp_connections WHERE status = 'PAUSED' \
                 AND paused_until <= {now}"
            ),
        ),
        (
            "cleanup: a lost node's sessions",
            "SELECT user_key FROM whatsapp_connections WHERE node_id = 'lost' \
             AND status IN ('CONNECTED', 'PENDING_QR')"
                .to_string(),
        ),
        (
            "cleanup: expired locks",
            format!("SELECT user_key FROM connect_locks WHERE expires_at <= {now}"),
        ),
    ] {
        let rows: Vec<(i64, i64, i64, String)> =
            sqlx::query_as(sqlx::AssertSqlSafe(format!("EXPLAIN QUERY PLAN {sql}")))
                .fetch_all(&mut conn)
                .await
                .expect("plan");
        println!("\n{what}:");
        for (_, _, _, detail) in rows {
            println!("  {detail}");
        }
    }
}

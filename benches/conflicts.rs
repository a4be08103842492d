//! `detect-conflicts` and `resolve-conflicts` on a large SQLite registry, side by side with
//! the sqlite3 shell on the same file: its own indexed `GROUP BY`, the least a tool that
//! groups the rows can do to find the numbers, and a bare resolution in SQL (see
//! [`BARE_RESOLVE`]), the least a durable one can write. Every wasess figure is a whole
//! `wasess` process, through the daemon and `--offline`; the daemon's resident memory is read
//! before and at its peak.
//!
//! `cargo bench --bench conflicts` (needs the `sqlite3` shell). `WASESS_BENCH_SIZES=100000`
//! sets the number of rows (default 1,000,000, with 0.75% of them holding a number another row
//! holds: 7,500 duplicated numbers).

mod common;

use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;
use sqlx::Connection as _;

use common::{ms, Daemon};

const RUNS: usize = 5;
/// The node that owns the generated rows: registered as live, so the daemon under test
/// neither resumes nor claims its sessions.
const PEER: &str = "peer";
const GROUP_BY: &str = "SELECT phone_number, COUNT(*) FROM whatsapp_connections \
                        WHERE phone_number IS NOT NULL GROUP BY phone_number HAVING COUNT(*) > 1";
/// The least a resolution can write, typed into the sqlite3 shell: in one durable
/// transaction on the same file (WAL, `synchronous = FULL`, the checkpoint left for later, as
/// the daemon does), every duplicated number's older holders lose it, with an event and an
/// owed-unlink record each; only the columns that change are assigned. Prints how many
/// holders it detached.
const BARE_RESOLVE: &str = "\
PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL; PRAGMA wal_autocheckpoint = 0;
PRAGMA temp_store = MEMORY;
BEGIN IMMEDIATE;
CREATE TEMP TABLE detached AS
SELECT id, user_key, phone_number, status FROM (
    SELECT rowid AS id, user_key, phone_number, status, ROW_NUMBER() OVER (
        PARTITION BY phone_number
        ORDER BY last_connected_at DESC, updated_at DESC, user_key) AS newest
    FROM whatsapp_connections
    WHERE phone_number IN (SELECT phone_number FROM shared_numbers))
WHERE newest > 1;
UPDATE whatsapp_connections SET phone_number = NULL, reason = 'conflict resolved',
    updated_at = updated_at + 1
WHERE rowid IN (SELECT id FROM detached);
INSERT INTO events (at, kind, user_key, from_status, to_status, reason, node_id)
SELECT 0, 'state', user_key, status, status, 'conflict resolved', 'bench' FROM detached;
INSERT INTO devices_left_linked (user_key, phone_number, at, error, pending)
SELECT user_key, phone_number, 0, 'detached', 1 FROM detached;
COMMIT;
SELECT COUNT(*) FROM detached;";

fn main() {
    let size: u64 = std::env::var("WASESS_BENCH_SIZES")
        .ok()
        .and_then(|text| text.split(',').next_back()?.trim().parse().ok())
        .unwrap_or(1_000_000);
    let dir = common::disk_tempdir();
    let data = dir.path().join("data");
    std::fs::create_dir_all(&data).expect("data dir");
    let db = data.join("registry.db");
    let pristine = dir.path().join("pristine.db");
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    runtime.block_on(fill(&db, size));
    std::fs::copy(&db, &pristine).expect("copy the registry");
    let duplicates = size / 100 - size / 400;

    let baseline = median(|| {
        let groups = sqlite3(&db, GROUP_BY).lines().count() as u64;
        assert_eq!(groups, duplicates, "sqlite3 finds every duplicated number");
    });
    let bare_resolve = time(|| {
        let detached = sqlite3(&db, BARE_RESOLVE);
        assert_eq!(
            detached.lines().last().and_then(|n| n.parse().ok()),
            Some(duplicates),
            "sqlite3 detaches one holder of each duplicated number"
        );
    });
    restore(&pristine, &db);
    let offline_detect = median(|| detect(&["--offline", "--data-dir"], &data, duplicates));
    let offline_resolve = time(|| resolve(&["--offline", "--data-dir"], &data, duplicates));
    restore(&pristine, &db);

    let daemon = Daemon::start_in(dir.path(), &data, "", "bench");
    let rss_before = memory(daemon.pid(), "VmRSS:");
    let socket = daemon.socket.clone();
    let socket_args = ["--socket", socket.to_str().expect("utf-8 path")];
    let daemon_detect = median(|| detect(&socket_args, Path::new(""), duplicates));
    let peak = memory(daemon.pid(), "VmHWM:");
    let daemon_resolve = time(|| resolve(&socket_args, Path::new(""), duplicates));
    drop(daemon);

    let ratio = |d: Duration| format!("{:.2}×", d.as_secs_f64() / baseline.as_secs_f64());
    let resolve_ratio =
        |d: Duration| format!("{:.2}×", d.as_secs_f64() / bare_resolve.as_secs_f64());
    println!("{size} rows, {duplicates} duplicated numbers; medians of {RUNS} runs (resolve: one run on a fresh copy)\n");
    println!("| work | sqlite3 shell | wasess (daemon) | wasess `--offline` |");
    println!("|---|---|---|---|");
    println!(
        "| detect-conflicts | {} | {} ({}) | {} ({}) |",
        ms(baseline),
        ms(daemon_detect),
        ratio(daemon_detect),
        ms(offline_detect),
        ratio(offline_detect),
    );
    println!(
        "| resolve-conflicts | {} | {} ({}) | {} ({}) |",
        ms(bare_resolve),
        ms(daemon_resolve),
        resolve_ratio(daemon_resolve),
        ms(offline_resolve),
        resolve_ratio(offline_resolve),
    );
    println!(
        "\nthe daemon's resident memory: {} MiB before, {} MiB at its peak (+{} MiB)",
        rss_before / 1024,
        peak / 1024,
        peak.saturating_sub(rss_before) / 1024
    );
}

/// A registry of `size` rows owned by a live [`PEER`].
async fn fill(db: &Path, size: u64) {
    let url = format!("sqlite:{}", db.display());
    wasess::registry::Registry::open(&url, "bench")
        .await
        .expect("create the registry")
        .close()
        .await;
    common::fill_registry(&url, size, false, PEER).await;
    let far = i64::MAX / 2;
    let mut conn = sqlx::SqliteConnection::connect(&url).await.expect("SQLite");
    // The fill duplicates every hundredth row's number; give one in four of those rows a
    // number of its own, for the 0.75% of the registry.
    sqlx::query(
        "UPDATE whatsapp_connections SET phone_number = CAST(574000000000 + rowid AS TEXT) \
         WHERE rowid % 400 = 0",
    )
    .execute(&mut conn)
    .await
    .expect("own numbers");
    sqlx::query(
        "INSERT INTO nodes (node_id, started_at, last_seen, lease_until, state) \
         VALUES ($1, 0, $2, $2, 'live')",
    )
    .bind(PEER)
    .bind(far)
    .execute(&mut conn)
    .await
    .expect("register the peer node");
    // One file, no WAL beside it: what the copies below restore.
    sqlx::query("PRAGMA wal_checkpoint(TRUNCATE)")
        .execute(&mut conn)
        .await
        .expect("checkpoint");
    conn.close().await.expect("close");
}

/// What the `sqlite3` shell prints running `sql` on `db`.
fn sqlite3(db: &Path, sql: &str) -> String {
    let output = Command::new("sqlite3")
        .arg(db)
        .arg(sql)
        .output()
        .expect("run sqlite3 (install the sqlite3 shell)");
    assert!(output.status.success(), "sqlite3 failed");
    String::from_utf8_lossy(&output.stdout).into_owned()
}

fn restore(pristine: &Path, db: &Path) {
    for suffix in ["-wal", "-shm"] {
        let _ = std::fs::remove_file(format!("{}{suffix}", db.display()));
    }
    std::fs::copy(pristine, db).expect("restore the registry");
}

fn wasess(args: &[&str], data: &Path, command: &[&str]) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_wasess"));
    cmd.args(args);
    if !data.as_os_str().is_empty() {
        cmd.arg(data);
    }
    cmd.arg("--json")
        .args(command)
        .stdin(Stdio::null())
        .output()
        .expect("run wasess")
}

fn detect(args: &[&str], data: &Path, duplicates: u64) {
    let output = wasess(args, data, &["detect-conflicts"]);
    let report: Value = serde_json::from_slice(&output.stdout).expect("JSON report");
    let found = report["conflicts"].as_array().map_or(0, Vec::len) as u64;
    assert_eq!(
        found,
        duplicates,
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
}

fn resolve(args: &[&str], data: &Path, duplicates: u64) {
    let output = wasess(args, data, &["resolve-conflicts"]);
    let report: Value = serde_json::from_slice(&output.stdout).expect("JSON report");
    assert_eq!(
        report["resolved"].as_u64(),
        Some(duplicates),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
}

fn time(f: impl FnOnce()) -> Duration {
    let started = Instant::now();
    f();
    started.elapsed()
}

fn median(mut f: impl FnMut()) -> Duration {
    let mut times: Vec<Duration> = (0..RUNS).map(|_| time(&mut f)).collect();
    times.sort();
    times[RUNS / 2]
}

/// A `/proc/PID/status` figure in KiB.
fn memory(pid: u32, field: &str) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).expect("status");
    status
        .lines()
        .find_map(|line| line.strip_prefix(field))
        .and_then(|rest| rest.split_whitespace().next()?.parse().ok())
        .expect("memory figure")
}

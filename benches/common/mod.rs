//! What the bench binaries share: a daemon to measure, a JSON-RPC call, percentiles.

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{json, Value};
use sqlx::Connection as _;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::UnixStream;

/// A temporary directory on the build's own disk (under `target/`), not `/tmp`, which is
/// often memory-backed: durable figures must pay for real fsyncs.
pub fn disk_tempdir() -> tempfile::TempDir {
    tempfile::tempdir_in(env!("CARGO_TARGET_TMPDIR")).expect("temp dir under target/")
}

pub struct Daemon {
    pub dir: tempfile::TempDir,
    pub socket: PathBuf,
    child: Child,
}

impl Daemon {
    /// A simulated `wasessd` (release build) with `config`.
    pub fn start(config: &str) -> Daemon {
        Daemon::start_node(config, "bench", &[])
    }

    /// A simulated `wasessd` with `config`, as node `node_id`, with `extra_args`.
    pub fn start_node(config: &str, node_id: &str, extra_args: &[&str]) -> Daemon {
        let dir = disk_tempdir();
        let socket = dir.path().join("wasessd.sock");
        std::fs::write(dir.path().join("wasessd.toml"), config).expect("config");
        let child = Command::new(env!("CARGO_BIN_EXE_wasessd"))
            .args(["--backend", "simulated", "--node-id", node_id, "--data-dir"])
            .arg(dir.path().join("data"))
            .arg("--socket")
            .arg(&socket)
            .arg("--config")
            .arg(dir.path().join("wasessd.toml"))
            .args(extra_args)
            .env("WASESS_LOG", "warn")
            .stderr(Stdio::null())
            .spawn()
            .expect("start wasessd");
        let deadline = Instant::now() + Duration::from_secs(30);
        while std::os::unix::net::UnixStream::connect(&socket).is_err() {
            assert!(Instant::now() < deadline, "wasessd did not start");
            std::thread::sleep(Duration::from_millis(20));
        }
        Daemon { dir, socket, child }
    }

    /// SIGKILL: the node dies without a word.
    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        // SAFETY: kill only signals the daemon this bench started.
        unsafe {
            libc::kill(self.child.id() as i32, libc::SIGTERM);
        }
        let _ = self.child.wait();
    }
}

/// One request on a fresh connection; the response (notifications skipped).
pub async fn call(socket: &Path, method: &str, params: Value) -> Value {
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

pub async fn add_users(socket: &Path, count: usize) {
    for i in 0..count {
        let answer = call(socket, "users.add", json!({ "user": user(i) })).await;
        assert!(answer.get("result").is_some(), "{answer}");
    }
}

pub fn user(i: usize) -> String {
    format!("user{i}@bench.example")
}

/// (p50, p99) of `latencies`.
pub fn percentiles(latencies: &mut [Duration]) -> (Duration, Duration) {
    latencies.sort();
    let at = |q: f64| latencies[((latencies.len() as f64 * q) as usize).min(latencies.len() - 1)];
    (at(0.5), at(0.99))
}

pub fn ms(duration: Duration) -> String {
    format!("{:.2} ms", duration.as_secs_f64() * 1000.0)
}

/// A new, empty PostgreSQL schema `schema` in the database at `base`; its URL.
pub async fn fresh_schema(base: &str, schema: &str) -> String {
    let mut admin = sqlx::PgConnection::connect(base).await.expect("PostgreSQL");
    sqlx::raw_sql(sqlx::AssertSqlSafe(format!(
        "DROP SCHEMA IF EXISTS {schema} CASCADE; CREATE SCHEMA {schema}"
    )))
    .execute(&mut admin)
    .await
    .expect("create the schema");
    let separator = if base.contains('?') { '&' } else { '?' };
    format!("{base}{separator}options[search_path]={schema}")
}

pub async fn drop_schema(base: &str, schema: &str) {
    let mut admin = sqlx::PgConnection::connect(base).await.expect("PostgreSQL");
    let _ = sqlx::raw_sql(sqlx::AssertSqlSafe(format!(
        "DROP SCHEMA IF EXISTS {schema} CASCADE"
    )))
    .execute(&mut admin)
    .await;
}

/// Runs `sql` (several statements) as one transaction on the database at `url`, then
/// refreshes the planner's statistics: how the benches fill a registry fast.
pub async fn load_sql(url: &str, postgres: bool, sql: &str) {
    let script = format!("BEGIN; {sql}; COMMIT; ANALYZE;");
    if postgres {
        let mut conn = sqlx::PgConnection::connect(url).await.expect("PostgreSQL");
        sqlx::raw_sql(sqlx::AssertSqlSafe(script))
            .execute(&mut conn)
            .await
            .expect("fill");
    } else {
        let mut conn = sqlx::SqliteConnection::connect(url).await.expect("SQLite");
        sqlx::raw_sql(sqlx::AssertSqlSafe(script))
            .execute(&mut conn)
            .await
            .expect("fill");
    }
}

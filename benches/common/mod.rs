//! What the bench binaries share: a daemon to measure, a JSON-RPC call, percentiles.

#![allow(dead_code)]

pub mod network;

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
    /// The daemon's own directory, when the bench did not give one.
    _dir: Option<tempfile::TempDir>,
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
        let mut daemon = Daemon::spawn(
            dir.path(),
            &dir.path().join("data"),
            config,
            node_id,
            extra_args,
        );
        daemon._dir = Some(dir);
        daemon
    }

    /// A simulated `wasessd` on the data dir `data`, its socket and config in `dir`.
    pub fn start_in(dir: &Path, data: &Path, config: &str, node_id: &str) -> Daemon {
        Daemon::spawn(dir, data, config, node_id, &[])
    }

    /// A `wasessd` on `backend` with `extra_args`, on the data dir `data`, its socket and
    /// config in `dir`.
    pub fn start_backend_in(
        dir: &Path,
        data: &Path,
        config: &str,
        node_id: &str,
        backend: &str,
        extra_args: &[&str],
    ) -> Daemon {
        Daemon::spawn_on(backend, dir, data, config, node_id, extra_args)
    }

    fn spawn(dir: &Path, data: &Path, config: &str, node_id: &str, extra_args: &[&str]) -> Daemon {
        Daemon::spawn_on("simulated", dir, data, config, node_id, extra_args)
    }

    fn spawn_on(
        backend: &str,
        dir: &Path,
        data: &Path,
        config: &str,
        node_id: &str,
        extra_args: &[&str],
    ) -> Daemon {
        let socket = dir.join("wasessd.sock");
        std::fs::write(dir.join("wasessd.toml"), config).expect("config");
        let child = Command::new(env!("CARGO_BIN_EXE_wasessd"))
            .args(["--backend", backend, "--node-id", node_id, "--data-dir"])
            .arg(data)
            .arg("--socket")
            .arg(&socket)
            .arg("--config")
            .arg(dir.join("wasessd.toml"))
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
        Daemon {
            _dir: None,
            socket,
            child,
        }
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
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

/// Rows shaped like a busy registry: 60% connected, 30% disconnected, 5% logged out, 3%
/// paused, 2% pending (half of them expired), and 1% of numbers held by a second user. Every
/// row belongs to `node`.
pub async fn fill_registry(url: &str, size: u64, postgres: bool, node: &str) {
    let now = wasess::time::Clock::now(&wasess::time::SystemClock).millis();
    let series = if postgres {
        format!("SELECT generate_series(1, {size}) AS n")
    } else {
        format!(
            "WITH RECURSIVE seq(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM seq WHERE n < {size}) \
             SELECT n FROM seq"
        )
    };
    let users = format!(
        "INSERT INTO users (user_key, created_at) SELECT 'user' || n || '@bench.example', {now} \
         FROM ({series}) s"
    );
    // n % 100 == 0: a duplicate (DISCONNECTED) of number n - 1; n % 100 in 1..=2 pending.
    let connections = format!(
        "INSERT INTO whatsapp_connections (user_key, status, phone_number, qr_expires_at, \
         last_connected_at, node_id, reason, updated_at) \
         SELECT 'user' || n || '@bench.example', \
           CASE WHEN n % 100 = 0 THEN 'DISCONNECTED' \
                WHEN n % 100 IN (1, 2) THEN 'PENDING_QR' \
                WHEN n % 100 < 8 THEN 'LOGGED_OUT' \
                WHEN n % 100 < 11 THEN 'PAUSED' \
                WHEN n % 100 < 41 THEN 'DISCONNECTED' ELSE 'CONNECTED' END, \
           CASE WHEN n % 100 = 0 THEN CAST(573000000000 + n - 1 AS TEXT) \
                WHEN n % 100 < 8 THEN NULL \
                ELSE CAST(573000000000 + n AS TEXT) END, \
           CASE WHEN n % 100 = 1 THEN {now} WHEN n % 100 = 2 THEN {later} ELSE NULL END, \
           {now} - n, '{node}', '', {now} \
         FROM ({series}) s",
        later = now + 3_600_000,
    );
    let sql = format!("{users}; {connections}");
    load_sql(url, postgres, &sql).await;
}

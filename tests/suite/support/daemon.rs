//! A real `wasessd` on a temporary data dir, driven by the real `wasess`.

use std::io::{BufRead, BufReader, Write};
use std::os::unix::net::UnixStream;
use std::path::PathBuf;
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;
use tempfile::TempDir;

/// One deadline for every wait in the suite: generous for a loaded CI machine, never a sleep.
pub const WAIT: Duration = Duration::from_secs(30);

pub const WASESS: &str = env!("CARGO_BIN_EXE_wasess");
pub const WASESSD: &str = env!("CARGO_BIN_EXE_wasessd");

/// Fast timings so expiry and reconnects happen within a test.
pub const FAST_CONFIG: &str = r#"
reconnect_backoff = "100ms"
max_reconnect_attempts = 3
cleanup_interval = "1h"
heartbeat_interval = "1s"
[simulated]
qr_first = "20s"
qr_next = "20s"
qr_codes = 6
"#;

pub struct TestDaemon {
    pub dir: TempDir,
    pub backend: &'static str,
    pub node_id: String,
    pub extra_args: Vec<String>,
    child: Option<Child>,
}

impl TestDaemon {
    /// A simulated daemon with [`FAST_CONFIG`].
    pub fn start() -> TestDaemon {
        TestDaemon::start_with(FAST_CONFIG)
    }

    pub fn start_with(config: &str) -> TestDaemon {
        TestDaemon::start_backend("simulated", config, &[])
    }

    pub fn start_backend(backend: &'static str, config: &str, extra_args: &[&str]) -> TestDaemon {
        let dir = tempfile::tempdir().expect("temp dir");
        std::fs::write(dir.path().join("wasessd.toml"), config).expect("config");
        let mut daemon = TestDaemon {
            dir,
            backend,
            node_id: "test-node".into(),
            extra_args: extra_args.iter().map(|s| s.to_string()).collect(),
            child: None,
        };
        daemon.launch();
        daemon
    }

    /// One simulated node of several sharing the registry at `database_url`.
    pub fn start_node(node_id: &str, database_url: &str, config: &str) -> TestDaemon {
        TestDaemon::start_node_on(node_id, database_url, config, "simulated", &[])
    }

    /// One node of several sharing the registry at `database_url`, on `backend`.
    pub fn start_node_on(
        node_id: &str,
        database_url: &str,
        config: &str,
        backend: &'static str,
        extra_args: &[&str],
    ) -> TestDaemon {
        let dir = tempfile::tempdir().expect("temp dir");
        std::fs::write(dir.path().join("wasessd.toml"), config).expect("config");
        let mut args = vec!["--database-url".to_string(), database_url.to_string()];
        args.extend(extra_args.iter().map(|arg| arg.to_string()));
        let mut daemon = TestDaemon {
            dir,
            backend,
            node_id: node_id.into(),
            extra_args: args,
            child: None,
        };
        daemon.launch();
        daemon
    }

    /// Starts one more node as `node_id` on its own data dir, expecting it to refuse to run:
    /// its exit code and stderr once it exited.
    pub fn start_node_refused(
        node_id: &str,
        database_url: &str,
        config: &str,
    ) -> (Option<i32>, String) {
        let dir = tempfile::tempdir().expect("temp dir");
        let config_file = dir.path().join("wasessd.toml");
        std::fs::write(&config_file, config).expect("config");
        let config_file = config_file.display().to_string();
        wasessd_refused(
            &dir.path().join("data"),
            &dir.path().join("wasessd.sock"),
            &[
                "--backend",
                "simulated",
                "--config",
                &config_file,
                "--node-id",
                node_id,
                "--database-url",
                database_url,
            ],
        )
    }

    pub fn data_dir(&self) -> PathBuf {
        self.dir.path().join("data")
    }

    pub fn socket(&self) -> PathBuf {
        self.dir.path().join("wasessd.sock")
    }

    pub fn config_file(&self) -> PathBuf {
        self.dir.path().join("wasessd.toml")
    }

    pub fn database(&self) -> PathBuf {
        self.data_dir().join("registry.db")
    }

    pub fn daemon_command(&self) -> Command {
        let mut command = Command::new(WASESSD);
        command
            .arg("--backend")
            .arg(self.backend)
            .arg("--data-dir")
            .arg(self.data_dir())
            .arg("--socket")
            .arg(self.socket())
            .arg("--config")
            .arg(self.config_file())
            .arg("--node-id")
            .arg(&self.node_id)
            .args(&self.extra_args)
            .env_remove("WASESS_DATABASE_URL")
            .env("WASESS_LOG", "info,wasess=debug");
        command
    }

    fn launch(&mut self) {
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.dir.path().join("wasessd.log"))
            .expect("log file");
        let child = self
            .daemon_command()
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .expect("start wasessd");
        self.child = Some(child);
        self.wait_ready();
    }

    /// Polls `hello` until the daemon answers.
    pub fn wait_ready(&mut self) {
        let deadline = Instant::now() + WAIT;
        while Instant::now() < deadline {
            if self.hello().is_some() {
                return;
            }
            if let Some(child) = self.child.as_mut() {
                if let Ok(Some(status)) = child.try_wait() {
                    panic!("wasessd exited with {status}:\n{}", self.log());
                }
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        panic!("wasessd did not become ready:\n{}", self.log());
    }

    fn hello(&self) -> Option<Value> {
        let response = self
            .raw(r#"{"jsonrpc":"2.0","id":1,"method":"hello"}"#)
            .ok()?;
        response.first()?.get("result").cloned()
    }

    /// Sends raw lines to the socket; returns every line the daemon answers until it has
    /// answered as many as it was sent (or closes).
    pub fn raw(&self, lines: &str) -> std::io::Result<Vec<Value>> {
        let mut stream = UnixStream::connect(self.socket())?;
        stream.set_read_timeout(Some(WAIT))?;
        stream.write_all(lines.as_bytes())?;
        if !lines.ends_with('\n') {
            stream.write_all(b"\n")?;
        }
        let expected = lines
            .lines()
            .filter(|l| !l.trim().is_empty())
            .count()
            .max(1);
        let mut reader = BufReader::new(stream);
        let mut answers = Vec::new();
        let mut line = String::new();
        while answers.len() < expected {
            line.clear();
            if reader.read_line(&mut line)? == 0 {
                break;
            }
            answers.push(serde_json::from_str(&line).map_err(std::io::Error::other)?);
        }
        Ok(answers)
    }

    /// Sends one request a line and returns the responses only (notifications skipped), once
    /// every request has one.
    pub fn requests(&self, lines: &[String]) -> std::io::Result<Vec<Value>> {
        let mut stream = UnixStream::connect(self.socket())?;
        stream.set_read_timeout(Some(WAIT))?;
        stream.write_all(format!("{}\n", lines.join("\n")).as_bytes())?;
        let mut reader = BufReader::new(stream);
        let mut responses = Vec::new();
        let mut line = String::new();
        while responses.len() < lines.len() {
            line.clear();
            if reader.read_line(&mut line)? == 0 {
                break;
            }
            let message: Value = serde_json::from_str(&line).map_err(std::io::Error::other)?;
            if message.get("id").is_some() {
                responses.push(message);
            }
        }
        Ok(responses)
    }

    pub fn pid(&self) -> u32 {
        self.child.as_ref().map(Child::id).expect("daemon running")
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("wasessd.log")).unwrap_or_default()
    }

    /// SIGTERM, and the exit status once it stopped.
    pub fn stop(&mut self) -> std::process::ExitStatus {
        let mut child = self.child.take().expect("daemon running");
        signal(child.id(), libc::SIGTERM);
        wait_exit(&mut child).unwrap_or_else(|| {
            let _ = child.kill();
            panic!("wasessd ignored SIGTERM:\n{}", self.log())
        })
    }

    /// SIGKILL: a crash.
    pub fn crash(&mut self) {
        let mut child = self.child.take().expect("daemon running");
        let _ = child.kill();
        let _ = child.wait();
    }

    pub fn restart(&mut self) {
        if self.child.is_some() {
            self.stop();
        }
        self.launch();
    }

    /// Runs `wasess` against this daemon.
    pub fn cli(&self, args: &[&str]) -> Run {
        let mut command = self.cli_command(args);
        Run::from(command.output().expect("run wasess"), args)
    }

    pub fn cli_command(&self, args: &[&str]) -> Command {
        let mut command = Command::new(WASESS);
        command
            .arg("--socket")
            .arg(self.socket())
            .arg("--data-dir")
            .arg(self.data_dir())
            .args(args)
            .env_remove("WASESS_DATABASE_URL")
            .stdin(Stdio::null());
        command
    }

    /// Runs SQL on the daemon's SQLite registry behind its back, as an operator with a SQL
    /// shell (or a legacy import) would.
    pub fn sql(&self, sql: &str) {
        let (runtime, mut conn) = self.open_registry();
        runtime.block_on(async {
            sqlx::raw_sql(sqlx::AssertSqlSafe(format!(
                "PRAGMA busy_timeout = 5000; {sql}"
            )))
            .execute(&mut conn)
            .await
            .expect("run SQL");
        });
    }

    /// The first column of the first row `sql` reads from the daemon's SQLite registry, as
    /// text.
    pub fn sql_text(&self, sql: &str) -> String {
        use sqlx::Connection as _;
        let (runtime, mut conn) = self.open_registry();
        runtime.block_on(async {
            let text: String = sqlx::query_scalar(sqlx::AssertSqlSafe(sql.to_string()))
                .fetch_one(&mut conn)
                .await
                .expect("run SQL");
            conn.close().await.expect("close the registry");
            text
        })
    }

    /// A connection to the daemon's SQLite registry, on a runtime of its own.
    fn open_registry(&self) -> (tokio::runtime::Runtime, sqlx::SqliteConnection) {
        use sqlx::Connection as _;
        let url = format!("sqlite:{}", self.database().display());
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime");
        let conn = runtime
            .block_on(sqlx::SqliteConnection::connect(&url))
            .expect("open the registry");
        (runtime, conn)
    }

    /// Whether the registry holds WhatsApp credentials for `user` (its device row), read
    /// with SQL as an operator would.
    pub fn has_credentials(&self, user: &str) -> bool {
        use sqlx::Connection as _;
        let url = match self
            .extra_args
            .iter()
            .position(|arg| arg == "--database-url")
        {
            Some(at) => self.extra_args[at + 1].clone(),
            None => format!("sqlite:{}", self.database().display()),
        };
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime");
        runtime.block_on(async {
            let sql = "SELECT COUNT(*) FROM wa_device WHERE user_key = $1";
            let count: i64 = if url.starts_with("postgres") {
                let mut conn = sqlx::PgConnection::connect(&url).await.expect("open");
                sqlx::query_scalar(sql)
                    .bind(user)
                    .fetch_one(&mut conn)
                    .await
            } else {
                let mut conn = sqlx::SqliteConnection::connect(&url).await.expect("open");
                sqlx::query_scalar(sql)
                    .bind(user)
                    .fetch_one(&mut conn)
                    .await
            }
            .expect("count devices");
            count > 0
        })
    }

    /// `users add` for each key.
    pub fn add_users(&self, users: &[&str]) {
        for user in users {
            self.cli(&["users", "add", user]).success();
        }
    }

    /// Connects `user` and scans as `phone`; returns the connect's JSON.
    pub fn pair(&self, user: &str, phone: &str) -> Value {
        self.cli(&["--json", "connect", "--user", user, "--detach"])
            .success();
        self.cli(&["sim", "scan", "--user", user, "--phone", phone])
            .success();
        self.wait_status(user, "CONNECTED")
    }

    /// A message from `from` arrives on `user`'s session (`sim message`).
    pub fn receive(&self, user: &str, from: &str, text: &str) {
        self.cli(&[
            "sim", "message", "--user", user, "--from", from, "--text", text,
        ])
        .success();
    }

    /// The user's row, as `check --json` shows it (however many rows the registry holds).
    pub fn row(&self, user: &str) -> Value {
        let verdict = self.cli(&["--json", "check", "--user", user]).json();
        match &verdict["existing"] {
            Value::Null => panic!("{user} has no row: {verdict}"),
            row => row.clone(),
        }
    }

    /// `user`'s audit trail (`log --json`), oldest first.
    pub fn events(&self, user: &str) -> Vec<Value> {
        let log = self
            .cli(&["--json", "log", "--user", user])
            .success()
            .json();
        log["events"].as_array().expect("events").clone()
    }

    /// The messages `user` received, from the event log, oldest first.
    pub fn received(&self, user: &str) -> Vec<Value> {
        self.events(user)
            .iter()
            .filter(|event| event["kind"] == "message")
            .map(|event| event["data"].clone())
            .collect()
    }

    /// How many pairings `user` ever started (events into `PENDING_QR`).
    pub fn pairings_started(&self, user: &str) -> usize {
        self.events(user)
            .iter()
            .filter(|event| event["to_status"] == "PENDING_QR")
            .count()
    }

    /// Waits until `user`'s row has `status`; returns the row.
    pub fn wait_status(&self, user: &str, status: &str) -> Value {
        let deadline = Instant::now() + WAIT;
        loop {
            let row = self.row(user);
            if row["status"] == status {
                return row;
            }
            if Instant::now() > deadline {
                panic!("{user} never became {status}: {row}\n{}", self.log());
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    pub fn wait_until(&self, what: &str, mut done: impl FnMut() -> bool) {
        let deadline = Instant::now() + WAIT;
        while !done() {
            if Instant::now() > deadline {
                panic!("timed out waiting for {what}\n{}", self.log());
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for TestDaemon {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            signal(child.id(), libc::SIGTERM);
            if wait_exit(&mut child).is_none() {
                let _ = child.kill();
                let _ = child.wait();
            }
        }
    }
}

/// Runs `wasessd` on `data_dir` and `socket` with `args`, expecting it to refuse to start:
/// its exit code and stderr.
pub fn wasessd_refused(
    data_dir: &std::path::Path,
    socket: &std::path::Path,
    args: &[&str],
) -> (Option<i32>, String) {
    let mut child = Command::new(WASESSD)
        .args(args)
        .arg("--data-dir")
        .arg(data_dir)
        .arg("--socket")
        .arg(socket)
        .env_remove("WASESS_DATABASE_URL")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run wasessd");
    let status = wait_exit(&mut child).unwrap_or_else(|| {
        let _ = child.kill();
        panic!("wasessd {args:?} kept running")
    });
    let mut stderr = String::new();
    if let Some(mut pipe) = child.stderr.take() {
        let _ = std::io::Read::read_to_string(&mut pipe, &mut stderr);
    }
    (status.code(), stderr)
}

pub fn signal(pid: u32, signal: i32) {
    // SAFETY: kill only sends a signal to a process we started.
    unsafe {
        libc::kill(pid as i32, signal);
    }
}

fn wait_exit(child: &mut Child) -> Option<std::process::ExitStatus> {
    let deadline = Instant::now() + WAIT;
    while Instant::now() < deadline {
        if let Ok(Some(status)) = child.try_wait() {
            return Some(status);
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    None
}

/// The result of one `wasess` run.
pub struct Run {
    pub args: String,
    pub code: Option<i32>,
    pub stdout: String,
    pub stderr: String,
}

impl Run {
    pub fn from(output: Output, args: &[&str]) -> Run {
        Run {
            args: args.join(" "),
            code: output.status.code(),
            stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
        }
    }

    pub fn success(self) -> Run {
        assert_eq!(self.code, Some(0), "wasess {} failed: {self}", self.args);
        self
    }

    pub fn fails_with(self, code: i32) -> Run {
        assert_eq!(self.code, Some(code), "wasess {}: {self}", self.args);
        assert!(
            !self.stderr.trim().is_empty(),
            "wasess {} exited {code} without a message",
            self.args
        );
        assert!(
            !self.stderr.contains("panicked"),
            "wasess {} panicked: {}",
            self.args,
            self.stderr
        );
        self
    }

    /// A refusal whose explanation is on stdout (`check` prints its verdict there).
    pub fn fails_with_output(self, code: i32) -> Run {
        assert_eq!(self.code, Some(code), "wasess {}: {self}", self.args);
        assert!(
            !self.stdout.trim().is_empty(),
            "wasess {} printed nothing",
            self.args
        );
        self
    }

    /// The exit code without asserting on it (detect-conflicts returns 3 with output).
    pub fn exits_with(self, code: i32) -> Run {
        assert_eq!(self.code, Some(code), "wasess {}: {self}", self.args);
        self
    }

    pub fn json(&self) -> Value {
        serde_json::from_str(&self.stdout).unwrap_or_else(|e| {
            panic!(
                "wasess {}: stdout is not one JSON document ({e}): {self}",
                self.args
            )
        })
    }
}

impl std::fmt::Display for Run {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "exit {:?}\n--- stdout\n{}\n--- stderr\n{}",
            self.code, self.stdout, self.stderr
        )
    }
}

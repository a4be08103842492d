//! Reliability and security: crashes at awkward moments, hostile clients, access control,
//! file modes, and bad input on the command line.

use std::io::{Read, Write};
use std::os::unix::fs::PermissionsExt;
use std::os::unix::net::UnixStream;
use std::os::unix::process::CommandExt;
use std::time::{Duration, Instant};

use crate::support::daemon::{Run, TestDaemon, FAST_CONFIG, WAIT, WASESS};

fn is_root() -> bool {
    // SAFETY: geteuid has no preconditions.
    unsafe { libc::geteuid() == 0 }
}

fn open_fds(pid: u32) -> usize {
    std::fs::read_dir(format!("/proc/{pid}/fd"))
        .map(|entries| entries.count())
        .unwrap_or(0)
}

/// Registers `count` users and writes duplicate numbers for every pair of them, behind the
/// daemon's back (legacy data).
fn plant_duplicates(daemon: &TestDaemon, count: usize) {
    let mut sql = String::from("BEGIN;");
    for i in 0..count {
        let user = format!("legacy{i}@old.example");
        sql.push_str(&format!(
            "INSERT INTO users VALUES ('{user}', 0); \
             INSERT INTO whatsapp_connections (user_key, status, phone_number, last_connected_at, \
             updated_at) VALUES ('{user}', 'DISCONNECTED', '{}', {i}, 0);",
            573000000000u64 + (i / 2) as u64
        ));
    }
    sql.push_str("COMMIT;");
    daemon.sql(&sql);
}

fn conflicts(daemon: &TestDaemon) -> usize {
    let report = daemon.cli(&["--json", "detect-conflicts"]).json();
    report["conflicts"].as_array().map_or(0, Vec::len)
}

fn pending_qr(daemon: &TestDaemon) -> usize {
    daemon.cli(&["--json", "stats"]).success().json()["pending_qr"]
        .as_u64()
        .unwrap_or(0) as usize
}

/// Kills the daemon while `args` runs, at a few moments. After each restart the change is
/// either all there or not there at all (`measure` is what it was, or zero), no lock survives,
/// and the interrupted users can connect.
/// Whether a write transaction holds the daemon's SQLite registry now: a second writer that
/// does not wait is refused as busy.
fn write_in_flight(daemon: &TestDaemon) -> bool {
    use sqlx::{ConnectOptions as _, Connection as _};
    let options = sqlx::sqlite::SqliteConnectOptions::new()
        .filename(daemon.database())
        .busy_timeout(Duration::ZERO);
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    runtime.block_on(async {
        let mut conn = options.connect().await.expect("open the registry");
        let busy = match sqlx::raw_sql("BEGIN IMMEDIATE").execute(&mut conn).await {
            Ok(_) => {
                let _ = sqlx::raw_sql("ROLLBACK").execute(&mut conn).await;
                false
            }
            Err(error) => {
                let text = error.to_string();
                assert!(text.contains("locked") || text.contains("busy"), "{text}");
                true
            }
        };
        let _ = conn.close().await;
        busy
    })
}

/// Runs `args` against a planted registry and kills the daemon in the middle of its
/// transaction: the kill comes once a write transaction has held the registry for two probes
/// in a row (longer than any heartbeat's), which is the marker that it landed mid-way. After
/// a restart the change is all there or not at all.
fn crash_during(args: &[&str], plant: fn(&TestDaemon), measure: fn(&TestDaemon) -> usize) {
    for run in 0..4 {
        let mut daemon = TestDaemon::start();
        plant(&daemon);
        let before = measure(&daemon);
        assert!(before > 0);
        let mut command = daemon
            .cli_command(args)
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("command");
        let deadline = Instant::now() + WAIT;
        loop {
            assert!(
                Instant::now() < deadline,
                "run {run}: never caught the command's transaction in flight"
            );
            if write_in_flight(&daemon) {
                std::thread::sleep(Duration::from_millis(3));
                if write_in_flight(&daemon) {
                    break;
                }
            }
        }
        daemon.crash();
        let _ = command.wait();
        daemon.restart();
        let after = measure(&daemon);
        assert!(
            after == before || after == 0,
            "run {run}: {after} of {before} left (a partial change)"
        );
        assert_eq!(
            daemon.cli(&["--json", "stats"]).success().json()["locks_held"],
            0,
            "no lock survives a crash and restart"
        );
        daemon.cli(&["cleanup"]).success();
        daemon
            .cli(&["check", "--user", "legacy1@old.example"])
            .success();
    }
}

#[test]
fn a_crash_during_conflict_resolution_applies_all_or_nothing() {
    crash_during(
        &["resolve-conflicts"],
        |daemon| plant_duplicates(daemon, 2000),
        conflicts,
    );
}

#[test]
fn a_crash_during_cleanup_applies_all_or_nothing() {
    crash_during(
        &["cleanup"],
        |daemon| {
            plant_duplicates(daemon, 2000);
            daemon.sql(
                "UPDATE whatsapp_connections SET status = 'PENDING_QR', phone_number = NULL, \
                 qr_expires_at = 1; INSERT INTO connect_locks SELECT user_key, 'dead', \
                 'elsewhere', 0, 1 FROM users;",
            );
        },
        pending_qr,
    );
}

#[test]
fn hostile_clients_do_not_hurt_the_daemon_or_leak() {
    let daemon = TestDaemon::start();
    daemon.add_users(&["alice@example.com"]);
    let pid = daemon.pid();
    let baseline = open_fds(pid);

    // Binary garbage, truncated JSON, deep nesting, a huge line, random bytes.
    let mut seed: u64 = 0x5eed;
    let mut random = |n: usize| -> Vec<u8> {
        (0..n)
            .map(|_| {
                seed = seed.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1);
                (seed >> 56) as u8
            })
            .collect()
    };
    let mut payloads: Vec<Vec<u8>> = vec![
        b"{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"sta".to_vec(),
        format!("{}{}", "[".repeat(10_000), "]".repeat(10_000)).into_bytes(),
        vec![b'x'; 3 << 20],
        b"\x00\x01\x02\xff\xfe\n\n\n".to_vec(),
        b"{\"jsonrpc\":\"2.0\",\"id\":{\"a\":[1,2,{}]},\"method\":\"stats\",\"params\":[1,2]}"
            .to_vec(),
        b"{\"jsonrpc\":\"1.0\",\"id\":1,\"method\":\"stats\"}".to_vec(),
    ];
    for size in [1, 7, 64, 1000, 65_536] {
        payloads.push(random(size));
    }
    for mut payload in payloads {
        payload.push(b'\n');
        let mut stream = UnixStream::connect(daemon.socket()).expect("connect");
        stream.set_read_timeout(Some(WAIT)).expect("timeout");
        let _ = stream.write_all(&payload);
        let _ = stream.shutdown(std::net::Shutdown::Write);
        let mut answer = Vec::new();
        let _ = stream.read_to_end(&mut answer);
    }

    // 500 idle clients, one that never sends, one that leaves in the middle of a connect.
    let idle: Vec<UnixStream> = (0..500)
        .map(|_| UnixStream::connect(daemon.socket()).expect("idle client"))
        .collect();
    daemon.cli(&["ping"]).success();
    let mut leaver = UnixStream::connect(daemon.socket()).expect("connect");
    leaver
        .write_all(b"{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"connect\",\"params\":{\"user\":\"alice@example.com\"}}\n")
        .expect("send");
    let mut first = [0u8; 64];
    let _ = leaver.read(&mut first);
    drop(leaver);
    daemon.wait_status("alice@example.com", "DISCONNECTED");
    assert_eq!(
        daemon.row("alice@example.com")["reason"],
        "pairing cancelled"
    );
    drop(idle);

    daemon.cli(&["--json", "stats"]).success();
    daemon.wait_until("descriptors back to the baseline", || {
        open_fds(pid) <= baseline + 2
    });
    assert_eq!(
        daemon.cli(&["--json", "stats"]).success().json()["locks_held"],
        0
    );
}

#[test]
fn other_users_are_refused_by_the_socket_unless_in_the_group() {
    if !is_root() {
        eprintln!("notice: not root: cannot run a client as another uid; access test skipped");
        return;
    }
    for (config, allowed) in [
        (FAST_CONFIG.to_string(), false),
        (format!("socket_group = \"root\"\n{FAST_CONFIG}"), true),
    ] {
        let daemon = TestDaemon::start_with(&config);
        // Let uid 65534 (gid 0) reach the socket file; the daemon's own check decides.
        std::fs::set_permissions(daemon.dir.path(), std::fs::Permissions::from_mode(0o755))
            .expect("chmod");
        let output = std::process::Command::new(WASESS)
            .arg("--socket")
            .arg(daemon.socket())
            .arg("stats")
            .uid(65534)
            .gid(0)
            .output()
            .expect("wasess as another user");
        let run = Run::from(output, &["stats"]);
        if allowed {
            run.success();
        } else {
            let run = run.fails_with(3);
            assert!(run.stderr.contains("permission denied: uid 65534"), "{run}");
        }
    }
}

/// Members of `socket_group` operate the daemon and follow its events, but the tenants'
/// message texts are blanked for them; the daemon's own user (the application) reads them.
#[test]
fn operators_in_the_group_do_not_read_message_texts() {
    if !is_root() {
        eprintln!("notice: not root: cannot run a client as another uid; access test skipped");
        return;
    }
    let daemon = TestDaemon::start_with(&format!("socket_group = \"root\"\n{FAST_CONFIG}"));
    std::fs::set_permissions(daemon.dir.path(), std::fs::Permissions::from_mode(0o755))
        .expect("chmod");
    daemon.add_users(&["alice@example.com"]);
    daemon.pair("alice@example.com", "573001120001");
    daemon.receive("alice@example.com", "573009998888", "private words");
    let message = |events: &[serde_json::Value]| {
        events
            .iter()
            .find(|event| event["kind"] == "message")
            .cloned()
            .expect("the message event")
    };
    daemon.wait_until("the message recorded", || {
        daemon
            .events("alice@example.com")
            .iter()
            .any(|e| e["kind"] == "message")
    });
    assert_eq!(
        message(&daemon.events("alice@example.com"))["data"]["text"],
        "private words"
    );
    let args = ["--json", "log", "--user", "alice@example.com"];
    let output = std::process::Command::new(WASESS)
        .arg("--socket")
        .arg(daemon.socket())
        .args(args)
        .uid(65534)
        .gid(0)
        .output()
        .expect("wasess as an operator");
    let log = Run::from(output, &args).success().json();
    let seen = message(log["events"].as_array().expect("events"));
    assert!(seen["data"]["text"].is_null(), "{seen}");
    assert_eq!(
        seen["data"]["from"], "573009998888",
        "the rest stays: {seen}"
    );
}

#[test]
fn modes_are_strict_even_under_a_permissive_umask() {
    let dir = tempfile::tempdir().expect("temp dir");
    let data = dir.path().join("data");
    let socket = dir.path().join("run").join("wasessd.sock");
    std::fs::write(dir.path().join("c.toml"), FAST_CONFIG).expect("config");
    let mut child = unsafe {
        std::process::Command::new(crate::support::daemon::WASESSD)
            .args(["--backend", "simulated", "--data-dir"])
            .arg(&data)
            .arg("--socket")
            .arg(&socket)
            .arg("--config")
            .arg(dir.path().join("c.toml"))
            .stderr(std::process::Stdio::null())
            // SAFETY: umask is async-signal-safe.
            .pre_exec(|| {
                libc::umask(0);
                Ok(())
            })
            .spawn()
            .expect("wasessd")
    };
    let deadline = Instant::now() + WAIT;
    while UnixStream::connect(&socket).is_err() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(20));
    }
    let cli = |args: &[&str]| {
        let output = std::process::Command::new(WASESS)
            .arg("--socket")
            .arg(&socket)
            .args(args)
            .output()
            .expect("wasess");
        Run::from(output, args).success()
    };
    cli(&["users", "add", "alice@example.com"]);
    cli(&["connect", "--user", "alice@example.com", "--detach"]);
    cli(&[
        "sim",
        "scan",
        "--user",
        "alice@example.com",
        "--phone",
        "573001234567",
    ]);
    let mode = |path: &std::path::Path| {
        std::fs::metadata(path)
            .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
            .permissions()
            .mode()
            & 0o777
    };
    assert_eq!(mode(&socket), 0o660, "socket");
    assert_eq!(mode(socket.parent().expect("dir")), 0o750, "socket dir");
    assert_eq!(mode(&data), 0o750, "data dir");
    // The registry holds the credentials, so it and its journal are private.
    for file in ["registry.db", "registry.db-wal", "registry.db-shm"] {
        assert_eq!(mode(&data.join(file)), 0o600, "{file}");
    }
    crate::support::daemon::signal(child.id(), libc::SIGTERM);
    let _ = child.wait();
}

#[test]
fn bad_input_gets_one_clear_line_and_its_exit_code() {
    let daemon = TestDaemon::start();
    daemon.add_users(&["alice@example.com"]);
    let long_key = "k".repeat(200);
    let cases: Vec<(Vec<&str>, i32, &str)> = vec![
        (vec!["check", "--user", ""], 2, "empty"),
        (vec!["check", "--user", &long_key], 2, "too long"),
        (vec!["check", "--user", "alice example"], 2, "not allowed"),
        (vec!["users", "add", "../../etc/passwd"], 2, "not allowed"),
        (
            vec!["check", "--user", "alice@example.com", "--phone", "+57 abc"],
            2,
            "invalid phone number",
        ),
        (
            vec!["resolve-conflicts", "--phone", "12345"],
            2,
            "too short",
        ),
        (
            vec![
                "send",
                "--user",
                "alice@example.com",
                "--to",
                "9999999999999999",
                "--text",
                "x",
            ],
            2,
            "too long",
        ),
        (vec!["check", "--user", "nobody@example.com"], 4, ""),
        (
            vec!["connect", "--user", "nobody@example.com"],
            4,
            "unknown user",
        ),
        (
            vec!["users", "remove", "nobody@example.com"],
            4,
            "unknown user",
        ),
        (
            vec!["disconnect", "--user", "alice@example.com"],
            3,
            "not connected",
        ),
        (vec!["--frobnicate", "stats"], 2, "unexpected argument"),
        (vec!["log", "--since", "yesterday"], 2, "invalid duration"),
        (vec!["list", "--status", "sleepy"], 2, "unknown status"),
        (
            vec!["sim", "event", "--user", "alice@example.com", "explode"],
            2,
            "unknown event",
        ),
    ];
    for (args, code, message) in cases {
        let run = daemon.cli(&args);
        assert_eq!(run.code, Some(code), "wasess {}: {run}", args.join(" "));
        let text = if code == 4 && message.is_empty() {
            &run.stdout
        } else {
            &run.stderr
        };
        assert!(text.contains(message), "wasess {}: {run}", args.join(" "));
        assert!(
            !run.stderr.contains("panicked") && !run.stderr.contains("backtrace"),
            "{run}"
        );
        if code != 4 || !message.is_empty() {
            let first = run.stderr.lines().next().unwrap_or_default();
            assert!(
                first.starts_with("wasess: error:") || first.starts_with("error:"),
                "{run}"
            );
        }
    }

    // A registry file that is not a database.
    let broken = tempfile::tempdir().expect("temp dir");
    std::fs::write(broken.path().join("registry.db"), b"certainly not SQLite").expect("write");
    let output = std::process::Command::new(WASESS)
        .arg("--offline")
        .arg("--data-dir")
        .arg(broken.path())
        .arg("stats")
        .output()
        .expect("wasess");
    let run = Run::from(output, &["--offline", "stats"]).fails_with(1);
    assert_eq!(run.stderr.lines().count(), 1, "{run}");
    assert!(run.stderr.contains("cannot open the registry"), "{run}");
    let daemon_output = std::process::Command::new(crate::support::daemon::WASESSD)
        .args(["--backend", "simulated", "--data-dir"])
        .arg(broken.path())
        .output()
        .expect("wasessd");
    assert_eq!(daemon_output.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&daemon_output.stderr).contains("cannot open the registry"));

    if is_root() {
        eprintln!("notice: running as root: the read-only data dir case is skipped");
    } else {
        let readonly = tempfile::tempdir().expect("temp dir");
        std::fs::set_permissions(readonly.path(), std::fs::Permissions::from_mode(0o500))
            .expect("chmod");
        let output = std::process::Command::new(crate::support::daemon::WASESSD)
            .args(["--backend", "simulated", "--data-dir"])
            .arg(readonly.path().join("data"))
            .output()
            .expect("wasessd");
        assert_eq!(output.status.code(), Some(1));
    }
}

/// Every login from stored credentials takes its slot at `resume_rate`: a restart of 200
/// sessions at 20 per second spreads their logins over at least 199 / 20 s, never a storm.
#[test]
fn a_restart_resumes_sessions_at_the_resume_rate() {
    const SESSIONS: usize = 200;
    let mut daemon = TestDaemon::start_with(&format!("resume_rate = 20\n{FAST_CONFIG}"));
    let call = |method: &str, params: String| {
        format!(r#"{{"jsonrpc":"2.0","id":1,"method":"{method}","params":{params}}}"#)
    };
    // In three rounds, each answered in full before the next: add, connect, scan.
    // The method and params of session i's request.
    type Request = fn(usize) -> (&'static str, String);
    let rounds: [Request; 3] = [
        |i| {
            (
                "users.add",
                format!(r#"{{"user":"user{i:03}@example.com"}}"#),
            )
        },
        |i| {
            let params = format!(r#"{{"user":"user{i:03}@example.com","detach":true}}"#);
            ("connect", params)
        },
        |i| {
            let params = format!(r#"{{"user":"user{i:03}@example.com","phone":"5730050{i:05}"}}"#);
            ("sim.scan", params)
        },
    ];
    for round in rounds {
        let lines: Vec<String> = (0..SESSIONS)
            .map(|i| {
                let (method, params) = round(i);
                call(method, params)
            })
            .collect();
        let answers = daemon.requests(&lines).expect("set up the sessions");
        assert_eq!(answers.len(), SESSIONS);
        assert!(
            answers.iter().all(|answer| answer.get("result").is_some()),
            "{:?}",
            answers.iter().find(|answer| answer.get("error").is_some())
        );
    }
    let running = |daemon: &TestDaemon| -> u64 {
        let hello = daemon.cli(&["--json", "ping"]).success().json();
        hello["sessions_running"]
            .as_u64()
            .expect("sessions_running")
    };
    daemon.wait_until("every session up", || running(&daemon) == SESSIONS as u64);

    daemon.restart();
    let first = Instant::now();
    daemon.wait_until("the first resume", || running(&daemon) > 0);
    let deadline = Instant::now() + Duration::from_secs(60);
    while running(&daemon) < SESSIONS as u64 {
        assert!(Instant::now() < deadline, "the sessions never all resumed");
        std::thread::sleep(Duration::from_millis(100));
    }
    let spread = first.elapsed();
    assert!(
        spread >= Duration::from_secs(9),
        "{SESSIONS} logins at 20/s took only {spread:?}"
    );

    // A network blip drops 60 sessions at once: their reconnects take slots too.
    const DROPPED: usize = 60;
    let drops: Vec<String> = (0..DROPPED)
        .map(|i| {
            let params = format!(r#"{{"user":"user{i:03}@example.com","event":"network-drop"}}"#);
            call("sim.event", params)
        })
        .collect();
    let dropped = Instant::now();
    let answers = daemon.requests(&drops).expect("drop the sessions");
    assert!(
        answers.iter().all(|answer| answer.get("result").is_some()),
        "{answers:?}"
    );
    let reconnected = |daemon: &TestDaemon| -> usize {
        let list = daemon
            .cli(&["--json", "list", "--limit", "1000"])
            .success()
            .json();
        list["connections"]
            .as_array()
            .expect("rows")
            .iter()
            .filter(|row| row["status"] == "CONNECTED" && row["reason"] == "reconnected")
            .count()
    };
    let deadline = Instant::now() + Duration::from_secs(60);
    while reconnected(&daemon) < DROPPED {
        assert!(
            Instant::now() < deadline,
            "the dropped sessions never all reconnected"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    let spread = dropped.elapsed();
    assert!(
        spread >= Duration::from_millis(2_900),
        "{DROPPED} reconnects at 20/s took only {spread:?}"
    );
}

/// One session's close hangs for 30 s: another user's pairing goes on meanwhile, because each
/// user's events are handled by that user's own worker.
#[test]
fn a_hanging_close_never_holds_up_another_users_qr_code() {
    let mut daemon = TestDaemon::start();
    daemon.add_users(&["alice@example.com", "bob@example.com"]);
    daemon.pair("alice@example.com", "573001110001");
    let alice = ["--user", "alice@example.com"];
    daemon
        .cli(&["sim", "event", alice[0], alice[1], "hanging-close"])
        .success();
    // WhatsApp replaces alice's stream: her session ends, and its close hangs.
    daemon
        .cli(&["sim", "event", alice[0], alice[1], "replaced"])
        .success();
    let shown = daemon
        .cli(&["--json", "connect", "--user", "bob@example.com", "--detach"])
        .success()
        .json();
    assert_eq!(shown["outcome"], "pending", "{shown}");
    assert!(shown["qr"]["code"].is_string(), "{shown}");
    // Bob's QR code came while alice's close still hung: her row is not written yet.
    assert_eq!(daemon.row("alice@example.com")["status"], "CONNECTED");
    daemon
        .cli(&[
            "sim",
            "scan",
            "--user",
            "bob@example.com",
            "--phone",
            "573001110002",
        ])
        .success();
    daemon.wait_status("bob@example.com", "CONNECTED");
    assert_eq!(daemon.row("alice@example.com")["status"], "CONNECTED");
    daemon.crash();
}

/// An exclusive lock on a daemon's SQLite registry, as another process holding it would
/// take: the daemon's writes wait, then fail, until it is released.
struct RegistryLock {
    release: std::sync::mpsc::Sender<()>,
    holder: std::thread::JoinHandle<()>,
}

impl RegistryLock {
    /// Returns once the lock is held.
    fn take(daemon: &TestDaemon) -> RegistryLock {
        use sqlx::Connection as _;
        let url = format!("sqlite:{}", daemon.database().display());
        let (held, hold) = std::sync::mpsc::channel();
        let (release, released) = std::sync::mpsc::channel::<()>();
        let holder = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("runtime");
            runtime.block_on(async {
                let mut conn = sqlx::SqliteConnection::connect(&url).await.expect("open");
                sqlx::raw_sql("BEGIN EXCLUSIVE")
                    .execute(&mut conn)
                    .await
                    .expect("lock the registry");
                held.send(()).expect("tell the test");
                let _ = released.recv();
                sqlx::raw_sql("COMMIT")
                    .execute(&mut conn)
                    .await
                    .expect("unlock");
            });
        });
        hold.recv().expect("the registry locked");
        RegistryLock { release, holder }
    }

    fn release(self) {
        let _ = self.release.send(());
        self.holder.join().expect("lock holder");
    }
}

/// A message that arrives while the registry refuses writes is kept and recorded once the
/// registry is back: WhatsApp has been told it arrived, so nothing else holds it.
#[test]
fn a_message_that_arrives_while_the_registry_is_locked_is_recorded_afterwards() {
    let daemon = TestDaemon::start();
    daemon.add_users(&["alice@example.com"]);
    daemon.pair("alice@example.com", "573001120001");
    // Held longer than the registry's 10 s busy timeout: the daemon's first write fails.
    let lock = RegistryLock::take(&daemon);
    let release = std::thread::spawn(move || {
        std::thread::sleep(Duration::from_secs(12));
        lock.release();
    });
    daemon.receive("alice@example.com", "573009998888", "¿me oyes?");
    release.join().expect("release");
    daemon.wait_until("the message recorded", || {
        daemon
            .events("alice@example.com")
            .iter()
            .any(|e| e["kind"] == "message" && e["data"]["text"] == "¿me oyes?")
    });
    assert!(
        daemon
            .log()
            .contains("cannot write an incoming message yet"),
        "the registry never refused the write: the test proved nothing"
    );
}

/// A flood of incoming messages while the registry is locked: the session's queue stops
/// growing at its bound and the daemon says it is holding the session back; once the lock
/// goes, every message is recorded, once, in order.
#[test]
fn a_flood_while_the_registry_is_locked_stays_bounded_and_loses_nothing() {
    const FLOOD: usize = 1000;
    /// The bound of one session's queue in the daemon.
    const QUEUE: u64 = 256;
    let daemon = TestDaemon::start();
    daemon.add_users(&["alice@example.com"]);
    daemon.pair("alice@example.com", "573001120001");
    let lock = RegistryLock::take(&daemon);
    let count = FLOOD.to_string();
    let mut flood = daemon
        .cli_command(&[
            "sim",
            "message",
            "--user",
            "alice@example.com",
            "--from",
            "573009998888",
            "--text",
            "flood",
            "--count",
            &count,
        ])
        .stdout(std::process::Stdio::null())
        .spawn()
        .expect("flood");
    daemon.wait_until("the daemon holds the session back", || {
        daemon.cli(&["--json", "ping"]).success().json()["sessions_held_back"] == 1
    });
    let ping = daemon.cli(&["--json", "ping"]).success().json();
    let queued = ping["events_queued"].as_u64().expect("events_queued");
    // The queue's events, and the one the held-back session waits to add.
    assert!(
        queued <= QUEUE + 1,
        "{queued} events queued: the queue is not bounded"
    );
    let said = daemon.cli(&["ping"]).success().stdout;
    assert!(said.contains("the registry is not keeping up"), "{said}");
    assert!(
        flood.try_wait().expect("flood").is_none(),
        "the flood was accepted without waiting"
    );

    lock.release();
    assert!(flood.wait().expect("flood").success());
    daemon.wait_until("every message recorded", || {
        message_texts(&daemon).len() >= FLOOD
    });
    let texts = message_texts(&daemon);
    let expected: Vec<String> = (1..=FLOOD).map(|n| format!("flood #{n}")).collect();
    assert_eq!(texts, expected, "each message once, in order");
    let ping = daemon.cli(&["--json", "ping"]).success().json();
    assert_eq!(ping["sessions_held_back"], 0);
    assert_eq!(ping["events_queued"], 0);
}

/// The texts of alice's recorded messages, oldest first.
fn message_texts(daemon: &TestDaemon) -> Vec<String> {
    let log = daemon
        .cli(&[
            "--json",
            "log",
            "--user",
            "alice@example.com",
            "--limit",
            "5000",
        ])
        .success()
        .json();
    log["events"]
        .as_array()
        .expect("events")
        .iter()
        .filter(|event| event["kind"] == "message")
        .map(|event| {
            event["data"]["text"]
                .as_str()
                .unwrap_or_default()
                .to_string()
        })
        .collect()
}

/// The scan and the end of its pairing race, many times over: each user's `sim scan` and
/// `disconnect` start together (a barrier). Whichever wins, the outcome is whole: a
/// `CONNECTED` row has its session running here and its credentials, any other row keeps
/// credentials only with its number, and no lock is left behind, so the next connect goes
/// through.
#[test]
fn a_scan_racing_a_disconnect_ends_whole_either_way() {
    const USERS: usize = 24;
    let daemon = TestDaemon::start();
    let users: Vec<String> = (0..USERS).map(|n| format!("race{n}@example.com")).collect();
    let keys: Vec<&str> = users.iter().map(String::as_str).collect();
    daemon.add_users(&keys);
    for user in &users {
        daemon
            .cli(&["connect", "--user", user, "--detach"])
            .success();
    }
    let barrier = std::sync::Barrier::new(USERS * 2);
    std::thread::scope(|scope| {
        for (n, user) in users.iter().enumerate() {
            let (daemon, barrier) = (&daemon, &barrier);
            scope.spawn(move || {
                barrier.wait();
                let phone = format!("5730055{n:05}");
                // Either may lose: the scan to a pairing already ended, the disconnect to a
                // pairing already complete.
                let _ = daemon
                    .cli_command(&["sim", "scan", "--user", user, "--phone", &phone])
                    .output();
            });
            scope.spawn(move || {
                barrier.wait();
                let _ = daemon.cli_command(&["disconnect", "--user", user]).output();
            });
        }
    });
    let connected = |daemon: &TestDaemon| -> Vec<String> {
        let list = daemon.cli(&["--json", "list"]).success().json();
        list["connections"]
            .as_array()
            .expect("connections")
            .iter()
            .filter(|row| row["status"] == "CONNECTED")
            .map(|row| row["user"].as_str().unwrap_or_default().to_string())
            .collect()
    };
    daemon.wait_until("every CONNECTED row runs a session here", || {
        let running = daemon.cli(&["--json", "ping"]).success().json()["sessions_running"]
            .as_u64()
            .unwrap_or(0);
        running == connected(&daemon).len() as u64
    });
    let connected = connected(&daemon);
    for user in &users {
        if connected.contains(user) {
            assert!(
                daemon.has_credentials(user),
                "{user} CONNECTED without credentials"
            );
            continue;
        }
        // Disconnected after the pairing completed, the link is kept with its number;
        // disconnected before, nothing of it stays.
        let row = daemon.row(user);
        assert_eq!(
            daemon.has_credentials(user),
            row["phone_number"].is_string(),
            "credentials exactly when the row keeps a link: {row}"
        );
        daemon.cli(&["check", "--user", user]).success();
    }
}

/// A finished pairing leaves no task behind (its deadline goes with it).
#[test]
fn finished_pairings_leave_no_tasks_behind() {
    const PAIRINGS: usize = 100;
    let daemon = TestDaemon::start();
    let tasks = |daemon: &TestDaemon| -> u64 {
        let hello = daemon.cli(&["--json", "ping"]).success().json();
        hello["tasks_alive"].as_u64().expect("tasks_alive")
    };
    let call = |method: &str, params: String| {
        format!(r#"{{"jsonrpc":"2.0","id":1,"method":"{method}","params":{params}}}"#)
    };
    let users: Vec<String> = (0..PAIRINGS)
        .map(|i| call("users.add", format!(r#"{{"user":"p{i:03}@example.com"}}"#)))
        .collect();
    daemon.requests(&users).expect("users");
    let before = tasks(&daemon);
    let connects: Vec<String> = (0..PAIRINGS)
        .map(|i| {
            call(
                "connect",
                format!(r#"{{"user":"p{i:03}@example.com","detach":true}}"#),
            )
        })
        .collect();
    let answers = daemon.requests(&connects).expect("connects");
    assert!(
        answers.iter().all(|a| a.get("result").is_some()),
        "{answers:?}"
    );
    assert!(
        tasks(&daemon) >= before + PAIRINGS as u64,
        "pairings run tasks"
    );
    daemon.cli(&["reset-sessions", "--all", "--yes"]).success();
    daemon.wait_until("the pairings' tasks to end", || {
        tasks(&daemon) <= before + 5
    });
}

/// Writers that arrive together share one commit, and each is answered only once that commit
/// is on disk: every `users add` that succeeded is there after a SIGKILL right behind the
/// answers, and the group's writers each got their own answer.
#[test]
fn every_acknowledged_write_of_a_group_survives_a_kill_right_after() {
    let mut daemon = TestDaemon::start();
    let users: Vec<String> = (0..40).map(|i| format!("grouped{i}@example.com")).collect();
    std::thread::scope(|scope| {
        for user in &users {
            let daemon = &daemon;
            scope.spawn(move || daemon.cli(&["users", "add", user]).success());
        }
    });
    daemon.crash();
    daemon.restart();
    let listed = daemon.cli(&["--json", "users", "list"]).success().json();
    let present: Vec<&str> = listed["users"]
        .as_array()
        .expect("users")
        .iter()
        .filter_map(|u| u["user"].as_str())
        .collect();
    for user in &users {
        assert!(
            present.contains(&user.as_str()),
            "{user} was acknowledged but lost"
        );
    }
}

/// `reset-sessions --all` races pairings that start while it runs. Stuck connections hold
/// the reset at two points: alice's logout before it reaches the registry, and bob's
/// cancelled pairing after it. Bob's pairing, started before the reset reached the registry,
/// ends with it, whole: no lock, no pending QR, no credentials. Carol's, started after, is
/// not the reset's to end: it pairs, and its credentials stay.
#[test]
fn a_reset_all_ends_the_pairings_before_it_and_spares_the_ones_after() {
    let config = format!("{FAST_CONFIG}hang = \"5s\"\n");
    let daemon = TestDaemon::start_with(&config);
    let (alice, bob, carol) = ("alice@example.com", "bob@example.com", "carol@example.com");
    daemon.add_users(&[alice, bob, carol]);
    daemon.pair(alice, "573001110001");
    daemon.pair(carol, "573001110003");
    daemon.cli(&["disconnect", "--user", carol]).success();
    daemon
        .cli(&["sim", "event", "--user", alice, "hanging-close"])
        .success();

    let reset = daemon
        .cli_command(&["--json", "reset-sessions", "--all", "--yes"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("start the reset");
    // The reset took alice's session and hangs in her logout for 5 s: bob's pairing starts
    // after the reset listed the sessions, before it reaches the registry.
    daemon.wait_until("the reset stops alice", || {
        daemon.cli(&["--json", "ping"]).success().json()["sessions_running"] == 0
    });
    daemon
        .cli(&["connect", "--user", bob, "--detach"])
        .success();
    daemon
        .cli(&["sim", "event", "--user", bob, "hanging-close"])
        .success();
    // The reset reached the registry once carol's row lost its number; it is now held by
    // the close of bob's cancelled pairing, and carol's pairing starts meanwhile.
    daemon.wait_until("the reset reaches the registry", || {
        daemon.row(carol)["phone_number"].is_null()
    });
    let carol_pairing = daemon
        .cli(&["--json", "connect", "--user", carol, "--detach"])
        .success()
        .json();
    assert_eq!(carol_pairing["outcome"], "pending", "{carol_pairing}");

    let output = reset.wait_with_output().expect("the reset ends");
    let report = Run::from(output, &["reset-sessions", "--all", "--yes"])
        .success()
        .json();
    let reset_users: Vec<&str> = report["users"]
        .as_array()
        .expect("users")
        .iter()
        .filter_map(|user| user["user"].as_str())
        .collect();
    assert_eq!(reset_users, [alice, bob, carol], "{report}");

    // Bob: ended whole by the reset.
    let row = daemon.row(bob);
    assert_eq!(row["status"], "DISCONNECTED", "{row}");
    assert!(row["qr_expires_at"].is_null(), "{row}");
    assert!(!daemon.has_credentials(bob));
    daemon.cli(&["check", "--user", bob]).success();

    // Carol: her pairing outlived the reset, and completes.
    assert_eq!(daemon.row(carol)["status"], "PENDING_QR");
    daemon
        .cli(&["sim", "scan", "--user", carol, "--phone", "573001110003"])
        .success();
    daemon.wait_status(carol, "CONNECTED");
    assert!(daemon.has_credentials(carol));

    // Bob pairs again at once.
    daemon.pair(bob, "573001110002");
    assert!(daemon.has_credentials(bob));
}

/// The `linked devices` check of `doctor --json`: its level and detail.
fn linked_devices(daemon: &TestDaemon) -> (String, String) {
    let report = daemon.cli(&["--json", "doctor"]).json();
    let check = report["checks"]
        .as_array()
        .expect("checks")
        .iter()
        .find(|check| check["check"] == "linked devices")
        .unwrap_or_else(|| panic!("no linked devices check: {report}"))
        .clone();
    (
        check["level"].as_str().unwrap_or_default().to_string(),
        check["detail"].as_str().unwrap_or_default().to_string(),
    )
}

/// Newest wins releases a number, and the released device is unlinked after the change
/// commits. The change records that unlink as owed in its own transaction and keeps the
/// device's credentials for it: a confirmed unlink clears both; a daemon killed before
/// WhatsApp confirms leaves the device named, and once back it logs the device in from the
/// kept credentials and unlinks it.
#[test]
fn a_displaced_device_is_unlinked_even_when_the_daemon_dies_first() {
    let config = format!("{FAST_CONFIG}hang = \"30s\"\n");
    let mut daemon = TestDaemon::start_with(&config);
    let (alice, bob, carol, dave) = (
        "alice@example.com",
        "bob@example.com",
        "carol@example.com",
        "dave@example.com",
    );
    daemon.add_users(&[alice, bob, carol, dave]);

    // Confirmed: carol's device is unlinked at once, and nothing is left to name.
    daemon.pair(carol, "573001110003");
    daemon.pair(dave, "573001110003");
    daemon.wait_status(carol, "LOGGED_OUT");
    daemon.wait_until("carol's unlink confirmed", || {
        linked_devices(&daemon).1 == "every device wasess let go of was unlinked on WhatsApp"
    });

    // Killed: alice's connection is stuck, so her unlink hangs; bob takes her number and the
    // daemon dies before WhatsApp confirms anything.
    daemon.pair(alice, "573001110001");
    daemon
        .cli(&["sim", "event", "--user", alice, "hanging-close"])
        .success();
    daemon.pair(bob, "573001110001");
    let (level, detail) = linked_devices(&daemon);
    assert_eq!(level, "ok", "{detail}");
    assert!(
        detail.contains("being unlinked: alice@example.com (573001110001"),
        "{detail}"
    );
    // Her credentials are kept for the unlink, although her row is logged out.
    assert!(daemon.has_credentials(alice));
    daemon.crash();
    daemon.restart();
    daemon.wait_until("alice's device unlinked from its kept credentials", || {
        linked_devices(&daemon).1 == "every device wasess let go of was unlinked on WhatsApp"
    });
    assert!(
        !daemon.has_credentials(alice),
        "the kept credentials go with the record"
    );
    assert_eq!(daemon.row(alice)["status"], "LOGGED_OUT");
    assert!(!daemon.has_credentials(carol));
}

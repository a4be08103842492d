//! Operator experience: the loopback TCP listener, shipped units and wrappers, completions.

use std::process::Command;

use crate::support::daemon::{wasessd_refused, Run, TestDaemon, FAST_CONFIG, WASESS};
use crate::support::tools;

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .map(|address| address.port())
        .expect("a free port")
}

fn over_tcp(daemon: &TestDaemon, port: u16, token_file: &std::path::Path, args: &[&str]) -> Run {
    let output = Command::new(WASESS)
        .arg("--connect")
        .arg(format!("tcp://127.0.0.1:{port}"))
        .arg("--token-file")
        .arg(token_file)
        .args(args)
        .env_remove("WASESS_SOCKET")
        .output()
        .expect("run wasess");
    let _ = daemon;
    Run::from(output, args)
}

#[test]
fn the_tcp_listener_serves_only_clients_with_the_token() {
    let port = free_port();
    let address = format!("127.0.0.1:{port}");
    let daemon = TestDaemon::start_backend("simulated", FAST_CONFIG, &["--listen-tcp", &address]);
    let token_file = daemon.data_dir().join("token");
    let token = std::fs::read_to_string(&token_file).expect("the daemon wrote a token");
    assert_eq!(token.trim().len(), 64);
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(&token_file)
        .expect("token")
        .permissions()
        .mode()
        & 0o777;
    assert_eq!(mode, 0o600);

    over_tcp(
        &daemon,
        port,
        &token_file,
        &["users", "add", "alice@example.com"],
    )
    .success();
    let stats = over_tcp(&daemon, port, &token_file, &["--json", "stats"])
        .success()
        .json();
    assert_eq!(stats["total"], 1);

    let wrong = daemon.dir.path().join("wrong-token");
    std::fs::write(&wrong, "0".repeat(64)).expect("write");
    let refused = over_tcp(&daemon, port, &wrong, &["stats"]).fails_with(3);
    assert!(
        refused.stderr.contains("authentication failed"),
        "{refused}"
    );
    let missing = daemon.dir.path().join("no-such-token");
    over_tcp(&daemon, port, &missing, &["stats"]).fails_with(2);

    // A raw client that skips `auth` gets nothing but the refusal.
    use std::io::{BufRead, BufReader, Write};
    let mut stream = std::net::TcpStream::connect(&address).expect("connect");
    stream
        .write_all(b"{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"stats\"}\n")
        .expect("send");
    let mut line = String::new();
    BufReader::new(&stream)
        .read_line(&mut line)
        .expect("answer");
    assert!(line.contains("authentication failed"), "{line}");
    line.clear();
    assert_eq!(
        BufReader::new(&stream).read_line(&mut line).unwrap_or(0),
        0,
        "closed"
    );
}

#[test]
fn the_tcp_listener_is_off_by_default_and_loopback_only() {
    let daemon = TestDaemon::start();
    let hello = daemon.cli(&["--json", "ping"]).success().json();
    assert_eq!(hello["backend"], "simulated");
    assert!(
        !daemon.data_dir().join("token").exists(),
        "no listener, no token"
    );
    let output = Command::new(crate::support::daemon::WASESSD)
        .args([
            "--backend",
            "simulated",
            "--listen-tcp",
            "0.0.0.0:7878",
            "--data-dir",
        ])
        .arg(daemon.dir.path().join("other"))
        .output()
        .expect("wasessd");
    assert_eq!(output.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&output.stderr).contains("only loopback"));
}

#[test]
fn the_windows_wrappers_pass_arguments_and_exit_codes_through() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("packaging/windows");
    for (wrapper, command) in [
        ("wasess-detect-conflicts.cmd", "detect-conflicts"),
        ("wasess-resolve-conflicts.cmd", "resolve-conflicts"),
        ("wasess-cleanup.cmd", "cleanup"),
        ("wasess-reset-sessions.cmd", "reset-sessions"),
        ("wasess-stats.cmd", "stats"),
    ] {
        let text = std::fs::read_to_string(dir.join(wrapper)).expect(wrapper);
        assert!(
            text.contains("\r\n"),
            "{wrapper}: CRLF line ends for cmd.exe"
        );
        assert!(
            text.contains(&format!("\"%WASESS_EXE%\" {command} %*")),
            "{wrapper} runs `wasess {command}` with every argument"
        );
        assert!(
            text.contains("exit /b %ERRORLEVEL%"),
            "{wrapper} returns wasess's code"
        );
    }
}

#[test]
fn the_systemd_units_pass_systemd_analyze_verify() {
    if !tools::available("systemd-analyze", "--version") {
        return;
    }
    let units = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("packaging/systemd");
    let scratch = tempfile::tempdir().expect("temp dir");
    // The units name /usr/bin; verify them against this build's binaries.
    for unit in [
        "wasessd.service",
        "wasess-detect-conflicts.service",
        "wasess-detect-conflicts.timer",
    ] {
        let text = std::fs::read_to_string(units.join(unit)).expect(unit);
        let text = text
            .replace("/usr/bin/wasessd", crate::support::daemon::WASESSD)
            .replace("/usr/bin/wasess", WASESS);
        std::fs::write(scratch.path().join(unit), text).expect("copy unit");
    }
    let output = Command::new("systemd-analyze")
        .args(["verify", "--man=no"])
        .arg(scratch.path().join("wasessd.service"))
        .arg(scratch.path().join("wasess-detect-conflicts.service"))
        .arg(scratch.path().join("wasess-detect-conflicts.timer"))
        .env("SYSTEMD_LOG_LEVEL", "warning")
        .output()
        .expect("systemd-analyze");
    let stderr = String::from_utf8_lossy(&output.stderr);
    let problems: Vec<&str> = stderr
        .lines()
        .filter(|line| line.contains(scratch.path().to_str().unwrap_or("?")))
        .collect();
    assert!(
        output.status.success() && problems.is_empty(),
        "systemd-analyze verify:\n{stderr}"
    );
}

/// `doctor --json`: its exit code and the level of the check named `name`.
fn doctor_check(daemon: &TestDaemon, name: &str) -> (Option<i32>, String, String) {
    let run = daemon.cli(&["--json", "doctor"]);
    let report = run.json();
    let check = report["checks"]
        .as_array()
        .expect("checks")
        .iter()
        .find(|c| c["check"] == name)
        .unwrap_or_else(|| panic!("no {name} check: {report}"))
        .clone();
    (
        run.code,
        check["level"].as_str().unwrap_or_default().to_string(),
        check["fix"].as_str().unwrap_or_default().to_string(),
    )
}

#[test]
fn doctor_finds_each_planted_problem_and_names_its_fix() {
    let healthy = TestDaemon::start();
    healthy.add_users(&["alice@example.com"]);
    let run = healthy.cli(&["doctor"]).success();
    assert!(run.stdout.contains("0 problem(s)"), "{run}");

    let cases: [(&str, &str, &str, &str); 5] = [
        (
            "locks",
            "INSERT INTO connect_locks (user_key, owner, node_id, acquired_at, expires_at) \
             VALUES ('alice@example.com', 'dead', 'test-node', 0, 1)",
            "warning",
            "wasess cleanup",
        ),
        (
            "pending QR codes",
            "UPDATE whatsapp_connections SET status = 'PENDING_QR', qr_expires_at = 1 \
             WHERE user_key = 'alice@example.com'",
            "warning",
            "wasess cleanup",
        ),
        (
            "conflicts",
            "INSERT INTO users VALUES ('bob@example.com', 0); \
             INSERT INTO whatsapp_connections (user_key, status, phone_number, updated_at) \
             VALUES ('bob@example.com', 'DISCONNECTED', '573001234567', 0); \
             UPDATE whatsapp_connections SET phone_number = '573001234567' \
             WHERE user_key = 'alice@example.com'",
            "problem",
            "wasess resolve-conflicts",
        ),
        (
            "users",
            "INSERT INTO users VALUES ('ghost@example.com', 0)",
            "problem",
            "wasess users remove",
        ),
        (
            "credentials",
            "INSERT INTO wa_device VALUES ('alice@example.com', x'00', 0)",
            "warning",
            "wasess cleanup",
        ),
    ];
    for (name, sql, level, fix) in cases {
        let daemon = TestDaemon::start();
        daemon.add_users(&["alice@example.com"]);
        assert_eq!(
            doctor_check(&daemon, name).1,
            "ok",
            "{name} before planting"
        );
        daemon.sql(sql);
        let (code, found, found_fix) = doctor_check(&daemon, name);
        assert_eq!(found, level, "{name}");
        assert!(found_fix.contains(fix), "{name}: fix {found_fix:?}");
        assert_eq!(code, Some(if level == "problem" { 3 } else { 0 }), "{name}");
    }
}

#[test]
fn doctor_reports_a_stopped_daemon_a_stale_pid_file_and_a_broken_database() {
    let mut daemon = TestDaemon::start();
    daemon.stop();
    let (code, level, fix) = doctor_check(&daemon, "daemon");
    assert_eq!((code, level.as_str()), (Some(0), "warning"));
    assert!(fix.contains("wasessd"), "{fix}");

    std::fs::write(daemon.data_dir().join("wasessd.pid"), "999999\n").expect("pid file");
    let (_, level, fix) = doctor_check(&daemon, "pid file");
    assert_eq!(level, "warning");
    assert!(fix.starts_with("rm "), "{fix}");

    for suffix in ["-wal", "-shm"] {
        let _ = std::fs::remove_file(format!("{}{suffix}", daemon.database().display()));
    }
    std::fs::write(
        daemon.database(),
        b"this is not a database, it is a text file",
    )
    .expect("break");
    let (code, level, _) = doctor_check(&daemon, "registry");
    assert_eq!((code, level.as_str()), (Some(3), "problem"));
}

/// The committed completions and man pages match the binaries' flags.
#[test]
fn generated_completions_and_man_pages_are_fresh() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let regenerate = std::env::var_os("WASESS_REGENERATE").is_some();
    let mut stale = Vec::new();
    for (dir, files) in [
        ("completions", wasess::generate::completions()),
        ("man", wasess::generate::man_pages()),
    ] {
        for (name, contents) in files {
            let path = root.join(dir).join(&name);
            if regenerate {
                std::fs::create_dir_all(root.join(dir)).expect("create dir");
                std::fs::write(&path, &contents).expect("write");
            } else if std::fs::read_to_string(&path).ok().as_deref() != Some(contents.as_str()) {
                stale.push(format!("{dir}/{name}"));
            }
        }
    }
    assert!(
        stale.is_empty(),
        "out of date: {stale:?}; run `WASESS_REGENERATE=1 cargo test generated` and commit"
    );
    // What a release build offers: no test-peer flag.
    let man = std::fs::read_to_string(root.join("man/wasessd.1")).expect("man page");
    assert!(
        !man.contains("wa-endpoint") && !man.contains("wa\\-endpoint"),
        "a test flag leaked"
    );
    assert!(
        man.contains("listen\\-tcp"),
        "the man page lists the real flags"
    );
}

#[test]
fn shipped_shell_scripts_pass_shellcheck() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let scripts = [
        root.join("packaging/deb/postinst"),
        root.join("packaging/deb/prerm"),
        root.join("packaging/deb/postrm"),
        root.join(".ci/run"),
    ];
    if !tools::available("shellcheck", "--version") {
        return;
    }
    let output = Command::new("shellcheck")
        .args(&scripts)
        .output()
        .expect("shellcheck");
    assert!(
        output.status.success(),
        "shellcheck:\n{}",
        String::from_utf8_lossy(&output.stdout)
    );
}

#[test]
fn a_tcp_client_without_the_token_holds_neither_time_memory_nor_slots() {
    use std::io::{BufRead, BufReader, Write};
    let port = free_port();
    let address = format!("127.0.0.1:{port}");
    let mut daemon =
        TestDaemon::start_backend("simulated", FAST_CONFIG, &["--listen-tcp", &address]);
    let token_file = daemon.data_dir().join("token");
    let answer = |stream: &std::net::TcpStream| {
        let mut line = String::new();
        BufReader::new(stream).read_line(&mut line).expect("answer");
        line
    };

    // Sixteen clients waiting to authenticate: the seventeenth is turned away at once. First,
    // while no earlier client's slot may still be on its way out: the daemon takes slots in
    // the order it accepts connections.
    let waiting: Vec<_> = (0..16)
        .map(|_| std::net::TcpStream::connect(&address).expect("connect"))
        .collect();
    let turned_away = std::net::TcpStream::connect(&address).expect("connect");
    assert!(answer(&turned_away).contains("too many clients waiting to authenticate"));
    drop(waiting);

    // Silent, or blank lines only: cut off after the deadline. (The waiting clients' slots
    // come free as the daemon sees them close.)
    for attempt in 0.. {
        let mut silent = std::net::TcpStream::connect(&address).expect("connect");
        silent.write_all(b"\n").expect("blank line");
        let reply = answer(&silent);
        if reply.contains("too many clients waiting") && attempt < 100 {
            std::thread::sleep(std::time::Duration::from_millis(50));
            continue;
        }
        assert!(reply.contains("authentication timed out"), "{reply}");
        break;
    }

    // A huge first line is refused at 4 KiB, not read to the end.
    let mut huge = std::net::TcpStream::connect(&address).expect("connect");
    let _ = huge.write_all(&vec![b'x'; 64 * 1024]);
    assert!(answer(&huge).contains("longer than 4096 bytes"));
    // Clients with the token still get in.
    daemon.wait_until("the waiting clients timed out", || {
        over_tcp(&daemon, port, &token_file, &["--json", "stats"]).code == Some(0)
    });

    // A token file others can read is refused at start.
    daemon.stop();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&token_file, std::fs::Permissions::from_mode(0o644)).expect("chmod");
    let (code, stderr) = wasessd_refused(
        &daemon.data_dir(),
        &daemon.socket(),
        &["--backend", "simulated", "--listen-tcp", &address],
    );
    assert_eq!(code, Some(2));
    assert!(stderr.contains("chmod 600"), "{stderr}");
}

/// A daemon that joined the registry but cannot serve (its metrics port is taken) says why
/// and leaves nothing behind: no socket, no log beside the database file, and its node
/// stopped, not live until its lease runs out.
#[test]
fn a_daemon_that_cannot_serve_leaves_no_socket_no_log_and_its_node_stopped() {
    let mut daemon = TestDaemon::start();
    daemon.stop();
    let taken = std::net::TcpListener::bind("127.0.0.1:0").expect("a port");
    let address = taken.local_addr().expect("its address").to_string();
    let (code, stderr) = wasessd_refused(
        &daemon.data_dir(),
        &daemon.socket(),
        &[
            "--backend",
            "simulated",
            "--node-id",
            &daemon.node_id,
            "--metrics",
            &address,
        ],
    );
    assert_eq!(code, Some(1), "{stderr}");
    assert!(stderr.contains("cannot serve metrics"), "{stderr}");
    assert_eq!(
        stderr.lines().filter(|l| l.starts_with("wasessd:")).count(),
        1
    );
    assert!(!daemon.socket().exists(), "the socket was left behind");
    let log = daemon.data_dir().join("registry.db-wal");
    assert!(!log.exists(), "the registry's log was left open");
    let nodes = daemon.sql_text("SELECT group_concat(node_id || ' ' || state) FROM nodes");
    assert_eq!(nodes, format!("{} stopped", daemon.node_id));
}

/// `--socket wasessd.sock`: a bare file name is a socket in the working directory.
#[test]
fn a_bare_socket_name_is_served_from_the_working_directory() {
    let dir = tempfile::tempdir().expect("temp dir");
    let mut child = Command::new(crate::support::daemon::WASESSD)
        .current_dir(dir.path())
        .args([
            "--backend",
            "simulated",
            "--data-dir",
            "data",
            "--socket",
            "wasessd.sock",
        ])
        .env_remove("WASESS_DATABASE_URL")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("run wasessd");
    let socket = dir.path().join("wasessd.sock");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    let added = loop {
        let added = Command::new(WASESS)
            .current_dir(dir.path())
            .args([
                "--socket",
                "wasessd.sock",
                "users",
                "add",
                "you@example.com",
            ])
            .output()
            .expect("run wasess");
        if added.status.success() || std::time::Instant::now() > deadline {
            break added;
        }
        if let Ok(Some(status)) = child.try_wait() {
            let mut stderr = String::new();
            if let Some(mut pipe) = child.stderr.take() {
                let _ = std::io::Read::read_to_string(&mut pipe, &mut stderr);
            }
            panic!("wasessd exited with {status}: {stderr}");
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    };
    crate::support::daemon::signal(child.id(), libc::SIGTERM);
    let status = child.wait().expect("wasessd stops");
    assert!(added.status.success(), "{added:?}");
    assert!(status.success(), "{status:?}");
    assert!(!socket.exists(), "the socket outlived the daemon");
    assert!(!dir.path().join("data/registry.db-wal").exists());
}

#[test]
fn the_registry_url_can_come_from_a_private_file_or_the_config() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().expect("temp dir");
    let registry = dir.path().join("elsewhere.db");
    let url_file = dir.path().join("database-url");
    std::fs::write(&url_file, format!("sqlite:{}\n", registry.display())).expect("url file");
    std::fs::set_permissions(&url_file, std::fs::Permissions::from_mode(0o600)).expect("chmod");
    let file_arg = url_file.display().to_string();
    let daemon = TestDaemon::start_backend(
        "simulated",
        FAST_CONFIG,
        &["--database-url-file", &file_arg],
    );
    let hello = daemon.cli(&["--json", "ping"]).success().json();
    assert_eq!(hello["database"], format!("sqlite:{}", registry.display()));
    drop(daemon);

    // From the config file instead.
    let config = format!(
        "database_url_file = \"{}\"\n{FAST_CONFIG}",
        url_file.display()
    );
    let daemon = TestDaemon::start_with(&config);
    let hello = daemon.cli(&["--json", "ping"]).success().json();
    assert_eq!(hello["database"], format!("sqlite:{}", registry.display()));
    drop(daemon);

    // A file others can read holds no secret: refused.
    std::fs::set_permissions(&url_file, std::fs::Permissions::from_mode(0o644)).expect("chmod");
    let (code, stderr) = wasessd_refused(
        &dir.path().join("data"),
        &dir.path().join("wasessd.sock"),
        &["--backend", "simulated", "--database-url-file", &file_arg],
    );
    assert_eq!(code, Some(2));
    assert!(stderr.contains("chmod 600"), "{stderr}");
}

#[test]
fn doctor_looks_where_the_running_daemon_works() {
    let daemon = TestDaemon::start();
    let home = tempfile::tempdir().expect("temp dir");
    // Only the socket: the data dir and registry come from the daemon itself.
    let output = Command::new(crate::support::daemon::WASESS)
        .arg("--socket")
        .arg(daemon.socket())
        .args(["--json", "doctor"])
        .env_remove("WASESS_DATA_DIR")
        .env_remove("WASESS_DATABASE_URL")
        .env("HOME", home.path())
        .env("XDG_DATA_HOME", home.path())
        .output()
        .expect("run wasess");
    let report: serde_json::Value =
        serde_json::from_slice(&output.stdout).expect("one JSON document");
    assert_eq!(output.status.code(), Some(0), "{report}");
    let data_dir = daemon.data_dir().display().to_string();
    let writable = report["checks"]
        .as_array()
        .expect("checks")
        .iter()
        .find(|check| check["check"] == "data dir")
        .expect("the data dir check");
    assert!(
        writable["detail"]
            .as_str()
            .is_some_and(|d| d.contains(&data_dir)),
        "{report}"
    );
}

#[test]
fn the_alerting_rules_pass_promtool_and_their_unit_tests() {
    if !tools::available("promtool", "--version") {
        return;
    }
    let rules = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("packaging/prometheus");
    for args in [
        ["check", "rules", "wasess.rules.yml"],
        ["test", "rules", "wasess.rules.test.yml"],
    ] {
        let output = Command::new("promtool")
            .args(args)
            .current_dir(&rules)
            .output()
            .expect("promtool");
        assert!(
            output.status.success(),
            "promtool {}:\n{}{}",
            args.join(" "),
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
    }
}

#[test]
fn the_container_files_pass_hadolint_and_the_compose_schema() {
    if !tools::available("hadolint", "--version")
        || !tools::available("check-jsonschema", "--version")
    {
        return;
    }
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let checks: [(&str, Vec<&str>); 2] = [
        ("hadolint", vec!["Dockerfile"]),
        (
            "check-jsonschema",
            vec![
                "--builtin-schema",
                "vendor.compose-spec",
                "packaging/compose/docker-compose.yml",
            ],
        ),
    ];
    for (tool, args) in checks {
        let output = Command::new(tool)
            .args(&args)
            .current_dir(root)
            .output()
            .expect(tool);
        assert!(
            output.status.success(),
            "{tool} {}:\n{}{}",
            args.join(" "),
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
    }
}

//! `wasess import registry` from an application's own database: a Prisma-shaped SQLite file
//! and a PostgreSQL schema with a few thousand rows, legacy duplicates, odd number formats,
//! rows whose user is missing, and users keyed by e-mail.

use sqlx::Connection as _;

use crate::support::daemon::TestDaemon;
use crate::support::databases::TestDb;

/// Users in the source; every one but the last `WITHOUT_ROW` has a connection row.
const USERS: usize = 3_000;
const WITHOUT_ROW: usize = 40;
/// Connection rows whose `userId` names no user.
const ORPHAN_ROWS: usize = 10;
/// Rows `i` and `i + 1000` share a number, for `i` below this.
const DUPLICATES: usize = 20;
/// Rows whose number is unreadable.
const UNREADABLE: [usize; 3] = [37, 1_507, 2_507];

fn email(i: usize) -> String {
    format!("user{i}@tenant.example")
}

/// Row `i`'s number, in one of the forms applications store: digits, `+57 300 …`, a JID,
/// `(57) 300-…`; unreadable for a few rows.
fn phone(i: usize) -> String {
    if UNREADABLE.contains(&i) {
        return "n/a".into();
    }
    let n = if (1000..1000 + DUPLICATES).contains(&i) {
        i - 1000
    } else {
        i
    };
    match i % 4 {
        0 => format!("57300{n:07}"),
        1 => format!("+57 300 {:03} {:04}", n / 10_000, n % 10_000),
        2 => format!("57300{n:07}:12@s.whatsapp.net"),
        _ => format!("(57) 300-{n:07}"),
    }
}

fn status(i: usize) -> &'static str {
    ["connected", "CONNECTED", "Disconnected", "qr_pending"][i % 4]
}

/// The statements that build the source, for SQLite (times as integer milliseconds, as
/// Prisma writes them there) or PostgreSQL (`timestamp(3)` columns).
fn source_sql(postgres: bool) -> String {
    let time_type = if postgres { "TIMESTAMP(3)" } else { "DATETIME" };
    let at = |i: usize| -> String {
        let millis = 1_714_557_600_000i64 + i as i64 * 60_000;
        if postgres {
            format!("(to_timestamp({millis} / 1000.0) AT TIME ZONE 'UTC')::timestamp(3)")
        } else if i.is_multiple_of(2) {
            millis.to_string()
        } else {
            // Older Prisma versions wrote ISO text.
            let seconds = millis / 1000;
            let time = chrono::DateTime::from_timestamp(seconds, 0).expect("time");
            format!("'{}'", time.format("%Y-%m-%dT%H:%M:%S%.3fZ"))
        }
    };
    let mut sql = format!(
        "CREATE TABLE \"User\" (id TEXT PRIMARY KEY, email TEXT NOT NULL UNIQUE, \
         \"createdAt\" {time_type} NOT NULL);\n\
         CREATE TABLE whatsapp_connections (id TEXT PRIMARY KEY, \"userId\" TEXT NOT NULL, \
         \"phoneNumber\" TEXT, status TEXT NOT NULL, \"lastConnectedAt\" {time_type}, \
         \"createdAt\" {time_type} NOT NULL, \"updatedAt\" {time_type} NOT NULL);\n"
    );
    let users: Vec<String> = (0..USERS)
        .map(|i| format!("('cuid{i}', '{}', {})", email(i), at(i)))
        .collect();
    sql.push_str(&format!(
        "INSERT INTO \"User\" (id, email, \"createdAt\") VALUES {};\n",
        users.join(", ")
    ));
    let mut rows: Vec<String> = (0..USERS - WITHOUT_ROW)
        .map(|i| {
            format!(
                "('conn{i}', 'cuid{i}', '{}', '{}', {}, {}, {})",
                phone(i),
                status(i),
                at(i),
                at(i),
                at(i)
            )
        })
        .collect();
    rows.extend((0..ORPHAN_ROWS).map(|i| {
        format!(
            "('orphan{i}', 'deleted{i}', '5731100{i:05}', 'connected', NULL, {}, {})",
            at(i),
            at(i)
        )
    }));
    sql.push_str(&format!(
        "INSERT INTO whatsapp_connections (id, \"userId\", \"phoneNumber\", status, \
         \"lastConnectedAt\", \"createdAt\", \"updatedAt\") VALUES {};\n",
        rows.join(", ")
    ));
    sql
}

/// How many numbers `detect-conflicts` finds held twice (it exits 3 when any).
fn conflicts_found(daemon: &TestDaemon) -> usize {
    let found = daemon
        .cli(&["--json", "detect-conflicts"])
        .fails_with_output(3)
        .json();
    found["conflicts"].as_array().map_or(0, Vec::len)
}

fn import(daemon: &TestDaemon, from: &str, extra: &[&str]) -> crate::support::daemon::Run {
    let mut args = vec![
        "--json",
        "import",
        "registry",
        "--from",
        from,
        "--user-key",
        "email",
    ];
    args.extend_from_slice(extra);
    daemon.cli(&args)
}

/// The whole journey against one source: dry run, import, conflicts, refusal, merge.
fn imports_the_source(daemon: &TestDaemon, from: &str) {
    let preview = import(daemon, from, &["--dry-run"]).success().json();
    assert_eq!(preview["dry_run"], true);
    assert_eq!(
        preview["rows_read"],
        (USERS - WITHOUT_ROW + ORPHAN_ROWS) as u64
    );
    assert_eq!(preview["users_added"], USERS as u64, "{preview:#}");
    assert_eq!(
        preview["users_missing"].as_array().map(Vec::len),
        Some(ORPHAN_ROWS)
    );
    assert_eq!(
        preview["phones_invalid"].as_array().map(Vec::len),
        Some(UNREADABLE.len())
    );
    // Every form but plain digits is normalised: three rows in four, less the unreadable.
    let plain = (0..USERS - WITHOUT_ROW).filter(|i| i % 4 == 0).count();
    let odd = USERS - WITHOUT_ROW - plain - UNREADABLE.iter().filter(|i| *i % 4 != 0).count();
    assert_eq!(preview["phones_normalised"], odd as u64);
    assert_eq!(
        preview["duplicates"].as_array().map(Vec::len),
        Some(DUPLICATES)
    );
    assert_eq!(
        preview["duplicates"][0]["users"],
        serde_json::json!([email(0), email(1000)])
    );
    // A dry run writes nothing.
    let users = daemon.cli(&["--json", "users", "list"]).success().json();
    assert_eq!(users["users"].as_array().map(Vec::len), Some(0));

    let report = import(daemon, from, &[]).success().json();
    assert_eq!(report["users_added"], USERS as u64, "{report:#}");
    let users = daemon.cli(&["--json", "users", "list"]).success().json();
    assert_eq!(users["users"].as_array().map(Vec::len), Some(USERS));
    let first = daemon.row(&email(1));
    assert_eq!(first["status"], "DISCONNECTED");
    assert_eq!(first["phone_number"], "573000000001");
    assert_eq!(
        first["reason"]
            .as_str()
            .map(|r| r.ends_with("was CONNECTED")),
        Some(true)
    );
    assert_eq!(
        first["last_connected_at"], "2024-05-01T10:01:00.000Z",
        "{first}"
    );
    let jid = daemon.row(&email(2));
    assert_eq!(jid["phone_number"], "573000000002");
    assert!(daemon.row(&email(USERS - 1))["phone_number"].is_null());

    // The legacy duplicates are there for detect-conflicts, and resolve-conflicts settles them.
    assert_eq!(conflicts_found(daemon), DUPLICATES);

    let again = import(daemon, from, &[]).fails_with(3);
    assert!(
        again.stdout.contains("--merge") || again.stderr.contains("--merge"),
        "{again}"
    );
    assert_eq!(
        daemon.cli(&["--json", "users", "list"]).success().json()["users"]
            .as_array()
            .map(Vec::len),
        Some(USERS)
    );
    // Merging fills in only users with nothing of their own: here those imported without a
    // number. A user who paired here since keeps her own number and link.
    daemon.pair(&email(5), "573109999999");
    let merged = import(daemon, from, &["--merge"]).success().json();
    let without_number = WITHOUT_ROW + UNREADABLE.len();
    assert_eq!(merged["users_merged"], without_number as u64, "{merged:#}");
    assert_eq!(
        merged["kept_live"].as_array().map(Vec::len),
        Some(USERS - without_number)
    );
    assert_eq!(merged["users_added"], 0);
    let paired = daemon.row(&email(5));
    assert_eq!(
        (paired["status"].as_str(), paired["phone_number"].as_str()),
        (Some("CONNECTED"), Some("573109999999"))
    );

    daemon.cli(&["resolve-conflicts"]).success();
    daemon.cli(&["detect-conflicts"]).success();
}

#[test]
fn a_prisma_sqlite_file_is_imported_whole_and_a_second_run_needs_merge() {
    let source = tempfile::tempdir().expect("temp dir");
    let path = source.path().join("dev.db");
    let runtime = crate::support::databases::runtime();
    runtime.block_on(async {
        let options = sqlx::sqlite::SqliteConnectOptions::new()
            .filename(&path)
            .create_if_missing(true);
        let mut conn = sqlx::SqliteConnection::connect_with(&options)
            .await
            .expect("create the source");
        sqlx::raw_sql(sqlx::AssertSqlSafe(source_sql(false)))
            .execute(&mut conn)
            .await
            .expect("fill the source");
    });
    let daemon = TestDaemon::start();
    imports_the_source(&daemon, &format!("sqlite:{}", path.display()));

    // Bad input is one clear line and exit 2, and writes nothing.
    let missing = daemon
        .cli(&["import", "registry", "--from", "sqlite:/nonexistent/dev.db"])
        .fails_with(2);
    assert!(missing.stderr.contains("no such file"), "{missing}");
    let unmapped = daemon
        .cli(&[
            "import",
            "registry",
            "--from",
            &path.display().to_string(),
            "--map",
            "phone=msisdn",
        ])
        .fails_with(2);
    assert!(unmapped.stderr.contains("no column msisdn"), "{unmapped}");

    // A user that exists here without a connection row is an existing user too: refused
    // without --merge, given its row with it.
    let other = TestDaemon::start();
    other.sql(&format!(
        "INSERT INTO users (user_key, created_at) VALUES ('{}', 0)",
        email(7)
    ));
    let from = format!("sqlite:{}", path.display());
    let refused = import(&other, &from, &[]).fails_with(3);
    assert!(refused.stdout.contains(&email(7)), "{refused}");
    let merged = import(&other, &from, &["--merge"]).success().json();
    assert_eq!(merged["users_merged"], 1, "{merged:#}");
    assert_eq!(merged["users_added"], (USERS - 1) as u64);
    assert_eq!(other.row(&email(7))["phone_number"], "573000000007");
}

#[test]
fn a_postgres_schema_is_imported_with_the_daemon_stopped() {
    let runtime = crate::support::databases::runtime();
    let Some(db) = runtime.block_on(TestDb::postgres()) else {
        return;
    };
    runtime
        .block_on(db.raw(&source_sql(true)))
        .expect("fill the source");
    let mut daemon = TestDaemon::start();
    daemon.stop();
    // The cut-over runbook: the import runs offline, then the daemon starts.
    let offline = daemon
        .cli(&[
            "--json",
            "--offline",
            "import",
            "registry",
            "--from",
            &db.url,
            "--user-key",
            "email",
        ])
        .success()
        .json();
    assert_eq!(offline["users_added"], USERS as u64, "{offline:#}");
    assert_eq!(
        offline["duplicates"].as_array().map(Vec::len),
        Some(DUPLICATES)
    );
    daemon.restart();
    assert_eq!(conflicts_found(&daemon), DUPLICATES);
    assert_eq!(
        daemon.row(&email(4))["last_connected_at"],
        "2024-05-01T10:04:00.000Z"
    );
    import(&daemon, &db.url, &[]).fails_with(3);
    drop(daemon);
    runtime.block_on(db.finish());
}

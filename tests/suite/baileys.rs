//! `wasess import baileys`, with auth folders a real Baileys 6.17 client wrote while it was
//! linked to the test WhatsApp peer (`tests/fixtures/baileys`). The peer starts from the
//! state it kept then, so it knows those devices and still holds its side of their Signal
//! sessions.

use std::path::{Path, PathBuf};

use crate::support::daemon::TestDaemon;

const FIXTURES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/baileys");
const ACME: &str = "acme@example.com";
const ACME_PHONE: &str = "573001110001";

fn auth_sessions() -> PathBuf {
    Path::new(FIXTURES).join("auth_sessions")
}

fn folder(tenant: &str) -> String {
    auth_sessions().join(tenant).display().to_string()
}

/// A copy of tenant's folder in `dir`, for tests that spoil it.
fn copy_of(tenant: &str, dir: &Path) -> PathBuf {
    let copy = dir.join(tenant);
    std::fs::create_dir_all(&copy).expect("copy dir");
    for entry in std::fs::read_dir(auth_sessions().join(tenant)).expect("fixture") {
        let entry = entry.expect("entry");
        std::fs::copy(entry.path(), copy.join(entry.file_name())).expect("copy");
    }
    copy
}

/// `wasess import baileys --auth-dir FOLDER --user USER` and `extra`, through `daemon`.
fn import_one(
    daemon: &TestDaemon,
    folder: &str,
    user: &str,
    extra: &[&str],
) -> crate::support::daemon::Run {
    let mut args = vec!["import", "baileys", "--auth-dir", folder, "--user", user];
    args.extend_from_slice(extra);
    daemon.cli(&args)
}

/// `wasess [first…] --json import baileys --all <the fixture> --skip-unpaired`: its report.
fn import_every_paired_device(daemon: &TestDaemon, first: &[&str]) -> serde_json::Value {
    let all = auth_sessions().display().to_string();
    let mut args = first.to_vec();
    args.extend([
        "--json",
        "import",
        "baileys",
        "--all",
        &all,
        "--skip-unpaired",
    ]);
    daemon.cli(&args).success().json()
}

/// The device's credentials were written, or nothing was.
fn credential_rows(daemon: &TestDaemon, user: &str) -> bool {
    daemon.has_credentials(user)
}

#[cfg(feature = "wa-peer")]
mod against_the_peer {
    use super::*;
    use crate::support::peer::{PeerOptions, PeerSetup, Transport};

    const CONTACT: &str = "573009990001";
    const PEER_STATE: &str = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/baileys/peer-state.json"
    );

    #[test]
    fn a_device_baileys_linked_logs_in_from_its_folder_and_texts_travel_both_ways() {
        let mut setup = PeerSetup::start(
            Transport::WebSocket,
            PeerOptions {
                state: Some(PEER_STATE),
                ..PeerOptions::default()
            },
        );
        let report = import_one(&setup, &folder("acme"), ACME, &["--json", "--no-reconnect"])
            .success()
            .json();
        assert_eq!(report["log_in"], false, "{report}");
        let device = &report["imported"][0];
        assert_eq!(device["user"], ACME, "{report}");
        assert_eq!(device["phone_number"], ACME_PHONE, "{report}");
        assert_eq!(
            device["device"], "573001110001:1@s.whatsapp.net",
            "{report}"
        );
        assert_eq!(device["pre_keys"], 30, "{report}");
        assert_eq!(device["sessions"], 2, "{report}");
        assert_eq!(device["app_state_keys"], 1, "{report}");
        let row = setup.row(ACME);
        assert_eq!(row["status"], "DISCONNECTED", "{row}");
        assert_eq!(row["phone_number"], ACME_PHONE, "{row}");

        // Through the daemon, an import logs the device in at once; one imported with
        // --no-reconnect is left as it is meanwhile.
        let (logins, pairings) = (setup.counter("logins"), setup.counter("pairings"));
        let report = import_one(&setup, &folder("globex"), "globex", &["--json"])
            .success()
            .json();
        assert_eq!(report["log_in"], true, "{report}");
        setup.wait_status("globex", "CONNECTED");
        assert_eq!(setup.row(ACME)["status"], "DISCONNECTED");

        // The peer takes each device as the one it paired with Baileys: a login, no pairing.
        setup.cli(&["reconnect", "--user", ACME]).success();
        setup.wait_status(ACME, "CONNECTED");
        setup.wait_until("both imported devices to log in", || {
            setup.counter("logins") >= logins + 2
        });
        assert_eq!(setup.counter("pairings"), pairings);
        assert_eq!(setup.counter("logins_refused"), 0);
        assert_eq!(setup.pairings_started(ACME), 0, "no QR code was ever shown");

        // In first, on the session the contact's phone and Baileys set up: the phone goes on
        // with it, so the device reads it with the imported receiving chain.
        let sent_on = setup.counter("sent_on_existing_sessions");
        setup.receive(ACME, CONTACT, "¿y ahora?");
        setup.wait_until("the text to arrive", || !setup.received(ACME).is_empty());
        let message = &setup.received(ACME)[0];
        assert_eq!(message["from"], CONTACT, "{message}");
        assert_eq!(message["text"], "¿y ahora?", "{message}");
        assert_eq!(setup.counter("sent_on_existing_sessions"), sent_on + 1);

        // Out, on the same session: the phone reads it with its own side of it.
        let on_sessions = setup.counter("read_on_existing_sessions");
        setup
            .cli(&[
                "send",
                "--user",
                ACME,
                "--to",
                CONTACT,
                "--text",
                "hola desde wasess",
            ])
            .success();
        setup.wait_until("the contact to read it", || {
            let read = setup
                .cli(&["--json", "sim", "sent", "--user", ACME])
                .success()
                .json();
            read["messages"].as_array().is_some_and(|messages| {
                messages
                    .iter()
                    .any(|m| m["text"] == "hola desde wasess" && m["to"] == CONTACT)
            })
        });
        assert_eq!(
            setup.counter("read_on_existing_sessions"),
            on_sessions + 1,
            "the text went on the imported session, not a new one"
        );

        // Baileys keeps no server key, so the first login was a full handshake; from then
        // on the imported identity logs in with IK, as any device wasess paired.
        let (logins, ik) = (setup.counter("logins"), setup.counter("handshakes_ik"));
        assert!(setup.stop().success());
        setup.restart();
        setup.wait_until("both devices to log in again", || {
            setup.counter("logins") >= logins + 2
        });
        assert_eq!(setup.counter("handshakes_ik"), ik + 2);
        assert_eq!(setup.counter("logins_refused"), 0);
        assert_eq!(setup.counter("pairings"), pairings);
    }
    /// The import's statements on PostgreSQL: both devices log in from the credentials it
    /// wrote there, with no pairing, and read a text on the session Baileys had.
    #[test]
    fn devices_imported_into_postgres_log_in_and_read_on_their_sessions() {
        use crate::support::daemon::FAST_CONFIG;
        use crate::support::databases::{runtime, TestDb};
        use crate::support::peer::{counters, PeerProcess};

        let runtime = runtime();
        let Some(db) = runtime.block_on(TestDb::postgres()) else {
            return;
        };
        let peer = PeerProcess::start(PeerOptions {
            state: Some(PEER_STATE),
            ..PeerOptions::default()
        });
        let daemon = TestDaemon::start_node_on(
            "importer",
            &db.url,
            FAST_CONFIG,
            "whatsapp",
            &peer.daemon_args(),
        );
        let report = import_every_paired_device(&daemon, &[]);
        assert_eq!(report["log_in"], true, "{report}");
        for user in ["acme", "globex"] {
            daemon.wait_status(user, "CONNECTED");
            assert_eq!(daemon.pairings_started(user), 0, "{user} paired again");
        }
        let sent_on = counters(&daemon)["sent_on_existing_sessions"].as_u64();
        daemon.receive("acme", CONTACT, "¿desde postgres?");
        daemon.wait_until("the text to arrive", || !daemon.received("acme").is_empty());
        assert_eq!(daemon.received("acme")[0]["text"], "¿desde postgres?");
        let counters = counters(&daemon);
        assert_eq!(
            counters["sent_on_existing_sessions"].as_u64(),
            sent_on.map(|n| n + 1),
            "{counters}"
        );
        assert_eq!(counters["pairings"], 0, "{counters}");
        assert_eq!(counters["logins_refused"], 0, "{counters}");
        drop(daemon);
        drop(peer);
        runtime.block_on(db.finish());
    }
}

#[test]
fn a_folder_of_folders_imports_every_paired_device_in_one_step() {
    let daemon = TestDaemon::start();
    let all = auth_sessions().display().to_string();
    // One folder never finished pairing: the whole import is refused, and nothing written.
    let refused = daemon
        .cli(&["import", "baileys", "--all", &all])
        .fails_with(3);
    assert!(refused.stderr.contains("initech"), "{refused}");
    assert!(
        refused.stderr.contains("never finished pairing"),
        "{refused}"
    );
    assert!(!credential_rows(&daemon, "acme"));

    let dir = tempfile::tempdir().expect("temp dir");
    let users = dir.path().join("users.txt");
    std::fs::write(&users, "# folder user\nacme acme@example.com\n").expect("users file");
    let report = daemon
        .cli(&[
            "--json",
            "import",
            "baileys",
            "--all",
            &all,
            "--users",
            users.to_str().expect("utf-8"),
            "--skip-unpaired",
        ])
        .success()
        .json();
    let imported: Vec<&str> = report["imported"]
        .as_array()
        .expect("imported")
        .iter()
        .map(|device| device["user"].as_str().expect("user"))
        .collect();
    assert_eq!(imported, [ACME, "globex"], "{report}");
    assert_eq!(report["skipped_unpaired"][0], folder("initech"), "{report}");
    assert!(credential_rows(&daemon, ACME));
    assert!(credential_rows(&daemon, "globex"));
    assert_eq!(daemon.row("globex")["phone_number"], "573001110002");

    // A second run would replace credentials: refused, and nothing changes.
    import_one(&daemon, &folder("acme"), ACME, &[]).fails_with(3);
}

#[test]
fn a_spoiled_folder_is_refused_and_nothing_is_written() {
    let daemon = TestDaemon::start();
    let dir = tempfile::tempdir().expect("temp dir");

    let truncated = copy_of("acme", &dir.path().join("truncated"));
    let session = truncated.join("session-573009990001.0.json");
    let text = std::fs::read(&session).expect("session");
    std::fs::write(&session, &text[..text.len() / 2]).expect("truncate");
    let run = import_one(&daemon, truncated.to_str().expect("utf-8"), ACME, &[]).fails_with(3);
    assert!(run.stderr.contains("session-573009990001.0.json"), "{run}");

    let keyless = copy_of("acme", &dir.path().join("keyless"));
    let creds = keyless.join("creds.json");
    let mut json: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&creds).expect("creds")).expect("json");
    json.as_object_mut().expect("object").remove("noiseKey");
    std::fs::write(&creds, json.to_string()).expect("write");
    let run = import_one(&daemon, keyless.to_str().expect("utf-8"), ACME, &[]).fails_with(3);
    assert!(run.stderr.contains("noiseKey"), "{run}");

    let run = import_one(&daemon, &folder("initech"), ACME, &[]).fails_with(3);
    assert!(run.stderr.contains("never finished pairing"), "{run}");

    import_one(&daemon, "/no/such/folder", ACME, &[]).fails_with(2);
    assert!(!credential_rows(&daemon, ACME));
    let listed = daemon.cli(&["--json", "list"]).success().json();
    assert_eq!(
        listed["connections"].as_array().map(Vec::len),
        Some(0),
        "{listed}"
    );
}

#[test]
fn a_dry_run_converts_and_checks_and_writes_nothing() {
    let daemon = TestDaemon::start();
    daemon.add_users(&[ACME]);
    let report = import_one(&daemon, &folder("acme"), ACME, &["--json", "--dry-run"])
        .success()
        .json();
    assert_eq!(report["dry_run"], true, "{report}");
    assert_eq!(report["imported"][0]["sessions"], 2, "{report}");
    assert!(!credential_rows(&daemon, ACME));
    assert_eq!(daemon.row(ACME)["phone_number"], serde_json::Value::Null);

    // A user whose row holds another number keeps it: refused.
    daemon.pair(ACME, "573005550000");
    daemon.cli(&["disconnect", "--user", ACME]).success();
    let run = import_one(&daemon, &folder("acme"), ACME, &[]).fails_with(3);
    assert!(run.stderr.contains("573005550000"), "{run}");

    // A number connected on another user's row stays that row's.
    daemon.add_users(&["bob@example.com"]);
    daemon.pair("bob@example.com", ACME_PHONE);
    import_one(&daemon, &folder("globex"), "globex", &[]).success();
    let run = import_one(&daemon, &folder("acme"), "carol@example.com", &[]).fails_with(3);
    assert!(run.stderr.contains("CONNECTED on bob@example.com"), "{run}");
    assert!(!credential_rows(&daemon, "carol@example.com"));
}

/// The cut-over runbook: the import runs with the daemon stopped, and the daemon's start
/// logs every imported device in, with no `reconnect` and no QR code.
#[test]
fn devices_imported_offline_log_in_when_the_daemon_starts() {
    let mut daemon = TestDaemon::start();
    assert!(daemon.stop().success());
    let report = import_every_paired_device(&daemon, &["--offline"]);
    assert_eq!(report["log_in"], true, "{report}");
    daemon.restart();
    for user in ["acme", "globex"] {
        daemon.wait_status(user, "CONNECTED");
        assert_eq!(daemon.pairings_started(user), 0, "{user} paired again");
    }
}

//! End to end with the real backend (feature `wa-peer`): a real `wasessd` runs the real
//! `whatsapp` backend, whose whatsapp-rust clients log in to the test WhatsApp peer, and the
//! real `wasess` drives it; `wasess sim …` is the phone. Every scenario runs twice: with the
//! peer behind the client's transport trait, in the daemon, and on a loopback WebSocket
//! through the client's production transport.

use std::time::Duration;

use crate::support::daemon::TestDaemon;
use crate::support::peer::{PeerOptions, PeerSetup, Transport};

const ALICE: &str = "alice@example.com";
const BOB: &str = "bob@example.com";
const NUMBER: &str = "573001234567";
const OTHER_NUMBER: &str = "573009998888";

/// Each scenario, once per transport.
macro_rules! over_both_transports {
    ($($scenario:ident),* $(,)?) => {
        mod in_process {
            $(#[test]
            fn $scenario() {
                super::$scenario(super::Transport::InProcess)
            })*
        }
        mod websocket {
            $(#[test]
            fn $scenario() {
                super::$scenario(super::Transport::WebSocket)
            })*
        }
    };
}

over_both_transports!(
    qr_codes_rotate_then_run_out_and_free_the_user,
    a_scanned_rotated_code_links_the_number_and_reconnects_with_ik,
    the_newest_link_of_a_number_wins_and_unlinks_the_old_device,
    a_replaced_stream_is_never_reconnected,
    logouts_from_the_phone_and_from_wasess_end_the_link,
    a_restarted_daemon_logs_in_again_with_ik,
    a_rotated_server_key_is_met_with_xx_fallback,
    bans_pause_and_lost_networks_give_up,
    a_link_lost_before_its_first_connected_is_left_to_the_supervisor,
    texts_travel_end_to_end_encrypted_both_ways,
);

/// Waits until `count` new devices synced their critical app state, the last thing they do
/// before they report themselves connected (which the registry does not show: it already
/// says CONNECTED when the phone scans). Acting earlier races the client's own start-up.
fn devices_up(setup: &PeerSetup, count: u64) {
    setup.wait_until("the new devices up", || {
        setup.counter("critical_syncs") >= count
    });
}

fn qr_events(daemon: &TestDaemon, user: &str) -> usize {
    daemon
        .events(user)
        .iter()
        .filter(|event| event["kind"] == "qr")
        .count()
}

fn qr_codes_rotate_then_run_out_and_free_the_user(transport: Transport) {
    let setup = PeerSetup::start(
        transport,
        PeerOptions {
            qr_codes: 3,
            qr_rotate: Some("1s"),
            ..PeerOptions::default()
        },
    );
    setup.add_users(&[ALICE]);
    let run = setup
        .cli(&["--json", "connect", "--user", ALICE])
        .fails_with(6);
    let codes: Vec<&str> = run
        .stderr
        .lines()
        .filter_map(|line| line.strip_prefix("qr: "))
        .collect();
    assert_eq!(codes.len(), 3, "every rotation is shown: {run}");
    let fields: Vec<Vec<&str>> = codes.iter().map(|c| c.split(',').collect()).collect();
    for code in &fields {
        assert_eq!(
            code.len(),
            5,
            "ref, noise key, identity key, ADV secret, type: {run}"
        );
    }
    assert!(
        fields[0][0] != fields[1][0] && fields[1][0] != fields[2][0],
        "each code has a new ref: {codes:?}"
    );
    assert!(
        fields.iter().all(|code| code[1..4] == fields[0][1..4]),
        "one client, one set of keys: {codes:?}"
    );
    let row = setup.wait_status(ALICE, "DISCONNECTED");
    assert!(row["phone_number"].is_null(), "{row}");
    setup.cli(&["check", "--user", ALICE]).success();
    assert_eq!(
        setup.cli(&["--json", "stats"]).success().json()["locks_held"],
        0
    );
    assert!(!setup.has_credentials(ALICE));
    let counters = setup.counters();
    assert_eq!(
        (
            counters["connections"].as_u64(),
            counters["pairings"].as_u64()
        ),
        (Some(1), Some(0)),
        "one pairing connection, nothing linked, no retry: {counters}"
    );
}

fn a_scanned_rotated_code_links_the_number_and_reconnects_with_ik(transport: Transport) {
    let setup = PeerSetup::start(
        transport,
        PeerOptions {
            qr_codes: 6,
            qr_rotate: Some("3s"),
            ..PeerOptions::default()
        },
    );
    setup.add_users(&[ALICE]);
    setup
        .cli(&["connect", "--user", ALICE, "--detach"])
        .success();
    setup.wait_until("a rotated QR code", || qr_events(&setup, ALICE) >= 2);
    setup
        .cli(&[
            "sim",
            "scan",
            "--user",
            ALICE,
            "--phone",
            "+57 300 123 4567",
        ])
        .success();
    let row = setup.wait_status(ALICE, "CONNECTED");
    assert_eq!(row["phone_number"], NUMBER);
    devices_up(&setup, 1);
    let counters = setup.counters();
    assert_eq!(counters["pairings"], 1, "{counters}");
    assert_eq!(counters["logins"], 1, "{counters}");
    // The pairing connection, then the login after the 515 restart.
    assert_eq!(counters["handshakes_xx"], 2, "{counters}");

    // A dropped connection comes back through the supervisor, with the cached server key.
    setup
        .cli(&["sim", "event", "--user", ALICE, "network-drop"])
        .success();
    setup.wait_until("the reconnect", || {
        let row = setup.row(ALICE);
        row["status"] == "CONNECTED" && row["reason"] == "reconnected"
    });
    let counters = setup.counters();
    assert_eq!(
        (
            counters["handshakes_ik"].as_u64(),
            counters["logins"].as_u64()
        ),
        (Some(1), Some(2)),
        "{counters}"
    );
}

fn the_newest_link_of_a_number_wins_and_unlinks_the_old_device(transport: Transport) {
    let setup = PeerSetup::start(transport, PeerOptions::default());
    setup.add_users(&[ALICE, BOB]);
    setup.pair(ALICE, NUMBER);
    devices_up(&setup, 1);
    setup.pair(BOB, NUMBER);
    let alice = setup.wait_status(ALICE, "LOGGED_OUT");
    assert!(alice["phone_number"].is_null(), "{alice}");
    assert!(
        alice["reason"].as_str().expect("reason").contains(BOB),
        "{alice}"
    );
    // Alice's credentials were kept for her device's unlink, and go once it is done.
    setup.wait_until("alice's credentials deleted", || {
        !setup.has_credentials(ALICE)
    });
    assert_eq!(setup.row(BOB)["status"], "CONNECTED");
    // Alice's client told WhatsApp to unlink its device before its store went away.
    setup.wait_until("alice's device unlinked", || {
        setup.counter("companions_removed") == 1
    });
    let counters = setup.counters();
    assert_eq!(counters["pairings"], 2, "{counters}");
    assert_eq!(counters["logins_refused"], 0, "{counters}");
}

fn a_replaced_stream_is_never_reconnected(transport: Transport) {
    let setup = PeerSetup::start(transport, PeerOptions::default());
    setup.add_users(&[ALICE]);
    setup.pair(ALICE, NUMBER);
    devices_up(&setup, 1);
    setup
        .cli(&["sim", "event", "--user", ALICE, "replaced"])
        .success();
    let row = setup.wait_status(ALICE, "CONFLICT");
    assert!(
        row["reason"]
            .as_str()
            .expect("reason")
            .contains("not reconnecting"),
        "{row}"
    );
    let connections = setup.counter("connections");
    // Ten seconds of silence: no retry from the client, none from the supervisor.
    std::thread::sleep(Duration::from_secs(10));
    assert_eq!(setup.counter("connections"), connections);
    let row = setup.row(ALICE);
    assert_eq!(row["status"], "CONFLICT");
    assert_eq!(row["reconnect_attempts"], 0);
    // The session is gone: the phone has nothing left to act on.
    setup
        .cli(&["sim", "event", "--user", ALICE, "network-drop"])
        .fails_with(3);
}

/// Alice and Bob, each linked to their own number, both devices up.
fn two_linked_devices(transport: Transport) -> PeerSetup {
    let setup = PeerSetup::start(transport, PeerOptions::default());
    setup.add_users(&[ALICE, BOB]);
    setup.pair(ALICE, NUMBER);
    setup.pair(BOB, OTHER_NUMBER);
    devices_up(&setup, 2);
    setup
}

fn logouts_from_the_phone_and_from_wasess_end_the_link(transport: Transport) {
    let setup = two_linked_devices(transport);

    // Unlinked from the phone: WhatsApp ends the stream with 401.
    setup
        .cli(&["sim", "event", "--user", ALICE, "logged-out"])
        .success();
    let alice = setup.wait_status(ALICE, "LOGGED_OUT");
    assert!(alice["phone_number"].is_null(), "{alice}");
    assert!(!setup.has_credentials(ALICE));

    // Logged out with wasess: the client unlinks its own device.
    setup.cli(&["logout", "--user", BOB]).success();
    let bob = setup.wait_status(BOB, "LOGGED_OUT");
    assert!(bob["phone_number"].is_null(), "{bob}");
    assert!(!setup.has_credentials(BOB));
    assert_eq!(setup.counter("companions_removed"), 1);
    setup.cli(&["check", "--user", BOB]).success();
}

fn a_restarted_daemon_logs_in_again_with_ik(transport: Transport) {
    let mut setup = PeerSetup::start(transport, PeerOptions::default());
    setup.add_users(&[ALICE]);
    setup.pair(ALICE, NUMBER);
    devices_up(&setup, 1);
    assert_eq!(setup.counter("logins"), 1);
    assert_eq!(setup.counter("handshakes_ik"), 0);
    let status = setup.stop();
    assert!(status.success(), "graceful stop exits 0");
    setup.restart();
    // An in-process peer restarts with the daemon (its counters too) but keeps its accounts
    // and server key in the data dir; a WebSocket peer just keeps running.
    let logins_before = match transport {
        Transport::InProcess => 0,
        Transport::WebSocket => 1,
    };
    setup.wait_until("the login with IK", || {
        setup.counter("logins") == logins_before + 1
    });
    let counters = setup.counters();
    assert_eq!(counters["handshakes_ik"], 1, "{counters}");
    assert_eq!(counters["handshakes_xx_fallback"], 0, "{counters}");
    assert_eq!(counters["logins_refused"], 0, "{counters}");
    assert_eq!(setup.row(ALICE)["status"], "CONNECTED");
    // The peer still has the keys alice's device published before the restart.
    setup
        .cli(&[
            "sim",
            "message",
            "--user",
            ALICE,
            "--from",
            OTHER_NUMBER,
            "--text",
            "still there?",
        ])
        .success();
    setup.wait_until("the message", || {
        setup
            .received(ALICE)
            .iter()
            .any(|m| m["text"] == "still there?")
    });
    // The resumed client is fully up: a drop is reconnected like any live session's.
    setup
        .cli(&["sim", "event", "--user", ALICE, "network-drop"])
        .success();
    setup.wait_until("the reconnect", || {
        let row = setup.row(ALICE);
        row["status"] == "CONNECTED" && row["reason"] == "reconnected"
    });
}

fn a_rotated_server_key_is_met_with_xx_fallback(transport: Transport) {
    let mut setup = PeerSetup::start(transport, PeerOptions::default());
    setup.add_users(&[ALICE]);
    setup.pair(ALICE, NUMBER);
    devices_up(&setup, 1);
    setup.restart_with_new_server_key();
    // The peer (restarted too, counting from zero) cannot open the IK hello sealed to its
    // old key: it answers with XXfallback, and the login goes through in that one round.
    setup.wait_until("the login", || setup.counter("logins") == 1);
    let counters = setup.counters();
    assert_eq!(
        (
            counters["handshakes_ik"].as_u64(),
            counters["handshakes_xx_fallback"].as_u64(),
            counters["logins_refused"].as_u64()
        ),
        (Some(0), Some(1), Some(0)),
        "{counters}"
    );
    assert_eq!(setup.row(ALICE)["status"], "CONNECTED");
    // The client kept the new key: its next login is IK again.
    setup
        .cli(&["sim", "event", "--user", ALICE, "network-drop"])
        .success();
    setup.wait_until("the reconnect", || {
        let row = setup.row(ALICE);
        row["status"] == "CONNECTED" && row["reason"] == "reconnected"
    });
    assert_eq!(setup.counter("handshakes_ik"), 1);
}

fn bans_pause_and_lost_networks_give_up(transport: Transport) {
    let setup = two_linked_devices(transport);

    setup
        .cli(&["sim", "event", "--user", ALICE, "temporary-ban"])
        .success();
    let alice = setup.wait_status(ALICE, "PAUSED");
    assert!(alice["paused_until"].is_string(), "{alice}");
    assert_eq!(alice["phone_number"], NUMBER, "a ban keeps the link");

    setup
        .cli(&["sim", "event", "--user", BOB, "network-lost"])
        .success();
    gives_up_with_the_number_kept(&setup, BOB, OTHER_NUMBER);
    // Each attempt reached the peer and was turned away before the handshake finished;
    // nobody retried on their own (two pairings, two logins, three reconnects).
    let counters = setup.counters();
    assert_eq!(counters["connections"].as_u64(), Some(4 + 3), "{counters}");
    assert_eq!(counters["logins"], 2, "{counters}");
}

fn gives_up_with_the_number_kept(setup: &PeerSetup, user: &str, number: &str) {
    let row = setup.wait_status(user, "DISCONNECTED");
    assert!(
        row["reason"]
            .as_str()
            .expect("reason")
            .starts_with("network lost: gave up after 3 reconnect attempts"),
        "{row}"
    );
    assert_eq!(
        row["phone_number"], number,
        "credentials and number are kept"
    );
}

fn a_link_lost_before_its_first_connected_is_left_to_the_supervisor(transport: Transport) {
    // Without app-state keys from the phone, a new device waits 10 s before `Connected`:
    // a window to lose the link in right after the login that follows the pairing.
    let setup = PeerSetup::start(
        transport,
        PeerOptions {
            withhold_keys: true,
            ..PeerOptions::default()
        },
    );
    setup.add_users(&[ALICE]);
    setup.pair(ALICE, NUMBER);
    setup.wait_until("the login", || setup.counter("logins") == 1);
    setup
        .cli(&["sim", "event", "--user", ALICE, "network-lost"])
        .success();
    gives_up_with_the_number_kept(&setup, ALICE, NUMBER);
    let counters = setup.counters();
    assert_eq!(counters["connections"].as_u64(), Some(2 + 3), "{counters}");
}

fn texts_travel_end_to_end_encrypted_both_ways(transport: Transport) {
    let setup = PeerSetup::start(transport, PeerOptions::default());
    setup.add_users(&[ALICE]);
    setup.pair(ALICE, NUMBER);
    devices_up(&setup, 1);

    // Out: the client fetches the phone's keys, encrypts, and the phone reads it.
    let sent = setup
        .cli(&[
            "--json",
            "send",
            "--user",
            ALICE,
            "--to",
            "+57 300 999 8888",
            "--text",
            "hola",
        ])
        .success()
        .json();
    let id = sent["message_id"].as_str().expect("message id").to_string();
    setup.wait_until("the phone to read it", || {
        let read = setup
            .cli(&["--json", "sim", "sent", "--user", ALICE])
            .success()
            .json();
        read["messages"]
            .as_array()
            .is_some_and(|messages| !messages.is_empty())
    });
    let read = setup
        .cli(&["--json", "sim", "sent", "--user", ALICE])
        .success()
        .json();
    assert_eq!(read["messages"][0]["to"], OTHER_NUMBER, "{read}");
    assert_eq!(read["messages"][0]["text"], "hola", "{read}");
    assert_eq!(read["messages"][0]["message_id"], id.as_str(), "{read}");

    // In: the phone encrypts to the keys the client published; the client decrypts.
    setup
        .cli(&[
            "sim",
            "message",
            "--user",
            ALICE,
            "--from",
            OTHER_NUMBER,
            "--text",
            "¿hola?",
        ])
        .success();
    setup.wait_until("the message", || !setup.received(ALICE).is_empty());
    let message = &setup.received(ALICE)[0];
    assert_eq!(message["from"], OTHER_NUMBER, "{message}");
    assert_eq!(message["text"], "¿hola?", "{message}");
    assert_eq!(message["message_type"], "text", "{message}");
    assert_eq!(setup.counter("messages_delivered"), 1);
}

/// An earlier version kept each user's credentials in `DATA_DIR/sessions/<user>/whatsapp.db`
/// (the library's own SQLite store). The first start imports them into the registry, moves the
/// file aside, and the user logs in again with no new pairing.
#[test]
fn a_data_dir_of_per_user_stores_is_imported_and_logs_in_without_a_pairing() {
    use wasess::registry::{Registry, UserKey};
    use whatsapp_rust::store::SqliteStore;
    use whatsapp_rust::wacore::store::traits::DeviceStore;

    let mut setup = PeerSetup::start(Transport::WebSocket, PeerOptions::default());
    setup.add_users(&[ALICE]);
    setup.pair(ALICE, NUMBER);
    devices_up(&setup, 1);
    let (logins, pairings) = (setup.counter("logins"), setup.counter("pairings"));
    assert!(setup.stop().success());

    // Lay the data dir out as the earlier version did: the device in its own store file, and
    // none in the registry.
    let legacy = setup.data_dir().join("sessions").join(ALICE);
    std::fs::create_dir_all(&legacy).expect("legacy dir");
    let registry_url = format!("sqlite:{}", setup.database().display());
    let store_file = legacy.join("whatsapp.db");
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    runtime.block_on(async {
        let registry = Registry::open(&registry_url, "test-node")
            .await
            .expect("registry");
        let user = UserKey::parse(ALICE).expect("user");
        let row = registry.connection(&user).await.expect("row");
        let device = registry
            .session_store(&user, row.epoch)
            .load()
            .await
            .expect("load")
            .expect("alice's device");
        registry.close().await;
        let store = SqliteStore::new(store_file.to_str().expect("utf-8"))
            .await
            .expect("the library's store");
        store.save(&device).await.expect("save");
    });
    setup.sql(&format!(
        "DELETE FROM wa_device WHERE user_key = '{ALICE}'; \
         DELETE FROM wa_identities WHERE user_key = '{ALICE}'; \
         DELETE FROM wa_sessions WHERE user_key = '{ALICE}'; \
         DELETE FROM wa_prekeys WHERE user_key = '{ALICE}'; \
         DELETE FROM wa_signed_prekeys WHERE user_key = '{ALICE}'; \
         DELETE FROM wa_app_state_keys WHERE user_key = '{ALICE}'; \
         DELETE FROM wa_app_state_versions WHERE user_key = '{ALICE}';"
    ));
    assert!(!setup.has_credentials(ALICE));

    setup.restart();
    setup.wait_until("alice logged in from the imported store", || {
        setup.counter("logins") > logins
    });
    assert_eq!(setup.counter("pairings"), pairings);
    assert_eq!(setup.counter("logins_refused"), 0);
    assert!(setup.has_credentials(ALICE));
    assert!(!legacy.exists(), "the imported store was moved aside");
    let kept = setup
        .data_dir()
        .join("sessions.imported")
        .join(ALICE)
        .join("whatsapp.db");
    assert!(kept.is_file(), "nothing is deleted: {}", kept.display());
    assert_eq!(setup.row(ALICE)["status"], "CONNECTED");
}

/// A logout with no session running (the device was disconnected, its credentials kept)
/// logs in once with the stored credentials to unlink the device: forgetting it would leave
/// it on the phone's list of linked devices.
#[test]
fn a_logout_without_a_session_logs_in_to_unlink_the_device() {
    let setup = PeerSetup::start(Transport::WebSocket, PeerOptions::default());
    setup.add_users(&[ALICE]);
    setup.pair(ALICE, NUMBER);
    devices_up(&setup, 1);
    setup.cli(&["disconnect", "--user", ALICE]).success();
    setup.wait_status(ALICE, "DISCONNECTED");
    assert!(setup.has_credentials(ALICE), "a disconnect keeps the link");
    setup.cli(&["logout", "--user", ALICE]).success();
    assert_eq!(setup.counter("companions_removed"), 1);
    assert_eq!(setup.row(ALICE)["status"], "LOGGED_OUT");
    assert!(!setup.has_credentials(ALICE));
}

/// A logout WhatsApp does not confirm says so (exit 7): the phone may still list the device,
/// which costs the tenant one of its linked-device slots.
#[test]
fn a_logout_that_cannot_unlink_the_device_says_so() {
    // Reconnects wait long, so the session is still here, cut off, when the logout comes.
    let config = crate::support::daemon::FAST_CONFIG.replace(
        "reconnect_backoff = \"100ms\"",
        "reconnect_backoff = \"60s\"",
    );
    let setup = PeerSetup::start_with(Transport::WebSocket, PeerOptions::default(), &config);
    setup.add_users(&[ALICE]);
    setup.pair(ALICE, NUMBER);
    devices_up(&setup, 1);
    setup
        .cli(&["sim", "event", "--user", ALICE, "network-lost"])
        .success();
    setup.wait_until("the session cut off", || {
        setup.row(ALICE)["reason"]
            .as_str()
            .is_some_and(|reason| reason.contains("reconnecting"))
    });
    let refused = setup.cli(&["logout", "--user", ALICE]).fails_with(7);
    assert!(refused.stderr.contains("Linked devices"), "{refused}");
    assert_eq!(setup.row(ALICE)["status"], "LOGGED_OUT");
    assert_eq!(setup.counter("companions_removed"), 0);
    // The credentials are gone, but doctor still names the device and its number.
    let report = setup.cli(&["--json", "doctor"]).json();
    let check = report["checks"]
        .as_array()
        .expect("checks")
        .iter()
        .find(|check| check["check"] == "linked devices")
        .cloned()
        .unwrap_or_else(|| panic!("no linked devices check: {report}"));
    assert_eq!(check["level"], "warning", "{check}");
    let detail = check["detail"].as_str().unwrap_or_default();
    assert!(detail.contains(ALICE) && detail.contains(NUMBER), "{check}");
}

//! The registry's rules, locks, pairing, conflicts, cleanup and stats, on every database the
//! environment offers (see `support::databases`).

use std::collections::HashSet;
use std::time::Duration;

use wasess::model::{ConflictPolicy, EventKind, ReasonCode, Status};
use wasess::registry::{
    Change, CleanupScope, Error, LockOutcome, NodeHolder, NodeState, PairingEnd, PairingOutcome,
    PhoneNumber, Registry, Scope, Settings, UserKey,
};
use wasess::time::Timestamp;

use crate::support::databases::{clock, TestDb, START};

fn user(key: &str) -> UserKey {
    UserKey::parse(key).expect("valid user key")
}

fn phone(number: &str) -> PhoneNumber {
    PhoneNumber::parse(number).expect("valid phone")
}

async fn with_user(registry: &Registry, key: &str) -> UserKey {
    let key = user(key);
    registry.add_user(&key).await.expect("add user");
    key
}

/// Runs `test` once per database.
macro_rules! on_every_db {
    (|$db:ident, $registry:ident, $clock:ident| $body:block) => {
        for $db in TestDb::all().await {
            let $clock = clock();
            let $registry = $db.open("node-1", $clock.clone()).await;
            $body
            $registry.close().await;
            $db.finish().await;
        }
    };
}

/// Connects `key` to `number` through the whole pairing path.
async fn pair(registry: &Registry, key: &UserKey, number: &str) -> PairingOutcome {
    let owner = format!("attempt-{key}");
    registry
        .start_connect(key, &owner, None)
        .await
        .expect("start connect");
    registry
        .complete_pairing(key, &owner, &phone(number), ConflictPolicy::NewestWins)
        .await
        .expect("complete pairing")
}

fn refusal(result: Result<impl std::fmt::Debug, Error>) -> ReasonCode {
    match result {
        Err(Error::Refused(verdict)) => verdict.reason_code,
        other => panic!("expected a refusal, got {other:?}"),
    }
}

/// The invariants of docs/architecture.md, read straight from the rows.
async fn assert_invariants(registry: &Registry, context: &str) {
    let rows = registry
        .connections(None, None, u32::MAX)
        .await
        .expect("connections");
    let mut connected_numbers = HashSet::new();
    for row in &rows {
        if row.status == Status::Connected {
            let number = row
                .phone_number
                .clone()
                .expect("CONNECTED row has a number");
            assert!(
                connected_numbers.insert(number.clone()),
                "{context}: {number} CONNECTED twice"
            );
        }
        if row.status == Status::PendingQr {
            assert!(
                row.qr_expires_at.is_some(),
                "{context}: pending without expiry"
            );
        }
    }
    let users: HashSet<&str> = rows.iter().map(|r| r.user.as_str()).collect();
    assert_eq!(users.len(), rows.len(), "{context}: one row per user");
    // stats counts duplicated numbers from what the triggers keep: it must match the rows.
    let mut holders: std::collections::HashMap<&str, usize> = Default::default();
    for number in rows.iter().filter_map(|r| r.phone_number.as_deref()) {
        *holders.entry(number).or_default() += 1;
    }
    let duplicated = holders.values().filter(|&&n| n > 1).count() as u64;
    let stats = registry.stats().await.expect("stats");
    assert_eq!(
        stats.duplicate_numbers, duplicated,
        "{context}: duplicated numbers"
    );
}

#[tokio::test]
async fn users_are_added_listed_and_removed_with_their_rows() {
    on_every_db!(|db, registry, _clock| {
        let alice = with_user(&registry, "alice@example.com").await;
        assert!(matches!(
            registry.add_user(&alice).await,
            Err(Error::UserExists(_))
        ));
        let listed = registry.users(100).await.expect("users");
        assert_eq!(listed.len(), 1, "{}", db.name);
        assert_eq!(listed[0].status, Status::Disconnected);

        registry
            .start_connect(&alice, "a1", None)
            .await
            .expect("start");
        let removed = registry.remove_user(&alice).await.expect("remove");
        assert_eq!(removed.status, Status::PendingQr);
        assert!(registry.users(100).await.expect("users").is_empty());
        assert_eq!(registry.stats().await.expect("stats").locks_held, 0);

        // A removed user is refused by rule 1, never resurrected by a foreign-key error.
        let verdict = registry.can_connect(&alice, None).await.expect("verdict");
        assert_eq!(verdict.reason_code, ReasonCode::UnknownUser);
        assert_eq!(
            refusal(registry.start_connect(&alice, "a2", None).await),
            ReasonCode::UnknownUser
        );
        assert!(matches!(
            registry.acquire_lock(&alice, "a3").await,
            Err(Error::UnknownUser(_))
        ));
        assert!(matches!(
            registry.remove_user(&alice).await,
            Err(Error::UnknownUser(_))
        ));
    });
}

#[tokio::test]
async fn each_rule_refuses_with_its_reason_and_message() {
    on_every_db!(|db, registry, clock| {
        let alice = with_user(&registry, "alice@example.com").await;
        let bob = with_user(&registry, "bob@example.com").await;
        let ghost = user("ghost@example.com");

        let verdict = registry.can_connect(&ghost, None).await.expect("verdict");
        assert!(!verdict.allowed);
        assert_eq!(verdict.reason_code, ReasonCode::UnknownUser);

        let verdict = registry.can_connect(&alice, None).await.expect("verdict");
        assert!(verdict.allowed, "{}: {verdict:?}", db.name);

        // Rule 3: a pending QR.
        registry
            .start_connect(&alice, "a1", None)
            .await
            .expect("start");
        let verdict = registry.can_connect(&alice, None).await.expect("verdict");
        assert_eq!(verdict.reason_code, ReasonCode::QrPending);
        assert_eq!(
            verdict.message,
            "a QR code is already pending: scan it or wait for it to expire"
        );

        // Rule 2: already connected.
        registry
            .complete_pairing(
                &alice,
                "a1",
                &phone("573001234567"),
                ConflictPolicy::NewestWins,
            )
            .await
            .expect("pair");
        let verdict = registry.can_connect(&alice, None).await.expect("verdict");
        assert_eq!(verdict.reason_code, ReasonCode::AlreadyConnected);
        assert_eq!(verdict.message, "already connected: disconnect first");
        assert_eq!(
            verdict.existing.expect("row").phone_number.as_deref(),
            Some("573001234567")
        );

        // Rule 4: a number known up front that another user holds.
        let verdict = registry
            .can_connect(&bob, Some(&phone("+57 300 123 4567")))
            .await
            .expect("verdict");
        assert_eq!(verdict.reason_code, ReasonCode::NumberTaken);
        assert!(verdict
            .message
            .starts_with("number already registered to another account"));
        let verdict = registry
            .can_connect(&bob, Some(&phone("573009999999")))
            .await
            .expect("verdict");
        assert!(verdict.allowed);

        // Rule 5: an unexpired lock, until it expires.
        let taken = registry.acquire_lock(&bob, "b1").await.expect("lock");
        assert!(matches!(taken, LockOutcome::Acquired { .. }));
        let verdict = registry.can_connect(&bob, None).await.expect("verdict");
        assert_eq!(verdict.reason_code, ReasonCode::ConnectInProgress);
        assert!(verdict.message.contains("5m"), "{}", verdict.message);
        assert!(matches!(
            registry.acquire_lock(&bob, "b2").await.expect("lock"),
            LockOutcome::Held { owner, .. } if owner == "b1"
        ));
        clock.advance(Duration::from_secs(5 * 60));
        assert!(
            registry
                .can_connect(&bob, None)
                .await
                .expect("verdict")
                .allowed
        );
        assert!(matches!(
            registry.acquire_lock(&bob, "b2").await.expect("lock"),
            LockOutcome::Acquired { .. }
        ));
        assert!(!registry.release_lock(&bob, "b1").await.expect("release"));
        assert!(registry.release_lock(&bob, "b2").await.expect("release"));
    });
}

#[tokio::test]
async fn a_pending_qr_expires_after_its_ttl() {
    on_every_db!(|_db, registry, clock| {
        let alice = with_user(&registry, "alice@example.com").await;
        let pending = registry
            .start_connect(&alice, "a1", None)
            .await
            .expect("start");
        assert_eq!(pending.status, Status::PendingQr);
        assert_eq!(
            pending.qr_expires_at,
            Some(START.plus(Duration::from_secs(300)))
        );
        registry
            .record_qr(
                &alice,
                "a1",
                "2@ref,key,id,adv",
                Duration::from_secs(60),
                false,
            )
            .await
            .expect("qr");

        clock.advance(Duration::from_secs(299));
        assert_eq!(
            registry
                .can_connect(&alice, None)
                .await
                .expect("verdict")
                .reason_code,
            ReasonCode::QrPending
        );
        clock.advance(Duration::from_secs(2));
        let report = registry
            .cleanup(&CleanupScope::default(), false)
            .await
            .expect("cleanup");
        assert_eq!(report.expired_qr, 1);
        let row = registry.connection(&alice).await.expect("row");
        assert_eq!(row.status, Status::Disconnected);
        assert_eq!(row.reason, "QR code not scanned in time");
        assert!(
            registry
                .can_connect(&alice, None)
                .await
                .expect("verdict")
                .allowed
        );
        // The expired attempt can no longer complete.
        assert!(matches!(
            registry
                .complete_pairing(
                    &alice,
                    "a1",
                    &phone("573001234567"),
                    ConflictPolicy::NewestWins
                )
                .await,
            Err(Error::LockLost(_))
        ));
    });
}

#[tokio::test]
async fn newest_wins_logs_out_the_older_holder() {
    on_every_db!(|db, registry, _clock| {
        let alice = with_user(&registry, "alice@example.com").await;
        let bob = with_user(&registry, "bob@example.com").await;
        pair(&registry, &alice, "573001234567").await;
        let outcome = pair(&registry, &bob, "+57 300 123 4567").await;
        let PairingOutcome::Paired {
            connection,
            displaced,
        } = outcome
        else {
            panic!("{}: bob should win", db.name);
        };
        assert_eq!(connection.status, Status::Connected);
        assert_eq!(displaced.len(), 1);
        assert_eq!(displaced[0].user, "alice@example.com");
        assert_eq!(displaced[0].status, Status::Connected);

        let alice_row = registry.connection(&alice).await.expect("row");
        assert_eq!(alice_row.status, Status::LoggedOut);
        assert_eq!(alice_row.phone_number, None);
        assert!(
            alice_row.reason.contains("bob@example.com"),
            "{}",
            alice_row.reason
        );
        assert_eq!(registry.stats().await.expect("stats").locks_held, 0);
        assert!(registry
            .detect_conflicts()
            .await
            .expect("detect")
            .is_empty());
        assert_invariants(&registry, db.name).await;

        let log = registry
            .log(Some(&alice), Timestamp(0), 100)
            .await
            .expect("log");
        let states: Vec<_> = log
            .iter()
            .filter(|e| e.kind == EventKind::State)
            .map(|e| e.to_status.expect("state event has a status"))
            .collect();
        assert_eq!(
            states,
            [Status::PendingQr, Status::Connected, Status::LoggedOut]
        );
    });
}

#[tokio::test]
async fn reject_new_keeps_the_holder_and_frees_the_newcomer() {
    on_every_db!(|_db, registry, _clock| {
        let alice = with_user(&registry, "alice@example.com").await;
        let bob = with_user(&registry, "bob@example.com").await;
        pair(&registry, &alice, "573001234567").await;
        registry
            .start_connect(&bob, "b1", None)
            .await
            .expect("start");
        let outcome = registry
            .complete_pairing(
                &bob,
                "b1",
                &phone("573001234567"),
                ConflictPolicy::RejectNew,
            )
            .await
            .expect("complete");
        assert_eq!(
            outcome,
            PairingOutcome::Rejected {
                holders: vec!["alice@example.com".into()]
            }
        );
        let bob_row = registry.connection(&bob).await.expect("row");
        assert_eq!(bob_row.status, Status::Disconnected);
        assert!(bob_row
            .reason
            .starts_with("number already registered to another account"));
        assert_eq!(
            registry.connection(&alice).await.expect("row").status,
            Status::Connected
        );
        assert!(
            registry
                .can_connect(&bob, None)
                .await
                .expect("verdict")
                .allowed
        );
    });
}

#[tokio::test]
async fn pairings_end_by_expiry_cancel_or_failure_and_free_the_lock() {
    on_every_db!(|_db, registry, _clock| {
        let alice = with_user(&registry, "alice@example.com").await;
        for (end, reason) in [
            (PairingEnd::Expired, "QR code not scanned in time"),
            (PairingEnd::Cancelled, "pairing cancelled"),
            (
                PairingEnd::Failed("WhatsApp unreachable".into()),
                "pairing failed: WhatsApp unreachable",
            ),
        ] {
            registry
                .start_connect(&alice, "a1", None)
                .await
                .expect("start");
            // Another attempt cannot end it.
            assert!(registry
                .end_pairing(&alice, "intruder", end.clone())
                .await
                .expect("end")
                .is_none());
            let row = registry
                .end_pairing(&alice, "a1", end)
                .await
                .expect("end")
                .expect("ended");
            assert_eq!(row.status, Status::Disconnected);
            assert_eq!(row.reason, reason);
            assert!(
                registry
                    .can_connect(&alice, None)
                    .await
                    .expect("verdict")
                    .allowed
            );
        }
    });
}

#[tokio::test]
async fn live_session_changes_follow_the_state_machine() {
    on_every_db!(|_db, registry, _clock| {
        let alice = with_user(&registry, "alice@example.com").await;
        pair(&registry, &alice, "573001234567").await;
        let epoch = registry.connection(&alice).await.expect("row").epoch;
        let row = registry
            .apply(
                &alice,
                Change::Reconnecting {
                    attempt: 1,
                    max: 3,
                    reason: "network lost".into(),
                },
                Scope::Session(epoch),
            )
            .await
            .expect("apply")
            .expect("applied");
        assert_eq!(row.status, Status::Connected);
        assert_eq!(row.reconnect_attempts, 1);
        let row = registry
            .apply(
                &alice,
                Change::Conflict {
                    reason: "stream replaced".into(),
                },
                Scope::Session(epoch),
            )
            .await
            .expect("apply")
            .expect("applied");
        assert_eq!(row.status, Status::Conflict);
        assert_eq!(row.reconnect_attempts, 0);
        // A row in CONFLICT is not live: network events no longer apply.
        assert!(registry
            .apply(
                &alice,
                Change::Reconnecting {
                    attempt: 1,
                    max: 3,
                    reason: "network lost".into()
                },
                Scope::Session(row.epoch)
            )
            .await
            .expect("apply")
            .is_none());

        // Another node's session events do not touch this node's row, even at its epoch.
        let other = Registry::open(&_db.url, "node-2").await.expect("open");
        assert!(other
            .apply(
                &alice,
                Change::LoggedOut { reason: "x".into() },
                Scope::Session(row.epoch)
            )
            .await
            .expect("apply")
            .is_none());
        other.close().await;
    });
}

#[tokio::test]
async fn the_database_itself_refuses_a_second_connected_row_per_number() {
    on_every_db!(|db, registry, _clock| {
        with_user(&registry, "alice@example.com").await;
        with_user(&registry, "bob@example.com").await;
        db.raw(
            "UPDATE whatsapp_connections SET status = 'CONNECTED', phone_number = '573001234567' \
             WHERE user_key = 'alice@example.com'",
        )
        .await
        .expect("first connected row");
        let second = db
            .raw(
                "UPDATE whatsapp_connections SET status = 'CONNECTED', \
                 phone_number = '573001234567' WHERE user_key = 'bob@example.com'",
            )
            .await;
        assert!(
            second.is_err(),
            "{}: second CONNECTED row accepted",
            db.name
        );
        let duplicate_row = db
            .raw(
                "INSERT INTO whatsapp_connections (user_key, status, updated_at) \
                 VALUES ('bob@example.com', 'DISCONNECTED', 0)",
            )
            .await;
        assert!(
            duplicate_row.is_err(),
            "{}: second row per user accepted",
            db.name
        );
        let orphan = db
            .raw(
                "INSERT INTO whatsapp_connections (user_key, status, updated_at) \
                 VALUES ('nobody@example.com', 'DISCONNECTED', 0)",
            )
            .await;
        assert!(orphan.is_err(), "{}: row without a user accepted", db.name);
    });
}

/// Rows with duplicate numbers, as the old system's database holds them.
const LEGACY_IMPORT: &str = "
INSERT INTO users (user_key, created_at) VALUES
  ('ana@old.example', 0), ('ben@old.example', 0), ('cid@old.example', 0),
  ('dee@old.example', 0), ('eve@old.example', 0), ('fay@old.example', 0);
INSERT INTO whatsapp_connections (user_key, status, phone_number, last_connected_at, updated_at) VALUES
  ('ana@old.example', 'CONNECTED',    '573001111111', 3000, 3000),
  ('ben@old.example', 'DISCONNECTED', '573001111111', 1000, 1000),
  ('cid@old.example', 'CONFLICT',     '573001111111', 2000, 2000),
  ('dee@old.example', 'DISCONNECTED', '573002222222', 5000, 5000),
  ('eve@old.example', 'CONNECTED',    '573002222222', 4000, 4000),
  ('fay@old.example', 'CONNECTED',    '573003333333', 4000, 4000);
";

#[tokio::test]
async fn legacy_duplicates_are_detected_resolved_and_gone() {
    on_every_db!(|db, registry, _clock| {
        db.raw(LEGACY_IMPORT).await.expect("legacy import");
        let conflicts = registry.detect_conflicts().await.expect("detect");
        assert_eq!(conflicts.len(), 2, "{}", db.name);
        assert_eq!(conflicts[0].phone_number, "573001111111");
        let order: Vec<&str> = conflicts[0]
            .holders
            .iter()
            .map(|h| h.user.as_str())
            .collect();
        assert_eq!(
            order,
            ["ana@old.example", "cid@old.example", "ben@old.example"]
        );
        assert_eq!(registry.stats().await.expect("stats").duplicate_numbers, 2);

        let preview = registry
            .resolve_conflicts(true, None)
            .await
            .expect("dry run");
        assert_eq!(
            (preview.resolved, preview.disconnected, preview.kept),
            (2, 3, 2)
        );
        assert_eq!(registry.detect_conflicts().await.expect("detect").len(), 2);

        let only_second = registry
            .resolve_conflicts(false, Some(&phone("573002222222")))
            .await
            .expect("resolve one");
        assert_eq!((only_second.resolved, only_second.disconnected), (1, 1));
        assert_eq!(only_second.actions[0].kept, "dee@old.example");
        assert_eq!(only_second.actions[0].detached[0].user, "eve@old.example");
        assert_eq!(only_second.actions[0].detached[0].status, Status::Connected);

        let rest = registry
            .resolve_conflicts(false, None)
            .await
            .expect("resolve");
        assert_eq!((rest.resolved, rest.disconnected, rest.kept), (1, 2, 1));
        assert!(registry
            .detect_conflicts()
            .await
            .expect("detect")
            .is_empty());
        let eve = registry
            .connection(&user("eve@old.example"))
            .await
            .expect("row");
        assert_eq!(eve.status, Status::Disconnected);
        assert_eq!(eve.phone_number, None);
        assert!(eve.reason.contains("kept by dee@old.example"));
        assert_invariants(&registry, db.name).await;
    });
}

/// Manual edits that give one number to many rows at once, move it and delete its holders:
/// detect-conflicts and stats count every holder, whatever order the writers ran in.
#[tokio::test]
async fn numbers_given_by_concurrent_writers_are_all_counted() {
    on_every_db!(|db, registry, _clock| {
        let keys: Vec<String> = (0..12).map(|i| format!("u{i}@example.com")).collect();
        for key in &keys {
            with_user(&registry, key).await;
        }
        let writers = keys.iter().map(|key| {
            let sql = format!(
                "UPDATE whatsapp_connections SET phone_number = '573009999999' \
                 WHERE user_key = '{key}'"
            );
            let db = &db;
            async move { db.raw(&sql).await }
        });
        for written in futures::future::join_all(writers).await {
            written.expect("manual edit");
        }
        let conflicts = registry.detect_conflicts().await.expect("detect");
        assert_eq!(conflicts.len(), 1, "{}", db.name);
        assert_eq!(conflicts[0].holders.len(), keys.len(), "{}", db.name);
        assert_invariants(&registry, db.name).await;

        db.raw(
            "UPDATE whatsapp_connections SET phone_number = '573008888888' \
             WHERE user_key IN ('u0@example.com', 'u1@example.com')",
        )
        .await
        .expect("move two");
        for key in &keys[2..11] {
            registry.remove_user(&user(key)).await.expect("remove");
        }
        let conflicts = registry.detect_conflicts().await.expect("detect");
        let numbers: Vec<&str> = conflicts.iter().map(|c| c.phone_number.as_str()).collect();
        assert_eq!(numbers, ["573008888888"], "{}", db.name);
        assert_invariants(&registry, db.name).await;
    });
}

#[tokio::test]
async fn cleanup_reports_and_fixes_each_kind_of_leftover() {
    for db in TestDb::all().await {
        let clock = clock();
        let settings = Settings {
            node_grace: Duration::from_secs(60),
            ..Settings::default()
        };
        let here = db
            .open_with("node-1", clock.clone(), settings.clone())
            .await;
        let there = db.open_with("node-2", clock.clone(), settings).await;
        for (registry, pid) in [(&here, 1), (&there, 2)] {
            let holder = NodeHolder {
                host: "test-host".into(),
                pid,
                instance: format!("instance-{pid}"),
            };
            registry
                .register_node("test", &holder, |_| true)
                .await
                .expect("register");
        }

        let live = with_user(&here, "live@example.com").await;
        let stale = with_user(&here, "stale@example.com").await;
        let pending = with_user(&here, "pending@example.com").await;
        let remote = with_user(&here, "remote@example.com").await;
        let locked = with_user(&here, "locked@example.com").await;
        pair(&here, &live, "573001000001").await;
        pair(&here, &stale, "573001000002").await;
        here.start_connect(&pending, "p1", None)
            .await
            .expect("start");
        pair(&there, &remote, "573001000003").await;
        here.acquire_lock(&locked, "l1").await.expect("lock");

        clock.advance(Duration::from_secs(301));
        // node-2's lease ran out, by the database's clock.
        db.raw("UPDATE nodes SET lease_until = 0 WHERE node_id = 'node-2'")
            .await
            .expect("expire the lease");
        let scope = CleanupScope {
            live_sessions: Some(HashSet::from([live.to_string()])),
            ..CleanupScope::default()
        };
        let preview = here.cleanup(&scope, true).await.expect("dry run");
        assert_eq!(
            (
                preview.expired_qr,
                preview.expired_locks,
                preview.stale_sessions,
                preview.dead_node_sessions
            ),
            (1, 2, 1, 0),
            "{}: {preview:?}",
            db.name
        );
        assert_eq!(here.stats().await.expect("stats").connected, 3);

        let report = here.cleanup(&scope, false).await.expect("cleanup");
        assert_eq!(
            (
                report.expired_qr,
                report.expired_locks,
                report.stale_sessions,
                report.dead_node_sessions
            ),
            (1, 2, 1, 0)
        );
        assert_eq!(report.users, ["pending@example.com", "stale@example.com"]);
        // The lost node's session waits, still CONNECTED, for a live node to take it over.
        let remote_row = here.connection(&remote).await.expect("row");
        assert_eq!(remote_row.status, Status::Connected);
        let claimed = here.claim_orphans(10).await.expect("claim");
        assert_eq!(
            claimed
                .iter()
                .map(|row| row.user.as_str())
                .collect::<Vec<_>>(),
            ["remote@example.com"]
        );
        let taken = here.connection(&remote).await.expect("row");
        assert_eq!(taken.node_id.as_deref(), Some("node-1"));
        assert!(
            taken.epoch > remote_row.epoch,
            "a takeover starts a new epoch"
        );
        assert_eq!(taken.reason, "taken over from node node-2 (lost)");
        assert_eq!(
            here.connection(&live).await.expect("row").status,
            Status::Connected
        );
        let scope = CleanupScope {
            live_sessions: Some(HashSet::from([live.to_string(), remote.to_string()])),
            ..CleanupScope::default()
        };
        assert_eq!(
            here.cleanup(&scope, false).await.expect("again"),
            wasess::model::CleanupReport::default()
        );
        let nodes = here.nodes().await.expect("nodes");
        assert_eq!(
            nodes
                .iter()
                .map(|n| (n.node_id.as_str(), n.alive, n.state.as_str()))
                .collect::<Vec<_>>(),
            [("node-1", true, "live"), ("node-2", false, "lost")]
        );
        here.close().await;
        there.close().await;
        db.finish().await;
    }
}

#[tokio::test]
async fn stats_count_every_status() {
    on_every_db!(|_db, registry, _clock| {
        for key in ["a@x.io", "b@x.io", "c@x.io", "d@x.io"] {
            with_user(&registry, key).await;
        }
        pair(&registry, &user("a@x.io"), "573001000001").await;
        pair(&registry, &user("b@x.io"), "573001000002").await;
        registry
            .apply(
                &user("b@x.io"),
                Change::Conflict {
                    reason: "replaced".into(),
                },
                Scope::Any,
            )
            .await
            .expect("conflict");
        registry
            .start_connect(&user("c@x.io"), "c1", None)
            .await
            .expect("start");
        let stats = registry.stats().await.expect("stats");
        assert_eq!(
            (
                stats.total,
                stats.connected,
                stats.conflict,
                stats.pending_qr,
                stats.disconnected,
                stats.locks_held
            ),
            (4, 1, 1, 1, 1, 1)
        );
        assert_eq!(stats.by_node[0].node_id, "node-1");
        assert_eq!(stats.by_node[0].connected, 1);
    });
}

#[tokio::test]
async fn reset_clears_numbers_qr_and_locks() {
    on_every_db!(|_db, registry, _clock| {
        let alice = with_user(&registry, "alice@example.com").await;
        let bob = with_user(&registry, "bob@example.com").await;
        pair(&registry, &alice, "573001234567").await;
        registry
            .start_connect(&bob, "b1", None)
            .await
            .expect("start");

        let one = registry.reset(Some(&alice)).await.expect("reset one");
        assert_eq!(one.users.len(), 1);
        assert_eq!(one.users[0].previous_phone.as_deref(), Some("573001234567"));
        assert_eq!(
            registry.connection(&bob).await.expect("row").status,
            Status::PendingQr
        );
        let all = registry.reset(None).await.expect("reset all");
        assert_eq!(all.users.len(), 1);
        assert_eq!(all.locks_released, 1);
        for key in [&alice, &bob] {
            let row = registry.connection(key).await.expect("row");
            assert_eq!((row.status, row.phone_number), (Status::Disconnected, None));
            assert!(
                registry
                    .can_connect(key, None)
                    .await
                    .expect("verdict")
                    .allowed
            );
        }
    });
}

#[tokio::test]
async fn events_resume_after_an_id_without_gaps() {
    on_every_db!(|_db, registry, _clock| {
        let alice = with_user(&registry, "alice@example.com").await;
        let bob = with_user(&registry, "bob@example.com").await;
        let all = registry.events_after(0, None, 1000).await.expect("events");
        assert_eq!(all.len(), 2);
        pair(&registry, &alice, "573001234567").await;
        pair(&registry, &bob, "573001234567").await;
        let after = registry
            .events_after(all[1].id, None, 1000)
            .await
            .expect("events");
        let ids: Vec<i64> = after.iter().map(|e| e.id).collect();
        let mut sorted = ids.clone();
        sorted.sort();
        assert_eq!(ids, sorted);
        assert!(after.iter().all(|e| e.id > all[1].id));
        let only_alice = registry
            .events_after(0, Some(&alice), 1000)
            .await
            .expect("events");
        assert!(only_alice
            .iter()
            .all(|e| e.user.as_deref() == Some("alice@example.com")));
        assert_eq!(
            registry.last_event_id().await.expect("last"),
            after.last().expect("some").id
        );
    });
}

/// 32 tasks race to connect one user, then 32 users race to pair one number.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn racing_tasks_have_exactly_one_winner() {
    for db in TestDb::all().await {
        let clock = clock();
        let registry = db.open("node-1", clock.clone()).await;
        let target = with_user(&registry, "race@example.com").await;
        let mut attempts = Vec::new();
        for i in 0..32 {
            let registry = registry.clone();
            let target = target.clone();
            attempts.push(tokio::spawn(async move {
                registry
                    .start_connect(&target, &format!("task-{i}"), None)
                    .await
            }));
        }
        let mut winners = 0;
        for attempt in attempts {
            match attempt.await.expect("task") {
                Ok(_) => winners += 1,
                Err(Error::Refused(verdict)) => assert!(
                    matches!(
                        verdict.reason_code,
                        ReasonCode::QrPending | ReasonCode::ConnectInProgress
                    ),
                    "{verdict:?}"
                ),
                Err(other) => panic!("{}: {other}", db.name),
            }
        }
        assert_eq!(winners, 1, "{}", db.name);

        for policy in [ConflictPolicy::RejectNew, ConflictPolicy::NewestWins] {
            let mut racers = Vec::new();
            for i in 0..32 {
                let key = with_user(&registry, &format!("{policy:?}-{i}@example.com")).await;
                registry
                    .start_connect(&key, "own", None)
                    .await
                    .expect("start");
                racers.push(key);
            }
            let number = match policy {
                ConflictPolicy::RejectNew => "573005550001",
                ConflictPolicy::NewestWins => "573005550002",
            };
            let mut tasks = Vec::new();
            for key in racers {
                let registry = registry.clone();
                tasks.push(tokio::spawn(async move {
                    registry
                        .complete_pairing(&key, "own", &phone(number), policy)
                        .await
                }));
            }
            let mut paired = 0;
            let mut displaced = 0;
            for task in tasks {
                match task.await.expect("task").expect("complete") {
                    PairingOutcome::Paired { displaced: d, .. } => {
                        paired += 1;
                        displaced += d.len();
                    }
                    PairingOutcome::Rejected { holders } => assert_eq!(holders.len(), 1),
                }
            }
            match policy {
                ConflictPolicy::RejectNew => assert_eq!(paired, 1, "{}", db.name),
                // Each newcomer displaces the one before it: all pair, in turn.
                ConflictPolicy::NewestWins => {
                    assert_eq!(paired, 32);
                    assert_eq!(displaced, 31);
                }
            }
            let holders = registry
                .connections(Some(Status::Connected), None, u32::MAX)
                .await
                .expect("rows")
                .into_iter()
                .filter(|row| row.phone_number.as_deref() == Some(number))
                .count();
            assert_eq!(holders, 1, "{} {policy:?}", db.name);
        }
        assert_invariants(&registry, db.name).await;
        registry.close().await;
        db.finish().await;
    }
}

const RACE_URL: &str = "WASESS_RACE_URL";
const RACE_INDEX: &str = "WASESS_RACE_INDEX";
const RACE_AT: &str = "WASESS_RACE_AT";

/// 4 OS processes race to connect one user and to pair one number (reject-new).
#[tokio::test]
async fn racing_processes_have_exactly_one_winner() {
    for db in TestDb::all().await {
        let registry = db.open("parent", clock()).await;
        with_user(&registry, "race@example.com").await;
        for i in 0..4 {
            with_user(&registry, &format!("proc-{i}@example.com")).await;
        }
        let go = Timestamp(chrono_now_millis() + 1500);
        let children: Vec<_> = (0..4)
            .map(|i| {
                std::process::Command::new(std::env::current_exe().expect("test binary"))
                    .args([
                        "--exact",
                        "registry::race_child",
                        "--ignored",
                        "--nocapture",
                    ])
                    .env(RACE_URL, &db.url)
                    .env(RACE_INDEX, i.to_string())
                    .env(RACE_AT, go.millis().to_string())
                    .stdout(std::process::Stdio::piped())
                    .spawn()
                    .expect("spawn child")
            })
            .collect();
        let mut lock_winners = 0;
        let mut pair_winners = 0;
        for child in children {
            let output = child.wait_with_output().expect("child");
            let stdout = String::from_utf8_lossy(&output.stdout);
            let line = stdout
                .lines()
                .find(|l| l.starts_with("RACE "))
                .unwrap_or_else(|| panic!("child printed no result: {stdout}"));
            lock_winners += usize::from(line.contains("lock=won"));
            pair_winners += usize::from(line.contains("pair=paired"));
            assert!(
                line.contains("lock=won") || line.contains("lock=refused"),
                "{line}"
            );
        }
        assert_eq!((lock_winners, pair_winners), (1, 1), "{}", db.name);
        assert_invariants(&registry, db.name).await;
        registry.close().await;
        db.finish().await;
    }
}

fn chrono_now_millis() -> i64 {
    use wasess::time::Clock;
    wasess::time::SystemClock.now().millis()
}

/// The child half of `racing_processes_have_exactly_one_winner`; does nothing on its own.
#[tokio::test]
#[ignore = "run by racing_processes_have_exactly_one_winner in child processes"]
async fn race_child() {
    let (Ok(url), Ok(index), Ok(at)) = (
        std::env::var(RACE_URL),
        std::env::var(RACE_INDEX),
        std::env::var(RACE_AT),
    ) else {
        return;
    };
    let registry = Registry::open(&url, &format!("proc-{index}"))
        .await
        .expect("open");
    let own = user(&format!("proc-{index}@example.com"));
    let owner = format!("proc-{index}");
    registry
        .start_connect(&own, &owner, None)
        .await
        .expect("own start");
    let go = Timestamp(at.parse().expect("instant"));
    tokio::time::sleep(Timestamp(chrono_now_millis()).until(go)).await;

    let lock = match registry
        .start_connect(&user("race@example.com"), &owner, None)
        .await
    {
        Ok(_) => "won".to_string(),
        Err(Error::Refused(verdict)) => format!("refused:{}", verdict.reason_code.as_str()),
        Err(other) => format!("error:{other}"),
    };
    let pair = match registry
        .complete_pairing(
            &own,
            &owner,
            &phone("573007770000"),
            ConflictPolicy::RejectNew,
        )
        .await
    {
        Ok(PairingOutcome::Paired { .. }) => "paired".to_string(),
        Ok(PairingOutcome::Rejected { .. }) => "rejected".to_string(),
        Err(other) => format!("error:{other}"),
    };
    println!("RACE lock={lock} pair={pair}");
}

#[tokio::test]
async fn old_events_are_pruned_once_every_webhook_has_them() {
    on_every_db!(|db, registry, clock| {
        let alice = with_user(&registry, "alice@example.com").await;
        // A webhook endpoint that has read nothing yet holds every later event back.
        let cursor = registry
            .webhook_lease("app", Duration::from_secs(30))
            .await
            .expect("lease")
            .expect("claimed");
        pair(&registry, &alice, "573001234567").await;
        clock.advance(registry.settings().event_retention + Duration::from_secs(1));
        let held = registry
            .cleanup(&CleanupScope::default(), false)
            .await
            .expect("cleanup");
        assert_eq!(
            held.pruned_events, 1,
            "{}: only what the endpoint has read",
            db.name
        );
        let last = registry.last_event_id().await.expect("last");
        assert!(last > cursor);
        registry
            .webhook_settle("app", last, &[])
            .await
            .expect("advance");
        let newest = registry.last_event_id().await.expect("last id");
        let pruned = registry
            .cleanup(&CleanupScope::default(), false)
            .await
            .expect("cleanup");
        assert_eq!(pruned.pruned_events, 3, "{pruned:?}");
        assert!(registry
            .events_after(0, None, 100)
            .await
            .expect("events")
            .is_empty());
        // The watermark names the newest pruned event, for resuming consumers.
        assert_eq!(
            registry.events_pruned_through().await.expect("watermark"),
            newest,
            "{}",
            db.name
        );
    });
}

#[tokio::test]
async fn cleanup_prunes_nodes_and_webhook_cursors_long_gone_and_keeps_the_rest() {
    for db in TestDb::all().await {
        let clock = clock();
        let here = db.open("node-1", clock.clone()).await;
        let mut others = Vec::new();
        for (node, pid) in [("gone", 2), ("gone-owner", 3), ("recent", 4)] {
            let registry = db.open(node, clock.clone()).await;
            let holder = NodeHolder {
                host: "test-host".into(),
                pid,
                instance: format!("instance-{pid}"),
            };
            registry
                .register_node("test", &holder, |_| true)
                .await
                .expect("register");
            others.push(registry);
        }
        // `gone-owner` still owns a session: its row stays until the session moves on.
        let owned = with_user(&others[1], "owned@example.com").await;
        pair(&others[1], &owned, "573001000009").await;
        let week_ago = "(SELECT MAX(last_seen) FROM nodes) - 8 * 86400000";
        db.raw(&format!(
            "UPDATE nodes SET last_seen = {week_ago}, lease_until = 0 \
             WHERE node_id IN ('gone', 'gone-owner')"
        ))
        .await
        .expect("age the nodes");

        // Two endpoints nobody delivered to for a week; `kept` is still configured here.
        for endpoint in ["removed", "kept", "fresh"] {
            here.webhook_lease(endpoint, Duration::from_secs(60))
                .await
                .expect("lease");
        }
        clock.advance(Duration::from_secs(8 * 86_400));
        here.webhook_lease("fresh", Duration::from_secs(60))
            .await
            .expect("renew");

        let scope = CleanupScope {
            webhook_endpoints: Some(HashSet::from(["kept".to_string()])),
            ..CleanupScope::default()
        };
        let preview = here.cleanup(&scope, true).await.expect("dry run");
        assert_eq!(
            (preview.pruned_nodes, preview.pruned_webhook_cursors),
            (1, 1),
            "{}",
            db.name
        );
        let done = here.cleanup(&scope, false).await.expect("cleanup");
        assert_eq!(
            (done.pruned_nodes, done.pruned_webhook_cursors),
            (1, 1),
            "{}",
            db.name
        );
        let nodes: Vec<String> = here
            .nodes()
            .await
            .expect("nodes")
            .into_iter()
            .map(|node| node.node_id)
            .collect();
        assert_eq!(nodes, ["gone-owner", "recent"], "{}", db.name);
        // A pruned cursor is gone: nobody holds it any more.
        for (endpoint, held) in [("removed", false), ("kept", true), ("fresh", true)] {
            let status = here
                .webhook_status(endpoint, "http://127.0.0.1/")
                .await
                .expect("status");
            assert_eq!(status.node_id.is_some(), held, "{}: {endpoint}", db.name);
        }
        // Offline (endpoints unknown), no cursor is pruned.
        let offline = here
            .cleanup(&CleanupScope::default(), true)
            .await
            .expect("offline");
        assert_eq!(offline.pruned_webhook_cursors, 0, "{}", db.name);
        db.finish().await;
    }
}

#[tokio::test]
async fn reconcile_reads_only_other_nodes_state_changes() {
    for db in TestDb::all().await {
        let clock = clock();
        let here = db.open("node-1", clock.clone()).await;
        let there = db.open("node-2", clock.clone()).await;
        let start = here.last_event_id().await.expect("last id");
        let mine = with_user(&here, "mine@example.com").await;
        pair(&here, &mine, "573001000021").await;
        let theirs = with_user(&there, "theirs@example.com").await;
        pair(&there, &theirs, "573001000022").await;
        let row = there.connection(&theirs).await.expect("row");
        // A message is no state change: it never makes a node look at a session again.
        there
            .record_session_event(
                wasess::model::EventKind::Message,
                &theirs,
                row.epoch,
                "message received",
                serde_json::json!({ "text": "hola" }),
            )
            .await
            .expect("message");
        let newest = here.last_event_id().await.expect("last id");

        let (users, next, more) = here.changed_by_others(start, 1000).await.expect("read");
        assert_eq!(users, ["theirs@example.com"], "{}", db.name);
        assert_eq!((next, more), (newest, false), "{}", db.name);
        let (users, next, more) = there.changed_by_others(start, 1000).await.expect("read");
        assert_eq!(users, ["mine@example.com"], "{}", db.name);
        assert_eq!((next, more), (newest, false), "{}", db.name);

        // A full batch stops at its last event and says more wait.
        let (users, next, more) = here.changed_by_others(start, 1).await.expect("read");
        assert_eq!(users.len(), 1, "{}", db.name);
        assert!(more && next > start && next < newest, "{}", db.name);
        let (_, again, _) = here.changed_by_others(newest, 10).await.expect("read");
        assert_eq!(again, newest, "{}", db.name);
        db.finish().await;
    }
}

#[tokio::test]
async fn two_daemons_with_one_host_and_pid_still_tell_each_other_apart() {
    for db in TestDb::all().await {
        let clock = clock();
        // Two containers: same host name, both pid 1, one node id.
        let first = db.open("node-x", clock.clone()).await;
        let second = db.open("node-x", clock.clone()).await;
        let holder = |instance: &str| NodeHolder {
            host: "shared-host".into(),
            pid: 1,
            instance: instance.into(),
        };
        first
            .register_node("test", &holder("a"), |_| true)
            .await
            .expect("first");
        let refused = second.register_node("test", &holder("b"), |_| true).await;
        assert!(
            matches!(refused, Err(Error::NodeTaken { ref host, pid: 1, .. }) if host == "shared-host"),
            "{}: {refused:?}",
            db.name
        );
        // Only the holder renews the lease.
        first
            .renew_lease(&holder("a"), NodeState::Live, false)
            .await
            .expect("renew");
        let stolen = second
            .renew_lease(&holder("b"), NodeState::Live, false)
            .await;
        assert!(
            matches!(stolen, Err(Error::NodeTaken { .. })),
            "{}",
            db.name
        );
        db.finish().await;
    }
}

#[tokio::test]
async fn an_attempt_whose_lock_expired_cannot_complete_its_pairing() {
    on_every_db!(|db, registry, clock| {
        let alice = with_user(&registry, "late@example.com").await;
        registry
            .start_connect(&alice, "slow-attempt", None)
            .await
            .expect("start");
        clock.advance(Settings::default().lock_ttl + Duration::from_secs(1));
        let late = registry
            .complete_pairing(
                &alice,
                "slow-attempt",
                &phone("573001000031"),
                ConflictPolicy::NewestWins,
            )
            .await;
        assert!(
            matches!(late, Err(Error::LockLost(_))),
            "{}: {late:?}",
            db.name
        );
        let row = registry.connection(&alice).await.expect("row");
        assert_ne!(row.status, Status::Connected, "{}", db.name);
    });
}

/// A write whose caller gives up at any point (a timeout, a client that went away) leaves the
/// registry writable: what it started lands whole or not at all, and later writes go through.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn writes_given_up_at_any_point_leave_the_registry_writable() {
    on_every_db!(|db, registry, _clock| {
        let mut landed = 0;
        for i in 0..300u64 {
            let key = user(&format!("impatient{i}@example.com"));
            let patience = Duration::from_micros(i * 10);
            if let Ok(added) = tokio::time::timeout(patience, registry.add_user(&key)).await {
                added.expect("a write that was waited for succeeds");
                landed += 1;
            }
        }
        let after = user("after@example.com");
        registry.add_user(&after).await.unwrap_or_else(|error| {
            panic!("{}: a write after the cancellations: {error}", db.name)
        });
        let users = registry.users(u32::MAX).await.expect("users");
        assert!(
            users.iter().any(|u| u.user == after.as_str()),
            "{}",
            db.name
        );
        assert!(
            users.len() > landed,
            "{}: every write that returned is there ({} of {landed})",
            db.name,
            users.len()
        );
        assert_invariants(&registry, db.name).await;
    });
}

/// Starts and codes that arrive together (on SQLite they share a transaction) each get the
/// outcome they would get alone, and a refused one changes nothing.
#[tokio::test]
async fn starts_and_codes_that_arrive_together_each_get_their_own_outcome() {
    on_every_db!(|db, registry, _clock| {
        let connected = with_user(&registry, "connected@example.com").await;
        pair(&registry, &connected, "573001234567").await;
        let locked = with_user(&registry, "locked@example.com").await;
        registry.acquire_lock(&locked, "other").await.expect("lock");
        let unknown = user("unknown@example.com");
        let mut free = Vec::new();
        for i in 0..20 {
            free.push(with_user(&registry, &format!("free-{i}@example.com")).await);
        }

        let start = |key: &UserKey| {
            let (registry, key) = (registry.clone(), key.clone());
            tokio::spawn(async move { registry.start_connect(&key, "together", None).await })
        };
        let refused = [start(&connected), start(&locked), start(&unknown)];
        let started: Vec<_> = free.iter().map(start).collect();
        let mut reasons = Vec::new();
        for attempt in refused {
            reasons.push(refusal(attempt.await.expect("task")));
        }
        assert_eq!(
            reasons,
            [
                ReasonCode::AlreadyConnected,
                ReasonCode::ConnectInProgress,
                ReasonCode::UnknownUser
            ],
            "{}",
            db.name
        );
        for attempt in started {
            let row = attempt.await.expect("task").expect("started");
            assert_eq!(row.status, Status::PendingQr);
        }
        assert_eq!(
            registry.connection(&connected).await.expect("row").status,
            Status::Connected
        );
        assert!(matches!(
            registry.acquire_lock(&locked, "third").await.expect("lock"),
            LockOutcome::Held { owner, .. } if owner == "other"
        ));

        let show = |key: &UserKey, owner: &str| {
            let (registry, key, owner) = (registry.clone(), key.clone(), owner.to_string());
            tokio::spawn(async move {
                let valid_for = Duration::from_secs(20);
                registry
                    .record_qr(&key, &owner, "2@code", valid_for, false)
                    .await
            })
        };
        let lost = show(&free[0], "someone-else");
        let gone = show(&unknown, "together");
        let shown: Vec<_> = free[1..].iter().map(|key| show(key, "together")).collect();
        assert!(matches!(lost.await.expect("task"), Err(Error::LockLost(_))));
        assert!(matches!(
            gone.await.expect("task"),
            Err(Error::UnknownUser(_))
        ));
        for code in shown {
            let row = code.await.expect("task").expect("recorded");
            assert!(row.qr_issued_at.is_some(), "{}", db.name);
        }
        let first = registry.connection(&free[0]).await.expect("row");
        assert_eq!(first.qr_issued_at, None, "{}", db.name);
    });
}

/// A start whose caller goes away while it waits for the database leaves no lock and no
/// pending QR behind.
#[tokio::test]
async fn a_start_whose_caller_goes_away_leaves_no_lock_or_pending_qr() {
    on_every_db!(|db, registry, _clock| {
        let alice = with_user(&registry, "alice@example.com").await;
        let caller = tokio::spawn({
            let (registry, alice) = (registry.clone(), alice.clone());
            async move { registry.start_connect(&alice, "gone", None).await }
        });
        // The caller queues its start (or opens its transaction), then goes away.
        tokio::task::yield_now().await;
        caller.abort();
        assert!(caller.await.is_err_and(|error| error.is_cancelled()));

        let mut settled = false;
        for _ in 0..100 {
            let row = registry.connection(&alice).await.expect("row");
            let lock = registry.acquire_lock(&alice, "next").await.expect("lock");
            if row.status != Status::PendingQr && matches!(lock, LockOutcome::Acquired { .. }) {
                settled = true;
                break;
            }
            if matches!(lock, LockOutcome::Acquired { .. }) {
                registry
                    .release_lock(&alice, "next")
                    .await
                    .expect("release");
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        assert!(settled, "{}: the abandoned start was undone", db.name);
    });
}

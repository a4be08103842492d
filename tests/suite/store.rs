//! The registry's credential store conforms to whatsapp-rust's own SQLite store: one sequence
//! of store operations runs on the registry store (SQLite, and PostgreSQL when configured) and
//! on the library's store, and every answer matches. Then a stale owner's write is refused.

use std::sync::Arc;

use wasess::registry::UserKey;
use whatsapp_rust::bytes::Bytes;
use whatsapp_rust::store::SqliteStore;
use whatsapp_rust::wacore::appstate::hash::HashState;
use whatsapp_rust::wacore::appstate::processor::AppStateMutationMAC;
use whatsapp_rust::wacore::store::traits::{
    AppStateSyncKey, AppSyncStore, DeviceInfo, DeviceListRecord, DeviceStore, LidPnMappingEntry,
    ProtocolStore, SignalStore, TcTokenEntry,
};
use whatsapp_rust::wacore::store::Device;

use crate::support::databases::{clock, TestDb};

const ALICE: &str = "5730011";
const BOB: &str = "5730022";

/// A Signal address: `user@server` for the primary device, `user:device@server` for others.
fn address(user: &str, device: u32) -> String {
    match device {
        0 => format!("{user}@s.whatsapp.net"),
        device => format!("{user}:{device}@s.whatsapp.net"),
    }
}

/// Everything the sequence read back, one line per answer.
#[derive(Default)]
struct Answers(Vec<String>);

impl Answers {
    fn say(&mut self, what: &str, answer: impl std::fmt::Debug) {
        self.0.push(format!("{what}: {answer:?}"));
    }
}

trait Store: SignalStore + AppSyncStore + ProtocolStore + DeviceStore {}
impl<T: SignalStore + AppSyncStore + ProtocolStore + DeviceStore> Store for T {}

async fn signal_sequence(store: &dyn Store, say: &mut Answers) {
    let (alice, bob) = (address(ALICE, 0), address(BOB, 1));
    store.put_identity(&alice, [1; 32]).await.expect("put");
    store
        .put_identities_batch(&[(Arc::from(bob.as_str()), [2; 32])])
        .await
        .expect("batch");
    say.say("identity alice", store.load_identity(&alice).await.ok());
    say.say("identity bob", store.load_identity(&bob).await.ok());
    store.put_identity(&alice, [3; 32]).await.expect("replace");
    say.say("identity replaced", store.load_identity(&alice).await.ok());
    store.delete_identity(&bob).await.expect("delete");
    say.say("identity deleted", store.load_identity(&bob).await.ok());

    store.put_session(&alice, b"session-a").await.expect("put");
    store
        .put_sessions_batch(&[(Arc::from(bob.as_str()), Bytes::from_static(b"session-b"))])
        .await
        .expect("batch");
    say.say("session", store.get_session(&alice).await.ok());
    say.say("has session", store.has_session(&bob).await.ok());
    store.delete_session(&bob).await.expect("delete");
    say.say("has deleted", store.has_session(&bob).await.ok());
    say.say(
        "state alice",
        store.has_signal_state_for_user(ALICE).await.ok(),
    );
    say.say(
        "state nobody",
        store.has_signal_state_for_user("999").await.ok(),
    );

    store.store_prekey(1, b"one", false).await.expect("prekey");
    store
        .store_prekeys_batch(
            &[
                (2, Bytes::from_static(b"two")),
                (3, Bytes::from_static(b"three")),
            ],
            true,
        )
        .await
        .expect("batch");
    say.say("prekey 2", store.load_prekey(2).await.ok());
    let mut batch = store.load_prekeys_batch(&[1, 2, 9]).await.expect("load");
    batch.sort_by_key(|(id, _)| *id);
    say.say("prekeys", batch);
    // A batch replaces what it names, and the last record of an id in it wins.
    store
        .store_prekeys_batch(
            &[
                (4, Bytes::from_static(b"four")),
                (2, Bytes::from_static(b"two again")),
                (4, Bytes::from_static(b"four again")),
            ],
            false,
        )
        .await
        .expect("batch again");
    say.say("prekey 2 replaced", store.load_prekey(2).await.ok());
    say.say(
        "prekey 4, the last of the batch",
        store.load_prekey(4).await.ok(),
    );
    store.mark_prekeys_uploaded(&[1, 4]).await.expect("mark");
    say.say("max prekey", store.get_max_prekey_id().await.ok());
    store.remove_prekey(3).await.expect("remove");
    say.say("removed prekey", store.load_prekey(3).await.ok());
    say.say("max after removal", store.get_max_prekey_id().await.ok());

    store.store_signed_prekey(5, b"five").await.expect("signed");
    store.store_signed_prekey(6, b"six").await.expect("signed");
    say.say("signed 5", store.load_signed_prekey(5).await.ok());
    store.remove_signed_prekey(5).await.expect("remove");
    let mut all = store.load_all_signed_prekeys().await.expect("all");
    all.sort_by_key(|(id, _)| *id);
    say.say("signed left", all);

    let group = format!("120363@g.us::{alice}");
    store
        .put_sender_key(&group, b"sk")
        .await
        .expect("sender key");
    say.say("sender key", store.get_sender_key(&group).await.ok());
    store.delete_sender_key(&group).await.expect("delete");
    say.say(
        "sender key deleted",
        store.get_sender_key(&group).await.ok(),
    );
}

async fn app_state_sequence(store: &dyn Store, say: &mut Answers) {
    let key = |byte: u8, timestamp: i64| AppStateSyncKey {
        key_data: vec![byte; 32],
        fingerprint: vec![byte],
        timestamp,
    };
    say.say("no sync key", store.get_sync_key(b"k1").await.ok());
    say.say("no latest", store.get_latest_sync_key_id().await.ok());
    store.set_sync_key(b"k1", key(1, 10)).await.expect("set");
    store.set_sync_key(b"k2", key(2, 20)).await.expect("set");
    say.say("sync key", store.get_sync_key(b"k1").await.ok());
    say.say("latest", store.get_latest_sync_key_id().await.ok());

    let fresh = store.get_version("regular").await.expect("version");
    say.say("fresh version", (fresh.version, fresh.hash));
    let state = HashState {
        version: 7,
        hash: [9; 128],
        ..HashState::default()
    };
    store.set_version("regular", state).await.expect("set");
    let stored = store.get_version("regular").await.expect("version");
    say.say("version", (stored.version, stored.hash));

    let macs = [
        AppStateMutationMAC {
            index_mac: vec![1; 32],
            value_mac: vec![11; 32],
        },
        AppStateMutationMAC {
            index_mac: vec![2; 32],
            value_mac: vec![22; 32],
        },
    ];
    store
        .put_mutation_macs("regular", 7, &macs)
        .await
        .expect("macs");
    say.say(
        "mac",
        store.get_mutation_mac("regular", &[1; 32]).await.ok(),
    );
    let mut found: Vec<_> = store
        .get_mutation_macs("regular", &[[1; 32], [3; 32]])
        .await
        .expect("macs")
        .into_iter()
        .collect();
    found.sort();
    say.say("macs", found);
    // A later batch replaces what it names, and the last MAC of an index in it wins.
    let mac = |index: u8, value: u8| AppStateMutationMAC {
        index_mac: vec![index; 32],
        value_mac: vec![value; 32],
    };
    store
        .put_mutation_macs("regular", 8, &[mac(2, 23), mac(4, 44), mac(2, 24)])
        .await
        .expect("macs again");
    say.say(
        "mac replaced, the last of the batch",
        store.get_mutation_mac("regular", &[2; 32]).await.ok(),
    );
    store
        .delete_mutation_macs("regular", &[vec![1; 32], vec![4; 32], vec![9; 32]])
        .await
        .expect("delete");
    say.say(
        "mac deleted",
        store.get_mutation_mac("regular", &[1; 32]).await.ok(),
    );
    say.say(
        "another deleted",
        store.get_mutation_mac("regular", &[4; 32]).await.ok(),
    );
    say.say(
        "mac kept",
        store.get_mutation_mac("regular", &[2; 32]).await.ok(),
    );
    store.clear_mutation_macs("regular").await.expect("clear");
    say.say(
        "macs cleared",
        store.get_mutation_mac("regular", &[2; 32]).await.ok(),
    );
}

async fn protocol_sequence(store: &dyn Store, say: &mut Answers) {
    let group = "120363@g.us";
    store
        .set_sender_key_status(group, &[("a:1@s.whatsapp.net", true), ("b:2@lid", false)])
        .await
        .expect("status");
    let mut devices = store.get_sender_key_devices(group).await.expect("devices");
    devices.sort();
    say.say("sender key devices", devices);
    store
        .delete_sender_key_device_rows(&["b:2@lid"])
        .await
        .expect("delete rows");
    say.say(
        "after delete",
        store.get_sender_key_devices(group).await.ok(),
    );
    store.clear_sender_key_devices(group).await.expect("clear");
    say.say("cleared", store.get_sender_key_devices(group).await.ok());

    let mapping = LidPnMappingEntry {
        lid: "100000012345678".into(),
        phone_number: ALICE.into(),
        created_at: 100,
        updated_at: 200,
        learning_source: "usync".into(),
    };
    store.put_lid_mapping(&mapping).await.expect("mapping");
    let show = |entry: Option<LidPnMappingEntry>| {
        entry.map(|e| (e.lid, e.phone_number, e.created_at, e.learning_source))
    };
    say.say(
        "lid",
        show(store.get_lid_mapping("100000012345678").await.expect("lid")),
    );
    say.say("pn", show(store.get_pn_mapping(ALICE).await.expect("pn")));
    say.say(
        "pn unknown",
        show(store.get_pn_mapping(BOB).await.expect("pn")),
    );
    say.say(
        "all mappings",
        store.get_all_lid_mappings().await.map(|all| all.len()).ok(),
    );

    let alice = address(ALICE, 0);
    store
        .save_base_key(&alice, "m1", b"base")
        .await
        .expect("base");
    say.say(
        "same base",
        store.has_same_base_key(&alice, "m1", b"base").await.ok(),
    );
    say.say(
        "other base",
        store.has_same_base_key(&alice, "m1", b"else").await.ok(),
    );
    store.delete_base_key(&alice, "m1").await.expect("delete");
    say.say(
        "deleted base",
        store.has_same_base_key(&alice, "m1", b"base").await.ok(),
    );

    let record = DeviceListRecord {
        user: ALICE.into(),
        devices: vec![
            DeviceInfo {
                device_id: 0,
                key_index: None,
                is_hosted: false,
            },
            DeviceInfo {
                device_id: 3,
                key_index: Some(2),
                is_hosted: false,
            },
        ],
        timestamp: 1234,
        phash: Some("2:abc".into()),
        raw_id: Some(77),
    };
    store.update_device_list(record).await.expect("devices");
    let devices = store.get_devices(ALICE).await.expect("devices").map(|r| {
        let ids: Vec<(u32, Option<u32>)> = r
            .devices
            .iter()
            .map(|d| (d.device_id, d.key_index))
            .collect();
        (r.user, ids, r.timestamp, r.phash, r.raw_id)
    });
    say.say("device list", devices);
    store.delete_devices(ALICE).await.expect("delete");
    say.say(
        "device list deleted",
        store.get_devices(ALICE).await.map(|r| r.is_some()).ok(),
    );

    store
        .put_group_metadata(group, b"meta")
        .await
        .expect("meta");
    say.say("group metadata", store.get_group_metadata(group).await.ok());
    store.delete_group_metadata(group).await.expect("delete");
    say.say(
        "group metadata deleted",
        store.get_group_metadata(group).await.ok(),
    );

    let token = TcTokenEntry {
        token: b"tok".to_vec(),
        token_timestamp: 1000,
        sender_timestamp: None,
    };
    store.put_tc_token(&alice, &token).await.expect("token");
    store
        .touch_tc_token_sender_timestamp(&alice, 1500)
        .await
        .expect("touch");
    let show_token =
        |t: Option<TcTokenEntry>| t.map(|t| (t.token, t.token_timestamp, t.sender_timestamp));
    say.say(
        "token",
        show_token(store.get_tc_token(&alice).await.expect("token")),
    );
    say.say("token jids", store.get_all_tc_token_jids().await.ok());
    say.say(
        "expired tokens",
        store.delete_expired_tc_tokens(2000, 2000).await.ok(),
    );
    say.say(
        "token expired",
        show_token(store.get_tc_token(&alice).await.expect("token")),
    );

    store
        .store_sent_message(&alice, "s1", b"payload")
        .await
        .expect("sent");
    say.say(
        "sent taken",
        store.take_sent_message(&alice, "s1").await.ok(),
    );
    say.say(
        "sent taken twice",
        store.take_sent_message(&alice, "s1").await.ok(),
    );

    store
        .store_pending_inbound(&alice, &alice, "p1", b"inbound")
        .await
        .expect("pending");
    say.say(
        "pending",
        store.get_pending_inbound(&alice, &alice, "p1").await.ok(),
    );
    store
        .delete_pending_inbound(&alice, &alice, "p1")
        .await
        .expect("delete");
    say.say(
        "pending deleted",
        store.get_pending_inbound(&alice, &alice, "p1").await.ok(),
    );
}

async fn device_sequence(store: &dyn Store, device: &Device, say: &mut Answers) {
    say.say("exists before", store.exists().await.ok());
    say.say("load before", store.load().await.map(|d| d.is_some()).ok());
    store.save(device).await.expect("save");
    say.say("exists after", store.exists().await.ok());
    let loaded = store.load().await.expect("load").expect("a device");
    say.say(
        "device",
        (
            loaded.registration_id,
            loaded.identity_key.public_key.serialize(),
            loaded.noise_key.public_key.serialize(),
            loaded.signed_pre_key_id,
            loaded.adv_secret_key,
        ),
    );
}

async fn run(store: &dyn Store, device: &Device) -> Vec<String> {
    let mut say = Answers::default();
    device_sequence(store, device, &mut say).await;
    signal_sequence(store, &mut say).await;
    app_state_sequence(store, &mut say).await;
    protocol_sequence(store, &mut say).await;
    say.0
}

#[tokio::test]
async fn the_registry_store_answers_as_the_librarys_own_sqlite_store() {
    let device = Device::new();
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("library.db");
    let library = SqliteStore::new(path.to_str().expect("utf-8"))
        .await
        .expect("the library's store");
    let expected = run(&library, &device).await;

    for db in TestDb::all().await {
        let registry = db.open("node-a", clock()).await;
        let user = UserKey::parse("alice@example.com").expect("user");
        registry.add_user(&user).await.expect("add");
        let row = registry
            .start_connect(&user, "node-a/1", None)
            .await
            .expect("owned row");
        let store = registry.session_store(&user, row.epoch);
        let answers = run(&store, &device).await;
        for (at, (got, want)) in answers.iter().zip(&expected).enumerate() {
            assert_eq!(got, want, "{}: answer {at} differs", db.name);
        }
        assert_eq!(answers.len(), expected.len(), "{}", db.name);

        // The row moves to another owner: the old session's writes are refused.
        let other = db.open("node-b", clock()).await;
        let moved = other
            .take_ownership(&user, row.epoch)
            .await
            .expect("take over")
            .expect("the row moves");
        let refused = store.put_identity(&address(ALICE, 0), [8; 32]).await;
        assert!(refused.is_err(), "{}: a stale write went through", db.name);
        assert!(store.is_fenced(), "{}", db.name);
        let kept = other.session_store(&user, moved.epoch);
        assert_eq!(
            kept.load_identity(&address(ALICE, 0)).await.ok(),
            Some(Some([3; 32])),
            "{}",
            db.name
        );
        db.finish().await;
    }
}

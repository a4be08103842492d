//! [`SessionStore`]: whatsapp-rust's store traits on the registry's tables, for one user's
//! session. It behaves as the library's own SQLite store does for one device (the
//! conformance test runs both), with two differences that are the point of it: the data sits
//! in the shared registry, and every write is fenced by the session's `(node, epoch)`.
//!
//! Opaque library types (the device, app-state keys and versions) are stored as their serde
//! JSON; the Signal records are the library's own bytes. Timestamps the store stamps itself are
//! the library's `now_secs()`, as in its SQLite store.

use std::collections::HashMap;
use std::sync::Arc;

use async_trait::async_trait;
use tokio::sync::watch;
use whatsapp_rust::bytes::Bytes;
use whatsapp_rust::wacore::appstate::hash::HashState;
use whatsapp_rust::wacore::appstate::processor::AppStateMutationMAC;
use whatsapp_rust::wacore::client_profile::ClientProfile;
use whatsapp_rust::wacore::store::device::DEVICE_PROPS;
use whatsapp_rust::wacore::store::error::{Result, StoreError};
use whatsapp_rust::wacore::store::traits::{
    AppStateSyncKey, AppSyncStore, DeviceListRecord, DeviceStore, LidPnMappingEntry,
    MsgSecretEntry, MsgSecretStore, PendingInboundKey, PendingInboundRow, ProtocolStore,
    SignalStore, TcTokenEntry,
};
use whatsapp_rust::wacore::store::Device;
use whatsapp_rust::wacore::time::now_secs;

use crate::registry::bulk::{self, hex};
use crate::registry::db::{args, Db, Dialect, Tx};
use crate::registry::{Error, Fence, Registry, UserKey};

/// The device number `create()` reports: one device per store, as the library's default.
const DEVICE_ID: i32 = 1;
/// The length of an app-state key; the library treats other lengths as absent.
const APP_STATE_KEY_LEN: usize = 32;

/// The refusal a stale session gets: the row has another owner or epoch now.
#[derive(Debug, thiserror::Error)]
#[error("{user}: this node no longer owns the session (fenced at epoch {epoch})")]
pub struct Fenced {
    user: String,
    epoch: i64,
}

/// One user's credentials as one session sees them.
pub struct SessionStore {
    db: Db,
    user: String,
    fence: Fence,
    fenced: watch::Sender<bool>,
}

impl std::fmt::Debug for SessionStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SessionStore")
            .field("user", &self.user)
            .field("fence", &self.fence)
            .finish()
    }
}

impl Registry {
    /// The credential store of `user`'s session at `epoch` on this node.
    pub fn session_store(&self, user: &UserKey, epoch: i64) -> SessionStore {
        SessionStore::new(self.db.clone(), user.as_str(), self.fence_at(epoch))
    }
}

fn db_err(error: Error) -> StoreError {
    StoreError::Database(Box::new(error))
}

fn json_err(error: serde_json::Error) -> StoreError {
    StoreError::Serialization(Box::new(error))
}

fn id(value: u32) -> i64 {
    i64::from(value)
}

fn flag(value: bool) -> i64 {
    i64::from(value)
}

/// `address` belongs to `user` (`user@server` or `user:device@server`).
fn address_of(address: &str, user: &str) -> bool {
    address
        .strip_prefix(user)
        .is_some_and(|rest| rest.starts_with('@') || rest.starts_with(':'))
}

fn decode_sync_key(data: &[u8]) -> Option<AppStateSyncKey> {
    serde_json::from_slice::<AppStateSyncKey>(data)
        .ok()
        .filter(|key| key.key_data.len() == APP_STATE_KEY_LEN)
}

impl SessionStore {
    pub(crate) fn new(db: Db, user: &str, fence: Fence) -> SessionStore {
        let (fenced, _) = watch::channel(false);
        SessionStore {
            db,
            user: user.to_string(),
            fence,
            fenced,
        }
    }

    pub fn user(&self) -> &str {
        &self.user
    }

    pub fn epoch(&self) -> i64 {
        self.fence.epoch
    }

    /// Becomes `true` at the first write the registry refused: the session must close.
    pub fn fenced(&self) -> watch::Receiver<bool> {
        self.fenced.subscribe()
    }

    pub fn is_fenced(&self) -> bool {
        *self.fenced.borrow()
    }

    /// A write transaction that holds the session's fence until it ends.
    async fn begin(&self) -> Result<Tx> {
        let mut tx = self.db.write().await.map_err(db_err)?;
        if !Registry::fence(&mut tx, &self.user, &self.fence)
            .await
            .map_err(db_err)?
        {
            self.fenced.send_replace(true);
            return Err(StoreError::Database(Box::new(Fenced {
                user: self.user.clone(),
                epoch: self.fence.epoch,
            })));
        }
        Ok(tx)
    }

    async fn commit(tx: Tx) -> Result<()> {
        tx.commit().await.map_err(db_err)
    }

    /// One fenced statement; returns the rows it changed.
    async fn write(
        &self,
        sql: impl Into<Dialect>,
        args: Vec<crate::registry::db::Arg>,
    ) -> Result<u64> {
        let mut tx = self.begin().await?;
        let changed = tx.execute_dialect(sql.into(), args).await.map_err(db_err)?;
        Self::commit(tx).await?;
        Ok(changed)
    }

    /// The same fenced statement for each bind list, in one transaction.
    async fn write_each(
        &self,
        sql: &'static str,
        rows: Vec<Vec<crate::registry::db::Arg>>,
    ) -> Result<u64> {
        if rows.is_empty() {
            return Ok(0);
        }
        let mut tx = self.begin().await?;
        let mut changed = 0;
        for args in rows {
            changed += tx.execute(sql, args).await.map_err(db_err)?;
        }
        Self::commit(tx).await?;
        Ok(changed)
    }

    async fn blob(&self, sql: &'static str, key: &str) -> Result<Option<Vec<u8>>> {
        let found: Option<(Vec<u8>,)> = self
            .db
            .fetch_optional(sql, args![self.user.as_str(), key])
            .await
            .map_err(db_err)?;
        Ok(found.map(|(blob,)| blob))
    }

    async fn exists(&self, sql: &'static str, args: Vec<crate::registry::db::Arg>) -> Result<bool> {
        let found: Option<(i64,)> = self.db.fetch_optional(sql, args).await.map_err(db_err)?;
        Ok(found.is_some())
    }
}

const PUT_IDENTITY: &str =
    "INSERT INTO wa_identities (user_key, address, key) VALUES ($1, $2, $3) \
     ON CONFLICT (user_key, address) DO UPDATE SET key = excluded.key";
const PUT_SESSION: &str =
    "INSERT INTO wa_sessions (user_key, address, record) VALUES ($1, $2, $3) \
     ON CONFLICT (user_key, address) DO UPDATE SET record = excluded.record";
const PUT_PREKEY: &str =
    "INSERT INTO wa_prekeys (user_key, id, key, uploaded) VALUES ($1, $2, $3, $4) \
     ON CONFLICT (user_key, id) DO UPDATE SET key = excluded.key, uploaded = excluded.uploaded";
/// The JSON array of an upsert batch: each item's `row`, in order, keeping only the last item
/// of each `key`, as writing them one after another would leave. (PostgreSQL also refuses one
/// statement that updates a row twice.)
fn last_of_each<'a, T, K: std::hash::Hash + Eq + ?Sized + 'a>(
    items: &'a [T],
    key: impl Fn(&'a T) -> &'a K,
    row: impl Fn(&T) -> serde_json::Value,
) -> String {
    let mut seen = std::collections::HashSet::new();
    let mut rows: Vec<serde_json::Value> = items
        .iter()
        .rev()
        .filter(|item| seen.insert(key(item)))
        .map(row)
        .collect();
    rows.reverse();
    serde_json::Value::from(rows).to_string()
}

/// Many pre-keys in one statement: `[id, hex record]` rows of the JSON array in `$3`, with
/// `uploaded` in `$2`. A device's first upload is 812 keys, and each statement of a write is
/// a turn on SQLite's one writer connection that every other writer waits behind: as one
/// statement the batch holds it for a moment, not for the pairing of the next user.
const PUT_PREKEYS: Dialect = Dialect {
    sqlite: "INSERT INTO wa_prekeys (user_key, id, key, uploaded) \
             SELECT $1, r.value ->> 0, unhex(r.value ->> 1), $2 FROM json_each($3) AS r \
             WHERE true ON CONFLICT (user_key, id) \
             DO UPDATE SET key = excluded.key, uploaded = excluded.uploaded",
    postgres: "INSERT INTO wa_prekeys (user_key, id, key, uploaded) \
               SELECT $1, (r.value ->> 0)::bigint, decode(r.value ->> 1, 'hex'), $2 \
               FROM json_array_elements($3::json) AS r(value) WHERE true \
               ON CONFLICT (user_key, id) \
               DO UPDATE SET key = excluded.key, uploaded = excluded.uploaded",
};
/// The pre-keys whose ids are in the JSON array in `$2`, marked uploaded in one statement.
const MARK_PREKEYS_UPLOADED: Dialect = Dialect {
    sqlite: "UPDATE wa_prekeys SET uploaded = 1 \
             WHERE user_key = $1 AND id IN (SELECT value FROM json_each($2))",
    postgres: "UPDATE wa_prekeys SET uploaded = 1 WHERE user_key = $1 \
               AND id IN (SELECT (json_array_elements_text($2::json))::bigint)",
};
const PUT_SENDER_KEY: &str =
    "INSERT INTO wa_sender_keys (user_key, address, record) VALUES ($1, $2, $3) \
     ON CONFLICT (user_key, address) DO UPDATE SET record = excluded.record";

#[async_trait]
impl SignalStore for SessionStore {
    async fn put_identity(&self, address: &str, key: [u8; 32]) -> Result<()> {
        self.write(PUT_IDENTITY, args![self.user.as_str(), address, &key[..]])
            .await
            .map(drop)
    }

    async fn put_identities_batch(&self, identities: &[(Arc<str>, [u8; 32])]) -> Result<()> {
        let rows = identities
            .iter()
            .map(|(address, key)| args![self.user.as_str(), address.as_ref(), &key[..]]);
        self.write_each(PUT_IDENTITY, rows.collect())
            .await
            .map(drop)
    }

    async fn load_identity(&self, address: &str) -> Result<Option<[u8; 32]>> {
        let Some(key) = self
            .blob(
                "SELECT key FROM wa_identities WHERE user_key = $1 AND address = $2",
                address,
            )
            .await?
        else {
            return Ok(None);
        };
        let length = key.len();
        key.try_into().map(Some).map_err(|_| {
            StoreError::Validation(format!(
                "identity key for '{address}' has invalid length {length} (expected 32)"
            ))
        })
    }

    async fn delete_identity(&self, address: &str) -> Result<()> {
        self.write(
            "DELETE FROM wa_identities WHERE user_key = $1 AND address = $2",
            args![self.user.as_str(), address],
        )
        .await
        .map(drop)
    }

    async fn get_session(&self, address: &str) -> Result<Option<Bytes>> {
        Ok(self
            .blob(
                "SELECT record FROM wa_sessions WHERE user_key = $1 AND address = $2",
                address,
            )
            .await?
            .map(Bytes::from))
    }

    async fn put_session(&self, address: &str, session: &[u8]) -> Result<()> {
        self.write(PUT_SESSION, args![self.user.as_str(), address, session])
            .await
            .map(drop)
    }

    async fn put_sessions_batch(&self, sessions: &[(Arc<str>, Bytes)]) -> Result<()> {
        let rows = sessions
            .iter()
            .map(|(address, record)| args![self.user.as_str(), address.as_ref(), &record[..]]);
        self.write_each(PUT_SESSION, rows.collect()).await.map(drop)
    }

    async fn delete_session(&self, address: &str) -> Result<()> {
        self.write(
            "DELETE FROM wa_sessions WHERE user_key = $1 AND address = $2",
            args![self.user.as_str(), address],
        )
        .await
        .map(drop)
    }

    async fn has_session(&self, address: &str) -> Result<bool> {
        self.exists(
            "SELECT CAST(1 AS BIGINT) FROM wa_sessions WHERE user_key = $1 AND address = $2",
            args![self.user.as_str(), address],
        )
        .await
    }

    async fn has_signal_state_for_user(&self, user: &str) -> Result<bool> {
        // Addresses are `user@server` or `user:device@server`: a prefix range finds the
        // candidates through the primary key, the exact test keeps `123` off `1234@…`.
        let mut upper = user.to_string();
        upper.push(char::MAX);
        for sql in [
            "SELECT address FROM wa_sessions WHERE user_key = $1 AND address >= $2 AND address < $3",
            "SELECT address FROM wa_identities WHERE user_key = $1 AND address >= $2 \
             AND address < $3",
        ] {
            let found: Vec<(String,)> = self
                .db
                .fetch_all(sql, args![self.user.as_str(), user, upper.as_str()])
                .await
                .map_err(db_err)?;
            if found.iter().any(|(address,)| address_of(address, user)) {
                return Ok(true);
            }
        }
        Ok(false)
    }

    async fn store_prekey(&self, prekey: u32, record: &[u8], uploaded: bool) -> Result<()> {
        self.write(
            PUT_PREKEY,
            args![self.user.as_str(), id(prekey), record, flag(uploaded)],
        )
        .await
        .map(drop)
    }

    async fn store_prekeys_batch(&self, keys: &[(u32, Bytes)], uploaded: bool) -> Result<()> {
        if keys.is_empty() {
            return Ok(());
        }
        let rows = last_of_each(
            keys,
            |(prekey, _)| prekey,
            |(prekey, record)| serde_json::json!([prekey, hex(record)]),
        );
        self.write(PUT_PREKEYS, args![self.user.as_str(), flag(uploaded), rows])
            .await
            .map(drop)
    }

    async fn load_prekey(&self, prekey: u32) -> Result<Option<Bytes>> {
        let found: Option<(Vec<u8>,)> = self
            .db
            .fetch_optional(
                "SELECT key FROM wa_prekeys WHERE user_key = $1 AND id = $2",
                args![self.user.as_str(), id(prekey)],
            )
            .await
            .map_err(db_err)?;
        Ok(found.map(|(key,)| Bytes::from(key)))
    }

    async fn load_prekeys_batch(&self, ids: &[u32]) -> Result<Vec<(u32, Bytes)>> {
        let mut found = Vec::with_capacity(ids.len());
        let mut seen = std::collections::HashSet::new();
        for &prekey in ids {
            if !seen.insert(prekey) {
                continue;
            }
            if let Some(key) = self.load_prekey(prekey).await? {
                found.push((prekey, key));
            }
        }
        Ok(found)
    }

    async fn mark_prekeys_uploaded(&self, ids: &[u32]) -> Result<()> {
        // An update only: a key consumed since the upload snapshot stays deleted.
        if ids.is_empty() {
            return Ok(());
        }
        let ids = serde_json::Value::from(ids.to_vec()).to_string();
        self.write(MARK_PREKEYS_UPLOADED, args![self.user.as_str(), ids])
            .await
            .map(drop)
    }

    async fn remove_prekey(&self, prekey: u32) -> Result<()> {
        self.write(
            "DELETE FROM wa_prekeys WHERE user_key = $1 AND id = $2",
            args![self.user.as_str(), id(prekey)],
        )
        .await
        .map(drop)
    }

    async fn get_max_prekey_id(&self) -> Result<u32> {
        let found: Option<(Option<i64>,)> = self
            .db
            .fetch_optional(
                "SELECT MAX(id) FROM wa_prekeys WHERE user_key = $1",
                args![self.user.as_str()],
            )
            .await
            .map_err(db_err)?;
        Ok(found.and_then(|(max,)| max).unwrap_or(0) as u32)
    }

    async fn store_signed_prekey(&self, prekey: u32, record: &[u8]) -> Result<()> {
        self.write(
            "INSERT INTO wa_signed_prekeys (user_key, id, record) VALUES ($1, $2, $3) \
             ON CONFLICT (user_key, id) DO UPDATE SET record = excluded.record",
            args![self.user.as_str(), id(prekey), record],
        )
        .await
        .map(drop)
    }

    async fn load_signed_prekey(&self, prekey: u32) -> Result<Option<Vec<u8>>> {
        let found: Option<(Vec<u8>,)> = self
            .db
            .fetch_optional(
                "SELECT record FROM wa_signed_prekeys WHERE user_key = $1 AND id = $2",
                args![self.user.as_str(), id(prekey)],
            )
            .await
            .map_err(db_err)?;
        Ok(found.map(|(record,)| record))
    }

    async fn load_all_signed_prekeys(&self) -> Result<Vec<(u32, Vec<u8>)>> {
        let found: Vec<(i64, Vec<u8>)> = self
            .db
            .fetch_all(
                "SELECT id, record FROM wa_signed_prekeys WHERE user_key = $1 ORDER BY id",
                args![self.user.as_str()],
            )
            .await
            .map_err(db_err)?;
        Ok(found
            .into_iter()
            .map(|(prekey, record)| (prekey as u32, record))
            .collect())
    }

    async fn remove_signed_prekey(&self, prekey: u32) -> Result<()> {
        self.write(
            "DELETE FROM wa_signed_prekeys WHERE user_key = $1 AND id = $2",
            args![self.user.as_str(), id(prekey)],
        )
        .await
        .map(drop)
    }

    async fn put_sender_key(&self, address: &str, record: &[u8]) -> Result<()> {
        self.write(PUT_SENDER_KEY, args![self.user.as_str(), address, record])
            .await
            .map(drop)
    }

    async fn put_sender_keys_batch(&self, sender_keys: &[(Arc<str>, Bytes)]) -> Result<()> {
        let rows = sender_keys
            .iter()
            .map(|(address, record)| args![self.user.as_str(), address.as_ref(), &record[..]]);
        self.write_each(PUT_SENDER_KEY, rows.collect())
            .await
            .map(drop)
    }

    async fn get_sender_key(&self, address: &str) -> Result<Option<Vec<u8>>> {
        self.blob(
            "SELECT record FROM wa_sender_keys WHERE user_key = $1 AND address = $2",
            address,
        )
        .await
    }

    async fn delete_sender_key(&self, address: &str) -> Result<()> {
        self.write(
            "DELETE FROM wa_sender_keys WHERE user_key = $1 AND address = $2",
            args![self.user.as_str(), address],
        )
        .await
        .map(drop)
    }
}

/// A collection's value MACs in one statement: `[hex index MAC, hex value MAC]` rows of the
/// JSON array in `$4` (an app-state sync may bring thousands; see [`PUT_PREKEYS`]).
const PUT_MUTATION_MACS: Dialect = Dialect {
    sqlite: "INSERT INTO wa_app_state_mutation_macs \
             (user_key, name, index_mac, version, value_mac) \
             SELECT $1, $2, unhex(r.value ->> 0), $3, unhex(r.value ->> 1) \
             FROM json_each($4) AS r WHERE true \
             ON CONFLICT (user_key, name, index_mac) DO UPDATE SET version = excluded.version, \
             value_mac = excluded.value_mac",
    postgres: "INSERT INTO wa_app_state_mutation_macs \
               (user_key, name, index_mac, version, value_mac) \
               SELECT $1, $2, decode(r.value ->> 0, 'hex'), $3, decode(r.value ->> 1, 'hex') \
               FROM json_array_elements($4::json) AS r(value) WHERE true \
               ON CONFLICT (user_key, name, index_mac) DO UPDATE SET version = excluded.version, \
               value_mac = excluded.value_mac",
};
/// The value MACs of a collection whose index MACs (hex) are in the JSON array in `$3`.
const DELETE_MUTATION_MACS: Dialect = Dialect {
    sqlite: "DELETE FROM wa_app_state_mutation_macs WHERE user_key = $1 AND name = $2 \
             AND index_mac IN (SELECT unhex(value) FROM json_each($3))",
    postgres: "DELETE FROM wa_app_state_mutation_macs WHERE user_key = $1 AND name = $2 \
               AND index_mac IN (SELECT decode(json_array_elements_text($3::json), 'hex'))",
};

#[async_trait]
impl AppSyncStore for SessionStore {
    async fn get_sync_key(&self, key_id: &[u8]) -> Result<Option<AppStateSyncKey>> {
        let found: Option<(Vec<u8>,)> = self
            .db
            .fetch_optional(
                "SELECT key_data FROM wa_app_state_keys WHERE user_key = $1 AND key_id = $2",
                args![self.user.as_str(), key_id],
            )
            .await
            .map_err(db_err)?;
        // Undecodable or malformed keys read as absent: the library asks the phone again.
        Ok(found.and_then(|(data,)| decode_sync_key(&data)))
    }

    async fn set_sync_key(&self, key_id: &[u8], key: AppStateSyncKey) -> Result<()> {
        let data = serde_json::to_vec(&key).map_err(json_err)?;
        self.write(
            "INSERT INTO wa_app_state_keys (user_key, key_id, key_data, seq) VALUES ($1, $2, $3, 0) \
             ON CONFLICT (user_key, key_id) DO UPDATE SET key_data = excluded.key_data",
            args![self.user.as_str(), key_id, data],
        )
        .await
        .map(drop)
    }

    async fn get_version(&self, name: &str) -> Result<HashState> {
        let found = self
            .blob(
                "SELECT state_data FROM wa_app_state_versions WHERE user_key = $1 AND name = $2",
                name,
            )
            .await?;
        // An undecodable state re-syncs the collection from version 0, as the library does.
        Ok(found
            .and_then(|data| serde_json::from_slice(&data).ok())
            .unwrap_or_default())
    }

    async fn set_version(&self, name: &str, state: HashState) -> Result<()> {
        let data = serde_json::to_vec(&state).map_err(json_err)?;
        self.write(
            "INSERT INTO wa_app_state_versions (user_key, name, state_data) VALUES ($1, $2, $3) \
             ON CONFLICT (user_key, name) DO UPDATE SET state_data = excluded.state_data",
            args![self.user.as_str(), name, data],
        )
        .await
        .map(drop)
    }

    async fn put_mutation_macs(
        &self,
        name: &str,
        version: u64,
        mutations: &[AppStateMutationMAC],
    ) -> Result<()> {
        if mutations.is_empty() {
            return Ok(());
        }
        let version = i64::try_from(version).unwrap_or(i64::MAX);
        let rows = last_of_each(
            mutations,
            |mutation| &mutation.index_mac,
            |mutation| serde_json::json!([hex(&mutation.index_mac), hex(&mutation.value_mac)]),
        );
        self.write(
            PUT_MUTATION_MACS,
            args![self.user.as_str(), name, version, rows],
        )
        .await
        .map(drop)
    }

    async fn get_mutation_mac(&self, name: &str, index_mac: &[u8]) -> Result<Option<Vec<u8>>> {
        let found: Option<(Vec<u8>,)> = self
            .db
            .fetch_optional(
                "SELECT value_mac FROM wa_app_state_mutation_macs WHERE user_key = $1 \
                 AND name = $2 AND index_mac = $3",
                args![self.user.as_str(), name, index_mac],
            )
            .await
            .map_err(db_err)?;
        Ok(found.map(|(mac,)| mac))
    }

    async fn get_mutation_macs(
        &self,
        name: &str,
        index_macs: &[[u8; 32]],
    ) -> Result<HashMap<[u8; 32], Vec<u8>>> {
        let mut found = HashMap::with_capacity(index_macs.len());
        for index_mac in index_macs {
            if let Some(mac) = self.get_mutation_mac(name, index_mac).await? {
                found.insert(*index_mac, mac);
            }
        }
        Ok(found)
    }

    async fn delete_mutation_macs(&self, name: &str, index_macs: &[Vec<u8>]) -> Result<()> {
        if index_macs.is_empty() {
            return Ok(());
        }
        let macs: Vec<String> = index_macs.iter().map(|mac| hex(mac)).collect();
        self.write(
            DELETE_MUTATION_MACS,
            args![self.user.as_str(), name, bulk::keys(&macs)],
        )
        .await
        .map(drop)
    }

    async fn clear_mutation_macs(&self, name: &str) -> Result<()> {
        self.write(
            "DELETE FROM wa_app_state_mutation_macs WHERE user_key = $1 AND name = $2",
            args![self.user.as_str(), name],
        )
        .await
        .map(drop)
    }

    async fn get_latest_sync_key_id(&self) -> Result<Option<Vec<u8>>> {
        // The greatest key id (as bytes) whose key is usable, as the library's store picks it.
        let found: Vec<(Vec<u8>, Vec<u8>)> = self
            .db
            .fetch_all(
                "SELECT key_id, key_data FROM wa_app_state_keys WHERE user_key = $1",
                args![self.user.as_str()],
            )
            .await
            .map_err(db_err)?;
        Ok(found
            .into_iter()
            .filter(|(_, data)| decode_sync_key(data).is_some())
            .map(|(key_id, _)| key_id)
            .max())
    }
}

const PUT_SENDER_KEY_STATUS: &str = "INSERT INTO wa_sender_key_devices \
     (user_key, group_jid, device_jid, has_key, updated_at) VALUES ($1, $2, $3, $4, $5) \
     ON CONFLICT (user_key, group_jid, device_jid) DO UPDATE SET has_key = excluded.has_key, \
     updated_at = excluded.updated_at";
const PUT_LID_MAPPING: &str = "INSERT INTO wa_lid_pn_mapping \
     (user_key, lid, phone_number, created_at, learning_source, updated_at) \
     VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (user_key, lid) DO UPDATE SET \
     phone_number = excluded.phone_number, learning_source = excluded.learning_source, \
     updated_at = excluded.updated_at";
const PUT_DEVICE_LIST: &str = "INSERT INTO wa_device_registry \
     (user_key, user_id, devices_json, timestamp, phash, raw_id, updated_at) \
     VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (user_key, user_id) DO UPDATE SET \
     devices_json = excluded.devices_json, timestamp = excluded.timestamp, \
     phash = excluded.phash, raw_id = excluded.raw_id, updated_at = excluded.updated_at";
const PUT_PENDING_INBOUND: &str = "INSERT INTO wa_pending_inbound \
     (user_key, chat, sender, id, message, inserted_at) VALUES ($1, $2, $3, $4, $5, $6) \
     ON CONFLICT (user_key, chat, sender, id) DO UPDATE SET message = excluded.message, \
     inserted_at = excluded.inserted_at";
const DELETE_PENDING_INBOUND: &str =
    "DELETE FROM wa_pending_inbound WHERE user_key = $1 AND chat = $2 AND sender = $3 AND id = $4";

#[derive(sqlx::FromRow)]
struct LidRow {
    lid: String,
    phone_number: String,
    created_at: i64,
    updated_at: i64,
    learning_source: String,
}

impl From<LidRow> for LidPnMappingEntry {
    fn from(row: LidRow) -> Self {
        LidPnMappingEntry {
            lid: row.lid,
            phone_number: row.phone_number,
            created_at: row.created_at,
            updated_at: row.updated_at,
            learning_source: row.learning_source,
        }
    }
}

macro_rules! lid_columns {
    () => {
        "lid, phone_number, created_at, updated_at, learning_source"
    };
}

fn device_list_args(
    user: &str,
    record: &DeviceListRecord,
    now: i64,
) -> Result<Vec<crate::registry::db::Arg>> {
    let devices = serde_json::to_string(&record.devices).map_err(json_err)?;
    Ok(args![
        user,
        record.user.as_str(),
        devices,
        record.timestamp,
        record.phash.clone(),
        record.raw_id.map(i64::from),
        now
    ])
}

#[async_trait]
impl ProtocolStore for SessionStore {
    async fn get_sender_key_devices(&self, group_jid: &str) -> Result<Vec<(String, bool)>> {
        let found: Vec<(String, i64)> = self
            .db
            .fetch_all(
                "SELECT device_jid, has_key FROM wa_sender_key_devices WHERE user_key = $1 \
                 AND group_jid = $2 ORDER BY device_jid",
                args![self.user.as_str(), group_jid],
            )
            .await
            .map_err(db_err)?;
        Ok(found
            .into_iter()
            .map(|(device, has_key)| (device, has_key != 0))
            .collect())
    }

    async fn set_sender_key_status(&self, group_jid: &str, entries: &[(&str, bool)]) -> Result<()> {
        let now = now_secs();
        let rows = entries.iter().map(|(device, has_key)| {
            args![self.user.as_str(), group_jid, *device, flag(*has_key), now]
        });
        self.write_each(PUT_SENDER_KEY_STATUS, rows.collect())
            .await
            .map(drop)
    }

    async fn clear_sender_key_devices(&self, group_jid: &str) -> Result<()> {
        self.write(
            "DELETE FROM wa_sender_key_devices WHERE user_key = $1 AND group_jid = $2",
            args![self.user.as_str(), group_jid],
        )
        .await
        .map(drop)
    }

    async fn delete_sender_key_device_rows(&self, device_jids: &[&str]) -> Result<()> {
        let rows = device_jids
            .iter()
            .map(|device| args![self.user.as_str(), *device]);
        self.write_each(
            "DELETE FROM wa_sender_key_devices WHERE user_key = $1 AND device_jid = $2",
            rows.collect(),
        )
        .await
        .map(drop)
    }

    async fn clear_all_sender_key_devices(&self) -> Result<()> {
        self.write(
            "DELETE FROM wa_sender_key_devices WHERE user_key = $1",
            args![self.user.as_str()],
        )
        .await
        .map(drop)
    }

    async fn get_lid_mapping(&self, lid: &str) -> Result<Option<LidPnMappingEntry>> {
        let found: Option<LidRow> = self
            .db
            .fetch_optional(
                concat!(
                    "SELECT ",
                    lid_columns!(),
                    " FROM wa_lid_pn_mapping WHERE user_key = $1 AND lid = $2"
                ),
                args![self.user.as_str(), lid],
            )
            .await
            .map_err(db_err)?;
        Ok(found.map(Into::into))
    }

    async fn get_pn_mapping(&self, phone: &str) -> Result<Option<LidPnMappingEntry>> {
        // The newest mapping; ties go to the greatest LID so both databases agree.
        let found: Option<LidRow> = self
            .db
            .fetch_optional(
                concat!(
                    "SELECT ",
                    lid_columns!(),
                    " FROM wa_lid_pn_mapping WHERE user_key = $1 AND phone_number = $2 \
                     ORDER BY updated_at DESC, lid DESC LIMIT 1"
                ),
                args![self.user.as_str(), phone],
            )
            .await
            .map_err(db_err)?;
        Ok(found.map(Into::into))
    }

    async fn put_lid_mapping(&self, entry: &LidPnMappingEntry) -> Result<()> {
        self.put_lid_mappings(std::slice::from_ref(entry)).await
    }

    async fn put_lid_mappings(&self, entries: &[LidPnMappingEntry]) -> Result<()> {
        let rows = entries.iter().map(|entry| {
            args![
                self.user.as_str(),
                entry.lid.as_str(),
                entry.phone_number.as_str(),
                entry.created_at,
                entry.learning_source.as_str(),
                entry.updated_at
            ]
        });
        self.write_each(PUT_LID_MAPPING, rows.collect())
            .await
            .map(drop)
    }

    async fn get_all_lid_mappings(&self) -> Result<Vec<LidPnMappingEntry>> {
        let found: Vec<LidRow> = self
            .db
            .fetch_all(
                concat!(
                    "SELECT ",
                    lid_columns!(),
                    " FROM wa_lid_pn_mapping WHERE user_key = $1 ORDER BY lid"
                ),
                args![self.user.as_str()],
            )
            .await
            .map_err(db_err)?;
        Ok(found.into_iter().map(Into::into).collect())
    }

    async fn save_base_key(&self, address: &str, message_id: &str, base_key: &[u8]) -> Result<()> {
        self.write(
            "INSERT INTO wa_base_keys (user_key, address, message_id, base_key, created_at) \
             VALUES ($1, $2, $3, $4, $5) ON CONFLICT (user_key, address, message_id) \
             DO UPDATE SET base_key = excluded.base_key",
            args![
                self.user.as_str(),
                address,
                message_id,
                base_key,
                now_secs()
            ],
        )
        .await
        .map(drop)
    }

    async fn has_same_base_key(
        &self,
        address: &str,
        message_id: &str,
        current_base_key: &[u8],
    ) -> Result<bool> {
        let found: Option<(Vec<u8>,)> = self
            .db
            .fetch_optional(
                "SELECT base_key FROM wa_base_keys WHERE user_key = $1 AND address = $2 \
                 AND message_id = $3",
                args![self.user.as_str(), address, message_id],
            )
            .await
            .map_err(db_err)?;
        Ok(found.is_some_and(|(stored,)| stored == current_base_key))
    }

    async fn delete_base_key(&self, address: &str, message_id: &str) -> Result<()> {
        self.write(
            "DELETE FROM wa_base_keys WHERE user_key = $1 AND address = $2 AND message_id = $3",
            args![self.user.as_str(), address, message_id],
        )
        .await
        .map(drop)
    }

    async fn update_device_list(&self, record: DeviceListRecord) -> Result<()> {
        self.update_device_lists(vec![record]).await
    }

    async fn update_device_lists(&self, records: Vec<DeviceListRecord>) -> Result<()> {
        let now = now_secs();
        // Serialise everything first: a bad record writes nothing.
        let rows = records
            .iter()
            .map(|record| device_list_args(&self.user, record, now))
            .collect::<Result<Vec<_>>>()?;
        self.write_each(PUT_DEVICE_LIST, rows).await.map(drop)
    }

    async fn get_devices(&self, user: &str) -> Result<Option<DeviceListRecord>> {
        let found: Option<(String, i64, Option<String>, Option<i64>)> = self
            .db
            .fetch_optional(
                "SELECT devices_json, timestamp, phash, raw_id FROM wa_device_registry \
                 WHERE user_key = $1 AND user_id = $2",
                args![self.user.as_str(), user],
            )
            .await
            .map_err(db_err)?;
        let Some((devices, timestamp, phash, raw_id)) = found else {
            return Ok(None);
        };
        Ok(Some(DeviceListRecord {
            user: user.to_string(),
            devices: serde_json::from_str(&devices).map_err(json_err)?,
            timestamp,
            phash,
            raw_id: raw_id.map(|raw| raw as u32),
        }))
    }

    async fn delete_devices(&self, user: &str) -> Result<()> {
        self.write(
            "DELETE FROM wa_device_registry WHERE user_key = $1 AND user_id = $2",
            args![self.user.as_str(), user],
        )
        .await
        .map(drop)
    }

    async fn get_group_metadata(&self, group_jid: &str) -> Result<Option<Vec<u8>>> {
        self.blob(
            "SELECT info FROM wa_group_metadata WHERE user_key = $1 AND group_jid = $2",
            group_jid,
        )
        .await
    }

    async fn put_group_metadata(&self, group_jid: &str, blob: &[u8]) -> Result<()> {
        self.write(
            "INSERT INTO wa_group_metadata (user_key, group_jid, info, updated_at) \
             VALUES ($1, $2, $3, $4) ON CONFLICT (user_key, group_jid) DO UPDATE SET \
             info = excluded.info, updated_at = excluded.updated_at",
            args![self.user.as_str(), group_jid, blob, now_secs()],
        )
        .await
        .map(drop)
    }

    async fn delete_group_metadata(&self, group_jid: &str) -> Result<()> {
        self.write(
            "DELETE FROM wa_group_metadata WHERE user_key = $1 AND group_jid = $2",
            args![self.user.as_str(), group_jid],
        )
        .await
        .map(drop)
    }

    async fn get_tc_token(&self, jid: &str) -> Result<Option<TcTokenEntry>> {
        let found: Option<(Vec<u8>, i64, Option<i64>)> = self
            .db
            .fetch_optional(
                "SELECT token, token_timestamp, sender_timestamp FROM wa_tc_tokens \
                 WHERE user_key = $1 AND jid = $2",
                args![self.user.as_str(), jid],
            )
            .await
            .map_err(db_err)?;
        Ok(
            found.map(|(token, token_timestamp, sender_timestamp)| TcTokenEntry {
                token,
                token_timestamp,
                sender_timestamp,
            }),
        )
    }

    async fn put_tc_token(&self, jid: &str, entry: &TcTokenEntry) -> Result<()> {
        self.write(
            "INSERT INTO wa_tc_tokens \
             (user_key, jid, token, token_timestamp, sender_timestamp, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (user_key, jid) DO UPDATE SET \
             token = excluded.token, token_timestamp = excluded.token_timestamp, \
             sender_timestamp = excluded.sender_timestamp, updated_at = excluded.updated_at",
            args![
                self.user.as_str(),
                jid,
                &entry.token[..],
                entry.token_timestamp,
                entry.sender_timestamp,
                now_secs()
            ],
        )
        .await
        .map(drop)
    }

    async fn delete_tc_token(&self, jid: &str) -> Result<()> {
        self.write(
            "DELETE FROM wa_tc_tokens WHERE user_key = $1 AND jid = $2",
            args![self.user.as_str(), jid],
        )
        .await
        .map(drop)
    }

    async fn get_all_tc_token_jids(&self) -> Result<Vec<String>> {
        let found: Vec<(String,)> = self
            .db
            .fetch_all(
                "SELECT jid FROM wa_tc_tokens WHERE user_key = $1 ORDER BY jid",
                args![self.user.as_str()],
            )
            .await
            .map_err(db_err)?;
        Ok(found.into_iter().map(|(jid,)| jid).collect())
    }

    async fn delete_expired_tc_tokens(&self, token_cutoff: i64, sender_cutoff: i64) -> Result<u32> {
        let deleted = self
            .write(
                "DELETE FROM wa_tc_tokens WHERE user_key = $1 \
                 AND (length(token) = 0 OR token_timestamp < $2) \
                 AND (sender_timestamp IS NULL OR sender_timestamp < $3)",
                args![self.user.as_str(), token_cutoff, sender_cutoff],
            )
            .await?;
        Ok(deleted as u32)
    }

    async fn touch_tc_token_sender_timestamp(
        &self,
        jid: &str,
        sender_timestamp: i64,
    ) -> Result<()> {
        // One statement, so it cannot lose a token written meanwhile; the stored value only
        // moves forward.
        self.write(
            "INSERT INTO wa_tc_tokens \
             (user_key, jid, token, token_timestamp, sender_timestamp, updated_at) \
             VALUES ($1, $2, $3, $4, $4, $5) ON CONFLICT (user_key, jid) DO UPDATE SET \
             sender_timestamp = CASE WHEN wa_tc_tokens.sender_timestamp IS NULL \
             OR wa_tc_tokens.sender_timestamp < excluded.sender_timestamp \
             THEN excluded.sender_timestamp ELSE wa_tc_tokens.sender_timestamp END, \
             updated_at = excluded.updated_at",
            args![
                self.user.as_str(),
                jid,
                Vec::<u8>::new(),
                sender_timestamp,
                now_secs()
            ],
        )
        .await
        .map(drop)
    }

    async fn store_received_tc_token(
        &self,
        jid: &str,
        token: &[u8],
        token_timestamp: i64,
    ) -> Result<()> {
        // Newer wins (a placeholder never blocks the first real token), and the sender
        // timestamp is kept: one conditional upsert.
        self.write(
            "INSERT INTO wa_tc_tokens \
             (user_key, jid, token, token_timestamp, sender_timestamp, updated_at) \
             VALUES ($1, $2, $3, $4, NULL, $5) ON CONFLICT (user_key, jid) DO UPDATE SET \
             token = excluded.token, token_timestamp = excluded.token_timestamp, \
             updated_at = excluded.updated_at \
             WHERE length(wa_tc_tokens.token) = 0 \
             OR excluded.token_timestamp >= wa_tc_tokens.token_timestamp",
            args![self.user.as_str(), jid, token, token_timestamp, now_secs()],
        )
        .await
        .map(drop)
    }

    async fn store_sent_message(
        &self,
        chat_jid: &str,
        message_id: &str,
        payload: &[u8],
    ) -> Result<()> {
        self.write(
            "INSERT INTO wa_sent_messages (user_key, chat_jid, message_id, payload, created_at) \
             VALUES ($1, $2, $3, $4, $5) ON CONFLICT (user_key, chat_jid, message_id) \
             DO UPDATE SET payload = excluded.payload, created_at = excluded.created_at",
            args![
                self.user.as_str(),
                chat_jid,
                message_id,
                payload,
                now_secs()
            ],
        )
        .await
        .map(drop)
    }

    async fn take_sent_message(&self, chat_jid: &str, message_id: &str) -> Result<Option<Vec<u8>>> {
        // Select and delete in one fenced transaction: a retry receipt is served once.
        let mut tx = self.begin().await?;
        let found: Option<(Vec<u8>,)> = tx
            .fetch_optional(
                "DELETE FROM wa_sent_messages WHERE user_key = $1 AND chat_jid = $2 \
                 AND message_id = $3 RETURNING payload",
                args![self.user.as_str(), chat_jid, message_id],
            )
            .await
            .map_err(db_err)?;
        Self::commit(tx).await?;
        Ok(found.map(|(payload,)| payload))
    }

    async fn delete_expired_sent_messages(&self, cutoff_timestamp: i64) -> Result<u32> {
        let deleted = self
            .write(
                "DELETE FROM wa_sent_messages WHERE user_key = $1 AND created_at < $2",
                args![self.user.as_str(), cutoff_timestamp],
            )
            .await?;
        Ok(deleted as u32)
    }

    async fn store_pending_inbound(
        &self,
        chat: &str,
        sender: &str,
        id: &str,
        message: &[u8],
    ) -> Result<()> {
        self.write(
            PUT_PENDING_INBOUND,
            args![self.user.as_str(), chat, sender, id, message, now_secs()],
        )
        .await
        .map(drop)
    }

    async fn get_pending_inbound(
        &self,
        chat: &str,
        sender: &str,
        id: &str,
    ) -> Result<Option<Vec<u8>>> {
        let found: Option<(Vec<u8>,)> = self
            .db
            .fetch_optional(
                "SELECT message FROM wa_pending_inbound WHERE user_key = $1 AND chat = $2 \
                 AND sender = $3 AND id = $4",
                args![self.user.as_str(), chat, sender, id],
            )
            .await
            .map_err(db_err)?;
        Ok(found.map(|(message,)| message))
    }

    async fn delete_pending_inbound(&self, chat: &str, sender: &str, id: &str) -> Result<()> {
        self.write(
            DELETE_PENDING_INBOUND,
            args![self.user.as_str(), chat, sender, id],
        )
        .await
        .map(drop)
    }

    async fn delete_expired_pending_inbound(&self, cutoff_timestamp: i64) -> Result<u32> {
        let deleted = self
            .write(
                "DELETE FROM wa_pending_inbound WHERE user_key = $1 AND inserted_at < $2",
                args![self.user.as_str(), cutoff_timestamp],
            )
            .await?;
        Ok(deleted as u32)
    }

    async fn store_pending_inbound_batch(&self, rows: &[PendingInboundRow<'_>]) -> Result<()> {
        let now = now_secs();
        let rows = rows.iter().map(|row| {
            args![
                self.user.as_str(),
                row.chat,
                row.sender,
                row.id,
                row.message,
                now
            ]
        });
        self.write_each(PUT_PENDING_INBOUND, rows.collect())
            .await
            .map(drop)
    }

    async fn delete_pending_inbound_batch(&self, keys: &[PendingInboundKey<'_>]) -> Result<()> {
        let rows = keys
            .iter()
            .map(|key| args![self.user.as_str(), key.chat, key.sender, key.id]);
        self.write_each(DELETE_PENDING_INBOUND, rows.collect())
            .await
            .map(drop)
    }
}

#[async_trait]
impl MsgSecretStore for SessionStore {
    async fn put_msg_secrets(&self, entries: Vec<MsgSecretEntry>) -> Result<usize> {
        let now = now_secs();
        let count = entries.len();
        // Row by row in one transaction: duplicates within a batch merge in order, which a
        // multi-row upsert would refuse on PostgreSQL.
        let rows = entries.iter().map(|entry| {
            args![
                self.user.as_str(),
                entry.chat.as_ref(),
                entry.sender.as_ref(),
                entry.msg_id.as_ref(),
                &entry.secret[..],
                now,
                entry.expires_at,
                entry.message_ts
            ]
        });
        self.write_each(
            "INSERT INTO wa_msg_secrets \
             (user_key, chat, sender, msg_id, secret, created_at, expires_at, message_ts) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8) \
             ON CONFLICT (user_key, chat, sender, msg_id) DO UPDATE SET \
             secret = excluded.secret, created_at = excluded.created_at, \
             expires_at = CASE WHEN wa_msg_secrets.expires_at = 0 OR excluded.expires_at = 0 \
             THEN 0 WHEN wa_msg_secrets.expires_at > excluded.expires_at \
             THEN wa_msg_secrets.expires_at ELSE excluded.expires_at END, \
             message_ts = CASE WHEN wa_msg_secrets.message_ts > excluded.message_ts \
             THEN wa_msg_secrets.message_ts ELSE excluded.message_ts END",
            rows.collect(),
        )
        .await?;
        Ok(count)
    }

    async fn get_msg_secret(
        &self,
        chat: &str,
        sender: &str,
        msg_id: &str,
    ) -> Result<Option<Vec<u8>>> {
        Ok(self
            .get_msg_secret_with_ts(chat, sender, msg_id)
            .await?
            .map(|(secret, _)| secret))
    }

    async fn get_msg_secret_with_ts(
        &self,
        chat: &str,
        sender: &str,
        msg_id: &str,
    ) -> Result<Option<(Vec<u8>, i64)>> {
        self.db
            .fetch_optional(
                "SELECT secret, message_ts FROM wa_msg_secrets WHERE user_key = $1 \
                 AND chat = $2 AND sender = $3 AND msg_id = $4",
                args![self.user.as_str(), chat, sender, msg_id],
            )
            .await
            .map_err(db_err)
    }

    async fn delete_expired_msg_secrets(&self, cutoff_timestamp: i64) -> Result<u32> {
        let deleted = self
            .write(
                "DELETE FROM wa_msg_secrets WHERE user_key = $1 AND expires_at <> 0 \
                 AND expires_at <= $2",
                args![self.user.as_str(), cutoff_timestamp],
            )
            .await?;
        Ok(deleted as u32)
    }
}

#[async_trait]
impl DeviceStore for SessionStore {
    async fn save(&self, device: &Device) -> Result<()> {
        let data = serde_json::to_vec(device).map_err(json_err)?;
        self.write(
            "INSERT INTO wa_device (user_key, data, updated_at) VALUES ($1, $2, $3) \
             ON CONFLICT (user_key) DO UPDATE SET data = excluded.data, \
             updated_at = excluded.updated_at",
            args![self.user.as_str(), data, now_secs()],
        )
        .await
        .map(drop)
    }

    async fn load(&self) -> Result<Option<Device>> {
        let found: Option<(Vec<u8>,)> = self
            .db
            .fetch_optional(
                "SELECT data FROM wa_device WHERE user_key = $1",
                args![self.user.as_str()],
            )
            .await
            .map_err(db_err)?;
        let Some((data,)) = found else {
            return Ok(None);
        };
        let mut device: Device = serde_json::from_slice(&data).map_err(json_err)?;
        // Not persisted (runtime settings): what the library's own store gives a loaded device.
        device.device_props = Arc::new(DEVICE_PROPS.clone());
        device.client_profile = ClientProfile::web();
        device.nct_salt_sync_seen = false;
        Ok(Some(device))
    }

    async fn exists(&self) -> Result<bool> {
        SessionStore::exists(
            self,
            "SELECT CAST(1 AS BIGINT) FROM wa_device WHERE user_key = $1",
            args![self.user.as_str()],
        )
        .await
    }

    async fn create(&self) -> Result<i32> {
        let data = serde_json::to_vec(&Device::new()).map_err(json_err)?;
        let created = self
            .write(
                "INSERT INTO wa_device (user_key, data, updated_at) VALUES ($1, $2, $3) \
                 ON CONFLICT (user_key) DO NOTHING",
                args![self.user.as_str(), data, now_secs()],
            )
            .await?;
        if created == 0 {
            return Err(StoreError::Validation(format!(
                "{} already has a device",
                self.user
            )));
        }
        Ok(DEVICE_ID)
    }

    async fn resource_report(&self) -> whatsapp_rust::wacore::stats::StorageResourceReport {
        // The data lives in the registry database, not in this process.
        whatsapp_rust::wacore::stats::StorageResourceReport {
            memory_bytes: Some(0),
            ..Default::default()
        }
    }
}

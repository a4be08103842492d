//! Imports a credential store file of whatsapp-rust's own SQLite store (what earlier versions
//! kept per user under `DATA_DIR/sessions/<user>/whatsapp.db`) into the registry, in one
//! transaction: all of it or nothing.
//!
//! Rows are copied column for column; the three values the library's store encodes in a private
//! format (the device, app-state keys and versions) are read back through the store's own
//! trait methods and written as the registry store writes them.

use std::path::Path;

use sqlx::sqlite::{SqliteConnectOptions, SqlitePoolOptions, SqliteRow};
use sqlx::{Column, Row, TypeInfo, ValueRef};
use whatsapp_rust::store::SqliteStore;
use whatsapp_rust::wacore::store::traits::{AppSyncStore, DeviceStore};

use crate::registry::db::{args, Arg};
use crate::registry::{Error, Registry, UserKey};

/// What an import copied.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ImportReport {
    /// Rows copied, the device included.
    pub rows: u64,
}

/// A column's type in the registry, so a NULL binds with the right type on PostgreSQL.
#[derive(Clone, Copy)]
enum Kind {
    Int,
    Text,
    Bytes,
}

/// One table: how to read it from the library's store (`$1` is its device number) and how to
/// write it into the registry (`$1` is the user).
struct TableCopy {
    select: &'static str,
    insert: &'static str,
    kinds: &'static [Kind],
}

use Kind::{Bytes as B, Int as I, Text as T};

const COPIES: &[TableCopy] = &[
    TableCopy {
        select: "SELECT address, key FROM identities WHERE device_id = $1",
        insert: "INSERT INTO wa_identities (user_key, address, key) VALUES ($1, $2, $3)",
        kinds: &[T, B],
    },
    TableCopy {
        select: "SELECT address, record FROM sessions WHERE device_id = $1",
        insert: "INSERT INTO wa_sessions (user_key, address, record) VALUES ($1, $2, $3)",
        kinds: &[T, B],
    },
    TableCopy {
        select: "SELECT id, key, uploaded FROM prekeys WHERE device_id = $1",
        insert: "INSERT INTO wa_prekeys (user_key, id, key, uploaded) VALUES ($1, $2, $3, $4)",
        kinds: &[I, B, I],
    },
    TableCopy {
        select: "SELECT id, record FROM signed_prekeys WHERE device_id = $1",
        insert: "INSERT INTO wa_signed_prekeys (user_key, id, record) VALUES ($1, $2, $3)",
        kinds: &[I, B],
    },
    TableCopy {
        select: "SELECT address, record FROM sender_keys WHERE device_id = $1",
        insert: "INSERT INTO wa_sender_keys (user_key, address, record) VALUES ($1, $2, $3)",
        kinds: &[T, B],
    },
    TableCopy {
        select: "SELECT name, index_mac, version, value_mac FROM app_state_mutation_macs \
                 WHERE device_id = $1",
        insert: "INSERT INTO wa_app_state_mutation_macs \
                 (user_key, name, index_mac, version, value_mac) VALUES ($1, $2, $3, $4, $5)",
        kinds: &[T, B, I, B],
    },
    TableCopy {
        select: "SELECT address, message_id, base_key, created_at FROM base_keys \
                 WHERE device_id = $1",
        insert: "INSERT INTO wa_base_keys (user_key, address, message_id, base_key, created_at) \
                 VALUES ($1, $2, $3, $4, $5)",
        kinds: &[T, T, B, I],
    },
    TableCopy {
        select: "SELECT user_id, devices_json, timestamp, phash, raw_id, updated_at \
                 FROM device_registry WHERE device_id = $1",
        insert: "INSERT INTO wa_device_registry \
                 (user_key, user_id, devices_json, timestamp, phash, raw_id, updated_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7)",
        kinds: &[T, T, I, T, I, I],
    },
    TableCopy {
        select: "SELECT group_jid, info, updated_at FROM group_metadata WHERE device_id = $1",
        insert: "INSERT INTO wa_group_metadata (user_key, group_jid, info, updated_at) \
                 VALUES ($1, $2, $3, $4)",
        kinds: &[T, B, I],
    },
    TableCopy {
        select: "SELECT lid, phone_number, created_at, learning_source, updated_at \
                 FROM lid_pn_mapping WHERE device_id = $1",
        insert: "INSERT INTO wa_lid_pn_mapping \
                 (user_key, lid, phone_number, created_at, learning_source, updated_at) \
                 VALUES ($1, $2, $3, $4, $5, $6)",
        kinds: &[T, T, I, T, I],
    },
    TableCopy {
        select: "SELECT group_jid, device_jid, has_key, updated_at FROM sender_key_devices \
                 WHERE device_id = $1",
        insert:
            "INSERT INTO wa_sender_key_devices \
                 (user_key, group_jid, device_jid, has_key, updated_at) VALUES ($1, $2, $3, $4, $5)",
        kinds: &[T, T, I, I],
    },
    TableCopy {
        select: "SELECT jid, token, token_timestamp, sender_timestamp, updated_at FROM tc_tokens \
                 WHERE device_id = $1",
        insert: "INSERT INTO wa_tc_tokens \
                 (user_key, jid, token, token_timestamp, sender_timestamp, updated_at) \
                 VALUES ($1, $2, $3, $4, $5, $6)",
        kinds: &[T, B, I, I, I],
    },
    TableCopy {
        select: "SELECT chat_jid, message_id, payload, created_at FROM sent_messages \
                 WHERE device_id = $1",
        insert:
            "INSERT INTO wa_sent_messages (user_key, chat_jid, message_id, payload, created_at) \
                 VALUES ($1, $2, $3, $4, $5)",
        kinds: &[T, T, B, I],
    },
    TableCopy {
        select: "SELECT chat, sender, id, message, inserted_at FROM pending_inbound_messages \
                 WHERE device_id = $1",
        insert:
            "INSERT INTO wa_pending_inbound (user_key, chat, sender, id, message, inserted_at) \
                 VALUES ($1, $2, $3, $4, $5, $6)",
        kinds: &[T, T, T, B, I],
    },
    TableCopy {
        select: "SELECT chat, sender, msg_id, secret, created_at, expires_at, message_ts \
                 FROM msg_secrets WHERE device_id = $1",
        insert: "INSERT INTO wa_msg_secrets \
                 (user_key, chat, sender, msg_id, secret, created_at, expires_at, message_ts) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        kinds: &[T, T, T, B, I, I, I],
    },
];

fn store_err(path: &Path, error: impl std::fmt::Display) -> Error {
    Error::Internal(format!("cannot read {}: {error}", path.display()))
}

/// A column of `row` as a bind value of `kind`.
fn value(row: &SqliteRow, index: usize, kind: Kind) -> Result<Arg, sqlx::Error> {
    let null = row.try_get_raw(index)?.is_null();
    Ok(match kind {
        Kind::Int if null => Arg::OptInt(None),
        Kind::Text if null => Arg::OptText(None),
        Kind::Bytes if null => Arg::Bytes(Vec::new()),
        // The library stores booleans as integers; a declared BOOL still reads as one.
        Kind::Int => match row.columns()[index].type_info().name() {
            "BOOLEAN" => Arg::Int(i64::from(row.try_get::<bool, _>(index)?)),
            _ => Arg::Int(row.try_get::<i64, _>(index)?),
        },
        Kind::Text => Arg::Text(row.try_get::<String, _>(index)?),
        Kind::Bytes => Arg::Bytes(row.try_get::<Vec<u8>, _>(index)?),
    })
}

/// Copies the store file at `path` into `user`'s credentials. Refuses when the registry already
/// has a device for `user`; returns `None` when the file holds no device (nothing to import).
pub async fn import_store_file(
    registry: &Registry,
    user: &UserKey,
    path: &Path,
) -> Result<Option<ImportReport>, Error> {
    let location = path
        .to_str()
        .ok_or_else(|| store_err(path, "the path is not UTF-8"))?;
    let store = SqliteStore::new(location)
        .await
        .map_err(|error| store_err(path, error))?;
    let Some(device) = store.load().await.map_err(|error| store_err(path, error))? else {
        return Ok(None);
    };
    let device_id = i64::from(store.device_id());
    let pool = SqlitePoolOptions::new()
        .max_connections(1)
        .connect_with(SqliteConnectOptions::new().filename(path).read_only(true))
        .await
        .map_err(|error| store_err(path, error))?;

    let mut tx = registry.db.write().await?;
    let mut report = ImportReport::default();
    let present: Option<(String,)> = tx
        .fetch_optional(
            "SELECT user_key FROM wa_device WHERE user_key = $1",
            args![user.as_str()],
        )
        .await?;
    if present.is_some() {
        return Err(Error::Internal(format!(
            "{user} already has credentials in the registry"
        )));
    }
    let data = serde_json::to_vec(&device).map_err(|error| store_err(path, error))?;
    tx.execute(
        "INSERT INTO wa_device (user_key, data, updated_at) VALUES ($1, $2, $3)",
        args![user.as_str(), data, whatsapp_rust::wacore::time::now_secs()],
    )
    .await?;
    report.rows += 1;

    for copy in COPIES {
        let rows = sqlx::query(copy.select)
            .bind(device_id)
            .fetch_all(&pool)
            .await
            .map_err(|error| store_err(path, error))?;
        for row in rows {
            let mut values = args![user.as_str()];
            for (index, kind) in copy.kinds.iter().enumerate() {
                values.push(value(&row, index, *kind).map_err(|error| store_err(path, error))?);
            }
            tx.execute(copy.insert, values).await?;
            report.rows += 1;
        }
    }

    let key_ids: Vec<(Vec<u8>,)> =
        sqlx::query_as("SELECT key_id FROM app_state_keys WHERE device_id = $1")
            .bind(device_id)
            .fetch_all(&pool)
            .await
            .map_err(|error| store_err(path, error))?;
    for (key_id,) in key_ids {
        let Some(key) = store
            .get_sync_key(&key_id)
            .await
            .map_err(|error| store_err(path, error))?
        else {
            continue;
        };
        let data = serde_json::to_vec(&key).map_err(|error| store_err(path, error))?;
        tx.execute(
            "INSERT INTO wa_app_state_keys (user_key, key_id, key_data, seq) VALUES ($1, $2, $3, 0)",
            args![user.as_str(), key_id, data],
        )
        .await?;
        report.rows += 1;
    }
    let names: Vec<(String,)> =
        sqlx::query_as("SELECT name FROM app_state_versions WHERE device_id = $1")
            .bind(device_id)
            .fetch_all(&pool)
            .await
            .map_err(|error| store_err(path, error))?;
    for (name,) in names {
        let state = store
            .get_version(&name)
            .await
            .map_err(|error| store_err(path, error))?;
        let data = serde_json::to_vec(&state).map_err(|error| store_err(path, error))?;
        tx.execute(
            "INSERT INTO wa_app_state_versions (user_key, name, state_data) VALUES ($1, $2, $3)",
            args![user.as_str(), name, data],
        )
        .await?;
        report.rows += 1;
    }
    tx.commit().await?;
    pool.close().await;
    Ok(Some(report))
}

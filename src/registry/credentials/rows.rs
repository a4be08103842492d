//! Credential sets built elsewhere (from another client's files), written for many users at
//! once: one statement per table whatever the number of users, each carrying its rows as one
//! JSON array (see `bulk`), binary values in hex. An import of a thousand devices is a few
//! statements, not tens of thousands, so it holds the registry's writer for a moment only.

use serde_json::{json, Value};

use crate::registry::bulk::hex;
use crate::registry::db::{args, Tx};
use crate::registry::Error;

/// A credential set ready to store: each value encoded as the registry store encodes it.
#[derive(Debug, Default, Clone)]
pub struct CredentialRows {
    /// whatsapp-rust's `Device`, as JSON.
    pub device: Vec<u8>,
    /// Contacts' identity keys by protocol address.
    pub identities: Vec<(String, [u8; 32])>,
    /// Session records by protocol address.
    pub sessions: Vec<(String, Vec<u8>)>,
    /// One-time pre-keys: id, record, whether WhatsApp holds it.
    pub pre_keys: Vec<(u32, Vec<u8>, bool)>,
    /// App-state keys: key id, `AppStateSyncKey` as JSON.
    pub app_state_keys: Vec<(Vec<u8>, Vec<u8>)>,
    /// App-state versions: collection, `HashState` as JSON.
    pub app_state_versions: Vec<(String, Vec<u8>)>,
    /// App-state value MACs: collection, index MAC, version, value MAC.
    pub app_state_macs: Vec<(String, Vec<u8>, i64, Vec<u8>)>,
    /// LID ↔ phone number mappings: LID user, phone number, how it was learnt (whatsapp-rust's
    /// wire names).
    pub lid_mappings: Vec<(String, String, &'static str)>,
}

/// How a column travels in the JSON array.
#[derive(Clone, Copy)]
enum Kind {
    Text,
    Int,
    /// A hex string, stored as bytes.
    Bytes,
}
use Kind::{Bytes as B, Int as I, Text as T};

/// A credential table and the columns an import writes, in the order of its rows' values.
struct Table {
    name: &'static str,
    columns: &'static [(&'static str, Kind)],
    on_conflict: &'static str,
}

const DEVICE: Table = Table {
    name: "wa_device",
    columns: &[("user_key", T), ("data", B), ("updated_at", I)],
    on_conflict: "",
};
const IDENTITIES: Table = Table {
    name: "wa_identities",
    columns: &[("user_key", T), ("address", T), ("key", B)],
    on_conflict: "",
};
const SESSIONS: Table = Table {
    name: "wa_sessions",
    columns: &[("user_key", T), ("address", T), ("record", B)],
    on_conflict: "",
};
const PRE_KEYS: Table = Table {
    name: "wa_prekeys",
    columns: &[("user_key", T), ("id", I), ("key", B), ("uploaded", I)],
    on_conflict: "",
};
const APP_STATE_KEYS: Table = Table {
    name: "wa_app_state_keys",
    columns: &[("user_key", T), ("key_id", B), ("key_data", B), ("seq", I)],
    on_conflict: "",
};
const APP_STATE_VERSIONS: Table = Table {
    name: "wa_app_state_versions",
    columns: &[("user_key", T), ("name", T), ("state_data", B)],
    on_conflict: "",
};
const APP_STATE_MACS: Table = Table {
    name: "wa_app_state_mutation_macs",
    columns: &[
        ("user_key", T),
        ("name", T),
        ("index_mac", B),
        ("version", I),
        ("value_mac", B),
    ],
    on_conflict: "",
};
const LID_MAPPINGS: Table = Table {
    name: "wa_lid_pn_mapping",
    columns: &[
        ("user_key", T),
        ("lid", T),
        ("phone_number", T),
        ("created_at", I),
        ("learning_source", T),
        ("updated_at", I),
    ],
    on_conflict: " ON CONFLICT (user_key, lid) DO NOTHING",
};

/// Writes each `(user, rows)` set, in the caller's transaction.
pub(crate) async fn insert_rows(
    tx: &mut Tx,
    sets: &[(&str, &CredentialRows)],
) -> Result<(), Error> {
    let now = whatsapp_rust::wacore::time::now_secs();
    let (mut devices, mut identities, mut sessions, mut pre_keys) =
        (vec![], vec![], vec![], vec![]);
    let (mut keys, mut versions, mut macs, mut lids) = (vec![], vec![], vec![], vec![]);
    for &(user, set) in sets {
        devices.push(json!([user, hex(&set.device), now]));
        for (address, key) in &set.identities {
            identities.push(json!([user, address, hex(key)]));
        }
        for (address, record) in &set.sessions {
            sessions.push(json!([user, address, hex(record)]));
        }
        for (id, record, uploaded) in &set.pre_keys {
            pre_keys.push(json!([user, id, hex(record), i64::from(*uploaded)]));
        }
        for (id, data) in &set.app_state_keys {
            keys.push(json!([user, hex(id), hex(data), 0]));
        }
        for (name, data) in &set.app_state_versions {
            versions.push(json!([user, name, hex(data)]));
        }
        for (name, index_mac, version, value_mac) in &set.app_state_macs {
            macs.push(json!([user, name, hex(index_mac), version, hex(value_mac)]));
        }
        for (lid, phone, source) in &set.lid_mappings {
            lids.push(json!([user, lid, phone, now, source, now]));
        }
    }
    let tables = [
        (&DEVICE, devices),
        (&IDENTITIES, identities),
        (&SESSIONS, sessions),
        (&PRE_KEYS, pre_keys),
        (&APP_STATE_KEYS, keys),
        (&APP_STATE_VERSIONS, versions),
        (&APP_STATE_MACS, macs),
        (&LID_MAPPINGS, lids),
    ];
    for (table, rows) in tables {
        if rows.is_empty() {
            continue;
        }
        let json = Value::from(rows).to_string();
        tx.execute_built(table.insert(tx.is_postgres()), args![json])
            .await?;
    }
    Ok(())
}

impl Table {
    /// One `INSERT … SELECT` of every row of the JSON array bound to `$1`, each row an array of
    /// the columns' values. Built only from the fixed names above, never from data.
    fn insert(&self, postgres: bool) -> String {
        let names: Vec<&str> = self.columns.iter().map(|(name, _)| *name).collect();
        let values: Vec<String> = self
            .columns
            .iter()
            .enumerate()
            .map(|(i, (_, kind))| match (postgres, kind) {
                (false, Kind::Bytes) => format!("unhex(r.value ->> {i})"),
                (false, _) => format!("r.value ->> {i}"),
                (true, Kind::Text) => format!("r.value ->> {i}"),
                (true, Kind::Int) => format!("(r.value ->> {i})::bigint"),
                (true, Kind::Bytes) => format!("decode(r.value ->> {i}, 'hex')"),
            })
            .collect();
        let rows = if postgres {
            "json_array_elements($1::json) AS r(value)"
        } else {
            "json_each($1) AS r"
        };
        // SQLite reads `ON CONFLICT` after a bare `FROM` as a join's `ON`: the `WHERE`
        // keeps the two apart.
        format!(
            "INSERT INTO {} ({}) SELECT {} FROM {rows} WHERE true{}",
            self.name,
            names.join(", "),
            values.join(", "),
            self.on_conflict
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_dialect_decodes_the_hex_columns_and_keeps_the_conflict_clause() {
        assert_eq!(
            LID_MAPPINGS.insert(false),
            "INSERT INTO wa_lid_pn_mapping (user_key, lid, phone_number, created_at, \
             learning_source, updated_at) SELECT r.value ->> 0, r.value ->> 1, r.value ->> 2, \
             r.value ->> 3, r.value ->> 4, r.value ->> 5 FROM json_each($1) AS r WHERE true \
             ON CONFLICT (user_key, lid) DO NOTHING"
        );
        assert_eq!(
            PRE_KEYS.insert(true),
            "INSERT INTO wa_prekeys (user_key, id, key, uploaded) SELECT r.value ->> 0, \
             (r.value ->> 1)::bigint, decode(r.value ->> 2, 'hex'), (r.value ->> 3)::bigint \
             FROM json_array_elements($1::json) AS r(value) WHERE true"
        );
    }
}

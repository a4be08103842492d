//! Reading a Baileys multi-file auth state (`useMultiFileAuthState`: `creds.json` plus one
//! file per key, session and app-state key) as the credentials whatsapp-rust keeps, so that a
//! device Baileys linked logs in again from wasess without a new QR code.
//!
//! The device's own keys and identity (`creds.json`), its one-time pre-keys, its Signal
//! sessions with contacts and their identity keys, and its app-state keys and versions are
//! converted; the rest is listed with what leaving it costs. A folder that is mid-pairing
//! (no `me`), incomplete or corrupt is refused whole.

mod creds;
mod json;
mod signal;

use std::path::{Path, PathBuf};

use serde_json::Value;
use whatsapp_rust::wacore::appstate::hash::HashState;
use whatsapp_rust::wacore::store::traits::AppStateSyncKey;
use whatsapp_rust::waproto::codec::app_state_sync_key_fingerprint_to_vec;
use whatsapp_rust::waproto::whatsapp as wa;

use crate::model::{BaileysImport, BaileysImportReport, NotConverted};
use crate::protocol::ImportBaileysParams;
use crate::registry::credentials::CredentialRows;
use crate::registry::{Adoption, PhoneNumber, Registry, UserKey};

/// Why a folder cannot be imported.
#[derive(Debug, thiserror::Error)]
pub enum FolderError {
    #[error("not a Baileys auth folder: {0}")]
    NotAFolder(String),
    #[error("the device never finished pairing (creds.json has no `me`): connect the user with wasess instead")]
    MidPairing,
    #[error("incomplete: {0}")]
    Incomplete(String),
    #[error("corrupt: {0}")]
    Corrupt(String),
}

#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    /// A folder that cannot be imported: nothing was written.
    #[error("{folder}: {error}; nothing imported")]
    Folder { folder: String, error: FolderError },
    #[error("{0}")]
    Usage(String),
    #[error(transparent)]
    Registry(#[from] crate::registry::Error),
}

/// Converts every target's folder, then adopts all the devices in one transaction (or, with
/// `dry_run`, checks that it could).
pub async fn import(
    registry: &Registry,
    params: &ImportBaileysParams,
) -> Result<BaileysImportReport, ImportError> {
    let dry_run = params.dry_run;
    let mut report = BaileysImportReport {
        dry_run,
        log_in: !params.no_reconnect,
        ..BaileysImportReport::default()
    };
    let mut converted = Vec::new();
    for target in &params.targets {
        let user = UserKey::parse(&target.user)
            .map_err(|why| ImportError::Usage(format!("user '{}': {why}", target.user)))?;
        let folder = target.folder.clone();
        // Reading is blocking file work; a few hundred small files per folder.
        let path = PathBuf::from(&target.folder);
        let outcome = tokio::task::spawn_blocking(move || read(&path))
            .await
            .map_err(|e| ImportError::Usage(format!("{folder}: {e}")))?;
        let mut folder_converted = match outcome {
            Ok(folder_converted) => folder_converted,
            Err(FolderError::MidPairing) if params.skip_unpaired => {
                report.skipped_unpaired.push(folder);
                continue;
            }
            Err(error) => return Err(ImportError::Folder { folder, error }),
        };
        let phone =
            PhoneNumber::parse(&folder_converted.phone).map_err(|why| ImportError::Folder {
                folder: folder.clone(),
                error: FolderError::Corrupt(format!("creds.json: me.id's number: {why}")),
            })?;
        folder_converted.report.user = user.to_string();
        folder_converted.report.dry_run = dry_run;
        converted.push((user, phone, folder_converted));
    }
    let adoptions: Vec<Adoption> = converted
        .iter()
        .map(|(user, phone, folder)| Adoption {
            user,
            phone,
            credentials: &folder.rows,
            source: &folder.report.folder,
        })
        .collect();
    registry
        .adopt_devices(&adoptions, dry_run, !params.no_reconnect)
        .await?;
    report.imported = converted.into_iter().map(|(_, _, c)| c.report).collect();
    Ok(report)
}

/// A folder, converted.
pub struct Converted {
    pub phone: String,
    pub rows: CredentialRows,
    /// The report, less the user and whether it was a dry run.
    pub report: BaileysImport,
}

/// Reads and converts the auth folder `folder`. Reads only.
pub fn read(folder: &Path) -> Result<Converted, FolderError> {
    let shown = folder.display().to_string();
    let names = std::fs::read_dir(folder)
        .map_err(|e| FolderError::NotAFolder(format!("{shown}: {e}")))?
        .map(|entry| entry.map(|e| e.file_name().to_string_lossy().into_owned()))
        .collect::<Result<Vec<String>, _>>()
        .map_err(|e| FolderError::NotAFolder(format!("{shown}: {e}")))?;
    if !names.iter().any(|name| name == "creds.json") {
        return Err(FolderError::NotAFolder(format!(
            "{shown} has no creds.json"
        )));
    }
    let load = |name: &str| -> Result<Value, FolderError> {
        let text = std::fs::read(folder.join(name))
            .map_err(|e| FolderError::Corrupt(format!("{name}: {e}")))?;
        serde_json::from_slice(&text).map_err(|e| FolderError::Corrupt(format!("{name}: {e}")))
    };
    let creds = creds::read(&load("creds.json")?)?;
    let identity = creds.device.identity_key.clone();
    let registration_id = creds.device.registration_id;
    let mut rows = CredentialRows::default();
    let mut not_converted = Leftovers::default();

    // The device's own LID, as pairing records it.
    if let Some(lid) = &creds.device.lid {
        rows.lid_mappings
            .push((lid.user.to_string(), creds.phone.clone(), "pairing"));
    }
    let mut names = names;
    names.sort();
    // `123.0` and `123_0.0` name one device: a folder with both is not one Baileys wrote.
    let mut addresses = std::collections::HashSet::new();
    for name in &names {
        let Some(stem) = name.strip_suffix(".json") else {
            continue;
        };
        if stem == "creds" {
            continue;
        }
        let corrupt = |what: String| FolderError::Corrupt(format!("{name}: {what}"));
        if let Some(id) = stem.strip_prefix("pre-key-") {
            let id: u32 = id
                .parse()
                .map_err(|_| corrupt("the pre-key id is not a number".into()))?;
            let record = signal::pre_key(id, &load(name)?)
                .ok_or_else(|| corrupt("not a key pair".into()))?;
            rows.pre_keys
                .push((id, record, id < creds.first_unuploaded_pre_key_id));
        } else if let Some(id) = stem.strip_prefix("session-") {
            let id = json::unfix_file_name(id);
            let address =
                signal::address(&id).ok_or_else(|| corrupt(format!("'{id}' is not a device")))?;
            if !addresses.insert(address.clone()) {
                return Err(corrupt(format!("a second session file for {address}")));
            }
            let text = std::fs::read(folder.join(name)).map_err(|e| corrupt(e.to_string()))?;
            let session = signal::session(&text, &identity, registration_id).map_err(corrupt)?;
            if let Some(key) = session.identity {
                rows.identities.push((address.clone(), key));
            }
            rows.sessions.push((address, session.record));
        } else if let Some(id) = stem.strip_prefix("app-state-sync-key-") {
            let key_id = json::bytes(&Value::String(json::unfix_file_name(id)))
                .ok_or_else(|| corrupt("the key id is not base64".into()))?;
            let key =
                sync_key(&load(name)?).ok_or_else(|| corrupt("not an app-state key".into()))?;
            let data = serde_json::to_vec(&key).map_err(|e| corrupt(e.to_string()))?;
            rows.app_state_keys.push((key_id, data));
        } else if let Some(collection) = stem.strip_prefix("app-state-sync-version-") {
            let (state, macs) = sync_version(&load(name)?)
                .ok_or_else(|| corrupt("not an app-state version".into()))?;
            let version = i64::try_from(state.version).unwrap_or(i64::MAX);
            for (index_mac, value_mac) in macs {
                rows.app_state_macs
                    .push((collection.to_string(), index_mac, version, value_mac));
            }
            let data = serde_json::to_vec(&state).map_err(|e| corrupt(e.to_string()))?;
            rows.app_state_versions.push((collection.to_string(), data));
        } else if let Some(phone) = stem.strip_prefix("lid-mapping-") {
            // `lid-mapping-<number>.json` holds the LID; `…_reverse.json` the same pair
            // the other way.
            if phone.ends_with("_reverse") {
                continue;
            }
            let lid = load(name)?
                .as_str()
                .map(|lid| lid.split('@').next().unwrap_or(lid).to_string())
                .ok_or_else(|| corrupt("not a LID".into()))?;
            rows.lid_mappings.push((lid, phone.to_string(), "other"));
        } else {
            not_converted.count(stem);
        }
    }

    let device = creds
        .device
        .pn
        .as_ref()
        .map(|jid| jid.to_string())
        .unwrap_or_default();
    rows.device = serde_json::to_vec(&creds.device)
        .map_err(|e| FolderError::Corrupt(format!("creds.json: {e}")))?;
    let report = BaileysImport {
        user: String::new(),
        folder: shown,
        phone_number: creds.phone.clone(),
        device,
        dry_run: false,
        pre_keys: rows.pre_keys.len() as u64,
        sessions: rows.sessions.len() as u64,
        identities: rows.identities.len() as u64,
        app_state_keys: rows.app_state_keys.len() as u64,
        app_state_versions: rows.app_state_versions.len() as u64,
        not_converted: not_converted.into_list(),
    };
    Ok(Converted {
        phone: creds.phone,
        rows,
        report,
    })
}

/// `app-state-sync-key-*.json`: `{keyData, fingerprint: {rawId, currentIndex, deviceIndexes},
/// timestamp}`.
fn sync_key(file: &Value) -> Option<AppStateSyncKey> {
    let key_data = json::bytes(file.get("keyData")?)?;
    if key_data.len() != 32 {
        return None;
    }
    let fingerprint = file.get("fingerprint").map(|f| {
        let number = |name: &str| f.get(name).and_then(json::integer);
        wa::message::AppStateSyncKeyFingerprint {
            raw_id: number("rawId").and_then(|n| u32::try_from(n).ok()),
            current_index: number("currentIndex").and_then(|n| u32::try_from(n).ok()),
            device_indexes: f
                .get("deviceIndexes")
                .and_then(Value::as_array)
                .map(|list| {
                    list.iter()
                        .filter_map(|n| json::integer(n).and_then(|n| u32::try_from(n).ok()))
                        .collect()
                })
                .unwrap_or_default(),
        }
    });
    Some(AppStateSyncKey {
        key_data,
        fingerprint: fingerprint
            .map(|f| app_state_sync_key_fingerprint_to_vec(&f))
            .unwrap_or_default(),
        timestamp: file.get("timestamp").and_then(json::integer).unwrap_or(0),
    })
}

/// The value MACs of a collection, by index MAC.
type ValueMacs = Vec<(Vec<u8>, Vec<u8>)>;

/// `app-state-sync-version-*.json`: `{version, hash, indexValueMap: {index: {valueMac}}}`.
fn sync_version(file: &Value) -> Option<(HashState, ValueMacs)> {
    let version = u64::try_from(json::integer(file.get("version")?)?).ok()?;
    let hash = json::array::<128>(file.get("hash")?)?;
    let mut macs = Vec::new();
    if let Some(map) = file.get("indexValueMap").and_then(Value::as_object) {
        for (index, entry) in map {
            let index_mac = json::bytes(&Value::String(index.clone()))?;
            let value_mac = json::bytes(entry.get("valueMac")?)?;
            macs.push((index_mac, value_mac));
        }
    }
    let state = HashState {
        version,
        hash,
        ..HashState::default()
    };
    Some((state, macs))
}

/// Files of kinds wasess does not take, counted by kind.
#[derive(Default)]
struct Leftovers {
    sender_keys: u64,
    sender_key_memory: u64,
    other: u64,
}

impl Leftovers {
    fn count(&mut self, stem: &str) {
        if stem.starts_with("sender-key-memory-") {
            self.sender_key_memory += 1;
        } else if stem.starts_with("sender-key-") {
            self.sender_keys += 1;
        } else {
            self.other += 1;
        }
    }

    fn into_list(self) -> Vec<NotConverted> {
        let mut list = Vec::new();
        if self.sender_keys > 0 {
            list.push(NotConverted {
                what: "group sender keys".into(),
                count: self.sender_keys,
                cost: "the first group message from each of those senders is re-keyed: the \
                       sender's phone shares its key again"
                    .into(),
            });
        }
        if self.sender_key_memory > 0 {
            list.push(NotConverted {
                what: "records of who holds this device's group keys".into(),
                count: self.sender_key_memory,
                cost: "the device shares its key again with each group it next writes to".into(),
            });
        }
        if self.other > 0 {
            list.push(NotConverted {
                what: "other files (device lists, tokens)".into(),
                count: self.other,
                cost: "none: they are fetched again from WhatsApp when needed".into(),
            });
        }
        list
    }
}

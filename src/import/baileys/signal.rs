//! Signal state: libsignal-node's session records (`session-*.json`), the one-time pre-keys
//! (`pre-key-*.json`) and the contacts' identities, as the Rust libsignal records
//! whatsapp-rust keeps.
//!
//! The two libraries keep the same Double Ratchet state under other names, with one
//! difference of counting: libsignal-node's chain counter is the last index used (−1 for
//! none), the Rust one's index is the next. libsignal-node keeps its sessions and chains in
//! objects whose key order is their age, so those are read in file order.

use std::fmt;
use std::marker::PhantomData;

use serde::de::{Deserialize, Deserializer, MapAccess, Visitor};
use serde_json::{Map, Value};
use whatsapp_rust::wacore::libsignal::protocol::{
    KeyPair, PendingPreKeyComponents, SessionChainComponents, SessionChainKeyComponents,
    SessionComponents, SessionMessageKeyComponents, SessionMessageKeyMaterial, SessionRecord,
    SessionRecordComponents,
};
use whatsapp_rust::wacore::libsignal::store::record_helpers::new_pre_key_record;
use whatsapp_rust::waproto::codec::pre_key_record_to_vec;

use super::json::{bytes, integer};

/// At most this many earlier sessions per contact, as the Rust record keeps.
const PREVIOUS_SESSIONS: usize = 40;
/// At most this many receiving chains per session, as the Rust record keeps.
const RECEIVER_CHAINS: usize = 5;

/// whatsapp-rust's address for a libsignal-node one: `user[_domain].device` becomes
/// `user[:device]@server.0`.
pub fn address(baileys: &str) -> Option<String> {
    let (user, device) = baileys.rsplit_once('.')?;
    let device: u16 = device.parse().ok()?;
    let (user, server) = match user.split_once('_') {
        None | Some((_, "0")) => (user.split('_').next()?, "c.us"),
        Some((user, "1")) => (user, "lid"),
        Some((user, "128")) => (user, "hosted"),
        Some((user, "129")) => (user, "hosted.lid"),
        Some(_) => return None,
    };
    if user.is_empty() || !user.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    Some(match device {
        0 => format!("{user}@{server}.0"),
        device => format!("{user}:{device}@{server}.0"),
    })
}

/// A converted session record, and the contact's identity key (32 bytes) from its open
/// session.
pub struct Session {
    pub record: Vec<u8>,
    pub identity: Option<[u8; 32]>,
}

/// An object's entries in file order.
struct Ordered<T>(Vec<(String, T)>);

impl<'de, T: Deserialize<'de>> Deserialize<'de> for Ordered<T> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Entries<T>(PhantomData<T>);
        impl<'de, T: Deserialize<'de>> Visitor<'de> for Entries<T> {
            type Value = Ordered<T>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("an object")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Ordered<T>, A::Error> {
                let mut entries = Vec::new();
                while let Some(entry) = map.next_entry::<String, T>()? {
                    entries.push(entry);
                }
                Ok(Ordered(entries))
            }
        }
        deserializer.deserialize_map(Entries(PhantomData))
    }
}

/// libsignal-node's `SessionRecord` as JSON.
#[derive(serde::Deserialize)]
struct RecordFile {
    #[serde(rename = "_sessions")]
    sessions: Ordered<EntryFile>,
}

/// One session of a record: its chains in age order, and the rest.
#[derive(serde::Deserialize)]
struct EntryFile {
    #[serde(rename = "_chains")]
    chains: Ordered<Value>,
    #[serde(flatten)]
    rest: Map<String, Value>,
}

/// One `session-*.json` (libsignal-node's `SessionRecord`) as a Rust record. `local` is this
/// device's identity key pair and registration id.
pub fn session(file: &[u8], local: &KeyPair, registration_id: u32) -> Result<Session, String> {
    let record: RecordFile = serde_json::from_slice(file).map_err(|e| e.to_string())?;
    let mut open: Option<(i64, SessionComponents, Option<[u8; 32]>)> = None;
    let mut closed = Vec::new();
    for (base_key, entry) in record.sessions.0 {
        let rest = Value::Object(entry.rest);
        let converted = session_entry(&rest, &entry.chains.0, local, registration_id)
            .map_err(|why| format!("session {base_key}: {why}"))?;
        let index = rest.get("indexInfo").ok_or("no indexInfo")?;
        let closed_at = index.get("closed").and_then(integer).unwrap_or(-1);
        let used = index.get("used").and_then(integer).unwrap_or(0);
        if closed_at != -1 {
            closed.push((used, converted));
            continue;
        }
        // The open session libsignal-node would pick: the most recently used.
        let identity = index
            .get("remoteIdentityKey")
            .and_then(bytes)
            .and_then(|key| raw_key(&key));
        match open.take() {
            Some(current) if current.0 >= used => {
                closed.push((used, converted));
                open = Some(current);
            }
            Some((older_used, older, _)) => {
                closed.push((older_used, older));
                open = Some((used, converted, identity));
            }
            None => open = Some((used, converted, identity)),
        }
    }
    // Most recently used first, as the Rust record orders its earlier sessions.
    closed.sort_by_key(|(used, _)| std::cmp::Reverse(*used));
    closed.truncate(PREVIOUS_SESSIONS);
    let (current_session, identity) = match open {
        Some((_, session, identity)) => (Some(session), identity),
        None => (None, None),
    };
    let record = SessionRecord::from_components(SessionRecordComponents {
        current_session,
        previous_sessions: closed.into_iter().map(|(_, s)| s).collect(),
    })
    .and_then(|record| record.serialize())
    .map_err(|e| e.to_string())?;
    Ok(Session { record, identity })
}

fn session_entry(
    entry: &Value,
    chains: &[(String, Value)],
    local: &KeyPair,
    registration_id: u32,
) -> Result<SessionComponents, String> {
    let ratchet = entry.get("currentRatchet").ok_or("no currentRatchet")?;
    let index = entry.get("indexInfo").ok_or("no indexInfo")?;
    let get =
        |value: &Value, name: &str| value.get(name).and_then(bytes).ok_or(format!("no {name}"));
    let ephemeral = ratchet
        .get("ephemeralKeyPair")
        .ok_or("no ephemeralKeyPair")?;
    let sending_key = get(ephemeral, "pubKey")?;
    let sending_private = get(ephemeral, "privKey")?;
    let last_remote = ratchet.get("lastRemoteEphemeralKey").and_then(bytes);

    let mut sender_chain = None;
    let mut receiver_chains = Vec::new();
    for (ratchet_key, chain) in chains {
        let ratchet_key =
            bytes(&Value::String(ratchet_key.clone())).ok_or("a chain's key is not base64")?;
        let converted = chain_components(chain)?;
        match chain.get("chainType").and_then(integer) {
            Some(1) if ratchet_key == sending_key => {
                sender_chain = Some(SessionChainComponents {
                    sender_ratchet_key: Some(ratchet_key),
                    sender_ratchet_key_private: Some(sending_private.clone()),
                    ..converted
                });
            }
            Some(2) => {
                // A closed chain with no keys left for late messages is of no further use.
                if converted
                    .chain_key
                    .as_ref()
                    .is_some_and(|k| k.key.is_none())
                    && converted.message_keys.is_empty()
                {
                    continue;
                }
                let newest = last_remote.as_deref() == Some(&ratchet_key[..]);
                receiver_chains.push((
                    newest,
                    SessionChainComponents {
                        sender_ratchet_key: Some(ratchet_key),
                        sender_ratchet_key_private: None,
                        ..converted
                    },
                ));
            }
            _ => {}
        }
    }
    // Oldest first, as in the file, and the chain of the newest remote ratchet key last: the
    // Rust record drops from the front.
    receiver_chains.sort_by_key(|(newest, _)| *newest);
    let skip = receiver_chains.len().saturating_sub(RECEIVER_CHAINS);
    let receiver_chains = receiver_chains
        .into_iter()
        .skip(skip)
        .map(|(_, c)| c)
        .collect();

    let pending_pre_key = entry
        .get("pendingPreKey")
        .filter(|p| !p.is_null())
        .map(|pending| PendingPreKeyComponents {
            pre_key_id: pending
                .get("preKeyId")
                .and_then(integer)
                .and_then(|id| u32::try_from(id).ok()),
            signed_pre_key_id: pending
                .get("signedKeyId")
                .and_then(integer)
                .and_then(|id| i32::try_from(id).ok()),
            base_key: pending.get("baseKey").and_then(bytes),
            ..Default::default()
        });
    Ok(SessionComponents {
        session_version: Some(3),
        local_identity_public: Some(local.public_key.serialize().to_vec()),
        remote_identity_public: Some(get(index, "remoteIdentityKey")?),
        root_key: Some(get(ratchet, "rootKey")?),
        previous_counter: Some(
            ratchet
                .get("previousCounter")
                .and_then(integer)
                .and_then(|n| u32::try_from(n).ok())
                .unwrap_or(0),
        ),
        sender_chain,
        receiver_chains,
        pending_key_exchange: None,
        pending_pre_key,
        remote_registration_id: entry
            .get("registrationId")
            .and_then(integer)
            .and_then(|id| u32::try_from(id).ok()),
        local_registration_id: Some(registration_id),
        needs_refresh: None,
        alice_base_key: Some(get(index, "baseKey")?),
    })
}

/// A chain's key and the keys it kept for messages that arrive late.
fn chain_components(chain: &Value) -> Result<SessionChainComponents, String> {
    let chain_key = chain.get("chainKey").ok_or("a chain without chainKey")?;
    let counter = chain_key.get("counter").and_then(integer).unwrap_or(-1);
    let next = u32::try_from(counter + 1).map_err(|_| "a chain counter below -1")?;
    let mut message_keys = Vec::new();
    if let Some(keys) = chain.get("messageKeys").and_then(Value::as_object) {
        for (index, seed) in keys {
            let index: u32 = index
                .parse()
                .map_err(|_| "a message key index is not a number")?;
            let seed: [u8; 32] = bytes(seed)
                .and_then(|seed| seed.try_into().ok())
                .ok_or("a message key is not 32 bytes")?;
            message_keys.push(SessionMessageKeyComponents {
                index,
                material: SessionMessageKeyMaterial::Seed(seed),
            });
        }
    }
    message_keys.sort_by_key(|key| key.index);
    Ok(SessionChainComponents {
        sender_ratchet_key: None,
        sender_ratchet_key_private: None,
        chain_key: Some(SessionChainKeyComponents {
            index: Some(next),
            key: chain_key.get("key").and_then(bytes),
        }),
        message_keys,
    })
}

/// A curve public key without its 0x05 type byte.
fn raw_key(key: &[u8]) -> Option<[u8; 32]> {
    match key.len() {
        33 if key[0] == 5 => key[1..].try_into().ok(),
        32 => key.try_into().ok(),
        _ => None,
    }
}

/// One `pre-key-N.json` as the pre-key record whatsapp-rust stores.
pub fn pre_key(id: u32, file: &Value) -> Option<Vec<u8>> {
    let pair = super::creds::key_pair(file)?;
    Some(pre_key_record_to_vec(&new_pre_key_record(id, &pair)))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The fixture's session with a contact, as Baileys wrote it, against its conversion.
    #[test]
    fn a_baileys_session_keeps_its_open_session_chains_and_counters() {
        let dir = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/fixtures/baileys/auth_sessions/acme"
        );
        let file = std::fs::read(format!("{dir}/session-573009990001.0.json")).expect("fixture");
        let creds: Value =
            serde_json::from_slice(&std::fs::read(format!("{dir}/creds.json")).expect("creds"))
                .expect("json");
        let local = super::super::creds::key_pair(&creds["signedIdentityKey"]).expect("identity");
        let converted = session(&file, &local, 7).expect("converts");

        let json: Value = serde_json::from_slice(&file).expect("json");
        let entries = json["_sessions"].as_object().expect("sessions");
        let (open_key, open) = entries
            .iter()
            .filter(|(_, e)| e["indexInfo"]["closed"] == -1)
            .max_by_key(|(_, e)| e["indexInfo"]["used"].as_i64())
            .expect("an open session");
        let record = SessionRecord::deserialize(&converted.record).expect("a record");
        let components = record.into_components().expect("components");
        let current = components.current_session.expect("current session");
        assert_eq!(
            current.alice_base_key,
            bytes(&Value::String(open_key.clone()))
        );
        assert_eq!(components.previous_sessions.len(), entries.len() - 1);
        assert_eq!(current.local_registration_id, Some(7));

        // Counters: the last index libsignal-node used, plus one.
        let sending = open["currentRatchet"]["ephemeralKeyPair"]["pubKey"]
            .as_str()
            .expect("key");
        let counter = |key: &str| {
            open["_chains"][key]["chainKey"]["counter"]
                .as_i64()
                .expect("n")
        };
        let sender = current.sender_chain.expect("sender chain");
        assert_eq!(
            sender.chain_key.and_then(|k| k.index),
            Some((counter(sending) + 1) as u32)
        );
        let remote = open["currentRatchet"]["lastRemoteEphemeralKey"]
            .as_str()
            .expect("key");
        let newest = current.receiver_chains.last().expect("a receiver chain");
        assert_eq!(
            newest.sender_ratchet_key,
            bytes(&Value::String(remote.into()))
        );
        assert_eq!(
            newest.chain_key.as_ref().and_then(|k| k.index),
            Some((counter(remote) + 1) as u32)
        );
        let identity = open["indexInfo"]["remoteIdentityKey"]
            .as_str()
            .expect("key");
        assert_eq!(
            converted.identity.map(|k| k.to_vec()),
            bytes(&Value::String(identity.into())).map(|k| k[1..].to_vec())
        );
    }

    #[test]
    fn addresses_name_the_same_device() {
        assert_eq!(
            address("573001234567.0").as_deref(),
            Some("573001234567@c.us.0")
        );
        assert_eq!(
            address("573001234567.5").as_deref(),
            Some("573001234567:5@c.us.0")
        );
        assert_eq!(
            address("100000000000001_1.3").as_deref(),
            Some("100000000000001:3@lid.0")
        );
        assert_eq!(
            address("573001234567_0.0").as_deref(),
            Some("573001234567@c.us.0")
        );
        assert_eq!(address("nonsense"), None);
        assert_eq!(address("1_7.0"), None);
    }
}

//! The phones' end-to-end encryption: every phone number the peer plays (a linked account's
//! phone or any other contact) has a Signal identity, a signed pre-key and one-time pre-keys,
//! all derived from the peer's secret, so they survive restarts without being stored. With
//! them the peer hands out the phones' key bundles, decrypts what companions send to a phone,
//! and encrypts what a phone sends to a companion (from the bundle the companion uploaded).
//! Sessions live in memory, and in the state file when there is one (see `accounts`).

use std::collections::HashMap;

use async_trait::async_trait;
use tokio::sync::Mutex;
use whatsapp_rust::wacore::libsignal::crypto::hmac_sha256;
use whatsapp_rust::wacore::libsignal::protocol::{
    error::Result as SignalResult, message_decrypt, message_encrypt, process_prekey_bundle,
    CiphertextMessage, Direction, GenericSignedPreKey, IdentityChange, IdentityKey,
    IdentityKeyPair, IdentityKeyStore, KeyPair, PreKeyBundle, PreKeyId, PreKeyRecord,
    PreKeySignalMessage, PreKeyStore, ProtocolAddress, SessionRecord, SessionStore, SignalMessage,
    SignedPreKeyId, SignedPreKeyRecord, SignedPreKeyStore, Timestamp, UsePQRatchet,
};

use super::keys::{key_pair, sign};

/// The one signed pre-key id every phone uses.
const SIGNED_PRE_KEY_ID: u32 = 1;

/// A phone's long-lived keys, derived from the peer's secret and its number.
pub struct PhoneKeys {
    secret: [u8; 32],
    user: String,
    pub identity: KeyPair,
    pub registration_id: u32,
    pub signed_pre_key: KeyPair,
    pub signed_pre_key_signature: Vec<u8>,
}

impl PhoneKeys {
    pub fn derive(secret: &[u8; 32], user: &str) -> Result<PhoneKeys, String> {
        let identity = derive_key(secret, &format!("identity/{user}"))?;
        let signed_pre_key = derive_key(secret, &format!("signed-pre-key/{user}"))?;
        let signed_pre_key_signature =
            sign(&identity, &signed_pre_key.public_key.serialize())?.to_vec();
        let id = hmac_sha256(secret, format!("registration/{user}").as_bytes());
        Ok(PhoneKeys {
            secret: *secret,
            user: user.to_string(),
            identity,
            // Signal registration ids are 14-bit and never 0.
            registration_id: u32::from(u16::from_be_bytes([id[0], id[1]]) & 0x3fff) + 1,
            signed_pre_key,
            signed_pre_key_signature,
        })
    }

    pub fn signed_pre_key_id(&self) -> u32 {
        SIGNED_PRE_KEY_ID
    }

    /// One-time pre-key `id` (24-bit ids, as on the wire).
    pub fn one_time_pre_key(&self, id: u32) -> Result<KeyPair, String> {
        derive_key(&self.secret, &format!("pre-key/{}/{id}", self.user))
    }
}

/// The identity a phone signs its companions with (its account key).
pub fn phone_identity(secret: &[u8; 32], user: &str) -> Result<KeyPair, String> {
    derive_key(secret, &format!("identity/{user}"))
}

fn derive_key(secret: &[u8; 32], label: &str) -> Result<KeyPair, String> {
    key_pair(&hmac_sha256(secret, label.as_bytes()))
}

/// What a companion uploaded for others to start sessions with it.
#[derive(Debug, Clone)]
pub struct CompanionBundle {
    pub registration_id: u32,
    pub identity: [u8; 32],
    pub signed_pre_key_id: u32,
    pub signed_pre_key: [u8; 32],
    pub signed_pre_key_signature: Vec<u8>,
    /// How many one-time pre-keys it uploaded (the peer never hands them out).
    pub one_time_pre_keys: u32,
}

/// Every phone's Signal sessions, by phone number.
pub type StoredSessions = HashMap<String, HashMap<ProtocolAddress, SessionRecord>>;

pub struct Phones {
    secret: [u8; 32],
    sessions: Mutex<StoredSessions>,
}

impl Phones {
    pub fn new(secret: [u8; 32], sessions: StoredSessions) -> Phones {
        Phones {
            secret,
            sessions: Mutex::new(sessions),
        }
    }

    /// A copy of phone `user`'s sessions, to keep.
    pub async fn sessions_of(&self, user: &str) -> HashMap<ProtocolAddress, SessionRecord> {
        self.sessions
            .lock()
            .await
            .get(user)
            .cloned()
            .unwrap_or_default()
    }

    pub fn keys(&self, user: &str) -> Result<PhoneKeys, String> {
        PhoneKeys::derive(&self.secret, user)
    }

    /// Decrypts what companion `from` encrypted for phone `user` (`pkmsg` or `msg`).
    pub async fn decrypt(
        &self,
        user: &str,
        from: &ProtocolAddress,
        kind: &str,
        ciphertext: &[u8],
    ) -> Result<Vec<u8>, String> {
        let message = match kind {
            "pkmsg" => CiphertextMessage::PreKeySignalMessage(
                PreKeySignalMessage::try_from(ciphertext).map_err(|e| e.to_string())?,
            ),
            "msg" => CiphertextMessage::SignalMessage(
                SignalMessage::try_from(ciphertext).map_err(|e| e.to_string())?,
            ),
            other => return Err(format!("cannot decrypt '{other}' messages")),
        };
        let keys = self.keys(user)?;
        let mut all = self.sessions.lock().await;
        let mut sessions = all.remove(user).unwrap_or_default();
        let mut rng = rand::make_rng::<rand::rngs::StdRng>();
        let result = message_decrypt(
            &message,
            from,
            &mut Sessions(&mut sessions),
            &mut Identity(&keys),
            &mut PreKeys(&keys),
            &PreKeys(&keys),
            &mut rng,
            UsePQRatchet::No,
        )
        .await;
        all.insert(user.to_string(), sessions);
        result.map(|done| done.plaintext).map_err(|e| e.to_string())
    }

    /// Encrypts `plaintext` from phone `user` to companion `to`: on the session the phone
    /// has with it, or on a new one from the companion's uploaded bundle when it has none
    /// (or one with another identity). Returns the `enc` type (`pkmsg` or `msg`), the
    /// ciphertext, and whether it went on a session the phone had.
    pub async fn encrypt(
        &self,
        user: &str,
        to: &ProtocolAddress,
        device: u32,
        bundle: &CompanionBundle,
        plaintext: &[u8],
    ) -> Result<(&'static str, Vec<u8>, bool), String> {
        let key = |bytes: &[u8]| {
            whatsapp_rust::wacore::libsignal::protocol::PublicKey::from_djb_public_key_bytes(bytes)
                .map_err(|e| e.to_string())
        };
        let bundle = PreKeyBundle::new(
            bundle.registration_id,
            device.into(),
            None,
            SignedPreKeyId::from(bundle.signed_pre_key_id),
            key(&bundle.signed_pre_key)?,
            bundle.signed_pre_key_signature.clone(),
            IdentityKey::new(key(&bundle.identity)?),
        )
        .map_err(|e| e.to_string())?;
        let keys = self.keys(user)?;
        let mut all = self.sessions.lock().await;
        let mut sessions = all.remove(user).unwrap_or_default();
        let mut rng = rand::make_rng::<rand::rngs::StdRng>();
        // A session with another identity is the companion's former self: start afresh.
        let current = sessions.get(to).and_then(|record| {
            let state = record.session_state()?;
            let remote = state.remote_identity_key_bytes().ok()??;
            Some(
                remote.get(1..)
                    == Some(bundle.identity_key().ok()?.public_key().public_key_bytes()),
            )
        });
        if current != Some(true) {
            sessions.remove(to);
        }
        let result = async {
            if current != Some(true) {
                process_prekey_bundle(
                    to,
                    &mut Sessions(&mut sessions),
                    &mut Identity(&keys),
                    &bundle,
                    &mut rng,
                    UsePQRatchet::No,
                )
                .await?;
            }
            message_encrypt(
                plaintext,
                to,
                &mut Sessions(&mut sessions),
                &mut Identity(&keys),
            )
            .await
        }
        .await;
        all.insert(user.to_string(), sessions);
        match result.map_err(|e| e.to_string())? {
            CiphertextMessage::PreKeySignalMessage(message) => Ok((
                "pkmsg",
                message.serialized().to_vec(),
                current == Some(true),
            )),
            CiphertextMessage::SignalMessage(message) => {
                Ok(("msg", message.serialized().to_vec(), current == Some(true)))
            }
            other => Err(format!("cannot send a {:?}", other.message_type())),
        }
    }
}

/// One phone's stores, as libsignal wants them: each its own `&mut`, all borrowed for one
/// operation from the phone's keys and sessions.
struct Sessions<'a>(&'a mut HashMap<ProtocolAddress, SessionRecord>);
struct Identity<'a>(&'a PhoneKeys);
struct PreKeys<'a>(&'a PhoneKeys);

fn signal_error(error: String) -> whatsapp_rust::wacore::libsignal::protocol::SignalProtocolError {
    whatsapp_rust::wacore::libsignal::protocol::SignalProtocolError::InvalidArgument(error)
}

#[async_trait]
impl SessionStore for Sessions<'_> {
    async fn load_session(&self, address: &ProtocolAddress) -> SignalResult<Option<SessionRecord>> {
        Ok(self.0.get(address).cloned())
    }

    async fn has_session(&self, address: &ProtocolAddress) -> SignalResult<bool> {
        Ok(self.0.contains_key(address))
    }

    async fn store_session(
        &mut self,
        address: &ProtocolAddress,
        record: SessionRecord,
    ) -> SignalResult<()> {
        self.0.insert(address.clone(), record);
        Ok(())
    }
}

/// A phone trusts every companion: the peer is not where identities are checked.
#[async_trait]
impl IdentityKeyStore for Identity<'_> {
    async fn get_identity_key_pair(&self) -> SignalResult<IdentityKeyPair> {
        Ok(IdentityKeyPair::new(
            IdentityKey::new(self.0.identity.public_key),
            self.0.identity.private_key.clone(),
        ))
    }

    async fn get_local_registration_id(&self) -> SignalResult<u32> {
        Ok(self.0.registration_id)
    }

    async fn save_identity(
        &mut self,
        _address: &ProtocolAddress,
        _identity: &IdentityKey,
    ) -> SignalResult<IdentityChange> {
        Ok(IdentityChange::from_changed(false))
    }

    async fn is_trusted_identity(
        &self,
        _address: &ProtocolAddress,
        _identity: &IdentityKey,
        _direction: Direction,
    ) -> SignalResult<bool> {
        Ok(true)
    }

    async fn get_identity(&self, _address: &ProtocolAddress) -> SignalResult<Option<IdentityKey>> {
        Ok(None)
    }
}

#[async_trait]
impl PreKeyStore for PreKeys<'_> {
    async fn get_pre_key(&self, id: PreKeyId) -> SignalResult<PreKeyRecord> {
        let key = self.0.one_time_pre_key(id.into()).map_err(signal_error)?;
        Ok(PreKeyRecord::new(id, &key))
    }

    async fn save_pre_key(&mut self, _id: PreKeyId, _record: &PreKeyRecord) -> SignalResult<()> {
        Ok(())
    }

    /// Derived keys cannot be used up; the companion does not reuse them anyway.
    async fn remove_pre_key(&mut self, _id: PreKeyId) -> SignalResult<()> {
        Ok(())
    }
}

#[async_trait]
impl SignedPreKeyStore for PreKeys<'_> {
    async fn get_signed_pre_key(&self, id: SignedPreKeyId) -> SignalResult<SignedPreKeyRecord> {
        Ok(SignedPreKeyRecord::new(
            id,
            Timestamp::from_epoch_millis(0),
            &self.0.signed_pre_key,
            &self.0.signed_pre_key_signature,
        ))
    }

    async fn save_signed_pre_key(
        &mut self,
        _id: SignedPreKeyId,
        _record: &SignedPreKeyRecord,
    ) -> SignalResult<()> {
        Ok(())
    }
}

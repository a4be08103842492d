//! The peer's memory of who is who: its server key, the phone accounts (number, LID) and
//! their linked companion devices with the key bundles they uploaded, and the phones' Signal
//! sessions. Saved as JSON after every change when a state file is set, so a restarted peer
//! still knows its companions (and they can log in again with IK against the same server
//! key, and go on with the sessions they had). Phone keys are derived from a stored secret
//! ([`Accounts::phones_secret`]), not stored themselves.

use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine as _;
use serde::{Deserialize, Serialize};
use whatsapp_rust::wacore::libsignal::protocol::{KeyPair, ProtocolAddress, SessionRecord};
use whatsapp_rust::Jid;

use super::keys::{new_key_pair, now_secs, random_bytes};
use super::signal::{phone_identity, CompanionBundle, StoredSessions};

/// The first LID user handed out; each account gets the next one.
const FIRST_LID: u64 = 100_000_000_000_001;

#[derive(Serialize, Deserialize)]
struct State {
    server_key: String,
    phones_secret: String,
    next_lid: u64,
    accounts: BTreeMap<String, Account>,
    /// Each phone's Signal sessions: serialized records by `name.device` address.
    #[serde(default)]
    phone_sessions: BTreeMap<String, BTreeMap<String, String>>,
}

#[derive(Clone, Serialize, Deserialize)]
struct Account {
    lid: String,
    raw_id: u32,
    next_device: u16,
    devices: BTreeMap<u16, Companion>,
    banned_until: Option<u64>,
}

#[derive(Clone, Serialize, Deserialize)]
struct Companion {
    noise_key: String,
    identity_key: String,
    removed: bool,
    #[serde(default)]
    bundle: Option<StoredBundle>,
}

#[derive(Clone, Serialize, Deserialize)]
struct StoredBundle {
    registration_id: u32,
    identity: String,
    signed_pre_key_id: u32,
    signed_pre_key: String,
    signed_pre_key_signature: String,
    #[serde(default)]
    one_time_pre_keys: u32,
}

/// What the phone needs to sign a new companion in.
pub struct NewDevice {
    pub phone_key: KeyPair,
    pub raw_id: u32,
    pub device: u16,
    pub jid: String,
    pub lid: String,
}

/// Why a login is refused, as WhatsApp's `failure` stanza says it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    /// 401: unknown or removed device, or not its key.
    LoggedOut,
    /// 402 with the seconds left.
    Banned(u64),
}

pub struct Accounts {
    path: Option<PathBuf>,
    state: State,
}

impl Accounts {
    pub fn load(path: Option<PathBuf>) -> Result<Accounts, String> {
        if let Some(file) = &path {
            match std::fs::read(file) {
                Ok(text) => {
                    let state = serde_json::from_slice(&text)
                        .map_err(|e| format!("{}: {e}", file.display()))?;
                    return Ok(Accounts { path, state });
                }
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => return Err(format!("{}: {e}", file.display())),
            }
        }
        let accounts = Accounts {
            path,
            state: State {
                server_key: B64.encode(new_key_pair().private_key.serialize()),
                phones_secret: B64.encode(random_bytes::<32>()),
                next_lid: FIRST_LID,
                accounts: BTreeMap::new(),
                phone_sessions: BTreeMap::new(),
            },
        };
        accounts.save()?;
        Ok(accounts)
    }

    fn save(&self) -> Result<(), String> {
        let Some(file) = &self.path else {
            return Ok(());
        };
        let text = serde_json::to_vec_pretty(&self.state).map_err(|e| e.to_string())?;
        let temporary = file.with_extension("tmp");
        std::fs::write(&temporary, text)
            .and_then(|()| std::fs::rename(&temporary, file))
            .map_err(|e| format!("{}: {e}", file.display()))
    }

    pub fn server_key(&self) -> [u8; 32] {
        decode32(&self.state.server_key).expect("the server key is 32 bytes")
    }

    /// Replaces the server's Noise key, as WhatsApp rotates its own: clients that cached the
    /// old one fail IK and fall back to XX.
    pub fn new_server_key(&mut self) -> Result<(), String> {
        self.state.server_key = B64.encode(new_key_pair().private_key.serialize());
        self.save()
    }

    /// Every phone's stored Signal sessions, as [`Accounts::set_phone_sessions`] kept them.
    pub fn phone_sessions(&self) -> Result<StoredSessions, String> {
        let mut all = StoredSessions::new();
        for (phone, sessions) in &self.state.phone_sessions {
            let mut records = HashMap::new();
            for (address, record) in sessions {
                let (name, device) = address
                    .rsplit_once('.')
                    .and_then(|(name, device)| Some((name, device.parse::<u32>().ok()?)))
                    .ok_or_else(|| format!("bad session address '{address}'"))?;
                let record = B64
                    .decode(record)
                    .map_err(|e| e.to_string())
                    .and_then(|bytes| SessionRecord::deserialize(&bytes).map_err(|e| e.to_string()))
                    .map_err(|e| format!("session {phone} → {address}: {e}"))?;
                records.insert(ProtocolAddress::new(name, device.into()), record);
            }
            all.insert(phone.clone(), records);
        }
        Ok(all)
    }

    /// Keeps phone `user`'s sessions.
    pub fn set_phone_sessions(
        &mut self,
        user: &str,
        sessions: &HashMap<ProtocolAddress, SessionRecord>,
    ) -> Result<(), String> {
        if self.path.is_none() {
            return Ok(());
        }
        let mut stored = BTreeMap::new();
        for (address, record) in sessions {
            let bytes = record.serialize().map_err(|e| e.to_string())?;
            stored.insert(
                format!("{}.{}", address.name(), u32::from(address.device_id())),
                B64.encode(bytes),
            );
        }
        self.state.phone_sessions.insert(user.to_string(), stored);
        self.save()
    }

    /// What the phones' keys are derived from.
    pub fn phones_secret(&self) -> [u8; 32] {
        decode32(&self.state.phones_secret).expect("the phones' secret is 32 bytes")
    }

    /// The phone number behind `jid` (a phone number JID, or a linked account's LID).
    pub fn phone_of(&self, jid: &Jid) -> Option<String> {
        if jid.is_pn() {
            return Some(jid.user.to_string());
        }
        self.state
            .accounts
            .iter()
            .find(|(_, account)| jid.is_lid() && account.lid == jid.user.as_str())
            .map(|(phone, _)| phone.clone())
    }

    /// The phone `phone` links one more device: its account (created on first use) and the
    /// device id it will get.
    pub fn new_device(&mut self, phone: &str) -> Result<NewDevice, String> {
        let secret = self.phones_secret();
        if !self.state.accounts.contains_key(phone) {
            let lid = self.state.next_lid;
            self.state.next_lid += 1;
            let account = Account {
                lid: lid.to_string(),
                raw_id: u32::from_be_bytes(random_bytes::<4>()),
                next_device: 1,
                devices: BTreeMap::new(),
                banned_until: None,
            };
            self.state.accounts.insert(phone.to_string(), account);
        }
        let account = self.state.accounts.get_mut(phone).expect("inserted");
        let device = account.next_device;
        account.next_device += 1;
        let new = NewDevice {
            phone_key: phone_identity(&secret, phone)?,
            raw_id: account.raw_id,
            device,
            jid: format!("{phone}:{device}@s.whatsapp.net"),
            lid: format!("{}:{device}@lid", account.lid),
        };
        self.save()?;
        Ok(new)
    }

    /// Records a companion once it signed its pairing.
    pub fn add_companion(
        &mut self,
        phone: &str,
        device: u16,
        noise_key: &[u8; 32],
        identity_key: &[u8; 32],
    ) -> Result<(), String> {
        let account = self
            .state
            .accounts
            .get_mut(phone)
            .ok_or_else(|| format!("no account {phone}"))?;
        account.devices.insert(
            device,
            Companion {
                noise_key: B64.encode(noise_key),
                identity_key: B64.encode(identity_key),
                removed: false,
                bundle: None,
            },
        );
        self.save()
    }

    /// Whether `username:device` may log in with Noise static key `noise_key`; its device
    /// JID and LID when it may.
    pub fn login(
        &self,
        username: u64,
        device: u32,
        noise_key: &[u8; 32],
    ) -> Result<(String, String), Refusal> {
        let phone = username.to_string();
        let account = self.state.accounts.get(&phone).ok_or(Refusal::LoggedOut)?;
        let companion = u16::try_from(device)
            .ok()
            .and_then(|device| account.devices.get(&device))
            .ok_or(Refusal::LoggedOut)?;
        if companion.removed || decode32(&companion.noise_key).ok() != Some(*noise_key) {
            return Err(Refusal::LoggedOut);
        }
        if let Some(until) = account.banned_until {
            let now = now_secs();
            if until > now {
                return Err(Refusal::Banned(until - now));
            }
        }
        Ok((
            format!("{phone}:{device}@s.whatsapp.net"),
            format!("{}:{device}@lid", account.lid),
        ))
    }

    /// Unlinks the companion `jid`; false when there was none.
    pub fn remove(&mut self, jid: &str) -> Result<bool, String> {
        let Some(companion) = self.companion_mut(jid) else {
            return Ok(false);
        };
        let was_linked = !companion.removed;
        companion.removed = true;
        self.save()?;
        Ok(was_linked)
    }

    /// Bans the account of companion `jid` for `seconds`.
    pub fn ban(&mut self, jid: &str, seconds: u64) -> Result<(), String> {
        let phone = parse_device(jid)?.0;
        let account = self
            .state
            .accounts
            .get_mut(&phone)
            .ok_or_else(|| format!("no account {phone}"))?;
        account.banned_until = Some(now_secs() + seconds);
        self.save()
    }

    /// The account id the phone of companion `jid` signs with.
    pub fn raw_id(&self, jid: &str) -> Option<u32> {
        let (phone, _) = parse_device(jid).ok()?;
        Some(self.state.accounts.get(&phone)?.raw_id)
    }

    /// The key bundle companion `jid` uploaded, if it did.
    pub fn bundle(&self, jid: &str) -> Option<CompanionBundle> {
        let (phone, device) = parse_device(jid).ok()?;
        let stored = self
            .state
            .accounts
            .get(&phone)?
            .devices
            .get(&device)?
            .bundle
            .clone()?;
        Some(CompanionBundle {
            registration_id: stored.registration_id,
            identity: decode32(&stored.identity).ok()?,
            signed_pre_key_id: stored.signed_pre_key_id,
            signed_pre_key: decode32(&stored.signed_pre_key).ok()?,
            signed_pre_key_signature: B64.decode(&stored.signed_pre_key_signature).ok()?,
            one_time_pre_keys: stored.one_time_pre_keys,
        })
    }

    pub fn set_bundle(&mut self, jid: &str, bundle: CompanionBundle) -> Result<(), String> {
        let companion = self
            .companion_mut(jid)
            .ok_or_else(|| format!("no companion {jid}"))?;
        companion.bundle = Some(StoredBundle {
            registration_id: bundle.registration_id,
            identity: B64.encode(bundle.identity),
            signed_pre_key_id: bundle.signed_pre_key_id,
            signed_pre_key: B64.encode(bundle.signed_pre_key),
            signed_pre_key_signature: B64.encode(&bundle.signed_pre_key_signature),
            one_time_pre_keys: bundle.one_time_pre_keys,
        });
        self.save()
    }

    fn companion_mut(&mut self, jid: &str) -> Option<&mut Companion> {
        let (phone, device) = parse_device(jid).ok()?;
        self.state
            .accounts
            .get_mut(&phone)?
            .devices
            .get_mut(&device)
    }
}

/// `number:device@s.whatsapp.net` → (number, device).
pub fn parse_device(jid: &str) -> Result<(String, u16), String> {
    let parsed: Jid = jid.parse().map_err(|e| format!("bad JID {jid}: {e:?}"))?;
    if !parsed.is_pn() || parsed.device == 0 {
        return Err(format!("{jid} is not a companion device JID"));
    }
    Ok((parsed.user.to_string(), parsed.device))
}

fn decode32(text: &str) -> Result<[u8; 32], String> {
    B64.decode(text)
        .ok()
        .and_then(|bytes| <[u8; 32]>::try_from(bytes).ok())
        .ok_or_else(|| "a stored key is not 32 bytes".to_string())
}

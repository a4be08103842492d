//! `creds.json`: the device's own keys, its identity as the phone signed it, and who it is,
//! as whatsapp-rust's `Device`.

use std::str::FromStr;
use std::sync::Arc;

use serde_json::Value;
use whatsapp_rust::wacore::libsignal::protocol::{KeyPair, PrivateKey, PublicKey};
use whatsapp_rust::wacore::store::Device;
use whatsapp_rust::waproto::whatsapp as wa;
use whatsapp_rust::Jid;

use super::json::{array, bytes, integer};
use super::FolderError;

/// What `creds.json` gives.
pub struct Creds {
    pub device: Device,
    /// The phone number the device is linked to (the user part of `me.id`).
    pub phone: String,
    /// One-time pre-keys below this id were uploaded.
    pub first_unuploaded_pre_key_id: u32,
}

pub fn read(creds: &Value) -> Result<Creds, FolderError> {
    let field = |name: &str| creds.get(name).filter(|v| !v.is_null());
    let incomplete = |what: &str| FolderError::Incomplete(format!("creds.json has no {what}"));
    let me = field("me").ok_or(FolderError::MidPairing)?;
    let me_id = me
        .get("id")
        .and_then(Value::as_str)
        .ok_or(FolderError::MidPairing)?;
    let pn = Jid::from_str(me_id)
        .map_err(|_| FolderError::Corrupt(format!("creds.json: me.id '{me_id}' is not a JID")))?;
    if pn.device == 0 {
        return Err(FolderError::Corrupt(format!(
            "creds.json: me.id '{me_id}' names the phone itself, not a linked device"
        )));
    }
    let lid = match me.get("lid").and_then(Value::as_str) {
        Some(lid) => Some(Jid::from_str(lid).map_err(|_| {
            FolderError::Corrupt(format!("creds.json: me.lid '{lid}' is not a JID"))
        })?),
        None => None,
    };
    let pair = |name: &str| -> Result<KeyPair, FolderError> {
        let value = field(name).ok_or_else(|| incomplete(name))?;
        key_pair(value)
            .ok_or_else(|| FolderError::Corrupt(format!("creds.json: {name} is not a key pair")))
    };
    let noise_key = pair("noiseKey")?;
    let identity_key = pair("signedIdentityKey")?;
    let signed = field("signedPreKey").ok_or_else(|| incomplete("signedPreKey"))?;
    let signed_pre_key = signed.get("keyPair").and_then(key_pair).ok_or_else(|| {
        FolderError::Corrupt("creds.json: signedPreKey.keyPair is not a key pair".into())
    })?;
    let signed_pre_key_signature =
        signed
            .get("signature")
            .and_then(array::<64>)
            .ok_or_else(|| {
                FolderError::Corrupt("creds.json: signedPreKey.signature is not 64 bytes".into())
            })?;
    let signed_pre_key_id = signed
        .get("keyId")
        .and_then(integer)
        .and_then(|id| u32::try_from(id).ok())
        .ok_or_else(|| incomplete("signedPreKey.keyId"))?;
    let registration_id = field("registrationId")
        .and_then(integer)
        .and_then(|id| u32::try_from(id).ok())
        .ok_or_else(|| incomplete("registrationId"))?;
    let adv_secret_key = field("advSecretKey")
        .and_then(array::<32>)
        .ok_or_else(|| incomplete("advSecretKey (32 bytes)"))?;
    let account = field("account").ok_or_else(|| incomplete("account (the phone's signature)"))?;
    let account_bytes = |name: &str| {
        account
            .get(name)
            .and_then(bytes)
            .ok_or_else(|| FolderError::Corrupt(format!("creds.json: account.{name} is missing")))
    };
    let account = wa::ADVSignedDeviceIdentity {
        details: Some(account_bytes("details")?),
        account_signature_key: account.get("accountSignatureKey").and_then(bytes),
        account_signature: Some(account_bytes("accountSignature")?),
        device_signature: Some(account_bytes("deviceSignature")?),
    };
    let counter = |name: &str| {
        field(name)
            .and_then(integer)
            .and_then(|n| u32::try_from(n).ok())
    };
    let next_pre_key_id = counter("nextPreKeyId").unwrap_or(1);
    let first_unuploaded_pre_key_id = counter("firstUnuploadedPreKeyId").unwrap_or(1);

    let mut device = Device::new();
    device.pn = Some(pn.clone());
    device.lid = lid;
    device.registration_id = registration_id;
    device.noise_key = noise_key;
    device.identity_key = identity_key;
    device.signed_pre_key = signed_pre_key;
    device.signed_pre_key_id = signed_pre_key_id;
    device.signed_pre_key_signature = signed_pre_key_signature;
    device.adv_secret_key = adv_secret_key;
    device.account = Some(Arc::new(account));
    device.push_name = me
        .get("name")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_string();
    device.edge_routing_info = field("routingInfo").and_then(bytes);
    device.next_pre_key_id = next_pre_key_id;
    device.first_unupload_pre_key_id = first_unuploaded_pre_key_id;
    device.server_has_prekeys = first_unuploaded_pre_key_id > 1;
    device.last_signed_pre_key_rotation_ms = signed
        .get("timestampS")
        .and_then(integer)
        .map_or(0, |seconds| seconds.saturating_mul(1000));
    Ok(Creds {
        device,
        phone: pn.user.to_string(),
        first_unuploaded_pre_key_id,
    })
}

/// `{private, public}`, 32 bytes each, the public one the private one's.
pub fn key_pair(value: &Value) -> Option<KeyPair> {
    let private = array::<32>(value.get("private")?)?;
    let public = bytes(value.get("public")?)?;
    // Baileys keeps curve keys raw; some records carry the 0x05 type byte in front.
    let public = match public.len() {
        33 if public[0] == 5 => public[1..].to_vec(),
        _ => public,
    };
    let private = PrivateKey::deserialize(&private).ok()?;
    let derived = private.public_key().ok()?;
    if derived.public_key_bytes() != &public[..] {
        return None;
    }
    let public = PublicKey::from_djb_public_key_bytes(&public).ok()?;
    Some(KeyPair::new(public, private))
}

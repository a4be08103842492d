//! QR pairing from the server's and the phone's side: `pair-device` refs out, the scanned QR
//! payload in, the phone-signed `pair-success` out, and the client's `pair-device-sign` checked.
//!
//! What the phone signs (as WhatsApp's primary device does): an `ADVDeviceIdentity`
//! (account id, time, key index), the account signature over
//! `6 0 ‖ details ‖ companion identity key` with the phone's identity key, all wrapped in an
//! HMAC-SHA256 keyed with the ADV secret that only the QR code carried.

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine as _;
use whatsapp_rust::buffa::Message as _;
use whatsapp_rust::wacore::libsignal::crypto::hmac_sha256;
use whatsapp_rust::wacore::libsignal::protocol::{KeyPair, PublicKey};
use whatsapp_rust::wacore::pair::PairUtils;
use whatsapp_rust::wacore_binary::builder::NodeBuilder;
use whatsapp_rust::wacore_binary::node::Node;
use whatsapp_rust::waproto::whatsapp as wa;

use super::keys::{now_secs, public_bytes, sign};
use super::router::SERVER;

const ACCOUNT_SIGNATURE_PREFIX: [u8; 2] = [6, 0];
const DEVICE_SIGNATURE_PREFIX: [u8; 2] = [6, 1];

/// A scanned QR payload: `ref,noise key,identity key,adv secret[,client type]`.
#[derive(Debug, Clone)]
pub struct Qr {
    pub pairing_ref: String,
    pub noise_key: [u8; 32],
    pub identity_key: [u8; 32],
    pub adv_secret: Vec<u8>,
}

impl Qr {
    pub fn parse(text: &str) -> Result<Qr, String> {
        let (pairing_ref, noise_key, identity_key) =
            PairUtils::parse_qr_code(text).map_err(|e| format!("not a WhatsApp QR code: {e}"))?;
        let adv_secret = text
            .split(',')
            .nth(3)
            .and_then(|field| B64.decode(field).ok())
            .filter(|secret| secret.len() == 32)
            .ok_or("the QR code has no 32-byte ADV secret")?;
        Ok(Qr {
            pairing_ref,
            noise_key,
            identity_key,
            adv_secret,
        })
    }
}

/// A fresh ref, the way WhatsApp's look (`2@` + base64).
pub fn new_ref() -> String {
    format!("2@{}", B64.encode(super::keys::random_bytes::<24>()))
}

pub fn pair_device(id: &str, refs: &[String]) -> Node {
    let refs = refs
        .iter()
        .map(|r| NodeBuilder::new("ref").bytes(r.as_bytes().to_vec()).build());
    NodeBuilder::new("iq")
        .attr("from", SERVER)
        .attr("type", "set")
        .attr("id", id)
        .attr("xmlns", "md")
        .attr("t", now_secs().to_string())
        .children([NodeBuilder::new("pair-device").children(refs).build()])
        .build()
}

/// The phone's signed `ADVSignedDeviceIdentityHMAC` for the companion in `qr`.
pub fn device_identity(
    phone_key: &KeyPair,
    raw_id: u32,
    key_index: u32,
    qr: &Qr,
) -> Result<Vec<u8>, String> {
    let details = wa::ADVDeviceIdentity {
        raw_id: Some(raw_id),
        timestamp: Some(now_secs()),
        key_index: Some(key_index),
        account_type: Some(wa::ADVEncryptionType::E2EE),
        device_type: Some(wa::ADVEncryptionType::E2EE),
    }
    .encode_to_vec();
    let signed = [&ACCOUNT_SIGNATURE_PREFIX[..], &details, &qr.identity_key].concat();
    let identity = wa::ADVSignedDeviceIdentity {
        details: Some(details),
        account_signature_key: Some(public_bytes(phone_key).to_vec()),
        account_signature: Some(sign(phone_key, &signed)?.to_vec()),
        device_signature: None,
    }
    .encode_to_vec();
    Ok(wa::ADVSignedDeviceIdentityHMAC {
        hmac: Some(hmac_sha256(&qr.adv_secret, &identity).to_vec()),
        details: Some(identity),
        account_type: Some(wa::ADVEncryptionType::E2EE),
    }
    .encode_to_vec())
}

pub fn pair_success(id: &str, device_identity: Vec<u8>, jid: &str, lid: &str) -> Node {
    NodeBuilder::new("iq")
        .attr("from", SERVER)
        .attr("type", "set")
        .attr("id", id)
        .attr("xmlns", "md")
        .attr("t", now_secs().to_string())
        .children([NodeBuilder::new("pair-success")
            .children([
                NodeBuilder::new("device-identity")
                    .bytes(device_identity)
                    .build(),
                NodeBuilder::new("device")
                    .attr("jid", jid)
                    .attr("lid", lid)
                    .build(),
                NodeBuilder::new("platform").attr("name", "android").build(),
                // A business name becomes the companion's push name. Without one the client
                // waits for the name from app-state sync (which this peer cannot encrypt) on
                // every login, instead of taking WhatsApp's usual reconnect path.
                NodeBuilder::new("biz").attr("name", "wa-peer").build(),
            ])
            .build()])
        .build()
}

/// Checks the companion's answer to `pair-success`: its `pair-device-sign` must carry the
/// identity the phone signed, countersigned with the companion's identity key.
pub fn check_device_sign(answer: &Node, phone_key: &KeyPair, qr: &Qr) -> Result<(), String> {
    if answer.attrs.get("type").map(|t| t.as_str()).as_deref() == Some("error") {
        let error = answer
            .get_optional_child("error")
            .map(|e| format!("{:?}", e.attrs))
            .unwrap_or_default();
        return Err(format!("the client refused the pairing {error}"));
    }
    let blob = answer
        .get_optional_child("pair-device-sign")
        .and_then(|sign| sign.get_optional_child("device-identity"))
        .and_then(|identity| match &identity.content {
            Some(whatsapp_rust::wacore_binary::node::NodeContent::Bytes(bytes)) => Some(bytes),
            _ => None,
        })
        .ok_or("pair-device-sign without a device identity")?;
    let identity = wa::ADVSignedDeviceIdentity::decode_from_slice(blob)
        .map_err(|e| format!("bad device identity: {e}"))?;
    let details = identity.details.as_deref().unwrap_or_default();
    let phone = public_bytes(phone_key);
    // Baileys sends its signature back without the account key, which is the phone's own.
    if identity
        .account_signature_key
        .as_deref()
        .is_some_and(|key| key != &phone[..])
    {
        return Err("the device identity names another phone".into());
    }
    let signed = [
        &DEVICE_SIGNATURE_PREFIX[..],
        details,
        &qr.identity_key,
        &phone,
    ]
    .concat();
    let companion = PublicKey::from_djb_public_key_bytes(&qr.identity_key)
        .map_err(|e| format!("bad companion key: {e}"))?;
    if !companion.verify_signature(
        &signed,
        identity.device_signature.as_deref().unwrap_or_default(),
    ) {
        return Err("the companion's device signature does not verify".into());
    }
    Ok(())
}

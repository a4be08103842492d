//! The peer's server identity: its Noise static key and the certificate chain that vouches
//! for it, plus the key and randomness helpers the other modules share.
//!
//! The chain has the shape the client checks (intermediate with issuer 0, leaf issued by the
//! intermediate, leaf key = the Noise static key) and a correctly signed leaf; only the
//! intermediate's signature by WhatsApp's root cannot be real, which is what the client's
//! `danger-skip-cert-chain-verify` feature skips.

use std::io::Read;

use whatsapp_rust::buffa::{self, Message as _};
use whatsapp_rust::wacore::libsignal::protocol::{KeyPair, PrivateKey};
use whatsapp_rust::waproto::whatsapp::{self as wa, cert_chain::noise_certificate};

/// How long the certificates are valid around their creation (IK is only tried within).
const CERT_PAST: u64 = 3600;
const CERT_FUTURE: u64 = 10 * 365 * 24 * 3600;

pub struct ServerKeys {
    pub static_key: KeyPair,
    /// `CertChain` bytes, sent encrypted in every XX server hello.
    pub cert_chain: Vec<u8>,
}

impl ServerKeys {
    pub fn from_private(private: &[u8; 32]) -> Result<ServerKeys, String> {
        let static_key = key_pair(private)?;
        let cert_chain = cert_chain(public_bytes(&static_key))?;
        Ok(ServerKeys {
            static_key,
            cert_chain,
        })
    }

    pub fn public(&self) -> [u8; 32] {
        public_bytes(&self.static_key)
    }

    pub fn private(&self) -> &[u8; 32] {
        self.static_key.private_key.serialize()
    }
}

fn cert_chain(leaf_key: [u8; 32]) -> Result<Vec<u8>, String> {
    let now = now_secs();
    let root = whatsapp_rust::wacore::crypto::generate_curve_key_pair();
    let intermediate = whatsapp_rust::wacore::crypto::generate_curve_key_pair();
    let intermediate_details = noise_certificate::Details {
        serial: Some(1),
        issuer_serial: Some(0),
        key: Some(public_bytes(&intermediate).to_vec()),
        not_before: Some(now - CERT_PAST),
        not_after: Some(now + CERT_FUTURE),
    }
    .encode_to_vec();
    let leaf_details = noise_certificate::Details {
        serial: Some(2),
        issuer_serial: Some(1),
        key: Some(leaf_key.to_vec()),
        not_before: Some(now - CERT_PAST),
        not_after: Some(now + CERT_FUTURE),
    }
    .encode_to_vec();
    let certificate = |details: Vec<u8>, signer: &KeyPair| {
        let signature = sign(signer, &details)?;
        Ok::<_, String>(wa::cert_chain::NoiseCertificate {
            details: Some(details),
            signature: Some(signature.to_vec()),
        })
    };
    Ok(wa::CertChain {
        leaf: buffa::MessageField::some(certificate(leaf_details, &intermediate)?),
        intermediate: buffa::MessageField::some(certificate(intermediate_details, &root)?),
    }
    .encode_to_vec())
}

pub fn key_pair(private: &[u8; 32]) -> Result<KeyPair, String> {
    let private = PrivateKey::deserialize(private).map_err(|e| format!("bad private key: {e}"))?;
    KeyPair::try_from(private).map_err(|e| format!("bad private key: {e}"))
}

pub fn new_key_pair() -> KeyPair {
    whatsapp_rust::wacore::crypto::generate_curve_key_pair()
}

pub fn public_bytes(key: &KeyPair) -> [u8; 32] {
    let mut out = [0u8; 32];
    out.copy_from_slice(key.public_key.public_key_bytes());
    out
}

/// XEdDSA, as WhatsApp signs certificates and device identities.
pub fn sign(key: &KeyPair, message: &[u8]) -> Result<[u8; 64], String> {
    whatsapp_rust::wacore::crypto::calculate_curve_signature(&key.private_key, message)
        .map_err(|e| format!("cannot sign: {e}"))
}

pub fn random_bytes<const N: usize>() -> [u8; N] {
    let mut bytes = [0u8; N];
    std::fs::File::open("/dev/urandom")
        .and_then(|mut random| random.read_exact(&mut bytes))
        .expect("read /dev/urandom");
    bytes
}

pub fn now_secs() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

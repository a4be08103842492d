//! The responder's half of WhatsApp's Noise handshakes, prologue `WA 6 3` (or `WA 6 2`):
//! XX for new and unknown clients; IK when the client already knows this server's static key
//! (a paired device logging in again), answered with XXfallback when it cached another key.
//! The result is the client's static key, its decrypted `ClientPayload` (registration or
//! login), and transport keys installed on the connection.

use whatsapp_rust::buffa::{self, Message as _};
use whatsapp_rust::wacore::handshake::{NoiseCipher, NoiseHandshake};
use whatsapp_rust::wacore_binary::consts::{
    NOISE_PATTERN_IK, NOISE_PATTERN_XX, NOISE_PATTERN_XXFALLBACK,
};
use whatsapp_rust::waproto::whatsapp as wa;

use super::conn::Conn;
use super::keys::{new_key_pair, public_bytes, ServerKeys};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Xx,
    Ik,
    XxFallback,
}

pub struct Done {
    pub kind: Kind,
    pub client_static: [u8; 32],
    pub payload: wa::ClientPayload,
}

/// Runs the handshake on `conn`. `admit` sees the client's payload as soon as it is known
/// and may refuse it: the connection then ends without an answer, as an unreachable server.
pub async fn respond(
    conn: &mut Conn,
    keys: &ServerKeys,
    admit: impl Fn(&wa::ClientPayload, &[u8; 32]) -> bool,
) -> Result<Done, String> {
    let frame = conn
        .next_frame()
        .await
        .ok_or("the client left before its hello")?;
    let hello = wa::HandshakeMessage::decode_from_slice(&frame)
        .map_err(|e| format!("bad client hello: {e}"))?
        .client_hello
        .into_option()
        .ok_or("no client hello")?;
    let ephemeral = key32(hello.ephemeral.as_deref(), "client ephemeral")?;
    if let (Some(static_key), Some(payload)) = (hello.r#static.as_deref(), hello.payload.as_deref())
    {
        // IK fails when the client encrypted to another server key: fall back to XX.
        if let Ok(ik) = ik(keys, &conn.header(), &ephemeral, static_key, payload) {
            if !admit(&ik.payload, &ik.client_static) {
                return Err("refused".into());
            }
            conn.send_frame(&ik.server_hello);
            conn.start_transport(ik.read, ik.write);
            return Ok(Done {
                kind: Kind::Ik,
                client_static: ik.client_static,
                payload: ik.payload,
            });
        }
        return xx(conn, keys, NOISE_PATTERN_XXFALLBACK, &ephemeral, admit).await;
    }
    xx(conn, keys, NOISE_PATTERN_XX, &ephemeral, admit).await
}

/// XX, or XXfallback after a failed IK (same messages, another protocol name).
async fn xx(
    conn: &mut Conn,
    keys: &ServerKeys,
    pattern: &str,
    client_ephemeral: &[u8; 32],
    admit: impl Fn(&wa::ClientPayload, &[u8; 32]) -> bool,
) -> Result<Done, String> {
    let noise = |e: whatsapp_rust::wacore::handshake::HandshakeError| e.to_string();
    let mut hs = NoiseHandshake::new(pattern, &conn.header()).map_err(noise)?;
    hs.authenticate(client_ephemeral);
    let ephemeral = new_key_pair();
    hs.authenticate(&public_bytes(&ephemeral));
    hs.mix_shared_secret(ephemeral.private_key.serialize(), client_ephemeral)
        .map_err(noise)?;
    let static_key = hs.encrypt(&keys.public()).map_err(noise)?;
    hs.mix_shared_secret(keys.private(), client_ephemeral)
        .map_err(noise)?;
    let certificate = hs.encrypt(&keys.cert_chain).map_err(noise)?;
    conn.send_frame(&server_hello(&ephemeral, Some(static_key), certificate));

    let frame = conn
        .next_frame()
        .await
        .ok_or("the client left before its finish")?;
    let finish = wa::HandshakeMessage::decode_from_slice(&frame)
        .map_err(|e| format!("bad client finish: {e}"))?
        .client_finish
        .into_option()
        .ok_or("no client finish")?;
    let client_static = hs
        .decrypt(finish.r#static.as_deref().unwrap_or_default())
        .map_err(noise)?;
    let client_static = key32(Some(&client_static), "client static")?;
    hs.mix_shared_secret(ephemeral.private_key.serialize(), &client_static)
        .map_err(noise)?;
    let payload = hs
        .decrypt(finish.payload.as_deref().unwrap_or_default())
        .map_err(noise)?;
    let payload = wa::ClientPayload::decode_from_slice(&payload)
        .map_err(|e| format!("bad client payload: {e}"))?;
    if !admit(&payload, &client_static) {
        return Err("refused".into());
    }
    // finish() splits as the initiator sees it: its write key is our read key.
    let (read, write) = hs.finish().map_err(noise)?;
    conn.start_transport(read, write);
    Ok(Done {
        kind: if pattern == NOISE_PATTERN_XX {
            Kind::Xx
        } else {
            Kind::XxFallback
        },
        client_static,
        payload,
    })
}

struct Ik {
    server_hello: Vec<u8>,
    client_static: [u8; 32],
    payload: wa::ClientPayload,
    read: NoiseCipher,
    write: NoiseCipher,
}

fn ik(
    keys: &ServerKeys,
    header: &[u8; 4],
    client_ephemeral: &[u8; 32],
    encrypted_static: &[u8],
    encrypted_payload: &[u8],
) -> Result<Ik, String> {
    let noise = |e: whatsapp_rust::wacore::handshake::HandshakeError| e.to_string();
    let mut hs = NoiseHandshake::new(NOISE_PATTERN_IK, header).map_err(noise)?;
    hs.authenticate(&keys.public());
    hs.authenticate(client_ephemeral);
    hs.mix_shared_secret(keys.private(), client_ephemeral)
        .map_err(noise)?;
    let client_static = key32(
        Some(&hs.decrypt(encrypted_static).map_err(noise)?),
        "client static",
    )?;
    hs.mix_shared_secret(keys.private(), &client_static)
        .map_err(noise)?;
    let payload = hs.decrypt(encrypted_payload).map_err(noise)?;
    let payload = wa::ClientPayload::decode_from_slice(&payload)
        .map_err(|e| format!("bad client payload: {e}"))?;
    let ephemeral = new_key_pair();
    hs.authenticate(&public_bytes(&ephemeral));
    hs.mix_shared_secret(ephemeral.private_key.serialize(), client_ephemeral)
        .map_err(noise)?;
    hs.mix_shared_secret(ephemeral.private_key.serialize(), &client_static)
        .map_err(noise)?;
    // The client only authenticates this payload; the chain is what a server would send.
    let sealed = hs.encrypt(&keys.cert_chain).map_err(noise)?;
    let (read, write) = hs.finish().map_err(noise)?;
    Ok(Ik {
        // No static key in the answer: IK accepted.
        server_hello: server_hello(&ephemeral, None, sealed),
        client_static,
        payload,
        read,
        write,
    })
}

fn server_hello(
    ephemeral: &whatsapp_rust::wacore::libsignal::protocol::KeyPair,
    static_key: Option<Vec<u8>>,
    payload: Vec<u8>,
) -> Vec<u8> {
    wa::HandshakeMessage {
        server_hello: buffa::MessageField::some(wa::handshake_message::ServerHello {
            ephemeral: Some(public_bytes(ephemeral).to_vec()),
            r#static: static_key,
            payload: Some(payload),
            ..Default::default()
        }),
        ..Default::default()
    }
    .encode_to_vec()
}

fn key32(bytes: Option<&[u8]>, what: &str) -> Result<[u8; 32], String> {
    bytes
        .and_then(|bytes| <[u8; 32]>::try_from(bytes).ok())
        .ok_or_else(|| format!("{what} is not 32 bytes"))
}

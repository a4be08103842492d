//! One client connection as bytes, frames and stanzas: strips the client's `WA` prologue,
//! splits the 3-byte length-prefixed frames, and after the handshake encrypts and decrypts
//! them with the Noise transport keys (AES-GCM, one counter per direction) around
//! wacore-binary's stanza encoding, in the token dictionary the prologue names (see
//! [`Dictionary`]).
//!
//! Whoever carries the bytes (in-process channels, a WebSocket) implements [`ToClient`] and
//! hands the peer a [`Wire`]; the connection is owned by one task, so frames leave in counter
//! order.

use whatsapp_rust::bytes::Bytes;
use whatsapp_rust::wacore::framing::{encode_frame, FrameDecoder};
use whatsapp_rust::wacore::handshake::NoiseCipher;
use whatsapp_rust::wacore_binary::consts::WA_CONN_HEADER;
use whatsapp_rust::wacore_binary::marshal::{marshal, unmarshal_ref};
use whatsapp_rust::wacore_binary::node::Node;
use whatsapp_rust::wacore_binary::util::unpack;

use tokio::sync::mpsc;

use super::dictionary::{self, Dictionary};

/// How the peer ends a connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Close {
    /// The server closes the stream (after a `stream:error`, or a recycle).
    Normal,
    /// The connection breaks: no goodbye, as a network failure looks.
    Reset,
}

/// The way back to the client.
pub trait ToClient: Send + Sync {
    /// Delivers bytes; false once the client is gone.
    fn send(&self, data: Vec<u8>) -> bool;
    fn close(&self, how: Close);
}

/// A client connection as the peer receives it.
pub struct Wire {
    /// Bytes the client sent, in chunks as they arrived; closed when the client hung up.
    pub from_client: mpsc::UnboundedReceiver<Bytes>,
    pub to_client: Box<dyn ToClient>,
}

struct Transport {
    read: NoiseCipher,
    write: NoiseCipher,
    read_counter: u32,
    write_counter: u32,
}

pub struct Conn {
    wire: Wire,
    decoder: FrameDecoder,
    /// Bytes before the prologue was seen (it may arrive split).
    prologue: Option<Vec<u8>>,
    /// The header the client opened with, which the handshake mixes in.
    header: [u8; 4],
    dictionary: Dictionary,
    transport: Option<Transport>,
}

impl Conn {
    pub fn new(wire: Wire) -> Conn {
        Conn {
            wire,
            decoder: FrameDecoder::new(),
            prologue: Some(Vec::new()),
            header: WA_CONN_HEADER,
            dictionary: Dictionary::V3,
            transport: None,
        }
    }

    /// The next raw frame; `None` once the client closed or broke the framing. Cancel-safe:
    /// the only await is the channel receive.
    pub async fn next_frame(&mut self) -> Option<Vec<u8>> {
        loop {
            if let Some(frame) = self.decoder.decode_frame() {
                return Some(frame.to_vec());
            }
            let chunk = self.wire.from_client.recv().await?;
            match self.prologue.as_mut() {
                None => self.decoder.feed(&chunk),
                Some(seen) => {
                    seen.extend_from_slice(&chunk);
                    if seen.len() < WA_CONN_HEADER.len() {
                        continue;
                    }
                    // The peer never sends edge routing, so the client never prefixes it.
                    let header = &seen[..WA_CONN_HEADER.len()];
                    self.dictionary = Dictionary::from_header(header)?;
                    self.header.copy_from_slice(header);
                    let rest = seen.split_off(WA_CONN_HEADER.len());
                    self.prologue = None;
                    self.decoder.feed(&rest);
                }
            }
        }
    }

    /// The `WA` header the client sent: the handshake's prologue.
    pub fn header(&self) -> [u8; 4] {
        self.header
    }

    /// The token dictionary the client's stanzas use.
    pub fn dictionary(&self) -> Dictionary {
        self.dictionary
    }

    /// Sends a handshake frame (no encryption).
    pub fn send_frame(&self, payload: &[u8]) -> bool {
        match encode_frame(payload, None) {
            Ok(frame) => self.wire.to_client.send(frame),
            Err(_) => false,
        }
    }

    /// Switches to the transport phase with the handshake's keys.
    pub fn start_transport(&mut self, read: NoiseCipher, write: NoiseCipher) {
        self.transport = Some(Transport {
            read,
            write,
            read_counter: 0,
            write_counter: 0,
        });
    }

    /// The next stanza; `None` once the client closed. A frame that does not decrypt or
    /// decode is an error: the counters are out of step and nothing after it can be read.
    pub async fn recv_node(&mut self) -> Option<Result<Node, String>> {
        let mut frame = self.next_frame().await?;
        let Some(transport) = self.transport.as_mut() else {
            return Some(Err("no transport keys yet".into()));
        };
        let counter = transport.read_counter;
        transport.read_counter += 1;
        if let Err(e) = transport
            .read
            .decrypt_in_place_with_counter(counter, &mut frame)
        {
            return Some(Err(format!("cannot decrypt frame {counter}: {e}")));
        }
        let dictionary = self.dictionary;
        Some(
            unpack(&frame)
                .map_err(|e| format!("cannot unpack frame {counter}: {e}"))
                .and_then(|plain| match dictionary {
                    Dictionary::V3 => Ok(plain.into_owned()),
                    Dictionary::V2 => dictionary::to_v3(&plain)
                        .map_err(|e| format!("cannot read frame {counter} as dictionary 2: {e}")),
                })
                .and_then(|plain| {
                    unmarshal_ref(&plain)
                        .map(|node| node.to_owned())
                        .map_err(|e| format!("cannot decode frame {counter}: {e}"))
                }),
        )
    }

    /// Sends a stanza; false once the client is gone.
    pub fn send_node(&mut self, node: &Node) -> bool {
        let Some(transport) = self.transport.as_mut() else {
            return false;
        };
        let Ok(mut plain) = marshal(node) else {
            return false;
        };
        if self.dictionary == Dictionary::V2 {
            // Past the flag byte, which says the stanza is not compressed.
            let Ok(v2) = dictionary::to_v2(&plain[1..]) else {
                return false;
            };
            plain.truncate(1);
            plain.extend_from_slice(&v2);
        }
        let counter = transport.write_counter;
        transport.write_counter += 1;
        match transport.write.encrypt_with_counter(counter, &plain) {
            Ok(sealed) => self.send_frame(&sealed),
            Err(_) => false,
        }
    }

    pub fn close(&self, how: Close) {
        self.wire.to_client.close(how);
    }
}

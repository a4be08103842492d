//! The peer on a loopback WebSocket, as WhatsApp Web reaches `wss://web.whatsapp.com/ws/chat`
//! (here plain `ws://`): every binary message carries bytes of the client's stream (prologue,
//! then 3-byte length-prefixed frames), exactly what whatsapp-rust's production transport
//! sends and expects.

use futures::{SinkExt, StreamExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;
use tokio_websockets::{CloseCode, Message, ServerBuilder};
use tracing::debug;
use whatsapp_rust::bytes::Bytes;

use super::conn::{Close, ToClient, Wire};
use super::Peer;

/// The path WhatsApp Web connects to.
pub const PATH: &str = "/ws/chat";

/// Accepts WebSocket clients on `listener` for as long as the task runs.
pub async fn listen(peer: Peer, listener: TcpListener) {
    while let Ok((stream, _)) = listener.accept().await {
        tokio::spawn(serve(peer.clone(), stream));
    }
}

enum Out {
    Data(Vec<u8>),
    Close(Close),
}

struct WsSide(mpsc::UnboundedSender<Out>);

impl ToClient for WsSide {
    fn send(&self, data: Vec<u8>) -> bool {
        self.0.send(Out::Data(data)).is_ok()
    }

    fn close(&self, how: Close) {
        let _ = self.0.send(Out::Close(how));
    }
}

async fn serve(peer: Peer, stream: TcpStream) {
    let (request, ws) = match ServerBuilder::new().accept(stream).await {
        Ok(accepted) => accepted,
        Err(error) => return debug!(%error, "wa-peer: not a WebSocket client"),
    };
    let (mut sink, mut incoming) = ws.split();
    if request.uri().path() != PATH {
        let _ = sink
            .send(Message::close(
                Some(CloseCode::POLICY_VIOLATION),
                "no such path",
            ))
            .await;
        return;
    }
    let (to_peer, from_client) = mpsc::unbounded_channel();
    let (out, mut outgoing) = mpsc::unbounded_channel();
    peer.serve(Wire {
        from_client,
        to_client: Box::new(WsSide(out)),
    });
    loop {
        tokio::select! {
            message = incoming.next() => match message {
                Some(Ok(message)) if message.is_binary() => {
                    if to_peer.send(Bytes::from(message.into_payload())).is_err() {
                        break;
                    }
                }
                Some(Ok(message)) if message.is_close() => break,
                Some(Ok(_)) => {}
                Some(Err(_)) | None => break,
            },
            out = outgoing.recv() => match out {
                Some(Out::Data(data)) => {
                    if sink.send(Message::binary(Bytes::from(data))).await.is_err() {
                        break;
                    }
                }
                Some(Out::Close(Close::Normal)) => {
                    let _ = sink.send(Message::close(Some(CloseCode::NORMAL_CLOSURE), "")).await;
                    break;
                }
                // A broken connection says nothing: the socket just goes away.
                Some(Out::Close(Close::Reset)) | None => break,
            },
        }
    }
}

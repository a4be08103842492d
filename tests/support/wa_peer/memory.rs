//! The peer behind whatsapp-rust's transport trait, without sockets: every
//! `create_transport` is a new "TCP connection" served by the peer. Bytes travel as they
//! would on the wire (the client adds the prologue and framing itself), and closes map to
//! the transport events a WebSocket would produce.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use tokio::sync::mpsc;
use whatsapp_rust::bytes::Bytes;
use whatsapp_rust::transport::{DisconnectReason, Transport, TransportEvent, TransportFactory};
use whatsapp_rust::{anyhow, async_channel};

use super::conn::{Close, ToClient, Wire};
use super::Peer;

/// A `TransportFactory` whose connections all reach `peer`.
pub struct MemoryFactory {
    pub peer: Peer,
}

#[async_trait]
impl TransportFactory for MemoryFactory {
    async fn create_transport(
        &self,
    ) -> Result<(Arc<dyn Transport>, async_channel::Receiver<TransportEvent>), anyhow::Error> {
        let (to_peer, from_client) = mpsc::unbounded_channel();
        let (events, event_stream) = async_channel::unbounded();
        let _ = events.try_send(TransportEvent::Connected);
        let link = Arc::new(Link {
            events,
            closed: AtomicBool::new(false),
        });
        self.peer.serve(Wire {
            from_client,
            to_client: Box::new(PeerSide(link.clone())),
        });
        Ok((
            Arc::new(MemoryTransport {
                to_peer: Mutex::new(Some(to_peer)),
                link,
            }),
            event_stream,
        ))
    }
}

/// What both ends share: the client's event channel, closed once either end closes.
struct Link {
    events: async_channel::Sender<TransportEvent>,
    closed: AtomicBool,
}

impl Link {
    /// The last event of a connection; later sends are dropped.
    fn end(&self, reason: DisconnectReason) {
        if !self.closed.swap(true, Ordering::SeqCst) {
            let _ = self.events.try_send(TransportEvent::Disconnected(reason));
        }
    }
}

struct MemoryTransport {
    to_peer: Mutex<Option<mpsc::UnboundedSender<Bytes>>>,
    link: Arc<Link>,
}

#[async_trait]
impl Transport for MemoryTransport {
    async fn send(&self, data: Bytes) -> Result<(), anyhow::Error> {
        let sent = self
            .to_peer
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .as_ref()
            .is_some_and(|to_peer| to_peer.send(data).is_ok());
        if sent && !self.link.closed.load(Ordering::SeqCst) {
            Ok(())
        } else {
            Err(anyhow::anyhow!("connection closed"))
        }
    }

    async fn disconnect(&self) {
        // Dropping the sender is the peer's end of stream.
        self.to_peer
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .take();
        self.link.end(DisconnectReason::Unknown);
    }
}

struct PeerSide(Arc<Link>);

impl ToClient for PeerSide {
    fn send(&self, data: Vec<u8>) -> bool {
        !self.0.closed.load(Ordering::SeqCst)
            && self
                .0
                .events
                .try_send(TransportEvent::DataReceived(Bytes::from(data)))
                .is_ok()
    }

    fn close(&self, how: Close) {
        self.0.end(match how {
            Close::Normal => DisconnectReason::StreamEnded,
            Close::Reset => DisconnectReason::ReadError("connection reset by peer".into()),
        });
    }
}

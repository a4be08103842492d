//! Test builds only (feature `wa-peer`): the real backend against the test WhatsApp peer.
//! Gives each session's client its way to the peer (in-process, or the `--wa-endpoint`
//! WebSocket) and implements the `sim` phone controls on the peer: a scan is the peer's phone
//! scanning the user's current QR code; an event acts on the connection of the user's device;
//! a message is a phone writing to that device; `sent` is what the device wrote, as read.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, Weak};

use async_trait::async_trait;
use whatsapp_rust::prelude::Client;
use whatsapp_rust::transport::TransportFactory;

use super::Shared;
use crate::backend::{Error, PhoneControls};
use crate::protocol::{SentMessage, SimEventKind};
use crate::registry::{PhoneNumber, UserKey};
use crate::wa_peer::control_port::ControlClient;
use crate::wa_peer::memory::MemoryFactory;
use crate::wa_peer::{Kick, Peer, PeerControl};

pub struct PeerHooks {
    /// The peer in this process, when there is one (otherwise clients use `--wa-endpoint`).
    in_process: Option<Peer>,
    controls: Arc<dyn PeerControl>,
    sessions: Mutex<HashMap<UserKey, View>>,
}

/// What the phone controls need of a session, held weakly: the session owns them.
struct View {
    shared: Weak<Shared>,
    client: Weak<Client>,
}

impl PeerHooks {
    /// A peer in this process: clients reach it through an in-memory transport.
    pub fn in_process(peer: Peer) -> Arc<PeerHooks> {
        Arc::new(PeerHooks {
            in_process: Some(peer.clone()),
            controls: Arc::new(peer),
            sessions: Mutex::new(HashMap::new()),
        })
    }

    /// A peer in another process, controlled on its control port.
    pub fn remote(control: SocketAddr) -> Arc<PeerHooks> {
        Arc::new(PeerHooks {
            in_process: None,
            controls: Arc::new(ControlClient { address: control }),
            sessions: Mutex::new(HashMap::new()),
        })
    }

    /// A new session's way to an in-process peer.
    pub(super) fn transport(&self) -> Option<Arc<dyn TransportFactory>> {
        self.in_process
            .as_ref()
            .map(|peer| Arc::new(MemoryFactory { peer: peer.clone() }) as Arc<dyn TransportFactory>)
    }

    pub(super) fn track(&self, user: &UserKey, shared: &Arc<Shared>, client: &Arc<Client>) {
        self.sessions
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(
                user.clone(),
                View {
                    shared: Arc::downgrade(shared),
                    client: Arc::downgrade(client),
                },
            );
    }

    /// The JID of the user's linked device (`number:device@s.whatsapp.net`).
    fn device(&self, user: &UserKey) -> Result<String, Error> {
        let (_, client) = self.session(user)?;
        client
            .pn()
            .map(|jid| jid.to_string())
            .ok_or_else(|| Error::NotReady(format!("{user} has no live session")))
    }

    fn session(&self, user: &UserKey) -> Result<(Arc<Shared>, Arc<Client>), Error> {
        let sessions = self.sessions.lock().unwrap_or_else(|p| p.into_inner());
        sessions
            .get(user)
            .and_then(|view| Some((view.shared.upgrade()?, view.client.upgrade()?)))
            .filter(|(shared, _)| !shared.closing.load(std::sync::atomic::Ordering::SeqCst))
            .ok_or_else(|| Error::NotReady(format!("{user} has no session")))
    }
}

fn refused(error: String) -> Error {
    Error::NotReady(format!("the test peer refused: {error}"))
}

#[async_trait]
impl PhoneControls for PeerHooks {
    async fn scan(&self, user: &UserKey, phone: &PhoneNumber) -> Result<(), Error> {
        let (shared, _) = self.session(user)?;
        let qr = shared
            .last_qr
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
            .ok_or_else(|| Error::NotReady(format!("{user} has no QR code to scan")))?;
        self.controls
            .scan(&qr, phone.as_str())
            .await
            .map(drop)
            .map_err(refused)
    }

    async fn event(&self, user: &UserKey, event: SimEventKind) -> Result<(), Error> {
        let device = self.device(user)?;
        let kick = match event {
            SimEventKind::Replaced => Kick::Replaced,
            SimEventKind::LoggedOut => Kick::LoggedOut,
            SimEventKind::NetworkDrop => Kick::Drop,
            SimEventKind::NetworkLost => Kick::Unreachable,
            SimEventKind::TemporaryBan => Kick::TemporaryBan,
            SimEventKind::ClientOutdated => Kick::ClientOutdated,
            SimEventKind::HangingClose => {
                return Err(Error::NotReady(
                    "the test peer cannot make a close hang".into(),
                ))
            }
        };
        self.controls.kick(&device, kick).await.map_err(refused)
    }

    async fn message(&self, user: &UserKey, from: &PhoneNumber, text: &str) -> Result<(), Error> {
        let device = self.device(user)?;
        self.controls
            .deliver(&device, from.as_str(), text)
            .await
            .map(drop)
            .map_err(refused)
    }

    async fn sent(&self, user: &UserKey) -> Result<Vec<SentMessage>, Error> {
        let device = self.device(user)?;
        let sent = self.controls.sent(&device).await.map_err(refused)?;
        Ok(sent
            .into_iter()
            .map(|sent| SentMessage {
                to: sent.to,
                text: sent.text,
                message_id: sent.message_id,
            })
            .collect())
    }

    async fn peer(&self) -> Result<serde_json::Value, Error> {
        let counters = self.controls.counters().await.map_err(refused)?;
        serde_json::to_value(counters).map_err(|error| Error::Store(error.to_string()))
    }
}

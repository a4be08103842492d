//! The simulated backend: a stand-in for WhatsApp's servers *and* the user's phone, for tests
//! and demos. It issues QR codes on WhatsApp's schedule and lets a test act as the phone
//! (`wasess sim scan|event|message`). It reports through the same [`BackendEvent`]s as the real
//! backend, so the supervisor, registry and events above it run exactly as in production.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use async_trait::async_trait;
use tokio::task::JoinHandle;

use super::{
    Backend, BackendEvent, Error, EventKind, EventSender, IncomingMessage, PhoneControls, Session,
    StartMode, StartRequest,
};
use crate::protocol::{SentMessage, SimEventKind};
use crate::registry::credentials::SessionStore;
use crate::registry::{PhoneNumber, UserKey};
use crate::time::{Clock, SystemClock};

/// How long a temporary ban lasts in the simulation.
const BAN_DURATION: Duration = Duration::from_secs(3600);

/// When QR codes rotate (WhatsApp's own: 6 codes, the first valid 60 s, the others 20 s),
/// and how long a stuck connection hangs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct QrSchedule {
    pub first: Duration,
    pub next: Duration,
    pub codes: u32,
    /// How long a close or a logout hangs after `sim event hanging-close`.
    pub hang: Duration,
}

impl Default for QrSchedule {
    fn default() -> Self {
        QrSchedule {
            first: Duration::from_secs(60),
            next: Duration::from_secs(20),
            codes: 6,
            hang: Duration::from_secs(30),
        }
    }
}

#[derive(Clone)]
pub struct SimulatedBackend {
    shared: Arc<Shared>,
}

struct Shared {
    schedule: QrSchedule,
    sessions: Mutex<HashMap<UserKey, Simulated>>,
    message_ids: AtomicU64,
}

/// One simulated session: the phone's side and the server's side in one.
struct Simulated {
    generation: u64,
    events: EventSender,
    credentials: Arc<SessionStore>,
    phase: Phase,
    network_down: bool,
    /// The connection is stuck (`sim event hanging-close`): closing it, or logging out over
    /// it, hangs for the schedule's `hang`.
    hanging_close: bool,
    sent: Vec<SentMessage>,
    rotation: Option<JoinHandle<()>>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Phase {
    Pairing { pair_code_for: Option<PhoneNumber> },
    Live { phone: PhoneNumber },
}

impl Simulated {
    /// What sends this session's events, to use once the sessions lock is released (a full
    /// queue makes the sender wait).
    fn outlet(&self, user: &UserKey) -> Outlet {
        Outlet {
            user: user.clone(),
            generation: self.generation,
            events: self.events.clone(),
        }
    }
}

/// One session's event sender, outside the sessions lock.
struct Outlet {
    user: UserKey,
    generation: u64,
    events: EventSender,
}

impl Outlet {
    async fn emit(&self, kind: EventKind) {
        // False means the session ended; nothing is left to tell.
        self.events
            .send(BackendEvent {
                user: self.user.clone(),
                generation: self.generation,
                kind,
            })
            .await;
    }
}

impl Drop for Simulated {
    fn drop(&mut self) {
        if let Some(rotation) = self.rotation.take() {
            rotation.abort();
        }
    }
}

impl SimulatedBackend {
    pub fn new(schedule: QrSchedule) -> SimulatedBackend {
        SimulatedBackend {
            shared: Arc::new(Shared {
                schedule,
                sessions: Mutex::new(HashMap::new()),
                message_ids: AtomicU64::new(1),
            }),
        }
    }
}

impl Shared {
    fn sessions(&self) -> MutexGuard<'_, HashMap<UserKey, Simulated>> {
        // A panic while holding this lock leaves plain data behind; keep serving.
        self.sessions
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

/// A QR payload shaped like WhatsApp's: `ref,noise-key,identity-key,adv-secret`.
fn qr_payload(generation: u64, index: u32) -> String {
    let salt = SystemClock.now().millis();
    format!(
        "2@SIM{generation:06}R{index:02}T{salt},c2ltdWxhdGVkLW5vaXNlLWtleQ==,\
         c2ltdWxhdGVkLWlkZW50aXR5,c2ltdWxhdGVkLWFkdi1zZWNyZXQ="
    )
}

fn pair_code(generation: u64) -> String {
    const ALPHABET: &[u8] = b"ABCDEFGHJKLMNPQRSTVWXYZ123456789";
    let mut seed =
        generation.wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ SystemClock.now().millis() as u64;
    (0..8)
        .map(|_| {
            seed = seed.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1);
            ALPHABET[(seed >> 33) as usize % ALPHABET.len()] as char
        })
        .collect()
}

/// The simulated link is kept as a real credential set: a device whose number is the phone's,
/// written through the session's fenced store like any backend's.
async fn read_credentials(credentials: &SessionStore) -> Result<PhoneNumber, Error> {
    use whatsapp_rust::wacore::store::traits::DeviceStore;
    let device = credentials
        .load()
        .await
        .map_err(|error| Error::Store(error.to_string()))?
        .ok_or(Error::NoCredentials)?;
    let jid = device.pn.ok_or(Error::NoCredentials)?;
    PhoneNumber::parse(&jid.user).map_err(|error| Error::Store(error.to_string()))
}

async fn write_credentials(credentials: &SessionStore, phone: &PhoneNumber) -> Result<(), Error> {
    use whatsapp_rust::wacore::store::traits::DeviceStore;
    use whatsapp_rust::wacore::store::Device;
    let mut device = Device::new();
    device.pn = Some(whatsapp_rust::prelude::Jid::pn(phone.as_str()));
    credentials
        .save(&device)
        .await
        .map_err(|error| Error::Store(error.to_string()))
}

#[async_trait]
impl Backend for SimulatedBackend {
    fn name(&self) -> &'static str {
        "simulated"
    }

    async fn start(&self, request: StartRequest) -> Result<Arc<dyn Session>, Error> {
        let user = request.user.clone();
        let mut session = Simulated {
            generation: request.generation,
            events: request.events.clone(),
            credentials: request.credentials.clone(),
            phase: Phase::Pairing {
                pair_code_for: None,
            },
            network_down: false,
            hanging_close: false,
            sent: Vec::new(),
            rotation: None,
        };
        match &request.mode {
            StartMode::Resume => {
                let phone = read_credentials(&request.credentials).await?;
                session.phase = Phase::Live { phone };
                session.outlet(&user).emit(EventKind::Connected).await;
            }
            StartMode::PairQr => {
                session.rotation = Some(tokio::spawn(rotate_qr_codes(
                    self.shared.schedule,
                    user.clone(),
                    request.generation,
                    request.events.clone(),
                )));
            }
            StartMode::PairCode(phone) => {
                session.phase = Phase::Pairing {
                    pair_code_for: Some(phone.clone()),
                };
                let valid_for = self.shared.schedule.first * 3;
                let outlet = session.outlet(&user);
                outlet
                    .emit(EventKind::PairCode {
                        code: pair_code(request.generation),
                        valid_for,
                    })
                    .await;
                session.rotation = Some(tokio::spawn(async move {
                    tokio::time::sleep(valid_for).await;
                    outlet.emit(EventKind::QrExhausted).await;
                }));
            }
        }
        self.shared.sessions().insert(user.clone(), session);
        Ok(Arc::new(SimulatedSession {
            shared: self.shared.clone(),
            user,
            generation: request.generation,
        }))
    }

    fn phone(&self) -> Option<Arc<dyn PhoneControls>> {
        Some(Arc::new(self.clone()))
    }
}

async fn rotate_qr_codes(
    schedule: QrSchedule,
    user: UserKey,
    generation: u64,
    events: EventSender,
) {
    for index in 0..schedule.codes {
        let valid_for = if index == 0 {
            schedule.first
        } else {
            schedule.next
        };
        let event = BackendEvent {
            user: user.clone(),
            generation,
            kind: EventKind::Qr {
                code: qr_payload(generation, index),
                valid_for,
            },
        };
        if !events.send(event).await {
            return;
        }
        tokio::time::sleep(valid_for).await;
    }
    events
        .send(BackendEvent {
            user,
            generation,
            kind: EventKind::QrExhausted,
        })
        .await;
}

#[async_trait]
impl PhoneControls for SimulatedBackend {
    async fn scan(&self, user: &UserKey, phone: &PhoneNumber) -> Result<(), Error> {
        let (credentials, generation) = {
            let sessions = self.shared.sessions();
            let Some(session) = sessions.get(user) else {
                return Err(Error::NotReady(format!(
                    "{user} has no pairing in progress"
                )));
            };
            let Phase::Pairing { pair_code_for } = &session.phase else {
                return Err(Error::NotReady(format!(
                    "{user} has no pairing in progress"
                )));
            };
            if let Some(expected) = pair_code_for {
                if expected != phone {
                    return Err(Error::NotReady(format!(
                        "the pair code of {user} was issued for {expected}, not {phone}"
                    )));
                }
            }
            (session.credentials.clone(), session.generation)
        };
        // The link's credentials first, as a real client saves its device before it reports
        // the pairing.
        write_credentials(&credentials, phone).await?;
        let outlet = {
            let mut sessions = self.shared.sessions();
            let Some(session) = sessions
                .get_mut(user)
                .filter(|session| session.generation == generation)
            else {
                return Err(Error::NotReady(format!(
                    "{user} has no pairing in progress"
                )));
            };
            if let Some(rotation) = session.rotation.take() {
                rotation.abort();
            }
            session.phase = Phase::Live {
                phone: phone.clone(),
            };
            session.outlet(user)
        };
        outlet
            .emit(EventKind::Paired {
                phone: phone.clone(),
            })
            .await;
        outlet.emit(EventKind::Connected).await;
        Ok(())
    }

    async fn event(&self, user: &UserKey, event: SimEventKind) -> Result<(), Error> {
        let (outlet, kind) = {
            let mut sessions = self.shared.sessions();
            // A connection can get stuck while it pairs, too; the other events need a live
            // session.
            let stuck = matches!(event, SimEventKind::HangingClose);
            let session = match sessions.get_mut(user) {
                Some(session) if stuck || matches!(session.phase, Phase::Live { .. }) => session,
                _ => return Err(Error::NotReady(format!("{user} has no live session"))),
            };
            let kind = match event {
                SimEventKind::Replaced => EventKind::Replaced,
                SimEventKind::LoggedOut => EventKind::LoggedOut {
                    reason: "device unlinked from the phone".into(),
                },
                SimEventKind::NetworkDrop => EventKind::NetworkLost {
                    reason: "connection dropped".into(),
                },
                SimEventKind::NetworkLost => {
                    session.network_down = true;
                    EventKind::NetworkLost {
                        reason: "network unreachable".into(),
                    }
                }
                SimEventKind::TemporaryBan => EventKind::TemporaryBan {
                    code: 402,
                    until: Some(SystemClock.now().plus(BAN_DURATION)),
                },
                SimEventKind::ClientOutdated => EventKind::ClientOutdated,
                SimEventKind::HangingClose => {
                    session.hanging_close = true;
                    return Ok(());
                }
            };
            (session.outlet(user), kind)
        };
        outlet.emit(kind).await;
        Ok(())
    }

    async fn message(&self, user: &UserKey, from: &PhoneNumber, text: &str) -> Result<(), Error> {
        let outlet = {
            let sessions = self.shared.sessions();
            match sessions.get(user) {
                Some(session) if matches!(session.phase, Phase::Live { .. }) => {
                    session.outlet(user)
                }
                _ => return Err(Error::NotReady(format!("{user} has no live session"))),
            }
        };
        let id = self.shared.message_ids.fetch_add(1, Ordering::SeqCst);
        outlet
            .emit(EventKind::Message(IncomingMessage {
                message_id: format!("SIMIN{id:010}"),
                from: Some(from.to_string()),
                chat: from.jid(),
                at: SystemClock.now(),
                message_type: "text".into(),
                text: Some(text.to_string()),
            }))
            .await;
        Ok(())
    }

    async fn sent(&self, user: &UserKey) -> Result<Vec<SentMessage>, Error> {
        let sessions = self.shared.sessions();
        Ok(sessions
            .get(user)
            .map(|session| session.sent.clone())
            .unwrap_or_default())
    }
}

/// The supervisor's handle on one simulated session.
struct SimulatedSession {
    shared: Arc<Shared>,
    user: UserKey,
    generation: u64,
}

impl SimulatedSession {
    /// Waits out the schedule's `hang` when the connection is stuck.
    async fn hang_if_stuck(&self) {
        let hanging = self
            .shared
            .sessions()
            .get(&self.user)
            .is_some_and(|session| session.generation == self.generation && session.hanging_close);
        if hanging {
            tokio::time::sleep(self.shared.schedule.hang).await;
        }
    }

    /// Removes this session (and only this generation of it).
    fn end(&self) {
        let mut sessions = self.shared.sessions();
        if sessions
            .get(&self.user)
            .is_some_and(|session| session.generation == self.generation)
        {
            sessions.remove(&self.user);
        }
    }
}

#[async_trait]
impl Session for SimulatedSession {
    async fn reconnect(&self) -> Result<(), Error> {
        let down = self
            .shared
            .sessions()
            .get(&self.user)
            .filter(|session| session.generation == self.generation)
            .map(|session| session.network_down);
        match down {
            Some(false) => Ok(()),
            Some(true) => Err(Error::Unreachable("network unreachable".into())),
            None => Err(Error::NotReady("the session is closed".into())),
        }
    }

    async fn close(&self) {
        self.hang_if_stuck().await;
        self.end();
    }

    async fn logout(&self) -> Result<(), Error> {
        self.hang_if_stuck().await;
        self.end();
        Ok(())
    }

    async fn send_text(&self, to: &PhoneNumber, text: &str) -> Result<String, Error> {
        let mut sessions = self.shared.sessions();
        let session = match sessions.get_mut(&self.user) {
            Some(session) if session.generation == self.generation => session,
            _ => return Err(Error::NotReady("the session is closed".into())),
        };
        if !matches!(session.phase, Phase::Live { .. }) || session.network_down {
            return Err(Error::Unreachable("the session is not connected".into()));
        }
        let id = self.shared.message_ids.fetch_add(1, Ordering::SeqCst);
        let message_id = format!("SIMOUT{id:010}");
        session.sent.push(SentMessage {
            to: to.to_string(),
            text: text.to_string(),
            message_id: message_id.clone(),
        });
        Ok(message_id)
    }
}

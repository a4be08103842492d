//! One client connection from handshake to close, as a task: a registration payload makes it
//! a pairing connection (QR refs, the phone's scan, then the 515 restart), a login payload a
//! logged-in one (`success` or `failure`, then answering stanzas). Controls reach it as
//! [`Command`]s, so only this task ever writes to the connection.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{mpsc, oneshot};
use tracing::{debug, info};
use whatsapp_rust::wacore_binary::node::Node;
use whatsapp_rust::waproto::whatsapp as wa;

use super::conn::{Close, Conn, Wire};
use super::dictionary::Dictionary;
use super::handshake::{self, Done, Kind};
use super::messaging;
use super::pairing::{self, Qr};
use super::router::{self, Heard};
use super::{Inner, Kick, LiveConnection};

/// The pause between a verified pairing and the 515 restart, as WhatsApp leaves it.
const RESTART_PAUSE: Duration = Duration::from_millis(100);
/// How long the phone waits for the companion to sign the pairing.
const SIGN_TIMEOUT: Duration = Duration::from_secs(20);
/// How long a dictionary-2 client (Baileys) gets to switch to transport keys.
const V2_FIRST_STANZA_DELAY: Duration = Duration::from_millis(100);
/// How long after a dictionary-2 client's pre-key upload its phone shares app-state keys.
const V2_KEY_SHARE_DELAY: Duration = Duration::from_millis(500);

pub enum Command {
    Scan {
        qr: Qr,
        phone: String,
        reply: oneshot::Sender<Result<String, String>>,
    },
    Kick {
        kick: Kick,
        reply: oneshot::Sender<Result<(), String>>,
    },
    Deliver {
        from: String,
        text: String,
        reply: oneshot::Sender<Result<String, String>>,
    },
}

pub async fn run(peer: Arc<Inner>, id: u64, wire: Wire) {
    let mut conn = Conn::new(wire);
    let (commands, mut inbox) = mpsc::unbounded_channel();
    peer.live().connections.insert(
        id,
        LiveConnection {
            commands,
            refs: Vec::new(),
            device: None,
        },
    );
    let outcome = serve(&peer, id, &mut conn, &mut inbox).await;
    {
        let mut live = peer.live();
        let device = live.connections.remove(&id).and_then(|c| c.device);
        if let Some(device) = device {
            live.offline_since.insert(device, std::time::Instant::now());
        }
    }
    match outcome {
        Ok(()) => debug!(connection = id, "wa-peer: connection over"),
        Err(error) => {
            info!(connection = id, %error, "wa-peer: connection ended");
            conn.close(Close::Reset);
        }
    }
}

async fn serve(
    peer: &Inner,
    id: u64,
    conn: &mut Conn,
    inbox: &mut mpsc::UnboundedReceiver<Command>,
) -> Result<(), String> {
    let done =
        handshake::respond(conn, &peer.keys, |payload, key| admit(peer, payload, key)).await?;
    {
        let mut counters = peer.counters();
        match done.kind {
            Kind::Xx => counters.handshakes_xx += 1,
            Kind::Ik => counters.handshakes_ik += 1,
            Kind::XxFallback => counters.handshakes_xx_fallback += 1,
        }
    }
    info!(connection = id, kind = ?done.kind, login = ?done.payload.username, "wa-peer: handshake done");
    if conn.dictionary() == Dictionary::V2 {
        // Baileys switches to transport keys only once the socket took its last handshake
        // message; over a network the first stanza comes a round trip later, on loopback it
        // could come first and be read as a handshake frame.
        tokio::time::sleep(V2_FIRST_STANZA_DELAY).await;
    }
    match done.payload.username {
        None => pairing(peer, id, conn, inbox, &done).await,
        Some(username) => login(peer, id, conn, inbox, &done, username).await,
    }
}

/// Refuses the handshake of a companion made unreachable ([`Kick::Unreachable`]).
fn admit(peer: &Inner, payload: &wa::ClientPayload, key: &[u8; 32]) -> bool {
    let Some(username) = payload.username else {
        return true;
    };
    match peer
        .accounts()
        .login(username, payload.device.unwrap_or(0), key)
    {
        Ok((jid, _)) => !peer.unreachable().contains(&jid),
        // Unknown devices hear why in a `failure` stanza.
        Err(_) => true,
    }
}

async fn pairing(
    peer: &Inner,
    id: u64,
    conn: &mut Conn,
    inbox: &mut mpsc::UnboundedReceiver<Command>,
    done: &Done,
) -> Result<(), String> {
    let plan = peer.config.qr;
    let registration = done
        .payload
        .device_pairing_data
        .as_option()
        .ok_or("neither a login nor a registration")?;
    let identity = registration.e_ident.clone().unwrap_or_default();
    let per_batch = if plan.rotate_every.is_some() {
        1
    } else {
        plan.refs
    };
    let mut issued = 0;
    let mut batches = 0;
    let mut issue = |conn: &mut Conn, count: u32| {
        let refs: Vec<String> = (0..count).map(|_| pairing::new_ref()).collect();
        if let Some(live) = peer.live().connections.get_mut(&id) {
            live.refs.extend(refs.iter().cloned());
        }
        batches += 1;
        conn.send_node(&pairing::pair_device(
            &format!("pair-device-{batches}"),
            &refs,
        ))
    };
    issue(conn, per_batch);
    issued += per_batch;
    let rotate_every = plan.rotate_every.unwrap_or(Duration::MAX);
    let mut rotation = tokio::time::interval_at(
        tokio::time::Instant::now() + rotate_every.min(Duration::from_secs(86_400)),
        rotate_every.min(Duration::from_secs(86_400)),
    );
    let mut exhausted = plan.rotate_every.is_none();
    loop {
        tokio::select! {
            node = conn.recv_node() => match node {
                None => return Ok(()),
                Some(node) => answer_quietly(conn, &node?),
            },
            _ = rotation.tick(), if !exhausted => {
                // An empty pair-device tells the client there are no more codes.
                let count = if issued < plan.refs { 1 } else { 0 };
                issued += count;
                exhausted = count == 0;
                issue(conn, count);
            },
            command = inbox.recv() => match command {
                None => return Ok(()),
                Some(Command::Deliver { reply, .. }) => {
                    let _ = reply.send(Err("the device is still pairing".into()));
                }
                Some(Command::Kick { kick, reply }) => {
                    if matches!(kick, Kick::Drop | Kick::Unreachable) {
                        let _ = reply.send(Ok(()));
                        conn.close(Close::Reset);
                        return Ok(());
                    }
                    let _ = reply.send(Err("the device is still pairing".into()));
                }
                Some(Command::Scan { qr, phone, reply }) => {
                    let outcome = if qr.noise_key != done.client_static || qr.identity_key[..] != identity[..] {
                        Err("the QR code does not belong to this client".to_string())
                    } else {
                        scan(peer, conn, &qr, &phone).await
                    };
                    let paired = outcome.is_ok();
                    let _ = reply.send(outcome);
                    if paired {
                        tokio::time::sleep(RESTART_PAUSE).await;
                        conn.send_node(&router::stream_error("515"));
                        conn.close(Close::Normal);
                        return Ok(());
                    }
                }
            },
        }
    }
}

/// The phone scanned: sign the companion in and wait for its countersignature.
async fn scan(peer: &Inner, conn: &mut Conn, qr: &Qr, phone: &str) -> Result<String, String> {
    let device = peer.accounts().new_device(phone)?;
    let identity = pairing::device_identity(
        &device.phone_key,
        device.raw_id,
        u32::from(device.device),
        qr,
    )?;
    let request = format!("pair-success-{}", device.device);
    conn.send_node(&pairing::pair_success(
        &request,
        identity,
        &device.jid,
        &device.lid,
    ));
    let answer = tokio::time::timeout(SIGN_TIMEOUT, async {
        loop {
            let node = conn.recv_node().await.ok_or("the client left")??;
            let is_answer = node.tag == "iq"
                && node.attrs.get("id").map(|v| v.as_str()).as_deref() == Some(request.as_str());
            if is_answer {
                return Ok::<Node, String>(node);
            }
            answer_quietly(conn, &node);
        }
    })
    .await
    .map_err(|_| "the client did not sign the pairing".to_string())??;
    pairing::check_device_sign(&answer, &device.phone_key, qr)?;
    peer.accounts()
        .add_companion(phone, device.device, &qr.noise_key, &qr.identity_key)?;
    peer.counters().pairings += 1;
    info!(jid = %device.jid, "wa-peer: paired");
    Ok(device.jid)
}

/// Answers IQs on a connection that is not logged in (keepalives); ignores the rest.
fn answer_quietly(conn: &mut Conn, node: &Node) {
    if node.tag == "iq" {
        let kind = node.attrs.get("type").map(|v| v.as_str().into_owned());
        if matches!(kind.as_deref(), Some("get" | "set")) {
            conn.send_node(&router::result(node, Vec::new()));
        }
    }
}

async fn login(
    peer: &Inner,
    id: u64,
    conn: &mut Conn,
    inbox: &mut mpsc::UnboundedReceiver<Command>,
    done: &Done,
    username: u64,
) -> Result<(), String> {
    let device = done.payload.device.unwrap_or(0);
    let verdict = peer.accounts().login(username, device, &done.client_static);
    let (jid, lid) = match verdict {
        Ok(found) => found,
        Err(refusal) => {
            peer.counters().logins_refused += 1;
            info!(username, device, ?refusal, "wa-peer: login refused");
            conn.send_node(&router::failure(&refusal));
            conn.close(Close::Normal);
            return Ok(());
        }
    };
    peer.counters().logins += 1;
    let older = {
        let mut live = peer.live();
        if let Some(live) = live.connections.get_mut(&id) {
            live.device = Some(jid.clone());
        }
        if let Some(since) = live.offline_since.remove(&jid) {
            let gap = u64::try_from(since.elapsed().as_millis()).unwrap_or(u64::MAX);
            peer.counters().gaps_ms.insert(jid.clone(), gap);
        }
        live.connections
            .iter()
            .filter(|(other, c)| **other != id && c.device.as_deref() == Some(jid.as_str()))
            .map(|(_, c)| c.commands.clone())
            .collect::<Vec<_>>()
    };
    if !older.is_empty() {
        peer.counters().double_logins += 1;
        info!(%jid, "wa-peer: device logged in twice; the older connection is replaced");
        for commands in older {
            let (reply, _) = oneshot::channel();
            let _ = commands.send(Command::Kick {
                kick: Kick::Replaced,
                reply,
            });
        }
    }
    info!(%jid, "wa-peer: logged in");
    conn.send_node(&router::success(&lid));
    loop {
        tokio::select! {
            node = conn.recv_node() => {
                let Some(node) = node else { return Ok(()) };
                let node = node?;
                if let Some(reply) = messaging::answer_keys(peer, &jid, &node) {
                    conn.send_node(&reply);
                    if node.get_optional_child("registration").is_some() {
                        peer.counters().key_uploads += 1;
                        if !peer.config.withhold_app_state_keys {
                            if conn.dictionary() == Dictionary::V2 {
                                // Over a network the phone's keys come well after the
                                // upload's answer. Baileys drops key writes made while it
                                // still stores the uploaded pre-keys.
                                tokio::time::sleep(V2_KEY_SHARE_DELAY).await;
                            }
                            share_app_state_keys(peer, conn, &jid).await;
                        }
                    }
                    continue;
                }
                let answer = router::answer(&node);
                for reply in &answer.nodes {
                    conn.send_node(reply);
                }
                match answer.heard {
                    Heard::Nothing => {}
                    Heard::CriticalSync => peer.counters().critical_syncs += 1,
                    Heard::RemoveCompanion(removed) => {
                        peer.counters().companions_removed += 1;
                        peer.accounts().remove(&removed)?;
                        info!(jid = %removed, "wa-peer: companion removed by the client");
                    }
                    Heard::Message { to, id } => {
                        peer.counters().messages_sent += 1;
                        match messaging::receive(peer, &jid, &node).await {
                            Ok(read) => peer.sent().entry(jid.clone()).or_default().extend(read),
                            Err(error) => info!(%to, %id, %error, "wa-peer: cannot read a message"),
                        }
                    }
                }
            },
            command = inbox.recv() => match command {
                None => return Ok(()),
                Some(Command::Scan { reply, .. }) => {
                    let _ = reply.send(Err("this device is already paired".into()));
                }
                Some(Command::Deliver { from, text, reply }) => {
                    let _ = reply.send(deliver(peer, conn, &jid, &from, &text).await);
                }
                Some(Command::Kick { kick, reply }) => {
                    let outcome = end_session(peer, conn, &jid, kick);
                    let _ = reply.send(outcome);
                    info!(%jid, kick = kick.name(), "wa-peer: session ended by a control");
                    return Ok(());
                }
            },
        }
    }
}

/// Phone `from` writes to the companion logged in on `conn`.
async fn deliver(
    peer: &Inner,
    conn: &mut Conn,
    jid: &str,
    from: &str,
    text: &str,
) -> Result<String, String> {
    let bundle = peer
        .accounts()
        .bundle(jid)
        .ok_or("the companion has not uploaded its keys yet")?;
    let (stanza, id) = messaging::compose_text(peer, jid, &bundle, from, text).await?;
    if !conn.send_node(&stanza) {
        return Err("the connection closed".into());
    }
    peer.counters().messages_delivered += 1;
    info!(%jid, %from, %id, "wa-peer: message delivered");
    Ok(id)
}

/// The phone's first message to a companion that just published its keys.
async fn share_app_state_keys(peer: &Inner, conn: &mut Conn, jid: &str) {
    let shared = async {
        let bundle = peer.accounts().bundle(jid).ok_or("no bundle")?;
        let raw_id = peer.accounts().raw_id(jid).ok_or("no account")?;
        let stanza = messaging::compose_key_share(peer, jid, &bundle, raw_id).await?;
        conn.send_node(&stanza);
        Ok::<(), String>(())
    };
    match shared.await {
        Ok(()) => debug!(%jid, "wa-peer: app-state keys shared"),
        Err(error) => info!(%jid, %error, "wa-peer: cannot share app-state keys"),
    }
}

/// Ends a logged-in session the way `kick` says.
fn end_session(peer: &Inner, conn: &mut Conn, jid: &str, kick: Kick) -> Result<(), String> {
    let stanza = match kick {
        Kick::Replaced => Some(router::replaced()),
        Kick::LoggedOut => {
            peer.accounts().remove(jid)?;
            Some(router::stream_error("401"))
        }
        Kick::TemporaryBan => {
            peer.accounts().ban(jid, router::BAN_SECONDS)?;
            Some(router::ban(router::BAN_SECONDS))
        }
        Kick::ClientOutdated => Some(router::outdated()),
        Kick::Drop | Kick::Unreachable => None,
    };
    match stanza {
        Some(stanza) => {
            conn.send_node(&stanza);
            conn.close(Close::Normal);
        }
        None => conn.close(Close::Reset),
    }
    Ok(())
}

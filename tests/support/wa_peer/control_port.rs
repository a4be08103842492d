//! The peer's controls as lines of text on a loopback TCP port, for a peer running in
//! another process. One request per line, one answer per line:
//!
//! ```text
//! scan <phone> <qr payload>          → ok <companion jid>   | error <why>
//! kick <companion jid> <kick name>   → ok                   | error <why>
//! deliver <companion jid> <phone> <text> → ok <message id>  | error <why>
//! sent <companion jid>               → ok <texts it sent, as JSON>
//! counters                           → ok <counters as JSON>
//! ```
//!
//! [`ControlClient`] speaks it and implements [`PeerControl`], so a daemon drives a remote
//! peer exactly as it drives an in-process one.

use std::net::SocketAddr;

use async_trait::async_trait;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};

use super::{Counters, Kick, Peer, PeerControl, Sent};

/// Serves the controls of `peer` on `listener` for as long as the task runs.
pub async fn listen(peer: Peer, listener: TcpListener) {
    while let Ok((stream, _)) = listener.accept().await {
        tokio::spawn(serve(peer.clone(), stream));
    }
}

async fn serve(peer: Peer, stream: TcpStream) {
    let (read, mut write) = stream.into_split();
    let mut lines = BufReader::new(read).lines();
    while let Ok(Some(line)) = lines.next_line().await {
        let answer = match execute(&peer, line.trim()).await {
            Ok(text) if text.is_empty() => "ok\n".to_string(),
            Ok(text) => format!("ok {text}\n"),
            Err(error) => format!("error {}\n", error.replace('\n', " ")),
        };
        if write.write_all(answer.as_bytes()).await.is_err() {
            return;
        }
    }
}

async fn execute(peer: &Peer, line: &str) -> Result<String, String> {
    let mut words = line.splitn(3, ' ');
    match (words.next(), words.next(), words.next()) {
        (Some("scan"), Some(phone), Some(qr)) => peer.scan(qr, phone).await,
        (Some("kick"), Some(jid), Some(kick)) => {
            let kick = Kick::parse(kick).ok_or_else(|| format!("unknown kick '{kick}'"))?;
            peer.kick(jid, kick).await.map(|()| String::new())
        }
        (Some("deliver"), Some(jid), Some(rest)) => {
            let (from, text) = rest
                .split_once(' ')
                .ok_or("deliver needs a phone and a text")?;
            peer.deliver(jid, from, text).await
        }
        (Some("sent"), Some(jid), None) => {
            let sent = peer.sent(jid).await?;
            serde_json::to_string(&sent).map_err(|e| e.to_string())
        }
        (Some("counters"), None, None) => {
            let counters = peer.counters().await?;
            serde_json::to_string(&counters).map_err(|e| e.to_string())
        }
        _ => Err(format!("unknown request '{line}'")),
    }
}

/// A peer in another process, reached on its control port.
pub struct ControlClient {
    pub address: SocketAddr,
}

impl ControlClient {
    async fn request(&self, line: &str) -> Result<String, String> {
        let stream = TcpStream::connect(self.address)
            .await
            .map_err(|e| format!("cannot reach the peer's control port {}: {e}", self.address))?;
        let (read, mut write) = stream.into_split();
        write
            .write_all(format!("{line}\n").as_bytes())
            .await
            .map_err(|e| e.to_string())?;
        let answer = BufReader::new(read)
            .lines()
            .next_line()
            .await
            .map_err(|e| e.to_string())?
            .ok_or("the peer closed its control port")?;
        match answer.split_once(' ').unwrap_or((answer.as_str(), "")) {
            ("ok", rest) => Ok(rest.to_string()),
            ("error", why) => Err(why.to_string()),
            _ => Err(format!("the peer answered '{answer}'")),
        }
    }
}

#[async_trait]
impl PeerControl for ControlClient {
    async fn scan(&self, qr: &str, phone: &str) -> Result<String, String> {
        self.request(&format!("scan {phone} {qr}")).await
    }

    async fn kick(&self, device: &str, kick: Kick) -> Result<(), String> {
        self.request(&format!("kick {device} {}", kick.name()))
            .await
            .map(drop)
    }

    async fn deliver(&self, device: &str, from: &str, text: &str) -> Result<String, String> {
        // One request per line: a text's line breaks travel as spaces.
        let text = text.replace(['\n', '\r'], " ");
        self.request(&format!("deliver {device} {from} {text}"))
            .await
    }

    async fn sent(&self, device: &str) -> Result<Vec<Sent>, String> {
        let text = self.request(&format!("sent {device}")).await?;
        serde_json::from_str(&text).map_err(|e| format!("bad answer from the peer: {e}"))
    }

    async fn counters(&self) -> Result<Counters, String> {
        let text = self.request("counters").await?;
        serde_json::from_str(&text).map_err(|e| format!("bad counters from the peer: {e}"))
    }
}

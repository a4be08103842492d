//! A client of the daemon's socket: sends one request, hands each notification to the caller,
//! returns the response.

use std::path::Path;

use serde::de::DeserializeOwned;
use serde::Serialize;
use serde_json::value::RawValue;
use serde_json::Value;
use tokio::io::{AsyncBufReadExt, AsyncRead, AsyncWrite, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;
#[cfg(unix)]
use tokio::net::UnixStream;

use super::Error;
use crate::protocol::{method, Incoming, Notification, Request};

/// Where the daemon is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    #[cfg(unix)]
    Unix(std::path::PathBuf),
    /// A loopback TCP listener, and the file holding its token.
    Tcp {
        address: String,
        token_file: std::path::PathBuf,
    },
}

pub struct Client {
    reader: BufReader<Box<dyn AsyncRead + Send + Unpin>>,
    writer: Box<dyn AsyncWrite + Send + Unpin>,
    next_id: u64,
}

/// One message from the daemon while a call is running.
pub enum Message {
    Notification(Notification),
    /// The call's final answer, as raw JSON until [`decode`]d.
    Done(Result<Box<RawValue>, Error>),
}

impl Client {
    pub async fn connect(target: &Target) -> Result<Client, Error> {
        match target {
            #[cfg(unix)]
            Target::Unix(socket) => Client::connect_unix(socket).await,
            Target::Tcp {
                address,
                token_file,
            } => Client::connect_tcp(address, token_file).await,
        }
    }

    #[cfg(unix)]
    async fn connect_unix(socket: &Path) -> Result<Client, Error> {
        let stream = UnixStream::connect(socket)
            .await
            .map_err(|error| Error::Unreachable {
                socket: socket.display().to_string(),
                cause: error.to_string(),
            })?;
        let (reader, writer) = stream.into_split();
        Ok(Client {
            reader: BufReader::new(Box::new(reader)),
            writer: Box::new(writer),
            next_id: 1,
        })
    }

    /// Connects and authenticates with the token the daemon wrote to `token_file`.
    async fn connect_tcp(address: &str, token_file: &Path) -> Result<Client, Error> {
        let token = std::fs::read_to_string(token_file)
            .map_err(|error| {
                Error::Usage(format!(
                    "cannot read the daemon's token from {}: {error}",
                    token_file.display()
                ))
            })?
            .trim()
            .to_string();
        let stream = TcpStream::connect(address)
            .await
            .map_err(|error| Error::Unreachable {
                socket: format!("tcp://{address}"),
                cause: error.to_string(),
            })?;
        let _ = stream.set_nodelay(true);
        let (reader, writer) = stream.into_split();
        let mut client = Client {
            reader: BufReader::new(Box::new(reader)),
            writer: Box::new(writer),
            next_id: 1,
        };
        client
            .call::<serde_json::Value>(method::AUTH, serde_json::json!({ "token": token }))
            .await?;
        Ok(client)
    }

    /// Sends a request; read its messages with [`Client::next`].
    pub async fn send(&mut self, method: &str, params: impl Serialize) -> Result<(), Error> {
        let request = Request::new(self.next_id, method, params);
        self.next_id += 1;
        let mut line = serde_json::to_string(&request)
            .map_err(|error| Error::Io(format!("cannot encode the request: {error}")))?;
        line.push('\n');
        if self.writer.write_all(line.as_bytes()).await.is_ok() {
            return Ok(());
        }
        // The daemon may have refused us before we spoke (permission, too many clients): its
        // one line says why.
        match tokio::time::timeout(std::time::Duration::from_secs(1), self.next()).await {
            Ok(Ok(Message::Done(Err(refusal)))) => Err(refusal),
            _ => Err(Error::ConnectionLost),
        }
    }

    /// Tells the daemon we are gone (it cancels what we were waiting for) while still reading
    /// its last answer.
    pub async fn hang_up(&mut self) {
        let _ = self.writer.shutdown().await;
    }

    pub async fn next(&mut self) -> Result<Message, Error> {
        let mut line = String::new();
        loop {
            line.clear();
            let read = self
                .reader
                .read_line(&mut line)
                .await
                .map_err(|_| Error::ConnectionLost)?;
            if read == 0 {
                return Err(Error::ConnectionLost);
            }
            if line.trim().is_empty() {
                continue;
            }
            let incoming: Incoming = serde_json::from_str(&line).map_err(|error| {
                Error::Io(format!("unreadable answer from the daemon: {error}"))
            })?;
            return Ok(match incoming {
                Incoming::Notification(notification) => Message::Notification(notification),
                Incoming::Response(response) => Message::Done(match response.error {
                    Some(error) => Err(Error::Rpc(error)),
                    None => Ok(response.result.unwrap_or_else(|| RawValue::NULL.to_owned())),
                }),
            });
        }
    }

    /// A call whose notifications do not matter.
    pub async fn call<R: DeserializeOwned>(
        &mut self,
        method: &str,
        params: impl Serialize,
    ) -> Result<R, Error> {
        self.send(method, params).await?;
        loop {
            if let Message::Done(result) = self.next().await? {
                return decode(result?);
            }
        }
    }
}

/// A call's result (or a notification's params) as the caller's type.
pub fn decode<R: DeserializeOwned>(value: impl Answer) -> Result<R, Error> {
    value
        .decode()
        .map_err(|error| Error::Io(format!("unexpected answer from the daemon: {error}")))
}

/// What [`decode`] reads: a raw result or a parsed notification's params.
pub trait Answer {
    fn decode<R: DeserializeOwned>(self) -> serde_json::Result<R>;
}

impl Answer for Box<RawValue> {
    fn decode<R: DeserializeOwned>(self) -> serde_json::Result<R> {
        serde_json::from_str(self.get())
    }
}

impl Answer for Value {
    fn decode<R: DeserializeOwned>(self) -> serde_json::Result<R> {
        serde_json::from_value(self)
    }
}

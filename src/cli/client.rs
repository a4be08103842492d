//! A client of the daemon's socket: sends one request, hands each notification to the caller,
//! returns the response.

use std::path::Path;

use serde::de::DeserializeOwned;
use serde::Serialize;
use serde_json::Value;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::unix::{OwnedReadHalf, OwnedWriteHalf};
use tokio::net::UnixStream;

use super::Error;
use crate::protocol::{Incoming, Notification, Request};

pub struct Client {
    reader: BufReader<OwnedReadHalf>,
    writer: OwnedWriteHalf,
    next_id: u64,
}

/// One message from the daemon while a call is running.
pub enum Message {
    Notification(Notification),
    /// The call's final answer.
    Done(Result<Value, Error>),
}

impl Client {
    pub async fn connect(socket: &Path) -> Result<Client, Error> {
        let stream = UnixStream::connect(socket)
            .await
            .map_err(|error| Error::Unreachable {
                socket: socket.to_path_buf(),
                cause: error.to_string(),
            })?;
        let (reader, writer) = stream.into_split();
        Ok(Client {
            reader: BufReader::new(reader),
            writer,
            next_id: 1,
        })
    }

    /// Sends a request; read its messages with [`Client::next`].
    pub async fn send(&mut self, method: &str, params: impl Serialize) -> Result<(), Error> {
        let request = Request::new(self.next_id, method, params);
        self.next_id += 1;
        let mut line = serde_json::to_string(&request)
            .map_err(|error| Error::Io(format!("cannot encode the request: {error}")))?;
        line.push('\n');
        self.writer
            .write_all(line.as_bytes())
            .await
            .map_err(|_| Error::ConnectionLost)
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
                    None => Ok(response.result.unwrap_or(Value::Null)),
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

pub fn decode<R: DeserializeOwned>(value: Value) -> Result<R, Error> {
    serde_json::from_value(value)
        .map_err(|error| Error::Io(format!("unexpected answer from the daemon: {error}")))
}

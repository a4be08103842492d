//! `--metrics ADDRESS`: serves `GET /metrics` (OpenMetrics text, see `metrics`) over plain
//! HTTP/1.1 for Prometheus to scrape. Off by default.
//!
//! Each connection gets one answer and is closed: a scraper asks every few seconds, so
//! keep-alive saves nothing worth a longer-lived connection. A request that does not arrive
//! whole within a few seconds, or is larger than a request line and a few headers, is
//! dropped, so a slow or hostile client holds nothing.

use std::sync::Arc;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tracing::{debug, warn};

use super::handlers::Context;
use super::Error;

/// The largest request head read.
const MAX_REQUEST: usize = 8 * 1024;
/// Scrapes answered at once; more wait for the next free one. A scraper asks every few
/// seconds: this bounds what a flood of connections can take from the sessions' registry.
const MAX_CONCURRENT: usize = 4;
/// How long an answer may take to be written to a slow client.
const WRITE_TIMEOUT: Duration = Duration::from_secs(10);
/// How long a client may take to send its request.
const READ_TIMEOUT: Duration = Duration::from_secs(5);
const CONTENT_TYPE: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

pub async fn bind(address: std::net::SocketAddr) -> Result<TcpListener, Error> {
    TcpListener::bind(address)
        .await
        .map_err(|error| Error::io(format_args!("cannot serve metrics on {address}"), error))
}

pub async fn serve(
    listener: TcpListener,
    context: Arc<Context>,
    mut shutdown: watch::Receiver<bool>,
) {
    let slots = Arc::new(tokio::sync::Semaphore::new(MAX_CONCURRENT));
    loop {
        // Waiting for a slot before accepting leaves further clients in the kernel's backlog
        // rather than holding a task and a descriptor each here.
        let slot = tokio::select! {
            slot = slots.clone().acquire_owned() => match slot {
                Ok(slot) => slot,
                Err(_) => return,
            },
            _ = shutdown.changed() => return,
        };
        tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => {
                    let context = context.clone();
                    tokio::spawn(async move {
                        answer(stream, context).await;
                        drop(slot);
                    });
                }
                Err(error) => {
                    warn!(%error, "cannot accept a metrics connection");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
            },
            _ = shutdown.changed() => return,
        }
    }
}

async fn answer(mut stream: TcpStream, context: Arc<Context>) {
    let response = match tokio::time::timeout(READ_TIMEOUT, read_head(&mut stream)).await {
        Ok(Some(head)) => respond(&head, &context).await,
        Ok(None) => Response::text(400, "Bad Request", "a GET request was expected\n"),
        Err(_) => return,
    };
    match tokio::time::timeout(WRITE_TIMEOUT, stream.write_all(&response.encode())).await {
        Ok(Ok(())) => {}
        Ok(Err(error)) => debug!(%error, "metrics client went away"),
        Err(_) => debug!("metrics client too slow to read its answer: dropped"),
    }
    let _ = stream.shutdown().await;
}

/// The request's method and path, once its head has arrived; `None` for anything that is
/// not an HTTP request.
async fn read_head(stream: &mut TcpStream) -> Option<(String, String)> {
    let mut buffer = Vec::with_capacity(1024);
    let mut chunk = [0u8; 1024];
    loop {
        let read = stream.read(&mut chunk).await.ok()?;
        if read == 0 {
            return None;
        }
        buffer.extend_from_slice(&chunk[..read]);
        let mut headers = [httparse::EMPTY_HEADER; 32];
        let mut request = httparse::Request::new(&mut headers);
        match request.parse(&buffer) {
            Ok(httparse::Status::Complete(_)) => {
                return Some((request.method?.to_string(), request.path?.to_string()))
            }
            Ok(httparse::Status::Partial) if buffer.len() < MAX_REQUEST => continue,
            _ => return None,
        }
    }
}

async fn respond((method, path): &(String, String), context: &Arc<Context>) -> Response {
    let path = path.split('?').next().unwrap_or_default();
    match (method.as_str(), path) {
        // Always answers: without the registry, with the node's own figures and
        // `wasess_registry_up 0`.
        ("GET", "/metrics") => Response {
            status: 200,
            reason: "OK",
            content_type: CONTENT_TYPE,
            body: super::metrics::text(context).await,
        },
        ("GET", "/") => Response::text(200, "OK", "wasessd: metrics at /metrics\n"),
        ("GET", _) => Response::text(404, "Not Found", "not found: metrics are at /metrics\n"),
        _ => Response::text(405, "Method Not Allowed", "only GET is served\n"),
    }
}

struct Response {
    status: u16,
    reason: &'static str,
    content_type: &'static str,
    body: String,
}

impl Response {
    fn text(status: u16, reason: &'static str, body: &str) -> Response {
        Response {
            status,
            reason,
            content_type: "text/plain; charset=utf-8",
            body: body.to_string(),
        }
    }

    fn encode(&self) -> Vec<u8> {
        let mut out = format!(
            "HTTP/1.1 {} {}\r\nContent-Type: {}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
            self.status,
            self.reason,
            self.content_type,
            self.body.len()
        )
        .into_bytes();
        out.extend_from_slice(self.body.as_bytes());
        out
    }
}

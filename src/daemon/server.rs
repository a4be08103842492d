//! The socket server: accepts clients, checks who they are, reads one JSON-RPC request per
//! line and answers each (after any notifications it sends).
//!
//! Each connection has a reader (this task), a writer task fed by a channel (so responses and
//! notifications of concurrent requests never interleave mid-line), and one task per request.
//! When the client goes away, the `closed` signal tells its running requests (a waiting
//! `connect` cancels its pairing). Bad lines get an error response; nothing a client sends
//! can stop the server.

use std::sync::Arc;
use std::time::Duration;

use serde_json::Value;
use tokio::io::{AsyncBufReadExt, AsyncRead, AsyncWrite, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, UnixListener, UnixStream};
use tokio::sync::{mpsc, watch, OwnedSemaphorePermit, Semaphore};
use tokio::task::JoinSet;
use tracing::{debug, warn};

use super::handlers::{self, Access, Context, Outbound};
use super::os;
use crate::exit::Exit;
use crate::protocol::{code, method, Request, Response, RpcError, MAX_LINE};

/// Clients served at once; more are told to come back later.
const MAX_CONNECTIONS: usize = 2048;
/// Requests one connection may have running at once.
const MAX_IN_FLIGHT: usize = 16;
/// How long stopping waits for running requests to answer.
const DRAIN_TIMEOUT: Duration = Duration::from_secs(5);
/// A TCP client must authenticate within this long, in a line of at most `AUTH_MAX_LINE`
/// bytes, and no more than `MAX_UNAUTHENTICATED` clients may be waiting to do so: a client
/// without the token can hold neither time, memory nor connection slots.
const AUTH_DEADLINE: Duration = Duration::from_secs(5);
const AUTH_MAX_LINE: usize = 4096;
pub const MAX_UNAUTHENTICATED: usize = 16;

enum Line {
    Text(Vec<u8>),
    TooLong,
    Eof,
}

/// What the daemon listens on: its Unix socket, and optionally a loopback TCP port for
/// clients that have no Unix socket (Windows), guarded by a token.
pub enum Listener {
    Unix(UnixListener),
    Tcp {
        listener: TcpListener,
        token: Arc<String>,
        /// Places for clients that have not authenticated yet.
        unauthenticated: Arc<Semaphore>,
    },
}

type Reader = Box<dyn AsyncRead + Send + Unpin>;
type Writer = Box<dyn AsyncWrite + Send + Unpin>;

/// One accepted client, split, with the token it must present first (TCP only) and, until it
/// has, its place among the unauthenticated clients.
struct Accepted {
    reader: Reader,
    writer: Writer,
    token: Option<Arc<String>>,
    /// Why the client may not be served, if it may not.
    refused: Option<String>,
    /// Held until the client authenticates.
    unauthenticated: Option<OwnedSemaphorePermit>,
    access: Access,
}

impl Listener {
    async fn accept(&self, context: &Context) -> std::io::Result<Accepted> {
        match self {
            Listener::Unix(listener) => {
                let (stream, _) = listener.accept().await?;
                let checked = check_peer(&stream, context);
                let (reader, writer) = stream.into_split();
                Ok(Accepted {
                    reader: Box::new(reader),
                    writer: Box::new(writer),
                    token: None,
                    access: checked.clone().unwrap_or(Access::Operator),
                    refused: checked.err(),
                    unauthenticated: None,
                })
            }
            Listener::Tcp {
                listener,
                token,
                unauthenticated,
            } => {
                let (stream, _) = listener.accept().await?;
                let _ = stream.set_nodelay(true);
                let (reader, writer) = stream.into_split();
                let permit = unauthenticated.clone().try_acquire_owned().ok();
                Ok(Accepted {
                    reader: Box::new(reader),
                    writer: Box::new(writer),
                    token: Some(token.clone()),
                    access: Access::Full,
                    refused: permit.is_none().then(|| {
                        "too many clients waiting to authenticate; try again later".into()
                    }),
                    unauthenticated: permit,
                })
            }
        }
    }
}

/// Serves `listener` until `shutdown` turns true, then waits (briefly) for clients to finish.
pub async fn serve(listener: Listener, context: Arc<Context>, mut shutdown: watch::Receiver<bool>) {
    let limit = Arc::new(Semaphore::new(MAX_CONNECTIONS));
    let mut connections = JoinSet::new();
    loop {
        tokio::select! {
            accepted = listener.accept(&context) => match accepted {
                Ok(mut client) => {
                    let Ok(permit) = limit.clone().try_acquire_owned() else {
                        refuse(&mut client.writer, "too many clients; try again later").await;
                        continue;
                    };
                    if let Some(why) = &client.refused {
                        refuse(&mut client.writer, why).await;
                        continue;
                    }
                    connections.spawn(serve_client(
                        client,
                        context.clone(),
                        shutdown.clone(),
                        permit,
                    ));
                }
                Err(error) => {
                    // Out of file descriptors, most likely: back off instead of spinning.
                    warn!(%error, "accept failed");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
            },
            _ = shutdown.changed() => break,
        }
        while connections.try_join_next().is_some() {}
    }
    drop(listener);
    let _ = tokio::time::timeout(DRAIN_TIMEOUT, async {
        while connections.join_next().await.is_some() {}
    })
    .await;
}

/// Root and the daemon's own user may connect with full access; members of the configured
/// group as operators (see [`Access`]).
fn check_peer(stream: &UnixStream, context: &Context) -> Result<Access, String> {
    let credentials = stream
        .peer_cred()
        .map_err(|error| format!("cannot identify the client: {error}"))?;
    let uid = credentials.uid();
    if uid == 0 || uid == os::current_uid() {
        return Ok(Access::Full);
    }
    if let Some(group) = context.supervisor.settings().socket_group {
        if let Some(gid) = os::group_id(&group) {
            let in_group = credentials.gid() == gid
                || credentials
                    .pid()
                    .is_some_and(|pid| os::process_in_group(pid, gid));
            if in_group {
                return Ok(Access::Operator);
            }
        }
    }
    Err(format!(
        "permission denied: uid {uid} may not use this socket"
    ))
}

async fn refuse(writer: &mut Writer, why: &str) {
    debug!(why, "client refused");
    let response = Response::error(Value::Null, RpcError::application(Exit::Refused, why));
    if let Ok(mut line) = serde_json::to_string(&response) {
        line.push('\n');
        let _ =
            tokio::time::timeout(Duration::from_secs(1), writer.write_all(line.as_bytes())).await;
        let _ = writer.shutdown().await;
    }
}

/// Whether `line` is an `auth` request carrying `token` (compared in constant time).
fn authenticates(line: &[u8], token: &str) -> bool {
    let Ok(request) = serde_json::from_slice::<Request>(line) else {
        return false;
    };
    let given = request
        .params
        .get("token")
        .and_then(Value::as_str)
        .unwrap_or_default();
    request.method == method::AUTH
        && given.len() == token.len()
        && given
            .bytes()
            .zip(token.bytes())
            .fold(0u8, |diff, (a, b)| diff | (a ^ b))
            == 0
}

async fn serve_client(
    client: Accepted,
    context: Arc<Context>,
    mut shutdown: watch::Receiver<bool>,
    _permit: OwnedSemaphorePermit,
) {
    let Accepted {
        reader,
        mut writer,
        mut token,
        mut unauthenticated,
        access,
        ..
    } = client;
    let (lines, mut outgoing) = mpsc::channel::<String>(256);
    let writer_task = tokio::spawn(async move {
        while let Some(line) = outgoing.recv().await {
            if writer.write_all(line.as_bytes()).await.is_err() {
                break;
            }
        }
        let _ = writer.shutdown().await;
    });
    let out = Outbound::new(lines, access);
    let (closed_tx, closed) = watch::channel(false);
    let in_flight = Arc::new(Semaphore::new(MAX_IN_FLIGHT));
    let mut requests = JoinSet::new();
    let mut reader = BufReader::new(reader);
    let auth_by = tokio::time::Instant::now() + AUTH_DEADLINE;
    loop {
        let authenticating = token.is_some();
        let limit = if authenticating {
            AUTH_MAX_LINE
        } else {
            MAX_LINE
        };
        let line = tokio::select! {
            line = read_line(&mut reader, limit, !authenticating) => line,
            _ = auth_deadline(authenticating, auth_by) => {
                let error = RpcError::application(Exit::Refused, "authentication timed out");
                out.send(&Response::error(Value::Null, error)).await;
                break;
            }
            _ = shutdown.changed() => break,
        };
        match line {
            Ok(Line::Text(bytes)) if bytes.iter().all(u8::is_ascii_whitespace) => {}
            Ok(Line::Text(bytes)) if token.is_some() => {
                // A TCP client's first line must be `auth` with the token; nothing else runs
                // before it.
                let expected = token.take().unwrap_or_default();
                let id = serde_json::from_slice::<Value>(&bytes)
                    .ok()
                    .and_then(|v| v.get("id").cloned())
                    .unwrap_or(Value::Null);
                if authenticates(&bytes, &expected) {
                    unauthenticated.take();
                    let authenticated = serde_json::value::to_raw_value(
                        &serde_json::json!({ "authenticated": true }),
                    );
                    if let Ok(result) = authenticated {
                        out.send(&Response::ok(id, result)).await;
                    }
                } else {
                    let error = RpcError::application(
                        Exit::Refused,
                        "authentication failed: send {\"method\":\"auth\",\"params\":{\"token\":…}} first, with the daemon's token",
                    );
                    out.send(&Response::error(id, error)).await;
                    break;
                }
            }
            Ok(Line::Text(bytes)) => {
                let Ok(permit) = in_flight.clone().acquire_owned().await else {
                    break;
                };
                let (context, out, closed) = (context.clone(), out.clone(), closed.clone());
                requests.spawn(async move {
                    answer(&context, &bytes, &out, closed).await;
                    drop(permit);
                });
            }
            Ok(Line::TooLong) => {
                let error = RpcError::new(
                    code::INVALID_REQUEST,
                    Exit::Usage,
                    format!("request line longer than {limit} bytes"),
                );
                out.send(&Response::error(Value::Null, error)).await;
                if token.is_some() {
                    break;
                }
            }
            Ok(Line::Eof) | Err(_) => break,
        }
        while requests.try_join_next().is_some() {}
    }
    let _ = closed_tx.send(true);
    while requests.join_next().await.is_some() {}
    drop(out);
    let _ = writer_task.await;
}

/// Parses one line and answers it (requests without an id are JSON-RPC notifications: they
/// run but get no answer).
/// Decodes one request line, or says what to answer instead (and to which id).
pub(crate) fn decode(bytes: &[u8]) -> Result<Request, Box<Response>> {
    let value: Value = serde_json::from_slice(bytes).map_err(|error| {
        let error = RpcError::new(code::PARSE_ERROR, Exit::Usage, format!("not JSON: {error}"));
        Box::new(Response::error(Value::Null, error))
    })?;
    let id = value.get("id").cloned().unwrap_or(Value::Null);
    let request: Request = serde_json::from_value(value).map_err(|error| {
        let message = format!("not a JSON-RPC request: {error}");
        let error = RpcError::new(code::INVALID_REQUEST, Exit::Usage, message);
        Box::new(Response::error(id.clone(), error))
    })?;
    if request.jsonrpc != "2.0" {
        let error = RpcError::new(
            code::INVALID_REQUEST,
            Exit::Usage,
            "jsonrpc must be \"2.0\"",
        );
        return Err(Box::new(Response::error(id, error)));
    }
    Ok(request)
}

async fn answer(context: &Context, bytes: &[u8], out: &Outbound, closed: watch::Receiver<bool>) {
    let request = match decode(bytes) {
        Ok(request) => request,
        Err(refusal) => return out.send(&refusal).await,
    };
    let result = handlers::dispatch(context, &request.method, request.params, out, closed).await;
    let Some(id) = request.id else { return };
    let response = match result {
        Ok(value) => Response::ok(id, value),
        Err(error) => {
            debug!(method = request.method, %error, "request failed");
            Response::error(id, error.to_rpc())
        }
    };
    out.send(&response).await;
}

/// Ends at `by` while the client has still to authenticate; never otherwise.
async fn auth_deadline(authenticating: bool, by: tokio::time::Instant) {
    if !authenticating {
        std::future::pending::<()>().await;
    }
    tokio::time::sleep_until(by).await;
}

/// The next line, or `TooLong` past `limit` bytes: with `skip_rest`, once the rest of the line
/// was read and dropped (the client goes on); without, at once (the client is cut off).
async fn read_line(
    reader: &mut BufReader<Reader>,
    limit: usize,
    skip_rest: bool,
) -> std::io::Result<Line> {
    let mut line = Vec::new();
    loop {
        let available = reader.fill_buf().await?;
        if available.is_empty() {
            return Ok(if line.is_empty() {
                Line::Eof
            } else {
                Line::Text(line)
            });
        }
        if let Some(end) = available.iter().position(|&byte| byte == b'\n') {
            let fits = line.len() + end <= limit;
            if fits {
                line.extend_from_slice(&available[..end]);
            }
            reader.consume(end + 1);
            return Ok(if fits {
                Line::Text(line)
            } else {
                Line::TooLong
            });
        }
        let taken = available.len();
        if line.len() + taken > limit {
            reader.consume(taken);
            if skip_rest {
                skip_line(reader).await?;
            }
            return Ok(Line::TooLong);
        }
        line.extend_from_slice(available);
        reader.consume(taken);
    }
}

/// Discards input up to and including the next newline.
async fn skip_line(reader: &mut BufReader<Reader>) -> std::io::Result<()> {
    loop {
        let available = reader.fill_buf().await?;
        if available.is_empty() {
            return Ok(());
        }
        if let Some(end) = available.iter().position(|&byte| byte == b'\n') {
            reader.consume(end + 1);
            return Ok(());
        }
        let taken = available.len();
        reader.consume(taken);
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;
    use serde_json::{json, Value};

    use super::decode;

    /// Arbitrary JSON, nested a few levels deep.
    fn json_value() -> impl Strategy<Value = Value> {
        let leaf = prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::from),
            any::<i64>().prop_map(Value::from),
            any::<f64>().prop_map(|f| json!(f)),
            ".{0,20}".prop_map(Value::from),
        ];
        leaf.prop_recursive(4, 64, 8, |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..8).prop_map(Value::from),
                prop::collection::hash_map(".{0,8}", inner, 0..8)
                    .prop_map(|map| Value::Object(map.into_iter().collect())),
            ]
        })
    }

    proptest! {
        #[test]
        fn arbitrary_bytes_never_panic_and_never_pass_as_a_request(bytes in prop::collection::vec(any::<u8>(), 0..4096)) {
            if let Ok(request) = decode(&bytes) {
                // Only a real request object decodes.
                prop_assert_eq!(request.jsonrpc, "2.0");
            }
        }

        #[test]
        fn arbitrary_json_is_a_request_exactly_when_it_has_the_shape(value in json_value(), method in ".{0,16}") {
            let text = value.to_string();
            let decoded = decode(text.as_bytes());
            let shaped = value.as_object().is_some_and(|o| {
                o.get("jsonrpc") == Some(&json!("2.0")) && o.get("method").is_some_and(Value::is_string)
            });
            prop_assert_eq!(decoded.is_ok(), shaped);
            let request = json!({ "jsonrpc": "2.0", "id": value, "method": method });
            prop_assert!(decode(request.to_string().as_bytes()).is_ok());
        }
    }

    #[test]
    fn deep_nesting_is_refused_not_overflowed() {
        let deep = format!("{}{}", "[".repeat(100_000), "]".repeat(100_000));
        assert!(decode(deep.as_bytes()).is_err());
    }
}

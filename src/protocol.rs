//! The wire protocol between `wasess` (or any client) and `wasessd`: JSON-RPC 2.0, one JSON
//! object per line, over a Unix socket.
//!
//! Invariants every client may rely on:
//! - a request gets exactly one response with its `id`, after any notifications it causes;
//! - long calls (`connect`, `subscribe`) send notifications (`qr`, `state`, `event`) first;
//! - an error carries the CLI's exit code in `error.data.exit_code` and a one-line message;
//! - a line over [`MAX_LINE`] bytes or not JSON gets an error response, and the daemon goes on
//!   serving.
//!
//! Per method there is a params struct and a result struct; the result struct is exactly what
//! `wasess --json` prints, so its fields are only ever added.

use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;
use serde_json::Value;

use crate::exit::Exit;
use crate::model::{
    CleanupReport, ConflictGroup, Connection, Event, EventKind, NodeInfo, ResetReport, Resolution,
    Stats, Status, UserInfo,
};
use crate::time::Timestamp;

/// Bumped when a change would break an existing client.
pub const PROTOCOL_VERSION: u32 = 1;
/// The longest request line the daemon reads.
pub const MAX_LINE: usize = 1 << 20;

/// Method names: the CLI's command names.
pub mod method {
    /// The first request on a TCP connection: `{"token": "…"}`.
    pub const AUTH: &str = "auth";
    pub const HELLO: &str = "hello";
    pub const CHECK: &str = "check";
    pub const CONNECT: &str = "connect";
    pub const RECONNECT: &str = "reconnect";
    pub const DISCONNECT: &str = "disconnect";
    pub const LOGOUT: &str = "logout";
    pub const DETECT_CONFLICTS: &str = "detect-conflicts";
    pub const RESOLVE_CONFLICTS: &str = "resolve-conflicts";
    pub const CLEANUP: &str = "cleanup";
    pub const RESET_SESSIONS: &str = "reset-sessions";
    pub const STATS: &str = "stats";
    pub const LIST: &str = "list";
    pub const LOG: &str = "log";
    pub const NODES: &str = "nodes";
    pub const NODES_DRAIN: &str = "nodes.drain";
    pub const USERS_ADD: &str = "users.add";
    pub const USERS_LIST: &str = "users.list";
    pub const USERS_REMOVE: &str = "users.remove";
    pub const SUBSCRIBE: &str = "subscribe";
    pub const SEND: &str = "send";
    pub const WEBHOOKS_STATUS: &str = "webhooks.status";
    pub const WEBHOOKS_RETRY: &str = "webhooks.retry";
    /// Imports another application's users and connection rows.
    pub const IMPORT_REGISTRY: &str = "import.registry";
    /// Imports devices Baileys linked, from their auth folders.
    pub const IMPORT_BAILEYS: &str = "import.baileys";
    /// What `/metrics` exports, as one JSON document (`wasess top`).
    pub const METRICS: &str = "metrics";
    pub const SIM_SCAN: &str = "sim.scan";
    pub const SIM_EVENT: &str = "sim.event";
    pub const SIM_MESSAGE: &str = "sim.message";
    pub const SIM_SENT: &str = "sim.sent";
    /// The test WhatsApp peer's counters (test builds only).
    #[cfg(feature = "wa-peer")]
    pub const SIM_PEER: &str = "sim.peer";
}

/// Notification names.
pub mod notification {
    /// A new QR code (or pair code) for a pending `connect`.
    pub const QR: &str = "qr";
    /// A connection changed state during a `connect`.
    pub const STATE: &str = "state";
    /// An outbox event, for `subscribe`.
    pub const EVENT: &str = "event";
}

// ---------------------------------------------------------------------------------------------
// Envelopes

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Request {
    pub jsonrpc: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<Value>,
    pub method: String,
    #[serde(default)]
    pub params: Value,
}

impl Request {
    pub fn new(id: u64, method: &str, params: impl Serialize) -> Request {
        Request {
            jsonrpc: "2.0".into(),
            id: Some(Value::from(id)),
            method: method.into(),
            params: serde_json::to_value(params).unwrap_or(Value::Null),
        }
    }
}

/// A response. Its result travels as raw JSON, written once from the handler's result type
/// and read once into the caller's: a report of 20,000 rows is never held as a tree of values.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Response {
    pub jsonrpc: String,
    pub id: Value,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub result: Option<Box<RawValue>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<RpcError>,
}

impl Response {
    pub fn ok(id: Value, result: Box<RawValue>) -> Response {
        Response {
            jsonrpc: "2.0".into(),
            id,
            result: Some(result),
            error: None,
        }
    }

    pub fn error(id: Value, error: RpcError) -> Response {
        Response {
            jsonrpc: "2.0".into(),
            id,
            result: None,
            error: Some(error),
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Notification {
    pub jsonrpc: String,
    pub method: String,
    pub params: Value,
}

impl Notification {
    pub fn new(method: &str, params: impl Serialize) -> Notification {
        Notification {
            jsonrpc: "2.0".into(),
            method: method.into(),
            params: serde_json::to_value(params).unwrap_or(Value::Null),
        }
    }
}

/// Anything the daemon writes: told apart by `method` (notifications) and `id` (responses),
/// read in one pass without buffering the message first.
#[derive(Debug, Clone)]
pub enum Incoming {
    Response(Response),
    Notification(Notification),
}

impl<'de> Deserialize<'de> for Incoming {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        struct Envelope {
            #[serde(default)]
            jsonrpc: String,
            #[serde(default)]
            id: Value,
            method: Option<String>,
            #[serde(default)]
            params: Value,
            result: Option<Box<RawValue>>,
            error: Option<RpcError>,
        }
        let envelope = Envelope::deserialize(deserializer)?;
        Ok(match envelope.method {
            Some(method) => Incoming::Notification(Notification {
                jsonrpc: envelope.jsonrpc,
                method,
                params: envelope.params,
            }),
            None => Incoming::Response(Response {
                jsonrpc: envelope.jsonrpc,
                id: envelope.id,
                result: envelope.result,
                error: envelope.error,
            }),
        })
    }
}

/// JSON-RPC error codes.
pub mod code {
    pub const PARSE_ERROR: i64 = -32700;
    pub const INVALID_REQUEST: i64 = -32600;
    pub const METHOD_NOT_FOUND: i64 = -32601;
    pub const INVALID_PARAMS: i64 = -32602;
    pub const INTERNAL_ERROR: i64 = -32603;
    /// Every application error (a rule refused, a user was not found, …); the exit code in
    /// `data` says which.
    pub const APPLICATION: i64 = -32000;
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RpcError {
    pub code: i64,
    pub message: String,
    pub data: ErrorData,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ErrorData {
    pub exit_code: Exit,
    /// A stable machine name for rule refusals (`already_connected`, …).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason_code: Option<String>,
}

impl RpcError {
    pub fn new(code: i64, exit: Exit, message: impl Into<String>) -> RpcError {
        RpcError {
            code,
            message: message.into(),
            data: ErrorData {
                exit_code: exit,
                reason_code: None,
            },
        }
    }

    pub fn application(exit: Exit, message: impl Into<String>) -> RpcError {
        RpcError::new(code::APPLICATION, exit, message)
    }

    pub fn with_reason(mut self, reason_code: &str) -> RpcError {
        self.data.reason_code = Some(reason_code.to_string());
        self
    }
}

// ---------------------------------------------------------------------------------------------
// Params and results

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Empty {}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct HelloResult {
    pub version: String,
    pub protocol: u32,
    pub node_id: String,
    pub backend: String,
    pub pid: u32,
    pub database: String,
    pub started_at: Timestamp,
    /// WhatsApp sessions running on this node now (pairings not counted).
    #[serde(default)]
    pub sessions_running: u64,
    /// This node's standing: `live`, `fenced` (it could not renew its lease and stopped its
    /// sessions), `draining` or `stopping`.
    #[serde(default)]
    pub state: String,
    /// Tasks alive in the daemon: flat while nothing happens, whatever came before.
    #[serde(default)]
    pub tasks_alive: u64,
    /// The daemon's data dir, so tools on this host look where it works.
    #[serde(default)]
    pub data_dir: String,
    /// Backend events waiting to be written to the registry, all sessions together (the ones
    /// held-back sessions wait to queue included).
    #[serde(default)]
    pub events_queued: u64,
    /// Sessions waiting for room in their event queue: the registry is not keeping up, and
    /// they read no more from WhatsApp until it does.
    #[serde(default)]
    pub sessions_held_back: u64,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct UserParams {
    pub user: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct CheckParams {
    pub user: String,
    /// A number known up front (pair-code login): rule 4 applies.
    #[serde(default)]
    pub phone: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ConnectParams {
    pub user: String,
    /// Log in with an 8-character code typed on the phone instead of a QR code.
    #[serde(default)]
    pub pair_code: bool,
    /// The number, for pair-code logins.
    #[serde(default)]
    pub phone: Option<String>,
    /// Answer after the first QR code and leave the pairing running.
    #[serde(default)]
    pub detach: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ConnectOutcome {
    /// The phone scanned and the user is `CONNECTED`.
    Paired,
    /// `detach`: the pairing goes on; the first code is in `qr`.
    Pending,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ConnectResult {
    pub user: String,
    pub outcome: ConnectOutcome,
    pub phone_number: Option<String>,
    /// Users that lost the number to this pairing (newest-wins).
    #[serde(default)]
    pub displaced: Vec<String>,
    pub qr: Option<QrNotice>,
}

/// A QR code (or pair code) to show, sent as the `qr` notification.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct QrNotice {
    pub user: String,
    /// The QR payload (or the pair code to type on the phone).
    pub code: String,
    pub pair_code: bool,
    /// When this code stops working (WhatsApp rotates it).
    pub code_expires_at: Timestamp,
    /// When the pairing gives up.
    pub pairing_expires_at: Timestamp,
}

/// A state change seen during a `connect`, sent as the `state` notification.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StateNotice {
    pub user: String,
    pub status: Status,
    pub reason: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ConflictsResult {
    pub conflicts: Vec<ConflictGroup>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct ResolveParams {
    #[serde(default)]
    pub dry_run: bool,
    #[serde(default)]
    pub phone: Option<String>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct CleanupParams {
    #[serde(default)]
    pub dry_run: bool,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct ResetParams {
    #[serde(default)]
    pub user: Option<String>,
    #[serde(default)]
    pub all: bool,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct ListParams {
    #[serde(default)]
    pub status: Option<Status>,
    #[serde(default)]
    pub node: Option<String>,
    #[serde(default)]
    pub limit: Option<u32>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ListResult {
    pub connections: Vec<Connection>,
    /// Whether more rows matched than `limit`.
    pub truncated: bool,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct LogParams {
    #[serde(default)]
    pub user: Option<String>,
    /// Only events at or after this time.
    #[serde(default)]
    pub since: Option<Timestamp>,
    #[serde(default)]
    pub limit: Option<u32>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct EventsResult {
    pub events: Vec<Event>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct NodesResult {
    pub nodes: Vec<NodeInfo>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct DrainParams {
    pub node: String,
}

/// The node asked to drain, as it stands right after the request.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct DrainResult {
    pub node: NodeInfo,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct UsersListParams {
    #[serde(default)]
    pub limit: Option<u32>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct UsersResult {
    pub users: Vec<UserInfo>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct SubscribeParams {
    #[serde(default)]
    pub user: Option<String>,
    /// Resume after this event id; without it, only events from now on.
    #[serde(default)]
    pub since: Option<i64>,
    /// Only these kinds; all when empty.
    #[serde(default)]
    pub kinds: Vec<EventKind>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SubscribeResult {
    /// Events delivered.
    pub delivered: u64,
    /// The id of the last event delivered (resume from here).
    pub last_id: i64,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SendParams {
    pub user: String,
    pub to: String,
    pub text: String,
    /// The client's key for this message: a send repeated with the same key (after a lost
    /// answer, say) returns the first message id and sends nothing.
    #[serde(default)]
    pub idempotency_key: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SendResult {
    pub user: String,
    pub to: String,
    pub message_id: String,
    /// The key was used before: nothing was sent this time.
    #[serde(default)]
    pub duplicate: bool,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SimScanParams {
    pub user: String,
    pub phone: String,
}

/// What the simulated phone (or WhatsApp) does to a live session.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum SimEventKind {
    /// Another client connected with the same credentials (stream replaced).
    Replaced,
    /// The device was unlinked from the phone.
    LoggedOut,
    /// The connection dropped once; reconnecting works.
    NetworkDrop,
    /// The connection dropped and the network stays down: reconnects fail.
    NetworkLost,
    /// WhatsApp banned the number for a while.
    TemporaryBan,
    /// WhatsApp refuses this client version.
    ClientOutdated,
    /// A fault for tests: from now on, closing this session's connection hangs for 30 s.
    /// Nothing is reported.
    HangingClose,
}

impl SimEventKind {
    pub const ALL: [SimEventKind; 7] = [
        SimEventKind::Replaced,
        SimEventKind::LoggedOut,
        SimEventKind::NetworkDrop,
        SimEventKind::NetworkLost,
        SimEventKind::TemporaryBan,
        SimEventKind::ClientOutdated,
        SimEventKind::HangingClose,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            SimEventKind::Replaced => "replaced",
            SimEventKind::LoggedOut => "logged-out",
            SimEventKind::NetworkDrop => "network-drop",
            SimEventKind::NetworkLost => "network-lost",
            SimEventKind::TemporaryBan => "temporary-ban",
            SimEventKind::ClientOutdated => "client-outdated",
            SimEventKind::HangingClose => "hanging-close",
        }
    }
}

impl std::str::FromStr for SimEventKind {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        SimEventKind::ALL
            .into_iter()
            .find(|kind| kind.as_str() == text)
            .ok_or_else(|| {
                let names: Vec<&str> = SimEventKind::ALL.iter().map(|k| k.as_str()).collect();
                format!("unknown event '{text}' (one of: {})", names.join(", "))
            })
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SimEventParams {
    pub user: String,
    pub event: SimEventKind,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SimMessageParams {
    pub user: String,
    pub from: String,
    pub text: String,
    /// How many messages arrive, one after the other (numbered when more than one).
    #[serde(default = "one")]
    pub count: u32,
}

fn one() -> u32 {
    1
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SimResult {
    pub user: String,
    pub done: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SimSentResult {
    pub user: String,
    pub messages: Vec<SentMessage>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SentMessage {
    pub to: String,
    pub text: String,
    pub message_id: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct WebhooksResult {
    pub endpoints: Vec<crate::registry::WebhookStatus>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct WebhooksRetryParams {
    /// Only this endpoint's dead letters; all when absent.
    #[serde(default)]
    pub endpoint: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct WebhooksRetryResult {
    /// Dead letters queued again.
    pub requeued: u64,
}

/// `metrics`: the numbers `/metrics` exports, read at one moment by the node that answers.
/// Registry-wide figures (sessions, nodes, webhooks, the outbox) are the same from every
/// node; `counters`, `event_queue` and `fds` are the answering node's own.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MetricsResult {
    pub node_id: String,
    pub version: String,
    pub backend: String,
    /// When it was read, by the registry's clock.
    pub at: Timestamp,
    /// Why the registry could not be read, when it could not: then `sessions`, `nodes`,
    /// `newest_event_id` and `webhooks` are empty, and the node's own figures still count.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub registry_error: Option<String>,
    /// The registry's connections by status and by node.
    pub sessions: Stats,
    /// Sessions this node runs right now (live, pairing or reconnecting).
    pub sessions_running: u64,
    pub nodes: Vec<NodeInfo>,
    /// The id of the newest event in the outbox.
    pub newest_event_id: i64,
    pub webhooks: Vec<crate::registry::WebhookStatus>,
    pub counters: NodeCounters,
    pub event_queue: EventQueue,
    pub fds: FdUsage,
}

/// What this node counted since it started.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct NodeCounters {
    pub pairings_started: u64,
    /// By result: paired, rejected, expired, cancelled, failed, other.
    pub pairings_finished: std::collections::BTreeMap<String, u64>,
    /// Connects refused by a rule, by reason code.
    pub pairings_refused: std::collections::BTreeMap<String, u64>,
    pub reconnect_attempts: u64,
    pub reconnect_give_ups: u64,
    pub streams_replaced: u64,
    pub takeovers: u64,
    pub fencings: u64,
    /// Events this node committed to the outbox.
    pub events_written: u64,
}

/// Backend events waiting for the registry on this node.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct EventQueue {
    pub queued: u64,
    /// Sessions that wait for room in their queue.
    pub sessions_held_back: u64,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct FdUsage {
    /// Open files; absent where the system does not tell.
    pub open: Option<u64>,
    /// The soft limit.
    pub limit: u64,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct ImportRegistryParams {
    #[serde(flatten)]
    pub source: crate::import::registry::SourceOptions,
    #[serde(default)]
    pub dry_run: bool,
    #[serde(default)]
    pub merge: bool,
}

pub type ImportRegistryResult = crate::model::ImportReport;

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct ImportBaileysParams {
    /// Each auth folder (an absolute path) and the user whose device it is.
    pub targets: Vec<BaileysTarget>,
    #[serde(default)]
    pub dry_run: bool,
    /// Leave out folders whose device never finished pairing instead of refusing.
    #[serde(default)]
    pub skip_unpaired: bool,
    /// Leave the imported devices `DISCONNECTED` instead of logging them in.
    #[serde(default)]
    pub no_reconnect: bool,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct BaileysTarget {
    pub folder: String,
    pub user: String,
}

pub type ImportBaileysResult = crate::model::BaileysImportReport;

/// Re-exports for result types that are model types as they are.
pub type CheckResult = crate::model::Verdict;
pub type StatsResult = Stats;
pub type CleanupResult = CleanupReport;
pub type ResolveResult = Resolution;
pub type ResetResult = ResetReport;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errors_carry_the_exit_code_as_a_number() {
        let error = RpcError::application(Exit::Refused, "already connected: disconnect first")
            .with_reason("already_connected");
        let text = serde_json::to_string(&error).expect("serialise");
        assert_eq!(
            text,
            r#"{"code":-32000,"message":"already connected: disconnect first","data":{"exit_code":3,"reason_code":"already_connected"}}"#
        );
    }

    #[test]
    fn responses_and_notifications_are_told_apart() {
        let response: Incoming =
            serde_json::from_str(r#"{"jsonrpc":"2.0","id":1,"result":{}}"#).expect("parse");
        assert!(matches!(response, Incoming::Response(_)));
        let notification: Incoming =
            serde_json::from_str(r#"{"jsonrpc":"2.0","method":"qr","params":{}}"#).expect("parse");
        assert!(matches!(notification, Incoming::Notification(_)));
    }
}

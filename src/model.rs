//! Plain data shared by the registry, the protocol and the CLI: what a connection is, what a
//! rule decided, what a report counted. These types are also the `--json` output schema, so
//! fields are only ever added, never renamed.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::time::Timestamp;

/// The state of a user's connection (docs/architecture.md, "States of a connection").
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Status {
    Disconnected,
    PendingQr,
    Connected,
    Conflict,
    LoggedOut,
    Paused,
}

impl Status {
    pub const ALL: [Status; 6] = [
        Status::Disconnected,
        Status::PendingQr,
        Status::Connected,
        Status::Conflict,
        Status::LoggedOut,
        Status::Paused,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Status::Disconnected => "DISCONNECTED",
            Status::PendingQr => "PENDING_QR",
            Status::Connected => "CONNECTED",
            Status::Conflict => "CONFLICT",
            Status::LoggedOut => "LOGGED_OUT",
            Status::Paused => "PAUSED",
        }
    }
}

impl fmt::Display for Status {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Status {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let wanted = text.trim().to_ascii_uppercase().replace('-', "_");
        Status::ALL
            .into_iter()
            .find(|status| status.as_str() == wanted)
            .ok_or_else(|| {
                format!(
                    "unknown status '{text}' (one of: disconnected, pending_qr, connected, \
                     conflict, logged_out, paused)"
                )
            })
    }
}

/// One user's connection row.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Connection {
    pub user: String,
    pub status: Status,
    pub phone_number: Option<String>,
    pub qr_issued_at: Option<Timestamp>,
    pub qr_expires_at: Option<Timestamp>,
    pub last_connected_at: Option<Timestamp>,
    pub reconnect_attempts: u32,
    pub node_id: Option<String>,
    /// Grows whenever a session starts, ends or changes owner; a session may write only
    /// while the row still carries its (node, epoch).
    #[serde(default)]
    pub epoch: i64,
    pub reason: String,
    pub paused_until: Option<Timestamp>,
    pub updated_at: Timestamp,
}

/// Why a connect may or may not start: the five rules (docs/architecture.md), in order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ReasonCode {
    Allowed,
    UnknownUser,
    AlreadyConnected,
    QrPending,
    NumberTaken,
    ConnectInProgress,
}

impl ReasonCode {
    pub fn as_str(self) -> &'static str {
        match self {
            ReasonCode::Allowed => "allowed",
            ReasonCode::UnknownUser => "unknown_user",
            ReasonCode::AlreadyConnected => "already_connected",
            ReasonCode::QrPending => "qr_pending",
            ReasonCode::NumberTaken => "number_taken",
            ReasonCode::ConnectInProgress => "connect_in_progress",
        }
    }
}

/// The answer of `check`, and of a refused `connect`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Verdict {
    pub user: String,
    pub allowed: bool,
    pub reason_code: ReasonCode,
    pub message: String,
    /// The user's connection as it is now, when the user exists.
    pub existing: Option<Connection>,
}

/// A phone number held by more than one connection row.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConflictGroup {
    pub phone_number: String,
    /// Newest first: the first row is the one `resolve-conflicts` keeps.
    pub holders: Vec<ConflictHolder>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConflictHolder {
    pub user: String,
    pub status: Status,
    pub last_connected_at: Option<Timestamp>,
    pub node_id: Option<String>,
    pub updated_at: Timestamp,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConflictReport {
    pub conflicts: Vec<ConflictGroup>,
}

/// What `resolve-conflicts` did (or, with `dry_run`, would do).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Resolution {
    pub dry_run: bool,
    /// Numbers that had more than one holder.
    pub resolved: u64,
    /// Rows that lost the number.
    pub disconnected: u64,
    /// Rows that kept it (one per number).
    pub kept: u64,
    pub actions: Vec<ResolveAction>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ResolveAction {
    pub phone_number: String,
    pub kept: String,
    pub detached: Vec<DetachedHolder>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DetachedHolder {
    pub user: String,
    /// Status before the detach; a `CONNECTED` holder's live session must be closed.
    pub status: Status,
    pub node_id: Option<String>,
}

/// What a cleanup pass did (or, with `dry_run`, would do).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CleanupReport {
    pub dry_run: bool,
    /// `PENDING_QR` rows whose QR expired, now `DISCONNECTED`.
    pub expired_qr: u64,
    /// Lock rows past their expiry, deleted.
    pub expired_locks: u64,
    /// `CONNECTED` rows of this node with no live session behind them, now `DISCONNECTED`.
    pub stale_sessions: u64,
    /// Pairings of nodes whose lease ran out, now `DISCONNECTED` (their sessions are taken
    /// over by the live nodes instead).
    pub dead_node_sessions: u64,
    /// `PAUSED` rows whose pause ended, now `DISCONNECTED`.
    pub ended_pauses: u64,
    /// Credential stores no row needs, deleted.
    pub orphan_stores: u64,
    /// Events older than the retention period, deleted.
    pub pruned_events: u64,
    /// Nodes gone for a week that own nothing, deleted.
    #[serde(default)]
    pub pruned_nodes: u64,
    /// Delivery state of webhook endpoints that no node has delivered to for a week and that
    /// this node does not configure, deleted.
    #[serde(default)]
    pub pruned_webhook_cursors: u64,
    /// The users whose rows changed.
    pub users: Vec<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Stats {
    pub total: u64,
    pub connected: u64,
    pub pending_qr: u64,
    pub disconnected: u64,
    pub conflict: u64,
    pub paused: u64,
    pub logged_out: u64,
    pub duplicate_numbers: u64,
    pub locks_held: u64,
    /// Connections per owning node (rows that have one).
    pub by_node: Vec<NodeCount>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NodeCount {
    pub node_id: String,
    pub connections: u64,
    pub connected: u64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UserInfo {
    pub user: String,
    pub created_at: Timestamp,
    pub status: Status,
    pub phone_number: Option<String>,
}

/// What `reset-sessions` cleared.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ResetReport {
    pub users: Vec<ResetUser>,
    pub locks_released: u64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ResetUser {
    pub user: String,
    pub previous_status: Status,
    pub previous_phone: Option<String>,
    pub node_id: Option<String>,
    /// The row's epoch once reset: sessions of this epoch or older were reset.
    #[serde(skip)]
    pub epoch: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NodeInfo {
    pub node_id: String,
    pub started_at: Timestamp,
    pub last_seen: Timestamp,
    pub version: String,
    /// Whether its lease is current (renewed within the grace period, by the database's
    /// clock).
    pub alive: bool,
    /// `live`, `draining`, `stopped`, or `lost` (its lease ran out while it was live).
    #[serde(default)]
    pub state: String,
    /// How many times it stopped its sessions because it could not renew its lease.
    #[serde(default)]
    pub fenced: u64,
    #[serde(default)]
    pub host: String,
    #[serde(default)]
    pub pid: u32,
    /// The sessions it owns, by status.
    pub connected: u64,
    #[serde(default)]
    pub pending_qr: u64,
}

/// One entry of the event outbox, which is also the audit trail.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Event {
    pub id: i64,
    pub at: Timestamp,
    pub kind: EventKind,
    pub user: Option<String>,
    pub from_status: Option<Status>,
    pub to_status: Option<Status>,
    pub reason: String,
    pub node_id: Option<String>,
    /// Kind-specific details (a QR payload, a message's text, a pairing's number).
    #[serde(default)]
    pub data: serde_json::Value,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EventKind {
    /// A connection changed status.
    State,
    /// A new QR code (or pair code) for a pending pairing.
    Qr,
    /// A pairing ended: paired, rejected, expired, cancelled or failed.
    Pairing,
    /// A message arrived on a user's connection.
    Message,
    /// A message was sent through a user's connection.
    MessageSent,
    /// A user was added or removed.
    User,
}

impl EventKind {
    pub const ALL: [EventKind; 6] = [
        EventKind::State,
        EventKind::Qr,
        EventKind::Pairing,
        EventKind::Message,
        EventKind::MessageSent,
        EventKind::User,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            EventKind::State => "state",
            EventKind::Qr => "qr",
            EventKind::Pairing => "pairing",
            EventKind::Message => "message",
            EventKind::MessageSent => "message_sent",
            EventKind::User => "user",
        }
    }
}

impl FromStr for EventKind {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        EventKind::ALL
            .into_iter()
            .find(|kind| kind.as_str() == text.trim())
            .ok_or_else(|| {
                format!(
                    "unknown event kind '{text}' (one of: state, qr, pairing, message, \
                     message_sent, user)"
                )
            })
    }
}

/// The conflict policy applied when a scanned number is already held by another user.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ConflictPolicy {
    /// The older holder is logged out and loses the number; the new link stays.
    #[default]
    NewestWins,
    /// The new link is logged out and the connect fails.
    RejectNew,
}

impl FromStr for ConflictPolicy {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        match text.trim() {
            "newest-wins" => Ok(ConflictPolicy::NewestWins),
            "reject-new" => Ok(ConflictPolicy::RejectNew),
            other => Err(format!(
                "unknown conflict policy '{other}' (newest-wins or reject-new)"
            )),
        }
    }
}

/// What `wasess import registry` did, or would do with `--dry-run`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ImportReport {
    /// The source, its password hidden.
    pub source: String,
    pub dry_run: bool,
    /// Connection rows read from the source.
    #[serde(default)]
    pub rows_read: u64,
    /// Rows written (new users and merged ones).
    pub rows_imported: u64,
    pub users_added: u64,
    pub users_merged: u64,
    /// Users left as they are (`--merge`): their row here has a session, a pairing or a
    /// number of its own.
    pub kept_live: Vec<String>,
    /// Numbers more than one user holds once imported; `detect-conflicts` shows them too.
    pub duplicates: Vec<ImportedDuplicate>,
    /// Numbers written in another form than digits only, normalised.
    #[serde(default)]
    pub phones_normalised: u64,
    /// Rows whose number could not be read: imported without it.
    #[serde(default)]
    pub phones_invalid: Vec<ImportedValue>,
    /// Rows whose user is missing from the source's users table: not imported.
    #[serde(default)]
    pub users_missing: Vec<ImportedValue>,
    /// Rows whose user key wasess cannot take (see `users add`): not imported.
    #[serde(default)]
    pub keys_invalid: Vec<ImportedValue>,
    /// Rows after the first for a user the source lists more than once: not imported.
    #[serde(default)]
    pub repeated_users: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ImportedDuplicate {
    pub phone_number: String,
    pub users: Vec<String>,
}

/// What `import baileys` did: one entry per folder imported (or that would be, `dry_run`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct BaileysImportReport {
    pub dry_run: bool,
    pub imported: Vec<BaileysImport>,
    /// Folders left out because their device never finished pairing (`--skip-unpaired`).
    #[serde(default)]
    pub skipped_unpaired: Vec<String>,
    /// A live node logs the imported devices in (at once, or at the daemon's next start);
    /// otherwise (`--no-reconnect`) each waits for `wasess reconnect`.
    #[serde(default)]
    pub log_in: bool,
}

/// What `import baileys` took from one Baileys auth folder, or would take (`dry_run`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct BaileysImport {
    pub user: String,
    /// The auth folder, as the daemon read it.
    pub folder: String,
    pub phone_number: String,
    /// The linked device, as WhatsApp knows it (`number:device@s.whatsapp.net`).
    pub device: String,
    pub dry_run: bool,
    /// One-time pre-keys (incoming first messages refer to them).
    pub pre_keys: u64,
    /// Contacts' devices with a Signal session, and those whose identity key came with it.
    pub sessions: u64,
    pub identities: u64,
    pub app_state_keys: u64,
    pub app_state_versions: u64,
    /// What the folder held that wasess does not take, and what that costs.
    pub not_converted: Vec<NotConverted>,
}

/// Something a Baileys folder held that the import leaves behind.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NotConverted {
    pub what: String,
    pub count: u64,
    /// What the user sees for it.
    pub cost: String,
}

/// A source row the import could not take as it was: whose, and the value.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ImportedValue {
    pub row: String,
    pub value: String,
}

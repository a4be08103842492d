//! Command-line definitions of both binaries. The completions and man pages are generated
//! from these, so help texts here are the documentation operators read.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

use crate::model::{EventKind, Status};
use crate::protocol::SimEventKind;

const EXIT_CODES: &str = "\
Exit codes:
  0  ok
  1  internal error
  2  usage error (bad flags, invalid user key or phone number)
  3  refused by a rule, or conflicts/problems found
  4  not found (unknown user)
  5  daemon unreachable
  6  timed out (QR code not scanned in time)
  7  WhatsApp backend failure
  130 cancelled with Ctrl-C";

/// wasess: the admin CLI of wasessd, which keeps multi-tenant WhatsApp Web connections clean.
#[derive(Debug, Parser)]
#[command(name = "wasess", version, after_help = EXIT_CODES, max_term_width = 100)]
pub struct Cli {
    #[command(flatten)]
    pub global: Global,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Clone, Args)]
pub struct Global {
    /// Machine output: one JSON document on stdout, nothing else there.
    #[arg(long, global = true)]
    pub json: bool,
    /// The daemon's socket [default: <data dir>/run/wasessd.sock, or /run/wasess/wasessd.sock]
    #[arg(long, global = true, env = "WASESS_SOCKET", value_name = "PATH")]
    pub socket: Option<PathBuf>,
    /// Reach the daemon over its loopback TCP listener instead of the socket (tcp://HOST:PORT).
    #[arg(long, global = true, env = "WASESS_CONNECT", value_name = "URL")]
    pub connect: Option<String>,
    /// The daemon's token file, for --connect [default: <data dir>/token]
    #[arg(long, global = true, env = "WASESS_TOKEN_FILE", value_name = "FILE")]
    pub token_file: Option<PathBuf>,
    /// Work on the registry directly, with the daemon stopped (recovery commands only).
    #[arg(long, global = true)]
    pub offline: bool,
    /// The data dir, for --offline [default: ~/.local/share/wasess, or /var/lib/wasess as root]
    #[arg(long, global = true, env = "WASESS_DATA_DIR", value_name = "DIR")]
    pub data_dir: Option<PathBuf>,
    /// The registry database, for --offline [default: SQLite in the data dir]
    #[arg(
        long,
        global = true,
        env = "WASESS_DATABASE_URL",
        value_name = "URL",
        hide_env_values = true
    )]
    pub database_url: Option<String>,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Link a WhatsApp number to a user: shows the QR code and waits for the scan.
    Connect(ConnectArgs),
    /// Says whether a user may connect now, and which rule refuses it.
    Check(CheckArgs),
    /// Lists phone numbers held by more than one user (exit 3 when any).
    DetectConflicts,
    /// Keeps the newest holder of each duplicated number and detaches the others.
    ResolveConflicts(ResolveArgs),
    /// Expires old QR codes and locks, and clears stale sessions and orphan stores now.
    Cleanup(CleanupArgs),
    /// Clears sessions: logs out, deletes credentials, frees numbers and locks.
    ResetSessions(ResetArgs),
    /// Counts connections by status, duplicated numbers and locks.
    Stats,
    /// Lists connections.
    List(ListArgs),
    /// Closes a user's connection and keeps its credentials.
    Disconnect(UserArg),
    /// Logs a user out: unlinks the device and deletes its credentials.
    Logout(UserArg),
    /// Logs a user in again with its stored credentials (after a disconnect or a conflict).
    Reconnect(UserArg),
    /// The audit trail: what happened to whom, and why.
    Log(LogArgs),
    /// Lists the daemons (nodes) sharing the registry; `nodes drain NODE` empties one.
    Nodes(NodesArgs),
    /// Checks that the daemon answers, and how fast.
    Ping,
    /// Checks the daemon, data dir, registry, locks, QR codes, conflicts and credential
    /// stores, and says how to fix each problem (exit 3 when one exists).
    Doctor,
    /// Prints events as they happen (state changes, QR codes, messages).
    Watch(WatchArgs),
    /// A live view of the cluster: nodes, sessions, pairings, rates and webhook lag.
    Top(TopArgs),
    /// Sends a text message through a user's own connection.
    Send(SendArgs),
    /// Manages tenant users.
    #[command(subcommand)]
    Users(UsersCommand),
    /// Webhook delivery: status per endpoint, and retrying dead letters.
    #[command(subcommand)]
    Webhooks(WebhooksCommand),
    /// Acts as the phone, against a daemon running the simulated backend.
    #[command(subcommand)]
    Sim(SimCommand),
    /// Adopts an existing deployment: its users and connection rows.
    #[command(subcommand)]
    Import(ImportCommand),
}

#[derive(Debug, Subcommand)]
pub enum ImportCommand {
    /// Reads another application's users and WhatsApp connection rows (a Prisma-shaped
    /// whatsapp_connections table, in SQLite or PostgreSQL) into the registry, all or nothing.
    Registry(ImportRegistryArgs),
    /// Adopts devices Baileys linked, from their multi-file auth folders, so each user logs in
    /// again without a QR code (`wasess reconnect`, or the daemon's next start). All or nothing.
    Baileys(ImportBaileysArgs),
}

#[derive(Debug, Args)]
#[command(group(clap::ArgGroup::new("folders").required(true).args(["auth_dir", "all"])))]
pub struct ImportBaileysArgs {
    /// One tenant's auth folder (creds.json, pre-key-*, session-*…); needs --user.
    #[arg(long, value_name = "DIR", requires = "user")]
    pub auth_dir: Option<std::path::PathBuf>,
    /// The user whose device --auth-dir holds.
    #[arg(long, short, conflicts_with = "all")]
    pub user: Option<String>,
    /// A folder of auth folders, one per tenant: each folder's name is its user's key, unless
    /// --users maps it.
    #[arg(long, value_name = "DIR")]
    pub all: Option<std::path::PathBuf>,
    /// With --all: a file of `FOLDER USER` lines (`#` starts a comment); folders it does not
    /// name keep their own name as the user's key.
    #[arg(long, value_name = "FILE", requires = "all")]
    pub users: Option<std::path::PathBuf>,
    /// Leave out folders whose device never finished pairing (no `me` in creds.json) instead of
    /// refusing the whole import.
    #[arg(long)]
    pub skip_unpaired: bool,
    /// Convert and check everything, and write nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// Leave the imported devices DISCONNECTED (log each in later with `wasess reconnect`)
    /// instead of having the daemon log them in (at once, or when it next starts).
    #[arg(long)]
    pub no_reconnect: bool,
}

#[derive(Debug, Args)]
pub struct ImportRegistryArgs {
    /// The application's database: sqlite:path/to/dev.db (or a path) or postgres://…
    #[arg(long, value_name = "URL")]
    pub from: String,
    /// Print what would be imported, and the duplicated numbers, and write nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// Fill in users that exist here already with nothing of their own (no session, pairing or
    /// number); the others are kept as they are.
    #[arg(long)]
    pub merge: bool,
    /// Key tenants by this column of the users table (e.g. email) instead of the user id.
    #[arg(long, value_name = "COLUMN")]
    pub user_key: Option<String>,
    /// Name a column outright, as ROLE=COLUMN (repeatable). Roles: user, phone, status,
    /// last_connected_at, created_at, users.id, users.created_at.
    #[arg(long, value_name = "ROLE=COLUMN")]
    pub map: Vec<String>,
    /// The connections table [default: found by name, e.g. whatsapp_connections]
    #[arg(long, value_name = "NAME")]
    pub table: Option<String>,
    /// The users table [default: found by name, e.g. users or User]
    #[arg(long, value_name = "NAME")]
    pub users_table: Option<String>,
}

#[derive(Debug, Args)]
pub struct UserArg {
    /// The user's key (e.g. alice@example.com).
    #[arg(long, short)]
    pub user: String,
}

#[derive(Debug, Args)]
pub struct ConnectArgs {
    /// The user's key (e.g. alice@example.com).
    #[arg(long, short)]
    pub user: String,
    /// Log in with an 8-character code typed on the phone instead of scanning a QR code.
    #[arg(long, requires = "phone")]
    pub pair_code: bool,
    /// The phone number, for --pair-code (e.g. +57 300 123 4567).
    #[arg(long, requires = "pair_code")]
    pub phone: Option<String>,
    /// Return after the first QR code; the pairing goes on in the daemon.
    #[arg(long)]
    pub detach: bool,
    /// Also write each QR code to this file (.png or .svg).
    #[arg(long, value_name = "FILE")]
    pub qr_file: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct CheckArgs {
    #[arg(long, short)]
    pub user: String,
    /// A number known up front (pair-code login): also checks no other user holds it.
    #[arg(long)]
    pub phone: Option<String>,
}

#[derive(Debug, Args)]
pub struct ResolveArgs {
    /// Show what would change, change nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// Only this number.
    #[arg(long)]
    pub phone: Option<String>,
}

#[derive(Debug, Args)]
pub struct CleanupArgs {
    /// Show what would be cleaned, change nothing.
    #[arg(long)]
    pub dry_run: bool,
}

#[derive(Debug, Args)]
#[command(group(clap::ArgGroup::new("target").required(true).args(["user", "all"])))]
pub struct ResetArgs {
    /// Reset this user only.
    #[arg(long, short)]
    pub user: Option<String>,
    /// Reset every user.
    #[arg(long)]
    pub all: bool,
    /// Do not ask for confirmation (needed for --all without a terminal).
    #[arg(long, short)]
    pub yes: bool,
}

#[derive(Debug, Args)]
pub struct ListArgs {
    /// Only connections in this status.
    #[arg(long, value_parser = parse_status)]
    pub status: Option<Status>,
    /// Only connections owned by this node.
    #[arg(long)]
    pub node: Option<String>,
    /// At most this many rows.
    #[arg(long, default_value_t = 1000)]
    pub limit: u32,
}

#[derive(Debug, Args)]
pub struct LogArgs {
    /// Only this user's events.
    #[arg(long, short)]
    pub user: Option<String>,
    /// Only events this recent (e.g. 30m, 2h, 7d).
    #[arg(long, value_name = "DURATION")]
    pub since: Option<String>,
    /// At most this many events (the newest).
    #[arg(long, default_value_t = 200)]
    pub limit: u32,
}

#[derive(Debug, Args)]
pub struct WatchArgs {
    /// Only this user's events.
    #[arg(long, short)]
    pub user: Option<String>,
    /// Resume after this event id (prints what was missed first).
    #[arg(long, value_name = "ID")]
    pub since: Option<i64>,
    /// Only these kinds (repeatable).
    #[arg(long = "kind", value_parser = parse_event_kind)]
    pub kinds: Vec<EventKind>,
}

#[derive(Debug, Args)]
pub struct TopArgs {
    /// How often to redraw.
    #[arg(long, default_value = "1s", value_parser = crate::time::parse_duration)]
    pub interval: std::time::Duration,
    /// Stop after this many frames [default: until Ctrl-C]
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u64).range(1..))]
    pub count: Option<u64>,
}

#[derive(Debug, Args)]
pub struct SendArgs {
    #[arg(long, short)]
    pub user: String,
    /// The recipient's number.
    #[arg(long)]
    pub to: String,
    /// The text to send.
    #[arg(long)]
    pub text: String,
    /// A key for this message (1-128 characters): repeating the command with the same key
    /// returns the first message id and sends nothing.
    #[arg(long, value_name = "KEY")]
    pub idempotency_key: Option<String>,
}

#[derive(Debug, Subcommand)]
pub enum UsersCommand {
    /// Registers a user.
    Add { user: String },
    /// Lists users.
    List {
        #[arg(long, default_value_t = 10_000)]
        limit: u32,
    },
    /// Removes a user: logs out its session and deletes its credentials and row.
    Remove { user: String },
}

#[derive(Debug, Subcommand)]
pub enum WebhooksCommand {
    /// Pending, failing and dead events per endpoint.
    Status,
    /// Sends dead-lettered events again.
    Retry {
        /// Only this endpoint's.
        #[arg(long)]
        endpoint: Option<String>,
    },
}

#[derive(Debug, Args)]
pub struct NodesArgs {
    #[command(subcommand)]
    pub command: Option<NodesCommand>,
}

#[derive(Debug, Subcommand)]
pub enum NodesCommand {
    /// Hands every session of NODE to the other live nodes, without a new pairing: each one is
    /// closed there first, then resumed elsewhere. NODE keeps running but takes no new
    /// sessions until it restarts. Refused when no other node is live.
    Drain {
        /// The node id (see `wasess nodes`).
        node: String,
        /// Return once the drain is requested, without waiting for it to finish.
        #[arg(long)]
        no_wait: bool,
        /// Give up waiting after this long (exit 6); the drain itself goes on.
        #[arg(long, value_name = "DURATION", default_value = "5m", value_parser = crate::time::parse_duration)]
        timeout: std::time::Duration,
    },
}

#[derive(Debug, Subcommand)]
pub enum SimCommand {
    /// Scans the user's pending QR code as this phone number.
    Scan {
        #[arg(long, short)]
        user: String,
        #[arg(long)]
        phone: String,
    },
    /// Makes WhatsApp (or the phone) do something to the user's live session.
    Event {
        #[arg(long, short)]
        user: String,
        #[arg(value_parser = parse_sim_event)]
        event: SimEventKind,
    },
    /// Delivers an incoming text message to the user.
    Message {
        #[arg(long, short)]
        user: String,
        #[arg(long)]
        from: String,
        #[arg(long)]
        text: String,
        /// How many messages arrive, one after the other (numbered).
        #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u32).range(1..))]
        count: u32,
    },
    /// Lists what the user's session sent.
    Sent {
        #[arg(long, short)]
        user: String,
    },
}

fn parse_status(text: &str) -> Result<Status, String> {
    text.parse()
}

fn parse_event_kind(text: &str) -> Result<EventKind, String> {
    text.parse()
}

fn parse_sim_event(text: &str) -> Result<SimEventKind, String> {
    text.parse()
}

//! `wasessd`'s command line: its flags, with their environment variables and defaults.

use std::path::PathBuf;

use clap::{Args, Parser, ValueEnum};

/// wasessd: owns the live WhatsApp connections, the registry and the cleanup.
#[derive(Debug, Parser)]
#[command(
    name = "wasessd",
    version,
    max_term_width = 100,
    after_help = "\
Signals: SIGTERM/SIGINT stop gracefully (sessions move to the other live nodes, or resume on
the next start when there is none); SIGHUP reloads the config file.
Exit codes: 0 stopped cleanly, 1 internal error, 2 bad flags or config, 3 another daemon holds
the data dir."
)]
pub struct DaemonArgs {
    #[command(flatten)]
    pub base: DaemonFlags,
    #[cfg(feature = "wa-peer")]
    #[command(flatten)]
    pub peer: PeerFlags,
}

/// Every flag of `wasessd` a release build has.
#[derive(Debug, Args)]
pub struct DaemonFlags {
    /// Where the registry, credential stores and lock live.
    #[arg(long, env = "WASESS_DATA_DIR", value_name = "DIR")]
    pub data_dir: Option<PathBuf>,
    /// The registry: postgres://… to share it between nodes [default: SQLite in the data dir]
    #[arg(
        long,
        env = "WASESS_DATABASE_URL",
        value_name = "URL",
        hide_env_values = true
    )]
    pub database_url: Option<String>,
    /// A file holding the registry's URL (one line, mode 0600), so its password stays off the
    /// command line and out of the environment.
    #[arg(
        long,
        env = "WASESS_DATABASE_URL_FILE",
        value_name = "FILE",
        conflicts_with = "database_url"
    )]
    pub database_url_file: Option<PathBuf>,
    /// The Unix socket to serve [default: <data dir>/run/wasessd.sock]
    #[arg(long, env = "WASESS_SOCKET", value_name = "PATH")]
    pub socket: Option<PathBuf>,
    /// whatsapp (the product) or simulated (tests and demos).
    #[arg(long, value_enum, default_value_t = BackendArg::Whatsapp)]
    pub backend: BackendArg,
    /// This node's name in a shared registry [default: the host name]
    #[arg(long, env = "WASESS_NODE_ID")]
    pub node_id: Option<String>,
    /// A TOML file with timings and policies (re-read on SIGHUP).
    #[arg(long, env = "WASESS_CONFIG", value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Run in the background (writes the pid file).
    #[arg(long)]
    pub daemonize: bool,
    /// The pid file for --daemonize [default: <data dir>/wasessd.pid]
    #[arg(long, value_name = "FILE")]
    pub pid_file: Option<PathBuf>,
    /// Log lines as text or JSON.
    #[arg(long, value_enum, default_value_t = LogFormat::Text)]
    pub log_format: LogFormat,
    /// Also serve on this loopback TCP address, for clients without the Unix socket
    /// (Windows); clients must present the token in --token-file. Off by default.
    #[arg(long, env = "WASESS_LISTEN_TCP", value_name = "ADDRESS")]
    pub listen_tcp: Option<std::net::SocketAddr>,
    /// The token TCP clients must present [default: <data dir>/token, created when missing]
    #[arg(long, env = "WASESS_TOKEN_FILE", value_name = "FILE")]
    pub token_file: Option<PathBuf>,
    /// Serve Prometheus metrics at http://ADDRESS/metrics (e.g. 127.0.0.1:9464). Off by
    /// default; `metrics` in the config file sets it too.
    #[arg(long, env = "WASESS_METRICS", value_name = "ADDRESS")]
    pub metrics: Option<std::net::SocketAddr>,
}

/// Test builds only (feature `wa-peer`): talk to a WhatsApp test peer.
#[cfg(feature = "wa-peer")]
#[derive(Debug, Args)]
pub struct PeerFlags {
    /// Point every WhatsApp client at this test peer (ws://…) instead of WhatsApp.
    #[arg(long, env = "WASESS_WA_ENDPOINT", value_name = "URL")]
    pub wa_endpoint: Option<String>,
    /// The control port of the test peer behind --wa-endpoint: `sim` commands act there.
    #[arg(long, value_name = "ADDRESS", requires = "wa_endpoint")]
    pub wa_peer_control: Option<std::net::SocketAddr>,
    /// QR codes per pairing of the in-process peer (--backend whatsapp-peer).
    #[arg(long, value_name = "N", default_value_t = 6)]
    pub wa_peer_qr_codes: u32,
    /// Rotate the in-process peer's QR codes this often instead of at the client's pace.
    #[arg(long, value_name = "DURATION", value_parser = crate::time::parse_duration)]
    pub wa_peer_qr_rotate: Option<std::time::Duration>,
    /// The in-process peer's phones never share app-state keys with new devices.
    #[arg(long)]
    pub wa_peer_withhold_keys: bool,
    /// The in-process peer starts with a new server key, as after a key rotation.
    #[arg(long)]
    pub wa_peer_new_server_key: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum BackendArg {
    Whatsapp,
    Simulated,
    /// The real backend against an in-process test WhatsApp peer (test builds only).
    #[cfg(feature = "wa-peer")]
    #[value(hide = true)]
    WhatsappPeer,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LogFormat {
    Text,
    Json,
}

//! Default locations, shared by the CLI and the daemon so both find the same socket without
//! configuration: a system daemon (root) uses `/var/lib/wasess` and `/run/wasess/wasessd.sock`;
//! anyone else uses `$XDG_DATA_HOME/wasess` (or `~/.local/share/wasess`) with the socket in its
//! `run/` directory. `WASESS_DATA_DIR` and `WASESS_SOCKET` override both.

use std::path::{Path, PathBuf};

pub const ENV_DATA_DIR: &str = "WASESS_DATA_DIR";
pub const ENV_SOCKET: &str = "WASESS_SOCKET";
pub const ENV_DATABASE_URL: &str = "WASESS_DATABASE_URL";

/// The token TCP clients present, in the data dir unless configured.
pub const TOKEN_FILE: &str = "token";

const SYSTEM_DATA_DIR: &str = "/var/lib/wasess";
const SYSTEM_SOCKET: &str = "/run/wasess/wasessd.sock";

#[cfg(unix)]
fn is_root() -> bool {
    // SAFETY: geteuid has no preconditions and cannot fail.
    unsafe { libc::geteuid() == 0 }
}

#[cfg(not(unix))]
fn is_root() -> bool {
    false
}

pub fn default_data_dir() -> PathBuf {
    if is_root() {
        return PathBuf::from(SYSTEM_DATA_DIR);
    }
    if let Some(xdg) = std::env::var_os("XDG_DATA_HOME").filter(|v| !v.is_empty()) {
        return PathBuf::from(xdg).join("wasess");
    }
    match std::env::var_os("HOME").filter(|v| !v.is_empty()) {
        Some(home) => PathBuf::from(home).join(".local/share/wasess"),
        None => PathBuf::from(SYSTEM_DATA_DIR),
    }
}

/// The socket for the daemon of `data_dir`: the system socket for the system data dir, else
/// `run/` inside it. A client whose own data dir has no daemon falls back to a system daemon's
/// socket when one exists, so operators on a systemd host need no flags.
pub fn default_socket(data_dir: &Path, for_daemon: bool) -> PathBuf {
    let own = data_dir.join("run").join("wasessd.sock");
    if data_dir == Path::new(SYSTEM_DATA_DIR) {
        return PathBuf::from(SYSTEM_SOCKET);
    }
    if !for_daemon && !own.exists() && Path::new(SYSTEM_SOCKET).exists() {
        return PathBuf::from(SYSTEM_SOCKET);
    }
    own
}

/// The registry URL for `data_dir` when none is configured: a SQLite file inside it.
pub fn default_database_url(data_dir: &Path) -> String {
    format!("sqlite:{}", data_dir.join("registry.db").display())
}

/// The name a node goes by when `--node-id` is not given: the host name.
pub fn default_node_id() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .ok()
        .map(|name| name.trim().to_string())
        .filter(|name| !name.is_empty())
        .unwrap_or_else(|| "localhost".into())
}

//! `wasessd`: the daemon that owns the live WhatsApp connections.

use std::process::ExitCode;

#[cfg(unix)]
fn main() -> ExitCode {
    use clap::Parser;
    use wasess::daemon::{args::DaemonArgs, entry};
    entry::run(DaemonArgs::parse()).into()
}

#[cfg(not(unix))]
fn main() -> ExitCode {
    eprintln!("wasessd: error: the daemon runs on Linux and other Unix systems; on Windows, use wasess --connect tcp://HOST:PORT");
    wasess::exit::Exit::Usage.into()
}

//! `wasessd`: the daemon that owns the live WhatsApp connections.

use std::process::ExitCode;

use clap::Parser;
use wasess::cli::{daemon_main, DaemonArgs};

fn main() -> ExitCode {
    daemon_main::run(DaemonArgs::parse()).into()
}

//! `wasess`: the admin CLI.

use std::process::ExitCode;

use clap::Parser;
use wasess::cli::{self, Cli};

fn main() -> ExitCode {
    let cli = Cli::parse();
    cli::run(cli).into()
}

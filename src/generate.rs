//! Shell completions and man pages, generated from the clap definitions so they never drift
//! from the binaries. The committed copies under `completions/` and `man/` are checked by a
//! test; `WASESS_REGENERATE=1 cargo test generated` rewrites them.

use clap::{Args, CommandFactory};
use clap_complete::Shell;

use crate::cli::Cli;
use crate::daemon::args::{DaemonArgs, DaemonFlags};

/// The two commands as a release build has them (a `wa-peer` test build has one more flag).
pub fn commands() -> [clap::Command; 2] {
    let full = DaemonArgs::command();
    let mut daemon = clap::Command::new("wasessd")
        .version(env!("CARGO_PKG_VERSION"))
        .max_term_width(100);
    if let Some(about) = full.get_about() {
        daemon = daemon.about(about.clone());
    }
    if let Some(after) = full.get_after_help() {
        daemon = daemon.after_help(after.clone());
    }
    [Cli::command(), DaemonFlags::augment_args(daemon)]
}

/// Every completion file: (file name, contents).
pub fn completions() -> Vec<(String, String)> {
    let mut files = Vec::new();
    for mut command in commands() {
        let name = command.get_name().to_string();
        for shell in [
            Shell::Bash,
            Shell::Zsh,
            Shell::Fish,
            Shell::PowerShell,
            Shell::Elvish,
        ] {
            let mut out = Vec::new();
            clap_complete::generate(shell, &mut command, name.clone(), &mut out);
            let file = match shell {
                Shell::Bash => format!("{name}.bash"),
                Shell::Zsh => format!("_{name}"),
                Shell::Fish => format!("{name}.fish"),
                Shell::PowerShell => format!("_{name}.ps1"),
                _ => format!("{name}.elv"),
            };
            files.push((file, String::from_utf8_lossy(&out).into_owned()));
        }
    }
    files
}

/// Every man page: (file name, contents).
pub fn man_pages() -> Vec<(String, String)> {
    commands()
        .into_iter()
        .map(|command| {
            let name = command.get_name().to_string();
            let mut out = Vec::new();
            // Writing to a Vec cannot fail.
            let _ = clap_mangen::Man::new(command).render(&mut out);
            (
                format!("{name}.1"),
                String::from_utf8_lossy(&out).into_owned(),
            )
        })
        .collect()
}

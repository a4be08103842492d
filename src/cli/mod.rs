//! `wasess`: the admin CLI. It talks to the daemon over its socket (or, with `--offline`, to
//! the registry directly for recovery), prints a human rendering or one JSON document, and
//! exits with the codes the README documents.

pub mod args;
mod client;
mod commands;
mod error;
#[cfg_attr(not(unix), path = "offline_unsupported.rs")]
mod offline;
pub mod output;
pub mod qr;

use std::io::IsTerminal;

use serde::Serialize;
use serde_json::Value;

pub use args::Cli;
pub use client::{Client, Target};
pub use error::Error;

use crate::exit::Exit;
use crate::paths;
use crate::registry::{PhoneNumber, UserKey};
use args::{Command, Global, ImportCommand, UsersCommand};
use offline::Offline;

/// What a command produced: its JSON document, its human rendering and its exit code. Only
/// the one asked for is rendered: a report of 10,000 conflicts costs no tables under `--json`.
pub struct Outcome {
    render: Box<dyn Render>,
    pub exit: Exit,
}

/// The two renderings of a command's result.
trait Render {
    /// The JSON document; `None` when there is nothing to print.
    fn json(&self) -> Option<String>;
    fn human(&self) -> String;
}

/// A result whose human text is already written.
struct Written {
    json: Value,
    human: String,
}

impl Render for Written {
    fn json(&self) -> Option<String> {
        (!self.json.is_null()).then(|| pretty(&self.json))
    }

    fn human(&self) -> String {
        self.human.clone()
    }
}

/// A result rendered only when printed.
struct Deferred<T> {
    result: T,
    human: fn(&T) -> String,
}

impl<T: Serialize> Render for Deferred<T> {
    fn json(&self) -> Option<String> {
        serde_json::to_string_pretty(&self.result).ok()
    }

    fn human(&self) -> String {
        (self.human)(&self.result)
    }
}

impl Outcome {
    pub fn new(result: &impl Serialize, human: String) -> Outcome {
        Outcome {
            render: Box::new(Written {
                json: serde_json::to_value(result).unwrap_or(Value::Null),
                human,
            }),
            exit: Exit::Ok,
        }
    }

    /// `result`, rendered for humans by `human` only if it is printed that way.
    pub fn deferred<T: Serialize + 'static>(result: T, human: fn(&T) -> String) -> Outcome {
        Outcome {
            render: Box::new(Deferred { result, human }),
            exit: Exit::Ok,
        }
    }

    pub fn exit(mut self, exit: Exit) -> Outcome {
        self.exit = exit;
        self
    }

    /// Printed already (streaming commands): nothing left to print.
    pub fn printed(exit: Exit) -> Outcome {
        Outcome::new(&Value::Null, String::new()).exit(exit)
    }
}

/// Runs the CLI; returns the exit code (only `main` exits).
pub fn run(cli: Cli) -> Exit {
    let json = cli.global.json;
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("wasess: error: cannot start: {error}");
            return Exit::Internal;
        }
    };
    match runtime.block_on(execute(cli)) {
        Ok(outcome) => {
            if json {
                if let Some(document) = outcome.render.json() {
                    print_line(&document);
                }
            } else {
                let human = outcome.render.human();
                if !human.is_empty() {
                    print_line(&human);
                }
            }
            outcome.exit
        }
        Err(error) => {
            report(&error, json);
            error.exit()
        }
    }
}

/// Prints one document on stdout. A reader that went away (`wasess list | head`) is not an
/// error of the command: the exit code stays the command's own.
fn print_line(text: &str) {
    use std::io::Write;
    let mut stdout = std::io::stdout().lock();
    let _ = writeln!(stdout, "{text}").and_then(|()| stdout.flush());
}

fn pretty(value: &Value) -> String {
    serde_json::to_string_pretty(value).unwrap_or_else(|_| value.to_string())
}

/// One line on stderr; with `--json`, also the error as the JSON document on stdout.
fn report(error: &Error, json: bool) {
    let message = error.to_string();
    eprintln!("wasess: error: {message}");
    if json {
        let document = serde_json::json!({
            "error": {
                "message": message,
                "exit_code": error.exit().code(),
                "reason_code": error.reason_code(),
            }
        });
        print_line(&pretty(&document));
    }
}

async fn execute(cli: Cli) -> Result<Outcome, Error> {
    let global = cli.global;
    if global.offline && !offline_capable(&cli.command) {
        return Err(Error::Usage(
            "--offline only serves detect-conflicts, resolve-conflicts, cleanup, \
             reset-sessions, stats, list, log and users: this command needs the daemon"
                .into(),
        ));
    }
    use commands::{admin, connect, sessions, sim, users, watch};
    match cli.command {
        Command::Connect(args) => connect::connect(&global, args).await,
        Command::Check(args) => sessions::check(&global, args).await,
        Command::Disconnect(args) => sessions::disconnect(&global, args).await,
        Command::Logout(args) => sessions::logout(&global, args).await,
        Command::Reconnect(args) => sessions::reconnect(&global, args).await,
        Command::Send(args) => sessions::send(&global, args).await,
        Command::DetectConflicts => admin::detect_conflicts(&global).await,
        Command::ResolveConflicts(args) => admin::resolve_conflicts(&global, args).await,
        Command::Cleanup(args) => admin::cleanup(&global, args).await,
        Command::ResetSessions(args) => admin::reset(&global, args).await,
        Command::Stats => admin::stats(&global).await,
        Command::List(args) => admin::list(&global, args).await,
        Command::Log(args) => admin::log(&global, args).await,
        Command::Nodes(args) => commands::nodes::run(&global, args).await,
        Command::Ping => admin::ping(&global).await,
        #[cfg(unix)]
        Command::Doctor => commands::doctor::doctor(&global).await,
        #[cfg(not(unix))]
        Command::Doctor => Err(Error::Usage(
            "doctor checks the daemon's host: run it there".into(),
        )),
        Command::Watch(args) => watch::watch(&global, args).await,
        Command::Top(args) => commands::top::top(&global, args).await,
        Command::Import(ImportCommand::Registry(args)) => {
            commands::import::registry(&global, args).await
        }
        Command::Import(ImportCommand::Baileys(args)) => {
            commands::import::baileys(&global, args).await
        }
        Command::Users(UsersCommand::Add { user }) => users::add(&global, &user).await,
        Command::Users(UsersCommand::List { limit }) => users::list(&global, limit).await,
        Command::Users(UsersCommand::Remove { user }) => users::remove(&global, &user).await,
        Command::Sim(command) => sim::run(&global, command).await,
        Command::Webhooks(command) => commands::webhooks::run(&global, command).await,
    }
}

fn offline_capable(command: &Command) -> bool {
    matches!(
        command,
        Command::DetectConflicts
            | Command::ResolveConflicts(_)
            | Command::Cleanup(_)
            | Command::ResetSessions(_)
            | Command::Stats
            | Command::List(_)
            | Command::Log(_)
            | Command::Users(_)
            | Command::Import(_)
    )
}

/// Where registry commands get their answers: the daemon, or the registry itself offline.
pub enum Source {
    Daemon(Target),
    Offline(Box<Offline>),
}

impl Source {
    pub async fn open(global: &Global) -> Result<Source, Error> {
        if global.offline {
            return Ok(Source::Offline(Box::new(Offline::open(global).await?)));
        }
        Ok(Source::Daemon(target(global)?))
    }

    async fn client(&self) -> Result<Client, Error> {
        match self {
            Source::Daemon(target) => Client::connect(target).await,
            Source::Offline(_) => Err(Error::Usage("this command needs the daemon".into())),
        }
    }
}

/// The daemon this invocation talks to: `--connect tcp://…`, else the Unix socket.
pub fn target(global: &Global) -> Result<Target, Error> {
    let data_dir = global
        .data_dir
        .clone()
        .unwrap_or_else(paths::default_data_dir);
    match global.connect.as_deref() {
        Some(url) => {
            let address = url
                .strip_prefix("tcp://")
                .ok_or_else(|| Error::Usage(format!("--connect {url}: use tcp://HOST:PORT")))?;
            Ok(Target::Tcp {
                address: address.trim_end_matches('/').to_string(),
                token_file: global
                    .token_file
                    .clone()
                    .unwrap_or_else(|| data_dir.join(paths::TOKEN_FILE)),
            })
        }
        #[cfg(unix)]
        None => Ok(Target::Unix(match &global.socket {
            Some(socket) => socket.clone(),
            None => paths::default_socket(&data_dir, false),
        })),
        #[cfg(not(unix))]
        None => Err(Error::Usage(
            "on Windows, reach the daemon with --connect tcp://HOST:PORT (or WASESS_CONNECT) \
             and its token file (--token-file or WASESS_TOKEN_FILE)"
                .into(),
        )),
    }
}

pub async fn connect_daemon(global: &Global) -> Result<Client, Error> {
    Client::connect(&target(global)?).await
}

fn user_key(text: &str) -> Result<UserKey, Error> {
    UserKey::parse(text).map_err(Error::Usage)
}

fn phone_number(text: &str) -> Result<PhoneNumber, Error> {
    PhoneNumber::parse(text).map_err(Error::Usage)
}

fn stdout_is_terminal() -> bool {
    std::io::stdout().is_terminal()
}

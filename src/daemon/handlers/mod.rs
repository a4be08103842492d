//! Request handlers: one `match` over the method names, one file per command group. Each
//! handler takes its params struct and returns its result struct (see `protocol`).

mod admin;
mod events;
mod import;
mod sessions;
mod sim;
mod users;
mod webhooks;

use std::sync::Arc;

use serde::de::DeserializeOwned;
use serde::Serialize;
use serde_json::value::RawValue;
use serde_json::Value;
use tokio::sync::{mpsc, watch};

use super::supervisor::Supervisor;
use super::Error;
use crate::protocol::{method, HelloResult, Notification, Response};
use crate::registry::{PhoneNumber, UserKey};

/// What every handler may use.
pub struct Context {
    pub supervisor: Arc<Supervisor>,
    pub hello: HelloResult,
    pub shutdown: watch::Receiver<bool>,
}

/// The way back to the client: responses and notifications, one line each.
#[derive(Clone)]
pub struct Outbound {
    lines: mpsc::Sender<String>,
    access: Access,
}

/// What a client may read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// The daemon's own user, root, or a TCP client with the token: the tenant application.
    Full,
    /// A member of `socket_group`: an operator, who runs the commands and follows the events
    /// but does not read the tenants' message texts.
    Operator,
}

impl Outbound {
    pub fn new(lines: mpsc::Sender<String>, access: Access) -> Outbound {
        Outbound { lines, access }
    }

    /// Sends one message; false when the client is gone.
    async fn send_line(&self, message: &impl Serialize) -> bool {
        let encoded = match self.access {
            Access::Full => serde_json::to_string(message),
            Access::Operator => serde_json::to_value(message).and_then(|mut value| {
                redact_texts(&mut value);
                serde_json::to_string(&value)
            }),
        };
        match encoded {
            Ok(mut line) => {
                line.push('\n');
                self.lines.send(line).await.is_ok()
            }
            Err(_) => false,
        }
    }

    pub async fn send(&self, response: &Response) {
        self.send_line(response).await;
    }

    pub async fn notify(&self, method: &str, params: impl Serialize) -> bool {
        self.send_line(&Notification::new(method, params)).await
    }
}

/// Blanks every message text in `value`: wherever a message appears (an incoming or sent
/// message's event data, a sent message), it carries a `message_id` next to its `text`.
fn redact_texts(value: &mut Value) {
    match value {
        Value::Object(fields) => {
            if fields.contains_key("message_id") {
                if let Some(text) = fields.get_mut("text") {
                    *text = Value::Null;
                }
            }
            fields.values_mut().for_each(redact_texts);
        }
        Value::Array(items) => items.iter_mut().for_each(redact_texts),
        _ => {}
    }
}

pub async fn dispatch(
    context: &Context,
    name: &str,
    params: Value,
    out: &Outbound,
    closed: watch::Receiver<bool>,
) -> Result<Box<RawValue>, Error> {
    let supervisor = &context.supervisor;
    match name {
        method::HELLO => reply({
            let (events_queued, sessions_held_back) = supervisor.event_backlog();
            HelloResult {
                sessions_running: supervisor.sessions_running(),
                events_queued,
                sessions_held_back,
                state: supervisor.standing().into(),
                tasks_alive: tokio::runtime::Handle::current()
                    .metrics()
                    .num_alive_tasks() as u64,
                ..context.hello.clone()
            }
        }),
        method::CHECK => reply(sessions::check(supervisor, parse(params)?).await?),
        method::CONNECT => reply(sessions::connect(supervisor, parse(params)?, out, closed).await?),
        method::RECONNECT => reply(sessions::reconnect(supervisor, parse(params)?).await?),
        method::DISCONNECT => reply(sessions::disconnect(supervisor, parse(params)?).await?),
        method::LOGOUT => reply(sessions::logout(supervisor, parse(params)?).await?),
        method::SEND => reply(sessions::send(supervisor, parse(params)?).await?),
        method::DETECT_CONFLICTS => reply(admin::detect_conflicts(supervisor).await?),
        method::RESOLVE_CONFLICTS => {
            reply(admin::resolve_conflicts(supervisor, parse(params)?).await?)
        }
        method::CLEANUP => reply(admin::cleanup(supervisor, parse(params)?).await?),
        method::RESET_SESSIONS => reply(admin::reset(supervisor, parse(params)?).await?),
        method::STATS => reply(admin::stats(supervisor).await?),
        method::LIST => reply(admin::list(supervisor, parse(params)?).await?),
        method::LOG => reply(admin::log(supervisor, parse(params)?).await?),
        method::NODES => reply(admin::nodes(supervisor).await?),
        method::NODES_DRAIN => reply(admin::drain(supervisor, parse(params)?).await?),
        method::USERS_ADD => reply(users::add(supervisor, parse(params)?).await?),
        method::USERS_LIST => reply(users::list(supervisor, parse(params)?).await?),
        method::USERS_REMOVE => reply(users::remove(supervisor, parse(params)?).await?),
        method::SUBSCRIBE => reply(events::subscribe(context, parse(params)?, out, closed).await?),
        method::WEBHOOKS_STATUS => reply(webhooks::status(supervisor).await?),
        method::WEBHOOKS_RETRY => reply(webhooks::retry(supervisor, parse(params)?).await?),
        method::IMPORT_REGISTRY => {
            // The daemon opens the source with its own rights: only for its own user or root,
            // never for an operator of the socket group.
            if out.access != Access::Full {
                return Err(Error::refused(
                    "import reads another database with the daemon's rights: run it as the \
                     daemon's user or root, or with --offline",
                ));
            }
            reply(import::import_registry(supervisor, parse(params)?, &context.hello).await?)
        }
        method::IMPORT_BAILEYS => {
            // The folders hold private keys, read with the daemon's rights.
            if out.access != Access::Full {
                return Err(Error::refused(
                    "import reads auth folders with the daemon's rights: run it as the \
                     daemon's user or root, or with --offline",
                ));
            }
            reply(import::import_baileys(supervisor, parse(params)?).await?)
        }
        method::METRICS => reply(super::metrics::snapshot(context).await),
        method::SIM_SCAN => reply(sim::scan(supervisor, parse(params)?).await?),
        method::SIM_EVENT => reply(sim::event(supervisor, parse(params)?).await?),
        method::SIM_MESSAGE => reply(sim::message(supervisor, parse(params)?).await?),
        method::SIM_SENT => reply(sim::sent(supervisor, parse(params)?).await?),
        #[cfg(feature = "wa-peer")]
        method::SIM_PEER => reply(sim::peer(supervisor).await?),
        other => Err(Error::UnknownMethod(other.to_string())),
    }
}

/// The result as raw JSON, written straight from its type (see `protocol::Response`).
fn reply(result: impl Serialize) -> Result<Box<RawValue>, Error> {
    serde_json::value::to_raw_value(&result)
        .map_err(|error| Error::Io(format!("cannot encode: {error}")))
}

/// Params of the method; a missing `params` counts as `{}`.
fn parse<T: DeserializeOwned>(params: Value) -> Result<T, Error> {
    let params = if params.is_null() {
        Value::Object(Default::default())
    } else {
        params
    };
    serde_json::from_value(params)
        .map_err(|error| Error::InvalidParams(format!("invalid params: {error}")))
}

pub(crate) fn user_key(text: &str) -> Result<UserKey, Error> {
    UserKey::parse(text).map_err(Error::InvalidParams)
}

pub(crate) fn phone_number(text: &str) -> Result<PhoneNumber, Error> {
    PhoneNumber::parse(text).map_err(Error::InvalidParams)
}

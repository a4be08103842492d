//! One file per command group; each command returns an [`Outcome`](super::Outcome).

pub mod admin;
pub mod connect;
#[cfg(unix)]
pub mod doctor;
pub mod import;
pub mod nodes;
pub mod sessions;
pub mod sim;
pub mod top;
pub mod users;
pub mod watch;
pub mod webhooks;

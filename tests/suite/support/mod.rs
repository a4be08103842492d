//! Shared test support: databases for registry tests, and a real wasessd for end-to-end ones.

pub mod daemon;
pub mod databases;
pub mod forwarder;
#[cfg(feature = "wa-peer")]
pub mod peer;
pub mod receiver;
pub mod tools;
pub mod watch;

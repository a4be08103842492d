//! wasess keeps multi-tenant WhatsApp Web connections clean: one live connection per tenant
//! user, one pending QR per user, one user per phone number, and no reconnect loops.
//!
//! Layers, and the direction of their dependencies:
//! `cli → protocol ← daemon → registry, backend`. [`model`] and [`time`] are plain data shared
//! by all of them, and [`metrics`] holds the process's counters, which the registry and the
//! daemon add to; only the registry touches the database, only the backends touch WhatsApp.
//! `--offline` recovery lets the CLI open the registry and the data dir ([`datadir`]) itself,
//! never the daemon. [`generate`] (completions and man pages) reads both command lines.

#[cfg(unix)]
pub mod backend;
pub mod cli;
#[cfg(unix)]
pub mod credentials;
#[cfg(unix)]
pub mod daemon;
#[cfg(unix)]
pub mod datadir;
pub mod exit;
#[cfg(unix)]
pub mod generate;
pub mod import;
pub mod metrics;
pub mod model;
pub mod paths;
pub mod protocol;
pub mod registry;
pub mod time;

/// The test WhatsApp peer (test builds only): the server side of WhatsApp Web, for the real
/// backend to talk to offline. Its code lives with the tests that need it.
#[cfg(all(unix, feature = "wa-peer"))]
#[path = "../tests/support/wa_peer/mod.rs"]
pub mod wa_peer;

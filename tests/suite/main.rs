//! The test suite, as one binary so that two cores link it once.
//!
//! `registry` runs every registry operation against SQLite, and against PostgreSQL when
//! `WASESS_TEST_DATABASE_URL` names one. The end-to-end modules start a real `wasessd` and
//! drive it with the real `wasess`; with the `wa-peer` feature, `peer` does so with the real
//! WhatsApp backend against the test WhatsApp peer.

mod support;

mod baileys;
mod cli;
#[cfg(feature = "wa-peer")]
mod cluster;
mod events;
mod import;
mod metrics;
mod nodes;
mod ops;
#[cfg(feature = "wa-peer")]
mod peer;
mod registry;
mod reliability;
mod store;
mod write_path;

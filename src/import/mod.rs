//! Adopting an existing deployment: its registry (users and connection rows) from its own
//! database, read here and written by `registry::import`, and its Baileys devices from their
//! auth folders, converted here and written by `registry::adopt`.

#[cfg(unix)]
pub mod baileys;
pub mod registry;

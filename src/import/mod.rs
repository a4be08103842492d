//! Adopting an existing deployment: its registry (users and connection rows) from its own
//! database, read here and written by `registry::import`.

pub mod registry;

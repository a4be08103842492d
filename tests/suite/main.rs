//! The test suite, as one binary so that two cores link it once.
//!
//! `registry` runs every registry operation against SQLite, and against PostgreSQL when
//! `WASESS_TEST_DATABASE_URL` names one. The end-to-end modules start a real `wasessd` and
//! drive it with the real `wasess`.

mod support;

mod cli;
mod events;
mod nodes;
mod ops;
mod registry;
mod reliability;

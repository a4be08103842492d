//! Shared test support: databases to run registry tests on, and (in `daemon`) a real wasessd.

pub mod databases;

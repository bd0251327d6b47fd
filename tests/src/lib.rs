//! Helpers for the integration tests of mpplugin: in-process probe plugins,
//! one driver over both hosts, the builder of the fixture cdylibs, a
//! watchdog, a look at whether a thread sleeps, and scratch directories
//! that tests leave clean.

pub mod driver;
pub mod fixtures;
pub mod probe;
pub mod random;
pub mod scratch;
pub mod threads;
pub mod watchdog;

//! Helpers for the integration tests of mpplugin: in-process probe plugins,
//! one driver over both hosts, and the builder of the fixture cdylibs.

pub mod driver;
pub mod fixtures;
pub mod probe;
pub mod random;

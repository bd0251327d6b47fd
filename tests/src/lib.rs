//! Helpers for the integration tests of mpplugin.

//! What a [`Reply`](super::Reply) points at: a sink that takes one value.
//! In-process the sink is the channel's queue (`local.rs`); in a plugin's
//! child process, a sink that writes the value back to the host
//! (`remote.rs`). The plugin calls it through the trait object, so the code
//! that runs is the side's that made the sink. Only the trait lives here.

/// Takes a reply: queues it, or hands it back.
pub(crate) trait Sink<R>: Send + Sync {
    /// Hands `value` over, or back when it cannot go anywhere.
    fn send(&self, value: R) -> Result<(), R>;
}

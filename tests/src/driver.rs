//! One synchronous face over the std host and the tokio host (with either
//! execution), so that every host test runs against all three.

use mpplugin::tokio::Execution;
use mpplugin::{Delivery, Exit, Message, Plugin, PluginId, SendError, TrySendError};

/// The verbs of a host, driven from a plain thread.
pub trait Driver<T: Send + Sync + 'static>: Sized {
    /// A host with no plugin.
    fn new() -> Self;
    /// `attach_with_capacity`.
    fn attach(&mut self, plugin: impl Plugin<T>, capacity: usize) -> PluginId;
    /// `send`, awaited to completion.
    fn send(&mut self, message: T) -> Result<Delivery, SendError<T>>;
    /// `try_send`.
    fn try_send(&mut self, message: T) -> Result<Delivery, TrySendError<T>>;
    /// `end`, awaited to completion.
    fn end(self) -> Vec<Exit>;
}

/// The std host.
pub struct Std<T: 'static>(mpplugin::Host<T>);

impl<T: Send + Sync + 'static> Driver<T> for Std<T> {
    fn new() -> Self {
        Self(mpplugin::Host::new())
    }
    fn attach(&mut self, plugin: impl Plugin<T>, capacity: usize) -> PluginId {
        self.0.attach_with_capacity(plugin, capacity)
    }
    fn send(&mut self, message: T) -> Result<Delivery, SendError<T>> {
        self.0.send(message)
    }
    fn try_send(&mut self, message: T) -> Result<Delivery, TrySendError<T>> {
        self.0.try_send(Message::new(message))
    }
    fn end(self) -> Vec<Exit> {
        self.0.end()
    }
}

/// The tokio host on a runtime of its own with two workers (the size of the
/// machines this runs on), every plugin attached with one execution.
pub struct Tokio<T: 'static, const BLOCKING: bool> {
    // Dropped before the runtime.
    host: Option<mpplugin::tokio::Host<T>>,
    runtime: tokio::runtime::Runtime,
}

impl<T: 'static, const BLOCKING: bool> Drop for Tokio<T, BLOCKING> {
    fn drop(&mut self) {
        let _entered = self.runtime.enter();
        drop(self.host.take());
    }
}

impl<T: Send + Sync + 'static, const BLOCKING: bool> Tokio<T, BLOCKING> {
    fn host(&mut self) -> &mut mpplugin::tokio::Host<T> {
        self.host.as_mut().expect("the host is there until the end")
    }
}

/// A multi-threaded tokio runtime with 2 workers, timers and I/O: the one the
/// tests of the tokio host run on.
pub fn two_worker_runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("a tokio runtime")
}

impl<T: Send + Sync + 'static, const BLOCKING: bool> Driver<T> for Tokio<T, BLOCKING> {
    fn new() -> Self {
        let runtime = two_worker_runtime();
        Self {
            host: Some(mpplugin::tokio::Host::new()),
            runtime,
        }
    }
    fn attach(&mut self, plugin: impl Plugin<T>, capacity: usize) -> PluginId {
        let _entered = self.runtime.enter();
        let execution = if BLOCKING {
            Execution::Blocking
        } else {
            Execution::Task
        };
        self.host().attach_with(plugin, capacity, execution)
    }
    fn send(&mut self, message: T) -> Result<Delivery, SendError<T>> {
        let host = self.host.as_mut().expect("the host is there until the end");
        self.runtime.block_on(host.send(message))
    }
    fn try_send(&mut self, message: T) -> Result<Delivery, TrySendError<T>> {
        self.host().try_send(message)
    }
    fn end(mut self) -> Vec<Exit> {
        let host = self.host.take().expect("the host is there until the end");
        self.runtime.block_on(host.end())
    }
}

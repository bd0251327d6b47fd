//! The tokio host: one task per plugin (feature `tokio`).
//!
//! Handlers are synchronous. By default a plugin runs as an ordinary tokio
//! task ([`Execution::Task`]): it costs a few hundred bytes, not a thread, and
//! hands its worker thread back after every batch of at most 128 messages. That
//! fits plugins whose handlers are short, which is what a message handler
//! should be. A plugin whose handler blocks or computes for long would keep a
//! runtime worker from every other task meanwhile: attach it with
//! [`Host::attach_blocking`] ([`Execution::Blocking`]) and it runs on tokio's
//! blocking pool, a thread of its own for as long as it is attached.
//!
//! A plugin's own copy of tokio (a cdylib carries its own) sees no runtime:
//! plugins must not rely on the host's.

use std::sync::Arc;

use tokio::task::JoinHandle;

use crate::exit::{Delivery, Ending, Exit, PluginId, SendError, TrySendError};
use crate::message::Message;
use crate::plugin::Plugin;
use crate::roster::{Attached, DEFAULT_CAPACITY, Roster, Sending, delivery_or_error};
use crate::worker::Worker;

/// Where a plugin's handler runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Execution {
    /// As a task on the runtime's workers, yielding after every batch of at
    /// most 128 messages. Right for short handlers.
    #[default]
    Task,
    /// On tokio's blocking pool, one thread for the plugin's lifetime. Right
    /// for handlers that block or compute for long.
    Blocking,
}

/// A host that runs each plugin as a tokio task. The same verbs as the std
/// [`Host`](crate::Host); `send` and `end` are async.
///
/// ```
/// use mpplugin::{Ending, Message, Plugin};
///
/// struct Echo;
/// impl Plugin<String> for Echo {
///     fn handle_message(&mut self, message: Message<String>) -> Option<u8> {
///         (message.as_str() == "stop").then_some(3)
///     }
/// }
///
/// # tokio::runtime::Runtime::new().unwrap().block_on(async {
/// let mut host = mpplugin::tokio::Host::<String>::new();
/// host.attach(Echo);
/// host.send("hello".to_owned()).await.unwrap();
/// host.send("stop".to_owned()).await.unwrap();
/// let exits = host.end().await;
/// assert_eq!(exits[0].ending, Ending::Detached(3));
/// # });
/// ```
///
/// Dropping the host without [`end`](Host::end) closes every queue, discards
/// the messages not yet handled, waits (blocking the dropping thread) for each
/// plugin's message in progress, and drops the plugins there: no plugin code
/// runs after the drop returns. Call `end().await` to shut down without
/// blocking.
pub struct Host<T: 'static> {
    roster: Roster<T, Option<JoinHandle<Exit>>>,
}

impl<T: Send + Sync + 'static> Default for Host<T> {
    fn default() -> Self {
        Self::new()
    }
}

impl<T: Send + Sync + 'static> Host<T> {
    /// A host with no plugin. Needs no runtime; attaching does.
    pub fn new() -> Self {
        Self {
            roster: Roster::new(),
        }
    }

    /// Attaches a plugin as a task with a queue of [`DEFAULT_CAPACITY`]
    /// messages.
    ///
    /// # Panics
    /// Outside a tokio runtime.
    pub fn attach(&mut self, plugin: impl Plugin<T>) -> PluginId {
        self.attach_with(plugin, DEFAULT_CAPACITY, Execution::Task)
    }

    /// Attaches a plugin as a task whose queue holds at most `capacity`
    /// messages.
    ///
    /// # Panics
    /// If `capacity` is 0, or outside a tokio runtime.
    pub fn attach_with_capacity(&mut self, plugin: impl Plugin<T>, capacity: usize) -> PluginId {
        self.attach_with(plugin, capacity, Execution::Task)
    }

    /// Attaches a plugin on the blocking pool, with a queue of
    /// [`DEFAULT_CAPACITY`] messages: for handlers that block.
    ///
    /// # Panics
    /// Outside a tokio runtime.
    pub fn attach_blocking(&mut self, plugin: impl Plugin<T>) -> PluginId {
        self.attach_with(plugin, DEFAULT_CAPACITY, Execution::Blocking)
    }

    /// Attaches a plugin with the given queue capacity and execution.
    ///
    /// # Panics
    /// If `capacity` is 0, or outside a tokio runtime.
    pub fn attach_with(
        &mut self,
        plugin: impl Plugin<T>,
        capacity: usize,
        execution: Execution,
    ) -> PluginId {
        let id = self.roster.next_id();
        let worker = Arc::new(Worker::new(id, Box::new(plugin), capacity));
        let running = Arc::clone(&worker);
        let join = match execution {
            Execution::Task => ::tokio::spawn(async move { running.run_async().await }),
            Execution::Blocking => ::tokio::task::spawn_blocking(move || running.run_blocking()),
        };
        self.roster.plugins.push(Attached {
            worker,
            join: Some(join),
            gone: false,
        });
        id
    }

    /// Queues the message for every running plugin, waiting while a queue is
    /// full. Each plugin receives it after everything sent before, and
    /// without waiting for a later send.
    ///
    /// Cancelling this future may leave the message queued for some plugins
    /// and not others.
    ///
    /// # Errors
    /// [`SendError`] with the message when no plugin is running.
    pub async fn send(&mut self, message: impl Into<Message<T>>) -> Result<Delivery, SendError<T>> {
        let message = message.into();
        let mut sending = Sending::new();
        while let Some(full) = self.roster.write(&message, &mut sending) {
            self.roster.plugins[full].worker.queue.wait_async().await;
        }
        delivery_or_error(sending.delivery, message)
    }

    /// Queues the message for every running plugin if every queue has room,
    /// and for none otherwise. Never waits.
    ///
    /// # Errors
    /// [`TrySendError::Full`] when a queue is full,
    /// [`TrySendError::NoPlugins`] when no plugin is running.
    pub fn try_send(
        &mut self,
        message: impl Into<Message<T>>,
    ) -> Result<Delivery, TrySendError<T>> {
        self.roster.try_send(message.into())
    }

    /// How many plugins are attached, running or not.
    pub fn len(&self) -> usize {
        self.roster.plugins.len()
    }

    /// Whether no plugin was ever attached.
    pub fn is_empty(&self) -> bool {
        self.roster.plugins.is_empty()
    }

    /// Closes every queue, lets each plugin handle what it was sent, and
    /// returns one exit per attached plugin, in attach order.
    pub async fn end(mut self) -> Vec<Exit> {
        self.roster.close_all(false);
        let mut exits = Vec::with_capacity(self.roster.plugins.len());
        // Each plugin stays in the roster until its task is joined: if this
        // future is cancelled, `Drop` still finds and stops the rest.
        for attached in &mut self.roster.plugins {
            let Some(join) = attached.join.as_mut() else {
                continue;
            };
            let exit = join.await.unwrap_or_else(|error| Exit {
                id: attached.worker.id,
                name: attached.worker.name.clone(),
                ending: Ending::Panicked(format!("mpplugin's worker task failed: {error}")),
                handled: 0,
                unhandled: 0,
                drop_panic: None,
            });
            attached.join = None;
            exits.push(exit);
        }
        exits
    }
}

impl<T: 'static> Drop for Host<T> {
    fn drop(&mut self) {
        self.roster.close_all(true);
        for attached in &self.roster.plugins {
            attached.worker.drop_plugin_now();
        }
    }
}

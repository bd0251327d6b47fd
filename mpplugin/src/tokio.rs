//! The tokio host: one task per plugin (feature `tokio`).
//!
//! Handlers are synchronous. By default a plugin runs as an ordinary tokio
//! task ([`Execution::Task`]): it costs a few hundred bytes, not a thread, and
//! hands its worker thread back after every batch of at most 128 messages. That
//! fits plugins whose handlers are short, which is what a message handler
//! should be. A plugin whose handler blocks or computes for long would keep a
//! runtime worker from every other task meanwhile: attach it with
//! [`Host::attach_blocking`] ([`Execution::Blocking`]) and it runs on a
//! thread of its own for as long as it is attached. Not on tokio's blocking
//! pool: a runtime being dropped waits for every thread of its pool, and a
//! plugin waiting there for its next message would never let it finish.
//!
//! A plugin's own copy of tokio (a cdylib carries its own) sees no runtime:
//! plugins must not rely on the host's.

use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

use tokio::sync::oneshot;
use tokio::task::JoinHandle;

use crate::exit::{Delivery, Exit, PluginId, SendError, TrySendError};
use crate::handover::{Handover, Replaced};
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
    /// On a thread of its own for the plugin's lifetime (not the runtime's
    /// blocking pool, whose threads a runtime being dropped waits for).
    /// Right for handlers that block or compute for long.
    Blocking,
}

/// Where the host finds a plugin's exit.
enum Join {
    Task(JoinHandle<Exit>),
    /// The plugin's own thread sends its exit when it ends.
    Thread(oneshot::Receiver<Exit>),
}

impl Join {
    async fn exit<T: 'static>(&mut self, worker: &Worker<T>) -> Exit {
        match self {
            Join::Task(task) => match task.await {
                Ok(exit) => exit,
                // The runtime shut down and dropped the task.
                Err(error) if error.is_cancelled() => worker.abandon(),
                Err(error) => worker.failed(format!("mpplugin's worker task failed: {error}")),
            },
            Join::Thread(exit) => exit
                .await
                .unwrap_or_else(|_| worker.failed("mpplugin's worker thread panicked".to_owned())),
        }
    }
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
///
/// A plugin stuck in its handler holds its thread (as a task, a runtime
/// worker) as long as it is stuck; `end().await` waits for it. To shut down
/// in bounded time, end with a deadline ([`end_timeout`](Host::end_timeout),
/// [`end_by`](Host::end_by)), or cancel `end().await` (with
/// `tokio::time::timeout`, say): a cancelled `end` drops the host without
/// waiting for a plugin in its handler, which then handles nothing more and
/// is dropped by its own thread or task when the handler returns.
///
/// The runtime may be dropped before the host: tasks it drops are reported
/// [`Ending::Abandoned`](crate::Ending::Abandoned), and plugins on threads
/// of their own are unaffected.
pub struct Host<T: 'static> {
    roster: Roster<T, Option<Join>>,
    /// `end` has begun: a drop from here on is that of a cancelled `end`,
    /// which must not wait for a plugin stuck in its handler.
    ending: bool,
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
            ending: false,
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

    /// Attaches a plugin on a thread of its own, with a queue of
    /// [`DEFAULT_CAPACITY`] messages: for handlers that block.
    ///
    /// # Panics
    /// If the operating system cannot start a thread.
    pub fn attach_blocking(&mut self, plugin: impl Plugin<T>) -> PluginId {
        self.attach_with(plugin, DEFAULT_CAPACITY, Execution::Blocking)
    }

    /// Attaches a plugin with the given queue capacity and execution.
    ///
    /// # Panics
    /// If `capacity` is 0, if a queue of `capacity` messages cannot be
    /// allocated (the message says so; the plugin is dropped and the host
    /// stays as it was), outside a tokio runtime for [`Execution::Task`],
    /// or if the operating system cannot start a thread for
    /// [`Execution::Blocking`].
    pub fn attach_with(
        &mut self,
        plugin: impl Plugin<T>,
        capacity: usize,
        execution: Execution,
    ) -> PluginId {
        let id = self.roster.next_id();
        let worker = Arc::new(Worker::new(id, Box::new(plugin), capacity));
        let join = spawn(&worker, execution);
        self.roster.plugins.push(Attached {
            worker,
            join: Some(join),
            gone: false,
        });
        id
    }

    /// Replaces plugin `id` with `plugin`, which keeps the id: every
    /// message sent before this call reaches the old plugin, every message
    /// sent after it the new one, none lost, duplicated or reordered.
    /// Never waits for the old plugin: the swap travels through the
    /// plugin's queue, behind the messages already in it, and its task or
    /// thread makes it there. The old plugin's exit arrives through the
    /// [`Replaced`] returned (`.await` its [`exit`](Replaced::exit)); [`end`](Host::end) reports the
    /// last plugin of each id only. The new plugin runs as the old one did
    /// ([`Execution`]).
    ///
    /// A plugin that has ended (detached or panicked) is replaced too: the
    /// new one gets a task or thread of its own, with a queue of the old
    /// one's capacity, and this awaits the old one's last steps (dropping
    /// it), so that its exit is in the [`Replaced`] at once.
    ///
    /// # Panics
    /// If this host has no plugin `id`; for a plugin that had ended, as
    /// [`attach_with`](Host::attach_with).
    pub async fn replace(&mut self, id: PluginId, plugin: impl Plugin<T>) -> Replaced {
        let (replaced, refused) = self.roster.offer_swap(id, Box::new(plugin));
        if let Some(mut swap) = refused {
            let (old, join) = self.roster.restart(id, &mut swap, |worker, join| {
                let execution = match join {
                    Some(Join::Thread(_)) => Execution::Blocking,
                    _ => Execution::Task,
                };
                Some(spawn(worker, execution))
            });
            let exit = match join {
                Some(mut join) => join.exit(&old).await,
                None => old.abandon(),
            };
            swap.report(exit, Handover::OldEnded);
        }
        replaced
    }

    /// Queues the message for every running plugin, waiting while a queue is
    /// full. Each plugin receives it after everything sent before, and
    /// without waiting for a later send.
    ///
    /// A plugin that waits on the caller (a blocking reply on a channel
    /// without room, say) while this waits for room in that plugin's full
    /// queue deadlocks both: give reply channels room for every reply, have
    /// plugins reply with `try_send`, or send with
    /// [`try_send`](Host::try_send).
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
    ///
    /// Cancelling this future drops the host without waiting for a plugin in
    /// its handler (see [`Host`]): the way to bound it with the caller's own
    /// timeout, though the exits are lost then; [`end_by`](Host::end_by)
    /// keeps them.
    pub async fn end(self) -> Vec<Exit> {
        self.end_within(None).await
    }

    /// [`end`](Host::end), waiting at most `timeout`: see
    /// [`end_by`](Host::end_by).
    ///
    /// # Panics
    /// Outside a tokio runtime with timers enabled.
    pub async fn end_timeout(self, timeout: Duration) -> Vec<Exit> {
        match Instant::now().checked_add(timeout) {
            Some(deadline) => self.end_by(deadline).await,
            None => self.end().await,
        }
    }

    /// [`end`](Host::end), waiting until `deadline` at most. Every plugin
    /// that ends by then reports its exit as `end` would; one still running
    /// (a handler that blocks, or a long queue) is reported
    /// [`Ending::Abandoned`](crate::Ending::Abandoned): it handles no further
    /// message, and its thread or task is left to finish the handler in
    /// progress, then drops the plugin there, never while the handler runs.
    /// One exit per attached plugin, in attach order.
    ///
    /// # Panics
    /// Outside a tokio runtime with timers enabled.
    pub async fn end_by(self, deadline: Instant) -> Vec<Exit> {
        self.end_within(Some(deadline)).await
    }

    async fn end_within(mut self, deadline: Option<Instant>) -> Vec<Exit> {
        self.roster.close_all(false);
        self.ending = true;
        let mut exits = Vec::with_capacity(self.roster.plugins.len());
        // Each plugin stays in the roster until its exit is in: if this
        // future is cancelled, `Drop` still finds and stops the rest.
        for attached in &mut self.roster.plugins {
            let Some(join) = attached.join.as_mut() else {
                continue;
            };
            let exit = match deadline {
                None => join.exit(&attached.worker).await,
                Some(deadline) => {
                    let deadline = ::tokio::time::Instant::from_std(deadline);
                    ::tokio::time::timeout_at(deadline, join.exit(&attached.worker))
                        .await
                        .unwrap_or_else(|_| attached.worker.abandon())
                }
            };
            attached.join = None;
            exits.push(exit);
        }
        exits
    }
}

fn spawn<T: Send + Sync + 'static>(worker: &Arc<Worker<T>>, execution: Execution) -> Join {
    let running = Arc::clone(worker);
    match execution {
        Execution::Task => Join::Task(::tokio::spawn(async move { running.run_async().await })),
        Execution::Blocking => {
            let (exit, exited) = oneshot::channel();
            thread::Builder::new()
                .name(format!("mpplugin {}", worker.name()))
                .spawn(move || {
                    // No receiver left: the host abandoned the plugin.
                    let _ = exit.send(running.run_blocking());
                })
                .expect("mpplugin: cannot start a plugin thread");
            Join::Thread(exited)
        }
    }
}

impl<T: 'static> Drop for Host<T> {
    fn drop(&mut self) {
        self.roster.close_all(true);
        for attached in &self.roster.plugins {
            if self.ending {
                // A cancelled or timed-out `end`: never wait for a handler.
                attached.worker.drop_plugin_if_idle();
            } else {
                attached.worker.drop_plugin_now();
            }
        }
    }
}

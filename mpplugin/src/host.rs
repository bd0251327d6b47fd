//! The std host: one thread per plugin. What it reports is `exit.rs`'s, the
//! roster and the send it shares with the tokio host `roster.rs`'s.

use std::sync::Arc;
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use crate::exit::{Delivery, Exit, PluginId, SendError, TrySendError};
use crate::handover::{Handover, Replaced};
use crate::message::Message;
use crate::plugin::Plugin;
use crate::roster::{Attached, DEFAULT_CAPACITY, Roster, Sending, delivery_or_error};
use crate::worker::Worker;

/// A host that runs each plugin on its own thread.
///
/// ```
/// use mpplugin::{Ending, Host, Message, Plugin};
///
/// struct Sum(u64);
/// impl Plugin<u64> for Sum {
///     fn handle_message(&mut self, message: Message<u64>) -> Option<u8> {
///         self.0 += *message;
///         (self.0 >= 6).then_some(0)
///     }
/// }
///
/// let mut host = Host::<u64>::new();
/// host.attach(Sum(0));
/// for n in 1..=3 {
///     host.send(n).unwrap();
/// }
/// let exits = host.end();
/// assert_eq!(exits[0].ending, Ending::Detached(0));
/// ```
///
/// Dropping a host without [`end`](Host::end) closes every queue, discards
/// the messages not yet handled, waits for each plugin's message in progress,
/// and drops the plugins: no plugin code runs after the drop returns.
///
/// A plugin stuck in its handler makes `end` and the drop wait for it as
/// long as it is stuck: a thread cannot be stopped from outside. To shut
/// down in bounded time, end with a deadline: [`end_timeout`](Host::end_timeout)
/// or [`end_by`](Host::end_by).
pub struct Host<T: 'static> {
    roster: Roster<T, Option<JoinHandle<Exit>>>,
}

impl<T: Send + Sync + 'static> Default for Host<T> {
    fn default() -> Self {
        Self::new()
    }
}

impl<T: Send + Sync + 'static> Host<T> {
    /// A host with no plugin.
    pub fn new() -> Self {
        Self {
            roster: Roster::new(),
        }
    }

    /// Attaches a plugin with a queue of [`DEFAULT_CAPACITY`] messages and
    /// starts its thread.
    ///
    /// # Panics
    /// If the operating system cannot start a thread.
    pub fn attach(&mut self, plugin: impl Plugin<T>) -> PluginId {
        self.attach_with_capacity(plugin, DEFAULT_CAPACITY)
    }

    /// Attaches a plugin whose queue holds at most `capacity` messages: a
    /// `send` that finds it full waits. The queue is allocated at once: one
    /// pointer per message, `capacity` rounded up to a power of two.
    ///
    /// # Panics
    /// If `capacity` is 0, if a queue of `capacity` messages cannot be
    /// allocated (the message says so; the plugin is dropped and the host
    /// stays as it was), or if the operating system cannot start a thread.
    pub fn attach_with_capacity(&mut self, plugin: impl Plugin<T>, capacity: usize) -> PluginId {
        let id = self.roster.next_id();
        let worker = Arc::new(Worker::new(id, Box::new(plugin), capacity));
        let thread = spawn(&worker);
        self.roster.plugins.push(Attached {
            worker,
            join: Some(thread),
            gone: false,
        });
        id
    }

    /// Replaces plugin `id` with `plugin`, which keeps the id: every
    /// message sent before this call reaches the old plugin, every message
    /// sent after it the new one, none lost, duplicated or reordered.
    /// Never waits for the old plugin: the swap travels through the
    /// plugin's queue, behind the messages already in it, and its thread
    /// makes it there. The old plugin's exit arrives through the
    /// [`Replaced`] returned; [`end`](Host::end) reports the last plugin
    /// of each id only.
    ///
    /// A plugin that has ended (detached or panicked) is replaced too: the
    /// new one runs on a thread of its own, with a queue of the old one's
    /// capacity, and the old exit is in the [`Replaced`] at once.
    ///
    /// Typically the new plugin is a rebuilt library's (see
    /// [reloading](mod@crate::load#reloading)):
    ///
    /// ```no_run
    /// # use mpplugin::{Host, PluginLibrary};
    /// # let mut host = Host::<u64>::new();
    /// # let path = "target/debug/libcounter.so";
    /// // SAFETY: built from source we trust, with our toolchain and allocator.
    /// let id = host.attach(unsafe { mpplugin::load::<u64>(path) }?);
    /// host.send(1)?;
    /// // ... the plugin is rebuilt at `path` ...
    /// // SAFETY: as above.
    /// let library = unsafe { PluginLibrary::open(path) }?;
    /// let old = host.replace(id, library.instantiate::<u64>()?);
    /// host.send(2)?;
    /// assert_eq!(old.wait().handled, 1);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    ///
    /// # Panics
    /// If this host has no plugin `id`, or the operating system cannot start
    /// a thread for a plugin that had ended.
    pub fn replace(&mut self, id: PluginId, plugin: impl Plugin<T>) -> Replaced {
        let (replaced, refused) = self.roster.offer_swap(id, Box::new(plugin));
        if let Some(mut swap) = refused {
            let (old, thread) = self
                .roster
                .restart(id, &mut swap, |worker, _| Some(spawn(worker)));
            let exit = match thread {
                Some(thread) => join(thread, &old),
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
    /// # Errors
    /// [`SendError`] with the message when no plugin is running.
    pub fn send(&mut self, message: impl Into<Message<T>>) -> Result<Delivery, SendError<T>> {
        let message = message.into();
        let mut sending = Sending::new();
        while let Some(full) = self.roster.write(&message, &mut sending) {
            self.roster.plugins[full]
                .worker
                .queue
                .wait_blocking(&mut sending.yields);
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
    pub fn end(mut self) -> Vec<Exit> {
        self.roster.close_all(false);
        self.join_all()
    }

    /// [`end`](Host::end), waiting at most `timeout`: see
    /// [`end_by`](Host::end_by).
    pub fn end_timeout(self, timeout: Duration) -> Vec<Exit> {
        match Instant::now().checked_add(timeout) {
            Some(deadline) => self.end_by(deadline),
            None => self.end(),
        }
    }

    /// [`end`](Host::end), waiting until `deadline` at most. Every plugin
    /// that ends by then reports its exit as `end` would; one still running
    /// (a handler that blocks, or a long queue) is reported
    /// [`Ending::Abandoned`](crate::Ending::Abandoned): it handles no
    /// further message, and its thread is left to finish the handler in
    /// progress, then drops the plugin there, never while the handler runs.
    /// One exit per attached plugin, in attach order.
    pub fn end_by(mut self, deadline: Instant) -> Vec<Exit> {
        self.roster.close_all(false);
        let mut exits = Vec::with_capacity(self.roster.plugins.len());
        for mut attached in self.roster.plugins.drain(..) {
            let Some(thread) = attached.join.take() else {
                continue;
            };
            if attached.worker.ended_by(deadline) {
                exits.push(join(thread, &attached.worker));
            } else {
                // Dropping the handle detaches the thread, which ends on
                // its own.
                exits.push(attached.worker.abandon());
            }
        }
        exits
    }

    fn join_all(&mut self) -> Vec<Exit> {
        self.roster
            .plugins
            .drain(..)
            .filter_map(|mut attached| Some(join(attached.join.take()?, &attached.worker)))
            .collect()
    }
}

fn spawn<T: Send + Sync + 'static>(worker: &Arc<Worker<T>>) -> JoinHandle<Exit> {
    let running = Arc::clone(worker);
    thread::Builder::new()
        .name(format!("mpplugin {}", worker.name()))
        .spawn(move || running.run_blocking())
        .expect("mpplugin: cannot start a plugin thread")
}

fn join<T: 'static>(thread: JoinHandle<Exit>, worker: &Worker<T>) -> Exit {
    thread
        .join()
        .unwrap_or_else(|_| worker.failed("mpplugin's worker thread panicked".to_owned()))
}

impl<T: 'static> Drop for Host<T> {
    fn drop(&mut self) {
        self.roster.close_all(true);
        for attached in &mut self.roster.plugins {
            if let Some(thread) = attached.join.take() {
                let _ = thread.join();
            }
        }
    }
}

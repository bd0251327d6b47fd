//! The std host: one thread per plugin. Also the types both hosts share:
//! [`Exit`], [`Delivery`] and the send errors.

use std::error::Error;
use std::fmt;
use std::sync::Arc;
use std::thread::{self, JoinHandle};

use crate::worker::{Room, Settled, Worker, Write, fence_writes};
use crate::{Message, Plugin};

/// The queue capacity of a plugin attached with `attach`.
///
/// Measured (see the README's "Performance"): on two cores, fan-out
/// throughput climbs steeply up to 1024 and barely after, while every queue
/// costs its capacity in memory up front (one pointer per message, 8 KiB
/// here).
pub const DEFAULT_CAPACITY: usize = 1024;

/// Identifies one attached plugin within its host, in attach order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct PluginId(pub(crate) u64);

impl PluginId {
    /// The plugin's position in attach order, from 0.
    pub fn index(self) -> u64 {
        self.0
    }
}

impl fmt::Display for PluginId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "plugin #{}", self.0)
    }
}

/// How a plugin ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Ending {
    /// The host closed its queue and the plugin handled every message in it.
    Finished,
    /// `handle_message` returned `Some(status)`.
    Detached(u8),
    /// `handle_message` panicked with this message.
    Panicked(String),
}

/// The end of one plugin: which one, how it ended, and what it handled.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Exit {
    /// Which plugin.
    pub id: PluginId,
    /// Its [`name`](Plugin::name).
    pub name: String,
    /// How it ended.
    pub ending: Ending,
    /// How many times `handle_message` was called, the last call included.
    pub handled: u64,
    /// Messages that reached its queue but were not handled because the
    /// plugin had ended (detached or panicked) first. Together with
    /// `handled`, every message delivered to the plugin is accounted for.
    pub unhandled: u64,
    /// The message of a panic while the plugin was being dropped, if any.
    pub drop_panic: Option<String>,
}

impl fmt::Display for Exit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} ({}) ", self.id, self.name)?;
        match &self.ending {
            Ending::Finished => write!(f, "finished")?,
            Ending::Detached(status) => write!(f, "detached with status {status}")?,
            Ending::Panicked(message) => write!(f, "panicked: {message}")?,
        }
        write!(f, " after {} message(s)", self.handled)?;
        if self.unhandled > 0 {
            write!(f, ", {} left unhandled", self.unhandled)?;
        }
        if let Some(message) = &self.drop_panic {
            write!(f, "; its drop panicked: {message}")?;
        }
        Ok(())
    }
}

/// What a successful send did.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Delivery {
    /// How many plugins the message was queued for.
    pub delivered: usize,
    /// Plugins found to have ended since the previous send. They are no
    /// longer sent anything; their exits come from `end`.
    pub gone: Vec<PluginId>,
}

/// `send` found no plugin running: the message reached nobody and is handed
/// back.
pub struct SendError<T> {
    /// The message that was not delivered.
    pub message: Message<T>,
    /// Plugins found to have ended during this send (the others ended
    /// earlier and were reported then).
    pub gone: Vec<PluginId>,
}

/// Why `try_send` did not deliver a message. Either way it was queued for no
/// plugin, so trying again cannot deliver it twice.
pub enum TrySendError<T> {
    /// At least one running plugin's queue is full.
    Full {
        /// The message that was not delivered.
        message: Message<T>,
        /// The plugins whose queues are full.
        full: Vec<PluginId>,
        /// Plugins found to have ended.
        gone: Vec<PluginId>,
    },
    /// No plugin is running.
    NoPlugins(SendError<T>),
}

impl<T> fmt::Debug for SendError<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SendError")
            .field("gone", &self.gone)
            .finish_non_exhaustive()
    }
}

impl<T> fmt::Display for SendError<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("no plugin is running: the message reached nobody (call `end` to read the plugins' exits)")
    }
}

impl<T> Error for SendError<T> {}

impl<T> fmt::Debug for TrySendError<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Full { full, gone, .. } => f
                .debug_struct("Full")
                .field("full", full)
                .field("gone", gone)
                .finish_non_exhaustive(),
            Self::NoPlugins(error) => f.debug_tuple("NoPlugins").field(error).finish(),
        }
    }
}

impl<T> fmt::Display for TrySendError<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Full { full, .. } => write!(
                f,
                "the queue of {} plugin(s) is full: the message was queued for none (retry, or `send` to wait)",
                full.len()
            ),
            Self::NoPlugins(error) => fmt::Display::fmt(error, f),
        }
    }
}

impl<T> Error for TrySendError<T> {}

impl<T> TrySendError<T> {
    /// The message that was not delivered.
    pub fn into_message(self) -> Message<T> {
        match self {
            Self::Full { message, .. } => message,
            Self::NoPlugins(error) => error.message,
        }
    }
}

/// The plugins of one host, in attach order, and what both hosts do with
/// them that needs no runtime.
pub(crate) struct Roster<T: 'static, J> {
    pub(crate) plugins: Vec<Attached<T, J>>,
}

pub(crate) struct Attached<T: 'static, J> {
    pub(crate) worker: Arc<Worker<T>>,
    pub(crate) join: J,
    /// Reported gone by a send already.
    pub(crate) gone: bool,
}

impl<T: 'static, J> Attached<T, J> {
    /// Found to have ended: reported once, in `gone`, and skipped after.
    fn report_gone(&mut self, gone: &mut Vec<PluginId>) {
        self.gone = true;
        gone.push(self.worker.id);
    }
}

impl<T: 'static, J> Roster<T, J> {
    pub(crate) fn close_all(&self, discard: bool) {
        for attached in &self.plugins {
            if discard {
                attached.worker.queue.close_and_discard();
            } else {
                attached.worker.queue.close();
            }
        }
    }
}

impl<T: Send + Sync + 'static, J> Roster<T, J> {
    pub(crate) fn new() -> Self {
        Self {
            plugins: Vec::new(),
        }
    }

    pub(crate) fn next_id(&self) -> PluginId {
        PluginId(self.plugins.len() as u64)
    }

    pub(crate) fn running(&mut self) -> impl Iterator<Item = &mut Attached<T, J>> {
        self.plugins.iter_mut().filter(|attached| !attached.gone)
    }

    /// Writes the message to each running plugin's queue from `sending`'s
    /// position on. Returns the index of the first plugin whose queue is
    /// full, for the caller to wait on and call again, or `None` when the
    /// message was written to every queue. Either way, every write so far is
    /// settled: nothing stays unsettled while the host waits.
    pub(crate) fn write(&mut self, message: &Message<T>, sending: &mut Sending) -> Option<usize> {
        while let Some(attached) = self.plugins.get_mut(sending.next) {
            if !attached.gone {
                match attached.worker.queue.try_write(message) {
                    Write::Written => sending.unsettled = true,
                    Write::Gone => attached.report_gone(&mut sending.delivery.gone),
                    Write::Full => {
                        self.settle(sending);
                        return Some(sending.next);
                    }
                }
            }
            sending.next += 1;
            sending.yields = 0;
        }
        self.settle(sending);
        None
    }

    /// One fence for all the writes, then each settled.
    fn settle(&mut self, sending: &mut Sending) {
        if !std::mem::take(&mut sending.unsettled) {
            return;
        }
        let fenced = fence_writes();
        for attached in self.running() {
            match attached.worker.queue.settle(&fenced) {
                Settled::Nothing => {}
                Settled::Delivered => sending.delivery.delivered += 1,
                Settled::Gone => attached.report_gone(&mut sending.delivery.gone),
            }
        }
    }

    /// The first pass of `try_send`: which queues are full or gone. Room only
    /// grows under a single producer, so a queue with room keeps it.
    pub(crate) fn try_send(&mut self, message: Message<T>) -> Result<Delivery, TrySendError<T>> {
        let mut full = Vec::new();
        let mut gone = Vec::new();
        for attached in self.running() {
            match attached.worker.queue.room() {
                Room::Yes => {}
                Room::Full => full.push(attached.worker.id),
                Room::Gone => attached.report_gone(&mut gone),
            }
        }
        if !full.is_empty() {
            return Err(TrySendError::Full {
                message,
                full,
                gone,
            });
        }
        let mut sending = Sending::new();
        sending.delivery.gone = gone;
        let full = self.write(&message, &mut sending);
        assert!(
            full.is_none(),
            "mpplugin: a queue with room lost it, yet only the host fills it"
        );
        delivery_or_error(sending.delivery, message).map_err(TrySendError::NoPlugins)
    }
}

/// How far one `send` has got.
pub(crate) struct Sending {
    pub(crate) delivery: Delivery,
    /// The plugin to write to next.
    next: usize,
    /// How often the host has yielded waiting for that plugin's queue.
    pub(crate) yields: u32,
    /// A write was made and not settled yet.
    unsettled: bool,
}

impl Sending {
    pub(crate) fn new() -> Self {
        Self {
            delivery: Delivery {
                delivered: 0,
                gone: Vec::new(),
            },
            next: 0,
            yields: 0,
            unsettled: false,
        }
    }
}

pub(crate) fn delivery_or_error<T>(
    delivery: Delivery,
    message: Message<T>,
) -> Result<Delivery, SendError<T>> {
    if delivery.delivered == 0 {
        Err(SendError {
            message,
            gone: delivery.gone,
        })
    } else {
        Ok(delivery)
    }
}

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
pub struct Host<T: 'static> {
    roster: Roster<T, Option<JoinHandle<crate::Exit>>>,
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
    /// If `capacity` is 0, or the operating system cannot start a thread.
    pub fn attach_with_capacity(&mut self, plugin: impl Plugin<T>, capacity: usize) -> PluginId {
        let id = self.roster.next_id();
        let worker = Arc::new(Worker::new(id, Box::new(plugin), capacity));
        let running = Arc::clone(&worker);
        let thread = thread::Builder::new()
            .name(format!("mpplugin {}", worker.name))
            .spawn(move || running.run_blocking())
            .expect("mpplugin: cannot start a plugin thread");
        self.roster.plugins.push(Attached {
            worker,
            join: Some(thread),
            gone: false,
        });
        id
    }

    /// Queues the message for every running plugin, waiting while a queue is
    /// full. Each plugin receives it after everything sent before, and
    /// without waiting for a later send.
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
    pub fn end(mut self) -> Vec<crate::Exit> {
        self.roster.close_all(false);
        self.join_all()
    }

    fn join_all(&mut self) -> Vec<crate::Exit> {
        self.roster
            .plugins
            .drain(..)
            .filter_map(|mut attached| {
                let thread = attached.join.take()?;
                Some(thread.join().unwrap_or_else(|_| crate::Exit {
                    id: attached.worker.id,
                    name: attached.worker.name.clone(),
                    ending: Ending::Panicked("mpplugin's worker thread panicked".to_owned()),
                    handled: 0,
                    unhandled: 0,
                    drop_panic: None,
                }))
            })
            .collect()
    }
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

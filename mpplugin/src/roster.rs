//! The plugins of one host and one send over them: what the std host and
//! the tokio host do alike that needs no runtime (attach order, writing a
//! message to every queue and settling the writes, `try_send`, a replace's
//! swap offered, and the new worker put in place of one that had ended).
//! It never blocks or awaits: waiting for room, starting a worker and
//! collecting an exit are each host's own.

use std::sync::Arc;

use crate::exit::{Delivery, PluginId, SendError, TrySendError};
use crate::handover::{Replaced, Swap};
use crate::message::Message;
use crate::plugin::Plugin;
use crate::queue::{Room, Settled, Write, fence_writes};
use crate::worker::Worker;

/// The queue capacity of a plugin attached with `attach`.
///
/// Measured (see the README's "Performance"): on two cores, fan-out
/// throughput climbs steeply up to 1024 and barely after, while every queue
/// costs its capacity in memory up front (one pointer per message, 8 KiB
/// here).
pub const DEFAULT_CAPACITY: usize = 1024;

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

    /// The first half of a replace: offers plugin `id`'s worker a swap to
    /// `plugin` after every message written so far. `Some(swap)` back when
    /// the worker has ended and takes no swap: the host starts a new worker
    /// for the new plugin, in the same place, and reports the old exit
    /// through the swap.
    ///
    /// # Panics
    /// If this host has no plugin `id`.
    pub(crate) fn offer_swap(
        &mut self,
        id: PluginId,
        plugin: Box<dyn Plugin<T>>,
    ) -> (Replaced, Option<Swap<T>>) {
        let attached = self.attached(id);
        let (swap, replaced) = Swap::new(id, plugin, attached.worker.queue.written());
        (replaced, attached.worker.offer(swap).err())
    }

    /// The second half of a replace whose worker had ended and handed the
    /// swap back: a new worker for the swap's plugin, with a queue of the
    /// old one's capacity, started by `start` (given the old join, to run
    /// the new plugin as the old one ran) and put in plugin `id`'s place.
    /// Returns the old worker and its join, for the host to collect the old
    /// exit (joined, or abandoned if the host holds no join) and report it
    /// through the swap.
    ///
    /// # Panics
    /// If this host has no plugin `id`, or the swap has no plugin left.
    pub(crate) fn restart(
        &mut self,
        id: PluginId,
        swap: &mut Swap<T>,
        start: impl FnOnce(&Arc<Worker<T>>, &J) -> J,
    ) -> (Arc<Worker<T>>, J) {
        let attached = self.attached(id);
        let plugin = swap
            .take_plugin()
            .expect("mpplugin: a swap handed back keeps its plugin");
        let capacity = attached.worker.queue.capacity();
        let worker = Arc::new(Worker::new(id, plugin, capacity));
        let join = start(&worker, &attached.join);
        let old = std::mem::replace(&mut attached.worker, worker);
        attached.gone = false;
        (old, std::mem::replace(&mut attached.join, join))
    }

    /// Plugin `id`.
    ///
    /// # Panics
    /// If this host has no plugin `id`.
    pub(crate) fn attached(&mut self, id: PluginId) -> &mut Attached<T, J> {
        let count = self.plugins.len();
        self.plugins
            .get_mut(id.0 as usize)
            .filter(|attached| attached.worker.id == id)
            .unwrap_or_else(|| {
                panic!("mpplugin: replace of {id}, which this host does not have (it has {count} plugins): use an id that this host's attach returned")
            })
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

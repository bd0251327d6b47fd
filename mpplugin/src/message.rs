//! [`Message<T>`]: one message, shared by every plugin that receives it,
//! and the containment of a panic in its `T`'s `Drop`. Its `unsafe` (two
//! lines) takes the `Arc` out of a message that is dropped or unwrapped.

use std::cell::Cell;
use std::fmt;
use std::mem::ManuallyDrop;
use std::ops::Deref;
use std::panic::{self, AssertUnwindSafe};
use std::sync::Arc;

thread_local! {
    /// Messages whose value this thread dropped and whose `Drop` panicked,
    /// since [`take_drop_panics`] last read it. Each copy of mpplugin (a
    /// host's, each loaded plugin's) counts its own drops.
    static DROP_PANICS: Cell<u64> = const { Cell::new(0) };
}

/// Reads and resets this thread's count of panicking message drops.
pub(crate) fn take_drop_panics() -> u64 {
    DROP_PANICS.try_with(|count| count.replace(0)).unwrap_or(0)
}

/// A message as a plugin receives it: a cheap clone of one [`Arc<T>`].
///
/// A host broadcasts a message by cloning the `Arc`, never the `T`: every
/// plugin reads the same value, and it is freed when the last plugin has
/// finished with it.
///
/// ```
/// use std::sync::Arc;
/// use mpplugin::Message;
///
/// let message = Message::new(String::from("hello"));
/// let copy = message.clone();
/// assert_eq!(copy.len(), 5); // Deref<Target = String>
/// let shared: Arc<String> = message.into_arc();
/// assert!(Arc::ptr_eq(&shared, copy.as_arc()));
/// ```
///
/// Whoever drops the last message of a value drops the value, a plugin or
/// the host alike: a panic in `T`'s `Drop` is contained there (the panic
/// hook still prints it), so that it cannot abort the process (a second
/// panic while one unwinds) nor be taken for the panic of the plugin that
/// happened to drop the last reference. Hosts count such panics in each
/// plugin's [`Exit::message_drop_panics`](crate::Exit::message_drop_panics).
/// An `Arc<T>` taken out with [`into_arc`](Message::into_arc) drops as any
/// `Arc` does.
pub struct Message<T>(ManuallyDrop<Arc<T>>);

impl<T> Message<T> {
    /// Wraps `value` in a new `Arc`.
    pub fn new(value: T) -> Self {
        Self(ManuallyDrop::new(Arc::new(value)))
    }

    /// The shared `Arc<T>` behind this message.
    pub fn as_arc(&self) -> &Arc<T> {
        &self.0
    }

    /// Gives back the `Arc<T>` behind this message.
    pub fn into_arc(self) -> Arc<T> {
        let mut this = ManuallyDrop::new(self);
        // SAFETY: `this` is never dropped: its `Arc` is taken once, here.
        unsafe { ManuallyDrop::take(&mut this.0) }
    }
}

impl<T> Clone for Message<T> {
    fn clone(&self) -> Self {
        Self(ManuallyDrop::new(Arc::clone(&self.0)))
    }
}

impl<T> Drop for Message<T> {
    fn drop(&mut self) {
        // SAFETY: this is the message's drop: `self.0` is never used again.
        let shared = unsafe { ManuallyDrop::take(&mut self.0) };
        // The count goes down as an `Arc`'s drop would take it down; only
        // the last reference gets the value back, to drop it contained.
        let Some(value) = Arc::into_inner(shared) else {
            return;
        };
        if let Err(payload) = panic::catch_unwind(AssertUnwindSafe(move || drop(value))) {
            // A payload whose own `Drop` panics is leaked rather than let
            // unwind.
            if let Err(nested) = panic::catch_unwind(AssertUnwindSafe(move || drop(payload))) {
                std::mem::forget(nested);
            }
            let _ = DROP_PANICS.try_with(|count| count.set(count.get() + 1));
        }
    }
}

impl<T> Deref for Message<T> {
    type Target = T;

    fn deref(&self) -> &T {
        &self.0
    }
}

impl<T> AsRef<T> for Message<T> {
    fn as_ref(&self) -> &T {
        &self.0
    }
}

impl<T> From<T> for Message<T> {
    fn from(value: T) -> Self {
        Self::new(value)
    }
}

impl<T> From<Arc<T>> for Message<T> {
    fn from(shared: Arc<T>) -> Self {
        Self(ManuallyDrop::new(shared))
    }
}

impl<T> From<Message<T>> for Arc<T> {
    fn from(message: Message<T>) -> Self {
        message.into_arc()
    }
}

impl<T: fmt::Debug> fmt::Debug for Message<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&*self.0, f)
    }
}

impl<T: fmt::Display> fmt::Display for Message<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&*self.0, f)
    }
}

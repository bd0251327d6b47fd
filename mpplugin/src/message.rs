//! [`Message<T>`]: one message, shared by every plugin that receives it.

use std::fmt;
use std::ops::Deref;
use std::sync::Arc;

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
pub struct Message<T>(Arc<T>);

impl<T> Message<T> {
    /// Wraps `value` in a new `Arc`.
    pub fn new(value: T) -> Self {
        Self(Arc::new(value))
    }

    /// The shared `Arc<T>` behind this message.
    pub fn as_arc(&self) -> &Arc<T> {
        &self.0
    }

    /// Gives back the `Arc<T>` behind this message.
    pub fn into_arc(self) -> Arc<T> {
        self.0
    }
}

impl<T> Clone for Message<T> {
    fn clone(&self) -> Self {
        Self(Arc::clone(&self.0))
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
        Self(shared)
    }
}

impl<T> From<Message<T>> for Arc<T> {
    fn from(message: Message<T>) -> Self {
        message.0
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

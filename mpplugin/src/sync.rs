//! The synchronization primitives of the ring in [`queue`](crate::queue):
//! std's, or loom's in the model checks of the queue (`queue/loom_tests.rs`,
//! run with `RUSTFLAGS="--cfg loom"` and `cargo test`, see `.ci/run`), so
//! that loom sees every atomic access, lock, park and slot access. The rest
//! of the crate stays on std.
//!
//! Only this crate's own tests switch to loom, not `cfg(loom)` alone: a crate
//! that runs loom tests of its own sets `--cfg loom` for every crate it
//! builds, this one included, and loom is only our dev-dependency.
//!
//! The modules mirror std's paths and loom's interface; where the two differ,
//! the std side takes loom's shape, which compiles to the same code.

#[cfg(all(test, loom))]
pub(crate) use loom::sync::{Mutex, MutexGuard, atomic};
#[cfg(all(test, loom))]
pub(crate) use loom::{cell, thread};
#[cfg(not(all(test, loom)))]
pub(crate) use std::sync::{Mutex, MutexGuard};

#[cfg(not(all(test, loom)))]
pub(crate) mod atomic {
    pub(crate) use std::sync::atomic::{AtomicBool, AtomicUsize, fence};
}

#[cfg(not(all(test, loom)))]
pub(crate) mod thread {
    pub(crate) use std::thread::{Thread, current, park, yield_now};
}

#[cfg(not(all(test, loom)))]
pub(crate) mod cell {
    /// std's `UnsafeCell` with loom's interface: access through a closure,
    /// so that loom's version knows where each access ends.
    pub(crate) struct UnsafeCell<T>(std::cell::UnsafeCell<T>);

    impl<T> UnsafeCell<T> {
        #[inline]
        pub(crate) const fn new(value: T) -> Self {
            Self(std::cell::UnsafeCell::new(value))
        }

        #[inline]
        pub(crate) fn with_mut<R>(&self, f: impl FnOnce(*mut T) -> R) -> R {
            f(self.0.get())
        }
    }
}

/// The value of an atomic its caller owns: std's `get_mut`, which loom's
/// atomics spell `with_mut`.
#[cfg(not(all(test, loom)))]
#[inline]
pub(crate) fn load_owned(atomic: &mut atomic::AtomicUsize) -> usize {
    *atomic.get_mut()
}

#[cfg(all(test, loom))]
pub(crate) fn load_owned(atomic: &mut atomic::AtomicUsize) -> usize {
    atomic.with_mut(|value| *value)
}

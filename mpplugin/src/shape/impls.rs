//! [`Shape`] for what messages are made of: the primitives and the standard
//! library's types (and tokio's channel senders, feature `tokio`), and
//! mpplugin's own [`Reply`](crate::reply::Reply).
//!
//! Each is a [`Kind::Leaf`](super::Kind::Leaf): its name, layout and the
//! shapes of its type parameters. Both sides of a load are built by one
//! rustc (the loader checks), so a standard type with the same name and
//! parameters is the same type; its parameters are described so that a
//! user's type inside it (`Vec<Msg>`) is compared field by field.
//! No derive-able types here: those are the user's.

use std::borrow::{Cow, ToOwned};
use std::cell::{Cell, RefCell};
use std::collections::{BTreeMap, BTreeSet, BinaryHeap, HashMap, HashSet, LinkedList, VecDeque};
use std::marker::PhantomData;
use std::num::{
    NonZeroI8, NonZeroI16, NonZeroI32, NonZeroI64, NonZeroI128, NonZeroIsize, NonZeroU8,
    NonZeroU16, NonZeroU32, NonZeroU64, NonZeroU128, NonZeroUsize, Wrapping,
};
use std::path::{Path, PathBuf};
use std::rc::Rc;
use std::sync::atomic::{
    AtomicBool, AtomicI8, AtomicI16, AtomicI32, AtomicI64, AtomicIsize, AtomicU8, AtomicU16,
    AtomicU32, AtomicU64, AtomicUsize,
};
use std::sync::{Arc, Mutex, RwLock, mpsc};
use std::time::{Duration, Instant, SystemTime};

use super::{Builder, Node, Shape};

/// Types without type parameters.
macro_rules! plain {
    ($($ty:ty),* $(,)?) => {$(
        impl Shape for $ty {
            fn describe(_: &mut Builder) -> Node {
                Node::leaf::<Self>(Vec::new())
            }
        }
    )*};
}

plain! {
    (), bool, char, f32, f64,
    u8, u16, u32, u64, u128, usize, i8, i16, i32, i64, i128, isize,
    NonZeroU8, NonZeroU16, NonZeroU32, NonZeroU64, NonZeroU128, NonZeroUsize,
    NonZeroI8, NonZeroI16, NonZeroI32, NonZeroI64, NonZeroI128, NonZeroIsize,
    AtomicBool, AtomicU8, AtomicU16, AtomicU32, AtomicU64, AtomicUsize,
    AtomicI8, AtomicI16, AtomicI32, AtomicI64, AtomicIsize,
    String, PathBuf, std::ffi::OsString, std::ffi::CString,
    Duration, Instant, SystemTime,
    std::net::IpAddr, std::net::Ipv4Addr, std::net::Ipv6Addr, std::net::SocketAddr,
}

impl Shape for str {
    fn describe(_: &mut Builder) -> Node {
        Node::unsized_leaf::<Self>(Vec::new())
    }
}

impl Shape for Path {
    fn describe(_: &mut Builder) -> Node {
        Node::unsized_leaf::<Self>(Vec::new())
    }
}

impl<T: Shape> Shape for [T] {
    fn describe(builder: &mut Builder) -> Node {
        Node::unsized_leaf::<Self>(vec![builder.of::<T>()])
    }
}

impl<T: Shape, const N: usize> Shape for [T; N] {
    fn describe(builder: &mut Builder) -> Node {
        Node::leaf::<Self>(vec![builder.of::<T>()])
    }
}

/// Sized containers of one parameter that may itself be unsized.
macro_rules! pointer {
    ($($ty:ident),* $(,)?) => {$(
        impl<T: Shape + ?Sized> Shape for $ty<T> {
            fn describe(builder: &mut Builder) -> Node {
                Node::leaf::<Self>(vec![builder.of::<T>()])
            }
        }
    )*};
}

pointer!(Box, Arc, Rc, PhantomData);

impl<T: Shape + ?Sized> Shape for &'static T {
    fn describe(builder: &mut Builder) -> Node {
        Node::leaf::<Self>(vec![builder.of::<T>()])
    }
}

/// Sized containers of sized parameters.
macro_rules! generic {
    ($($($ty:ident)::+ <$($param:ident),+>),* $(,)?) => {$(
        impl<$($param: Shape),+> Shape for $($ty)::+<$($param),+> {
            fn describe(builder: &mut Builder) -> Node {
                Node::leaf::<Self>(vec![$(builder.of::<$param>()),+])
            }
        }
    )*};
}

generic! {
    Option<T>, Result<T, E>, Vec<T>, VecDeque<T>, LinkedList<T>, BinaryHeap<T>,
    BTreeMap<K, V>, BTreeSet<T>, Cell<T>, RefCell<T>, Wrapping<T>,
    Mutex<T>, RwLock<T>,
}

generic! {
    mpsc::Sender<T>, mpsc::SyncSender<T>, mpsc::Receiver<T>,
}

// The hasher is part of the name (`type_name`), which is compared.
impl<K: Shape, V: Shape, S: 'static> Shape for HashMap<K, V, S> {
    fn describe(builder: &mut Builder) -> Node {
        Node::leaf::<Self>(vec![builder.of::<K>(), builder.of::<V>()])
    }
}

impl<T: Shape, S: 'static> Shape for HashSet<T, S> {
    fn describe(builder: &mut Builder) -> Node {
        Node::leaf::<Self>(vec![builder.of::<T>()])
    }
}

impl<B: Shape + ToOwned + ?Sized> Shape for Cow<'static, B> {
    fn describe(builder: &mut Builder) -> Node {
        Node::leaf::<Self>(vec![builder.of::<B>()])
    }
}

macro_rules! tuple {
    ($($param:ident),+) => {
        impl<$($param: Shape),+> Shape for ($($param,)+) {
            fn describe(builder: &mut Builder) -> Node {
                Node::leaf::<Self>(vec![$(builder.of::<$param>()),+])
            }
        }
    };
}

tuple!(A);
tuple!(A, B);
tuple!(A, B, C);
tuple!(A, B, C, D);
tuple!(A, B, C, D, E);
tuple!(A, B, C, D, E, F);
tuple!(A, B, C, D, E, F, G);
tuple!(A, B, C, D, E, F, G, H);
tuple!(A, B, C, D, E, F, G, H, I);
tuple!(A, B, C, D, E, F, G, H, I, J);
tuple!(A, B, C, D, E, F, G, H, I, J, K);
tuple!(A, B, C, D, E, F, G, H, I, J, K, L);

// A function pointer's signature is compared; the code behind it cannot be.
macro_rules! function {
    ($($param:ident),*) => {
        impl<R: Shape $(, $param: Shape)*> Shape for fn($($param),*) -> R {
            fn describe(builder: &mut Builder) -> Node {
                Node::leaf::<Self>(vec![builder.of::<R>() $(, builder.of::<$param>())*])
            }
        }
    };
}

function!();
function!(A);
function!(A, B);
function!(A, B, C);
function!(A, B, C, D);

// A `Reply` is an `Arc` to a trait object whose vtable the host made: its
// layout is mpplugin's, so its name carries mpplugin's version
// (`ReplyLayout`), and a plugin built against another version's `Reply` is
// refused even where name, size and alignment agree.
impl<R: Shape> Shape for crate::reply::Reply<R> {
    fn describe(builder: &mut Builder) -> Node {
        Node::leaf::<Self>(vec![builder.of::<R>(), builder.of::<ReplyLayout>()])
    }
}

/// The version of mpplugin whose `Reply` this is, as a type name:
/// `ReplyOf<0, 1, 0>`.
struct ReplyOf<const MAJOR: u64, const MINOR: u64, const PATCH: u64>;

type ReplyLayout = ReplyOf<
    { number(env!("CARGO_PKG_VERSION_MAJOR")) },
    { number(env!("CARGO_PKG_VERSION_MINOR")) },
    { number(env!("CARGO_PKG_VERSION_PATCH")) },
>;

impl<const MAJOR: u64, const MINOR: u64, const PATCH: u64> Shape for ReplyOf<MAJOR, MINOR, PATCH> {
    fn describe(_: &mut Builder) -> Node {
        Node::leaf::<Self>(Vec::new())
    }
}

/// A version component, read at compile time.
const fn number(digits: &str) -> u64 {
    let digits = digits.as_bytes();
    let mut value = 0;
    let mut at = 0;
    while at < digits.len() {
        assert!(digits[at].is_ascii_digit(), "a version component is digits");
        value = value * 10 + (digits[at] - b'0') as u64;
        at += 1;
    }
    value
}

#[cfg(feature = "tokio")]
mod tokio_senders {
    use tokio::sync::{broadcast, mpsc, oneshot, watch};

    use super::{Builder, Node, Shape};

    generic! {
        mpsc::Sender<T>, mpsc::UnboundedSender<T>, oneshot::Sender<T>,
        broadcast::Sender<T>, watch::Sender<T>,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::reply::Reply;
    use crate::shape::TypeShape;

    /// `Reply<u64>` as a plugin built against mpplugin 0.99.0 would
    /// describe it: name, size and alignment the same.
    struct ReplyOfAnotherVersion;

    impl Shape for ReplyOfAnotherVersion {
        fn describe(builder: &mut Builder) -> Node {
            Node::leaf::<Reply<u64>>(vec![builder.of::<u64>(), builder.of::<ReplyOf<0, 99, 0>>()])
        }
    }

    #[test]
    fn a_reply_names_this_mpplugins_version_and_another_version_differs() {
        let ours = TypeShape::of::<Reply<u64>>();
        let version = env!("CARGO_PKG_VERSION").replace('.', ", ");
        assert!(
            ours.nodes()
                .iter()
                .any(|node| node.name.ends_with(&format!("ReplyOf<{version}>"))),
            "{:?}",
            ours.nodes()
        );
        let difference =
            TypeShape::difference(&ours, &TypeShape::of::<ReplyOfAnotherVersion>()).unwrap();
        assert!(
            difference.to_string().contains("ReplyOf<0, 99, 0>"),
            "{difference}"
        );
    }
}

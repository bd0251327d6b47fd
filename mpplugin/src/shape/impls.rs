//! [`Shape`] for what messages are made of: the primitives and the standard
//! library's types (and tokio's channel senders, feature `tokio`), and
//! mpplugin's own [`Reply`](crate::reply::Reply).
//!
//! Each is a [`Kind::Leaf`](super::Kind::Leaf): its path (as
//! `std::any::type_name` writes it, without generic arguments), layout and
//! the shapes of its type parameters, all static data. Both sides of a load
//! are built by one rustc (the loader checks), so a standard type with the
//! same name and parameters is the same type; its parameters are described
//! so that a user's type inside it (`Vec<Msg>`) is compared field by field.
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

use super::graph::anchored;
use super::{Layout, Shape, ShapeRef, StaticNode};

/// Types without type parameters, with their paths.
macro_rules! plain {
    ($($ty:ty = $name:literal),* $(,)?) => {$(
        impl Shape for $ty {
            const SHAPE: ShapeRef =
                ShapeRef::new(&StaticNode::leaf(
                    anchored!($name),
                    Some(Layout::of::<Self>()),
                    &[],
                ));
        }
    )*};
}

plain! {
    () = "()", bool = "bool", char = "char", f32 = "f32", f64 = "f64",
    u8 = "u8", u16 = "u16", u32 = "u32", u64 = "u64", u128 = "u128", usize = "usize",
    i8 = "i8", i16 = "i16", i32 = "i32", i64 = "i64", i128 = "i128", isize = "isize",
    AtomicBool = "core::sync::atomic::AtomicBool",
    AtomicU8 = "core::sync::atomic::AtomicU8",
    AtomicU16 = "core::sync::atomic::AtomicU16",
    AtomicU32 = "core::sync::atomic::AtomicU32",
    AtomicU64 = "core::sync::atomic::AtomicU64",
    AtomicUsize = "core::sync::atomic::AtomicUsize",
    AtomicI8 = "core::sync::atomic::AtomicI8",
    AtomicI16 = "core::sync::atomic::AtomicI16",
    AtomicI32 = "core::sync::atomic::AtomicI32",
    AtomicI64 = "core::sync::atomic::AtomicI64",
    AtomicIsize = "core::sync::atomic::AtomicIsize",
    String = "alloc::string::String",
    PathBuf = "std::path::PathBuf",
    std::ffi::OsString = "std::ffi::os_str::OsString",
    std::ffi::CString = "alloc::ffi::c_str::CString",
    Duration = "core::time::Duration",
    Instant = "std::time::Instant",
    SystemTime = "std::time::SystemTime",
    std::net::IpAddr = "core::net::ip_addr::IpAddr",
    std::net::Ipv4Addr = "core::net::ip_addr::Ipv4Addr",
    std::net::Ipv6Addr = "core::net::ip_addr::Ipv6Addr",
    std::net::SocketAddr = "core::net::socket_addr::SocketAddr",
}

/// `NonZero<T>` under its aliases.
macro_rules! non_zero {
    ($($ty:ty = $int:ty),* $(,)?) => {$(
        impl Shape for $ty {
            const SHAPE: ShapeRef = ShapeRef::new(&StaticNode::leaf(
                anchored!("core::num::nonzero::NonZero"),
                Some(Layout::of::<Self>()),
                &[<$int as Shape>::SHAPE],
            ));
        }
    )*};
}

non_zero! {
    NonZeroU8 = u8, NonZeroU16 = u16, NonZeroU32 = u32, NonZeroU64 = u64,
    NonZeroU128 = u128, NonZeroUsize = usize,
    NonZeroI8 = i8, NonZeroI16 = i16, NonZeroI32 = i32, NonZeroI64 = i64,
    NonZeroI128 = i128, NonZeroIsize = isize,
}

impl Shape for str {
    const SHAPE: ShapeRef = ShapeRef::new(&StaticNode::leaf(anchored!("str"), None, &[]));
}

impl Shape for Path {
    const SHAPE: ShapeRef =
        ShapeRef::new(&StaticNode::leaf(anchored!("std::path::Path"), None, &[]));
}

impl<T: Shape> Shape for [T] {
    const SHAPE: ShapeRef = ShapeRef::new(&StaticNode::slice(&[T::SHAPE]));
}

impl<T: Shape, const N: usize> Shape for [T; N] {
    const SHAPE: ShapeRef = ShapeRef::new(&StaticNode::array(
        Layout::of::<Self>(),
        &[T::SHAPE],
        &[N as u64],
    ));
}

/// Sized containers of one parameter that may itself be unsized.
macro_rules! pointer {
    ($($ty:ident = $name:literal),* $(,)?) => {$(
        impl<T: Shape + ?Sized> Shape for $ty<T> {
            const SHAPE: ShapeRef = ShapeRef::new(&StaticNode::leaf(
                anchored!($name),
                Some(Layout::of::<Self>()),
                &[T::SHAPE],
            ));
        }
    )*};
}

pointer! {
    Box = "alloc::boxed::Box", Arc = "alloc::sync::Arc", Rc = "alloc::rc::Rc",
    PhantomData = "core::marker::PhantomData",
}

impl<T: Shape + ?Sized> Shape for &'static T {
    const SHAPE: ShapeRef =
        ShapeRef::new(&StaticNode::reference(Layout::of::<Self>(), &[T::SHAPE]));
}

/// Sized containers of sized parameters.
macro_rules! generic {
    ($($($ty:ident)::+ <$($param:ident),+> = $name:literal),* $(,)?) => {$(
        impl<$($param: Shape),+> Shape for $($ty)::+<$($param),+> {
            const SHAPE: ShapeRef = ShapeRef::new(&StaticNode::leaf(
                anchored!($name),
                Some(Layout::of::<Self>()),
                &[$($param::SHAPE),+],
            ));
        }
    )*};
}

generic! {
    Option<T> = "core::option::Option",
    Result<T, E> = "core::result::Result",
    Vec<T> = "alloc::vec::Vec",
    VecDeque<T> = "alloc::collections::vec_deque::VecDeque",
    LinkedList<T> = "alloc::collections::linked_list::LinkedList",
    BinaryHeap<T> = "alloc::collections::binary_heap::BinaryHeap",
    BTreeMap<K, V> = "alloc::collections::btree::map::BTreeMap",
    BTreeSet<T> = "alloc::collections::btree::set::BTreeSet",
    Cell<T> = "core::cell::Cell",
    RefCell<T> = "core::cell::RefCell",
    Wrapping<T> = "core::num::wrapping::Wrapping",
    Mutex<T> = "std::sync::poison::mutex::Mutex",
    RwLock<T> = "std::sync::poison::rwlock::RwLock",
}

generic! {
    mpsc::Sender<T> = "std::sync::mpsc::Sender",
    mpsc::SyncSender<T> = "std::sync::mpsc::SyncSender",
    mpsc::Receiver<T> = "std::sync::mpsc::Receiver",
}

// The hasher is a parameter too, known by its name and layout (an opaque
// type: it need not have a `Shape`).
impl<K: Shape, V: Shape, S: 'static> Shape for HashMap<K, V, S> {
    const SHAPE: ShapeRef = ShapeRef::new(&StaticNode::leaf(
        anchored!("std::collections::hash::map::HashMap"),
        Some(Layout::of::<Self>()),
        &[
            K::SHAPE,
            V::SHAPE,
            ShapeRef::new(&StaticNode::opaque::<S>()),
        ],
    ));
}

impl<T: Shape, S: 'static> Shape for HashSet<T, S> {
    const SHAPE: ShapeRef = ShapeRef::new(&StaticNode::leaf(
        anchored!("std::collections::hash::set::HashSet"),
        Some(Layout::of::<Self>()),
        &[T::SHAPE, ShapeRef::new(&StaticNode::opaque::<S>())],
    ));
}

impl<B: Shape + ToOwned + ?Sized> Shape for Cow<'static, B> {
    const SHAPE: ShapeRef = ShapeRef::new(&StaticNode::leaf(
        anchored!("alloc::borrow::Cow"),
        Some(Layout::of::<Self>()),
        &[B::SHAPE],
    ));
}

macro_rules! tuple {
    ($($param:ident),+) => {
        impl<$($param: Shape),+> Shape for ($($param,)+) {
            const SHAPE: ShapeRef = ShapeRef::new(&StaticNode::tuple(
                Layout::of::<Self>(),
                &[$($param::SHAPE),+],
            ));
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
            const SHAPE: ShapeRef = ShapeRef::new(&StaticNode::function(
                Layout::of::<Self>(),
                &[R::SHAPE $(, $param::SHAPE)*],
            ));
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
// The version is its last parameter, compared but left out of its name, as
// `type_name` writes it: `mpplugin::reply::Reply<Msg>`.
impl<R: Shape> Shape for crate::reply::Reply<R> {
    const SHAPE: ShapeRef = ShapeRef::new(&StaticNode::leaf_with_hidden_last(
        anchored!("mpplugin::reply::Reply"),
        Layout::of::<Self>(),
        &[R::SHAPE, ReplyLayout::SHAPE],
    ));
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
    const SHAPE: ShapeRef = ShapeRef::new(&StaticNode::leaf_with_consts(
        anchored!("mpplugin::shape::impls::ReplyOf"),
        Layout::of::<Self>(),
        &[MAJOR, 0, MINOR, 0, PATCH, 0],
    ));
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

    use super::{Layout, Shape, ShapeRef, StaticNode, anchored};

    generic! {
        mpsc::Sender<T> = "tokio::sync::mpsc::bounded::Sender",
        mpsc::UnboundedSender<T> = "tokio::sync::mpsc::unbounded::UnboundedSender",
        oneshot::Sender<T> = "tokio::sync::oneshot::Sender",
        broadcast::Sender<T> = "tokio::sync::broadcast::Sender",
        watch::Sender<T> = "tokio::sync::watch::Sender",
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
        const SHAPE: ShapeRef = ShapeRef::new(&StaticNode::leaf_with_hidden_last(
            anchored!("mpplugin::reply::Reply"),
            Layout::of::<Reply<u64>>(),
            &[u64::SHAPE, <ReplyOf<0, 99, 0>>::SHAPE],
        ));
    }

    #[test]
    fn a_reply_names_this_mpplugins_version_and_another_version_differs() {
        let ours = TypeShape::of::<Reply<u64>>();
        assert_eq!(ours.root().name, std::any::type_name::<Reply<u64>>());
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

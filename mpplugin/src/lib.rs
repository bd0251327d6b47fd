//! Message-passing plugins for Rust.
//!
//! A host loads plugins (Rust crates built as `cdylib`) by path, and sends
//! every message to every plugin as one shared [`Arc<T>`](std::sync::Arc),
//! wrapped in a [`Message<T>`]. Each plugin runs on its own thread
//! ([`Host`]) or tokio task ([`tokio::Host`], feature `tokio`) and handles its
//! messages one at a time, so its state needs no locks. The process host
//! (`process::Host`, feature `process`) runs the same plugin in a child
//! process of its own, where a crash ends that plugin and nothing else.
//! Plugins answer through a [`reply::Reply`] carried in a message, the same
//! way on every host.
//!
//! # A plugin
//!
//! One struct and one impl block under [`#[plugin]`](macro@plugin):
//!
//! ```
//! #[derive(Default)]
//! pub struct Counter {
//!     seen: u64,
//! }
//!
//! #[mpplugin::plugin]
//! impl Counter {
//!     fn handle_message(&mut self, message: &u64) -> Option<u8> {
//!         self.seen += message;
//!         // `Some(status)` detaches the plugin.
//!         (self.seen >= 10).then_some(1)
//!     }
//! }
//!
//! // Built as a cdylib, a host loads it by path. Any `Plugin<T>` can also be
//! // attached in-process:
//! let mut host = mpplugin::Host::<u64>::new();
//! host.attach(Counter::default());
//! for value in [3, 3, 4] {
//!     host.send(value)?;
//! }
//! let exits = host.end();
//! assert_eq!(exits[0].ending, mpplugin::Ending::Detached(1));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! # Loading it
//!
//! ```no_run
//! use mpplugin::{Host, PluginLibrary};
//!
//! // SAFETY: the library is built from source we trust, with our toolchain
//! // and global allocator; the loader checks everything it can.
//! let library = unsafe { PluginLibrary::open("target/debug/libcounter.so") }?;
//! println!("{}", library.info());
//! let mut host = Host::<u64>::new();
//! host.attach(library.instantiate::<u64>()?);
//! host.attach(library.instantiate::<u64>()?); // as many instances as you like
//! host.send(7)?;
//! for exit in host.end() {
//!     println!("{exit}");
//! }
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! The loader checks the file, then the plugin's declaration (ABI version,
//! rustc, target, message and argument types and their [shapes](mod@shape),
//! field by field, panic strategy) before it calls its constructor; see
//! [`PluginLibrary::open`] for what stays your trust, and
//! [`load`](mod@load) for the library-lifetime policy. Message and argument
//! types of loaded plugins derive [`Shape`](macro@Shape). A refusal is a
//! [`LoadError`] whose `Display` and `Debug` (what `?` in `main` prints) say
//! what differed and the fix.
//!
//! A path written by hand goes stale: a host does not depend on its plugins,
//! so `cargo run` does not rebuild them. In development, the `build` feature's
//! `mpplugin::build::Build` has cargo build them and hands back the paths
//! cargo reports; [`library_file_name`] gives the platform's file name for a
//! crate (`libcounter.so`, `libcounter.dylib`, `counter.dll`).
//!
//! # Panics stay in the plugin
//!
//! A cdylib carries its own copy of std, and a panic unwinding out of it
//! aborts the host. So hosts call and drop plugins through provided methods of
//! [`Plugin`] that are compiled into the plugin's own crate and catch its
//! panics there; a panicking plugin ends with an [`Exit`] that carries the
//! panic message, and the others go on.
//!
//! # Where each concept lives
//!
//! One file per concept, named for it, and a folder for a concept that is a
//! pipeline; no two files import each other.
//!
//! - `message.rs`: [`Message`]; `plugin.rs`: the [`Plugin`] trait and its
//!   panic containment.
//! - `host.rs`: the std [`Host`]; `tokio.rs`: [`tokio::Host`]. What both
//!   report ([`Exit`], [`Ending`], [`PluginId`], [`Delivery`], the send
//!   errors) is `exit.rs`'s; the plugins of a host and one send over them,
//!   `roster.rs`'s; a plugin replaced by another and its state handed over
//!   ([`Replaced`], [`Handover`]), `handover.rs`'s.
//! - `worker.rs`: the code that runs one plugin on its queue; `queue.rs`:
//!   the ring between a host and a plugin, with its loom models in
//!   `queue/loom_tests.rs` (`sync.rs` switches it to loom's primitives).
//! - `load/`: the loader, one file per stage (see [`load`](mod@load)):
//!   `mod.rs` the pipeline; `trust.rs` the permission check, with
//!   `accounts.rs` for who is in a group; `copy.rs` the private copy a
//!   rebuilt file is loaded from; `file.rs` the file check, with
//!   `elf.rs` its ELF fast path; `declaration.rs` the declaration check,
//!   with `image.rs` the checked reads of a library's shape graphs;
//!   `select.rs` the choice among a library's plugins; `dir.rs` a folder of
//!   plugins; `loaded.rs` [`LoadedPlugin`]; `library.rs`
//!   [`PluginLibrary`]'s handle; `info.rs` [`PluginInfo`]; `options.rs`
//!   [`OpenOptions`]; `error.rs` [`LoadError`].
//! - `shape/`: how a type's bytes are read, [`Shape`] (`mod.rs`): a type's
//!   static node graph (`graph.rs`), its reading into the host's
//!   description (`walk.rs`, `describe.rs`), its encoding as bytes
//!   (`encoding.rs`), the comparison that names the first difference
//!   (`compare.rs`), its printing (`print.rs`), and the shapes of standard
//!   types (`impls.rs`).
//! - `abi.rs`: the `#[repr(C)]` declaration a plugin exports;
//!   `private.rs`: what `#[plugin]`'s expansion names, and the file check
//!   for the fuzz target (not public API).
//! - `logging/`: a loaded plugin's `log` and `tracing` output reaching the
//!   host (features `log` and `tracing`; see [`logging`](mod@logging)).
//! - `process/`: the process host (feature `process`; see
//!   [`process`](mod@process)): `mod.rs` the host, `proxy.rs` one child
//!   seen from the host, `registry.rs` the `Reply`s sent to children,
//!   `child.rs` the child's side, `spawn.rs` the thread that starts
//!   children, `wire.rs` the frames, `error.rs` its refusals.
//! - `reply/`: replies from plugins on every host ([`reply`](mod@reply)):
//!   `mod.rs` the two ends, `sink.rs` what a `Reply` points at, `local.rs`
//!   the queue, `remote.rs` a `Reply` across processes (feature `serde`).
//! - `watch.rs`: which plugin files a build replaced (feature `watch`).
//! - `build.rs`: building plugin packages with cargo (feature `build`);
//!   `file_name.rs`: the platform's file name for a crate's library.
//!
//! `unsafe` sits in these files and rooms: the loader (`load/mod.rs`:
//! `dlopen`, the symbol, the constructor call; `load/accounts.rs`: listing
//! users; `load/dir.rs` and `load/loaded.rs` only call and forward what
//! those say), the declaration (`load/declaration.rs` reads it out of the
//! library, `load/image.rs` reads its shape graphs, every pointer checked
//! against where the library is mapped, `abi.rs` defines it, `private.rs` is the plugin's side of the
//! constructor and of a reload's `save` and `restore`), the ring
//! (`queue.rs`), a reload's state handed from one build to another
//! (`handover.rs`, and the hidden `Plugin` method in `plugin.rs` that takes
//! it, whose caller vouches for the state's type), `shape/walk.rs` (reading
//! this process's own shape graphs, which safe code can only make valid)
//! and `shape/graph.rs` (the hidden raw-parts constructors of malformed
//! graphs, for tests), `message.rs` (taking the `Arc` out
//! of a message, to drop its value contained) and `logging/` (reading what the
//! other side of the library boundary lent for one call, and connecting a
//! library), and the process host's child (`process/child.rs`: the
//! parent-death signal, the memory limit, moving its socket off standard
//! input, and the `_exit` of a handler past its deadline). Every block says why it is sound in a `// SAFETY:` comment.
#![deny(unsafe_op_in_unsafe_fn)]
#![warn(missing_docs)]

pub mod abi;
#[cfg(feature = "build")]
pub mod build;
mod exit;
mod file_name;
mod handover;
mod host;
pub mod load;
pub mod logging;
mod message;
mod plugin;
#[cfg(all(feature = "process", unix))]
pub mod process;
mod queue;
pub mod reply;
mod roster;
pub mod shape;
mod sync;
#[cfg(feature = "tokio")]
pub mod tokio;
#[cfg(feature = "watch")]
pub mod watch;
mod worker;

#[doc(hidden)]
#[path = "private.rs"]
pub mod __private;

pub use exit::{Delivery, Ending, Exit, PluginId, SendError, TrySendError};
pub use file_name::library_file_name;
pub use handover::{Handover, Replaced};
pub use host::Host;
pub use load::{LoadError, LoadedPlugin, OpenOptions, PluginInfo, PluginLibrary, load, load_with};
pub use message::Message;
pub use mpplugin_macros::{Shape, plugin};
pub use plugin::Plugin;
pub use roster::DEFAULT_CAPACITY;
pub use shape::Shape;

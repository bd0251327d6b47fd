//! The declaration: reading what a plugin says about itself out of the
//! loaded library (its prefix first, then the whole, then its strings,
//! types and shapes into a [`PluginInfo`]), and comparing that with the host
//! (rustc, mpplugin version, target, message and argument types and shapes,
//! panic strategy). This file holds the loader's unsafe reads of the
//! declaration itself; its strings, type-name functions and shape graphs are
//! read through `image.rs`, which checks every pointer before it is read or
//! called. It never opens a file, and calls into the
//! library only for what the declaration hands over through functions (type
//! names, and the few shapes read lazily); the constructor call is the
//! pipeline's, in `mod.rs`.

use std::any::TypeId;
use std::ffi::c_void;
use std::path::Path;
use std::sync::{Arc, Mutex, PoisonError};

use super::error::LoadError;
use super::image::Image;
use super::info::{PanicStrategy, PluginInfo, TypeInfo};
use crate::abi::{self, DeclarationPrefix, PluginDeclaration, StrRef, TypeDescriptor};
use crate::shape::{self, Shape, ShapeRef, TypeShape, lockstep, walk};

/// Reads the prefix, then (if it matches) the whole declaration.
///
/// # Safety
/// `address` is the address of an exported symbol of a library that stays
/// loaded for the rest of the process; if `symbol_size` is not 0, the symbol
/// has that many bytes.
pub(super) unsafe fn read_declaration(
    path: &Path,
    address: *const c_void,
    symbol_size: u64,
) -> Result<&'static PluginDeclaration, LoadError> {
    let bad = |reason: String| LoadError::BadDeclaration {
        path: path.to_owned(),
        reason,
    };
    let fits = |size: usize| symbol_size == 0 || symbol_size >= size as u64;
    if address.is_null() || !fits(size_of::<DeclarationPrefix>()) {
        return Err(bad(format!(
            "its symbol has {symbol_size} bytes, fewer than the {}-byte prefix",
            size_of::<DeclarationPrefix>()
        )));
    }
    // SAFETY: the symbol has at least the prefix's size (checked above when
    // the file records sizes); the read is unaligned because nothing is
    // known yet about what the symbol is.
    let prefix = unsafe { address.cast::<DeclarationPrefix>().read_unaligned() };
    if prefix.magic != abi::MAGIC {
        return Err(bad(format!(
            "its magic value is {:#018x}, not mpplugin's {:#018x}",
            prefix.magic,
            abi::MAGIC
        )));
    }
    if prefix.abi_version != abi::ABI_VERSION {
        return Err(LoadError::AbiVersion {
            path: path.to_owned(),
            host: abi::ABI_VERSION,
            plugin: prefix.abi_version,
        });
    }
    let size = size_of::<PluginDeclaration>();
    if prefix.size as usize != size || !fits(size) {
        return Err(bad(format!(
            "it says it has {} bytes and its symbol {symbol_size}, where ABI version {} declarations have {size}",
            prefix.size,
            abi::ABI_VERSION
        )));
    }
    let declaration = address.cast::<PluginDeclaration>();
    if !declaration.is_aligned() {
        return Err(bad("it is not aligned".to_owned()));
    }
    // SAFETY: the prefix matched this ABI version, so the symbol is a
    // `PluginDeclaration` of this layout, aligned and large enough (checked
    // above); the library is never unloaded, so it lives for `'static`.
    Ok(unsafe { &*declaration })
}

/// Reads a declaration's strings and types.
///
/// # Safety
/// `declaration` was read by `read_declaration` from a library that stays
/// loaded.
/// `expected`: the host's types, when the caller knows them already
/// (`load`): a shape equal to the host's is then found so without being read
/// into nodes.
pub(super) unsafe fn describe(
    path: &Path,
    symbol: &str,
    declaration: &PluginDeclaration,
    expected: Option<&Expected>,
) -> Result<PluginInfo, LoadError> {
    let bad = |reason: String| LoadError::BadDeclaration {
        path: path.to_owned(),
        reason,
    };
    // Every string and function of the declaration is checked against the
    // library's memory before it is read or called, as its shapes are.
    let image = Image::containing(std::ptr::from_ref(declaration).cast());
    let text = |field: &str, value: StrRef| {
        image
            .text(value, &format!("its {field}"))
            .map(str::to_owned)
            .map_err(bad)
    };
    let type_info = |field: &str, descriptor: &TypeDescriptor| {
        Ok::<_, LoadError>(TypeInfo {
            name: image
                .type_name(descriptor.name, &format!("its {field}"))
                .map_err(bad)?
                .to_owned(),
            size: descriptor.size,
            align: descriptor.align,
        })
    };
    let mut shapes_image = image.clone();
    let mut type_shape = |field: &str, root: ShapeRef, host: Option<&HostShape>| {
        plugin_shape(&mut shapes_image, root, host, Read::Check).map_err(|reason| {
            LoadError::BadDeclaration {
                path: path.to_owned(),
                reason: format!("its {field}'s shape is malformed: {reason}"),
            }
        })
    };
    let panic_strategy = match declaration.panic_strategy {
        abi::PANIC_UNWIND => PanicStrategy::Unwind,
        abi::PANIC_ABORT => PanicStrategy::Abort,
        other => PanicStrategy::Unknown(other),
    };
    Ok(PluginInfo {
        path: path.to_owned(),
        symbol: symbol.to_owned(),
        name: text("name", declaration.name)?,
        version: text("version", declaration.version)?,
        plugin_type: text("plugin type", declaration.plugin_type)?,
        message: type_info("message type", &declaration.message)?,
        argument: match declaration.takes_argument {
            0 => None,
            _ => Some(type_info("argument type", &declaration.argument)?),
        },
        message_shape: type_shape(
            "message type",
            declaration.message_shape,
            expected.map(|expected| &expected.message),
        )?,
        argument_shape: match declaration.takes_argument {
            0 => None,
            _ => Some(type_shape(
                "argument type",
                declaration.argument_shape,
                expected.and_then(|expected| expected.argument.as_ref()),
            )?),
        },
        rustc: text("rustc", declaration.rustc)?,
        target: text("target", declaration.target)?,
        mpplugin_version: text("mpplugin version", declaration.mpplugin_version)?,
        abi_version: declaration.prefix.abi_version,
        panic_strategy,
    })
}

/// The host's message and argument types, known before a library is opened
/// (`load`, `load_with`).
pub(super) struct Expected {
    pub(super) message: HostShape,
    pub(super) argument: Option<HostShape>,
}

/// The host's shape of a type, as its static graph.
pub(super) struct HostShape {
    root: ShapeRef,
    make: fn() -> TypeShape,
    id: TypeId,
}

impl HostShape {
    pub(super) fn of<X: Shape>() -> Self {
        Self {
            root: X::SHAPE,
            make: TypeShape::of::<X>,
            id: TypeId::of::<X>(),
        }
    }
}

/// The shape at `root` in a library's memory, read once per root: a
/// library is never unloaded, so an address never comes back as another
/// graph, and a library of several plugins of one message type reads it
/// once. `image` is that of the object holding the declaration.
///
/// With `host`, the graph is first compared with the host's in lockstep
/// (`shape::lockstep`): equal, it is not read into nodes, and the shape
/// is the host's, made only if asked for. Anything else reads it as
/// without `host`, so that what is malformed is refused in the same words.
fn plugin_shape(
    image: &mut Image,
    root: ShapeRef,
    host: Option<&HostShape>,
    read: Read,
) -> Result<TypeShape, String> {
    /// A list, not a `HashMap`: a process loads a few libraries.
    /// A root's node and lazy function, and its image's `key`.
    type Key = (usize, usize, usize);
    static READ: Mutex<Vec<(Key, TypeShape)>> = Mutex::new(Vec::new());
    // The image too: a root read in one object's memory was checked against
    // that object only.
    let key = (
        root.node as usize,
        root.lazy.map_or(0, |lazy| lazy as usize),
        image.key(),
    );
    let known = |read: &[(Key, TypeShape)]| {
        read.iter()
            .find(|(seen, _)| *seen == key)
            .map(|(_, shape)| shape.clone())
    };
    if let Some(shape) = known(&READ.lock().unwrap_or_else(PoisonError::into_inner)) {
        return Ok(shape);
    }
    let shape = match host {
        Some(host) if lockstep::equal(host.root, root, image) => {
            TypeShape::equal_to_host(host.make, host.id)
        }
        None if read == Read::Check => {
            walk::check(root, image)?;
            TypeShape::unread(Arc::new(Unread {
                image: image.clone(),
                node: root.node as usize,
                lazy: root.lazy,
            }))
        }
        _ => TypeShape::from_nodes(walk::nodes(root, image)?),
    };
    let mut read = READ.lock().unwrap_or_else(PoisonError::into_inner);
    if let Some(shape) = known(&read) {
        return Ok(shape);
    }
    read.push((key, shape.clone()));
    Ok(shape)
}

/// How a graph not found equal to the host's is taken.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Read {
    /// Read into nodes now.
    Now,
    /// Checked now (`walk::check`: refused in the words a read would use),
    /// read on the first request: `open`, which does not know the host's
    /// type; `instantiate` compares it with the host's in lockstep first.
    Check,
}

/// A plugin's graph that `open` checked and did not read.
struct Unread {
    /// The image of the object holding the declaration.
    image: Image,
    /// The root (`ShapeRef`), as plain values: the graph lives in a library
    /// that is never unloaded.
    node: usize,
    lazy: Option<extern "C" fn() -> ShapeRef>,
}

impl Unread {
    fn root(&self) -> ShapeRef {
        ShapeRef {
            node: self.node as *const _,
            lazy: self.lazy,
        }
    }
}

impl shape::Unread for Unread {
    fn read(&self) -> Result<TypeShape, String> {
        Ok(TypeShape::from_nodes(walk::nodes(
            self.root(),
            &mut self.image.clone(),
        )?))
    }

    fn equal(&self, host: ShapeRef) -> bool {
        lockstep::equal(host, self.root(), &mut self.image.clone())
    }
}

/// The shape of a plugin's reload state, read as the loader reads a
/// declaration's shapes, in the memory of the object that holds `anchor`:
/// a loaded plugin's declaration, so that its graph must lie in its own
/// library; null for a plugin built into the host, whose graph must lie in
/// the object that holds this code. Never the object the root itself points
/// into: a root could point into any object (libc), and its code check
/// would then always pass. A plugin hands over its root, never bytes it
/// made.
pub(crate) fn state_shape(root: ShapeRef, anchor: *const c_void) -> Result<TypeShape, String> {
    let anchor = if anchor.is_null() {
        let own: fn(ShapeRef, *const c_void) -> Result<TypeShape, String> = state_shape;
        own as *const c_void
    } else {
        anchor
    };
    plugin_shape(&mut Image::containing(anchor), root, None, Read::Now)
}

/// A declaration's message shape, read in full as the loader reads a graph
/// it did not find equal to the host's: for the load benchmark, which times
/// it beside a fresh library's constructor.
///
/// # Safety
/// `declaration` is a declaration of this ABI, read by the caller from a
/// library that stays loaded.
pub(crate) unsafe fn message_shape(declaration: &PluginDeclaration) -> Result<TypeShape, String> {
    plugin_shape(
        &mut Image::containing(std::ptr::from_ref(declaration).cast()),
        declaration.message_shape,
        None,
        Read::Now,
    )
}

/// A declaration's message shape as `open` takes it: checked (refused in
/// the words a full read would use), not read; for the load benchmark.
///
/// # Safety
/// As [`message_shape`].
pub(crate) unsafe fn message_shape_checked(
    declaration: &PluginDeclaration,
) -> Result<TypeShape, String> {
    plugin_shape(
        &mut Image::containing(std::ptr::from_ref(declaration).cast()),
        declaration.message_shape,
        None,
        Read::Check,
    )
}

/// As [`message_shape`], compared first with the host's graph of `T` in
/// lockstep, as `load::<T>` reads it: for the load benchmark.
///
/// # Safety
/// As [`message_shape`].
pub(crate) unsafe fn message_shape_as<T: Shape>(
    declaration: &PluginDeclaration,
) -> Result<TypeShape, String> {
    plugin_shape(
        &mut Image::containing(std::ptr::from_ref(declaration).cast()),
        declaration.message_shape,
        Some(&HostShape::of::<T>()),
        Read::Now,
    )
}

/// The comparisons that need no message type: rustc, mpplugin version and
/// target.
pub(super) fn check_toolchain(info: &PluginInfo) -> Result<(), LoadError> {
    let path = || info.path.clone();
    if info.rustc != abi::RUSTC {
        return Err(LoadError::Rustc {
            path: path(),
            host: abi::RUSTC.to_owned(),
            plugin: info.rustc.clone(),
        });
    }
    if info.mpplugin_version != abi::MPPLUGIN_VERSION {
        return Err(LoadError::MppluginVersion {
            path: path(),
            host: abi::MPPLUGIN_VERSION.to_owned(),
            plugin: info.mpplugin_version.clone(),
        });
    }
    if info.target != abi::TARGET {
        return Err(LoadError::Target {
            path: path(),
            host: abi::TARGET.to_owned(),
            plugin: info.target.clone(),
        });
    }
    Ok(())
}

/// The plugin unwinds, so that its panics can be contained.
pub(super) fn check_panic_strategy(info: &PluginInfo) -> Result<(), LoadError> {
    if info.panic_strategy != PanicStrategy::Unwind {
        return Err(LoadError::PanicStrategy {
            path: info.path.clone(),
            plugin: info.panic_strategy,
        });
    }
    Ok(())
}

/// A host's message or argument type, as the checks compare it.
pub(super) struct HostType {
    pub(super) info: TypeInfo,
    /// `shape::encoded`: built once per process.
    shape: &'static [u8],
    /// `TypeShape::of`, called only when the shapes' bytes differ, to say
    /// where.
    describe: fn() -> TypeShape,
    /// The type's `TypeId`: a plugin's shape found equal to it in lockstep
    /// says so.
    id: TypeId,
    /// The type's static graph, compared in lockstep with a plugin's that
    /// `open` checked without reading.
    root: ShapeRef,
}

impl HostType {
    pub(super) fn of<X: Shape>() -> Self {
        Self {
            root: X::SHAPE,
            info: TypeInfo::of::<X>(),
            shape: shape::encoded::<X>(),
            describe: TypeShape::of::<X>,
            id: TypeId::of::<X>(),
        }
    }
}

/// Every comparison, in the order `PluginLibrary::check` documents: the
/// toolchain, the message type and shape, the argument type and shape, the
/// panic strategy.
pub(super) fn check_types(
    info: &PluginInfo,
    message: &HostType,
    argument: Option<&HostType>,
) -> Result<(), LoadError> {
    check_toolchain(info)?;
    if info.message != message.info {
        return Err(LoadError::MessageType {
            path: info.path.clone(),
            host: message.info.clone(),
            plugin: info.message.clone(),
        });
    }
    if let Some(difference) = shape_difference(message, &info.message_shape, info, "message type")?
    {
        return Err(LoadError::MessageShape {
            path: info.path.clone(),
            difference,
        });
    }
    let argument_info = argument.map(|argument| argument.info.clone());
    if info.argument != argument_info {
        return Err(LoadError::ArgumentType {
            path: info.path.clone(),
            host: argument_info,
            plugin: info.argument.clone(),
        });
    }
    if let (Some(host), Some(plugin)) = (argument, &info.argument_shape) {
        if let Some(difference) = shape_difference(host, plugin, info, "argument type")? {
            return Err(LoadError::ArgumentShape {
                path: info.path.clone(),
                difference,
            });
        }
    }
    check_panic_strategy(info)
}

/// Where the plugin's shape of a type differs from the host's, if it does,
/// refused as `open` refuses a malformed shape (`its {field}'s shape is
/// malformed: ...`) where [`difference`] says it is.
fn shape_difference(
    host: &HostType,
    plugin: &TypeShape,
    info: &PluginInfo,
    field: &str,
) -> Result<Option<shape::ShapeDifference>, LoadError> {
    // A shape found equal before: what each later check finds, first.
    if plugin.make.is_some_and(|(_, id)| id == host.id) || plugin.found.get() == Some(&host.id) {
        return Ok(None);
    }
    difference(host, plugin).map_err(|reason| LoadError::BadDeclaration {
        path: info.path.clone(),
        reason: format!("its {field}'s shape is malformed: {reason}"),
    })
}

/// Where the plugin's shape of a type differs from the host's, if it does.
/// A shape found equal to this type's in lockstep at `load` needs no
/// comparison; one `open` checked without reading it is compared in
/// lockstep now (its memory warm), and read only if not found equal so;
/// otherwise equal bytes are equal shapes: one comparison of bytes.
///
/// # Errors
/// Only where a graph `open` checked no longer reads (a lazy shape's
/// function that answers otherwise the second time).
fn difference(
    host: &HostType,
    plugin: &TypeShape,
) -> Result<Option<shape::ShapeDifference>, String> {
    if plugin.make.is_some_and(|(_, id)| id == host.id) || plugin.found.get() == Some(&host.id) {
        return Ok(None);
    }
    if let Some(unread) = &plugin.unread {
        if plugin.is_unread() && unread.equal(host.root) {
            let _ = plugin.found.set(host.id);
            return Ok(None);
        }
    }
    if host.shape == &plugin.try_parts()?.bytes[..] {
        return Ok(None);
    }
    Ok(TypeShape::difference(&(host.describe)(), plugin))
}

/// Whether `shape` is the host's shape of `T`, as `instantiate::<T>`
/// finds it: for the load benchmark.
pub(crate) fn shape_is<T: Shape>(shape: &TypeShape) -> bool {
    matches!(difference(&HostType::of::<T>(), shape), Ok(None))
}

/// Not under Miri, which cannot ask where objects are mapped
/// (`dl_iterate_phdr`).
#[cfg(all(test, target_os = "linux", not(miri)))]
mod tests {
    use super::*;

    #[test]
    fn a_state_shape_is_read_in_the_object_its_plugin_names_not_where_it_points() {
        // A valid graph of this process, named by a plugin whose library is
        // another object (here libc, which holds `abort`).
        let root = <u64 as Shape>::SHAPE;
        let elsewhere = libc::abort as *const c_void;
        let refused = state_shape(root, elsewhere).unwrap_err();
        assert!(
            refused.ends_with("is outside the library's readable memory"),
            "{refused}"
        );
        // The same graph for a plugin built into this process.
        let read = state_shape(root, std::ptr::null()).unwrap();
        assert_eq!(read, TypeShape::of::<u64>());
    }
}

//! A loaded library's memory as the loader reads its declaration's strings
//! and shape graphs: every pointer they hold is checked before it is
//! followed, every function before it is called. On Linux the checks are
//! against the library's own mapping, as the dynamic loader
//! reports it (`dl_iterate_phdr`): a node, a slice or a string must lie, all
//! of it, inside one readable `PT_LOAD` segment of the object that holds the
//! declaration, aligned for its type, and a function the host calls (a
//! lazy shape, an opaque type's name) must start inside an executable one.
//! Elsewhere only what needs no mapping is checked (null, alignment;
//! lengths, counts and UTF-8 are `walk.rs`'s everywhere): a pointer into
//! unmapped memory there is a crash, as a wrong pointer among the
//! declaration's own strings is there.
//!
//! Holds the `unsafe` of reading the graph and the declaration's strings,
//! and of asking where the library is mapped; the walk itself is
//! `shape/walk.rs`'s.

use std::ffi::c_void;

use crate::abi::StrRef;
use crate::shape::walk::Memory;
use crate::shape::{ShapeRef, StaticNode, StaticSlice, StaticText};

/// Address ranges, `start..end`.
type Ranges = Vec<(usize, usize)>;

/// The parts of one loaded object that its shapes may point to.
#[derive(Clone)]
pub(super) struct Image {
    readable: Ranges,
    executable: Ranges,
    /// Whether the ranges are known: on Linux, when the object was found.
    mapped: bool,
}

impl Image {
    /// The image of the loaded object that holds `address` (the
    /// declaration's): its readable and executable segments on Linux; no
    /// ranges elsewhere, where only null pointers and alignment are checked.
    pub(super) fn containing(address: *const c_void) -> Self {
        #[cfg(target_os = "linux")]
        {
            linux::image_of(address as usize)
        }
        #[cfg(not(target_os = "linux"))]
        {
            let _ = address;
            Self {
                readable: Vec::new(),
                executable: Vec::new(),
                mapped: false,
            }
        }
    }

    /// What tells this image from another's for a cache of what was read
    /// in it: the start of its first readable segment (0 where unmapped).
    pub(super) fn key(&self) -> usize {
        self.readable.first().map_or(0, |&(start, _)| start)
    }

    /// Whether `size` bytes at `address`, aligned to `align`, may be read.
    fn check(&self, address: usize, size: usize, align: usize, what: &str) -> Result<(), String> {
        if address == 0 {
            return Err(format!("{what} is at a null pointer"));
        }
        if address % align != 0 {
            return Err(format!(
                "{what} at {address:#x} is not aligned to its {align} bytes"
            ));
        }
        let inside = |&(start, end): &(usize, usize)| {
            address >= start && address < end && end - address >= size
        };
        if self.mapped && !self.readable.iter().any(inside) {
            return Err(format!(
                "{what} at {address:#x} ({size} bytes) is outside the library's readable memory"
            ));
        }
        Ok(())
    }

    /// Whether the host may call the function at `address`.
    fn check_code(&self, address: usize, what: &str) -> Result<(), String> {
        let inside = |&(start, end): &(usize, usize)| address >= start && address < end;
        if self.mapped && !self.executable.iter().any(inside) {
            return Err(format!(
                "{what} at {address:#x} is outside the library's code"
            ));
        }
        Ok(())
    }
}

impl Image {
    /// A string of the declaration, checked as a graph's text is: inside
    /// the library's readable memory, and UTF-8.
    pub(super) fn text(&self, text: StrRef, what: &str) -> Result<&'static str, String> {
        if text.len == 0 {
            return Ok("");
        }
        if text.len > isize::MAX as usize {
            return Err(format!("{what} claims {} bytes", text.len));
        }
        self.check(text.ptr as usize, text.len, 1, what)?;
        // SAFETY: `len` bytes at `ptr` lie inside a readable segment of a
        // library that is never unloaded (checked just now, on Linux;
        // elsewhere the declaration's strings are trusted).
        let bytes = unsafe { std::slice::from_raw_parts(text.ptr, text.len) };
        std::str::from_utf8(bytes).map_err(|_| format!("{what} is not UTF-8"))
    }

    /// The name a declaration's type-name function returns, the function
    /// checked to be the library's code before it is called.
    pub(super) fn type_name(
        &self,
        name: extern "C" fn() -> StrRef,
        what: &str,
    ) -> Result<&'static str, String> {
        self.check_code(name as usize, &format!("{what}'s name function"))?;
        // The library's own code, which the caller of `open` trusts to run,
        // of the signature the matched ABI version gives (mpplugin's
        // `type_name_of` in a plugin built by `#[plugin]`).
        self.text(name(), &format!("{what}'s name"))
    }
}

impl Memory for Image {
    fn node(&mut self, node: *const StaticNode) -> Result<&'static StaticNode, String> {
        self.check(
            node as usize,
            size_of::<StaticNode>(),
            align_of::<StaticNode>(),
            "a node",
        )?;
        // SAFETY: the node lies inside a readable segment of a library that
        // is never unloaded, aligned (checked just now, on Linux; elsewhere
        // the library's own graph is trusted as its declaration is), and
        // every bit pattern of its integers and raw pointers is valid; its
        // function pointers are only called after their own check.
        Ok(unsafe { &*node })
    }

    fn slice<T>(&mut self, slice: StaticSlice<T>) -> Result<&'static [T], String> {
        let size = slice
            .len
            .checked_mul(size_of::<T>())
            .filter(|&size| size <= isize::MAX as usize)
            .ok_or_else(|| format!("{} items do not fit in memory", slice.len))?;
        self.check(slice.ptr as usize, size, align_of::<T>(), "the items")?;
        // SAFETY: as for `node`: `len` items of `T` lie, aligned, inside a
        // readable segment that stays mapped; `T` is a graph type of
        // integers, raw pointers and function pointers (checked before each
        // call), or a byte.
        Ok(unsafe { std::slice::from_raw_parts(slice.ptr, slice.len) })
    }

    fn lazy(&mut self, lazy: extern "C" fn() -> ShapeRef) -> Result<ShapeRef, String> {
        self.check_code(lazy as usize, "a lazy shape's function")?;
        // The declaration's ABI version matched, so the function has this
        // signature, and it starts in the library's code (checked above):
        // code the caller of `open` trusts to run. It is mpplugin's
        // `lazy_shape`, which returns a constant, in a plugin built by
        // `#[plugin]`; which rustc and mpplugin built it is compared only
        // later (`check`), as reading the declaration must not refuse a
        // plugin for them (`PluginInfo` reports them).
        Ok(lazy())
    }

    fn type_name(&mut self, name: extern "C" fn() -> StrRef) -> Result<StaticText, String> {
        self.check_code(name as usize, "an opaque type's name function")?;
        let name = name();
        // SAFETY: the walk checks the text's pointer and length through
        // `slice` before it reads a byte.
        Ok(unsafe { StaticSlice::from_raw_parts(name.ptr, name.len) })
    }
}

#[cfg(target_os = "linux")]
mod linux {
    use std::ffi::{c_int, c_void};

    use super::{Image, Ranges};

    #[cfg(target_pointer_width = "64")]
    type ProgramHeader = libc::Elf64_Phdr;
    #[cfg(target_pointer_width = "32")]
    type ProgramHeader = libc::Elf32_Phdr;

    const PT_LOAD: u32 = 1;
    const PF_X: u32 = 1;
    const PF_R: u32 = 4;

    struct Search {
        address: usize,
        found: Option<(Ranges, Ranges)>,
    }

    pub(super) fn image_of(address: usize) -> Image {
        let mut search = Search {
            address,
            found: None,
        };
        // SAFETY: `dl_iterate_phdr` calls `found` with each loaded object's
        // headers, and `data` is the `Search` above, alive for the call.
        unsafe { libc::dl_iterate_phdr(Some(found), (&raw mut search).cast()) };
        let (readable, executable) = search.found.unwrap_or_default();
        // An object that holds the declaration and no readable segment is
        // not one the dynamic loader reported: nothing may be read from it.
        Image {
            readable,
            executable,
            mapped: true,
        }
    }

    /// `dl_iterate_phdr`'s callback: stops at the object whose loaded
    /// segments hold the address searched for, and keeps its segments.
    unsafe extern "C" fn found(
        info: *mut libc::dl_phdr_info,
        _size: usize,
        data: *mut c_void,
    ) -> c_int {
        // SAFETY: `data` is the caller's `Search`, and `info` the dynamic
        // loader's description of one object, valid during the call.
        let (search, info) = unsafe { (&mut *data.cast::<Search>(), &*info) };
        if info.dlpi_phdr.is_null() {
            return 0;
        }
        // SAFETY: the dynamic loader's `dlpi_phnum` program headers at
        // `dlpi_phdr`.
        let headers =
            unsafe { std::slice::from_raw_parts(info.dlpi_phdr, usize::from(info.dlpi_phnum)) };
        let base = info.dlpi_addr as usize;
        // A shared library's segments lie at or above its base: one
        // comparison passes over most objects of a process that loaded many
        // (each mapped below the one before). An object whose segments
        // wrapped below its base would not be found, and nothing read from
        // it: a refusal, never a read outside it.
        if search.address < base {
            return 0;
        }
        let range = |header: &ProgramHeader| {
            let start = base.wrapping_add(header.p_vaddr as usize);
            (start, start.saturating_add(header.p_memsz as usize))
        };
        let loads = || headers.iter().filter(|header| header.p_type == PT_LOAD);
        let holds = loads().any(|header| {
            let (start, end) = range(header);
            search.address >= start && search.address < end
        });
        if !holds {
            return 0;
        }
        let with = |flag: u32| {
            loads()
                .filter(|header| header.p_flags & flag != 0)
                .map(range)
                .collect::<Ranges>()
        };
        search.found = Some((with(PF_R), with(PF_X)));
        1
    }
}

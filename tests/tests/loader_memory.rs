//! The loader never allocates from what a file claims beyond its fixed
//! bound ([`mpplugin::load::READ_LIMIT`]), shown with a counting global
//! allocator (this test binary's own), not with an allocation that fails: a
//! hostile file that claims a 1.5 TiB, or a mere 1 GiB, dynamic symbol
//! table is refused having asked the allocator for little. Before, the full
//! parse asked for the whole claim, and was refused only where that
//! allocation failed (not under `vm.overcommit_memory=1`, nor under a
//! sanitizer's allocator, and never for 1 GiB).
//!
//! Reading a shape graph likewise asks for little more than the names it
//! may compose: a graph made in safe code whose thousands of parameters
//! each have a name near the bound is refused having copied a few of them,
//! not all.

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, PoisonError};

use mpplugin::load::READ_LIMIT;
use mpplugin::shape::{self, ShapeRef, StaticNode, TypeShape};
use mpplugin::{LoadError, PluginLibrary};
use mpplugin_tests::fixtures::fixture;
use mpplugin_tests::scratch::Scratch;

/// Counts what this thread asks for while [`Counting::measure`] runs: the
/// largest single request and the sum of all, failed requests included.
struct Counting;

thread_local! {
    // Const-initialised and without a destructor: reading it allocates
    // nothing, so the allocator may.
    static MEASURING: Cell<bool> = const { Cell::new(false) };
}

static LARGEST: AtomicU64 = AtomicU64::new(0);
static TOTAL: AtomicU64 = AtomicU64::new(0);

impl Counting {
    fn note(size: usize) {
        if MEASURING.with(Cell::get) {
            LARGEST.fetch_max(size as u64, Ordering::Relaxed);
            TOTAL.fetch_add(size as u64, Ordering::Relaxed);
        }
    }

    /// Runs `f`, and returns what it returned with the largest request and
    /// the total it asked for.
    fn measure<R>(f: impl FnOnce() -> R) -> (R, u64, u64) {
        // One measure at a time: the counts are global.
        static ONE: Mutex<()> = Mutex::new(());
        let _one = ONE.lock().unwrap_or_else(PoisonError::into_inner);
        LARGEST.store(0, Ordering::Relaxed);
        TOTAL.store(0, Ordering::Relaxed);
        MEASURING.with(|measuring| measuring.set(true));
        let result = f();
        MEASURING.with(|measuring| measuring.set(false));
        (
            result,
            LARGEST.load(Ordering::Relaxed),
            TOTAL.load(Ordering::Relaxed),
        )
    }
}

// SAFETY: every call is forwarded to the system allocator unchanged.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        Self::note(layout.size());
        // SAFETY: the caller's contract, forwarded.
        unsafe { System.alloc(layout) }
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        Self::note(layout.size());
        // SAFETY: the caller's contract, forwarded.
        unsafe { System.alloc_zeroed(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: the caller's contract, forwarded.
        unsafe { System.dealloc(ptr, layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        Self::note(new_size);
        // SAFETY: the caller's contract, forwarded.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

/// A copy of the `good` fixture whose dynamic symbol table claims `claim`
/// bytes, the file extended (sparsely) so that the claim lies inside it:
/// no bounds check against the file's length refuses it.
fn claiming(claim: u64, dir: &Scratch, name: &str) -> PathBuf {
    let mut bytes = std::fs::read(fixture("good")).unwrap();
    let field = |at: usize, size: usize| {
        let mut word = [0; 8];
        word[..size].copy_from_slice(&bytes[at..at + size]);
        u64::from_le_bytes(word) as usize
    };
    // A little-endian ELF64 file: the section header table's offset, entry
    // size and count, then each header's type (4 bytes in) and offset (24).
    assert_eq!(
        &bytes[..6],
        b"\x7fELF\x02\x01",
        "a little-endian ELF64 fixture"
    );
    let (table, entry, count) = (field(0x28, 8), field(0x3a, 2), field(0x3c, 2));
    let header_at = (0..count)
        .map(|index| table + index * entry)
        .find(|at| field(at + 4, 4) == 11) // SHT_DYNSYM
        .expect("a cdylib has dynamic symbols");
    let dynsym_at = field(header_at + 24, 8) as u64;
    // `sh_size` sits 32 bytes into a 64-bit section header.
    let at = header_at + 32;
    bytes[at..at + 8].copy_from_slice(&claim.to_le_bytes());
    let path = dir.join(name);
    std::fs::write(&path, &bytes).unwrap();
    let file = std::fs::File::options().write(true).open(&path).unwrap();
    file.set_len(dynsym_at + claim).unwrap();
    path
}

fn open(path: &Path) -> Result<PluginLibrary, LoadError> {
    // SAFETY: refused before the dynamic loader sees it (asserted below).
    unsafe { PluginLibrary::open(path) }
}

#[test]
#[cfg(all(target_os = "linux", target_pointer_width = "64"))]
fn a_hostile_symbol_table_is_refused_without_allocating_its_claim() {
    // The smaller claim lies above the bound too, yet can be allocated.
    const { assert!(READ_LIMIT < 1 << 30) };
    let dir = Scratch::new("loader-memory");
    for (claim, name) in [(24 << 36, "one-and-a-half-tib.so"), (1 << 30, "one-gib.so")] {
        let path = claiming(claim, &dir, name);
        let (result, largest, total) = Counting::measure(|| open(&path));
        std::fs::remove_file(&path).unwrap();
        assert!(
            largest <= READ_LIMIT,
            "{name}: the loader asked for {largest} bytes at once (the bound is {READ_LIMIT})"
        );
        assert!(
            total <= READ_LIMIT,
            "{name}: the loader asked for {total} bytes in all (the bound is {READ_LIMIT})"
        );
        match result {
            Err(LoadError::NotALibrary { reason, .. }) => assert!(
                reason.contains("more than the loader reads of a file"),
                "{name}: {reason}"
            ),
            other => panic!("{name}: {other:?}"),
        }
    }
    // The fixture itself, as it is: loaded, its reads within the bound too.
    let (library, largest, total) = Counting::measure(|| open(fixture("good")));
    library.unwrap();
    assert!(
        largest <= READ_LIMIT && total <= READ_LIMIT,
        "{largest} {total}"
    );
}

/// A name of 65000 bytes, near the 64 KiB a type's name may take.
const LONG: &str = {
    static BYTES: [u8; 65000] = [b'q'; 65000];
    match std::str::from_utf8(&BYTES) {
        Ok(text) => text,
        Err(_) => panic!("ASCII"),
    }
};
static LONG_NAMED: StaticNode = StaticNode::leaf(LONG, Some(shape::Layout::of::<u8>()), &[]);
/// `p<qqq...>`: a composed name of 65003 bytes.
static WRAPPED: StaticNode = StaticNode::leaf(
    "p",
    Some(shape::Layout::of::<u8>()),
    &[ShapeRef::new(&LONG_NAMED)],
);
static MANY: [ShapeRef; 1 << 13] = [ShapeRef::new(&WRAPPED); 1 << 13];
/// A type with 8192 parameters, each named with 65003 bytes.
static ROOT: StaticNode = StaticNode::leaf("r", Some(shape::Layout::of::<u8>()), &MANY);

struct ManyLongParameters;

impl mpplugin::Shape for ManyLongParameters {
    const SHAPE: ShapeRef = ShapeRef::new(&ROOT);
}

#[test]
fn a_name_of_many_long_parameters_is_refused_having_copied_few_of_them() {
    // `TypeShape::of` panics on a malformed graph of the host's own; the
    // default hook's backtrace would count tens of megabytes of its own.
    let hook = std::panic::take_hook();
    std::panic::set_hook(Box::new(|_| {}));
    let (read, _, total) = Counting::measure(|| {
        std::panic::catch_unwind(TypeShape::of::<ManyLongParameters>)
            .map_err(|panic| panic.downcast_ref::<String>().cloned().unwrap_or_default())
    });
    std::panic::set_hook(hook);
    let reason = read.expect_err("a name of 512 MiB is refused");
    assert!(
        reason.ends_with("a type's name would take more than 65536 bytes"),
        "{reason}"
    );
    // Before, every parameter's name was copied before the length was
    // checked: 8192 copies, 532 MB.
    assert!(
        total < 16 << 20,
        "reading the graph asked for {total} bytes in all"
    );
}

//! Load time: `mpplugin::load` of a real cdylib (the `good` fixture) against
//! raw `libloading::Library::new` plus `get` of its declaration symbol, in
//! the same run.
//!
//! - `warm`: the library is already loaded in the process, the usual case
//!   for a host that loads a plugin again. mpplugin keeps every library it
//!   opened (see `mpplugin::load`'s docs) and finds it again by file
//!   identity, but still checks, on every open, who can write the file and
//!   each directory above it: one `lstat` per component of the path, most of
//!   the time here. For a fair baseline, the raw side holds one `Library`
//!   open throughout, so its `dlopen` is the dynamic loader's own look-up
//!   too.
//! - `cold`: every iteration opens a fresh copy of the file, never opened
//!   before, so the dynamic loader maps and relocates it; mpplugin also
//!   checks who can write it, reads its headers and dynamic symbols (a page
//!   at its start and one at its end) first, and calls the constructor,
//!   whose first run faults in the plugin's code.
//! - `libloading_after_…` are not contenders but floors: the raw load after
//!   the system calls that mpplugin's checks make, with nothing parsed. No
//!   loader that makes those checks can beat them.
//!
//! - `folder`: `PluginLibrary::open_dir` of a folder of 50 fresh copies
//!   against opening each of the 50 alone with `PluginLibrary::open`; the
//!   target is at most 1.10× the sum. The folder costs a check of who can
//!   write it and a listing. Every library loaded stays loaded, and the
//!   dynamic loader's look-up grows with their number, so the sum is timed
//!   before and again after `open_dir` (divan runs them in name order).
//!
//! Both sides also construct nothing more than they must: mpplugin's `load`
//! checks the declaration and calls the constructor (and the plugin is
//! dropped), the raw side only finds the symbol. `warm_parts` and
//! `cold_parts` time `load`'s two halves, `PluginLibrary::open` and
//! `instantiate`, apart. `shapes` times what comparing shapes adds to them.
//!
//! ```sh
//! cargo bench -p mpplugin-tests --bench load
//! ```

use std::ffi::c_void;
use std::path::{Path, PathBuf};
use std::sync::LazyLock;
use std::sync::atomic::{AtomicU64, Ordering};

use divan::Bencher;
use fixture_types::Event;

fn main() {
    divan::main();
    // Run with the other benches, or when asked for by name.
    let filters: Vec<String> = std::env::args()
        .skip(1)
        .filter(|arg| !arg.starts_with('-'))
        .collect();
    if filters.is_empty() || filters.iter().any(|filter| filter.contains("folder")) {
        folder_interleaved();
    }
    // The copies are mapped still, which does not stop their removal.
    let _ = std::fs::remove_dir_all(scratch());
}

/// `folder`'s two sides again, taken in turn within one process (the order
/// swapped every round), so that both meet as many libraries already
/// loaded: the fair ratio in one run. (Divan runs one bench after the
/// other, and every library loaded slows the next `dlopen` a little.)
fn folder_interleaved() {
    const ROUNDS: usize = 10;
    let time_alone = || {
        let paths = fresh_folder().1;
        let start = std::time::Instant::now();
        divan::black_box(open_each(&paths));
        start.elapsed()
    };
    let time_dir = || {
        let folder = fresh_folder().0;
        let start = std::time::Instant::now();
        // SAFETY: the fixture is built from this repository's source.
        let found =
            unsafe { mpplugin::PluginLibrary::open_dir(&folder) }.expect("the folder opens");
        let elapsed = start.elapsed();
        assert!(
            found.len() == FOLDER_SIZE && found.iter().all(|(_, opened)| opened.is_ok()),
            "every copy opens"
        );
        elapsed
    };
    let (mut alone, mut dir) = (Vec::new(), Vec::new());
    for round in 0..ROUNDS {
        if round % 2 == 0 {
            alone.push(time_alone());
            dir.push(time_dir());
        } else {
            dir.push(time_dir());
            alone.push(time_alone());
        }
    }
    alone.sort();
    dir.sort();
    let (alone, dir) = (alone[ROUNDS / 2], dir[ROUNDS / 2]);
    println!(
        "folder, interleaved ({ROUNDS} rounds of {FOLDER_SIZE} fresh copies): each alone {alone:.2?}, open_dir {dir:.2?}, open_dir / each alone = {:.2} (target <= 1.10)",
        dir.as_secs_f64() / alone.as_secs_f64()
    );
}

fn scratch() -> PathBuf {
    std::env::temp_dir().join(format!("mpplugin-bench-load-{}", std::process::id()))
}

/// The `good` fixture, built once.
static GOOD: LazyLock<&'static Path> = LazyLock::new(|| mpplugin_tests::fixtures::fixture("good"));

/// `GOOD` resolved (its path has a `..`), whose components mpplugin's
/// check visits.
static CANONICAL: LazyLock<PathBuf> =
    LazyLock::new(|| std::fs::canonicalize(*GOOD).expect("the good fixture"));

/// The fixture's exported declaration symbol, as mpplugin found it.
static SYMBOL: LazyLock<String> = LazyLock::new(|| {
    // SAFETY: the fixture is built from this repository's source.
    let library = unsafe { mpplugin::PluginLibrary::open(*GOOD) }.expect("the good fixture");
    assert!(
        library
            .info()
            .symbol
            .starts_with("__mpplugin_declaration__")
    );
    library.info().symbol.clone()
});

/// A copy of the fixture under a name never used before in this process.
fn fresh_copy() -> PathBuf {
    static NEXT: AtomicU64 = AtomicU64::new(0);
    let directory = scratch();
    std::fs::create_dir_all(&directory).expect("a scratch directory");
    let path = directory.join(format!(
        "libgood-{}.so",
        NEXT.fetch_add(1, Ordering::Relaxed)
    ));
    std::fs::copy(*GOOD, &path).expect("a copy of the fixture");
    path
}

fn raw_load(path: &Path) -> libloading::Library {
    // SAFETY: the fixture is built from this repository's source; the symbol
    // is a data symbol whose address is taken, not read.
    unsafe {
        let library = libloading::Library::new(path).expect("dlopen");
        let symbol = library
            .get::<*const c_void>(SYMBOL.as_bytes())
            .expect("dlsym");
        divan::black_box(*symbol);
        library
    }
}

/// The system calls that checking who can write a file and reading its
/// headers cost at the least, with nothing parsed: one `lstat` per
/// component of `path` (which has no links), then open, `fstat`, a page read
/// at each end, close. mpplugin's `load` makes these and no more on a cold
/// load, so `raw_load` after them is the floor for a loader that checks.
fn check_syscalls(path: &Path) {
    use std::os::unix::fs::FileExt;

    lstat_each_component(path);
    let file = std::fs::File::open(path).expect("open");
    let length = file.metadata().expect("fstat").len();
    let mut page = [0; 4096];
    file.read_exact_at(&mut page, 0).expect("the first page");
    divan::black_box(&page);
    file.read_exact_at(&mut page, length - 4096)
        .expect("the last page");
    divan::black_box(&page);
}

/// One `lstat` per component of `path`, as mpplugin's check of who can write
/// it makes for a path without links.
fn lstat_each_component(path: &Path) {
    for ancestor in path.ancestors() {
        divan::black_box(std::fs::symlink_metadata(ancestor).expect("lstat"));
    }
}

/// Times `load` on a fresh copy of the fixture per iteration (the copy is
/// made outside the timing).
fn on_fresh_copies<O>(bencher: Bencher<'_, '_>, load: impl Fn(&Path) -> O) {
    LazyLock::force(&SYMBOL);
    bencher
        .with_inputs(fresh_copy)
        .bench_local_values(|path| load(&path));
}

fn mpplugin_load(path: &Path) -> mpplugin::LoadedPlugin<Event> {
    // SAFETY: the fixture is built from this repository's source.
    unsafe { mpplugin::load::<Event>(path) }.expect("the good fixture loads")
}

mod warm {
    use super::*;

    #[divan::bench(sample_count = 200, sample_size = 50)]
    fn libloading_new_and_get(bencher: Bencher<'_, '_>) {
        let _held = raw_load(&GOOD);
        bencher.bench_local(|| raw_load(&GOOD));
    }

    /// Not a contender: the floor for a loader that checks on every open
    /// who can write the file, one `lstat` per component of its path.
    #[divan::bench(sample_count = 200, sample_size = 50)]
    fn libloading_after_lstat_walk(bencher: Bencher<'_, '_>) {
        let _held = raw_load(&GOOD);
        LazyLock::force(&CANONICAL);
        bencher.bench_local(|| {
            lstat_each_component(&CANONICAL);
            raw_load(&GOOD)
        });
    }

    #[divan::bench(sample_count = 200, sample_size = 50)]
    fn mpplugin_load(bencher: Bencher<'_, '_>) {
        drop(super::mpplugin_load(&GOOD));
        bencher.bench_local(|| super::mpplugin_load(&GOOD));
    }
}

/// Where `warm::mpplugin_load`'s time goes: its two halves.
mod warm_parts {
    use super::*;

    #[divan::bench(sample_count = 200, sample_size = 50)]
    fn plugin_library_open(bencher: Bencher<'_, '_>) {
        drop(mpplugin_load(&GOOD));
        // SAFETY: the fixture is built from this repository's source.
        bencher.bench_local(|| unsafe { mpplugin::PluginLibrary::open(*GOOD) }.unwrap());
    }

    #[divan::bench(sample_count = 200, sample_size = 50)]
    fn instantiate(bencher: Bencher<'_, '_>) {
        // SAFETY: the fixture is built from this repository's source.
        let library = unsafe { mpplugin::PluginLibrary::open(*GOOD) }.unwrap();
        bencher.bench_local(|| library.instantiate::<Event>().unwrap());
    }
}

mod cold {
    use super::*;

    #[divan::bench(sample_count = 30, sample_size = 1)]
    fn libloading_new_and_get(bencher: Bencher<'_, '_>) {
        on_fresh_copies(bencher, raw_load);
    }

    /// Not a contender: the floor. See `check_syscalls`.
    #[divan::bench(sample_count = 30, sample_size = 1)]
    fn libloading_after_check_syscalls(bencher: Bencher<'_, '_>) {
        on_fresh_copies(bencher, |path| {
            check_syscalls(path);
            raw_load(path)
        });
    }

    #[divan::bench(sample_count = 30, sample_size = 1)]
    fn mpplugin_load(bencher: Bencher<'_, '_>) {
        on_fresh_copies(bencher, super::mpplugin_load);
    }
}

/// Where `cold::mpplugin_load`'s time goes: opening a fresh copy, and the
/// first instance made from a library just opened.
mod cold_parts {
    use super::*;

    #[divan::bench(sample_count = 30, sample_size = 1)]
    fn plugin_library_open(bencher: Bencher<'_, '_>) {
        // SAFETY: the fixture is built from this repository's source.
        on_fresh_copies(bencher, |path| {
            unsafe { mpplugin::PluginLibrary::open(path) }.unwrap()
        });
    }

    #[divan::bench(sample_count = 30, sample_size = 1)]
    fn instantiate(bencher: Bencher<'_, '_>) {
        LazyLock::force(&SYMBOL);
        bencher
            // SAFETY: the fixture is built from this repository's source.
            .with_inputs(|| unsafe { mpplugin::PluginLibrary::open(fresh_copy()) }.unwrap())
            .bench_local_values(|library| library.instantiate::<Event>().unwrap());
    }
}

/// How many copies a folder of `folder` holds.
const FOLDER_SIZE: usize = 50;

/// A folder never used before, mode 0755, of `FOLDER_SIZE` fresh copies of
/// the fixture; their paths, in path order.
fn fresh_folder() -> (PathBuf, Vec<PathBuf>) {
    use std::os::unix::fs::PermissionsExt;

    static NEXT: AtomicU64 = AtomicU64::new(0);
    let folder = scratch().join(format!("folder-{}", NEXT.fetch_add(1, Ordering::Relaxed)));
    std::fs::create_dir_all(&folder).expect("a folder");
    std::fs::set_permissions(&folder, std::fs::Permissions::from_mode(0o755))
        .expect("the folder's mode");
    let mut paths: Vec<PathBuf> = (0..FOLDER_SIZE)
        .map(|index| {
            let path = folder.join(format!("libgood-{index:02}.so"));
            std::fs::copy(*GOOD, &path).expect("a copy of the fixture");
            path
        })
        .collect();
    paths.sort();
    (folder, paths)
}

/// `PluginLibrary::open` of each path, as a host that loops over a folder
/// would, every one expected to open.
fn open_each(paths: &[PathBuf]) -> Vec<mpplugin::PluginLibrary> {
    paths
        .iter()
        // SAFETY: the fixture is built from this repository's source.
        .map(|path| unsafe { mpplugin::PluginLibrary::open(path) }.expect("a copy opens"))
        .collect()
}

/// A folder of `FOLDER_SIZE` fresh copies: `open_dir` against the sum of
/// opening each alone, timed before and after it.
mod folder {
    use super::*;

    #[divan::bench(sample_count = 10, sample_size = 1)]
    fn each_alone(bencher: Bencher<'_, '_>) {
        bencher
            .with_inputs(|| fresh_folder().1)
            .bench_local_values(|paths| open_each(&paths));
    }

    #[divan::bench(sample_count = 10, sample_size = 1)]
    fn open_dir(bencher: Bencher<'_, '_>) {
        bencher
            .with_inputs(|| fresh_folder().0)
            .bench_local_values(|folder| {
                // SAFETY: the fixture is built from this repository's source.
                let found = unsafe { mpplugin::PluginLibrary::open_dir(&folder) }
                    .expect("the folder opens");
                assert!(
                    found.len() == FOLDER_SIZE && found.iter().all(|(_, opened)| opened.is_ok()),
                    "every copy opens"
                );
                found
            });
    }

    /// `each_alone` again, with the libraries of the two before it loaded.
    #[divan::bench(sample_count = 10, sample_size = 1)]
    fn then_each_alone_again(bencher: Bencher<'_, '_>) {
        bencher
            .with_inputs(|| fresh_folder().1)
            .bench_local_values(|paths| open_each(&paths));
    }
}

/// What shapes add to a load, beside the loads above: the host reading the
/// plugin's static shape graph in place (once per library copy: the first
/// read in a fresh copy touches the graph's pages, and no plugin code runs),
/// and the comparison of equal shapes on every check (one look-up of the
/// host's bytes, built once per process, and a `memcmp`).
mod shapes {
    use mpplugin::__private::{message_shape, message_shape_as, message_shape_checked, shape_is};
    use mpplugin::abi::PluginDeclaration;
    use mpplugin::shape::{TypeShape, encoded};

    use super::*;

    /// The declaration of a fresh copy, loaded without mpplugin.
    fn fresh_declaration() -> (libloading::Library, &'static PluginDeclaration) {
        let library = raw_load(&fresh_copy());
        // SAFETY: the fixture's declaration symbol, of this ABI (the fixture
        // is built from this repository's source by this toolchain); the
        // library is held, and leaked by the caller, beyond the reference.
        let declaration = unsafe {
            let symbol = library
                .get::<*const PluginDeclaration>(SYMBOL.as_bytes())
                .expect("dlsym");
            &**symbol
        };
        (library, declaration)
    }

    /// The plugin's message shape as the loader reads it at `open`.
    /// Times `host` on a fresh copy's graph each time, the copy kept loaded.
    fn on_fresh_graphs(bencher: Bencher<'_, '_>, host: fn(&PluginDeclaration) -> TypeShape) {
        LazyLock::force(&SYMBOL);
        bencher
            .with_inputs(fresh_declaration)
            .bench_local_values(|(library, declaration)| {
                std::mem::forget(library);
                host(declaration)
            });
    }

    fn read(declaration: &PluginDeclaration) -> TypeShape {
        // SAFETY: the fixture's declaration, of this ABI, in a library that
        // is never closed (forgotten by the callers).
        unsafe { message_shape(declaration) }.expect("the fixture's shape reads")
    }

    /// The plugin's message shape as `PluginLibrary::open` takes it:
    /// checked as `read` checks it, not read.
    fn check(declaration: &PluginDeclaration) -> TypeShape {
        // SAFETY: as in `read`.
        unsafe { message_shape_checked(declaration) }.expect("the fixture's shape is valid")
    }

    /// The plugin's message shape as `load::<Event>` reads it at `open`:
    /// compared with the host's graph in lockstep, not read into nodes.
    fn read_in_lockstep(declaration: &PluginDeclaration) -> TypeShape {
        // SAFETY: as in `read`.
        unsafe { message_shape_as::<Event>(declaration) }.expect("the fixture's shape reads")
    }

    fn event_shape() -> TypeShape {
        let (library, declaration) = fresh_declaration();
        std::mem::forget(library);
        read(declaration)
    }

    /// Calls the constructor of a declaration, as `instantiate` does after
    /// its checks.
    fn construct(declaration: &PluginDeclaration) -> Box<dyn mpplugin::Plugin<Event>> {
        use std::mem::MaybeUninit;

        let mut plugin = MaybeUninit::<Box<dyn mpplugin::Plugin<Event>>>::uninit();
        let mut error = MaybeUninit::<String>::uninit();
        // SAFETY: the `good` fixture takes no argument and handles `Event`;
        // the out-pointers are as `Constructor` documents them.
        let status = unsafe {
            (declaration.constructor)(
                std::ptr::null(),
                plugin.as_mut_ptr().cast(),
                error.as_mut_ptr().cast(),
            )
        };
        assert_eq!(status, mpplugin::abi::ConstructStatus::Constructed);
        // SAFETY: `Constructed` means the plugin was written.
        unsafe { plugin.assume_init() }
    }

    /// A cold load's work in the plugin and after `dlopen`, without
    /// mpplugin's other checks: the first constructor call in a fresh copy.
    #[divan::bench(sample_count = 30, sample_size = 1)]
    fn cold_construct_alone(bencher: Bencher<'_, '_>) {
        LazyLock::force(&SYMBOL);
        bencher
            .with_inputs(fresh_declaration)
            .bench_local_values(|(library, declaration)| {
                std::mem::forget(library);
                construct(declaration)
            });
    }

    /// `cold_construct_alone` after what shapes add to it: the host reads
    /// the plugin's graph and compares it with its own. The difference
    /// between the two is what shapes cost a cold load, first reads of the
    /// fresh copy's pages included.
    #[divan::bench(sample_count = 30, sample_size = 1)]
    fn cold_shapes_then_construct(bencher: Bencher<'_, '_>) {
        LazyLock::force(&SYMBOL);
        let host = encoded::<Event>();
        bencher
            .with_inputs(fresh_declaration)
            .bench_local_values(|(library, declaration)| {
                std::mem::forget(library);
                let shape = read(declaration);
                assert!(shape.as_bytes() == host);
                (shape, construct(declaration))
            });
    }

    /// `cold_shapes_then_construct` as `load::<Event>` does it: the graph
    /// compared with the host's in lockstep, equal, and nothing read into
    /// nodes or encoded.
    #[divan::bench(sample_count = 30, sample_size = 1)]
    fn cold_lockstep_then_construct(bencher: Bencher<'_, '_>) {
        LazyLock::force(&SYMBOL);
        encoded::<Event>();
        bencher
            .with_inputs(fresh_declaration)
            .bench_local_values(|(library, declaration)| {
                std::mem::forget(library);
                (read_in_lockstep(declaration), construct(declaration))
            });
    }

    /// `cold_shapes_then_construct` as `open` then `instantiate::<Event>`
    /// do it: the graph checked at `open` (not read), then compared with the
    /// host's in lockstep, equal, then the constructor.
    #[divan::bench(sample_count = 30, sample_size = 1)]
    fn cold_check_lockstep_then_construct(bencher: Bencher<'_, '_>) {
        LazyLock::force(&SYMBOL);
        encoded::<Event>();
        bencher
            .with_inputs(fresh_declaration)
            .bench_local_values(|(library, declaration)| {
                std::mem::forget(library);
                let shape = check(declaration);
                assert!(shape_is::<Event>(&shape));
                (shape, construct(declaration))
            });
    }

    /// The check `open` makes of a fresh copy's graph, alone.
    #[divan::bench(sample_count = 30, sample_size = 1)]
    fn cold_host_checks_the_plugins_graph(bencher: Bencher<'_, '_>) {
        on_fresh_graphs(bencher, check);
    }

    /// The host comparing a fresh copy's graph with its own in lockstep,
    /// alone.
    #[divan::bench(sample_count = 30, sample_size = 1)]
    fn cold_host_compares_in_lockstep(bencher: Bencher<'_, '_>) {
        on_fresh_graphs(bencher, read_in_lockstep);
    }

    /// The host reading a fresh copy's graph alone.
    #[divan::bench(sample_count = 30, sample_size = 1)]
    fn cold_host_reads_the_plugins_graph(bencher: Bencher<'_, '_>) {
        on_fresh_graphs(bencher, read);
    }

    /// Reading an already-loaded library's graph again: a look-up of the
    /// shape read for that root.
    #[divan::bench(sample_count = 200, sample_size = 50)]
    fn host_reads_a_loaded_graph_again(bencher: Bencher<'_, '_>) {
        let (library, declaration) = fresh_declaration();
        std::mem::forget(library);
        read(declaration);
        bencher.bench_local(|| read(divan::black_box(declaration)));
    }

    #[divan::bench(sample_count = 200, sample_size = 50)]
    fn host_compares_equal_shapes(bencher: Bencher<'_, '_>) {
        let shape = event_shape();
        let bytes = shape.as_bytes();
        assert_eq!(encoded::<Event>(), bytes);
        bencher.bench_local(|| encoded::<Event>() == divan::black_box(bytes));
    }

    /// All of `instantiate`'s checks on a library opened before, shapes
    /// included: what a host pays again for each instance.
    #[divan::bench(sample_count = 200, sample_size = 50)]
    fn warm_check(bencher: Bencher<'_, '_>) {
        // SAFETY: the fixture is built from this repository's source.
        let library = unsafe { mpplugin::PluginLibrary::open(*GOOD) }.unwrap();
        bencher.bench_local(|| library.check::<Event>().unwrap());
    }

    /// All of `instantiate`'s checks on a library just opened (a fresh
    /// copy): what `instantiate` pays for them the first time, the shape's
    /// comparison with the host's included.
    #[divan::bench(sample_count = 30, sample_size = 1)]
    fn cold_check_after_open(bencher: Bencher<'_, '_>) {
        LazyLock::force(&SYMBOL);
        bencher
            // SAFETY: the fixture is built from this repository's source.
            .with_inputs(|| unsafe { mpplugin::PluginLibrary::open(fresh_copy()) }.unwrap())
            .bench_local_values(|library| {
                library.check::<Event>().unwrap();
                library
            });
    }

    /// `warm_check` on a library that `load::<Event>` opened, whose shape
    /// was found equal in lockstep: the shape check is a comparison of
    /// type ids.
    #[divan::bench(sample_count = 200, sample_size = 50)]
    fn warm_check_after_load(bencher: Bencher<'_, '_>) {
        let plugin = mpplugin_load(&fresh_copy());
        let library = plugin.library().clone();
        bencher.bench_local(|| library.check::<Event>().unwrap());
    }

    /// `warm_check` without the types and shapes: the rest of the checks.
    #[divan::bench(sample_count = 200, sample_size = 50)]
    fn warm_check_build(bencher: Bencher<'_, '_>) {
        // SAFETY: the fixture is built from this repository's source.
        let library = unsafe { mpplugin::PluginLibrary::open(*GOOD) }.unwrap();
        bencher.bench_local(|| library.check_build().unwrap());
    }
}

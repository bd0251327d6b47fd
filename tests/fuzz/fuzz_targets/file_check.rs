//! The loader's file check on arbitrary bytes: everything the loader reads
//! of a plugin file before `dlopen` (the ELF fast path, the full parse of
//! any format, the look for declarations), on a file holding the input, as
//! `PluginLibrary::open` reads it. A crash, a hang, an allocation past
//! libFuzzer's limit, or the fast path accepting what the full parse refuses
//! (a panic in `check_library_file`) is a finding. Loads nothing.
#![no_main]

use std::path::PathBuf;
use std::sync::LazyLock;

/// The file each input is written to: in memory where `/dev/shm` is, one
/// per fuzzing process.
static FILE: LazyLock<PathBuf> = LazyLock::new(|| {
    let shm = std::path::Path::new("/dev/shm");
    let dir = if shm.is_dir() {
        shm.to_owned()
    } else {
        std::env::temp_dir()
    };
    dir.join(format!("mpplugin-fuzz-{}.so", std::process::id()))
});

libfuzzer_sys::fuzz_target!(|bytes: &[u8]| {
    std::fs::write(&*FILE, bytes).expect("cannot write the input's file");
    let _ = mpplugin::__private::check_library_file(&FILE);
});

//! A corpus of bad files for the loader: truncations of a real plugin at
//! many offsets, seeded random bytes, corrupted headers, an empty file, a
//! directory, a dangling symbolic link, a FIFO, an unreadable file, an
//! executable, and a plugin patched to claim another architecture. Each is
//! refused with an error that names the path and says what is wrong; none
//! reaches the dynamic loader (where some of them crash the process), none
//! hangs.

use std::path::Path;
use std::sync::mpsc;
use std::thread;
use std::time::Duration;

use mpplugin::{LoadError, PluginLibrary};
use mpplugin_tests::fixtures::fixture;
use mpplugin_tests::random::SplitMix;
use mpplugin_tests::scratch::Scratch;

fn open(path: &Path) -> Result<PluginLibrary, LoadError> {
    // SAFETY: every file here is either refused before the dynamic loader
    // sees it, or a byte-for-byte copy of a fixture built from this
    // repository by the same toolchain.
    unsafe { PluginLibrary::open(path) }
}

/// A directory of test `test`'s own, removed when the test ends.
fn scratch(test: &str) -> Scratch {
    Scratch::new(&format!("bad-files-{test}"))
}

/// Opens `path` on a thread of its own and fails, rather than hang, if no
/// answer comes.
fn open_within(path: &Path, limit: Duration) -> Result<PluginLibrary, LoadError> {
    let (answer, answered) = mpsc::channel();
    let owned = path.to_owned();
    thread::spawn(move || {
        let _ = answer.send(open(&owned));
    });
    answered
        .recv_timeout(limit)
        .unwrap_or_else(|_| panic!("opening {} hung", path.display()))
}

/// The refusal of `path`, checked to name it in its message.
fn refused(path: &Path, what: &str) -> LoadError {
    match open_within(path, Duration::from_secs(60)) {
        Ok(library) => panic!("{what}: {} was loaded: {library:?}", path.display()),
        Err(error) => {
            let text = error.to_string();
            assert!(
                text.contains(&*path.to_string_lossy()),
                "{what}: the message names no path: {text}"
            );
            error
        }
    }
}

fn not_a_library(path: &Path, what: &str) -> String {
    match refused(path, what) {
        LoadError::NotALibrary { reason, .. } => reason,
        other => panic!("{what}: expected NotALibrary, got {other:?}"),
    }
}

fn good_plugin() -> Vec<u8> {
    std::fs::read(fixture("good")).unwrap()
}

/// A little-endian field of `width` bytes of an ELF64 header.
fn field(bytes: &[u8], offset: usize, width: usize) -> usize {
    let mut buffer = [0; 8];
    buffer[..width].copy_from_slice(&bytes[offset..offset + width]);
    u64::from_le_bytes(buffer) as usize
}

#[test]
fn truncations_at_every_4_kib_and_odd_offsets_are_refused() {
    let whole = good_plugin();
    let mut lengths: Vec<usize> = (0..whole.len()).step_by(4096).collect();
    lengths.extend([
        1,
        3,
        4,
        16,
        52,
        63,
        64,
        65,
        120,
        4095,
        4097,
        12_345,
        whole.len() / 3,
        whole.len() / 2 + 7,
        whole.len() - 4097,
        whole.len() - 64,
        whole.len() - 1,
    ]);
    lengths.sort_unstable();
    lengths.dedup();
    assert!(lengths.len() > 100, "{} truncations", lengths.len());
    let dir = scratch("truncated");
    let path = dir.join("truncated.so");
    for length in lengths {
        std::fs::write(&path, &whole[..length]).unwrap();
        let what = format!("the first {length} of {} bytes", whole.len());
        let reason = not_a_library(&path, &what);
        assert!(!reason.is_empty(), "{what}: an empty reason");
    }
    // The whole file, copied the same way, loads: the refusals above are the
    // truncation's doing.
    let whole_copy = dir.join("whole.so");
    std::fs::write(&whole_copy, &whole).unwrap();
    assert_eq!(open(&whole_copy).unwrap().info().name, "fixture-good");
}

#[test]
fn seeded_random_bytes_are_refused() {
    let mut random = SplitMix(0x6d70_706c_7567_696e);
    let dir = scratch("random");
    let path = dir.join("random.so");
    for round in 0..64 {
        let length = [1, 16, 64, 100, 4096, 65_536][round % 6] + random.below(64) as usize;
        std::fs::write(&path, random.bytes(length)).unwrap();
        not_a_library(&path, &format!("round {round}: {length} random bytes"));
    }
}

#[test]
fn a_real_elf_header_over_random_bytes_is_refused() {
    let whole = good_plugin();
    let mut random = SplitMix(42);
    let dir = scratch("header-over-noise");
    let path = dir.join("header-over-noise.so");
    for round in 0..32 {
        // The ELF header and the program headers of a real plugin, then noise
        // where its sections were: the segments point into noise or past the
        // end. Where the program headers end: e_phoff + e_phnum * e_phentsize.
        let keep = field(&whole, 32, 8) + field(&whole, 56, 2) * field(&whole, 54, 2);
        assert_eq!(
            field(&whole, 32, 8),
            64,
            "the program headers follow the header"
        );
        let mut bytes = whole[..keep].to_vec();
        let noise = random.below(whole.len() as u64) as usize;
        bytes.extend(random.bytes(noise));
        std::fs::write(&path, &bytes).unwrap();
        refused(&path, &format!("round {round}: {} bytes", bytes.len()));
    }
}

#[test]
fn a_plugin_with_corrupted_elf_header_fields_is_refused() {
    let whole = good_plugin();
    let dir = scratch("corrupt-header");
    let path = dir.join("corrupt-header.so");
    // (offset, bytes, what): fields the loader must look at before dlopen.
    let corruptions: [(usize, &[u8], &str); 8] = [
        (0, b"\x7fELG", "the magic"),
        (4, &[1], "the class (32-bit)"),
        (4, &[9], "the class (unknown)"),
        (5, &[2], "the byte order (big-endian)"),
        (16, &[1, 0], "the type (relocatable)"),
        (16, &[2, 0], "the type (executable)"),
        (32, &[0xff; 8], "the program header offset"),
        (56, &[0xff, 0xff], "the program header count"),
    ];
    for (offset, patch, what) in corruptions {
        let mut bytes = whole.clone();
        bytes[offset..offset + patch.len()].copy_from_slice(patch);
        std::fs::write(&path, &bytes).unwrap();
        eprintln!("corrupting {what}");
        refused(&path, what);
    }
}

#[test]
fn a_plugin_patched_for_another_architecture_is_refused() {
    // e_machine, at offset 18 of an ELF header, little-endian.
    let dir = scratch("machine");
    for (machine, name) in [(183_u16, "Aarch64"), (243, "Riscv64"), (62, "X86_64")] {
        let mut bytes = good_plugin();
        bytes[18..20].copy_from_slice(&machine.to_le_bytes());
        let path = dir.join(format!("machine-{machine}.so"));
        std::fs::write(&path, &bytes).unwrap();
        if std::env::consts::ARCH == "x86_64" && name == "X86_64" {
            // This machine's own: the control that the patch alone decides.
            assert_eq!(open(&path).unwrap().info().name, "fixture-good");
            continue;
        }
        if std::env::consts::ARCH.eq_ignore_ascii_case(name) {
            continue;
        }
        let reason = not_a_library(&path, name);
        assert!(
            reason.contains(&format!("built for {name}")) && reason.contains("this host runs on"),
            "{name}: {reason}"
        );
    }
}

#[test]
fn a_zero_length_file_is_refused() {
    let dir = scratch("zero");
    let path = dir.join("zero.so");
    std::fs::write(&path, b"").unwrap();
    not_a_library(&path, "a zero-length file");
}

#[test]
fn a_directory_is_refused() {
    let dir = scratch("a-directory");
    let path = dir.join("a-directory.so");
    std::fs::create_dir_all(&path).unwrap();
    let reason = not_a_library(&path, "a directory");
    assert!(reason.contains("not a regular file"), "{reason}");
}

#[cfg(unix)]
#[test]
fn a_dangling_symbolic_link_is_refused() {
    let dir = scratch("dangling");
    let path = dir.join("dangling.so");
    std::os::unix::fs::symlink(dir.join("nothing-here.so"), &path).unwrap();
    match refused(&path, "a dangling link") {
        LoadError::Open { message, .. } => {
            assert!(message.contains("No such file"), "{message}")
        }
        other => panic!("expected Open, got {other:?}"),
    }
}

#[cfg(unix)]
#[test]
fn a_fifo_is_refused_without_waiting_for_a_writer() {
    let dir = scratch("fifo");
    let path = dir.join("fifo.so");
    let made = std::process::Command::new("mkfifo")
        .arg(&path)
        .status()
        .expect("mkfifo runs");
    assert!(made.success());
    // Opening a FIFO for reading waits for a writer: the loader must not.
    let reason = not_a_library(&path, "a FIFO");
    assert!(reason.contains("not a regular file"), "{reason}");
}

#[cfg(unix)]
#[test]
fn a_device_is_refused() {
    let reason = not_a_library(Path::new("/dev/zero"), "/dev/zero");
    assert!(reason.contains("not a regular file"), "{reason}");
}

/// Set in the child process that [`an_unreadable_file_is_refused`] runs as
/// an unprivileged user: the path of the file to open.
#[cfg(unix)]
const UNREADABLE: &str = "MPPLUGIN_TEST_UNREADABLE_FILE";

#[cfg(unix)]
fn assert_permission_denied(path: &Path) {
    match refused(path, "a file of mode 000") {
        LoadError::Open { message, .. } => {
            assert!(message.contains("Permission denied"), "{message}")
        }
        other => panic!("expected Open, got {other:?}"),
    }
}

#[cfg(unix)]
#[test]
fn an_unreadable_file_is_refused() {
    use std::os::unix::fs::{MetadataExt, PermissionsExt};
    use std::os::unix::process::CommandExt;
    if let Some(path) = std::env::var_os(UNREADABLE) {
        // The child below, run as `nobody`.
        assert_permission_denied(Path::new(&path));
        return;
    }
    let dir = scratch("unreadable");
    let path = dir.join("unreadable.so");
    std::fs::write(&path, good_plugin()).unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o000)).unwrap();
    if std::fs::metadata(&path).unwrap().uid() != 0 {
        assert_permission_denied(&path);
        return;
    }
    // Root reads through mode 000: the file is a good plugin, and the truth
    // is that it loads.
    assert_eq!(open(&path).unwrap().info().name, "fixture-good");
    // To see the refusal, this test runs again as `nobody`, from a copy of
    // the test binary that `nobody` can run wherever the checkout is.
    let binary = dir.join("bad-files-test-binary");
    std::fs::copy(std::env::current_exe().unwrap(), &binary).unwrap();
    std::fs::set_permissions(&binary, std::fs::Permissions::from_mode(0o755)).unwrap();
    let output = std::process::Command::new(&binary)
        .args(["--exact", "an_unreadable_file_is_refused", "--nocapture"])
        .env(UNREADABLE, &path)
        .uid(65534)
        .gid(65534)
        .output()
        .expect("the test binary runs as nobody");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success() && stdout.contains("test result: ok. 1 passed"),
        "as nobody: {}\n{stdout}\n{stderr}",
        output.status
    );
}

#[cfg(unix)]
#[test]
fn an_executable_is_not_a_plugin() {
    // A position-independent executable is an ELF shared object to the
    // loader's eyes; it exports no declaration.
    let dir = scratch("sh");
    let path = dir.join("sh.so");
    std::fs::copy("/bin/sh", &path).unwrap();
    let bytes = std::fs::read(&path).unwrap();
    // e_type: 3 for a shared object (and a PIE), 2 for a fixed-address
    // executable, which is no shared library.
    match (field(&bytes, 16, 2), refused(&path, "a copy of /bin/sh")) {
        (3, LoadError::NotAPlugin { .. }) => {}
        (2, LoadError::NotALibrary { reason, .. }) => {
            assert!(reason.contains("not a shared library"), "{reason}")
        }
        (kind, other) => panic!("/bin/sh of ELF type {kind}: got {other:?}"),
    }
}

//! The file check: before the dynamic loader sees it, the file must be a
//! complete shared library for this machine (a truncated or malformed one
//! can crash the dynamic loader), exporting at least one mpplugin
//! declaration. [`find_declarations`] runs it: the fast path of `elf.rs`
//! first, which reads a page or two of an ELF file, then, for any other
//! format or a refusal, the full parse here, for ELF, Mach-O and PE alike,
//! which says what is wrong. This file reads the file, never loads it, and
//! holds no `unsafe`.

use std::cell::Cell;
use std::fs::File;
use std::ops::Range;
use std::path::Path;

use object::read::{ReadCache, ReadRef};
use object::{Object, ObjectSegment, ObjectSymbol};

use super::READ_LIMIT;
use super::elf::{
    elf_program_headers, host_architecture, program_headers_fit, range_fits, read_elf_declarations,
};
use super::error::LoadError;
use crate::abi;

/// Validates the file and finds the declarations among its exported
/// symbols, at least one, ordered by name: each one's name, and its size
/// when the format records it (0 if not).
/// `metadata` is the file's, read before it is opened: opening a FIFO for
/// reading waits for a writer.
pub(super) fn find_declarations(
    path: &Path,
    metadata: &std::fs::Metadata,
) -> Result<Vec<(String, u64)>, LoadError> {
    if !metadata.is_file() {
        return Err(LoadError::NotALibrary {
            path: path.to_owned(),
            reason: "it is not a regular file".to_owned(),
        });
    }
    let file = File::open(path).map_err(|error| LoadError::cannot_open(path, &error))?;
    // The file opened may not be the one looked at (replaced or truncated in
    // between, as `cp` onto a plugin does): its bounds must be this one's,
    // or a truncated file could reach `dlopen`.
    let opened = file
        .metadata()
        .map_err(|error| LoadError::cannot_open(path, &error))?;
    if !opened.is_file() {
        return Err(LoadError::NotALibrary {
            path: path.to_owned(),
            reason: "it is not a regular file".to_owned(),
        });
    }
    let length = opened.len();
    let mut found = match read_elf_declarations(&file, length) {
        Some(found) => found,
        // Not ELF, or refused: the full parse says why, in its own words.
        None => full_parse(file, length).map_err(|reason| LoadError::NotALibrary {
            path: path.to_owned(),
            reason,
        })?,
    };
    if found.is_empty() {
        return Err(LoadError::NotAPlugin {
            path: path.to_owned(),
        });
    }
    // The export table's order is the linker's; a library's plugins are
    // listed the same way on every open.
    found.sort_unstable();
    Ok(found)
}

/// The full parse of `file`, of `length` bytes, read through [`Bounded`]:
/// its declarations, or what is wrong with the file.
fn full_parse(file: File, length: u64) -> Result<Vec<(String, u64)>, String> {
    let bounded = Bounded::new(file, length);
    let parsed = declarations(&bounded, length);
    // Whatever the parse made of a refused read, the refusal is why.
    bounded.refusal().map_or(parsed, Err)
}

/// The file as `object`'s full parse reads it, through its cache, but never
/// more than [`READ_LIMIT`] bytes in all: `object` reads (and allocates) what
/// the headers claim, a symbol table of terabytes if a hostile file says so,
/// and an allocation that succeeds (overcommit, a sanitizer's allocator, or
/// a claim of a mere gigabyte) is no refusal.
struct Bounded {
    cache: ReadCache<File>,
    length: u64,
    /// What may still be read.
    left: Cell<u64>,
    /// The first read refused, by offset and size.
    refused: Cell<Option<(u64, u64)>>,
}

impl Bounded {
    fn new(file: File, length: u64) -> Self {
        Self {
            cache: ReadCache::new(file),
            length,
            left: Cell::new(READ_LIMIT),
            refused: Cell::new(None),
        }
    }

    /// Takes `size` bytes from what may still be read, or notes the refusal.
    fn charge(&self, offset: u64, size: u64) -> Result<(), ()> {
        match self.left.get().checked_sub(size) {
            Some(left) => {
                self.left.set(left);
                Ok(())
            }
            None => {
                if self.refused.get().is_none() {
                    self.refused.set(Some((offset, size)));
                }
                Err(())
            }
        }
    }

    /// Why the file is refused, if a read was.
    fn refusal(&self) -> Option<String> {
        let (offset, size) = self.refused.get()?;
        Some(format!(
            "its headers ask for {size} bytes at byte {offset} (of a {}-byte file), more than the loader reads of a file before it trusts it ({READ_LIMIT} bytes in all)",
            self.length
        ))
    }
}

impl<'data> ReadRef<'data> for &'data Bounded {
    fn len(self) -> Result<u64, ()> {
        Ok(self.length)
    }

    fn read_bytes_at(self, offset: u64, size: u64) -> Result<&'data [u8], ()> {
        // Past the end of the file: the cache refuses it without reading,
        // and the parse says the file is truncated.
        if offset.checked_add(size).is_none_or(|end| end > self.length) {
            return Err(());
        }
        self.charge(offset, size)?;
        (&self.cache).read_bytes_at(offset, size)
    }

    fn read_bytes_at_until(self, range: Range<u64>, delimiter: u8) -> Result<&'data [u8], ()> {
        // The cache reads at most 4 KiB looking for the delimiter: charge
        // that much, and give back what the string did not take.
        let most = range.end.saturating_sub(range.start).min(4096);
        self.charge(range.start, most)?;
        let found = (&self.cache).read_bytes_at_until(range, delimiter);
        let taken = found.map_or(most, |bytes| (bytes.len() as u64 + 1).min(most));
        self.left.set(self.left.get() + (most - taken));
        found
    }
}

/// The file check on its own, for the fuzz target (through
/// `__private::check_library_file`): what [`find_declarations`] finds at
/// `path`, after holding the fast path to the full parse there (see
/// [`parsers_agree`]).
///
/// # Panics
/// Where the fast path accepts what the full parse refuses, or finds other
/// declarations.
pub(crate) fn check_alone(path: &Path) -> Result<Vec<(String, u64)>, LoadError> {
    let metadata = std::fs::metadata(path).map_err(|error| LoadError::Open {
        path: path.to_owned(),
        message: error.to_string(),
    })?;
    if metadata.is_file() {
        if let Ok(file) = File::open(path) {
            parsers_agree(&file);
        }
    }
    find_declarations(path, &metadata)
}

/// Whether the fast path and the full parse accept `file`, each reading it
/// as [`find_declarations`] does: the fast path by pages, the full parse
/// through a [`Bounded`] `ReadCache`. (Over a slice of the whole file, `object` would
/// see each structure at the address its offset gives, and refuse an odd
/// one that the loader, reading into buffers of its own, accepts.)
///
/// # Panics
/// Where the fast path accepts what the full parse refuses, or finds other
/// declarations: it must never be the more lenient.
pub(crate) fn parsers_agree(file: &File) -> (bool, bool) {
    let length = file.metadata().map_or(0, |metadata| metadata.len());
    let fast = read_elf_declarations(file, length);
    let full = match file.try_clone() {
        Ok(file) => full_parse(file, length),
        Err(error) => Err(error.to_string()),
    };
    if let Some(found) = &fast {
        assert_eq!(
            Ok(found),
            full.as_ref(),
            "the fast path accepted what the full parse did not"
        );
    }
    (fast.is_some(), full.is_ok())
}

/// The declarations a file of `length` bytes exports, by name and size, once
/// it is checked to be a complete shared library for this machine; or what
/// is wrong with it.
fn declarations<'data>(
    data: impl ReadRef<'data>,
    length: u64,
) -> Result<Vec<(String, u64)>, String> {
    let object = object::File::parse(data).map_err(|error| format!("{error}"))?;
    if object.kind() != object::ObjectKind::Dynamic {
        return Err(format!(
            "it is a {:?} object file, not a shared library",
            object.kind()
        ));
    }
    if let Some((host, ..)) = host_architecture() {
        if object.architecture() != host {
            return Err(format!(
                "it is built for {:?}, this host runs on {host:?}",
                object.architecture()
            ));
        }
    }
    let program_headers = match &object {
        object::File::Elf32(elf) => Some(elf_program_headers(elf.elf_header(), elf.endian())),
        object::File::Elf64(elf) => Some(elf_program_headers(elf.elf_header(), elf.endian())),
        _ => None,
    };
    if let Some((offset, entry_size, count, expected_size)) = program_headers {
        // The dynamic loader reads the program headers as the header gives
        // them, without the checks of a parser: a count of 0xffff (which
        // tells a parser to look elsewhere) made it crash here.
        if count == 0 || count == 0xffff || entry_size != expected_size {
            return Err(format!(
                "its ELF header declares {count} program header(s) of {entry_size} bytes, where a shared library has 1 to 65534 of {expected_size}"
            ));
        }
        if !program_headers_fit(offset, entry_size, count, length) {
            return Err(format!(
                "it is truncated: its program headers at byte {offset} run past the end of the {length}-byte file"
            ));
        }
        if object.segments().next().is_none() {
            return Err("it has no loadable segment".to_owned());
        }
    }
    for segment in object.segments() {
        let (offset, size) = segment.file_range();
        if !range_fits(offset, size, length) {
            return Err(format!(
                "it is truncated: a segment spans bytes {offset}..{} of a {length}-byte file",
                offset.saturating_add(size)
            ));
        }
    }
    let mut found = Vec::new();
    if object.format() == object::BinaryFormat::Elf {
        for symbol in object.dynamic_symbols() {
            if !symbol.is_definition() {
                continue;
            }
            if let Ok(name) = symbol.name() {
                if name.starts_with(abi::SYMBOL_PREFIX) {
                    found.push((name.to_owned(), symbol.size()));
                }
            }
        }
    } else {
        for export in object.exports().map_err(|error| format!("{error}"))? {
            let name = String::from_utf8_lossy(export.name());
            // Mach-O prefixes C symbols with an underscore; dlsym adds it back.
            let name = name
                .strip_prefix('_')
                .filter(|_| object.format() == object::BinaryFormat::MachO)
                .unwrap_or(&name);
            if name.starts_with(abi::SYMBOL_PREFIX) {
                found.push((name.to_owned(), 0));
            }
        }
    }
    Ok(found)
}

#[cfg(all(test, target_os = "linux"))]
mod tests {
    use super::super::elf::elf_declarations;
    use super::*;

    /// A scratch file, open for reading and writing, removed at the end.
    struct Scratch {
        path: std::path::PathBuf,
        file: File,
    }

    impl Scratch {
        fn new(name: &str, bytes: &[u8]) -> Self {
            let path = std::env::temp_dir().join(format!("mpplugin-{name}-{}", std::process::id()));
            std::fs::write(&path, bytes).unwrap();
            let file = File::options().read(true).write(true).open(&path).unwrap();
            Self { path, file }
        }
    }

    impl Drop for Scratch {
        fn drop(&mut self) {
            let _ = std::fs::remove_file(&self.path);
        }
    }

    /// An ELF file this test can read: the test binary itself, a shared
    /// object to the loader's eyes when it is position-independent.
    fn this_binary() -> Vec<u8> {
        std::fs::read(std::env::current_exe().unwrap()).unwrap()
    }

    /// Where a 64-bit ELF file's section headers lie, for tests that corrupt
    /// them; `None` for any other file.
    struct SectionHeaders {
        /// The table's offset in the file.
        offset: usize,
        /// The size of one header.
        entry: usize,
        /// Each section's type and offset in the file, in order.
        kinds: Vec<(u32, u64)>,
    }

    impl SectionHeaders {
        fn of(bytes: &[u8]) -> Option<Self> {
            use object::read::elf::{FileHeader as _, SectionHeader as _};

            let object = object::File::parse(bytes).unwrap();
            let object::File::Elf64(elf) = &object else {
                return None;
            };
            let endian = elf.endian();
            let header = elf.elf_header();
            let kinds = header
                .sections(endian, bytes)
                .unwrap()
                .iter()
                .map(|section| (section.sh_type(endian), section.sh_offset(endian)))
                .collect();
            Some(Self {
                offset: header.e_shoff(endian) as usize,
                entry: usize::from(header.e_shentsize(endian)),
                kinds,
            })
        }

        /// Where header `index` starts.
        fn at(&self, index: usize) -> usize {
            self.offset + index * self.entry
        }
    }

    #[test]
    // Miri's allocator does not align a `Vec<u8>` as `object` needs, and
    // thousands of parses of the test binary would take it hours.
    #[cfg_attr(miri, ignore)]
    fn the_elf_fast_path_refuses_what_the_full_parse_refuses() {
        use std::os::unix::fs::FileExt;

        let whole = this_binary();
        let scratch = Scratch::new("fast-path", &whole);
        let file = &scratch.file;
        // The control: the file this test corrupts is one both accept, or
        // every comparison below would compare two refusals.
        assert_eq!(
            parsers_agree(file),
            (true, true),
            "the test binary, unmodified, is not accepted by both the fast path and the full parse (fast, full): this test needs a position-independent ELF executable"
        );
        // Truncated, shortest last, then whole again.
        let mut lengths: Vec<usize> = (1..64).map(|i| i * whole.len() / 64).collect();
        lengths.extend([0, 1, 16, 63, 64, 65, 4095, 4096, whole.len() - 1]);
        lengths.sort_unstable_by(|a, b| b.cmp(a));
        for length in lengths {
            file.set_len(length as u64).unwrap();
            parsers_agree(file);
        }
        file.write_all_at(&whole, 0).unwrap();
        let Some(sections) = SectionHeaders::of(&whole) else {
            eprintln!(
                "skipped the corruption of header fields: the test binary is not a 64-bit ELF file, whose section headers this test knows"
            );
            return;
        };
        // Every field of the ELF header, then of each section header, set to
        // values a parser has to refuse or must not trip on.
        let mut fields: Vec<(usize, usize)> = (0..64).step_by(2).map(|at| (at, 2)).collect();
        for index in 0..sections.kinds.len() {
            fields.extend(
                (0..sections.entry)
                    .step_by(4)
                    .map(|at| (sections.at(index) + at, 4)),
            );
        }
        let mut compared = 0;
        for (at, size) in fields {
            for value in [0x00, 0x01, 0x02, 0x0b, 0x12, 0x7f, 0xff] {
                file.write_all_at(&[value; 4][..size], at as u64).unwrap();
                let (fast, _) = parsers_agree(file);
                compared += usize::from(fast);
            }
            file.write_all_at(&whole[at..at + size], at as u64).unwrap();
        }
        // `parsers_agree` compares the declarations only where the fast path
        // accepts: some corruptions (of fields neither parser reads) must
        // reach that comparison.
        assert!(
            compared > 0,
            "the fast path refused every corrupted file: the comparison of what it found never ran"
        );
    }

    /// A header that asks for terabytes of a sparse file: refused, not an
    /// allocation that aborts the host.
    #[test]
    #[cfg_attr(miri, ignore)]
    fn a_huge_symbol_table_is_refused_without_reading_it() {
        let mut bytes = this_binary();
        let Some(sections) = SectionHeaders::of(&bytes) else {
            eprintln!(
                "skipped: the test binary is not a 64-bit ELF file, whose section headers this test knows"
            );
            return;
        };
        let (index, dynsym) = sections
            .kinds
            .iter()
            .enumerate()
            .find(|(_, (kind, _))| *kind == object::elf::SHT_DYNSYM)
            .map(|(index, (_, offset))| (index, *offset))
            .expect("a position-independent test binary has dynamic symbols");
        // Removed when the test ends, passed or failed.
        let scratch = Scratch::new("huge", &bytes);
        let path = &scratch.path;
        // The control: unmodified, the file passes the file check (and has no
        // declaration), so the refusal below is the huge table's.
        let control = find_declarations(path, &std::fs::metadata(path).unwrap());
        assert!(
            matches!(control, Err(LoadError::NotAPlugin { .. })),
            "the unmodified test binary: {control:?}"
        );
        // `sh_size` sits 32 bytes into a 64-bit section header.
        let huge: u64 = 24 << 36;
        let at = sections.at(index) + 32;
        bytes[at..at + 8].copy_from_slice(&huge.to_le_bytes());
        std::fs::write(path, &bytes).unwrap();
        let file = File::options().write(true).open(path).unwrap();
        file.set_len(dynsym + huge).unwrap();
        drop(file);
        let metadata = std::fs::metadata(path).unwrap();
        let result = find_declarations(path, &metadata);
        drop(scratch);
        assert!(
            matches!(result, Err(LoadError::NotALibrary { .. })),
            "{result:?}"
        );
    }

    #[test]
    // Miri's allocator does not align a `Vec<u8>` as `object` needs, and
    // thousands of parses of the test binary would take it hours.
    #[cfg_attr(miri, ignore)]
    fn reading_the_parts_of_a_file_finds_what_reading_it_whole_finds() {
        let whole = this_binary();
        // Removed when the test ends, passed or failed.
        let scratch = Scratch::new("parts", &[]);
        let path = &scratch.path;
        // The control: whole, both read it as a library, so the comparisons
        // that follow are not all of two refusals.
        assert!(
            elf_declarations(&whole[..], whole.len() as u64).is_some(),
            "the fast path refused the unmodified test binary"
        );
        for length in [whole.len(), whole.len() / 2, 4096, 100, 0] {
            std::fs::write(path, &whole[..length]).unwrap();
            let file = File::open(path).unwrap();
            assert_eq!(
                read_elf_declarations(&file, length as u64),
                elf_declarations(&whole[..length], length as u64),
                "the first {length} bytes"
            );
        }
    }
}

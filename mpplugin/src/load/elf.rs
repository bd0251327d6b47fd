//! The fast path of the file check for ELF, the format of every plugin on
//! Linux: the same checks as the full parse in `file.rs`, in the same order,
//! reading only what they look at (the headers, the section headers, the
//! dynamic symbols and their names: a page or two), where the full parse
//! reads the whole static symbol table. Also the ELF facts both paths
//! share: the program header table, this host's machine. It answers only
//! "accepted, with these declarations" or "ask the full parse"; it reads
//! the file, never loads it, and holds no `unsafe`.

use std::cell::{Cell, RefCell};
use std::fs::File;
use std::ops::Range;

use object::read::ReadRef;

use crate::abi;

/// [`declarations`] for an ELF file that passes every check, reading only
/// what the checks look at: the headers at the start of the file, the
/// section headers at its end, the dynamic symbols and their names, a page
/// or two in all. `None` for any other file, and where a check fails:
/// `declarations` then says what is wrong.
pub(super) fn read_elf_declarations(file: &File, length: u64) -> Option<Vec<(String, u64)>> {
    let mut parts = Parts::new(length);
    let mut wanted = vec![(0, Parts::PAGE)];
    // Each pass reads what the last one asked for and did not find: the
    // section headers, then (if not among the pages already read) the
    // dynamic symbols, then their names.
    for _ in 0..8 {
        for (offset, end) in wanted {
            parts.fetch(file, offset, end).ok()?;
        }
        let found = elf_declarations(&parts, length);
        wanted = parts.missed.take();
        if wanted.is_empty() {
            return found;
        }
    }
    None
}

/// [`declarations`] for an ELF file that passes every check, without
/// reading what nothing here looks at: `object::File::parse` reads the whole
/// static symbol table (`.symtab`), often the largest part of a plugin after
/// its debug information, where the declaration is found in the dynamic one.
/// The same checks in the same order, on the same low-level parse; the
/// static symbol table only where it lies, as `ElfFile::parse` checks it.
/// `None` for any other file, and for any check that fails.
pub(super) fn elf_declarations<'data>(
    data: impl ReadRef<'data>,
    length: u64,
) -> Option<Vec<(String, u64)>> {
    use object::{Endianness, elf};
    match object::FileKind::parse(data).ok()? {
        object::FileKind::Elf32 => {
            elf_declarations_of::<elf::FileHeader32<Endianness>, _>(data, length)
        }
        object::FileKind::Elf64 => {
            elf_declarations_of::<elf::FileHeader64<Endianness>, _>(data, length)
        }
        _ => None,
    }
}

fn elf_declarations_of<'data, Elf, R>(data: R, length: u64) -> Option<Vec<(String, u64)>>
where
    Elf: object::read::elf::FileHeader<Endian = object::Endianness>,
    R: ReadRef<'data>,
{
    use object::elf;
    use object::read::SectionIndex;
    use object::read::elf::{ProgramHeader as _, SectionHeader as _, Sym as _};

    // What `ElfFile::parse` reads and checks.
    let header = Elf::parse(data).ok()?;
    let endian = header.endian().ok()?;
    let segments = header.program_headers(endian, data).ok()?;
    let sections = header.sections(endian, data).ok()?;
    let symbol_table = match sections
        .enumerate()
        .find(|(_, section)| section.sh_type(endian) == elf::SHT_SYMTAB)
    {
        None => SectionIndex(0),
        Some((index, section)) => {
            // Its symbols: inside the file, a whole number of them, and at
            // least one. Read as the full parse reads (`ReadCache`, or
            // `Parts` here), an empty table is an empty slice at no aligned
            // address, which `object` refuses as a table of symbols.
            match section.file_range(endian) {
                Some((offset, size))
                    if size != 0
                        && size % size_of::<Elf::Sym>() as u64 == 0
                        && range_fits(offset, size, length) => {}
                _ => return None,
            }
            // Its strings (read lazily, so this reads nothing).
            let strings = SectionIndex(section.sh_link(endian) as usize);
            sections.strings(endian, data, strings).ok()?;
            // Extended section indices come with more than 65279 sections:
            // not worth a fast path.
            if sections
                .iter()
                .any(|section| section.sh_type(endian) == elf::SHT_SYMTAB_SHNDX)
            {
                return None;
            }
            index
        }
    };
    let dynamic = sections.symbols(endian, data, elf::SHT_DYNSYM).ok()?;
    sections.relocation_sections(endian, symbol_table).ok()?;

    // What `declarations` checks.
    if header.e_type(endian) != elf::ET_DYN {
        return None;
    }
    if let Some((_, machine, is_64)) = host_architecture() {
        if (header.e_machine(endian), header.is_class_64()) != (machine, is_64) {
            return None;
        }
    }
    let (offset, entry_size, count, expected_size) = elf_program_headers(header, endian);
    if count == 0
        || count == 0xffff
        || entry_size != expected_size
        || !program_headers_fit(offset, entry_size, count, length)
    {
        return None;
    }
    let mut loadable = segments
        .iter()
        .filter(|segment| segment.p_type(endian) == elf::PT_LOAD)
        .peekable();
    loadable.peek()?;
    for segment in loadable {
        let (offset, size) = segment.file_range(endian);
        if !range_fits(offset, size, length) {
            return None;
        }
    }
    let strings = dynamic.strings();
    // Symbol 0 is the null symbol, which `ElfFile`'s iterator skips.
    let found = dynamic
        .symbols()
        .iter()
        .skip(1)
        .filter(|symbol| symbol.is_definition(endian))
        .filter_map(|symbol| {
            let name = std::str::from_utf8(symbol.name(endian, strings).ok()?).ok()?;
            name.starts_with(abi::SYMBOL_PREFIX)
                .then(|| (name.to_owned(), symbol.st_size(endian).into()))
        })
        .collect();
    Some(found)
}

/// Whether the program header table lies inside a file of `length` bytes.
pub(super) fn program_headers_fit(offset: u64, entry_size: u16, count: u16, length: u64) -> bool {
    let size = u64::from(count) * u64::from(entry_size);
    range_fits(offset, size, length)
}

/// Whether bytes `offset..offset + size` lie inside a file of `length` bytes.
pub(super) fn range_fits(offset: u64, size: u64, length: u64) -> bool {
    offset.checked_add(size).is_some_and(|end| end <= length)
}

/// The parts of a file read so far, for `object` to parse in place. What it
/// asks for beyond them is not read but noted, in `missed`: the caller reads
/// that and parses again. Reads go by whole pages, at an offset, so that the
/// few structures the checks look at cost a read or two, and none is copied
/// again.
struct Parts {
    /// The file's, as its metadata said before it was opened.
    length: u64,
    /// The runs of pages read, one after the other, each from a multiple of
    /// 16 (`object` wants its structures aligned): the thread's buffer, which
    /// every open reuses rather than allocate (and fault in) pages anew.
    bytes: Vec<u8>,
    /// Each run's offset in the file and place in `bytes`.
    runs: Vec<(u64, Range<usize>)>,
    /// The ranges asked for, inside the file, but not read.
    missed: RefCell<Vec<(u64, u64)>>,
}

thread_local! {
    static BUFFER: Cell<Vec<u8>> = const { Cell::new(Vec::new()) };
}

impl Parts {
    const PAGE: u64 = 4096;
    /// The most the fast path reads of one file. A plugin needs a few pages;
    /// a header that asks for more (a hostile one can ask for terabytes of a
    /// sparse file) goes to the full parse, which reads with fallible
    /// allocations and says what is wrong.
    const LIMIT: usize = 1 << 20;

    fn new(length: u64) -> Self {
        let mut bytes = BUFFER.try_with(Cell::take).unwrap_or_default();
        bytes.clear();
        Self {
            length,
            bytes,
            runs: Vec::new(),
            missed: RefCell::default(),
        }
    }

    /// The bytes `start..end`, if a run holds them.
    fn held(&self, start: u64, end: u64) -> Option<&[u8]> {
        self.runs.iter().find_map(|(offset, run)| {
            let from = usize::try_from(start.checked_sub(*offset)?).ok()?;
            let to = usize::try_from(end.checked_sub(*offset)?).ok()?;
            self.bytes[run.clone()].get(from..to)
        })
    }

    /// Reads the pages that hold `start..end` (up to the end of the file),
    /// unless a run holds them already.
    fn fetch(&mut self, file: &File, start: u64, end: u64) -> std::io::Result<()> {
        let end = end.min(self.length);
        if start >= end || self.held(start, end).is_some() {
            return Ok(());
        }
        let offset = start - start % Self::PAGE;
        let stop = end
            .checked_next_multiple_of(Self::PAGE)
            .map_or(self.length, |stop| stop.min(self.length));
        let size = usize::try_from(stop - offset).map_err(std::io::Error::other)?;
        let at = self.bytes.len().next_multiple_of(16);
        let run = at..at
            .checked_add(size)
            .filter(|end| *end <= Self::LIMIT)
            .ok_or_else(|| std::io::Error::other("beyond what the fast path reads"))?;
        self.bytes.resize(run.end, 0);
        read_at(file, &mut self.bytes[run.clone()], offset)?;
        self.runs.push((offset, run));
        Ok(())
    }

    fn miss<T>(&self, start: u64, end: u64) -> Result<T, ()> {
        self.missed.borrow_mut().push((start, end));
        Err(())
    }
}

impl Drop for Parts {
    fn drop(&mut self) {
        // A buffer grown for an unusual file is let go.
        if self.bytes.capacity() <= 16 * Self::PAGE as usize {
            let _ = BUFFER.try_with(|buffer| buffer.set(std::mem::take(&mut self.bytes)));
        }
    }
}

/// Answers as `object`'s `ReadCache` over the file would, for what the runs
/// hold; notes the rest as missed.
impl<'data> ReadRef<'data> for &'data Parts {
    fn len(self) -> Result<u64, ()> {
        Ok(self.length)
    }

    fn read_bytes_at(self, offset: u64, size: u64) -> Result<&'data [u8], ()> {
        if size == 0 {
            return Ok(&[]);
        }
        let end = offset.checked_add(size).ok_or(())?;
        if end > self.length {
            return Err(());
        }
        match self.held(offset, end) {
            Some(bytes) => Ok(bytes),
            None => self.miss(offset, end),
        }
    }

    fn read_bytes_at_until(self, range: Range<u64>, delimiter: u8) -> Result<&'data [u8], ()> {
        if range.start > range.end || range.end > self.length {
            return Err(());
        }
        // `ReadCache` looks for the delimiter in the first 4 KiB.
        let end = range.end.min(range.start.saturating_add(4096));
        match self.held(range.start, end) {
            Some(bytes) => {
                let length = bytes.iter().position(|&byte| byte == delimiter).ok_or(())?;
                Ok(&bytes[..length])
            }
            None => self.miss(range.start, end),
        }
    }
}

#[cfg(unix)]
fn read_at(file: &File, buffer: &mut [u8], offset: u64) -> std::io::Result<()> {
    std::os::unix::fs::FileExt::read_exact_at(file, buffer, offset)
}

#[cfg(not(unix))]
fn read_at(mut file: &File, buffer: &mut [u8], offset: u64) -> std::io::Result<()> {
    use std::io::{Read, Seek, SeekFrom};
    file.seek(SeekFrom::Start(offset))?;
    file.read_exact(buffer)
}

/// The program header table as an ELF header declares it: offset, entry
/// size, count, and the entry size of this ELF class.
pub(super) fn elf_program_headers<Elf: object::read::elf::FileHeader>(
    header: &Elf,
    endian: Elf::Endian,
) -> (u64, u16, u16, u16) {
    (
        header.e_phoff(endian).into(),
        header.e_phentsize(endian),
        header.e_phnum(endian),
        size_of::<Elf::ProgramHeader>() as u16,
    )
}

/// This host's architecture, with the ELF machine and class that `object`
/// reads as that architecture.
pub(super) fn host_architecture() -> Option<(object::Architecture, u16, bool)> {
    use object::Architecture as A;
    use object::elf;
    Some(match std::env::consts::ARCH {
        "x86_64" => (A::X86_64, elf::EM_X86_64, true),
        "x86" => (A::I386, elf::EM_386, false),
        "aarch64" => (A::Aarch64, elf::EM_AARCH64, true),
        "arm" => (A::Arm, elf::EM_ARM, false),
        "riscv64" => (A::Riscv64, elf::EM_RISCV, true),
        "powerpc64" => (A::PowerPc64, elf::EM_PPC64, true),
        "s390x" => (A::S390x, elf::EM_S390, true),
        _ => return None,
    })
}

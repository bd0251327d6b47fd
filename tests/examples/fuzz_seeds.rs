//! Writes the seeds of the file check's fuzz target (`tests/fuzz`) into the
//! directory given: real plugins (fixture cdylibs, built if needed), and the
//! classes of the bad-file corpus (`tests/tests/bad_files.rs`) drawn from
//! the same seeded generator: truncations, random bytes, a real ELF header
//! over noise, corrupted header fields, another architecture. Generated at
//! CI time, so that no corpus is checked in.
//!
//!   cargo run -p mpplugin-tests --example fuzz_seeds -- <directory>

use std::path::Path;

use mpplugin_tests::fixtures::fixture;
use mpplugin_tests::random::SplitMix;

fn main() {
    let Some(directory) = std::env::args_os().nth(1) else {
        eprintln!("usage: fuzz_seeds <directory>");
        std::process::exit(2);
    };
    let directory = Path::new(&directory);
    std::fs::create_dir_all(directory).expect("cannot create the seeds' directory");
    let mut count = 0;
    let mut seed = |name: String, bytes: &[u8]| {
        std::fs::write(directory.join(name), bytes).expect("cannot write a seed");
        count += 1;
    };

    // Real plugins: one declaration, several, none.
    for name in ["good", "several-plugins", "not-a-plugin"] {
        seed(
            format!("plugin-{name}"),
            &std::fs::read(fixture(name)).unwrap(),
        );
    }
    let whole = std::fs::read(fixture("good")).unwrap();

    // Truncations, at the offsets where a parser's next read begins.
    for length in [
        1,
        16,
        63,
        64,
        65,
        120,
        4095,
        4097,
        whole.len() / 2,
        whole.len() - 64,
    ] {
        seed(format!("truncated-{length}"), &whole[..length]);
    }

    // Random bytes, from the corpus's own seed.
    let mut random = SplitMix(0x6d70_706c_7567_696e);
    for round in 0..6 {
        let length = [1, 16, 64, 100, 4096, 65_536][round] + random.below(64) as usize;
        seed(format!("random-{round}"), &random.bytes(length));
    }

    // The ELF header and program headers of a real plugin over noise.
    let mut random = SplitMix(42);
    for round in 0..4 {
        let mut bytes = whole[..64 + 11 * 56].to_vec();
        let noise = random.below(65_536) as usize;
        bytes.extend(random.bytes(noise));
        seed(format!("header-over-noise-{round}"), &bytes);
    }

    // Header fields the loader must look at, corrupted.
    let corruptions: [(usize, &[u8]); 8] = [
        (0, b"\x7fELG"),
        (4, &[1]),
        (4, &[9]),
        (5, &[2]),
        (16, &[1, 0]),
        (16, &[2, 0]),
        (32, &[0xff; 8]),
        (56, &[0xff, 0xff]),
    ];
    for (index, (offset, patch)) in corruptions.into_iter().enumerate() {
        let mut bytes = whole.clone();
        bytes[offset..offset + patch.len()].copy_from_slice(patch);
        seed(format!("corrupt-header-{index}"), &bytes);
    }

    // Another architecture: e_machine, at offset 18.
    let mut bytes = whole.clone();
    bytes[18..20].copy_from_slice(&183_u16.to_le_bytes());
    seed("machine-aarch64".to_owned(), &bytes);

    println!("fuzz_seeds: {count} seeds in {}", directory.display());
}

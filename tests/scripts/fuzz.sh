#!/usr/bin/env bash
# Fuzzes the loader's file check (everything it reads of a plugin file before
# `dlopen`) for a bounded time: the cargo-fuzz target `file_check` in
# tests/fuzz, seeded at run time with real plugins and the classes of the
# bad-file corpus (tests/examples/fuzz_seeds.rs), plus a tiny shared library
# from `cc` where there is one. The corpus it grows stays in the target
# directory, cut after each run to the inputs that add coverage; nothing is
# checked in. A crash, a leak, a timeout or the fast path accepting what the
# full parse refuses fails the run and leaves the input in
# tests/fuzz/artifacts/file_check/.
#
#   bash tests/scripts/fuzz.sh            # 60 s
#   FUZZ_SECONDS=600 bash tests/scripts/fuzz.sh
#
# Needs a nightly toolchain (sanitizers); exits 2 where nightly cannot run
# it. The target is built as `cargo fuzz build` builds it (its flags,
# below), without cargo-fuzz itself: installing that compiles for four
# minutes on two cores, which every fresh CI machine would pay.
set -euo pipefail
cd "$(dirname "$0")/../.."

toolchain="${FUZZ_TOOLCHAIN:-nightly}"
seconds="${FUZZ_SECONDS:-60}"
if ! cargo "+$toolchain" --version >/dev/null 2>&1; then
    echo "fuzz.sh: no $toolchain toolchain: \`cargo +$toolchain\` does not run here." >&2
    echo "fuzz.sh: install it with: rustup toolchain install $toolchain" >&2
    exit 2
fi
cargo "+$toolchain" --version

target_dir="${CARGO_TARGET_DIR:-$PWD/target}"
host=$(rustc "+$toolchain" -vV | sed -n 's/^host: //p')

printf '\n== fuzz: build file_check\n'
# cargo-fuzz's flags (0.13, as `cargo fuzz build -v` shows them): libFuzzer's coverage
# instrumentation, `cfg(fuzzing)`, AddressSanitizer, debug assertions.
fuzz_flags=(
    -Cpasses=sancov-module
    -Cllvm-args=-sanitizer-coverage-level=4
    -Cllvm-args=-sanitizer-coverage-inline-8bit-counters
    -Cllvm-args=-sanitizer-coverage-pc-table
    -Cllvm-args=-sanitizer-coverage-trace-compares
    -Cllvm-args=-sanitizer-coverage-stack-depth
    -Cllvm-args=-simplifycfg-branch-fold-threshold=0
    --cfg fuzzing
    -Zsanitizer=address
    -Cdebug-assertions
    -Ccodegen-units=1
)
if ! RUSTFLAGS="${fuzz_flags[*]}" cargo "+$toolchain" build --manifest-path tests/fuzz/Cargo.toml \
    --release --target "$host" --target-dir "$target_dir/fuzz" --bin file_check; then
    echo "fuzz.sh: the fuzz target does not build (see above)." >&2
    exit 1
fi
fuzzer="$target_dir/fuzz/$host/release/file_check"
artifacts=tests/fuzz/artifacts/file_check
mkdir -p "$artifacts"
corpus="$target_dir/fuzz/corpus/file_check"
seeds="$target_dir/fuzz/seeds/file_check"
rm -rf "$seeds"
mkdir -p "$corpus" "$seeds"

printf '\n== fuzz: seeds\n'
cargo run -q -p mpplugin-tests --example fuzz_seeds -- "$seeds"
if command -v cc >/dev/null; then
    # A whole shared library in a few KiB, exporting one declaration symbol:
    # a valid start that mutations reach every field of quickly.
    # Stripped, and with its static symbol table.
    source=$(mktemp --suffix .c)
    printf 'const char __mpplugin_declaration__seed[72] = {0};\n' >"$source"
    if cc -shared -fPIC -nostdlib -s -o "$seeds/tiny-library.so" "$source" &&
        cc -shared -fPIC -nostdlib -o "$seeds/tiny-library-symtab.so" "$source"; then
        echo "fuzz.sh: and two tiny libraries from cc, $(wc -c <"$seeds/tiny-library.so") and $(wc -c <"$seeds/tiny-library-symtab.so") bytes"
    fi
    rm -f "$source"
fi

printf '\n== fuzz: file_check for %s s\n' "$seconds"
# The grown corpus first, the seeds second: libFuzzer adds what it finds to
# the first directory only. Inputs stay under 64 KiB: the check reads the
# first pages and the section headers at the end, and bigger inputs only cost
# time (a tenth of the executions at 1 MiB) and corpus; the real plugins, cut
# there, still seed their headers, and the tiny libraries are whole.
# -timeout catches a hang (the check reads a page or two: microseconds).
log="$target_dir/fuzz/file_check.log"
status=0
"$fuzzer" "$corpus" "$seeds" -artifact_prefix="$artifacts/" \
    -max_total_time="$seconds" -max_len=65536 -timeout=10 -rss_limit_mb=2048 \
    -print_final_stats=1 >"$log" 2>&1 || status=$?
# libFuzzer's progress lines (one per new input) and its dictionary are many:
# the rest tells, a panic's message and the sanitizer's report included.
grep -v -e '^#[0-9]*[[:space:]]*\(NEW\|REDUCE\|pulse\)' -e '^"' "$log" | tail -n 120
if [ "$status" != 0 ]; then
    echo "fuzz.sh: the fuzz target failed (status $status): see above and tests/fuzz/artifacts/file_check/" >&2
    exit 1
fi
# Keep of the grown corpus only the inputs that add coverage, so that it
# stays small from one run to the next.
minimized="$corpus.min"
rm -rf "$minimized"
mkdir -p "$minimized"
if "$fuzzer" "$minimized" "$corpus" -merge=1 -max_len=65536 >"$log.merge" 2>&1; then
    rm -rf "$corpus"
    mv "$minimized" "$corpus"
fi
echo "fuzz.sh: $(find "$corpus" -type f | wc -l) inputs in the grown corpus ($(du -sh "$corpus" | cut -f1))"

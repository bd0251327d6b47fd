#!/usr/bin/env bash
# The hosts under ThreadSanitizer and AddressSanitizer (LeakSanitizer
# included): the ring's protocol, both hosts with in-process plugins,
# panicking message drops, bounded shutdown and a runtime dropped first.
#
#   bash tests/scripts/sanitizers.sh            # both
#   SANITIZERS=thread bash tests/scripts/sanitizers.sh
#
# Needs a nightly toolchain with rust-src (std is rebuilt instrumented with
# -Zbuild-std): rustup toolchain install nightly --component rust-src.
# Exits 2 where that is missing, so that CI can say it skipped.
#
# Out of scope: the tests that load the fixture cdylibs. A sanitized host
# would load plugins built without the sanitizer runtime (or rebuild every
# fixture under it, minutes more), and what they check is the loader's
# refusals, which Miri and valgrind (leaks.sh) cover.
set -euo pipefail
cd "$(dirname "$0")/../.."

toolchain="${SANITIZER_TOOLCHAIN:-nightly}"
target="x86_64-unknown-linux-gnu"
if [[ "$(uname -sm)" != "Linux x86_64" ]]; then
    echo "sanitizers.sh: only set up for $target; this is $(uname -sm)" >&2
    exit 2
fi
if ! cargo "+$toolchain" --version >/dev/null 2>&1; then
    echo "sanitizers.sh: no $toolchain toolchain (rustup toolchain install $toolchain --component rust-src)" >&2
    exit 2
fi
sysroot=$(rustc "+$toolchain" --print sysroot)
if [[ ! -d "$sysroot/lib/rustlib/src/rust/library" ]]; then
    echo "sanitizers.sh: trying: rustup component add rust-src --toolchain $toolchain" >&2
    rustup component add rust-src --toolchain "$toolchain" >&2 || true
fi
if [[ ! -d "$sysroot/lib/rustlib/src/rust/library" ]]; then
    echo "sanitizers.sh: the $toolchain toolchain has no rust-src: -Zbuild-std cannot rebuild std" >&2
    exit 2
fi
cargo "+$toolchain" --version

# The test binaries that exercise the ring and the hosts. The huge-capacity
# tests ask the allocator for 2^59 bytes on purpose: a sanitizer's allocator
# must say no (allocator_may_return_null) rather than report it.
tests=(--test hosts --test tokio_host --test drops --test shutdown)
export RUST_BACKTRACE=0
start=$SECONDS
for sanitizer in ${SANITIZERS:-thread address}; do
    printf '\n== sanitizers: %s\n' "$sanitizer"
    # Its own target directory: every crate is rebuilt instrumented.
    CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-target}/sanitizer-$sanitizer" \
    RUSTFLAGS="-Zsanitizer=$sanitizer" \
    RUSTDOCFLAGS="-Zsanitizer=$sanitizer" \
    TSAN_OPTIONS="halt_on_error=1 second_deadlock_stack=1 allocator_may_return_null=1" \
    ASAN_OPTIONS="allocator_may_return_null=1 detect_leaks=1" \
        cargo "+$toolchain" test -Zbuild-std --target "$target" \
        -p mpplugin-tests "${tests[@]}"
done
echo "sanitizers.sh: passed in $((SECONDS - start)) s"

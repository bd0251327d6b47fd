#!/usr/bin/env bash
# Miri on what needs no dynamic library: Message, the Plugin trait's panic
# containment, and both hosts with in-process plugins (std threads and the
# tokio host). Miri cannot dlopen, so nothing here loads a cdylib.
#
#   bash tests/scripts/miri.sh
#
# Needs a nightly toolchain with the miri and rust-src components:
#   rustup toolchain install nightly --component miri,rust-src
# (or, with nightly there: rustup component add miri rust-src --toolchain nightly)
set -euo pipefail
cd "$(dirname "$0")/../.."

toolchain="${MIRI_TOOLCHAIN:-nightly}"
if ! cargo "+$toolchain" miri --version >/dev/null 2>&1; then
    echo "miri.sh: trying: rustup component add miri rust-src --toolchain $toolchain" >&2
    rustup component add miri rust-src --toolchain "$toolchain" >&2 || true
fi
if ! cargo "+$toolchain" miri --version >/dev/null 2>&1; then
    echo "miri.sh: Miri is not available: \`cargo +$toolchain miri\` does not run here." >&2
    echo "miri.sh: install it with: rustup toolchain install $toolchain --component miri,rust-src" >&2
    rustup toolchain list >&2 || true
    exit 2
fi
cargo "+$toolchain" miri --version

# Miri builds its own copy of every crate: keep it apart from the normal
# build, so neither invalidates the other.
export CARGO_TARGET_DIR="${MIRI_TARGET_DIR:-${CARGO_TARGET_DIR:-target}/miri}"
# Isolation off: the tokio runtime and proptest read the clock and the
# environment. Many seeds would be better; one keeps the run in minutes.
export MIRIFLAGS="${MIRIFLAGS:--Zmiri-disable-isolation}"
export RUST_BACKTRACE=0
start=$SECONDS

step() { printf '\n== miri: %s\n' "$*"; }

step "mpplugin: unit tests (panic containment in Plugin's provided methods)"
cargo "+$toolchain" miri test -p mpplugin --lib --all-features

step "mpplugin: doctests (Message, both hosts with in-process plugins)"
cargo "+$toolchain" miri test -p mpplugin --doc --all-features

step "hosts with in-process plugins: the property tests, few cases"
PROPTEST_CASES="${MIRI_PROPTEST_CASES:-4}" \
    cargo "+$toolchain" miri test -p mpplugin-tests --test properties

echo "miri.sh: passed in $((SECONDS - start)) s"

#!/usr/bin/env bash
# The runtime's macOS and Windows branches (the loader's file check and
# permission check, the file names, the hosts), compiled on every CI run and
# not only Linux's: `cargo check` of mpplugin, all features, library and unit
# tests, for x86_64-apple-darwin and x86_64-pc-windows-msvc, with std built
# from source (no other target's std needs to be installed). It checks; it
# links and runs nothing. A warning in mpplugin fails it, as clippy's
# `-D warnings` does on Linux.
#
#   bash tests/scripts/cross.sh
#
# Needs a nightly toolchain with the rust-src component:
#   rustup toolchain install nightly --component rust-src
# Exits 2 where that cannot be had.
set -euo pipefail
cd "$(dirname "$0")/../.."

toolchain="${CROSS_TOOLCHAIN:-nightly}"
has_rust_src() {
    rustup component list --toolchain "$toolchain" --installed 2>/dev/null | grep -q '^rust-src'
}
if ! cargo "+$toolchain" --version >/dev/null 2>&1; then
    echo "cross.sh: no $toolchain toolchain: \`cargo +$toolchain\` does not run here." >&2
    echo "cross.sh: install it with: rustup toolchain install $toolchain --component rust-src" >&2
    exit 2
fi
if ! has_rust_src; then
    echo "cross.sh: trying: rustup component add rust-src --toolchain $toolchain" >&2
    rustup component add rust-src --toolchain "$toolchain" >&2 || true
fi
if ! has_rust_src; then
    echo "cross.sh: the $toolchain toolchain has no rust-src, which -Zbuild-std needs." >&2
    echo "cross.sh: install it with: rustup component add rust-src --toolchain $toolchain" >&2
    exit 2
fi
cargo "+$toolchain" --version

# Each target builds its own std: keep them apart from the normal build.
export CARGO_TARGET_DIR="${CROSS_TARGET_DIR:-${CARGO_TARGET_DIR:-target}/cross}"
start=$SECONDS
for target in x86_64-apple-darwin x86_64-pc-windows-msvc; do
    printf '\n== cross: %s\n' "$target"
    log=$(mktemp)
    status=0
    cargo "+$toolchain" check -Zbuild-std --target "$target" \
        -p mpplugin --all-features --lib --tests 2>&1 | tee "$log" || status=$?
    if [ "$status" = 0 ] && grep -q '^warning: `mpplugin`' "$log"; then
        echo "cross.sh: mpplugin compiles with warnings for $target (see above)" >&2
        status=1
    fi
    rm -f "$log"
    if [ "$status" != 0 ]; then
        exit "$status"
    fi
done
echo "cross.sh: passed in $((SECONDS - start)) s"

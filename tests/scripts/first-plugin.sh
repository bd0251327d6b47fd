#!/usr/bin/env bash
# The README's "Your first plugin", followed as a newcomer would: every file
# of the walk-through is taken from README.md (the fenced block after each
# `<!-- first-plugin file: PATH -->`), written into a fresh directory outside
# this workspace, built and run; what the host prints must match the
# README's output blocks (`<!-- first-plugin output: NAME -->`, where `…`
# stands for any text). So the README is the source of truth: a snippet that
# no longer compiles, or output that changed, fails here.
#
# Offline and quick: it uses the crates this workspace already fetched (its
# Cargo.lock seeds the walk-through's) and a target directory of its own that
# stays warm between runs (target/first-plugin).
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
readme=$root/README.md
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
export CARGO_TARGET_DIR=$root/target/first-plugin CARGO_NET_OFFLINE=true CARGO_TERM_COLOR=never

fail() {
    printf 'first-plugin: %s\n' "$*" >&2
    exit 1
}

# The fenced block after the marker `<!-- first-plugin KIND: NAME -->`.
block() {
    awk -v marker="<!-- first-plugin $1: $2 -->" '
        $0 == marker { state = 1; next }
        state == 1 && /^```/ { state = 2; next }
        state == 1 && NF { exit }          # the marker must sit right above a block
        state == 2 && /^```/ { found = 1; exit }
        state == 2 { print }
        END { exit !found }
    ' "$readme" || fail "README.md has no block after <!-- first-plugin $1: $2 -->"
}

# Does every line of $2 (actual) match the line of $1 (expected, `…` = any text)?
matches() {
    awk '
        NR == FNR { expected[++lines] = $0; next }
        {
            line = ++seen
            if (line > lines) { bad = 1; printf "unexpected line %d: %s\n", line, $0; next }
            pattern = expected[line]; text = $0; ok = 1
            n = split(pattern, parts, "…")
            if (parts[1] != "" && index(text, parts[1]) != 1) ok = 0
            text = substr(text, length(parts[1]) + 1)
            for (i = 2; ok && i <= n; i++) {
                if (i == n) {
                    tail = length(text) - length(parts[n]) + 1
                    if (tail < 1 || substr(text, tail) != parts[n]) ok = 0
                } else {
                    at = parts[i] == "" ? 1 : index(text, parts[i])
                    if (at == 0) ok = 0; else text = substr(text, at + length(parts[i]))
                }
            }
            if (n == 1 && text != "") ok = 0
            if (!ok) { bad = 1; printf "line %d\n  README: %s\n  actual: %s\n", line, pattern, $0 }
        }
        END {
            if (seen < lines) { bad = 1; printf "missing line %d: %s\n", seen + 1, expected[seen + 1] }
            exit bad
        }
    ' "$1" "$2"
}

# Check the output named $1 against the file $2.
check() {
    block output "$1" >"$work/expected"
    if ! matches "$work/expected" "$2" >"$work/diff"; then
        printf '%s\n' "--- what the host printed:" >&2
        cat "$2" >&2
        printf '%s\n' "--- where it differs from README.md (output: $1):" >&2
        cat "$work/diff" >&2
        fail "the output changed: update README.md or fix the cause"
    fi
}

# The files of the walk-through, in the README's order.
project=$work/first
files=$(sed -n 's/^<!-- first-plugin file: \(.*\) -->$/\1/p' "$readme")
[ -n "$files" ] || fail "README.md has no <!-- first-plugin file: … --> markers"
for file in $files; do
    mkdir -p "$(dirname "$project/$file")"
    block file "$file" >"$project/$file"
done

# The README depends on a clone beside the project; this one is the checkout.
manifest=$project/Cargo.toml
grep -q '^mpplugin = { path = "../mpplugin/mpplugin" }$' "$manifest" ||
    fail "the workspace's Cargo.toml no longer depends on mpplugin by path as this script expects"
sed -i "s|^mpplugin = { path = \"../mpplugin/mpplugin\" }$|mpplugin = { path = \"$root/mpplugin\" }|" "$manifest"
cp "$root/Cargo.lock" "$project/Cargo.lock"

cd "$project"
echo "first-plugin: building the walk-through in $project"
cargo build --quiet --workspace || fail "a snippet of the walk-through no longer compiles (see above)"

echo "first-plugin: cargo run -p greeter-host"
cargo run --quiet -p greeter-host >"$work/run.out" || fail "the host failed (see above)"
check run "$work/run.out"
cat "$work/run.out"

echo "first-plugin: the plugin edited, the host run again"
lib=plugin/src/lib.rs
grep -qF '"Hello, {}!"' "$lib" || fail "the plugin no longer greets with \"Hello, {}!\" as this script expects"
sed -i 's/"Hello, {}!"/"Hi, {}!"/' "$lib"
cargo run --quiet -p greeter-host >"$work/rerun.out" || fail "the host failed after the edit (see above)"
grep -qx 'Hi, Ferris and Corro!' "$work/rerun.out" || {
    cat "$work/rerun.out" >&2
    fail "the host loaded a stale plugin after the edit"
}
grep -qF 'it prints `Hi, Ferris and Corro!`' "$readme" ||
    fail "README.md no longer says what the edited plugin prints"

echo "first-plugin: a path written by hand, to nothing built there"
main=host/src/main.rs
cp "$main" "$work/main.rs"
grep -q '^    let path = built.library("greeter-plugin")?;$' "$main" ||
    fail "the host no longer takes the plugin's path from the build as this script expects"
sed -i 's|^    let path = built.library("greeter-plugin")?;$|    let path = "target/debug/libgreeter_plugin.so"; let _ = built;|' "$main"
if cargo run --quiet -p greeter-host >/dev/null 2>"$work/mistake.err"; then
    fail "the host ran with a plugin path to nothing"
fi
check hand-written-path "$work/mistake.err"
cat "$work/mistake.err"
cp "$work/main.rs" "$main"

echo "first-plugin: the same without crate-type cdylib"
sed -i '/^crate-type = \["cdylib", "rlib"\]$/d' plugin/Cargo.toml
if cargo run --quiet -p greeter-host >/dev/null 2>"$work/mistake.err"; then
    fail "the host ran with a plugin that is no cdylib"
fi
check without-cdylib "$work/mistake.err"
cat "$work/mistake.err"
echo "first-plugin: the walk-through builds, runs and prints what README.md says"

#!/usr/bin/env bash
# Leaks: hundreds of load / instantiate / use / drop cycles of real plugin
# cdylibs (tests/tests/leaks.rs) under valgrind. Fails on any definite leak
# and on any memory error valgrind reports.
#
#   bash tests/scripts/leaks.sh            # 300 cycles
#   MPPLUGIN_LEAK_CYCLES=50 bash tests/scripts/leaks.sh
#
# Libraries are never closed (see mpplugin::load), so what they hold stays
# "still reachable" at exit: only "definitely lost" counts.
set -euo pipefail
cd "$(dirname "$0")/../.."

if ! command -v valgrind >/dev/null; then
    echo "leaks.sh: valgrind is not installed (Debian: apt-get install valgrind)" >&2
    exit 2
fi

export MPPLUGIN_LEAK_CYCLES="${MPPLUGIN_LEAK_CYCLES:-300}"
# The same target directory as the other cargo commands: nothing is built twice.
binary=$(cargo test -p mpplugin-tests --test leaks --no-run --message-format=json 2>/dev/null |
    sed -n 's/.*"executable":"\([^"]*\)".*/\1/p' | tail -n 1)
if [[ -z "$binary" ]]; then
    echo "leaks.sh: could not build the leak driver (run: cargo test -p mpplugin-tests --test leaks --no-run)" >&2
    exit 2
fi
# Build the fixture cdylibs natively first, so valgrind times only the cycles.
"$binary" --ignored --exact load_instantiate_use_and_drop_cycles >/dev/null 2>&1 ||
    MPPLUGIN_LEAK_CYCLES=1 "$binary" --ignored --exact load_instantiate_use_and_drop_cycles

log=$(mktemp)
out=$(mktemp)
trap 'rm -f "$log" "$out"' EXIT
run() {
    RUST_BACKTRACE=0 valgrind --leak-check=full --errors-for-leak-kinds=definite \
        --show-leak-kinds=definite --error-exitcode=1 --num-callers=30 \
        --log-file="$log" \
        "$binary" --ignored --exact load_instantiate_use_and_drop_cycles --test-threads=1 >"$out" 2>&1
}

# Self-check: a run that leaks on purpose must fail, or this script proves
# nothing (valgrind missing its target, options ignored...).
if MPPLUGIN_LEAK_CYCLES=1 MPPLUGIN_LEAK_ON_PURPOSE=1 run; then
    cat "$log" >&2
    echo "leaks.sh: the self-check's deliberate leak went unseen" >&2
    exit 1
fi
grep -q "definitely lost: [1-9]" "$log" || {
    cat "$log" >&2
    echo "leaks.sh: the self-check failed for another reason than its leak" >&2
    exit 1
}

start=$SECONDS
set +e
run
status=$?
set -e
grep -E "^test result" "$out" || true
grep -E "definitely lost|indirectly lost|possibly lost|still reachable|ERROR SUMMARY" "$log" || true
if [[ $status -ne 0 ]]; then
    cat "$out" "$log" >&2
    echo "leaks.sh: FAILED (exit $status) after $((SECONDS - start)) s: see valgrind's report above" >&2
    exit 1
fi
echo "leaks.sh: $MPPLUGIN_LEAK_CYCLES cycles, no definite leak, no memory error ($((SECONDS - start)) s under valgrind)"

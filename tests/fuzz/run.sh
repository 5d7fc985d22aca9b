#!/usr/bin/env bash
# tests/fuzz/run.sh - proves that Bimp's whole API keeps its promises under
# long random call sequences: the fuzzing harness (harness.c) decodes each
# input into calls of every bimp_ function, keeps a shadow model of the live
# blocks and checks alignment, non-overlap, contents at every realloc and
# free, calloc zeroing, usable sizes, errno kept by free, and ENOMEM failures
# that leave old blocks intact.  It builds the replay driver twice, with gcc
# (-O2) and with gcc -fsanitize=address,undefined, each with Bimp compiled in
# (-DBIMP_PREFIX), and runs the seed corpus (corpus/) and FUZZ_RANDOM
# (default 3000) pseudo-random inputs from seed FUZZ_SEED (default 1) under
# each, for at most FUZZ_SECONDS each if set.  One PASS/FAIL line per check; exits 1 on any failure.
# FUZZ_LIBFUZZER=1 also builds the libFuzzer binary (clang) and runs the
# corpus through it.
set -u
HERE=$(cd "$(dirname "$0")" && pwd)
OUT=$(cd "$HERE/.." && pwd)/build/fuzz
RANDOM_INPUTS=${FUZZ_RANDOM:-3000}
# FUZZ_SECONDS: each driver stops its random inputs after this long (the
# count it reached is printed); unset, it runs them all.
SECONDS_EACH=${FUZZ_SECONDS:-0}
export FUZZ_SECONDS=$SECONDS_EACH
SEED=${FUZZ_SEED:-1}
failed=0

# run <name> <seconds> <command...>: a driver prints its own PASS/FAIL lines;
# one that dies without a FAIL line, or prints nothing, fails here.
run() {
    local name=$1 limit=$2 out rc
    shift 2
    out=$(timeout -k 5 "$limit" "$@" 2>"$OUT/$name.stderr")
    rc=$?
    [ -n "$out" ] && echo "$out"
    if grep -q '^FAIL ' <<<"$out"; then
        failed=$((failed + 1))
        grep -q . "$OUT/$name.stderr" && sed -n '1,8s/^/    /p' "$OUT/$name.stderr"
    elif [ $rc -ne 0 ]; then
        failed=$((failed + 1))
        if [ $rc -eq 124 ]; then
            echo "FAIL fuzz/$name: timed out after ${limit}s"
        else
            echo "FAIL fuzz/$name: exit status $rc: $(grep -m1 -E 'ERROR|SUMMARY|runtime error|bimp' "$OUT/$name.stderr" | cut -c 1-200)"
        fi
        sed -n '1,8s/^/    /p' "$OUT/$name.stderr"
    elif ! grep -q '^PASS ' <<<"$out"; then
        failed=$((failed + 1))
        echo "FAIL fuzz/$name: reported nothing"
    fi
}

mkdir -p "$OUT"
if ! make -s -C "$HERE" >"$OUT/build.log" 2>&1; then
    echo "FAIL fuzz/build: make -C tests/fuzz failed: $(grep -m1 -E 'error' "$OUT/build.log" | cut -c 1-200)"
    exit 1
fi
if grep -q 'warning:' "$OUT/build.log"; then
    echo "FAIL fuzz/build: warnings: $(grep -m1 'warning:' "$OUT/build.log" | cut -c 1-200)"
    failed=$((failed + 1))
else
    echo "PASS fuzz/build"
fi

run gcc $((60 + SECONDS_EACH)) env FUZZ_SAVE_DIR="$OUT" "$OUT/replay" fuzz/gcc "$HERE/corpus" "$RANDOM_INPUTS" "$SEED"
run gcc-asan $((90 + SECONDS_EACH)) env FUZZ_SAVE_DIR="$OUT" ASAN_OPTIONS=abort_on_error=0:detect_leaks=1 \
    UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
    "$OUT/replay-asan" fuzz/gcc-asan "$HERE/corpus" "$RANDOM_INPUTS" "$SEED"

run gcc-tier-asan-debug $((120 + SECONDS_EACH)) env FUZZ_SAVE_DIR="$OUT" ASAN_OPTIONS=abort_on_error=0:detect_leaks=1 \
    UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
    "$OUT/replay-tier" fuzz/gcc-tier-asan-debug "$HERE/corpus" "$((RANDOM_INPUTS / 3))" "$SEED"

if [ "${FUZZ_LIBFUZZER:-0}" = 1 ]; then
    if ! make -s -C "$HERE" fuzzer >"$OUT/build-fuzzer.log" 2>&1; then
        echo "FAIL fuzz/libfuzzer-build: $(grep -m1 -E 'error' "$OUT/build-fuzzer.log" | cut -c 1-200)"
        failed=$((failed + 1))
    else
        out=$(cd "$OUT" && timeout -k 5 120 ./fuzzer -runs=0 "$HERE/corpus" 2>&1)
        if [ $? -eq 0 ]; then
            echo "PASS fuzz/libfuzzer-corpus"
        else
            failed=$((failed + 1))
            echo "FAIL fuzz/libfuzzer-corpus: $(grep -m1 -E 'ERROR|SUMMARY|runtime error|bimp fuzz' <<<"$out" | cut -c 1-200)"
        fi
    fi
fi

[ $failed -eq 0 ]

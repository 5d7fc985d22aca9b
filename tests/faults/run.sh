#!/usr/bin/env bash
# tests/faults/run.sh LIB - proves that Bimp (LIB, a libbimp.so) survives
# hostile conditions: (a) threads exchanging blocks, freeing and resizing
# each other's, under ThreadSanitizer (Bimp compiled in with -DBIMP_PREFIX):
# any race TSan reports, inside bimp.c or not, fails the check; (b) hundreds
# of forks while threads churn, every child allocating, freeing and exiting
# 0 in time; (c) running out of memory under RLIMIT_AS and under RLIMIT_DATA
# (also a 1 MB data limit from the start, and a 4 GiB alignment under a
# tight address-space limit):
# NULL with ENOMEM, old blocks intact, allocation working again after frees;
# (d) start-up: another preloaded library that wraps libc functions through
# dlsym(RTLD_NEXT) and allocates in its constructor, a program started with
# 20,000 environment variables (5 MB), and LIB dlopen'ed by a program not
# preloaded with it (and dlclose'd while a thread that used it still runs).  One PASS/FAIL line per check; exits 1 on any failure.
# Every program runs under a timeout.  FAULTS_VERBOSE=1 also shows the
# programs' `#` remarks.
set -u
HERE=$(cd "$(dirname "$0")" && pwd)
LIB=${1:?usage: tests/faults/run.sh path/to/libbimp.so}
case $LIB in /*) ;; *) LIB=$PWD/$LIB ;; esac
OUT=$(cd "$HERE/.." && pwd)/build/faults
failed=0
if [ ! -f "$LIB" ]; then
    echo "FAIL faults/setup: no library at $LIB"
    exit 1
fi
mkdir -p "$OUT"
if ! make -s -C "$HERE" >"$OUT/build.log" 2>&1; then
    echo "FAIL faults/build: make -C tests/faults failed: $(grep -m1 error "$OUT/build.log" | cut -c 1-200)"
    exit 1
fi
ulimit -c 0

# check <name> <seconds> <command...>: the program prints its own PASS/FAIL
# lines; dying without a FAIL line, or printing nothing, fails here.
check() {
    local name=$1 limit=$2 out rc
    shift 2
    out=$(timeout -k 5 "$limit" "$@" 2>"$OUT/$name.stderr")
    rc=$?
    grep -E '^(PASS|FAIL) ' <<<"$out"
    [ "${FAULTS_VERBOSE:-0}" = 1 ] && grep '^#' <<<"$out"
    if grep -q '^FAIL ' <<<"$out"; then
        failed=$((failed + 1))
    elif [ $rc -ne 0 ]; then
        failed=$((failed + 1))
        if [ $rc -eq 124 ] || [ $rc -eq 137 ]; then
            echo "FAIL faults/$name: timed out after ${limit}s"
        else
            echo "FAIL faults/$name: exit status $rc: $(head -c 300 "$OUT/$name.stderr" | head -n 2 | tr '\n' ' ')"
        fi
    elif ! grep -q '^PASS ' <<<"$out"; then
        failed=$((failed + 1))
        echo "FAIL faults/$name: reported nothing"
    fi
}

# tsan <name> <stress arguments...>: the stress program under TSan; its own
# verdict first, then every race report counts against it.
tsan() {
    local name=$1 out rc log=$OUT/$1.stderr
    shift
    out=$(TSAN_OPTIONS="halt_on_error=0 exitcode=66 report_signal_unsafe=0" \
        timeout -k 5 120 "$OUT/${TSAN_PROGRAM:-stress-tsan}" "faults/$name" "$@" 2>"$log")
    rc=$?
    local reports places first
    reports=$(grep -c '^WARNING: ThreadSanitizer' "$log")
    places=$(grep '^SUMMARY: ThreadSanitizer' "$log" | sort -u)
    first=$(grep -m1 '^SUMMARY: ThreadSanitizer' "$log" | sed 's/^SUMMARY: ThreadSanitizer: //')
    if grep -q '^FAIL ' <<<"$out"; then
        failed=$((failed + 1))
        grep '^FAIL ' <<<"$out"
        if [ "$reports" -gt 0 ]; then
            echo "    and $reports ThreadSanitizer reports at $(grep -c . <<<"$places") places; first: $first"
            sed 's/^SUMMARY: ThreadSanitizer: /    /' <<<"$places"
        fi
    elif [ "$reports" -gt 0 ]; then
        failed=$((failed + 1))
        echo "FAIL faults/$name: $reports ThreadSanitizer reports at $(grep -c . <<<"$places") places; first: $first"
        sed 's/^SUMMARY: ThreadSanitizer: /    /' <<<"$places"
    elif [ $rc -eq 124 ] || [ $rc -eq 137 ]; then
        failed=$((failed + 1))
        echo "FAIL faults/$name: timed out"
    elif [ $rc -ne 0 ] || ! grep -q '^PASS ' <<<"$out"; then
        failed=$((failed + 1))
        echo "FAIL faults/$name: exit status $rc: $(grep -m1 -E 'ERROR|FATAL' "$log" | cut -c 1-200)"
    else
        echo "$out"
    fi
}

# (a) threads under ThreadSanitizer: the core paths, then with statistics
# and trimming called concurrently, then with arenas.
# FAULTS_LONG=1 (make test-long): the small tier too, and more forks.
tsan tsan-stress 4 4 20000
tsan tsan-stats 4 2 10000 stats
tsan tsan-arenas 4 4 20000 arenas
[ "${FAULTS_LONG:-0}" = 1 ] && TSAN_PROGRAM=stress-tsan-tier tsan tsan-small-tier 4 4 20000

# (b) forks while threads churn.
check fork-storm 120 env LD_PRELOAD="$LIB" "$OUT/forkstorm" faults/fork-storm $([ "${FAULTS_LONG:-0}" = 1 ] && echo 300 || echo 100)

# (c) out of memory, address space and data size.
check oom-as 60 env LD_PRELOAD="$LIB" "$OUT/oom" as
check oom-data 60 env LD_PRELOAD="$LIB" "$OUT/oom" data
check oom-tiny-data 60 bash -c 'ulimit -d 977 && exec env LD_PRELOAD="$1" "$2"' - "$LIB" "$OUT/tinydata"
check oom-align4g 60 env LD_PRELOAD="$LIB" "$OUT/oom" align4g
check oom-reuse-as 60 env LD_PRELOAD="$LIB" "$OUT/oom" reuse-as
check oom-reuse-data 60 env LD_PRELOAD="$LIB" "$OUT/oom" reuse-data
check oom-reuse-as-kept 60 env LD_PRELOAD="$LIB" "$OUT/oom" reuse-as-kept
check oom-reuse-data-kept 60 env LD_PRELOAD="$LIB" "$OUT/oom" reuse-data-kept

# (d) start-up.
check preload-hook 30 env LD_PRELOAD="$OUT/hook.so $LIB" "$OUT/startup" preload-hook
check preload-hook-second 30 env LD_PRELOAD="$LIB $OUT/hook.so" "$OUT/startup" preload-hook-second
check huge-environment 60 "$OUT/bigenv" launch "$LIB"
check dlopen 30 "$OUT/dlopen" "$LIB"
check dlclose 30 "$OUT/dlopen" "$LIB" dlclose

[ $failed -eq 0 ]

#!/usr/bin/env bash
# tests/guard.sh LIB VARIANT - guard sampling finds what it promises, on
# tests/build/guard: at a high rate (BIMP_GUARD_RATE=512, so that its 64-byte
# buggy block is guarded in about one run in eight), a one-byte overflow and
# a write after free are each reported, with the block and its stacks,
# within 300 runs, and no run ends any other way than by its exit or by the
# report; the fault handler leaves a fault that is not Bimp's to the handler
# the program installed before it, and reports its own.  One PASS/FAIL line
# per check; the runs it took are in the PASS line.
set -u
LIB=$1 VARIANT=$2
PROG=$(cd "$(dirname "$0")" && pwd)/build/guard
TMP=$(mktemp -d) && trap 'rm -rf "$TMP"' EXIT
ulimit -c 0
failed=0
pass() { echo "PASS $VARIANT/guard/$1"; }
fail() { echo "FAIL $VARIANT/guard/$1: $2"; failed=$((failed + 1)); }

# found <mode> <what>: runs until the report of the guarded block's <what>.
found() {
    local mode=$1 what=$2 run rc pointer start=$SECONDS
    for run in $(seq 300); do
        { BIMP_GUARD_RATE=512 LD_PRELOAD=$LIB timeout -k 2 20 "$PROG" "$mode" >"$TMP/out" 2>"$TMP/err"; } 2>/dev/null
        rc=$?
        pointer=$(head -n 1 "$TMP/out")
        if [ $rc -eq 134 ] && [ "$(head -n 1 "$TMP/err")" = "bimp: $what $pointer" ] &&
            grep -q '^bimp: the block: 64 bytes, guarded' "$TMP/err" &&
            grep -q '^bimp:   allocated at victim <- main' "$TMP/err"; then
            pass "$mode: found in run $run ($((SECONDS - start)) s)"
            return
        elif [ $rc -ne 0 ]; then
            fail "$mode" "run $run: status $rc, stderr '$(head -n 1 "$TMP/err")'"
            return
        fi
        if [ $((SECONDS - start)) -gt 120 ]; then
            fail "$mode" "not found in $run runs, 120 s"
            return
        fi
    done
    fail "$mode" "not found in 300 runs"
}

found overflow "overflow past the end of"
found uaf "use after free of"

out=$(BIMP_GUARD_RATE=1 LD_PRELOAD=$LIB timeout 20 "$PROG" chain 2>"$TMP/err")
rc=$?
if [ $rc -eq 42 ] && [ "$(tail -n 1 <<<"$out")" = "the program's handler" ] && [ ! -s "$TMP/err" ]; then
    pass "chain: a fault not Bimp's reaches the program's handler"
else
    fail chain "status $rc, stdout '$(tail -n 1 <<<"$out")', stderr '$(head -n 1 "$TMP/err")'"
fi
{ out=$(BIMP_GUARD_RATE=1 LD_PRELOAD=$LIB timeout 20 "$PROG" chain-ours 2>"$TMP/err"); } 2>/dev/null
rc=$?
if [ $rc -eq 134 ] && [ "$(head -n 1 "$TMP/err")" = "bimp: overflow past the end of $out" ]; then
    pass "chain-ours: Bimp's own fault reported, the program's handler installed before it"
else
    fail chain-ours "status $rc, stderr '$(head -n 1 "$TMP/err")'"
fi
[ $failed -eq 0 ]

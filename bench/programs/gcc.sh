#!/bin/bash
# gcc: compile a generated large C file (many functions with loops, switches,
# nested conditions and calls that get inlined) with gcc -O2 -c.
. "$(dirname "$0")/common.sh"
funcs=$(scaled 50 2)
src=$BENCH_INPUTS/gcc-$funcs.c
case $mode in
prepare)
    need gcc gcc
    need nm binutils
    fresh "$src" || "$BENCH_BUILD/gen" csrc "$funcs" "$src"
    ;;
run)
    gcc -O2 -c "$src" -o "$BENCH_TMP/big.o"
    n=$(nm "$BENCH_TMP/big.o" | grep -c ' T fn_' || true)
    [ "$n" = "$funcs" ] || fail "object file defines $n functions, expected $funcs"
    echo "gcc: compiled $funcs functions"
    ;;
esac

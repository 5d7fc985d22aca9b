#!/usr/bin/env bash
# tests/mappings.sh LIB VARIANT - the mappings a heap of large blocks leaves
# the kernel (tests/mappings.c): 30,000 blocks, sizes alternating between
# up to 2 KB and up to 300 KiB, the small ones freed, then fork+waitpid for
# 2 s.  Run under glibc and under Bimp (LIB): Bimp's count of mappings must
# be within twice glibc's (huge blocks up to 4 MiB share a few regions), and
# every block keep its contents.  The fork times are printed, not judged.
set -u
LIB=$1 VARIANT=$2
HERE=$(cd "$(dirname "$0")" && pwd)
glibc=$("$HERE/build/mappings" 30000 2) || { echo "FAIL $VARIANT/mappings: the program failed under glibc"; exit 1; }
bimp=$(env LD_PRELOAD="$LIB" "$HERE/build/mappings" 30000 2) || { echo "FAIL $VARIANT/mappings: the program failed under Bimp"; exit 1; }
field() { sed -n "s/.*\\<$1=\\([0-9.]*\\).*/\\1/p" <<<"$2"; }
b=$(field mappings "$bimp") g=$(field mappings "$glibc")
if [ "$b" -le $((2 * g)) ]; then
    echo "PASS $VARIANT/mappings: $b mappings (glibc $g); ms per fork+wait: Bimp $(field ms_per_fork "$bimp"), glibc $(field ms_per_fork "$glibc")"
else
    echo "FAIL $VARIANT/mappings: $b mappings, more than twice glibc's $g (Bimp: $bimp; glibc: $glibc)"
fi

#!/usr/bin/env bash
# tests/burst.sh LIB VARIANT - memory after a burst (tests/burst.c): 16
# threads pass blocks to each other for 3 seconds, then everything is freed.
# Run under glibc and under Bimp (LIB): Bimp's resident memory, at once
# after the frees and 2 s later, must be within 1.5 times glibc's (+2 MiB)
# and hold at most a tenth of what the burst added (+8 MiB): the pool of free
# chunks is bounded by what the program still uses.
set -u
LIB=$1 VARIANT=$2
HERE=$(cd "$(dirname "$0")" && pwd)
glibc=$("$HERE/build/burst" 3) || { echo "FAIL $VARIANT/burst: the program failed under glibc"; exit 1; }
bimp=$(env LD_PRELOAD="$LIB" "$HERE/build/burst" 3) || { echo "FAIL $VARIANT/burst: the program failed under Bimp"; exit 1; }
field() { sed -n "s/.*\\<$1=\\([0-9]*\\).*/\\1/p" <<<"$2"; }
start=$(field start "$bimp") peak=$(field peak "$bimp")
fail=
for when in freed later; do
    b=$(field $when "$bimp") g=$(field $when "$glibc")
    [ $((b * 2)) -le $((g * 3 + 4096)) ] || fail="$fail; $when: $b KiB, glibc $g KiB"
    [ $((b - start)) -le $(((peak - start) / 10 + 8192)) ] || fail="$fail; $when: $b KiB of a peak of $peak from $start"
done
if [ -n "$fail" ]; then
    echo "FAIL $VARIANT/burst: resident memory after the burst${fail} (Bimp: $bimp; glibc: $glibc)"
else
    echo "PASS $VARIANT/burst: resident KiB at the start, peak, freed, 2 s later: Bimp $(field start "$bimp") $peak $(field freed "$bimp") $(field later "$bimp"), glibc $(field start "$glibc") $(field peak "$glibc") $(field freed "$glibc") $(field later "$glibc")"
fi

#!/bin/bash
# sqlite: the sqlite3 shell on an in-memory database: many single-row INSERT
# statements, index creation, point and range queries, GROUP BY, UPDATE,
# DELETE, a join, LIKE scans and a big sort.  The output must equal the
# expected output computed by the generator.
. "$(dirname "$0")/common.sh"
rows=$(scaled 200000 2000)
sql=$BENCH_INPUTS/sqlite-$rows.sql
expected=$BENCH_INPUTS/sqlite-$rows.expected
case $mode in
prepare)
    need sqlite3 sqlite3
    if ! fresh "$sql" || ! fresh "$expected"; then "$BENCH_BUILD/gen" sql "$rows" "$sql" "$expected"; fi
    ;;
run)
    sqlite3 -batch < "$sql" > "$BENCH_TMP/out.txt"
    cmp -s "$BENCH_TMP/out.txt" "$expected" || fail "sqlite3 output differs from $expected"
    echo "sqlite: $rows rows, output checked ($(wc -l < "$expected") lines)"
    ;;
esac

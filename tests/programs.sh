#!/usr/bin/env bash
# Proves LIB works as a drop-in malloc for real programs: each allocation-heavy
# workload (tests/programs-lib.sh) must give the same stdout and exit status
# under LD_PRELOAD=LIB as with glibc malloc, without crashing or hanging.
# Usage: tests/programs.sh LIB     (PROGRAMS="python perl ..." runs a subset;
# PROGRAMS_LABEL names the lines, default "programs")
# Prints one "PASS programs/<name>", "FAIL programs/<name>: <reason>" or
# "SKIP programs/<name>: <the missing binary>" line per program (failure details go to stderr), then "programs: N passed, N failed".
# needs-packages: sqlite3 xz-utils time
set -u
[[ $# -eq 1 ]] || { echo "usage: $0 LIB.so" >&2; exit 2; }
source "$(dirname "$0")/programs-lib.sh"
LIB=$(readlink -m "$1")
T=$(mktemp -d) && trap 'rm -rf "$T"' EXIT && trap 'exit 130' INT TERM

pass=0 fail=0
result() {  # result NAME [REASON [DETAIL-FILE [FALLBACK-DETAIL-FILE]]]
    if [[ $# -eq 1 ]]; then echo "PASS ${PROGRAMS_LABEL:-programs}/$1"; pass=$((pass + 1)); return; fi
    echo "FAIL ${PROGRAMS_LABEL:-programs}/$1: $2"; fail=$((fail + 1))
    local f; for f in "${@:3}"; do [[ -s $f ]] && { tail -n 15 "$f" | sed 's/^/    | /' >&2; break; }; done
    return 0
}

for name in $(selected_programs); do
    d=$T/$name
    if [[ " $PROGRAM_NAMES " != *" $name "* ]]; then result "$name" "unknown program (have: $PROGRAM_NAMES)"; continue; fi
    if [[ ! -r $LIB ]]; then result "$name" "LIB $LIB not found"; continue; fi
    if b=$(missing_binary "$name"); then
        echo "SKIP ${PROGRAMS_LABEL:-programs}/$name: $b is not installed (tests/install-deps installs it)"
        continue
    fi
    prep_program "$name" "$d/in" > "$d.prep" 2>&1 || { result "$name" "input generation failed" "$d.prep"; continue; }
    run_program "$name" "$d/in" "$d/glibc" ""
    run_program "$name" "$d/in" "$d/lib" "$LIB"
    g=$(<"$d/glibc/status") l=$(<"$d/lib/status")
    if [[ $g != 0 ]]; then result "$name" "fails without preload too ($(describe_status "$g"))" "$d/glibc/err" "$d/glibc/out"
    elif [[ ! -s $d/glibc/out ]]; then result "$name" "workload printed nothing (broken test)" "$d/glibc/err"
    elif grep -q 'ld.so: object .* cannot be preloaded' "$d/lib/err"; then result "$name" "LIB not preloaded: $(grep -m1 -o 'cannot be preloaded.*' "$d/lib/err")"
    elif [[ $l != 0 ]]; then result "$name" "$(describe_status "$l") under preload" "$d/lib/err"
    elif ! cmp -s "$d/glibc/out" "$d/lib/out"; then
        diff "$d/glibc/out" "$d/lib/out" > "$d/diff"
        result "$name" "stdout differs from glibc run ($(grep -c '^[<>]' "$d/diff") lines)" "$d/diff"
        tail -n 5 "$d/lib/err" | sed 's/^/    stderr| /' >&2
    else result "$name"; fi
done
echo "programs: $pass passed, $fail failed"
((fail == 0))

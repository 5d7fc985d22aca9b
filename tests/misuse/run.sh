#!/usr/bin/env bash
# tests/misuse/run.sh LIB - proves that Bimp (LIB, a libbimp.so, preloaded)
# catches each kind of heap misuse it promises to catch: every program here
# misuses one pointer once, and must die by SIGABRT having written exactly two
# lines to stderr, `bimp: <what> <that pointer> (in <function>)`, with the
# pointer the program passed (it prints it to stdout first), and the call
# stack, `bimp:   at <frame> <- ...`, whose frames include the program's main
# (or, on another thread, the program's thread function).  The control
# program makes correct free_sized/free_aligned_sized calls and must exit 0
# with nothing on stderr.  The check-* and guard-* programs run in the
# check mode (BIMP_CHECK=1) or with every allocation guarded
# (BIMP_GUARD_RATE=1): their reports say more (reported, below).  One
# `PASS <name>` or `FAIL <name>: <reason>` line per program; exits 1 if any
# failed.
set -u
HERE=$(cd "$(dirname "$0")" && pwd)
LIB=${1:?usage: tests/misuse/run.sh path/to/libbimp.so}
case $LIB in /*) ;; *) LIB=$PWD/$LIB ;; esac
BIN=$HERE/../build/misuse
if [ ! -f "$LIB" ]; then
    echo "FAIL misuse/setup: no library at $LIB"
    exit 1
fi
if ! make -s -C "$HERE" >/dev/null; then
    echo "FAIL misuse/build: make -C tests/misuse failed"
    exit 1
fi
ulimit -c 0 # an abort must not leave core files, nor make timeout mention one
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT

failed=0
pass() { echo "PASS misuse/$1"; }
fail() { echo "FAIL misuse/$1: $2"; failed=$((failed + 1)); }

# run <program> [VAR=value ...]: runs it preloaded, bounded in time; sets
# rc, out, err.
run() {
    local program=$1
    shift
    { timeout -k 2 10 env LD_PRELOAD="$LIB" "$@" "$BIN/$program" >"$TMP/out" 2>"$TMP/err"; } 2>/dev/null
    rc=$?
    out=$(head -c 4000 "$TMP/out")
    err=$(head -c 4000 "$TMP/err")
}

# describe <rc>: how a process with that shell status ended.
describe() {
    if [ "$1" -eq 124 ]; then
        echo "timed out"
    elif [ "$1" -gt 128 ]; then
        echo "killed by SIG$(kill -l $(($1 - 128)) 2>/dev/null || echo $(($1 - 128)))"
    else
        echo "exit status $1"
    fi
}

# first line of a text, shortened, for a FAIL reason
firstline() { head -n 1 <<<"$1" | cut -c 1-160; }

# misuse <program> <what> <function>
misuse() {
    local name=$1 what=$2 function=$3
    run "$name"
    local pointer want lines
    pointer=$(head -n 1 <<<"$out")
    want="bimp: $what $pointer (in $function)"
    lines=$(grep -c '' "$TMP/err")
    local stack
    stack=$(sed -n 2p <<<"$err")
    if ! [[ $pointer =~ ^0x[0-9a-f]+$ ]]; then
        fail "$name" "the program printed no pointer (stdout: '$(firstline "$out")'; $(describe $rc))"
    elif [ "$lines" -eq 2 ] && [ "$(firstline "$err")" = "$want" ] && [ $rc -eq 134 ] &&
        [[ $stack == "bimp:   at "* ]] && [[ " $stack " == *" main "* || $stack == *" $name+0x"* ]]; then
        pass "$name"
    elif [ $rc -ne 134 ] && [ "$lines" -eq 0 ]; then
        fail "$name" "$(describe $rc), stderr empty, wanted '$want' and SIGABRT"
    elif [ "$lines" -ne 2 ]; then
        fail "$name" "$(describe $rc), $lines stderr lines (first: '$(firstline "$err")'), wanted two: '$want' and the stack"
    elif [ "$(firstline "$err")" != "$want" ]; then
        fail "$name" "$(describe $rc), stderr '$(firstline "$err")', wanted '$want'"
    elif [[ $stack != "bimp:   at "* ]] || [[ " $stack " != *" main "* && $stack != *" $name+0x"* ]]; then
        fail "$name" "$(describe $rc), the stack line names no main: '$(cut -c 1-200 <<<"$stack")'"
    else
        fail "$name" "$(describe $rc) after the right message, wanted SIGABRT"
    fi
}

# reported <program> <VAR=value> <what> <function, or - for a fault> <line>...
# A misuse found by the check mode or guard sampling (the setting turns it
# on): the first line as misuse's (without `(in ...)` for a fault), the
# call stack through main, then exactly one more line per <line> argument,
# each matching it (a shell pattern): the block, where it was allocated and
# freed.
reported() {
    local name=$1 setting=$2 what=$3 function=$4
    shift 4
    run "$name" "$setting"
    local pointer want stack k=3 line
    pointer=$(head -n 1 <<<"$out")
    want="bimp: $what $pointer"
    [ "$function" = - ] || want+=" (in $function)"
    stack=$(sed -n 2p <<<"$err")
    if ! [[ $pointer =~ ^0x[0-9a-f]+$ ]]; then
        fail "$name" "the program printed no pointer (stdout: '$(firstline "$out")'; $(describe $rc))"
        return
    elif [ $rc -ne 134 ] || [ "$(firstline "$err")" != "$want" ]; then
        fail "$name" "$(describe $rc), stderr '$(firstline "$err")', wanted '$want' and SIGABRT"
        return
    elif [[ $stack != "bimp:   at "* ]] || [[ " $stack " != *" main "* ]]; then
        fail "$name" "the stack line names no main: '$(cut -c 1-200 <<<"$stack")'"
        return
    fi
    for pattern in "$@"; do
        line=$(sed -n ${k}p <<<"$err")
        # shellcheck disable=SC2053 # the pattern is a pattern
        if [[ $line != $pattern ]]; then
            fail "$name" "line $k: '$(cut -c 1-200 <<<"$line")', wanted '$pattern'"
            return
        fi
        k=$((k + 1))
    done
    if [ "$(grep -c '' "$TMP/err")" -ne $((k - 1)) ]; then
        fail "$name" "$(grep -c '' "$TMP/err") stderr lines, wanted $((k - 1))"
        return
    fi
    pass "$name"
}

misuse double-free-small          "double free of"     free
misuse double-free-medium         "double free of"     free
misuse double-free-huge           "double free of"     free
misuse double-free-region         "double free of"     free
misuse double-free-region-purged  "double free of"     free
misuse double-free-top            "double free of"     free
misuse double-free-below          "double free of"     free
misuse double-free-thread         "double free of"     free
misuse double-free-exited-thread  "double free of"     free
misuse double-free-remote-owner   "double free of"     free
misuse double-free-cfree          "double free of"     cfree
misuse invalid-stack              "invalid pointer"    free
misuse invalid-global             "invalid pointer"    free
misuse invalid-mmap               "invalid pointer"    free
misuse invalid-interior           "invalid pointer"    free
misuse invalid-interior-region    "invalid pointer"    free
misuse invalid-misaligned         "invalid pointer"    free
misuse invalid-realloc-stack      "invalid pointer"    realloc
misuse invalid-usable-global      "invalid pointer"    malloc_usable_size
misuse freed-realloc              "use of freed block" realloc
misuse freed-realloc-region       "use of freed block" realloc
misuse freed-usable               "use of freed block" malloc_usable_size
misuse size-too-large             "wrong size for"     free_sized
misuse size-too-small             "wrong size for"     free_sized
misuse size-aligned               "wrong size for"     free_aligned_sized
misuse alignment-wrong            "wrong alignment for" free_aligned_sized
misuse arena-mark-other           "mark of another arena" bimp_arena_release
misuse arena-mark-released        "mark newer than the arena's top, or not a mark" bimp_arena_release
misuse arena-destroyed            "use of destroyed arena" bimp_arena_alloc
misuse arena-other-thread         "arena used by a thread that did not create it" bimp_arena_mark
misuse arena-double-free          "double free of"     free
misuse arena-released-free        "invalid pointer"    free

made='bimp:   allocated at block_made_here <- main <- *'
freed='bimp:   freed at block_freed_here <- main <- *'
reported check-overflow BIMP_CHECK=1 "overflow past the end of" free \
    'bimp: the block: 40 bytes; written past its end: byte 40 of it (1 changed, now 0x78)' "$made"
reported check-overflow-huge BIMP_CHECK=1 "overflow past the end of" free \
    'bimp: the block: 3145728 bytes; written past its end: byte 3145728 of it (1 changed, now 0x0)' "$made"
reported check-stack-path BIMP_CHECK=1 "overflow past the end of" free \
    'bimp: the block: 32 bytes; written past its end: byte 32 of it (1 changed, now 0x78)' \
    'bimp:   allocated at block_made_here <- path_b <- main <- *'
reported check-write-after-free BIMP_CHECK=1 "write after free to" free \
    'bimp: the block: 100 bytes, freed; written after its free: byte 10 of it (1 changed, now 0x78)' "$made" "$freed"
reported check-double-free BIMP_CHECK=1 "double free of" free 'bimp: the block: 64 bytes, freed' "$made" "$freed"
reported check-freed-realloc BIMP_CHECK=1 "use of freed block" realloc 'bimp: the block: 64 bytes, freed' "$made" "$freed"
reported guard-overflow BIMP_GUARD_RATE=1 "overflow past the end of" - \
    'bimp: the block: 48 bytes, guarded; the access at 0x*, its byte 48' "$made"
reported guard-overflow-slack BIMP_GUARD_RATE=1 "overflow past the end of" free \
    'bimp: the block: 40 bytes, guarded; written at 0x*, its byte 40' "$made"
reported guard-use-after-free BIMP_GUARD_RATE=1 "use after free of" - \
    'bimp: the block: 100 bytes, guarded, freed; the access at 0x*, its byte 7' "$made" "$freed"
reported guard-double-free BIMP_GUARD_RATE=1 "double free of" free 'bimp: the block: 100 bytes, guarded, freed' "$made" "$freed"

run control
if [ $rc -eq 0 ] && [ -z "$err" ]; then
    pass control
elif [ -n "$err" ]; then
    fail control "$(describe $rc), stderr '$(firstline "$err")'"
else
    fail control "$(describe $rc): $(firstline "$out")"
fi

[ $failed -eq 0 ]

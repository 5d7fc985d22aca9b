#!/usr/bin/env bash
# tests/usability/run.sh LIB - proves that Bimp (LIB, a libbimp.so) can be
# used as its manual page (bimp.3) says: the BIMP_* options are read, take
# effect, and are refused with one warning line each when bad or unknown, and
# ignored in setuid and setgid programs; bimp_stats counts exactly what known
# allocation patterns do, and BIMP_SHOW_STATS / bimp_print_stats print the
# statistics block with its verdict; mallinfo2, malloc_info and mallopt give
# glibc's shapes with Bimp's figures; `make install` puts a library, archive,
# header, pkg-config file and manual page where a program can be built
# against them, `make uninstall` takes them all away, and the manual page
# renders without warnings and names every option and statistic.
# One `PASS usability/<name>` or `FAIL usability/<name>: <reason>` line per
# check; exits 1 if any failed.  Runs in well under a minute.
# needs-packages: man-db groff-base pkg-config heaptrack
set -u
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
LIB=${1:?usage: tests/usability/run.sh path/to/libbimp.so}
case $LIB in /*) ;; *) LIB=$PWD/$LIB ;; esac
BIN=$ROOT/tests/build/usability
CC=${CC:-cc}
if [ ! -f "$LIB" ]; then
    echo "FAIL usability/setup: no library at $LIB"
    exit 1
fi
if ! out=$(make -s -C "$HERE" 2>&1); then
    echo "FAIL usability/build: make -C tests/usability failed: $(tail -n 3 <<<"$out" | tr '\n' ' ')"
    exit 1
fi
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
chmod 755 "$TMP" # the setuid checks run programs in it as nobody

VERSION=$(sed -n 's/^#define BIMP_VERSION "\(.*\)"/\1/p' "$ROOT/bimp.h")
MAJOR=${VERSION%%.*}
# The options, from their list in src/options.h, and their documented defaults.
OPTIONS=$(sed -n '/^#define OPTIONS(/,/^$/p' "$ROOT/src/options.h" | grep -o '"BIMP_[A-Z_]*"' | tr -d '"')
declare -A DEFAULT=([BIMP_VERBOSE]=0 [BIMP_SHOW_STATS]=0 [BIMP_MMAP_THRESHOLD]=131072
    [BIMP_TRIM_THRESHOLD]=2097152 [BIMP_PURGE_DELAY]=1000)
# The fields of struct bimp_stats, from bimp.h.
FIELDS=$(sed -n '/^struct bimp_stats {/,/^};/p' "$ROOT/bimp.h" | sed 's,/\*.*\*/,,' |
    grep -o '[a-z_]*[,;]' | tr -d ',;')

failed=0
pass() { echo "PASS usability/$1"; }
fail() { echo "FAIL usability/$1: $2"; failed=$((failed + 1)); }
# first line of a text, shortened, for a FAIL reason
firstline() { head -n 1 <<<"$1" | cut -c 1-160; }
lines() { [ -z "$1" ] && echo 0 || grep -c '' <<<"$1"; }

# No BIMP_ variable of the caller's may reach the programs.
for v in $(compgen -e); do [[ $v == BIMP_* ]] && unset "$v"; done

# run [VAR=value...] <program> [args...]: runs it with LIB preloaded and the
# given variables; sets rc, out, err.
run() {
    local vars=()
    while [[ $# -gt 0 && $1 == *=* ]]; do vars+=("$1"); shift; done
    timeout 20 env LD_PRELOAD="$LIB" "${vars[@]}" "$@" >"$TMP/out" 2>"$TMP/err"
    rc=$?
    out=$(head -c 20000 "$TMP/out")
    err=$(head -c 20000 "$TMP/err")
}

# value_of <option>: the value BIMP_VERBOSE showed for it in $err
value_of() { sed -n "s/^bimp: $1 *= \((unset)\|[0-9]*\).*/\1/p" <<<"$err"; }

# relay <name> <output> <rc>: pass on a C test's PASS/FAIL lines.
relay() {
    local name=$1 text=$2 code=$3
    grep -E '^(PASS|FAIL) ' <<<"$text"
    failed=$((failed + $(grep -c '^FAIL ' <<<"$text")))
    if [ "$code" -ne 0 ] && ! grep -q '^FAIL ' <<<"$text"; then
        fail "$name" "exit status $code: $(firstline "$(grep -v '^PASS ' <<<"$text")")"
    elif ! grep -q '^PASS \|^FAIL ' <<<"$text"; then
        fail "$name" "reported nothing"
    fi
}

# --- Options ----------------------------------------------------------------

# The banner comes when the library is loaded, also for a program that
# never allocates (the README's way to check that Bimp is loaded).
run BIMP_VERBOSE=1 "$BIN/probe" none
[ $rc -eq 0 ] && grep -q "^bimp $VERSION: loaded" <<<"$err" && pass banner-without-allocation ||
    fail banner-without-allocation "exit status $rc, stderr '$(firstline "$err")'"

# BIMP_VERBOSE=1: the banner, then every option of the table with its value.
run BIMP_VERBOSE=1 "$BIN/probe" huge
why=""
[ "$(lines "$err")" -eq $((1 + $(lines "$OPTIONS"))) ] ||
    why="$(lines "$err") lines on stderr, wanted the banner and one per option"
[[ $(head -n 1 <<<"$err") == "bimp $VERSION: loaded; align "* ]] ||
    why="first line '$(firstline "$err")', wanted 'bimp $VERSION: loaded; align ...'"
for o in $OPTIONS; do
    v=$(value_of "$o")
    want=${DEFAULT[$o]-}
    [ "$o" = BIMP_VERBOSE ] && want=1
    if [ -z "$v" ]; then
        why=${why:-"no line 'bimp: $o = <value>'"}
    elif [ -n "$want" ] && [ "$v" != "$want" ]; then
        why=${why:-"$o shown as $v, default $want"}
    fi
done
[ $rc -eq 0 ] && [ "$out" = "hblks +0" ] || why=${why:-"exit status $rc, stdout '$(firstline "$out")'"}
[ -z "$why" ] && pass options-verbose || fail options-verbose "$why"

# Guard sampling is on unless the environment turns it off (tests/run does,
# for the tests that count blocks exactly): at 64 MiB.
err=$(timeout 20 env -u BIMP_GUARD_RATE BIMP_VERBOSE=1 LD_PRELOAD="$LIB" "$BIN/probe" none 2>&1 >/dev/null)
v=$(value_of BIMP_GUARD_RATE)
[ "$v" = 67108864 ] && pass options-guard-sampling-on-by-default ||
    fail options-guard-sampling-on-by-default "BIMP_GUARD_RATE shown as '$v', wanted 67108864"

# Nothing on stderr without BIMP_ variables.
run "$BIN/probe" huge
[ $rc -eq 0 ] && [ -z "$err" ] && pass options-quiet-by-default ||
    fail options-quiet-by-default "exit status $rc, stderr '$(firstline "$err")'"

# A good value takes effect: 100 KiB is huge with BIMP_MMAP_THRESHOLD=64k.
run BIMP_VERBOSE=1 BIMP_MMAP_THRESHOLD=64k "$BIN/probe" huge
if [ "$out" = "hblks +1" ] && [ "$(value_of BIMP_MMAP_THRESHOLD)" = 65536 ] &&
    ! grep -q ignoring <<<"$err"; then
    pass options-good-value-takes-effect
else
    fail options-good-value-takes-effect "stdout '$out' (wanted hblks +1), shown $(value_of BIMP_MMAP_THRESHOLD), stderr '$(grep -m1 ignoring <<<"$err")'"
fi

# Suffixes k, M, G in either case, zero, and each maximum itself.
why=""
for case in BIMP_TRIM_THRESHOLD=3M:3145728 BIMP_TRIM_THRESHOLD=2g:2147483648 \
    BIMP_TRIM_THRESHOLD=1024G:1099511627776 BIMP_TRIM_THRESHOLD=7:7 BIMP_PURGE_DELAY=0:0 \
    BIMP_PURGE_DELAY=3600000:3600000 BIMP_MMAP_THRESHOLD=128K:131072 \
    BIMP_MMAP_THRESHOLD=2048:2048 BIMP_SHOW_STATS=0:0; do
    assignment=${case%:*} want=${case##*:}
    run BIMP_VERBOSE=1 "$assignment" "$BIN/probe" huge
    got=$(value_of "${assignment%%=*}")
    if [ "$got" != "$want" ] || grep -q ignoring <<<"$err" || [ $rc -ne 0 ]; then
        why=${why:-"$assignment shown as '$got', wanted $want (exit status $rc, $(grep -c ignoring <<<"$err") warnings)"}
    fi
done
[ -z "$why" ] && pass options-suffixes-and-maxima || fail options-suffixes-and-maxima "$why"

# Each verbose option line stays readable with the longest value: the value,
# then at least one space, then what the option means.
run BIMP_VERBOSE=1 BIMP_TRIM_THRESHOLD=1024G "$BIN/probe" huge
line=$(grep -m1 '^bimp: BIMP_TRIM_THRESHOLD ' <<<"$err")
[[ $line =~ ^bimp:\ BIMP_TRIM_THRESHOLD\ +=\ 1099511627776\ +[a-z] ]] && pass options-verbose-long-value ||
    fail options-verbose-long-value "BIMP_TRIM_THRESHOLD=1024G shown as '$line': no space before the meaning"

# bad_value <name> <assignment...>: each is ignored with exactly one warning
# line (alone on stderr), and with BIMP_VERBOSE=1 the default is shown.
bad_value() {
    local name=$1 a o why=""
    shift
    for a in "$@"; do
        o=${a%%=*}
        run "$a" "$BIN/probe" huge
        if [ "$(lines "$err")" -ne 1 ] || [[ $err != "bimp: ignoring $a: "* ]] || [ $rc -ne 0 ]; then
            why=${why:-"$a: exit status $rc, stderr '$(firstline "$err")' ($(lines "$err") lines), wanted one 'bimp: ignoring $a: ...'"}
            continue
        fi
        [ "$o" = BIMP_VERBOSE ] && continue
        run BIMP_VERBOSE=1 "$a" "$BIN/probe" huge
        if [ "$(grep -c '^bimp: ignoring' <<<"$err")" -ne 1 ] || [ "$(value_of "$o")" != "${DEFAULT[$o]}" ]; then
            why=${why:-"$a with BIMP_VERBOSE=1: $(grep -c '^bimp: ignoring' <<<"$err") warnings, $o shown as '$(value_of "$o")', default ${DEFAULT[$o]}"}
        fi
    done
    [ -z "$why" ] && pass "$name" || fail "$name" "$why"
}
bad_value options-bad-value BIMP_PURGE_DELAY=abc BIMP_PURGE_DELAY=10x BIMP_PURGE_DELAY= \
    BIMP_PURGE_DELAY=-5 BIMP_PURGE_DELAY=' 5' BIMP_TRIM_THRESHOLD=1kk BIMP_TRIM_THRESHOLD=1KiB \
    BIMP_TRIM_THRESHOLD=99999999999999999999999 BIMP_TRIM_THRESHOLD=99999999999999G
bad_value options-out-of-range BIMP_PURGE_DELAY=3600001 BIMP_MMAP_THRESHOLD=131073 \
    BIMP_MMAP_THRESHOLD=1M BIMP_TRIM_THRESHOLD=1025G BIMP_VERBOSE=2 BIMP_SHOW_STATS=3
# The bad value really was not used: 100 KiB stays in a chunk.
run BIMP_MMAP_THRESHOLD=64kb "$BIN/probe" huge
[ "$out" = "hblks +0" ] && pass options-bad-value-not-used ||
    fail options-bad-value-not-used "BIMP_MMAP_THRESHOLD=64kb: stdout '$out', wanted hblks +0"

# Unknown BIMP_ names: one line each when close to an option's name (a
# typo), or with BIMP_VERBOSE=1; others are some other program's, silently.
why=""
for a in BIMP_VERBOSEX=1 BIMP_verbose=1 BIMP_PURGE_DELAI=5; do
    run "$a" "$BIN/probe" huge
    [ "$(lines "$err")" -eq 1 ] && [[ $err == "bimp: ignoring $a: "* ]] && [ $rc -eq 0 ] ||
        why=${why:-"$a: exit status $rc, stderr '$(firstline "$err")' ($(lines "$err") lines)"}
done
for a in BIMP_NOPE=1 BIMP_=1 BIMP_LIB=/usr/lib/libbimp.so; do
    run "$a" "$BIN/probe" huge
    [ -z "$err" ] && [ $rc -eq 0 ] || why=${why:-"$a, far from every option: exit status $rc, stderr '$(firstline "$err")'"}
done
run BIMP_NOPE=1 BIMP_PURGE_DELAY=abc BIMP_VERBOSE=1 "$BIN/probe" huge
[ "$(grep -c '^bimp: ignoring' <<<"$err")" -eq 2 ] && [ "$(value_of BIMP_VERBOSE)" = 1 ] ||
    why=${why:-"two bad variables and BIMP_VERBOSE=1: $(grep -c '^bimp: ignoring' <<<"$err") warnings, verbose '$(value_of BIMP_VERBOSE)'"}
# BIMP_VERBOSE before the unknown name in the environment, too
run BIMP_VERBOSE=1 BIMP_NOPE=1 "$BIN/probe" huge
grep -q '^bimp: ignoring BIMP_NOPE=1: not an option of Bimp$' <<<"$err" ||
    why=${why:-"BIMP_VERBOSE=1 BIMP_NOPE=1: no warning for BIMP_NOPE"}
# Warnings say what is accepted, and suggest the option a name is close to.
run BIMP_VERBSE=1 BIMP_MMAP_THRESHOLD=1M BIMP_SHOW_STATS=yes "$BIN/probe" huge
grep -q '^bimp: ignoring BIMP_VERBSE=1: not an option of Bimp (did you mean BIMP_VERBOSE?)$' <<<"$err" &&
    grep -q '^bimp: ignoring BIMP_MMAP_THRESHOLD=1M: out of range; from 0 to 131072 (k, M, G: powers of 1024), default kept$' <<<"$err" &&
    grep -q '^bimp: ignoring BIMP_SHOW_STATS=yes: not a number; from 0 to 2, text or json, default kept$' <<<"$err" ||
    why=${why:-"warnings without what is accepted or a suggestion: '$(tr '\n' '|' <<<"$err" | cut -c 1-300)'"}
# On/off options offer no size suffix; a value below an option's least is
# out of range; a number of seconds offers no suffix either.
run BIMP_PROFILE=2 BIMP_PROFILE_RATE=0 BIMP_PURGE_DELAY=x "$BIN/probe" huge
grep -q '^bimp: ignoring BIMP_PROFILE=2: out of range; 0 (off) or 1 (on), default kept$' <<<"$err" &&
    grep -q '^bimp: ignoring BIMP_PROFILE_RATE=0: out of range; from 1 to 1099511627776 (k, M, G: powers of 1024), default kept$' <<<"$err" &&
    grep -q '^bimp: ignoring BIMP_PURGE_DELAY=x: not a number; from 0 to 3600000, default kept$' <<<"$err" ||
    why=${why:-"on/off, zero rate, milliseconds: '$(tr '\n' '|' <<<"$err" | cut -c 1-400)'"}
# BIMP_DUMP_SIGNAL refuses the signals of faults and the kernel's.
run BIMP_DUMP_SIGNAL=11 "$BIN/probe" huge
grep -q '^bimp: ignoring BIMP_DUMP_SIGNAL=11: a signal the program' <<<"$err" && [ $rc -eq 0 ] ||
    why=${why:-"BIMP_DUMP_SIGNAL=11: exit status $rc, '$(firstline "$err")'"}
# A warning longer than Bimp's line buffer is cut, and still ends its line.
long=BIMP_$(printf 'X%.0s' $(seq 700))
run BIMP_VERBOSE=1 "$BIN/probe" huge
banner=$(lines "$err")
run BIMP_VERBOSE=1 "$long=1" BIMP_NOPE=1 "$BIN/probe" huge
[ "$(lines "$err")" -eq $((banner + 2)) ] && [ "$(grep -c '^bimp: ignoring' <<<"$err")" -eq 2 ] ||
    why=${why:-"a 700-character name and BIMP_NOPE: $(lines "$err") lines (the banner alone $banner), $(grep -c '^bimp: ignoring' <<<"$err") starting 'bimp: ignoring'"}
run NOT_BIMP=1 XBIMP_NOPE=1 "$BIN/probe" huge
[ -z "$err" ] || why=${why:-"variables not starting BIMP_ gave '$(firstline "$err")'"}
[ -z "$why" ] && pass options-unknown-name || fail options-unknown-name "$why"

# Setuid and setgid programs ignore BIMP_* (AT_SECURE).  ld.so ignores
# LD_PRELOAD of a library outside the system's directories in such programs,
# so this probe is linked against a copy of LIB (found through an absolute
# rpath, which ld.so honours), made setuid/setgid root and run as nobody.
# The same binary without the bits, run as nobody, must show the options.
setuid_checks() {
    local soname dir=$TMP/secure
    # the copy goes by the name the program will ask for: LIB's soname
    soname=$(readelf -d "$LIB" 2>/dev/null | sed -n 's/.*(SONAME).*\[\(.*\)\]/\1/p')
    mkdir -p "$dir/lib" && cp "$LIB" "$dir/lib/libbimp.so" &&
        { [ -z "$soname" ] || [ "$soname" = libbimp.so ] || ln -s libbimp.so "$dir/lib/$soname"; } &&
        chmod -R go+rX "$dir" || { fail options-setuid "cannot copy LIB to $dir"; return; }
    if ! out=$($CC -std=gnu11 -O1 -o "$dir/probe" "$HERE/probe.c" -L"$dir/lib" -lbimp \
        -Wl,-rpath,"$dir/lib" -ldl 2>&1); then
        fail options-setuid "cannot link the probe against LIB: $(firstline "$out")"
        return
    fi
    if [ "$(id -u)" -ne 0 ] || ! command -v setpriv >/dev/null; then
        echo "SKIP usability/options-setuid: needs root and setpriv to make a setuid program and run it as nobody"
        return
    fi
    cp "$dir/probe" "$dir/probe-setuid" && chmod 4755 "$dir/probe-setuid"
    cp "$dir/probe" "$dir/probe-setgid" && chown root:root "$dir/probe-setgid" && chmod 2755 "$dir/probe-setgid"
    local vars=(BIMP_VERBOSE=1 BIMP_SHOW_STATS=1 BIMP_MMAP_THRESHOLD=64k BIMP_NOPE=1)
    as_nobody() {
        timeout 20 setpriv --reuid=65534 --regid=65534 --clear-groups \
            env -u LD_PRELOAD "${vars[@]}" "$@" >"$TMP/out" 2>"$TMP/err"
        rc=$?
        out=$(head -c 20000 "$TMP/out")
        err=$(head -c 20000 "$TMP/err")
    }
    # the control: a plain program reads the options
    as_nobody "$dir/probe" id
    if [[ $out != "uid=65534 euid=65534 "*" secure=0 bimp=1 env=1" ]] ||
        [[ $err != *"bimp $VERSION: loaded"* ]] || ! grep -q '^bimp: ignoring BIMP_NOPE=1' <<<"$err"; then
        fail options-setuid-control "as nobody: exit status $rc, stdout '$out', stderr '$(firstline "$err")'"
        return
    fi
    pass options-setuid-control
    local kind
    for kind in setuid setgid; do
        as_nobody "$dir/probe-$kind" id
        if [[ $out != *" secure=1 bimp=1 env=1" ]]; then
            echo "SKIP usability/options-$kind: the $kind bit took no effect here (stdout '$out'); is $TMP on a nosuid file system?"
            continue
        fi
        local id=$out
        as_nobody "$dir/probe-$kind" huge
        if [ $rc -eq 0 ] && [ -z "$err" ] && [ "$out" = "hblks +0" ]; then
            pass "options-$kind-ignored"
        else
            fail "options-$kind-ignored" "($id) exit status $rc, stdout '$out', stderr '$(firstline "$err")' ($(lines "$err") lines): wanted hblks +0 and nothing on stderr"
        fi
    done
}
setuid_checks

# --- Statistics -------------------------------------------------------------

run "$BIN/stats"
relay stats "$out" $rc
[ -z "$err" ] || fail stats-stderr "stats wrote to stderr: '$(firstline "$err")'"

# check_block <text>: why the text is not one statistics block, or "".
check_block() {
    local text=$1
    if ! [[ "$(head -n 1 <<<"$text")" =~ ^bimp\ $VERSION:\ statistics\ of\ pid\ [0-9]+\ \(probe\)$ ]]; then
        echo "first line '$(firstline "$text")', wanted 'bimp $VERSION: statistics of pid N (probe)'"
    elif [ "$(grep -c ': statistics of pid ' <<<"$text")" -ne 1 ] || [ "$(grep -c '^bimp: verdict: ' <<<"$text")" -ne 1 ]; then
        echo "not exactly one block: $(grep -c ': statistics of pid ' <<<"$text") headers, $(grep -c '^bimp: verdict: ' <<<"$text") verdicts"
    elif ! tail -n 1 <<<"$text" | grep -Eq '^bimp: verdict: .* \([0-9]+% of frees popped a top\)$'; then
        echo "last line '$(tail -n 1 <<<"$text" | cut -c 1-120)', wanted 'bimp: verdict: ... (N% of frees popped a top)'"
    elif grep -qv '^bimp' <<<"$text"; then
        echo "a line not starting 'bimp': '$(grep -m1 -v '^bimp' <<<"$text")'"
    fi
}

# BIMP_SHOW_STATS=1: the block on stderr at exit, with the verdict the
# program's pattern earns.
# show_stats <name> <pattern> <verdict regex> <what>
show_stats() {
    local name=$1 pattern=$2 verdict=$3 what=$4 why
    run BIMP_SHOW_STATS=1 "$BIN/probe" "$pattern" 2000
    why=$(check_block "$err")
    if [ $rc -ne 0 ] || [ "$out" != "done" ]; then
        why="exit status $rc, stdout '$(firstline "$out")'"
    elif [ -z "$why" ] && ! grep -q "^bimp: verdict: $verdict" <<<"$err"; then
        why="verdict '$(tail -n 1 <<<"$err")', wanted $what"
    fi
    [ -z "$why" ] && pass "$name" || fail "$name" "$why"
}
show_stats show-stats-at-exit lifo \
    'stack-shaped: nearly every free popped the top of a stack (\(9[0-9]\|100\)% ' \
    "stack-shaped for 2000 LIFO malloc/free pairs"
show_stats show-stats-verdict-not-stack-shaped fifo \
    'not stack-shaped: reuse below the tops did the work ([0-9]% ' \
    "not stack-shaped for 2000 blocks freed first-in first-out"

# BIMP_SHOW_STATS keeps no descriptor open: the program's first open gets
# fd 3, and the report goes to stderr at exit, never into the program's file.
run BIMP_SHOW_STATS=1 "$BIN/probe" open "$TMP/program-file"
why=$(check_block "$err")
if [ $rc -ne 0 ] || [ "$out" != "fd 3" ]; then
    why="exit status $rc, stdout '$(firstline "$out")' (wanted fd 3)"
elif [ "$(cat "$TMP/program-file")" != data ]; then
    why="the program's file holds '$(head -c 60 "$TMP/program-file" | head -n 1)...'"
fi
[ -z "$why" ] && pass show-stats-keeps-no-descriptor || fail show-stats-keeps-no-descriptor "$why"

# BIMP_STATS_FILE: the report goes to a file per process (%p: the pid), and
# nothing to stderr.
run BIMP_SHOW_STATS=1 BIMP_STATS_FILE="$TMP/stats.%p.txt" "$BIN/probe" lifo 100
files=$(ls "$TMP"/stats.*.txt 2>/dev/null)
why=""
if [ $rc -ne 0 ] || [ -n "$err" ] || [ "$(lines "$files")" -ne 1 ]; then
    why="exit status $rc, stderr '$(firstline "$err")', files: $(echo $files)"
else
    pid=${files##*/stats.}
    pid=${pid%.txt}
    why=$(check_block "$(cat "$files")")
    [ -z "$why" ] && ! head -n 1 "$files" | grep -q " of pid $pid (probe)$" && why="file for pid $pid: '$(head -n 1 "$files")'"
fi
[ -z "$why" ] && pass stats-file-per-process || fail stats-file-per-process "$why"

# A file named alone turns its report on (the text statistics, the
# profile); with the report turned off by name, the file stays unwritten.
run BIMP_STATS_FILE="$TMP/alone.%p" BIMP_PROFILE_FILE="$TMP/palone.%p" "$BIN/probe" lifo 100
why=""
[ $rc -eq 0 ] && [ -z "$err" ] || why="exit status $rc, stderr '$(firstline "$err")'"
[ -z "$why" ] && why=$(check_block "$(cat "$TMP"/alone.* 2>/dev/null)")
[ -z "$why" ] && ! grep -q '^bimp [0-9.]*: heap profile of pid' "$TMP"/palone.*[0-9] 2>/dev/null &&
    why="BIMP_PROFILE_FILE alone wrote no profile: $(ls "$TMP" | tr '\n' ' ')"
run BIMP_SHOW_STATS=0 BIMP_STATS_FILE="$TMP/off.%p" "$BIN/probe" lifo 100
[ -z "$why" ] && ls "$TMP"/off.* >/dev/null 2>&1 && why="BIMP_SHOW_STATS=0 with a file wrote one"
[ -z "$why" ] && pass report-file-alone-turns-it-on || fail report-file-alone-turns-it-on "$why"

# BIMP_PROGRAM: a program started through a shell reports alone (bash,
# preloaded too, says nothing); a name no process has: no report at all.
run BIMP_SHOW_STATS=1 BIMP_PROGRAM=probe bash -c '"$1" lifo 100; true' bash "$BIN/probe"
why=$(check_block "$err")
[ $rc -ne 0 ] && why="exit status $rc"
[ -z "$why" ] && pass program-reports-alone || fail program-reports-alone "$why"
run BIMP_SHOW_STATS=1 BIMP_PROFILE=1 BIMP_PROGRAM=no-such-program bash -c '"$1" lifo 100; true' bash "$BIN/probe"
if [ $rc -eq 0 ] && [ -z "$err" ]; then
    pass program-other-reports-nothing
else
    fail program-other-reports-nothing "exit status $rc, stderr '$(firstline "$err")'"
fi
run BIMP_SHOW_STATS=1 bash -c '"$1" lifo 100; true' bash "$BIN/probe"
n=$(grep -c ': statistics of pid ' <<<"$err")
[ $rc -eq 0 ] && [ "$n" -eq 2 ] && pass program-unset-reports-all || fail program-unset-reports-all "exit status $rc, $n reports (wanted bash's and probe's)"

# BIMP_SHOW_STATS=json: one line, a JSON object that a standard parser reads,
# with pid, program, every option and every field of struct bimp_stats.
run BIMP_SHOW_STATS=json "$BIN/probe" lifo 100
why=$(python3 -c '
import json, sys
lines = sys.argv[1].splitlines()
if len(lines) != 1:
    sys.exit("%d lines on stderr" % len(lines))
d = json.loads(lines[0])
if d.get("bimp") != sys.argv[2] or d.get("program") != "probe" or not isinstance(d.get("pid"), int):
    sys.exit("header fields %r" % {k: d.get(k) for k in ("bimp", "program", "pid")})
if sorted(d["options"]) != sorted(sys.argv[3].split()):
    sys.exit("options %s" % sorted(d["options"]))
if sorted(d["stats"]) != sorted(sys.argv[4].split()):
    sys.exit("stats fields %s" % sorted(d["stats"]))
if d["options"]["BIMP_SHOW_STATS"] != 2 or d["stats"]["allocations"] < 100:
    sys.exit("values %r %r" % (d["options"]["BIMP_SHOW_STATS"], d["stats"]["allocations"]))
' "$err" "$VERSION" "$OPTIONS" "$FIELDS" 2>&1)
[ $rc -eq 0 ] && [ -z "$why" ] && pass stats-json || fail stats-json "exit status $rc; $(firstline "$why")"

# bimp_print_stats(fd) writes the same block (same lines, same labels) as
# BIMP_SHOW_STATS writes at exit (but the size histogram's rows, which
# grow as the program goes on).
no_sizes() { grep -v '^bimp:   up to \|^bimp: sizes requested' <<<"$1" | cut -c 1-40 | sed '$d'; }
run BIMP_SHOW_STATS=1 "$BIN/probe" print "$TMP/printed"
printed=$(cat "$TMP/printed" 2>/dev/null)
why=$(check_block "$printed")
if [ $rc -ne 0 ] || [ "$out" != "done" ]; then
    why="exit status $rc, stdout '$(firstline "$out")'"
elif [ -z "$why" ] && [ "$(no_sizes "$printed")" != "$(no_sizes "$err")" ]; then
    why="labels differ from BIMP_SHOW_STATS's: $(diff <(no_sizes "$printed") <(no_sizes "$err") | grep -m1 '^[<>]')"
fi
[ -z "$why" ] && pass print-stats-to-file || fail print-stats-to-file "$why"

# --- Linking against the build tree -------------------------------------------

# `cc prog.c -L. -lbimp -Wl,-rpath,$PWD` gives a program that starts: the
# build tree has the soname link (libbimp.so.MAJOR) too.
if out=$($CC -std=gnu11 -Wall -Wextra -Werror -I"$ROOT" -o "$TMP/buildtree" "$HERE/installed.c" \
    -L"$ROOT" -lbimp -Wl,-rpath,"$ROOT" -ldl 2>&1); then
    out=$(timeout 20 "$TMP/buildtree" buildtree "$ROOT" 2>&1)
    relay install-buildtree-program "$out" $?
else
    fail install-buildtree-program "cannot build against the build tree: $(firstline "$out")"
fi

# --- heaptrack and Bimp together ------------------------------------------------

# heaptrack puts its own preload in front of LD_PRELOAD and passes every call
# on to the next malloc: Bimp's.  Both must see the program's allocations
# (sort closes its stderr before exit, so Bimp's report goes to a file).
if command -v heaptrack >/dev/null && command -v heaptrack_print >/dev/null; then
    seq 20000 | sort -R >"$TMP/numbers"
    LD_PRELOAD=$LIB BIMP_SHOW_STATS=1 BIMP_STATS_FILE="$TMP/ht-stats.%p" \
        timeout 60 heaptrack -o "$TMP/ht" sort -n "$TMP/numbers" -o "$TMP/sorted" >"$TMP/ht.log" 2>&1
    data=$(ls "$TMP"/ht.zst "$TMP"/ht.gz 2>/dev/null | head -n 1)
    calls=$(heaptrack_print "$data" 2>/dev/null | sed -n 's/^calls to allocation functions: \([0-9]*\).*/\1/p')
    ours=$(grep -h -A1 ' (sort)$' "$TMP"/ht-stats.* 2>/dev/null | sed -n 's/^bimp:   allocations *\([0-9]*\).*/\1/p')
    if [ "${calls:-0}" -gt 0 ] && [ "${ours:-0}" -ge "$calls" ] && cmp -s "$TMP/sorted" <(sort -n "$TMP/numbers"); then
        pass heaptrack-with-bimp
    else
        fail heaptrack-with-bimp "heaptrack counted '${calls}' allocations, Bimp '${ours}': $(tail -n 1 "$TMP/ht.log")"
    fi
else
    echo "SKIP usability/heaptrack-with-bimp: heaptrack is not installed (tests/install-deps installs it)"
fi

# --- glibc's statistics interfaces --------------------------------------------

run "$BIN/glibc"
relay glibc "$out" $rc

# --- make install / uninstall -------------------------------------------------

DEST=$TMP/dest
install_checks() {
    local log=$TMP/install.log lib=$DEST/usr/lib why=""
    if ! make -s -C "$ROOT" install DESTDIR="$DEST" PREFIX=/usr >"$log" 2>&1; then
        fail install "make install failed: $(grep -m1 -i error "$log" || tail -n 1 "$log")"
        return
    fi
    local want got
    want=$(printf '%s\n' usr/include/bimp.h usr/lib/libbimp.a usr/lib/libbimp.so \
        usr/lib/libbimp.so.$MAJOR usr/lib/libbimp.so.$VERSION usr/lib/pkgconfig/bimp.pc \
        usr/lib/libbimp-prefixed.so usr/lib/libbimp-prefixed.so.$MAJOR \
        usr/lib/libbimp-prefixed.so.$VERSION usr/lib/pkgconfig/bimp-prefixed.pc \
        usr/share/man/man3/bimp.3 | sort)
    got=$(cd "$DEST" && find . ! -type d | sed 's,^\./,,' | sort)
    [ "$got" = "$want" ] || why="installed '$(tr '\n' ' ' <<<"$got")', wanted '$(tr '\n' ' ' <<<"$want")'"
    [ -z "$why" ] && [ "$(readlink "$lib/libbimp.so")" != "libbimp.so.$VERSION" ] &&
        why="libbimp.so -> '$(readlink "$lib/libbimp.so")', wanted libbimp.so.$VERSION"
    [ -z "$why" ] && [ "$(readlink "$lib/libbimp.so.$MAJOR")" != "libbimp.so.$VERSION" ] &&
        why="libbimp.so.$MAJOR -> '$(readlink "$lib/libbimp.so.$MAJOR")', wanted libbimp.so.$VERSION"
    [ -z "$why" ] && [ -L "$lib/libbimp.so.$VERSION" ] && why="libbimp.so.$VERSION is a symlink"
    [ -z "$why" ] && [ "$(readlink "$lib/libbimp-prefixed.so.$MAJOR")" != "libbimp-prefixed.so.$VERSION" ] &&
        why="libbimp-prefixed.so.$MAJOR -> '$(readlink "$lib/libbimp-prefixed.so.$MAJOR")'"
    [ -z "$why" ] && ! objdump -p "$lib/libbimp-prefixed.so.$VERSION" | grep -q "SONAME *libbimp-prefixed.so.$MAJOR\$" &&
        why="libbimp-prefixed.so's soname: $(objdump -p "$lib/libbimp-prefixed.so.$VERSION" | grep SONAME)"
    local soname
    soname=$(readelf -d "$lib/libbimp.so.$VERSION" 2>/dev/null | sed -n 's/.*(SONAME).*\[\(.*\)\]/\1/p')
    [ -z "$why" ] && [ "$soname" != "libbimp.so.$MAJOR" ] && why="soname '$soname', wanted libbimp.so.$MAJOR"
    local modes
    modes=$(cd "$DEST/usr" && stat -c '%a %n' lib/libbimp.so.$VERSION lib/libbimp.a include/bimp.h \
        lib/pkgconfig/bimp.pc share/man/man3/bimp.3 2>&1 | tr '\n' ' ')
    [ -z "$why" ] && [ "$modes" != "755 lib/libbimp.so.$VERSION 644 lib/libbimp.a 644 include/bimp.h 644 lib/pkgconfig/bimp.pc 644 share/man/man3/bimp.3 " ] &&
        why="modes: $modes"
    [ -z "$why" ] && ! cmp -s "$DEST/usr/include/bimp.h" "$ROOT/bimp.h" && why="installed bimp.h differs"
    [ -z "$why" ] && ! nm "$lib/libbimp.a" 2>/dev/null | grep -q ' T bimp_stats$' && why="libbimp.a defines no bimp_stats"
    [ -z "$why" ] && pass install-files || fail install-files "$why"

    # pkg-config finds it, with the prefix and version substituted.
    why=""
    local pc=$lib/pkgconfig/bimp.pc flags
    grep -qx 'prefix=/usr' "$pc" && grep -qx "Version: $VERSION" "$pc" && ! grep -q '@' "$pc" ||
        why="bimp.pc: '$(grep -m1 -e '^prefix=' -e '@' "$pc")'"
    export PKG_CONFIG_PATH=$lib/pkgconfig PKG_CONFIG_LIBDIR=$lib/pkgconfig PKG_CONFIG_SYSROOT_DIR=$DEST \
        PKG_CONFIG_ALLOW_SYSTEM_CFLAGS=1 PKG_CONFIG_ALLOW_SYSTEM_LIBS=1
    local mv
    mv=$(pkg-config --modversion bimp 2>&1)
    [ -z "$why" ] && [ "$mv" != "$VERSION" ] && why="pkg-config --modversion bimp: '$mv'"
    flags=$(pkg-config --cflags --libs bimp 2>&1)
    [ -z "$why" ] && [ "$(echo $flags)" != "-I$DEST/usr/include -L$DEST/usr/lib -lbimp" ] &&
        why="pkg-config --cflags --libs bimp: '$flags'"
    [ -z "$why" ] && pass install-pkg-config || fail install-pkg-config "$why"

    # A program built with those flags runs on the installed library.
    # shellcheck disable=SC2086
    if out=$($CC -std=gnu11 -Wall -Wextra -Werror -o "$TMP/installed-shared" "$HERE/installed.c" \
        $flags -ldl 2>&1); then
        out=$(LD_LIBRARY_PATH=$lib timeout 20 "$TMP/installed-shared" shared "$lib" 2>&1)
        relay install-shared-program "$out" $?
    else
        fail install-shared-program "cannot build with '$flags': $(firstline "$out")"
    fi
    # The prefixed library: its own pkg-config entry, used beside glibc's malloc.
    pflags=$(pkg-config --cflags --libs bimp-prefixed 2>&1)
    # shellcheck disable=SC2086
    if out=$($CC -std=gnu11 -Wall -Wextra -Werror -o "$TMP/installed-prefixed" "$HERE/prefixed.c" \
        $pflags -ldl 2>&1); then
        out=$(LD_LIBRARY_PATH=$lib timeout 20 "$TMP/installed-prefixed" "$lib" 2>&1)
        relay install-prefixed-program "$out" $?
        out=$(LD_LIBRARY_PATH=$lib timeout 20 "$TMP/installed-prefixed" "$lib" double-free 2>&1)
        rc=$?
        [ $rc -eq 134 ] && [[ $(firstline "$out") =~ ^bimp:\ double\ free\ of\ 0x[0-9a-f]+\ \(in\ bimp_free\)$ ]] &&
            pass prefixed-message-names-bimp-free ||
            fail prefixed-message-names-bimp-free "exit status $rc, '$(firstline "$out")'"
    else
        fail install-prefixed-program "cannot build with '$pflags': $(firstline "$out")"
    fi
    # ... and one linked with libbimp.a has Bimp's malloc of its own.
    # shellcheck disable=SC2046
    if out=$($CC -std=gnu11 -Wall -Wextra -Werror -o "$TMP/installed-static" "$HERE/installed.c" \
        $(pkg-config --cflags bimp) "$lib/libbimp.a" -pthread -ldl 2>&1); then
        out=$(timeout 20 "$TMP/installed-static" static 2>&1)
        relay install-static-program "$out" $?
    else
        fail install-static-program "cannot build with libbimp.a: $(firstline "$out")"
    fi
    unset PKG_CONFIG_PATH PKG_CONFIG_LIBDIR PKG_CONFIG_SYSROOT_DIR PKG_CONFIG_ALLOW_SYSTEM_CFLAGS \
        PKG_CONFIG_ALLOW_SYSTEM_LIBS

    # The installed manual page renders, without warnings, and documents
    # every option of src/options.h's list and every field of struct bimp_stats.
    why=""
    local page=$DEST/usr/share/man/man3/bimp.3 text warnings missing=""
    text=$(MANWIDTH=80 man -l "$page" 2>"$TMP/man.err")
    warnings=$(cat "$TMP/man.err"; groff -man -ww -z "$page" 2>&1)
    if [ -n "$warnings" ]; then
        why="warnings: $(firstline "$warnings")"
    elif [ "$(lines "$text")" -lt 100 ] || ! grep -q '^NAME' <<<"$text"; then
        why="man -l rendered $(lines "$text") lines"
    fi
    local wide # without hyphenation, so that no name is split
    wide=$(MANWIDTH=200 man --nh --nj -l "$page" 2>/dev/null)
    for w in $OPTIONS $FIELDS bimp_stats bimp_print_stats M_MMAP_THRESHOLD M_TRIM_THRESHOLD \
        "double free of" "invalid pointer" "use of freed block" "wrong size for" \
        "wrong alignment for" BIMP_ALIGN BIMP_SET_ERRNO BIMP_SINGLE_THREADED BIMP_DEBUG BIMP_PREFIX; do
        grep -q -- "$w" <<<"$wide" || missing="$missing $w"
    done
    [ -z "$why" ] && [ -n "$missing" ] && why="does not mention:$missing"
    [ -z "$why" ] && ! grep -q "^\.TH BIMP 3 .*\"Bimp $VERSION\"" "$page" &&
        why="its .TH line does not say Bimp $VERSION: '$(grep -m1 '^\.TH' "$page")'"
    [ -z "$why" ] && pass install-man-page || fail install-man-page "$why"

    # make uninstall takes away every file it put there.
    if ! make -s -C "$ROOT" uninstall DESTDIR="$DEST" PREFIX=/usr >"$log" 2>&1; then
        fail uninstall "make uninstall failed: $(tail -n 1 "$log")"
    elif [ -n "$(find "$DEST" ! -type d)" ]; then
        fail uninstall "left $(find "$DEST" ! -type d | sed "s,^$DEST/,," | tr '\n' ' ')"
    else
        pass uninstall
    fi
}
install_checks

[ $failed -eq 0 ]

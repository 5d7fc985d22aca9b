#!/usr/bin/env bash
# tests/examples.sh LIB - the programs in examples/ build against the build
# tree and do what the README shows: the arena server answers every query
# of examples/requests.txt; stats counts its 10,000 allocations and frees;
# the heap profile finds leak.c's leak, by file and line through jeprof
# (SKIP without it); the check mode finds each of bugs.c's bugs, and with
# no bug changes nothing the program prints.  One PASS/FAIL/SKIP line per
# example.
set -u
LIB=$1
HERE=$(cd "$(dirname "$0")" && pwd)
EX=$HERE/../examples
TMP=$(mktemp -d) && trap 'rm -rf "$TMP"' EXIT
if ! out=$(make -s -C "$EX" 2>&1); then
    echo "FAIL examples/build: $(head -c 300 <<<"$out")"
    exit 1
fi

out=$("$EX/arena-server" <"$EX/requests.txt" 2>"$TMP/err")
want='user: ada
shell: -
lang: c
owner: root
mode: 0644
nothing: -
z: 3
y: 2
x: 1
w: -'
[ "$out" = "$want" ] && grep -q '^arena-server: [0-9]* arena allocations, 15 releases, 0 arenas left$' "$TMP/err" &&
    echo "PASS examples/arena-server" || echo "FAIL examples/arena-server: '$(tr '\n' '|' <<<"$out")' $(cat "$TMP/err")"

out=$(BIMP_GUARD_RATE=0 "$EX/stats") # pops + frees below = 10,000 exactly: no guarded block
allocs=$(sed -n 's/^allocations: *//p' <<<"$out") frees=$(sed -n 's/^frees: *//p' <<<"$out")
pops=$(sed -n 's/^popped a top: *//p' <<<"$out") below=$(sed -n 's/^below the top: *//p' <<<"$out")
[ "$allocs" = 10000 ] && [ "$frees" = 10000 ] && [ $((pops + below)) = 10000 ] && [ "$below" -ge 1 ] &&
    echo "PASS examples/stats" || echo "FAIL examples/stats: $(tr '\n' '|' <<<"$out")"

line=$(grep -n 'the leak: never freed' "$EX/leak.c" | cut -d: -f1)
BIMP_PROFILE_FILE="$TMP/leak" BIMP_PROFILE_RATE=64k LD_PRELOAD=$LIB "$EX/leak"
total=$(sed -n 's/^bimp: live now.*by call stack: \([0-9.]*\) MiB.*/\1/p' "$TMP/leak")
if ! awk -v t="${total:-0}" 'BEGIN { exit !(t * 1048576 > 0.7 * 5600000 && t * 1048576 < 1.3 * 5600000) }'; then
    echo "FAIL examples/leak: the profile says '${total}' MiB live, truly 5.3 MiB"
elif ! command -v jeprof >/dev/null; then
    echo "SKIP examples/leak: jeprof is not installed (tests/install-deps installs it)"
else
    top=$(jeprof --text --lines "$EX/leak" "$TMP/leak.heap" 2>/dev/null | grep -m1 '%.*%.*%')
    [[ $top == *"make_list"*"examples/leak.c:$line"* ]] && echo "PASS examples/leak" ||
        echo "FAIL examples/leak: jeprof's top row '$top', wanted make_list at leak.c:$line"
fi

want=$("$EX/bugs" none 300000)
got=$(BIMP_CHECK=1 LD_PRELOAD=$LIB "$EX/bugs" none 300000 2>"$TMP/err")
[ "$got" = "$want" ] && [ ! -s "$TMP/err" ] && echo "PASS examples/bugs/none" ||
    echo "FAIL examples/bugs/none: '$got' (without Bimp '$want'), stderr '$(head -n 1 "$TMP/err")'"
for bug in "overflow:overflow past the end of:copy_word" "use-after-free:write after free to:count" \
    "double-free:double free of:count"; do
    IFS=: read -r name what made <<<"$bug"
    { BIMP_CHECK=1 LD_PRELOAD=$LIB "$EX/bugs" "$name" 300000 >/dev/null 2>"$TMP/err"; } 2>/dev/null
    rc=$?
    if [ $rc -eq 134 ] && [[ $(head -n 1 "$TMP/err") == "bimp: $what 0x"* ]] &&
        grep -q "^bimp:   allocated at $made <- " "$TMP/err"; then
        echo "PASS examples/bugs/$name"
    else
        echo "FAIL examples/bugs/$name: status $rc, stderr '$(head -n 3 "$TMP/err" | tr '\n' '|')'"
    fi
done

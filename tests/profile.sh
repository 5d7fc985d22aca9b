#!/usr/bin/env bash
# tests/profile.sh LIB VARIANT - the heap profile (BIMP_PROFILE) on
# tests/build/profile, whose leak (leak_here, at a known line of profile.c)
# and non-LIFO call site (fifo_here) are known.  Both must top their tables
# with the right bytes and blocks (within 30%: one sample per 32 KiB leaves
# some 16% of sampling error on the leak's 256 samples), by name, in the
# text report and the folded files; jeprof (jemalloc) and google-pprof
# (gperftools) must read the .heap files and name the leak's file and line
# with its bytes, and --collapsed must parse.  Off, the profile prints
# nothing.  One PASS/FAIL/SKIP line per check.
# needs-packages: libjemalloc-dev google-perftools
set -u
LIB=$1 VARIANT=$2
HERE=$(cd "$(dirname "$0")" && pwd)
PROG=$HERE/build/profile
TMP=$(mktemp -d) && trap 'rm -rf "$TMP"' EXIT
LEAK_LINE=$(grep -n 'malloc(4096)' "$HERE/profile.c" | cut -d: -f1)

out=$(BIMP_PROFILE=1 BIMP_PROFILE_RATE=32k BIMP_PROFILE_FILE="$TMP/prof.%p" LD_PRELOAD=$LIB "$PROG" 2>"$TMP/err")
rc=$?
report=$(ls "$TMP"/prof.* 2>/dev/null | grep -Ev 'folded|heap' | head -n 1)
echo "$out" >"$TMP/truth"
why=$(python3 - "$TMP/truth" "$report" <<'PY' 2>&1
import re, sys
truth = {k: int(v) for k, v in re.findall(r"(leaked|below) (\d+)", open(sys.argv[1]).read())}
blocks = {"leaked": truth["leaked"] // 4096, "below": truth["below"] // 1000}
units = {"B": 1, "KiB": 1 << 10, "MiB": 1 << 20, "GiB": 1 << 30, "": 1, "k": 1e3, "M": 1e6, "G": 1e9}
def section(text, title):
    lines = text.split("\n")
    start = next(i for i, l in enumerate(lines) if l.startswith("bimp: " + title))
    rows = []
    for l in lines[start + 1:]:
        m = re.match(r"bimp:   ([\d.]+) (B|KiB|MiB|GiB) +\d+%  ([\d.]+) ?(k|M|G|) blocks +(.*)", l)
        if not m:
            break
        rows.append((float(m.group(1)) * units[m.group(2)], float(m.group(3)) * units[m.group(4)], m.group(5)))
    return rows
def near(got, want):
    return abs(got - want) <= 0.3 * want
text = open(sys.argv[2]).read()
if not re.match(r"bimp \S+: heap profile of pid \d+ \(profile\), one sample per 32.0 KiB", text):
    sys.exit("header: " + text.split("\n")[0])
for title, fn, key in (("live now", "leak_here", "leaked"), ("freed below a top", "fifo_here", "below")):
    rows = section(text, title)
    if not rows or not rows[0][2].startswith(fn + " <- main"):
        sys.exit("%s: top stack %r, wanted %s <- main" % (title, rows[0][2] if rows else None, fn))
    if not near(rows[0][0], truth[key]) or not near(rows[0][1], blocks[key]):
        sys.exit("%s: %s has %.0f bytes in %.0f blocks, truly %d in %d" % (title, fn, rows[0][0], rows[0][1], truth[key], blocks[key]))
    if any("lifo_here" in r[2] for r in rows) and title == "freed below a top":
        sys.exit("lifo_here freed below a top")
for suffix, fn, key in ((".live.folded", "leak_here", "leaked"), (".below.folded", "fifo_here", "below")):
    lines = open(sys.argv[2] + suffix).read().splitlines()
    if not lines or not all(re.fullmatch(r"[^ ;]+(;[^ ;]+)* \d+", l) for l in lines):
        sys.exit("%s does not parse: %r" % (suffix, lines[:2]))
    ours = [int(l.rsplit(" ", 1)[1]) for l in lines if l.rsplit(" ", 1)[0].split(";")[-2:] == ["main", fn]]
    if not ours or not near(ours[0], truth[key]):
        sys.exit("%s: %s %r, truly %s" % (suffix, fn, ours, truth[key]))
PY
)
if [ $rc -ne 0 ] || [ -z "$report" ] || [ -n "$why" ]; then
    echo "FAIL $VARIANT/profile/leak-and-non-lifo-site: exit status $rc, $(head -c 300 <<<"$why")"
else
    echo "PASS $VARIANT/profile/leak-and-non-lifo-site"
fi

# The standard tools: file and line of the leak, its bytes, the call site
# freed below a top from the second profile, and collapsed stacks.
for tool in jeprof google-pprof; do
    if ! command -v $tool >/dev/null; then
        echo "SKIP $VARIANT/profile/$tool: $tool is not installed (apt-get install libjemalloc-dev google-perftools)"
        continue
    fi
    live=$($tool --text --lines "$PROG" "$report.heap" 2>/dev/null)
    below=$($tool --text "$PROG" "$report.below.heap" 2>/dev/null)
    folded=$($tool --collapsed "$PROG" "$report.heap" 2>/dev/null)
    why=$(python3 - "$TMP/truth" "$LEAK_LINE" "$live" "$below" "$folded" <<'PY' 2>&1
import re, sys
truth = {k: int(v) for k, v in re.findall(r"(leaked|below) (\d+)", open(sys.argv[1]).read())}
line, live, below, folded = sys.argv[2:]
def top(text):  # the first row: flat MB, function and the rest
    m = re.search(r"^ *([\d.]+) +[\d.]+% +[\d.]+% +[\d.]+ +[\d.]+% (\S+)(.*)$", text, re.M)
    return (float(m.group(1)) * 1e6, m.group(2), m.group(3)) if m else (0, None, text[:200])
mb, fn, rest = top(live)
if fn != "leak_here" or not re.search(r"tests/profile\.c:%s\b" % line, rest):
    sys.exit("--lines: top row %r %r, wanted leak_here at profile.c:%s" % (fn, rest, line))
if abs(mb - truth["leaked"]) > 0.3 * truth["leaked"] + 0.05e6:
    sys.exit("--lines: %.0f bytes, truly %d" % (mb, truth["leaked"]))
mb, fn, rest = top(below)
if fn != "fifo_here" or abs(mb - truth["below"]) > 0.3 * truth["below"] + 0.05e6:
    sys.exit("below: top row %r with %.0f bytes, wanted fifo_here with %d" % (fn, mb, truth["below"]))
rows = folded.splitlines()
if not rows or not all(re.fullmatch(r"[^ ]+(;[^ ]+)* \d+", r) for r in rows):
    sys.exit("--collapsed does not parse: %r" % rows[:2])
if not any(re.search(r";leak_here(<[0-9a-f]+>)? [1-9]", r) for r in rows):
    sys.exit("--collapsed: no leak_here with bytes: %r" % rows[:3])
PY
)
    [ -z "$why" ] && echo "PASS $VARIANT/profile/$tool" || echo "FAIL $VARIANT/profile/$tool: $(head -c 400 <<<"$why")"
done

# Off (the default), nothing is reported.
err=$(LD_PRELOAD=$LIB "$PROG" 2>&1 >/dev/null)
[ -z "$err" ] && echo "PASS $VARIANT/profile/off-says-nothing" ||
    echo "FAIL $VARIANT/profile/off-says-nothing: '$(head -n 1 <<<"$err")'"

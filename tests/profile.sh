#!/usr/bin/env bash
# tests/profile.sh LIB VARIANT - the heap profile (BIMP_PROFILE) on
# tests/build/profile, whose leak (leak_here) and non-LIFO call site
# (fifo_here) are known: both must top their tables with the right bytes
# (within 30%: one sample per 32 KiB leaves some 16% of sampling error on
# the leak's 256 samples), and the folded files must parse.  Off, the
# profile prints nothing.  One PASS/FAIL line per check.
set -u
LIB=$1 VARIANT=$2
HERE=$(cd "$(dirname "$0")" && pwd)
TMP=$(mktemp -d) && trap 'rm -rf "$TMP"' EXIT

out=$(BIMP_PROFILE=1 BIMP_PROFILE_RATE=32k BIMP_PROFILE_FILE="$TMP/prof.%p" LD_PRELOAD=$LIB \
    "$HERE/build/profile" 2>"$TMP/err")
rc=$?
report=$(ls "$TMP"/prof.* 2>/dev/null | grep -v folded | head -n 1)
why=$(python3 - "$out" "$report" <<'PY' 2>&1
import re, sys
truth = dict(re.findall(r"(leaked|below) (\d+)", sys.argv[1]))
units = {"B": 1, "KiB": 1 << 10, "MiB": 1 << 20, "GiB": 1 << 30}
def section(text, title):
    lines = text.split("\n")
    start = next(i for i, l in enumerate(lines) if l.startswith("bimp: " + title))
    rows = []
    for l in lines[start + 1:]:
        m = re.match(r"bimp:   ([\d.]+) (B|KiB|MiB|GiB) +\d+%  (.*)", l)
        if not m:
            break
        rows.append((float(m.group(1)) * units[m.group(2)], m.group(3)))
    return rows
text = open(sys.argv[2]).read()
if not re.match(r"bimp \S+: heap profile of pid \d+ \(profile\), one sample per 32.0 KiB", text):
    sys.exit("header: " + text.split("\n")[0])
for title, fn, key in (("live now", "leak_here", "leaked"), ("freed below a top", "fifo_here", "below")):
    rows = section(text, title)
    if not rows or not rows[0][1].startswith(fn + "+0x"):
        sys.exit("%s: top stack %r, wanted %s" % (title, rows[0][1] if rows else None, fn))
    want = int(truth[key])
    if abs(rows[0][0] - want) > 0.3 * want:
        sys.exit("%s: %s has %.0f bytes, truly %d" % (title, fn, rows[0][0], want))
    if any("lifo_here" in r[1] for r in rows) and title == "freed below a top":
        sys.exit("lifo_here freed below a top")
for suffix, fn, key in ((".live.folded", "leak_here", "leaked"), (".below.folded", "fifo_here", "below")):
    lines = open(sys.argv[2] + suffix).read().splitlines()
    if not lines or not all(re.fullmatch(r"[^ ;]+(;[^ ;]+)* \d+", l) for l in lines):
        sys.exit("%s does not parse: %r" % (suffix, lines[:2]))
    ours = [int(l.rsplit(" ", 1)[1]) for l in lines if l.rsplit(" ", 1)[0].split(";")[-1].startswith(fn + "+0x")]
    if not ours or abs(ours[0] - int(truth[key])) > 0.3 * int(truth[key]):
        sys.exit("%s: %s %r, truly %s" % (suffix, fn, ours, truth[key]))
PY
)
if [ $rc -ne 0 ] || [ -z "$report" ] || [ -n "$why" ]; then
    echo "FAIL $VARIANT/profile/leak-and-non-lifo-site: exit status $rc, $(head -c 300 <<<"$why")"
else
    echo "PASS $VARIANT/profile/leak-and-non-lifo-site"
fi

# Off (the default), nothing is reported.
err=$(LD_PRELOAD=$LIB "$HERE/build/profile" 2>&1 >/dev/null)
[ -z "$err" ] && echo "PASS $VARIANT/profile/off-says-nothing" ||
    echo "FAIL $VARIANT/profile/off-says-nothing: '$(head -n 1 <<<"$err")'"

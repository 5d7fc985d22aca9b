#!/usr/bin/env bash
# tests/live.sh LIB VARIANT - the live reports (BIMP_DUMP_*) on
# tests/build/live, which allocates for a few seconds, raises SIGUSR2 once
# and calls bimp_dump once: the dumps come at the promised interval (by
# time: a second apart, give or take the allocation that finds them due;
# by bytes: at each multiple, late by at most the 64 KiB step and one
# allocation), one on the
# signal and one on the call, each a line of JSON with the statistics and
# the size histogram, with numbered profiles beside them that google-pprof
# reads (and subtracts, --base); BIMP_PROGRAM keeps a shell wrapper's
# dumps out; tools/bimp-plot draws the run.  One PASS/FAIL line per check.
set -u
LIB=$1 VARIANT=$2
HERE=$(cd "$(dirname "$0")" && pwd)
PROG=$HERE/build/live
TMP=$(mktemp -d) && trap 'rm -rf "$TMP"' EXIT

# By time, on the signal, on the call, at exit; the profile's files.
out=$(BIMP_DUMP_SECONDS=1 BIMP_DUMP_SIGNAL=12 BIMP_PROFILE=1 BIMP_PROFILE_RATE=64k \
    BIMP_DUMP_FILE="$TMP/t.%p" LD_PRELOAD=$LIB "$PROG" 3.5 1.3 2.2 2>/dev/null)
rc=$?
why=$(python3 - "$TMP" "$out" <<'PY' 2>&1
import glob, json, re, sys
tmp, out = sys.argv[1], sys.argv[2]
files = glob.glob(tmp + "/t.*.stats.jsonl")
if len(files) != 1:
    sys.exit("stats files: %r" % files)
dumps = [json.loads(l) for l in open(files[0])]
reasons = [d["reason"] for d in dumps]
if [d["dump"] for d in dumps] != list(range(1, len(dumps) + 1)):
    sys.exit("numbers: %r" % [d["dump"] for d in dumps])
timed = [d["ms"] for d in dumps if d["reason"] == "seconds"]
# three seconds pass in 3.5: a dump at each, none early, none more than
# 300 ms late (the program allocates every millisecond)
if len(timed) != 3 or any(not (1000 * k <= ms <= 1000 * k + 300) for k, ms in zip((1, 2, 3), timed)):
    sys.exit("by time: %r" % timed)
if reasons.count("signal") != 1 or reasons.count("call") != 1 or reasons[-1] != "exit":
    sys.exit("reasons: %r" % reasons)
raised = int(re.search(r"raised (\d+)", out).group(1))
signalled = next(d["ms"] for d in dumps if d["reason"] == "signal")
if not -5 <= signalled - raised <= 300:  # rounding; Bimp counts from its load, a little earlier
    sys.exit("the signal's dump came %d ms after the signal" % (signalled - raised))
for d in dumps:
    s = d["stats"]
    if not (s["allocations"] > 0 and s["in_use_bytes"] > 0 and d["sizes"]):
        sys.exit("dump %d: %r" % (d["dump"], s))
    if sum(b["allocations"] for b in d["sizes"]) > s["allocations"]:
        sys.exit("dump %d: histogram counts more allocations than the statistics" % d["dump"])
    heaps = glob.glob("%s/t.*.%04d.heap" % (tmp, d["dump"])) + glob.glob("%s/t.*.%04d.below.heap" % (tmp, d["dump"]))
    if len(heaps) != 2:
        sys.exit("dump %d: profiles %r" % (d["dump"], heaps))
# the program's requests: 16 to 2015 bytes, all in the histogram's bins up to 2 KiB
last = dumps[-1]["sizes"]
small = sum(b["allocations"] for b in last if b["max"] <= 2048)
n = int(re.search(r"allocations (\d+)", out).group(1))
if small < n:
    sys.exit("histogram: %d allocations up to 2 KiB, the program made %d" % (small, n))
PY
)
[ $rc -eq 0 ] && [ -z "$why" ] && echo "PASS $VARIANT/live/by-time-signal-call" ||
    echo "FAIL $VARIANT/live/by-time-signal-call: exit status $rc, $(head -c 400 <<<"$why")"

if command -v google-pprof >/dev/null; then
    first=$(ls "$TMP"/t.*.0001.heap) last=$(ls "$TMP"/t.*.heap | grep -v below | tail -n 1)
    diff=$(google-pprof --text --base "$first" "$PROG" "$last" 2>&1)
    grep -qE '^ *-?[0-9.]+ +-?[0-9.]+% .* main' <<<"$diff" && echo "PASS $VARIANT/live/pprof-base" ||
        echo "FAIL $VARIANT/live/pprof-base: $(head -c 300 <<<"$diff")"
else
    echo "SKIP $VARIANT/live/pprof-base: google-pprof is not installed (apt-get install google-perftools)"
fi

# By bytes: 64 MiB apart (the program allocates about 1.5 GB a second).
BIMP_DUMP_BYTES=64M BIMP_DUMP_FILE="$TMP/b" LD_PRELOAD=$LIB "$PROG" 1 >/dev/null 2>&1
rc=$?
why=$(python3 - "$TMP/b.stats.jsonl" <<'PY' 2>&1
import json, sys
dumps = [json.loads(l) for l in open(sys.argv[1])]
step, slack = 64 << 20, (64 << 10) + 4096  # a thread's step, and the allocation that ends it
by_bytes = [d["allocated_bytes"] for d in dumps if d["reason"] == "bytes"]
if len(by_bytes) < 3:
    sys.exit("only %d dumps by bytes" % len(by_bytes))
for k, b in enumerate(by_bytes, 1):
    if not step * k <= b <= step * k + slack:
        sys.exit("dump %d by bytes at %d, due at %d" % (k, b, step * k))
PY
)
[ $rc -eq 0 ] && [ -z "$why" ] && echo "PASS $VARIANT/live/by-bytes" ||
    echo "FAIL $VARIANT/live/by-bytes: exit status $rc, $(head -c 300 <<<"$why")"

# Through a shell wrapper, with BIMP_PROGRAM: the program's dumps only.
BIMP_PROGRAM=live BIMP_DUMP_SECONDS=1 BIMP_DUMP_FILE="$TMP/w.%p" LD_PRELOAD=$LIB \
    sh -c "sh -c true; \"$PROG\" 1.2 >/dev/null; true" 2>/dev/null
programs=$(cat "$TMP"/w.*.stats.jsonl 2>/dev/null | python3 -c '
import json, sys
print(" ".join(sorted({"%s:%d" % (d["program"], d["pid"]) for d in map(json.loads, sys.stdin)})))')
[ "$(ls "$TMP"/w.*.stats.jsonl 2>/dev/null | wc -l)" = 1 ] && [[ "$programs" == live:* ]] && [[ "$programs" != *" "* ]] &&
    echo "PASS $VARIANT/live/program-filter" || echo "FAIL $VARIANT/live/program-filter: '$programs'"

# The picture of the first run.
svg=$TMP/memory.svg
msg=$(python3 "$HERE/../tools/bimp-plot" "$TMP"/t.*.stats.jsonl -o "$svg" 2>&1)
why=$(python3 - "$svg" "$TMP" <<'PY' 2>&1
import glob, json, sys, xml.etree.ElementTree as ET
root = ET.parse(sys.argv[1]).getroot()
ns = "{http://www.w3.org/2000/svg}"
dumps = [json.loads(l) for l in open(glob.glob(sys.argv[2] + "/t.*.stats.jsonl")[0])]
lines = root.findall(".//%spolyline" % ns)
if len(lines) != 3 or any(len(l.get("points").split()) != len(dumps) for l in lines):
    sys.exit("%d lines, points %r, dumps %d" % (len(lines), [len(l.get("points").split()) for l in lines], len(dumps)))
bars = root.findall(".//%srect[@class='bar']" % ns)
if len(bars) != len(dumps[-1]["sizes"]):
    sys.exit("%d bars for %d bins" % (len(bars), len(dumps[-1]["sizes"])))
text = " ".join(t.text or "" for t in root.iter(ns + "text"))
if "live" not in text or "resident" not in text:
    sys.exit("labels: " + text[:200])
PY
)
[ -z "$why" ] && echo "PASS $VARIANT/live/picture" || echo "FAIL $VARIANT/live/picture: $msg $(head -c 300 <<<"$why")"

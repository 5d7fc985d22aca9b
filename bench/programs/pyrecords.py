"""Python records workload for the Bimp benchmark (bench/programs/pyrecords.sh).

Run as: PYTHONMALLOC=malloc python3 pyrecords.py SCALE
Builds 120,000 small records (a dict, a list of 8 floats and a dict of 6
ints each, at scale 1), then json.dumps and json.loads of them, three
rounds: where small blocks are reused decides this program's speed.
Checks the round trip; exits 1 on a mismatch.
"""
import json
import sys

scale = float(sys.argv[1]) if len(sys.argv) > 1 else 1.0
n = max(1000, int(120000 * scale))
for r in range(3):
    records = [{"id": i, "name": "item%d" % i,
                "values": [i * 0.5 + k for k in range(8)],
                "counts": {"c%d" % k: i + k for k in range(6)}}
               for i in range(n)]
    text = json.dumps(records)
    back = json.loads(text)
    if back != records or len(back) != n:
        print("pyrecords: FAIL: round trip changed the records", file=sys.stderr)
        sys.exit(1)
    del records, back, text
print("pyrecords: %d records, 3 rounds" % n)

"""Python workload for the Bimp benchmark: json and dict heavy work.

Run by programs/python.sh as: PYTHONMALLOC=malloc python3 python_json.py SCALE
Every round builds a list of nested records, round-trips it through
json.dumps/json.loads (compact and pretty, sorted keys), builds dict
indexes, counts words, merges attributes, sorts, and formats strings.
Results are checked; a failed check exits with status 1.
"""
import collections
import json
import random
import sys

scale = float(sys.argv[1]) if len(sys.argv) > 1 else 1.0
rounds = max(1, int(3 * scale))
n = max(200, int(9000 * min(scale, 1.0)))
rng = random.Random(20240601)
LETTERS = "abcdefghijklmnopqrstuvwxyz"
WORDS = ["".join(rng.choice(LETTERS) for _ in range(rng.randint(2, 10))) for _ in range(5000)]


def check(cond, what):
    if not cond:
        print("python: FAIL: " + what, file=sys.stderr)
        sys.exit(1)


def record(i):
    return {
        "id": i,
        "name": rng.choice(WORDS) + " " + rng.choice(WORDS),
        "email": "%s@%s.example" % (rng.choice(WORDS), rng.choice(WORDS)),
        "score": rng.randint(0, 10**6),
        "ratio": rng.random(),
        "active": rng.random() < 0.5,
        "tags": rng.sample(WORDS[:300], rng.randint(0, 6)),
        "attrs": {rng.choice(WORDS): rng.randint(0, 1000) for _ in range(rng.randint(1, 8))},
        "history": [{"t": rng.randint(0, 10**9), "v": rng.random(), "note": rng.choice(WORDS)}
                    for _ in range(rng.randint(0, 5))],
    }


kept = []
total_ids = 0
for r in range(rounds):
    recs = [record(r * n + i) for i in range(n)]
    text = json.dumps(recs)
    back = json.loads(text)
    check(back == recs, "json round trip changed the data")
    pretty = json.dumps(back, indent=1, sort_keys=True)
    check(json.loads(pretty) == recs, "pretty json round trip changed the data")
    del text, pretty

    by_tag = collections.defaultdict(list)
    for rec in back:
        for t in rec["tags"]:
            by_tag[t].append(rec["id"])
    check(sum(map(len, by_tag.values())) == sum(len(rec["tags"]) for rec in recs), "tag index size")

    counts = {}
    for rec in back:
        for w in rec["name"].split():
            counts[w] = counts.get(w, 0) + 1
    check(sum(counts.values()) == 2 * n, "word count")

    merged = {}
    for rec in back:
        for k, v in rec["attrs"].items():
            merged[k] = merged.get(k, 0) + v
    check(sum(merged.values()) == sum(sum(rec["attrs"].values()) for rec in recs), "merged attributes")
    top = sorted(merged.items(), key=lambda kv: (-kv[1], kv[0]))[:20]
    check(all(top[i][1] >= top[i + 1][1] for i in range(len(top) - 1)), "sort order")

    by_id = {rec["id"]: rec for rec in back}
    check(len(by_id) == n and by_id[r * n]["id"] == r * n, "id index")
    ranked = sorted(back, key=lambda rec: (rec["score"], rec["id"]))
    check(ranked[0]["score"] <= ranked[-1]["score"], "ranking")

    lines = ["%d,%s,%s,%d" % (rec["id"], rec["name"], rec["email"], rec["score"]) for rec in ranked]
    csv = "\n".join(lines)
    check(csv.count("\n") == n - 1, "csv lines")
    parsed = [line.split(",") for line in csv.split("\n")]
    check(sum(int(p[3]) for p in parsed) == sum(rec["score"] for rec in recs), "csv sums")

    kept.extend(back[::100])  # a few survive every round
    total_ids += sum(rec["id"] for rec in back)
    del recs, back, by_tag, counts, merged, by_id, ranked, lines, csv, parsed

expected = sum(range(rounds * n))
check(total_ids == expected, "id total %d, expected %d" % (total_ids, expected))
check(len(kept) == rounds * ((n + 99) // 100), "kept records")
print("python: %d rounds of %d records checked" % (rounds, n))

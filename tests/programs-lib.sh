# Workloads shared by tests/programs.sh and tests/program-table.sh: each is
# defined once here as needs_<name> (binaries it requires), prep_<name>
# (make inputs in cwd = $IN; always run WITHOUT the preload) and run_<name> (the
# allocation-heavy work, run in an empty cwd; prints deterministic stdout).
# Source it for the helpers; `bash programs-lib.sh __run NAME` runs one
# workload (that is the process that gets LD_PRELOAD).
# shellcheck shell=bash disable=SC2034

PROGRAM_NAMES="python-json python-threads perl git gcc sqlite sort xz"
PROGRAM_TIMEOUT=${PROGRAM_TIMEOUT:-120}
PROGRAMS_LIB_FILE=$(readlink -f "${BASH_SOURCE[0]}")
export LC_ALL=C TZ=UTC PYTHONMALLOC=malloc PYTHONHASHSEED=0 PYTHONDONTWRITEBYTECODE=1 \
       PERL_HASH_SEED=0 PERL_PERTURB_KEYS=0

# ---- python: json / dict / list ------------------------------------------
needs_python_json=/usr/bin/python3
prep_python_json() {
    cat > dicts.py <<'EOF'
import json, random, hashlib, collections
r = random.Random(1)
h = hashlib.sha256()
for rnd in range(4):
    recs = [{"id": i, "name": "user%d" % r.randrange(10**6),
             "tags": [("t%d" % r.randrange(500)) * r.randrange(1, 4) for _ in range(r.randrange(8))],
             "score": r.random(), "nested": {str(k): list(range(k)) for k in range(r.randrange(6))}}
            for i in range(15000)]
    s = json.dumps(recs, sort_keys=True)
    back = json.loads(s)
    idx = {d["name"]: d for d in back}
    cnt = collections.Counter(t for d in back for t in d["tags"])
    back.sort(key=lambda d: (d["score"], d["id"]))
    for k in list(idx)[::2]:
        del idx[k]
    h.update(s.encode())
    print(rnd, len(s), len(idx), cnt.most_common(3), back[0]["id"], back[-1]["id"])
print(h.hexdigest())
EOF
}
run_python_json() { /usr/bin/python3 "$IN/dicts.py"; }

# ---- python: threads allocating, and freeing each other's objects ---------
needs_python_threads=/usr/bin/python3
prep_python_threads() {
    cat > threads.py <<'EOF'
import threading, queue, random
N, q, results, lock = 4, queue.Queue(maxsize=256), {}, threading.Lock()
consumed = [0]
def worker(n):
    r, total = random.Random(n), 0
    for it in range(400):
        d = {"k%d_%d" % (n, i): ["x" * r.randrange(1, 200) for _ in range(r.randrange(1, 8))]
             for i in range(r.randrange(50, 300))}
        total += sum(len(s) for v in d.values() for s in v)
        q.put(d)                          # freed by a consumer thread
        l = [str(i) * (i % 17) for i in range(r.randrange(100, 2000))]
        total += len("".join(l)); del l, d
    results[n] = total
def consumer():
    while (d := q.get()) is not None:
        with lock:
            consumed[0] += sum(len(v) for v in d.values())
        del d
ws = [threading.Thread(target=worker, args=(n,)) for n in range(N)]
cs = [threading.Thread(target=consumer) for _ in range(3)]
for t in ws + cs: t.start()
for t in ws: t.join()
for _ in cs: q.put(None)
for t in cs: t.join()
for n in range(N): print("worker", n, results[n])
print("consumed lists", consumed[0])
EOF
}
run_python_threads() { /usr/bin/python3 "$IN/threads.py"; }

# ---- perl: hashes, regexes, strings ---------------------------------------
needs_perl=perl
prep_perl() {
    cat > hash.pl <<'EOF'
use strict; use warnings; use Digest::MD5 qw(md5_hex);
my (%h, %w); my $seed = 1;
sub rnd { $seed = ($seed * 1103515245 + 12345) % 2147483648; $seed % $_[0] }
for my $i (1 .. 200000) {
    my $k = join "", map { chr(97 + rnd(26)) } 1 .. 3 + rnd(10);
    $h{$k} .= sprintf("%d:%s;", $i, "v" x rnd(20));
}
my $text = join " ", map { "$_=$h{$_}" } sort keys %h;
(my $t2 = $text) =~ s/(\d+):(v*)/length($2) . "-" . $1/ge;
$w{$_}++ for $t2 =~ /\b([a-m][a-z]{2,5})=/g;
my @top = (sort { $w{$b} <=> $w{$a} || $a cmp $b } keys %w)[0 .. 4];
delete @h{ grep { /^[a-f]/ } keys %h };
my @parts = split /;/, $t2;
print scalar(keys %h), " ", length($text), " ", scalar(@parts), " @top\n";
print md5_hex($t2), "\n";
EOF
}
run_perl() { perl "$IN/hash.pl"; }

# ---- git: many commits, gc, fsck, log --stat ------------------------------
needs_git=git
prep_git() { :; }
run_git() {
    export HOME=$PWD GIT_CONFIG_NOSYSTEM=1 GIT_AUTHOR_NAME=Bimp GIT_AUTHOR_EMAIL=bimp@example.com \
           GIT_COMMITTER_NAME=Bimp GIT_COMMITTER_EMAIL=bimp@example.com
    git init -q -b main repo && cd repo
    git config gc.auto 0
    local i k f
    for i in $(seq 0 99); do
        for k in $( ((i == 0)) && seq 0 199 || echo $(( (i * 37) % 200 )) $(( (i * 53 + 7) % 200 )) $(( (i * 11 + 3) % 200 )) ); do
            mkdir -p d$((k % 10))
            f=d$((k % 10))/f$k.txt
            { echo "file $k version $i"
              for ((l = 0; l < 40 + k % 30; l++)); do echo "file $k line $l rev $(( (l * i) % 7 ))"; done; } > "$f"
        done
        ((i % 25 == 24)) && rm -f d$((i % 10))/f$(( i % 10 + 10 )).txt
        export GIT_AUTHOR_DATE="$((1700000000 + i * 3600)) +0000" GIT_COMMITTER_DATE="$((1700000000 + i * 3600)) +0000"
        git add -A && git commit -q -m "commit $i"
    done
    git gc -q --aggressive
    git fsck --full --no-progress
    git log --stat
    git log -p | md5sum
    git blame d3/f13.txt | md5sum
    git diff --stat HEAD~60 HEAD | tail -1
}

# ---- gcc -O2 on a generated C file (many functions), then run it -----------
needs_gcc="gcc nm"
prep_gcc() {
    perl -e '
        my $n = 160;
        print "#include <stdio.h>\n#include <string.h>\n";
        for my $f (0 .. $n - 1) {
            print "static unsigned f$f(unsigned x) {\n  unsigned a[16]; unsigned s = x ^ $f;\n";
            print "  for (int i = 0; i < 16; i++) a[i] = s * (i + $f) + (s >> (i % 7));\n";
            for my $j (0 .. 5) {
                my $o = ("+", "^", "-", "|")[$j % 4];
                print "  switch ((s + $j) % 4) {\n";
                print "  case $_: s = s $o a[($j * 3 + $_) % 16] * ", $f + $_ + 1, "u; break;\n" for 0 .. 2;
                print "  default: s = (s << 3) | (s >> 29); break;\n  }\n";
                print "  for (int i = 0; i < ", 4 + $j, "; i++) s += a[(i + $j) % 16] >> (i & 3);\n";
            }
            print "  return s", ($f ? " + f" . int($f / 2) . "(s & 0xff) % 7" : ""), ";\n}\n";
        }
        print "int main(void) {\n  unsigned t = 0;\n";
        print "  t += f$_(t + $_);\n" for 0 .. $n - 1;
        print "  printf(\"%u\\n\", t);\n  return 0;\n}\n";' > "$IN/big.c"
}
run_gcc() {
    cp "$IN/big.c" .
    gcc -O2 -c big.c -o big.o
    nm big.o
    size -A big.o | grep -v '^big.o'
    gcc big.o -o big
    ./big
}

# ---- sqlite3: inserts in a transaction, index, aggregates -----------------
needs_sqlite=sqlite3
prep_sqlite() {
    perl -e '
        my $s = 7; sub rnd { $s = ($s * 1103515245 + 12345) % 2147483648; $s % $_[0] }
        print "PRAGMA journal_mode=WAL;\nCREATE TABLE t(id INTEGER PRIMARY KEY, cat TEXT, v INTEGER, txt TEXT);\n";
        print "CREATE TABLE c(cat TEXT PRIMARY KEY, label TEXT);\nBEGIN;\n";
        print "INSERT INTO c VALUES(\x27c$_\x27, \x27label $_\x27);\n" for 0 .. 99;
        printf "INSERT INTO t(cat, v, txt) VALUES(\x27c%d\x27, %d, \x27%s\x27);\n",
               rnd(100), rnd(1000000), "w" x rnd(60) for 1 .. 150000;
        print "COMMIT;\nCREATE INDEX t_cat_v ON t(cat, v);\nCREATE INDEX t_txt ON t(txt);\n";
        print "SELECT count(*), sum(v), min(v), max(v), avg(length(txt)) FROM t;\n";
        print "SELECT c.label, count(*), sum(t.v) FROM t JOIN c USING(cat) GROUP BY c.label ORDER BY 3 DESC LIMIT 10;\n";
        print "SELECT cat, v, rank() OVER (PARTITION BY cat ORDER BY v DESC) r FROM t WHERE cat < \x27c05\x27 ORDER BY cat, r LIMIT 30;\n";
        print "SELECT length(txt), count(DISTINCT cat), group_concat(DISTINCT substr(cat, 2, 1)) FROM t GROUP BY 1 ORDER BY 1;\n";
        print "DELETE FROM t WHERE v % 3 = 0;\nVACUUM;\nSELECT count(*), total(v) FROM t;\nPRAGMA integrity_check;\n";' > "$IN/load.sql"
}
run_sqlite() {
    sqlite3 db.sqlite < "$IN/load.sql"
}

# ---- sort --parallel=2 with a small buffer (forces temp files + merge) ----
needs_sort="sort md5sum"
prep_sort() {
    perl -e '
        my $s = 3; sub rnd { $s = ($s * 1103515245 + 12345) % 2147483648; $s % $_[0] }
        for (1 .. 400000) { printf "%08d %s %d\n", rnd(99999999), join("", map { chr(97 + rnd(26)) } 1 .. 5 + rnd(40)), rnd(1000) }' > "$IN/in.txt"
}
run_sort() {
    sort --parallel=2 -S 4M -T . "$IN/in.txt" | md5sum
    sort --parallel=2 -S 4M -T . -k3,3n -k2,2r "$IN/in.txt" | md5sum
    sort --parallel=2 -S 4M -T . -u -k2,2 "$IN/in.txt" | wc -l
}

# ---- xz -T2 compress + decompress ------------------------------------------
needs_xz="xz md5sum"
prep_xz() {
    perl -e '
        my $s = 5; sub rnd { $s = ($s * 1103515245 + 12345) % 2147483648; $s % $_[0] }
        my @w = map { join "", map { chr(97 + rnd(26)) } 1 .. 2 + rnd(9) } 1 .. 5000;
        for (1 .. 200000) { print join(" ", map { $w[rnd(5000)] } 1 .. 8), " ", rnd(1000000), "\n" }' > "$IN/in.txt"
}
run_xz() {
    xz -T2 -4 --block-size=1MiB -c "$IN/in.txt" > in.txt.xz
    md5sum < in.txt.xz
    xz -T2 -dc in.txt.xz | md5sum
    md5sum < "$IN/in.txt"
}

# ---- helpers ----------------------------------------------------------------

# selected_programs: names in PROGRAM_NAMES matching $PROGRAMS (a word W selects
# W and W-*), plus any unknown words (so callers can FAIL them).
selected_programs() {
    local w n hit
    [[ -z ${PROGRAMS:-} ]] && { echo $PROGRAM_NAMES; return; }
    for w in $PROGRAMS; do
        hit=
        for n in $PROGRAM_NAMES; do [[ $n == "$w" || $n == "$w"-* ]] && { echo "$n"; hit=1; }; done
        [[ $hit ]] || echo "$w"
    done
}

# missing_binary NAME: prints the first binary NAME needs that is absent.
missing_binary() {
    local v="needs_${1//-/_}" b
    for b in ${!v}; do command -v "$b" >/dev/null || { echo "$b"; return 0; }; done
    return 1
}

# prep_program NAME IN: make inputs (never preloaded).
prep_program() {
    mkdir -p "$2" && (cd "$2" && IN=$2 env -u LD_PRELOAD bash -c "set -eo pipefail; source '$PROGRAMS_LIB_FILE'; prep_${1//-/_}")
}

# run_program NAME IN DIR PRELOAD [WRAPPER...]: runs the workload in DIR/work
# with a timeout, preloading PRELOAD if non-empty; leaves DIR/{out,err,status}.
run_program() {
    local name=$1 in=$2 dir=$3 preload=$4; shift 4
    local pre=(env -u LD_PRELOAD); [[ $preload ]] && pre=(env LD_PRELOAD="$preload")
    rm -rf "$dir" && mkdir -p "$dir/work"
    (cd "$dir/work" && IN=$in exec timeout -k 5 "$PROGRAM_TIMEOUT" "$@" "${pre[@]}" \
        bash "$PROGRAMS_LIB_FILE" __run "$name") > "$dir/out" 2> "$dir/err" < /dev/null
    echo $? > "$dir/status"
}

# describe_status N: "exit N", "timed out", or "killed by SIGxxx".
describe_status() {
    if (( $1 == 124 )); then echo "timed out after ${PROGRAM_TIMEOUT}s"
    elif (( $1 > 128 )); then echo "killed by SIG$(kill -l $(($1 - 128)) 2>/dev/null || echo $(($1 - 128)))"
    else echo "exit $1"; fi
}

if [[ ${BASH_SOURCE[0]} == "$0" && ${1:-} == __run ]]; then
    set -eo pipefail
    "run_${2//-/_}"
fi

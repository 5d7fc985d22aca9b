# Sourced by the real-program workloads.  Each is run as
#   bash programs/NAME.sh prepare SCALE   (untimed, no LD_PRELOAD: make inputs)
#   bash programs/NAME.sh run SCALE       (timed, under LD_PRELOAD, cwd = scratch dir)
# bench/run sets BENCH_DIR, BENCH_BUILD, BENCH_INPUTS and BENCH_TMP.
# prepare exits 77 (and prints why) when a program the workload needs is missing.
set -euo pipefail
mode=${1:?usage: NAME.sh prepare|run SCALE}
scale=${2:-1}
: "${BENCH_DIR:?}" "${BENCH_BUILD:?}" "${BENCH_INPUTS:?}"
BENCH_TMP=${BENCH_TMP:-$PWD}

# scaled N MIN: N*scale rounded down, at least MIN
scaled() { awk -v n="$1" -v s="$scale" -v m="$2" 'BEGIN { v = int(n * s); if (v < m) v = m; print v }'; }

need() { # need PROGRAM PACKAGE
    command -v "$1" >/dev/null 2>&1 || { echo "$1 not found (apt-get install $2)"; exit 77; }
}

fail() { echo "FAIL: $*" >&2; exit 1; }

# an input is stale when the generator is newer
fresh() { [ -s "$1" ] && [ "$1" -nt "$BENCH_BUILD/gen" ]; }

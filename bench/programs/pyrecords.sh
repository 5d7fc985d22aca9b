#!/bin/bash
# pyrecords: /usr/bin/python3 with PYTHONMALLOC=malloc building 120,000
# small records (a dict, a list of 8 floats, a dict of 6 ints) and
# round-tripping them through json, three times (pyrecords.py).
. "$(dirname "$0")/common.sh"
py=/usr/bin/python3
case $mode in
prepare)
    [ -x "$py" ] || { echo "$py not found (apt-get install python3)"; exit 77; }
    ;;
run)
    PYTHONMALLOC=malloc PYTHONHASHSEED=0 PYTHONDONTWRITEBYTECODE=1 "$py" -s "$BENCH_DIR/programs/pyrecords.py" "$scale"
    ;;
esac

#!/bin/bash
# python: /usr/bin/python3 with PYTHONMALLOC=malloc (every object allocation
# goes to the allocator under test) running a json/dict heavy script
# (python_json.py, or PY_SCRIPT: pyrecords.sh).
. "$(dirname "$0")/common.sh"
py=/usr/bin/python3
case $mode in
prepare)
    [ -x "$py" ] || { echo "$py not found (apt-get install python3)"; exit 77; }
    ;;
run)
    PYTHONMALLOC=malloc PYTHONHASHSEED=0 PYTHONDONTWRITEBYTECODE=1 "$py" -s "$BENCH_DIR/programs/${PY_SCRIPT:-python_json.py}" "$scale"
    ;;
esac

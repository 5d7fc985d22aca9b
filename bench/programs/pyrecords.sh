#!/bin/bash
# pyrecords: python.sh's interpreter and settings on pyrecords.py, which
# builds 120,000 small records (a dict, a list of 8 floats, a dict of 6
# ints) and round-trips them through json, three times.
PY_SCRIPT=pyrecords.py exec bash "$(dirname "$0")/python.sh" "$@"

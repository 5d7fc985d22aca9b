#!/bin/bash
# basharray: bash's indexed arrays, as they are used: append an element,
# and unset one from the middle every third step (the next append takes its
# place), 120,000 steps at scale 1; where a freed element's memory is
# reused decides how far apart the elements lie, and bash walks its list
# of elements at every access.  Checks the final element count.
. "$(dirname "$0")/common.sh"
steps=$(scaled 120000 2000)
case $mode in
prepare)
    need bash bash
    ;;
run)
    count=$(bash -c 'declare -a a; n=$1; for ((i=0; i<n; i++)); do a+=("v$i"); (( i % 3 == 0 )) && unset "a[$((i/2))]"; done; echo ${#a[@]}' - "$steps")
    [ "$count" -gt $((steps / 2)) ] || fail "basharray: $count elements left of $steps"
    echo "basharray: $steps steps, $count elements"
    ;;
esac

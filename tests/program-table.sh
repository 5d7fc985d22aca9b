#!/usr/bin/env bash
# Measures what LIB costs real programs: runs each workload of
# tests/programs-lib.sh with glibc malloc and with LD_PRELOAD=LIB under
# /usr/bin/time and prints a Markdown table of wall time and peak RSS.
# Usage: tests/program-table.sh LIB     (PROGRAMS="python perl ..." for a subset)
set -u
[[ $# -eq 1 ]] || { echo "usage: $0 LIB.so" >&2; exit 2; }
source "$(dirname "$0")/programs-lib.sh"
[[ -x /usr/bin/time ]] || { echo "$0: /usr/bin/time missing: apt-get install time" >&2; exit 2; }
LIB=$(readlink -m "$1")
[[ -r $LIB ]] || { echo "$0: LIB $LIB not found" >&2; exit 2; }
T=$(mktemp -d) && trap 'rm -rf "$T"' EXIT && trap 'exit 130' INT TERM

# measure NAME DIR PRELOAD: sets wall and rss (MiB), or "FAIL (reason)".
measure() {
    run_program "$1" "$T/$1/in" "$2" "$3" /usr/bin/time -f '%e %M' -o "$2/time"
    local st; st=$(<"$2/status")
    if grep -q 'cannot be preloaded' "$2/err"; then wall="FAIL (not preloaded)" rss=-
    elif [[ $st == 0 ]] && read -r wall rss < "$2/time"; then
        rss=$(awk -v k="$rss" 'BEGIN { printf "%.1f", k / 1024 }')
    else wall="FAIL ($(describe_status "$st"))" rss=-; fi
}
ratio() { [[ $1 =~ ^[0-9.]+$ && $2 =~ ^[0-9.]+$ ]] && awk -v a="$1" -v b="$2" 'BEGIN { printf (a > 0 ? "%.2f" : "-"), b / a }' || echo -; }

echo "| program | glibc wall s | bimp wall s | ratio | glibc peak RSS MiB | bimp peak RSS MiB | ratio |"
echo "|---|---:|---:|---:|---:|---:|---:|"
bad=0
for name in $(selected_programs); do
    if [[ " $PROGRAM_NAMES " != *" $name "* ]] || b=$(missing_binary "$name") ||
       ! prep_program "$name" "$T/$name/in" > /dev/null 2>&1; then
        echo "| $name | unknown program, missing binary or input generation failed | | | | | |"; bad=1; continue
    fi
    measure "$name" "$T/$name/glibc" ""; gw=$wall gr=$rss
    measure "$name" "$T/$name/lib" "$LIB"; bw=$wall br=$rss
    [[ $gw$bw == *FAIL* ]] && bad=1
    echo "| $name | $gw | $bw | $(ratio "$gw" "$bw") | $gr | $br | $(ratio "$gr" "$br") |"
done
echo
echo "bimp = LD_PRELOAD=$LIB; ratio = bimp / glibc; one run each, $(nproc) cores."
echo "Peak RSS is GNU time's %M: for multi-process workloads (git, gcc, sort, xz via"
echo "their driver shell) it is the largest single process, not the sum."
exit $bad

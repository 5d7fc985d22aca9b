#!/bin/bash
# git: build a repository from a generated history with git fast-import, make
# more commits with git add/commit, then git gc, a full repack, log -p, blame
# and fsck.  Checks the commit count and that fsck is happy.
. "$(dirname "$0")/common.sh"
commits=$(scaled 1200 20)
edits=$(scaled 30 3)
stream=$BENCH_INPUTS/git-$commits.fi
case $mode in
prepare)
    need git git
    fresh "$stream" || "$BENCH_BUILD/gen" gitstream "$commits" "$stream"
    ;;
run)
    export HOME=$BENCH_TMP GIT_CONFIG_NOSYSTEM=1 GIT_CONFIG_GLOBAL=/dev/null
    export GIT_AUTHOR_NAME=Bench GIT_AUTHOR_EMAIL=bench@example.com
    export GIT_COMMITTER_NAME=Bench GIT_COMMITTER_EMAIL=bench@example.com
    export GIT_AUTHOR_DATE="1700000000 +0000" GIT_COMMITTER_DATE="1700000000 +0000"
    git init -q -b main "$BENCH_TMP/repo"
    cd "$BENCH_TMP/repo"
    git fast-import --quiet < "$stream"
    git reset -q --hard main
    for i in $(seq 1 "$edits"); do
        "$BENCH_BUILD/gen" gitedit "$i"
        git add -A
        git commit -q -m "edit $i"
    done
    git gc -q
    git repack -q -a -d -f --window=30 --depth=50
    lines=$(git log -p | wc -l)
    git blame -s src/d3/file7.c > /dev/null
    git fsck --no-progress --no-dangling
    n=$(git rev-list --count HEAD)
    [ "$n" = $((commits + edits)) ] || fail "repository has $n commits, expected $((commits + edits))"
    [ "$lines" -gt "$commits" ] || fail "git log -p printed only $lines lines"
    echo "git: $n commits, log -p $lines lines"
    ;;
esac

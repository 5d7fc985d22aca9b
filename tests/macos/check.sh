#!/usr/bin/env bash
# tests/macos/check.sh - the macOS build parses and type-checks: clang,
# targeting x86_64-apple-macos11, compiles platform_mac.c (with
# platform_posix.h) and the core (bimp.c, src/*.c) as the Makefile builds them on Darwin
# (-DBIMP_PREFIX), -fsyntax-only, against the stub Darwin headers in
# tests/macos/include and clang's own freestanding headers.  No Mac here:
# this proves the file is C the compiler accepts, not that it works.
# One PASS/FAIL line per file.
# needs-packages: clang
set -u
cd "$(dirname "$0")/../.."
if ! command -v clang >/dev/null; then
    echo "SKIP macos/type-checks: clang is not installed (tests/install-deps installs it)"
    exit 0
fi
builtin=$(clang -print-resource-dir)/include
for f in platform_mac.c bimp.c src/*.c; do
    if out=$(clang -target x86_64-apple-macos11 -std=gnu11 -Wall -Wextra -Werror -fsyntax-only \
        -ffreestanding -nostdinc -isystem tests/macos/include -isystem "$builtin" -DBIMP_PREFIX "$f" 2>&1); then
        echo "PASS macos/${f#src/}-type-checks"
    else
        echo "FAIL macos/${f#src/}-type-checks: $(head -n 3 <<<"$out" | tr '\n' ' ' | cut -c 1-300)"
    fi
done

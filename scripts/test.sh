#!/usr/bin/env bash
# Installs what is missing, builds twice (plain, and with AddressSanitizer +
# UndefinedBehaviorSanitizer) and runs the whole test suite in both builds.
# Integration tests start their own redis-server and daemon on free ports.
set -euo pipefail
. "$(dirname "$0")/setup.sh"
sb_install
sb_build build
sb_build build-asan -DSB_SANITIZE=ON

echo "==> test suite (plain build)"
ctest --test-dir "$SB_ROOT/build" --output-on-failure -j2

echo "==> test suite (ASan + UBSan build)"
export ASAN_OPTIONS=detect_leaks=1:abort_on_error=0:strict_string_checks=1
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
ctest --test-dir "$SB_ROOT/build-asan" --output-on-failure -j2

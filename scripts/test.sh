#!/usr/bin/env bash
# Installs what is missing, builds four times (plain, RelWithDebInfo;
# Release, as a packager builds it; AddressSanitizer +
# UndefinedBehaviorSanitizer; clang with libFuzzer), runs each fuzzer briefly,
# the unit tests in the Release build, then the whole test suite in the plain
# and sanitizer builds (CTest's summary last). Every build has -Werror, so a
# warning that only an optimization level brings out fails here.
# Integration tests start their own redis-server and daemon on free ports.
set -euo pipefail
. "$(dirname "$0")/setup.sh"
sb_install
sb_build build
sb_build build-release -DCMAKE_BUILD_TYPE=Release
sb_build build-asan -DSB_SANITIZE=ON
sb_build build-fuzz -DSB_FUZZ=ON -DSB_TESTS=OFF -DCMAKE_C_COMPILER=clang

# sb_fuzz TARGET SECONDS: runs a libFuzzer target on a scratch copy of its
# corpus (new inputs and any crash land there, never in the committed seeds);
# fails with the fuzzer's report if it finds a crash, a leak or a timeout.
sb_fuzz() {
	local t=$1 secs=$2 work
	work=$(mktemp -d)
	echo "==> fuzz_$t for ${secs}s"
	if ! "$SB_ROOT/build-fuzz/tests/fuzz/fuzz_$t" -max_total_time="$secs" \
		-artifact_prefix="$work/" "$work" "$SB_ROOT/tests/fuzz/corpus/$t" \
		>"$work/log" 2>&1; then
		tail -n 80 "$work/log"
		echo "fuzz_$t failed; reproducer(s) kept in $work:" $(ls "$work" | grep -E '^(crash|leak|timeout|oom)-')
		return 1
	fi
	grep -E '^#[0-9]+[[:space:]]+DONE' "$work/log" || tail -n 1 "$work/log"
	rm -rf "$work"
}
for t in frame config session json strings websocket; do
	sb_fuzz "$t" 20
done

echo "==> unit tests (Release build)"
ctest --test-dir "$SB_ROOT/build-release" --output-on-failure -j2 -L unit

echo "==> test suite (plain build)"
ctest --test-dir "$SB_ROOT/build" --output-on-failure -j2

echo "==> test suite (ASan + UBSan build)"
export ASAN_OPTIONS=detect_leaks=1:abort_on_error=0:strict_string_checks=1
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
ctest --test-dir "$SB_ROOT/build-asan" --output-on-failure -j2

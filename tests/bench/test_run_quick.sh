#!/usr/bin/env bash
# bench/run.sh --quick prints its table and every row has a number. Never
# asserts a speed (speed belongs to bench/, on a quiet machine): only that
# the one command runs end to end and measures something for each figure.
#   test_run_quick.sh SOURCE_DIR BUILD_DIR
set -euo pipefail
SRC=$1
BUILD=$2
ARGS=(--quick --build "$BUILD" --secs 2)
# The peer needs node and its npm packages; without them (no registry in CI)
# its rows are skipped, not faked.
if ! command -v node >/dev/null || [ ! -d "$SRC/bench/peers/bullmq/node_modules/bullmq" ]; then
	echo "test_run_quick: no node or no bench/peers/bullmq/node_modules: peer rows skipped"
	ARGS+=(--no-peer)
	PEER=0
else
	PEER=1
fi
rc=0
out=$(bash "$SRC/bench/run.sh" "${ARGS[@]}" 2>&1) || rc=$?
if [ "$rc" != 0 ]; then echo "$out"; echo "FAIL: run.sh exited $rc"; exit 1; fi
echo "$out"
table=$(printf '%s\n' "$out" | sed -n '/^=== Switchboard, measured side by side/,$p' | tail -n +3)
[ -n "$table" ] || { echo "FAIL: no table"; exit 1; }
n=0
bad=0
while IFS= read -r line; do
	n=$((n + 1))
	measured=$(printf '%s' "$line" | cut -c53-67)
	if [ "$PEER" = 0 ] && printf '%s' "$line" | grep -q 'BullMQ'; then
		continue
	fi
	if ! printf '%s' "$measured" | grep -Eq '[0-9]'; then
		echo "FAIL: row without a number: $line"
		bad=1
	fi
done <<< "$table"
[ "$n" -ge 20 ] || { echo "FAIL: only $n rows"; exit 1; }
[ "$bad" = 0 ] || exit 1
# Nothing left running: every redis-server and daemon was stopped (their
# logs are removed only after a clean end).
if printf '%s\n' "$out" | grep -q 'logs kept in'; then echo "FAIL: run.sh kept its logs (an error)"; exit 1; fi
echo "test_run_quick: $n rows, all with numbers"

#!/usr/bin/env bash
# bench/sb-check finds each kind of broken promise it is for, and only those:
# a journal of what clients were told, Redis state written by hand beside
# it (and a daemon that holds none of it, for memory != redis), and the
# counts sb-check reports. Starts its own redis-server and daemon on free
# loopback ports.
#
#   test_sb_check.sh SOURCE_DIR BUILD_DIR
set -uo pipefail
SRC=${1:?source dir}
BUILD=${2:?build dir}
. "$SRC/bench/sb-lib.sh"

CHECK=$BUILD/bench/sb-check
DAEMON=$BUILD/switchboard
TMP=$(mktemp -d "${TMPDIR:-/tmp}/sb-check-test-XXXXXX")
REDIS_PID= DAEMON_PID=
fail=0
cleanup() {
	sb_stop "$DAEMON_PID" "$REDIS_PID"
	if [ "$fail" = 0 ]; then rm -rf "$TMP"; else echo "kept $TMP"; fi
}
trap cleanup EXIT

RANDOM=$$
sb_free_port; RP=$SB_PORT
sb_free_port; GW=$SB_PORT
sb_free_port; AG=$SB_PORT
sb_free_port; AD=$SB_PORT
sb_write_config "$TMP/d.yaml" chk "127.0.0.1:$GW" "127.0.0.1:$AG" "127.0.0.1:$RP" "127.0.0.1:$AD" 1 2 1
sb_start_redis REDIS_PID "$RP" "$TMP" always "$TMP/redis.log" || { echo "FAIL: redis"; fail=1; exit 1; }
sb_start_daemon DAEMON_PID "$DAEMON" "$TMP/d.yaml" "$TMP/daemon.log" || { echo "FAIL: daemon"; fail=1; exit 1; }

r() { redis-cli -p "$RP" "$@" >/dev/null; }
# hash ID STATE AGENT: a whole contact hash.
hash() {
	r HSET "sb:{chk}:contact:$1" id "$1" gateway gw1 external_id "e-$1" channel chat queue chat-q \
		payload "pb-$1" state "$2" agent "${3:-}"
}
ev() { r XADD "sb:{chk}:events" '*' event "$1" contact "$2" agent "${3:-}" event_id "$2/$4"; }

# c1: clean. c2: no hash. c3: a hash recreated without its contents.
# c4: waiting, not in the open set. c5: confirmed to agentB, Redis says
# agentC. c6: confirmed to two agents. c7: two agents with a requeue between
# (fine). c8: two agents in the stream only. c9: open after the settle time,
# and not in the daemon. c10: completion told, Redis still assigned.
# c11: finished inside the loss window, gone (forgiven). c12: finished after
# it, gone (lost, and its completion without record). The event c1/1 is
# in the stream twice.
hash c1 completed agentA; ev submitted c1 "" 1; ev submitted c1 "" 1; ev assigned c1 agentA 2
ev completed c1 agentA 3
r HSET "sb:{chk}:contact:c3" state completed agent agentA
hash c4 waiting
hash c5 completed agentC; ev assigned c5 agentC 2
hash c6 completed agentB; ev assigned c6 agentA 2; ev assigned c6 agentB 3
hash c7 completed agentB; ev assigned c7 agentA 2; ev requeued c7 agentA 3; ev assigned c7 agentB 4
hash c8 completed agentB; ev assigned c8 agentA 2; ev assigned c8 agentB 3
hash c9 assigned agentA; ev assigned c9 agentA 2; r SADD "sb:{chk}:open" c9
hash c10 assigned agentA; ev assigned c10 agentA 2; r SADD "sb:{chk}:open" c10
cat > "$TMP/journal.txt" <<'EOF'
ack c1 e-c1 50
assign c1 agentA 50
complete c1 agentA 50
ack c2 e-c2 50
ack c3 e-c3 50
ack c4 e-c4 50
ack c5 e-c5 50
assign c5 agentB 50
ack c6 e-c6 50
assign c6 agentA 50
assign c6 agentB 50
ack c7 e-c7 50
assign c7 agentA 50
assign c7 agentB 50
ack c8 e-c8
ack c9 e-c9 50
assign c9 agentA 50
ack c10 e-c10 50
assign c10 agentA 50
complete c10 agentA 50
ack c11 e-c11 100
assign c11 agentA 200
complete c11 agentA 300
ack c12 e-c12 100
complete c12 agentA 500
EOF

out=$("$CHECK" --redis "127.0.0.1:$RP" --site chk --journal "$TMP/journal.txt" --admin "127.0.0.1:$AD" \
	--loss-window 250-400 --settle-ms 200 --json 2>&1)
st=$?
echo "$out"
json=$(printf '%s\n' "$out" | grep '^{' | tail -1)
expect() {
	local got
	got=$(sb_json_num "$json" "$1")
	if [ "$got" != "$2" ]; then
		echo "FAIL: $1 is ${got:-missing}, want $2"
		fail=1
	fi
}
expect acknowledged 12
expect lost 4
expect confirmed_without_record 3
expect double_assigned 2
expect stuck 2
expect duplicate_events 1
expect memory_vs_redis 2
expect forgiven 1
[ "$st" = 1 ] || { echo "FAIL: exit $st, want 1"; fail=1; }
for id in c2: c3: c4: "c5 to agentB" "c6 confirmed" "c8 assigned" "c9 still open" "c10 completed" c12: c1/1; do
	printf '%s\n' "$out" | grep -q -- "$id" || { echo "FAIL: '$id' not named"; fail=1; }
done
for id in "c7 " "c11"; do
	printf '%s\n' "$out" | grep -v '^sb-check:' | grep -q -- " $id" && { echo "FAIL: '$id' reported"; fail=1; }
done

# The same Redis without the broken contacts, and without the loss window:
# c11 is then lost too (no hash).
out2=$("$CHECK" --redis "127.0.0.1:$RP" --site chk --journal "$TMP/journal.txt" --json 2>&1)
json=$(printf '%s\n' "$out2" | grep '^{' | tail -1)
expect lost 5
expect forgiven 0
expect confirmed_without_record 5
expect memory_vs_redis -1
[ "$fail" = 0 ] && echo "PASS"
exit "$fail"

#!/usr/bin/env bash
# chaos-kill.sh: kill -9 the daemon again and again under load, then check
# that nothing acknowledged was lost, assigned twice or left stuck.
#
# Starts a private redis-server and a switchboard daemon on free loopback
# ports in a temporary directory, runs bench/sb-load against them (every
# client reconnects through sbsession; unacknowledged submits are retried
# with the same external id), and kills the daemon with SIGKILL at random
# intervals, restarting it each time on the same config and Redis. After the
# last kill the load stops, the clients finish what is open, and sb-load
# compares its journal with Redis. The CI version of this is
# tests/integration/test_durability.c (20 kills); this runs as long as asked.
#
#   bench/chaos-kill.sh [--build DIR] [--kills N] [--min-gap S] [--max-gap S]
#                       [--rate R] [--gateways N] [--agents M] [--fsync always|everysec]
#                       [--settle S] [--seed N] [--keep]
#
# Prints one line per kill (how long the restarted daemon took to serve
# again) and at the end: kills, contacts, lost / double-assigned / stuck.
# Exit status 0 when all three are 0 and every contact finished within the
# settle time (default 120 s; keep --rate within what the agents can handle,
# or the backlog outlasts it), 1 otherwise.
set -euo pipefail
. "$(dirname "$0")/sb-lib.sh"

BUILD=${BUILD:-build}
KILLS=100
MIN_GAP=0.3
MAX_GAP=1.5
RATE=200
GATEWAYS=2
AGENTS=16
SETTLE=120
FSYNC=everysec
SEED=$(date +%s)
KEEP=0

usage() { sed -n '2,22p' "$0" | sed 's/^# \{0,1\}//'; exit "${1:-2}"; }
while [ $# -gt 0 ]; do
	case "$1" in
	--build) BUILD=$2; shift 2 ;;
	--kills) KILLS=$2; shift 2 ;;
	--min-gap) MIN_GAP=$2; shift 2 ;;
	--max-gap) MAX_GAP=$2; shift 2 ;;
	--rate) RATE=$2; shift 2 ;;
	--gateways) GATEWAYS=$2; shift 2 ;;
	--agents) AGENTS=$2; shift 2 ;;
	--fsync) FSYNC=$2; shift 2 ;;
	--settle) SETTLE=$2; shift 2 ;;
	--seed) SEED=$2; shift 2 ;;
	--keep) KEEP=1; shift ;;
	-h|--help) usage 0 ;;
	*) echo "chaos-kill.sh: unknown option $1" >&2; usage ;;
	esac
done

DAEMON=$BUILD/switchboard
LOAD=$BUILD/bench/sb-load
for f in "$DAEMON" "$LOAD"; do
	[ -x "$f" ] || { echo "chaos-kill.sh: $f not found (build first, or --build DIR)" >&2; exit 2; }
done
command -v redis-server >/dev/null || { echo "chaos-kill.sh: redis-server not installed" >&2; exit 2; }
case "$FSYNC" in always|everysec) ;; *) echo "chaos-kill.sh: --fsync always|everysec" >&2; exit 2 ;; esac

RANDOM=$((SEED % 32768))
TMP=$(mktemp -d "${TMPDIR:-/tmp}/sb-chaos-XXXXXX")
REDIS_PID=
DAEMON_PID=
LOAD_PID=
OK=0

cleanup() {
	# Only the processes this script started, by pid.
	for p in $LOAD_PID $DAEMON_PID $REDIS_PID; do
		kill "$p" 2>/dev/null || true
	done
	for p in $LOAD_PID $DAEMON_PID $REDIS_PID; do
		wait "$p" 2>/dev/null || true
	done
	if [ "$KEEP" = 1 ] || [ "$OK" != 1 ]; then
		echo "logs kept in $TMP" >&2
	else
		rm -rf "$TMP"
	fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

sb_free_port; REDIS_PORT=$SB_PORT
sb_free_port; GW_PORT=$SB_PORT
sb_free_port; AG_PORT=$SB_PORT

# The config: a few queues, N gateways, M agents; secrets are throwaway.
sb_write_config "$TMP/switchboard.yaml" chaos "127.0.0.1:$GW_PORT" "127.0.0.1:$AG_PORT" \
	"127.0.0.1:$REDIS_PORT" "" "$GATEWAYS" "$AGENTS" "$SEED"

sb_start_redis REDIS_PID "$REDIS_PORT" "$TMP" "$FSYNC" "$TMP/redis.log" ||
	{ echo "chaos-kill.sh: redis-server did not start (see $TMP/redis.log)" >&2; exit 1; }

# Starts the daemon and waits until it serves (one more "leader: serving").
start_daemon() { sb_start_daemon DAEMON_PID "$DAEMON" "$TMP/switchboard.yaml" "$TMP/switchboard.log"; }

start_daemon
echo "chaos: seed $SEED, $KILLS kills every $MIN_GAP-$MAX_GAP s, $RATE contacts/s," \
	"$GATEWAYS gateways, $AGENTS agents, appendfsync $FSYNC, dir $TMP"

"$LOAD" --config "$TMP/switchboard.yaml" --check-redis "127.0.0.1:$REDIS_PORT" --site chaos \
	--rate "$RATE" --duration 86400 --mix voice=30,chat=50,email=10,social=10 \
	--tiers gold=30,standard=70 --accept-ms 0-20 --handle-ms 10-100 --settle-ms "$((SETTLE * 1000))" \
	--journal "$TMP/journal.txt" --json > "$TMP/load.json" 2> "$TMP/load.log" &
LOAD_PID=$!
sleep 1

worst=0
total=0
for k in $(seq "$KILLS"); do
	gap=$(awk -v a="$MIN_GAP" -v b="$MAX_GAP" -v r="$RANDOM" 'BEGIN { printf "%.3f", a + (b - a) * r / 32767 }')
	sleep "$gap"
	kill -9 "$DAEMON_PID"
	wait "$DAEMON_PID" 2>/dev/null || true
	t0=$(sb_now_ms)
	start_daemon
	dt=$(( $(sb_now_ms) - t0 ))
	total=$((total + dt))
	[ "$dt" -gt "$worst" ] && worst=$dt
	echo "kill $k after ${gap}s: serving again in ${dt} ms"
done

sleep 1
kill -INT "$LOAD_PID"
status=0
wait "$LOAD_PID" || status=$?
LOAD_PID=

report=$(cat "$TMP/load.json")
num() { sb_json_num "$report" "$1"; }
contacts=$(num acknowledged)
lost=$(num lost)
double=$(num double_assigned)
stuck=$(num stuck)
finished=$(num finished)
open=$(( ${contacts:-0} - ${finished:-0} ))
echo "$report"
echo "chaos: kills $KILLS  contacts $contacts  lost ${lost:-?}  double-assigned ${double:-?}" \
	"stuck ${stuck:-?}  finished ${finished:-?} (still open: $open)  restart-to-serving mean $((total / KILLS)) ms," \
	"max $worst ms  (sb-load exit $status)"
if [ "$status" = 0 ] && [ "${lost:-1}" = 0 ] && [ "${double:-1}" = 0 ] && [ "${stuck:-1}" = 0 ] &&
	[ "${finished:-x}" = "${contacts:-y}" ]; then
	OK=1
	exit 0
fi
exit 1

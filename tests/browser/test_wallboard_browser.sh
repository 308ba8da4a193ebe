#!/usr/bin/env bash
# The wallboard in a real browser: starts a private redis-server and the
# daemon on free loopback ports with config/demo.yaml's queues and agents,
# drives demo traffic (sbctl demo), and has headless Chromium check the page
# (tests/browser/wallboard_browser.c): figures appear and change, both screen
# sizes fit, the token flow works; screenshots are saved in OUTDIR.
#
# usage: test_wallboard_browser.sh SOURCE_DIR SWITCHBOARD SBCTL DRIVER OUTDIR
# Exit 77 (skipped) only when Chromium is not installed and cannot be.
set -euo pipefail

src=$1 daemon=$2 sbctl=$3 driver=$4 outdir=$5

find_chromium() {
	command -v chromium 2>/dev/null || command -v chromium-browser 2>/dev/null || true
}
chromium=$(find_chromium)
if [ -z "$chromium" ] && [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
	echo "== installing chromium (scripts/setup.sh lists it in SB_PACKAGES)"
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium </dev/null >/dev/null 2>&1 ||
		{ apt-get update -qq </dev/null >/dev/null 2>&1 &&
		  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium </dev/null >/dev/null 2>&1; } ||
		true
	chromium=$(find_chromium)
fi
if [ -z "$chromium" ]; then
	echo "SKIP: Chromium is not installed and could not be installed (apt-get install chromium)"
	exit 77
fi
command -v redis-server >/dev/null || { echo "FAIL: redis-server not found" >&2; exit 1; }

tmp=$(mktemp -d /tmp/sb-wallboard-browser.XXXXXX)
pids=()
cleanup() {
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
	for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
	rm -rf "$tmp"
}
trap cleanup EXIT INT TERM

# A loopback port nothing listens on (and not one of the demo's), below the
# kernel's ephemeral range (32768-60999), where outgoing connections of
# tests running alongside would take ports this test has just probed.
used_ports=" 6390 7400 7401 7402 "
free_port() {
	local p
	for _ in $(seq 200); do
		p=$((20000 + RANDOM % 12000))
		case "$used_ports" in *" $p "*) continue ;; esac
		if ! (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then
			used_ports="$used_ports$p "
			echo "$p"
			return
		fi
	done
	echo "FAIL: no free port" >&2
	exit 1
}
# Starts Redis and the daemon on fresh ports; 1 when a port was taken
# between the probe and the bind (another test got there first).
start_daemon() {
	redis_port=$(free_port) gw_port=$(free_port) agent_port=$(free_port) admin_port=$(free_port)
	sed -e "s/127\.0\.0\.1:6390/127.0.0.1:$redis_port/" -e "s/127\.0\.0\.1:7400/127.0.0.1:$gw_port/" \
		-e "s/127\.0\.0\.1:7401/127.0.0.1:$agent_port/" -e "s/127\.0\.0\.1:7402/127.0.0.1:$admin_port/" \
		"$src/config/demo.yaml" >"$tmp/demo.yaml"
	redis-server --port "$redis_port" --bind 127.0.0.1 --dir "$tmp" --save '' --appendonly no \
		--daemonize no >"$tmp/redis.log" 2>&1 &
	redis_pid=$!
	pids+=($redis_pid)
	for _ in $(seq 50); do redis-cli -p "$redis_port" ping >/dev/null 2>&1 && break; sleep 0.1; done
	"$daemon" -c "$tmp/demo.yaml" >"$tmp/switchboard.log" 2>&1 &
	daemon_pid=$!
	pids+=($daemon_pid)
	for _ in $(seq 100); do
		grep -q "leader: serving" "$tmp/switchboard.log" && return 0
		kill -0 "$daemon_pid" 2>/dev/null || break
		sleep 0.1
	done
	kill "$daemon_pid" "$redis_pid" 2>/dev/null || true
	wait "$daemon_pid" "$redis_pid" 2>/dev/null || true
	return 1
}
started=0
for attempt in 1 2 3; do
	if start_daemon; then started=1; break; fi
	grep -q "Address already in use" "$tmp/switchboard.log" "$tmp/redis.log" 2>/dev/null || break
	echo "ports taken meanwhile (attempt $attempt); trying others"
done
[ "$started" = 1 ] || {
	echo "FAIL: the daemon did not start" >&2; cat "$tmp/switchboard.log" >&2; exit 1; }
token=$(sed -n 's/^  token: *//p' "$tmp/demo.yaml")
[ -n "$token" ] || { echo "FAIL: no admin token in config/demo.yaml" >&2; exit 1; }

# Busy enough that figures move within seconds; bounded in any case.
"$sbctl" demo --config "$tmp/demo.yaml" --rate 4 --duration 180 >"$tmp/demo.log" 2>&1 </dev/null &
demo_pid=$!
pids+=($demo_pid)
sleep 2

status=0
"$driver" "$chromium" "http://127.0.0.1:$admin_port/" "$token" "$outdir" || status=$?
if [ "$status" != 0 ]; then
	echo "--- switchboard.log (tail)" >&2; tail -n 30 "$tmp/switchboard.log" >&2
	echo "--- demo.log (tail)" >&2; tail -n 10 "$tmp/demo.log" >&2
	exit 1
fi
# The daemon served a browser without a fault: it stops cleanly (under
# ASan, a leak or an error would make this fail).
kill "$demo_pid" 2>/dev/null || true
wait "$demo_pid" 2>/dev/null || true
kill -TERM "$daemon_pid"
daemon_status=0
wait "$daemon_pid" || daemon_status=$?
if [ "$daemon_status" != 0 ]; then
	echo "FAIL: switchboard exited with status $daemon_status" >&2
	tail -n 40 "$tmp/switchboard.log" >&2
	exit 1
fi
echo "screenshots in $outdir"

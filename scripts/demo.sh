#!/usr/bin/env bash
# Installs what is missing, builds, starts a private Redis and the daemon with
# config/demo.yaml, and drives demo traffic (simulated gateways and agents),
# printing every routing decision until Ctrl-C, which cleans everything up.
# DEMO_RATE (contacts/s, default 0.6) is what the six demo agents serve on
# target (bench/demo-plan.yaml); sbctl demo adds a surge every 5 minutes.
set -euo pipefail
echo "==> Switchboard demo: the wallboard will be at http://127.0.0.1:7402/ (open it in a browser)"
. "$(dirname "$0")/setup.sh"
sb_install
sb_build build

run=$(mktemp -d /tmp/switchboard-demo.XXXXXX)
pids=()
cleanup() {
	trap - EXIT INT TERM
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
	wait 2>/dev/null || true
	rm -rf "$run"
	echo "==> stopped; cleaned up $run"
}
trap cleanup EXIT INT TERM

# The demo's ports are fixed (config/demo.yaml): refuse rather than talk to
# somebody else's Redis or fail to bind.
for port in 6390 7400 7401 7402; do
	if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
		echo "demo: 127.0.0.1:$port is already in use; stop what listens there first" >&2
		exit 1
	fi
done

echo "==> starting a private redis-server on 127.0.0.1:6390 (data in $run)"
redis-server --port 6390 --bind 127.0.0.1 --dir "$run" --save '' --appendonly yes \
	--appendfsync everysec --daemonize no >"$run/redis.log" 2>&1 &
pids+=($!)
for _ in $(seq 50); do redis-cli -p 6390 ping >/dev/null 2>&1 && break; sleep 0.1; done

echo "==> starting switchboard with config/demo.yaml (log: $run/switchboard.log)"
"$SB_ROOT/build/switchboard" -c "$SB_ROOT/config/demo.yaml" >"$run/switchboard.log" 2>&1 &
pids+=($!)
for _ in $(seq 50); do grep -q "leader: serving" "$run/switchboard.log" && break; sleep 0.1; done
grep -q "leader: serving" "$run/switchboard.log" || { cat "$run/switchboard.log"; exit 1; }
cat <<EOT
==> switchboard is routing: gateways on 127.0.0.1:7400, agents on 127.0.0.1:7401
    Wallboard:    http://127.0.0.1:7402/   (live queues, SLAs and agents; docs/wallboard.md)
    Redis state:  redis-cli -p 6390 --scan --pattern 'sb:{demo}:*'
    Events:       redis-cli -p 6390 XRANGE 'sb:{demo}:events' - + COUNT 10
    Admin API:    curl -s 127.0.0.1:7402/v1/queues   (or: build/sbctl queues; docs/admin-api.md)
    Press Ctrl-C to stop.
EOT
"$SB_ROOT/build/sbctl" demo --config "$SB_ROOT/config/demo.yaml" --rate "${DEMO_RATE:-0.6}" &
pids+=($!)
wait "${pids[-1]}" || true

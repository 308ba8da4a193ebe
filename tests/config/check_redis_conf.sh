#!/usr/bin/env bash
# config/redis.conf loads in this machine's redis-server and says what the
# docs promise: AOF on, fsync before every acknowledgement, no eviction.
set -euo pipefail
conf=$1
dir=$(mktemp -d)
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
cleanup() { redis-cli -p "$port" shutdown nosave >/dev/null 2>&1 || true; rm -rf "$dir"; }
trap cleanup EXIT
redis-server "$conf" --port "$port" --dir "$dir" --daemonize no >"$dir/log" 2>&1 &
for _ in $(seq 50); do redis-cli -p "$port" ping >/dev/null 2>&1 && break; sleep 0.1; done
redis-cli -p "$port" ping >/dev/null || { cat "$dir/log"; echo "redis-server refused $conf"; exit 1; }
want() {
	local got
	got=$(redis-cli -p "$port" --raw CONFIG GET "$1" | sed -n 2p)
	[ "$got" = "$2" ] || { echo "$1 is '$got', expected '$2'"; exit 1; }
	echo "ok: $1 $2"
}
want appendonly yes
want appendfsync always
want maxmemory-policy noeviction
want no-appendfsync-on-rewrite no

#!/usr/bin/env bash
# faults.sh: the fault-injection run of issue 13 ("Done when"). Each case runs
# a private Redis and daemon(s) under load from bench/sb-load, injects one
# fault mid-load, stops the load, lets the clients finish what is open, and
# ends with bench/sb-check, which holds what the clients were told (sb-load's
# journal) against Redis, and the daemon's open contacts (admin API) against
# Redis's open set, without sb-load's own view. bench/README.md, "Fault
# injection", says what each case does and how to read the table.
#
#   bench/faults.sh [--build DIR] [--quick] [--case NAME]... [--keep] [--seed N]
#                   [--rate R] [--agents M] [--gateways N]
#
# Cases (all by default, in this order): kill-always, kill-everysec, stop,
# oom, disk-full, power-cut, flushall, partition.
#   --quick   shorter cases (CI: the whole run in under 2 minutes)
#   --keep    keep every case's directory (logs, journal, Redis files); a
#             failed case's is always kept
#   --forgive let sb-check forgive what a flush or power cut took by design
#             (--loss-window): for a daemon that cannot write back contacts
#             that finished just before; Switchboard's does, so by default
#             nothing is forgiven
# partition needs sb-proxy (build/tests/tools/sb-proxy, or $SB_PROXY);
# disk-full needs to mount a tmpfs (root). Either is skipped, saying why,
# when it cannot run.
#
# Prints a line per case and a table at the end. Exit status 0 when every
# case that ran is clean, 1 otherwise, 2 for bad usage.
set -uo pipefail
. "$(dirname "$0")/sb-lib.sh"

BUILD=${BUILD:-build}
QUICK=0
KEEP=0
FORGIVE=0
SEED=$(date +%s)
RATE=200
AGENTS=16
GATEWAYS=2
CASES=()
ALL_CASES=(kill-always kill-everysec stop oom disk-full power-cut flushall partition)

usage() { sed -n '2,27p' "$0" | sed 's/^# \{0,1\}//'; exit "${1:-2}"; }
while [ $# -gt 0 ]; do
	case "$1" in
	--build) BUILD=$2; shift 2 ;;
	--quick) QUICK=1; shift ;;
	--case) CASES+=("$2"); shift 2 ;;
	--keep) KEEP=1; shift ;;
	--forgive) FORGIVE=1; shift ;;
	--seed) SEED=$2; shift 2 ;;
	--rate) RATE=$2; shift 2 ;;
	--agents) AGENTS=$2; shift 2 ;;
	--gateways) GATEWAYS=$2; shift 2 ;;
	-h|--help) usage 0 ;;
	*) echo "faults.sh: unknown option $1" >&2; usage ;;
	esac
done
[ ${#CASES[@]} -gt 0 ] || CASES=("${ALL_CASES[@]}")
for c in "${CASES[@]}"; do
	case " ${ALL_CASES[*]} " in *" $c "*) ;; *) echo "faults.sh: no case '$c' (${ALL_CASES[*]})" >&2; exit 2 ;; esac
done

DAEMON=$BUILD/switchboard
LOAD=$BUILD/bench/sb-load
CHECK=$BUILD/bench/sb-check
PROXY=${SB_PROXY:-$BUILD/tests/tools/sb-proxy}
for f in "$DAEMON" "$LOAD" "$CHECK"; do
	[ -x "$f" ] || { echo "faults.sh: $f not found (build first, or --build DIR)" >&2; exit 2; }
done
for t in redis-server redis-cli curl; do
	command -v "$t" >/dev/null || { echo "faults.sh: $t not installed" >&2; exit 2; }
done

# Timing (seconds): the load lasts DURATION; the fault comes FAULT_AT into
# it; a fault that lasts is held HOLD; then the clients get SETTLE to finish
# what is open, and sb-check waits up to CHECK_SETTLE more for the open set.
if [ "$QUICK" = 1 ]; then
	DURATION=9 FAULT_AT=2.5 HOLD=4 SETTLE=6 CHECK_SETTLE=2
else
	DURATION=25 FAULT_AT=8 HOLD=5 SETTLE=20 CHECK_SETTLE=5
fi
LEASE_MS=1500 # partition: the freeze lasts twice this

RANDOM=$((SEED % 32768))
TMP=$(mktemp -d "${TMPDIR:-/tmp}/sb-faults-XXXXXX")
PIDS=()   # every process of the current case, for the cleanup
MOUNTS=() # tmpfs mounted by this run
FAILED=0

cleanup() {
	sb_stop "${PIDS[@]}"
	local m
	for m in "${MOUNTS[@]}"; do umount "$m" 2>/dev/null || true; done
	if [ "$KEEP" = 1 ] || [ "$FAILED" != 0 ]; then
		echo "faults.sh: logs kept in $TMP" >&2
	else
		rm -rf "$TMP"
	fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# ---- helpers ---------------------------------------------------------------

say() { printf '  %-14s %s\n' "$CASE" "$*" >&2; }

# ms since the epoch, as a decimal with a fraction of seconds for sleep.
sleep_until() { # sleep_until T_MS
	local now d
	now=$(sb_now_ms)
	d=$(( $1 - now ))
	[ "$d" -gt 0 ] && sleep "$(awk -v d="$d" 'BEGIN { printf "%.3f", d / 1000 }')"
	return 0
}
secs_ms() { awk -v s="$1" 'BEGIN { printf "%d", s * 1000 }'; }

rcli() { redis-cli -p "$REDIS_PORT" "$@"; }

# HTTP status of an admin GET, 000 when it does not answer.
http_status() { curl -s -o /dev/null -m 1 -w '%{http_code}' "http://$1$2" 2>/dev/null || true; }

# The newest stream entry's time (ms), 0 when none or unreadable.
stream_head_ms() {
	local id
	id=$(redis-cli -p "$REDIS_PORT" XREVRANGE "sb:{$SITE}:events" + - COUNT 1 2>/dev/null | head -1)
	case "$id" in [0-9]*-[0-9]*) echo "${id%%-*}" ;; *) echo 0 ;; esac
}

# Time from T0 (ms) until a daemon serves again: one answers /readyz 200 and
# the events stream then gains an entry (a write went through). Polls every
# 50 ms for up to 30 s; sets SERVE_MS (or "never").
measure_serve() {
	local t0=$1 ready=0 a now
	SERVE_MS=never
	while :; do
		now=$(sb_now_ms)
		[ $((now - t0)) -gt 30000 ] && return
		if [ "$ready" = 0 ]; then
			for a in "${ADMINS[@]}"; do
				if [ "$(http_status "$a" /readyz)" = 200 ]; then
					ready=$now
					break
				fi
			done
		fi
		if [ "$ready" != 0 ] && [ "$(stream_head_ms)" -ge "$ready" ]; then
			SERVE_MS=$(( $(sb_now_ms) - t0 ))
			return
		fi
		sleep 0.05
	done
}

# Data loss the daemons reported: switchboard_redis_data_loss_total summed
# over their /metrics, else lines of their logs that say so. Sets LOSS_SEEN.
data_loss_seen() {
	local a v total=0 metric=0 logs=0 f
	for a in "${ADMINS[@]}"; do
		v=$(curl -s -m 2 "http://$a/metrics" 2>/dev/null |
			awk '/^switchboard_redis_data_loss_total/ { s += $NF; m = 1 } END { if (m) printf "%d", s }')
		if [ -n "$v" ]; then
			metric=1
			total=$((total + v))
		fi
	done
	for f in "$CASE_DIR"/daemon*.log; do
		logs=$((logs + $(grep -ciE 'data loss|lost (its )?data|rolled back|rollback' "$f" 2>/dev/null || true)))
	done
	if [ "$total" -gt 0 ] || [ "$logs" -gt 0 ]; then
		LOSS_SEEN="yes"
	elif [ "$metric" = 1 ]; then
		LOSS_SEEN="no"
	else
		LOSS_SEEN="no(-)" # neither the metric nor a log line exists
	fi
}

# The incr file of Redis's multi-part AOF (the manifest's last "type i").
aof_incr() {
	local dir=$1 m
	m=$(ls "$dir"/appendonlydir/*.manifest 2>/dev/null | head -1)
	[ -n "$m" ] || return 1
	echo "$dir/appendonlydir/$(awk '$NF == "i" || /type i/ { f = $2 } END { print f }' "$m")"
}

info_field() { rcli INFO "$1" 2>/dev/null | tr -d '\r' | awk -F: -v k="$2" '$1 == k { print $2 }'; }

# ---- one case ----------------------------------------------------------------

# Starts Redis for the case; REDIS_DIR and REDIS_ARGS are kept for a restart.
start_redis() {
	sb_start_redis REDIS_PID "$REDIS_PORT" "$REDIS_DIR" "$FSYNC" "$CASE_DIR/redis.log" \
		"${REDIS_ARGS[@]}" || { say "redis-server did not start (see redis.log)"; return 1; }
	PIDS+=("$REDIS_PID")
}

kill9_redis() {
	kill -KILL "$REDIS_PID" 2>/dev/null
	wait "$REDIS_PID" 2>/dev/null
}

# Writes the case's config(s) and starts its daemon(s), sets ADMINS, GW, AG.
start_daemons() {
	local gw ag adm
	sb_free_port; gw=127.0.0.1:$SB_PORT
	sb_free_port; ag=127.0.0.1:$SB_PORT
	sb_free_port; adm=127.0.0.1:$SB_PORT
	if [ "$CASE" != partition ]; then
		SB_CFG_EXTRA= sb_write_config "$CASE_DIR/daemon.yaml" "$SITE" "$gw" "$ag" \
			"127.0.0.1:$REDIS_PORT" "$adm" "$GATEWAYS" "$AGENTS" "$SEED"
		sb_start_daemon DAEMON_PID "$DAEMON" "$CASE_DIR/daemon.yaml" "$CASE_DIR/daemon.log" || return 1
		PIDS+=("$DAEMON_PID")
		ADMINS=("$adm") GW=$gw AG=$ag
		return 0
	fi
	# partition: the leader (a) reaches Redis through the proxy, the
	# standby (b) directly.
	local gw2 ag2 adm2
	sb_free_port; gw2=127.0.0.1:$SB_PORT
	sb_free_port; ag2=127.0.0.1:$SB_PORT
	sb_free_port; adm2=127.0.0.1:$SB_PORT
	sb_free_port; PROXY_PORT=$SB_PORT
	"$PROXY" "127.0.0.1:$PROXY_PORT" "127.0.0.1:$REDIS_PORT" > "$CASE_DIR/proxy.out" 2>&1 &
	PROXY_PID=$!
	PIDS+=("$PROXY_PID")
	sb_wait_log "$CASE_DIR/proxy.out" '^ready' 0 5000 "$PROXY_PID" ||
		{ say "sb-proxy did not say ready (see proxy.out)"; return 1; }
	SB_CFG_EXTRA="ha:\n  node_id: node-a\n  lease_ms: $LEASE_MS\n" sb_write_config \
		"$CASE_DIR/daemon-a.yaml" "$SITE" "$gw" "$ag" "127.0.0.1:$PROXY_PORT" "$adm" \
		"$GATEWAYS" "$AGENTS" "$SEED"
	SB_CFG_EXTRA="ha:\n  node_id: node-b\n  lease_ms: $LEASE_MS\n" sb_write_config \
		"$CASE_DIR/daemon-b.yaml" "$SITE" "$gw2" "$ag2" "127.0.0.1:$REDIS_PORT" "$adm2" \
		"$GATEWAYS" "$AGENTS" "$SEED"
	sb_start_daemon DAEMON_PID "$DAEMON" "$CASE_DIR/daemon-a.yaml" "$CASE_DIR/daemon-a.log" || return 1
	PIDS+=("$DAEMON_PID")
	sb_start_daemon STANDBY_PID "$DAEMON" "$CASE_DIR/daemon-b.yaml" "$CASE_DIR/daemon-b.log" \
		"standby:" || return 1
	PIDS+=("$STANDBY_PID")
	ADMINS=("$adm" "$adm2") GW="$gw,$gw2" AG="$ag,$ag2"
}

# The fault, FAULT_AT into the load. Sets FAULT_END (ms; the time "serving
# again" is measured from) and, where Redis may lose writes by design,
# LOSS_WINDOW ("FROM-TO" ms) and LOSS_EXPECTED (1: the daemon must notice).
inject() {
	local t
	case "$CASE" in
	kill-always|kill-everysec)
		kill9_redis
		start_redis || return 1
		FAULT_END=$(sb_now_ms)
		say "Redis killed (-9) and restarted on its files"
		;;
	stop)
		kill -STOP "$REDIS_PID"
		sleep "$HOLD"
		kill -CONT "$REDIS_PID"
		FAULT_END=$(sb_now_ms)
		say "Redis stopped (SIGSTOP) for ${HOLD}s"
		;;
	oom)
		local used
		used=$(info_field memory used_memory)
		rcli CONFIG SET maxmemory-policy noeviction >/dev/null
		rcli CONFIG SET maxmemory $((used + 262144)) >/dev/null
		t=$(sb_now_ms)
		sleep "$HOLD"
		rcli CONFIG SET maxmemory 0 >/dev/null
		FAULT_END=$(sb_now_ms)
		say "maxmemory $((used + 262144)) (used $used + 256 KiB), noeviction, for ${HOLD}s;" \
			"OOM errors: $(info_field stats total_error_replies) error replies in all"
		;;
	disk-full)
		local misconf=no
		dd if=/dev/zero of="$REDIS_DIR/filler" bs=64k >/dev/null 2>&1
		t=$(sb_now_ms)
		for _ in $(seq 100); do
			if [ "$(info_field persistence aof_last_write_status)" = err ]; then
				misconf=yes
				break
			fi
			sleep 0.05
		done
		sleep "$HOLD"
		rm -f "$REDIS_DIR/filler"
		FAULT_END=$(sb_now_ms)
		say "the AOF's tmpfs filled for ${HOLD}s (Redis's AOF write failed: $misconf)"
		;;
	power-cut)
		local incr size_sync size_kill t_sync
		incr=$(aof_incr "$REDIS_DIR") || { say "no AOF manifest in $REDIS_DIR"; return 1; }
		for _ in $(seq 40); do
			[ "$(info_field persistence aof_pending_bio_fsync)" = 0 ] && break
			sleep 0.025
		done
		size_sync=$(stat -c %s "$incr")
		t_sync=$(sb_now_ms)
		sleep 0.5
		kill9_redis
		t=$(sb_now_ms)
		size_kill=$(stat -c %s "$incr")
		truncate -s "$size_sync" "$incr"
		start_redis || return 1
		FAULT_END=$(sb_now_ms)
		LOSS_WINDOW="$t_sync-$t"
		[ "$size_kill" -gt "$size_sync" ] && LOSS_EXPECTED=1
		say "AOF cut back from $size_kill to $size_sync bytes (the last $((t - t_sync)) ms), Redis restarted"
		;;
	flushall)
		rcli FLUSHALL >/dev/null
		FAULT_END=$(sb_now_ms)
		LOSS_WINDOW="0-$FAULT_END"
		LOSS_EXPECTED=1
		say "FLUSHALL"
		;;
	partition)
		local freeze_ms=$((2 * LEASE_MS))
		kill -STOP "$PROXY_PID"
		FAULT_END=$(sb_now_ms) # serving again: the standby's take-over, from the freeze
		( sleep "$(awk -v m="$freeze_ms" 'BEGIN { printf "%.3f", m / 1000 }')"; kill -CONT "$PROXY_PID" ) &
		PIDS+=($!)
		say "the leader's proxy to Redis frozen (SIGSTOP) for $freeze_ms ms (lease $LEASE_MS ms)"
		;;
	esac
}

# Runs case $1 and appends its row to ROWS.
run_case() {
	CASE=$1
	CASE_DIR=$TMP/$CASE
	local n=2
	while [ -e "$CASE_DIR" ]; do CASE_DIR=$TMP/$CASE.$n; n=$((n + 1)); done # --case X --case X
	SITE=${CASE//-/}
	PIDS=()
	REDIS_ARGS=(--auto-aof-rewrite-percentage 0)
	LOSS_WINDOW=
	LOSS_EXPECTED=0
	FAULT_END=
	DAEMON_PID= STANDBY_PID=
	SERVE_MS=-
	LOSS_SEEN=-
	local row_status="clean" why=() t_start load_status=0 report check_out
	mkdir -p "$CASE_DIR"
	case "$CASE" in
	kill-always|stop|oom|flushall|partition) FSYNC=always ;;
	*) FSYNC=everysec ;;
	esac
	REDIS_DIR=$CASE_DIR/redis
	mkdir -p "$REDIS_DIR"
	if [ "$CASE" = disk-full ]; then
		if ! mount -t tmpfs -o size=64m tmpfs "$REDIS_DIR" 2>"$CASE_DIR/mount.err"; then
			say "SKIPPED: cannot mount a tmpfs ($(head -1 "$CASE_DIR/mount.err"))"
			ROWS+=("$CASE|-|-|-|-|-|-|-|-|-|-|-|-|skipped")
			SKIPPED=$((SKIPPED + 1))
			return
		fi
		MOUNTS+=("$REDIS_DIR")
	fi
	if [ "$CASE" = partition ] && [ ! -x "$PROXY" ]; then
		say "SKIPPED: no sb-proxy at $PROXY (build the sb-proxy target, or set SB_PROXY)"
		ROWS+=("$CASE|-|-|-|-|-|-|-|-|-|-|-|-|skipped")
		SKIPPED=$((SKIPPED + 1))
		return
	fi
	sb_free_port; REDIS_PORT=$SB_PORT
	if ! start_redis || ! start_daemons; then
		ROWS+=("$CASE|-|-|-|-|-|-|-|-|-|-|-|-|ERROR")
		FAILED=$((FAILED + 1))
		sb_stop "${PIDS[@]}"
		return
	fi
	local terms_before
	terms_before=$(cat "$CASE_DIR"/daemon*.log | grep -c "leader: serving")

	t_start=$(sb_now_ms)
	"$LOAD" --config "$CASE_DIR/daemon$([ "$CASE" = partition ] && echo -a).yaml" \
		--gateway "$GW" --agent "$AG" --check-redis "127.0.0.1:$REDIS_PORT" --site "$SITE" \
		--rate "$RATE" --duration "$DURATION" --gateways "$GATEWAYS" --agents "$AGENTS" \
		--mix voice=30,chat=50,email=10,social=10 --tiers gold=30,standard=70 \
		--accept-ms 20-100 --handle-ms 10-100 --retry-ms 500 --settle-ms "$((SETTLE * 1000))" \
		--seed "$((SEED + ${#ROWS[@]}))" --prefix "$CASE-$SEED" \
		--journal "$CASE_DIR/journal.txt" --json > "$CASE_DIR/load.json" 2> "$CASE_DIR/load.log" &
	LOAD_PID=$!
	PIDS+=("$LOAD_PID")
	# (+300 ms: the load's clock starts after the clients' first login.)
	sleep_until $((t_start + $(secs_ms "$FAULT_AT") + 300))
	if ! inject; then
		row_status="ERROR"
		why+=("injection failed")
	elif [ -n "$FAULT_END" ]; then
		measure_serve "$FAULT_END"
	fi
	# The load ends by itself (duration, then settle); bounded all the same.
	local deadline=$(( $(sb_now_ms) + (DURATION + SETTLE + 30) * 1000 ))
	while sb_alive "$LOAD_PID" && [ "$(sb_now_ms)" -lt "$deadline" ]; do sleep 0.2; done
	if sb_alive "$LOAD_PID"; then
		why+=("sb-load overran; interrupted")
		kill -INT "$LOAD_PID"
		sleep 5
	fi
	wait "$LOAD_PID" 2>/dev/null
	load_status=$?
	local p
	for p in "$DAEMON_PID" "$STANDBY_PID"; do
		[ -n "$p" ] && ! sb_alive "$p" && why+=("a daemon died (pid $p; see its log)")
	done
	report=$(grep '^{' "$CASE_DIR/load.json" | tail -1)

	local check_args=(--redis "127.0.0.1:$REDIS_PORT" --site "$SITE" --journal "$CASE_DIR/journal.txt"
		--settle-ms "$((CHECK_SETTLE * 1000))" --json)
	local a
	for a in "${ADMINS[@]}"; do check_args+=(--admin "$a"); done
	[ "$FORGIVE" = 1 ] && [ -n "$LOSS_WINDOW" ] && check_args+=(--loss-window "$LOSS_WINDOW")
	"$CHECK" "${check_args[@]}" > "$CASE_DIR/check.txt" 2>&1
	local check_status=$?
	check_out=$(grep '^{' "$CASE_DIR/check.txt" | tail -1)
	local idle_note=
	if [ "$CASE" = flushall ]; then
		# Once more with the daemon idle (the load is over and checked):
		# now the lease renewal, not a write, is the first to meet the
		# empty Redis. It must not start a term at every renewal.
		local before_idle idle_terms
		before_idle=$(cat "$CASE_DIR"/daemon*.log | grep -c "leader: serving")
		rcli FLUSHALL >/dev/null
		sleep 4
		idle_terms=$(( $(cat "$CASE_DIR"/daemon*.log | grep -c "leader: serving") - before_idle ))
		idle_note="; idle FLUSHALL: $idle_terms new terms in 4 s, /readyz $(http_status "${ADMINS[0]}" /readyz)"
	fi
	data_loss_seen
	local terms
	terms=$(( $(cat "$CASE_DIR"/daemon*.log | grep -c "leader: serving") - terms_before ))

	local acked lost double stuck dups unrec mem forgiven
	if [ -n "$check_out" ]; then
		acked=$(sb_json_num "$check_out" acknowledged)
		lost=$(sb_json_num "$check_out" lost)
		double=$(sb_json_num "$check_out" double_assigned)
		stuck=$(sb_json_num "$check_out" stuck)
		dups=$(sb_json_num "$check_out" duplicate_events)
		unrec=$(sb_json_num "$check_out" confirmed_without_record)
		mem=$(sb_json_num "$check_out" memory_vs_redis)
		forgiven=$(sb_json_num "$check_out" forgiven)
		[ "$lost" = 0 ] || why+=("lost")
		[ "$double" = 0 ] || why+=("double-assigned")
		[ "$stuck" = 0 ] || why+=("stuck")
		[ "$dups" = 0 ] || why+=("duplicate events")
		[ "$unrec" = 0 ] || why+=("confirmed without record")
		[ "$mem" = 0 ] || why+=("memory != redis")
	else
		acked=? lost=? double=? stuck=? dups=? unrec=? mem=? forgiven=?
		why+=("sb-check failed (exit $check_status; see check.txt)")
	fi
	if [ "$LOSS_EXPECTED" = 1 ] && [ "$LOSS_SEEN" != yes ]; then
		why+=("Redis lost data unnoticed")
	fi
	[ "$SERVE_MS" = never ] && why+=("not serving 30 s after the fault")
	[ "$terms" -gt 2 ] && why+=("$terms new terms (flapping)")
	local unacked refused
	unacked=$(sb_json_num "$report" unacknowledged)
	refused=$(sb_json_num "$report" refused)
	[ "${unacked:-0}" = 0 ] || why+=("$unacked submits never acknowledged")
	[ "${refused:-0}" = 0 ] || why+=("$refused submits refused for good")
	if [ ${#why[@]} -gt 0 ]; then
		[ "$row_status" = clean ] && row_status="FAIL"
		FAILED=$((FAILED + 1))
	fi
	local serve_col=$SERVE_MS
	[ "$serve_col" != never ] && [ "$serve_col" != - ] && serve_col="${SERVE_MS} ms"
	ROWS+=("$CASE|$acked|${refused:-?}|$lost|$double|$stuck|$dups|$unrec|$mem|$LOSS_SEEN|$serve_col|$forgiven|$terms|$row_status")
	local own
	own="sb-load's own check: lost $(sb_json_num "$report" lost) double $(sb_json_num "$report" double_assigned) stuck $(sb_json_num "$report" stuck), exit $load_status$idle_note"
	if [ ${#why[@]} -gt 0 ]; then
		local joined
		joined=$(printf '%s; ' "${why[@]}")
		printf '%-14s %s: %s  (%s; %s)\n' "$CASE" "$row_status" "${joined%; }" "$own" "$CASE_DIR"
	else
		printf '%-14s clean: %s contacts, serving again after %s  (%s)\n' "$CASE" "$acked" "$serve_col" "$own"
	fi
	sed -n '/^  /p' "$CASE_DIR/check.txt" | head -12 | sed 's/^/    /' >&2
	sb_stop "${PIDS[@]}"
	PIDS=()
	if [ "$CASE" = disk-full ]; then
		umount "$REDIS_DIR" 2>/dev/null && MOUNTS=()
	fi
	if [ "$KEEP" != 1 ] && [ ${#why[@]} -eq 0 ]; then
		rm -rf "$CASE_DIR"
	fi
}

# ---- the run -------------------------------------------------------------------

ROWS=()
SKIPPED=0
T_RUN=$(sb_now_ms)
echo "faults: seed $SEED, $RATE contacts/s for ${DURATION}s a case (fault at ${FAULT_AT}s)," \
	"$GATEWAYS gateways, $AGENTS agents, $([ "$QUICK" = 1 ] && echo quick || echo full) run, dir $TMP"
for c in "${CASES[@]}"; do
	run_case "$c"
done

echo
FMT='%-14s %6s %7s %5s %6s %5s %6s %10s %10s %9s %13s %8s %5s  %s\n'
printf "$FMT" case acked refused lost double stuck dup-ev unrecorded mem!=redis loss-seen \
	serving-again forgiven terms result
for r in "${ROWS[@]}"; do
	IFS='|' read -r c a rf l d s e u m ls sv f t st <<< "$r"
	printf "$FMT" "$c" "$a" "$rf" "$l" "$d" "$s" "$e" "$u" "$m" "$ls" "$sv" "$f" "$t" "$st"
done
echo "faults: ${#CASES[@]} cases, $FAILED failed, $SKIPPED skipped, $(( ($(sb_now_ms) - T_RUN) / 1000 )) s"
[ "$FAILED" = 0 ]

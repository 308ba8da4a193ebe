# sb-lib.sh: shell functions the bench scripts that run a private Redis and
# daemon share (chaos-kill.sh, faults.sh). Sourced, not run:
#
#   . "$(dirname "$0")/sb-lib.sh"
#
# Every wait is bounded; every process is started by the caller and ended by
# its pid. Functions that start a process store its pid in the variable named
# by their first argument (a $(...) subshell could not keep it as a child).

# Ports handed out by sb_free_port in this shell, so two calls never give the
# same one before either is listened on.
SB_PORTS_TAKEN=" "

# A loopback port nothing listens on, below the ephemeral range (32768-)
# where other programs' outgoing connections take theirs. Uses $RANDOM (seed
# it with RANDOM=...). Sets SB_PORT (not echoed: a $(...) subshell would
# forget the ports it handed out).
sb_free_port() {
	local p
	while :; do
		p=$((20000 + RANDOM % 12000))
		case "$SB_PORTS_TAKEN" in *" $p "*) continue ;; esac
		if ! (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then
			SB_PORTS_TAKEN="$SB_PORTS_TAKEN$p "
			SB_PORT=$p
			return
		fi
	done
}

sb_now_ms() { date +%s%3N; }

# sb_alive PID: the process runs (a zombie, exited but not reaped, does not).
sb_alive() {
	local st
	st=$(ps -o stat= -p "$1" 2>/dev/null) || return 1
	case "$st" in Z*|"") return 1 ;; esac
	return 0
}

# The number after "key": in a one-line JSON report (the first one).
sb_json_num() { printf '%s' "$1" | grep -o "\"$2\":-\{0,1\}[0-9]*" | head -1 | cut -d: -f2; }

# sb_write_config FILE SITE GW_ADDR AG_ADDR REDIS_ADDR ADMIN_ADDR GATEWAYS AGENTS SEED
# A daemon config: four queues (one per channel), GATEWAYS gateways gw1..,
# AGENTS agents agent01.., wrap-up 0, throwaway secrets derived from SEED.
# ADMIN_ADDR "" switches the admin API off. Optional, from the environment:
#   SB_CFG_REDIS  more lines of the redis: section (two-space indented)
#   SB_CFG_EXTRA  more top-level sections (e.g. "ha:\n  lease_ms: 1000\n")
sb_write_config() {
	local file=$1 site=$2 gw=$3 ag=$4 redis=$5 admin=$6 ngw=$7 nag=$8 seed=$9
	{
		cat <<EOF
site: $site
log_level: info
listen:
  gateway: "$gw"
  agent: "$ag"
redis:
  address: "$redis"
EOF
		[ -n "${SB_CFG_REDIS:-}" ] && printf '%b' "$SB_CFG_REDIS"
		cat <<EOF
sessions:
  heartbeat_ms: 1000
limits:
  frames_per_second: 100000
admin:
  listen: "$admin"
auth:
  agent_secret: "$site-agent-secret-$seed-0123456789"
customer_tiers:
  - name: gold
    sla_factor: 0.8
  - name: standard
    sla_factor: 1
channels:
  voice:
    wrapup_ms: 0
  chat:
    wrapup_ms: 0
EOF
		[ -n "${SB_CFG_EXTRA:-}" ] && printf '%b' "$SB_CFG_EXTRA"
		echo "gateways:"
		for g in $(seq "$ngw"); do
			printf '  - id: gw%d\n    secret: "%s-gw%d-secret-0123456789abcdef"\n' "$g" "$site" "$g"
		done
		cat <<EOF
queues:
  - name: voice-q
    channel: voice
  - name: chat-q
    channel: chat
  - name: email-q
    channel: email
  - name: social-q
    channel: social
agents:
EOF
		for a in $(seq "$nag"); do
			printf '  - id: agent%02d\n    name: Agent %d\n' "$a" "$a"
		done
	} > "$file"
}

# sb_redis_up PORT [TRIES]: waits (50 ms a try, 100 tries by default) until
# Redis on PORT answers PING (not LOADING). Returns 1 if it never does.
sb_redis_up() {
	local port=$1 tries=${2:-100} _
	for _ in $(seq "$tries"); do
		[ "$(redis-cli -p "$port" ping 2>/dev/null)" = PONG ] && return 0
		sleep 0.05
	done
	return 1
}

# sb_start_redis VAR PORT DIR FSYNC LOG [redis-server options...]: an AOF
# Redis on 127.0.0.1:PORT with its files in DIR; its pid goes in VAR. Waits
# until it answers (5 s at most; returns 1 otherwise).
sb_start_redis() {
	local var=$1 port=$2 dir=$3 fsync=$4 log=$5
	shift 5
	redis-server --port "$port" --bind 127.0.0.1 --dir "$dir" --save '' \
		--appendonly yes --appendfsync "$fsync" "$@" >> "$log" 2>&1 &
	printf -v "$var" '%s' $!
	sb_redis_up "$port"
}

# sb_count FILE PATTERN: lines of FILE matching PATTERN (0 if none or no file).
sb_count() { grep -c -- "$2" "$1" 2>/dev/null || true; }

# sb_wait_log FILE PATTERN BEFORE TIMEOUT_MS [PID]: waits until FILE has more
# than BEFORE lines matching PATTERN. Returns 1 on the timeout, or at once
# when PID (if given) has exited.
sb_wait_log() {
	local file=$1 pat=$2 before=${3:-0} timeout=$4 pid=${5:-} _
	for _ in $(seq $((timeout / 25))); do
		[ "$(sb_count "$file" "$pat")" -gt "$before" ] && return 0
		if [ -n "$pid" ] && ! sb_alive "$pid"; then
			return 1
		fi
		sleep 0.025
	done
	return 1
}

# sb_start_daemon VAR DAEMON CONFIG LOG [PATTERN]: starts the daemon on CONFIG
# (output appended to LOG), its pid in VAR, and waits up to 10 s for one more
# log line matching PATTERN ("leader: serving" by default; "standby:" for a
# standby). Returns 1, with a message, if it exits or times out.
sb_start_daemon() {
	local var=$1 daemon=$2 config=$3 log=$4 pat=${5:-"leader: serving"} before pid
	before=$(sb_count "$log" "$pat")
	"$daemon" -c "$config" >> "$log" 2>&1 &
	pid=$!
	printf -v "$var" '%s' "$pid"
	if ! sb_wait_log "$log" "$pat" "$before" 10000 "$pid"; then
		if sb_alive "$pid"; then
			echo "daemon not at '$pat' after 10 s (see $log)" >&2
		else
			echo "daemon exited during start-up (see $log)" >&2
		fi
		return 1
	fi
}

# sb_stop PID...: SIGTERM (and SIGCONT, in case it was stopped) to each pid
# given, then reaps them: at most 5 s each, then SIGKILL. Empty args are
# skipped. Only for children of this shell.
sb_stop() {
	local p _
	for p in "$@"; do
		[ -n "$p" ] || continue
		kill -TERM "$p" 2>/dev/null || true
		kill -CONT "$p" 2>/dev/null || true
	done
	for p in "$@"; do
		[ -n "$p" ] || continue
		for _ in $(seq 100); do
			sb_alive "$p" || break
			sleep 0.05
		done
		kill -KILL "$p" 2>/dev/null || true
		wait "$p" 2>/dev/null || true
	done
}

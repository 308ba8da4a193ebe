#!/bin/sh
# The .deb on a booted systemd: a throwaway machine made of private pid,
# mount, network, UTS and IPC namespaces over an overlay of / (writes land
# in a scratch directory; the network is its own loopback), with systemd as
# its PID 1, Redis started by its own unit, and the package installed. It
# checks what an operator would:
#  - the hardened unit starts the daemon: active, Type=notify READY reached
#    (so listeners bound and Redis ready), the status line, the live
#    `systemd-analyze security` level <= 2.0;
#  - a gateway logs in with the generated secret and submits; a wrong
#    secret is refused and journald files that line as a warning (<4>);
#  - `systemctl reload` completes (RELOADING=1 ... READY=1);
#  - Redis stopping shows in the status, and coming back restores it;
#  - with WatchdogSec=1s (a drop-in) it keeps running, so the loop's pings
#    arrive; a stopped (SIGSTOP) loop is killed and restarted;
#  - `systemctl stop` drains and exits 0; an upgrade (dpkg -i again)
#    restarts it; purge stops it and removes its files.
# Needs root (namespaces, mounts), overlayfs and redis-server installed;
# exit 77 (skipped) without them.
# usage: test_boot.sh BUILD_DIR
set -eu

build=$(cd "$1" && pwd)
BOOT_WAIT_S=60 # bound on systemd bringing the units up

fail() { echo "FAIL: $*" >&2; exit 1; }
skip() { echo "SKIPPED: $*"; exit 77; }
[ "$(id -u)" -eq 0 ] || skip "needs root for namespaces and mounts"
[ -x /lib/systemd/systemd ] || fail "/lib/systemd/systemd not found: install systemd"
[ -f /lib/systemd/system/redis-server.service ] || skip "redis-server's unit is not installed"
for tool in unshare nsenter pivot_root cpack; do
	command -v $tool >/dev/null || fail "$tool not found"
done

tmp=$(mktemp -d /tmp/sb-boot-test.XXXXXX)
pid1=""
cleanup() {
	rc=$?
	set +e
	# killing a pid namespace's init kills every process in it, and the
	# mount namespace (the overlay) goes with the last of them
	[ -n "$pid1" ] && kill -9 "$pid1" 2>/dev/null
	[ -n "${ns:-}" ] && wait "$ns" 2>/dev/null
	rm -rf "$tmp"
	exit "$rc"
}
trap cleanup EXIT INT TERM

(cd "$build" && cpack -G DEB -B "$tmp/out" >"$tmp/cpack.log" 2>&1) ||
	{ cat "$tmp/cpack.log"; fail "cpack failed"; }
set -- "$tmp"/out/switchboard_*.deb
[ -f "$1" ] || fail "no .deb built"
mkdir -p "$tmp/upper" "$tmp/work" "$tmp/root"
cp "$1" "$tmp/switchboard.deb"

# The machine's init: overlay, install, then pivot_root (a chrooted process
# may not create the user namespace PrivateUsers=yes needs) and systemd.
# shellcheck disable=SC2016 # the inner script gets $tmp as its $1
unshare --pid --fork --mount --net --uts --ipc --propagation private sh -eu -c '
	t=$1
	mount -t overlay overlay -o "lowerdir=/,upperdir=$t/upper,workdir=$t/work" "$t/root" ||
		exit 77
	mount -t proc proc "$t/root/proc"
	mount --rbind /dev "$t/root/dev"
	mount --rbind /sys "$t/root/sys"
	mount -t tmpfs tmpfs "$t/root/run"
	cp "$t/switchboard.deb" "$t/root/root/switchboard.deb"
	# images that forbid starting services in dpkg scripts (policy-rc.d
	# exit 101) would hide what the maintainer scripts do
	rm -f "$t/root/usr/sbin/policy-rc.d"
	mkdir -p "$t/root/etc/systemd/system"
	printf "[Unit]\nDescription=switchboard test machine\nWants=redis-server.service\n" \
		>"$t/root/etc/systemd/system/sbtest.target"
	ip link set lo up
	mkdir -p "$t/root/oldroot"
	cd "$t/root"
	pivot_root . oldroot
	umount -l /oldroot
	exec env container=sb-test /lib/systemd/systemd --system --unit=sbtest.target \
		--show-status=no --log-target=journal
' sh "$tmp" >"$tmp/init.log" 2>&1 &
ns=$!

# The namespace's PID 1 is unshare's child.
for _ in $(seq 1 100); do
	pid1=$(pgrep -P "$ns" || true)
	[ -n "$pid1" ] && [ "$(readlink "/proc/$pid1/exe" 2>/dev/null)" = /usr/lib/systemd/systemd ] && break
	kill -0 "$ns" 2>/dev/null || break
	sleep 0.1
done
if ! kill -0 "$ns" 2>/dev/null; then
	wait "$ns" && rc=0 || rc=$?
	[ "$rc" -eq 77 ] && skip "overlayfs is not available here"
	cat "$tmp/init.log"
	fail "the test machine did not boot (exit $rc)"
fi
[ -n "$pid1" ] || fail "no init in the test machine"
on() { nsenter -t "$pid1" -m -u -i -n -p -r -w "$@"; }

# Waits (bounded) until systemctl is-active prints one of the states given.
wait_state() {
	unit=$1
	shift
	for _ in $(seq 1 $((BOOT_WAIT_S * 10))); do
		state=$(on systemctl is-active "$unit" 2>/dev/null || true)
		for want in "$@"; do
			[ "$state" = "$want" ] && return 0
		done
		sleep 0.1
	done
	on systemctl status "$unit" --no-pager >&2 || true
	fail "$unit is '$state', not $* after ${BOOT_WAIT_S}s"
}
status_line() { on systemctl show -P StatusText switchboard; }
wait_status() {
	for _ in $(seq 1 $((BOOT_WAIT_S * 10))); do
		case $(status_line) in "$1"*) return 0 ;; esac
		sleep 0.1
	done
	fail "status is '$(status_line)', not '$1...'"
}
journal() { on journalctl -u switchboard --no-pager -o cat; }

echo "== boot, redis"
wait_state redis-server.service active

echo "== dpkg -i: user, secrets, enabled and started"
on dpkg -i /root/switchboard.deb >"$tmp/dpkg.log" 2>&1 || { cat "$tmp/dpkg.log"; fail "dpkg -i failed"; }
wait_state switchboard.service active failed
[ "$(on systemctl is-active switchboard)" = active ] ||
	{ journal >&2; fail "switchboard did not start"; }
[ "$(on systemctl is-enabled switchboard)" = enabled ] || fail "switchboard is not enabled"
wait_status "routing, 0 waiting"
journal | grep -q '^configuration OK$' || fail "ExecStartPre did not check the config"
journal | grep -q '^store ready' || fail "no 'store ready' in the journal"
level=$(on systemd-analyze security switchboard --no-pager 2>&1 |
	sed -n 's/.*Overall exposure level for switchboard\.service: \([0-9.]*\).*/\1/p')
echo "live exposure level: $level"
awk -v l="$level" 'BEGIN { exit !(l != "" && l + 0 <= 2.0) }' || fail "exposure level '$level'"

echo "== a gateway with the generated secret; a wrong one"
out=$(on sbctl submit --gateway 127.0.0.1:7400 --id gateway1 \
	--secret-file /etc/switchboard/secrets/gateway1.key --channel chat --external-id boot-1 2>&1) ||
	fail "submit failed: $out"
printf '%s\n' "$out" | grep -q 'accepted contact' || fail "submit not accepted: $out"
wait_status "routing, 1 waiting"
on sbctl submit --gateway 127.0.0.1:7400 --id gateway1 --secret not-the-secret-0123456789 \
	--channel chat --external-id boot-2 >/dev/null 2>&1 && fail "a wrong secret was accepted"
sleep 0.5
prio=$(on journalctl -u switchboard --no-pager -o export -g "refused" | sed -n 's/^PRIORITY=//p' | head -1)
[ "$prio" = 4 ] || fail "the refused login is filed with priority '$prio', not 4 (warning)"
secret=$(cat "$tmp/upper/etc/switchboard/secrets/gateway1.key")
! on journalctl --no-pager -o cat | grep -qF "$secret" || fail "the journal contains the gateway secret"

echo "== reload"
on systemctl reload switchboard || fail "systemctl reload failed"
[ "$(on systemctl is-active switchboard)" = active ] || fail "not active after reload"

echo "== redis away and back"
on systemctl stop redis-server
wait_status "store unavailable"
on systemctl start redis-server
wait_status "routing"

echo "== stop (drain), start"
on systemctl stop switchboard
[ "$(on systemctl show -P ExecMainStatus switchboard)" = 0 ] ||
	fail "exit status $(on systemctl show -P ExecMainStatus switchboard) after stop"
journal | tail -5 | grep -q '^stopped$' || fail "no 'stopped' in the journal"
on systemctl start switchboard
wait_state switchboard.service active

echo "== the watchdog: pings keep it alive, a stuck loop is restarted"
# A short interval in a drop-in, as an operator would set one.
on sh -c 'mkdir -p /etc/systemd/system/switchboard.service.d &&
	printf "[Service]\nWatchdogSec=1s\n" >/etc/systemd/system/switchboard.service.d/watchdog.conf'
on systemctl daemon-reload
on systemctl restart switchboard
wait_state switchboard.service active
pid=$(on systemctl show -P MainPID switchboard)
sleep 3 # three intervals: without pings systemd would have killed it by now
[ "$(on systemctl show -P MainPID switchboard)" = "$pid" ] ||
	fail "restarted although the loop was running (watchdog pings not received)"
[ "$(on systemctl show -P NRestarts switchboard)" = 0 ] || fail "restarted by the watchdog"
on kill -STOP "$pid" # the loop stops; so do its pings
for _ in $(seq 1 $((BOOT_WAIT_S * 10))); do
	[ "$(on systemctl show -P NRestarts switchboard)" != 0 ] && break
	sleep 0.1
done
[ "$(on systemctl show -P NRestarts switchboard)" != 0 ] || fail "a stopped loop was not restarted"
on journalctl -u switchboard --no-pager -o cat | grep -q 'Watchdog timeout' ||
	fail "no 'Watchdog timeout' in the journal"
wait_state switchboard.service active
on rm -r /etc/systemd/system/switchboard.service.d
on systemctl daemon-reload

echo "== upgrade restarts it"
before=$(on systemctl show -P MainPID switchboard)
on dpkg -i /root/switchboard.deb >"$tmp/dpkg.log" 2>&1 || { cat "$tmp/dpkg.log"; fail "upgrade failed"; }
wait_state switchboard.service active
[ "$(on systemctl show -P MainPID switchboard)" != "$before" ] || fail "the upgrade did not restart it"

echo "== purge"
on dpkg --purge switchboard >"$tmp/dpkg.log" 2>&1 || { cat "$tmp/dpkg.log"; fail "purge failed"; }
[ "$(on systemctl is-active switchboard 2>/dev/null || true)" = inactive ] || fail "still running after purge"
[ ! -e "$tmp/upper/etc/switchboard" ] || ! on test -e /etc/switchboard || fail "purge left /etc/switchboard"
echo "PASS"

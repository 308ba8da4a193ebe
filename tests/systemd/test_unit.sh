#!/bin/sh
# The systemd unit, sysusers and tmpfiles files as Debian 12's systemd reads
# them:
#  - `systemd-analyze verify` prints nothing about the unit (the copy checked
#    here runs the switchboard binary just built, since verify checks that
#    ExecStart= and ExecStartPre= exist);
#  - `systemd-analyze security --offline=true` rates it at most 2.0;
#  - systemd-sysusers creates the user in a scratch root, and systemd-tmpfiles
#    (as root) gives the secrets directory its mode and group there.
# usage: test_unit.sh SOURCE_DIR SWITCHBOARD_BINARY
set -eu

src=$(cd "$1" && pwd) # absolute: sysusers and tmpfiles resolve paths under --root
bin=$2
max_exposure=2.0

fail() { echo "FAIL: $*" >&2; exit 1; }
need() {
	command -v "$1" >/dev/null 2>&1 ||
		fail "$1 not found: install the '$2' package (scripts/setup.sh lists it in SB_PACKAGES)"
}
need systemd-analyze systemd
need systemd-sysusers systemd
need systemd-tmpfiles systemd
[ -x "$bin" ] || fail "$bin is not an executable (build switchboard first)"

tmp=$(mktemp -d /tmp/sb-unit-test.XXXXXX)
trap 'rm -rf "$tmp"' EXIT INT TERM

bindir=$(cd "$(dirname "$bin")" && pwd)
# The binary must be called switchboard, as in the unit.
[ "$(basename "$bin")" = switchboard ] || fail "expected a binary named switchboard, got $bin"
sed -e "s|@SB_BINDIR@|$bindir|g" -e "s|@SB_DOCDIR@|$src/docs|g" \
	"$src/systemd/switchboard.service.in" >"$tmp/switchboard.service"
! grep -q '@SB_' "$tmp/switchboard.service" || fail "unsubstituted @SB_...@ left in the unit"

echo "== systemd-analyze verify"
# verify reports unknown keys, bad values and missing executables on stderr
# (and some only as warnings with exit 0): any output is a failure.
out=$(cd "$tmp" && systemd-analyze verify ./switchboard.service 2>&1) ||
	fail "systemd-analyze verify failed:
$out"
[ -z "$out" ] || fail "systemd-analyze verify is not clean:
$out"
echo "clean"

echo "== systemd-analyze security --offline=true"
out=$(cd "$tmp" && systemd-analyze security --offline=true ./switchboard.service 2>&1) ||
	true # exits non-zero when the level is above its own threshold
level=$(printf '%s\n' "$out" | sed -n 's/.*Overall exposure level for switchboard\.service: \([0-9.]*\).*/\1/p')
[ -n "$level" ] || fail "no 'Overall exposure level' in the output:
$out"
printf '%s\n' "$out" | grep '✗' || true
echo "exposure level $level (must be <= $max_exposure)"
awk -v l="$level" -v m="$max_exposure" 'BEGIN { exit !(l + 0 <= m + 0) }' ||
	fail "exposure level $level is above $max_exposure"

echo "== systemd-sysusers"
mkdir -p "$tmp/root/etc"
systemd-sysusers --root="$tmp/root" "$src/systemd/switchboard.sysusers" ||
	fail "systemd-sysusers refused switchboard.sysusers"
line=$(grep '^switchboard:' "$tmp/root/etc/passwd") || fail "no switchboard user created"
echo "$line"
case $line in
*:/var/lib/switchboard:/usr/sbin/nologin) ;;
*) fail "switchboard's home or shell is not /var/lib/switchboard, /usr/sbin/nologin" ;;
esac
gid=$(grep '^switchboard:' "$tmp/root/etc/group" | cut -d: -f3)
[ -n "$gid" ] || fail "no switchboard group created"

echo "== systemd-tmpfiles"
if [ "$(id -u)" -ne 0 ]; then
	echo "not root: cannot give files to another group; tmpfiles check skipped"
	exit 0
fi
systemd-tmpfiles --root="$tmp/root" --create "$src/systemd/switchboard.tmpfiles" ||
	fail "systemd-tmpfiles refused switchboard.tmpfiles"
got=$(stat -c '%a %u %g' "$tmp/root/etc/switchboard/secrets")
[ "$got" = "750 0 $gid" ] || fail "secrets directory is '$got', want '750 0 $gid'"
echo "secrets directory: mode 750, root:switchboard"
echo "PASS"

#!/bin/sh
# Installs the .deb for real, without touching this machine: dpkg runs in a
# chroot onto an overlay of / (in a private mount namespace, its writes go
# to a scratch directory) and the test checks what the maintainer scripts
# did:
#  - install: the switchboard user, /etc/switchboard/secrets 0750
#    root:switchboard, two generated secrets 0640 root:switchboard, the unit
#    enabled, and the packaged config accepted by --check-config run as the
#    switchboard user (so it can read its secrets);
#  - reinstall (an upgrade): the secrets are kept, not regenerated;
#  - remove: the unit masked, configuration kept;
#  - purge: /etc/switchboard and /var/lib/switchboard gone, unit unmasked.
# systemd is not PID 1 in the chroot, so the service is not started there.
# Needs root (mount namespaces, chroot). Exit 77 (skipped) without root or
# overlayfs.
# usage: test_deb_install.sh BUILD_DIR
set -eu

build=$(cd "$1" && pwd)

fail() { echo "FAIL: $*" >&2; exit 1; }
skip() { echo "SKIPPED: $*"; exit 77; }
[ "$(id -u)" -eq 0 ] || skip "needs root for a mount namespace and chroot"
command -v unshare >/dev/null || fail "unshare not found: install util-linux"
command -v cpack >/dev/null || fail "cpack not found: install cmake"

tmp=$(mktemp -d /tmp/sb-deb-install.XXXXXX)
trap 'rm -rf "$tmp"' EXIT INT TERM

(cd "$build" && cpack -G DEB -B "$tmp/out" >"$tmp/cpack.log" 2>&1) ||
	{ cat "$tmp/cpack.log"; fail "cpack failed"; }
set -- "$tmp"/out/switchboard_*.deb
[ -f "$1" ] || fail "no .deb built"
mkdir -p "$tmp/upper" "$tmp/work" "$tmp/root"
cp "$1" "$tmp/switchboard.deb"

cat >"$tmp/inside.sh" <<'INSIDE'
set -eu
r=$1
fail() { echo "FAIL: $*" >&2; exit 1; }
in_root() { chroot "$r" "$@"; }
cp "$2" "$r/tmp/switchboard.deb"

echo "== dpkg -i"
in_root dpkg -i /tmp/switchboard.deb
in_root getent passwd switchboard | grep -q ':/var/lib/switchboard:/usr/sbin/nologin$' ||
	fail "no switchboard system user"
[ "$(in_root stat -c '%a %U %G' /etc/switchboard/secrets)" = "750 root switchboard" ] ||
	fail "secrets directory: $(in_root stat -c '%a %U %G' /etc/switchboard/secrets)"
for k in agent.key gateway1.key admin.token; do
	f=/etc/switchboard/secrets/$k
	[ "$(in_root stat -c '%a %U %G' "$f")" = "640 root switchboard" ] ||
		fail "$f: $(in_root stat -c '%a %U %G' "$f" 2>&1)"
	[ "$(in_root wc -c <"$r$f")" -ge 40 ] || fail "$f is too short"
done
[ -L "$r/etc/systemd/system/multi-user.target.wants/switchboard.service" ] ||
	fail "the unit is not enabled"
in_root setpriv --reuid=switchboard --regid=switchboard --init-groups \
	/usr/bin/switchboard --check-config /etc/switchboard/switchboard.yaml ||
	fail "the installed config is refused when checked as the switchboard user"
sum=$(cat "$r/etc/switchboard/secrets/agent.key")

echo "== dpkg -i again (upgrade)"
in_root dpkg -i /tmp/switchboard.deb
[ "$(cat "$r/etc/switchboard/secrets/agent.key")" = "$sum" ] || fail "the upgrade replaced a secret"

echo "== dpkg --remove"
in_root dpkg --remove switchboard
[ -f "$r/etc/switchboard/switchboard.yaml" ] || fail "remove deleted the configuration"
[ -f "$r/etc/switchboard/secrets/agent.key" ] || fail "remove deleted the secrets"
[ "$(readlink "$r/etc/systemd/system/switchboard.service")" = /dev/null ] ||
	fail "remove did not mask the unit"

echo "== dpkg --purge"
in_root dpkg --purge switchboard
[ ! -e "$r/etc/switchboard" ] || fail "purge left /etc/switchboard: $(ls -R "$r/etc/switchboard")"
[ ! -e "$r/var/lib/switchboard" ] || fail "purge left /var/lib/switchboard"
[ ! -e "$r/etc/systemd/system/switchboard.service" ] || fail "purge left the mask"
[ ! -e "$r/etc/systemd/system/multi-user.target.wants/switchboard.service" ] ||
	fail "purge left the unit enabled"
echo "PASS"
INSIDE

# Everything below happens in a private mount namespace: the overlay and
# the mounts vanish with it, and all writes land in $tmp/upper.
# shellcheck disable=SC2016 # the inner script gets $tmp as its $1
unshare --mount --propagation private sh -eu -c '
	tmp=$1
	mount -t overlay overlay -o "lowerdir=/,upperdir=$tmp/upper,workdir=$tmp/work" "$tmp/root" ||
		exit 77
	mount -t proc proc "$tmp/root/proc"
	mount --bind /dev "$tmp/root/dev"
	sh "$tmp/inside.sh" "$tmp/root" "$tmp/switchboard.deb"
' sh "$tmp" || {
	rc=$?
	[ $rc -eq 77 ] && skip "overlayfs is not available here"
	fail "the install test failed (exit $rc)"
}

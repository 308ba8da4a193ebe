#!/bin/sh
# The Debian package as `cpack -G DEB` builds it from this build tree:
#  - control fields: name, version, architecture, library Depends found by
#    dpkg-shlibdeps, Recommends redis-server, a maintainer;
#  - contents: the binaries under /usr/bin, the unit (ExecStart naming
#    /usr/bin/switchboard), sysusers and tmpfiles files, the config as a
#    conffile, the docs; nothing from the build machine's paths;
#  - maintainer scripts present, executable and valid sh;
#  - the packaged config passes --check-config once the secrets postinst
#    generates exist (checked in a scratch copy with the paths moved).
# usage: test_deb.sh SOURCE_DIR BUILD_DIR
set -eu

src=$(cd "$1" && pwd)
build=$(cd "$2" && pwd)

fail() { echo "FAIL: $*" >&2; exit 1; }
need() {
	command -v "$1" >/dev/null 2>&1 ||
		fail "$1 not found: install the '$2' package (scripts/setup.sh lists it in SB_PACKAGES)"
}
need cpack cmake
need dpkg-deb dpkg
need dpkg-shlibdeps dpkg-dev
need dpkg-architecture dpkg-dev

tmp=$(mktemp -d /tmp/sb-deb-test.XXXXXX)
trap 'rm -rf "$tmp"' EXIT INT TERM

echo "== cpack -G DEB"
(cd "$build" && cpack -G DEB -B "$tmp/out" >"$tmp/cpack.log" 2>&1) ||
	{ cat "$tmp/cpack.log"; fail "cpack failed"; }
set -- "$tmp"/out/switchboard_*.deb
if [ $# -ne 1 ] || [ ! -f "$1" ]; then
	fail "expected one switchboard_*.deb, got: $*"
fi
deb=$1
basename "$deb"

echo "== control fields"
field() { dpkg-deb -f "$deb" "$1"; }
version=$(sed -n 's/^project(switchboard VERSION \([0-9.]*\).*/\1/p' "$src/CMakeLists.txt")
[ "$(field Package)" = switchboard ] || fail "Package is '$(field Package)'"
[ "$(field Version)" = "$version" ] || fail "Version is '$(field Version)', want '$version'"
arch=$(dpkg-architecture -qDEB_HOST_ARCH)
[ "$(field Architecture)" = "$arch" ] || fail "Architecture is '$(field Architecture)'"
[ -n "$(field Maintainer)" ] || fail "no Maintainer"
depends=$(field Depends)
echo "Depends: $depends"
for lib in libc6 libevent-core-2.1-7 libevent-openssl-2.1-7 libhiredis0.14 libprotobuf-c1 \
	libssl3 libyaml-0-2 libutf8proc2 libwslay1 libhttp-parser2.9; do
	printf '%s\n' "$depends" | grep -q "\\b$lib\\b" || fail "Depends lacks $lib (dpkg-shlibdeps)"
done
printf '%s\n' "$depends" | grep -q 'systemd | adduser' || fail "Depends lacks 'systemd | adduser'"
[ "$(field Recommends)" = redis-server ] || fail "Recommends is '$(field Recommends)'"

echo "== contents"
dpkg-deb -c "$deb" | awk '{ print $1, $2, $6 }' >"$tmp/contents"
has() {
	grep -q " $2\$" "$tmp/contents" || fail "the package lacks $2"
	grep " $2\$" "$tmp/contents" | grep -q "^$1" || fail "$2 is not $1: $(grep " $2\$" "$tmp/contents")"
}
has -rwxr-xr-x ./usr/bin/switchboard
has -rwxr-xr-x ./usr/bin/sbctl
has -rw-r--r-- ./lib/systemd/system/switchboard.service
has -rw-r--r-- ./usr/lib/sysusers.d/switchboard.conf
has -rw-r--r-- ./usr/lib/tmpfiles.d/switchboard.conf
has -rw-r--r-- ./etc/switchboard/switchboard.yaml
has -rw-r--r-- ./usr/share/doc/switchboard/operations.md
has -rw-r--r-- ./usr/share/doc/switchboard/examples/switchboard.yaml
grep -v ' \./\(usr\|etc\|lib\)/' "$tmp/contents" | grep -v ' \./$' &&
	fail "files outside /usr, /etc and /lib (build paths leaked?)"
! grep -v 'root/root' "$tmp/contents" || fail "files not owned by root"

dpkg-deb -x "$deb" "$tmp/root"
unit="$tmp/root/lib/systemd/system/switchboard.service"
grep -qx 'ExecStart=/usr/bin/switchboard -c /etc/switchboard/switchboard.yaml' "$unit" ||
	fail "the unit's ExecStart is not /usr/bin/switchboard: $(grep ExecStart= "$unit")"
grep -qx 'ExecStartPre=/usr/bin/switchboard --check-config /etc/switchboard/switchboard.yaml' \
	"$unit" || fail "the unit's ExecStartPre is wrong: $(grep ExecStartPre= "$unit")"
! grep -q '@SB_' "$unit" || fail "unsubstituted @SB_...@ in the packaged unit"
cmp -s "$src/systemd/switchboard.sysusers" "$tmp/root/usr/lib/sysusers.d/switchboard.conf" ||
	fail "sysusers file differs from systemd/switchboard.sysusers"
"$tmp/root/usr/bin/switchboard" --version | grep -q "switchboard $version" ||
	fail "the packaged switchboard does not report version $version"

echo "== control archive"
dpkg-deb -e "$deb" "$tmp/control"
[ "$(cat "$tmp/control/conffiles")" = /etc/switchboard/switchboard.yaml ] ||
	fail "conffiles is '$(cat "$tmp/control/conffiles" 2>/dev/null)'"
for s in postinst prerm postrm; do
	[ -x "$tmp/control/$s" ] || fail "$s missing or not executable"
	sh -n "$tmp/control/$s" || fail "$s is not valid sh"
done
grep -q 'systemd-sysusers switchboard.conf' "$tmp/control/postinst" || fail "postinst makes no user"
grep -q 'deb-systemd-invoke' "$tmp/control/postinst" || fail "postinst starts nothing"
grep -q 'deb-systemd-invoke stop' "$tmp/control/prerm" || fail "prerm stops nothing"

echo "== the packaged config, with the secrets postinst makes"
cfg="$tmp/etc/switchboard.yaml"
mkdir -p "$tmp/etc/secrets"
for k in agent.key gateway1.key admin.token; do
	(umask 077 && head -c 32 /dev/urandom | base64 >"$tmp/etc/secrets/$k")
done
sed "s|/etc/switchboard/secrets/|$tmp/etc/secrets/|" \
	"$tmp/root/etc/switchboard/switchboard.yaml" >"$cfg"
"$tmp/root/usr/bin/switchboard" --check-config "$cfg" || fail "the packaged config is refused"
echo "PASS"

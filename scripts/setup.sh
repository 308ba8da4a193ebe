# Shared set-up for demo.sh and test.sh: installs what is missing (Debian 12,
# as root) and builds. Sourced, not run. clang and libclang-rt-14-dev (a
# recommendation of clang's, which --no-install-recommends skips; it holds
# libFuzzer and clang's sanitizer runtimes) are for the fuzzers. systemd
# (systemd-analyze, -sysusers, -tmpfiles), dpkg-dev (dpkg-shlibdeps) and file
# (cpack's ELF detection) are for the unit and .deb tests. prometheus is for
# promtool (`promtool check metrics` on /metrics in test_metrics); Debian
# ships promtool only in it. Its package starts a Prometheus server where
# systemd runs; a test set-up has no business leaving one listening on :9090,
# so sb_install stops and disables it when it installed it.

SB_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
SB_PACKAGES="build-essential cmake pkg-config libevent-dev libhiredis-dev libprotobuf-c-dev
 protobuf-c-compiler libssl-dev openssl libyaml-dev libutf8proc-dev libwslay-dev libhttp-parser-dev
 libcmocka-dev redis-server clang libclang-rt-14-dev
 systemd dpkg-dev file chromium prometheus"

# Installs the Debian packages that are not installed yet.
sb_install() {
	local missing=()
	for p in $SB_PACKAGES; do
		dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" ||
			missing+=("$p")
	done
	if [ ${#missing[@]} -gt 0 ]; then
		echo "==> installing: ${missing[*]}"
		local sudo=""
		[ "$(id -u)" -eq 0 ] || sudo="sudo"
		$sudo apt-get update -qq
		DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends \
			"${missing[@]}" >/dev/null
		if [[ " ${missing[*]} " == *" prometheus "* ]] && [ -d /run/systemd/system ]; then
			$sudo systemctl disable --now prometheus >/dev/null 2>&1 || true
		fi
	fi
}

# sb_build DIR [cmake args...]: configures and builds into $SB_ROOT/DIR
# (RelWithDebInfo unless the arguments set CMAKE_BUILD_TYPE: the last -D wins).
sb_build() {
	local dir="$SB_ROOT/$1"
	shift
	echo "==> building $dir $*"
	cmake -S "$SB_ROOT" -B "$dir" -DCMAKE_BUILD_TYPE=RelWithDebInfo "$@" >/dev/null
	cmake --build "$dir" -j"$(nproc)"
}

#!/bin/sh
# Install the Debian packages aemp needs, if any are missing.  Idempotent:
# does nothing (and says so) when everything is present.  Needs root (or
# sudo) only when something has to be installed.
#
# PKGS are required.  WOLF_PKGS build wolfSSL from Debian's source package
# (tools/wolfssl.sh: apt-get source needs dpkg-dev, the build autoconf,
# automake, libtool); without them the build falls back to Debian's
# libwolfssl, so they are installed when possible and only missed with a
# note when not.  Waits up to 5 minutes for another apt/dpkg to finish.
set -eu

PKGS="gcc g++ make pkg-config liburing-dev libwolfssl-dev libsimdjson-dev \
libjemalloc-dev libmicrohttpd-dev libzmq3-dev clang libclang-rt-14-dev clang-format iproute2 procps \
iptables"
WOLF_PKGS="dpkg-dev autoconf automake libtool xz-utils"
# For tests only (they skip without them).
OPT_PKGS="prometheus tmux"

missing_of() {	# package... -> the ones not installed
	for p in "$@"; do
		st=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)
		case "$st" in
		*"install ok installed"*) ;;
		*) printf ' %s' "$p" ;;
		esac
	done
}

# shellcheck disable=SC2086
missing=$(missing_of $PKGS)
# shellcheck disable=SC2086
optional=$(missing_of $WOLF_PKGS $OPT_PKGS)
# shellcheck disable=SC2086
wolf=$(missing_of $WOLF_PKGS)
# shellcheck disable=SC2086
testonly=$(missing_of $OPT_PKGS)

if [ -z "$missing$optional" ]; then
	echo "deps: all required Debian packages are installed"
	exit 0
fi

echo "deps: missing Debian packages:$missing$optional"
if [ "$(id -u)" -eq 0 ]; then
	SUDO=""
elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
	SUDO="sudo -n"
elif [ -z "$missing" ]; then
	echo "deps: cannot install$optional (not root, no password-less sudo): wolfSSL will not be built from source, the tests needing prometheus or tmux skip"
	exit 0
else
	echo "deps: error: cannot install them: not root and no password-less sudo." >&2
	echo "deps: run as root:  apt-get install -y$missing$optional" >&2
	exit 1
fi

echo "deps: running apt-get update"
if ! $SUDO env DEBIAN_FRONTEND=noninteractive apt-get update -qq; then
	if [ -z "$missing" ]; then
		echo "deps: apt-get update failed: wolfSSL will not be built from source, the tests needing prometheus or tmux skip"
		exit 0
	fi
	echo "deps: error: apt-get update failed (no network or no package mirror?)" >&2
	exit 1
fi
if [ -n "$missing$wolf" ]; then
	echo "deps: running apt-get install -y$missing$wolf"
	# shellcheck disable=SC2086
	if ! $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
		-o DPkg::Lock::Timeout=300 $missing $wolf; then
		# shellcheck disable=SC2086
		if [ -n "$(missing_of $PKGS)" ]; then
			echo "deps: error: apt-get install failed; install manually:$missing$wolf" >&2
			exit 1
		fi
		echo "deps: could not install$wolf: wolfSSL will not be built from source"
	fi
fi
# Test-only packages apart: a failure here costs only skipped tests.
if [ -n "$testonly" ]; then
	echo "deps: running apt-get install -y --no-install-recommends$testonly"
	# shellcheck disable=SC2086
	if ! $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
		--no-install-recommends -o DPkg::Lock::Timeout=300 $testonly; then
		echo "deps: could not install$testonly: the tests needing them skip"
	fi
fi
echo "deps: done"

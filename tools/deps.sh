#!/bin/sh
# Install the Debian packages aemp needs, if any are missing.  Idempotent:
# does nothing (and says so) when everything is present.  Needs root (or
# sudo) only when something has to be installed.
set -eu

PKGS="gcc g++ make pkg-config liburing-dev libwolfssl-dev libsimdjson-dev \
libjemalloc-dev libmicrohttpd-dev clang libclang-rt-14-dev clang-format iproute2 procps \
iptables"

missing=""
for p in $PKGS; do
	st=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)
	case "$st" in
	*"install ok installed"*) ;;
	*) missing="$missing $p" ;;
	esac
done

if [ -z "$missing" ]; then
	echo "deps: all required Debian packages are installed"
	exit 0
fi

echo "deps: missing Debian packages:$missing"
if [ "$(id -u)" -eq 0 ]; then
	SUDO=""
elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
	SUDO="sudo -n"
else
	echo "deps: error: cannot install them: not root and no password-less sudo." >&2
	echo "deps: run as root:  apt-get install -y$missing" >&2
	exit 1
fi

echo "deps: running apt-get update"
if ! $SUDO env DEBIAN_FRONTEND=noninteractive apt-get update -qq; then
	echo "deps: error: apt-get update failed (no network or no package mirror?)" >&2
	exit 1
fi
echo "deps: running apt-get install -y$missing"
# shellcheck disable=SC2086
if ! $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $missing; then
	echo "deps: error: apt-get install failed; install manually:$missing" >&2
	exit 1
fi
echo "deps: installed:$missing"

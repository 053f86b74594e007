#!/bin/sh
# Install the Debian packages aemp needs, if any are missing.  Idempotent:
# does nothing (and says so) when everything is present.  Needs root (or
# sudo) only when something has to be installed.
set -eu

PKGS="gcc g++ make pkg-config liburing-dev libwolfssl-dev libsimdjson-dev \
libjemalloc-dev libmicrohttpd-dev clang libclang-rt-14-dev clang-format iproute2 procps \
iptables"
# For tests only (they skip without them); installed without recommends.
OPT_PKGS="prometheus tmux"

not_installed() {
	local p st out=""
	for p in "$@"; do
		st=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)
		case "$st" in
		*"install ok installed"*) ;;
		*) out="$out $p" ;;
		esac
	done
	echo "$out"
}
# shellcheck disable=SC2086
missing=$(not_installed $PKGS)
# shellcheck disable=SC2086
opt_missing=$(not_installed $OPT_PKGS)
missing=${missing# }
opt_missing=${opt_missing# }

if [ -z "$missing" ] && [ -z "$opt_missing" ]; then
	echo "deps: all required Debian packages are installed"
	exit 0
fi

echo "deps: missing Debian packages: $missing $opt_missing"
if [ "$(id -u)" -eq 0 ]; then
	SUDO=""
elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
	SUDO="sudo -n"
else
	if [ -z "$missing" ]; then
		echo "deps: warning: not root: the tests needing $opt_missing skip" >&2
		exit 0
	fi
	echo "deps: error: cannot install them: not root and no password-less sudo." >&2
	echo "deps: run as root:  apt-get install -y $missing" >&2
	exit 1
fi

echo "deps: running apt-get update"
if ! $SUDO env DEBIAN_FRONTEND=noninteractive apt-get update -qq; then
	echo "deps: error: apt-get update failed (no network or no package mirror?)" >&2
	exit 1
fi
if [ -n "$missing" ]; then
	echo "deps: running apt-get install -y $missing"
	# shellcheck disable=SC2086
	if ! $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $missing; then
		echo "deps: error: apt-get install failed; install manually: $missing" >&2
		exit 1
	fi
	echo "deps: installed: $missing"
fi
# Optional (test) packages: a failure only costs the tests that use them.
if [ -n "$opt_missing" ]; then
	echo "deps: running apt-get install -y --no-install-recommends $opt_missing"
	# shellcheck disable=SC2086
	if $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
		--no-install-recommends $opt_missing; then
		echo "deps: installed: $opt_missing"
	else
		echo "deps: warning: cannot install $opt_missing; the tests that use them skip" >&2
	fi
fi

#!/bin/sh
# tools/wolfssl.sh - wolfSSL for aemp, built from Debian's own source
# package with its AES-NI and Intel assembly code (docs/tls.md §8).
#
#   tools/wolfssl.sh [--retry] DIR        (the Makefile passes build/deps)
#   tools/wolfssl.sh --derive LIST PARTS DIR   only write the derived
#                            deb-src lists into DIR (for the tests)
#
# 1. Gets the source with `apt-get source wolfssl`, through a private apt
#    state under DIR/apt: a deb-src list derived from the machine's own
#    apt sources (same URIs, suites, components and options, type deb-src),
#    given to apt with -o Dir::Etc::SourceList/SourceParts,
#    Dir::State::Lists and Dir::Cache.  The system's apt configuration is
#    read, never changed; no mirror is named here.
# 2. Builds it once: Debian's configure options (--enable-distro) plus
#    --enable-aesni --enable-intelasm --enable-sp --enable-sp-asm, static,
#    position-independent, into
#    DIR/wolfssl/{include,lib}.  A rebuild happens only when the source
#    version or the options change (DIR/wolfssl/.key).
# 3. Writes DIR/wolfssl.vars, the make variables the Makefile includes.
#
# Where the source cannot be had or the build fails, it prints ONE warning
# line and writes variables for Debian's binary libwolfssl instead (the
# full output is in DIR/wolfssl.log); but where only the fetch fails
# (offline) and the same recipe was built before, that build is kept,
# with a note.  That choice is kept until
# `make deps` (--retry) tries again, or this script changes.
# Needs: apt-get, dpkg-source (dpkg-dev), autoreconf, libtoolize (autoconf,
# automake, libtool), a C compiler.  No root.
set -eu

retry=0
derive_only=0
if [ "${1:-}" = "--retry" ]; then
	retry=1
	shift
elif [ "${1:-}" = "--derive" ] && [ $# -eq 4 ]; then
	derive_only=1
	derive_sl=$2
	derive_sp=$3
	shift 3
fi
[ $# -eq 1 ] || { echo "usage: $0 [--retry] DIR" >&2; exit 2; }
mkdir -p "$1"
out=$(cd "$1" && pwd)
vars="$out/wolfssl.vars"
log="$out/wolfssl.log"
prefix="$out/wolfssl"

# Configure options.  --enable-distro is what Debian's package uses (it
# turns on --enable-all: TLS 1.3, SHA-3, HMAC, certificate generation,
# ChaCha20-Poly1305, AES-GCM, ...); --enable-aesni --enable-intelasm add
# AES-NI and the AVX1/AVX2 code (AES-GCM, ChaCha20, Poly1305, SHA-2,
# SHA-3), chosen at run time from CPUID, so the library also runs on
# CPUs without them; --enable-sp --enable-sp-asm the x86-64 code for
# P-256/P-384 and RSA-2048/3072 (the handshake: key exchange, signatures,
# certificate checks; a TLS connection set-up costs several times less
# than with the generic big-number code).  Static only (libaemp links it
# in), -fPIC so that it can go into libaemp.so.  LARGE_STATIC_BUFFERS:
# each session's input and output buffers hold a whole 16 KiB record, so
# a full-size record no longer costs a grown buffer, its copy back and a
# free (ShrinkInputBuffer: 3.5 % of a 1 KiB TLS stream), for 33 KiB more
# per session (docs/tls.md §8).
CONF="--enable-distro --enable-aesni --enable-intelasm --enable-sp
--enable-sp-asm --disable-shared --enable-static --with-pic
--disable-examples --disable-crypttests"
CONF_CFLAGS="-O2 -DLARGE_STATIC_BUFFERS"
# Bump when the build recipe changes in a way the options do not show.
RECIPE=2

# vars_write BUILT - the make variables, replaced atomically.
vars_write() {
	{
		echo "# written by tools/wolfssl.sh; see docs/tls.md §8"
		if [ "$1" = 1 ]; then
			echo "WOLF_BUILT := 1"
			echo "WOLF_VERSION := $version"
			echo "WOLF_CPPFLAGS := -isystem $prefix/include -DAEMP_WOLFSSL_BUILT=1"
			echo "WOLF_A := $prefix/lib/libwolfssl.a"
			# changes with every build: the objects are rebuilt
			echo "WOLF_BUILD_ID := $(date -r "$prefix/lib/libwolfssl.a" +%s) $(cat "$prefix/.key")"
		else
			echo "WOLF_BUILT := 0"
		fi
	} >"$vars.tmp"
	mv "$vars.tmp" "$vars"
}

# keep_built WHY - when the source cannot be fetched again (offline, say)
# but the same recipe and options were built before: keep that build, with
# a note, rather than falling back.
keep_built() {
	# shellcheck disable=SC2086 # one word per option
	rest=$(printf '%s ' "$RECIPE" "$CONF_CFLAGS" $CONF)
	if [ -f "$prefix/lib/libwolfssl.a" ] && [ -f "$prefix/.key" ]; then
		old=$(cat "$prefix/.key")
		if [ "${old#* }" = "$rest" ]; then
			version=${old%% *}
			echo "wolfssl: note: $1; keeping wolfSSL $version built before in $prefix" >&2
			vars_write 1
			exit 0
		fi
	fi
}

# no_source WHY - the source cannot be had: an earlier build, else the
# fallback.
no_source() {
	keep_built "$1"
	fallback "$1"
}

# fallback WHY - the one warning line, and the system library.
fallback() {
	echo "wolfssl: warning: $1; using Debian's libwolfssl (no AES-NI: TLS is several times slower; details in $log)" >&2
	vars_write 0
	exit 0
}

# ---- the deb-src list, derived from the configured apt sources ---------
# One-line entries: "deb [OPTIONS] URI SUITE COMPONENT..." becomes
# "deb-src ..." with the rest unchanged (deb-src lines are kept as they
# are, duplicates and cdrom: entries dropped).  deb822 stanzas: a
# stanza whose Types include deb or deb-src is copied with
# "Types: deb-src"; disabled stanzas (Enabled: no) and comments are
# dropped.
derive_list() {	# file...
	awk '/^[ \t]*(deb|deb-src)[ \t]/ && !/[ \t]cdrom:/ {
		sub(/^[ \t]*deb(-src)?[ \t]+/, "deb-src "); sub(/[ \t]*#.*$/, "")
		if (!seen[$0]++) print }' "$@"
}

derive_sources() {	# file...
	awk 'function flush() {
		if (n > 0 && src && !off) {
			print "Types: deb-src"
			for (i = 1; i <= n; i++) print line[i]
			print ""
		}
		n = 0; src = 0; off = 0; skip = 0
	}
	FNR == 1 { flush() }
	/^[ \t]*#/ { next }
	/^[ \t]*$/ { flush(); next }
	/^[ \t]/ { if (!skip) line[++n] = $0; next }
	{
		name = tolower($0); sub(/:.*/, "", name)
		val = $0; sub(/^[^:]*:[ \t]*/, "", val)
		skip = 0
		if (name == "types") {
			skip = 1
			if (val ~ /(^|[ \t])deb(-src)?([ \t]|$)/) src = 1
			next
		}
		if (name == "enabled" && tolower(val) ~ /^(no|false|0)/) off = 1
		line[++n] = $0
	}
	END { flush() }' "$@"
}

# derive_all LIST PARTS OUTDIR - OUTDIR/sources.list and
# OUTDIR/sources.list.d/derived.sources from apt's LIST file and PARTS
# directory (with its trailing slash).
derive_all() {
	mkdir -p "$3/sources.list.d"
	: >"$3/sources.list"
	: >"$3/sources.list.d/derived.sources"
	for f in "$1" "$2"*.list; do
		if [ -f "$f" ]; then derive_list "$f" >>"$3/sources.list"; fi
	done
	for f in "$2"*.sources; do
		if [ -f "$f" ]; then
			derive_sources "$f" >>"$3/sources.list.d/derived.sources"
		fi
	done
}

# --derive LIST PARTS OUTDIR: only that (tests/integ/wolfssl_sources.sh).
if [ "$derive_only" -eq 1 ]; then
	derive_all "$derive_sl" "$derive_sp" "$out"
	exit 0
fi

# Done already: unless this script changed since, or --retry after a
# fallback.
if [ -n "$(find "$vars" -newer "$0" 2>/dev/null)" ] &&
	{ [ $retry -eq 0 ] || grep -q '^WOLF_BUILT := 1' "$vars"; }; then
	exit 0
fi
: >"$log"

for tool in apt-get apt-config dpkg-source autoreconf libtoolize make cc; do
	command -v "$tool" >/dev/null 2>&1 ||
		no_source "cannot build wolfSSL: $tool is missing (make deps installs it)"
done

apt_dir="$out/apt"
rm -rf "$apt_dir"
mkdir -p "$apt_dir/lists/partial" "$apt_dir/cache/archives/partial"
eval "$(apt-config shell SL Dir::Etc::SourceList/f SP Dir::Etc::SourceParts/d)"
derive_all "${SL:-/etc/apt/sources.list}" "${SP:-/etc/apt/sources.list.d/}" \
	"$apt_dir"
if ! [ -s "$apt_dir/sources.list" ] &&
	! [ -s "$apt_dir/sources.list.d/derived.sources" ]; then
	no_source "no apt sources configured on this machine to derive a deb-src entry from"
fi

# apt with the private state; as root, apt would otherwise hand the
# download to the _apt user, who cannot write here.
APT_OPTS="-o Dir::Etc::SourceList=$apt_dir/sources.list
-o Dir::Etc::SourceParts=$apt_dir/sources.list.d
-o Dir::State::Lists=$apt_dir/lists -o Dir::Cache=$apt_dir/cache
-o Dir::Cache::pkgcache= -o Dir::Cache::srcpkgcache="
if [ "$(id -u)" -eq 0 ]; then
	APT_OPTS="$APT_OPTS -o APT::Sandbox::User=root"
fi

echo "wolfssl: fetching Debian's wolfssl source package (apt-get source, private apt state in $apt_dir)"
# A source without deb-src indexes (a third-party repository) only makes
# update complain; what counts is whether `apt-get source` then works.
# shellcheck disable=SC2086
apt-get $APT_OPTS -q update >>"$log" 2>&1 || true

src="$out/src"
rm -rf "$src"
mkdir -p "$src"
# The version of the installed binary package first, else the newest.
want=$(dpkg-query -W -f='${source:Version}' libwolfssl-dev 2>/dev/null || true)
got=0
if [ -n "$want" ]; then
	# shellcheck disable=SC2086
	(cd "$src" && apt-get $APT_OPTS -q source --only-source "wolfssl=$want") >>"$log" 2>&1 && got=1
fi
if [ $got -eq 0 ]; then
	# shellcheck disable=SC2086
	(cd "$src" && apt-get $APT_OPTS -q source --only-source wolfssl) >>"$log" 2>&1 ||
		no_source "apt-get source wolfssl failed (no deb-src index reachable?)"
fi
dir=$(find "$src" -mindepth 1 -maxdepth 1 -type d -name 'wolfssl-*' | head -n 1)
if [ -z "$dir" ] || ! [ -f "$dir/configure.ac" ]; then
	fallback "apt-get source wolfssl gave no source tree"
fi
version=$(sed -n '1s/^[^(]*(\([^)]*\)).*/\1/p' "$dir/debian/changelog")

# ---- build (skipped when the same version and options are built) -------
# shellcheck disable=SC2086 # one word per option
key=$(printf '%s ' "$version" "$RECIPE" "$CONF_CFLAGS" $CONF)
if [ -f "$prefix/.key" ] && [ "$(cat "$prefix/.key")" = "$key" ] &&
	[ -f "$prefix/lib/libwolfssl.a" ]; then
	echo "wolfssl: $version already built in $prefix"
	rm -rf "$src"
	vars_write 1
	exit 0
fi

# options_h - the build's wolfssl/options.h, as the library was compiled:
# Debian's multi-arch patch leaves HAVE___UINT128_T (from config.h) out
# of it, and without it the headers size sp_int with 32-bit digits where
# this library uses 64 (ecc_key and RsaKey come out too small).  Run in
# the source tree.
options_h() {
	if grep -q '^#define HAVE___UINT128_T 1' config.h; then
		sed '/^#define WOLFSSL_OPTIONS_H/a\
#undef HAVE___UINT128_T\
#define HAVE___UINT128_T 1' wolfssl/options.h
	else
		cat wolfssl/options.h
	fi
}

jobs=$(nproc 2>/dev/null || echo 2)
echo "wolfssl: building wolfSSL $version with AES-NI and Intel assembly (a few minutes, once)"
rm -rf "$prefix"
t0=$(date +%s)
# autogen.sh creates the empty placeholder files the build expects, then
# runs autoreconf.  Libtool is told to build the static library only
# (--enable-distro asks for both, and each file would compile twice).
# A distro build does not install options.h (it differs per
# architecture): it is copied by hand (options_h).
# shellcheck disable=SC2086
if ! (cd "$dir" && ./autogen.sh &&
	./configure --prefix="$prefix" $CONF CFLAGS="$CONF_CFLAGS" &&
	make -j"$jobs" LIBTOOLFLAGS=--tag=disable-shared install &&
	options_h >"$prefix/include/wolfssl/options.h") >>"$log" 2>&1; then
	rm -rf "$prefix"
	fallback "building wolfSSL $version from source failed"
fi
grep -q '^#define WOLFSSL_AESNI' "$prefix/include/wolfssl/options.h" ||
	fallback "the wolfSSL build has no AES-NI (WOLFSSL_AESNI missing)"
grep -q '^#define WOLFSSL_SP_X86_64_ASM' "$prefix/include/wolfssl/options.h" ||
	fallback "the wolfSSL build has no x86-64 SP code (WOLFSSL_SP_X86_64_ASM missing)"
echo "$key" >"$prefix/.key"
rm -rf "$src"
echo "wolfssl: built in $(($(date +%s) - t0)) s into $prefix"
vars_write 1

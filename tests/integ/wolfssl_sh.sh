#!/bin/bash
# tests/integ/wolfssl_sh.sh - tools/wolfssl.sh without the network
# (docs/tls.md §8):
#  - the deb-src entries it derives from apt sources: one-line entries
#    (options kept, cdrom and duplicates dropped, comments gone) and
#    deb822 stanzas (Types: deb-src, disabled stanzas dropped);
#  - the fallback: when `apt-get source` fails it prints exactly one
#    warning line, exits 0 and writes the variables for Debian's
#    libwolfssl; with an earlier build of the same recipe it keeps that;
#  - no mirror host name anywhere in the repository's build files.
set -u
top=${AEMP_SRC:-$(cd "$(dirname "$0")/../.." && pwd)}
cd "$top" || exit 1
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
n=0
fail=0
check() { # DESCRIPTION COMMAND...
	n=$((n + 1))
	if "${@:2}" >"$tmp/out" 2>&1; then
		echo "ok $n - $1"
	else
		echo "not ok $n - $1"
		sed 's/^/#   /' "$tmp/out" | tail -n 20
		fail=1
	fi
}

# ---- derivation ------------------------------------------------------
mkdir -p "$tmp/etc/parts"
cat >"$tmp/etc/sources.list" <<'EOF'
# a comment
deb http://mirror.example/debian bookworm main contrib
deb [arch=amd64 signed-by=/k.gpg] http://mirror.example/debian bookworm-updates main # trailing
deb-src http://mirror.example/debian bookworm main contrib
deb cdrom:[Debian 12]/ bookworm main
  deb http://sec.example/debian-security bookworm-security main
EOF
cat >"$tmp/etc/parts/x.sources" <<'EOF'
# deb822
Types: deb
URIs: http://one.example/debian
Suites: bookworm bookworm-updates
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg

Types: deb deb-src
URIs: http://two.example/debian
Suites: bookworm
Components: main

Enabled: no
Types: deb
URIs: http://off.example/debian
Suites: bookworm
Components: main
EOF
check "derive runs" tools/wolfssl.sh --derive "$tmp/etc/sources.list" \
	"$tmp/etc/parts/" "$tmp/d"
cat >"$tmp/want.list" <<'EOF'
deb-src http://mirror.example/debian bookworm main contrib
deb-src [arch=amd64 signed-by=/k.gpg] http://mirror.example/debian bookworm-updates main
deb-src http://sec.example/debian-security bookworm-security main
EOF
check "one-line entries become deb-src, once each" \
	diff "$tmp/want.list" "$tmp/d/sources.list"
cat >"$tmp/want.sources" <<'EOF'
Types: deb-src
URIs: http://one.example/debian
Suites: bookworm bookworm-updates
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg

Types: deb-src
URIs: http://two.example/debian
Suites: bookworm
Components: main

EOF
check "deb822 stanzas become deb-src, disabled ones dropped" \
	diff "$tmp/want.sources" "$tmp/d/sources.list.d/derived.sources"

# ---- fallback ----------------------------------------------------------
# apt-get that always fails: no deb-src index reachable.
mkdir -p "$tmp/bin"
printf '#!/bin/sh\necho "E: stub apt-get" >&2\nexit 100\n' >"$tmp/bin/apt-get"
chmod +x "$tmp/bin/apt-get"
missing=""
for tool in apt-config dpkg-source autoreconf libtoolize make cc; do
	command -v "$tool" >/dev/null 2>&1 || missing="$missing $tool"
done
if [ -n "$missing" ]; then
	n=$((n + 1))
	echo "ok $n # SKIP fallback: not installed:$missing"
else
	cp tools/wolfssl.sh "$tmp/wolfssl.sh"
	PATH="$tmp/bin:$PATH" "$tmp/wolfssl.sh" "$tmp/deps" \
		>"$tmp/stdout" 2>"$tmp/stderr"
	rc=$?
	check "fallback exits 0" test "$rc" -eq 0
	check "fallback: exactly one warning line" \
		sh -c "cat '$tmp/stderr'; [ \$(wc -l <'$tmp/stderr') -eq 1 ] &&
		grep -q \"^wolfssl: warning: apt-get source wolfssl failed.*using Debian's libwolfssl\" '$tmp/stderr'"
	check "fallback: variables for Debian's libwolfssl" \
		grep -qx 'WOLF_BUILT := 0' "$tmp/deps/wolfssl.vars"
	check "fallback: the log has apt's message" \
		grep -q 'E: stub apt-get' "$tmp/deps/wolfssl.log"
	check "fallback: apt ran with its private state under the deps directory" \
		test -s "$tmp/deps/apt/sources.list" -o -s "$tmp/deps/apt/sources.list.d/derived.sources"

	# The same failure with an earlier build of the same recipe: kept.
	eval "$(sed -n '/^CONF=/,/^RECIPE=/p' tools/wolfssl.sh)"
	mkdir -p "$tmp/deps/wolfssl/lib"
	: >"$tmp/deps/wolfssl/lib/libwolfssl.a"
	# shellcheck disable=SC2086
	printf '%s ' 9.9.9-1 "$RECIPE" "$CONF_CFLAGS" $CONF >"$tmp/deps/wolfssl/.key"
	PATH="$tmp/bin:$PATH" "$tmp/wolfssl.sh" --retry "$tmp/deps" \
		>"$tmp/stdout" 2>"$tmp/stderr"
	check "offline with an earlier build: one note, build kept" \
		sh -c "cat '$tmp/stderr'; [ \$(wc -l <'$tmp/stderr') -eq 1 ] &&
		grep -q '^wolfssl: note: apt-get source wolfssl failed.*keeping wolfSSL 9.9.9-1' '$tmp/stderr' &&
		grep -qx 'WOLF_BUILT := 1' '$tmp/deps/wolfssl.vars'"
fi

# ---- no mirror named --------------------------------------------------
check "no mirror host name in the build files" sh -c \
	"! git grep -nE '(deb|ftp|security|httpredir)\.debian\.org|mirrors?\.[a-z]' \
	-- Makefile tools tests/integ/install.sh .github 2>/dev/null"

echo "1..$n"
exit $fail

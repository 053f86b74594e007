#!/bin/bash
# tests/integ/install.sh - `make install` into a temporary DESTDIR gives
# the header, both libraries, the pkg-config file, the programs and the
# man page, and a program built against the installed shared library
# (the README example) runs.
set -u
top=${AEMP_SRC:-$(cd "$(dirname "$0")/../.." && pwd)}
cd "$top" || exit 1
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
n=0
fail=0
ok() {
	n=$((n + 1))
	if "${@:2}" >"$tmp/out" 2>&1; then
		echo "ok $n - $1"
	else
		echo "not ok $n - $1"
		sed 's/^/#   /' "$tmp/out" | tail -n 15
		fail=1
	fi
}
d="$tmp/root"
p=/opt/aemp-test
ok "make install" make -s --no-print-directory install DESTDIR="$d" PREFIX="$p"
for f in include/aemp.h lib/libaemp.a lib/libaemp.so lib/libaemp.so.0 \
	lib/pkgconfig/aemp.pc bin/aemp bin/aemp-perf share/man/man1/aemp.1; do
	ok "installed $f" test -e "$d$p/$f"
done
ok "pkg-config file names the library" grep -q -- "-laemp" "$d$p/lib/pkgconfig/aemp.pc"
ok "README example builds against the installed library" \
	gcc -std=c11 -D_GNU_SOURCE -I"$d$p/include" tests/integ/example_ping.c \
	-L"$d$p/lib" -laemp -pthread -o "$tmp/ex"
ok "and runs" env LD_LIBRARY_PATH="$d$p/lib" timeout 30 "$tmp/ex"
ok "the installed aemp runs" "$d$p/bin/aemp" --version
echo "1..$n"
exit $fail

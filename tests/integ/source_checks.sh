#!/bin/bash
# tests/integ/source_checks.sh - source hygiene as a test: every C/C++
# file is formatted with the repository's .clang-format, and every header
# compiles on its own (STYLE.md §13, §14), and the layers stay layered:
# includes go downward only and no import circle (tools/layers.sh).
# aemp-test-timeout: 180 (a loaded machine compiles every header slowly)
set -u
top=${AEMP_SRC:-$(cd "$(dirname "$0")/../.." && pwd)}
cd "$top" || exit 1
n=0
fail=0

check() {	# description, command...
	local d=$1
	shift
	n=$((n + 1))
	if out=$("$@" 2>&1); then
		echo "ok $n - $d"
	else
		echo "not ok $n - $d"
		echo "$out" | head -n 20 | sed 's/^/#   /'
		fail=1
	fi
}

# The sources are the same for every flavor: checked once, with release.
case ${AEMP_BUILD:-} in
*/release | "") ;;
*) echo "1..0 # SKIP checked with the release build"; exit 77 ;;
esac
command -v clang-format >/dev/null || { echo "1..0 # SKIP no clang-format"; exit 77; }
check "sources match .clang-format" make -s --no-print-directory format-check
check "every header compiles on its own" make -s --no-print-directory check-headers
check "layers: includes go downward, no import circle" tools/layers.sh ${AEMP_BUILD:+"$AEMP_BUILD"}
echo "1..$n"
exit $fail

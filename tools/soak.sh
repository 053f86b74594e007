#!/bin/bash
# Load and soak: run tests/integ/fault_soak (five node processes, six
# sequence-checked streams, a fault every 5 s: worker killed and
# restarted, worker stopped, global node restarted, connections reset)
# for $1 seconds (default 600) and print its report.  Needs a release
# build (make soak builds it).  As root it runs in a network namespace of
# its own and also resets connections; otherwise on the host's loopback.
#
#   tools/soak.sh [SECONDS] [BUILD_DIR]
set -u
secs=${1:-600}
bdir=${2:-build/release}
bin="$bdir/tests/integ/fault_soak"
[ -x "$bin" ] || { echo "soak: $bin missing (make FLAVOR=release test-build)" >&2; exit 2; }
export PERL_ANYEVENT_MP_RC=/nonexistent/aemp-test-rc
log="$bdir/soak.log"
echo "soak: ${secs}s, log in $log"
AEMP_SOAK_SECONDS=$secs timeout -k 5 $((secs + 120)) "$bin" >"$log" 2>&1
rc=$?
grep -E '^(#|not ok)' "$log" | grep -v ': fire tx' | sed 's/^/soak: /'
grep -E '^[0-9]+\.\.[0-9]+' "$log" | sed 's/^/soak: /'
if [ $rc -eq 0 ]; then
	echo "soak: passed"
else
	echo "soak: FAILED (exit $rc), see $log"
fi
exit $rc

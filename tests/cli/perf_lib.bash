# tests/cli/perf_lib.bash - sourced by the tests/cli/perf_*.sh scripts (not
# a test itself: runtests.sh runs only *.sh).  Runs aemp-perf in short
# modes and checks its output: the exit status, the single error line,
# and the JSON result lines (checked with core Perl, JSON::PP).
#
#   AEMP_BUILD   build/<flavor> directory (set by tools/runtests.sh)
. "$(dirname "${BASH_SOURCE[0]}")/tap.bash"
. "$(dirname "${BASH_SOURCE[0]}")/node.bash"

PERF="${AEMP_BUILD:-$_top/build/release}/aemp-perf"
[ -x "$PERF" ] || { echo "1..0 # SKIP no aemp-perf binary at $PERF"; exit 77; }

# Short runs: enough for sane figures, small enough for two flavors.
SHORT=(--seconds 0.2 --warmup 0.05)

# perf_run ARG...: run aemp-perf; sets OUT, ERR and STATUS.
perf_run() {
	OUT=$("$PERF" "$@" 2>"$TMP/stderr" </dev/null)
	STATUS=$?
	ERR=$(cat "$TMP/stderr")
}

# perf_ok ARG...: exit 0, nothing on stderr.
perf_ok() {
	perf_run "$@"
	tap_n=$((tap_n + 1))
	if [ "$STATUS" -eq 0 ] && [ -z "$ERR" ]; then
		echo "ok $tap_n - aemp-perf $*"
	else
		echo "not ok $tap_n - aemp-perf $* (exit $STATUS)"
		printf '%s\n' "$ERR" "$OUT" | sed 's/^/#   /'
		tap_failed=$((tap_failed + 1))
	fi
}

# perf_fails STATUS REGEX ARG...: exit STATUS, exactly one line
# "aemp-perf: ..." matching REGEX on stderr.  With status 2 (a bad
# command line) nothing may reach stdout.
perf_fails() {
	local want=$1 re=$2 lines
	shift 2
	perf_run "$@"
	lines=$(printf '%s\n' "$ERR" | wc -l)
	tap_n=$((tap_n + 1))
	if [ "$STATUS" -eq "$want" ] && [ "$lines" -eq 1 ] &&
		{ [ "$want" -ne 2 ] || [ -z "$OUT" ]; } &&
		printf '%s' "$ERR" | grep -Eq -- "^aemp-perf: .*$re"; then
		echo "ok $tap_n - aemp-perf $* fails: $ERR"
	else
		echo "not ok $tap_n - aemp-perf $* (exit $STATUS, want $want)"
		printf 'stderr: %s\nstdout: %s\n' "$ERR" "$OUT" | sed 's/^/#   /'
		tap_failed=$((tap_failed + 1))
	fi
}

# rows EXPECTED PERL-EXPR DESCRIPTION: $OUT holds EXPECTED JSON lines and
# PERL-EXPR is true for each (the object in $r); prints the first failing
# line otherwise.
rows() {
	local want=$1 expr=$2 desc=$3 res
	res=$(printf '%s\n' "$OUT" | perl -MJSON::PP -e '
		my ($want, $expr) = @ARGV; my $n = 0;
		while (my $line = <STDIN>) {
			next unless $line =~ /\S/;
			my $r = eval { JSON::PP->new->decode($line) };
			if (!$r) { print "not JSON: $line"; exit }
			$n++;
			my $ok = eval $expr; die $@ if $@;
			if (!$ok) { print "fails: $line"; exit }
		}
		print $n == $want ? "ok" : "$n lines, expected $want";
	' "$want" "$expr")
	tap_n=$((tap_n + 1))
	if [ "$res" == ok ]; then
		echo "ok $tap_n - $desc"
	else
		echo "not ok $tap_n - $desc"
		printf '%s\n' "$res" | sed 's/^/#   /'
		tap_failed=$((tap_failed + 1))
	fi
}

# Sane throughput and a clean delivery check.
SANE='$r->{msgs} > 0 && $r->{msgs_per_s} > 0 && $r->{mb_per_s} >= 0 &&
	$r->{gaps} == 0 && $r->{reorders} == 0 && $r->{cpu_s} >= 0'
# Sane latency figures, in order.
LAT='$r->{rtt_p50_us} > 0 && $r->{rtt_p50_us} <= $r->{rtt_p90_us} &&
	$r->{rtt_p90_us} <= $r->{rtt_p99_us} &&
	$r->{rtt_p99_us} <= $r->{rtt_p999_us} &&
	$r->{rtt_p999_us} <= $r->{rtt_max_us}'

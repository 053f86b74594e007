#!/bin/bash
# tests/cli/perl_fidelity.sh - a real Perl AnyEvent::MP 2.02 client sends
# a corpus of Perl values (64-bit unsigned integers, floats, NaN and
# infinities, byte and character strings, references, CBOR tags, objects,
# undefined, binary hash keys, a large array, deep nesting) through
# aemp::echo and through the database (db_set, then db_family and db_mon)
# with an aemp node in the middle, and the same corpus with a Perl node in
# the middle; what comes back must be the same, value for value, in CBOR
# and in JSON framing.
#
# Needs a Perl AnyEvent::MP: AEMP_PERL_AEMP=/path/to/bin/aemp-perl (the
# wrapper of /tmp/perl-aemp, whose ../lib holds AnyEvent::MP); skips
# otherwise.
# aemp-test-timeout: 120
. "$(dirname "$0")/tap.bash"
. "$(dirname "$0")/node.bash"

PL="$(dirname "$0")/perl_fidelity.pl"
perl_peer "$PL"

perl_start() {	# NAME ID: a global Perl node serving aemp::echo
	local i
	bg "$1" perl "$PL" serve --nodeid "$2" --secret geheim --timeout 300
	for ((i = 0; i < 400; i++)); do
		if grep -q '^listen' "$TMP/$1.out" 2>/dev/null; then
			ADDR[$1]=$(sed -n 's/^listen \([^ ]*\).*/\1/p' "$TMP/$1.out")
			return 0
		fi
		kill -0 "${PID[$1]}" 2>/dev/null || break
		sleep 0.05
	done
	echo "# perl node $1 did not start: $(cat "$TMP/$1.err")"
	return 1
}

# compare FRAMING PATH: the lines of PATH must be the same in both runs
compare() {
	local got want
	got=$(grep "^$2 " "$TMP/c-$1.out")
	want=$(grep "^$2 " "$TMP/p-$1.out")
	if [ -n "$want" ] && [ "$got" == "$want" ]; then
		ok "$1: $2 through aemp gives what it gives through Perl" true
	else
		ok "$1: $2 through aemp gives what it gives through Perl" false
		diff <(echo "$want") <(echo "$got") | head -n 20 | sed 's/^/#   /'
	fi
}

ok "aemp global starts" node_start c run nodeid cfid binds 127.0.0.1:0 \
	secret geheim services '["AnyEvent::MP::Global::"]'
ok "perl global starts" perl_start p pfid
client() {	# OUT SEED NODE FRAMING
	if ! perl "$PL" check --seeds "$2" --secret geheim --node "$3" \
		--framing "$4" >"$TMP/$1.out" 2>"$TMP/$1.err"; then
		sed 's/^/#   /' "$TMP/$1.err"
		return 1
	fi
}

for f in cbor json; do
	ok "$f: perl client through aemp" client c-$f "${ADDR[c]}" cfid $f
	ok "$f: perl client through perl" client p-$f "${ADDR[p]}" pfid $f
	for path in echo db_family db_mon; do
		compare $f $path
	done
done
node_stop c
node_stop p
done_testing

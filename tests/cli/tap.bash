# tests/cli/tap.bash - sourced by the tests/cli/*.sh scripts (not a test
# itself: runtests.sh runs only *.sh).  TAP output, a private HOME with the
# configuration file inside it, and helpers that run aemp and check its
# exit status, its single error line and whether it touched the file.
#
#   AEMP_BUILD   build/<flavor> directory (set by tools/runtests.sh)
set -u

_top=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
AEMP="${AEMP_BUILD:-$_top/build/release}/aemp"
[ -x "$AEMP" ] || { echo "1..0 # SKIP no aemp binary at $AEMP"; exit 77; }

tap_n=0
tap_failed=0
TMP=$(mktemp -d "${TMPDIR:-/tmp}/aemp-cli-XXXXXX")
trap 'rm -rf "$TMP"' EXIT
export HOME="$TMP/home"
mkdir -p "$HOME"
export PERL_ANYEVENT_MP_RC="$HOME/rc"
RC="$PERL_ANYEVENT_MP_RC"

# ok DESCRIPTION COMMAND...: one TAP line for the command's success.
ok() {
	local desc=$1
	shift
	tap_n=$((tap_n + 1))
	if "$@"; then
		echo "ok $tap_n - $desc"
	else
		echo "not ok $tap_n - $desc"
		tap_failed=$((tap_failed + 1))
	fi
}

# is GOT EXPECTED DESCRIPTION
is() {
	tap_n=$((tap_n + 1))
	if [ "$1" == "$2" ]; then
		echo "ok $tap_n - $3"
	else
		echo "not ok $tap_n - $3"
		echo "#   got:      $(printf '%s' "$1" | head -c 2000 | sed '2,$s/^/#             /')"
		echo "#   expected: $(printf '%s' "$2" | head -c 2000 | sed '2,$s/^/#             /')"
		tap_failed=$((tap_failed + 1))
	fi
}

# like GOT REGEX DESCRIPTION (grep -E on the whole text)
like() {
	tap_n=$((tap_n + 1))
	if printf '%s' "$1" | grep -Eq -- "$2"; then
		echo "ok $tap_n - $3"
	else
		echo "not ok $tap_n - $3"
		echo "#   '$1'"
		echo "#   does not match '$2'"
		tap_failed=$((tap_failed + 1))
	fi
}

# run ARG...: run aemp (at most 30 s: status 124 after that); sets OUT,
# ERR and STATUS.
run() {
	OUT=$(timeout -k 2 30 "$AEMP" "$@" 2>"$TMP/stderr")
	STATUS=$?
	ERR=$(cat "$TMP/stderr")
}

# aemp_ok ARG...: aemp succeeds silently on stderr.
aemp_ok() {
	run "$@"
	tap_n=$((tap_n + 1))
	if [ "$STATUS" -eq 0 ] && [ -z "$ERR" ]; then
		echo "ok $tap_n - aemp $*"
	else
		echo "not ok $tap_n - aemp $* (exit $STATUS)"
		printf '%s\n' "$ERR" | sed 's/^/#   /'
		tap_failed=$((tap_failed + 1))
	fi
}

_sum() {
	if [ -e "$RC" ]; then cksum <"$RC"; else echo absent; fi
}

# aemp_fails STATUS REGEX ARG...: aemp exits with STATUS, prints exactly
# one line "aemp: ..." matching REGEX on stderr, nothing on stdout, and
# leaves the configuration file as it was.
aemp_fails() {
	local want=$1 re=$2 before after lines
	shift 2
	before=$(_sum)
	run "$@"
	after=$(_sum)
	lines=$(printf '%s\n' "$ERR" | wc -l)
	tap_n=$((tap_n + 1))
	if [ "$STATUS" -eq "$want" ] && [ "$lines" -eq 1 ] && [ -z "$OUT" ] &&
		printf '%s' "$ERR" | grep -Eq -- "^aemp: .*$re" &&
		[ "$before" == "$after" ]; then
		echo "ok $tap_n - aemp $* fails: $ERR"
	else
		echo "not ok $tap_n - aemp $* (exit $STATUS, want $want)"
		printf 'stderr: %s\nstdout: %s\nfile %s -> %s\n' "$ERR" "$OUT" \
			"$before" "$after" | sed 's/^/#   /'
		tap_failed=$((tap_failed + 1))
	fi
}

# json_get FILE PERL-EXPR: evaluate a Perl expression on the decoded JSON
# in $j (core JSON::PP; relaxed, like Perl's aemp reads it).
json_get() {
	perl -MJSON::PP -e '
		local $/; open my $fh, "<", $ARGV[0] or die "$ARGV[0]: $!";
		my $j = JSON::PP->new->relaxed->decode(<$fh>);
		my $r = eval $ARGV[1]; die $@ if $@;
		print ref $r ? JSON::PP->new->canonical->encode($r) :
			defined $r ? $r : "undef";' "$1" "$2"
}

done_testing() {
	echo "1..$tap_n"
	[ "$tap_failed" -eq 0 ] || echo "# $tap_failed of $tap_n failed"
	[ "$tap_failed" -eq 0 ]
	exit $?
}

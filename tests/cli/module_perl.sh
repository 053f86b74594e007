#!/bin/bash
# tests/cli/module_perl.sh - a real Perl AnyEvent::MP 2.02 node spawns a
# module's function on `aemp run` and calls it: with the module loaded by
# the `modules` key, and on demand through `module_path`.
#
# Needs a Perl AnyEvent::MP: AEMP_PERL_AEMP=/path/to/bin/aemp-perl (the
# wrapper of /tmp/perl-aemp, whose ../lib holds AnyEvent::MP); skips
# otherwise.
# aemp-test-timeout: 120
. "$(dirname "$0")/tap.bash"
. "$(dirname "$0")/node.bash"

PL="$(dirname "$0")/module_perl.pl"
perl_peer "$PL"

mods="$TMP/mods"
mkdir -p "$mods"
ok "Counter.so builds" cc -shared -fPIC -Wall -Werror -I"$_top/include" \
	-o "$mods/Counter.so" "$_top/examples/counter/counter.c"

want="spawn 1 incr: 5
spawn 1 incr: 7
spawn 2 incr: 5
spawn 2 incr: 7
spawn 3 incr: 5
spawn 3 incr: 7
hits: 6"

for how in modules module_path; do
	if [ $how == modules ]; then
		extra=(modules Counter)
	else
		extra=()
	fi
	ok "$how: aemp run" node_start h run nodeid hm binds 127.0.0.1:0 \
		secret geheim shards 2 module_path "$mods" "${extra[@]}"
	bg p timeout -k 2 60 perl "$PL" "${ADDR[h]}" hm 3
	bg_wait p 70
	is "$BG_STATUS:$(cat "$TMP/p.out")" "0:$want" \
		"$how: Perl spawns Counter::init, calls it and Counter::hits"
	[ "$BG_STATUS" == 0 ] || sed 's/^/#   /' "$TMP/p.err" "$TMP/h.err" | tail -n 20
	node_stop h
	is "$STOP_STATUS" 0 "$how: the host stops cleanly"
done

done_testing

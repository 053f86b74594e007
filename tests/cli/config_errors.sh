#!/bin/bash
# tests/cli/config_errors.sh - every error of the configuration commands
# is one line "aemp: ..." on stderr with a non-zero exit status (2 for a
# bad command line or an unavailable command, 1 for a failing command),
# and a failing command line leaves the file untouched.
. "$(dirname "$0")/tap.bash"

"$AEMP" setsecret keep profile p setnodeid p/ >/dev/null
keep=$(cat "$RC")

# the command line
aemp_fails 2 "no subcommand given" 
aemp_fails 2 "unknown subcommand 'frobnicate'" frobnicate
aemp_fails 2 "unknown subcommand 'frobnicate'" setsecret changed frobnicate
aemp_fails 2 "'eval' is not supported" seteval x eval
aemp_fails 2 "'setseeds' needs an argument: setseeds LIST" setseeds
aemp_fails 2 "'profile' needs an argument" setsecret changed profile
aemp_fails 2 "'addseed' needs an argument" addseed
aemp_fails 2 "'setcert' needs an argument" setcert
aemp_fails 2 "'showprofile' needs an argument" showprofile
aemp_fails 2 "'delprofile' needs an argument" delprofile
aemp_fails 2 "'setparent' needs an argument" profile p setparent
aemp_fails 2 "bad JSON argument '\[1,': not valid JSON" setseeds '[1,'
aemp_fails 2 "bad JSON argument '\[1,': not valid JSON" '[1,'
aemp_fails 2 "bad JSON argument '\{x': not valid JSON" setsecret '{x'
aemp_fails 2 "bad JSON argument '\"abc': not valid JSON" setsecret '"abc'
aemp_fails 2 "bad JSON argument '\[::1\]:4040'.*'\"\[::1\]:4040\"'" \
	addbind '[::1]:4040'
aemp_fails 2 "expected a subcommand, got a JSON value" '{"a": 1}'
aemp_fails 2 "expected a subcommand, got a JSON value" '[5]'
aemp_fails 2 "'profile': NAME must be a string, not JSON" profile '["x"]'
aemp_fails 2 "'addseed': HOST:PORT must be a string" addseed '["x:1"]'

# protocol commands: not there yet, or refused for good
aemp_fails 2 "'db': unknown request 'drop'" setsecret changed db drop fam
for c in eval shell restart trace; do
	aemp_fails 2 "'$c' is not supported: aemp nodes do not evaluate code" \
		$c node 1+1
done

# bad values: refused before anything is stored
aemp_fails 1 "setmonitor_timeout: monitor_timeout: expected a number of seconds > 0 and <= 31536000, got \"abc\"$" \
	setmonitor_timeout abc
aemp_fails 1 "monitor_timeout: expected a number" monitor_timeout 0
aemp_fails 1 "connect_interval: expected a number" connect_interval -1
aemp_fails 1 "setnodelay: expected true or false, got 'maybe'" setnodelay maybe
aemp_fails 1 "secure: expected true or false" secure '"false-ish"'
aemp_fails 1 "shards: expected an integer 0..64, got 100" setshards 100
aemp_fails 1 "log_level: expected an integer 1..9, got 10" log_level 10
aemp_fails 1 "max_packet: expected an integer" max_packet 12
aemp_fails 1 "max_queue: expected an integer" max_queue lots
aemp_fails 1 "max_handshakes: expected an integer" max_handshakes 0
aemp_fails 1 "binds: bad address 'h:99999': port must be" setbinds h:99999
aemp_fails 1 "seeds: bad address '\[::1': expected" addseed '"[::1"'
aemp_fails 1 "services: expected function names" setservices '[5]'
aemp_fails 1 "services: expected function names" addservice '[]'
aemp_fails 1 "framing_format: lists neither \"json\" nor \"cbor\"" \
	setframing_format storable
aemp_fails 1 "framing_format: expected non-empty strings" \
	framing_format '["json", ""]'
aemp_fails 1 "auth_offer: at most 8 names" auth_offer a,b,c,d,e,f,g,h,i
aemp_fails 1 "nodeid: \"a#b\" must not contain '#'" setnodeid 'a#b'
aemp_fails 1 "nodeid: \"0\" must not be \"0\"|nodeid: .*must not be" setnodeid 0
aemp_fails 1 "nodeid: expected a string, got an array" nodeid '["x"]'
aemp_fails 1 "secret: expected a string, got an object" setsecret '{"k": 1}'
aemp_fails 1 "setparent: only a profile has a parent" setparent base
aemp_fails 1 "setparent: profile 'p' cannot be its own parent" \
	profile p setparent p
aemp_fails 1 "profile: bad profile name" profile ''

# profiles that do not exist
aemp_fails 1 "showprofile: no profile 'nope' in $RC" showprofile nope
aemp_fails 1 "delprofile: no profile 'nope' in $RC" delprofile nope
aemp_fails 1 "delprofile: no profile 'nope'" setsecret changed delprofile nope

is "$(cat "$RC")" "$keep" "no failing command line changed the file"
ok "no backup was made" test ! -e "$RC~"

# the configuration file itself
printf '{\n  "secret": "x",\n  "seeds": [1 2]\n}\n' >"$RC"
aemp_fails 1 "$RC: line 3, column 15: expected ',' or '\]' after array element" \
	setsecret y
aemp_fails 1 "$RC: line 3, column 15" showconfig
aemp_fails 1 "$RC: line 3, column 15" showprofile p
printf '["not", "an", "object"]\n' >"$RC"
aemp_fails 1 "$RC: the top level must be a JSON object" setsecret y
printf '{"profile": {"p": "x"}}\n' >"$RC"
aemp_fails 1 "$RC: profile \"p\" must be a JSON object" showprofile p
printf '{"secret": "\xff"}\n' >"$RC"
aemp_fails 1 "$RC: line 1, column 13: malformed UTF-8 in string" setsecret y
rm -f "$RC"
mkdir "$RC"
aemp_fails 1 "$RC: is a directory" setsecret y
rmdir "$RC"
PERL_ANYEVENT_MP_RC="$TMP/afile/rc"
touch "$TMP/afile"
RC="$PERL_ANYEVENT_MP_RC" aemp_fails 1 "$TMP/afile/rc: cannot read: Not a directory" \
	setsecret y
PERL_ANYEVENT_MP_RC="$TMP/nodir/rc"
RC="$PERL_ANYEVENT_MP_RC" aemp_fails 1 "$TMP/nodir/rc~new~: cannot create: No such file or directory" \
	setsecret y
PERL_ANYEVENT_MP_RC="$HOME/rc"

# output errors
"$AEMP" help >/dev/full 2>"$TMP/stderr"
is "$?:$(cat "$TMP/stderr")" "1:aemp: cannot write to standard output" \
	"a full stdout is an error"

done_testing

#!/bin/bash
# tests/cli/config_cmds.sh - every configuration subcommand of aemp, each
# command's saved file read back by the next invocation, chaining, JSON
# arguments and the setXXX-without-set aliases.
. "$(dirname "$0")/tap.bash"

g() { json_get "$RC" "$1"; }

# help and version need no file
aemp_ok help
like "$OUT" "^usage: aemp \[OPTION...\] COMMAND" "help prints usage"
like "$OUT" "setseeds LIST" "help lists setseeds"
aemp_ok --help
aemp_ok --version
like "$OUT" "^aemp [0-9]+\.[0-9]+\.[0-9]+" "--version prints the version"
ok "help/version write no file" test ! -e "$RC"

# nothing changed: nothing written
aemp_ok showconfig
ok "showconfig alone writes no file" test ! -e "$RC"

# global section, set / alias / del for every plain key
aemp_ok setnodeid 'anon/'
is "$(g '$j->{nodeid}')" "anon/" "setnodeid stored"
is "$(g '$j->{version}')" "1" "new file has version 1"
is "$(stat -c %a "$RC")" "600" "new file is private (0600)"
aemp_ok nodeid 'aemp/%n/%u'
is "$(g '$j->{nodeid}')" "aemp/%n/%u" "nodeid alias"
aemp_ok delnodeid
is "$(g '$j->{nodeid}')" "undef" "delnodeid removed it"
aemp_ok setsecret s3cret
is "$(g '$j->{secret}')" "s3cret" "setsecret"
aemp_ok secret other
is "$(g '$j->{secret}')" "other" "secret alias"
aemp_ok gensecret
like "$(g '$j->{secret}')" '^[0-9A-Za-z]{180}$' "gensecret: 180 alphanumerics"
s1=$(g '$j->{secret}')
aemp_ok gensecret
ok "gensecret is random" test "$s1" != "$(g '$j->{secret}')"
aemp_ok delsecret
is "$(g '$j->{secret}')" "undef" "delsecret"

# lists: comma strings, JSON arrays, add (moving to the end) and del
aemp_ok setseeds h1:4040,h2:4040
is "$(g '$j->{seeds}')" '["h1:4040","h2:4040"]' "setseeds comma list"
aemp_ok seeds '["h3:1", "h4:2"]'
is "$(g '$j->{seeds}')" '["h3:1","h4:2"]' "seeds alias with a JSON array"
aemp_ok addseed h5:5
aemp_ok addseed h3:1
is "$(g '$j->{seeds}')" '["h4:2","h5:5","h3:1"]' "addseed appends, moves to end"
aemp_ok delseed h4:2
aemp_ok delseed nothere:1
is "$(g '$j->{seeds}')" '["h5:5","h3:1"]' "delseed removes; absent is fine"
aemp_ok delseeds
is "$(g '$j->{seeds}')" "undef" "delseeds"
aemp_ok addseed first:1
is "$(g '$j->{seeds}')" '["first:1"]' "addseed creates the list"
aemp_ok delseeds
aemp_ok setbinds '*:4040'
is "$(g '$j->{binds}')" '["*:4040"]' "setbinds"
aemp_ok binds '127.0.0.1:1,[::1]:2'
aemp_ok addbind 4041
aemp_ok delbind '"[::1]:2"'
is "$(g '$j->{binds}')" '["127.0.0.1:1","4041"]' "binds/addbind/delbind"
aemp_ok delbinds
is "$(g '$j->{binds}')" "undef" "delbinds"
aemp_ok setservices 'AnyEvent::MP::Global::,My::start'
is "$(g '$j->{services}')" '["AnyEvent::MP::Global::","My::start"]' \
	"setservices comma list"
aemp_ok addservice '["My::init", 1, {"a": true}]'
aemp_ok addservice My::start
is "$(g '$j->{services}')" \
	'["AnyEvent::MP::Global::","My::start",["My::init",1,{"a":true}],"My::start"]' \
	"addservice appends (JSON values too, duplicates kept)"
aemp_ok delservice My::start
aemp_ok delservice '["My::init", 1, {"a": true}]'
is "$(g '$j->{services}')" '["AnyEvent::MP::Global::","My::start"]' \
	"delservice removes the first occurrence only"
aemp_ok services '[]'
is "$(g '$j->{services}')" '[]' "services alias, empty array"
aemp_ok delservices
is "$(g '$j->{services}')" "undef" "delservices"

# transport options, booleans, numbers, the aemp extensions
aemp_ok setmonitor_timeout 10 connect_interval 2.5 setsecure true \
	autocork yes nodelay off setframing_format json,cbor \
	auth_offer '["hmac_sha3_512"]' setauth_accept hmac_sha3_512,cleartext \
	setshards 4 max_packet 65536 setmax_queue 1048576 max_handshakes 16 \
	setlog_level 7
is "$(g '[@$j{qw(monitor_timeout connect_interval shards max_packet max_queue max_handshakes log_level)}]')" \
	'[10,2.5,4,65536,1048576,16,7]' "numbers are stored as JSON numbers"
is "$(g '[map { $_ ? "t" : "f" } @$j{qw(secure autocork nodelay)}]')" \
	'["t","t","f"]' "booleans"
is "$(g 'JSON::PP::is_bool($j->{secure}) ? 1 : 0')" "1" "booleans are JSON true/false"
is "$(g '$j->{framing_format}')" '["json","cbor"]' "framing_format"
is "$(g '$j->{auth_offer}')" '["hmac_sha3_512"]' "auth_offer"
is "$(g '$j->{auth_accept}')" '["hmac_sha3_512","cleartext"]' "auth_accept"
aemp_ok delmonitor_timeout delconnect_interval delsecure delautocork \
	delnodelay delframing_format delauth_offer delauth_accept delshards \
	delmax_packet delmax_queue delmax_handshakes dellog_level
is "$(g '[sort keys %$j]')" '["version"]' "every del removed its key"
aemp_ok secure 0 setautocork false nodelay 1
is "$(g '[map { $_ ? "t" : "f" } @$j{qw(secure autocork nodelay)}]')" \
	'["f","f","t"]' "booleans from 0/false/1"
aemp_ok delsecure delautocork delnodelay

# eval is stored for Perl nodes
aemp_ok seteval 'warn "hello"'
is "$(g '$j->{eval}')" 'warn "hello"' "seteval"
aemp_ok deleval
is "$(g '$j->{eval}')" "undef" "deleval"

# profiles
aemp_ok profile web
is "$(g '$j->{profile}{web}')" '{}' "profile creates an empty profile"
aemp_ok profile web setnodeid web/ binds '*:80' setparent base
is "$(g '$j->{profile}{web}')" '{"binds":["*:80"],"nodeid":"web/","parent":"base"}' \
	"settings after 'profile NAME' go to the profile"
is "$(g '$j->{nodeid}')" "undef" "... not to the global section"
aemp_ok profile web parent other
is "$(g '$j->{profile}{web}{parent}')" "other" "parent alias"
aemp_ok profile web delparent
is "$(g '$j->{profile}{web}{parent}')" "undef" "delparent"
aemp_ok showprofile web
is "$OUT" '{
   "nodeid" : "web/",
   "binds" : [
      "*:80"
   ]
}' "showprofile prints the profile's own values"
aemp_ok profile a setsecret A profile b setsecret B
is "$(g '[$j->{profile}{a}{secret}, $j->{profile}{b}{secret}]')" '["A","B"]' \
	"profile switches the section within one command line"
aemp_ok delprofile a
is "$(g 'exists $j->{profile}{a} ? 1 : 0')" "0" "delprofile"
is "$(g '$j->{profile}{b}{secret}')" "B" "other profiles kept"

# chains: showconfig sees edits made earlier on the same line
aemp_ok profile c setmonitor_timeout 7 showconfig c
like "$OUT" '"monitor_timeout" : 7' "showconfig after an edit on the same line"

# a first argument starting with [ replaces the whole line
aemp_ok '["profile", "j", "setseeds", ["x:1", "y:2"], "setshards", 3]'
is "$(g '$j->{profile}{j}')" '{"seeds":["x:1","y:2"],"shards":3}' \
	"JSON array command line"
aemp_ok profile j setsecret '"quoted string"'
is "$(g '$j->{profile}{j}{secret}')" "quoted string" "\"...\" argument is a JSON string"

# the default file location is ~/.perl-anyevent-mp
(
	unset PERL_ANYEVENT_MP_RC
	"$AEMP" setnodeid home-default
)
is "$(json_get "$HOME/.perl-anyevent-mp" '$j->{nodeid}')" "home-default" \
	"without PERL_ANYEVENT_MP_RC the file is ~/.perl-anyevent-mp"

done_testing

#!/bin/bash
# tests/cli/config_perl.sh - a configuration file written the way Perl
# users write it (comments, trailing commas, eval, Perl services, keys aemp
# does not know) survives edits by aemp, and saving follows §8.1: the old
# file becomes FILE~, nothing is left in FILE~new~, and Perl can read the
# result.
. "$(dirname "$0")/tap.bash"

g() { json_get "$RC" "$1"; }

cat >"$RC" <<'EOF'
# AnyEvent::MP configuration, edited by hand
{
   "version" : 1,
   "secret" : "shared",      # used by every node
   "seeds" : ["seed1:4040", "seed2:4040",],
   "eval" : "use My::App; My::App::init",
   "perl_only_thing" : {"nested": [1, 2.5, null, true, "\u00e9\t"]},
   "profile" : {
      "seed" : {
         "binds" : ["*:4040"],
         "services" : ["AnyEvent::MP::Global::", "My::Service::",
                       ["My::start", 1, {"x": "y"}],],
      },
      "worker" : { "parent" : "seed", "nodeid" : "w/%u", },
   },
}
EOF
orig=$(cat "$RC")
chmod 0640 "$RC"

aemp_ok showprofile seed
like "$OUT" '"My::Service::"' "Perl services are shown"
ok "reading does not rewrite the file" test "$(cat "$RC")" == "$orig"
ok "reading makes no backup" test ! -e "$RC~"

aemp_ok profile worker addseed seed3:4040 setmonitor_timeout 5
ok "backup FILE~ holds the previous file exactly" \
	test "$(cat "$RC~")" == "$orig"
ok "no FILE~new~ left behind" test ! -e "$RC~new~"
is "$(stat -c %a "$RC")" "640" "the file keeps its mode"
ok "Perl's JSON reads the saved file strictly (no comments or commas)" \
	perl -MJSON::PP -e 'local $/; open my $f, "<", $ARGV[0] or die;
		JSON::PP->new->decode(<$f>)' "$RC"
is "$(g '$j->{eval}')" "use My::App; My::App::init" "eval preserved"
is "$(g '$j->{perl_only_thing}')" '{"nested":[1,2.5,null,true,"é\t"]}' \
	"unknown entries preserved verbatim"
is "$(g '$j->{profile}{seed}{services}')" \
	'["AnyEvent::MP::Global::","My::Service::",["My::start",1,{"x":"y"}]]' \
	"Perl services preserved"
is "$(g '$j->{seeds}')" '["seed1:4040","seed2:4040"]' "global seeds untouched"
is "$(g '$j->{profile}{worker}')" \
	'{"monitor_timeout":5,"nodeid":"w/%u","parent":"seed","seeds":["seed3:4040"]}' \
	"edits went into the worker profile"
is "$(g '[sort keys %$j]')" \
	'["eval","perl_only_thing","profile","secret","seeds","version"]' \
	"no key lost or added"

# key order is kept, new keys go last; the style is JSON::XS ->pretty
like "$(cat "$RC")" '^\{
   "version" : 1,
   "secret" : "shared",
   "seeds" : \[' "key order of the original kept, 3-space indent"
like "$(head -c 400 "$RC")" '"nested" : \[
            1,' "one element per line"

# a second edit: FILE~ is now the first saved version
first=$(cat "$RC")
aemp_ok profile seed delservice My::Service::
ok "second save: FILE~ is the first save" test "$(cat "$RC~")" == "$first"
is "$(g '$j->{profile}{seed}{services}')" \
	'["AnyEvent::MP::Global::",["My::start",1,{"x":"y"}]]' \
	"delservice on the Perl list"

# showconfig shows Perl-only entries too, and the effective profile chain
aemp_ok showconfig worker
like "$OUT" '"eval" : "use My::App; My::App::init"' "showconfig shows eval"
like "$OUT" '"binds" : \[
      "\*:4040"' "showconfig: binds inherited from the parent"
like "$OUT" '"nodeid" : "w/%u"' "showconfig shows the template unexpanded"

# the same file round-trips through aemp unchanged when nothing changes
before=$(cat "$RC")
aemp_ok profile seed showprofile seed
ok "profile of an existing profile does not rewrite the file" \
	test "$(cat "$RC")" == "$before"

done_testing

#!/bin/bash
# tests/cli/config_showconfig.sh - `aemp showconfig` prints the effective
# configuration with the precedence of §7.1: defaults < KEY VALUE
# arguments < global section < parent chain < profile; "force" puts the
# arguments on top, "norc" ignores the file.
. "$(dirname "$0")/tap.bash"

# o PERL-EXPR: evaluate on the JSON printed by the last run ($j).
o() {
	printf '%s' "$OUT" >"$TMP/out.json"
	json_get "$TMP/out.json" "$1"
}

host=$(uname -n)
cat >"$RC" <<EOF
{ "monitor_timeout": 10, "secret": "g", "connect_interval": 3,
  "profile": {
     "base": {"monitor_timeout": 11, "shards": 2, "seeds": ["b:1"]},
     "leaf": {"parent": "base", "secret": "leaf", "log_level": 7},
     "$host": {"nodeid": "%n-node"},
     "loop1": {"parent": "loop2"}, "loop2": {"parent": "loop1"},
     "bad": {"max_packet": "huge"}
  }
}
EOF

aemp_ok showconfig nonexistent
is "$(o '[@$j{qw(monitor_timeout secret connect_interval max_handshakes)}]')" \
	'[10,"g",3,256]' "global section over defaults"
is "$(o '$j->{nodeid}')" "undef" "no nodeid: none shown"
is "$(o '[@$j{qw(framing_format binds)}]')" '[["cbor","json"],["*"]]' \
	"defaults shown"
is "$(o 'join ",", grep { exists $j->{$_} } qw(profile parent version norc force)')" \
	"" "no file structure keys in the effective configuration"

aemp_ok showconfig
is "$(o '$j->{nodeid}')" "%n-node" "default profile is the host name"

aemp_ok showconfig leaf
is "$(o '[@$j{qw(monitor_timeout shards secret log_level connect_interval)}]')" \
	'[11,2,"leaf",7,3]' "profile > parent > global"
is "$(o '$j->{seeds}')" '["b:1"]' "lists inherited from the parent"

aemp_ok showconfig leaf monitor_timeout 99 max_handshakes 5 autocork true
is "$(o '[@$j{qw(monitor_timeout max_handshakes)}]')" '[11,5]' \
	"arguments are below the file, above the defaults"
is "$(o '$j->{autocork} ? 1 : 0')" "1" "boolean argument"

aemp_ok showconfig leaf monitor_timeout 99 force 1 seeds '["x:2"]'
is "$(o '[@$j{qw(monitor_timeout secret)}]')" '[99,"leaf"]' \
	"force: arguments over the file"
is "$(o '$j->{seeds}')" '["x:2"]' "force: JSON argument value"

aemp_ok showconfig leaf monitor_timeout 99 norc 1
is "$(o '[@$j{qw(monitor_timeout connect_interval)}]')" '[99,2]' \
	"norc: no file"
is "$(o '$j->{secret}')" "undef" "norc: no secret from the file"

aemp_ok showconfig leaf secret '"x"'
is "$(o '$j->{secret}')" "leaf" "secret is printed (the user asked)"

aemp_fails 1 "parent cycle 'loop1' -> 'loop2' -> 'loop1'" showconfig loop1
aemp_fails 1 "max_packet: expected an integer 1024\.\.1073741824, got \"huge\" \(profile 'bad' in $RC\)" \
	showconfig bad
aemp_fails 1 "unknown configuration key 'bogus'" showconfig leaf bogus 1
aemp_fails 1 "nodeid: \"a#b\" must not contain" showconfig leaf nodeid 'a#b' force 1
"$AEMP" profile small setmax_queue 65536
aemp_fails 1 "showconfig: max_queue \(65536\) must be at least max_packet \(16777216\)" \
	showconfig small
aemp_ok showconfig small max_packet 4096
aemp_fails 2 "KEY without VALUE" showconfig leaf secure
aemp_fails 2 "KEY must be a string" showconfig leaf '{"a":1}' 1

done_testing

#!/bin/bash
# tests/cli/perl_tls.sh - TLS against real Perl AnyEvent::MP 2.02 nodes
# (OpenSSL through Net::SSLeay), with a certificate made by `aemp gencert`
# (RSA-2048) and one made by openssl (EC P-256): a Perl client through an
# `aemp run` node (small values and one of 120 KB, several records), and
# the aemp tool against a Perl node.  Each connection must be TLS 1.3 with
# an AEAD suite (the INFO line of the aemp side).
#
#   AEMP_PERL_AEMP=/tmp/perl-aemp/bin/aemp-perl   the Perl installation
#                  (its wrapper; lib/ is beside bin/)
# The Perl node and client are perl_tls_node.pl and perl_tls_client.pl here.
# Skips without it, or without openssl.  The client waits 0.3 s after the
# spawn before it sends (--settle): from before the fix of spawn-then-send
# (docs/reliability.md, item 9; tests/integ/spawn_order checks it with the
# real Perl peer), kept so this test checks TLS only.  Perl starts slowly
# on a loaded machine: its client gets 60 s.
# aemp-test-timeout: 300
. "$(dirname "$0")/tap.bash"
. "$(dirname "$0")/node.bash"

if [ -z "${AEMP_PERL_AEMP:-}" ] || [ ! -x "$AEMP_PERL_AEMP" ]; then
	echo "1..0 # SKIP no Perl peer: set AEMP_PERL_AEMP=/tmp/perl-aemp/bin/aemp-perl"
	exit 77
fi
command -v openssl >/dev/null || { echo "1..0 # SKIP no openssl"; exit 77; }
PD=$(cd "$(dirname "$AEMP_PERL_AEMP")/.." && pwd)
export PERL5LIB="$PD/lib${PERL5LIB:+:$PERL5LIB}"
HERE=$(cd "$(dirname "$0")" && pwd)
perl -c "$HERE/perl_tls_node.pl" >/dev/null 2>&1 ||
	{ echo "1..0 # SKIP perl_tls_node.pl does not compile with $PD/lib"; exit 77; }

"$AEMP" gencert >/dev/null || exit 1
json_get "$RC" '$j->{cert}' >"$TMP/aemp.pem"
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
	-subj /CN=perl-tls -days 30 -keyout "$TMP/k.pem" -out "$TMP/c.pem" \
	2>"$TMP/openssl.err" || { cat "$TMP/openssl.err"; exit 1; }
cat "$TMP/k.pem" "$TMP/c.pem" >"$TMP/openssl.pem"
BIG=$(head -c 90000 /dev/urandom | base64 -w0)

TLS_RE='authenticated over TLSv1\.3 \(TLS13-(AES128-GCM|AES256-GCM|CHACHA20-POLY1305)-SHA(256|384)\)'

for kind in aemp openssl; do
	pem="$TMP/$kind.pem"
	rm -f "$RC"
	"$AEMP" setsecret s3cret setcert "$pem" setlog_level 7 >/dev/null

	# Perl client -> aemp node
	node_start cn$kind run nodeid cn$kind binds 127.0.0.1:0 || exit 1
	out=$(timeout -k 2 70 perl "$HERE/perl_tls_client.pl" --timeout 60 \
		--seeds "${ADDR[cn$kind]}" --secret s3cret --cert "$pem" \
		--settle 0.3 echo "cn$kind" 1 '"two"' "\"$BIG\"" 2>"$TMP/pc.err")
	is "$(printf '%s\n' "$out" | head -n 2)" $'[1]\n["two"]' \
		"$kind certificate: Perl client, echo through an aemp node" ||
		sed 's/^/#   /' "$TMP/pc.err"
	is "$(printf '%s\n' "$out" | sed -n 3p)" "[\"$BIG\"]" \
		"$kind certificate: 120 KB value back intact"
	like "$(cat "$TMP/cn$kind.err")" "$TLS_RE" \
		"$kind certificate: aemp node saw TLS 1.3 with an AEAD suite"
	node_stop cn$kind

	# aemp tool -> Perl node
	bg pn$kind perl "$HERE/perl_tls_node.pl" --nodeid "pn$kind" \
		--binds 127.0.0.1:0 --secret s3cret --cert "$pem"
	has_listen() { grep -q '^listen' "$TMP/pn$kind.out"; }
	ok "$kind certificate: Perl node started" until_ok 20 has_listen
	paddr=$(sed -n 's/^listen //p' "$TMP/pn$kind.out")
	"$AEMP" profile aemp setseeds "$paddr" >/dev/null
	run -v cal "pn$kind" time
	like "$OUT" '^[0-9]{10}' "$kind certificate: aemp cal on a Perl node"
	like "$ERR" "$TLS_RE" "$kind certificate: the tool saw TLS 1.3 with an AEAD suite"
	node_stop pn$kind
done

done_testing

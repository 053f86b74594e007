#!/bin/bash
# tests/cli/config_cert.sh - gencert, setcert FILE (checked before it is
# stored), the cert alias and delcert; unreadable and invalid certificate
# files are errors that leave the file alone.
# aemp-test-timeout: 120
. "$(dirname "$0")/tap.bash"

g() { json_get "$RC" "$1"; }

aemp_ok gencert
cert=$(g '$j->{cert}')
like "$cert" "^-----BEGIN CERTIFICATE-----" "gencert stores the certificate first"
like "$cert" "-----BEGIN (RSA )?PRIVATE KEY-----" "... followed by the key"
printf '%s\n' "$cert" >"$TMP/gen.pem"
if command -v openssl >/dev/null; then
	like "$(openssl x509 -noout -subject -in "$TMP/gen.pem" 2>&1)" \
		"CN ?= ?AnyEvent::MP" "subject CN=AnyEvent::MP"
	like "$(openssl x509 -noout -text -in "$TMP/gen.pem" 2>&1)" \
		"Public-Key: \(2048 bit\)" "RSA-2048"
fi
aemp_ok delcert
is "$(g '$j->{cert}')" "undef" "delcert"

# the generated PEM is accepted back by setcert, byte for byte
aemp_ok profile tls setcert "$TMP/gen.pem"
is "$(g '$j->{profile}{tls}{cert}')" "$cert" "setcert stores the file's text"
aemp_ok profile tls2 cert "$TMP/gen.pem"
ok "cert alias" test -n "$(g '$j->{profile}{tls2}{cert}')"
aemp_ok profile tls2 delcert
is "$(g '$j->{profile}{tls2}{cert}')" "undef" "delcert in a profile"

if command -v openssl >/dev/null; then
	mk() {	# mk NAME: NAME.key and NAME.crt
		openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj "/CN=$1" \
			-keyout "$TMP/$1.key" -out "$TMP/$1.crt" >/dev/null 2>&1
	}
	mk a
	mk b
	cat "$TMP/a.key" "$TMP/a.crt" >"$TMP/keyfirst.pem"
	aemp_ok setcert "$TMP/keyfirst.pem"
	cat "$TMP/a.key" "$TMP/a.crt" "$TMP/b.crt" >"$TMP/withca.pem"
	aemp_ok setcert "$TMP/withca.pem"
	is "$(g '$j->{cert}')" "$(cat "$TMP/withca.pem")" \
		"key, certificate and a CA certificate stored"
	keep=$(cat "$RC")
	cat "$TMP/a.key" "$TMP/b.crt" >"$TMP/mismatch.pem"
	aemp_fails 1 "setcert: '$TMP/mismatch.pem' is not a usable key and certificate: " \
		setcert "$TMP/mismatch.pem"
	aemp_fails 1 "setcert: '$TMP/a.key' is not a usable key and certificate: " \
		setcert "$TMP/a.key"
	aemp_fails 1 "setcert: '$TMP/a.crt' is not a usable key and certificate: " \
		setcert "$TMP/a.crt"
	key_line=$(sed -n 2p "$TMP/a.key")
	ok "the private key is never printed" \
		bash -c "! grep -qF -- '$key_line' '$TMP/stderr'"
	is "$(cat "$RC")" "$keep" "invalid certificates change nothing"
fi

printf 'not a certificate\n' >"$TMP/garbage.pem"
aemp_fails 1 "setcert: '$TMP/garbage.pem' is not a usable key and certificate" \
	setcert "$TMP/garbage.pem"
: >"$TMP/empty.pem"
aemp_fails 1 "setcert: '$TMP/empty.pem' is not a usable key and certificate" \
	setcert "$TMP/empty.pem"
aemp_fails 1 "setcert: cannot read '$TMP/none.pem': No such file or directory" \
	setcert "$TMP/none.pem"
aemp_fails 1 "setcert: cannot read '$TMP': Is a directory" setcert "$TMP"
head -c 1100000 /dev/zero >"$TMP/huge.pem"
aemp_fails 1 "setcert: cannot read '$TMP/huge.pem': File too large" \
	setcert "$TMP/huge.pem"
aemp_fails 2 "'setcert': FILE must be a string" setcert '["x"]'

done_testing

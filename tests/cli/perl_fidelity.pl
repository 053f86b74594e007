#!/usr/bin/perl
# tests/cli/perl_fidelity.pl - the Perl side of tests/cli/perl_fidelity.sh
# (not a test itself; needs AnyEvent::MP 2.02 in @INC).
#
#   perl_fidelity.pl serve --nodeid ID --secret S
#       a global Perl node on 127.0.0.1:0 with the service aemp::echo
#       (like aemp's: [PORT, REST...] goes on to PORT as REST...); prints
#       "listen ADDR" and runs until killed.
#   perl_fidelity.pl check --seeds ADDR --secret S --node ID --framing F
#       a Perl client: sends a corpus of Perl values through aemp::echo on
#       node ID, stores them with db_set on its global (the seed) and reads
#       them back with db_family and db_mon; prints one line per value and
#       path: "PATH INDEX HEX", HEX being the canonical CBOR of what came
#       back (CBOR shows what a Perl program can tell apart: integer, UV,
#       float, byte or character string, tags, references).  The corpus
#       for F=json leaves out what JSON cannot carry.
#
# Every wait is bounded (--timeout, default 20 s); exit 1 on timeout.
use strict;
use warnings;
no warnings "recursion";
use Getopt::Long;
use CBOR::XS;
use Types::Serialiser;
use AnyEvent;
use AnyEvent::MP;
use AnyEvent::MP::Kernel;

my %o = (timeout => 20, framing => "cbor");
my $mode = shift // die "usage: $0 serve|check OPTIONS\n";
GetOptions(\%o, "nodeid=s", "secret=s", "seeds=s", "node=s", "framing=s",
	   "timeout=f") or die "bad options\n";
my $to = AE::timer $o{timeout}, 0, sub { warn "perl_fidelity: timeout\n"; exit 1 };
$| = 1;

sub aemp::echo {
	rcv $SELF, sub { my $p = shift; snd $p, @_ };
}

if ($mode eq "serve") {
	configure nodeid => $o{nodeid}, binds => ["127.0.0.1:0"], seeds => [],
	    secret => $o{secret}, norc => 1,
	    services => ["AnyEvent::MP::Global::"];
	print "listen $_\n" for @{ $AnyEvent::MP::Kernel::BINDS // [] };
	AE::cv->recv;
}

# A blessed object that CBOR::XS writes as tag 26 (FREEZE/THAW).
package Fid::Obj {
	sub FREEZE { my ($self) = @_; return ($self->{v}) }
	sub THAW   { my ($class, undef, $v) = @_; bless { v => $v }, $class }
}

sub corpus {
	my ($json) = @_;
	my @c = (
		18446744073709551615, 9223372036854775808, 9223372036854775807,
		-9223372036854775808, -1, 0, 23, 24, 255, 256, 65536, 4294967296,
		1.5, unpack("d>", "\x80" . "\0" x 7), 0.1, 1e300,
		3.4028234663852886e38,
		"", "str\0ing", "\x{20ac}uro", "\xc3\xa9", "\xff\x00\x80", "42",
		Types::Serialiser::true, Types::Serialiser::false, undef,
		[1, { a => [2, { b => undef }] }],
		{ "\xff\x00k" => 1, "\x{263a}" => 2, "plain" => 3 },
		[0 .. 999],
	);
	my $deep = 7;
	$deep = [$deep] for 1 .. 100;
	push @c, $deep;
	return @c if $json;
	return (@c,
		9**9**9, -9**9**9, "nan" + 0,	# no JSON form
		\1, \0, \"s", \[1],
		CBOR::XS::tag(1234, "x"), CBOR::XS::tag(2**40, [1, 2]),
		CBOR::XS::tag(65535, CBOR::XS::tag(7, {})),
		bless({ v => [1, "two"] }, "Fid::Obj"),
		Types::Serialiser::error,
	);
}

# CBOR::XS 1.86 has no canonical mode: plain hashes become tag 999999
# around their sorted key/value pairs (keys keep their byte/character kind).
sub norm {
	my ($v) = @_;
	my $r = ref $v;
	return [map { norm($_) } @$v] if $r eq "ARRAY";
	return CBOR::XS::tag(999999, [map { ($_, norm($v->{$_})) } sort keys %$v])
	    if $r eq "HASH";
	return CBOR::XS::tag($v->[0], norm($v->[1])) if $r eq "CBOR::XS::Tagged";
	return $v;
}
sub out { my ($path, $i, $v) = @_; print "$path $i ", unpack("H*", encode_cbor([norm($v)])), "\n" }

configure nodeid => "pfid/%u", binds => [], seeds => [$o{seeds}],
    secret => $o{secret}, norc => 1, framing_format => [$o{framing}];

my @c = corpus($o{framing} eq "json");
my $n = @c;
my $cv;
sub wait_for { my ($w) = @_; $cv = AE::cv; $cv->recv }

# echo: probe until the echo port answers (the spawn is asynchronous),
# then every value with its index
my (%got, $ready);
my $reply = port {
	my ($i, $v) = @_;
	if ($i eq "probe") { $ready = 1; $cv->send if $cv; return }
	$got{$i} = $v;
	$cv->send if keys %got == $n;
};
my $echo = spawn $o{node}, "aemp::echo";
my $probe = AE::timer 0, 0.2, sub { snd $echo, $reply, "probe" unless $ready };
wait_for() until $ready;
undef $probe;
snd $echo, $reply, $_, $c[$_] for 0 .. $#c;
wait_for() until keys %got == $n;
out("echo", $_, $got{$_}) for 0 .. $#c;
kil $echo;

# database: db_set, then db_family until all keys are there, then db_mon
my $fam = "fid$$";
db_set $fam, "k$_", $c[$_] for 0 .. $#c;
my $h;
while (1) {
	db_family $fam, sub { $h = shift; $cv->send };
	wait_for();
	last if $h && keys %$h == $n;
	my $t = AE::timer 0.1, 0, my $s = AE::cv; $s->recv;
}
out("db_family", $_, $h->{"k$_"}) for 0 .. $#c;
my $mirror;
my $g = db_mon $fam, sub { $mirror = $_[0]; $cv->send if keys %$mirror == $n };
wait_for() until $mirror && keys %$mirror == $n;
out("db_mon", $_, $mirror->{"k$_"}) for 0 .. $#c;
undef $g;
exit 0;

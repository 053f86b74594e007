#!/usr/bin/perl
# tests/cli/perl_tls_node.pl (for perl_tls.sh) --nodeid ID --binds HOST:PORT --secret S [--cert PEMFILE] [--seeds A]
# A plain Perl AnyEvent::MP node; prints "listen ADDR" per listener, runs forever.
use common::sense; use Getopt::Long; use AnyEvent; use AnyEvent::MP; use AnyEvent::MP::Kernel;
my %o; GetOptions (\%o, "nodeid=s", "binds=s", "secret=s", "cert=s", "seeds=s") or die "bad options\n";
my $cert; if ($o{cert}) { local (@ARGV, $/) = $o{cert}; $cert = <> }
configure nodeid => $o{nodeid}, binds => [$o{binds} // "127.0.0.1:0"], secret => $o{secret},
   ($cert ? (cert => $cert) : ()), seeds => [$o{seeds} // ()], norc => 1;
$| = 1;
print "listen $_\n" for @$AnyEvent::MP::Kernel::BINDS;
AE::cv->recv;

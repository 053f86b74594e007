#!/usr/bin/perl
# tests/cli/perl_tls_client.pl (for perl_tls.sh) [--timeout S] --seeds A --secret S [--cert PEMFILE] [--settle S] echo NODE JSON...
# Spawns aemp::echo on NODE, sends [SELF, VALUE] per JSON argument, prints each reply (JSON) per line.
use common::sense; use Getopt::Long; use AnyEvent; use AnyEvent::MP; use JSON::XS;
my %o = (timeout => 30, settle => 0);
GetOptions (\%o, "timeout=f", "seeds=s", "secret=s", "cert=s", "settle=f") or die "bad options\n";
my ($cmd, $node, @args) = @ARGV;
$cmd eq "echo" or die "only 'echo' is supported\n";
my $cert; if ($o{cert}) { local (@ARGV, $/) = $o{cert}; $cert = <> }
configure nodeid => "pc/%u", binds => ["127.0.0.1:0"], seeds => [$o{seeds}], secret => $o{secret},
   ($cert ? (cert => $cert) : ()), norc => 1;
my $json = JSON::XS->new->allow_nonref;
my @vals = map $json->decode ($_), @args;
my $cv = AE::cv;
my $to = AE::timer $o{timeout}, 0, sub { $cv->croak ("timeout") };
my @got;
my $self = port { push @got, [@_]; $cv->send if @got == @vals };
my $echo = spawn $node, "aemp::echo";
mon $echo, sub { $cv->croak ("echo port died: @_") if @_ };
my $t; $t = AE::timer $o{settle}, 0, sub { undef $t; snd $echo, $self, $_ for @vals };
$cv->recv;
print JSON::XS->new->canonical->encode ($_), "\n" for @got;

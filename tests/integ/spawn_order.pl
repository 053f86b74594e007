#!/usr/bin/perl
# tests/integ/spawn_order.pl - the real Perl AnyEvent::MP 2.02 side of
# tests/integ/spawn_order.c (run by it, only when AEMP_PERL_AEMP is set).
#
# usage: perl spawn_order.pl ADDR SECRET NODE NPORT NMSG
#
# A listener-less Perl node with seed ADDR spawns NPORT ports running
# Test::echo on NODE and, without waiting, sends each of them NMSG
# messages [REPLYPORT, I, J] (J = 0, 1, ...), as `snd spawn(...)` does.
# All of it is queued before the connection is up, so it reaches NODE in
# the first packets behind the auth line.  Every echo must come back, and
# per port in order.  Prints "ok", or what went wrong; exit 0 or 1.
# Bounded: gives up after 5 seconds.

use strict;
use warnings;

use AnyEvent;
use AnyEvent::MP;

my ($addr, $secret, $node, $nport, $nmsg) = @ARGV;
defined $nmsg or die "usage: $0 ADDR SECRET NODE NPORT NMSG\n";

configure
   nodeid => "spawnorder/%u",
   binds  => [],
   seeds  => [$addr],
   secret => $secret,
   norc   => 1;

my $done = AE::cv;
my @next = (0) x $nport;
my $left = $nport * $nmsg;
my @bad;

my $reply = port {
   my ($i, $j) = @_;
   push @bad, "port $i: echo $j where $next[$i] was due"
      if $j != $next[$i];
   $next[$i] = $j + 1;
   $done->send if --$left <= 0;
};

my @echo;
for my $i (0 .. $nport - 1) {
   $echo[$i] = spawn $node, "Test::echo";
   snd $echo[$i], $reply, $i, $_ for 0 .. $nmsg - 1;
}

my $timer = AE::timer 5, 0, sub { $done->send };
$done->recv;

for my $i (0 .. $nport - 1) {
   push @bad, "port $i ($echo[$i]): $next[$i] of $nmsg echoes"
      if $next[$i] != $nmsg;
}
print @bad ? map "$_\n", @bad : "ok\n";
exit(@bad ? 1 : 0);

#!/usr/bin/perl
# tests/cli/module_perl.pl - a Perl AnyEvent::MP client of a hosted module
# (tests/cli/module_perl.sh): spawns Counter::init on NODE through SEED,
# calls the new port, then the function-name request Counter::hits.
# Prints one line per result; dies on a timeout or a dead port.
#   perl module_perl.pl SEED NODE SPAWNS
use strict;
use warnings;
use AnyEvent;
use AnyEvent::MP;

my ($seed, $node, $spawns) = @ARGV;
configure nodeid => "pc/%u", norc => 1, secret => "geheim",
	seeds => [$seed], binds => ["127.0.0.1:0"];

sub call {	# PORT ARGS...: the reply of cal, within 10 s
	my $cv = AE::cv;
	my $to = AE::timer 10, 0, sub { $cv->croak ("timeout calling @_") };
	my $port = shift;
	my $mon = mon $port, sub { $cv->croak ("port died: @_") if @_ };
	cal $port, @_, sub { $cv->send (@_) };
	my @r = $cv->recv;
	return "@r";
}

for my $i (1 .. $spawns) {
	my $port = spawn $node, "Counter::init";
	print "spawn $i incr: ", call ($port, incr => 5), "\n";
	print "spawn $i incr: ", call ($port, incr => 2), "\n";
	kil $port;
}
my $cv = AE::cv;
my $to = AE::timer 10, 0, sub { $cv->croak ("timeout calling Counter::hits") };
cal $node, "Counter::hits", sub { $cv->send (@_) };
print "hits: ", $cv->recv, "\n";

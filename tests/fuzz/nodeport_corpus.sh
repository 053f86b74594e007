#!/bin/bash
# tests/fuzz/nodeport_corpus.sh - (re)build the seed corpus of
# tests/fuzz/fuzz_nodeport.c from the recorded transcripts in tests/vectors:
# every node-port or global packet (empty port name) becomes one seed per
# target node, and the node-port packets of each transcript, concatenated in
# their framing, one more (a whole conversation, so sequences such as
# g_slave / g_upd / g_db_keys / departure are seeded too).
#
# Seed layout (see fuzz_nodeport.c): byte 0 = framing bit (0 JSON, 1 CBOR)
# | node bit (2: the secure node), then the packet bytes.  Files are named
# by the SHA-1 of their content, as libFuzzer names them.
#
#   tests/fuzz/nodeport_corpus.sh            writes into the corpus folder
set -eu
top=$(cd "$(dirname "$0")/../.." && pwd)
out="$top/tests/fuzz/corpus/fuzz_nodeport"
mkdir -p "$out"

perl -e '
use strict; use warnings; use Digest::SHA qw(sha1_hex);
my $out = shift @ARGV;
sub seed {
	my ($flags, $bytes) = @_;
	my $data = chr($flags) . $bytes;
	my $f = "$out/" . sha1_hex($data);
	open(my $fh, ">:raw", $f) or die "$f: $!";
	print $fh $data;
	close $fh;
}
for my $file (@ARGV) {
	my %conv = (json => "", cbor => "");
	open(my $fh, "<", $file) or die "$file: $!";
	while (my $line = <$fh>) {
		next unless $line =~ /\smsg\s+\d+\s+(json|cbor)\s+(.*?)\s*$/;
		my ($fr, $rest) = ($1, $2);
		my $bytes;
		if ($fr eq "json") {
			next unless $rest =~ /^\[""\s*[,\]]/;
			$bytes = $rest;
		} else {
			next unless $rest =~ /hex=([0-9a-f]+)/;
			$bytes = pack("H*", $1);
			# array header (short form), then an empty string
			my $b1 = ord(substr($bytes, 1, 1));
			next unless (ord($bytes) & 0xe0) == 0x80 &&
			    ($b1 == 0x40 || $b1 == 0x60);
		}
		my $bit = $fr eq "cbor" ? 1 : 0;
		seed($bit, $bytes);
		seed($bit | 2, $bytes);
		$conv{$fr} .= $bytes;
	}
	close $fh;
	seed(0, $conv{json}) if length $conv{json};
	seed(1, $conv{cbor}) if length $conv{cbor};
	seed(2, $conv{json}) if length $conv{json};
	seed(3, $conv{cbor}) if length $conv{cbor};
}
' "$out" "$top"/tests/vectors/*.txt
echo "nodeport_corpus: $(ls "$out" | wc -l) seeds in $out"

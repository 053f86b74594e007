#!/bin/sh
# tools/layers.sh [BUILD_DIR] - check that the layers of the tree stay
# layered.  Run by `make test` (tools/runtests.sh) and `make check-layers`.
#
# 1. Includes go downward only.  The layer order is written once, here:
#    a folder may include headers of its own folder and of folders with a
#    lower rank; folders of equal rank do not include each other.  cli/
#    and perf/ include only <aemp.h> and their own headers.
# 2. No import circle: with BUILD_DIR, the symbols each object file uses
#    and defines (nm) give the real dependency graph, between folders for
#    the library and between files for cli/ (the tool); tsort fails on any
#    circle.  Calls a lower layer makes through the seam
#    (engine/core/seam.h) are function pointers and make no edge.
#
# Prints one line per violation and exits 1 if there is any.
set -eu
cd "$(dirname "$0")/.."

# Lowest first.  The composition root (engine/engine.c) is "engine".
LAYERS="ring:0 codec:1 crypto:1 engine/conf:2 engine/core:3 engine/net:4
engine/global:5 engine:6"

rank_of() {
	for l in $LAYERS; do
		if [ "${l%:*}" = "$1" ]; then
			echo "${l##*:}"
			return
		fi
	done
	echo ""
}

bad=0
fail() {
	echo "layers: $*"
	bad=1
}

# ---- 1. includes -----------------------------------------------------
files=""
for l in $LAYERS; do
	for f in "${l%:*}"/*.c "${l%:*}"/*.h "${l%:*}"/*.cc; do
		[ -f "$f" ] && files="$files $f"
	done
done
# shellcheck disable=SC2086
awk -v layers="$LAYERS" '
	BEGIN {
		n = split(layers, l, /[ \n]+/)
		for (i = 1; i <= n; i++) {
			split(l[i], kv, ":")
			rank[kv[1]] = kv[2]
		}
	}
	FNR == 1 {
		dir = FILENAME
		sub(/\/[^\/]*$/, "", dir)
	}
	/^[ \t]*#[ \t]*include[ \t]*"/ {
		inc = $0
		sub(/^[^"]*"/, "", inc)
		sub(/".*$/, "", inc)
		to = inc
		if (to !~ /\//)
			next
		sub(/\/[^\/]*$/, "", to)
		if (to == dir)
			next
		if (!(to in rank))
			printf "%s:%d: includes \"%s\" from outside the layered tree\n", FILENAME, FNR, inc
		else if (rank[to] + 0 >= rank[dir] + 0)
			printf "%s:%d: %s (layer %d) includes \"%s\" of %s (layer %d)\n", FILENAME, FNR, dir, rank[dir], inc, to, rank[to]
	}' $files >"${TMPDIR:-/tmp}/layers.$$"
for dir in cli perf; do
	for f in "$dir"/*.c "$dir"/*.h; do
		[ -f "$f" ] || continue
		grep -n '^[[:space:]]*#[[:space:]]*include' "$f" |
			grep -v '<[a-z0-9_/]*\.h>' |
			grep -v "\"$dir/[a-z0-9_]*\.h\"" |
			grep -v '"[a-z0-9_]*\.h"' |
			sed "s|^|$f:|; s|\$| (only <aemp.h> and $dir/ headers)|" || true
		grep -n '^[[:space:]]*#[[:space:]]*include[[:space:]]*<\(ring\|codec\|crypto\|engine\)/' "$f" |
			sed "s|^|$f:|; s|\$| (only <aemp.h> and $dir/ headers)|" || true
	done
done >>"${TMPDIR:-/tmp}/layers.$$"
if [ -s "${TMPDIR:-/tmp}/layers.$$" ]; then
	sed 's/^/layers: /' "${TMPDIR:-/tmp}/layers.$$"
	bad=1
fi
rm -f "${TMPDIR:-/tmp}/layers.$$"

# ---- 2. circles, from the objects --------------------------------------
# graph OBJS... - "user provider" lines for every symbol an object uses
# that another object defines; the node name is given by node_of.
graph() {
	mode=$1
	shift
	for o in "$@"; do
		nm "$o" | awk -v o="$o" 'NF == 3 && $2 ~ /^[TDBRVW]$/ { print "D", $3, o }
			$1 == "U" { print "U", $2, o }'
	done | awk -v mode="$mode" -v root="$OBJROOT/" '
		function node(o,   s) {
			s = o
			sub(root, "", s)
			if (mode == "file") {
				sub(/\.o$/, ".c", s)
				return s
			}
			sub(/\/[^\/]*$/, "", s)
			return s
		}
		$1 == "D" { def[$2] = node($3); next }
		{ use[NR] = node($3); sym[NR] = $2 }
		END {
			for (i in use)
				if ((sym[i] in def) && def[sym[i]] != use[i])
					print use[i], def[sym[i]]
		}' | sort -u
}

check_circle() {
	what=$1
	edges=$2
	if ! printf '%s\n' "$edges" | tsort >/dev/null 2>"${TMPDIR:-/tmp}/tsort.$$"; then
		fail "import circle among $what:"
		sed 's/^tsort: /layers:   /' "${TMPDIR:-/tmp}/tsort.$$"
	fi
	rm -f "${TMPDIR:-/tmp}/tsort.$$"
}

if [ $# -ge 1 ]; then
	OBJROOT="$1/obj"
	if [ ! -d "$OBJROOT" ]; then
		echo "layers: $OBJROOT: no objects (build first)" >&2
		exit 2
	fi
	# objs DIR... - the objects of the sources now in DIRs (stale objects
	# of moved or deleted files are ignored; of the allocator variants
	# ring/alloc_*.c a flavor builds one).
	objs() {
		find "$@" -name '*.c' -o -name '*.cc' | sort | while read -r src; do
			o="$OBJROOT/${src%.*}.o"
			if [ -f "$o" ]; then
				echo "$o"
			else
				case "$src" in
				ring/alloc_*) ;;
				*) echo "layers: $o: missing (build first)" >&2 ;;
				esac
			fi
		done
	}
	lib_objs=$(objs ring codec crypto engine)
	cli_objs=$(objs cli)
	# shellcheck disable=SC2086
	lib_edges=$(graph dir $lib_objs)
	check_circle "folders" "$lib_edges"
	# shellcheck disable=SC2086
	check_circle "cli/ files" "$(graph file $cli_objs)"
	# Upward edges between layers, even without a circle.
	printf '%s\n' "$lib_edges" | while read -r from to; do
		[ -n "$from" ] || continue
		fr=$(rank_of "$from")
		tr=$(rank_of "$to")
		if [ -n "$fr" ] && [ -n "$tr" ] && [ "$tr" -ge "$fr" ]; then
			echo "layers: $from (layer $fr) calls into $to (layer $tr)"
		fi
	done >"${TMPDIR:-/tmp}/up.$$"
	if [ -s "${TMPDIR:-/tmp}/up.$$" ]; then
		cat "${TMPDIR:-/tmp}/up.$$"
		bad=1
	fi
	rm -f "${TMPDIR:-/tmp}/up.$$"
fi

if [ "$bad" -eq 0 ]; then
	echo "layers: ok"
fi
exit "$bad"

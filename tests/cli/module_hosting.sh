#!/bin/bash
# tests/cli/module_hosting.sh - `aemp run` hosting service modules
# (docs/hosting.md): examples/counter built with its own Makefile through
# pkg-config, loaded by the `modules` key and on demand through
# `module_path`, spawned and called from another node; a clear error line
# and a live host for every module that cannot load (missing, not a shared
# object, no aemp_module_init, init error, a name taken by another
# module, a symbol the host lacks), for names that would leave
# module_path, and the negative cache's expiry; secure mode loads nothing.
. "$(dirname "$0")/tap.bash"
. "$(dirname "$0")/node.bash"

top=$_top
mods="$TMP/mods"
mkdir -p "$mods" "$TMP/pc"
# a pkg-config file for the source tree (what `make install` writes, with
# the header where it is)
printf 'Name: aemp\nDescription: aemp\nVersion: 0\nCflags: -I%s/include\n' \
	"$top" >"$TMP/pc/aemp.pc"
export PKG_CONFIG_PATH="$TMP/pc"

ok "examples/counter builds with its Makefile (pkg-config)" \
	make -s -C "$top/examples/counter" OUT="$mods" CFLAGS="-O2 -Wall -Werror"
ok "Counter.so is there" test -f "$mods/Counter.so"

cc_mod() {	# NAME SOURCE: build $mods/NAME.so from SOURCE (text)
	printf '%s\n' "$2" >"$TMP/$1.c"
	cc -shared -fPIC -Wall -Werror $(pkg-config --cflags aemp) \
		-o "$mods/$1.so" "$TMP/$1.c"
}
ok "module without aemp_module_init builds" \
	cc_mod NoInit 'int noinit_x(void); int noinit_x(void) { return 1; }'
ok "module whose init fails builds" cc_mod Fail '#include <aemp.h>
#include <errno.h>
static int f(aemp_node *n, const aemp_val *a, size_t c, void *x)
{ (void)n; (void)a; (void)c; (void)x; return 0; }
int aemp_module_init(aemp_node *node)
{ aemp_register(node, "Fail::x", f, NULL); return -EPROTO; }'
ok "module registering a taken name builds" cc_mod Dup '#include <aemp.h>
static int f(aemp_node *n, const aemp_val *a, size_t c, void *x)
{ (void)n; (void)a; (void)c; (void)x; return 0; }
int aemp_module_init(aemp_node *node)
{ return aemp_register(node, "Counter::init", f, NULL); }'
ok "module needing a symbol the host lacks builds" cc_mod Undef '#include <aemp.h>
int aemp_nothing_here(void);
int aemp_module_init(aemp_node *node) { (void)node; return aemp_nothing_here(); }'
printf 'not an ELF file\n' >"$mods/Text.so"

# ---- modules key ---------------------------------------------------------
ok "run with modules Counter" node_start a run nodeid ha binds 127.0.0.1:0 \
	secret s shards 2 module_path "$mods" modules Counter log_level 6
S=(--seeds "${ADDR[a]}" --secret s)
until_ok 10 grep -q "module $mods/Counter.so loaded" "$TMP/a.err"
like "$(cat "$TMP/a.err")" "module .*/Counter\.so loaded \(2 functions\)" \
	"the modules key loads Counter.so at start"
run "${S[@]}" snd ha AnyEvent::MP::_spawn c1 Counter::init
is "$STATUS" 0 "spawn Counter::init from another node"
run "${S[@]}" cal ha#c1 incr 5
is "$STATUS:$OUT" "0:5" "cal incr 5 answers 5"
run "${S[@]}" cal ha#c1 incr 2
is "$STATUS:$OUT" "0:7" "cal incr 2 answers 7"
run "${S[@]}" cal ha#c1 get
is "$STATUS:$OUT" "0:7" "cal get answers 7"
run "${S[@]}" db keys counter
is "$STATUS:$OUT" "0:ha#c1" "the port registered itself in family counter"
run "${S[@]}" cal ha Counter::hits
is "$STATUS:$OUT" "0:3" "function-name request Counter::hits (spread)"
node_stop a
is "$STOP_STATUS" 0 "the host stops cleanly (aemp_module_fini, dlclose)"

ok "a modules entry that cannot load: the node starts anyway" \
	node_start b run nodeid hb binds 127.0.0.1:0 secret s \
	module_path "$mods" modules '["Nope", "Text.so"]'
until_ok 10 grep -q "module Text.so not loaded" "$TMP/b.err"
like "$(cat "$TMP/b.err")" "module Nope not loaded: no Nope\.so in module_path" \
	"missing module: logged with the path searched"
node_stop b

# ---- on demand -----------------------------------------------------------
ok "run with module_path only" node_start c run nodeid hc \
	binds 127.0.0.1:0 secret s shards 2 module_path "$mods" log_level 6
S=(--seeds "${ADDR[c]}" --secret s)
run "${S[@]}" snd hc AnyEvent::MP::_spawn d1 Counter::init
is "$STATUS" 0 "spawn of an unloaded module's function"
run "${S[@]}" cal hc#d1 incr 3
is "$STATUS:$OUT" "0:3" "Counter.so loaded on demand and the port answers"
for i in 2 3 4 5; do
	run "${S[@]}" snd hc AnyEvent::MP::_spawn "d$i" Counter::init
done
run "${S[@]}" cal hc#d5 incr 1
is "$STATUS:$OUT" "0:1" "more spawns: one load, ports on both shards answer"
is "$(grep -c 'Counter.so loaded' "$TMP/c.err")" 1 "loaded once"

errs() {	# FUNC REGEX DESC: request FUNC, expect REGEX in the host's log
	run "${S[@]}" snd hc "$1"
	until_ok 10 grep -Eq -- "$2" "$TMP/c.err"
	like "$(cat "$TMP/c.err")" "$2" "$3"
}
errs Missing::x "module Missing\.so not loaded: no Missing\.so in module_path" \
	"missing file: reason logged"
errs Text::x "module Text\.so not loaded: .*(invalid ELF header|file too short)" \
	"not a shared object: reason logged"
errs NoInit::x "not an aemp module \(no aemp_module_init symbol\)" \
	"no aemp_module_init: reason logged"
errs Fail::x "aemp_module_init failed" "init returns an error: reason logged"
errs Dup::x "function 'Counter::init' is already registered by module .*/Counter\.so" \
	"two modules registering one name: reason logged"
errs Undef::x "undefined symbol: aemp_nothing_here" \
	"a symbol the host lacks: reason logged"
errs '..::x' "function '\.\.::x': not a name a module can have" \
	"'..' in a name: refused"
errs 'a/b::x' "function 'a/b::x': not a name a module can have" \
	"'/' in a name: refused"
errs 'A::..::x' "function 'A::\.\.::x': not a name a module can have" \
	"'..' between '::': refused"
# The negative cache lasts 3 s, longer than the requests above may take on
# a loaded machine (ASan, tests in parallel): ask until a request falls
# within 3 s of the previous failed load, which each one renews.
neg() {
	run "${S[@]}" snd hc Fail::x
	grep -Eq "module Fail\.so failed to load \(.*\), retried after" "$TMP/c.err"
}
ok "a failed load is remembered (negative cache)" until_ok 20 neg
run "${S[@]}" --timeout 1 cal hc Fail::x
is "$STATUS" 1 "nothing a failed module registered is callable"

# the negative cache expires: a module that appears later is loaded
errs Late::init "module Late\.so not loaded" "Late.so is missing at first"
ok "Late.so appears" cc_mod Late '#include <aemp.h>
#include <string.h>
static int nop(aemp_node *n, const aemp_val *a, size_t c, void *x)
{ (void)n; (void)a; (void)c; (void)x; return 0; }
static int init(aemp_node *n, const aemp_val *a, size_t c, void *x)
{ (void)a; (void)c; (void)x; return aemp_rcv(n, aemp_self(n), nop, NULL); }
static int hi(aemp_node *n, const aemp_val *a, size_t c, void *x)
{ aemp_val r = aemp_str("late"); char to[AEMP_ID_MAX]; (void)x;
  if (c == 0 || a[c-1].type != AEMP_STR || a[c-1].len >= sizeof(to)) return -1;
  memcpy(to, a[c-1].u.s, a[c-1].len); to[a[c-1].len] = 0;
  return aemp_snd(n, to, &r, 1); }
int aemp_module_init(aemp_node *node)
{ int e = aemp_register(node, "Late::init", init, NULL);
  return e < 0 ? e : aemp_register(node, "Late::hi", hi, NULL); }'
late() { run "${S[@]}" --timeout 2 cal hc Late::hi && [ "$OUT" == '"late"' ]; }
ok "after the retry delay the module loads" until_ok 20 late

run "${S[@]}" cal hc#d1 get
is "$STATUS:$OUT" "0:3" "the host served on through every failure"
node_stop c
is "$STOP_STATUS" 0 "the host stops cleanly"

# ---- secure mode ---------------------------------------------------------
ok "run in secure mode" node_start e run nodeid he binds 127.0.0.1:0 \
	secret s secure 1 module_path "$mods"
run --seeds "${ADDR[e]}" --secret s snd he Counter::hits
until_ok 10 grep -q "secure mode: refused request 'Counter::hits'" "$TMP/e.err"
like "$(cat "$TMP/e.err")" "secure mode: refused request 'Counter::hits'" \
	"secure mode: the function-name request is refused"
ok "secure mode: nothing loaded" bash -c "! grep -q 'loaded' '$TMP/e.err'"
node_stop e

done_testing

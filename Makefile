# aemp - GNU Makefile.  See README.md ("On a fresh Debian 12 machine").
#
#   make                 release build: libaemp.a, libaemp.so, aemp, aemp-perf
#   make test            unit + integration tests (release, then ASan+UBSan),
#                        brief fuzz runs; last line "N passed, N failed"
#   make bench           micro-benchmarks and aemp-perf comparison
#   make fuzz            every libFuzzer target for FUZZ_SECONDS each
#   make soak            load and soak with faults for SOAK_SECONDS (600),
#                        then soak-gc: GC_NODES (20000) short-lived nodes
#   make loop            every integration test LOOP_RUNS (20) times in a row,
#                        release then ASan; failures per test (tools/loop.sh)
#   make install         PREFIX=/usr/local DESTDIR=
#   make deps            install missing Debian packages (apt-get), build
#                        wolfSSL from Debian's source (tools/wolfssl.sh)
#   WOLFSSL=system       link Debian's libwolfssl instead (tools/wolfssl.mk)
#   make asan|debug      other flavors, each in build/<flavor>/
#   make format          clang-format in place; format-check verifies
#   make check-headers   compile every header on its own
#   make check-layers    includes go downward, no import circle (tools/layers.sh)
#   V=1                  print full command lines

.DEFAULT_GOAL := all
FLAVOR ?= release
B := build/$(FLAVOR)
PREFIX ?= /usr/local
DESTDIR ?=
FUZZ_SECONDS ?= 300
FUZZ_TEST_SECONDS ?= 12
LOOP_RUNS ?= 20
NPROC := $(shell nproc 2>/dev/null || echo 2)

ifeq ($(V),1)
Q :=
else
Q := @
endif

SOVERSION := 0
VERSION := $(shell sed -n 's/^\#define AEMP_VERSION_STRING "\(.*\)"/\1/p' include/aemp.h)

# ---- flavors ---------------------------------------------------------------
# Sanitizer and fuzz builds use libc malloc (ASan must see every allocation);
# release builds link jemalloc.  One allocator variant file is picked here.
ifeq ($(FLAVOR),release)
CC := gcc
CXX := g++
OPT := -O2 -g
# Link-time optimisation across the library's files (docs/perf.md, issue
# 17): the programs and libaemp.so are linked with it; the objects also
# carry ordinary code (fat), which the tests (linked with -fno-lto: an
# LTO link of every test would add minutes to make test) and a user's
# plain link use.
LTO_CFLAGS := -flto=auto -ffat-lto-objects
LTO_LDFLAGS := -flto=auto $(OPT)
LTO_OFF := -fno-lto
SAN :=
ALLOC_SRC := ring/alloc_je.c
MALLOC_LIBS := -ljemalloc
else ifeq ($(FLAVOR),asan)
CC := gcc
CXX := g++
OPT := -O1 -g -fno-omit-frame-pointer
SAN := -fsanitize=address,undefined -fno-sanitize-recover=all
ALLOC_SRC := ring/alloc_libc.c
MALLOC_LIBS :=
else ifeq ($(FLAVOR),debug)
CC := gcc
CXX := g++
OPT := -O0 -g -DAEMP_DEBUG=1
SAN :=
ALLOC_SRC := ring/alloc_libc.c
MALLOC_LIBS :=
else ifeq ($(FLAVOR),fuzz)
CC := clang
CXX := clang++
OPT := -O1 -g -fno-omit-frame-pointer -DAEMP_FUZZ=1
SAN := -fsanitize=address,undefined,fuzzer-no-link -fno-sanitize-recover=all
ALLOC_SRC := ring/alloc_libc.c
MALLOC_LIBS :=
else
$(error unknown FLAVOR '$(FLAVOR)' (release, asan, debug, fuzz))
endif

ifeq ($(DEBUG),1)
OPT += -DAEMP_DEBUG=1
endif
LTO_CFLAGS ?=
LTO_LDFLAGS ?=
LTO_OFF ?=

DEPS_STAMP := build/.deps-ok
include tools/wolfssl.mk
# The objects are rebuilt when LTO is turned on or off, as when the
# wolfSSL choice changes (every object depends on this stamp).
WOLF_MODE_TEXT += lto=$(LTO_CFLAGS)

WARN := -Wall -Wextra -Werror
CPPFLAGS := -D_GNU_SOURCE -Iinclude -I. $(WOLF_CPPFLAGS) -MMD -MP
CFLAGS := -std=c11 $(WARN) -Wstrict-prototypes -fvisibility=hidden -fPIC \
	-pthread $(OPT) $(SAN)
CXXFLAGS := -std=c++17 $(WARN) -fvisibility=hidden -fPIC -pthread \
	-fno-exceptions -fno-rtti -DSIMDJSON_EXCEPTIONS=0 $(OPT) $(SAN)
LDFLAGS := -pthread $(SAN)
LIBS := -luring $(WOLF_LIBS) -lsimdjson -lmicrohttpd -lstdc++ -lm $(MALLOC_LIBS)
SO_LIBS := -luring $(WOLF_SO_LIBS) -lsimdjson -lmicrohttpd -lstdc++ -lm $(MALLOC_LIBS)

# ---- sources ---------------------------------------------------------------
LIB_C := $(filter-out ring/alloc_%.c,$(wildcard ring/*.c codec/*.c crypto/*.c engine/*/*.c engine/*.c)) $(ALLOC_SRC)
LIB_CXX := $(wildcard codec/*.cc)
# Objects outside crypto/ do not see wolfSSL: OBJ_B, where they go, is
# build/<flavor> itself when make test builds the TLS tests against
# Debian's wolfSSL (tools/wolfssl.mk), so only crypto/ compiles twice.
OBJ_B ?= $(B)
LIB_OBJ := $(patsubst %.c,$(B)/obj/%.o,$(filter crypto/%,$(LIB_C))) \
	$(patsubst %.c,$(OBJ_B)/obj/%.o,$(filter-out crypto/%,$(LIB_C))) \
	$(LIB_CXX:%.cc=$(OBJ_B)/obj/%.o)
# The engine's layers, lowest first (tools/layers.sh checks that includes
# only go downward).  The core builds and is tested without the layers
# above it: libaemp-core.a holds everything below engine/net.
ENGINE_LAYERS := conf core net global
CORE_C := $(filter-out engine/net/% engine/global/% engine/engine.c,$(LIB_C))
CORE_OBJ := $(CORE_C:%.c=$(B)/obj/%.o) $(LIB_CXX:%.cc=$(B)/obj/%.o)
CORE_LIB := $(B)/libaemp-core.a
CLI_OBJ := $(patsubst %.c,$(B)/obj/%.o,$(wildcard cli/*.c))
PERF_OBJ := $(patsubst %.c,$(B)/obj/%.o,$(wildcard perf/*.c))

UNIT_SRC := $(wildcard tests/unit/*.c)
INTEG_SRC := $(wildcard tests/integ/*.c)
BENCH_SRC := $(wildcard tests/bench/*.c)
FUZZ_SRC := $(wildcard tests/fuzz/*.c)
HELPER_SRC := $(wildcard tests/helpers/*.c)
UNIT_BIN := $(UNIT_SRC:%.c=$(B)/%)
INTEG_BIN := $(INTEG_SRC:%.c=$(B)/%)
BENCH_BIN := $(BENCH_SRC:%.c=$(B)/%)
FUZZ_BIN := $(FUZZ_SRC:%.c=build/fuzz/%)
HELPER_OBJ := $(HELPER_SRC:%.c=$(B)/obj/%.o)

STATIC_LIB := $(B)/libaemp.a
SHARED_LIB := $(B)/libaemp.so.$(VERSION)
PROGS := $(B)/aemp $(B)/aemp-perf
DIST_LIB := $(B)/dist/libaemp.a

# ---- top-level targets -----------------------------------------------------
.PHONY: all lib progs test test-build check bench fuzz fuzz-build install \
	uninstall deps clean distclean asan debug format format-check \
	check-headers run check-layers

all: lib progs

lib: $(STATIC_LIB) $(SHARED_LIB) $(DIST_LIB)

progs: $(PROGS)

# The README's main command: install what is missing, build, and run
# aemp-perf's default comparison (a node pair on loopback next to raw TCP).
run:
	$(Q)$(MAKE) --no-print-directory -j$(NPROC) FLAVOR=release all
	$(Q)build/release/aemp-perf

asan:
	$(Q)$(MAKE) --no-print-directory FLAVOR=asan all

debug:
	$(Q)$(MAKE) --no-print-directory FLAVOR=debug all

deps:
	$(Q)tools/deps.sh
	$(Q)$(if $(filter system,$(WOLFSSL)),:,$(WOLF_LOCK) tools/wolfssl.sh --retry $(WOLF_DIR))

$(DEPS_STAMP): tools/deps.sh
	$(Q)tools/deps.sh
	$(Q)mkdir -p $(@D) && touch $@

# ---- compile and link ------------------------------------------------------
$(B)/obj/%.o: %.c $(WOLF_MODE) | $(DEPS_STAMP)
	@mkdir -p $(@D)
	@$(if $(Q),echo "  CC     $<")
	$(Q)$(CC) $(CPPFLAGS) $(CFLAGS) $(LTO_CFLAGS) -c $< -o $@

$(B)/obj/%.o: %.cc $(WOLF_MODE) | $(DEPS_STAMP)
	@mkdir -p $(@D)
	@$(if $(Q),echo "  CXX    $<")
	$(Q)$(CXX) $(CPPFLAGS) $(CXXFLAGS) $(LTO_CFLAGS) -c $< -o $@

ifneq ($(OBJ_B),$(B))
$(OBJ_B)/obj/%.o: %.c | $(DEPS_STAMP)
	@mkdir -p $(@D)
	@$(if $(Q),echo "  CC     $<")
	$(Q)$(CC) $(CPPFLAGS) $(CFLAGS) $(LTO_CFLAGS) -c $< -o $@

$(OBJ_B)/obj/%.o: %.cc | $(DEPS_STAMP)
	@mkdir -p $(@D)
	@$(if $(Q),echo "  CXX    $<")
	$(Q)$(CXX) $(CPPFLAGS) $(CXXFLAGS) $(LTO_CFLAGS) -c $< -o $@
endif

$(STATIC_LIB): $(LIB_OBJ)
	@mkdir -p $(@D)
	@$(if $(Q),echo "  AR     $@")
	$(Q)rm -f $@ && ar rcs $@ $^

$(SHARED_LIB): $(LIB_OBJ)
	@mkdir -p $(@D)
	@$(if $(Q),echo "  LD     $@")
	$(Q)$(CC) -shared -Wl,-soname,libaemp.so.$(SOVERSION) $(LDFLAGS) \
		$(LTO_LDFLAGS) -o $@ \
		$(LIB_OBJ) $(SO_LIBS)
	$(Q)ln -sf libaemp.so.$(VERSION) $(B)/libaemp.so.$(SOVERSION)
	$(Q)ln -sf libaemp.so.$(SOVERSION) $(B)/libaemp.so

# The installed libaemp.a (ordinary objects only: the LTO sections of
# this compiler's version are stripped, as another gcc cannot read them).
# With our wolfSSL, crypto/'s objects and the
# wolfSSL members they use become one object whose only global symbols
# are crypto/'s own: the archive needs no wolfSSL, and wolfSSL's names
# (SSL_*, sp_*, Base64_Decode, ...) cannot clash with a program's.
CRY_OBJ := $(filter $(B)/obj/crypto/%,$(LIB_OBJ))
# ld -r below needs ordinary objects: crypto/ is compiled without LTO.
$(CRY_OBJ): LTO_CFLAGS :=
$(DIST_LIB): $(LIB_OBJ) $(WOLF_A)
	@mkdir -p $(@D)
	@$(if $(Q),echo "  AR     $@")
ifeq ($(WOLF_BUILT),1)
	$(Q)ld -r -o $(@D)/crypto.o $(CRY_OBJ) $(WOLF_A)
	$(Q)nm -g --defined-only --format=just-symbols $(CRY_OBJ) | sort -u \
		>$(@D)/crypto.keep
	$(Q)objcopy --keep-global-symbols=$(@D)/crypto.keep $(@D)/crypto.o
	$(Q)rm -f $@ && ar rcs $@ $(filter-out $(CRY_OBJ),$(LIB_OBJ)) $(@D)/crypto.o
else
	$(Q)rm -f $@ && ar rcs $@ $(LIB_OBJ)
endif
ifneq ($(LTO_CFLAGS),)
	$(Q)objcopy --wildcard -R '.gnu.lto_*' -R '.gnu.debuglto_*' $@
endif

# aemp hosts service modules (docs/hosting.md): it keeps every object of
# the library and exports the public aemp_* symbols (and only those) for
# the modules it dlopens.
HOST_LDFLAGS := -Wl,--export-dynamic-symbol='aemp_*'
$(B)/aemp: $(CLI_OBJ) $(STATIC_LIB)
	@$(if $(Q),echo "  LD     $@")
	$(Q)$(CC) $(LDFLAGS) $(LTO_LDFLAGS) $(HOST_LDFLAGS) -o $@ $(CLI_OBJ) \
		-Wl,--whole-archive $(STATIC_LIB) -Wl,--no-whole-archive $(LIBS)

# aemp-perf's ZeroMQ baseline (perf/zmq.c) when libzmq is installed
# (libzmq3-dev); without it the tool says so in its zmq row.
ZMQ_OK := $(shell pkg-config --exists libzmq 2>/dev/null && echo 1)
ifeq ($(ZMQ_OK),1)
$(B)/obj/perf/zmq.o: CPPFLAGS += -DPERF_HAVE_ZMQ $(shell pkg-config --cflags libzmq)
PERF_LIBS := $(shell pkg-config --libs libzmq)
endif

$(B)/aemp-perf: $(PERF_OBJ) $(STATIC_LIB)
	@$(if $(Q),echo "  LD     $@")
	$(Q)$(CC) $(LDFLAGS) $(LTO_LDFLAGS) -o $@ $(PERF_OBJ) $(STATIC_LIB) \
		$(LIBS) $(PERF_LIBS)

$(CORE_LIB): $(CORE_OBJ)
	@mkdir -p $(@D)
	@$(if $(Q),echo "  AR     $@")
	$(Q)rm -f $@ && ar rcs $@ $^

# The core's unit tests (tests/unit/engine_*.c) link the core alone, so
# engine/core keeps building and working without engine/net.
$(B)/obj/tests/unit/engine_%.o: CPPFLAGS += -DTU_CORE_ONLY
$(B)/tests/unit/engine_%: $(B)/obj/tests/unit/engine_%.o $(CORE_LIB)
	@mkdir -p $(@D)
	@$(if $(Q),echo "  LD     $@")
	$(Q)$(CC) $(LDFLAGS) $(LTO_OFF) -o $@ $< $(CORE_LIB) $(LIBS)

# Tests and benchmarks link the static library; a test may also #include a
# .c file to reach its static functions (STYLE.md §12).
$(B)/tests/%: $(B)/obj/tests/%.o $(HELPER_OBJ) $(STATIC_LIB)
	@mkdir -p $(@D)
	@$(if $(Q),echo "  LD     $@")
	$(Q)$(CC) $(LDFLAGS) $(LTO_OFF) -o $@ $< $(HELPER_OBJ) $(STATIC_LIB) $(LIBS)

# ---- tests -----------------------------------------------------------------
# The example service module (examples/counter), for the hosting
# benchmark (tests/bench/hosting.c); built against the header only.
EXAMPLE_SO := $(B)/examples/counter/Counter.so
$(EXAMPLE_SO): examples/counter/counter.c include/aemp.h
	@mkdir -p $(@D)
	@$(if $(Q),echo "  CC     $@")
	$(Q)$(CC) -shared -fPIC -O2 $(WARN) -Iinclude -o $@ $<

# Test modules (tests/modules/*.c) for tests/integ/module_api.c, which is
# linked like aemp so that they find the aemp_* functions in it.
TESTMOD_SO := $(patsubst tests/modules/%.c,$(B)/tests/modules/%.so,\
	$(wildcard tests/modules/*.c))
$(B)/tests/modules/%.so: tests/modules/%.c tests/modules/nop.h include/aemp.h
	@mkdir -p $(@D)
	@$(if $(Q),echo "  CC     $@")
	$(Q)$(CC) -shared -fPIC -O2 $(WARN) -Iinclude -o $@ $<

$(B)/tests/integ/module_%: $(B)/obj/tests/integ/module_%.o $(HELPER_OBJ) \
		$(STATIC_LIB)
	@mkdir -p $(@D)
	@$(if $(Q),echo "  LD     $@")
	$(Q)$(CC) $(LDFLAGS) $(LTO_OFF) $(HOST_LDFLAGS) -o $@ $< $(HELPER_OBJ) \
		-Wl,--whole-archive $(STATIC_LIB) -Wl,--no-whole-archive $(LIBS)

test-build: lib progs $(UNIT_BIN) $(INTEG_BIN) $(BENCH_BIN) $(EXAMPLE_SO) \
	$(TESTMOD_SO)

# `make test`: both flavors, then brief fuzzing; tools/runtests.sh prints
# the summary line and fails if anything failed.  With our wolfSSL, the
# TLS tests are also built and run against Debian's (the fallback):
# build/release-syswolf (tools/wolfssl.mk).
TEST_DIRS := build/release build/asan \
	$(if $(filter 1,$(WOLF_BUILT)),build/release-syswolf)
test:
	$(Q)$(MAKE) --no-print-directory -j$(NPROC) FLAVOR=release test-build
	$(Q)$(MAKE) --no-print-directory -j$(NPROC) FLAVOR=asan test-build
	$(Q)$(MAKE) --no-print-directory -j$(NPROC) FLAVOR=fuzz fuzz-build
	$(Q)$(if $(filter 1,$(WOLF_BUILT)),$(MAKE) --no-print-directory \
		-j$(NPROC) FLAVOR=release WOLFSSL=system SYSWOLF_SHARE=1 \
		tls-tests-build)
	$(Q)tools/runtests.sh --fuzz-seconds $(FUZZ_TEST_SECONDS) $(TEST_DIRS)

# `make check`: this flavor only, no fuzzing.
check: test-build
	$(Q)tools/runtests.sh --fuzz-seconds 0 $(B)

# `make test-spin`: the integration tests (release) with every node in
# low-latency mode (busy_poll_us, docs/threading.md "Spinning").
TEST_SPIN_US ?= 200
.PHONY: test-spin
test-spin:
	$(Q)$(MAKE) --no-print-directory -j$(NPROC) FLAVOR=release test-build
	$(Q)tools/runtests.sh --fuzz-seconds 0 --busy-poll $(TEST_SPIN_US) \
		--only /integ/ build/release

# ---- fuzzing ---------------------------------------------------------------
fuzz-build: $(FUZZ_BIN)

# Linked with the C++ driver: codec/json.cc needs the C++ sanitizer runtime.
build/fuzz/tests/fuzz/%: build/fuzz/obj/tests/fuzz/%.o $(STATIC_LIB)
	@mkdir -p $(@D)
	@$(if $(Q),echo "  FUZZ   $@")
	$(Q)$(CXX) $(LDFLAGS) -fsanitize=fuzzer -o $@ $< $(STATIC_LIB) $(LIBS)

fuzz:
	$(Q)$(MAKE) --no-print-directory -j$(NPROC) FLAVOR=fuzz fuzz-build
	$(Q)tools/fuzz.sh $(FUZZ_SECONDS)

# ---- soak ------------------------------------------------------------------
# `make soak`: tests/integ/fault_soak for SOAK_SECONDS (tools/soak.sh);
# `make test` runs the same program for 40 s.  `make soak-gc` (part of
# soak): tests/integ/node_gc with GC_NODES short-lived client nodes
# (make test runs 300).
SOAK_SECONDS ?= 600
GC_NODES ?= 20000
.PHONY: soak soak-gc loop
soak:
	$(Q)$(MAKE) --no-print-directory -j2 FLAVOR=release test-build
	$(Q)tools/soak.sh $(SOAK_SECONDS) build/release
	$(Q)AEMP_GC_NODES=$(GC_NODES) build/release/tests/integ/node_gc

soak-gc:
	$(Q)$(MAKE) --no-print-directory -j2 FLAVOR=release test-build
	$(Q)AEMP_GC_NODES=$(GC_NODES) build/release/tests/integ/node_gc

# Flake hunting (docs/reliability.md): the integration tests RUNS times each
# flavor; the logs of failed runs stay in build/<flavor>/loop-logs.
loop:
	$(Q)$(MAKE) --no-print-directory -j2 FLAVOR=release test-build
	$(Q)$(MAKE) --no-print-directory -j2 FLAVOR=asan test-build
	$(Q)tools/loop.sh -n $(LOOP_RUNS) build/release; r=$$?; \
	tools/loop.sh -n $(LOOP_RUNS) build/asan && exit $$r

# ---- benchmarks ------------------------------------------------------------
bench:
	$(Q)$(MAKE) --no-print-directory -j$(NPROC) FLAVOR=release test-build
	$(Q)tools/bench.sh build/release

# ---- install ---------------------------------------------------------------
LIBDIR := $(PREFIX)/lib
install: all
	install -d $(DESTDIR)$(PREFIX)/include $(DESTDIR)$(LIBDIR)/pkgconfig \
		$(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(PREFIX)/share/man/man1
	install -m 644 include/aemp.h $(DESTDIR)$(PREFIX)/include/aemp.h
	install -m 644 $(DIST_LIB) $(DESTDIR)$(LIBDIR)/libaemp.a
	install -m 755 $(SHARED_LIB) $(DESTDIR)$(LIBDIR)/libaemp.so.$(VERSION)
	ln -sf libaemp.so.$(VERSION) $(DESTDIR)$(LIBDIR)/libaemp.so.$(SOVERSION)
	ln -sf libaemp.so.$(SOVERSION) $(DESTDIR)$(LIBDIR)/libaemp.so
	sed -e 's|@PREFIX@|$(PREFIX)|' -e 's|@LIBDIR@|$(LIBDIR)|' \
		-e 's|@VERSION@|$(VERSION)|' -e 's|@MALLOC_LIBS@|$(MALLOC_LIBS)|' \
		-e 's|@WOLF_LIBS@|$(WOLF_PC_LIBS)|' \
		tools/aemp.pc.in > $(DESTDIR)$(LIBDIR)/pkgconfig/aemp.pc
	install -m 755 $(B)/aemp $(B)/aemp-perf $(DESTDIR)$(PREFIX)/bin/
	if [ -f docs/aemp.1 ]; then install -m 644 docs/aemp.1 \
		$(DESTDIR)$(PREFIX)/share/man/man1/aemp.1; fi

uninstall:
	rm -f $(DESTDIR)$(PREFIX)/include/aemp.h $(DESTDIR)$(LIBDIR)/libaemp.* \
		$(DESTDIR)$(LIBDIR)/pkgconfig/aemp.pc $(DESTDIR)$(PREFIX)/bin/aemp \
		$(DESTDIR)$(PREFIX)/bin/aemp-perf \
		$(DESTDIR)$(PREFIX)/share/man/man1/aemp.1

# ---- hygiene ---------------------------------------------------------------
FORMAT_SRC := $(wildcard include/*.h ring/*.[ch] codec/*.[ch] codec/*.cc \
	crypto/*.[ch] engine/*.[ch] engine/*/*.[ch] cli/*.[ch] perf/*.[ch] tests/*.h \
	tests/*/*.[ch])

format:
	$(Q)clang-format -i $(FORMAT_SRC)

format-check:
	$(Q)clang-format --dry-run -Werror $(FORMAT_SRC)

check-headers: | $(DEPS_STAMP)
	$(Q)for h in include/aemp.h $(wildcard ring/*.h codec/*.h crypto/*.h engine/*.h engine/*/*.h); do \
		echo "  HDR    $$h"; \
		echo "#include \"$$h\"" | $(CC) -D_GNU_SOURCE -Iinclude -I. $(WOLF_CPPFLAGS) $(CFLAGS) -x c -fsyntax-only - || exit 1; \
	done

check-layers: all
	$(Q)tools/layers.sh $(B)

# clean keeps build/deps (wolfSSL takes minutes to build); distclean not.
clean:
	rm -rf $(filter-out build/deps,$(wildcard build/*)) $(DEPS_STAMP)

distclean:
	rm -rf build

-include $(shell find build/$(FLAVOR) -name '*.d' 2>/dev/null)
.SECONDARY:

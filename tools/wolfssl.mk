# tools/wolfssl.mk - which wolfSSL aemp links (docs/tls.md §8).  Included
# by the Makefile after the flavors, before the sources.
#
#   make                 wolfSSL built from Debian's source package with
#                        AES-NI and Intel assembly (tools/wolfssl.sh, once,
#                        into build/deps/), linked into libaemp; where that
#                        cannot be had, Debian's libwolfssl (one warning)
#   make WOLFSSL=system  Debian's libwolfssl, forced: builds into
#                        build/<flavor>-syswolf/ so both can coexist
#
# Sets WOLF_BUILT (1: our build), WOLF_CPPFLAGS, WOLF_LIBS (what programs
# and tests link), WOLF_SO_LIBS (what libaemp.so links: our build's
# symbols stay inside), WOLF_PC_LIBS (aemp.pc Libs.private) and
# WOLF_MODE (a stamp that changes when the choice or our build does, so
# the objects are rebuilt: wolfSSL's headers are system headers, which
# the dependency files do not list).

WOLFSSL ?= auto
WOLF_DIR := build/deps
WOLF_VARS := $(WOLF_DIR)/wolfssl.vars

# Goals that need no wolfSSL: they do not make tools/wolfssl.sh run.
WOLF_IDLE_GOALS := clean distclean format format-check deps uninstall

ifeq ($(WOLFSSL),system)
B := build/$(FLAVOR)-syswolf
WOLF_BUILT := 0
# make test: the objects outside crypto/ (they never see wolfSSL) are
# build/<flavor>'s own, just built; only crypto/ compiles again.
ifeq ($(SYSWOLF_SHARE),1)
OBJ_B := build/$(FLAVOR)
endif
else ifneq ($(WOLFSSL),auto)
$(error WOLFSSL=$(WOLFSSL): use auto (default) or system)
else ifeq ($(MAKECMDGOALS),)
include $(WOLF_VARS)
else ifneq ($(filter-out $(WOLF_IDLE_GOALS),$(MAKECMDGOALS)),)
include $(WOLF_VARS)
endif

# Rewritten by the script only when it ran; it skips the build when the
# same version and options are built already.  One run at a time (two
# flavors built at once): the second finds the variables up to date.
WOLF_LOCK := mkdir -p $(WOLF_DIR) && flock $(WOLF_DIR)/.lock
$(WOLF_VARS): tools/wolfssl.sh | $(DEPS_STAMP)
	$(Q)$(WOLF_LOCK) tools/wolfssl.sh $(WOLF_DIR)

ifeq ($(WOLF_BUILT),1)
WOLF_LIBS := $(WOLF_A)
WOLF_SO_LIBS := $(WOLF_A) -Wl,--exclude-libs,libwolfssl.a
WOLF_PC_LIBS :=
else
WOLF_CPPFLAGS :=
WOLF_LIBS := -lwolfssl
WOLF_SO_LIBS := -lwolfssl
WOLF_PC_LIBS := -lwolfssl
endif

WOLF_MODE := $(B)/wolfssl.mode
WOLF_MODE_TEXT := built=$(WOLF_BUILT) $(WOLF_BUILD_ID)

.PHONY: wolf-mode-force
$(WOLF_MODE): wolf-mode-force
	@mkdir -p $(@D)
	@echo '$(WOLF_MODE_TEXT)' | cmp -s - $@ || echo '$(WOLF_MODE_TEXT)' >$@

# The TLS tests alone (make test builds them with WOLFSSL=system).
TLS_TESTS := $(addprefix $(B)/tests/,unit/crypto_tls unit/crypto_cert \
	unit/crypto_wolf integ/tls_pair integ/tls_fail)
.PHONY: tls-tests-build
tls-tests-build: $(TLS_TESTS)

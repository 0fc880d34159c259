# SPDX-License-Identifier: Apache-2.0
# cfgw: one non-recursive Makefile.  make, make check, make VARIANT=asan check,
# make demo, make deps, make lint.  Objects go under build/<variant>/.

VARIANT	?= release
BUILD	?= build/$(VARIANT)
PYTHON	?= /usr/bin/python3
VERSION	:= 0.1.0

CC	?= cc
PKGS_ALL := libcurl yajl yaml-0.1 libzmq libsodium libseccomp openssl \
	    libnghttp2 libevent libpcre2-8 libzstd check

HARDEN	:= -D_FORTIFY_SOURCE=2 -fstack-protector-strong \
	   -fstack-clash-protection -fPIE
WARN	:= -Wall -Wextra -Wformat=2 -Wshadow -Wstrict-prototypes \
	   -Wmissing-prototypes -Wvla -Werror
CSTD	:= -std=c11 -D_GNU_SOURCE -DCFGW_VERSION='"$(VERSION)"'
OPT	:= -O2 -g
LDHARD	:= -pie -Wl,-z,relro,-z,now

ifeq ($(VARIANT),asan)
OPT	:= -O1 -g -fno-omit-frame-pointer -fsanitize=address,undefined \
	   -fno-sanitize-recover=undefined
LDHARD	+= -fsanitize=address,undefined
HARDEN	:= -fstack-protector-strong -fPIE
endif

CPPFLAGS := -I. -Iproto -Ilib
# pkg-config is asked once, lazily: on a fresh machine `make deps` runs
# before the first compile and installs the .pc files.
PKG_CFLAGS = $(eval PKG_CFLAGS := $$(shell pkg-config --cflags \
	     $(PKGS_ALL) 2>/dev/null))$(PKG_CFLAGS)
CFLAGS	= $(CSTD) $(OPT) $(HARDEN) $(WARN) -MMD -MP $(PKG_CFLAGS)
LDFLAGS	:= $(LDHARD)

ifeq ($(V),1)
Q :=
else
Q := @
endif

# Per-binary library sets: a library appears only where it is used.
LIBS_cfgwd	:= yajl libsodium
LIBS_watcher	:= libcurl yajl yaml-0.1 libzmq libsodium libseccomp libzstd
LIBS_reconciler	:= libcurl yajl yaml-0.1 libzmq libsodium libseccomp \
		   libpcre2-8 libzstd
LIBS_cfapi	:= libcurl yajl yaml-0.1 libzmq libsodium libseccomp
LIBS_dnsworker	:= libcurl yajl yaml-0.1 libzmq libsodium libseccomp
LIBS_rotator	:= libcurl yajl yaml-0.1 libzmq libsodium libseccomp
LIBS_elector	:= libcurl yajl yaml-0.1 libsodium libseccomp
LIBS_cfgwctl	:= libcurl yajl yaml-0.1 libsodium libpcre2-8
LIBS_cfgw-proxy	:= libcurl yajl yaml-0.1 openssl libnghttp2 libevent \
		   libevent_openssl libpcre2-8 libsodium
LIBS_test	:= $(PKGS_ALL) libevent_openssl

libs = $(shell pkg-config --libs $(LIBS_$(1)) 2>/dev/null) -lm -lpthread

WORKERS	:= watcher reconciler cfapi dnsworker rotator
LIB_SRCS := $(wildcard lib/*.c proto/*.c)
LIB_OBJS := $(LIB_SRCS:%.c=$(BUILD)/%.o)
LIBA	:= $(BUILD)/libcfgw.a

# The release build installs into bin/ and libexec/cfgw/ of the tree; other
# variants keep theirs under build/<variant>/ so that switching variants
# never leaves a stale binary behind.  cfgwd finds its workers in
# ../libexec/cfgw relative to itself.
ifeq ($(VARIANT),release)
OUT	:= .
else
OUT	:= $(BUILD)
endif
BINS	:= $(OUT)/bin/cfgwd $(OUT)/bin/cfgwctl $(OUT)/bin/cfgw-proxy \
	   $(WORKERS:%=$(OUT)/libexec/cfgw/%) $(OUT)/libexec/cfgw/elector

UNIT_SRCS := $(wildcard tests/unit/check_*.c)
UNIT_BINS := $(UNIT_SRCS:tests/unit/%.c=$(BUILD)/tests/%)
FUZZ_SRCS := $(wildcard tests/fuzz/fuzz_*.c)

.PHONY: all check unit integration demo deps deps-ok lint clean fuzz bench
all: deps-ok $(BINS)

# ---- objects and archives ----------------------------------------------
$(BUILD)/%.o: %.c | deps-ok
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  CC      $<")
	$(Q)$(CC) $(CPPFLAGS) $(CFLAGS) -c -o $@ $<

$(LIBA): $(LIB_OBJS)
	@$(if $(Q),echo "  AR      $@")
	$(Q)rm -f $@ && ar rcs $@ $^

# A binary is its directory's objects plus the shared archive.
define bin_rule
$(1): $$(patsubst %.c,$(BUILD)/%.o,$$(wildcard $(2)/*.c)) $(LIBA)
	@mkdir -p $$(dir $$@)
	@$$(if $$(Q),echo "  LD      $$@")
	$$(Q)$$(CC) $$(LDFLAGS) -o $$@ $$(filter %.o,$$^) $(LIBA) \
		$$(call libs,$(3))
endef
$(eval $(call bin_rule,$(OUT)/bin/cfgwd,supervisor,cfgwd))
$(eval $(call bin_rule,$(OUT)/bin/cfgwctl,cli,cfgwctl))
$(eval $(call bin_rule,$(OUT)/bin/cfgw-proxy,proxy,cfgw-proxy))
$(foreach w,$(WORKERS) elector,$(eval $(call \
	bin_rule,$(OUT)/libexec/cfgw/$(w),$(w),$(w))))

$(BUILD)/tests/%: $(BUILD)/tests/unit/%.o $(LIBA)
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  LD      $@")
	$(Q)$(CC) $(LDFLAGS) -o $@ $< $(LIBA) $(call libs,test)

# The supervisor tests' stand-in worker (tests/integration/testworker.c).
$(BUILD)/tests/testworker: $(BUILD)/tests/integration/testworker.o $(LIBA)
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  LD      $@")
	$(Q)$(CC) $(LDFLAGS) -o $@ $< $(LIBA) $(call libs,watcher)

# ---- tests ---------------------------------------------------------------
check: all $(UNIT_BINS)
	@$(MAKE) --no-print-directory unit integration

unit: $(UNIT_BINS)
	@fail=0; for t in $(UNIT_BINS); do \
		echo "== $$t"; CK_FORK=yes $$t || fail=1; \
	done; test $$fail -eq 0

# The simulators' own tests run no C code: once, in the release variant.
ifeq ($(VARIANT),release)
PYTEST_DIRS := tests/sim tests/integration
else
PYTEST_DIRS := tests/integration
endif
# The integration tests mostly wait on processes they start: with
# pytest-xdist they run PYTEST_JOBS at a time, each test file on one
# worker (its fixtures and order kept).  PYTEST_JOBS=1: one at a time.
PYTEST_JOBS ?= 3
PYTEST_PAR := $(if $(filter-out 1,$(PYTEST_JOBS)),$(if $(shell \
	$(PYTHON) -c 'import xdist' 2>/dev/null && echo y),-n $(PYTEST_JOBS) \
	--dist loadfile))
integration: $(BINS) $(BUILD)/tests/testworker
	CFGW_VARIANT=$(VARIANT) CFGW_OUT=$(OUT) $(PYTHON) -m pytest -q -rs \
		-p no:cacheprovider $(PYTEST_PAR) $(PYTEST_DIRS)

# ---- fuzzing (clang + libFuzzer) -----------------------------------------
fuzz:
	@sh tests/fuzz/build.sh

# ---- the demo -------------------------------------------------------------
demo: all
	CFGW_OUT=$(OUT) $(PYTHON) tests/demo.py

# ---- dependencies (the list lives in tools/deps.sh) ----------------------
deps:
	@sh tools/deps.sh

deps-ok:
	@sh tools/deps.sh --quiet

lint:
	cppcheck --quiet --error-exitcode=1 --enable=warning,performance \
		--inline-suppr -I lib -I proto lib proto supervisor $(WORKERS) \
		proxy cli

clean:
	rm -rf build bin libexec

# Keep the unit tests' objects between runs.
.SECONDARY:

-include $(shell find build -name '*.d' 2>/dev/null)

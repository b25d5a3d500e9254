# Vessel build. `make` builds build/vessel; `make BUILD=asan` builds build-asan/ with ASan+UBSan.
# Sources are discovered: every src/**/*.c except src/cli/main.c goes into libvessel.a.

BUILD ?= release
ifeq ($(BUILD),asan)
O        := build-asan
OPTFLAGS := -O1 -g -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined
LDSAN    := -fsanitize=address,undefined
else
O        := build
OPTFLAGS := -O2 -g
LDSAN    :=
endif

CC      ?= cc
CFLAGS  := -std=gnu11 -Wall -Wextra -Werror -Wno-unused-parameter -D_GNU_SOURCE -Isrc $(OPTFLAGS) $(EXTRA_CFLAGS)
# libslirp (`--net user`) and libmicrohttpd (`vessel serve`) are not linked: they are loaded
# when first used (src/base/dynlib.c), so that other VM processes start without them and
# their dependencies (glib, gnutls). Their -dev packages provide the headers.
LDLIBS  := -lfdt -lz -lzstd -ljansson -lseccomp -lnettle -ldl -lpthread
# On x86-64 the rv64 FPU needs libm only without FMA3 and loads it then (fpu.c); elsewhere its
# <fenv.h> path links it.
ifneq ($(shell uname -m),x86_64)
LDLIBS  += -lm
endif

SRCS      := $(shell find src -name '*.c' ! -path src/cli/main.c | sort)
OBJS      := $(SRCS:%.c=$(O)/%.o)
TEST_SRCS := $(shell find tests/unit -name '*.c' | sort)
TEST_OBJS := $(TEST_SRCS:%.c=$(O)/%.o)

all: $(O)/vessel $(O)/unit-tests $(O)/kvm-engine-test

$(O)/libvessel.a: $(OBJS)
	@rm -f $@
	ar rcs $@ $^

$(O)/vessel: $(O)/src/cli/main.o $(O)/libvessel.a
	$(CC) $(LDSAN) -o $@ $^ $(LDLIBS)

$(O)/unit-tests: $(TEST_OBJS) $(O)/libvessel.a
	$(CC) $(LDSAN) -o $@ $^ $(LDLIBS) -lm

# Needs /dev/kvm, so not a unit test: tests/run.sh runs it in the guest step.
$(O)/kvm-engine-test: $(O)/tests/kvm/test_kvm_engine.o $(O)/libvessel.a
	$(CC) $(LDSAN) -o $@ $^ $(LDLIBS)

# Every TEST(name) in tests/unit becomes X(name) in the generated list.
$(O)/tests/tests_list.h: $(filter-out tests/unit/main.c,$(TEST_SRCS))
	@mkdir -p $(dir $@)
	@sed -n 's/^TEST(\([A-Za-z0-9_]*\)).*/X(\1)/p' $^ > $@.tmp && mv $@.tmp $@

# The interpreter's dispatch: keep one indirect jump per handler (GCC merges them otherwise,
# and one shared jump predicts badly).
$(O)/src/engine/rv64/exec.o: CFLAGS += -fno-crossjumping
# sqrt as one instruction: the FPU computes the RISC-V flags itself and never reads errno.
$(O)/src/engine/rv64/fpu.o: CFLAGS += -fno-math-errno

$(O)/tests/unit/main.o: $(O)/tests/tests_list.h
$(O)/tests/unit/main.o: CFLAGS += -I$(O)/tests

$(O)/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -MMD -MP -c -o $@ $<

unit: $(O)/unit-tests
	$(O)/unit-tests

# `make install`: the vessel binary, the `vessel cluster` helper and the cluster agents
# (docs/cluster.md); `make install-agents`: only the agents, where Pacemaker looks for them.
PREFIX  ?= /usr/local
DESTDIR ?=
OCF_DIR ?= /usr/lib/ocf/resource.d/vessel
FENCE_DIR ?= /usr/sbin

install: $(O)/vessel install-agents
	install -D -m 755 $(O)/vessel $(DESTDIR)$(PREFIX)/bin/vessel
	install -d $(DESTDIR)$(PREFIX)/libexec/vessel/vessel_cluster $(DESTDIR)$(PREFIX)/libexec/vessel/agents
	install -m 755 src/cluster/vessel-cluster $(DESTDIR)$(PREFIX)/libexec/vessel/vessel-cluster
	install -m 644 src/cluster/vessel_cluster/*.py $(DESTDIR)$(PREFIX)/libexec/vessel/vessel_cluster/
	install -m 755 src/cluster/agents/* $(DESTDIR)$(PREFIX)/libexec/vessel/agents/

install-agents:
	install -D -m 755 src/cluster/agents/vm $(DESTDIR)$(OCF_DIR)/vm
	install -D -m 755 src/cluster/agents/capacity $(DESTDIR)$(OCF_DIR)/capacity
	install -D -m 755 src/cluster/agents/fence_vessel_lab $(DESTDIR)$(FENCE_DIR)/fence_vessel_lab

clean:
	rm -rf build build-asan

.PHONY: all unit clean install install-agents
-include $(OBJS:.o=.d) $(TEST_OBJS:.o=.d) $(O)/src/cli/main.d $(O)/tests/kvm/test_kvm_engine.d

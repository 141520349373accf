# catrace build.  Out of tree into .output/ (or .output-san/ with SAN=1),
# quiet unless V=1, like libbpf-bootstrap.
#   make            build catrace and libcatrace.so (include/catrace.h)
#   make test       build and run every test (tests/run.sh)
#   make SAN=1 test the same under ASan+UBSan
#   make deps       install the Debian packages the project needs

CC      ?= cc
ifeq ($(SAN),1)
OUTPUT  := .output-san
SANFLAGS := -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all
OPT     := -O1
else
OUTPUT  := .output
SANFLAGS :=
OPT     := -O2
endif

# Ours first, then the user's CFLAGS (make CFLAGS=...) added, never
# replacing -Werror. -ffile-prefix-map: the build directory is not in the
# binary (reproducible builds); -MMD -MP: each object's header
# dependencies in a .d file beside it.
override CFLAGS := -std=gnu11 -g $(OPT) -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes \
	   -Wmissing-prototypes -Wformat=2 -D_GNU_SOURCE $(SANFLAGS) \
	   -ffile-prefix-map=$(CURDIR)=. -MMD -MP $(CFLAGS)
INCLUDES := -Iinclude -Iuser -I$(OUTPUT)
LDLIBS  := -lpcap -lm
LDFLAGS := $(SANFLAGS)

ifeq ($(V),1)
Q =
msg =
else
Q = @
msg = @printf '  %-8s %s\n' "$(1)" "$(2)";
endif

# Everything in user/ except the entry point goes into an internal static
# library (libcatrace_int.a) the program and the tests link against; the
# public one, libcatrace.so, is built from the same sources below.
# The program itself (command line and the two runs) stays out of it.
APP_SRCS := user/catrace.c user/cli_options.c user/run_common.c user/run_offline.c user/run_live.c
LIB_SRCS := $(filter-out $(APP_SRCS),$(wildcard user/*.c))
LIB_OBJS := $(patsubst user/%.c,$(OUTPUT)/%.o,$(LIB_SRCS))
UNIT_SRCS := $(wildcard tests/unit/test_*.c)

# The BPF side: one object and its skeleton.
CLANG   ?= clang
# The target architecture, in the kernel's names (bpf_tracing.h's
# __TARGET_ARCH_*), from the machine we build on.
ARCH    ?= $(shell uname -m | sed -e 's/x86_64/x86/' -e 's/aarch64/arm64/' \
		-e 's/ppc64le/powerpc/' -e 's/mips.*/mips/' -e 's/riscv64/riscv/' \
		-e 's/loongarch64/loongarch/' -e 's/s390x/s390/')
# The programs include UAPI headers (linux/bpf.h, linux/ip.h...); theirs
# include asm/ headers, which Debian keeps in the multiarch directory, not
# on -target bpf's search path.
MULTIARCH_INC ?= /usr/include/$(shell uname -m)-linux-gnu
BPF_CFLAGS := -g -O2 -Wall -Werror -target bpf -D__TARGET_ARCH_$(ARCH) -Iinclude \
	      -I$(MULTIARCH_INC) -ffile-prefix-map=$(CURDIR)=.
BPF_OBJ := $(OUTPUT)/catrace.bpf.o
SKEL    := $(OUTPUT)/catrace.skel.h
# The socket owners' programs (process attribution): an object of their
# own, so that a kernel that cannot load them costs nothing else.
SOCKOWNER_SKEL := $(OUTPUT)/sockowner.skel.h
BPF_LIBS := -lbpf -lelf -lz -lncurses
UNIT_BINS := $(patsubst tests/unit/%.c,$(OUTPUT)/tests/%,$(UNIT_SRCS))

.PHONY: all clean test unit deps check bpftests bench fuzz install uninstall lib FORCE
all: $(OUTPUT)/catrace lib

# The version catrace --version prints: VERSION, plus what git describe
# says of the tree when there is one (0.1.0+8f9d929-dirty).  catrace.o is
# rebuilt when it changes, through a stamp rewritten only then.
VERSION ?= 0.1.0
GIT_DESC := $(shell git describe --always --dirty 2>/dev/null)
FULL_VERSION := $(VERSION)$(if $(GIT_DESC),+$(GIT_DESC))

$(OUTPUT)/version.stamp: FORCE | $(OUTPUT)
	$(Q)echo '$(FULL_VERSION)' | cmp -s - $@ || echo '$(FULL_VERSION)' > $@
$(OUTPUT)/cli_options.o $(OUTPUT)/metrics.o: $(OUTPUT)/version.stamp
$(OUTPUT)/cli_options.o $(OUTPUT)/metrics.o: CFLAGS += -DCATRACE_VERSION='"$(FULL_VERSION)"'

$(OUTPUT) $(OUTPUT)/tests:
	$(Q)mkdir -p $@

$(OUTPUT)/%.o: user/%.c $(wildcard user/*.h include/*.h) | $(OUTPUT)
	$(call msg,CC,$@)
	$(Q)$(CC) $(CFLAGS) $(INCLUDES) -c $< -o $@

$(OUTPUT)/%.bpf.o: bpf/%.bpf.c $(wildcard bpf/*.h) $(wildcard include/*.h) | $(OUTPUT)
	$(call msg,BPF,$@)
	$(Q)$(CLANG) $(BPF_CFLAGS) -c $< -o $@

# The objects embedded in catrace: DWARF stripped (BTF stays: the loader
# needs it), so the binary does not carry the BPF debug info.
$(OUTPUT)/%.bpf.stripped.o: $(OUTPUT)/%.bpf.o
	$(call msg,STRIP,$@)
	$(Q)llvm-strip -g $< -o $@

$(OUTPUT)/%.skel.h: $(OUTPUT)/%.bpf.stripped.o
	$(call msg,GEN-SKEL,$@)
	$(Q)bpftool gen skeleton $< name $*_bpf > $@

$(OUTPUT)/tests/bpf_%: tests/bpf/bpf_%.c $(wildcard tests/bpf/*.h) $(SKEL) $(OUTPUT)/libcatrace_int.a | $(OUTPUT)/tests
	$(call msg,TEST,$@)
	$(Q)$(CC) $(CFLAGS) -Wno-missing-prototypes $(INCLUDES) $< $(OUTPUT)/libcatrace_int.a \
		$(LDFLAGS) $(BPF_LIBS) $(LDLIBS) -o $@

bpftests: $(OUTPUT)/tests/bpf_equiv $(OUTPUT)/tests/bpf_hostile $(OUTPUT)/tests/bpf_wakeup \
	$(OUTPUT)/tests/bpf_live

$(OUTPUT)/libcatrace_int.a: $(LIB_OBJS)
	$(call msg,AR,$@)
	$(Q)rm -f $@ && ar rcs $@ $^

# The public library (include/catrace.h): the same sources built again
# position-independent with every symbol hidden but the API's
# (CATRACE_API), under a soname that changes only when the ABI breaks.
SO_MAJOR := 0
SO_NAME  := libcatrace.so.$(SO_MAJOR)
SO_FILE  := libcatrace.so.$(VERSION)
PIC_OBJS := $(patsubst user/%.c,$(OUTPUT)/pic/%.o,$(LIB_SRCS))
LIB_SO   := $(OUTPUT)/$(SO_FILE)

$(OUTPUT)/pic:
	$(Q)mkdir -p $@

$(OUTPUT)/pic/%.o: user/%.c $(wildcard user/*.h include/*.h) | $(OUTPUT)/pic
	$(call msg,CC-PIC,$@)
	$(Q)$(CC) $(CFLAGS) -fPIC -fvisibility=hidden $(INCLUDES) -c $< -o $@

$(OUTPUT)/pic/loader.o: $(SKEL) $(SOCKOWNER_SKEL)
$(OUTPUT)/pic/libcatrace.o $(OUTPUT)/libcatrace.o: CFLAGS += -DCATRACE_LIB_VERSION='"$(VERSION)"'

# -z defs: an undefined symbol fails here, not in a user's program
# (not with the sanitizers, whose runtime the program brings).
$(LIB_SO): $(PIC_OBJS)
	$(call msg,LIB,$@)
	$(Q)$(CC) -shared -Wl,-soname,$(SO_NAME) $(if $(SANFLAGS),,-Wl,-z,defs) $(LDFLAGS) \
		$^ $(BPF_LIBS) $(LDLIBS) -o $@
	$(Q)ln -sf $(SO_FILE) $(OUTPUT)/$(SO_NAME)
	$(Q)ln -sf $(SO_NAME) $(OUTPUT)/libcatrace.so

lib: $(LIB_SO)

# The API's own test links the shared library, as a user would.
$(OUTPUT)/tests/test_libcatrace: tests/unit/test_libcatrace.c include/catrace.h $(LIB_SO) | $(OUTPUT)/tests
	$(call msg,TEST,$@)
	$(Q)$(CC) $(CFLAGS) -Wno-missing-prototypes -Iinclude $< -L$(OUTPUT) -lcatrace \
		-Wl,-rpath,$(abspath $(OUTPUT)) $(LDFLAGS) -lcmocka -o $@

# The loader includes the generated skeletons.
$(OUTPUT)/loader.o: $(SKEL) $(SOCKOWNER_SKEL)

$(OUTPUT)/catrace: $(patsubst user/%.c,$(OUTPUT)/%.o,$(APP_SRCS)) $(OUTPUT)/libcatrace_int.a
	$(call msg,BINARY,$@)
	$(Q)$(CC) $(LDFLAGS) $^ $(BPF_LIBS) $(LDLIBS) -o $@

$(OUTPUT)/tests/%: tests/unit/%.c $(OUTPUT)/libcatrace_int.a | $(OUTPUT)/tests
	$(call msg,TEST,$@)
	$(Q)$(CC) $(CFLAGS) -Wno-missing-prototypes $(INCLUDES) $< $(OUTPUT)/libcatrace_int.a \
		$(LDFLAGS) -lcmocka $(LDLIBS) -o $@

# top's screen half needs curses even where a test only renders text.
$(OUTPUT)/tests/test_top: LDLIBS += -lncurses

unit: $(UNIT_BINS) bpftests

test: $(OUTPUT)/catrace unit
	$(Q)OUTPUT=$(OUTPUT) tests/run.sh

# Everything CI runs: both builds, then the suite on each.
check:
	$(Q)$(MAKE) --no-print-directory all unit
	$(Q)$(MAKE) --no-print-directory SAN=1 all unit
	$(Q)tests/check.sh

# Benchmarks print numbers and write bench/BENCHMARKS.md; never part of CI.
bench: all
	$(Q)$(MAKE) --no-print-directory -C bench run

# libFuzzer harnesses over the decoder (FUZZ_SECONDS per fuzzer).
fuzz:
	$(Q)$(MAKE) --no-print-directory -C tests/fuzz FUZZ_SECONDS=$(or $(FUZZ_SECONDS),60)

deps:
	$(Q)scripts/install-deps.sh

# make install [PREFIX=/usr/local] [DESTDIR=staging]: the binary, the man
# page, bash completion and the systemd unit (its ExecStart follows PREFIX),
# and the library (below).
PREFIX  ?= /usr/local
SBINDIR := $(PREFIX)/sbin
MAN8DIR := $(PREFIX)/share/man/man8
BASHCOMPDIR := $(PREFIX)/share/bash-completion/completions
UNITDIR := $(PREFIX)/lib/systemd/system
UNIT    := catrace-metrics@.service

# The library: libcatrace.so.X.Y.Z and its two links, the header, the
# pkg-config file, and the Python module where Debian's python3 looks
# (told where the library is, so it needs no LD_LIBRARY_PATH).
LIBDIR  ?= $(PREFIX)/lib
INCDIR  ?= $(PREFIX)/include
PCDIR   ?= $(LIBDIR)/pkgconfig
PYVER   := $(shell /usr/bin/python3 -c 'import sys; print("%d.%d" % sys.version_info[:2])' 2>/dev/null)
PYDIR   ?= $(if $(filter /usr,$(PREFIX)),/usr/lib/python3/dist-packages,$(PREFIX)/lib/python$(PYVER)/dist-packages)

install: $(OUTPUT)/catrace $(LIB_SO)
	$(call msg,INSTALL,$(DESTDIR)$(PREFIX))
	$(Q)install -D -m 0755 $(OUTPUT)/catrace $(DESTDIR)$(SBINDIR)/catrace
	$(Q)install -D -m 0644 doc/catrace.8 $(DESTDIR)$(MAN8DIR)/catrace.8
	$(Q)install -D -m 0644 scripts/catrace.bash-completion $(DESTDIR)$(BASHCOMPDIR)/catrace
	$(Q)install -d $(DESTDIR)$(UNITDIR)
	$(Q)sed 's|/usr/local/sbin/catrace|$(SBINDIR)/catrace|g' scripts/$(UNIT) \
		> $(DESTDIR)$(UNITDIR)/$(UNIT) && chmod 0644 $(DESTDIR)$(UNITDIR)/$(UNIT)
	$(Q)install -D -m 0755 $(LIB_SO) $(DESTDIR)$(LIBDIR)/$(SO_FILE)
	$(Q)ln -sf $(SO_FILE) $(DESTDIR)$(LIBDIR)/$(SO_NAME)
	$(Q)ln -sf $(SO_NAME) $(DESTDIR)$(LIBDIR)/libcatrace.so
	$(Q)install -D -m 0644 include/catrace.h $(DESTDIR)$(INCDIR)/catrace.h
	$(Q)install -d $(DESTDIR)$(PCDIR)
	$(Q)sed -e 's|@PREFIX@|$(PREFIX)|' -e 's|@LIBDIR@|$(LIBDIR)|' -e 's|@INCDIR@|$(INCDIR)|' \
		-e 's|@VERSION@|$(VERSION)|' scripts/catrace.pc.in > $(DESTDIR)$(PCDIR)/catrace.pc && \
		chmod 0644 $(DESTDIR)$(PCDIR)/catrace.pc
	$(Q)install -D -m 0644 python/catrace/__init__.py $(DESTDIR)$(PYDIR)/catrace/__init__.py
	$(Q)echo 'LIB = "$(LIBDIR)/$(SO_NAME)"' > $(DESTDIR)$(PYDIR)/catrace/_where.py && \
		chmod 0644 $(DESTDIR)$(PYDIR)/catrace/_where.py
	$(Q)$(if $(DESTDIR),,$(if $(filter /usr /usr/local,$(PREFIX)),ldconfig 2>/dev/null || true))

uninstall:
	$(call msg,UNINSTALL,$(DESTDIR)$(PREFIX))
	$(Q)rm -f $(DESTDIR)$(SBINDIR)/catrace $(DESTDIR)$(MAN8DIR)/catrace.8 \
		$(DESTDIR)$(BASHCOMPDIR)/catrace $(DESTDIR)$(UNITDIR)/$(UNIT)
	$(Q)rm -f $(DESTDIR)$(LIBDIR)/$(SO_FILE) $(DESTDIR)$(LIBDIR)/$(SO_NAME) \
		$(DESTDIR)$(LIBDIR)/libcatrace.so $(DESTDIR)$(INCDIR)/catrace.h \
		$(DESTDIR)$(PCDIR)/catrace.pc
	$(Q)rm -rf $(DESTDIR)$(PYDIR)/catrace

clean:
	$(call msg,CLEAN,)
	$(Q)rm -rf .output .output-san

.DELETE_ON_ERROR:
.SECONDARY:

# Header dependencies written by -MMD.
-include $(wildcard $(OUTPUT)/*.d $(OUTPUT)/pic/*.d $(OUTPUT)/tests/*.d)

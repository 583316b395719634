# SPDX-License-Identifier: GPL-2.0-or-later
# volcrypt top-level build.  GNU make.
#
#   make            libvol.so, the volcrypt binary (and dm-target if headers exist)
#   make check      everything in tests/ (installs test dependencies first)
#   make bench      benchmarks under tests/bench/ (not tests)
#   make fuzz       libFuzzer on the header decoder (FUZZ_SECONDS=60)
#   make demo       end-to-end tour on an image file in a temporary directory
#   make install    PREFIX=/usr/local DESTDIR=

VERSION      := 0.1.0
# 2: the public structs vol_fuse_config and vol_activate_params grew (rekey,
# LUKS2) after libvol.so.1; new functions carry symbol versions (libvol.map).
SOVERSION    := 2
PREFIX       ?= /usr/local
BINDIR       ?= $(PREFIX)/sbin
LIBDIR       ?= $(PREFIX)/lib
INCLUDEDIR   ?= $(PREFIX)/include
MANDIR       ?= $(PREFIX)/share/man
PKGCONFIGDIR ?= $(LIBDIR)/pkgconfig
# Boot integration: where initramfs-tools and systemd look, whatever PREFIX is.
INITRAMFSDIR ?= /usr/share/initramfs-tools
SYSTEMDGENDIR ?= /usr/lib/systemd/system-generators
DESTDIR      ?=

CC           ?= gcc
PKG_CONFIG   ?= pkg-config
BUILD        := build

# Debian packages needed to build and test (make deps installs them).
DEB_BUILD_PKGS := build-essential pkg-config libgcrypt20-dev libblkid-dev \
	libdevmapper-dev libcryptsetup-dev libjson-c-dev libfuse3-dev libkeyutils-dev
DEB_TEST_PKGS  := check libssl-dev clang libclang-rt-14-dev e2fsprogs util-linux \
	openssl python3 perl coreutils fuse3 fio rsync attr acl squashfs-tools findutils systemd
# The VM tests boot Debian's kernel under qemu with these in an initramfs.
# libecryptfs1 and acl: ecryptfs-utils' kernel tests (tests/vm/ecryptfs_tests_build.sh
# fetches their source with apt-get source and builds them; t_ecryptfs_kernel.sh).
# initramfs-tools and udev: the boot test builds a real initramfs with our hook.
DEB_VM_PKGS    := qemu-system-x86 linux-image-amd64 linux-headers-amd64 busybox-static \
	cryptsetup-bin dmsetup keyutils kmod cpio zstd libecryptfs1 libnss3 acl \
	initramfs-tools udev
DEB_PKGS       := $(DEB_BUILD_PKGS) $(DEB_TEST_PKGS) $(DEB_VM_PKGS)

LIB_PKGS  := libgcrypt blkid devmapper libcryptsetup fuse3 libkeyutils
CLI_PKGS  := libgcrypt json-c
TEST_PKGS := check openssl

pc_cflags = $(shell $(PKG_CONFIG) --cflags $(1) 2>/dev/null)
pc_libs   = $(shell $(PKG_CONFIG) --libs $(1) 2>/dev/null)

WARN     := -Wall -Wextra -Werror -Wshadow -Wformat=2 -Wvla
CSTD     := -std=c11 -D_GNU_SOURCE
HARDEN   := -fstack-protector-strong -D_FORTIFY_SOURCE=2
OPT      ?= -O2 -g
BASE_CFLAGS := $(CSTD) $(WARN) $(OPT) $(HARDEN) -pthread
SAN_FLAGS   := -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer

LIBVOL_SRC := $(sort $(wildcard libvol/*.c))
LIBVOL_HDR := $(wildcard libvol/*.h)
CLI_SRC    := $(sort $(wildcard cli/*.c))
CLI_HDR    := $(wildcard cli/*.h)
UNIT_SRC   := $(sort $(wildcard tests/unit/test_*.c))
BENCH_SRC  := $(sort $(wildcard tests/bench/*.c))

LIBVOL_CFLAGS := $(BASE_CFLAGS) -fPIC -fvisibility=default -DVOL_SBINDIR='"$(BINDIR)"' \
	$(call pc_cflags,$(LIB_PKGS))
LIBVOL_LIBS   := -Wl,--as-needed $(call pc_libs,$(LIB_PKGS)) -pthread
LIBVOL_OBJ    := $(LIBVOL_SRC:%.c=$(BUILD)/%.o)
LIBVOL_SO     := $(BUILD)/libvol.so.$(SOVERSION)
CLI_BIN       := $(BUILD)/volcrypt
CLI_OBJ       := $(CLI_SRC:%.c=$(BUILD)/%.o)
FUSED_SRC     := $(sort $(wildcard cli/fused/*.c))
FUSED_OBJ     := $(FUSED_SRC:%.c=$(BUILD)/%.o)
FUSED_BIN     := $(BUILD)/volcrypt-fused

UNIT_BIN      := $(UNIT_SRC:tests/unit/%.c=$(BUILD)/tests/%)
UNIT_ASAN_BIN := $(UNIT_SRC:tests/unit/%.c=$(BUILD)/asan/tests/%)
ASAN_LIBVOL_OBJ := $(LIBVOL_SRC:%.c=$(BUILD)/asan/%.o)
TEST_CFLAGS   := $(BASE_CFLAGS) -Ilibvol $(call pc_cflags,$(TEST_PKGS) $(LIB_PKGS))
TEST_LIBS     := $(call pc_libs,$(TEST_PKGS) $(LIB_PKGS)) -pthread

KDIR ?= $(shell ls -d /lib/modules/*/build 2>/dev/null | sort -V | tail -n1)

.PHONY: all lib cli module install uninstall deps check unit unit-asan cli-tests vm-tests boot-tests \
	fuzz fuzz-smoke bench demo clean
.DELETE_ON_ERROR:
# Keep the sanitizer objects between test links.
.SECONDARY:

all: lib cli module

lib: $(LIBVOL_SO) $(BUILD)/libvol.so $(BUILD)/libvol.pc
cli: $(CLI_BIN) $(FUSED_BIN)

$(BUILD)/libvol/%.o: libvol/%.c $(LIBVOL_HDR)
	@mkdir -p $(@D)
	$(CC) $(LIBVOL_CFLAGS) -c $< -o $@

$(LIBVOL_SO): $(LIBVOL_OBJ) libvol/libvol.map
	$(CC) -shared -Wl,-soname,libvol.so.$(SOVERSION) -Wl,--version-script=libvol/libvol.map \
		-Wl,-z,relro,-z,now -o $@ $(LIBVOL_OBJ) $(LIBVOL_LIBS)

$(BUILD)/libvol.so: $(LIBVOL_SO)
	ln -sf libvol.so.$(SOVERSION) $@

$(BUILD)/libvol.pc: libvol/libvol.pc.in Makefile
	@mkdir -p $(@D)
	sed -e 's|@PREFIX@|$(PREFIX)|' -e 's|@LIBDIR@|$(LIBDIR)|' \
	    -e 's|@INCLUDEDIR@|$(INCLUDEDIR)|' -e 's|@VERSION@|$(VERSION)|' $< > $@

$(BUILD)/cli/%.o: cli/%.c $(CLI_HDR) $(wildcard cli/fused/*.h) libvol/libvol.h
	@mkdir -p $(@D)
	$(CC) $(BASE_CFLAGS) -Ilibvol -DVOLCRYPT_VERSION='"$(VERSION)"' $(call pc_cflags,$(CLI_PKGS)) -c $< -o $@

# The binary finds libvol next to itself in the build tree ($ORIGIN) and in
# LIBDIR once installed.
$(CLI_BIN): $(CLI_OBJ) $(BUILD)/libvol.so
	$(CC) -o $@ $(CLI_OBJ) -L$(BUILD) -lvol -Wl,-rpath,'$$ORIGIN' -Wl,-z,relro,-z,now \
		$(call pc_libs,$(CLI_PKGS)) -pthread

# The fuse backend's daemon, started by `volcrypt open` (never by hand).
$(FUSED_BIN): $(FUSED_OBJ) $(BUILD)/libvol.so
	$(CC) -o $@ $(FUSED_OBJ) -L$(BUILD) -lvol -Wl,-rpath,'$$ORIGIN' -Wl,-z,relro,-z,now \
		$(call pc_libs,libgcrypt) -pthread

module:
	@if [ -n "$(KDIR)" ] && [ -d "$(KDIR)" ] && [ -f dm-target/Kbuild ]; then \
		$(MAKE) -C dm-target KDIR=$(KDIR); \
	else echo "dm-target: no kernel headers (KDIR unset), module not built"; fi

# ---------------------------------------------------------------- tests

$(BUILD)/tests/%: tests/unit/%.c tests/unit/unit.h $(LIBVOL_OBJ)
	@mkdir -p $(@D)
	$(CC) $(TEST_CFLAGS) -o $@ $< $(LIBVOL_OBJ) $(TEST_LIBS)

$(BUILD)/asan/libvol/%.o: libvol/%.c $(LIBVOL_HDR)
	@mkdir -p $(@D)
	$(CC) $(LIBVOL_CFLAGS) -O1 $(SAN_FLAGS) -c $< -o $@

$(BUILD)/asan/tests/%: tests/unit/%.c tests/unit/unit.h $(ASAN_LIBVOL_OBJ)
	@mkdir -p $(@D)
	$(CC) $(TEST_CFLAGS) -O1 $(SAN_FLAGS) -o $@ $< $(ASAN_LIBVOL_OBJ) $(TEST_LIBS)

unit: $(UNIT_BIN)
	@tests/run-unit.sh $(UNIT_BIN)

# Leaks are fatal, except libgcrypt's process-lifetime globals (lsan.supp).
unit-asan: $(UNIT_ASAN_BIN)
	@ASAN_OPTIONS=detect_leaks=1 LSAN_OPTIONS=suppressions=$(CURDIR)/tests/unit/lsan.supp \
		UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
		tests/run-unit.sh $(UNIT_ASAN_BIN)

# LD_PRELOAD shim that kills the CLI at its N-th durable write (crash tests).
$(BUILD)/tests/crashpoint.so: tests/cli/crashpoint.c
	@mkdir -p $(@D)
	$(CC) -shared -fPIC -O2 -Wall -Wextra -Werror -o $@ $< -ldl

cli-tests: all $(BUILD)/tests/crashpoint.so
	@tests/cli/run.sh $(BUILD)/volcrypt

FUZZ_SECONDS ?= 60
FUZZ_SRC := $(sort $(wildcard tests/fuzz/fuzz_*.c))
FUZZ_BIN := $(FUZZ_SRC:tests/fuzz/%.c=$(BUILD)/fuzz/%)
$(BUILD)/fuzz/%: tests/fuzz/%.c tests/fuzz/fuzz.h $(LIBVOL_SRC) $(LIBVOL_HDR)
	@mkdir -p $(@D)
	clang $(CSTD) -Wall -Wextra -Werror -g -O1 -fsanitize=fuzzer,address,undefined -Ilibvol \
		$(call pc_cflags,$(LIB_PKGS)) -o $@ $< $(LIBVOL_SRC) $(call pc_libs,$(LIB_PKGS)) -pthread

fuzz: $(FUZZ_BIN)
	@for f in $(FUZZ_BIN); do tests/fuzz/run.sh $$f $(FUZZ_SECONDS) || exit 1; done

fuzz-smoke: $(FUZZ_BIN)
	@for f in $(FUZZ_BIN); do tests/fuzz/run.sh $$f 20 || exit 1; done

# Boots Debian's kernel under qemu (TCG) with our binaries in an initramfs,
# then the boot test: mkinitramfs with our hook, the root on a volume.
vm-tests: all
	@tests/vm/run.sh $(BUILD)
	@tests/vm/boot/run.sh $(BUILD)

boot-tests: all
	@tests/vm/boot/run.sh $(BUILD)

check: deps
	$(MAKE) all
	$(MAKE) unit
	$(MAKE) unit-asan
	$(MAKE) fuzz-smoke
	$(MAKE) cli-tests
	$(MAKE) vm-tests

BENCH_BIN := $(BENCH_SRC:tests/bench/%.c=$(BUILD)/bench/%)
$(BUILD)/bench/%: tests/bench/%.c $(LIBVOL_OBJ)
	@mkdir -p $(@D)
	$(CC) $(TEST_CFLAGS) -o $@ $< $(LIBVOL_OBJ) $(TEST_LIBS)

# Bench only: the fuse daemon without the cipher (tests/bench/bench_fuse.sh).
# Never installed: it stores data in plaintext.
FUSED_NOCRYPTO := $(BUILD)/bench/helpers/volcrypt-fused-nocrypto
FUSED_NOCRYPTO_OBJ := $(BUILD)/bench/helpers/fuse_backend_nocrypto.o

$(FUSED_NOCRYPTO_OBJ): libvol/fuse_backend.c $(LIBVOL_HDR)
	@mkdir -p $(@D)
	$(CC) $(LIBVOL_CFLAGS) -DVOL_FUSE_BENCH_NO_CRYPTO -c $< -o $@

$(FUSED_NOCRYPTO): $(FUSED_OBJ) $(FUSED_NOCRYPTO_OBJ) \
		$(filter-out $(BUILD)/libvol/fuse_backend.o,$(LIBVOL_OBJ))
	$(CC) -o $@ $^ -Wl,-z,relro,-z,now $(LIBVOL_LIBS)

bench: all $(BENCH_BIN) $(FUSED_NOCRYPTO)
	@tests/bench/run.sh $(BUILD)

demo: deps
	$(MAKE) all
	@tests/demo.sh $(BUILD)/volcrypt

# ---------------------------------------------------------------- deps

deps:
	@missing=$$(for p in $(DEB_PKGS); do \
		dpkg-query -W -f='$${Status}\n' $$p 2>/dev/null | grep -q '^install ok installed' || echo $$p; \
	done); \
	if [ -z "$$missing" ]; then exit 0; fi; \
	if [ "$$(id -u)" = 0 ]; then \
		echo "deps: installing $$missing"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing; \
	else \
		echo "deps: missing Debian packages; run as root:" >&2; \
		echo "  apt-get update && apt-get install $$missing" >&2; exit 1; \
	fi

# ---------------------------------------------------------------- install

install: lib cli
	install -d $(DESTDIR)$(BINDIR) $(DESTDIR)$(LIBDIR) $(DESTDIR)$(INCLUDEDIR) \
		$(DESTDIR)$(PKGCONFIGDIR) $(DESTDIR)$(MANDIR)/man8
	install -m 0755 $(LIBVOL_SO) $(DESTDIR)$(LIBDIR)/libvol.so.$(SOVERSION)
	ln -sf libvol.so.$(SOVERSION) $(DESTDIR)$(LIBDIR)/libvol.so
	$(CC) -o $(BUILD)/volcrypt.install $(CLI_OBJ) -L$(BUILD) -lvol \
		-Wl,-rpath,$(LIBDIR) -Wl,-z,relro,-z,now $(call pc_libs,$(CLI_PKGS)) -pthread
	install -m 0755 $(BUILD)/volcrypt.install $(DESTDIR)$(BINDIR)/volcrypt
	$(CC) -o $(BUILD)/volcrypt-fused.install $(FUSED_OBJ) -L$(BUILD) -lvol \
		-Wl,-rpath,$(LIBDIR) -Wl,-z,relro,-z,now $(call pc_libs,libgcrypt) -pthread
	install -m 0755 $(BUILD)/volcrypt-fused.install $(DESTDIR)$(BINDIR)/volcrypt-fused
	install -m 0644 libvol/libvol.h $(DESTDIR)$(INCLUDEDIR)/libvol.h
	install -m 0644 $(BUILD)/libvol.pc $(DESTDIR)$(PKGCONFIGDIR)/libvol.pc
	install -m 0644 docs/volcrypt.8 $(DESTDIR)$(MANDIR)/man8/volcrypt.8
	install -d $(DESTDIR)$(MANDIR)/man5 $(DESTDIR)$(INITRAMFSDIR)/hooks \
		$(DESTDIR)$(INITRAMFSDIR)/scripts/local-top $(DESTDIR)$(SYSTEMDGENDIR)
	install -m 0644 docs/volcrypttab.5 $(DESTDIR)$(MANDIR)/man5/volcrypttab.5
	@mkdir -p $(BUILD)/boot
	sed 's|@BINDIR@|$(BINDIR)|g' boot/initramfs-tools/hooks/volcrypt >$(BUILD)/boot/hook
	install -m 0755 $(BUILD)/boot/hook $(DESTDIR)$(INITRAMFSDIR)/hooks/volcrypt
	install -m 0755 boot/initramfs-tools/scripts/local-top/volcrypt \
		$(DESTDIR)$(INITRAMFSDIR)/scripts/local-top/volcrypt
	sed 's|@BINDIR@|$(BINDIR)|g' boot/systemd/volcrypt-generator >$(BUILD)/boot/generator
	install -m 0755 $(BUILD)/boot/generator $(DESTDIR)$(SYSTEMDGENDIR)/volcrypt-generator

uninstall:
	rm -f $(DESTDIR)$(BINDIR)/volcrypt $(DESTDIR)$(BINDIR)/volcrypt-fused $(DESTDIR)$(LIBDIR)/libvol.so* \
	      $(DESTDIR)$(INCLUDEDIR)/libvol.h $(DESTDIR)$(PKGCONFIGDIR)/libvol.pc \
	      $(DESTDIR)$(MANDIR)/man8/volcrypt.8 $(DESTDIR)$(MANDIR)/man5/volcrypttab.5 \
	      $(DESTDIR)$(INITRAMFSDIR)/hooks/volcrypt $(DESTDIR)$(INITRAMFSDIR)/scripts/local-top/volcrypt \
	      $(DESTDIR)$(SYSTEMDGENDIR)/volcrypt-generator

clean:
	rm -rf $(BUILD)
	@if [ -f dm-target/Makefile ]; then $(MAKE) -C dm-target clean >/dev/null 2>&1 || true; fi

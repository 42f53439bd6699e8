# ablkafka: build, C tests against a real broker (tansu), and the demo.
#
#   make lib            cargo build --release (libablkafka.so, libablkafka.a, include/ablkafka.h)
#   make header-check   the committed include/ablkafka.h matches what the build generates
#   make abi-check      the C ABI (the header's types, the symbols' versions) against the
#                       committed abi/<SONAME>.abi, with abidiff (scripts/abi-check.sh)
#   make abi-baseline   write abi/<SONAME>.abi from the library built now, to commit
#   make ctests         compile c-tests/ and examples-c/ against include/ and target/release
#                       (SAN=asan: the same programs with ASan+UBSan, in build/asan/bin)
#   make check          the quick tier: fmt, clippy, cargo test, header check, C build, and
#                       the C programs of c-tests/manifest that need at most one tansu
#   make test           everything: deps, cargo test, header check, ABI check, C tests against
#                       tansu, read-back by an independent consumer, make install and make deb
#                       tried out; ends with "N passed, N failed"
#   make demo           deps, build, start tansu, send with every codec, print receipts,
#                       read the topics back
#   make test-asan      every run of c-tests/manifest built with -fsanitize=address,undefined,
#                       against its own brokers (scripts/c-suite.sh asan)
#   make test-valgrind  the same under valgrind memcheck, smaller message counts
#   make install PREFIX=/usr/local [DESTDIR=...]
#                       libablkafka.so.VERSION (stripped) with its SONAME link and
#                       libablkafka.so, its debug info lib/.debug/libablkafka.so.VERSION.debug
#                       (named by the library's .gnu_debuglink), the static libablkafka.a
#                       (without debug info), include/ablkafka.h, lib/pkgconfig/ablkafka.pc
#                       and lib/cmake/ablkafka/ablkafkaConfig{,Version}.cmake
#   make deb            the Debian packages libablkafka0.1, libablkafka-dev and
#                       libablkafka0.1-dbgsym in build/deb (scripts/deb.sh)
#   make fuzz           optional, not in CI: libFuzzer on the response decoders (fuzz/)
#   make bench          ablkafka against librdkafka, same workloads, same tansu broker:
#                       medians and ratios (BENCHMARKS.md); 5 minutes of runs, plus up to
#                       5 minutes of waiting for other processes to leave the CPUs idle
#   make bench-smoke    the same in a short mode that checks it works (no speed check)
#
# Installs what it needs on first use (scripts/deps.sh): Debian packages, tansu and a
# Python venv with confluent-kafka, cached in $ABLKAFKA_CACHE (default ~/.cache/ablkafka).

SHELL := /bin/bash

# Two cores on these machines: keep cargo to two jobs (the environment may ask for fewer).
CARGO_BUILD_JOBS ?= 2
export CARGO_BUILD_JOBS
CARGO ?= cargo

LIBDIR := target/release
LIB_SO := $(LIBDIR)/libablkafka.so
LIB_A := $(LIBDIR)/libablkafka.a
HEADER := include/ablkafka.h

# The version is Cargo.toml's and the ABI number in the SONAME follows Cargo's
# compatibility rule (major, or 0.minor while the major is 0), as build.rs sets it: both
# worked out once, in scripts/env.sh.
VERSION := $(shell . scripts/env.sh && echo "$$ABLKAFKA_VERSION")
VERSION_WORDS := $(subst ., ,$(VERSION))
ABI := $(shell . scripts/env.sh && echo "$$ABLKAFKA_ABI")
SONAME := libablkafka.so.$(ABI)

PREFIX ?= /usr/local
prefix ?= $(PREFIX)
libdir ?= $(prefix)/lib
includedir ?= $(prefix)/include
pkgconfigdir ?= $(libdir)/pkgconfig
cmakedir ?= $(libdir)/cmake/ablkafka
# gdb looks for a .gnu_debuglink's file in .debug/ beside the library, whatever the prefix.
debugdir ?= $(libdir)/.debug
INSTALL ?= install
OBJCOPY ?= objcopy

# The C programs: every c-tests/*.c and *.cpp (but header_c11.c, which is only compiled)
# and every examples-c/*.c. How each one runs, and under which memory checkers, is
# c-tests/manifest's business.
PROGRAMS := $(basename $(notdir $(filter-out c-tests/header_c11.c,$(wildcard c-tests/*.c c-tests/*.cpp examples-c/*.c))))

# Two variants from the same rules: as they are (build/bin), and with SAN=asan built with
# AddressSanitizer and UBSan (build/asan/bin), still linked with the release library.
SAN ?=
ifeq ($(SAN),asan)
BIN := build/asan/bin
SANFLAGS := -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer
else ifeq ($(SAN),)
BIN := build/bin
SANFLAGS :=
else
$(error SAN=$(SAN): the only variant is SAN=asan)
endif

CC ?= cc
CFLAGS ?= -O1 -g
CFLAGS += -std=c11 -Wall -Wextra -Wpedantic -Werror $(SANFLAGS)
CPPFLAGS += -Iinclude -Ic-tests
LDFLAGS += -L$(LIBDIR) -Wl,-rpath,$(abspath $(LIBDIR))
LDLIBS += -lablkafka -pthread

# The fault tests run librdkafka's mock cluster in-process: Debian's librdkafka-dev headers,
# linked against the newer librdkafka inside the confluent-kafka wheel (scripts/env.sh finds
# it once scripts/deps.sh has made the venv). The benchmark links the same library.
RDKAFKA_LIB ?= $(shell . scripts/env.sh >/dev/null 2>&1; echo "$$RDKAFKA_LIB")

.PHONY: all lib dist dist-files deb header-check abi-check abi-baseline header-compile ctests c-binaries check test demo deps clean install test-asan test-valgrind fuzz bench bench-smoke bench-binaries

all: lib

# Programs linked with -lablkafka record the SONAME; the link lets them find it here.
lib:
	$(CARGO) build --release
	@ln -sfn libablkafka.so $(LIBDIR)/$(SONAME)

# After the build (which regenerates the header), the committed header must be unchanged.
header-check: lib
	@git ls-files --error-unmatch $(HEADER) >/dev/null 2>&1 || \
		{ echo "header-check: $(HEADER) is not committed" >&2; exit 1; }
	@git diff --exit-code -- $(HEADER) || \
		{ echo "header-check: $(HEADER) is stale: commit the regenerated header" >&2; exit 1; }
	@echo "header-check: $(HEADER) is up to date"

abi-check:
	scripts/abi-check.sh

abi-baseline:
	scripts/abi-check.sh --baseline

# Recursive, so the binaries are judged against the library this build just made.
ctests: lib
	@$(MAKE) --no-print-directory c-binaries

c-binaries: $(addprefix $(BIN)/,$(PROGRAMS))
	@echo "ctests: $(PROGRAMS) are built in $(BIN)"

$(BIN)/%: c-tests/%.c c-tests/check.h c-tests/common.h $(HEADER) $(LIB_SO) | $(BIN)
	$(CC) $(CPPFLAGS) $(CFLAGS) -o $@ $< $(LDFLAGS) $(LDLIBS)

$(BIN)/mock_faults $(BIN)/txn_mock: $(BIN)/%: c-tests/%.c c-tests/mock.h c-tests/cases.h c-tests/check.h c-tests/common.h $(HEADER) $(LIB_SO) | $(BIN)
	@test -n "$(RDKAFKA_LIB)" && test -f "$(RDKAFKA_LIB)" || \
		{ echo "$@: librdkafka from the confluent-kafka wheel not found (run scripts/deps.sh)" >&2; exit 1; }
	@test -f /usr/include/librdkafka/rdkafka_mock.h || \
		{ echo "$@: /usr/include/librdkafka/rdkafka_mock.h missing (librdkafka-dev; run scripts/deps.sh)" >&2; exit 1; }
	$(CC) $(CPPFLAGS) $(CFLAGS) -o $@ $< $(LDFLAGS) $(LDLIBS) "$(RDKAFKA_LIB)" -Wl,-rpath,"$(dir $(RDKAFKA_LIB))"

$(BIN)/%: examples-c/%.c $(HEADER) $(LIB_SO) | $(BIN)
	$(CC) $(CPPFLAGS) $(CFLAGS) -o $@ $< $(LDFLAGS) $(LDLIBS)

# The header alone as strict C11, and from C++11 (linked and run: extern "C" works).
CXX ?= c++
header-compile: $(BIN)/header_cpp
	$(CC) $(CPPFLAGS) -std=c11 -Wall -Wextra -Wpedantic -pedantic-errors -Werror -c c-tests/header_c11.c -o $(BIN)/header_c11.o
	@echo "header-compile: $(HEADER) compiles as C11 (-pedantic-errors) and as C++11"

$(BIN)/header_cpp: c-tests/header_cpp.cpp $(HEADER) $(LIB_SO) | $(BIN)
	$(CXX) $(CPPFLAGS) -std=c++11 -Wall -Wextra -Wpedantic -Werror $(SANFLAGS) -o $@ $< $(LDFLAGS) $(LDLIBS)

# c-tests/error_constants.c checks every ABLKAFKA_ERR_ constant of the header: the
# preprocessor lists them, so a new code of the table needs no edit there.
GEN := build/gen
$(GEN)/error_constants.inc: $(HEADER)
	@mkdir -p $(GEN)
	$(CC) -dM -E -x c $(HEADER) | sed -n 's/^#define \(ABLKAFKA_ERR_\([A-Za-z0-9_]*\)\) .*/ABLKAFKA_ERR(\1, "\2")/p' | LC_ALL=C sort >$@
$(BIN)/error_constants: $(GEN)/error_constants.inc
$(BIN)/error_constants: CPPFLAGS += -I$(GEN)

# These two load the library themselves with dlopen: no -lablkafka.
$(BIN)/dlopen_cycle $(BIN)/dlopen: LDLIBS = -ldl -pthread
$(BIN)/dlopen_cycle $(BIN)/dlopen: CPPFLAGS += -DABLKAFKA_SO='"$(abspath $(LIB_SO))"'

$(BIN):
	mkdir -p $@

# The benchmark: bench/bench.c built twice, so each process loads one library only, and
# bench/mock_cluster.c, the broker of its transactional rows.
# librdkafka: Debian's headers, the confluent-kafka wheel's newer shared library.
BENCH_CFLAGS := -O2 -g -std=c11 -Wall -Wextra -Wpedantic -Werror

bench-binaries: lib
	@$(MAKE) --no-print-directory $(BIN)/bench-ablkafka $(BIN)/bench-rdkafka $(BIN)/mock-cluster

$(BIN)/bench-ablkafka: bench/bench.c $(HEADER) $(LIB_SO) | $(BIN)
	$(CC) $(BENCH_CFLAGS) -DBENCH_ABLKAFKA -Iinclude -o $@ $< $(LDFLAGS) $(LDLIBS) -lpthread

$(BIN)/bench-rdkafka: bench/bench.c | $(BIN)
	@[ -n "$(RDKAFKA_LIB)" ] || { echo "no librdkafka from the confluent-kafka wheel: run scripts/deps.sh" >&2; exit 1; }
	$(CC) $(BENCH_CFLAGS) -DBENCH_RDKAFKA -o $@ $< $(RDKAFKA_LIB) -Wl,-rpath,$(dir $(RDKAFKA_LIB)) -lpthread

# The broker of the transactional rows: librdkafka's mock cluster in a process of its own.
$(BIN)/mock-cluster: bench/mock_cluster.c | $(BIN)
	@[ -n "$(RDKAFKA_LIB)" ] || { echo "no librdkafka from the confluent-kafka wheel: run scripts/deps.sh" >&2; exit 1; }
	@test -f /usr/include/librdkafka/rdkafka_mock.h || \
		{ echo "$@: /usr/include/librdkafka/rdkafka_mock.h missing (librdkafka-dev; run scripts/deps.sh)" >&2; exit 1; }
	$(CC) $(BENCH_CFLAGS) -o $@ $< $(RDKAFKA_LIB) -Wl,-rpath,$(dir $(RDKAFKA_LIB))

bench:
	scripts/bench.sh

bench-smoke:
	BENCH_SHORT=1 scripts/bench.sh

deps:
	scripts/deps.sh

test:
	scripts/run-tests.sh

# The quick tier: what needs at most one tansu (scripts/run-tests.sh check).
check:
	scripts/run-tests.sh check

# Every run of c-tests/manifest under one memory checker; each starts its own brokers.
test-asan:
	scripts/c-suite.sh asan

test-valgrind:
	scripts/c-suite.sh valgrind

# The library as a distribution ships it (Debian's dh_strip does the same): the shared
# library stripped of everything it does not need to run, its DWARF kept apart in
# libablkafka.so.VERSION.debug (compressed, named by a .gnu_debuglink; the build id is in
# both), and the archive without debug sections. Recursive, so the files are judged
# against the library this build just made.
DIST := build/dist
dist: lib
	@$(MAKE) --no-print-directory dist-files

dist-files: $(DIST)/libablkafka.so.$(VERSION) $(DIST)/libablkafka.a

$(DIST)/libablkafka.so.$(VERSION): $(LIB_SO)
	@mkdir -p $(DIST)
	$(OBJCOPY) --only-keep-debug --compress-debug-sections $(LIB_SO) $@.debug
	$(OBJCOPY) --strip-unneeded --remove-section=.comment --add-gnu-debuglink=$@.debug $(LIB_SO) $@

$(DIST)/libablkafka.a: $(LIB_A)
	@mkdir -p $(DIST)
	$(OBJCOPY) --strip-debug --remove-section=.comment $(LIB_A) $@

# The CMake files find the rest from their own place: paths relative to $(cmakedir).
install: dist
	$(INSTALL) -d $(DESTDIR)$(libdir) $(DESTDIR)$(includedir) $(DESTDIR)$(pkgconfigdir) \
		$(DESTDIR)$(cmakedir) $(DESTDIR)$(debugdir)
	$(INSTALL) -m 0644 $(DIST)/libablkafka.so.$(VERSION) $(DESTDIR)$(libdir)/libablkafka.so.$(VERSION)
	$(INSTALL) -m 0644 $(DIST)/libablkafka.so.$(VERSION).debug $(DESTDIR)$(debugdir)/libablkafka.so.$(VERSION).debug
	ln -sfn libablkafka.so.$(VERSION) $(DESTDIR)$(libdir)/$(SONAME)
	ln -sfn $(SONAME) $(DESTDIR)$(libdir)/libablkafka.so
	$(INSTALL) -m 0644 $(DIST)/libablkafka.a $(DESTDIR)$(libdir)/libablkafka.a
	$(INSTALL) -m 0644 $(HEADER) $(DESTDIR)$(includedir)/ablkafka.h
	sed -e 's|@PREFIX@|$(prefix)|' -e 's|@LIBDIR@|$(libdir)|' -e 's|@INCLUDEDIR@|$(includedir)|' \
		-e 's|@VERSION@|$(VERSION)|' ablkafka.pc.in > $(DESTDIR)$(pkgconfigdir)/ablkafka.pc
	chmod 0644 $(DESTDIR)$(pkgconfigdir)/ablkafka.pc
	for f in ablkafkaConfig ablkafkaConfigVersion; do \
		sed -e 's|@LIBDIR_FROM_CMAKEDIR@|$(shell realpath -m --relative-to=$(cmakedir) $(libdir))|' \
			-e 's|@INCLUDEDIR_FROM_CMAKEDIR@|$(shell realpath -m --relative-to=$(cmakedir) $(includedir))|' \
			-e 's|@SONAME@|$(SONAME)|' -e 's|@VERSION@|$(VERSION)|' \
			-e 's|@VERSION_MAJOR@|$(word 1,$(VERSION_WORDS))|' -e 's|@VERSION_MINOR@|$(word 2,$(VERSION_WORDS))|' \
			cmake/$$f.cmake.in > $(DESTDIR)$(cmakedir)/$$f.cmake && chmod 0644 $(DESTDIR)$(cmakedir)/$$f.cmake || exit 1; \
	done

deb:
	scripts/deb.sh

fuzz:
	scripts/fuzz.sh

demo:
	scripts/demo.sh

clean:
	rm -rf build

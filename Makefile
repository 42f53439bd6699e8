# ablkafka: build, C tests against a real broker (tansu), and the demo.
#
#   make lib            cargo build --release (libablkafka.so, libablkafka.a, include/ablkafka.h)
#   make header-check   the committed include/ablkafka.h matches what the build generates
#   make ctests         compile c-tests/ and examples-c/ against include/ and target/release
#   make test           everything: deps, cargo test, header check, C tests against tansu,
#                       read-back by an independent consumer; ends with "N passed, N failed"
#   make demo           deps, build, start tansu, send with every codec, print receipts,
#                       read the topics back
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
HEADER := include/ablkafka.h
BIN := build/bin

CC ?= cc
CFLAGS ?= -O1 -g
CFLAGS += -std=c11 -Wall -Wextra -Wpedantic -Werror
CPPFLAGS += -Iinclude -Ic-tests
LDFLAGS += -L$(LIBDIR) -Wl,-rpath,$(abspath $(LIBDIR))
LDLIBS += -lablkafka

CTESTS := roundtrip receipts dead_broker errors
EXAMPLES := basic demo
CTEST_BINS := $(addprefix $(BIN)/,$(CTESTS))
EXAMPLE_BINS := $(addprefix $(BIN)/,$(EXAMPLES))

.PHONY: all lib header-check ctests c-binaries test demo deps clean bench bench-smoke bench-binaries

all: lib

lib:
	$(CARGO) build --release

# After the build (which regenerates the header), the committed header must be unchanged.
header-check: lib
	@git ls-files --error-unmatch $(HEADER) >/dev/null 2>&1 || \
		{ echo "header-check: $(HEADER) is not committed" >&2; exit 1; }
	@git diff --exit-code -- $(HEADER) || \
		{ echo "header-check: $(HEADER) is stale: commit the regenerated header" >&2; exit 1; }
	@echo "header-check: $(HEADER) is up to date"

# Recursive, so the binaries are judged against the library this build just made.
ctests: lib
	@$(MAKE) --no-print-directory c-binaries

c-binaries: $(CTEST_BINS) $(EXAMPLE_BINS)
	@echo "ctests: $(CTESTS) $(EXAMPLES) are built in $(BIN)"

$(BIN)/%: c-tests/%.c c-tests/check.h c-tests/common.h $(HEADER) $(LIB_SO) | $(BIN)
	$(CC) $(CPPFLAGS) $(CFLAGS) -o $@ $< $(LDFLAGS) $(LDLIBS)

$(BIN)/%: examples-c/%.c $(HEADER) $(LIB_SO) | $(BIN)
	$(CC) $(CPPFLAGS) $(CFLAGS) -o $@ $< $(LDFLAGS) $(LDLIBS)

$(BIN):
	mkdir -p $@

# The benchmark: bench/bench.c built twice, so each process loads one library only.
# librdkafka: Debian's headers, the confluent-kafka wheel's newer shared library.
BENCH_CFLAGS := -O2 -g -std=c11 -Wall -Wextra -Wpedantic -Werror
RDKAFKA_LIB ?= $(shell . scripts/env.sh && echo "$$RDKAFKA_LIB")

bench-binaries: lib
	@$(MAKE) --no-print-directory $(BIN)/bench-ablkafka $(BIN)/bench-rdkafka

$(BIN)/bench-ablkafka: bench/bench.c $(HEADER) $(LIB_SO) | $(BIN)
	$(CC) $(BENCH_CFLAGS) -DBENCH_ABLKAFKA -Iinclude -o $@ $< $(LDFLAGS) $(LDLIBS) -lpthread

$(BIN)/bench-rdkafka: bench/bench.c | $(BIN)
	@[ -n "$(RDKAFKA_LIB)" ] || { echo "no librdkafka from the confluent-kafka wheel: run scripts/deps.sh" >&2; exit 1; }
	$(CC) $(BENCH_CFLAGS) -DBENCH_RDKAFKA -o $@ $< $(RDKAFKA_LIB) -Wl,-rpath,$(dir $(RDKAFKA_LIB)) -lpthread

bench:
	scripts/bench.sh

bench-smoke:
	BENCH_SHORT=1 scripts/bench.sh

deps:
	scripts/deps.sh

test:
	scripts/run-tests.sh

demo:
	scripts/demo.sh

clean:
	rm -rf build

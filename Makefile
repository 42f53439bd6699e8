# ablkafka: build, C tests against a real broker (tansu), and the demo.
#
#   make lib            cargo build --release (libablkafka.so, libablkafka.a, include/ablkafka.h)
#   make header-check   the committed include/ablkafka.h matches what the build generates
#   make ctests         compile c-tests/ and examples-c/ against include/ and target/release
#   make test           everything: deps, cargo test, header check, C tests against tansu,
#                       read-back by an independent consumer; ends with "N passed, N failed"
#   make demo           deps, build, start tansu, send with every codec, print receipts,
#                       read the topics back
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

CTESTS := roundtrip receipts dead_broker errors tansu_restart
EXAMPLES := basic demo
CTEST_BINS := $(addprefix $(BIN)/,$(CTESTS))
EXAMPLE_BINS := $(addprefix $(BIN)/,$(EXAMPLES))

# The fault tests run librdkafka's mock cluster in-process: Debian's librdkafka-dev headers,
# linked against the newer librdkafka inside the confluent-kafka wheel (scripts/env.sh finds
# it once scripts/deps.sh has made the venv).
RDKAFKA_LIB ?= $(shell . scripts/env.sh >/dev/null 2>&1; echo "$$RDKAFKA_LIB")
MOCK_TESTS := mock_faults
MOCK_BINS := $(addprefix $(BIN)/,$(MOCK_TESTS))

.PHONY: all lib header-check ctests c-binaries test demo deps clean

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

c-binaries: $(CTEST_BINS) $(EXAMPLE_BINS) $(MOCK_BINS)
	@echo "ctests: $(CTESTS) $(MOCK_TESTS) $(EXAMPLES) are built in $(BIN)"

$(BIN)/%: c-tests/%.c c-tests/check.h c-tests/common.h $(HEADER) $(LIB_SO) | $(BIN)
	$(CC) $(CPPFLAGS) $(CFLAGS) -o $@ $< $(LDFLAGS) $(LDLIBS)

$(MOCK_BINS): $(BIN)/%: c-tests/%.c c-tests/mock.h c-tests/check.h c-tests/common.h $(HEADER) $(LIB_SO) | $(BIN)
	@test -n "$(RDKAFKA_LIB)" && test -f "$(RDKAFKA_LIB)" || \
		{ echo "$@: librdkafka from the confluent-kafka wheel not found (run scripts/deps.sh)" >&2; exit 1; }
	@test -f /usr/include/librdkafka/rdkafka_mock.h || \
		{ echo "$@: /usr/include/librdkafka/rdkafka_mock.h missing (librdkafka-dev; run scripts/deps.sh)" >&2; exit 1; }
	$(CC) $(CPPFLAGS) $(CFLAGS) -o $@ $< $(LDFLAGS) $(LDLIBS) "$(RDKAFKA_LIB)" -Wl,-rpath,"$(dir $(RDKAFKA_LIB))"

$(BIN)/%: examples-c/%.c $(HEADER) $(LIB_SO) | $(BIN)
	$(CC) $(CPPFLAGS) $(CFLAGS) -o $@ $< $(LDFLAGS) $(LDLIBS)

$(BIN):
	mkdir -p $@

deps:
	scripts/deps.sh

test:
	scripts/run-tests.sh

demo:
	scripts/demo.sh

clean:
	rm -rf build

# shellcheck shell=bash
# Sourced by the other scripts and by the Makefile's recipes: where the test tools live.
#
# Everything that is installed for tests and the demo (the tansu broker, the Python
# virtual environment with confluent-kafka) goes into a cache outside the checkout,
# so a fresh clone (CI) reuses what an earlier run installed.
#
# Sourcing this file must succeed under `set -euo pipefail` whatever is (not yet)
# installed: every script sources it before scripts/deps.sh has installed anything.
# `make test` checks that with an empty cache (scripts/setup-check.sh).

ABLKAFKA_CACHE="${ABLKAFKA_CACHE:-$HOME/.cache/ablkafka}"

# The library's version, read once from Cargo.toml (the Makefile, the version test and
# install-check.sh compare against it).
ABLKAFKA_VERSION="$(sed -n 's/^version = "\(.*\)"/\1/p' "$(dirname "${BASH_SOURCE[0]}")/../Cargo.toml" | head -n 1)"
export ABLKAFKA_VERSION
# The ABI number in the SONAME (libablkafka.so.ABI), by Cargo's compatibility rule as
# build.rs sets it: the major, or 0.minor while the major is 0.
ABLKAFKA_ABI="${ABLKAFKA_VERSION%%.*}"
if [ "$ABLKAFKA_ABI" = 0 ]; then
    ABLKAFKA_ABI="$(echo "$ABLKAFKA_VERSION" | cut -d. -f1-2)"
fi
export ABLKAFKA_ABI

# tansu, the Kafka-compatible broker the tests run against.
TANSU_VERSION="${TANSU_VERSION:-0.6.0}"
# sqlite storage (libsql) keeps SASL users across the restart that turns authentication on.
TANSU_FEATURES="${TANSU_FEATURES:-dynostore,libsql}"
TANSU_ROOT="${TANSU_ROOT:-$ABLKAFKA_CACHE/tansu-sqlite}"
TANSU_BIN="${TANSU_BIN:-$TANSU_ROOT/bin/tansu}"
TANSU_INSTALL_LOG="${TANSU_INSTALL_LOG:-$ABLKAFKA_CACHE/tansu-install.log}"

# The independent consumer: confluent-kafka 2.16.1 bundles librdkafka 2.16.
CONFLUENT_KAFKA_VERSION="${CONFLUENT_KAFKA_VERSION:-2.16.1}"
VENV_DIR="${VENV_DIR:-$ABLKAFKA_CACHE/venv}"
VENV_PYTHON="$VENV_DIR/bin/python"

export ABLKAFKA_CACHE TANSU_VERSION TANSU_FEATURES TANSU_ROOT TANSU_BIN TANSU_INSTALL_LOG
export CONFLUENT_KAFKA_VERSION VENV_DIR VENV_PYTHON

# librdkafka for the C side of the fault tests and the benchmark: the headers from Debian's
# librdkafka-dev (2.0.2; its rdkafka.h and rdkafka_mock.h API is a subset of 2.16's) and
# the newer shared library inside the confluent-kafka wheel (Debian's 2.0.2 cannot
# talk to tansu). Link with "$RDKAFKA_LIB" -Wl,-rpath,"$(dirname "$RDKAFKA_LIB")".
# Empty until scripts/deps.sh has made the venv: a glob that matches nothing stays
# unexpanded, so only an existing file is taken (no command here may fail).
RDKAFKA_LIB=""
for candidate in "$VENV_DIR"/lib/python3*/site-packages/confluent_kafka.libs/librdkafka-*.so.1; do
    if [ -f "$candidate" ]; then
        RDKAFKA_LIB="$candidate"
        break
    fi
done
unset candidate
export RDKAFKA_LIB

#!/usr/bin/env bash
# Every run of c-tests/manifest under a memory checker:
#
#   scripts/c-suite.sh asan [BROKER_DIR]       the programs built with
#                                              -fsanitize=address,undefined (make ctests
#                                              SAN=asan: build/asan/bin), linked with the
#                                              release libablkafka.so, leak check on
#   scripts/c-suite.sh valgrind [BROKER_DIR]   build/bin under valgrind memcheck
#
# with the smaller counts the manifest gives, and without the lines it says cannot run
# under that checker (it says why). It starts what the runs need: a tansu (unless
# BROKER_DIR is one already running: make test passes its own), a tansu of their own for
# the lines that want one, and the TLS and SASL endpoints (scripts/secure-brokers.sh).
# What a verify line reads back, scripts/verify.py reads as in make test. Ends with
# "N passed, N failed" (the sum over its runs); the exit status is non-zero if anything
# failed. What counts as a checker's report, and the suppressions: scripts/manifest.sh.
#
# The Rust library itself is not instrumented (stable Rust has no -Zsanitizer), but
# ASan and valgrind replace malloc and free for the whole process, so the library's heap
# use is checked as well: use after free, double free, overflow into a redzone, leaks.
set -euo pipefail

# shellcheck source=scripts/harness.sh
. "$(dirname "${BASH_SOURCE[0]}")/harness.sh"
# shellcheck source=scripts/manifest.sh
. scripts/manifest.sh

mode="${1:-}"
broker_dir="${2:-}"
case "$mode" in
    asan) build=(make --no-print-directory ctests SAN=asan) ;;
    valgrind) build=(make --no-print-directory ctests) ;;
    *)
        echo "usage: $0 asan|valgrind [BROKER_DIR]" >&2
        exit 2
        ;;
esac
scratch="$root/build/c-suite-$mode"
LOGS="$scratch/logs"
rm -rf "$scratch"
mkdir -p "$LOGS"

ON_ERROR_HINT="the C programs did not build for $mode: read the compiler's messages above"
"${build[@]}" >/dev/null
if [ "$mode" = valgrind ] && ! command -v valgrind >/dev/null; then
    echo "c-suite: valgrind is not installed (scripts/deps.sh)" >&2
    exit 1
fi

ON_ERROR_HINT="tansu did not start: read $scratch/broker/tansu.log"
if [ -n "$broker_dir" ]; then
    TANSU_DIR="$broker_dir"
else
    TANSU_DIR="$scratch/broker"
    start_broker "$TANSU_DIR"
fi
ON_ERROR_HINT="read the logs under $LOGS"
kinds=(none tansu own secure)
SECURE_DIR="$scratch/secure"
if ! start_secure_brokers "$SECURE_DIR"; then
    echo "c-suite: the TLS and SASL endpoints did not start; the end of $SECURE_DIR.log:" >&2
    tail -n 30 "$SECURE_DIR.log" >&2
    record "TLS and SASL endpoints" 0 1
    kinds=(none tansu own)
fi

# Topic names carry the mode and pid: make test's tansu has the plain runs' topics.
MANIFEST_SCRATCH="$scratch"
MANIFEST_PREFIX="$mode-$$-"
QUIET_RUNS=25
run_manifest "$mode" "${kinds[@]}"

SUMMARY_TITLE="C suite under $mode"
finish

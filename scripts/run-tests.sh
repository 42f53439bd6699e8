#!/usr/bin/env bash
# `make test`: every suite, with one closing line "N passed, N failed" that sums them;
# `make check` (the argument `check`): the quick tier, steps 1 to 4 without the set-up
# check. Exit status is non-zero if anything failed.
#
#   1. scripts/deps.sh (Debian packages, tansu, the venv with confluent-kafka); then
#      scripts/setup-check.sh (the set-up scripts' start with an empty cache)
#   2. shellcheck over scripts/*.sh and .ci/run, cargo fmt --check, cargo clippy
#      --all-targets -D warnings, no new import cycle between the library's files
#      (scripts/import_cycles.py), no library file over 500 lines (scripts/file_sizes.py),
#      the library checked for Windows
#      (scripts/windows-check.sh: cargo check --target x86_64-pc-windows-gnu), cargo test
#      --release
#   3. make header-check (the committed include/ablkafka.h is what the build generates),
#      the ABI against abi/<SONAME>.abi (scripts/abi-check.sh, abidiff),
#      make ctests (c-tests/ and examples-c/, -Werror), the header as C11 and C++11
#   4. tansu on a free loopback port, and every line of c-tests/manifest that needs no
#      broker or only that one: each C test, read back by scripts/verify.py where it
#      writes what it sent (every codec, headers and timestamps, per-topic options,
#      receipt-less sends, a million Responses, threads), librdkafka's mock cluster
#      in-process one case at a time, an idempotent roundtrip against tansu's sequence
#      checks, the examples, fork and dlopen/dlclose
#   5. the manifest's lines with a tansu of their own: killed mid-stream and started
#      again on the same port; frozen (SIGSTOP), then restarted empty or written into
#   6. Produce answers garbled by a proxy, or refusing records with the broker's texts
#      (scripts/garbled-answers.sh); TLS and SASL
#      through stunnel and sqlite-backed tansu (scripts/secure-suite.sh, which also runs
#      the manifest's lines for those endpoints)
#   7. option values against librdkafka's (scripts/conf_agreement.py),
#      client.software.name/.version in ApiVersions v3 (scripts/client_software_check.py),
#      the statistics snapshot against librdkafka's (scripts/stats_check.py), throttled
#      Produce answers held back (scripts/throttle_check.py, a proxy and a tansu of its own), a
#      transaction on tansu (scripts/txn_tansu_check.py), the
#      ABL-style ctypes test (read back), make install + pkg-config + CMake + exported
#      symbols and their versions + stripping and the debug file (scripts/install-check.sh),
#      the Debian packages: make deb, lintian, installed into a scratch root, built
#      against, run and purged (scripts/deb-check.sh)
#   8. every line of the manifest again under ASan+UBSan and under valgrind
#      (scripts/c-suite.sh), but the few it says cannot run there, and why
#   9. the benchmark in its short mode (BENCH_SHORT=1 scripts/bench.sh, its own broker):
#      every workload once per library with small counts; checks that both deliver
#      every message; no assertion on speed
# The brokers are stopped on exit, also on failure or interrupt. Each suite's log is in
# build/test/logs.
set -euo pipefail

# shellcheck source=scripts/harness.sh
. "$(dirname "${BASH_SOURCE[0]}")/harness.sh"
# shellcheck source=scripts/manifest.sh
. scripts/manifest.sh

tier="${1:-all}"
case "$tier" in
    all | check) ;;
    *)
        echo "usage: $0 [check]" >&2
        exit 2
        ;;
esac
scratch="$root/build/test"
LOGS="$scratch/logs"
rm -rf "$scratch"
mkdir -p "$LOGS"

banner "dependencies"
ON_ERROR_HINT="installing the test tools failed: read the deps: lines above"
scripts/deps.sh
# Again: on a fresh machine the venv (and the librdkafka in it, RDKAFKA_LIB) exists only
# now, and the sub-makes below take RDKAFKA_LIB from this environment.
# shellcheck source=scripts/env.sh
. scripts/env.sh
ON_ERROR_HINT="read the log of the suite that was running, under $LOGS"

# ---------------------------------------------------------------- the scripts, Rust
if [ "$tier" = all ]; then
    # A fresh machine's start (empty cache) in seconds.
    run_counted "setup check (empty cache)" scripts/setup-check.sh
fi
run_one "shellcheck" shellcheck scripts/*.sh .ci/run || true
run_one "cargo fmt --check" cargo fmt --check || true
run_one "cargo clippy -D warnings" cargo clippy --all-targets -- -D warnings || true
# No import cycle between files beyond the listed ones, which may only shrink (issue 22).
run_counted "import cycles" python3 scripts/import_cycles.py --allow scripts/import_cycles.allow src
# No library file over 500 lines before its tests (issue 22).
run_counted "file sizes" python3 scripts/file_sizes.py src
# The Unix-only parts are gated: the rest compiles for Windows (checked, not linked or run).
run_counted "Windows cargo check" scripts/windows-check.sh

banner "cargo test --release"
run_logged "$LOGS/cargo-test.log" 3600 cargo test --release
read -r p f < <(awk '/^test result:/ {
        for (i = 1; i <= NF; i++) { if ($(i+1) ~ /^passed/) p += $i; if ($(i+1) ~ /^failed/) f += $i }
    } END { print p + 0, f + 0 }' "$LOGS/cargo-test.log")
if ((status != 0 && f == 0)); then f=$((f + 1)); fi
record "cargo test" "$p" "$f"

# ---------------------------------------------------------------- header, C build
run_one "header-check" make --no-print-directory header-check || true
# The header's types and the symbols' versions against the committed baseline (abidiff).
run_counted "ABI check" scripts/abi-check.sh
if ! run_one "build C tests" make --no-print-directory ctests; then
    echo "the C tests do not build; skipping the broker tests" >&2
    finish
fi
run_one "header as C11 and C++11" make --no-print-directory header-compile || true

# ---------------------------------------------------------------- the C programs, one tansu
banner "tansu"
ON_ERROR_HINT="tansu did not start: read $scratch/broker/tansu.log"
TANSU_DIR="$scratch/broker"
start_broker "$TANSU_DIR"
brokers="$(scripts/broker.sh address "$TANSU_DIR")"
ON_ERROR_HINT="read the log of the suite that was running, under $LOGS"
MANIFEST_SCRATCH="$scratch"
run_manifest plain none tansu
if [ "$tier" = check ]; then finish; fi

# ---------------------------------------------------------------- delivery under faults
run_manifest plain own
# Produce answers garbled or mismatched by a proxy in front of tansu: lost answers, retried;
# then answers refusing records (v8 record errors): each Response's code and message.
run_counted "garbled answers" scripts/garbled-answers.sh

# ---------------------------------------------------------------- TLS and SASL
# tansu behind stunnel, sqlite-backed tansu with SCRAM users (scripts/secure-brokers.sh):
# every codec over ssl, mutual TLS, sasl_plaintext and sasl_ssl read back by librdkafka
# over the same protocol; each refusal with its code; redaction; KIP-368 renewal; the
# ABL-style test and the C example over sasl_ssl.
TEST_TIMEOUT_S=600 run_counted "TLS and SASL" scripts/secure-suite.sh

# ---------------------------------------------------------------- embedding, from Python
lib_so="$root/target/release/libablkafka.so"
for spec in abl:3 install:1 deb:1 client-software:1 stats:3 txn-tansu:3; do
    scripts/broker.sh topic "$TANSU_DIR" "${spec%:*}" "${spec#*:}"
done
# Every property of librdkafka's own list: its README status, its values and its
# configuration warnings against librdkafka's (issue 13).
run_counted "option values vs librdkafka" "$VENV_PYTHON" scripts/conf_agreement.py "$lib_so" "$RDKAFKA_LIB"
# KIP-511: the name and version reach tansu in ApiVersions v3, and tansu answers it.
run_counted "client software name" "$VENV_PYTHON" scripts/client_software_check.py "$lib_so" "$brokers" client-software
# statistics.interval.ms: the snapshot's counts after 10,000 records, and its key paths
# and JSON types against librdkafka's own snapshot of the same workload (issue 15).
run_counted "statistics" "$VENV_PYTHON" scripts/stats_check.py "$lib_so" "$brokers" stats
# KIP-219: Produce answers throttled by a proxy in front of a tansu of its own; requests
# held back, nothing timed out, the statistics' throttle window, THROTTLE lines (issue 24).
run_counted "throttling" "$VENV_PYTHON" scripts/throttle_check.py "$lib_so" "$scratch/throttle"
# A transaction on tansu, which has no EndTxn: records stored with the transactional bit
# (read back raw), the commit refused with -165 within its timeout (issue 23).
run_counted "transactions on tansu" "$VENV_PYTHON" scripts/txn_tansu_check.py "$lib_so" "$brokers" txn-tansu
# examples-abl/transactional.p's calls, ABL-style, on librdkafka's mock cluster.
run_counted "abl transactions" "$VENV_PYTHON" c-tests/abl_ctypes.py --transactions "$lib_so" "$RDKAFKA_LIB"
ABL_EXPECT="$scratch/expect-abl.txt" run_counted "abl ctypes" "$VENV_PYTHON" c-tests/abl_ctypes.py "$lib_so" "$brokers" abl 500
if [ -s "$scratch/expect-abl.txt" ]; then
    run_one "verify abl" "$VENV_PYTHON" scripts/verify.py \
        --brokers "$brokers" --topic abl --expect "$scratch/expect-abl.txt" --codec lz4 || true
else
    record "verify abl" 0 1
fi
run_counted "install + exports" scripts/install-check.sh "$brokers" install
# make deb, lintian, dpkg --root: installed, built against, run, purged (lintian: a minute).
TEST_TIMEOUT_S=900 run_counted "Debian packages" scripts/deb-check.sh "$brokers" deb

# ---------------------------------------------------------------- memory checkers
TEST_TIMEOUT_S=2400 run_counted "C suite, ASan+UBSan" scripts/c-suite.sh asan "$TANSU_DIR"
TEST_TIMEOUT_S=2400 run_counted "C suite, valgrind" scripts/c-suite.sh valgrind "$TANSU_DIR"
# ---------------------------------------------------------------- benchmark, short mode
run_counted "bench smoke" env BENCH_SHORT=1 BENCH_OUT="$scratch/bench-smoke" scripts/bench.sh

finish

#!/usr/bin/env bash
# `make test`: every suite, against one local tansu, with one closing line
# "N passed, N failed" that sums them. Exit status is non-zero if anything failed.
#
#   1. scripts/deps.sh (Debian packages, tansu, the venv with confluent-kafka); then
#      scripts/setup-check.sh (the set-up scripts' start with an empty cache) and
#      the shell linter over scripts/*.sh and .ci/run (shellcheck)
#   2. cargo fmt --check, cargo clippy --all-targets -D warnings, no new import cycle between
#      the library's files (scripts/import_cycles.py), cargo test --release
#   3. make header-check (the committed include/ablkafka.h is what the build generates)
#   4. make ctests (c-tests/ and examples-c/, -Werror)
#   5. tansu on a free loopback port; topics; each C test; for each codec, roundtrip of
#      20,000 messages then scripts/verify.py reads them back with librdkafka and checks
#      that every stored batch carries that codec; Response handles (issue 21):
#      c-tests/response_misuse.c, legal cases and misuse, and a million Responses
#      (c-tests/responses_million.c) read back by verify.py with their partition, offset
#      and timestamp
#   6. delivery under faults (issue 3): each case of mock_faults (librdkafka's mock cluster
#      in-process, read back by a librdkafka consumer) as its own suite; an idempotent
#      roundtrip against tansu (its sequence checks) read back by verify.py; and
#      tansu_restart, plain and idempotent, each on its own tansu that it kills mid-stream
#      and starts again on the same port, read back by verify.py; a frozen broker
#      (scripts/broker.sh freeze) that is then restarted empty, or that stops reading
#      a large write (c-tests/frozen_broker.c); Produce answers garbled by a proxy
#      (scripts/garbled-answers.sh); TLS and SASL through stunnel and sqlite-backed tansu
#      (scripts/secure-suite.sh)
#   7. embedding: the header as C11 and C++11, versions agree, eight threads on one
#      producer (read back), fork, dlopen/dlclose cycles, option values against
#      librdkafka's (scripts/conf_agreement.py), client.software.name/.version seen in
#      ApiVersions v3 through a capturing proxy (scripts/client_software_check.py), the
#      statistics snapshot against librdkafka's (scripts/stats_check.py), the
#      ABL-style ctypes test (read back), make install + pkg-config + exported symbols
#      (scripts/install-check.sh)
#   8. the whole C suite again under ASan+UBSan and under valgrind (scripts/c-suite.sh)
#   9. the benchmark in its short mode (BENCH_SHORT=1 scripts/bench.sh, its own broker):
#      every workload once per library with small counts; checks that both deliver
#      every message; no assertion on speed
# The brokers are stopped on exit, also on failure or interrupt.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
# shellcheck source=scripts/env.sh
. scripts/env.sh
# shellcheck source=scripts/on-error.sh
. scripts/on-error.sh

COUNT="${ROUNDTRIP_COUNT:-20000}"
CODECS=(none gzip snappy lz4 zstd)
TEST_TIMEOUT_S="${TEST_TIMEOUT_S:-300}"
MOCK_TIMEOUT_S="${MOCK_TIMEOUT_S:-90}"
scratch="$root/build/test"
bin="$root/build/bin"

total_pass=0
total_fail=0
summary=()

record() { # record SUITE PASSED FAILED
    total_pass=$((total_pass + $2))
    total_fail=$((total_fail + $3))
    summary+=("$(printf '  %-28s %6d passed, %d failed' "$1" "$2" "$3")")
}

banner() { printf '\n==== %s\n' "$*"; }

broker_started=0
extra_brokers=()
cleanup() {
    if ((broker_started)); then
        scripts/broker.sh stop "$scratch/broker" || true
        broker_started=0
    fi
    local dir
    for dir in ${extra_brokers[@]+"${extra_brokers[@]}"}; do
        scripts/broker.sh stop "$dir" || true
    done
    extra_brokers=()
}
trap cleanup EXIT
trap 'exit 130' INT TERM

finish() {
    cleanup
    banner "summary"
    printf '%s\n' "${summary[@]}"
    echo
    echo "$total_pass passed, $total_fail failed"
    if ((total_fail > 0)); then exit 1; fi
    exit 0
}

# Runs a command that ends with its own "N passed, N failed" line; adds its counts.
# A crash, a hang (timeout) or a non-zero exit without a counted failure counts as one failure.
run_counted() { # run_counted SUITE CMD...
    local suite="$1" log rc p f line
    shift
    log="$scratch/logs/$suite.log"
    banner "$suite: $*"
    set +e
    timeout --kill-after=10 "$TEST_TIMEOUT_S" "$@" 2>&1 | tee "$log"
    rc=${PIPESTATUS[0]}
    set -e
    line="$(grep -E '^[0-9]+ passed, [0-9]+ failed$' "$log" | tail -n 1 || true)"
    if [ -n "$line" ]; then
        p="${line%% passed*}"
        f="${line#*, }"
        f="${f%% failed*}"
    else
        p=0
        f=0
    fi
    if ((rc == 124 || rc == 137)); then
        echo "$suite: TIMED OUT after ${TEST_TIMEOUT_S}s" >&2
        f=$((f + 1))
    elif ((rc != 0 && f == 0)); then
        echo "$suite: exit status $rc with no failed check counted" >&2
        f=$((f + 1))
    fi
    record "$suite" "$p" "$f"
}

# Runs a command that is one check: passes when it exits 0.
run_one() { # run_one SUITE CMD...
    local suite="$1" rc log
    shift
    log="$scratch/logs/$suite.log"
    banner "$suite: $*"
    set +e
    timeout --kill-after=10 "$TEST_TIMEOUT_S" "$@" 2>&1 | tee "$log"
    rc=${PIPESTATUS[0]}
    set -e
    if ((rc == 0)); then
        record "$suite" 1 0
    else
        echo "$suite: FAILED (exit status $rc)" >&2
        record "$suite" 0 1
    fi
    return "$rc"
}

rm -rf "$scratch"
mkdir -p "$scratch/logs"

banner "dependencies"
ON_ERROR_HINT="installing the test tools failed: read the deps: lines above"
scripts/deps.sh
# Again: on a fresh machine the venv (and the librdkafka in it, RDKAFKA_LIB) exists only
# now, and the sub-makes below take RDKAFKA_LIB from this environment.
# shellcheck source=scripts/env.sh
. scripts/env.sh
ON_ERROR_HINT="read the log of the suite that was running, under $scratch/logs"

# ---------------------------------------------------------------- the scripts themselves
# A fresh machine's start (empty cache) in seconds, and shellcheck over every script.
run_counted "setup check (empty cache)" scripts/setup-check.sh
run_one "shellcheck" shellcheck scripts/*.sh .ci/run || true

# ---------------------------------------------------------------- Rust: format, lints
run_one "cargo fmt --check" cargo fmt --check || true
run_one "cargo clippy -D warnings" cargo clippy --all-targets -- -D warnings || true
# No import cycle between files beyond the listed ones, which may only shrink (issue 22).
run_counted "import cycles" python3 scripts/import_cycles.py --allow scripts/import_cycles.allow src

# ---------------------------------------------------------------- Rust unit tests
banner "cargo test --release"
set +e
cargo test --release 2>&1 | tee "$scratch/logs/cargo-test.log"
rc=${PIPESTATUS[0]}
set -e
read -r p f < <(awk '/^test result:/ {
        for (i = 1; i <= NF; i++) { if ($(i+1) ~ /^passed/) p += $i; if ($(i+1) ~ /^failed/) f += $i }
    } END { print p + 0, f + 0 }' "$scratch/logs/cargo-test.log")
if ((rc != 0 && f == 0)); then f=$((f + 1)); fi
record "cargo test" "$p" "$f"

# ---------------------------------------------------------------- header, C build
run_one "header-check" make --no-print-directory header-check || true
if ! run_one "build C tests" make --no-print-directory ctests; then
    echo "the C tests do not build; skipping the broker tests" >&2
    finish
fi

# ---------------------------------------------------------------- broker
banner "tansu"
ON_ERROR_HINT="tansu did not start or create a topic: read $scratch/broker/tansu.log"
scripts/broker.sh start "$scratch/broker"
broker_started=1
brokers="$(scripts/broker.sh address "$scratch/broker")"
for codec in "${CODECS[@]}"; do
    scripts/broker.sh topic "$scratch/broker" "roundtrip-$codec" 3
done
scripts/broker.sh topic "$scratch/broker" receipts 3
scripts/broker.sh topic "$scratch/broker" errors 1
scripts/broker.sh topic "$scratch/broker" errors-after-bad-names 1
scripts/broker.sh topic "$scratch/broker" example 1
scripts/broker.sh topic "$scratch/broker" threads 3
scripts/broker.sh topic "$scratch/broker" fork 3
scripts/broker.sh topic "$scratch/broker" dlopen 1
scripts/broker.sh topic "$scratch/broker" abl 3
scripts/broker.sh topic "$scratch/broker" install 1
scripts/broker.sh topic "$scratch/broker" client-software 1
scripts/broker.sh topic "$scratch/broker" stats 3

# ---------------------------------------------------------------- C tests
for codec in "${CODECS[@]}"; do
    expect="$scratch/expect-$codec.txt"
    run_counted "roundtrip $codec" "$bin/roundtrip" "$brokers" "roundtrip-$codec" "$codec" "$COUNT" "$expect" 3
    if [ -s "$expect" ]; then
        run_one "verify $codec" "$VENV_PYTHON" scripts/verify.py \
            --brokers "$brokers" --topic "roundtrip-$codec" --expect "$expect" --codec "$codec" || true
    else
        echo "verify $codec: no expectation file; roundtrip did not write it" >&2
        record "verify $codec" 0 1
    fi
done
# Records with headers, timestamps and chosen partitions (RecordBuilder), every codec,
# read back by librdkafka with their headers and timestamps.
for codec in "${CODECS[@]}"; do
    expect="$scratch/expect-records-$codec.txt"
    scripts/broker.sh topic "$scratch/broker" "records-$codec" 3
    run_counted "records $codec" "$bin/records" headers "$brokers" "records-$codec" "$codec" "$expect"
    run_one "verify records $codec" "$VENV_PYTHON" scripts/verify.py \
        --brokers "$brokers" --topic "records-$codec" --expect "$expect" --codec "$codec" || true
done
scripts/broker.sh topic "$scratch/broker" records-partitions 7
run_counted "records partitions" "$bin/records" partitions "$brokers" records-partitions "$scratch/expect-records-partitions.txt"
run_one "verify records partitions" "$VENV_PYTHON" scripts/verify.py \
    --brokers "$brokers" --topic records-partitions --expect "$scratch/expect-records-partitions.txt" || true
# Per-topic configuration: each topic's codec (stored batches) and partitioner (where each
# key went), read back by librdkafka.
scripts/broker.sh topic "$scratch/broker" topic-config-a 5
scripts/broker.sh topic "$scratch/broker" topic-config-b 5
run_counted "topic config" "$bin/topic_config" "$brokers" topic-config-a topic-config-b \
    "$scratch/expect-topic-config-a.txt" "$scratch/expect-topic-config-b.txt"
run_one "verify topic config a" "$VENV_PYTHON" scripts/verify.py --brokers "$brokers" --topic topic-config-a \
    --expect "$scratch/expect-topic-config-a.txt" --codec lz4 --partitioner consistent || true
run_one "verify topic config b" "$VENV_PYTHON" scripts/verify.py --brokers "$brokers" --topic topic-config-b \
    --expect "$scratch/expect-topic-config-b.txt" --codec zstd --partitioner murmur2 || true
# Sends without a receipt: mixed with receipts (send order kept per partition), 2M
# without growing, and every one counted as failed when no broker answers.
scripts/broker.sh topic "$scratch/broker" no-receipt-mix 3
scripts/broker.sh topic "$scratch/broker" no-receipt-memory 4
run_counted "no receipt mix" "$bin/no_receipt" mix "$brokers" no-receipt-mix "$scratch/expect-no-receipt.txt"
run_one "verify no receipt mix" "$VENV_PYTHON" scripts/verify.py --brokers "$brokers" --topic no-receipt-mix \
    --expect "$scratch/expect-no-receipt.txt" --in-order --codec lz4 || true
run_counted "no receipt memory" "$bin/no_receipt" memory "$brokers" no-receipt-memory
run_counted "no receipt, no broker" "$bin/no_receipt" dead
run_counted "receipts" "$bin/receipts" "$brokers" receipts
# Response handles checked like every other handle (issue 21): the cases that are legal
# with any library, then every misuse (freed, freed twice, foreign, made up, in the
# library's own mappings, after the producer is freed, 8 threads); then a million
# Responses, half of them freed by another thread while sending, the kept receipts read
# back by librdkafka at their partition, offset and timestamp; then the misuse checks on
# 100,000 freed and kept-then-freed handles.
scripts/broker.sh topic "$scratch/broker" response-misuse 3
scripts/broker.sh topic "$scratch/broker" responses-million 4
scripts/broker.sh topic "$scratch/broker" responses-million-misuse 4
run_counted "response handles, legal" "$bin/response_misuse" valid "$brokers" response-misuse
run_counted "response handles, misuse" "$bin/response_misuse" misuse "$brokers" response-misuse
expect="$scratch/expect-responses-million.txt"
TEST_TIMEOUT_S=900 run_counted "responses million" "$bin/responses_million" "$brokers" responses-million 4 \
    "${RESPONSES_MILLION_COUNT:-1000000}" "$expect"
if [ -s "$expect" ]; then
    TEST_TIMEOUT_S=900 VERIFY_TIMEOUT_S=600 run_one "verify responses million" "$VENV_PYTHON" scripts/verify.py \
        --brokers "$brokers" --topic responses-million --expect "$expect" --partitioner consistent || true
else
    echo "verify responses million: no expectation file; responses_million did not write it" >&2
    record "verify responses million" 0 1
fi
expect="$scratch/expect-responses-million-misuse.txt"
run_counted "responses 100k, misuse" "$bin/responses_million" "$brokers" responses-million-misuse 4 \
    "${RESPONSES_MISUSE_COUNT:-100000}" "$expect" 0x21 misuse
if [ -s "$expect" ]; then
    run_one "verify responses 100k, misuse" "$VENV_PYTHON" scripts/verify.py \
        --brokers "$brokers" --topic responses-million-misuse --expect "$expect" --partitioner consistent || true
else
    record "verify responses 100k, misuse" 0 1
fi
run_counted "dead_broker" "$bin/dead_broker"
run_counted "errors" "$bin/errors" "$brokers" errors
scripts/broker.sh topic "$scratch/broker" logs 3
run_counted "logs" "$bin/logs" "$brokers" logs "$scratch"
run_one "example basic" "$bin/basic" "$brokers" example || true

# ---------------------------------------------------------------- delivery under faults
# librdkafka's mock cluster, in-process: one suite per case.
for case in $("$bin/mock_faults" list); do
    TEST_TIMEOUT_S="$MOCK_TIMEOUT_S" run_counted "mock $case" "$bin/mock_faults" "$case"
done

# Idempotent producer against tansu's sequence checks, several batches per partition in flight.
expect="$scratch/expect-idempotent.txt"
scripts/broker.sh topic "$scratch/broker" roundtrip-idempotent 3
run_counted "roundtrip idempotent" "$bin/roundtrip" "$brokers" roundtrip-idempotent lz4 "$COUNT" "$expect" 3 \
    enable.idempotence=true batch.num.messages=100
if [ -s "$expect" ]; then
    run_one "verify idempotent" "$VENV_PYTHON" scripts/verify.py \
        --brokers "$brokers" --topic roundtrip-idempotent --expect "$expect" --codec lz4 || true
else
    echo "verify idempotent: no expectation file; roundtrip did not write it" >&2
    record "verify idempotent" 0 1
fi

# Kill tansu mid-stream, start it again on the same port: each mode on a broker of its own.
for mode in plain idempotent; do
    dir="$scratch/broker-restart-$mode"
    expect="$scratch/expect-restart-$mode.txt"
    banner "tansu for the restart test ($mode)"
    extra_brokers+=("$dir")
    if ! scripts/broker.sh start "$dir" || ! scripts/broker.sh topic "$dir" restart 4; then
        echo "tansu restart $mode: could not start a broker with the topic" >&2
        record "tansu restart $mode" 0 1
        continue
    fi
    run_counted "tansu restart $mode" "$bin/tansu_restart" "$root/scripts/broker.sh" "$dir" restart 4 "$expect" "$mode"
    if [ -s "$expect" ] && [ -s "$dir/tansu.pid" ]; then
        run_one "verify restart $mode" "$VENV_PYTHON" scripts/verify.py \
            --brokers "$(scripts/broker.sh address "$dir")" --topic restart --expect "$expect" || true
    else
        echo "verify restart $mode: no expectation file or no broker; tansu_restart did not get that far" >&2
        record "verify restart $mode" 0 1
    fi
    scripts/broker.sh stop "$dir" || true
done

# A frozen broker (SIGSTOP), each case on a broker of its own (issue 16):
#   restart: batches written into it, then it is killed and started empty, handing out
#            the same producer id again: every success receipt's record must be on the
#            new broker exactly once (verify.py); 1 key (one partition) and 16 keys;
#   write:   400 records of 100 KB into it: every Response within message.timeout.ms.
#   acks0:   acks=0, linger.ms=0: what waits for it is bounded by queue.buffering.max.kbytes.
for spec in "1 200" "16 2000"; do
    read -r keys count <<<"$spec"
    dir="$scratch/broker-frozen-$keys"
    expect="$scratch/expect-frozen-$keys.txt"
    suite="frozen restart, $keys key(s)"
    banner "tansu for $suite"
    extra_brokers+=("$dir")
    if ! scripts/broker.sh start "$dir" || ! scripts/broker.sh topic "$dir" frozen 4; then
        record "$suite" 0 1
        continue
    fi
    run_counted "$suite" "$bin/frozen_broker" restart "$root/scripts/broker.sh" "$dir" frozen "$count" "$keys" "$expect"
    if [ -s "$expect" ] && [ -s "$dir/tansu.pid" ]; then
        run_one "verify $suite" "$VENV_PYTHON" scripts/verify.py \
            --brokers "$(scripts/broker.sh address "$dir")" --topic frozen --expect "$expect" || true
    else
        echo "verify $suite: no expectation file or no broker" >&2
        record "verify $suite" 0 1
    fi
    scripts/broker.sh stop "$dir" || true
done
dir="$scratch/broker-frozen-write"
extra_brokers+=("$dir")
banner "tansu for frozen write"
if scripts/broker.sh start "$dir" && scripts/broker.sh topic "$dir" frozen-write 32; then
    run_counted "frozen write" "$bin/frozen_broker" write "$root/scripts/broker.sh" "$dir" frozen-write
else
    record "frozen write" 0 1
fi
if scripts/broker.sh topic "$dir" frozen-acks0 1; then
    run_counted "frozen acks=0" "$bin/frozen_broker" acks0 "$root/scripts/broker.sh" "$dir" frozen-acks0
else
    record "frozen acks=0" 0 1
fi
scripts/broker.sh stop "$dir" || true

# Produce answers garbled or mismatched by a proxy in front of tansu: lost answers, retried.
run_counted "garbled answers" scripts/garbled-answers.sh

# ---------------------------------------------------------------- TLS and SASL
# tansu behind stunnel, sqlite-backed tansu with SCRAM users (scripts/secure-brokers.sh):
# every codec over ssl, mutual TLS, sasl_plaintext and sasl_ssl read back by librdkafka
# over the same protocol; each refusal with its code; redaction; KIP-368 renewal; the
# ABL-style test and the C example over sasl_ssl.
TEST_TIMEOUT_S=600 run_counted "TLS and SASL" scripts/secure-suite.sh "$bin/roundtrip"

# ---------------------------------------------------------------- embedding
lib_so="$root/target/release/libablkafka.so"
cargo_version="$(sed -n 's/^version = "\(.*\)"/\1/p' Cargo.toml | head -n 1)"
if run_one "header as C11 and C++11" make --no-print-directory header-compile; then
    run_counted "header from C++" "$bin/header_cpp"
fi
run_counted "version" "$bin/version" "$cargo_version"
run_counted "threads" "$bin/threads" "$brokers" threads "${THREADS_PER_THREAD:-2000}" "$scratch/expect-threads.txt"
if [ -s "$scratch/expect-threads.txt" ]; then
    run_one "verify threads" "$VENV_PYTHON" scripts/verify.py \
        --brokers "$brokers" --topic threads --expect "$scratch/expect-threads.txt" || true
else
    record "verify threads" 0 1
fi
run_counted "fork" "$bin/fork" "$brokers" fork 200
run_counted "dlopen_cycle" "$bin/dlopen_cycle" "$brokers" dlopen "$lib_so"
run_one "example dlopen" "$bin/dlopen" "$brokers" dlopen "$lib_so" || true
# Every property of librdkafka's own list: its README status, its values and its
# configuration warnings against librdkafka's (issue 13).
run_counted "option values vs librdkafka" "$VENV_PYTHON" scripts/conf_agreement.py "$lib_so" "$RDKAFKA_LIB"
# KIP-511: the name and version reach tansu in ApiVersions v3, and tansu answers it.
run_counted "client software name" "$VENV_PYTHON" scripts/client_software_check.py "$lib_so" "$brokers" client-software
# statistics.interval.ms: the snapshot's counts after 10,000 records, and its key paths
# and JSON types against librdkafka's own snapshot of the same workload (issue 15).
run_counted "statistics" "$VENV_PYTHON" scripts/stats_check.py "$lib_so" "$brokers" stats
ABL_EXPECT="$scratch/expect-abl.txt" run_counted "abl ctypes" "$VENV_PYTHON" c-tests/abl_ctypes.py "$lib_so" "$brokers" abl 500
if [ -s "$scratch/expect-abl.txt" ]; then
    run_one "verify abl" "$VENV_PYTHON" scripts/verify.py \
        --brokers "$brokers" --topic abl --expect "$scratch/expect-abl.txt" --codec lz4 || true
else
    record "verify abl" 0 1
fi
run_counted "install + exports" scripts/install-check.sh "$brokers" install

# ---------------------------------------------------------------- memory checkers
C_SUITE_BROKER_DIR="$scratch/broker" TEST_TIMEOUT_S=1200 \
    run_counted "C suite, ASan+UBSan" scripts/c-suite.sh asan "$brokers"
C_SUITE_BROKER_DIR="$scratch/broker" TEST_TIMEOUT_S=1200 \
    run_counted "C suite, valgrind" scripts/c-suite.sh valgrind "$brokers"
# ---------------------------------------------------------------- benchmark, short mode
run_counted "bench smoke" env BENCH_SHORT=1 BENCH_OUT="$scratch/bench-smoke" scripts/bench.sh

finish

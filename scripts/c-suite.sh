#!/usr/bin/env bash
# The whole C suite under a memory checker, against tansu:
#
#   scripts/c-suite.sh asan [BROKERS]       every C test and example built with
#                                           -fsanitize=address,undefined (build/c-suite-asan/bin),
#                                           linked with the release libablkafka.so, leak check on
#   scripts/c-suite.sh valgrind [BROKERS]   the normal binaries (build/bin) under valgrind
#                                           memcheck, smaller message counts
#
# Without BROKERS it starts its own tansu and stops it at the end (make test-asan,
# make test-valgrind); `make test` passes its broker. Roundtrip topics are read back
# by scripts/verify.py as in `make test`. Ends with "N passed, N failed" (the sum over
# its programs); the exit status is non-zero if anything failed.
#
# The Rust library itself is not instrumented (stable Rust has no -Zsanitizer), but
# ASan and valgrind replace malloc and free for the whole process, so the library's heap
# use is checked as well: use after free, double free, overflow into a redzone, leaks.
# Clean means: no error report, and no definite leak (valgrind --errors-for-leak-kinds=
# definite; LeakSanitizer reports only unreachable blocks). Suppressions: c-tests/lsan.supp
# and c-tests/valgrind.supp for every program, c-tests/*-fork.supp for the fork test
# only, each entry justified there.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
# shellcheck source=scripts/env.sh
. scripts/env.sh
# shellcheck source=scripts/on-error.sh
. scripts/on-error.sh

mode="${1:-}"
brokers="${2:-}"
case "$mode" in
    asan)
        ROUNDTRIP_N="${ASAN_ROUNDTRIP_COUNT:-2000}"
        THREADS_N="${ASAN_THREADS_COUNT:-500}"
        FORK_N="${ASAN_FORK_COUNT:-100}"
        RESPONSES_N="${ASAN_RESPONSES_COUNT:-20000}"
        HANDLES_N="${ASAN_HANDLES_COUNT:-4000}"
        PER_TEST_TIMEOUT_S="${ASAN_TEST_TIMEOUT_S:-300}"
        ;;
    valgrind)
        ROUNDTRIP_N="${VALGRIND_ROUNDTRIP_COUNT:-300}"
        THREADS_N="${VALGRIND_THREADS_COUNT:-50}"
        FORK_N="${VALGRIND_FORK_COUNT:-20}"
        RESPONSES_N="${VALGRIND_RESPONSES_COUNT:-20000}"
        HANDLES_N="${VALGRIND_HANDLES_COUNT:-2000}"
        PER_TEST_TIMEOUT_S="${VALGRIND_TEST_TIMEOUT_S:-300}"
        ;;
    *)
        echo "usage: $0 asan|valgrind [BROKERS]" >&2
        exit 2
        ;;
esac
CODECS=(none gzip snappy lz4 zstd)
scratch="$root/build/c-suite-$mode"
lib="$root/target/release/libablkafka.so"

total_pass=0
total_fail=0
summary=()
record() {
    total_pass=$((total_pass + $2))
    total_fail=$((total_fail + $3))
    summary+=("$(printf '  %-24s %6d passed, %d failed' "$1" "$2" "$3")")
}

broker_started=0
cleanup() {
    if ((broker_started)); then
        scripts/broker.sh stop "$scratch/broker" || true
        broker_started=0
    fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

rm -rf "$scratch"
mkdir -p "$scratch/logs"

# ---------------------------------------------------------------- build
make --no-print-directory lib >/dev/null
if [ "$mode" = asan ]; then
    bin="$scratch/bin"
    mkdir -p "$bin"
    SAN=("-fsanitize=address,undefined" -fno-sanitize-recover=all -fno-omit-frame-pointer)
    STRICT=(-O1 -g -std=c11 -Wall -Wextra -Wpedantic -Werror)
    cc_san() { # cc_san OUT SRC EXTRA...
        local out="$1" src="$2"
        shift 2
        ${CC:-cc} -Iinclude -Ic-tests "${STRICT[@]}" "${SAN[@]}" -o "$out" "$src" "$@"
    }
    LINK=(-Ltarget/release "-Wl,-rpath,$root/target/release" -lablkafka)
    for t in roundtrip receipts dead_broker errors fork version secure_errors; do cc_san "$bin/$t" "c-tests/$t.c" "${LINK[@]}"; done
    cc_san "$bin/threads" c-tests/threads.c "${LINK[@]}" -pthread
    cc_san "$bin/response_misuse" c-tests/response_misuse.c "${LINK[@]}" -pthread
    cc_san "$bin/responses_million" c-tests/responses_million.c "${LINK[@]}" -pthread
    cc_san "$bin/dlopen_cycle" c-tests/dlopen_cycle.c "-DABLKAFKA_SO=\"$lib\"" -ldl -pthread
    cc_san "$bin/basic" examples-c/basic.c "${LINK[@]}"
    cc_san "$bin/dlopen" examples-c/dlopen.c "-DABLKAFKA_SO=\"$lib\"" -ldl -pthread
    # halt on the first report; leaks checked at exit; UBSan prints where.
    export ASAN_OPTIONS="detect_leaks=1:halt_on_error=1:abort_on_error=0:exitcode=97:strict_string_checks=1:check_initialization_order=1"
    export LSAN_OPTIONS="suppressions=$root/c-tests/lsan.supp:print_suppressions=1"
    export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1:exitcode=98"
    RUN=()
else
    make --no-print-directory ctests >/dev/null
    bin="$root/build/bin"
    command -v valgrind >/dev/null || { echo "c-suite: valgrind is not installed (scripts/deps.sh)" >&2; exit 1; }
    RUN=(valgrind --tool=memcheck --quiet --error-exitcode=99 --leak-check=full
        --show-leak-kinds=definite --errors-for-leak-kinds=definite
        "--suppressions=$root/c-tests/valgrind.supp" --num-callers=30)
fi

# ---------------------------------------------------------------- broker
if [ -z "$brokers" ]; then
    scripts/broker.sh start "$scratch/broker"
    broker_started=1
    brokers="$(scripts/broker.sh address "$scratch/broker")"
    broker_dir="$scratch/broker"
else
    broker_dir="${C_SUITE_BROKER_DIR:?C_SUITE_BROKER_DIR must name the broker directory when BROKERS is given}"
fi
# Topic names carry the run's pid, so a rerun against the same broker starts empty.
prefix="$mode-$$"
topic() { scripts/broker.sh topic "$broker_dir" "$prefix-$1" "$2"; }
for codec in "${CODECS[@]}"; do topic "roundtrip-$codec" 3; done
topic receipts 3
topic errors 1
topic errors-after-bad-names 1
topic threads 3
topic fork 3
topic dlopen 1
topic example 1
topic response-misuse 3
topic responses 4
topic responses-misuse 4

# ---------------------------------------------------------------- run
EXTRA_RUN=()
# Runs one program that ends with "N passed, N failed" (or, for examples, just exits 0).
# A memory-checker report makes it exit with the checker's code: a failure even when all
# its own checks passed.
run() { # run NAME CMD...
    local name="$1" log rc p f line
    shift
    log="$scratch/logs/$name.log"
    printf '\n---- %s %s: %s\n' "$mode" "$name" "$*"
    set +e
    timeout --kill-after=10 "$PER_TEST_TIMEOUT_S" "${RUN[@]}" "${EXTRA_RUN[@]}" "$@" >"$log" 2>&1
    rc=$?
    set -e
    tail -n 25 "$log"
    line="$(grep -E '^[0-9]+ passed, [0-9]+ failed$' "$log" | tail -n 1 || true)"
    if [ -n "$line" ]; then
        p="${line%% passed*}"
        f="${line#*, }"
        f="${f%% failed*}"
    else
        p=$((rc == 0 ? 1 : 0))
        f=0
    fi
    if grep -qE '^==[0-9]+== (ERROR|WARNING): (AddressSanitizer|LeakSanitizer)|runtime error:|^==[0-9]+== [0-9,]+ bytes in [0-9,]+ blocks are definitely lost|^==[0-9]+== (Invalid|Conditional jump|Syscall param|Mismatched free)' "$log"; then
        echo "$mode $name: the memory checker reported an error (see $log)" >&2
        f=$((f + 1))
    elif ((rc == 124 || rc == 137)); then
        echo "$mode $name: TIMED OUT after ${PER_TEST_TIMEOUT_S}s" >&2
        f=$((f + 1))
    elif ((rc != 0 && f == 0)); then
        echo "$mode $name: exit status $rc with no failed check counted" >&2
        f=$((f + 1))
    fi
    record "$name" "$p" "$f"
}

# verify NAME TOPIC EXPECT [verify.py options]: reads TOPIC back with librdkafka against the
# expectation file a test wrote; one check, failed also when the file is missing or empty.
verify() {
    local name="$1" topic="$2" expect="$3"
    shift 3
    if [ -s "$expect" ] && "$VENV_PYTHON" scripts/verify.py --brokers "$brokers" --topic "$topic" \
            --expect "$expect" "$@" >"$scratch/logs/$name.log" 2>&1; then
        record "$name" 1 0
    else
        echo "$mode $name: FAILED" >&2
        tail -n 20 "$scratch/logs/$name.log" >&2 || true
        record "$name" 0 1
    fi
}

for codec in "${CODECS[@]}"; do
    expect="$scratch/expect-$codec.txt"
    run "roundtrip-$codec" "$bin/roundtrip" "$brokers" "$prefix-roundtrip-$codec" "$codec" "$ROUNDTRIP_N" "$expect" 3
    verify "verify-$codec" "$prefix-roundtrip-$codec" "$expect" --codec "$codec"
done
run receipts "$bin/receipts" "$brokers" "$prefix-receipts"
run dead_broker "$bin/dead_broker"
run errors "$bin/errors" "$brokers" "$prefix-errors"
run threads "$bin/threads" "$brokers" "$prefix-threads" "$THREADS_N"
# Response handles (issue 21): legal cases, then misuse; Responses freed by another thread
# while sending (read back by verify.py), then the misuse checks on freed handles.
run response-handles-legal "$bin/response_misuse" valid "$brokers" "$prefix-response-misuse" "$HANDLES_N"
run response-handles-misuse "$bin/response_misuse" misuse "$brokers" "$prefix-response-misuse" "$HANDLES_N"
for variant in legal misuse; do
    expect="$scratch/expect-responses-$variant.txt"
    t="$prefix-responses"
    extra=()
    if [ "$variant" = misuse ]; then
        t="$prefix-responses-misuse"
        extra=(0x21 misuse)
    fi
    run "responses-$variant" "$bin/responses_million" "$brokers" "$t" 4 "$RESPONSES_N" "$expect" ${extra[@]+"${extra[@]}"}
    verify "verify-responses-$variant" "$t" "$expect" --partitioner consistent
done
# fork's children hold a copy of the parent producer's thread memory without the thread:
# that test alone adds the suppressions that say so (c-tests/*-fork.supp).
EXTRA_RUN=()
if [ "$mode" = asan ]; then
    ASAN_OPTIONS="$ASAN_OPTIONS:fast_unwind_on_malloc=0:malloc_context_size=100" \
        LSAN_OPTIONS="suppressions=$root/c-tests/lsan-fork.supp:print_suppressions=1" \
        run fork "$bin/fork" "$brokers" "$prefix-fork" "$FORK_N"
else
    EXTRA_RUN=("--suppressions=$root/c-tests/valgrind-fork.supp")
    run fork "$bin/fork" "$brokers" "$prefix-fork" "$FORK_N"
    EXTRA_RUN=()
fi
run dlopen_cycle "$bin/dlopen_cycle" "$brokers" "$prefix-dlopen" "$lib"
# Secrets redacted, and a TLS configuration refused at build (rustls and the key parsers
# under the checker; the TLS round trips are in scripts/secure-suite.sh).
run secure_errors-redaction "$bin/secure_errors" redaction
run version "$bin/version" "$(sed -n 's/^version = "\(.*\)"/\1/p' Cargo.toml | head -n 1)"
run example-basic "$bin/basic" "$brokers" "$prefix-example"
run example-dlopen "$bin/dlopen" "$brokers" "$prefix-example" "$lib"

cleanup
printf '\n==== C suite under %s\n' "$mode"
printf '%s\n' "${summary[@]}"
echo
echo "$total_pass passed, $total_fail failed"
((total_fail == 0))

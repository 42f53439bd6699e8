#!/usr/bin/env bash
# Profiles one benchmark run of one library with perf, sampling only its measured phase.
#
#   scripts/bench-profile.sh LIB [key=value ...]
#     LIB: ablkafka or rdkafka; key=value as bench/bench.c takes them (mode, count, size,
#     codec, linger, rate, txn_size); default: the 100 B uncompressed workload, 2M messages.
#   PROFILE_CALLGRAPH=1   record call graphs (dwarf; bigger, slower)
#   PROFILE_OUT=DIR       where perf.data and the reports go (default build/profile)
#
# Starts its own tansu broker (stopped at the end; for mode=txn, librdkafka's mock cluster,
# build/bin/mock-cluster, since tansu cannot commit), creates a topic, runs
# `perf record -e cpu-clock` (these VMs have no hardware counters) around the bench binary,
# and prints the top symbols per thread and per library. Needs perf (linux-perf) and the
# bench binaries (make bench-binaries).
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
# shellcheck source=scripts/env.sh
. scripts/env.sh
# shellcheck source=scripts/on-error.sh
. scripts/on-error.sh

[ $# -ge 1 ] || { echo "usage: $0 ablkafka|rdkafka [key=value ...]" >&2; exit 2; }
lib="$1"
shift
exe="build/bin/bench-$lib"
[ -x "$exe" ] || { echo "$exe is missing: make bench-binaries" >&2; exit 1; }
command -v perf >/dev/null || { echo "perf is missing: apt-get install linux-perf" >&2; exit 1; }

out="$(mkdir -p "${PROFILE_OUT:-build/profile}" && cd "${PROFILE_OUT:-build/profile}" && pwd)"
broker="$out/broker"
topic="profile-$lib-$$"
mock_pid=""
cleanup() {
    rm -f "$out/ctl" "$out/ack"
    if [ -n "$mock_pid" ]; then
        exec 8>&- 9<&- # the mock cluster stops when its stdin closes
        wait "$mock_pid" 2>/dev/null || true
    else
        scripts/broker.sh stop "$broker" >/dev/null 2>&1 || true
    fi
}
trap cleanup EXIT
if [[ " $* " == *" mode=txn "* ]]; then
    [ -x build/bin/mock-cluster ] || { echo "build/bin/mock-cluster is missing: make bench-binaries" >&2; exit 1; }
    rm -f "$out/mock-in" "$out/mock-out"
    mkfifo "$out/mock-in" "$out/mock-out"
    build/bin/mock-cluster 3 <"$out/mock-in" >"$out/mock-out" &
    mock_pid=$!
    exec 8>"$out/mock-in" 9<"$out/mock-out"
    rm -f "$out/mock-in" "$out/mock-out"
    read -r addr <&9
    echo "topic $topic ${BENCH_PARTITIONS:-4}" >&8
    read -r answer <&9
    [ "$answer" = "ok $topic" ] || { echo "mock-cluster: $answer" >&2; exit 1; }
else
    scripts/broker.sh start "$broker"
    addr="$(scripts/broker.sh address "$broker")"
    scripts/broker.sh topic "$broker" "$topic" "${BENCH_PARTITIONS:-4}"
fi

rm -f "$out/ctl" "$out/ack"
mkfifo "$out/ctl" "$out/ack"
graph=()
[ "${PROFILE_CALLGRAPH:-0}" = 1 ] && graph=(--call-graph "dwarf,16384")
args=(count=2000000 "$@")
[[ " $* " == *" mode=paused "* ]] && args+=("pause_pid=$(cat "$broker/tansu.pid")")
BENCH_PERF_CTL="$out/ctl" BENCH_PERF_ACK="$out/ack" \
    perf record -q -e cpu-clock -F 4999 "${graph[@]}" -D -1 --control "fifo:$out/ctl,$out/ack" \
    -o "$out/perf-$lib.data" -- "$exe" "brokers=$addr" "topic=$topic" "${args[@]}" | tee "$out/result-$lib.txt"

echo
echo "== $lib: samples by thread and library (measured phase only)"
perf report -i "$out/perf-$lib.data" --no-children --sort comm,dso --stdio 2>/dev/null |
    grep -vE '^(#|$)' >"$out/threads-$lib.txt" || true
head -n 15 "$out/threads-$lib.txt"
echo
echo "== $lib: top symbols (self time)"
# Whole reports to files first: `head` closing a pipe early would fail the script (pipefail).
perf report -i "$out/perf-$lib.data" --no-children --sort comm,dso,symbol --stdio -g none 2>/dev/null |
    grep -vE '^(#|$)' >"$out/symbols-$lib.txt" || true
head -n "${PROFILE_TOP:-40}" "$out/symbols-$lib.txt" | tee "$out/top-$lib.txt"
echo
echo "perf data: $out/perf-$lib.data (perf report -i ...)"

#!/usr/bin/env bash
# Compares two builds of libablkafka on one workload: A B, B A, ... against one tansu.
#
#   scripts/bench-ab.sh DIR_A DIR_B ROUNDS [key=value ...]
#     DIR_A, DIR_B: directories each holding a libablkafka.so.0.1 (copy one build there,
#     e.g. `cp target/release/libablkafka.so /tmp/a/libablkafka.so.0.1`);
#     key=value: as bench/bench.c takes them (default: the 100 B workload, 2M messages).
#
# Each run loads its build through LD_LIBRARY_PATH (build/bin/bench-ablkafka's RUNPATH
# comes after it), on a fresh 4-partition topic that is deleted afterwards. Prints one
# line per run: which build, msgs/s, CPU µs/msg, user and system seconds, p50, p99 and
# peak RSS.
# For a change's effect on ablkafka alone; `make bench` is the comparison with librdkafka.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
# shellcheck source=scripts/env.sh
. scripts/env.sh
# shellcheck source=scripts/on-error.sh
. scripts/on-error.sh

[ $# -ge 3 ] || { echo "usage: $0 DIR_A DIR_B ROUNDS [key=value ...]" >&2; exit 2; }
dir_a="$(cd "$1" && pwd)" dir_b="$(cd "$2" && pwd)" rounds="$3"
shift 3
for d in "$dir_a" "$dir_b"; do
    [ -f "$d/libablkafka.so.0.1" ] || { echo "$d has no libablkafka.so.0.1" >&2; exit 1; }
done
exe=build/bin/bench-ablkafka
[ -x "$exe" ] || { echo "$exe is missing: make bench-binaries" >&2; exit 1; }

broker=build/bench-ab/broker
trap 'scripts/broker.sh stop "$broker" >/dev/null 2>&1 || true' EXIT
scripts/broker.sh start "$broker" >/dev/null
addr="$(scripts/broker.sh address "$broker")"

for ((r = 1; r <= rounds; r++)); do
    order="A B"
    ((r % 2 == 0)) && order="B A"
    for v in $order; do
        dir="$dir_a"
        [ "$v" = B ] && dir="$dir_b"
        topic="ab-$v-$r-$$"
        scripts/broker.sh topic "$broker" "$topic" 4 >/dev/null
        result="$(LD_LIBRARY_PATH="$dir" "$exe" "brokers=$addr" "topic=$topic" count=2000000 "$@")"
        echo "$v round $r: $(grep -o 'msgs_per_s=[0-9]*\|cpu_us_per_msg=[0-9.]*\|user_s=[0-9.]*\|sys_s=[0-9.]*\|p50_us=[0-9.]*\|p99_us=[0-9.]*\|\<maxrss_kb=[0-9]*' <<<"$result" | tr '\n' ' ')"
        "$TANSU_BIN" topic delete --broker "tcp://$addr" "$topic" >/dev/null 2>&1 || true
    done
done

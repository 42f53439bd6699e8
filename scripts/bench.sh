#!/usr/bin/env bash
# `make bench` / `make bench-smoke`: the side-by-side benchmark, ablkafka against
# librdkafka (bench/bench.c, bench/bench.py; see BENCHMARKS.md).
#
#   scripts/bench.sh               full run: every workload, 5 rounds, A B A B ...
#   BENCH_SHORT=1 scripts/bench.sh smoke run: small counts, one round; checks that both
#                                  libraries deliver everything ("N passed, N failed")
#
# Installs what is missing (scripts/deps.sh), builds the release library, the two bench
# binaries and build/bin/mock-cluster, then runs bench/bench.py, which starts its own tansu
# broker (and, for the sink rows, a second one that stores nothing: --storage-engine
# null://; for the transactional row, librdkafka's mock cluster) and stops them at the
# end. Other knobs: BENCH_ROUNDS, BENCH_WORKLOADS, BENCH_PARTITIONS, BENCH_OUT.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"

scripts/deps.sh
# shellcheck source=scripts/env.sh
. scripts/env.sh
# shellcheck source=scripts/on-error.sh
. scripts/on-error.sh
[ -n "$RDKAFKA_LIB" ] || { echo "bench: no librdkafka in the confluent-kafka wheel under $VENV_DIR" >&2; exit 1; }
make --no-print-directory bench-binaries
exec python3 bench/bench.py

#!/usr/bin/env bash
# `make demo`: build the library and examples-c/demo, start a local tansu on a free
# port, send a handful of keyed messages with each codec, print the receipts, then read
# every topic back with an independent consumer (librdkafka, scripts/verify.py --dump).
# The broker is stopped on exit.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
# shellcheck source=scripts/env.sh
. scripts/env.sh
# shellcheck source=scripts/on-error.sh
. scripts/on-error.sh

CODECS=(none gzip snappy lz4 zstd)
PREFIX="${DEMO_TOPIC_PREFIX:-demo}"
scratch="$root/build/demo"

ON_ERROR_HINT="installing the test tools failed: read the deps: lines above"
scripts/deps.sh
ON_ERROR_HINT="the library or examples-c/demo.c did not build: read the compiler's messages above"
make --no-print-directory lib
make --no-print-directory build/bin/demo

rm -rf "$scratch"
mkdir -p "$scratch"
broker_started=0
cleanup() { if ((broker_started)); then scripts/broker.sh stop "$scratch/broker" || true; fi; }
trap cleanup EXIT
trap 'exit 130' INT TERM

ON_ERROR_HINT="tansu did not start or create the topics: read $scratch/broker/tansu.log"
scripts/broker.sh start "$scratch/broker"
broker_started=1
brokers="$(scripts/broker.sh address "$scratch/broker")"
for codec in "${CODECS[@]}"; do
    scripts/broker.sh topic "$scratch/broker" "$PREFIX-$codec" 3
done

printf '\n== sending with each codec through examples-c/demo.c\n'
ON_ERROR_HINT="the demo did not deliver every message: its receipts are printed above, the broker's log is $scratch/broker/tansu.log"
build/bin/demo "$brokers" "$PREFIX"
ON_ERROR_HINT="librdkafka could not read the topics back: see scripts/verify.py's message above"

printf '\n== reading every topic back with librdkafka %s (confluent-kafka %s)\n' \
    "$("$VENV_PYTHON" -c 'import confluent_kafka as c; print(c.libversion()[0])')" "$CONFLUENT_KAFKA_VERSION"
for codec in "${CODECS[@]}"; do
    "$VENV_PYTHON" scripts/verify.py --brokers "$brokers" --topic "$PREFIX-$codec" --dump 10 --timeout 30
done

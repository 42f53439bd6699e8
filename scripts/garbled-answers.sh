#!/usr/bin/env bash
# Garbled and mismatched answers to Produce requests are lost answers; answers that refuse
# records say why in each Response.
#
#   scripts/garbled-answers.sh          (after `make ctests` and scripts/deps.sh)
#
# The README's "sent, answer lost" row: a Produce request was written, but its answer
# cannot be used. Besides a dropped connection or a timeout, that is an answer whose body
# does not decode, or one whose correlation id is not the request's (the stream is out
# of step). The producer must treat both like a lost answer: close the connection and
# retry the batch, so every receipt still ends in success; with enable.idempotence=true
# the broker drops the resent sequences (exactly once), without it the topic may hold
# copies (at least once), but never loses a message.
#
# One tansu advertises port A, where scripts/fault_proxy.py forwards to tansu's own port,
# so every connection the producer opens goes through the proxy. For each case, on a
# fresh 3-partition topic and a fresh proxy that spoils the first Produce answer:
#
#   garble   (idempotent, then not): the answer's bytes after the correlation id are 0xFF
#   mismatch (idempotent, then not): the answer carries another correlation id
#
# checks:
#   - roundtrip (c-tests/roundtrip.c, GARBLED_COUNT=2000 lz4 messages) exits 0 with no
#     failed check: every receipt succeeded, at a partition and offset; in the idempotent
#     cases (ROUNDTRIP_UNPLACED_DUPLICATES=1) a receipt may instead have offset -1: tansu
#     answers the resent batch (stored already) with 46 DUPLICATE_SEQUENCE_NUMBER, which
#     the README counts as delivered with response_offset -1 (the broker does not say
#     where). When roundtrip reports such receipts, tansu's log must show that 46;
#   - the proxy's log shows it did spoil an answer (else the case proved nothing);
#   - scripts/verify.py (bootstrapped at tansu's own port; the metadata leads it through
#     the proxy, which spoils nothing but Produce answers) finds exactly the messages sent
#     (idempotent) or each at least once and nothing else (not idempotent), each at its
#     receipt's partition and offset where the receipt has one; without idempotence,
#     some records must be there twice: the spoiled request was sent again.
#
# Then, on a fresh 1-partition topic and a fresh proxy in record-errors mode (the first
# three Produce v8 answers refuse their batch with record errors and error_message texts,
# long ones and ones with control characters; see fault_proxy.py):
#   - record_errors (c-tests/record_errors.c ... faults) exits 0 with no failed check:
#     each Response's code (87, 32 or -138, as librdkafka gives them) and message (the
#     code's text, then the broker's, cut to 512 bytes and without control characters);
#     the fourth batch is delivered;
#   - the proxy's log shows the three rewritten answers.
# Prints one line per check and ends with "N passed, N failed"; exit status 1 on any
# failure. The broker and the proxy are stopped on exit, also on failure or interrupt.
# Logs: build/test/garbled/.
set -euo pipefail

# shellcheck source=scripts/harness.sh
. "$(dirname "${BASH_SOURCE[0]}")/harness.sh"

COUNT="${GARBLED_COUNT:-2000}"
CASE_TIMEOUT_S="${GARBLED_CASE_TIMEOUT_S:-60}"
scratch="$root/build/test/garbled"
broker_dir="$scratch/broker"
bin="$root/build/bin"

proxy_pid=""
stop_proxy() {
    if [ -n "$proxy_pid" ]; then
        kill -TERM "$proxy_pid" 2>/dev/null || true
        wait "$proxy_pid" 2>/dev/null || true
        proxy_pid=""
    fi
}
on_exit stop_proxy

# start_proxy MODE LOG [COUNT]: the proxy on port A in front of tansu, spoiling COUNT
# answers (default 1); returns once it listens.
start_proxy() {
    local mode="$1" log="$2" count="${3:-1}" ready="$scratch/proxy.ready" i
    rm -f "$ready"
    python3 scripts/fault_proxy.py --listen-port "$proxy_port" --upstream "$upstream" \
        --fault "$mode" --count "$count" --ready-file "$ready" 2>"$log" &
    proxy_pid=$!
    for ((i = 0; i < 100; i++)); do # up to 10 s
        [ -s "$ready" ] && return 0
        kill -0 "$proxy_pid" 2>/dev/null || break
        sleep 0.1
    done
    stop_proxy
    return 1
}

# run_case MODE IDEMPOTENT(true|false)
run_case() {
    local mode="$1" idempotent="$2" name topic expect rt_log proxy_log status p f fault
    local -a options=(linger.ms=5 batch.num.messages=100)
    if [ "$idempotent" = true ]; then
        name="$mode, idempotent"
        topic="garbled-$mode-idempotent"
        options+=(enable.idempotence=true)
    else
        name="$mode, not idempotent"
        topic="garbled-$mode-plain"
    fi
    options+=(message.timeout.ms=30000 request.timeout.ms=5000 retry.backoff.ms=50)
    expect="$scratch/expect-$topic.txt"
    rt_log="$scratch/roundtrip-$topic.log"
    proxy_log="$scratch/proxy-$topic.log"
    echo "# $name: topic $topic, roundtrip via the proxy on 127.0.0.1:$proxy_port"

    if ! scripts/broker.sh topic "$broker_dir" "$topic" 3 2>>"$scratch/broker.log"; then
        bad "$name: create topic $topic (see $scratch/broker.log)"
        return 0
    fi
    if ! start_proxy "$mode" "$proxy_log"; then
        bad "$name: fault_proxy.py did not start on port $proxy_port; its log:"
        indent <"$proxy_log"
        return 0
    fi

    local unplaced=0
    [ "$idempotent" = true ] && unplaced=1
    ROUNDTRIP_UNPLACED_DUPLICATES="$unplaced" QUIET_RUNS=0 run_logged "$rt_log" "$CASE_TIMEOUT_S" \
        "$bin/roundtrip" "127.0.0.1:$proxy_port" "$topic" lz4 "$COUNT" "$expect" 3 "${options[@]}"
    # The proxy stays up until the topic is read back: tansu's metadata names the proxy's
    # port, so the consumer goes through it too (it sends no Produce, so nothing is spoiled).

    read -r p f < <(counts_of "$rt_log" "$status")
    # Receipts delivered as DUPLICATE_SEQUENCE_NUMBER (offset -1), idempotent cases only.
    no_offset="$(sed -n 's/^roundtrip lz4: \([0-9]*\) delivered as duplicates, offset -1$/\1/p' "$rt_log")"
    no_offset="${no_offset:-0}"
    if ((f == 0)); then
        ok "$name: roundtrip exit status 0, \"$p passed, $f failed\": every receipt succeeded" \
            "($no_offset of them as duplicates with offset -1)"
    else
        bad "$name: roundtrip exit status $status, $p passed, $f failed; its last lines:"
        tail -n 25 "$rt_log" | indent
    fi
    if ((no_offset > 0)); then
        # tansu logs each 46 it answers as an error with the partition's topic.
        if grep -F "topic: \"$topic\"" "$broker_dir/tansu.log" | grep -q DuplicateSequenceNumber; then
            ok "$name: tansu answered the resent batches with DuplicateSequenceNumber (dropped: exactly once)"
        else
            bad "$name: $no_offset receipts have offset -1, but tansu's log shows no DuplicateSequenceNumber for $topic"
        fi
    fi

    if [ "$mode" = garble ]; then
        fault="$(grep -E '^fault_proxy: garbled Produce response cid=[0-9]+ \(1 of 1\)$' "$proxy_log" || true)"
    else
        fault="$(grep -E '^fault_proxy: mismatched Produce response cid=[0-9]+->[0-9]+ \(1 of 1\)$' "$proxy_log" || true)"
    fi
    if [ -n "$fault" ]; then
        ok "$name: the proxy spoiled an answer (${fault#fault_proxy: })"
    else
        bad "$name: the proxy's log shows no $mode fault, so the case proved nothing; its log:"
        indent <"$proxy_log"
    fi

    if [ ! -s "$expect" ]; then
        bad "$name: verify: roundtrip wrote no expectation file $expect"
        stop_proxy
        return 0
    fi
    local -a verify=("$VENV_PYTHON" scripts/verify.py --brokers "$upstream" --topic "$topic"
        --expect "$expect" --codec lz4 --timeout 30)
    local how="exactly once"
    if [ "$idempotent" != true ]; then
        verify+=(--at-least-once)
        how="at least once"
    fi
    if "${verify[@]}" >"$scratch/verify-$topic.log" 2>&1; then
        ok "$name: verify, $how: $(grep -m 1 '^verify: OK topic' "$scratch/verify-$topic.log" | sed 's/^verify: OK //')"
        if [ "$idempotent" != true ]; then
            # The spoiled request was stored before its answer was spoiled: a retry without
            # idempotence must have stored its records again.
            local dups
            dups="$(sed -n 's/.*at least once: \([0-9]*\) duplicate.*/\1/p' "$scratch/verify-$topic.log" | head -n 1)"
            if [ -n "$dups" ] && ((dups > 0)); then
                ok "$name: the batch whose answer was spoiled was sent again ($dups records stored twice)"
            else
                bad "$name: no record is in the topic twice (${dups:-?} duplicates): the spoiled request was not retried"
            fi
        fi
    else
        bad "$name: verify, $how; its output (librdkafka's own log lines left out):"
        grep -v '^%[0-9]|' "$scratch/verify-$topic.log" | head -n 40 | indent || true
        echo "    tansu's log, last lines ($broker_dir/tansu.log):"
        tail -n 10 "$broker_dir/tansu.log" | indent | indent
    fi
    stop_proxy
}

# run_record_errors: record_errors through the proxy in record-errors mode.
run_record_errors() {
    local name="record errors" topic="record-errors" log="$scratch/record-errors.log"
    local proxy_log="$scratch/proxy-record-errors.log" p f rewritten
    echo "# $name: topic $topic, record_errors via the proxy on 127.0.0.1:$proxy_port"
    if ! scripts/broker.sh topic "$broker_dir" "$topic" 1 2>>"$scratch/broker.log"; then
        bad "$name: create topic $topic (see $scratch/broker.log)"
        return 0
    fi
    if ! start_proxy record-errors "$proxy_log" 3; then
        bad "$name: fault_proxy.py did not start on port $proxy_port; its log:"
        indent <"$proxy_log"
        return 0
    fi
    QUIET_RUNS=0 run_logged "$log" "$CASE_TIMEOUT_S" "$bin/record_errors" "127.0.0.1:$proxy_port" "$topic" faults
    read -r p f < <(counts_of "$log" "$status")
    if ((f == 0)); then
        ok "$name: record_errors exit status 0, \"$p passed, $f failed\": every Response's code and message"
    else
        bad "$name: record_errors exit status $status, $p passed, $f failed; its last lines:"
        tail -n 25 "$log" | indent
    fi
    rewritten="$(grep -cE '^fault_proxy: record errors in Produce v8 response cid=[0-9]+ \([1-3] of 3\)' "$proxy_log" || true)"
    if [ "$rewritten" = 3 ]; then
        ok "$name: the proxy rewrote 3 Produce v8 answers"
    else
        bad "$name: the proxy's log shows ${rewritten:-0} rewritten answers, not 3, so the case proved less; its log:"
        indent <"$proxy_log"
    fi
    stop_proxy
}

# ---------------------------------------------------------------- set-up
rm -rf "$scratch"
mkdir -p "$scratch"
missing=""
[ -x "$TANSU_BIN" ] || missing+=" tansu ($TANSU_BIN: run scripts/deps.sh)"
[ -x "$VENV_PYTHON" ] || missing+=" the venv ($VENV_PYTHON: run scripts/deps.sh)"
[ -x "$bin/roundtrip" ] || missing+=" $bin/roundtrip (run make ctests)"
[ -x "$bin/record_errors" ] || missing+=" $bin/record_errors (run make ctests)"
if [ -n "$missing" ]; then
    bad "prerequisites missing:$missing"
    finish
fi

ON_ERROR_HINT="tansu did not start: read $broker_dir/tansu.log"
proxy_port="$(scripts/broker.sh free-port)"
BROKER_ADVERTISED_PORT="$proxy_port" start_broker "$broker_dir" 2>>"$scratch/broker.log"
upstream="$(scripts/broker.sh address "$broker_dir")"
if [ "$upstream" = "127.0.0.1:$proxy_port" ]; then
    bad "tansu took the proxy's port $proxy_port itself; run again"
    finish
fi
echo "# tansu on $upstream, advertising the proxy's port $proxy_port"
ON_ERROR_HINT="read the logs under $scratch"

# ---------------------------------------------------------------- the cases
for idempotent in true false; do
    for mode in garble mismatch; do
        run_case "$mode" "$idempotent"
    done
done
run_record_errors

finish

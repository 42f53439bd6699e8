#!/usr/bin/env bash
# Delivery over TLS and SASL, read back by librdkafka over the same protocol.
#
#   scripts/secure-suite.sh [ROUNDTRIP]     (after `make ctests` and scripts/deps.sh)
#
# ROUNDTRIP is the roundtrip binary (c-tests/roundtrip.c); default $ROUNDTRIP, else
# build/bin/roundtrip. Starts its own brokers with scripts/secure-brokers.sh (tansu behind
# stunnel; see there), then:
#
#   - the endpoints themselves, with librdkafka (scripts/secure-check.py): one message
#     each way over every protocol below, and the failures that must fail (wrong CA, name
#     mismatch, expired certificate: -181; wrong or no client certificate; wrong password:
#     -169). SECURE_CHECK=0 leaves this out;
#   - then, over the same endpoints, the lines of c-tests/manifest with brokers secure:
#     c-tests/secure_errors.c, every refusal with its code (-181, -169), its reason, no
#     secret in any message, Responses failing with -192 after message.timeout.ms; options
#     refused at build; the redaction of secrets; c-tests/session_renewal.c (KIP-368: 70 s
#     over tansu's 60 s SASL sessions, renewed by reconnecting; and 12 s over the 2 s
#     sessions of T5's re-authentication proxy, renewed in-band on the same connection);
#     examples-c/sasl_ssl.c; and c-tests/abl_ctypes.py over sasl_ssl;
#   - for each row, on a fresh 3-partition topic per codec, roundtrip sends SECURE_COUNT
#     (300) messages with the row's security options (NAME=VALUE producer options) and
#     checks every receipt; scripts/verify.py reads the topic back with librdkafka over the
#     same protocol (--config) and compares byte for byte; on T1 and T2 it also checks
#     the stored batches' codec through tansu's plain port (--raw-brokers); tansu with
#     authentication has no plain port, so there the codec check is skipped:
#
#       ssl                              ssl.ca.location                  every codec
#       mutual TLS                       + client certificate and key     lz4
#       mutual TLS, encrypted key        + the key as encrypted PKCS#8    zstd
#                                          and ssl.key.password
#       sasl_plaintext SCRAM-SHA-256                                      every codec
#       sasl_plaintext SCRAM-SHA-512                                      gzip
#       sasl_ssl SCRAM-SHA-256           + ssl.ca.location                zstd
#       sasl_ssl SCRAM-SHA-512           + ssl.ca.location                every codec
#
#     T3 and T4 (SASL) keep their topics in sqlite files: there verify also checks the
#     stored records, content and codec, in the file (scripts/secure-check.py stored), and
#     a snappy topic is checked only there (tansu 0.6.0's sqlite storage cannot build
#     snappy batches for a Fetch, so no consumer can read it);
#
# (No PLAIN row: tansu 0.6.0 has no PLAIN mechanism; see scripts/secure-brokers.sh.)
# One pass or fail per roundtrip and per verify; prints one line per check and ends with
# "N passed, N failed"; exit status 1 on any failure. Everything started is stopped on
# exit, also on failure or interrupt. Logs: build/test/secure/.
set -euo pipefail

# shellcheck source=scripts/harness.sh
. "$(dirname "${BASH_SOURCE[0]}")/harness.sh"
# shellcheck source=scripts/manifest.sh
. scripts/manifest.sh

COUNT="${SECURE_COUNT:-300}"
CASE_TIMEOUT_S="${SECURE_CASE_TIMEOUT_S:-120}"
VERIFY_TIMEOUT_S="${SECURE_VERIFY_TIMEOUT_S:-60}"
CODECS=(none gzip snappy lz4 zstd)
scratch="$root/build/test/secure"
brokers_dir="$scratch/brokers"
roundtrip="${1:-${ROUNDTRIP:-$root/build/bin/roundtrip}}"

# run_row NAME SLUG BROKER BOOTSTRAP RAW_BROKERS DB CODEC... -- OPTION...
# BROKER: secure-brokers.sh's name for the tansu (t1..t5); RAW_BROKERS: its plain port
# for verify.py's codec check, or "" when it has none; DB: its sqlite file, or "" (memory).
run_row() {
    local name="$1" slug="$2" broker="$3" bootstrap="$4" raw="$5" db="$6" codec topic expect rt_log v_log status p f
    shift 6
    local -a codecs=() options=() config=()
    while [ $# -gt 0 ] && [ "$1" != -- ]; do
        codecs+=("$1")
        shift
    done
    [ $# -gt 0 ] && shift
    options=("$@")
    local opt
    for opt in "${options[@]}"; do config+=(--config "$opt"); done
    [ -n "$raw" ] && config+=(--raw-brokers "$raw")

    for codec in "${codecs[@]}"; do
        topic="secure-$slug-$codec"
        expect="$scratch/expect-$topic.txt"
        rt_log="$scratch/roundtrip-$topic.log"
        v_log="$scratch/verify-$topic.log"
        echo "# $name, $codec: topic $topic via $bootstrap"
        if ! scripts/secure-brokers.sh topic "$brokers_dir" "$broker" "$topic" 3 2>>"$scratch/brokers.log"; then
            bad "$name, $codec: create topic $topic on $broker (see $scratch/brokers.log)"
            bad "$name, $codec: verify (no topic)"
            continue
        fi

        QUIET_RUNS=0 run_logged "$rt_log" "$CASE_TIMEOUT_S" "$roundtrip" \
            "$bootstrap" "$topic" "$codec" "$COUNT" "$expect" 0 "${options[@]}"
        read -r p f < <(counts_of "$rt_log" "$status")
        if ((f == 0)); then
            ok "$name, $codec: roundtrip of $COUNT messages, \"$p passed, $f failed\""
        else
            bad "$name, $codec: roundtrip exit status $status, $p passed, $f failed; its last lines ($rt_log):"
            tail -n 15 "$rt_log" | indent
        fi

        if [ ! -s "$expect" ]; then
            bad "$name, $codec: verify: roundtrip wrote no expectation file $expect"
            continue
        fi
        verify_case "$name, $codec" "$bootstrap" "$topic" "$expect" "$codec" "$raw" "$db" "$v_log" "${config[@]}"
    done
}

# verify_case LABEL BOOTSTRAP TOPIC EXPECT CODEC RAW DB LOG CONFIG_ARG...: one pass or fail.
# verify.py reads the topic with librdkafka over the row's protocol; on a sqlite-backed
# tansu (no plain port for the raw codec check) the stored records are also checked in
# its sqlite file, content and codec (secure-check.py stored). A snappy topic there can
# only be read from the file: tansu 0.6.0's sqlite storage cannot build snappy batches
# for a Fetch (it logs UnexpectedType("Snappy") and drops the consumer's connection).
verify_case() {
    local label="$1" bootstrap="$2" topic="$3" expect="$4" codec="$5" raw="$6" db="$7" log="$8"
    shift 8
    local librdkafka="" stored="" problem=""
    if [ -n "$db" ] && [ "$codec" = snappy ]; then
        librdkafka="not read by librdkafka: tansu's sqlite storage cannot serve snappy batches"
    elif "$VENV_PYTHON" scripts/verify.py --brokers "$bootstrap" --topic "$topic" --expect "$expect" \
        --codec "$codec" --timeout "$VERIFY_TIMEOUT_S" "$@" >"$log" 2>&1; then
        librdkafka="$(grep -m 1 '^verify: OK topic' "$log" | sed 's/^verify: OK //')"
        if grep -q '^verify: codec check skipped' "$log"; then
            [ -n "$db" ] || librdkafka+=" (codec check skipped: no plain port)"
        else
            librdkafka+=" (every batch $codec)"
        fi
    else
        problem="verify.py over the row's protocol failed"
    fi
    if [ -n "$db" ] && [ -z "$problem" ]; then
        if "$VENV_PYTHON" scripts/secure-check.py stored "$db" "$topic" "$expect" "$codec" >>"$log" 2>&1; then
            stored="; $(grep -m 1 '^stored: OK' "$log" | sed 's/^stored: OK topic [^ ]* in [^ ]*: /in the sqlite file: /')"
        else
            problem="the records in tansu's sqlite file do not match"
        fi
    fi
    if [ -z "$problem" ]; then
        ok "$label: verify: $librdkafka$stored"
    else
        bad "$label: verify: $problem; the output (librdkafka's own log lines left out; $log):"
        grep -v '^%[0-9]|' "$log" | head -n 20 | indent || true
    fi
}

# ---------------------------------------------------------------- set-up
rm -rf "$scratch"
mkdir -p "$scratch"
missing=""
[ -x "$TANSU_BIN" ] || missing+=" tansu ($TANSU_BIN: run scripts/deps.sh)"
[ -x "$VENV_PYTHON" ] || missing+=" the venv ($VENV_PYTHON: run scripts/deps.sh)"
[ -x "$roundtrip" ] || missing+=" $roundtrip (run make ctests)"
command -v stunnel4 >/dev/null || missing+=" stunnel4 (Debian package stunnel4)"
command -v openssl >/dev/null || missing+=" openssl"
if [ -n "$missing" ]; then
    bad "prerequisites missing:$missing"
    finish
fi

if ! start_secure_brokers "$brokers_dir"; then
    bad "secure-brokers.sh start failed; the end of $scratch/brokers.log:"
    tail -n 30 "$scratch/brokers.log" | indent
    finish
fi
# shellcheck source=/dev/null
. "$brokers_dir/secure.env"
echo "# ssl $SSL_BOOTSTRAP (tansu $T1_RAW), mutual TLS $MTLS_BOOTSTRAP (tansu $T2_RAW)," \
    "sasl_plaintext $SASL_PLAINTEXT_BOOTSTRAP, sasl_ssl $SASL_SSL_BOOTSTRAP," \
    "sasl_plaintext with ${SASL_REAUTH_SESSION_MS} ms sessions $SASL_REAUTH_BOOTSTRAP (tansu $T5_RAW_SASL; proxy log $SASL_REAUTH_PROXY_LOG)"
ON_ERROR_HINT="read the logs under $scratch"

# ---------------------------------------------------------------- the endpoints
if [ "${SECURE_CHECK:-1}" != 0 ]; then
    if timeout --kill-after=5 300 "$VENV_PYTHON" scripts/secure-check.py --env "$brokers_dir/secure.env" check \
        >"$scratch/secure-check.log" 2>&1; then
        ok "endpoints proven by librdkafka: $(tail -n 1 "$scratch/secure-check.log") ($scratch/secure-check.log)"
    else
        bad "endpoints: scripts/secure-check.py failed; its checks ($scratch/secure-check.log):"
        grep -E '^(ok|FAIL) |passed,' "$scratch/secure-check.log" | indent || tail -n 20 "$scratch/secure-check.log" | indent
    fi
fi

# ---------------------------------------------------------------- the rows
tls=(security.protocol=ssl "ssl.ca.location=$CA_PEM")
run_row "ssl" ssl t1 "$SSL_BOOTSTRAP" "$T1_RAW" "" "${CODECS[@]}" -- "${tls[@]}"
run_row "mutual TLS" mtls t2 "$MTLS_BOOTSTRAP" "$T2_RAW" "" lz4 -- "${tls[@]}" \
    "ssl.certificate.location=$CLIENT_CERT" "ssl.key.location=$CLIENT_KEY"
run_row "mutual TLS, encrypted key" mtls-enc t2 "$MTLS_BOOTSTRAP" "$T2_RAW" "" zstd -- "${tls[@]}" \
    "ssl.certificate.location=$CLIENT_CERT" "ssl.key.location=$CLIENT_KEY_ENCRYPTED" \
    "ssl.key.password=$CLIENT_KEY_PASSWORD"
run_row "sasl_plaintext SCRAM-SHA-256" sasl-plain-256 t3 "$SASL_PLAINTEXT_BOOTSTRAP" "" "$T3_DB" "${CODECS[@]}" -- \
    security.protocol=sasl_plaintext sasl.mechanism=SCRAM-SHA-256 \
    "sasl.username=$SCRAM256_USER" "sasl.password=$SCRAM256_PASSWORD"
run_row "sasl_plaintext SCRAM-SHA-512" sasl-plain-512 t3 "$SASL_PLAINTEXT_BOOTSTRAP" "" "$T3_DB" gzip -- \
    security.protocol=sasl_plaintext sasl.mechanism=SCRAM-SHA-512 \
    "sasl.username=$SCRAM512_USER" "sasl.password=$SCRAM512_PASSWORD"
run_row "sasl_ssl SCRAM-SHA-256" sasl-ssl-256 t4 "$SASL_SSL_BOOTSTRAP" "" "$T4_DB" "${CODECS[@]}" -- \
    security.protocol=sasl_ssl "ssl.ca.location=$CA_PEM" sasl.mechanism=SCRAM-SHA-256 \
    "sasl.username=$SCRAM256_USER" "sasl.password=$SCRAM256_PASSWORD"
run_row "sasl_ssl SCRAM-SHA-512" sasl-ssl-512 t4 "$SASL_SSL_BOOTSTRAP" "" "$T4_DB" "${CODECS[@]}" -- \
    security.protocol=sasl_ssl "ssl.ca.location=$CA_PEM" sasl.mechanism=SCRAM-SHA-512 \
    "sasl.username=$SCRAM512_USER" "sasl.password=$SCRAM512_PASSWORD"

# ---------------------------------------------------------------- refusals, redaction, renewal
# The manifest's lines for these endpoints; each program ends with "N passed, N failed"
# and counts here as one check.
manifest_count() { # manifest_count NAME PASSED FAILED LOG
    if (($3 == 0)); then
        ok "$1: \"$2 passed, $3 failed\"; $(grep -m 1 -E '^(secure_errors|session_renewal|delivered)' "$4" || true)"
    else
        bad "$1: $2 passed, $3 failed; its last lines ($4):"
        tail -n 15 "$4" | indent
    fi
}
LOGS="$scratch/logs"
MANIFEST_SCRATCH="$scratch"
SECURE_DIR="$brokers_dir"
QUIET_RUNS=0
run_manifest plain secure
# What T5's proxy saw (the in-band line's renewals, as the broker side counts them).
echo "# T5's re-authentication proxy: $(grep -c 'session_lifetime_ms .* ->' "$SASL_REAUTH_PROXY_LOG" || true) lifetime(s)" \
    "rewritten, $(grep -c 'reauth on connection .*now on a new upstream' "$SASL_REAUTH_PROXY_LOG" || true) in-band" \
    "re-authentication(s), $(grep -c 'session expired on connection' "$SASL_REAUTH_PROXY_LOG" || true) connection(s)" \
    "closed on an expired session ($SASL_REAUTH_PROXY_LOG)"

# The ABL-style FFI test over sasl_ssl.
scripts/secure-brokers.sh topic "$brokers_dir" t4 secure-abl 3 2>>"$scratch/brokers.log" || true
abl_log="$scratch/abl-ctypes-over-sasl_ssl.log"
run_logged "$abl_log" 120 "$VENV_PYTHON" c-tests/abl_ctypes.py "$root/target/release/libablkafka.so" \
    "$SASL_SSL_BOOTSTRAP" secure-abl 300 security.protocol=SASL_SSL sasl.mechanisms=SCRAM-SHA-512 \
    "sasl.username=$SCRAM512_USER" "sasl.password=$SCRAM512_PASSWORD" "ssl.ca.location=$CA_PEM"
read -r p f < <(counts_of "$abl_log" "$status")
manifest_count "abl ctypes over sasl_ssl" "$p" "$f" "$abl_log"

finish

#!/usr/bin/env bash
# TLS and SASL endpoints for the tests: tansu brokers behind stunnel (and one behind a
# re-authentication proxy), with test certificates.
#
#   scripts/secure-brokers.sh start DIR     make the certificates, start every broker and
#                                           stunnel below, write DIR/secure.env; returns once
#                                           every port accepts connections
#   scripts/secure-brokers.sh stop DIR      stop everything `start DIR` started (by pid)
#   scripts/secure-brokers.sh topic DIR BROKER NAME [PARTITIONS]
#                                           create topic NAME (default 1 partition) on
#                                           BROKER: t1|ssl, t2|mtls, t3|sasl_plaintext,
#                                           t4|sasl_ssl, t5|sasl_reauth
#
# tansu 0.6.0 cannot terminate TLS itself (its listener never uses the TLS acceptor), so
# stunnel (Debian's stunnel4) accepts TLS on port S and forwards plain TCP to tansu's own
# port; tansu advertises S in its metadata, so clients come back through stunnel.
#
#   T1  tansu, memory storage, no authentication, advertises S_SSL
#         S_SSL      TLS with a server certificate for IP:127.0.0.1 and DNS:localhost
#         S_BADNAME  TLS with a certificate (same CA) naming only DNS:wrong.invalid
#         S_EXPIRED  TLS with a certificate (same CA) that expired in 2020
#   T2  tansu, memory storage, no authentication, advertises S_MTLS
#         S_MTLS     TLS that requires a client certificate signed by the test CA
#   T3  tansu, sqlite storage, --authentication (SCRAM-SHA-256 and -512 users): SASL on
#       its own port (sasl_plaintext)
#   T4  the same as T3 (its own sqlite file and users), advertises S_SASL_SSL
#         S_SASL_SSL TLS as S_SSL, in front of T4 (sasl_ssl)
#   T5  the same as T3 (its own sqlite file and users), advertises P_REAUTH
#         P_REAUTH   scripts/fault_proxy.py --fault reauth --session-lifetime-ms 2000
#                    --enforce-lifetime in front of T5 (sasl_plaintext): KIP-368 as a Kafka
#                    broker does it, which tansu 0.6.0 cannot. tansu answers a second
#                    SaslHandshake on an authenticated connection UNSUPPORTED_SASL_MECHANISM
#                    and leaves the connection unauthenticated (tansu-auth's handshake.rs
#                    accepts only its first Stage::Server), so no client can re-authenticate
#                    in-band; and it advertises a 60 s session lifetime that it never
#                    enforces. The proxy advertises 2 s sessions instead, closes a client
#                    connection whose session expired on its next non-SASL request, and
#                    carries an in-band re-authentication (a SaslHandshake after
#                    authentication) over to a new connection to T5, where tansu checks the
#                    credentials afresh; see the proxy's docstring.
#
# DIR/secure.env (shell-sourceable) names the endpoints (*_BOOTSTRAP, 127.0.0.1:PORT),
# the raw tansu ports of T1 and T2 (T1_RAW, T2_RAW: plain TCP, no authentication, for
# tools that speak neither TLS nor SASL; T4_RAW_SASL is T4's own port, SASL without TLS,
# whose metadata still names S_SASL_SSL; T5_RAW_SASL is T5's own port, whose metadata names
# P_REAUTH), T3's, T4's and T5's sqlite files (T3_DB, T4_DB, T5_DB), the certificate and key
# files, the SASL users and passwords, and P_REAUTH's session lifetime and log
# (SASL_REAUTH_SESSION_MS, SASL_REAUTH_PROXY_LOG).
# Logs: DIR/t*/tansu.log, DIR/stunnel/*.log, DIR/proxy/*.log.
#
# tansu 0.6.0's sqlite storage (T3, T4, T5) keeps records one per row and builds batches
# again on Fetch, which it cannot do for snappy: a snappy topic there is stored but cannot
# be read by any consumer (tansu logs UnexpectedType("Snappy") and drops the connection).
# scripts/secure-check.py stored reads such a topic from the sqlite file instead.
#
# SASL and topics: with --authentication, tansu 0.6.0 answers nothing but ApiVersions,
# SaslHandshake and SaslAuthenticate before a connection has authenticated (it drops the
# connection: BytesFrameService in tansu-service's frame.rs), and its CLI (tansu user
# create, tansu topic create) speaks no SASL; users live in the storage, so memory storage
# would lose them on the restart. So T3, T4 and T5 start with authentication off on a sqlite
# file, get their users (tansu user create) and the topics in SECURE_TOPICS
# ("NAME[:PARTITIONS] ...", made on every broker), stop, and start again with
# --authentication on the same file. Topics made later (`topic` on t3/t4/t5) are created over
# SASL with librdkafka's admin client (CreateTopics), which tansu accepts once authenticated.
#
# PLAIN is not offered: tansu 0.6.0 is built with rsasl's "plain" feature off (see the
# note at the end of this file).
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=scripts/env.sh
. "$here/env.sh"
# shellcheck source=scripts/on-error.sh
. "$here/on-error.sh"

START_TIMEOUT_S="${SECURE_START_TIMEOUT_S:-30}"

# Users and passwords. The passwords carry ',' and '=' (SCRAM's separators; a password
# is only hashed, never escaped). The user names must not: SCRAM sends ',' and '=' in a
# user name escaped as =2C and =3D, and rsasl 2.2.1's server (tansu's SCRAM) does not
# unescape it (ClientFirstMessage::parse in rsasl's src/mechanisms/scram/parser.rs), so
# tansu looks up "a=2Cb" and answers unknown-user.
SCRAM256_USER="${SCRAM256_USER:-ablkafka-scram-256}"
SCRAM256_PASSWORD="${SCRAM256_PASSWORD:-pw,256=a+b/c}"
SCRAM512_USER="${SCRAM512_USER:-ablkafka-scram-512}"
SCRAM512_PASSWORD="${SCRAM512_PASSWORD:-pw=512,x;y=}"
CLIENT_KEY_PASSWORD="${CLIENT_KEY_PASSWORD:-ablkafka-key-pw}"
# The SASL session lifetime P_REAUTH advertises (and enforces) in front of T5.
REAUTH_SESSION_MS="${REAUTH_SESSION_MS:-2000}"

die() { printf 'secure-brokers: %s\n' "$*" >&2; exit 1; }
say() { printf 'secure-brokers: %s\n' "$*" >&2; }
usage() { die "usage: $0 start DIR | stop DIR | topic DIR t1|ssl|t2|mtls|t3|sasl_plaintext|t4|sasl_ssl|t5|sasl_reauth NAME [PARTITIONS]"; }

# shellcheck source=scripts/processes.sh
. "$here/processes.sh"
# tansu lingers after SIGTERM while a client is connected: up to 10 s.
STOP_GRACE_TENTHS=100

# wait_port PID PORT: returns 0 once PORT accepts, 1 if PID exits first or on timeout.
wait_port() {
    local pid="$1" port="$2" deadline=$((SECONDS + START_TIMEOUT_S))
    while ((SECONDS < deadline)); do
        alive "$pid" || return 1
        accepts "$port" && return 0
        sleep 0.1
    done
    return 1
}

# ---------------------------------------------------------------- certificates

write_openssl_config() { # write_openssl_config FILE CERTDIR
    cat >"$1" <<EOF
[req]
distinguished_name = dn
prompt = no
[dn]
CN = placeholder

[v3_ca]
basicConstraints = critical,CA:TRUE
keyUsage = critical,keyCertSign,cRLSign
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid:always

[server]
basicConstraints = critical,CA:FALSE
keyUsage = critical,digitalSignature
extendedKeyUsage = serverAuth
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid,issuer
subjectAltName = IP:127.0.0.1,DNS:localhost

[badname]
basicConstraints = critical,CA:FALSE
keyUsage = critical,digitalSignature
extendedKeyUsage = serverAuth
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid,issuer
subjectAltName = DNS:wrong.invalid

[client]
basicConstraints = critical,CA:FALSE
keyUsage = critical,digitalSignature
extendedKeyUsage = clientAuth
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid,issuer

# openssl ca, only for the expired certificate (x509 -req cannot set dates in the past
# before OpenSSL 3.4).
[ca]
default_ca = test_ca
[test_ca]
dir = $2/ca-db
database = \$dir/index.txt
new_certs_dir = \$dir
serial = \$dir/serial
default_md = sha256
policy = any_name
unique_subject = no
copy_extensions = none
[any_name]
commonName = supplied
EOF
}

new_key() { openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$1" 2>/dev/null; }

# new_ca NAME CN: NAME.key, NAME.pem (self-signed, 10 years)
new_ca() {
    new_key "$1.key"
    openssl req -x509 -new -config openssl.cnf -extensions v3_ca -key "$1.key" \
        -subj "/CN=$2" -days 3650 -sha256 -out "$1.pem"
}

# new_leaf NAME CN CA EXTENSIONS: NAME.key, NAME.pem signed by CA (CA.pem, CA.key)
new_leaf() {
    new_key "$1.key"
    openssl req -new -config openssl.cnf -key "$1.key" -subj "/CN=$2" -out "$1.csr"
    openssl x509 -req -in "$1.csr" -CA "$3.pem" -CAkey "$3.key" -set_serial "0x$(openssl rand -hex 8)" \
        -days 3650 -sha256 -extfile openssl.cnf -extensions "$4" -out "$1.pem" 2>/dev/null
    rm -f "$1.csr"
}

make_certs() { # make_certs CERTDIR
    local certs="$1"
    rm -rf "$certs"
    mkdir -p "$certs/ca-db"
    (
        cd "$certs"
        write_openssl_config openssl.cnf "$certs"
        : >ca-db/index.txt
        openssl rand -hex 8 >ca-db/serial

        new_ca ca "ablkafka test CA"
        new_ca other-ca "ablkafka unrelated CA"
        new_leaf server localhost ca server
        new_leaf badname wrong.invalid ca badname
        new_leaf client ablkafka-client ca client
        new_leaf other-client ablkafka-client other-ca client

        # Expired: valid 2020-01-01 to 2020-01-02, otherwise like server.pem.
        new_key expired.key
        openssl req -new -config openssl.cnf -key expired.key -subj /CN=localhost -out expired.csr
        openssl ca -config openssl.cnf -batch -notext -in expired.csr -cert ca.pem -keyfile ca.key \
            -startdate 20200101000000Z -enddate 20200102000000Z \
            -extfile openssl.cnf -extensions server -out expired.pem 2>/dev/null
        rm -f expired.csr

        # The client key again, as an encrypted PKCS#8 PEM.
        openssl pkcs8 -topk8 -v2 aes-256-cbc -in client.key -out client.key.enc.pem \
            -passout "pass:$CLIENT_KEY_PASSWORD"
        chmod 600 ./*.key client.key.enc.pem
    )
    # Each certificate must verify (or not) as intended.
    openssl verify -CAfile "$certs/ca.pem" "$certs/server.pem" "$certs/badname.pem" "$certs/client.pem" >/dev/null
    openssl verify -CAfile "$certs/other-ca.pem" "$certs/other-client.pem" >/dev/null
    if openssl verify -CAfile "$certs/ca.pem" "$certs/expired.pem" >/dev/null 2>&1; then
        die "$certs/expired.pem verifies: it should have expired"
    fi
    if openssl verify -CAfile "$certs/ca.pem" "$certs/other-client.pem" >/dev/null 2>&1; then
        die "$certs/other-client.pem verifies against the test CA"
    fi
    say "certificates in $certs"
}

# ---------------------------------------------------------------- processes

# start_tansu NAME PORT ADVERTISED_PORT STORAGE AUTH(0|1): tansu from DIR/NAME (its working
# directory: a sqlite:// file is read relative to it) on loopback PORT; pid in
# DIR/run/NAME.pid. Returns 1 if it exits or does not accept connections in time.
start_tansu() {
    local name="$1" port="$2" adv="$3" storage="$4" auth="$5" pid
    local -a extra=()
    ((auth)) && extra+=(--authentication)
    mkdir -p "$dir/$name"
    (
        cd "$dir/$name"
        # Only our flags count: unset the variables tansu reads options from.
        exec env -u CLUSTER_ID -u LISTENER_URL -u ADVERTISED_LISTENER_URL -u STORAGE_ENGINE \
            -u SCHEMA_REGISTRY -u OTEL_EXPORTER_OTLP_ENDPOINT \
            "$TANSU_BIN" broker \
            --cluster-id "ablkafka-secure-$name" \
            --listener-url "tcp://127.0.0.1:$port" \
            --advertised-listener-url "tcp://127.0.0.1:$adv" \
            --storage-engine "$storage" \
            "${extra[@]}" \
            </dev/null >>"$dir/$name/tansu.log" 2>&1
    ) &
    pid=$!
    echo "$pid" >"$dir/run/$name.pid"
    if wait_port "$pid" "$port"; then
        say "$name: tansu pid $pid on 127.0.0.1:$port, advertising 127.0.0.1:$adv ($storage${extra[*]:+, ${extra[*]}})"
        return 0
    fi
    stop_pid "$pid"
    rm -f "$dir/run/$name.pid"
    say "$name: tansu did not start on port $port; the end of $dir/$name/tansu.log:"
    tail -n 15 "$dir/$name/tansu.log" | sed 's/^/    /' >&2 || true
    return 1
}

stop_named() { # stop_named NAME: the process in DIR/run/NAME.pid
    local f="$dir/run/$1.pid"
    [ -s "$f" ] || return 0
    stop_pid "$(cat "$f")"
    rm -f "$f"
}

# start_stunnel NAME ACCEPT_PORT CONNECT_PORT CERT_BASENAME [CLIENT_CA]: stunnel in the
# foreground (backgrounded here), TLS on ACCEPT_PORT with DIR/certs/CERT_BASENAME.{pem,key},
# forwarding to CONNECT_PORT. With CLIENT_CA, a client certificate that chains to it is
# required. pid in DIR/run/NAME.pid, log in DIR/stunnel/NAME.log.
start_stunnel() {
    local name="$1" accept="$2" connect="$3" cert="$4" client_ca="${5:-}" pid
    local conf="$dir/stunnel/$name.conf" log="$dir/stunnel/$name.log"
    mkdir -p "$dir/stunnel"
    {
        echo "; $name: generated by scripts/secure-brokers.sh"
        echo "foreground = yes"
        echo "pid ="
        echo "syslog = no"
        echo "debug = notice"
        echo "[$name]"
        echo "accept = 127.0.0.1:$accept"
        echo "connect = 127.0.0.1:$connect"
        echo "cert = $dir/certs/$cert.pem"
        echo "key = $dir/certs/$cert.key"
        if [ -n "$client_ca" ]; then
            echo "CAfile = $client_ca"
            echo "verifyChain = yes"
            echo "requireCert = yes"
        fi
    } >"$conf"
    stunnel4 "$conf" </dev/null >>"$log" 2>&1 &
    pid=$!
    echo "$pid" >"$dir/run/$name.pid"
    if wait_port "$pid" "$accept"; then
        say "$name: stunnel pid $pid, TLS on 127.0.0.1:$accept ($cert.pem${client_ca:+, client certificates required}) -> 127.0.0.1:$connect"
        return 0
    fi
    stop_pid "$pid"
    rm -f "$dir/run/$name.pid"
    say "$name: stunnel did not start on port $accept; the end of $log:"
    tail -n 15 "$log" | sed 's/^/    /' >&2 || true
    return 1
}

two_free_ports() { # sets port_a and port_b, distinct
    port_a="$(free_port)"
    port_b="$(free_port)"
    while [ "$port_b" = "$port_a" ]; do port_b="$(free_port)"; done
}

# start_fronted TNAME STORAGE AUTH SNAME CERT [CLIENT_CA]: tansu TNAME advertising the port
# of stunnel SNAME, which forwards to it. Sets front_port and back_port. A port taken
# between choosing and binding it: try again with new ports.
start_fronted() {
    local tname="$1" storage="$2" auth="$3" sname="$4" cert="$5" client_ca="${6:-}" attempt
    for ((attempt = 1; attempt <= 3; attempt++)); do
        two_free_ports
        if start_stunnel "$sname" "$port_a" "$port_b" "$cert" "$client_ca"; then
            if start_tansu "$tname" "$port_b" "$port_a" "$storage" "$auth"; then
                front_port="$port_a"
                back_port="$port_b"
                return 0
            fi
            stop_named "$sname"
        fi
        say "$tname/$sname: attempt $attempt failed; trying other ports"
    done
    die "$tname/$sname: could not start (see $dir/$tname/tansu.log, $dir/stunnel/$sname.log)"
}

# start_reauth_proxy NAME ACCEPT_PORT CONNECT_PORT: scripts/fault_proxy.py --fault reauth
# (REAUTH_SESSION_MS sessions, enforced) on ACCEPT_PORT, forwarding to CONNECT_PORT, with the
# venv's python (python3 before scripts/deps.sh has made it: the proxy needs only the
# standard library). pid in DIR/run/NAME.pid, log in DIR/proxy/NAME.log.
start_reauth_proxy() {
    local name="$1" accept="$2" connect="$3" pid python=python3 log="$dir/proxy/$1.log"
    [ -x "$VENV_PYTHON" ] && python="$VENV_PYTHON"
    mkdir -p "$dir/proxy"
    "$python" "$here/fault_proxy.py" --listen-port "$accept" --upstream "127.0.0.1:$connect" \
        --fault reauth --session-lifetime-ms "$REAUTH_SESSION_MS" --enforce-lifetime \
        </dev/null >>"$log" 2>&1 &
    pid=$!
    echo "$pid" >"$dir/run/$name.pid"
    if wait_port "$pid" "$accept"; then
        say "$name: fault_proxy.py pid $pid, reauth (${REAUTH_SESSION_MS} ms sessions, enforced) on 127.0.0.1:$accept -> 127.0.0.1:$connect"
        return 0
    fi
    stop_named "$name"
    say "$name: fault_proxy.py did not start on port $accept; the end of $log:"
    tail -n 15 "$log" | sed 's/^/    /' >&2 || true
    return 1
}

# start_proxied TNAME PNAME: tansu TNAME (sqlite, --authentication) advertising the port of
# re-authentication proxy PNAME, which forwards to it. Sets front_port and back_port.
start_proxied() {
    local tname="$1" pname="$2" attempt
    for ((attempt = 1; attempt <= 3; attempt++)); do
        two_free_ports
        if start_reauth_proxy "$pname" "$port_a" "$port_b"; then
            if start_tansu "$tname" "$port_b" "$port_a" sqlite://tansu.db 1; then
                front_port="$port_a"
                back_port="$port_b"
                return 0
            fi
            stop_named "$pname"
        fi
        say "$tname/$pname: attempt $attempt failed; trying other ports"
    done
    die "$tname/$pname: could not start (see $dir/$tname/tansu.log, $dir/proxy/$pname.log)"
}

# start_extra_stunnel SNAME CONNECT_PORT CERT: sets front_port.
start_extra_stunnel() {
    local attempt
    for ((attempt = 1; attempt <= 3; attempt++)); do
        front_port="$(free_port)"
        start_stunnel "$1" "$front_port" "$2" "$3" && return 0
    done
    die "$1: stunnel could not start (see $dir/stunnel/$1.log)"
}

# start_alone TNAME STORAGE AUTH: tansu advertising its own port. Sets back_port.
start_alone() {
    local attempt
    for ((attempt = 1; attempt <= 3; attempt++)); do
        back_port="$(free_port)"
        start_tansu "$1" "$back_port" "$back_port" "$2" "$3" && return 0
    done
    die "$1: tansu could not start (see $dir/$1/tansu.log)"
}

tansu_cli() { # tansu_cli ARGS...: the tansu CLI with only our flags
    env -u CLUSTER_ID -u LISTENER_URL -u ADVERTISED_LISTENER_URL -u STORAGE_ENGINE \
        -u SCHEMA_REGISTRY -u OTEL_EXPORTER_OTLP_ENDPOINT "$TANSU_BIN" "$@"
}

create_topic_raw() { # create_topic_raw HOST:PORT NAME PARTITIONS: over plain TCP, no SASL
    local out
    if ! out="$(tansu_cli topic create --broker "tcp://$1" --partitions "$3" "$2" 2>&1)"; then
        printf '%s\n' "$out" | sed 's/^/    /' >&2
        die "could not create topic $2 ($3 partitions) on $1"
    fi
    say "topic $2 ($3 partitions) on $1"
}

create_listed_topics() { # create_listed_topics HOST:PORT: every topic in SECURE_TOPICS
    local spec partitions
    for spec in ${SECURE_TOPICS:-}; do
        partitions=1
        [[ "$spec" == *:* ]] && partitions="${spec##*:}"
        create_topic_raw "$1" "${spec%%:*}" "$partitions"
    done
}

# prepare_sasl_storage TNAME: DIR/TNAME/tansu.db (sqlite) with the SCRAM users and the
# SECURE_TOPICS, made by a tansu without authentication that is stopped again.
prepare_sasl_storage() {
    local name="$1" port
    mkdir -p "$dir/$name"
    rm -f "$dir/$name"/tansu.db*
    start_alone "$name" sqlite://tansu.db 0
    port="$back_port"
    tansu_cli user create --broker "tcp://127.0.0.1:$port" --mechanism scram256 \
        "$SCRAM256_USER" "$SCRAM256_PASSWORD" >>"$dir/$name/users.log" 2>&1 ||
        die "$name: tansu user create (scram256) failed; see $dir/$name/users.log"
    tansu_cli user create --broker "tcp://127.0.0.1:$port" --mechanism scram512 \
        "$SCRAM512_USER" "$SCRAM512_PASSWORD" >>"$dir/$name/users.log" 2>&1 ||
        die "$name: tansu user create (scram512) failed; see $dir/$name/users.log"
    say "$name: SCRAM-SHA-256 user $SCRAM256_USER, SCRAM-SHA-512 user $SCRAM512_USER"
    create_listed_topics "127.0.0.1:$port"
    stop_named "$name"
    [ -s "$dir/$name/tansu.db" ] || die "$name: no sqlite file $dir/$name/tansu.db after set-up"
}

# ---------------------------------------------------------------- commands

stop_all() {
    local name
    [ -d "$dir/run" ] || return 0
    # The stunnels and the proxy first (they only forward), then the brokers.
    for name in s_ssl s_badname s_expired s_mtls s_sasl_ssl p_reauth t1 t2 t3 t4 t5; do
        stop_named "$name"
    done
    for name in "$dir"/run/*.pid; do # anything else recorded
        [ -e "$name" ] || continue
        name="$(basename "$name" .pid)"
        stop_named "$name"
    done
}

write_env() {
    local f="$dir/secure.env" tmp="$dir/secure.env.tmp" c="$dir/certs"
    {
        echo "# Written by scripts/secure-brokers.sh start $dir: source it."
        local -a pairs=(
            SSL_BOOTSTRAP "127.0.0.1:$ssl_port"
            BADNAME_BOOTSTRAP "127.0.0.1:$badname_port"
            EXPIRED_BOOTSTRAP "127.0.0.1:$expired_port"
            MTLS_BOOTSTRAP "127.0.0.1:$mtls_port"
            SASL_PLAINTEXT_BOOTSTRAP "127.0.0.1:$t3_port"
            SASL_SSL_BOOTSTRAP "127.0.0.1:$sasl_ssl_port"
            SASL_REAUTH_BOOTSTRAP "127.0.0.1:$reauth_port"
            SASL_REAUTH_SESSION_MS "$REAUTH_SESSION_MS"
            SASL_REAUTH_PROXY_LOG "$dir/proxy/p_reauth.log"
            T1_RAW "127.0.0.1:$t1_port"
            T2_RAW "127.0.0.1:$t2_port"
            T4_RAW_SASL "127.0.0.1:$t4_port"
            T5_RAW_SASL "127.0.0.1:$t5_port"
            T3_DB "$dir/t3/tansu.db"
            T4_DB "$dir/t4/tansu.db"
            T5_DB "$dir/t5/tansu.db"
            CA_PEM "$c/ca.pem"
            OTHER_CA_PEM "$c/other-ca.pem"
            SERVER_CERT "$c/server.pem"
            CLIENT_CERT "$c/client.pem"
            CLIENT_KEY "$c/client.key"
            CLIENT_KEY_ENCRYPTED "$c/client.key.enc.pem"
            CLIENT_KEY_PASSWORD "$CLIENT_KEY_PASSWORD"
            OTHER_CLIENT_CERT "$c/other-client.pem"
            OTHER_CLIENT_KEY "$c/other-client.key"
            SCRAM256_USER "$SCRAM256_USER"
            SCRAM256_PASSWORD "$SCRAM256_PASSWORD"
            SCRAM512_USER "$SCRAM512_USER"
            SCRAM512_PASSWORD "$SCRAM512_PASSWORD"
            SECURE_DIR "$dir"
        )
        local i
        for ((i = 0; i < ${#pairs[@]}; i += 2)); do
            printf 'export %s=%q\n' "${pairs[i]}" "${pairs[i + 1]}"
        done
    } >"$tmp"
    mv "$tmp" "$f"
}

started=1
stop_unless_started() { if ((!started)); then stop_all; fi; }

start_all() {
    [ -x "$TANSU_BIN" ] || die "tansu is not installed at $TANSU_BIN (run scripts/deps.sh)"
    command -v stunnel4 >/dev/null || die "stunnel4 is not installed (Debian package stunnel4)"
    command -v openssl >/dev/null || die "openssl is not installed"
    mkdir -p "$dir"
    dir="$(cd "$dir" && pwd)"
    local f
    for f in "$dir"/run/*.pid; do
        if [ -s "$f" ] && alive "$(cat "$f")"; then
            die "$(basename "$f" .pid) is already running from $dir (pid $(cat "$f")); run: $0 stop $dir"
        fi
    done
    rm -rf "$dir/run" "$dir/stunnel" "$dir/proxy" "$dir/t1" "$dir/t2" "$dir/t3" "$dir/t4" "$dir/t5" "$dir/secure.env"
    mkdir -p "$dir/run"

    # Whatever fails from here: stop what was started.
    started=0
    trap stop_unless_started EXIT

    make_certs "$dir/certs"

    # The SASL brokers' storage first: those tansus run only for the set-up.
    prepare_sasl_storage t3
    prepare_sasl_storage t4
    prepare_sasl_storage t5

    start_fronted t1 memory://tansu/ 0 s_ssl server
    ssl_port="$front_port" t1_port="$back_port"
    start_extra_stunnel s_badname "$t1_port" badname
    badname_port="$front_port"
    start_extra_stunnel s_expired "$t1_port" expired
    expired_port="$front_port"
    create_listed_topics "127.0.0.1:$t1_port"

    start_fronted t2 memory://tansu/ 0 s_mtls server "$dir/certs/ca.pem"
    mtls_port="$front_port" t2_port="$back_port"
    create_listed_topics "127.0.0.1:$t2_port"

    start_alone t3 sqlite://tansu.db 1
    t3_port="$back_port"

    start_fronted t4 sqlite://tansu.db 1 s_sasl_ssl server
    sasl_ssl_port="$front_port" t4_port="$back_port"

    start_proxied t5 p_reauth
    reauth_port="$front_port" t5_port="$back_port"

    write_env
    started=1
    say "ready: $dir/secure.env"
}

# topic BROKER NAME [PARTITIONS]
topic() {
    local broker="$1" name="$2" partitions="${3:-1}"
    [ -s "$dir/secure.env" ] || die "no $dir/secure.env: run $0 start $dir first"
    # shellcheck disable=SC1091
    . "$dir/secure.env"
    case "$broker" in
        t1 | ssl) create_topic_raw "$T1_RAW" "$name" "$partitions" ;;
        t2 | mtls) create_topic_raw "$T2_RAW" "$name" "$partitions" ;;
        t3 | sasl_plaintext | t4 | sasl_ssl | t5 | sasl_reauth)
            # tansu's CLI speaks no SASL: CreateTopics from librdkafka's admin client.
            [ -x "$VENV_PYTHON" ] || die "no $VENV_PYTHON (run scripts/deps.sh)"
            "$VENV_PYTHON" "$here/secure-check.py" --env "$dir/secure.env" \
                create-topic "$broker" "$name" "$partitions" ||
                die "could not create topic $name ($partitions partitions) on $broker"
            ;;
        *) usage ;;
    esac
}

[ $# -ge 2 ] || usage
cmd="$1"
dir="$2"
shift 2
case "$cmd" in
    start) [ $# -eq 0 ] || usage; start_all ;;
    stop)
        [ $# -eq 0 ] || usage
        if [ -d "$dir" ]; then
            dir="$(cd "$dir" && pwd)"
            stop_all
        fi
        say "stopped everything started from $dir"
        ;;
    topic) if [ $# -lt 2 ] || [ $# -gt 3 ]; then usage; fi; topic "$@" ;;
    *) usage ;;
esac

# PLAIN: tansu 0.6.0 builds rsasl 2.2 with default-features = false and the features
# config_builder, provider, oauthbearer and scram-sha-2 (the workspace Cargo.toml, the
# same in tansu-auth, -broker, -cli, -service, -storage), so rsasl's "plain" mechanism is
# not compiled in: SASLConfig::builder().with_defaults() (tansu-auth/src/lib.rs,
# configuration) offers only SCRAM-SHA-512, SCRAM-SHA-256 and OAUTHBEARER. A SaslHandshake
# for PLAIN reaches SaslHandshakeService::serve (tansu-auth/src/handshake.rs), where
# SASLServer::start_suggested fails with NoSharedMechanism; that error is returned as the
# service's Err instead of an UNSUPPORTED_SASL_MECHANISM answer, so the connection task in
# Broker::listen (tansu-broker/src/broker.rs) logs it and drops the connection. No flag or
# user set-up changes that (tansu user create only knows scram256 and scram512).

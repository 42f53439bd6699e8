#!/usr/bin/env bash
# Runs a local tansu broker for the tests and the demo.
#
#   scripts/broker.sh start DIR            start tansu on a free loopback port; writes
#                                          DIR/tansu.pid, DIR/bootstrap (127.0.0.1:PORT)
#                                          and DIR/tansu.log; returns once it accepts
#                                          connections
#   scripts/broker.sh start DIR --port P   the same on loopback port P (retried while the
#                                          port is still taken, up to the start timeout)
#   BROKER_ADVERTISED_PORT=A scripts/broker.sh start DIR
#                                          metadata names 127.0.0.1:A as the broker (a
#                                          proxy there forwards to tansu's own port)
#   BROKER_STORAGE=null:// scripts/broker.sh start DIR
#                                          tansu's storage engine (default memory://tansu/);
#                                          null:// acknowledges every Produce and stores
#                                          nothing (the benchmark's sink rows)
#   scripts/broker.sh restart DIR          stop the broker if it runs, then start a new one
#                                          on the port in DIR/bootstrap (an empty cluster:
#                                          re-create its topics)
#   scripts/broker.sh stop DIR             stop it by its pid (TERM, wait, then KILL)
#   scripts/broker.sh kill DIR             kill it by its pid at once (SIGKILL: a crash), and
#                                          wait until it is gone
#   scripts/broker.sh freeze DIR           SIGSTOP: it accepts connections (the kernel does)
#                                          but reads and answers nothing
#   scripts/broker.sh thaw DIR             SIGCONT after freeze
#   scripts/broker.sh topic DIR NAME [N]   create topic NAME with N partitions (default 1)
#   scripts/broker.sh address DIR          print 127.0.0.1:PORT
#   scripts/broker.sh free-port            print a loopback port that was free a moment ago
#
# tansu is in-memory here (memory://tansu/, or null://): every start is an empty cluster.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=scripts/env.sh
. "$here/env.sh"
# shellcheck source=scripts/on-error.sh
. "$here/on-error.sh"

START_TIMEOUT_S="${BROKER_START_TIMEOUT_S:-30}"

die() { printf 'broker: %s\n' "$*" >&2; exit 1; }
say() { printf 'broker: %s\n' "$*" >&2; }
usage() { die "usage: $0 start DIR [--port PORT] | restart DIR | stop DIR | kill DIR | freeze DIR | thaw DIR | topic DIR NAME [PARTITIONS] | address DIR | free-port"; }

# shellcheck source=scripts/processes.sh
. "$here/processes.sh"

accepts_nothing() { ! accepts "$1"; }

address() {
    [ -s "$1/bootstrap" ] || die "no broker address in $1/bootstrap (was it started?)"
    cat "$1/bootstrap"
}

start() { # start DIR [PORT]
    local dir="$1" fixed_port="${2:-}" attempt attempts=3 port pid deadline start_deadline
    [ -x "$TANSU_BIN" ] || die "tansu is not installed at $TANSU_BIN (run scripts/deps.sh)"
    mkdir -p "$dir"
    dir="$(cd "$dir" && pwd)"
    if [ -s "$dir/tansu.pid" ] && alive "$(cat "$dir/tansu.pid")"; then
        die "a broker is already running from $dir (pid $(cat "$dir/tansu.pid")); stop it first"
    fi
    rm -f "$dir/tansu.pid" "$dir/bootstrap"
    if [ -n "$fixed_port" ]; then
        # The port may still be held for a moment after the last broker on it exited.
        attempts=1000
        if ! accepts_nothing "$fixed_port"; then
            die "port $fixed_port already accepts connections: something else listens there"
        fi
    fi
    start_deadline=$((SECONDS + START_TIMEOUT_S))

    for ((attempt = 1; attempt <= attempts; attempt++)); do
        port="${fixed_port:-$(free_port)}"
        # Run from DIR: tansu reads a .env file from its working directory.
        # Unset the variables tansu reads options from, so only our flags count.
        (
            cd "$dir"
            exec env -u CLUSTER_ID -u LISTENER_URL -u ADVERTISED_LISTENER_URL -u STORAGE_ENGINE \
                -u SCHEMA_REGISTRY -u OTEL_EXPORTER_OTLP_ENDPOINT \
                "$TANSU_BIN" broker \
                --cluster-id ablkafka-test \
                --listener-url "tcp://127.0.0.1:$port" \
                --advertised-listener-url "tcp://127.0.0.1:${BROKER_ADVERTISED_PORT:-$port}" \
                --storage-engine "${BROKER_STORAGE:-memory://tansu/}" \
                </dev/null >>"$dir/tansu.log" 2>&1
        ) &
        pid=$!
        echo "$pid" >"$dir/tansu.pid"

        deadline=$((SECONDS + START_TIMEOUT_S))
        while ((SECONDS < deadline)); do
            if ! alive "$pid"; then
                break
            fi
            if accepts "$port"; then
                echo "127.0.0.1:$port" >"$dir/bootstrap"
                printf 'broker: tansu pid %s listening on 127.0.0.1:%s (log: %s)\n' \
                    "$pid" "$port" "$dir/tansu.log" >&2
                return 0
            fi
            sleep 0.1
        done

        if alive "$pid"; then
            stop_pid "$pid"
            rm -f "$dir/tansu.pid"
            printf 'broker: tansu did not accept connections on port %s within %ss; its log:\n' \
                "$port" "$START_TIMEOUT_S" >&2
            sed 's/^/    /' "$dir/tansu.log" >&2 || true
            exit 1
        fi
        rm -f "$dir/tansu.pid"
        if [ -n "$fixed_port" ]; then
            # It exited: the port is most likely not free yet. Try again until the deadline.
            if ((SECONDS >= start_deadline)); then
                printf 'broker: tansu could not start on port %s within %ss; its log:\n' "$port" "$START_TIMEOUT_S" >&2
                tail -n 20 "$dir/tansu.log" | sed 's/^/    /' >&2 || true
                exit 1
            fi
            sleep 0.2
            continue
        fi
        # It exited: most likely the port was taken between free_port and bind. Retry.
        printf 'broker: tansu exited at start (attempt %s, port %s); its log:\n' "$attempt" "$port" >&2
        sed 's/^/    /' "$dir/tansu.log" >&2 || true
    done
    die "tansu failed to start $attempts times"
}

restart() {
    local dir="$1" addr port
    addr="$(address "$dir")"
    port="${addr##*:}"
    stop "$dir"
    start "$dir" "$port"
}

stop() {
    local dir="$1" pid
    if [ ! -s "$dir/tansu.pid" ]; then
        printf 'broker: no pid file in %s; nothing to stop\n' "$dir" >&2
        return 0
    fi
    pid="$(cat "$dir/tansu.pid")"
    stop_pid "$pid"
    rm -f "$dir/tansu.pid"
    printf 'broker: stopped tansu pid %s\n' "$pid" >&2
}

kill_now() {
    local dir="$1" pid i
    if [ ! -s "$dir/tansu.pid" ]; then
        printf 'broker: no pid file in %s; nothing to kill\n' "$dir" >&2
        return 0
    fi
    pid="$(cat "$dir/tansu.pid")"
    kill -KILL "$pid" 2>/dev/null || true
    for ((i = 0; i < 100; i++)); do
        alive "$pid" || break
        sleep 0.05
    done
    alive "$pid" && die "pid $pid is still alive after SIGKILL"
    rm -f "$dir/tansu.pid"
    printf 'broker: killed tansu pid %s\n' "$pid" >&2
}

signal_broker() { # signal_broker DIR SIGNAL WHAT
    local dir="$1" pid
    [ -s "$dir/tansu.pid" ] || die "no pid file in $dir: nothing to $3"
    pid="$(cat "$dir/tansu.pid")"
    kill "-$2" "$pid" || die "could not $3 tansu pid $pid"
    printf 'broker: %s tansu pid %s\n' "$3" "$pid" >&2
}

topic() {
    local dir="$1" name="$2" partitions="${3:-1}" addr out
    addr="$(address "$dir")"
    if ! out="$("$TANSU_BIN" topic create --broker "tcp://$addr" --partitions "$partitions" "$name" 2>&1)"; then
        printf '%s\n' "$out" >&2
        die "could not create topic $name ($partitions partitions) on $addr"
    fi
    printf 'broker: topic %s (%s partitions)\n' "$name" "$partitions" >&2
}

if [ "${1:-}" = free-port ] && [ $# -eq 1 ]; then
    free_port
    exit 0
fi
[ $# -ge 2 ] || usage
cmd="$1"
shift
case "$cmd" in
    start)
        if [ $# -eq 1 ]; then
            start "$1"
        elif [ $# -eq 3 ] && [ "$2" = "--port" ] && [[ "$3" =~ ^[0-9]+$ ]]; then
            start "$1" "$3"
        else
            usage
        fi
        ;;
    restart) [ $# -eq 1 ] || usage; restart "$1" ;;
    stop) [ $# -eq 1 ] || usage; stop "$1" ;;
    kill) [ $# -eq 1 ] || usage; kill_now "$1" ;;
    freeze) [ $# -eq 1 ] || usage; signal_broker "$1" STOP froze ;;
    thaw) [ $# -eq 1 ] || usage; signal_broker "$1" CONT thawed ;;
    topic) if [ $# -lt 2 ] || [ $# -gt 3 ]; then usage; fi; topic "$@" ;;
    address) [ $# -eq 1 ] || usage; address "$1" ;;
    *) usage ;;
esac

# shellcheck shell=bash
# Sourced by scripts/broker.sh and scripts/secure-brokers.sh: the processes and loopback
# ports they start and stop. The sourcing script defines say and die (its own prefix),
# and may set STOP_GRACE_TENTHS (how long stop_pid waits after SIGTERM; default 5 s).

# A port that was free a moment ago: bind port 0 on loopback, read it, close.
free_port() {
    python3 -c 'import socket
s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
s.bind(("127.0.0.1", 0))
print(s.getsockname()[1])
s.close()'
}

accepts() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# Running, and not a zombie waiting for its parent to reap it.
alive() {
    kill -0 "$1" 2>/dev/null || return 1
    local state
    state="$(awk '{print $3}' "/proc/$1/stat" 2>/dev/null || true)"
    [ "$state" != "Z" ]
}

# stop_pid PID: SIGTERM, up to STOP_GRACE_TENTHS tenths of a second for a clean exit,
# then SIGKILL; dies if the process outlives that.
stop_pid() {
    local pid="$1" i
    alive "$pid" || return 0
    kill -TERM "$pid" 2>/dev/null || true
    kill -CONT "$pid" 2>/dev/null || true # a frozen process could not act on TERM
    for ((i = 0; i < ${STOP_GRACE_TENTHS:-50}; i++)); do
        alive "$pid" || return 0
        sleep 0.1
    done
    say "pid $pid ignored SIGTERM; sending SIGKILL"
    kill -KILL "$pid" 2>/dev/null || true
    for ((i = 0; i < 50; i++)); do
        alive "$pid" || return 0
        sleep 0.1
    done
    die "pid $pid is still alive after SIGKILL"
}

# shellcheck shell=bash
# The harness every test script sources (run-tests.sh, c-suite.sh, garbled-answers.sh,
# secure-suite.sh, install-check.sh, setup-check.sh): it moves to the checkout, reads
# scripts/env.sh and scripts/on-error.sh, counts checks and suites, prints the closing
# "N passed, N failed", and stops what the script started on exit, also on failure or
# interrupt.
#
#   ok WHAT | bad WHAT         one check, printed as "ok   WHAT" or "FAIL WHAT"
#   record SUITE P F           a suite's counts, listed again in the summary
#   run_counted SUITE CMD...   CMD under a timeout (TEST_TIMEOUT_S, default 300 s), its
#                              output also in $LOGS/SUITE.log; records counts_of its run
#   run_one SUITE CMD...       CMD as one check: passes when it exits 0
#   counts_of LOG STATUS       prints "PASSED FAILED" for a run (see there)
#   start_broker DIR           scripts/broker.sh start DIR, stopped on exit unless
#                              stop_broker DIR stopped it first
#   start_secure_brokers DIR   scripts/secure-brokers.sh start DIR, the same way (its
#                              messages in DIR.log)
#   on_exit FUNCTION           one more thing to undo on exit (a proxy, say)
#   finish                     stops what was started, prints the summary (when suites were
#                              recorded, under SUMMARY_TITLE) and the closing line; exits 1
#                              if anything failed
#
# LOGS is the directory run_counted and run_one write to; the script makes it.

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root" || exit 1
# shellcheck source=scripts/env.sh
. scripts/env.sh
# shellcheck source=scripts/on-error.sh
. scripts/on-error.sh

TEST_TIMEOUT_S="${TEST_TIMEOUT_S:-300}"
LOGS="${LOGS:-$root/build/test/logs}"

passed=0
failed=0
summary=()

ok() { passed=$((passed + 1)); echo "ok   $*"; }
bad() { failed=$((failed + 1)); echo "FAIL $*"; }
check() { # check DESCRIPTION CMD...: ok when CMD succeeds, else bad
    local what="$1"
    shift
    if "$@"; then ok "$what"; else bad "$what"; fi
}
indent() { sed 's/^/    /'; }
banner() { printf '\n==== %s\n' "$*"; }

record() { # record SUITE PASSED FAILED
    passed=$((passed + $2))
    failed=$((failed + $3))
    summary+=("$(printf '  %-48s %6d passed, %d failed' "$1" "$2" "$3")")
}

# A run's counts: those of its log's last "N passed, N failed" line (scripts/tally.py, the
# one reader of that line); without one, one check that passed when it exited 0. One
# failure more for a memory checker's report (REPORTED 1), else for a timeout (124, 137),
# else for a non-zero exit status without a failure counted.
counts_of() { # counts_of LOG STATUS [REPORTED]
    local log="$1" status="$2" reported="${3:-0}" p f
    read -r p f < <(python3 scripts/tally.py counts "$log") || true
    if [ -z "${p:-}" ]; then
        p=$((status == 0 && !reported ? 1 : 0))
        f=0
    fi
    if ((reported || status == 124 || status == 137 || (status != 0 && f == 0))); then
        f=$((f + 1))
    fi
    echo "$p $f"
}

explain_status() { # explain_status NAME STATUS LIMIT_S
    if (($2 == 124 || $2 == 137)); then
        echo "$1: TIMED OUT after ${3}s" >&2
    elif (($2 != 0)); then
        echo "$1: exit status $2" >&2
    fi
}

# run_logged LOG LIMIT_S CMD...: CMD's output to the terminal and LOG (only LOG when
# QUIET_RUNS is set); its exit status in $status (124 or 137 when it ran out of time),
# whether or not the script runs under set -e.
run_logged() {
    local log="$1" limit="$2" errexit=0
    shift 2
    if [[ $- == *e* ]]; then errexit=1; fi
    set +e
    if [ -n "${QUIET_RUNS:-}" ]; then
        timeout --kill-after=10 "$limit" "$@" >"$log" 2>&1
        status=$?
    else
        timeout --kill-after=10 "$limit" "$@" 2>&1 | tee "$log"
        status=${PIPESTATUS[0]}
    fi
    if ((errexit)); then set -e; fi
}

run_counted() { # run_counted SUITE CMD...
    local suite="$1" status p f
    shift
    banner "$suite: $*"
    run_logged "$LOGS/$suite.log" "$TEST_TIMEOUT_S" "$@"
    explain_status "$suite" "$status" "$TEST_TIMEOUT_S"
    read -r p f < <(counts_of "$LOGS/$suite.log" "$status")
    record "$suite" "$p" "$f"
}

run_one() { # run_one SUITE CMD...
    local suite="$1" status
    shift
    banner "$suite: $*"
    run_logged "$LOGS/$suite.log" "$TEST_TIMEOUT_S" "$@"
    if ((status == 0)); then
        record "$suite" 1 0
    else
        explain_status "$suite" "$status" "$TEST_TIMEOUT_S"
        record "$suite" 0 1
    fi
    return "$status"
}

# ---------------------------------------------------------------- what was started
started_brokers=()
started_secure=()
exit_functions=()

start_broker() { # start_broker DIR [--port PORT]
    started_brokers+=("$1")
    scripts/broker.sh start "$@"
}

stop_broker() { # stop_broker DIR
    local dir kept=()
    scripts/broker.sh stop "$1" || true
    for dir in ${started_brokers[@]+"${started_brokers[@]}"}; do
        [ "$dir" = "$1" ] || kept+=("$dir")
    done
    started_brokers=(${kept[@]+"${kept[@]}"})
}

# Its messages go to DIR.log; whatever part of it started is stopped, also when start fails.
start_secure_brokers() { # start_secure_brokers DIR
    started_secure+=("$1")
    scripts/secure-brokers.sh start "$1" 2>>"$1.log"
}

on_exit() { exit_functions+=("$1"); }

stop_started() {
    local item
    for item in ${exit_functions[@]+"${exit_functions[@]}"}; do "$item" || true; done
    for item in ${started_secure[@]+"${started_secure[@]}"}; do
        scripts/secure-brokers.sh stop "$item" 2>>"$item.log" || true
    done
    for item in ${started_brokers[@]+"${started_brokers[@]}"}; do scripts/broker.sh stop "$item" || true; done
    exit_functions=()
    started_secure=()
    started_brokers=()
}
trap stop_started EXIT
trap 'exit 130' INT TERM

finish() {
    stop_started
    if ((${#summary[@]} > 0)); then
        banner "${SUMMARY_TITLE:-summary}"
        printf '%s\n' "${summary[@]}"
        echo
    fi
    echo "$passed passed, $failed failed"
    if ((failed > 0)); then exit 1; fi
    exit 0
}

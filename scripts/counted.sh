# shellcheck shell=bash
# Sourced by the suite scripts that count their own checks (garbled-answers.sh,
# secure-suite.sh): one line per check, then "N passed, N failed" as run-tests.sh reads it.

passed=0
failed=0
ok() { passed=$((passed + 1)); echo "ok   $*"; }
bad() { failed=$((failed + 1)); echo "FAIL $*"; }
# Prints the closing line and exits: 1 when any check failed.
finish() {
    echo "$passed passed, $failed failed"
    if ((failed > 0)); then exit 1; fi
    exit 0
}
indent() { sed 's/^/    /'; }

# shellcheck shell=bash
# Sourced by the scripts that run under `set -e`: when a command stops the script, say
# which script, which line and which command failed, with what exit status, and what to
# read or do next (the script sets ON_ERROR_HINT as it enters each step), instead of a
# bare exit code.
#
# The report is made only where errexit is on: a failure inside a `set +e` section is the
# script's to handle, not a stop.

ON_ERROR_HINT="${ON_ERROR_HINT:-}"

on_error_report() { # on_error_report STATUS LINE COMMAND
    [[ $- == *e* ]] || return 0
    local script
    script="$(basename "${BASH_SOURCE[1]:-$0}")"
    printf '\n%s: FAILED at line %s (exit status %s): %s\n' "$script" "$2" "$1" "$3" >&2
    if [ -n "$ON_ERROR_HINT" ]; then
        printf '%s: %s\n' "$script" "$ON_ERROR_HINT" >&2
    fi
}

set -E
trap 'on_error_report "$?" "$LINENO" "$BASH_COMMAND"' ERR
